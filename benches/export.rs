//! Export and query figures on a large store (printed, not asserted).
//!
//! `cargo bench --bench export` builds a store of 100 000 finished jobs (set
//! TRAVELER_BENCH_JOBS to shrink it), exports all of it to JSON and to CSV files,
//! reports jobs/s and resident memory along the way (flat memory means the exports
//! stream), then times where-used and board history. CSV is printed as a ratio
//! to the JSON export of the same jobs in the same run (best of three each).
//! Goals: >= 50 000 jobs/s, flat memory, queries <= 5 ms.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use traveler::domain::event::{ChannelSummary, Event, Measurement};
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass};
use traveler::export::csv::write_csv;
use traveler::export::json::write_json;
use traveler::export::queries::{board_history, where_used};
use traveler::export::{ExportOptions, Scope};
use traveler::instruction::{Library, load_dir};
use traveler::store::{OpenOptions, Store};

const STEPS: u32 = 3;

thread_local! {
    /// Seconds the raw sequential read of the records took, for the ratios.
    static RAW_SECS: std::cell::Cell<f64> = const { std::cell::Cell::new(f64::NAN) };
}
/// Jobs sharing one solder lot, and one flux lot.
const SOLDER_LOT_JOBS: usize = 10;
const FLUX_LOT_JOBS: usize = 50;

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn job_events(i: usize, t: DateTime<Utc>) -> Vec<(DateTime<Utc>, String, Event)> {
    let job = format!("J{i:07}");
    let tech = format!("T{}", i % 7);
    let mut out = Vec::with_capacity(20);
    let mut push = |secs: i64, actor: &str, e: Event| {
        out.push((t + chrono::Duration::seconds(secs), actor.to_string(), e));
    };
    push(
        0,
        &tech,
        Event::JobStarted {
            job: job.clone(),
            board_serial: format!("SN-{:06}", i / 2),
            assembly_part: "PCA-7731".into(),
            assembly_rev: "D".into(),
            refdes: vec![format!("U{}", i % 40)],
            defect_ref: format!("NCR-{i}"),
            class: ProductClass::Class2,
            alloy: "SAC305".into(),
            instruction_id: "WI-TH-001".into(),
            instruction_rev: "A".into(),
            instruction_hash: "ab".repeat(32),
            step_count: STEPS,
            approval_ref: None,
            bench: "bench-1".into(),
            performer: tech.clone(),
            procedures: vec![],
        },
    );
    for step in 0..STEPS {
        let at = 60 * (step as i64 + 1);
        push(
            at,
            &tech,
            Event::StepStarted {
                job: job.clone(),
                step,
            },
        );
        let (material, lot) = if step == 1 {
            ("flux", format!("LOT-FLUX-{}", i / FLUX_LOT_JOBS))
        } else {
            ("solder", format!("LOT-SOLDER-{}", i / SOLDER_LOT_JOBS))
        };
        push(
            at + 5,
            &tech,
            Event::LotRecorded {
                job: job.clone(),
                step,
                material: material.into(),
                raw_scan: format!("(10){lot}"),
                lot,
                expiry: None,
                gtin: None,
            },
        );
        for cp in 0..2 {
            push(
                at + 20 + cp,
                &tech,
                Event::CheckpointSigned {
                    job: job.clone(),
                    step,
                    checkpoint: cp as u32,
                    signer: tech.clone(),
                    signer_name: "Ana Lima".into(),
                    meaning: Meaning::Performed,
                    result: CheckResult::Pass,
                    measurement: (cp == 1).then(|| Measurement {
                        value: 82.5,
                        unit: "%".into(),
                    }),
                    comment: None,
                    recorded: None,
                },
            );
        }
        push(
            at + 40,
            &tech,
            Event::StepCompleted {
                job: job.clone(),
                step,
                temperature: vec![ChannelSummary {
                    channel: "tip".into(),
                    count: 120,
                    min_c: 340.0,
                    max_c: 372.5,
                    mean_c: 361.2,
                    peak_c: 372.5,
                    above_liquidus_s: 95.0,
                    window_min_c: Some(345.0),
                    window_max_c: Some(400.0),
                    excursions: 0,
                }],
                sample_count: 0,
                samples_digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    .into(),
                attempt: 0,
            },
        );
    }
    push(300, &tech, Event::JobSubmitted { job: job.clone() });
    push(
        900,
        "S1",
        Event::JobReviewed {
            job,
            decision: Decision::Approved,
            reviewer: "S1".into(),
            reviewer_name: "Dana Roth".into(),
            comment: "ok".into(),
        },
    );
    out
}

/// Lines in a file's bytes.
fn bytecount(b: &[u8]) -> usize {
    b.iter().filter(|c| **c == b'\n').count()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn latency(name: &str, mut run: impl FnMut(usize)) {
    let mut times: Vec<Duration> = (0..400)
        .map(|i| {
            let t = Instant::now();
            run(i);
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:<28} p50 {:>7.3} ms   p99 {:>7.3} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}

/// Runs one export, sampling resident memory every tenth of the way; returns
/// its seconds.
fn export_run(name: &str, jobs: usize, run: impl FnOnce(&mut dyn FnMut(u64))) -> f64 {
    let step = (jobs as u64 / 10).max(1);
    let mut rss: Vec<u64> = Vec::new();
    let t = Instant::now();
    run(&mut |n| {
        if n % step == 0 {
            rss.push(status_kb("VmRSS:"));
        }
    });
    let secs = t.elapsed().as_secs_f64();
    let shown: Vec<String> = rss.iter().map(|kb| format!("{:.0}", mib(*kb))).collect();
    let raw = RAW_SECS.with(|r| r.get());
    println!(
        "{name:<6} {jobs} jobs in {secs:.2} s = {:>8.0} jobs/s ({:.1}x the raw read; goal >= 50 000 jobs/s)   RSS MiB at each 10%: [{}]",
        jobs as f64 / secs,
        secs / raw,
        shown.join(" ")
    );
    secs
}

fn main() {
    let jobs: usize = std::env::var("TRAVELER_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(
        dir.path().join("store"),
        OpenOptions {
            cache_capacity: 64 * 1024 * 1024,
            high_throughput: true,
            ..OpenOptions::default()
        },
    )
    .expect("open store");
    let lib: Library =
        load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")).library;

    let t = Instant::now();
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 6, 0, 0).unwrap();
    let mut batch = Vec::new();
    for i in 0..jobs {
        // About 200 jobs a day across the benches.
        let when = start + chrono::Duration::minutes(7 * i as i64);
        batch.extend(job_events(i, when));
        if batch.len() >= 20_000 {
            store
                .append_batch_at(std::mem::take(&mut batch))
                .expect("append");
        }
    }
    store.append_batch_at(batch).expect("append");
    let head = store.chain_head();
    println!(
        "built {jobs} jobs ({} events) in {:.1} s; store {:.0} MiB on disk; RSS {:.0} MiB",
        head.seq,
        t.elapsed().as_secs_f64(),
        store.size_on_disk().unwrap_or(0) as f64 / 1048576.0,
        mib(status_kb("VmRSS:"))
    );

    // Baselines: what reading the chain costs before anything is written.
    let t = Instant::now();
    let raw = store.raw_records(1).filter(|r| r.is_ok()).count();
    let raw_secs = t.elapsed().as_secs_f64();
    println!(
        "baseline: raw sequential read of the records: {raw} in {raw_secs:.2} s = {:.0} jobs/s",
        jobs as f64 / raw_secs
    );
    RAW_SECS.with(|r| r.set(raw_secs));
    let t = Instant::now();
    let n = store.events().filter(|r| r.is_ok()).count();
    println!(
        "baseline: decode every event in seq order: {n} in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let n = store.stored_events().filter(|r| r.is_ok()).count();
    println!(
        "baseline: decode and hash every event:      {n} in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut n = 0;
    for id in store.job_ids() {
        n += store.events_of_job(&id.expect("id")).expect("events").len();
    }
    println!(
        "baseline: every job's events by job index:  {n} in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let all = Scope::default();
    let options = ExportOptions::default();
    let hwm_before = status_kb("VmHWM:");
    // Three rounds, JSON and CSV in turn, best of each: the machine is shared, and
    // the ratio of the bests says what the formats cost, not what the neighbours did.
    let mut json_secs = f64::INFINITY;
    let mut csv_secs = f64::INFINITY;
    for _ in 0..3 {
        json_secs = json_secs.min(export_run("json", jobs, |progress| {
            let f = std::fs::File::create(out.join("all.json")).expect("file");
            let w = std::io::BufWriter::with_capacity(1 << 20, f);
            write_json(&store, &lib, &all, &options, w, progress).expect("json export");
        }));
        csv_secs = csv_secs.min(export_run("csv", jobs, |progress| {
            write_csv(&store, &lib, &all, &options, &out.join("csv"), progress)
                .expect("csv export");
        }));
    }
    println!(
        "       file {:.0} MiB",
        std::fs::metadata(out.join("all.json")).map_or(0, |m| m.len()) as f64 / 1048576.0
    );
    let rows = |name: &str| {
        std::fs::read(out.join("csv").join(name)).map_or(0, |b| bytecount(&b).saturating_sub(1))
    };
    println!(
        "csv / json, best of 3 each (baseline: the JSON export of the same jobs, this run): {:.2}x   \
         rows: actions {} signoffs {} steps {} lots {}",
        csv_secs / json_secs,
        rows("actions.csv"),
        rows("signoffs.csv"),
        rows("steps.csv"),
        rows("lots.csv")
    );
    println!(
        "peak RSS (VmHWM) {:.0} MiB before the exports, {:.0} MiB after",
        mib(hwm_before),
        mib(status_kb("VmHWM:"))
    );

    let solder_lots = jobs.div_ceil(SOLDER_LOT_JOBS);
    let flux_lots = jobs.div_ceil(FLUX_LOT_JOBS);
    let boards = jobs.div_ceil(2);
    let pick = |i: usize, n: usize| (i * 7919) % n.max(1);
    latency(&format!("where-used ({SOLDER_LOT_JOBS} jobs/lot)"), |i| {
        let uses = where_used(&store, &format!("LOT-SOLDER-{}", pick(i, solder_lots)))
            .expect("where-used");
        assert!(!uses.is_empty());
    });
    latency(&format!("where-used ({FLUX_LOT_JOBS} jobs/lot)"), |i| {
        let uses =
            where_used(&store, &format!("LOT-FLUX-{}", pick(i, flux_lots))).expect("where-used");
        assert!(!uses.is_empty());
    });
    latency("history (2 jobs/board)", |i| {
        let h =
            board_history(&store, &lib, &format!("SN-{:06}", pick(i, boards))).expect("history");
        assert!(!h.jobs.is_empty());
    });
}
