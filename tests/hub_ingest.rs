//! The hub checks every record on arrival, against a real PostgreSQL and a real
//! service: replays are no-ops, tampering is a fork, history cannot be rewritten.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use hub_support::*;
use traveler::hub::client::{ClientError, HubClient};
use traveler::hub::db::{self, Kind};
use traveler::hub::wire::{Head, Hello, OfferedRecord, Refusal};
use traveler::store::Store;

fn offered(store: &Store) -> Vec<OfferedRecord> {
    store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            OfferedRecord {
                seq: r.record.seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect()
}

fn hello_of(store: &Store) -> Hello {
    let h = store.chain_head();
    Hello {
        store_bench: String::new(),
        head: Head {
            seq: h.seq,
            hash: h.hash_hex(),
        },
    }
}

fn refusal(e: ClientError) -> Refusal {
    match e {
        ClientError::Refused(r) => r,
        other => panic!("expected a refusal, got {other}"),
    }
}

/// A store with two finished jobs (lots, signatures, samples, reviews).
fn two_jobs(dir: &std::path::Path) -> Store {
    let store = store_support::open(dir);
    store_support::full_job(&store, "J1", "SN-1", "FLX-7788", store_support::t0());
    store_support::full_job(&store, "J2", "SN-2", "FLX-1", store_support::t0());
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arrive_verified_byte_for_byte_and_a_whole_replay_is_all_no_ops() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = two_jobs(dir.path());
    let id = store_id(&store);
    let client = HubClient::new(&format!("http://{}", hub.addr), &token, None).unwrap();
    let all = offered(&store);
    let n = all.len() as u64;

    let hello = client.hello(&id, &hello_of(&store)).await.unwrap();
    assert_eq!(hello.hub_head.seq, 0);
    assert_eq!(hello.bench, "BENCH-01");
    let first = client.push(&id, &all[..5]).await.unwrap();
    assert_eq!((first.appended, first.replayed), (5, 0));
    let rest = client.push(&id, &all[3..]).await.unwrap();
    assert_eq!((rest.appended, rest.replayed), (n - 5, 2));
    assert_eq!(rest.head.seq, n);
    assert_eq!(rest.head.hash, store.chain_head().hash_hex());

    // The whole chain again: every record a no-op, nothing added.
    let again = client.push(&id, &all).await.unwrap();
    assert_eq!((again.appended, again.replayed), (0, n));
    assert_eq!(hub_records(&url, &id).await, store_records(&store));

    // The decoded copy is there for queries, the hash recomputes in SQL.
    let c = sql(&url).await;
    let row = c
        .query_one(
            "SELECT count(*) FILTER (WHERE kind = 'lot_recorded' AND doc -> 'event' ->> 'lot' = 'FLX-7788'),
                    count(*) FILTER (WHERE hash = sha256(int8send(seq) || prev_hash || bytes))
             FROM hub_records WHERE store_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    assert_eq!(row.get::<_, i64>(1), n as i64);
    let verdicts = client.verify().await.unwrap();
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].fault, None);
    assert_eq!(verdicts[0].records, n);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_record_is_a_fork_refused_recorded_and_alarmed() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = two_jobs(dir.path());
    let id = store_id(&store);
    let client = HubClient::new(&format!("http://{}", hub.addr), &token, None).unwrap();
    let all = offered(&store);
    client.hello(&id, &hello_of(&store)).await.unwrap();
    client.push(&id, &all[..10]).await.unwrap();

    // Record 3 rewritten after the hub has it: a lot number changed, hash recomputed
    // as a forger would.
    let mut forged = all[2].clone();
    let text = String::from_utf8(forged.bytes.clone()).unwrap();
    assert!(text.contains("FLX-7788"), "{text}");
    forged.bytes = text.replace("FLX-7788", "FLX-0000").into_bytes();
    forged.hash = traveler::store::chain_hash(3, &all[1].hash, &forged.bytes);
    let r = refusal(client.push(&id, &[forged.clone()]).await.unwrap_err());
    assert!(matches!(r, Refusal::Fork { seq: 3, .. }), "{r}");

    // Recorded with the bytes offered; the store is marked; the hub kept its copy.
    let c = sql(&url).await;
    let alarm = c
        .query_one(
            "SELECT kind, seq, offered FROM hub_alarms WHERE store_id = $1 AND kind = 'fork'",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(alarm.get::<_, i64>(1), 3);
    assert_eq!(alarm.get::<_, Vec<u8>>(2), forged.bytes);
    let held = hub_records(&url, &id).await;
    assert_eq!(held.len(), 10);
    assert_eq!(held[2].1, all[2].bytes);
    // Even the genuine continuation is refused until someone looks at the fork.
    let r = refusal(client.push(&id, &all[10..]).await.unwrap_err());
    assert!(matches!(r, Refusal::Fork { .. }), "{r}");
    let verdicts = client.verify().await.unwrap();
    assert_eq!(verdicts[0].fork_seq, Some(3));

    // On the bench the sync task shows it.
    let mut rx = traveler::hub::sync::spawn_with(store.clone(), config(hub.addr, &token), fast());
    let s = wait_state(&mut rx, "fork", |s| s.is_alarm()).await;
    assert!(s.header_text().contains("FORK"), "{}", s.header_text());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_do_not_chain_are_refused_and_nothing_of_the_batch_is_kept() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = two_jobs(dir.path());
    let id = store_id(&store);
    let client = HubClient::new(&format!("http://{}", hub.addr), &token, None).unwrap();
    let all = offered(&store);
    client.hello(&id, &hello_of(&store)).await.unwrap();

    let mut bad_hash = all.clone();
    bad_hash[6].hash[0] ^= 0xff;
    let mut bad_bytes = all.clone();
    bad_bytes[6].bytes = String::from_utf8(bad_bytes[6].bytes.clone())
        .unwrap()
        .replace("T1", "T2")
        .into_bytes();
    let cases: Vec<(&str, Vec<OfferedRecord>, &str)> = vec![
        ("claimed hash wrong", bad_hash, "bad_hash"),
        ("bytes changed, hash kept", bad_bytes, "bad_hash"),
        ("a gap at the start", all[2..].to_vec(), "gap"),
    ];
    for (name, batch, kind) in cases {
        let r = refusal(client.push(&id, &batch).await.unwrap_err());
        assert_eq!(r.kind(), kind, "{name}: {r}");
        assert!(
            hub_records(&url, &id).await.is_empty(),
            "{name}: kept records"
        );
    }
    // Refusals are recorded.
    let n: i64 = sql(&url)
        .await
        .query_one(
            "SELECT count(*) FROM hub_alarms WHERE store_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_benches_claiming_one_store_id_the_second_is_refused() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let t1 = enrol(&url, "BENCH-01").await;
    let t2 = enrol(&url, "BENCH-02").await;
    let dir = tempfile::tempdir().unwrap();
    let store = two_jobs(dir.path());
    let id = store_id(&store);
    let base = format!("http://{}", hub.addr);
    let one = HubClient::new(&base, &t1, None).unwrap();
    let two = HubClient::new(&base, &t2, None).unwrap();
    one.hello(&id, &hello_of(&store)).await.unwrap();
    one.push(&id, &offered(&store)[..4]).await.unwrap();

    let r = refusal(two.hello(&id, &hello_of(&store)).await.unwrap_err());
    assert_eq!(
        r,
        Refusal::StoreClaimed {
            store_id: id.clone(),
            owner: "BENCH-01".into(),
            bench: "BENCH-02".into()
        }
    );
    let r = refusal(two.push(&id, &offered(&store)[4..]).await.unwrap_err());
    assert_eq!(r.kind(), "store_claimed");
    assert_eq!(hub_records(&url, &id).await.len(), 4);
    let kinds: Vec<String> = sql(&url)
        .await
        .query("SELECT kind FROM hub_alarms WHERE bench = 'BENCH-02'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds, ["store_claimed", "store_claimed"]);

    // Nor can it pass the chain off under another id: the first record names its store.
    let other = traveler::store::uuid_v4();
    two.hello(&other, &hello_of(&store)).await.unwrap();
    let r = refusal(two.push(&other, &offered(&store)).await.unwrap_err());
    assert_eq!(
        r,
        Refusal::StoreMismatch {
            store_id: other.clone(),
            record_says: id.clone()
        }
    );
    assert!(hub_records(&url, &other).await.is_empty());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_revoked_token_is_refused_and_a_desk_only_reads() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let pool = db::pool(&url).unwrap();
    let desk = db::enrol(&pool, "QA-DESK", Kind::Desk, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = two_jobs(dir.path());
    let id = store_id(&store);
    let base = format!("http://{}", hub.addr);

    let wrong = HubClient::new(&base, "tvh_0000", None).unwrap();
    let r = refusal(wrong.hello(&id, &hello_of(&store)).await.unwrap_err());
    assert_eq!(r, Refusal::UnknownToken);
    let r = refusal(wrong.verify().await.unwrap_err());
    assert_eq!(r, Refusal::UnknownToken);

    let d = HubClient::new(&base, &desk, None).unwrap();
    let r = refusal(d.hello(&id, &hello_of(&store)).await.unwrap_err());
    assert_eq!(r.kind(), "read_only");
    assert!(d.verify().await.unwrap().is_empty());

    let ok = HubClient::new(&base, &token, None).unwrap();
    ok.hello(&id, &hello_of(&store)).await.unwrap();
    db::revoke(&pool, "BENCH-01").await.unwrap();
    let r = refusal(ok.push(&id, &offered(&store)).await.unwrap_err());
    assert_eq!(
        r,
        Refusal::Revoked {
            bench: "BENCH-01".into()
        }
    );
    assert!(hub_records(&url, &id).await.is_empty());
    // The sync task shows the refusal instead of retrying as if offline.
    let mut rx = traveler::hub::sync::spawn_with(store.clone(), config(hub.addr, &token), fast());
    let s = wait_state(&mut rx, "refused", |s| s.is_alarm()).await;
    assert!(s.header_text().contains("revoked"), "{}", s.header_text());

    // A reissued token works again; the old one stays dead.
    let fresh = db::enrol(&pool, "BENCH-01", Kind::Bench, true)
        .await
        .unwrap();
    let again = HubClient::new(&base, &fresh, None).unwrap();
    again.hello(&id, &hello_of(&store)).await.unwrap();
    assert_eq!(
        refusal(ok.verify().await.unwrap_err()),
        Refusal::UnknownToken
    );
    assert!(matches!(
        db::enrol(&pool, "BENCH-01", Kind::Bench, false).await,
        Err(db::DbError::Enrolled(_))
    ));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_update_or_delete_history_and_the_database_checks_every_chain() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let hub = start_hub(&url).await;
    let token = enrol(&url, "BENCH-01").await;
    let dir = tempfile::tempdir().unwrap();
    let store = two_jobs(dir.path());
    let id = store_id(&store);
    let client = HubClient::new(&format!("http://{}", hub.addr), &token, None).unwrap();
    let all = offered(&store);
    client.hello(&id, &hello_of(&store)).await.unwrap();
    client.push(&id, &all).await.unwrap();
    hub.stop().await;

    // The owner (here a superuser): the triggers refuse.
    let owner = sql(&url).await;
    for stmt in [
        "UPDATE hub_records SET bytes = bytes WHERE seq = 3",
        "DELETE FROM hub_records WHERE seq = 3",
        "TRUNCATE hub_records CASCADE",
        "DELETE FROM hub_alarms",
        "DELETE FROM hub_samples",
    ] {
        let e = owner.batch_execute(stmt).await.unwrap_err();
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{stmt}: {e:?}"
        );
    }
    // A record inserted behind the service's back must still chain and hash.
    let last = all.last().unwrap();
    let bad = owner
        .execute(
            "INSERT INTO hub_records (store_id, seq, prev_hash, hash, bytes, doc)
             VALUES ($1, $2, $3, $3, $4, $5)",
            &[
                &id,
                &((last.seq + 1) as i64),
                &last.hash.as_slice(),
                &b"{}".as_slice(),
                &serde_json::json!({"seq": last.seq + 1, "prev_hash": hex::encode(last.hash)}),
            ],
        )
        .await
        .unwrap_err();
    assert!(format!("{bad:?}").contains("hub_records_hash"), "{bad:?}");
    let gap = owner
        .execute(
            "INSERT INTO hub_records (store_id, seq, prev_hash, hash, bytes, doc)
             SELECT $1, 99, p, sha256(int8send(99::int8) || p || '{}'::bytea),
                    '{}'::bytea, jsonb_build_object('seq', 99, 'prev_hash', encode(p, 'hex'))
             FROM (SELECT decode(repeat('11', 32), 'hex') AS p) x",
            &[&id],
        )
        .await
        .unwrap_err();
    assert!(format!("{gap:?}").contains("does not follow"), "{gap:?}");

    // The service's own role: granted read and append only.
    let role = format!("hub_svc_{}", rand::random::<u32>());
    owner
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .await
        .unwrap();
    traveler::hub::migrate::grant_service_role(&owner, &role)
        .await
        .unwrap();
    let (base, dbname) = url.rsplit_once('/').unwrap();
    let svc_url = format!(
        "{}/{dbname}",
        base.replace("postgres@", &format!("{role}@"))
    );
    let svc = sql(&svc_url).await;
    for stmt in [
        "UPDATE hub_records SET bytes = bytes",
        "DELETE FROM hub_records",
        "TRUNCATE hub_records",
        "UPDATE hub_alarms SET kind = 'x'",
    ] {
        let e = svc.batch_execute(stmt).await.unwrap_err();
        assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{stmt}: {e:?}"
        );
    }
    let n: i64 = svc
        .query_one("SELECT count(*) FROM hub_records", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, all.len() as i64);
    // The service runs as that role, and appends.
    let hub = start_hub(&svc_url).await;
    let mut rx = traveler::hub::sync::spawn_with(store.clone(), config(hub.addr, &token), fast());
    store_support::full_job(&store, "J3", "SN-3", "FLX-3", store_support::t0());
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced", |s| {
        *s == traveler::hub::SyncState::Synced { head }
    })
    .await;
    assert_eq!(hub_records(&url, &id).await, store_records(&store));
    hub.stop().await;
    owner
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_recorded_once_and_a_newer_schema_is_refused() {
    let Some(admin) = pg_admin_url() else { return };
    let url = fresh_db(&admin).await;
    let mut c = sql(&url).await;
    assert_eq!(traveler::hub::migrate::version(&c).await.unwrap(), 0);
    assert!(
        traveler::hub::server::Server::start(&url, "127.0.0.1:0".parse().unwrap(), None)
            .await
            .is_err()
    );
    let applied = traveler::hub::migrate::migrate(&mut c).await.unwrap();
    assert_eq!(
        applied,
        traveler::hub::migrate::MIGRATIONS
            .iter()
            .map(|m| m.0)
            .collect::<Vec<_>>()
    );
    assert!(
        traveler::hub::migrate::migrate(&mut c)
            .await
            .unwrap()
            .is_empty()
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM hub_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, traveler::hub::migrate::MIGRATIONS.len() as i64);
    c.batch_execute("INSERT INTO hub_schema (version, name) VALUES (99, 'future')")
        .await
        .unwrap();
    let e = traveler::hub::migrate::migrate(&mut c).await.unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
}
