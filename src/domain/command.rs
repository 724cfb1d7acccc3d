//! Typed commands: what a person (or the station) asks the record to say. Each one
//! is decided by [`super::decide::decide`] against what is stored; a refusal is a
//! [`Rejection`] with its reason as data.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::component::{ComponentAction, ComponentProblem};
use super::event::{DeviationKind, Event, ReleaseRefusal};
use super::job::JobStatus;
use super::person::{BadgeRejection, NameRejection};
use super::pin_rules::{NewPin, PinRejection};
use super::policy::Refusal;
use super::thermal::Window;
use super::types::{Certification, Decision, ProductClass, Role, SkillLevel};

/// What a pass/fail checkpoint was judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Pass,
    Fail,
}

/// The board and instruction a new job is for, as typed on the new-job form.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub board_serial: String,
    pub assembly_part: String,
    pub assembly_rev: String,
    pub refdes: Vec<String>,
    pub defect_ref: String,
    pub approval_ref: String,
    pub class: ProductClass,
    pub alloy: String,
    pub instruction_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    LogIn,
    LogOut {
        reason: String,
    },
    StartJob(Box<NewJob>),
    StartStep {
        job: String,
        step: u32,
    },
    /// A lot scan (or typed lot); `typed_expiry` when the label carries none.
    RecordLot {
        job: String,
        step: u32,
        raw_scan: String,
        typed_expiry: Option<NaiveDate>,
    },
    /// A checkpoint signature; the signer is the authenticated badge of the request.
    Sign {
        job: String,
        step: u32,
        checkpoint: u32,
        verdict: Option<Verdict>,
        value: Option<f64>,
        comment: Option<String>,
    },
    /// The station saw a channel leave (or come back into) its window.
    RecordExcursion {
        job: String,
        step: u32,
        id: u32,
        channel: String,
        window: (f64, f64),
        peak_c: f64,
        started: DateTime<Utc>,
        ended: Option<DateTime<Utc>>,
    },
    AcknowledgeAlarm {
        job: String,
        step: u32,
        id: u32,
        comment: String,
    },
    CompleteStep {
        job: String,
        step: u32,
    },
    /// Signed by the technician: the step completes outside its window, and why.
    Deviate {
        job: String,
        step: u32,
        kind: DeviationKind,
        reason: String,
    },
    Suspend {
        job: String,
        reason: String,
    },
    Resume {
        job: String,
        reason: String,
    },
    Redo {
        job: String,
        step: u32,
        reason: String,
    },
    Abort {
        job: String,
        reason: String,
    },
    Submit {
        job: String,
    },
    Review {
        job: String,
        decision: Decision,
        comment: String,
    },
    Roster(RosterCommand),
    /// Release a revision of a work instruction: the file's exact text, as checked.
    Release(Box<NewRelease>),
    /// The component removed from, or fitted at, the job's designator(s) at a step
    /// that records one: the line as typed or scanned (see `domain::component`).
    RecordComponent {
        job: String,
        step: u32,
        entry: String,
    },
    /// A decision of the shop hub on a submission of this chain, its hub record
    /// checked by the sync task: recorded as `ReviewMirrored` (see `domain::mirror`).
    MirrorReview(Box<super::mirror::HubDecision>),
    /// Set the shop-wide policy on reviews at the benches (an admin, at the hub
    /// only; see `domain::shop_policy`).
    SetShopPolicy {
        local_review: super::event::LocalReview,
        reason: String,
    },
    /// A record of the hub's own chain that benches follow (`domain::hub_records`),
    /// as the hub sent it: its seq, claimed hash and exact bytes. The core checks
    /// the bytes against the hash; recorded as `HubRecordMirrored`, in order, once.
    MirrorHubRecord {
        hub_seq: u64,
        hub_hash: String,
        record: String,
    },
}

/// A work instruction file to release, with the releaser's reason or ECO reference.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRelease {
    pub file_name: String,
    /// The file's exact text: what was checked and shown is what is recorded.
    pub text: String,
    pub reason: String,
}

/// Changes to the roster, authorised by an admin's badge and PIN (except the first).
#[derive(Clone, Debug, PartialEq)]
pub enum RosterCommand {
    /// The first admin of an empty roster.
    Init {
        badge: String,
        name: String,
        roles: Vec<Role>,
        skill: SkillLevel,
        pin: NewPin,
    },
    Enrol {
        badge: String,
        name: String,
        roles: Vec<Role>,
        skill: SkillLevel,
        pin: NewPin,
    },
    Update {
        badge: String,
        name: Option<String>,
        roles: Option<Vec<Role>>,
        skill: Option<SkillLevel>,
    },
    SetPin {
        badge: String,
        pin: NewPin,
    },
    Certify {
        badge: String,
        certification: Certification,
    },
    Revoke {
        badge: String,
        certificate: String,
        reason: String,
    },
    Deactivate {
        badge: String,
        reason: String,
    },
    /// Roster events built from a checked roster file, all or nothing.
    Import {
        events: Vec<Event>,
    },
}

impl Command {
    /// The job the command is about, if any.
    pub fn job(&self) -> Option<&str> {
        use Command::*;
        match self {
            StartStep { job, .. }
            | RecordLot { job, .. }
            | Sign { job, .. }
            | RecordExcursion { job, .. }
            | AcknowledgeAlarm { job, .. }
            | CompleteStep { job, .. }
            | Deviate { job, .. }
            | Suspend { job, .. }
            | Resume { job, .. }
            | Redo { job, .. }
            | Abort { job, .. }
            | Submit { job }
            | Review { job, .. }
            | RecordComponent { job, .. } => Some(job),
            MirrorReview(d) => Some(&d.job),
            LogIn | LogOut { .. } | StartJob(_) | Roster(_) | Release(_) => None,
            SetShopPolicy { .. } => None,
            MirrorHubRecord { .. } => None,
        }
    }

    /// Whether the command is signed: the request's badge must give its PIN.
    pub fn needs_pin(&self) -> bool {
        use Command::*;
        match self {
            LogIn | Sign { .. } | Deviate { .. } | Review { .. } | Release(_) => true,
            SetShopPolicy { .. } => true,
            Roster(RosterCommand::Init { .. }) => false,
            Roster(_) => true,
            _ => false,
        }
    }

    /// Words for a wrong PIN's record ("signature", "log-in").
    pub fn pin_purpose(&self) -> &'static str {
        match self {
            Command::LogIn => "log-in",
            Command::Sign { .. } => "signature",
            Command::Deviate { .. } => "deviation",
            Command::Review { .. } => "review",
            Command::Release(_) => "release",
            Command::SetShopPolicy { .. } => "shop policy",
            _ => "admin",
        }
    }
}

/// What the instruction asks of a checkpoint, as the rules need it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointPlan {
    pub kind: CheckKind,
    pub inspector: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub unit: String,
    /// The station figure the checkpoint corresponds to, and the tolerance.
    pub recorded: Option<(String, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckKind {
    Confirm,
    PassFail,
    Measurement,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LotPlan {
    pub material: String,
    pub needs_expiry: bool,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct StepPlan {
    pub checkpoints: Vec<CheckpointPlan>,
    pub lots: Vec<LotPlan>,
    pub window: Option<Window>,
    /// The component the step removes or fits at the job's designators, if any.
    pub component: Option<ComponentAction>,
}

/// What the instruction a job ran asks of each step.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JobPlan {
    pub steps: Vec<StepPlan>,
}

/// Why a step cannot complete yet.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Blocker {
    Unsigned {
        count: usize,
    },
    FailedCheckpoint,
    LotMissing {
        material: String,
    },
    AlarmOpen {
        count: usize,
    },
    /// Designators whose removed or fitted part the current attempt has not recorded.
    ComponentMissing {
        action: ComponentAction,
        refdes: Vec<String>,
    },
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::Unsigned { count } => write!(f, "{count} checkpoint(s) not signed"),
            Blocker::FailedCheckpoint => write!(f, "a checkpoint failed: redo the step or abort"),
            Blocker::LotMissing { material } => write!(f, "lot of {material} not scanned"),
            Blocker::AlarmOpen { count } => {
                write!(f, "{count} temperature alarm(s) not acknowledged")
            }
            Blocker::ComponentMissing { action, refdes } => write!(
                f,
                "{} part at {} not recorded",
                match action {
                    ComponentAction::Remove => "removed",
                    ComponentAction::Install => "fitted",
                },
                refdes.join(", ")
            ),
        }
    }
}

/// Why a PIN did not prove who is at the keyboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum AuthFailure {
    UnknownBadge {
        badge: String,
    },
    Deactivated {
        badge: String,
    },
    Locked {
        badge: String,
        until: DateTime<Utc>,
    },
    WrongPin {
        badge: String,
        failures: u32,
        max: u32,
        locked_until: Option<DateTime<Utc>>,
    },
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFailure::UnknownBadge { badge } => {
                write!(f, "badge {badge:?} is not on the roster")
            }
            AuthFailure::Deactivated { badge } => write!(f, "badge {badge} is deactivated"),
            AuthFailure::Locked { badge, until } => write!(
                f,
                "badge {badge} is locked after too many wrong PINs until {} UTC",
                until.format("%H:%M")
            ),
            AuthFailure::WrongPin {
                badge,
                locked_until: Some(until),
                ..
            } => write!(
                f,
                "wrong PIN: badge {badge} is now locked until {} UTC",
                until.format("%H:%M")
            ),
            AuthFailure::WrongPin { failures, max, .. } => {
                write!(f, "wrong PIN ({failures} of {max} before the badge locks)")
            }
        }
    }
}

/// Why a lot scan could not even be judged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum LotProblem {
    NoLotMaterial,
    BadScan { reason: String },
    ExpiryNeeded { material: String, lot: String },
}

/// Why a command was refused; nothing was written (except a wrong PIN's record).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Rejection {
    Auth(AuthFailure),
    NotLoggedIn,
    NoSuchJob {
        job: String,
    },
    /// The job is not in a state that allows the command.
    JobIs {
        job: String,
        status: JobStatus,
    },
    NoSuchStep {
        step: u32,
    },
    NotCurrentStep {
        step: u32,
        current: Option<u32>,
    },
    StepNotStarted {
        step: u32,
    },
    StepAlreadyStarted {
        step: u32,
    },
    NoSuchCheckpoint {
        step: u32,
        checkpoint: u32,
    },
    AlreadySigned {
        step: u32,
        checkpoint: u32,
    },
    /// Pass or fail was not chosen.
    VerdictNeeded,
    ValueNeeded,
    CommentNeeded {
        why: CommentFor,
    },
    /// The person may not do this (role, own work, locked, …).
    NotAllowed {
        who: String,
        refusal: Refusal,
    },
    StepIncomplete {
        step: u32,
        blockers: Vec<Blocker>,
    },
    DeviationNeeded {
        step: u32,
        kind: DeviationKind,
    },
    NoDeviationNeeded {
        step: u32,
    },
    NoSuchAlarm {
        step: u32,
        id: u32,
    },
    AlarmAlreadyAcknowledged {
        step: u32,
        id: u32,
    },
    Lot(LotProblem),
    FieldsMissing {
        fields: Vec<&'static str>,
    },
    StartRefused {
        instruction: String,
        refusals: Vec<Refusal>,
    },
    ApprovalNeeded {
        reason: String,
    },
    NoSuchInstruction {
        id: String,
    },
    /// The instruction the job ran is neither archived nor in the folder.
    InstructionUnavailable {
        id: String,
        hash: String,
    },
    NoPolicy,
    Roster(RosterProblem),
    /// The store could not be read or written: nothing was saved.
    Store {
        reason: String,
    },
    /// An instruction file to release has problems (`traveler check`'s
    /// file:line:col messages): nothing was released.
    InstructionInvalid {
        file: String,
        problems: Vec<String>,
    },
    /// This very text is the revision in force already.
    AlreadyReleased {
        id: String,
        revision: String,
    },
    /// The revision was released before with other text: a changed file needs a
    /// new revision, so a revision always names one text.
    RevisionReused {
        id: String,
        revision: String,
    },
    /// The person may not release instructions; the refusal is on record.
    ReleaseRefused {
        who: String,
        refusal: ReleaseRefusal,
        seq: u64,
    },
    /// A removed or fitted component line that cannot be recorded.
    Component(ComponentProblem),
    /// A decision of the hub this chain does not take (see `domain::mirror`).
    MirrorRefused(super::mirror::MirrorRefusal),
    /// The shop policy set at the hub says reviews are decided at the desk only.
    LocalReviewRefused {
        set_by: String,
        since: DateTime<Utc>,
        hub_seq: u64,
    },
    /// The shop policy already says this.
    ShopPolicyUnchanged {
        local_review: super::event::LocalReview,
    },
    /// The shop policy is set at the hub, never at a bench.
    ShopPolicyAtHubOnly,
    /// A record of the hub this chain does not copy (see `domain::hub_records`).
    HubRecord(super::hub_records::HubRecordRefusal),
    /// The roster cache is older than policy.toml's `[hub] roster_max_age_hours`
    /// and the signer was not verified online since their log-in here
    /// (`domain::person::online_gate`).
    RosterStale(super::person::StaleRoster),
    /// On a bench that follows the shop roster at the hub, a badge no copied hub
    /// record enrolled (`domain::person::on_shop_roster`).
    NotOnShopRoster {
        badge: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CommentFor {
    FailedCheckpoint,
    DiffersFromRecord,
    Reason,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum RosterProblem {
    NotEmpty,
    AlreadyEnrolled {
        badge: String,
    },
    NotEnrolled {
        badge: String,
    },
    Deactivated {
        badge: String,
    },
    NothingToChange,
    LastAdmin {
        badge: String,
    },
    CertificateHeldBy {
        certificate: String,
        badge: String,
    },
    NoSuchCertificate {
        badge: String,
        certificate: String,
    },
    Invalid {
        reason: String,
    },
    /// A new PIN that policy.toml's `[pin]` rules refuse.
    Pin(PinRejection),
    /// A badge that could pass for another (look-alike characters, spaces, emoji).
    Badge(BadgeRejection),
    /// A name with control or invisible characters, or too long.
    Name(NameRejection),
    /// This bench follows the shop roster at the hub (since hub record `hub_seq`):
    /// people are changed there, with `traveler people … --hub URL`.
    ManagedAtHub {
        hub_seq: u64,
    },
}

impl fmt::Display for RosterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RosterProblem::Pin(why) => write!(f, "{why}; nothing changed"),
            RosterProblem::Badge(why) => write!(f, "{why}"),
            RosterProblem::Name(why) => write!(f, "{why}"),
            RosterProblem::NotEmpty => write!(
                f,
                "the roster is not empty: add people with `traveler people add BADGE … --admin BADGE`"
            ),
            RosterProblem::AlreadyEnrolled { badge } => {
                write!(f, "badge {badge} is already enrolled")
            }
            RosterProblem::NotEnrolled { badge } => {
                write!(f, "badge {badge} is not on the roster")
            }
            RosterProblem::Deactivated { badge } => write!(f, "{badge} is deactivated"),
            RosterProblem::NothingToChange => {
                write!(f, "nothing to change: give --name, --role or --skill")
            }
            RosterProblem::LastAdmin { badge } => write!(
                f,
                "{badge} is the last active admin: enrol another admin first"
            ),
            RosterProblem::CertificateHeldBy { certificate, badge } => {
                write!(
                    f,
                    "certificate {certificate} is already recorded for {badge}"
                )
            }
            RosterProblem::NoSuchCertificate { badge, certificate } => {
                write!(f, "{badge} holds no certificate {certificate}")
            }
            RosterProblem::Invalid { reason } => f.write_str(reason),
            RosterProblem::ManagedAtHub { hub_seq } => write!(
                f,
                "managed at the hub: this bench follows the shop roster (hub record {hub_seq}); \
                 use `traveler people … --hub URL`"
            ),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Rejection::*;
        match self {
            Auth(a) => write!(f, "{a}"),
            NotLoggedIn => write!(f, "log in first"),
            NoSuchJob { job } => write!(f, "job {job} is not in the store"),
            JobIs { job, status } => write!(f, "job {job} is {}", status.as_str()),
            NoSuchStep { step } => write!(f, "step {} does not exist", step + 1),
            NotCurrentStep {
                step,
                current: Some(c),
            } => write!(
                f,
                "step {} is not the step in progress (step {} is)",
                step + 1,
                c + 1
            ),
            NotCurrentStep {
                step,
                current: None,
            } => write!(f, "step {} is done: every step is complete", step + 1),
            StepNotStarted { step } => write!(f, "step {} has not started", step + 1),
            StepAlreadyStarted { step } => write!(f, "step {} has already started", step + 1),
            NoSuchCheckpoint { step, checkpoint } => {
                write!(f, "step {} has no checkpoint {}", step + 1, checkpoint + 1)
            }
            AlreadySigned { step, checkpoint } => write!(
                f,
                "checkpoint {}.{} is already signed",
                step + 1,
                checkpoint + 1
            ),
            VerdictNeeded => write!(f, "choose pass (p) or fail (f) first"),
            ValueNeeded => write!(f, "type the measured value as a number"),
            CommentNeeded {
                why: CommentFor::FailedCheckpoint,
            } => write!(f, "a failed checkpoint needs a comment"),
            CommentNeeded {
                why: CommentFor::DiffersFromRecord,
            } => write!(
                f,
                "the value differs from what the station recorded: a comment is needed"
            ),
            CommentNeeded {
                why: CommentFor::Reason,
            } => write!(f, "a reason of a few words is needed"),
            NotAllowed { who, refusal } => write!(f, "{who} may not do this: {refusal}"),
            StepIncomplete { step, blockers } => {
                let b: Vec<String> = blockers.iter().map(ToString::to_string).collect();
                write!(f, "step {} cannot complete: {}", step + 1, b.join("; "))
            }
            DeviationNeeded { step, kind } => write!(
                f,
                "step {} {kind}: completing it is a deviation — give the reason and your PIN",
                step + 1
            ),
            NoDeviationNeeded { step } => write!(
                f,
                "step {} is within its window: no deviation to record",
                step + 1
            ),
            NoSuchAlarm { step, id } => {
                write!(f, "step {} has no temperature alarm {id}", step + 1)
            }
            AlarmAlreadyAcknowledged { step, id } => write!(
                f,
                "temperature alarm {id} of step {} is already acknowledged",
                step + 1
            ),
            Lot(LotProblem::NoLotMaterial) => {
                write!(f, "this step uses no material whose lot is recorded")
            }
            Lot(LotProblem::BadScan { reason }) => write!(f, "scan not accepted: {reason}"),
            Lot(LotProblem::ExpiryNeeded { material, lot }) => write!(
                f,
                "{material} needs an expiry for lot {lot}: add it after the lot as ' YYYY-MM-DD', or scan the GS1 label"
            ),
            FieldsMissing { fields } => write!(f, "fill in: {}", fields.join(", ")),
            StartRefused {
                instruction,
                refusals,
            } => {
                let r: Vec<String> = refusals.iter().map(ToString::to_string).collect();
                write!(f, "{instruction} cannot be run: {}", r.join("; "))
            }
            ApprovalNeeded { reason } => f.write_str(reason),
            NoSuchInstruction { id } => {
                write!(f, "instruction {id} is not in the instructions folder")
            }
            InstructionUnavailable { id, hash } => write!(
                f,
                "the text of instruction {id} (sha256 {}) is neither archived in the store nor in the instructions folder",
                &hash[..hash.len().min(12)]
            ),
            NoPolicy => write!(f, "policy.toml did not load: run `traveler check`"),
            Roster(p) => write!(f, "{p}"),
            Store { reason } => write!(f, "NOT saved: {reason}"),
            InstructionInvalid { file, problems } => write!(
                f,
                "{file} cannot be released: {} problem(s) found by `traveler check`:\n{}",
                problems.len(),
                problems.join("\n")
            ),
            AlreadyReleased { id, revision } => write!(
                f,
                "{id} rev {revision} is already the released revision, with these exact bytes"
            ),
            RevisionReused { id, revision } => write!(
                f,
                "{id} rev {revision} was released before with other text: give the changed file a new revision"
            ),
            ReleaseRefused { who, refusal, seq } => write!(
                f,
                "{who} may not release instructions: {refusal} (the refusal is recorded, record {seq})"
            ),
            Component(p) => write!(f, "{p}"),
            MirrorRefused(r) => write!(f, "the hub's decision is not mirrored: {r}"),
            LocalReviewRefused {
                set_by,
                since,
                hub_seq,
            } => write!(
                f,
                "the shop policy is desk-only (set at the hub by {set_by} on {}, hub record {hub_seq}): \
                 this submission is reviewed at the desk (`traveler desk`)",
                since.format("%Y-%m-%d %H:%M UTC")
            ),
            ShopPolicyUnchanged { local_review } => {
                write!(
                    f,
                    "the shop policy already says local review: {local_review}"
                )
            }
            ShopPolicyAtHubOnly => write!(
                f,
                "the shop policy is set at the hub: traveler hub policy set --hub URL …"
            ),
            HubRecord(r) => write!(f, "not copied from the hub: {r}"),
            RosterStale(s) => write!(f, "{s}"),
            NotOnShopRoster { badge } => write!(
                f,
                "{badge} is not on the shop roster: this bench follows the roster at the \
                 hub, and {badge} was enrolled only here; enrol them at the hub \
                 (`traveler people add … --hub URL`)"
            ),
        }
    }
}

impl std::error::Error for Rejection {}
