//! A job's record as the reports show it: every action in time order with who did it
//! and when (each attempt of a checkpoint, failures with their reason, redo, suspend
//! and resume reasons, alarms and their acknowledgement, lots, reviews), and the
//! deviations a reviewer must see first.
//!
//! Read from the job's records alone, never from today's roster or screens; the HTML
//! report and the CSV `actions.csv` table render the same entries, so they cannot
//! disagree.

use chrono::{DateTime, Utc};

use crate::domain::event::{Event, Record, SYSTEM_ACTOR};
use crate::domain::types::{CheckResult, Decision};
use crate::instruction::Instruction;

use super::{JobBundle, step_no};

/// One thing that happened to a job.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub time: DateTime<Utc>,
    /// Badge of who did it, or `system`.
    pub actor: String,
    /// The step it belongs to (0-based); for job-wide actions (suspend, resume,
    /// submit) the step the job was at.
    pub step: Option<u32>,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    JobStarted,
    StepStarted,
    StepCompleted,
    Signed {
        checkpoint: u32,
        /// 1 for the first signature of this checkpoint, 2 after a redo, ...
        attempt: u32,
        result: CheckResult,
        measurement: Option<(f64, String)>,
        comment: Option<String>,
    },
    Lot {
        material: String,
        lot: String,
    },
    Alarm {
        id: u32,
        channel: String,
        peak_c: f64,
    },
    AlarmAcknowledged {
        id: u32,
        comment: String,
        /// When the alarm began, to say how long it stood unacknowledged.
        began: Option<DateTime<Utc>>,
    },
    Redone {
        reason: String,
    },
    Suspended {
        reason: String,
    },
    Resumed,
    Aborted {
        reason: String,
    },
    Submitted,
    Reviewed {
        decision: Decision,
        comment: String,
    },
}

impl Entry {
    /// What happened, in the words of the report (without who and when).
    pub fn text(&self) -> String {
        match &self.action {
            Action::JobStarted => "job started".into(),
            Action::StepStarted => "step started".into(),
            Action::StepCompleted => "step completed".into(),
            Action::Signed {
                checkpoint,
                attempt,
                result,
                measurement,
                comment,
            } => {
                let mut s = format!(
                    "checkpoint {} {}",
                    step_no(*checkpoint),
                    super::csv::result_str(*result)
                );
                if *attempt > 1 {
                    s.push_str(&format!(" (attempt {attempt})"));
                }
                if let Some((v, unit)) = measurement {
                    s.push_str(&format!(": {v} {unit}"));
                }
                if let Some(c) = comment.as_deref().filter(|c| !c.is_empty()) {
                    s.push_str(&format!(" — {c}"));
                }
                s
            }
            Action::Lot { material, lot } => format!("lot {lot} scanned for {material}"),
            Action::Alarm {
                id,
                channel,
                peak_c,
            } => format!("alarm {id}: {channel} outside its window, peak {peak_c:.1} °C"),
            Action::AlarmAcknowledged { id, comment, began } => {
                let after = began
                    .map(|b| {
                        format!(
                            " {} after it began",
                            duration((self.time - b).num_seconds())
                        )
                    })
                    .unwrap_or_default();
                format!("alarm {id} acknowledged{after} — {comment}")
            }
            Action::Redone { reason } => format!("step redone — {reason}"),
            Action::Suspended { reason } => format!("job suspended — {reason}"),
            Action::Resumed => "job resumed".into(),
            Action::Aborted { reason } => format!("job aborted — {reason}"),
            Action::Submitted => "submitted for review".into(),
            Action::Reviewed { decision, comment } => {
                format!(
                    "review: {} — {comment}",
                    super::csv::decision_str(*decision)
                )
            }
        }
    }

    /// A short machine name of the action, for the CSV.
    pub fn kind(&self) -> &'static str {
        match &self.action {
            Action::JobStarted => "job_started",
            Action::StepStarted => "step_started",
            Action::StepCompleted => "step_completed",
            Action::Signed { .. } => "signed",
            Action::Lot { .. } => "lot",
            Action::Alarm { .. } => "alarm",
            Action::AlarmAcknowledged { .. } => "alarm_acknowledged",
            Action::Redone { .. } => "redone",
            Action::Suspended { .. } => "suspended",
            Action::Resumed => "resumed",
            Action::Aborted { .. } => "aborted",
            Action::Submitted => "submitted",
            Action::Reviewed { .. } => "reviewed",
        }
    }
}

/// `95` -> `1 min 35 s`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Every action of the job in `bundle`, in record order (which is time order).
pub fn entries(bundle: &JobBundle<'_>) -> Vec<Entry> {
    entries_of(bundle.records.iter().map(|r| r.record()))
}

fn entries_of<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut at_step: Option<u32> = None;
    // Signatures per (step, checkpoint) so far, to number the attempts.
    let mut signed: std::collections::HashMap<(u32, u32), u32> = Default::default();
    let mut alarms: std::collections::HashMap<(u32, u32), DateTime<Utc>> = Default::default();
    for rec in records {
        let (step, action) = match &rec.event {
            Event::JobStarted { .. } => (None, Action::JobStarted),
            Event::StepStarted { step, .. } => (Some(*step), Action::StepStarted),
            Event::StepCompleted { step, .. } => (Some(*step), Action::StepCompleted),
            Event::CheckpointSigned {
                step,
                checkpoint,
                result,
                measurement,
                comment,
                ..
            } => {
                let n = signed.entry((*step, *checkpoint)).or_insert(0);
                *n += 1;
                (
                    Some(*step),
                    Action::Signed {
                        checkpoint: *checkpoint,
                        attempt: *n,
                        result: *result,
                        measurement: measurement.as_ref().map(|m| (m.value, m.unit.clone())),
                        comment: comment.clone(),
                    },
                )
            }
            Event::LotRecorded {
                step,
                material,
                lot,
                ..
            } => (
                Some(*step),
                Action::Lot {
                    material: material.clone(),
                    lot: lot.clone(),
                },
            ),
            Event::Excursion {
                step,
                id,
                channel,
                peak_c,
                started,
                ..
            } => {
                // An alarm may be recorded when it starts and again when it ends:
                // one entry, the first.
                if alarms.insert((*step, *id), *started).is_some() {
                    continue;
                }
                (
                    Some(*step),
                    Action::Alarm {
                        id: *id,
                        channel: channel.clone(),
                        peak_c: *peak_c,
                    },
                )
            }
            Event::ExcursionAcknowledged {
                step, id, comment, ..
            } => (
                Some(*step),
                Action::AlarmAcknowledged {
                    id: *id,
                    comment: comment.clone(),
                    began: alarms.get(&(*step, *id)).copied(),
                },
            ),
            Event::StepRedone { step, reason, .. } => {
                // The checkpoints of a redone step are signed again: attempt + 1.
                (
                    Some(*step),
                    Action::Redone {
                        reason: reason.clone(),
                    },
                )
            }
            Event::JobSuspended { reason, .. } => (
                at_step,
                Action::Suspended {
                    reason: reason.clone(),
                },
            ),
            Event::JobResumed { .. } => (at_step, Action::Resumed),
            Event::JobAborted { reason, .. } => (
                at_step,
                Action::Aborted {
                    reason: reason.clone(),
                },
            ),
            Event::JobSubmitted { .. } => (None, Action::Submitted),
            Event::JobReviewed {
                decision, comment, ..
            } => (
                None,
                Action::Reviewed {
                    decision: *decision,
                    comment: comment.clone(),
                },
            ),
            _ => continue,
        };
        if step.is_some() {
            at_step = step;
        }
        out.push(Entry {
            seq: rec.seq,
            time: rec.time,
            actor: rec.actor.clone(),
            step,
            action,
        });
    }
    out
}

/// Something a reviewer must see before approving.
#[derive(Clone, Debug, PartialEq)]
pub struct Deviation {
    pub step: Option<u32>,
    pub time: DateTime<Utc>,
    /// Badge of who did it (or `system`).
    pub actor: String,
    pub kind: DeviationKind,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviationKind {
    FailedCheckpoint,
    Redo,
    Alarm,
    UnacknowledgedAlarm,
    OutOfLimit,
    WindowNotReached,
    Rejected,
    Aborted,
}

impl DeviationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviationKind::FailedCheckpoint => "failed checkpoint",
            DeviationKind::Redo => "redo",
            DeviationKind::Alarm => "temperature alarm",
            DeviationKind::UnacknowledgedAlarm => "unacknowledged alarm",
            DeviationKind::OutOfLimit => "out-of-limit measurement",
            DeviationKind::WindowNotReached => "window never reached",
            DeviationKind::Rejected => "review rejected",
            DeviationKind::Aborted => "aborted",
        }
    }
}

/// The deviations of the job in `bundle`, in time order: failed checkpoint
/// attempts, redos, alarms (with how long they stood unacknowledged; those never
/// acknowledged), measurements outside the checkpoint's limits, temperature windows
/// never reached, rejections and an abort.
pub fn deviations(bundle: &JobBundle<'_>, entries: &[Entry]) -> Vec<Deviation> {
    let mut out = Vec::new();
    let instruction = bundle.instruction;
    let mut push = |e: &Entry, actor: &str, kind, text: String| {
        out.push(Deviation {
            step: e.step,
            time: e.time,
            actor: actor.to_string(),
            kind,
            text,
        })
    };
    for e in entries {
        match &e.action {
            Action::Signed {
                checkpoint,
                result,
                measurement,
                ..
            } => {
                if *result == CheckResult::Fail {
                    push(e, &e.actor, DeviationKind::FailedCheckpoint, e.text());
                }
                if let Some((value, unit)) = measurement
                    && let Some((min, max)) = limits(instruction, e.step, *checkpoint)
                    && (min.is_some_and(|m| *value < m) || max.is_some_and(|m| *value > m))
                {
                    push(
                        e,
                        &e.actor,
                        DeviationKind::OutOfLimit,
                        format!(
                            "checkpoint {}: {value} {unit} outside its limits {}",
                            step_no(*checkpoint),
                            range_text(min, max, unit)
                        ),
                    );
                }
            }
            Action::Redone { .. } => push(e, &e.actor, DeviationKind::Redo, e.text()),
            Action::Alarm { id, .. } => {
                let ack = entries.iter().find(|a| {
                    a.step == e.step
                        && matches!(&a.action, Action::AlarmAcknowledged { id: i, .. } if i == id)
                });
                match ack {
                    // Who answered the alarm is who the reviewer asks about it.
                    Some(a) => push(
                        e,
                        &a.actor,
                        DeviationKind::Alarm,
                        format!("{}; {}", e.text(), a.text()),
                    ),
                    None => push(
                        e,
                        &e.actor,
                        DeviationKind::UnacknowledgedAlarm,
                        format!("{}; never acknowledged", e.text()),
                    ),
                }
            }
            Action::StepCompleted => {
                let Some(state) = e.step.and_then(|s| bundle.job.steps.get(s as usize)) else {
                    continue;
                };
                for c in &state.temperature {
                    let low = c.window_min_c.filter(|m| m.is_finite());
                    if let Some(min) = low
                        && c.count > 0
                        && c.max_c < min
                    {
                        push(
                            e,
                            &e.actor,
                            DeviationKind::WindowNotReached,
                            format!(
                                "{}: window from {min:.0} °C never reached (max {:.1} °C)",
                                c.channel, c.max_c
                            ),
                        );
                    }
                }
            }
            Action::Reviewed {
                decision: Decision::Rejected,
                comment,
            } => push(
                e,
                &e.actor,
                DeviationKind::Rejected,
                format!("rejected — {comment}"),
            ),
            Action::Aborted { reason } => push(
                e,
                &e.actor,
                DeviationKind::Aborted,
                format!("aborted — {reason}"),
            ),
            _ => {}
        }
    }
    out
}

/// A checkpoint's (min, max) when it has either.
fn limits(
    instruction: Option<&Instruction>,
    step: Option<u32>,
    checkpoint: u32,
) -> Option<(Option<f64>, Option<f64>)> {
    let cp = instruction?
        .spec
        .steps
        .get(step? as usize)?
        .checkpoints
        .get(checkpoint as usize)?;
    let min = cp.min.as_ref().map(|m| *m.get_ref());
    (min.is_some() || cp.max.is_some()).then_some((min, cp.max))
}

fn range_text(min: Option<f64>, max: Option<f64>, unit: &str) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a}–{b} {unit}"),
        (Some(a), None) => format!("≥ {a} {unit}"),
        (None, Some(b)) => format!("≤ {b} {unit}"),
        (None, None) => String::new(),
    }
}

/// `true` for the program itself rather than a person.
pub fn is_system(actor: &str) -> bool {
    actor == SYSTEM_ACTOR
}
