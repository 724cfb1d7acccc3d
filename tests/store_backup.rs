//! Backup -> restore gives a store that verifies and answers the same.

mod store_support;

use std::io::BufReader;

use store_support::*;
use traveler::cli::store::{BackupArgs, RestoreArgs, StoreDir, VerifyArgs};
use traveler::store::{OpenOptions, Store, StoreError};

#[test]
fn backup_then_restore_verifies_and_answers_the_same() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = open(src_dir.path());
    populate(&src);
    src.append_samples("J2", 0, &samples(9, t0())).unwrap(); // unsealed, still carried
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("backup.jsonl");
    let counts = src.backup_to_file(&file).unwrap();
    assert_eq!(counts.head, src.chain_head());
    assert_eq!(counts.samples, 89);
    assert!(!out.path().join("backup.jsonl.tmp").exists());

    // Every event line carries the canonical bytes verbatim: the hash recomputes.
    let text = std::fs::read_to_string(&file).unwrap();
    // The header names the store; the restored store is the same store.
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["traveler_backup"], 2);
    assert_eq!(
        header["store"]["store_id"],
        src.identity().store_id.as_str()
    );
    assert_eq!(header["store"]["bench"], src.identity().bench.as_str());
    let first_event = text.lines().nth(1).unwrap();
    let stored = src.stored_record(1).unwrap().unwrap();
    let raw = std::str::from_utf8(&stored.canonical).unwrap();
    assert_eq!(
        first_event,
        format!(
            "{{\"seq\":1,\"hash\":\"{}\",\"record\":{raw}}}",
            stored.hash_hex()
        )
    );

    let new_dir = out.path().join("restored");
    let f = std::fs::File::open(&file).unwrap();
    let (restored, rc) =
        Store::restore(BufReader::new(f), &new_dir, OpenOptions::default()).unwrap();
    assert_eq!(rc.events, counts.events);
    assert_eq!(rc.samples, 89);
    assert_eq!(rc.verified.unsealed_samples, 9);
    assert_eq!(restored.chain_head(), src.chain_head());
    assert_eq!(restored.identity(), src.identity());
    assert_eq!(answers(&restored), answers(&src));
    let a: Vec<_> = src.samples("J1", 1).map(|s| s.unwrap()).collect();
    let b: Vec<_> = restored.samples("J1", 1).map(|s| s.unwrap()).collect();
    assert_eq!(a, b);
    // The restored store carries on the same chain.
    let next = restored.append("T1", lot("J3", 0, "LOT-C")).unwrap();
    assert_eq!(next.prev_hash, src.chain_head().hash_hex());
}

#[test]
fn restore_refuses_a_non_empty_folder_a_truncated_file_and_a_bad_hash() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = open(src_dir.path());
    full_job(&src, "J1", "SN", "L", t0());
    let mut buf = Vec::new();
    src.backup(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();

    let busy = tempfile::tempdir().unwrap();
    std::fs::write(busy.path().join("x"), "x").unwrap();
    let r = Store::restore(text.as_bytes(), busy.path(), OpenOptions::default());
    assert!(matches!(r, Err(StoreError::NotEmpty { .. })));

    let lines: Vec<&str> = text.lines().collect();
    let truncated = lines[..lines.len() - 3].join("\n");
    let dir = tempfile::tempdir().unwrap();
    match Store::restore(
        truncated.as_bytes(),
        &dir.path().join("a"),
        OpenOptions::default(),
    ) {
        Err(StoreError::Backup { what, .. }) => assert!(what.contains("truncated"), "{what}"),
        other => panic!("{:?}", other.map(|_| ())),
    }

    let tampered = text.replacen("Name of T1", "Name of T2", 1);
    match Store::restore(
        tampered.as_bytes(),
        &dir.path().join("b"),
        OpenOptions::default(),
    ) {
        Err(StoreError::Backup { what, line }) => {
            assert!(what.contains("does not match its hash"), "{what}");
            assert!(line > 1);
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn the_commands_report_and_exit_as_documented() {
    let src_dir = tempfile::tempdir().unwrap();
    {
        let src = open(src_dir.path());
        full_job(&src, "J1", "SN", "L", t0());
    }
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.jsonl");
    let dir = StoreDir {
        store: Some(src_dir.path().to_path_buf()),
    };
    let code = traveler::cli::store::run_backup(BackupArgs {
        file: file.clone(),
        store: dir.clone(),
    });
    assert_eq!(code.unwrap(), 0);
    let target = out.path().join("new");
    let code = traveler::cli::store::run_restore(RestoreArgs {
        file: file.clone(),
        store: target.clone(),
    });
    assert_eq!(code.unwrap(), 0);
    // A second restore into the same folder is refused.
    let code = traveler::cli::store::run_restore(RestoreArgs {
        file,
        store: target.clone(),
    });
    assert_eq!(code.unwrap(), 1);
    let code = traveler::cli::store::run_verify(VerifyArgs {
        store: StoreDir {
            store: Some(target.clone()),
        },
        export: None,
    });
    assert_eq!(code.unwrap(), 0);
    let code = traveler::cli::store::run_reindex(traveler::cli::store::ReindexArgs {
        store: StoreDir {
            store: Some(target),
        },
    });
    assert_eq!(code.unwrap(), 0);
}
