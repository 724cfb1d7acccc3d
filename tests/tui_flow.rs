//! Headless flows: the real `update`, the real effect executor, a real sled store
//! on disk and the shipped instructions. Actions in, events in the store out.

#[allow(dead_code)]
mod tui_support;

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};

use traveler::domain::event::Event;
use traveler::domain::job::JobStatus;
use traveler::domain::types::{CheckResult, Meaning};
use traveler::instruction::load_dir;
use traveler::instruction::schema::{CheckpointKind, Signer};
use traveler::tui::action::Action;
use traveler::tui::state::{Modal, Screen, State};
use tui_support::{Bench, screen_text};

impl Bench {
    /// Fills the new-job form (designator U7, defect NCR-77) and starts `instruction`.
    fn start_job(&mut self, serial: &str, instruction: &str, class: char, approval: &str) {
        self.new_job_details(&[serial, "PCA-1001", "C", "U7", "NCR-77", approval]);
        self.act(Action::Command(class));
        self.act(Action::Enter); // class -> alloy
        self.act(Action::Right); // SAC305 is second in alloys.toml? pick by id below
        self.choose_alloy("SAC305");
        self.act(Action::Enter); // alloy -> list
        self.select_instruction(instruction);
        self.act(Action::Enter);
    }
}

#[test]
fn a_whole_bga_job_lands_in_the_store() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    assert!(matches!(b.state.screen, Screen::Home(_)), "{:?}", b.flash());
    b.start_job("SN-0001", "WI-BGA-001", '3', "");
    let steps = b.runner().job.steps.len();
    assert!(steps >= 6);
    for n in 0..steps {
        b.complete_step("1111");
        if n + 1 < steps {
            assert_eq!(b.runner().step as usize, n + 1, "{}", b.flash());
        }
    }
    assert!(
        matches!(b.state.screen, Screen::Summary(_)),
        "{}",
        b.flash()
    );
    b.act(Action::Enter);
    assert!(matches!(b.state.screen, Screen::Home(_)));
    assert!(b.flash().contains("submitted"), "{}", b.flash());

    let events = b.events();
    let count = |k: &str| events.iter().filter(|e| e.kind() == k).count();
    assert_eq!(count("job_started"), 1);
    assert_eq!(count("step_completed"), steps);
    assert_eq!(count("job_submitted"), 1);
    assert!(count("lot_recorded") >= 1);
    let inspected = events
        .iter()
        .filter(|e| matches!(e, Event::CheckpointSigned { meaning: Meaning::Inspected, signer, signer_name, .. } if signer == "I300" && signer_name == "Chen Wei"))
        .count();
    assert!(inspected >= 1);
    // Every completed step carries the digest of samples that are really stored.
    let job_id = events
        .iter()
        .find_map(|e| match e {
            Event::JobStarted { job, .. } => Some(job.clone()),
            _ => None,
        })
        .unwrap();
    let job = b.store.job(&job_id).unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Submitted);
    let with_samples = job.steps.iter().filter(|s| s.sample_count > 0).count();
    assert!(with_samples >= 1);
    b.store.verify().unwrap();
}

#[test]
fn bga_is_greyed_for_a_technician_without_module_8() {
    let mut b = Bench::demo();
    b.login("T200", "2222");
    b.start_job("SN-0002", "WI-BGA-001", '3', "");
    assert!(matches!(b.state.screen, Screen::Start(_)));
    let Screen::Start(f) = &b.state.screen else {
        unreachable!()
    };
    let err = f.error.clone().unwrap_or_default();
    assert!(err.contains("module 8"), "{err}");
    assert!(err.contains("skill level Expert"), "{err}");
    assert!(!b.events().iter().any(|e| e.kind() == "job_started"));
}

#[test]
fn wrong_pins_are_recorded_and_lock_the_badge() {
    let mut b = Bench::demo();
    for _ in 0..5 {
        b.login("T100", "0000");
    }
    let Screen::Login(f) = &b.state.screen else {
        panic!()
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("locked"),
        "{:?}",
        f.error
    );
    b.login("T100", "1111");
    assert!(
        matches!(b.state.screen, Screen::Login(_)),
        "a locked badge must not log in"
    );
    let events = b.events();
    assert_eq!(
        events.iter().filter(|e| e.kind() == "pin_rejected").count(),
        5
    );
    assert_eq!(
        events.iter().filter(|e| e.kind() == "badge_locked").count(),
        1
    );
}

#[test]
fn excursion_alarm_must_be_acknowledged_and_failed_checkpoint_holds_the_job() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0003", "WI-TH-001", '3', "");
    // Find a step with a window.
    let mut guard = 0;
    while b.runner().window.is_none() {
        b.complete_step("1111");
        guard += 1;
        assert!(guard < 10);
    }
    let w = b.runner().window.clone().unwrap();
    b.feed(&w.channel, w.min_c + 1.0, 0);
    b.feed(&w.channel, w.max_c + 20.0, 1);
    assert!(b.state.recorder.as_ref().unwrap().alarm.is_some());
    b.feed(&w.channel, w.max_c + 30.0, 2);
    b.feed(&w.channel, w.min_c + 1.0, 3);
    assert!(b.state.recorder.as_ref().unwrap().alarm.is_none());
    assert_eq!(b.runner().job.open_excursions(b.runner().step).count(), 1);
    let exc = b.runner().job.excursions[0].clone();
    assert_eq!(exc.peak_c, w.max_c + 30.0);
    assert!(exc.ended.is_some());

    // Completing is refused until the alarm is acknowledged.
    b.complete_step("1111");
    assert!(b.flash().contains("alarm"), "{}", b.flash());
    b.act(Action::Command('a'));
    b.typ("tip touched the barrel; re-tinned");
    b.act(Action::Enter);
    assert_eq!(b.runner().job.open_excursions(b.runner().step).count(), 0);
    b.act(Action::Command('n'));
    let events = b.events();
    assert!(events.iter().any(|e| matches!(e, Event::ExcursionAcknowledged { comment, .. } if comment.contains("re-tinned"))));

    // A failed pass/fail checkpoint holds the job until redo or abort.
    let step = b.runner().step as usize;
    let cps = b.runner().instruction.spec.steps[step].checkpoints.clone();
    if let Some(i) = cps.iter().position(|c| {
        *c.kind.get_ref() == CheckpointKind::PassFail && c.signer == Signer::Technician
    }) {
        if let Screen::Runner(r) = &mut b.state.screen {
            r.selected = i;
        }
        b.act(Action::Enter);
        b.act(Action::Command('f'));
        b.act(Action::Enter);
        b.typ("solder bridge");
        b.act(Action::Enter);
        b.typ("1111");
        b.act(Action::Enter);
        assert_eq!(b.state.modal, Some(Modal::Held));
        assert_eq!(b.runner().job.status, JobStatus::Held);
        b.act(Action::Command('r'));
        b.typ("reflow with fresh flux");
        b.act(Action::Enter);
        assert_eq!(b.runner().job.status, JobStatus::InProgress);
        assert!(b.runner().job.steps[step].signatures.is_empty());
        assert!(b.events().iter().any(|e| matches!(e, Event::CheckpointSigned { result: CheckResult::Fail, comment: Some(c), .. } if c == "solder bridge")));
    }
}

#[test]
fn inspector_must_be_someone_else_and_wrong_pin_is_recorded() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0004", "WI-BGA-001", '3', "");
    // Walk to the first inspector checkpoint.
    loop {
        let r = b.runner();
        let step = &r.instruction.spec.steps[r.step as usize];
        if let Some(i) = step
            .checkpoints
            .iter()
            .position(|c| c.signer == Signer::Inspector)
        {
            if let Screen::Runner(r) = &mut b.state.screen {
                r.selected = i;
            }
            break;
        }
        b.complete_step("1111");
    }
    b.act(Action::Enter);
    b.answer_checkpoint();
    // Own badge is refused at once.
    b.act(Action::Scan("T100".into()));
    b.typ("1111");
    b.act(Action::Enter);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!("{:?}", b.state.modal)
    };
    assert!(
        d.error.as_deref().unwrap_or("").contains("own work")
            || d.error.as_deref().unwrap_or("").contains("may not sign"),
        "{:?}",
        d.error
    );
    // Someone else's badge with the wrong PIN: refused and recorded against that badge.
    b.act(Action::Esc);
    b.act(Action::Enter);
    b.answer_checkpoint();
    b.act(Action::Scan("I300".into()));
    b.typ("9999");
    b.act(Action::Enter);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!()
    };
    assert!(
        d.error.as_deref().unwrap_or("").contains("wrong PIN"),
        "{:?}",
        d.error
    );
    assert!(b.events().iter().any(|e| matches!(e, Event::PinRejected { badge, purpose } if badge == "I300" && purpose == "signature")));
    assert!(
        !b.events()
            .iter()
            .any(|e| matches!(e, Event::CheckpointSigned { signer, .. } if signer == "I300"))
    );
}

#[test]
fn a_job_resumes_at_the_same_step_after_quitting_or_suspending() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0005", "WI-CHIP-001", '3', "");
    b.complete_step("1111");
    b.complete_step("1111");
    let job_id = b.runner().job.id.clone();
    assert_eq!(b.runner().step, 2);

    // The program dies: a new screen state on the same store, nothing else.
    let mut fresh = State::new(b.state.library.clone(), "B1", Utc::now());
    std::mem::swap(&mut b.state, &mut fresh);
    drop(fresh);
    b.login("T100", "1111");
    let Screen::Home(h) = &b.state.screen else {
        panic!()
    };
    assert_eq!(h.jobs.len(), 1);
    assert_eq!(h.jobs[0].id, job_id);
    b.act(Action::Enter);
    assert_eq!(b.runner().step, 2, "resumes at the step it was on");

    // Suspend with a reason, then resume from the list.
    b.act(Action::Command('z'));
    b.typ("end of shift");
    b.act(Action::Enter);
    assert!(matches!(b.state.screen, Screen::Home(_)), "{}", b.flash());
    assert_eq!(
        b.store.job(&job_id).unwrap().unwrap().status,
        JobStatus::Suspended
    );
    b.act(Action::Enter);
    // Resuming asks why work goes on; the reason is recorded.
    b.typ("next shift, same bench");
    b.act(Action::Enter);
    assert_eq!(b.runner().step, 2);
    assert_eq!(
        b.store.job(&job_id).unwrap().unwrap().status,
        JobStatus::InProgress
    );
    assert!(b.events().iter().any(
        |e| matches!(e, Event::JobResumed { reason, .. } if reason == "next shift, same bench")
    ));
    let kinds: Vec<&str> = b
        .events()
        .iter()
        .map(|e| e.kind())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert!(kinds.contains(&"job_suspended") && kinds.contains(&"job_resumed"));
}

#[test]
fn supervisor_rejects_technician_redoes_and_resubmits_then_approval() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0006", "WI-CHIP-001", '3', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("1111");
    }
    b.act(Action::Enter); // submit
    let job_id = b
        .events()
        .iter()
        .find_map(|e| match e {
            Event::JobStarted { job, .. } => Some(job.clone()),
            _ => None,
        })
        .unwrap();
    b.act(Action::Command('l'));

    // The performer may not review; the supervisor rejects with a reason.
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    let Screen::Review(r) = &b.state.screen else {
        panic!("{}", b.flash())
    };
    assert_eq!(r.queue.len(), 1);
    b.act(Action::Enter);
    b.act(Action::Command('x'));
    b.typ("fillet too small on C4");
    b.act(Action::Enter);
    b.typ("4444");
    b.act(Action::Enter);
    assert!(b.flash().contains("rejected"), "{}", b.flash());
    assert_eq!(
        b.store.job(&job_id).unwrap().unwrap().status,
        JobStatus::Rejected
    );
    b.act(Action::Esc);
    b.act(Action::Command('l'));

    // Back to the technician, with the reason on the job list.
    b.login("T100", "1111");
    let Screen::Home(h) = &b.state.screen else {
        panic!()
    };
    assert!(
        h.jobs[0].note.contains("fillet too small"),
        "{:?}",
        h.jobs[0]
    );
    b.act(Action::Enter);
    assert!(matches!(b.state.screen, Screen::Summary(_)));
    let last = char::from_digit(steps as u32, 10).unwrap();
    b.act(Action::Command(last)); // reopen the last step
    b.typ("bigger fillet on C4");
    b.act(Action::Enter);
    assert_eq!(b.runner().step as usize, steps - 1);
    b.complete_step("1111");
    b.act(Action::Enter); // submit again
    assert!(b.flash().contains("submitted"), "{}", b.flash());
    b.act(Action::Command('l'));

    // A technician cannot approve their own job even with the right PIN.
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    b.act(Action::Command('a'));
    b.typ("rework verified");
    b.act(Action::Enter);
    b.typ("4444");
    b.act(Action::Enter);
    assert!(b.flash().contains("approved"), "{}", b.flash());
    let job = b.store.job(&job_id).unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Approved);
    assert_eq!(job.reviews.len(), 2);
    assert_eq!(job.reviews[0].reviewer_name, "Dana Roth");
}

#[test]
fn reviewer_who_performed_the_job_is_refused() {
    let mut b = Bench::demo();
    // Dana is supervisor and inspector; here she performs the job herself.
    b.login("S400", "4444");
    b.start_job("SN-0007", "WI-CHIP-001", '2', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("4444");
    }
    b.act(Action::Enter); // submit
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    // The screen says so before a comment or PIN is typed (the core's own rule,
    // which the core applies again: see the decide table tests).
    b.act(Action::Command('a'));
    assert!(
        b.state.modal.is_none(),
        "the approval dialog opened: {}",
        b.flash()
    );
    assert!(b.flash().contains("own work"), "{}", b.flash());
    assert!(!b.events().iter().any(|e| e.kind() == "job_reviewed"));
}

#[test]
fn readings_arriving_never_disturb_what_is_being_typed() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0008", "WI-TH-001", '3', "");
    b.act(Action::Command('l'));
    for (i, c) in "LOT-77".chars().enumerate() {
        b.act(Action::Char(c));
        b.feed("tip", 330.0 + i as f64, i as i64);
        b.act(Action::Tick(Utc::now()));
    }
    let Some(Modal::Lot { field, .. }) = &b.state.modal else {
        panic!("{:?}", b.state.modal)
    };
    assert_eq!(field.value, "LOT-77");
}

#[test]
fn idle_timeout_returns_to_log_in_and_the_job_stays_open() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0009", "WI-TH-001", '3', "");
    let idle = b.state.library.policy.as_ref().unwrap().idle_logout_minutes as i64;
    b.act(Action::Tick(Utc::now() + Duration::minutes(idle - 1)));
    assert!(matches!(b.state.screen, Screen::Runner(_)));
    b.act(Action::Tick(Utc::now() + Duration::minutes(idle + 1)));
    assert!(matches!(b.state.screen, Screen::Login(_)));
    assert!(b.state.user.is_none());
    let events = b.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::LoggedOut { reason, .. } if reason.contains("idle")))
    );
    assert!(
        !events
            .iter()
            .any(|e| e.kind() == "job_suspended" || e.kind() == "job_aborted")
    );
}

#[test]
fn expired_lots_are_refused_with_the_reason() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0010", "WI-BGA-001", '3', "");
    // Walk to a step that records a lot.
    let mut guard = 0;
    while traveler::tui::update::lot_materials(&b.runner().instruction, b.runner().step).is_empty()
    {
        b.complete_step("1111");
        guard += 1;
        assert!(guard < 12);
    }
    let before = b
        .events()
        .iter()
        .filter(|e| e.kind() == "lot_recorded")
        .count();
    b.act(Action::Scan("(01)09506000134352(17)200101(10)OLD-1".into()));
    assert!(
        b.flash().contains("REFUSED") && b.flash().contains("expired"),
        "{}",
        b.flash()
    );
    assert_eq!(
        b.events()
            .iter()
            .filter(|e| e.kind() == "lot_recorded")
            .count(),
        before
    );
}

#[test]
fn trace_screen_finds_the_board_history_and_where_a_lot_was_used() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0011", "WI-CHIP-001", '3', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("1111");
    }
    b.act(Action::Enter); // submit
    let lot = b
        .events()
        .iter()
        .find_map(|e| match e {
            Event::LotRecorded { lot, .. } => Some(lot.clone()),
            _ => None,
        })
        .expect("the chip instruction records a lot");
    b.act(Action::Command('t'));
    b.typ("SN-0011");
    b.act(Action::Enter);
    let Screen::Lookup(l) = &b.state.screen else {
        panic!()
    };
    let h = l
        .result
        .as_ref()
        .unwrap()
        .history
        .as_ref()
        .expect("history");
    assert_eq!(h.jobs.len(), 1);
    assert_eq!(h.jobs[0].status, JobStatus::Submitted);
    b.act(Action::Scan(lot.clone()));
    let Screen::Lookup(l) = &b.state.screen else {
        panic!()
    };
    let r = l.result.as_ref().unwrap();
    assert!(r.history.is_none());
    assert!(!r.uses.is_empty());
    assert!(r.uses.iter().all(|u| u.serial == "SN-0011" && u.lot == lot));
}

#[test]
fn repair_needs_an_approval_and_modification_an_eco_before_starting() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0012", "WI-LL-001", '3', "");
    let Screen::Start(f) = &b.state.screen else {
        panic!("started without approval")
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("approval"),
        "{:?}",
        f.error
    );
    b.act(Action::Esc);
    b.start_job("SN-0012", "WI-JW-001", '3', "EA-1234");
    let Screen::Start(f) = &b.state.screen else {
        panic!("a modification started without an ECO")
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("ECO"),
        "{:?}",
        f.error
    );
    b.act(Action::Esc);
    b.start_job("SN-0012", "WI-JW-001", '3', "ECO-20417");
    assert_eq!(b.runner().job.approval_ref.as_deref(), Some("ECO-20417"));
}

#[test]
fn third_bga_rework_of_one_location_on_a_class_3_board_is_refused() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    for _ in 0..2 {
        b.start_job("SN-0013", "WI-BGA-001", '3', "");
        assert!(matches!(b.state.screen, Screen::Runner(_)), "{}", b.flash());
        // Same second, same bench: the second job still gets an id of its own.
        b.act(Action::Esc);
    }
    let Screen::Home(h) = &b.state.screen else {
        panic!()
    };
    assert_eq!(h.jobs.len(), 2, "{:?}", h.jobs);
    b.start_job("SN-0013", "WI-BGA-001", '3', "");
    let Screen::Start(f) = &b.state.screen else {
        panic!("a third rework started")
    };
    let e = f.error.as_deref().unwrap_or("");
    assert!(e.contains("U7 already reworked 2 time(s)"), "{e}");
}

#[test]
fn certification_view_shows_expiries_gaps_and_locked_badges() {
    let mut b = Bench::demo();
    for _ in 0..5 {
        b.login("T200", "0000");
    }
    b.login("S400", "4444");
    b.act(Action::Command('c'));
    let Screen::People(p) = &b.state.screen else {
        panic!("{}", b.flash())
    };
    assert!(p.loaded);
    let ben = p.people.iter().find(|x| x.badge == "T200").unwrap();
    assert!(ben.is_locked(Utc::now()), "five wrong PINs lock the badge");
    let lib = b.state.library.clone();
    let today = Utc::now().date_naive();
    let people = p.people.clone();
    let gaps = traveler::people::certs::module_gaps(&people, &lib, today);
    assert!(
        gaps.iter()
            .any(|(n, i, m)| n == "Ben Okafor" && i == "WI-BGA-001" && m == &vec![8]),
        "{gaps:?}"
    );
    assert!(!gaps.iter().any(|(n, _, _)| n == "Ana Lima"));
    // Ben's certificate was issued 700 days ago: it expires within 60 days.
    let soon = traveler::people::certs::expiring(&people, today, 60);
    assert!(
        soon.iter()
            .any(|(n, _, _, left)| n == "Ben Okafor" && (0..=60).contains(left)),
        "{soon:?}"
    );
    assert!(!soon.iter().any(|(n, _, _, _)| n == "Ana Lima"));
}

#[test]
fn a_measurement_out_of_limits_is_a_failure_that_needs_a_comment() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0014", "WI-TH-001", '3', "");
    // Walk to the first technician measurement.
    let (step, idx, max) = loop {
        let r = b.runner();
        let spec = &r.instruction.spec.steps[r.step as usize];
        if let Some(i) = spec.checkpoints.iter().position(|c| {
            *c.kind.get_ref() == CheckpointKind::Measurement
                && c.signer == Signer::Technician
                && c.max.is_some()
        }) {
            break (r.step, i, spec.checkpoints[i].max.unwrap());
        }
        b.complete_step("1111");
    };
    if let Screen::Runner(r) = &mut b.state.screen {
        r.selected = idx;
    }
    b.act(Action::Enter);
    b.typ(&(max + 1.0).to_string());
    b.act(Action::Enter);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!()
    };
    assert_eq!(
        d.verdict,
        Some(traveler::domain::command::Verdict::Fail),
        "out of limits must fail"
    );
    assert_eq!(d.stage, traveler::tui::state::SignStage::Comment);
    b.act(Action::Enter); // no comment: refused
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!()
    };
    assert!(d.error.as_deref().unwrap_or("").contains("comment"));
    b.typ("lead too long, trimmed");
    b.act(Action::Enter);
    b.typ("1111");
    b.act(Action::Enter);
    assert_eq!(b.state.modal, Some(Modal::Held));
    let signed = b.events().into_iter().find_map(|e| match e {
        Event::CheckpointSigned {
            step: s,
            checkpoint,
            result,
            measurement,
            comment,
            ..
        } if s == step && checkpoint as usize == idx => Some((result, measurement, comment)),
        _ => None,
    });
    let (result, measurement, comment) = signed.unwrap();
    assert_eq!(result, CheckResult::Fail);
    assert_eq!(measurement.unwrap().value, max + 1.0);
    assert_eq!(comment.as_deref(), Some("lead too long, trimmed"));
    // Abort with a reason ends the job.
    b.act(Action::Command('x'));
    b.typ("board scrapped by MRB");
    b.act(Action::Enter);
    assert!(matches!(b.state.screen, Screen::Home(_)));
    assert!(b.events().iter().any(
        |e| matches!(e, Event::JobAborted { reason, .. } if reason == "board scrapped by MRB")
    ));
}

#[test]
fn a_submitted_job_is_listed_by_traveler_reviews() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0015", "WI-CHIP-001", '3', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("1111");
    }
    b.act(Action::Enter);
    let Bench {
        state,
        exec,
        store,
        dir,
        ..
    } = b;
    drop((state, exec, store));
    let dir = dir.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(["reviews", "--store"])
        .arg(dir.path().join("store"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 job(s) waiting for review") && text.contains("SN-0015"),
        "{text}"
    );
}

#[test]
fn a_supervisor_exports_a_job_report_from_the_review_screen() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-0016", "WI-CHIP-001", '3', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("1111");
    }
    b.act(Action::Enter);
    b.act(Action::Command('l'));
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    b.act(Action::Command('e'));
    assert!(b.flash().contains("written to"), "{}", b.flash());
    let dir = b.exec.export_dir.clone();
    let job_dir = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let files: Vec<String> = std::fs::read_dir(&job_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f.ends_with(".json")), "{files:?}");
    let html: Vec<_> = files
        .iter()
        .filter(|f| f.ends_with(".html") && *f != "index.html")
        .collect();
    assert_eq!(html.len(), 1, "{files:?}");
    let report = std::fs::read_to_string(job_dir.join(html[0])).unwrap();
    assert!(report.contains("SN-0016") && report.contains("Ana Lima"));
    let json =
        std::fs::read_to_string(job_dir.join(files.iter().find(|f| f.ends_with(".json")).unwrap()))
            .unwrap();
    let report = traveler::export::verify_json_export(json.as_bytes()).unwrap();
    assert!(report.failure.is_none(), "{:?}", report.failure);
}

// ---------------------------------------------------------------------------
// Defects of issue 10, each through the keys a person presses and a real store.

impl Bench {
    fn job_id(&self) -> String {
        self.events()
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::JobStarted { job, .. } => Some(job.clone()),
                _ => None,
            })
            .expect("a job was started")
    }
    fn job(&self) -> traveler::domain::job::Job {
        self.store.job(&self.job_id()).unwrap().unwrap()
    }
    /// Completes steps until `pred` holds for the runner.
    fn walk_to(&mut self, pin: &str, pred: impl Fn(&traveler::tui::state::RunnerState) -> bool) {
        let mut guard = 0;
        while !pred(self.runner()) {
            self.complete_step(pin);
            guard += 1;
            assert!(guard < 12, "no such step; flash: {}", self.flash());
        }
    }
    fn select(&mut self, i: usize) {
        if let Screen::Runner(r) = &mut self.state.screen {
            r.selected = i;
        }
    }
    fn verify_ok(&self, when: &str) {
        if let Err(e) = self.store.verify() {
            panic!("verify failed {when}: {e}");
        }
    }
}

/// Defect 1: the footer offered p/f, p and f did nothing and Pass was preselected,
/// so "f, Enter, PIN" recorded Pass.
#[test]
fn pass_fail_has_no_default_and_f_records_a_fail() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D1", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| {
        r.instruction.spec.steps[r.step as usize]
            .checkpoints
            .iter()
            .any(|c| *c.kind.get_ref() == CheckpointKind::PassFail)
    });
    let i = {
        let r = b.runner();
        r.instruction.spec.steps[r.step as usize]
            .checkpoints
            .iter()
            .position(|c| *c.kind.get_ref() == CheckpointKind::PassFail)
            .unwrap()
    };
    let step = b.runner().step;
    b.select(i);
    b.act(Action::Enter);
    assert!(
        traveler::tui::view::keys(&b.state).contains(&("p/f ←→", "pass/fail")),
        "the footer names p/f: {:?}",
        traveler::tui::view::keys(&b.state)
    );
    // Enter without a choice asks for one.
    b.act(Action::Enter);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!("{:?}", b.state.modal)
    };
    assert_eq!(d.verdict, None, "nothing is chosen for the technician");
    assert_eq!(d.stage, traveler::tui::state::SignStage::Choice);
    assert!(d.error.as_deref().unwrap_or("").contains("Choose"));
    // f, Enter, comment, PIN: a fail is recorded.
    b.act(Action::Command('f'));
    b.act(Action::Enter);
    b.typ("land 2 lifted");
    b.act(Action::Enter);
    b.typ("1111");
    b.act(Action::Enter);
    let signed: Vec<CheckResult> = b
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::CheckpointSigned {
                result,
                checkpoint,
                step: s,
                ..
            } if *checkpoint == i as u32 && *s == step => Some(*result),
            _ => None,
        })
        .collect();
    assert_eq!(signed, vec![CheckResult::Fail]);
    assert_eq!(b.state.modal, Some(Modal::Held));
    // ← and → choose too.
    b.act(Action::Command('r'));
    b.typ("lands repaired, do it again");
    b.act(Action::Enter);
    b.act(Action::Enter);
    b.act(Action::Right);
    b.act(Action::Left);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!()
    };
    assert_eq!(d.verdict, Some(traveler::domain::command::Verdict::Pass));
}

/// Defect 2: a redone step's samples were counted against the first attempt's seal,
/// so `verify` failed on a healthy store. Each attempt has its own samples and seal.
#[test]
fn verify_is_ok_through_reject_redo_crash_resume_resubmit_approve() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D2", "WI-CHIP-001", '3', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("1111");
    }
    b.act(Action::Enter); // submit
    b.verify_ok("after submitting");
    let job_id = b.job_id();
    b.act(Action::Command('l'));
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    b.act(Action::Command('x'));
    b.typ("tip temperature too high on C4");
    b.act(Action::Enter);
    b.typ("4444");
    b.act(Action::Enter);
    b.verify_ok("after the rejection");
    b.act(Action::Esc);
    b.act(Action::Command('l'));

    // The technician reopens the step with a temperature window.
    b.login("T100", "1111");
    b.act(Action::Enter);
    let heated = {
        let Screen::Summary(s) = &b.state.screen else {
            panic!("{}", b.flash())
        };
        let alloy = b.state.library.alloy(&s.job.alloy);
        (0..steps)
            .find(|i| s.instruction.step_window(*i, alloy).is_some())
            .expect("a heated step")
    };
    b.act(Action::Command(
        char::from_digit(heated as u32 + 1, 10).unwrap(),
    ));
    b.typ("lower tip temperature");
    b.act(Action::Enter);
    assert_eq!(b.runner().step as usize, heated);
    let w = b.runner().window.clone().unwrap();
    for i in 0..60 {
        b.feed(&w.channel, (w.min_c + w.max_c) / 2.0, 100 + i);
    }
    b.act(Action::Tick(Utc::now()));
    b.verify_ok("while the redo is in progress");
    let job = b.job();
    let first = &job.steps[heated].attempt_log[0];
    let second = &job.steps[heated].attempt_log[1];
    assert_eq!(second.reason.as_deref(), Some("lower tip temperature"));
    assert_ne!(first.sample_stream, second.sample_stream);
    let first_seal = first.samples_digest.clone().unwrap();
    assert!(b.store.samples(&job_id, second.sample_stream).count() >= 60);

    // The program dies mid-redo; a new screen on the same store resumes the attempt.
    let mut fresh = State::new(b.state.library.clone(), "B1", Utc::now());
    std::mem::swap(&mut b.state, &mut fresh);
    drop(fresh);
    b.verify_ok("after the crash");
    b.login("T100", "1111");
    b.act(Action::Enter);
    assert_eq!(b.runner().step as usize, heated);
    b.complete_step("1111");
    b.verify_ok("after the redo completed");
    assert!(
        matches!(b.state.screen, Screen::Summary(_)),
        "{}",
        b.flash()
    );
    b.act(Action::Enter); // resubmit
    b.verify_ok("after resubmitting");
    b.act(Action::Command('l'));
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    b.act(Action::Command('a'));
    b.typ("redo verified");
    b.act(Action::Enter);
    b.typ("4444");
    b.act(Action::Enter);
    b.verify_ok("after the approval");
    let job = b.job();
    assert_eq!(job.status, JobStatus::Approved);
    let s = &job.steps[heated];
    assert_eq!(s.attempt_log.len(), 2);
    assert_eq!(
        s.attempt_log[0].samples_digest.as_deref(),
        Some(first_seal.as_str()),
        "the first attempt keeps its own seal"
    );
    assert!(s.attempt_log[1].sample_count >= 60);
    assert_eq!(
        s.attempt_log[1].sample_count,
        b.store
            .samples(&job_id, s.attempt_log[1].sample_stream)
            .count() as u64
    );
    // The hashed JSON record with its samples verifies too.
    let mut json = Vec::new();
    traveler::export::json::write_json(
        &b.store,
        &b.state.library,
        &traveler::export::Scope {
            job: Some(job_id.clone()),
            ..traveler::export::Scope::default()
        },
        &traveler::export::ExportOptions { samples: true },
        &mut json,
        &mut |_| {},
    )
    .unwrap();
    traveler::export::json::verify_json_export(json.as_slice())
        .unwrap_or_else(|e| panic!("the export of a redone job does not verify: {e}"));
}

/// Defect 3: readings were taken only while the runner was shown, so an idle
/// log-out stopped the recording mid-step; the summary covered only part of what
/// the digest sealed. Recording goes on; the core summarises the stored samples.
#[test]
fn recording_goes_on_after_idle_log_out_and_the_summary_covers_every_sample() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D3", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| r.window.is_some());
    let w = b.runner().window.clone().unwrap();
    let step = b.runner().step;
    let mid = (w.min_c + w.max_c) / 2.0;
    for i in 0..3 {
        b.feed(&w.channel, mid, i);
    }
    let idle = b.state.library.policy.as_ref().unwrap().idle_logout_minutes as i64;
    b.act(Action::Tick(Utc::now() + Duration::minutes(idle + 1)));
    assert!(matches!(b.state.screen, Screen::Login(_)));
    // Nobody is logged in; the board is still on the heater.
    for i in 3..10 {
        b.feed(&w.channel, mid + 1.0, i);
    }
    b.act(Action::Tick(Utc::now() + Duration::minutes(idle + 2)));
    let job_id = b.job_id();
    assert_eq!(b.store.samples(&job_id, step).count(), 10);
    // Someone else's screen (the trace look-up) does not stop it either.
    b.login("T100", "1111");
    b.act(Action::Command('t'));
    for i in 10..12 {
        b.feed(&w.channel, mid, i);
    }
    b.act(Action::Esc);
    b.act(Action::Enter); // resume the job
    assert_eq!(b.runner().step, step);
    b.act(Action::Command('n'));
    let job = b.job();
    let s = &job.steps[step as usize];
    assert!(s.completed.is_some(), "{}", b.flash());
    assert_eq!(s.sample_count, 12);
    let ch = s
        .temperature
        .iter()
        .find(|c| c.channel == w.channel)
        .unwrap();
    assert_eq!(ch.count, 12, "the summary counts every sealed sample");
    b.verify_ok("after completing");
}

/// Defect 4: BGA step 3 (preheat 100–150 °C) completed at 70 °C with no question.
/// Completing a step whose window was never reached needs a signed deviation.
#[test]
fn a_window_never_reached_needs_a_signed_deviation_that_is_flagged() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D4", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| r.window.is_some());
    let w = b.runner().window.clone().unwrap();
    let step = b.runner().step;
    assert!(
        70.0 < w.min_c,
        "the preheat window starts above 70 °C: {w:?}"
    );
    for i in 0..5 {
        b.feed(&w.channel, 70.0, i);
    }
    b.act(Action::Command('n'));
    assert!(
        b.job().steps[step as usize].completed.is_none(),
        "completed at 70 °C"
    );
    let Some(Modal::Comment(d)) = &b.state.modal else {
        panic!("no deviation asked: {:?} {}", b.state.modal, b.flash())
    };
    assert!(d.title.contains("DEVIATION"), "{}", d.title);
    b.typ("heater fault, board at temperature by IR gun");
    b.act(Action::Enter);
    b.typ("0000"); // a wrong PIN first: refused, recorded, nothing completed
    b.act(Action::Enter);
    assert!(b.job().steps[step as usize].completed.is_none());
    assert!(
        matches!(&b.state.modal, Some(Modal::Comment(d)) if d.error.as_deref().unwrap_or("").contains("wrong PIN"))
    );
    b.typ("1111");
    b.act(Action::Enter);
    let job = b.job();
    assert!(
        job.steps[step as usize].completed.is_some(),
        "{}",
        b.flash()
    );
    assert_eq!(job.deviations.len(), 1);
    assert_eq!(
        job.deviations[0].kind,
        traveler::domain::event::DeviationKind::WindowNeverReached
    );
    assert_eq!(job.deviations[0].by, "T100");
    let summary = traveler::domain::deviations::deviations_summary(&job);
    assert_eq!(
        summary.count(traveler::domain::deviations::FlagKind::Deviation),
        1
    );
    assert_eq!(b.runner().step, step + 1);
}

/// Defect 4, the other half: a step left outside its window needs a deviation too,
/// after its alarm is acknowledged.
#[test]
fn a_step_left_outside_its_window_needs_a_deviation() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D4B", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| r.window.is_some());
    let w = b.runner().window.clone().unwrap();
    let step = b.runner().step;
    b.feed(&w.channel, w.min_c + 5.0, 0);
    b.feed(&w.channel, w.max_c + 10.0, 1);
    b.act(Action::Command('a'));
    b.typ("overshoot, heater turned down");
    b.act(Action::Enter);
    b.act(Action::Command('n'));
    let Some(Modal::Comment(d)) = &b.state.modal else {
        panic!("{:?} {}", b.state.modal, b.flash())
    };
    assert!(d.title.contains("left outside"), "{}", d.title);
    b.typ("part lifted at the overshoot");
    b.act(Action::Enter);
    b.typ("1111");
    b.act(Action::Enter);
    let job = b.job();
    assert!(job.steps[step as usize].completed.is_some());
    assert_eq!(
        job.deviations[0].kind,
        traveler::domain::event::DeviationKind::LeftOutsideWindow
    );
}

/// Defect 5: an expired lot was refused, then accepted with another expiry, and
/// nothing of the refusal was recorded.
#[test]
fn lot_refusals_are_recorded_and_a_second_expiry_is_flagged() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D5", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| {
        !traveler::tui::update::lot_materials(&r.instruction, r.step).is_empty()
    });
    b.act(Action::Scan("(01)09506000134352(17)200101(10)L-55".into()));
    assert!(b.flash().contains("REFUSED"), "{}", b.flash());
    let expiry = (Utc::now() + Duration::days(300)).format("%y%m%d");
    b.act(Action::Scan(format!(
        "(01)09506000134352(17){expiry}(10)L-55"
    )));
    let job = b.job();
    assert_eq!(job.lot_refusals.len(), 1);
    assert_eq!(job.lot_refusals[0].by, "T100");
    assert!(matches!(
        job.lot_refusals[0].reason,
        traveler::domain::event::LotRefusal::Expired { .. }
    ));
    assert_eq!(job.lots.len(), 1);
    assert!(b.flash().contains("FLAGGED"), "{}", b.flash());
    let summary = traveler::domain::deviations::deviations_summary(&job);
    use traveler::domain::deviations::FlagKind;
    assert_eq!(summary.count(FlagKind::LotRefused), 1);
    assert_eq!(summary.count(FlagKind::LotExpiryConflict), 1);
}

/// Defect 11: readings and an alarm arriving between Enter and the PIN, and the
/// signature's answer coming late, never lose the signature's visible answer.
#[test]
fn readings_and_an_alarm_between_enter_and_the_pin_never_hide_the_signature() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D11", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| {
        r.window.is_some()
            && !r.instruction.spec.steps[r.step as usize]
                .checkpoints
                .is_empty()
    });
    let w = b.runner().window.clone().unwrap();
    let step = b.runner().step;
    b.feed(&w.channel, (w.min_c + w.max_c) / 2.0, 0);
    let cp = b.runner().instruction.spec.steps[step as usize].checkpoints[0].clone();
    b.select(0);
    b.act(Action::Enter); // opens the dialog
    // Readings and an alarm arrive while the person types.
    b.feed(&w.channel, w.max_c + 25.0, 1);
    b.feed(&w.channel, w.max_c + 30.0, 2);
    if *cp.kind.get_ref() == CheckpointKind::PassFail {
        b.act(Action::Command('p'));
        b.act(Action::Enter);
    } else if *cp.kind.get_ref() == CheckpointKind::Measurement {
        b.typ(&cp.max.unwrap_or(1.0).to_string());
        b.act(Action::Enter);
    }
    b.typ("1111");
    b.feed(&w.channel, w.max_c + 31.0, 3);
    assert!(b.state.recorder.as_ref().unwrap().alarm.is_some());
    // Enter: the signature goes out, its answer is held back (a busy disk)…
    let held = traveler::tui::runtime::dispatch_held(&mut b.state, &b.exec, Action::Enter);
    assert!(!held.is_empty());
    assert!(
        matches!(&b.state.modal, Some(Modal::Sign(d)) if d.waiting.is_some()),
        "the dialog waits for its answer"
    );
    // …more readings come first…
    b.feed(&w.channel, w.max_c + 32.0, 4);
    // …then the answer: the dialog closes and says so, the alarm stays up.
    for reply in held {
        b.act(Action::Done(Box::new(reply)));
    }
    assert!(b.state.modal.is_none(), "{:?}", b.state.modal);
    assert!(b.flash().starts_with("Signed"), "{}", b.flash());
    assert!(b.flash().contains("saved"));
    assert!(b.state.recorder.as_ref().unwrap().alarm.is_some());
    let job = b.job();
    assert!(job.steps[step as usize].signatures.contains_key(&0));
    assert_eq!(job.open_excursions(step).count(), 1);
}

/// A late answer never reopens a screen the person has left.
#[test]
fn a_late_job_opened_answer_does_not_pull_the_person_back() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-LATE", "WI-CHIP-001", '3', "");
    b.act(Action::Esc);
    assert!(matches!(b.state.screen, Screen::Home(_)));
    let held = traveler::tui::runtime::dispatch_held(&mut b.state, &b.exec, Action::Enter);
    b.act(Action::Command('t')); // the person goes to the trace screen meanwhile
    for reply in held {
        b.act(Action::Done(Box::new(reply)));
    }
    assert!(
        matches!(b.state.screen, Screen::Lookup(_)),
        "the late answer reopened the job"
    );
}

/// Defect 6: limits, history, review and exports read earlier jobs' instructions
/// from today's folder. The job carries its procedures and the store archives the
/// exact text it ran, once per hash; all of it works with the folder gone.
#[test]
fn the_record_alone_serves_limits_history_review_and_exports() {
    let folder = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, folder.path().join(p.file_name().unwrap())).unwrap();
    }
    let lib = Arc::new(load_dir(folder.path()).library);
    let mut b = Bench::demo_with(lib);
    b.login("T100", "1111");
    for serial in ["SN-D6", "SN-D6"] {
        b.start_job(serial, "WI-CHIP-001", '3', "");
        let steps = b.runner().job.steps.len();
        for _ in 0..steps {
            b.complete_step("1111");
        }
        b.act(Action::Enter); // submit
        assert!(b.flash().contains("submitted"), "{}", b.flash());
    }
    let events = b.events();
    // The text is stored once per hash: by its release (the demo's) or a job's archive.
    let chip = b
        .state
        .library
        .instruction("WI-CHIP-001")
        .unwrap()
        .hash
        .clone();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e,
                Event::InstructionArchived { hash, .. }
                | Event::InstructionReleased { hash, text: Some(_), .. } if *hash == chip))
            .count(),
        1,
        "archived once per hash"
    );
    let wi = b.state.library.instruction("WI-CHIP-001").unwrap().clone();
    assert!(events.iter().any(
        |e| matches!(e, Event::JobStarted { procedures, .. } if *procedures == wi.procedure_refs())
    ));

    // The instruction leaves the folder.
    std::fs::remove_file(&wi.path).unwrap();
    let gone = Arc::new(load_dir(folder.path()).library);
    assert!(gone.instruction("WI-CHIP-001").is_none());
    let core = traveler::core::Core::new(b.store.clone(), gone.clone(), "B1");
    // Limits: the earlier jobs still count with their procedures.
    let prior = core.prior_jobs("SN-D6").unwrap();
    assert_eq!(prior.len(), 2);
    assert!(prior.iter().all(|p| p.procedures == wi.procedure_refs()));
    // Review: the job opens with the text it ran.
    let job = b.job();
    let ins = core.instruction_for(&job).unwrap();
    assert_eq!(ins.hash, job.instruction_hash);
    assert_eq!(ins.spec.steps.len(), wi.spec.steps.len());
    // History and exports name the instruction and its steps.
    let lib = traveler::core::library_with_archive(&b.store, &gone);
    let h = traveler::export::queries::board_history(&b.store, &lib, "SN-D6").unwrap();
    assert!(
        h.jobs
            .iter()
            .all(|j| j.instruction_title.as_deref() == Some(wi.spec.title.as_str()))
    );
    assert!(h.jobs.iter().all(|j| !j.procedures.is_empty()));
    let out = tempfile::tempdir().unwrap();
    let scope = traveler::export::Scope {
        job: Some(job.id.clone()),
        ..traveler::export::Scope::default()
    };
    traveler::export::html::write_html(
        &b.store,
        &lib,
        &scope,
        &traveler::export::ExportOptions { samples: false },
        out.path(),
        &mut |_| {},
    )
    .unwrap();
    let html: String = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    let first_step: String = wi.spec.steps[0].text.chars().take(30).collect();
    assert!(
        html.contains(&first_step),
        "the report shows the text the job ran"
    );
    // And the bench: a supervisor opens it for review with the folder gone.
    let mut r = Bench::demo_with(gone);
    r.store = b.store.clone();
    r.exec = traveler::tui::exec::Executor::new(core, out.path().to_path_buf());
    r.login("S400", "4444");
    r.act(Action::Command('r'));
    r.act(Action::Enter);
    let Screen::Review(rv) = &r.state.screen else {
        panic!("{}", r.flash())
    };
    let (_, ins) = rv.open.as_ref().expect("the job opened");
    assert!(
        ins.is_some(),
        "review shows the instruction text the job ran"
    );
}

const WI_RECORDED: &str = r#"id = "WI-TAL-001"
revision = "A"
title = "Reflow one joint and record time above liquidus"
activity = "rework"
procedures = ["7711 3.1.1"]
classes = [1, 2, 3]
skill = "intermediate"
modules = [4]
equipment = ["Hot air station"]

[[step]]
text = "Reflow the joint."
temperature = { channel = "board", min = 200.0, max = 260.0 }

[[step.checkpoint]]
text = "Time above liquidus"
acceptance = "ORG-QP-14 §4"
signer = "technician"
kind = "measurement"
unit = "s"
min = 5.0
max = 90.0
recorded = "above_liquidus_s"
tolerance = 5.0
"#;

fn folder_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    for f in ["procedures.toml", "alloys.toml", "policy.toml"] {
        std::fs::copy(shipped.join(f), folder.path().join(f)).unwrap();
    }
    for (name, text) in extra {
        std::fs::write(folder.path().join(name), text).unwrap();
    }
    folder
}

/// Defect 9: a measurement the station recorded (time above liquidus) accepted any
/// typed value. The dialog shows the recorded figure; a value further from it than
/// the tolerance needs a comment and is flagged.
#[test]
fn a_typed_value_that_differs_from_the_recorded_figure_needs_a_comment_and_is_flagged() {
    let folder = folder_with(&[("WI-TAL-001.toml", WI_RECORDED)]);
    let loaded = load_dir(folder.path());
    assert!(loaded.is_clean(), "{:?}", loaded.diagnostics);
    let mut b = Bench::demo_with(Arc::new(loaded.library));
    b.login("T100", "1111");
    b.start_job("SN-D9", "WI-TAL-001", '3', "");
    // 15 readings a second apart above the liquidus: 14 s recorded.
    for i in 0..15 {
        b.feed("board", 230.0, i);
    }
    b.act(Action::Enter);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!("{:?}", b.state.modal)
    };
    let recorded = d.recorded.expect("the dialog shows the recorded figure");
    assert!((recorded - 14.0).abs() < 0.01, "{recorded}");
    b.typ("62");
    b.act(Action::Enter);
    let Some(Modal::Sign(d)) = &b.state.modal else {
        panic!()
    };
    assert_eq!(
        d.stage,
        traveler::tui::state::SignStage::Comment,
        "a value far from the record asks why"
    );
    b.act(Action::Enter);
    assert!(matches!(&b.state.modal, Some(Modal::Sign(d)) if d.error.is_some()));
    b.typ("read from the oven's own profile");
    b.act(Action::Enter);
    b.typ("1111");
    b.act(Action::Enter);
    assert!(b.state.modal.is_none(), "{:?} {}", b.state.modal, b.flash());
    assert!(b.flash().contains("FLAGGED"), "{}", b.flash());
    let job = b.job();
    let sig = &job.history[0];
    assert_eq!(sig.recorded.as_ref().map(|r| r.value), Some(recorded));
    assert!(sig.differs_from_record());
    let summary = traveler::domain::deviations::deviations_summary(&job);
    assert_eq!(
        summary.count(traveler::domain::deviations::FlagKind::MeasurementDiffersFromRecord),
        1
    );
}

/// `traveler check` validates the recorded-metric field with file:line:col.
#[test]
fn check_refuses_an_unknown_recorded_metric_and_one_on_a_pass_fail_checkpoint() {
    let bad = WI_RECORDED
        .replace("WI-TAL-001", "WI-TAL-002")
        .replace("\"above_liquidus_s\"", "\"time_on_bench\"");
    let on_pass_fail = WI_RECORDED.replace("WI-TAL-001", "WI-TAL-003").replace(
        "kind = \"measurement\"\nunit = \"s\"\nmin = 5.0\nmax = 90.0\n",
        "kind = \"pass-fail\"\n",
    );
    let folder = folder_with(&[("bad.toml", &bad), ("pf.toml", &on_pass_fail)]);
    let loaded = load_dir(folder.path());
    let text: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("bad.toml:23:") && t.contains("time_on_bench")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("pf.toml:") && t.contains("measurement")),
        "{text:#?}"
    );
}

/// Defects 7 and 8: the reviewer saw only the last attempt; the failed signature,
/// the redo reason and the suspend/resume reasons were hidden, and who acknowledged
/// an alarm only in the JSON. The review shows all of it in time order, with the
/// deviations summary first.
#[test]
fn the_review_shows_every_attempt_reason_and_who_when_under_a_deviations_summary() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-D8", "WI-TH-001", '3', "");
    b.walk_to("1111", |r| r.window.is_some());
    let w = b.runner().window.clone().unwrap();
    b.feed(&w.channel, w.min_c + 1.0, 0);
    b.feed(&w.channel, w.max_c + 20.0, 1);
    b.feed(&w.channel, w.min_c + 1.0, 2);
    b.act(Action::Command('a'));
    b.typ("tip touched the barrel");
    b.act(Action::Enter);
    b.act(Action::Command('z'));
    b.typ("shift end");
    b.act(Action::Enter);
    b.act(Action::Enter); // open the suspended job again
    b.typ("next shift");
    b.act(Action::Enter);
    // Fail a pass/fail checkpoint on this or a later step, then redo it.
    b.walk_to("1111", |r| {
        r.instruction.spec.steps[r.step as usize]
            .checkpoints
            .iter()
            .any(|c| {
                *c.kind.get_ref() == CheckpointKind::PassFail && c.signer == Signer::Technician
            })
    });
    let i = {
        let r = b.runner();
        r.instruction.spec.steps[r.step as usize]
            .checkpoints
            .iter()
            .position(|c| *c.kind.get_ref() == CheckpointKind::PassFail)
            .unwrap()
    };
    b.select(i);
    b.act(Action::Enter);
    b.act(Action::Command('f'));
    b.act(Action::Enter);
    b.typ("land 2 lifted");
    b.act(Action::Enter);
    b.typ("1111");
    b.act(Action::Enter);
    b.act(Action::Command('r'));
    b.typ("new land bonded");
    b.act(Action::Enter);
    let steps = b.runner().job.steps.len();
    while matches!(b.state.screen, Screen::Runner(_)) {
        b.complete_step("1111");
        assert!(
            b.job()
                .steps
                .iter()
                .filter(|s| s.completed.is_some())
                .count()
                <= steps
        );
    }
    b.act(Action::Enter); // submit
    b.act(Action::Command('l'));
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    let Screen::Review(r) = &b.state.screen else {
        panic!("{}", b.flash())
    };
    assert!(r.open.is_some());
    let text = screen_text(&b.state, 200, 120);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not on the review screen:\n{text}"))
    };
    // The summary comes first and names each kind.
    let summary = at("Deviations:");
    assert!(summary < at("⚑"));
    for needle in [
        "failed checkpoint",
        "redo",
        "suspended",
        "land 2 lifted",
        "new land bonded",
        "shift end",
        "next shift",
        "acknowledged by T100",
    ] {
        at(needle);
    }
    // The failed attempt and the redo show under the step, in time order.
    let failed = text.rfind("land 2 lifted").unwrap();
    let redo = text.rfind("attempt 2: new land bonded").unwrap();
    assert!(failed < redo, "the failed attempt before the redo");
    assert!(text.contains("Fail"), "{text}");
}

/// Readings that arrive after `n` and before its answer never join the samples the
/// completion sealed (verify stays OK); they go to the next step.
#[test]
fn readings_while_a_step_completes_go_to_the_next_step_not_into_the_seal() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-SEAL", "WI-BGA-001", '3', "");
    b.walk_to("1111", |r| {
        r.window.is_some()
            && r.instruction.spec.steps[r.step as usize]
                .checkpoints
                .is_empty()
    });
    let w = b.runner().window.clone().unwrap();
    let step = b.runner().step;
    let mid = (w.min_c + w.max_c) / 2.0;
    for i in 0..5 {
        b.feed(&w.channel, mid, i);
    }
    let held = traveler::tui::runtime::dispatch_held(&mut b.state, &b.exec, Action::Command('n'));
    // The disk is slow; readings keep coming, ticks keep flushing.
    for i in 5..(5 + 60) {
        b.feed(&w.channel, mid, i);
    }
    b.act(Action::Tick(Utc::now()));
    for reply in held {
        b.act(Action::Done(Box::new(reply)));
    }
    b.act(Action::Tick(Utc::now()));
    let job = b.job();
    assert!(
        job.steps[step as usize].completed.is_some(),
        "{}",
        b.flash()
    );
    assert_eq!(job.steps[step as usize].sample_count, 5);
    b.verify_ok("after readings raced the completion");
    assert_eq!(b.store.samples(&job.id, step).count(), 5);
    assert_eq!(b.store.samples(&job.id, step + 1).count(), 60);
}

impl Bench {
    fn footer(&self) -> String {
        traveler::tui::keys::footer(&self.state)
            .iter()
            .map(|(k, w)| format!("{k} {w}"))
            .collect::<Vec<_>>()
            .join(" | ")
    }
    fn count(&self, kind: &str) -> usize {
        self.events().iter().filter(|e| e.kind() == kind).count()
    }
    /// A whole WI-CHIP-001 job by T100, submitted; then logged out.
    fn submitted_chip_job(&mut self, serial: &str) -> String {
        self.login("T100", "1111");
        self.start_job(serial, "WI-CHIP-001", '3', "");
        let steps = self.runner().job.steps.len();
        for _ in 0..steps {
            self.complete_step("1111");
        }
        self.act(Action::Enter); // submit
        self.act(Action::Command('l'));
        self.job_id()
    }
}

/// Issue 13, item 1: a rejected job's summary scrolls with the keys its footer
/// shows, and the verdict and reason stay on top at 80×24 and 100×30.
#[test]
fn rejected_summary_scrolls_and_keeps_the_reason_on_top() {
    let mut b = Bench::demo();
    let job = b.submitted_chip_job("SN-1301");
    b.login("S400", "4444");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    b.act(Action::Command('x'));
    b.typ("C5 fillet photo missing; redo step 6");
    b.act(Action::Enter);
    b.typ("4444");
    b.act(Action::Enter);
    assert_eq!(
        b.store.job(&job).unwrap().unwrap().status,
        JobStatus::Rejected
    );
    b.act(Action::Esc);
    b.act(Action::Command('l'));
    b.login("T100", "1111");
    b.act(Action::Enter);
    assert!(matches!(b.state.screen, Screen::Summary(_)));
    assert!(b.footer().contains("↑↓ scroll"), "{}", b.footer());
    for (w, h) in [(80u16, 24u16), (100, 30)] {
        b.act(Action::Resize(w, h));
        b.act(Action::Home);
        let top = screen_text(&b.state, w, h);
        assert!(top.contains("REJECTED by Dana Roth"), "{top}");
        assert!(top.contains("C5 fillet photo missing"), "{top}");
        b.act(Action::End);
        let Screen::Summary(s) = &b.state.screen else {
            panic!()
        };
        assert!(s.scroll > 0, "{w}x{h}: End did not scroll");
        let end = screen_text(&b.state, w, h);
        assert!(end.contains("C5 fillet photo missing"), "{end}");
        assert!(end.contains(" signatures · "), "{end}");
        b.act(Action::PageUp);
        b.act(Action::Up);
        b.act(Action::Down);
        b.act(Action::PageDown);
        let Screen::Summary(s2) = &b.state.screen else {
            panic!()
        };
        let at_end = s2.scroll;
        b.act(Action::Down);
        let Screen::Summary(s3) = &b.state.screen else {
            panic!()
        };
        assert_eq!(s3.scroll, at_end, "scrolling stops at the end");
    }
    // Help scrolls too, and any other key closes it.
    b.act(Action::Help);
    b.act(Action::End);
    assert!(b.state.help, "End scrolls the help; it does not close it");
    b.act(Action::Esc);
    assert!(!b.state.help);
    assert!(matches!(b.state.screen, Screen::Summary(_)));
}

/// Item 2: after a signature the cursor moves to the next unsigned checkpoint,
/// so Enter signs it rather than answering "already signed"; the footer shows
/// ↑↓ on the runner and ←→ in the pass/fail dialog; `?` says what z, Esc and
/// Ctrl+Q/Ctrl+C do to the open job, and explains the redo/abort dialog.
#[test]
fn after_a_signature_enter_signs_the_next_checkpoint() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-1302", "WI-BGA-001", '3', "");
    let n_cp = b.runner().instruction.spec.steps[0].checkpoints.len();
    assert!(n_cp >= 2);
    assert!(b.footer().contains("↑↓ checkpoint"), "{}", b.footer());
    assert_eq!(b.runner().selected, 0);
    for i in 0..n_cp {
        assert_eq!(b.runner().selected, i, "{}", b.flash());
        b.act(Action::Enter); // the key the footer shows for "sign"
        assert!(
            matches!(b.state.modal, Some(Modal::Sign(_))),
            "cp {i}: {}",
            b.flash()
        );
        if let Some(Modal::Sign(d)) = &b.state.modal
            && d.stage == traveler::tui::state::SignStage::Choice
        {
            assert!(b.footer().contains("←→"), "{}", b.footer());
        }
        b.answer_checkpoint();
        b.typ("1111");
        b.act(Action::Enter);
        assert!(b.state.modal.is_none(), "{}", b.flash());
    }
    assert_eq!(b.count("checkpoint_signed"), n_cp);
    assert!(!b.flash().contains("already signed"), "{}", b.flash());
    // Everything signed: Enter says what comes next.
    b.act(Action::Enter);
    assert!(b.state.modal.is_none());
    assert!(b.flash().contains("press n to complete"), "{}", b.flash());

    b.act(Action::Resize(80, 24));
    b.act(Action::Help);
    b.act(Action::End);
    let help = screen_text(&b.state, 80, 24);
    assert!(help.contains("Ctrl+Q (or Ctrl+C) quits"), "{help}");
    b.act(Action::Home);
    b.act(Action::PageDown);
    let mid = screen_text(&b.state, 80, 24);
    assert!(
        mid.contains("z suspends") || help.contains("z suspends"),
        "{mid}"
    );
    b.act(Action::Esc);
    // The held dialog's help explains r and x.
    b.state.modal = Some(Modal::Held);
    b.act(Action::Help);
    let held = screen_text(&b.state, 120, 40);
    assert!(
        held.contains("r redoes the step") && held.contains("x aborts"),
        "{held}"
    );
}

/// Item 3: the job list names the step the job resumes at, not the steps done.
#[test]
fn the_job_list_names_the_step_a_job_resumes_at() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-1303", "WI-BGA-001", '3', "");
    b.complete_step("1111");
    assert_eq!(b.runner().step, 1);
    let text = b.runner().instruction.spec.steps[1].text.clone();
    // The step's name: its first clause, whole (the runner shows the whole text).
    let name = traveler::tui::view::fit::step_name(&text).to_string();
    assert!(text.starts_with(&name) && name.len() > 20, "{name}");
    let total = b.runner().job.steps.len();
    b.act(Action::Esc);
    let Screen::Home(h) = &b.state.screen else {
        panic!()
    };
    let step = &h.jobs[0].step;
    assert!(step.starts_with(&format!("2/{total} ")), "{step}");
    assert!(step.contains(&name), "{step}");
    b.act(Action::Enter);
    assert_eq!(b.runner().step, 1, "Enter resumes at the step shown");
}

/// Item 6: after a wrong PIN, the badge scanned again (even onto the PIN field)
/// starts the log-in again with it and costs no PIN try.
#[test]
fn a_badge_scanned_onto_the_pin_field_restarts_the_log_in() {
    let mut b = Bench::demo();
    b.login("T100", "0000");
    assert_eq!(b.count("pin_rejected"), 1);
    let Screen::Login(f) = &b.state.screen else {
        panic!()
    };
    assert_eq!(
        f.focus, 1,
        "the PIN field has the keyboard after a wrong PIN"
    );
    b.act(Action::Scan("T100".into()));
    let Screen::Login(f) = &b.state.screen else {
        panic!()
    };
    assert_eq!(f.badge.value, "T100");
    assert!(f.pin.value.is_empty());
    assert_eq!(f.focus, 1);
    assert_eq!(b.count("pin_rejected"), 1, "a scan is never a PIN try");
    // Another badge scanned onto the PIN field replaces the badge.
    b.typ("12");
    b.act(Action::Scan("S400".into()));
    let Screen::Login(f) = &b.state.screen else {
        panic!()
    };
    assert_eq!(f.badge.value, "S400");
    assert!(f.pin.value.is_empty());
    // Digits typed fast on a keypad are still a PIN.
    b.act(Action::Scan("4444".into()));
    assert!(matches!(b.state.screen, Screen::Home(_)), "{}", b.flash());
    assert_eq!(b.count("pin_rejected"), 1);
}

/// Item 5: a scanned `LOT YYYY-MM-DD` is parsed; bad dates say so; `p` records
/// the lot an earlier step used for the same material.
#[test]
fn lot_suffix_dates_are_parsed_on_scans_and_p_reuses_an_earlier_lot() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-1305", "WI-BGA-001", '3', "");
    let mut guard = 0;
    while traveler::tui::update::lot_materials(&b.runner().instruction, b.runner().step).is_empty()
    {
        b.complete_step("1111");
        guard += 1;
        assert!(guard < 12);
    }
    let step = b.runner().step;
    let expiry = (Utc::now() + Duration::days(300)).date_naive();
    b.act(Action::Scan(format!("FLX-7788 {expiry}")));
    let job = b.store.job(&b.job_id()).unwrap().unwrap();
    let lot = job.lots.iter().find(|l| l.lot == "FLX-7788");
    assert!(lot.is_some(), "{} {:?}", b.flash(), b.state.modal);
    assert_eq!(lot.unwrap().expiry, Some(expiry));
    assert!(b.state.modal.is_none(), "{:?}", b.state.modal);

    for bad in ["2027-13-45", "31/12/2027"] {
        b.act(Action::Command('l'));
        b.typ(&format!("BRD-1 {bad}"));
        b.act(Action::Enter);
        let Some(Modal::Lot { error, .. }) = &b.state.modal else {
            panic!("{bad}: {:?}", b.state.modal)
        };
        let e = error.clone().unwrap_or_default();
        assert!(
            e.contains("not a valid date (use YYYY-MM-DD)"),
            "{bad}: {e}"
        );
        b.act(Action::Esc);
        b.act(Action::Scan(format!("BRD-1 {bad}")));
        let Some(Modal::Lot { error, .. }) = &b.state.modal else {
            panic!("{bad}: {:?}", b.state.modal)
        };
        assert!(
            error
                .clone()
                .unwrap_or_default()
                .contains("not a valid date")
        );
        b.act(Action::Esc);
    }
    let before = b.count("lot_recorded");
    b.complete_step("1111");
    assert_eq!(b.runner().step, step + 1, "{}", b.flash());
    let recorded = b.count("lot_recorded");
    assert!(recorded > before);
    // The next step needs flux again: p records FLX-7788 with its expiry.
    let r = b.runner();
    let offered = traveler::tui::update::previous_lot(r).map(|l| l.lot.clone());
    assert_eq!(offered.as_deref(), Some("FLX-7788"));
    let text = screen_text(&b.state, 120, 40);
    assert!(text.contains("p: FLX-7788"), "{text}");
    // The footer offers p now (not on a step with nothing to reuse).
    assert!(b.footer().contains("p same lot"), "{}", b.footer());
    b.act(Action::Command('p'));
    let job = b.store.job(&b.job_id()).unwrap().unwrap();
    let again: Vec<_> = job.lots_for_step(step + 1).collect();
    assert!(
        again
            .iter()
            .any(|l| l.lot == "FLX-7788" && l.expiry == Some(expiry) && l.material == "flux"),
        "{again:?} {}",
        b.flash()
    );
}

/// Item 9: a supervisor who inspected a job sees it greyed with the reason and
/// cannot open the approve dialog; the demo's second supervisor reviews it.
#[test]
fn a_supervisor_who_inspected_is_greyed_and_the_second_supervisor_reviews() {
    let mut b = Bench::demo();
    b.inspector = ("S400", "4444");
    b.login("T100", "1111");
    b.start_job("SN-1309", "WI-BGA-001", '3', "");
    let steps = b.runner().job.steps.len();
    for _ in 0..steps {
        b.complete_step("1111");
    }
    b.act(Action::Enter); // submit
    let job = b.job_id();
    assert_eq!(
        b.store.job(&job).unwrap().unwrap().status,
        JobStatus::Submitted,
        "{}",
        b.flash()
    );
    assert!(
        b.store
            .job(&job)
            .unwrap()
            .unwrap()
            .inspector_badges()
            .contains(&"S400".to_string())
    );
    b.act(Action::Command('l'));

    b.login("S400", "4444");
    b.act(Action::Command('r'));
    let Screen::Review(r) = &b.state.screen else {
        panic!("{}", b.flash())
    };
    let line = r.queue.iter().find(|l| l.id == job).unwrap().clone();
    let why = traveler::tui::update::review_refusal(&b.state, &line.performer, &line.inspectors);
    assert!(
        why.as_deref().unwrap_or("").contains("you inspected it"),
        "{why:?}"
    );
    let text = screen_text(&b.state, 80, 24);
    assert!(text.contains("you may not review it"), "{text}");
    b.act(Action::Enter);
    assert!(b.flash().contains("you may not review it"), "{}", b.flash());
    // The footer does not offer approve or reject on a job she may not review.
    assert!(
        !b.footer().contains("approve") && !b.footer().contains("reject"),
        "{}",
        b.footer()
    );
    b.act(Action::Command('a'));
    assert!(b.state.modal.is_none(), "no comment or PIN is asked for");
    assert!(b.flash().contains("may not review"), "{}", b.flash());
    // The whole reason is on an 80-column screen (the message wraps).
    let text = screen_text(&b.state, 80, 24);
    let flat = text
        .replace('\n', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("you inspected it: nobody may inspect or review their own work"),
        "{text}"
    );
    b.act(Action::Command('x'));
    assert!(b.state.modal.is_none());
    assert_eq!(b.count("job_reviewed"), 0);
    b.act(Action::Esc);
    b.act(Action::Esc);
    b.act(Action::Command('l'));

    // The demo's second supervisor.
    b.login("S500", "5555");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    assert!(
        b.footer().contains("a approve") && b.footer().contains("x reject"),
        "{}",
        b.footer()
    );
    // The record scrolls with the keys its footer and help name (item 1).
    assert!(b.footer().contains("↑↓ scroll"), "{}", b.footer());
    b.act(Action::Resize(80, 24));
    b.act(Action::End);
    let Screen::Review(r) = &b.state.screen else {
        panic!()
    };
    assert!(r.scroll > 0, "End scrolls a BGA record at 80x24");
    let end = screen_text(&b.state, 80, 24);
    assert!(end.contains("Temperature charts of"), "{end}");
    b.act(Action::Tab);
    let chart = screen_text(&b.state, 80, 24);
    assert!(chart.contains("chart 1 of"), "{chart}");
    b.act(Action::Tab);
    b.act(Action::Home);
    let Screen::Review(r) = &b.state.screen else {
        panic!()
    };
    assert_eq!(r.scroll, 0);
    b.act(Action::Command('a'));
    b.typ("inspected by Dana, reviewed by Eli");
    b.act(Action::Enter);
    b.typ("5555");
    b.act(Action::Enter);
    assert!(b.flash().contains("approved"), "{}", b.flash());
    assert_eq!(
        b.store.job(&job).unwrap().unwrap().status,
        JobStatus::Approved
    );
}

/// Item 4: Enter walks the form in the order the screen shows it; a known
/// board fills P/N and revision from its history; another kind of alloy than
/// before warns of a mixed-alloy rework; Enter on a greyed instruction says why.
#[test]
fn new_job_form_follows_the_screen_and_the_board_history() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-1304", "WI-CHIP-001", '3', "");
    assert!(matches!(b.state.screen, Screen::Runner(_)), "{}", b.flash());
    b.act(Action::Esc);

    b.act(Action::Command('n'));
    b.typ("SN-1304");
    b.act(Action::Enter);
    let form = |b: &Bench| match &b.state.screen {
        Screen::Start(f) => (**f).clone(),
        _ => panic!("not on the form: {}", b.flash()),
    };
    let f = form(&b);
    assert_eq!(f.focus, 1);
    assert_eq!(
        f.fields[1].value, "PCA-1001",
        "P/N from the board's history"
    );
    assert_eq!(f.fields[2].value, "C", "revision from the board's history");
    assert!(f.fields[1].suggested);
    // Order on screen: left column top to bottom, then the right one.
    let text = screen_text(&b.state, 80, 24);
    let at = |label: &str| {
        text.find(label)
            .map(|i| {
                let line = text[..i].matches('\n').count();
                let col = i - text[..i].rfind('\n').map_or(0, |n| n + 1);
                (col > 40, line)
            })
            .unwrap_or_else(|| panic!("{label} not shown:\n{text}"))
    };
    let labels = [
        "Board serial",
        "Assembly P/N",
        "Assembly rev",
        "Ref. designators",
        "Defect / NCR",
        "Approval / ECO",
        "Product class",
        "Alloy",
    ];
    let places: Vec<_> = labels.iter().map(|l| at(l)).collect();
    let mut sorted = places.clone();
    sorted.sort();
    assert_eq!(places, sorted, "labels are shown in Enter's order:\n{text}");
    for want in 2..=traveler::tui::state::StartForm::LIST {
        b.act(Action::Enter);
        assert_eq!(form(&b).focus, want);
    }
    let f = form(&b);
    assert_eq!(f.fields[1].value, "PCA-1001", "Enter keeps the suggestion");

    // SAC305 before; Sn63Pb37 now is a mixed-alloy rework.
    let lead = b
        .state
        .library
        .alloys
        .iter()
        .position(|a| a.id.get_ref() == "Sn63Pb37")
        .unwrap();
    if let Screen::Start(f) = &mut b.state.screen {
        f.alloy = lead;
    }
    let text = screen_text(&b.state, 80, 24);
    assert!(text.contains("Mixed-alloy rework"), "{text}");
    let f = form(&b);
    assert_eq!(f.mixed_alloys(&b.state.library), vec!["SAC305".to_string()]);

    // A greyed instruction: Enter says why, and nothing starts.
    let started = b.count("job_started");
    let spl = b
        .state
        .library
        .instructions
        .iter()
        .position(|i| i.id() == "WI-SPL-001")
        .unwrap();
    for _ in 0..spl {
        b.act(Action::Down);
    }
    b.act(Action::Enter);
    let err = form(&b).error.unwrap_or_default();
    assert!(
        err.contains("WI-SPL-001 cannot start") && err.contains("Class 3"),
        "{err}"
    );
    assert_eq!(b.count("job_started"), started);
}

#[test]
fn the_job_list_shows_records_appended_beside_it_with_no_key_pressed() {
    let mut b = Bench::demo();
    b.login("T100", "1111");
    b.start_job("SN-HERE", "WI-BGA-001", '3', "");
    b.act(Action::Esc);
    assert!(matches!(b.state.screen, Screen::Home(_)), "{}", b.flash());
    let selected = |b: &Bench| match &b.state.screen {
        Screen::Home(h) => h.jobs[h.selected].serial.clone(),
        _ => panic!("not on the job list"),
    };
    assert_eq!(selected(&b), "SN-HERE");

    // Beside this screen (as the hub sync task is), a second one on the same store
    // starts a job.
    let mut beside = Bench::on(
        b.store.clone(),
        b.library.clone(),
        b.folder().join("exports-beside"),
    );
    beside.login("T100", "1111");
    beside.start_job("SN-BESIDE", "WI-BGA-001", '3', "");
    assert!(!b.screen().contains("SN-BESIDE"), "{}", b.screen());

    // The store's head moved: the list is read again and keeps the cursor's job.
    b.act(Action::RecordsArrived(b.store.chain_head().seq));
    let screen = b.screen();
    assert!(screen.contains("SN-BESIDE"), "{screen}");
    assert_eq!(selected(&b), "SN-HERE");

    // A screen someone works on is not read again under them.
    b.act(Action::Enter);
    assert!(!matches!(b.state.screen, Screen::Home(_)));
    let before = format!("{:?}", b.state.screen);
    let effects = traveler::tui::update::update(
        &mut b.state,
        Action::RecordsArrived(b.store.chain_head().seq + 1),
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(format!("{:?}", b.state.screen), before);
}
