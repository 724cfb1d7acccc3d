//! The hub's copy of one store, served as a traveler backup (JSON Lines, version 2,
//! the format `traveler backup` writes and `Store::restore` reads):
//!
//! ```text
//! {"traveler_backup":2,"store":{"store_id":"<uuid>","bench":"<the store's bench>"},"format":4}
//! {"seq":1,"hash":"<hex>","record":<the bytes the bench stored, verbatim>}
//! ...
//! {"sample":{"job":"J1","step":<sample stream>,"channel":"tc1","time":"...","celsius":231.5}}
//! {"end":{"events":N,"samples":M,"head_seq":N,"head_hash":"<hex>"}}
//! ```
//!
//! A shop-wide export (`traveler export --hub`) restores it into a private, temporary
//! store, which checks every hash again on the desk, and runs the bench's own export
//! writers on it. The hub stores a sealed step's samples with the step and the
//! attempt its seal names; a backup's sample lines name the store's *sample stream*
//! (`job::sample_stream(step, attempt)`), where each attempt of a redone step keeps
//! its own samples. Seals written before attempts had samples of their own (attempt
//! 0) share the step's stream, and the latest of them covers all of it: only that
//! one's block is sent.
//!
//! Whole chains hold the roster's PIN hashes, so a bench's token reads only its own
//! stores; a desk token (quality) reads every store.
//!
//! The head is read first and only records up to it are sent, so records arriving
//! meanwhile stay out (history is append-only: nothing below the head can change).

use std::collections::BTreeMap;

use axum::body::Bytes;
use deadpool_postgres::Pool;
use futures::channel::mpsc;
use futures::{SinkExt, Stream};
use serde::Serialize;

use crate::domain::job::sample_stream;
use crate::store::{BACKUP_VERSION, FORMAT_VERSION, StoreIdentity};

use super::db::{self, Caller, Kind};
use super::wire::{Refusal, WireSample};

/// Records per query while streaming.
const PAGE: i64 = 2000;
/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 256 * 1024;

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable {
        detail: e.to_string(),
    }
}

#[derive(Serialize)]
struct Header<'a> {
    traveler_backup: u32,
    store: &'a StoreIdentity,
    format: u32,
}

#[derive(Serialize)]
struct SampleLine<'a> {
    job: &'a str,
    step: u32,
    channel: &'a str,
    time: chrono::DateTime<chrono::Utc>,
    celsius: f64,
}

#[derive(Serialize)]
struct EndLine {
    events: u64,
    samples: u64,
    head_seq: u64,
    head_hash: String,
}

/// What is known of a store before its lines are streamed.
struct Plan {
    identity: StoreIdentity,
    head_seq: i64,
    head_hash: Vec<u8>,
}

async fn plan(pool: &Pool, caller: &Caller, store_id: &str) -> Result<Plan, Refusal> {
    let c = db::client(pool).await?;
    // The store's own bench name: the one its first record names, else the one its
    // bench reported (stores migrated from before identities name it later).
    let row = c
        .query_opt(
            "SELECT s.head_seq, s.head_hash,
                    coalesce(r.doc -> 'store' ->> 'bench', nullif(s.store_bench, ''), s.bench),
                    s.bench
             FROM hub_stores s
             LEFT JOIN hub_records r ON r.store_id = s.store_id AND r.seq = 1
             WHERE s.store_id = $1",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Refusal::BadRequest {
            detail: format!("the hub holds no store {store_id}"),
        })?;
    // A whole chain holds the roster's PIN hashes: a bench token reads its own
    // stores only; the shop's reads are for desk tokens.
    let owner: String = row.get(3);
    if caller.kind == Kind::Bench && owner != caller.bench {
        return Err(Refusal::StoreClaimed {
            store_id: store_id.to_string(),
            owner,
            bench: caller.bench.clone(),
        });
    }
    Ok(Plan {
        identity: StoreIdentity {
            store_id: store_id.to_string(),
            bench: row.get(2),
        },
        head_seq: row.get(0),
        head_hash: row.get(1),
    })
}

/// The store as backup lines, in chunks. A failure mid-way ends the stream with an
/// error, so the receiver sees a backup without its end line (truncated), never a
/// short one that looks whole.
pub async fn stream(
    pool: Pool,
    caller: &Caller,
    store_id: String,
) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + use<>, Refusal> {
    let plan = plan(&pool, caller, &store_id).await?;
    let (mut tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut out = Vec::with_capacity(CHUNK + 4096);
        let result = write_lines(&pool, &store_id, &plan, &mut out, &mut tx).await;
        let last = match result {
            Ok(()) => Ok(Bytes::from(out)),
            Err(e) => {
                tracing::warn!(store_id, "serving the store as a backup failed: {e}");
                Err(std::io::Error::other(e.to_string()))
            }
        };
        let _ = tx.send(last).await;
    });
    Ok(rx)
}

async fn flush_if_full(
    out: &mut Vec<u8>,
    tx: &mut mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Refusal> {
    if out.len() >= CHUNK {
        let chunk = Bytes::from(std::mem::take(out));
        tx.send(Ok(chunk))
            .await
            .map_err(|_| unavailable("the reader went away"))?;
    }
    Ok(())
}

async fn write_lines(
    pool: &Pool,
    store_id: &str,
    plan: &Plan,
    out: &mut Vec<u8>,
    tx: &mut mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Refusal> {
    let c = db::client(pool).await?;
    serde_json::to_writer(
        &mut *out,
        &Header {
            traveler_backup: BACKUP_VERSION,
            store: &plan.identity,
            format: FORMAT_VERSION,
        },
    )
    .map_err(unavailable)?;
    out.push(b'\n');

    let mut after = 0i64;
    let mut events = 0u64;
    while after < plan.head_seq {
        let rows = c
            .query(
                "SELECT seq, hash, bytes FROM hub_records
                 WHERE store_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                &[&store_id, &after, &plan.head_seq, &PAGE],
            )
            .await
            .map_err(unavailable)?;
        if rows.is_empty() {
            return Err(unavailable(format!(
                "store {store_id}: records after {after} are missing below its head {}",
                plan.head_seq
            )));
        }
        for r in &rows {
            let seq: i64 = r.get(0);
            let hash: &[u8] = r.get(1);
            let bytes: &[u8] = r.get(2);
            out.extend_from_slice(b"{\"seq\":");
            out.extend_from_slice(seq.to_string().as_bytes());
            out.extend_from_slice(b",\"hash\":\"");
            out.extend_from_slice(hex::encode(hash).as_bytes());
            out.extend_from_slice(b"\",\"record\":");
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"}\n");
            after = seq;
            events += 1;
        }
        flush_if_full(out, tx).await?;
    }

    // Which block each (job, sample stream) takes: the latest seal's.
    let seals = c
        .query(
            "SELECT m.seal_seq, m.job, m.step, coalesce((r.doc -> 'event' ->> 'attempt')::int, 0)
             FROM hub_samples m
             JOIN hub_records r ON r.store_id = m.store_id AND r.seq = m.seal_seq
             WHERE m.store_id = $1 AND m.seal_seq <= $2 ORDER BY m.seal_seq",
            &[&store_id, &plan.head_seq],
        )
        .await
        .map_err(unavailable)?;
    let mut chosen: BTreeMap<(String, u32), i64> = BTreeMap::new();
    for r in &seals {
        let (seal, job, step, attempt): (i64, String, i32, i32) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let stream = sample_stream(step.max(0) as u32, attempt.max(0) as u32);
        chosen.insert((job, stream), seal);
    }
    let mut samples = 0u64;
    for ((job, stream), seal) in &chosen {
        let row = c
            .query_one(
                "SELECT samples FROM hub_samples WHERE store_id = $1 AND seal_seq = $2",
                &[&store_id, seal],
            )
            .await
            .map_err(unavailable)?;
        let points: Vec<WireSample> = serde_json::from_value(row.get::<_, serde_json::Value>(0))
            .map_err(|e| {
                unavailable(format!(
                    "store {store_id}: the samples sealed by record {seal}: {e}"
                ))
            })?;
        for p in &points {
            out.extend_from_slice(b"{\"sample\":");
            serde_json::to_writer(
                &mut *out,
                &SampleLine {
                    job,
                    step: *stream,
                    channel: &p.channel,
                    time: p.time,
                    celsius: p.celsius,
                },
            )
            .map_err(unavailable)?;
            out.extend_from_slice(b"}\n");
            samples += 1;
        }
        flush_if_full(out, tx).await?;
    }

    out.extend_from_slice(b"{\"end\":");
    serde_json::to_writer(
        &mut *out,
        &EndLine {
            events,
            samples,
            head_seq: plan.head_seq as u64,
            head_hash: hex::encode(&plan.head_hash),
        },
    )
    .map_err(unavailable)?;
    out.extend_from_slice(b"}\n");
    Ok(())
}
