//! Loss that must not pass as OK, through the binary: a store that lost its tail, a
//! path with no store, damage, a file where a folder should be, a store others can
//! read. (The store and the binary share the user's state folder for the high-water
//! mark, as on a bench PC.)

mod store_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use store_support::*;
use traveler::store::{OpenOptions, Store, StoreError};

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn traveler(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(args)
        .env_remove("TRAVELER_STORE")
        // The marks folder stays whatever this test process uses (CI points it at a
        // folder of its own), so the binary and the store opened here agree.
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A closed store of four jobs (J1 and J4 approved) and some people.
fn closed_store(dir: &Path) {
    let store = open(dir);
    populate(&store);
    drop(store);
    // sled lets go of its lock a moment after the handle drops.
    std::thread::sleep(std::time::Duration::from_millis(200));
}

/// What the issue describes: sled's log cut short, its snapshot and traveler's own
/// head file removed. sled then opens the earlier state as if nothing happened.
fn lose_the_tail(dir: &Path, keep: u64) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("snap.") || name == "traveler-head" {
            std::fs::remove_file(&p).unwrap();
        }
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("db"))
        .unwrap();
    f.set_len(keep).unwrap();
}

#[test]
fn a_store_that_lost_its_tail_is_refused_and_names_the_missing_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    closed_store(&dir);
    let head = Store::open_existing(&dir, OpenOptions::default())
        .unwrap()
        .chain_head();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mark = traveler::store::high_water::read_outside(&dir).expect("a mark outside");
    assert_eq!(mark.head, head);
    assert!(!mark.file.starts_with(&dir));

    lose_the_tail(&dir, 12_000);
    let s = dir.to_str().unwrap();
    let r = traveler(&["verify", "--store", s]);
    // Before: "OK: 12 events ..." and exit 0, J4 back to "in progress".
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(r.err.contains("records were lost"), "{}", r.err);
    assert!(
        r.err.contains(&format!("once reached seq {}", head.seq)),
        "{}",
        r.err
    );
    assert!(
        r.err.contains(&format!("to {} are missing", head.seq)),
        "{}",
        r.err
    );
    assert!(
        r.err.contains(&mark.file.display().to_string()),
        "{}",
        r.err
    );
    assert!(r.err.contains("traveler restore BACKUP"), "{}", r.err);
    // The exports and the bench application refuse it the same way.
    let r = traveler(&["export", "--store", s]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(r.err.contains("records were lost"), "{}", r.err);
    match Store::open(&dir, OpenOptions::default()) {
        Err(StoreError::LostRecords { reached, .. }) => assert_eq!(reached, head),
        other => panic!("{:?}", other.map(|s| s.chain_head())),
    }

    // Emptied entirely: still not a new store.
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
    let r = traveler(&["verify", "--store", s]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(
        r.err
            .contains(&format!("seqs 1 to {} are missing", head.seq)),
        "{}",
        r.err
    );
    assert!(matches!(
        Store::open(&dir, OpenOptions::default()),
        Err(StoreError::LostRecords { .. })
    ));
}

#[test]
fn every_backup_carries_the_mark_and_a_restore_says_what_it_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = open(&dir);
    populate(&store);
    let early = tmp.path().join("early.jsonl");
    let c = store.backup_to_file(&early).unwrap();
    store
        .append(
            "T1",
            traveler::domain::event::Event::JobSubmitted { job: "J3".into() },
        )
        .unwrap();
    let head = store.chain_head();
    let identity = store.identity().clone();
    drop(store);
    std::thread::sleep(std::time::Duration::from_millis(200));

    let text = std::fs::read_to_string(&early).unwrap();
    let end: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(end["end"]["head_seq"], c.head.seq);
    assert_eq!(end["end"]["head_hash"], c.head.hash_hex());
    assert!(text.lines().next().unwrap().contains(&identity.store_id));

    let target = tmp.path().join("restored");
    let r = traveler(&[
        "restore",
        early.to_str().unwrap(),
        "--store",
        target.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains(&format!(
            "this backup ends at seq {}, but store {} once reached seq {}",
            c.head.seq, identity.store_id, head.seq
        )),
        "{}",
        r.out
    );
    assert!(
        r.out.contains(&format!(
            "records {} to {} are not in it",
            c.head.seq + 1,
            head.seq
        )),
        "{}",
        r.out
    );
}

#[test]
fn read_only_commands_never_create_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["verify", "--store", m],
        vec!["backup", "b.jsonl", "--store", m],
        vec!["export", "--store", m],
        vec!["where-used", "LOT-A", "--store", m],
        vec!["reviews", "--store", m],
        vec!["reindex", "--store", m],
    ] {
        let r = traveler(&args);
        // Before: `verify` printed "OK: 0 events" with exit 0 and left a new store.
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.out, r.err);
        assert!(
            r.err.contains(&format!("no store at {m}")),
            "{args:?}: {}",
            r.err
        );
        assert!(!missing.exists(), "{args:?} created {m}");
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = traveler(&["verify", "--store", empty.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(r.err.contains("no store at"), "{}", r.err);
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

#[test]
fn verify_does_not_write_to_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    closed_store(&dir);
    // Once opened and closed, sled's own files are settled.
    drop(Store::open_existing(&dir, OpenOptions::default()).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let snapshot = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(&dir);
    let mark = traveler::store::high_water::read_outside(&dir);
    let r = traveler(&["verify", "--store", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(snapshot(&dir) == before, "verify changed the store's files");
    assert_eq!(traveler::store::high_water::read_outside(&dir), mark);
}

#[test]
fn damage_is_named_with_the_folder_what_was_read_and_the_way_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    closed_store(&dir);
    let s = dir.to_str().unwrap();
    // Garbage over the middle of sled's log.
    let mut db = std::fs::read(dir.join("db")).unwrap();
    let mid = db.len() / 3;
    for b in &mut db[mid..mid + 4000] {
        *b ^= 0xA5;
    }
    std::fs::write(dir.join("db"), db).unwrap();
    let r = traveler(&["verify", "--store", s]);
    // Before: sled's "Read corrupted data at file offset None backtrace ()", exit 1.
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(r.err.contains(s), "{}", r.err);
    assert!(r.err.contains("traveler restore BACKUP"), "{}", r.err);
    assert!(!r.err.contains("backtrace"), "{}", r.err);
    assert!(
        r.err.contains("it ends at seq") || r.err.contains("nothing could be read"),
        "{}",
        r.err
    );

    // A file is not a store folder, and not damage.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    for args in [
        vec!["verify", "--store", f],
        vec!["people", "--store", f, "list"],
    ] {
        let r = traveler(&args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.out, r.err);
        assert!(
            r.err.contains(&format!("{f} is not a store folder")),
            "{}",
            r.err
        );
        assert!(!r.err.contains("restore"), "{}", r.err);
    }
}

#[test]
fn the_store_and_its_backups_are_owner_only_and_an_exposed_store_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    closed_store(&dir);
    // A restore made under the loosest umask is owner-only all the same.
    let backup = tmp.path().join("b.jsonl");
    let target = tmp.path().join("restored");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; '{}' backup '{}' --store '{}' && '{}' restore '{}' --store '{}'",
            env!("CARGO_BIN_EXE_traveler"),
            backup.display(),
            dir.display(),
            env!("CARGO_BIN_EXE_traveler"),
            backup.display(),
            target.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&backup), 0o600);
    for d in [&dir, &target] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let want = if p.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&p), want, "{}", p.display());
        }
    }

    // Opened up to the world: refused with the command that fixes it.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = dir.to_str().unwrap();
    let r = traveler(&["verify", "--store", s]);
    // Before: "OK: ..." with the PIN hashes readable by every account.
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(
        r.err.contains("can be read by other accounts (mode 755)"),
        "{}",
        r.err
    );
    assert!(r.err.contains(&format!("chmod -R go-rwx {s}")), "{}", r.err);
    assert!(matches!(
        Store::open(&dir, OpenOptions::default()),
        Err(StoreError::Exposed { mode: 0o755, .. })
    ));
    let fix = Command::new("chmod")
        .args(["-R", "go-rwx", s])
        .status()
        .unwrap();
    assert!(fix.success());
    assert_eq!(traveler(&["verify", "--store", s]).code, 0);
}
