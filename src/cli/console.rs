//! Where a read command writes: this process's standard output and error, or the
//! frames the running bench application sends back over its local socket
//! (`crate::local`). The command is the same function either way, so its output is
//! the same bytes either way.

use std::io::{self, IsTerminal, Write};

/// A read command's two output streams and what it needs to know about the
/// terminal they end up on (the caller's, which is not the bench application's).
pub struct Console<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Tables are fitted to this width (the caller's terminal), `None`: one line
    /// per row (a pipe or a file).
    pub width: Option<u16>,
    /// The caller's standard error is a terminal (the export progress bar).
    pub err_terminal: bool,
}

/// This process's own streams, locked for the command's run.
pub struct Std {
    out: io::StdoutLock<'static>,
    err: io::Stderr,
}

impl Std {
    pub fn new() -> Std {
        Std {
            out: io::stdout().lock(),
            err: io::stderr(),
        }
    }

    pub fn console(&mut self) -> Console<'_> {
        Console {
            out: &mut self.out,
            err: &mut self.err,
            width: super::table::terminal_width(),
            err_terminal: io::stderr().is_terminal(),
        }
    }
}

impl Default for Std {
    fn default() -> Self {
        Std::new()
    }
}

/// `Ok(0)` for an output stream that was closed early (`traveler history S | head`,
/// or a command line that went away): not a failure of the command.
pub fn closed_early(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
}
