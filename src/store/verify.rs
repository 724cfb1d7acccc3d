//! `verify`: recompute the chain from the stored bytes and every completed step's
//! sample digest, and name the first thing that does not match.
//!
//! The chain is checked on bytes alone: each record's seq and prev_hash are read from
//! its envelope (`wire::head`), never by decoding its event into today's types, so a
//! record this build cannot read is never mistaken for damage. Whether this build can
//! read each record (its schema and kind) is a separate finding, `VerifyReport::newer`.
//! The only event content verify reads is a StepCompleted's sample seal.

use std::collections::HashMap;

use serde::Deserialize;

use super::chain::{ChainHead, GENESIS, chain_hash, parse_hash};
use super::error::{Result, StoreError, VerifyFailure};
use super::index::T;
use super::samples::DigestBuilder;
use super::wire;
use super::{META_HEAD, Store};

/// How many records written by a newer traveler a report lists by seq.
const NEWER_LISTED: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct VerifyReport {
    pub events: u64,
    pub samples: u64,
    /// Samples of steps with no StepCompleted yet (running or abandoned steps): stored
    /// but not yet covered by the chain.
    pub unsealed_samples: u64,
    pub head: ChainHead,
    /// Records whose chain links hold but which this build cannot read (a newer
    /// schema or kind): not damage.
    pub newer: NewerRecords,
    /// Records per schema, schema 1 first.
    pub schemas: Vec<(u32, u64)>,
}

/// Records a newer traveler wrote, found while verifying.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewerRecords {
    pub count: u64,
    /// The first few: seq and what this build does not know.
    pub first: Vec<(u64, String)>,
}

/// The last completion of each (job, sample stream), by which its samples are judged.
type SealedSteps = HashMap<(String, u32), Sealed>;

struct Sealed {
    seq: u64,
    count: u64,
    digest: [u8; 32],
}

/// The part of a StepCompleted verify reads: the same fields in schemas 1 and 2.
#[derive(Deserialize)]
struct SealRecord {
    event: SealEvent,
}

#[derive(Deserialize)]
struct SealEvent {
    #[serde(rename = "type")]
    kind: String,
    job: Option<String>,
    step: Option<u32>,
    sample_count: Option<u64>,
    samples_digest: Option<String>,
    #[serde(default)]
    attempt: u32,
}

const EVENT_TAG: &[u8] = b",\"event\":{\"type\":\"";

/// The event kind of a record as stored. Envelopes put `event` last and its tag first;
/// the marker cannot occur inside a JSON string (its quotes would be escaped), so its
/// first occurrence is the envelope's.
pub(crate) fn stored_kind(bytes: &[u8]) -> Option<&str> {
    let at = bytes
        .windows(EVENT_TAG.len())
        .position(|w| w == EVENT_TAG)?
        + EVENT_TAG.len();
    let rest = &bytes[at..];
    let end = rest.iter().position(|&c| c == b'"')?;
    std::str::from_utf8(&rest[..end]).ok()
}

fn fail(seq: Option<u64>, problem: impl Into<String>) -> StoreError {
    StoreError::Verify(VerifyFailure {
        seq,
        problem: problem.into(),
    })
}

impl Store {
    /// Walks the whole chain and the samples. `Err(StoreError::Verify(..))` carries the
    /// first bad seq and what is wrong; other errors mean the store could not be read.
    pub fn verify(&self) -> Result<VerifyReport> {
        let head = match self.tree(T::Meta).get(META_HEAD)? {
            None => ChainHead::EMPTY,
            Some(b) => ChainHead::from_bytes(&b)
                .ok_or_else(|| fail(None, "the stored chain head is unreadable"))?,
        };
        let mut marks = Vec::new();
        if let Some(m) = super::high_water::read_inside(self.path()) {
            marks.push((m, "the traveler-head file in the store folder".to_string()));
        }
        if let Some(m) = super::high_water::read_outside(self.path())
            && m.store_id == self.identity().store_id
        {
            marks.push((m.head, format!("the high-water mark {}", m.file.display())));
        }
        let walk = self.verify_chain(head, &marks)?;
        for (mark, source) in &marks {
            if mark.seq > head.seq {
                return Err(StoreError::LostRecords {
                    path: self.path().to_path_buf(),
                    store_id: Some(self.identity().store_id.clone()),
                    reached: *mark,
                    now: head.seq,
                    how: source.clone(),
                });
            }
        }
        let (samples, unsealed_samples) = self.verify_samples(walk.sealed)?;
        Ok(VerifyReport {
            events: walk.events,
            samples,
            unsealed_samples,
            head,
            newer: walk.newer,
            schemas: walk.schemas.into_iter().collect(),
        })
    }

    fn verify_chain(&self, head: ChainHead, marks: &[(ChainHead, String)]) -> Result<Walk> {
        let mut sealed = SealedSteps::new();
        let mut newer = NewerRecords::default();
        let mut schemas = std::collections::BTreeMap::<u32, u64>::new();
        let mut expected = 1u64;
        let mut prev = GENESIS;
        // Seq whose prev_hash did not match its predecessor: either that predecessor's
        // bytes or this record was altered. The next link tells which: if it holds, this
        // record is intact and the predecessor is the one that changed.
        let mut broken: Option<u64> = None;
        let mut mark_mismatch: Option<usize> = None;
        let mut seal_problem: Option<StoreError> = None;

        // Records appended while we walk lie beyond the head we read: not ours to judge.
        for item in self.record_groups_upto(head.seq) {
            let (seq, v) = item.map_err(|e| match e {
                StoreError::Damaged { seq, what } => fail(Some(seq.max(expected)), what),
                other => other,
            })?;
            if seq != expected {
                return Err(fail(
                    Some(expected),
                    format!("gap in seq: {expected} is missing, the next stored is {seq}"),
                ));
            }
            let h = wire::head(&v).map_err(|what| fail(Some(seq), what))?;
            if h.seq > seq {
                // A record that names a later seq than its place: earlier ones are gone.
                return Err(fail(
                    Some(seq),
                    format!("gap in seq: {seq} is missing, the next stored is {}", h.seq),
                ));
            }
            if h.seq != seq {
                return Err(fail(
                    Some(seq),
                    format!("stored under seq {seq} but says seq {}", h.seq),
                ));
            }
            if let Some(b) = broken {
                return Err(blame(b, h.prev_hash == prev));
            }
            if h.prev_hash != prev {
                broken = Some(seq);
            }
            prev = chain_hash(seq, &h.prev_hash, &v);
            for (i, (mark, _)) in marks.iter().enumerate() {
                if mark.seq == seq && mark.hash != prev {
                    mark_mismatch.get_or_insert(i);
                }
            }
            *schemas.entry(h.schema).or_default() += 1;

            let kind = stored_kind(&v);
            let known = wire::kinds_of(h.schema);
            // The list is the fast path; a kind of today's schema missing from it (a
            // variant added since) is known if today's types read it.
            let listed = |kinds: &[&str], k: &str| {
                kinds.contains(&k) || (h.schema == super::SCHEMA && wire::decode(seq, &v).is_ok())
            };
            match (known, kind) {
                (Some(kinds), Some(k)) if listed(kinds, k) => {
                    if k == "step_completed"
                        && let Err(e) = self.note_seal(seq, &v, &mut sealed)
                    {
                        // Judged after the links: a damaged record is a hash mismatch first.
                        seal_problem.get_or_insert(e);
                    }
                }
                (known, kind) => {
                    newer.count += 1;
                    if newer.first.len() < NEWER_LISTED {
                        let what = match (known, kind) {
                            (None, _) => format!("record schema {}", h.schema),
                            (_, Some(k)) => format!("event kind {k:?}"),
                            (_, None) => "an event without a kind".to_string(),
                        };
                        newer.first.push((seq, what));
                    }
                }
            }
            expected += 1;
        }
        let last = expected - 1;
        if let Some(b) = broken {
            return Err(blame(b, head.hash == prev));
        }
        // After the chain's own checks, which name the damage more exactly.
        let mark_failure = mark_mismatch.map(|i| {
            let (mark, source) = &marks[i];
            fail(
                Some(mark.seq),
                format!(
                    "the record differs from the one the store held there before (hash \
                     recorded in {source})"
                ),
            )
        });
        if last != head.seq {
            return Err(fail(
                Some(last + 1),
                format!(
                    "head mismatch: the chain head says seq {} but the chain ends at {last}",
                    head.seq
                ),
            ));
        }
        if prev != head.hash {
            return Err(fail(
                Some(head.seq),
                "head mismatch: the last record does not hash to the stored chain head \
                 (the record or the head was altered)",
            ));
        }
        if let Some(e) = mark_failure.or(seal_problem) {
            return Err(e);
        }
        Ok(Walk {
            events: last,
            sealed,
            newer,
            schemas,
        })
    }

    fn note_seal(&self, seq: u64, bytes: &[u8], sealed: &mut SealedSteps) -> Result<()> {
        let rec: SealRecord = serde_json::from_slice(bytes)
            .map_err(|e| fail(Some(seq), format!("an unreadable step completion ({e})")))?;
        let e = rec.event;
        let (Some(job), Some(step), Some(count), Some(digest)) =
            (e.job, e.step, e.sample_count, e.samples_digest)
        else {
            return Err(fail(Some(seq), "a step completion without its sample seal"));
        };
        debug_assert_eq!(e.kind, "step_completed");
        let digest = parse_hash(&digest)
            .ok_or_else(|| fail(Some(seq), "samples_digest is not 64 hex digits"))?;
        // A redone step completes again; its last completion covers all samples.
        // Each attempt of a step keeps its samples apart (records without an attempt
        // number share the step's, as they were written).
        sealed.insert(
            (job, crate::domain::job::sample_stream(step, e.attempt)),
            Sealed { seq, count, digest },
        );
        Ok(())
    }

    fn verify_samples(&self, mut sealed: SealedSteps) -> Result<(u64, u64)> {
        let mut total = 0u64;
        let mut unsealed = 0u64;
        let mut worst: Option<(u64, String)> = None;
        let mut note = |seq: u64, what: String| {
            if worst.as_ref().is_none_or(|(s, _)| seq < *s) {
                worst = Some((seq, what));
            }
        };

        for item in self.sample_steps() {
            let (job, step) = item.map_err(|e| match e {
                StoreError::DamagedSample { what } => fail(None, what),
                other => other,
            })?;
            let key = (job, step);
            let mut d = DigestBuilder::default();
            for raw in self.raw_samples(&key.0, step) {
                match raw {
                    Ok(raw) => d.add(&raw),
                    Err(StoreError::DamagedSample { what }) => {
                        return Err(fail(sealed.get(&key).map(|s| s.seq), what));
                    }
                    Err(e) => return Err(e),
                }
            }
            let got = d.finish();
            total += got.count;
            let (job, step) = &key;
            match sealed.remove(&key) {
                None => unsealed += got.count,
                Some(s) => {
                    if got.sha256 != hex::encode(s.digest) || got.count != s.count {
                        note(
                            s.seq,
                            format!(
                                "sample digest mismatch for job {job} step {step} \
                                 ({} samples stored, {} sealed)",
                                got.count, s.count
                            ),
                        );
                    }
                }
            }
        }

        // Completed steps whose samples are gone entirely.
        let empty = DigestBuilder::default().finish().sha256;
        let leftovers: Vec<_> = sealed.into_iter().collect();
        for ((job, step), s) in leftovers {
            if s.count != 0 || hex::encode(s.digest) != empty {
                note(
                    s.seq,
                    format!(
                        "sample digest mismatch for job {job} step {step} \
                         (0 samples stored, {} sealed)",
                        s.count
                    ),
                );
            }
        }
        match worst {
            Some((seq, what)) => Err(fail(Some(seq), what)),
            None => Ok((total, unsealed)),
        }
    }
}

struct Walk {
    events: u64,
    sealed: SealedSteps,
    newer: NewerRecords,
    schemas: std::collections::BTreeMap<u32, u64>,
}

fn blame(broken: u64, next_link_holds: bool) -> StoreError {
    if next_link_holds && broken > 1 {
        fail(
            Some(broken - 1),
            format!(
                "hash mismatch: the record no longer hashes to the prev_hash seq {broken} \
                 chained to (it was altered)"
            ),
        )
    } else {
        fail(
            Some(broken),
            "hash mismatch: prev_hash does not match the previous record",
        )
    }
}
