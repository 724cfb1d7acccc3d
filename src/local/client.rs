//! The command line asks the running bench application.

use std::io::{self, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use tracing::{debug, warn};

use super::Request;
use super::proto::{self, Frame};
use crate::cli::console::Console;

/// How asking went.
pub enum Asked {
    /// The application answered; its exit code.
    Answered(i32),
    /// No application answers on this store (no socket, or a socket file left by
    /// one that stopped): open the store directly.
    NotRunning,
}

/// Sends `request` to the application serving the store in `store_dir`, if one
/// does, and copies its answer into `con`.
pub fn ask(store_dir: &Path, request: &Request, con: &mut Console<'_>) -> Asked {
    let socket = store_dir.join(proto::SOCKET_NAME);
    if request.cwd.as_os_str().is_empty() {
        // Without a working folder the application cannot read relative paths as
        // the caller means them.
        return Asked::NotRunning;
    }
    let stream = match UnixStream::connect(&socket) {
        Ok(s) => s,
        Err(e) => {
            // Absent: no application. Refused: a file left by one that crashed
            // (sled's lock tells whether one is still running).
            debug!(socket = %socket.display(), "no bench application answers: {e}");
            return Asked::NotRunning;
        }
    };
    let body = match serde_json::to_vec(request) {
        Ok(b) => b,
        Err(e) => {
            warn!("cannot send the command to the bench application: {e}");
            return Asked::NotRunning;
        }
    };
    let sent = (&stream)
        .write_all(&body)
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write));
    if let Err(e) = sent {
        debug!("the bench application did not take the command: {e}");
        return Asked::NotRunning;
    }
    let mut r = BufReader::with_capacity(1 << 16, &stream);
    let mut relayed = false;
    loop {
        let frame = match proto::read_frame(&mut r) {
            Ok(Some(f)) => f,
            // The application stopped before it answered anything (it was closing):
            // the store is free again, or about to be.
            Ok(None) | Err(_) if !relayed => return Asked::NotRunning,
            Ok(None) => return Asked::Answered(cut_short(con, "closed the connection")),
            Err(e) => return Asked::Answered(cut_short(con, &e.to_string())),
        };
        relayed = true;
        let written = match frame {
            Frame::Out(b) => con.out.write_all(&b),
            Frame::Err(b) => con.err.write_all(&b),
            Frame::Exit(code) => {
                let _ = con.out.flush();
                return Asked::Answered(code);
            }
        };
        if let Err(e) = written {
            // `| head` closed our standard output: stop reading; the application
            // notices the closed socket and stops the command.
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Asked::Answered(0);
            }
            let _ = writeln!(con.err, "traveler: cannot write the answer: {e}");
            return Asked::Answered(1);
        }
    }
}

fn cut_short(con: &mut Console<'_>, why: &str) -> i32 {
    let _ = con.out.flush();
    let _ = writeln!(
        con.err,
        "traveler: the bench application stopped before it finished answering ({why}); \
         run the command again"
    );
    1
}
