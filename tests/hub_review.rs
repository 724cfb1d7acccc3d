//! Reviews at the hub against a real PostgreSQL and a real hub service: a bench's
//! roster imported once into the hub's own chain, submissions synced by the bench's
//! real sync task, decisions by badge and PIN through HTTP (and the real binary),
//! decided by the bench's rules and recorded in the hub chain by reference.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{Duration, Utc};
use hub_support::*;
use traveler::domain::event::{Event, RosterConflictReason};
use traveler::domain::policy::Policy;
use traveler::domain::types::{CheckResult, Decision, Meaning};
use traveler::hub::SyncState;
use traveler::hub::review::{ReviewRefusal, ReviewReply, ReviewRequest, SendError, send};
use traveler::hub::server::Server;
use traveler::hub::sync::spawn_with;
use traveler::store::Store;

fn policy() -> Policy {
    traveler::instruction::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"))
        .library
        .policy
        .expect("the shipped policy loads")
}

/// A bench store with the demo roster (T100 technician, I300 inspector, S400
/// supervisor+inspector, S500 supervisor).
fn bench_store(dir: &Path) -> Store {
    let store = store_support::open(dir);
    traveler::demo::seed(&store, &policy(), Utc::now().date_naive()).unwrap();
    store
}

/// A one-step job performed by T100, its checkpoint inspected by `inspector`, then
/// submitted; returns the submission's (seq, hash).
fn submitted_job(store: &Store, job: &str, inspector: &str) -> (u64, String) {
    submitted_job_with(store, job, inspector, CheckResult::Pass)
}

fn submitted_job_with(
    store: &Store,
    job: &str,
    inspector: &str,
    first: CheckResult,
) -> (u64, String) {
    let t = Utc::now();
    store
        .append_at(t, "T100", store_support::started(job, "SN-9", "T100", 1))
        .unwrap();
    store
        .append_at(
            t,
            "T100",
            Event::StepStarted {
                job: job.into(),
                step: 0,
            },
        )
        .unwrap();
    store
        .append_at(t, "T100", store_support::signed(job, 0, 0, "T100", first))
        .unwrap();
    let mut inspected = store_support::signed(job, 0, 1, inspector, CheckResult::Confirmed);
    if let Event::CheckpointSigned { meaning, .. } = &mut inspected {
        *meaning = Meaning::Inspected;
    }
    store.append_at(t, inspector, inspected).unwrap();
    store
        .append_at(t, "T100", store_support::completed(job, 0, 0, "00"))
        .unwrap();
    submit(store, job)
}

fn submit(store: &Store, job: &str) -> (u64, String) {
    store
        .append_at(Utc::now(), "T100", Event::JobSubmitted { job: job.into() })
        .unwrap();
    let head = store.chain_head();
    (head.seq, head.hash_hex())
}

struct Shop {
    url: String,
    hub: Server,
    token: String,
}

impl Shop {
    fn base(&self) -> String {
        format!("http://{}", self.hub.addr)
    }
}

async fn shop(admin: &str) -> Shop {
    let url = hub_db(admin).await;
    let hub = Server::start_with(&url, "127.0.0.1:0".parse().unwrap(), None, Some(policy()))
        .await
        .expect("start the hub");
    let token = enrol(&url, "BENCH-A").await;
    Shop { url, hub, token }
}

/// The hub holds the chain up to `head` at least: a bench that follows the hub's
/// roster grows its chain with copies of the hub's records as it syncs.
fn synced_past(s: &SyncState, head: u64) -> bool {
    matches!(s, SyncState::Synced { head: h } if *h >= head)
}

/// Starts the bench's sync task and waits until the hub holds the whole chain.
async fn sync(shop: &Shop, store: &Store) {
    let head = store.chain_head().seq;
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &shop.token), fast());
    wait_state(&mut rx, "synced", |s| synced_past(s, head)).await;
}

async fn import(shop: &Shop, store: &Store) {
    let pool = traveler::hub::db::pool(&shop.url).unwrap();
    traveler::hub::roster::import(&pool, store, Utc::now())
        .await
        .expect("import the roster");
}

fn request(store: &Store, job: &str, sub: &(u64, String), badge: &str, pin: &str) -> ReviewRequest {
    ReviewRequest {
        store_id: store_id(store),
        job: job.into(),
        submitted_seq: sub.0,
        submitted_hash: sub.1.clone(),
        decision: Decision::Approved,
        comment: "record complete".into(),
        badge: badge.into(),
        pin: pin.into(),
    }
}

async fn ask(shop: &Shop, req: &ReviewRequest) -> Result<ReviewReply, ReviewRefusal> {
    match send(&shop.base(), &shop.token, None, req).await {
        Ok(r) => Ok(r),
        Err(SendError::Refused(r)) => Err(r),
        Err(e) => panic!("the hub did not answer: {e}"),
    }
}

async fn hub_chain_kinds(url: &str) -> Vec<String> {
    sql(url)
        .await
        .query("SELECT kind FROM hub_chain ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn traveler(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args(args)
        .env_remove("TRAVELER_HUB_TOKEN")
        .env_remove("TRAVELER_HUB_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run traveler");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_at_bench_a_is_approved_through_the_hub_and_recorded_by_reference() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let sub = submitted_job(&store, "JA-1", "I300");
    submitted_job_with(&store, "JA-1F", "I300", CheckResult::Fail);
    sync(&shop, &store).await;
    let sid = store_id(&store);
    drop(store); // the binary opens the store itself, as at a closed bench

    let store_dir = dir.path().to_str().unwrap();
    let (code, out, err) = traveler(
        &[
            "hub", "roster", "import", "--db", &shop.url, "--store", store_dir,
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("imported "), "{out}");
    assert!(out.contains("S400"), "{out}");

    // The queue across the shop: bench, age, deviations.
    let queue = |want: &str| {
        let (code, out, err) = traveler(
            &["reviews", "--hub", &shop.base(), "--hub-token", &shop.token],
            "",
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(want), "{want}: {out}");
        out
    };
    let out = queue("2 job(s) waiting for review");
    let line = |job: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {job}  board")))
            .unwrap_or_else(|| panic!("{job}: {out}"))
            .to_string()
    };
    assert!(line("JA-1").contains("BENCH-A"), "{out}");
    assert!(line("JA-1").contains(" min  deviations"), "{out}");
    assert!(line("JA-1").contains("deviations: none"), "{out}");
    assert!(
        line("JA-1F").contains("deviations: 1 measurement out of limits"),
        "{out}"
    );

    let (code, out, err) = traveler(
        &[
            "review",
            "--hub",
            &shop.base(),
            "--hub-token",
            &shop.token,
            "JA-1",
            "--approve",
            "--comment",
            "record complete",
            "--by",
            "S400",
            "--pin-stdin",
        ],
        "4444\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("job JA-1 of BENCH-A approved by"), "{out}");
    assert!(out.contains(&format!("(record {})", sub.0)), "{out}");
    // Decided at the hub: out of the queue at once, before the bench mirrors it.
    let out = queue("1 job(s) waiting for review");
    assert!(!out.contains(" JA-1  board"), "{out}");

    // The decision is in the hub chain, naming the exact submission it decides.
    let c = sql(&shop.url).await;
    let row = c
        .query_one(
            "SELECT seq, hash, doc FROM hub_chain WHERE kind = 'review_decided'",
            &[],
        )
        .await
        .unwrap();
    let doc: serde_json::Value = row.get(2);
    assert_eq!(doc["actor"], "S400");
    let e = &doc["event"];
    assert_eq!(e["store_id"], sid.as_str());
    assert_eq!(e["bench"], "BENCH-A");
    assert_eq!(e["job"], "JA-1");
    assert_eq!(e["submitted_seq"], sub.0);
    assert_eq!(e["submitted_hash"], sub.1.as_str());
    assert_eq!(e["decision"], "approved");
    assert_eq!(e["reviewer"], "S400");
    // The whole hub chain holds: every hash from its bytes, every link.
    let head = traveler::hub::chain::verify(&c)
        .await
        .expect("the hub chain verifies");
    assert_eq!(head.seq, row.get::<_, i64>(0) as u64);
    assert_eq!(head.hash.to_vec(), row.get::<_, Vec<u8>>(1));
    // History at the hub is never rewritten, not even by the database owner.
    for sql in [
        "UPDATE hub_chain SET doc = '{}' WHERE seq = 1",
        "DELETE FROM hub_chain",
        "TRUNCATE hub_chain",
    ] {
        let e = c.batch_execute(sql).await.unwrap_err();
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{sql}: {e:?}"
        );
    }
    shop.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_performer_and_the_inspector_of_a_job_may_not_review_it_at_the_hub() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    // S400 is a supervisor and inspected this job.
    let sub = submitted_job(&store, "JA-2", "S400");
    sync(&shop, &store).await;
    import(&shop, &store).await;
    let before = hub_chain_kinds(&shop.url).await;
    for (badge, pin) in [("S400", "4444"), ("T100", "1111")] {
        let r = ask(&shop, &request(&store, "JA-2", &sub, badge, pin))
            .await
            .unwrap_err();
        match &r {
            ReviewRefusal::Rules { rejection, .. } => assert_eq!(
                rejection["NotAllowed"]["refusal"], "OwnWork",
                "{badge}: {rejection}"
            ),
            other => panic!("{badge}: {other:?}"),
        }
    }
    // A supervisor without the role refused too: I300 is no supervisor.
    let r = ask(&shop, &request(&store, "JA-2", &sub, "I300", "3333"))
        .await
        .unwrap_err();
    assert!(
        matches!(&r, ReviewRefusal::Rules { rejection, .. } if rejection["NotAllowed"]["refusal"].get("RoleMissing").is_some()),
        "{r:?}"
    );
    assert_eq!(hub_chain_kinds(&shop.url).await, before, "nothing recorded");
    // Someone else may.
    let ok = ask(&shop, &request(&store, "JA-2", &sub, "S500", "5555"))
        .await
        .unwrap();
    assert_eq!(ok.reviewer, "S500");
    shop.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_the_hub_has_not_received_is_refused() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    import(&shop, &store).await;
    // A store the hub never heard of.
    let sub = submitted_job(&store, "JA-3", "I300");
    let r = ask(&shop, &request(&store, "JA-3", &sub, "S500", "5555"))
        .await
        .unwrap_err();
    assert_eq!(
        r,
        ReviewRefusal::NotReceived {
            store_id: store_id(&store),
            seq: sub.0
        }
    );
    sync(&shop, &store).await;
    // The bench resubmits after the hub's copy ends (no sync task runs now).
    store
        .append_at(
            Utc::now(),
            "S500",
            Event::JobReviewed {
                job: "JA-3".into(),
                decision: Decision::Rejected,
                reviewer: "S500".into(),
                reviewer_name: "x".into(),
                comment: "redo".into(),
            },
        )
        .unwrap();
    let again = submit(&store, "JA-3");
    let r = ask(&shop, &request(&store, "JA-3", &again, "S500", "5555"))
        .await
        .unwrap_err();
    assert!(
        matches!(r, ReviewRefusal::NotReceived { seq, .. } if seq == again.0),
        "{r:?}"
    );
    // A hash that is not the record the hub holds.
    let wrong = (sub.0, "00".repeat(32));
    let r = ask(&shop, &request(&store, "JA-3", &wrong, "S500", "5555"))
        .await
        .unwrap_err();
    assert!(matches!(r, ReviewRefusal::OtherRecord { .. }), "{r:?}");
    assert!(
        !hub_chain_kinds(&shop.url)
            .await
            .contains(&"review_decided".to_string())
    );
    shop.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_decision_on_one_submission_is_refused_also_after_a_review_at_the_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let sub = submitted_job(&store, "JA-4", "I300");
    let local = submitted_job(&store, "JA-5", "I300");
    // JA-5 is reviewed at the bench itself before the hub hears of it.
    store
        .append_at(
            Utc::now(),
            "S400",
            Event::JobReviewed {
                job: "JA-5".into(),
                decision: Decision::Approved,
                reviewer: "S400".into(),
                reviewer_name: "Sam".into(),
                comment: "ok at the bench".into(),
            },
        )
        .unwrap();
    let local_review = store.chain_head().seq;
    sync(&shop, &store).await;
    import(&shop, &store).await;

    let first = ask(&shop, &request(&store, "JA-4", &sub, "S400", "4444"))
        .await
        .unwrap();
    let mut reject = request(&store, "JA-4", &sub, "S500", "5555");
    reject.decision = Decision::Rejected;
    let r = ask(&shop, &reject).await.unwrap_err();
    assert_eq!(
        r,
        ReviewRefusal::DecidedAtHub {
            job: "JA-4".into(),
            hub_seq: first.hub_seq,
            decision: Decision::Approved,
            reviewer: "S400".into()
        }
    );
    let r = ask(&shop, &request(&store, "JA-5", &local, "S500", "5555"))
        .await
        .unwrap_err();
    assert_eq!(
        r,
        ReviewRefusal::ReviewedAtBench {
            job: "JA-5".into(),
            seq: local_review,
            decision: Decision::Approved,
            reviewer: "S400".into()
        }
    );
    let decided = hub_chain_kinds(&shop.url)
        .await
        .iter()
        .filter(|k| *k == "review_decided")
        .count();
    assert_eq!(decided, 1);
    // The database refuses a second decision even if a service did not check.
    let c = sql(&shop.url).await;
    let row = c
        .query_one(
            "SELECT bytes FROM hub_chain WHERE kind = 'review_decided'",
            &[],
        )
        .await
        .unwrap();
    let dup: Vec<u8> = row.get(0);
    let head = traveler::hub::chain::verify(&c).await.unwrap();
    let mut rec = traveler::store::wire::decode(head.seq, &dup)
        .unwrap()
        .record;
    rec.seq = head.seq + 1;
    rec.prev_hash = head.hash_hex();
    let bytes = traveler::store::canonical_bytes(&rec, None).unwrap();
    let hash = traveler::store::chain_hash(rec.seq, &head.hash, &bytes);
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let e = c
        .execute(
            "INSERT INTO hub_chain (seq, prev_hash, hash, bytes, doc) VALUES ($1, $2, $3, $4, $5)",
            &[
                &(rec.seq as i64),
                &head.hash.as_slice(),
                &hash.as_slice(),
                &bytes,
                &doc,
            ],
        )
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("hub_chain_one_decision"), "{e:?}");
    shop.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pins_at_the_hub_lock_the_badge_there_by_the_policys_lockout() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let sub = submitted_job(&store, "JA-6", "I300");
    sync(&shop, &store).await;
    import(&shop, &store).await;
    let max = policy().max_failed_pins;
    let before = Utc::now();
    for n in 1..=max {
        let r = ask(&shop, &request(&store, "JA-6", &sub, "S500", "0000"))
            .await
            .unwrap_err();
        match r {
            ReviewRefusal::Pin {
                failures,
                locked_until,
                ..
            } => {
                assert_eq!(failures, Some(n));
                assert_eq!(locked_until.is_some(), n == max, "after {n}");
                if let Some(u) = locked_until {
                    let minutes = i64::from(policy().lockout_minutes);
                    assert!(u >= before + Duration::minutes(minutes), "{u}");
                }
            }
            other => panic!("{other:?}"),
        }
    }
    // Locked: the right PIN is refused too, and nothing is decided.
    let r = ask(&shop, &request(&store, "JA-6", &sub, "S500", "5555"))
        .await
        .unwrap_err();
    assert!(
        matches!(&r, ReviewRefusal::Pin { failures: None, locked_until: Some(_), message, .. } if message.contains("locked")),
        "{r:?}"
    );
    let kinds = hub_chain_kinds(&shop.url).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "pin_rejected").count() as u32,
        max
    );
    assert_eq!(kinds.last().map(String::as_str), Some("badge_locked"));
    assert!(!kinds.contains(&"review_decided".to_string()));
    // The hub's roster says so.
    let pool = traveler::hub::db::pool(&shop.url).unwrap();
    let roster = traveler::hub::roster::current(&pool).await.unwrap();
    assert!(roster.get("S500").unwrap().locked_until.is_some());
    // Another supervisor is not affected.
    ask(&shop, &request(&store, "JA-6", &sub, "S400", "4444"))
        .await
        .unwrap();
    shop.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bench_roster_is_imported_once_and_conflicts_are_reported_by_badge() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let (da, db_) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = bench_store(da.path());
    let b = bench_store(db_.path());
    let pool = traveler::hub::db::pool(&shop.url).unwrap();
    let first = traveler::hub::roster::import(&pool, &a, Utc::now())
        .await
        .unwrap();
    assert!(first.conflicts.is_empty());
    assert!(first.imported.contains(&"S400".to_string()));
    let again = traveler::hub::roster::import(&pool, &a, Utc::now())
        .await
        .unwrap_err();
    assert!(again.to_string().contains("imported already"), "{again}");
    // Bench B has the same people: each reported by badge, none imported twice.
    let second = traveler::hub::roster::import(&pool, &b, Utc::now())
        .await
        .unwrap();
    assert!(second.imported.is_empty());
    assert_eq!(second.conflicts.len(), first.imported.len());
    assert!(
        second
            .conflicts
            .iter()
            .all(|c| c.reason == RosterConflictReason::AlreadyAtHub)
    );
    let roster = traveler::hub::roster::current(&pool).await.unwrap();
    assert_eq!(roster.people.keys().cloned().collect::<Vec<_>>(), {
        let mut k = first.imported.clone();
        k.sort();
        k
    });
    // The PIN hashes came along: a review at the hub takes the bench's PIN.
    assert!(traveler::people::pin::verify_pin(
        "4444",
        &roster.get("S400").unwrap().pin_hash
    ));
    let kinds = hub_chain_kinds(&shop.url).await;
    assert_eq!(kinds.iter().filter(|k| *k == "roster_imported").count(), 2);
    shop.hub.stop().await;
}

/// Polls the store (state, not a fixed sleep) until `pred` holds for job `id`.
async fn wait_job(
    store: &Store,
    id: &str,
    what: &str,
    pred: impl Fn(&traveler::domain::job::Job) -> bool,
) -> traveler::domain::job::Job {
    for _ in 0..600 {
        if let Some(j) = store.job(id).unwrap()
            && pred(&j)
        {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "job {id} never {what}: {:?}",
        store.job(id).unwrap().map(|j| j.status)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_at_the_hub_reaches_the_bench_with_its_reason_then_the_resubmission_is_approved()
 {
    use traveler::domain::job::JobStatus;
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let sub = submitted_job(&store, "JA-7", "I300");
    import(&shop, &store).await;
    // The bench application's sync task, running all along.
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &shop.token), fast());
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced", |s| synced_past(s, head)).await;

    let mut reject = request(&store, "JA-7", &sub, "S500", "5555");
    reject.decision = Decision::Rejected;
    reject.comment = "fillet on R12 too small, redo".into();
    let decided = ask(&shop, &reject).await.unwrap();

    let job = wait_job(&store, "JA-7", "rejected", |j| {
        j.status == JobStatus::Rejected
    })
    .await;
    let review = job.reviews.last().unwrap();
    assert_eq!(review.comment, "fillet on R12 too small, redo");
    assert_eq!(review.reviewer, "S500");
    // The bench record points at the hub's record, which points at the submission.
    let mirrored: Vec<_> = store
        .events_of_job("JA-7")
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::ReviewMirrored {
                hub_seq,
                hub_hash,
                submitted_seq,
                ..
            } => Some((hub_seq, hub_hash, submitted_seq)),
            _ => None,
        })
        .collect();
    assert_eq!(
        mirrored,
        [(decided.hub_seq, decided.hub_hash.clone(), sub.0)]
    );
    // The mirror goes up to the hub like every record; the hub offers the decision no more.
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced with the mirror", |s| synced_past(s, head)).await;
    let kinds: Vec<String> = sql(&shop.url)
        .await
        .query(
            "SELECT kind FROM hub_records WHERE store_id = $1 AND job = 'JA-7' ORDER BY seq",
            &[&store_id(&store)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kinds.last().map(String::as_str), Some("review_mirrored"));
    let client = traveler::hub::client::HubClient::new(&shop.base(), &shop.token, None).unwrap();
    assert!(
        client
            .decisions(&store_id(&store))
            .await
            .unwrap()
            .expect("this hub has the route")
            .is_empty()
    );

    // The technician redoes and submits again; the hub approves the new submission.
    let again = submit(&store, "JA-7");
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced with the resubmission", |s| {
        synced_past(s, head)
    })
    .await;
    let stale = ask(&shop, &request(&store, "JA-7", &sub, "S400", "4444"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            ReviewRefusal::DecidedAtHub { .. } | ReviewRefusal::Superseded { .. }
        ),
        "{stale:?}"
    );
    let approved = ask(&shop, &request(&store, "JA-7", &again, "S400", "4444"))
        .await
        .unwrap();
    let job = wait_job(&store, "JA-7", "approved", |j| {
        j.status == JobStatus::Approved
    })
    .await;
    assert_eq!(job.reviews.len(), 2);
    assert_eq!(job.reviews.last().unwrap().reviewer, "S400");
    assert!(
        store
            .events_of_job("JA-7")
            .unwrap()
            .iter()
            .any(|r| matches!(
                &r.event,
                Event::ReviewMirrored { hub_seq, submitted_seq, .. }
                    if *hub_seq == approved.hub_seq && *submitted_seq == again.0
            ))
    );
    shop.hub.stop().await;
}

/// `verify --hub` checks both directions between a bench chain and the hub chain:
/// each mirror names a hub record that decided that same submission (else FAILED),
/// and each hub decision older than the bench's last contact is mirrored (else lag).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_hub_checks_mirrors_against_the_hub_chain_both_ways() {
    use traveler::domain::job::JobStatus;
    use traveler::hub::wire::{Head, Hello};
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let id = store_id(&store);
    let a = submitted_job(&store, "JA-1", "I300");
    let b = submitted_job(&store, "JB-2", "I300");
    let c = submitted_job(&store, "JC-3", "I300");
    import(&shop, &store).await;
    let verify = || {
        traveler(
            &["verify", "--hub", &shop.base(), "--hub-token", &shop.token],
            "",
        )
    };

    // Decided at the hub while the bench syncs: mirrored, and the mirror checks out.
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &shop.token), fast());
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced", |s| synced_past(s, head)).await;
    let decided_a = ask(&shop, &request(&store, "JA-1", &a, "S500", "5555"))
        .await
        .unwrap();
    wait_job(&store, "JA-1", "approved", |j| {
        j.status == JobStatus::Approved
    })
    .await;
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced with the mirror", |s| synced_past(s, head)).await;
    drop(rx);
    let (code, out, err) = verify();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "BENCH-A store {id}: 1 mirrored decision(s) point at the hub records that decided them"
        )),
        "{out}"
    );
    assert!(!out.contains("not yet mirrored"), "{out}");

    // Decided at the hub with the bench's sync task stopped, then a contact that
    // only says hello: older than the last contact and not mirrored, so lag.
    let decided_b = ask(&shop, &request(&store, "JB-2", &b, "S500", "5555"))
        .await
        .unwrap();
    let client = traveler::hub::client::HubClient::new(&shop.base(), &shop.token, None).unwrap();
    let ident = traveler::hub::identity::of(&store).unwrap().unwrap();
    let now = store.chain_head();
    client
        .hello(
            &id,
            &Hello {
                store_bench: ident.bench.clone(),
                head: Head {
                    seq: now.seq,
                    hash: now.hash_hex(),
                },
            },
        )
        .await
        .unwrap();
    let (code, out, err) = verify();
    assert_eq!(code, 0, "lag is not a failure: {out}{err}");
    assert!(
        out.contains(&format!(
            "BENCH-A store {id}: decision not yet mirrored: hub record {} on job JB-2 (submission {}), decided ",
            decided_b.hub_seq, b.0
        )),
        "{out}"
    );

    // Mirrors the hub chain does not back, written past the core (as a damaged or
    // forged chain would hold them): one names JA-1's hub record for JC-3's
    // submission, one a hub record that does not exist.
    let forged = |hub_seq: u64, hub_hash: String| Event::ReviewMirrored {
        job: "JC-3".into(),
        decision: Decision::Approved,
        reviewer: "S500".into(),
        reviewer_name: "Sam".into(),
        comment: "record complete".into(),
        submitted_seq: c.0,
        hub_seq,
        hub_hash,
        decided_at: None,
    };
    let other = store
        .append(
            "system",
            forged(decided_a.hub_seq, decided_a.hub_hash.clone()),
        )
        .unwrap()
        .seq;
    let missing = store
        .append("system", forged(9_999, "ee".repeat(32)))
        .unwrap()
        .seq;
    // The sync task sends them and mirrors JB-2's decision meanwhile.
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &shop.token), fast());
    wait_job(&store, "JB-2", "approved", |j| {
        j.status == JobStatus::Approved
    })
    .await;
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced with the forged mirrors", |s| {
        synced_past(s, head)
    })
    .await;
    drop(rx);
    let (code, out, err) = verify();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "FAILED BENCH-A store {id}: mirror record {other} (job JC-3) points at hub record {}: \
             hub record {} decides submission {} of job JA-1",
            decided_a.hub_seq, decided_a.hub_seq, a.0
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FAILED BENCH-A store {id}: mirror record {missing} (job JC-3) points at hub record \
             9999: the hub chain has no record 9999"
        )),
        "{out}"
    );
    // JB-2's decision is mirrored now: no lag left.
    assert!(!out.contains("not yet mirrored"), "{out}");

    // Reviewed at the bench while the hub, which had the submission but not yet the
    // review, decided too: the bench never mirrors it, and verify names the conflict.
    let d = submitted_job(&store, "JD-4", "I300");
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &shop.token), fast());
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced with JD-4", |s| synced_past(s, head)).await;
    drop(rx);
    let local = store
        .append(
            "S400",
            Event::JobReviewed {
                job: "JD-4".into(),
                decision: Decision::Approved,
                reviewer: "S400".into(),
                reviewer_name: "Sue".into(),
                comment: "record complete".into(),
            },
        )
        .unwrap()
        .seq;
    let mut reject = request(&store, "JD-4", &d, "S500", "5555");
    reject.decision = Decision::Rejected;
    reject.comment = "redo".into();
    let decided_d = ask(&shop, &reject).await.unwrap();
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &shop.token), fast());
    let head = store.chain_head().seq;
    wait_state(&mut rx, "synced with the local review", |s| {
        synced_past(s, head)
    })
    .await;
    drop(rx);
    assert_eq!(
        store.job("JD-4").unwrap().unwrap().status,
        JobStatus::Approved,
        "the bench's own review stands in its chain"
    );
    let (code, out, err) = verify();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "FAILED BENCH-A store {id}: hub record {} decided submission {} of job JD-4, which \
             the bench reviewed itself at record {local}: two decisions on one submission",
            decided_d.hub_seq, d.0
        )),
        "{out}"
    );
    shop.hub.stop().await;
}
