//! Logs go to a file: the terminal belongs to the TUI.
//!
//! The log names badges, jobs and stores, so it is written owner-only (folder
//! 0700, files 0600 whatever the umask) through [`crate::private_fs`]. A folder
//! that cannot be written is not a reason to stop the bench: the caller gets the
//! reason, says so on stderr before the TUI starts, and runs without a file log.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::private_fs;

/// The file name prefix; each day's file is `traveler.log.YYYY-MM-DD`.
pub const FILE_PREFIX: &str = "traveler.log";

/// Starts logging to `dir/traveler.log.YYYY-MM-DD` (a new file each UTC day).
/// Keep the guard alive for the life of the program. `Err` says why there is no
/// file log (the folder cannot be created or written); nothing is then logged
/// rather than writing over the screen.
pub fn to_file(dir: &Path) -> Result<WorkerGuard, String> {
    let writer = DailyFile::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(writer);
    let filter = EnvFilter::try_from_env("TRAVELER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    Ok(guard)
}

/// An owner-only log file that moves to a new file when the UTC day changes.
pub struct DailyFile {
    dir: PathBuf,
    day: NaiveDate,
    file: File,
}

impl DailyFile {
    /// Creates the folder owner-only (tightening one that others can read) and
    /// opens today's file, so an unwritable folder is known before the TUI starts.
    pub fn open(dir: &Path) -> io::Result<DailyFile> {
        private_fs::create_dir_all(dir)?;
        // A folder others can read is tightened when it is ours to change; the
        // files are owner-only either way.
        if private_fs::foreign_access(dir)?.is_some() {
            let _ = private_fs::restrict(dir);
        }
        // Logs an older traveler wrote with the default mode are tightened too.
        for entry in std::fs::read_dir(dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(FILE_PREFIX)
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = private_fs::restrict(&entry.path());
            }
        }
        let day = Utc::now().date_naive();
        let file = private_fs::open_append(&Self::path(dir, day))?;
        Ok(DailyFile {
            dir: dir.to_path_buf(),
            day,
            file,
        })
    }

    pub fn path(dir: &Path, day: NaiveDate) -> PathBuf {
        dir.join(format!("{FILE_PREFIX}.{}", day.format("%Y-%m-%d")))
    }
}

impl Write for DailyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let today = Utc::now().date_naive();
        if today != self.day {
            self.file = private_fs::open_append(&Self::path(&self.dir, today))?;
            self.day = today;
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn log_folder_and_file_are_owner_only_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let old = unsafe { libc::umask(0o000) };
        let opened = DailyFile::open(&logs);
        unsafe { libc::umask(old) };
        let mut f = opened.unwrap();
        f.write_all(b"line\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&logs), 0o700);
        assert_eq!(
            mode(&DailyFile::path(&logs, Utc::now().date_naive())),
            0o600
        );
    }

    #[test]
    fn an_existing_open_log_folder_and_its_old_logs_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = dir.path().join("traveler.log.2026-01-01");
        std::fs::write(&old, b"old\n").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        DailyFile::open(dir.path()).unwrap();
        assert_eq!(private_fs::foreign_access(dir.path()).unwrap(), None);
        assert_eq!(private_fs::foreign_access(&old).unwrap(), None);
    }

    #[test]
    fn an_unusable_folder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert!(DailyFile::open(&file.join("logs")).is_err());
    }
}
