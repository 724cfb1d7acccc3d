//! Traceability queries as plain data, for the command line and the TUI alike.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::event::Event;
use crate::domain::job::{Job, JobStatus};
use crate::instruction::Library;
use crate::store::Store;

use super::{Result, job_procedures};

/// Every job on one board, oldest first, and how often each location was reworked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardHistory {
    pub serial: String,
    pub jobs: Vec<HistoryEntry>,
    /// Per reference designator, in designator order.
    pub cycles: Vec<LocationCycles>,
    /// Where the jobs were counted (every bench through the hub, or this bench
    /// only and why), when the history was asked of the hub too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub job: String,
    pub instruction_id: String,
    pub instruction_rev: String,
    /// `None` when the instruction is no longer in the library.
    pub instruction_title: Option<String>,
    pub procedures: Vec<String>,
    pub refdes: Vec<String>,
    pub defect_ref: String,
    pub status: JobStatus,
    pub performer: String,
    pub started: DateTime<Utc>,
    pub submitted: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// Whether the job counts as a rework cycle (an aborted job counts only if it got
    /// past its first step, as the rework-limit policy counts).
    pub counts_as_cycle: bool,
    /// The bench that recorded the job, when it is another bench than this one
    /// (the hub's verified copy of its chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bench: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationCycles {
    pub refdes: String,
    pub cycles: u32,
    /// Jobs that counted, oldest first.
    pub jobs: Vec<String>,
}

/// One use of a material lot on a board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LotUse {
    pub lot: String,
    pub serial: String,
    pub job: String,
    /// 0-based step index, as in the events.
    pub step: u32,
    pub material: String,
    pub expiry: Option<chrono::NaiveDate>,
    pub time: DateTime<Utc>,
    pub status: JobStatus,
}

/// The history of board `serial`: its jobs in start order and the rework cycles per
/// reference designator (designators compared without regard to case).
pub fn board_history(store: &Store, library: &Library, serial: &str) -> Result<BoardHistory> {
    let mut jobs = Vec::new();
    for id in store.jobs_by_serial(serial)? {
        let Some(job) = store.job(&id)? else {
            continue;
        };
        jobs.push(history_entry(library, job));
    }
    jobs.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.job.cmp(&b.job)));
    Ok(BoardHistory {
        serial: serial.to_string(),
        cycles: rework_cycles(&jobs),
        jobs,
        scope: None,
    })
}

/// A board's history as the rework-cycle limits count it (`core::Core::board_history`):
/// this store's jobs read from the store, the jobs of other benches from the hub's
/// copies (each naming its bench), and the line saying where it was counted.
pub fn counted_board_history(
    store: &Store,
    library: &Library,
    counted: &crate::domain::board::CountedHistory,
) -> Result<BoardHistory> {
    let mut jobs = Vec::new();
    for j in &counted.jobs {
        let here = j.store_id == counted.here;
        let local = if here { store.job(&j.job)? } else { None };
        jobs.push(match local {
            Some(job) => history_entry(library, job),
            None => HistoryEntry {
                bench: (!here).then(|| j.bench.clone()),
                ..board_job_entry(library, j)
            },
        });
    }
    // Job ids are unique per store only: the cycles name other benches' jobs
    // with their bench.
    let keyed: Vec<HistoryEntry> = jobs
        .iter()
        .map(|e| HistoryEntry {
            job: match &e.bench {
                Some(b) => format!("{b}:{}", e.job),
                None => e.job.clone(),
            },
            ..e.clone()
        })
        .collect();
    Ok(BoardHistory {
        serial: counted.serial.clone(),
        cycles: rework_cycles(&keyed),
        jobs,
        scope: Some(counted.record().text()),
    })
}

/// One job as a line of a board's history (shared with the shop-wide history).
pub fn history_entry(library: &Library, job: Job) -> HistoryEntry {
    // The text the job ran (by hash; see core::library_with_archive), else today's.
    let instruction = library
        .instructions
        .iter()
        .find(|i| i.hash == job.instruction_hash)
        .or_else(|| library.instruction(&job.instruction_id));
    let counts_as_cycle =
        job.status != JobStatus::Aborted || job.steps.iter().any(|s| s.completed.is_some());
    HistoryEntry {
        procedures: job_procedures(library, instruction),
        instruction_title: instruction.map(|i| i.spec.title.clone()),
        job: job.id,
        instruction_id: job.instruction_id,
        instruction_rev: job.instruction_rev,
        refdes: job.refdes,
        defect_ref: job.defect_ref,
        status: job.status,
        performer: job.performer,
        started: job.started,
        submitted: job.submitted,
        finished: job.finished,
        counts_as_cycle,
        bench: None,
    }
}

/// A job another store recorded (the hub's copy) as a line of a board's history:
/// procedures named as `history_entry` names them (the text it ran, by hash, else
/// today's by id), else as the job recorded them.
pub fn board_job_entry(library: &Library, j: &crate::domain::board::BoardJob) -> HistoryEntry {
    let instruction = library
        .instructions
        .iter()
        .find(|i| i.hash == j.instruction_hash)
        .or_else(|| library.instruction(&j.instruction_id));
    let named = job_procedures(library, instruction);
    HistoryEntry {
        job: j.job.clone(),
        instruction_id: j.instruction_id.clone(),
        instruction_rev: j.instruction_rev.clone(),
        instruction_title: instruction.map(|i| i.spec.title.clone()),
        procedures: if named.is_empty() {
            j.procedures.clone()
        } else {
            named
        },
        refdes: j.refdes.clone(),
        defect_ref: j.defect_ref.clone(),
        status: j.status,
        performer: j.performer.clone(),
        started: j.started,
        submitted: j.submitted,
        finished: j.finished,
        counts_as_cycle: j.counts_as_cycle,
        bench: None,
    }
}

/// Rework cycles per reference designator over jobs in start order.
pub fn rework_cycles(jobs: &[HistoryEntry]) -> Vec<LocationCycles> {
    let mut by_location: BTreeMap<String, LocationCycles> = BTreeMap::new();
    for j in jobs {
        for r in &j.refdes {
            let entry = by_location
                .entry(r.to_ascii_uppercase())
                .or_insert_with(|| LocationCycles {
                    refdes: r.clone(),
                    cycles: 0,
                    jobs: Vec::new(),
                });
            if j.counts_as_cycle && !entry.jobs.contains(&j.job) {
                entry.cycles += 1;
                entry.jobs.push(j.job.clone());
            }
        }
    }
    by_location.into_values().collect()
}

/// Every recorded use of `lot`, matched without regard to case (a label printed
/// `LOT-FLUX-1` and a code typed `lot-flux-1` are one lot): which board, job and
/// step, which material, which expiry, when. In time order; a recall reads it top to
/// bottom. `lot` of each use is the lot as recorded.
pub fn where_used(store: &Store, lot: &str) -> Result<Vec<LotUse>> {
    let mut out = Vec::new();
    for recorded in store.lots_ignoring_case(lot)? {
        uses_of(store, &recorded, &mut out)?;
    }
    out.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.job.cmp(&b.job)));
    Ok(out)
}

/// The uses of `lot` exactly as recorded.
fn uses_of(store: &Store, lot: &str, out: &mut Vec<LotUse>) -> Result<()> {
    // The lot index names job and board; status comes from the job entry and only
    // the job's lot records are decoded, so no job is folded.
    for entry in store.where_used(lot)? {
        let status = store
            .job_status(&entry.job)?
            .unwrap_or(JobStatus::InProgress);
        for rec in store.events_of_job_of_kind(&entry.job, "lot_recorded")? {
            if let Event::LotRecorded {
                step,
                material,
                lot: l,
                expiry,
                ..
            } = &rec.event
                && l == lot
            {
                out.push(LotUse {
                    lot: l.clone(),
                    serial: entry.board_serial.clone(),
                    job: entry.job.clone(),
                    step: *step,
                    material: material.clone(),
                    expiry: *expiry,
                    time: rec.time,
                    status,
                });
            }
        }
    }
    Ok(())
}

/// A job waiting for a supervisor's review.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenReview {
    pub job: String,
    pub serial: String,
    pub instruction_id: String,
    pub performer: String,
    pub submitted: Option<DateTime<Utc>>,
}

/// Jobs waiting for a supervisor's review, oldest submission first.
pub fn open_reviews(store: &Store) -> Result<Vec<OpenReview>> {
    let mut out = Vec::new();
    for id in store.jobs_by_status(JobStatus::Submitted)? {
        if let Some(job) = store.job(&id)? {
            out.push(OpenReview {
                job: job.id,
                serial: job.board_serial,
                instruction_id: job.instruction_id,
                performer: job.performer,
                submitted: job.submitted,
            });
        }
    }
    out.sort_by(|a, b| {
        a.submitted
            .cmp(&b.submitted)
            .then_with(|| a.job.cmp(&b.job))
    });
    Ok(out)
}
