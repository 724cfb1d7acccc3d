//! Records outlive the version that wrote them: the committed fixtures of every store
//! format and record schema open, migrate, verify, back up and export with this build,
//! with every stored byte and hash unchanged.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use traveler::store::wire::{self, KINDS_V2};
use traveler::store::{OpenOptions, Store, StoreError, canonical_bytes, chain_hash};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Unpacks a fixture's store folder into `into`; returns the store folder, with the
/// mode the tar file gave it.
fn untar(format: &str, into: &Path) -> PathBuf {
    let ok = Command::new("tar")
        .arg("-xzf")
        .arg(fixture(&format!("{format}/store.tar.gz")))
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(ok.success());
    into.join("store")
}

fn owner_only(dir: &Path) {
    let ok = Command::new("chmod")
        .args(["-R", "go-rwx"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(ok.success());
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

/// The real binary, with its own state folder (high-water marks) per test.
fn traveler(state: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(args)
        .env("TRAVELER_STATE_DIR", state)
        .env_remove("TRAVELER_STORE")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The (seq, hash, record bytes) lines of a backup, verbatim.
fn record_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("{\"seq\":"))
        .collect()
}

fn sample_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("{\"sample\":"))
        .collect()
}

/// Every exported event as (seq, hash), from a JSON export.
fn exported_hashes(text: &str) -> Vec<(u64, String)> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut out = Vec::new();
    for job in v["jobs"].as_array().unwrap() {
        for e in job["events"].as_array().unwrap() {
            out.push((
                e["seq"].as_u64().unwrap(),
                e["hash"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn a_format_3_store_migrates_verifies_and_exports_with_identical_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let store = untar("format3", tmp.path());
    let s = store.to_str().unwrap();

    // Format-3 stores were created 0755: refused, with the command that fixes it.
    let r = traveler(&state, &["verify", "--store", s]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(r.err.contains(&format!("chmod -R go-rwx {s}")), "{}", r.err);
    owner_only(&store);

    // Opened without migrating: the way forward, not "damaged".
    for args in [
        vec!["verify", "--store", s],
        vec!["backup", "x.jsonl", "--store", s],
        vec!["export", "--store", s],
    ] {
        let r = traveler(&state, &args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.out, r.err);
        assert!(
            r.err
                .contains("written by traveler format 3: run `traveler migrate"),
            "{args:?}: {}",
            r.err
        );
        assert!(!r.err.contains("damaged"), "{}", r.err);
    }

    let instructions = fixture("format3/instructions");
    let r = traveler(
        &state,
        &[
            "migrate",
            "--store",
            s,
            "--bench",
            "BENCH-7",
            "--instructions",
            instructions.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("from store format 3 to 4"), "{}", r.out);
    assert!(r.out.contains("(bench BENCH-7)"), "{}", r.out);
    assert!(
        r.out
            .contains("archived WI-BGA-001.toml (f055f80be3fa…) for 2 job(s): J-BGA-1, J-BGA-2"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("archived WI-TH-001.toml") && r.out.contains("J-TH-1"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("1 job(s) whose instruction file was not found")
            && r.out.contains("J-GONE-1 ran WI-GONE-001 rev A"),
        "{}",
        r.out
    );

    let r = traveler(&state, &["verify", "--store", s]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.starts_with("OK: 48 events, 35 samples"), "{}", r.out);
    assert!(
        r.out.contains("records: 45 of schema 1, 3 of schema 2"),
        "{}",
        r.out
    );

    // Every stored byte and hash of the format-3 records is unchanged.
    let backup = tmp.path().join("after.jsonl");
    let r = traveler(&state, &["backup", backup.to_str().unwrap(), "--store", s]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let old = std::fs::read_to_string(fixture("format3/backup.jsonl")).unwrap();
    let new = std::fs::read_to_string(&backup).unwrap();
    assert_eq!(record_lines(&new)[..45], record_lines(&old)[..]);
    assert_eq!(sample_lines(&new), sample_lines(&old));
    let header: serde_json::Value = serde_json::from_str(new.lines().next().unwrap()).unwrap();
    assert_eq!(header["store"]["bench"], "BENCH-7");
    let migrated = record_lines(&new)[47];
    assert!(
        migrated.contains("\"type\":\"store_migrated\""),
        "{migrated}"
    );
    assert!(
        migrated.contains(header["store"]["store_id"].as_str().unwrap()),
        "{migrated}"
    );

    // Exports carry the same hashes as the format-3 export did, and verify.
    let export = tmp.path().join("after.json");
    let r = traveler(
        &state,
        &[
            "export",
            "--store",
            s,
            "--samples",
            "--out",
            export.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let old_export = std::fs::read_to_string(fixture("format3/export.json")).unwrap();
    let new_export = std::fs::read_to_string(&export).unwrap();
    let new_hashes = exported_hashes(&new_export);
    for h in exported_hashes(&old_export) {
        assert!(new_hashes.contains(&h), "{h:?} missing from the new export");
    }
    let r = traveler(&state, &["verify", "--export", export.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);

    // Migrating again changes nothing.
    let r = traveler(
        &state,
        &[
            "migrate",
            "--store",
            s,
            "--instructions",
            instructions.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("is store format 4 already"), "{}", r.out);
    assert!(
        r.out
            .contains("2 instruction text(s) were archived already"),
        "{}",
        r.out
    );
    let r = traveler(&state, &["verify", "--store", s]);
    assert!(r.out.starts_with("OK: 48 events"), "{}", r.out);
}

#[test]
fn an_interrupted_migration_leaves_the_format_3_store_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let store = untar("format3", tmp.path());
    owner_only(&store);
    let s = store.to_str().unwrap();
    let before = std::fs::read_to_string(fixture("format3/backup.jsonl")).unwrap();

    // Killed after the migration's transaction reached sled's memory, before its one
    // durable sync: whatever reached the disk, the store is either format 3 as it was or
    // format 4 complete, never a mix.
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(["migrate", "--store", s])
        .env("TRAVELER_STATE_DIR", &state)
        .env("TRAVELER_FAULT", "commit:applied")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fault point commit:applied"));

    let r = traveler(&state, &["verify", "--store", s]);
    if r.code == 2 {
        assert!(r.err.contains("written by traveler format 3"), "{}", r.err);
    } else {
        assert_eq!(r.code, 0, "{}{}", r.out, r.err);
        assert!(r.out.starts_with("OK: 46 events"), "{}", r.out);
    }
    // Either way it migrates (again or not) and keeps every format-3 byte.
    let r = traveler(&state, &["migrate", "--store", s]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let backup = tmp.path().join("b.jsonl");
    let r = traveler(&state, &["backup", backup.to_str().unwrap(), "--store", s]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let after = std::fs::read_to_string(&backup).unwrap();
    assert_eq!(record_lines(&after)[..45], record_lines(&before)[..]);
    assert_eq!(record_lines(&after).len(), 46);
}

#[test]
fn a_format_3_backup_restores_with_this_build_and_gets_an_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let file = std::fs::File::open(fixture("format3/backup.jsonl")).unwrap();
    let dir = tmp.path().join("restored");
    let (store, counts) =
        Store::restore(BufReader::new(file), &dir, OpenOptions::default()).unwrap();
    assert_eq!(counts.events, 45);
    assert_eq!(counts.samples, 35);
    assert_eq!(counts.verified.events, 46);
    assert_eq!(counts.verified.unsealed_samples, 5);
    let old = std::fs::read_to_string(fixture("format3/backup.jsonl")).unwrap();
    let mut buf = Vec::new();
    store.backup(&mut buf).unwrap();
    let new = String::from_utf8(buf).unwrap();
    assert_eq!(record_lines(&new)[..45], record_lines(&old)[..]);
    let last = store.record(46).unwrap().unwrap();
    match last.event {
        traveler::domain::event::Event::StoreMigrated { store_id, .. } => {
            assert_eq!(store_id, store.identity().store_id)
        }
        other => panic!("{other:?}"),
    }
    // The jobs fold as they did.
    let job = store.job("J-BGA-1").unwrap().unwrap();
    assert_eq!(job.status, traveler::domain::job::JobStatus::Approved);
    assert_eq!(job.steps.len(), 2);
}

#[test]
fn every_schema_1_record_decodes_into_todays_events() {
    let text = std::fs::read_to_string(fixture("format3/backup.jsonl")).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    let mut prev = [0u8; 32];
    for line in record_lines(&text) {
        let (seq, hash, bytes) = split_line(line);
        assert_eq!(hash, hex::encode(chain_hash(seq, &prev, bytes.as_bytes())));
        prev = chain_hash(seq, &prev, bytes.as_bytes());
        let d = wire::decode(seq, bytes.as_bytes()).unwrap_or_else(|e| panic!("seq {seq}: {e}"));
        assert_eq!(d.schema, 1);
        assert_eq!(d.record.seq, seq);
        kinds.insert(d.record.event.kind());
        let head = wire::head(bytes.as_bytes()).unwrap();
        assert_eq!((head.schema, head.seq), (1, seq));
    }
    assert_eq!(kinds.len(), 23, "{kinds:?}");
}

/// `{"seq":N,"hash":"H","record":BYTES}` -> (N, H, BYTES), BYTES verbatim.
fn split_line(line: &str) -> (u64, &str, &str) {
    let rest = line.strip_prefix("{\"seq\":").unwrap();
    let comma = rest.find(',').unwrap();
    let seq = rest[..comma].parse().unwrap();
    let rest = rest[comma..].strip_prefix(",\"hash\":\"").unwrap();
    let hash = &rest[..64];
    let bytes = rest[64..]
        .strip_prefix("\",\"record\":")
        .unwrap()
        .strip_suffix('}')
        .unwrap();
    (seq, hash, bytes)
}

#[test]
fn every_schema_2_record_decodes_and_encodes_to_the_same_bytes() {
    let text = std::fs::read_to_string(fixture("format4/backup.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let identity: traveler::store::StoreIdentity =
        serde_json::from_value(header["store"].clone()).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for line in record_lines(&text) {
        let (seq, _, bytes) = split_line(line);
        let d = wire::decode(seq, bytes.as_bytes()).unwrap_or_else(|e| panic!("seq {seq}: {e}"));
        assert_eq!(d.schema, 2);
        assert_eq!(d.store.is_some(), seq == 1);
        // Today's Event still writes these exact bytes. If this fails, `Event` changed
        // in a way schema-2 bytes do not survive: freeze schema 2 in store/wire and
        // bump the schema (see src/store/wire/mod.rs).
        let again = canonical_bytes(&d.record, (seq == 1).then_some(&identity)).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), bytes, "seq {seq}");
        kinds.insert(d.record.event.kind());
    }
    // Every kind schema 2 had when format 4 was released is in the fixture; kinds
    // added later belong in a fixture of their own (this one is never rewritten).
    assert_eq!(kinds.len(), 27, "{kinds:?}");
    assert!(kinds.iter().all(|k| KINDS_V2.contains(k)), "{kinds:?}");
}

#[test]
fn a_format_4_store_opens_verifies_and_backs_up_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = untar("format4", tmp.path());
    owner_only(&store_dir);
    let store = Store::open_existing(&store_dir, OpenOptions::default()).unwrap();
    let fixture_text = std::fs::read_to_string(fixture("format4/backup.jsonl")).unwrap();
    let header: serde_json::Value =
        serde_json::from_str(fixture_text.lines().next().unwrap()).unwrap();
    assert_eq!(
        header["store"]["store_id"],
        store.identity().store_id.as_str()
    );
    let r = store.verify().unwrap();
    assert_eq!((r.events, r.newer.count), (49, 0));
    let mut buf = Vec::new();
    store.backup(&mut buf).unwrap();
    assert_eq!(String::from_utf8(buf).unwrap(), fixture_text);

    let mut out = Vec::new();
    traveler::export::json::write_json(
        &store,
        &traveler::instruction::Library::default(),
        &traveler::export::Scope::default(),
        &traveler::export::ExportOptions { samples: true },
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    let old = std::fs::read_to_string(fixture("format4/export.json")).unwrap();
    assert_eq!(
        exported_hashes(&String::from_utf8(out).unwrap()),
        exported_hashes(&old)
    );
}

#[test]
fn the_exports_of_older_builds_verify_their_hashes_and_report_the_fold_apart() {
    for f in ["format3/export.json", "format4/export.json"] {
        let file = std::fs::File::open(fixture(f)).unwrap();
        let r = traveler::export::verify_json_export(file).unwrap();
        assert_eq!(r.failure, None, "{f}");
        assert_eq!(r.jobs, 4, "{f}");
        // Whatever today's fold says of the summaries, it is its own finding.
        assert_eq!(
            r.refold.matched + r.refold.differing + r.refold.skipped,
            4,
            "{f}"
        );
    }
    let file = std::fs::File::open(fixture("format3/export.json")).unwrap();
    assert_eq!(
        traveler::export::verify_json_export(file).unwrap().store,
        None
    );
}

/// A record of a kind this build does not know, chained properly after the format-4
/// fixture: what a newer traveler's backup would hold.
fn backup_with_newer_record(kind_or_schema: &str) -> String {
    let text = std::fs::read_to_string(fixture("format4/backup.jsonl")).unwrap();
    let records = record_lines(&text);
    let (seq, hash, _) = split_line(records.last().unwrap());
    let mut prev = [0u8; 32];
    hex::decode_to_slice(hash, &mut prev).unwrap();
    let seq = seq + 1;
    let record = format!(
        "{{\"schema\":{},\"seq\":{seq},\"prev_hash\":\"{hash}\",\"time\":\"2027-05-01T10:00:00Z\",\"actor\":\"T100\",\"event\":{{\"type\":\"{}\",\"job\":\"J-BGA-2\",\"frames\":3}}}}",
        if kind_or_schema == "schema" { 3 } else { 2 },
        if kind_or_schema == "schema" {
            "step_started"
        } else {
            "xray_taken"
        }
    );
    let new_hash = chain_hash(seq, &prev, record.as_bytes());
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("{\"sample\":") && !out.contains("\"frames\":3") {
            out += &format!(
                "{{\"seq\":{seq},\"hash\":\"{}\",\"record\":{record}}}\n",
                hex::encode(new_hash)
            );
        }
        if line.starts_with("{\"end\":") {
            let samples = sample_lines(&text).len();
            out += &format!(
                "{{\"end\":{{\"events\":{seq},\"samples\":{samples},\"head_seq\":{seq},\"head_hash\":\"{}\"}}}}\n",
                hex::encode(new_hash)
            );
        } else {
            out += line;
            out += "\n";
        }
    }
    out
}

#[test]
fn a_record_of_a_newer_traveler_is_reported_as_such_never_as_damage() {
    for what in ["kind", "schema"] {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let file = tmp.path().join("newer.jsonl");
        std::fs::write(&file, backup_with_newer_record(what)).unwrap();
        let dir = tmp.path().join("restored");
        let r = traveler(
            &state,
            &[
                "restore",
                file.to_str().unwrap(),
                "--store",
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{what}: {}{}", r.out, r.err);
        assert!(
            r.out.contains("1 records were written by a newer traveler"),
            "{}",
            r.out
        );

        let r = traveler(&state, &["verify", "--store", dir.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{what}: {}{}", r.out, r.err);
        assert!(r.out.starts_with("OK: 50 events"), "{}", r.out);
        assert!(r.out.contains("written by a newer traveler"), "{}", r.out);
        assert!(r.out.contains("seq 50:"), "{}", r.out);
        assert!(
            !r.out.contains("FAILED") && !r.err.contains("damaged"),
            "{}",
            r.out
        );

        let store = Store::open_existing(&dir, OpenOptions::default()).unwrap();
        match store.record(50) {
            Err(e @ StoreError::Newer { seq: 50, .. }) => {
                assert!(e.to_string().contains("written by a newer traveler"), "{e}")
            }
            other => panic!("{what}: {other:?}"),
        }
        // A backup carries it on verbatim.
        let mut buf = Vec::new();
        store.backup(&mut buf).unwrap();
        assert!(String::from_utf8(buf).unwrap().contains("\"frames\":3"));
        // The indexes rebuild around it; the job's readable records still fold.
        assert_eq!(store.reindex().unwrap(), 50);
        assert!(store.job("J-BGA-2").unwrap().is_some());
    }
}

#[test]
fn a_flipped_byte_in_a_migrated_store_is_still_reported_at_its_seq() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let store = untar("format3", tmp.path());
    owner_only(&store);
    let s = store.to_str().unwrap();
    assert_eq!(traveler(&state, &["migrate", "--store", s]).code, 0);
    // seq 20 sits in group 2 (seqs 17..=24); change one letter of its text.
    {
        let db = sled::open(&store).unwrap();
        let t = db.open_tree("events").unwrap();
        let mut v = t.get(2u64.to_be_bytes()).unwrap().unwrap().to_vec();
        let mut at = 0;
        let mut seq = 17;
        loop {
            let len = u32::from_be_bytes(v[at..at + 4].try_into().unwrap()) as usize;
            if seq == 20 {
                let rec = &mut v[at + 4..at + 4 + len];
                let p = rec.windows(5).position(|w| w == b"actor").unwrap();
                rec[p + 8] ^= 0x20; // the actor's badge T100 becomes t100
                break;
            }
            at += 4 + len;
            seq += 1;
        }
        t.insert(2u64.to_be_bytes(), v).unwrap();
        db.flush().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = traveler(&state, &["verify", "--store", s]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(
        r.out.starts_with("FAILED at seq 20: hash mismatch"),
        "{}",
        r.out
    );
    assert!(r.out.contains("good records up to seq 19"), "{}", r.out);
}

/// Kinds added to schema 2 after format 4's fixture was written keep golden bytes
/// of their own (`tests/fixtures/schema2-later`): they decode and re-encode exactly.
#[test]
fn later_schema_2_kinds_decode_and_encode_to_their_golden_bytes() {
    let text = std::fs::read_to_string(fixture("schema2-later/records.jsonl")).unwrap();
    let mut kinds = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (seq, hash, bytes) = split_line(line);
        let d = wire::decode(seq, bytes.as_bytes()).unwrap_or_else(|e| panic!("seq {seq}: {e}"));
        assert_eq!(d.schema, 2);
        let again = canonical_bytes(&d.record, None).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), bytes, "seq {seq}");
        let mut prev = [0u8; 32];
        hex::decode_to_slice(&d.record.prev_hash, &mut prev).unwrap();
        assert_eq!(hex::encode(chain_hash(seq, &prev, bytes.as_bytes())), hash);
        kinds.push(d.record.event.kind());
    }
    assert_eq!(
        kinds,
        [
            "pin_policy_met",
            "instruction_release_refused",
            "instruction_released",
            "component_removed",
            "component_installed",
            "hub_record_mirrored",
            "shop_policy_set"
        ]
    );
    assert!(kinds.iter().all(|k| KINDS_V2.contains(k)));
}
