//! Desk figures, printed (no asserts), against the real PostgreSQL of
//! `scripts/dev-postgres.sh` (TRAVELER_TEST_PG, or TRAVELER_BENCH_PG) and a real hub
//! service on a loopback port:
//!
//! 1. the desk's first screen over a shop of TRAVELER_BENCH_BENCHES (50) ×
//!    TRAVELER_BENCH_BENCH_JOBS (2 000) jobs, most of them decided and a few per
//!    bench waiting: the desk's queue read (HTTP, SQL, fold) through `update` and
//!    drawn into a 120×40 `TestBackend`, p50/p99 over repeated starts; beside it, in
//!    the same run, the plain SQL query that finds the waiting submissions over
//!    every record (no records sent, no fold, no HTTP) as the baseline, and the
//!    read of the open submissions the database keeps (migration 4);
//! 2. a bench submission visible on the desk: a real sled store with the bench's
//!    real sync task (production poll) appends a submission; the time until the
//!    desk's state lists it, following the hub's LISTEN/NOTIFY long-poll, p50/p99
//!    over TRAVELER_BENCH_SUBMISSIONS (50); beside it the queue read alone (what
//!    each poll of a desk that polled instead would cost at least).
//!
//! `cargo bench --bench desk`.

mod support;
use support::{fresh_db, ms, pct, t0};

use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use traveler::desk::{DeskState, Executor, follow, settle, start, update};
use traveler::domain::event::{Event, Record};
use traveler::domain::types::{Decision, ProductClass};
use traveler::hub::db::{self, Caller, Kind};
use traveler::hub::server::Server;
use traveler::hub::sync::{SyncState, spawn};
use traveler::hub::wire::OfferedRecord;
use traveler::hub::{HubConfig, client::HubClient};
use traveler::store::{ChainHead, OpenOptions, Store, StoreIdentity, canonical_bytes, chain_hash};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One job's records: start, lot, step done, submitted, and (`decided`) approved.
fn job_events(job: &str, serial: &str, decided: bool) -> Vec<Event> {
    let mut v = vec![
        Event::JobStarted {
            job: job.into(),
            board_serial: serial.into(),
            assembly_part: "PCA-1001".into(),
            assembly_rev: "C".into(),
            refdes: vec!["U7".into()],
            defect_ref: "NCR-42".into(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: "WI-BGA-01".into(),
            instruction_rev: "4".into(),
            instruction_hash: "ab".repeat(32),
            procedures: vec!["7711 5.2".into()],
            step_count: 1,
            approval_ref: None,
            bench: "B".into(),
            performer: "T1".into(),
        },
        Event::StepStarted {
            job: job.into(),
            step: 0,
        },
        Event::LotRecorded {
            job: job.into(),
            step: 0,
            material: "flux".into(),
            lot: "FLX-1".into(),
            expiry: None,
            gtin: None,
            raw_scan: "(10)FLX-1".into(),
        },
        Event::JobSubmitted { job: job.into() },
    ];
    if decided {
        v.push(Event::JobReviewed {
            job: job.into(),
            decision: Decision::Approved,
            reviewer: "S5".into(),
            reviewer_name: "Sue".into(),
            comment: "ok".into(),
        });
    }
    v
}

/// A bench's chain made in memory (no sled): `waiting` of its jobs, the last
/// ones, still wait for a decision.
fn synthetic_chain(
    bench: usize,
    store: &StoreIdentity,
    jobs: usize,
    waiting: usize,
) -> Vec<OfferedRecord> {
    let mut head = ChainHead::EMPTY;
    let mut out = Vec::with_capacity(jobs * 5);
    for j in 0..jobs {
        let t = t0() + chrono::Duration::seconds(j as i64 * 30);
        let decided = j + waiting < jobs;
        for event in job_events(&format!("J{bench}-{j}"), &format!("SN{bench}-{j}"), decided) {
            let seq = head.seq + 1;
            let record = Record {
                seq,
                prev_hash: head.hash_hex(),
                time: t,
                actor: "T1".into(),
                event,
            };
            let bytes = canonical_bytes(&record, (seq == 1).then_some(store)).unwrap();
            let hash = chain_hash(seq, &head.hash, &bytes);
            head = ChainHead { seq, hash };
            out.push(OfferedRecord { seq, hash, bytes });
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(admin) = std::env::var("TRAVELER_BENCH_PG")
        .ok()
        .or_else(|| std::env::var("TRAVELER_TEST_PG").ok())
    else {
        println!("desk bench skipped: set TRAVELER_TEST_PG (scripts/dev-postgres.sh start)");
        return;
    };
    let benches = size("TRAVELER_BENCH_BENCHES", 50);
    let jobs = size("TRAVELER_BENCH_BENCH_JOBS", 2_000);
    let waiting = size("TRAVELER_BENCH_WAITING", 4).min(jobs);
    let url = fresh_db(&admin, "hub_bench_desk").await;
    let pool = db::pool(&url).unwrap();
    let fill = Instant::now();
    for b in 0..benches {
        let name = format!("BENCH-{b:02}");
        db::enrol(&pool, &name, Kind::Bench, false).await.unwrap();
        let caller = Caller {
            bench: name.clone(),
            kind: Kind::Bench,
        };
        let ident = StoreIdentity::new(name);
        let chain = synthetic_chain(b, &ident, jobs, waiting);
        for batch in chain.chunks(2000) {
            db::ingest(&pool, &caller, &ident.store_id, batch)
                .await
                .unwrap();
        }
    }
    let desk_token = db::enrol(&pool, "QA-DESK", Kind::Desk, false)
        .await
        .unwrap();
    let live_token = db::enrol(&pool, "BENCH-LIVE", Kind::Bench, false)
        .await
        .unwrap();
    {
        let c = db::client(&pool).await.unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
    }
    let total = benches * jobs;
    println!(
        "shop of {benches} benches × {jobs} jobs ({total} jobs, {} records, {} waiting) filled through the checked ingest in {:.0} s",
        total * 5 - benches * waiting,
        benches * waiting,
        fill.elapsed().as_secs_f64()
    );
    let hub = Server::start(&url, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let base = format!("http://{}", hub.addr);

    // 1. The first screen.
    let exec = Executor::new(&base, &desk_token, None).unwrap();
    let mut first = Vec::new();
    let mut shown = 0;
    for _ in 0..20 {
        let begin = Instant::now();
        let mut s = DeskState::new(&base, Utc::now());
        s.size = (120, 40);
        let fx = start(&mut s);
        settle(&mut s, &exec, fx).await;
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| traveler::desk::view::draw(&s, f)).unwrap();
        first.push(begin.elapsed());
        shown = s.queue.len();
    }
    let c = db::client(&pool).await.unwrap();
    let mut table = Vec::new();
    for _ in 0..20 {
        let begin = Instant::now();
        let rows = c
            .query("SELECT store_id, job FROM hub_open_submissions", &[])
            .await
            .unwrap();
        table.push(begin.elapsed());
        assert_eq!(rows.len(), shown);
    }
    let mut plain = Vec::new();
    for _ in 0..20 {
        let begin = Instant::now();
        let rows = c
            .query(
                "SELECT DISTINCT r.store_id, r.job FROM hub_records r WHERE r.kind = 'job_submitted'
                 AND NOT EXISTS (SELECT 1 FROM hub_records l WHERE l.store_id = r.store_id
                     AND l.job = r.job AND l.kind IN ('job_reviewed', 'job_aborted') AND l.seq > r.seq)",
                &[],
            )
            .await
            .unwrap();
        plain.push(begin.elapsed());
        assert_eq!(rows.len(), shown);
    }
    first.sort();
    plain.sort();
    table.sort();
    println!(
        "desk first screen ({shown} waiting across {benches} benches; HTTP, SQL, fold, update, draw 120×40): \
         p50 {:.1} ms, p99 {:.1} ms (goal ≤ 150 ms)",
        ms(pct(&first, 0.5)),
        ms(pct(&first, 0.99)),
    );
    println!(
        "  baseline plain SQL finding the waiting submissions over every record (the query before \
         migration 4): p50 {:.1} ms, p99 {:.1} ms (first screen ×{:.2} of it); reading the open \
         submissions the database keeps (hub_open_submissions): p50 {:.2} ms, p99 {:.2} ms",
        ms(pct(&plain, 0.5)),
        ms(pct(&plain, 0.99)),
        pct(&first, 0.5).as_secs_f64() / pct(&plain, 0.5).as_secs_f64().max(1e-9),
        ms(pct(&table, 0.5)),
        ms(pct(&table, 0.99)),
    );

    // 2. A submission at a bench, visible on the desk.
    let n = size("TRAVELER_BENCH_SUBMISSIONS", 50);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    let mut rx_sync = spawn(
        store.clone(),
        HubConfig {
            url: base.clone(),
            token: live_token,
            ca_cert: None,
        },
    );
    let mut s = DeskState::new(&base, Utc::now());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let follower = tokio::spawn(follow(exec.client().clone(), tx));
    let fx = start(&mut s);
    settle(&mut s, &exec, fx).await;
    let mut seen = Vec::new();
    let client = HubClient::new(&base, &desk_token, None).unwrap();
    let mut poll = Vec::new();
    for i in 0..n {
        let job = format!("LIVE-{i}");
        let mut events = job_events(&job, &format!("SN-L{i}"), false);
        let submitted = events.pop().unwrap();
        store.append_batch("T1", events).unwrap();
        let head = store.chain_head().seq;
        rx_sync
            .wait_for(|st| *st == SyncState::Synced { head })
            .await
            .unwrap();
        // The desk catches up on the job's start before the submission is timed.
        while s.asking(&traveler::desk::state::Ask::Queue) || s.stale {
            let m = rx.recv().await.unwrap();
            let fx = update(&mut s, m);
            settle(&mut s, &exec, fx).await;
        }
        let begin = Instant::now();
        store.append_batch("T1", vec![submitted]).unwrap();
        while !s.queue.iter().any(|e| e.job == job) {
            let m = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("the desk heard nothing for 30 s")
                .unwrap();
            let fx = update(&mut s, m);
            settle(&mut s, &exec, fx).await;
        }
        seen.push(begin.elapsed());
        let begin = Instant::now();
        let _ = client.desk_queue().await.unwrap();
        poll.push(begin.elapsed());
    }
    follower.abort();
    seen.sort();
    poll.sort();
    println!(
        "bench submission visible on the desk (sled append, sync task at its production poll, ingest, \
         NOTIFY, long-poll, queue read), {n} submissions: p50 {:.0} ms, p99 {:.0} ms (goal p99 ≤ 1 s); \
         baseline one queue read alone: p50 {:.1} ms, p99 {:.1} ms",
        ms(pct(&seen, 0.5)),
        ms(pct(&seen, 0.99)),
        ms(pct(&poll, 0.5)),
        ms(pct(&poll, 0.99)),
    );
    hub.stop().await;
}
