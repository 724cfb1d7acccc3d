//! The hub's own hash chain: what the hub decides (reviews of bench submissions, the
//! shop roster) as records in the bench's envelope with the bench's hash
//! (`store::chain`): hash = SHA-256(seq u64 BE ‖ prev hash ‖ canonical bytes), stored
//! verbatim in `hub_chain` (migration 3), which the database checks again and never
//! lets anyone rewrite.
//!
//! Appends are serialised by a table lock held until the transaction ends, so the
//! decision and the facts it was decided on (the roster, earlier decisions) are read
//! and written under one lock, however many services run against the database.

use chrono::{DateTime, Utc};
use tokio_postgres::{GenericClient, Transaction};

use crate::domain::event::{Event, Record};
use crate::domain::person::Roster;
use crate::store::{ChainHead, canonical_bytes, chain_hash};

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    #[error("hub record {seq} is damaged: {what}")]
    Damaged { seq: u64, what: String },
}

/// A record of the hub's chain as appended or read, with its hash.
#[derive(Clone, Debug, PartialEq)]
pub struct HubRecord {
    pub record: Record,
    pub hash: [u8; 32],
}

impl HubRecord {
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

/// Takes the chain's append lock for the rest of `tx` (readers are not blocked).
pub async fn lock(tx: &Transaction<'_>) -> Result<(), ChainError> {
    tx.batch_execute("LOCK TABLE hub_chain IN EXCLUSIVE MODE")
        .await?;
    Ok(())
}

/// The chain's last record (seq 0 and zeros when empty).
pub async fn head(c: &impl GenericClient) -> Result<ChainHead, ChainError> {
    let row = c
        .query_opt(
            "SELECT seq, hash FROM hub_chain ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    Ok(match row {
        None => ChainHead::EMPTY,
        Some(r) => {
            let seq = r.get::<_, i64>(0) as u64;
            let hash: Vec<u8> = r.get(1);
            ChainHead {
                seq,
                hash: hash
                    .as_slice()
                    .try_into()
                    .map_err(|_| ChainError::Damaged {
                        seq,
                        what: "its hash is not 32 bytes".into(),
                    })?,
            }
        }
    })
}

fn decode(seq: i64, bytes: &[u8], hash: &[u8]) -> Result<HubRecord, ChainError> {
    let seq = seq as u64;
    let damaged = |what: String| ChainError::Damaged { seq, what };
    let record = crate::store::wire::decode(seq, bytes)
        .map_err(|e| damaged(e.to_string()))?
        .record;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| damaged("its hash is not 32 bytes".into()))?;
    Ok(HubRecord { record, hash })
}

/// Every record of the chain, in order.
pub async fn records(c: &impl GenericClient) -> Result<Vec<HubRecord>, ChainError> {
    let rows = c
        .query("SELECT seq, bytes, hash FROM hub_chain ORDER BY seq", &[])
        .await?;
    rows.iter()
        .map(|r| decode(r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// The hub's roster: the people records of its chain folded as the bench folds its
/// own (`Roster::fold`), so locks, deactivations and certificates mean the same.
pub async fn roster(c: &impl GenericClient) -> Result<Roster, ChainError> {
    let rows = c
        .query(
            "SELECT seq, bytes, hash FROM hub_chain
             WHERE kind IN ('person_enrolled', 'person_updated', 'person_certified',
                 'certification_revoked', 'person_deactivated', 'pin_changed',
                 'pin_policy_met', 'pin_rejected', 'badge_locked', 'review_decided',
                 'logged_in')
             ORDER BY seq",
            &[],
        )
        .await?;
    let records = rows
        .iter()
        .map(|r| decode(r.get(0), r.get(1), r.get(2)).map(|h| h.record))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Roster::fold(&records))
}

/// Appends `events` after the head, in one go, inside `tx` (which must hold
/// [`lock`]); the caller commits. Returns the records as written.
pub async fn append(
    tx: &Transaction<'_>,
    events: Vec<(DateTime<Utc>, String, Event)>,
) -> Result<Vec<HubRecord>, ChainError> {
    let mut at = head(tx).await?;
    let mut out = Vec::with_capacity(events.len());
    for (time, actor, event) in events {
        let record = Record {
            seq: at.seq + 1,
            prev_hash: at.hash_hex(),
            time,
            actor,
            event,
        };
        let bytes = canonical_bytes(&record, None).map_err(|e| ChainError::Damaged {
            seq: record.seq,
            what: e.to_string(),
        })?;
        let hash = chain_hash(record.seq, &at.hash, &bytes);
        let doc: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ChainError::Damaged {
                seq: record.seq,
                what: e.to_string(),
            })?;
        tx.execute(
            "INSERT INTO hub_chain (seq, prev_hash, hash, bytes, doc) VALUES ($1, $2, $3, $4, $5)",
            &[
                &(record.seq as i64),
                &at.hash.as_slice(),
                &hash.as_slice(),
                &bytes,
                &doc,
            ],
        )
        .await?;
        at = ChainHead {
            seq: record.seq,
            hash,
        };
        out.push(HubRecord { record, hash });
    }
    Ok(out)
}

/// Re-checks the whole chain from its stored bytes: every hash, every link.
/// `Err` names the first record that does not hold.
pub async fn verify(c: &impl GenericClient) -> Result<ChainHead, ChainError> {
    let rows = c
        .query(
            "SELECT seq, prev_hash, hash, bytes FROM hub_chain ORDER BY seq",
            &[],
        )
        .await?;
    let mut at = ChainHead::EMPTY;
    for r in &rows {
        let seq = r.get::<_, i64>(0) as u64;
        let (prev, hash, bytes): (Vec<u8>, Vec<u8>, Vec<u8>) = (r.get(1), r.get(2), r.get(3));
        let damaged = |what: &str| ChainError::Damaged {
            seq,
            what: what.to_string(),
        };
        if seq != at.seq + 1 {
            return Err(damaged("the record before it is missing"));
        }
        if prev != at.hash {
            return Err(damaged("it does not follow the record before it"));
        }
        let expect = chain_hash(seq, &at.hash, &bytes);
        if hash != expect {
            return Err(damaged("its hash does not match its bytes"));
        }
        crate::store::wire::decode(seq, &bytes).map_err(|e| damaged(&e.to_string()))?;
        at = ChainHead { seq, hash: expect };
    }
    Ok(at)
}
