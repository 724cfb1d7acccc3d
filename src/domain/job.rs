//! A `Job` is a fold over its events: nothing about a job is stored any other way.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::event::{ChannelSummary, Event, Measurement, Record};
use super::types::{CheckResult, Decision, Meaning, ProductClass};

#[derive(Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
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
    pub signer: String,
    pub signer_name: String,
    pub meaning: Meaning,
    pub time: DateTime<Utc>,
    pub result: CheckResult,
    pub measurement: Option<Measurement>,
    pub comment: Option<String>,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Lot {
    pub step: u32,
    pub material: String,
    pub lot: String,
    pub expiry: Option<NaiveDate>,
    pub gtin: Option<String>,
    pub raw_scan: String,
    pub time: DateTime<Utc>,
}

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct ExcursionRecord {
    pub step: u32,
    pub id: u32,
    pub channel: String,
    pub window_min_c: f64,
    pub window_max_c: f64,
    pub peak_c: f64,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub acknowledgement: Option<String>,
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
    pub excursions: Vec<ExcursionRecord>,
    pub reviews: Vec<Review>,
    pub submitted: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub abort_reason: Option<String>,
    pub last_event_seq: u64,
}

impl Job {
    /// Folds a job from its records in sequence order. Records of other jobs are
    /// ignored; `None` if the job-started record is missing.
    pub fn fold<'a>(records: impl IntoIterator<Item = &'a Record>) -> Option<Job> {
        let mut job: Option<Job> = None;
        for rec in records {
            match (&mut job, &rec.event) {
                (None, Event::JobStarted { .. }) => job = Job::from_start(rec),
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
        } = &rec.event
        else {
            return None;
        };
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
            approval_ref: approval_ref.clone(),
            bench: bench.clone(),
            performer: performer.clone(),
            started: rec.time,
            status: JobStatus::InProgress,
            status_before_suspend: None,
            steps: vec![StepState::default(); *step_count as usize],
            history: Vec::new(),
            lots: Vec::new(),
            excursions: Vec::new(),
            reviews: Vec::new(),
            submitted: None,
            finished: None,
            abort_reason: None,
            last_event_seq: rec.seq,
        })
    }

    /// Applies one record of this job. Out-of-range step numbers are ignored rather
    /// than trusted: the fold must never panic on a stored record.
    pub fn apply(&mut self, rec: &Record) {
        self.last_event_seq = rec.seq;
        let time = rec.time;
        match &rec.event {
            Event::StepStarted { step, .. } => {
                if let Some(s) = self.step_mut(*step) {
                    if s.started.is_none() {
                        s.started = Some(time);
                    }
                    s.attempts = s.attempts.max(1);
                }
            }
            Event::StepCompleted {
                step,
                temperature,
                sample_count,
                samples_digest,
                ..
            } => {
                if let Some(s) = self.step_mut(*step) {
                    s.completed = Some(time);
                    s.temperature = temperature.clone();
                    s.sample_count = *sample_count;
                    s.samples_digest = Some(samples_digest.clone());
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
                ..
            } => {
                let sig = Signature {
                    step: *step,
                    checkpoint: *checkpoint,
                    signer: signer.clone(),
                    signer_name: signer_name.clone(),
                    meaning: *meaning,
                    time,
                    result: *result,
                    measurement: measurement.clone(),
                    comment: comment.clone(),
                };
                self.history.push(sig.clone());
                if let Some(s) = self.step_mut(*step) {
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
                material: material.clone(),
                lot: lot.clone(),
                expiry: *expiry,
                gtin: gtin.clone(),
                raw_scan: raw_scan.clone(),
                time,
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
                    id: *id,
                    channel: channel.clone(),
                    window_min_c: *window_min_c,
                    window_max_c: *window_max_c,
                    peak_c: *peak_c,
                    started: *started,
                    ended: *ended,
                    acknowledgement: None,
                };
                // An excursion may be recorded when it starts and again when it ends.
                match self
                    .excursions
                    .iter_mut()
                    .find(|e| e.step == *step && e.id == *id)
                {
                    Some(existing) => {
                        let ack = existing.acknowledgement.take();
                        *existing = ExcursionRecord {
                            acknowledgement: ack,
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
                }
            }
            Event::StepRedone { step, .. } => {
                if let Some(s) = self.step_mut(*step) {
                    s.signatures.clear();
                    s.completed = None;
                    s.attempts += 1;
                }
                self.status = JobStatus::InProgress;
            }
            Event::JobSuspended { .. } => {
                if self.status != JobStatus::Suspended {
                    self.status_before_suspend = Some(self.status);
                }
                self.status = JobStatus::Suspended;
            }
            Event::JobResumed { .. } => {
                self.status = self
                    .status_before_suspend
                    .take()
                    .unwrap_or(JobStatus::InProgress);
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
            Event::JobReviewed {
                decision,
                reviewer,
                reviewer_name,
                comment,
                ..
            } => {
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
            _ => {}
        }
    }

    fn step_mut(&mut self, step: u32) -> Option<&mut StepState> {
        self.steps.get_mut(step as usize)
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

    pub fn lots_for_step(&self, step: u32) -> impl Iterator<Item = &Lot> {
        self.lots.iter().filter(move |l| l.step == step)
    }

    /// Highest temperature any channel reached in the job, for summaries.
    pub fn peak_c(&self) -> Option<f64> {
        self.steps
            .iter()
            .flat_map(|s| s.temperature.iter().map(|c| c.peak_c))
            .fold(None, |acc: Option<f64>, v| Some(acc.map_or(v, |a| a.max(v))))
    }
}
