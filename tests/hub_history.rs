//! Rework-cycle limits and board history across the shop (#16), against a real
//! PostgreSQL, a real hub service and real bench stores whose chains the real sync
//! task sends: a board reworked to its limit at bench A is refused at bench B while
//! the hub answers, counted at bench B only (and recorded so) while it does not, a
//! bench's own synced jobs count once, and bench B's new-job screen warns of a
//! mixed alloy used at bench A.

#[allow(dead_code)]
mod app_support;
mod hub_support;
#[allow(dead_code)]
mod tui_support;

use std::sync::Arc;

use chrono::Utc;
use hub_support::*;
use traveler::core::{Answer, Core, Request, RequestId};
use traveler::domain::board::{HistoryScope, HubMissing};
use traveler::domain::command::{Command, NewJob, Rejection};
use traveler::domain::event::Event;
use traveler::domain::policy::{CountedElsewhere, Refusal};
use traveler::domain::types::ProductClass;
use traveler::hub::SyncState;
use traveler::hub::boards::HubBoards;
use traveler::hub::server::Server;
use traveler::hub::sync::spawn_with;
use traveler::store::{OpenOptions, Store};
use traveler::tui::action::Action;
use tui_support::{Bench, library};

/// A bench's store with the demo roster and the shipped instructions released.
fn bench_store(dir: &std::path::Path) -> Store {
    let store = Store::open(dir.join("store"), OpenOptions::default()).unwrap();
    let lib = library();
    traveler::demo::seed(
        &store,
        lib.policy.as_ref().unwrap(),
        Utc::now().date_naive(),
    )
    .unwrap();
    traveler::demo::seed_releases(&store, &lib, Utc::now()).unwrap();
    store
}

struct Shop {
    hub: Option<Server>,
    addr: std::net::SocketAddr,
    a: String,
    b: String,
}

async fn shop(admin: &str) -> Shop {
    let db = hub_db(admin).await;
    let hub = start_hub(&db).await;
    let a = enrol(&db, "BENCH-A").await;
    let b = enrol(&db, "BENCH-B").await;
    Shop {
        addr: hub.addr,
        hub: Some(hub),
        a,
        b,
    }
}

/// A bench's core that asks the shop's hub about boards with its token.
fn core(store: &Store, bench: &str, shop: &Shop, token: &str) -> Core {
    Core::new(store.clone(), library(), bench)
        .with_boards(Arc::new(HubBoards::new(config(shop.addr, token))))
}

/// Runs the bench's sync task until the hub holds the store's whole chain.
async fn sync(shop: &Shop, store: &Store, token: &str) {
    let head = store.chain_head().seq;
    let mut rx = spawn_with(store.clone(), config(shop.addr, token), fast());
    wait_state(&mut rx, "synced", |s| *s == SyncState::Synced { head }).await;
}

fn bga(serial: &str, alloy: &str) -> Command {
    Command::StartJob(Box::new(NewJob {
        board_serial: serial.into(),
        assembly_part: "PCA-1001".into(),
        assembly_rev: "C".into(),
        refdes: vec!["U7".into()],
        defect_ref: "NCR-16".into(),
        approval_ref: String::new(),
        class: ProductClass::Class3,
        alloy: alloy.into(),
        instruction_id: "WI-BGA-001".into(),
    }))
}

/// T100 (expert, module 8) starts a job, as the bench's write worker asks: off
/// the async runtime, since the core blocks on the hub for at most its timeout.
async fn start(core: &Core, command: Command) -> Answer {
    let core = core.clone();
    tokio::task::spawn_blocking(move || {
        core.execute(Request {
            id: RequestId(1),
            by: "T100".into(),
            credentials: None,
            command,
        })
    })
    .await
    .unwrap()
}

/// The job id of an accepted start, and what its record says it counted.
fn started(a: Answer) -> (String, Event) {
    let acc = a.result.unwrap_or_else(|r| panic!("refused: {r}"));
    let job = acc.job.as_ref().expect("a job").id.clone();
    let counted = acc
        .events()
        .find(|e| matches!(e, Event::BoardHistoryCounted { .. }))
        .cloned()
        .expect("the start records where the board's history was counted");
    (job, counted)
}

fn rework_limit(r: &Rejection) -> &Refusal {
    match r {
        Rejection::StartRefused { refusals, .. } => refusals
            .iter()
            .find(|r| matches!(r, Refusal::ReworkLimit { .. }))
            .unwrap_or_else(|| panic!("no rework limit among {refusals:?}")),
        other => panic!("not a refused start: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_at_its_limit_at_bench_a_is_refused_at_bench_b_online_and_counted_here_only_offline()
 {
    let Some(admin) = pg_admin_url() else { return };
    let mut shop = shop(&admin).await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (bench_store(da.path()), bench_store(db.path()));
    let (a, b) = (
        core(&sa, "BENCH-A", &shop, &shop.a),
        core(&sb, "BENCH-B", &shop, &shop.b),
    );

    // Two BGA cycles at U7 at bench A: the Class 3 limit is 2.
    let (a1, first) = started(start(&a, bga("SN-LIM", "SAC305")).await);
    assert!(
        matches!(
            &first,
            Event::BoardHistoryCounted {
                jobs: 0,
                scope: HistoryScope::Shop { .. },
                ..
            }
        ),
        "{first:?}"
    );
    let (a2, second) = started(start(&a, bga("SN-LIM", "SAC305")).await);
    assert!(
        matches!(
            &second,
            Event::BoardHistoryCounted {
                jobs: 1,
                elsewhere: 0,
                ..
            }
        ),
        "bench A's own unsynced job counts from its store: {second:?}"
    );
    sync(&shop, &sa, &shop.a).await;

    // Bench B has never seen the board; the hub has, and the core refuses.
    let refused = start(&b, bga("SN-LIM", "SAC305")).await.result.unwrap_err();
    assert_eq!(
        rework_limit(&refused),
        &Refusal::ReworkLimit {
            refdes: "U7".into(),
            cycles: 2,
            max: 2,
            description: "BGA location rework cycles (Class 3)".into(),
            elsewhere: vec![
                CountedElsewhere {
                    bench: "BENCH-A".into(),
                    job: a1.clone(),
                    procedures_unknown: false,
                },
                CountedElsewhere {
                    bench: "BENCH-A".into(),
                    job: a2.clone(),
                    procedures_unknown: false,
                },
            ],
        }
    );
    let said = refused.to_string();
    assert!(
        said.contains(&format!(
            "U7 already reworked 2 time(s) (2 at BENCH-A: {a1}, {a2}); limit 2"
        )),
        "{said}"
    );
    assert!(
        !sb.events()
            .any(|r| matches!(r.unwrap().event, Event::JobStarted { .. })),
        "nothing started at bench B"
    );

    // Another board at bench B: shop-wide, as of the hub's snapshot.
    let (_, other) = started(start(&b, bga("SN-OTHER", "SAC305")).await);
    match &other {
        Event::BoardHistoryCounted {
            jobs: 0,
            scope: HistoryScope::Shop { as_of, .. },
            ..
        } => assert!(*as_of <= Utc::now()),
        e => panic!("{e:?}"),
    }

    // The hub goes down: bench B counts what it knows, starts, and says so.
    shop.hub.take().unwrap().stop().await;
    let (b1, offline) = started(start(&b, bga("SN-LIM", "SAC305")).await);
    match &offline {
        Event::BoardHistoryCounted {
            board_serial,
            jobs: 0,
            benches: 0,
            elsewhere: 0,
            scope: HistoryScope::Bench { why, detail },
            ..
        } => {
            assert_eq!(board_serial, "SN-LIM");
            assert_eq!(*why, HubMissing::Unreachable);
            assert!(detail.contains(&shop.addr.to_string()), "{detail}");
        }
        e => panic!("{e:?}"),
    }
    // The job's record carries it (summary, HTML and JSON read it from there).
    let job = sb.job(&b1).unwrap().unwrap();
    let kept = job.board_history.expect("folded from the record");
    assert!(kept.bench_only());
    assert!(
        kept.line()
            .starts_with("history: this bench only — hub unreachable"),
        "{}",
        kept.line()
    );
    // The job's HTML report and JSON record say it.
    use traveler::export::{ExportOptions, Scope};
    let scope = Scope {
        job: Some(b1.clone()),
        ..Scope::default()
    };
    let out = tempfile::tempdir().unwrap();
    let lib = traveler::core::library_with_archive(&sb, &library());
    traveler::export::html::write_html(
        &sb,
        &lib,
        &scope,
        &ExportOptions::default(),
        out.path(),
        &mut |_| {},
    )
    .unwrap();
    let html: String = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(html.contains("Board history counted"), "{html}");
    assert!(
        html.contains("history: this bench only — hub unreachable (0 earlier job(s) known here): cannot reach the hub"),
        "{html}"
    );
    let mut json = Vec::new();
    traveler::export::json::write_json(
        &sb,
        &lib,
        &scope,
        &ExportOptions::default(),
        &mut json,
        &mut |_| {},
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let counted = &json["jobs"][0]["job"]["board_history"];
    assert_eq!(counted["scope"]["bench"]["why"], "unreachable", "{json}");
    assert_eq!(counted["jobs"], 0, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_benchs_own_synced_jobs_count_once() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (bench_store(da.path()), bench_store(db.path()));
    let (a, b) = (
        core(&sa, "BENCH-A", &shop, &shop.a),
        core(&sb, "BENCH-B", &shop, &shop.b),
    );
    // One cycle here (synced: at the hub too), one at bench A.
    let (b1, _) = started(start(&b, bga("SN-ONCE", "SAC305")).await);
    sync(&shop, &sb, &shop.b).await;
    let (a1, _) = started(start(&a, bga("SN-ONCE", "SAC305")).await);
    sync(&shop, &sa, &shop.a).await;

    let counted = {
        let b = b.clone();
        tokio::task::spawn_blocking(move || b.board_history("SN-ONCE"))
            .await
            .unwrap()
            .unwrap()
    };
    let jobs: Vec<(&str, &str)> = counted
        .jobs
        .iter()
        .map(|j| (j.bench.as_str(), j.job.as_str()))
        .collect();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.contains(&("BENCH-A", a1.as_str())), "{jobs:?}");
    assert!(jobs.iter().any(|(_, j)| *j == b1), "{jobs:?}");
    assert_eq!((counted.benches(), counted.elsewhere()), (2, 1));
    // The hub's snapshot names both stores counted, at their heads.
    match &counted.scope {
        HistoryScope::Shop { heads, .. } => {
            let benches: Vec<&str> = heads.iter().map(|h| h.bench.as_str()).collect();
            assert_eq!(benches, ["BENCH-A", "BENCH-B"]);
            let b_head = heads.iter().find(|h| h.bench == "BENCH-B").unwrap();
            assert_eq!(b_head.seq, sb.chain_head().seq);
        }
        s => panic!("{s:?}"),
    }
    // Two cycles, not three: the limit is reached, bench A's job named.
    let refused = start(&b, bga("SN-ONCE", "SAC305"))
        .await
        .result
        .unwrap_err();
    match rework_limit(&refused) {
        Refusal::ReworkLimit {
            cycles, elsewhere, ..
        } => {
            assert_eq!(*cycles, 2);
            assert_eq!(
                elsewhere,
                &vec![CountedElsewhere {
                    bench: "BENCH-A".into(),
                    job: a1.clone(),
                    procedures_unknown: false,
                }]
            );
        }
        _ => unreachable!(),
    }
    assert!(refused.to_string().contains("(1 at BENCH-A: "), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_b_warns_of_a_mixed_alloy_used_at_bench_a_and_greys_what_bench_a_used_up() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let da = tempfile::tempdir().unwrap();
    let sa = bench_store(da.path());
    let a = core(&sa, "BENCH-A", &shop, &shop.a);
    for _ in 0..2 {
        started(start(&a, bga("SN-MIX", "Sn63Pb37")).await);
    }
    sync(&shop, &sa, &shop.a).await;

    // Bench B, headless: the real update, executor and core, asking the real hub.
    let addr = shop.addr;
    let token = shop.b.clone();
    let screen = tokio::task::spawn_blocking(move || {
        let mut b = Bench::demo();
        b.exec.core = b
            .exec
            .core
            .clone()
            .with_boards(Arc::new(HubBoards::new(config(addr, &token))));
        b.login("T100", "1111");
        // The serial scanned reads the board's history (the hub asked); the
        // assembly comes from bench A's jobs.
        b.new_job_details(&["SN-MIX"]);
        if let traveler::tui::state::Screen::Start(f) = &mut b.state.screen {
            assert_eq!(
                f.fields[1].value, "PCA-1001",
                "suggested from bench A's job"
            );
            f.fields[3].value = "U7".into();
        }
        b.choose_alloy("SAC305");
        b.state.size = (120, 40);
        let start = b.screen();
        // The trace screen (t) shows the board's jobs at bench A by bench.
        b.act(Action::Esc);
        b.act(Action::Command('t'));
        b.typ("SN-MIX");
        b.act(Action::Enter);
        (start, b.screen())
    })
    .await
    .unwrap();
    let (screen, trace) = screen;
    assert!(trace.contains("Board SN-MIX: 2 job(s)"), "{trace}");
    assert!(trace.contains("history: shop-wide as of"), "{trace}");
    assert_eq!(trace.matches(" BENCH-A BENCH-A-").count(), 2, "{trace}");
    assert!(trace.contains("U7: 2 rework cycle(s)"), "{trace}");
    assert!(
        screen.contains(
            "⚠ Mixed-alloy rework: board earlier reworked with Sn63Pb37 (at BENCH-A), now SAC305"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("history: shop-wide as of") && screen.contains("2 at other benches"),
        "{screen}"
    );
    assert!(
        screen.contains("U7 already reworked 2 time(s) (2 at BENCH-A:"),
        "the instruction is greyed with the core's reason:\n{screen}"
    );
}

/// A hub that accepts connections and never answers: the bench gives up after its
/// timeout, starts the job and records why (no PostgreSQL needed).
#[test]
fn a_hub_that_never_answers_does_not_hold_up_the_bench() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    // Accepted by the kernel's backlog and then left unanswered.
    let boards =
        HubBoards::with_timeout(config(addr, "tvh_x"), std::time::Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let core = Core::new(store.clone(), library(), "BENCH-B").with_boards(Arc::new(boards));
    let a = core.execute(Request {
        id: RequestId(1),
        by: "T100".into(),
        credentials: None,
        command: bga("SN-SILENT", "SAC305"),
    });
    let (_, counted) = started(a);
    match counted {
        Event::BoardHistoryCounted {
            scope: HistoryScope::Bench { why, detail },
            ..
        } => {
            assert_eq!(why, HubMissing::Unreachable);
            // reqwest's deadline or the lookup's own, whichever fires first.
            assert!(
                detail.contains("timed out") || detail.contains("no answer from"),
                "{detail}"
            );
        }
        e => panic!("{e:?}"),
    }
    drop(silent);
}

/// The new-job screen of a bench whose hub is down says so before anyone starts.
#[test]
fn the_new_job_screen_says_when_the_history_is_this_benchs_only() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut b = Bench::demo();
    b.exec.core = b
        .exec
        .core
        .clone()
        .with_boards(Arc::new(HubBoards::new(config(addr, "tvh_x"))));
    b.login("T100", "1111");
    b.new_job_details(&["SN-OFF"]);
    b.state.size = (120, 30);
    let screen = b.screen();
    assert!(
        screen.contains("history: this bench only — hub unreachable (0 earlier job(s) known here)"),
        "{screen}"
    );
}

/// `traveler history SERIAL` on bench B's store asks the configured hub first:
/// bench A's job is listed by bench, its own once; with the hub down it says the
/// history is this bench's only, and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traveler_history_asks_the_configured_hub_and_says_when_it_could_not() {
    let Some(admin) = pg_admin_url() else { return };
    let mut shop = shop(&admin).await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (bench_store(da.path()), bench_store(db.path()));
    let (a, b) = (
        core(&sa, "BENCH-A", &shop, &shop.a),
        core(&sb, "BENCH-B", &shop, &shop.b),
    );
    let (a1, _) = started(start(&a, bga("SN-CLI", "SAC305")).await);
    sync(&shop, &sa, &shop.a).await;
    let (b1, _) = started(start(&b, bga("SN-CLI", "SAC305")).await);
    sync(&shop, &sb, &shop.b).await;
    drop((b, sb)); // the binary opens the store itself
    let config = app_support::write_config(
        db.path(),
        "BENCH-B",
        &db.path().join("store"),
        &format!(
            "[hub]\nurl = \"http://{}\"\ntoken = \"{}\"\n",
            shop.addr, shop.b
        ),
    );
    let store_dir = db.path().join("store");
    let home = db.path().to_path_buf();
    let history = move |json: bool| {
        let mut cmd = std::process::Command::new(app_support::BIN);
        cmd.arg("--config")
            .arg(&config)
            .args(["history", "SN-CLI", "--store"])
            .arg(&store_dir)
            .env("HOME", &home)
            .env_remove("TRAVELER_HUB_TOKEN");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = tokio::task::spawn_blocking({
        let h = history.clone();
        move || h(false)
    })
    .await
    .unwrap();
    assert!(text.contains("Board SN-CLI: 2 job(s)"), "{text}");
    assert!(text.contains("history: shop-wide as of"), "{text}");
    assert!(
        text.contains("2 earlier job(s) from 2 bench(es), 1 at other benches"),
        "{text}"
    );
    let row = |who: &str, job: &str| text.lines().any(|l| l.contains(who) && l.contains(job));
    assert!(row("BENCH-A", &a1), "{text}");
    assert!(row("this bench", &b1), "{text}");
    let json: serde_json::Value = serde_json::from_str(
        &tokio::task::spawn_blocking({
            let h = history.clone();
            move || h(true)
        })
        .await
        .unwrap(),
    )
    .unwrap();
    let benches: Vec<&str> = json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["bench"].as_str().unwrap_or("here"))
        .collect();
    assert_eq!(benches.len(), 2, "{json}");
    assert!(
        benches.contains(&"BENCH-A") && benches.contains(&"here"),
        "{json}"
    );
    assert_eq!(json["cycles"][0]["cycles"], 2, "{json}");

    // --hub URL: the hub's copies alone, from the same look-up, as of its snapshot.
    let (url, tb) = (format!("http://{}", shop.addr), shop.b.clone());
    let at_hub = tokio::task::spawn_blocking(move || {
        std::process::Command::new(app_support::BIN)
            .args(["history", "SN-CLI", "--hub", &url, "--hub-token", &tb])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let at_hub = String::from_utf8(at_hub.stdout).unwrap();
    assert!(at_hub.contains("Board SN-CLI: 2 job(s)"), "{at_hub}");
    assert!(
        at_hub.contains("every bench's verified copy at the hub as of "),
        "{at_hub}"
    );
    assert!(
        at_hub.contains(&format!("U7       2  (BENCH-A:{a1}, BENCH-B:{b1})")),
        "{at_hub}"
    );

    shop.hub.take().unwrap().stop().await;
    let offline = tokio::task::spawn_blocking(move || history(false))
        .await
        .unwrap();
    assert!(offline.contains("Board SN-CLI: 1 job(s)"), "{offline}");
    assert!(
        offline.contains("history: this bench only — hub unreachable (1 earlier job(s) known here): cannot reach the hub"),
        "{offline}"
    );
}

/// The hub is asked before the store's decision lock is taken: while a start waits
/// on the hub, another command on the same store is decided and saved.
#[test]
fn a_start_waiting_on_the_hub_holds_up_no_other_decision() {
    use std::sync::mpsc;
    use traveler::domain::board::HubAnswer;

    /// Stands where the hub would answer: says when it is asked, then waits until
    /// the test lets it answer "unreachable".
    struct Gate {
        asked: std::sync::Mutex<mpsc::Sender<()>>,
        answer: std::sync::Mutex<mpsc::Receiver<()>>,
    }
    impl traveler::core::BoardLookup for Gate {
        fn board(&self, _serial: &str) -> HubAnswer {
            self.asked.lock().unwrap().send(()).unwrap();
            self.answer.lock().unwrap().recv().unwrap();
            Err(traveler::domain::board::HubUnavailable {
                why: HubMissing::Unreachable,
                detail: "held by the test".into(),
            })
        }
    }
    let (asked_tx, asked) = mpsc::channel();
    let (release, answer_rx) = mpsc::channel();
    let dir = tempfile::tempdir().unwrap();
    let store = bench_store(dir.path());
    let core = Core::new(store.clone(), library(), "BENCH-B").with_boards(Arc::new(Gate {
        asked: std::sync::Mutex::new(asked_tx),
        answer: std::sync::Mutex::new(answer_rx),
    }));
    let starting = {
        let core = core.clone();
        std::thread::spawn(move || {
            core.execute(Request {
                id: RequestId(1),
                by: "T100".into(),
                credentials: None,
                command: bga("SN-GATE", "SAC305"),
            })
        })
    };
    asked.recv().unwrap();
    // The start is waiting on the hub: a log-in on the same store goes through
    // (were the hub asked under the lock, it would wait for the start: the guard
    // below then fails the test instead of hanging it).
    let (done_tx, done) = mpsc::channel();
    {
        let core = core.clone();
        std::thread::spawn(move || {
            let _ = done_tx.send(core.execute(Request {
                id: RequestId(2),
                by: "T200".into(),
                credentials: Some(traveler::core::Credentials {
                    badge: "T200".into(),
                    pin: "2222".into(),
                }),
                command: Command::LogIn,
            }));
        });
    }
    let login = done.recv_timeout(std::time::Duration::from_secs(60));
    release.send(()).unwrap();
    let login = login.expect("the log-in waited for the start's question to the hub");
    assert!(login.result.is_ok(), "{:?}", login.result);
    let (_, counted) = started(starting.join().unwrap());
    assert!(matches!(
        counted,
        Event::BoardHistoryCounted {
            scope: HistoryScope::Bench {
                why: HubMissing::Unreachable,
                ..
            },
            ..
        }
    ));
}

/// A job an older traveler recorded at bench A (no procedures in its record) of an
/// instruction revision bench B does not hold: bench B counts it against every
/// rework limit on its locations and the refusal says so; the record of a job B
/// starts keeps how many were counted so, and names every store the hub read,
/// bench C (no job on the board) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_elsewhere_whose_procedures_are_unknown_here_counts_against_every_limit() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let hub = start_hub(&db).await;
    let (ta, tb, tc) = (
        enrol(&db, "BENCH-A").await,
        enrol(&db, "BENCH-B").await,
        enrol(&db, "BENCH-C").await,
    );
    let shop = Shop {
        addr: hub.addr,
        hub: Some(hub),
        a: ta.clone(),
        b: tb.clone(),
    };
    let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let (sa, sb, sc) = (
        bench_store(dirs[0].path()),
        bench_store(dirs[1].path()),
        bench_store(dirs[2].path()),
    );
    // As an older traveler recorded it: no procedures, a revision and text that
    // neither bench holds (today's folder has WI-BGA-001 at another revision).
    let old = |job: &str, serial: &str| Event::JobStarted {
        job: job.into(),
        board_serial: serial.into(),
        assembly_part: "PCA-1001".into(),
        assembly_rev: "C".into(),
        refdes: vec!["U7".into()],
        defect_ref: "NCR-9".into(),
        class: ProductClass::Class3,
        alloy: "SAC305".into(),
        instruction_id: "WI-BGA-001".into(),
        instruction_rev: "0-DRAFT".into(),
        instruction_hash: "e".repeat(64),
        step_count: 3,
        approval_ref: None,
        bench: "BENCH-A".into(),
        performer: "T100".into(),
        procedures: vec![],
    };
    sa.append("T100", old("BENCH-A-OLD-1", "SN-UNK")).unwrap();
    sa.append("T100", old("BENCH-A-OLD-2", "SN-UNK2")).unwrap();
    // Bench A counts its own old job the same way (one cycle: the start passes).
    let a = core(&sa, "BENCH-A", &shop, &ta);
    let (a2, at_a) = started(start(&a, bga("SN-UNK", "SAC305")).await);
    assert!(
        matches!(
            at_a,
            Event::BoardHistoryCounted {
                jobs: 1,
                unknown_procedures: 1,
                ..
            }
        ),
        "{at_a:?}"
    );
    sync(&shop, &sa, &ta).await;
    sync(&shop, &sc, &tc).await;

    // Bench B: two cycles at U7 at bench A, one of them by its unknown procedures.
    let b = core(&sb, "BENCH-B", &shop, &tb);
    let refused = start(&b, bga("SN-UNK", "SAC305")).await.result.unwrap_err();
    match rework_limit(&refused) {
        Refusal::ReworkLimit {
            cycles, elsewhere, ..
        } => {
            assert_eq!(*cycles, 2);
            assert_eq!(
                elsewhere,
                &vec![
                    CountedElsewhere {
                        bench: "BENCH-A".into(),
                        job: "BENCH-A-OLD-1".into(),
                        procedures_unknown: true,
                    },
                    CountedElsewhere {
                        bench: "BENCH-A".into(),
                        job: a2.clone(),
                        procedures_unknown: false,
                    },
                ]
            );
        }
        _ => unreachable!(),
    }
    let said = refused.to_string();
    assert!(
        said.contains(
            "procedures of job BENCH-A-OLD-1 at BENCH-A unknown here: counted against every limit on U7"
        ),
        "{said}"
    );

    // One such job on another board: the start passes, and its record says so.
    let (b1, counted) = started(start(&b, bga("SN-UNK2", "SAC305")).await);
    match &counted {
        Event::BoardHistoryCounted {
            jobs: 1,
            elsewhere: 1,
            unknown_procedures: 1,
            scope: HistoryScope::Shop { heads, .. },
            ..
        } => {
            let benches: Vec<&str> = heads.iter().map(|h| h.bench.as_str()).collect();
            // Bench B has not synced yet: the hub holds A and C.
            assert_eq!(benches, ["BENCH-A", "BENCH-C"], "{heads:?}");
            let c = heads.iter().find(|h| h.bench == "BENCH-C").unwrap();
            assert_eq!(
                c.seq,
                sc.chain_head().seq,
                "bench C had no job, at its head"
            );
        }
        e => panic!("{e:?}"),
    }
    // The stored record carries the field, and the summary and HTML say it.
    let stored = sb
        .events()
        .map(|r| r.unwrap())
        .find(|r| matches!(&r.event, Event::BoardHistoryCounted { job, .. } if *job == b1))
        .unwrap();
    assert_eq!(stored.event, counted);
    let kept = sb.job(&b1).unwrap().unwrap().board_history.unwrap();
    assert_eq!(kept.unknown_procedures, 1);
    let words = "1 with procedures unknown here, counted against every limit";
    assert!(kept.line().contains(words), "{}", kept.line());
    assert!(
        kept.text().contains("BENCH-C record"),
        "every store read is named: {}",
        kept.text()
    );
    use traveler::export::{ExportOptions, Scope};
    let out = tempfile::tempdir().unwrap();
    let lib = traveler::core::library_with_archive(&sb, &library());
    traveler::export::html::write_html(
        &sb,
        &lib,
        &Scope {
            job: Some(b1.clone()),
            ..Scope::default()
        },
        &ExportOptions::default(),
        out.path(),
        &mut |_| {},
    )
    .unwrap();
    let html: String = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(html.contains(words), "{html}");
}
