//! Controlled work instructions through the binary: an engineer releases a file
//! (`traveler instructions release`), the bench runs it, the file is edited (greyed
//! with the reason, refused by the core), revision B is released, the open job
//! finishes on A, a new job runs B, and history and exports name both. The bench
//! part is the real `update` and executor on the same store, headless, between
//! runs of the binary (the store is one process's at a time).

#[allow(dead_code)]
mod tui_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use chrono::{Duration, Utc};

use traveler::core::{Request, RequestId};
use traveler::domain::command::{Command as Cmd, NewJob, Rejection};
use traveler::domain::event::Event;
use traveler::domain::job::JobStatus;
use traveler::domain::policy::Refusal;
use traveler::domain::release::NotReleased;
use traveler::domain::types::ProductClass;
use traveler::instruction::{Library, load_dir};
use traveler::store::{OpenOptions, Store};
use traveler::tui::action::Action;
use traveler::tui::state::Screen;
use tui_support::Bench;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");
const ADMIN_PIN: &str = "482913";
const ENGINEER_PIN: &str = "654987";
const TECH_PIN: &str = "731864";
const INSPECTOR_PIN: &str = "592746";

/// A shop: a copy of the shipped instructions folder (to edit) and a store.
struct Shop {
    dir: tempfile::TempDir,
}

impl Shop {
    fn new() -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let wi = dir.path().join("wi");
        std::fs::create_dir(&wi).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
        for e in std::fs::read_dir(&shipped).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, wi.join(p.file_name().unwrap())).unwrap();
        }
        Shop { dir }
    }

    fn wi(&self) -> PathBuf {
        self.dir.path().join("wi")
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.wi().join(name)
    }

    /// The binary with this shop's store and folder; `stdin` fed in.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--store")
            .arg(self.store())
            .arg("--instructions")
            .arg(self.wi())
            .env("HOME", self.dir.path())
            .env("TRAVELER_STATE_DIR", self.dir.path().join("state"))
            .env_remove("TRAVELER_STORE")
            .env_remove("TRAVELER_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    }

    /// An admin, an engineer, a technician certified for every module, an inspector.
    fn roster(&self) {
        self.ok(
            &[
                "people",
                "init",
                "--badge",
                "A1",
                "--name",
                "Ada One",
                "--pin-stdin",
            ],
            &format!("{ADMIN_PIN}\n"),
        );
        let add = |badge: &str, name: &str, role: &str, pin: &str| {
            self.ok(
                &[
                    "people",
                    "add",
                    badge,
                    "--name",
                    name,
                    "--role",
                    role,
                    "--skill",
                    "expert",
                    "--admin",
                    "A1",
                    "--pin-stdin",
                ],
                &format!("{ADMIN_PIN}\n{pin}\n"),
            );
        };
        add("E1", "Eva Berg", "engineer", ENGINEER_PIN);
        add("T1", "Tom Tech", "technician", TECH_PIN);
        add("I1", "Ida Insp", "inspector", INSPECTOR_PIN);
        let issued = (Utc::now() - Duration::days(30))
            .format("%Y-%m-%d")
            .to_string();
        self.ok(
            &[
                "people",
                "certify",
                "T1",
                "--level",
                "CIS",
                "--modules",
                "1,2,3,4,5,6,7,8,9,10",
                "--certificate",
                "CIS-T1",
                "--issued",
                &issued,
                "--admin",
                "A1",
                "--pin-stdin",
            ],
            &format!("{ADMIN_PIN}\n"),
        );
    }

    fn release(&self, file: &str, by: &str, pin: &str, reason: &str) -> Output {
        let path = self.file(file);
        self.run(
            &[
                "instructions",
                "release",
                path.to_str().unwrap(),
                "--by",
                by,
                "--reason",
                reason,
                "--pin-stdin",
            ],
            &format!("{pin}\n"),
        )
    }

    /// The bench application on this shop's store, headless.
    fn bench(&self) -> Bench {
        let store = Store::open(self.store(), OpenOptions::default()).unwrap();
        let loaded = load_dir(&self.wi());
        assert!(loaded.is_clean(), "{:?}", loaded.diagnostics);
        let mut library: Library = loaded.library;
        // What the application does at its start: the releases, for the greyed list.
        library.releases = Some(Arc::new(store.releases().unwrap()));
        let mut b = Bench::on(store, Arc::new(library), self.dir.path().join("exports"));
        b.inspector = ("I1", INSPECTOR_PIN);
        b.state.size = (160, 50);
        b
    }

    fn events(&self) -> Vec<Event> {
        let store = Store::open(self.store(), OpenOptions::default()).unwrap();
        store.events().map(|r| r.unwrap().event).collect()
    }
}

/// What this file's bench does beyond the shared one.
impl Bench {
    /// Logged in, and on the home screen.
    fn login_at_home(&mut self, badge: &str, pin: &str) {
        self.login(badge, pin);
        assert!(
            matches!(self.state.screen, Screen::Home(_)),
            "{:?}",
            self.state.flash
        );
    }

    /// The new-job form filled in, `instruction` selected in the list.
    fn new_job_form(&mut self, serial: &str, instruction: &str) {
        self.new_job_details(&[serial, "PCA-1001", "C", "R12", "NCR-77", ""]);
        self.act(Action::Command('3'));
        self.act(Action::Enter);
        self.choose_alloy("SAC305");
        self.act(Action::Enter);
        self.select_instruction(instruction);
    }

    fn start_through_the_core(&self, serial: &str, instruction: &str) -> Result<String, Rejection> {
        let answer = self.exec.core.execute(Request {
            id: RequestId(9),
            by: "T1".into(),
            credentials: None,
            command: Cmd::StartJob(Box::new(NewJob {
                board_serial: serial.into(),
                assembly_part: "PCA-1001".into(),
                assembly_rev: "C".into(),
                refdes: vec!["R12".into()],
                defect_ref: "NCR-77".into(),
                approval_ref: String::new(),
                class: ProductClass::Class3,
                alloy: "SAC305".into(),
                instruction_id: instruction.into(),
            })),
        });
        answer
            .result
            .map(|a| a.job.map(|j| j.id).unwrap_or_default())
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn hash_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

const CHIP: &str = "WI-CHIP-001.toml";

#[test]
fn release_run_edit_greyed_release_b_a_finishes_on_a_new_job_on_b() {
    let shop = Shop::new();
    shop.roster();
    let today = Utc::now().format("%Y-%m-%d").to_string();

    // Before any release the bench refuses, and status says what to do.
    let status = shop.ok(&["instructions", "status"], "");
    assert!(status.contains("No instruction is released"), "{status}");
    {
        let b = shop.bench();
        let refused = b.start_through_the_core("SN-R0", "WI-CHIP-001");
        assert!(
            matches!(&refused, Err(Rejection::StartRefused { refusals, .. })
                if refusals.contains(&Refusal::NotReleased(NotReleased::Draft))),
            "{refused:?}"
        );
    }

    // Release A.
    let hash_a = hash_of(&shop.file(CHIP));
    let out = shop.release(CHIP, "E1", ENGINEER_PIN, "ECO-0001 first release");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("first release"), "{said}");
    assert!(
        said.contains("released WI-CHIP-001 rev A") && said.contains("by Eva Berg"),
        "{said}"
    );
    let status = shop.ok(&["instructions", "status"], "");
    let line = status
        .lines()
        .find(|l| l.starts_with("WI-CHIP-001"))
        .unwrap();
    assert!(
        line.contains("rev A") && line.contains("Eva Berg (E1)") && line.contains("released"),
        "{status}"
    );

    // Run a job on A and leave it open after its first step.
    let job_a = {
        let mut b = shop.bench();
        b.login_at_home("T1", TECH_PIN);
        b.new_job_form("SN-R1", "WI-CHIP-001");
        b.act(Action::Enter);
        assert_eq!(b.runner().instruction.hash, hash_a, "{}", b.flash());
        b.complete_step(TECH_PIN);
        assert_eq!(b.runner().step, 1);
        b.runner().job.id.clone()
    };

    // The file is edited in the folder without a new release.
    let original = std::fs::read_to_string(shop.file(CHIP)).unwrap();
    let edited = original.replacen("max_minutes = 2.0", "max_minutes = 3.0", 1);
    assert_ne!(edited, original);
    std::fs::write(shop.file(CHIP), &edited).unwrap();
    let status = shop.ok(&["instructions", "status"], "");
    let reason = format!("changed since release on {today} by Eva Berg (rev A)");
    assert!(status.contains(&reason), "{status}");
    {
        let mut b = shop.bench();
        b.login_at_home("T1", TECH_PIN);
        b.new_job_form("SN-R2", "WI-CHIP-001");
        // Greyed in the list with the reason.
        let screen = b.screen();
        assert!(screen.contains(&reason), "{screen}");
        // Enter says it at once; nothing starts.
        b.act(Action::Enter);
        let Screen::Start(f) = &b.state.screen else {
            panic!("{}", b.flash())
        };
        assert!(f.error.as_deref().unwrap_or("").contains(&reason), "{f:?}");
        // And the core refuses it whatever a screen offers.
        let refused = b.start_through_the_core("SN-R2", "WI-CHIP-001");
        let Err(r) = &refused else {
            panic!("{refused:?}")
        };
        assert!(r.to_string().contains(&reason), "{r}");
    }

    // Revision B is released: the diff shows what changed, per step.
    let b_text = edited.replacen("revision = \"A\"", "revision = \"B\"", 1);
    std::fs::write(shop.file(CHIP), &b_text).unwrap();
    let hash_b = hash_of(&shop.file(CHIP));
    let out = shop.release(CHIP, "E1", ENGINEER_PIN, "ECO-0002 longer removal time");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("~ instruction revision: \"A\" → \"B\""),
        "{said}"
    );
    assert!(said.contains("~ step 3 max_minutes: 2.0 → 3.0"), "{said}");
    assert!(said.contains("supersedes rev A"), "{said}");
    let diff = shop.ok(&["instructions", "diff", "WI-CHIP-001", "A", "B"], "");
    assert!(diff.contains("~ step 3 max_minutes: 2.0 → 3.0"), "{diff}");
    // `show` prints the released bytes exactly.
    let shown = shop.run(&["instructions", "show", "WI-CHIP-001", "--rev", "A"], "");
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), original);
    let shown = shop.run(&["instructions", "show", "WI-CHIP-001"], "");
    assert_eq!(String::from_utf8(shown.stdout).unwrap(), b_text);
    // A revision or id never released names what was released instead.
    for (args, says) in [
        (
            &["instructions", "show", "WI-CHIP-001", "--rev", "Z"][..],
            "WI-CHIP-001 rev Z was never released in this store (released: A, B)",
        ),
        (
            &["instructions", "diff", "WI-CHIP-001", "A", "Z"][..],
            "WI-CHIP-001 rev Z was never released in this store (released: A, B)",
        ),
        (
            &["instructions", "show", "wi-chip-001"][..],
            "did you mean WI-CHIP-001?",
        ),
    ] {
        let out = shop.run(args, "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }

    // A's open job finishes on A; a new job runs B.
    let job_b = {
        let mut b = shop.bench();
        b.login_at_home("T1", TECH_PIN);
        b.act(Action::Enter); // the open job
        let r = b.runner();
        assert_eq!(r.job.id, job_a);
        assert_eq!(
            r.instruction.hash, hash_a,
            "the runner shows the text as released"
        );
        assert_eq!(r.instruction.spec.steps[2].max_minutes, Some(2.0));
        let steps = b.runner().job.steps.len();
        for _ in 1..steps {
            b.complete_step(TECH_PIN);
        }
        b.act(Action::Enter); // submit
        assert!(b.flash().contains("submitted"), "{}", b.flash());
        assert_eq!(
            b.store.job(&job_a).unwrap().unwrap().status,
            JobStatus::Submitted
        );
        b.new_job_form("SN-R3", "WI-CHIP-001");
        b.act(Action::Enter);
        let r = b.runner();
        assert_eq!(r.instruction.hash, hash_b);
        assert_eq!(r.job.instruction_rev, "B");
        r.job.id.clone()
    };

    // The texts are in the store once per hash, held by their releases.
    let events = shop.events();
    for h in [&hash_a, &hash_b] {
        let holding = events
            .iter()
            .filter(|e| {
                matches!(e,
                    Event::InstructionArchived { hash, .. }
                    | Event::InstructionReleased { hash, text: Some(_), .. } if hash == h)
            })
            .count();
        assert_eq!(holding, 1, "{h}");
    }
    assert!(events.iter().any(|e| matches!(e,
        Event::InstructionReleased { revision, supersedes: Some(s), .. }
            if revision == "B" && s.revision == "A" && s.hash == hash_a)));

    // History names both revisions.
    let history = shop.ok(&["history", "SN-R1"], "");
    assert!(history.contains("WI-CHIP-001 rev A"), "{history}");
    let history = shop.ok(&["history", "SN-R3"], "");
    assert!(history.contains("WI-CHIP-001 rev B"), "{history}");

    // The HTML reports name the release of each job's revision.
    let html = shop.dir.path().join("html");
    shop.ok(
        &[
            "export",
            "--format",
            "html",
            "--out",
            html.to_str().unwrap(),
        ],
        "",
    );
    let report = |job: &str| {
        let found = std::fs::read_dir(&html)
            .unwrap()
            .map(|e| e.unwrap().path())
            // Exactly this job's report: two jobs started in one second have ids
            // where one is the other's prefix (`…-121841` and `…-121841-2`).
            .find(|p| p.file_name().unwrap().to_string_lossy() == format!("{job}.html"))
            .unwrap_or_else(|| panic!("no report of {job}"));
        std::fs::read_to_string(found).unwrap()
    };
    let a = report(&job_a);
    assert!(
        a.contains("Instruction release")
            && a.contains("WI-CHIP-001 rev A, released")
            && a.contains("Eva Berg")
            && a.contains("superseded by rev B"),
        "{a}"
    );
    let b = report(&job_b);
    assert!(b.contains("WI-CHIP-001 rev B, released"), "{b}");
    assert!(!b.contains("superseded"), "{b}");

    // The spreadsheet names the release of each job's revision too.
    let csv_dir = shop.dir.path().join("csv");
    shop.ok(
        &[
            "export",
            "--format",
            "csv",
            "--out",
            csv_dir.to_str().unwrap(),
        ],
        "",
    );
    let mut jobs = csv::Reader::from_path(csv_dir.join("jobs.csv")).unwrap();
    let header = jobs.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = jobs.records().map(Result::unwrap).collect();
    let row = |job: &str| rows.iter().find(|r| &r[col("job")] == job).unwrap();
    for (job, reason) in [(&job_a, "ECO-0001"), (&job_b, "ECO-0002")] {
        let r = row(job);
        assert_eq!(&r[col("instruction_released_by")], "E1", "{r:?}");
        assert_eq!(&r[col("instruction_released_by_name")], "Eva Berg", "{r:?}");
        assert!(
            r[col("instruction_release_reason")].contains(reason),
            "{r:?}"
        );
        assert!(!r[col("instruction_released_utc")].is_empty(), "{r:?}");
    }

    // The JSON export carries both texts once each and verifies.
    let json = shop.dir.path().join("export.json");
    shop.ok(&["export", "--out", json.to_str().unwrap()], "");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let records = doc["instructions"].as_array().unwrap();
    let released: Vec<(&str, bool)> = records
        .iter()
        .filter(|r| r["record"]["event"]["type"] == "instruction_released")
        .map(|r| {
            (
                r["record"]["event"]["revision"].as_str().unwrap(),
                r["record"]["event"]["text"].is_string(),
            )
        })
        .collect();
    assert_eq!(released, [("A", true), ("B", true)], "{records:?}");
    shop.ok(&["verify", "--export", json.to_str().unwrap()], "");
    // A changed byte in an instruction record is caught.
    let exported = std::fs::read_to_string(&json).unwrap();
    let tampered = exported.replacen(
        "ECO-0002 longer removal time",
        "ECO-0002 longer removal tima",
        1,
    );
    assert_ne!(tampered, exported);
    let bad = shop.dir.path().join("tampered.json");
    std::fs::write(&bad, tampered).unwrap();
    let out = shop.run(&["verify", "--export", bad.to_str().unwrap()], "");
    assert!(!out.status.success(), "{}", text(&out));
    shop.ok(&["verify"], "");
}

#[test]
fn a_non_releaser_is_refused_and_the_refusal_is_recorded() {
    let shop = Shop::new();
    shop.roster();
    // The admin is no engineer.
    let out = shop.release(CHIP, "A1", ADMIN_PIN, "ECO-0003");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("NOT released")
            && said.contains("Ada One (A1) may not release instructions")
            && said.contains("engineer role")
            && said.contains("recorded"),
        "{said}"
    );
    // A wrong PIN is recorded as at the bench.
    let out = shop.release(CHIP, "E1", "111999", "ECO-0003");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("wrong PIN"), "{}", text(&out));

    let events = shop.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::InstructionReleaseRefused { by, instruction_id, revision, refusal, .. }
            if by == "A1" && instruction_id == "WI-CHIP-001" && revision == "A"
                && refusal.to_string().contains("engineer"))));
    assert!(events.iter().any(
        |e| matches!(e, Event::PinRejected { badge, purpose } if badge == "E1" && purpose == "release")
    ));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::InstructionReleased { .. })),
        "nothing released"
    );
    let status = shop.ok(&["instructions", "status"], "");
    assert!(status.contains("No instruction is released"), "{status}");
}

#[test]
fn a_file_with_check_errors_is_refused_with_file_line_col() {
    let shop = Shop::new();
    shop.roster();
    let path = shop.file(CHIP);
    let text_before = std::fs::read_to_string(&path).unwrap();
    // An unknown field and a skill level that does not exist.
    let broken = text_before.replacen("skill = \"", "skil = \"", 1);
    std::fs::write(&path, &broken).unwrap();
    let line = broken
        .lines()
        .position(|l| l.starts_with("skil = "))
        .unwrap()
        + 1;
    let out = shop.release(CHIP, "E1", ENGINEER_PIN, "ECO-0004");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot be released"), "{said}");
    let want = format!("{}:{line}:1:", path.display());
    assert!(said.contains(&want), "{want} in {said}");
    // Nothing was released and no PIN was asked (none recorded as wrong).
    assert!(!shop.events().iter().any(|e| matches!(
        e,
        Event::InstructionReleased { .. } | Event::PinRejected { .. }
    )));

    // Releasing the same revision twice, or other bytes under a released revision,
    // is refused: a revision names one text.
    std::fs::write(&path, &text_before).unwrap();
    assert!(
        shop.release(CHIP, "E1", ENGINEER_PIN, "ECO-0005")
            .status
            .success()
    );
    let again = shop.release(CHIP, "E1", ENGINEER_PIN, "ECO-0005");
    assert!(
        text(&again).contains("already the released revision"),
        "{}",
        text(&again)
    );
    std::fs::write(
        &path,
        text_before.replacen("max_minutes = 2.0", "max_minutes = 4.0", 1),
    )
    .unwrap();
    let reused = shop.release(CHIP, "E1", ENGINEER_PIN, "ECO-0006");
    assert!(
        text(&reused).contains("give the changed file a new revision"),
        "{}",
        text(&reused)
    );
}

/// A store written before releases existed opens, verifies, and says what to do.
#[test]
fn a_store_from_before_releases_says_to_release() {
    let shop = Shop::new();
    let ok = Command::new("tar")
        .arg("-xzf")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format4/store.tar.gz"))
        .arg("-C")
        .arg(shop.dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let status = shop.ok(&["instructions", "status"], "");
    assert!(
        status.contains("No instruction is released in this store")
            && status.contains("traveler instructions release"),
        "{status}"
    );
    shop.ok(&["verify"], "");
}

/// `require_release = false`: the shop does not control documents at the bench.
#[test]
fn require_release_false_runs_a_draft() {
    let shop = Shop::new();
    shop.roster();
    let policy = shop.file("policy.toml");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        text.replace("require_release = true", "require_release = false"),
    )
    .unwrap();
    let b = shop.bench();
    let job = b.start_through_the_core("SN-F1", "WI-CHIP-001");
    assert!(job.is_ok(), "{job:?}");
}
