//! `traveler verify | backup | restore | reindex | migrate`. Each `run_*` returns the
//! process exit code:
//!
//! - 0: done (for verify: every hash, link and sample seal holds);
//! - 1: a check failed (verify found a record that does not match its chain, a backup
//!   file is damaged or truncated, a restore target is not empty);
//! - 2: the store cannot be used: no store at the path, a file instead of a folder,
//!   damaged or unreadable, records lost, readable by other accounts, in use by
//!   another traveler, or of another format (`traveler migrate`);
//! - 3: (`verify --export`) every hash holds but a job summary differs from the fold
//!   of its records.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use crate::store::{OpenOptions, Store, StoreError};

use super::console::Console;

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoreDir {
    /// The store folder (default: the user's data folder).
    #[arg(long, value_name = "DIR", env = "TRAVELER_STORE")]
    pub store: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreDir,
    /// Check the hashes in a JSON export instead of the store.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BackupArgs {
    /// The JSON Lines file to write (written to FILE.tmp, then renamed).
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// A backup written by `traveler backup`.
    pub file: PathBuf,
    /// The new store folder; must be empty or absent.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub store: StoreDir,
}

/// Exit code for an error: 2 when the store itself cannot be used, 1 otherwise.
pub fn exit_code(e: &StoreError) -> i32 {
    match e {
        StoreError::InUse { .. }
        | StoreError::Corrupt { .. }
        | StoreError::NoStore { .. }
        | StoreError::NotAStoreFolder { .. }
        | StoreError::NeedsMigration { .. }
        | StoreError::NewerFormat { .. }
        | StoreError::Exposed { .. }
        | StoreError::LostRecords { .. }
        | StoreError::Damaged { .. }
        | StoreError::DamagedSample { .. }
        | StoreError::Sled(_)
        | StoreError::NoDataDir => 2,
        _ => 1,
    }
}

/// The folder `--store` (or TRAVELER_STORE) names, else the one the bench application
/// uses: the configuration's, or the demo's when there is none.
pub fn store_path(dir: &StoreDir) -> Result<PathBuf, StoreError> {
    match &dir.store {
        Some(p) => Ok(p.clone()),
        None => crate::config::default_store()
            .map_err(|e| StoreError::Io(std::io::Error::other(format!("{e:#}")))),
    }
}

/// Opens the store named by `--store`, creating it when there is none: for commands
/// that write (enrolling people).
pub fn open_store(dir: &StoreDir) -> Result<Store, StoreError> {
    Store::open(store_path(dir)?, OpenOptions::default())
}

/// Opens the store named by `--store` only if there is one: read-only commands never
/// create a store ("no store at PATH", exit 2).
pub fn open_existing_store(dir: &StoreDir) -> Result<Store, StoreError> {
    Store::open_existing(store_path(dir)?, OpenOptions::default())
}

/// Prints what went wrong for the person at the bench and returns the exit code. A
/// damaged store names its folder, what could still be read and the way out.
fn report(e: &StoreError, path: Option<&Path>) -> i32 {
    report_to(e, path, &mut io::stdout().lock(), &mut io::stderr())
}

/// `report` into the given streams: the read commands' (see `super::console`).
pub fn report_to(
    e: &StoreError,
    path: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let folder = path.map(|p| p.display().to_string()).unwrap_or_default();
    let restore = "restore the last backup into a new folder with `traveler restore BACKUP \
                   --store NEWDIR` and point traveler at it";
    match e {
        StoreError::Verify(f) => {
            let _ = writeln!(out, "FAILED {f}");
            if let Some(seq) = f.seq {
                let _ = writeln!(
                    out,
                    "The store at {folder} holds good records up to seq {}; {restore}.",
                    seq.saturating_sub(1)
                );
            }
        }
        StoreError::Damaged { seq, what } => {
            let _ = writeln!(
                err,
                "error: the store at {folder} is damaged at seq {seq} ({what}); records \
                 1 to {} read fine. Run `traveler verify --store {folder}`, and {restore}.",
                seq.saturating_sub(1)
            );
        }
        StoreError::DamagedSample { what } => {
            let _ = writeln!(
                err,
                "error: the store at {folder} has a damaged temperature sample ({what}); \
                 run `traveler verify --store {folder}`, and {restore}."
            );
        }
        StoreError::Sled(sled_err) => {
            let _ = writeln!(
                err,
                "error: the store at {folder} cannot be read ({}); {restore}.",
                crate::store::describe_sled(sled_err)
            );
        }
        other => {
            let _ = writeln!(err, "error: {other}");
        }
    }
    exit_code(e)
}

/// `traveler verify`: answered by the running bench application when there is one
/// (`crate::local`), else on the store directly.
pub fn run_verify(args: VerifyArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.export {
        return super::export::run_verify_export(file);
    }
    crate::local::run(crate::local::Read::Verify, &args.store, None)
}

/// `traveler backup FILE`, the same way as `run_verify`.
pub fn run_backup(args: BackupArgs) -> anyhow::Result<i32> {
    let store = args.store.clone();
    crate::local::run(crate::local::Read::Backup(args), &store, None)
}

/// What `verify` and `backup` say when the store at `path` cannot be opened.
pub fn open_failed(e: &StoreError, path: Option<&Path>, con: &mut Console<'_>) -> i32 {
    report_to(e, path, con.out, con.err)
}

/// `traveler verify` on an open store; `path` is the folder as the caller named it.
pub fn verify(store: &Store, path: &Path, con: &mut Console<'_>) -> anyhow::Result<i32> {
    let out = &mut *con.out;
    match store.verify() {
        Ok(r) => {
            writeln!(
                out,
                "OK: {} events, {} samples, head {}",
                r.events, r.samples, r.head
            )?;
            writeln!(out, "{}", store.identity())?;
            if r.unsealed_samples > 0 {
                writeln!(
                    out,
                    "({} samples belong to steps not completed yet)",
                    r.unsealed_samples
                )?;
            }
            if r.schemas.len() > 1 || r.schemas.iter().any(|(s, _)| *s != crate::store::SCHEMA) {
                let list: Vec<String> = r
                    .schemas
                    .iter()
                    .map(|(s, n)| format!("{n} of schema {s}"))
                    .collect();
                writeln!(out, "records: {}", list.join(", "))?;
            }
            if r.newer.count > 0 {
                writeln!(
                    out,
                    "NOTE: {} records were written by a newer traveler and cannot be read by \
                     this one (their hashes hold; this is not damage):",
                    r.newer.count
                )?;
                for (seq, what) in &r.newer.first {
                    writeln!(out, "  seq {seq}: {what}")?;
                }
            }
            Ok(0)
        }
        Err(e) => Ok(report_to(&e, Some(path), out, con.err)),
    }
}

/// `traveler backup FILE` on an open store; `path` is the folder as the caller
/// named it.
pub fn backup(
    store: &Store,
    path: &Path,
    args: &BackupArgs,
    con: &mut Console<'_>,
) -> anyhow::Result<i32> {
    match store.backup_to_file(&args.file) {
        Ok(c) => {
            writeln!(
                con.out,
                "backed up {} events and {} samples (head {}) of {} to {}",
                c.events,
                c.samples,
                c.head,
                store.identity(),
                args.file.display()
            )?;
            Ok(0)
        }
        Err(e) => Ok(report_to(&e, Some(path), con.out, con.err)),
    }
}

pub fn run_restore(args: RestoreArgs) -> anyhow::Result<i32> {
    let file = match File::open(&args.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return Ok(1);
        }
    };
    match Store::restore(BufReader::new(file), &args.store, OpenOptions::default()) {
        Ok((_, c)) => {
            println!(
                "restored {} events and {} samples into {}",
                c.events,
                c.samples,
                args.store.display()
            );
            println!(
                "OK: {} events, {} samples, head {}",
                c.verified.events, c.verified.samples, c.verified.head
            );
            if c.unreadable > 0 {
                println!(
                    "NOTE: {} records were written by a newer traveler: restored verbatim, \
                     not indexed by this one",
                    c.unreadable
                );
            }
            if let Some(m) = &c.behind {
                println!(
                    "NOTE: this backup ends at seq {}, but store {} once reached seq {} (in \
                     {}): records {} to {} are not in it; restore a later backup if there \
                     is one",
                    c.events,
                    m.store_id,
                    m.head.seq,
                    m.folder.display(),
                    c.events + 1,
                    m.head.seq
                );
            }
            Ok(0)
        }
        Err(e @ StoreError::Backup { .. }) => {
            eprintln!("error: {}: {e}", args.file.display());
            Ok(1)
        }
        Err(e) => Ok(report(&e, Some(&args.store))),
    }
}

pub fn run_reindex(args: ReindexArgs) -> anyhow::Result<i32> {
    let path = match store_path(&args.store) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e, None)),
    };
    let store = match Store::open_existing(&path, OpenOptions::default()) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e, Some(&path))),
    };
    let t = Instant::now();
    match store.reindex() {
        Ok(n) => {
            println!("reindexed {n} events in {:.1} s", t.elapsed().as_secs_f64());
            Ok(0)
        }
        Err(e) => Ok(report(&e, Some(&path))),
    }
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: StoreDir,
    /// The bench a migrated store is recorded for (default: the configuration's, else
    /// this computer's name).
    #[arg(long, value_name = "NAME")]
    pub bench: Option<String>,
}

/// `traveler migrate [--store DIR] [--instructions DIR]`: converts an older store in
/// place; with `--instructions` (the global option) archives the instruction files the
/// jobs ran and lists the jobs whose file was not found.
pub fn run_migrate(args: MigrateArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let path = match store_path(&args.store) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e, None)),
    };
    let bench = args.bench.clone().or_else(configured_bench);
    let options = OpenOptions {
        bench,
        ..OpenOptions::default()
    };
    let r = match Store::migrate(&path, options, instructions) {
        Ok(r) => r,
        Err(e) => return Ok(report(&e, Some(&path))),
    };
    if r.migrated_at.is_some() {
        println!(
            "migrated {} from store format {} to {} ({} records kept byte for byte)",
            path.display(),
            r.from_format,
            crate::store::FORMAT_VERSION,
            r.events_before
        );
    } else {
        println!(
            "{} is store format {} already",
            path.display(),
            crate::store::FORMAT_VERSION
        );
    }
    println!("{}", r.identity);
    if let Some(a) = &r.archive {
        for (hash, name, jobs) in &a.archived {
            println!(
                "archived {name} ({}…) for {} job(s): {}",
                &hash[..12.min(hash.len())],
                jobs.len(),
                jobs.join(", ")
            );
        }
        if a.already > 0 {
            println!("{} instruction text(s) were archived already", a.already);
        }
        if a.missing.is_empty() {
            println!("every job's instruction file was found");
        } else {
            println!(
                "{} job(s) whose instruction file was not found (no file with the hash the job recorded):",
                a.missing.len()
            );
            for m in &a.missing {
                println!(
                    "  {} ran {} rev {} (SHA-256 {})",
                    m.job, m.instruction, m.revision, m.hash
                );
            }
        }
    }
    Ok(0)
}

/// The bench named in the configuration file, if there is one.
fn configured_bench() -> Option<String> {
    let path = crate::config::default_config_path().filter(|p| p.is_file())?;
    crate::config::AppConfig::load(&path).ok()?.bench
}
