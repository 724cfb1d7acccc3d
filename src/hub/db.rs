//! The hub's database work: tokens, stores, verified ingest, samples, reads.
//! Every function here is one transaction; the service itself keeps no state.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use tracing::warn;

use crate::domain::thermal::{Sample, SampleDigest};
use crate::store::{ChainHead, GENESIS};

use super::check::check_batch;
use super::wire::{
    Head, Hello, HelloReply, IngestReply, OfferedRecord, PendingSamples, Refusal, SampleUpload,
    ShopJob, StoreVerdict,
};

/// Connections a service keeps open to the database.
const POOL_SIZE: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0:?} is not a PostgreSQL URL: {1}")]
    Url(String, tokio_postgres::Error),
    #[error("cannot reach the hub database: {0}")]
    Pool(String),
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Migrate(#[from] super::migrate::MigrateError),
    #[error("bench {0} is already enrolled; give --reissue to replace its token")]
    Enrolled(String),
    #[error("no bench {0} is enrolled")]
    NoBench(String),
    #[error("{0:?} is not a bench name (1 to 64 letters, digits, '-', '_' or '.')")]
    BenchName(String),
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Refusal {
        Refusal::Unavailable {
            detail: e.to_string(),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable {
        detail: e.to_string(),
    }
}

/// A pool of connections to `url` (no TLS to the database: run the hub beside it or
/// on a trusted network; TLS is between benches and the hub).
pub fn pool(url: &str) -> Result<Pool, DbError> {
    let mut cfg: tokio_postgres::Config =
        url.parse().map_err(|e| DbError::Url(url.to_string(), e))?;
    cfg.connect_timeout(Duration::from_secs(5));
    if cfg.get_application_name().is_none() {
        cfg.application_name("traveler-hub");
    }
    let mgr = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

pub async fn client(pool: &Pool) -> Result<deadpool_postgres::Client, DbError> {
    pool.get().await.map_err(|e| DbError::Pool(e.to_string()))
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn valid_bench(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bench,
    Desk,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Bench => "bench",
            Kind::Desk => "desk",
        }
    }
}

/// Enrols `bench` and returns its new token (shown once; only its hash is kept).
pub async fn enrol(pool: &Pool, bench: &str, kind: Kind, reissue: bool) -> Result<String, DbError> {
    if !valid_bench(bench) {
        return Err(DbError::BenchName(bench.to_string()));
    }
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = format!("tvh_{}", hex::encode(raw));
    let c = client(pool).await?;
    let n = c
        .execute(
            "INSERT INTO hub_benches (bench, kind, token_hash) VALUES ($1, $2, $3)
             ON CONFLICT (bench) DO NOTHING",
            &[&bench, &kind.as_str(), &token_hash(&token)],
        )
        .await?;
    if n == 0 {
        if !reissue {
            return Err(DbError::Enrolled(bench.to_string()));
        }
        c.execute(
            "UPDATE hub_benches SET token_hash = $2, kind = $3, revoked_at = NULL WHERE bench = $1",
            &[&bench, &token_hash(&token), &kind.as_str()],
        )
        .await?;
    }
    Ok(token)
}

pub async fn revoke(pool: &Pool, bench: &str) -> Result<(), DbError> {
    let n = client(pool)
        .await?
        .execute(
            "UPDATE hub_benches SET revoked_at = now() WHERE bench = $1 AND revoked_at IS NULL",
            &[&bench],
        )
        .await?;
    if n == 0 {
        return Err(DbError::NoBench(bench.to_string()));
    }
    Ok(())
}

/// Who holds a token.
#[derive(Clone, Debug)]
pub struct Caller {
    pub bench: String,
    pub kind: Kind,
}

/// The bench a token belongs to, noting the contact.
pub async fn authenticate(pool: &Pool, token: &str) -> Result<Caller, Refusal> {
    let c = client(pool).await?;
    let row = c
        .query_opt(
            "UPDATE hub_benches SET last_contact = now() WHERE token_hash = $1
             RETURNING bench, kind, revoked_at IS NOT NULL",
            &[&token_hash(token)],
        )
        .await
        .map_err(unavailable)?;
    let Some(row) = row else {
        return Err(Refusal::UnknownToken);
    };
    let bench: String = row.get(0);
    if row.get::<_, bool>(2) {
        return Err(Refusal::Revoked { bench });
    }
    let kind = if row.get::<_, &str>(1) == "desk" {
        Kind::Desk
    } else {
        Kind::Bench
    };
    Ok(Caller { bench, kind })
}

struct StoreRow {
    head: ChainHead,
    fork_seq: Option<i64>,
}

fn hash32(b: &[u8]) -> [u8; 32] {
    b.try_into().unwrap_or(GENESIS)
}

fn head_wire(h: ChainHead) -> Head {
    Head {
        seq: h.seq,
        hash: h.hash_hex(),
    }
}

async fn alarm(
    tx: &tokio_postgres::Transaction<'_>,
    bench: &str,
    store_id: &str,
    r: &Refusal,
    seq: Option<u64>,
    offered: Option<&[u8]>,
) -> Result<(), Refusal> {
    warn!(bench, store_id, kind = r.kind(), "hub refused: {r}");
    let detail = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    tx.execute(
        "INSERT INTO hub_alarms (bench, store_id, kind, seq, detail, offered)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &bench,
            &store_id,
            &r.kind(),
            &seq.map(|s| s as i64),
            &detail,
            &offered,
        ],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Locks the store's row, creating it for `bench` on first contact. A store that
/// belongs to another bench is refused (and recorded).
async fn claim_store(
    tx: &tokio_postgres::Transaction<'_>,
    caller: &Caller,
    store_id: &str,
    store_bench: Option<&str>,
) -> Result<Result<StoreRow, Refusal>, Refusal> {
    if caller.kind != Kind::Bench {
        return Ok(Err(Refusal::ReadOnly {
            bench: caller.bench.clone(),
        }));
    }
    if store_id.is_empty() || store_id.len() > 64 {
        return Ok(Err(Refusal::BadRequest {
            detail: format!("{store_id:?} is not a store id"),
        }));
    }
    tx.execute(
        "INSERT INTO hub_stores (store_id, bench, store_bench) VALUES ($1, $2, $3)
         ON CONFLICT (store_id) DO NOTHING",
        &[&store_id, &caller.bench, &store_bench.unwrap_or("")],
    )
    .await
    .map_err(unavailable)?;
    let row = tx
        .query_one(
            "SELECT bench, head_seq, head_hash, fork_seq FROM hub_stores
             WHERE store_id = $1 FOR UPDATE",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?;
    let owner: String = row.get(0);
    if owner != caller.bench {
        let r = Refusal::StoreClaimed {
            store_id: store_id.to_string(),
            owner,
            bench: caller.bench.clone(),
        };
        alarm(tx, &caller.bench, store_id, &r, None, None).await?;
        return Ok(Err(r));
    }
    Ok(Ok(StoreRow {
        head: ChainHead {
            seq: row.get::<_, i64>(1) as u64,
            hash: hash32(row.get(2)),
        },
        fork_seq: row.get(3),
    }))
}

fn fork_refusal(seq: i64) -> Refusal {
    Refusal::Fork {
        seq: seq as u64,
        hub_hash: String::new(),
        bench_hash: "(a fork was recorded earlier; see `traveler hub status`)".into(),
    }
}

/// Commits `tx` and returns `r` as the answer (alarms and contacts are kept).
async fn commit_refusal<T>(
    tx: deadpool_postgres::Transaction<'_>,
    r: Refusal,
) -> Result<T, Refusal> {
    tx.commit().await.map_err(unavailable)?;
    Err(r)
}

/// A bench names its store and head; the hub answers with its own head, or with
/// the loss or fork that comparing the two shows.
pub async fn hello(
    pool: &Pool,
    caller: &Caller,
    store_id: &str,
    hello: &Hello,
) -> Result<HelloReply, Refusal> {
    let bench_hash = super::client::parse_hash(&hello.head.hash).ok_or(Refusal::BadRequest {
        detail: "the head hash is not 64 hex digits".into(),
    })?;
    let mut c = client(pool).await?;
    let tx = c.transaction().await.map_err(unavailable)?;
    let row = match claim_store(&tx, caller, store_id, Some(&hello.store_bench)).await? {
        Ok(r) => r,
        Err(r) => return commit_refusal(tx, r).await,
    };
    tx.execute(
        "UPDATE hub_stores SET bench_head_seq = $2, bench_head_hash = $3, store_bench = $4,
         bench_head_at = now(), last_contact = now() WHERE store_id = $1",
        &[
            &store_id,
            &(hello.head.seq as i64),
            &bench_hash.as_slice(),
            &hello.store_bench,
        ],
    )
    .await
    .map_err(unavailable)?;
    if let Some(seq) = row.fork_seq {
        return commit_refusal(tx, fork_refusal(seq)).await;
    }
    if hello.head.seq < row.head.seq {
        // The bench ends before the hub: lost records if its head is one the hub
        // holds, a fork if not.
        let held: Option<Vec<u8>> = if hello.head.seq == 0 {
            Some(GENESIS.to_vec())
        } else {
            tx.query_opt(
                "SELECT hash FROM hub_records WHERE store_id = $1 AND seq = $2",
                &[&store_id, &(hello.head.seq as i64)],
            )
            .await
            .map_err(unavailable)?
            .map(|r| r.get(0))
        };
        let r = if held.as_deref() == Some(bench_hash.as_slice()) {
            Refusal::Loss {
                hub_seq: row.head.seq,
                bench_seq: hello.head.seq,
            }
        } else {
            Refusal::Fork {
                seq: hello.head.seq,
                hub_hash: held.map(hex::encode).unwrap_or_default(),
                bench_hash: hello.head.hash.clone(),
            }
        };
        let already: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM hub_alarms WHERE store_id = $1 AND kind = $2 AND seq = $3)",
                &[&store_id, &r.kind(), &(hello.head.seq as i64)],
            )
            .await
            .map_err(unavailable)?
            .get(0);
        if !already {
            alarm(&tx, &caller.bench, store_id, &r, Some(hello.head.seq), None).await?;
        }
        if let Refusal::Fork { seq, .. } = &r {
            set_fork(&tx, store_id, *seq).await?;
        }
        return commit_refusal(tx, r).await;
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(HelloReply {
        bench: caller.bench.clone(),
        hub_head: head_wire(row.head),
    })
}

async fn set_fork(
    tx: &tokio_postgres::Transaction<'_>,
    store_id: &str,
    seq: u64,
) -> Result<(), Refusal> {
    tx.execute(
        "UPDATE hub_stores SET fork_seq = coalesce(fork_seq, $2) WHERE store_id = $1",
        &[&store_id, &(seq as i64)],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Checks and stores a batch in one transaction: all of it, or (refused) none.
pub async fn ingest(
    pool: &Pool,
    caller: &Caller,
    store_id: &str,
    batch: &[OfferedRecord],
) -> Result<IngestReply, Refusal> {
    let mut c = client(pool).await?;
    let tx = c.transaction().await.map_err(unavailable)?;
    let row = match claim_store(&tx, caller, store_id, None).await? {
        Ok(r) => r,
        Err(r) => return commit_refusal(tx, r).await,
    };
    if let Some(seq) = row.fork_seq {
        return commit_refusal(tx, fork_refusal(seq)).await;
    }
    let mut stored = BTreeMap::new();
    let replay_to = batch
        .iter()
        .map(|r| r.seq)
        .filter(|&s| s <= row.head.seq)
        .max();
    if let (Some(to), Some(from)) = (replay_to, batch.first().map(|r| r.seq)) {
        for r in tx
            .query(
                "SELECT seq, bytes FROM hub_records WHERE store_id = $1 AND seq BETWEEN $2 AND $3",
                &[&store_id, &(from as i64), &(to as i64)],
            )
            .await
            .map_err(unavailable)?
        {
            stored.insert(r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1));
        }
    }
    let plan = match check_batch(store_id, row.head, &stored, batch) {
        Ok(p) => p,
        Err(r) => {
            let at = refusal_seq(&r);
            let offered = at
                .and_then(|s| batch.iter().find(|o| o.seq == s))
                .map(|o| o.bytes.as_slice());
            alarm(&tx, &caller.bench, store_id, &r, at, offered).await?;
            if let Refusal::Fork { seq, .. } = &r {
                set_fork(&tx, store_id, *seq).await?;
            }
            return commit_refusal(tx, r).await;
        }
    };
    let head = plan.head(row.head);
    if !plan.accepted.is_empty() {
        let seqs: Vec<i64> = plan.accepted.iter().map(|a| a.seq as i64).collect();
        let prevs: Vec<&[u8]> = plan
            .accepted
            .iter()
            .map(|a| a.prev_hash.as_slice())
            .collect();
        let hashes: Vec<&[u8]> = plan.accepted.iter().map(|a| a.hash.as_slice()).collect();
        let bytes: Vec<&[u8]> = plan
            .accepted
            .iter()
            .map(|a| batch[a.index].bytes.as_slice())
            .collect();
        // doc is for queries only: a NUL escaped in the JSON text has no jsonb form,
        // so the copy gets U+FFFD there while bytes keep the truth.
        tx.execute(
            "INSERT INTO hub_records (store_id, seq, prev_hash, hash, bytes, doc)
             SELECT $1, s, p, h, b, replace(convert_from(b, 'UTF8'), '\\u0000', '\\ufffd')::jsonb
             FROM unnest($2::int8[], $3::bytea[], $4::bytea[], $5::bytea[]) WITH ORDINALITY AS t(s, p, h, b, o)
             ORDER BY o",
            &[&store_id, &seqs, &prevs, &hashes, &bytes],
        )
        .await
        .map_err(unavailable)?;
        tx.execute(
            // The bench holds what it sends: records it appended after its hello
            // raise the head it reported, or verify would take them for a loss.
            "UPDATE hub_stores SET head_seq = $2, head_hash = $3, last_contact = now(),
                bench_head_hash = CASE WHEN coalesce(bench_head_seq, 0) <= $2
                                  THEN $3 ELSE bench_head_hash END,
                bench_head_at = CASE WHEN coalesce(bench_head_seq, 0) <= $2
                                THEN now() ELSE bench_head_at END,
                bench_head_seq = greatest(coalesce(bench_head_seq, 0), $2)
             WHERE store_id = $1",
            &[&store_id, &(head.seq as i64), &head.hash.as_slice()],
        )
        .await
        .map_err(unavailable)?;
        // A PIN locked at one bench is locked at all: promoted in this transaction,
        // so a bench lock is stored exactly when its promotion is (`hub::people`).
        let locks = super::people::locks_in(plan.accepted.iter().map(|a| &batch[a.index]));
        if !locks.is_empty() {
            super::people::promote_locks(&tx, store_id, locks, Utc::now())
                .await
                .map_err(|e| {
                    warn!(store = %store_id, "bench locks could not be recorded for the shop: {e}");
                    unavailable(e)
                })?;
        }
        // Desks following the queue hear of it once this commits (`notify`).
        if let (Some(first), Some(last)) = (plan.accepted.first(), plan.accepted.last()) {
            super::notify::ingested(&tx, store_id, first.seq as i64, last.seq as i64)
                .await
                .map_err(unavailable)?;
        }
    }
    tx.commit().await.map_err(unavailable)?;
    Ok(IngestReply {
        appended: plan.accepted.len() as u64,
        replayed: plan.replayed,
        head: head_wire(head),
    })
}

fn refusal_seq(r: &Refusal) -> Option<u64> {
    match r {
        Refusal::Gap { got, .. } => Some(*got),
        Refusal::SeqMismatch { seq, .. }
        | Refusal::BadLink { seq, .. }
        | Refusal::BadHash { seq, .. }
        | Refusal::Undecodable { seq, .. }
        | Refusal::Fork { seq, .. } => Some(*seq),
        _ => None,
    }
}

/// Sealed steps of the caller's store whose samples the hub does not hold yet. Each
/// attempt seals its own samples; records from before attempts had their own (attempt
/// 0) share the step's, so there only the latest seal of the step counts.
pub async fn pending_samples(
    pool: &Pool,
    caller: &Caller,
    store_id: &str,
) -> Result<Vec<PendingSamples>, Refusal> {
    let c = client(pool).await?;
    owned(&c, caller, store_id).await?;
    let rows = c
        .query(
            "SELECT r.seq, r.job, (r.doc -> 'event' ->> 'step')::int,
                    coalesce((r.doc -> 'event' ->> 'attempt')::int, 0)
             FROM hub_records r
             WHERE r.store_id = $1 AND r.kind = 'step_completed'
               AND (r.doc -> 'event' ->> 'sample_count')::bigint > 0
               AND NOT EXISTS (SELECT 1 FROM hub_samples s WHERE s.store_id = r.store_id AND s.seal_seq = r.seq)
               AND NOT EXISTS (SELECT 1 FROM hub_records l WHERE l.store_id = r.store_id AND l.job = r.job
                     AND l.kind = 'step_completed' AND l.seq > r.seq
                     AND l.doc -> 'event' ->> 'step' = r.doc -> 'event' ->> 'step'
                     AND coalesce((l.doc -> 'event' ->> 'attempt')::int, 0) = 0
                     AND coalesce((r.doc -> 'event' ->> 'attempt')::int, 0) = 0)
             ORDER BY r.seq LIMIT 100",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?;
    Ok(rows
        .iter()
        .map(|r| PendingSamples {
            seal_seq: r.get::<_, i64>(0) as u64,
            job: r.get(1),
            step: r.get::<_, i32>(2) as u32,
            attempt: r.get::<_, i32>(3) as u32,
        })
        .collect())
}

async fn owned(c: &tokio_postgres::Client, caller: &Caller, store_id: &str) -> Result<(), Refusal> {
    let owner: Option<String> = c
        .query_opt(
            "SELECT bench FROM hub_stores WHERE store_id = $1",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?
        .map(|r| r.get(0));
    match owner {
        Some(o) if o == caller.bench => Ok(()),
        Some(o) => Err(Refusal::StoreClaimed {
            store_id: store_id.to_string(),
            owner: o,
            bench: caller.bench.clone(),
        }),
        None => Err(Refusal::BadRequest {
            detail: format!("the hub holds no store {store_id}"),
        }),
    }
}

/// Stores a sealed step's samples once they match the seal's count and digest.
pub async fn upload_samples(
    pool: &Pool,
    caller: &Caller,
    store_id: &str,
    up: &SampleUpload,
) -> Result<(), Refusal> {
    let c = client(pool).await?;
    owned(&c, caller, store_id).await?;
    let refuse = |detail: String| Refusal::Samples {
        job: up.job.clone(),
        step: up.step,
        detail,
    };
    let seal = c
        .query_opt(
            "SELECT job, (doc -> 'event' ->> 'step')::int, (doc -> 'event' ->> 'sample_count')::bigint,
                    doc -> 'event' ->> 'samples_digest',
                    coalesce((doc -> 'event' ->> 'attempt')::int, 0)
             FROM hub_records WHERE store_id = $1 AND seq = $2 AND kind = 'step_completed'",
            &[&store_id, &(up.seal_seq as i64)],
        )
        .await
        .map_err(unavailable)?
        .ok_or_else(|| refuse(format!("record {} is not a step completion", up.seal_seq)))?;
    let (job, step, count, digest, attempt): (String, i32, i64, String, i32) = (
        seal.get(0),
        seal.get(1),
        seal.get(2),
        seal.get(3),
        seal.get(4),
    );
    if job != up.job || step as u32 != up.step || attempt as u32 != up.attempt {
        return Err(refuse(format!(
            "record {} seals job {job} step {step} attempt {attempt}",
            up.seal_seq
        )));
    }
    let mut d = SampleDigest::new();
    let mut prev: Option<(i64, &str)> = None;
    for s in &up.samples {
        let key = (s.time.timestamp_millis(), s.channel.as_str());
        if let Some(p) = prev
            && (p.0, p.1.len(), p.1) >= (key.0, key.1.len(), key.1)
        {
            return Err(refuse("samples are not in (time, channel) order".into()));
        }
        prev = Some(key);
        d.update(&Sample {
            channel: s.channel.clone(),
            time: s.time,
            celsius: s.celsius,
        });
    }
    let got = hex::encode(d.finish());
    if up.samples.len() as i64 != count || got != digest {
        return Err(refuse(format!(
            "{} samples with digest {got} do not match the seal in record {} ({count} samples, digest {digest})",
            up.samples.len(),
            up.seal_seq
        )));
    }
    let digest_bytes = hex::decode(&digest).unwrap_or_default();
    let samples = serde_json::to_value(&up.samples).map_err(|e| refuse(e.to_string()))?;
    c.execute(
        "INSERT INTO hub_samples (store_id, seal_seq, job, step, count, digest, samples)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (store_id, seal_seq) DO NOTHING",
        &[
            &store_id,
            &(up.seal_seq as i64),
            &up.job,
            &step,
            &count,
            &digest_bytes,
            &samples,
        ],
    )
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// Which jobs a shop-wide read wants.
#[derive(Clone, Debug)]
pub enum JobFilter {
    Lot(String),
    Serial(String),
    /// Jobs whose latest submission has no review or abort after it.
    Submitted,
}

/// The jobs matching `filter` across every store, each with its records verbatim.
pub async fn jobs(pool: &Pool, filter: &JobFilter) -> Result<Vec<ShopJob>, Refusal> {
    let c = client(pool).await?;
    let (sql, arg): (&str, Option<&str>) = match filter {
        JobFilter::Lot(l) => (
            "SELECT DISTINCT store_id, job FROM hub_records
             WHERE kind = 'lot_recorded' AND doc -> 'event' ->> 'lot' = $1",
            Some(l),
        ),
        JobFilter::Serial(s) => (
            "SELECT DISTINCT store_id, job FROM hub_records
             WHERE kind = 'job_started' AND doc -> 'event' ->> 'board_serial' = $1",
            Some(s),
        ),
        // Kept by the database as records arrive (migration 4): what is open, not
        // every job the shop ever did.
        JobFilter::Submitted => ("SELECT store_id, job FROM hub_open_submissions", None),
    };
    let params: Vec<&(dyn ToSql + Sync)> = match &arg {
        Some(a) => vec![a],
        None => vec![],
    };
    let keys = c.query(sql, &params).await.map_err(unavailable)?;
    let stores: Vec<String> = keys.iter().map(|r| r.get(0)).collect();
    let jobs: Vec<String> = keys.iter().map(|r| r.get(1)).collect();
    let rows = c
        .query(
            "SELECT r.store_id, s.bench, r.job, r.bytes
             FROM unnest($1::text[], $2::text[]) AS k(store_id, job)
             JOIN hub_records r ON r.store_id = k.store_id AND r.job = k.job
             JOIN hub_stores s ON s.store_id = r.store_id
             ORDER BY r.store_id, r.job, r.seq",
            &[&stores, &jobs],
        )
        .await
        .map_err(unavailable)?;
    let mut out: Vec<ShopJob> = Vec::new();
    for r in rows {
        let (store_id, bench, job): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let bytes: Vec<u8> = r.get(3);
        let raw = String::from_utf8(bytes)
            .ok()
            .and_then(|s| serde_json::value::RawValue::from_string(s).ok())
            .ok_or_else(|| unavailable(format!("record of {store_id} job {job} is not JSON")))?;
        match out.last_mut() {
            Some(j) if j.store_id == store_id && j.job == job => j.records.push(raw),
            _ => out.push(ShopJob {
                bench,
                store_id,
                job,
                records: vec![raw],
            }),
        }
    }
    Ok(out)
}

/// Re-checks every chain the hub holds, in the database: each hash from its stored
/// bytes, each link, the head, and each sample block against its seal.
pub async fn verify_all(pool: &Pool) -> Result<Vec<StoreVerdict>, Refusal> {
    let c = client(pool).await?;
    let rows = c
        .query(
            "SELECT s.store_id, s.bench, s.head_seq, s.head_hash, s.bench_head_seq, s.bench_head_hash,
                    s.last_contact, s.fork_seq,
               (SELECT count(*) FROM hub_records r WHERE r.store_id = s.store_id),
               (SELECT coalesce(max(r.seq), 0) FROM hub_records r WHERE r.store_id = s.store_id),
               (SELECT min(r.seq) FROM hub_records r WHERE r.store_id = s.store_id
                  AND r.hash <> sha256(int8send(r.seq) || r.prev_hash || r.bytes)),
               (SELECT min(r.seq) FROM hub_records r
                  LEFT JOIN hub_records p ON p.store_id = r.store_id AND p.seq = r.seq - 1
                  WHERE r.store_id = s.store_id AND CASE WHEN r.seq = 1
                    THEN r.prev_hash <> decode(repeat('00', 32), 'hex')
                    ELSE p.hash IS NULL OR p.hash <> r.prev_hash END),
               (SELECT hash FROM hub_records r WHERE r.store_id = s.store_id AND r.seq = s.head_seq),
               (SELECT count(*) FROM hub_samples m JOIN hub_records r
                  ON r.store_id = m.store_id AND r.seq = m.seal_seq
                  WHERE m.store_id = s.store_id AND encode(m.digest, 'hex') = r.doc -> 'event' ->> 'samples_digest'
                    AND m.count = (r.doc -> 'event' ->> 'sample_count')::bigint
                    AND jsonb_array_length(m.samples) = m.count),
               (SELECT count(*) FROM hub_samples m WHERE m.store_id = s.store_id),
               s.bench_head_at,
               (SELECT hash FROM hub_records r WHERE r.store_id = s.store_id
                  AND r.seq = s.bench_head_seq),
               -- Seals whose samples have not arrived (as pending_samples counts them).
               (SELECT count(*) FROM hub_records r WHERE r.store_id = s.store_id
                  AND r.kind = 'step_completed'
                  AND (r.doc -> 'event' ->> 'sample_count')::bigint > 0
                  AND NOT EXISTS (SELECT 1 FROM hub_samples m
                        WHERE m.store_id = r.store_id AND m.seal_seq = r.seq)
                  AND NOT EXISTS (SELECT 1 FROM hub_records l WHERE l.store_id = r.store_id
                        AND l.job = r.job AND l.kind = 'step_completed' AND l.seq > r.seq
                        AND l.doc -> 'event' ->> 'step' = r.doc -> 'event' ->> 'step'
                        AND coalesce((l.doc -> 'event' ->> 'attempt')::int, 0) = 0
                        AND coalesce((r.doc -> 'event' ->> 'attempt')::int, 0) = 0))
             FROM hub_stores s ORDER BY s.bench, s.store_id",
            &[],
        )
        .await
        .map_err(unavailable)?;
    // The hub records benches follow, read once for every store's copies.
    let for_benches = super::pull::for_benches_at_hub(&**c)
        .await
        .map_err(unavailable)?;
    let mut out = Vec::new();
    for r in rows {
        let head = ChainHead {
            seq: r.get::<_, i64>(2) as u64,
            hash: hash32(r.get(3)),
        };
        let records = r.get::<_, i64>(8) as u64;
        let max_seq = r.get::<_, i64>(9) as u64;
        let bad_hash: Option<i64> = r.get(10);
        let bad_link: Option<i64> = r.get(11);
        let head_hash: Option<Vec<u8>> = r.get(12);
        let samples_ok = r.get::<_, i64>(13) as u64;
        let samples_all = r.get::<_, i64>(14) as u64;
        let fault = if let Some(s) = bad_hash {
            Some(format!(
                "record {s}: its stored bytes do not hash to its hash"
            ))
        } else if let Some(s) = bad_link {
            Some(format!("record {s} does not follow the record before it"))
        } else if records != head.seq || max_seq != head.seq {
            Some(format!(
                "the head says {} but the hub holds {records} records up to {max_seq}",
                head.seq
            ))
        } else if head.seq > 0 && head_hash.as_deref() != Some(head.hash.as_slice()) {
            Some(format!("the head hash differs from record {}", head.seq))
        } else if samples_ok != samples_all {
            Some(format!(
                "{} sample block(s) do not match their seal",
                samples_all - samples_ok
            ))
        } else {
            None
        };
        let bench_head = match (r.get::<_, Option<i64>>(4), r.get::<_, Option<Vec<u8>>>(5)) {
            (Some(s), Some(h)) => Some(Head {
                seq: s as u64,
                hash: hex::encode(h),
            }),
            _ => None,
        };
        let store_id: String = r.get(0);
        let (mirrors_checked, mirror_faults, unmirrored) = mirror_check(&c, &store_id).await?;
        let last_contact = r.get::<_, DateTime<Utc>>(6);
        let bench: String = r.get(1);
        let sent: Vec<(u64, DateTime<Utc>)> = for_benches
            .iter()
            .filter(|(_, _, only)| only.as_ref().is_none_or(|b| *b == bench))
            .map(|(seq, at, _)| (*seq, *at))
            .collect();
        let (copies_checked, copy_faults, uncopied) =
            copy_check(&c, &store_id, last_contact, &sent).await?;
        out.push(StoreVerdict {
            store_id,
            bench: r.get(1),
            head: head_wire(head),
            records,
            fault,
            samples_checked: samples_ok,
            samples_pending: r.get::<_, i64>(17) as u64,
            bench_head,
            last_contact: r.get::<_, DateTime<Utc>>(6),
            fork_seq: r.get::<_, Option<i64>>(7).map(|s| s as u64),
            bench_head_at: r.get(15),
            held_at_bench_head: r.get::<_, Option<Vec<u8>>>(16).map(hex::encode),
            mirrors_checked,
            mirror_faults,
            unmirrored,
            copies_checked,
            copy_faults,
            uncopied,
        });
    }
    Ok(out)
}

/// Both directions between a bench chain's copies of hub records and the hub chain
/// (`hub::pull::copy_fault`, `hub::pull::uncopied`).
async fn copy_check(
    c: &tokio_postgres::Client,
    store_id: &str,
    last_contact: DateTime<Utc>,
    for_benches: &[(u64, DateTime<Utc>)],
) -> Result<(u64, Vec<super::wire::CopyFault>, Vec<u64>), Refusal> {
    use super::pull::{CopySide, copy_fault, uncopied};
    use super::wire::CopyFault;
    let rows = c
        .query(
            "SELECT r.seq, (r.doc -> 'event' ->> 'hub_seq')::bigint, r.doc -> 'event' ->> 'hub_hash',
                    r.bytes, encode(h.hash, 'hex'), h.bytes
             FROM hub_records r
             LEFT JOIN hub_chain h ON h.seq = (r.doc -> 'event' ->> 'hub_seq')::bigint
             WHERE r.store_id = $1 AND r.kind = 'hub_record_mirrored' ORDER BY r.seq",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?;
    let mut faults = Vec::new();
    let mut copied = std::collections::BTreeSet::new();
    for r in &rows {
        let seq = r.get::<_, i64>(0) as u64;
        // The copy's own bytes, decoded: the jsonb copy is for queries only.
        let record = crate::store::wire::decode(seq, r.get(3))
            .ok()
            .and_then(|d| match d.record.event {
                crate::domain::event::Event::HubRecordMirrored { record, .. } => Some(record),
                _ => None,
            });
        let copy = CopySide {
            hub_seq: r.get::<_, Option<i64>>(1).unwrap_or(0) as u64,
            hub_hash: r.get::<_, Option<String>>(2).unwrap_or_default(),
            record: record.unwrap_or_default(),
        };
        copied.insert(copy.hub_seq);
        let hub_bytes = r
            .get::<_, Option<Vec<u8>>>(5)
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let hub_hash: Option<String> = r.get(4);
        let hub = hub_hash.as_deref().zip(hub_bytes.as_deref());
        if let Some(what) = copy_fault(&copy, hub) {
            faults.push(CopyFault {
                seq: Some(seq),
                hub_seq: copy.hub_seq,
                what,
            });
        }
    }
    let (skipped, lag) = uncopied(for_benches, &copied, last_contact);
    for hub_seq in skipped {
        faults.push(CopyFault {
            seq: None,
            hub_seq,
            what: "passed over: the chain copied later hub records but not this one".into(),
        });
    }
    Ok((rows.len() as u64, faults, lag))
}

/// Both directions between a bench chain and the hub chain: every `ReviewMirrored`
/// the hub holds of the store must name a hub record (seq and hash) deciding that
/// same submission; every hub decision on the store older than the bench's last
/// contact should be mirrored (else it is listed: lag).
async fn mirror_check(
    c: &tokio_postgres::Client,
    store_id: &str,
) -> Result<
    (
        u64,
        Vec<super::wire::MirrorFault>,
        Vec<super::wire::Unmirrored>,
    ),
    Refusal,
> {
    use super::wire::{HubSide, MirrorFault, MirrorSide, Unmirrored, mirror_fault};
    let rows = c
        .query(
            "SELECT r.seq, r.doc -> 'event' ->> 'job',
                    (r.doc -> 'event' ->> 'hub_seq')::bigint, r.doc -> 'event' ->> 'hub_hash',
                    (r.doc -> 'event' ->> 'submitted_seq')::bigint,
                    r.doc -> 'event' ->> 'decision',
                    encode(h.hash, 'hex'), h.kind, h.doc -> 'event' ->> 'store_id',
                    h.doc -> 'event' ->> 'job', (h.doc -> 'event' ->> 'submitted_seq')::bigint,
                    h.doc -> 'event' ->> 'decision'
             FROM hub_records r
             LEFT JOIN hub_chain h ON h.seq = (r.doc -> 'event' ->> 'hub_seq')::bigint
             WHERE r.store_id = $1 AND r.kind = 'review_mirrored' ORDER BY r.seq",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?;
    let mut faults = Vec::new();
    for r in &rows {
        let m = MirrorSide {
            hub_seq: r.get::<_, Option<i64>>(2).unwrap_or(0) as u64,
            hub_hash: r.get::<_, Option<String>>(3).unwrap_or_default(),
            job: r.get::<_, Option<String>>(1).unwrap_or_default(),
            submitted_seq: r.get::<_, Option<i64>>(4).unwrap_or(0) as u64,
            decision: r.get::<_, Option<String>>(5).unwrap_or_default(),
        };
        let hub = r.get::<_, Option<String>>(6).map(|hash| HubSide {
            hash,
            kind: r.get::<_, Option<String>>(7).unwrap_or_default(),
            store_id: r.get(8),
            job: r.get(9),
            submitted_seq: r.get::<_, Option<i64>>(10).map(|s| s as u64),
            decision: r.get(11),
        });
        if let Some(what) = mirror_fault(store_id, &m, hub.as_ref()) {
            faults.push(MirrorFault {
                seq: r.get::<_, i64>(0) as u64,
                job: m.job,
                hub_seq: m.hub_seq,
                what,
            });
        }
    }
    let unmirrored = c
        .query(
            "SELECT h.seq, h.doc -> 'event' ->> 'job',
                    (h.doc -> 'event' ->> 'submitted_seq')::bigint, h.appended_at,
                    -- The bench's own review of that same submission, if it took one
                    -- before the decision reached it (no submission in between).
                    (SELECT min(l.seq) FROM hub_records l WHERE l.store_id = $1
                       AND l.job = h.doc -> 'event' ->> 'job' AND l.kind = 'job_reviewed'
                       AND l.seq > (h.doc -> 'event' ->> 'submitted_seq')::bigint
                       AND NOT EXISTS (SELECT 1 FROM hub_records n WHERE n.store_id = $1
                           AND n.job = l.job AND n.kind = 'job_submitted'
                           AND n.seq > (h.doc -> 'event' ->> 'submitted_seq')::bigint
                           AND n.seq < l.seq))
             FROM hub_chain h JOIN hub_stores s ON s.store_id = $1
             WHERE h.kind = 'review_decided' AND h.doc -> 'event' ->> 'store_id' = $1
               AND h.appended_at < s.last_contact
               AND NOT EXISTS (SELECT 1 FROM hub_records r WHERE r.store_id = $1
                   AND r.kind = 'review_mirrored'
                   AND (r.doc -> 'event' ->> 'hub_seq')::bigint = h.seq)
             ORDER BY h.seq",
            &[&store_id],
        )
        .await
        .map_err(unavailable)?
        .iter()
        .map(|r| Unmirrored {
            hub_seq: r.get::<_, i64>(0) as u64,
            job: r.get::<_, Option<String>>(1).unwrap_or_default(),
            submitted_seq: r.get::<_, Option<i64>>(2).unwrap_or(0) as u64,
            decided: r.get(3),
            reviewed_at_bench: r.get::<_, Option<i64>>(4).map(|s| s as u64),
        })
        .collect();
    Ok((rows.len() as u64, faults, unmirrored))
}

/// A fork the hub refused and recorded: different bytes offered under a seq it holds.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ForkRecord {
    pub at: DateTime<Utc>,
    pub bench: String,
    pub store_id: String,
    pub seq: u64,
    /// SHA-256 of the bytes the hub holds under `seq` (kept; never replaced).
    pub hub_hash: String,
    /// SHA-256 of the different bytes the bench offered (kept in the alarm).
    pub offered_hash: String,
    /// The hub's chain hash of its record at `seq`.
    pub hub_chain_hash: Option<String>,
}

/// Every fork recorded, oldest first (read-only).
pub async fn forks(pool: &Pool) -> Result<Vec<ForkRecord>, Refusal> {
    let c = client(pool).await?;
    // Only the alarms of a fork found (both hashes known), not the refusals of
    // later contacts that point back at it.
    let rows = c
        .query(
            "SELECT a.at, a.bench, a.store_id, a.seq, a.detail ->> 'hub_hash',
                    a.detail ->> 'bench_hash', r.hash
             FROM hub_alarms a
             LEFT JOIN hub_records r ON r.store_id = a.store_id AND r.seq = a.seq
             WHERE a.kind = 'fork' AND a.seq IS NOT NULL
               AND a.detail ->> 'bench_hash' ~ '^[0-9a-f]{64}$'
             ORDER BY a.at, a.id",
            &[],
        )
        .await
        .map_err(unavailable)?;
    Ok(rows
        .iter()
        .map(|r| ForkRecord {
            at: r.get(0),
            bench: r.get(1),
            store_id: r.get(2),
            seq: r.get::<_, i64>(3) as u64,
            hub_hash: r.get::<_, Option<String>>(4).unwrap_or_default(),
            offered_hash: r.get::<_, Option<String>>(5).unwrap_or_default(),
            hub_chain_hash: r.get::<_, Option<Vec<u8>>>(6).map(hex::encode),
        })
        .collect())
}

/// One line of `traveler hub status`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchStatus {
    pub bench: String,
    pub kind: String,
    pub revoked: bool,
    pub last_contact: Option<DateTime<Utc>>,
    pub store_id: Option<String>,
    pub head_seq: Option<u64>,
    /// Records the bench reported having beyond the hub's head.
    pub lag: Option<i64>,
    pub fork_seq: Option<u64>,
    pub alarms: i64,
    /// The kind of the bench's latest alarm (fork, loss, store_claimed, bad_hash, …).
    pub last_alarm: Option<String>,
}

pub async fn status(pool: &Pool) -> Result<Vec<BenchStatus>, DbError> {
    let c = client(pool).await?;
    let rows = c
        .query(
            "SELECT b.bench, b.kind, b.revoked_at IS NOT NULL, greatest(b.last_contact, s.last_contact),
                    s.store_id, s.head_seq, s.bench_head_seq - s.head_seq, s.fork_seq,
                    (SELECT count(*) FROM hub_alarms a WHERE a.bench = b.bench),
                    (SELECT a.kind FROM hub_alarms a WHERE a.bench = b.bench ORDER BY a.id DESC LIMIT 1)
             FROM hub_benches b LEFT JOIN hub_stores s ON s.bench = b.bench
             ORDER BY b.bench, s.store_id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| BenchStatus {
            bench: r.get(0),
            kind: r.get(1),
            revoked: r.get(2),
            last_contact: r.get(3),
            store_id: r.get(4),
            head_seq: r.get::<_, Option<i64>>(5).map(|s| s as u64),
            lag: r.get(6),
            fork_seq: r.get::<_, Option<i64>>(7).map(|s| s as u64),
            alarms: r.get(8),
            last_alarm: r.get(9),
        })
        .collect())
}
