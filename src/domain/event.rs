//! Everything that happens is an `Event`; the store chains them and derives the rest.
//!
//! Field order is the canonical order: events are encoded as JSON from these structs
//! (never from maps), so the bytes and thus the chain hashes are reproducible.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::types::{Certification, CheckResult, Decision, Meaning, ProductClass, Role, SkillLevel};

/// Who caused an event: a badge id, or `system` for the program itself.
pub const SYSTEM_ACTOR: &str = "system";

/// One stored event with its place in the chain. Its hash is
/// SHA-256(seq as u64 BE ‖ prev_hash ‖ canonical bytes of this record).
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Record {
    pub seq: u64,
    /// Hex SHA-256 of the previous record (64 zeros for the first).
    pub prev_hash: String,
    pub time: DateTime<Utc>,
    pub actor: String,
    pub event: Event,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Measurement {
    pub value: f64,
    pub unit: String,
}

/// A step's temperature on one channel, summarised when the step completes.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ChannelSummary {
    pub channel: String,
    pub count: u64,
    pub min_c: f64,
    pub max_c: f64,
    pub mean_c: f64,
    pub peak_c: f64,
    /// Seconds spent above the job alloy's liquidus.
    pub above_liquidus_s: f64,
    pub window_min_c: Option<f64>,
    pub window_max_c: Option<f64>,
    pub excursions: u32,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    PersonEnrolled {
        badge: String,
        name: String,
        roles: Vec<Role>,
        skill: SkillLevel,
        /// Argon2id PHC string; the PIN itself is never stored.
        pin_hash: String,
    },
    PersonUpdated {
        badge: String,
        name: String,
        roles: Vec<Role>,
        skill: SkillLevel,
    },
    PersonCertified {
        badge: String,
        certification: Certification,
    },
    CertificationRevoked {
        badge: String,
        certificate: String,
        reason: String,
    },
    PersonDeactivated {
        badge: String,
        reason: String,
    },
    PinChanged {
        badge: String,
        pin_hash: String,
    },
    /// Saved with a new PIN (enrolment or change, in the same batch): the PIN met
    /// policy.toml's `[pin]` rules as they were then. Only the rules are kept,
    /// never the PIN or its length. A PIN without one was set before the rules.
    PinPolicyMet {
        badge: String,
        min_length: u8,
        trivial_refused: bool,
    },
    LoggedIn {
        badge: String,
        bench: String,
    },
    LoggedOut {
        badge: String,
        reason: String,
    },
    /// A wrong PIN, recorded against the badge it was tried for.
    PinRejected {
        badge: String,
        purpose: String,
    },
    BadgeLocked {
        badge: String,
        until: DateTime<Utc>,
    },
    JobStarted {
        job: String,
        board_serial: String,
        assembly_part: String,
        assembly_rev: String,
        refdes: Vec<String>,
        defect_ref: String,
        class: ProductClass,
        alloy: String,
        instruction_id: String,
        instruction_rev: String,
        /// SHA-256 of the instruction file's bytes as run.
        instruction_hash: String,
        step_count: u32,
        approval_ref: Option<String>,
        bench: String,
        performer: String,
        /// The IPC-7711/7721 procedures the instruction referenced when the job
        /// started, so rework-cycle limits never depend on today's folder.
        /// Absent in records written before traveler kept them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        procedures: Vec<String>,
    },
    StepStarted {
        job: String,
        step: u32,
    },
    StepCompleted {
        job: String,
        step: u32,
        temperature: Vec<ChannelSummary>,
        sample_count: u64,
        /// SHA-256 over the step's stored samples, so the chain covers them.
        samples_digest: String,
        /// Which attempt of the step (1-based) this completes; its samples are those
        /// of `job::sample_stream(step, attempt)`. 0 in records written before
        /// attempts had samples of their own (then every attempt shared the step's).
        #[serde(default, skip_serializing_if = "is_zero")]
        attempt: u32,
    },
    CheckpointSigned {
        job: String,
        step: u32,
        checkpoint: u32,
        signer: String,
        signer_name: String,
        meaning: Meaning,
        result: CheckResult,
        measurement: Option<Measurement>,
        comment: Option<String>,
        /// The station's recorded figure the checkpoint named, as the dialog showed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recorded: Option<RecordedFigure>,
    },
    LotRecorded {
        job: String,
        step: u32,
        material: String,
        lot: String,
        expiry: Option<NaiveDate>,
        gtin: Option<String>,
        raw_scan: String,
    },
    Excursion {
        job: String,
        step: u32,
        id: u32,
        channel: String,
        window_min_c: f64,
        window_max_c: f64,
        peak_c: f64,
        started: DateTime<Utc>,
        ended: Option<DateTime<Utc>>,
    },
    ExcursionAcknowledged {
        job: String,
        step: u32,
        id: u32,
        comment: String,
    },
    /// After a failed checkpoint the step is done again; its signatures start over.
    StepRedone {
        job: String,
        step: u32,
        reason: String,
    },
    JobSuspended {
        job: String,
        reason: String,
    },
    JobResumed {
        job: String,
        /// Why work goes on (empty in records written before it was asked).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    JobAborted {
        job: String,
        reason: String,
    },
    JobSubmitted {
        job: String,
    },
    JobReviewed {
        job: String,
        decision: Decision,
        reviewer: String,
        reviewer_name: String,
        comment: String,
    },
    /// The technician signed (badge + PIN) that a step completes outside what its
    /// window asks, and why.
    Deviated {
        job: String,
        step: u32,
        attempt: u32,
        kind: DeviationKind,
        reason: String,
        by: String,
        by_name: String,
    },
    /// A lot the bench refused: it was not used, and the refusal is on record.
    LotRefused {
        job: String,
        step: u32,
        material: String,
        lot: String,
        expiry: Option<NaiveDate>,
        gtin: Option<String>,
        raw_scan: String,
        reason: LotRefusal,
    },
    /// The exact text of an instruction file a job ran, stored once per hash so the
    /// record never depends on today's instructions folder.
    InstructionArchived {
        job: String,
        /// Hex SHA-256 of `text`'s bytes (the job's `instruction_hash`).
        hash: String,
        file_name: String,
        text: String,
    },
    /// `traveler migrate` converted the store from an older format. Stores of those
    /// formats recorded no identity; this record puts it in the chain (a new store
    /// carries it in its first record's envelope instead).
    StoreMigrated {
        store_id: String,
        bench: String,
        from_format: u32,
        to_format: u32,
        /// Record schema of the records before this one.
        from_schema: u32,
    },
    /// A revision of a work instruction released for use at the bench (a
    /// controlled document): from `effective` new jobs of `instruction_id` run this
    /// text only, and the revision released before it is superseded. It names the
    /// store and bench it was made on, so a release received from elsewhere (the
    /// shop hub) can be told apart and checked against its text's hash.
    InstructionReleased {
        instruction_id: String,
        revision: String,
        /// Hex SHA-256 of the file's exact bytes.
        hash: String,
        file_name: String,
        /// The file's exact text, unless the store already held the text of this
        /// hash (archived by a job or an earlier release): kept once per hash.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        effective: DateTime<Utc>,
        /// The releaser's badge and printed name.
        by: String,
        by_name: String,
        /// Why: the change, its ECO or other reference.
        reason: String,
        origin_store: String,
        origin_bench: String,
        /// The revision released before this one, which this one supersedes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supersedes: Option<RevisionRef>,
    },
    /// Someone tried to release an instruction and may not: refused, on record.
    InstructionReleaseRefused {
        instruction_id: String,
        revision: String,
        hash: String,
        by: String,
        by_name: String,
        refusal: ReleaseRefusal,
    },
    /// The technician confirmed which component came off which designator(s) at a
    /// step whose instruction says `component = "remove"`.
    ComponentRemoved {
        job: String,
        step: u32,
        refdes: Vec<String>,
        /// The removed part's P/N, when the technician knew it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part_number: Option<String>,
        /// The line as typed or scanned.
        #[serde(default)]
        entry: String,
    },
    /// The part fitted at the designator(s) at a step whose instruction says
    /// `component = "install"`: its P/N and lot and/or date code.
    ComponentInstalled {
        job: String,
        step: u32,
        refdes: Vec<String>,
        part_number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lot: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date_code: Option<String>,
        /// The line as typed or scanned.
        #[serde(default)]
        entry: String,
    },
    /// The shop hub's own chain: a supervisor's decision at the hub on one
    /// submission of one bench, referencing the `JobSubmitted` record it decides
    /// (the bench's store, seq and hash), decided by the same rules as at the bench.
    ReviewDecided {
        store_id: String,
        bench: String,
        job: String,
        submitted_seq: u64,
        /// Hex chain hash of the `JobSubmitted` record.
        submitted_hash: String,
        decision: Decision,
        reviewer: String,
        reviewer_name: String,
        comment: String,
    },
    /// The shop hub's own chain: a bench's roster imported once (its people's
    /// roster records are copied just before this one); badges the hub already
    /// held were left as the hub has them.
    RosterImported {
        store_id: String,
        bench: String,
        /// The bench chain's head when it was read.
        head_seq: u64,
        head_hash: String,
        imported: Vec<String>,
        conflicts: Vec<RosterConflict>,
    },
    /// A bench chain's copy of a decision made at the shop hub on one of its
    /// submissions: the job is approved or rejected as by `JobReviewed`, and the
    /// record points at the hub's record of the decision (its seq and hash), as that
    /// one points at the `JobSubmitted` record here.
    ReviewMirrored {
        job: String,
        decision: Decision,
        reviewer: String,
        reviewer_name: String,
        comment: String,
        /// The `JobSubmitted` record of this chain the decision is on.
        submitted_seq: u64,
        /// The hub chain's record of the decision.
        hub_seq: u64,
        hub_hash: String,
        /// When the decision was made: the hub record's time (this record's own time
        /// is when the bench mirrored it, which for a bench offline for days is
        /// later). Absent in records written before it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decided_at: Option<DateTime<Utc>>,
    },
    /// A record of the shop hub's own chain that every bench follows (the shop
    /// roster, locks, releases, the shop policy: `hub_records::for_benches`), copied
    /// into this chain verbatim: `record` holds the hub record's exact canonical
    /// bytes, whose hash under `hub_seq` is `hub_hash` (checked before it is
    /// appended, and again by `verify --hub`). It takes effect here as if it had
    /// happened here, with the hub record's actor and time.
    HubRecordMirrored {
        hub_seq: u64,
        hub_hash: String,
        /// The hub record's canonical bytes (JSON text), never re-encoded: a later
        /// build's types must not change what is hashed.
        record: String,
    },
    /// Saved with every new job (#16): where the board's earlier jobs were counted
    /// for its rework-cycle limits and history — every bench's verified copy at the
    /// hub as of a time (naming the head of each store counted), or this bench only,
    /// and why. Records without one are of jobs started before traveler asked the hub.
    BoardHistoryCounted {
        job: String,
        board_serial: String,
        /// Earlier jobs on the board counted, each job once wherever it was seen.
        jobs: u32,
        /// The benches they were done at.
        benches: u32,
        /// Of them, the jobs recorded by other benches (the hub's copies).
        elsewhere: u32,
        scope: super::board::HistoryScope,
        /// Of them, the jobs whose procedures were not known here (a record older
        /// than the procedures jobs carry, of a text this bench does not hold):
        /// each counted against every rework limit on its locations. Absent (0) in
        /// records written before traveler counted them so.
        #[serde(default, skip_serializing_if = "is_zero")]
        unknown_procedures: u32,
    },
    /// The shop hub's own chain: the shop-wide policy on reviews at the benches, set
    /// by an admin at the hub. Benches mirror it (`hub_records::for_benches`); while it
    /// says `desk_only`, a bench's core refuses a local review, so a submission is
    /// decided once, at the desk (the hub refuses a second decision either way).
    ShopPolicySet {
        local_review: LocalReview,
        /// The admin's badge and printed name.
        by: String,
        by_name: String,
        reason: String,
    },
    /// Saved in the same batch as a signature (checkpoint, deviation, review,
    /// release) on a bench that follows the shop roster at the hub (#16): the roster
    /// it was decided on (`domain::person::roster_basis`).
    SignedOnRoster {
        /// The job signed for; none for a release.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
        badge: String,
        /// The last hub record this chain had copied.
        hub_seq: Option<u64>,
        /// The contact with the hub's roster head the gate took (none on record).
        contact_at: Option<DateTime<Utc>>,
        /// The roster here was past its maximum age, or no contact was on record.
        stale: bool,
        /// The signer counted as verified online (the hub confirmed their PIN at
        /// their log-in here, since their last log-out, within the maximum age).
        verified_online: bool,
    },
}

/// Whether supervisors may still review at a bench, or only at the desk (the hub).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Default)]
#[serde(rename_all = "snake_case")]
pub enum LocalReview {
    /// Reviews at the bench and at the desk (the first decision wins).
    #[default]
    Allowed,
    /// Reviews at the desk only.
    DeskOnly,
}

impl std::fmt::Display for LocalReview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LocalReview::Allowed => "allowed",
            LocalReview::DeskOnly => "desk-only",
        })
    }
}

/// A badge a roster import left alone, and why.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct RosterConflict {
    pub badge: String,
    pub reason: RosterConflictReason,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum RosterConflictReason {
    /// The hub's roster has the badge with the same name.
    AlreadyAtHub,
    /// The hub's roster has the badge under another name: a different person.
    OtherPersonAtHub,
}

/// One released revision of an instruction, by its revision and text's hash.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct RevisionRef {
    pub revision: String,
    pub hash: String,
}

/// Why a person may not release instructions.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum ReleaseRefusal {
    /// Releasing needs this role (engineer).
    RoleMissing {
        role: Role,
    },
    Inactive,
    Locked {
        until: DateTime<Utc>,
    },
}

impl std::fmt::Display for ReleaseRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReleaseRefusal::RoleMissing { role } => {
                write!(f, "releasing instructions needs the {role} role")
            }
            ReleaseRefusal::Inactive => write!(f, "badge is deactivated"),
            ReleaseRefusal::Locked { until } => write!(
                f,
                "badge locked after wrong PINs until {}",
                until.format("%H:%M UTC")
            ),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a recorded station figure was when a measurement checkpoint was signed.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct RecordedFigure {
    /// The metric's name as in the instruction (e.g. "above_liquidus_s").
    pub metric: String,
    pub value: f64,
    /// How far a typed value may differ before it needs a comment and is flagged.
    pub tolerance: f64,
}

impl RecordedFigure {
    /// True when the typed value differs from the recorded one beyond the tolerance.
    pub fn differs(&self, typed: f64) -> bool {
        (typed - self.value).abs() > self.tolerance
    }
}

/// Why a step completes outside its window.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum DeviationKind {
    /// The window's channel never read inside the window during the attempt.
    WindowNeverReached,
    /// The last reading of the window's channel was outside the window.
    LeftOutsideWindow,
}

impl std::fmt::Display for DeviationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviationKind::WindowNeverReached => "temperature window never reached",
            DeviationKind::LeftOutsideWindow => "left outside its temperature window",
        })
    }
}

/// Why a lot was refused.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum LotRefusal {
    Expired {
        on: NaiveDate,
    },
    /// The same lot code was recorded earlier in this job with another expiry.
    ConflictingExpiry {
        recorded: Option<NaiveDate>,
    },
}

impl std::fmt::Display for LotRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LotRefusal::Expired { on } => write!(f, "expired on {on}"),
            LotRefusal::ConflictingExpiry { recorded: Some(d) } => {
                write!(f, "this lot was recorded with expiry {d}")
            }
            LotRefusal::ConflictingExpiry { recorded: None } => {
                write!(f, "this lot was recorded without an expiry")
            }
        }
    }
}

impl Event {
    /// The job this event belongs to, if any.
    pub fn job(&self) -> Option<&str> {
        use Event::*;
        match self {
            JobStarted { job, .. }
            | StepStarted { job, .. }
            | StepCompleted { job, .. }
            | CheckpointSigned { job, .. }
            | LotRecorded { job, .. }
            | Excursion { job, .. }
            | ExcursionAcknowledged { job, .. }
            | StepRedone { job, .. }
            | JobSuspended { job, .. }
            | JobResumed { job, .. }
            | JobAborted { job, .. }
            | JobSubmitted { job }
            | JobReviewed { job, .. }
            | Deviated { job, .. }
            | LotRefused { job, .. }
            | InstructionArchived { job, .. }
            | ComponentRemoved { job, .. }
            | ComponentInstalled { job, .. }
            | ReviewDecided { job, .. }
            | ReviewMirrored { job, .. }
            | BoardHistoryCounted { job, .. } => Some(job),
            SignedOnRoster { job: Some(job), .. } => Some(job),
            _ => None,
        }
    }

    /// The person this event is about (not necessarily its actor), if any.
    pub fn person(&self) -> Option<&str> {
        use Event::*;
        match self {
            PersonEnrolled { badge, .. }
            | PersonUpdated { badge, .. }
            | PersonCertified { badge, .. }
            | CertificationRevoked { badge, .. }
            | PersonDeactivated { badge, .. }
            | PinChanged { badge, .. }
            | PinPolicyMet { badge, .. }
            | LoggedIn { badge, .. }
            | LoggedOut { badge, .. }
            | PinRejected { badge, .. }
            | BadgeLocked { badge, .. } => Some(badge),
            JobStarted { performer, .. } => Some(performer),
            CheckpointSigned { signer, .. } => Some(signer),
            JobReviewed { reviewer, .. }
            | ReviewDecided { reviewer, .. }
            | ReviewMirrored { reviewer, .. } => Some(reviewer),
            Deviated { by, .. } => Some(by),
            SignedOnRoster { badge, .. } => Some(badge),
            _ => None,
        }
    }

    /// Short machine name of the variant, as in the JSON `type` tag.
    pub fn kind(&self) -> &'static str {
        use Event::*;
        match self {
            PersonEnrolled { .. } => "person_enrolled",
            PersonUpdated { .. } => "person_updated",
            PersonCertified { .. } => "person_certified",
            CertificationRevoked { .. } => "certification_revoked",
            PersonDeactivated { .. } => "person_deactivated",
            PinChanged { .. } => "pin_changed",
            PinPolicyMet { .. } => "pin_policy_met",
            LoggedIn { .. } => "logged_in",
            LoggedOut { .. } => "logged_out",
            PinRejected { .. } => "pin_rejected",
            BadgeLocked { .. } => "badge_locked",
            JobStarted { .. } => "job_started",
            StepStarted { .. } => "step_started",
            StepCompleted { .. } => "step_completed",
            CheckpointSigned { .. } => "checkpoint_signed",
            LotRecorded { .. } => "lot_recorded",
            Excursion { .. } => "excursion",
            ExcursionAcknowledged { .. } => "excursion_acknowledged",
            StepRedone { .. } => "step_redone",
            JobSuspended { .. } => "job_suspended",
            JobResumed { .. } => "job_resumed",
            JobAborted { .. } => "job_aborted",
            JobSubmitted { .. } => "job_submitted",
            JobReviewed { .. } => "job_reviewed",
            Deviated { .. } => "deviated",
            LotRefused { .. } => "lot_refused",
            InstructionArchived { .. } => "instruction_archived",
            StoreMigrated { .. } => "store_migrated",
            InstructionReleased { .. } => "instruction_released",
            InstructionReleaseRefused { .. } => "instruction_release_refused",
            ComponentRemoved { .. } => "component_removed",
            ComponentInstalled { .. } => "component_installed",
            ReviewDecided { .. } => "review_decided",
            RosterImported { .. } => "roster_imported",
            ReviewMirrored { .. } => "review_mirrored",
            HubRecordMirrored { .. } => "hub_record_mirrored",
            BoardHistoryCounted { .. } => "board_history_counted",
            ShopPolicySet { .. } => "shop_policy_set",
            SignedOnRoster { .. } => "signed_on_roster",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_tagged_and_round_trips() {
        let e = Event::JobSubmitted { job: "J1".into() };
        let s = serde_json::to_string(&e).unwrap();
        assert_eq!(s, r#"{"type":"job_submitted","job":"J1"}"#);
        assert_eq!(serde_json::from_str::<Event>(&s).unwrap(), e);
        assert_eq!(e.kind(), "job_submitted");
        assert_eq!(e.job(), Some("J1"));
    }

    /// Records written before a field existed decode, and new events that do not use
    /// the new fields encode to exactly the old bytes.
    #[test]
    fn old_bytes_decode_and_unused_new_fields_add_no_bytes() {
        let old = [
            r#"{"type":"job_resumed","job":"J1"}"#,
            r#"{"type":"step_completed","job":"J1","step":0,"temperature":[],"sample_count":0,"samples_digest":"00"}"#,
            r#"{"type":"checkpoint_signed","job":"J1","step":0,"checkpoint":0,"signer":"T1","signer_name":"T","meaning":"performed","result":"pass","measurement":null,"comment":null}"#,
        ];
        for bytes in old {
            let e: Event = serde_json::from_str(bytes).unwrap();
            assert_eq!(serde_json::to_string(&e).unwrap(), bytes);
        }
    }
}
