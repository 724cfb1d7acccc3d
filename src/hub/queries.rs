//! Shop-wide reads: the hub sends each matching job's records verbatim and the same
//! fold and rules the bench uses turn them into rows, each naming its bench.

use serde::Serialize;

use crate::domain::event::{Event, Record};
use crate::domain::job::{Job, JobStatus};
use crate::export::queries::{
    HistoryEntry, LocationCycles, LotUse, OpenReview, history_entry, rework_cycles,
};
use crate::instruction::Library;

use super::wire::ShopJob;

#[derive(Debug, thiserror::Error)]
#[error("bench {bench} store {store_id} job {job}: a record this traveler cannot read ({detail})")]
pub struct UnreadableRecord {
    pub bench: String,
    pub store_id: String,
    pub job: String,
    pub detail: String,
}

/// A job decoded and folded, with where it was done.
pub struct FoldedJob {
    pub bench: String,
    pub store_id: String,
    pub records: Vec<Record>,
    pub job: Job,
}

pub fn fold(jobs: Vec<ShopJob>) -> Result<Vec<FoldedJob>, UnreadableRecord> {
    let mut out = Vec::with_capacity(jobs.len());
    for j in jobs {
        let records = j
            .records
            .iter()
            .map(|r| {
                let bytes = r.get().as_bytes();
                let seq = crate::store::wire::head(bytes).map_or(0, |h| h.seq);
                crate::store::wire::decode(seq, bytes).map(|d| d.record)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UnreadableRecord {
                bench: j.bench.clone(),
                store_id: j.store_id.clone(),
                job: j.job.clone(),
                detail: e.to_string(),
            })?;
        if let Some(job) = Job::fold(&records) {
            out.push(FoldedJob {
                bench: j.bench,
                store_id: j.store_id,
                records,
                job,
            });
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShopLotUse {
    pub bench: String,
    pub store_id: String,
    #[serde(flatten)]
    pub used: LotUse,
}

/// Every use of `lot` across the shop, in time order.
pub fn where_used(jobs: &[FoldedJob], lot: &str) -> Vec<ShopLotUse> {
    let mut out = Vec::new();
    for f in jobs {
        for rec in &f.records {
            if let Event::LotRecorded {
                step,
                material,
                lot: l,
                expiry,
                ..
            } = &rec.event
                && l == lot
            {
                out.push(ShopLotUse {
                    bench: f.bench.clone(),
                    store_id: f.store_id.clone(),
                    used: LotUse {
                        lot: lot.to_string(),
                        serial: f.job.board_serial.clone(),
                        job: f.job.id.clone(),
                        step: *step,
                        material: material.clone(),
                        expiry: *expiry,
                        time: rec.time,
                        status: f.job.status,
                    },
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (a.used.time, &a.bench, &a.used.job).cmp(&(b.used.time, &b.bench, &b.used.job))
    });
    out
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShopHistoryEntry {
    pub bench: String,
    pub store_id: String,
    #[serde(flatten)]
    pub entry: HistoryEntry,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShopHistory {
    pub serial: String,
    pub jobs: Vec<ShopHistoryEntry>,
    /// Rework cycles per location across every bench the board visited.
    pub cycles: Vec<LocationCycles>,
    /// When the hub read its snapshot (the board look-up, `hub::boards`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn history(jobs: Vec<FoldedJob>, library: &Library, serial: &str) -> ShopHistory {
    let mut rows: Vec<ShopHistoryEntry> = jobs
        .into_iter()
        .filter(|f| f.job.board_serial == serial)
        .map(|f| ShopHistoryEntry {
            bench: f.bench,
            store_id: f.store_id,
            entry: history_entry(library, f.job),
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.entry.started, &a.bench, &a.entry.job).cmp(&(b.entry.started, &b.bench, &b.entry.job))
    });
    // Job ids are unique per store only: cycles name each job with its bench.
    let entries: Vec<HistoryEntry> = rows
        .iter()
        .map(|r| HistoryEntry {
            job: format!("{}:{}", r.bench, r.entry.job),
            ..r.entry.clone()
        })
        .collect();
    ShopHistory {
        serial: serial.to_string(),
        cycles: rework_cycles(&entries),
        jobs: rows,
        as_of: None,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShopReview {
    pub bench: String,
    pub store_id: String,
    #[serde(flatten)]
    pub review: OpenReview,
}

/// Jobs waiting for review across the shop, oldest submission first. The hub
/// narrows the candidates; the fold decides.
pub fn reviews(jobs: Vec<FoldedJob>) -> Vec<ShopReview> {
    let mut out: Vec<ShopReview> = jobs
        .into_iter()
        .filter(|f| f.job.status == JobStatus::Submitted)
        .map(|f| ShopReview {
            bench: f.bench,
            store_id: f.store_id,
            review: OpenReview {
                job: f.job.id,
                serial: f.job.board_serial,
                instruction_id: f.job.instruction_id,
                performer: f.job.performer,
                submitted: f.job.submitted,
            },
        })
        .collect();
    out.sort_by(|a, b| {
        (a.review.submitted, &a.bench, &a.review.job).cmp(&(
            b.review.submitted,
            &b.bench,
            &b.review.job,
        ))
    });
    out
}
