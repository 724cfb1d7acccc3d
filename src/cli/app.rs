//! `traveler` without a sub-command: the bench application, on a configuration
//! file or, when there is none, on the built-in demo defaults.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tokio::sync::watch;

use crate::config::Settings;
use crate::instruction::load_dir;
use crate::store::{OpenOptions, Store};
use crate::tui::exec::Executor;
use crate::tui::runtime::{self, Channels};
use crate::tui::state::{FlashKind, State};

#[derive(clap::Args, Debug, Default)]
pub struct AppArgs {
    /// The configuration file (default: config.toml in the user's config folder;
    /// without one, traveler runs on its demo defaults).
    #[arg(long, value_name = "FILE", env = "TRAVELER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Run the demo even if a configuration file exists.
    #[arg(long)]
    pub demo: bool,
    /// The store folder (overrides the configuration).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// The bench id recorded with every job (overrides the configuration).
    #[arg(long, value_name = "ID")]
    pub bench: Option<String>,
    /// A station file with a [station] table (overrides the configuration).
    #[arg(long, value_name = "FILE")]
    pub station: Option<PathBuf>,
}

pub fn run(args: AppArgs, instructions: Option<PathBuf>) -> anyhow::Result<i32> {
    let settings = match Settings::resolve(&args, instructions) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("traveler: {e:#}");
            return Ok(2);
        }
    };
    // A log folder that cannot be written never stops the bench: say so and go on.
    let _log = crate::logging::to_file(&settings.log_dir)
        .inspect_err(|e| eprintln!("traveler: warning: no log file, logging is off: {e}"))
        .ok();
    tracing::info!(demo = settings.demo, store = %settings.store.display(), "starting");

    let loaded = load_dir(&settings.instructions);
    if loaded.library.policy.is_none() || loaded.library.instructions.is_empty() {
        eprintln!(
            "traveler: the instructions folder {} cannot be used:",
            settings.instructions.display()
        );
        for d in &loaded.diagnostics {
            eprintln!("{d}");
        }
        return Ok(1);
    }
    let problems = loaded.diagnostics.len();
    let mut library = loaded.library;

    // A store the application creates is named after its bench, not the computer.
    let options = OpenOptions {
        bench: Some(settings.bench.clone()),
        ..OpenOptions::default()
    };
    let store = match Store::open(&settings.store, options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(crate::cli::store::exit_code(&e));
        }
    };
    if settings.demo {
        let policy = library.policy.as_ref().context("policy")?;
        crate::demo::seed(&store, policy, Utc::now().date_naive()).map_err(anyhow::Error::msg)?;
        // The demo store holds the shipped instructions as released by its engineer.
        crate::demo::seed_releases(&store, &library, Utc::now()).map_err(anyhow::Error::msg)?;
    }
    // What is released, for the new-job list's greyed reasons (the core re-checks).
    match store.releases() {
        Ok(book) => library.releases = Some(Arc::new(book)),
        Err(e) => tracing::warn!("instruction releases not read: {e}"),
    }
    let library = Arc::new(library);
    let mut state = State::new(library.clone(), &settings.bench, Utc::now());
    state.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if settings.demo {
        state.demo = Some(crate::demo::badges());
    }
    if problems > 0 {
        state.flash(
            FlashKind::Error,
            format!("{problems} problem(s) in the instructions folder: run `traveler check`"),
        );
    }
    // The command line's read commands are answered from here while the
    // application holds the store (src/local/); a bench that cannot serve them
    // still works, the commands then say the store is in use.
    let _local = match crate::local::server::start(&store) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot answer read commands on the local socket: {e}");
            state.flash(
                FlashKind::Error,
                format!(
                    "export/history/verify cannot reach this application ({e}); close it to run them"
                ),
            );
            None
        }
    };
    let tasks_store = store.clone();
    let records = store.watch_durable_head();
    let tasks_library = library.clone();
    // Log-ins from the cached shop roster go to the sync task for the hub to confirm.
    let (online_logins, logins) = tokio::sync::mpsc::unbounded_channel();
    let mut core =
        crate::core::Core::new(store, library, &settings.bench).with_online_logins(online_logins);
    // With a hub, rework-cycle limits and board history count every bench's jobs.
    if let Some(hub) = settings.hub.clone() {
        core = core.with_boards(Arc::new(crate::hub::boards::HubBoards::new(hub)));
    }
    let exec = Executor::new(core, settings.export_dir.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (target, target_rx) = watch::channel(None);
        let station = crate::cli::station_link::start(&settings.station, target_rx);
        // Background tasks report into the header: the shop hub sync and the CFX
        // publisher. Both read the chain (their outbox) and never hold up a sign-off.
        let mut background: Vec<Box<dyn Fn() -> String + Send>> = Vec::new();
        if let Some(hub) = settings.hub.clone() {
            let rx = crate::hub::sync::spawn_following(
                tasks_store.clone(),
                hub,
                crate::hub::sync::SyncOptions::default(),
                Some(logins),
            );
            // Past the roster cache's maximum age the header says so (the contact
            // file is read at most every few seconds).
            let max_age = tasks_library
                .policy
                .as_ref()
                .and_then(|p| p.roster_max_age_hours);
            let note_store = tasks_store.clone();
            let note = std::sync::Mutex::new((std::time::Instant::now(), None, false));
            background.push(Box::new(move || {
                let text = rx.borrow().header_text();
                let Some(max) = max_age else {
                    return text;
                };
                let Ok(mut c) = note.lock() else {
                    return text;
                };
                if !c.2 || c.0.elapsed() > std::time::Duration::from_secs(5) {
                    *c = (
                        std::time::Instant::now(),
                        crate::people::roster_cache::header_note(
                            &note_store,
                            Some(max),
                            Utc::now(),
                        ),
                        true,
                    );
                }
                match &c.1 {
                    Some(note) => format!("{text}; {note}"),
                    None => text,
                }
            }));
        }
        if settings.cfx.as_ref().is_some_and(|c| c.enabled) {
            let rx = crate::cfx::live::spawn(
                tasks_store,
                crate::cfx::live::LiveConfig {
                    cfx: settings.cfx.clone(),
                    bench: settings.bench.clone(),
                    library: tasks_library,
                },
            );
            background.push(Box::new(move || rx.borrow().header_text()));
        }
        runtime::run(
            state,
            exec,
            Channels {
                station,
                target,
                background,
                records: Some(records),
            },
        )
        .await
    })?;
    Ok(0)
}
