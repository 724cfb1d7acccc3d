//! Derived index entries. Everything here is a function of the events alone, so
//! `reindex` can throw it all away and rebuild it.

use crate::domain::event::{Event, Record, SYSTEM_ACTOR};
use crate::domain::job::{Job, JobStatus};

use super::keys::{day_key, pair_key, push_str, seq_key, str_key};

/// The trees of one store. Index trees hold keys only (empty values) unless noted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum T {
    /// seq BE -> canonical record bytes.
    Events = 0,
    /// name -> value (chain head, format version, reindex marker).
    Meta,
    /// (job, seq BE) -> ().
    JobEvents,
    /// seq BE -> (): records not tied to a job (enrolment, certification, login ...).
    PersonEvents,
    /// (serial, job) -> ().
    BySerial,
    /// (lot, job) -> board serial, so where-used names boards without folding jobs.
    /// Needs the job's start, so it is written with the status, not per record.
    ByLot,
    /// (badge, job) -> (): performer, signers, reviewer and actors.
    ByPerson,
    /// (status, job) -> ().
    ByStatus,
    /// job -> status name (what ByStatus currently holds for it).
    JobStatus,
    /// (day of JobStarted, job) -> ().
    ByDay,
    /// (job, step, time, channel) -> celsius; written outside the chain transaction.
    Samples,
}

pub(crate) const TREE_NAMES: [&str; 11] = [
    "events",
    "meta",
    "job_events",
    "person_events",
    "idx_serial",
    "idx_lot",
    "idx_person",
    "idx_status",
    "job_status",
    "idx_day",
    "samples",
];

/// Trees `reindex` clears and rebuilds.
pub(crate) const INDEX_TREES: [T; 8] = [
    T::JobEvents,
    T::PersonEvents,
    T::BySerial,
    T::ByLot,
    T::ByPerson,
    T::ByStatus,
    T::JobStatus,
    T::ByDay,
];

/// Trees the append transaction writes (the samples tree is not among them).
pub(crate) const CHAIN_TREES: [T; 10] = [
    T::Events,
    T::Meta,
    T::JobEvents,
    T::PersonEvents,
    T::BySerial,
    T::ByLot,
    T::ByPerson,
    T::ByStatus,
    T::JobStatus,
    T::ByDay,
];

pub(crate) struct Write {
    pub tree: T,
    pub key: Vec<u8>,
    /// `None` removes the key.
    pub value: Option<Vec<u8>>,
}

impl Write {
    pub fn put(tree: T, key: Vec<u8>, value: Vec<u8>) -> Write {
        Write {
            tree,
            key,
            value: Some(value),
        }
    }

    pub fn mark(tree: T, key: Vec<u8>) -> Write {
        Write::put(tree, key, Vec::new())
    }
}

pub(crate) fn job_events_key(job: &str, seq: u64) -> Vec<u8> {
    let mut k = str_key(job);
    k.extend_from_slice(&seq_key(seq));
    k
}

pub(crate) fn day_index_key(day: chrono::NaiveDate, job: &str) -> Vec<u8> {
    let mut k = day_key(day).to_vec();
    push_str(&mut k, job);
    k
}

/// Index entries that depend on this record alone (everything but status).
pub(crate) fn static_writes(rec: &Record, out: &mut Vec<Write>) {
    let Some(job) = rec.event.job() else {
        out.push(Write::mark(T::PersonEvents, seq_key(rec.seq).to_vec()));
        return;
    };
    out.push(Write::mark(T::JobEvents, job_events_key(job, rec.seq)));
    if let Some(badge) = rec.event.person() {
        out.push(Write::mark(T::ByPerson, pair_key(badge, job)));
    }
    if rec.actor != SYSTEM_ACTOR && !rec.actor.is_empty() {
        out.push(Write::mark(T::ByPerson, pair_key(&rec.actor, job)));
    }
    if let Event::JobStarted { board_serial, .. } = &rec.event {
        out.push(Write::mark(T::BySerial, pair_key(board_serial, job)));
        out.push(Write::mark(
            T::ByDay,
            day_index_key(rec.time.date_naive(), job),
        ));
    }
}

/// Moves a job's status entry from `old` to `new`.
pub(crate) fn status_writes(
    job: &str,
    old: Option<JobStatus>,
    new: Option<JobStatus>,
    out: &mut Vec<Write>,
) {
    if old == new {
        return;
    }
    if let Some(old) = old {
        out.push(Write {
            tree: T::ByStatus,
            key: pair_key(old.as_str(), job),
            value: None,
        });
    }
    match new {
        Some(new) => {
            out.push(Write::mark(T::ByStatus, pair_key(new.as_str(), job)));
            out.push(Write::put(
                T::JobStatus,
                str_key(job),
                new.as_str().as_bytes().to_vec(),
            ));
        }
        None => out.push(Write {
            tree: T::JobStatus,
            key: str_key(job),
            value: None,
        }),
    }
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
pub(crate) fn lot_write(job: &Job, rec: &Record, out: &mut Vec<Write>) {
    if let Event::LotRecorded { lot, .. } = &rec.event {
        out.push(Write::put(
            T::ByLot,
            pair_key(lot, &job.id),
            job.board_serial.as_bytes().to_vec(),
        ));
    }
}

/// Every where-used entry of a folded job (for rebuilding).
pub(crate) fn lot_writes_of(job: &Job, out: &mut Vec<Write>) {
    for l in &job.lots {
        out.push(Write::put(
            T::ByLot,
            pair_key(&l.lot, &job.id),
            job.board_serial.as_bytes().to_vec(),
        ));
    }
}
