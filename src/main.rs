//! Placeholder main for the store branch: just the store's commands.

use clap::{Parser, Subcommand};
use traveler::cli::store as cmd;

#[derive(Parser)]
#[command(name = "traveler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Verify(cmd::VerifyArgs),
    Backup(cmd::BackupArgs),
    Restore(cmd::RestoreArgs),
    Reindex(cmd::ReindexArgs),
}

fn main() -> anyhow::Result<()> {
    let code = match Cli::parse().command {
        Command::Verify(a) => cmd::run_verify(a)?,
        Command::Backup(a) => cmd::run_backup(a)?,
        Command::Restore(a) => cmd::run_restore(a)?,
        Command::Reindex(a) => cmd::run_reindex(a)?,
    };
    std::process::exit(code);
}
