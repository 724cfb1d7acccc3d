//! The bench's side of decisions made at the hub: the sync task asks for the hub's
//! decisions on this store's submissions, checks each hub record itself (its hash
//! from its bytes, this store's id), and appends a `ReviewMirrored` record that
//! references it, as `domain::mirror` decides. The next round sends that record to the
//! hub, which then stops offering the decision: each chain points at the other.

use std::collections::HashSet;

use tracing::{info, warn};

use crate::domain::event::{Event, SYSTEM_ACTOR};
use crate::domain::mirror::{HubDecision, mirror};
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
        }),
        other => Err(bad(format!(
            "a {} record, not a decision on store {store_id}",
            other.kind()
        ))),
    }
}

/// One pull: mirrors every decision the hub offers that this store can take.
/// `refused` remembers decisions this store will not take (logged once each).
/// Returns how many records were appended.
pub async fn pull(
    store: &Store,
    client: &HubClient,
    store_id: &str,
    refused: &mut HashSet<u64>,
) -> Result<usize, PullError> {
    let mut appended = 0;
    let offered = match client.decisions(store_id).await {
        Ok(o) => o,
        // A hub older than decisions at the hub has no such route: nothing to mirror.
        Err(ClientError::Protocol(detail)) => {
            tracing::debug!("the hub offers no decisions: {detail}");
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    for r in offered {
        if refused.contains(&r.seq) {
            continue;
        }
        let d = read_decision(&r, store_id)?;
        let s = store.clone();
        let job = d.job.clone();
        let decided = d.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let records = s.events_of_job(&job)?;
            match mirror(&records, &decided) {
                Ok(Some(e)) => s.append(SYSTEM_ACTOR, e).map(|_| Ok(true)),
                Ok(None) => Ok(Ok(false)),
                Err(refusal) => Ok(Err(refusal)),
            }
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))??;
        match outcome {
            Ok(true) => {
                info!(job = %d.job, hub_seq = d.hub_seq, "decision of the hub mirrored");
                appended += 1;
            }
            Ok(false) => {}
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
