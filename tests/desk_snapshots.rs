//! The desk's screens rendered into a `TestBackend` and compared with their
//! snapshots (80x24 and a wider terminal), driven headless through the desk's own
//! actions with the hub's answers given as the hub would give them. The job shown
//! is a real store's records at fixed times, folded and charted by the desk.

#[path = "store_support/mod.rs"]
mod store_support;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::value::RawValue;

use traveler::desk::open::open;
use traveler::desk::state::{Link, Modal, RequestId};
use traveler::desk::update::{Answer, DecideTrouble, Effect, Trouble};
use traveler::desk::{DeskState, Msg, update};
use traveler::domain::event::{ChannelSummary, Event};
use traveler::domain::types::{CheckResult, Decision, Meaning};
use traveler::hub::desk::{BenchLag, DeskInstruction, DeskJob, DeskQueue, DeskSamples};
use traveler::hub::notify::Changes;
use traveler::hub::review::{QueueEntry, ReviewRefusal};
use traveler::hub::wire::WireSample;
use traveler::store::StoredSample;
use traveler::tui::action::Action;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
}

fn render(s: &DeskState) -> String {
    let mut term = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    term.draw(|f| traveler::desk::view::draw(s, f)).unwrap();
    format!("{}", term.backend())
}

fn entry(bench: &str, job: &str, serial: &str, by: &str, mins: i64, dev: &str) -> QueueEntry {
    QueueEntry {
        bench: bench.into(),
        store_id: format!("store-{bench}"),
        job: job.into(),
        serial: serial.into(),
        instruction_id: "WI-CHIP-001".into(),
        performer: by.into(),
        submitted_seq: 40,
        submitted_hash: "ab".repeat(32),
        submitted_at: Some(t0() + Duration::hours(3) - Duration::minutes(mins)),
        deviations: usize::from(dev != "none"),
        deviation_headline: dev.into(),
    }
}

fn queue() -> DeskQueue {
    DeskQueue {
        changes: Changes {
            service: "s1".into(),
            generation: 1,
            listening: true,
        },
        entries: vec![
            entry(
                "BENCH-C",
                "BENCH-C-20261123-093000",
                "SN-7731",
                "T120",
                26 * 60 + 5,
                "1 failed checkpoint, 1 redo",
            ),
            entry(
                "BENCH-A",
                "BENCH-A-20261123-110000",
                "SN-1002",
                "T100",
                95,
                "1 excursion",
            ),
            entry(
                "BENCH-B",
                "BENCH-B-20261123-124500",
                "SN-0419",
                "T110",
                12,
                "none",
            ),
        ],
        lagging: vec![BenchLag {
            bench: "BENCH-D".into(),
            store_id: "store-BENCH-D".into(),
            hub_seq: 1200,
            bench_seq: 1212,
            reported_at: Some(t0() + Duration::hours(2)),
        }],
    }
}

/// A desk that has read `queue()` from a live hub.
fn desk(w: u16, h: u16) -> DeskState {
    let mut s = DeskState::new("https://hub.shop:8443", t0() + Duration::hours(3));
    s.size = (w, h);
    s.no_color = true;
    let fx = traveler::desk::start(&mut s);
    let [Effect::Queue { request }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let request = *request;
    update(&mut s, Msg::Link(Ok(true)));
    update(&mut s, Msg::Answer(request, Answer::Queue(Ok(queue()))));
    s
}

fn instruction_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions/WI-CHIP-001.toml"),
    )
    .unwrap()
}

/// The hub's copy of one job: six steps, step 1 with its samples and an
/// acknowledged excursion, step 2 failed once and redone; submitted.
fn hub_job() -> DeskJob {
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    let job = "BENCH-A-20261123-110000";
    let text = instruction_text();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    let mut started = store_support::started(job, "SN-1002", "T100", 6);
    if let Event::JobStarted {
        instruction_id,
        instruction_rev,
        instruction_hash,
        bench,
        ..
    } = &mut started
    {
        *instruction_id = "WI-CHIP-001".into();
        *instruction_rev = "A".into();
        *instruction_hash = hash.clone();
        *bench = "BENCH-A".into();
    }
    let t = t0() + Duration::hours(1);
    store.append_at(t, "T100", started).unwrap();
    let mut seal = 0;
    for step in 0..6u32 {
        let st = t + Duration::minutes(5 * i64::from(step));
        let at = |s: i64| st + Duration::seconds(s);
        store
            .append_at(
                at(0),
                "T100",
                Event::StepStarted {
                    job: job.into(),
                    step,
                },
            )
            .unwrap();
        let mut temperature = vec![];
        if step == 0 {
            let samples: Vec<StoredSample> = (0..90)
                .map(|i| StoredSample {
                    channel: "tc1".into(),
                    time: at(i),
                    celsius: if i < 60 {
                        150.0 + i as f64 * 1.6
                    } else {
                        246.0 - (i - 60) as f64 * 0.5
                    },
                })
                .collect();
            store.append_samples(job, 0, &samples).unwrap();
            store
                .append_at(
                    at(55),
                    "system",
                    Event::Excursion {
                        job: job.into(),
                        step,
                        id: 1,
                        channel: "tc1".into(),
                        window_min_c: 180.0,
                        window_max_c: 240.0,
                        peak_c: 246.0,
                        started: at(56),
                        ended: Some(at(72)),
                    },
                )
                .unwrap();
            store
                .append_at(
                    at(80),
                    "T100",
                    Event::ExcursionAcknowledged {
                        job: job.into(),
                        step,
                        id: 1,
                        comment: "tip re-seated, board cooled".into(),
                    },
                )
                .unwrap();
            temperature.push(ChannelSummary {
                channel: "tc1".into(),
                count: 90,
                min_c: 150.0,
                max_c: 246.0,
                mean_c: 214.0,
                peak_c: 246.0,
                above_liquidus_s: 41.0,
                window_min_c: Some(180.0),
                window_max_c: Some(240.0),
                excursions: 1,
            });
        }
        if step == 1 {
            store
                .append_at(
                    at(30),
                    "T100",
                    store_support::signed(job, step, 0, "T100", CheckResult::Fail),
                )
                .unwrap();
            store
                .append_at(
                    at(40),
                    "T100",
                    Event::StepRedone {
                        job: job.into(),
                        step,
                        reason: "bridge between pads, reflowed".into(),
                    },
                )
                .unwrap();
        }
        store
            .append_at(
                at(100),
                "T100",
                store_support::signed(job, step, 0, "T100", CheckResult::Pass),
            )
            .unwrap();
        let mut inspected = store_support::signed(job, step, 1, "I300", CheckResult::Confirmed);
        if let Event::CheckpointSigned { meaning, .. } = &mut inspected {
            *meaning = Meaning::Inspected;
        }
        store.append_at(at(110), "I300", inspected).unwrap();
        let d = store.samples_digest(job, step).unwrap();
        store
            .append_at(
                at(120),
                "T100",
                Event::StepCompleted {
                    job: job.into(),
                    step,
                    temperature,
                    sample_count: d.count,
                    samples_digest: d.sha256,
                    attempt: if step == 1 { 2 } else { 1 },
                },
            )
            .unwrap();
        if step == 0 {
            seal = store.chain_head().seq;
        }
    }
    store
        .append_at(
            t + Duration::minutes(35),
            "T100",
            Event::JobSubmitted { job: job.into() },
        )
        .unwrap();
    let records: Vec<Box<RawValue>> = store
        .stored_events()
        .map(|r| r.unwrap())
        .filter(|r| r.record.event.job() == Some(job))
        .map(|r| RawValue::from_string(String::from_utf8(r.canonical).unwrap()).unwrap())
        .collect();
    let samples = store
        .samples(job, 0)
        .map(|s| {
            let s = s.unwrap();
            WireSample {
                channel: s.channel,
                time: s.time,
                celsius: s.celsius,
            }
        })
        .collect();
    DeskJob {
        bench: "BENCH-A".into(),
        store_id: "store-BENCH-A".into(),
        job: job.into(),
        records,
        instruction: Some(DeskInstruction {
            seq: 1,
            hash,
            file_name: "WI-CHIP-001.toml".into(),
            text,
        }),
        samples: vec![DeskSamples {
            seal_seq: seal,
            step: 0,
            samples,
        }],
        samples_pending: vec![],
        decisions: vec![],
        hub_seq: 100,
        bench_seq: 100,
    }
}

/// ↓ to BENCH-A's job, Enter, and the hub's answer.
fn opened(w: u16, h: u16) -> DeskState {
    let mut s = desk(w, h);
    update(&mut s, Msg::Input(Action::Down));
    let fx = update(&mut s, Msg::Input(Action::Enter));
    let [Effect::Open { request, job, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(job, "BENCH-A-20261123-110000");
    let o = open(hub_job()).expect("the record folds");
    update(
        &mut s,
        Msg::Answer(*request, Answer::Opened(Ok(Box::new(o)))),
    );
    s
}

fn footer(s: &DeskState) -> Vec<&'static str> {
    traveler::desk::keys::footer(s)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn desk_queue() {
    insta::assert_snapshot!("desk_queue_80x24", render(&desk(80, 24)));
    insta::assert_snapshot!("desk_queue_120x32", render(&desk(120, 32)));
}

#[test]
fn desk_open_record_and_chart() {
    let s = opened(80, 24);
    assert_eq!(footer(&s), ["a", "x", "Tab", "←→", "↑↓", "Esc", "?"]);
    insta::assert_snapshot!("desk_open_80x24", render(&s));
    insta::assert_snapshot!("desk_open_120x32", render(&opened(120, 32)));
    let mut s = opened(80, 24);
    update(&mut s, Msg::Input(Action::Tab));
    insta::assert_snapshot!("desk_chart_80x24", render(&s));
}

#[test]
fn the_record_at_the_desk_holds_every_attempt_and_acknowledgement() {
    let s = opened(120, 32);
    let o = s.open.as_ref().unwrap();
    let (job, ins) = o.review.open.as_ref().unwrap();
    assert!(ins.is_some(), "the archived text reads as the instruction");
    assert_eq!(job.steps[1].attempt(), 2);
    assert_eq!(
        job.history.len(),
        13,
        "the failed signature stays in the record"
    );
    let ack = &job.excursions[0];
    assert_eq!(ack.acknowledged_by.as_deref(), Some("T100"));
    assert_eq!(o.review.traces.len(), 1);
    assert_eq!(o.review.traces[0].window, Some((180.0, 240.0)));
    assert_eq!(o.review.traces[0].excursions, [(56.0, 72.0)]);
    assert!(o.submission.is_some());
}

/// The decision dialog: comment, badge, PIN; a refusal keeps the comment.
#[test]
fn desk_decision_refused_and_hub_down() {
    let mut s = opened(80, 24);
    update(&mut s, Msg::Input(Action::Command('x')));
    for c in "bridge on C4 again".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    update(&mut s, Msg::Input(Action::Enter));
    for c in "T100".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    update(&mut s, Msg::Input(Action::Enter));
    for c in "1111".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    let fx = update(&mut s, Msg::Input(Action::Enter));
    let [Effect::Decide { request, req }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(req.decision, Decision::Rejected);
    assert_eq!(req.comment, "bridge on C4 again");
    assert_eq!(
        req.submitted_seq,
        s.open.as_ref().unwrap().submission.as_ref().unwrap().0
    );
    // While the hub decides, keys change nothing that was sent.
    assert!(update(&mut s, Msg::Input(Action::Enter)).is_empty());
    let refusal = ReviewRefusal::Rules {
        message: "T100 performed job BENCH-A-20261123-110000: they may not review it".into(),
        rejection: serde_json::Value::Null,
    };
    update(
        &mut s,
        Msg::Answer(
            *request,
            Answer::Decided(Err(DecideTrouble::Refused(refusal))),
        ),
    );
    insta::assert_snapshot!("desk_decision_refused_80x24", render(&s));
    let Some(Modal::Decide(d)) = &s.modal else {
        panic!("the dialog stays")
    };
    assert_eq!(d.comment.value, "bridge on C4 again");
    assert!(d.pin.value.is_empty());

    // The hub down: the same dialog, nothing lost, the header says so.
    for c in "1111".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    let fx = update(&mut s, Msg::Input(Action::Enter));
    let [Effect::Decide { request, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    update(
        &mut s,
        Msg::Answer(
            *request,
            Answer::Decided(Err(DecideTrouble::Unreachable("connection refused".into()))),
        ),
    );
    insta::assert_snapshot!("desk_decision_hub_down_80x24", render(&s));
}

#[test]
fn desk_hub_unreachable_keeps_the_queue_it_read() {
    let mut s = desk(80, 24);
    update(&mut s, Msg::Link(Err("connection refused".into())));
    assert!(matches!(s.link, Link::Unreachable { .. }));
    assert_eq!(s.queue.len(), 3, "what was read stays on the screen");
    insta::assert_snapshot!("desk_unreachable_80x24", render(&s));
    // Back: what happened meanwhile is read again.
    let fx = update(&mut s, Msg::Link(Ok(true)));
    assert!(matches!(fx.as_slice(), [Effect::Queue { .. }]), "{fx:?}");
    assert_eq!(s.link, Link::Live);
}

/// A change heard while the queue is being read is read again after it.
#[test]
fn a_change_during_a_read_reads_again() {
    let mut s = desk(80, 24);
    let fx = update(&mut s, Msg::Changed);
    let [Effect::Queue { request }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(
        update(&mut s, Msg::Changed).is_empty(),
        "one read at a time"
    );
    let again = update(&mut s, Msg::Answer(*request, Answer::Queue(Ok(queue()))));
    assert!(
        matches!(again.as_slice(), [Effect::Queue { .. }]),
        "{again:?}"
    );
    // An answer nobody asked for changes nothing.
    let before = s.queue.len();
    update(
        &mut s,
        Msg::Answer(
            RequestId(999),
            Answer::Queue(Err(Trouble {
                unreachable: true,
                text: "x".into(),
            })),
        ),
    );
    assert_eq!(s.queue.len(), before);
    assert!(!matches!(s.link, Link::Unreachable { .. }));
}

#[test]
fn the_filter_and_the_footer_follow_the_queue() {
    let mut s = desk(80, 24);
    assert_eq!(footer(&s), ["Enter", "/", "g", "r", "?", "^Q"]);
    update(&mut s, Msg::Input(Action::Command('/')));
    assert!(s.editing());
    for c in "bench-b".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    assert_eq!(s.visible().len(), 1);
    update(&mut s, Msg::Input(Action::Enter));
    assert!(!s.editing());
    update(&mut s, Msg::Input(Action::Command('/')));
    for c in "zzz".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    update(&mut s, Msg::Input(Action::Esc));
    assert!(s.visible().is_empty());
    assert!(!footer(&s).contains(&"Enter"), "nothing to open");
    assert!(update(&mut s, Msg::Input(Action::Enter)).is_empty());
}

/// Samples follow a step's seal by a sync cycle: a record opened before they
/// arrived is read again on the clock until it is whole, and a late answer for a
/// record no longer shown changes nothing.
#[test]
fn an_open_record_missing_samples_is_read_again_until_whole() {
    let mut s = desk(80, 24);
    update(&mut s, Msg::Input(Action::Down));
    let fx = update(&mut s, Msg::Input(Action::Enter));
    let [Effect::Open { request, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let mut partial = hub_job();
    let seal = partial.samples[0].seal_seq;
    partial.samples.clear();
    partial.samples_pending = vec![seal];
    let o = open(partial).unwrap();
    update(
        &mut s,
        Msg::Answer(*request, Answer::Opened(Ok(Box::new(o)))),
    );
    assert!(render(&s).contains("have not reached the hub yet"));
    assert!(render(&s).contains("no decision until they arrive"));
    assert!(s.open.as_ref().unwrap().review.traces.is_empty());
    let keys = |s: &DeskState| -> Vec<&'static str> {
        traveler::desk::keys::footer(s)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    // The hub refuses a decision before the samples arrive: a and x are grey.
    assert!(!keys(&s).contains(&"a"), "{:?}", keys(&s));
    assert!(!keys(&s).contains(&"x"), "{:?}", keys(&s));
    let now = s.now;
    assert!(update(&mut s, Msg::Tick(now + Duration::seconds(1))).is_empty());
    let fx = update(&mut s, Msg::Tick(now + Duration::seconds(4)));
    let [Effect::Open { request, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(
        update(&mut s, Msg::Tick(now + Duration::seconds(5))).is_empty(),
        "one read at a time"
    );
    update(
        &mut s,
        Msg::Answer(
            *request,
            Answer::Opened(Ok(Box::new(open(hub_job()).unwrap()))),
        ),
    );
    assert_eq!(s.open.as_ref().unwrap().review.traces.len(), 1);
    assert!(keys(&s).contains(&"a"), "{:?}", keys(&s));
    assert!(keys(&s).contains(&"x"), "{:?}", keys(&s));
    assert!(update(&mut s, Msg::Tick(now + Duration::seconds(30))).is_empty());

    // Read again, then Esc before the answer: the queue stays on the screen.
    let mut partial = hub_job();
    partial.samples_pending = vec![seal];
    let t = s.now;
    let fx = update(&mut s, Msg::Input(Action::Command('r')));
    let [Effect::Open { request, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    update(
        &mut s,
        Msg::Answer(
            *request,
            Answer::Opened(Ok(Box::new(open(partial).unwrap()))),
        ),
    );
    let fx = update(&mut s, Msg::Tick(t + Duration::seconds(10)));
    let [Effect::Open { request, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    update(&mut s, Msg::Input(Action::Esc));
    assert!(s.open.is_none());
    update(
        &mut s,
        Msg::Answer(
            *request,
            Answer::Opened(Ok(Box::new(open(hub_job()).unwrap()))),
        ),
    );
    assert!(s.open.is_none(), "a late re-read opens nothing");
}

/// A read of the queue that failed (the hub answered with an error, the change
/// feed still healthy) is tried again on the clock, backing off, until one comes
/// back; then no more.
#[test]
fn a_failed_queue_read_is_tried_again_backing_off() {
    let mut s = desk(80, 24);
    let fx = update(&mut s, Msg::Input(Action::Command('r')));
    let [Effect::Queue { request }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let failed = || {
        Answer::Queue(Err(Trouble {
            unreachable: false,
            text: "the hub answered HTTP 500".into(),
        }))
    };
    update(&mut s, Msg::Answer(*request, failed()));
    let t = s.now;
    let queue_read = |fx: &[Effect]| matches!(fx, [Effect::Queue { .. }]);
    assert!(update(&mut s, Msg::Tick(t + Duration::seconds(1))).is_empty());
    let fx = update(&mut s, Msg::Tick(t + Duration::seconds(2)));
    assert!(queue_read(&fx), "{fx:?}");
    let [Effect::Queue { request }] = fx.as_slice() else {
        unreachable!()
    };
    assert!(
        update(&mut s, Msg::Tick(t + Duration::seconds(3))).is_empty(),
        "one read at a time"
    );
    // Failed again: twice as long.
    update(&mut s, Msg::Answer(*request, failed()));
    let t = s.now;
    assert!(update(&mut s, Msg::Tick(t + Duration::seconds(3))).is_empty());
    let fx = update(&mut s, Msg::Tick(t + Duration::seconds(4)));
    let [Effect::Queue { request }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    update(&mut s, Msg::Answer(*request, Answer::Queue(Ok(queue()))));
    assert!(!s.queue.is_empty());
    let t = s.now;
    assert!(update(&mut s, Msg::Tick(t + Duration::seconds(120))).is_empty());
    assert_eq!(
        traveler::desk::update::queue_backoff(9),
        Duration::seconds(30)
    );
}

/// Ctrl+Q while a decision is on its way: the desk says so and quits once the hub
/// answered (recorded); a second Ctrl+Q quits at once, having warned.
#[test]
fn quitting_while_a_decision_is_sent_waits_for_the_hubs_answer() {
    let send = |s: &mut DeskState| {
        update(s, Msg::Input(Action::Command('a')));
        for c in "record complete".chars() {
            update(s, Msg::Input(Action::Char(c)));
        }
        update(s, Msg::Input(Action::Enter));
        for c in "S500".chars() {
            update(s, Msg::Input(Action::Char(c)));
        }
        update(s, Msg::Input(Action::Enter));
        for c in "5555".chars() {
            update(s, Msg::Input(Action::Char(c)));
        }
        let fx = update(s, Msg::Input(Action::Enter));
        let [Effect::Decide { request, req }] = fx.as_slice() else {
            panic!("{fx:?}")
        };
        (*request, req.clone())
    };
    let mut s = opened(80, 24);
    let (request, req) = send(&mut s);
    update(&mut s, Msg::Input(Action::Quit));
    assert!(!s.quit, "quit before the hub answered");
    let flash = s.flash.as_ref().unwrap().text.clone();
    assert!(flash.contains("being sent"), "{flash}");
    assert!(render(&s).contains("being sent"), "{}", render(&s));
    let reply = traveler::hub::review::ReviewReply {
        hub_seq: 12,
        hub_hash: "ab".repeat(32),
        store_id: req.store_id.clone(),
        bench: "BENCH-A".into(),
        job: req.job.clone(),
        submitted_seq: req.submitted_seq,
        decision: req.decision,
        reviewer: "S500".into(),
        reviewer_name: "Sam".into(),
        time: s.now,
    };
    update(&mut s, Msg::Answer(request, Answer::Decided(Ok(reply))));
    assert!(s.quit, "recorded: the desk quits");

    // Refused: nothing recorded, the desk stays and says so.
    let mut s = opened(80, 24);
    let (request, _) = send(&mut s);
    update(&mut s, Msg::Input(Action::Quit));
    let refusal = ReviewRefusal::NoPolicy;
    update(
        &mut s,
        Msg::Answer(
            request,
            Answer::Decided(Err(DecideTrouble::Refused(refusal))),
        ),
    );
    assert!(!s.quit);
    assert!(s.flash.as_ref().unwrap().text.contains("NOT recorded"));

    // A second Ctrl+Q while waiting quits at once.
    let mut s = opened(80, 24);
    send(&mut s);
    update(&mut s, Msg::Input(Action::Quit));
    assert!(!s.quit);
    update(&mut s, Msg::Input(Action::Quit));
    assert!(s.quit);
}

/// The hub refuses a decision because samples have not reached it (the record
/// shown said they had): the desk greys a/x and reads the record again on the clock.
#[test]
fn a_refusal_for_samples_not_received_reads_the_record_again() {
    let mut s = opened(80, 24);
    update(&mut s, Msg::Input(Action::Command('a')));
    for c in "ok".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    update(&mut s, Msg::Input(Action::Enter));
    for c in "S500".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    update(&mut s, Msg::Input(Action::Enter));
    for c in "5555".chars() {
        update(&mut s, Msg::Input(Action::Char(c)));
    }
    let fx = update(&mut s, Msg::Input(Action::Enter));
    let [Effect::Decide { request, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let refusal = ReviewRefusal::SamplesNotReceived {
        job: "J".into(),
        seals: vec![7],
    };
    update(
        &mut s,
        Msg::Answer(
            *request,
            Answer::Decided(Err(DecideTrouble::Refused(refusal))),
        ),
    );
    assert_eq!(s.open.as_ref().unwrap().samples_pending, 1);
    update(&mut s, Msg::Input(Action::Esc));
    let keys: Vec<&str> = traveler::desk::keys::footer(&s)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(!keys.contains(&"a"), "{keys:?}");
    let t = s.now;
    let fx = update(&mut s, Msg::Tick(t + Duration::seconds(10)));
    assert!(matches!(fx.as_slice(), [Effect::Open { .. }]), "{fx:?}");
}
