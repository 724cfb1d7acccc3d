//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, set
//! up by `scripts/chromium.sh install`, which `.ci/run` runs) prints a job's report
//! to PDF, and `pdftotext` reads it back. Page 1 must carry the verdict, the
//! approval and the deviations; a step must not split across pages. Charts printed
//! with every colour black and rasterised in grey (`pdftoppm`) must keep each
//! series apart.
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

/// A grey-level image (PGM, as `pdftoppm -gray` writes it).
struct Grey {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

fn read_pgm(path: &Path) -> Grey {
    let bytes = std::fs::read(path).unwrap();
    // "P5\n<w> <h>\n<max>\n" then one byte a pixel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5", "{}", path.display());
    let width: usize = fields[1].parse().unwrap();
    let height: usize = fields[2].parse().unwrap();
    let pixels = bytes[at + 1..].to_vec();
    assert_eq!(pixels.len(), width * height);
    Grey {
        width,
        height,
        pixels,
    }
}

/// Pixels whose grey level differs by more than a quarter of the range.
fn differing(a: &Grey, b: &Grey) -> usize {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.pixels
        .iter()
        .zip(&b.pixels)
        .filter(|(x, y)| x.abs_diff(**y) > 64)
        .count()
}

/// Black-and-white print: every chart colour is replaced by black, Chromium
/// prints one chart per series (that series alone drawing the same curve), and the
/// pages are rasterised in grey. Cropped to the plot (no legend, no direct label),
/// two series that looked alike without colour would print the same picture; every
/// pair must differ. The same chart printed twice is the control. The SVG also
/// gives each series a dash pattern of its own, and its legend entry shows the
/// same pattern and marker.
#[test]
fn chart_series_stay_apart_in_black_and_white() {
    use traveler::store::StoredSample;
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T07:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let names = ["board", "preheat", "tip", "nozzle", "bottom", "air"];
    // Only channel `only` has readings (all when `None`); each draws its own curve
    // when all do, the same rising curve when alone.
    let chart = |only: Option<usize>| -> String {
        let mut samples = Vec::new();
        for s in 0..=120 {
            let t = s as f64;
            for (c, name) in names.iter().enumerate() {
                let celsius = match only {
                    Some(k) if k == c => 100.0 + t * 100.0 / 120.0,
                    Some(_) => f64::NAN,
                    None => 100.0 + 15.0 * c as f64 + t * (60.0 - 10.0 * c as f64) / 120.0,
                };
                samples.push(StoredSample {
                    channel: (*name).into(),
                    time: t0 + chrono::Duration::seconds(s),
                    celsius,
                });
            }
        }
        traveler::export::svg::chart("channels", &samples, &[], &[]).expect("a chart")
    };
    let all = chart(None);

    // In the SVG: a dash pattern and a marker per series, the same in its legend entry.
    let attr = |part: &str, name: &str| -> String {
        part.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let shape = |part: &str| -> String {
        let tail = part.split("/>").nth(1).unwrap_or_default();
        tail.split(' ').next().unwrap_or_default().to_string()
    };
    let mut styles = Vec::new();
    for name in names {
        let series = all
            .split(&format!("<g class=\"series\" data-channel=\"{name}\">"))
            .nth(1)
            .and_then(|r| r.split("</g>").next())
            .unwrap_or_else(|| panic!("no series {name}"));
        let legend = all
            .split(&format!(
                "<g class=\"legend-entry\" data-channel=\"{name}\">"
            ))
            .nth(1)
            .and_then(|r| r.split("</g>").next())
            .unwrap_or_else(|| panic!("no legend entry for {name}"));
        let dash = attr(series, "stroke-dasharray");
        assert_eq!(
            attr(legend, "stroke-dasharray"),
            dash,
            "{name}: legend dash"
        );
        // The first element after the line is the marker, in the trace and the legend.
        assert!(!shape(series).is_empty(), "{name}: no markers");
        assert_eq!(shape(legend), shape(series), "{name}: legend marker");
        assert!(
            series.contains("class=\"direct-label\""),
            "{name}: no direct label"
        );
        styles.push(dash);
    }
    let mut distinct = styles.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        styles.len(),
        "dash patterns repeat: {styles:?}"
    );

    // Every chart colour to black: only dashes and markers tell series apart.
    let black = regex::Regex::new("#[0-9a-fA-F]{6}").unwrap();
    let mono = |svg: &str| black.replace_all(svg, "#000000").into_owned();
    let mut pages = vec![mono(&chart(Some(0)))];
    pages.extend((0..names.len()).map(|k| mono(&chart(Some(k)))));
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("charts.html");
    let body: String = pages
        .iter()
        .map(|svg| format!("<div class=\"page\">{svg}</div>"))
        .collect();
    std::fs::write(
        &html,
        format!(
            "<!doctype html><meta charset=\"utf-8\"><style>@page{{size:200mm 75mm;margin:4mm}}\
             body{{margin:0}}.page{{break-after:page}}</style>{body}"
        ),
    )
    .unwrap();
    let pdf = dir.path().join("charts.pdf");
    print_to_pdf(&html, &pdf);
    assert_eq!(page_count(&pdf) as usize, pages.len());
    let (ok, _, err) = run(Command::new("pdftoppm")
        .args(["-gray", "-r", "100"])
        .arg(&pdf)
        .arg(dir.path().join("page")));
    assert!(ok, "pdftoppm (poppler-utils) failed: {err}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
        .collect();
    files.sort();
    assert_eq!(files.len(), pages.len());
    // The plot only: below the legend, left of where the direct labels sit.
    let images: Vec<Grey> = files.iter().map(|f| plot_of(&read_pgm(f))).collect();
    let control = differing(&images[0], &images[1]);
    assert!(
        control < 10,
        "the same chart printed twice differs in {control} pixels"
    );
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            let d = differing(&images[i + 1], &images[j + 1]);
            assert!(
                d > 150,
                "{} and {} look alike in black and white ({d} pixels differ)",
                names[i],
                names[j]
            );
        }
    }
}

/// The part of a printed chart page inside the plot: no legend, no direct labels.
fn plot_of(page: &Grey) -> Grey {
    let (x0, x1) = (page.width * 12 / 100, page.width * 75 / 100);
    let (y0, y1) = (page.height * 25 / 100, page.height * 80 / 100);
    let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        pixels.extend_from_slice(&page.pixels[y * page.width + x0..y * page.width + x1]);
    }
    Grey {
        width: x1 - x0,
        height: y1 - y0,
        pixels,
    }
}
