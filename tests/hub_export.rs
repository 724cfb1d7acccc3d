//! `traveler export --hub`: two benches' stores synced to one real hub on the real
//! PostgreSQL; the desk's shop-wide export in every format names the bench on every
//! part, holds exactly what the two benches' own exports hold, verifies, keeps a
//! redone step's samples with their attempt, leaves no trace in the state or temporary
//! folder, and names a store whose copy fails its check instead of exporting it.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Duration;
use hub_support::*;
use serde_json::Value;
use store_support::{completed, lot, samples, signed, t0};
use traveler::domain::event::Event;
use traveler::domain::job::sample_stream;
use traveler::domain::types::{CheckResult, Decision};
use traveler::hub::SyncState;
use traveler::hub::db::{self, Kind};
use traveler::hub::sync::spawn_with;
use traveler::store::Store;

struct Env {
    state: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

fn run(env: &Env, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(args)
        .env("TRAVELER_STATE_DIR", env.state.path())
        .env("TMPDIR", env.tmp.path())
        .env_remove("TRAVELER_HUB_TOKEN")
        .output()
        .expect("run traveler");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn started(job: &str, serial: &str, bench: &str, steps: u32) -> Event {
    let mut e = store_support::started(job, serial, "T1", steps);
    if let Event::JobStarted { bench: b, .. } = &mut e {
        *b = bench.into();
    }
    e
}

/// A finished job of one step at `bench`: lot, samples, signatures, review.
fn job(store: &Store, bench: &str, id: &str, serial: &str, day: chrono::DateTime<chrono::Utc>) {
    store
        .append_at(day, "T1", started(id, serial, bench, 1))
        .unwrap();
    let at = day + Duration::minutes(5);
    store
        .append_at(
            at,
            "T1",
            Event::StepStarted {
                job: id.into(),
                step: 0,
            },
        )
        .unwrap();
    store.append_at(at, "T1", lot(id, 0, "FLX-7788")).unwrap();
    store.append_samples(id, 0, &samples(12, at)).unwrap();
    store
        .append_at(at, "T1", signed(id, 0, 0, "T1", CheckResult::Pass))
        .unwrap();
    let d = store.samples_digest(id, 0).unwrap();
    store
        .append_at(at, "T1", completed(id, 0, d.count, &d.sha256))
        .unwrap();
    finish(store, id, day + Duration::hours(1));
}

fn finish(store: &Store, id: &str, at: chrono::DateTime<chrono::Utc>) {
    store
        .append_at(at, "T1", Event::JobSubmitted { job: id.into() })
        .unwrap();
    store
        .append_at(
            at,
            "S5",
            Event::JobReviewed {
                job: id.into(),
                decision: Decision::Approved,
                reviewer: "S5".into(),
                reviewer_name: "Sue".into(),
                comment: "ok".into(),
            },
        )
        .unwrap();
}

/// A job whose one step is redone: attempt 1 (7 samples from 300.0 °C) fails its
/// checkpoint, attempt 2 (5 samples from 400.0 °C) passes; each attempt seals its own.
fn redone_job(store: &Store, bench: &str, id: &str) {
    let day = t0() + Duration::days(2);
    store
        .append_at(day, "T1", started(id, "SN-R", bench, 1))
        .unwrap();
    let stream_samples = |n: usize, from: f64, at| {
        samples(n, at)
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                s.celsius = from + i as f64;
                s
            })
            .collect::<Vec<_>>()
    };
    let seal = |attempt: u32| {
        let stream = sample_stream(0, attempt);
        let d = store.samples_digest(id, stream).unwrap();
        Event::StepCompleted {
            job: id.into(),
            step: 0,
            temperature: vec![],
            sample_count: d.count,
            samples_digest: d.sha256,
            attempt,
        }
    };
    let a1 = day + Duration::minutes(1);
    store
        .append_at(
            a1,
            "T1",
            Event::StepStarted {
                job: id.into(),
                step: 0,
            },
        )
        .unwrap();
    store
        .append_samples(id, sample_stream(0, 1), &stream_samples(7, 300.0, a1))
        .unwrap();
    store.append_at(a1, "T1", seal(1)).unwrap();
    store
        .append_at(a1, "T1", signed(id, 0, 0, "T1", CheckResult::Fail))
        .unwrap();
    let a2 = day + Duration::minutes(20);
    store
        .append_at(
            a2,
            "T1",
            Event::StepRedone {
                job: id.into(),
                step: 0,
                reason: "bridged ball".into(),
            },
        )
        .unwrap();
    store
        .append_samples(id, sample_stream(0, 2), &stream_samples(5, 400.0, a2))
        .unwrap();
    store.append_at(a2, "T1", seal(2)).unwrap();
    store
        .append_at(a2, "T1", signed(id, 0, 0, "T1", CheckResult::Pass))
        .unwrap();
    finish(store, id, day + Duration::hours(1));
}

async fn sync(store: &Store, addr: std::net::SocketAddr, token: &str, db_url: &str, seals: i64) {
    let mut rx = spawn_with(store.clone(), config(addr, token), fast());
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced", |s| *s == SyncState::Synced { head }).await;
    let id = store_id(store);
    let c = sql(db_url).await;
    for _ in 0..600 {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM hub_samples WHERE store_id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        if n == seals {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the hub never held the {seals} sample blocks of {id}");
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A CSV table's rows (header first).
fn table(p: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(p)
        .unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_wide_export_is_every_benchs_own_export_named_by_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let db_url = hub_db(&admin).await;
    let server = start_hub(&db_url).await;
    let t1 = enrol(&db_url, "BENCH-01").await;
    let t2 = enrol(&db_url, "BENCH-02").await;
    let pool = db::pool(&db_url).unwrap();
    let desk = db::enrol(&pool, "QA-DESK", Kind::Desk, false)
        .await
        .unwrap();
    let url = format!("http://{}", server.addr);

    // Both benches have a job J-0001 (ids are unique per store only); bench 1 also
    // has a redone step.
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    {
        let s1 = store_support::open(d1.path());
        let s2 = store_support::open(d2.path());
        job(&s1, "BENCH-01", "J-0001", "SN-1", t0());
        redone_job(&s1, "BENCH-01", "J-0002");
        job(&s2, "BENCH-02", "J-0001", "SN-2", t0() + Duration::days(1));
        job(&s2, "BENCH-02", "J-0003", "SN-3", t0() + Duration::days(3));
        sync(&s1, server.addr, &t1, &db_url, 3).await;
        sync(&s2, server.addr, &t2, &db_url, 2).await;
    }
    // The sync tasks end with their stores' last handles.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let env = Env {
        state: tempfile::tempdir().unwrap(),
        tmp: tempfile::tempdir().unwrap(),
    };
    let out = tempfile::tempdir().unwrap();
    let o = |name: &str| out.path().join(name);
    let hub = ["--hub", url.as_str(), "--hub-token", desk.as_str()];
    let shop = |args: &[&str]| {
        let mut a = vec!["export"];
        a.extend_from_slice(args);
        a.extend_from_slice(&hub);
        run(&env, &a)
    };
    let stores = [("BENCH-01", d1.path()), ("BENCH-02", d2.path())];
    let own = |fmt: &str, bench: usize, target: &Path| {
        let (code, _, err) = run(
            &env,
            &[
                "export",
                "--format",
                fmt,
                "--samples",
                "--store",
                stores[bench].1.to_str().unwrap(),
                "--out",
                target.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
    };
    // What the bench's own traveler export holds: the yardstick.
    for (i, _) in stores.iter().enumerate() {
        for fmt in ["json", "csv", "cfx", "html"] {
            own(fmt, i, &o(&format!("own{i}-{fmt}")));
        }
    }
    // The benches' own exports wrote no mark (read-only); from here on the state
    // folder must stay as it is.
    let state_before = files_in(&env.state.path().join("stores"));

    // JSON: one document, each bench's own export inside, naming bench and store.
    let (code, _, err) = shop(&[
        "--format",
        "json",
        "--samples",
        "--out",
        o("shop.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("bench BENCH-01 store"), "{err}");
    let v = read_json(&o("shop.json"));
    assert_eq!(v["traveler_shop_export"], 1);
    let parts = v["benches"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    let mut total_jobs = 0;
    for (i, (bench, _)) in stores.iter().enumerate() {
        let p = &parts[i];
        assert_eq!(p["bench"], *bench);
        let mine = read_json(&o(&format!("own{i}-json")));
        assert_eq!(p["store_id"], mine["store"]["store_id"]);
        assert_eq!(p["export"]["store"], mine["store"]);
        assert_eq!(p["export"]["chain_head"], mine["chain_head"]);
        assert_eq!(p["export"]["counts"], mine["counts"]);
        // Record for record, samples included, the bench's own export.
        assert_eq!(p["export"]["jobs"], mine["jobs"], "{bench}");
        total_jobs += mine["counts"]["jobs"].as_u64().unwrap();
    }
    assert_eq!(v["counts"]["jobs"].as_u64().unwrap(), total_jobs);
    assert_eq!(total_jobs, 4);
    assert_eq!(v["not_exported"], serde_json::json!([]));
    let (code, vout, verr) = run(
        &env,
        &["verify", "--export", o("shop.json").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{vout}{verr}");
    assert_eq!(vout.matches("OK: ").count(), 2, "{vout}");
    assert!(vout.contains("bench BENCH-02 store"), "{vout}");
    // An edited record, a part under another store's name, a cut-off file: each fails.
    let text = std::fs::read_to_string(o("shop.json")).unwrap();
    let (id1, id2) = (
        parts[0]["store_id"].as_str().unwrap(),
        parts[1]["store_id"].as_str().unwrap(),
    );
    let cases = [
        (
            "edited",
            text.replace("SN-2", "SN-7"),
            "FAILED job J-0001, seq ",
        ),
        (
            "renamed",
            text.replacen(
                &format!("\"bench\":\"BENCH-02\",\"store_id\":\"{id2}\""),
                &format!("\"bench\":\"BENCH-02\",\"store_id\":\"{id1}\""),
                1,
            ),
            "FAILED bench BENCH-02: its export is of store",
        ),
        (
            "cut",
            text[..text.len() - 40].to_string(),
            "not a whole shop-wide export",
        ),
    ];
    for (name, bad, want) in cases {
        assert_ne!(bad, text, "{name}");
        let f = o(&format!("{name}.json"));
        std::fs::write(&f, bad).unwrap();
        let (code, vout, _) = run(&env, &["verify", "--export", f.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}: {vout}");
        assert!(vout.contains(want), "{name}: {vout}");
    }

    // CSV: the tables merged, the hub's bench name and the store id first on every
    // row; each bench's rows are its own export's rows.
    let (code, _, err) = shop(&[
        "--format",
        "csv",
        "--samples",
        "--out",
        o("shop-csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let own_tables: Vec<String> = files_in(&o("own0-csv"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        own_tables.contains(&"samples.csv".to_string()),
        "{own_tables:?}"
    );
    for name in &own_tables {
        let merged = table(&o("shop-csv").join(name));
        assert_eq!(merged[0][..2], ["hub_bench", "store_id"], "{name}");
        let mut expected_rows = 0;
        for (i, (bench, _)) in stores.iter().enumerate() {
            let mine = table(&o(&format!("own{i}-csv")).join(name));
            assert_eq!(merged[0][2..], mine[0][..], "{name}");
            let rows: Vec<Vec<String>> = merged[1..]
                .iter()
                .filter(|r| r[0] == *bench)
                .map(|r| r[2..].to_vec())
                .collect();
            assert_eq!(rows, mine[1..].to_vec(), "{name} of {bench}");
            expected_rows += mine.len() - 1;
        }
        assert_eq!(
            merged.len() - 1,
            expected_rows,
            "{name}: a row without a bench"
        );
    }
    // The redone step: each attempt's own samples, with their attempt.
    let samples = table(&o("shop-csv").join("samples.csv"));
    let col = |n: &str| samples[0].iter().position(|c| c == n).unwrap();
    let (job_c, attempt_c, celsius_c) = (col("job"), col("attempt"), col("celsius"));
    let redo: Vec<(String, f64)> = samples[1..]
        .iter()
        .filter(|r| r[0] == "BENCH-01" && r[job_c] == "J-0002")
        .map(|r| (r[attempt_c].clone(), r[celsius_c].parse().unwrap()))
        .collect();
    assert_eq!(redo.iter().filter(|(a, _)| a == "1").count(), 7, "{redo:?}");
    assert_eq!(redo.iter().filter(|(a, _)| a == "2").count(), 5, "{redo:?}");
    assert!(
        redo.iter()
            .all(|(a, c)| (a == "1" && (300.0..307.0).contains(c)) || (a == "2" && *c >= 400.0)),
        "{redo:?}"
    );

    // CFX: one array, every envelope from its bench's handle.
    let (code, _, err) = shop(&[
        "--format",
        "cfx",
        "--out",
        o("shop.cfx.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let all = read_json(&o("shop.cfx.json"));
    let all = all.as_array().unwrap();
    let mut expected = 0;
    for (i, (bench, _)) in stores.iter().enumerate() {
        // The own export was written with --samples; count the same without.
        let (code, mine, err) = run(
            &env,
            &[
                "export",
                "--format",
                "cfx",
                "--store",
                stores[i].1.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        let mine: Value = serde_json::from_str(&mine).unwrap();
        let mine = mine.as_array().unwrap();
        let handle = format!("org.traveler.{bench}");
        let theirs: Vec<&Value> = all
            .iter()
            .filter(|m| m["Source"] == handle.as_str())
            .collect();
        assert_eq!(theirs.len(), mine.len(), "{bench}");
        assert_eq!(
            theirs.iter().map(|m| &m["UniqueID"]).collect::<Vec<_>>(),
            mine.iter().map(|m| &m["UniqueID"]).collect::<Vec<_>>()
        );
        expected += mine.len();
    }
    assert_eq!(
        all.len(),
        expected,
        "an envelope without its bench's handle"
    );

    // HTML: a folder per bench with its own reports, and an index of the benches.
    let (code, _, err) = shop(&[
        "--format",
        "html",
        "--out",
        o("shop-html").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let index = std::fs::read_to_string(o("shop-html").join("index.html")).unwrap();
    for (i, (bench, _)) in stores.iter().enumerate() {
        assert!(
            index.contains(&format!("href=\"{bench}/index.html\"")),
            "{index}"
        );
        let mut mine: Vec<_> = files_in(&o(&format!("own{i}-html")))
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        let mut theirs: Vec<_> = files_in(&o("shop-html").join(bench))
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        mine.sort();
        theirs.sort();
        assert_eq!(theirs, mine, "{bench}");
        assert!(mine.len() >= 3, "{mine:?}");
    }

    // --bench: only that bench's stores; a bench the hub does not hold is said so;
    // the bench's own export has no use for it.
    let (code, _, err) = shop(&[
        "--format",
        "json",
        "--bench",
        "BENCH-02",
        "--out",
        o("b2.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let b2 = read_json(&o("b2.json"));
    assert_eq!(b2["benches"].as_array().unwrap().len(), 1);
    assert_eq!(b2["benches"][0]["bench"], "BENCH-02");
    let (code, _, err) = shop(&["--format", "json", "--bench", "BENCH-09"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the hub holds no store of bench BENCH-09 (it holds: BENCH-01, BENCH-02)"),
        "{err}"
    );
    let (code, _, err) = run(
        &env,
        &[
            "export",
            "--bench",
            "BENCH-01",
            "--store",
            d1.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("--bench chooses among the benches of a shop-wide export"),
        "{err}"
    );

    // Nothing left behind: no temporary folder, no high-water mark of a scratch copy.
    assert_eq!(files_in(env.tmp.path()), Vec::<PathBuf>::new());
    assert_eq!(files_in(&env.state.path().join("stores")), state_before);

    // A store whose copy at the hub fails its check is named and left out; the
    // others are exported, and the export says it is incomplete.
    let c = sql(&db_url).await;
    let bench2: String = parts[1]["store_id"].as_str().unwrap().to_string();
    c.batch_execute(
        "ALTER TABLE hub_records DISABLE TRIGGER USER;
         ALTER TABLE hub_records DROP CONSTRAINT hub_records_hash",
    )
    .await
    .unwrap();
    c.execute(
        "UPDATE hub_records SET bytes = replace(convert_from(bytes, 'UTF8'), 'SN-3', 'SN-9')::bytea
         WHERE store_id = $1 AND kind = 'job_started' AND job = 'J-0003'",
        &[&bench2],
    )
    .await
    .unwrap();
    let (code, _, err) = shop(&[
        "--format",
        "json",
        "--out",
        o("part.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "NOT EXPORTED: bench BENCH-02 store {bench2}: the hub's copy fails its check: record"
        )),
        "{err}"
    );
    let v = read_json(&o("part.json"));
    assert_eq!(v["benches"].as_array().unwrap().len(), 1);
    assert_eq!(v["benches"][0]["bench"], "BENCH-01");
    assert_eq!(v["not_exported"][0]["bench"], "BENCH-02");
    let (code, vout, _) = run(
        &env,
        &["verify", "--export", o("part.json").to_str().unwrap()],
    );
    assert_eq!(code, 1, "{vout}");
    assert!(vout.contains("OK: "), "{vout}");
    assert!(
        vout.contains("NOT IN THIS EXPORT: bench BENCH-02"),
        "{vout}"
    );
    server.stop().await;
}

#[test]
fn a_shop_wide_export_needs_a_token_and_a_folder_for_tables() {
    let env = Env {
        state: tempfile::tempdir().unwrap(),
        tmp: tempfile::tempdir().unwrap(),
    };
    let (code, _, err) = run(
        &env,
        &["export", "--hub", "http://127.0.0.1:9", "--format", "json"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("--hub needs a token"), "{err}");
    let (code, _, err) = run(
        &env,
        &[
            "export",
            "--hub",
            "http://127.0.0.1:9",
            "--hub-token",
            "t",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("give it with --out DIR"), "{err}");
    let (code, _, err) = run(
        &env,
        &[
            "export",
            "--hub",
            "http://127.0.0.1:9",
            "--hub-token",
            "t",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach the hub"), "{err}");
}

/// The lines of a backup: (header, record lines, sample lines sorted, end line).
fn backup_lines(text: &str) -> (String, Vec<String>, Vec<String>, String) {
    let lines: Vec<&str> = text.lines().collect();
    let records = lines
        .iter()
        .filter(|l| l.starts_with("{\"seq\":"))
        .map(|l| l.to_string())
        .collect();
    let mut samples: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("{\"sample\":"))
        .map(|l| l.to_string())
        .collect();
    samples.sort();
    (
        lines[0].to_string(),
        records,
        samples,
        lines.last().unwrap().to_string(),
    )
}

/// The hub serves each store as the bench's own `traveler backup` would write it:
/// the same header, every record line byte for byte, the same samples (each
/// attempt's in its own stream), the same end line. A step of records from before
/// attempts had samples of their own (attempt 0) completed twice, synced in between:
/// the hub holds both blocks and sends the later seal's, which covers the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hubs_copy_of_a_store_is_the_benchs_own_backup() {
    let Some(admin) = pg_admin_url() else { return };
    let db_url = hub_db(&admin).await;
    let server = start_hub(&db_url).await;
    let token = enrol(&db_url, "BENCH-01").await;
    let d = tempfile::tempdir().unwrap();
    let store = store_support::open(d.path());
    job(&store, "BENCH-01", "J-0001", "SN-1", t0());
    redone_job(&store, "BENCH-01", "J-0002");
    let day = t0() + Duration::days(4);
    store
        .append_at(day, "T1", started("J-OLD", "SN-O", "BENCH-01", 1))
        .unwrap();
    store.append_samples("J-OLD", 0, &samples(6, day)).unwrap();
    let d1 = store.samples_digest("J-OLD", 0).unwrap();
    store
        .append_at(day, "T1", completed("J-OLD", 0, d1.count, &d1.sha256))
        .unwrap();
    sync(&store, server.addr, &token, &db_url, 4).await;
    let later = day + Duration::minutes(30);
    store
        .append_samples("J-OLD", 0, &samples(4, later))
        .unwrap();
    let d2 = store.samples_digest("J-OLD", 0).unwrap();
    assert_eq!(d2.count, 10);
    store
        .append_at(later, "T1", completed("J-OLD", 0, d2.count, &d2.sha256))
        .unwrap();
    sync(&store, server.addr, &token, &db_url, 5).await;
    let id = store_id(&store);
    let mut own = Vec::new();
    store.backup(&mut own).unwrap();
    drop(store);

    let client =
        traveler::hub::client::HubClient::new(&format!("http://{}", server.addr), &token, None)
            .unwrap();
    let file = d.path().with_extension("hub-backup");
    let n = client.store_backup(&id, &file).await.unwrap();
    let hub = std::fs::read_to_string(&file).unwrap();
    assert_eq!(n as usize, hub.len());
    let own = String::from_utf8(own).unwrap();
    let (h_own, r_own, s_own, e_own) = backup_lines(&own);
    let (h_hub, r_hub, s_hub, e_hub) = backup_lines(&hub);
    assert_eq!(h_hub, h_own);
    assert_eq!(r_hub, r_own);
    assert_eq!(s_hub.len(), 12 + 12 + 10, "{s_hub:#?}");
    assert_eq!(s_hub, s_own);
    assert_eq!(e_hub, e_own);
    let _ = std::fs::remove_file(&file);

    // Another bench's token may not read it (the chain holds the PIN hashes).
    let other = enrol(&db_url, "BENCH-02").await;
    let e = traveler::hub::client::HubClient::new(&format!("http://{}", server.addr), &other, None)
        .unwrap()
        .store_backup(&id, &d.path().with_extension("y"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("belongs to bench BENCH-01, not BENCH-02"),
        "{e}"
    );

    // An unknown store is refused plainly.
    let e = client
        .store_backup("no-such-store", &d.path().with_extension("x"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the hub holds no store no-such-store"),
        "{e}"
    );
    server.stop().await;
}

/// A store whose records reached the hub but whose samples have not yet (the bench
/// sends them after the records), and one with a recorded fork (as `verify --hub`
/// says, FAILED), are named as not exported, with why; the other bench is exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_awaiting_samples_or_with_a_fork_are_named_not_exported() {
    let Some(admin) = pg_admin_url() else { return };
    let db_url = hub_db(&admin).await;
    let server = start_hub(&db_url).await;
    let t1 = enrol(&db_url, "BENCH-01").await;
    let pool = db::pool(&db_url).unwrap();
    enrol(&db_url, "BENCH-02").await;
    let desk = db::enrol(&pool, "QA-DESK", Kind::Desk, false)
        .await
        .unwrap();
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let s1 = store_support::open(d1.path());
    job(&s1, "BENCH-01", "J-0001", "SN-1", t0());
    sync(&s1, server.addr, &t1, &db_url, 1).await;
    // Bench 2's records arrive through the hub's checked ingest; its samples do not.
    let s2 = store_support::open(d2.path());
    job(&s2, "BENCH-02", "J-0002", "SN-2", t0());
    let id2 = store_id(&s2);
    let mut prev = traveler::store::GENESIS;
    let batch: Vec<_> = store_records(&s2)
        .into_iter()
        .map(|(seq, bytes)| {
            let hash = traveler::store::chain_hash(seq, &prev, &bytes);
            prev = hash;
            traveler::hub::wire::OfferedRecord { seq, hash, bytes }
        })
        .collect();
    let caller = db::Caller {
        bench: "BENCH-02".into(),
        kind: Kind::Bench,
    };
    db::ingest(&pool, &caller, &id2, &batch).await.unwrap();
    // Bench 3 later offered other bytes under a record the hub holds: a fork.
    enrol(&db_url, "BENCH-03").await;
    let d3 = tempfile::tempdir().unwrap();
    let s3 = store_support::open(d3.path());
    logins(&s3, "T3", 3);
    let id3 = store_id(&s3);
    let mut prev = traveler::store::GENESIS;
    let mut batch: Vec<_> = store_records(&s3)
        .into_iter()
        .map(|(seq, bytes)| {
            let hash = traveler::store::chain_hash(seq, &prev, &bytes);
            prev = hash;
            traveler::hub::wire::OfferedRecord { seq, hash, bytes }
        })
        .collect();
    let caller3 = db::Caller {
        bench: "BENCH-03".into(),
        kind: Kind::Bench,
    };
    db::ingest(&pool, &caller3, &id3, &batch).await.unwrap();
    let text = String::from_utf8(batch[1].bytes.clone()).unwrap();
    batch[1].bytes = text.replace("\"T3\"", "\"T4\"").into_bytes();
    let refused = db::ingest(&pool, &caller3, &id3, &batch[1..2]).await;
    assert!(
        matches!(
            refused,
            Err(traveler::hub::wire::Refusal::Fork { seq: 2, .. })
        ),
        "{refused:?}"
    );
    drop((s1, s2, s3));

    let env = Env {
        state: tempfile::tempdir().unwrap(),
        tmp: tempfile::tempdir().unwrap(),
    };
    let out = env.tmp.path().with_extension("json");
    let url = format!("http://{}", server.addr);
    let (code, _, err) = run(
        &env,
        &[
            "export",
            "--hub",
            &url,
            "--hub-token",
            &desk,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "NOT EXPORTED: bench BENCH-02 store {id2}: the samples of 1 sealed step(s) have not \
             reached the hub yet; export again after the bench's next sync"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "NOT EXPORTED: bench BENCH-03 store {id3}: a fork was offered at record 2"
        )),
        "{err}"
    );
    assert!(err.contains("INCOMPLETE: 2 store(s) not exported"), "{err}");
    let v = read_json(&out);
    assert_eq!(v["benches"][0]["bench"], "BENCH-01");
    assert_eq!(v["benches"].as_array().unwrap().len(), 1);
    assert_eq!(v["not_exported"][0]["store_id"], id2.as_str());
    let _ = std::fs::remove_file(&out);
    assert_eq!(files_in(env.tmp.path()), Vec::<PathBuf>::new());
    server.stop().await;
}
