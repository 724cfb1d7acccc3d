//! The bench application itself runs the hub sync: the real binary in tmux, with a
//! `[hub]` table in its configuration, sends its chain to a real hub over a real
//! PostgreSQL and says so in its header.

mod app_support;
mod hub_support;

use std::time::{Duration, Instant};

use app_support::*;
use hub_support::*;
use traveler::store::{OpenOptions, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_application_sends_its_chain_and_shows_the_hub_in_its_header() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let server = start_hub(&db).await;
    let token = enrol(&db, "BENCH-HUB").await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    init_roster(&store);
    let (head, store_id) = {
        let s = Store::open_existing(&store, OpenOptions::default()).unwrap();
        (s.chain_head().seq, s.identity().store_id.clone())
    };
    assert!(head >= 2);
    let config = write_config(
        dir.path(),
        "BENCH-HUB",
        &store,
        &format!(
            "[hub]\nurl = \"http://{}\"\ntoken = \"{token}\"\n",
            server.addr
        ),
    );
    let app = App::start("hub-app", dir.path(), &config);

    // The hub receives every record of the bench's chain, byte for byte, while the
    // application runs; nobody ran `traveler hub sync`.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let at_hub = hub_records(&db, &store_id).await;
        if at_hub.len() as u64 == head {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hub holds {} of {head} records; screen:\n{}",
            at_hub.len(),
            app.screen()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        let screen = app.screen();
        if screen.contains("hub: synced") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the header never said the hub is synced:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(app);
    drop(server);
}
