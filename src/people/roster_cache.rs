//! When the bench last reached the hub's roster head: the age of its copy of the
//! shop roster (policy.toml `[hub] roster_max_age_hours`). The sync task writes it
//! when every hub record benches follow, up to the hub's head, is in this chain; the
//! core reads it before a signature.
//!
//! It is a small file in the store folder (`hub-roster-contact`), not a record: the
//! bench reaches the hub every second, and a record each time would bury the chain.
//! Losing it errs on the safe side: without it the roster counts as never confirmed,
//! until the next contact writes it again.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::person::{HubContact, Roster, stale_cache};

pub const FILE: &str = "hub-roster-contact";

/// The hub's chain head the bench had caught up with, and when.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RosterContact {
    pub at: DateTime<Utc>,
    pub hub_seq: u64,
    pub hub_hash: String,
}

impl RosterContact {
    /// What the gate checks against the chain (`domain::person::contact_on_record`).
    pub fn facts(&self) -> HubContact {
        HubContact {
            at: self.at,
            hub_seq: self.hub_seq,
            hub_hash: self.hub_hash.clone(),
        }
    }
}

fn path(store_dir: &Path) -> PathBuf {
    store_dir.join(FILE)
}

/// The last contact on record; `None` when there is none or it does not read.
pub fn read(store_dir: &Path) -> Option<RosterContact> {
    let text = std::fs::read(path(store_dir)).ok()?;
    match serde_json::from_slice(&text) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("{} does not read ({e}): taken as no contact", FILE);
            None
        }
    }
}

/// Records `c`, durably: written to a fresh owner-only file, fsynced, then renamed
/// over the old one, so a crash leaves either the old or the new contact.
pub fn write(store_dir: &Path, c: &RosterContact) -> std::io::Result<()> {
    let tmp = store_dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    let bytes = serde_json::to_vec(c).map_err(std::io::Error::other)?;
    {
        let mut f = crate::private_fs::create_file(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path(store_dir))?;
    if let Ok(dir) = std::fs::File::open(store_dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// What the bench header adds once the roster cache is past its maximum age or no
/// contact is on record (pure): the signature gate's own rule
/// (`domain::person::stale_cache`), so the note says exactly when signatures need
/// a verification online. `None` while fresh, without a maximum, or on a bench
/// that does not follow the hub.
pub fn age_note(
    contact: Option<&RosterContact>,
    max_age_hours: Option<f64>,
    roster: &Roster,
    now: DateTime<Utc>,
) -> Option<String> {
    let facts = contact.map(RosterContact::facts);
    stale_cache(max_age_hours, facts.as_ref(), roster, now).map(|s| s.note())
}

/// [`age_note`] on what the store holds now (its roster, its contact file).
pub fn header_note(
    store: &crate::store::Store,
    max_age_hours: Option<f64>,
    now: DateTime<Utc>,
) -> Option<String> {
    max_age_hours?;
    let roster = match crate::people::auth::roster(store) {
        Ok(r) => r,
        Err(e) => return Some(format!("roster not read: {e}")),
    };
    age_note(read(store.path()).as_ref(), max_age_hours, &roster, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A roster that follows the hub since hub record 1, which it copied.
    fn following() -> Roster {
        let mut r = Roster {
            hub_since: Some(1),
            last_hub_mirror: Some(1),
            ..Roster::default()
        };
        r.hub_hashes.insert(1, "aa".into());
        r
    }

    #[test]
    fn the_header_note_says_what_the_gate_decides() {
        let now = Utc::now();
        let at = |h: i64| RosterContact {
            at: now - chrono::Duration::minutes(h * 60 + 14),
            hub_seq: 1,
            hub_hash: "aa".into(),
        };
        let r = following();
        assert_eq!(age_note(Some(&at(7)), Some(8.0), &r, now), None);
        assert_eq!(age_note(Some(&at(9)), None, &r, now), None);
        assert_eq!(
            age_note(Some(&at(9)), Some(8.0), &Roster::default(), now),
            None,
            "a bench that does not follow the hub"
        );
        assert_eq!(
            age_note(None, Some(8.0), &r, now).as_deref(),
            Some(
                "no contact with the hub's roster on record (max 8 h): only people verified online sign"
            ),
            "the gate refuses without a contact: the header says so"
        );
        assert_eq!(
            age_note(Some(&at(9)), Some(8.0), &r, now).as_deref(),
            Some("roster from the hub 9 h 14 min old (max 8 h): only people verified online sign")
        );
        // A contact the gate does not take is no contact here either.
        let future = RosterContact {
            at: now + chrono::Duration::hours(1),
            ..at(0)
        };
        assert!(
            age_note(Some(&future), Some(8.0), &r, now)
                .is_some_and(|n| n.starts_with("no contact")),
        );
    }

    #[test]
    fn a_contact_survives_and_a_bad_file_means_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        let c = RosterContact {
            at: Utc::now(),
            hub_seq: 12,
            hub_hash: "ab".repeat(32),
        };
        write(dir.path(), &c).unwrap();
        assert_eq!(read(dir.path()), Some(c));
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert_eq!(read(dir.path()), None);
    }
}
