//! traveler's own write-ahead log of chain records, so an append costs one durable
//! sync instead of two.
//!
//! sled 0.34's `flush` writes its log buffer and waits in `sync_file_range`, which
//! neither flushes the drive's write cache nor commits a growing file's size; making
//! an append power-cut safe on top of it took a second sync (fdatasync of sled's log).
//! Instead each commit applies its sled transaction in memory, appends the records'
//! canonical bytes to `traveler-wal` and fdatasyncs that one file: only then is the
//! caller told "saved". sled's own log reaches the disk on its background flush, and
//! durably at a checkpoint (sled flush + fdatasync), after which the WAL is emptied.
//!
//! At open, frames beyond sled's chain head are replayed through the ordinary commit
//! (same checks, same indexes); a torn last frame was never acknowledged and is cut.
//!
//! Frame: canonical length u32 BE ‖ seq u64 BE ‖ first 8 bytes of SHA-256(seq BE ‖
//! canonical) ‖ canonical bytes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};

pub(crate) const FILE: &str = "traveler-wal";
/// Checkpoint once the WAL holds this many bytes.
pub(crate) const CHECKPOINT_BYTES: u64 = 4 << 20;
const FRAME_HEAD: usize = 4 + 8 + 8;

/// The good frames of a WAL: (seq, canonical bytes).
pub(crate) type Frames = Vec<(u64, Vec<u8>)>;

pub(crate) struct Wal {
    file: File,
    /// Bytes of good frames; the next frame goes here.
    len: u64,
}

fn check(seq: u64, canonical: &[u8]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(seq.to_be_bytes());
    h.update(canonical);
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

impl Wal {
    /// Opens (creating, owner-only) the WAL of the store in `dir` and reads its good
    /// frames as (seq, canonical bytes); a torn tail is cut off.
    pub(crate) fn open(dir: &Path) -> io::Result<(Wal, Frames)> {
        let path = dir.join(FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        crate::private_fs::restrict(&path)?;
        let bytes = std::fs::read(&path)?;
        let mut frames = Vec::new();
        let mut at = 0usize;
        while let Some(head) = bytes.get(at..at + FRAME_HEAD) {
            let len = u32::from_be_bytes(head[..4].try_into().unwrap_or_default()) as usize;
            let seq = u64::from_be_bytes(head[4..12].try_into().unwrap_or_default());
            let Some(body) = bytes.get(at + FRAME_HEAD..at + FRAME_HEAD + len) else {
                break;
            };
            if head[12..20] != check(seq, body) {
                break;
            }
            frames.push((seq, body.to_vec()));
            at += FRAME_HEAD + len;
        }
        let mut wal = Wal { file, len: 0 };
        if at as u64 != bytes.len() as u64 {
            // Never acknowledged: its fdatasync did not return.
            wal.file.set_len(at as u64)?;
            wal.file.sync_all()?;
        }
        wal.len = at as u64;
        Ok((wal, frames))
    }

    /// Appends the frames and makes them durable: the one sync of an append.
    pub(crate) fn append(&mut self, records: &[(u64, &[u8])]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(records.iter().map(|(_, c)| FRAME_HEAD + c.len()).sum());
        for (seq, canonical) in records {
            buf.extend_from_slice(&(canonical.len() as u32).to_be_bytes());
            buf.extend_from_slice(&seq.to_be_bytes());
            buf.extend_from_slice(&check(*seq, canonical));
            buf.extend_from_slice(canonical);
        }
        self.file.write_all_at(&buf, self.len)?;
        if let Err(e) = self.file.sync_data() {
            // What the drive holds is unknown: cut the frames so the next append does
            // not write behind a hole (the caller reports the failure).
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += buf.len() as u64;
        Ok(())
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Empties the WAL once sled's own log holds everything durably.
    pub(crate) fn clear(&mut self) -> io::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.file.set_len(0)?;
        self.file.sync_all()?;
        self.len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, frames) = Wal::open(dir.path()).unwrap();
        assert!(frames.is_empty());
        wal.append(&[(7, b"{\"a\":1}"), (8, b"{\"b\":2}")]).unwrap();
        wal.append(&[(9, b"{\"c\":3}")]).unwrap();
        drop(wal);
        let path = dir.path().join(FILE);
        let full = std::fs::read(&path).unwrap();
        std::fs::write(&path, &full[..full.len() - 3]).unwrap();
        let (wal, frames) = Wal::open(dir.path()).unwrap();
        let seqs: Vec<u64> = frames.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [7, 8]);
        assert_eq!(frames[1].1, b"{\"b\":2}");
        assert_eq!(wal.len(), std::fs::metadata(&path).unwrap().len());
        // A flipped byte ends the good frames too.
        let mut bad = std::fs::read(&path).unwrap();
        let n = bad.len();
        bad[n - 2] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        drop(wal);
        let (_, frames) = Wal::open(dir.path()).unwrap();
        assert_eq!(frames.len(), 1);
    }
}
