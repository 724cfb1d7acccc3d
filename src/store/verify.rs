//! `verify`: recompute the chain from the stored bytes and every completed step's
//! sample digest, and name the first thing that does not match.

use std::collections::HashMap;

use crate::domain::event::Event;

use super::chain::{ChainHead, GENESIS, chain_hash, decode_record, parse_hash};
use super::error::{Result, StoreError, VerifyFailure};
use super::index::T;
use super::samples::DigestBuilder;
use super::{META_HEAD, Store};

#[derive(Clone, Debug, PartialEq)]
pub struct VerifyReport {
    pub events: u64,
    pub samples: u64,
    /// Samples of steps with no StepCompleted yet (running or abandoned steps): stored
    /// but not yet covered by the chain.
    pub unsealed_samples: u64,
    pub head: ChainHead,
}

/// The last completion of each (job, step), by which its samples are judged.
type SealedSteps = HashMap<(String, u32), Sealed>;

struct Sealed {
    seq: u64,
    count: u64,
    digest: [u8; 32],
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
        let (events, sealed) = self.verify_chain(head)?;
        if let Some(mark) = super::read_high_water(self.path()) {
            let held = self.stored_record(mark.seq).ok().flatten().map(|r| r.hash);
            if held != Some(mark.hash) {
                return Err(fail(
                    Some(mark.seq),
                    "the record differs from the one the store held there before \
                     (hash recorded in the traveler-head file)",
                ));
            }
        }
        let (samples, unsealed_samples) = self.verify_samples(sealed)?;
        Ok(VerifyReport {
            events,
            samples,
            unsealed_samples,
            head,
        })
    }

    fn verify_chain(&self, head: ChainHead) -> Result<(u64, SealedSteps)> {
        let mut sealed = SealedSteps::new();
        let mut expected = 1u64;
        let mut prev = GENESIS;
        // Seq whose prev_hash did not match its predecessor: either that predecessor's
        // bytes or this record was altered. The next link tells which: if it holds, this
        // record is intact and the predecessor is the one that changed.
        let mut broken: Option<u64> = None;

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
            let rec = decode_record(seq, &v).map_err(|e| match e {
                StoreError::Damaged { what, .. } => {
                    // A record that names a later seq than its place: earlier ones are gone.
                    match serde_json::from_slice::<crate::domain::event::Record>(&v) {
                        Ok(r) if r.seq > seq => fail(
                            Some(seq),
                            format!("gap in seq: {seq} is missing, the next stored is {}", r.seq),
                        ),
                        _ => fail(Some(seq), what),
                    }
                }
                other => other,
            })?;
            let recorded_prev = parse_hash(&rec.prev_hash)
                .ok_or_else(|| fail(Some(seq), "prev_hash is not 64 hex digits"))?;
            if let Some(b) = broken {
                return Err(blame(b, recorded_prev == prev));
            }
            if recorded_prev != prev {
                broken = Some(seq);
            }
            prev = chain_hash(seq, &recorded_prev, &v);

            if let Event::StepCompleted {
                job,
                step,
                sample_count,
                samples_digest,
                attempt,
                ..
            } = &rec.event
            {
                let digest = parse_hash(samples_digest)
                    .ok_or_else(|| fail(Some(seq), "samples_digest is not 64 hex digits"))?;
                // A redone step completes again; its last completion covers all samples.
                // Each attempt of a step keeps its samples apart (records without an
                // attempt number share the step's, as they were written).
                sealed.insert(
                    (
                        job.clone(),
                        crate::domain::job::sample_stream(*step, *attempt),
                    ),
                    Sealed {
                        seq,
                        count: *sample_count,
                        digest,
                    },
                );
            }
            expected += 1;
        }
        let last = expected - 1;
        if let Some(b) = broken {
            return Err(blame(b, head.hash == prev));
        }
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
        Ok((last, sealed))
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
