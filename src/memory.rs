//! Keeps resident memory flat on a bench PC that runs for weeks.
//!
//! Argon2id needs a 19 MiB block for every PIN check. glibc serves such blocks with
//! mmap, but after the first free it raises its mmap threshold, so later blocks come
//! from the heap and are never returned: every log-in would leave ~20 MiB behind.
//! A fixed threshold keeps large blocks on mmap, returned to the system on free.

/// Call once at start-up, before the first PIN is hashed.
pub fn keep_large_allocations_returnable() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before threads
    // allocate concurrently and with a documented parameter.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
