//! Proving who is at the keyboard: badge + PIN against the roster in the store.
//! A wrong PIN is recorded against the badge; too many lock it. Only the core
//! calls this, before it decides a signed command.

use chrono::{DateTime, Utc};

use crate::domain::command::{AuthFailure, Rejection};
use crate::domain::event::Event;
use crate::domain::person::{Person, Roster};
use crate::domain::policy::{Policy, lockout_after};
use crate::store::Store;

use super::pin::verify_pin;

/// The roster as the store has it now: its own records and the hub records it
/// copied (`HubRecordMirrored`, whose bytes were checked when they were appended).
pub fn roster(store: &Store) -> Result<Roster, Rejection> {
    let records: Vec<_> = store
        .people_events()
        .collect::<Result<_, _>>()
        .map_err(|e| Rejection::Store {
            reason: format!("cannot read the roster: {e}"),
        })?;
    Ok(Roster::fold_bench(
        &records,
        crate::store::wire::decode_mirrored_record,
    ))
}

/// Checks `pin` for `badge` in `roster`; on success the person as of now. A wrong
/// PIN is appended (with the lock it causes) before the refusal is returned.
/// `purpose` says what the PIN was for ("log-in", "signature").
pub fn authenticate(
    store: &Store,
    roster: &Roster,
    policy: &Policy,
    badge: &str,
    pin: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Person, Rejection> {
    match check_pin(roster, policy, badge, pin, purpose, now) {
        Ok(p) => Ok(p),
        Err(PinRefused { failure, events }) => {
            if !events.is_empty() {
                store
                    .append_batch(badge, events)
                    .map_err(|e| Rejection::Store {
                        reason: format!("wrong PIN, and recording it failed: {e}"),
                    })?;
            }
            Err(Rejection::Auth(failure))
        }
    }
}

/// A PIN that proved nothing: why, and the events that must be recorded before the
/// refusal is told (a wrong PIN and the lock it causes; none for an unknown,
/// deactivated or locked badge).
#[derive(Clone, Debug, PartialEq)]
pub struct PinRefused {
    pub failure: AuthFailure,
    pub events: Vec<Event>,
}

/// The rules of a PIN check against a roster, wherever the roster is kept (the
/// bench's store, the hub's chain): the caller records `events` of a refusal.
pub fn check_pin(
    roster: &Roster,
    policy: &Policy,
    badge: &str,
    pin: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Person, PinRefused> {
    check_pin_with(roster, policy, badge, purpose, now, |hash| {
        verify_pin(pin, hash)
    })
}

/// [`check_pin`] with the Argon2 verification supplied: `pin_matches(hash)` says
/// whether the typed PIN is the one hashed in `hash`. The hub verifies the PIN
/// before it takes its chain's lock and decides under the lock with that answer
/// (as long as the hash is still the one it verified), so the slow hash never
/// holds up other decisions.
pub fn check_pin_with(
    roster: &Roster,
    policy: &Policy,
    badge: &str,
    purpose: &str,
    now: DateTime<Utc>,
    pin_matches: impl FnOnce(&str) -> bool,
) -> Result<Person, PinRefused> {
    let fail = |failure| {
        Err(PinRefused {
            failure,
            events: Vec::new(),
        })
    };
    let Some(person) = roster.get(badge) else {
        return fail(AuthFailure::UnknownBadge {
            badge: badge.to_string(),
        });
    };
    if !person.active {
        return fail(AuthFailure::Deactivated {
            badge: badge.to_string(),
        });
    }
    if let Some(until) = person.locked_until.filter(|u| now < *u) {
        return fail(AuthFailure::Locked {
            badge: badge.to_string(),
            until,
        });
    }
    if pin_matches(&person.pin_hash) {
        return Ok(person.clone());
    }
    let failures = person.failed_pins + 1;
    let mut events = vec![Event::PinRejected {
        badge: badge.to_string(),
        purpose: purpose.to_string(),
    }];
    let locked = lockout_after(policy, failures, now);
    if let Some(until) = locked {
        events.push(Event::BadgeLocked {
            badge: badge.to_string(),
            until,
        });
    }
    Err(PinRefused {
        failure: AuthFailure::WrongPin {
            badge: badge.to_string(),
            failures,
            max: policy.max_failed_pins,
            locked_until: locked,
        },
        events,
    })
}
