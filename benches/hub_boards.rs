//! Board look-up figures (#16), printed (no asserts), against the real PostgreSQL of
//! `scripts/dev-postgres.sh` (TRAVELER_TEST_PG, or TRAVELER_BENCH_PG) and a real hub
//! service on a loopback port. A shop of TRAVELER_BENCH_BENCHES (50) benches ×
//! TRAVELER_BENCH_BENCH_JOBS (2 000) jobs of 4 records, each board reworked at 10
//! benches, filled through the checked ingest; then, over 200 boards:
//!
//! 1. what a bench does before a StartJob: `HubBoards::board` (a thread, a runtime,
//!    a client, HTTP, one snapshot in SQL, decode + fold of the board's jobs);
//! 2. the endpoint on a reused client (HTTP + SQL + fold only);
//! 3. the baseline: the plain SQL query naming the board's jobs, on an open
//!    connection (no service, no records read, no fold).
//!
//! `cargo bench --bench hub_boards`.

mod support;
use support::{ms, pct, t0};

use std::time::{Duration, Instant};

use traveler::core::BoardLookup;
use traveler::domain::event::{Event, Record};
use traveler::domain::types::{Decision, ProductClass};
use traveler::hub::boards::HubBoards;
use traveler::hub::client::HubClient;
use traveler::hub::db::{self, Caller, Kind};
use traveler::hub::server::Server;
use traveler::hub::wire::OfferedRecord;
use traveler::hub::{HubConfig, migrate};
use traveler::store::{ChainHead, StoreIdentity, canonical_bytes, chain_hash};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How many benches each board visits.
const VISITS: usize = 10;

/// Board `j` of bench group `b / VISITS`: the same board at VISITS benches.
fn serial(bench: usize, j: usize) -> String {
    format!("SN-{}-{j}", bench / VISITS)
}

fn job_events(job: &str, serial: &str) -> Vec<Event> {
    vec![
        Event::JobStarted {
            job: job.into(),
            board_serial: serial.into(),
            assembly_part: "PCA-1001".into(),
            assembly_rev: "C".into(),
            refdes: vec!["U7".into()],
            defect_ref: "NCR-42".into(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: "WI-BGA-001".into(),
            instruction_rev: "A".into(),
            instruction_hash: "ab".repeat(32),
            procedures: vec!["7711 ORG-8.1".into()],
            step_count: 1,
            approval_ref: None,
            bench: "B".into(),
            performer: "T1".into(),
        },
        Event::StepStarted {
            job: job.into(),
            step: 0,
        },
        Event::JobSubmitted { job: job.into() },
        Event::JobReviewed {
            job: job.into(),
            decision: Decision::Approved,
            reviewer: "S5".into(),
            reviewer_name: "Sue".into(),
            comment: "ok".into(),
        },
    ]
}

fn chain(bench: usize, store: &StoreIdentity, jobs: usize) -> Vec<OfferedRecord> {
    let mut head = ChainHead::EMPTY;
    let mut out = Vec::with_capacity(jobs * 4);
    for j in 0..jobs {
        let t = t0() + chrono::Duration::seconds((j * 60 + bench) as i64);
        for event in job_events(&format!("J{j}"), &serial(bench, j)) {
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
        .or_else(|_| std::env::var("TRAVELER_TEST_PG"))
        .ok()
    else {
        println!(
            "hub_boards bench: set TRAVELER_TEST_PG (scripts/dev-postgres.sh start prints it)"
        );
        return;
    };
    let benches = size("TRAVELER_BENCH_BENCHES", 50);
    let jobs = size("TRAVELER_BENCH_BENCH_JOBS", 2_000);
    let name = "hub_bench_boards";
    let url = {
        let (c, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        let (mut c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        migrate::migrate(&mut c).await.unwrap();
        url
    };
    let pool = db::pool(&url).unwrap();
    let fill = Instant::now();
    let mut token = String::new();
    for b in 0..benches {
        let bench = format!("BENCH-{b:02}");
        let t = db::enrol(&pool, &bench, Kind::Bench, false).await.unwrap();
        if b == 0 {
            token = t;
        }
        let caller = Caller {
            bench: bench.clone(),
            kind: Kind::Bench,
        };
        let ident = StoreIdentity::new(bench);
        for batch in chain(b, &ident, jobs).chunks(2000) {
            db::ingest(&pool, &caller, &ident.store_id, batch)
                .await
                .unwrap();
        }
    }
    db::client(&pool)
        .await
        .unwrap()
        .batch_execute("ANALYZE")
        .await
        .unwrap();
    let total = benches * jobs;
    println!(
        "shop of {benches} benches × {jobs} jobs ({total} jobs, {} records; each board at {VISITS} benches) filled through the checked ingest in {:.0} s",
        total * 4,
        fill.elapsed().as_secs_f64()
    );

    let hub = Server::start(&url, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let cfg = HubConfig {
        url: format!("http://{}", hub.addr),
        token: token.clone(),
        ca_cert: None,
    };
    let boards: Vec<String> = (0..200)
        .map(|i| serial((i * 7) % benches, (i * 37) % jobs))
        .collect();

    // 1. As the bench asks before a StartJob.
    let lookup = HubBoards::new(cfg.clone());
    let mut bench_side = Vec::new();
    let mut found = 0;
    for s in &boards {
        let lookup = lookup.clone();
        let s = s.clone();
        let (took, n) = tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            let b = lookup.board(&s).unwrap();
            (start.elapsed(), b.jobs.len())
        })
        .await
        .unwrap();
        found += n;
        bench_side.push(took);
    }
    // 2. The endpoint on a reused client.
    let client = HubClient::new(&cfg.url, &token, None).unwrap();
    let mut endpoint = Vec::new();
    for s in &boards {
        let start = Instant::now();
        let b = client.board(s, Duration::from_secs(10)).await.unwrap();
        endpoint.push(start.elapsed());
        assert!(!b.jobs.is_empty());
    }
    // 3. The plain SQL query naming the board's jobs.
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let q = c
        .prepare(
            "SELECT DISTINCT store_id, job FROM hub_records
             WHERE kind = 'job_started' AND doc -> 'event' ->> 'board_serial' = $1",
        )
        .await
        .unwrap();
    let mut plain = Vec::new();
    for s in &boards {
        let start = Instant::now();
        let rows = c.query(&q, &[s]).await.unwrap();
        plain.push(start.elapsed());
        assert!(!rows.is_empty());
    }
    for t in [&mut bench_side, &mut endpoint, &mut plain] {
        t.sort();
    }
    println!(
        "board look-up, 200 boards, {:.1} jobs each on average:",
        found as f64 / boards.len() as f64
    );
    println!(
        "  bench side (HubBoards: thread, client, HTTP, snapshot, fold): p50 {:.1} ms, p99 {:.1} ms",
        ms(pct(&bench_side, 0.5)),
        ms(pct(&bench_side, 0.99))
    );
    println!(
        "  endpoint on a reused client (HTTP, snapshot, fold):           p50 {:.1} ms, p99 {:.1} ms",
        ms(pct(&endpoint, 0.5)),
        ms(pct(&endpoint, 0.99))
    );
    println!(
        "  plain SQL query of the board's jobs (baseline):               p50 {:.2} ms, p99 {:.2} ms",
        ms(pct(&plain, 0.5)),
        ms(pct(&plain, 0.99))
    );
    println!(
        "  ratio p99 bench side / plain SQL: {:.1}; endpoint / plain SQL: {:.1}",
        pct(&bench_side, 0.99).as_secs_f64() / pct(&plain, 0.99).as_secs_f64(),
        pct(&endpoint, 0.99).as_secs_f64() / pct(&plain, 0.99).as_secs_f64()
    );
    hub.stop().await;
    // The shop's database is large: leave none behind.
    drop(c);
    drop(pool);
    let (c, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let _ = c
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}
