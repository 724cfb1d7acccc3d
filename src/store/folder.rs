//! The store folder itself: what is there before sled is asked to open it, and who
//! may read it. sled creates an empty store in any folder it is pointed at, so a
//! mistyped path would otherwise "verify" as an empty store.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::{Result, StoreError};

/// sled's files that make a folder a store.
const STORE_FILES: [&str; 2] = ["conf", "db"];

/// `Ok(true)` when `path` holds a store's files; `Ok(false)` when the path is absent or
/// a folder without them. A file is `NotAStoreFolder`; a store folder that accounts
/// other than its owner can read is `Exposed` (PIN hashes and records are in it).
pub(crate) fn check_folder(path: &Path, creating: bool) -> Result<bool> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(StoreError::Io(io::Error::new(
                e.kind(),
                format!("cannot read the store folder {}: {e}", path.display()),
            )));
        }
    };
    if !meta.is_dir() {
        return Err(StoreError::NotAStoreFolder {
            path: path.to_path_buf(),
        });
    }
    let has_store = STORE_FILES.iter().any(|f| path.join(f).exists());
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        if has_store || fs::read_dir(path)?.next().is_some() {
            return Err(StoreError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
        // An empty folder about to become a store: it is ours to make owner-only.
        if creating {
            crate::private_fs::restrict(path)?;
        }
    }
    Ok(has_store)
}

/// Makes sled's files owner-only. sled creates them with the process umask; the
/// folder is 0700 already, this keeps a copied-out file private too.
pub(crate) fn restrict_files(path: &Path) {
    let Ok(entries) = fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if let Some(mode) = crate::private_fs::foreign_access(&p).ok().flatten()
            && let Err(e) = crate::private_fs::restrict(&p)
        {
            tracing::warn!(file = %p.display(), mode = format!("{mode:o}"), "cannot make owner-only: {e}");
        }
    }
}
