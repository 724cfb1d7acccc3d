//! Reviews at the hub: a supervisor approves or rejects one bench submission from
//! any PC, with badge and PIN, and the decision goes into the hub's own chain
//! (`chain`) referencing the bench, seq and hash of the `JobSubmitted` it decides.
//!
//! The rules are the bench's: the PIN is checked by `people::auth::check_pin` against
//! the hub's roster (Argon2id, the policy's lockout, a wrong PIN recorded in the hub
//! chain), and the decision is `domain::decide` of `Command::Review` on the job
//! folded from the hub's verified copy of the bench chain, so self-review, the
//! inspector rule and the supervisor role are the same code. What only the hub can
//! know is checked here, under the chain's lock: the submission was received and
//! verified, it is the job's latest, and nobody decided it yet (here or at the bench).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};

use crate::domain::command::{AuthFailure, Command, Rejection};
use crate::domain::decide::{Situation, decide};
use crate::domain::event::{Event, Record};
use crate::domain::hub_review::{HubDecision, NotAdmitted, admit};
use crate::domain::job::Job;
use crate::domain::policy::Policy;
use crate::domain::types::Decision;

use super::chain::{self, ChainError};
use super::db;
use super::wire::Refusal;

/// What the purpose of a PIN typed for a review is called in the record.
pub const PIN_PURPOSE: &str = "review at the hub";

/// A decision asked for, naming the exact submission the reviewer was shown.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct ReviewRequest {
    pub store_id: String,
    pub job: String,
    pub submitted_seq: u64,
    /// Hex chain hash of the `JobSubmitted` record.
    pub submitted_hash: String,
    pub decision: Decision,
    pub comment: String,
    pub badge: String,
    pub pin: String,
}

impl std::fmt::Debug for ReviewRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ReviewRequest({} {} seq {} {:?} by {}, PIN hidden)",
            self.store_id, self.job, self.submitted_seq, self.decision, self.badge
        )
    }
}

/// The decision as the hub recorded it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReviewReply {
    pub hub_seq: u64,
    pub hub_hash: String,
    pub store_id: String,
    pub bench: String,
    pub job: String,
    pub submitted_seq: u64,
    pub decision: Decision,
    pub reviewer: String,
    pub reviewer_name: String,
    pub time: DateTime<Utc>,
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "approved",
        Decision::Rejected => "rejected",
    }
}

/// Why the hub did not record a decision. Nothing was written, except a wrong PIN's
/// record (and the lock it caused) in the hub chain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum ReviewRefusal {
    #[error(
        "the hub has not received record {seq} of store {store_id}: the bench has not synced it yet"
    )]
    NotReceived { store_id: String, seq: u64 },
    #[error(
        "record {seq} of store {store_id} at the hub has hash {held}, not {claimed}: not the submission shown"
    )]
    OtherRecord {
        store_id: String,
        seq: u64,
        held: String,
        claimed: String,
    },
    #[error("record {seq} of store {store_id} is not job {job}'s submission")]
    NotASubmission {
        store_id: String,
        seq: u64,
        job: String,
    },
    #[error(
        "store {store_id} was offered a fork at record {fork_seq}: no decision on it until that is resolved"
    )]
    Forked { store_id: String, fork_seq: u64 },
    #[error("job {job} was submitted again (record {latest}): review that submission")]
    Superseded { job: String, latest: u64 },
    #[error("job {job}'s submission was already {} at the hub by {reviewer} (hub record {hub_seq})", decision_word(*.decision))]
    DecidedAtHub {
        job: String,
        hub_seq: u64,
        decision: Decision,
        reviewer: String,
    },
    #[error("job {job}'s submission was already {} at its bench by {reviewer} (record {seq})", decision_word(*.decision))]
    ReviewedAtBench {
        job: String,
        seq: u64,
        decision: Decision,
        reviewer: String,
    },
    #[error(
        "the hub was started without a policy (serve it with --instructions DIR): no PIN is checked"
    )]
    NoPolicy,
    /// The PIN proved nothing (wrong, locked, unknown or deactivated badge).
    #[error("{message}")]
    Pin {
        badge: String,
        message: String,
        /// Wrong PINs in a row, this one included (for a wrong PIN).
        failures: Option<u32>,
        locked_until: Option<DateTime<Utc>>,
    },
    /// The bench's rules refused the decision (`domain::decide`): own work, role,
    /// job status, comment. `rejection` is the typed reason as data.
    #[error("{message}")]
    Rules {
        message: String,
        rejection: serde_json::Value,
    },
    #[error("{0}")]
    Hub(Refusal),
    /// The samples a sealed step of the job covers have not reached the hub (or not
    /// verified): nobody decides on charts the hub has not seen.
    #[error(
        "the temperature samples of job {job}'s sealed step(s) (record(s) {seals:?}) have not reached the hub yet: the bench has not synced them"
    )]
    SamplesNotReceived { job: String, seals: Vec<u64> },
}

impl ReviewRefusal {
    pub fn status(&self) -> u16 {
        match self {
            ReviewRefusal::NotReceived { .. } => 404,
            ReviewRefusal::OtherRecord { .. }
            | ReviewRefusal::NotASubmission { .. }
            | ReviewRefusal::Superseded { .. }
            | ReviewRefusal::DecidedAtHub { .. }
            | ReviewRefusal::ReviewedAtBench { .. }
            | ReviewRefusal::Forked { .. } => 409,
            ReviewRefusal::Pin { .. } => 403,
            ReviewRefusal::Rules { .. } => 422,
            ReviewRefusal::NoPolicy => 503,
            ReviewRefusal::Hub(r) => r.status(),
            ReviewRefusal::SamplesNotReceived { .. } => 409,
        }
    }
}

impl From<Refusal> for ReviewRefusal {
    fn from(r: Refusal) -> Self {
        ReviewRefusal::Hub(r)
    }
}

impl From<ChainError> for ReviewRefusal {
    fn from(e: ChainError) -> Self {
        ReviewRefusal::Hub(Refusal::Unavailable {
            detail: e.to_string(),
        })
    }
}

impl From<tokio_postgres::Error> for ReviewRefusal {
    fn from(e: tokio_postgres::Error) -> Self {
        ChainError::Db(e).into()
    }
}

impl From<db::DbError> for ReviewRefusal {
    fn from(e: db::DbError) -> Self {
        ReviewRefusal::Hub(e.into())
    }
}

impl IntoResponse for ReviewRefusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}

fn pin_refusal(f: &AuthFailure) -> ReviewRefusal {
    let (badge, failures, locked_until) = match f {
        AuthFailure::UnknownBadge { badge } | AuthFailure::Deactivated { badge } => {
            (badge, None, None)
        }
        AuthFailure::Locked { badge, until } => (badge, None, Some(*until)),
        AuthFailure::WrongPin {
            badge,
            failures,
            locked_until,
            ..
        } => (badge, Some(*failures), *locked_until),
    };
    ReviewRefusal::Pin {
        badge: badge.clone(),
        message: f.to_string(),
        failures,
        locked_until,
    }
}

fn rules_refusal(r: &Rejection) -> ReviewRefusal {
    ReviewRefusal::Rules {
        message: r.to_string(),
        rejection: serde_json::to_value(r).unwrap_or_default(),
    }
}

/// What the service needs to decide: its database and the shop's policy.
#[derive(Clone)]
pub struct ReviewState {
    pub pool: Pool,
    pub policy: Option<Arc<Policy>>,
}

/// Decides `req` at `now`, in one transaction under the hub chain's lock.
pub async fn review(
    state: &ReviewState,
    req: &ReviewRequest,
    now: DateTime<Utc>,
) -> Result<ReviewReply, ReviewRefusal> {
    let policy = state.policy.as_deref().ok_or(ReviewRefusal::NoPolicy)?;
    let mut c = db::client(&state.pool).await?;
    // Who: the PIN against the hub's roster, by the bench's rules (Argon2 before the
    // chain's lock; a refusal recorded).
    let super::people::LockedSigner {
        tx,
        roster,
        person: reviewer,
    } = super::people::check_pin_locked(&mut c, policy, &req.badge, &req.pin, PIN_PURPOSE, now)
        .await?
        .map_err(|f| pin_refusal(&f))?;

    // What: the submission as the hub received and verified it.
    let store = tx
        .query_opt(
            "SELECT bench, fork_seq FROM hub_stores WHERE store_id = $1",
            &[&req.store_id],
        )
        .await?;
    let not_received = || ReviewRefusal::NotReceived {
        store_id: req.store_id.clone(),
        seq: req.submitted_seq,
    };
    let Some(store) = store else {
        return Err(not_received());
    };
    let bench: String = store.get(0);
    if let Some(fork_seq) = store.get::<_, Option<i64>>(1) {
        return Err(ReviewRefusal::Forked {
            store_id: req.store_id.clone(),
            fork_seq: fork_seq as u64,
        });
    }
    let held = tx
        .query_opt(
            "SELECT hash, kind, job FROM hub_records WHERE store_id = $1 AND seq = $2",
            &[&req.store_id, &(req.submitted_seq as i64)],
        )
        .await?
        .ok_or_else(not_received)?;
    let held_hash = hex::encode(held.get::<_, Vec<u8>>(0));
    if held_hash != req.submitted_hash.to_ascii_lowercase() {
        return Err(ReviewRefusal::OtherRecord {
            store_id: req.store_id.clone(),
            seq: req.submitted_seq,
            held: held_hash,
            claimed: req.submitted_hash.clone(),
        });
    }
    let (kind, job_id): (Option<String>, Option<String>) = (held.get(1), held.get(2));
    if kind.as_deref() != Some("job_submitted") || job_id.as_deref() != Some(req.job.as_str()) {
        return Err(ReviewRefusal::NotASubmission {
            store_id: req.store_id.clone(),
            seq: req.submitted_seq,
            job: req.job.clone(),
        });
    }

    // Nobody decided it yet at the hub (also enforced by a unique index), nor at
    // the bench since, and it is the job's latest submission (`domain::hub_review`).
    let at_hub = decided_at_hub(&tx, &req.store_id, req.submitted_seq).await?;
    let records = job_records(&tx, &req.store_id, &req.job).await?;
    admit(req.submitted_seq, &records, at_hub.as_ref()).map_err(|n| not_admitted(&req.job, n))?;
    let job = Job::fold(&records);
    let seals = super::desk::seals_without_samples(&tx, &req.store_id, &records).await?;
    if !seals.is_empty() {
        let job = req.job.clone();
        return Err(ReviewRefusal::SamplesNotReceived { job, seals });
    }

    // The decision itself: the bench's rules, on the hub's copy of the bench's chain.
    let situation = Situation {
        bench: &bench,
        policy: Some(policy),
        actor: Some(&reviewer),
        roster: Some(&roster),
        job: job.as_ref(),
        ..Situation::default()
    };
    let command = Command::Review {
        job: req.job.clone(),
        decision: req.decision,
        comment: req.comment.clone(),
    };
    let events = decide(&situation, &command, now).map_err(|r| rules_refusal(&r))?;
    let decided: Vec<(DateTime<Utc>, String, Event)> = events
        .into_iter()
        .map(|e| {
            let e = match e {
                Event::JobReviewed {
                    job,
                    decision,
                    reviewer,
                    reviewer_name,
                    comment,
                } => Event::ReviewDecided {
                    store_id: req.store_id.clone(),
                    bench: bench.clone(),
                    job,
                    submitted_seq: req.submitted_seq,
                    submitted_hash: held_hash.clone(),
                    decision,
                    reviewer,
                    reviewer_name,
                    comment,
                },
                other => other,
            };
            (now, reviewer.badge.clone(), e)
        })
        .collect();
    let written = chain::append(&tx, decided).await?;
    // Desks following the queue hear of it once this commits (`notify`).
    super::notify::decided(&tx, &req.store_id).await?;
    tx.commit().await?;
    let rec = written
        .iter()
        .find(|r| matches!(r.record.event, Event::ReviewDecided { .. }))
        .ok_or_else(|| {
            ReviewRefusal::Hub(Refusal::Unavailable {
                detail: "the decision produced no review record".into(),
            })
        })?;
    Ok(ReviewReply {
        hub_seq: rec.record.seq,
        hub_hash: rec.hash_hex(),
        store_id: req.store_id.clone(),
        bench,
        job: req.job.clone(),
        submitted_seq: req.submitted_seq,
        decision: req.decision,
        reviewer: reviewer.badge.clone(),
        reviewer_name: reviewer.name.clone(),
        time: now,
    })
}

/// The refusal for a submission `domain::hub_review::admit` turned away.
fn not_admitted(job: &str, n: NotAdmitted) -> ReviewRefusal {
    let job = job.to_string();
    match n {
        NotAdmitted::DecidedAtHub {
            hub_seq,
            decision,
            reviewer,
        } => ReviewRefusal::DecidedAtHub {
            job,
            hub_seq,
            decision,
            reviewer,
        },
        NotAdmitted::ReviewedAtBench {
            seq,
            decision,
            reviewer,
        } => ReviewRefusal::ReviewedAtBench {
            job,
            seq,
            decision,
            reviewer,
        },
        NotAdmitted::Superseded { latest } => ReviewRefusal::Superseded { job, latest },
    }
}

/// The hub's earlier decision on a submission, read from the record's own bytes: a
/// record that does not decode to a `ReviewDecided` with a known decision is damage,
/// never taken for an approval.
fn decision_of(seq: u64, bytes: &[u8]) -> Result<HubDecision, ChainError> {
    let damaged = |what: String| ChainError::Damaged { seq, what };
    let d = crate::store::wire::decode(seq, bytes).map_err(|e| damaged(e.to_string()))?;
    match d.record.event {
        Event::ReviewDecided {
            decision, reviewer, ..
        } => Ok(HubDecision {
            hub_seq: seq,
            decision,
            reviewer,
        }),
        other => Err(damaged(format!(
            "a review_decided record holds {}",
            other.kind()
        ))),
    }
}

/// The hub chain's decision on the submission at `seq` of `store_id`, if any.
async fn decided_at_hub(
    tx: &tokio_postgres::Transaction<'_>,
    store_id: &str,
    seq: u64,
) -> Result<Option<HubDecision>, ReviewRefusal> {
    let row = tx
        .query_opt(
            "SELECT seq, bytes FROM hub_chain WHERE kind = 'review_decided'
             AND doc -> 'event' ->> 'store_id' = $1
             AND (doc -> 'event' ->> 'submitted_seq')::bigint = $2",
            &[&store_id, &(seq as i64)],
        )
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some(decision_of(r.get::<_, i64>(0) as u64, r.get(1))?)),
    }
}

/// One job's records of one store as the hub holds them, decoded, in order.
async fn job_records(
    tx: &tokio_postgres::Transaction<'_>,
    store_id: &str,
    job: &str,
) -> Result<Vec<Record>, ReviewRefusal> {
    let rows = tx
        .query(
            "SELECT seq, bytes FROM hub_records WHERE store_id = $1 AND job = $2 ORDER BY seq",
            &[&store_id, &job],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let seq = r.get::<_, i64>(0) as u64;
            crate::store::wire::decode(seq, r.get(1))
                .map(|d| d.record)
                .map_err(|e| {
                    ChainError::Damaged {
                        seq,
                        what: format!("store {store_id}: {e}"),
                    }
                    .into()
                })
        })
        .collect()
}

async fn authorised(pool: &Pool, headers: &HeaderMap) -> Result<db::Caller, ReviewRefusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refusal::UnknownToken)?;
    Ok(db::authenticate(pool, token.trim()).await?)
}

async fn post_review(
    State(state): State<ReviewState>,
    headers: HeaderMap,
    Json(req): Json<ReviewRequest>,
) -> Result<Json<ReviewReply>, ReviewRefusal> {
    // Any enrolled bench or desk may carry a review: the PIN says who decides.
    authorised(&state.pool, &headers).await?;
    let reply = review(&state, &req, Utc::now()).await;
    match &reply {
        Ok(r) => tracing::info!(
            store = %r.store_id, job = %r.job, hub_seq = r.hub_seq, "review recorded"
        ),
        Err(e) => tracing::info!(store = %req.store_id, job = %req.job, "review refused: {e}"),
    }
    reply.map(Json)
}

/// The hub's chain head and whether every record of it still holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChainStatus {
    pub seq: u64,
    pub hash: String,
    pub fault: Option<String>,
}

async fn get_chain(
    State(state): State<ReviewState>,
    headers: HeaderMap,
) -> Result<Json<ChainStatus>, ReviewRefusal> {
    authorised(&state.pool, &headers).await?;
    let c = db::client(&state.pool).await?;
    Ok(Json(match chain::verify(&**c).await {
        Ok(h) => ChainStatus {
            seq: h.seq,
            hash: h.hash_hex(),
            fault: None,
        },
        Err(ChainError::Damaged { seq, what }) => ChainStatus {
            seq,
            hash: String::new(),
            fault: Some(format!("hub record {seq}: {what}")),
        },
        Err(e) => return Err(e.into()),
    }))
}

/// A record of the hub chain as sent to a bench: its bytes verbatim (as JSON) and
/// its hash, so the bench checks SHA-256(seq ‖ prev ‖ bytes) itself.
#[derive(Serialize, Deserialize, Debug)]
pub struct WireHubRecord {
    pub seq: u64,
    pub hash: String,
    pub record: Box<serde_json::value::RawValue>,
}

/// The hub's decisions on a store's submissions that the store has not mirrored
/// yet (as far as the hub's copy of its chain shows), oldest first. Only the bench
/// the store belongs to may ask.
async fn get_decisions(
    State(state): State<ReviewState>,
    axum::extract::Path(store_id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<WireHubRecord>>, PlainRefusal> {
    decisions(&state, &store_id, &headers)
        .await
        .map(Json)
        .map_err(|e| match e {
            ReviewRefusal::Hub(r) => PlainRefusal(r),
            other => PlainRefusal(Refusal::Unavailable {
                detail: other.to_string(),
            }),
        })
}

/// A refusal as the bench's sync task reads every other answer of the hub.
pub struct PlainRefusal(Refusal);

impl From<Refusal> for PlainRefusal {
    fn from(r: Refusal) -> Self {
        PlainRefusal(r)
    }
}

impl IntoResponse for PlainRefusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.0)).into_response()
    }
}

async fn decisions(
    state: &ReviewState,
    store_id: &str,
    headers: &HeaderMap,
) -> Result<Vec<WireHubRecord>, ReviewRefusal> {
    let caller = authorised(&state.pool, headers).await?;
    let c = db::client(&state.pool).await?;
    let owner: Option<String> = c
        .query_opt(
            "SELECT bench FROM hub_stores WHERE store_id = $1",
            &[&store_id],
        )
        .await?
        .map(|r| r.get(0));
    if caller.kind != db::Kind::Bench || owner.as_deref() != Some(caller.bench.as_str()) {
        return Err(ReviewRefusal::Hub(Refusal::BadRequest {
            detail: format!("store {store_id} is not a store of bench {}", caller.bench),
        }));
    }
    let rows = c
        .query(
            "SELECT c.seq, c.hash, c.bytes FROM hub_chain c
             WHERE c.kind = 'review_decided' AND c.doc -> 'event' ->> 'store_id' = $1
             AND NOT EXISTS (SELECT 1 FROM hub_records r WHERE r.store_id = $1
                 AND r.kind = 'review_mirrored'
                 AND (r.doc -> 'event' ->> 'hub_seq')::bigint = c.seq)
             ORDER BY c.seq",
            &[&store_id],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let seq = r.get::<_, i64>(0) as u64;
        let bytes: Vec<u8> = r.get(2);
        let record = String::from_utf8(bytes)
            .ok()
            .and_then(|s| serde_json::value::RawValue::from_string(s).ok())
            .ok_or_else(|| {
                ReviewRefusal::from(ChainError::Damaged {
                    seq,
                    what: "not JSON".into(),
                })
            })?;
        out.push(WireHubRecord {
            seq,
            hash: hex::encode(r.get::<_, Vec<u8>>(1)),
            record,
        });
    }
    Ok(out)
}

/// One submission waiting for a decision, across the shop.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct QueueEntry {
    pub bench: String,
    pub store_id: String,
    pub job: String,
    pub serial: String,
    pub instruction_id: String,
    pub performer: String,
    pub submitted_seq: u64,
    pub submitted_hash: String,
    pub submitted_at: Option<DateTime<Utc>>,
    /// How many deviations the record holds, and in words ("none" when clean).
    pub deviations: usize,
    pub deviation_headline: String,
}

/// The seq and hash of the job's latest `JobSubmitted`, from its bytes as stored.
pub fn latest_submission(job: &super::wire::ShopJob) -> Option<(u64, String)> {
    let mut latest = None;
    for raw in &job.records {
        let bytes = raw.get().as_bytes();
        let Ok(head) = crate::store::wire::head(bytes) else {
            continue;
        };
        let Ok(d) = crate::store::wire::decode(head.seq, bytes) else {
            continue;
        };
        if matches!(d.record.event, Event::JobSubmitted { .. }) {
            latest = Some((
                head.seq,
                hex::encode(crate::store::chain_hash(head.seq, &head.prev_hash, bytes)),
            ));
        }
    }
    latest
}

/// Every submission waiting for a decision: submitted at its bench, not reviewed
/// there, not decided here; oldest first.
pub async fn queue(pool: &Pool) -> Result<Vec<QueueEntry>, ReviewRefusal> {
    let jobs = db::jobs(pool, &db::JobFilter::Submitted).await?;
    let c = db::client(pool).await?;
    let subs: std::collections::HashMap<(String, String), (u64, String)> = jobs
        .iter()
        .filter_map(|j| Some(((j.store_id.clone(), j.job.clone()), latest_submission(j)?)))
        .collect();
    // Decisions on these submissions only (the one-decision index answers it).
    let (stores, seqs): (Vec<String>, Vec<i64>) = subs
        .iter()
        .map(|((store, _), (seq, _))| (store.clone(), *seq as i64))
        .unzip();
    let decided: std::collections::HashSet<(String, i64)> = c
        .query(
            "SELECT k.store_id, k.seq FROM unnest($1::text[], $2::int8[]) AS k(store_id, seq)
             WHERE EXISTS (SELECT 1 FROM hub_chain WHERE kind = 'review_decided'
                 AND doc -> 'event' ->> 'store_id' = k.store_id
                 AND (doc -> 'event' ->> 'submitted_seq')::bigint = k.seq)",
            &[&stores, &seqs],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let folded = super::queries::fold(jobs).map_err(|e| {
        ReviewRefusal::Hub(Refusal::Unavailable {
            detail: e.to_string(),
        })
    })?;
    let mut out: Vec<QueueEntry> = folded
        .into_iter()
        .filter_map(|f| {
            let (seq, hash) = subs.get(&(f.store_id.clone(), f.job.id.clone()))?.clone();
            if f.job.status != crate::domain::job::JobStatus::Submitted
                || decided.contains(&(f.store_id.clone(), seq as i64))
            {
                return None;
            }
            let dev = crate::domain::deviations::deviations_summary(&f.job);
            Some(QueueEntry {
                bench: f.bench,
                store_id: f.store_id,
                job: f.job.id.clone(),
                serial: f.job.board_serial.clone(),
                instruction_id: f.job.instruction_id.clone(),
                performer: f.job.performer.clone(),
                submitted_seq: seq,
                submitted_hash: hash,
                submitted_at: f.job.submitted,
                deviations: dev.flags.len(),
                deviation_headline: dev.headline(),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.submitted_at, &a.bench, &a.job).cmp(&(b.submitted_at, &b.bench, &b.job)));
    Ok(out)
}

async fn get_queue(
    State(state): State<ReviewState>,
    headers: HeaderMap,
) -> Result<Json<Vec<QueueEntry>>, PlainRefusal> {
    let run = async {
        authorised(&state.pool, &headers).await?;
        queue(&state.pool).await
    };
    run.await.map(Json).map_err(|e| match e {
        ReviewRefusal::Hub(r) => PlainRefusal(r),
        other => PlainRefusal(Refusal::Unavailable {
            detail: other.to_string(),
        }),
    })
}

/// The routes of reviews at the hub, merged into the service's router.
pub fn routes(pool: Pool, policy: Option<Policy>) -> Router {
    Router::new()
        .route("/v1/reviews", post(post_review))
        .route("/v1/reviews/queue", get(get_queue))
        .route("/v1/stores/{store}/decisions", get(get_decisions))
        .route("/v1/chain", get(get_chain))
        .with_state(ReviewState {
            pool,
            policy: policy.map(Arc::new),
        })
}

/// The desk's side: asks the hub to record a decision.
pub async fn send(
    url: &str,
    token: &str,
    ca_cert: Option<&std::path::Path>,
    req: &ReviewRequest,
) -> Result<ReviewReply, SendError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(60))
        .use_rustls_tls();
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| SendError::Config(format!("cannot read {}: {e}", path.display())))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| SendError::Config(format!("{}: {e}", path.display())))?;
        b = b.add_root_certificate(cert);
    }
    let http = b.build().map_err(|e| SendError::Config(e.to_string()))?;
    let base = url.trim_end_matches('/');
    let unreachable = |e: reqwest::Error| SendError::Unreachable {
        url: base.to_string(),
        detail: chain_of(&e),
    };
    let resp = http
        .post(format!("{base}/v1/reviews"))
        .bearer_auth(token)
        .json(req)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(unreachable)?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| SendError::Protocol(e.to_string()));
    }
    // A refusal of the review, or of the token by the service's own checks.
    if let Ok(r) = serde_json::from_slice::<ReviewRefusal>(&body) {
        return Err(SendError::Refused(r));
    }
    match serde_json::from_slice::<Refusal>(&body) {
        Ok(r) => Err(SendError::Refused(ReviewRefusal::Hub(r))),
        Err(_) => Err(SendError::Protocol(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        ))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Refused(ReviewRefusal),
    #[error("cannot reach the hub at {url}: {detail}; nothing was decided")]
    Unreachable { url: String, detail: String },
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
    #[error("hub configuration: {0}")]
    Config(String),
}

fn chain_of(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The policy `hub serve` applies to reviews: policy.toml of `instructions`, or of
/// ./instructions when that folder exists; `None` (reviews refused) without one.
pub fn serve_policy(instructions: Option<&std::path::Path>) -> Result<Option<Policy>, String> {
    let default = std::path::Path::new("instructions");
    let dir = match instructions {
        Some(d) => d,
        None if default.is_dir() => default,
        None => {
            tracing::warn!("no instructions folder: reviews at the hub are refused");
            return Ok(None);
        }
    };
    let loaded = crate::instruction::load_dir(dir);
    match loaded.library.policy {
        Some(p) => Ok(Some(p)),
        None => Err(format!(
            "{}: policy.toml did not load (run `traveler check --instructions {}`); the hub needs its PIN lockout for reviews",
            dir.display(),
            dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn decided(decision: Decision) -> Vec<u8> {
        let record = Record {
            seq: 4,
            prev_hash: "00".repeat(32),
            time: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
            actor: "S400".into(),
            event: Event::ReviewDecided {
                store_id: "s".into(),
                bench: "BENCH-A".into(),
                job: "J".into(),
                submitted_seq: 7,
                submitted_hash: "ab".repeat(32),
                decision,
                reviewer: "S400".into(),
                reviewer_name: "S".into(),
                comment: String::new(),
            },
        };
        crate::store::canonical_bytes(&record, None).unwrap()
    }

    fn replaced(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains(from), "{text}");
        text.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn a_hub_decision_is_read_from_its_bytes_and_an_unknown_one_is_damage() {
        let d = decision_of(4, &decided(Decision::Rejected)).unwrap();
        assert_eq!(
            d,
            HubDecision {
                hub_seq: 4,
                decision: Decision::Rejected,
                reviewer: "S400".into(),
            }
        );
        let ok = decided(Decision::Approved);
        let unknown = replaced(&ok, "\"decision\":\"approved\"", "\"decision\":\"maybe\"");
        let null = replaced(&ok, "\"decision\":\"approved\"", "\"decision\":null");
        let missing = replaced(&ok, "\"decision\":\"approved\",", "");
        for (name, bytes) in [("unknown", unknown), ("null", null), ("missing", missing)] {
            assert!(
                matches!(
                    decision_of(4, &bytes),
                    Err(ChainError::Damaged { seq: 4, .. })
                ),
                "a {name} decision is damage, not an approval"
            );
        }
    }
}
