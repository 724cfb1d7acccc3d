//! Derived index entries. Everything here is a function of the events alone, so
//! `reindex` can throw it all away and rebuild it.
//!
//! sled 0.34 keeps about 35 bytes per key resident whatever the cache size, so the
//! indexes hold lists in values rather than one key per entry:
//!
//! - a list value is a run of entries, each one or two length-prefixed strings (u32 BE
//!   length ‖ UTF-8), sorted by the encoded bytes of the first string (length, then
//!   bytes: the order the old one-key-per-entry layout gave), with no repeats;
//! - lists that can grow with the whole store (a person's jobs, a status's jobs) are
//!   split over `BUCKETS` keys by a hash of the job id, so an append rewrites a
//!   bucket of a few hundred ids at most, not every job the person ever touched.
//!
//! Appends read and rewrite these values under the append lock through an `Overlay`,
//! whose writes then go in the same sled transaction as the events and chain head.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::domain::event::{Event, Record, SYSTEM_ACTOR};
use crate::domain::job::{Job, JobStatus};

use super::error::Result;
use super::keys::{day_key, push_str, seq_key, str_key};

/// The trees of one store.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum T {
    /// group ((seq - 1) >> GROUP_SHIFT) u64 BE -> the group's records (see `group`).
    Events = 0,
    /// name -> value (chain head, format version, reindex marker).
    Meta,
    /// job -> status code u8 (0: never started) ‖ the job's seqs, u64 BE each, ascending.
    Jobs,
    /// seq BE -> (): records not tied to a job (enrolment, certification, login ...).
    PersonEvents,
    /// serial -> list of jobs.
    BySerial,
    /// lot -> list of (job, board serial), so where-used names boards without folding
    /// jobs. Needs the job's start, so it is written with the status, not per record.
    ByLot,
    /// (badge, bucket u8) -> list of jobs: performer, signers, reviewer and actors.
    ByPerson,
    /// (status, bucket u8) -> list of jobs whose current status it is.
    ByStatus,
    /// day of JobStarted -> list of jobs.
    ByDay,
    /// sample blocks (see `samples`); written outside the chain transaction.
    Samples,
}

pub(crate) const TREE_NAMES: [&str; 10] = [
    "events",
    "meta",
    "jobs",
    "person_events",
    "idx_serial",
    "idx_lot",
    "idx_person",
    "idx_status",
    "idx_day",
    "samples",
];

/// Trees `reindex` clears and rebuilds.
pub(crate) const INDEX_TREES: [T; 7] = [
    T::Jobs,
    T::PersonEvents,
    T::BySerial,
    T::ByLot,
    T::ByPerson,
    T::ByStatus,
    T::ByDay,
];

/// Trees the append transaction writes (the samples tree is not among them).
pub(crate) const CHAIN_TREES: [T; 9] = [
    T::Events,
    T::Meta,
    T::Jobs,
    T::PersonEvents,
    T::BySerial,
    T::ByLot,
    T::ByPerson,
    T::ByStatus,
    T::ByDay,
];

/// Buckets of the person and status lists.
pub(crate) const BUCKETS: u32 = 256;

/// Statuses by their stored code (index + 1; 0 is "no status").
pub(crate) const ALL_STATUSES: [JobStatus; 7] = [
    JobStatus::InProgress,
    JobStatus::Held,
    JobStatus::Suspended,
    JobStatus::Aborted,
    JobStatus::Submitted,
    JobStatus::Approved,
    JobStatus::Rejected,
];

pub(crate) fn status_code(s: Option<JobStatus>) -> u8 {
    s.and_then(|s| ALL_STATUSES.iter().position(|x| *x == s))
        .map_or(0, |i| i as u8 + 1)
}

/// `None` for an unknown code; `Some(None)` for "no status".
pub(crate) fn status_of_code(c: u8) -> Option<Option<JobStatus>> {
    match c {
        0 => Some(None),
        c => ALL_STATUSES.get(c as usize - 1).copied().map(Some),
    }
}

/// FNV-1a: stable across builds and platforms, unlike std's hasher.
fn bucket(job: &str) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in job.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % BUCKETS) as u8
}

pub(crate) fn bucket_key(name: &str, job: &str) -> Vec<u8> {
    let mut k = str_key(name);
    k.push(bucket(job));
    k
}

/// Byte ranges of a list value's entries, each `width` strings; `None` if malformed.
pub(crate) fn entries(value: &[u8], width: usize) -> Option<Vec<Range<usize>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < value.len() {
        let start = at;
        for _ in 0..width {
            let len: [u8; 4] = value.get(at..at.checked_add(4)?)?.try_into().ok()?;
            let body = at + 4;
            at = body.checked_add(u32::from_be_bytes(len) as usize)?;
            std::str::from_utf8(value.get(body..at)?).ok()?;
        }
        out.push(start..at);
    }
    Some(out)
}

/// The first string of an entry.
pub(crate) fn first_str(entry: &[u8]) -> Option<&str> {
    super::keys::take_str(entry).map(|(s, _)| s)
}

/// The encoded first string of an entry (its sort key).
fn first_encoded(entry: &[u8]) -> &[u8] {
    let len = entry
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b: [u8; 4]| u32::from_be_bytes(b) as usize);
    entry.get(..4 + len).unwrap_or(entry)
}

/// Puts `entry` (whose first string is the member) into the sorted list `value`,
/// replacing an entry of the same member. Returns whether the value changed.
pub(crate) fn list_put(value: &mut Vec<u8>, width: usize, entry: &[u8]) -> bool {
    let Some(ranges) = entries(value, width) else {
        // Unreadable: start the list again from this entry (reindex restores the rest).
        *value = entry.to_vec();
        return true;
    };
    let member = first_encoded(entry);
    let mut at = value.len();
    for r in ranges {
        match first_encoded(&value[r.clone()]).cmp(member) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Equal => {
                if value[r.clone()] == *entry {
                    return false;
                }
                value.splice(r, entry.iter().copied());
                return true;
            }
            std::cmp::Ordering::Greater => {
                at = r.start;
                break;
            }
        }
    }
    value.splice(at..at, entry.iter().copied());
    true
}

/// Takes the entry of `member` out of the list. Returns whether the value changed.
pub(crate) fn list_remove(value: &mut Vec<u8>, width: usize, member: &str) -> bool {
    let enc = str_key(member);
    let Some(ranges) = entries(value, width) else {
        return false;
    };
    for r in ranges {
        if first_encoded(&value[r.clone()]) == enc.as_slice() {
            value.drain(r);
            return true;
        }
    }
    false
}

/// Index values read from the trees and changed in memory, written together later.
#[derive(Default)]
pub(crate) struct Overlay {
    map: BTreeMap<(T, Vec<u8>), Slot>,
    /// Bytes held, to know when a rebuild should write out.
    pub bytes: usize,
}

struct Slot {
    value: Option<Vec<u8>>,
    dirty: bool,
}

impl Overlay {
    /// The current value of a key (loaded from `trees` on first use), to change in place.
    /// Call `touch` after changing it.
    pub fn value(
        &mut self,
        trees: &[sled::Tree],
        t: T,
        key: &[u8],
    ) -> Result<&mut Option<Vec<u8>>> {
        let k = (t, key.to_vec());
        if !self.map.contains_key(&k) {
            let loaded = trees[t as usize].get(key)?.map(|v| v.to_vec());
            self.bytes += key.len() + loaded.as_ref().map_or(0, |v| v.len());
            self.map.insert(
                k.clone(),
                Slot {
                    value: loaded,
                    dirty: false,
                },
            );
        }
        Ok(&mut self.map.get_mut(&k).expect("just inserted").value)
    }

    pub fn touch(&mut self, t: T, key: &[u8]) {
        if let Some(s) = self.map.get_mut(&(t, key.to_vec())) {
            s.dirty = true;
        }
    }

    /// Sets a key outright (no read).
    pub fn put(&mut self, t: T, key: Vec<u8>, value: Vec<u8>) {
        self.bytes += key.len() + value.len();
        self.map.insert(
            (t, key),
            Slot {
                value: Some(value),
                dirty: true,
            },
        );
    }

    /// Adds an entry to a list value.
    pub fn list_put(
        &mut self,
        trees: &[sled::Tree],
        t: T,
        key: &[u8],
        width: usize,
        entry: &[u8],
    ) -> Result<()> {
        let v = self.value(trees, t, key)?;
        let changed = list_put(v.get_or_insert_with(Vec::new), width, entry);
        if changed {
            self.bytes += entry.len();
            self.touch(t, key);
        }
        Ok(())
    }

    /// Takes an entry out of a list value; an emptied list loses its key.
    pub fn list_remove(
        &mut self,
        trees: &[sled::Tree],
        t: T,
        key: &[u8],
        width: usize,
        member: &str,
    ) -> Result<()> {
        let v = self.value(trees, t, key)?;
        let changed = match v {
            Some(list) => {
                let changed = list_remove(list, width, member);
                if list.is_empty() {
                    *v = None;
                }
                changed
            }
            None => false,
        };
        if changed {
            self.touch(t, key);
        }
        Ok(())
    }

    /// The changed keys: (tree, key, new value or `None` to remove).
    pub fn drain(&mut self) -> impl Iterator<Item = (T, Vec<u8>, Option<Vec<u8>>)> {
        self.bytes = 0;
        std::mem::take(&mut self.map)
            .into_iter()
            .filter(|(_, s)| s.dirty)
            .map(|((t, k), s)| (t, k, s.value))
    }
}

fn entry1(a: &str) -> Vec<u8> {
    str_key(a)
}

fn entry2(a: &str, b: &str) -> Vec<u8> {
    let mut e = str_key(a);
    push_str(&mut e, b);
    e
}

/// Index entries that depend on this record alone (everything but status and lots),
/// and the record's place in its job's seq list.
pub(crate) fn static_writes(trees: &[sled::Tree], rec: &Record, o: &mut Overlay) -> Result<()> {
    let Some(job) = rec.event.job() else {
        o.put(T::PersonEvents, seq_key(rec.seq).to_vec(), Vec::new());
        return Ok(());
    };
    let jk = str_key(job);
    let v = o.value(trees, T::Jobs, &jk)?;
    let list = v.get_or_insert_with(|| vec![0]);
    list.extend_from_slice(&seq_key(rec.seq));
    o.bytes += 8;
    o.touch(T::Jobs, &jk);
    if let Some(badge) = rec.event.person() {
        o.list_put(trees, T::ByPerson, &bucket_key(badge, job), 1, &entry1(job))?;
    }
    if rec.actor != SYSTEM_ACTOR && !rec.actor.is_empty() {
        o.list_put(
            trees,
            T::ByPerson,
            &bucket_key(&rec.actor, job),
            1,
            &entry1(job),
        )?;
    }
    if let Event::JobStarted { board_serial, .. } = &rec.event {
        o.list_put(trees, T::BySerial, &str_key(board_serial), 1, &entry1(job))?;
        o.list_put(
            trees,
            T::ByDay,
            &day_key(rec.time.date_naive()),
            1,
            &entry1(job),
        )?;
    }
    Ok(())
}

/// Moves a job's status entry from `old` to `new` and records `new` in its job value.
pub(crate) fn status_writes(
    trees: &[sled::Tree],
    job: &str,
    old: Option<JobStatus>,
    new: Option<JobStatus>,
    o: &mut Overlay,
) -> Result<()> {
    let jk = str_key(job);
    let code = status_code(new);
    let mut changed = false;
    if let Some(list) = o.value(trees, T::Jobs, &jk)?.as_mut()
        && list.first() != Some(&code)
    {
        match list.first_mut() {
            Some(first) => *first = code,
            None => list.push(code),
        }
        changed = true;
    }
    if changed {
        o.touch(T::Jobs, &jk);
    }
    if old == new {
        return Ok(());
    }
    if let Some(old) = old {
        o.list_remove(trees, T::ByStatus, &bucket_key(old.as_str(), job), 1, job)?;
    }
    if let Some(new) = new {
        o.list_put(
            trees,
            T::ByStatus,
            &bucket_key(new.as_str(), job),
            1,
            &entry1(job),
        )?;
    }
    Ok(())
}

/// Applies `rec` to the working copy of its job (as `Job::fold` would) and returns
/// the status before and after.
pub(crate) fn advance(
    job: &mut Option<Job>,
    rec: &Record,
) -> (Option<JobStatus>, Option<JobStatus>) {
    let before = job.as_ref().map(|j| j.status);
    match job {
        Some(j) => j.apply(rec),
        None => *job = Job::fold(std::iter::once(rec)),
    }
    (before, job.as_ref().map(|j| j.status))
}

/// The where-used entry of a lot record, once its job is known.
pub(crate) fn lot_write(
    trees: &[sled::Tree],
    job: &Job,
    rec: &Record,
    o: &mut Overlay,
) -> Result<()> {
    if let Event::LotRecorded { lot, .. } = &rec.event {
        o.list_put(
            trees,
            T::ByLot,
            &str_key(lot),
            2,
            &entry2(&job.id, &job.board_serial),
        )?;
    }
    Ok(())
}

/// Every where-used entry of a folded job (for rebuilding).
pub(crate) fn lot_writes_of(trees: &[sled::Tree], job: &Job, o: &mut Overlay) -> Result<()> {
    for l in &job.lots {
        o.list_put(
            trees,
            T::ByLot,
            &str_key(&l.lot),
            2,
            &entry2(&job.id, &job.board_serial),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stay_sorted_by_encoded_member_without_repeats() {
        let mut v = Vec::new();
        for j in ["J2", "J10", "J1", "J2", "A"] {
            list_put(&mut v, 1, &entry1(j));
        }
        let got: Vec<&str> = entries(&v, 1)
            .unwrap()
            .into_iter()
            .map(|r| first_str(&v[r]).unwrap())
            .collect();
        // Length first, then bytes: the order of length-prefixed keys.
        assert_eq!(got, ["A", "J1", "J2", "J10"]);
        assert!(list_remove(&mut v, 1, "J1"));
        assert!(!list_remove(&mut v, 1, "J1"));
        let mut l = Vec::new();
        list_put(&mut l, 2, &entry2("J1", "SN-1"));
        list_put(&mut l, 2, &entry2("J1", "SN-2"));
        assert_eq!(entries(&l, 2).unwrap().len(), 1);
        assert!(entries(&[0, 0, 0, 9, b'x'], 1).is_none());
    }
}
