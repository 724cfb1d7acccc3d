//! The bench application itself publishes CFX: the real binary in tmux, with a `[cfx]`
//! table in its configuration, sends its chain to a real RabbitMQ broker over AMQP 1.0
//! (the outbox mark moves only once the broker has accepted the messages) and says so
//! in its header.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use traveler::store::{OpenOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

struct Tmux(String);

impl Tmux {
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0, "capture-pane", "-p", "-t", "cfx"])
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

fn broker_url() -> String {
    match std::env::var("TRAVELER_AMQP_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("TRAVELER_AMQP_URL is not set: .ci/run starts RabbitMQ and sets it")
        }
        _ => "amqp://guest:guest@127.0.0.1:5672".into(),
    }
}

#[test]
fn the_bench_application_publishes_its_chain_and_shows_the_broker_in_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let instructions = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    // Records to publish: the first admin of the bench's roster (operators).
    let mut init = Command::new(BIN)
        .args([
            "people",
            "init",
            "--badge",
            "A1",
            "--name",
            "Ada One",
            "--pin-stdin",
        ])
        .arg("--store")
        .arg(&store)
        .arg("--instructions")
        .arg(&instructions)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        init.stdin.take().unwrap().write_all(b"482913\n").unwrap();
    }
    assert!(init.wait().unwrap().success());
    let head = Store::open_existing(&store, OpenOptions::default())
        .unwrap()
        .chain_head()
        .seq;
    assert!(head >= 2);
    assert!(traveler::cfx::outbox::read(&store).unwrap().is_none());

    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bench = \"BENCH-CFX\"\nstore = \"{store}\"\ninstructions = \"{wi}\"\nlog_dir = \"{logs}\"\n\n\
             [station]\nchannels = [{{ name = \"tip\" }}]\n[station.protocol]\nkind = \"simulated\"\n\n\
             [cfx]\nbroker = \"{broker}\"\naddress = \"/exchange/traveler.test\"\n",
            store = store.display(),
            wi = instructions.display(),
            logs = dir.path().join("logs").display(),
            broker = broker_url(),
        ),
    )
    .unwrap();

    let tmux = Tmux(format!("traveler-cfx-app-{}", std::process::id()));
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
                "cfx",
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

    // The application's publisher moved the outbox mark to the head: the broker
    // accepted every message up to it. Nobody but the application published.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mark = traveler::cfx::outbox::read(&store).ok().flatten();
        if mark.is_some_and(|m| m.seq >= head) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox mark is at {:?} of {head}; screen:\n{}",
            mark.map(|m| m.seq),
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    loop {
        let screen = tmux.screen();
        if screen.contains("CFX up to date") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the header never said CFX is up to date:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
