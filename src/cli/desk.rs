//! `traveler desk --hub URL`: the supervisor's desk (see `crate::desk`). Exit
//! codes: 0 after quitting, 1 on a bad argument or configuration.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct DeskArgs {
    /// The shop hub, e.g. https://hub.example:8443.
    #[arg(long, value_name = "URL")]
    pub hub: String,
    /// A desk's (or bench's) token for the hub.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TRAVELER_HUB_TOKEN",
        hide_env_values = true
    )]
    pub hub_token: String,
    /// PEM certificate to trust for an https hub.
    #[arg(long, value_name = "FILE")]
    pub hub_ca: Option<PathBuf>,
    /// Where the desk writes its log (default: the data folder's logs).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// No colours (a terminal that shows them badly, a screen capture).
    #[arg(long)]
    pub no_color: bool,
}

pub fn run(a: DeskArgs) -> anyhow::Result<i32> {
    let exec = match crate::desk::Executor::new(&a.hub, &a.hub_token, a.hub_ca.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(1);
        }
    };
    let dir = a
        .log_dir
        .clone()
        .unwrap_or_else(|| crate::config::data_dir().join("logs"));
    // The terminal belongs to the desk: logs go to a file or nowhere.
    let _log = crate::logging::to_file(&dir)
        .inspect_err(|e| eprintln!("traveler: warning: no log file, logging is off: {e}"))
        .ok();
    tracing::info!(hub = %a.hub, "desk starting");
    let rt = crate::hub::cli::runtime()?;
    let mut state = crate::desk::DeskState::new(&a.hub, chrono::Utc::now());
    state.no_color = a.no_color || std::env::var_os("NO_COLOR").is_some();
    rt.block_on(crate::desk::runtime::run(state, exec))?;
    Ok(0)
}
