//! The printable traveler report: one self-contained HTML file per job (header, steps,
//! signatures with printed name, time and meaning, lots, measurements, one SVG
//! temperature chart per step that has samples), and an index.html linking them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use tracing::info;

use crate::domain::job::Job;
use crate::instruction::Library;
use crate::private_fs;
use crate::store::{Store, StoredSample};

use super::csv::{decision_str, result_str};
use super::svg::{Band, chart};
use super::{
    ExportError, ExportOptions, ExportSummary, JobBundle, Progress, Result, Scope, StoredOrPlain,
    file_stem, job_procedures, load_job, step_no, time_str,
};

/// Text made safe for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:13px/1.4 system-ui,sans-serif;margin:24px;color:#111}\
h1{font-size:20px;margin:0 0 8px}h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #999}\
table{border-collapse:collapse;margin:4px 0 8px}th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}.fail{color:#b71c1c;font-weight:bold}.muted{color:#666}\
.step{page-break-inside:avoid;break-inside:avoid}code{font-size:11px;word-break:break-all}\
@media print{body{margin:0}a{color:#000;text-decoration:none}.step{page-break-inside:avoid}}\
@page{size:A4;margin:14mm}";

fn page_start(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    )
}

fn opt_time(t: Option<&chrono::DateTime<chrono::Utc>>) -> String {
    t.map(time_str).unwrap_or_else(|| "—".into())
}

fn name_of<'a>(badge: &'a str, job: &'a Job, names: &'a HashMap<String, String>) -> &'a str {
    names
        .get(badge)
        .map(String::as_str)
        .or_else(|| {
            job.history
                .iter()
                .find(|s| s.signer == badge)
                .map(|s| s.signer_name.as_str())
        })
        .unwrap_or("")
}

/// One job's report as a complete HTML document.
pub fn job_report(
    store: &Store,
    library: &Library,
    names: &HashMap<String, String>,
    bundle: &JobBundle<'_>,
) -> Result<String> {
    let job = &bundle.job;
    let instruction = bundle.instruction;
    let mut h = page_start(&format!("Traveler {} — {}", job.id, job.board_serial));
    let _ = write!(
        h,
        "<h1>Rework traveler {} — board {}</h1>\n<table class=\"header\">",
        esc(&job.id),
        esc(&job.board_serial)
    );
    let title = instruction
        .map(|i| i.spec.title.as_str())
        .unwrap_or("(not in the library)");
    let rows: Vec<(&str, String)> = vec![
        ("Board serial", job.board_serial.clone()),
        (
            "Assembly",
            format!("{} rev {}", job.assembly_part, job.assembly_rev),
        ),
        ("Reference designators", job.refdes.join(", ")),
        ("Defect reference", job.defect_ref.clone()),
        ("Product class", job.class.to_string()),
        ("Alloy", job.alloy.clone()),
        (
            "Work instruction",
            format!(
                "{} rev {} — {title}",
                job.instruction_id, job.instruction_rev
            ),
        ),
        (
            "Procedures",
            job_procedures(library, instruction).join("; "),
        ),
        (
            "Approval reference",
            job.approval_ref.clone().unwrap_or_else(|| "—".into()),
        ),
        ("Bench", job.bench.clone()),
        (
            "Performed by",
            format!(
                "{} ({})",
                name_of(&job.performer, job, names),
                job.performer
            ),
        ),
        ("Status", job.status.as_str().replace('_', " ")),
        ("Started", time_str(&job.started)),
        ("Submitted", opt_time(job.submitted.as_ref())),
        ("Finished", opt_time(job.finished.as_ref())),
        ("Instruction file SHA-256", job.instruction_hash.clone()),
    ];
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    if let Some(reason) = &job.abort_reason {
        let _ = write!(h, "<tr><th>Abort reason</th><td>{}</td></tr>", esc(reason));
    }
    h.push_str("</table>\n");

    for (i, state) in job.steps.iter().enumerate() {
        let step = i as u32;
        let spec = instruction.and_then(|ins| ins.spec.steps.get(i));
        let _ = write!(h, "<section class=\"step\"><h2>Step {}</h2>", step_no(step));
        if let Some(spec) = spec {
            let _ = write!(h, "<p>{}</p>", esc(&spec.text));
        }
        let _ = write!(
            h,
            "<p class=\"muted\">Started {} · completed {} · attempts {}</p>",
            opt_time(state.started.as_ref()),
            opt_time(state.completed.as_ref()),
            state.attempts
        );

        if !state.temperature.is_empty() {
            h.push_str(
                "<table><tr><th>Channel</th><th>Window °C</th><th>Min</th><th>Max</th>\
                 <th>Mean</th><th>Peak</th><th>Above liquidus s</th><th>Samples</th>\
                 <th>Alarms</th></tr>",
            );
            for c in &state.temperature {
                let window = format!(
                    "{} – {}",
                    c.window_min_c.map_or("…".into(), |v| v.to_string()),
                    c.window_max_c.map_or("…".into(), |v| v.to_string())
                );
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td>\
                     <td>{:.1}</td><td>{:.1}</td><td>{}</td><td{}>{}</td></tr>",
                    esc(&c.channel),
                    esc(&window),
                    c.min_c,
                    c.max_c,
                    c.mean_c,
                    c.peak_c,
                    c.above_liquidus_s,
                    c.count,
                    if c.excursions > 0 {
                        " class=\"fail\""
                    } else {
                        ""
                    },
                    c.excursions
                );
            }
            h.push_str("</table>");
        }

        let samples: Vec<StoredSample> = store
            .samples(&job.id, step)
            .collect::<std::result::Result<_, _>>()?;
        let mut bands: Vec<Band<'_>> = state
            .temperature
            .iter()
            .filter(|c| c.window_min_c.is_some() || c.window_max_c.is_some())
            .map(|c| Band {
                channel: &c.channel,
                min_c: c.window_min_c,
                max_c: c.window_max_c,
            })
            .collect();
        let resolved = instruction.and_then(|ins| ins.step_window(i, library.alloy(&job.alloy)));
        if bands.is_empty()
            && let Some(w) = &resolved
        {
            bands.push(Band {
                channel: &w.channel,
                min_c: Some(w.min_c),
                max_c: Some(w.max_c),
            });
        }
        let excursions: Vec<_> = job.excursions.iter().filter(|e| e.step == step).collect();
        if let Some(svg) = chart(
            &format!("Step {} temperature", step_no(step)),
            &samples,
            &bands,
            &excursions,
        ) {
            h.push_str("<figure>");
            h.push_str(&svg);
            h.push_str("</figure>");
        }
        drop(samples);

        if !excursions.is_empty() {
            h.push_str(
                "<table><tr><th>Alarm</th><th>Channel</th><th>Window °C</th><th>Peak °C</th>\
                 <th>From</th><th>To</th><th>Acknowledgement</th></tr>",
            );
            for e in &excursions {
                let _ = write!(
                    h,
                    "<tr class=\"fail\"><td>{}</td><td>{}</td><td>{} – {}</td><td>{:.1}</td>\
                     <td>{}</td><td>{}</td><td>{}</td></tr>",
                    e.id,
                    esc(&e.channel),
                    e.window_min_c,
                    e.window_max_c,
                    e.peak_c,
                    time_str(&e.started),
                    opt_time(e.ended.as_ref()),
                    esc(e.acknowledgement.as_deref().unwrap_or("not acknowledged"))
                );
            }
            h.push_str("</table>");
        }

        let lots: Vec<_> = job.lots_for_step(step).collect();
        if !lots.is_empty() {
            h.push_str(
                "<table><tr><th>Material</th><th>Lot</th><th>Expiry</th><th>GTIN</th>\
                 <th>Scanned</th></tr>",
            );
            for l in lots {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&l.material),
                    esc(&l.lot),
                    l.expiry.map_or("—".into(), |d| d.to_string()),
                    esc(l.gtin.as_deref().unwrap_or("—")),
                    time_str(&l.time)
                );
            }
            h.push_str("</table>");
        }

        let sigs: Vec<_> = job.history.iter().filter(|s| s.step == step).collect();
        if !sigs.is_empty() {
            h.push_str(
                "<table><tr><th>Checkpoint</th><th>Result</th><th>Measurement</th>\
                 <th>Signed by</th><th>Meaning</th><th>Time</th><th>Comment</th></tr>",
            );
            for sig in sigs {
                let current = state.signatures.get(&sig.checkpoint) == Some(sig);
                let text = spec
                    .and_then(|s| s.checkpoints.get(sig.checkpoint as usize))
                    .map(|c| format!(": {} ({})", c.text, c.acceptance))
                    .unwrap_or_default();
                let _ = write!(
                    h,
                    "<tr{}><td>{}{}{}</td><td{}>{}</td><td>{}</td><td>{} ({})</td><td>{}</td>\
                     <td>{}</td><td>{}</td></tr>",
                    if current { "" } else { " class=\"muted\"" },
                    step_no(sig.checkpoint),
                    esc(&text),
                    if current { "" } else { " — earlier attempt" },
                    if sig.result.is_failure() {
                        " class=\"fail\""
                    } else {
                        ""
                    },
                    result_str(sig.result),
                    sig.measurement
                        .as_ref()
                        .map_or("—".into(), |m| esc(&format!("{} {}", m.value, m.unit))),
                    esc(&sig.signer_name),
                    esc(&sig.signer),
                    sig.meaning,
                    time_str(&sig.time),
                    esc(sig.comment.as_deref().unwrap_or(""))
                );
            }
            h.push_str("</table>");
        }
        h.push_str("</section>\n");
    }

    if !job.reviews.is_empty() {
        h.push_str(
            "<section class=\"step\"><h2>Review</h2><table><tr><th>Decision</th><th>Signed by</th>\
             <th>Meaning</th><th>Time</th><th>Comment</th></tr>",
        );
        for r in &job.reviews {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} ({})</td><td>reviewed</td><td>{}</td><td>{}</td></tr>",
                decision_str(r.decision),
                esc(&r.reviewer_name),
                esc(&r.reviewer),
                time_str(&r.time),
                esc(&r.comment)
            );
        }
        h.push_str("</table></section>\n");
    }

    let (first, last) = (bundle.records.first(), bundle.records.last());
    let last_hash = match last {
        Some(StoredOrPlain::Stored(s)) => s.hash_hex(),
        _ => "—".into(),
    };
    let _ = write!(
        h,
        "<section class=\"step\"><h2>Record integrity</h2><p>{} events, seq {} to {}. \
         Hash of the last: <code>{}</code>. Check the store with <code>traveler verify</code>.</p>\
         </section>\n</body></html>\n",
        bundle.records.len(),
        first.map_or(0, |r| r.record().seq),
        last.map_or(0, |r| r.record().seq),
        last_hash
    );
    Ok(h)
}

/// Writes one report per job of `scope` into folder `dir`, plus index.html.
pub fn write_html(
    store: &Store,
    library: &Library,
    scope: &Scope,
    _options: &ExportOptions,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    let file_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::File { path, source }
    };
    private_fs::create_dir_all(dir).map_err(file_err(dir))?;
    let head = store.chain_head();
    let names = super::cfx::roster(store)?;
    let index_path = dir.join("index.html");
    let mut index =
        BufWriter::new(private_fs::create_file(&index_path).map_err(file_err(&index_path))?);
    index.write_all(page_start("Traveler reports").as_bytes())?;
    index.write_all(
        b"<h1>Traveler reports</h1><table><tr><th>Job</th><th>Board</th><th>Instruction</th>\
          <th>Status</th><th>Started</th></tr>\n",
    )?;
    let mut summary = ExportSummary::default();
    let mut used: HashMap<String, u32> = HashMap::new();
    for id in scope.job_ids(store)? {
        let id = id?;
        let Some(bundle) = load_job(store, library, &id, head.seq, true)? else {
            continue;
        };
        let report = job_report(store, library, &names, &bundle)?;
        // Two ids may sanitise to one name; number the later ones.
        let stem = file_stem(&id);
        let n = used.entry(stem.clone()).or_insert(0);
        *n += 1;
        let name = if *n == 1 {
            format!("{stem}.html")
        } else {
            format!("{stem}-{n}.html")
        };
        let path = dir.join(&name);
        private_fs::create_file(&path)
            .and_then(|mut f| f.write_all(report.as_bytes()))
            .map_err(file_err(&path))?;
        let job = &bundle.job;
        writeln!(
            index,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{} rev {}</td><td>{}</td><td>{}</td></tr>",
            esc(&name),
            esc(&job.id),
            esc(&job.board_serial),
            esc(&job.instruction_id),
            esc(&job.instruction_rev),
            job.status.as_str(),
            time_str(&job.started)
        )?;
        summary.events += bundle.records.len() as u64;
        summary.files.push(path);
        summary.jobs += 1;
        progress(summary.jobs);
    }
    index.write_all(b"</table></body></html>\n")?;
    index.flush()?;
    summary.files.insert(0, index_path);
    info!(jobs = summary.jobs, dir = %dir.display(), "HTML reports written");
    Ok(summary)
}
