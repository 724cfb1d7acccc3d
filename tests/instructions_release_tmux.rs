//! The real bench application in a real terminal (tmux) on the demo store: its
//! instructions come released by the demo engineer; a file edited in the folder is
//! greyed on the new-job list with the reason and does not start; once the engineer
//! releases revision B with the binary, the bench starts it.

#[allow(dead_code)]
mod app_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use app_support::App;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn copy_instructions(into: &Path) -> PathBuf {
    let wi = into.join("wi");
    std::fs::create_dir_all(&wi).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, wi.join(p.file_name().unwrap())).unwrap();
    }
    wi
}

#[test]
fn an_edited_file_is_greyed_in_the_real_binary_until_released() {
    if Command::new("tmux").arg("-V").output().is_err() {
        panic!("tmux is needed for this test (.ci/run installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let wi = copy_instructions(dir.path());
    let store = dir.path().join("store");
    let args = format!(
        "--demo --bench REL --store {store} --instructions {wi}",
        store = store.display(),
        wi = wi.display(),
    );
    let start = || App::start_with("release", dir.path(), &args, 40);
    let index = {
        let mut names: Vec<String> = std::fs::read_dir(&wi)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("WI-"))
            .collect();
        names.sort();
        names.iter().position(|n| n == "WI-CHIP-001.toml").unwrap()
    };
    // Typed at a person's pace (a burst ending in Enter reads as a scan).
    let typed = |app: &App, keys: &[&str]| {
        app.keys(keys);
        std::thread::sleep(Duration::from_millis(150));
    };
    let new_job_on_chip = |app: &App| {
        app.wait_for("scan your badge");
        typed(app, &["T100", "Enter"]);
        typed(app, &["1111", "Enter"]);
        app.wait_for("Your open jobs");
        typed(app, &["n"]);
        for field in ["SN-REL-1", "PCA-9", "B", "R12", "NCR-1"] {
            typed(app, &[field, "Enter"]);
        }
        typed(app, &["Enter", "Enter", "Enter"]); // approval (none), class, alloy
        for _ in 0..index {
            typed(app, &["Down"]);
        }
    };

    // First start: the demo store gets its roster and its released instructions.
    let tmux = start();
    tmux.wait_for("scan your badge");
    tmux.quit();
    drop(tmux);

    // The file is edited in the folder, not released.
    let file = wi.join("WI-CHIP-001.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen("max_minutes = 2.0", "max_minutes = 3.0", 1);
    assert_ne!(edited, text);
    std::fs::write(&file, &edited).unwrap();

    let tmux = start();
    new_job_on_chip(&tmux);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let reason = format!("changed since release on {today} by Eva Berg (rev A)");
    tmux.wait_for(&reason);
    typed(&tmux, &["Enter"]);
    let screen = tmux.wait_for("WI-CHIP-001 cannot start");
    assert!(!screen.contains("Step 1/"), "{screen}");
    tmux.quit();
    drop(tmux);

    // The engineer releases revision B; the bench starts it.
    std::fs::write(
        &file,
        edited.replacen("revision = \"A\"", "revision = \"B\"", 1),
    )
    .unwrap();
    let mut release = Command::new(BIN)
        .args(["instructions", "release"])
        .arg(&file)
        .args([
            "--by",
            "E700",
            "--reason",
            "ECO-0042 longer removal",
            "--pin-stdin",
        ])
        .arg("--store")
        .arg(&store)
        .arg("--instructions")
        .arg(&wi)
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    release.stdin.take().unwrap().write_all(b"7777\n").unwrap();
    let out = release.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("~ step 3 max_minutes: 2.0 → 3.0"), "{said}");

    let tmux = start();
    new_job_on_chip(&tmux);
    let screen = tmux.screen();
    assert!(!screen.contains("changed since release"), "{screen}");
    typed(&tmux, &["Enter"]);
    tmux.wait_for("Step 1/");
    tmux.quit();
}
