//! `traveler export` through the real binary as a quality engineer meets it: CSV
//! tables a spreadsheet opens safely and reads as numbers and dates, JSON that keeps
//! the exact values, and every exported file owner-only whatever the umask.

mod export_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use chrono::Duration;
use export_support::*;
use traveler::domain::event::Event;
use traveler::domain::types::ProductClass;

const EVIL_SERIAL: &str = "=HYPERLINK(\"http://e.vil\",\"x\")";
const EVIL_NCR: &str = "@SUM(1+1)*cmd";
const EVIL_LOT: &str = "-2+3+cmd|' /C calc'!A0";
const EVIL_REFDES: &str = "+R1";

/// Runs the binary with umask 000, so only traveler itself can make a file private.
fn traveler(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_traveler"))
        .args(args)
        .env_remove("TRAVELER_STORE")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run traveler");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The demo jobs plus one whose serial, NCR, designator, lot and comment are formulas.
fn store_with_formulas(dir: &Path) {
    let store = open(dir);
    let lib = library();
    demo_store(&store, &lib);
    let ins = lib.instruction("WI-TH-001").unwrap();
    let t = t0() + Duration::days(5);
    let job = "J-EVIL".to_string();
    let events = [
        Event::JobStarted {
            job: job.clone(),
            board_serial: EVIL_SERIAL.into(),
            assembly_part: "PCA-7731".into(),
            assembly_rev: "D".into(),
            refdes: vec![EVIL_REFDES.into()],
            defect_ref: EVIL_NCR.into(),
            class: ProductClass::Class2,
            alloy: "SAC305".into(),
            instruction_id: ins.id().into(),
            instruction_rev: ins.revision().into(),
            instruction_hash: ins.hash.clone(),
            step_count: ins.spec.steps.len() as u32,
            approval_ref: None,
            bench: "bench-2".into(),
            performer: TECH.0.into(),
            procedures: vec![],
        },
        Event::StepStarted {
            job: job.clone(),
            step: 0,
        },
        Event::LotRecorded {
            job: job.clone(),
            step: 0,
            material: "flux".into(),
            lot: EVIL_LOT.into(),
            expiry: None,
            gtin: None,
            raw_scan: format!("\t{EVIL_LOT}"),
        },
        Event::JobSuspended {
            job,
            reason: "\r=cmd".into(),
        },
    ];
    for (i, e) in events.into_iter().enumerate() {
        store
            .append_at(t + Duration::seconds(i as i64), TECH.0, e)
            .unwrap();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn table(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    (header, r.records().collect::<Result<_, _>>().unwrap())
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn csv_cells_that_spreadsheets_would_run_are_neutralised_and_json_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    store_with_formulas(&store);
    let s = store.to_str().unwrap();
    let out = dir.path().join("csv");
    let (code, _, err) = traveler(&[
        "export",
        "--store",
        s,
        "--format",
        "csv",
        "--samples",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("exported 4 jobs"), "{err}");
    assert!(err.contains("tables: jobs.csv, steps.csv"), "{err}");

    let (h, jobs) = table(&out.join("jobs.csv"));
    let evil = jobs.iter().find(|r| &r[0] == "J-EVIL").expect("J-EVIL row");
    assert_eq!(&evil[col(&h, "board_serial")], format!("'{EVIL_SERIAL}"));
    assert_eq!(&evil[col(&h, "defect_ref")], format!("'{EVIL_NCR}"));
    assert_eq!(&evil[col(&h, "refdes")], format!("'{EVIL_REFDES}"));
    let (h, lots) = table(&out.join("lots.csv"));
    let lot = lots.iter().find(|r| &r[0] == "J-EVIL").expect("lot row");
    assert_eq!(&lot[col(&h, "lot")], format!("'{EVIL_LOT}"));
    assert_eq!(&lot[col(&h, "board_serial")], format!("'{EVIL_SERIAL}"));
    assert_eq!(&lot[col(&h, "raw_scan")], format!("'\t{EVIL_LOT}"));

    // No cell of any table starts a formula; negative numbers stay numbers.
    for name in traveler::export::csv::TABLES {
        let (_, rows) = table(&out.join(name));
        for row in &rows {
            for cell in row {
                if let Some(first) = cell.chars().next() {
                    assert!(
                        !"=+-@\t\r".contains(first) || cell.parse::<f64>().is_ok(),
                        "{name}: {cell:?}"
                    );
                }
            }
        }
    }

    // The JSON export keeps every value exactly as recorded.
    let (code, json, err) = traveler(&["export", "--store", s, "--job", "J-EVIL"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let job = &v["jobs"][0]["job"];
    assert_eq!(job["board_serial"], EVIL_SERIAL);
    assert_eq!(job["defect_ref"], EVIL_NCR);
    assert_eq!(job["lots"][0]["lot"], EVIL_LOT);
}

#[test]
fn every_export_file_is_owner_only_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    store_with_formulas(&store);
    let s = store.to_str().unwrap();
    for (format, out) in [
        ("csv", dir.path().join("tables")),
        ("html", dir.path().join("reports")),
        ("json", dir.path().join("all.json")),
        ("cfx", dir.path().join("all.cfx.json")),
    ] {
        let (code, _, err) = traveler(&[
            "export",
            "--store",
            s,
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{format}: {err}");
        if out.is_dir() {
            assert_eq!(mode(&out), 0o700, "{format}: folder {}", out.display());
            let mut n = 0;
            for f in std::fs::read_dir(&out).unwrap() {
                let f = f.unwrap().path();
                assert_eq!(mode(&f), 0o600, "{}", f.display());
                n += 1;
            }
            assert!(n >= 5, "{format}: {n} files");
        } else {
            assert_eq!(mode(&out), 0o600, "{format}: {}", out.display());
        }
    }
    // A file that was there before, readable by everyone, is replaced owner-only.
    let old = dir.path().join("old.json");
    std::fs::write(&old, b"{}").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = traveler(&["export", "--store", s, "--out", old.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&old), 0o600);
}

#[test]
fn csv_reads_as_dates_and_tenths_in_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    store_with_formulas(&store);
    let s = store.to_str().unwrap();
    let out = dir.path().join("csv");
    let (code, _, err) = traveler(&[
        "export",
        "--store",
        s,
        "--format",
        "csv",
        "--samples",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let is_utc = |c: &str| {
        c.is_empty() || chrono::NaiveDateTime::parse_from_str(c, "%Y-%m-%d %H:%M:%S").is_ok()
    };
    let tenth = |c: &str| {
        c.is_empty()
            || (c.parse::<f64>().is_ok() && c.split_once('.').is_some_and(|(_, f)| f.len() == 1))
    };
    for name in [
        "jobs.csv",
        "steps.csv",
        "signoffs.csv",
        "lots.csv",
        "excursions.csv",
    ] {
        let (h, rows) = table(&out.join(name));
        let times: Vec<usize> = (0..h.len()).filter(|&i| h[i].ends_with("_utc")).collect();
        assert!(!times.is_empty(), "{name}: no _utc column in {h:?}");
        assert!(
            !h.iter()
                .any(|c| c == "time" || c == "started" || c == "count"),
            "{name}: {h:?}"
        );
        let temps: Vec<usize> = (0..h.len()).filter(|&i| h[i].ends_with("_c")).collect();
        for row in &rows {
            for &i in &times {
                assert!(is_utc(&row[i]), "{name} {}: {:?}", h[i], &row[i]);
            }
            for &i in &temps {
                assert!(tenth(&row[i]), "{name} {}: {:?}", h[i], &row[i]);
            }
        }
    }
    let (h, jobs) = table(&out.join("jobs.csv"));
    let bga = jobs.iter().find(|r| &r[0] == "J-BGA-1").unwrap();
    assert_eq!(&bga[col(&h, "started_utc")], "2026-03-03 07:30:00");
    assert_eq!(&bga[col(&h, "review_comment")], "record complete");
    assert_eq!(&bga[col(&h, "reviewer_name")], SUPERVISOR.1);

    let (h, steps) = table(&out.join("steps.csv"));
    let per_channel = col(&h, "samples_this_channel");
    let per_step = col(&h, "samples_all_channels");
    let sampled = steps.iter().find(|r| !r[per_channel].is_empty()).unwrap();
    assert_eq!(&sampled[per_channel], "40");
    assert_eq!(&sampled[per_step], "40");

    let (h, exc) = table(&out.join("excursions.csv"));
    assert_eq!(exc.len(), 1);
    assert_eq!(&exc[0][col(&h, "acknowledged_by")], TECH.0);
    assert_eq!(&exc[0][col(&h, "acknowledged_by_name")], TECH.1);
    assert!(is_utc(&exc[0][col(&h, "acknowledged_utc")]));
    assert!(!exc[0][col(&h, "acknowledged_utc")].is_empty());
    assert!(
        exc[0][col(&h, "acknowledgement")].starts_with("nozzle height"),
        "{:?}",
        exc[0]
    );

    let (h, samples) = table(&out.join("samples.csv"));
    assert_eq!(
        h,
        [
            "job", "step_no", "channel", "time_utc", "celsius", "attempt"
        ]
    );
    for r in &samples {
        assert!(
            chrono::NaiveDateTime::parse_from_str(&r[3], "%Y-%m-%d %H:%M:%S%.3f").is_ok(),
            "{:?}",
            &r[3]
        );
        assert!(tenth(&r[4]), "{:?}", &r[4]);
    }
}

#[test]
fn a_csv_file_name_for_a_folder_export_is_refused_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    store_with_formulas(&store);
    let s = store.to_str().unwrap();
    let all = dir.path().join("all.csv");
    let (code, _, err) = traveler(&[
        "export",
        "--store",
        s,
        "--format",
        "csv",
        "--out",
        all.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("write a folder"), "{err}");
    assert!(err.contains("jobs.csv, steps.csv"), "{err}");
    assert!(err.contains("all-csv"), "{err}");
    assert!(!all.exists(), "nothing written under the file name");
    // A folder of that name that already exists is the user's choice: written into.
    std::fs::create_dir(&all).unwrap();
    let (code, _, err) = traveler(&[
        "export",
        "--store",
        s,
        "--format",
        "csv",
        "--out",
        all.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(all.join("jobs.csv").exists());
}
