//! Exports of the traceability record (JSON, CSV, CFX, HTML) and the queries that find
//! it (board history, where-used).
//!
//! Every export walks the jobs of a [`Scope`] one at a time: a job is folded from its
//! events, written, and dropped before the next is read, so memory stays flat however
//! many jobs the store holds.

pub mod cfx;
pub mod csv;
pub mod html;
pub mod json;
pub mod queries;
mod scope;
pub mod svg;

use std::path::PathBuf;

use crate::domain::event::Record;
use crate::domain::job::Job;
use crate::instruction::{Instruction, Library};
use crate::store::{Store, StoreError, StoredRecord};

pub use json::{ExportVerifyReport, verify_json_export};
pub use scope::Scope;

/// What an export should hold beyond the record itself.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Full temperature traces (every stored sample), not just the step summaries.
    pub samples: bool,
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub jobs: u64,
    pub events: u64,
    pub samples: u64,
    /// Files written (CSV tables, HTML reports); empty for a single stream.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("job {job}: {what}")]
    Job { job: String, what: String },

    #[error("writing {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{0}")]
    Io(#[from] std::io::Error),

    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),

    #[error("CSV: {0}")]
    Csv(#[from] ::csv::Error),

    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// Called after each job with the number of jobs written so far.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// One job as the exports see it: the fold, the records it was folded from (with
/// their stored bytes and hashes when asked for), and its instruction when the
/// library still has it.
pub struct JobBundle<'l> {
    pub job: Job,
    pub records: Vec<StoredOrPlain>,
    pub instruction: Option<&'l Instruction>,
}

/// A job record, with its stored bytes and hash when the export carries hashes.
pub enum StoredOrPlain {
    Stored(StoredRecord),
    Plain(Record),
}

impl StoredOrPlain {
    pub fn record(&self) -> &Record {
        match self {
            StoredOrPlain::Stored(s) => &s.record,
            StoredOrPlain::Plain(r) => r,
        }
    }
}

/// Reads and folds one job from its records up to seq `upto` (the chain head the
/// export started from, so records appended meanwhile stay out of it); `None` when
/// the job has no record that early. `with_hashes` re-reads each record with its
/// stored bytes, so the exported hash is the one the chain holds, never one
/// recomputed from a re-encoding.
pub fn load_job<'l>(
    store: &Store,
    library: &'l Library,
    id: &str,
    upto: u64,
    with_hashes: bool,
) -> Result<Option<JobBundle<'l>>> {
    let mut records = Vec::new();
    if with_hashes {
        for stored in store.stored_events_of_job(id)? {
            if stored.record.seq > upto {
                break;
            }
            records.push(StoredOrPlain::Stored(stored));
        }
    } else {
        for rec in store.events_of_job_iter(id) {
            let rec = rec?;
            if rec.seq > upto {
                break;
            }
            records.push(StoredOrPlain::Plain(rec));
        }
    }
    if records.is_empty() {
        return Ok(None);
    }
    let job =
        Job::fold(records.iter().map(StoredOrPlain::record)).ok_or_else(|| ExportError::Job {
            job: id.to_string(),
            what: "no job-started record (run `traveler verify`)".into(),
        })?;
    // The text the job ran (by hash; see core::library_with_archive), else today's.
    let instruction = library
        .instructions
        .iter()
        .find(|i| i.hash == job.instruction_hash)
        .or_else(|| library.instruction(&job.instruction_id));
    Ok(Some(JobBundle {
        job,
        records,
        instruction,
    }))
}

/// "7711 3.1.1" as the standard names it: "IPC-7711 3.1.1".
pub fn procedure_name(reference: &str) -> String {
    match reference.split_once(' ') {
        Some((doc, number)) if doc.chars().all(|c| c.is_ascii_digit()) => {
            format!("IPC-{doc} {number}")
        }
        _ => reference.to_string(),
    }
}

/// The procedures a job's instruction references, with titles where the catalog has
/// them; empty when the instruction is no longer in the library.
pub fn job_procedures(library: &Library, instruction: Option<&Instruction>) -> Vec<String> {
    let Some(instruction) = instruction else {
        return Vec::new();
    };
    instruction
        .procedure_refs()
        .iter()
        .map(|r| match library.procedure(r) {
            Some(p) => format!("{} {}", procedure_name(r), p.title),
            None => procedure_name(r),
        })
        .collect()
}

/// 1-based step number as the technician saw it.
pub fn step_no(step: u32) -> u32 {
    step.saturating_add(1)
}

/// RFC 3339 in UTC with milliseconds: the one time format of every export.
pub fn time_str(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A file name safe on every platform for an id of the technician's choosing.
pub fn file_stem(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("job_{s}")
    } else {
        s
    }
}

/// The release a job's instruction text was, in words for reports: "WI-CHIP-001 rev
/// A, released 2026-12-01 by Eva Berg (ECO-0042); superseded by rev B on 2026-12-02
/// after this job started", or that it was never released.
pub fn release_text(
    book: &crate::domain::release::ReleaseBook,
    job: &crate::domain::job::Job,
) -> String {
    let Some(r) = book.by_hash(&job.instruction_hash) else {
        return format!(
            "{} rev {}: not a released revision (run where releases were not required)",
            job.instruction_id, job.instruction_rev
        );
    };
    let mut s = format!(
        "{} rev {}, released {}{} by {} ({}; {})",
        r.instruction_id,
        r.revision,
        r.effective.format("%Y-%m-%d %H:%M UTC"),
        // Released for the shop at the hub, and copied here.
        r.hub.as_ref().map_or(String::new(), |h| format!(
            " at the hub (hub record {})",
            h.seq
        )),
        r.by_name,
        r.by,
        r.reason
    );
    if let Some(next) = book.superseded_by(r) {
        let when = if next.effective > job.started {
            "after this job started"
        } else {
            "before this job started"
        };
        s.push_str(&format!(
            "; superseded by rev {} on {} {when}",
            next.revision,
            next.effective.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    s
}
