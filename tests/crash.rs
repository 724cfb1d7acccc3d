//! SIGKILL at random moments while appending: every acknowledged event must survive,
//! no partial record may exist, and the chain must verify.
//!
//! The child is this same test binary re-run with `TRAVELER_CRASH_CHILD` set: it runs
//! only the `crash_child` test, which appends until it is killed and prints
//! `ACK <seq> <hash>` after each append returns.

mod store_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::Rng;
use store_support::*;
use traveler::domain::types::CheckResult;
use traveler::store::{OpenOptions, Store};

const CHILD_ENV: &str = "TRAVELER_CRASH_CHILD";

fn options() -> OpenOptions {
    OpenOptions {
        lock_wait: Duration::from_secs(10),
        ..OpenOptions::default()
    }
}

#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&dir, options()).expect("child opens the store");
    let job = format!("J{}", std::process::id());
    let mut out = std::io::stdout().lock();
    let mut ack = |rec: traveler::domain::event::Record, store: &Store| {
        let hash = store.stored_record(rec.seq).unwrap().unwrap().hash_hex();
        writeln!(out, "ACK {} {hash}", rec.seq).unwrap();
        out.flush().unwrap();
    };
    let r = store
        .append("T1", started(&job, "SN-CRASH", "T1", 1000))
        .unwrap();
    ack(r, &store);
    let mut step = 0u32;
    for i in 0u32.. {
        if i % 8 == 7 {
            // Samples first (their own batch and flush), then the completion that seals them.
            store
                .append_samples(&job, step, &samples(10, t0()))
                .unwrap();
            let d = store.samples_digest(&job, step).unwrap();
            let r = store
                .append("T1", completed(&job, step, d.count, &d.sha256))
                .unwrap();
            ack(r, &store);
            step += 1;
        } else {
            let r = store
                .append("T1", signed(&job, step, i, "T1", CheckResult::Pass))
                .unwrap();
            ack(r, &store);
        }
    }
}

/// Runs one child, kills it a random few to tens of ms after its first ACK, and
/// returns every ACK it printed.
fn run_and_kill(dir: &Path, rng: &mut impl Rng) -> Vec<(u64, String)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("ACK ") {
                let mut parts = rest.split(' ');
                let seq: u64 = parts.next().unwrap().parse().unwrap();
                let hash = parts.next().unwrap().to_string();
                if tx.send((seq, hash)).is_err() {
                    break;
                }
            }
        }
    });
    let mut acks = Vec::new();
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(a) => acks.push(a),
        Err(_) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the child never acknowledged: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    std::thread::sleep(Duration::from_millis(rng.gen_range(2..40)));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    acks.extend(rx.try_iter());
    acks
}

/// Kills in rounds of 50 on one store each: verify after every kill walks the whole
/// chain, so one ever-growing store would make the long run quadratic.
fn kill_loop(kills: usize) {
    let start = Instant::now();
    let mut total = 0;
    for first in (0..kills).step_by(50) {
        total += kill_rounds(first, (first + 50).min(kills));
    }
    eprintln!(
        "{kills} kills, {total} acknowledged events, {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

fn kill_rounds(first: usize, end: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::thread_rng();
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    for round in first..end {
        for (seq, hash) in run_and_kill(dir.path(), &mut rng) {
            acked.insert(seq, hash);
        }
        let store = Store::open(dir.path(), options())
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let report = store
            .verify()
            .unwrap_or_else(|e| panic!("round {round}: verify failed: {e}"));
        let (&max, _) = acked.last_key_value().unwrap();
        assert!(
            report.head.seq >= max,
            "round {round}: head {} is behind acknowledged seq {max}",
            report.head.seq
        );
        // Only the new ACKs need a look; earlier rounds checked theirs.
        for (&seq, hash) in acked.range(acked.len().saturating_sub(200) as u64..) {
            let stored = store
                .stored_record(seq)
                .unwrap_or_else(|e| panic!("round {round}: seq {seq}: {e}"))
                .unwrap_or_else(|| panic!("round {round}: acknowledged seq {seq} is gone"));
            assert_eq!(&stored.hash_hex(), hash, "round {round}: seq {seq} changed");
        }
    }
    // And once more, all of them.
    let store = Store::open(dir.path(), options()).unwrap();
    for (&seq, hash) in &acked {
        assert_eq!(&store.stored_record(seq).unwrap().unwrap().hash_hex(), hash);
    }
    acked.len()
}

#[test]
fn acknowledged_events_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    kill_loop(50);
}

#[test]
#[ignore = "long: 1000 kills"]
fn acknowledged_events_survive_a_thousand_sigkills() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    kill_loop(1000);
}

/// The child of `an_append_the_wal_holds_is_recovered`: one acknowledged event, then
/// the process dies before sled's own log is flushed.
#[test]
fn wal_child() {
    let Ok(dir) = std::env::var("TRAVELER_WAL_CHILD") else {
        return;
    };
    let store = Store::open(&dir, options()).expect("child opens the store");
    store.append("T1", started("J1", "SN-1", "T1", 1)).unwrap();
    store.append("T1", lot("J1", 0, "LOT-A")).unwrap();
    unreachable!("the fault point ends the process after the second append's WAL sync");
}

#[test]
fn an_append_the_wal_holds_is_recovered_at_the_next_open() {
    if std::env::var(CHILD_ENV).is_ok() || std::env::var("TRAVELER_WAL_CHILD").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    {
        // seq 1 durable in sled's own log (checkpointed at close).
        let store = Store::open(dir.path(), options()).unwrap();
        store.append("T0", lot("J0", 0, "LOT-0")).unwrap();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["wal_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("TRAVELER_WAL_CHILD", dir.path())
        .env("TRAVELER_FAULT", "commit:wal-synced")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fault point commit:wal-synced"), "{err}");
    // The acknowledged append is in the WAL, whatever sled's log got.
    let wal = std::fs::metadata(dir.path().join("traveler-wal"))
        .unwrap()
        .len();
    assert!(wal > 0);
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.chain_head().seq, 2);
    let r = store.record(2).unwrap().unwrap();
    assert_eq!(r.event.job(), Some("J1"));
    assert_eq!(
        store.job("J1").unwrap().map(|j| j.id),
        Some("J1".to_string())
    );
    store.verify().unwrap();
    // Closing checkpoints sled's log durably and empties the WAL.
    drop(store);
    assert_eq!(
        std::fs::metadata(dir.path().join("traveler-wal"))
            .unwrap()
            .len(),
        0
    );
}
