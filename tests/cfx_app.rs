//! The bench application itself publishes CFX: the real binary in tmux, with a `[cfx]`
//! table in its configuration, sends its chain to a real RabbitMQ broker over AMQP 1.0
//! (the outbox mark moves only once the broker has accepted the messages) and says so
//! in its header.

mod app_support;

use std::time::{Duration, Instant};

use app_support::*;
use traveler::store::{OpenOptions, Store};

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
    init_roster(&store);
    let head = Store::open_existing(&store, OpenOptions::default())
        .unwrap()
        .chain_head()
        .seq;
    assert!(head >= 2);
    assert!(traveler::cfx::outbox::read(&store).unwrap().is_none());
    let config = write_config(
        dir.path(),
        "BENCH-CFX",
        &store,
        &format!(
            "[cfx]\nbroker = \"{}\"\naddress = \"/exchange/traveler.test\"\n",
            broker_url()
        ),
    );
    let app = App::start("cfx-app", dir.path(), &config);

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
            app.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    loop {
        let screen = app.screen();
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
