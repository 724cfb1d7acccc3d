//! `traveler verify | backup | restore | reindex`. Each `run_*` returns the process
//! exit code: 0 done, 1 failed (verification, damage, bad backup), 2 the store is in
//! use by another traveler.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::store::{OpenOptions, Store, StoreError};

#[derive(Args, Debug, Clone)]
pub struct StoreDir {
    /// The store folder (default: the user's data folder).
    #[arg(long, value_name = "DIR", env = "TRAVELER_STORE")]
    pub store: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreDir,
    /// Check the hashes in a JSON export instead of the store.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
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

/// Exit code for an error: 2 when another traveler holds the store.
pub fn exit_code(e: &StoreError) -> i32 {
    match e {
        StoreError::InUse { .. } => 2,
        _ => 1,
    }
}

/// Opens the store named by `--store` (or TRAVELER_STORE), else the one the bench
/// application uses: the configuration's, or the demo's when there is none.
pub fn open_store(dir: &StoreDir) -> Result<Store, StoreError> {
    let path = match &dir.store {
        Some(p) => p.clone(),
        None => crate::config::default_store()
            .map_err(|e| StoreError::Io(std::io::Error::other(format!("{e:#}"))))?,
    };
    Store::open(path, OpenOptions::default())
}

fn report(e: &StoreError) -> i32 {
    match e {
        StoreError::Verify(f) => println!("FAILED {f}"),
        other => eprintln!("error: {other}"),
    }
    exit_code(e)
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.export {
        return super::export::run_verify_export(file);
    }
    let store = match open_store(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e)),
    };
    match store.verify() {
        Ok(r) => {
            println!(
                "OK: {} events, {} samples, head {}",
                r.events, r.samples, r.head
            );
            if r.unsealed_samples > 0 {
                println!(
                    "({} samples belong to steps not completed yet)",
                    r.unsealed_samples
                );
            }
            Ok(0)
        }
        Err(e) => Ok(report(&e)),
    }
}

pub fn run_backup(args: BackupArgs) -> anyhow::Result<i32> {
    let store = match open_store(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e)),
    };
    match store.backup_to_file(&args.file) {
        Ok(c) => {
            println!(
                "backed up {} events and {} samples (head {}) to {}",
                c.events,
                c.samples,
                c.head,
                args.file.display()
            );
            Ok(0)
        }
        Err(e) => Ok(report(&e)),
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
            Ok(0)
        }
        Err(e) => Ok(report(&e)),
    }
}

pub fn run_reindex(args: ReindexArgs) -> anyhow::Result<i32> {
    let store = match open_store(&args.store) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e)),
    };
    let t = Instant::now();
    match store.reindex() {
        Ok(n) => {
            println!("reindexed {n} events in {:.1} s", t.elapsed().as_secs_f64());
            Ok(0)
        }
        Err(e) => Ok(report(&e)),
    }
}
