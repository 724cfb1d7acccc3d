//! The desk asks the hub for a job by its id, whatever the id holds: a job id with
//! `?`, `/`, `#` or `%` reaches the hub as that id, never as another job or route.
//! Real PostgreSQL, real hub service, a real bench store's records.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use chrono::Utc;
use hub_support::*;
use traveler::hub::client::HubClient;
use traveler::hub::db::{self, Kind};
use traveler::hub::wire::OfferedRecord;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_fetches_a_job_whose_id_holds_url_characters() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let pool = db::pool(&url).unwrap();
    db::enrol(&pool, "BENCH-A", Kind::Bench, false)
        .await
        .unwrap();
    let desk_token = db::enrol(&pool, "DESK-1", Kind::Desk, false).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    let ids = ["W-1", "W-1?x=1", "W/2", "W#3", "W%204"];
    for id in ids {
        store
            .append_at(
                Utc::now(),
                "T100",
                store_support::started(id, "SN-1", "T100", 1),
            )
            .unwrap();
    }
    let batch: Vec<OfferedRecord> = store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            OfferedRecord {
                seq: r.record.seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect();
    let sid = store_id(&store);
    let caller = db::Caller {
        bench: "BENCH-A".into(),
        kind: Kind::Bench,
    };
    db::ingest(&pool, &caller, &sid, &batch).await.unwrap();

    let desk = HubClient::new(&format!("http://{}", hub.addr), &desk_token, None).unwrap();
    for id in ids {
        let job = desk
            .desk_job(&sid, id)
            .await
            .unwrap_or_else(|e| panic!("job {id:?}: {e}"));
        assert_eq!(job.job, id);
        assert_eq!(job.records.len(), 1, "job {id:?}: its own record only");
    }
}
