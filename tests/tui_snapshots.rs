//! Every screen rendered into a `TestBackend` and compared with its snapshot.
//! States are built from synthetic records at fixed times so the pictures are stable.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use traveler::domain::event::{Event, Record};
use traveler::domain::job::{Job, JobStatus};
use traveler::domain::person::Person;
use traveler::domain::types::{
    CertLevel, Certification, CheckResult, Decision, Meaning, ProductClass, Role, SkillLevel,
};
use traveler::instruction::{Library, load_dir};
use traveler::tui::action::{Action, StationUpdate};
use traveler::tui::input::TextField;
use traveler::tui::state::{
    HomeState, JobLine, Modal, ReviewLine, ReviewState, Screen, SignDialog, SignStage, StartForm,
    State, SummaryState,
};
use traveler::tui::update::update;
use traveler::tui::view::draw;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
}

fn library() -> Arc<Library> {
    let loaded = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"));
    Arc::new(loaded.library)
}

fn person(badge: &str, name: &str, skill: SkillLevel, roles: &[Role], modules: &[u8]) -> Person {
    Person {
        badge: badge.into(),
        name: name.into(),
        roles: roles.to_vec(),
        skill,
        pin_hash: String::new(),
        certifications: vec![Certification {
            level: CertLevel::CIS,
            modules: modules.to_vec(),
            certificate: "C-1".into(),
            issued: t0().date_naive() - Duration::days(100),
            expires: t0().date_naive() + Duration::days(600),
        }],
        active: true,
        locked_until: None,
        failed_pins: 0,
    }
}

fn ana() -> Person {
    person(
        "T100",
        "Ana Lima",
        SkillLevel::Expert,
        &[Role::Technician],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    )
}

fn state(user: Option<Person>) -> State {
    let mut s = State::new(library(), "BENCH-7", t0());
    s.user = user;
    s.station.connected = true;
    s.station.status = "connected /dev/ttyUSB0".into();
    s
}

fn render(s: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(s, f)).unwrap();
    format!("{}", term.backend())
}

fn rec(seq: u64, secs: i64, event: Event) -> Record {
    Record {
        seq,
        prev_hash: String::new(),
        time: t0() + Duration::seconds(secs),
        actor: "T100".into(),
        event,
    }
}

/// A BGA job with every step before the first heated one done and signed, or
/// (submitted) all of them.
fn bga_job(status_submitted: bool) -> Job {
    let lib = library();
    let wi = lib.instruction("WI-BGA-001").unwrap();
    let mut recs = vec![
        rec(
            0,
            0,
            Event::JobStarted {
                job: "BENCH-7-20261123-100000".into(),
                board_serial: "SN-4471".into(),
                assembly_part: "PCA-1001".into(),
                assembly_rev: "C".into(),
                refdes: vec!["U7".into()],
                defect_ref: "NCR-77".into(),
                class: ProductClass::Class3,
                alloy: "SAC305".into(),
                instruction_id: wi.id().into(),
                instruction_rev: wi.revision().into(),
                instruction_hash: wi.hash.clone(),
                step_count: wi.spec.steps.len() as u32,
                approval_ref: None,
                bench: "BENCH-7".into(),
                performer: "T100".into(),
                procedures: vec![],
            },
        ),
        rec(
            1,
            1,
            Event::StepStarted {
                job: "BENCH-7-20261123-100000".into(),
                step: 0,
            },
        ),
    ];
    let mut seq = 2;
    let first_heated = wi
        .spec
        .steps
        .iter()
        .position(|s| s.temperature.is_some())
        .unwrap();
    let steps = if status_submitted {
        wi.spec.steps.len()
    } else {
        first_heated
    };
    for step in 0..steps as u32 {
        for (i, cp) in wi.spec.steps[step as usize].checkpoints.iter().enumerate() {
            let inspector = cp.signer == traveler::instruction::schema::Signer::Inspector;
            recs.push(rec(
                seq,
                60 * (step as i64 + 1),
                Event::CheckpointSigned {
                    job: "BENCH-7-20261123-100000".into(),
                    step,
                    checkpoint: i as u32,
                    signer: if inspector {
                        "I300".into()
                    } else {
                        "T100".into()
                    },
                    signer_name: if inspector {
                        "Chen Wei".into()
                    } else {
                        "Ana Lima".into()
                    },
                    meaning: if inspector {
                        Meaning::Inspected
                    } else {
                        Meaning::Performed
                    },
                    result: CheckResult::Pass,
                    measurement: None,
                    comment: None,
                    recorded: None,
                },
            ));
            seq += 1;
        }
        recs.push(rec(
            seq,
            60 * (step as i64 + 1) + 30,
            Event::StepCompleted {
                job: "BENCH-7-20261123-100000".into(),
                step,
                temperature: vec![],
                sample_count: 0,
                samples_digest: "00".into(),
                attempt: 0,
            },
        ));
        seq += 1;
    }
    if status_submitted {
        recs.push(rec(
            seq,
            3600,
            Event::JobSubmitted {
                job: "BENCH-7-20261123-100000".into(),
            },
        ));
    } else {
        recs.push(rec(
            seq,
            120,
            Event::StepStarted {
                job: "BENCH-7-20261123-100000".into(),
                step: first_heated as u32,
            },
        ));
    }
    Job::fold(&recs).unwrap()
}

fn runner_state() -> State {
    let mut s = state(Some(ana()));
    let job = bga_job(false);
    s.screen = Screen::Home(HomeState::default());
    let instruction = std::sync::Arc::new(
        s.library
            .instruction(&job.instruction_id)
            .cloned()
            .expect("the job's instruction"),
    );
    let request = s.ask(traveler::tui::state::Ask::OpenJob);
    update(
        &mut s,
        Action::Done(Box::new(traveler::tui::action::Reply {
            request,
            outcome: traveler::tui::action::Outcome::JobOpened(Ok((job, instruction))),
        })),
    );
    // A preheat ramp with one excursion above the window.
    let w = match &s.screen {
        Screen::Runner(r) => r
            .window
            .clone()
            .expect("the first heated step has a window"),
        _ => panic!("runner expected"),
    };
    for i in 0..40 {
        let v = w.min_c - 30.0 + i as f64 * 2.0;
        let v = if i >= 36 {
            w.max_c + 4.0 + (i - 36) as f64
        } else {
            v.min(w.max_c - 2.0)
        };
        update(
            &mut s,
            Action::Station(StationUpdate::Sample {
                channel: w.channel.clone(),
                time: t0() + Duration::seconds(200 + i),
                celsius: v,
            }),
        );
    }
    // What was asked has been answered: the station's alarm is in the record (as
    // the core's answer puts it in the job) and nothing is shown as saving.
    let alarm = s
        .recorder
        .as_ref()
        .and_then(|r| r.alarm.clone())
        .expect("an alarm");
    if let Screen::Runner(r) = &mut s.screen {
        let seq = r.job.last_event_seq + 1;
        r.job.apply(&rec(
            seq,
            236,
            Event::Excursion {
                job: r.job.id.clone(),
                step: r.step,
                id: alarm.id,
                channel: alarm.channel.clone(),
                window_min_c: alarm.window.0,
                window_max_c: alarm.window.1,
                peak_c: alarm.peak,
                started: alarm.started,
                ended: None,
            },
        ));
    }
    s.requests.clear();
    s
}

macro_rules! snap {
    ($name:expr, $text:expr) => {
        insta::assert_snapshot!($name, $text);
    };
}

/// Renders at `w`×`h` (the state paging at that size too) and checks that every
/// key the footer offers is on the screen's last line, whole.
fn shown(s: &mut State, w: u16, h: u16) -> String {
    update(s, Action::Resize(w, h));
    let text = render(s, w, h);
    // The footer is the last rows (it wraps rather than cut a key).
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('"')).collect();
    let last = rows[rows.len().saturating_sub(3)..].join("");
    for (key, what) in traveler::tui::keys::footer(s) {
        assert!(
            last.contains(key) && last.contains(what),
            "{w}x{h}: the footer cuts `{key} {what}`: {last}"
        );
    }
    text
}

/// The two sizes every changed screen is checked at.
fn snap_sizes(name: &str, s: &mut State) {
    for (w, h) in [(80, 24), (120, 40)] {
        let text = shown(s, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
    }
}

#[test]
fn login_screen_in_demo_mode() {
    let mut s = state(None);
    s.demo = Some(traveler::demo::badges());
    snap_sizes("login_demo", &mut s);
}

#[test]
fn login_screen_with_an_error() {
    let mut s = state(None);
    if let Screen::Login(f) = &mut s.screen {
        f.badge.value = "T100".into();
        f.focus = 1;
        f.error = Some("wrong PIN (2 of 5 before the badge locks)".into());
    }
    snap_sizes("login_error", &mut s);
}

#[test]
fn home_screen_lists_open_jobs() {
    let mut s = state(Some(person(
        "S400",
        "Dana Roth",
        SkillLevel::Expert,
        &[Role::Supervisor],
        &[1],
    )));
    s.screen = Screen::Home(HomeState {
        jobs: vec![
            JobLine {
                id: "BENCH-7-20261123-100000".into(),
                serial: "SN-4471".into(),
                instruction: "WI-BGA-001".into(),
                status: JobStatus::InProgress,
                step: "4/10 Preheat the board from below".into(),
                note: String::new(),
            },
            JobLine {
                id: "BENCH-7-20261122-151500".into(),
                serial: "SN-4402".into(),
                instruction: "WI-TH-001".into(),
                status: JobStatus::Rejected,
                step: "all 7 done".into(),
                note: "rejected: fillet on J3 pin 2".into(),
            },
        ],
        reviews: 3,
        selected: 0,
        loaded: true,
    });
    snap_sizes("home", &mut s);
}

#[test]
fn start_screen_greys_what_the_person_may_not_run() {
    let mut s = state(Some(person(
        "T200",
        "Ben Okafor",
        SkillLevel::Advanced,
        &[Role::Technician],
        &[1, 2, 3, 4, 5, 6, 7, 9, 10],
    )));
    let mut f = StartForm::default();
    for (i, v) in ["SN-4471", "PCA-1001", "C", "U7", "NCR-77", ""]
        .iter()
        .enumerate()
    {
        f.fields[i].value = v.to_string();
    }
    f.prior = Some(("SN-4471".into(), vec![]));
    // The board was reworked with SAC305 before; Sn63Pb37 is the first alloy.
    f.board = Some(traveler::tui::state::BoardFacts {
        part: "PCA-1001".into(),
        rev: "C".into(),
        alloys: vec!["SAC305".into()],
        ..Default::default()
    });
    f.fields[2].suggested = true;
    f.focus = StartForm::LIST;
    s.screen = Screen::Start(Box::new(f));
    snap_sizes("start_greyed", &mut s);
}

#[test]
fn runner_with_live_temperature_and_alarm() {
    let mut s = runner_state();
    snap_sizes("runner", &mut s);
    // At 60 columns the window keeps its digits.
    let narrow = shown(&mut s, 60, 20);
    let w = match &s.screen {
        Screen::Runner(r) => r.window.clone().unwrap(),
        _ => unreachable!(),
    };
    assert!(
        narrow.contains(&format!("{:.0}–{:.0}", w.min_c, w.max_c)),
        "{narrow}"
    );
    snap!("runner_60x20", narrow);
}

#[test]
fn runner_says_when_the_station_is_gone() {
    let mut s = runner_state();
    update(
        &mut s,
        Action::Station(StationUpdate::Status {
            connected: false,
            text: "/dev/ttyUSB0 vanished, reconnecting".into(),
            bad_frames: 0,
        }),
    );
    let text = shown(&mut s, 80, 24);
    assert!(text.contains("STATION DISCONNECTED"), "{text}");
    snap!("runner_disconnected_80x24", text);
}

#[test]
fn sign_dialog_for_an_inspector_checkpoint() {
    let mut s = runner_state();
    s.modal = Some(Modal::Sign(Box::new(SignDialog {
        step: 1,
        checkpoint: 0,
        stage: SignStage::Pin,
        verdict: None,
        recorded: None,
        waiting: None,
        value: TextField::new("Measured value"),
        comment: TextField::new("Comment"),
        badge: TextField::new("Inspector badge").with("I300"),
        pin: TextField::masked("PIN").with("33"),
        error: Some("wrong PIN (1 of 5 before the badge locks)".into()),
    })));
    snap_sizes("sign_dialog", &mut s);
}

#[test]
fn held_job_asks_for_a_decision() {
    let mut s = runner_state();
    s.modal = Some(Modal::Held);
    snap_sizes("held", &mut s);
}

#[test]
fn summary_before_submit() {
    let mut s = state(Some(ana()));
    let lib = library();
    let mut job = bga_job(true);
    job.status = JobStatus::InProgress;
    s.screen = Screen::Summary(Box::new(SummaryState::new(
        job,
        Arc::new(lib.instruction("WI-BGA-001").unwrap().clone()),
    )));
    snap!("summary_120x40", render(&s, 120, 40));
}

/// A rejected job's verdict and reason sit above the record, at every size, and
/// End shows the last step of the record.
#[test]
fn rejected_summary_shows_the_verdict_on_top_and_scrolls() {
    let mut s = state(Some(ana()));
    let lib = library();
    let mut job = bga_job(true);
    job.status = JobStatus::Rejected;
    job.reviews.push(traveler::domain::job::Review {
        decision: Decision::Rejected,
        reviewer: "S400".into(),
        reviewer_name: "Dana Roth".into(),
        comment: "C5 fillet photo missing; redo step 6".into(),
        time: t0() + Duration::hours(2),
    });
    s.screen = Screen::Summary(Box::new(SummaryState::new(
        job,
        Arc::new(lib.instruction("WI-BGA-001").unwrap().clone()),
    )));
    snap_sizes("summary_rejected", &mut s);
    for (w, h) in [(80, 24), (100, 30)] {
        let top = shown(&mut s, w, h);
        assert!(top.contains("C5 fillet photo missing"), "{top}");
        assert!(top.contains("REJECTED by Dana Roth"), "{top}");
        update(&mut s, Action::End);
        let end = shown(&mut s, w, h);
        assert!(end.contains("C5 fillet photo missing"), "{end}");
        assert!(
            end.contains("steps ·") && end.contains("signatures"),
            "{end}"
        );
        update(&mut s, Action::Home);
    }
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::End);
    snap!("summary_rejected_end_80x24", render(&s, 80, 24));
}

#[test]
fn review_queue_and_record() {
    let mut s = state(Some(person(
        "S400",
        "Dana Roth",
        SkillLevel::Expert,
        &[Role::Supervisor],
        &[1],
    )));
    let mut r = ReviewState {
        queue: vec![
            ReviewLine {
                id: "BENCH-7-20261123-100000".into(),
                serial: "SN-4471".into(),
                instruction: "WI-BGA-001".into(),
                performer: "T100".into(),
                submitted: t0() + Duration::hours(1),
                excursions: 1,
                flags: 2,
                inspectors: vec!["I300".into()],
            },
            ReviewLine {
                id: "BENCH-7-20261123-081500".into(),
                serial: "SN-4470".into(),
                instruction: "WI-BGA-001".into(),
                performer: "T200".into(),
                submitted: t0() + Duration::minutes(30),
                excursions: 0,
                flags: 0,
                inspectors: vec!["S400".into()],
            },
        ],
        ..ReviewState::default()
    };
    s.screen = Screen::Review(Box::new(r.clone()));
    snap_sizes("review_queue", &mut s);
    update(&mut s, Action::Down);
    let text = shown(&mut s, 80, 24);
    assert!(text.contains("you inspected it"), "{text}");
    snap!("review_queue_greyed_80x24", text);
    let lib = library();
    let mut job = bga_job(true);
    job.reviews.push(traveler::domain::job::Review {
        decision: Decision::Rejected,
        reviewer: "S400".into(),
        reviewer_name: "Dana Roth".into(),
        comment: "X-ray image missing".into(),
        time: t0() + Duration::hours(2),
    });
    r.open = Some((
        job,
        Some(Arc::new(lib.instruction("WI-BGA-001").unwrap().clone())),
    ));
    r.traces = vec![traveler::tui::state::StepTrace {
        step: 3,
        channel: "board".into(),
        window: Some((150.0, 180.0)),
        points: (0..60).map(|i| (i as f64, 120.0 + i as f64)).collect(),
        excursions: vec![(50.0, 55.0)],
    }];
    r.chart_step = 3;
    s.screen = Screen::Review(Box::new(r));
    snap_sizes("review_record", &mut s);
    update(&mut s, Action::Tab);
    snap_sizes("review_chart", &mut s);
}

#[test]
fn help_overlay() {
    let mut s = runner_state();
    s.help = true;
    snap_sizes("help", &mut s);
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::End);
    assert!(s.help, "End scrolls the help rather than closing it");
    let end = shown(&mut s, 80, 24);
    assert!(end.contains("Ctrl+Q (or Ctrl+C) quits"), "{end}");
    snap!("help_end_80x24", end);
    update(&mut s, Action::Char('x'));
    assert!(!s.help, "any other key closes the help");
}

#[test]
fn trace_lookup_screen() {
    use traveler::export::queries::{BoardHistory, HistoryEntry, LocationCycles};
    use traveler::tui::state::{LookupResult, LookupState};
    let mut s = state(Some(ana()));
    let entry = |job: &str, days: i64, status: JobStatus| HistoryEntry {
        job: job.into(),
        instruction_id: "WI-BGA-001".into(),
        instruction_rev: "A".into(),
        instruction_title: Some("BGA rework".into()),
        procedures: vec!["7711 ORG-8.1".into()],
        refdes: vec!["U7".into()],
        defect_ref: "NCR-77".into(),
        status,
        performer: "T100".into(),
        started: t0() - Duration::days(days),
        submitted: None,
        finished: None,
        counts_as_cycle: true,
        bench: None,
    };
    let mut l = LookupState::default();
    l.query.value = "SN-4471".into();
    l.result = Some(LookupResult {
        query: "SN-4471".into(),
        history: Some(BoardHistory {
            serial: "SN-4471".into(),
            jobs: vec![
                entry("BENCH-7-20261102-090000", 21, JobStatus::Approved),
                entry("BENCH-7-20261123-100000", 0, JobStatus::Submitted),
            ],
            cycles: vec![LocationCycles {
                refdes: "U7".into(),
                cycles: 2,
                jobs: vec![
                    "BENCH-7-20261102-090000".into(),
                    "BENCH-7-20261123-100000".into(),
                ],
            }],
            scope: None,
        }),
        uses: Vec::new(),
    });
    s.screen = Screen::Lookup(Box::new(l));
    snap_sizes("trace", &mut s);
    // A lot: where it was used, each line whole (they wrap at 80 columns).
    let mut l = LookupState::default();
    l.query.value = "FLX-7788".into();
    let used = |serial: &str, job: &str, step: u32, days: i64| traveler::export::queries::LotUse {
        lot: "FLX-7788".into(),
        serial: serial.into(),
        job: job.into(),
        step,
        material: "flux".into(),
        expiry: chrono::NaiveDate::from_ymd_opt(2027, 5, 5),
        time: t0() - Duration::days(days),
        status: JobStatus::Approved,
    };
    l.result = Some(LookupResult {
        query: "FLX-7788".into(),
        history: None,
        uses: vec![
            used("SN-4471", "BENCH-7-20261102-090000", 4, 21),
            used("SN-4471", "BENCH-7-20261102-090000", 5, 21),
            used("SN-4502", "BENCH-7-20261120-131500", 4, 3),
        ],
    });
    s.screen = Screen::Lookup(Box::new(l));
    let text = shown(&mut s, 80, 24);
    assert!(text.contains("exp\u{a0}2027-05-05"), "{text}");
    assert!(text.contains("(approved)"), "{text}");
    snap!("trace_lot_80x24", text);
}

#[test]
fn certification_view() {
    use traveler::tui::state::PeopleState;
    let mut s = state(Some(person(
        "S400",
        "Dana Roth",
        SkillLevel::Expert,
        &[Role::Supervisor],
        &[1],
    )));
    let mut ben = person(
        "T200",
        "Ben Okafor",
        SkillLevel::Advanced,
        &[Role::Technician],
        &[1, 2, 3, 4, 5, 6, 7, 9, 10],
    );
    ben.certifications[0].expires = t0().date_naive() + Duration::days(21);
    ben.locked_until = Some(t0() + Duration::minutes(12));
    let mut chen = person(
        "I300",
        "Chen Wei",
        SkillLevel::Expert,
        &[Role::Inspector],
        &[1, 8],
    );
    chen.certifications[0].expires = t0().date_naive() + Duration::days(45);
    chen.failed_pins = 2;
    s.screen = Screen::People(Box::new(PeopleState {
        people: vec![ana(), ben, chen],
        loaded: true,
        scroll: 0,
    }));
    snap_sizes("certifications", &mut s);
}

/// Issue 13, item 13: every screen capture in the README is one of these
/// snapshots, line for line, so the README shows what the app shows.
#[test]
fn readme_screen_captures_are_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let screen = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with('"') && l.ends_with('"') && l.len() >= 2)
            .map(|l| l[1..l.len() - 1].trim_end().to_string())
            .collect()
    };
    let snaps: Vec<(String, Vec<String>)> = std::fs::read_dir(root.join("tests/snapshots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.display().to_string(), screen(&text))
        })
        .collect();
    // Fenced blocks, whatever their language tag; captures start with the header line.
    let mut fenced: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for line in readme.lines() {
        if line.starts_with("```") {
            match open.take() {
                Some(block) => fenced.push(block),
                None => open = Some(String::new()),
            }
        } else if let Some(block) = open.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    let mut captures = 0;
    for block in &fenced {
        if !block.starts_with(" traveler ") {
            continue;
        }
        captures += 1;
        let lines: Vec<String> = block.lines().map(|l| l.trim_end().to_string()).collect();
        let mut shown = lines.clone();
        while shown.last().is_some_and(|l| l.is_empty()) {
            shown.pop();
        }
        assert!(
            snaps.iter().any(|(_, s)| {
                let mut s = s.clone();
                while s.last().is_some_and(|l| l.is_empty()) {
                    s.pop();
                }
                s == shown
            }),
            "a README capture is no snapshot of the app:\n{}",
            shown.join("\n")
        );
    }
    assert!(
        captures >= 6,
        "only {captures} captures found in the README"
    );
}

/// The words of `text` that the header must show: each one whole, or its
/// abbreviation; a word with a digit always whole.
fn shows_every_word(header: &str, text: &str) -> Result<(), String> {
    for word in text.split_whitespace() {
        let short = traveler::tui::view::fit::abbreviate(word, 0);
        let digits = word.chars().any(|c| c.is_ascii_digit());
        let ok = header.contains(word) || (!digits && header.contains(&short));
        if !ok {
            return Err(format!(
                "`{word}` of `{text}` is not in the header:\n{header}"
            ));
        }
    }
    Ok(())
}

/// A long hub or CFX state is never cut: the header drops decoration, then
/// abbreviates words, then takes a second line; every figure stays.
#[test]
fn header_keeps_every_hub_and_cfx_figure() {
    let mut s = state(Some(person(
        "S400",
        "Dana Roth",
        SkillLevel::Expert,
        &[Role::Supervisor],
        &[1],
    )));
    s.demo = Some(Vec::new());
    s.screen = Screen::Home(HomeState {
        loaded: true,
        ..HomeState::default()
    });
    let backgrounds: &[&[&str]] = &[
        &["hub: 12 records behind", "CFX up to date"],
        &[
            "hub: 12 records behind",
            "CFX: offline since 09:12 (3 queued)",
            "fork!",
        ],
        &[
            "hub: offline since 2026-12-01 08:14 UTC, 3 records behind",
            "CFX broker down (connection refused), 1204 record(s) waiting",
        ],
        &["hub: LOSS! hub holds 120 records, this store 80", "CFX off"],
    ];
    for (n, texts) in backgrounds.iter().enumerate() {
        s.background = texts.iter().map(|t| t.to_string()).collect();
        for (w, h) in [(60, 20), (80, 24), (120, 40)] {
            let screen = shown(&mut s, w, h);
            let rows: Vec<&str> = screen.lines().filter(|l| l.starts_with('"')).collect();
            let body = rows
                .iter()
                .position(|r| r.contains("start a job"))
                .expect("the home screen's first line");
            assert!(
                (1..=3).contains(&body),
                "{w}x{h}: {body} header rows\n{screen}"
            );
            let header = rows[..body].join("\n");
            for t in texts
                .iter()
                .chain(&["BENCH-7", "(S400)", "● station", "DEMO", "10:00"])
            {
                shows_every_word(&header, t).unwrap_or_else(|e| panic!("{w}x{h}: {e}"));
            }
            if w == 80 {
                insta::assert_snapshot!(format!("header_{n}_80x24"), screen);
            }
        }
    }
}

/// A BGA job whose steps before `current` are done, each with a lot scanned for
/// every material it names, and `current` started.
fn bga_job_at(current: u32) -> Job {
    Job::fold(&bga_records_at(current)).unwrap()
}

/// The records of [`bga_job_at`].
fn bga_records_at(current: u32) -> Vec<Record> {
    let lib = library();
    let wi = lib.instruction("WI-BGA-001").unwrap();
    let id = "BENCH-7-20261123-100000";
    let mut recs = Vec::new();
    let mut seq = 0;
    let mut push = |recs: &mut Vec<Record>, secs: i64, e: Event| {
        recs.push(rec(seq, secs, e));
        seq += 1;
    };
    push(
        &mut recs,
        0,
        Event::JobStarted {
            job: id.into(),
            board_serial: "SN-4471".into(),
            assembly_part: "PCA-1001".into(),
            assembly_rev: "C".into(),
            refdes: vec!["U7".into()],
            defect_ref: "NCR-77".into(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: wi.id().into(),
            instruction_rev: wi.revision().into(),
            instruction_hash: wi.hash.clone(),
            step_count: wi.spec.steps.len() as u32,
            approval_ref: None,
            bench: "BENCH-7".into(),
            performer: "T100".into(),
            procedures: vec![],
        },
    );
    for step in 0..=current {
        let t = 60 * (step as i64 + 1);
        push(
            &mut recs,
            t,
            Event::StepStarted {
                job: id.into(),
                step,
            },
        );
        if step == current {
            break;
        }
        for m in &wi.spec.steps[step as usize].materials {
            let lot = format!("{}-77{step}", m.get_ref().to_uppercase());
            push(
                &mut recs,
                t + 5,
                Event::LotRecorded {
                    job: id.into(),
                    step,
                    material: m.get_ref().clone(),
                    lot: lot.clone(),
                    expiry: Some(chrono::NaiveDate::from_ymd_opt(2027, 5, 5).unwrap()),
                    gtin: None,
                    raw_scan: format!("{lot} 2027-05-05"),
                },
            );
        }
        for (i, _) in wi.spec.steps[step as usize].checkpoints.iter().enumerate() {
            push(
                &mut recs,
                t + 10,
                Event::CheckpointSigned {
                    job: id.into(),
                    step,
                    checkpoint: i as u32,
                    signer: "T100".into(),
                    signer_name: "Ana Lima".into(),
                    meaning: Meaning::Performed,
                    result: CheckResult::Pass,
                    measurement: None,
                    comment: None,
                    recorded: None,
                },
            );
        }
        push(
            &mut recs,
            t + 30,
            Event::StepCompleted {
                job: id.into(),
                step,
                temperature: vec![],
                sample_count: 0,
                samples_digest: "00".into(),
                attempt: 0,
            },
        );
    }
    recs
}

/// The preheat step with an alarm the station recorded and nobody acknowledged.
fn bga_job_with_open_alarm() -> Job {
    let mut recs = bga_records_at(2);
    let seq = recs.len() as u64;
    recs.push(rec(
        seq,
        300,
        Event::Excursion {
            job: "BENCH-7-20261123-100000".into(),
            step: 2,
            id: 1,
            channel: "preheat".into(),
            window_min_c: 150.0,
            window_max_c: 180.0,
            peak_c: 187.0,
            started: t0() + Duration::seconds(290),
            ended: Some(t0() + Duration::seconds(296)),
        },
    ));
    Job::fold(&recs).unwrap()
}

/// The runner opened on `job`, as the application opens it.
fn runner_for(job: Job) -> State {
    let mut s = state(Some(ana()));
    s.screen = Screen::Home(HomeState::default());
    let instruction = Arc::new(s.library.instruction(&job.instruction_id).cloned().unwrap());
    let request = s.ask(traveler::tui::state::Ask::OpenJob);
    update(
        &mut s,
        Action::Done(Box::new(traveler::tui::action::Reply {
            request,
            outcome: traveler::tui::action::Outcome::JobOpened(Ok((job, instruction))),
        })),
    );
    s.requests.clear();
    s
}

/// Step 6 (reball) needs flux, and step 5 scanned a flux lot: the footer offers
/// p to record it again, and the material line says which lot p takes.
#[test]
fn runner_offers_the_lot_of_an_earlier_step() {
    let mut s = runner_for(bga_job_at(5));
    let labels: Vec<&str> = traveler::tui::keys::footer(&s)
        .iter()
        .map(|k| k.0)
        .collect();
    assert!(labels.contains(&"p"), "{labels:?}");
    snap_sizes("runner_same_lot", &mut s);
    let text = shown(&mut s, 80, 24);
    assert!(text.contains("p: FLUX-774"), "{text}");
    // A step opens at the top of its text; once the cursor moves the pane
    // follows the selected checkpoint; PgUp goes back to the text.
    assert!(
        text.contains("Reball: dress the part's lands flat"),
        "{text}"
    );
    update(&mut s, Action::Down);
    let down = shown(&mut s, 80, 24);
    assert!(down.contains("Ball coplanarity"), "{down}");
    snap!("runner_same_lot_cursor_80x24", down);
    update(&mut s, Action::PageUp);
    update(&mut s, Action::PageUp);
    let top = shown(&mut s, 80, 24);
    assert!(top.contains("Reball: dress the part's lands flat"), "{top}");
}

/// Makes a fresh state of one screen.
type Maker = Box<dyn Fn() -> State>;

/// Every screen and dialog, as fresh states (each key is tried on a new one).
fn every_screen() -> Vec<(&'static str, Maker)> {
    let supervisor = || {
        person(
            "S400",
            "Dana Roth",
            SkillLevel::Expert,
            &[Role::Supervisor],
            &[1],
        )
    };
    let review = move |open: bool, charts: bool, filtering: bool| {
        let mut s = state(Some(supervisor()));
        let mut r = ReviewState {
            queue: vec![ReviewLine {
                id: "BENCH-7-20261123-100000".into(),
                serial: "SN-4471".into(),
                instruction: "WI-BGA-001".into(),
                performer: "T100".into(),
                submitted: t0() + Duration::hours(1),
                excursions: 1,
                flags: 2,
                inspectors: vec!["I300".into()],
            }],
            filtering,
            ..ReviewState::default()
        };
        if open {
            r.open = Some((
                bga_job(true),
                Some(Arc::new(
                    library().instruction("WI-BGA-001").unwrap().clone(),
                )),
            ));
            r.traces = vec![traveler::tui::state::StepTrace {
                step: 3,
                channel: "board".into(),
                window: Some((150.0, 180.0)),
                points: (0..60).map(|i| (i as f64, 120.0 + i as f64)).collect(),
                excursions: vec![],
            }];
            r.chart_step = 3;
            r.charts = charts;
        }
        s.screen = Screen::Review(Box::new(r));
        s
    };
    let summary = |status: JobStatus| {
        let mut s = state(Some(ana()));
        let mut job = bga_job(true);
        job.status = status;
        s.screen = Screen::Summary(Box::new(SummaryState::new(
            job,
            Arc::new(library().instruction("WI-BGA-001").unwrap().clone()),
        )));
        s
    };
    let with_modal = |m: fn() -> Modal| {
        move || {
            let mut s = runner_for(bga_job_at(5));
            s.modal = Some(m());
            s
        }
    };
    vec![
        ("login", Box::new(|| state(None))),
        (
            "home",
            Box::new(move || {
                let mut s = state(Some(supervisor()));
                s.screen = Screen::Home(HomeState {
                    jobs: vec![JobLine {
                        id: "BENCH-7-20261123-100000".into(),
                        serial: "SN-4471".into(),
                        instruction: "WI-BGA-001".into(),
                        status: JobStatus::InProgress,
                        step: "4/10 Apply top heat".into(),
                        note: String::new(),
                    }],
                    reviews: 1,
                    selected: 0,
                    loaded: true,
                });
                s
            }),
        ),
        (
            "home_technician_no_jobs",
            Box::new(|| {
                let mut s = state(Some(ana()));
                s.screen = Screen::Home(HomeState {
                    loaded: true,
                    ..HomeState::default()
                });
                s
            }),
        ),
        (
            "start",
            Box::new(|| {
                let mut s = state(Some(ana()));
                s.screen = Screen::Start(Box::default());
                s
            }),
        ),
        ("runner_alarm", Box::new(runner_state)),
        (
            "runner_open_alarm",
            Box::new(|| runner_for(bga_job_with_open_alarm())),
        ),
        ("runner_same_lot", Box::new(|| runner_for(bga_job_at(5)))),
        ("runner_first_step", Box::new(|| runner_for(bga_job_at(0)))),
        ("held", Box::new(with_modal(|| Modal::Held))),
        (
            "sign_choice",
            Box::new(with_modal(|| {
                Modal::Sign(Box::new(SignDialog {
                    step: 5,
                    checkpoint: 0,
                    stage: SignStage::Choice,
                    verdict: None,
                    recorded: None,
                    waiting: None,
                    value: TextField::new("Measured value"),
                    comment: TextField::new("Comment"),
                    badge: TextField::new("Inspector badge"),
                    pin: TextField::masked("PIN"),
                    error: None,
                }))
            })),
        ),
        (
            "comment",
            Box::new(with_modal(|| {
                traveler::tui::state::CommentDialog::open(
                    traveler::tui::state::Purpose::Suspend,
                    "Suspend the job: why?",
                    "Reason",
                )
            })),
        ),
        (
            "lot",
            Box::new(with_modal(|| Modal::Lot {
                field: TextField::new("Lot (or GS1 label)").with("FLX-7788"),
                error: None,
                waiting: None,
            })),
        ),
        ("summary", Box::new(move || summary(JobStatus::InProgress))),
        (
            "summary_rejected",
            Box::new(move || summary(JobStatus::Rejected)),
        ),
        (
            "review_queue",
            Box::new(move || review(false, false, false)),
        ),
        (
            "review_filter",
            Box::new(move || review(false, false, true)),
        ),
        (
            "review_record",
            Box::new(move || review(true, false, false)),
        ),
        ("review_chart", Box::new(move || review(true, true, false))),
        (
            "help",
            Box::new(|| {
                let mut s = runner_state();
                s.help = true;
                s
            }),
        ),
        (
            "lookup",
            Box::new(|| {
                let mut s = state(Some(ana()));
                s.screen = Screen::Lookup(Box::default());
                s
            }),
        ),
        (
            "people",
            Box::new(move || {
                let mut s = state(Some(supervisor()));
                s.screen = Screen::People(Box::new(traveler::tui::state::PeopleState {
                    people: vec![ana()],
                    loaded: true,
                    scroll: 0,
                }));
                s
            }),
        ),
    ]
}

fn action_of(key: traveler::tui::keys::Key) -> Action {
    use traveler::tui::keys::Key as K;
    match key {
        K::Char(c) => Action::Command(c),
        K::Digit => Action::Command('1'),
        K::Enter => Action::Enter,
        K::Esc => Action::Esc,
        K::Tab => Action::Tab,
        K::BackTab => Action::BackTab,
        K::Up => Action::Up,
        K::Down => Action::Down,
        K::Left => Action::Left,
        K::Right => Action::Right,
        K::PageUp => Action::PageUp,
        K::PageDown => Action::PageDown,
        K::Home => Action::Home,
        K::End => Action::End,
        K::Help => Action::Help,
        K::Quit => Action::Quit,
    }
}

/// What a key can change, a message aside: a key whose only effect is a message
/// ("nothing to acknowledge") does nothing the footer should offer.
fn fingerprint(s: &State) -> String {
    format!(
        "{:?}|{:?}|{}|{}|{}",
        s.screen, s.modal, s.help, s.help_scroll, s.quit
    )
}

/// Every key a footer shows is dispatched by the screen's table to what the
/// footer says, and pressing it changes something (a screen, a dialog, a
/// message, a request): the footer never offers a key that does nothing. Every
/// key of a table is in the footer or the `?` help, and help is offered on
/// every screen.
#[test]
fn every_footer_key_does_what_it_says() {
    for (name, make) in every_screen() {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut s = make();
            update(&mut s, Action::Resize(w, h));
            let shown: Vec<_> = traveler::tui::keys::table(&s)
                .iter()
                .filter(|b| b.footer && (b.when)(&s))
                .collect();
            let labels: Vec<&str> = shown.iter().map(|b| b.label).collect();
            assert!(
                s.help || labels.iter().any(|l| *l == "?" || *l == "F1"),
                "{name}: no help in the footer {labels:?}"
            );
            let help: Vec<&str> = traveler::tui::keys::help(&s).iter().map(|h| h.1).collect();
            for b in traveler::tui::keys::screen_table(&s) {
                assert!(
                    help.contains(&b.what),
                    "{name}: `{}` is not in the help",
                    b.what
                );
            }
            for b in shown {
                for key in b.keys {
                    assert_eq!(
                        traveler::tui::keys::command(&s, &action_of(*key)),
                        Some(b.cmd),
                        "{name}: {key:?} of `{} {}`",
                        b.label,
                        b.what
                    );
                }
                // "↑↓" offers both arrows (↓ has a binding of its own): one of
                // the pair must move something where the view stands.
                let mut tried: Vec<Action> = b.keys.iter().map(|k| action_of(*k)).collect();
                if b.label.contains("↑↓") {
                    tried.push(Action::Down);
                }
                if b.label.contains("←→") {
                    tried.push(Action::Left);
                }
                if b.label.contains("PgUp/PgDn") {
                    tried.push(Action::PageUp);
                }
                let moved = tried.into_iter().any(|action| {
                    let mut s = make();
                    update(&mut s, Action::Resize(w, h));
                    let before = fingerprint(&s);
                    let fx = update(&mut s, action);
                    !fx.is_empty() || fingerprint(&s) != before
                });
                assert!(
                    moved,
                    "{name} {w}x{h}: the footer offers `{} {}` but it does nothing",
                    b.label, b.what
                );
            }
        }
    }
}

/// The keys a person needs on each screen are in its footer, not only in `?`.
#[test]
fn the_important_keys_are_in_the_footer() {
    let want: &[(&str, &[&str])] = &[
        ("login", &["Enter", "Tab", "Esc", "F1"]),
        ("home", &["n", "Enter", "t", "r", "c", "l", "?", "^Q"]),
        ("home_technician_no_jobs", &["n", "t", "l", "?", "^Q"]),
        ("start", &["Tab/↑↓", "Enter", "Esc", "F1"]),
        ("runner_alarm", &["a", "n", "z", "Esc", "?"]),
        ("runner_open_alarm", &["a", "n", "z", "Esc", "?"]),
        (
            "runner_same_lot",
            &["Enter", "l", "p", "↑↓", "n", "z", "Esc", "?"],
        ),
        ("runner_first_step", &["Enter", "↑↓", "n", "z", "Esc", "?"]),
        ("held", &["r", "x", "Esc", "?"]),
        ("sign_choice", &["p/f ←→", "Enter", "Esc", "?"]),
        ("comment", &["Enter", "Esc", "F1"]),
        ("lot", &["Enter", "Esc", "F1"]),
        ("summary", &["Enter", "↑↓", "Esc", "?"]),
        ("summary_rejected", &["Enter", "1-9", "↑↓", "Esc", "?"]),
        ("review_queue", &["Enter", "/", "Esc", "?"]),
        ("review_filter", &["Enter", "F1"]),
        (
            "review_record",
            &["a", "x", "e", "Tab", "←→", "↑↓", "Esc", "?"],
        ),
        ("review_chart", &["a", "x", "e", "Tab", "↑↓", "Esc", "?"]),
        ("help", &["↑↓", "any other key"]),
        ("lookup", &["Esc", "F1"]),
        ("people", &["Esc", "?"]),
    ];
    let screens = every_screen();
    assert_eq!(screens.len(), want.len());
    for ((name, make), (wname, keys)) in screens.iter().zip(want) {
        assert_eq!(name, wname);
        let mut s = make();
        update(&mut s, Action::Resize(80, 24));
        let footer: Vec<&str> = traveler::tui::keys::footer(&s)
            .iter()
            .map(|k| k.0)
            .collect();
        for k in *keys {
            assert!(footer.contains(k), "{name}: `{k}` missing from {footer:?}");
        }
    }
}

/// The screens and dialogs no other snapshot shows, at both sizes (the footer
/// check in `shown` runs on each).
#[test]
fn the_other_screens_at_both_sizes() {
    let wanted = [
        "start",
        "home_technician_no_jobs",
        "runner_first_step",
        "runner_open_alarm",
        "sign_choice",
        "comment",
        "lot",
        "summary",
        "review_filter",
        "lookup",
    ];
    for (name, make) in every_screen() {
        if !wanted.contains(&name) {
            continue;
        }
        let mut s = make();
        snap_sizes(&format!("screen_{name}"), &mut s);
    }
}
