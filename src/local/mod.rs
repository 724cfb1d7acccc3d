//! The running bench application answers the command line's read commands.
//!
//! sled locks its folder to one process, so while `traveler` runs at the bench a
//! second `traveler export` cannot open the store. The application therefore serves
//! the read commands (`export`, `history`, `where-used`, `reviews`, `verify`,
//! `backup`, `people list|gaps`) on a Unix socket in the store folder:
//!
//! ```text
//! traveler export ... --(request: version, cwd, terminal width, the command)--> STORE/traveler.sock
//!                    <--(frames: stdout bytes, stderr bytes, exit code)-------- the application
//! ```
//!
//! - The command is the same function either way (`answer`), writing to a
//!   `Console`: this process's own streams, or frames over the socket. Its output is
//!   byte for byte the same, its exit code too; files it writes (`export --out`,
//!   `backup FILE`) have the same names and owner-only modes, because the
//!   application runs the command in the caller's working folder (a thread of its
//!   own with its own working folder, see `server`).
//! - Each request is answered on a thread of its own reading the already open
//!   store: never through the application's ordered write worker, so an export
//!   never delays a sign-off (nor a sign-off an export).
//! - The socket is owner-only (0600, inside the 0700 store folder) and the
//!   application answers only its own user.
//! - No application running, or a socket file left by one that crashed (the
//!   connection is refused): the command line opens the store itself; sled's lock
//!   still keeps two writers apart.

pub mod client;
pub mod proto;
pub mod server;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::console::{Console, Std};
use crate::cli::export::{ExportArgs, HistoryArgs, ReviewsArgs, WhereUsedArgs};
use crate::cli::people::PeopleRead;
use crate::cli::store::{BackupArgs, StoreDir};
use crate::store::{OpenOptions, Store, StoreError};

pub use proto::{PROTOCOL_VERSION, SOCKET_NAME};

/// A read command, as the command line parsed it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Read {
    Export(ExportArgs),
    History(HistoryArgs),
    WhereUsed(WhereUsedArgs),
    Reviews(ReviewsArgs),
    Verify,
    Backup(BackupArgs),
    People(PeopleRead),
}

/// What the command line sends: the command and everything about the caller its
/// output depends on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    pub version: u32,
    /// The caller's working folder: relative paths (`--out`, `backup FILE`,
    /// `--instructions`) mean what they mean to the caller.
    pub cwd: PathBuf,
    /// The caller's terminal width when its standard output is a terminal.
    pub width: Option<u16>,
    /// The caller's standard error is a terminal.
    pub err_terminal: bool,
    /// The store folder as the caller named it (messages show it).
    pub store: PathBuf,
    /// `--instructions` as given (for `people`: as the caller's configuration
    /// resolves it).
    pub instructions: Option<PathBuf>,
    pub read: Read,
}

impl Read {
    /// What this command says when its store cannot be opened (each command as it
    /// always has).
    fn open_failed(&self, e: &StoreError, path: Option<&Path>, con: &mut Console<'_>) -> i32 {
        match self {
            Read::Verify | Read::Backup(_) => crate::cli::store::open_failed(e, path, con),
            Read::People(_) => crate::cli::people::open_failed(e, con.err),
            _ => crate::cli::export::open_failed(e, con.err),
        }
    }
}

/// Runs one read command on an open store into `con`; the exit code. Both the
/// command line (on its own store) and the application (for a caller) run this.
pub fn answer(store: &Store, request: &Request, con: &mut Console<'_>) -> i32 {
    let instructions = request.instructions.as_deref();
    let result = match &request.read {
        Read::Export(a) => crate::cli::export::export(store, a, instructions, con),
        Read::History(a) => crate::cli::export::history(store, a, instructions, con),
        Read::WhereUsed(a) => crate::cli::export::where_used(store, a, con),
        Read::Reviews(a) => crate::cli::export::reviews(store, a, con),
        Read::Verify => crate::cli::store::verify(store, &request.store, con),
        Read::Backup(a) => crate::cli::store::backup(store, &request.store, a, con),
        Read::People(p) => crate::cli::people::read(store, p, instructions, con),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(con.err, "traveler: {e:#}");
            1
        }
    };
    let _ = con.out.flush();
    let _ = con.err.flush();
    code
}

/// The command line's side: asks the running bench application when there is one,
/// else opens the store itself. The exit code.
pub fn run(read: Read, store: &StoreDir, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let mut std = Std::new();
    let mut con = std.console();
    let path = match crate::cli::store::store_path(store) {
        Ok(p) => p,
        Err(e) => return Ok(read.open_failed(&e, None, &mut con)),
    };
    let request = Request {
        version: PROTOCOL_VERSION,
        cwd: std::env::current_dir().unwrap_or_default(),
        width: con.width,
        err_terminal: con.err_terminal,
        store: path.clone(),
        instructions: instructions.map(Path::to_path_buf),
        read,
    };
    if let client::Asked::Answered(code) = client::ask(&path, &request, &mut con) {
        return Ok(code);
    }
    // Read-only: never creates a store.
    let store = match Store::open_existing(&path, OpenOptions::default()) {
        Ok(s) => s,
        Err(e) => return Ok(request.read.open_failed(&e, Some(&path), &mut con)),
    };
    Ok(answer(&store, &request, &mut con))
}
