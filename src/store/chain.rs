//! The hash chain: what is hashed and how a record is encoded.
//!
//! canonical bytes = the record's JSON envelope (struct field order, no maps), stored
//! verbatim and never re-encoded, so the hash stays reproducible from the stored bytes.
//! hash(n) = SHA-256(seq as u64 BE ‖ prev_hash as raw 32 bytes ‖ canonical bytes),
//! where prev_hash is hash(n-1), or 32 zero bytes for seq 1.
//!
//! Envelope of schema 2 and later (what this build writes):
//! `{"schema":2,["store":{"store_id":..,"bench":..},]"seq":N,"prev_hash":"..",
//! "time":"..","actor":"..","event":{"type":..,...}}`; `store` only on seq 1 of a new
//! store. Records without `schema` are schema 1, the records of store formats 1–3
//! (`{"seq":N,"prev_hash":..,"time":..,"actor":..,"event":..}`), and keep those bytes.

use std::fmt;

use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::event::{Event, Record};

use super::error::{Result, StoreError};
use super::identity::StoreIdentity;

/// The record schema this build writes.
pub const SCHEMA: u32 = 2;

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    schema: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<&'a StoreIdentity>,
    seq: u64,
    prev_hash: &'a str,
    time: &'a DateTime<Utc>,
    actor: &'a str,
    event: &'a Event,
}

/// `prev_hash` of the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// The last record of the chain: its seq and hash (seq 0 and zeros when empty).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl ChainHead {
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: GENESIS,
    };

    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }

    pub(crate) fn to_bytes(self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[..8].copy_from_slice(&self.seq.to_be_bytes());
        b[8..].copy_from_slice(&self.hash);
        b
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Option<ChainHead> {
        let seq = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
        let hash: [u8; 32] = b.get(8..40)?.try_into().ok()?;
        (b.len() == 40).then_some(ChainHead { seq, hash })
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.hash_hex())
    }
}

pub fn chain_hash(seq: u64, prev_hash: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seq.to_be_bytes());
    h.update(prev_hash);
    h.update(canonical);
    h.finalize().into()
}

/// The bytes this build stores for a new record (schema [`SCHEMA`]); `store` names the
/// store's identity in the first record of a new store.
pub fn canonical_bytes(record: &Record, store: Option<&StoreIdentity>) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&EnvelopeOut {
        schema: SCHEMA,
        store,
        seq: record.seq,
        prev_hash: &record.prev_hash,
        time: &record.time,
        actor: &record.actor,
        event: &record.event,
    })?)
}

/// Decodes a stored record of any schema into today's types (see `wire`).
pub(crate) fn decode_record(seq: u64, bytes: &[u8]) -> Result<Record> {
    Ok(super::wire::decode(seq, bytes)?.record)
}

pub(crate) fn parse_hash(hex_str: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut out).ok()?;
    Some(out)
}

/// A record as stored, with the bytes and hash a receiver needs to check it.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    pub record: Record,
    /// The record schema its bytes are written in (1: store formats 1–3).
    pub schema: u32,
    /// The canonical bytes exactly as stored and hashed.
    pub canonical: Vec<u8>,
    /// hash(seq) as defined above.
    pub hash: [u8; 32],
}

impl StoredRecord {
    pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<StoredRecord> {
        let decoded = super::wire::decode(seq, bytes)?;
        let (record, schema) = (decoded.record, decoded.schema);
        let prev = parse_hash(&record.prev_hash).ok_or_else(|| StoreError::Damaged {
            seq,
            what: "prev_hash is not 64 hex digits".into(),
        })?;
        Ok(StoredRecord {
            hash: chain_hash(seq, &prev, bytes),
            record,
            schema,
            canonical: bytes.to_vec(),
        })
    }

    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}
