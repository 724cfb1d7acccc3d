//! The real bench application in a real terminal (tmux) on the demo store: its
//! instructions come released by the demo engineer; a file edited in the folder is
//! greyed on the new-job list with the reason and does not start; once the engineer
//! releases revision B with the binary, the bench starts it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::io::Write;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn start(&self, line: &str) {
        let ok = self
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "app",
                "-x",
                "120",
                "-y",
                "40",
                line,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn keys(&self, keys: &[&str]) {
        let ok = self
            .cmd()
            .args(["send-keys", "-t", "app"])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
        std::thread::sleep(Duration::from_millis(150));
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "app"])
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
            .args(["has-session", "-t", "app"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Ctrl+Q, and the application is gone (the store is free again).
    fn quit(&self) {
        self.keys(&["C-q"]);
        let start = Instant::now();
        while self.alive() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the application did not quit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").stderr(Stdio::null()).status();
    }
}

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
    let app = format!(
        "env HOME={home} LANG=C.UTF-8 {BIN} --demo --bench REL --store {store} --instructions {wi}",
        home = dir.path().display(),
        store = store.display(),
        wi = wi.display(),
    );
    let tmux = Tmux {
        socket: format!("traveler-release-{}", std::process::id()),
    };
    let index = {
        let mut names: Vec<String> = std::fs::read_dir(&wi)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("WI-"))
            .collect();
        names.sort();
        names.iter().position(|n| n == "WI-CHIP-001.toml").unwrap()
    };
    let new_job_on_chip = || {
        tmux.wait_for("scan your badge");
        tmux.keys(&["T100", "Enter"]);
        tmux.keys(&["1111", "Enter"]);
        tmux.wait_for("Your open jobs");
        tmux.keys(&["n"]);
        for field in ["SN-REL-1", "PCA-9", "B", "R12", "NCR-1"] {
            tmux.keys(&[field, "Enter"]);
        }
        tmux.keys(&["Enter", "Enter", "Enter"]); // approval (none), class, alloy
        for _ in 0..index {
            tmux.keys(&["Down"]);
        }
    };

    // First start: the demo store gets its roster and its released instructions.
    tmux.start(&app);
    tmux.wait_for("scan your badge");
    tmux.quit();

    // The file is edited in the folder, not released.
    let file = wi.join("WI-CHIP-001.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen("max_minutes = 2.0", "max_minutes = 3.0", 1);
    assert_ne!(edited, text);
    std::fs::write(&file, &edited).unwrap();

    tmux.start(&app);
    new_job_on_chip();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let reason = format!("changed since release on {today} by Eva Berg (rev A)");
    tmux.wait_for(&reason);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("WI-CHIP-001 cannot start");
    assert!(!screen.contains("Step 1/"), "{screen}");
    tmux.quit();

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

    tmux.start(&app);
    new_job_on_chip();
    let screen = tmux.screen();
    assert!(!screen.contains("changed since release"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Step 1/");
    tmux.quit();
}
