//! What the desk (`traveler desk --hub URL`) reads from the hub: the review queue
//! across every bench with how far each bench's chain has reached the hub, one job's
//! whole record as the hub verified it (records verbatim, the archived instruction
//! text, the samples of each step's latest sealed attempt, the hub's decisions on
//! it), and a long-poll of changes fed by LISTEN/NOTIFY (`notify`).
//!
//! Nothing is decided here: the desk folds the records with the bench's own
//! `Job::fold`, and a decision goes through `POST /v1/reviews` (`review`).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::db;
use super::notify::{Changes, Listener};
use super::review::{PlainRefusal, QueueEntry};
use super::wire::{Refusal, WireSample};
use crate::domain::types::Decision;

/// The longest a desk's long-poll waits before it is answered "nothing new".
pub const LONG_POLL: Duration = Duration::from_secs(25);

/// A bench whose chain the hub has not wholly received: what it last reported
/// holding against what the hub holds. Its newest submissions may be missing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BenchLag {
    pub bench: String,
    pub store_id: String,
    pub hub_seq: u64,
    pub bench_seq: u64,
    pub reported_at: Option<DateTime<Utc>>,
}

/// The queue as the desk's first screen shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DeskQueue {
    /// Read before the queue: a change after it moves the generation past this.
    pub changes: Changes,
    pub entries: Vec<QueueEntry>,
    pub lagging: Vec<BenchLag>,
}

/// An archived instruction text, as the job ran it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DeskInstruction {
    pub seq: u64,
    pub hash: String,
    pub file_name: String,
    pub text: String,
}

/// One sealed attempt's samples, in digest order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DeskSamples {
    pub seal_seq: u64,
    pub step: u32,
    pub samples: Vec<WireSample>,
}

/// A decision the hub recorded on one of the job's submissions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HubDecision {
    pub hub_seq: u64,
    pub submitted_seq: u64,
    pub decision: Decision,
    pub reviewer: String,
    pub reviewer_name: String,
    pub comment: String,
    pub time: DateTime<Utc>,
}

/// One job's whole record at the hub.
#[derive(Serialize, Deserialize, Debug)]
pub struct DeskJob {
    pub bench: String,
    pub store_id: String,
    pub job: String,
    /// The bench's records of the job, verbatim, in chain order.
    pub records: Vec<Box<RawValue>>,
    pub instruction: Option<DeskInstruction>,
    pub samples: Vec<DeskSamples>,
    /// Latest seals of steps whose samples have not reached the hub yet.
    pub samples_pending: Vec<u64>,
    pub decisions: Vec<HubDecision>,
    /// The hub's head of the store and what the bench last reported holding.
    pub hub_seq: u64,
    pub bench_seq: u64,
}

/// Where a job of some id is held.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JobPlace {
    pub bench: String,
    pub store_id: String,
    pub job: String,
}

#[derive(Clone)]
struct DeskState {
    pool: Pool,
    listener: Listener,
}

async fn authorised(pool: &Pool, headers: &HeaderMap) -> Result<db::Caller, PlainRefusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(PlainRefusal::from(Refusal::UnknownToken))?;
    db::authenticate(pool, token.trim())
        .await
        .map_err(PlainRefusal::from)
}

fn unavailable(e: impl std::fmt::Display) -> PlainRefusal {
    PlainRefusal::from(Refusal::Unavailable {
        detail: e.to_string(),
    })
}

/// The queue and the benches behind, read at one generation.
pub async fn desk_queue(pool: &Pool, changes: Changes) -> Result<DeskQueue, PlainRefusal> {
    let entries = super::review::queue(pool).await.map_err(|e| match e {
        super::review::ReviewRefusal::Hub(r) => PlainRefusal::from(r),
        other => unavailable(other),
    })?;
    let c = db::client(pool).await.map_err(unavailable)?;
    let lagging = c
        .query(
            "SELECT bench, store_id, head_seq, bench_head_seq, bench_head_at FROM hub_stores
             WHERE coalesce(bench_head_seq, 0) > head_seq ORDER BY bench, store_id",
            &[],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .map(|r| BenchLag {
            bench: r.get(0),
            store_id: r.get(1),
            hub_seq: r.get::<_, i64>(2) as u64,
            bench_seq: r.get::<_, Option<i64>>(3).unwrap_or(0) as u64,
            reported_at: r.get(4),
        })
        .collect();
    Ok(DeskQueue {
        changes,
        entries,
        lagging,
    })
}

async fn get_queue(
    State(s): State<DeskState>,
    headers: HeaderMap,
) -> Result<Json<DeskQueue>, PlainRefusal> {
    authorised(&s.pool, &headers).await?;
    // The generation first: whatever commits after it is heard by the next poll.
    let changes = s.listener.now();
    Ok(Json(desk_queue(&s.pool, changes).await?))
}

#[derive(Deserialize)]
struct ChangesQuery {
    service: Option<String>,
    #[serde(default)]
    after: u64,
}

async fn get_changes(
    State(s): State<DeskState>,
    headers: HeaderMap,
    Query(q): Query<ChangesQuery>,
) -> Result<Json<Changes>, PlainRefusal> {
    authorised(&s.pool, &headers).await?;
    Ok(Json(
        s.listener
            .after(q.service.as_deref(), q.after, LONG_POLL)
            .await,
    ))
}

#[derive(Deserialize)]
struct FindQuery {
    job: String,
}

async fn get_find(
    State(s): State<DeskState>,
    headers: HeaderMap,
    Query(q): Query<FindQuery>,
) -> Result<Json<Vec<JobPlace>>, PlainRefusal> {
    authorised(&s.pool, &headers).await?;
    let c = db::client(&s.pool).await.map_err(unavailable)?;
    let rows = c
        .query(
            // One index probe per store (hub_records_job leads with the store).
            "SELECT s.bench, s.store_id, $1::text FROM hub_stores s
             WHERE EXISTS (SELECT 1 FROM hub_records r WHERE r.store_id = s.store_id
                 AND r.job = $1::text AND r.kind = 'job_started')
             ORDER BY s.bench, s.store_id",
            &[&q.job.trim()],
        )
        .await
        .map_err(unavailable)?;
    Ok(Json(
        rows.iter()
            .map(|r| JobPlace {
                bench: r.get(0),
                store_id: r.get(1),
                job: r.get(2),
            })
            .collect(),
    ))
}

/// One job's record, instruction, samples and hub decisions, or `None` when the
/// hub holds no record of it.
pub async fn desk_job(
    pool: &Pool,
    store_id: &str,
    job: &str,
) -> Result<Option<DeskJob>, PlainRefusal> {
    let c = db::client(pool).await.map_err(unavailable)?;
    let Some(store) = c
        .query_opt(
            "SELECT bench, head_seq, coalesce(bench_head_seq, 0) FROM hub_stores
             WHERE store_id = $1",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let rows = c
        .query(
            "SELECT seq, bytes, kind, (doc -> 'event' ->> 'step')::int,
                    doc -> 'event' ->> 'instruction_hash',
                    coalesce((doc -> 'event' ->> 'sample_count')::bigint, 0)
             FROM hub_records WHERE store_id = $1 AND job = $2 ORDER BY seq",
            &[&store_id, &job],
        )
        .await
        .map_err(unavailable)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut records = Vec::with_capacity(rows.len());
    let mut seals: Vec<(i64, u32)> = Vec::new();
    // Seals that covered no samples: nothing of theirs is on its way.
    let mut empty_seals: Vec<i64> = Vec::new();
    let mut hash: Option<String> = None;
    for r in &rows {
        let seq: i64 = r.get(0);
        let raw = String::from_utf8(r.get(1))
            .ok()
            .and_then(|s| RawValue::from_string(s).ok())
            .ok_or_else(|| unavailable(format!("record {seq} of {store_id} is not JSON")))?;
        records.push(raw);
        match r.get::<_, Option<String>>(2).as_deref() {
            Some("step_completed") => {
                let step = r.get::<_, Option<i32>>(3).unwrap_or(0).max(0) as u32;
                seals.push((seq, step));
                if r.get::<_, i64>(5) == 0 {
                    empty_seals.push(seq);
                }
            }
            Some("job_started") => hash = r.get(4),
            _ => {}
        }
    }
    // The instruction text as the job ran it: archived once per hash in the
    // bench's chain (by whichever job ran it first) or released with its text.
    let instruction = match &hash {
        None => None,
        Some(h) => c
            .query_opt(
                "SELECT seq, doc -> 'event' ->> 'file_name', doc -> 'event' ->> 'text'
                 FROM hub_records WHERE store_id = $1
                 AND kind IN ('instruction_archived', 'instruction_released')
                 AND doc -> 'event' ->> 'hash' = $2 AND doc -> 'event' ->> 'text' IS NOT NULL
                 ORDER BY seq LIMIT 1",
                &[&store_id, h],
            )
            .await
            .map_err(unavailable)?
            .map(|r| DeskInstruction {
                seq: r.get::<_, i64>(0) as u64,
                hash: h.clone(),
                file_name: r.get::<_, Option<String>>(1).unwrap_or_default(),
                text: r.get::<_, Option<String>>(2).unwrap_or_default(),
            }),
    };
    // The charts show each step's latest attempt: only its seal's samples are sent.
    let mut latest: std::collections::BTreeMap<u32, i64> = Default::default();
    for (seq, step) in &seals {
        latest.insert(*step, *seq);
    }
    seals.retain(|(seq, step)| latest.get(step) == Some(seq));
    let seal_seqs: Vec<i64> = seals.iter().map(|s| s.0).collect();
    let held = c
        .query(
            "SELECT seal_seq, samples FROM hub_samples WHERE store_id = $1
             AND seal_seq = ANY($2) ORDER BY seal_seq",
            &[&store_id, &seal_seqs],
        )
        .await
        .map_err(unavailable)?;
    let mut samples = Vec::with_capacity(held.len());
    for r in &held {
        let seal: i64 = r.get(0);
        let step = seals.iter().find(|s| s.0 == seal).map_or(0, |s| s.1);
        let list: Vec<WireSample> = serde_json::from_value(r.get(1))
            .map_err(|e| unavailable(format!("samples of record {seal} of {store_id}: {e}")))?;
        samples.push(DeskSamples {
            seal_seq: seal as u64,
            step,
            samples: list,
        });
    }
    let samples_pending = seals
        .iter()
        .filter(|(seq, _)| !empty_seals.contains(seq))
        .filter(|(seq, _)| !samples.iter().any(|s| s.seal_seq == *seq as u64))
        .map(|(seq, _)| *seq as u64)
        .collect();
    let decisions = c
        .query(
            "SELECT seq, doc -> 'event', doc ->> 'time' FROM hub_chain
             WHERE kind = 'review_decided' AND doc -> 'event' ->> 'store_id' = $1
             AND doc -> 'event' ->> 'job' = $2 ORDER BY seq",
            &[&store_id, &job],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .filter_map(|r| {
            let e: serde_json::Value = r.get(1);
            let s = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            Some(HubDecision {
                hub_seq: r.get::<_, i64>(0) as u64,
                submitted_seq: e.get("submitted_seq")?.as_u64()?,
                decision: serde_json::from_value(e.get("decision")?.clone()).ok()?,
                reviewer: s("reviewer").to_string(),
                reviewer_name: s("reviewer_name").to_string(),
                comment: s("comment").to_string(),
                time: r
                    .get::<_, Option<String>>(2)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or_default(),
            })
        })
        .collect();
    Ok(Some(DeskJob {
        bench: store.get(0),
        store_id: store_id.to_string(),
        job: job.to_string(),
        records,
        instruction,
        samples,
        samples_pending,
        decisions,
        hub_seq: store.get::<_, i64>(1) as u64,
        bench_seq: store.get::<_, i64>(2) as u64,
    }))
}

async fn get_job(
    State(s): State<DeskState>,
    headers: HeaderMap,
    Path((store_id, job)): Path<(String, String)>,
) -> Result<Json<DeskJob>, PlainRefusal> {
    authorised(&s.pool, &headers).await?;
    match desk_job(&s.pool, &store_id, &job).await? {
        Some(j) => Ok(Json(j)),
        None => Err(PlainRefusal::from(Refusal::BadRequest {
            detail: format!("the hub holds no record of job {job} in store {store_id}"),
        })),
    }
}

/// The desk's routes, merged into the service's router; `listener` is the
/// service's one LISTEN connection.
pub fn routes(pool: Pool, listener: Listener) -> Router {
    Router::new()
        .route("/v1/desk/queue", get(get_queue))
        .route("/v1/desk/changes", get(get_changes))
        .route("/v1/desk/find", get(get_find))
        .route("/v1/desk/jobs/{store}/{job}", get(get_job))
        .with_state(DeskState { pool, listener })
}

/// The desk's side of these routes.
impl super::client::HubClient {
    pub async fn desk_queue(&self) -> Result<DeskQueue, super::client::ClientError> {
        self.answer(self.http().get(format!("{}/v1/desk/queue", self.url())))
            .await
    }

    /// Answers once the hub heard of a change after `after` (of `service`), or
    /// after [`LONG_POLL`] with nothing new.
    pub async fn desk_changes(
        &self,
        service: Option<&str>,
        after: u64,
    ) -> Result<Changes, super::client::ClientError> {
        let mut q: Vec<(&str, String)> = vec![("after", after.to_string())];
        if let Some(s) = service {
            q.push(("service", s.to_string()));
        }
        self.answer(
            self.http()
                .get(format!("{}/v1/desk/changes", self.url()))
                .query(&q)
                .timeout(LONG_POLL + Duration::from_secs(10)),
        )
        .await
    }

    pub async fn desk_find(&self, job: &str) -> Result<Vec<JobPlace>, super::client::ClientError> {
        self.answer(
            self.http()
                .get(format!("{}/v1/desk/find", self.url()))
                .query(&[("job", job)]),
        )
        .await
    }

    pub async fn desk_job(
        &self,
        store_id: &str,
        job: &str,
    ) -> Result<DeskJob, super::client::ClientError> {
        // Job ids are the shop's (scanned, typed): each goes in as one escaped path
        // segment, so a `/`, `?` or `#` in it can name no other job or route.
        let mut url = reqwest::Url::parse(self.url())
            .map_err(|e| super::client::ClientError::Config(format!("{}: {e}", self.url())))?;
        url.path_segments_mut()
            .map_err(|()| {
                super::client::ClientError::Config(format!("{} cannot take a path", self.url()))
            })?
            .pop_if_empty()
            .extend(["v1", "desk", "jobs", store_id, job]);
        self.answer(self.http().get(url)).await
    }
}

/// The latest seal of each step of a job (its records, in order) that covers
/// samples, where the hub holds no verified samples for it (`hub_samples` rows are
/// checked against the seal's count and digest on arrival): what the desk shows as
/// pending, and why the hub refuses a decision on the job until they arrive.
pub async fn seals_without_samples(
    c: &tokio_postgres::Transaction<'_>,
    store_id: &str,
    records: &[crate::domain::event::Record],
) -> Result<Vec<u64>, tokio_postgres::Error> {
    use crate::domain::event::Event;
    let mut latest: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
    for r in records {
        if let Event::StepCompleted {
            step, sample_count, ..
        } = &r.event
        {
            latest.insert(*step, (r.seq, *sample_count));
        }
    }
    let seals: Vec<i64> = latest
        .values()
        .filter(|(_, count)| *count > 0)
        .map(|(seq, _)| *seq as i64)
        .collect();
    if seals.is_empty() {
        return Ok(Vec::new());
    }
    let held: Vec<i64> = c
        .query(
            "SELECT seal_seq FROM hub_samples WHERE store_id = $1 AND seal_seq = ANY($2)",
            &[&store_id, &seals],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(seals
        .into_iter()
        .filter(|s| !held.contains(s))
        .map(|s| s as u64)
        .collect())
}
