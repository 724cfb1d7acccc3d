//! `--store DIR` names the store of every sub-command, wherever it is given; no
//! sub-command falls back to the demo store when the flag was given (it used to,
//! silently, for `traveler --store DIR people …` and `… backup …`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::Utc;
use traveler::instruction::load_dir;
use traveler::store::{OpenOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn instructions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        // A store with the demo roster, so "people list" shows who is in it.
        let store = Store::open(dir.path().join("given"), OpenOptions::default()).unwrap();
        let lib = load_dir(&instructions()).library;
        traveler::demo::seed(
            &store,
            lib.policy.as_ref().unwrap(),
            Utc::now().date_naive(),
        )
        .unwrap();
        Home { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("TRAVELER_STORE")
            .env_remove("TRAVELER_CONFIG")
            .output()
            .unwrap()
    }
    /// No default store (demo or configured) was created or used.
    fn no_default_store(&self) {
        let data = self.dir.path().join(".local/share/traveler");
        assert!(
            !data.join("demo-store").exists() && !data.join("store").exists(),
            "a default store was opened under {}",
            data.display()
        );
    }
}

fn ok(o: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{text}");
    text
}

/// Runs `traveler [pre…] --store GIVEN <sub…>`: it succeeds, uses GIVEN, and no
/// default store appears.
fn given_before(pre: &[&str], sub: &[&str]) -> (Home, String) {
    let h = Home::new();
    let given = h.path("given");
    let mut args: Vec<String> = pre.iter().map(|a| a.to_string()).collect();
    args.push("--store".into());
    args.push(given.display().to_string());
    for a in sub {
        args.push(a.replace("{home}", &h.dir.path().display().to_string()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = ok(&h.run(&args));
    h.no_default_store();
    (h, text)
}

fn wi() -> String {
    instructions().display().to_string()
}

#[test]
fn people_uses_the_given_store() {
    let (_h, text) = given_before(&["--instructions", &wi()], &["people", "list"]);
    assert!(text.contains("Ana Lima"), "{text}");
}

#[test]
fn backup_uses_the_given_store() {
    let (h, text) = given_before(&[], &["backup", "{home}/b.jsonl"]);
    assert!(h.path("b.jsonl").exists(), "{text}");
    // Two events (enrolled, certified) per person of the demo roster.
    let events = 2 * traveler::demo::ROSTER.len();
    assert!(
        text.contains(&format!("backed up {events} events")),
        "the demo roster of the given store: {text}"
    );
}

#[test]
fn verify_uses_the_given_store() {
    let (_h, text) = given_before(&[], &["verify"]);
    let events = 2 * traveler::demo::ROSTER.len();
    assert!(text.contains(&format!("{events} events")), "{text}");
}

#[test]
fn reindex_uses_the_given_store() {
    given_before(&[], &["reindex"]);
}

#[test]
fn reviews_uses_the_given_store() {
    given_before(&[], &["reviews"]);
}

#[test]
fn history_uses_the_given_store() {
    given_before(&["--instructions", &wi()], &["history", "SN-NONE"]);
}

#[test]
fn where_used_uses_the_given_store() {
    given_before(&[], &["where-used", "LOT-NONE"]);
}

#[test]
fn export_uses_the_given_store() {
    let (h, text) = given_before(
        &["--instructions", &wi()],
        &["export", "--out", "{home}/out.json"],
    );
    assert!(h.path("out.json").exists(), "{text}");
}

#[test]
fn restore_makes_the_given_store() {
    let h = Home::new();
    let b = h.path("b.jsonl");
    ok(&h.run(&[
        "backup",
        b.to_str().unwrap(),
        "--store",
        h.path("given").to_str().unwrap(),
    ]));
    let restored = h.path("restored");
    ok(&h.run(&[
        "--store",
        restored.to_str().unwrap(),
        "restore",
        b.to_str().unwrap(),
    ]));
    assert!(restored.exists());
    h.no_default_store();
}

#[test]
fn the_flag_after_a_nested_sub_command_counts_and_two_different_ones_are_refused() {
    let h = Home::new();
    let given = h.path("given");
    let s = given.to_str().unwrap();
    let wi = instructions();
    let wi = wi.to_str().unwrap();
    let text = ok(&h.run(&["--instructions", wi, "people", "list", "--store", s]));
    assert!(text.contains("Ana Lima"), "{text}");
    let text = ok(&h.run(&["--instructions", wi, "people", "--store", s, "list"]));
    assert!(text.contains("Ana Lima"), "{text}");
    let o = h.run(&["--store", s, "people", "list", "--store", "/elsewhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("given twice"));
    h.no_default_store();
}
