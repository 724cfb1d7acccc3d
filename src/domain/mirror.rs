//! Mirroring a decision of the shop hub into the bench chain (pure). The hub decided
//! on one `JobSubmitted` record of this chain; the bench records it as
//! `ReviewMirrored`, referencing the hub's record, once, and only while that
//! submission is still the job's open one.

use super::event::{Event, Record};
use super::job::{Job, JobStatus};
use super::types::Decision;
use chrono::{DateTime, Utc};

/// A decision as the hub recorded it (its record checked by the caller: hash from
/// its bytes, this store's id).
#[derive(Clone, Debug, PartialEq)]
pub struct HubDecision {
    pub hub_seq: u64,
    pub hub_hash: String,
    pub job: String,
    pub submitted_seq: u64,
    pub decision: Decision,
    pub reviewer: String,
    pub reviewer_name: String,
    pub comment: String,
    /// The hub record's time: when the decision was made.
    pub decided_at: DateTime<Utc>,
}

/// Why a decision of the hub is not mirrored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MirrorRefusal {
    /// This chain has no such job.
    NoSuchJob { job: String },
    /// The record the hub decided on is not a submission of this job here.
    NotASubmission { job: String, seq: u64 },
    /// The job moved on here before the decision arrived (reviewed at the bench,
    /// submitted again, aborted): both are on record, the bench's stands here.
    Overtaken {
        job: String,
        seq: u64,
        status: JobStatus,
    },
}

impl std::fmt::Display for MirrorRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MirrorRefusal::NoSuchJob { job } => write!(f, "no job {job} in this store"),
            MirrorRefusal::NotASubmission { job, seq } => {
                write!(f, "record {seq} is not a submission of job {job}")
            }
            MirrorRefusal::Overtaken { job, seq, status } => write!(
                f,
                "job {job} is {} here since record {seq}: the hub's decision came too late",
                status.as_str()
            ),
        }
    }
}

/// The record to append for `d`, given the job's records in this chain: `Ok(None)`
/// when it is mirrored already.
pub fn mirror(records: &[Record], d: &HubDecision) -> Result<Option<Event>, MirrorRefusal> {
    let mirrored = records.iter().any(
        |r| matches!(&r.event, Event::ReviewMirrored { hub_seq, .. } if *hub_seq == d.hub_seq),
    );
    if mirrored {
        return Ok(None);
    }
    let job = Job::fold(records).ok_or_else(|| MirrorRefusal::NoSuchJob { job: d.job.clone() })?;
    let submitted = records
        .iter()
        .any(|r| r.seq == d.submitted_seq && matches!(r.event, Event::JobSubmitted { .. }));
    if !submitted {
        return Err(MirrorRefusal::NotASubmission {
            job: d.job.clone(),
            seq: d.submitted_seq,
        });
    }
    let latest = records
        .iter()
        .rev()
        .find(|r| matches!(r.event, Event::JobSubmitted { .. }))
        .map(|r| r.seq);
    if job.status != JobStatus::Submitted || latest != Some(d.submitted_seq) {
        let seq = records
            .iter()
            .find(|r| r.seq > d.submitted_seq)
            .map_or(d.submitted_seq, |r| r.seq);
        return Err(MirrorRefusal::Overtaken {
            job: d.job.clone(),
            seq,
            status: job.status,
        });
    }
    Ok(Some(Event::ReviewMirrored {
        job: d.job.clone(),
        decision: d.decision,
        reviewer: d.reviewer.clone(),
        reviewer_name: d.reviewer_name.clone(),
        comment: d.comment.clone(),
        submitted_seq: d.submitted_seq,
        hub_seq: d.hub_seq,
        hub_hash: d.hub_hash.clone(),
        decided_at: Some(d.decided_at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::SYSTEM_ACTOR;
    use crate::domain::types::ProductClass;
    use chrono::Utc;

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            prev_hash: "00".repeat(32),
            time: Utc::now(),
            actor: SYSTEM_ACTOR.into(),
            event,
        }
    }

    fn job_records() -> Vec<Record> {
        vec![
            rec(
                1,
                Event::JobStarted {
                    job: "J".into(),
                    board_serial: "SN".into(),
                    assembly_part: "P".into(),
                    assembly_rev: "A".into(),
                    refdes: vec![],
                    defect_ref: "N".into(),
                    class: ProductClass::Class2,
                    alloy: "SAC305".into(),
                    instruction_id: "WI".into(),
                    instruction_rev: "A".into(),
                    instruction_hash: "ab".repeat(32),
                    step_count: 0,
                    approval_ref: None,
                    bench: "B".into(),
                    performer: "T1".into(),
                    procedures: vec![],
                },
            ),
            rec(2, Event::JobSubmitted { job: "J".into() }),
        ]
    }

    fn decision(submitted_seq: u64) -> HubDecision {
        HubDecision {
            hub_seq: 7,
            hub_hash: "cd".repeat(32),
            job: "J".into(),
            submitted_seq,
            decision: Decision::Rejected,
            reviewer: "S1".into(),
            reviewer_name: "Sue".into(),
            comment: "redo the fillet".into(),
            decided_at: "2026-01-05T08:00:00Z".parse().unwrap(),
        }
    }

    /// A bench offline for days mirrors the decision when it syncs: the job's
    /// review is dated when the hub decided, not when the bench heard of it; a
    /// record from before the time was kept falls back to its own time.
    #[test]
    fn a_mirrored_review_is_dated_when_the_hub_decided() {
        let mut records = job_records();
        let e = mirror(&records, &decision(2)).unwrap().unwrap();
        records.push(rec(3, e.clone()));
        let job = Job::fold(&records).unwrap();
        let decided: DateTime<Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
        assert_eq!(job.reviews.last().unwrap().time, decided);

        let Event::ReviewMirrored {
            job,
            decision,
            reviewer,
            reviewer_name,
            comment,
            submitted_seq,
            hub_seq,
            hub_hash,
            ..
        } = e
        else {
            unreachable!()
        };
        let old = Event::ReviewMirrored {
            job,
            decision,
            reviewer,
            reviewer_name,
            comment,
            submitted_seq,
            hub_seq,
            hub_hash,
            decided_at: None,
        };
        let mut records = job_records();
        records.push(rec(3, old));
        let own = records[2].time;
        assert_eq!(
            Job::fold(&records).unwrap().reviews.last().unwrap().time,
            own
        );
    }

    #[test]
    fn a_decision_on_the_open_submission_is_mirrored_once() {
        let mut records = job_records();
        let e = mirror(&records, &decision(2)).unwrap().unwrap();
        assert!(matches!(
            &e,
            Event::ReviewMirrored {
                hub_seq: 7,
                submitted_seq: 2,
                ..
            }
        ));
        records.push(rec(3, e));
        assert_eq!(Job::fold(&records).unwrap().status, JobStatus::Rejected);
        assert_eq!(
            Job::fold(&records).unwrap().reviews.last().unwrap().comment,
            "redo the fillet"
        );
        assert_eq!(mirror(&records, &decision(2)), Ok(None), "once");
    }

    #[test]
    fn refusals_table() {
        let records = job_records();
        assert_eq!(
            mirror(&[], &decision(2)),
            Err(MirrorRefusal::NoSuchJob { job: "J".into() })
        );
        assert_eq!(
            mirror(&records, &decision(1)),
            Err(MirrorRefusal::NotASubmission {
                job: "J".into(),
                seq: 1
            })
        );
        let mut reviewed = records.clone();
        reviewed.push(rec(
            3,
            Event::JobReviewed {
                job: "J".into(),
                decision: Decision::Approved,
                reviewer: "S2".into(),
                reviewer_name: "Sam".into(),
                comment: "ok".into(),
            },
        ));
        assert_eq!(
            mirror(&reviewed, &decision(2)),
            Err(MirrorRefusal::Overtaken {
                job: "J".into(),
                seq: 3,
                status: JobStatus::Approved
            })
        );
    }
}
