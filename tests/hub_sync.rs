//! The bench's sync task against a real hub and a real PostgreSQL: the hub goes
//! away and comes back, the database is killed mid-batch, a store is restored from
//! an older backup, samples go up and are checked against their seals.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hub_support::*;
use traveler::hub::SyncState;
use traveler::hub::client::{ClientError, HubClient};
use traveler::hub::sync::{SyncOptions, spawn_with};
use traveler::hub::wire::{Refusal, SampleUpload, WireSample};
use traveler::store::{OpenOptions, Store};

fn synced(head: u64) -> impl Fn(&SyncState) -> bool {
    move |s| *s == SyncState::Synced { head }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_down_for_a_while_then_back_the_bench_catches_up_none_lost_none_twice() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let addr = hub.addr;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    store_support::full_job(&store, "J1", "SN-1", "L1", store_support::t0());
    let mut rx = spawn_with(store.clone(), config(addr, &token), fast());
    wait_state(&mut rx, "synced", synced(store.chain_head().seq)).await;

    hub.stop().await;
    // The shift goes on: every append returns at once, whatever the hub.
    logins(&store, "T1", 1);
    let s = wait_state(&mut rx, "offline", |s| {
        matches!(s, SyncState::Offline { .. })
    })
    .await;
    assert!(
        s.header_text().starts_with("hub: offline since"),
        "{}",
        s.header_text()
    );
    for i in 0..30 {
        store_support::full_job(&store, &format!("JD{i}"), "SN-2", "L2", store_support::t0());
    }
    let behind = wait_state(
        &mut rx,
        "offline with the new records counted",
        |s| matches!(s, SyncState::Offline { behind, .. } if *behind > 300),
    )
    .await;
    assert!(
        behind.header_text().contains("records behind"),
        "{}",
        behind.header_text()
    );

    let hub = start_hub_at(&url, addr).await;
    let head = store.chain_head().seq;
    wait_state(&mut rx, "caught up", synced(head)).await;
    let held = hub_records(&url, &store_id(&store)).await;
    assert_eq!(held.len() as u64, head, "none lost, none twice");
    assert_eq!(held, store_records(&store));
    hub.stop().await;
}

/// A PostgreSQL cluster of the test's own, on its own port, that the test kills.
struct OwnCluster {
    dir: PathBuf,
    port: u16,
}

impl OwnCluster {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-postgres.sh")
    }

    fn start(&self) -> String {
        let out = Command::new("bash")
            .arg(Self::script())
            .arg("start")
            .arg(&self.dir)
            .env("PORT", self.port.to_string())
            .output()
            .expect("run dev-postgres.sh");
        assert!(
            out.status.success(),
            "dev-postgres.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// SIGKILL to the postmaster and every backend: a crash, not a shutdown.
    fn kill(&self) {
        let pidfile = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap();
        let pm: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
        let mut pids = vec![pm];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...
            let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
            let ppid: i32 = after
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            if ppid == pm {
                pids.push(pid);
            }
        }
        for pid in pids {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        // Wait until the postmaster is gone, so the restart does not find it alive.
        for _ in 0..500 {
            if !Path::new(&format!("/proc/{pm}")).exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("postmaster {pm} survived SIGKILL");
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .arg(&self.dir)
            .env("PORT", self.port.to_string())
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_batch_nothing_half_written_and_the_bench_catches_up() {
    // Uses the shared server only to know PostgreSQL is meant to be here.
    let Some(_admin) = pg_admin_url() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cluster = OwnCluster {
        dir: tmp.path().join("pg"),
        port: free_port(),
    };
    let admin = cluster.start();
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    for _ in 0..4 {
        logins(&store, "T1", 5000);
    }
    let head = store.chain_head().seq;
    let opts = SyncOptions {
        batch_records: 20_000,
        batch_bytes: 64 * 1024 * 1024,
        ..fast()
    };
    let watcher = sql(&admin).await;
    let mut rx = spawn_with(store.clone(), config(hub.addr, &token), opts);
    // Synchronise on the database's own state: the batch's INSERT is running.
    let mut seen = false;
    for _ in 0..20_000 {
        let n: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE state = 'active' AND query LIKE 'INSERT INTO hub_records%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            seen = true;
            break;
        }
    }
    assert!(seen, "never saw the batch being inserted");
    cluster.kill();
    let s = wait_state(&mut rx, "offline", |s| {
        matches!(s, SyncState::Offline { .. })
    })
    .await;
    assert!(
        matches!(s, SyncState::Offline { behind, .. } if behind == head),
        "{s:?}"
    );

    cluster.start();
    wait_state(&mut rx, "caught up after the restart", synced(head)).await;
    let held = hub_records(&url, &store_id(&store)).await;
    assert_eq!(held.len() as u64, head);
    assert_eq!(held, store_records(&store));
    let client = HubClient::new(&format!("http://{}", hub.addr), &token, None).unwrap();
    let v = client.verify().await.unwrap();
    assert_eq!(v[0].fault, None);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_older_backup_is_reported_as_loss_not_accepted() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store_support::open(&tmp.path().join("store"));
    store_support::full_job(&store, "J1", "SN-1", "L1", store_support::t0());
    let backup = tmp.path().join("monday.jsonl");
    store.backup_to_file(&backup).unwrap();
    let old_head = store.chain_head().seq;
    store_support::full_job(&store, "J2", "SN-2", "L2", store_support::t0());
    let head = store.chain_head().seq;
    let id = store_id(&store);
    let mut rx = spawn_with(store.clone(), config(hub.addr, &token), fast());
    wait_state(&mut rx, "synced", synced(head)).await;
    drop(rx);
    drop(store);

    let file = std::io::BufReader::new(std::fs::File::open(&backup).unwrap());
    let (restored, _) =
        Store::restore(file, &tmp.path().join("restored"), OpenOptions::default()).unwrap();
    assert_eq!(store_id(&restored), id, "the same store, restored");
    let mut rx = spawn_with(restored.clone(), config(hub.addr, &token), fast());
    let s = wait_state(&mut rx, "loss", |s| matches!(s, SyncState::Loss { .. })).await;
    assert_eq!(
        s,
        SyncState::Loss {
            hub_seq: head,
            bench_seq: old_head
        }
    );
    assert!(s.header_text().contains("LOSS"), "{}", s.header_text());
    // Work goes on at the bench: its chain now differs from the hub's under the same
    // seqs, a fork; the hub accepts none of it over what it holds.
    logins(&restored, "T1", 3);
    let s = wait_state(&mut rx, "fork", |s| matches!(s, SyncState::Fork { .. })).await;
    assert!(s.is_alarm());
    let held = hub_records(&url, &id).await;
    assert_eq!(held.len() as u64, head);
    let alarms: i64 = sql(&url)
        .await
        .query_one(
            "SELECT count(*) FROM hub_alarms WHERE store_id = $1 AND kind = 'loss'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(alarms >= 1);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_go_up_after_their_seal_and_must_match_its_digest() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    store_support::full_job(&store, "J1", "SN-1", "L1", store_support::t0());
    let id = store_id(&store);
    let client = HubClient::new(&format!("http://{}", hub.addr), &token, None).unwrap();

    // Records first, by hand, so the samples can be offered wrong before right.
    let h = store.chain_head();
    client
        .hello(
            &id,
            &traveler::hub::wire::Hello {
                store_bench: String::new(),
                head: traveler::hub::wire::Head {
                    seq: h.seq,
                    hash: h.hash_hex(),
                },
            },
        )
        .await
        .unwrap();
    let all: Vec<_> = store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            traveler::hub::wire::OfferedRecord {
                seq: r.record.seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect();
    client.push(&id, &all).await.unwrap();
    let pending = client.pending_samples(&id).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.job.as_str(), p.step))
            .collect::<Vec<_>>(),
        [("J1", 0), ("J1", 1)]
    );
    let real: Vec<WireSample> = store
        .samples(
            "J1",
            traveler::domain::job::sample_stream(0, pending[0].attempt),
        )
        .map(|s| {
            let s = s.unwrap();
            WireSample {
                channel: s.channel,
                time: s.time,
                celsius: s.celsius,
            }
        })
        .collect();
    let mut wrong = real.clone();
    wrong[7].celsius += 0.25;
    let up = |samples: Vec<WireSample>| SampleUpload {
        seal_seq: pending[0].seal_seq,
        job: "J1".into(),
        step: 0,
        attempt: pending[0].attempt,
        samples,
    };
    for (name, samples) in [
        ("one reading changed", wrong),
        ("one reading missing", real[1..].to_vec()),
        ("out of order", {
            let mut r = real.clone();
            r.swap(2, 3);
            r
        }),
    ] {
        match client.upload_samples(&id, &up(samples)).await {
            Err(ClientError::Refused(Refusal::Samples { job, step, .. })) => {
                assert_eq!((job.as_str(), step), ("J1", 0), "{name}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    client.upload_samples(&id, &up(real.clone())).await.unwrap();
    client.upload_samples(&id, &up(real)).await.unwrap();

    // The sync task sends the rest.
    let mut rx = spawn_with(store.clone(), config(hub.addr, &token), fast());
    wait_state(&mut rx, "synced", synced(h.seq)).await;
    assert!(client.pending_samples(&id).await.unwrap().is_empty());
    let v = client.verify().await.unwrap();
    assert_eq!((v[0].samples_checked, v[0].fault.clone()), (2, None));
    hub.stop().await;
}
