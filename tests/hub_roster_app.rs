//! One roster for the shop with the real binaries: the bench application in tmux,
//! with a `[hub]` table, on a new empty store, follows the shop roster at a real hub
//! on a real PostgreSQL; a person enrolled with `traveler people add --hub` logs in at
//! that bench, and the hub confirms the log-in's PIN (verified online).

#[allow(dead_code)]
mod app_support;
mod hub_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app_support::*;
use chrono::Utc;
use hub_support::*;
use traveler::hub::server::Server;

fn policy() -> traveler::domain::policy::Policy {
    traveler::instruction::load_dir(&instructions())
        .library
        .policy
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_added_at_the_hub_logs_in_at_a_bench_and_the_hub_confirms_it() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let server = Server::start_with(&db, "127.0.0.1:0".parse().unwrap(), None, Some(policy()))
        .await
        .unwrap();
    // The shop's roster: the demo bench's, imported once.
    let origin_dir = tempfile::tempdir().unwrap();
    let origin = traveler::store::Store::open(origin_dir.path(), Default::default()).unwrap();
    traveler::demo::seed(&origin, &policy(), Utc::now().date_naive()).unwrap();
    let pool = traveler::hub::db::pool(&db).unwrap();
    traveler::hub::roster::import(&pool, &origin, Utc::now())
        .await
        .unwrap();
    drop(origin);
    let bench_token = enrol(&db, "BENCH-APP").await;
    let desk_token = enrol(&db, "DESK-1").await;

    // `traveler people add --hub` from the desk.
    let mut add = Command::new(BIN)
        .args([
            "people",
            "add",
            "T777",
            "--name",
            "Tia Seven",
            "--role",
            "technician",
            "--skill",
            "advanced",
            "--admin",
            "A900",
            "--pin-stdin",
            "--hub",
        ])
        .arg(format!("http://{}", server.addr))
        .arg("--instructions")
        .arg(instructions())
        .env("TRAVELER_HUB_TOKEN", &desk_token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"9999\n482913\n")
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A new bench on an empty store.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let config = write_config(
        dir.path(),
        "BENCH-APP",
        &store,
        &format!(
            "[hub]\nurl = \"http://{}\"\ntoken = \"{bench_token}\"\n",
            server.addr
        ),
    );
    let app = App::start("roster-app", dir.path(), &config);
    app.wait_for("hub: synced");
    app.wait_for("scan your badge");
    // Typed at a person's pace (a burst ending in Enter reads as a scan).
    app.keys(&["T777", "Enter"]);
    std::thread::sleep(Duration::from_millis(150));
    app.keys(&["482913", "Enter"]);
    app.wait_for("Your open jobs");

    // The hub confirmed that log-in's PIN: a logged_in record naming the bench.
    let c = sql(&db).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM hub_chain WHERE kind = 'logged_in'
                 AND doc -> 'event' ->> 'badge' = 'T777'
                 AND doc -> 'event' ->> 'bench' = 'BENCH-APP'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hub never confirmed the log-in; screen:\n{}",
            app.screen()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.quit();
    drop(app);
    // The bench's own chain holds the hub's roster it logged T777 in from.
    let s = traveler::store::Store::open_existing(&store, Default::default()).unwrap();
    let r = traveler::people::auth::roster(&s).unwrap();
    assert!(r.get("T777").is_some());
    assert!(r.hub_since.is_some(), "the bench follows the hub's roster");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_header_says_when_the_roster_is_past_its_maximum_age() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let server = Server::start_with(&db, "127.0.0.1:0".parse().unwrap(), None, Some(policy()))
        .await
        .unwrap();
    let origin_dir = tempfile::tempdir().unwrap();
    let origin = traveler::store::Store::open(origin_dir.path(), Default::default()).unwrap();
    traveler::demo::seed(&origin, &policy(), Utc::now().date_naive()).unwrap();
    let pool = traveler::hub::db::pool(&db).unwrap();
    traveler::hub::roster::import(&pool, &origin, Utc::now())
        .await
        .unwrap();
    drop(origin);
    let token = enrol(&db, "BENCH-OLD").await;
    // The shipped instructions with a maximum age of two seconds.
    let dir = tempfile::tempdir().unwrap();
    let wi = dir.path().join("instructions");
    std::fs::create_dir(&wi).unwrap();
    for e in std::fs::read_dir(instructions()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), wi.join(e.file_name())).unwrap();
    }
    let policy_file = wi.join("policy.toml");
    let text = std::fs::read_to_string(&policy_file).unwrap();
    std::fs::write(
        &policy_file,
        format!("{text}\n[hub]\nroster_max_age_hours = {}\n", 2.0 / 3600.0),
    )
    .unwrap();
    let store = dir.path().join("store");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bench = \"BENCH-OLD\"\nstore = \"{}\"\ninstructions = \"{}\"\nlog_dir = \"{}\"\n\n\
             [station]\nchannels = [{{ name = \"tip\" }}]\n[station.protocol]\nkind = \"simulated\"\n\n\
             [hub]\nurl = \"http://{}\"\ntoken = \"{token}\"\n",
            store.display(),
            wi.display(),
            dir.path().join("logs").display(),
            server.addr
        ),
    )
    .unwrap();
    let app = App::start("roster-old", dir.path(), &config);
    app.wait_for("hub: synced");
    let screen = app.wait_for("scan your badge");
    assert!(!screen.contains("roster from the hub"), "{screen}");
    // The hub goes away: past two seconds the header says the roster is old.
    server.stop().await;
    let screen = app.wait_for("roster from the hub");
    assert!(screen.contains("hub: offline"), "{screen}");
    assert!(screen.contains("verified online"), "{screen}");
    app.quit();
}
