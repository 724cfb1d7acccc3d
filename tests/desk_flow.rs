//! The desk against a real PostgreSQL, a real hub service and real bench stores
//! synced by the bench's real sync task: the desk is driven through its own
//! actions (the keys its footer shows), its effects carried out against the hub,
//! and the hub's changes followed live. Every wait is on state (the desk's, the
//! bench store's, the hub's), never a sleep.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use hub_support::*;
use traveler::desk::state::{Field, Link, Modal};
use traveler::desk::{DeskState, Executor, Msg, follow, settle, start, update};
use traveler::domain::event::{ChannelSummary, Event};
use traveler::domain::job::{JobStatus, sample_stream};
use traveler::domain::policy::Policy;
use traveler::domain::types::{CheckResult, Meaning};
use traveler::hub::SyncState;
use traveler::hub::db::{self, Kind};
use traveler::hub::server::Server;
use traveler::hub::sync::spawn_with;
use traveler::store::{Store, StoredSample};
use traveler::tui::action::Action;

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

/// One attempt of step 0 of `job`: samples on tc1 rising through the window,
/// T100's signature and `inspector`'s inspection, sealed with the real digest.
fn attempt(store: &Store, job: &str, attempt: u32, inspector: &str) {
    let t = Utc::now();
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
    let stream = sample_stream(0, attempt);
    let samples: Vec<StoredSample> = (0..60)
        .map(|i| StoredSample {
            channel: "tc1".into(),
            time: t + chrono::Duration::milliseconds(500 * i),
            celsius: 180.0 + i as f64 * 1.2,
        })
        .collect();
    store.append_samples(job, stream, &samples).unwrap();
    store
        .append_at(
            t,
            "T100",
            store_support::signed(job, 0, 0, "T100", CheckResult::Pass),
        )
        .unwrap();
    let mut inspected = store_support::signed(job, 0, 1, inspector, CheckResult::Confirmed);
    if let Event::CheckpointSigned { meaning, .. } = &mut inspected {
        *meaning = Meaning::Inspected;
    }
    store.append_at(t, inspector, inspected).unwrap();
    let d = store.samples_digest(job, stream).unwrap();
    store
        .append_at(
            t,
            "T100",
            Event::StepCompleted {
                job: job.into(),
                step: 0,
                temperature: vec![ChannelSummary {
                    channel: "tc1".into(),
                    count: d.count,
                    min_c: 180.0,
                    max_c: 250.8,
                    mean_c: 215.4,
                    peak_c: 250.8,
                    above_liquidus_s: 0.0,
                    window_min_c: Some(200.0),
                    window_max_c: Some(245.0),
                    excursions: 0,
                }],
                sample_count: d.count,
                samples_digest: d.sha256,
                attempt,
            },
        )
        .unwrap();
}

/// A one-step job by T100, inspected by `inspector`, submitted.
fn submitted_job(store: &Store, job: &str, inspector: &str) {
    store
        .append_at(
            Utc::now(),
            "T100",
            store_support::started(job, "SN-9", "T100", 1),
        )
        .unwrap();
    attempt(store, job, 1, inspector);
    submit(store, job);
}

fn submit(store: &Store, job: &str) {
    store
        .append_at(Utc::now(), "T100", Event::JobSubmitted { job: job.into() })
        .unwrap();
}

struct Shop {
    url: String,
    hub: Option<Server>,
    addr: SocketAddr,
    bench_token: String,
    desk_token: String,
}

async fn serve(url: &str, addr: SocketAddr) -> Server {
    // A port just freed by the service before may take the OS a moment.
    for _ in 0..200 {
        if let Ok(s) = Server::start_with(url, addr, None, Some(policy())).await {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cannot listen on {addr} again");
}

async fn shop(admin: &str) -> Shop {
    let url = hub_db(admin).await;
    let hub = Server::start_with(&url, "127.0.0.1:0".parse().unwrap(), None, Some(policy()))
        .await
        .expect("start the hub");
    let pool = db::pool(&url).unwrap();
    let bench_token = db::enrol(&pool, "BENCH-A", Kind::Bench, false)
        .await
        .unwrap();
    let desk_token = db::enrol(&pool, "DESK-1", Kind::Desk, false).await.unwrap();
    Shop {
        url,
        addr: hub.addr,
        hub: Some(hub),
        bench_token,
        desk_token,
    }
}

impl Shop {
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn import(&self, store: &Store) {
        let pool = db::pool(&self.url).unwrap();
        traveler::hub::roster::import(&pool, store, Utc::now())
            .await
            .expect("import the roster");
    }

    fn sync(&self, store: &Store) -> tokio::sync::watch::Receiver<SyncState> {
        spawn_with(store.clone(), config(self.addr, &self.bench_token), fast())
    }

    async fn decisions(&self) -> i64 {
        sql(&self.url)
            .await
            .query_one(
                "SELECT count(*) FROM hub_chain WHERE kind = 'review_decided'",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }
}

/// The desk, headless: its state, its executor against the hub, and the live
/// changes the follower hears.
struct Desk {
    s: DeskState,
    exec: Executor,
    rx: mpsc::UnboundedReceiver<Msg>,
    follower: tokio::task::JoinHandle<()>,
}

impl Desk {
    async fn start(shop: &Shop) -> Desk {
        let exec = Executor::new(&shop.base(), &shop.desk_token, None).unwrap();
        let mut s = DeskState::new(&shop.base(), Utc::now());
        s.size = (120, 40);
        let (tx, rx) = mpsc::unbounded_channel();
        let follower = tokio::spawn(follow(exec.client().clone(), tx));
        let fx = start(&mut s);
        settle(&mut s, &exec, fx).await;
        Desk {
            s,
            exec,
            rx,
            follower,
        }
    }

    async fn act(&mut self, a: Action) {
        let fx = update(&mut self.s, Msg::Input(a));
        Box::pin(settle(&mut self.s, &self.exec, fx)).await;
    }

    /// A key as the keymap reads it: a letter is a command unless a field is typed in.
    async fn key(&mut self, c: char) {
        let a = traveler::tui::keymap::char_action(self.s.editing(), c);
        self.act(a).await;
    }

    async fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.act(Action::Char(c)).await;
        }
    }

    /// Feeds what the desk hears (changes, link) until `pred` holds.
    async fn until(&mut self, what: &str, pred: impl Fn(&DeskState) -> bool) {
        let r = tokio::time::timeout(Duration::from_secs(60), async {
            while !pred(&self.s) {
                let m = self.rx.recv().await.expect("the follower runs");
                let fx = update(&mut self.s, m);
                Box::pin(settle(&mut self.s, &self.exec, fx)).await;
            }
        })
        .await;
        if r.is_err() {
            panic!("the desk never showed {what}:\n{}", self.screen());
        }
    }

    fn screen(&self) -> String {
        let mut term = Terminal::new(TestBackend::new(self.s.size.0, self.s.size.1)).unwrap();
        term.draw(|f| traveler::desk::view::draw(&self.s, f))
            .unwrap();
        format!("{}", term.backend())
    }

    fn footer(&self) -> Vec<&'static str> {
        traveler::desk::keys::footer(&self.s)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    fn waiting(&self, job: &str) -> bool {
        self.s.queue.iter().any(|e| e.job == job)
    }

    /// Opens `job` from the queue: ↓ to it, Enter.
    async fn open(&mut self, job: &str) {
        let at = self
            .s
            .visible()
            .iter()
            .position(|e| e.job == job)
            .expect("the job is in the queue");
        self.act(Action::Home).await;
        for _ in 0..at {
            self.act(Action::Down).await;
        }
        assert!(self.footer().contains(&"Enter"), "{:?}", self.footer());
        self.act(Action::Enter).await;
        assert!(self.s.open.is_some(), "not opened:\n{}", self.screen());
    }

    /// a or x, then comment, badge and PIN, each with Enter.
    async fn decide(&mut self, key: char, comment: &str, badge: &str, pin: &str) {
        // Samples follow the records by a sync cycle; until the hub holds them the
        // desk greys a and x (the hub would refuse): read again until they are in.
        for _ in 0..1200 {
            if self.s.open.as_ref().is_none_or(|o| o.samples_pending == 0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.key('r').await;
        }
        assert!(self.footer().contains(&"a"), "{:?}", self.footer());
        self.key(key).await;
        self.typed(comment).await;
        self.act(Action::Enter).await;
        self.typed(badge).await;
        self.act(Action::Enter).await;
        self.typed(pin).await;
        self.act(Action::Enter).await;
    }

    fn dialog_error(&self) -> String {
        match &self.s.modal {
            Some(Modal::Decide(d)) => d.error.clone().unwrap_or_default(),
            other => panic!("no decision dialog: {other:?}"),
        }
    }

    fn flash(&self) -> String {
        self.s
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

async fn wait_job(
    store: &Store,
    id: &str,
    what: &str,
    pred: impl Fn(&traveler::domain::job::Job) -> bool,
) -> traveler::domain::job::Job {
    // The bench's sync task pulls decisions on its own schedule: poll the store.
    for _ in 0..1200 {
        if let Some(j) = store.job(id).unwrap()
            && pred(&j)
        {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "job {id} never {what}: {:?}",
        store.job(id).unwrap().map(|j| j.status)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_approves_a_job_submitted_at_bench_a_and_bench_a_shows_it_approved() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    shop.import(&store).await;
    let _sync = shop.sync(&store);
    let mut desk = Desk::start(&shop).await;
    desk.until("the live link", |s| s.link == Link::Live).await;
    assert!(desk.s.queue.is_empty());

    // Bench A submits while the desk sits on its queue: no key is pressed.
    submitted_job(&store, "JA-1", "I300");
    desk.until("JA-1 in the queue", |s| {
        s.queue.iter().any(|e| e.job == "JA-1")
    })
    .await;
    let entry = desk.s.queue.iter().find(|e| e.job == "JA-1").unwrap();
    assert_eq!(entry.bench, "BENCH-A");
    assert!(desk.screen().contains("BENCH-A"), "{}", desk.screen());

    desk.open("JA-1").await;
    let open = desk.s.open.as_ref().unwrap();
    assert!(open.submission.is_some());
    let (job, _) = open.review.open.as_ref().unwrap();
    assert_eq!(job.status, JobStatus::Submitted);
    assert_eq!(job.history.len(), 2, "both signatures are in the record");
    // Samples may follow the records: once the hub holds them the chart is there.
    if open.review.traces.is_empty() {
        let store_id = store_id(&store);
        let pool = db::pool(&shop.url).unwrap();
        for _ in 0..1200 {
            let c = db::client(&pool).await.unwrap();
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM hub_samples WHERE store_id = $1",
                    &[&store_id],
                )
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        desk.key('r').await;
    }
    let open = desk.s.open.as_ref().unwrap();
    assert_eq!(open.review.traces.len(), 1, "{}", desk.screen());
    let trace = &open.review.traces[0];
    assert_eq!(trace.channel, "tc1");
    assert_eq!(trace.window, Some((200.0, 245.0)));
    assert_eq!(trace.points.len(), 60);
    // Tab shows the chart page; Tab again the record.
    desk.act(Action::Tab).await;
    assert!(desk.screen().contains("Step 1 · tc1"), "{}", desk.screen());
    desk.act(Action::Tab).await;

    // A second desk has the same job open.
    let mut other = Desk::start(&shop).await;
    other.open("JA-1").await;

    desk.decide('a', "record complete", "S500", "5555").await;
    assert!(desk.s.modal.is_none(), "{}", desk.screen());
    assert!(desk.flash().contains("approved"), "{}", desk.flash());
    assert!(
        desk.flash().contains("recorded at the hub"),
        "{}",
        desk.flash()
    );
    assert!(!desk.waiting("JA-1"), "the queue no longer holds it");

    // The second desk's decision on the same submission: refused, said why.
    other.decide('x', "not so fast", "S400", "4444").await;
    let e = other.dialog_error();
    assert!(e.contains("already approved at the hub by S500"), "{e}");
    other
        .until("JA-1 gone from its queue too", |s| {
            !s.queue.iter().any(|e| e.job == "JA-1")
        })
        .await;

    // Bench A shows it approved: the decision mirrored into its own chain.
    let job = wait_job(&store, "JA-1", "approved", |j| {
        j.status == JobStatus::Approved
    })
    .await;
    assert_eq!(job.reviews.last().unwrap().reviewer, "S500");
    assert_eq!(shop.decisions().await, 1);
    // Dated when the hub decided (its record's time), not when the bench mirrored it.
    let decided: String = sql(&shop.url)
        .await
        .query_one(
            "SELECT doc ->> 'time' FROM hub_chain WHERE kind = 'review_decided'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let decided: chrono::DateTime<Utc> = decided.parse().unwrap();
    let mirrored = store
        .stored_events()
        .map(|r| r.unwrap().record)
        .find_map(|r| match r.event {
            Event::ReviewMirrored { decided_at, .. } => Some(decided_at),
            _ => None,
        })
        .unwrap();
    assert_eq!(mirrored, Some(decided));
    assert_eq!(job.reviews.last().unwrap().time, decided);
    shop.hub.unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_at_the_desk_reaches_the_technician_who_redoes_and_the_desk_approves_again() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    shop.import(&store).await;
    let _sync = shop.sync(&store);
    submitted_job(&store, "JA-2", "I300");
    let mut desk = Desk::start(&shop).await;
    desk.until("JA-2 in the queue", |s| {
        s.queue.iter().any(|e| e.job == "JA-2")
    })
    .await;
    desk.open("JA-2").await;
    desk.decide('x', "fillet on U7 too small, redo", "S500", "5555")
        .await;
    assert!(desk.flash().contains("rejected"), "{}", desk.flash());

    // The technician sees the reason at the bench.
    let job = wait_job(&store, "JA-2", "rejected", |j| {
        j.status == JobStatus::Rejected
    })
    .await;
    assert_eq!(
        job.reviews.last().unwrap().comment,
        "fillet on U7 too small, redo"
    );

    // Redoes the step (a second attempt with its own samples) and submits again.
    store
        .append_at(
            Utc::now(),
            "T100",
            Event::StepRedone {
                job: "JA-2".into(),
                step: 0,
                reason: "fillet on U7 too small, redo".into(),
            },
        )
        .unwrap();
    attempt(&store, "JA-2", 2, "I300");
    submit(&store, "JA-2");
    desk.until("the resubmission in the queue", |s| {
        s.queue.iter().any(|e| e.job == "JA-2")
    })
    .await;
    desk.open("JA-2").await;
    let open = desk.s.open.as_ref().unwrap();
    let (job, _) = open.review.open.as_ref().unwrap();
    assert_eq!(job.steps[0].attempt(), 2, "the record holds both attempts");
    assert_eq!(job.reviews.len(), 1, "the rejection is in the record");
    desk.decide('a', "redone, fillet good", "S400", "4444")
        .await;
    assert!(desk.flash().contains("approved"), "{}", desk.flash());
    let job = wait_job(&store, "JA-2", "approved", |j| {
        j.status == JobStatus::Approved
    })
    .await;
    assert_eq!(job.reviews.len(), 2);
    assert_eq!(job.reviews.last().unwrap().reviewer, "S400");
    assert_eq!(shop.decisions().await, 2);
    shop.hub.unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_shows_the_hubs_refusals_and_keeps_what_was_typed() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    shop.import(&store).await;
    let _sync = shop.sync(&store);
    // S400 inspected this one: S400 may not review it.
    submitted_job(&store, "JA-3", "S400");
    let mut desk = Desk::start(&shop).await;
    desk.until("JA-3 in the queue", |s| {
        s.queue.iter().any(|e| e.job == "JA-3")
    })
    .await;
    desk.open("JA-3").await;

    // Self-review: the bench's rule, decided at the hub.
    desk.decide('a', "looks fine", "S400", "4444").await;
    let e = desk.dialog_error();
    assert!(e.starts_with("Refused:"), "{e}");
    let Some(Modal::Decide(d)) = &desk.s.modal else {
        unreachable!()
    };
    // The rule's own refusal (own work), not a PIN's or any other.
    match &d.refusal {
        Some(traveler::hub::review::ReviewRefusal::Rules { rejection, .. }) => {
            assert_eq!(
                rejection["NotAllowed"]["refusal"],
                serde_json::to_value(traveler::domain::policy::Refusal::OwnWork).unwrap(),
                "{rejection}"
            );
        }
        other => panic!("{other:?}: {e}"),
    }
    assert_eq!(d.comment.value, "looks fine", "the comment stays");
    assert!(d.pin.value.is_empty(), "the PIN does not");
    assert!(desk.screen().contains("Refused"), "{}", desk.screen());

    // Wrong PINs, up to the policy's lockout: the hub says so each time.
    let max = policy().max_failed_pins;
    desk.act(Action::Esc).await;
    for n in 1..=max {
        desk.decide('a', "looks fine", "S500", "0000").await;
        let e = desk.dialog_error();
        if n < max {
            assert!(e.contains("wrong PIN"), "{n}: {e}");
        } else {
            assert!(e.contains("locked until"), "{n}: {e}");
        }
        desk.act(Action::Esc).await;
    }
    // Locked: even the right PIN is refused now.
    desk.decide('a', "looks fine", "S500", "5555").await;
    assert!(
        desk.dialog_error().contains("locked"),
        "{}",
        desk.dialog_error()
    );
    desk.act(Action::Esc).await;
    assert_eq!(shop.decisions().await, 0);

    // An unsynced submission: bench B submits, its sync has not run. The desk
    // does not list it, finds no record of it, and offers no decision.
    let dir_b = tempfile::tempdir().unwrap();
    let store_b = bench_store(dir_b.path());
    submitted_job(&store_b, "JB-1", "I300");
    desk.act(Action::Esc).await;
    assert!(desk.s.open.is_none());
    desk.key('g').await;
    desk.typed("JB-1").await;
    desk.act(Action::Enter).await;
    let Some(Modal::Find(f)) = &desk.s.modal else {
        panic!("no find dialog:\n{}", desk.screen())
    };
    assert!(
        f.error
            .as_deref()
            .unwrap_or_default()
            .contains("not synced"),
        "{f:?}"
    );
    desk.act(Action::Esc).await;
    assert!(!desk.waiting("JB-1"));
    shop.hub.unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_down_while_the_desk_reviews_loses_nothing_and_the_retry_is_recorded_once() {
    let Some(admin) = pg_admin_url() else { return };
    let mut shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    shop.import(&store).await;
    let _sync = shop.sync(&store);
    submitted_job(&store, "JA-4", "I300");
    let mut desk = Desk::start(&shop).await;
    desk.until("JA-4 in the queue", |s| {
        s.queue.iter().any(|e| e.job == "JA-4")
    })
    .await;
    desk.open("JA-4").await;
    desk.key('x').await;
    desk.typed("solder ball under U7").await;
    desk.act(Action::Enter).await;
    desk.typed("S500").await;
    desk.act(Action::Enter).await;

    // The hub goes down before the PIN is sent.
    shop.hub.take().unwrap().stop().await;
    desk.typed("5555").await;
    desk.act(Action::Enter).await;
    let e = desk.dialog_error();
    assert!(e.contains("did not answer"), "{e}");
    assert!(e.contains("Nothing is lost"), "{e}");
    let Some(Modal::Decide(d)) = &desk.s.modal else {
        unreachable!()
    };
    assert_eq!(d.comment.value, "solder ball under U7");
    assert_eq!(d.badge.value, "S500");
    assert_eq!(d.focus, Field::Pin);
    assert!(matches!(desk.s.link, Link::Unreachable { .. }));
    assert!(
        desk.screen().contains("hub unreachable"),
        "{}",
        desk.screen()
    );
    assert_eq!(shop.decisions().await, 0, "nothing half-recorded");

    // Back: the desk sees it by itself; the retry is recorded, once.
    shop.hub = Some(serve(&shop.url, shop.addr).await);
    desk.until("the hub back", |s| s.link == Link::Live).await;
    desk.typed("5555").await;
    desk.act(Action::Enter).await;
    assert!(desk.s.modal.is_none(), "{}", desk.screen());
    assert!(desk.flash().contains("rejected"), "{}", desk.flash());
    assert_eq!(shop.decisions().await, 1);
    let job = wait_job(&store, "JA-4", "rejected", |j| {
        j.status == JobStatus::Rejected
    })
    .await;
    assert_eq!(job.reviews.last().unwrap().comment, "solder ball under U7");
    shop.hub.take().unwrap().stop().await;
}

/// A submission whose records reached the hub before the samples its step's seal
/// covers: the desk greys approve and reject and says why, the hub refuses a
/// decision sent anyway (`SamplesNotReceived`), and once the bench syncs the
/// samples the decision is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_decision_before_the_samples_of_every_sealed_step_reach_the_hub() {
    use traveler::hub::review::{ReviewRefusal, ReviewRequest, SendError, send};
    use traveler::hub::wire::OfferedRecord;
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    shop.import(&store).await;
    submitted_job(&store, "JS-1", "I300");
    // The records only, as a sync cycle cut short before the samples.
    let records: Vec<OfferedRecord> = store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            OfferedRecord {
                seq: r.record.seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect();
    let pool = db::pool(&shop.url).unwrap();
    let caller = db::Caller {
        bench: "BENCH-A".into(),
        kind: Kind::Bench,
    };
    let sid = store_id(&store);
    db::ingest(&pool, &caller, &sid, &records).await.unwrap();

    let mut desk = Desk::start(&shop).await;
    desk.open("JS-1").await;
    let open = desk.s.open.as_ref().unwrap();
    assert_eq!(open.samples_pending, 1, "{}", desk.screen());
    let (submitted_seq, submitted_hash) = open.submission.clone().unwrap();
    assert!(!desk.footer().contains(&"a"), "{:?}", desk.footer());
    assert!(!desk.footer().contains(&"x"), "{:?}", desk.footer());
    assert!(
        desk.screen().contains("no decision until they arrive"),
        "{}",
        desk.screen()
    );
    // Sent anyway (an older desk): the hub refuses, typed, and records nothing.
    let req = ReviewRequest {
        store_id: sid.clone(),
        job: "JS-1".into(),
        submitted_seq,
        submitted_hash,
        decision: traveler::domain::types::Decision::Approved,
        comment: "looks fine".into(),
        badge: "S500".into(),
        pin: "5555".into(),
    };
    let seal = store
        .stored_events()
        .map(|r| r.unwrap().record)
        .filter(|r| matches!(r.event, Event::StepCompleted { .. }))
        .last()
        .unwrap()
        .seq;
    match send(&shop.base(), &shop.desk_token, None, &req).await {
        Err(SendError::Refused(ReviewRefusal::SamplesNotReceived { job, seals })) => {
            assert_eq!(job, "JS-1");
            assert_eq!(seals, [seal]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(shop.decisions().await, 0);

    // The bench syncs the samples: the decision goes through.
    let _sync = shop.sync(&store);
    desk.decide('a', "looks fine", "S500", "5555").await;
    assert!(desk.s.modal.is_none(), "{}", desk.screen());
    assert!(desk.flash().contains("approved"), "{}", desk.flash());
    assert_eq!(shop.decisions().await, 1);
    drop(desk);
    shop.hub.unwrap().stop().await;
}

/// The open submissions the database keeps (migrations 4 and 5) are the ones the
/// records say: built from the records already held when the migrations run, then
/// kept by the trigger as records arrive; the same as the query over every record.
/// A decision made at the desk (`review_mirrored`) closes a submission as one made
/// at the bench does, before the migrations ran and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_submissions_the_database_keeps_match_the_records() {
    use traveler::hub::migrate::MIGRATIONS;
    use traveler::hub::wire::OfferedRecord;
    let Some(admin) = pg_admin_url() else { return };
    let url = fresh_db(&admin).await;
    let c = sql(&url).await;
    // A hub at schema 3, as before this migration.
    c.batch_execute(
        "CREATE TABLE hub_schema (version integer PRIMARY KEY, name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    for (v, name, text) in &MIGRATIONS[..3] {
        c.batch_execute(text).await.unwrap();
        c.execute(
            "INSERT INTO hub_schema (version, name) VALUES ($1, $2)",
            &[v, name],
        )
        .await
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let review = |job: &str| Event::JobReviewed {
        job: job.into(),
        decision: traveler::domain::types::Decision::Rejected,
        reviewer: "S500".into(),
        reviewer_name: "x".into(),
        comment: "redo".into(),
    };
    // A decision made at the desk, as the bench chain holds it.
    let mirrored = |store: &Store, job: &str| {
        let submitted_seq = store
            .stored_events()
            .map(|r| r.unwrap().record)
            .filter(|r| matches!(&r.event, Event::JobSubmitted { job: j } if j == job))
            .last()
            .unwrap()
            .seq;
        store
            .append_at(
                Utc::now(),
                "S500",
                Event::ReviewMirrored {
                    job: job.into(),
                    decision: traveler::domain::types::Decision::Approved,
                    reviewer: "S500".into(),
                    reviewer_name: "x".into(),
                    comment: String::new(),
                    submitted_seq,
                    hub_seq: 1,
                    hub_hash: "00".repeat(32),
                    decided_at: None,
                },
            )
            .unwrap();
    };
    // Waiting; reviewed; reviewed then submitted again; aborted; decided at the
    // desk before the migration runs (M-1) and after (M-2).
    for job in ["W-1", "R-1", "RS-1", "A-1", "M-1", "M-2"] {
        submitted_job(&store, job, "I300");
    }
    mirrored(&store, "M-1");
    store.append_at(Utc::now(), "S500", review("R-1")).unwrap();
    store.append_at(Utc::now(), "S500", review("RS-1")).unwrap();
    submit(&store, "RS-1");
    store
        .append_at(
            Utc::now(),
            "T100",
            Event::JobAborted {
                job: "A-1".into(),
                reason: "board scrapped".into(),
            },
        )
        .unwrap();
    mirrored(&store, "M-2");
    let records: Vec<OfferedRecord> = store
        .stored_events()
        .map(|r| {
            let r = r.unwrap();
            OfferedRecord {
                seq: r.record.seq,
                hash: r.hash,
                bytes: r.canonical,
            }
        })
        .collect();
    let pool = db::pool(&url).unwrap();
    db::enrol(&pool, "BENCH-A", Kind::Bench, false)
        .await
        .unwrap();
    let caller = db::Caller {
        bench: "BENCH-A".into(),
        kind: Kind::Bench,
    };
    let sid = store_id(&store);
    let (before, after) = records.split_at(records.len() - 4);
    db::ingest(&pool, &caller, &sid, before).await.unwrap();
    let mut c2 = sql(&url).await;
    traveler::hub::migrate::migrate(&mut c2).await.unwrap();
    db::ingest(&pool, &caller, &sid, after).await.unwrap();

    let kept: Vec<(String, i64)> = c
        .query(
            "SELECT job, seq FROM hub_open_submissions ORDER BY job",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let by_records: Vec<(String, i64)> = c
        .query(
            "SELECT r.job, max(r.seq) FROM hub_records r WHERE r.kind = 'job_submitted'
             AND NOT EXISTS (SELECT 1 FROM hub_records l WHERE l.store_id = r.store_id
                 AND l.job = r.job AND l.kind IN ('job_reviewed', 'job_aborted', 'review_mirrored') AND l.seq > r.seq)
             GROUP BY r.job ORDER BY r.job",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(kept, by_records);
    let jobs: Vec<&str> = kept.iter().map(|(j, _)| j.as_str()).collect();
    assert_eq!(jobs, ["RS-1", "W-1"]);
}

/// Several hub services behind one address: a desk's long-poll that names another
/// service waits from this service's current count (instead of answering at once,
/// which sent the desk into a tight loop of re-reads), and answers when a change
/// comes, naming this service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_naming_another_service_waits_for_a_change_here() {
    use traveler::hub::notify::{CHANNEL, Listener};
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let listener = Listener::spawn(&url);
    for _ in 0..1200 {
        if listener.now().listening {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = listener.now();
    assert!(before.listening);
    let l = listener.clone();
    let mut poll = tokio::spawn(async move {
        l.after(Some("another-service"), 0, Duration::from_secs(60))
            .await
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut poll)
            .await
            .is_err(),
        "answered at once, with nothing changed"
    );
    sql(&url)
        .await
        .batch_execute(&format!("NOTIFY {CHANNEL}"))
        .await
        .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(30), poll)
        .await
        .expect("the change is heard")
        .unwrap();
    assert_eq!(heard.service, before.service);
    assert!(heard.generation > before.generation);
    listener.close();
}
