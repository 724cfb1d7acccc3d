//! The real binary in a real terminal: tmux runs `traveler` against a station
//! simulated on a pseudo-terminal, a person logs in, runs a job, signs, scans a
//! lot and submits; then the store on disk is checked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use traveler::domain::event::Event;
use traveler::store::{OpenOptions, Store};

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
