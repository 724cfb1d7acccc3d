//! Proving who is at the keyboard: badge + PIN against the roster in the store.
//! A wrong PIN is recorded against the badge; too many lock it.

use chrono::{DateTime, Utc};

use crate::domain::event::Event;
use crate::domain::person::{Person, Roster};
use crate::domain::policy::{Policy, lockout_after};
use crate::store::Store;

use super::pin::verify_pin;

/// The roster as the store has it now.
pub fn roster(store: &Store) -> Result<Roster, String> {
    let records: Vec<_> = store
        .people_events()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read the roster: {e}"))?;
    Ok(Roster::fold(&records))
}

/// Checks `pin` for `badge`; on success the person as of now. `purpose` says
/// what the PIN was for in the record of a wrong one ("log-in", "signature").
pub fn authenticate(
    store: &Store,
    policy: &Policy,
    badge: &str,
    pin: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Person, String> {
    let roster = roster(store)?;
    let Some(person) = roster.get(badge) else {
        return Err(format!("badge {badge:?} is not on the roster"));
    };
    if !person.active {
        return Err(format!("badge {badge} is deactivated"));
    }
    if let Some(until) = person.locked_until.filter(|u| now < *u) {
        return Err(format!(
            "badge {badge} is locked after too many wrong PINs until {} UTC",
            until.format("%H:%M")
        ));
    }
    if verify_pin(pin, &person.pin_hash) {
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
    store
        .append_batch(badge, events)
        .map_err(|e| format!("wrong PIN, and recording it failed: {e}"))?;
    Err(match locked {
        Some(until) => format!(
            "wrong PIN: badge {badge} is now locked until {} UTC",
            until.format("%H:%M")
        ),
        None => format!(
            "wrong PIN ({failures} of {} before the badge locks)",
            policy.max_failed_pins
        ),
    })
}
