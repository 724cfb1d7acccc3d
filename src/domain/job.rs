//! A `Job` is a fold over its events: nothing about a job is stored any other way.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::component::ComponentAction;
use super::event::{
    ChannelSummary, DeviationKind, Event, LotRefusal, Measurement, Record, RecordedFigure,
};
use super::types::{CheckResult, Decision, Meaning, ProductClass};

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    InProgress,
    /// A checkpoint failed: the job waits for "redo the step" or "abort".
    Held,
    Suspended,
    Aborted,
    Submitted,
    Approved,
    Rejected,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "in_progress",
            JobStatus::Held => "held",
            JobStatus::Suspended => "suspended",
            JobStatus::Aborted => "aborted",
            JobStatus::Submitted => "submitted",
            JobStatus::Approved => "approved",
            JobStatus::Rejected => "rejected",
        }
    }

    /// Still the technician's to work on.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            JobStatus::InProgress | JobStatus::Held | JobStatus::Suspended | JobStatus::Rejected
        )
    }
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Signature {
    pub step: u32,
    pub checkpoint: u32,
    /// The attempt of the step (1-based) it was given in.
    pub attempt: u32,
    pub signer: String,
    pub signer_name: String,
    pub meaning: Meaning,
    pub time: DateTime<Utc>,
    pub result: CheckResult,
    pub measurement: Option<Measurement>,
    pub comment: Option<String>,
    /// The station's recorded figure the checkpoint named, when it named one.
    pub recorded: Option<RecordedFigure>,
}

impl Signature {
    /// A typed value that differs from the station's recorded figure beyond tolerance.
    pub fn differs_from_record(&self) -> bool {
        match (&self.recorded, &self.measurement) {
            (Some(r), Some(m)) => r.differs(m.value),
            _ => false,
        }
    }
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Lot {
    pub step: u32,
    pub attempt: u32,
    pub material: String,
    pub lot: String,
    pub expiry: Option<NaiveDate>,
    pub gtin: Option<String>,
    pub raw_scan: String,
    pub time: DateTime<Utc>,
    /// Who scanned it (the record's actor).
    pub by: String,
}

/// A component removed from, or fitted at, designators of the job.
#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct ComponentRecord {
    pub action: ComponentAction,
    pub step: u32,
    pub attempt: u32,
    pub refdes: Vec<String>,
    pub part_number: Option<String>,
    pub lot: Option<String>,
    pub date_code: Option<String>,
    /// The line as typed or scanned.
    pub entry: String,
    pub time: DateTime<Utc>,
    pub by: String,
    /// The record's seq (CFX messages are tied to it).
    pub seq: u64,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct LotRefused {
    pub step: u32,
    pub material: String,
    pub lot: String,
    pub expiry: Option<NaiveDate>,
    pub raw_scan: String,
    pub reason: LotRefusal,
    pub time: DateTime<Utc>,
    pub by: String,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct ExcursionRecord {
    pub step: u32,
    pub attempt: u32,
    pub id: u32,
    pub channel: String,
    pub window_min_c: f64,
    pub window_max_c: f64,
    pub peak_c: f64,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub acknowledgement: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Deviation {
    pub step: u32,
    pub attempt: u32,
    pub kind: DeviationKind,
    pub reason: String,
    pub by: String,
    pub by_name: String,
    pub time: DateTime<Utc>,
}

/// One go at a step: its own samples, summary, seal and signatures. A redo after a
/// failed checkpoint or a rejection opens the next attempt; earlier ones stay.
#[derive(Serialize, Clone, PartialEq, Debug, Default)]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    /// Why this attempt was opened (the redo reason); `None` for the first.
    pub reason: Option<String>,
    pub opened_by: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub started_by: Option<String>,
    pub completed: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub temperature: Vec<ChannelSummary>,
    pub sample_count: u64,
    pub samples_digest: Option<String>,
    /// Where the store keeps this attempt's samples (see [`sample_stream`]).
    pub sample_stream: u32,
    /// Every signature given in this attempt, failed ones included, in order.
    pub signatures: Vec<Signature>,
    pub deviations: Vec<Deviation>,
}

#[derive(Serialize, Clone, PartialEq, Debug, Default)]
pub struct StepState {
    pub started: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    /// Current signatures by checkpoint index (cleared when the step is redone).
    pub signatures: BTreeMap<u32, Signature>,
    pub temperature: Vec<ChannelSummary>,
    pub sample_count: u64,
    pub samples_digest: Option<String>,
    pub attempts: u32,
    /// Where the store keeps the current attempt's samples.
    pub sample_stream: u32,
    /// Every attempt in order; the last one is the current one.
    pub attempt_log: Vec<Attempt>,
}

impl StepState {
    /// The current attempt (1-based); 1 before the step has started.
    pub fn attempt(&self) -> u32 {
        self.attempts.max(1)
    }

    pub fn current_attempt(&self) -> Option<&Attempt> {
        self.attempt_log.last()
    }

    fn current_attempt_mut(&mut self) -> &mut Attempt {
        if self.attempt_log.is_empty() {
            self.attempt_log.push(Attempt {
                number: 1,
                sample_stream: self.sample_stream,
                ..Attempt::default()
            });
        }
        self.attempt_log.last_mut().expect("just pushed")
    }
}

/// Where the store keeps the samples of attempt `attempt` (1-based) of `step`
/// (0-based). The first attempt keeps the step's own key, as before attempts had
/// samples of their own, so old stores read the same.
pub fn sample_stream(step: u32, attempt: u32) -> u32 {
    const STRIDE: u32 = 1 << 16;
    if attempt <= 1 || step >= STRIDE {
        return step;
    }
    step.saturating_add((attempt - 1).saturating_mul(STRIDE))
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Review {
    pub decision: Decision,
    pub reviewer: String,
    pub reviewer_name: String,
    pub comment: String,
    pub time: DateTime<Utc>,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Suspension {
    pub reason: String,
    pub by: String,
    pub time: DateTime<Utc>,
    pub resumed: Option<DateTime<Utc>>,
    pub resumed_by: Option<String>,
    pub resume_reason: Option<String>,
}

/// One line of what happened to a job: who, when, what, in record order.
#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Happening {
    pub seq: u64,
    pub time: DateTime<Utc>,
    /// The badge the record names as its actor (`system` for the program).
    pub actor: String,
    /// 0-based step, when the event belongs to one.
    pub step: Option<u32>,
    pub kind: &'static str,
    /// For people: what happened, step numbers 1-based.
    pub text: String,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Job {
    pub id: String,
    pub board_serial: String,
    pub assembly_part: String,
    pub assembly_rev: String,
    pub refdes: Vec<String>,
    pub defect_ref: String,
    pub class: ProductClass,
    pub alloy: String,
    pub instruction_id: String,
    pub instruction_rev: String,
    pub instruction_hash: String,
    /// Procedures as recorded at the start (empty in records from before).
    pub procedures: Vec<String>,
    pub approval_ref: Option<String>,
    pub bench: String,
    pub performer: String,
    pub started: DateTime<Utc>,
    pub status: JobStatus,
    /// Status before a suspension, so resuming returns to it.
    pub status_before_suspend: Option<JobStatus>,
    pub steps: Vec<StepState>,
    /// Every signature ever given, including those of redone attempts.
    pub history: Vec<Signature>,
    pub lots: Vec<Lot>,
    pub lot_refusals: Vec<LotRefused>,
    pub excursions: Vec<ExcursionRecord>,
    pub deviations: Vec<Deviation>,
    pub suspensions: Vec<Suspension>,
    pub reviews: Vec<Review>,
    /// Hashes of the instruction texts archived in this job's records.
    pub archived: Vec<String>,
    pub submitted: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub abort_reason: Option<String>,
    /// Components removed and fitted, in record order (absent in exports of jobs
    /// that recorded none, as before traveler kept them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentRecord>,
    /// Everything that happened, in record order. Derived from the records, which
    /// exports carry themselves, so it is not serialised with the job.
    #[serde(skip)]
    pub timeline: Vec<Happening>,
    pub last_event_seq: u64,
    /// Where the board's earlier jobs were counted when this job started (absent in
    /// jobs started before traveler recorded it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board_history: Option<super::board::CountedRecord>,
}

impl Job {
    /// Folds a job from its records in sequence order. Records of other jobs are
    /// ignored; `None` if the job-started record is missing.
    pub fn fold<'a>(records: impl IntoIterator<Item = &'a Record>) -> Option<Job> {
        let mut job: Option<Job> = None;
        for rec in records {
            match (&mut job, &rec.event) {
                (None, Event::JobStarted { .. }) => {
                    job = Job::from_start(rec);
                    if let Some(j) = &mut job {
                        j.note(rec);
                    }
                }
                (Some(j), _) if rec.event.job() == Some(j.id.as_str()) => j.apply(rec),
                _ => {}
            }
        }
        job
    }

    fn from_start(rec: &Record) -> Option<Job> {
        let Event::JobStarted {
            job,
            board_serial,
            assembly_part,
            assembly_rev,
            refdes,
            defect_ref,
            class,
            alloy,
            instruction_id,
            instruction_rev,
            instruction_hash,
            step_count,
            approval_ref,
            bench,
            performer,
            procedures,
        } = &rec.event
        else {
            return None;
        };
        // A damaged count must not allocate the machine away.
        let steps = (*step_count).min(10_000) as usize;
        Some(Job {
            id: job.clone(),
            board_serial: board_serial.clone(),
            assembly_part: assembly_part.clone(),
            assembly_rev: assembly_rev.clone(),
            refdes: refdes.clone(),
            defect_ref: defect_ref.clone(),
            class: *class,
            alloy: alloy.clone(),
            instruction_id: instruction_id.clone(),
            instruction_rev: instruction_rev.clone(),
            instruction_hash: instruction_hash.clone(),
            procedures: procedures.clone(),
            approval_ref: approval_ref.clone(),
            bench: bench.clone(),
            performer: performer.clone(),
            started: rec.time,
            status: JobStatus::InProgress,
            status_before_suspend: None,
            steps: (0..steps)
                .map(|i| StepState {
                    sample_stream: i as u32,
                    ..StepState::default()
                })
                .collect(),
            history: Vec::new(),
            lots: Vec::new(),
            lot_refusals: Vec::new(),
            excursions: Vec::new(),
            deviations: Vec::new(),
            suspensions: Vec::new(),
            reviews: Vec::new(),
            archived: Vec::new(),
            submitted: None,
            finished: None,
            abort_reason: None,
            board_history: None,
            components: Vec::new(),
            timeline: Vec::new(),
            last_event_seq: rec.seq,
        })
    }

    /// The current attempt of a step (1-based), 1 for a step out of range.
    pub fn attempt_of(&self, step: u32) -> u32 {
        self.steps.get(step as usize).map_or(1, StepState::attempt)
    }

    /// Applies one record of this job. Out-of-range step numbers are ignored rather
    /// than trusted: the fold must never panic on a stored record.
    pub fn apply(&mut self, rec: &Record) {
        self.last_event_seq = rec.seq;
        self.note(rec);
        let time = rec.time;
        let actor = rec.actor.clone();
        match &rec.event {
            Event::StepStarted { step, .. } => {
                if let Some(s) = self.step_mut(*step) {
                    if s.started.is_none() {
                        s.started = Some(time);
                    }
                    s.attempts = s.attempts.max(1);
                    let a = s.current_attempt_mut();
                    if a.started.is_none() {
                        a.started = Some(time);
                        a.started_by = Some(actor);
                    }
                }
            }
            Event::StepCompleted {
                step,
                temperature,
                sample_count,
                samples_digest,
                attempt,
                ..
            } => {
                if let Some(s) = self.step_mut(*step) {
                    // Written before attempts had samples of their own (attempt 0): every
                    // attempt's samples are in the step's stream, and the seal covers
                    // them all, as `sample_stream(step, 0)` says.
                    if *attempt == 0 {
                        s.sample_stream = sample_stream(*step, 0);
                    }
                    s.completed = Some(time);
                    s.temperature = temperature.clone();
                    s.sample_count = *sample_count;
                    s.samples_digest = Some(samples_digest.clone());
                    s.attempts = s.attempts.max(1);
                    let stream = s.sample_stream;
                    let a = s.current_attempt_mut();
                    if *attempt == 0 {
                        a.sample_stream = stream;
                    }
                    a.completed = Some(time);
                    a.completed_by = Some(actor);
                    a.temperature = temperature.clone();
                    a.sample_count = *sample_count;
                    a.samples_digest = Some(samples_digest.clone());
                }
            }
            Event::CheckpointSigned {
                step,
                checkpoint,
                signer,
                signer_name,
                meaning,
                result,
                measurement,
                comment,
                recorded,
                ..
            } => {
                let sig = Signature {
                    step: *step,
                    checkpoint: *checkpoint,
                    attempt: self.attempt_of(*step),
                    signer: signer.clone(),
                    signer_name: signer_name.clone(),
                    meaning: *meaning,
                    time,
                    result: *result,
                    measurement: measurement.clone(),
                    comment: comment.clone(),
                    recorded: recorded.clone(),
                };
                self.history.push(sig.clone());
                if let Some(s) = self.step_mut(*step) {
                    s.current_attempt_mut().signatures.push(sig.clone());
                    s.signatures.insert(*checkpoint, sig);
                }
                if result.is_failure() {
                    self.status = JobStatus::Held;
                }
            }
            Event::LotRecorded {
                step,
                material,
                lot,
                expiry,
                gtin,
                raw_scan,
                ..
            } => self.lots.push(Lot {
                step: *step,
                attempt: self.attempt_of(*step),
                material: material.clone(),
                lot: lot.clone(),
                expiry: *expiry,
                gtin: gtin.clone(),
                raw_scan: raw_scan.clone(),
                time,
                by: actor,
            }),
            Event::ComponentRemoved {
                step,
                refdes,
                part_number,
                entry,
                ..
            } => self.components.push(ComponentRecord {
                action: ComponentAction::Remove,
                step: *step,
                attempt: self.attempt_of(*step),
                refdes: refdes.clone(),
                part_number: part_number.clone(),
                lot: None,
                date_code: None,
                entry: entry.clone(),
                time,
                by: actor,
                seq: rec.seq,
            }),
            Event::ComponentInstalled {
                step,
                refdes,
                part_number,
                lot,
                date_code,
                entry,
                ..
            } => self.components.push(ComponentRecord {
                action: ComponentAction::Install,
                step: *step,
                attempt: self.attempt_of(*step),
                refdes: refdes.clone(),
                part_number: Some(part_number.clone()),
                lot: lot.clone(),
                date_code: date_code.clone(),
                entry: entry.clone(),
                time,
                by: actor,
                seq: rec.seq,
            }),
            Event::LotRefused {
                step,
                material,
                lot,
                expiry,
                raw_scan,
                reason,
                ..
            } => self.lot_refusals.push(LotRefused {
                step: *step,
                material: material.clone(),
                lot: lot.clone(),
                expiry: *expiry,
                raw_scan: raw_scan.clone(),
                reason: reason.clone(),
                time,
                by: actor,
            }),
            Event::Excursion {
                step,
                id,
                channel,
                window_min_c,
                window_max_c,
                peak_c,
                started,
                ended,
                ..
            } => {
                let rec = ExcursionRecord {
                    step: *step,
                    attempt: self.attempt_of(*step),
                    id: *id,
                    channel: channel.clone(),
                    window_min_c: *window_min_c,
                    window_max_c: *window_max_c,
                    peak_c: *peak_c,
                    started: *started,
                    ended: *ended,
                    acknowledgement: None,
                    acknowledged_by: None,
                    acknowledged_at: None,
                };
                // An excursion may be recorded when it starts and again when it ends.
                match self
                    .excursions
                    .iter_mut()
                    .find(|e| e.step == *step && e.id == *id)
                {
                    Some(existing) => {
                        *existing = ExcursionRecord {
                            attempt: existing.attempt,
                            acknowledgement: existing.acknowledgement.take(),
                            acknowledged_by: existing.acknowledged_by.take(),
                            acknowledged_at: existing.acknowledged_at,
                            ..rec
                        };
                    }
                    None => self.excursions.push(rec),
                }
            }
            Event::ExcursionAcknowledged {
                step, id, comment, ..
            } => {
                if let Some(e) = self
                    .excursions
                    .iter_mut()
                    .find(|e| e.step == *step && e.id == *id)
                {
                    e.acknowledgement = Some(comment.clone());
                    e.acknowledged_by = Some(actor);
                    e.acknowledged_at = Some(time);
                }
            }
            Event::Deviated {
                step,
                attempt,
                kind,
                reason,
                by,
                by_name,
                ..
            } => {
                let d = Deviation {
                    step: *step,
                    attempt: *attempt,
                    kind: *kind,
                    reason: reason.clone(),
                    by: by.clone(),
                    by_name: by_name.clone(),
                    time,
                };
                if let Some(s) = self.step_mut(*step) {
                    s.current_attempt_mut().deviations.push(d.clone());
                }
                self.deviations.push(d);
            }
            Event::StepRedone { step, reason, .. } => {
                if let Some(s) = self.step_mut(*step) {
                    s.signatures.clear();
                    s.completed = None;
                    s.temperature.clear();
                    s.sample_count = 0;
                    s.samples_digest = None;
                    // A step redone before it ever started still had its first attempt.
                    let number = s.attempts.max(1) + 1;
                    s.current_attempt_mut();
                    s.attempts = number;
                    s.sample_stream = sample_stream(*step, number);
                    s.attempt_log.push(Attempt {
                        number,
                        reason: Some(reason.clone()),
                        opened_by: Some(actor),
                        sample_stream: s.sample_stream,
                        ..Attempt::default()
                    });
                }
                self.status = JobStatus::InProgress;
            }
            Event::JobSuspended { reason, .. } => {
                if self.status != JobStatus::Suspended {
                    self.status_before_suspend = Some(self.status);
                }
                self.status = JobStatus::Suspended;
                self.suspensions.push(Suspension {
                    reason: reason.clone(),
                    by: actor,
                    time,
                    resumed: None,
                    resumed_by: None,
                    resume_reason: None,
                });
            }
            Event::JobResumed { reason, .. } => {
                self.status = self
                    .status_before_suspend
                    .take()
                    .unwrap_or(JobStatus::InProgress);
                if let Some(s) = self.suspensions.last_mut().filter(|s| s.resumed.is_none()) {
                    s.resumed = Some(time);
                    s.resumed_by = Some(actor);
                    s.resume_reason = Some(reason.clone()).filter(|r| !r.is_empty());
                }
            }
            Event::JobAborted { reason, .. } => {
                self.status = JobStatus::Aborted;
                self.abort_reason = Some(reason.clone());
                self.finished = Some(time);
            }
            Event::JobSubmitted { .. } => {
                self.status = JobStatus::Submitted;
                self.submitted = Some(time);
            }
            // A decision at the shop hub, mirrored here, is the job's review.
            Event::JobReviewed {
                decision,
                reviewer,
                reviewer_name,
                comment,
                ..
            }
            | Event::ReviewMirrored {
                decision,
                reviewer,
                reviewer_name,
                comment,
                ..
            } => {
                // A decision made at the hub was made when the hub recorded it, not
                // when this bench mirrored it (days later for a bench offline).
                let time = match &rec.event {
                    Event::ReviewMirrored {
                        decided_at: Some(at),
                        ..
                    } => *at,
                    _ => time,
                };
                self.reviews.push(Review {
                    decision: *decision,
                    reviewer: reviewer.clone(),
                    reviewer_name: reviewer_name.clone(),
                    comment: comment.clone(),
                    time,
                });
                match decision {
                    Decision::Approved => {
                        self.status = JobStatus::Approved;
                        self.finished = Some(time);
                    }
                    Decision::Rejected => self.status = JobStatus::Rejected,
                }
            }
            Event::InstructionArchived { hash, .. } if !self.archived.contains(hash) => {
                self.archived.push(hash.clone());
            }
            Event::BoardHistoryCounted {
                jobs,
                benches,
                elsewhere,
                scope,
                unknown_procedures,
                ..
            } => {
                self.board_history = Some(super::board::CountedRecord {
                    jobs: *jobs,
                    benches: *benches,
                    elsewhere: *elsewhere,
                    scope: scope.clone(),
                    unknown_procedures: *unknown_procedures,
                });
            }
            _ => {}
        }
    }

    /// Adds the record to the timeline, in words a reviewer reads.
    fn note(&mut self, rec: &Record) {
        let (step, text) = describe(&rec.event);
        self.timeline.push(Happening {
            seq: rec.seq,
            time: rec.time,
            actor: rec.actor.clone(),
            step,
            kind: rec.event.kind(),
            text,
        });
    }

    fn step_mut(&mut self, step: u32) -> Option<&mut StepState> {
        self.steps.get_mut(step as usize)
    }

    /// Badges that signed an inspection of this job: none of them may review it.
    pub fn inspector_badges(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|s| s.meaning == Meaning::Inspected)
            .map(|s| s.signer.clone())
            .collect()
    }

    /// The first step not completed yet; `None` when every step is done.
    pub fn current_step(&self) -> Option<u32> {
        self.steps
            .iter()
            .position(|s| s.completed.is_none())
            .map(|i| i as u32)
    }

    pub fn all_steps_done(&self) -> bool {
        self.current_step().is_none()
    }

    pub fn open_excursions(&self, step: u32) -> impl Iterator<Item = &ExcursionRecord> {
        self.excursions
            .iter()
            .filter(move |e| e.step == step && e.acknowledgement.is_none())
    }

    /// Lots recorded for the current attempt of `step`.
    pub fn lots_for_step(&self, step: u32) -> impl Iterator<Item = &Lot> {
        let attempt = self.attempt_of(step);
        self.lots
            .iter()
            .filter(move |l| l.step == step && l.attempt == attempt)
    }

    /// Components recorded in the current attempt of `step`.
    pub fn components_for_step(&self, step: u32) -> impl Iterator<Item = &ComponentRecord> {
        let attempt = self.attempt_of(step);
        self.components
            .iter()
            .filter(move |c| c.step == step && c.attempt == attempt)
    }

    /// Designators of the job whose part `action` the current attempt of `step`
    /// has not recorded yet.
    pub fn designators_pending(&self, step: u32, action: ComponentAction) -> Vec<String> {
        self.refdes
            .iter()
            .filter(|r| {
                !self
                    .components_for_step(step)
                    .any(|c| c.action == action && c.refdes.contains(r))
            })
            .cloned()
            .collect()
    }

    /// Deviations signed for the current attempt of `step`.
    pub fn deviations_of_current_attempt(&self, step: u32) -> impl Iterator<Item = &Deviation> {
        let attempt = self.attempt_of(step);
        self.deviations
            .iter()
            .filter(move |d| d.step == step && d.attempt == attempt)
    }

    /// Every expiry a lot code was seen with in this job (recorded or refused).
    pub fn expiries_seen(&self, lot: &str) -> Vec<Option<NaiveDate>> {
        let mut out: Vec<Option<NaiveDate>> = Vec::new();
        let seen = self
            .lots
            .iter()
            .filter(|l| l.lot == lot)
            .map(|l| l.expiry)
            .chain(
                self.lot_refusals
                    .iter()
                    .filter(|l| l.lot == lot)
                    .map(|l| l.expiry),
            );
        for e in seen {
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }

    /// Highest temperature any channel reached in the job, for summaries.
    pub fn peak_c(&self) -> Option<f64> {
        self.steps
            .iter()
            .flat_map(|s| s.attempt_log.iter())
            .flat_map(|a| a.temperature.iter().map(|c| c.peak_c))
            .chain(
                self.steps
                    .iter()
                    .flat_map(|s| s.temperature.iter().map(|c| c.peak_c)),
            )
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            })
    }
}

fn describe(event: &Event) -> (Option<u32>, String) {
    use Event::*;
    let n = |step: &u32| step + 1;
    match event {
        JobStarted {
            instruction_id,
            instruction_rev,
            board_serial,
            ..
        } => (
            None,
            format!("job started: {instruction_id} rev {instruction_rev} on board {board_serial}"),
        ),
        StepStarted { step, .. } => (Some(*step), format!("step {} started", n(step))),
        StepCompleted {
            step, sample_count, ..
        } => (
            Some(*step),
            format!("step {} completed ({sample_count} samples sealed)", n(step)),
        ),
        CheckpointSigned {
            step,
            checkpoint,
            signer_name,
            signer,
            meaning,
            result,
            measurement,
            comment,
            ..
        } => {
            let mut t = format!(
                "checkpoint {}.{} {:?} — {meaning} by {signer_name} ({signer})",
                n(step),
                checkpoint + 1,
                result
            );
            if let Some(m) = measurement {
                t.push_str(&format!(", measured {} {}", m.value, m.unit));
            }
            if let Some(c) = comment {
                t.push_str(&format!(": {c}"));
            }
            (Some(*step), t)
        }
        LotRecorded {
            step,
            material,
            lot,
            expiry,
            ..
        } => (
            Some(*step),
            format!(
                "lot {lot} of {material} recorded{}",
                expiry.map(|d| format!(", expires {d}")).unwrap_or_default()
            ),
        ),
        LotRefused {
            step,
            material,
            lot,
            reason,
            ..
        } => (
            Some(*step),
            format!("lot {lot} of {material} REFUSED: {reason}"),
        ),
        Excursion {
            step,
            id,
            channel,
            peak_c,
            ended,
            ..
        } => (
            Some(*step),
            format!(
                "temperature alarm {id} on {channel}: peak {peak_c:.1} °C{}",
                if ended.is_some() {
                    ", back in window"
                } else {
                    ""
                }
            ),
        ),
        ExcursionAcknowledged {
            step, id, comment, ..
        } => (
            Some(*step),
            format!("temperature alarm {id} acknowledged: {comment}"),
        ),
        StepRedone { step, reason, .. } => {
            (Some(*step), format!("step {} redone: {reason}", n(step)))
        }
        Deviated {
            step,
            attempt,
            kind,
            reason,
            by_name,
            ..
        } => (
            Some(*step),
            format!(
                "DEVIATION on step {} (attempt {attempt}): {kind} — {reason}, signed by {by_name}",
                n(step)
            ),
        ),
        JobSuspended { reason, .. } => (None, format!("job suspended: {reason}")),
        JobResumed { reason, .. } if reason.is_empty() => (None, "job resumed".to_string()),
        JobResumed { reason, .. } => (None, format!("job resumed: {reason}")),
        JobAborted { reason, .. } => (None, format!("job aborted: {reason}")),
        JobSubmitted { .. } => (None, "submitted for review".to_string()),
        JobReviewed {
            decision,
            reviewer_name,
            comment,
            ..
        } => (
            None,
            format!(
                "{} by {reviewer_name}: {comment}",
                match decision {
                    Decision::Approved => "approved",
                    Decision::Rejected => "rejected",
                }
            ),
        ),
        InstructionArchived { file_name, .. } => {
            (None, format!("instruction text {file_name} archived"))
        }
        ComponentRemoved {
            step,
            refdes,
            part_number,
            ..
        } => (
            Some(*step),
            format!(
                "component removed from {}{}",
                refdes.join(", "),
                part_number
                    .as_ref()
                    .map(|p| format!(" (P/N {p})"))
                    .unwrap_or_default()
            ),
        ),
        ComponentInstalled {
            step,
            refdes,
            part_number,
            lot,
            date_code,
            ..
        } => (
            Some(*step),
            format!(
                "component fitted at {}: P/N {part_number}{}{}",
                refdes.join(", "),
                lot.as_ref()
                    .map(|l| format!(", lot {l}"))
                    .unwrap_or_default(),
                date_code
                    .as_ref()
                    .map(|d| format!(", date code {d}"))
                    .unwrap_or_default()
            ),
        ),
        ReviewMirrored {
            decision,
            reviewer_name,
            comment,
            hub_seq,
            ..
        } => (
            None,
            format!(
                "{} at the hub by {reviewer_name}: {comment} (hub record {hub_seq})",
                match decision {
                    Decision::Approved => "approved",
                    Decision::Rejected => "rejected",
                }
            ),
        ),
        BoardHistoryCounted {
            jobs,
            benches,
            elsewhere,
            scope,
            unknown_procedures,
            ..
        } => (
            None,
            super::board::CountedRecord {
                jobs: *jobs,
                benches: *benches,
                elsewhere: *elsewhere,
                scope: scope.clone(),
                unknown_procedures: *unknown_procedures,
            }
            .text(),
        ),
        other => (None, other.kind().replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::ProductClass;
    use chrono::TimeZone;

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: Utc
                .with_ymd_and_hms(2026, 11, 23, 10, 0, seq as u32)
                .unwrap(),
            actor: "T1".into(),
            event,
        }
    }

    fn started() -> Event {
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
            procedures: vec![],
        }
    }

    fn signed(cp: u32, result: CheckResult) -> Event {
        Event::CheckpointSigned {
            job: "J1".into(),
            step: 0,
            checkpoint: cp,
            signer: "T1".into(),
            signer_name: "T".into(),
            meaning: Meaning::Performed,
            result,
            measurement: None,
            comment: None,
            recorded: None,
        }
    }

    #[test]
    fn blockers_table() {
        use crate::domain::command::{CheckKind, CheckpointPlan, LotPlan, StepPlan};
        // One technician checkpoint and a flux lot.
        let plan = StepPlan {
            checkpoints: vec![CheckpointPlan {
                kind: CheckKind::Confirm,
                inspector: false,
                min: None,
                max: None,
                unit: String::new(),
                recorded: None,
            }],
            lots: vec![LotPlan {
                material: "flux".into(),
                needs_expiry: false,
            }],
            window: None,
            component: None,
        };
        let lot = Event::LotRecorded {
            job: "J1".into(),
            step: 0,
            material: "flux".into(),
            lot: "L1".into(),
            expiry: None,
            gtin: None,
            raw_scan: "L1".into(),
        };
        let exc = Event::Excursion {
            job: "J1".into(),
            step: 0,
            id: 1,
            channel: "tip".into(),
            window_min_c: 300.0,
            window_max_c: 350.0,
            peak_c: 360.0,
            started: Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
            ended: None,
        };
        let ack = Event::ExcursionAcknowledged {
            job: "J1".into(),
            step: 0,
            id: 1,
            comment: "tip cleaned".into(),
        };
        let cases: Vec<(&str, Vec<Event>, usize)> = vec![
            ("nothing done", vec![], 2),
            ("signed, no lot", vec![signed(0, CheckResult::Confirmed)], 1),
            (
                "signed and lot",
                vec![signed(0, CheckResult::Confirmed), lot.clone()],
                0,
            ),
            (
                "failed checkpoint",
                vec![signed(0, CheckResult::Fail), lot.clone()],
                1,
            ),
            (
                "open alarm",
                vec![signed(0, CheckResult::Pass), lot.clone(), exc.clone()],
                1,
            ),
            (
                "acknowledged alarm",
                vec![signed(0, CheckResult::Pass), lot, exc, ack],
                0,
            ),
        ];
        for (name, events, n) in cases {
            let mut recs = vec![rec(0, started())];
            recs.extend(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| rec(i as u64 + 1, e)),
            );
            let job = Job::fold(&recs).unwrap();
            let got = crate::domain::decide::blockers(&job, 0, &plan);
            assert_eq!(got.len(), n, "{name}: {got:?}");
        }
    }

    #[test]
    fn fold_follows_the_life_of_a_job() {
        let recs: Vec<Record> = vec![
            started(),
            Event::StepStarted {
                job: "J1".into(),
                step: 0,
            },
            signed(0, CheckResult::Fail),
            Event::StepRedone {
                job: "J1".into(),
                step: 0,
                reason: "bridge".into(),
            },
            Event::JobSuspended {
                job: "J1".into(),
                reason: "shift end".into(),
            },
            Event::JobResumed {
                job: "J1".into(),
                reason: String::new(),
            },
            Event::JobSubmitted {
                job: "OTHER".into(),
            },
        ]
        .into_iter()
        .enumerate()
        .map(|(i, e)| rec(i as u64, e))
        .collect();
        let job = Job::fold(&recs).unwrap();
        assert_eq!(job.status, JobStatus::InProgress);
        assert_eq!(job.steps[0].attempts, 2);
        assert!(job.steps[0].signatures.is_empty());
        assert_eq!(job.history.len(), 1);
        assert_eq!(job.current_step(), Some(0));
        assert_eq!(job.last_event_seq, 5);
        // A held job suspended and resumed is still held.
        let mut held = recs[..3].to_vec();
        held.push(rec(
            3,
            Event::JobSuspended {
                job: "J1".into(),
                reason: "x".into(),
            },
        ));
        held.push(rec(
            4,
            Event::JobResumed {
                job: "J1".into(),
                reason: String::new(),
            },
        ));
        assert_eq!(Job::fold(&held).unwrap().status, JobStatus::Held);
        // A step out of range is ignored, not a panic.
        let mut odd = recs[..1].to_vec();
        odd.push(rec(
            1,
            Event::StepCompleted {
                job: "J1".into(),
                step: 99,
                temperature: vec![],
                sample_count: 0,
                samples_digest: String::new(),
                attempt: 0,
            },
        ));
        assert!(Job::fold(&odd).is_some());
    }

    #[test]
    fn a_redo_opens_a_new_attempt_with_its_own_samples_and_keeps_the_first() {
        let done = |attempt| Event::StepCompleted {
            job: "J1".into(),
            step: 0,
            temperature: vec![],
            sample_count: 3,
            samples_digest: format!("d{attempt}"),
            attempt,
        };
        let recs: Vec<Record> = vec![
            started(),
            Event::StepStarted {
                job: "J1".into(),
                step: 0,
            },
            signed(0, CheckResult::Fail),
            Event::StepRedone {
                job: "J1".into(),
                step: 0,
                reason: "land 2 lifted".into(),
            },
            Event::StepStarted {
                job: "J1".into(),
                step: 0,
            },
            signed(0, CheckResult::Pass),
            done(2),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, e)| rec(i as u64, e))
        .collect();
        let job = Job::fold(&recs).unwrap();
        let s = &job.steps[0];
        assert_eq!(s.attempts, 2);
        assert_eq!(s.attempt_log.len(), 2);
        let (first, second) = (&s.attempt_log[0], &s.attempt_log[1]);
        assert_eq!(first.number, 1);
        assert_eq!(first.sample_stream, 0);
        assert_eq!(first.signatures.len(), 1);
        assert_eq!(first.signatures[0].result, CheckResult::Fail);
        assert!(first.completed.is_none());
        assert_eq!(second.reason.as_deref(), Some("land 2 lifted"));
        assert_eq!(second.opened_by.as_deref(), Some("T1"));
        assert_eq!(second.sample_stream, sample_stream(0, 2));
        assert_ne!(second.sample_stream, first.sample_stream);
        assert_eq!(second.samples_digest.as_deref(), Some("d2"));
        assert_eq!(second.signatures[0].attempt, 2);
        assert_eq!(s.sample_stream, second.sample_stream);
        assert_eq!(job.history.len(), 2);
        assert_eq!(job.timeline.len(), recs.len());
        assert!(
            job.timeline[3]
                .text
                .contains("step 1 redone: land 2 lifted")
        );
        assert_eq!(sample_stream(3, 1), 3);
        assert_eq!(sample_stream(3, 0), 3);
    }
}
