//! What a reviewer must see before deciding: everything in a job that went
//! otherwise than planned, in time order. The review screen, the HTML report, CSV
//! and CFX all read this one function, so they can never disagree.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::job::Job;

/// An alarm acknowledged later than this after it started is flagged as late.
pub const LATE_ACKNOWLEDGEMENT: Duration = Duration::minutes(10);

#[derive(Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A checkpoint signed as failed.
    FailedCheckpoint,
    /// A step done again (after a failed checkpoint or a rejection).
    Redo,
    /// A step completed outside its temperature window, signed with a reason.
    Deviation,
    UnacknowledgedAlarm,
    LateAcknowledgement,
    LotRefused,
    /// The same lot code seen with different expiries.
    LotExpiryConflict,
    /// A measurement outside the checkpoint's limits.
    OutOfLimitMeasurement,
    /// A typed value that differs from the station's recorded figure beyond tolerance.
    MeasurementDiffersFromRecord,
    Suspended,
}

impl FlagKind {
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::FailedCheckpoint => "failed checkpoint",
            FlagKind::Redo => "redo",
            FlagKind::Deviation => "deviation",
            FlagKind::UnacknowledgedAlarm => "alarm not acknowledged",
            FlagKind::LateAcknowledgement => "alarm acknowledged late",
            FlagKind::LotRefused => "lot refused",
            FlagKind::LotExpiryConflict => "lot with two expiries",
            FlagKind::OutOfLimitMeasurement => "measurement out of limits",
            FlagKind::MeasurementDiffersFromRecord => "measurement differs from recorded data",
            FlagKind::Suspended => "suspended",
        }
    }
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Flag {
    pub kind: FlagKind,
    pub time: DateTime<Utc>,
    /// 0-based step, when the flag belongs to one (print `step + 1`).
    pub step: Option<u32>,
    pub attempt: Option<u32>,
    /// Who did it (badge).
    pub by: String,
    /// In words, step numbers 1-based.
    pub text: String,
}

#[derive(Serialize, Clone, PartialEq, Debug, Default)]
pub struct DeviationSummary {
    /// In time order.
    pub flags: Vec<Flag>,
}

impl DeviationSummary {
    pub fn is_clean(&self) -> bool {
        self.flags.is_empty()
    }

    pub fn count(&self, kind: FlagKind) -> usize {
        self.flags.iter().filter(|f| f.kind == kind).count()
    }

    /// "2 failed checkpoint, 1 redo, …" for a one-line heading; "none" when clean.
    pub fn headline(&self) -> String {
        let mut kinds: Vec<FlagKind> = self.flags.iter().map(|f| f.kind).collect();
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            return "none".into();
        }
        kinds
            .iter()
            .map(|k| format!("{} {}", self.count(*k), k.label()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything in the job a reviewer must weigh, in time order.
pub fn deviations_summary(job: &Job) -> DeviationSummary {
    let mut flags = Vec::new();
    for s in &job.history {
        let cp = format!("checkpoint {}.{}", s.step + 1, s.checkpoint + 1);
        if s.result.is_failure() {
            let kind = if s.measurement.is_some() {
                FlagKind::OutOfLimitMeasurement
            } else {
                FlagKind::FailedCheckpoint
            };
            let value = s
                .measurement
                .as_ref()
                .map(|m| format!(" ({} {})", m.value, m.unit))
                .unwrap_or_default();
            flags.push(Flag {
                kind,
                time: s.time,
                step: Some(s.step),
                attempt: Some(s.attempt),
                by: s.signer.clone(),
                text: format!(
                    "{cp} failed{value} (attempt {}): {}",
                    s.attempt,
                    s.comment.as_deref().unwrap_or("no comment")
                ),
            });
        }
        if s.differs_from_record()
            && let (Some(r), Some(m)) = (&s.recorded, &s.measurement)
        {
            flags.push(Flag {
                kind: FlagKind::MeasurementDiffersFromRecord,
                time: s.time,
                step: Some(s.step),
                attempt: Some(s.attempt),
                by: s.signer.clone(),
                text: format!(
                    "{cp}: typed {} {} but the station recorded {} ({}, tolerance {}): {}",
                    m.value,
                    m.unit,
                    r.value,
                    r.metric,
                    r.tolerance,
                    s.comment.as_deref().unwrap_or("no comment")
                ),
            });
        }
    }
    for (i, step) in job.steps.iter().enumerate() {
        for a in step.attempt_log.iter().filter(|a| a.number > 1) {
            let time = job
                .timeline
                .iter()
                .filter(|h| h.kind == "step_redone" && h.step == Some(i as u32))
                .nth(a.number as usize - 2)
                .map_or(job.started, |h| h.time);
            flags.push(Flag {
                kind: FlagKind::Redo,
                time,
                step: Some(i as u32),
                attempt: Some(a.number),
                by: a.opened_by.clone().unwrap_or_default(),
                text: format!(
                    "step {} redone (attempt {}): {}",
                    i + 1,
                    a.number,
                    a.reason.as_deref().unwrap_or("")
                ),
            });
        }
    }
    for d in &job.deviations {
        flags.push(Flag {
            kind: FlagKind::Deviation,
            time: d.time,
            step: Some(d.step),
            attempt: Some(d.attempt),
            by: d.by.clone(),
            text: format!(
                "step {} (attempt {}): {} — {} (signed by {})",
                d.step + 1,
                d.attempt,
                d.kind,
                d.reason,
                d.by_name
            ),
        });
    }
    for e in &job.excursions {
        let what = format!(
            "alarm {} on step {}: {} peaked at {:.1} °C (window {:.0}–{:.0} °C)",
            e.id,
            e.step + 1,
            e.channel,
            e.peak_c,
            e.window_min_c,
            e.window_max_c
        );
        match (&e.acknowledgement, e.acknowledged_at) {
            (None, _) => flags.push(Flag {
                kind: FlagKind::UnacknowledgedAlarm,
                time: e.started,
                step: Some(e.step),
                attempt: Some(e.attempt),
                by: String::new(),
                text: format!("{what}, never acknowledged"),
            }),
            (Some(c), Some(at)) if at - e.started > LATE_ACKNOWLEDGEMENT => flags.push(Flag {
                kind: FlagKind::LateAcknowledgement,
                time: at,
                step: Some(e.step),
                attempt: Some(e.attempt),
                by: e.acknowledged_by.clone().unwrap_or_default(),
                text: format!(
                    "{what}, acknowledged {} min after it started: {c}",
                    (at - e.started).num_minutes()
                ),
            }),
            _ => {}
        }
    }
    for r in &job.lot_refusals {
        flags.push(Flag {
            kind: FlagKind::LotRefused,
            time: r.time,
            step: Some(r.step),
            attempt: None,
            by: r.by.clone(),
            text: format!(
                "lot {} of {} refused on step {}: {}",
                r.lot,
                r.material,
                r.step + 1,
                r.reason
            ),
        });
    }
    let mut lots: Vec<&str> = job
        .lots
        .iter()
        .map(|l| l.lot.as_str())
        .chain(job.lot_refusals.iter().map(|l| l.lot.as_str()))
        .collect();
    lots.sort_unstable();
    lots.dedup();
    for lot in lots {
        let seen = job.expiries_seen(lot);
        if seen.len() > 1 {
            let time = job
                .lots
                .iter()
                .filter(|l| l.lot == lot)
                .map(|l| l.time)
                .chain(
                    job.lot_refusals
                        .iter()
                        .filter(|l| l.lot == lot)
                        .map(|l| l.time),
                )
                .max()
                .unwrap_or(job.started);
            let dates: Vec<String> = seen
                .iter()
                .map(|d| d.map_or("none".to_string(), |d| d.to_string()))
                .collect();
            flags.push(Flag {
                kind: FlagKind::LotExpiryConflict,
                time,
                step: None,
                attempt: None,
                by: String::new(),
                text: format!("lot {lot} seen with expiries {}", dates.join(" and ")),
            });
        }
    }
    for s in &job.suspensions {
        let resumed = match (&s.resumed, &s.resume_reason) {
            (Some(t), Some(r)) => format!("; resumed {} UTC: {r}", t.format("%Y-%m-%d %H:%M")),
            (Some(t), None) => format!("; resumed {} UTC", t.format("%Y-%m-%d %H:%M")),
            _ => String::new(),
        };
        flags.push(Flag {
            kind: FlagKind::Suspended,
            time: s.time,
            step: None,
            attempt: None,
            by: s.by.clone(),
            text: format!("suspended: {}{resumed}", s.reason),
        });
    }
    flags.sort_by(|a, b| a.time.cmp(&b.time).then(a.kind.cmp(&b.kind)));
    DeviationSummary { flags }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{
        DeviationKind, Event, LotRefusal, Measurement, Record, RecordedFigure,
    };
    use crate::domain::types::{CheckResult, Meaning, ProductClass};
    use chrono::{NaiveDate, TimeZone};

    fn rec(seq: u64, minute: u32, event: Event) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: Utc.with_ymd_and_hms(2026, 11, 23, 10, minute, 0).unwrap(),
            actor: "T1".into(),
            event,
        }
    }

    fn job(events: Vec<(u32, Event)>) -> Job {
        let mut recs = vec![rec(
            0,
            0,
            Event::JobStarted {
                job: "J1".into(),
                board_serial: "SN1".into(),
                assembly_part: "PN".into(),
                assembly_rev: "A".into(),
                refdes: vec!["U7".into()],
                defect_ref: "NCR-1".into(),
                class: ProductClass::Class3,
                alloy: "SAC305".into(),
                instruction_id: "WI".into(),
                instruction_rev: "A".into(),
                instruction_hash: "h".into(),
                step_count: 2,
                approval_ref: None,
                bench: "B1".into(),
                performer: "T1".into(),
                procedures: vec!["7711 3.3.2".into()],
            },
        )];
        for (i, (minute, e)) in events.into_iter().enumerate() {
            recs.push(rec(i as u64 + 1, minute, e));
        }
        Job::fold(&recs).unwrap()
    }

    fn signed(result: CheckResult, value: Option<f64>, recorded: Option<f64>) -> Event {
        Event::CheckpointSigned {
            job: "J1".into(),
            step: 0,
            checkpoint: 0,
            signer: "T1".into(),
            signer_name: "T".into(),
            meaning: Meaning::Performed,
            result,
            measurement: value.map(|value| Measurement {
                value,
                unit: "s".into(),
            }),
            comment: Some("land 2 lifted".into()),
            recorded: recorded.map(|value| RecordedFigure {
                metric: "above_liquidus_s".into(),
                value,
                tolerance: 5.0,
            }),
        }
    }

    fn excursion(minute: u32) -> Event {
        Event::Excursion {
            job: "J1".into(),
            step: 0,
            id: 1,
            channel: "tip".into(),
            window_min_c: 300.0,
            window_max_c: 350.0,
            peak_c: 361.0,
            started: Utc.with_ymd_and_hms(2026, 11, 23, 10, minute, 0).unwrap(),
            ended: None,
        }
    }

    fn ack() -> Event {
        Event::ExcursionAcknowledged {
            job: "J1".into(),
            step: 0,
            id: 1,
            comment: "tip cleaned".into(),
        }
    }

    fn lot(expiry: Option<NaiveDate>) -> Event {
        Event::LotRecorded {
            job: "J1".into(),
            step: 0,
            material: "flux".into(),
            lot: "L1".into(),
            expiry,
            gtin: None,
            raw_scan: "L1".into(),
        }
    }

    #[test]
    fn each_kind_of_deviation_is_flagged_once() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1);
        type Case = (&'static str, Vec<(u32, Event)>, Vec<FlagKind>);
        let cases: Vec<Case> = vec![
            (
                "nothing unusual",
                vec![(1, signed(CheckResult::Pass, None, None))],
                vec![],
            ),
            (
                "failed pass/fail",
                vec![(1, signed(CheckResult::Fail, None, None))],
                vec![FlagKind::FailedCheckpoint],
            ),
            (
                "measurement out of limits",
                vec![(1, signed(CheckResult::Fail, Some(3.0), None))],
                vec![FlagKind::OutOfLimitMeasurement],
            ),
            (
                "typed value differs from the record",
                vec![(1, signed(CheckResult::Pass, Some(62.0), Some(14.0)))],
                vec![FlagKind::MeasurementDiffersFromRecord],
            ),
            (
                "typed value within tolerance",
                vec![(1, signed(CheckResult::Pass, Some(16.0), Some(14.0)))],
                vec![],
            ),
            (
                "redo",
                vec![
                    (1, signed(CheckResult::Fail, None, None)),
                    (
                        2,
                        Event::StepRedone {
                            job: "J1".into(),
                            step: 0,
                            reason: "reflow again".into(),
                        },
                    ),
                ],
                vec![FlagKind::FailedCheckpoint, FlagKind::Redo],
            ),
            (
                "deviation",
                vec![(
                    3,
                    Event::Deviated {
                        job: "J1".into(),
                        step: 0,
                        attempt: 1,
                        kind: DeviationKind::WindowNeverReached,
                        reason: "heater fault".into(),
                        by: "T1".into(),
                        by_name: "T".into(),
                    },
                )],
                vec![FlagKind::Deviation],
            ),
            (
                "alarm never acknowledged",
                vec![(1, excursion(1))],
                vec![FlagKind::UnacknowledgedAlarm],
            ),
            (
                "alarm acknowledged at once",
                vec![(1, excursion(1)), (2, ack())],
                vec![],
            ),
            (
                "alarm acknowledged late",
                vec![(1, excursion(1)), (30, ack())],
                vec![FlagKind::LateAcknowledgement],
            ),
            (
                "lot refused",
                vec![
                    (
                        1,
                        Event::LotRefused {
                            job: "J1".into(),
                            step: 0,
                            material: "flux".into(),
                            lot: "L1".into(),
                            expiry: d(2020, 1),
                            gtin: None,
                            raw_scan: "L1".into(),
                            reason: LotRefusal::Expired {
                                on: d(2020, 1).unwrap(),
                            },
                        },
                    ),
                    (2, lot(d(2030, 1))),
                ],
                vec![FlagKind::LotRefused, FlagKind::LotExpiryConflict],
            ),
            (
                "same lot, same expiry",
                vec![(1, lot(d(2030, 1))), (2, lot(d(2030, 1)))],
                vec![],
            ),
            (
                "suspended",
                vec![(
                    1,
                    Event::JobSuspended {
                        job: "J1".into(),
                        reason: "shift end".into(),
                    },
                )],
                vec![FlagKind::Suspended],
            ),
        ];
        for (name, events, want) in cases {
            let summary = deviations_summary(&job(events));
            let got: Vec<FlagKind> = summary.flags.iter().map(|f| f.kind).collect();
            assert_eq!(got, want, "{name}: {:?}", summary.flags);
        }
    }

    #[test]
    fn flags_are_in_time_order_with_one_based_steps() {
        let j = job(vec![
            (5, excursion(5)),
            (1, signed(CheckResult::Fail, None, None)),
        ]);
        let s = deviations_summary(&j);
        assert_eq!(s.flags[0].kind, FlagKind::FailedCheckpoint);
        assert!(
            s.flags[0].text.contains("checkpoint 1.1 failed"),
            "{}",
            s.flags[0].text
        );
        assert!(s.flags[0].text.contains("land 2 lifted"));
        assert!(s.flags[1].text.contains("step 1"), "{}", s.flags[1].text);
        assert_eq!(
            s.headline(),
            "1 failed checkpoint, 1 alarm not acknowledged"
        );
    }
}
