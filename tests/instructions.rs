//! The instructions folder: the shipped files load clean, broken files are reported
//! with file:line:col, and one bad file never hides the good ones.

use std::fs;
use std::path::Path;

use traveler::instruction::{load_dir, schema::WorkInstructionFile};

const CATALOG: &str = r#"
[[procedure]]
document = "IPC-7711"
number = "3.1.1"
source = "standard"
title = "Through-hole desoldering, continuous vacuum"
skill = "intermediate"
conformance = "high"
applicability = ["R"]
module = 4

[[procedure]]
document = "IPC-7711"
number = "ORG-8.1"
source = "organisation"
title = "BGA removal"
skill = "expert"
conformance = "high"
applicability = ["R"]
module = 8

[[procedure]]
document = "IPC-7721"
number = "ORG-2.9"
source = "organisation"
title = "Lap splice"
skill = "intermediate"
conformance = "low"
applicability = ["W"]
module = 2
"#;

const ALLOYS: &str = r#"
[[alloy]]
id = "SAC305"
name = "Sn96.5Ag3.0Cu0.5"
lead_free = true
solidus_c = 217.0
liquidus_c = 220.0
profile.tip = { min = 345.0, max = 400.0 }
profile.peak = { min = 240.0, max = 250.0 }
"#;

const POLICY: &str = r#"
certification_validity_years = 2

[[class]]
class = 1
conformance = ["high", "medium", "low"]

[[class]]
class = 2
conformance = ["high", "medium"]

[[class]]
class = 3
conformance = ["high"]

[[approval]]
activity = "rework"
required = false
label = "Pre-authorised rework"

[signature]
max_failed_pins = 5
lockout_minutes = 15

[session]
idle_logout_minutes = 10
"#;

/// A valid instruction; each broken case edits one thing in it.
const GOOD: &str = r#"id = "WI-T-001"
revision = "A"
title = "Through-hole desolder"
activity = "rework"
procedures = ["7711 3.1.1"]
classes = [2, 3]
skill = "intermediate"
modules = [4]
equipment = ["Desoldering station"]

[[material]]
id = "flux"
kind = "flux"
name = "No-clean flux"
capture_lot = true
capture_expiry = true

[[step]]
text = "Desolder the part."
temperature = { channel = "tip", profile = "tip" }
materials = ["flux"]

[[step.checkpoint]]
text = "Holes clear"
acceptance = "IPC-A-610 7.3"
signer = "inspector"
kind = "pass-fail"
"#;

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("procedures.toml", CATALOG),
        ("alloys.toml", ALLOYS),
        ("policy.toml", POLICY),
    ] {
        fs::write(dir.path().join(name), text).unwrap();
    }
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn shipped_instructions_load_clean() {
    let loaded = load_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("instructions")
            .as_path(),
    );
    let problems: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let lib = &loaded.library;
    assert!(
        lib.instructions.len() >= 8,
        "{} instructions",
        lib.instructions.len()
    );
    assert!(lib.policy.is_some());
    for alloy in ["Sn63Pb37", "SAC305"] {
        assert!(lib.alloy(alloy).is_some(), "{alloy} missing");
    }
    // Every activity is covered, and the standard's numbers are marked as such.
    for activity in ["rework", "repair", "modification"] {
        assert!(
            lib.instructions
                .iter()
                .any(|i| i.spec.activity.to_string() == activity),
            "no {activity} instruction"
        );
    }
    assert!(lib.procedure("7711 3.1.1").is_some());
    assert!(lib.procedure("7721 2.3").is_some());
}

#[test]
fn good_fixture_is_clean() {
    let dir = folder(&[("WI-T-001.toml", GOOD)]);
    let loaded = load_dir(dir.path());
    assert!(loaded.is_clean(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.library.instructions.len(), 1);
    let wi = &loaded.library.instructions[0];
    let window = wi.step_window(0, loaded.library.alloy("SAC305")).unwrap();
    assert_eq!((window.min_c, window.max_c), (345.0, 400.0));
    assert_eq!(wi.hash.len(), 64);
}

/// (what, text edit applied to GOOD (from, to), expected message part, expected line)
const BROKEN: &[(&str, (&str, &str), &str, usize)] = &[
    (
        "syntax error",
        (
            "title = \"Through-hole desolder\"",
            "title = \"Through-hole",
        ),
        "",
        3,
    ),
    (
        "unknown key",
        ("revision = \"A\"", "revision = \"A\"\nauthor = \"me\""),
        "unknown field `author`",
        3,
    ),
    (
        "wrong type",
        ("classes = [2, 3]", "classes = \"2\""),
        "invalid type",
        6,
    ),
    (
        "class out of range",
        ("classes = [2, 3]", "classes = [2, 4]"),
        "product class must be 1, 2 or 3",
        6,
    ),
    (
        "unknown procedure",
        (
            "procedures = [\"7711 3.1.1\"]",
            "procedures = [\"7711 3.1.1\", \"7711 9.9\"]",
        ),
        "unknown procedure \"7711 9.9\"",
        5,
    ),
    (
        "unknown material",
        ("materials = [\"flux\"]", "materials = [\"flux\", \"glue\"]"),
        "unknown material \"glue\"",
        21,
    ),
    (
        "min above max",
        ("profile = \"tip\" }", "min = 400.0, max = 300.0 }"),
        "min 400 °C is above max 300 °C",
        20,
    ),
    (
        "profile and numbers",
        ("profile = \"tip\" }", "profile = \"tip\", min = 1.0 }"),
        "both a profile and min/max",
        20,
    ),
    (
        "alloy profile missing",
        ("profile = \"tip\" }", "profile = \"preheat\" }"),
        "alloy profile \"preheat\" is not in alloys.toml",
        20,
    ),
    (
        "skill below procedure",
        (
            "procedures = [\"7711 3.1.1\"]",
            "procedures = [\"7711 ORG-8.1\"]\n",
        ),
        "skill Intermediate is below Expert",
        8,
    ),
    (
        "module not listed",
        ("modules = [4]", "modules = [5]"),
        "certified by training module 4",
        5,
    ),
    (
        "module out of range",
        ("modules = [4]", "modules = [4, 11]"),
        "training module 11 is not 1–10",
        8,
    ),
    (
        "class forbidden for conformance",
        (
            "procedures = [\"7711 3.1.1\"]",
            "procedures = [\"7721 ORG-2.9\"]",
        ),
        "Class 2 is not allowed for procedure 7721 ORG-2.9 (Low conformance)",
        6,
    ),
    (
        "measurement without limits",
        (
            "kind = \"pass-fail\"",
            "kind = \"measurement\"\nunit = \"mm\"",
        ),
        "needs a min and/or max",
        27,
    ),
    (
        "measurement min above max",
        (
            "kind = \"pass-fail\"",
            "kind = \"measurement\"\nunit = \"mm\"\nmin = 3.0\nmax = 1.0",
        ),
        "min 3 is above max 1",
        29,
    ),
    (
        "limits on a confirm",
        ("kind = \"pass-fail\"", "kind = \"confirm\"\nmax = 2.0"),
        "belong to kind = \"measurement\"",
        27,
    ),
    (
        "bad signer",
        ("signer = \"inspector\"", "signer = \"boss\""),
        "unknown variant `boss`",
        26,
    ),
];

#[test]
fn broken_files_name_file_line_and_what_was_expected() {
    for (what, (from, to), message, line) in BROKEN {
        assert!(GOOD.contains(from), "{what}: fixture lacks {from:?}");
        let text = GOOD.replacen(from, to, 1);
        let dir = folder(&[
            ("WI-T-001.toml", &text),
            ("WI-OK.toml", &GOOD.replace("WI-T-001", "WI-OK")),
        ]);
        let loaded = load_dir(dir.path());
        let diag = loaded
            .diagnostics
            .iter()
            .find(|d| d.file.ends_with("WI-T-001.toml") && d.message.contains(message))
            .unwrap_or_else(|| panic!("{what}: no diagnostic; got {:?}", loaded.diagnostics));
        assert!(diag.message.contains(message), "{what}: {diag}");
        assert_eq!(diag.line, *line, "{what}: {diag}");
        assert!(diag.col >= 1);
        assert!(
            diag.to_string()
                .starts_with(&format!("{}:{line}:", diag.file.display())),
            "{diag}"
        );
        // The good neighbour is still loaded.
        let ids: Vec<&str> = loaded.library.instructions.iter().map(|i| i.id()).collect();
        assert_eq!(ids, ["WI-OK"], "{what}");
    }
}

#[test]
fn step_less_instruction_is_reported_at_its_id() {
    let text = &GOOD[..GOOD.find("[[step]]").unwrap()];
    let dir = folder(&[("WI-T-001.toml", text)]);
    let loaded = load_dir(dir.path());
    let d = &loaded.diagnostics[0];
    assert!(d.message.contains("has no steps"), "{d}");
    assert_eq!((d.line, d.col), (1, 6));
}

#[test]
fn duplicate_ids_keep_the_first_file() {
    let dir = folder(&[("A.toml", GOOD), ("B.toml", GOOD)]);
    let loaded = load_dir(dir.path());
    assert_eq!(loaded.library.instructions.len(), 1);
    assert!(loaded.library.instructions[0].path.ends_with("A.toml"));
    let d = &loaded.diagnostics[0];
    assert!(d.file.ends_with("B.toml"));
    assert!(
        d.message.contains("duplicate instruction id \"WI-T-001\""),
        "{d}"
    );
    assert!(d.message.contains("A.toml"), "{d}");
}

#[test]
fn broken_catalog_is_reported_and_instructions_still_checked() {
    let dir = folder(&[("WI-T-001.toml", GOOD)]);
    fs::write(
        dir.path().join("procedures.toml"),
        "[[procedure]]\ndocument = \"IPC-9999\"\n",
    )
    .unwrap();
    let loaded = load_dir(dir.path());
    let files: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        files.iter().any(|d| d.contains("procedures.toml:2:")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|d| d.contains("WI-T-001.toml") && d.contains("unknown procedure")),
        "{files:?}"
    );
}

#[test]
fn schema_round_trips() {
    let spec: WorkInstructionFile = toml::from_str(GOOD).unwrap();
    let text = toml::to_string(&spec).unwrap();
    let again: WorkInstructionFile = toml::from_str(&text).unwrap();
    assert_eq!(toml::to_string(&again).unwrap(), text);
    assert_eq!(again.id.get_ref(), "WI-T-001");
    assert_eq!(again.steps[0].checkpoints.len(), 1);
}

#[test]
fn check_command_exits_one_on_errors_and_prints_locations() {
    let dir = folder(&[(
        "WI-T-001.toml",
        &GOOD.replace("modules = [4]", "modules = [5]"),
    )]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_traveler"))
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("WI-T-001.toml:5:"), "{stdout}");

    fs::write(dir.path().join("WI-T-001.toml"), GOOD).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_traveler"))
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("WI-T-001  A    rework"), "{stdout}");
    assert!(stdout.contains("no problems found"), "{stdout}");
}
