//! The hub as a shop uses it: the real binary initialises the database, enrols two
//! benches and a desk, serves; two stores sync; the desk asks shop-wide questions.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hub_support::*;
use traveler::domain::event::Event;
use traveler::hub::SyncState;
use traveler::hub::sync::spawn_with;

fn traveler(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(args)
        .env_remove("TRAVELER_HUB_TOKEN")
        .env_remove("TRAVELER_HUB_DB")
        .output()
        .expect("run traveler");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

/// `traveler hub serve` on a free port; returns the process and its URL.
fn serve(db: &str) -> (Serve, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(["hub", "serve", "--db", db, "--listen", "127.0.0.1:0"])
        .env("TRAVELER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start traveler hub serve");
    let stdout = child.stdout.take().unwrap();
    let serve = Serve(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("hub listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (serve, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_benches_one_hub_shop_wide_answers_name_the_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let db = fresh_db(&admin).await;
    let (code, out, err) = traveler(&["hub", "init", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    let all: Vec<i32> = traveler::hub::migrate::MIGRATIONS
        .iter()
        .map(|m| m.0)
        .collect();
    assert!(
        out.contains(&format!("applied migration(s) {all:?}")),
        "{out}"
    );
    let (code, out, _) = traveler(&["hub", "init", "--db", &db]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            format!(
                "the hub schema is current (version {})",
                traveler::hub::migrate::current()
            )
            .as_str()
        )
    );

    let token = |name: &str, desk: bool| {
        let mut args = vec!["hub", "enrol", name, "--db", &db];
        if desk {
            args.push("--desk");
        }
        let (code, out, err) = traveler(&args);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(&format!(
                "enrolled {} {name}",
                if desk { "desk" } else { "bench" }
            )),
            "{err}"
        );
        out.trim().to_string()
    };
    let t1 = token("BENCH-01", false);
    let t2 = token("BENCH-02", false);
    let desk = token("QA-DESK", true);
    assert!(t1.starts_with("tvh_") && t1.len() == 68, "{t1}");
    let (code, _, err) = traveler(&["hub", "enrol", "BENCH-01", "--db", &db]);
    assert_eq!(code, 1);
    assert!(err.contains("already enrolled"), "{err}");

    let (_serve, url) = serve(&db);
    let addr = url.strip_prefix("http://").unwrap().parse().unwrap();

    // Board SN-1 was reworked at both benches with flux lot FLX-7788; the same job
    // id happens to exist at both.
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let s1 = store_support::open(d1.path());
    let s2 = store_support::open(d2.path());
    store_support::full_job(&s1, "J-0001", "SN-1", "FLX-7788", store_support::t0());
    let later = store_support::t0() + chrono::Duration::days(1);
    s2.append_at(
        later,
        "T2",
        store_support::started("J-0001", "SN-1", "T2", 1),
    )
    .unwrap();
    s2.append_at(later, "T2", store_support::lot("J-0001", 0, "FLX-7788"))
        .unwrap();
    s2.append_at(
        later,
        "T2",
        Event::JobSubmitted {
            job: "J-0001".into(),
        },
    )
    .unwrap();
    // Bench 1 runs the sync task as the application does; bench 2's store is closed
    // and sent by `traveler hub sync --once`.
    let mut r1 = spawn_with(s1.clone(), config(addr, &t1), fast());
    let (h1, h2) = (s1.chain_head().seq, s2.chain_head().seq);
    drop(s2);
    wait_state(&mut r1, "bench 1 synced", |s| {
        *s == SyncState::Synced { head: h1 }
    })
    .await;
    let d2s = d2.path().to_str().unwrap();
    let (code, out, err) = traveler(&[
        "hub", "sync", "--once", "--store", d2s, "--url", &url, "--token", &t2,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("the hub holds all {h2} records")),
        "{out}{err}"
    );
    let (code, _, err) = traveler(&[
        "hub", "sync", "--once", "--store", d2s, "--url", &url, "--token", &t1,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("belongs to bench BENCH-02, not BENCH-01"),
        "{err}"
    );

    let hub = ["--hub", url.as_str(), "--hub-token", desk.as_str()];
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend_from_slice(&hub);
        traveler(&a)
    };

    let (code, out, err) = run(&["where-used", "FLX-7788"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Lot FLX-7788: 3 use(s) on 1 board(s) at 2 bench(es)"),
        "{out}"
    );
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("J-0001")).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].starts_with("BENCH-01") && rows[2].starts_with("BENCH-02"),
        "{out}"
    );
    let (code, out, _) = run(&["where-used", "FLX-7788", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let benches: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bench"].as_str().unwrap())
        .collect();
    assert_eq!(benches, ["BENCH-01", "BENCH-01", "BENCH-02"]);
    assert_eq!(v[2]["status"], "submitted");

    let (code, out, err) = run(&["history", "SN-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Board SN-1: 2 job(s)"), "{out}");
    assert!(
        out.contains("U7       2  (BENCH-01:J-0001, BENCH-02:J-0001)"),
        "{out}"
    );
    let (code, out, _) = run(&["reviews"]);
    assert_eq!(code, 0);
    assert!(out.contains("1 job(s) waiting for review"), "{out}");
    assert!(out.contains("BENCH-02     J-0001  board SN-1"), "{out}");

    // The local comparison opens bench 1's store: its application (here the sync
    // task and the store handle) closes first.
    drop(r1);
    drop(s1);
    let (code, out, err) = run(&["verify", "--store", d1.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("OK BENCH-0")).count(),
        2,
        "{out}"
    );
    assert!(
        out.contains(&format!("agrees with the hub up to record {h1}")),
        "{out}"
    );

    // Without a token, or with a bad one: said plainly.
    let (code, _, err) = traveler(&["where-used", "FLX-7788", "--hub", &url]);
    assert_eq!(code, 1);
    assert!(err.contains("--hub needs a token"), "{err}");
    let (code, _, err) = traveler(&["reviews", "--hub", &url, "--hub-token", "tvh_nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("does not know this token"), "{err}");

    let (code, out, err) = traveler(&["hub", "status", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    let line = |b: &str| {
        out.lines()
            .find(|l| l.starts_with(b))
            .unwrap_or_else(|| panic!("{b}: {out}"))
            .to_string()
    };
    assert!(line("BENCH-01").contains(&format!(" {h1} ")), "{out}");
    // The refused `hub sync` with bench 1's token on bench 2's store.
    assert!(line("BENCH-01").ends_with("1, last store_claimed"), "{out}");
    assert!(line("BENCH-02").contains(&format!(" {h2} ")), "{out}");
    assert!(line("QA-DESK").contains("desk"), "{out}");
    let (code, _, err) = traveler(&["hub", "revoke", "BENCH-02", "--db", &db]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = traveler(&["hub", "status", "--db", &db]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("BENCH-02") && l.contains("(token revoked)")),
        "{out}"
    );
}

#[test]
fn an_unreachable_database_is_said_plainly() {
    let (code, _, err) = traveler(&[
        "hub",
        "status",
        "--db",
        "postgres://nobody@127.0.0.1:1/none",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach the hub database"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none");
    let args = [
        "hub",
        "sync",
        "--once",
        "--url",
        "http://127.0.0.1:1",
        "--token",
        "t",
    ];
    let (code, _, err) = traveler(&[&args[..], &["--store", none.to_str().unwrap()]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("there is no store at"), "{err}");
    assert!(!none.exists(), "sending a store never creates one");
    let (code, _, err) = traveler(&["hub", "init", "--db", "not a url"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a PostgreSQL URL"), "{err}");
}
