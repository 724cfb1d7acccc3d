//! `traveler export --hub URL --format json|csv|cfx|html`: the traceability record of
//! every bench the hub holds, through the bench's own export writers.
//!
//! For each store the hub holds (in bench, store id order):
//! 1. the hub's own check of the chain (`/v1/verify`): a store whose copy fails it,
//!    with a recorded fork, or whose samples have not all arrived is named and left
//!    out, never exported silently;
//! 2. its records, verbatim, and its sample blocks, as a traveler backup
//!    (`hub::backup`), into a private temporary folder (0700, removed afterwards);
//! 3. `Store::restore_scratch` replays it into a scratch store there, checking every
//!    hash and link again on this PC and every sample block against its seal (a store
//!    that fails is named and left out), keeping no high-water mark;
//! 4. the bench's own export (`cli::export::export_to`, with every filter of the
//!    bench's export) runs on that store, exactly as it runs at the bench.
//!
//! Why a scratch store rather than folding the hub's records directly: the writers
//! read a `Store` (scope, job folds, samples by stream, the archived instruction
//! texts, the roster), so the shop export is each bench's own export byte for byte,
//! and a new export format or a fix in one reaches both. The filters never narrow
//! what is fetched: a chain can only be verified from its first record.
//!
//! How the parts come together (the bench named on every row or record):
//! - json: one document, `{"traveler_shop_export":1, "hub":…, "benches":[{"bench",
//!   "store_id", "export": <that bench's own export, verbatim>}…], "not_exported":[…],
//!   "counts":{…}}`; each embedded export verifies on its own
//!   (`traveler verify --export` checks them all);
//! - cfx: one JSON array of every bench's envelopes, each with its bench's handle as
//!   `Source`;
//! - csv: one folder with the bench's tables merged, `hub_bench` (the bench the hub
//!   enrolled) and `store_id` first on every row: a quality engineer filters or
//!   pivots one table rather than opening a folder per bench; job ids are unique per
//!   store only, so the two columns with `job` name a job. Not `bench`: `jobs.csv`
//!   has that column already, the bench name each job recorded when it started;
//! - html: one folder per bench (`BENCH/index.html` and one report per job) and
//!   `index.html` listing the benches, the stores left out among them.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::console::Console;
use crate::cli::export::{ExportArgs, Format, export_to, folder_for, looks_like_a_file, to_file};
use crate::export::html::esc;
use crate::export::{ExportError, ExportSummary, file_stem};
use crate::store::{OpenOptions, Store};

use super::cli::{HubArgs, OrHub, client_fail, hub_client, runtime};
use super::client::HubClient;
use super::wire::StoreVerdict;

pub const SHOP_EXPORT_VERSION: u32 = 1;

/// A private temporary folder, removed with everything in it when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> io::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut last = None;
        for _ in 0..16 {
            let p = base.join(format!(
                "traveler-shop-export-{:016x}",
                rand::random::<u64>()
            ));
            // Not recursive: a folder that exists already is someone else's.
            match fs::DirBuilder::new().mode(0o700).create(&p) {
                Ok(()) => {
                    crate::private_fs::restrict(&p)?;
                    return Ok(Scratch(p));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary folder")))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), "cannot remove the temporary folder: {e}");
        }
    }
}

/// A scratch copy lives for one export: write speed over disk space.
fn scratch_options() -> OpenOptions {
    OpenOptions {
        high_throughput: true,
        cache_capacity: 64 * 1024 * 1024,
        ..OpenOptions::default()
    }
}

/// A store left out, and why.
#[derive(Serialize, Clone, Debug)]
struct NotExported {
    bench: String,
    store_id: String,
    reason: String,
}

/// One store's part of the export.
struct Part {
    bench: String,
    store_id: String,
    /// Its folder name (html), unique among the parts.
    label: String,
    summary: ExportSummary,
}

#[derive(Serialize)]
struct Counts {
    benches: usize,
    jobs: u64,
    events: u64,
    samples: u64,
}

struct Shop<'a> {
    client: HubClient,
    rt: tokio::runtime::Runtime,
    scratch: Scratch,
    args: &'a ExportArgs,
    instructions: Option<&'a Path>,
    parts: Vec<Part>,
    left_out: Vec<NotExported>,
}

/// Folder names for the stores: the bench's name, with the store id's start when a
/// bench has more than one store.
fn labels(verdicts: &[StoreVerdict]) -> Vec<String> {
    verdicts
        .iter()
        .map(|v| {
            let several = verdicts.iter().filter(|o| o.bench == v.bench).count() > 1;
            if several {
                file_stem(&format!(
                    "{}-{}",
                    v.bench,
                    &v.store_id[..v.store_id.len().min(8)]
                ))
            } else {
                file_stem(&v.bench)
            }
        })
        .collect()
}

impl Shop<'_> {
    /// The hub's copy of store `v`, rebuilt and verified in the scratch folder, or
    /// why it is left out.
    fn open(&self, i: usize, v: &StoreVerdict) -> Result<(Store, PathBuf), String> {
        if let Some(fault) = &v.fault {
            return Err(format!("the hub's copy fails its check: {fault}"));
        }
        if let Some(seq) = v.fork_seq {
            // As `verify --hub` says: FAILED until the fork is resolved.
            return Err(format!(
                "a fork was offered at record {seq} (see `traveler hub forks`): the bench and \
                 the hub disagree about this chain"
            ));
        }
        if v.samples_pending > 0 {
            return Err(format!(
                "the samples of {} sealed step(s) have not reached the hub yet; export \
                 again after the bench's next sync",
                v.samples_pending
            ));
        }
        let file = self.scratch.0.join(format!("{i}.backup"));
        self.rt
            .block_on(self.client.store_backup(&v.store_id, &file))
            .map_err(|e| format!("cannot fetch it: {e}"))?;
        let dir = self.scratch.0.join(format!("{i}.store"));
        let restored = File::open(&file)
            .map_err(crate::store::StoreError::from)
            .and_then(|f| Store::restore_scratch(BufReader::new(f), &dir, scratch_options()));
        let _ = fs::remove_file(&file);
        match restored {
            Ok((store, counts)) => {
                tracing::info!(
                    bench = v.bench,
                    store_id = v.store_id,
                    events = counts.events,
                    samples = counts.samples,
                    "hub copy restored for export"
                );
                Ok((store, dir))
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(format!("its records do not verify on this PC: {e}"))
            }
        }
    }

    fn leave_out(&mut self, v: &StoreVerdict, reason: String) {
        eprintln!(
            "NOT EXPORTED: bench {} store {}: {reason}",
            v.bench, v.store_id
        );
        self.left_out.push(NotExported {
            bench: v.bench.clone(),
            store_id: v.store_id.clone(),
            reason,
        });
    }

    /// The bench's own export of `store` to `out` (a file or folder).
    fn export_one(&mut self, store: &Store, out: PathBuf) -> Result<ExportSummary, ExportError> {
        let args = ExportArgs {
            out: Some(out),
            bench: Vec::new(),
            ..self.args.clone()
        };
        let mut sink = io::sink();
        let mut err = io::stderr();
        let mut con = Console {
            out: &mut sink,
            err: &mut err,
            width: None,
            err_terminal: false,
        };
        export_to(store, &args, self.instructions, &mut con)
    }

    /// Runs `each` on every store that opens and verifies, then removes its copy.
    fn for_each(
        &mut self,
        verdicts: &[StoreVerdict],
        mut each: impl FnMut(
            &mut Self,
            usize,
            &StoreVerdict,
            &str,
            &Store,
        ) -> Result<ExportSummary, ExportError>,
    ) -> Result<(), ExportError> {
        let labels = labels(verdicts);
        for (i, v) in verdicts.iter().enumerate() {
            let (store, dir) = match self.open(i, v) {
                Ok(o) => o,
                Err(reason) => {
                    self.leave_out(v, reason);
                    continue;
                }
            };
            let result = each(self, i, v, &labels[i], &store);
            drop(store);
            let _ = fs::remove_dir_all(&dir);
            match result {
                Ok(summary) => {
                    eprintln!(
                        "bench {} store {}: {} jobs ({} {}, {} samples)",
                        v.bench,
                        v.store_id,
                        summary.jobs,
                        summary.events,
                        if self.args.format == Format::Cfx {
                            "messages"
                        } else {
                            "events"
                        },
                        summary.samples
                    );
                    self.parts.push(Part {
                        bench: v.bench.clone(),
                        store_id: v.store_id.clone(),
                        label: labels[i].clone(),
                        summary,
                    });
                }
                // Writing the output failed: nothing after it can be trusted.
                Err(e @ (ExportError::File { .. } | ExportError::Io(_))) => return Err(e),
                Err(e) => self.leave_out(v, format!("its export failed: {e}")),
            }
        }
        Ok(())
    }

    fn total(&self) -> ExportSummary {
        let mut t = ExportSummary::default();
        for p in &self.parts {
            t.jobs += p.summary.jobs;
            t.events += p.summary.events;
            t.samples += p.summary.samples;
        }
        t
    }
}

/// Copies `file` to `w`, without its trailing newline.
fn copy_trimmed(file: &Path, w: &mut dyn Write) -> io::Result<()> {
    let len = fs::metadata(file)?.len();
    let mut f = File::open(file)?;
    let mut end = [0u8; 1];
    let mut keep = len;
    while keep > 0 {
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(keep - 1))?;
        f.read_exact(&mut end)?;
        if !end[0].is_ascii_whitespace() {
            break;
        }
        keep -= 1;
    }
    use std::io::Seek;
    f.rewind()?;
    io::copy(&mut f.take(keep), w)?;
    Ok(())
}

fn write_json(
    shop: &mut Shop<'_>,
    verdicts: &[StoreVerdict],
    w: &mut dyn Write,
) -> Result<ExportSummary, ExportError> {
    write!(
        w,
        "{{\"traveler_shop_export\":{SHOP_EXPORT_VERSION},\"hub\":{},\"exported_at\":{},\"benches\":[",
        serde_json::to_string(shop.client.url())?,
        serde_json::to_string(&crate::export::time_str(&chrono::Utc::now()))?
    )?;
    let mut first = true;
    shop.for_each(verdicts, |shop, i, v, _, store| {
        let part = shop.scratch.0.join(format!("{i}.json"));
        let s = shop.export_one(store, part.clone())?;
        w.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        write!(
            w,
            "{{\"bench\":{},\"store_id\":{},\"export\":",
            serde_json::to_string(&v.bench)?,
            serde_json::to_string(&v.store_id)?
        )?;
        copy_trimmed(&part, w)?;
        w.write_all(b"}")?;
        let _ = fs::remove_file(&part);
        Ok(s)
    })?;
    let t = shop.total();
    w.write_all(b"\n],\"not_exported\":")?;
    serde_json::to_writer(&mut *w, &shop.left_out)?;
    w.write_all(b",\"counts\":")?;
    serde_json::to_writer(
        &mut *w,
        &Counts {
            benches: shop.parts.len(),
            jobs: t.jobs,
            events: t.events,
            samples: t.samples,
        },
    )?;
    w.write_all(b"}\n")?;
    w.flush()?;
    Ok(t)
}

fn write_cfx(
    shop: &mut Shop<'_>,
    verdicts: &[StoreVerdict],
    w: &mut dyn Write,
) -> Result<ExportSummary, ExportError> {
    w.write_all(b"[")?;
    let mut any = false;
    shop.for_each(verdicts, |shop, i, _, _, store| {
        let part = shop.scratch.0.join(format!("{i}.cfx.json"));
        let s = shop.export_one(store, part.clone())?;
        // A bench's array is "[", then "\n" or ",\n" before each envelope, then
        // "\n]\n": its envelopes are what lies between.
        let text = fs::read(&part)?;
        let _ = fs::remove_file(&part);
        let inner = text
            .strip_prefix(b"[")
            .and_then(|t| t.strip_suffix(b"\n]\n"))
            .ok_or_else(|| {
                ExportError::Usage("a bench's CFX export is not one JSON array".into())
            })?;
        if !inner.is_empty() {
            if any {
                w.write_all(b",")?;
            }
            w.write_all(inner)?;
            any = true;
        }
        Ok(s)
    })?;
    w.write_all(b"\n]\n")?;
    w.flush()?;
    Ok(shop.total())
}

/// One merged table: `hub_bench`, `store_id`, then the bench's own columns.
struct Merged {
    w: csv::Writer<BufWriter<File>>,
    header: Vec<String>,
}

fn write_csv(
    shop: &mut Shop<'_>,
    verdicts: &[StoreVerdict],
    dir: &Path,
) -> Result<ExportSummary, ExportError> {
    let file_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::File { path, source }
    };
    crate::private_fs::create_dir_all(dir).map_err(file_err(dir))?;
    let mut tables: Vec<(String, Merged)> = Vec::new();
    let mut files = Vec::new();
    shop.for_each(verdicts, |shop, i, v, _, store| {
        let part = shop.scratch.0.join(format!("{i}-csv"));
        let s = shop.export_one(store, part.clone())?;
        let bench = crate::export::csv::neutralise(&v.bench).into_owned();
        for f in &s.files {
            let Some(name) = f.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let mut r = csv::ReaderBuilder::new().has_headers(true).from_path(f)?;
            let header: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
            let at = match tables.iter().position(|(n, _)| *n == name) {
                Some(at) => at,
                None => {
                    let path = dir.join(&name);
                    let file = crate::private_fs::create_file(&path).map_err(file_err(&path))?;
                    let mut w =
                        csv::Writer::from_writer(BufWriter::with_capacity(256 * 1024, file));
                    let mut full = vec!["hub_bench".to_string(), "store_id".to_string()];
                    full.extend(header.iter().cloned());
                    w.write_record(&full)?;
                    files.push(path);
                    tables.push((
                        name.clone(),
                        Merged {
                            w,
                            header: header.clone(),
                        },
                    ));
                    tables.len() - 1
                }
            };
            let m = &mut tables[at].1;
            if m.header != header {
                return Err(ExportError::Usage(format!(
                    "table {name}: bench {} has other columns than the benches before it",
                    v.bench
                )));
            }
            for rec in r.records() {
                let rec = rec?;
                // The cells come neutralised from the bench's writer already.
                m.w.write_field(&bench)?;
                m.w.write_field(&v.store_id)?;
                for cell in rec.iter() {
                    m.w.write_field(cell)?;
                }
                m.w.write_record(None::<&[u8]>)?;
            }
        }
        let _ = fs::remove_dir_all(&part);
        Ok(s)
    })?;
    for (_, m) in &mut tables {
        m.w.flush()?;
    }
    let mut t = shop.total();
    t.files = files;
    Ok(t)
}

fn write_html(
    shop: &mut Shop<'_>,
    verdicts: &[StoreVerdict],
    dir: &Path,
) -> Result<ExportSummary, ExportError> {
    let file_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::File { path, source }
    };
    crate::private_fs::create_dir_all(dir).map_err(file_err(dir))?;
    shop.for_each(verdicts, |shop, _, _, label, store| {
        shop.export_one(store, dir.join(label))
    })?;
    let index = dir.join("index.html");
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Traveler reports: every bench</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #999;padding:.3em .6em;text-align:left}\
         td.n{text-align:right}.fail{color:#a00;font-weight:bold}</style></head><body>\n\
         <h1>Traveler reports: every bench</h1>\n",
    );
    h.push_str(&format!(
        "<p>From the hub {} at {} (UTC). Each bench's reports are in its own folder.</p>\n\
         <table><tr><th>Bench</th><th>Store</th><th>Jobs</th><th>Events</th></tr>\n",
        esc(shop.client.url()),
        esc(&crate::export::html::when(&chrono::Utc::now()))
    ));
    for p in &shop.parts {
        h.push_str(&format!(
            "<tr><td><a href=\"{}/index.html\">{}</a></td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>\n",
            esc(&p.label),
            esc(&p.bench),
            esc(&p.store_id),
            p.summary.jobs,
            p.summary.events
        ));
    }
    for n in &shop.left_out {
        h.push_str(&format!(
            "<tr class=\"fail\"><td>{}</td><td>{}</td><td colspan=\"2\">NOT EXPORTED: {}</td></tr>\n",
            esc(&n.bench),
            esc(&n.store_id),
            esc(&n.reason)
        ));
    }
    h.push_str("</table>\n</body></html>\n");
    crate::private_fs::create_file(&index)
        .and_then(|mut f| f.write_all(h.as_bytes()))
        .map_err(file_err(&index))?;
    let mut t = shop.total();
    t.files = vec![index];
    Ok(t)
}

/// `traveler export --hub URL …`. Exit 0: every store the hub holds exported; 1: a
/// store was left out (each named) or the export failed; 2: the hub is unreachable.
pub fn run(a: OrHub<ExportArgs>, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let args = &a.local;
    match (args.format, &args.out) {
        (Format::Csv | Format::Html, None) => {
            eprintln!("error: csv and html exports write a folder: give it with --out DIR");
            return Ok(1);
        }
        (Format::Csv | Format::Html, Some(dir)) if looks_like_a_file(dir) => {
            eprintln!(
                "error: {} exports write a folder of files; {} names a file: give a folder, \
                 e.g. --out {}",
                args.format.name(),
                dir.display(),
                folder_for(dir).display()
            );
            return Ok(1);
        }
        _ => {}
    }
    run_with(&a.hub, args, instructions)
}

fn run_with(hub: &HubArgs, args: &ExportArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let client = match hub_client(hub) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rt = runtime()?;
    let mut verdicts = match rt.block_on(client.verify()) {
        Ok(v) => v,
        Err(e) => return Ok(client_fail(&e)),
    };
    verdicts.sort_by(|a, b| (&a.bench, &a.store_id).cmp(&(&b.bench, &b.store_id)));
    if !args.bench.is_empty() {
        let unknown: Vec<&str> = args
            .bench
            .iter()
            .filter(|b| !verdicts.iter().any(|v| v.bench == **b))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let mut held: Vec<&str> = verdicts.iter().map(|v| v.bench.as_str()).collect();
            held.dedup();
            eprintln!(
                "error: the hub holds no store of bench {} (it holds: {})",
                unknown.join(", "),
                if held.is_empty() {
                    "none".to_string()
                } else {
                    held.join(", ")
                }
            );
            return Ok(1);
        }
        verdicts.retain(|v| args.bench.contains(&v.bench));
    }
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot create a temporary folder: {e}");
            return Ok(1);
        }
    };
    // Interrupted (Ctrl-C, or stopped), the copies go too: they hold whole chains.
    let doomed = scratch.0.clone();
    // to_file's half-written file, when there is one.
    let half = match (args.format, &args.out) {
        (Format::Json | Format::Cfx, Some(p)) => {
            let mut t = p.as_os_str().to_owned();
            t.push(".tmp");
            Some(PathBuf::from(t))
        }
        _ => None,
    };
    rt.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let _ = fs::remove_dir_all(&doomed);
        if let Some(h) = &half {
            let _ = fs::remove_file(h);
        }
        eprintln!("interrupted: the temporary copies are removed; the export is not complete");
        std::process::exit(130);
    });
    let mut shop = Shop {
        client,
        rt,
        scratch,
        args,
        instructions,
        parts: Vec::new(),
        left_out: Vec::new(),
    };
    let result = match (args.format, &args.out) {
        (Format::Json, Some(p)) => to_file(p, |w| write_json(&mut shop, &verdicts, w)),
        (Format::Cfx, Some(p)) => to_file(p, |w| write_cfx(&mut shop, &verdicts, w)),
        (Format::Json, None) => write_json(
            &mut shop,
            &verdicts,
            &mut BufWriter::new(io::stdout().lock()),
        ),
        (Format::Cfx, None) => write_cfx(
            &mut shop,
            &verdicts,
            &mut BufWriter::new(io::stdout().lock()),
        ),
        (Format::Csv, Some(dir)) => write_csv(&mut shop, &verdicts, dir),
        (Format::Html, Some(dir)) => write_html(&mut shop, &verdicts, dir),
        (Format::Csv | Format::Html, None) => Err(ExportError::Usage(
            "csv and html exports write a folder: give it with --out DIR".into(),
        )),
    };
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    let target = args
        .out
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    eprintln!(
        "exported {} jobs ({} {}, {} samples) of {} store(s) at {} to {target}",
        s.jobs,
        s.events,
        if args.format == Format::Cfx {
            "messages"
        } else {
            "events"
        },
        s.samples,
        shop.parts.len(),
        shop.client.url()
    );
    if args.format == Format::Csv {
        let names: Vec<String> = s
            .files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        eprintln!(
            "tables: {} (hub_bench and store_id first on every row)",
            names.join(", ")
        );
    }
    if shop.left_out.is_empty() {
        Ok(0)
    } else {
        eprintln!(
            "INCOMPLETE: {} store(s) not exported (named above)",
            shop.left_out.len()
        );
        Ok(1)
    }
}
