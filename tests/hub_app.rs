//! The bench application itself runs the hub sync: the real binary in tmux, with a
//! `[hub]` table in its configuration, sends its chain to a real hub over a real
//! PostgreSQL and says so in its header.

mod hub_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hub_support::*;
use traveler::store::{OpenOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

struct Tmux(String);

impl Tmux {
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0, "capture-pane", "-p", "-t", "hub"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .status();
    }
}

fn head_of(store: &Path) -> (u64, String) {
    let s = Store::open_existing(store, OpenOptions::default()).unwrap();
    (s.chain_head().seq, s.identity().store_id.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_application_sends_its_chain_and_shows_the_hub_in_its_header() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let server = start_hub(&db).await;
    let token = enrol(&db, "BENCH-HUB").await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Records to send: the first admin of the bench's roster.
    let out = Command::new(BIN)
        .args(["people", "init", "--badge", "A1", "--name", "Ada One"])
        .arg("--store")
        .arg(&store)
        .arg("--pin-stdin")
        .arg("--instructions")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"482913\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let (head, store_id) = head_of(&store);
    assert!(head >= 2);

    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bench = \"BENCH-HUB\"\nstore = \"{store}\"\ninstructions = \"{wi}\"\nlog_dir = \"{logs}\"\n\n\
             [station]\nchannels = [{{ name = \"tip\" }}]\n[station.protocol]\nkind = \"simulated\"\n\n\
             [hub]\nurl = \"http://{addr}\"\ntoken = \"{token}\"\n",
            store = store.display(),
            wi = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("instructions")
                .display(),
            logs = dir.path().join("logs").display(),
            addr = server.addr,
        ),
    )
    .unwrap();

    let tmux = Tmux(format!("traveler-hub-app-{}", std::process::id()));
    let app = format!(
        "env HOME={home} LANG=C.UTF-8 {BIN} --config {config}",
        home = dir.path().display(),
        config = config.display(),
    );
    assert!(
        Command::new("tmux")
            .args([
                "-L",
                &tmux.0,
                "new-session",
                "-d",
                "-s",
                "hub",
                "-x",
                "120",
                "-y",
                "30"
            ])
            .arg(&app)
            .status()
            .unwrap()
            .success()
    );

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
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        let screen = tmux.screen();
        if screen.contains("hub: synced") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the header never said the hub is synced:\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(tmux);
    drop(server);
}
