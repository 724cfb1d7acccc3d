//! The hub's side of the hub→bench mirror: the records of the hub's own chain that
//! the asking bench follows (`domain::hub_records::for_bench`: the shop roster,
//! locks, releases, its own confirmed log-ins), after a seq, with what a bench needs
//! to check them itself.
//!
//! Not every hub record is for benches (review decisions are not), so a bench
//! cannot check the chain's links from the records it copies alone. The feed
//! therefore lists *every* record after the bench's cursor: seq, prev_hash and hash
//! for each, and the exact bytes only of those benches copy. The bench checks that
//! the entries are consecutive and linked (each prev_hash is the hash before it,
//! starting from the hash it last saw), and each copied record's bytes against its
//! hash (`store::wire::check_hub_record`): a hub that rewrote its history, skipped
//! a record or sent other bytes is caught at the bench.
//!
//! `GET /v1/hub/head` is the cheap question a bench asks every second: the seq and
//! hash of the hub chain's last record.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};

use super::chain;
use super::db;
use super::wire::{Head, Refusal};
use crate::domain::hub_records::for_bench;

/// A refusal as the bench's sync task reads every answer of the hub.
pub struct PlainRefusal(pub Refusal);

impl From<Refusal> for PlainRefusal {
    fn from(r: Refusal) -> Self {
        PlainRefusal(r)
    }
}

impl axum::response::IntoResponse for PlainRefusal {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.0.status())
            .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
        (status, Json(self.0)).into_response()
    }
}

/// Most entries in one answer; a bench far behind asks again from the last one.
pub const MAX_ENTRIES: usize = 1000;

/// One record of the hub chain after the bench's cursor.
#[derive(Serialize, Deserialize, Debug)]
pub struct FeedEntry {
    pub seq: u64,
    /// Hex; the hash of record `seq - 1` (zeros for the first).
    pub prev_hash: String,
    /// Hex chain hash of the record.
    pub hash: String,
    /// The record's exact canonical bytes (JSON), for records benches copy only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Box<serde_json::value::RawValue>>,
}

/// The hub chain after a seq, as far as `head` (or `MAX_ENTRIES` of it).
#[derive(Serialize, Deserialize, Debug)]
pub struct Feed {
    /// The hub chain's head when this was read.
    pub head: Head,
    pub entries: Vec<FeedEntry>,
}

#[derive(Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

fn unavailable(e: impl std::fmt::Display) -> PlainRefusal {
    PlainRefusal::from(Refusal::Unavailable {
        detail: e.to_string(),
    })
}

async fn caller(pool: &Pool, headers: &HeaderMap) -> Result<db::Caller, PlainRefusal> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(PlainRefusal::from(Refusal::UnknownToken))?;
    db::authenticate(pool, token.trim())
        .await
        .map_err(PlainRefusal::from)
}

async fn get_head(
    State(pool): State<Pool>,
    headers: HeaderMap,
) -> Result<Json<Head>, PlainRefusal> {
    caller(&pool, &headers).await?;
    let c = db::client(&pool)
        .await
        .map_err(|e| PlainRefusal::from(Refusal::from(e)))?;
    let h = chain::head(&**c).await.map_err(unavailable)?;
    Ok(Json(Head {
        seq: h.seq,
        hash: h.hash_hex(),
    }))
}

/// Reads the feed after `after` (pure over the database's answer).
pub async fn read(
    c: &impl tokio_postgres::GenericClient,
    after: u64,
    limit: usize,
    bench: &str,
) -> Result<Feed, chain::ChainError> {
    let head = chain::head(c).await?;
    let rows = c
        .query(
            "SELECT seq, prev_hash, hash, bytes FROM hub_chain
             WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
            &[
                &(after.min(i64::MAX as u64) as i64),
                &(head.seq as i64),
                &(limit.clamp(1, MAX_ENTRIES) as i64),
            ],
        )
        .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let seq = r.get::<_, i64>(0) as u64;
        let (prev, hash, bytes): (Vec<u8>, Vec<u8>, Vec<u8>) = (r.get(1), r.get(2), r.get(3));
        let damaged = |what: &str| chain::ChainError::Damaged {
            seq,
            what: what.to_string(),
        };
        let rec = crate::store::wire::decode(seq, &bytes)
            .map_err(|e| damaged(&e.to_string()))?
            .record;
        let record = if for_bench(&rec.event, bench) {
            let text = String::from_utf8(bytes).map_err(|_| damaged("not UTF-8"))?;
            Some(serde_json::value::RawValue::from_string(text).map_err(|_| damaged("not JSON"))?)
        } else {
            None
        };
        entries.push(FeedEntry {
            seq,
            prev_hash: hex::encode(prev),
            hash: hex::encode(hash),
            record,
        });
    }
    Ok(Feed {
        head: Head {
            seq: head.seq,
            hash: head.hash_hex(),
        },
        entries,
    })
}

async fn get_records(
    State(pool): State<Pool>,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Result<Json<Feed>, PlainRefusal> {
    // The roster's records carry PIN hashes: benches only.
    let who = caller(&pool, &headers).await?;
    if who.kind != db::Kind::Bench {
        return Err(PlainRefusal::from(Refusal::BadRequest {
            detail: format!(
                "{} holds a desk token: the hub's records are for benches",
                who.bench
            ),
        }));
    }
    let c = db::client(&pool)
        .await
        .map_err(|e| PlainRefusal::from(Refusal::from(e)))?;
    let feed = read(&**c, q.after, q.limit.unwrap_or(MAX_ENTRIES), &who.bench)
        .await
        .map_err(unavailable)?;
    Ok(Json(feed))
}

/// The routes of the feed, merged into the service's router.
pub fn routes(pool: Pool) -> Router {
    Router::new()
        .route("/v1/hub/head", get(get_head))
        .route("/v1/hub/records", get(get_records))
        .with_state(pool)
}
