//! Temperature samples: high volume, so they live outside the chain in their own tree,
//! written in batches. The chain covers them through the digest each StepCompleted
//! carries.
//!
//! Key: job (u32 BE length + UTF-8) ‖ step u32 BE ‖ time (ms since the Unix epoch,
//! i64 BE with the sign bit flipped) ‖ channel (u32 BE length + UTF-8).
//! Value: celsius as IEEE-754 f64 bits, u64 BE.
//! A prefix scan over (job, step) therefore yields one step's samples in time order.
//! Time is kept to the millisecond; a second sample for the same channel in the same
//! millisecond replaces the first.
//!
//! Digest of (job, step): SHA-256 over, for each stored sample in key order,
//! time (8 bytes as in the key) ‖ channel length u32 BE ‖ channel UTF-8 ‖ celsius bits
//! u64 BE — that is, the key after the (job, step) prefix followed by the value.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::Store;
use super::error::{Result, StoreError};
use super::index::T;
use super::keys::{self, push_str, str_key};

/// One reading as stored. Field-identical to `domain::thermal::Sample`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredSample {
    pub channel: String,
    pub time: DateTime<Utc>,
    pub celsius: f64,
}

/// What a StepCompleted records about its samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleDigest {
    pub count: u64,
    /// Hex SHA-256 as described in the module documentation.
    pub sha256: String,
}

pub(crate) fn step_prefix(job: &str, step: u32) -> Vec<u8> {
    let mut k = str_key(job);
    k.extend_from_slice(&step.to_be_bytes());
    k
}

pub(crate) fn sample_key(prefix: &[u8], s: &StoredSample) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 12 + s.channel.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(&keys::i64_key(s.time.timestamp_millis()));
    push_str(&mut k, &s.channel);
    k
}

/// Decodes the part of a sample key after (job, step), and its value.
pub(crate) fn decode_tail(tail: &[u8], value: &[u8]) -> Option<StoredSample> {
    let time: [u8; 8] = tail.get(..8)?.try_into().ok()?;
    let (channel, rest) = keys::take_str(&tail[8..])?;
    let bits: [u8; 8] = value.try_into().ok()?;
    let time = Utc.timestamp_millis_opt(keys::i64_of(time)).single()?;
    rest.is_empty().then(|| StoredSample {
        channel: channel.to_string(),
        time,
        celsius: f64::from_bits(u64::from_be_bytes(bits)),
    })
}

/// Splits a full sample key into job, step and the tail the digest covers.
pub(crate) fn split_key(key: &[u8]) -> Option<(&str, u32, &[u8])> {
    let (job, rest) = keys::take_str(key)?;
    let (step, tail) = keys::take_u32(rest)?;
    Some((job, step, tail))
}

/// Running digest over one step's samples, fed in key order.
#[derive(Default)]
pub(crate) struct DigestBuilder {
    hasher: Sha256,
    count: u64,
}

impl DigestBuilder {
    pub fn add(&mut self, tail: &[u8], value: &[u8]) {
        self.hasher.update(tail);
        self.hasher.update(value);
        self.count += 1;
    }

    pub fn finish(self) -> SampleDigest {
        SampleDigest {
            count: self.count,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

/// One step's samples in time order, read lazily.
pub struct SampleIter {
    inner: sled::Iter,
    prefix_len: usize,
    job: String,
    step: u32,
}

impl Iterator for SampleIter {
    type Item = Result<StoredSample>;

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = match self.inner.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        Some(
            k.get(self.prefix_len..)
                .and_then(|tail| decode_tail(tail, &v))
                .ok_or_else(|| StoreError::DamagedSample {
                    what: format!("job {} step {}: undecodable sample", self.job, self.step),
                }),
        )
    }
}

impl Store {
    /// Writes one batch of a step's samples (one sled batch, one flush).
    /// Non-finite readings are refused: they have no place in a record and no JSON form.
    pub fn append_samples(&self, job: &str, step: u32, samples: &[StoredSample]) -> Result<usize> {
        if let Some(bad) = samples.iter().find(|s| !s.celsius.is_finite()) {
            return Err(StoreError::InvalidSample(format!(
                "{} °C on channel {} at {} is not a temperature",
                bad.celsius, bad.channel, bad.time
            )));
        }
        let prefix = step_prefix(job, step);
        let mut batch = sled::Batch::default();
        for s in samples {
            batch.insert(sample_key(&prefix, s), &s.celsius.to_bits().to_be_bytes());
        }
        self.tree(T::Samples).apply_batch(batch)?;
        self.sync()?;
        Ok(samples.len())
    }

    pub fn samples(&self, job: &str, step: u32) -> SampleIter {
        let prefix = step_prefix(job, step);
        SampleIter {
            prefix_len: prefix.len(),
            inner: self.tree(T::Samples).scan_prefix(prefix),
            job: job.to_string(),
            step,
        }
    }

    /// Count and digest of a step's stored samples, for its StepCompleted event.
    pub fn samples_digest(&self, job: &str, step: u32) -> Result<SampleDigest> {
        let prefix = step_prefix(job, step);
        let mut d = DigestBuilder::default();
        for kv in self.tree(T::Samples).scan_prefix(&prefix) {
            let (k, v) = kv?;
            d.add(&k[prefix.len()..], &v);
        }
        Ok(d.finish())
    }

    /// Number of stored samples across all jobs.
    pub fn sample_count(&self) -> u64 {
        self.tree(T::Samples).len() as u64
    }
}

/// Buffers one step's samples and writes them in batches, by default once a second
/// or every 512 samples, whichever comes first.
pub struct SampleWriter {
    store: Store,
    job: String,
    step: u32,
    pending: Vec<StoredSample>,
    last_write: Instant,
    every: Duration,
    max_pending: usize,
}

impl SampleWriter {
    pub fn new(store: Store, job: &str, step: u32) -> SampleWriter {
        SampleWriter {
            store,
            job: job.to_string(),
            step,
            pending: Vec::new(),
            last_write: Instant::now(),
            every: Duration::from_secs(1),
            max_pending: 512,
        }
    }

    pub fn with_interval(mut self, every: Duration, max_pending: usize) -> SampleWriter {
        self.every = every;
        self.max_pending = max_pending.max(1);
        self
    }

    /// Buffers a sample; writes the batch when it is due. Returns how many were written.
    pub fn push(&mut self, sample: StoredSample) -> Result<usize> {
        self.pending.push(sample);
        if self.pending.len() >= self.max_pending || self.last_write.elapsed() >= self.every {
            self.flush()
        } else {
            Ok(0)
        }
    }

    /// Writes whatever is buffered.
    pub fn flush(&mut self) -> Result<usize> {
        self.last_write = Instant::now();
        if self.pending.is_empty() {
            return Ok(0);
        }
        let n = self
            .store
            .append_samples(&self.job, self.step, &self.pending)?;
        self.pending.clear();
        Ok(n)
    }

    /// Writes the rest and returns the digest for the step's StepCompleted event.
    pub fn finish(mut self) -> Result<SampleDigest> {
        self.flush()?;
        self.store.samples_digest(&self.job, self.step)
    }
}
