//! Owner-only files and folders. The store, backups, exports and logs hold PIN
//! hashes and records: they are created 0700 / 0600 whatever the umask, so no other
//! account on the bench PC can copy a hash off the disk and guess the PIN at leisure.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Folder mode for everything traveler creates.
pub const DIR_MODE: u32 = 0o700;
/// File mode for everything traveler creates.
pub const FILE_MODE: u32 = 0o600;

/// `create_dir_all` with every folder it creates made owner-only. Folders that
/// already exist keep their mode (checking them is the caller's business).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    // The umask may have taken bits the mode above asked for; it never adds any,
    // but set the exact mode so a 0077-less umask cannot matter either way.
    fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))
}

/// Creates (or truncates) a file that only its owner can read and write.
pub fn create_file(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    // An existing file keeps its old mode through `open`: tighten it.
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Opens a file for appending, creating it owner-only.
pub fn open_append(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Sets `path` to the owner-only mode for its kind.
pub fn restrict(path: &Path) -> io::Result<()> {
    let mode = if path.is_dir() { DIR_MODE } else { FILE_MODE };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// The permission bits a group or other account holds on `path`, if any.
pub fn foreign_access(path: &Path) -> io::Result<Option<u32>> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then_some(mode))
}

/// Makes every file directly inside `dir` owner-only: for folders whose files
/// another module wrote with the default mode (the HTML report of an export).
pub fn restrict_files_in(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_owner_only_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let old = unsafe { libc::umask(0o000) };
        let sub = dir.path().join("a/b");
        create_dir_all(&sub).unwrap();
        let file = sub.join("f");
        drop(create_file(&file).unwrap());
        unsafe { libc::umask(old) };
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(foreign_access(&file).unwrap(), None);
    }

    #[test]
    fn an_existing_open_file_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(foreign_access(&file).unwrap(), Some(0o644));
        drop(create_file(&file).unwrap());
        assert_eq!(foreign_access(&file).unwrap(), None);
    }
}
