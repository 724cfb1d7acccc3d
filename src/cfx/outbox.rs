//! The durable mark of what the broker has accepted: the seq and hash of the last
//! record all of whose CFX messages were published, in the store's folder.
//!
//! The hash ties the mark to this chain: a store restored from another bench's backup,
//! or rebuilt, does not silently skip or repeat records because a number matches.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::store::{Store, StoreError};

pub const FILE: &str = "cfx-outbox";
const HEADER: &str = "traveler-cfx-outbox-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub seq: u64,
    pub hash: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: line {line}: {what}", path.display())]
    Damaged {
        path: PathBuf,
        line: usize,
        what: &'static str,
    },
    #[error(
        "{}: published up to record {seq}, but this store's chain {reason}; move the file away to publish this store's records from its start",
        path.display()
    )]
    OtherChain {
        path: PathBuf,
        seq: u64,
        reason: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn path(store: &Store) -> PathBuf {
    store.path().join(FILE)
}

/// The mark, or `None` when nothing was ever published from this store.
pub fn read(dir: &Path) -> Result<Option<Mark>, OutboxError> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OutboxError::Io { path, source }),
    };
    let damaged = |line, what| OutboxError::Damaged {
        path: path.clone(),
        line,
        what,
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(damaged(1, "not a traveler CFX outbox mark"));
    }
    let (seq, hash) = lines
        .next()
        .and_then(|l| l.split_once(' '))
        .ok_or_else(|| damaged(2, "expected \"SEQ HASH\""))?;
    let seq = seq
        .parse()
        .map_err(|_| damaged(2, "the seq is not a number"))?;
    let mut h = [0u8; 32];
    hex::decode_to_slice(hash, &mut h).map_err(|_| damaged(2, "the hash is not 64 hex digits"))?;
    Ok(Some(Mark { seq, hash: h }))
}

/// The mark checked against the store's chain: where publishing resumes.
pub fn resume_point(store: &Store) -> Result<Option<Mark>, OutboxError> {
    let Some(mark) = read(store.path())? else {
        return Ok(None);
    };
    let other = |reason| OutboxError::OtherChain {
        path: path(store),
        seq: mark.seq,
        reason,
    };
    match store.stored_record(mark.seq)? {
        None => Err(other("is shorter")),
        Some(r) if r.hash != mark.hash => Err(other("has another record there")),
        Some(_) => Ok(Some(mark)),
    }
}

/// Writes the mark durably (temporary file, fsync, rename, fsync of the folder), owner-only.
pub fn write(dir: &Path, mark: Mark) -> Result<(), OutboxError> {
    let path = dir.join(FILE);
    // A temporary name of its own per write: two writers (a publisher being shut
    // down and its successor) must never rename each other's half-written file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("{FILE}.{}.{n}.tmp", std::process::id()));
    let io = |source| OutboxError::Io {
        path: path.clone(),
        source,
    };
    let mut f = crate::private_fs::create_file(&tmp).map_err(io)?;
    write!(f, "{HEADER}\n{} {}\n", mark.seq, hex::encode(mark.hash)).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let m = Mark {
            seq: 42,
            hash: [7; 32],
        };
        write(dir.path(), m).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(m));
        for (text, line) in [
            ("junk\n", 1),
            ("traveler-cfx-outbox-1\n", 2),
            ("traveler-cfx-outbox-1\nx 00\n", 2),
            ("traveler-cfx-outbox-1\n5 zz\n", 2),
        ] {
            std::fs::write(dir.path().join(FILE), text).unwrap();
            match read(dir.path()) {
                Err(OutboxError::Damaged { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
