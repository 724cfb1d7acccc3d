//! The shop-wide policy the hub sets and every bench follows (pure): whether
//! supervisors may still review at a bench or only at the desk. The hub decides it
//! (`ShopPolicySet` in the hub chain, an admin's badge and PIN); a bench folds the
//! mirrored copies (`Event::HubRecordMirrored`, read by the store) into the same
//! [`ShopPolicy`], so a bench offline follows what it last knew.
//!
//! One submission is never decided twice: with `desk_only` a bench's core refuses
//! a local review here, and the hub refuses a desk decision on a submission its
//! bench reviewed (src/hub/review.rs) whatever the policy.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::command::{CommentFor, Rejection};
use super::event::{Event, LocalReview, Record};
use super::person::Person;
use super::policy;
use super::release::HubRef;

/// The policy in force and the record that set it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ShopPolicy {
    pub local_review: LocalReview,
    /// `None` while nobody has set it (the default: local reviews allowed).
    pub set: Option<PolicySet>,
    /// Folded from the hub's own chain (where it may be set), not a bench's mirror.
    #[serde(skip)]
    pub at_hub: bool,
}

/// Who set the policy, when, why, and which hub record says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicySet {
    pub hub: HubRef,
    pub time: DateTime<Utc>,
    pub by: String,
    pub by_name: String,
    pub reason: String,
}

impl ShopPolicy {
    /// The policy as of `records` of the hub's own chain, each with its hash.
    pub fn fold_hub<'a>(records: impl IntoIterator<Item = (&'a Record, String)>) -> ShopPolicy {
        let mut p = ShopPolicy {
            at_hub: true,
            ..ShopPolicy::default()
        };
        for (r, hash) in records {
            p.push(
                HubRef {
                    seq: r.seq,
                    hash: hash.clone(),
                },
                r,
            );
        }
        p
    }

    /// Takes a hub record (`inner`, the hub's `hub` record), in the order recorded.
    pub fn push(&mut self, hub: HubRef, inner: &Record) {
        if let Event::ShopPolicySet {
            local_review,
            by,
            by_name,
            reason,
        } = &inner.event
        {
            self.local_review = *local_review;
            self.set = Some(PolicySet {
                hub,
                time: inner.time,
                by: by.clone(),
                by_name: by_name.clone(),
                reason: reason.clone(),
            });
        }
    }

    /// Why a review at a bench is refused under this policy, if it is.
    pub fn local_review_refusal(&self) -> Option<Rejection> {
        match (self.local_review, &self.set) {
            (LocalReview::DeskOnly, Some(set)) => Some(Rejection::LocalReviewRefused {
                set_by: set.by_name.clone(),
                since: set.time,
                hub_seq: set.hub.seq,
            }),
            // Desk-only needs a record that set it; the default allows.
            _ => None,
        }
    }

    /// The policy in words, for `hub policy show` and the bench's screens.
    pub fn describe(&self) -> String {
        match &self.set {
            None => "local review: allowed (the default; never set at the hub)".to_string(),
            Some(s) => format!(
                "local review: {} (set at the hub by {} ({}) on {}, hub record {}: {})",
                self.local_review,
                s.by_name,
                s.by,
                s.time.format("%Y-%m-%d %H:%M UTC"),
                s.hub.seq,
                s.reason
            ),
        }
    }
}

/// Setting the shop policy (pure): only at the hub, by an active admin, to a
/// value other than the one in force, with a reason.
pub fn set(
    actor: Option<&Person>,
    current: Option<&ShopPolicy>,
    local_review: LocalReview,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Rejection> {
    let current = match current {
        Some(c) if c.at_hub => c,
        _ => return Err(Rejection::ShopPolicyAtHubOnly),
    };
    let admin = actor.ok_or(Rejection::NotLoggedIn)?;
    policy::may_administer(admin, now).map_err(|refusal| Rejection::NotAllowed {
        who: format!("{} ({})", admin.name, admin.badge),
        refusal,
    })?;
    if current.local_review == local_review && current.set.is_some() {
        return Err(Rejection::ShopPolicyUnchanged { local_review });
    }
    let reason = reason.trim();
    if reason.chars().count() < super::decide::MIN_REASON {
        return Err(Rejection::CommentNeeded {
            why: CommentFor::Reason,
        });
    }
    Ok(vec![Event::ShopPolicySet {
        local_review,
        by: admin.badge.clone(),
        by_name: admin.name.clone(),
        reason: reason.to_string(),
    }])
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::policy::Refusal;
    use crate::domain::types::{Role, SkillLevel};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap()
    }

    fn person(badge: &str, roles: &[Role]) -> Person {
        Person {
            badge: badge.into(),
            name: format!("{badge} Name"),
            roles: roles.to_vec(),
            skill: SkillLevel::Expert,
            pin_hash: String::new(),
            certifications: vec![],
            active: true,
            locked_until: None,
            failed_pins: 0,
        }
    }

    fn policy_record(seq: u64, lr: LocalReview) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: at(seq as u32),
            actor: "A1".into(),
            event: Event::ShopPolicySet {
                local_review: lr,
                by: "A1".into(),
                by_name: "Ann Admin".into(),
                reason: "desk reviews from Monday".into(),
            },
        }
    }

    #[test]
    fn the_last_record_is_in_force_and_desk_only_refuses_a_local_review() {
        let none = ShopPolicy::fold_hub(std::iter::empty());
        assert_eq!(none.local_review, LocalReview::Allowed);
        assert_eq!(none.local_review_refusal(), None);

        let recs = [
            policy_record(3, LocalReview::DeskOnly),
            policy_record(5, LocalReview::Allowed),
            policy_record(7, LocalReview::DeskOnly),
        ];
        let cases: Vec<(&str, usize, Option<Rejection>)> = vec![
            (
                "desk-only",
                1,
                Some(Rejection::LocalReviewRefused {
                    set_by: "Ann Admin".into(),
                    since: at(3),
                    hub_seq: 3,
                }),
            ),
            ("back to allowed", 2, None),
            (
                "desk-only again",
                3,
                Some(Rejection::LocalReviewRefused {
                    set_by: "Ann Admin".into(),
                    since: at(7),
                    hub_seq: 7,
                }),
            ),
        ];
        for (name, n, want) in cases {
            let p = ShopPolicy::fold_hub(recs[..n].iter().map(|r| (r, format!("h{}", r.seq))));
            assert_eq!(p.local_review_refusal(), want, "{name}");
        }
        // A record of another kind changes nothing.
        let mut p = ShopPolicy::default();
        p.push(
            HubRef {
                seq: 1,
                hash: "h".into(),
            },
            &Record {
                event: Event::JobSubmitted { job: "J".into() },
                ..policy_record(1, LocalReview::DeskOnly)
            },
        );
        assert_eq!(p, ShopPolicy::default());
        // Benches copy it from the hub.
        assert!(crate::domain::hub_records::for_benches(
            &policy_record(1, LocalReview::DeskOnly).event
        ));
    }

    /// A review at a bench goes through `decide`: desk-only refuses it before
    /// anything else is looked at; allowed (or no policy, as at the hub's desk)
    /// leaves it to the review rules.
    #[test]
    fn decide_refuses_a_local_review_when_desk_only() {
        use crate::domain::decide::{Situation, decide};
        use crate::domain::types::Decision;
        let supervisor = person("S1", &[Role::Supervisor]);
        let desk_only = ShopPolicy::fold_hub(
            [policy_record(4, LocalReview::DeskOnly)]
                .iter()
                .map(|r| (r, "h".to_string())),
        );
        let allowed = ShopPolicy::default();
        let review = crate::domain::command::Command::Review {
            job: "J1".into(),
            decision: Decision::Approved,
            comment: "looks good".into(),
        };
        let cases: Vec<(&str, Option<&ShopPolicy>, Rejection)> = vec![
            (
                "desk-only",
                Some(&desk_only),
                Rejection::LocalReviewRefused {
                    set_by: "Ann Admin".into(),
                    since: at(4),
                    hub_seq: 4,
                },
            ),
            (
                "allowed",
                Some(&allowed),
                Rejection::NoSuchJob { job: "J1".into() },
            ),
            ("no policy", None, Rejection::NoSuchJob { job: "J1".into() }),
        ];
        for (name, shop, want) in cases {
            let s = Situation {
                actor: Some(&supervisor),
                shop,
                ..Situation::default()
            };
            assert_eq!(decide(&s, &review, at(9)), Err(want), "{name}");
        }
        assert!(
            Rejection::LocalReviewRefused {
                set_by: "Ann Admin".into(),
                since: at(4),
                hub_seq: 4,
            }
            .to_string()
            .starts_with("the shop policy is desk-only (set at the hub by Ann Admin on 2026-12-01 04:00 UTC, hub record 4)")
        );
    }

    #[test]
    fn set_table() {
        let admin = person("A1", &[Role::Admin]);
        let supervisor = person("S1", &[Role::Supervisor]);
        let hub_default = ShopPolicy {
            at_hub: true,
            ..ShopPolicy::default()
        };
        let hub_desk_only = ShopPolicy::fold_hub(
            [policy_record(4, LocalReview::DeskOnly)]
                .iter()
                .map(|r| (r, "h".to_string())),
        );
        let bench = ShopPolicy::default();
        let ok = |lr| {
            Ok(vec![Event::ShopPolicySet {
                local_review: lr,
                by: "A1".into(),
                by_name: "A1 Name".into(),
                reason: "desk reviews".into(),
            }])
        };
        type Case<'a> = (
            &'a str,
            Option<&'a Person>,
            &'a ShopPolicy,
            LocalReview,
            &'a str,
            Result<Vec<Event>, Rejection>,
        );
        let cases: Vec<Case> = vec![
            (
                "an admin at the hub",
                Some(&admin),
                &hub_default,
                LocalReview::DeskOnly,
                "desk reviews",
                ok(LocalReview::DeskOnly),
            ),
            (
                "the default, set explicitly for the record",
                Some(&admin),
                &hub_default,
                LocalReview::Allowed,
                "desk reviews",
                ok(LocalReview::Allowed),
            ),
            (
                "back to allowed",
                Some(&admin),
                &hub_desk_only,
                LocalReview::Allowed,
                "desk reviews",
                ok(LocalReview::Allowed),
            ),
            (
                "the value in force",
                Some(&admin),
                &hub_desk_only,
                LocalReview::DeskOnly,
                "desk reviews",
                Err(Rejection::ShopPolicyUnchanged {
                    local_review: LocalReview::DeskOnly,
                }),
            ),
            (
                "not an admin",
                Some(&supervisor),
                &hub_default,
                LocalReview::DeskOnly,
                "desk reviews",
                Err(Rejection::NotAllowed {
                    who: "S1 Name (S1)".into(),
                    refusal: Refusal::RoleMissing { role: Role::Admin },
                }),
            ),
            (
                "no reason",
                Some(&admin),
                &hub_default,
                LocalReview::DeskOnly,
                " x ",
                Err(Rejection::CommentNeeded {
                    why: CommentFor::Reason,
                }),
            ),
            (
                "at a bench",
                Some(&admin),
                &bench,
                LocalReview::DeskOnly,
                "desk reviews",
                Err(Rejection::ShopPolicyAtHubOnly),
            ),
        ];
        for (name, actor, current, lr, reason, want) in cases {
            assert_eq!(set(actor, Some(current), lr, reason, at(9)), want, "{name}");
        }
        assert_eq!(
            set(
                Some(&admin),
                None,
                LocalReview::DeskOnly,
                "desk reviews",
                at(9)
            ),
            Err(Rejection::ShopPolicyAtHubOnly)
        );
    }
}
