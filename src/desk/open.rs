//! A job as the hub sent it, made into what the review screen shows: the records
//! decoded and folded with the bench's own `Job::fold`, the instruction from its
//! archived text, one chart per step from the samples of its latest attempt.

use std::sync::Arc;

use chrono::Utc;

use crate::domain::event::{Event, Record};
use crate::domain::job::{Job, JobStatus};
use crate::hub::desk::DeskJob;
use crate::tui::state::{ReviewState, StepTrace};

use super::state::OpenJob;

/// Points per chart: a step's samples are thinned to what a terminal can show.
const MAX_POINTS: usize = 240;

/// Why a job from the hub cannot be shown.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenError {
    #[error("bench {bench} job {job}: record {seq} does not read ({detail})")]
    Unreadable {
        bench: String,
        job: String,
        seq: u64,
        detail: String,
    },
    #[error("bench {bench}: the hub's records of job {job} hold no start")]
    NoStart { bench: String, job: String },
}

/// Decodes, folds and charts `j`.
pub fn open(j: DeskJob) -> Result<OpenJob, OpenError> {
    let mut records: Vec<Record> = Vec::with_capacity(j.records.len());
    let mut submission = None;
    for raw in &j.records {
        let bytes = raw.get().as_bytes();
        let unreadable = |seq: u64, detail: String| OpenError::Unreadable {
            bench: j.bench.clone(),
            job: j.job.clone(),
            seq,
            detail,
        };
        let head = crate::store::wire::head(bytes).map_err(|e| unreadable(0, e.to_string()))?;
        let rec = crate::store::wire::decode(head.seq, bytes)
            .map_err(|e| unreadable(head.seq, e.to_string()))?
            .record;
        if matches!(rec.event, Event::JobSubmitted { .. }) {
            submission = Some((
                head.seq,
                hex::encode(crate::store::chain_hash(head.seq, &head.prev_hash, bytes)),
            ));
        }
        records.push(rec);
    }
    let job = Job::fold(&records).ok_or_else(|| OpenError::NoStart {
        bench: j.bench.clone(),
        job: j.job.clone(),
    })?;
    // Waiting for a decision: submitted, not reviewed at the bench since (the
    // status says), and not decided at the hub. The hub re-checks all of it.
    let submission = submission.filter(|(seq, _)| {
        job.status == JobStatus::Submitted && !j.decisions.iter().any(|d| d.submitted_seq == *seq)
    });
    let instruction = j.instruction.as_ref().and_then(|i| {
        crate::core::archived_instruction(&crate::store::ArchivedText {
            seq: i.seq,
            hash: i.hash.clone(),
            file_name: i.file_name.clone(),
            text: i.text.clone(),
        })
        .ok()
        .map(Arc::new)
    });
    let traces = traces(&job, &records, &j);
    let no_instruction = instruction.is_none();
    let behind = j.bench_seq.saturating_sub(j.hub_seq);
    Ok(OpenJob {
        behind,
        bench: j.bench,
        store_id: j.store_id,
        submission,
        decisions: j.decisions,
        samples_pending: j.samples_pending.len(),
        no_instruction,
        review: ReviewState {
            open: Some((job, instruction)),
            traces,
            ..ReviewState::default()
        },
        read_at: None,
    })
}

/// Each step's chart: the channel its window watched (as the step's summary
/// recorded it), else its busiest channel; the latest attempt's samples only.
fn traces(job: &Job, records: &[Record], j: &DeskJob) -> Vec<StepTrace> {
    let mut out = Vec::new();
    for (i, state) in job.steps.iter().enumerate() {
        if state.sample_count == 0 {
            continue;
        }
        let step = i as u32;
        let Some(seal) = records
            .iter()
            .rev()
            .find(|r| matches!(&r.event, Event::StepCompleted { step: s, .. } if *s == step))
            .map(|r| r.seq)
        else {
            continue;
        };
        let Some(held) = j.samples.iter().find(|s| s.seal_seq == seal) else {
            continue;
        };
        let windowed = state
            .temperature
            .iter()
            .find(|c| c.window_min_c.is_some() || c.window_max_c.is_some());
        let channel = match windowed.or_else(|| state.temperature.iter().max_by_key(|c| c.count)) {
            Some(c) => c.channel.clone(),
            None => continue,
        };
        let window = windowed.map(|c| {
            (
                c.window_min_c.unwrap_or(f64::NEG_INFINITY),
                c.window_max_c.unwrap_or(f64::INFINITY),
            )
        });
        let samples: Vec<_> = held
            .samples
            .iter()
            .filter(|s| s.channel == channel)
            .map(|s| (s.time, s.celsius))
            .collect();
        let Some(first) = samples.first().map(|s| s.0) else {
            continue;
        };
        let secs = |t: chrono::DateTime<Utc>| (t - first).num_milliseconds() as f64 / 1000.0;
        let every = samples.len().div_ceil(MAX_POINTS).max(1);
        let points = samples
            .iter()
            .step_by(every)
            .map(|(t, c)| (secs(*t), *c))
            .collect();
        let attempt = state.attempt();
        let excursions = job
            .excursions
            .iter()
            .filter(|e| e.step == step && e.channel == channel && e.attempt.max(1) == attempt)
            .map(|e| (secs(e.started), e.ended.map_or(f64::INFINITY, secs)))
            .collect();
        out.push(StepTrace {
            step,
            channel,
            window,
            points,
            excursions,
        });
    }
    out
}
