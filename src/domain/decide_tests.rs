//! Table tests of `decide`: per command, the accepted case and each rejection.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::*;
use crate::domain::command::{
    CheckKind, CheckpointPlan, Command, CommentFor, JobPlan, LotPlan, NewJob, NewRelease,
    Rejection, RosterCommand, StepPlan, Verdict,
};
use crate::domain::event::{DeviationKind, Event, Record};
use crate::domain::job::Job;
use crate::domain::person::{Person, Roster};
use crate::domain::pin_rules::{NewPin, PinRejection};
use crate::domain::policy::{ApprovalRule, InstructionFacts, Policy, Refusal};
use crate::domain::release::{NotReleased, Released, Standing};
use crate::domain::thermal::Window;
use crate::domain::types::{Activity, CheckResult, Decision, ProductClass, Role, SkillLevel};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 0).unwrap()
}

fn policy() -> Policy {
    Policy {
        certification_validity_years: 2,
        allowed: vec![],
        approvals: vec![ApprovalRule {
            activity: Activity::Repair,
            required: true,
            label: "engineering approval".into(),
            pattern: None,
        }],
        rework_limits: vec![],
        max_failed_pins: 5,
        lockout_minutes: 15,
        idle_logout_minutes: 10,
        require_release: true,
        roster_max_age_hours: None,
        pin: Default::default(),
    }
}

fn person(badge: &str, roles: &[Role]) -> Person {
    Person {
        badge: badge.into(),
        name: format!("Name {badge}"),
        roles: roles.to_vec(),
        skill: SkillLevel::Expert,
        pin_hash: String::new(),
        certifications: vec![],
        active: true,
        locked_until: None,
        failed_pins: 0,
    }
}

fn rec(seq: u64, event: Event) -> Record {
    Record {
        seq,
        prev_hash: String::new(),
        time: Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 0, seq as u32)
            .unwrap(),
        actor: "T1".into(),
        event,
    }
}

fn started() -> Event {
    Event::JobStarted {
        job: "J1".into(),
        board_serial: "SN1".into(),
        assembly_part: "PN".into(),
        assembly_rev: "A".into(),
        refdes: vec!["U7".into()],
        defect_ref: "NCR-1".into(),
        class: ProductClass::Class3,
        alloy: "SAC305".into(),
        instruction_id: "WI".into(),
        instruction_rev: "A".into(),
        instruction_hash: "h".into(),
        step_count: 2,
        approval_ref: None,
        bench: "B1".into(),
        performer: "T1".into(),
        procedures: vec![],
    }
}

fn step_started(step: u32) -> Event {
    Event::StepStarted {
        job: "J1".into(),
        step,
    }
}

fn signed(step: u32, cp: u32, result: CheckResult) -> Event {
    Event::CheckpointSigned {
        job: "J1".into(),
        step,
        checkpoint: cp,
        signer: "T1".into(),
        signer_name: "Name T1".into(),
        meaning: crate::domain::types::Meaning::Performed,
        result,
        measurement: None,
        comment: Some("why".into()),
        recorded: None,
    }
}

fn job(events: Vec<Event>) -> Job {
    let mut all = vec![started()];
    all.extend(events);
    let recs: Vec<Record> = all
        .into_iter()
        .enumerate()
        .map(|(i, e)| rec(i as u64 + 1, e))
        .collect();
    Job::fold(&recs).unwrap()
}

/// Step 1: a pass/fail checkpoint, a measurement 1–2 mm, flux with an expiry,
/// a window 100–150 °C. Step 2: an inspector pass/fail checkpoint.
fn plan() -> JobPlan {
    JobPlan {
        steps: vec![
            StepPlan {
                checkpoints: vec![
                    CheckpointPlan {
                        kind: CheckKind::PassFail,
                        inspector: false,
                        min: None,
                        max: None,
                        unit: String::new(),
                        recorded: None,
                    },
                    CheckpointPlan {
                        kind: CheckKind::Measurement,
                        inspector: false,
                        min: Some(1.0),
                        max: Some(2.0),
                        unit: "s".into(),
                        recorded: Some(("above_liquidus_s".into(), 1.0)),
                    },
                ],
                lots: vec![LotPlan {
                    material: "flux".into(),
                    needs_expiry: true,
                }],
                window: Some(Window {
                    channel: "tip".into(),
                    min_c: 100.0,
                    max_c: 150.0,
                }),
                component: None,
            },
            StepPlan {
                checkpoints: vec![CheckpointPlan {
                    kind: CheckKind::PassFail,
                    inspector: true,
                    min: None,
                    max: None,
                    unit: String::new(),
                    recorded: None,
                }],
                lots: vec![],
                window: None,
                component: None,
            },
        ],
    }
}

fn thermal(reached: bool, ends_inside: bool, above: f64) -> AttemptThermal {
    AttemptThermal {
        temperature: vec![crate::domain::event::ChannelSummary {
            channel: "tip".into(),
            count: 3,
            min_c: 90.0,
            max_c: 140.0,
            mean_c: 120.0,
            peak_c: 140.0,
            above_liquidus_s: above,
            window_min_c: Some(100.0),
            window_max_c: Some(150.0),
            excursions: 0,
        }],
        sample_count: 3,
        digest: "d".into(),
        reached,
        ends_inside,
    }
}

struct Case {
    name: &'static str,
    job: Option<Job>,
    actor: Option<Person>,
    thermal: Option<AttemptThermal>,
    command: Command,
    /// `Ok(kinds)` of the events, or the rejection.
    want: Result<Vec<&'static str>, Rejection>,
}

fn run(cases: Vec<Case>) {
    let policy = policy();
    let plan = plan();
    let mut roster = Roster::default();
    for p in [
        person("T1", &[Role::Technician]),
        person("I1", &[Role::Inspector]),
        person("S1", &[Role::Supervisor]),
        person("A1", &[Role::Admin]),
    ] {
        roster.people.insert(p.badge.clone(), p);
    }
    for c in cases {
        let s = Situation {
            bench: "B1",
            policy: Some(&policy),
            actor: c.actor.as_ref(),
            roster: Some(&roster),
            job: c.job.as_ref(),
            plan: Some(&plan),
            start: None,
            thermal: c.thermal.as_ref(),
            release: None,
            records: None,
            ..Situation::default()
        };
        let got = decide(&s, &c.command, now()).map(|evs| evs.iter().map(Event::kind).collect());
        assert_eq!(got, c.want, "{}", c.name);
    }
}

fn t1() -> Option<Person> {
    Some(person("T1", &[Role::Technician]))
}

fn sign(cp: u32, verdict: Option<Verdict>, value: Option<f64>, comment: Option<&str>) -> Command {
    Command::Sign {
        job: "J1".into(),
        step: 0,
        checkpoint: cp,
        verdict,
        value,
        comment: comment.map(str::to_string),
    }
}

#[test]
fn sign_table() {
    let running = || Some(job(vec![step_started(0)]));
    run(vec![
        Case {
            name: "pass",
            job: running(),
            actor: t1(),
            thermal: None,
            command: sign(0, Some(Verdict::Pass), None, None),
            want: Ok(vec!["checkpoint_signed"]),
        },
        Case {
            name: "no verdict",
            job: running(),
            actor: t1(),
            thermal: None,
            command: sign(0, None, None, None),
            want: Err(Rejection::VerdictNeeded),
        },
        Case {
            name: "fail without comment",
            job: running(),
            actor: t1(),
            thermal: None,
            command: sign(0, Some(Verdict::Fail), None, Some(" ")),
            want: Err(Rejection::CommentNeeded {
                why: CommentFor::FailedCheckpoint,
            }),
        },
        Case {
            name: "fail with comment",
            job: running(),
            actor: t1(),
            thermal: None,
            command: sign(0, Some(Verdict::Fail), None, Some("land lifted")),
            want: Ok(vec!["checkpoint_signed"]),
        },
        Case {
            name: "already signed",
            job: Some(job(vec![step_started(0), signed(0, 0, CheckResult::Pass)])),
            actor: t1(),
            thermal: None,
            command: sign(0, Some(Verdict::Pass), None, None),
            want: Err(Rejection::AlreadySigned {
                step: 0,
                checkpoint: 0,
            }),
        },
        Case {
            name: "no such checkpoint",
            job: running(),
            actor: t1(),
            thermal: None,
            command: sign(7, Some(Verdict::Pass), None, None),
            want: Err(Rejection::NoSuchCheckpoint {
                step: 0,
                checkpoint: 7,
            }),
        },
        Case {
            name: "step not started",
            job: Some(job(vec![])),
            actor: t1(),
            thermal: None,
            command: sign(0, Some(Verdict::Pass), None, None),
            want: Err(Rejection::StepNotStarted { step: 0 }),
        },
        Case {
            name: "not the performer",
            job: running(),
            actor: Some(person("T2", &[Role::Technician])),
            thermal: None,
            command: sign(0, Some(Verdict::Pass), None, None),
            want: Err(Rejection::NotAllowed {
                who: "Name T2".into(),
                refusal: Refusal::NotPerformer {
                    performer: "T1".into(),
                },
            }),
        },
        Case {
            name: "held job",
            job: Some(job(vec![step_started(0), signed(0, 0, CheckResult::Fail)])),
            actor: t1(),
            thermal: None,
            command: sign(1, None, Some(1.5), None),
            want: Err(Rejection::JobIs {
                job: "J1".into(),
                status: JobStatus::Held,
            }),
        },
        Case {
            name: "measurement needs a value",
            job: running(),
            actor: t1(),
            thermal: None,
            command: sign(1, None, None, None),
            want: Err(Rejection::ValueNeeded),
        },
        Case {
            name: "measurement out of limits needs a comment",
            job: running(),
            actor: t1(),
            thermal: Some(thermal(true, true, 3.0)),
            command: sign(1, None, Some(3.0), None),
            want: Err(Rejection::CommentNeeded {
                why: CommentFor::FailedCheckpoint,
            }),
        },
        Case {
            name: "typed value far from the recorded figure needs a comment",
            job: running(),
            actor: t1(),
            thermal: Some(thermal(true, true, 0.5)),
            command: sign(1, None, Some(1.9), None),
            want: Err(Rejection::CommentNeeded {
                why: CommentFor::DiffersFromRecord,
            }),
        },
        Case {
            name: "typed value near the recorded figure",
            job: running(),
            actor: t1(),
            thermal: Some(thermal(true, true, 1.5)),
            command: sign(1, None, Some(1.9), None),
            want: Ok(vec!["checkpoint_signed"]),
        },
        Case {
            name: "no job",
            job: None,
            actor: t1(),
            thermal: None,
            command: sign(0, Some(Verdict::Pass), None, None),
            want: Err(Rejection::NoSuchJob { job: "J1".into() }),
        },
        Case {
            name: "nobody",
            job: running(),
            actor: None,
            thermal: None,
            command: sign(0, Some(Verdict::Pass), None, None),
            want: Err(Rejection::NotLoggedIn),
        },
    ]);
}

#[test]
fn inspector_signs_only_someone_elses_work() {
    let step2 = || {
        Some(job(vec![
            step_started(0),
            Event::StepCompleted {
                job: "J1".into(),
                step: 0,
                temperature: vec![],
                sample_count: 0,
                samples_digest: "d".into(),
                attempt: 1,
            },
            step_started(1),
        ]))
    };
    let c = |verdict| Command::Sign {
        job: "J1".into(),
        step: 1,
        checkpoint: 0,
        verdict,
        value: None,
        comment: None,
    };
    run(vec![
        Case {
            name: "inspector",
            job: step2(),
            actor: Some(person("I1", &[Role::Inspector])),
            thermal: None,
            command: c(Some(Verdict::Pass)),
            want: Ok(vec!["checkpoint_signed"]),
        },
        Case {
            name: "own work",
            job: step2(),
            actor: Some(person("T1", &[Role::Technician, Role::Inspector])),
            thermal: None,
            command: c(Some(Verdict::Pass)),
            want: Err(Rejection::NotAllowed {
                who: "Name T1".into(),
                refusal: Refusal::OwnWork,
            }),
        },
        Case {
            name: "no inspector role",
            job: step2(),
            actor: Some(person("S1", &[Role::Supervisor])),
            thermal: None,
            command: c(Some(Verdict::Pass)),
            want: Err(Rejection::NotAllowed {
                who: "Name S1".into(),
                refusal: Refusal::RoleMissing {
                    role: Role::Inspector,
                },
            }),
        },
        Case {
            name: "not the current step",
            job: Some(job(vec![step_started(0)])),
            actor: Some(person("I1", &[Role::Inspector])),
            thermal: None,
            command: c(Some(Verdict::Pass)),
            want: Err(Rejection::NotCurrentStep {
                step: 1,
                current: Some(0),
            }),
        },
    ]);
}

fn lot(raw: &str, typed: Option<NaiveDate>) -> Command {
    Command::RecordLot {
        job: "J1".into(),
        step: 0,
        raw_scan: raw.into(),
        typed_expiry: typed,
    }
}

#[test]
fn lot_table() {
    let running = || Some(job(vec![step_started(0)]));
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
    let with_lot = || {
        Some(job(vec![
            step_started(0),
            Event::LotRecorded {
                job: "J1".into(),
                step: 0,
                material: "flux".into(),
                lot: "L1".into(),
                expiry: d(2027, 1, 1),
                gtin: None,
                raw_scan: "L1".into(),
            },
        ]))
    };
    run(vec![
        Case {
            name: "recorded",
            job: running(),
            actor: t1(),
            thermal: None,
            command: lot("L1", d(2027, 1, 1)),
            want: Ok(vec!["lot_recorded"]),
        },
        Case {
            name: "expired: the refusal is an event",
            job: running(),
            actor: t1(),
            thermal: None,
            command: lot("L1", d(2020, 1, 1)),
            want: Ok(vec!["lot_refused"]),
        },
        Case {
            name: "expiry needed",
            job: running(),
            actor: t1(),
            thermal: None,
            command: lot("L1", None),
            want: Err(Rejection::Lot(LotProblem::ExpiryNeeded {
                material: "flux".into(),
                lot: "L1".into(),
            })),
        },
        Case {
            name: "another expiry than the recorded one is refused",
            job: with_lot(),
            actor: t1(),
            thermal: None,
            command: lot("L1", d(2028, 1, 1)),
            want: Ok(vec!["lot_refused"]),
        },
        Case {
            name: "empty scan",
            job: running(),
            actor: t1(),
            thermal: None,
            command: lot("  ", None),
            want: Err(Rejection::Lot(LotProblem::BadScan {
                reason: "the scan is empty".into(),
            })),
        },
        Case {
            name: "a step without lots",
            job: Some(job(vec![
                step_started(0),
                Event::StepCompleted {
                    job: "J1".into(),
                    step: 0,
                    temperature: vec![],
                    sample_count: 0,
                    samples_digest: "d".into(),
                    attempt: 1,
                },
                step_started(1),
            ])),
            actor: t1(),
            thermal: None,
            command: Command::RecordLot {
                job: "J1".into(),
                step: 1,
                raw_scan: "L1".into(),
                typed_expiry: None,
            },
            want: Err(Rejection::Lot(LotProblem::NoLotMaterial)),
        },
    ]);
}

#[test]
fn complete_and_deviate_table() {
    let ready = || {
        job(vec![
            step_started(0),
            signed(0, 0, CheckResult::Pass),
            signed(0, 1, CheckResult::Pass),
            Event::LotRecorded {
                job: "J1".into(),
                step: 0,
                material: "flux".into(),
                lot: "L1".into(),
                expiry: None,
                gtin: None,
                raw_scan: "L1".into(),
            },
        ])
    };
    let deviated = |kind| {
        let mut j = ready();
        j.apply(&rec(
            9,
            Event::Deviated {
                job: "J1".into(),
                step: 0,
                attempt: 1,
                kind,
                reason: "heater fault".into(),
                by: "T1".into(),
                by_name: "Name T1".into(),
            },
        ));
        j
    };
    let complete = Command::CompleteStep {
        job: "J1".into(),
        step: 0,
    };
    let deviate = |kind| Command::Deviate {
        job: "J1".into(),
        step: 0,
        kind,
        reason: "heater fault".into(),
    };
    run(vec![
        Case {
            name: "complete",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(true, true, 0.0)),
            command: complete.clone(),
            want: Ok(vec!["step_completed", "step_started"]),
        },
        Case {
            name: "unsigned and no lot",
            job: Some(job(vec![step_started(0)])),
            actor: t1(),
            thermal: Some(thermal(true, true, 0.0)),
            command: complete.clone(),
            want: Err(Rejection::StepIncomplete {
                step: 0,
                blockers: vec![
                    Blocker::Unsigned { count: 2 },
                    Blocker::LotMissing {
                        material: "flux".into(),
                    },
                ],
            }),
        },
        Case {
            name: "window never reached",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(false, false, 0.0)),
            command: complete.clone(),
            want: Err(Rejection::DeviationNeeded {
                step: 0,
                kind: DeviationKind::WindowNeverReached,
            }),
        },
        Case {
            name: "left outside",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(true, false, 0.0)),
            command: complete.clone(),
            want: Err(Rejection::DeviationNeeded {
                step: 0,
                kind: DeviationKind::LeftOutsideWindow,
            }),
        },
        Case {
            name: "never reached, deviation signed",
            job: Some(deviated(DeviationKind::WindowNeverReached)),
            actor: t1(),
            thermal: Some(thermal(false, false, 0.0)),
            command: complete.clone(),
            want: Ok(vec!["step_completed", "step_started"]),
        },
        Case {
            name: "the wrong deviation does not count",
            job: Some(deviated(DeviationKind::LeftOutsideWindow)),
            actor: t1(),
            thermal: Some(thermal(false, false, 0.0)),
            command: complete,
            want: Err(Rejection::DeviationNeeded {
                step: 0,
                kind: DeviationKind::WindowNeverReached,
            }),
        },
        Case {
            name: "deviate",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(false, false, 0.0)),
            command: deviate(DeviationKind::WindowNeverReached),
            want: Ok(vec!["deviated"]),
        },
        Case {
            name: "no deviation to record",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(true, true, 0.0)),
            command: deviate(DeviationKind::WindowNeverReached),
            want: Err(Rejection::NoDeviationNeeded { step: 0 }),
        },
        Case {
            name: "a deviation of another kind than the samples show",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(true, false, 0.0)),
            command: deviate(DeviationKind::WindowNeverReached),
            want: Err(Rejection::DeviationNeeded {
                step: 0,
                kind: DeviationKind::LeftOutsideWindow,
            }),
        },
        Case {
            name: "only the performer deviates",
            job: Some(ready()),
            actor: Some(person("I1", &[Role::Inspector])),
            thermal: Some(thermal(false, false, 0.0)),
            command: deviate(DeviationKind::WindowNeverReached),
            want: Err(Rejection::NotAllowed {
                who: "Name I1".into(),
                refusal: Refusal::NotPerformer {
                    performer: "T1".into(),
                },
            }),
        },
        Case {
            name: "a deviation needs a reason",
            job: Some(ready()),
            actor: t1(),
            thermal: Some(thermal(false, false, 0.0)),
            command: Command::Deviate {
                job: "J1".into(),
                step: 0,
                kind: DeviationKind::WindowNeverReached,
                reason: "x".into(),
            },
            want: Err(Rejection::CommentNeeded {
                why: CommentFor::Reason,
            }),
        },
    ]);
}

#[test]
fn life_cycle_table() {
    let running = || Some(job(vec![step_started(0)]));
    let held = || Some(job(vec![step_started(0), signed(0, 0, CheckResult::Fail)]));
    let suspended = || {
        Some(job(vec![
            step_started(0),
            Event::JobSuspended {
                job: "J1".into(),
                reason: "shift".into(),
            },
        ]))
    };
    let done = || {
        let mut evs = vec![];
        for step in 0..2 {
            evs.push(step_started(step));
            evs.push(Event::StepCompleted {
                job: "J1".into(),
                step,
                temperature: vec![],
                sample_count: 0,
                samples_digest: "d".into(),
                attempt: 1,
            });
        }
        job(evs)
    };
    let submitted = || {
        let mut j = done();
        j.apply(&rec(20, Event::JobSubmitted { job: "J1".into() }));
        Some(j)
    };
    let j = || "J1".to_string();
    let status = |status| Err(Rejection::JobIs { job: j(), status });
    let s1 = || Some(person("S1", &[Role::Supervisor]));
    run(vec![
        Case {
            name: "suspend",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::Suspend {
                job: j(),
                reason: "end of shift".into(),
            },
            want: Ok(vec!["job_suspended"]),
        },
        Case {
            name: "suspend needs a reason",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::Suspend {
                job: j(),
                reason: "".into(),
            },
            want: Err(Rejection::CommentNeeded {
                why: CommentFor::Reason,
            }),
        },
        Case {
            name: "suspend twice",
            job: suspended(),
            actor: t1(),
            thermal: None,
            command: Command::Suspend {
                job: j(),
                reason: "again".into(),
            },
            want: status(JobStatus::Suspended),
        },
        Case {
            name: "resume",
            job: suspended(),
            actor: t1(),
            thermal: None,
            command: Command::Resume {
                job: j(),
                reason: "next shift".into(),
            },
            want: Ok(vec!["job_resumed"]),
        },
        Case {
            name: "resume a running job",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::Resume {
                job: j(),
                reason: "x".into(),
            },
            want: status(JobStatus::InProgress),
        },
        Case {
            name: "redo a held step",
            job: held(),
            actor: t1(),
            thermal: None,
            command: Command::Redo {
                job: j(),
                step: 0,
                reason: "reflow again".into(),
            },
            want: Ok(vec!["step_redone", "step_started"]),
        },
        Case {
            name: "redo a running job",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::Redo {
                job: j(),
                step: 0,
                reason: "reflow again".into(),
            },
            want: status(JobStatus::InProgress),
        },
        Case {
            name: "abort",
            job: held(),
            actor: t1(),
            thermal: None,
            command: Command::Abort {
                job: j(),
                reason: "board scrapped".into(),
            },
            want: Ok(vec!["job_aborted"]),
        },
        Case {
            name: "submit",
            job: Some(done()),
            actor: t1(),
            thermal: None,
            command: Command::Submit { job: j() },
            want: Ok(vec!["job_submitted"]),
        },
        Case {
            name: "submit with a step open",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::Submit { job: j() },
            want: Err(Rejection::NotCurrentStep {
                step: 2,
                current: Some(0),
            }),
        },
        Case {
            name: "approve",
            job: submitted(),
            actor: s1(),
            thermal: None,
            command: Command::Review {
                job: j(),
                decision: Decision::Approved,
                comment: "verified".into(),
            },
            want: Ok(vec!["job_reviewed"]),
        },
        Case {
            name: "review own work",
            job: submitted(),
            actor: Some(person("T1", &[Role::Supervisor])),
            thermal: None,
            command: Command::Review {
                job: j(),
                decision: Decision::Approved,
                comment: "verified".into(),
            },
            want: Err(Rejection::NotAllowed {
                who: "Name T1".into(),
                refusal: Refusal::OwnWork,
            }),
        },
        Case {
            name: "review by a technician",
            job: submitted(),
            actor: Some(person("T2", &[Role::Technician])),
            thermal: None,
            command: Command::Review {
                job: j(),
                decision: Decision::Rejected,
                comment: "no".into(),
            },
            want: Err(Rejection::NotAllowed {
                who: "Name T2".into(),
                refusal: Refusal::RoleMissing {
                    role: Role::Supervisor,
                },
            }),
        },
        Case {
            name: "review a job not submitted",
            job: running(),
            actor: s1(),
            thermal: None,
            command: Command::Review {
                job: j(),
                decision: Decision::Approved,
                comment: "ok fine".into(),
            },
            want: status(JobStatus::InProgress),
        },
        Case {
            name: "acknowledge an alarm that does not exist",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::AcknowledgeAlarm {
                job: j(),
                step: 0,
                id: 4,
                comment: "tip cleaned".into(),
            },
            want: Err(Rejection::NoSuchAlarm { step: 0, id: 4 }),
        },
        Case {
            name: "start a started step",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::StartStep { job: j(), step: 0 },
            want: Err(Rejection::StepAlreadyStarted { step: 0 }),
        },
        Case {
            name: "start the next step early",
            job: running(),
            actor: t1(),
            thermal: None,
            command: Command::StartStep { job: j(), step: 1 },
            want: Err(Rejection::NotCurrentStep {
                step: 1,
                current: Some(0),
            }),
        },
    ]);
}

#[test]
fn alarm_table() {
    let with_alarm = |acked: bool| {
        let mut evs = vec![
            step_started(0),
            Event::Excursion {
                job: "J1".into(),
                step: 0,
                id: 1,
                channel: "tip".into(),
                window_min_c: 100.0,
                window_max_c: 150.0,
                peak_c: 170.0,
                started: now(),
                ended: None,
            },
        ];
        if acked {
            evs.push(Event::ExcursionAcknowledged {
                job: "J1".into(),
                step: 0,
                id: 1,
                comment: "seen".into(),
            });
        }
        Some(job(evs))
    };
    let ack = || Command::AcknowledgeAlarm {
        job: "J1".into(),
        step: 0,
        id: 1,
        comment: "tip cleaned".into(),
    };
    run(vec![
        Case {
            name: "acknowledge",
            job: with_alarm(false),
            actor: t1(),
            thermal: None,
            command: ack(),
            want: Ok(vec!["excursion_acknowledged"]),
        },
        Case {
            name: "twice",
            job: with_alarm(true),
            actor: t1(),
            thermal: None,
            command: ack(),
            want: Err(Rejection::AlarmAlreadyAcknowledged { step: 0, id: 1 }),
        },
        Case {
            name: "nobody logged in",
            job: with_alarm(false),
            actor: None,
            thermal: None,
            command: ack(),
            want: Err(Rejection::NotLoggedIn),
        },
    ]);
}

#[test]
fn start_job_table() {
    let policy = policy();
    let facts = |activity| StartFacts {
        job: "B1-1".into(),
        bench: "B1".into(),
        facts: InstructionFacts {
            id: "WI".into(),
            activity,
            skill: SkillLevel::Intermediate,
            modules: vec![],
            classes: vec![ProductClass::Class3],
            procedures: vec![("7711 3.1.1".into(), None)],
        },
        revision: "A".into(),
        hash: "h".into(),
        step_count: 2,
        prior: vec![],
        archive: Some(("WI.toml".into(), "id = \"WI\"".into())),
        standing: Standing::Released(Box::new(released("A", "h"))),
        history: None,
    };
    let new = |serial: &str, approval: &str| {
        Command::StartJob(Box::new(NewJob {
            board_serial: serial.into(),
            assembly_part: "PN".into(),
            assembly_rev: "A".into(),
            refdes: vec!["U1".into()],
            defect_ref: "NCR".into(),
            approval_ref: approval.into(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: "WI".into(),
        }))
    };
    let p = person("T1", &[Role::Technician]);
    type StartCase = (
        &'static str,
        Activity,
        Command,
        Result<Vec<&'static str>, Rejection>,
    );
    let cases: Vec<StartCase> = vec![
        (
            "started, archived, first step",
            Activity::Rework,
            new("SN1", ""),
            Ok(vec!["job_started", "instruction_archived", "step_started"]),
        ),
        (
            "no serial",
            Activity::Rework,
            new(" ", ""),
            Err(Rejection::FieldsMissing {
                fields: vec!["board serial"],
            }),
        ),
        (
            "repair without approval",
            Activity::Repair,
            new("SN1", ""),
            Err(Rejection::ApprovalNeeded {
                reason: "repair needs engineering approval before it starts".into(),
            }),
        ),
    ];
    for (name, activity, command, want) in cases {
        let f = facts(activity);
        let s = Situation {
            bench: "B1",
            policy: Some(&policy),
            actor: Some(&p),
            start: Some(&f),
            ..Situation::default()
        };
        let got = decide(&s, &command, now()).map(|e| e.iter().map(Event::kind).collect());
        assert_eq!(got, want, "{name}");
    }
    // The procedures travel with the job.
    let f = facts(Activity::Rework);
    let s = Situation {
        policy: Some(&policy),
        actor: Some(&p),
        start: Some(&f),
        ..Situation::default()
    };
    let evs = decide(&s, &new("SN1", ""), now()).unwrap();
    assert!(
        matches!(&evs[0], Event::JobStarted { procedures, .. } if procedures == &["7711 3.1.1".to_string()])
    );
}

fn released(revision: &str, hash: &str) -> Released {
    Released {
        seq: 1,
        instruction_id: "WI".into(),
        revision: revision.into(),
        hash: hash.into(),
        file_name: "WI.toml".into(),
        effective: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        by: "E1".into(),
        by_name: "Eva Berg".into(),
        reason: "ECO-1".into(),
        origin_store: "store".into(),
        origin_bench: "B1".into(),
        hub: None,
    }
}

/// The bench starts jobs only on the released text, unless policy says otherwise.
#[test]
fn start_job_needs_the_released_revision_table() {
    let p = person("T1", &[Role::Technician]);
    let on = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    type Case = (
        &'static str,
        bool,
        Standing,
        Result<Vec<&'static str>, Vec<Refusal>>,
    );
    let cases: Vec<Case> = vec![
        (
            "released",
            true,
            Standing::Released(Box::new(released("A", "h"))),
            Ok(vec!["job_started", "step_started"]),
        ),
        (
            "draft",
            true,
            Standing::Draft,
            Err(vec![Refusal::NotReleased(NotReleased::Draft)]),
        ),
        (
            "changed since release",
            true,
            Standing::Changed {
                current: Box::new(released("A", "h0")),
                revision: "A".into(),
            },
            Err(vec![Refusal::NotReleased(
                NotReleased::ChangedSinceRelease {
                    revision: "A".into(),
                    on,
                    by_name: "Eva Berg".into(),
                },
            )]),
        ),
        (
            "superseded",
            true,
            Standing::Superseded {
                this: Box::new(released("A", "h")),
                current: Box::new(released("B", "hb")),
            },
            Err(vec![Refusal::NotReleased(NotReleased::Superseded {
                revision: "A".into(),
                by_revision: "B".into(),
                on,
                by_name: "Eva Berg".into(),
            })]),
        ),
        (
            "require_release = false",
            false,
            Standing::Draft,
            Ok(vec!["job_started", "step_started"]),
        ),
    ];
    for (name, require, standing, want) in cases {
        let mut policy = policy();
        policy.require_release = require;
        let f = StartFacts {
            job: "B1-1".into(),
            bench: "B1".into(),
            facts: InstructionFacts {
                id: "WI".into(),
                activity: Activity::Rework,
                skill: SkillLevel::Intermediate,
                modules: vec![],
                classes: vec![ProductClass::Class3],
                procedures: vec![],
            },
            revision: "A".into(),
            hash: "h".into(),
            step_count: 2,
            prior: vec![],
            archive: None,
            standing,
            history: None,
        };
        let s = Situation {
            policy: Some(&policy),
            actor: Some(&p),
            start: Some(&f),
            ..Situation::default()
        };
        let command = Command::StartJob(Box::new(NewJob {
            board_serial: "SN1".into(),
            assembly_part: "PN".into(),
            assembly_rev: "A".into(),
            refdes: vec!["U1".into()],
            defect_ref: "NCR".into(),
            approval_ref: String::new(),
            class: ProductClass::Class3,
            alloy: "SAC305".into(),
            instruction_id: "WI".into(),
        }));
        let got = decide(&s, &command, now()).map(|e| e.iter().map(Event::kind).collect());
        let want = want.map_err(|refusals| Rejection::StartRefused {
            instruction: "WI".into(),
            refusals,
        });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn release_table() {
    let engineer = person("E1", &[Role::Engineer]);
    let admin = person("A1", &[Role::Admin, Role::Supervisor]);
    let facts =
        |revision: &str, hash: &str, history: Vec<Released>, problems: Vec<&str>| ReleaseFacts {
            instruction_id: "WI".into(),
            revision: revision.into(),
            hash: hash.into(),
            problems: problems.into_iter().map(String::from).collect(),
            text_stored: false,
            history,
            origin_store: "store".into(),
            origin_bench: "B1".into(),
        };
    let new = |reason: &str| {
        Command::Release(Box::new(NewRelease {
            file_name: "WI.toml".into(),
            text: "id = \"WI\"".into(),
            reason: reason.into(),
        }))
    };
    type Case<'a> = (
        &'static str,
        &'a Person,
        ReleaseFacts,
        Command,
        Result<Vec<&'static str>, Rejection>,
    );
    let cases: Vec<Case> = vec![
        (
            "first release",
            &engineer,
            facts("A", "ha", vec![], vec![]),
            new("ECO-0001"),
            Ok(vec!["instruction_released"]),
        ),
        (
            "a non-releaser is refused on record",
            &admin,
            facts("A", "ha", vec![], vec![]),
            new("ECO-0001"),
            Ok(vec!["instruction_release_refused"]),
        ),
        (
            "check problems",
            &engineer,
            facts("A", "ha", vec![], vec!["WI.toml:3:1: unknown field"]),
            new("ECO-0001"),
            Err(Rejection::InstructionInvalid {
                file: "WI.toml".into(),
                problems: vec!["WI.toml:3:1: unknown field".into()],
            }),
        ),
        (
            "no reason",
            &engineer,
            facts("A", "ha", vec![], vec![]),
            new(" "),
            Err(Rejection::CommentNeeded {
                why: CommentFor::Reason,
            }),
        ),
        (
            "the same bytes again",
            &engineer,
            facts("A", "ha", vec![released("A", "ha")], vec![]),
            new("again"),
            Err(Rejection::AlreadyReleased {
                id: "WI".into(),
                revision: "A".into(),
            }),
        ),
        (
            "a released revision with other bytes",
            &engineer,
            facts("A", "hx", vec![released("A", "ha")], vec![]),
            new("fixed a typo"),
            Err(Rejection::RevisionReused {
                id: "WI".into(),
                revision: "A".into(),
            }),
        ),
        (
            "revision B supersedes A",
            &engineer,
            facts("B", "hb", vec![released("A", "ha")], vec![]),
            new("ECO-0002"),
            Ok(vec!["instruction_released"]),
        ),
    ];
    for (name, who, f, command, want) in cases {
        let policy = policy();
        let s = Situation {
            bench: "B1",
            policy: Some(&policy),
            actor: Some(who),
            release: Some(&f),
            ..Situation::default()
        };
        let got = decide(&s, &command, now()).map(|e| e.iter().map(Event::kind).collect());
        assert_eq!(got, want, "{name}");
    }
    // What the release records: the text once, who, why, where, what it supersedes.
    let f = facts("B", "hb", vec![released("A", "ha")], vec![]);
    let policy = policy();
    let s = Situation {
        bench: "B1",
        policy: Some(&policy),
        actor: Some(&engineer),
        release: Some(&f),
        ..Situation::default()
    };
    let evs = decide(&s, &new("ECO-0002"), now()).unwrap();
    let Event::InstructionReleased {
        text,
        supersedes,
        by_name,
        reason,
        origin_store,
        effective,
        ..
    } = &evs[0]
    else {
        panic!("{evs:?}")
    };
    assert_eq!(text.as_deref(), Some("id = \"WI\""));
    assert_eq!(supersedes.as_ref().map(|r| r.revision.as_str()), Some("A"));
    assert_eq!((by_name.as_str(), reason.as_str()), ("Name E1", "ECO-0002"));
    assert_eq!((origin_store.as_str(), *effective), ("store", now()));
    // A text the store holds already is not stored again.
    let stored = ReleaseFacts {
        text_stored: true,
        ..f.clone()
    };
    let s = Situation {
        release: Some(&stored),
        ..s
    };
    let evs = decide(&s, &new("ECO-0002"), now()).unwrap();
    assert!(matches!(
        &evs[0],
        Event::InstructionReleased { text: None, .. }
    ));
}

fn good_pin() -> NewPin {
    NewPin::from_parts("482913".into(), "$argon2id$h".into())
}

#[test]
fn roster_table() {
    let admin = || Some(person("A1", &[Role::Admin]));
    let c = |r| Command::Roster(r);
    run(vec![
        Case {
            name: "enrol",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Enrol {
                badge: "T9".into(),
                name: "Nine".into(),
                roles: vec![Role::Technician],
                skill: SkillLevel::Advanced,
                pin: good_pin(),
            }),
            want: Ok(vec!["person_enrolled", "pin_policy_met"]),
        },
        Case {
            name: "enrol a look-alike badge",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Enrol {
                badge: "T100\u{200b}".into(),
                name: "Ana Lima".into(),
                roles: vec![Role::Technician],
                skill: SkillLevel::Advanced,
                pin: good_pin(),
            }),
            want: Err(Rejection::Roster(RosterProblem::Badge(
                crate::domain::person::check_badge("T100\u{200b}").unwrap_err(),
            ))),
        },
        Case {
            name: "update to a name with a right-to-left override",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Update {
                badge: "T1".into(),
                name: Some("Ana \u{202e}Lima".into()),
                roles: None,
                skill: None,
            }),
            want: Err(Rejection::Roster(RosterProblem::Name(
                crate::domain::person::check_name("Ana \u{202e}Lima").unwrap_err(),
            ))),
        },
        Case {
            name: "enrol with a trivial PIN",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Enrol {
                badge: "T9".into(),
                name: "Nine".into(),
                roles: vec![Role::Technician],
                skill: SkillLevel::Advanced,
                pin: NewPin::from_parts("123456".into(), "h".into()),
            }),
            want: Err(Rejection::Roster(RosterProblem::Pin(
                PinRejection::Sequence,
            ))),
        },
        Case {
            name: "set a PIN shorter than the policy",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::SetPin {
                badge: "T1".into(),
                pin: NewPin::from_parts("4821".into(), "h".into()),
            }),
            want: Err(Rejection::Roster(RosterProblem::Pin(
                PinRejection::TooShort { digits: 4, min: 6 },
            ))),
        },
        Case {
            name: "set a PIN",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::SetPin {
                badge: "T1".into(),
                pin: good_pin(),
            }),
            want: Ok(vec!["pin_changed", "pin_policy_met"]),
        },
        Case {
            name: "enrol twice",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Enrol {
                badge: "T1".into(),
                name: "One".into(),
                roles: vec![Role::Technician],
                skill: SkillLevel::Advanced,
                pin: good_pin(),
            }),
            want: Err(Rejection::Roster(RosterProblem::AlreadyEnrolled {
                badge: "T1".into(),
            })),
        },
        Case {
            name: "not an admin",
            job: None,
            actor: t1(),
            thermal: None,
            command: c(RosterCommand::SetPin {
                badge: "I1".into(),
                pin: good_pin(),
            }),
            want: Err(Rejection::NotAllowed {
                who: "Name T1 (T1)".into(),
                refusal: Refusal::RoleMissing { role: Role::Admin },
            }),
        },
        Case {
            name: "the last admin stays",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Deactivate {
                badge: "A1".into(),
                reason: "left".into(),
            }),
            want: Err(Rejection::Roster(RosterProblem::LastAdmin {
                badge: "A1".into(),
            })),
        },
        Case {
            name: "deactivate",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Deactivate {
                badge: "T1".into(),
                reason: "left".into(),
            }),
            want: Ok(vec!["person_deactivated"]),
        },
        Case {
            name: "revoke what is not held",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Revoke {
                badge: "T1".into(),
                certificate: "C-9".into(),
                reason: "x".into(),
            }),
            want: Err(Rejection::Roster(RosterProblem::NoSuchCertificate {
                badge: "T1".into(),
                certificate: "C-9".into(),
            })),
        },
        Case {
            name: "init on a roster that is not empty",
            job: None,
            actor: None,
            thermal: None,
            command: c(RosterCommand::Init {
                badge: "A2".into(),
                name: "Two".into(),
                roles: vec![],
                skill: SkillLevel::Advanced,
                pin: good_pin(),
            }),
            want: Err(Rejection::Roster(RosterProblem::NotEmpty)),
        },
        Case {
            name: "nothing to update",
            job: None,
            actor: admin(),
            thermal: None,
            command: c(RosterCommand::Update {
                badge: "T1".into(),
                name: None,
                roles: None,
                skill: None,
            }),
            want: Err(Rejection::Roster(RosterProblem::NothingToChange)),
        },
    ]);
}

/// The window judgement of an attempt's stored samples.
#[test]
fn attempt_thermal_table() {
    let w = Window {
        channel: "tip".into(),
        min_c: 100.0,
        max_c: 150.0,
    };
    let at = |s| Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, s).unwrap();
    let samples = |vals: &[f64]| -> Vec<crate::domain::thermal::Sample> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| crate::domain::thermal::Sample {
                channel: "tip".into(),
                time: at(i as u32),
                celsius: *v,
            })
            .collect()
    };
    let cases: Vec<(&str, Vec<f64>, Option<DeviationKind>)> = vec![
        ("inside", vec![90.0, 120.0, 130.0], None),
        (
            "never reached",
            vec![70.0, 71.0],
            Some(DeviationKind::WindowNeverReached),
        ),
        (
            "no samples",
            vec![],
            Some(DeviationKind::WindowNeverReached),
        ),
        (
            "overshoot at the end",
            vec![120.0, 160.0],
            Some(DeviationKind::LeftOutsideWindow),
        ),
        ("overshoot, back inside", vec![120.0, 160.0, 140.0], None),
    ];
    for (name, vals, want) in cases {
        let t = AttemptThermal::judge(&samples(&vals), Some(&w), None, String::new());
        assert_eq!(t.deviation(), want, "{name}");
    }
    let none = AttemptThermal::judge(&samples(&[20.0]), None, None, String::new());
    assert_eq!(none.deviation(), None, "a step without a window");
}

/// Removed and fitted components: step 1 plain, step 2 removes, step 3 fits, on a
/// job at C4 and C5.
#[test]
fn component_table() {
    use crate::domain::component::{ComponentAction, ComponentProblem};
    let plain = StepPlan::default();
    let plan = JobPlan {
        steps: vec![
            plain.clone(),
            StepPlan {
                component: Some(ComponentAction::Remove),
                ..plain.clone()
            },
            StepPlan {
                component: Some(ComponentAction::Install),
                ..plain.clone()
            },
        ],
    };
    let start = Event::JobStarted {
        job: "J1".into(),
        board_serial: "SN1".into(),
        assembly_part: "PN".into(),
        assembly_rev: "A".into(),
        refdes: vec!["C4".into(), "C5".into()],
        defect_ref: "NCR-1".into(),
        class: ProductClass::Class3,
        alloy: "SAC305".into(),
        instruction_id: "WI".into(),
        instruction_rev: "A".into(),
        instruction_hash: "h".into(),
        step_count: 3,
        approval_ref: None,
        bench: "B1".into(),
        performer: "T1".into(),
        procedures: vec![],
    };
    let fold = |events: Vec<Event>| {
        let mut all = vec![start.clone()];
        all.extend(events);
        let recs: Vec<Record> = all
            .into_iter()
            .enumerate()
            .map(|(i, e)| rec(i as u64 + 1, e))
            .collect();
        Job::fold(&recs).unwrap()
    };
    let done = |step| Event::StepCompleted {
        job: "J1".into(),
        step,
        temperature: vec![],
        sample_count: 0,
        samples_digest: "d".into(),
        attempt: 1,
    };
    let removed = |refdes: &[&str]| Event::ComponentRemoved {
        job: "J1".into(),
        step: 1,
        refdes: refdes.iter().map(|r| r.to_string()).collect(),
        part_number: None,
        entry: refdes.join(" "),
    };
    let fitted = Event::ComponentInstalled {
        job: "J1".into(),
        step: 2,
        refdes: vec!["C4".into(), "C5".into()],
        part_number: "GRM188".into(),
        lot: Some("L1".into()),
        date_code: None,
        entry: "GRM188 L1".into(),
    };
    let at_step = |n: u32| -> Vec<Event> {
        let mut e = vec![step_started(0)];
        for s in 0..n {
            e.push(done(s));
            e.push(step_started(s + 1));
        }
        e
    };
    let record = |step, entry: &str| Command::RecordComponent {
        job: "J1".into(),
        step,
        entry: entry.into(),
    };
    let complete = |step| Command::CompleteStep {
        job: "J1".into(),
        step,
    };
    let missing = |action, refdes: &[&str]| {
        Err(Rejection::StepIncomplete {
            step: if action == ComponentAction::Remove {
                1
            } else {
                2
            },
            blockers: vec![Blocker::ComponentMissing {
                action,
                refdes: refdes.iter().map(|r| r.to_string()).collect(),
            }],
        })
    };
    let mut held = at_step(2);
    held.push(signed(2, 0, CheckResult::Fail));
    let with = |base: Vec<Event>, more: Vec<Event>| {
        let mut e = base;
        e.extend(more);
        fold(e)
    };
    type ComponentCase = (
        &'static str,
        Job,
        Option<Person>,
        Command,
        Result<Vec<&'static str>, Rejection>,
    );
    let cases: Vec<ComponentCase> = vec![
        (
            "removal confirmed at both designators",
            fold(at_step(1)),
            t1(),
            record(1, "C4 C5"),
            Ok(vec!["component_removed"]),
        ),
        (
            "no one logged in",
            fold(at_step(1)),
            None,
            record(1, "C4"),
            Err(Rejection::NotLoggedIn),
        ),
        (
            "a step that records no component",
            fold(at_step(0)),
            t1(),
            record(0, "C4"),
            Err(Rejection::Component(ComponentProblem::NotAComponentStep {
                step: 0,
            })),
        ),
        (
            "not the step in progress",
            fold(at_step(1)),
            t1(),
            record(2, "C4 PN L1"),
            Err(Rejection::NotCurrentStep {
                step: 2,
                current: Some(1),
            }),
        ),
        (
            "the removal step cannot complete before its removal is recorded",
            fold(at_step(1)),
            t1(),
            complete(1),
            missing(ComponentAction::Remove, &["C4", "C5"]),
        ),
        (
            "one of two designators recorded",
            with(at_step(1), vec![removed(&["C4"])]),
            t1(),
            complete(1),
            missing(ComponentAction::Remove, &["C5"]),
        ),
        (
            "both recorded, one line each",
            with(at_step(1), vec![removed(&["C4"]), removed(&["C5"])]),
            t1(),
            complete(1),
            Ok(vec!["step_completed", "step_started"]),
        ),
        (
            "fitted part with P/N, lot and date code",
            fold(at_step(2)),
            t1(),
            record(2, "GRM188 L1 2319"),
            Ok(vec!["component_installed"]),
        ),
        (
            "a fitted part without its lot",
            fold(at_step(2)),
            t1(),
            record(2, "C4 GRM188"),
            Err(Rejection::Component(ComponentProblem::LotOrDateCodeNeeded)),
        ),
        (
            "the fitting step cannot complete before the fitted part is recorded",
            fold(at_step(2)),
            t1(),
            complete(2),
            missing(ComponentAction::Install, &["C4", "C5"]),
        ),
        (
            "fitted part recorded: the last step completes",
            with(at_step(2), vec![fitted.clone()]),
            t1(),
            complete(2),
            Ok(vec!["step_completed"]),
        ),
        (
            "a held job records nothing",
            fold(held.clone()),
            t1(),
            record(2, "GRM188 L1"),
            Err(Rejection::JobIs {
                job: "J1".into(),
                status: JobStatus::Held,
            }),
        ),
        (
            "a redone fitting step records its part again",
            with(
                at_step(2),
                vec![
                    fitted.clone(),
                    signed(2, 0, CheckResult::Fail),
                    Event::StepRedone {
                        job: "J1".into(),
                        step: 2,
                        reason: "wrong part fitted".into(),
                    },
                    step_started(2),
                ],
            ),
            t1(),
            complete(2),
            missing(ComponentAction::Install, &["C4", "C5"]),
        ),
    ];
    let t = thermal(true, true, 1.0);
    for (name, job, actor, command, want) in cases {
        let s = Situation {
            bench: "B1",
            actor: actor.as_ref(),
            job: Some(&job),
            plan: Some(&plan),
            thermal: Some(&t),
            ..Situation::default()
        };
        let got = decide(&s, &command, now()).map(|evs| evs.iter().map(Event::kind).collect());
        assert_eq!(got, want, "{name}");
    }
    // What the fitted part's record says, field by field.
    let job = fold(at_step(2));
    let p = t1();
    let s = Situation {
        bench: "B1",
        actor: p.as_ref(),
        job: Some(&job),
        plan: Some(&plan),
        ..Situation::default()
    };
    assert_eq!(
        decide(&s, &record(2, " c5 GRM188 - 2319 "), now()).unwrap(),
        vec![Event::ComponentInstalled {
            job: "J1".into(),
            step: 2,
            refdes: vec!["C5".into()],
            part_number: "GRM188".into(),
            lot: None,
            date_code: Some("2319".into()),
            entry: "c5 GRM188 - 2319".into(),
        }]
    );
}

fn hub_decision(submitted_seq: u64, hub_seq: u64, decision: Decision) -> Command {
    Command::MirrorReview(Box::new(crate::domain::mirror::HubDecision {
        hub_seq,
        hub_hash: "cd".repeat(32),
        job: "J1".into(),
        submitted_seq,
        decision,
        reviewer: "S1".into(),
        reviewer_name: "Name S1".into(),
        comment: "fillet too small".into(),
        decided_at: chrono::Utc::now(),
    }))
}

#[test]
fn mirror_review_table() {
    use crate::domain::job::JobStatus;
    use crate::domain::mirror::MirrorRefusal;
    let records = |events: Vec<Event>| -> Vec<Record> {
        std::iter::once(started())
            .chain(events)
            .enumerate()
            .map(|(i, e)| rec(i as u64 + 1, e))
            .collect()
    };
    let submitted = || Event::JobSubmitted { job: "J1".into() };
    let reviewed = |decision| Event::JobReviewed {
        job: "J1".into(),
        decision,
        reviewer: "S2".into(),
        reviewer_name: "Name S2".into(),
        comment: "ok".into(),
    };
    let mirrored = |decision, hub_seq| Event::ReviewMirrored {
        job: "J1".into(),
        decision,
        reviewer: "S1".into(),
        reviewer_name: "Name S1".into(),
        comment: "fillet too small".into(),
        submitted_seq: 2,
        hub_seq,
        hub_hash: "cd".repeat(32),
        decided_at: None,
    };
    type Want = Result<Vec<&'static str>, Rejection>;
    let cases: Vec<(&str, Vec<Event>, Command, Want)> = vec![
        (
            "the open submission's decision is mirrored",
            vec![submitted()],
            hub_decision(2, 7, Decision::Rejected),
            Ok(vec!["review_mirrored"]),
        ),
        (
            "mirrored already: nothing more",
            vec![submitted(), mirrored(Decision::Rejected, 7)],
            hub_decision(2, 7, Decision::Rejected),
            Ok(vec![]),
        ),
        (
            "reviewed at the bench first: the bench's decision stands",
            vec![submitted(), reviewed(Decision::Approved)],
            hub_decision(2, 7, Decision::Rejected),
            Err(Rejection::MirrorRefused(MirrorRefusal::Overtaken {
                job: "J1".into(),
                seq: 3,
                status: JobStatus::Approved,
            })),
        ),
        (
            "a second hub decision on a mirrored submission",
            vec![submitted(), mirrored(Decision::Approved, 7)],
            hub_decision(2, 8, Decision::Rejected),
            Err(Rejection::MirrorRefused(MirrorRefusal::Overtaken {
                job: "J1".into(),
                seq: 3,
                status: JobStatus::Approved,
            })),
        ),
        (
            "not a submission",
            vec![submitted()],
            hub_decision(1, 7, Decision::Approved),
            Err(Rejection::MirrorRefused(MirrorRefusal::NotASubmission {
                job: "J1".into(),
                seq: 1,
            })),
        ),
        (
            "an older submission, the job submitted again since",
            vec![submitted(), reviewed(Decision::Rejected), submitted()],
            hub_decision(2, 7, Decision::Approved),
            Err(Rejection::MirrorRefused(MirrorRefusal::Overtaken {
                job: "J1".into(),
                seq: 3,
                status: JobStatus::Submitted,
            })),
        ),
    ];
    for (name, events, command, want) in cases {
        let recs = records(events);
        let s = Situation {
            bench: "B1",
            records: Some(&recs),
            ..Situation::default()
        };
        let got = decide(&s, &command, now()).map(|evs| evs.iter().map(Event::kind).collect());
        assert_eq!(got, want, "{name}");
    }
    // The records were not read: a refusal, never a guess.
    assert!(matches!(
        decide(
            &Situation::default(),
            &hub_decision(2, 7, Decision::Approved),
            now()
        ),
        Err(Rejection::Store { .. })
    ));
}

#[test]
fn a_local_review_after_a_mirrored_decision_is_refused() {
    let mut recs = vec![
        rec(1, started()),
        rec(2, Event::JobSubmitted { job: "J1".into() }),
    ];
    let s = Situation {
        records: Some(&recs),
        ..Situation::default()
    };
    let e = decide(&s, &hub_decision(2, 7, Decision::Rejected), now()).unwrap();
    recs.push(rec(3, e.into_iter().next().unwrap()));
    let j = Job::fold(&recs).unwrap();
    let sup = Some(person("S2", &[Role::Supervisor]));
    let s = Situation {
        bench: "B1",
        actor: sup.as_ref(),
        job: Some(&j),
        ..Situation::default()
    };
    let review = Command::Review {
        job: "J1".into(),
        decision: Decision::Approved,
        comment: "looks fine".into(),
    };
    assert!(matches!(
        decide(&s, &review, now()),
        Err(Rejection::JobIs {
            status: crate::domain::job::JobStatus::Rejected,
            ..
        })
    ));
}

/// On a bench that follows the hub with a stale roster cache: every PIN-signed
/// command but the log-in is gated (a release too); only the shop roster logs in;
/// a copy that does not decode refuses signatures.
#[test]
fn the_roster_gate_covers_every_signed_command_but_the_log_in() {
    let mut pol = policy();
    pol.roster_max_age_hours = Some(8.0);
    let mut roster = Roster {
        hub_since: Some(1),
        last_hub_mirror: Some(1),
        ..Roster::default()
    };
    for b in ["E1", "LOCAL"] {
        roster
            .people
            .insert(b.into(), person(b, &[Role::Engineer, Role::Supervisor]));
    }
    roster.hub_enrolled.insert("E1".into());
    let release = Command::Release(Box::new(NewRelease {
        file_name: "WI.toml".into(),
        text: "id = \"WI\"".into(),
        reason: "new revision".into(),
    }));
    let review = Command::Review {
        job: "J".into(),
        decision: Decision::Approved,
        comment: "ok".into(),
    };
    let e1 = person("E1", &[Role::Engineer, Role::Supervisor]);
    let local = person("LOCAL", &[Role::Engineer, Role::Supervisor]);
    let decide_by = |p: &Person, r: &Roster, c: &Command| {
        let s = Situation {
            bench: "B1",
            policy: Some(&pol),
            actor: Some(p),
            roster: Some(r),
            ..Situation::default()
        };
        decide(&s, c, now())
    };
    assert!(matches!(
        decide_by(&e1, &roster, &release),
        Err(Rejection::RosterStale(ref s)) if s.badge == "E1"
    ));
    assert!(matches!(
        decide_by(&e1, &roster, &review),
        Err(Rejection::RosterStale(_))
    ));
    assert!(decide_by(&e1, &roster, &Command::LogIn).is_ok());
    assert_eq!(
        decide_by(&local, &roster, &Command::LogIn),
        Err(Rejection::NotOnShopRoster {
            badge: "LOCAL".into()
        })
    );
    assert!(matches!(
        decide_by(&local, &roster, &release),
        Err(Rejection::NotOnShopRoster { .. })
    ));
    assert!(roster_gated(&release) && roster_gated(&review) && !roster_gated(&Command::LogIn));
    let mut damaged = roster.clone();
    damaged.undecodable = Some((7, 4, "newer kind".into()));
    match decide_by(&e1, &damaged, &review) {
        Err(Rejection::Store { reason }) => {
            assert!(
                reason.contains("record 7") && reason.contains("hub record 4"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}
