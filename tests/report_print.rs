//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, set
//! up by `scripts/chromium.sh install`, which `.ci/run` runs) prints a job's report
//! to PDF, and `pdftotext` reads it back. Page 1 must carry the verdict, the
//! approval and the deviations; a step must not split across pages.
//!
//! Without Chromium this test fails and says how to install it: a report nobody has
//! seen printed is not tested.

mod export_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use export_support::troubled::*;
use export_support::*;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn chromium_present() -> bool {
    ["chromium", "chromium-browser"].iter().any(|b| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {b}"))
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn print_to_pdf(html: &Path, pdf: &Path) {
    assert!(
        chromium_present(),
        "headless Chromium is needed to test the printed report and is not installed: \
         run `bash scripts/chromium.sh install` as root (CI does, in .ci/run)"
    );
    let (ok, out, err) = run(Command::new("bash")
        .arg(manifest().join("scripts/chromium.sh"))
        .arg("print-pdf")
        .arg(html)
        .arg(pdf));
    assert!(ok, "printing {} failed:\n{out}\n{err}", html.display());
}

/// The text of `pages` (1-based, inclusive) with runs of white space as one space.
fn pdf_text(pdf: &Path, first: u32, last: u32) -> String {
    let (ok, out, err) = run(Command::new("pdftotext")
        .args(["-f", &first.to_string(), "-l", &last.to_string()])
        .arg(pdf)
        .arg("-"));
    assert!(ok, "pdftotext (poppler-utils) failed: {err}");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn page_count(pdf: &Path) -> u32 {
    let (ok, out, err) = run(Command::new("pdfinfo").arg(pdf));
    assert!(ok, "pdfinfo failed: {err}");
    out.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count")
}

#[test]
fn printed_report_has_verdict_approval_and_deviations_on_page_one() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let lib = library();
    {
        let store = open(&store_dir);
        enrol(&store);
        troubled_job(&store, &lib);
    }
    let out = dir.path().join("reports");
    let (ok, _, err) = run(Command::new(env!("CARGO_BIN_EXE_traveler"))
        .current_dir(manifest())
        .env_remove("TRAVELER_STORE")
        .args(["export", "--format", "html", "--store"])
        .arg(&store_dir)
        .arg("--out")
        .arg(&out));
    assert!(ok, "{err}");
    let html = out.join(format!("{TROUBLED}.html"));
    let pdf = dir.path().join("report.pdf");
    print_to_pdf(&html, &pdf);
    // To look at it: TRAVELER_KEEP_REPORT=/tmp/report cargo test --test report_print
    if let Some(keep) = std::env::var_os("TRAVELER_KEEP_REPORT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&pdf, keep.join("report.pdf")).unwrap();
        std::fs::copy(&html, keep.join("report.html")).unwrap();
    }

    let page1 = pdf_text(&pdf, 1, 1);
    for must in [
        // The verdict and the approval.
        "APPROVED",
        "by Dana Roth (S400)",
        APPROVAL_COMMENT,
        "after 1 rejection",
        "✗ REJECTED",
        REJECT_REASON,
        // The deviations summary: every kind, with its reason and who.
        "Deviations: 8",
        "temperature window never reached",
        DEVIATION_REASON,
        "alarm acknowledged late",
        ACK_COMMENT,
        "failed checkpoint",
        FAIL_REASON,
        REDO_REASON,
        COPLANARITY_REDO,
        "measurement out of limits",
        "0.18 mm",
        "lot refused",
        REFUSED_LOT,
        "expired on 2026-01-31",
        SUSPEND_REASON,
        RESUME_REASON,
        "Ana Lima (T100)",
    ] {
        assert!(page1.contains(must), "page 1 lacks {must:?}:\n{page1}");
    }

    // A step never splits across pages: its heading and its last sign-off are on one
    // page, unless the step alone is longer than a page, and then it starts at the
    // top of a page of its own.
    let ins = lib.instruction("WI-BGA-001").unwrap();
    let pages = page_count(&pdf);
    assert!(pages >= 3, "{pages} pages");
    let texts: Vec<String> = (1..=pages).map(|p| pdf_text(&pdf, p, p)).collect();
    let page_of = |needle: &str| texts.iter().position(|t| t.contains(needle));
    let mut checked = 0;
    for (i, step) in ins.spec.steps.iter().enumerate() {
        let heading = format!("Step {} of {}", i + 1, ins.spec.steps.len());
        let at = page_of(&heading).unwrap_or_else(|| panic!("no {heading}"));
        let Some(last) = step.checkpoints.last() else {
            continue;
        };
        let words: Vec<&str> = last.text.split_whitespace().take(3).collect();
        let marker = words.join(" ");
        if texts[at].contains(&marker) {
            checked += 1;
            continue;
        }
        assert!(
            texts[at].starts_with(&heading),
            "{heading} starts part-way down page {} and goes on to the next:\n{}",
            at + 1,
            texts[at]
        );
        assert!(
            texts[at + 1].contains(&marker),
            "{heading}: its last checkpoint {marker:?} is not on page {}",
            at + 2
        );
    }
    assert!(checked >= 6, "only {checked} steps fit a page");
}
