//! A board's jobs at every bench (#16): `GET /v1/boards?serial=S` answers from every
//! bench's verified copy at the hub, folded by the bench's own `Job::fold`, with the
//! head of each store the answer was read at (one database snapshot), so a bench can
//! record exactly what it counted. The bench side ([`HubBoards`]) asks with a short
//! timeout on a thread of its own: the bench never hangs on the hub.

use std::sync::mpsc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Deserialize;
use tokio_postgres::IsolationLevel;

use crate::domain::board::{BoardJob, HubAnswer, HubMissing, HubUnavailable, ShopBoard, StoreHead};
use crate::domain::job::Job;

use super::client::{ClientError, HubClient};
use super::config::HubConfig;
use super::db;
use super::wire::Refusal;

/// How long a bench waits for the hub's answer about a board before it counts
/// its own jobs only (and records why).
pub const BOARD_TIMEOUT: Duration = Duration::from_secs(2);

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable {
        detail: e.to_string(),
    }
}

/// The board's jobs in every store the hub holds, read in one snapshot with the
/// head of every store. A record that does not decode is an error naming it (the
/// hub verified it on arrival: it is a newer traveler's, or the hub is damaged).
pub async fn board(pool: &Pool, serial: &str) -> Result<ShopBoard, Refusal> {
    let mut c = db::client(pool).await?;
    // Repeatable read: the jobs and the heads are of one moment.
    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(unavailable)?;
    let as_of: DateTime<Utc> = tx
        .query_one("SELECT now()", &[])
        .await
        .map_err(unavailable)?
        .get(0);
    let heads = tx
        .query(
            "SELECT bench, store_id, head_seq FROM hub_stores ORDER BY bench, store_id",
            &[],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .map(|r| StoreHead {
            bench: r.get(0),
            store_id: r.get(1),
            seq: r.get::<_, i64>(2).max(0) as u64,
        })
        .collect();
    let rows = tx
        .query(
            "WITH k AS (SELECT DISTINCT store_id, job FROM hub_records
                        WHERE kind = 'job_started' AND doc -> 'event' ->> 'board_serial' = $1)
             SELECT r.store_id, s.bench, r.job, r.seq, r.bytes
             FROM k JOIN hub_records r ON r.store_id = k.store_id AND r.job = k.job
             JOIN hub_stores s ON s.store_id = r.store_id
             ORDER BY r.store_id, r.job, r.seq",
            &[&serial],
        )
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)?;
    let mut jobs = Vec::new();
    let mut current: Option<(String, String, String, Vec<crate::domain::event::Record>)> = None;
    let mut finish = |cur: Option<(String, String, String, Vec<_>)>| {
        if let Some((store_id, bench, _, records)) = cur
            && let Some(job) = Job::fold(&records)
        {
            jobs.push(BoardJob::of(&job, &bench, &store_id));
        }
    };
    for r in rows {
        let (store_id, bench, job): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let seq = r.get::<_, i64>(3).max(0) as u64;
        let bytes: Vec<u8> = r.get(4);
        let record = crate::store::wire::decode(seq, &bytes)
            .map_err(|e| {
                unavailable(format!(
                    "bench {bench} store {store_id} job {job} record {seq}: {e}"
                ))
            })?
            .record;
        match &mut current {
            Some((s, _, j, records)) if *s == store_id && *j == job => records.push(record),
            _ => finish(current.replace((store_id, bench, job, vec![record]))),
        }
    }
    finish(current);
    Ok(ShopBoard {
        serial: serial.to_string(),
        as_of,
        heads,
        jobs,
    })
}

#[derive(Deserialize)]
struct BoardQuery {
    serial: String,
}

struct Refused(Refusal);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

async fn get_board(
    State(pool): State<Pool>,
    headers: HeaderMap,
    Query(q): Query<BoardQuery>,
) -> Result<Json<ShopBoard>, Refused> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refused(Refusal::UnknownToken))?;
    // Any bench or desk may read a board's history: a bench needs the others' jobs.
    db::authenticate(&pool, token.trim())
        .await
        .map_err(Refused)?;
    let serial = q.serial.trim();
    if serial.is_empty() {
        return Err(Refused(Refusal::BadRequest {
            detail: "serial= is empty".into(),
        }));
    }
    board(&pool, serial).await.map(Json).map_err(Refused)
}

/// The routes of board histories, merged into the service's router.
pub fn routes(pool: Pool) -> Router {
    Router::new()
        .route("/v1/boards", get(get_board))
        .with_state(pool)
}

/// The bench's side: the core's [`crate::core::BoardLookup`] on the configured hub.
/// Not `Debug`: the configuration holds the bench's token.
#[derive(Clone)]
pub struct HubBoards {
    config: HubConfig,
    timeout: Duration,
}

impl HubBoards {
    pub fn new(config: HubConfig) -> HubBoards {
        HubBoards::with_timeout(config, BOARD_TIMEOUT)
    }

    pub fn with_timeout(config: HubConfig, timeout: Duration) -> HubBoards {
        HubBoards { config, timeout }
    }

    async fn ask(config: &HubConfig, serial: &str, timeout: Duration) -> HubAnswer {
        let client = HubClient::new(&config.url, &config.token, config.ca_cert.as_deref())
            .map_err(|e| missing(&e))?;
        match tokio::time::timeout(timeout, client.board(serial, timeout)).await {
            Ok(Ok(b)) => Ok(b),
            Ok(Err(e)) => Err(missing(&e)),
            Err(_) => Err(HubUnavailable {
                why: HubMissing::Unreachable,
                detail: format!("no answer from {} within {timeout:?}", config.url),
            }),
        }
    }
}

fn missing(e: &ClientError) -> HubUnavailable {
    HubUnavailable {
        why: match e {
            ClientError::Unreachable { .. } => HubMissing::Unreachable,
            ClientError::Refused(_) => HubMissing::Refused,
            ClientError::Protocol(_) | ClientError::Config(_) => HubMissing::Unusable,
        },
        detail: e.to_string(),
    }
}

impl crate::core::BoardLookup for HubBoards {
    /// On a thread and runtime of its own, so it may be called from any thread
    /// (the bench's write worker, a command-line tool, inside or outside a tokio
    /// runtime), and given up after the timeout whatever the thread still waits for.
    fn board(&self, serial: &str) -> HubAnswer {
        let (tx, rx) = mpsc::channel();
        let config = self.config.clone();
        let serial = serial.to_string();
        let timeout = self.timeout;
        let spawned = std::thread::Builder::new()
            .name("hub-board".into())
            .spawn(move || {
                let answer = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(HubBoards::ask(&config, &serial, timeout)),
                    Err(e) => Err(HubUnavailable {
                        why: HubMissing::Unreachable,
                        detail: format!("cannot start the hub client: {e}"),
                    }),
                };
                let _ = tx.send(answer);
            });
        if let Err(e) = spawned {
            return Err(HubUnavailable {
                why: HubMissing::Unreachable,
                detail: format!("cannot start the hub client: {e}"),
            });
        }
        rx.recv_timeout(timeout + Duration::from_millis(500))
            .unwrap_or_else(|_| {
                Err(HubUnavailable {
                    why: HubMissing::Unreachable,
                    detail: format!("no answer from {} within {timeout:?}", self.config.url),
                })
            })
    }
}

/// What the configured hub (`[hub]` of the configuration file `config`, else the
/// default one) says about a board, for `traveler history SERIAL`; `None` when no
/// hub is configured (the history is then this store's, as before).
pub fn configured_answer(config: Option<&std::path::Path>, serial: &str) -> Option<HubAnswer> {
    let path = config
        .map(std::path::Path::to_path_buf)
        .or_else(|| crate::config::default_config_path().filter(|p| p.is_file()))?;
    let hub = match crate::config::AppConfig::load(&path) {
        Ok(c) => c.hub?,
        Err(e) => {
            return Some(Err(HubUnavailable {
                why: HubMissing::Unusable,
                detail: format!("the configuration did not load: {e}"),
            }));
        }
    };
    Some(crate::core::BoardLookup::board(
        &HubBoards::new(hub),
        serial.trim(),
    ))
}

/// `traveler history SERIAL --hub URL`: the board's jobs in the hub's snapshot, each
/// naming its bench, with the rework cycles counted as the limits count them.
pub fn shop_history(
    board: ShopBoard,
    library: &crate::instruction::Library,
) -> super::queries::ShopHistory {
    use crate::export::queries::{HistoryEntry, board_job_entry, rework_cycles};
    let mut rows: Vec<super::queries::ShopHistoryEntry> = board
        .jobs
        .iter()
        .map(|j| super::queries::ShopHistoryEntry {
            bench: j.bench.clone(),
            store_id: j.store_id.clone(),
            entry: board_job_entry(library, j),
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.entry.started, &a.bench, &a.entry.job).cmp(&(b.entry.started, &b.bench, &b.entry.job))
    });
    // Job ids are unique per store only: cycles name each job with its bench.
    let keyed: Vec<HistoryEntry> = rows
        .iter()
        .map(|r| HistoryEntry {
            job: format!("{}:{}", r.bench, r.entry.job),
            ..r.entry.clone()
        })
        .collect();
    super::queries::ShopHistory {
        serial: board.serial,
        cycles: rework_cycles(&keyed),
        jobs: rows,
        as_of: Some(board.as_of),
    }
}
