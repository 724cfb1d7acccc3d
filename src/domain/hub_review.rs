//! Whether the hub may decide a review of a bench's submission (#16): the rules on
//! the submission itself, before the reviewer and the job are judged by the bench's
//! own rules (`decide`). Pure: the handler reads the facts under the hub chain's lock
//! and asks here.

use super::event::{Event, Record};
use super::types::Decision;

/// A decision the hub chain holds already on the same submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubDecision {
    pub hub_seq: u64,
    pub decision: Decision,
    pub reviewer: String,
}

/// Why a submission cannot be decided at the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotAdmitted {
    /// The hub decided this submission already (one decision per submission).
    DecidedAtHub {
        hub_seq: u64,
        decision: Decision,
        reviewer: String,
    },
    /// The bench reviewed the job after this submission (never both).
    ReviewedAtBench {
        seq: u64,
        decision: Decision,
        reviewer: String,
    },
    /// The job was submitted again after this one: only its latest is reviewed.
    Superseded { latest: u64 },
}

/// Decides whether the submission at bench seq `submitted_seq` may be decided,
/// given `job` (the job's records of that bench chain as the hub holds them, in
/// order) and the hub's earlier decision on it, if any. The earliest thing after the
/// submission decides: a review at the bench, or a newer submission.
pub fn admit(
    submitted_seq: u64,
    job: &[Record],
    decided_at_hub: Option<&HubDecision>,
) -> Result<(), NotAdmitted> {
    if let Some(d) = decided_at_hub {
        return Err(NotAdmitted::DecidedAtHub {
            hub_seq: d.hub_seq,
            decision: d.decision,
            reviewer: d.reviewer.clone(),
        });
    }
    for r in job.iter().filter(|r| r.seq > submitted_seq) {
        match &r.event {
            Event::JobReviewed {
                decision, reviewer, ..
            } => {
                return Err(NotAdmitted::ReviewedAtBench {
                    seq: r.seq,
                    decision: *decision,
                    reviewer: reviewer.clone(),
                });
            }
            Event::JobSubmitted { .. } => {
                return Err(NotAdmitted::Superseded { latest: r.seq });
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn rec(seq: u64, event: Event) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
            actor: "T100".into(),
            event,
        }
    }

    fn submitted(seq: u64) -> Record {
        rec(seq, Event::JobSubmitted { job: "J".into() })
    }

    fn reviewed(seq: u64, decision: Decision) -> Record {
        rec(
            seq,
            Event::JobReviewed {
                job: "J".into(),
                decision,
                reviewer: "S400".into(),
                reviewer_name: "S".into(),
                comment: String::new(),
            },
        )
    }

    /// Any other record of the job's (neither a submission nor a review).
    fn started(seq: u64) -> Record {
        rec(
            seq,
            Event::LoggedIn {
                badge: "T100".into(),
                bench: "BENCH-A".into(),
            },
        )
    }

    #[test]
    fn which_submissions_the_hub_may_decide() {
        let at_hub = HubDecision {
            hub_seq: 9,
            decision: Decision::Rejected,
            reviewer: "S500".into(),
        };
        type Case = (
            &'static str,
            u64,
            Vec<Record>,
            Option<HubDecision>,
            Result<(), NotAdmitted>,
        );
        let cases: Vec<Case> = vec![
            (
                "the job's latest submission, undecided",
                5,
                vec![started(1), submitted(5)],
                None,
                Ok(()),
            ),
            (
                "decided at the hub already",
                5,
                vec![started(1), submitted(5)],
                Some(at_hub.clone()),
                Err(NotAdmitted::DecidedAtHub {
                    hub_seq: 9,
                    decision: Decision::Rejected,
                    reviewer: "S500".into(),
                }),
            ),
            (
                "reviewed at the bench since",
                5,
                vec![started(1), submitted(5), reviewed(6, Decision::Approved)],
                None,
                Err(NotAdmitted::ReviewedAtBench {
                    seq: 6,
                    decision: Decision::Approved,
                    reviewer: "S400".into(),
                }),
            ),
            (
                "submitted again since",
                5,
                vec![started(1), submitted(5), submitted(8)],
                None,
                Err(NotAdmitted::Superseded { latest: 8 }),
            ),
            (
                "rejected at the bench, then resubmitted: the review comes first",
                5,
                vec![submitted(5), reviewed(6, Decision::Rejected), submitted(8)],
                None,
                Err(NotAdmitted::ReviewedAtBench {
                    seq: 6,
                    decision: Decision::Rejected,
                    reviewer: "S400".into(),
                }),
            ),
            (
                "the resubmission after a bench rejection",
                8,
                vec![submitted(5), reviewed(6, Decision::Rejected), submitted(8)],
                None,
                Ok(()),
            ),
            (
                "a review before the submission does not count",
                8,
                vec![reviewed(6, Decision::Rejected), submitted(8), started(9)],
                None,
                Ok(()),
            ),
        ];
        for (name, seq, job, hub, want) in cases {
            assert_eq!(admit(seq, &job, hub.as_ref()), want, "{name}");
        }
    }
}
