//! Whether a bench's `BadgeLocked` becomes a lock of the whole shop (#16: a PIN
//! locked at one bench is locked at all).
//!
//! Decided by chain order, never by comparing two clocks: a new PIN set at the hub
//! (`PinChanged`, an admin's reset, which lifts a lock) came "before" the bench's lock
//! only if the bench had copied that hub record into its chain before the lock — its
//! `HubRecordMirrored` copies before the lock's seq name the hub seqs it knew. A lock
//! recorded at a bench that had not yet seen the reset counts wrong tries against the
//! PIN the admin replaced, so the reset lifts it.

use chrono::{DateTime, Utc};

use super::event::{Event, Record};

/// A lock a bench recorded, as the hub received it.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchLock {
    pub badge: String,
    pub until: DateTime<Utc>,
    /// The lock's seq in the bench chain.
    pub seq: u64,
    /// The highest hub seq the bench chain had copied (`HubRecordMirrored`) before
    /// the lock's seq; `None` when it had copied none.
    pub hub_seen: Option<u64>,
}

/// Why a bench lock is not recorded for the shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotPromoted {
    /// The badge is not on the hub's roster (a bench-only person).
    UnknownBadge,
    /// The lock had run out by the time the hub received it.
    RunOut,
    /// The hub chain holds this lock already (same badge, same end).
    HeldAlready { hub_seq: u64 },
    /// A new PIN was set at the hub that the bench had not copied before its lock.
    PinResetSince { hub_seq: u64 },
}

/// Whether `lock` becomes a `BadgeLocked` record of the hub chain (pure). `hub` is
/// the hub chain's records (only its `BadgeLocked` and `PinChanged` matter), in any
/// order; `on_roster` whether the hub's roster knows the badge.
pub fn admit(
    lock: &BenchLock,
    on_roster: bool,
    hub: &[Record],
    now: DateTime<Utc>,
) -> Result<(), NotPromoted> {
    if !on_roster {
        return Err(NotPromoted::UnknownBadge);
    }
    if lock.until <= now {
        return Err(NotPromoted::RunOut);
    }
    for r in hub {
        match &r.event {
            Event::BadgeLocked { badge, until } if *badge == lock.badge && *until == lock.until => {
                return Err(NotPromoted::HeldAlready { hub_seq: r.seq });
            }
            Event::PinChanged { badge, .. }
                if *badge == lock.badge && lock.hub_seen.is_none_or(|seen| seen < r.seq) =>
            {
                return Err(NotPromoted::PinResetSince { hub_seq: r.seq });
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    fn rec(seq: u64, time: DateTime<Utc>, event: Event) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time,
            actor: "A".into(),
            event,
        }
    }

    fn reset(seq: u64, time: DateTime<Utc>) -> Record {
        rec(
            seq,
            time,
            Event::PinChanged {
                badge: "T".into(),
                pin_hash: String::new(),
            },
        )
    }

    #[test]
    fn which_bench_locks_become_locks_of_the_shop() {
        let lock = |badge: &str, until: i64, hub_seen: Option<u64>| BenchLock {
            badge: badge.into(),
            until: at(until),
            seq: 40,
            hub_seen,
        };
        let held = rec(
            3,
            at(0),
            Event::BadgeLocked {
                badge: "T".into(),
                until: at(15),
            },
        );
        let other_lock = rec(
            3,
            at(0),
            Event::BadgeLocked {
                badge: "T".into(),
                until: at(5),
            },
        );
        let other_badge = rec(
            7,
            at(0),
            Event::PinChanged {
                badge: "U".into(),
                pin_hash: String::new(),
            },
        );
        type Case = (
            &'static str,
            BenchLock,
            bool,
            Vec<Record>,
            Result<(), NotPromoted>,
        );
        let cases: Vec<Case> = vec![
            (
                "a new lock in force",
                lock("T", 15, None),
                true,
                vec![],
                Ok(()),
            ),
            (
                "a badge the hub does not know",
                lock("X", 15, None),
                false,
                vec![],
                Err(NotPromoted::UnknownBadge),
            ),
            (
                "a lock that has run out",
                lock("T", -1, None),
                true,
                vec![],
                Err(NotPromoted::RunOut),
            ),
            (
                "held at the hub already",
                lock("T", 15, None),
                true,
                vec![held],
                Err(NotPromoted::HeldAlready { hub_seq: 3 }),
            ),
            (
                "an earlier lock of the hub with another end",
                lock("T", 15, Some(3)),
                true,
                vec![other_lock],
                Ok(()),
            ),
            (
                "reset at the hub, not copied by the bench before its lock",
                lock("T", 15, Some(4)),
                true,
                vec![reset(5, at(-30))],
                Err(NotPromoted::PinResetSince { hub_seq: 5 }),
            ),
            (
                "reset at the hub, the bench had copied nothing",
                lock("T", 15, None),
                true,
                vec![reset(1, at(-30))],
                Err(NotPromoted::PinResetSince { hub_seq: 1 }),
            ),
            // The bench's clock runs behind the hub's: its lock's time is before the
            // reset's, yet it locked against the new PIN it had copied.
            (
                "reset copied by the bench before its lock, hub clock ahead",
                lock("T", 15, Some(5)),
                true,
                vec![reset(5, at(30))],
                Ok(()),
            ),
            (
                "reset copied, later records copied too",
                lock("T", 15, Some(9)),
                true,
                vec![reset(5, at(30))],
                Ok(()),
            ),
            (
                "a reset of another badge",
                lock("T", 15, None),
                true,
                vec![other_badge],
                Ok(()),
            ),
        ];
        for (name, l, on_roster, hub, want) in cases {
            assert_eq!(admit(&l, on_roster, &hub, at(0)), want, "{name}");
        }
    }
}
