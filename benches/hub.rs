//! Hub figures, printed (no asserts), against the real PostgreSQL of
//! `scripts/dev-postgres.sh` (TRAVELER_TEST_PG, or TRAVELER_BENCH_PG) and a real hub
//! service on a loopback port:
//!
//! 1. ingest from one bench through the service (sync task → HTTP → checks →
//!    PostgreSQL), beside a plain batched INSERT of the same rows into a plain table of
//!    the same database in the same run (no checks, no trigger, no service);
//! 2. catch-up of a store's whole chain after a day offline;
//! 3. the shop-wide JSON export of that store through the hub, beside the bench's own
//!    export of the same store (ratio);
//! 4. shop-wide where-used over the hub, p50/p99 across many lots.
//!
//! `cargo bench --bench hub`. Sizes: TRAVELER_BENCH_INGEST (20 000 events),
//! TRAVELER_BENCH_CATCHUP (100 000 events), TRAVELER_BENCH_BENCHES (50) ×
//! TRAVELER_BENCH_BENCH_JOBS (2 000 jobs of 4 records each).

mod support;
use support::{fresh_db, pct, t0};

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use traveler::domain::event::{Event, Record};
use traveler::domain::types::{Decision, ProductClass};
use traveler::hub::client::HubClient;
use traveler::hub::db::{self, Caller, Kind};
use traveler::hub::server::Server;
use traveler::hub::sync::{SyncOptions, SyncState, spawn_with};
use traveler::hub::wire::OfferedRecord;
use traveler::hub::{HubConfig, queries};
use traveler::store::{ChainHead, OpenOptions, Store, StoreIdentity, canonical_bytes, chain_hash};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The records of one rework job: start, two lots, one signature-free step, review.
fn job_events(job: &str, serial: &str, paste: &str, flux: &str) -> Vec<Event> {
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
            instruction_id: "WI-BGA-01".into(),
            instruction_rev: "4".into(),
            instruction_hash: "ab".repeat(32),
            procedures: vec!["7711 5.2".into()],
            step_count: 1,
            approval_ref: None,
            bench: "B".into(),
            performer: "T1".into(),
        },
        Event::LotRecorded {
            job: job.into(),
            step: 0,
            material: "solder paste".into(),
            lot: paste.into(),
            expiry: None,
            gtin: None,
            raw_scan: format!("(10){paste}"),
        },
        Event::LotRecorded {
            job: job.into(),
            step: 0,
            material: "flux".into(),
            lot: flux.into(),
            expiry: None,
            gtin: None,
            raw_scan: format!("(10){flux}"),
        },
        Event::JobReviewed {
            job: job.into(),
            decision: Decision::Approved,
            reviewer: "S5".into(),
            reviewer_name: "Sue".into(),
            comment: "ok".into(),
        },
    ]
}

fn lots(rng: &mut StdRng) -> (String, String) {
    (
        format!("PASTE-{}", rng.gen_range(0..2000)),
        format!("FLX-{}", rng.gen_range(0..1000)),
    )
}

/// A real sled store of about `n` events.
fn build_store(dir: &std::path::Path, n: usize, seed: u64) -> Store {
    let store = Store::open(
        dir,
        OpenOptions {
            high_throughput: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut batch = Vec::new();
    for j in 0..n.div_ceil(4) {
        let (p, f) = lots(&mut rng);
        let t = t0() + chrono::Duration::seconds(j as i64);
        for e in job_events(&format!("J{j}"), &format!("SN{j}"), &p, &f) {
            batch.push((t, "T1".to_string(), e));
        }
        if batch.len() >= 1000 {
            store.append_batch_at(std::mem::take(&mut batch)).unwrap();
        }
    }
    store.append_batch_at(batch).unwrap();
    store
}

async fn sync_all(store: &Store, cfg: HubConfig) -> Duration {
    let head = store.chain_head().seq;
    let start = Instant::now();
    let opts = SyncOptions {
        poll: Duration::from_millis(5),
        ..SyncOptions::default()
    };
    let mut rx = spawn_with(store.clone(), cfg, opts);
    rx.wait_for(|s| *s == SyncState::Synced { head })
        .await
        .unwrap();
    start.elapsed()
}

/// The same rows as the hub stores, by a plain batched INSERT into a plain table.
async fn plain_insert(url: &str, store: &Store) -> Duration {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.batch_execute(
        "CREATE TABLE plain_records (store_id text, seq bigint, prev_hash bytea, hash bytea,
         bytes bytea, doc jsonb, PRIMARY KEY (store_id, seq))",
    )
    .await
    .unwrap();
    let rows: Vec<_> = store.stored_events().map(|r| r.unwrap()).collect();
    let start = Instant::now();
    for chunk in rows.chunks(1000) {
        let seqs: Vec<i64> = chunk.iter().map(|r| r.record.seq as i64).collect();
        let prevs: Vec<Vec<u8>> = chunk
            .iter()
            .map(|r| hex::decode(&r.record.prev_hash).unwrap())
            .collect();
        let hashes: Vec<&[u8]> = chunk.iter().map(|r| r.hash.as_slice()).collect();
        let bytes: Vec<&[u8]> = chunk.iter().map(|r| r.canonical.as_slice()).collect();
        c.execute(
            "INSERT INTO plain_records SELECT 's', s, p, h, b, convert_from(b, 'UTF8')::jsonb
             FROM unnest($1::int8[], $2::bytea[], $3::bytea[], $4::bytea[]) AS t(s, p, h, b)",
            &[&seqs, &prevs, &hashes, &bytes],
        )
        .await
        .unwrap();
    }
    start.elapsed()
}

/// A bench's chain made in memory (no sled), for filling the shop.
fn synthetic_chain(
    bench: usize,
    store: &StoreIdentity,
    jobs: usize,
    rng: &mut StdRng,
) -> Vec<OfferedRecord> {
    let mut head = ChainHead::EMPTY;
    let mut out = Vec::with_capacity(jobs * 4);
    for j in 0..jobs {
        let (p, f) = lots(rng);
        let t = t0() + chrono::Duration::seconds(j as i64);
        for event in job_events(&format!("J{j}"), &format!("SN{bench}-{j}"), &p, &f) {
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
        println!("hub bench: set TRAVELER_TEST_PG (scripts/dev-postgres.sh start prints it)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();

    // 1. Ingest from one bench, beside a plain batched INSERT.
    let n = size("TRAVELER_BENCH_INGEST", 20_000);
    let url = fresh_db(&admin, "hub_bench_ingest").await;
    let hub = Server::start(&url, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let pool = db::pool(&url).unwrap();
    let token = db::enrol(&pool, "BENCH-01", Kind::Bench, false)
        .await
        .unwrap();
    let cfg = HubConfig {
        url: format!("http://{}", hub.addr),
        token: token.clone(),
        ca_cert: None,
    };
    let store = build_store(&tmp.path().join("ingest"), n, 1);
    let events = store.chain_head().seq;
    let through = sync_all(&store, cfg.clone()).await;
    let plain = plain_insert(&url, &store).await;
    let rate = |d: Duration| events as f64 / d.as_secs_f64();
    println!("ingest, one bench, {events} events in batches of 1000:");
    println!(
        "  through the service (verified, checked again in SQL): {:>8.0} events/s ({:.2} s)",
        rate(through),
        through.as_secs_f64()
    );
    println!(
        "  plain batched INSERT of the same rows:                {:>8.0} events/s ({:.2} s)",
        rate(plain),
        plain.as_secs_f64()
    );
    println!(
        "  ratio service / plain: {:.2} (goal: ≥ 5 000 events/s through the service)",
        rate(through) / rate(plain)
    );
    drop(store);

    // 2. Catch-up after a day offline.
    let n = size("TRAVELER_BENCH_CATCHUP", 100_000);
    let store = build_store(&tmp.path().join("catchup"), n, 2);
    let events = store.chain_head().seq;
    let pool2 = db::pool(&url).unwrap();
    let t2 = db::enrol(&pool2, "BENCH-02", Kind::Bench, false)
        .await
        .unwrap();
    let took = sync_all(
        &store,
        HubConfig {
            token: t2,
            ..cfg.clone()
        },
    )
    .await;
    println!(
        "catch-up of {events} events after a day offline: {:.1} s ({:.0} events/s; goal ≤ 30 s)",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
    drop(store);

    // 3. Shop-wide export of that store through the hub (fetch its backup stream,
    // restore and verify a scratch copy, the bench's own JSON writer), beside the
    // bench's own JSON export of the same store, both through the real binary.
    let desk = db::enrol(&pool2, "QA-DESK", Kind::Desk, false)
        .await
        .unwrap();
    let bin = env!("CARGO_BIN_EXE_traveler");
    let timed = |args: &[&str]| {
        let start = Instant::now();
        let out = std::process::Command::new(bin)
            .args(args)
            .env("TRAVELER_STATE_DIR", tmp.path().join("state"))
            .env("TRAVELER_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    let local_json = tmp.path().join("local.json");
    let shop_json = tmp.path().join("shop.json");
    let hub_url = format!("http://{}", hub.addr);
    let local = timed(&[
        "export",
        "--store",
        tmp.path().join("catchup").to_str().unwrap(),
        "--out",
        local_json.to_str().unwrap(),
    ]);
    let shop = timed(&[
        "export",
        "--hub",
        &hub_url,
        "--hub-token",
        &desk,
        "--bench",
        "BENCH-02",
        "--out",
        shop_json.to_str().unwrap(),
    ]);
    println!(
        "JSON export of the {events}-event store: the bench's own {:.1} s ({:.1} MB); through the hub (fetch, restore + verify a scratch copy, export) {:.1} s ({:.1} MB); ratio hub / own {:.2}",
        local.as_secs_f64(),
        std::fs::metadata(&local_json).unwrap().len() as f64 / 1e6,
        shop.as_secs_f64(),
        std::fs::metadata(&shop_json).unwrap().len() as f64 / 1e6,
        shop.as_secs_f64() / local.as_secs_f64()
    );
    hub.stop().await;

    // 4. Shop-wide where-used.
    let benches = size("TRAVELER_BENCH_BENCHES", 50);
    let jobs = size("TRAVELER_BENCH_BENCH_JOBS", 2_000);
    let url = fresh_db(&admin, "hub_bench_shop").await;
    let pool = db::pool(&url).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let fill = Instant::now();
    let mut desk = String::new();
    for b in 0..benches {
        let name = format!("BENCH-{b:02}");
        db::enrol(&pool, &name, Kind::Bench, false).await.unwrap();
        let caller = Caller {
            bench: name,
            kind: Kind::Bench,
        };
        let ident = StoreIdentity::new(format!("BENCH-{b:02}"));
        let chain = synthetic_chain(b, &ident, jobs, &mut rng);
        let store_id = ident.store_id.clone();
        for batch in chain.chunks(2000) {
            db::ingest(&pool, &caller, &store_id, batch).await.unwrap();
        }
        if b == 0 {
            desk = db::enrol(&pool, "QA-DESK", Kind::Desk, false)
                .await
                .unwrap();
        }
    }
    {
        let c = db::client(&pool).await.unwrap();
        c.batch_execute("ANALYZE").await.unwrap();
    }
    let total = benches * jobs;
    println!(
        "shop of {benches} benches × {jobs} jobs ({total} jobs, {} records) filled through the checked ingest in {:.0} s",
        total * 4,
        fill.elapsed().as_secs_f64()
    );
    let hub = Server::start(&url, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let client = HubClient::new(&format!("http://{}", hub.addr), &desk, None).unwrap();
    let mut times = Vec::new();
    let mut uses = 0;
    for i in 0..200 {
        let lot = if i % 2 == 0 {
            format!("FLX-{}", rng.gen_range(0..1000))
        } else {
            format!("PASTE-{}", rng.gen_range(0..2000))
        };
        let start = Instant::now();
        let jobs = client.jobs(("lot", &lot)).await.unwrap();
        let folded = queries::fold(jobs).unwrap();
        uses += queries::where_used(&folded, &lot).len();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "shop-wide where-used over the hub (HTTP, SQL, fold), 200 lots, {:.0} uses each on average: p50 {:.1} ms, p99 {:.1} ms (goal p99 ≤ 50 ms)",
        uses as f64 / 200.0,
        pct(&times, 0.5).as_secs_f64() * 1e3,
        pct(&times, 0.99).as_secs_f64() * 1e3
    );
    hub.stop().await;
}
