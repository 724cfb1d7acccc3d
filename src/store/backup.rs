//! Backup and restore as JSON Lines, streamed both ways.
//!
//! ```text
//! {"traveler_backup":2,"store":{"store_id":"<uuid>","bench":"<bench>"},"format":4}
//! {"seq":1,"hash":"<hex>","record":<canonical record bytes, verbatim>}
//! ...
//! {"sample":{"job":"J1","step":0,"channel":"tc1","time":"...","celsius":231.5}}
//! ...
//! {"end":{"events":N,"samples":M,"head_seq":N,"head_hash":"<hex>"}}
//! ```
//!
//! `record` embeds the canonical bytes as a raw JSON value, byte for byte as stored, so
//! a receiver recomputes each hash from the exact text between `"record":` and the
//! closing brace of the line: SHA-256(seq u64 BE ‖ prev_hash raw ‖ those bytes).
//! The `end` line makes a truncated backup detectable, and is the store's high-water
//! mark at the time of the backup. Backups of version 1 (store format 3 and earlier)
//! have no `store` and no `format`; they restore as a store that still needs its
//! identity (see `migrate`).

use std::fs;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::info;

use super::chain::{ChainHead, GENESIS, chain_hash, parse_hash};
use super::error::{Result, StoreError};
use super::identity::StoreIdentity;
use super::index::T;
use super::samples::{block_key, encode_block, step_prefix};
use super::verify::VerifyReport;
use super::{FORMAT_VERSION, OpenOptions, Opening, Pending, Store, StoredSample};

const REPLAY_BATCH: usize = 1000;
/// Samples per block when restoring (the backup does not keep the original batches;
/// the digest does not depend on them).
const RESTORE_BLOCK: usize = 512;
/// Blocks per sled batch when restoring.
const BLOCKS_PER_BATCH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct BackupCounts {
    pub events: u64,
    pub samples: u64,
    pub head: ChainHead,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RestoreCounts {
    pub events: u64,
    pub samples: u64,
    /// When this store's high-water mark (kept outside the store folder) remembers a
    /// later seq than the backup ends at: the records after the backup's end are not
    /// in it.
    pub behind: Option<super::high_water::OutsideMark>,
    /// Records carried verbatim that this build cannot read (a newer traveler wrote
    /// them): they have no index entries here.
    pub unreadable: u64,
    /// The verification run on the restored store.
    pub verified: VerifyReport,
}

#[derive(Serialize, Deserialize)]
struct SampleLine {
    job: String,
    step: u32,
    channel: String,
    time: DateTime<Utc>,
    celsius: f64,
}

#[derive(Serialize, Deserialize)]
struct EndLine {
    events: u64,
    samples: u64,
    head_seq: u64,
    head_hash: String,
}

/// The backup format this build writes.
pub const BACKUP_VERSION: u32 = 2;

#[derive(Serialize)]
struct Header<'a> {
    traveler_backup: u32,
    store: &'a StoreIdentity,
    format: u32,
}

/// What a backup's first line says.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct BackupHeader {
    pub traveler_backup: u32,
    /// `None` in backups of version 1.
    #[serde(default)]
    pub store: Option<StoreIdentity>,
    #[serde(default)]
    pub format: Option<u32>,
}

#[derive(Deserialize)]
struct Line<'a> {
    seq: Option<u64>,
    hash: Option<String>,
    #[serde(borrow)]
    record: Option<&'a RawValue>,
    sample: Option<SampleLine>,
    end: Option<EndLine>,
}

impl Store {
    /// Streams every event up to the current head, then every sample, to `w`.
    pub fn backup(&self, w: impl Write) -> Result<BackupCounts> {
        let mut w = BufWriter::new(w);
        let head = self.chain_head();
        serde_json::to_writer(
            &mut w,
            &Header {
                traveler_backup: BACKUP_VERSION,
                store: self.identity(),
                format: FORMAT_VERSION,
            },
        )?;
        w.write_all(b"\n")?;

        // Bytes, seqs and hashes only: no event is decoded, so a record this build
        // cannot read is carried like any other. The links are checked on the way: a
        // backup of a damaged chain would only move the damage elsewhere.
        let mut events = 0u64;
        let mut prev = GENESIS;
        let mut line = Vec::with_capacity(1024);
        for item in self.record_groups_upto(head.seq) {
            let (seq, v) = item.map_err(verify_hint)?;
            if seq != events + 1 {
                return Err(StoreError::Damaged {
                    seq: events + 1,
                    what: "missing; run `traveler verify`".into(),
                });
            }
            let h = super::wire::head(&v).map_err(|what| StoreError::Damaged {
                seq,
                what: format!("{what}; run `traveler verify`"),
            })?;
            if h.seq != seq || h.prev_hash != prev {
                return Err(StoreError::Damaged {
                    seq,
                    what: "it does not link to the record before it; run `traveler verify`".into(),
                });
            }
            prev = chain_hash(seq, &prev, &v);
            line.clear();
            line.extend_from_slice(b"{\"seq\":");
            line.extend_from_slice(seq.to_string().as_bytes());
            line.extend_from_slice(b",\"hash\":\"");
            let at = line.len();
            line.resize(at + 64, 0);
            // 32 bytes always fit 64 hex digits.
            let _ = hex::encode_to_slice(prev, &mut line[at..]);
            line.extend_from_slice(b"\",\"record\":");
            line.extend_from_slice(&v);
            line.extend_from_slice(b"}\n");
            w.write_all(&line)?;
            events += 1;
        }
        if prev != head.hash {
            return Err(StoreError::Damaged {
                seq: head.seq,
                what: "the last record does not hash to the chain head; run `traveler verify`"
                    .into(),
            });
        }

        let mut samples = 0u64;
        for item in self.sample_steps() {
            let (job, step) = item?;
            for s in self.samples(&job, step) {
                let s = s.map_err(|e| match e {
                    StoreError::DamagedSample { what } => StoreError::DamagedSample {
                        what: format!("{what}; run `traveler verify`"),
                    },
                    other => other,
                })?;
                let line = SampleLine {
                    job: job.clone(),
                    step,
                    channel: s.channel,
                    time: s.time,
                    celsius: s.celsius,
                };
                w.write_all(b"{\"sample\":")?;
                serde_json::to_writer(&mut w, &line)?;
                w.write_all(b"}\n")?;
                samples += 1;
            }
        }

        let end = EndLine {
            events,
            samples,
            head_seq: head.seq,
            head_hash: head.hash_hex(),
        };
        w.write_all(b"{\"end\":")?;
        serde_json::to_writer(&mut w, &end)?;
        w.write_all(b"}\n")?;
        w.flush()?;
        info!(events, samples, "backup written");
        Ok(BackupCounts {
            events,
            samples,
            head,
        })
    }

    /// Writes a backup to `file` atomically: FILE.tmp, fsync, rename, fsync the folder.
    pub fn backup_to_file(&self, file: &Path) -> Result<BackupCounts> {
        let mut tmp_name = file.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp_name);
        // Owner-only: a backup holds the PIN hashes and every record.
        let f = crate::private_fs::create_file(&tmp)?;
        let counts = self.backup(&f)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, file)?;
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs::File::open(dir)?.sync_all()?;
        Ok(counts)
    }

    /// Replays a backup into a new store in `dir` (which must be empty or absent),
    /// checking every hash as it goes, then verifies the result.
    pub fn restore(
        backup: impl BufRead,
        dir: &Path,
        options: OpenOptions,
    ) -> Result<(Store, RestoreCounts)> {
        Store::restore_as(backup, dir, options, false)
    }

    /// Like `restore`, into a private, temporary folder the caller removes afterwards
    /// (a shop-wide export rebuilds each bench's store there from the hub's copy).
    /// Every hash is checked and the result verified the same way, but no high-water
    /// mark is read or written: the user's state folder keeps no trace of the copy,
    /// so a later restore of the bench's real store is never held against it.
    pub fn restore_scratch(
        backup: impl BufRead,
        dir: &Path,
        options: OpenOptions,
    ) -> Result<(Store, RestoreCounts)> {
        Store::restore_as(backup, dir, options, true)
    }

    fn restore_as(
        mut backup: impl BufRead,
        dir: &Path,
        options: OpenOptions,
        scratch: bool,
    ) -> Result<(Store, RestoreCounts)> {
        if dir.is_file() {
            return Err(StoreError::NotAStoreFolder {
                path: dir.to_path_buf(),
            });
        }
        if dir.exists() && fs::read_dir(dir)?.next().is_some() {
            return Err(StoreError::NotEmpty {
                path: dir.to_path_buf(),
            });
        }
        let header = read_header(&mut backup)?;
        // Known before anything is written: a restore writes the mark anew.
        let mark = header
            .store
            .as_ref()
            .filter(|_| !scratch)
            .and_then(|id| super::high_water::find_by_store_id(&id.store_id));
        crate::private_fs::create_dir_all(dir)?;
        let store = Store::open_as(dir, options, Opening::CreateIfMissing(header.store.clone()))?;
        if scratch {
            store.set_scratch();
        }
        let mut counts = store.replay(backup, header.store.is_none())?;
        counts.behind = mark.filter(|m| m.head.seq > counts.events);
        Ok((store, counts))
    }

    /// `needs_identity`: a backup of store format 3 or earlier, whose chain names no
    /// store; a `StoreMigrated` record after its records names the new one.
    fn replay(&self, backup: impl BufRead, needs_identity: bool) -> Result<RestoreCounts> {
        let mut prev = GENESIS;
        let mut expected = 1u64;
        let mut pending: Vec<Pending> = Vec::with_capacity(REPLAY_BATCH);
        let mut blocks = BlockBuffer::default();
        let mut sample_count = 0u64;
        let mut unreadable = 0u64;
        let mut end: Option<EndLine> = None;
        // The header is line 1, read by `read_header`.
        let mut n = 1u64;

        for line in backup.lines() {
            n += 1;
            let line = line?;
            let bad = |what: String| StoreError::Backup { line: n, what };
            if line.trim().is_empty() {
                continue;
            }
            if end.is_some() {
                return Err(bad("text after the end line".into()));
            }
            let parsed: Line<'_> =
                serde_json::from_str(&line).map_err(|e| bad(format!("not a backup line ({e})")))?;
            if let (Some(seq), Some(hash), Some(raw)) = (parsed.seq, &parsed.hash, parsed.record) {
                if sample_count > 0 {
                    return Err(bad("an event after the samples".into()));
                }
                if seq != expected {
                    return Err(bad(format!("seq {seq} where {expected} was expected")));
                }
                let canonical = raw.get().as_bytes();
                let computed = chain_hash(seq, &prev, canonical);
                if parse_hash(hash) != Some(computed) {
                    return Err(bad(format!(
                        "seq {seq}: the record does not match its hash"
                    )));
                }
                let h = super::wire::head(canonical)
                    .map_err(|e| bad(format!("seq {seq}: not a record ({e})")))?;
                if h.seq != seq {
                    return Err(bad(format!("seq {seq}: the record says seq {}", h.seq)));
                }
                // Carried verbatim whether or not this build can read it; only what it
                // reads gets index entries.
                let record = match super::wire::decode(seq, canonical) {
                    Ok(d) => Some(Box::new(d.record)),
                    Err(e @ (StoreError::Newer { .. } | StoreError::Undecodable { .. })) => {
                        unreadable += 1;
                        tracing::warn!("restoring seq {seq} without index entries: {e}");
                        None
                    }
                    Err(e) => return Err(bad(format!("seq {seq}: {e}"))),
                };
                pending.push(Pending::Replayed {
                    head: h,
                    record,
                    canonical: canonical.to_vec(),
                });
                if pending.len() >= REPLAY_BATCH {
                    self.commit(std::mem::take(&mut pending))?;
                }
                prev = computed;
                expected += 1;
            } else if let Some(s) = parsed.sample {
                if !pending.is_empty() {
                    self.commit(std::mem::take(&mut pending))?;
                }
                if !s.celsius.is_finite() {
                    return Err(bad("a sample that is not a temperature".into()));
                }
                let sample = StoredSample {
                    channel: s.channel,
                    time: s.time,
                    celsius: s.celsius,
                };
                blocks.push(self, s.job, s.step, sample)?;
                sample_count += 1;
            } else if let Some(e) = parsed.end {
                end = Some(e);
            } else {
                return Err(bad("neither an event, a sample nor the end".into()));
            }
        }
        self.commit(std::mem::take(&mut pending))?;
        blocks.finish(self)?;
        self.sync()?;

        let Some(end) = end else {
            return Err(StoreError::Backup {
                line: n,
                what: "the backup ends without its end line: it is truncated".into(),
            });
        };
        let head = self.chain_head();
        if end.events != expected - 1
            || end.samples != sample_count
            || end.head_seq != head.seq
            || end.head_hash != head.hash_hex()
        {
            return Err(StoreError::Backup {
                line: n,
                what: format!(
                    "the end line promises {} events, {} samples, head {} {} but the file \
                     held {} events, {sample_count} samples, head {head}",
                    end.events,
                    end.samples,
                    end.head_seq,
                    end.head_hash,
                    expected - 1
                ),
            });
        }
        if needs_identity {
            let id = self.identity().clone();
            self.commit(vec![Pending::New {
                time: Utc::now(),
                actor: crate::domain::event::SYSTEM_ACTOR.to_string(),
                event: Box::new(crate::domain::event::Event::StoreMigrated {
                    store_id: id.store_id,
                    bench: id.bench,
                    from_format: super::OLDEST_MIGRATABLE,
                    to_format: FORMAT_VERSION,
                    from_schema: 1,
                }),
            }])?;
        }
        let verified = self.verify()?;
        info!(events = verified.events, samples = sample_count, "restored");
        Ok(RestoreCounts {
            events: expected - 1,
            samples: sample_count,
            unreadable,
            behind: None,
            verified,
        })
    }
}

fn verify_hint(e: StoreError) -> StoreError {
    match e {
        StoreError::Damaged { seq, what } => StoreError::Damaged {
            seq,
            what: format!("{what}; run `traveler verify`"),
        },
        other => other,
    }
}

/// Reads and checks a backup's first line.
pub fn read_header(backup: &mut impl BufRead) -> Result<BackupHeader> {
    let mut first = String::new();
    backup.read_line(&mut first)?;
    let bad = |what: String| StoreError::Backup { line: 1, what };
    let header: BackupHeader = serde_json::from_str(first.trim_end())
        .map_err(|_| bad("not a traveler backup (no header line)".into()))?;
    match header.traveler_backup {
        1 => Ok(header),
        BACKUP_VERSION if header.store.is_some() => Ok(header),
        BACKUP_VERSION => Err(bad("the header names no store".into())),
        v => Err(bad(format!(
            "backup version {v} was written by a newer traveler; this one reads versions 1 \
             and {BACKUP_VERSION}"
        ))),
    }
}

/// Consecutive samples of one step gathered into blocks, written in sled batches.
#[derive(Default)]
struct BlockBuffer {
    step: Option<(String, u32)>,
    samples: Vec<StoredSample>,
    batch: sled::Batch,
    in_batch: usize,
}

impl BlockBuffer {
    fn push(&mut self, store: &Store, job: String, step: u32, s: StoredSample) -> Result<()> {
        let same = matches!(&self.step, Some((j, st)) if *j == job && *st == step);
        if !same || self.samples.len() >= RESTORE_BLOCK {
            self.close(store)?;
            self.step = Some((job, step));
        }
        self.samples.push(s);
        Ok(())
    }

    fn close(&mut self, store: &Store) -> Result<()> {
        if let (Some((job, step)), Some((first, value))) = (&self.step, encode_block(&self.samples))
        {
            let id = store.inner.db.generate_id()?;
            self.batch
                .insert(block_key(&step_prefix(job, *step), first, id), value);
            self.in_batch += 1;
        }
        self.samples.clear();
        if self.in_batch >= BLOCKS_PER_BATCH {
            self.flush(store)?;
        }
        Ok(())
    }

    fn flush(&mut self, store: &Store) -> Result<()> {
        store
            .tree(T::Samples)
            .apply_batch(std::mem::take(&mut self.batch))?;
        self.in_batch = 0;
        Ok(())
    }

    fn finish(mut self, store: &Store) -> Result<()> {
        self.close(store)?;
        self.flush(store)
    }
}
