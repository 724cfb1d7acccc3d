//! Reads. Nothing here trusts stored bytes: a damaged record becomes an error that
//! names its seq.

use chrono::NaiveDate;

use crate::domain::event::Record;
use crate::domain::job::{Job, JobStatus};

use super::Store;
use super::chain::{StoredRecord, decode_record};
use super::error::{Result, StoreError};
use super::group::{self, GroupIter};
use super::index::{self, T};
use super::keys::{self, seq_of, str_key};

/// One use of a material lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotUse {
    pub job: String,
    pub board_serial: String,
}

/// All records in seq order, read lazily.
pub struct EventIter {
    inner: GroupIter,
}

impl Iterator for EventIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.inner
                .next()?
                .and_then(|(seq, bytes)| decode_record(seq, &bytes)),
        )
    }
}

/// All records in seq order with their canonical bytes and hash, read lazily.
pub struct StoredEventIter {
    inner: GroupIter,
}

impl Iterator for StoredEventIter {
    type Item = Result<StoredRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.inner
                .next()?
                .and_then(|(seq, bytes)| StoredRecord::decode(seq, &bytes)),
        )
    }
}

/// A group as read: number, value, record ranges, damage that cut it short.
type LoadedGroup = (
    u64,
    sled::IVec,
    Vec<std::ops::Range<usize>>,
    Option<StoreError>,
);

/// Reads records by seq, keeping the last group read (a job's records sit close).
pub(crate) struct GroupCache<'a> {
    store: &'a Store,
    group: Option<LoadedGroup>,
}

impl<'a> GroupCache<'a> {
    pub(crate) fn new(store: &'a Store) -> GroupCache<'a> {
        GroupCache { store, group: None }
    }

    /// The canonical bytes stored for `seq`, if any.
    pub(crate) fn bytes(&mut self, seq: u64) -> Result<Option<Vec<u8>>> {
        if seq == 0 {
            return Ok(None);
        }
        let g = group::group_of(seq);
        if self.group.as_ref().is_none_or(|(n, ..)| *n != g) {
            self.group = match self.store.tree(T::Events).get(group::group_key(g))? {
                None => None,
                Some(v) => {
                    let (ranges, err) = group::split(g, &v);
                    Some((g, v, ranges, err))
                }
            };
        }
        let Some((_, value, ranges, err)) = &self.group else {
            return Ok(None);
        };
        let pos = (seq - group::first_seq(g)) as usize;
        match (ranges.get(pos), err) {
            (Some(r), _) => Ok(Some(value[r.clone()].to_vec())),
            (None, Some(StoreError::Damaged { seq: bad, what })) if *bad <= seq => {
                Err(StoreError::Damaged {
                    seq,
                    what: format!("unreadable, its group is damaged at seq {bad}: {what}"),
                })
            }
            (None, _) => Ok(None),
        }
    }

    pub(crate) fn record(&mut self, seq: u64) -> Result<Option<Record>> {
        match self.bytes(seq)? {
            None => Ok(None),
            Some(b) => decode_record(seq, &b).map(Some),
        }
    }
}

enum Seqs {
    List(std::vec::IntoIter<u64>),
    Keys(Box<sled::Iter>),
}

/// Records listed by seq in an index, read from the event groups.
struct SeqListIter<'a> {
    cache: GroupCache<'a>,
    seqs: Seqs,
}

impl Iterator for SeqListIter<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        let seq = match &mut self.seqs {
            Seqs::List(it) => it.next()?,
            Seqs::Keys(it) => match it.next()? {
                Ok((k, _)) => match seq_of(&k) {
                    Some(seq) => seq,
                    None => return Some(Err(index_damage("person_events"))),
                },
                Err(e) => return Some(Err(e.into())),
            },
        };
        Some(self.cache.record(seq).and_then(|r| {
            r.ok_or_else(|| StoreError::Damaged {
                seq,
                what: "listed by an index but missing from the events".into(),
            })
        }))
    }
}

fn index_damage(what: &str) -> StoreError {
    StoreError::Damaged {
        seq: 0,
        what: format!("an index entry in {what} is unreadable; run `traveler reindex`"),
    }
}

/// A job's stored status and seqs.
pub(crate) fn decode_job(value: &[u8]) -> Option<(Option<JobStatus>, Vec<u64>)> {
    let (&code, seqs) = value.split_first()?;
    if seqs.len() % 8 != 0 {
        return None;
    }
    let status = index::status_of_code(code)?;
    let seqs = seqs
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
        .collect();
    Some((status, seqs))
}

/// The first strings of a list value's entries.
fn list_members(value: &[u8], width: usize, what: &str) -> Result<Vec<String>> {
    let ranges = index::entries(value, width).ok_or_else(|| index_damage(what))?;
    ranges
        .into_iter()
        .map(|r| {
            index::first_str(&value[r])
                .map(str::to_string)
                .ok_or_else(|| index_damage(what))
        })
        .collect()
}

/// Sorts ids as their length-prefixed keys sort: by length, then bytes.
fn sort_ids(ids: &mut [String]) {
    ids.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
}

impl Store {
    /// Every record in seq order, streaming.
    pub fn events(&self) -> EventIter {
        self.events_from(1)
    }

    /// Records from `seq` on (inclusive), streaming.
    pub fn events_from(&self, seq: u64) -> EventIter {
        EventIter {
            inner: GroupIter::new(self.tree(T::Events), seq, u64::MAX),
        }
    }

    /// Every record with its canonical bytes and hash (exports, backup, verify).
    pub fn stored_events(&self) -> StoredEventIter {
        self.stored_events_upto(u64::MAX)
    }

    pub(crate) fn stored_events_upto(&self, to: u64) -> StoredEventIter {
        StoredEventIter {
            inner: GroupIter::new(self.tree(T::Events), 1, to),
        }
    }

    /// Every record's stored bytes in seq order from `from`, undecoded: the raw
    /// sequential read verify, backup and a chain receiver build on.
    pub fn raw_records(&self, from: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        GroupIter::new(self.tree(T::Events), from, u64::MAX)
    }

    pub(crate) fn record_groups_upto(&self, to: u64) -> GroupIter {
        GroupIter::new(self.tree(T::Events), 1, to)
    }

    pub fn record(&self, seq: u64) -> Result<Option<Record>> {
        GroupCache::new(self).record(seq)
    }

    pub fn stored_record(&self, seq: u64) -> Result<Option<StoredRecord>> {
        match GroupCache::new(self).bytes(seq)? {
            None => Ok(None),
            Some(v) => StoredRecord::decode(seq, &v).map(Some),
        }
    }

    /// A job's status code and seqs as stored.
    pub(crate) fn job_entry(&self, job: &str) -> Result<Option<(Option<JobStatus>, Vec<u64>)>> {
        match self.tree(T::Jobs).get(str_key(job))? {
            None => Ok(None),
            Some(v) => decode_job(&v).map(Some).ok_or_else(|| index_damage("jobs")),
        }
    }

    /// A job's records in seq order, streaming.
    pub fn events_of_job_iter(&self, job: &str) -> impl Iterator<Item = Result<Record>> + '_ {
        let (seqs, err) = match self.job_entry(job) {
            Ok(e) => (e.map(|(_, s)| s).unwrap_or_default(), None),
            Err(e) => (Vec::new(), Some(e)),
        };
        err.map(Err).into_iter().chain(SeqListIter {
            cache: GroupCache::new(self),
            seqs: Seqs::List(seqs.into_iter()),
        })
    }

    /// A job's records with their stored bytes and hashes, in seq order. Each event
    /// group is read once, however many of the job's records it holds.
    pub fn stored_events_of_job(&self, job: &str) -> Result<Vec<StoredRecord>> {
        let Some((_, seqs)) = self.job_entry(job)? else {
            return Ok(Vec::new());
        };
        let mut cache = GroupCache::new(self);
        seqs.into_iter()
            .map(|seq| match cache.bytes(seq)? {
                Some(v) => StoredRecord::decode(seq, &v),
                None => Err(StoreError::Damaged {
                    seq,
                    what: "listed for its job but missing from the events".into(),
                }),
            })
            .collect()
    }

    /// A job's records of one kind (`Event::kind`, e.g. "lot_recorded"), in seq
    /// order. Only records whose canonical bytes carry that type tag are decoded,
    /// so a query for a few records of many jobs stays cheap.
    pub fn events_of_job_of_kind(&self, job: &str, kind: &str) -> Result<Vec<Record>> {
        let Some((_, seqs)) = self.job_entry(job)? else {
            return Ok(Vec::new());
        };
        let tag = format!("\"type\":\"{kind}\"");
        let mut cache = GroupCache::new(self);
        let mut out = Vec::new();
        for seq in seqs {
            let Some(bytes) = cache.bytes(seq)? else {
                return Err(StoreError::Damaged {
                    seq,
                    what: "listed for its job but missing from the events".into(),
                });
            };
            if !bytes.windows(tag.len()).any(|w| w == tag.as_bytes()) {
                continue;
            }
            let rec = decode_record(seq, &bytes)?;
            // The tag could also occur inside a free-text field: the decoded kind decides.
            if rec.event.kind() == kind {
                out.push(rec);
            }
        }
        Ok(out)
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
            cache: GroupCache::new(self),
            seqs: Seqs::Keys(Box::new(self.tree(T::PersonEvents).iter())),
        }
    }

    /// A job folded from its records; `None` if it never started.
    pub fn job(&self, id: &str) -> Result<Option<Job>> {
        let records = self.events_of_job(id)?;
        Ok(Job::fold(&records))
    }

    /// The status the index holds for a job, without folding it.
    pub fn job_status(&self, id: &str) -> Result<Option<JobStatus>> {
        Ok(self.job_entry(id)?.and_then(|(s, _)| s))
    }

    /// Jobs done on a board, by job id.
    pub fn jobs_by_serial(&self, serial: &str) -> Result<Vec<String>> {
        self.list_of(T::BySerial, serial, 1)
    }

    /// Jobs that recorded a material lot (where-used), by job id.
    pub fn jobs_by_lot(&self, lot: &str) -> Result<Vec<String>> {
        self.list_of(T::ByLot, lot, 2)
    }

    /// Where-used: every job that recorded `lot`, with the board it was on.
    pub fn where_used(&self, lot: &str) -> Result<Vec<LotUse>> {
        let Some(v) = self.tree(T::ByLot).get(str_key(lot))? else {
            return Ok(Vec::new());
        };
        let ranges = index::entries(&v, 2).ok_or_else(|| index_damage("idx_lot"))?;
        ranges
            .into_iter()
            .map(|r| {
                let e = &v[r];
                let (job, rest) = keys::take_str(e).ok_or_else(|| index_damage("idx_lot"))?;
                let (serial, _) = keys::take_str(rest).ok_or_else(|| index_damage("idx_lot"))?;
                Ok(LotUse {
                    job: job.to_string(),
                    board_serial: serial.to_string(),
                })
            })
            .collect()
    }

    /// Jobs a badge took part in: performed, signed, reviewed or acted on.
    pub fn jobs_by_person(&self, badge: &str) -> Result<Vec<String>> {
        self.list_of(T::ByPerson, badge, 1)
    }

    /// Jobs whose current status is `status`, by job id.
    pub fn jobs_by_status(&self, status: JobStatus) -> Result<Vec<String>> {
        self.list_of(T::ByStatus, status.as_str(), 1)
    }

    /// Jobs started on UTC days `from..=to`, in day then job-id order.
    pub fn jobs_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<String>> {
        if from > to {
            return Ok(Vec::new());
        }
        let start = keys::day_key(from);
        let end = keys::day_key(to);
        let mut out = Vec::new();
        for kv in self.tree(T::ByDay).range(start..=end) {
            let (_, v) = kv?;
            out.extend(list_members(&v, 1, "idx_day")?);
        }
        Ok(out)
    }

    /// Every started job in start-day then job-id order, streaming.
    pub fn job_ids(&self) -> impl Iterator<Item = Result<String>> + '_ {
        self.tree(T::ByDay).iter().flat_map(|kv| {
            let ids: Vec<Result<String>> = match kv {
                Err(e) => vec![Err(e.into())],
                Ok((_, v)) => match list_members(&v, 1, "idx_day") {
                    Ok(ids) => ids.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                },
            };
            ids
        })
    }

    /// The members of a list index under `name`: one key, or its buckets merged.
    fn list_of(&self, t: T, name: &str, width: usize) -> Result<Vec<String>> {
        let what = super::index::TREE_NAMES[t as usize];
        let mut out = Vec::new();
        let mut keys = 0;
        for kv in self.tree(t).scan_prefix(str_key(name)) {
            let (_, v) = kv?;
            out.extend(list_members(&v, width, what)?);
            keys += 1;
        }
        if keys > 1 {
            sort_ids(&mut out);
        }
        Ok(out)
    }
}
