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

pub const FILE: &str = "hub-roster-contact";

/// The hub's chain head the bench had caught up with, and when.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RosterContact {
    pub at: DateTime<Utc>,
    pub hub_seq: u64,
    pub hub_hash: String,
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

/// What the bench header adds once the roster cache is past its maximum age
/// (pure); `None` while it is fresh, without a maximum, or before any contact.
pub fn age_note(
    contact: Option<&RosterContact>,
    max_age_hours: Option<f64>,
    now: DateTime<Utc>,
) -> Option<String> {
    let (c, max) = (contact?, max_age_hours?);
    let age = now.signed_duration_since(c.at);
    if age.num_milliseconds() as f64 <= max * 3_600_000.0 {
        return None;
    }
    let m = age.num_minutes();
    Some(format!(
        "roster from the hub {} h {:02} min old (max {max} h): only people verified online sign",
        m / 60,
        m % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_note_appears_past_the_maximum_age() {
        let now = Utc::now();
        let at = |h: i64| RosterContact {
            at: now - chrono::Duration::minutes(h * 60 + 14),
            hub_seq: 1,
            hub_hash: String::new(),
        };
        assert_eq!(age_note(Some(&at(7)), Some(8.0), now), None);
        assert_eq!(age_note(Some(&at(9)), None, now), None);
        assert_eq!(age_note(None, Some(8.0), now), None);
        assert_eq!(
            age_note(Some(&at(9)), Some(8.0), now).as_deref(),
            Some("roster from the hub 9 h 14 min old (max 8 h): only people verified online sign")
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
