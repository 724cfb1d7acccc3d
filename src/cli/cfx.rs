//! `traveler cfx status`: what the bench has published to the CFX broker and what is
//! still waiting (the backlog), read from the store and its outbox mark.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cfx::outbox;
use crate::config::{AppConfig, default_config_path};
use crate::export::time_str;
use crate::store::StoreError;

use super::store::{StoreDir, exit_code, open_existing_store};

#[derive(Args, Debug)]
pub struct CfxArgs {
    #[command(flatten)]
    pub store: StoreDir,
    #[command(subcommand)]
    pub command: CfxCommand,
}

#[derive(Subcommand, Debug)]
pub enum CfxCommand {
    /// The broker settings, the last record published and the records still waiting.
    Status(StatusArgs),
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The configuration file whose [cfx] table (and store) to use (default: the user's).
    #[arg(long, value_name = "FILE", env = "TRAVELER_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn run(c: CfxArgs) -> anyhow::Result<i32> {
    match c.command {
        CfxCommand::Status(a) => status(&c.store, &a, &mut std::io::stdout().lock()),
    }
}

pub fn status(store: &StoreDir, args: &StatusArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let config = match args
        .config
        .clone()
        .or_else(|| default_config_path().filter(|p| p.is_file()))
    {
        Some(path) => Some(AppConfig::load(&path)?),
        None => None,
    };
    match config.as_ref().and_then(|c| c.cfx.as_ref()) {
        None => writeln!(out, "publishing: off (no [cfx] table in the configuration)")?,
        Some(c) => {
            let bench = config
                .as_ref()
                .and_then(|c| c.bench.clone())
                .unwrap_or_else(|| "BENCH-1".into());
            writeln!(
                out,
                "publishing: {}",
                if c.enabled {
                    "on"
                } else {
                    "off (enabled = false)"
                }
            )?;
            writeln!(out, "broker:     {}", c.broker.redacted())?;
            writeln!(out, "address:    {}", c.address.0)?;
            writeln!(out, "handle:     {}", c.handle_for(&bench))?;
        }
    }
    // The store the configuration names, unless --store says otherwise.
    let dir = StoreDir {
        store: store
            .store
            .clone()
            .or_else(|| config.as_ref().and_then(|c| c.store.clone())),
    };
    let store = match open_existing_store(&dir) {
        Ok(s) => s,
        Err(e @ StoreError::InUse { .. }) => {
            writeln!(out, "store:      {e}")?;
            writeln!(
                out,
                "(the running bench shows the broker state in its header)"
            )?;
            return Ok(exit_code(&e));
        }
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(exit_code(&e));
        }
    };
    let head = store.chain_head().seq;
    let mark = match outbox::resume_point(&store) {
        Ok(m) => m,
        Err(e) => {
            writeln!(out, "outbox:     {e}")?;
            return Ok(1);
        }
    };
    let published = mark.map_or(0, |m| m.seq);
    match mark {
        None => writeln!(out, "published:  nothing yet")?,
        Some(m) => {
            let time = store
                .record(m.seq)?
                .map(|r| time_str(&r.time))
                .unwrap_or_default();
            writeln!(out, "published:  up to record {} ({time})", m.seq)?;
        }
    }
    let waiting = head.saturating_sub(published);
    write!(out, "backlog:    {waiting} record(s) of {head}")?;
    if waiting > 0
        && let Some(first) = store.record(published + 1)?
    {
        write!(out, ", oldest saved {}", time_str(&first.time))?;
    }
    writeln!(out)?;
    Ok(0)
}
