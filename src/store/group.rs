//! Event groups: runs of `GROUP_LEN` consecutive records under one key, because sled
//! 0.34 keeps about 35 bytes per key resident and one key per event made a store of a
//! few million events cost hundreds of MB and seconds to open.
//!
//! Key: group number `(seq - 1) >> GROUP_SHIFT` as u64 BE; the group holds seqs
//! `group * GROUP_LEN + 1 ..= (group + 1) * GROUP_LEN`, in order, so a record's seq is
//! its group and position. Value: for each record, its canonical bytes' length u32 BE ‖
//! the canonical bytes, verbatim. Every group but the last is full.
//!
//! An append rewrites the last group in the same transaction as the chain head, so a
//! group is never half written; a group whose lengths do not add up is damage, and is
//! reported at the seq of the record it cuts.

use std::ops::Range;

use super::error::{Result, StoreError};

pub(crate) const GROUP_SHIFT: u32 = 3;
pub const GROUP_LEN: u64 = 1 << GROUP_SHIFT;

/// The group of `seq` (seq >= 1).
pub(crate) fn group_of(seq: u64) -> u64 {
    seq.saturating_sub(1) >> GROUP_SHIFT
}

pub(crate) fn group_key(group: u64) -> [u8; 8] {
    group.to_be_bytes()
}

pub(crate) fn group_from_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

pub(crate) fn first_seq(group: u64) -> u64 {
    group * GROUP_LEN + 1
}

pub(crate) fn push_record(value: &mut Vec<u8>, canonical: &[u8]) {
    value.extend_from_slice(&(canonical.len() as u32).to_be_bytes());
    value.extend_from_slice(canonical);
}

/// The byte ranges of a group's records, first seq first, and the damage that stopped
/// the split early, if any (records before it are still good to read).
pub(crate) fn split(group: u64, value: &[u8]) -> (Vec<Range<usize>>, Option<StoreError>) {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < value.len() {
        let seq = first_seq(group) + out.len() as u64;
        if out.len() as u64 == GROUP_LEN {
            let what = format!(
                "group {group} holds more than {GROUP_LEN} records (bytes after seq {})",
                seq - 1
            );
            return (out, Some(StoreError::Damaged { seq, what }));
        }
        let len = value
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(|b| u32::from_be_bytes(b) as usize);
        let end = len.and_then(|l| (at + 4).checked_add(l));
        match end {
            Some(end) if end <= value.len() => {
                out.push(at + 4..end);
                at = end;
            }
            _ => {
                let what = format!(
                    "torn: its length prefix runs past the end of group {group} ({} bytes)",
                    value.len()
                );
                return (out, Some(StoreError::Damaged { seq, what }));
            }
        }
    }
    (out, None)
}

/// Records of a range of groups in seq order, as (seq, canonical bytes). Damage ends
/// the walk after the records before it.
pub(crate) struct GroupIter {
    groups: sled::Iter,
    /// The group being read: number, value, record ranges, next position.
    current: Option<(u64, sled::IVec, Vec<Range<usize>>, usize)>,
    /// Damage found in the current group, reported after its good records.
    pending_err: Option<StoreError>,
    /// Records before this seq are skipped.
    from: u64,
    /// Records after this seq end the walk.
    to: u64,
    done: bool,
}

impl GroupIter {
    pub(crate) fn new(tree: &sled::Tree, from: u64, to: u64) -> GroupIter {
        let start = group_key(group_of(from.max(1)));
        GroupIter {
            groups: tree.range(start..),
            current: None,
            pending_err: None,
            from,
            to,
            done: false,
        }
    }

    fn fail(&mut self, e: StoreError) -> Option<Result<(u64, Vec<u8>)>> {
        self.done = true;
        Some(Err(e))
    }
}

impl Iterator for GroupIter {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if let Some((group, value, ranges, pos)) = self.current.as_mut() {
                if let Some(r) = ranges.get(*pos) {
                    let seq = first_seq(*group) + *pos as u64;
                    *pos += 1;
                    if seq > self.to {
                        self.done = true;
                        return None;
                    }
                    if seq < self.from {
                        continue;
                    }
                    return Some(Ok((seq, value[r.clone()].to_vec())));
                }
                self.current = None;
                if let Some(e) = self.pending_err.take() {
                    return self.fail(e);
                }
            }
            let (k, v) = match self.groups.next()? {
                Ok(kv) => kv,
                Err(e) => return self.fail(e.into()),
            };
            let Some(group) = group_from_key(&k) else {
                return self.fail(StoreError::Damaged {
                    seq: 0,
                    what: format!("an event group key of {} bytes instead of 8", k.len()),
                });
            };
            if first_seq(group) > self.to {
                self.done = true;
                return None;
            }
            let (ranges, err) = split(group, &v);
            self.pending_err = err;
            self.current = Some((group, v, ranges, 0));
        }
    }
}
