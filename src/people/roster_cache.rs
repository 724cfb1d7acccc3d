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

#[cfg(test)]
mod tests {
    use super::*;

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
