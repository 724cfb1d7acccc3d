//! The bench application itself (the real binary in tmux, with a `[hub]` table)
//! counts a board's jobs at every bench: bench A's two BGA cycles grey the
//! instruction at bench B with the core's reason naming bench A's jobs; with the hub
//! down the new-job screen says the history is this bench's only, the job starts,
//! and its record says why.

#[allow(dead_code)]
mod app_support;
mod hub_support;

use std::sync::Arc;
use std::time::Duration;

use app_support::App;
use chrono::Utc;
use hub_support::*;
use traveler::core::{Core, Request, RequestId};
use traveler::domain::board::{HistoryScope, HubMissing};
use traveler::domain::command::{Command, NewJob};
use traveler::domain::event::Event;
use traveler::domain::types::ProductClass;
use traveler::hub::SyncState;
use traveler::hub::boards::HubBoards;
use traveler::hub::sync::spawn_with;
use traveler::store::{OpenOptions, Store};

fn library() -> Arc<traveler::instruction::Library> {
    Arc::new(traveler::instruction::load_dir(&app_support::instructions()).library)
}

fn bench_store(dir: &std::path::Path) -> Store {
    let store = Store::open(dir, OpenOptions::default()).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_b_greys_what_bench_a_used_up_and_says_when_it_counted_alone() {
    let Some(admin) = pg_admin_url() else { return };
    let db = hub_db(&admin).await;
    let hub = start_hub(&db).await;
    let (ta, tb) = (enrol(&db, "BENCH-A").await, enrol(&db, "BENCH-B").await);

    // Bench A: two BGA cycles at U7 (the Class 3 limit), sent to the hub.
    let da = tempfile::tempdir().unwrap();
    let sa = bench_store(&da.path().join("store"));
    let a = Core::new(sa.clone(), library(), "BENCH-A")
        .with_boards(Arc::new(HubBoards::new(config(hub.addr, &ta))));
    let mut jobs_a = Vec::new();
    for n in 0..2 {
        let a = a.clone();
        let answer = tokio::task::spawn_blocking(move || {
            a.execute(Request {
                id: RequestId(n),
                by: "T100".into(),
                credentials: None,
                command: Command::StartJob(Box::new(NewJob {
                    board_serial: "SN-TMUX".into(),
                    assembly_part: "PCA-1001".into(),
                    assembly_rev: "C".into(),
                    refdes: vec!["U7".into()],
                    defect_ref: "NCR-16".into(),
                    approval_ref: String::new(),
                    class: ProductClass::Class3,
                    alloy: "SAC305".into(),
                    instruction_id: "WI-BGA-001".into(),
                })),
            })
        })
        .await
        .unwrap();
        jobs_a.push(answer.result.unwrap().job.unwrap().id);
    }
    let head = sa.chain_head().seq;
    let mut rx = spawn_with(sa.clone(), config(hub.addr, &ta), fast());
    wait_state(&mut rx, "synced", |s| *s == SyncState::Synced { head }).await;

    // Bench B: its own store and roster, the application with the hub configured.
    let dir = tempfile::tempdir().unwrap();
    let store_b = dir.path().join("store");
    drop(bench_store(&store_b));
    let cfg = app_support::write_config(
        dir.path(),
        "BENCH-B",
        &store_b,
        &format!("[hub]\nurl = \"http://{}\"\ntoken = \"{tb}\"\n", hub.addr),
    );
    let app = App::start_with(
        "history",
        dir.path(),
        &format!("--config {}", cfg.display()),
        40,
    );
    // Typed at a person's pace (a burst ending in Enter reads as a scan).
    let typed = |keys: &[&str]| {
        app.keys(keys);
        std::thread::sleep(Duration::from_millis(150));
    };
    let new_job = || {
        typed(&["n"]);
        for field in ["SN-TMUX", "PCA-1001", "C", "U7", "NCR-16"] {
            typed(&[field, "Enter"]);
        }
        typed(&["Enter", "Enter", "Enter"]); // approval (none), class, alloy
    };
    app.wait_for("scan your badge");
    typed(&["T100", "Enter"]);
    typed(&["1111", "Enter"]);
    app.wait_for("Your open jobs");
    new_job();
    app.wait_for("history: shop-wide as of");
    let reason = format!(
        "U7 already reworked 2 time(s) (2 at BENCH-A: {}, {})",
        jobs_a[0], jobs_a[1]
    );
    // WI-BGA-001 is the first instruction: selected, greyed with the core's reason.
    app.wait_for(&reason);
    typed(&["Enter"]);
    let screen = app.wait_for("WI-BGA-001 cannot start");
    assert!(!screen.contains("Step 1/"), "{screen}");

    // The hub goes down; the same board at bench B is counted here only.
    hub.stop().await;
    typed(&["Escape"]);
    app.wait_for("Your open jobs");
    new_job();
    app.wait_for("history: this bench only — hub unreachable (0 earlier job(s) known here)");
    typed(&["Enter"]);
    app.wait_for("Step 1/");
    app.quit();
    drop(app);

    let sb = Store::open_existing(&store_b, OpenOptions::default()).unwrap();
    let counted: Vec<Event> = sb
        .events()
        .map(|r| r.unwrap().event)
        .filter(|e| matches!(e, Event::BoardHistoryCounted { .. }))
        .collect();
    match counted.as_slice() {
        [
            Event::BoardHistoryCounted {
                board_serial,
                scope: HistoryScope::Bench { why, detail },
                ..
            },
        ] => {
            assert_eq!(board_serial, "SN-TMUX");
            assert_eq!(*why, HubMissing::Unreachable);
            assert!(!detail.is_empty());
        }
        other => panic!("{other:?}"),
    }
}
