//! The CSV export: one RFC 4180 file per table in a folder, written job by job.
//!
//! Tables: jobs.csv, steps.csv (one row per step and temperature channel, one row for
//! a step without temperature), signoffs.csv (every checkpoint signature, including
//! those of redone attempts, then the reviews), lots.csv, excursions.csv, and
//! samples.csv when asked. `step_no` is 1-based, as the technician saw it.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use csv::Writer;
use tracing::info;

use crate::domain::job::Job;
use crate::instruction::Library;
use crate::store::Store;

use super::{
    ExportError, ExportOptions, ExportSummary, Progress, Result, Scope, job_procedures, load_job,
    step_no, time_str,
};

pub const TABLES: [&str; 6] = [
    "jobs.csv",
    "steps.csv",
    "signoffs.csv",
    "lots.csv",
    "excursions.csv",
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
    "started",
    "submitted",
    "finished",
    "reviewer",
    "reviewer_name",
    "review_decision",
    "review_time",
    "abort_reason",
    "peak_c",
    "last_event_seq",
];
const STEPS: &[&str] = &[
    "job",
    "step_no",
    "started",
    "completed",
    "attempts",
    "channel",
    "count",
    "min_c",
    "max_c",
    "mean_c",
    "peak_c",
    "above_liquidus_s",
    "window_min_c",
    "window_max_c",
    "excursions",
    "sample_count",
    "samples_digest",
];
const SIGNOFFS: &[&str] = &[
    "job",
    "step_no",
    "checkpoint_no",
    "signer",
    "signer_name",
    "meaning",
    "time",
    "result",
    "measurement",
    "unit",
    "comment",
    "current",
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
    "time",
];
const EXCURSIONS: &[&str] = &[
    "job",
    "step_no",
    "id",
    "channel",
    "window_min_c",
    "window_max_c",
    "peak_c",
    "started",
    "ended",
    "acknowledgement",
];
const SAMPLES: &[&str] = &["job", "step_no", "channel", "time", "celsius"];

struct Tables {
    jobs: Writer<BufWriter<File>>,
    steps: Writer<BufWriter<File>>,
    signoffs: Writer<BufWriter<File>>,
    lots: Writer<BufWriter<File>>,
    excursions: Writer<BufWriter<File>>,
    samples: Option<Writer<BufWriter<File>>>,
}

fn table(
    dir: &Path,
    name: &str,
    header: &[&str],
    files: &mut Vec<PathBuf>,
) -> Result<Writer<BufWriter<File>>> {
    let path = dir.join(name);
    let f = File::create(&path).map_err(|source| ExportError::File {
        path: path.clone(),
        source,
    })?;
    let mut w = Writer::from_writer(BufWriter::with_capacity(256 * 1024, f));
    w.write_record(header)?;
    files.push(path);
    Ok(w)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn num(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        String::new()
    }
}

/// Writes the tables of `scope` into folder `dir` (created if needed).
pub fn write_csv(
    store: &Store,
    library: &Library,
    scope: &Scope,
    options: &ExportOptions,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    fs::create_dir_all(dir).map_err(|source| ExportError::File {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut summary = ExportSummary::default();
    let files = &mut summary.files;
    let mut t = Tables {
        jobs: table(dir, TABLES[0], JOBS, files)?,
        steps: table(dir, TABLES[1], STEPS, files)?,
        signoffs: table(dir, TABLES[2], SIGNOFFS, files)?,
        lots: table(dir, TABLES[3], LOTS, files)?,
        excursions: table(dir, TABLES[4], EXCURSIONS, files)?,
        samples: if options.samples {
            Some(table(dir, TABLES[5], SAMPLES, files)?)
        } else {
            None
        },
    };
    let head = store.chain_head();
    for id in scope.job_ids(store)? {
        let id = id?;
        let Some(bundle) = load_job(store, library, &id, head.seq, false)? else {
            continue;
        };
        let procedures = job_procedures(library, bundle.instruction).join("; ");
        write_job(&mut t, &bundle.job, &procedures)?;
        summary.events += bundle.records.len() as u64;
        if let Some(w) = t.samples.as_mut() {
            for step in 0..bundle.job.steps.len() as u32 {
                for s in store.samples(&id, step) {
                    let s = s?;
                    w.write_record([
                        id.as_str(),
                        &step_no(step).to_string(),
                        &s.channel,
                        &time_str(&s.time),
                        &s.celsius.to_string(),
                    ])?;
                    summary.samples += 1;
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
        &mut t.excursions,
    ] {
        w.flush()?;
    }
    if let Some(w) = t.samples.as_mut() {
        w.flush()?;
    }
    info!(jobs = summary.jobs, dir = %dir.display(), "CSV export written");
    Ok(summary)
}

fn write_job(t: &mut Tables, job: &Job, procedures: &str) -> Result<()> {
    let last_review = job.reviews.last();
    t.jobs.write_record([
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
        &time_str(&job.started),
        &opt(job.submitted.as_ref().map(time_str)),
        &opt(job.finished.as_ref().map(time_str)),
        last_review.map_or("", |r| r.reviewer.as_str()),
        last_review.map_or("", |r| r.reviewer_name.as_str()),
        last_review.map_or("", |r| decision_str(r.decision)),
        &opt(last_review.map(|r| time_str(&r.time))),
        job.abort_reason.as_deref().unwrap_or(""),
        &opt(job.peak_c().map(num)),
        &job.last_event_seq.to_string(),
    ])?;

    for (i, s) in job.steps.iter().enumerate() {
        let no = step_no(i as u32).to_string();
        let common = [
            job.id.clone(),
            no,
            opt(s.started.as_ref().map(time_str)),
            opt(s.completed.as_ref().map(time_str)),
            s.attempts.to_string(),
        ];
        let tail = [
            s.sample_count.to_string(),
            s.samples_digest.clone().unwrap_or_default(),
        ];
        if s.temperature.is_empty() {
            let blank: [String; 10] = Default::default();
            t.steps
                .write_record(common.iter().chain(&blank).chain(&tail))?;
        }
        for c in &s.temperature {
            let temp = [
                c.channel.clone(),
                c.count.to_string(),
                num(c.min_c),
                num(c.max_c),
                num(c.mean_c),
                num(c.peak_c),
                num(c.above_liquidus_s),
                opt(c.window_min_c.map(num)),
                opt(c.window_max_c.map(num)),
                c.excursions.to_string(),
            ];
            t.steps
                .write_record(common.iter().chain(&temp).chain(&tail))?;
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
        t.signoffs.write_record([
            job.id.as_str(),
            &step_no(sig.step).to_string(),
            &step_no(sig.checkpoint).to_string(),
            &sig.signer,
            &sig.signer_name,
            &sig.meaning.to_string(),
            &time_str(&sig.time),
            result_str(sig.result),
            &value,
            &unit,
            sig.comment.as_deref().unwrap_or(""),
            if current { "yes" } else { "no" },
        ])?;
    }
    for r in &job.reviews {
        t.signoffs.write_record([
            job.id.as_str(),
            "",
            "",
            &r.reviewer,
            &r.reviewer_name,
            "reviewed",
            &time_str(&r.time),
            decision_str(r.decision),
            "",
            "",
            &r.comment,
            "yes",
        ])?;
    }

    for l in &job.lots {
        t.lots.write_record([
            job.id.as_str(),
            &job.board_serial,
            &step_no(l.step).to_string(),
            &l.material,
            &l.lot,
            &opt(l.expiry),
            l.gtin.as_deref().unwrap_or(""),
            &l.raw_scan,
            &time_str(&l.time),
        ])?;
    }

    for e in &job.excursions {
        t.excursions.write_record([
            job.id.as_str(),
            &step_no(e.step).to_string(),
            &e.id.to_string(),
            &e.channel,
            &num(e.window_min_c),
            &num(e.window_max_c),
            &num(e.peak_c),
            &time_str(&e.started),
            &opt(e.ended.as_ref().map(time_str)),
            e.acknowledgement.as_deref().unwrap_or(""),
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
