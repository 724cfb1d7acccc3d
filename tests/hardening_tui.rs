//! Overlong input at the bench: what is typed is what is saved, whole, never a
//! value silently cut at some length. Headless: the real `update`, the real
//! executor, a real store.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use traveler::domain::event::Event;
use traveler::instruction::load_dir;
use traveler::store::{OpenOptions, Store};
use traveler::tui::action::{Action, Reply};
use traveler::tui::effect::Read;
use traveler::tui::exec::Executor;
use traveler::tui::runtime::dispatch;
use traveler::tui::state::{Modal, Screen, State};

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
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store"), OpenOptions::default()).unwrap();
    let loaded = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"));
    let library = Arc::new(loaded.library);
    traveler::demo::seed(
        &store,
        library.policy.as_ref().unwrap(),
        Utc::now().date_naive(),
    )
    .unwrap();
    // The demo store's instructions are released, as the demo application's are.
    traveler::demo::seed_releases(&store, &library, Utc::now()).unwrap();
    let exec = Executor::new(
        traveler::core::Core::new(store.clone(), library.clone(), "B1"),
        dir.path().join("exports"),
    );
    let mut state = State::new(library.clone(), "B1", Utc::now());
    let mut act = |state: &mut State, a: Action| dispatch(state, &exec, a);
    let typ = |state: &mut State, act: &mut dyn FnMut(&mut State, Action), text: &str| {
        for c in text.chars() {
            act(state, Action::Char(c));
        }
    };
    act(&mut state, Action::Scan("T100".into()));
    typ(&mut state, &mut act, "1111");
    act(&mut state, Action::Enter);

    // The new-job form, every value typed key by key, two of them long.
    let serial = long("SN", 200);
    let ncr = long("NCR", 150);
    act(&mut state, Action::Command('n'));
    for value in [serial.as_str(), "PCA-1001", "C", "U7", ncr.as_str(), ""] {
        typ(&mut state, &mut act, value);
        act(&mut state, Action::Enter);
    }
    act(&mut state, Action::Command('3'));
    act(&mut state, Action::Enter);
    act(&mut state, Action::Enter);
    let idx = library
        .instructions
        .iter()
        .position(|i| i.id() == "WI-CC-001")
        .unwrap();
    for _ in 0..idx {
        act(&mut state, Action::Down);
    }
    act(&mut state, Action::Enter);
    assert!(
        matches!(state.screen, Screen::Runner(_)),
        "{:?}",
        state.flash
    );

    // A lot typed by hand (its first step records the stripper's lot and
    // expiry), longer than any field used to take.
    let lot = long("LOT", 180);
    let expiry = (Utc::now() + chrono::Duration::days(365)).format("%Y-%m-%d");
    let typed = format!("{lot} {expiry}");
    act(&mut state, Action::Command('l'));
    typ(&mut state, &mut act, &typed);
    let Some(Modal::Lot { field, .. }) = &state.modal else {
        panic!("{:?}", state.modal)
    };
    assert_eq!(field.value, typed, "the field holds everything typed");
    act(&mut state, Action::Enter);

    let events: Vec<Event> = store.events().map(|r| r.unwrap().event).collect();
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
    assert!(!lots.is_empty(), "DEBUG {:?}", state.flash);
    if lots.is_empty() {
        let said = state
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
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
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store"), OpenOptions::default()).unwrap();
    let loaded = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"));
    let library = Arc::new(loaded.library);
    traveler::demo::seed(
        &store,
        library.policy.as_ref().unwrap(),
        Utc::now().date_naive(),
    )
    .unwrap();
    // The demo store's instructions are released, as the demo application's are.
    traveler::demo::seed_releases(&store, &library, Utc::now()).unwrap();
    let exports = dir.path().join("exports");
    let exec = Executor::new(
        traveler::core::Core::new(store.clone(), library.clone(), "B1"),
        exports.clone(),
    );
    let mut state = State::new(library.clone(), "B1", Utc::now());
    dispatch(&mut state, &exec, Action::Scan("T100".into()));
    for c in "1111".chars() {
        dispatch(&mut state, &exec, Action::Char(c));
    }
    dispatch(&mut state, &exec, Action::Enter);
    dispatch(&mut state, &exec, Action::Command('n'));
    for value in ["SN-PERM", "PCA-1001", "C", "U7", "NCR-1", ""] {
        for c in value.chars() {
            dispatch(&mut state, &exec, Action::Char(c));
        }
        dispatch(&mut state, &exec, Action::Enter);
    }
    dispatch(&mut state, &exec, Action::Command('3'));
    dispatch(&mut state, &exec, Action::Enter);
    dispatch(&mut state, &exec, Action::Enter);
    dispatch(&mut state, &exec, Action::Enter);
    let job = store
        .events()
        .find_map(|r| match r.unwrap().event {
            Event::JobStarted { job, .. } => Some(job),
            _ => None,
        })
        .expect("a job");
    // SAFETY: this binary's other test creates only its own temporary files.
    let old = unsafe { libc::umask(0o000) };
    let outcome = exec.run(Effect::Read {
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
