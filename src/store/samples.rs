//! Temperature samples: high volume, so they live outside the chain in their own tree,
//! written in blocks, one block per `append_samples` batch. The chain covers them
//! through the digest each StepCompleted carries.
//!
//! sled 0.34 costs about 35 bytes of resident memory per key whatever the cache size,
//! so samples are never stored one per key.
//!
//! Block key: job (u32 BE length + UTF-8) ‖ step u32 BE ‖ time of the block's first
//! sample (ms since the Unix epoch, i64 BE with the sign bit flipped) ‖ a block id
//! (u64 BE, sled's monotonic `generate_id`, which keeps keys unique and tells which
//! block was written last).
//!
//! Block value:
//! ```text
//! channel count u16 BE, then each channel name: u16 BE length ‖ UTF-8
//! sample count u32 BE, then each sample: channel index u16 BE ‖ time (8 bytes as in
//!     the key) ‖ celsius as IEEE-754 f64 bits u64 BE
//! ```
//! Within a block samples are sorted by (time, channel) with no repeats, and the key's
//! time is the first sample's.
//!
//! A step's samples are read as a merge of its blocks in (time, channel) order, so
//! `samples(job, step)` yields them in time order whatever order the batches came in.
//! Time is kept to the millisecond; a second sample for the same channel in the same
//! millisecond replaces the first (within a batch the later one, across batches the
//! later batch).
//!
//! Digest of (job, step): SHA-256 over, for each sample in that merged (time, channel)
//! order, time (8 bytes as in the key) ‖ channel length u32 BE ‖ channel UTF-8 ‖
//! celsius bits u64 BE. It does not depend on how the samples were batched into
//! blocks (a restore re-blocks them), and it is the digest format 1 stores computed.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
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

/// The digest's view of one sample: time key ‖ length-prefixed channel. Its byte
/// order is the (time, channel) order.
fn tail_of(time_key: [u8; 8], channel: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(12 + channel.len());
    t.extend_from_slice(&time_key);
    push_str(&mut t, channel);
    t
}

fn time_key(time: &DateTime<Utc>) -> [u8; 8] {
    keys::i64_key(time.timestamp_millis())
}

/// Encodes one batch as a block: (first time key, value), or `None` if it is empty.
/// Sorts by (time, channel); of repeats the later one in the batch stays.
pub(crate) fn encode_block(samples: &[StoredSample]) -> Option<([u8; 8], Vec<u8>)> {
    let mut items: Vec<(Vec<u8>, usize)> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| (tail_of(time_key(&s.time), &s.channel), i))
        .collect();
    // Stable: equal tails keep batch order, so the last of each run is the later one.
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept: Vec<usize> = Vec::with_capacity(items.len());
    for (n, (tail, i)) in items.iter().enumerate() {
        if items.get(n + 1).is_some_and(|next| next.0 == *tail) {
            continue;
        }
        kept.push(*i);
    }
    let first = *kept.first()?;
    let mut channels: Vec<&str> = Vec::new();
    let mut value = Vec::with_capacity(8 + kept.len() * 18);
    let mut body = Vec::with_capacity(kept.len() * 18);
    for &i in &kept {
        let s = &samples[i];
        let idx = match channels.iter().position(|c| *c == s.channel) {
            Some(p) => p,
            None => {
                channels.push(&s.channel);
                channels.len() - 1
            }
        };
        body.extend_from_slice(&(idx as u16).to_be_bytes());
        body.extend_from_slice(&time_key(&s.time));
        body.extend_from_slice(&s.celsius.to_bits().to_be_bytes());
    }
    value.extend_from_slice(&(channels.len() as u16).to_be_bytes());
    for c in &channels {
        // Channel names are short labels; longer ones are cut at a char boundary.
        let mut end = c.len().min(u16::MAX as usize);
        while !c.is_char_boundary(end) {
            end -= 1;
        }
        value.extend_from_slice(&(end as u16).to_be_bytes());
        value.extend_from_slice(&c.as_bytes()[..end]);
    }
    value.extend_from_slice(&(kept.len() as u32).to_be_bytes());
    value.extend_from_slice(&body);
    Some((time_key(&samples[first].time), value))
}

pub(crate) fn block_key(prefix: &[u8], first: [u8; 8], id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 16);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&first);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Splits a block key into job, step, first time key and block id.
pub(crate) fn split_block_key(key: &[u8]) -> Option<(&str, u32, [u8; 8], u64)> {
    let (job, rest) = keys::take_str(key)?;
    let (step, rest) = keys::take_u32(rest)?;
    if rest.len() != 16 {
        return None;
    }
    let first: [u8; 8] = rest[..8].try_into().ok()?;
    let id = u64::from_be_bytes(rest[8..].try_into().ok()?);
    Some((job, step, first, id))
}

/// One decoded sample: its digest tail and celsius bits.
pub(crate) struct Raw {
    pub tail: Vec<u8>,
    pub bits: u64,
}

impl Raw {
    pub fn to_sample(&self) -> Option<StoredSample> {
        let time: [u8; 8] = self.tail.get(..8)?.try_into().ok()?;
        let (channel, rest) = keys::take_str(&self.tail[8..])?;
        let time = Utc.timestamp_millis_opt(keys::i64_of(time)).single()?;
        rest.is_empty().then(|| StoredSample {
            channel: channel.to_string(),
            time,
            celsius: f64::from_bits(self.bits),
        })
    }
}

fn take<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
    let head: [u8; N] = b.get(..N)?.try_into().ok()?;
    *b = &b[N..];
    Some(head)
}

/// Decodes a block, checking it is whole, sorted and agrees with its key's first time.
/// `None` means damage.
pub(crate) fn decode_block(first: [u8; 8], value: &[u8]) -> Option<Vec<Raw>> {
    let mut b = value;
    let n_channels = u16::from_be_bytes(take::<2>(&mut b)?) as usize;
    let mut channels = Vec::with_capacity(n_channels);
    for _ in 0..n_channels {
        let len = u16::from_be_bytes(take::<2>(&mut b)?) as usize;
        let name = std::str::from_utf8(b.get(..len)?).ok()?;
        b = &b[len..];
        channels.push(name);
    }
    let count = u32::from_be_bytes(take::<4>(&mut b)?) as usize;
    if count == 0 || b.len() != count.checked_mul(18)? {
        return None;
    }
    let mut out: Vec<Raw> = Vec::with_capacity(count);
    for _ in 0..count {
        let idx = u16::from_be_bytes(take::<2>(&mut b)?) as usize;
        let time = take::<8>(&mut b)?;
        let bits = u64::from_be_bytes(take::<8>(&mut b)?);
        let raw = Raw {
            tail: tail_of(time, channels.get(idx)?),
            bits,
        };
        if out.last().is_some_and(|p| p.tail >= raw.tail) {
            return None;
        }
        out.push(raw);
    }
    (out.first()?.tail[..8] == first).then_some(out)
}

/// Number of samples a block holds, from its header alone.
fn block_count(value: &[u8]) -> Option<u64> {
    let mut b = value;
    let n_channels = u16::from_be_bytes(take::<2>(&mut b)?) as usize;
    for _ in 0..n_channels {
        let len = u16::from_be_bytes(take::<2>(&mut b)?) as usize;
        b = b.get(len..)?;
    }
    Some(u32::from_be_bytes(take::<4>(&mut b)?) as u64)
}

/// Running digest over one step's samples, fed in (time, channel) order.
#[derive(Default)]
pub(crate) struct DigestBuilder {
    hasher: Sha256,
    count: u64,
}

impl DigestBuilder {
    pub fn add(&mut self, raw: &Raw) {
        self.hasher.update(&raw.tail);
        self.hasher.update(raw.bits.to_be_bytes());
        self.count += 1;
    }

    pub fn finish(self) -> SampleDigest {
        SampleDigest {
            count: self.count,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

/// The head of one block in the merge: ordered by tail, then by block id (later
/// blocks win repeats).
struct Head {
    tail: Vec<u8>,
    id: u64,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Head {
    fn cmp(&self, o: &Self) -> Ordering {
        self.tail.cmp(&o.tail).then(self.id.cmp(&o.id))
    }
}

struct Run {
    items: std::vec::IntoIter<Raw>,
    /// The sample at the head of the heap for this run.
    current: Option<Raw>,
}

/// A decoded block: first time key, block id, samples.
type Block = ([u8; 8], u64, Vec<Raw>);

/// One step's samples merged from its blocks in (time, channel) order. Blocks come in
/// key order, that is by first time, so only blocks that overlap are held at once.
pub(crate) struct StepMerge {
    blocks: sled::Iter,
    next_block: Option<Result<Block>>,
    heap: BinaryHeap<Reverse<Head>>,
    runs: Vec<Run>,
    free: Vec<usize>,
    job: String,
    step: u32,
    failed: bool,
}

impl StepMerge {
    fn new(store: &Store, job: &str, step: u32) -> StepMerge {
        let mut m = StepMerge {
            blocks: store.tree(T::Samples).scan_prefix(step_prefix(job, step)),
            next_block: None,
            heap: BinaryHeap::new(),
            runs: Vec::new(),
            free: Vec::new(),
            job: job.to_string(),
            step,
            failed: false,
        };
        m.advance_block();
        m
    }

    fn damaged(&self) -> StoreError {
        StoreError::DamagedSample {
            what: format!(
                "job {} step {}: an undecodable sample block",
                self.job, self.step
            ),
        }
    }

    fn advance_block(&mut self) {
        self.next_block = match self.blocks.next() {
            None => None,
            Some(Err(e)) => Some(Err(e.into())),
            Some(Ok((k, v))) => Some(
                split_block_key(&k)
                    .and_then(|(_, _, first, id)| Some((first, id, decode_block(first, &v)?)))
                    .ok_or_else(|| self.damaged()),
            ),
        };
    }

    fn push_run(&mut self, id: u64, items: Vec<Raw>) {
        let mut it = items.into_iter();
        let Some(first) = it.next() else { return };
        let run = Run {
            items: it,
            current: None,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.runs[s] = run;
                s
            }
            None => {
                self.runs.push(run);
                self.runs.len() - 1
            }
        };
        self.heap.push(Reverse(Head {
            tail: first.tail.clone(),
            id,
            run: slot,
        }));
        self.runs[slot].current = Some(first);
    }

    /// Loads every block that may hold a sample at or before the heap's minimum.
    fn fill(&mut self) -> Result<()> {
        loop {
            let due = match (&self.next_block, self.heap.peek()) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(Ok((first, _, _))), Some(Reverse(h))) => first[..] <= h.tail[..8],
                (Some(Err(_)), Some(_)) => true,
            };
            if !due {
                return Ok(());
            }
            match self.next_block.take() {
                Some(Ok((_, id, items))) => self.push_run(id, items),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
            self.advance_block();
        }
    }

    /// Takes the head of the heap and moves its run on.
    fn pop(&mut self) -> Option<(Head, Raw)> {
        let Reverse(h) = self.heap.pop()?;
        let run = &mut self.runs[h.run];
        let raw = run.current.take()?;
        match run.items.next() {
            Some(next) => {
                self.heap.push(Reverse(Head {
                    tail: next.tail.clone(),
                    id: h.id,
                    run: h.run,
                }));
                run.current = Some(next);
            }
            None => self.free.push(h.run),
        }
        Some((h, raw))
    }

    fn next_raw(&mut self) -> Option<Result<Raw>> {
        if self.failed {
            return None;
        }
        if let Err(e) = self.fill() {
            self.failed = true;
            return Some(Err(e));
        }
        let (_, mut best) = self.pop()?;
        // Repeats of the same (time, channel): the latest block's value stands.
        loop {
            if let Err(e) = self.fill() {
                self.failed = true;
                return Some(Err(e));
            }
            match self.heap.peek() {
                Some(Reverse(h)) if h.tail == best.tail => {}
                _ => return Some(Ok(best)),
            }
            if let Some((_, raw)) = self.pop() {
                best = raw;
            }
        }
    }
}

impl Iterator for StepMerge {
    type Item = Result<Raw>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_raw()
    }
}

/// One step's samples in time order, read lazily.
pub struct SampleIter {
    inner: StepMerge,
}

impl Iterator for SampleIter {
    type Item = Result<StoredSample>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(
            self.inner
                .next()?
                .and_then(|raw| raw.to_sample().ok_or_else(|| self.inner.damaged())),
        )
    }
}

/// The first key after every key that starts with `prefix`, if any.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Store {
    /// Writes one batch of a step's samples as one block, then flushes.
    /// Non-finite readings are refused: they have no place in a record and no JSON form.
    pub fn append_samples(&self, job: &str, step: u32, samples: &[StoredSample]) -> Result<usize> {
        if let Some(bad) = samples.iter().find(|s| !s.celsius.is_finite()) {
            return Err(StoreError::InvalidSample(format!(
                "{} °C on channel {} at {} is not a temperature",
                bad.celsius, bad.channel, bad.time
            )));
        }
        let Some((first, value)) = encode_block(samples) else {
            return Ok(0);
        };
        let id = self.inner.db.generate_id()?;
        let key = block_key(&step_prefix(job, step), first, id);
        self.tree(T::Samples).insert(key, value)?;
        self.sync()?;
        Ok(samples.len())
    }

    pub fn samples(&self, job: &str, step: u32) -> SampleIter {
        SampleIter {
            inner: StepMerge::new(self, job, step),
        }
    }

    pub(crate) fn raw_samples(&self, job: &str, step: u32) -> StepMerge {
        StepMerge::new(self, job, step)
    }

    /// Count and digest of a step's stored samples, for its StepCompleted event.
    pub fn samples_digest(&self, job: &str, step: u32) -> Result<SampleDigest> {
        let mut d = DigestBuilder::default();
        for raw in self.raw_samples(job, step) {
            d.add(&raw?);
        }
        Ok(d.finish())
    }

    /// Every (job, step) that has samples, in key order, streaming.
    pub(crate) fn sample_steps(&self) -> impl Iterator<Item = Result<(String, u32)>> + '_ {
        let tree = self.tree(T::Samples);
        let mut from: Option<Vec<u8>> = Some(Vec::new());
        std::iter::from_fn(move || {
            let start = from.take()?;
            let (k, _) = match tree.range(start..).next()? {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.into())),
            };
            let Some((job, step, _, _)) = split_block_key(&k) else {
                return Some(Err(StoreError::DamagedSample {
                    what: "an unreadable sample block key".into(),
                }));
            };
            from = prefix_end(&step_prefix(job, step));
            Some(Ok((job.to_string(), step)))
        })
    }

    /// Number of stored samples across all jobs (repeats not merged out).
    pub fn sample_count(&self) -> u64 {
        self.tree(T::Samples)
            .iter()
            .values()
            .filter_map(|v| v.ok().and_then(|v| block_count(&v)))
            .sum()
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
