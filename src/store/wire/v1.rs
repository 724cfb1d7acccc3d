//! Record schema 1: the events of store formats 1–3, frozen as they were written
//! (traveler up to the format-3 release). Never change a field here: old bytes decode
//! through these types, which are then upcast to today's `Event`.
//!
//! Enum-valued fields are kept as the strings and numbers they were written as, so
//! this file does not move when the domain's vocabulary does; the upcast maps them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

#[derive(Deserialize, Debug)]
pub(crate) struct Measurement {
    pub value: f64,
    pub unit: String,
}

#[derive(Deserialize, Debug)]
pub(crate) struct ChannelSummary {
    pub channel: String,
    pub count: u64,
    pub min_c: f64,
    pub max_c: f64,
    pub mean_c: f64,
    pub peak_c: f64,
    pub above_liquidus_s: f64,
    pub window_min_c: Option<f64>,
    pub window_max_c: Option<f64>,
    pub excursions: u32,
}

#[derive(Deserialize, Debug)]
pub(crate) struct Certification {
    /// "CIS", "CSE" or "CIT".
    pub level: String,
    pub modules: Vec<u8>,
    pub certificate: String,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
}

/// The 23 kinds of schema 1, by their `type` tag.
pub(crate) const KINDS: [&str; 23] = [
    "person_enrolled",
    "person_updated",
    "person_certified",
    "certification_revoked",
    "person_deactivated",
    "pin_changed",
    "logged_in",
    "logged_out",
    "pin_rejected",
    "badge_locked",
    "job_started",
    "step_started",
    "step_completed",
    "checkpoint_signed",
    "lot_recorded",
    "excursion",
    "excursion_acknowledged",
    "step_redone",
    "job_suspended",
    "job_resumed",
    "job_aborted",
    "job_submitted",
    "job_reviewed",
];

#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Event {
    PersonEnrolled {
        badge: String,
        name: String,
        /// "technician", "inspector", "supervisor", "admin".
        roles: Vec<String>,
        /// "intermediate", "advanced", "expert".
        skill: String,
        pin_hash: String,
    },
    PersonUpdated {
        badge: String,
        name: String,
        roles: Vec<String>,
        skill: String,
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
    LoggedIn {
        badge: String,
        bench: String,
    },
    LoggedOut {
        badge: String,
        reason: String,
    },
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
        /// 1, 2 or 3.
        class: u8,
        alloy: String,
        instruction_id: String,
        instruction_rev: String,
        instruction_hash: String,
        step_count: u32,
        approval_ref: Option<String>,
        bench: String,
        performer: String,
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
        samples_digest: String,
    },
    CheckpointSigned {
        job: String,
        step: u32,
        checkpoint: u32,
        signer: String,
        signer_name: String,
        /// "performed", "inspected", "reviewed", "approved".
        meaning: String,
        /// "confirmed", "pass", "fail".
        result: String,
        measurement: Option<Measurement>,
        comment: Option<String>,
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
        /// "approved", "rejected".
        decision: String,
        reviewer: String,
        reviewer_name: String,
        comment: String,
    },
}
