//! Records of the shop hub's own chain that benches follow. The hub decides the shop
//! roster (enrolments, certificates, revocations, deactivations, PIN changes, locks),
//! instruction releases and the shop policy; each bench copies those hub records into
//! its own chain as `Event::HubRecordMirrored` (verbatim bytes, hub seq and hash), so a
//! bench offline still decides on what it last knew, and the record shows where each
//! fact came from.
//!
//! Folding code (the roster, the release list, the shop policy) reads a mirrored
//! record's inner record through `store::wire::decode_mirrored` and treats it as if
//! it had happened in this chain.

use super::event::Event;

/// Whether a hub record is one that benches copy into their chains. Review decisions
/// are not: a bench mirrors only the decisions on its own submissions, as
/// `ReviewMirrored`.
pub fn for_benches(e: &Event) -> bool {
    matches!(
        e,
        Event::PersonEnrolled { .. }
            | Event::PersonUpdated { .. }
            | Event::PersonCertified { .. }
            | Event::CertificationRevoked { .. }
            | Event::PersonDeactivated { .. }
            | Event::PinChanged { .. }
            | Event::PinPolicyMet { .. }
            | Event::BadgeLocked { .. }
            | Event::InstructionReleased { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_and_bench_history_stay_at_the_hub() {
        assert!(!for_benches(&Event::JobSubmitted { job: "J".into() }));
        assert!(!for_benches(&Event::LoggedOut {
            badge: "B".into(),
            reason: Default::default(),
        }));
    }
}
