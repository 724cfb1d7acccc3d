//! Shared by the hub tests: a fresh database on the real PostgreSQL that .ci/run
//! starts (scripts/dev-postgres.sh), a real hub service on a loopback port, real stores.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use traveler::hub::db::{self, Kind};
use traveler::hub::server::Server;
use traveler::hub::sync::{SyncOptions, SyncState};
use traveler::hub::{HubConfig, migrate};
use traveler::store::Store;

/// The server's admin URL, from TRAVELER_TEST_PG. Under CI (CI=true) a missing
/// variable fails the test; a developer without PostgreSQL sees why it was skipped.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("TRAVELER_TEST_PG") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "TRAVELER_TEST_PG is not set: the hub tests need PostgreSQL \
             (.ci/run starts one with scripts/dev-postgres.sh start)"
        ),
        _ => {
            eprintln!(
                "SKIPPED: TRAVELER_TEST_PG is not set; run `scripts/dev-postgres.sh start` and \
                 export TRAVELER_TEST_PG=<the URL it prints>"
            );
            None
        }
    }
}

/// `url` with its database name replaced.
pub fn with_db(url: &str, db: &str) -> String {
    let (base, last) = url.rsplit_once('/').expect("a URL with a database name");
    let query = last
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{db}{query}")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new, empty database on the test server; returns its URL.
pub async fn fresh_db(admin: &str) -> String {
    let name = format!(
        "hub_t{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    );
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    with_db(admin, &name)
}

/// An initialised hub database on the test server.
pub async fn hub_db(admin: &str) -> String {
    let url = fresh_db(admin).await;
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    migrate::migrate(&mut client).await.expect("migrate");
    url
}

pub async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

pub async fn start_hub(db_url: &str) -> Server {
    Server::start(db_url, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .expect("start the hub")
}

pub async fn start_hub_at(db_url: &str, addr: SocketAddr) -> Server {
    // The port was just freed by the previous service; the OS may take a moment.
    for _ in 0..100 {
        if let Ok(s) = Server::start(db_url, addr, None).await {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cannot listen on {addr} again");
}

pub async fn enrol(db_url: &str, bench: &str) -> String {
    let pool = db::pool(db_url).unwrap();
    db::enrol(&pool, bench, Kind::Bench, false).await.unwrap()
}

pub fn config(server_addr: SocketAddr, token: &str) -> HubConfig {
    HubConfig {
        url: format!("http://{server_addr}"),
        token: token.to_string(),
        ca_cert: None,
    }
}

/// Quick retries so tests need not wait out the production back-off.
pub fn fast() -> SyncOptions {
    SyncOptions {
        batch_records: 100,
        poll: Duration::from_millis(20),
        keepalive: Duration::from_millis(500),
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(300),
        ..SyncOptions::default()
    }
}

/// Waits (up to a minute) until the sync state satisfies `pred`; returns it.
pub async fn wait_state(
    rx: &mut tokio::sync::watch::Receiver<SyncState>,
    what: &str,
    pred: impl Fn(&SyncState) -> bool,
) -> SyncState {
    let r = tokio::time::timeout(Duration::from_secs(60), async {
        rx.wait_for(|s| pred(s)).await.map(|s| s.clone())
    })
    .await;
    match r {
        Ok(Ok(s)) => s,
        _ => panic!("sync never reached {what}; last state {:?}", *rx.borrow()),
    }
}

/// The hub's copy of one store: (seq, bytes) in order.
pub async fn hub_records(db_url: &str, store_id: &str) -> Vec<(u64, Vec<u8>)> {
    sql(db_url)
        .await
        .query(
            "SELECT seq, bytes FROM hub_records WHERE store_id = $1 ORDER BY seq",
            &[&store_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
        .collect()
}

/// The store's own records: (seq, bytes) in order.
pub fn store_records(store: &Store) -> Vec<(u64, Vec<u8>)> {
    store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            (r.record.seq, r.canonical)
        })
        .collect()
}

pub fn store_id(store: &Store) -> String {
    traveler::hub::identity::of(store)
        .unwrap()
        .expect("a store with records")
        .store_id
}

/// Appends `n` login records (the smallest real events) by `badge`.
pub fn logins(store: &Store, badge: &str, n: usize) {
    let events = (0..n)
        .map(|_| traveler::domain::event::Event::LoggedIn {
            badge: badge.into(),
            bench: "bench-1".into(),
        })
        .collect();
    store.append_batch(badge, events).unwrap();
}
