//! Damage on disk must be found, named by seq, and never panic.

mod store_support;

use store_support::*;
use traveler::domain::types::CheckResult;
use traveler::store::{OpenOptions, Store, StoreError, VerifyFailure};

/// A store of `n` sign-offs after a job start, one completed step with samples.
fn build(dir: &std::path::Path, n: u32) {
    let store = open(dir);
    store
        .append_at(t0(), "T1", started("J1", "SN-1", "T1", 2))
        .unwrap();
    store.append_samples("J1", 0, &samples(50, t0())).unwrap();
    let d = store.samples_digest("J1", 0).unwrap();
    store
        .append_at(t0(), "T1", completed("J1", 0, d.count, &d.sha256))
        .unwrap();
    for i in 0..n {
        store
            .append_at(t0(), "T1", signed("J1", 1, i, "T1", CheckResult::Pass))
            .unwrap();
    }
}

/// Edits one tree behind the store's back, the way a disk fault or a tamperer would.
fn tamper(dir: &std::path::Path, tree: &str, edit: impl FnOnce(&sled::Tree)) {
    // sled lets go of its file lock a moment after the last handle drops.
    let mut tries = 0;
    let db = loop {
        match sled::open(dir) {
            Ok(db) => break db,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    };
    let t = db.open_tree(tree).unwrap();
    edit(&t);
    db.flush().unwrap();
}

/// Event groups as stored (see src/store/group.rs): key (seq - 1) >> 5 as u64 BE,
/// value = each record's length u32 BE ‖ canonical bytes.
const GROUP_SHIFT: u32 = 5;

fn split_group(v: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < v.len() {
        let len = u32::from_be_bytes(v[at..at + 4].try_into().unwrap()) as usize;
        out.push(v[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    out
}

fn join_group(records: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for r in records {
        v.extend_from_slice(&(r.len() as u32).to_be_bytes());
        v.extend_from_slice(r);
    }
    v
}

/// Edits the group holding `seq`: `edit` gets its records and the index of `seq`'s.
fn edit_group(dir: &std::path::Path, seq: u64, edit: impl FnOnce(&mut Vec<Vec<u8>>, usize)) {
    tamper(dir, "events", |t| {
        let key = ((seq - 1) >> GROUP_SHIFT).to_be_bytes();
        let mut records = split_group(&t.get(key).unwrap().unwrap());
        edit(
            &mut records,
            ((seq - 1) & ((1 << GROUP_SHIFT) - 1)) as usize,
        );
        t.insert(key, join_group(&records)).unwrap();
    });
}

fn flip_in_event(dir: &std::path::Path, seq: u64, needle: &[u8], mask: u8) {
    edit_group(dir, seq, |records, i| {
        let v = &mut records[i];
        let at = v
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle");
        v[at] ^= mask;
    });
}

fn verify_failure(dir: &std::path::Path) -> VerifyFailure {
    let store = Store::open(dir, OpenOptions::default()).unwrap();
    match store.verify() {
        Err(StoreError::Verify(f)) => f,
        other => panic!("expected a verify failure, got {other:?}"),
    }
}

#[test]
fn a_flipped_byte_in_a_middle_event_is_caught_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 8);
    // "Name of T1" -> "name of T1": still valid JSON, only the hash can tell.
    flip_in_event(dir.path(), 5, b"Name of", 0x20);
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(5), "{f}");
    assert!(f.problem.contains("hash mismatch"), "{f}");
    // Reading the record still works: it decodes, it is the chain that refuses it.
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    assert!(store.record(5).unwrap().is_some());
}

#[test]
fn a_flipped_byte_in_the_last_event_is_caught_by_the_head() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3);
    flip_in_event(dir.path(), 5, b"Name of", 0x20);
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(5), "{f}");
    assert!(f.problem.contains("head mismatch"), "{f}");
}

#[test]
fn an_altered_prev_hash_is_blamed_on_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 6);
    edit_group(dir.path(), 4, |records, i| {
        let v = &mut records[i];
        let at = v
            .windows(13)
            .position(|w| w == b"\"prev_hash\":\"")
            .unwrap()
            + 13;
        v[at] = if v[at] == b'0' { b'1' } else { b'0' };
    });
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(4), "{f}");
}

#[test]
fn an_undecodable_event_is_named_and_queries_error_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 4);
    flip_in_event(dir.path(), 3, b"{", 0xff);
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(3), "{f}");
    assert!(f.problem.contains("undecodable"), "{f}");
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    match store.job("J1") {
        Err(StoreError::Damaged { seq: 3, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(store.events().any(|r| r.is_err()));
}

#[test]
fn a_missing_event_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 40); // seq 3 sits in a full group, not the last one
    edit_group(dir.path(), 3, |records, i| {
        records.remove(i);
    });
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(3), "{f}");
    assert!(f.problem.contains("gap"), "{f}");
}

#[test]
fn a_missing_group_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let per_key = traveler::store::EVENTS_PER_KEY;
    build(dir.path(), 3 * per_key as u32); // at least groups 0, 1 and 2
    tamper(dir.path(), "events", |t| {
        t.remove(1u64.to_be_bytes()).unwrap();
    });
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(per_key + 1), "{f}");
    assert!(f.problem.contains("gap"), "{f}");
}

#[test]
fn a_flipped_byte_anywhere_in_a_group_is_caught_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 40); // seqs 1..=42: group 0 full, group 1 of 10
    let group0 = {
        let mut v = Vec::new();
        tamper(dir.path(), "events", |t| {
            v = t.get(0u64.to_be_bytes()).unwrap().unwrap().to_vec();
        });
        v
    };
    // Which seq each byte of group 0 belongs to (its length prefix included).
    let mut owner = Vec::new();
    for (i, r) in split_group(&group0).iter().enumerate() {
        owner.extend(std::iter::repeat_n(i as u64 + 1, 4 + r.len()));
    }
    let base = tempfile::tempdir().unwrap();
    build(base.path(), 40);
    for at in (0..group0.len()).step_by(97) {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base.path(), dir.path());
        tamper(dir.path(), "events", |t| {
            let mut v = group0.clone();
            v[at] ^= 0x01;
            t.insert(0u64.to_be_bytes(), v).unwrap();
        });
        let result = std::panic::catch_unwind(|| {
            let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
            store.verify()
        });
        let f = match result {
            Ok(Err(StoreError::Verify(f))) => f,
            Ok(other) => panic!("byte {at}: expected a verify failure, got {other:?}"),
            Err(_) => panic!("byte {at}: panicked"),
        };
        let seq = f.seq.unwrap();
        // A flipped byte is blamed on its record; a flip that breaks a link may be
        // blamed on the neighbour whose prev_hash no longer matches.
        assert!(
            seq == owner[at] || seq == owner[at] + 1,
            "byte {at} of seq {}: {f}",
            owner[at]
        );
    }
}

#[test]
fn a_torn_group_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 40);
    tamper(dir.path(), "events", |t| {
        let v = t.get(0u64.to_be_bytes()).unwrap().unwrap();
        let cut = v.len() / 2;
        t.insert(0u64.to_be_bytes(), &v[..cut]).unwrap();
    });
    let f = verify_failure(dir.path());
    assert!(f.problem.contains("torn"), "{f}");
    let seq = f.seq.unwrap();
    assert!((1..=32).contains(&seq), "{f}");
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    assert!(matches!(store.record(seq), Err(StoreError::Damaged { .. })));
    assert!(store.record(1).unwrap().is_some());
    assert!(store.events().any(|r| r.is_err()));
    assert!(store.job("J1").is_err());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    // A store folder others can read is refused; copies are owner-only too.
    traveler::private_fs::restrict(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_flipped_byte_in_a_sample_is_caught() {
    // Every byte of the sample block: header, channel names, times and readings.
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 2);
    let len = {
        let mut len = 0;
        tamper(dir.path(), "samples", |t| {
            len = t.iter().next().unwrap().unwrap().1.len();
        });
        len
    };
    for at in (0..len).step_by(7).chain([len - 1]) {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), 2);
        tamper(dir.path(), "samples", |t| {
            let (k, v) = t.iter().next().unwrap().unwrap();
            let mut v = v.to_vec();
            v[at] ^= 0x01;
            t.insert(k, v).unwrap();
        });
        let f = verify_failure(dir.path());
        assert_eq!(f.seq, Some(2), "byte {at}: {f}");
        assert!(f.problem.contains("job J1 step 0"), "byte {at}: {f}");
    }
}

#[test]
fn a_torn_sample_block_is_named_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 2);
    tamper(dir.path(), "samples", |t| {
        let (k, v) = t.iter().next().unwrap().unwrap();
        t.insert(k, &v[..v.len() - 5]).unwrap();
    });
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(2), "{f}");
    assert!(f.problem.contains("undecodable sample block"), "{f}");
    let store = Store::open(dir.path(), OpenOptions::default()).unwrap();
    assert!(store.samples("J1", 0).any(|s| s.is_err()));
    assert!(store.samples_digest("J1", 0).is_err());
}

#[test]
fn a_store_of_an_older_format_gets_a_clear_error() {
    for (format, says) in [
        ("traveler-store-3", "run `traveler migrate"),
        ("traveler-store-1", "restore"),
        ("traveler-store-9", "written by a newer traveler"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), 2);
        tamper(dir.path(), "meta", |t| {
            t.insert("format", format).unwrap();
        });
        let result = std::panic::catch_unwind(|| Store::open(dir.path(), OpenOptions::default()));
        match result {
            Ok(Err(e)) => {
                let msg = e.to_string();
                let n = &format["traveler-store-".len()..];
                assert!(msg.contains(&format!("format {n}")), "{msg}");
                assert!(msg.contains(says), "{msg}");
                assert!(!msg.contains("damaged"), "{msg}");
            }
            Ok(Ok(_)) => panic!("a {format} store opened"),
            Err(_) => panic!("opening a {format} store panicked"),
        }
    }
}

#[test]
fn a_deleted_or_added_sample_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 2);
    tamper(dir.path(), "samples", |t| {
        let (k, _) = t.iter().next().unwrap().unwrap();
        t.remove(k).unwrap();
    });
    assert_eq!(verify_failure(dir.path()).seq, Some(2));

    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 2);
    {
        let store = open(dir.path());
        let late = samples(1, t0() + chrono::Duration::hours(1));
        store.append_samples("J1", 0, &late).unwrap();
        // Samples of a step not completed yet are stored but not sealed: not an error.
        store.append_samples("J1", 1, &late).unwrap();
    }
    let f = verify_failure(dir.path());
    assert_eq!(f.seq, Some(2), "{f}");
}

#[test]
fn unsealed_samples_are_counted_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 2);
    let store = open(dir.path());
    store.append_samples("J1", 1, &samples(7, t0())).unwrap();
    let r = store.verify().unwrap();
    assert_eq!((r.samples, r.unsealed_samples), (57, 7));
}

#[test]
fn a_store_sled_cannot_read_gets_a_message_naming_the_restore() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 20);
    // Scribble over the data file past its header.
    let db_file = dir.path().join("db");
    let mut bytes = std::fs::read(&db_file).unwrap();
    let len = bytes.len();
    for b in bytes.iter_mut().take(len).skip(64) {
        *b = 0xA5;
    }
    std::fs::write(&db_file, bytes).unwrap();
    let result = std::panic::catch_unwind(|| Store::open(dir.path(), OpenOptions::default()));
    match result {
        Ok(Err(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("traveler restore BACKUP --store NEWDIR"),
                "{msg}"
            );
            assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        }
        Ok(Ok(store)) => panic!(
            "a damaged store opened as if whole: {:?}",
            store.verify().map(|r| r.events)
        ),
        Err(_) => panic!("opening a damaged store panicked"),
    }
}
