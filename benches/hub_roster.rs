//! How fast what the hub decides reaches the benches, printed (no asserts), against
//! the real PostgreSQL of `scripts/dev-postgres.sh` (TRAVELER_TEST_PG, or
//! TRAVELER_BENCH_PG), a real hub service on a loopback port and real bench sync
//! tasks with the production pacing (the hub's head asked every second):
//!
//! 1. a roster change at the hub (`traveler people update --hub`) until every bench's
//!    roster shows it, p50/p99 over all benches and changes;
//! 2. a decision at the hub on a bench's submission (`traveler review --hub`) until
//!    that bench's job shows it, p50/p99;
//! 3. beside them, in the same run, one `GET /v1/hub/head` round trip (the question
//!    each bench asks every second), p50/p99: the floor under both.
//!
//! Goal: ≤ 2 s p99 when online. `cargo bench --bench hub_roster`. Sizes:
//! TRAVELER_BENCH_ROSTER_BENCHES (5), TRAVELER_BENCH_ROSTER_CHANGES (20).

mod support;
use support::{fresh_db, pct};

#[path = "../tests/store_support/mod.rs"]
mod store_support;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use traveler::domain::event::Event;
use traveler::domain::types::{CheckResult, Decision, Meaning};
use traveler::hub::HubConfig;
use traveler::hub::client::HubClient;
use traveler::hub::db::{self, Kind};
use traveler::hub::people::{ChangeRequest, RosterChange};
use traveler::hub::review::{ReviewRequest, send};
use traveler::hub::server::Server;
use traveler::hub::sync::{SyncOptions, spawn_with};
use traveler::store::{OpenOptions, Store};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn report(what: &str, mut xs: Vec<Duration>) {
    xs.sort();
    println!(
        "{what:<58} n={:<4} p50 {:>8}  p99 {:>8}  max {:>8}",
        xs.len(),
        ms(pct(&xs, 0.5)),
        ms(pct(&xs, 0.99)),
        ms(*xs.last().unwrap())
    );
}

fn open(dir: &Path) -> Store {
    Store::open(dir, OpenOptions::default()).unwrap()
}

/// A one-step job by T100 inspected by I300, submitted; returns (seq, hash).
fn submit(store: &Store, job: &str) -> (u64, String) {
    let t = Utc::now();
    let mut inspected = store_support::signed(job, 0, 1, "I300", CheckResult::Confirmed);
    if let Event::CheckpointSigned { meaning, .. } = &mut inspected {
        *meaning = Meaning::Inspected;
    }
    let events = [
        (
            "T100",
            store_support::started(job, &format!("SN-{job}"), "T100", 1),
        ),
        (
            "T100",
            Event::StepStarted {
                job: job.into(),
                step: 0,
            },
        ),
        (
            "T100",
            store_support::signed(job, 0, 0, "T100", CheckResult::Pass),
        ),
        ("I300", inspected),
        ("T100", store_support::completed(job, 0, 0, "00")),
        ("T100", Event::JobSubmitted { job: job.into() }),
    ];
    for (actor, e) in events {
        store.append_at(t, actor, e).unwrap();
    }
    let h = store.chain_head();
    (h.seq, h.hash_hex())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(admin) = std::env::var("TRAVELER_BENCH_PG")
        .or_else(|_| std::env::var("TRAVELER_TEST_PG"))
        .ok()
    else {
        println!(
            "hub_roster bench: set TRAVELER_TEST_PG (scripts/dev-postgres.sh start prints it)"
        );
        return;
    };
    let n_benches = size("TRAVELER_BENCH_ROSTER_BENCHES", 5).max(1);
    let n_changes = size("TRAVELER_BENCH_ROSTER_CHANGES", 20).max(1);
    let tmp = tempfile::tempdir().unwrap();
    let instructions = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    let policy = traveler::instruction::load_dir(&instructions)
        .library
        .policy
        .unwrap();
    let url = fresh_db(&admin, "hub_bench_roster").await;
    let hub = Server::start_with(
        &url,
        "127.0.0.1:0".parse().unwrap(),
        None,
        Some(policy.clone()),
    )
    .await
    .unwrap();
    let pool = db::pool(&url).unwrap();
    // The demo roster, imported into the hub once.
    let origin = open(&tmp.path().join("origin"));
    traveler::demo::seed(&origin, &policy, Utc::now().date_naive()).unwrap();
    traveler::hub::roster::import(&pool, &origin, Utc::now())
        .await
        .unwrap();
    let base = format!("http://{}", hub.addr);
    let mut benches = Vec::new();
    for i in 0..n_benches {
        let name = format!("BENCH-{i:02}");
        let token = db::enrol(&pool, &name, Kind::Bench, false).await.unwrap();
        let store = open(&tmp.path().join(&name));
        let rx = spawn_with(
            store.clone(),
            HubConfig {
                url: base.clone(),
                token: token.clone(),
                ca_cert: None,
            },
            SyncOptions::default(),
        );
        benches.push((store, rx, token));
    }
    let desk_token = db::enrol(&pool, "DESK", Kind::Desk, false).await.unwrap();
    let desk = HubClient::new(&base, &desk_token, None).unwrap();
    let name_of = |s: &Store| {
        traveler::people::auth::roster(s)
            .ok()
            .and_then(|r| r.get("T100").map(|p| p.name.clone()))
    };
    // Every bench has the roster before the clock starts.
    for (s, _, _) in &benches {
        while name_of(s).is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // 1. Roster changes.
    let mut seen = Vec::new();
    for k in 0..n_changes {
        let name = format!("Tom Hundred {k}");
        let req = ChangeRequest {
            admin: Some("A900".into()),
            pin: "9999".into(),
            change: RosterChange::Update {
                badge: "T100".into(),
                name: Some(name.clone()),
                roles: None,
                skill: None,
            },
        };
        desk.roster_change(&req).await.unwrap();
        let start = Instant::now();
        let mut waiting: Vec<usize> = (0..benches.len()).collect();
        while !waiting.is_empty() {
            waiting.retain(|&i| {
                if name_of(&benches[i].0).as_deref() == Some(name.as_str()) {
                    seen.push(start.elapsed());
                    false
                } else {
                    true
                }
            });
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    report(
        &format!("roster change at the hub → on every bench ({n_benches} benches)"),
        seen,
    );

    // 2. Decisions on bench 0's submissions.
    let (store0, _, token0) = &benches[0];
    let store_id = store0.identity().store_id.clone();
    let mut decided = Vec::new();
    for k in 0..n_changes {
        let job = format!("J-{k}");
        let (seq, hash) = submit(store0, &job);
        // The hub holds the submission before the desk decides.
        let at_hub = HubClient::new(&base, token0, None).unwrap();
        loop {
            let jobs = at_hub.jobs(("submitted", "true")).await.unwrap();
            if jobs.iter().any(|j| j.job == job) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let req = ReviewRequest {
            store_id: store_id.clone(),
            job: job.clone(),
            submitted_seq: seq,
            submitted_hash: hash,
            decision: Decision::Rejected,
            comment: "redo the fillet".into(),
            badge: "S500".into(),
            pin: "5555".into(),
        };
        send(&base, &desk_token, None, &req).await.unwrap();
        let start = Instant::now();
        loop {
            let status = store0.job(&job).unwrap().map(|j| j.status);
            if status == Some(traveler::domain::job::JobStatus::Rejected) {
                decided.push(start.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    report("decision at the hub → on the bench's job list", decided);

    // 3. The floor: one head question.
    let asker = HubClient::new(&base, &benches[0].2, None).unwrap();
    let mut heads = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        asker.hub_head().await.unwrap();
        heads.push(t.elapsed());
    }
    report("baseline: one GET /v1/hub/head round trip", heads);
    println!("(benches ask the head every 1 s: visibility ≈ poll wait + one round)");
    drop(benches);
    hub.stop().await;
}
