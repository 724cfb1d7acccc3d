//! The shop roster managed at the hub: `traveler people … --hub URL` sends each
//! change here, authorised by an admin's badge and PIN checked at the hub
//! (`people::auth::check_pin_with`, the policy's lockout; a wrong PIN and the lock
//! it causes are recorded in the hub chain), and decided by the bench's own
//! `decide(Command::Roster(..))` on a Situation built from the hub's roster. Every
//! change is a record of the hub chain, which every bench copies (`hub::feed`).
//!
//! Argon2 is slow on purpose, so the PIN is verified before the chain's lock is
//! taken, against the roster as read then; under the lock the decision uses that
//! answer as long as the badge's PIN hash is still the one verified (else it
//! verifies again). Other decisions at the hub never wait for a PIN hash.
//!
//! The hub also confirms log-ins for benches (`POST /v1/roster/verify`): a PIN the
//! hub confirmed is recorded as `LoggedIn { badge, bench }` in its chain; the bench
//! copies it and the person counts as *verified online* there
//! (`domain::person::online_gate`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use crate::domain::command::{AuthFailure, Command, Rejection, RosterCommand};
use crate::domain::decide::{Situation, decide};
use crate::domain::event::{Event, SYSTEM_ACTOR};
use crate::domain::person::{Person, Roster};
use crate::domain::policy::Policy;
use crate::domain::types::{Certification, Role, SkillLevel};
use crate::people::auth::{PinRefused, check_pin_with};
use crate::people::pin::verify_pin;

use super::chain::{self, ChainError};
use super::db;
use super::wire::Refusal;

/// What a wrong admin PIN is recorded as at the hub.
pub const ADMIN_PURPOSE: &str = "admin at the hub";
/// What a wrong PIN at a bench log-in confirmed by the hub is recorded as.
pub const LOGIN_PURPOSE: &str = "log-in confirmed at the hub";

/// A roster change as sent over the wire; new PINs travel as digits (over TLS)
/// and are hashed at the hub, which checks them against the policy's `[pin]` rules.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RosterChange {
    Init {
        badge: String,
        name: String,
        roles: Vec<Role>,
        skill: SkillLevel,
        new_pin: String,
    },
    Enrol {
        badge: String,
        name: String,
        roles: Vec<Role>,
        skill: SkillLevel,
        new_pin: String,
    },
    Update {
        badge: String,
        name: Option<String>,
        roles: Option<Vec<Role>>,
        skill: Option<SkillLevel>,
    },
    SetPin {
        badge: String,
        new_pin: String,
    },
    Certify {
        badge: String,
        certification: Certification,
    },
    Revoke {
        badge: String,
        certificate: String,
        reason: String,
    },
    Deactivate {
        badge: String,
        reason: String,
    },
    /// People and certificates from a checked roster file.
    Import {
        events: Vec<Event>,
    },
}

impl RosterChange {
    /// The badge whose new PIN is set, if any.
    fn new_pin(&self) -> Option<(&str, &str)> {
        match self {
            RosterChange::Init { badge, new_pin, .. }
            | RosterChange::Enrol { badge, new_pin, .. }
            | RosterChange::SetPin { badge, new_pin } => Some((badge, new_pin)),
            _ => None,
        }
    }
}

/// A change and who authorises it (no admin for `Init` of an empty roster).
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct ChangeRequest {
    pub admin: Option<String>,
    #[serde(default)]
    pub pin: String,
    pub change: RosterChange,
}

impl std::fmt::Debug for ChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChangeRequest(by {:?}, PINs hidden)", self.admin)
    }
}

/// A record the hub appended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Written {
    pub seq: u64,
    pub hash: String,
    pub kind: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChangeReply {
    pub records: Vec<Written>,
    /// The person changed, as the hub's roster has them now.
    pub person: Option<WirePerson>,
}

/// A person on the hub's roster, without the PIN hash.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WirePerson {
    pub badge: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub skill: SkillLevel,
    pub certifications: Vec<Certification>,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub failed_pins: u32,
    /// The current PIN was set under rules weaker than the policy's `[pin]`.
    pub pin_below_policy: bool,
}

impl WirePerson {
    fn of(p: &Person, roster: &Roster, policy: Option<&Policy>) -> WirePerson {
        WirePerson {
            badge: p.badge.clone(),
            name: p.name.clone(),
            roles: p.roles.clone(),
            skill: p.skill,
            certifications: p.certifications.clone(),
            active: p.active,
            locked_until: p.locked_until,
            failed_pins: p.failed_pins,
            pin_below_policy: policy.is_some_and(|pol| !roster.pin_meets(&p.badge, &pol.pin)),
        }
    }

    /// As the bench's `Person` (no PIN hash), for the bench's own reports.
    pub fn person(&self) -> Person {
        Person {
            badge: self.badge.clone(),
            name: self.name.clone(),
            roles: self.roles.clone(),
            skill: self.skill,
            pin_hash: String::new(),
            certifications: self.certifications.clone(),
            active: self.active,
            locked_until: self.locked_until,
            failed_pins: self.failed_pins,
        }
    }
}

/// A bench asks the hub to confirm the PIN of a log-in it just accepted.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct VerifyRequest {
    pub badge: String,
    pub pin: String,
}

impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyRequest({}, PIN hidden)", self.badge)
    }
}

/// Why the hub changed nothing (except a wrong PIN's record and its lock).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum RosterRefusal {
    #[error(
        "the hub was started without a policy (serve it with --instructions DIR): no PIN is checked"
    )]
    NoPolicy,
    #[error("an admin badge is needed (--admin BADGE)")]
    AdminNeeded,
    /// The PIN proved nothing (wrong, locked, unknown or deactivated badge).
    #[error("{message}")]
    Pin {
        badge: String,
        message: String,
        failures: Option<u32>,
        locked_until: Option<DateTime<Utc>>,
    },
    /// The roster's rules refused it (`domain::decide`); `rejection` is the typed
    /// reason as data.
    #[error("{message}")]
    Rules {
        message: String,
        rejection: serde_json::Value,
    },
    #[error("{0}")]
    Hub(Refusal),
}

impl RosterRefusal {
    pub fn status(&self) -> u16 {
        match self {
            RosterRefusal::NoPolicy => 503,
            RosterRefusal::AdminNeeded => 400,
            RosterRefusal::Pin { .. } => 403,
            RosterRefusal::Rules { .. } => 422,
            RosterRefusal::Hub(r) => r.status(),
        }
    }
}

impl IntoResponse for RosterRefusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}

impl From<Refusal> for RosterRefusal {
    fn from(r: Refusal) -> Self {
        RosterRefusal::Hub(r)
    }
}

impl From<ChainError> for RosterRefusal {
    fn from(e: ChainError) -> Self {
        RosterRefusal::Hub(Refusal::Unavailable {
            detail: e.to_string(),
        })
    }
}

impl From<tokio_postgres::Error> for RosterRefusal {
    fn from(e: tokio_postgres::Error) -> Self {
        ChainError::Db(e).into()
    }
}

impl From<db::DbError> for RosterRefusal {
    fn from(e: db::DbError) -> Self {
        RosterRefusal::Hub(e.into())
    }
}

fn pin_refusal(f: &AuthFailure) -> RosterRefusal {
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
    RosterRefusal::Pin {
        badge: badge.clone(),
        message: f.to_string(),
        failures,
        locked_until,
    }
}

fn rules_refusal(r: &Rejection) -> RosterRefusal {
    RosterRefusal::Rules {
        message: r.to_string(),
        rejection: serde_json::to_value(r).unwrap_or_default(),
    }
}

/// What the roster routes need: the database and the shop's policy.
#[derive(Clone)]
pub struct PeopleState {
    pub pool: Pool,
    pub policy: Option<Arc<Policy>>,
}

/// The badge's PIN hash as read without the lock, and whether `pin` matches it.
/// Argon2 is slow on purpose: it runs on a blocking thread before the hub chain's
/// lock is taken (`preverify`), and under the lock only the hash is compared
/// (`check_locked`). Every handler that checks a PIN at the hub does it this way.
pub(super) struct Preverified {
    hash: String,
    matches: bool,
}

pub(super) async fn preverify(
    c: &impl GenericClient,
    badge: &str,
    pin: &str,
) -> Result<Option<Preverified>, ChainError> {
    let roster = chain::roster(c).await?;
    let Some(hash) = roster.get(badge).map(|p| p.pin_hash.clone()) else {
        return Ok(None);
    };
    let (pin, h) = (pin.to_string(), hash.clone());
    let matches = tokio::task::spawn_blocking(move || verify_pin(&pin, &h))
        .await
        .unwrap_or(false);
    Ok(Some(Preverified { hash, matches }))
}

/// The PIN check under the lock, on `roster` as read under it, using the answer
/// verified before when the hash is the same.
pub(super) fn check_locked(
    roster: &Roster,
    policy: &Policy,
    badge: &str,
    pin: &str,
    purpose: &str,
    pre: Option<&Preverified>,
    now: DateTime<Utc>,
) -> Result<Person, PinRefused> {
    check_pin_with(roster, policy, badge, purpose, now, |hash| match pre {
        Some(p) if p.hash == hash => p.matches,
        // Changed in between (rare): verify again.
        _ => verify_pin(pin, hash),
    })
}

/// A hub handler's PIN check in one piece: Argon2 before the chain's lock
/// (`preverify`), then the lock and the check on the roster as read under it
/// (`check_locked`). On a refusal its records (the wrong PIN, a lock) are appended
/// and committed, and the failure is returned for the handler to word.
pub(super) async fn check_pin_locked<'c>(
    c: &'c mut deadpool_postgres::Client,
    policy: &Policy,
    badge: &str,
    pin: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Result<LockedSigner<'c>, AuthFailure>, ChainError> {
    let pre = preverify(&***c, badge, pin).await?;
    let tx = c.transaction().await?;
    chain::lock(&tx).await?;
    let roster = chain::roster(&*tx).await?;
    match check_locked(&roster, policy, badge, pin, purpose, pre.as_ref(), now) {
        Ok(person) => Ok(Ok(LockedSigner { tx, roster, person })),
        Err(PinRefused { failure, events }) => {
            if !events.is_empty() {
                let actor = badge.to_string();
                chain::append(
                    &tx,
                    events
                        .into_iter()
                        .map(|e| (now, actor.clone(), e))
                        .collect(),
                )
                .await?;
                tx.commit().await?;
            }
            Ok(Err(failure))
        }
    }
}

/// Whom a PIN proved, with the transaction holding the chain's lock and the roster
/// read under it.
pub(super) struct LockedSigner<'c> {
    pub tx: deadpool_postgres::Transaction<'c>,
    pub roster: Roster,
    pub person: Person,
}

/// Records a refused PIN's events and commits; returns the refusal.
async fn refused(
    tx: deadpool_postgres::Transaction<'_>,
    badge: &str,
    r: PinRefused,
    now: DateTime<Utc>,
) -> Result<RosterRefusal, RosterRefusal> {
    if !r.events.is_empty() {
        chain::append(
            &tx,
            r.events
                .into_iter()
                .map(|e| (now, badge.to_string(), e))
                .collect(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(pin_refusal(&r.failure))
}

/// Turns the wire's change into the core's command, hashing a new PIN (outside
/// any lock: Argon2 takes its time).
async fn command(change: &RosterChange, policy: &Policy) -> Result<RosterCommand, RosterRefusal> {
    let hashed = match change.new_pin() {
        Some((_, digits)) => {
            crate::people::pin::check_pin_format(digits).map_err(|reason| {
                rules_refusal(&Rejection::Roster(
                    crate::domain::command::RosterProblem::Invalid { reason },
                ))
            })?;
            let d = digits.to_string();
            let pin = tokio::task::spawn_blocking(move || crate::people::pin::new_pin(&d))
                .await
                .map_err(|e| Refusal::Unavailable {
                    detail: e.to_string(),
                })?
                .map_err(|reason| Refusal::Unavailable { detail: reason })?;
            Some(pin)
        }
        None => None,
    };
    let pin = || {
        hashed
            .clone()
            .expect("hashed above for every change with a PIN")
    };
    Ok(match change.clone() {
        RosterChange::Init {
            badge,
            name,
            roles,
            skill,
            ..
        } => RosterCommand::Init {
            badge,
            name,
            roles,
            skill,
            pin: pin(),
        },
        RosterChange::Enrol {
            badge,
            name,
            roles,
            skill,
            ..
        } => RosterCommand::Enrol {
            badge,
            name,
            roles,
            skill,
            pin: pin(),
        },
        RosterChange::Update {
            badge,
            name,
            roles,
            skill,
        } => RosterCommand::Update {
            badge,
            name,
            roles,
            skill,
        },
        RosterChange::SetPin { badge, .. } => RosterCommand::SetPin { badge, pin: pin() },
        RosterChange::Certify {
            badge,
            mut certification,
        } => {
            // The hub's policy says how long a certificate is valid, whatever the
            // admin's PC has in its instructions folder.
            certification.expires = policy.certification_expiry(certification.issued);
            RosterCommand::Certify {
                badge,
                certification,
            }
        }
        RosterChange::Revoke {
            badge,
            certificate,
            reason,
        } => RosterCommand::Revoke {
            badge,
            certificate,
            reason,
        },
        RosterChange::Deactivate { badge, reason } => RosterCommand::Deactivate { badge, reason },
        RosterChange::Import { events } => RosterCommand::Import { events },
    })
}

/// Decides `req` at `now` and records it in the hub chain.
pub async fn change(
    state: &PeopleState,
    req: &ChangeRequest,
    now: DateTime<Utc>,
) -> Result<ChangeReply, RosterRefusal> {
    let policy = state.policy.as_deref().ok_or(RosterRefusal::NoPolicy)?;
    let cmd = command(&req.change, policy).await?;
    let init = matches!(cmd, RosterCommand::Init { .. });
    let mut c = db::client(&state.pool).await?;
    let pre = match (&req.admin, init) {
        (Some(admin), false) => preverify(&**c, admin, &req.pin).await?,
        (None, false) => return Err(RosterRefusal::AdminNeeded),
        (_, true) => None,
    };
    let tx = c.transaction().await?;
    chain::lock(&tx).await?;
    let roster = chain::roster(&*tx).await?;
    let admin = match (&req.admin, init) {
        (Some(badge), false) => {
            match check_locked(
                &roster,
                policy,
                badge,
                &req.pin,
                ADMIN_PURPOSE,
                pre.as_ref(),
                now,
            ) {
                Ok(p) => Some(p),
                Err(r) => return Err(refused(tx, badge, r, now).await?),
            }
        }
        _ => None,
    };
    let situation = Situation {
        bench: "",
        policy: Some(policy),
        actor: admin.as_ref(),
        roster: Some(&roster),
        ..Situation::default()
    };
    let events =
        decide(&situation, &Command::Roster(cmd.clone()), now).map_err(|r| rules_refusal(&r))?;
    let actor = match (&admin, &cmd) {
        (Some(a), _) => a.badge.clone(),
        (None, RosterCommand::Init { badge, .. }) => badge.clone(),
        (None, _) => SYSTEM_ACTOR.to_string(),
    };
    let written = chain::append(
        &tx,
        events
            .into_iter()
            .map(|e| (now, actor.clone(), e))
            .collect(),
    )
    .await?;
    tx.commit().await?;
    let subject = written
        .iter()
        .find_map(|r| r.record.event.person().map(str::to_string));
    let after = chain::roster(&**c).await?;
    Ok(ChangeReply {
        person: subject.and_then(|b| {
            after
                .get(&b)
                .map(|p| WirePerson::of(p, &after, Some(policy)))
        }),
        records: written
            .iter()
            .map(|r| Written {
                seq: r.record.seq,
                hash: r.hash_hex(),
                kind: r.record.event.kind().to_string(),
            })
            .collect(),
    })
}

/// Confirms a bench log-in's PIN, with the policy's lockout: `LoggedIn` in the hub
/// chain when right (the bench copies it: verified online), a wrong PIN and the
/// lock it causes otherwise.
pub async fn verify(
    state: &PeopleState,
    bench: &str,
    req: &VerifyRequest,
    now: DateTime<Utc>,
) -> Result<Written, RosterRefusal> {
    let policy = state.policy.as_deref().ok_or(RosterRefusal::NoPolicy)?;
    let mut c = db::client(&state.pool).await?;
    let pre = preverify(&**c, &req.badge, &req.pin).await?;
    let tx = c.transaction().await?;
    chain::lock(&tx).await?;
    let roster = chain::roster(&*tx).await?;
    if let Err(r) = check_locked(
        &roster,
        policy,
        &req.badge,
        &req.pin,
        LOGIN_PURPOSE,
        pre.as_ref(),
        now,
    ) {
        return Err(refused(tx, &req.badge, r, now).await?);
    }
    let written = chain::append(
        &tx,
        vec![(
            now,
            req.badge.clone(),
            Event::LoggedIn {
                badge: req.badge.clone(),
                bench: bench.to_string(),
            },
        )],
    )
    .await?;
    tx.commit().await?;
    let r = written.first().ok_or_else(|| Refusal::Unavailable {
        detail: "the log-in produced no record".into(),
    })?;
    Ok(Written {
        seq: r.record.seq,
        hash: r.hash_hex(),
        kind: r.record.event.kind().to_string(),
    })
}

/// The hub's roster for `people list|gaps --hub`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RosterView {
    pub people: Vec<WirePerson>,
    /// The hub chain's head the roster was read at.
    pub hub_seq: u64,
}

pub async fn view(state: &PeopleState) -> Result<RosterView, RosterRefusal> {
    let c = db::client(&state.pool).await?;
    let head = chain::head(&**c).await?;
    let roster = chain::roster(&**c).await?;
    Ok(RosterView {
        people: roster
            .people
            .values()
            .map(|p| WirePerson::of(p, &roster, state.policy.as_deref()))
            .collect(),
        hub_seq: head.seq,
    })
}

async fn authorised(pool: &Pool, headers: &HeaderMap) -> Result<db::Caller, RosterRefusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refusal::UnknownToken)?;
    Ok(db::authenticate(pool, token.trim()).await?)
}

async fn post_change(
    State(state): State<PeopleState>,
    headers: HeaderMap,
    Json(req): Json<ChangeRequest>,
) -> Result<Json<ChangeReply>, RosterRefusal> {
    // Any bench or desk token carries a change: the admin's PIN says who decides.
    authorised(&state.pool, &headers).await?;
    let reply = change(&state, &req, Utc::now()).await;
    match &reply {
        Ok(r) => tracing::info!(records = r.records.len(), "roster change recorded"),
        Err(e) => tracing::info!("roster change refused: {e}"),
    }
    reply.map(Json)
}

async fn post_verify(
    State(state): State<PeopleState>,
    headers: HeaderMap,
    Json(req): Json<VerifyRequest>,
) -> Result<Json<Written>, RosterRefusal> {
    let caller = authorised(&state.pool, &headers).await?;
    if caller.kind != db::Kind::Bench {
        return Err(Refusal::BadRequest {
            detail: "log-ins are confirmed for benches".into(),
        }
        .into());
    }
    verify(&state, &caller.bench, &req, Utc::now())
        .await
        .map(Json)
}

async fn get_roster(
    State(state): State<PeopleState>,
    headers: HeaderMap,
) -> Result<Json<RosterView>, RosterRefusal> {
    authorised(&state.pool, &headers).await?;
    view(&state).await.map(Json)
}

/// The roster routes, merged into the service's router.
pub fn routes(pool: Pool, policy: Option<Policy>) -> Router {
    Router::new()
        .route("/v1/roster", get(get_roster))
        .route("/v1/roster/changes", post(post_change))
        .route("/v1/roster/verify", post(post_verify))
        .with_state(PeopleState {
            pool,
            policy: policy.map(Arc::new),
        })
}

/// A bench lock in an accepted batch: its seq, badge and end.
#[derive(Clone, Debug, PartialEq)]
pub struct OfferedLock {
    pub seq: u64,
    pub badge: String,
    pub until: DateTime<Utc>,
}

/// The bench locks among `records` (the records of a batch the hub accepts).
pub fn locks_in<'a>(
    records: impl IntoIterator<Item = &'a super::wire::OfferedRecord>,
) -> Vec<OfferedLock> {
    records
        .into_iter()
        .filter_map(|o| crate::store::wire::decode(o.seq, &o.bytes).ok())
        .filter_map(|d| match d.record.event {
            Event::BadgeLocked { badge, until } => Some(OfferedLock {
                seq: d.record.seq,
                badge,
                until,
            }),
            _ => None,
        })
        .collect()
}

/// A PIN locked at one bench is locked at all: each bench lock in force that the
/// hub accepts becomes a `BadgeLocked` record of the hub chain, which every bench
/// copies (`domain::lock_promotion` decides which). Runs inside the transaction that
/// stores the bench's records (`db::ingest`, after they were inserted), so the lock
/// is promoted exactly when its record is stored: if this fails, neither is, and the
/// bench sends both again.
pub async fn promote_locks(
    tx: &tokio_postgres::Transaction<'_>,
    store_id: &str,
    locks: Vec<OfferedLock>,
    now: DateTime<Utc>,
) -> Result<usize, ChainError> {
    use crate::domain::lock_promotion::{BenchLock, admit};
    if locks.is_empty() {
        return Ok(0);
    }
    chain::lock(tx).await?;
    let roster = chain::roster(tx).await?;
    let rows = tx
        .query(
            "SELECT seq, bytes FROM hub_chain WHERE kind IN ('badge_locked', 'pin_changed') ORDER BY seq",
            &[],
        )
        .await?;
    let mut hub = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq = r.get::<_, i64>(0) as u64;
        if let Ok(d) = crate::store::wire::decode(seq, r.get(1)) {
            hub.push(d.record);
        }
    }
    let mut events = Vec::new();
    for l in locks {
        // What of the hub chain the bench had copied before it locked (chain order).
        let seen: Option<i64> = tx
            .query_one(
                "SELECT max((doc -> 'event' ->> 'hub_seq')::int8) FROM hub_records
                 WHERE store_id = $1 AND kind = 'hub_record_mirrored' AND seq < $2",
                &[&store_id, &(l.seq as i64)],
            )
            .await?
            .get(0);
        let lock = BenchLock {
            badge: l.badge,
            until: l.until,
            seq: l.seq,
            hub_seen: seen.map(|s| s as u64),
        };
        match admit(&lock, roster.get(&lock.badge).is_some(), &hub, now) {
            Ok(()) => {
                let record = Event::BadgeLocked {
                    badge: lock.badge.clone(),
                    until: lock.until,
                };
                // A later lock of the same batch with the same end is held now.
                hub.push(crate::domain::event::Record {
                    seq: u64::MAX,
                    prev_hash: String::new(),
                    time: now,
                    actor: lock.badge.clone(),
                    event: record.clone(),
                });
                events.push((now, lock.badge, record));
            }
            Err(why) => {
                tracing::info!(store = %store_id, seq = lock.seq, badge = %lock.badge, ?why,
                    "a bench lock is not recorded for the shop");
            }
        }
    }
    let n = events.len();
    if n > 0 {
        chain::append(tx, events).await?;
        tracing::info!(locks = n, "bench locks recorded for the whole shop");
    }
    Ok(n)
}
