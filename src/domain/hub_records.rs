//! Records of the shop hub's own chain that benches follow. The hub decides the shop
//! roster (enrolments, certificates, revocations, deactivations, PIN changes, locks,
//! log-ins whose PIN it confirmed),
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
            | Event::ShopPolicySet { .. }
            // The hub confirmed a log-in's PIN at a bench: that person is verified
            // online there (`person::online_gate`), and the PIN proved.
            | Event::LoggedIn { .. }
    )
}

/// Whether a hub record is for the bench named `bench` (the name its hub token was
/// enrolled under): every record `for_benches` selects, except a log-in the hub
/// confirmed at another bench, which only that bench needs (it would otherwise
/// copy every log-in of the shop).
pub fn for_bench(e: &Event, bench: &str) -> bool {
    match e {
        Event::LoggedIn { bench: at, .. } => at == bench,
        other => for_benches(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_log_in_is_for_its_bench_only() {
        let login = Event::LoggedIn {
            badge: "T1".into(),
            bench: "B1".into(),
        };
        assert!(for_bench(&login, "B1"));
        assert!(!for_bench(&login, "B2"));
        let lock = Event::BadgeLocked {
            badge: "T1".into(),
            until: chrono::Utc::now(),
        };
        assert!(for_bench(&lock, "B2"));
        assert!(!for_bench(&Event::JobSubmitted { job: "J".into() }, "B1"));
    }

    #[test]
    fn decisions_and_bench_history_stay_at_the_hub() {
        assert!(!for_benches(&Event::JobSubmitted { job: "J".into() }));
        assert!(!for_benches(&Event::LoggedOut {
            badge: "B".into(),
            reason: Default::default(),
        }));
    }
}

/// Why a hub record is not copied into this chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum HubRecordRefusal {
    /// Its bytes do not decode, name another seq, or do not hash to what the hub
    /// claimed: never copied.
    Damaged { seq: u64, what: String },
    /// A hub record benches do not follow (`for_benches`), e.g. a review decision.
    NotForBenches { seq: u64, kind: String },
}

impl std::fmt::Display for HubRecordRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HubRecordRefusal::Damaged { seq, what } => {
                write!(f, "hub record {seq} does not hold: {what}")
            }
            HubRecordRefusal::NotForBenches { seq, kind } => {
                write!(
                    f,
                    "hub record {seq} is a {kind} record, which benches do not copy"
                )
            }
        }
    }
}

/// Whether to copy hub record `hub_seq` (its bytes already checked and decoded into
/// `inner`), given the last hub seq this chain copied (pure). Hub records arrive in
/// hub-chain order, so "in order, never twice" is one comparison: a seq at or below
/// the last copied is there already (`Ok(false)`, nothing to append).
pub fn should_mirror(
    last_mirrored: Option<u64>,
    hub_seq: u64,
    inner: &Event,
) -> Result<bool, HubRecordRefusal> {
    if !for_benches(inner) {
        return Err(HubRecordRefusal::NotForBenches {
            seq: hub_seq,
            kind: inner.kind().to_string(),
        });
    }
    Ok(last_mirrored.is_none_or(|last| hub_seq > last))
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    #[test]
    fn in_order_never_twice_only_what_benches_follow() {
        let lock = Event::BadgeLocked {
            badge: "T1".into(),
            until: chrono::Utc::now(),
        };
        let decided = Event::JobSubmitted { job: "J".into() };
        type Case<'a> = (
            &'a str,
            Option<u64>,
            u64,
            &'a Event,
            Result<bool, HubRecordRefusal>,
        );
        let cases: &[Case] = &[
            ("the first record", None, 1, &lock, Ok(true)),
            ("the next record", Some(4), 5, &lock, Ok(true)),
            (
                "after a gap of records benches do not follow",
                Some(4),
                9,
                &lock,
                Ok(true),
            ),
            ("copied already", Some(9), 9, &lock, Ok(false)),
            ("older than the last copied", Some(9), 3, &lock, Ok(false)),
            (
                "not a record for benches",
                None,
                2,
                &decided,
                Err(HubRecordRefusal::NotForBenches {
                    seq: 2,
                    kind: "job_submitted".into(),
                }),
            ),
        ];
        for (name, last, seq, e, want) in cases {
            assert_eq!(should_mirror(*last, *seq, e), *want, "{name}");
        }
    }
}
