//! Shared by the store tests: real stores in temporary folders and a small job script.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use traveler::domain::event::{Event, Measurement};
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass};
use traveler::store::{OpenOptions, Store, StoredSample};

pub fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, OpenOptions::default()).expect("open store")
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 8, 0, 0).unwrap()
}

pub fn started(job: &str, serial: &str, performer: &str, steps: u32) -> Event {
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
        step_count: steps,
        approval_ref: None,
        bench: "bench-1".into(),
        performer: performer.into(),
    }
}

pub fn signed(job: &str, step: u32, cp: u32, signer: &str, result: CheckResult) -> Event {
    Event::CheckpointSigned {
        job: job.into(),
        step,
        checkpoint: cp,
        signer: signer.into(),
        signer_name: format!("Name of {signer}"),
        meaning: Meaning::Performed,
        result,
        measurement: Some(Measurement {
            value: 0.125,
            unit: "mm".into(),
        }),
        comment: None,
    }
}

pub fn lot(job: &str, step: u32, lot: &str) -> Event {
    Event::LotRecorded {
        job: job.into(),
        step,
        material: "solder paste".into(),
        lot: lot.into(),
        expiry: None,
        gtin: None,
        raw_scan: format!("(10){lot}"),
    }
}

pub fn completed(job: &str, step: u32, count: u64, digest: &str) -> Event {
    Event::StepCompleted {
        job: job.into(),
        step,
        temperature: vec![],
        sample_count: count,
        samples_digest: digest.into(),
    }
}

pub fn samples(n: usize, start: DateTime<Utc>) -> Vec<StoredSample> {
    (0..n)
        .map(|i| StoredSample {
            channel: if i % 2 == 0 { "tc1" } else { "tc2" }.into(),
            time: start + Duration::milliseconds(100 * i as i64),
            celsius: 200.0 + i as f64 * 0.25,
        })
        .collect()
}

/// A finished job of two steps: lots, signatures, samples, submission and review.
pub fn full_job(store: &Store, job: &str, serial: &str, lot_id: &str, day: DateTime<Utc>) {
    let t = day;
    store
        .append_at(t, "T1", started(job, serial, "T1", 2))
        .unwrap();
    for step in 0..2u32 {
        let st = t + Duration::minutes(10 * (step as i64 + 1));
        store
            .append_at(
                st,
                "T1",
                Event::StepStarted {
                    job: job.into(),
                    step,
                },
            )
            .unwrap();
        store.append_at(st, "T1", lot(job, step, lot_id)).unwrap();
        store.append_samples(job, step, &samples(20, st)).unwrap();
        store
            .append_at(st, "T1", signed(job, step, 0, "T1", CheckResult::Pass))
            .unwrap();
        store
            .append_at(st, "I9", signed(job, step, 1, "I9", CheckResult::Confirmed))
            .unwrap();
        let d = store.samples_digest(job, step).unwrap();
        store
            .append_at(st, "T1", completed(job, step, d.count, &d.sha256))
            .unwrap();
    }
    let end = t + Duration::hours(1);
    store
        .append_at(end, "T1", Event::JobSubmitted { job: job.into() })
        .unwrap();
    store
        .append_at(
            end,
            "S5",
            Event::JobReviewed {
                job: job.into(),
                decision: Decision::Approved,
                reviewer: "S5".into(),
                reviewer_name: "Sue".into(),
                comment: "ok".into(),
            },
        )
        .unwrap();
}
