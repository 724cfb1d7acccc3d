//! The bench application as a user starts it: a store with a roster made by
//! `traveler people init`, a configuration file, and the binary in a tmux window.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_traveler");

pub fn instructions() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

/// `traveler people init` into `store`: the records a new bench has to send.
pub fn init_roster(store: &Path) {
    let mut init = Command::new(BIN)
        .args([
            "people",
            "init",
            "--badge",
            "A1",
            "--name",
            "Ada One",
            "--pin-stdin",
        ])
        .arg("--store")
        .arg(store)
        .arg("--instructions")
        .arg(instructions())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    init.stdin.take().unwrap().write_all(b"482913\n").unwrap();
    assert!(init.wait().unwrap().success());
}

/// A configuration for `bench` on `store` with a simulated station, plus `extra`
/// (a `[hub]` or `[cfx]` table).
pub fn write_config(dir: &Path, bench: &str, store: &Path, extra: &str) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bench = \"{bench}\"\nstore = \"{store}\"\ninstructions = \"{wi}\"\nlog_dir = \"{logs}\"\n\n\
             [station]\nchannels = [{{ name = \"tip\" }}]\n[station.protocol]\nkind = \"simulated\"\n\n{extra}",
            store = store.display(),
            wi = instructions().display(),
            logs = dir.join("logs").display(),
        ),
    )
    .unwrap();
    config
}

/// The bench application in a tmux window of its own; killed when dropped.
pub struct App {
    socket: String,
}

impl App {
    pub fn start(name: &str, home: &Path, config: &Path) -> App {
        App::start_with(name, home, &format!("--config {}", config.display()), 30)
    }

    /// The application with these command-line arguments, in a terminal of
    /// 120 columns and `rows` rows.
    pub fn start_with(name: &str, home: &Path, args: &str, rows: u16) -> App {
        let app = App {
            socket: format!("traveler-{name}-{}", std::process::id()),
        };
        let line = format!(
            "env HOME={home} LANG=C.UTF-8 {BIN} {args}",
            home = home.display(),
        );
        let rows = rows.to_string();
        assert!(
            Command::new("tmux")
                .args([
                    "-L",
                    &app.socket,
                    "new-session",
                    "-d",
                    "-s",
                    "app",
                    "-x",
                    "120",
                    "-y",
                    &rows
                ])
                .arg(&line)
                .status()
                .unwrap()
                .success()
        );
        app
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "app"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

// Driving the application: not every test that starts it types into it.
#[allow(dead_code)]
impl App {
    /// Types into the application as a person at the keyboard does.
    pub fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "app"])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits (up to 30 s) until the screen shows `text`; the screen.
    pub fn wait_for(&self, text: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Whether the application is still running (its tmux session is open).
    pub fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "app"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Ctrl+Q, then waits (up to 30 s) until the application has exited.
    pub fn quit(&self) {
        self.keys(&["C-q"]);
        let start = std::time::Instant::now();
        while self.alive() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "the application did not quit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
