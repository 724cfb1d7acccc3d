//! `traveler verify --hub` compares every chain the hub holds with the head its bench
//! last reported (on every contact, also with nothing to send): agrees, lag, or loss
//! on the bench. Real PostgreSQL, real hub service, the real binary.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::process::Command;

use hub_support::*;
use traveler::hub::client::HubClient;
use traveler::hub::sync::spawn_with;
use traveler::hub::wire::{Head, Hello};

fn verify_hub(url: &str, token: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(["verify", "--hub", url, "--hub-token", token])
        .env_remove("TRAVELER_HUB_TOKEN")
        .output()
        .expect("run traveler");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_hub_names_each_bench_head_agreeing_lagging_or_lost() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let hub = start_hub(&db).await;
    let url = format!("http://{}", hub.addr);
    let token = enrol(&db, "BENCH-V").await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store_support::open(&tmp.path().join("store"));
    logins(&store, "T1", 12);
    let head = store.chain_head();
    let id = store_id(&store);

    // Synced, then idle: the keep-alive contacts (nothing to send) report the head.
    let mut rx = spawn_with(store.clone(), config(hub.addr, &token), fast());
    wait_state(
        &mut rx,
        "synced",
        |s| matches!(s, traveler::hub::SyncState::Synced { head: h } if *h == head.seq),
    )
    .await;
    let reported_at = |db: String| async move {
        sql(&db)
            .await
            .query_one(
                "SELECT bench_head_seq, bench_head_at FROM hub_stores WHERE store_id = $1",
                &[&id_of(&db).await],
            )
            .await
            .unwrap()
            .get::<_, chrono::DateTime<chrono::Utc>>(1)
    };
    let first = reported_at(db.clone()).await;
    // A later contact with nothing to send moves the time the head was reported.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reported_at(db.clone()).await == first {
        assert!(
            std::time::Instant::now() < deadline,
            "no keep-alive contact"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(rx);

    let (code, out, err) = verify_hub(&url, &token);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "BENCH-V store {id}: agrees with bench head seq {} reported at ",
            head.seq
        )),
        "{out}"
    );

    // The bench has appended three records the hub has not received (its push did
    // not get through): a lag, not a fault.
    logins(&store, "T1", 3);
    let later = store.chain_head();
    let client = HubClient::new(&url, &token, None).unwrap();
    let ident = traveler::hub::identity::of(&store).unwrap().unwrap();
    let hello = |h: traveler::store::ChainHead| Hello {
        store_bench: ident.bench.clone(),
        head: Head {
            seq: h.seq,
            hash: h.hash_hex(),
        },
    };
    client.hello(&id, &hello(later)).await.unwrap();
    let (code, out, _) = verify_hub(&url, &token);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "bench reports head {} but hub holds {} (lag: 3 record(s) not received yet",
            later.seq, head.seq
        )),
        "{out}"
    );

    // The bench's store was restored from an older backup: it ends at record 5,
    // the hub holds 12. Reported as loss on the bench, and verify fails.
    let rec5 = store.stored_record(5).unwrap().unwrap();
    let older = traveler::store::ChainHead {
        seq: 5,
        hash: rec5.hash,
    };
    assert!(client.hello(&id, &hello(older)).await.is_err());
    let (code, out, _) = verify_hub(&url, &token);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "FAILED BENCH-V store {id}: bench reports head 5 but hub holds {} (loss on bench: records 6 to {} are no longer in its store",
            head.seq, head.seq
        )),
        "{out}"
    );
    hub.stop().await;
}

/// The one store in the hub's database (this test's database holds one).
async fn id_of(db: &str) -> String {
    sql(db)
        .await
        .query_one("SELECT store_id FROM hub_stores", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_forks_lists_each_recorded_fork_with_both_hashes() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let hub = start_hub(&db).await;
    let url = format!("http://{}", hub.addr);
    let token = enrol(&db, "BENCH-F").await;
    let forks = || {
        let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
            .args(["hub", "forks", "--db", &db])
            .env_remove("TRAVELER_HUB_DB")
            .output()
            .expect("run traveler");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(forks(), (0, "no fork recorded\n".to_string()));

    let tmp = tempfile::tempdir().unwrap();
    let store = store_support::open(&tmp.path().join("store"));
    logins(&store, "T1", 6);
    let id = store_id(&store);
    let client = HubClient::new(&url, &token, None).unwrap();
    let ident = traveler::hub::identity::of(&store).unwrap().unwrap();
    let h = store.chain_head();
    client
        .hello(
            &id,
            &Hello {
                store_bench: ident.bench.clone(),
                head: Head {
                    seq: h.seq,
                    hash: h.hash_hex(),
                },
            },
        )
        .await
        .unwrap();
    let offered: Vec<traveler::hub::wire::OfferedRecord> = (1..=h.seq)
        .map(|seq| {
            let r = store.stored_record(seq).unwrap().unwrap();
            traveler::hub::wire::OfferedRecord {
                seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect();
    client.push(&id, &offered).await.unwrap();

    // Record 4 rewritten as a forger would (hash recomputed): refused, recorded.
    let mut forged = offered[3].clone();
    let text = String::from_utf8(forged.bytes.clone()).unwrap();
    forged.bytes = text.replace("\"T1\"", "\"T9\"").into_bytes();
    assert_ne!(forged.bytes, offered[3].bytes);
    forged.hash = traveler::store::chain_hash(4, &offered[2].hash, &forged.bytes);
    assert!(client.push(&id, &[forged.clone()]).await.is_err());
    // A later contact is refused as well, pointing back at it: not a second fork.
    assert!(client.push(&id, &[forged.clone()]).await.is_err());

    let (code, out) = forks();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    use sha2::Digest;
    let sha = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
    let line = out.lines().next().unwrap();
    assert!(
        line.contains(&format!(
            "BENCH-F store {id} record 4: hub holds bytes SHA-256 {} (chain hash {}), bench offered bytes SHA-256 {}",
            sha(&offered[3].bytes),
            hex::encode(offered[3].hash),
            sha(&forged.bytes)
        )),
        "{out}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_at_schema_1_upgrades_and_keeps_when_benches_last_reported() {
    let Some(admin) = pg_admin_url() else { return };
    let url = fresh_db(&admin).await;
    let mut c = sql(&url).await;
    // A hub database as the first release left it, with one store that reported.
    let (version, name, first) = traveler::hub::migrate::MIGRATIONS[0];
    c.batch_execute(&format!(
        "CREATE TABLE hub_schema (version integer PRIMARY KEY, name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now());
         {first}
         INSERT INTO hub_schema (version, name) VALUES ({version}, '{name}');
         INSERT INTO hub_benches (bench, kind, token_hash) VALUES ('B1', 'bench', '\\x01');
         INSERT INTO hub_stores (store_id, bench, bench_head_seq, bench_head_hash, last_contact)
            VALUES ('S1', 'B1', 4, '\\x02', '2025-01-02 03:04:05+00');"
    ))
    .await
    .unwrap();
    assert_eq!(
        traveler::hub::migrate::migrate(&mut c).await.unwrap(),
        traveler::hub::migrate::MIGRATIONS[1..]
            .iter()
            .map(|m| m.0)
            .collect::<Vec<_>>()
    );
    let at: chrono::DateTime<chrono::Utc> = c
        .query_one(
            "SELECT bench_head_at FROM hub_stores WHERE store_id = 'S1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(at.to_rfc3339(), "2025-01-02T03:04:05+00:00");
}
