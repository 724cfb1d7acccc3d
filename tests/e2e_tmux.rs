//! The real binary in a real terminal: tmux runs `traveler` against a station
//! simulated on a pseudo-terminal, a person logs in, runs a job, signs, scans a
//! lot and submits; then the store on disk is checked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use traveler::domain::event::Event;
use traveler::store::{OpenOptions, Store};

// The desk window beside the bench's: a real hub over a real PostgreSQL.
#[allow(dead_code)]
mod app_support;
mod hub_support;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

const WI: &str = r#"id = "WI-E2E-001"
revision = "A"
title = "End-to-end check: heat and inspect one joint"
activity = "rework"
procedures = ["7711 3.1.1"]
classes = [1, 2, 3]
skill = "intermediate"
modules = [4]
equipment = ["Soldering station"]

[[material]]
id = "flux"
kind = "flux"
name = "No-clean flux"
capture_lot = true
capture_expiry = false

[[step]]
text = "Flux and heat the joint."
temperature = { channel = "tip", min = 0.0, max = 900.0 }
materials = ["flux"]

[[step.checkpoint]]
text = "Joint heated"
acceptance = "ORG-QP-1"
signer = "technician"
kind = "confirm"

[[step]]
text = "Inspect the joint."

[[step.checkpoint]]
text = "Fillet acceptable"
acceptance = "IPC-A-610 7.3.5"
signer = "inspector"
kind = "pass-fail"
"#;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }
    fn keys(&self, keys: &[&str]) {
        let ok = self
            .cmd()
            .args(["send-keys", "-t", "e2e"])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
        std::thread::sleep(Duration::from_millis(150));
    }
    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "e2e"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn alive(&self) -> bool {
        self.cmd()
            .args(["has-session", "-t", "e2e"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").stderr(Stdio::null()).status();
    }
}

struct Sim(Child);
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture(dir: &Path) -> PathBuf {
    let wi = dir.join("instructions");
    std::fs::create_dir_all(&wi).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    for f in ["procedures.toml", "alloys.toml", "policy.toml"] {
        std::fs::copy(shipped.join(f), wi.join(f)).unwrap();
    }
    std::fs::write(wi.join("WI-E2E-001.toml"), WI).unwrap();
    wi
}

#[test]
fn a_job_runs_in_the_real_binary_with_a_pty_station() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed for this test (.ci/run installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let instructions = fixture(dir.path());
    let link = dir.path().join("bench0");
    let _sim = Sim(Command::new(BIN)
        .args([
            "station",
            "sim",
            "--protocol",
            "ascii-line",
            "--rate",
            "10",
            "--link",
        ])
        .arg(&link)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let start = Instant::now();
    while !link.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the simulator made no pty link"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let station = dir.path().join("station.toml");
    std::fs::write(
        &station,
        format!(
            "[station]\nport = \"{}\"\nchannels = [{{ name = \"tip\" }}, {{ name = \"preheat\" }}, {{ name = \"board\" }}]\n\n[station.protocol]\nkind = \"ascii-line\"\nfields = {{ tip = 1, preheat = 2, board = 3 }}\n",
            link.display()
        ),
    )
    .unwrap();
    let store_dir = dir.path().join("store");

    let tmux = Tmux {
        socket: format!("traveler-e2e-{}", std::process::id()),
    };
    let app = format!(
        "env HOME={home} LANG=C.UTF-8 {BIN} --demo --bench E2E --store {store} --station {station} --instructions {wi}",
        home = dir.path().display(),
        store = store_dir.display(),
        station = station.display(),
        wi = instructions.display(),
    );
    let ok = tmux
        .cmd()
        .args([
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "100",
            "-y",
            "30",
            &app,
        ])
        .status()
        .unwrap();
    assert!(ok.success());

    tmux.wait_for("scan your badge");
    // A wrong PIN, then the badge scanned again (a burst, as a scanner sends it)
    // while the PIN field has the keyboard: it restarts the log-in, no PIN try.
    tmux.keys(&["T100", "Enter"]);
    tmux.keys(&["0000", "Enter"]);
    tmux.wait_for("wrong PIN");
    tmux.keys(&["T100", "Enter"]);
    let screen = tmux.screen();
    assert!(!screen.contains("wrong PIN"), "{screen}");
    tmux.keys(&["1111", "Enter"]);
    tmux.wait_for("Your open jobs");
    tmux.keys(&["n"]);
    for field in ["SN-E2E-1", "PCA-9", "B", "R12", "NCR-1"] {
        tmux.keys(&[field, "Enter"]);
    }
    tmux.keys(&["Enter", "Enter", "Enter"]); // approval (none), class, alloy
    tmux.keys(&["Enter"]); // the only instruction
    tmux.wait_for("Step 1/2");
    tmux.wait_for("connected");

    // A scanner types fast and ends with Enter: one input, the lot.
    tmux.keys(&["LOT-E2E-1", "Enter"]);
    tmux.wait_for("lot LOT-E2E-1");
    tmux.keys(&["Enter"]);
    tmux.keys(&["1111", "Enter"]);
    tmux.wait_for("Signed Confirmed");
    std::thread::sleep(Duration::from_millis(1500)); // let some readings land
    tmux.keys(&["n"]);
    tmux.wait_for("Step 2/2");

    tmux.keys(&["Enter"]); // open the pass/fail checkpoint
    tmux.keys(&["Enter"]); // nothing is chosen for the inspector
    tmux.wait_for("Choose the result first");
    tmux.keys(&["p", "Enter"]); // pass
    tmux.keys(&["I300", "Enter"]); // inspector badge
    tmux.keys(&["3333", "Enter"]);
    tmux.wait_for("Signed Pass");
    tmux.keys(&["n"]);
    tmux.wait_for("submit the job for review");
    tmux.keys(&["Enter"]);
    tmux.wait_for("submitted for review");

    // The supervisor rejects it with a reason.
    tmux.keys(&["l"]);
    tmux.wait_for("scan your badge");
    tmux.keys(&["S400", "Enter"]);
    tmux.keys(&["4444", "Enter"]);
    tmux.wait_for("Your open jobs");
    tmux.keys(&["r"]);
    tmux.wait_for("Review queue (1)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Deviations");
    tmux.keys(&["x"]);
    tmux.keys(&["fillet too small", "Enter"]);
    tmux.keys(&["4444", "Enter"]);
    tmux.wait_for("rejected and returned");
    tmux.keys(&["Escape"]);
    tmux.keys(&["l"]);

    // The technician redoes the inspection step as a new attempt and resubmits.
    tmux.wait_for("scan your badge");
    tmux.keys(&["T100", "Enter"]);
    tmux.keys(&["1111", "Enter"]);
    tmux.wait_for("fillet too small");
    tmux.keys(&["Enter"]);
    tmux.wait_for("REJECTED by Dana Roth");
    tmux.keys(&["2"]);
    tmux.keys(&["touch up the fillet", "Enter"]);
    tmux.wait_for("attempt 2");
    tmux.keys(&["Enter", "p", "Enter"]);
    tmux.keys(&["I300", "Enter"]);
    tmux.keys(&["3333", "Enter"]);
    tmux.wait_for("Signed Pass");
    tmux.keys(&["n"]);
    tmux.wait_for("submit the job for review");
    tmux.keys(&["Enter"]);
    tmux.wait_for("submitted for review");
    tmux.keys(&["C-q"]);
    let start = Instant::now();
    while tmux.alive() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "traveler did not quit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let store = Store::open(&store_dir, OpenOptions::default()).unwrap();
    let events: Vec<Event> = store.events().map(|r| r.unwrap().event).collect();
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    for k in [
        "logged_in",
        "job_started",
        "lot_recorded",
        "checkpoint_signed",
        "job_submitted",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "step_completed").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "job_submitted").count(), 2);
    assert_eq!(
        kinds.iter().filter(|k| **k == "pin_rejected").count(),
        1,
        "the badge scanned onto the PIN field was no PIN try"
    );
    assert!(events.iter().any(|e| matches!(e, Event::StepRedone { step: 1, reason, .. } if reason == "touch up the fillet")));
    assert!(
        events.iter().any(
            |e| matches!(e, Event::JobReviewed { comment, .. } if comment == "fillet too small")
        )
    );
    // Nothing was chosen for the inspector: the one pass/fail result of each
    // attempt is the one typed.
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, Event::CheckpointSigned { step: 1, .. }))
            .all(|e| matches!(
                e,
                Event::CheckpointSigned {
                    result: traveler::domain::types::CheckResult::Pass,
                    ..
                }
            ))
    );
    assert!(events.iter().any(|e| matches!(e, Event::LotRecorded { lot, material, .. } if lot == "LOT-E2E-1" && material == "flux")));
    let first_step_samples = events.iter().find_map(|e| match e {
        Event::StepCompleted {
            step: 0,
            sample_count,
            ..
        } => Some(*sample_count),
        _ => None,
    });
    assert!(
        first_step_samples.unwrap_or(0) > 0,
        "no station readings recorded in step 1"
    );
    store.verify().unwrap();
}

/// Issue 13, item 13: `station sim` says that it runs, where, and how to stop it
/// (on stderr; stdout keeps the bare path for scripts).
#[test]
fn station_sim_says_it_is_running_and_how_to_stop_it() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("bench-sim");
    let mut child = Command::new(BIN)
        .args(["station", "sim", "--protocol", "ascii-line", "--link"])
        .arg(&link)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stderr)
        .read_line(&mut line)
        .unwrap();
    let mut out = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut out)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("is running on"), "{line}");
    assert!(line.contains(&link.display().to_string()), "{line}");
    assert!(line.contains("Press Ctrl+C to stop"), "{line}");
    assert!(out.starts_with(&link.display().to_string()), "{out}");
}

/// `traveler hub serve` on a free port, stopped (SIGTERM) when dropped.
struct HubServe(Child);

impl Drop for HubServe {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn traveler_out(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("TRAVELER_HUB_TOKEN")
        .env_remove("TRAVELER_HUB_DB")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "traveler {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Issue 16: the supervisor's desk (`traveler desk`, the real binary) in a tmux
/// window beside the bench's. The bench submits; the desk's queue shows it without
/// a key pressed; the desk rejects with a reason, the technician at the bench sees
/// it, redoes the step and submits again; the desk approves; both chains say so.
#[test]
fn the_desk_in_its_own_window_reviews_what_the_bench_beside_it_submits() {
    use app_support::App;
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed for this test (.ci/run installs it)");
    }
    let Some(admin) = hub_support::pg_admin_url() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(hub_support::fresh_db(&admin));
    let dir = tempfile::tempdir().unwrap();
    let instructions = fixture(dir.path());

    // The hub, as a shop sets it up.
    traveler_out(&["hub", "init", "--db", &db]);
    let bench_token = traveler_out(&["hub", "enrol", "BENCH-E2E", "--db", &db]);
    let desk_token = traveler_out(&["hub", "enrol", "QA-DESK", "--desk", "--db", &db]);
    let mut child = Command::new(BIN)
        .args(["hub", "serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .arg("--instructions")
        .arg(&instructions)
        .env("TRAVELER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _serve = HubServe(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("hub listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();

    // A bench store with its people and released instructions; its roster goes to
    // the hub once, before the bench application opens the store.
    let store_dir = dir.path().join("store");
    {
        let store = Store::open(&store_dir, OpenOptions::default()).unwrap();
        let library = traveler::instruction::load_dir(&instructions).library;
        let policy = library.policy.clone().unwrap();
        traveler::demo::seed(&store, &policy, chrono::Utc::now().date_naive()).unwrap();
        traveler::demo::seed_releases(&store, &library, chrono::Utc::now()).unwrap();
    }
    let store_arg = store_dir.display().to_string();
    traveler_out(&[
        "hub", "roster", "import", "--db", &db, "--store", &store_arg,
    ]);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bench = \"BENCH-E2E\"\nstore = \"{store}\"\ninstructions = \"{wi}\"\nlog_dir = \"{logs}\"\n\n\
             [station]\nchannels = [{{ name = \"tip\" }}]\n[station.protocol]\nkind = \"simulated\"\n\n\
             [hub]\nurl = \"{url}\"\ntoken = \"{bench_token}\"\n",
            store = store_dir.display(),
            wi = instructions.display(),
            logs = dir.path().join("logs").display(),
        ),
    )
    .unwrap();
    let bench = App::start("bench", dir.path(), &config);
    let desk = App::start_with(
        "desk",
        dir.path(),
        &format!(
            "desk --hub {url} --hub-token {desk_token} --log-dir {}",
            dir.path().join("desk-logs").display()
        ),
        30,
    );
    // Typed at a person's pace (a burst ending in Enter reads as a scan).
    let typed = |app: &App, keys: &[&str]| {
        app.keys(keys);
        std::thread::sleep(Duration::from_millis(150));
    };
    desk.wait_for("● live");
    desk.wait_for("No job is waiting for review");

    // The technician runs the job and submits it.
    bench.wait_for("scan your badge");
    typed(&bench, &["T100", "Enter"]);
    typed(&bench, &["1111", "Enter"]);
    bench.wait_for("Your open jobs");
    typed(&bench, &["n"]);
    for field in ["SN-E2E-2", "PCA-9", "B", "R12", "NCR-2"] {
        typed(&bench, &[field, "Enter"]);
    }
    typed(&bench, &["Enter", "Enter", "Enter"]); // approval (none), class, alloy
    typed(&bench, &["Enter"]); // the only instruction
    bench.wait_for("Step 1/2");
    typed(&bench, &["LOT-E2E-2", "Enter"]);
    bench.wait_for("lot LOT-E2E-2");
    typed(&bench, &["Enter"]);
    typed(&bench, &["1111", "Enter"]);
    bench.wait_for("Signed Confirmed");
    typed(&bench, &["n"]);
    bench.wait_for("Step 2/2");
    typed(&bench, &["Enter", "p", "Enter"]);
    typed(&bench, &["I300", "Enter"]);
    typed(&bench, &["3333", "Enter"]);
    bench.wait_for("Signed Pass");
    typed(&bench, &["n"]);
    bench.wait_for("submit the job for review");
    typed(&bench, &["Enter"]);
    bench.wait_for("submitted for review");

    // The desk's queue shows it by itself; the supervisor rejects with a reason.
    desk.wait_for("1 waiting");
    let screen = desk.wait_for("BENCH-E2E");
    assert!(screen.contains("Enter  open"), "{screen}");
    typed(&desk, &["Enter"]);
    desk.wait_for("waiting for a decision");
    // Approve and reject are grey until the step's samples reach the hub (the desk
    // reads the record again until they have).
    desk.wait_for("x  reject");
    typed(&desk, &["x"]);
    desk.wait_for("Reason:");
    typed(&desk, &["fillet too small", "Enter"]);
    typed(&desk, &["S400", "Enter"]);
    typed(&desk, &["4444", "Enter"]);
    desk.wait_for("recorded at the hub");
    desk.wait_for("0 waiting");

    // The technician's job list shows the rejection and its reason by itself (no
    // key pressed since the submission); they redo the inspection step and resubmit.
    let screen = bench.wait_for("fillet too small");
    assert!(screen.contains("rejected"), "{screen}");
    typed(&bench, &["Enter"]);
    bench.wait_for("REJECTED by Dana Roth");
    typed(&bench, &["2"]);
    typed(&bench, &["touch up the fillet", "Enter"]);
    bench.wait_for("attempt 2");
    typed(&bench, &["Enter", "p", "Enter"]);
    typed(&bench, &["I300", "Enter"]);
    typed(&bench, &["3333", "Enter"]);
    bench.wait_for("Signed Pass");
    typed(&bench, &["n"]);
    bench.wait_for("submit the job for review");
    typed(&bench, &["Enter"]);
    bench.wait_for("submitted for review");

    // The desk approves the new submission.
    desk.wait_for("1 waiting");
    typed(&desk, &["Enter"]);
    desk.wait_for("waiting for a decision");
    desk.wait_for("a  approve");
    typed(&desk, &["a"]);
    desk.wait_for("Comment:");
    typed(&desk, &["fillet good now", "Enter"]);
    typed(&desk, &["S500", "Enter"]);
    typed(&desk, &["5555", "Enter"]);
    // The rejection's flash ("... rejected by ... recorded at the hub") may still
    // be on the screen: wait for what only the approval's says.
    let screen = desk.wait_for("approved by");
    assert!(screen.contains("recorded at the hub"), "{screen}");

    // The bench mirrors the approval into its own chain; then both quit.
    let approved = rt.block_on(async {
        let c = hub_support::sql(&db).await;
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM hub_chain WHERE kind = 'review_decided'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        n
    });
    assert_eq!(approved, 2);
    let start = Instant::now();
    loop {
        let mirrored: i64 = rt.block_on(async {
            hub_support::sql(&db)
                .await
                .query_one(
                    "SELECT count(*) FROM hub_records WHERE kind = 'review_mirrored'",
                    &[],
                )
                .await
                .unwrap()
                .get(0)
        });
        if mirrored == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the bench did not mirror both decisions; bench:\n{}",
            bench.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    desk.quit();
    bench.quit();
    let store = Store::open(&store_dir, OpenOptions::default()).unwrap();
    let reviews: Vec<(traveler::domain::types::Decision, String)> = store
        .events()
        .filter_map(|r| match r.unwrap().event {
            Event::ReviewMirrored {
                decision, comment, ..
            } => Some((decision, comment)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reviews,
        [
            (
                traveler::domain::types::Decision::Rejected,
                "fillet too small".to_string()
            ),
            (
                traveler::domain::types::Decision::Approved,
                "fillet good now".to_string()
            )
        ]
    );
    store.verify().unwrap();
}
