//! One roster for the shop, against a real PostgreSQL and a real hub service: the
//! hub's roster records reach every bench through the bench's real sync task
//! (`HubRecordMirrored`, checked by hash), fold into the bench's roster, and a
//! bench that follows the hub refuses local roster changes.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hub_support::*;
use traveler::core::{Core, Credentials, Request, RequestId};
use traveler::domain::command::{Command, Rejection, RosterCommand, RosterProblem};
use traveler::domain::event::Event;
use traveler::domain::policy::Policy;
use traveler::hub::server::Server;
use traveler::hub::sync::spawn_with;
use traveler::store::Store;

fn instructions() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

fn policy() -> Policy {
    traveler::instruction::load_dir(&instructions())
        .library
        .policy
        .expect("the shipped policy loads")
}

fn core(store: &Store, bench: &str) -> Core {
    let lib = traveler::instruction::load_dir(&instructions()).library;
    Core::new(store.clone(), Arc::new(lib), bench)
}

struct Shop {
    url: String,
    hub: Server,
}

async fn shop(admin: &str) -> Shop {
    let url = hub_db(admin).await;
    let hub = Server::start_with(&url, "127.0.0.1:0".parse().unwrap(), None, Some(policy()))
        .await
        .expect("start the hub");
    Shop { url, hub }
}

/// The demo roster imported into the hub from a bench store of its own.
async fn import_demo_roster(shop: &Shop) {
    let dir = tempfile::tempdir().unwrap();
    let origin = store_support::open(dir.path());
    traveler::demo::seed(&origin, &policy(), Utc::now().date_naive()).unwrap();
    let pool = traveler::hub::db::pool(&shop.url).unwrap();
    traveler::hub::roster::import(&pool, &origin, Utc::now())
        .await
        .expect("import the roster");
}

/// Waits (up to a minute) until `pred` holds of the store's roster.
async fn until_roster(
    store: &Store,
    what: &str,
    pred: impl Fn(&traveler::domain::person::Roster) -> bool,
) {
    for _ in 0..3000 {
        let r = traveler::people::auth::roster(store).unwrap();
        if pred(&r) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the bench's roster never reached: {what}");
}

fn mirrored(store: &Store) -> Vec<(u64, String)> {
    store
        .people_events()
        .filter_map(|r| match r.unwrap().event {
            Event::HubRecordMirrored {
                hub_seq, hub_hash, ..
            } => Some((hub_seq, hub_hash)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bench_follows_the_hub_roster_and_refuses_local_changes() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let token = enrol(&shop.url, "BENCH-B").await;
    let dir = tempfile::tempdir().unwrap();
    let bench = store_support::open(dir.path());
    let _rx = spawn_with(bench.clone(), config(shop.hub.addr, &token), fast());
    until_roster(&bench, "the demo roster", |r| {
        r.get("T100").is_some() && r.get("A900").is_some() && r.hub_since.is_some()
    })
    .await;
    // Each hub record benches follow is copied once, in hub order, by hash.
    let copies = mirrored(&bench);
    let hub = traveler::hub::chain::records(
        &**traveler::hub::db::client(&traveler::hub::db::pool(&shop.url).unwrap())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let expect: Vec<(u64, String)> = hub
        .iter()
        .filter(|h| traveler::domain::hub_records::for_benches(&h.record.event))
        .map(|h| (h.record.seq, h.hash_hex()))
        .collect();
    until_roster(&bench, "every hub record copied", |_| {
        mirrored(&bench).len() == expect.len()
    })
    .await;
    assert_eq!(mirrored(&bench), expect, "{copies:?}");
    // A T100 log-in at the bench, from the copied roster.
    let c = core(&bench, "BENCH-B");
    let login = c.execute(Request {
        id: RequestId(1),
        by: "T100".into(),
        credentials: Some(Credentials {
            badge: "T100".into(),
            pin: "1111".into(),
        }),
        command: Command::LogIn,
    });
    assert!(login.result.is_ok(), "{:?}", login.result);
    // A local roster change is refused by the core: the hub manages it.
    let a = c.execute(Request {
        id: RequestId(2),
        by: "A900".into(),
        credentials: Some(Credentials {
            badge: "A900".into(),
            pin: "9999".into(),
        }),
        command: Command::Roster(RosterCommand::Deactivate {
            badge: "T100".into(),
            reason: "left".into(),
        }),
    });
    assert!(
        matches!(
            a.result,
            Err(Rejection::Roster(RosterProblem::ManagedAtHub { .. }))
        ),
        "{:?}",
        a.result
    );
}
