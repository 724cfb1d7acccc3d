//! The printable traveler report: one self-contained HTML file per job (header, steps,
//! signatures with printed name, time and meaning, lots, measurements, one SVG
//! temperature chart per step that has samples), and an index.html linking them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use tracing::info;

use crate::domain::deviations::deviations_summary;
use crate::domain::event::ChannelSummary;
use crate::domain::job::{Attempt, Happening, Job, JobStatus};
use crate::domain::types::{Activity, CheckResult, Decision};
use crate::instruction::Library;
use crate::private_fs;
use crate::store::{Store, StoredSample};

use super::svg::{Band, chart};
use super::{
    ExportError, ExportOptions, ExportSummary, JobBundle, Progress, Result, Scope, StoredOrPlain,
    file_stem, job_procedures, load_job, step_no,
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

// Print: A4, a step never splits across pages (unless it is longer than a page),
// headings stay with what follows, colours print as shown, and nothing relies on
// colour alone (failures and deviations carry a mark and a word; chart traces differ
// in dash pattern too).
const STYLE: &str = "*{box-sizing:border-box}\
body{font:12px/1.35 'DejaVu Sans',system-ui,sans-serif;margin:20px;color:#111;\
-webkit-print-color-adjust:exact;print-color-adjust:exact}\
h1{font-size:19px;margin:0 0 6px}h2{font-size:14px;margin:14px 0 4px;border-bottom:1px solid #888;\
break-after:avoid;page-break-after:avoid}h3{font-size:12px;margin:8px 0 2px;break-after:avoid;page-break-after:avoid}\
table{border-collapse:collapse;margin:3px 0 8px;width:100%}\
th,td{border:1px solid #aaa;padding:2px 5px;text-align:left;vertical-align:top}\
th{background:#eee;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.t{white-space:nowrap}.fail{color:#b71c1c;font-weight:bold}.muted{color:#555}\
.verdict{border:3px solid #111;padding:6px 10px;margin:6px 0 8px;font-size:14px}\
.verdict .word{font-size:20px;font-weight:bold;letter-spacing:1px;margin-right:8px}\
.v-approved{border-color:#2e7d32;background:#e8f5e9}.v-rejected,.v-aborted{border-color:#b71c1c;background:#ffebee}\
.deviations{border:2px solid #b71c1c;padding:2px 8px 4px;margin:6px 0}\
.deviations.none{border-color:#2e7d32}.deviations h2{border:0;margin-top:4px}\
tr.dev td{background:#fff3e0}tr.earlier td{color:#555}\
.header th{width:18%}.header td{width:32%}\
.step,.attempt,figure{break-inside:avoid;page-break-inside:avoid}figure{margin:4px 0}svg{max-width:100%;height:auto}\
tr{break-inside:avoid;page-break-inside:avoid}thead{display:table-header-group}\
code{font-size:10px;word-break:break-all}.note{font-size:10px;color:#555}\
@media print{body{margin:0}a{color:#000;text-decoration:none}}\
@page{size:A4;margin:12mm}";

fn page_start(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    )
}

/// A time as the report prints it: `2026-03-09 07:31:12` (columns and labels say UTC).
pub fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn opt_when(t: Option<&DateTime<Utc>>) -> String {
    t.map(when).unwrap_or_else(|| "—".into())
}

/// A time in a table cell, never wrapped.
fn time_cell(t: &DateTime<Utc>) -> String {
    format!("<td class=\"t\">{}</td>", when(t))
}

/// A channel's window as the technician reads it; unbounded sides as ≥ / ≤.
pub fn window_text(min: Option<f64>, max: Option<f64>) -> String {
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    match (finite(min), finite(max)) {
        (Some(a), Some(b)) => format!("{a:.0}–{b:.0}"),
        (Some(a), None) => format!("≥ {a:.0}"),
        (None, Some(b)) => format!("≤ {b:.0}"),
        (None, None) => "no window".into(),
    }
}

/// A window whose low end is this far above the liquidus is a tool's set point (a
/// soldering tip, a hot-air nozzle), not a joint temperature.
const TOOL_SET_POINT_MARGIN_C: f64 = 60.0;

/// Time above liquidus means something for a channel at the joint: one whose window
/// reaches the liquidus (a reflow or BGA peak profile), or one that went above it
/// anyway (a preheat that overshot). For a tool set point far above the liquidus
/// (tip, hot air) it is always "the whole time" and says nothing.
pub fn liquidus_matters(c: &ChannelSummary, liquidus_c: Option<f64>) -> bool {
    let min = c.window_min_c.filter(|v| v.is_finite());
    match liquidus_c {
        Some(l) if min.is_some_and(|m| m > l + TOOL_SET_POINT_MARGIN_C) => false,
        Some(l) => c.window_max_c.is_some_and(|m| m >= l) || c.max_c > l,
        None => c.above_liquidus_s > 0.0,
    }
}

/// Names of the people in the record: the roster's, else as signed.
struct People<'a> {
    names: &'a HashMap<String, String>,
    job: &'a Job,
}

impl People<'_> {
    fn name(&self, badge: &str) -> Option<&str> {
        self.names.get(badge).map(String::as_str).or_else(|| {
            self.job
                .history
                .iter()
                .find(|s| s.signer == badge)
                .map(|s| s.signer_name.as_str())
                .or_else(|| {
                    self.job
                        .reviews
                        .iter()
                        .find(|r| r.reviewer == badge)
                        .map(|r| r.reviewer_name.as_str())
                })
        })
    }

    /// `Ana Lima (T100)`, or `traveler (system)` for the program itself.
    fn who(&self, badge: &str) -> String {
        if badge == crate::domain::event::SYSTEM_ACTOR {
            return "traveler (system)".into();
        }
        match self.name(badge) {
            Some(n) if !n.is_empty() => format!("{n} ({badge})"),
            _ => badge.to_string(),
        }
    }
}

/// The verdict at the top of page 1: one word, then who and when.
fn verdict(job: &Job, people: &People<'_>) -> (String, &'static str, String) {
    let last_review = job.reviews.last();
    let rejections = job
        .reviews
        .iter()
        .filter(|r| r.decision == Decision::Rejected)
        .count();
    let after = match rejections {
        0 => String::new(),
        1 => " after 1 rejection".into(),
        n => format!(" after {n} rejections"),
    };
    match (job.status, last_review) {
        (JobStatus::Approved, Some(r)) => (
            "APPROVED".into(),
            "v-approved",
            format!(
                "by {} on {} UTC{after}: “{}”",
                people.who(&r.reviewer),
                when(&r.time),
                r.comment
            ),
        ),
        (JobStatus::Rejected, Some(r)) => (
            "REJECTED".into(),
            "v-rejected",
            format!(
                "by {} on {} UTC: “{}” — back with the technician",
                people.who(&r.reviewer),
                when(&r.time),
                r.comment
            ),
        ),
        (JobStatus::Approved | JobStatus::Rejected, None) => (
            job.status.as_str().to_uppercase(),
            "v-open",
            "no review is recorded".into(),
        ),
        (JobStatus::Submitted, _) => (
            "AWAITING REVIEW".into(),
            "v-open",
            format!(
                "submitted {} UTC{after}; not approved yet",
                opt_when(job.submitted.as_ref())
            ),
        ),
        (JobStatus::Aborted, _) => (
            "ABORTED".into(),
            "v-aborted",
            format!(
                "on {} UTC: “{}”",
                opt_when(job.finished.as_ref()),
                job.abort_reason.as_deref().unwrap_or("")
            ),
        ),
        (JobStatus::Suspended, _) => {
            let reason = job.suspensions.last().map_or("", |s| s.reason.as_str());
            (
                "SUSPENDED".into(),
                "v-open",
                format!("not submitted, not approved: “{reason}”"),
            )
        }
        (JobStatus::Held, _) => (
            "HELD".into(),
            "v-open",
            "a checkpoint failed: the step is to be redone or the job aborted; not approved".into(),
        ),
        (JobStatus::InProgress, _) => (
            "IN PROGRESS".into(),
            "v-open",
            match job.current_step() {
                Some(s) => format!(
                    "at step {} of {}; not submitted, not approved",
                    step_no(s),
                    job.steps.len()
                ),
                None => "every step done; not submitted, not approved".into(),
            },
        ),
    }
}

/// The store's instruction releases as read for a report (or why they were not).
pub type ReleasesRead = std::result::Result<crate::domain::release::ReleaseBook, String>;

/// Which release the job's instruction text was (id, revision, date, releaser), and
/// the revision that superseded it, if one did.
fn release_line(releases: &ReleasesRead, job: &crate::domain::job::Job) -> String {
    match releases {
        Ok(book) => crate::export::release_text(book, job),
        Err(e) => format!("releases not read: {e}"),
    }
}

/// One job's report as a complete HTML document.
pub fn job_report(
    store: &Store,
    library: &Library,
    names: &HashMap<String, String>,
    bundle: &JobBundle<'_>,
) -> Result<String> {
    let releases = store.releases().map_err(|e| e.to_string());
    job_report_with(store, library, names, bundle, &releases)
}

/// `job_report` with the releases read once for many reports.
pub fn job_report_with(
    store: &Store,
    library: &Library,
    names: &HashMap<String, String>,
    bundle: &JobBundle<'_>,
    releases: &ReleasesRead,
) -> Result<String> {
    let job = &bundle.job;
    let instruction = bundle.instruction;
    let people = People { names, job };
    let summary = deviations_summary(job);
    let liquidus = library.alloy(&job.alloy).map(|a| a.liquidus_c);
    let mut h = page_start(&format!("Traveler {} — {}", job.id, job.board_serial));

    // Page 1: what the job is, the verdict, the approval, the deviations.
    let _ = write!(
        h,
        "<h1>Rework traveler {} — board {}</h1>",
        esc(&job.id),
        esc(&job.board_serial)
    );
    let (word, class, detail) = verdict(job, &people);
    let _ = writeln!(
        h,
        "<div class=\"verdict {class}\"><span class=\"word\">{}</span>{}</div>",
        esc(&word),
        esc(&detail)
    );

    let title = instruction
        .map(|i| i.spec.title.as_str())
        .unwrap_or("(not in the library)");
    let activity = instruction.map(|i| i.spec.activity);
    let approval_ref = match (&job.approval_ref, activity) {
        (Some(r), _) => r.clone(),
        (None, Some(Activity::Rework)) => "none needed (rework is pre-authorised)".into(),
        (None, _) => "—".into(),
    };
    let procedures = if job.procedures.is_empty() {
        job_procedures(library, instruction).join("; ")
    } else {
        // As recorded at the start, with today's catalog titles where it has them.
        job.procedures
            .iter()
            .map(|r| match library.procedure(r) {
                Some(p) => format!("{} {}", super::procedure_name(r), p.title),
                None => super::procedure_name(r),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let pairs: Vec<(&str, String)> = vec![
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
        ("Instruction release", release_line(releases, job)),
        (
            "Activity",
            activity.map_or("—".to_string(), |a| a.to_string()),
        ),
        ("Engineering / customer approval", approval_ref),
        ("Bench", job.bench.clone()),
        ("Performed by", people.who(&job.performer)),
        ("Status", job.status.as_str().replace('_', " ")),
        ("Started (UTC)", when(&job.started)),
        ("Submitted (UTC)", opt_when(job.submitted.as_ref())),
        ("Finished (UTC)", opt_when(job.finished.as_ref())),
        ("Procedures", procedures),
    ];
    // Where the rework-cycle limits counted the board's earlier jobs (recorded
    // with jobs started since traveler asks the hub; absent before).
    let mut pairs = pairs;
    if let Some(counted) = &job.board_history {
        pairs.push(("Board history counted", counted.text()));
    }
    h.push_str("<table class=\"header\">");
    for pair in pairs.chunks(2) {
        h.push_str("<tr>");
        for (k, v) in pair {
            let _ = write!(h, "<th>{}</th><td>{}</td>", esc(k), esc(v));
        }
        h.push_str("</tr>");
    }
    if let Some(reason) = &job.abort_reason {
        let _ = write!(
            h,
            "<tr><th>Abort reason</th><td colspan=\"3\">{}</td></tr>",
            esc(reason)
        );
    }
    h.push_str("</table>\n");

    // The approval: every review, in time order.
    h.push_str("<h2>Review and approval</h2>");
    if job.reviews.is_empty() {
        h.push_str("<p><strong>Not reviewed.</strong> No supervisor has approved this record.</p>");
    } else {
        h.push_str(
            "<table><tr><th>Decision</th><th>Signed by</th><th>Meaning</th><th>Time (UTC)</th>\
             <th>Comment</th></tr>",
        );
        for r in &job.reviews {
            let rejected = r.decision == Decision::Rejected;
            let _ = write!(
                h,
                "<tr{}><td{}>{}</td><td>{}</td><td>reviewed</td>{}<td>{}</td></tr>",
                if rejected { " class=\"dev\"" } else { "" },
                if rejected { " class=\"fail\"" } else { "" },
                if rejected {
                    "✗ REJECTED"
                } else {
                    "✓ APPROVED"
                },
                esc(&people.who(&r.reviewer)),
                time_cell(&r.time),
                esc(&r.comment)
            );
        }
        h.push_str("</table>");
    }

    // The deviations a reviewer must see first (the domain's one summary).
    if summary.is_clean() {
        h.push_str(
            "<div class=\"deviations none\"><h2>Deviations: none</h2><p>No failed checkpoint, \
             redo, signed deviation, unacknowledged or late alarm, refused lot, out-of-limit \
             measurement or suspension in this record.</p></div>\n",
        );
    } else {
        let _ = write!(
            h,
            "<div class=\"deviations\"><h2>⚠ Deviations: {}</h2><p>{}</p><table><tr>\
             <th>Step</th><th>Deviation</th><th>What</th><th>Who</th><th>Time (UTC)</th></tr>",
            summary.flags.len(),
            esc(&summary.headline())
        );
        for f in &summary.flags {
            let step = match (f.step, f.attempt) {
                (Some(s), Some(a)) if a > 1 => format!("{} (attempt {a})", step_no(s)),
                (Some(s), _) => step_no(s).to_string(),
                (None, _) => "—".into(),
            };
            let _ = write!(
                h,
                "<tr><td class=\"t\">{}</td><td class=\"fail\">⚠ {}</td><td>{}</td><td>{}</td>{}</tr>",
                esc(&step),
                f.kind.label(),
                esc(&f.text),
                if f.by.is_empty() {
                    "—".into()
                } else {
                    esc(&people.who(&f.by))
                },
                time_cell(&f.time)
            );
        }
        h.push_str("</table></div>\n");
    }

    // Job-wide happenings (suspend, resume, abort) belong to the step the job was at.
    let mut at_step: Option<u32> = None;
    let mut step_of: Vec<Option<u32>> = Vec::with_capacity(job.timeline.len());
    for e in &job.timeline {
        if e.step.is_some() {
            at_step = e.step;
        }
        step_of.push(match e.kind {
            "job_suspended" | "job_resumed" | "job_aborted" => at_step,
            _ => e.step,
        });
    }

    for (i, state) in job.steps.iter().enumerate() {
        let step = i as u32;
        let spec = instruction.and_then(|ins| ins.spec.steps.get(i));
        let _ = write!(
            h,
            "<section class=\"step\"><h2>Step {} of {}</h2>",
            step_no(step),
            job.steps.len()
        );
        if let Some(spec) = spec {
            let _ = write!(h, "<p>{}</p>", esc(&spec.text));
        }
        let _ = write!(
            h,
            "<p class=\"muted\">Started {} · completed {} (UTC) · {}</p>",
            opt_when(state.started.as_ref()),
            opt_when(state.completed.as_ref()),
            match state.attempts {
                0 => "not started".to_string(),
                1 => "1 attempt".to_string(),
                n => format!("{n} attempts"),
            }
        );

        let several = state.attempt_log.len() > 1;
        for attempt in &state.attempt_log {
            if several {
                let _ = write!(h, "<h3>Attempt {}", attempt.number);
                if let Some(reason) = &attempt.reason {
                    let _ = write!(
                        h,
                        " — redone by {}: {}",
                        esc(&people.who(attempt.opened_by.as_deref().unwrap_or(""))),
                        esc(reason)
                    );
                }
                let superseded = attempt.number < state.attempt_log.len() as u32;
                let completed = match (&attempt.completed, superseded) {
                    (Some(t), _) => format!("completed {} (UTC)", when(t)),
                    (None, true) => "not completed: redone (no summary sealed; the chart \
                                     shows its stored samples)"
                        .into(),
                    (None, false) => "not completed yet".into(),
                };
                let _ = write!(
                    h,
                    "</h3><p class=\"muted\">Started {} (UTC) · {}</p>",
                    opt_when(attempt.started.as_ref()),
                    esc(&completed)
                );
            }
            h.push_str("<div class=\"attempt\">");
            write_attempt(
                &mut h, store, library, bundle, &people, i, attempt, liquidus,
            )?;
            h.push_str("</div>");
        }

        let refused: Vec<_> = job.lot_refusals.iter().filter(|l| l.step == step).collect();
        if !refused.is_empty() {
            h.push_str(
                "<table><tr><th>Refused lot</th><th>Material</th><th>Expiry</th><th>Reason</th>\
                 <th>Scanned by</th><th>Scanned (UTC)</th></tr>",
            );
            for l in refused {
                let _ = write!(
                    h,
                    "<tr class=\"dev\"><td class=\"fail\">⚠ {}</td><td>{}</td><td class=\"t\">{}</td>\
                     <td>refused: {}</td><td>{}</td>{}</tr>",
                    esc(&l.lot),
                    esc(&l.material),
                    l.expiry.map_or("—".into(), |d| d.to_string()),
                    esc(&l.reason.to_string()),
                    esc(&people.who(&l.by)),
                    time_cell(&l.time)
                );
            }
            h.push_str("</table>");
        }

        // Every sign-off attempt and every action on the step, in time order.
        let record: Vec<&Happening> = job
            .timeline
            .iter()
            .zip(&step_of)
            .filter(|(e, s)| {
                **s == Some(step)
                    && !matches!(
                        e.kind,
                        "step_started" | "step_completed" | "lot_recorded" | "lot_refused"
                    )
            })
            .map(|(e, _)| e)
            .collect();
        if !record.is_empty() {
            h.push_str(
                "<h3>Record of this step</h3><table><tr><th>Time (UTC)</th><th>Attempt</th>\
                 <th>Who</th><th>Meaning</th><th>What</th><th>Result</th></tr>",
            );
            let mut attempt = 1;
            for e in record {
                if e.kind == "step_redone" {
                    attempt += 1;
                }
                write_happening(&mut h, e, attempt, step, spec, &people, job);
            }
            h.push_str("</table>");
        }
        h.push_str("</section>\n");
    }

    // Job-wide actions: start, submissions, reviews, in time order.
    h.push_str(
        "<section class=\"step\"><h2>Job history</h2><table><tr><th>Time (UTC)</th><th>Who</th>\
         <th>What</th></tr>",
    );
    for (e, _) in job
        .timeline
        .iter()
        .zip(&step_of)
        .filter(|(e, s)| s.is_none() || matches!(e.kind, "job_suspended" | "job_resumed"))
    {
        let flagged = matches!(e.kind, "job_suspended" | "job_aborted")
            || (e.kind == "job_reviewed" && e.text.starts_with("rejected"));
        let _ = write!(
            h,
            "<tr{}>{}<td>{}</td><td>{}{}</td></tr>",
            if flagged { " class=\"dev\"" } else { "" },
            time_cell(&e.time),
            esc(&people.who(&e.actor)),
            if flagged { "⚠ " } else { "" },
            esc(&e.text)
        );
    }
    h.push_str("</table></section>\n");

    let (first, last) = (bundle.records.first(), bundle.records.last());
    let last_hash = match last {
        Some(StoredOrPlain::Stored(s)) => s.hash_hex(),
        _ => "—".into(),
    };
    let _ = write!(
        h,
        "<section class=\"step\"><h2>Record integrity</h2><p>{} events, seq {} to {}. \
         Hash of the last: <code>{}</code>. Instruction file SHA-256: <code>{}</code>. \
         Check the store with <code>traveler verify</code>.</p>\
         </section>\n</body></html>\n",
        bundle.records.len(),
        first.map_or(0, |r| r.record().seq),
        last.map_or(0, |r| r.record().seq),
        last_hash,
        esc(&job.instruction_hash)
    );
    Ok(h)
}

/// One attempt of a step: its temperature summary and chart (from its own
/// samples), its alarms with who acknowledged them and when, its signed
/// deviations and its lots.
#[allow(clippy::too_many_arguments)]
fn write_attempt(
    h: &mut String,
    store: &Store,
    library: &Library,
    bundle: &JobBundle<'_>,
    people: &People<'_>,
    i: usize,
    attempt: &Attempt,
    liquidus: Option<f64>,
) -> Result<()> {
    let job = &bundle.job;
    let instruction = bundle.instruction;
    let step = i as u32;
    if !attempt.temperature.is_empty() {
        h.push_str(
            "<table><tr><th>Channel</th><th>Window °C</th><th>Min °C</th><th>Max °C</th>\
             <th>Mean °C</th><th>Peak °C</th><th>Above liquidus</th><th>Samples</th>\
             <th>Alarms</th></tr>",
        );
        for c in &attempt.temperature {
            let above = if liquidus_matters(c, liquidus) {
                format!("{:.0} s", c.above_liquidus_s)
            } else {
                "—".into()
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"t\">{}</td><td class=\"n\">{:.1}</td>\
                 <td class=\"n\">{:.1}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.1}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n{}\">{}</td></tr>",
                esc(&c.channel),
                window_text(c.window_min_c, c.window_max_c),
                c.min_c,
                c.max_c,
                c.mean_c,
                c.peak_c,
                above,
                c.count,
                if c.excursions > 0 { " fail" } else { "" },
                if c.excursions > 0 {
                    format!("⚠ {}", c.excursions)
                } else {
                    "0".into()
                }
            );
        }
        h.push_str("</table>");
        if let Some(l) = liquidus {
            let _ = write!(
                h,
                "<p class=\"note\">Above liquidus: seconds above {l:.0} °C ({}), for channels at \
                 the joint (a window that reaches it, or a reading above it); not for a tool set \
                 point.</p>",
                esc(&job.alloy)
            );
        }
    }

    let samples: Vec<StoredSample> = store
        .samples(&job.id, attempt.sample_stream)
        .collect::<std::result::Result<_, _>>()?;
    let mut bands: Vec<Band<'_>> = attempt
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
    let excursions: Vec<_> = job
        .excursions
        .iter()
        .filter(|e| e.step == step && e.attempt.max(1) == attempt.number)
        .collect();
    let title = if job.steps[i].attempt_log.len() > 1 {
        format!(
            "Step {} attempt {} temperature",
            step_no(step),
            attempt.number
        )
    } else {
        format!("Step {} temperature", step_no(step))
    };
    if let Some(svg) = chart(&title, &samples, &bands, &excursions) {
        h.push_str("<figure>");
        h.push_str(&svg);
        h.push_str("</figure>");
    }
    drop(samples);

    if !excursions.is_empty() {
        h.push_str(
            "<table><tr><th>Alarm</th><th>Channel</th><th>Window °C</th><th>Peak °C</th>\
             <th>From (UTC)</th><th>To (UTC)</th><th>Acknowledged by</th><th>At (UTC)</th>\
             <th>Comment</th></tr>",
        );
        for e in &excursions {
            let (by, at) = match (&e.acknowledged_by, &e.acknowledged_at) {
                (Some(b), Some(t)) => (people.who(b), time_cell(t)),
                (Some(b), None) => (people.who(b), "<td class=\"t\">—</td>".to_string()),
                _ if e.acknowledgement.is_some() => (
                    "(not recorded)".to_string(),
                    "<td class=\"t\">—</td>".to_string(),
                ),
                _ => (
                    "⚠ not acknowledged".to_string(),
                    "<td class=\"t\">—</td>".to_string(),
                ),
            };
            let _ = write!(
                h,
                "<tr class=\"dev\"><td class=\"fail\">⚠ {}</td><td>{}</td><td class=\"t\">{}</td>\
                 <td class=\"n\">{:.1}</td>{}<td class=\"t\">{}</td><td>{}</td>{}<td>{}</td></tr>",
                e.id,
                esc(&e.channel),
                window_text(Some(e.window_min_c), Some(e.window_max_c)),
                e.peak_c,
                time_cell(&e.started),
                opt_when(e.ended.as_ref()),
                esc(&by),
                at,
                esc(e.acknowledgement.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table>");
    }

    for d in &attempt.deviations {
        let _ = write!(
            h,
            "<table><tr class=\"dev\"><th>⚠ Deviation</th><td class=\"fail\">{}</td>\
             <td>{}</td><td>signed by {}</td>{}</tr></table>",
            esc(&d.kind.to_string()),
            esc(&d.reason),
            esc(&people.who(&d.by)),
            time_cell(&d.time)
        );
    }

    let lots: Vec<_> = job
        .lots
        .iter()
        .filter(|l| l.step == step && l.attempt.max(1) == attempt.number)
        .collect();
    if !lots.is_empty() {
        h.push_str(
            "<table><tr><th>Material</th><th>Lot</th><th>Expiry</th><th>GTIN</th>\
             <th>Scanned by</th><th>Scanned (UTC)</th></tr>",
        );
        for l in lots {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"t\">{}</td><td>{}</td><td>{}</td>{}</tr>",
                esc(&l.material),
                esc(&l.lot),
                l.expiry.map_or("—".into(), |d| d.to_string()),
                esc(l.gtin.as_deref().unwrap_or("—")),
                esc(&people.who(&l.by)),
                time_cell(&l.time)
            );
        }
        h.push_str("</table>");
    }
    Ok(())
}

/// One row of a step's record: a signature attempt (with the checkpoint's text,
/// result, measurement and comment) or another happening with its reason.
fn write_happening(
    h: &mut String,
    e: &Happening,
    attempt: u32,
    step: u32,
    spec: Option<&crate::instruction::schema::Step>,
    people: &People<'_>,
    job: &Job,
) {
    let sig = (e.kind == "checkpoint_signed")
        .then(|| {
            job.history
                .iter()
                .find(|s| s.step == step && s.time == e.time && s.signer == e.actor)
        })
        .flatten();
    if let Some(sig) = sig {
        let current = job.steps[step as usize].signatures.get(&sig.checkpoint) == Some(sig);
        let cp = spec.and_then(|s| s.checkpoints.get(sig.checkpoint as usize));
        let mut what = format!("Checkpoint {}", step_no(sig.checkpoint));
        if let Some(cp) = cp {
            let _ = write!(what, ": {} ({})", cp.text, cp.acceptance);
        }
        if !current {
            what.push_str(" — earlier attempt");
        }
        let mut res = match sig.result {
            CheckResult::Fail => "✗ FAIL".to_string(),
            CheckResult::Pass => "✓ pass".to_string(),
            CheckResult::Confirmed => "✓ confirmed".to_string(),
        };
        if let Some(m) = &sig.measurement {
            let _ = write!(res, ": {} {}", m.value, m.unit);
        }
        if let Some(r) = &sig.recorded {
            let _ = write!(res, " (station recorded {} {})", r.value, r.metric);
        }
        if let Some(c) = sig.comment.as_deref().filter(|c| !c.is_empty()) {
            let _ = write!(res, " — {c}");
        }
        let failed = sig.result.is_failure() || sig.differs_from_record();
        let _ = write!(
            h,
            "<tr{}>{}<td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
            if failed {
                " class=\"dev\""
            } else if !current {
                " class=\"earlier\""
            } else {
                ""
            },
            time_cell(&e.time),
            sig.attempt.max(attempt),
            esc(&people.who(&e.actor)),
            sig.meaning,
            esc(&what),
            if failed { " class=\"fail\"" } else { "" },
            esc(&res)
        );
        return;
    }
    let flagged = matches!(
        e.kind,
        "step_redone" | "excursion" | "deviated" | "job_suspended" | "job_aborted"
    );
    let _ = write!(
        h,
        "<tr{}>{}<td class=\"n\">{attempt}</td><td>{}</td><td></td><td colspan=\"2\">{}{}</td></tr>",
        if flagged { " class=\"dev\"" } else { "" },
        time_cell(&e.time),
        esc(&people.who(&e.actor)),
        if flagged { "⚠ " } else { "" },
        esc(&e.text)
    );
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
    let releases = store.releases().map_err(|e| e.to_string());
    let index_path = dir.join("index.html");
    let mut index =
        BufWriter::new(private_fs::create_file(&index_path).map_err(file_err(&index_path))?);
    index.write_all(page_start("Traveler reports").as_bytes())?;
    index.write_all(
        b"<h1>Traveler reports</h1><table><tr><th>Job</th><th>Board</th><th>Instruction</th>\
          <th>Status</th><th>Deviations</th><th>Started (UTC)</th></tr>\n",
    )?;
    let mut summary = ExportSummary::default();
    let mut used: HashMap<String, u32> = HashMap::new();
    for id in scope.job_ids(store)? {
        let id = id?;
        let Some(bundle) = load_job(store, library, &id, head.seq, true)? else {
            continue;
        };
        let report = job_report_with(store, library, &names, &bundle, &releases)?;
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
        let deviations = deviations_summary(job);
        writeln!(
            index,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{} rev {}</td><td>{}</td>\
             <td{}>{}</td><td class=\"t\">{}</td></tr>",
            esc(&name),
            esc(&job.id),
            esc(&job.board_serial),
            esc(&job.instruction_id),
            esc(&job.instruction_rev),
            job.status.as_str().replace('_', " "),
            if deviations.is_clean() {
                ""
            } else {
                " class=\"fail\""
            },
            if deviations.is_clean() {
                "none".to_string()
            } else {
                format!("⚠ {}", esc(&deviations.headline()))
            },
            when(&job.started)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(window: Option<(f64, f64)>, max_c: f64) -> ChannelSummary {
        ChannelSummary {
            channel: "c".into(),
            count: 10,
            min_c: 25.0,
            max_c,
            mean_c: 100.0,
            peak_c: max_c,
            above_liquidus_s: 12.0,
            window_min_c: window.map(|w| w.0),
            window_max_c: window.map(|w| w.1),
            excursions: 0,
        }
    }

    #[test]
    fn above_liquidus_only_where_it_means_something() {
        let sac = Some(220.0);
        for (what, c, liquidus, shown) in [
            ("BGA peak", channel(Some((235.0, 245.0)), 241.0), sac, true),
            (
                "reflow peak never reached",
                channel(Some((240.0, 250.0)), 200.0),
                sac,
                true,
            ),
            (
                "tip set point",
                channel(Some((345.0, 400.0)), 372.0),
                sac,
                false,
            ),
            (
                "hot-air set point",
                channel(Some((330.0, 380.0)), 350.0),
                sac,
                false,
            ),
            (
                "preheat below",
                channel(Some((150.0, 180.0)), 166.0),
                sac,
                false,
            ),
            (
                "preheat overshoot",
                channel(Some((150.0, 180.0)), 231.0),
                sac,
                true,
            ),
            ("no window, cool", channel(None, 85.0), sac, false),
            ("no window, above", channel(None, 230.0), sac, true),
            ("alloy unknown", channel(None, 230.0), None, true),
        ] {
            assert_eq!(liquidus_matters(&c, liquidus), shown, "{what}");
        }
    }

    #[test]
    fn windows_read_as_people_say_them() {
        assert_eq!(window_text(Some(235.0), Some(245.0)), "235–245");
        assert_eq!(window_text(Some(100.0), None), "≥ 100");
        assert_eq!(window_text(Some(100.0), Some(f64::INFINITY)), "≥ 100");
        assert_eq!(window_text(None, Some(150.0)), "≤ 150");
        assert_eq!(window_text(None, None), "no window");
    }
}
