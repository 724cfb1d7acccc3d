//! A PIN locked at one bench is locked at all (#16), against a real PostgreSQL: the
//! hub promotes a bench's `BadgeLocked` in the very ingest that stores it (so no
//! failure after the commit can lose it), and decides whether an admin's new PIN
//! lifted it by chain order — what the bench had copied before its lock — never by
//! comparing the bench's clock with the hub's.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use chrono::{Duration, Utc};
use hub_support::*;
use traveler::domain::event::Event;
use traveler::hub::db::{self, Caller, Kind};
use traveler::hub::wire::OfferedRecord;
use traveler::store::Store;

fn offered(store: &Store) -> Vec<OfferedRecord> {
    store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            OfferedRecord {
                seq: r.record.seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect()
}

/// A hub with the demo roster (T100 among it), and a bench caller.
async fn shop(admin: &str) -> (String, deadpool_postgres::Pool, Caller) {
    let url = hub_db(admin).await;
    let dir = tempfile::tempdir().unwrap();
    let origin = store_support::open(dir.path());
    let policy = traveler::instruction::load_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"),
    )
    .library
    .policy
    .unwrap();
    traveler::demo::seed(&origin, &policy, Utc::now().date_naive()).unwrap();
    let pool = db::pool(&url).unwrap();
    traveler::hub::roster::import(&pool, &origin, Utc::now())
        .await
        .expect("import the roster");
    db::enrol(&pool, "BENCH-A", Kind::Bench, false)
        .await
        .unwrap();
    let caller = Caller {
        bench: "BENCH-A".into(),
        kind: Kind::Bench,
    };
    (url, pool, caller)
}

async fn hub_locks(url: &str, badge: &str) -> i64 {
    sql(url)
        .await
        .query_one(
            "SELECT count(*) FROM hub_chain WHERE kind = 'badge_locked'
             AND doc -> 'event' ->> 'badge' = $1",
            &[&badge],
        )
        .await
        .unwrap()
        .get(0)
}

/// An admin's new PIN for `badge` at the hub, recorded at `time` by the hub's clock;
/// returns the bench's copy of it (as the bench's sync task would append it).
async fn reset_at_hub(url: &str, badge: &str, time: chrono::DateTime<Utc>) -> Event {
    let mut c = sql(url).await;
    let tx = c.transaction().await.unwrap();
    traveler::hub::chain::lock(&tx).await.unwrap();
    let rec = traveler::hub::chain::append(
        &tx,
        vec![(
            time,
            "A700".into(),
            Event::PinChanged {
                badge: badge.into(),
                pin_hash: traveler::people::pin::hash_pin("4321").unwrap(),
            },
        )],
    )
    .await
    .unwrap()
    .remove(0);
    tx.commit().await.unwrap();
    let bytes: Vec<u8> = sql(url)
        .await
        .query_one(
            "SELECT bytes FROM hub_chain WHERE seq = $1",
            &[&(rec.record.seq as i64)],
        )
        .await
        .unwrap()
        .get(0);
    Event::HubRecordMirrored {
        hub_seq: rec.record.seq,
        hub_hash: rec.hash_hex(),
        record: String::from_utf8(bytes).unwrap(),
    }
}

fn lock(store: &Store, badge: &str) {
    store
        .append_at(
            Utc::now(),
            badge,
            Event::BadgeLocked {
                badge: badge.into(),
                until: Utc::now() + Duration::minutes(15),
            },
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_that_stores_a_bench_lock_promotes_it() {
    let Some(admin) = pg_admin_url() else { return };
    let (url, pool, caller) = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    logins(&store, "T100", 1);
    lock(&store, "T100");
    let sid = store_id(&store);
    // The ingest alone, no handler around it: the lock is the shop's once it commits.
    db::ingest(&pool, &caller, &sid, &offered(&store))
        .await
        .unwrap();
    assert_eq!(hub_locks(&url, "T100").await, 1);
    // A replay of the same batch records it no second time.
    db::ingest(&pool, &caller, &sid, &offered(&store))
        .await
        .unwrap();
    assert_eq!(hub_locks(&url, "T100").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_reset_lifts_a_bench_lock_by_chain_order_not_by_clocks() {
    let Some(admin) = pg_admin_url() else { return };
    let (url, pool, caller) = shop(&admin).await;

    // Bench A had copied the reset (the hub's clock an hour ahead of the bench's)
    // and then locked against the new PIN: the lock is the shop's.
    let dir = tempfile::tempdir().unwrap();
    let a = store_support::open(dir.path());
    logins(&a, "T100", 1);
    let copy = reset_at_hub(&url, "T100", Utc::now() + Duration::hours(1)).await;
    a.append_at(Utc::now(), "A700", copy).unwrap();
    lock(&a, "T100");
    db::ingest(&pool, &caller, &store_id(&a), &offered(&a))
        .await
        .unwrap();
    assert_eq!(hub_locks(&url, "T100").await, 1, "copied before the lock");

    // Bench B locked I300 before it had copied the reset of I300 (the hub's clock an
    // hour behind): the reset lifted that lock, it is not the shop's.
    let dir = tempfile::tempdir().unwrap();
    let b = store_support::open(dir.path());
    logins(&b, "I300", 1);
    reset_at_hub(&url, "I300", Utc::now() - Duration::hours(1)).await;
    lock(&b, "I300");
    db::ingest(&pool, &caller, &store_id(&b), &offered(&b))
        .await
        .unwrap();
    assert_eq!(
        hub_locks(&url, "I300").await,
        0,
        "not copied before the lock"
    );
}
