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
    // Every captured lot is applied material: solder and flux at steps 3 and 6, the
    // IPA lot at step 7.
    let applied: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["MessageName"] == "CFX.Production.Application.MaterialsApplied")
        .collect();
    assert_eq!(
        applied.len(),
        5,
        "solder and flux at steps 3 and 6, IPA at 7"
    );
    // Temperatures of steps 2, 3 and 6.
    assert_eq!(
        n.iter()
            .filter(|m| **m == "CFX.Production.ReadingsRecorded")
            .count(),
        3
    );
    let signatures = store.job("J-TH-1").unwrap().unwrap().history.len();
    // One per signature, and the defect report when the job started.
    assert_eq!(
        n.iter()
            .filter(|m| **m == "CFX.Production.TestAndInspection.UnitsInspected")
            .count(),
        signatures + 1
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
        // CFX/Production/WorkStarted.cs, WorkCompleted.cs, WorkStageStarted.cs and
        // WorkStageCompleted.cs spell it TransactionID; the other classes TransactionId.
        let txn = if name.ends_with("WorkStarted")
            || name.ends_with("WorkCompleted")
            || name.contains("WorkStage")
        {
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
    let repairs = repaired["RepairedUnits"][0]["Repairs"].as_array().unwrap();
    assert_eq!(repairs.len(), 2);
    // CFX/Structures/Repair.cs: Error is "the error that was the cause" when the repair
    // cannot be completed; Comments are the repairer's. Both carry the abort reason.
    for r in repairs {
        assert_eq!(r["Result"], "Aborted");
        let reason = store.job("J-AB-1").unwrap().unwrap().abort_reason.unwrap();
        assert_eq!(r["Error"], reason.as_str());
        assert_eq!(r["Comments"], reason.as_str());
    }
    // An aborted job's defects were never repaired: nothing reports them so.
    assert!(!cfx_text(&store, "J-AB-1", false).contains("DefectRepaired"));
}

fn messages<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    v.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["MessageName"] == name)
        .map(|e| &e["MessageBody"])
        .collect()
}

/// Issue 17, items 1-8, field by field against the CFX SDK 2.1 classes (files named
/// at each check, in IPCConnectedFactoryExchange/CFX).
#[test]
fn cfx_says_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);
    let v = cfx(&store, "J-TH-1", false);

    // 1. CFX/Production/WorkStarted.cs: WorkOrderIdentifier is the work order, the NCR.
    let started = &messages(&v, "CFX.Production.WorkStarted")[0];
    assert_eq!(started["WorkOrderIdentifier"], "NCR-J-TH-1");
    // CFX/Structures/Defect.cs, VerificationResult.cs: the defect being repaired is
    // reported when the job starts, confirmed, at its designator.
    let inspected = messages(&v, "CFX.Production.TestAndInspection.UnitsInspected");
    let reported = &inspected[0]["InspectedUnits"][0]["Inspections"][0]["DefectsFound"][0];
    assert_eq!(reported["DefectCode"], "NCR-J-TH-1");
    assert_eq!(reported["Verification"], "DefectConfirmed");
    assert_eq!(reported["ComponentOfInterest"]["ReferenceDesignator"], "J3");
    assert!(reported["Description"].as_str().unwrap().contains("J3"));
    let defect_id = reported["UniqueIdentifier"].as_str().unwrap();
    // CFX/Structures/Repair.cs: RelatedDefectIdentifiers holds that defect's
    // UniqueIdentifier, never the NCR number.
    let repair = &messages(&v, "CFX.Production.ReworkAndRepair.UnitsRepaired")[0]["RepairedUnits"]
        [0]["Repairs"][0];
    assert_eq!(repair["RelatedDefectIdentifiers"][0], defect_id);
    assert_eq!(repair["Comments"], Value::Null);
    assert_eq!(repair["Error"], Value::Null);
    // ... and the final inspection (the instruction's last checkpoint, passed) closes it.
    let last = inspected.last().unwrap()["InspectedUnits"][0]["Inspections"][0].clone();
    assert_eq!(last["Result"], "Passed");
    let closed = &last["DefectsFound"][0];
    assert_eq!(closed["UniqueIdentifier"], defect_id);
    assert_eq!(closed["Verification"], "DefectRepaired");

    // 3. CFX/Structures/Inspection.cs: RefNo is the unique number of an inspection
    // object; traveler has none, so it is null everywhere.
    for u in &inspected {
        assert_eq!(
            u["InspectedUnits"][0]["Inspections"][0]["RefNo"],
            Value::Null
        );
    }

    // 4. CFX/Structures/AppliedMaterial.cs (an InstalledMaterial with QuantityApplied),
    // MaterialPackage.cs: no quantity of 0 stands for "unknown", and the part number
    // is not the instruction's material id.
    let applied = messages(&v, "CFX.Production.Application.MaterialsApplied");
    for a in &applied {
        let m = &a["AppliedMaterials"][0];
        assert_eq!(m["$type"], "CFX.Structures.AppliedMaterial, CFX");
        assert_eq!(m["QuantityApplied"], Value::Null);
        assert!(m.get("QuantityInstalled").is_none());
        assert!(m["Material"].get("Quantity").is_none());
        assert_ne!(m["Material"]["InternalPartNumber"], "flux");
        assert_ne!(m["Material"]["InternalPartNumber"], "solder");
        assert_eq!(m["Material"]["BatchId"], m["Material"]["UniqueIdentifier"]);
    }

    // 7. CFX/Production/WorkStageStarted.cs, WorkStageCompleted.cs, Stage.cs: one
    // stage per step.
    let steps = lib.instruction("WI-TH-001").unwrap().spec.steps.len();
    let stages = messages(&v, "CFX.Production.WorkStageStarted");
    assert_eq!(stages.len(), steps);
    assert_eq!(
        messages(&v, "CFX.Production.WorkStageCompleted").len(),
        steps
    );
    assert_eq!(stages[0]["Stage"]["StageSequence"], 1);
    assert_eq!(stages[0]["Stage"]["StageType"], "Work");
    assert!(stages[0].get("TransactionID").is_some());
    // CFX/Production/Processing/UnitsProcessed.cs, Structures/ProcessedUnit.cs,
    // Structures/Generic/GenericProcessData.cs, GenericValue.cs: set points are the
    // window, readings the step summary.
    let processed = messages(&v, "CFX.Production.Processing.UnitsProcessed");
    assert_eq!(processed.len(), 3, "steps 2, 3 and 6 have temperatures");
    let data = &processed[0]["UnitProcessData"][0]["UnitProcessData"];
    assert_eq!(
        data["$type"],
        "CFX.Structures.Generic.GenericProcessData, CFX"
    );
    let named = |list: &Value, name: &str| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|g| g["Name"] == name)
            .unwrap_or_else(|| panic!("{name} missing in {list}"))["Value"]
            .clone()
    };
    assert_eq!(
        named(&data["Setpoints"], "preheat window minimum")["Value"],
        150.0
    );
    assert_eq!(
        named(&data["Setpoints"], "preheat window maximum")["Value"],
        180.0
    );
    let job = store.job("J-TH-1").unwrap().unwrap();
    let summary = &job.steps[1].temperature[0];
    let peak = named(&data["Readings"], "preheat peak");
    assert_eq!(peak["Value"], summary.peak_c);
    assert_eq!(peak["ValueUnits"], "Cel");
    assert_eq!(peak["MaximumAcceptableValue"], 180.0);
    assert_eq!(
        named(&data["Readings"], "preheat time above liquidus")["Value"],
        summary.above_liquidus_s
    );
    assert_eq!(processed[0]["OverallResult"], "Succeeded");

    // 8. CFX/CFXEnvelope.cs Source: a three-part handle.
    for e in v.as_array().unwrap() {
        assert_eq!(e["Source"], "org.traveler.bench-2");
    }

    // 7 again: a step with an excursion did not succeed (J-BGA-1, step 4).
    let bga = cfx(&store, "J-BGA-1", false);
    assert!(
        messages(&bga, "CFX.Production.Processing.UnitsProcessed")
            .iter()
            .any(|p| p["OverallResult"] == "Failed")
    );
}

/// Items 2, 5, 6 and 8 on jobs of their own: a failed checkpoint and its redo, every
/// kind of lot, no designators, log-in and log-out.
#[test]
fn cfx_failed_checkpoints_lots_and_operators() {
    use traveler::domain::event::{DeviationKind, Event, Record};
    use traveler::domain::types::{CheckResult, Meaning};
    use traveler::export::cfx::{person_messages, write_cfx_as};

    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    enrol(&store);

    // 2. CFX/Structures/Inspection.cs DefectsFound, Defect.cs: a failed checkpoint
    // reports the defect found; the pass after the redo reports it repaired.
    run_job(
        &store,
        &lib,
        &JobScript {
            id: "J-F-1",
            serial: "SN-500",
            instruction: "WI-TH-001",
            refdes: &[],
            lots: &[],
            excursion_step: None,
            outcome: Outcome::InProgress(0),
            start: t0(),
        },
    );
    let sign = |result, comment: &str| Event::CheckpointSigned {
        job: "J-F-1".into(),
        step: 0,
        checkpoint: 0,
        signer: INSPECTOR.0.into(),
        signer_name: INSPECTOR.1.into(),
        meaning: Meaning::Inspected,
        result,
        measurement: None,
        comment: Some(comment.into()),
        recorded: None,
    };
    let at = |m| t0() + chrono::Duration::minutes(m);
    for (m, e) in [
        (
            1,
            Event::StepStarted {
                job: "J-F-1".into(),
                step: 0,
            },
        ),
        (2, sign(CheckResult::Fail, "wrong part number on the reel")),
        (
            3,
            Event::StepRedone {
                job: "J-F-1".into(),
                step: 0,
                reason: "part swapped".into(),
            },
        ),
        (4, sign(CheckResult::Pass, "right part")),
        (
            5,
            Event::Deviated {
                job: "J-F-1".into(),
                step: 0,
                attempt: 2,
                kind: DeviationKind::LeftOutsideWindow,
                reason: "tip cooled while the part was seated".into(),
                by: TECH.0.into(),
                by_name: TECH.1.into(),
            },
        ),
    ] {
        store.append_at(at(m), INSPECTOR.0, e).unwrap();
    }
    let v = cfx(&store, "J-F-1", false);
    let inspected = messages(&v, "CFX.Production.TestAndInspection.UnitsInspected");
    let failed = &inspected[1]["InspectedUnits"][0]["Inspections"][0];
    assert_eq!(failed["Result"], "Failed");
    let found = &failed["DefectsFound"][0];
    assert_eq!(found["Verification"], "DefectConfirmed");
    assert_eq!(found["Comments"], "wrong part number on the reel");
    assert!(
        found["Description"]
            .as_str()
            .unwrap()
            .contains("checkpoint 1")
    );
    let passed = &inspected[2]["InspectedUnits"][0]["Inspections"][0];
    assert_eq!(passed["Result"], "Passed");
    assert_eq!(
        passed["DefectsFound"][0]["UniqueIdentifier"],
        found["UniqueIdentifier"]
    );
    assert_eq!(passed["DefectsFound"][0]["Verification"], "DefectRepaired");
    // The redo ends the failed attempt of the stage and starts it again.
    let completed = messages(&v, "CFX.Production.WorkStageCompleted");
    assert_eq!(completed[0]["Result"], "Failed");
    assert_eq!(messages(&v, "CFX.Production.WorkStageStarted").len(), 2);
    // Issue 10 defect 4: a step completed outside its window carries a signed
    // deviation; the stream flags it (CFX/Structures/Inspection.cs, Defect.cs) with
    // the technician as inspector and the reason as comments.
    let deviation = &inspected[3];
    assert_eq!(deviation["Inspector"]["OperatorIdentifier"], TECH.0);
    let d = &deviation["InspectedUnits"][0]["Inspections"][0];
    assert_eq!(d["Result"], "Failed");
    assert!(
        d["InspectionName"]
            .as_str()
            .unwrap()
            .contains("attempt 2 deviation")
    );
    assert_eq!(d["Comments"], "tip cooled while the part was seated");
    assert_eq!(
        d["DefectsFound"][0]["DefectCode"],
        "deviation: left outside the window"
    );
    assert_eq!(d["DefectsFound"][0]["Verification"], "DefectConfirmed");
    // 6. No designators: ComponentOfInterest is null, not "".
    let reported = &inspected[0]["InspectedUnits"][0]["Inspections"][0]["DefectsFound"][0];
    assert_eq!(reported["ComponentOfInterest"], Value::Null);
    assert_eq!(found["ComponentOfInterest"], Value::Null);

    // 5. Every captured lot appears: coating applied (CFX/Production/Application/
    // MaterialsApplied.cs), wire and repair circuit frames installed
    // (CFX/Production/Assembly/MaterialsInstalled.cs, Structures/InstalledMaterial.cs).
    for (id, instruction, material, lot, name) in [
        (
            "J-CC-1",
            "WI-CC-001",
            "coating",
            "LOT-COAT-1",
            "CFX.Production.Application.MaterialsApplied",
        ),
        (
            "J-JW-1",
            "WI-JW-001",
            "wire",
            "LOT-WIRE-1",
            "CFX.Production.Assembly.MaterialsInstalled",
        ),
        (
            "J-SC-1",
            "WI-SC-001",
            "frame",
            "LOT-FRAME-1",
            "CFX.Production.Assembly.MaterialsInstalled",
        ),
    ] {
        run_job(
            &store,
            &lib,
            &JobScript {
                id,
                serial: "SN-600",
                instruction,
                refdes: &["U2"],
                lots: &[(material, lot)],
                excursion_step: None,
                outcome: Outcome::Approved,
                start: t0(),
            },
        );
        let v = cfx(&store, id, false);
        let lots: Vec<&Value> = messages(&v, name)
            .into_iter()
            .flat_map(|m| {
                m.get("AppliedMaterials")
                    .or_else(|| m.get("InstalledMaterials"))
                    .unwrap()
                    .as_array()
                    .unwrap()
            })
            .filter(|m| m["Material"]["BatchId"] == lot)
            .collect();
        assert!(!lots.is_empty(), "{id}: lot {lot} not in a {name}");
        // Every lot the job captured is in some message.
        let text = cfx_text(&store, id, false);
        for l in store.job(id).unwrap().unwrap().lots {
            assert!(
                text.contains(&format!("\"BatchId\":\"{}\"", l.lot)),
                "{id}: {}",
                l.lot
            );
        }
    }

    // 8. A configured handle is every envelope's Source.
    let mut out = Vec::new();
    write_cfx_as(
        &store,
        &lib,
        &Scope {
            job: Some("J-F-1".into()),
            ..Scope::default()
        },
        &ExportOptions::default(),
        Some("acme.traveler.BENCH-7"),
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|e| e["Source"] == "acme.traveler.BENCH-7")
    );
    // CFX/Production/OperatorActivated.cs, OperatorDeactivated.cs, Structures/Operator.cs.
    let names = traveler::export::cfx::roster(&store).unwrap();
    let rec = |seq, event| Record {
        seq,
        prev_hash: String::new(),
        time: t0(),
        actor: TECH.0.into(),
        event,
    };
    let on = person_messages(
        "org.traveler.B1",
        &names,
        &rec(
            7,
            Event::LoggedIn {
                badge: TECH.0.into(),
                bench: "B1".into(),
            },
        ),
    )
    .unwrap();
    let off = person_messages(
        "org.traveler.B1",
        &names,
        &rec(
            8,
            Event::LoggedOut {
                badge: TECH.0.into(),
                reason: "shift end".into(),
            },
        ),
    )
    .unwrap();
    for (m, name) in [
        (&on[0], "CFX.Production.OperatorActivated"),
        (&off[0], "CFX.Production.OperatorDeactivated"),
    ] {
        let e: Value = serde_json::from_str(&m.json).unwrap();
        assert_eq!(e["MessageName"], name);
        assert_eq!(e["MessageBody"]["$type"], format!("{name}, CFX"));
        assert_eq!(e["MessageBody"]["Operator"]["OperatorIdentifier"], TECH.0);
        assert_eq!(e["MessageBody"]["Operator"]["LastName"], "Lima");
    }
    assert_ne!(on[0].unique_id, off[0].unique_id);
}

/// Issue 17 item 5, second half: the part removed and the part fitted, with their
/// designators. Field by field against CFX/Production/Assembly/MaterialsUninstalled.cs,
/// CFX/Structures/UninstalledMaterial.cs, UninstalledReason.cs, InstalledComponent.cs,
/// CFX/Production/Assembly/MaterialsInstalled.cs, CFX/Structures/InstalledMaterial.cs
/// and MaterialPackage.cs (IPCConnectedFactoryExchange/CFX).
#[test]
fn cfx_removed_and_fitted_components() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    enrol(&store);
    run_job(
        &store,
        &lib,
        &JobScript {
            id: "J-CHIP-1",
            serial: "SN-700",
            instruction: "WI-CHIP-001",
            refdes: &["C4", "C5"],
            lots: &[],
            excursion_step: None,
            outcome: Outcome::Approved,
            start: t0(),
        },
    );
    let v = cfx(&store, "J-CHIP-1", false);
    let n = names(&v);
    let off = n
        .iter()
        .position(|m| *m == "CFX.Production.Assembly.MaterialsUninstalled")
        .expect("MaterialsUninstalled");
    let on = n
        .iter()
        .position(|m| *m == "CFX.Production.Assembly.MaterialsInstalled")
        .expect("MaterialsInstalled");
    assert!(off < on, "the part comes off before the new one goes on");

    // MaterialsUninstalled.cs: TransactionId (Id), UninstalledMaterials.
    let body = &v[off]["MessageBody"];
    assert_eq!(
        body["$type"],
        "CFX.Production.Assembly.MaterialsUninstalled, CFX"
    );
    assert_eq!(body["TransactionId"], v[0]["MessageBody"]["TransactionID"]);
    let m = &body["UninstalledMaterials"][0];
    // UninstalledMaterial.cs: the board, one part per designator, a reason from
    // UninstalledReason.cs, the package "if known" (only the P/N is).
    assert_eq!(m["UnitIdentifier"], "SN-700");
    assert_eq!(m["QuantityUninstalled"], 2.0);
    assert_eq!(m["Reason"], "Other");
    assert_eq!(m["Material"]["InternalPartNumber"], "OLD-PN-1");
    assert_eq!(m["Material"]["UniqueIdentifier"], Value::Null);
    let comps = m["UninstalledComponents"].as_array().unwrap();
    let refdes: Vec<&str> = comps
        .iter()
        .map(|c| c["ReferenceDesignator"].as_str().unwrap())
        .collect();
    assert_eq!(refdes, ["C4", "C5"]);
    // InstalledComponent.cs: when the removed part went on is not known; the stage
    // is the removal step.
    assert_eq!(comps[0]["InstallationTime"], Value::Null);
    assert_eq!(comps[0]["Stage"]["StageSequence"], 3);

    // MaterialsInstalled.cs / InstalledMaterial.cs / MaterialPackage.cs.
    let body = &v[on]["MessageBody"];
    let m = &body["InstalledMaterials"][0];
    assert_eq!(m["UnitIdentifier"], "SN-700");
    assert_eq!(m["QuantityInstalled"], 2.0);
    assert_eq!(m["Material"]["InternalPartNumber"], "NEW-PN-2");
    assert_eq!(m["Material"]["BatchId"], "LOT-PART-J-CHIP-1");
    assert_eq!(m["Material"]["UniqueIdentifier"], "LOT-PART-J-CHIP-1");
    assert!(m["Material"].get("Quantity").is_none(), "unknown, not 0");
    let comps = m["InstalledComponents"].as_array().unwrap();
    assert_eq!(comps.len(), 2);
    assert_eq!(comps[1]["ReferenceDesignator"], "C5");
    assert_eq!(comps[1]["InstallationTime"], v[on]["TimeStamp"]);
    assert_eq!(comps[1]["Stage"]["StageSequence"], 5);
    assert_eq!(m["ReferencePartNumber"], Value::Null);
}
