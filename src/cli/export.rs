//! `traveler export | history | where-used` and `traveler verify --export FILE`.
//! Exit codes: 0 done, 1 failed, 2 the store is in use by another traveler.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::warn;

use crate::export::{
    self, ExportError, ExportOptions, ExportSummary, Scope, queries, step_no, time_str,
};
use crate::instruction::{Library, load_dir};
use crate::store::Store;

use super::store::{StoreDir, exit_code, open_existing_store};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Cfx,
    Html,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// json (one document), csv (a folder of tables), cfx (IPC-2591 messages), html
    /// (a folder of printable reports).
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// File for json/cfx (default: standard output); folder for csv/html.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Include the full temperature traces, not only the step summaries.
    #[arg(long)]
    pub samples: bool,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    /// Only jobs on this board.
    #[arg(long, value_name = "S")]
    pub serial: Option<String>,
    /// Only jobs that used this material lot.
    #[arg(long, value_name = "L")]
    pub lot: Option<String>,
    /// Only jobs started on or after this UTC day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<NaiveDate>,
    /// Only jobs started on or before this UTC day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub until: Option<NaiveDate>,
    /// Only jobs this badge performed, signed, reviewed or acted on.
    #[arg(long, value_name = "BADGE")]
    pub person: Option<String>,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    /// The board's serial number.
    pub serial: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Args, Debug, Clone)]
pub struct WhereUsedArgs {
    /// The material lot.
    pub lot: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreDir,
}

fn library(dir: Option<&Path>) -> Library {
    let dir = dir.unwrap_or(Path::new("instructions"));
    let loaded = load_dir(dir);
    if !loaded.is_clean() {
        warn!(
            dir = %dir.display(),
            problems = loaded.diagnostics.len(),
            "instructions folder has problems; `traveler check` lists them"
        );
    }
    loaded.library
}

fn open(dir: &StoreDir) -> Result<Store, i32> {
    // Read-only: never creates a store.
    open_existing_store(dir).map_err(|e| {
        eprintln!("error: {e}");
        exit_code(&e)
    })
}

fn fail(e: &ExportError) -> i32 {
    eprintln!("error: {e}");
    match e {
        ExportError::Store(s) => exit_code(s),
        _ => 1,
    }
}

/// A bar on stderr that appears only once an export has run for a second, and only
/// when stderr is a terminal.
struct Bar {
    bar: ProgressBar,
    start: Instant,
    shown: bool,
    terminal: bool,
}

impl Bar {
    fn new(total: u64) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} jobs  {per_sec}  eta {eta}")
        {
            bar.set_style(style);
        }
        Bar {
            bar,
            start: Instant::now(),
            shown: false,
            terminal: io::stderr().is_terminal(),
        }
    }

    fn tick(&mut self, n: u64) {
        if !self.shown && self.terminal && self.start.elapsed() >= Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        self.bar.set_position(n);
    }
}

/// Writes to `path` through PATH.tmp and a rename, so a failed export leaves no
/// half file under the real name.
fn to_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> export::Result<ExportSummary>,
) -> export::Result<ExportSummary> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = File::create(&tmp).map_err(|source| ExportError::File {
        path: tmp.clone(),
        source,
    })?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let result = write(&mut w).and_then(|s| {
        w.flush()?;
        Ok(s)
    });
    drop(w);
    match result {
        Ok(s) => {
            fs::rename(&tmp, path).map_err(|source| ExportError::File {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(s)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

pub fn run_export(args: ExportArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // A job's record is self-contained: the texts it ran are archived in the store.
    let library = crate::core::library_with_archive(&store, &library(instructions));
    let scope = Scope {
        job: args.job.clone(),
        serial: args.serial.clone(),
        lot: args.lot.clone(),
        since: args.since,
        until: args.until,
        person: args.person.clone(),
    };
    let options = ExportOptions {
        samples: args.samples,
    };
    let total = match scope.count(&store) {
        Ok(n) => n,
        Err(e) => return Ok(fail(&e)),
    };
    let mut bar = Bar::new(total);
    let mut progress = |n: u64| bar.tick(n);
    let result = match (args.format, &args.out) {
        (Format::Json, None) => export::json::write_json(
            &store,
            &library,
            &scope,
            &options,
            BufWriter::new(io::stdout().lock()),
            &mut progress,
        ),
        (Format::Cfx, None) => export::cfx::write_cfx(
            &store,
            &library,
            &scope,
            &options,
            BufWriter::new(io::stdout().lock()),
            &mut progress,
        ),
        (Format::Json, Some(p)) => to_file(p, |w| {
            export::json::write_json(&store, &library, &scope, &options, w, &mut progress)
        }),
        (Format::Cfx, Some(p)) => to_file(p, |w| {
            export::cfx::write_cfx(&store, &library, &scope, &options, w, &mut progress)
        }),
        (Format::Csv, Some(dir)) => {
            export::csv::write_csv(&store, &library, &scope, &options, dir, &mut progress)
        }
        (Format::Html, Some(dir)) => {
            export::html::write_html(&store, &library, &scope, &options, dir, &mut progress)
        }
        (Format::Csv | Format::Html, None) => Err(ExportError::Usage(
            "csv and html exports write a folder: give it with --out DIR".into(),
        )),
    };
    bar.bar.finish_and_clear();
    match result {
        Ok(s) => {
            let target = args
                .out
                .as_ref()
                .map_or("standard output".to_string(), |p| p.display().to_string());
            let what = if args.format == Format::Cfx {
                "messages"
            } else {
                "events"
            };
            eprintln!(
                "exported {} jobs ({} {what}, {} samples) to {target}",
                s.jobs, s.events, s.samples
            );
            Ok(0)
        }
        Err(e) => Ok(fail(&e)),
    }
}

pub fn run_history(args: HistoryArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let library = crate::core::library_with_archive(&store, &library(instructions));
    let h = match queries::board_history(&store, &library, &args.serial) {
        Ok(h) => h,
        Err(e) => return Ok(fail(&e)),
    };
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &h)?;
        writeln!(out)?;
        return Ok(0);
    }
    if h.jobs.is_empty() {
        writeln!(out, "no jobs on board {}", args.serial)?;
        return Ok(0);
    }
    writeln!(out, "Board {}: {} job(s)", h.serial, h.jobs.len())?;
    writeln!(
        out,
        "{:<14} {:<12} {:<10} {:<10} {:<24} {:<24} refdes / procedures",
        "job", "instruction", "status", "performer", "started", "finished"
    )?;
    for j in &h.jobs {
        writeln!(
            out,
            "{:<14} {:<12} {:<10} {:<10} {:<24} {:<24} {} / {}",
            j.job,
            format!("{} {}", j.instruction_id, j.instruction_rev),
            j.status.as_str(),
            j.performer,
            time_str(&j.started),
            j.finished.as_ref().map_or("—".to_string(), time_str),
            j.refdes.join(","),
            if j.procedures.is_empty() {
                "(instruction not in the library)".to_string()
            } else {
                j.procedures.join("; ")
            }
        )?;
    }
    writeln!(out, "\nRework cycles per location:")?;
    for c in &h.cycles {
        writeln!(
            out,
            "  {:<8} {}  ({})",
            c.refdes,
            c.cycles,
            c.jobs.join(", ")
        )?;
    }
    Ok(0)
}

pub fn run_where_used(args: WhereUsedArgs) -> anyhow::Result<i32> {
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let uses = match queries::where_used(&store, &args.lot) {
        Ok(u) => u,
        Err(e) => return Ok(fail(&e)),
    };
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &uses)?;
        writeln!(out)?;
        return Ok(0);
    }
    if uses.is_empty() {
        writeln!(out, "lot {} is not recorded on any job", args.lot)?;
        return Ok(0);
    }
    let mut boards: Vec<&str> = uses.iter().map(|u| u.serial.as_str()).collect();
    boards.sort_unstable();
    boards.dedup();
    writeln!(
        out,
        "Lot {}: {} use(s) on {} board(s)",
        args.lot,
        uses.len(),
        boards.len()
    )?;
    writeln!(
        out,
        "{:<16} {:<14} {:>4}  {:<16} {:<24} status",
        "serial", "job", "step", "material", "time"
    )?;
    for u in &uses {
        writeln!(
            out,
            "{:<16} {:<14} {:>4}  {:<16} {:<24} {}",
            u.serial,
            u.job,
            step_no(u.step),
            u.material,
            time_str(&u.time),
            u.status.as_str()
        )?;
    }
    Ok(0)
}

/// `traveler verify --export FILE`: 0 when every hash, link and seal holds and every
/// job summary follows from its records; 1 at the first record that does not hold; 3
/// when the records hold but a job summary differs from this traveler's fold of them
/// (a separate check: the summary is not hashed).
pub fn run_verify_export(file: &Path) -> anyhow::Result<i32> {
    let f = match File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Ok(1);
        }
    };
    match export::verify_json_export(f) {
        Ok(r) => match &r.failure {
            None => {
                let head = r
                    .head
                    .as_ref()
                    .map_or(String::new(), |(s, h)| format!(", chain head {s} {h}"));
                println!(
                    "OK: {} jobs, {} events, {} samples{head}",
                    r.jobs, r.events, r.samples
                );
                match &r.store {
                    Some(id) => println!("exported from {id}"),
                    None => println!("exported from a store that recorded no identity (format 3)"),
                }
                if r.newer > 0 {
                    println!(
                        "NOTE: {} records were written by a newer traveler: their hashes hold, \
                         their jobs ({}) were not re-folded",
                        r.newer, r.refold.skipped
                    );
                }
                match &r.refold.first {
                    None => {
                        println!(
                            "re-fold: {} job summaries follow from their records",
                            r.refold.matched
                        );
                        if r.refold.older > 0 {
                            println!(
                                "({} of them were written by an older fold: this traveler's \
                                 fold adds fields they lack and agrees on every field they have)",
                                r.refold.older
                            );
                        }
                        Ok(0)
                    }
                    Some(f) => {
                        println!(
                            "RE-FOLD DIFFERS for {} job(s), first {f}. The records and hashes \
                             hold; the readable summary does not follow from them as this \
                             traveler folds them (it was edited, or written by a traveler that \
                             folds differently)",
                            r.refold.differing
                        );
                        Ok(3)
                    }
                }
            }
            Some(f) => {
                println!("FAILED {f}");
                Ok(1)
            }
        },
        Err(e) => {
            println!("FAILED {}: {e}", file.display());
            Ok(1)
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ReviewsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreDir,
}

/// `traveler reviews`: the jobs waiting for a supervisor, oldest first.
pub fn run_reviews(args: ReviewsArgs) -> anyhow::Result<i32> {
    let store = match open(&args.store) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let open = match queries::open_reviews(&store) {
        Ok(o) => o,
        Err(e) => return Ok(fail(&e)),
    };
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &open)?;
        writeln!(out)?;
        return Ok(0);
    }
    if open.is_empty() {
        writeln!(out, "no job is waiting for review")?;
        return Ok(0);
    }
    writeln!(out, "{} job(s) waiting for review:", open.len())?;
    for r in &open {
        let when = r
            .submitted
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        writeln!(
            out,
            "  {when}  {}  board {}  {}  by {}",
            r.job, r.serial, r.instruction_id, r.performer
        )?;
    }
    Ok(0)
}
