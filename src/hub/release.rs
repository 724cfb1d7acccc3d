//! Instruction releases at the hub: an engineer releases a revision once for the
//! whole shop, with badge and PIN, and the release goes into the hub's own chain
//! (`chain`) with the file's exact text; every bench mirrors it
//! (`hub_records::for_benches`) and checks the text against the release's hash.
//!
//! The rules are the bench's, as for reviews at the hub (src/hub/review.rs): the
//! PIN is checked by `people::auth::check_pin` against the hub's roster (a wrong PIN
//! and the lock it causes recorded in the hub chain), the file is checked by
//! `traveler check`'s rules against the hub's instructions folder (its procedure
//! catalog, alloys and policy), and the release is `domain::decide` of
//! `Command::Release` on `ReleaseFacts` built from the hub chain's releases, all
//! under the chain's lock. A refusal for want of the engineer role is a record of
//! the hub chain, as at the bench.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::domain::command::{AuthFailure, Command, NewRelease, Rejection};
use crate::domain::decide::{ReleaseFacts, Situation, decide};
use crate::domain::event::{Event, ReleaseRefusal, RevisionRef};
use crate::domain::release::{HubRef, ReleaseBook, Released};
use crate::instruction::Library;
use crate::instruction::schema::WorkInstructionFile;

use super::chain::{self, ChainError};
use super::db;
use super::wire::Refusal;

/// What the purpose of a PIN typed for a release is called in the record.
pub const PIN_PURPOSE: &str = "release at the hub";

/// The origin a release made at the hub names (`origin_store`); its
/// `origin_bench` is the bench or desk the engineer released from.
pub const HUB_ORIGIN: &str = "hub";

/// A file to release, as checked and shown to the engineer before the PIN.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct ReleaseRequest {
    pub file_name: String,
    /// The file's exact text.
    pub text: String,
    pub reason: String,
    pub badge: String,
    pub pin: String,
}

impl std::fmt::Debug for ReleaseRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ReleaseRequest({} by {}, {} bytes, PIN hidden)",
            self.file_name,
            self.badge,
            self.text.len()
        )
    }
}

/// The release as the hub recorded it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReleaseReply {
    pub hub_seq: u64,
    pub hub_hash: String,
    pub instruction_id: String,
    pub revision: String,
    pub hash: String,
    pub by: String,
    pub by_name: String,
    pub effective: DateTime<Utc>,
    pub supersedes: Option<RevisionRef>,
}

/// Why the hub did not record a release. Nothing was written, except a wrong PIN's
/// record (and the lock it caused) or a refusal for want of the role.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum HubReleaseRefusal {
    #[error(
        "the hub was started without its instructions folder (serve it with --instructions DIR): \
         it has no policy.toml to check PINs by, nor a catalog to check files against"
    )]
    NoLibrary,
    /// The PIN proved nothing (wrong, locked, unknown or deactivated badge).
    #[error("{message}")]
    Pin {
        badge: String,
        message: String,
        failures: Option<u32>,
        locked_until: Option<DateTime<Utc>>,
    },
    /// The person may not release; the refusal is the hub record `hub_seq`.
    #[error("{who} may not release instructions: {reason} (the refusal is hub record {hub_seq})")]
    Refused {
        who: String,
        reason: ReleaseRefusal,
        hub_seq: u64,
    },
    /// The bench's rules refused it (`domain::decide`): problems in the file, the
    /// revision in force already, a revision reused with other text, no reason.
    /// `rejection` is the typed reason as data.
    #[error("{message}")]
    Rules {
        message: String,
        rejection: serde_json::Value,
    },
    #[error("{0}")]
    Hub(Refusal),
}

impl HubReleaseRefusal {
    pub fn status(&self) -> u16 {
        match self {
            HubReleaseRefusal::NoLibrary => 503,
            HubReleaseRefusal::Pin { .. } | HubReleaseRefusal::Refused { .. } => 403,
            HubReleaseRefusal::Rules { .. } => 422,
            HubReleaseRefusal::Hub(r) => r.status(),
        }
    }
}

impl From<Refusal> for HubReleaseRefusal {
    fn from(r: Refusal) -> Self {
        HubReleaseRefusal::Hub(r)
    }
}

impl From<ChainError> for HubReleaseRefusal {
    fn from(e: ChainError) -> Self {
        HubReleaseRefusal::Hub(Refusal::Unavailable {
            detail: e.to_string(),
        })
    }
}

impl From<tokio_postgres::Error> for HubReleaseRefusal {
    fn from(e: tokio_postgres::Error) -> Self {
        ChainError::Db(e).into()
    }
}

impl From<db::DbError> for HubReleaseRefusal {
    fn from(e: db::DbError) -> Self {
        HubReleaseRefusal::Hub(e.into())
    }
}

impl IntoResponse for HubReleaseRefusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}

/// A PIN refusal in the words the bench uses, with its figures as data.
pub(crate) fn pin_refusal(f: &AuthFailure) -> HubReleaseRefusal {
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
    HubReleaseRefusal::Pin {
        badge: badge.clone(),
        message: f.to_string(),
        failures,
        locked_until,
    }
}

pub(crate) fn rules_refusal(r: &Rejection) -> HubReleaseRefusal {
    HubReleaseRefusal::Rules {
        message: r.to_string(),
        rejection: serde_json::to_value(r).unwrap_or_default(),
    }
}

/// What the service needs: its database and the shop's instructions folder.
#[derive(Clone)]
pub struct ReleaseState {
    pub pool: Pool,
    pub library: Option<Arc<Library>>,
}

/// The hub chain's releases, each with its hub record (seq and hash), oldest first.
pub async fn hub_releases(c: &impl GenericClient) -> Result<ReleaseBook, ChainError> {
    let rows = c
        .query(
            "SELECT seq, bytes, hash FROM hub_chain WHERE kind = 'instruction_released' ORDER BY seq",
            &[],
        )
        .await?;
    let mut book = ReleaseBook::default();
    for r in rows {
        let seq = r.get::<_, i64>(0) as u64;
        let record = crate::store::wire::decode(seq, r.get(1))
            .map_err(|e| ChainError::Damaged {
                seq,
                what: e.to_string(),
            })?
            .record;
        let hub = HubRef {
            seq,
            hash: hex::encode(r.get::<_, Vec<u8>>(2)),
        };
        // The hub's own records carry their text: the same check a bench makes.
        book.push_mirrored(seq, hub, &record);
    }
    Ok(book)
}

/// The facts a release at the hub is decided on: the file checked against the
/// hub's instructions folder, and the instruction's releases at the hub.
fn facts(library: &Library, book: &ReleaseBook, req: &ReleaseRequest, from: &str) -> ReleaseFacts {
    let path = PathBuf::from(&req.file_name);
    let hash = hex::encode(Sha256::digest(req.text.as_bytes()));
    let (instruction_id, revision, problems) =
        match crate::instruction::check_text(library, &path, &req.text) {
            Ok(i) => (i.id().to_string(), i.revision().to_string(), Vec::new()),
            Err(found) => {
                let (id, rev) = toml::from_str::<WorkInstructionFile>(&req.text)
                    .map(|w| (w.id.into_inner(), w.revision))
                    .unwrap_or_else(|_| (req.file_name.clone(), String::new()));
                (id, rev, found.iter().map(ToString::to_string).collect())
            }
        };
    let history = book.history(&instruction_id).to_vec();
    ReleaseFacts {
        instruction_id,
        revision,
        hash,
        problems,
        // Every hub release carries its text, so each bench receives it verbatim.
        text_stored: false,
        history,
        origin_store: HUB_ORIGIN.to_string(),
        origin_bench: from.to_string(),
    }
}

/// Decides `req` at `now`, asked by the bench or desk `from`, in one transaction
/// under the hub chain's lock.
pub async fn release(
    state: &ReleaseState,
    req: &ReleaseRequest,
    from: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseReply, HubReleaseRefusal> {
    let library = state
        .library
        .as_deref()
        .ok_or(HubReleaseRefusal::NoLibrary)?;
    let policy = library
        .policy
        .as_ref()
        .ok_or(HubReleaseRefusal::NoLibrary)?;
    let mut c = db::client(&state.pool).await?;
    // Who: the PIN against the hub's roster, by the bench's rules (Argon2 before the
    // chain's lock; a refusal recorded).
    let super::people::LockedSigner {
        tx,
        roster,
        person: engineer,
    } = super::people::check_pin_locked(&mut c, policy, &req.badge, &req.pin, PIN_PURPOSE, now)
        .await?
        .map_err(|f| pin_refusal(&f))?;

    let book = hub_releases(&*tx).await?;
    let facts = facts(library, &book, req, from);
    let situation = Situation {
        bench: from,
        policy: Some(policy),
        actor: Some(&engineer),
        roster: Some(&roster),
        release: Some(&facts),
        ..Situation::default()
    };
    let command = Command::Release(Box::new(NewRelease {
        file_name: req.file_name.clone(),
        text: req.text.clone(),
        reason: req.reason.clone(),
    }));
    let events = decide(&situation, &command, now).map_err(|r| rules_refusal(&r))?;
    let written = chain::append(
        &tx,
        events
            .into_iter()
            .map(|e| (now, engineer.badge.clone(), e))
            .collect(),
    )
    .await?;
    tx.commit().await?;
    for w in &written {
        match &w.record.event {
            Event::InstructionReleased {
                instruction_id,
                revision,
                hash,
                by,
                by_name,
                effective,
                supersedes,
                ..
            } => {
                return Ok(ReleaseReply {
                    hub_seq: w.record.seq,
                    hub_hash: w.hash_hex(),
                    instruction_id: instruction_id.clone(),
                    revision: revision.clone(),
                    hash: hash.clone(),
                    by: by.clone(),
                    by_name: by_name.clone(),
                    effective: *effective,
                    supersedes: supersedes.clone(),
                });
            }
            Event::InstructionReleaseRefused {
                by,
                by_name,
                refusal,
                ..
            } => {
                return Err(HubReleaseRefusal::Refused {
                    who: format!("{by_name} ({by})"),
                    reason: refusal.clone(),
                    hub_seq: w.record.seq,
                });
            }
            _ => {}
        }
    }
    Err(HubReleaseRefusal::Hub(Refusal::Unavailable {
        detail: "the release produced no release record".into(),
    }))
}

pub(crate) async fn authorised(pool: &Pool, headers: &HeaderMap) -> Result<db::Caller, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refusal::UnknownToken)?;
    db::authenticate(pool, token.trim()).await
}

async fn post_release(
    State(state): State<ReleaseState>,
    headers: HeaderMap,
    Json(req): Json<ReleaseRequest>,
) -> Result<Json<ReleaseReply>, HubReleaseRefusal> {
    // Any enrolled bench or desk may carry a release: the PIN says who releases.
    let caller = authorised(&state.pool, &headers).await?;
    let reply = release(&state, &req, &caller.bench, Utc::now()).await;
    match &reply {
        Ok(r) => tracing::info!(
            instruction = %r.instruction_id, revision = %r.revision, hub_seq = r.hub_seq,
            "release recorded at the hub"
        ),
        Err(e) => tracing::info!(file = %req.file_name, "release refused: {e}"),
    }
    reply.map(Json)
}

/// Every release at the hub, oldest first, for `instructions status --hub`.
async fn get_releases(
    State(state): State<ReleaseState>,
    headers: HeaderMap,
) -> Result<Json<Vec<Released>>, HubReleaseRefusal> {
    authorised(&state.pool, &headers).await?;
    let c = db::client(&state.pool).await?;
    let book = hub_releases(&**c).await?;
    let mut all: Vec<Released> = book
        .ids()
        .flat_map(|id| book.history(id).iter().cloned())
        .collect();
    all.sort_by_key(|r| r.seq);
    Ok(Json(all))
}

/// The exact text of the release whose text hashes to `hash`, as the hub recorded it.
async fn get_release_text(
    State(state): State<ReleaseState>,
    axum::extract::Path(hash): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<String, HubReleaseRefusal> {
    authorised(&state.pool, &headers).await?;
    let c = db::client(&state.pool).await?;
    let row = c
        .query_opt(
            "SELECT seq, bytes FROM hub_chain WHERE kind = 'instruction_released'
             AND doc -> 'event' ->> 'hash' = $1 ORDER BY seq LIMIT 1",
            &[&hash.to_ascii_lowercase()],
        )
        .await?;
    let not_found = || {
        HubReleaseRefusal::Hub(Refusal::BadRequest {
            detail: format!("the hub released no text with sha256 {hash}"),
        })
    };
    let row = row.ok_or_else(not_found)?;
    let seq = row.get::<_, i64>(0) as u64;
    let record = crate::store::wire::decode(seq, row.get(1))
        .map_err(|e| ChainError::Damaged {
            seq,
            what: e.to_string(),
        })?
        .record;
    match record.event {
        Event::InstructionReleased {
            text: Some(text), ..
        } => Ok(text),
        _ => Err(not_found()),
    }
}

/// The routes of releases at the hub, merged into the service's router.
pub fn routes(pool: Pool, library: Option<Library>) -> Router {
    Router::new()
        .route("/v1/releases", post(post_release).get(get_releases))
        .route("/v1/releases/{hash}", axum::routing::get(get_release_text))
        .with_state(ReleaseState {
            pool,
            library: library.map(Arc::new),
        })
}

/// The instructions folder `hub serve` checks releases against (and takes its
/// policy from): `instructions`, or ./instructions when that folder exists.
pub fn serve_library(instructions: Option<&Path>) -> Result<Option<Library>, String> {
    let default = Path::new("instructions");
    let dir = match instructions {
        Some(d) => d,
        None if default.is_dir() => default,
        None => return Ok(None),
    };
    let loaded = crate::instruction::load_dir(dir);
    if loaded.library.policy.is_none() {
        return Err(format!(
            "{}: policy.toml did not load (run `traveler check --instructions {}`)",
            dir.display(),
            dir.display()
        ));
    }
    Ok(Some(loaded.library))
}

/// The engineer's side (the CLI): asks the hub to record a release.
pub async fn send(
    client: &super::client::HubClient,
    req: &ReleaseRequest,
) -> Result<ReleaseReply, SendError> {
    ask(client, reqwest::Method::POST, "/v1/releases", Some(req)).await
}

/// The hub's releases, oldest first.
pub async fn list(client: &super::client::HubClient) -> Result<Vec<Released>, SendError> {
    ask::<(), _, _>(client, reqwest::Method::GET, "/v1/releases", None).await
}

/// The text the hub released under `hash`.
pub async fn text(client: &super::client::HubClient, hash: &str) -> Result<String, SendError> {
    let path = format!("/v1/releases/{hash}");
    let unreachable = |e: reqwest::Error| SendError::Unreachable {
        url: client.url().to_string(),
        detail: chain_of(&e),
    };
    let resp = client
        .request(reqwest::Method::GET, &path)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(unreachable)?;
    if status.is_success() {
        return String::from_utf8(bytes.to_vec())
            .map_err(|_| SendError::Protocol("the released text is not UTF-8".into()));
    }
    match serde_json::from_slice::<HubReleaseRefusal>(&bytes) {
        Ok(r) => Err(SendError::Refused(r)),
        Err(_) => match serde_json::from_slice::<Refusal>(&bytes) {
            Ok(r) => Err(SendError::Refused(r.into())),
            Err(_) => Err(SendError::Protocol(format!("HTTP {status}"))),
        },
    }
}

/// One question to the hub whose refusal is an `R` (or the service's own
/// `Refusal`, e.g. an unknown token, carried as an `R`).
pub(crate) async fn ask<B, T, R>(
    client: &super::client::HubClient,
    method: reqwest::Method,
    path: &str,
    body: Option<&B>,
) -> Result<T, SendError<R>>
where
    B: Serialize,
    T: serde::de::DeserializeOwned,
    R: serde::de::DeserializeOwned + From<Refusal>,
{
    let unreachable = |e: reqwest::Error| SendError::Unreachable {
        url: client.url().to_string(),
        detail: chain_of(&e),
    };
    let mut req = client.request(method, path);
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.map_err(unreachable)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(unreachable)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| SendError::Protocol(e.to_string()));
    }
    if let Ok(r) = serde_json::from_slice::<R>(&bytes) {
        return Err(SendError::Refused(r));
    }
    match serde_json::from_slice::<Refusal>(&bytes) {
        Ok(r) => Err(SendError::Refused(R::from(r))),
        Err(_) => Err(SendError::Protocol(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))),
    }
}

impl<R> SendError<R> {
    /// Worth trying again: the hub, the network or its database was down.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, SendError::Unreachable { .. })
    }
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

/// What asking the hub for a decision came to, when it was not done.
#[derive(Debug, thiserror::Error)]
pub enum SendError<R = HubReleaseRefusal> {
    #[error("{0}")]
    Refused(R),
    /// The hub or its database was not reached: nothing was decided.
    #[error("cannot reach the hub at {url}: {detail}; nothing was recorded")]
    Unreachable { url: String, detail: String },
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
}
