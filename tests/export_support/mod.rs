//! Shared by the export tests: a real store with jobs driven step by step through the
//! shipped instructions, at fixed times so that exports are reproducible.
#![allow(dead_code)]

// A job with failures, a redo, a suspension and a late alarm acknowledgement.
pub mod troubled;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use traveler::domain::component::ComponentAction;
use traveler::domain::event::{ChannelSummary, Event, Measurement, SYSTEM_ACTOR};
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass, Role, SkillLevel};
use traveler::instruction::schema::{CheckpointKind, Signer};
use traveler::instruction::{Library, load_dir};
use traveler::store::{OpenOptions, Store, StoredSample};

pub fn library() -> Library {
    let loaded = load_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("instructions")
            .as_path(),
    );
    assert!(loaded.is_clean(), "{:?}", loaded.diagnostics);
    loaded.library
}

pub fn open(dir: &Path) -> Store {
    Store::open(dir, OpenOptions::default()).expect("open store")
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 7, 30, 0).unwrap()
}

pub const TECH: (&str, &str) = ("T100", "Ana Lima");
pub const INSPECTOR: (&str, &str) = ("I300", "Chen Wei");
pub const SUPERVISOR: (&str, &str) = ("S400", "Dana Roth");

/// How far a scripted job goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Approved,
    /// Stops after this many steps, still in progress.
    InProgress(usize),
    Aborted(usize),
}

pub struct JobScript<'a> {
    pub id: &'a str,
    pub serial: &'a str,
    pub instruction: &'a str,
    pub refdes: &'a [&'a str],
    /// Lot per material id.
    pub lots: &'a [(&'a str, &'a str)],
    /// Step (0-based) whose temperature overshoots once, raising an excursion.
    pub excursion_step: Option<usize>,
    pub outcome: Outcome,
    pub start: DateTime<Utc>,
}

pub fn enrol(store: &Store) {
    for (badge, name, role) in [
        (TECH.0, TECH.1, Role::Technician),
        (INSPECTOR.0, INSPECTOR.1, Role::Inspector),
        (SUPERVISOR.0, SUPERVISOR.1, Role::Supervisor),
    ] {
        store
            .append_at(
                t0() - Duration::days(30),
                SYSTEM_ACTOR,
                Event::PersonEnrolled {
                    badge: badge.into(),
                    name: name.into(),
                    roles: vec![role],
                    skill: SkillLevel::Expert,
                    pin_hash: "$argon2id$test".into(),
                },
            )
            .unwrap();
    }
}

/// Drives one job through its instruction: every step started, its lots scanned, its
/// temperature sampled and summarised, every checkpoint signed, then completed.
/// Returns how many steps got samples.
pub fn run_job(store: &Store, lib: &Library, s: &JobScript<'_>) -> usize {
    let ins = lib.instruction(s.instruction).expect("instruction");
    let alloy = lib.alloy("SAC305").expect("alloy");
    let steps = ins.spec.steps.len();
    let mut t = s.start;
    let mut at = |secs: i64| {
        t += Duration::seconds(secs);
        t
    };
    store
        .append_at(
            at(0),
            TECH.0,
            Event::JobStarted {
                job: s.id.into(),
                board_serial: s.serial.into(),
                assembly_part: "PCA-7731".into(),
                assembly_rev: "D".into(),
                refdes: s.refdes.iter().map(|r| r.to_string()).collect(),
                defect_ref: format!("NCR-{}", s.id),
                class: ProductClass::Class3,
                alloy: "SAC305".into(),
                instruction_id: ins.id().into(),
                instruction_rev: ins.revision().into(),
                instruction_hash: ins.hash.clone(),
                step_count: steps as u32,
                approval_ref: None,
                bench: "bench-2".into(),
                performer: TECH.0.into(),
                procedures: vec![],
            },
        )
        .unwrap();
    let stop = match s.outcome {
        Outcome::Approved => steps,
        Outcome::InProgress(n) | Outcome::Aborted(n) => n,
    };
    let mut sampled = 0;
    for (i, step) in ins.spec.steps.iter().enumerate().take(stop) {
        let idx = i as u32;
        let job = s.id.to_string();
        store
            .append_at(
                at(20),
                TECH.0,
                Event::StepStarted {
                    job: job.clone(),
                    step: idx,
                },
            )
            .unwrap();
        for m in &step.materials {
            let id = m.get_ref();
            let Some(material) = ins.spec.materials.iter().find(|x| x.id.get_ref() == id) else {
                continue;
            };
            if !material.capture_lot {
                continue;
            }
            let lot = s
                .lots
                .iter()
                .find(|(mid, _)| mid == id)
                .map(|(_, l)| l.to_string())
                .unwrap_or_else(|| format!("LOT-{}-{}", id.to_uppercase(), s.id));
            store
                .append_at(
                    at(5),
                    TECH.0,
                    Event::LotRecorded {
                        job: job.clone(),
                        step: idx,
                        material: id.clone(),
                        lot: lot.clone(),
                        expiry: material
                            .capture_expiry
                            .then(|| chrono::NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()),
                        gtin: None,
                        raw_scan: format!("(10){lot}"),
                    },
                )
                .unwrap();
        }

        // The part removed and the part fitted, as the bench records them at the
        // steps whose instruction says so.
        if let Some(action) = &step.component
            && !s.refdes.is_empty()
        {
            let refdes: Vec<String> = s.refdes.iter().map(|r| r.to_string()).collect();
            let event = match action.get_ref() {
                ComponentAction::Remove => Event::ComponentRemoved {
                    job: job.clone(),
                    step: idx,
                    refdes: refdes.clone(),
                    part_number: Some("OLD-PN-1".into()),
                    entry: format!("{} OLD-PN-1", refdes.join(" ")),
                },
                ComponentAction::Install => Event::ComponentInstalled {
                    job: job.clone(),
                    step: idx,
                    refdes: refdes.clone(),
                    part_number: "NEW-PN-2".into(),
                    lot: Some(format!("LOT-PART-{}", s.id)),
                    date_code: Some("2609".into()),
                    entry: format!("{} NEW-PN-2 LOT-PART-{} 2609", refdes.join(" "), s.id),
                },
            };
            store.append_at(at(0), TECH.0, event).unwrap();
        }

        let mut temperature = Vec::new();
        if let Some(w) = ins.step_window(i, Some(alloy)) {
            let begin = at(1);
            let mid = (w.min_c + w.max_c) / 2.0;
            let overshoot = s.excursion_step == Some(i);
            let samples: Vec<StoredSample> = (0..40)
                .map(|k| {
                    let wobble = ((k * 7) % 5) as f64 * 0.5 - 1.0;
                    let c = if overshoot && (20..24).contains(&k) {
                        w.max_c + 6.0 + k as f64 * 0.25
                    } else {
                        mid + wobble
                    };
                    StoredSample {
                        channel: w.channel.clone(),
                        time: begin + Duration::seconds(k),
                        celsius: c,
                    }
                })
                .collect();
            store.append_samples(s.id, idx, &samples).unwrap();
            at(40);
            sampled += 1;
            let temps: Vec<f64> = samples.iter().map(|x| x.celsius).collect();
            let peak = temps.iter().cloned().fold(f64::MIN, f64::max);
            let low = temps.iter().cloned().fold(f64::MAX, f64::min);
            if overshoot {
                store
                    .append_at(
                        at(1),
                        SYSTEM_ACTOR,
                        Event::Excursion {
                            job: job.clone(),
                            step: idx,
                            id: 1,
                            channel: w.channel.clone(),
                            window_min_c: w.min_c,
                            window_max_c: w.max_c,
                            peak_c: peak,
                            started: begin + Duration::seconds(20),
                            ended: Some(begin + Duration::seconds(24)),
                        },
                    )
                    .unwrap();
                store
                    .append_at(
                        at(30),
                        TECH.0,
                        Event::ExcursionAcknowledged {
                            job: job.clone(),
                            step: idx,
                            id: 1,
                            comment: "nozzle height corrected; joint within profile".into(),
                        },
                    )
                    .unwrap();
            }
            temperature.push(ChannelSummary {
                channel: w.channel.clone(),
                count: samples.len() as u64,
                min_c: low,
                max_c: peak,
                mean_c: temps.iter().sum::<f64>() / temps.len() as f64,
                peak_c: peak,
                above_liquidus_s: temps.iter().filter(|c| **c > alloy.liquidus_c).count() as f64,
                window_min_c: Some(w.min_c),
                window_max_c: Some(w.max_c),
                excursions: u32::from(overshoot),
            });
        }

        for (c, cp) in step.checkpoints.iter().enumerate() {
            let (badge, name, meaning) = match cp.signer {
                Signer::Technician => (TECH.0, TECH.1, Meaning::Performed),
                Signer::Inspector => (INSPECTOR.0, INSPECTOR.1, Meaning::Inspected),
            };
            let (result, measurement) = match cp.kind.get_ref() {
                CheckpointKind::Confirm => (CheckResult::Confirmed, None),
                CheckpointKind::PassFail => (CheckResult::Pass, None),
                CheckpointKind::Measurement => {
                    let lo = cp.min.as_ref().map(|m| *m.get_ref()).unwrap_or(0.0);
                    let hi = cp.max.unwrap_or(lo + 1.0);
                    (
                        CheckResult::Pass,
                        Some(Measurement {
                            value: lo + (hi - lo) * 0.25,
                            unit: cp.unit.clone().unwrap_or_default(),
                        }),
                    )
                }
            };
            store
                .append_at(
                    at(15),
                    badge,
                    Event::CheckpointSigned {
                        job: job.clone(),
                        step: idx,
                        checkpoint: c as u32,
                        signer: badge.into(),
                        signer_name: name.into(),
                        meaning,
                        result,
                        measurement,
                        comment: (c == 0).then(|| "as per instruction".to_string()),
                        recorded: None,
                    },
                )
                .unwrap();
        }
        let d = store.samples_digest(s.id, idx).unwrap();
        store
            .append_at(
                at(5),
                TECH.0,
                Event::StepCompleted {
                    job,
                    step: idx,
                    temperature,
                    sample_count: d.count,
                    samples_digest: d.sha256,
                    attempt: 0,
                },
            )
            .unwrap();
    }
    match s.outcome {
        Outcome::Approved => {
            store
                .append_at(at(60), TECH.0, Event::JobSubmitted { job: s.id.into() })
                .unwrap();
            store
                .append_at(
                    at(600),
                    SUPERVISOR.0,
                    Event::JobReviewed {
                        job: s.id.into(),
                        decision: Decision::Approved,
                        reviewer: SUPERVISOR.0.into(),
                        reviewer_name: SUPERVISOR.1.into(),
                        comment: "record complete".into(),
                    },
                )
                .unwrap();
        }
        Outcome::Aborted(_) => {
            store
                .append_at(
                    at(60),
                    TECH.0,
                    Event::JobAborted {
                        job: s.id.into(),
                        reason: "board scrapped: lifted land".into(),
                    },
                )
                .unwrap();
        }
        Outcome::InProgress(_) => {}
    }
    sampled
}

/// Three jobs on two boards, sharing one flux lot between two of them:
/// - J-TH-1 on SN-100, through-hole rework of J3, approved;
/// - J-BGA-1 on SN-200, BGA rework of U7 with one temperature alarm, approved;
/// - J-TH-2 on SN-100 again, J3 once more, three steps done, still in progress.
///
/// Returns the number of steps with samples per job, in that order.
pub fn demo_store(store: &Store, lib: &Library) -> Vec<usize> {
    enrol(store);
    let day = Duration::days(1);
    vec![
        run_job(
            store,
            lib,
            &JobScript {
                id: "J-TH-1",
                serial: "SN-100",
                instruction: "WI-TH-001",
                refdes: &["J3"],
                lots: &[("solder", "LOT-SOLDER-A"), ("flux", "LOT-FLUX-1")],
                excursion_step: None,
                outcome: Outcome::Approved,
                start: t0(),
            },
        ),
        run_job(
            store,
            lib,
            &JobScript {
                id: "J-BGA-1",
                serial: "SN-200",
                instruction: "WI-BGA-001",
                refdes: &["U7"],
                lots: &[("flux", "LOT-FLUX-1"), ("spheres", "LOT-SPH-3")],
                excursion_step: Some(3),
                outcome: Outcome::Approved,
                start: t0() + day,
            },
        ),
        run_job(
            store,
            lib,
            &JobScript {
                id: "J-TH-2",
                serial: "SN-100",
                instruction: "WI-TH-001",
                refdes: &["J3"],
                lots: &[("solder", "LOT-SOLDER-B"), ("flux", "LOT-FLUX-2")],
                excursion_step: None,
                outcome: Outcome::InProgress(3),
                start: t0() + day * 3,
            },
        ),
    ]
}
