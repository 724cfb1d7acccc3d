//! The bench application's side: a Unix socket in the store folder, one thread
//! accepting, one thread per command, each reading the open store directly.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tracing::{info, warn};

use super::proto::{self, ERR, EXIT, FrameWriter, OUT};
use crate::cli::console::Console;
use crate::store::Store;

/// Commands answered at once; more are told to try again (each holds a thread and
/// reads the store; the bench PC has other work).
pub const MAX_CONCURRENT: usize = 8;
/// A caller that connects and sends nothing is dropped after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket being served; removed (and no longer answered) when dropped.
pub struct Serving {
    path: PathBuf,
    inode: u64,
    stop: Arc<AtomicBool>,
}

impl Serving {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Remove the socket only if it is still ours.
        if fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode) {
            // Wake the accepting thread so it sees `stop`.
            let _ = UnixStream::connect(&self.path);
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Starts answering read commands on STORE/traveler.sock. The caller holds the
/// store open (and so sled's lock): a socket file found there was left by an
/// application that stopped without removing it, and is replaced.
pub fn start(store: &Store) -> io::Result<Serving> {
    let dir = store.path();
    let path = dir.join(proto::SOCKET_NAME);
    // Bound under a temporary name, made owner-only, then renamed: the socket never
    // appears under its name with the umask's mode (the folder is 0700 already).
    let tmp = dir.join(format!(".{}.{}", proto::SOCKET_NAME, std::process::id()));
    let _ = fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    fs::set_permissions(
        &tmp,
        fs::Permissions::from_mode(crate::private_fs::FILE_MODE),
    )?;
    if fs::symlink_metadata(&path).is_ok() {
        warn!(socket = %path.display(), "replacing a socket left by an application that stopped");
    }
    fs::rename(&tmp, &path)?;
    let inode = fs::symlink_metadata(&path)?.ino();
    let stop = Arc::new(AtomicBool::new(false));
    let serving = Serving {
        path: path.clone(),
        inode,
        stop: stop.clone(),
    };
    let store = store.clone();
    std::thread::Builder::new()
        .name("local-serve".into())
        .spawn(move || accept_loop(listener, store, stop))?;
    info!(socket = %path.display(), "answering read commands on the local socket");
    Ok(serving)
}

fn accept_loop(listener: UnixListener, store: Store, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                warn!("local socket: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let busy = active.fetch_add(1, Ordering::SeqCst) >= MAX_CONCURRENT;
        let (store, counted) = (store.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name("local-answer".into())
            .spawn(move || {
                if busy {
                    refuse(
                        &stream,
                        &format!(
                            "the bench application is answering {MAX_CONCURRENT} commands \
                             already; try again in a moment"
                        ),
                    );
                } else {
                    serve(&store, &stream);
                }
                counted.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            warn!("local socket: no thread for a command: {e}");
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Tells the caller why it is not answered (exit 2, as for a store it cannot use).
fn refuse(stream: &UnixStream, why: &str) {
    let _ = proto::write_frame(stream, ERR, format!("traveler: {why}\n").as_bytes());
    let _ = proto::write_frame(stream, EXIT, &2i32.to_be_bytes());
}

fn serve(store: &Store, stream: &UnixStream) {
    match peer_uid(stream) {
        Ok(uid) if uid == own_uid() => {}
        Ok(uid) => {
            warn!(uid, "local socket: a command from another account, refused");
            refuse(
                stream,
                "this bench application answers only its own account",
            );
            return;
        }
        Err(e) => {
            warn!("local socket: cannot tell who is asking: {e}");
            refuse(stream, "cannot tell which account is asking");
            return;
        }
    }
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let request = match proto::read_request(stream) {
        Ok(r) => r,
        Err(e) => {
            warn!("local socket: {e}");
            refuse(stream, &e.to_string());
            if matches!(e, proto::RequestError::TooLarge) {
                // Closing with unread bytes would reset the connection before the
                // caller reads why: take (a bounded amount of) the rest first.
                let _ = io::copy(&mut stream.take(16 << 20), &mut io::sink());
            }
            return;
        }
    };
    if let Err(e) = enter(&request.cwd) {
        refuse(
            stream,
            &format!(
                "cannot work in the caller's folder {}: {e}",
                request.cwd.display()
            ),
        );
        return;
    }
    info!(command = ?request.read, "answering a read command");
    let mut out = BufWriter::with_capacity(1 << 16, FrameWriter::new(stream, OUT));
    let mut err = FrameWriter::new(stream, ERR);
    let code = {
        let mut con = Console {
            out: &mut out,
            err: &mut err,
            width: request.width,
            err_terminal: false,
        };
        super::answer(store, &request, &mut con)
    };
    if out.flush().is_ok() {
        let _ = proto::write_frame(stream, EXIT, &code.to_be_bytes());
    }
}

/// Gives this thread a working folder of its own, the caller's, so relative paths in
/// the command mean what they mean to the caller, without moving the application's.
#[cfg(target_os = "linux")]
fn enter(cwd: &Path) -> io::Result<()> {
    // SAFETY: unshare(CLONE_FS) only detaches this thread's working folder, root
    // and umask from the rest of the process.
    if unsafe { libc::unshare(libc::CLONE_FS) } != 0 {
        return Err(io::Error::last_os_error());
    }
    std::env::set_current_dir(cwd)
}

#[cfg(not(target_os = "linux"))]
fn enter(_cwd: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "a working folder per thread needs Linux",
    ))
}

fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(target_os = "linux")]
fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

#[cfg(not(target_os = "linux"))]
fn peer_uid(_stream: &UnixStream) -> io::Result<u32> {
    Ok(own_uid())
}
