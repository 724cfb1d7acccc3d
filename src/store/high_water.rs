//! The high-water mark: a chain head (store id, seq, hash) the store is known to have
//! reached, kept where losing the store's tail cannot take it along.
//!
//! sled can "recover" a damaged or truncated log to an earlier state, even an empty
//! one, and open without complaint. Two copies of the mark turn that silent loss into
//! an error that names the missing records:
//!
//! - `traveler-head` in the store folder (`seq hash`), and
//! - one file per store folder in the user's state folder
//!   (`$TRAVELER_STATE_DIR`, else `~/.local/state/traveler`, `stores/<key>`, where key
//!   is the SHA-256 of the folder's absolute path), holding the store id too, so a
//!   folder emptied or deleted with all its files is still noticed.
//!
//! Both are written on the first append of a session, every `EVERY` seqs and when the
//! last handle closes, never ahead of what is on disk. Every backup carries the same
//! mark in its end line.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tracing::warn;

use super::chain::{ChainHead, parse_hash};
use super::error::{Result, StoreError};
use super::identity::StoreIdentity;

pub(crate) const FILE: &str = "traveler-head";
/// Seqs between two writes of the mark while appending.
pub(crate) const EVERY: u64 = 1000;

/// The mark kept outside the store folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsideMark {
    pub store_id: String,
    pub head: ChainHead,
    /// The store folder it was written for.
    pub folder: PathBuf,
    /// Where the mark itself is kept (for the message that tells how to clear it).
    pub file: PathBuf,
}

/// The state folder: `TRAVELER_STATE_DIR`, else the platform's state (or local data)
/// folder for traveler.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("TRAVELER_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let dirs = directories::ProjectDirs::from("", "", "traveler")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

fn absolute(folder: &Path) -> PathBuf {
    std::fs::canonicalize(folder)
        .or_else(|_| std::path::absolute(folder))
        .unwrap_or_else(|_| folder.to_path_buf())
}

/// The outside mark's file for a store folder.
pub fn outside_file(folder: &Path) -> Option<PathBuf> {
    let abs = absolute(folder);
    let key = hex::encode(Sha256::digest(abs.as_os_str().as_encoded_bytes()));
    Some(state_dir()?.join("stores").join(&key[..32]))
}

/// Writes `text` to `file` atomically and durably, owner-only.
fn write_atomic(file: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = file.parent() {
        crate::private_fs::create_dir_all(dir)?;
    }
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = crate::private_fs::create_file(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, file)?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes both marks; a failure is logged, not fatal (the records themselves are safe).
pub(crate) fn write(folder: &Path, identity: &StoreIdentity, head: ChainHead) {
    if head.seq == 0 {
        return;
    }
    if let Err(e) = write_atomic(&folder.join(FILE), &format!("{head}\n")) {
        warn!(dir = %folder.display(), "cannot write the high-water mark: {e}");
    }
    let Some(file) = outside_file(folder) else {
        return;
    };
    let text = format!(
        "store_id {}\nseq {}\nhash {}\nfolder {}\n",
        identity.store_id,
        head.seq,
        head.hash_hex(),
        absolute(folder).display()
    );
    if let Err(e) = write_atomic(&file, &text) {
        warn!(file = %file.display(), "cannot write the high-water mark: {e}");
    }
}

/// The chain head `traveler-head` in the store folder remembers, if any.
pub(crate) fn read_inside(folder: &Path) -> Option<ChainHead> {
    let text = std::fs::read_to_string(folder.join(FILE)).ok()?;
    let mut parts = text.split_whitespace();
    let seq = parts.next()?.parse::<u64>().ok()?;
    let hash = parse_hash(parts.next()?)?;
    Some(ChainHead { seq, hash })
}

/// The mark kept outside the folder for `folder`, if any.
pub fn read_outside(folder: &Path) -> Option<OutsideMark> {
    parse_outside(outside_file(folder)?)
}

/// The highest mark of a store, wherever its folder was: what a restore of that
/// store's backup is held against.
pub fn find_by_store_id(store_id: &str) -> Option<OutsideMark> {
    let dir = state_dir()?.join("stores");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| parse_outside(e.path()))
        .filter(|m| m.store_id == store_id)
        .max_by_key(|m| m.head.seq)
}

fn parse_outside(file: PathBuf) -> Option<OutsideMark> {
    let text = std::fs::read_to_string(&file).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(str::to_string)
    };
    Some(OutsideMark {
        store_id: field("store_id")?,
        head: ChainHead {
            seq: field("seq")?.parse().ok()?,
            hash: parse_hash(&field("hash")?)?,
        },
        folder: PathBuf::from(field("folder")?),
        file,
    })
}

fn lost(
    folder: &Path,
    reached: ChainHead,
    now: u64,
    store_id: Option<&str>,
    how: &str,
) -> StoreError {
    StoreError::LostRecords {
        path: folder.to_path_buf(),
        store_id: store_id.map(str::to_string),
        reached,
        now,
        how: how.to_string(),
    }
}

/// At open: the store must reach at least the seqs both marks remember.
pub(crate) fn check(folder: &Path, identity: &StoreIdentity, head: ChainHead) -> Result<()> {
    if let Some(mark) = read_inside(folder)
        && mark.seq > head.seq
    {
        return Err(lost(
            folder,
            mark,
            head.seq,
            Some(&identity.store_id),
            "the traveler-head file in the store folder",
        ));
    }
    if let Some(mark) = read_outside(folder) {
        if mark.store_id != identity.store_id {
            // Another store now lives in this folder (created after the old one was
            // moved away); the new one's mark replaces it at its first append.
            warn!(
                folder = %folder.display(),
                old = %mark.store_id,
                new = %identity.store_id,
                "the folder holds a different store than the high-water mark remembers"
            );
        } else if mark.head.seq > head.seq {
            return Err(lost(
                folder,
                mark.head,
                head.seq,
                Some(&mark.store_id),
                &format!("the high-water mark {}", mark.file.display()),
            ));
        }
    }
    Ok(())
}

/// For a folder with no store in it: was there one?
pub(crate) fn check_absent(folder: &Path) -> Result<()> {
    match read_outside(folder) {
        Some(mark) => Err(lost(
            folder,
            mark.head,
            0,
            Some(&mark.store_id),
            &format!("the high-water mark {}", mark.file.display()),
        )),
        None => Ok(()),
    }
}
