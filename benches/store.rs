//! Store figures, printed (no asserts): durable append latency against SQLite doing
//! the same durable append, then open time, memory, where-used and board-history
//! latency on a large store.
//!
//! `cargo bench --bench store`. `TRAVELER_BENCH_JOBS` sets the large store's size
//! (default 100 000 jobs of about 40 events); `TRAVELER_BENCH_DIR` keeps the large
//! store in that folder and reuses it on the next run instead of building it again.
//!
//! The large store is built with `append_batch_at`, 25 jobs (about 1 000 events) per
//! transaction and flush, so it takes minutes, not hours; each event still goes
//! through the same chaining and indexing as a single append. Open, memory and
//! queries are measured in a fresh child process (this binary re-run) so that the
//! memory of building does not count. The first open after the build replays the
//! whole build from sled's log (sled 0.34 snapshots only at open and close), so the
//! child opens twice and reports both; memory is read after the second open.
//!
//! What drives open time and memory: sled 0.34 splits a leaf above 16 entries and keeps
//! every page's bookkeeping resident, about 35 bytes per key in practice, however small
//! the cache. With one key per event and one `job_events` key per event the large store
//! holds about 10 M keys, hence hundreds of MB. Packing several records into one value
//! is the lever (measured: 4.5 M records 8 per key, 25 MB; 32 per key, 10 MB).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use traveler::domain::event::{Event, Measurement, SYSTEM_ACTOR};
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass};
use traveler::store::{OpenOptions, Store};

const MEASURE_ENV: &str = "TRAVELER_BENCH_MEASURE";
const STEPS: u32 = 6;

fn main() {
    if let Ok(dir) = std::env::var(MEASURE_ENV) {
        measure(Path::new(&dir));
        return;
    }
    if std::env::var("TRAVELER_BENCH_SAMPLES_ONLY").is_ok() {
        sample_memory();
        return;
    }
    append_latency();
    sample_memory();
    large_store();
}

/// Resident memory while a step's samples pile up: 400 000 samples (or
/// `TRAVELER_BENCH_SAMPLES`) on 3 channels in
/// batches of 50 (what the runner writes at 10 samples/s per channel is about one
/// batch every 1.7 s). Each batch is one key, so memory should stay flat.
fn sample_memory() {
    const BATCH: usize = 50;
    let total: usize = std::env::var("TRAVELER_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 7, 0, 0).unwrap();
    let channels = ["tc1", "tc2", "tc3"];
    println!("sample memory: {total} samples in batches of {BATCH}, 3 channels");
    println!("  RSS at 0 samples: {:.1} MB", rss_mb());
    let start = Instant::now();
    let mut lat = Vec::with_capacity(total / BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..total {
        batch.push(traveler::store::StoredSample {
            channel: channels[i % 3].into(),
            time: t0 + chrono::Duration::milliseconds(100 * (i / 3) as i64),
            celsius: 200.0 + (i % 1000) as f64 * 0.05,
        });
        if batch.len() == BATCH {
            let t = Instant::now();
            store.append_samples("J1", 0, &batch).unwrap();
            lat.push(t.elapsed());
            batch.clear();
        }
        if (i + 1) % 100_000 == 0 {
            println!(
                "  RSS at {} samples: {:.1} MB  ({:.1} s)",
                i + 1,
                rss_mb(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    let t = Instant::now();
    let d = store.samples_digest("J1", 0).unwrap();
    let digest_time = t.elapsed();
    lat.sort();
    println!(
        "  batch append p50 {:.3} ms  p99 {:.3} ms; digest of {} samples {:.0} ms; RSS after digest {:.1} MB; disk {:.1} MB",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        d.count,
        ms(digest_time),
        rss_mb(),
        store.size_on_disk().unwrap_or(0) as f64 / 1e6
    );
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn signoff(job: &str, step: u32, cp: u32, signer: &str) -> Event {
    Event::CheckpointSigned {
        job: job.into(),
        step,
        checkpoint: cp,
        signer: signer.into(),
        signer_name: format!("Technician {signer}"),
        meaning: Meaning::Performed,
        result: CheckResult::Pass,
        measurement: Some(Measurement {
            value: 0.12,
            unit: "mm".into(),
        }),
        comment: None,
        recorded: None,
    }
}

fn append_latency() {
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    store.append("T1", job_started("J1", "SN-1", "T1")).unwrap();
    let mut lat = Vec::with_capacity(N);
    for i in 0..N {
        let e = signoff("J1", (i % STEPS as usize) as u32, i as u32, "T1");
        let t = Instant::now();
        store.append("T1", e).unwrap();
        lat.push(t.elapsed());
    }
    let canon: Vec<Vec<u8>> = store
        .stored_events()
        .skip(1)
        .map(|r| r.unwrap().canonical)
        .collect();
    lat.sort();
    let (s50, s99) = (pct(&lat, 0.5), pct(&lat, 0.99));

    let sqlite_dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(sqlite_dir.path().join("events.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL)",
        [],
    )
    .unwrap();
    let mut lat_sql = Vec::with_capacity(N);
    for (i, bytes) in canon.iter().enumerate() {
        let t = Instant::now();
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute(
            "INSERT INTO events (seq, bytes) VALUES (?1, ?2)",
            rusqlite::params![i as i64 + 1, bytes],
        )
        .unwrap();
        tx.commit().unwrap();
        lat_sql.push(t.elapsed());
    }
    lat_sql.sort();
    let (q50, q99) = (pct(&lat_sql, 0.5), pct(&lat_sql, 0.99));

    println!("durable append, {N} events of ~{} bytes", canon[0].len());
    println!(
        "  sled store : p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms(s50),
        ms(s99),
        ms(*lat.last().unwrap())
    );
    println!(
        "  SQLite WAL : p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  (synchronous=FULL, one INSERT per transaction)",
        ms(q50),
        ms(q99),
        ms(*lat_sql.last().unwrap())
    );
    println!(
        "  ratio store/SQLite: p50 {:.2}  p99 {:.2}  (goal: p99 <= 1)",
        ms(s50) / ms(q50),
        ms(s99) / ms(q99)
    );
}

fn job_started(job: &str, serial: &str, performer: &str) -> Event {
    Event::JobStarted {
        job: job.into(),
        board_serial: serial.into(),
        assembly_part: "PCA-1001".into(),
        assembly_rev: "C".into(),
        refdes: vec!["U7".into(), "C12".into()],
        defect_ref: "NCR-2025-0042".into(),
        class: ProductClass::Class3,
        alloy: "SAC305".into(),
        instruction_id: "WI-BGA-01".into(),
        instruction_rev: "4".into(),
        instruction_hash: "ab".repeat(32),
        step_count: STEPS,
        approval_ref: None,
        bench: "bench-1".into(),
        performer: performer.into(),
        procedures: vec![],
    }
}

fn serial_of(i: usize, jobs: usize) -> String {
    // About 0.7 boards per job: some boards come back for more rework.
    format!("SN{:07}", (i * 7919) % (jobs * 7 / 10).max(1))
}

fn lot_of(i: usize, step: u32) -> String {
    // A new lot about every 100 jobs per material.
    format!("LOT-{}-{:05}", step % 3, i / 100)
}

/// One job of about 40 events: start, 6 steps of start/lot/4 sign-offs/complete,
/// submit, review.
fn job_events(i: usize, jobs: usize, t0: DateTime<Utc>) -> Vec<(DateTime<Utc>, String, Event)> {
    let job = format!("J{i:07}");
    let tech = format!("T{:02}", i % 40);
    let mut t = t0 + chrono::Duration::minutes(10 * i as i64);
    let mut v = Vec::with_capacity(42);
    v.push((
        t,
        tech.clone(),
        job_started(&job, &serial_of(i, jobs), &tech),
    ));
    for step in 0..STEPS {
        t += chrono::Duration::seconds(60);
        v.push((
            t,
            tech.clone(),
            Event::StepStarted {
                job: job.clone(),
                step,
            },
        ));
        v.push((
            t,
            tech.clone(),
            Event::LotRecorded {
                job: job.clone(),
                step,
                material: "solder paste".into(),
                lot: lot_of(i, step),
                expiry: None,
                gtin: Some("09506000134352".into()),
                raw_scan: format!("(01)09506000134352(10){}", lot_of(i, step)),
            },
        ));
        for cp in 0..4 {
            let signer = if cp == 3 {
                format!("I{:02}", i % 5)
            } else {
                tech.clone()
            };
            v.push((t, signer.clone(), signoff(&job, step, cp, &signer)));
        }
        v.push((
            t,
            tech.clone(),
            Event::StepCompleted {
                job: job.clone(),
                step,
                temperature: vec![],
                sample_count: 0,
                samples_digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    .into(),
                attempt: 0,
            },
        ));
    }
    v.push((t, tech.clone(), Event::JobSubmitted { job: job.clone() }));
    v.push((
        t,
        "S01".into(),
        Event::JobReviewed {
            job,
            decision: Decision::Approved,
            reviewer: "S01".into(),
            reviewer_name: "Supervisor".into(),
            comment: String::new(),
        },
    ));
    v
}

fn large_store() {
    let jobs: usize = std::env::var("TRAVELER_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let kept = std::env::var("TRAVELER_BENCH_DIR").ok();
    let tmp = tempfile::tempdir().unwrap();
    let dir = kept
        .as_deref()
        .map(Path::new)
        .unwrap_or(tmp.path())
        .to_path_buf();

    let reuse = dir.join("db").exists();
    if !reuse {
        let store = Store::open(&dir, OpenOptions::default()).unwrap();
        let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 7, 0, 0).unwrap();
        let start = Instant::now();
        let _ = store.append(
            SYSTEM_ACTOR,
            Event::LoggedIn {
                badge: "T00".into(),
                bench: "bench-1".into(),
            },
        );
        let mut batch = Vec::new();
        for i in 0..jobs {
            batch.extend(job_events(i, jobs, t0));
            if (i + 1) % 25 == 0 || i + 1 == jobs {
                store.append_batch_at(std::mem::take(&mut batch)).unwrap();
            }
            if (i + 1) % 10_000 == 0 {
                eprintln!(
                    "  built {} jobs, {} events, {:.0} s",
                    i + 1,
                    store.chain_head().seq,
                    start.elapsed().as_secs_f64()
                );
            }
        }
        println!(
            "large store: built {jobs} jobs, {} events in {:.1} s (batches of 25 jobs)",
            store.chain_head().seq,
            start.elapsed().as_secs_f64()
        );
    } else {
        println!("large store: reusing {}", dir.display());
    }
    // sled lets go of its file lock a moment after the last handle drops; give it that
    // moment so the child's open time is the open, not the wait.
    std::thread::sleep(Duration::from_secs(2));
    let status = Command::new(std::env::current_exe().unwrap())
        .env(MEASURE_ENV, &dir)
        .env("TRAVELER_BENCH_JOBS", jobs.to_string())
        .status()
        .unwrap();
    if !status.success() {
        println!("measuring failed: {status}");
    }
}

fn measure(dir: &Path) {
    let jobs: usize = std::env::var("TRAVELER_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let options = OpenOptions {
        cache_capacity: std::env::var("TRAVELER_BENCH_CACHE_MB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(OpenOptions::default().cache_capacity, |mb| mb << 20),
        ..OpenOptions::default()
    };
    let rss_before = rss_mb();
    let t = Instant::now();
    let first = Store::open(dir, options.clone()).unwrap();
    let first_open = t.elapsed();
    drop(first);
    // Let sled's threads let go of the lock so the reopen times the open, not a wait.
    std::thread::sleep(Duration::from_secs(2));
    let t = Instant::now();
    let store = Store::open(dir, options).unwrap();
    let open = t.elapsed();
    let rss_open = rss_mb();
    let head = store.chain_head();

    let mut rng = StdRng::seed_from_u64(7);
    let mut lot_lat = Vec::new();
    let mut lot_hits = 0usize;
    for _ in 0..300 {
        let i = rng.gen_range(0..jobs);
        let lot = lot_of(i, rng.gen_range(0..STEPS));
        let t = Instant::now();
        let used = store.where_used(&lot).unwrap();
        lot_lat.push(t.elapsed());
        lot_hits += used.len();
    }
    let mut hist_lat = Vec::new();
    let mut hist_jobs = 0usize;
    for _ in 0..300 {
        let i = rng.gen_range(0..jobs);
        let serial = serial_of(i, jobs);
        let t = Instant::now();
        let mut history = Vec::new();
        for id in store.jobs_by_serial(&serial).unwrap() {
            if let Some(j) = store.job(&id).unwrap() {
                history.push(j);
            }
        }
        history.sort_by_key(|j| j.started);
        hist_lat.push(t.elapsed());
        hist_jobs += history.len();
    }
    let rss_queries = rss_mb();

    // Byte-speed reads, in this run against the raw sequential read of the records.
    let t = Instant::now();
    let mut raw_n = 0u64;
    let mut raw_bytes = 0usize;
    for item in store.raw_records(1) {
        let (_, b) = item.unwrap();
        raw_n += 1;
        raw_bytes += b.len();
    }
    let raw = t.elapsed();
    let t = Instant::now();
    let report = store.verify().unwrap();
    let verify = t.elapsed();
    let t = Instant::now();
    let counts = store.backup(std::io::sink()).unwrap();
    let backup = t.elapsed();
    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "  raw read   : {raw_n} records ({:.0} MB) in {:.2} s = {:.0} events/s (baseline)",
        raw_bytes as f64 / 1e6,
        raw.as_secs_f64(),
        rate(raw_n, raw)
    );
    println!(
        "  verify     : {} events in {:.2} s = {:.0} events/s, {:.2}x the raw read (goal >= 200 000 events/s)",
        report.events,
        verify.as_secs_f64(),
        rate(report.events, verify),
        verify.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "  backup     : {} events in {:.2} s = {:.0} events/s, {:.2}x the raw read (goal >= 200 000 events/s)",
        counts.events,
        backup.as_secs_f64(),
        rate(counts.events, backup),
        backup.as_secs_f64() / raw.as_secs_f64()
    );
    lot_lat.sort();
    hist_lat.sort();
    let disk = store.size_on_disk().unwrap_or(0);

    println!("large store: {jobs} jobs, head seq {}", head.seq);
    println!(
        "  open       : first {:.1} ms (replays sled's log if the store was just built), \
         reopen {:.1} ms (goal <= 150 ms; OS page cache warm)",
        ms(first_open),
        ms(open)
    );
    println!(
        "  RSS        : {:.1} MB before open, {:.1} MB after open, {:.1} MB after queries (goal < 64 MB)",
        rss_before, rss_open, rss_queries
    );
    println!(
        "  where-used : p50 {:.3} ms  p99 {:.3} ms  ({:.0} jobs per lot on average; goal <= 5 ms)",
        ms(pct(&lot_lat, 0.5)),
        ms(pct(&lot_lat, 0.99)),
        lot_hits as f64 / lot_lat.len() as f64
    );
    println!(
        "  board history (ids + fold of each job): p50 {:.3} ms  p99 {:.3} ms  ({:.1} jobs per board; goal <= 5 ms)",
        ms(pct(&hist_lat, 0.5)),
        ms(pct(&hist_lat, 0.99)),
        hist_jobs as f64 / hist_lat.len() as f64
    );
    println!(
        "  disk       : {:.0} MB (sled size_on_disk)",
        disk as f64 / 1e6
    );
}
