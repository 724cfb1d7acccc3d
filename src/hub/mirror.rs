//! The bench's side of decisions made at the hub: the sync task asks for the hub's
//! decisions on this store's submissions, checks each hub record itself (its hash
//! from its bytes, this store's id), and appends a `ReviewMirrored` record that
//! references it, as `domain::mirror` decides. The next round sends that record to the
//! hub, which then stops offering the decision: each chain points at the other.

use std::collections::HashSet;

use tracing::{info, warn};

use crate::core::{Core, Request, RequestId};
use crate::domain::command::{Command, Rejection};
use crate::domain::event::{Event, SYSTEM_ACTOR};
use crate::domain::mirror::HubDecision;
use crate::store::{Store, StoreError, chain_hash};

use super::client::{ClientError, HubClient, parse_hash};
use super::review::WireHubRecord;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The hub sent a record that is not what it claims: never mirrored.
    #[error("the hub's record {seq} of a decision does not hold: {what}")]
    BadHubRecord { seq: u64, what: String },
}

/// Checks one hub record and reads the decision in it (pure).
pub fn read_decision(r: &WireHubRecord, store_id: &str) -> Result<HubDecision, PullError> {
    let bad = |what: String| PullError::BadHubRecord { seq: r.seq, what };
    let bytes = r.record.get().as_bytes();
    let d = crate::store::wire::decode(r.seq, bytes).map_err(|e| bad(e.to_string()))?;
    let prev = parse_hash(&d.record.prev_hash).ok_or_else(|| bad("bad prev_hash".into()))?;
    let hash = hex::encode(chain_hash(r.seq, &prev, bytes));
    if hash != r.hash {
        return Err(bad(format!(
            "its bytes hash to {hash}, not the claimed {}",
            r.hash
        )));
    }
    match d.record.event {
        Event::ReviewDecided {
            store_id: of,
            job,
            submitted_seq,
            decision,
            reviewer,
            reviewer_name,
            comment,
            ..
        } if of == store_id => Ok(HubDecision {
            hub_seq: r.seq,
            hub_hash: hash,
            job,
            submitted_seq,
            decision,
            reviewer,
            reviewer_name,
            comment,
            decided_at: d.record.time,
        }),
        other => Err(bad(format!(
            "a {} record, not a decision on store {store_id}",
            other.kind()
        ))),
    }
}

/// The core the sync task decides mirrors with: the store's own, so a mirror is
/// decided under the store's decision lock like every other bench write. A mirror
/// needs no instructions, policy or bench name, hence the empty library.
pub fn mirror_core(store: &Store) -> Core {
    Core::new(
        store.clone(),
        std::sync::Arc::new(crate::instruction::Library::default()),
        "",
    )
}

/// One pull: mirrors every decision the hub offers that this store can take, each a
/// `Command::MirrorReview` decided by the core.
/// `refused` remembers decisions this store will not take (logged once each).
/// Returns how many records were appended.
pub async fn pull(
    core: &Core,
    client: &HubClient,
    store_id: &str,
    refused: &mut HashSet<u64>,
) -> Result<usize, PullError> {
    let mut appended = 0;
    let Some(offered) = client.decisions(store_id).await? else {
        tracing::debug!("the hub offers no decisions (an older hub)");
        return Ok(0);
    };
    for r in offered {
        if refused.contains(&r.seq) {
            continue;
        }
        let d = read_decision(&r, store_id)?;
        let core = core.clone();
        let decided = d.clone();
        let answer = tokio::task::spawn_blocking(move || {
            core.execute(Request {
                id: RequestId(decided.hub_seq),
                by: SYSTEM_ACTOR.into(),
                credentials: None,
                command: Command::MirrorReview(Box::new(decided)),
            })
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        match answer.result {
            Ok(a) if !a.records.is_empty() => {
                info!(job = %d.job, hub_seq = d.hub_seq, "decision of the hub mirrored");
                appended += 1;
            }
            // Mirrored already.
            Ok(_) => {}
            // Nothing was saved; the next round asks again.
            Err(Rejection::Store { reason }) => {
                return Err(PullError::Store(StoreError::Io(std::io::Error::other(
                    reason,
                ))));
            }
            Err(refusal) => {
                warn!(
                    hub_seq = d.hub_seq,
                    "decision of the hub not mirrored: {refusal}"
                );
                refused.insert(r.seq);
            }
        }
    }
    Ok(appended)
}
