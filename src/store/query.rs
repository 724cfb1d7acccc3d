//! Reads. Nothing here trusts stored bytes: a damaged record becomes an error that
//! names its seq.

use chrono::NaiveDate;

use crate::domain::event::Record;
use crate::domain::job::{Job, JobStatus};

use super::Store;
use super::chain::{StoredRecord, decode_record};
use super::error::{Result, StoreError};
use super::index::{T, day_index_key};
use super::keys::{self, seq_key, seq_of, str_key};

/// One use of a material lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotUse {
    pub job: String,
    pub board_serial: String,
}

/// All records in seq order, read lazily.
pub struct EventIter {
    inner: sled::Iter,
}

impl Iterator for EventIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = match self.inner.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        Some(seq_from_key(&k).and_then(|seq| decode_record(seq, &v)))
    }
}

/// All records in seq order with their canonical bytes and hash, read lazily.
pub struct StoredEventIter {
    inner: sled::Iter,
}

impl Iterator for StoredEventIter {
    type Item = Result<StoredRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = match self.inner.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        Some(seq_from_key(&k).and_then(|seq| StoredRecord::decode(seq, &v)))
    }
}

/// Records listed by seq in an index tree, read one by one from the events tree.
struct SeqListIter<'a> {
    store: &'a Store,
    keys: sled::Iter,
    /// Bytes in front of the seq in each index key.
    prefix_len: usize,
}

impl Iterator for SeqListIter<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let k = match self.keys.next()? {
            Ok((k, _)) => k,
            Err(e) => return Some(Err(e.into())),
        };
        let seq = match k.get(self.prefix_len..).and_then(seq_of) {
            Some(seq) => seq,
            None => return Some(Err(index_damage("a seq list"))),
        };
        Some(self.store.record(seq).and_then(|r| {
            r.ok_or_else(|| StoreError::Damaged {
                seq,
                what: "listed by an index but missing from the events".into(),
            })
        }))
    }
}

fn seq_from_key(k: &[u8]) -> Result<u64> {
    seq_of(k).ok_or_else(|| StoreError::Damaged {
        seq: 0,
        what: format!("an event key of {} bytes instead of 8", k.len()),
    })
}

fn index_damage(what: &str) -> StoreError {
    StoreError::Damaged {
        seq: 0,
        what: format!("an index entry in {what} is unreadable; run `traveler reindex`"),
    }
}

impl Store {
    /// Every record in seq order, streaming.
    pub fn events(&self) -> EventIter {
        EventIter {
            inner: self.tree(T::Events).iter(),
        }
    }

    /// Records from `seq` on (inclusive), streaming.
    pub fn events_from(&self, seq: u64) -> EventIter {
        EventIter {
            inner: self.tree(T::Events).range(seq_key(seq)..),
        }
    }

    /// Every record with its canonical bytes and hash (exports, backup, verify).
    pub fn stored_events(&self) -> StoredEventIter {
        StoredEventIter {
            inner: self.tree(T::Events).iter(),
        }
    }

    pub fn record(&self, seq: u64) -> Result<Option<Record>> {
        match self.tree(T::Events).get(seq_key(seq))? {
            None => Ok(None),
            Some(v) => decode_record(seq, &v).map(Some),
        }
    }

    pub fn stored_record(&self, seq: u64) -> Result<Option<StoredRecord>> {
        match self.tree(T::Events).get(seq_key(seq))? {
            None => Ok(None),
            Some(v) => StoredRecord::decode(seq, &v).map(Some),
        }
    }

    /// A job's records in seq order, streaming.
    pub fn events_of_job_iter(&self, job: &str) -> impl Iterator<Item = Result<Record>> + '_ {
        let prefix = str_key(job);
        SeqListIter {
            store: self,
            prefix_len: prefix.len(),
            keys: self.tree(T::JobEvents).scan_prefix(prefix),
        }
    }

    pub fn events_of_job(&self, job: &str) -> Result<Vec<Record>> {
        self.events_of_job_iter(job).collect()
    }

    /// Records about people rather than jobs (enrolment, updates, certification,
    /// revocation, deactivation, PIN, login/logout, lockout), in seq order: what a
    /// roster fold needs. Sign-offs and reviews are job records; find them with
    /// `jobs_by_person`.
    pub fn people_events(&self) -> impl Iterator<Item = Result<Record>> + '_ {
        SeqListIter {
            store: self,
            prefix_len: 0,
            keys: self.tree(T::PersonEvents).iter(),
        }
    }

    /// A job folded from its records; `None` if it never started.
    pub fn job(&self, id: &str) -> Result<Option<Job>> {
        let records = self.events_of_job(id)?;
        Ok(Job::fold(&records))
    }

    /// The status the index holds for a job, without folding it.
    pub fn job_status(&self, id: &str) -> Result<Option<JobStatus>> {
        let Some(v) = self.tree(T::JobStatus).get(str_key(id))? else {
            return Ok(None);
        };
        ALL_STATUSES
            .iter()
            .find(|s| s.as_str().as_bytes() == v.as_ref())
            .copied()
            .map(Some)
            .ok_or_else(|| index_damage("job_status"))
    }

    /// Jobs done on a board, by job id.
    pub fn jobs_by_serial(&self, serial: &str) -> Result<Vec<String>> {
        self.second_components(T::BySerial, &str_key(serial))
    }

    /// Jobs that recorded a material lot (where-used), by job id.
    pub fn jobs_by_lot(&self, lot: &str) -> Result<Vec<String>> {
        self.second_components(T::ByLot, &str_key(lot))
    }

    /// Where-used: every job that recorded `lot`, with the board it was on.
    pub fn where_used(&self, lot: &str) -> Result<Vec<LotUse>> {
        let prefix = str_key(lot);
        self.tree(T::ByLot)
            .scan_prefix(&prefix)
            .map(|kv| {
                let (k, v) = kv?;
                let job = k
                    .get(prefix.len()..)
                    .and_then(keys::take_str)
                    .map(|(s, _)| s.to_string());
                match (job, std::str::from_utf8(&v)) {
                    (Some(job), Ok(serial)) => Ok(LotUse {
                        job,
                        board_serial: serial.to_string(),
                    }),
                    _ => Err(index_damage("idx_lot")),
                }
            })
            .collect()
    }

    /// Jobs a badge took part in: performed, signed, reviewed or acted on.
    pub fn jobs_by_person(&self, badge: &str) -> Result<Vec<String>> {
        self.second_components(T::ByPerson, &str_key(badge))
    }

    /// Jobs whose current status is `status`, by job id.
    pub fn jobs_by_status(&self, status: JobStatus) -> Result<Vec<String>> {
        self.second_components(T::ByStatus, &str_key(status.as_str()))
    }

    /// Jobs started on UTC days `from..=to`, in day then job-id order.
    pub fn jobs_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<String>> {
        if from > to {
            return Ok(Vec::new());
        }
        let start = keys::day_key(from).to_vec();
        let end = match to.succ_opt() {
            Some(next) => keys::day_key(next).to_vec(),
            None => day_index_key(to, "\u{10FFFF}"),
        };
        self.tree(T::ByDay)
            .range(start..end)
            .keys()
            .map(|k| {
                let k = k?;
                k.get(4..)
                    .and_then(keys::take_str)
                    .map(|(job, _)| job.to_string())
                    .ok_or_else(|| index_damage("idx_day"))
            })
            .collect()
    }

    /// Every started job in start-day then job-id order, streaming.
    pub fn job_ids(&self) -> impl Iterator<Item = Result<String>> + '_ {
        self.tree(T::ByDay).iter().keys().map(|k| {
            let k = k?;
            k.get(4..)
                .and_then(keys::take_str)
                .map(|(job, _)| job.to_string())
                .ok_or_else(|| index_damage("idx_day"))
        })
    }

    /// The second string of every key in `tree` that starts with `prefix`.
    fn second_components(&self, t: T, prefix: &[u8]) -> Result<Vec<String>> {
        self.tree(t)
            .scan_prefix(prefix)
            .keys()
            .map(|k| {
                let k = k?;
                k.get(prefix.len()..)
                    .and_then(keys::take_str)
                    .map(|(s, _)| s.to_string())
                    .ok_or_else(|| index_damage("an index"))
            })
            .collect()
    }
}

const ALL_STATUSES: [JobStatus; 7] = [
    JobStatus::InProgress,
    JobStatus::Held,
    JobStatus::Suspended,
    JobStatus::Aborted,
    JobStatus::Submitted,
    JobStatus::Approved,
    JobStatus::Rejected,
];
