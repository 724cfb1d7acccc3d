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

use crate::export::{self, ExportError, ExportOptions, ExportSummary, Scope, queries, step_no};
use crate::instruction::{Library, load_dir};
use crate::store::{Store, StoreError};

use super::console::Console;
use super::store::{StoreDir, exit_code};
use super::table::CliTable;

/// A time in a table, to the minute, in UTC (the column says so).
fn minutes(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Format {
    Json,
    Csv,
    Cfx,
    Html,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// With --hub: only the stores of these benches (repeat, or comma-separated).
    #[arg(long, value_name = "BENCH", value_delimiter = ',')]
    #[serde(default)]
    pub bench: Vec<String>,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HistoryArgs {
    /// The board's serial number.
    pub serial: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreDir,
    /// What the configured hub answered about the board, asked before the store
    /// is read (by `main`, so the running application never waits on it).
    #[arg(skip)]
    #[serde(default)]
    pub shop: Option<crate::domain::board::HubAnswer>,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
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

/// What these commands say when the store cannot be opened (exit 2 when the store
/// itself cannot be used).
pub fn open_failed(e: &StoreError, err: &mut dyn Write) -> i32 {
    let _ = writeln!(err, "error: {e}");
    exit_code(e)
}

fn fail(e: &ExportError, err: &mut dyn Write) -> i32 {
    let _ = writeln!(err, "error: {e}");
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
    /// `terminal`: the caller's standard error is a terminal. The bar is drawn on
    /// this process's standard error, so a command the bench application answers
    /// passes `false` (its terminal is the application's screen).
    fn new(total: u64, terminal: bool) -> Bar {
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
            terminal: terminal && io::stderr().is_terminal(),
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
pub(crate) fn to_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> export::Result<ExportSummary>,
) -> export::Result<ExportSummary> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = crate::private_fs::create_file(&tmp).map_err(|source| ExportError::File {
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

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Cfx => "cfx",
            Format::Html => "html",
        }
    }
}

/// `--out all.csv` for a folder export: a name a person means as one file, which
/// would otherwise silently become a folder of that name.
pub(crate) fn looks_like_a_file(path: &Path) -> bool {
    !path.is_dir()
        && path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["csv", "html", "htm", "json", "txt"].contains(&e.to_ascii_lowercase().as_str())
        })
}

/// `all.csv` -> `all-csv`: the folder to suggest instead.
pub(crate) fn folder_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().replace('.', "-"))
        .unwrap_or_else(|| "export".into());
    path.with_file_name(name)
}

/// Writes the export `args` asks for and returns what it wrote (no message): the
/// bench's export, and each bench's part of a shop-wide one (`hub::export`).
pub(crate) fn export_to(
    store: &Store,
    args: &ExportArgs,
    instructions: Option<&Path>,
    con: &mut Console<'_>,
) -> export::Result<ExportSummary> {
    if !args.bench.is_empty() {
        return Err(ExportError::Usage(format!(
            "--bench chooses among the benches of a shop-wide export (--hub URL); this \
             store is bench {}'s",
            store.identity().bench
        )));
    }
    let store = store.clone();
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
    let total = scope.count(&store)?;
    let mut bar = Bar::new(total, con.err_terminal);
    let mut progress = |n: u64| bar.tick(n);
    let result = match (args.format, &args.out) {
        (Format::Csv | Format::Html, Some(dir)) if looks_like_a_file(dir) => {
            Err(ExportError::Usage(format!(
                "{} exports write a folder of files (csv: {}); {} names a file: give a folder, \
                 e.g. --out {}",
                args.format.name(),
                export::csv::TABLES.join(", "),
                dir.display(),
                folder_for(dir).display()
            )))
        }
        (Format::Json, None) => export::json::write_json(
            &store,
            &library,
            &scope,
            &options,
            BufWriter::new(&mut *con.out),
            &mut progress,
        ),
        (Format::Cfx, None) => export::cfx::write_cfx(
            &store,
            &library,
            &scope,
            &options,
            BufWriter::new(&mut *con.out),
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
    result
}

/// `traveler export` on an open store (this process's, or the running bench
/// application's answering over its socket: the same bytes either way).
pub fn export(
    store: &Store,
    args: &ExportArgs,
    instructions: Option<&Path>,
    con: &mut Console<'_>,
) -> anyhow::Result<i32> {
    let result = export_to(store, args, instructions, con);
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
            writeln!(
                con.err,
                "exported {} jobs ({} {what}, {} samples) to {target}",
                s.jobs, s.events, s.samples
            )?;
            if args.format == Format::Csv {
                let names: Vec<String> = s
                    .files
                    .iter()
                    .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect();
                writeln!(con.err, "tables: {}", names.join(", "))?;
            }
            Ok(0)
        }
        Err(e) => Ok(fail(&e, con.err)),
    }
}

/// `traveler history SERIAL` on an open store.
pub fn history(
    store: &Store,
    args: &HistoryArgs,
    instructions: Option<&Path>,
    con: &mut Console<'_>,
) -> anyhow::Result<i32> {
    let library = crate::core::library_with_archive(store, &library(instructions));
    let h = match &args.shop {
        // With a hub: counted as the rework-cycle limits count (every bench's jobs,
        // each once), saying where.
        Some(answer) => {
            let core = crate::core::Core::new(
                store.clone(),
                std::sync::Arc::new(library.clone()),
                &store.identity().bench,
            );
            let counted = match core.count_board(args.serial.trim(), answer.clone()) {
                Ok(c) => c,
                Err(e) => {
                    writeln!(con.err, "error: {e}")?;
                    return Ok(1);
                }
            };
            queries::counted_board_history(store, &library, &counted)
        }
        None => queries::board_history(store, &library, &args.serial),
    };
    let h = match h {
        Ok(h) => h,
        Err(e) => return Ok(fail(&e, con.err)),
    };
    let out = &mut *con.out;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &h)?;
        writeln!(out)?;
        return Ok(0);
    }
    if h.jobs.is_empty() {
        writeln!(out, "no jobs on board {}", args.serial)?;
        if let Some(scope) = &h.scope {
            writeln!(out, "{scope}")?;
        }
        return Ok(0);
    }
    writeln!(out, "Board {}: {} job(s)", h.serial, h.jobs.len())?;
    // Asked of the hub too: where it was counted, and each job's bench.
    let shop = h.scope.is_some();
    if let Some(scope) = &h.scope {
        writeln!(out, "{scope}")?;
    }
    let headers = [
        "bench",
        "job",
        "instruction",
        "status",
        "performer",
        "started (UTC)",
        "finished (UTC)",
        "refdes",
        "procedures",
    ];
    let mut jobs = CliTable::new(if shop { &headers[..] } else { &headers[1..] });
    for j in &h.jobs {
        let row = [
            j.bench.clone().unwrap_or_else(|| "this bench".into()),
            j.job.clone(),
            format!("{} rev {}", j.instruction_id, j.instruction_rev),
            j.status.as_str().replace('_', " "),
            j.performer.clone(),
            minutes(&j.started),
            j.finished.as_ref().map_or("—".to_string(), minutes),
            j.refdes.join(", "),
            if j.procedures.is_empty() {
                "(instruction not in the library)".to_string()
            } else {
                j.procedures.join("; ")
            },
        ];
        jobs.row(row.into_iter().skip(usize::from(!shop)));
    }
    jobs.write_width(out, con.width)?;
    writeln!(out, "\nRework cycles per location:")?;
    let mut cycles = CliTable::new(&["refdes", "cycles", "jobs"]).right(&[1]);
    for c in &h.cycles {
        cycles.row([c.refdes.clone(), c.cycles.to_string(), c.jobs.join(", ")]);
    }
    cycles.write_width(out, con.width)?;
    Ok(0)
}

/// `traveler where-used LOT` on an open store.
pub fn where_used(
    store: &Store,
    args: &WhereUsedArgs,
    con: &mut Console<'_>,
) -> anyhow::Result<i32> {
    let uses = match queries::where_used(store, &args.lot) {
        Ok(u) => u,
        Err(e) => return Ok(fail(&e, con.err)),
    };
    let out = &mut *con.out;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &uses)?;
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
    let mut spelled: Vec<&str> = uses.iter().map(|u| u.lot.as_str()).collect();
    spelled.sort_unstable();
    spelled.dedup();
    let recorded = if spelled == [args.lot.as_str()] {
        String::new()
    } else {
        format!(" (recorded as {})", spelled.join(", "))
    };
    writeln!(
        out,
        "Lot {}{recorded}: {} use(s) on {} board(s)",
        args.lot,
        uses.len(),
        boards.len()
    )?;
    let mut t = CliTable::new(&[
        "serial",
        "job",
        "step",
        "material",
        "lot",
        "expiry",
        "used (UTC)",
        "status",
    ])
    .right(&[2]);
    for u in &uses {
        t.row([
            u.serial.clone(),
            u.job.clone(),
            step_no(u.step).to_string(),
            u.material.clone(),
            u.lot.clone(),
            u.expiry.map_or("—".to_string(), |d| d.to_string()),
            minutes(&u.time),
            u.status.as_str().replace('_', " "),
        ]);
    }
    t.write_width(out, con.width)?;
    Ok(0)
}

/// `traveler verify --export FILE`: 0 when every hash, link and seal holds and every
/// job summary follows from its records; 1 at the first record that does not hold; 3
/// when the records hold but a job summary differs from this traveler's fold of them
/// (a separate check: the summary is not hashed).
pub fn run_verify_export(file: &Path) -> anyhow::Result<i32> {
    let mut f = match File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Ok(1);
        }
    };
    let mut start = [0u8; 64];
    let n = io::Read::read(&mut f, &mut start).unwrap_or(0);
    if start[..n].starts_with(b"{\"traveler_shop_export\"") {
        return verify_shop_export(file);
    }
    if let Err(e) = io::Seek::rewind(&mut f) {
        eprintln!("error: cannot read {}: {e}", file.display());
        return Ok(1);
    }
    verify_one_export(f, &file.display().to_string())
}

/// One bench's part of a shop-wide JSON export (`traveler export --hub`).
#[derive(serde::Deserialize)]
struct ShopPart {
    bench: String,
    store_id: String,
    export: Box<serde_json::value::RawValue>,
}

#[derive(serde::Deserialize)]
struct NotExported {
    bench: String,
    store_id: String,
    reason: String,
}

#[derive(serde::Deserialize)]
struct PartStore {
    store: Option<crate::store::StoreIdentity>,
}

/// 1 (a record does not hold) outranks 3 (a summary differs).
fn worse(a: i32, b: i32) -> i32 {
    match (a, b) {
        (1, _) | (_, 1) => 1,
        (a, b) => a.max(b),
    }
}

/// Verifies one bench's part as it is read: it must be of the store it is named for.
fn verify_part(part: &ShopPart) -> io::Result<i32> {
    println!("bench {} store {}:", part.bench, part.store_id);
    let named = serde_json::from_str::<PartStore>(part.export.get())
        .ok()
        .and_then(|p| p.store)
        .map(|s| s.store_id);
    if named.as_deref() != Some(part.store_id.as_str()) {
        println!(
            "FAILED bench {}: its export is of store {}, not {}",
            part.bench,
            named.as_deref().unwrap_or("(none named)"),
            part.store_id
        );
        return Ok(1);
    }
    verify_one_export(
        part.export.get().as_bytes(),
        &format!("bench {}", part.bench),
    )
    .map_err(io::Error::other)
}

/// What a shop-wide export held, read one bench's part at a time (memory stays at
/// one bench's export however many benches the shop has).
#[derive(Default)]
struct ShopVerdict {
    parts: usize,
    worst: i32,
    not_exported: Vec<NotExported>,
    saw_benches: bool,
}

struct ShopVisitor<'a>(&'a mut ShopVerdict);

impl<'de> serde::de::Visitor<'de> for ShopVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a shop-wide traveler export")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "benches" => {
                    self.0.saw_benches = true;
                    map.next_value_seed(PartsSeed(&mut *self.0))?;
                }
                "not_exported" => self.0.not_exported = map.next_value()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        if !self.0.saw_benches {
            return Err(A::Error::missing_field("benches"));
        }
        Ok(())
    }
}

struct PartsSeed<'a>(&'a mut ShopVerdict);

impl<'de> serde::de::DeserializeSeed<'de> for PartsSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PartsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of bench exports")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(part) = seq.next_element::<ShopPart>()? {
            let code = verify_part(&part).map_err(A::Error::custom)?;
            self.0.worst = worse(self.0.worst, code);
            self.0.parts += 1;
        }
        Ok(())
    }
}

/// `verify --export` of a shop-wide JSON export: every bench's embedded export is
/// verified on its own (its bytes, verbatim) and must be of the store it is named
/// for; the result is the worst of them, and 1 when the export says stores were
/// left out of it.
fn verify_shop_export(file: &Path) -> anyhow::Result<i32> {
    let f = match File::open(file) {
        Ok(f) => f,
        Err(e) => {
            println!("FAILED {}: {e}", file.display());
            return Ok(1);
        }
    };
    let mut verdict = ShopVerdict::default();
    let mut de = serde_json::Deserializer::from_reader(io::BufReader::with_capacity(1 << 20, f));
    let read = serde::Deserializer::deserialize_map(&mut de, ShopVisitor(&mut verdict))
        .and_then(|()| de.end());
    if let Err(e) = read {
        println!(
            "FAILED {}: not a whole shop-wide export ({e})",
            file.display()
        );
        return Ok(1);
    }
    let mut worst = verdict.worst;
    println!("{} bench export(s) in {}", verdict.parts, file.display());
    for n in &verdict.not_exported {
        println!(
            "NOT IN THIS EXPORT: bench {} store {}: {}",
            n.bench, n.store_id, n.reason
        );
        worst = 1;
    }
    Ok(worst)
}

/// `what`: the file, or the bench of a shop-wide export, for a document that cannot
/// be read at all.
fn verify_one_export(f: impl io::Read, what: &str) -> anyhow::Result<i32> {
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
            println!("FAILED {what}: {e}");
            Ok(1)
        }
    }
}

#[derive(clap::Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReviewsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreDir,
}

/// `traveler reviews`: the jobs waiting for a supervisor, oldest first.
pub fn reviews(store: &Store, args: &ReviewsArgs, con: &mut Console<'_>) -> anyhow::Result<i32> {
    let open = match queries::open_reviews(store) {
        Ok(o) => o,
        Err(e) => return Ok(fail(&e, con.err)),
    };
    let out = &mut *con.out;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &open)?;
        writeln!(out)?;
        return Ok(0);
    }
    if open.is_empty() {
        writeln!(out, "no job is waiting for review")?;
        return Ok(0);
    }
    writeln!(out, "{} job(s) waiting for review:", open.len())?;
    let mut t = CliTable::new(&[
        "submitted (UTC)",
        "job",
        "board",
        "instruction",
        "performer",
    ]);
    for r in &open {
        t.row([
            r.submitted.as_ref().map_or(String::new(), minutes),
            r.job.clone(),
            r.serial.clone(),
            r.instruction_id.clone(),
            r.performer.clone(),
        ]);
    }
    t.write_width(out, con.width)?;
    Ok(0)
}
