use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use traveler::cli;
use traveler::local::{Read, run as local};

/// The digital traveler of an electronics rework bench.
///
/// Without a sub-command, opens the bench terminal application.
#[derive(Parser, Debug)]
#[command(name = "traveler", version, about, long_about)]
struct Cli {
    /// The instructions folder (default: the configuration's, else ./instructions).
    #[arg(long, global = true, value_name = "DIR")]
    instructions: Option<PathBuf>,

    #[command(flatten)]
    app: cli::app::AppArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load and validate an instructions folder; list its work instructions.
    Check(cli::check::CheckArgs),
    /// Walk the whole hash chain and the temperature samples; exit 1 on the first fault.
    Verify(traveler::hub::cli::OrHub<cli::store::VerifyArgs>),
    /// Write every event and sample to a JSON Lines file, with their hashes.
    Backup(cli::store::BackupArgs),
    /// Replay a backup into a new, empty store and verify it.
    Restore(cli::store::RestoreArgs),
    /// Rebuild every index from the events alone.
    Reindex(cli::store::ReindexArgs),
    /// Convert a store of an older format in place; with --instructions DIR also
    /// archive the instruction files its jobs ran.
    Migrate(cli::store::MigrateArgs),
    /// Commission a station (probe) or stand in for one on a pseudo-terminal (sim).
    #[command(subcommand)]
    Station(cli::station::StationCommand),
    /// Export the traceability record as JSON, CSV, CFX (IPC-2591) or HTML reports.
    Export(traveler::hub::cli::OrHub<cli::export::ExportArgs>),
    /// Every job on one board and the rework cycles per reference designator.
    History(traveler::hub::cli::OrHub<cli::export::HistoryArgs>),
    /// Every board and job that used a material lot (for a recall).
    WhereUsed(traveler::hub::cli::OrHub<cli::export::WhereUsedArgs>),
    /// The jobs waiting for a supervisor's review, oldest first.
    Reviews(traveler::hub::cli::OrHub<cli::export::ReviewsArgs>),
    /// The roster: enrol people, PINs, certificates, deactivation, reports.
    People(cli::people::PeopleArgs),
    /// CFX published live to the broker: `cfx status` shows the backlog.
    Cfx(cli::cfx::CfxArgs),
    /// The shop hub: init its database, serve it, enrol benches, show their status.
    #[command(subcommand)]
    Hub(traveler::hub::cli::HubCommand),
    /// Controlled work instructions: release a revision, status, diff, show.
    Instructions(cli::instructions::InstructionsArgs),
    /// Approve or reject a submitted job at the shop hub, from any PC.
    Review(cli::review::ReviewArgs),
    /// The supervisor's desk: every bench's review queue, live, from the shop hub.
    Desk(cli::desk::DeskArgs),
}

fn main() -> ExitCode {
    traveler::memory::keep_large_allocations_returnable();
    // `--store` means one store wherever it is given (see cli::store_flag).
    let argv = match cli::store_flag::hoist(std::env::args_os().collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("traveler: {e}");
            return ExitCode::from(2);
        }
    };
    let args = Cli::parse_from(argv);
    let wi = args.instructions.as_deref();
    let result = match args.command {
        // `--hub URL`: the same question across every bench (src/hub/cli.rs).
        Some(Command::Verify(a)) if a.on_hub() => traveler::hub::cli::verify(a),
        Some(Command::History(a)) if a.on_hub() => {
            traveler::hub::cli::history(a, args.instructions.as_deref())
        }
        Some(Command::WhereUsed(a)) if a.on_hub() => traveler::hub::cli::where_used(a),
        // The queue as the hub decides it: not decided there, with age and deviations.
        Some(Command::Reviews(a)) if a.on_hub() => cli::review::queue(&a.hub, a.local.json),
        Some(Command::Export(a)) if a.on_hub() => traveler::hub::export::run(a, wi),
        Some(Command::Check(a)) => cli::check::run(&a, &mut io::stdout().lock()),
        Some(Command::Verify(a)) => cli::store::run_verify(a.local),
        Some(Command::Backup(a)) => cli::store::run_backup(a),
        Some(Command::Restore(a)) => cli::store::run_restore(a),
        Some(Command::Reindex(a)) => cli::store::run_reindex(a),
        Some(Command::Migrate(a)) => cli::store::run_migrate(a, args.instructions.as_deref()),
        // The read commands: answered by the running bench application when there
        // is one, else on the store directly (src/local/).
        Some(Command::Export(a)) => local(Read::Export(a.local.clone()), &a.local.store, wi),
        Some(Command::History(a)) => {
            // The configured hub is asked first (a short timeout), so the board's
            // jobs at every bench count, as at StartJob; the store is read after.
            let mut h = a.local.clone();
            h.shop =
                traveler::hub::boards::configured_answer(args.app.config.as_deref(), &h.serial);
            local(Read::History(h), &a.local.store, wi)
        }
        Some(Command::WhereUsed(a)) => {
            local(Read::WhereUsed(a.local.clone()), &a.local.store, None)
        }
        Some(Command::Reviews(a)) => local(Read::Reviews(a.local.clone()), &a.local.store, None),
        Some(Command::People(a)) => cli::people::run(a, args.instructions.as_deref()),
        Some(Command::Station(c)) => cli::station::run(c),
        Some(Command::Cfx(c)) => cli::cfx::run(c),
        Some(Command::Hub(c)) => traveler::hub::cli::run(c, args.app.store.clone(), wi),
        Some(Command::Review(a)) => cli::review::run(a),
        Some(Command::Desk(a)) => cli::desk::run(a),
        Some(Command::Instructions(a)) => cli::instructions::run(a, args.instructions.as_deref()),
        None => cli::app::run(args.app, args.instructions),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("traveler: {e:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every sub-command's arguments are consistent (clap checks this only when a
    /// sub-command is used, so check them all here).
    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
