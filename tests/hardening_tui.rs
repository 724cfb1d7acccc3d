//! Overlong input at the bench: what is typed is what is saved, whole, never a
//! value silently cut at some length. Headless: the real `update`, the real
//! executor, a real store.

#[allow(dead_code)]
mod tui_support;

use std::path::Path;

use chrono::Utc;
use traveler::domain::event::Event;
use traveler::tui::action::{Action, Reply};
use traveler::tui::effect::Read;
use traveler::tui::state::{Modal, Screen};
use tui_support::Bench;

fn long(prefix: &str, n: usize) -> String {
    let mut s = prefix.to_string();
    while s.len() < n {
        s.push_str(&format!("-{}", s.len()));
    }
    s.truncate(n);
    s
}

#[test]
fn overlong_typed_values_are_saved_whole() {
    let mut b = Bench::demo();
    b.login("T100", "1111");

    // The new-job form, every value typed key by key, two of them long.
    let serial = long("SN", 200);
    let ncr = long("NCR", 150);
    b.new_job_details(&[serial.as_str(), "PCA-1001", "C", "U7", ncr.as_str(), ""]);
    b.act(Action::Command('3'));
    b.act(Action::Enter);
    b.act(Action::Enter);
    b.select_instruction("WI-CC-001");
    b.act(Action::Enter);
    assert!(
        matches!(b.state.screen, Screen::Runner(_)),
        "{:?}",
        b.state.flash
    );

    // A lot typed by hand (its first step records the stripper's lot and
    // expiry), longer than any field used to take.
    let lot = long("LOT", 180);
    let expiry = (Utc::now() + chrono::Duration::days(365)).format("%Y-%m-%d");
    let typed = format!("{lot} {expiry}");
    b.act(Action::Command('l'));
    b.typ(&typed);
    let Some(Modal::Lot { field, .. }) = &b.state.modal else {
        panic!("{:?}", b.state.modal)
    };
    assert_eq!(field.value, typed, "the field holds everything typed");
    b.act(Action::Enter);

    let events: Vec<Event> = b.events();
    let started = events
        .iter()
        .find_map(|e| match e {
            Event::JobStarted {
                board_serial,
                defect_ref,
                ..
            } => Some((board_serial.clone(), defect_ref.clone())),
            _ => None,
        })
        .expect("job started");
    assert_eq!(started, (serial, ncr));
    let lots: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::LotRecorded { lot, .. } => Some(lot),
            _ => None,
        })
        .collect();
    // Recorded whole, or refused with a word (a step without a lot to record):
    // never a shortened lot.
    assert!(
        lots.iter().all(|l| **l == lot),
        "a lot was saved cut: {lots:?}"
    );
    assert!(!lots.is_empty(), "DEBUG {:?}", b.state.flash);
    if lots.is_empty() {
        let said = b.flash();
        assert!(!said.is_empty(), "lot neither saved nor refused");
    }
}

/// `e` on the review screen writes the job's report and record: owner-only,
/// whatever the umask (they name people and carry their signatures).
#[test]
fn the_review_screen_export_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    use traveler::tui::action::Outcome;
    use traveler::tui::effect::Effect;
    let mut b = Bench::demo();
    let exports = b.exec.export_dir.clone();
    b.login("T100", "1111");
    b.new_job_details(&["SN-PERM", "PCA-1001", "C", "U7", "NCR-1", ""]);
    b.act(Action::Command('3'));
    b.act(Action::Enter);
    b.act(Action::Enter);
    b.act(Action::Enter);
    let job = b
        .store
        .events()
        .find_map(|r| match r.unwrap().event {
            Event::JobStarted { job, .. } => Some(job),
            _ => None,
        })
        .expect("a job");
    // SAFETY: this binary's other test creates only its own temporary files.
    let old = unsafe { libc::umask(0o000) };
    let outcome = b.exec.run(Effect::Read {
        request: traveler::core::RequestId(99),
        read: Read::ExportJob { job: job.clone() },
    });
    unsafe { libc::umask(old) };
    let Some(Reply {
        outcome: Outcome::Exported(Ok(folder)),
        ..
    }) = outcome
    else {
        panic!("{outcome:?}")
    };
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let folder = Path::new(&folder);
    assert_eq!(mode(&exports), 0o700);
    assert_eq!(mode(folder), 0o700);
    let files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|x| x == "json"))
    );
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|x| x == "html"))
    );
    for f in files.iter().filter(|f| f.is_file()) {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
}
