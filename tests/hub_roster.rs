//! One roster for the shop, against a real PostgreSQL and a real hub service: the
//! hub's roster records reach every bench through the bench's real sync task
//! (`HubRecordMirrored`, checked by hash), fold into the bench's roster, and a
//! bench that follows the hub refuses local roster changes.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hub_support::*;
use traveler::core::{Core, Credentials, Request, RequestId};
use traveler::domain::command::AuthFailure;
use traveler::domain::command::{Command, Rejection, RosterCommand, RosterProblem};
use traveler::domain::event::Event;
use traveler::domain::policy::Policy;
use traveler::hub::server::Server;
use traveler::hub::sync::{spawn_following, spawn_with};
use traveler::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn instructions() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

fn policy() -> Policy {
    traveler::instruction::load_dir(&instructions())
        .library
        .policy
        .expect("the shipped policy loads")
}

fn core(store: &Store, bench: &str) -> Core {
    let lib = traveler::instruction::load_dir(&instructions()).library;
    Core::new(store.clone(), Arc::new(lib), bench)
}

struct Shop {
    url: String,
    hub: Server,
}

async fn shop(admin: &str) -> Shop {
    let url = hub_db(admin).await;
    let hub = Server::start_with(&url, "127.0.0.1:0".parse().unwrap(), None, Some(policy()))
        .await
        .expect("start the hub");
    Shop { url, hub }
}

/// The demo roster imported into the hub from a bench store of its own.
async fn import_demo_roster(shop: &Shop) {
    let dir = tempfile::tempdir().unwrap();
    let origin = store_support::open(dir.path());
    traveler::demo::seed(&origin, &policy(), Utc::now().date_naive()).unwrap();
    let pool = traveler::hub::db::pool(&shop.url).unwrap();
    traveler::hub::roster::import(&pool, &origin, Utc::now())
        .await
        .expect("import the roster");
}

/// Waits (up to a minute) until `pred` holds of the store's roster.
async fn until_roster(
    store: &Store,
    what: &str,
    pred: impl Fn(&traveler::domain::person::Roster) -> bool,
) {
    for _ in 0..3000 {
        let r = traveler::people::auth::roster(store).unwrap();
        if pred(&r) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the bench's roster never reached: {what}");
}

fn mirrored(store: &Store) -> Vec<(u64, String)> {
    store
        .people_events()
        .filter_map(|r| match r.unwrap().event {
            Event::HubRecordMirrored {
                hub_seq, hub_hash, ..
            } => Some((hub_seq, hub_hash)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bench_follows_the_hub_roster_and_refuses_local_changes() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let token = enrol(&shop.url, "BENCH-B").await;
    let dir = tempfile::tempdir().unwrap();
    let bench = store_support::open(dir.path());
    let _rx = spawn_with(bench.clone(), config(shop.hub.addr, &token), fast());
    until_roster(&bench, "the demo roster", |r| {
        r.get("T100").is_some() && r.get("A900").is_some() && r.hub_since.is_some()
    })
    .await;
    // Each hub record benches follow is copied once, in hub order, by hash.
    let copies = mirrored(&bench);
    let hub = traveler::hub::chain::records(
        &**traveler::hub::db::client(&traveler::hub::db::pool(&shop.url).unwrap())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let expect: Vec<(u64, String)> = hub
        .iter()
        .filter(|h| traveler::domain::hub_records::for_benches(&h.record.event))
        .map(|h| (h.record.seq, h.hash_hex()))
        .collect();
    until_roster(&bench, "every hub record copied", |_| {
        mirrored(&bench).len() == expect.len()
    })
    .await;
    assert_eq!(mirrored(&bench), expect, "{copies:?}");
    // A T100 log-in at the bench, from the copied roster.
    let c = core(&bench, "BENCH-B");
    let login = c.execute(Request {
        id: RequestId(1),
        by: "T100".into(),
        credentials: Some(Credentials {
            badge: "T100".into(),
            pin: "1111".into(),
        }),
        command: Command::LogIn,
    });
    assert!(login.result.is_ok(), "{:?}", login.result);
    // A local roster change is refused by the core: the hub manages it.
    let a = c.execute(Request {
        id: RequestId(2),
        by: "A900".into(),
        credentials: Some(Credentials {
            badge: "A900".into(),
            pin: "9999".into(),
        }),
        command: Command::Roster(RosterCommand::Deactivate {
            badge: "T100".into(),
            reason: "left".into(),
        }),
    });
    assert!(
        matches!(
            a.result,
            Err(Rejection::Roster(RosterProblem::ManagedAtHub { .. }))
        ),
        "{:?}",
        a.result
    );
}

fn login(c: &Core, badge: &str, pin: &str) -> Result<(), Rejection> {
    c.execute(Request {
        id: RequestId(1),
        by: badge.into(),
        credentials: Some(Credentials {
            badge: badge.into(),
            pin: pin.into(),
        }),
        command: Command::LogIn,
    })
    .result
    .map(|_| ())
}

/// `traveler people ARGS --hub URL --pin-stdin` with `stdin`; (exit code, stdout, stderr).
fn people_at_hub(shop: &Shop, token: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let state = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(BIN)
        .arg("people")
        .args(args)
        .arg("--hub")
        .arg(format!("http://{}", shop.hub.addr))
        .arg("--pin-stdin")
        .arg("--instructions")
        .arg(instructions())
        .env("TRAVELER_HUB_TOKEN", token)
        .env("TRAVELER_STATE_DIR", state.path())
        .env_remove("TRAVELER_STORE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
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

/// A bench following the shop: a fresh store and its sync task.
struct Bench {
    _dir: tempfile::TempDir,
    store: Store,
    _rx: tokio::sync::watch::Receiver<traveler::hub::SyncState>,
}

impl Bench {
    /// Stops the sync task and lets go of the store; the folder stays.
    fn close(self) -> tempfile::TempDir {
        drop(self._rx);
        drop(self.store);
        self._dir
    }
}

async fn bench(shop: &Shop, name: &str) -> Bench {
    let token = enrol(&shop.url, name).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    let rx = spawn_with(store.clone(), config(shop.hub.addr, &token), fast());
    until_roster(&store, "the demo roster", |r| r.get("A900").is_some()).await;
    Bench {
        _dir: dir,
        store,
        _rx: rx,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_add_at_the_hub_then_the_person_logs_in_at_a_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let b = bench(&shop, "BENCH-B").await;
    let desk = enrol(&shop.url, "DESK-1").await;
    let (code, out, err) = people_at_hub(
        &shop,
        &desk,
        &[
            "add",
            "T777",
            "--name",
            "Tia Seven",
            "--role",
            "technician",
            "--skill",
            "advanced",
            "--admin",
            "A900",
        ],
        "9999\n482913\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("enrolled Tia Seven (T777) at the hub"),
        "{out}"
    );
    until_roster(&b.store, "T777", |r| r.get("T777").is_some()).await;
    let c = core(&b.store, "BENCH-B");
    login(&c, "T777", "482913").expect("T777 logs in at the bench");
    assert!(matches!(
        login(&c, "T777", "111111"),
        Err(Rejection::Auth(AuthFailure::WrongPin { .. }))
    ));
    // `people list --hub` reads the hub's roster.
    let (code, out, err) = people_at_hub(&shop, &desk, &["list"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("T777") && out.contains("Tia Seven"), "{out}");
    // The local change is refused with the way to do it, once the bench has
    // closed its store.
    let path = b.store.path().to_path_buf();
    drop(c);
    let _dir = b.close();
    let local = || {
        use std::io::Write;
        let mut child = std::process::Command::new(BIN)
            .args([
                "people",
                "deactivate",
                "T777",
                "--reason",
                "left",
                "--admin",
                "A900",
                "--pin-stdin",
            ])
            .arg("--store")
            .arg(&path)
            .arg("--instructions")
            .arg(instructions())
            .env("TRAVELER_STATE_DIR", tempfile::tempdir().unwrap().path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"9999\n").unwrap();
        let o = child.wait_with_output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (mut code, mut err) = local();
    for _ in 0..200 {
        if !err.contains("in use") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        (code, err) = local();
    }

    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("managed at the hub") && err.contains("--hub URL"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_revoked_at_the_hub_greys_the_instruction_at_the_next_contact() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let b = bench(&shop, "BENCH-B").await;
    let lib = traveler::instruction::load_dir(&instructions()).library;
    let policy = lib.policy.clone().unwrap();
    let ins = lib
        .instructions
        .iter()
        .find(|i| !i.spec.modules.is_empty())
        .expect("an instruction needing modules");
    // What the new-job list greys (tui::update::start::refusals) for T100.
    let greyed = |store: &Store| {
        let r = traveler::people::auth::roster(store).unwrap();
        let p = r.get("T100").unwrap().clone();
        !traveler::domain::policy::run_refusals(
            &policy,
            &p,
            &ins.facts(&lib),
            traveler::domain::types::ProductClass::Class2,
            &["U1".to_string()],
            &[],
            Utc::now(),
        )
        .is_empty()
    };
    until_roster(&b.store, "T100 certified", |r| {
        r.get("T100").is_some_and(|p| !p.certifications.is_empty())
    })
    .await;
    assert!(!greyed(&b.store), "T100 may run {} before", ins.id());
    let cert = traveler::people::auth::roster(&b.store)
        .unwrap()
        .get("T100")
        .unwrap()
        .certifications[0]
        .certificate
        .clone();
    let desk = enrol(&shop.url, "DESK-1").await;
    let (code, out, err) = people_at_hub(
        &shop,
        &desk,
        &[
            "revoke",
            "T100",
            "--certificate",
            &cert,
            "--reason",
            "failed audit",
            "--admin",
            "A900",
        ],
        "9999\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    until_roster(&b.store, "the revocation", |r| {
        r.get("T100").is_some_and(|p| p.certifications.is_empty())
    })
    .await;
    assert!(greyed(&b.store), "{} is greyed for T100 now", ins.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_pins_at_the_hub_lock_the_badge_at_every_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let a = bench(&shop, "BENCH-A").await;
    let b = bench(&shop, "BENCH-B").await;
    let desk = enrol(&shop.url, "DESK-1").await;
    let deactivate = ["deactivate", "T100", "--reason", "left", "--admin", "A900"];
    for i in 1..=policy().max_failed_pins {
        let (code, _, err) = people_at_hub(&shop, &desk, &deactivate, "0000\n");
        assert_eq!(code, 1, "try {i}: {err}");
        assert!(err.contains("wrong PIN"), "{err}");
    }
    for (name, bench) in [("A", &a), ("B", &b)] {
        until_roster(&bench.store, "A900 locked", |r| {
            r.get("A900").is_some_and(|p| p.is_locked(Utc::now()))
        })
        .await;
        let c = core(&bench.store, &format!("BENCH-{name}"));
        assert!(
            matches!(
                login(&c, "A900", "9999"),
                Err(Rejection::Auth(AuthFailure::Locked { .. }))
            ),
            "bench {name}: the right PIN is refused while locked"
        );
    }
    // The next try at the hub is refused as locked, even with the right PIN.
    let (code, _, err) = people_at_hub(&shop, &desk, &deactivate, "9999\n");
    assert_eq!(code, 1);
    assert!(err.contains("locked"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_at_bench_a_locks_bench_b() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let a = bench(&shop, "BENCH-A").await;
    let b = bench(&shop, "BENCH-B").await;
    let ca = core(&a.store, "BENCH-A");
    for _ in 0..policy().max_failed_pins {
        assert!(matches!(
            login(&ca, "T100", "000000"),
            Err(Rejection::Auth(AuthFailure::WrongPin { .. }))
        ));
    }
    assert!(matches!(
        login(&ca, "T100", "1111"),
        Err(Rejection::Auth(AuthFailure::Locked { .. }))
    ));
    until_roster(&b.store, "T100 locked at bench B", |r| {
        r.get("T100").is_some_and(|p| p.is_locked(Utc::now()))
    })
    .await;
    let cb = core(&b.store, "BENCH-B");
    assert!(matches!(
        login(&cb, "T100", "1111"),
        Err(Rejection::Auth(AuthFailure::Locked { .. }))
    ));
    // The hub holds it once, as a record of its own chain.
    let n: i64 = sql(&shop.url)
        .await
        .query_one(
            "SELECT count(*) FROM hub_chain WHERE kind = 'badge_locked'
             AND doc -> 'event' ->> 'badge' = 'T100'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// A one-step job performed by T100 and inspected by I300, submitted.
fn submitted_job(store: &Store, job: &str) {
    use traveler::domain::types::{CheckResult, Meaning};
    let t = Utc::now();
    let append = |actor: &str, e: Event| {
        store.append_at(t, actor, e).unwrap();
    };
    append("T100", store_support::started(job, "SN-9", "T100", 1));
    append(
        "T100",
        Event::StepStarted {
            job: job.into(),
            step: 0,
        },
    );
    append(
        "T100",
        store_support::signed(job, 0, 0, "T100", CheckResult::Pass),
    );
    let mut inspected = store_support::signed(job, 0, 1, "I300", CheckResult::Confirmed);
    if let Event::CheckpointSigned { meaning, .. } = &mut inspected {
        *meaning = Meaning::Inspected;
    }
    append("I300", inspected);
    append("T100", store_support::completed(job, 0, 0, "00"));
    append("T100", Event::JobSubmitted { job: job.into() });
}

fn review(c: &Core, job: &str, badge: &str, pin: &str) -> Result<(), Rejection> {
    c.execute(Request {
        id: RequestId(3),
        by: badge.into(),
        credentials: Some(Credentials {
            badge: badge.into(),
            pin: pin.into(),
        }),
        command: Command::Review {
            job: job.into(),
            decision: traveler::domain::types::Decision::Approved,
            comment: "record complete".into(),
        },
    })
    .result
    .map(|_| ())
}

fn review_at(
    c: &Core,
    job: &str,
    badge: &str,
    pin: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), Rejection> {
    c.execute_at(
        Request {
            id: RequestId(3),
            by: badge.into(),
            credentials: Some(Credentials {
                badge: badge.into(),
                pin: pin.into(),
            }),
            command: Command::Review {
                job: job.into(),
                decision: traveler::domain::types::Decision::Approved,
                comment: "record complete".into(),
            },
        },
        now,
    )
    .result
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bench_offline_past_the_roster_max_age_refuses_signatures_of_people_not_verified_since() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let token = enrol(&shop.url, "BENCH-C").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    // A maximum age of a minute; the decisions past it are taken at a later `now`.
    let max_age_hours = 1.0 / 60.0;
    let max_age = chrono::Duration::seconds(60);
    let mut lib = traveler::instruction::load_dir(&instructions()).library;
    lib.policy.as_mut().unwrap().roster_max_age_hours = Some(max_age_hours);
    let (to_hub, logins) = tokio::sync::mpsc::unbounded_channel();
    let c = Core::new(store.clone(), Arc::new(lib), "BENCH-C").with_online_logins(to_hub);
    let _rx = spawn_following(
        store.clone(),
        config(shop.hub.addr, &token),
        fast(),
        Some(logins),
    );
    until_roster(&store, "the demo roster", |r| r.get("S500").is_some()).await;
    submitted_job(&store, "J-1");
    submitted_job(&store, "J-2");
    // S500 logs in while the hub is reachable: the hub confirms the PIN.
    login(&c, "S500", "5555").unwrap();
    until_roster(&store, "S500 verified online", |r| {
        r.verified_online_since_login("S500")
    })
    .await;
    // The hub goes away; S400 logs in from the cached roster.
    shop.hub.stop().await;
    login(&c, "S400", "4444").unwrap();
    let contact = traveler::people::roster_cache::read(store.path())
        .expect("the bench noted its last contact")
        .at;
    // Past the maximum age since the last contact (the rule itself, before and
    // after, is table-tested in domain::person).
    let later = contact + max_age + chrono::Duration::seconds(1);
    // S400 was checked only against the stale cache: refused, naming the age and
    // the last contact.
    match review_at(&c, "J-1", "S400", "4444", later) {
        Err(Rejection::RosterStale(s)) => {
            assert_eq!(s.badge, "S400");
            assert_eq!(s.max_age_hours, max_age_hours);
            assert!(s.last_contact.is_some_and(|at| at >= contact));
            let msg = Rejection::RosterStale(s).to_string();
            assert!(
                msg.contains("roster_max_age_hours") && msg.contains("UTC"),
                "{msg}"
            );
        }
        other => panic!("S400's review: {other:?}"),
    }
    // S500's confirmation by the hub is older than the maximum age by then too: it
    // no longer counts.
    assert!(
        matches!(
            review_at(&c, "J-1", "S500", "5555", later),
            Err(Rejection::RosterStale(ref s)) if s.badge == "S500"
        ),
        "a confirmation older than the maximum age"
    );
    // Without a contact on record (the file lost), the cache counts as never
    // confirmed: S400 is refused now, S500, confirmed within the maximum age, signs.
    std::fs::remove_file(store.path().join(traveler::people::roster_cache::FILE)).unwrap();
    match review(&c, "J-1", "S400", "4444") {
        Err(Rejection::RosterStale(s)) => assert_eq!(s.last_contact, None),
        other => panic!("S400's review without a contact: {other:?}"),
    }
    review(&c, "J-1", "S500", "5555").expect("S500 reviews");
    assert_eq!(
        store.job("J-1").unwrap().unwrap().status,
        traveler::domain::job::JobStatus::Approved
    );
    // The review says on what roster it was decided: stale, verified online.
    let basis: Vec<Event> = store
        .events_of_job("J-1")
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .filter(|e| matches!(e, Event::SignedOnRoster { .. }))
        .collect();
    match basis.as_slice() {
        [
            Event::SignedOnRoster {
                job,
                badge,
                hub_seq,
                contact_at,
                stale,
                verified_online,
            },
        ] => {
            assert_eq!(job.as_deref(), Some("J-1"));
            assert_eq!(badge, "S500");
            assert_eq!(
                *hub_seq,
                traveler::people::auth::roster(&store)
                    .unwrap()
                    .last_hub_mirror
            );
            assert_eq!(*contact_at, None, "the contact file is gone");
            assert!(*stale && *verified_online);
        }
        other => panic!("the roster the review was decided on: {other:?}"),
    }
    // S500 logs out (idle): the verification ends with the session.
    c.execute(Request {
        id: RequestId(4),
        by: "S500".into(),
        credentials: None,
        command: Command::LogOut {
            reason: "idle".into(),
        },
    })
    .result
    .expect("S500 logs out");
    assert!(
        matches!(
            review(&c, "J-2", "S500", "5555"),
            Err(Rejection::RosterStale(ref s)) if s.badge == "S500"
        ),
        "verified online ends at the log-out"
    );
}

/// `traveler review --hub … --pin-stdin` with `pin`: (exit code, stderr).
fn review_at_hub(
    shop_addr: std::net::SocketAddr,
    token: &str,
    job: &str,
    by: &str,
    pin: &str,
) -> (i32, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(BIN)
        .args([
            "review",
            job,
            "--approve",
            "--comment",
            "record complete",
            "--by",
            by,
            "--pin-stdin",
            "--hub",
        ])
        .arg(format!("http://{shop_addr}"))
        .env("TRAVELER_HUB_TOKEN", token)
        .env("TRAVELER_STATE_DIR", tempfile::tempdir().unwrap().path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{pin}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_pins_of_a_review_at_the_hub_lock_the_reviewer_at_every_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let a = bench(&shop, "BENCH-A").await;
    let b = bench(&shop, "BENCH-B").await;
    submitted_job(&a.store, "J-1");
    // The hub holds the submission before the desk reviews it.
    let c = sql(&shop.url).await;
    loop {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM hub_records WHERE kind = 'job_submitted'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let desk = enrol(&shop.url, "DESK-1").await;
    for i in 1..=policy().max_failed_pins {
        let (code, err) = review_at_hub(shop.hub.addr, &desk, "J-1", "S400", "0000");
        assert_eq!(code, 1, "try {i}: {err}");
        assert!(err.contains("wrong PIN"), "{err}");
    }
    for (name, bench) in [("A", &a), ("B", &b)] {
        until_roster(&bench.store, "S400 locked", |r| {
            r.get("S400").is_some_and(|p| p.is_locked(Utc::now()))
        })
        .await;
        let c = core(&bench.store, &format!("BENCH-{name}"));
        assert!(
            matches!(
                login(&c, "S400", "4444"),
                Err(Rejection::Auth(AuthFailure::Locked { .. }))
            ),
            "bench {name}: S400's log-in is refused as locked"
        );
    }
    // Nothing was decided.
    assert_eq!(
        a.store.job("J-1").unwrap().unwrap().status,
        traveler::domain::job::JobStatus::Submitted
    );
}

/// `traveler verify --hub`: (exit code, stdout, stderr).
fn verify_hub(shop: &Shop, token: &str) -> (i32, String, String) {
    let o = std::process::Command::new(BIN)
        .args(["verify", "--hub"])
        .arg(format!("http://{}", shop.hub.addr))
        .args(["--hub-token", token])
        .env_remove("TRAVELER_HUB_TOKEN")
        .env("TRAVELER_STATE_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// How many copies of hub records the hub holds of `store`'s chain.
async fn copies_at_hub(shop: &Shop, store: &Store) -> i64 {
    sql(&shop.url)
        .await
        .query_one(
            "SELECT count(*) FROM hub_records WHERE store_id = $1 AND kind = 'hub_record_mirrored'",
            &[&store_id(store)],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_hub_checks_copies_of_hub_records_both_ways() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let token = enrol(&shop.url, "BENCH-V").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    let mut rx = spawn_with(store.clone(), config(shop.hub.addr, &token), fast());
    until_roster(&store, "the demo roster", |r| r.get("A900").is_some()).await;
    let copies = mirrored(&store).len() as i64;
    while copies_at_hub(&shop, &store).await < copies {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = store_id(&store);
    let (code, out, err) = verify_hub(&shop, &token);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "BENCH-V store {id}: {copies} copied hub record(s) are the hub's records, byte for byte"
        )),
        "{out}"
    );

    // A copy whose bytes are not the hub's record under its seq (written past the
    // core, as a damaged or forged store would hold it) fails the verify.
    let first = traveler::hub::chain::records(&sql(&shop.url).await)
        .await
        .unwrap()
        .remove(0);
    let text =
        String::from_utf8(traveler::store::canonical_bytes(&first.record, None).unwrap()).unwrap();
    let forged = text.replacen("\"actor\":\"", "\"actor\":\"X", 1);
    assert_ne!(forged, text);
    store
        .append(
            "system",
            Event::HubRecordMirrored {
                hub_seq: first.record.seq,
                hub_hash: first.hash_hex(),
                record: forged,
            },
        )
        .unwrap();
    let head = store.chain_head().seq;
    wait_state(
        &mut rx,
        "synced with the forged copy",
        |s| matches!(s, traveler::hub::SyncState::Synced { head: h } if *h >= head),
    )
    .await;
    let (code, out, _) = verify_hub(&shop, &token);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "FAILED BENCH-V store {id}: copy record {head} of hub record {}",
            first.record.seq
        )),
        "{out}"
    );
}

#[test]
fn the_roster_max_age_comes_from_policy_toml_and_a_bad_one_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(instructions()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let path = dir.path().join("policy.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[hub]\nroster_max_age_hours = 8\n")).unwrap();
    let loaded = traveler::instruction::load_dir(dir.path());
    assert_eq!(
        loaded.library.policy.unwrap().roster_max_age_hours,
        Some(8.0)
    );
    std::fs::write(&path, format!("{text}\n[hub]\nroster_max_age_hours = 0\n")).unwrap();
    let out = std::process::Command::new(BIN)
        .arg("check")
        .arg(dir.path())
        .env("TRAVELER_STATE_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{said}");
    let line = text.lines().count() + 3;
    assert!(
        said.contains(&format!("policy.toml:{line}:"))
            && said.contains("roster_max_age_hours = 0: give a number of hours above 0"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_enrolled_only_at_a_bench_is_refused_once_it_follows_the_hub() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    import_demo_roster(&shop).await;
    let token = enrol(&shop.url, "BENCH-L").await;
    let dir = tempfile::tempdir().unwrap();
    let store = store_support::open(dir.path());
    // Enrolled at this bench before it followed the hub: nobody can deactivate
    // them at the hub, so they may no longer log in or sign here.
    store
        .append_at(
            Utc::now(),
            "system",
            Event::PersonEnrolled {
                badge: "L001".into(),
                name: "Lee Local".into(),
                roles: vec![traveler::domain::types::Role::Technician],
                skill: traveler::domain::types::SkillLevel::Advanced,
                pin_hash: traveler::people::pin::hash_pin("246813").unwrap(),
            },
        )
        .unwrap();
    let c = core(&store, "BENCH-L");
    login(&c, "L001", "246813").expect("a bench on its own roster");
    let _rx = spawn_with(store.clone(), config(shop.hub.addr, &token), fast());
    until_roster(&store, "the shop roster", |r| {
        r.hub_since.is_some() && r.get("T100").is_some()
    })
    .await;
    let refused = login(&c, "L001", "246813");
    assert_eq!(
        refused,
        Err(Rejection::NotOnShopRoster {
            badge: "L001".into()
        })
    );
    let msg = refused.unwrap_err().to_string();
    assert!(
        msg.contains("not on the shop roster") && msg.contains("--hub"),
        "{msg}"
    );
    login(&c, "T100", "1111").expect("the shop roster logs in");
}
