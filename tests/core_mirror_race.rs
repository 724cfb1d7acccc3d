//! A local review at the bench and a decision of the shop hub mirrored by the sync
//! task, on one submission at the same instant: both go through the core, which
//! takes one decision at a time on a store, so exactly one of them is recorded.

use std::path::Path;
use std::sync::{Arc, Barrier};

use chrono::Utc;

use traveler::core::{Core, Credentials, Request, RequestId};
use traveler::domain::command::{Command, Rejection};
use traveler::domain::event::{Event, SYSTEM_ACTOR};
use traveler::domain::mirror::HubDecision;
use traveler::domain::types::{Decision, ProductClass};
use traveler::instruction::load_dir;
use traveler::store::{OpenOptions, Store};

const ROUNDS: u64 = 40;

fn bench() -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store"), OpenOptions::default()).unwrap();
    let loaded = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"));
    let lib = Arc::new(loaded.library);
    traveler::demo::seed(
        &store,
        lib.policy.as_ref().unwrap(),
        Utc::now().date_naive(),
    )
    .unwrap();
    (dir, Core::new(store, lib, "B1"))
}

/// A job of T100's, submitted: its records as the bench wrote them (the steps are
/// not what this test is about). Returns the submission's seq.
fn submitted_job(store: &Store, job: &str) -> u64 {
    store
        .append(
            "T100",
            Event::JobStarted {
                job: job.into(),
                board_serial: format!("SN-{job}"),
                assembly_part: "PN".into(),
                assembly_rev: "A".into(),
                refdes: vec!["U7".into()],
                defect_ref: "NCR-1".into(),
                class: ProductClass::Class2,
                alloy: "SAC305".into(),
                instruction_id: "WI".into(),
                instruction_rev: "A".into(),
                instruction_hash: "ab".repeat(32),
                step_count: 0,
                approval_ref: None,
                bench: "B1".into(),
                performer: "T100".into(),
                procedures: vec![],
            },
        )
        .unwrap();
    store
        .append("T100", Event::JobSubmitted { job: job.into() })
        .unwrap()
        .seq
}

fn decisions(store: &Store, job: &str) -> Vec<Event> {
    store
        .events_of_job(job)
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .filter(|e| matches!(e, Event::JobReviewed { .. } | Event::ReviewMirrored { .. }))
        .collect()
}

#[test]
fn a_local_review_racing_a_mirrored_hub_decision_records_one_decision() {
    let (_dir, core) = bench();
    let store = core.store.clone();
    // The sync task's core: its own clone on the same store, as in the application.
    let mirror_core = traveler::hub::mirror::mirror_core(&store);
    let policy = core.library.policy.clone().unwrap();
    let (mut local_won, mut hub_won) = (0, 0);
    for round in 0..ROUNDS {
        let job = format!("J{round}");
        let submitted_seq = submitted_job(&store, &job);
        // Opposite decisions, so two records would contradict each other.
        let (local, hub) = if round % 2 == 0 {
            (Decision::Approved, Decision::Rejected)
        } else {
            (Decision::Rejected, Decision::Approved)
        };
        let start = Arc::new(Barrier::new(2));
        let reviewer = {
            let (core, start, job) = (core.clone(), start.clone(), job.clone());
            std::thread::spawn(move || {
                start.wait();
                core.execute(Request {
                    id: RequestId(1),
                    by: "S400".into(),
                    credentials: Some(Credentials {
                        badge: "S400".into(),
                        pin: "4444".into(),
                    }),
                    command: Command::Review {
                        job,
                        decision: local,
                        comment: "checked at the bench".into(),
                    },
                })
            })
        };
        let mirror = {
            let (core, start, job, store) = (
                mirror_core.clone(),
                start.clone(),
                job.clone(),
                store.clone(),
            );
            let policy = policy.clone();
            std::thread::spawn(move || {
                start.wait();
                // The review spends its first moments proving the PIN; the same
                // check here brings the mirror to the store at the same moment,
                // so the two decisions overlap in most rounds.
                let roster = traveler::people::auth::roster(&store).unwrap();
                let _ = traveler::people::auth::check_pin(
                    &roster,
                    &policy,
                    "S400",
                    "4444",
                    "review",
                    Utc::now(),
                );
                core.execute(Request {
                    id: RequestId(2),
                    by: SYSTEM_ACTOR.into(),
                    credentials: None,
                    command: Command::MirrorReview(Box::new(HubDecision {
                        hub_seq: 100 + round,
                        hub_hash: "cd".repeat(32),
                        job,
                        submitted_seq,
                        decision: hub,
                        reviewer: "S500".into(),
                        reviewer_name: "Sam at the desk".into(),
                        comment: "decided at the desk".into(),
                        decided_at: Utc::now(),
                    })),
                })
            })
        };
        let reviewed = reviewer.join().unwrap();
        let mirrored = mirror.join().unwrap();
        let recorded = decisions(&store, &job);
        assert_eq!(
            recorded.len(),
            1,
            "round {round}: exactly one decision on the submission, got {recorded:#?}\n\
             local review: {reviewed:?}\nmirror: {mirrored:?}"
        );
        // The one recorded is the one accepted; the other was refused for it.
        match (&reviewed.result, &mirrored.result) {
            (Ok(_), Err(Rejection::MirrorRefused(_))) => {
                local_won += 1;
                assert!(
                    matches!(recorded[0], Event::JobReviewed { decision, .. } if decision == local)
                );
            }
            (Err(Rejection::JobIs { .. }), Ok(a)) => {
                hub_won += 1;
                assert_eq!(a.records.len(), 1, "round {round}");
                assert!(
                    matches!(recorded[0], Event::ReviewMirrored { decision, .. } if decision == hub)
                );
            }
            other => panic!("round {round}: one accepted, one refused, got {other:?}"),
        }
    }
    assert_eq!(local_won + hub_won, ROUNDS);
    eprintln!("local review first: {local_won}, hub decision first: {hub_won}");
}
