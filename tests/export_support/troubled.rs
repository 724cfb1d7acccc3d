//! A BGA job with everything a reviewer must see: a second station channel without a
//! window, an alarm acknowledged late, a failed checkpoint with its reason, the redo
//! and its reason, a suspension overnight, an out-of-limit measurement, a rejection
//! and the approval after it. Fixed times, so reports are reproducible.

use chrono::{DateTime, Duration, TimeZone, Utc};
use traveler::domain::event::{ChannelSummary, Event, Measurement, SYSTEM_ACTOR};
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass};
use traveler::instruction::Library;
use traveler::instruction::schema::{CheckpointKind, Signer};
use traveler::store::{Store, StoredSample};

use super::{INSPECTOR, SUPERVISOR, TECH};

pub const TROUBLED: &str = "J-BGA-9";
pub const FAIL_REASON: &str = "land 2 lifted at U7 corner";
pub const REDO_REASON: &str = "land re-bonded per IPC-7721 4.3.1; clean again";
pub const SUSPEND_REASON: &str = "end of shift; board in dry cabinet D2";
pub const REJECT_REASON: &str = "C5 fillet photo missing; redo step 6";
pub const APPROVAL_COMMENT: &str = "coplanarity accepted under MRB-2026-114";
pub const ACK_COMMENT: &str = "nozzle height corrected";

pub fn troubled_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 7, 30, 0).unwrap()
}

/// Appends the troubled job (the roster must be enrolled). Returns its id.
pub fn troubled_job(store: &Store, lib: &Library) -> &'static str {
    let ins = lib.instruction("WI-BGA-001").expect("instruction");
    let alloy = lib.alloy("SAC305").expect("alloy");
    let job = TROUBLED.to_string();
    let mut t = troubled_start();
    let mut at = |secs: i64| {
        t += Duration::seconds(secs);
        t
    };
    let put = |time: DateTime<Utc>, actor: &str, e: Event| {
        store.append_at(time, actor, e).unwrap();
    };
    put(
        at(0),
        TECH.0,
        Event::JobStarted {
            job: job.clone(),
            board_serial: "SN-300".into(),
            assembly_part: "PCA-7731".into(),
            assembly_rev: "D".into(),
            refdes: vec!["U7".into()],
            defect_ref: "NCR-2026-0311".into(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: ins.id().into(),
            instruction_rev: ins.revision().into(),
            instruction_hash: ins.hash.clone(),
            step_count: ins.spec.steps.len() as u32,
            approval_ref: None,
            bench: "bench-2".into(),
            performer: TECH.0.into(),
        },
    );
    for (i, step) in ins.spec.steps.iter().enumerate() {
        let idx = i as u32;
        put(
            at(20),
            TECH.0,
            Event::StepStarted {
                job: job.clone(),
                step: idx,
            },
        );
        for m in &step.materials {
            let id = m.get_ref();
            if ins
                .spec
                .materials
                .iter()
                .any(|x| x.id.get_ref() == id && x.capture_lot)
            {
                let lot = format!("LOT-{}-9", id.to_uppercase());
                put(
                    at(5),
                    TECH.0,
                    Event::LotRecorded {
                        job: job.clone(),
                        step: idx,
                        material: id.clone(),
                        lot: lot.clone(),
                        expiry: Some(chrono::NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()),
                        gtin: None,
                        raw_scan: format!("(10){lot}"),
                    },
                );
            }
        }
        let mut temperature = Vec::new();
        if let Some(w) = ins.step_window(i, Some(alloy)) {
            let begin = at(1);
            let mid = (w.min_c + w.max_c) / 2.0;
            let overshoot = i == 3;
            let mut samples = Vec::new();
            for k in 0..90i64 {
                // A ramp from 25 °C into the window, then a hold with a wobble.
                let ramp = (k as f64 / 30.0).min(1.0);
                let wobble = ((k * 7) % 5) as f64 * 0.5 - 1.0;
                let mut c = 25.0 + (mid - 25.0) * ramp + wobble * ramp;
                if overshoot && (50..56).contains(&k) {
                    c = w.max_c + 4.0 + k as f64 * 0.05;
                }
                samples.push(StoredSample {
                    channel: w.channel.clone(),
                    time: begin + Duration::seconds(k),
                    celsius: c,
                });
                // A second channel the station reports, without a window here.
                let other = if w.channel == "preheat" {
                    "board"
                } else {
                    "preheat"
                };
                samples.push(StoredSample {
                    channel: other.into(),
                    time: begin + Duration::seconds(k) + Duration::milliseconds(500),
                    celsius: 25.0 + 60.0 * ramp,
                });
            }
            store.append_samples(&job, idx, &samples).unwrap();
            at(90);
            if overshoot {
                put(
                    at(1),
                    SYSTEM_ACTOR,
                    Event::Excursion {
                        job: job.clone(),
                        step: idx,
                        id: 1,
                        channel: w.channel.clone(),
                        window_min_c: w.min_c,
                        window_max_c: w.max_c,
                        peak_c: w.max_c + 4.0 + 55.0 * 0.05,
                        started: begin + Duration::seconds(50),
                        ended: Some(begin + Duration::seconds(56)),
                    },
                );
                // Acknowledged eight minutes later.
                put(
                    at(480),
                    TECH.0,
                    Event::ExcursionAcknowledged {
                        job: job.clone(),
                        step: idx,
                        id: 1,
                        comment: ACK_COMMENT.into(),
                    },
                );
            }
            let mut channels: Vec<String> = Vec::new();
            for s in &samples {
                if !channels.contains(&s.channel) {
                    channels.push(s.channel.clone());
                }
            }
            for ch in channels {
                let temps: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.channel == ch)
                    .map(|s| s.celsius)
                    .collect();
                let peak = temps.iter().cloned().fold(f64::MIN, f64::max);
                let windowed = ch == w.channel;
                temperature.push(ChannelSummary {
                    channel: ch,
                    count: temps.len() as u64,
                    min_c: temps.iter().cloned().fold(f64::MAX, f64::min),
                    max_c: peak,
                    mean_c: temps.iter().sum::<f64>() / temps.len() as f64,
                    peak_c: peak,
                    above_liquidus_s: temps.iter().filter(|c| **c > alloy.liquidus_c).count()
                        as f64,
                    window_min_c: windowed.then_some(w.min_c),
                    window_max_c: windowed.then_some(w.max_c),
                    excursions: u32::from(windowed && overshoot),
                });
            }
        }
        for (c, cp) in step.checkpoints.iter().enumerate() {
            let (badge, name, meaning) = match cp.signer {
                Signer::Technician => (TECH.0, TECH.1, Meaning::Performed),
                Signer::Inspector => (INSPECTOR.0, INSPECTOR.1, Meaning::Inspected),
            };
            let sign = |result, measurement, comment: Option<&str>| Event::CheckpointSigned {
                job: job.clone(),
                step: idx,
                checkpoint: c as u32,
                signer: badge.into(),
                signer_name: name.into(),
                meaning,
                result,
                measurement,
                comment: comment.map(str::to_string),
            };
            match cp.kind.get_ref() {
                CheckpointKind::Confirm => {
                    put(at(15), badge, sign(CheckResult::Confirmed, None, None));
                }
                CheckpointKind::PassFail if i == 4 => {
                    // Step 5: the land check fails, the step is redone, then passes.
                    put(
                        at(15),
                        badge,
                        sign(CheckResult::Fail, None, Some(FAIL_REASON)),
                    );
                    put(
                        at(60),
                        TECH.0,
                        Event::StepRedone {
                            job: job.clone(),
                            step: idx,
                            reason: REDO_REASON.into(),
                        },
                    );
                    put(
                        at(900),
                        badge,
                        sign(CheckResult::Pass, None, Some("all lands flat")),
                    );
                }
                CheckpointKind::PassFail => {
                    put(at(15), badge, sign(CheckResult::Pass, None, None));
                }
                CheckpointKind::Measurement => {
                    let lo = cp.min.as_ref().map(|m| *m.get_ref()).unwrap_or(0.0);
                    let hi = cp.max.unwrap_or(lo + 1.0);
                    // Step 6's coplanarity is out of its limit (0.15 mm).
                    let value = if i == 5 { 0.18 } else { lo + (hi - lo) * 0.5 };
                    put(
                        at(15),
                        badge,
                        sign(
                            CheckResult::Pass,
                            Some(Measurement {
                                value,
                                unit: cp.unit.clone().unwrap_or_default(),
                            }),
                            (i == 5).then_some("MRB asked for"),
                        ),
                    );
                }
            }
        }
        let d = store.samples_digest(&job, idx).unwrap();
        put(
            at(5),
            TECH.0,
            Event::StepCompleted {
                job: job.clone(),
                step: idx,
                temperature,
                sample_count: d.count,
                samples_digest: d.sha256,
            },
        );
        if i == 5 {
            put(
                at(30),
                TECH.0,
                Event::JobSuspended {
                    job: job.clone(),
                    reason: SUSPEND_REASON.into(),
                },
            );
            put(
                at(14 * 3600),
                TECH.0,
                Event::JobResumed { job: job.clone() },
            );
        }
    }
    put(at(60), TECH.0, Event::JobSubmitted { job: job.clone() });
    put(
        at(600),
        SUPERVISOR.0,
        Event::JobReviewed {
            job: job.clone(),
            decision: Decision::Rejected,
            reviewer: SUPERVISOR.0.into(),
            reviewer_name: SUPERVISOR.1.into(),
            comment: REJECT_REASON.into(),
        },
    );
    put(at(1200), TECH.0, Event::JobSubmitted { job: job.clone() });
    put(
        at(600),
        SUPERVISOR.0,
        Event::JobReviewed {
            job,
            decision: Decision::Approved,
            reviewer: SUPERVISOR.0.into(),
            reviewer_name: SUPERVISOR.1.into(),
            comment: APPROVAL_COMMENT.into(),
        },
    );
    TROUBLED
}
