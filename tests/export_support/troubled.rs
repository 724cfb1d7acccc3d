//! A BGA job with everything a reviewer must see: a second station channel without a
//! window, a deviation signed for a window never reached, an alarm acknowledged late,
//! a failed checkpoint with its reason and the redo (a second attempt with its own
//! samples), an out-of-limit measurement and its redo, a refused lot, a suspension
//! overnight, a rejection and the approval after it. Fixed times, so reports are
//! reproducible.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use traveler::domain::event::{
    ChannelSummary, DeviationKind, Event, LotRefusal, Measurement, SYSTEM_ACTOR,
};
use traveler::domain::job::sample_stream;
use traveler::domain::types::{CheckResult, Decision, Meaning, ProductClass};
use traveler::instruction::Library;
use traveler::instruction::schema::{CheckpointKind, Signer};
use traveler::store::{Store, StoredSample};

use super::{INSPECTOR, SUPERVISOR, TECH};

pub const TROUBLED: &str = "J-BGA-9";
pub const FAIL_REASON: &str = "land 2 lifted at U7 corner";
pub const REDO_REASON: &str = "land re-bonded per IPC-7721 4.3.1; clean again";
pub const COPLANARITY_REDO: &str = "spheres re-seated; reflowed in the fixture again";
pub const DEVIATION_REASON: &str = "bottom heater limited to 140 °C by the board's tantalums";
pub const SUSPEND_REASON: &str = "end of shift; board in dry cabinet D2";
pub const RESUME_REASON: &str = "floor life checked after the dry cabinet";
pub const REJECT_REASON: &str = "C5 fillet photo missing; redo step 6";
pub const APPROVAL_COMMENT: &str = "photo attached; record complete";
pub const ACK_COMMENT: &str = "nozzle height corrected";
pub const REFUSED_LOT: &str = "LOT-FLUX-OLD";

pub fn troubled_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 7, 30, 0).unwrap()
}

/// What a checkpoint gets in one attempt.
#[derive(Clone, Copy)]
enum Outcome {
    Good,
    /// A pass/fail checkpoint failed, with this reason.
    Fail(&'static str),
    /// A measurement of this value, failed as out of its limits.
    OutOfLimit(f64),
}

struct Run<'a> {
    store: &'a Store,
    job: String,
    t: DateTime<Utc>,
}

impl Run<'_> {
    fn at(&mut self, secs: i64) -> DateTime<Utc> {
        self.t += Duration::seconds(secs);
        self.t
    }

    fn put(&mut self, secs: i64, actor: &str, e: Event) {
        let t = self.at(secs);
        self.store.append_at(t, actor, e).unwrap();
    }
}

/// Appends the troubled job (the roster must be enrolled). Returns its id.
pub fn troubled_job(store: &Store, lib: &Library) -> &'static str {
    let ins = lib.instruction("WI-BGA-001").expect("instruction");
    let alloy = lib.alloy("SAC305").expect("alloy");
    let mut r = Run {
        store,
        job: TROUBLED.to_string(),
        t: troubled_start(),
    };
    let job = r.job.clone();
    r.put(
        0,
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
            procedures: ins.procedure_refs().iter().map(|p| p.to_string()).collect(),
        },
    );
    for (i, step) in ins.spec.steps.iter().enumerate() {
        let idx = i as u32;
        // (attempt, outcome of its measurement / pass-fail checkpoints)
        let attempts: Vec<Outcome> = match i {
            4 => vec![Outcome::Fail(FAIL_REASON), Outcome::Good],
            5 => vec![Outcome::OutOfLimit(0.18), Outcome::Good],
            _ => vec![Outcome::Good],
        };
        for (a, outcome) in attempts.iter().enumerate() {
            let attempt = a as u32 + 1;
            if attempt > 1 {
                let reason = if i == 4 {
                    REDO_REASON
                } else {
                    COPLANARITY_REDO
                };
                r.put(
                    60,
                    TECH.0,
                    Event::StepRedone {
                        job: job.clone(),
                        step: idx,
                        reason: reason.into(),
                    },
                );
            }
            r.put(
                20,
                TECH.0,
                Event::StepStarted {
                    job: job.clone(),
                    step: idx,
                },
            );
            for m in &step.materials {
                let id = m.get_ref();
                if !ins
                    .spec
                    .materials
                    .iter()
                    .any(|x| x.id.get_ref() == id && x.capture_lot)
                {
                    continue;
                }
                if i == 6 && id == "flux" && attempt == 1 {
                    // An expired flux lot is scanned first and refused.
                    r.put(
                        5,
                        TECH.0,
                        Event::LotRefused {
                            job: job.clone(),
                            step: idx,
                            material: id.clone(),
                            lot: REFUSED_LOT.into(),
                            expiry: NaiveDate::from_ymd_opt(2026, 1, 31),
                            gtin: None,
                            raw_scan: format!("(10){REFUSED_LOT}(17)260131"),
                            reason: LotRefusal::Expired {
                                on: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
                            },
                        },
                    );
                }
                let lot = format!("LOT-{}-9", id.to_uppercase());
                r.put(
                    5,
                    TECH.0,
                    Event::LotRecorded {
                        job: job.clone(),
                        step: idx,
                        material: id.clone(),
                        lot: lot.clone(),
                        expiry: NaiveDate::from_ymd_opt(2027, 1, 31),
                        gtin: None,
                        raw_scan: format!("(10){lot}"),
                    },
                );
            }
            let stream = sample_stream(idx, attempt);
            let mut temperature = Vec::new();
            if let Some(w) = ins.step_window(i, Some(alloy)) {
                let begin = r.at(1);
                // Step 3's preheat stops short of its window: a signed deviation.
                let target = if i == 2 {
                    140.0
                } else {
                    (w.min_c + w.max_c) / 2.0
                };
                let overshoot = i == 3;
                let other = if w.channel == "preheat" {
                    "board"
                } else {
                    "preheat"
                };
                let mut samples = Vec::new();
                for k in 0..90i64 {
                    // A ramp from 25 °C towards the target, then a hold with a wobble.
                    let ramp = (k as f64 / 30.0).min(1.0);
                    let wobble = ((k * 7) % 5) as f64 * 0.5 - 1.0;
                    let mut c = 25.0 + (target - 25.0) * ramp + wobble * ramp;
                    if overshoot && (50..56).contains(&k) {
                        c = w.max_c + 4.0 + k as f64 * 0.05;
                    }
                    samples.push(StoredSample {
                        channel: w.channel.clone(),
                        time: begin + Duration::seconds(k),
                        celsius: c,
                    });
                    // A second channel the station reports, without a window here.
                    samples.push(StoredSample {
                        channel: other.into(),
                        time: begin + Duration::seconds(k) + Duration::milliseconds(500),
                        celsius: 25.0 + 60.0 * ramp,
                    });
                }
                store.append_samples(&job, stream, &samples).unwrap();
                r.at(90);
                if overshoot {
                    r.put(
                        1,
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
                    // Acknowledged twelve minutes after it began: late.
                    r.put(
                        12 * 60,
                        TECH.0,
                        Event::ExcursionAcknowledged {
                            job: job.clone(),
                            step: idx,
                            id: 1,
                            comment: ACK_COMMENT.into(),
                        },
                    );
                }
                for ch in [w.channel.as_str(), other] {
                    let temps: Vec<f64> = samples
                        .iter()
                        .filter(|s| s.channel == ch)
                        .map(|s| s.celsius)
                        .collect();
                    let peak = temps.iter().cloned().fold(f64::MIN, f64::max);
                    let windowed = ch == w.channel;
                    temperature.push(ChannelSummary {
                        channel: ch.into(),
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
                let (result, measurement, comment) = match (cp.kind.get_ref(), *outcome) {
                    (CheckpointKind::Confirm, _) => (CheckResult::Confirmed, None, None),
                    (CheckpointKind::PassFail, Outcome::Fail(why)) => {
                        (CheckResult::Fail, None, Some(why.to_string()))
                    }
                    (CheckpointKind::PassFail, _) => (CheckResult::Pass, None, None),
                    (CheckpointKind::Measurement, o) => {
                        let lo = cp.min.as_ref().map(|m| *m.get_ref()).unwrap_or(0.0);
                        let hi = cp.max.unwrap_or(lo + 1.0);
                        let (value, result, comment) = match o {
                            Outcome::OutOfLimit(v) => {
                                (v, CheckResult::Fail, Some("above the 0.15 mm limit".into()))
                            }
                            _ => ((lo + hi) * 0.5, CheckResult::Pass, None),
                        };
                        (
                            result,
                            Some(Measurement {
                                value,
                                unit: cp.unit.clone().unwrap_or_default(),
                            }),
                            comment,
                        )
                    }
                };
                let failed = result == CheckResult::Fail;
                r.put(
                    15,
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
                        comment,
                        recorded: None,
                    },
                );
                if failed {
                    break;
                }
            }
            if matches!(outcome, Outcome::Good) {
                if i == 2 {
                    r.put(
                        10,
                        TECH.0,
                        Event::Deviated {
                            job: job.clone(),
                            step: idx,
                            attempt,
                            kind: DeviationKind::WindowNeverReached,
                            reason: DEVIATION_REASON.into(),
                            by: TECH.0.into(),
                            by_name: TECH.1.into(),
                        },
                    );
                }
                let d = store.samples_digest(&job, stream).unwrap();
                r.put(
                    5,
                    TECH.0,
                    Event::StepCompleted {
                        job: job.clone(),
                        step: idx,
                        temperature,
                        sample_count: d.count,
                        samples_digest: d.sha256,
                        attempt,
                    },
                );
            }
        }
        if i == 5 {
            r.put(
                30,
                TECH.0,
                Event::JobSuspended {
                    job: job.clone(),
                    reason: SUSPEND_REASON.into(),
                },
            );
            r.put(
                14 * 3600,
                TECH.0,
                Event::JobResumed {
                    job: job.clone(),
                    reason: RESUME_REASON.into(),
                },
            );
        }
    }
    r.put(60, TECH.0, Event::JobSubmitted { job: job.clone() });
    r.put(
        600,
        SUPERVISOR.0,
        Event::JobReviewed {
            job: job.clone(),
            decision: Decision::Rejected,
            reviewer: SUPERVISOR.0.into(),
            reviewer_name: SUPERVISOR.1.into(),
            comment: REJECT_REASON.into(),
        },
    );
    r.put(1200, TECH.0, Event::JobSubmitted { job: job.clone() });
    r.put(
        600,
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
