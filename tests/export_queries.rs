//! Board history, where-used and open reviews on a real store.

mod export_support;

use export_support::*;
use traveler::domain::event::Event;
use traveler::domain::job::JobStatus;
use traveler::export::queries::{board_history, open_reviews, where_used};

#[test]
fn where_used_finds_exactly_the_boards_that_used_the_lot() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);

    let uses = where_used(&store, "LOT-FLUX-1").unwrap();
    let mut boards: Vec<&str> = uses.iter().map(|u| u.serial.as_str()).collect();
    boards.dedup();
    assert_eq!(boards, ["SN-100", "SN-200"]);
    let jobs: std::collections::BTreeSet<&str> = uses.iter().map(|u| u.job.as_str()).collect();
    assert_eq!(jobs.into_iter().collect::<Vec<_>>(), ["J-BGA-1", "J-TH-1"]);
    // Every use is a flux scan, in time order, with its step.
    assert!(
        uses.iter()
            .all(|u| u.material == "flux" && u.lot == "LOT-FLUX-1")
    );
    assert!(uses.windows(2).all(|w| w[0].time <= w[1].time));
    // J-TH-1 scans flux at steps 3 and 6; J-BGA-1 at steps 5, 6 and 7.
    assert_eq!(uses.len(), 2 + 3);
    assert_eq!(uses[0].step, 2);

    let only_second = where_used(&store, "LOT-FLUX-2").unwrap();
    assert_eq!(only_second.len(), 1, "J-TH-2 got as far as step 3 only");
    assert_eq!(only_second[0].job, "J-TH-2");
    assert!(where_used(&store, "LOT-NOWHERE").unwrap().is_empty());
    // A lot number that is a prefix of another is not confused with it.
    assert!(where_used(&store, "LOT-FLUX").unwrap().is_empty());
}

#[test]
fn history_lists_jobs_in_time_order_and_counts_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);
    run_job(
        &store,
        &lib,
        &JobScript {
            id: "J-TH-0",
            serial: "SN-100",
            instruction: "WI-TH-001",
            refdes: &["j3", "R9"],
            lots: &[],
            excursion_step: None,
            // Aborted before anything was done: not a cycle.
            outcome: Outcome::Aborted(0),
            start: t0() - chrono::Duration::days(5),
        },
    );

    let h = board_history(&store, &lib, "SN-100").unwrap();
    let ids: Vec<&str> = h.jobs.iter().map(|j| j.job.as_str()).collect();
    assert_eq!(ids, ["J-TH-0", "J-TH-1", "J-TH-2"]);
    assert_eq!(h.jobs[0].status, JobStatus::Aborted);
    assert!(!h.jobs[0].counts_as_cycle);
    assert_eq!(h.jobs[1].status, JobStatus::Approved);
    assert_eq!(h.jobs[1].performer, TECH.0);
    assert!(h.jobs[1].finished.is_some());
    assert_eq!(
        h.jobs[1].instruction_title.as_deref(),
        Some("Through-hole component removal (continuous vacuum) and replacement")
    );
    assert_eq!(h.jobs[2].status, JobStatus::InProgress);

    let cycles: Vec<(&str, u32)> = h
        .cycles
        .iter()
        .map(|c| (c.refdes.as_str(), c.cycles))
        .collect();
    assert_eq!(cycles, [("j3", 2), ("R9", 0)]);
    assert_eq!(h.cycles[0].jobs, ["J-TH-1", "J-TH-2"]);

    assert!(
        board_history(&store, &lib, "SN-NONE")
            .unwrap()
            .jobs
            .is_empty()
    );
}

#[test]
fn open_reviews_are_the_submitted_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);
    assert!(open_reviews(&store).unwrap().is_empty());
    store
        .append_at(
            t0(),
            TECH.0,
            Event::JobSubmitted {
                job: "J-TH-2".into(),
            },
        )
        .unwrap();
    let open = open_reviews(&store).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].job, "J-TH-2");
    assert_eq!(open[0].serial, "SN-100");
}
