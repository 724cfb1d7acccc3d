//! The hub's rule for a batch of offered records, as a pure function: which are
//! replays of what it holds (no-ops), which extend the chain, and what is refused.
//!
//! For each offered record, in order:
//! - seq ≤ head: the hub must hold the very same bytes (a replay, a no-op); other
//!   bytes under a stored seq are a fork.
//! - seq = head + 1: its own `seq` and `prev_hash` fields must name this place, and
//!   SHA-256(seq u64 BE ‖ head hash ‖ bytes) must equal the hash the bench claims.
//!   It becomes the new head. A first record that names its store (record schema 2)
//!   must name the store it is sent for.
//! - anything else is a gap.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::store::{ChainHead, StoreIdentity, chain_hash, wire};

use super::wire::{OfferedRecord, Refusal};

/// A record that passed and extends the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Index into the offered batch.
    pub index: usize,
    pub seq: u64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Plan {
    pub replayed: u64,
    pub accepted: Vec<Accepted>,
}

impl Plan {
    pub fn head(&self, before: ChainHead) -> ChainHead {
        self.accepted.last().map_or(before, |a| ChainHead {
            seq: a.seq,
            hash: a.hash,
        })
    }
}

/// What the hub reads of a first record besides its head: the store it names.
#[derive(Deserialize)]
struct FirstEnvelope {
    #[serde(default)]
    store: Option<StoreIdentity>,
}

/// Checks `batch`, sent for `store_id`, against the chain the hub holds: its `head`
/// and, for offered seqs at or below the head, the bytes it stored under them
/// (`stored`, by seq).
pub fn check_batch(
    store_id: &str,
    head: ChainHead,
    stored: &BTreeMap<u64, Vec<u8>>,
    batch: &[OfferedRecord],
) -> Result<Plan, Refusal> {
    let mut plan = Plan::default();
    let mut tip = head;
    let mut expected_next: Option<u64> = None;
    for (index, r) in batch.iter().enumerate() {
        if let Some(want) = expected_next
            && r.seq != want
        {
            return Err(Refusal::BadRequest {
                detail: format!("the batch skips from record {} to {}", want - 1, r.seq),
            });
        }
        expected_next = Some(r.seq + 1);
        if r.seq == 0 {
            return Err(Refusal::Gap {
                expected: tip.seq + 1,
                got: 0,
            });
        }
        if r.seq <= head.seq {
            match stored.get(&r.seq) {
                Some(b) if *b == r.bytes => plan.replayed += 1,
                Some(b) => {
                    return Err(Refusal::Fork {
                        seq: r.seq,
                        hub_hash: hex::encode(sha(b)),
                        bench_hash: hex::encode(sha(&r.bytes)),
                    });
                }
                None => {
                    return Err(Refusal::BadRequest {
                        detail: format!("record {} was not looked up", r.seq),
                    });
                }
            }
            continue;
        }
        if r.seq != tip.seq + 1 {
            return Err(Refusal::Gap {
                expected: tip.seq + 1,
                got: r.seq,
            });
        }
        let env =
            wire::head(&r.bytes).map_err(|detail| Refusal::Undecodable { seq: r.seq, detail })?;
        if env.seq != r.seq {
            return Err(Refusal::SeqMismatch {
                seq: r.seq,
                says: env.seq,
            });
        }
        if env.prev_hash != tip.hash {
            return Err(Refusal::BadLink {
                seq: r.seq,
                prev_hash: hex::encode(env.prev_hash),
            });
        }
        if r.seq == 1 {
            let first: FirstEnvelope =
                serde_json::from_slice(&r.bytes).map_err(|e| Refusal::Undecodable {
                    seq: 1,
                    detail: e.to_string(),
                })?;
            if let Some(named) = first.store
                && named.store_id != store_id
            {
                return Err(Refusal::StoreMismatch {
                    store_id: store_id.to_string(),
                    record_says: named.store_id,
                });
            }
        }
        let computed = chain_hash(r.seq, &tip.hash, &r.bytes);
        if computed != r.hash {
            return Err(Refusal::BadHash {
                seq: r.seq,
                claimed: hex::encode(r.hash),
                computed: hex::encode(computed),
            });
        }
        plan.accepted.push(Accepted {
            index,
            seq: r.seq,
            prev_hash: tip.hash,
            hash: computed,
        });
        tip = ChainHead {
            seq: r.seq,
            hash: computed,
        };
    }
    Ok(plan)
}

/// SHA-256 of bytes alone: how a fork names the two versions it saw.
fn sha(b: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::GENESIS;

    /// A chain of `n` minimal records as a bench would offer them.
    fn chain(n: u64) -> Vec<OfferedRecord> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let bytes = format!(
                    "{{\"seq\":{seq},\"prev_hash\":\"{}\",\"x\":{seq}}}",
                    hex::encode(prev)
                )
                .into_bytes();
                let hash = chain_hash(seq, &prev, &bytes);
                prev = hash;
                OfferedRecord { seq, hash, bytes }
            })
            .collect()
    }

    fn head_of(c: &[OfferedRecord]) -> ChainHead {
        c.last().map_or(ChainHead::EMPTY, |r| ChainHead {
            seq: r.seq,
            hash: r.hash,
        })
    }

    fn stored(c: &[OfferedRecord]) -> BTreeMap<u64, Vec<u8>> {
        c.iter().map(|r| (r.seq, r.bytes.clone())).collect()
    }

    #[test]
    fn rule_table() {
        let c = chain(6);
        let held = &c[..3];
        let mut tampered = c[1].clone();
        tampered.bytes = tampered.bytes.replace_ascii(b"\"x\":2", b"\"x\":9");
        let mut bad_hash = c[3].clone();
        bad_hash.hash[0] ^= 1;
        let mut wrong_seq = c[3].clone();
        wrong_seq.bytes = c[4].bytes.clone();
        let mut bad_link = chain(4)[3].clone();
        bad_link.bytes = bad_link
            .bytes
            .replace_ascii(c[2].hash_hex_prefix().as_bytes(), b"00000000");
        type Case<'a> = (&'a str, Vec<OfferedRecord>, Result<(u64, u64), &'a str>);
        let cases: Vec<Case> = vec![
            ("new records extend", c[3..].to_vec(), Ok((0, 3))),
            ("whole chain replayed", c.clone(), Ok((3, 3))),
            ("replay only", c[..3].to_vec(), Ok((3, 0))),
            ("empty batch", vec![], Ok((0, 0))),
            ("tampered held record", vec![tampered], Err("fork")),
            ("gap", c[4..].to_vec(), Err("gap")),
            ("claimed hash wrong", vec![bad_hash], Err("bad_hash")),
            ("bytes of another seq", vec![wrong_seq], Err("seq_mismatch")),
            ("prev_hash not the head", vec![bad_link], Err("bad_link")),
            (
                "skips inside the batch",
                vec![c[3].clone(), c[5].clone()],
                Err("bad_request"),
            ),
        ];
        for (name, batch, want) in cases {
            let got = check_batch("S", head_of(held), &stored(held), &batch);
            match (got, want) {
                (Ok(p), Ok((replayed, accepted))) => {
                    assert_eq!(
                        (p.replayed, p.accepted.len() as u64),
                        (replayed, accepted),
                        "{name}"
                    );
                    if accepted > 0 {
                        assert_eq!(p.head(head_of(held)), head_of(&c), "{name}");
                    }
                }
                (Err(r), Err(kind)) => assert_eq!(r.kind(), kind, "{name}: {r}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_record_that_is_not_json_is_named() {
        let mut r = chain(1).remove(0);
        r.bytes = b"not json".to_vec();
        let e = check_batch("S", ChainHead::EMPTY, &BTreeMap::new(), &[r]).unwrap_err();
        assert!(matches!(e, Refusal::Undecodable { seq: 1, .. }), "{e}");
    }

    #[test]
    fn a_first_record_must_name_the_store_it_is_sent_for() {
        let bytes = format!(
            "{{\"schema\":2,\"store\":{{\"store_id\":\"A\",\"bench\":\"B1\"}},\"seq\":1,\"prev_hash\":\"{}\"}}",
            hex::encode(GENESIS)
        )
        .into_bytes();
        let r = OfferedRecord {
            seq: 1,
            hash: chain_hash(1, &GENESIS, &bytes),
            bytes,
        };
        let ok = check_batch(
            "A",
            ChainHead::EMPTY,
            &BTreeMap::new(),
            std::slice::from_ref(&r),
        );
        assert_eq!(ok.unwrap().accepted.len(), 1);
        let e = check_batch("B", ChainHead::EMPTY, &BTreeMap::new(), &[r]).unwrap_err();
        assert_eq!(e.kind(), "store_mismatch", "{e}");
    }

    trait Prefix {
        fn hash_hex_prefix(&self) -> String;
    }
    impl Prefix for OfferedRecord {
        fn hash_hex_prefix(&self) -> String {
            hex::encode(&self.hash[..4])
        }
    }

    trait ReplaceAscii {
        fn replace_ascii(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }
    impl ReplaceAscii for Vec<u8> {
        fn replace_ascii(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            let s = String::from_utf8(self.clone()).unwrap();
            s.replacen(
                std::str::from_utf8(from).unwrap(),
                std::str::from_utf8(to).unwrap(),
                1,
            )
            .into_bytes()
        }
    }
}
