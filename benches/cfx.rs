//! CFX publishing figures against a real RabbitMQ broker (printed, not asserted).
//!
//! `scripts/rabbitmq.sh start`, then `cargo bench --bench cfx`.
//! 1. CPU share of the publisher on a bench at work: 10 samples/s into the store and a
//!    record every 2 s (a job's records replayed), for 20 s without the publisher
//!    (baseline) and 20 s with it; the difference in process CPU time over wall time.
//!    Goal: < 1 % of a core. Then, in the same run, 20 s of the same load with only
//!    a task that reads the chain head every 50 ms, which is what the publisher did
//!    while idle before it waited for the store's append notification.
//! 2. Drain: a backlog of 100 000 messages (TRAVELER_BENCH_CFX_MESSAGES to change it)
//!    published after an outage, against the baseline of sending the same messages,
//!    already built, on one link. Goal: >= 2 000 messages/s on loopback.

#[path = "../tests/export_support/mod.rs"]
mod export_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use export_support::*;
use fe2o3_amqp::types::messaging::Outcome;
use fe2o3_amqp::{Connection, Sender, Session};
use traveler::cfx::{CfxConfig, LiveConfig, amqp, live};
use traveler::domain::event::{Event, Record};
use traveler::domain::job::Job;
use traveler::export::cfx::{CfxMessage, JobMessages, roster};
use traveler::store::{Store, StoredSample};

const EXCHANGE: &str = "/exchange/traveler.test";
const QUEUE: &str = "traveler.test.cfx";

fn url() -> String {
    std::env::var("TRAVELER_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".into())
}

fn purge() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/rabbitmq.sh");
    let ok = std::process::Command::new("bash")
        .args([script, "purge", QUEUE])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("cannot purge {QUEUE}: is the broker running? (scripts/rabbitmq.sh start)");
        std::process::exit(1);
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn config() -> LiveConfig {
    LiveConfig {
        cfx: Some(CfxConfig::new(&url(), EXCHANGE).unwrap()),
        bench: "bench-2".into(),
        library: Arc::new(library()),
    }
}

/// The demo jobs' records, their job ids made unique per copy.
fn job_records(copies: usize) -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let source = open(dir.path());
    demo_store(&source, &library());
    let base: Vec<Record> = source
        .events()
        .map(|r| r.unwrap())
        .filter(|r| r.event.job().is_some())
        .collect();
    let mut out = Vec::with_capacity(base.len() * copies);
    for i in 0..copies {
        for r in &base {
            let json = serde_json::to_string(&r.event).unwrap();
            let json = json.replace("\"job\":\"J-", &format!("\"job\":\"C{i}-J-"));
            let mut r = r.clone();
            r.event = serde_json::from_str(&json).unwrap();
            out.push(r);
        }
    }
    out
}

fn append_all(store: &Store, records: &[Record]) {
    for chunk in records.chunks(2000) {
        store
            .append_batch_at(
                chunk
                    .iter()
                    .map(|r| (r.time, r.actor.clone(), r.event.clone()))
                    .collect(),
            )
            .unwrap();
    }
}

/// 20 s of a bench at work: 10 samples/s, a record every 2 s.
fn bench_load(store: &Store, records: &[Record], secs: u64) {
    let start = Instant::now();
    let mut next = records.iter().cycle();
    let mut k = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        k += 1;
        let s = StoredSample {
            channel: "tip".into(),
            time: Utc::now(),
            celsius: 320.0 + (k % 7) as f64,
        };
        store.append_samples("BENCH-LOAD", 0, &[s]).unwrap();
        if k.is_multiple_of(20) {
            let r = next.next().unwrap();
            store.append(&r.actor, r.event.clone()).unwrap();
        }
        let due = start + Duration::from_millis(100 * k);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

fn cpu_share(rt: &tokio::runtime::Runtime) {
    const SECS: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    enrol(&store);
    let records = job_records(1);

    let (c0, w0) = (cpu_seconds(), Instant::now());
    bench_load(&store, &records[..10], SECS);
    let base = (cpu_seconds() - c0) / w0.elapsed().as_secs_f64();

    let rx = rt.block_on(async { live::spawn(store.clone(), config()) });
    let (c0, w0) = (cpu_seconds(), Instant::now());
    bench_load(&store, &records[10..], SECS);
    let with = (cpu_seconds() - c0) / w0.elapsed().as_secs_f64();
    let state = rx.borrow().clone();
    drop(rx);
    println!(
        "cpu: bench load alone (baseline) {:.2} % of a core; with the publisher {:.2} %; publishing {:.2} % (goal < 1 %); {} messages sent, {} record(s) behind at the end",
        base * 100.0,
        with * 100.0,
        (with - base) * 100.0,
        state.sent,
        state.backlog()
    );

    // What the publisher no longer does: look at the chain head every 50 ms while
    // idle (it now waits for the store's append notification). Same load, same run.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (store, stop) = (store.clone(), stop.clone());
        rt.spawn(async move {
            let mut seen = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen = seen.max(store.chain_head().seq);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };
    let (c0, w0) = (cpu_seconds(), Instant::now());
    bench_load(&store, &records[10..], SECS);
    let polled = (cpu_seconds() - c0) / w0.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = rt.block_on(poller);
    println!(
        "cpu: bench load with a 50 ms chain-head poll alone (the former idle loop) {:.2} % of a core; the poll {:.2} %",
        polled * 100.0,
        (polled - base) * 100.0
    );
}

/// Every job message of the store, built as the publisher builds them.
fn build_messages(store: &Store) -> Vec<CfxMessage> {
    let lib = library();
    let names = roster(store).unwrap();
    let mut built: Vec<CfxMessage> = Vec::new();
    let mut jobs: std::collections::HashMap<String, Job> = Default::default();
    for r in store.events() {
        let r = r.unwrap();
        let Some(id) = r.event.job() else { continue };
        let job = jobs
            .entry(id.to_string())
            .or_insert_with(|| Job::fold([&r]).unwrap());
        if !matches!(r.event, Event::JobStarted { .. }) {
            job.apply(&r);
        }
        let ins = lib.instruction(&job.instruction_id);
        let m = JobMessages::new(&lib, ins, &names, "org.traveler.bench-2");
        m.for_record(job, &r, &mut |_| Ok(Vec::new()), &mut built)
            .unwrap();
    }
    built
}

fn drain(rt: &tokio::runtime::Runtime) {
    let want: usize = std::env::var("TRAVELER_BENCH_CFX_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let per_copy = {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        append_all(&store, &job_records(1));
        build_messages(&store).len()
    };
    let copies = want.div_ceil(per_copy);
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    enrol(&store);
    let t = Instant::now();
    let records = job_records(copies);
    append_all(&store, &records);
    let head = store.chain_head().seq;
    println!(
        "drain: backlog of {} records saved in {:.1} s",
        head,
        t.elapsed().as_secs_f64()
    );

    // Baseline: the same messages built beforehand, sent on one link.
    let built = build_messages(&store);
    purge();
    let (sent, settled) = rt.block_on(async {
        let mut c = Connection::open("traveler-bench", url().as_str())
            .await
            .unwrap();
        let mut s = Session::begin(&mut c).await.unwrap();
        let mut tx = Sender::attach(&mut s, "traveler-bench-raw", EXCHANGE)
            .await
            .unwrap();
        let t = Instant::now();
        let mut settled = 0usize;
        for chunk in built.chunks(256) {
            let mut pending = Vec::new();
            for m in chunk {
                pending.push(
                    tx.send_batchable(amqp::message(m, "org.traveler.bench-2"))
                        .await
                        .unwrap(),
                );
            }
            for p in pending {
                match tokio::time::timeout(Duration::from_secs(5), p).await {
                    Ok(Ok(Outcome::Accepted(_))) => settled += 1,
                    other => {
                        // Time up to the stall, not the wait for it.
                        let e = t.elapsed() - Duration::from_secs(5);
                        println!(
                            "drain: baseline link stalled after {settled} messages ({other:?}); rate over those"
                        );
                        return (e, settled);
                    }
                }
            }
        }
        let e = t.elapsed();
        let _ = tx.close().await;
        let _ = s.end().await;
        let _ = c.close().await;
        (e, settled)
    });
    let raw_rate = settled as f64 / sent.as_secs_f64();
    let raw_note = if settled == built.len() {
        ""
    } else {
        " (until its link stalled)"
    };
    purge();

    let t = Instant::now();
    let mut rx = rt.block_on(async { live::spawn(store.clone(), config()) });
    let mut reconnects = 0;
    rt.block_on(async {
        let mut was_down = false;
        loop {
            rx.changed().await.unwrap();
            let s = rx.borrow().clone();
            let down = matches!(s.link, traveler::cfx::Link::Down { .. });
            if down && !was_down {
                reconnects += 1;
            }
            was_down = down;
            if s.published_seq == head {
                break;
            }
        }
    });
    let elapsed = t.elapsed().as_secs_f64();
    let sent = rx.borrow().sent;
    drop(rx);
    // Distinct messages delivered; `sent` also counts repeats after a dropped link.
    let rate = built.len() as f64 / elapsed;
    println!(
        "drain: {} messages ({head} records) in {elapsed:.1} s = {rate:.0} messages/s (goal >= 2 000), {sent} sent counting repeats; baseline, the same {} messages prebuilt on one link: {raw_rate:.0} messages/s{raw_note}; publisher/baseline {:.2}; {} link(s) dropped and resumed",
        built.len(),
        built.len(),
        rate / raw_rate,
        reconnects
    );
    purge();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    purge();
    cpu_share(&rt);
    drain(&rt);
}
