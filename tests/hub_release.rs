//! Instruction releases at the hub against a real PostgreSQL, a real hub service and
//! real bench stores: an engineer releases with the real binary
//! (`instructions release FILE --hub URL`), the hub checks the PIN and the file and
//! records the release in its chain; a bench that mirrors the hub record starts a
//! job on the revision (its text checked against the release's hash), the JSON
//! export carries the release and `verify --export` checks it; a tampered text is
//! refused at the bench; a revision the bench released with other bytes is shown
//! as a conflict and starts no job.
//!
//! A bench's "next contact" is the real binary, `traveler hub sync --once` (what the
//! bench application's sync task does): its records go up, and the hub records
//! benches follow come down, checked by hash and copied through the bench's core
//! as `HubRecordMirrored`.

mod hub_support;
#[path = "store_support/mod.rs"]
mod store_support;
#[allow(dead_code)]
mod tui_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;

use chrono::Utc;
use hub_support::*;
use traveler::core::{Core, Request, RequestId};
use traveler::domain::command::{Command, NewJob, Rejection};
use traveler::domain::event::Event;
use traveler::domain::policy::Refusal;
use traveler::domain::release::NotReleased;
use traveler::domain::types::ProductClass;
use traveler::hub::server::Server;
use traveler::instruction::{Library, load_dir};
use traveler::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_traveler");

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions")
}

/// A copy of the shipped instructions folder, to edit.
fn folder(dir: &Path) -> PathBuf {
    let wi = dir.join("wi");
    std::fs::create_dir_all(&wi).unwrap();
    for e in std::fs::read_dir(shipped()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, wi.join(p.file_name().unwrap())).unwrap();
    }
    wi
}

struct Shop {
    url: String,
    hub: Server,
    token: String,
    _roster: tempfile::TempDir,
}

impl Shop {
    fn base(&self) -> String {
        format!("http://{}", self.hub.addr)
    }
}

/// The hub (serving with the shipped instructions folder) and its roster: the demo
/// roster plus the engineer E700 (PIN 7777), imported once from a bench store.
async fn shop(admin: &str) -> Shop {
    let url = hub_db(admin).await;
    let library = load_dir(&shipped()).library;
    let hub = Server::start_with_library(
        &url,
        "127.0.0.1:0".parse().unwrap(),
        None,
        library.policy.clone(),
        Some(library.clone()),
    )
    .await
    .expect("start the hub");
    let token = enrol(&url, "BENCH-A").await;
    let roster = tempfile::tempdir().unwrap();
    let store = store_support::open(roster.path());
    let policy = library.policy.as_ref().unwrap();
    traveler::demo::seed(&store, policy, Utc::now().date_naive()).unwrap();
    store
        .append(
            "A900",
            Event::PersonEnrolled {
                badge: "E700".into(),
                name: "Eva Berg".into(),
                roles: vec![traveler::domain::types::Role::Engineer],
                skill: traveler::domain::types::SkillLevel::Expert,
                pin_hash: traveler::people::pin::hash_pin("7777").unwrap(),
            },
        )
        .unwrap();
    let pool = traveler::hub::db::pool(&url).unwrap();
    traveler::hub::roster::import(&pool, &store, Utc::now())
        .await
        .expect("import the roster");
    Shop {
        url,
        hub,
        token,
        _roster: roster,
    }
}

/// A bench store with the demo roster (T100 technician …), no release yet.
fn bench_store(dir: &Path) -> Store {
    let store = store_support::open(dir);
    let policy = load_dir(&shipped()).library.policy.unwrap();
    traveler::demo::seed(&store, &policy, Utc::now().date_naive()).unwrap();
    store
}

/// The bench's next contact with the hub (see the module comment); the store in
/// `dir` must be closed in this process (sled opens it once).
fn contact(shop: &Shop, dir: &Path) {
    let (code, out) = run_text(&[
        "hub",
        "sync",
        "--store",
        dir.to_str().unwrap(),
        "--url",
        &shop.base(),
        "--token",
        &shop.token,
        "--once",
    ]);
    assert_eq!(code, 0, "the bench's contact with the hub: {out}");
}

fn run_text(args: &[&str]) -> (i32, String) {
    let (code, out, err) = run(args, "");
    (code, format!("{out}{err}"))
}

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let state = tempfile::tempdir().unwrap();
    let mut child = Process::new(BIN)
        .args(args)
        .env("TRAVELER_STATE_DIR", state.path())
        .env("HOME", state.path())
        .env_remove("TRAVELER_HUB_TOKEN")
        .env_remove("TRAVELER_STORE")
        .env_remove("TRAVELER_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run traveler");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `instructions release FILE --hub …` by `by` with `pin`, checked by `wi`.
fn release_at_hub(shop: &Shop, wi: &Path, file: &str, by: &str, pin: &str) -> (i32, String) {
    let path = wi.join(file);
    let (code, out, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "release",
            path.to_str().unwrap(),
            "--hub",
            &shop.base(),
            "--hub-token",
            &shop.token,
            "--by",
            by,
            "--reason",
            "ECO-0042 released for the shop",
            "--pin-stdin",
        ],
        &format!("{pin}\n"),
    );
    (code, format!("{out}{err}"))
}

async fn hub_kinds(url: &str) -> Vec<String> {
    sql(url)
        .await
        .query("SELECT kind FROM hub_chain ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn library_of(wi: &Path, store: &Store) -> Arc<Library> {
    let mut library = load_dir(wi).library;
    library.releases = Some(Arc::new(store.releases().unwrap()));
    Arc::new(library)
}

fn start_job(core: &Core, instruction: &str) -> Result<traveler::domain::job::Job, Rejection> {
    core.execute(Request {
        id: RequestId(1),
        by: "T100".into(),
        credentials: None,
        command: Command::StartJob(Box::new(NewJob {
            board_serial: "SN-HUB-1".into(),
            assembly_part: "PCA-1001".into(),
            assembly_rev: "C".into(),
            refdes: vec!["R12".into()],
            defect_ref: "NCR-77".into(),
            approval_ref: String::new(),
            class: ProductClass::Class2,
            alloy: "SAC305".into(),
            instruction_id: instruction.into(),
        })),
    })
    .result
    .map(|a| a.job.expect("the job"))
}

fn not_released(r: Result<traveler::domain::job::Job, Rejection>) -> NotReleased {
    match r {
        Err(Rejection::StartRefused { refusals, .. }) => refusals
            .into_iter()
            .find_map(|r| match r {
                Refusal::NotReleased(n) => Some(n),
                _ => None,
            })
            .expect("a release refusal"),
        other => panic!("not refused for want of a release: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_at_the_hub_reaches_a_bench_that_starts_a_job_on_it() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let wi = folder(dir.path());
    let bench_dir = dir.path().join("bench");
    let store = bench_store(&bench_dir);
    let core = Core::new(store.clone(), library_of(&wi, &store), "BENCH-A");
    // require_release: nothing released yet, here or at the hub.
    assert_eq!(
        not_released(start_job(&core, "WI-CHIP-001")),
        NotReleased::Draft
    );

    // A file with a problem is refused here with file:line:col, before any PIN
    // (none is on standard input) and before anything reaches the hub.
    let broken = std::fs::read_to_string(wi.join("WI-CHIP-001.toml"))
        .unwrap()
        .replace("skill = \"intermediate\"", "skill = \"wizard\"");
    std::fs::write(wi.join("BROKEN.toml"), broken).unwrap();
    let (code, out) = release_at_hub(&shop, &wi, "BROKEN.toml", "E700", "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN.toml:7:"), "{out}");
    std::fs::remove_file(wi.join("BROKEN.toml")).unwrap();
    let before = hub_kinds(&shop.url).await;
    assert!(!before.iter().any(|k| k.starts_with("instruction_")));

    // A technician may not release: refused, and the refusal is a hub record.
    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "T100", "1111");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("may not release instructions: releasing instructions needs the engineer role (the refusal is hub record"),
        "{out}"
    );
    // A wrong PIN: refused, the wrong PIN recorded at the hub.
    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "E700", "0000");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("wrong PIN (1 of 5"), "{out}");

    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "E700", "7777");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("first release"), "{out}");
    assert!(
        out.contains("released WI-CHIP-001 rev A (sha256 ")
            && out.contains(") at the hub by Eva Berg"),
        "{out}"
    );
    let kinds = hub_kinds(&shop.url).await;
    let tail: Vec<&str> = kinds[before.len()..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "instruction_release_refused",
            "pin_rejected",
            "instruction_released"
        ]
    );
    // The same text again: the revision in force already.
    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "E700", "7777");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is already the released revision"), "{out}");

    // The hub's record: origin the hub (released from BENCH-A's token), with the text.
    let row = sql(&shop.url)
        .await
        .query_one(
            "SELECT seq, doc FROM hub_chain WHERE kind = 'instruction_released'",
            &[],
        )
        .await
        .unwrap();
    let hub_seq = row.get::<_, i64>(0) as u64;
    let doc: serde_json::Value = row.get(1);
    let ev = &doc["event"];
    assert_eq!(ev["origin_store"], "hub");
    assert_eq!(ev["origin_bench"], "BENCH-A");
    let text = std::fs::read_to_string(wi.join("WI-CHIP-001.toml")).unwrap();
    assert_eq!(ev["text"].as_str(), Some(text.as_str()));

    // `instructions status --hub`: the hub's releases against this folder.
    let (code, out, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "status",
            "--hub",
            &shop.base(),
            "--hub-token",
            &shop.token,
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("WI-CHIP-001"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("rev A at hub"), "{out}");
    assert!(line.contains("released at hub"), "{out}");

    // The bench's next contact: the release is mirrored, its text checked; the
    // core starts a job on it.
    // The bench application's releases as read at its start: nothing released.
    let at_start = library_of(&wi, &store);
    drop(core);
    drop(store);
    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    // The technician's new-job screen (opened after the contact) shows the hub's
    // release and starts the job: keys in, the core decides, the store says so.
    let mut b = tui_support::Bench::on(store.clone(), at_start, dir.path().join("exports"));
    b.state.size = (160, 50);
    b.login("T100", "1111");
    b.new_job_details(&["SN-HUB-1", "PCA-1001", "C", "R12", "NCR-77", ""]);
    b.act(traveler::tui::action::Action::Command('2'));
    b.act(traveler::tui::action::Action::Enter);
    b.choose_alloy("SAC305");
    b.act(traveler::tui::action::Action::Enter);
    b.select_instruction("WI-CHIP-001");
    let screen = b.screen();
    assert!(
        screen.contains(&format!(
            "✔ rev A released at hub on {} by Eva Berg (hub record {hub_seq})",
            Utc::now().format("%Y-%m-%d")
        )),
        "{screen}"
    );
    // Read again when the screen opened: no longer greyed as a draft.
    let chip = &screen[screen.find("WI-CHIP-001 A").unwrap()..screen.find("WI-GW-001").unwrap()];
    assert!(!chip.contains('✖'), "{screen}");
    b.act(traveler::tui::action::Action::Enter);
    let job = b.runner().job.clone();
    drop(b);
    let core = Core::new(store.clone(), library_of(&wi, &store), "BENCH-A");
    assert_eq!(job.instruction_rev, "A");
    let book = store.releases().unwrap();
    let current = book.current("WI-CHIP-001").unwrap();
    assert_eq!(current.hub.as_ref().map(|h| h.seq), Some(hub_seq));
    let current_effective = current.effective;
    assert_eq!(job.instruction_hash, current.hash);
    // The text came with the release: the job archived nothing of its own.
    assert!(
        !store
            .events_of_job(&job.id)
            .unwrap()
            .iter()
            .any(|r| matches!(r.event, Event::InstructionArchived { .. }))
    );
    drop(core);
    drop(store);

    // The bench's status says where it was released.
    let (code, out, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "status",
            "--store",
            bench_dir.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("WI-CHIP-001"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains(&format!("released at hub (hub record {hub_seq})")),
        "{out}"
    );
    // `instructions show` gives the released text back, byte for byte.
    let (code, shown, err) = run(
        &[
            "instructions",
            "show",
            "WI-CHIP-001",
            "--store",
            bench_dir.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(shown, text);

    // The JSON export of the job carries the release (the mirror record, holding
    // the hub's record verbatim), and `verify --export` checks both hashes.
    let export = dir.path().join("job.json");
    let (code, out, err) = run(
        &[
            "export",
            "--store",
            bench_dir.to_str().unwrap(),
            "--job",
            &job.id,
            "--out",
            export.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let carried = doc["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record"]["event"]["type"] == "hub_record_mirrored")
        .unwrap_or_else(|| panic!("no mirrored release in {}", doc["instructions"]));
    assert_eq!(carried["record"]["event"]["hub_seq"], hub_seq);
    let (code, out, err) = run(&["verify", "--export", export.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}{err}");
    // The hub checks the bench's copy of its release both ways (verify --hub).
    contact(&shop, &bench_dir);
    let (code, out) = run_text(&[
        "verify",
        "--hub",
        &shop.base(),
        "--hub-token",
        &shop.token,
        "--store",
        bench_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("copied hub record(s) are the hub's records, byte for byte"),
        "{out}"
    );
    // The printable report names where the revision was released.
    let html = dir.path().join("html");
    let (code, out, err) = run(
        &[
            "export",
            "--format",
            "html",
            "--store",
            bench_dir.to_str().unwrap(),
            "--job",
            &job.id,
            "--out",
            html.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let reports: String = std::fs::read_dir(&html)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(
        reports.contains(&format!(
            "WI-CHIP-001 rev A, released {} at the hub (hub record {hub_seq}) by Eva Berg (E700; ECO-0042 released for the shop)",
            current_effective.format("%Y-%m-%d %H:%M UTC")
        )),
        "{reports}"
    );

    // Rev B released at the hub: new jobs run B, the job started on A keeps A.
    let rev_b = text.replace("revision = \"A\"", "revision = \"B\"");
    std::fs::write(wi.join("WI-CHIP-001.toml"), &rev_b).unwrap();
    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "E700", "7777");
    assert_eq!(code, 0, "{out}");
    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    let core = Core::new(store.clone(), library_of(&wi, &store), "BENCH-A");
    // Every command on the open job reads the text it started on (here the one
    // mirrored from the hub), never today's file.
    let on_a = store.job(&job.id).unwrap().unwrap();
    assert_eq!(on_a.instruction_rev, "A");
    let text_of_a = core.instruction_for(&on_a).expect("the job's text");
    assert_eq!(text_of_a.revision(), "A");
    assert_eq!(text_of_a.hash, job.instruction_hash);
    let on_b = start_job(&core, "WI-CHIP-001").expect("a new job runs B");
    assert_eq!(on_b.instruction_rev, "B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_release_text_is_refused_at_the_bench() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let wi = folder(dir.path());
    let store = bench_store(&dir.path().join("bench"));
    let text = std::fs::read_to_string(wi.join("WI-CHIP-001.toml")).unwrap();
    let hash = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(text.as_bytes()))
    };
    // A hub record that names the file's hash but carries other text (a release the
    // hub's own chain holds, hashed correctly as a record: only the text is wrong).
    let pool = traveler::hub::db::pool(&shop.url).unwrap();
    let mut c = traveler::hub::db::client(&pool).await.unwrap();
    let tx = c.transaction().await.unwrap();
    traveler::hub::chain::lock(&tx).await.unwrap();
    let now = Utc::now();
    let tampered = text.replace("max = ", "max = 9");
    traveler::hub::chain::append(
        &tx,
        vec![(
            now,
            "E700".into(),
            Event::InstructionReleased {
                instruction_id: "WI-CHIP-001".into(),
                revision: "A".into(),
                hash: hash.clone(),
                file_name: "WI-CHIP-001.toml".into(),
                text: Some(tampered),
                effective: now,
                by: "E700".into(),
                by_name: "Eva Berg".into(),
                reason: "not the file".into(),
                origin_store: "hub".into(),
                origin_bench: "BENCH-A".into(),
                supersedes: None,
            },
        )],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Bytes changed after the hub hashed them never pass the mirror's check.
    let row = sql(&shop.url)
        .await
        .query_one(
            "SELECT seq, hash, bytes FROM hub_chain WHERE kind = 'instruction_released'",
            &[],
        )
        .await
        .unwrap();
    let (seq, hub_hash, bytes): (i64, Vec<u8>, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
    let mut altered = bytes.clone();
    let at = altered.iter().position(|b| *b == b'9').unwrap();
    altered[at] = b'8';
    assert!(matches!(
        traveler::store::wire::check_hub_record(seq as u64, &hex::encode(&hub_hash), &altered),
        Err(traveler::store::wire::HubRecordError::WrongHash { .. })
    ));

    // Mirrored as received, the release is not taken: no job starts on it, the
    // store never hands its text out as the file's, and status says why.
    let bench_dir = store.path().to_path_buf();
    drop(store);
    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    let core = Core::new(store.clone(), library_of(&wi, &store), "BENCH-A");
    let why = not_released(start_job(&core, "WI-CHIP-001"));
    assert_eq!(
        why,
        NotReleased::HubReleaseRefused {
            revision: "A".into(),
            hub_seq: seq as u64,
            fault: traveler::domain::release::ReleaseFault::TextMismatch,
        }
    );
    assert_eq!(
        why.to_string(),
        format!(
            "the hub's release of rev A (hub record {seq}) was not taken here: its text does \
             not hash to the release's sha256; run `traveler verify --hub`"
        )
    );
    let book = store.releases().unwrap();
    assert_eq!(book.refused().len(), 1);
    assert_eq!(
        book.refused()[0].fault,
        traveler::domain::release::ReleaseFault::TextMismatch
    );
    assert!(store.archived_instruction(&hash).unwrap().is_none());
    drop(core);
    drop(store);
    let (code, out, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "status",
            "--store",
            bench_dir.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("NOT taken: hub record {seq} (mirrored as record"))
            && out.contains("its text does not hash to the release's sha256"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_the_bench_released_with_other_bytes_is_a_conflict_shown_not_resolved() {
    let Some(admin) = pg_admin_url() else { return };
    let shop = shop(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let wi = folder(dir.path());
    let bench_dir = dir.path().join("bench");
    let store = bench_store(&bench_dir);
    // The bench released rev A of its own copy (an engineer at the bench).
    store
        .append(
            "A900",
            Event::PersonEnrolled {
                badge: "E700".into(),
                name: "Eva Berg".into(),
                roles: vec![traveler::domain::types::Role::Engineer],
                skill: traveler::domain::types::SkillLevel::Expert,
                pin_hash: traveler::people::pin::hash_pin("7777").unwrap(),
            },
        )
        .unwrap();
    let local = dir.path().join("local");
    let local_wi = folder(&local);
    let local_path = local_wi.join("WI-CHIP-001.toml");
    let text = std::fs::read_to_string(&local_path).unwrap();
    std::fs::write(&local_path, format!("{text}\n# the bench's copy\n")).unwrap();
    drop(store);
    let (code, out, err) = run(
        &[
            "--instructions",
            local_wi.to_str().unwrap(),
            "instructions",
            "release",
            local_path.to_str().unwrap(),
            "--store",
            bench_dir.to_str().unwrap(),
            "--by",
            "E700",
            "--reason",
            "bench release",
            "--pin-stdin",
        ],
        "7777\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    // The hub releases rev A with the shipped bytes.
    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "E700", "7777");
    assert_eq!(code, 0, "{out}");

    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    // Neither text runs: which one is meant is for an engineer to settle.
    for (name, folder) in [("the hub's text", &wi), ("the bench's text", &local_wi)] {
        let core = Core::new(store.clone(), library_of(folder, &store), "BENCH-A");
        match not_released(start_job(&core, "WI-CHIP-001")) {
            NotReleased::Conflict { revision, texts } => {
                assert_eq!(revision, "A", "{name}");
                let places: Vec<&str> = texts.iter().map(|t| t.place.as_str()).collect();
                assert_eq!(places.len(), 2, "{name}");
                assert!(places[1].starts_with("at the hub (hub record "), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    drop(store);
    let (code, out, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "status",
            "--store",
            bench_dir.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("CONFLICT: WI-CHIP-001 rev A was released with different texts"),
        "{out}"
    );
    // A new revision released at the hub settles it for new jobs.
    let rev_b = std::fs::read_to_string(wi.join("WI-CHIP-001.toml"))
        .unwrap()
        .replace("revision = \"A\"", "revision = \"B\"");
    std::fs::write(wi.join("WI-CHIP-001.toml"), rev_b).unwrap();
    let (code, out) = release_at_hub(&shop, &wi, "WI-CHIP-001.toml", "E700", "7777");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("against the released rev A"), "{out}");
    assert!(out.contains("supersedes rev A"), "{out}");
    contact(&shop, &bench_dir);
    let store = Store::open(&bench_dir, Default::default()).unwrap();
    let core = Core::new(store.clone(), library_of(&wi, &store), "BENCH-A");
    let job = start_job(&core, "WI-CHIP-001").expect("rev B runs");
    assert_eq!(job.instruction_rev, "B");
}

/// An unreachable hub is said before any PIN is asked, with exit 2, and nothing is
/// recorded anywhere (no PostgreSQL needed).
#[test]
fn an_unreachable_hub_is_said_before_the_pin_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let wi = folder(dir.path());
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let file = wi.join("WI-CHIP-001.toml");
    let (code, out, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "release",
            file.to_str().unwrap(),
            "--hub",
            &url,
            "--hub-token",
            "tvh_x",
            "--by",
            "E700",
            "--reason",
            "ECO-1",
            "--pin-stdin",
        ],
        "",
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("cannot reach the hub at {url}")),
        "{err}"
    );
    assert!(!out.contains("released"), "{out}");
    let (code, out, err) = run(
        &[
            "hub",
            "policy",
            "show",
            "--hub",
            &url,
            "--hub-token",
            "tvh_x",
        ],
        "",
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot reach the hub"), "{err}");
    // Without a token the command says what is missing.
    let (code, _, err) = run(
        &[
            "--instructions",
            wi.to_str().unwrap(),
            "instructions",
            "status",
            "--hub",
            &url,
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("--hub needs a token"), "{err}");
}
