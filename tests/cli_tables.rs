//! Every table the command line prints lines up, whatever the width of its cells:
//! `history`, `where-used`, `reviews`, `check` and `people list/gaps`, through the
//! real binary (standard output is a pipe, so rows are never wrapped).

mod export_support;

use std::path::Path;
use std::process::Command;

use chrono::Duration;
use export_support::*;
use traveler::domain::event::{Event, SYSTEM_ACTOR};
use traveler::domain::types::{Role, SkillLevel};

const LONG_JOB: &str = "J-2026-12-01-BENCH-02-000123";

fn traveler(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_traveler"))
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

/// The demo jobs, plus one with a long id on SN-100 (submitted, waiting for review)
/// whose flux lot was typed `Lot-Flux-1`, and a person with a long name.
fn store(dir: &Path) {
    let store = open(dir);
    let lib = library();
    demo_store(&store, &lib);
    run_job(
        &store,
        &lib,
        &JobScript {
            id: LONG_JOB,
            serial: "SN-100",
            instruction: "WI-TH-001",
            refdes: &["J3", "J4"],
            // The same flux lot, typed in another case.
            lots: &[("flux", "Lot-Flux-1")],
            excursion_step: None,
            outcome: Outcome::InProgress(7),
            start: t0() + Duration::days(6),
        },
    );
    store
        .append_at(
            t0() + Duration::days(7),
            TECH.0,
            Event::JobSubmitted {
                job: LONG_JOB.into(),
            },
        )
        .unwrap();
    store
        .append_at(
            t0(),
            SYSTEM_ACTOR,
            Event::PersonEnrolled {
                badge: "T-7781-NIGHT".into(),
                name: "Maria do Carmo Albuquerque Vasconcelos".into(),
                roles: vec![Role::Technician, Role::Inspector],
                skill: SkillLevel::Advanced,
                pin_hash: "$argon2id$test".into(),
            },
        )
        .unwrap();
}

/// The table in `text` whose header line starts with `first`: header, rule, rows
/// up to the first blank line.
fn table<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(first));
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("no table {first}:\n{text}"));
    let rule = lines.next().unwrap();
    assert!(
        rule.chars().all(|c| c == '─'),
        "rule under the header:\n{text}"
    );
    std::iter::once(header)
        .chain(lines.take_while(|l| !l.trim().is_empty()))
        .collect()
}

/// Each heading's column: every row has a cell that starts exactly there (or is
/// empty there), with a space before it.
fn assert_aligned(lines: &[&str], headings: &[&str]) {
    let header: Vec<char> = lines[0].chars().collect();
    let text = lines.join("\n");
    for h in headings {
        let at = lines[0]
            .find(h)
            .map(|b| lines[0][..b].chars().count())
            .unwrap_or_else(|| panic!("no heading {h}"));
        assert!(at == 0 || header[at - 1] == ' ');
        for row in &lines[1..] {
            let row: Vec<char> = row.chars().collect();
            if row.len() <= at {
                continue; // an empty last cell
            }
            assert!(
                at == 0 || row[at - 1] == ' ',
                "column {h} pushed out of line:\n{text}"
            );
        }
    }
    assert!(lines.len() > 1, "no rows:\n{text}");
}

#[test]
fn history_where_used_and_reviews_line_up_with_a_long_job_id() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let s = dir.path().to_str().unwrap();

    let (code, out, err) = traveler(&["history", "SN-100", "--store", s]);
    assert_eq!(code, 0, "{err}");
    let t = table(&out, "job");
    assert_eq!(t.len(), 4, "{out}");
    assert_aligned(
        &t,
        &[
            "instruction",
            "status",
            "performer",
            "started (UTC)",
            "finished (UTC)",
            "refdes",
        ],
    );
    assert!(t.iter().any(|l| l.starts_with(LONG_JOB)), "{out}");
    assert!(
        out.contains("2026-03-02 07:30"),
        "times to the minute: {out}"
    );
    let cycles = table(&out, "refdes");
    assert_aligned(&cycles, &["cycles", "jobs"]);
    assert!(cycles.iter().any(|l| l.starts_with("J4 ")), "{out}");

    let (code, out, err) = traveler(&["where-used", "LOT-FLUX-1", "--store", s]);
    assert_eq!(code, 0, "{err}");
    let t = table(&out, "serial");
    assert_aligned(
        &t,
        &[
            "job",
            "step",
            "material",
            "lot",
            "expiry",
            "used (UTC)",
            "status",
        ],
    );
    assert!(out.contains("on 2 board(s)"), "{out}");
    assert!(out.contains("2027-01-31"), "expiry shown: {out}");

    let (code, out, err) = traveler(&["reviews", "--store", s]);
    assert_eq!(code, 0, "{err}");
    let t = table(&out, "submitted (UTC)");
    assert_eq!(t.len(), 2, "{out}");
    assert_aligned(&t, &["job", "board", "instruction", "performer"]);
    assert!(t[1].contains(LONG_JOB), "{out}");
}

#[test]
fn where_used_finds_a_lot_whatever_its_case_and_says_how_it_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let s = dir.path().to_str().unwrap();
    let (code, exact, _) = traveler(&["where-used", "LOT-FLUX-1", "--store", s]);
    assert_eq!(code, 0);
    let (code, lower, err) = traveler(&["where-used", "lot-flux-1", "--store", s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        lower.starts_with("Lot lot-flux-1 (recorded as LOT-FLUX-1, Lot-Flux-1): 7 use(s)"),
        "{lower}"
    );
    // The same uses, row for row, however the lot is typed.
    assert_eq!(table(&exact, "serial"), table(&lower, "serial"));
    let (_, json, _) = traveler(&["where-used", "lOT-fLUX-1", "--store", s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let uses = v.as_array().unwrap();
    assert_eq!(uses.len(), 7, "J-TH-1 ×2, J-BGA-1 ×3, the long job ×2");
    let as_recorded = |l: &str| uses.iter().filter(|u| u["lot"] == l).count();
    assert_eq!(
        (as_recorded("LOT-FLUX-1"), as_recorded("Lot-Flux-1")),
        (5, 2)
    );
    assert!(uses.iter().all(|u| u["expiry"] == "2027-01-31"));
    // Still no prefix match.
    let (_, out, _) = traveler(&["where-used", "lot-flux", "--store", s]);
    assert!(out.contains("not recorded on any job"), "{out}");
}

#[test]
fn check_and_people_tables_line_up() {
    let (code, out, err) = traveler(&["check", "instructions"]);
    assert_eq!(code, 0, "{err}");
    let t = table(&out, "ID");
    assert_aligned(
        &t,
        &["REV", "ACTIVITY", "PROCEDURES", "SKILL", "CLASSES", "STEPS"],
    );

    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    let s = dir.path().to_str().unwrap();
    let (code, out, err) = traveler(&["people", "--store", s, "list"]);
    assert_eq!(code, 0, "{err}");
    let t = table(&out, "BADGE");
    assert_eq!(t.len(), 5, "{out}");
    assert_aligned(&t, &["NAME", "ROLES", "SKILL", "STATE", "CERTIFICATES"]);
    let (code, out, err) = traveler(&["people", "--store", s, "gaps"]);
    assert_eq!(code, 0, "{err}");
    let t = table(&out, "BADGE");
    assert_aligned(&t, &["NAME", "INSTRUCTION", "MISSING MODULES"]);
    assert!(
        out.contains("Maria do Carmo Albuquerque Vasconcelos"),
        "{out}"
    );
}
