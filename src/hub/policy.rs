//! The shop policy at the hub: whether supervisors may still review at the benches
//! (`allowed`) or only at the desk (`desk_only`). An admin sets it with badge and
//! PIN (`traveler hub policy set`); it is a `ShopPolicySet` record of the hub chain,
//! decided by `domain::decide` of `Command::SetShopPolicy` on the policy folded from
//! that chain, and every bench mirrors it (`hub_records::for_benches`), whose core
//! then refuses a local review while it says desk-only.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use crate::domain::command::Command;
use crate::domain::decide::{Situation, decide};
use crate::domain::event::LocalReview;
use crate::domain::policy::Policy;
use crate::domain::shop_policy::ShopPolicy;

use super::chain::{self, ChainError};
use super::db;
use super::release::{HubReleaseRefusal as HubRefusal, SendError, authorised, pin_refusal};

/// What the purpose of a PIN typed for the shop policy is called in the record.
pub const PIN_PURPOSE: &str = "shop policy at the hub";

/// The policy an admin asks for.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct PolicyRequest {
    pub local_review: LocalReview,
    pub reason: String,
    pub badge: String,
    pub pin: String,
}

impl std::fmt::Debug for PolicyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PolicyRequest({} by {}, PIN hidden)",
            self.local_review, self.badge
        )
    }
}

/// The shop policy as the hub holds it now.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PolicyReply {
    pub local_review: LocalReview,
    /// Who set it and when, and the hub record; `None` while never set.
    pub set: Option<PolicySetReply>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PolicySetReply {
    pub hub_seq: u64,
    pub hub_hash: String,
    pub time: DateTime<Utc>,
    pub by: String,
    pub by_name: String,
    pub reason: String,
}

impl From<&ShopPolicy> for PolicyReply {
    fn from(p: &ShopPolicy) -> Self {
        PolicyReply {
            local_review: p.local_review,
            set: p.set.as_ref().map(|s| PolicySetReply {
                hub_seq: s.hub.seq,
                hub_hash: s.hub.hash.clone(),
                time: s.time,
                by: s.by.clone(),
                by_name: s.by_name.clone(),
                reason: s.reason.clone(),
            }),
        }
    }
}

impl PolicyReply {
    /// Back into the domain's terms (for describing it as a bench would).
    pub fn to_policy(&self) -> ShopPolicy {
        ShopPolicy {
            local_review: self.local_review,
            set: self
                .set
                .as_ref()
                .map(|s| crate::domain::shop_policy::PolicySet {
                    hub: crate::domain::release::HubRef {
                        seq: s.hub_seq,
                        hash: s.hub_hash.clone(),
                    },
                    time: s.time,
                    by: s.by.clone(),
                    by_name: s.by_name.clone(),
                    reason: s.reason.clone(),
                }),
            at_hub: true,
        }
    }
}

/// The shop policy folded from the hub chain.
pub async fn current(c: &impl GenericClient) -> Result<ShopPolicy, ChainError> {
    let rows = c
        .query(
            "SELECT seq, bytes, hash FROM hub_chain WHERE kind = 'shop_policy_set' ORDER BY seq",
            &[],
        )
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let seq = r.get::<_, i64>(0) as u64;
        let record = crate::store::wire::decode(seq, r.get(1))
            .map_err(|e| ChainError::Damaged {
                seq,
                what: e.to_string(),
            })?
            .record;
        records.push((record, hex::encode(r.get::<_, Vec<u8>>(2))));
    }
    Ok(ShopPolicy::fold_hub(
        records.iter().map(|(r, h)| (r, h.clone())),
    ))
}

#[derive(Clone)]
pub struct PolicyState {
    pub pool: Pool,
    pub policy: Option<Arc<Policy>>,
}

/// Decides `req` at `now` in one transaction under the hub chain's lock.
pub async fn set(
    state: &PolicyState,
    req: &PolicyRequest,
    now: DateTime<Utc>,
) -> Result<PolicyReply, HubRefusal> {
    let policy = state.policy.as_deref().ok_or(HubRefusal::NoLibrary)?;
    let mut c = db::client(&state.pool).await?;
    // Who: the PIN against the hub's roster, by the bench's rules (Argon2 before the
    // chain's lock; a refusal recorded).
    let super::people::LockedSigner {
        tx,
        roster,
        person: admin,
    } = super::people::check_pin_locked(&mut c, policy, &req.badge, &req.pin, PIN_PURPOSE, now)
        .await?
        .map_err(|f| pin_refusal(&f))?;
    let shop = current(&*tx).await?;
    let situation = Situation {
        bench: "",
        policy: Some(policy),
        actor: Some(&admin),
        roster: Some(&roster),
        shop: Some(&shop),
        ..Situation::default()
    };
    let command = Command::SetShopPolicy {
        local_review: req.local_review,
        reason: req.reason.clone(),
    };
    let events =
        decide(&situation, &command, now).map_err(|r| super::release::rules_refusal(&r))?;
    chain::append(
        &tx,
        events
            .into_iter()
            .map(|e| (now, admin.badge.clone(), e))
            .collect(),
    )
    .await?;
    let after = current(&*tx).await?;
    tx.commit().await?;
    Ok(PolicyReply::from(&after))
}

async fn post_policy(
    State(state): State<PolicyState>,
    headers: axum::http::HeaderMap,
    Json(req): Json<PolicyRequest>,
) -> Result<Json<PolicyReply>, HubRefusal> {
    // Any enrolled bench or desk may carry it: the admin's PIN says who sets it.
    authorised(&state.pool, &headers).await?;
    let reply = set(&state, &req, Utc::now()).await;
    match &reply {
        Ok(r) => tracing::info!(local_review = %r.local_review, "shop policy set at the hub"),
        Err(e) => tracing::info!("shop policy refused: {e}"),
    }
    reply.map(Json)
}

async fn get_policy(
    State(state): State<PolicyState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<PolicyReply>, HubRefusal> {
    authorised(&state.pool, &headers).await?;
    let c = db::client(&state.pool).await?;
    Ok(Json(PolicyReply::from(&current(&**c).await?)))
}

/// The routes of the shop policy, merged into the service's router.
pub fn routes(pool: Pool, policy: Option<Policy>) -> Router {
    Router::new()
        .route("/v1/policy", post(post_policy).get(get_policy))
        .with_state(PolicyState {
            pool,
            policy: policy.map(Arc::new),
        })
}

/// The admin's side (the CLI): asks the hub to set the policy.
pub async fn send(
    client: &super::client::HubClient,
    req: &PolicyRequest,
) -> Result<PolicyReply, SendError> {
    super::release::ask(client, reqwest::Method::POST, "/v1/policy", Some(req)).await
}

/// The policy as the hub holds it.
pub async fn fetch(client: &super::client::HubClient) -> Result<PolicyReply, SendError> {
    super::release::ask::<(), _, _>(client, reqwest::Method::GET, "/v1/policy", None).await
}

/// `--local-review` on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalReviewArg {
    /// Supervisors review at the benches and at the desk (the first decision wins).
    Allowed,
    /// Supervisors review at the desk only; benches refuse local reviews.
    DeskOnly,
}

impl From<LocalReviewArg> for LocalReview {
    fn from(a: LocalReviewArg) -> Self {
        match a {
            LocalReviewArg::Allowed => LocalReview::Allowed,
            LocalReviewArg::DeskOnly => LocalReview::DeskOnly,
        }
    }
}

/// `traveler hub policy …`
#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Set the shop policy at the hub (an admin's badge and PIN); every bench
    /// follows it from its next contact with the hub.
    Set {
        /// Whether supervisors may still review at the benches.
        #[arg(long, value_enum)]
        local_review: LocalReviewArg,
        /// The admin's badge; the PIN is asked for.
        #[arg(long, value_name = "BADGE")]
        by: String,
        /// Why (asked when not given).
        #[arg(long)]
        reason: Option<String>,
        /// Read the PIN from standard input (one line) instead of the terminal.
        #[arg(long)]
        pin_stdin: bool,
        #[command(flatten)]
        hub: super::cli::HubArgs,
    },
    /// The shop policy as the hub holds it, who set it and when.
    Show {
        #[command(flatten)]
        hub: super::cli::HubArgs,
        /// Print JSON instead of a line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a policy command; the exit code: 0 done, 1 refused, 2 hub unreachable.
pub async fn run(cmd: PolicyCommand) -> anyhow::Result<i32> {
    use std::io::Write;
    let hub_of = |h: &super::cli::HubArgs| -> Result<super::client::HubClient, i32> {
        if h.hub.is_none() {
            eprintln!("error: give the hub with --hub URL");
            return Err(1);
        }
        super::cli::hub_client(h)
    };
    let fail = |e: SendError| {
        eprintln!("error: {e}");
        if e.is_unreachable() { 2 } else { 1 }
    };
    match cmd {
        PolicyCommand::Set {
            local_review,
            by,
            reason,
            pin_stdin,
            hub,
        } => {
            let client = match hub_of(&hub) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let (reason, pin) = crate::cli::instructions::reason_and_pin(&by, reason, pin_stdin)?;
            let req = PolicyRequest {
                local_review: local_review.into(),
                reason,
                badge: by,
                pin,
            };
            match send(&client, &req).await {
                Ok(p) => {
                    println!("{}", p.to_policy().describe());
                    println!("every bench follows it from its next contact with the hub");
                    Ok(0)
                }
                Err(e) => Ok(fail(e)),
            }
        }
        PolicyCommand::Show { hub, json } => {
            let client = match hub_of(&hub) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let p = match fetch(&client).await {
                Ok(p) => p,
                Err(e) => return Ok(fail(e)),
            };
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &p)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", p.to_policy().describe())?;
            }
            Ok(0)
        }
    }
}
