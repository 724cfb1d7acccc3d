//! The running bench application answers the read commands of the command line
//! over its Unix socket in the store folder (src/local/). The real binary runs in
//! tmux on a real store; every read command is run while it runs and again after it
//! has quit, and the two answers are compared byte for byte.

#[allow(dead_code)]
mod app_support;
mod export_support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use app_support::*;
use traveler::domain::event::Event;
use traveler::store::{OpenOptions, Store};

/// What a command answered: both streams and the exit code.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Answer {
    fn from(o: Output) -> Answer {
        Answer {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// The binary as a person runs it from `cwd`, with its own empty home (no
/// configuration of the person's leaks in).
fn traveler(cwd: &Path, home: &Path, args: &[String]) -> Answer {
    Command::new(BIN)
        .current_dir(cwd)
        .env("HOME", home)
        .env_remove("TRAVELER_STORE")
        .env_remove("TRAVELER_CONFIG")
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// The JSON export says when it was made: the one part of an answer that is not
/// a function of the store.
fn mask_export_time(s: &str) -> String {
    const KEY: &str = "\"exported_at\":\"";
    match s.find(KEY) {
        Some(i) => {
            let start = i + KEY.len();
            let end = start + s[start..].find('"').unwrap();
            format!("{}<time>{}", &s[..start], &s[end..])
        }
        None => s.to_string(),
    }
}

/// Files by their name relative to a folder: mode and bytes.
type Files = BTreeMap<String, (u32, Vec<u8>)>;

/// Every file under `dir`.
fn files(dir: &Path) -> Files {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let meta = std::fs::metadata(&p).unwrap();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if meta.is_dir() {
                out.insert(
                    format!("{name}/"),
                    (meta.permissions().mode() & 0o777, Vec::new()),
                );
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let bytes = if name.ends_with(".json") {
                    mask_export_time(&String::from_utf8(bytes).unwrap()).into_bytes()
                } else {
                    bytes
                };
                out.insert(name, (meta.permissions().mode() & 0o777, bytes));
            }
        }
    }
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// A store with three jobs on two boards (one flux lot on two of them), a roster
/// and archived nothing else: what `export_support::demo_store` records.
fn store_with_jobs(dir: &Path) -> PathBuf {
    let path = dir.join("store");
    let store = export_support::open(&path);
    export_support::demo_store(&store, &export_support::library());
    path
}

/// Every read command, with relative output paths (they name files in the
/// caller's working folder, whoever writes them).
fn read_commands(store: &Path) -> Vec<Vec<String>> {
    let wi = instructions().display().to_string();
    let s = store.display().to_string();
    let cmds: Vec<Vec<&str>> = vec![
        vec!["export"],
        vec!["export", "--samples"],
        vec!["export", "--format", "cfx"],
        vec!["export", "--job", "J-BGA-1", "--samples"],
        vec!["export", "--lot", "LOT-FLUX-1", "--out", "lot.json"],
        vec!["export", "--format", "csv", "--out", "csv"],
        vec!["export", "--format", "html", "--out", "html"],
        vec!["export", "--format", "cfx", "--out", "all.cfx"],
        // Refused: a folder export needs a folder.
        vec!["export", "--format", "csv"],
        vec!["export", "--format", "csv", "--out", "all.csv"],
        vec!["history", "SN-100"],
        vec!["history", "SN-100", "--json"],
        vec!["history", "SN-NOBODY"],
        vec!["where-used", "LOT-FLUX-1"],
        vec!["where-used", "lot-flux-1", "--json"],
        vec!["where-used", "LOT-NONE"],
        vec!["reviews"],
        vec!["reviews", "--json"],
        vec!["verify"],
        vec!["backup", "backup.jsonl"],
        vec!["people", "list"],
        vec!["people", "list", "--expiring", "3650"],
        vec!["people", "gaps"],
    ];
    cmds.into_iter()
        .map(|c| {
            let mut v = vec!["--instructions".to_string(), wi.clone()];
            v.extend(c.iter().map(|a| a.to_string()));
            v.extend(["--store".to_string(), s.clone()]);
            v
        })
        .collect()
}

/// Runs every read command from `cwd`: the answers and the files written there.
fn run_all(cwd: &Path, home: &Path, store: &Path) -> (Vec<Answer>, Files) {
    std::fs::create_dir_all(cwd).unwrap();
    let answers = read_commands(store)
        .iter()
        .map(|args| {
            let mut a = traveler(cwd, home, args);
            a.stdout = mask_export_time(&a.stdout);
            a
        })
        .collect();
    (answers, files(cwd))
}

#[test]
fn every_read_command_answers_the_same_bytes_while_the_application_runs() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = store_with_jobs(dir.path());
    let config = write_config(dir.path(), "BENCH-LOCAL", &store, "");
    let app = App::start("local-same", home, &config);
    app.wait_for("scan your badge");
    let socket = store.join("traveler.sock");
    assert!(socket.exists(), "no socket in the store folder");
    // Owner-only: the socket and the folder it is in.
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(mode(&store), 0o700);

    // Without the socket, a second traveler cannot open the store while the
    // application holds it: these answers come from the application.
    let (during, during_files) = run_all(&dir.path().join("during"), home, &store);
    let verify = &during[read_commands(&store)
        .iter()
        .position(|c| c.contains(&"verify".to_string()))
        .unwrap()];
    assert_eq!(verify.code, Some(0), "{verify:?}");
    assert!(verify.stdout.starts_with("OK: "), "{verify:?}");
    assert!(app.alive());
    app.quit();
    assert!(!socket.exists(), "the application left its socket behind");

    let (after, after_files) = run_all(&dir.path().join("after"), home, &store);
    for ((args, d), a) in read_commands(&store).iter().zip(&during).zip(&after) {
        assert_eq!(d, a, "`traveler {}` answered differently", args.join(" "));
    }
    // Every command did something: not all refusals.
    let ok = during.iter().filter(|a| a.code == Some(0)).count();
    assert_eq!(ok, during.len() - 2, "{during:#?}");
    assert!(during.iter().any(|a| a.stdout.contains("J-BGA-1")));
    assert!(
        during
            .iter()
            .any(|a| a.stdout.contains("A1") || a.stdout.contains("T100"))
    );

    // The same files with the same names, bytes and owner-only modes.
    assert_eq!(
        during_files.keys().collect::<Vec<_>>(),
        after_files.keys().collect::<Vec<_>>()
    );
    for (name, (m, bytes)) in &during_files {
        let (m2, bytes2) = &after_files[name];
        assert_eq!(bytes, bytes2, "{name} differs");
        assert_eq!(m, m2, "{name}: mode {m:o} vs {m2:o}");
        assert_eq!(m & 0o077, 0, "{name} is readable by others: {m:o}");
    }
    for f in ["backup.jsonl", "lot.json", "all.cfx", "csv/", "html/"] {
        assert!(
            during_files.contains_key(f),
            "{f} not written: {during_files:?}"
        );
    }
}

/// Sends raw bytes to the application's socket; what it answers on stderr and the
/// exit code.
fn raw_request(socket: &Path, bytes: &[u8]) -> (String, Option<i32>) {
    let mut s = UnixStream::connect(socket).unwrap();
    // The application may stop reading once it has seen too much.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let mut err = String::new();
    let mut code = None;
    let mut r = &answer[..];
    while let Some(frame) = traveler::local::proto::read_frame(&mut r).unwrap() {
        match frame {
            traveler::local::proto::Frame::Err(b) => err.push_str(&String::from_utf8_lossy(&b)),
            traveler::local::proto::Frame::Out(b) => panic!("output for a bad request: {b:?}"),
            traveler::local::proto::Frame::Exit(c) => code = Some(c),
        }
    }
    (err, code)
}

#[test]
fn bad_requests_get_a_clear_refusal_and_the_application_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_jobs(dir.path());
    let config = write_config(dir.path(), "BENCH-LOCAL", &store, "");
    let app = App::start("local-bad", dir.path(), &config);
    app.wait_for("scan your badge");
    let socket = store.join("traveler.sock");

    let (err, code) = raw_request(&socket, b"{this is not json");
    assert_eq!(code, Some(2));
    assert!(err.contains("the request is not readable"), "{err}");

    let (err, code) = raw_request(&socket, br#"{"version": 999, "read": "Verify"}"#);
    assert_eq!(code, Some(2));
    assert!(err.contains("protocol version 999"), "{err}");

    let (err, code) = raw_request(&socket, br#"{"read": "Verify"}"#);
    assert_eq!(code, Some(2));
    assert!(err.contains("names no protocol version"), "{err}");

    let big = vec![b'x'; 200 * 1024];
    let (err, code) = raw_request(&socket, &big);
    assert_eq!(code, Some(2));
    assert!(err.contains("larger than 65536 bytes"), "{err}");

    // Still serving, and the screen is the application's (nothing written on it).
    let a = traveler(
        dir.path(),
        dir.path(),
        &[
            "verify".into(),
            "--store".into(),
            store.display().to_string(),
        ],
    );
    assert_eq!(a.code, Some(0), "{a:?}");
    let screen = app.screen();
    assert!(screen.contains("scan your badge"), "{screen}");
    assert!(!screen.contains("request"), "{screen}");
    app.quit();
}

#[test]
fn a_stale_socket_from_a_crashed_application_breaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_jobs(dir.path());
    let socket = store.join("traveler.sock");
    // What an application that crashed leaves: a socket file nobody listens on.
    drop(UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let verify = || {
        traveler(
            dir.path(),
            dir.path(),
            &[
                "verify".into(),
                "--store".into(),
                store.display().to_string(),
            ],
        )
    };
    let direct = verify();
    assert_eq!(direct.code, Some(0), "{direct:?}");
    assert!(direct.stdout.starts_with("OK: "), "{direct:?}");

    // The next application replaces it and answers on it.
    let config = write_config(dir.path(), "BENCH-LOCAL", &store, "");
    let app = App::start("local-stale", dir.path(), &config);
    app.wait_for("scan your badge");
    assert_eq!(mode(&socket), 0o600);
    let served = verify();
    assert_eq!(served, direct);
    // Killed without a chance to clean up: the socket stays, commands still work
    // (sled's lock was released with the process).
    drop(app);
    let start = std::time::Instant::now();
    loop {
        let a = verify();
        if a.code == Some(0) {
            assert_eq!(a, direct);
            break;
        }
        // The process may take a moment to go after tmux is killed.
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "verify after the application was killed: {a:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

const WI: &str = r#"id = "WI-LOCAL-001"
revision = "A"
title = "Local socket check: heat one joint"
activity = "rework"
procedures = ["7711 3.1.1"]
classes = [1, 2, 3]
skill = "intermediate"
modules = [4]
equipment = ["Soldering station"]

[[step]]
text = "Heat the joint."

[[step.checkpoint]]
text = "Joint heated"
acceptance = "ORG-QP-1"
signer = "technician"
kind = "confirm"
"#;

/// An instructions folder with one short instruction (the shipped catalog, alloys
/// and policy).
fn one_instruction(dir: &Path) -> PathBuf {
    let wi = dir.join("instructions");
    std::fs::create_dir_all(&wi).unwrap();
    for f in ["procedures.toml", "alloys.toml", "policy.toml"] {
        std::fs::copy(instructions().join(f), wi.join(f)).unwrap();
    }
    std::fs::write(wi.join("WI-LOCAL-001.toml"), WI).unwrap();
    wi
}

#[test]
fn a_sign_off_completes_while_an_export_is_held_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    // The demo roster (real PINs) and many jobs, so the export is far larger than
    // every buffer between the application and this test.
    {
        let store = export_support::open(&path);
        let lib = export_support::library();
        let policy = lib.policy.clone().unwrap();
        traveler::demo::seed(&store, &policy, chrono::Utc::now().date_naive()).unwrap();
        for i in 0..60 {
            export_support::run_job(
                &store,
                &lib,
                &export_support::JobScript {
                    id: &format!("J-BULK-{i:03}"),
                    serial: &format!("SN-BULK-{i:03}"),
                    instruction: "WI-BGA-001",
                    refdes: &["U7"],
                    lots: &[("flux", "LOT-FLUX-1"), ("spheres", "LOT-SPH-3")],
                    excursion_step: None,
                    outcome: export_support::Outcome::Approved,
                    start: export_support::t0() + chrono::Duration::hours(i),
                },
            );
        }
        // The bench runs released revisions only: the demo engineer releases the
        // test's instruction as the demo does the shipped ones.
        let wi = one_instruction(dir.path());
        let local = traveler::instruction::load_dir(&wi).library;
        traveler::demo::seed_releases(&store, &local, chrono::Utc::now()).unwrap();
    }
    let wi = dir.path().join("instructions");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bench = \"BENCH-LOCAL\"\nstore = \"{}\"\ninstructions = \"{}\"\nlog_dir = \"{}\"\n\n\
             [station]\nchannels = [{{ name = \"tip\" }}]\n[station.protocol]\nkind = \"simulated\"\n",
            path.display(),
            wi.display(),
            dir.path().join("logs").display()
        ),
    )
    .unwrap();
    let app = App::start("local-signoff", dir.path(), &config);
    // Typed at a person's pace (a burst ending in Enter reads as a scan).
    let typed = |keys: &[&str]| {
        app.keys(keys);
        std::thread::sleep(std::time::Duration::from_millis(150));
    };
    app.wait_for("scan your badge");
    typed(&["T100", "Enter"]);
    typed(&["1111", "Enter"]);
    app.wait_for("Your open jobs");
    typed(&["n"]);
    for field in ["SN-LOCAL-1", "PCA-9", "B", "R12", "NCR-1"] {
        typed(&[field, "Enter"]);
    }
    typed(&["Enter", "Enter", "Enter"]); // approval (none), class, alloy
    typed(&["Enter"]); // the only instruction
    app.wait_for("Step 1/1");

    // The export starts and sends its first bytes; then this test stops reading,
    // so the application's export thread is held mid-stream by back-pressure.
    let mut export = Command::new(BIN)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .args(["--instructions"])
        .arg(instructions())
        .args(["export", "--samples", "--store"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = export.stdout.take().unwrap();
    let mut first = vec![0u8; 4096];
    stdout.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"{\"traveler_export\""));

    // The sign-off: saved (fsynced) and on screen while the export waits.
    typed(&["Enter"]);
    typed(&["1111", "Enter"]);
    app.wait_for("Signed Confirmed");
    assert!(
        export.try_wait().unwrap().is_none(),
        "the export ended before it was read"
    );

    // Now the export runs to its end, whole and readable.
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let status = export.wait().unwrap();
    let mut err = String::new();
    export
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    let total = first.len() + rest.len();
    // Far more than the pipe and socket buffers hold (a few hundred KiB): the export
    // was still writing when the sign-off was saved.
    assert!(total > 2 << 20, "export of only {total} bytes");
    let mut all = first;
    all.extend_from_slice(&rest);
    let doc: serde_json::Value = serde_json::from_slice(&all).expect("export is JSON");
    // The 60 jobs and the one started at the bench before the export began.
    assert_eq!(doc["jobs"].as_array().map(Vec::len), Some(61), "{err}");
    assert!(err.contains("exported 61 jobs"), "{err}");

    app.quit();
    let store = Store::open_existing(&path, OpenOptions::default()).unwrap();
    let job = store
        .jobs_by_serial("SN-LOCAL-1")
        .unwrap()
        .into_iter()
        .next()
        .expect("the job is in the store");
    let events: Vec<Event> = store
        .events_of_job_iter(&job)
        .map(|r| r.unwrap().event)
        .collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::CheckpointSigned { .. })),
        "{events:?}"
    );
}
