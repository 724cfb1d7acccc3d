//! `traveler migrate`: converts a store of an older format in place.
//!
//! Format 3 to 4 keeps every stored byte: records stay where they are, hashed as they
//! were (schema 1 records are read through the frozen `wire::v1` types). What changes:
//! the store gets an identity (meta and a `StoreMigrated` record that names it, since
//! format 3 recorded none), the format mark becomes `traveler-store-4`, and with
//! `--instructions DIR` the instruction files the jobs ran are archived into the chain.
//!
//! Crash-safe: nothing is written before one sled transaction that holds the new
//! records, the chain head, the identity and the format mark together, followed by one
//! durable sync. Interrupted anywhere, the store is either the untouched format-3 store
//! (which the traveler that wrote it still opens) or the finished format-4 store.
//!
//! Formats 1 and 2 kept records in another layout: back them up with the traveler
//! that wrote them and `traveler restore` the backup with this one (restore reads
//! every backup version).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::Utc;
use sha2::{Digest, Sha256};
use tracing::info;

use crate::domain::event::{Event, SYSTEM_ACTOR};

use super::error::{Result, StoreError};
use super::identity::{self, StoreIdentity};
use super::{FORMAT_VERSION, META_FORMAT, META_IDENTITY, OpenOptions, Opening, Pending, Store};

/// The oldest format `migrate` converts in place.
pub const OLDEST_MIGRATABLE: u32 = 3;

/// The identity a store of an older format gets when it is migrated: the one a
/// half-finished migration already chose, else a new one.
pub(crate) fn pending_identity(meta: &sled::Tree, options: &OpenOptions) -> StoreIdentity {
    meta.get(META_IDENTITY)
        .ok()
        .flatten()
        .and_then(|b| StoreIdentity::from_bytes(&b))
        .unwrap_or_else(|| {
            StoreIdentity::new(options.bench.clone().unwrap_or_else(identity::host_name))
        })
}

/// What `migrate` did.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrateReport {
    /// The format the store had; equal to `FORMAT_VERSION` when it was current already.
    pub from_format: u32,
    pub identity: StoreIdentity,
    /// Records in the store before migrating.
    pub events_before: u64,
    /// The `StoreMigrated` record's seq, if one was written.
    pub migrated_at: Option<u64>,
    /// `None` without `--instructions`.
    pub archive: Option<ArchiveReport>,
}

/// Instruction files matched to the jobs that ran them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArchiveReport {
    /// Files archived now: hash, file name, the jobs that ran it.
    pub archived: Vec<(String, String, Vec<String>)>,
    /// Hashes whose text the chain held already.
    pub already: usize,
    /// Jobs whose instruction file was not found: job, instruction id and revision,
    /// the hash it recorded.
    pub missing: Vec<MissingInstruction>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingInstruction {
    pub job: String,
    pub instruction: String,
    pub revision: String,
    pub hash: String,
}

/// A job's instruction as its JobStarted recorded it.
struct Ran {
    job: String,
    id: String,
    rev: String,
    hash: String,
}

impl Store {
    /// Converts the store in `path` to this build's format. A current store is left as
    /// it is (but `instructions` are still archived). A damaged chain is refused:
    /// restore the last backup first.
    pub fn migrate(
        path: &Path,
        options: OpenOptions,
        instructions: Option<&Path>,
    ) -> Result<MigrateReport> {
        let from_format = stored_format(path, &options)?;
        if from_format < OLDEST_MIGRATABLE {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!(
                    "store format {from_format} cannot be converted in place; back it up with \
                     the traveler that wrote it and restore the backup with this one \
                     (`traveler restore BACKUP --store NEWDIR`)"
                ),
            });
        }
        let store = Store::open_as(path, options, Opening::Migrate)?;
        // Only a chain that holds is worth converting; a damaged one is restored.
        let verified = store.verify()?;
        let events_before = verified.events;
        let ran = store.jobs_ran()?;

        let mut items = Vec::new();
        let archive = match instructions {
            Some(dir) => {
                let (pending, report) = archive_instructions(&store, dir, &ran)?;
                items.extend(pending);
                Some(report)
            }
            None => None,
        };
        let identity = store.identity().clone();
        let mut meta: Vec<(&[u8], Vec<u8>)> = Vec::new();
        if from_format < FORMAT_VERSION {
            items.push(Pending::New {
                time: Utc::now(),
                actor: SYSTEM_ACTOR.to_string(),
                event: Box::new(Event::StoreMigrated {
                    store_id: identity.store_id.clone(),
                    bench: identity.bench.clone(),
                    from_format,
                    to_format: FORMAT_VERSION,
                    from_schema: 1,
                }),
            });
            meta.push((META_IDENTITY, identity.to_bytes()));
            meta.push((META_FORMAT, super::format_name(FORMAT_VERSION).into_bytes()));
        }
        let written = store.commit_with(items, meta)?;
        crate::store::fault_point("migrate:committed");
        let migrated_at = written
            .iter()
            .rev()
            .find(|r| matches!(r.event, Event::StoreMigrated { .. }))
            .map(|r| r.seq);
        info!(from_format, to = FORMAT_VERSION, %identity, "store migrated");
        Ok(MigrateReport {
            from_format,
            identity,
            events_before,
            migrated_at,
            archive,
        })
    }

    /// Every job's instruction as recorded when it started, in seq order.
    fn jobs_ran(&self) -> Result<Vec<Ran>> {
        let mut out = Vec::new();
        for stored in self.events_of_kind("job_started") {
            if let Event::JobStarted {
                job,
                instruction_id,
                instruction_rev,
                instruction_hash,
                ..
            } = stored?.event
            {
                out.push(Ran {
                    job,
                    id: instruction_id,
                    rev: instruction_rev,
                    hash: instruction_hash,
                });
            }
        }
        Ok(out)
    }

    /// Records of one kind, decoding only those whose bytes carry its tag.
    fn events_of_kind<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = Result<crate::domain::event::Record>> + 'a {
        self.record_groups_upto(u64::MAX)
            .filter_map(move |item| match item {
                Err(e) => Some(Err(e)),
                Ok((seq, bytes)) => (super::verify::stored_kind(&bytes) == Some(kind))
                    .then(|| super::chain::decode_record(seq, &bytes)),
            })
    }

    /// Hashes of the instruction texts the chain holds already (the store's archive).
    fn archived_hashes(&self) -> Result<std::collections::HashSet<String>> {
        Ok(self
            .archived_instructions()?
            .into_iter()
            .map(|a| a.hash)
            .collect())
    }
}

/// The format mark of the store in `path`, read before anything is written. A current
/// store answers `FORMAT_VERSION`.
fn stored_format(path: &Path, options: &OpenOptions) -> Result<u32> {
    match Store::open_existing(path, options.clone()) {
        Ok(_) => Ok(FORMAT_VERSION),
        Err(StoreError::NeedsMigration { format, .. }) => {
            // sled releases its lock a moment after the handle drops.
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(format)
        }
        Err(e) => Err(e),
    }
}

/// The archive step of `migrate`: an `InstructionArchived` record for every
/// instruction file in `dir` whose SHA-256 a job recorded as `instruction_hash` and
/// whose text the chain does not hold yet, once per hash (under the first job that ran
/// it), and the jobs whose file is not in `dir`.
///
/// The records it writes are the domain's `InstructionArchived`, which the store's
/// instruction archive (`archive`) finds by hash; what is archived already comes from
/// that archive too.
fn archive_instructions(
    store: &Store,
    dir: &Path,
    ran: &[Ran],
) -> Result<(Vec<Pending>, ArchiveReport)> {
    let files = instruction_files(dir)?;
    let already = store.archived_hashes()?;
    let mut by_hash: BTreeMap<&str, Vec<&Ran>> = BTreeMap::new();
    for r in ran {
        by_hash.entry(r.hash.as_str()).or_default().push(r);
    }
    let mut report = ArchiveReport::default();
    let mut pending = Vec::new();
    let now = Utc::now();
    for (hash, jobs) in by_hash {
        if already.contains(hash) {
            report.already += 1;
            continue;
        }
        match files.get(hash) {
            Some((name, text)) => {
                pending.push(Pending::New {
                    time: now,
                    actor: SYSTEM_ACTOR.to_string(),
                    event: Box::new(Event::InstructionArchived {
                        job: jobs[0].job.clone(),
                        hash: hash.to_string(),
                        file_name: name.clone(),
                        text: text.clone(),
                    }),
                });
                report.archived.push((
                    hash.to_string(),
                    name.clone(),
                    jobs.iter().map(|r| r.job.clone()).collect(),
                ));
            }
            None => report
                .missing
                .extend(jobs.iter().map(|r| MissingInstruction {
                    job: r.job.clone(),
                    instruction: r.id.clone(),
                    revision: r.rev.clone(),
                    hash: r.hash.clone(),
                })),
        }
    }
    report.missing.sort_by(|a, b| a.job.cmp(&b.job));
    Ok((pending, report))
}

/// Every file under `dir` (sub-folders too, old revisions are often kept there) that is
/// UTF-8 text, by the SHA-256 of its bytes: (file name relative to `dir`, text).
fn instruction_files(dir: &Path) -> Result<HashMap<String, (String, String)>> {
    let mut out = HashMap::new();
    let mut todo: Vec<PathBuf> = vec![dir.to_path_buf()];
    if !dir.is_dir() {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the instructions folder {} is not a folder", dir.display()),
        )));
    }
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                todo.push(p);
                continue;
            }
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let hash = hex::encode(Sha256::digest(&bytes));
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let name = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            // Two copies of one file: keep the first name in sort order.
            let e = out.entry(hash).or_insert_with(|| (name.clone(), text));
            if name < e.0 {
                e.0 = name;
            }
        }
    }
    Ok(out)
}
