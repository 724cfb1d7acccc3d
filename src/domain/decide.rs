//! The one place a command becomes events: `decide(&situation, command, now)`.
//! Pure: the core service loads what is stored into a [`Situation`], checks the
//! PIN, calls this, and appends what comes back.

use chrono::{DateTime, Utc};

use super::command::{
    Blocker, CheckKind, Command, CommentFor, JobPlan, LotProblem, NewJob, NewRelease, Rejection,
    RosterCommand, RosterProblem, StepPlan, Verdict,
};
use super::component::{self, ComponentAction, ComponentProblem};
use super::event::{
    ChannelSummary, DeviationKind, Event, LotRefusal, Measurement, Record, RecordedFigure,
    RevisionRef,
};
use super::gs1;
use super::hub_records::{self, HubRecordRefusal};
use super::job::{Job, JobStatus};
use super::mirror::{self, HubDecision};
use super::person::{self, Person, Roster};
use super::pin_rules::{NewPin, check_new_pin};
use super::policy::{self, InstructionFacts, Policy, PriorJob, Refusal, SignerRole};
use super::release::{self, Released, Standing, may_release};
use super::thermal::{Sample, StepThermal, Window};
use super::types::{CheckResult, Decision, Meaning, Role};

/// A comment or reason shorter than this is not an explanation.
pub const MIN_REASON: usize = 3;

/// What a new job needs to know about its instruction and board.
#[derive(Clone, Debug)]
pub struct StartFacts {
    /// The id the job will get (bench + second, made unique by the core).
    pub job: String,
    pub bench: String,
    pub facts: InstructionFacts,
    pub revision: String,
    pub hash: String,
    pub step_count: u32,
    /// Earlier jobs on the board, for rework-cycle limits.
    pub prior: Vec<PriorJob>,
    /// The instruction's file name and text, when the store has not archived them yet.
    pub archive: Option<(String, String)>,
    /// Where the instruction's text stands against its releases.
    pub standing: Standing,
    /// Where `prior` was counted (every bench through the hub, or this bench only
    /// and why): recorded with the job. `None` records nothing (older callers).
    pub history: Option<super::board::CountedRecord>,
}

/// What releasing a file needs to know, loaded by the core: the file checked as
/// `traveler check` does, and the instruction's releases so far.
#[derive(Clone, Debug, Default)]
pub struct ReleaseFacts {
    /// From the file; the file name when it does not read as an instruction.
    pub instruction_id: String,
    pub revision: String,
    /// Hex SHA-256 of the text's bytes.
    pub hash: String,
    /// `traveler check`'s findings in the file, as file:line:col messages.
    pub problems: Vec<String>,
    /// The store already holds this hash's text (archived by a job or a release).
    pub text_stored: bool,
    /// The instruction's releases so far, oldest first.
    pub history: Vec<Released>,
    pub origin_store: String,
    pub origin_bench: String,
}

/// The current attempt's stored samples, judged against the step's window.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptThermal {
    pub temperature: Vec<ChannelSummary>,
    pub sample_count: u64,
    pub digest: String,
    /// The window's channel read inside the window at least once.
    pub reached: bool,
    /// The window's channel's last reading was inside the window.
    pub ends_inside: bool,
}

impl AttemptThermal {
    /// Judges `samples` (in time order) against `window`.
    pub fn judge(
        samples: &[Sample],
        window: Option<&Window>,
        liquidus_c: Option<f64>,
        digest: String,
    ) -> AttemptThermal {
        let mut t = StepThermal::new(window.into_iter().cloned().collect(), liquidus_c);
        let mut reached = window.is_none();
        let mut last_inside = None;
        for s in samples {
            t.push(s);
            if let Some(w) = window
                && w.channel == s.channel
                && s.celsius.is_finite()
            {
                let inside = w.contains(s.celsius);
                reached |= inside;
                last_inside = Some(inside);
            }
        }
        AttemptThermal {
            temperature: t.summary().for_record(),
            sample_count: samples.len() as u64,
            digest,
            reached,
            ends_inside: window.is_none() || last_inside == Some(true),
        }
    }

    /// The deviation completing the attempt would be, if any.
    pub fn deviation(&self) -> Option<DeviationKind> {
        if !self.reached {
            Some(DeviationKind::WindowNeverReached)
        } else if !self.ends_inside {
            Some(DeviationKind::LeftOutsideWindow)
        } else {
            None
        }
    }

    /// A recorded figure by name, on `channel` (the window's) or the busiest channel.
    pub fn metric(&self, metric: &str, channel: Option<&str>) -> Option<f64> {
        let c = match channel {
            Some(ch) => self.temperature.iter().find(|c| c.channel == ch)?,
            None => self.temperature.iter().max_by_key(|c| c.count)?,
        };
        recorded_metric(metric, c)
    }
}

/// The names a checkpoint may use for a recorded station figure.
pub const RECORDED_METRICS: [&str; 4] = ["above_liquidus_s", "peak_c", "min_c", "mean_c"];

pub fn recorded_metric(metric: &str, c: &ChannelSummary) -> Option<f64> {
    Some(match metric {
        "above_liquidus_s" => c.above_liquidus_s,
        "peak_c" => c.peak_c,
        "min_c" => c.min_c,
        "mean_c" => c.mean_c,
        _ => return None,
    })
}

/// Everything a decision may look at, loaded from the store by the core.
#[derive(Clone, Debug, Default)]
pub struct Situation<'a> {
    /// The bench the command is given at.
    pub bench: &'a str,
    pub policy: Option<&'a Policy>,
    /// Whom the request's PIN proved (signer, reviewer, admin); for unsigned
    /// commands the person logged in at the bench.
    pub actor: Option<&'a Person>,
    pub roster: Option<&'a Roster>,
    pub job: Option<&'a Job>,
    pub plan: Option<&'a JobPlan>,
    pub start: Option<&'a StartFacts>,
    /// The current attempt's stored samples (CompleteStep, Deviate, Sign).
    pub thermal: Option<&'a AttemptThermal>,
    /// For a release: the file as checked and the instruction's releases.
    pub release: Option<&'a ReleaseFacts>,
    /// The job's records in this chain, for mirroring a decision of the hub.
    pub records: Option<&'a [Record]>,
    /// The shop policy set at the hub, as this chain has it (a review at a bench,
    /// setting it at the hub); `None` where it plays no part (a desk review).
    pub shop: Option<&'a super::shop_policy::ShopPolicy>,
    /// For copying a hub record: the record decoded from its checked bytes.
    pub hub_record: Option<&'a Record>,
    /// The bench's contact file: when it last reached the hub's roster head (the
    /// roster cache's age), checked against the chain by `person::online_gate`.
    pub roster_contact: Option<person::HubContact>,
}

type Decided = Result<Vec<Event>, Rejection>;

pub fn decide(s: &Situation<'_>, command: &Command, now: DateTime<Utc>) -> Decided {
    // A log-in or signature by a badge the shop roster does not hold, on a bench
    // that follows it.
    if command.needs_pin() {
        on_shop_roster(s)?;
    }
    // A signature on a bench whose copy of the shop roster is too old or damaged.
    if roster_gated(command) {
        roster_fresh_enough(s, now)?;
    }
    let mut events = decide_command(s, command, now)?;
    // Where the bench follows the hub, the signature says on what roster.
    if roster_gated(command)
        && !events.is_empty()
        && let (Some(roster), Some(signer)) = (s.roster, s.actor)
        && let Some(basis) = person::roster_basis(
            s.policy.and_then(|p| p.roster_max_age_hours),
            s.roster_contact.as_ref(),
            roster,
            &signer.badge,
            command.job(),
            now,
        )
    {
        events.push(basis);
    }
    Ok(events)
}

fn decide_command(s: &Situation<'_>, command: &Command, now: DateTime<Utc>) -> Decided {
    match command {
        Command::LogIn => {
            let p = actor(s)?;
            Ok(vec![Event::LoggedIn {
                badge: p.badge.clone(),
                bench: s.bench.to_string(),
            }])
        }
        Command::LogOut { reason } => Ok(vec![Event::LoggedOut {
            badge: actor(s)?.badge.clone(),
            reason: reason.clone(),
        }]),
        Command::StartJob(new) => start_job(s, new, now),
        Command::StartStep { job, step } => {
            let j = open_job(s, job, &[JobStatus::InProgress])?;
            current(j, *step)?;
            let st = &j.steps[*step as usize];
            if st.current_attempt().is_some_and(|a| a.started.is_some()) {
                return Err(Rejection::StepAlreadyStarted { step: *step });
            }
            Ok(vec![Event::StepStarted {
                job: job.clone(),
                step: *step,
            }])
        }
        Command::RecordLot {
            job,
            step,
            raw_scan,
            typed_expiry,
        } => record_lot(s, job, *step, raw_scan, *typed_expiry, now),
        Command::Sign {
            job,
            step,
            checkpoint,
            verdict,
            value,
            comment,
        } => sign(s, job, *step, *checkpoint, *verdict, *value, comment, now),
        Command::RecordExcursion {
            job,
            step,
            id,
            channel,
            window,
            peak_c,
            started,
            ended,
        } => {
            let j = find_job(s, job)?;
            if !j.status.is_open() {
                return Err(Rejection::JobIs {
                    job: job.clone(),
                    status: j.status,
                });
            }
            step_of(j, *step)?;
            Ok(vec![Event::Excursion {
                job: job.clone(),
                step: *step,
                id: *id,
                channel: channel.clone(),
                window_min_c: window.0,
                window_max_c: window.1,
                peak_c: *peak_c,
                started: *started,
                ended: *ended,
            }])
        }
        Command::AcknowledgeAlarm {
            job,
            step,
            id,
            comment,
        } => {
            actor(s)?;
            let j = open_job(s, job, &[JobStatus::InProgress, JobStatus::Held])?;
            let e = j
                .excursions
                .iter()
                .find(|e| e.step == *step && e.id == *id)
                .ok_or(Rejection::NoSuchAlarm {
                    step: *step,
                    id: *id,
                })?;
            if e.acknowledgement.is_some() {
                return Err(Rejection::AlarmAlreadyAcknowledged {
                    step: *step,
                    id: *id,
                });
            }
            let comment = reason(comment)?;
            Ok(vec![Event::ExcursionAcknowledged {
                job: job.clone(),
                step: *step,
                id: *id,
                comment,
            }])
        }
        Command::CompleteStep { job, step } => complete_step(s, job, *step),
        Command::Deviate {
            job,
            step,
            kind,
            reason: why,
        } => {
            let p = actor(s)?;
            let j = open_job(s, job, &[JobStatus::InProgress])?;
            current(j, *step)?;
            policy::may_sign(p, SignerRole::Technician, &j.performer, now).map_err(|r| {
                Rejection::NotAllowed {
                    who: p.name.clone(),
                    refusal: r,
                }
            })?;
            let needed = s.thermal.and_then(AttemptThermal::deviation);
            if needed != Some(*kind) {
                return match needed {
                    Some(k) => Err(Rejection::DeviationNeeded {
                        step: *step,
                        kind: k,
                    }),
                    None => Err(Rejection::NoDeviationNeeded { step: *step }),
                };
            }
            Ok(vec![Event::Deviated {
                job: job.clone(),
                step: *step,
                attempt: j.attempt_of(*step),
                kind: *kind,
                reason: reason(why)?,
                by: p.badge.clone(),
                by_name: p.name.clone(),
            }])
        }
        Command::Suspend { job, reason: why } => {
            open_job(s, job, &[JobStatus::InProgress, JobStatus::Held])?;
            Ok(vec![Event::JobSuspended {
                job: job.clone(),
                reason: reason(why)?,
            }])
        }
        Command::Resume { job, reason: why } => {
            open_job(s, job, &[JobStatus::Suspended])?;
            Ok(vec![Event::JobResumed {
                job: job.clone(),
                reason: why.trim().to_string(),
            }])
        }
        Command::Redo {
            job,
            step,
            reason: why,
        } => {
            let j = open_job(s, job, &[JobStatus::Held, JobStatus::Rejected])?;
            step_of(j, *step)?;
            if j.status == JobStatus::Held {
                // Only the step whose checkpoint failed is done again.
                current(j, *step)?;
            }
            Ok(vec![
                Event::StepRedone {
                    job: job.clone(),
                    step: *step,
                    reason: reason(why)?,
                },
                Event::StepStarted {
                    job: job.clone(),
                    step: *step,
                },
            ])
        }
        Command::Abort { job, reason: why } => {
            open_job(
                s,
                job,
                &[
                    JobStatus::InProgress,
                    JobStatus::Held,
                    JobStatus::Suspended,
                    JobStatus::Rejected,
                ],
            )?;
            Ok(vec![Event::JobAborted {
                job: job.clone(),
                reason: reason(why)?,
            }])
        }
        Command::Submit { job } => {
            let j = open_job(s, job, &[JobStatus::InProgress, JobStatus::Rejected])?;
            if let Some(step) = j.current_step() {
                return Err(Rejection::NotCurrentStep {
                    step: j.steps.len() as u32,
                    current: Some(step),
                });
            }
            Ok(vec![Event::JobSubmitted { job: job.clone() }])
        }
        Command::Review {
            job,
            decision,
            comment,
        } => {
            let p = actor(s)?;
            // Desk-only: the desk decides; a bench never records a second decision.
            if let Some(refused) = s.shop.and_then(|sp| sp.local_review_refusal()) {
                return Err(refused);
            }
            let j = open_job(s, job, &[JobStatus::Submitted])?;
            let inspectors = j.inspector_badges();
            policy::may_review(p, &j.performer, &inspectors, now).map_err(|r| {
                Rejection::NotAllowed {
                    who: p.name.clone(),
                    refusal: r,
                }
            })?;
            Ok(vec![Event::JobReviewed {
                job: job.clone(),
                decision: *decision,
                reviewer: p.badge.clone(),
                reviewer_name: p.name.clone(),
                comment: reason(comment)?,
            }])
        }
        Command::Roster(r) => roster(s, r, now),
        Command::Release(new) => release(s, new, now),
        Command::RecordComponent { job, step, entry } => record_component(s, job, *step, entry),
        Command::MirrorReview(d) => mirror_review(s, d),
        Command::SetShopPolicy {
            local_review,
            reason,
        } => super::shop_policy::set(s.actor, s.shop, *local_review, reason, now),
        Command::MirrorHubRecord {
            hub_seq,
            hub_hash,
            record,
        } => mirror_hub_record(s, *hub_seq, hub_hash, record),
    }
}

/// The commands the roster cache's age and soundness gate: every command signed
/// with a PIN except the log-in (which the hub confirms afterwards). The core reads
/// the contact file for exactly these.
pub fn roster_gated(command: &Command) -> bool {
    command.needs_pin() && !matches!(command, Command::LogIn)
}

/// `person::on_shop_roster` for whom the PIN proved.
fn on_shop_roster(s: &Situation<'_>) -> Result<(), Rejection> {
    let (Some(roster), Some(p)) = (s.roster, s.actor) else {
        return Ok(());
    };
    if person::on_shop_roster(roster, &p.badge) {
        Ok(())
    } else {
        Err(Rejection::NotOnShopRoster {
            badge: p.badge.clone(),
        })
    }
}

/// `person::hub_copy_fault` and `person::online_gate` for the signer of the command.
fn roster_fresh_enough(s: &Situation<'_>, now: DateTime<Utc>) -> Result<(), Rejection> {
    let Some(roster) = s.roster else {
        return Ok(());
    };
    if let Some(reason) = person::hub_copy_fault(roster) {
        return Err(Rejection::Store { reason });
    }
    let Some(signer) = s.actor else {
        return Ok(());
    };
    person::online_gate(
        s.policy.and_then(|p| p.roster_max_age_hours),
        s.roster_contact.as_ref(),
        roster,
        &signer.badge,
        now,
    )
    .map_err(Rejection::RosterStale)
}

/// A hub record benches follow, copied verbatim, by `hub_records::should_mirror`:
/// the core checked its bytes against the claimed hash and decoded them
/// (`s.hub_record`); the last hub seq this chain copied is the roster's.
fn mirror_hub_record(s: &Situation<'_>, hub_seq: u64, hub_hash: &str, record: &str) -> Decided {
    let inner = s.hub_record.ok_or_else(|| {
        Rejection::HubRecord(HubRecordRefusal::Damaged {
            seq: hub_seq,
            what: "its bytes were not checked".into(),
        })
    })?;
    if inner.seq != hub_seq {
        return Err(Rejection::HubRecord(HubRecordRefusal::Damaged {
            seq: hub_seq,
            what: format!("it says it is record {}", inner.seq),
        }));
    }
    let last = s.roster.and_then(|r| r.last_hub_mirror);
    if !hub_records::should_mirror(last, hub_seq, &inner.event).map_err(Rejection::HubRecord)? {
        return Ok(Vec::new());
    }
    Ok(vec![Event::HubRecordMirrored {
        hub_seq,
        hub_hash: hub_hash.to_string(),
        record: record.to_string(),
    }])
}

/// A decision of the hub, by `domain::mirror`'s rule, decided on the job's records
/// as stored when the core holds the store's decision lock: a local review taken
/// first overtakes it, and once mirrored the job is reviewed, so a local review
/// after it is refused (`JobIs`). Mirrored already: nothing to append.
fn mirror_review(s: &Situation<'_>, d: &HubDecision) -> Decided {
    let records = s.records.ok_or_else(|| Rejection::Store {
        reason: format!("the records of job {} were not read", d.job),
    })?;
    match mirror::mirror(records, d) {
        Ok(Some(e)) => Ok(vec![e]),
        Ok(None) => Ok(vec![]),
        Err(r) => Err(Rejection::MirrorRefused(r)),
    }
}

/// A release by an engineer of a file without problems, with a reason; a refusal
/// for want of the role is an event (recorded), the others are plain refusals.
fn release(s: &Situation<'_>, new: &NewRelease, now: DateTime<Utc>) -> Decided {
    let p = actor(s)?;
    let f = s.release.ok_or_else(|| Rejection::Store {
        reason: "the file to release was not read".into(),
    })?;
    if let Err(refusal) = may_release(p, now) {
        return Ok(vec![Event::InstructionReleaseRefused {
            instruction_id: f.instruction_id.clone(),
            revision: f.revision.clone(),
            hash: f.hash.clone(),
            by: p.badge.clone(),
            by_name: p.name.clone(),
            refusal,
        }]);
    }
    if !f.problems.is_empty() {
        return Err(Rejection::InstructionInvalid {
            file: new.file_name.clone(),
            problems: f.problems.clone(),
        });
    }
    let why = reason(&new.reason)?;
    let current = f.history.last();
    if current.is_some_and(|c| c.hash == f.hash) {
        return Err(Rejection::AlreadyReleased {
            id: f.instruction_id.clone(),
            revision: f.revision.clone(),
        });
    }
    if f.history.iter().any(|r| r.revision == f.revision) {
        return Err(Rejection::RevisionReused {
            id: f.instruction_id.clone(),
            revision: f.revision.clone(),
        });
    }
    Ok(vec![Event::InstructionReleased {
        instruction_id: f.instruction_id.clone(),
        revision: f.revision.clone(),
        hash: f.hash.clone(),
        file_name: new.file_name.clone(),
        text: (!f.text_stored).then(|| new.text.clone()),
        effective: now,
        by: p.badge.clone(),
        by_name: p.name.clone(),
        reason: why,
        origin_store: f.origin_store.clone(),
        origin_bench: f.origin_bench.clone(),
        supersedes: current.map(|c| RevisionRef {
            revision: c.revision.clone(),
            hash: c.hash.clone(),
        }),
    }])
}

/// A removed or fitted component, at a step whose instruction records one.
fn record_component(s: &Situation<'_>, job: &str, step: u32, entry: &str) -> Decided {
    actor(s)?;
    let j = open_job(s, job, &[JobStatus::InProgress])?;
    current(j, step)?;
    if j.steps[step as usize]
        .current_attempt()
        .is_none_or(|a| a.started.is_none())
    {
        return Err(Rejection::StepNotStarted { step });
    }
    let action = plan_step(s, step)?.component.ok_or(Rejection::Component(
        ComponentProblem::NotAComponentStep { step },
    ))?;
    let raw = entry.trim().to_string();
    Ok(vec![match action {
        ComponentAction::Remove => {
            let r = component::parse_removed(&raw, &j.refdes).map_err(Rejection::Component)?;
            Event::ComponentRemoved {
                job: job.to_string(),
                step,
                refdes: r.refdes,
                part_number: r.part_number,
                entry: raw,
            }
        }
        ComponentAction::Install => {
            let f = component::parse_fitted(&raw, &j.refdes).map_err(Rejection::Component)?;
            Event::ComponentInstalled {
                job: job.to_string(),
                step,
                refdes: f.refdes,
                part_number: f.part_number,
                lot: f.lot,
                date_code: f.date_code,
                entry: raw,
            }
        }
    }])
}

fn actor<'a>(s: &Situation<'a>) -> Result<&'a Person, Rejection> {
    s.actor.ok_or(Rejection::NotLoggedIn)
}

fn reason(text: &str) -> Result<String, Rejection> {
    let t = text.trim();
    if t.chars().count() < MIN_REASON {
        return Err(Rejection::CommentNeeded {
            why: CommentFor::Reason,
        });
    }
    Ok(t.to_string())
}

fn find_job<'a>(s: &Situation<'a>, id: &str) -> Result<&'a Job, Rejection> {
    s.job
        .filter(|j| j.id == id)
        .ok_or_else(|| Rejection::NoSuchJob {
            job: id.to_string(),
        })
}

fn open_job<'a>(s: &Situation<'a>, id: &str, allowed: &[JobStatus]) -> Result<&'a Job, Rejection> {
    let j = find_job(s, id)?;
    if !allowed.contains(&j.status) {
        return Err(Rejection::JobIs {
            job: id.to_string(),
            status: j.status,
        });
    }
    Ok(j)
}

fn step_of(j: &Job, step: u32) -> Result<(), Rejection> {
    if (step as usize) < j.steps.len() {
        Ok(())
    } else {
        Err(Rejection::NoSuchStep { step })
    }
}

/// The step must be the one in progress.
fn current(j: &Job, step: u32) -> Result<(), Rejection> {
    step_of(j, step)?;
    let cur = j.current_step();
    if cur != Some(step) {
        return Err(Rejection::NotCurrentStep { step, current: cur });
    }
    Ok(())
}

fn plan_step<'a>(s: &Situation<'a>, step: u32) -> Result<&'a StepPlan, Rejection> {
    s.plan
        .and_then(|p| p.steps.get(step as usize))
        .ok_or(Rejection::NoSuchStep { step })
}

fn start_job(s: &Situation<'_>, new: &NewJob, now: DateTime<Utc>) -> Decided {
    let p = actor(s)?;
    let policy = s.policy.ok_or(Rejection::NoPolicy)?;
    let f = s.start.ok_or_else(|| Rejection::NoSuchInstruction {
        id: new.instruction_id.clone(),
    })?;
    let fields = [
        ("board serial", new.board_serial.trim().is_empty()),
        ("assembly part number", new.assembly_part.trim().is_empty()),
        ("assembly revision", new.assembly_rev.trim().is_empty()),
        ("reference designator(s)", new.refdes.is_empty()),
        ("defect or NCR reference", new.defect_ref.trim().is_empty()),
    ];
    let missing: Vec<&'static str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
    if !missing.is_empty() {
        return Err(Rejection::FieldsMissing { fields: missing });
    }
    let mut refusals =
        policy::run_refusals(policy, p, &f.facts, new.class, &new.refdes, &f.prior, now);
    if let Some(why) = release::start_refusal(policy.require_release, &f.standing) {
        refusals.push(Refusal::NotReleased(why));
    }
    if !refusals.is_empty() {
        return Err(Rejection::StartRefused {
            instruction: f.facts.id.clone(),
            refusals,
        });
    }
    let approval = new.approval_ref.trim();
    policy::check_approval(policy, f.facts.activity, approval)
        .map_err(|reason| Rejection::ApprovalNeeded { reason })?;
    let needs_ref = policy
        .approval(f.facts.activity)
        .is_some_and(|a| a.required);
    let mut events = vec![Event::JobStarted {
        job: f.job.clone(),
        board_serial: new.board_serial.trim().to_string(),
        assembly_part: new.assembly_part.trim().to_string(),
        assembly_rev: new.assembly_rev.trim().to_string(),
        refdes: new.refdes.clone(),
        defect_ref: new.defect_ref.trim().to_string(),
        class: new.class,
        alloy: new.alloy.clone(),
        instruction_id: f.facts.id.clone(),
        instruction_rev: f.revision.clone(),
        instruction_hash: f.hash.clone(),
        step_count: f.step_count,
        approval_ref: (needs_ref || !approval.is_empty()).then(|| approval.to_string()),
        bench: f.bench.clone(),
        performer: p.badge.clone(),
        procedures: f.facts.procedures.iter().map(|(r, _)| r.clone()).collect(),
    }];
    if let Some((file_name, text)) = &f.archive {
        events.push(Event::InstructionArchived {
            job: f.job.clone(),
            hash: f.hash.clone(),
            file_name: file_name.clone(),
            text: text.clone(),
        });
    }
    if f.step_count > 0 {
        events.push(Event::StepStarted {
            job: f.job.clone(),
            step: 0,
        });
    }
    // What the limits above counted, and where: the record says so.
    if let Some(h) = &f.history {
        events.push(Event::BoardHistoryCounted {
            job: f.job.clone(),
            board_serial: new.board_serial.trim().to_string(),
            jobs: h.jobs,
            benches: h.benches,
            elsewhere: h.elsewhere,
            scope: h.scope.clone(),
            unknown_procedures: h.unknown_procedures,
        });
    }
    Ok(events)
}

fn record_lot(
    s: &Situation<'_>,
    job: &str,
    step: u32,
    raw: &str,
    typed_expiry: Option<chrono::NaiveDate>,
    now: DateTime<Utc>,
) -> Decided {
    let j = open_job(s, job, &[JobStatus::InProgress])?;
    current(j, step)?;
    let plan = plan_step(s, step)?;
    let today = now.date_naive();
    let material = plan
        .lots
        .iter()
        .find(|m| !j.lots_for_step(step).any(|l| l.material == m.material))
        .or(plan.lots.first())
        .ok_or(Rejection::Lot(LotProblem::NoLotMaterial))?;
    let scan = gs1::parse_scan(raw, today)
        .map_err(|reason| Rejection::Lot(LotProblem::BadScan { reason }))?;
    let expiry = scan.expiry.or(typed_expiry);
    if material.needs_expiry && expiry.is_none() {
        return Err(Rejection::Lot(LotProblem::ExpiryNeeded {
            material: material.material.clone(),
            lot: scan.lot,
        }));
    }
    let refused = |reason| {
        Ok(vec![Event::LotRefused {
            job: job.to_string(),
            step,
            material: material.material.clone(),
            lot: scan.lot.clone(),
            expiry,
            gtin: scan.gtin.clone(),
            raw_scan: scan.raw.clone(),
            reason,
        }])
    };
    if gs1::expired(expiry, today) {
        return refused(LotRefusal::Expired {
            on: expiry.unwrap_or(today),
        });
    }
    // The first accepted expiry of a lot is the record's; a label that contradicts
    // it is refused. A lot refused before and seen again is accepted and flagged.
    if let Some(earlier) = j.lots.iter().find(|l| l.lot == scan.lot)
        && earlier.expiry != expiry
    {
        return refused(LotRefusal::ConflictingExpiry {
            recorded: earlier.expiry,
        });
    }
    Ok(vec![Event::LotRecorded {
        job: job.to_string(),
        step,
        material: material.material.clone(),
        lot: scan.lot.clone(),
        expiry,
        gtin: scan.gtin.clone(),
        raw_scan: scan.raw.clone(),
    }])
}

#[allow(clippy::too_many_arguments)]
fn sign(
    s: &Situation<'_>,
    job: &str,
    step: u32,
    checkpoint: u32,
    verdict: Option<Verdict>,
    value: Option<f64>,
    comment: &Option<String>,
    now: DateTime<Utc>,
) -> Decided {
    let p = actor(s)?;
    let j = open_job(s, job, &[JobStatus::InProgress])?;
    current(j, step)?;
    let st = &j.steps[step as usize];
    if st.current_attempt().is_none_or(|a| a.started.is_none()) {
        return Err(Rejection::StepNotStarted { step });
    }
    let cp = plan_step(s, step)?
        .checkpoints
        .get(checkpoint as usize)
        .ok_or(Rejection::NoSuchCheckpoint { step, checkpoint })?;
    if st.signatures.contains_key(&checkpoint) {
        return Err(Rejection::AlreadySigned { step, checkpoint });
    }
    let role = if cp.inspector {
        SignerRole::Inspector
    } else {
        SignerRole::Technician
    };
    policy::may_sign(p, role, &j.performer, now).map_err(|r| Rejection::NotAllowed {
        who: p.name.clone(),
        refusal: r,
    })?;
    let comment = comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let explained = comment
        .as_ref()
        .is_some_and(|c| c.chars().count() >= MIN_REASON);
    let mut measurement = None;
    let mut recorded = None;
    let result = match cp.kind {
        CheckKind::Confirm => CheckResult::Confirmed,
        CheckKind::PassFail => match verdict.ok_or(Rejection::VerdictNeeded)? {
            Verdict::Pass => CheckResult::Pass,
            Verdict::Fail => CheckResult::Fail,
        },
        CheckKind::Measurement => {
            let v = value
                .filter(|v| v.is_finite())
                .ok_or(Rejection::ValueNeeded)?;
            measurement = Some(Measurement {
                value: v,
                unit: cp.unit.clone(),
            });
            if let Some((metric, tolerance)) = &cp.recorded {
                let channel = plan_step(s, step)?
                    .window
                    .as_ref()
                    .map(|w| w.channel.as_str());
                recorded = s
                    .thermal
                    .and_then(|t| t.metric(metric, channel))
                    .map(|value| RecordedFigure {
                        metric: metric.clone(),
                        value,
                        tolerance: *tolerance,
                    });
            }
            let inside = cp.min.is_none_or(|m| v >= m) && cp.max.is_none_or(|m| v <= m);
            if inside {
                CheckResult::Pass
            } else {
                CheckResult::Fail
            }
        }
    };
    if result.is_failure() && !explained {
        return Err(Rejection::CommentNeeded {
            why: CommentFor::FailedCheckpoint,
        });
    }
    if let (Some(r), Some(m)) = (&recorded, &measurement)
        && r.differs(m.value)
        && !explained
    {
        return Err(Rejection::CommentNeeded {
            why: CommentFor::DiffersFromRecord,
        });
    }
    Ok(vec![Event::CheckpointSigned {
        job: job.to_string(),
        step,
        checkpoint,
        signer: p.badge.clone(),
        signer_name: p.name.clone(),
        meaning: if cp.inspector {
            Meaning::Inspected
        } else {
            Meaning::Performed
        },
        result,
        measurement,
        comment,
        recorded,
    }])
}

/// What keeps the current attempt of `step` from completing, judged on the job.
pub fn blockers(j: &Job, step: u32, plan: &StepPlan) -> Vec<Blocker> {
    let mut out = Vec::new();
    let Some(st) = j.steps.get(step as usize) else {
        return out;
    };
    let unsigned = (0..plan.checkpoints.len() as u32)
        .filter(|i| !st.signatures.contains_key(i))
        .count();
    if unsigned > 0 {
        out.push(Blocker::Unsigned { count: unsigned });
    }
    if st.signatures.values().any(|s| s.result.is_failure()) {
        out.push(Blocker::FailedCheckpoint);
    }
    for m in &plan.lots {
        if !j.lots_for_step(step).any(|l| l.material == m.material) {
            out.push(Blocker::LotMissing {
                material: m.material.clone(),
            });
        }
    }
    let open = j.open_excursions(step).count();
    if open > 0 {
        out.push(Blocker::AlarmOpen { count: open });
    }
    if let Some(action) = plan.component {
        let refdes = j.designators_pending(step, action);
        if !refdes.is_empty() {
            out.push(Blocker::ComponentMissing { action, refdes });
        }
    }
    out
}

fn complete_step(s: &Situation<'_>, job: &str, step: u32) -> Decided {
    let j = open_job(s, job, &[JobStatus::InProgress])?;
    current(j, step)?;
    let plan = plan_step(s, step)?;
    let b = blockers(j, step, plan);
    if !b.is_empty() {
        return Err(Rejection::StepIncomplete { step, blockers: b });
    }
    let t = s.thermal.ok_or_else(|| Rejection::Store {
        reason: "the step's samples were not read".into(),
    })?;
    if let Some(kind) = t.deviation()
        && !j
            .deviations_of_current_attempt(step)
            .any(|d| d.kind == kind)
    {
        return Err(Rejection::DeviationNeeded { step, kind });
    }
    let mut events = vec![Event::StepCompleted {
        job: job.to_string(),
        step,
        temperature: t.temperature.clone(),
        sample_count: t.sample_count,
        samples_digest: t.digest.clone(),
        attempt: j.attempt_of(step),
    }];
    if let Some(next) =
        (step + 1..j.steps.len() as u32).find(|n| j.steps[*n as usize].completed.is_none())
    {
        let started = j.steps[next as usize]
            .current_attempt()
            .is_some_and(|a| a.started.is_some());
        if !started {
            events.push(Event::StepStarted {
                job: job.to_string(),
                step: next,
            });
        }
    }
    Ok(events)
}

/// A new badge and name must not pass for another person's on a list or a record.
fn well_formed(badge: &str, name: Option<&str>) -> Result<(), Rejection> {
    person::check_badge(badge).map_err(|why| Rejection::Roster(RosterProblem::Badge(why)))?;
    if let Some(name) = name {
        person::check_name(name).map_err(|why| Rejection::Roster(RosterProblem::Name(why)))?;
    }
    Ok(())
}

/// A new PIN is checked against policy.toml's `[pin]` rules (the shipped defaults
/// when no policy loaded) and saved with the record of the rules it met.
fn pin_rules_met(s: &Situation<'_>, badge: &str, pin: &NewPin) -> Result<Event, Rejection> {
    let rules = s.policy.map(|p| p.pin).unwrap_or_default();
    check_new_pin(pin.digits(), &rules)
        .map_err(|why| Rejection::Roster(RosterProblem::Pin(why)))?;
    Ok(rules.met_event(badge))
}

fn roster(s: &Situation<'_>, r: &RosterCommand, now: DateTime<Utc>) -> Decided {
    let empty = Roster::default();
    let roster = s.roster.unwrap_or(&empty);
    // One roster for the shop: a bench that follows the hub's changes nothing itself.
    if let Some(hub_seq) = roster.hub_since {
        return Err(Rejection::Roster(RosterProblem::ManagedAtHub { hub_seq }));
    }
    let invalid = |reason: String| Rejection::Roster(RosterProblem::Invalid { reason });
    if let RosterCommand::Init {
        badge,
        name,
        roles,
        skill,
        pin,
    } = r
    {
        if !roster.people.is_empty() {
            return Err(Rejection::Roster(RosterProblem::NotEmpty));
        }
        well_formed(badge, Some(name))?;
        let met = pin_rules_met(s, badge, pin)?;
        let mut roles = roles.clone();
        roles.push(Role::Admin);
        roles.sort();
        roles.dedup();
        return Ok(vec![
            Event::PersonEnrolled {
                badge: badge.clone(),
                name: name.trim().to_string(),
                roles,
                skill: *skill,
                pin_hash: pin.hash().to_string(),
            },
            met,
        ]);
    }
    let admin = actor(s)?;
    policy::may_administer(admin, now).map_err(|refusal| Rejection::NotAllowed {
        who: format!("{} ({})", admin.name, admin.badge),
        refusal,
    })?;
    let enrolled = |badge: &str| {
        roster.get(badge).ok_or_else(|| {
            Rejection::Roster(RosterProblem::NotEnrolled {
                badge: badge.to_string(),
            })
        })
    };
    let active = |badge: &str| {
        let p = enrolled(badge)?;
        if p.active {
            Ok(p)
        } else {
            Err(Rejection::Roster(RosterProblem::Deactivated {
                badge: badge.to_string(),
            }))
        }
    };
    let last_admin = |badge: &str, still: bool| {
        policy::admin_remains(roster.people.values(), badge, still).map_err(|_| {
            Rejection::Roster(RosterProblem::LastAdmin {
                badge: badge.to_string(),
            })
        })
    };
    Ok(match r {
        RosterCommand::Init { .. } => unreachable!("decided above"),
        RosterCommand::Enrol {
            badge,
            name,
            roles,
            skill,
            pin,
        } => {
            if roster.get(badge).is_some() {
                return Err(Rejection::Roster(RosterProblem::AlreadyEnrolled {
                    badge: badge.clone(),
                }));
            }
            if roles.is_empty() {
                return Err(invalid("at least one role is needed".into()));
            }
            well_formed(badge, Some(name))?;
            let met = pin_rules_met(s, badge, pin)?;
            vec![
                Event::PersonEnrolled {
                    badge: badge.clone(),
                    name: name.trim().to_string(),
                    roles: roles.clone(),
                    skill: *skill,
                    pin_hash: pin.hash().to_string(),
                },
                met,
            ]
        }
        RosterCommand::Update {
            badge,
            name,
            roles,
            skill,
        } => {
            if name.is_none() && roles.is_none() && skill.is_none() {
                return Err(Rejection::Roster(RosterProblem::NothingToChange));
            }
            if let Some(name) = name {
                person::check_name(name)
                    .map_err(|why| Rejection::Roster(RosterProblem::Name(why)))?;
            }
            let p = active(badge)?;
            let roles = roles.clone().unwrap_or_else(|| p.roles.clone());
            if roles.is_empty() {
                return Err(invalid("at least one role is needed".into()));
            }
            last_admin(badge, roles.contains(&Role::Admin))?;
            vec![Event::PersonUpdated {
                badge: badge.clone(),
                name: name
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&p.name)
                    .to_string(),
                roles,
                skill: skill.unwrap_or(p.skill),
            }]
        }
        RosterCommand::SetPin { badge, pin } => {
            active(badge)?;
            let met = pin_rules_met(s, badge, pin)?;
            vec![
                Event::PinChanged {
                    badge: badge.clone(),
                    pin_hash: pin.hash().to_string(),
                },
                met,
            ]
        }
        RosterCommand::Certify {
            badge,
            certification,
        } => {
            active(badge)?;
            if let Some(holder) = roster.people.values().find(|p| {
                p.badge != *badge
                    && p.certifications
                        .iter()
                        .any(|c| c.certificate == certification.certificate)
            }) {
                return Err(Rejection::Roster(RosterProblem::CertificateHeldBy {
                    certificate: certification.certificate.clone(),
                    badge: holder.badge.clone(),
                }));
            }
            vec![Event::PersonCertified {
                badge: badge.clone(),
                certification: certification.clone(),
            }]
        }
        RosterCommand::Revoke {
            badge,
            certificate,
            reason: why,
        } => {
            let p = enrolled(badge)?;
            if !p
                .certifications
                .iter()
                .any(|c| c.certificate == *certificate)
            {
                return Err(Rejection::Roster(RosterProblem::NoSuchCertificate {
                    badge: badge.clone(),
                    certificate: certificate.clone(),
                }));
            }
            vec![Event::CertificationRevoked {
                badge: badge.clone(),
                certificate: certificate.clone(),
                reason: nonempty(why)?,
            }]
        }
        RosterCommand::Deactivate { badge, reason: why } => {
            active(badge)?;
            let why = nonempty(why)?;
            last_admin(badge, false)?;
            vec![Event::PersonDeactivated {
                badge: badge.clone(),
                reason: why,
            }]
        }
        RosterCommand::Import { events } => {
            if let Some(e) = events
                .iter()
                .find(|e| e.person().is_none() || e.job().is_some())
            {
                return Err(invalid(format!(
                    "an import holds roster events only, not {}",
                    e.kind()
                )));
            }
            events.clone()
        }
    })
}

fn nonempty(text: &str) -> Result<String, Rejection> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Rejection::CommentNeeded {
            why: CommentFor::Reason,
        });
    }
    Ok(t.to_string())
}

/// The decision a reviewer's key stands for.
pub fn decision(approve: bool) -> Decision {
    if approve {
        Decision::Approved
    } else {
        Decision::Rejected
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
