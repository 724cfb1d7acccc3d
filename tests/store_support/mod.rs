//! Shared by the store tests: real stores in temporary folders and a small job script.
#![allow(dead_code)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use traveler::domain::event::{Event, Measurement, SYSTEM_ACTOR};
use traveler::domain::job::JobStatus;
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass, Role, SkillLevel};
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
        procedures: vec![],
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
        recorded: None,
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
        attempt: 0,
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

/// Everything the queries answer, to compare two stores or one store over time.
pub fn answers(store: &Store) -> String {
    let mut out = String::new();
    let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
    for s in ["SN-1", "SN-2", "SN-3", "nope"] {
        out += &format!("serial {s}: {:?}\n", store.jobs_by_serial(s).unwrap());
    }
    for l in ["LOT-A", "LOT-B", "nope"] {
        out += &format!("lot {l}: {:?}\n", store.where_used(l).unwrap());
    }
    for p in ["T1", "I9", "S5", "T2", "nope"] {
        out += &format!("person {p}: {:?}\n", store.jobs_by_person(p).unwrap());
    }
    for st in [
        JobStatus::InProgress,
        JobStatus::Held,
        JobStatus::Approved,
        JobStatus::Suspended,
        JobStatus::Submitted,
    ] {
        out += &format!("status {st:?}: {:?}\n", store.jobs_by_status(st).unwrap());
    }
    out += &format!(
        "days: {:?}\n",
        store.jobs_between(day(10), day(11)).unwrap()
    );
    out += &format!(
        "day 12: {:?}\n",
        store.jobs_between(day(12), day(12)).unwrap()
    );
    for j in ["J1", "J2", "J3", "J4"] {
        out += &format!("job {j}: {:?}\n", store.job(j).unwrap());
        out += &format!("status {j}: {:?}\n", store.job_status(j).unwrap());
    }
    let people: Vec<u64> = store.people_events().map(|r| r.unwrap().seq).collect();
    out += &format!("people: {people:?}\n");
    out
}

/// Four jobs over three days: approved, held, suspended, approved again on one board.
pub fn populate(store: &Store) {
    let t = t0();
    store
        .append_at(
            t - Duration::days(1),
            SYSTEM_ACTOR,
            Event::PersonEnrolled {
                badge: "T1".into(),
                name: "Tom".into(),
                roles: vec![Role::Technician],
                skill: SkillLevel::Advanced,
                pin_hash: "$argon2id$x".into(),
            },
        )
        .unwrap();
    full_job(store, "J1", "SN-1", "LOT-A", t);
    store
        .append_at(
            t,
            "T1",
            Event::LoggedIn {
                badge: "T1".into(),
                bench: "b".into(),
            },
        )
        .unwrap();
    store
        .append_at(t + Duration::days(1), "T2", started("J2", "SN-2", "T2", 3))
        .unwrap();
    store
        .append_at(t + Duration::days(1), "T2", lot("J2", 0, "LOT-B"))
        .unwrap();
    store
        .append_at(
            t + Duration::days(1),
            "T2",
            signed("J2", 0, 0, "T2", CheckResult::Fail),
        )
        .unwrap();
    store
        .append_at(t + Duration::days(2), "T1", started("J3", "SN-3", "T1", 1))
        .unwrap();
    store
        .append_at(
            t + Duration::days(2),
            "S5",
            Event::JobSuspended {
                job: "J3".into(),
                reason: "shift end".into(),
            },
        )
        .unwrap();
    full_job(store, "J4", "SN-1", "LOT-B", t + Duration::days(2));
}
