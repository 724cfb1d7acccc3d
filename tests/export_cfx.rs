//! CFX messages against reviewed golden files, field for field.
//!
//! To rewrite the golden files after a deliberate change:
//! `TRAVELER_UPDATE_GOLDEN=1 cargo test --test export_cfx`, then review the diff
//! against the CFX SDK's message classes.

mod export_support;

use std::path::PathBuf;

use export_support::*;
use serde_json::Value;
use traveler::export::cfx::write_cfx;
use traveler::export::{ExportOptions, Scope};
use traveler::store::Store;

fn cfx(store: &Store, job: &str, samples: bool) -> Value {
    serde_json::from_str(&cfx_text(store, job, samples)).expect("one JSON array of envelopes")
}

/// The export as written, in the SDK's field order.
fn cfx_text(store: &Store, job: &str, samples: bool) -> String {
    let mut out = Vec::new();
    write_cfx(
        store,
        &library(),
        &Scope {
            job: Some(job.into()),
            ..Scope::default()
        },
        &ExportOptions { samples },
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// Re-indents compact JSON without reordering keys (serde_json's map would sort them),
/// so the golden files read in the order the CFX SDK documents.
fn indent(json: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let (mut in_str, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = json.chars().filter(|c| *c != '\n').peekable();
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().unwrap_or(' '));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The path of the first difference, for a failure message that points at the field.
fn diff(path: &str, want: &Value, got: &Value) -> Option<String> {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().chain(b.keys()) {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = diff(&p, x, y) {
                            return Some(d);
                        }
                    }
                    (x, y) => return Some(format!("{p}: golden {x:?}, got {y:?}")),
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = diff(&format!("{path}[{i}]"), x, y) {
                    return Some(d);
                }
            }
            (a.len() != b.len())
                .then(|| format!("{path}: {} items in golden, {} got", a.len(), b.len()))
        }
        (x, y) => (x != y).then(|| format!("{path}: golden {x}, got {y}")),
    }
}

fn check_golden(name: &str, text: &str) {
    let got: Value = serde_json::from_str(text).unwrap();
    let got = &got;
    let path = golden(name);
    if std::env::var_os("TRAVELER_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let pretty = indent(text);
        assert_eq!(&serde_json::from_str::<Value>(&pretty).unwrap(), got);
        std::fs::write(&path, pretty).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set TRAVELER_UPDATE_GOLDEN=1 to write it)",
            path.display()
        )
    });
    let want: Value = serde_json::from_str(&text).unwrap();
    if let Some(d) = diff("$", &want, got) {
        panic!("{name} differs from the golden file at {d}");
    }
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["MessageName"].as_str().unwrap())
        .collect()
}

#[test]
fn cfx_messages_match_the_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);

    for job in ["J-TH-1", "J-BGA-1", "J-TH-2"] {
        let text = cfx_text(&store, job, false);
        check_golden(&format!("cfx_{job}.json"), &text);
        // Stable: the same store gives the same messages.
        assert_eq!(text, cfx_text(&store, job, false));
    }
}

#[test]
fn cfx_envelopes_use_the_sdk_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);

    let v = cfx(&store, "J-TH-1", false);
    let n = names(&v);
    assert_eq!(n.first(), Some(&"CFX.Production.WorkStarted"));
    assert_eq!(
        &n[n.len() - 2..],
        [
            "CFX.Production.ReworkAndRepair.UnitsRepaired",
            "CFX.Production.WorkCompleted"
        ]
    );
    // Solder and flux lots are applied materials; the IPA lot is not.
    let applied: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["MessageName"] == "CFX.Production.Application.MaterialsApplied")
        .collect();
    assert_eq!(applied.len(), 4, "solder and flux at steps 3 and 6");
    // Temperatures of steps 2, 3 and 6.
    assert_eq!(
        n.iter()
            .filter(|m| **m == "CFX.Production.ReadingsRecorded")
            .count(),
        3
    );
    let signatures = store.job("J-TH-1").unwrap().unwrap().history.len();
    assert_eq!(
        n.iter()
            .filter(|m| **m == "CFX.Production.TestAndInspection.UnitsInspected")
            .count(),
        signatures
    );

    let mut ids = std::collections::HashSet::new();
    for e in v.as_array().unwrap() {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "MessageName",
            "Version",
            "TimeStamp",
            "UniqueID",
            "Source",
            "Target",
            "RequestID",
            "MessageBody",
        ] {
            assert!(keys.contains(&k), "{k} missing");
        }
        assert_eq!(e["Version"], "2.1");
        assert!(e["TimeStamp"].as_str().unwrap().ends_with("+00:00"));
        assert!(ids.insert(e["UniqueID"].as_str().unwrap().to_string()));
        let body = &e["MessageBody"];
        let name = e["MessageName"].as_str().unwrap();
        assert_eq!(body["$type"], format!("{name}, CFX"));
        let txn = if name.ends_with("WorkStarted") || name.ends_with("WorkCompleted") {
            assert!(body.get("TransactionId").is_none());
            &body["TransactionID"]
        } else {
            assert!(body.get("TransactionID").is_none());
            &body["TransactionId"]
        };
        assert_eq!(txn.as_str().unwrap().len(), 36);
    }
    let repaired = &v[n.len() - 2]["MessageBody"];
    let op = &repaired["RepairOperator"];
    assert_eq!(op["OperatorIdentifier"], TECH.0);
    assert_eq!(op["ActorType"], "Human");
    assert_eq!(op["FirstName"], "Ana");
    assert_eq!(op["LastName"], "Lima");
    assert_eq!(op["LoginName"], TECH.0);
    let repair = &repaired["RepairedUnits"][0]["Repairs"][0];
    let name = repair["RepairName"].as_str().unwrap();
    assert!(name.contains("IPC-7711 3.1.1"), "{name}");
    assert!(name.contains("organisation number ORG-3.1"), "{name}");
    assert_eq!(repair["ComponentOfInterest"]["ReferenceDesignator"], "J3");

    let readings = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["MessageName"] == "CFX.Production.ReadingsRecorded")
        .unwrap();
    let r = &readings["MessageBody"]["Readings"][0];
    assert_eq!(r["MinimumAcceptableValue"], "150");
    assert_eq!(r["MaximumAcceptableValue"], "180");
    assert_eq!(r["ValueUnits"], "Cel");

    // With traces, every sample becomes a reading too.
    let with = cfx(&store, "J-TH-1", true);
    let count = |v: &Value| -> usize {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["MessageBody"]["Readings"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert_eq!(count(&with) - count(&v), 3 * 40);
}

#[test]
fn unfinished_and_aborted_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);
    let open_job = cfx(&store, "J-TH-2", false);
    assert!(
        !names(&open_job)
            .iter()
            .any(|m| m.ends_with("WorkCompleted") || m.ends_with("UnitsRepaired"))
    );

    run_job(
        &store,
        &lib,
        &JobScript {
            id: "J-AB-1",
            serial: "SN-300",
            instruction: "WI-TH-001",
            refdes: &["C4", "C5"],
            lots: &[],
            excursion_step: None,
            outcome: Outcome::Aborted(2),
            start: t0(),
        },
    );
    let v = cfx(&store, "J-AB-1", false);
    let last = v.as_array().unwrap().last().unwrap();
    assert_eq!(last["MessageBody"]["Result"], "Aborted");
    let repaired = &v[v.as_array().unwrap().len() - 2]["MessageBody"];
    assert_eq!(repaired["RepairedUnits"][0]["OverallResult"], "Aborted");
    assert_eq!(
        repaired["RepairedUnits"][0]["Repairs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
