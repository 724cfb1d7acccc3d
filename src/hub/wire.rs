//! What bench, desk and hub say to each other over HTTP.
//!
//! A batch of records travels as bytes, never re-encoded, so the hub hashes exactly
//! what the bench stored:
//!
//! ```text
//! "TVH1"  count u32 BE
//! then per record: seq u64 BE ‖ claimed hash 32 bytes ‖ length u32 BE ‖ canonical bytes
//! ```
//!
//! Everything else is JSON. A refusal is a `Refusal`, tagged by `kind`, with the
//! reason as data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub const MAGIC: &[u8; 4] = b"TVH1";
/// Largest batch body the hub accepts.
pub const MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;

/// One record as offered: its place, the hash the bench computed, its stored bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedRecord {
    pub seq: u64,
    pub hash: [u8; 32],
    pub bytes: Vec<u8>,
}

pub fn encode_batch(records: &[OfferedRecord]) -> Vec<u8> {
    let size: usize = records.iter().map(|r| 44 + r.bytes.len()).sum();
    let mut out = Vec::with_capacity(8 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(records.len() as u32).to_be_bytes());
    for r in records {
        out.extend_from_slice(&r.seq.to_be_bytes());
        out.extend_from_slice(&r.hash);
        out.extend_from_slice(&(r.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&r.bytes);
    }
    out
}

/// Decodes a batch; `Err` says at which byte it stops making sense.
pub fn decode_batch(body: &[u8]) -> Result<Vec<OfferedRecord>, String> {
    fn take<'a>(b: &mut &'a [u8], n: usize, at: usize) -> Result<&'a [u8], String> {
        if b.len() < n {
            return Err(format!("the batch ends early at byte {at}"));
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    let total = body.len();
    let mut b = body;
    let at = |b: &[u8]| total - b.len();
    if take(&mut b, 4, 0)? != MAGIC {
        return Err("not a traveler record batch (no TVH1 header)".into());
    }
    let count = u32::from_be_bytes(take(&mut b, 4, 4)?.try_into().unwrap_or_default()) as usize;
    let mut out = Vec::with_capacity(count.min(100_000));
    for _ in 0..count {
        let p = at(b);
        let seq = u64::from_be_bytes(take(&mut b, 8, p)?.try_into().unwrap_or_default());
        let p = at(b);
        let hash: [u8; 32] = take(&mut b, 32, p)?.try_into().unwrap_or_default();
        let p = at(b);
        let len = u32::from_be_bytes(take(&mut b, 4, p)?.try_into().unwrap_or_default()) as usize;
        let p = at(b);
        let bytes = take(&mut b, len, p)?.to_vec();
        out.push(OfferedRecord { seq, hash, bytes });
    }
    if !b.is_empty() {
        return Err(format!("{} bytes after the last record", b.len()));
    }
    Ok(out)
}

/// A chain head as JSON: seq and hex hash.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// The bench introduces its store and its head; the hub answers with its own head.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Hello {
    /// The bench name the store carries (may be empty).
    pub store_bench: String,
    pub head: Head,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct HelloReply {
    /// The bench the token was issued to.
    pub bench: String,
    pub hub_head: Head,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IngestReply {
    pub appended: u64,
    /// Records the hub already held byte for byte (a replay is a no-op).
    pub replayed: u64,
    pub head: Head,
}

/// A step whose samples the hub does not hold yet.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PendingSamples {
    pub seal_seq: u64,
    pub job: String,
    pub step: u32,
    /// The attempt the seal completes (0: records from before attempts had samples of
    /// their own); the bench reads `job::sample_stream(step, attempt)`.
    #[serde(default)]
    pub attempt: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WireSample {
    pub channel: String,
    pub time: DateTime<Utc>,
    pub celsius: f64,
}

/// A sealed step's samples in digest order: (time, channel).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SampleUpload {
    pub seal_seq: u64,
    pub job: String,
    pub step: u32,
    #[serde(default)]
    pub attempt: u32,
    pub samples: Vec<WireSample>,
}

/// Why the hub said no. Tagged by `kind` on the wire.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    #[error("the hub does not know this token")]
    UnknownToken,
    #[error("the token of bench {bench} was revoked")]
    Revoked { bench: String },
    #[error("{bench} holds a desk token, which may only read")]
    ReadOnly { bench: String },
    #[error("store {store_id} belongs to bench {owner}, not {bench}")]
    StoreClaimed {
        store_id: String,
        owner: String,
        bench: String,
    },
    #[error("record {got} offered where the hub expects record {expected}")]
    Gap { expected: u64, got: u64 },
    #[error("record {seq} says seq {says}")]
    SeqMismatch { seq: u64, says: u64 },
    #[error("record {seq} does not follow the hub's head (its prev_hash is {prev_hash})")]
    BadLink { seq: u64, prev_hash: String },
    #[error("record {seq}: its bytes hash to {computed}, not the claimed {claimed}")]
    BadHash {
        seq: u64,
        claimed: String,
        computed: String,
    },
    #[error("record 1 names store {record_says}, not {store_id}")]
    StoreMismatch {
        store_id: String,
        record_says: String,
    },
    #[error("record {seq} is not a readable record: {detail}")]
    Undecodable { seq: u64, detail: String },
    #[error(
        "FORK at record {seq}: the hub holds different bytes under this seq (hub {hub_hash}, bench {bench_hash})"
    )]
    Fork {
        seq: u64,
        hub_hash: String,
        bench_hash: String,
    },
    #[error(
        "LOSS: the hub holds this store up to record {hub_seq} but the bench's store ends at {bench_seq} (restored from an older backup?)"
    )]
    Loss { hub_seq: u64, bench_seq: u64 },
    #[error("samples of job {job} step {step}: {detail}")]
    Samples {
        job: String,
        step: u32,
        detail: String,
    },
    #[error("bad request: {detail}")]
    BadRequest { detail: String },
    #[error("the hub's database is unavailable: {detail}")]
    Unavailable { detail: String },
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::UnknownToken | Refusal::Revoked { .. } => 401,
            Refusal::ReadOnly { .. } | Refusal::StoreClaimed { .. } => 403,
            Refusal::Fork { .. } | Refusal::Loss { .. } => 409,
            Refusal::Gap { .. }
            | Refusal::SeqMismatch { .. }
            | Refusal::BadLink { .. }
            | Refusal::BadHash { .. }
            | Refusal::Undecodable { .. }
            | Refusal::StoreMismatch { .. }
            | Refusal::Samples { .. } => 422,
            Refusal::BadRequest { .. } => 400,
            Refusal::Unavailable { .. } => 503,
        }
    }

    /// Short name for logs and the alarm table.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::UnknownToken => "unknown_token",
            Refusal::Revoked { .. } => "revoked",
            Refusal::ReadOnly { .. } => "read_only",
            Refusal::StoreClaimed { .. } => "store_claimed",
            Refusal::Gap { .. } => "gap",
            Refusal::SeqMismatch { .. } => "seq_mismatch",
            Refusal::BadLink { .. } => "bad_link",
            Refusal::BadHash { .. } => "bad_hash",
            Refusal::Undecodable { .. } => "undecodable",
            Refusal::StoreMismatch { .. } => "store_mismatch",
            Refusal::Fork { .. } => "fork",
            Refusal::Loss { .. } => "loss",
            Refusal::Samples { .. } => "samples",
            Refusal::BadRequest { .. } => "bad_request",
            Refusal::Unavailable { .. } => "unavailable",
        }
    }
}

/// One job of one bench's store, with its records verbatim (shop-wide reads).
#[derive(Serialize, Deserialize, Debug)]
pub struct ShopJob {
    pub bench: String,
    pub store_id: String,
    pub job: String,
    pub records: Vec<Box<RawValue>>,
}

/// What `verify --hub` learns about one store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StoreVerdict {
    pub bench: String,
    pub store_id: String,
    pub head: Head,
    pub records: u64,
    /// The first fault found, if any.
    pub fault: Option<String>,
    pub samples_checked: u64,
    /// Sealed steps whose samples the hub does not hold yet (the bench sends them
    /// after the records).
    pub samples_pending: u64,
    /// The head the bench reported on its last contact, and when.
    pub bench_head: Option<Head>,
    pub last_contact: DateTime<Utc>,
    pub fork_seq: Option<u64>,
    /// When the bench last reported `bench_head`.
    #[serde(default)]
    pub bench_head_at: Option<DateTime<Utc>>,
    /// The hash of the hub's record at the bench's head seq, when the hub holds it.
    #[serde(default)]
    pub held_at_bench_head: Option<String>,
    /// Mirror records of the bench's chain (as the hub holds it) checked against
    /// the hub chain.
    #[serde(default)]
    pub mirrors_checked: u64,
    /// Mirror records that do not point at the hub record deciding their
    /// submission (missing, other hash, other submission): the chains disagree.
    #[serde(default)]
    pub mirror_faults: Vec<MirrorFault>,
    /// Decisions of the hub on this store, older than the bench's last contact,
    /// that the bench chain does not mirror yet (lag, not a fault).
    #[serde(default)]
    pub unmirrored: Vec<Unmirrored>,
    /// Copies of hub records (`hub_record_mirrored`: roster, locks, releases) in the
    /// bench chain, checked against the hub chain.
    #[serde(default)]
    pub copies_checked: u64,
    /// Copies that are not the hub's record under their seq, and hub records
    /// benches follow that the chain passed over (copies go in order).
    #[serde(default)]
    pub copy_faults: Vec<CopyFault>,
    /// Hub records benches follow, older than the bench's last contact, not
    /// copied yet (lag, not a fault).
    #[serde(default)]
    pub uncopied: Vec<u64>,
}

/// A bench chain's copy of a hub record that does not agree with the hub chain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CopyFault {
    /// The copy's seq in the bench chain (`None`: a hub record never copied).
    pub seq: Option<u64>,
    pub hub_seq: u64,
    pub what: String,
}

/// A `ReviewMirrored` of a bench chain that the hub chain does not back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MirrorFault {
    /// The mirror record's seq in the bench chain.
    pub seq: u64,
    pub job: String,
    pub hub_seq: u64,
    pub what: String,
}

/// A decision of the hub the bench chain does not hold yet.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Unmirrored {
    pub hub_seq: u64,
    pub job: String,
    pub submitted_seq: u64,
    pub decided: DateTime<Utc>,
    /// The bench reviewed that same submission itself (this record of its chain)
    /// before the hub's decision reached it: two decisions on one submission, and
    /// the bench will never mirror this one.
    #[serde(default)]
    pub reviewed_at_bench: Option<u64>,
}

/// What the hub chain holds at the seq a bench mirror names, as `verify` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubSide {
    pub hash: String,
    pub kind: String,
    pub store_id: Option<String>,
    pub job: Option<String>,
    pub submitted_seq: Option<u64>,
    pub decision: Option<String>,
}

/// A bench mirror record as `verify` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorSide {
    pub hub_seq: u64,
    pub hub_hash: String,
    pub job: String,
    pub submitted_seq: u64,
    pub decision: String,
}

/// Why a bench mirror is not backed by the hub chain, if it is not (pure).
pub fn mirror_fault(store_id: &str, m: &MirrorSide, hub: Option<&HubSide>) -> Option<String> {
    let Some(h) = hub else {
        return Some(format!("the hub chain has no record {}", m.hub_seq));
    };
    if h.hash != m.hub_hash {
        return Some(format!(
            "hub record {} has hash {}, the mirror names {}",
            m.hub_seq, h.hash, m.hub_hash
        ));
    }
    if h.kind != "review_decided" {
        return Some(format!(
            "hub record {} is a {} record, not a decision",
            m.hub_seq, h.kind
        ));
    }
    let decided = (h.store_id.as_deref(), h.job.as_deref(), h.submitted_seq);
    if decided != (Some(store_id), Some(m.job.as_str()), Some(m.submitted_seq)) {
        return Some(format!(
            "hub record {} decides submission {} of job {} in store {}, the mirror says \
             submission {} of job {} here",
            m.hub_seq,
            h.submitted_seq.map_or("?".into(), |s| s.to_string()),
            h.job.as_deref().unwrap_or("?"),
            h.store_id.as_deref().unwrap_or("?"),
            m.submitted_seq,
            m.job
        ));
    }
    if h.decision.as_deref() != Some(m.decision.as_str()) {
        return Some(format!(
            "hub record {} decided {}, the mirror says {}",
            m.hub_seq,
            h.decision.as_deref().unwrap_or("?"),
            m.decision
        ));
    }
    None
}

/// How a bench's own head compares with the hub's copy of its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BenchAgreement {
    /// The bench never said where its chain ends.
    NeverReported,
    /// The bench's head is the hub's head, same hash.
    Agrees { seq: u64 },
    /// The bench holds records the hub has not received yet.
    Lag { bench: u64, hub: u64 },
    /// The bench ends before the hub's copy (restored from an older backup, or
    /// records lost at the bench).
    Loss { bench: u64, hub: u64 },
    /// The bench's record at its head is not the hub's record there.
    Differs { seq: u64 },
}

impl StoreVerdict {
    /// Compares the head the bench last reported with the hub's copy (pure).
    pub fn bench_agreement(&self) -> BenchAgreement {
        let Some(b) = &self.bench_head else {
            return BenchAgreement::NeverReported;
        };
        let hub = self.head.seq;
        if b.seq > hub {
            return BenchAgreement::Lag { bench: b.seq, hub };
        }
        // Seq 0 is the empty chain: nothing to compare.
        let same = b.seq == 0 || self.held_at_bench_head.as_deref() == Some(b.hash.as_str());
        match (same, b.seq == hub) {
            (false, _) => BenchAgreement::Differs { seq: b.seq },
            (true, true) => BenchAgreement::Agrees { seq: b.seq },
            (true, false) => BenchAgreement::Loss { bench: b.seq, hub },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_fault_table() {
        let m = MirrorSide {
            hub_seq: 7,
            hub_hash: "aa".into(),
            job: "J".into(),
            submitted_seq: 4,
            decision: "rejected".into(),
        };
        let h = HubSide {
            hash: "aa".into(),
            kind: "review_decided".into(),
            store_id: Some("S".into()),
            job: Some("J".into()),
            submitted_seq: Some(4),
            decision: Some("rejected".into()),
        };
        let with = |f: &dyn Fn(&mut HubSide)| {
            let mut x = h.clone();
            f(&mut x);
            mirror_fault("S", &m, Some(&x))
        };
        assert_eq!(mirror_fault("S", &m, Some(&h)), None);
        let cases: Vec<(&str, Option<String>, &str)> = vec![
            ("missing", mirror_fault("S", &m, None), "has no record 7"),
            ("other hash", with(&|x| x.hash = "bb".into()), "has hash bb"),
            (
                "not a decision",
                with(&|x| x.kind = "person_enrolled".into()),
                "not a decision",
            ),
            ("other store", mirror_fault("T", &m, Some(&h)), "in store S"),
            (
                "other submission",
                with(&|x| x.submitted_seq = Some(5)),
                "submission 5",
            ),
            ("other job", with(&|x| x.job = Some("K".into())), "of job K"),
            (
                "other decision",
                with(&|x| x.decision = Some("approved".into())),
                "decided approved",
            ),
        ];
        for (name, got, want) in cases {
            let got = got.unwrap_or_else(|| panic!("{name}: no fault found"));
            assert!(got.contains(want), "{name}: {got}");
        }
    }

    #[test]
    fn batches_round_trip_and_damage_is_named() {
        let recs = vec![
            OfferedRecord {
                seq: 1,
                hash: [1; 32],
                bytes: b"{\"a\":1}".to_vec(),
            },
            OfferedRecord {
                seq: 2,
                hash: [2; 32],
                bytes: Vec::new(),
            },
        ];
        let enc = encode_batch(&recs);
        assert_eq!(decode_batch(&enc).unwrap(), recs);
        let cases: [(&[u8], &str); 3] = [
            (&enc[..enc.len() - 1], "ends early"),
            (b"XXXX\0\0\0\0", "no TVH1"),
            (&[enc.as_slice(), b"x"].concat(), "after the last record"),
        ];
        for (body, want) in cases {
            let e = decode_batch(body).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn a_bench_head_is_compared_with_the_hubs_copy() {
        let head = |seq: u64, h: &str| Head {
            seq,
            hash: h.into(),
        };
        let verdict = |bench: Option<Head>, held: Option<&str>| StoreVerdict {
            bench: "B".into(),
            store_id: "S".into(),
            head: head(5, "h5"),
            records: 5,
            fault: None,
            samples_checked: 0,
            samples_pending: 0,
            bench_head: bench,
            last_contact: DateTime::<Utc>::MIN_UTC,
            fork_seq: None,
            bench_head_at: None,
            held_at_bench_head: held.map(Into::into),
            mirrors_checked: 0,
            mirror_faults: vec![],
            unmirrored: vec![],
            copies_checked: 0,
            copy_faults: vec![],
            uncopied: vec![],
        };
        use BenchAgreement as A;
        let cases = [
            (None, None, A::NeverReported),
            (Some(head(5, "h5")), Some("h5"), A::Agrees { seq: 5 }),
            (Some(head(5, "xx")), Some("h5"), A::Differs { seq: 5 }),
            (Some(head(7, "h7")), None, A::Lag { bench: 7, hub: 5 }),
            (
                Some(head(3, "h3")),
                Some("h3"),
                A::Loss { bench: 3, hub: 5 },
            ),
            (Some(head(3, "xx")), Some("h3"), A::Differs { seq: 3 }),
            (Some(head(0, "00")), None, A::Loss { bench: 0, hub: 5 }),
        ];
        for (bench, held, want) in cases {
            let v = verdict(bench.clone(), held);
            assert_eq!(v.bench_agreement(), want, "{bench:?} {held:?}");
        }
    }

    #[test]
    fn refusals_are_tagged_on_the_wire() {
        let r = Refusal::Fork {
            seq: 3,
            hub_hash: "aa".into(),
            bench_hash: "bb".into(),
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(s.starts_with("{\"kind\":\"fork\""), "{s}");
        assert_eq!(serde_json::from_str::<Refusal>(&s).unwrap(), r);
        assert_eq!(r.status(), 409);
    }
}
