//! JSON, CSV and HTML exports of a real store, and `verify --export` on them.

mod export_support;

use export_support::*;
use traveler::export::csv::write_csv;
use traveler::export::html::write_html;
use traveler::export::json::write_json;
use traveler::export::{ExportOptions, Scope, verify_json_export};
use traveler::store::Store;

fn json_export(store: &Store, scope: &Scope, samples: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_json(
        store,
        &library(),
        scope,
        &ExportOptions { samples },
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    out
}

#[test]
fn json_round_trips_with_every_event_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);

    let bytes = json_export(&store, &Scope::default(), true);
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(v["traveler_export"], 1);
    let head = store.chain_head();
    assert_eq!(v["chain_head"]["seq"], head.seq);
    assert_eq!(v["chain_head"]["hash"], head.hash_hex());

    let jobs = v["jobs"].as_array().unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["J-TH-1", "J-BGA-1", "J-TH-2"]);

    let mut all_events = 0;
    for j in jobs {
        let id = j["id"].as_str().unwrap();
        let records = store.events_of_job(id).unwrap();
        let events = j["events"].as_array().unwrap();
        assert_eq!(events.len(), records.len(), "{id}: events");
        all_events += events.len();
        for (e, r) in events.iter().zip(&records) {
            assert_eq!(e["seq"], r.seq);
            let stored = store.stored_record(r.seq).unwrap().unwrap();
            assert_eq!(e["hash"], stored.hash_hex());
            assert_eq!(e["record"]["event"]["job"], id);
        }
        let job = store.job(id).unwrap().unwrap();
        assert_eq!(j["job"], serde_json::to_value(&job).unwrap(), "{id}: job");
        assert_eq!(
            j["job"]["history"].as_array().unwrap().len(),
            job.history.len()
        );
        // Signatures carry name, time and meaning.
        let sig = &j["job"]["history"][0];
        assert!(sig["signer_name"].is_string() && sig["time"].is_string());
        assert!(sig["meaning"].is_string());
        // Traces: one entry per step, with every stored sample.
        let samples = j["samples"].as_array().unwrap();
        assert_eq!(samples.len(), job.steps.len());
        for (i, s) in samples.iter().enumerate() {
            let n = store.samples(id, i as u32).count();
            assert_eq!(s["points"].as_array().unwrap().len(), n);
        }
    }
    assert_eq!(v["counts"]["events"], all_events);
    assert_eq!(v["counts"]["jobs"], 3);
    assert!(
        jobs[0]["procedures"][0]
            .as_str()
            .unwrap()
            .starts_with("IPC-7711 3.1.1")
    );

    // Without --samples there are no traces.
    let v: serde_json::Value =
        serde_json::from_slice(&json_export(&store, &Scope::default(), false)).unwrap();
    assert!(v["jobs"][0].get("samples").is_none());
}

#[test]
fn scope_criteria_combine_as_and() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);
    let ids = |scope: Scope| -> Vec<String> {
        scope.job_ids(&store).unwrap().map(|r| r.unwrap()).collect()
    };
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let serial = |s: &str| Scope {
        serial: Some(s.into()),
        ..Scope::default()
    };
    assert_eq!(ids(serial("SN-100")), ["J-TH-1", "J-TH-2"]);
    assert_eq!(
        ids(Scope {
            lot: Some("LOT-FLUX-1".into()),
            ..Scope::default()
        }),
        ["J-TH-1", "J-BGA-1"]
    );
    assert_eq!(
        ids(Scope {
            lot: Some("LOT-FLUX-1".into()),
            serial: Some("SN-100".into()),
            ..Scope::default()
        }),
        ["J-TH-1"]
    );
    assert_eq!(
        ids(Scope {
            since: Some(day(3)),
            ..Scope::default()
        }),
        ["J-BGA-1", "J-TH-2"]
    );
    assert_eq!(
        ids(Scope {
            since: Some(day(3)),
            until: Some(day(3)),
            person: Some(INSPECTOR.0.into()),
            ..Scope::default()
        }),
        ["J-BGA-1"]
    );
    assert_eq!(
        ids(Scope {
            job: Some("J-TH-2".into()),
            serial: Some("SN-200".into()),
            ..Scope::default()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(Scope {
            job: Some("nope".into()),
            ..Scope::default()
        }),
        Vec::<String>::new()
    );
}

fn rows(path: &std::path::Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().collect::<Result<Vec<_>, _>>().unwrap();
    (header, rows)
}

#[test]
fn csv_tables_parse_and_hold_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store"));
    let lib = library();
    demo_store(&store, &lib);
    let out = dir.path().join("csv");
    let summary = write_csv(
        &store,
        &lib,
        &Scope::default(),
        &ExportOptions { samples: true },
        &out,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.files.len(), 6);
    assert_eq!(summary.jobs, 3);

    let jobs: Vec<_> = ["J-TH-1", "J-BGA-1", "J-TH-2"]
        .iter()
        .map(|id| store.job(id).unwrap().unwrap())
        .collect();
    let (header, job_rows) = rows(&out.join("jobs.csv"));
    assert_eq!(header[0], "job");
    assert_eq!(job_rows.len(), 3);
    assert_eq!(&job_rows[1][0], "J-BGA-1");
    let status = header.iter().position(|h| h == "status").unwrap();
    assert_eq!(&job_rows[2][status], "in_progress");

    // One row per step and channel; every step here has at most one channel.
    let (_, step_rows) = rows(&out.join("steps.csv"));
    assert_eq!(step_rows.len(), 7 + 10 + 7);

    let (_, sig_rows) = rows(&out.join("signoffs.csv"));
    let sigs: usize = jobs.iter().map(|j| j.history.len() + j.reviews.len()).sum();
    assert_eq!(sig_rows.len(), sigs);
    assert!(
        sig_rows
            .iter()
            .any(|r| &r[4] == INSPECTOR.1 && &r[5] == "inspected")
    );

    let (_, lot_rows) = rows(&out.join("lots.csv"));
    let lots: usize = jobs.iter().map(|j| j.lots.len()).sum();
    assert_eq!(lot_rows.len(), lots);
    assert!(
        lot_rows
            .iter()
            .any(|r| &r[4] == "LOT-FLUX-1" && &r[1] == "SN-200")
    );

    let (_, exc_rows) = rows(&out.join("excursions.csv"));
    assert_eq!(exc_rows.len(), 1);
    assert_eq!(&exc_rows[0][1], "4", "step numbers are 1-based");

    let (_, sample_rows) = rows(&out.join("samples.csv"));
    assert_eq!(sample_rows.len() as u64, store.sample_count());
}

#[test]
fn html_has_one_chart_per_step_with_samples() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store"));
    let lib = library();
    let sampled = demo_store(&store, &lib);
    let out = dir.path().join("html");
    let summary = write_html(
        &store,
        &lib,
        &Scope::default(),
        &ExportOptions::default(),
        &out,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.jobs, 3);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(index.matches("<a href=").count(), 3);
    for (id, n) in ["J-TH-1", "J-BGA-1", "J-TH-2"].iter().zip(sampled) {
        let html = std::fs::read_to_string(out.join(format!("{id}.html"))).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_eq!(html.matches("<svg").count(), n, "{id}");
        assert_eq!(
            html.matches("class=\"window\"").count(),
            n,
            "{id}: window bands"
        );
        assert!(html.contains("@media print"));
        assert!(html.contains(TECH.1) && html.contains("performed"));
        assert!(!html.contains("<script"));
    }
    let bga = std::fs::read_to_string(out.join("J-BGA-1.html")).unwrap();
    assert_eq!(bga.matches("class=\"excursion\"").count(), 1);
    assert!(bga.contains(SUPERVISOR.1));
}

#[test]
fn html_escapes_what_people_typed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store"));
    let lib = library();
    run_job(
        &store,
        &lib,
        &JobScript {
            id: "J<1>",
            serial: "SN-\"<b>",
            instruction: "WI-TH-001",
            refdes: &["R1&R2"],
            lots: &[],
            excursion_step: None,
            outcome: Outcome::InProgress(1),
            start: t0(),
        },
    );
    let out = dir.path().join("html");
    write_html(
        &store,
        &lib,
        &Scope::default(),
        &ExportOptions::default(),
        &out,
        &mut |_| {},
    )
    .unwrap();
    let html = std::fs::read_to_string(out.join("J_1_.html")).unwrap();
    assert!(html.contains("J&lt;1&gt;") && html.contains("SN-&quot;&lt;b&gt;"));
    assert!(html.contains("R1&amp;R2"));
    assert!(!html.contains("<b>"));
}

#[test]
fn verify_export_accepts_the_export_and_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lib = library();
    demo_store(&store, &lib);
    let bytes = json_export(&store, &Scope::default(), true);
    let text = String::from_utf8(bytes).unwrap();

    let ok = verify_json_export(text.as_bytes()).unwrap();
    assert_eq!(ok.failure, None, "{ok:?}");
    assert_eq!(ok.jobs, 3);
    assert_eq!(ok.samples, store.sample_count());

    // A lot number changed inside a hashed record.
    let at = text.find("\"events\":[").unwrap();
    let tampered = format!(
        "{}{}",
        &text[..at],
        text[at..].replacen("\"lot\":\"LOT-FLUX-1\"", "\"lot\":\"LOT-FLUX-7\"", 1)
    );
    assert_ne!(tampered, text);
    let r = verify_json_export(tampered.as_bytes()).unwrap();
    let f = r.failure.expect("caught");
    assert!(f.problem.contains("hash mismatch"), "{f}");
    assert!(f.seq.is_some());

    // The readable summary changed, the records left alone.
    let tampered = text.replacen(
        "\"signer_name\":\"Chen Wei\"",
        "\"signer_name\":\"Someone\"",
        1,
    );
    assert_ne!(tampered, text);
    // Re-folding is its own check: the hashes hold, the summary does not follow.
    let r = verify_json_export(tampered.as_bytes()).unwrap();
    assert_eq!(r.failure, None);
    let f = r.refold.first.expect("caught");
    assert!(
        f.problem.contains("differs from this traveler's fold"),
        "{f}"
    );

    // A temperature sample changed.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let c = v["jobs"][0]["samples"][1]["points"][0]["celsius"]
        .as_f64()
        .unwrap();
    let needle = format!("\"celsius\":{c}");
    assert!(text.contains(&needle));
    let tampered = text.replacen(&needle, &format!("\"celsius\":{}", c - 20.0), 1);
    let f = verify_json_export(tampered.as_bytes())
        .unwrap()
        .failure
        .expect("caught");
    assert!(f.problem.contains("digest"), "{f}");

    // A hash rewritten to match nothing.
    let h = v["jobs"][1]["events"][2]["hash"].as_str().unwrap();
    let tampered = text.replacen(h, &"0".repeat(64), 1);
    let f = verify_json_export(tampered.as_bytes())
        .unwrap()
        .failure
        .expect("caught");
    assert_eq!(f.job.as_deref(), Some("J-BGA-1"));

    // Not JSON at all.
    assert!(verify_json_export(&b"{\"jobs\":[{"[..]).is_err());
}
