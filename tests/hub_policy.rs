//! The shop policy on local review against a real PostgreSQL, a real hub service,
//! the real binary and real bench stores: an admin sets it at the hub
//! (`traveler hub policy set`, PIN checked there, refusals recorded), a bench that
//! mirrors it refuses a local review with the reason (its core, and its review
//! screen's keys), the desk's review of the same submission is accepted, and the
//! hub refuses a second decision.
//!
//! A bench's "next contact" is the real binary, `traveler hub sync --once` (what the
//! bench application's sync task does): its records go up, and the hub records
//! benches follow come down, checked by hash and copied through the bench's core
//! as `HubRecordMirrored`.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;
#[allow(dead_code)]
mod tui_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use chrono::Utc;
use hub_support::*;
use traveler::core::{Core, Credentials, Request, RequestId};
use traveler::domain::command::{Command, Rejection};
use traveler::domain::event::{Event, LocalReview};
use traveler::domain::types::{CheckResult, Decision, Meaning};
use traveler::hub::review::{ReviewRefusal, ReviewRequest, SendError, send};
use traveler::hub::server::Server;
use traveler::instruction::load_dir;
use traveler::store::Store;
use traveler::tui::action::Action;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
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

/// A bench store with the demo roster (T100, I300, S400, S500, A900 admin).
fn bench_store(dir: &Path) -> Store {
    let store = store_support::open(dir);
    let policy = load_dir(&shipped()).library.policy.unwrap();
    traveler::demo::seed(&store, &policy, Utc::now().date_naive()).unwrap();
    store
}

/// The hub with the shipped instructions folder, the bench's roster imported.
async fn shop(admin: &str, bench: &Store) -> Shop {
    let url = hub_db(admin).await;
    let library = load_dir(&shipped()).library;
    let hub = Server::start_with_library(
        &url,
        "127.0.0.1:0".parse().unwrap(),
        None,
        library.policy.clone(),
        Some(library),
    )
    .await
    .expect("start the hub");
    let token = enrol(&url, "BENCH-A").await;
    let pool = traveler::hub::db::pool(&url).unwrap();
    traveler::hub::roster::import(&pool, bench, Utc::now())
        .await
        .expect("import the roster");
    Shop { url, hub, token }
}

/// A one-step job performed by T100, inspected by I300, submitted: (seq, hash).
fn submitted_job(store: &Store, job: &str) -> (u64, String) {
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
        .append_at(
            t,
            "T100",
            store_support::signed(job, 0, 0, "T100", CheckResult::Pass),
        )
        .unwrap();
    let mut inspected = store_support::signed(job, 0, 1, "I300", CheckResult::Confirmed);
    if let Event::CheckpointSigned { meaning, .. } = &mut inspected {
        *meaning = Meaning::Inspected;
    }
    store.append_at(t, "I300", inspected).unwrap();
    store
        .append_at(t, "T100", store_support::completed(job, 0, 0, "00"))
        .unwrap();
    store
        .append_at(Utc::now(), "T100", Event::JobSubmitted { job: job.into() })
        .unwrap();
    let head = store.chain_head();
    (head.seq, head.hash_hex())
}

/// The bench's next contact with the hub (see the module comment); the store in
/// `dir` must be closed in this process (sled opens it once).
fn contact(shop: &Shop, dir: &Path) {
    let (code, out) = run_text(&[
        "hub",
        "sync",
        "--store",
        dir.to_str().unwrap(),
        "--url",
        &shop.base(),
        "--token",
        &shop.token,
        "--once",
    ]);
    assert_eq!(code, 0, "the bench's contact with the hub: {out}");
}

fn run_text(args: &[&str]) -> (i32, String) {
    run(args, "")
}

fn run(args: &[&str], stdin: &str) -> (i32, String) {
    let state = tempfile::tempdir().unwrap();
    let mut child = Process::new(BIN)
        .args(args)
        .env("TRAVELER_STATE_DIR", state.path())
        .env("HOME", state.path())
        .env_remove("TRAVELER_HUB_TOKEN")
        .env_remove("TRAVELER_STORE")
        .env_remove("TRAVELER_CONFIG")
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
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn policy_set(shop: &Shop, value: &str, by: &str, pin: &str) -> (i32, String) {
    run(
        &[
            "hub",
            "policy",
            "set",
            "--local-review",
            value,
            "--by",
            by,
            "--reason",
            "reviews move to the quality desk",
            "--pin-stdin",
            "--hub",
            &shop.base(),
            "--hub-token",
            &shop.token,
        ],
        &format!("{pin}\n"),
    )
}

fn policy_show(shop: &Shop) -> String {
    let (code, out) = run(
        &[
            "hub",
            "policy",
            "show",
            "--hub",
            &shop.base(),
            "--hub-token",
            &shop.token,
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");
    out
}

async fn hub_kinds(url: &str) -> Vec<String> {
    sql(url)
        .await
        .query("SELECT kind FROM hub_chain ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn local_review(store: &Store, job: &str) -> Result<(), Rejection> {
    let core = Core::new(store.clone(), tui_support::library(), "BENCH-A");
    core.execute(Request {
        id: RequestId(1),
        by: "S500".into(),
        credentials: Some(Credentials {
            badge: "S500".into(),
            pin: "5555".into(),
        }),
        command: Command::Review {
            job: job.into(),
            decision: Decision::Approved,
            comment: "record complete".into(),
        },
    })
    .result
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_only_refuses_a_local_review_at_the_bench_and_the_desk_decides_once() {
    let Some(admin) = pg_admin_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let shop = shop(&admin, &store).await;
    let sub = submitted_job(&store, "JP-1");
    let sid = store_id(&store);
    let bench_dir = store.path().to_path_buf();
    drop(store);
    // The first contact: the submission goes up, the roster comes down.
    contact(&shop, &bench_dir);

    assert!(
        policy_show(&shop).contains("local review: allowed (the default; never set at the hub)")
    );
    let before = hub_kinds(&shop.url).await.len();
    // Only an admin sets it; a wrong PIN is recorded at the hub.
    let (code, out) = policy_set(&shop, "desk-only", "S400", "4444");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("may not do this: needs the admin role"),
        "{out}"
    );
    let (code, out) = policy_set(&shop, "desk-only", "A900", "0000");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("wrong PIN (1 of 5"), "{out}");
    let (code, out) = policy_set(&shop, "desk-only", "A900", "9999");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("local review: desk-only (set at the hub by Quality Admin (A900) on ")
            && out.contains("reviews move to the quality desk"),
        "{out}"
    );
    let (code, out) = policy_set(&shop, "desk-only", "A900", "9999");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the shop policy already says local review: desk-only"),
        "{out}"
    );
    let kinds = hub_kinds(&shop.url).await;
    assert_eq!(&kinds[before..], ["pin_rejected", "shop_policy_set"]);
    let policy_seq = kinds.len() as u64;
    assert!(policy_show(&shop).contains(&format!("hub record {policy_seq}")));

    // Until its next contact the bench follows what it last knew.
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    assert_eq!(
        store.shop_policy().unwrap().local_review,
        LocalReview::Allowed
    );
    drop(store);

    // The bench's next contact: the policy is mirrored; its core refuses a local
    // review with the reason, and records nothing.
    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    assert_eq!(
        store.shop_policy().unwrap().local_review,
        LocalReview::DeskOnly
    );
    let head = store.chain_head().seq;
    match local_review(&store, "JP-1") {
        Err(Rejection::LocalReviewRefused {
            set_by, hub_seq, ..
        }) => {
            assert_eq!(set_by, "Quality Admin");
            assert_eq!(hub_seq, policy_seq);
        }
        other => panic!("a local review under desk-only: {other:?}"),
    }
    assert_eq!(store.chain_head().seq, head, "nothing recorded");

    // The review screen greys approve with the reason, and refuses the key.
    let mut b = tui_support::Bench::on(
        store.clone(),
        tui_support::library(),
        dir.path().join("exports"),
    );
    b.state.size = (160, 50);
    b.login("S500", "5555");
    b.act(Action::Command('r'));
    b.act(Action::Enter);
    let screen = b.screen();
    assert!(
        screen.contains("✖ Not reviewed at this bench — the shop policy is desk-only"),
        "{screen}"
    );
    // Approve and reject are not offered in the footer.
    let footer: Vec<&str> = traveler::tui::keys::footer(&b.state)
        .iter()
        .map(|(_, what)| *what)
        .collect();
    assert!(
        !footer.contains(&"approve") && !footer.contains(&"reject"),
        "{footer:?}"
    );
    b.act(Action::Command('a'));
    assert!(b.state.modal.is_none(), "the approval dialog opened");
    assert!(
        b.flash()
            .contains("You may not review this job — the shop policy is desk-only"),
        "{}",
        b.flash()
    );
    drop(b);
    assert!(
        !store
            .events()
            .any(|r| r.unwrap().event.kind() == "job_reviewed")
    );

    // The desk decides it, once.
    let req = ReviewRequest {
        store_id: sid.clone(),
        job: "JP-1".into(),
        submitted_seq: sub.0,
        submitted_hash: sub.1.clone(),
        decision: Decision::Approved,
        comment: "record complete".into(),
        badge: "S500".into(),
        pin: "5555".into(),
    };
    let reply = send(&shop.base(), &shop.token, None, &req)
        .await
        .expect("the desk's review is accepted");
    assert_eq!(reply.decision, Decision::Approved);
    match send(&shop.base(), &shop.token, None, &req).await {
        Err(SendError::Refused(ReviewRefusal::DecidedAtHub { hub_seq, .. })) => {
            assert_eq!(hub_seq, reply.hub_seq)
        }
        other => panic!("a second decision: {other:?}"),
    }

    // Back to allowed: the bench may review its own submissions again.
    let (code, out) = policy_set(&shop, "allowed", "A900", "9999");
    assert_eq!(code, 0, "{out}");
    submitted_job(&store, "JP-2");
    drop(store);
    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    local_review(&store, "JP-2").expect("allowed again");
}
