//! The export sub-commands through the real binary: exit codes and files.

mod export_support;

use std::process::Command;

use export_support::*;

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

#[test]
fn export_verify_history_and_where_used_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    {
        let store = open(&store_dir);
        demo_store(&store, &library());
    }
    let s = store_dir.to_str().unwrap();
    let json = dir.path().join("all.json");
    let j = json.to_str().unwrap();

    let (code, _, err) = traveler(&["export", "--store", s, "--samples", "--out", j]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("exported 3 jobs"), "{err}");
    let (code, out, _) = traveler(&["verify", "--export", j]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: 3 jobs"), "{out}");

    let text = std::fs::read_to_string(&json).unwrap();
    let at = text.find("\"events\":[").unwrap();
    let tampered = format!(
        "{}{}",
        &text[..at],
        text[at..].replacen("\"result\":\"pass\"", "\"result\":\"fail\"", 1)
    );
    std::fs::write(&json, tampered).unwrap();
    let (code, out, _) = traveler(&["verify", "--export", j]);
    assert_eq!(code, 1);
    assert!(out.starts_with("FAILED job J-TH-1, seq "), "{out}");

    // cfx and json to standard output, with a scope.
    let (code, out, _) = traveler(&[
        "export", "--store", s, "--format", "cfx", "--serial", "SN-200",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.as_array().unwrap().len() > 10);
    let (code, out, _) = traveler(&["export", "--store", s, "--lot", "LOT-FLUX-2"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["jobs"][0]["id"], "J-TH-2");

    for (format, file) in [("csv", "jobs.csv"), ("html", "index.html")] {
        let out_dir = dir.path().join(format);
        let o = out_dir.to_str().unwrap();
        let (code, _, err) = traveler(&["export", "--store", s, "--format", format, "--out", o]);
        assert_eq!(code, 0, "{err}");
        assert!(out_dir.join(file).exists());
    }
    let (code, _, err) = traveler(&["export", "--store", s, "--format", "csv"]);
    assert_eq!(code, 1);
    assert!(err.contains("--out DIR"), "{err}");

    let (code, out, _) = traveler(&["history", "SN-100", "--store", s]);
    assert_eq!(code, 0);
    assert!(out.contains("J-TH-1") && out.contains("J-TH-2"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["J3", "2", "J-TH-1,", "J-TH-2"]),
        "{out}"
    );
    let (code, out, _) = traveler(&["where-used", "LOT-FLUX-1", "--store", s]);
    assert_eq!(code, 0);
    assert!(out.contains("on 2 board(s)"), "{out}");
    let (code, out, _) = traveler(&["where-used", "LOT-FLUX-1", "--store", s, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
}
