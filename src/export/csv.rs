//! The CSV export: one RFC 4180 file per table in a folder, written job by job, for
//! people who open it in a spreadsheet.
//!
//! Tables: jobs.csv, steps.csv (one row per step attempt and temperature channel, one
//! row for an attempt without temperature), signoffs.csv (every checkpoint signature
//! of every attempt, failed ones included, then the reviews), lots.csv,
//! lot_refusals.csv, excursions.csv (with who acknowledged and when), deviations.csv
//! (the domain's deviations summary), actions.csv (every action with who and when, in
//! time order), and samples.csv when asked. `step_no` is 1-based, as the technician
//! saw it. jobs.csv names the release of each job's instruction text (when, by whom,
//! why) in its last columns.
//!
//! What a spreadsheet needs, and JSON does not:
//! - times as `2026-12-01 07:30:00` in UTC (columns named `…_utc`), which every
//!   spreadsheet reads as a date and time; samples keep their milliseconds;
//! - temperatures rounded to 0.1 °C (the JSON export keeps every digit);
//! - no cell a spreadsheet would run as a formula: a cell that starts with `=`, `+`,
//!   `-`, `@`, tab or carriage return gets a leading `'` (see [`neutralise`]); a
//!   number such as `-12.5` is left a number. The JSON export keeps the exact value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};
use csv::Writer;
use tracing::info;

use crate::domain::deviations::deviations_summary;
use crate::domain::job::{Attempt, Job};
use crate::domain::release::ReleaseBook;
use crate::instruction::Library;
use crate::private_fs;
use crate::store::Store;

use super::{
    ExportError, ExportOptions, ExportSummary, JobBundle, Progress, Result, Scope, job_procedures,
    load_job, step_no,
};

pub const TABLES: [&str; 9] = [
    "jobs.csv",
    "steps.csv",
    "signoffs.csv",
    "lots.csv",
    "lot_refusals.csv",
    "excursions.csv",
    "deviations.csv",
    "actions.csv",
    "samples.csv",
];

const JOBS: &[&str] = &[
    "job",
    "board_serial",
    "assembly_part",
    "assembly_rev",
    "refdes",
    "defect_ref",
    "class",
    "alloy",
    "instruction_id",
    "instruction_rev",
    "instruction_hash",
    "procedures",
    "approval_ref",
    "bench",
    "performer",
    "status",
    "started_utc",
    "submitted_utc",
    "finished_utc",
    "reviewer",
    "reviewer_name",
    "review_decision",
    "review_utc",
    "review_comment",
    "abort_reason",
    "peak_c",
    "last_event_seq",
    "deviations",
    "deviations_summary",
    // Which release the instruction text was (blank: run unreleased, where releases
    // were not required). Appended: earlier columns keep their places.
    "instruction_released_utc",
    "instruction_released_by",
    "instruction_released_by_name",
    "instruction_release_reason",
];
const STEPS: &[&str] = &[
    "job",
    "step_no",
    "started_utc",
    "completed_utc",
    "attempts",
    "channel",
    "samples_this_channel",
    "min_c",
    "max_c",
    "mean_c",
    "peak_c",
    "above_liquidus_s",
    "window_min_c",
    "window_max_c",
    "excursions",
    "samples_all_channels",
    "samples_digest",
    "attempt",
    "redo_reason",
];
const SIGNOFFS: &[&str] = &[
    "job",
    "step_no",
    "checkpoint_no",
    "signer",
    "signer_name",
    "meaning",
    "time_utc",
    "result",
    "measurement",
    "unit",
    "comment",
    "current",
    "attempt",
];
const LOTS: &[&str] = &[
    "job",
    "board_serial",
    "step_no",
    "material",
    "lot",
    "expiry",
    "gtin",
    "raw_scan",
    "time_utc",
    "scanned_by",
    "attempt",
];
const LOT_REFUSALS: &[&str] = &[
    "job",
    "board_serial",
    "step_no",
    "material",
    "lot",
    "expiry",
    "raw_scan",
    "reason",
    "scanned_by",
    "scanned_by_name",
    "time_utc",
];
const DEVIATIONS: &[&str] = &[
    "job", "step_no", "attempt", "kind", "what", "by", "by_name", "time_utc",
];
const ACTIONS: &[&str] = &[
    "job",
    "seq",
    "step_no",
    "time_utc",
    "actor",
    "actor_name",
    "action",
    "what",
];
const EXCURSIONS: &[&str] = &[
    "job",
    "step_no",
    "id",
    "channel",
    "window_min_c",
    "window_max_c",
    "peak_c",
    "started_utc",
    "ended_utc",
    "acknowledgement",
    "acknowledged_by",
    "acknowledged_by_name",
    "acknowledged_utc",
    "attempt",
];
const SAMPLES: &[&str] = &[
    "job", "step_no", "channel", "time_utc", "celsius", "attempt",
];

/// A cell as a spreadsheet may safely read it: one that starts with `=`, `+`, `-`,
/// `@`, tab or carriage return would be taken as a formula (a board serial
/// `=HYPERLINK(…)` becomes a link, `@SUM(…)` runs), so it gets a leading `'`, which
/// spreadsheets show as text and do not display. A plain decimal number (`-12.5`)
/// cannot be a formula and stays a number.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    if risky && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-`? digits (`.` digits)?: what [`temp`] and [`num`] write for a negative value.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// One table of the export. Rows go out only through [`Table::row`], so no cell can
/// skip [`neutralise`].
struct Table {
    w: Writer<BufWriter<File>>,
}

impl Table {
    fn create(dir: &Path, name: &str, header: &[&str], files: &mut Vec<PathBuf>) -> Result<Table> {
        let path = dir.join(name);
        let f = private_fs::create_file(&path).map_err(|source| ExportError::File {
            path: path.clone(),
            source,
        })?;
        let mut t = Table {
            w: Writer::from_writer(BufWriter::with_capacity(256 * 1024, f)),
        };
        t.row(header)?;
        files.push(path);
        Ok(t)
    }

    fn row<I, S>(&mut self, cells: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for c in cells {
            self.w.write_field(neutralise(c.as_ref()).as_bytes())?;
        }
        // Ends the record.
        self.w.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

struct Tables {
    jobs: Table,
    steps: Table,
    signoffs: Table,
    lots: Table,
    lot_refusals: Table,
    excursions: Table,
    deviations: Table,
    actions: Table,
    samples: Option<Table>,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A measured value as recorded (shortest form that reads back to the same number).
fn num(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        String::new()
    }
}

/// A temperature (or a time above liquidus) rounded to 0.1, the resolution of the
/// stations; `-0.0` is written `0.0`.
pub fn temp(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0.0".into()
    } else {
        format!("{r:.1}")
    }
}

/// A time as spreadsheets read it, in UTC: `2026-12-01 07:30:00`.
pub fn utc(t: &DateTime<Utc>) -> String {
    // By hand rather than strftime: a large export writes millions of these.
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A sample's time, with its milliseconds: `2026-12-01 07:30:00.250`.
fn utc_ms(t: &DateTime<Utc>) -> String {
    // A leap second shows as :59.999, not as a fourth millisecond digit.
    format!("{}.{:03}", utc(t), t.timestamp_subsec_millis().min(999))
}

/// Writes the tables of `scope` into folder `dir` (created owner-only if needed;
/// every table is owner-only: the record names people and boards).
pub fn write_csv(
    store: &Store,
    library: &Library,
    scope: &Scope,
    options: &ExportOptions,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    private_fs::create_dir_all(dir).map_err(|source| ExportError::File {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut summary = ExportSummary::default();
    let files = &mut summary.files;
    let mut t = Tables {
        jobs: Table::create(dir, TABLES[0], JOBS, files)?,
        steps: Table::create(dir, TABLES[1], STEPS, files)?,
        signoffs: Table::create(dir, TABLES[2], SIGNOFFS, files)?,
        lots: Table::create(dir, TABLES[3], LOTS, files)?,
        lot_refusals: Table::create(dir, TABLES[4], LOT_REFUSALS, files)?,
        excursions: Table::create(dir, TABLES[5], EXCURSIONS, files)?,
        deviations: Table::create(dir, TABLES[6], DEVIATIONS, files)?,
        actions: Table::create(dir, TABLES[7], ACTIONS, files)?,
        samples: if options.samples {
            Some(Table::create(dir, TABLES[8], SAMPLES, files)?)
        } else {
            None
        },
    };
    let names = super::cfx::roster(store)?;
    let releases = store.releases()?;
    let head = store.chain_head();
    for id in scope.job_ids(store)? {
        let id = id?;
        let Some(bundle) = load_job(store, library, &id, head.seq, false)? else {
            continue;
        };
        let procedures = job_procedures(library, bundle.instruction).join("; ");
        write_job(&mut t, &bundle, &procedures, &names, &releases)?;
        summary.events += bundle.records.len() as u64;
        if let Some(w) = t.samples.as_mut() {
            for (step, state) in bundle.job.steps.iter().enumerate() {
                let step = step as u32;
                // Every attempt's own samples; a step never started has none.
                let streams: Vec<(u32, u32)> = if state.attempt_log.is_empty() {
                    vec![(1, step)]
                } else {
                    state
                        .attempt_log
                        .iter()
                        .map(|a| (a.number, a.sample_stream))
                        .collect()
                };
                for (attempt, stream) in streams {
                    for s in store.samples(&id, stream) {
                        let s = s?;
                        w.row([
                            id.as_str(),
                            &step_no(step).to_string(),
                            &s.channel,
                            &utc_ms(&s.time),
                            &temp(s.celsius),
                            &attempt.to_string(),
                        ])?;
                        summary.samples += 1;
                    }
                }
            }
        }
        summary.jobs += 1;
        progress(summary.jobs);
    }
    for w in [
        &mut t.jobs,
        &mut t.steps,
        &mut t.signoffs,
        &mut t.lots,
        &mut t.lot_refusals,
        &mut t.excursions,
        &mut t.deviations,
        &mut t.actions,
    ] {
        w.flush()?;
    }
    if let Some(w) = t.samples.as_mut() {
        w.flush()?;
    }
    info!(jobs = summary.jobs, dir = %dir.display(), "CSV export written");
    Ok(summary)
}

fn write_job(
    t: &mut Tables,
    bundle: &JobBundle<'_>,
    procedures: &str,
    names: &HashMap<String, String>,
    releases: &ReleaseBook,
) -> Result<()> {
    let job: &Job = &bundle.job;
    let release = releases.by_hash(&job.instruction_hash);
    let name = |badge: &str| -> &str {
        names
            .get(badge)
            .map(String::as_str)
            .or_else(|| {
                job.history
                    .iter()
                    .find(|s| s.signer == badge)
                    .map(|s| s.signer_name.as_str())
            })
            .unwrap_or_default()
    };
    let summary = deviations_summary(job);
    let last_review = job.reviews.last();
    t.jobs.row([
        job.id.as_str(),
        &job.board_serial,
        &job.assembly_part,
        &job.assembly_rev,
        &job.refdes.join(";"),
        &job.defect_ref,
        &job.class.number().to_string(),
        &job.alloy,
        &job.instruction_id,
        &job.instruction_rev,
        &job.instruction_hash,
        procedures,
        job.approval_ref.as_deref().unwrap_or(""),
        &job.bench,
        &job.performer,
        job.status.as_str(),
        &utc(&job.started),
        &opt(job.submitted.as_ref().map(utc)),
        &opt(job.finished.as_ref().map(utc)),
        last_review.map_or("", |r| r.reviewer.as_str()),
        last_review.map_or("", |r| r.reviewer_name.as_str()),
        last_review.map_or("", |r| decision_str(r.decision)),
        &opt(last_review.map(|r| utc(&r.time))),
        last_review.map_or("", |r| r.comment.as_str()),
        job.abort_reason.as_deref().unwrap_or(""),
        &opt(job.peak_c().map(temp)),
        &job.last_event_seq.to_string(),
        &summary.flags.len().to_string(),
        &if summary.is_clean() {
            String::new()
        } else {
            summary.headline()
        },
        &opt(release.map(|r| utc(&r.effective))),
        release.map_or("", |r| r.by.as_str()),
        release.map_or("", |r| r.by_name.as_str()),
        release.map_or("", |r| r.reason.as_str()),
    ])?;

    for (i, s) in job.steps.iter().enumerate() {
        let no = step_no(i as u32).to_string();
        // One row per attempt (and channel); a step never started has one blank row.
        let first = [Attempt {
            number: 1,
            ..Attempt::default()
        }];
        let attempts: &[Attempt] = if s.attempt_log.is_empty() {
            &first
        } else {
            &s.attempt_log
        };
        for a in attempts {
            let common = [
                job.id.clone(),
                no.clone(),
                opt(a.started.as_ref().map(utc)),
                opt(a.completed.as_ref().map(utc)),
                s.attempts.to_string(),
            ];
            // An attempt that never completed has no sealed summary: blank, not 0.
            let tail = [
                a.samples_digest
                    .as_ref()
                    .map_or(String::new(), |_| a.sample_count.to_string()),
                a.samples_digest.clone().unwrap_or_default(),
                a.number.to_string(),
                a.reason.clone().unwrap_or_default(),
            ];
            if a.temperature.is_empty() {
                let blank: [String; 10] = Default::default();
                t.steps.row(common.iter().chain(&blank).chain(&tail))?;
            }
            for c in &a.temperature {
                let channel = [
                    c.channel.clone(),
                    c.count.to_string(),
                    temp(c.min_c),
                    temp(c.max_c),
                    temp(c.mean_c),
                    temp(c.peak_c),
                    temp(c.above_liquidus_s),
                    opt(c.window_min_c.map(temp)),
                    opt(c.window_max_c.map(temp)),
                    c.excursions.to_string(),
                ];
                t.steps.row(common.iter().chain(&channel).chain(&tail))?;
            }
        }
    }

    for sig in &job.history {
        let current = job
            .steps
            .get(sig.step as usize)
            .and_then(|s| s.signatures.get(&sig.checkpoint))
            .is_some_and(|c| c == sig);
        let (value, unit) = match &sig.measurement {
            Some(m) => (num(m.value), m.unit.clone()),
            None => (String::new(), String::new()),
        };
        t.signoffs.row([
            job.id.as_str(),
            &step_no(sig.step).to_string(),
            &step_no(sig.checkpoint).to_string(),
            &sig.signer,
            &sig.signer_name,
            &sig.meaning.to_string(),
            &utc(&sig.time),
            result_str(sig.result),
            &value,
            &unit,
            sig.comment.as_deref().unwrap_or(""),
            if current { "yes" } else { "no" },
            &sig.attempt.max(1).to_string(),
        ])?;
    }
    for r in &job.reviews {
        t.signoffs.row([
            job.id.as_str(),
            "",
            "",
            &r.reviewer,
            &r.reviewer_name,
            "reviewed",
            &utc(&r.time),
            decision_str(r.decision),
            "",
            "",
            &r.comment,
            "yes",
            "",
        ])?;
    }

    for l in &job.lots {
        t.lots.row([
            job.id.as_str(),
            &job.board_serial,
            &step_no(l.step).to_string(),
            &l.material,
            &l.lot,
            &opt(l.expiry),
            l.gtin.as_deref().unwrap_or(""),
            &l.raw_scan,
            &utc(&l.time),
            &l.by,
            &l.attempt.max(1).to_string(),
        ])?;
    }
    for l in &job.lot_refusals {
        t.lot_refusals.row([
            job.id.as_str(),
            &job.board_serial,
            &step_no(l.step).to_string(),
            &l.material,
            &l.lot,
            &opt(l.expiry),
            &l.raw_scan,
            &l.reason.to_string(),
            &l.by,
            name(&l.by),
            &utc(&l.time),
        ])?;
    }

    for e in &job.excursions {
        let by = e.acknowledged_by.as_deref().unwrap_or("");
        t.excursions.row([
            job.id.as_str(),
            &step_no(e.step).to_string(),
            &e.id.to_string(),
            &e.channel,
            &temp(e.window_min_c),
            &temp(e.window_max_c),
            &temp(e.peak_c),
            &utc(&e.started),
            &opt(e.ended.as_ref().map(utc)),
            e.acknowledgement.as_deref().unwrap_or(""),
            by,
            if by.is_empty() { "" } else { name(by) },
            &opt(e.acknowledged_at.as_ref().map(utc)),
            &e.attempt.max(1).to_string(),
        ])?;
    }

    for f in &summary.flags {
        t.deviations.row([
            job.id.as_str(),
            &opt(f.step.map(step_no)),
            &opt(f.attempt),
            f.kind.label(),
            &f.text,
            &f.by,
            if f.by.is_empty() { "" } else { name(&f.by) },
            &utc(&f.time),
        ])?;
    }

    for h in &job.timeline {
        t.actions.row([
            job.id.as_str(),
            &h.seq.to_string(),
            &opt(h.step.map(step_no)),
            &utc(&h.time),
            &h.actor,
            name(&h.actor),
            h.kind,
            &h.text,
        ])?;
    }
    Ok(())
}

pub(crate) fn result_str(r: crate::domain::types::CheckResult) -> &'static str {
    use crate::domain::types::CheckResult::*;
    match r {
        Confirmed => "confirmed",
        Pass => "pass",
        Fail => "fail",
    }
}

pub(crate) fn decision_str(d: crate::domain::types::Decision) -> &'static str {
    use crate::domain::types::Decision::*;
    match d {
        Approved => "approved",
        Rejected => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_quote() {
        for (cell, out) in [
            (
                "=HYPERLINK(\"http://e.vil\",\"x\")",
                "'=HYPERLINK(\"http://e.vil\",\"x\")",
            ),
            ("@SUM(1+1)*cmd", "'@SUM(1+1)*cmd"),
            ("+1+1", "'+1+1"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("-1.", "'-1."),
            ("-.5", "'-.5"),
            ("-1e3", "'-1e3"),
            ("-12.5", "-12.5"),
            ("-3", "-3"),
            ("SN-100", "SN-100"),
            ("a=b", "a=b"),
            (" =1", " =1"),
            ("", ""),
            ("'=1", "'=1"),
        ] {
            assert_eq!(neutralise(cell), out, "{cell:?}");
        }
    }

    #[test]
    fn temperatures_to_a_tenth_and_times_a_spreadsheet_reads() {
        assert_eq!(temp(231.26), "231.3");
        assert_eq!(temp(231.24999), "231.2");
        assert_eq!(temp(100.0), "100.0");
        assert_eq!(temp(-0.04), "0.0");
        assert_eq!(temp(-12.46), "-12.5");
        assert_eq!(temp(f64::NAN), "");
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T07:30:00.250Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(utc(&t), "2026-12-01 07:30:00");
        assert_eq!(utc_ms(&t), "2026-12-01 07:30:00.250");
    }
}
