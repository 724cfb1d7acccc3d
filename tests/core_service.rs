//! The application core against a real store: it decides on what is stored, not on
//! what a screen believed, and every request gets exactly one answer.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;

use traveler::core::{Core, Credentials, Request, RequestId};
use traveler::domain::command::{AuthFailure, Command, NewJob, Rejection, Verdict};
use traveler::domain::event::Event;
use traveler::domain::types::ProductClass;
use traveler::instruction::load_dir;
use traveler::store::{OpenOptions, Store};

fn core() -> (tempfile::TempDir, Core) {
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
    // The demo store's instructions are released, as the demo application's are.
    traveler::demo::seed_releases(&store, &lib, Utc::now()).unwrap();
    (dir, Core::new(store, lib, "B1"))
}

fn ask(
    core: &Core,
    id: u64,
    by: &str,
    pin: Option<&str>,
    command: Command,
) -> traveler::core::Answer {
    let answer = core.execute(Request {
        id: RequestId(id),
        by: by.into(),
        credentials: pin.map(|p| Credentials {
            badge: by.into(),
            pin: p.into(),
        }),
        command,
    });
    assert_eq!(
        answer.request,
        RequestId(id),
        "the answer names its request"
    );
    answer
}

fn start(core: &Core) -> String {
    let a = ask(
        core,
        1,
        "T100",
        None,
        Command::StartJob(Box::new(NewJob {
            board_serial: "SN-C1".into(),
            assembly_part: "PCA".into(),
            assembly_rev: "A".into(),
            refdes: vec!["R1".into()],
            defect_ref: "NCR-1".into(),
            approval_ref: String::new(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: "WI-CHIP-001".into(),
        })),
    );
    a.result.unwrap().job.unwrap().id
}

#[test]
fn the_core_decides_on_what_is_stored() {
    let (_d, core) = core();
    let job = start(&core);
    let sign = |id| {
        ask(
            &core,
            id,
            "T100",
            Some("1111"),
            Command::Sign {
                job: job.clone(),
                step: 0,
                checkpoint: 0,
                verdict: Some(Verdict::Pass),
                value: None,
                comment: None,
            },
        )
    };
    let first = sign(2).result.unwrap();
    assert!(matches!(
        first.records[0].event,
        Event::CheckpointSigned { .. }
    ));
    assert_eq!(first.records[0].actor, "T100");
    // A second screen that still shows it unsigned is refused by the record.
    assert_eq!(
        sign(3).result.unwrap_err(),
        Rejection::AlreadySigned {
            step: 0,
            checkpoint: 0
        }
    );
    // A wrong PIN is refused and recorded; nothing is signed.
    let before = core.store.events().count();
    let wrong = ask(
        &core,
        4,
        "T100",
        Some("0000"),
        Command::Sign {
            job: job.clone(),
            step: 0,
            checkpoint: 1,
            verdict: Some(Verdict::Pass),
            value: None,
            comment: None,
        },
    );
    assert!(matches!(
        wrong.result,
        Err(Rejection::Auth(AuthFailure::WrongPin { failures: 1, .. }))
    ));
    let after: Vec<Event> = core.store.events().map(|r| r.unwrap().event).collect();
    assert_eq!(after.len(), before + 1);
    assert!(matches!(after.last(), Some(Event::PinRejected { badge, .. }) if badge == "T100"));
    // Skipping ahead is refused whatever the screen offered.
    let ahead = ask(
        &core,
        5,
        "T100",
        None,
        Command::CompleteStep {
            job: job.clone(),
            step: 3,
        },
    );
    assert!(matches!(
        ahead.result,
        Err(Rejection::NotCurrentStep {
            step: 3,
            current: Some(0)
        })
    ));
}

#[test]
fn a_job_started_twice_with_one_instruction_archives_its_text_once() {
    let (_d, core) = core();
    let a = start(&core);
    let b = start(&core);
    assert_ne!(a, b, "a second job in the same second gets its own id");
    let wi = core.library.instruction("WI-CHIP-001").unwrap();
    // The text is held once: by its release (the demo store's) or a job's archive.
    let texts: Vec<(String, String)> = core
        .store
        .events()
        .map(|r| r.unwrap().event)
        .filter_map(|e| match e {
            Event::InstructionArchived { text, hash, .. }
            | Event::InstructionReleased {
                text: Some(text),
                hash,
                ..
            } if hash == wi.hash => Some((hash, text)),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 1);
    let (hash, text) = &texts[0];
    assert_eq!(hash, &wi.hash);
    assert_eq!(
        text,
        &std::fs::read_to_string(&wi.path).unwrap(),
        "the exact bytes"
    );
}
