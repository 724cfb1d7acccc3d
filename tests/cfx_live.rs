//! CFX published live to a real RabbitMQ broker (AMQP 1.0 plugin) and consumed back
//! over AMQP 1.0: a whole job, in order, through a broker restart and through a
//! publisher that dies mid-send, nothing lost, every repeat carrying the same UniqueID.
//!
//! Needs the broker: `scripts/rabbitmq.sh start` (`.ci/run` starts it and sets
//! TRAVELER_AMQP_URL). Without it these tests fail and say so.

mod export_support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use export_support::*;
use fe2o3_amqp::types::messaging::Body;
use fe2o3_amqp::types::primitives::{SimpleValue, Value};
use fe2o3_amqp::{Connection, Receiver, Session};
use serde_json::Value as Json;
use tokio::sync::watch;
use traveler::cfx::{BrokerState, CfxConfig, Link, LiveConfig, live, outbox};
use traveler::domain::event::Record;
use traveler::export::cfx::write_cfx;
use traveler::export::{ExportOptions, Scope};
use traveler::store::Store;

/// The broker tests share one queue and one broker (which one of them restarts).
static BROKER: Mutex<()> = Mutex::new(());

const EXCHANGE: &str = "/exchange/traveler.test";
const QUEUE: &str = "traveler.test.cfx";

fn url() -> String {
    std::env::var("TRAVELER_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".into())
}

fn script(arg: &[&str]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/rabbitmq.sh");
    let out = Command::new("bash").arg(&path).args(arg).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/rabbitmq.sh {arg:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Fails the test clearly when no broker answers.
async fn require_broker() {
    let url = url();
    let open = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::open("traveler-test-probe", url.as_str()),
    )
    .await;
    match open {
        Ok(Ok(mut c)) => {
            let _ = c.close().await;
        }
        other => panic!(
            "no AMQP 1.0 broker at {url} ({other:?}): start it with `scripts/rabbitmq.sh start` (.ci/run does), or set TRAVELER_AMQP_URL"
        ),
    }
    script(&["purge", QUEUE]);
}

fn config(heartbeat_seconds: u64) -> LiveConfig {
    let mut cfx = CfxConfig::new(&url(), EXCHANGE).unwrap();
    cfx.heartbeat_seconds = heartbeat_seconds;
    LiveConfig {
        cfx: Some(cfx),
        // The demo jobs ran on bench-2: the same default handle as the export's.
        bench: "bench-2".into(),
        library: Arc::new(library()),
    }
}

/// Every record of a store with the demo jobs in it, to be saved again one by one.
fn demo_records(dir: &std::path::Path) -> Vec<Record> {
    let source = open(dir);
    demo_store(&source, &library());
    source.events().map(|r| r.unwrap()).collect()
}

fn replay(store: &Store, records: &[Record]) {
    for r in records {
        store.append_at(r.time, &r.actor, r.event.clone()).unwrap();
    }
}

async fn wait_for(
    rx: &mut watch::Receiver<BrokerState>,
    what: &str,
    f: impl Fn(&BrokerState) -> bool,
) {
    // A bound so that a broken publisher fails the test instead of hanging it; no
    // speed is asserted.
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(120), rx.wait_for(|s| f(s))).await,
        Ok(Ok(_))
    );
    if !ok {
        panic!(
            "publisher never got to: {what}; last state {:?}",
            *rx.borrow()
        );
    }
}

/// One message as it came off the queue.
struct Got {
    json: Json,
    text: String,
    message_id: String,
    subject: String,
    content_type: String,
    creation_ms: i64,
    durable: bool,
    data_sections: usize,
    app: HashMap<String, String>,
}

/// Everything in the queue, in order, each accepted.
async fn drain() -> Vec<Got> {
    let mut c = Connection::open("traveler-test-consumer", url().as_str())
        .await
        .unwrap();
    let mut session = Session::begin(&mut c).await.unwrap();
    let mut receiver = Receiver::attach(
        &mut session,
        "traveler-test-rx",
        format!("/amq/queue/{QUEUE}"),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    while let Ok(d) =
        tokio::time::timeout(Duration::from_secs(3), receiver.recv::<Body<Value>>()).await
    {
        let d = d.unwrap();
        receiver.accept(&d).await.unwrap();
        let m = d.message();
        let (sections, bytes) = match &m.body {
            Body::Data(batch) => (
                batch.len(),
                batch.iter().flat_map(|d| d.0.to_vec()).collect::<Vec<u8>>(),
            ),
            other => panic!("not a data section: {other:?}"),
        };
        let text = String::from_utf8(bytes).expect("UTF-8 JSON");
        let p = m.properties.as_ref().expect("properties");
        let app = m
            .application_properties
            .as_ref()
            .map(|a| {
                a.0.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            SimpleValue::String(s) => s.clone(),
                            other => format!("{other:?}"),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Got {
            json: serde_json::from_str(&text).unwrap(),
            message_id: match &p.message_id {
                Some(fe2o3_amqp::types::messaging::MessageId::String(s)) => s.clone(),
                other => panic!("message-id {other:?}"),
            },
            subject: p.subject.clone().unwrap_or_default(),
            content_type: p
                .content_type
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            creation_ms: p.creation_time.as_ref().map_or(0, |t| t.milliseconds()),
            durable: m.header.as_ref().is_some_and(|h| h.durable),
            data_sections: sections,
            app,
            text,
        });
    }
    let _ = receiver.close().await;
    let _ = session.end().await;
    let _ = c.close().await;
    out
}

/// The export of each job: what the stream must hold, in this order per job.
fn expected(store: &Store) -> Vec<Vec<(String, String)>> {
    ["J-TH-1", "J-BGA-1", "J-TH-2"]
        .iter()
        .map(|job| {
            let mut out = Vec::new();
            write_cfx(
                store,
                &library(),
                &Scope {
                    job: Some(job.to_string()),
                    ..Scope::default()
                },
                &ExportOptions::default(),
                &mut out,
                &mut |_| {},
            )
            .unwrap();
            let v: Json = serde_json::from_slice(&out).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["UniqueID"].as_str().unwrap().to_string(),
                        serde_json::to_string(e).unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Checks the stream against the export: every message there, in order, each repeat
/// the same message; every message shaped as the CFX SDK sends it. Returns how many
/// repeats there were.
fn check_stream(got: &[Got], store: &Store) -> usize {
    let handle = "org.traveler.bench-2";
    for g in got {
        let name = g.json["MessageName"].as_str().unwrap();
        // CFX/Transport/AmqpUtilities.cs: one envelope, one data section, durable.
        assert_eq!(g.data_sections, 1);
        assert!(g.durable, "{name} not durable");
        assert_eq!(g.message_id, g.json["UniqueID"].as_str().unwrap());
        assert_eq!(g.content_type, "application/json; charset=\"utf-8\"");
        assert_eq!(g.subject, format!("{handle}.{name}"));
        let stamp = chrono::DateTime::parse_from_rfc3339(g.json["TimeStamp"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        assert_eq!(g.creation_ms, stamp, "{name} creation-time");
        assert_eq!(g.app["cfx-message"], name);
        assert_eq!(g.app["cfx-handle"], handle);
        assert_eq!(g.app["cfx-topic"], name.rsplit_once('.').unwrap().0);
        assert_eq!(g.json["Source"], handle);
    }
    // First sight of each UniqueID; a repeat must be the very same message.
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut stream = Vec::new();
    let mut repeats = 0;
    for g in got {
        let name = g.json["MessageName"].as_str().unwrap();
        if matches!(name, "CFX.EndpointConnected" | "CFX.Heartbeat") {
            continue;
        }
        match seen.get(g.message_id.as_str()) {
            Some(first) => {
                assert_eq!(*first, g.text, "a repeat of {} differs", g.message_id);
                repeats += 1;
            }
            None => {
                seen.insert(&g.message_id, &g.text);
                stream.push(g);
            }
        }
    }
    let want = expected(store);
    let total: usize = want.iter().map(Vec::len).sum();
    assert_eq!(stream.len(), total, "messages lost or extra");
    for job in &want {
        let ids: Vec<&str> = job.iter().map(|(id, _)| id.as_str()).collect();
        let order: Vec<&str> = stream
            .iter()
            .map(|g| g.message_id.as_str())
            .filter(|id| ids.contains(id))
            .collect();
        assert_eq!(order, ids, "a job's messages out of order");
        for (id, json) in job {
            let g = stream.iter().find(|g| g.message_id == *id).unwrap();
            assert_eq!(
                g.json,
                serde_json::from_str::<Json>(json).unwrap(),
                "published {id} is not the exported message"
            );
        }
    }
    repeats
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_whole_job_through_a_broker_restart() {
    let _guard = BROKER.lock().unwrap_or_else(|p| p.into_inner());
    runtime().block_on(through_a_restart());
}

async fn through_a_restart() {
    require_broker().await;
    let src = tempfile::tempdir().unwrap();
    let records = demo_records(src.path());
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut rx = live::spawn(store.clone(), config(1));
    assert_eq!(rx.borrow().link, Link::Connecting);

    // The first half as the bench saves it, published as it is saved.
    let half = records.len() / 2;
    replay(&store, &records[..half]);
    let head = store.chain_head().seq;
    wait_for(&mut rx, "first half published", |s| {
        s.link == Link::Connected && s.published_seq == head
    })
    .await;
    assert_eq!(rx.borrow().header_text(), "CFX up to date");
    // A heartbeat goes out while connected (every second here, every minute by default).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The broker goes away; the bench goes on saving.
    script(&["stop"]);
    replay(&store, &records[half..]);
    let head = store.chain_head().seq;
    wait_for(&mut rx, "broker down seen", |s| {
        matches!(s.link, Link::Down { .. }) && s.head_seq == head
    })
    .await;
    let down = rx.borrow().clone();
    assert!(down.backlog() > 0);
    assert!(
        down.header_text().starts_with("CFX broker down"),
        "{}",
        down.header_text()
    );
    assert!(down.header_text().contains("record(s) waiting"));
    // The mark on disk says the same backlog.
    let mark = outbox::read(store.path()).unwrap().unwrap();
    assert_eq!(mark.seq, down.published_seq);

    script(&["start"]);
    wait_for(&mut rx, "backlog drained after the restart", |s| {
        s.link == Link::Connected && s.published_seq == head
    })
    .await;
    drop(rx);

    let got = drain().await;
    check_stream(&got, &store);
    let count = |n: &str| got.iter().filter(|g| g.json["MessageName"] == n).count();
    assert!(count("CFX.EndpointConnected") >= 2, "one per connection");
    let beat = got
        .iter()
        .find(|g| g.json["MessageName"] == "CFX.Heartbeat")
        .expect("a heartbeat");
    assert_eq!(
        beat.json["MessageBody"]["CFXHandle"],
        "org.traveler.bench-2"
    );
    assert_eq!(beat.json["MessageBody"]["HeartbeatFrequency"], "00:00:01");
}

/// The bench dies while publishing (its runtime torn down mid-send, so the mark may
/// lag what the broker took); started again it sends from the mark: nothing lost,
/// repeats identical.
#[test]
fn a_publisher_that_dies_mid_send_resumes_from_its_mark() {
    let _guard = BROKER.lock().unwrap_or_else(|p| p.into_inner());
    let rt = runtime;
    let first = rt();
    first.block_on(require_broker());
    let src = tempfile::tempdir().unwrap();
    let records = demo_records(src.path());
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let half = records.len() / 2;
    replay(&store, &records[..half]);
    let mut rx = first.block_on(async { live::spawn(store.clone(), config(60)) });
    first.block_on(wait_for(&mut rx, "publishing started", |s| s.sent > 0));
    replay(&store, &records[half..]);
    // Killed without a goodbye, wherever it is: its tasks are dropped at their next
    // await. The wait is for the runtime's threads to be gone, as a killed process's
    // are; with no wait, a mark write already under way could land after the rewind
    // below and hide the repeats this test looks for.
    first.shutdown_timeout(Duration::from_secs(30));
    let mark = outbox::read(store.path()).unwrap().map_or(0, |m| m.seq);
    assert!(mark < store.chain_head().seq, "died before the end");

    // The one window a crash can leave: the broker took messages whose mark was not
    // written yet. Put the mark back a few records to stand for it.
    let second = rt();
    let back = mark.max(1).saturating_sub(6).max(1);
    let hash = store.stored_record(back).unwrap().unwrap().hash;
    outbox::write(store.path(), outbox::Mark { seq: back, hash }).unwrap();
    let head = store.chain_head().seq;
    let mut rx = second.block_on(async { live::spawn(store.clone(), config(60)) });
    second.block_on(wait_for(&mut rx, "resumed and caught up", |s| {
        s.link == Link::Connected && s.published_seq == head
    }));
    assert_eq!(rx.borrow().backlog(), 0);
    drop(rx);
    let got = second.block_on(drain());
    let repeats = check_stream(&got, &store);
    assert!(
        repeats > 0,
        "the records after the rewound mark were sent again"
    );
}

/// No [cfx] table: nothing runs and the header says so.
#[tokio::test]
async fn off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rx = live::spawn(
        store,
        LiveConfig {
            cfx: None,
            bench: "B".into(),
            library: Arc::new(library()),
        },
    );
    assert_eq!(rx.borrow().link, Link::Off);
    assert_eq!(rx.borrow().header_text(), "CFX off");
}

/// The publisher waits on the store's notification, not a timer: an append changes
/// the durable head it watches, to the seq of the last record saved, and a receiver
/// taken after that sees nothing new until the next append.
#[test]
fn an_append_wakes_whoever_follows_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut rx = store.watch_durable_head();
    assert!(!rx.has_changed().unwrap());
    enrol(&store);
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), store.chain_head().seq);
    assert!(!rx.has_changed().unwrap());
    let late = store.watch_durable_head();
    assert_eq!(*late.borrow(), store.chain_head().seq);
    assert!(!late.has_changed().unwrap());
}
