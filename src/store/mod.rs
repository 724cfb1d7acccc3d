//! The event store: one sled database, a hash chain of events, derived indexes and
//! the temperature samples.
//!
//! "Saved" means on disk: `append` writes the event, the chain head and every index
//! entry in one sled transaction, then the record's bytes to the write-ahead log with
//! one fdatasync (`wal`), and only then returns.
//!
//! Layout (format `traveler-store-4`): sled 0.34 keeps ~35 bytes per key resident
//! whatever the cache size, so nothing that grows with the store gets a key per item.
//! Events are stored 8 to a key (`group`), a job's seqs and status under one key, the
//! indexes as sorted lists in values (`index`), samples one block per batch (`samples`).
//! Appends read-modify-write these values under the append lock and write them in the
//! same transaction as the chain head. `meta` holds the format, the chain head and the
//! store's identity (`identity`). Each record is an envelope of some schema (`chain`,
//! `wire`); verify, backup and restore work on its bytes (`wire::head`). Format 3
//! differs only in having no identity and schema-1 records: `migrate` converts it.
//!
//! Beside sled's files: `traveler-wal` (the write-ahead log) and `traveler-head` (one
//! copy of the high-water mark, see `high_water`).

mod backup;
mod chain;
mod error;
mod folder;
mod group;
pub mod high_water;
mod identity;
mod index;
mod keys;
mod migrate;
mod query;
// Instruction texts archived by jobs, found by hash (core).
mod archive;
pub use archive::ArchivedText;
// What a bench follows of the shop hub: mirrored releases and the shop policy.
mod hub_follow;
mod samples;
mod verify;
mod wal;
pub mod wire;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sled::transaction::{TransactionError, Transactional};
use tracing::{debug, info, warn};

use crate::domain::event::{Event, Record};
use crate::domain::job::Job;

pub use backup::{BACKUP_VERSION, BackupCounts, BackupHeader, RestoreCounts, read_header};
pub use chain::{ChainHead, GENESIS, SCHEMA, StoredRecord, canonical_bytes, chain_hash};
pub use error::{Result, StoreError, VerifyFailure};
/// How many consecutive records share one key of the events tree.
pub use group::GROUP_LEN as EVENTS_PER_KEY;
pub use identity::{StoreIdentity, is_uuid, uuid_v4};
pub use migrate::{ArchiveReport, MigrateReport, MissingInstruction, OLDEST_MIGRATABLE};
pub use query::{EventIter, LotUse, StoredEventIter};
pub use samples::{SampleDigest, SampleIter, SampleWriter, StoredSample};
pub use verify::{NewerRecords, VerifyReport};

use index::{CHAIN_TREES, Overlay, T, TREE_NAMES};

/// Version of the on-disk layout, kept in `meta/format` as `traveler-store-N`.
pub const FORMAT_VERSION: u32 = 4;
const FORMAT_PREFIX: &str = "traveler-store-";
const META_HEAD: &[u8] = b"chain_head";
const META_FORMAT: &[u8] = b"format";
/// The store's identity as JSON (`StoreIdentity`), from format 4 on.
const META_IDENTITY: &[u8] = b"identity";
/// Present while `reindex` runs; found at open, it means the indexes are half built.
const META_REINDEXING: &[u8] = b"reindexing";

/// Working copies of jobs recently appended to, so that finding a job's new status
/// does not re-read its whole history on every append.
const JOB_CACHE_MAX: usize = 512;

#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// sled page cache in bytes. Its own default (1 GiB) is far too much for a bench PC.
    pub cache_capacity: u64,
    /// Favour write throughput over disk space (sled `Mode::HighThroughput`).
    pub high_throughput: bool,
    /// How long to keep trying while the store is locked. sled releases its file lock
    /// a moment after the last handle drops, so a close-then-reopen must not fail.
    pub lock_wait: Duration,
    /// The bench a new store is created for (its identity); the computer's name when
    /// `None`. An existing store keeps the bench it was created with.
    pub bench: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            // Resident memory levels off at about 12 MB plus twice the cache (measured
            // by the tui bench over ten simulated hours of readings): 8 MiB keeps the
            // bench application near 43 MB.
            cache_capacity: 8 * 1024 * 1024,
            high_throughput: false,
            lock_wait: Duration::from_secs(1),
            bench: None,
        }
    }
}

/// The store's folder when the user names none: the platform's data folder.
pub fn default_store_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "traveler")
        .map(|d| d.data_dir().join("store"))
        .ok_or(StoreError::NoDataDir)
}

/// A handle on the store; clones share one database and one append lock.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    /// sled's own log file, opened again only to fsync it (see `sync`).
    data_file: std::fs::File,
    trees: Vec<sled::Tree>,
    identity: StoreIdentity,
    append: Mutex<AppendState>,
    /// The seq of the last durable record, for tasks that follow the chain (the CFX
    /// publisher) so they wait for an append instead of asking again and again.
    durable_head: tokio::sync::watch::Sender<u64>,
    /// Held by the application core from loading what a decision needs to appending
    /// what it decided (see `decision_lock`).
    decide: Mutex<()>,
}

struct AppendState {
    head: ChainHead,
    jobs: HashMap<String, Job>,
    /// Where each commit's records are made durable (see `wal`).
    wal: wal::Wal,
    /// Seq last written to the high-water file.
    high_water: u64,
    /// A private, temporary copy (`Store::restore_scratch`): it keeps no high-water
    /// mark, so it leaves no trace in the user's state folder.
    scratch: bool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = match self.append.get_mut() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        // Checkpoint: sled's log durable, the WAL empty, so a closed store is sled's
        // files alone.
        if state.wal.len() > 0 {
            let synced = self
                .db
                .flush()
                .map_err(StoreError::from)
                .and_then(|_| Ok(self.data_file.sync_data()?));
            match synced {
                Ok(()) => {
                    if let Err(e) = state.wal.clear() {
                        warn!("cannot empty the write-ahead log: {e}");
                    }
                }
                Err(e) => warn!("checkpoint at close failed (the WAL keeps the records): {e}"),
            }
        }
        // Only a session that appended moves the mark: a read-only command writes
        // nothing.
        if state.high_water != state.head.seq && !state.scratch {
            high_water::write(&self.path, &self.identity, state.head);
        }
    }
}

/// How a commit is made durable before it returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Durability {
    /// The records' bytes to the write-ahead log, one fdatasync (appends).
    Wal,
    /// sled's log flushed and fdatasynced (meta changes, recovery).
    Sync,
}

/// The WAL's frames after sled's chain head, as records to commit again.
fn wal_replay(path: &Path, head: ChainHead, frames: wal::Frames) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    let mut next = head.seq + 1;
    for (seq, canonical) in frames {
        if seq < next {
            continue;
        }
        if seq > next {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!(
                    "its log ends at seq {} and its write-ahead log resumes at seq {seq}: \
                     seqs {next} to {} are in neither",
                    head.seq,
                    seq - 1
                ),
            });
        }
        let h = wire::head(&canonical).map_err(|what| StoreError::Damaged { seq, what })?;
        let record = wire::decode(seq, &canonical)
            .ok()
            .map(|d| Box::new(d.record));
        out.push(Pending::Replayed {
            head: h,
            record,
            canonical,
        });
        next += 1;
    }
    Ok(out)
}

/// How `open_as` treats a folder without a store, and an older format.
pub(crate) enum Opening {
    /// Create a store when there is none, with this identity (a restore) or a new one.
    CreateIfMissing(Option<StoreIdentity>),
    /// Only an existing store of this format.
    Existing,
    /// An existing store of this or an older format, for `migrate`.
    Migrate,
}

/// Ends the process here when `TRAVELER_FAULT` names this point: how the crash tests
/// interrupt a migration or an append at the worst moment. Costs one environment
/// lookup.
pub(crate) fn fault_point(name: &str) {
    static FAULT: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    let fault = FAULT.get_or_init(|| std::env::var_os("TRAVELER_FAULT"));
    if fault.as_ref().is_some_and(|v| v == name) {
        eprintln!("traveler: fault point {name}: aborting");
        std::process::abort();
    }
}

fn format_name(version: u32) -> String {
    format!("{FORMAT_PREFIX}{version}")
}

/// N of `traveler-store-N`.
fn parse_format(f: &[u8]) -> Option<u32> {
    std::str::from_utf8(f)
        .ok()?
        .strip_prefix(FORMAT_PREFIX)?
        .parse()
        .ok()
}

/// One record to be chained: new, or replayed from a backup with its own bytes.
pub(crate) enum Pending {
    New {
        time: DateTime<Utc>,
        actor: String,
        event: Box<Event>,
    },
    /// Bytes from a backup: `record` is `None` when this build cannot read them (a
    /// newer traveler wrote them): they are chained verbatim, without index entries.
    Replayed {
        head: wire::Head,
        record: Option<Box<Record>>,
        canonical: Vec<u8>,
    },
}

impl Store {
    /// Opens the store in `path`, creating it (owner-only, with a new identity) when
    /// the folder is absent or empty. For commands that write.
    pub fn open(path: impl AsRef<Path>, options: OpenOptions) -> Result<Store> {
        Store::open_as(path.as_ref(), options, Opening::CreateIfMissing(None))
    }

    /// Opens the store in `path` only if there is one: never creates a store. For
    /// read-only commands (verify, backup, exports, queries): a path with no store is
    /// `StoreError::NoStore`, a file is `StoreError::NotAStoreFolder`.
    pub fn open_existing(path: impl AsRef<Path>, options: OpenOptions) -> Result<Store> {
        Store::open_as(path.as_ref(), options, Opening::Existing)
    }

    pub(crate) fn open_as(path: &Path, options: OpenOptions, opening: Opening) -> Result<Store> {
        let path = path.to_path_buf();
        let exists = folder::check_folder(&path, matches!(opening, Opening::CreateIfMissing(_)))?;
        if !exists {
            match opening {
                Opening::CreateIfMissing(_) => crate::private_fs::create_dir_all(&path)?,
                _ => {
                    high_water::check_absent(&path)?;
                    return Err(StoreError::NoStore { path });
                }
            }
        }
        let mode = if options.high_throughput {
            sled::Mode::HighThroughput
        } else {
            sled::Mode::LowSpace
        };
        let config = sled::Config::new()
            .path(&path)
            .cache_capacity(options.cache_capacity)
            .mode(mode);
        let deadline = Instant::now() + options.lock_wait;
        let db = loop {
            match config.open().map_err(|e| open_error(&path, e)) {
                Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                other => break other?,
            }
        };
        folder::restrict_files(&path);
        let trees = TREE_NAMES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| open_error(&path, e))?;

        let migrating = matches!(opening, Opening::Migrate);
        let meta = &trees[T::Meta as usize];
        let format = meta.get(META_FORMAT)?;
        let created = format.is_none();
        let identity = match format {
            None if trees[T::Events as usize].is_empty() => {
                let identity = match opening {
                    Opening::CreateIfMissing(Some(id)) => id,
                    Opening::CreateIfMissing(None) => {
                        // A store that was here and vanished is not replaced silently.
                        high_water::check_absent(&path)?;
                        StoreIdentity::new(
                            options.bench.clone().unwrap_or_else(identity::host_name),
                        )
                    }
                    Opening::Existing | Opening::Migrate => {
                        drop(trees);
                        drop(db);
                        high_water::check_absent(&path)?;
                        return Err(StoreError::NoStore { path });
                    }
                };
                meta.insert(META_IDENTITY, identity.to_bytes())?;
                meta.insert(META_FORMAT, format_name(FORMAT_VERSION).as_bytes())?;
                db.flush()?;
                std::fs::File::open(path.join("db"))?.sync_data()?;
                info!(path = %path.display(), %identity, "store created");
                identity
            }
            Some(f) => match parse_format(&f) {
                Some(FORMAT_VERSION) => {
                    let bytes = meta
                        .get(META_IDENTITY)?
                        .ok_or_else(|| StoreError::Corrupt {
                            path: path.clone(),
                            detail: "its identity (meta/identity) is missing".into(),
                        })?;
                    StoreIdentity::from_bytes(&bytes).ok_or_else(|| StoreError::Corrupt {
                        path: path.clone(),
                        detail: "its identity (meta/identity) is unreadable".into(),
                    })?
                }
                Some(n) if n < FORMAT_VERSION => match opening {
                    Opening::Migrate => migrate::pending_identity(meta, &options),
                    _ => return Err(StoreError::NeedsMigration { path, format: n }),
                },
                Some(n) => return Err(StoreError::NewerFormat { path, format: n }),
                None => {
                    return Err(StoreError::Corrupt {
                        path,
                        detail: format!("unknown store format {:?}", String::from_utf8_lossy(&f)),
                    });
                }
            },
            None => {
                return Err(StoreError::Corrupt {
                    path,
                    detail: "it holds events but no store format".into(),
                });
            }
        };

        let mut head = read_head(&trees, &path)?;
        let (wal, frames) = wal::Wal::open(&path)?;
        let replay = wal_replay(&path, head, frames)?;
        if !created && replay.is_empty() {
            // A store created just now has no past to check (a restore is about to
            // replay one, and reports what its backup lacks).
            high_water::check(&path, &identity, head)?;
        }
        let data_file = std::fs::File::open(path.join("db"))?;
        let store = Store {
            inner: Arc::new(Inner {
                path,
                db,
                data_file,
                trees,
                identity,
                append: Mutex::new(AppendState {
                    head,
                    jobs: HashMap::new(),
                    wal,
                    high_water: head.seq,
                    scratch: false,
                }),
                durable_head: tokio::sync::watch::Sender::new(head.seq),
                decide: Mutex::new(()),
            }),
        };
        if !replay.is_empty() {
            // Appends acknowledged from the WAL that sled's log had not made durable
            // when the process stopped: chained again through the ordinary commit.
            let n = replay.len();
            store.commit_durably(replay, Vec::new(), Durability::Sync)?;
            store.lock().wal.clear()?;
            head = store.chain_head();
            warn!(
                records = n,
                head = head.seq,
                "recovered appends from the write-ahead log"
            );
            if !created {
                high_water::check(store.path(), store.identity(), head)?;
            }
        }
        if !migrating && store.tree(T::Meta).contains_key(META_REINDEXING)? {
            warn!(path = %store.path().display(), "an interrupted reindex is finished now");
            store.reindex()?;
        }
        info!(path = %store.path().display(), head = head.seq, "store opened");
        Ok(store)
    }

    /// Marks this handle's store as a private, temporary copy that keeps no
    /// high-water mark (see `restore_scratch`).
    pub(crate) fn set_scratch(&self) {
        self.lock().scratch = true;
    }

    /// Which store this is: its random id and the bench it was created for.
    pub fn identity(&self) -> &StoreIdentity {
        &self.inner.identity
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn tree(&self, t: T) -> &sled::Tree {
        &self.inner.trees[t as usize]
    }

    /// The last record's seq and hash as last committed.
    pub fn chain_head(&self) -> ChainHead {
        self.lock().head
    }

    /// One decision at a time on this store: every `Core` on it (the bench's write
    /// worker, the hub sync task's mirror, a CLI command) holds this from reading
    /// the situation to appending the decided events, so two decisions can never
    /// both be taken on the same stale state (a local review and a mirrored hub
    /// decision on one submission). A poisoned lock is taken anyway: it guards no
    /// data, only the order.
    pub fn decision_lock(&self) -> MutexGuard<'_, ()> {
        self.inner
            .decide
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// Appends one event now; returns once it is on disk.
    pub fn append(&self, actor: &str, event: Event) -> Result<Record> {
        self.append_at(Utc::now(), actor, event)
    }

    /// Appends one event with the given time (replays and tests).
    pub fn append_at(&self, time: DateTime<Utc>, actor: &str, event: Event) -> Result<Record> {
        let mut recs = self.commit(vec![Pending::New {
            time,
            actor: actor.to_string(),
            event: Box::new(event),
        }])?;
        recs.pop()
            .ok_or_else(|| StoreError::Io(io::Error::other("append produced no record")))
    }

    /// Appends several events of one actor in one transaction and one flush: all of
    /// them are saved, or none.
    pub fn append_batch(&self, actor: &str, events: Vec<Event>) -> Result<Vec<Record>> {
        let time = Utc::now();
        self.append_batch_at(
            events
                .into_iter()
                .map(|event| (time, actor.to_string(), event))
                .collect(),
        )
    }

    /// Like `append_batch`, each event with its own time and actor.
    pub fn append_batch_at(
        &self,
        items: Vec<(DateTime<Utc>, String, Event)>,
    ) -> Result<Vec<Record>> {
        self.commit(
            items
                .into_iter()
                .map(|(time, actor, event)| Pending::New {
                    time,
                    actor,
                    event: Box::new(event),
                })
                .collect(),
        )
    }

    /// Makes everything written so far durable. sled 0.34's `flush` ends in
    /// `sync_file_range` on Linux, which neither flushes the drive's write cache nor
    /// commits the file's growing size, so it survives a killed process but not a power
    /// cut. fsync applies to the file, not the descriptor, so fdatasync on our own
    /// handle of sled's log finishes the job.
    pub(crate) fn sync(&self) -> Result<()> {
        self.inner.db.flush()?;
        self.inner.data_file.sync_data()?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, AppendState> {
        match self.inner.append.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                // A panic mid-append may have left the cached head behind what sled
                // committed; trust the disk, never the cache.
                let mut g = poisoned.into_inner();
                if let Ok(head) = read_head(&self.inner.trees, &self.inner.path) {
                    g.head = head;
                }
                g.jobs.clear();
                self.inner.append.clear_poison();
                g
            }
        }
    }

    /// Chains `items` after the head, writes them with every index entry in one
    /// transaction, flushes, and only then reports them saved.
    pub(crate) fn commit(&self, items: Vec<Pending>) -> Result<Vec<Record>> {
        self.commit_durably(items, Vec::new(), Durability::Wal)
    }

    /// `commit` with meta entries written in the same transaction (migration). The
    /// WAL holds records only, so such a commit syncs sled's log itself.
    pub(crate) fn commit_with(
        &self,
        items: Vec<Pending>,
        meta: Vec<(&[u8], Vec<u8>)>,
    ) -> Result<Vec<Record>> {
        self.commit_durably(items, meta, Durability::Sync)
    }

    fn commit_durably(
        &self,
        items: Vec<Pending>,
        meta: Vec<(&[u8], Vec<u8>)>,
        durability: Durability,
    ) -> Result<Vec<Record>> {
        if items.is_empty() && meta.is_empty() {
            return Ok(Vec::new());
        }
        let mut state = self.lock();
        let trees = &self.inner.trees;
        let mut head = state.head;
        let mut working: HashMap<String, Option<Job>> = HashMap::new();
        let mut overlay = Overlay::default();
        let mut records = Vec::with_capacity(items.len());
        let mut frames: Vec<(u64, Vec<u8>)> = Vec::with_capacity(items.len());

        for item in items {
            let seq = head.seq + 1;
            let (record, canonical) = match item {
                Pending::New { time, actor, event } => {
                    let record = Record {
                        seq,
                        prev_hash: hex::encode(head.hash),
                        time,
                        actor,
                        event: *event,
                    };
                    // The first record of a store carries its identity into the chain.
                    let store = (seq == 1).then_some(&self.inner.identity);
                    let bytes = canonical_bytes(&record, store)?;
                    (Some(record), bytes)
                }
                Pending::Replayed {
                    head: h,
                    record,
                    canonical,
                } => {
                    if h.seq != seq || h.prev_hash != head.hash {
                        return Err(StoreError::Damaged {
                            seq: h.seq,
                            what: format!(
                                "does not follow the chain head {head} (expected seq {seq})"
                            ),
                        });
                    }
                    (record.map(|r| *r), canonical)
                }
            };
            let hash = chain_hash(seq, &head.hash, &canonical);
            let Some(record) = record else {
                self.add_to_group(&mut overlay, seq, &canonical)?;
                head = ChainHead { seq, hash };
                frames.push((seq, canonical));
                continue;
            };
            if let Some(job_id) = record.event.job()
                && !working.contains_key(job_id)
            {
                // Taken out, not cloned: if this commit fails the job is simply folded
                // from disk again next time. Folded before this commit touches the
                // job, so the disk holds exactly its earlier records.
                let current = match state.jobs.remove(job_id) {
                    Some(j) => Some(j),
                    None => self.job(job_id)?,
                };
                working.insert(job_id.to_string(), current);
            }
            index::static_writes(trees, &record, &mut overlay)?;
            if let Some(job_id) = record.event.job()
                && let Some(job) = working.get_mut(job_id)
            {
                let (before, after) = index::advance(job, &record);
                index::status_writes(trees, job_id, before, after, &mut overlay)?;
                if let Some(j) = job.as_ref() {
                    index::lot_write(trees, j, &record, &mut overlay)?;
                }
            }
            self.add_to_group(&mut overlay, seq, &canonical)?;
            head = ChainHead { seq, hash };
            records.push(record);
            frames.push((seq, canonical));
        }
        overlay.put(T::Meta, META_HEAD.to_vec(), head.to_bytes().to_vec());
        for (key, value) in meta {
            overlay.put(T::Meta, key.to_vec(), value);
        }

        self.apply_chain_writes(overlay)?;
        fault_point("commit:applied");
        // Committed in sled's memory from here on, whatever the flush says: the head
        // must follow, or the next append would reuse a seq.
        state.head = head;
        if state.jobs.len() + working.len() > JOB_CACHE_MAX {
            state.jobs.clear();
        }
        for (id, job) in working {
            match job {
                Some(j) => state.jobs.insert(id, j),
                None => state.jobs.remove(&id),
            };
        }
        match durability {
            Durability::Wal if !frames.is_empty() => {
                let refs: Vec<(u64, &[u8])> =
                    frames.iter().map(|(s, c)| (*s, c.as_slice())).collect();
                state.wal.append(&refs)?;
                fault_point("commit:wal-synced");
                if state.wal.len() >= wal::CHECKPOINT_BYTES {
                    self.sync()?;
                    state.wal.clear()?;
                }
            }
            _ => self.sync()?,
        }
        if !state.scratch
            && (state.high_water == 0
                || head.seq / high_water::EVERY != state.high_water / high_water::EVERY)
        {
            high_water::write(&self.inner.path, &self.inner.identity, head);
            state.high_water = head.seq;
        }
        debug!(head = head.seq, n = records.len(), "appended");
        // Only now durable: whoever follows the chain may read up to here.
        self.inner.durable_head.send_replace(head.seq);
        Ok(records)
    }

    /// Changes whenever an append has made records durable; its value is the seq of
    /// the last of them. Reading it never waits for the append lock.
    pub fn watch_durable_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.durable_head.subscribe()
    }

    /// Appends a record's bytes to its group (read from disk once per commit).
    fn add_to_group(&self, overlay: &mut Overlay, seq: u64, canonical: &[u8]) -> Result<()> {
        let g = group::group_of(seq);
        let key = group::group_key(g);
        let value = overlay.value(&self.inner.trees, T::Events, &key)?;
        let v = value.get_or_insert_with(Vec::new);
        let (ranges, err) = group::split(g, v);
        let expected = (seq - group::first_seq(g)) as usize;
        if err.is_some() || ranges.len() != expected {
            // Appending here would hide damage under a good record or fork the chain.
            return Err(StoreError::Corrupt {
                path: self.path().to_path_buf(),
                detail: format!(
                    "the event group of seq {seq} holds {} readable records where {expected} \
                     were expected; run `traveler verify`",
                    ranges.len()
                ),
            });
        }
        group::push_record(v, canonical);
        overlay.bytes += canonical.len() + 4;
        overlay.touch(T::Events, &key);
        Ok(())
    }

    fn apply_chain_writes(&self, mut overlay: Overlay) -> Result<()> {
        let writes: Vec<(T, Vec<u8>, Option<Vec<u8>>)> = overlay.drain().collect();
        let trees: Vec<&sled::Tree> = CHAIN_TREES.iter().map(|&t| self.tree(t)).collect();
        let slot = |t: T| CHAIN_TREES.iter().position(|&c| c == t);
        let result: std::result::Result<(), TransactionError<()>> =
            trees.as_slice().transaction(|tx| {
                for (t, key, value) in &writes {
                    // Every tree a write names is in CHAIN_TREES by construction.
                    let Some(i) = slot(*t) else { continue };
                    match value {
                        Some(v) => tx[i].insert(key.as_slice(), v.as_slice())?,
                        None => tx[i].remove(key.as_slice())?,
                    };
                }
                Ok(())
            });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(e)) => Err(e.into()),
            Err(TransactionError::Abort(())) => Err(StoreError::Io(io::Error::other(
                "append transaction aborted",
            ))),
        }
    }

    /// Drops every index entry and rebuilds them from the events alone.
    pub fn reindex(&self) -> Result<u64> {
        let mut state = self.lock();
        state.jobs.clear();
        let trees = &self.inner.trees;
        let meta = self.tree(T::Meta);
        meta.insert(META_REINDEXING, b"1".as_slice())?;
        self.sync()?;
        for t in index::INDEX_TREES {
            self.tree(t).clear()?;
        }

        // Pass 1: entries that depend on one record, and each job's seq list.
        let mut overlay = Overlay::default();
        let mut n = 0u64;
        for item in self.stored_events() {
            let stored = match item {
                Ok(s) => s,
                // A newer traveler's record: kept, chained, not indexed by this build.
                Err(e @ (StoreError::Newer { .. } | StoreError::Undecodable { .. })) => {
                    warn!("reindex leaves a record without index entries: {e}");
                    n += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            index::static_writes(trees, &stored.record, &mut overlay)?;
            n += 1;
            if overlay.bytes >= REINDEX_FLUSH_BYTES {
                self.apply_unchained(&mut overlay)?;
            }
        }
        self.apply_unchained(&mut overlay)?;

        // Pass 2: each job's status and lots, folding one job at a time to keep memory flat.
        let mut job_ids = Vec::new();
        for item in self.tree(T::Jobs).iter().keys() {
            let key = item?;
            let (job, _) = keys::take_str(&key).ok_or_else(|| StoreError::Corrupt {
                path: self.path().to_path_buf(),
                detail: "an unreadable jobs key".into(),
            })?;
            job_ids.push(job.to_string());
            if job_ids.len() >= 10_000 {
                self.write_statuses(&mut job_ids, &mut overlay)?;
            }
        }
        self.write_statuses(&mut job_ids, &mut overlay)?;

        meta.remove(META_REINDEXING)?;
        self.sync()?;
        info!(events = n, "reindexed");
        Ok(n)
    }

    fn write_statuses(&self, ids: &mut Vec<String>, overlay: &mut Overlay) -> Result<()> {
        let trees = &self.inner.trees;
        for id in ids.drain(..) {
            let job = self.job(&id)?;
            index::status_writes(trees, &id, None, job.as_ref().map(|j| j.status), overlay)?;
            if let Some(j) = &job {
                index::lot_writes_of(trees, j, overlay)?;
            }
            if overlay.bytes >= REINDEX_FLUSH_BYTES {
                self.apply_unchained(overlay)?;
            }
        }
        self.apply_unchained(overlay)
    }

    /// Applies index writes tree by tree; only for rebuilding, where a crash is
    /// covered by the reindex marker instead of a transaction.
    fn apply_unchained(&self, overlay: &mut Overlay) -> Result<()> {
        let mut batches: HashMap<usize, sled::Batch> = HashMap::new();
        for (t, key, value) in overlay.drain() {
            let b = batches.entry(t as usize).or_default();
            match value {
                Some(v) => b.insert(key, v),
                None => b.remove(key),
            }
        }
        for (t, batch) in batches {
            self.inner.trees[t].apply_batch(batch)?;
        }
        Ok(())
    }
}

/// Bytes of index values a rebuild holds before writing them out.
const REINDEX_FLUSH_BYTES: usize = 32 * 1024 * 1024;

fn read_head(trees: &[sled::Tree], path: &Path) -> Result<ChainHead> {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let stored = match trees[T::Meta as usize].get(META_HEAD)? {
        None => ChainHead::EMPTY,
        Some(b) => ChainHead::from_bytes(&b)
            .ok_or_else(|| corrupt("the chain head is unreadable".into()))?,
    };
    let last = match trees[T::Events as usize].last()? {
        None => 0,
        Some((k, v)) => {
            let g = group::group_from_key(&k)
                .ok_or_else(|| corrupt("the last event group key is unreadable".into()))?;
            let (ranges, err) = group::split(g, &v);
            if let Some(e) = err {
                return Err(corrupt(format!("the last event group is damaged: {e}")));
            }
            group::first_seq(g) + ranges.len() as u64 - 1
        }
    };
    if last != stored.seq {
        // The head is written in the same transaction as each event, so this is
        // damage, and appending on top would fork the chain.
        return Err(corrupt(format!(
            "the chain head says seq {} but the last event is seq {last}",
            stored.seq
        )));
    }
    Ok(stored)
}

/// sled's error in words for the person at the bench, without its internals.
pub fn describe_sled(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => format!("reading its files failed: {io}"),
        sled::Error::Corruption { .. } => "its data file is damaged".into(),
        sled::Error::ReportableBug(_) => "the storage engine failed on it".into(),
        sled::Error::Unsupported(what) => format!("the storage engine refused it: {what}"),
        sled::Error::CollectionNotFound(_) => "a part of it is missing".into(),
    }
}

fn open_error(path: &Path, e: sled::Error) -> StoreError {
    let path = path.to_path_buf();
    match e {
        sled::Error::Io(io) if is_lock_error(&io) => StoreError::InUse { path },
        sled::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound
            ) =>
        {
            StoreError::Io(io::Error::new(
                io.kind(),
                format!("cannot open the store at {}: {io}", path.display()),
            ))
        }
        other => {
            let known = high_water::read_outside(&path)
                .map(|m| {
                    format!(
                        "; it last reached seq {} (hash {})",
                        m.head.seq,
                        m.head.hash_hex()
                    )
                })
                .unwrap_or_default();
            StoreError::Corrupt {
                detail: format!("{}, nothing could be read{known}", describe_sled(&other)),
                path,
            }
        }
    }
}

fn is_lock_error(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}
