//! `traveler instructions`: work instructions as controlled documents. An engineer
//! releases a revision (its exact bytes go into the store, once per hash); the bench
//! then starts jobs only on released revisions (policy.toml `[release]`).
//! Every release and every refusal goes through the core like any other command.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::store::{StoreDir, exit_code, open_existing_store};
use super::table::CliTable;
use crate::core::{Core, Credentials, Request, RequestId, archived_instruction};
use crate::domain::command::{Command, NewRelease};
use crate::domain::release::{ReleaseBook, Released, Standing, start_refusal};
use crate::hub::cli::HubArgs;
use crate::instruction::release::diff;
use crate::instruction::schema::WorkInstructionFile;
use crate::instruction::{Library, Loaded, check_text, load_dir};
use crate::store::Store;

const HELP: &str = "\
Workflow:
  1. Edit or add a file in the instructions folder; raise its `revision`.
  2. traveler instructions status          which files are draft or changed since release
  3. traveler instructions release instructions/WI-CHIP-001.toml --by E700 --reason ECO-0042
     checks the file as `traveler check` does (refused with file:line:col on
     problems), shows what changed against the released revision, asks for the
     reason or ECO reference and the engineer's PIN, and records the release:
     the file's exact bytes, id, revision, hash, time, releaser, reason, origin.
  4. The bench starts new jobs on the released revision only; a job started on
     the revision before finishes on it, and its record says so.

  Only people with the engineer role release (`traveler people update BADGE
  --role engineer,... --admin A`); anybody else is refused and the refusal is
  recorded. PINs are asked without echo, or read from standard input with
  --pin-stdin (then give --reason).
  Shops that do not control documents at the bench set `require_release = false`
  under `[release]` in policy.toml.

Releasing at the shop hub (once for every bench):
  traveler instructions release FILE --hub URL --hub-token TOKEN --by E700 --reason ECO-0042
     the file is checked here first (file:line:col, before any PIN), the diff is
     against the revision released at the hub, the PIN is checked at the hub and
     the release is recorded in the hub's chain. Every bench takes it at its next
     contact with the hub, after checking the text against the release's hash.
  traveler instructions status --hub URL   the hub's releases against this folder";

#[derive(Args, Debug)]
#[command(after_long_help = HELP)]
pub struct InstructionsArgs {
    #[command(subcommand)]
    pub command: InstructionsCommand,
    #[command(flatten)]
    pub store: StoreDir,
}

#[derive(Subcommand, Debug)]
pub enum InstructionsCommand {
    /// Release a work instruction file (engineer badge and PIN): checked, diffed
    /// against the released revision, recorded with its exact bytes.
    #[command(after_long_help = HELP)]
    Release {
        file: PathBuf,
        /// The engineer's badge; the PIN is asked for.
        #[arg(long, value_name = "BADGE")]
        by: String,
        /// Why: the change and its ECO or other reference (asked when not given).
        #[arg(long)]
        reason: Option<String>,
        /// Read the PIN from standard input (one line) instead of the terminal.
        #[arg(long)]
        pin_stdin: bool,
        /// Release at the shop hub (for every bench) instead of in this store.
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Each instruction's released revision, who released it and when (here or at
    /// the hub); files that are draft (never released) or changed since release.
    Status {
        /// The releases of the shop hub instead of this store's.
        #[command(flatten)]
        hub: HubArgs,
    },
    /// What changed between two released revisions of an instruction.
    Diff {
        id: String,
        rev1: String,
        rev2: String,
    },
    /// Print the released text of an instruction (the revision in force, or --rev).
    Show {
        id: String,
        #[arg(long)]
        rev: Option<String>,
    },
}

/// `--instructions`, else the configuration file's folder, else ./instructions.
fn folder(instructions: Option<&Path>) -> PathBuf {
    match instructions {
        Some(d) => d.to_path_buf(),
        None => crate::config::default_config_path()
            .filter(|p| p.is_file())
            .and_then(|p| crate::config::AppConfig::load(&p).ok())
            .and_then(|c| c.instructions)
            .unwrap_or_else(|| PathBuf::from("instructions")),
    }
}

pub fn run(args: InstructionsArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    // At the hub: no bench store is read or needed (an engineer's PC has none).
    match &args.command {
        InstructionsCommand::Release {
            file,
            by,
            reason,
            pin_stdin,
            hub,
        } if hub.hub.is_some() => {
            let loaded = load_dir(&folder(instructions));
            let out = &mut std::io::stdout().lock();
            let result = hub_release(
                hub,
                loaded.library,
                file,
                by,
                reason.clone(),
                *pin_stdin,
                out,
            );
            return finish(result);
        }
        InstructionsCommand::Status { hub } if hub.hub.is_some() => {
            let loaded = load_dir(&folder(instructions));
            let out = &mut std::io::stdout().lock();
            return finish(hub_status(hub, &loaded, out));
        }
        _ => {}
    }
    let store = match open_existing_store(&args.store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(exit_code(&e));
        }
    };
    let loaded = load_dir(&folder(instructions));
    let out = &mut std::io::stdout().lock();
    let result = match args.command {
        InstructionsCommand::Release {
            file,
            by,
            reason,
            pin_stdin,
            ..
        } => release(&store, loaded.library, &file, &by, reason, pin_stdin, out),
        InstructionsCommand::Status { .. } => status(&store, &loaded, out),
        InstructionsCommand::Diff { id, rev1, rev2 } => {
            diff_revisions(&store, &id, &rev1, &rev2, out)
        }
        InstructionsCommand::Show { id, rev } => show(&store, &id, rev.as_deref(), out),
    };
    finish(result)
}

/// The exit code of a sub-command's result: a closed pipe is no failure.
fn finish(result: anyhow::Result<i32>) -> anyhow::Result<i32> {
    match result {
        Ok(code) => Ok(code),
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(0)
        }
        Err(e) => {
            eprintln!("traveler: {e:#}");
            Ok(1)
        }
    }
}

fn book(store: &Store) -> anyhow::Result<ReleaseBook> {
    store
        .releases()
        .context("cannot read the instruction releases")
}

/// The released text of `r`, parsed.
fn released_spec(store: &Store, r: &Released) -> anyhow::Result<(String, WorkInstructionFile)> {
    let a = store.archived_instruction(&r.hash)?.with_context(|| {
        format!(
            "the text of {} rev {} (sha256 {}) is not in the store",
            r.instruction_id,
            r.revision,
            short(&r.hash)
        )
    })?;
    if !crate::domain::release::text_matches(&r.hash, &a.text) {
        bail!(
            "the stored text of {} rev {} (record {}) does not hash to the release's sha256 {}: run `traveler verify`",
            r.instruction_id,
            r.revision,
            a.seq,
            short(&r.hash)
        );
    }
    let ins = archived_instruction(&a).map_err(anyhow::Error::msg)?;
    Ok((a.text, ins.spec))
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A file read and checked as `traveler check` checks it, before any PIN is asked.
struct Checked {
    text: String,
    file_name: String,
    ins: crate::instruction::Instruction,
}

/// Reads and checks `file`; `Err(code)` after printing the problems (file:line:col).
fn check_file(library: &Library, file: &Path) -> anyhow::Result<Result<Checked, i32>> {
    if library.policy.is_none() {
        bail!(
            "{} has no valid policy.toml: run `traveler check {}`",
            library.dir.display(),
            library.dir.display()
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}:1:1: the file is not UTF-8 text", file.display()))?;
    // `traveler check`'s rules, before anybody types a PIN.
    let ins = match check_text(library, file, &text) {
        Ok(i) => i,
        Err(problems) => {
            eprintln!(
                "{} cannot be released: {} problem(s) found by `traveler check`:",
                file.display(),
                problems.len()
            );
            for p in &problems {
                eprintln!("{p}");
            }
            return Ok(Err(1));
        }
    };
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Ok(Checked {
        text,
        file_name,
        ins,
    }))
}

/// What changed against the revision in force (`current` and its parsed text).
fn show_changes(
    out: &mut dyn Write,
    ins: &crate::instruction::Instruction,
    current: Option<(&Released, &WorkInstructionFile)>,
) -> anyhow::Result<()> {
    match current {
        None => writeln!(
            out,
            "{} rev {} — {}: first release ({} step(s)); sha256 {}",
            ins.id(),
            ins.revision(),
            ins.spec.title,
            ins.spec.steps.len(),
            short(&ins.hash)
        )?,
        Some((c, old)) => {
            writeln!(
                out,
                "{} rev {} (sha256 {}) against the released rev {} (released {} by {}{}):",
                ins.id(),
                ins.revision(),
                short(&ins.hash),
                c.revision,
                when(&c.effective),
                c.by_name,
                if c.hub.is_some() || c.origin_store == crate::hub::release::HUB_ORIGIN {
                    " at the hub"
                } else {
                    ""
                }
            )?;
            let changes = diff(old, &ins.spec);
            if changes.is_empty() && c.hash != ins.hash {
                writeln!(
                    out,
                    "  no change the bench shows (comments or layout differ; the bytes do)"
                )?;
            }
            for ch in &changes {
                writeln!(out, "  {ch}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The reason (given, or asked on a terminal) and the PIN (no echo, or one line of
/// standard input with --pin-stdin).
pub(crate) fn reason_and_pin(
    by: &str,
    reason: Option<String>,
    pin_stdin: bool,
) -> anyhow::Result<(String, String)> {
    let reason = match reason {
        Some(r) => r,
        None if !pin_stdin && std::io::stdin().is_terminal() => {
            eprint!("Reason or ECO reference: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_string()
        }
        None => bail!("give the reason or ECO reference with --reason"),
    };
    let pin = if pin_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the PIN from standard input")?;
        if line.is_empty() {
            bail!("the PIN line is missing on standard input");
        }
        line.trim().to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for the PIN on: use --pin-stdin");
        }
        super::people::read_hidden(&format!("PIN for {by}: "))?
    };
    Ok((reason, pin))
}

#[allow(clippy::too_many_arguments)]
fn release(
    store: &Store,
    library: Library,
    file: &Path,
    by: &str,
    reason: Option<String>,
    pin_stdin: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let Checked {
        text,
        file_name,
        ins,
    } = match check_file(&library, file)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let releases = book(store)?;
    match releases.current(ins.id()) {
        None => show_changes(out, &ins, None)?,
        Some(c) => {
            let (_, old) = released_spec(store, c)?;
            show_changes(out, &ins, Some((c, &old)))?;
        }
    }
    let (reason, pin) = reason_and_pin(by, reason, pin_stdin)?;
    let core = Core::new(store.clone(), Arc::new(library), "");
    let answer = core.execute(Request {
        id: RequestId(1),
        by: by.to_string(),
        credentials: Some(Credentials {
            badge: by.to_string(),
            pin,
        }),
        command: Command::Release(Box::new(NewRelease {
            file_name,
            text,
            reason,
        })),
    });
    match answer.result {
        Ok(acc) => {
            for r in &acc.records {
                if let crate::domain::event::Event::InstructionReleased {
                    instruction_id,
                    revision,
                    hash,
                    by_name,
                    effective,
                    supersedes,
                    ..
                } = &r.event
                {
                    write!(
                        out,
                        "released {instruction_id} rev {revision} (sha256 {}) by {by_name}, effective {} (record {})",
                        short(hash),
                        when(effective),
                        r.seq
                    )?;
                    match supersedes {
                        Some(s) => writeln!(out, "; supersedes rev {}", s.revision)?,
                        None => writeln!(out)?,
                    }
                }
            }
            Ok(0)
        }
        Err(r) => {
            eprintln!("traveler: NOT released: {r}");
            Ok(1)
        }
    }
}

/// The hub's client for `--hub`, or the exit code after saying what is missing.
fn hub_client(hub: &HubArgs) -> Result<crate::hub::client::HubClient, i32> {
    crate::hub::cli::hub_client(hub)
}

/// The hub's releases folded into a book (each with its hub record), or the exit
/// code after saying why not (2: the hub was not reached).
fn hub_book(
    rt: &tokio::runtime::Runtime,
    client: &crate::hub::client::HubClient,
) -> Result<ReleaseBook, i32> {
    use crate::hub::release::SendError;
    match rt.block_on(crate::hub::release::list(client)) {
        Ok(list) => Ok(ReleaseBook::from_released(list)),
        Err(e) => {
            eprintln!("traveler: {e}");
            Err(if matches!(e, SendError::Unreachable { .. }) {
                2
            } else {
                1
            })
        }
    }
}

/// `instructions release FILE --hub URL`: checked here, decided and recorded at the hub.
#[allow(clippy::too_many_arguments)]
fn hub_release(
    hub: &HubArgs,
    library: Library,
    file: &Path,
    by: &str,
    reason: Option<String>,
    pin_stdin: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    use crate::hub::release::{ReleaseRequest, SendError};
    let Checked {
        text,
        file_name,
        ins,
    } = match check_file(&library, file)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let client = match hub_client(hub) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rt = crate::hub::cli::runtime()?;
    // The diff against the hub's revision in force, before the PIN is asked: an
    // unreachable hub is said now, not after the engineer typed it.
    let releases = match hub_book(&rt, &client) {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    match releases.current(ins.id()) {
        None => show_changes(out, &ins, None)?,
        Some(c) => {
            let old_text = match rt.block_on(crate::hub::release::text(&client, &c.hash)) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("traveler: {e}");
                    return Ok(if e.is_unreachable() { 2 } else { 1 });
                }
            };
            if !crate::domain::release::text_matches(&c.hash, &old_text) {
                bail!(
                    "the hub's text of {} rev {} does not hash to its release's sha256 {}: run `traveler verify --hub`",
                    c.instruction_id,
                    c.revision,
                    short(&c.hash)
                );
            }
            let old: WorkInstructionFile = toml::from_str(&old_text).with_context(|| {
                format!(
                    "the hub's text of {} rev {} does not read as an instruction",
                    c.instruction_id, c.revision
                )
            })?;
            show_changes(out, &ins, Some((c, &old)))?;
        }
    }
    let (reason, pin) = reason_and_pin(by, reason, pin_stdin)?;
    let req = ReleaseRequest {
        file_name,
        text,
        reason,
        badge: by.to_string(),
        pin,
    };
    match rt.block_on(crate::hub::release::send(&client, &req)) {
        Ok(r) => {
            write!(
                out,
                "released {} rev {} (sha256 {}) at the hub by {}, effective {} (hub record {})",
                r.instruction_id,
                r.revision,
                short(&r.hash),
                r.by_name,
                when(&r.effective),
                r.hub_seq
            )?;
            match &r.supersedes {
                Some(s) => writeln!(out, "; supersedes rev {}", s.revision)?,
                None => writeln!(out)?,
            }
            writeln!(
                out,
                "every bench takes it at its next contact with the hub (its text checked against sha256 {})",
                short(&r.hash)
            )?;
            Ok(0)
        }
        Err(SendError::Refused(r)) => {
            eprintln!("traveler: NOT released: {r}");
            Ok(1)
        }
        Err(e) => {
            eprintln!("traveler: NOT released: {e}");
            Ok(if e.is_unreachable() { 2 } else { 1 })
        }
    }
}

/// `instructions status --hub URL`: the hub's releases against this folder.
fn hub_status(hub: &HubArgs, loaded: &Loaded, out: &mut dyn Write) -> anyhow::Result<i32> {
    let client = match hub_client(hub) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rt = crate::hub::cli::runtime()?;
    let releases = match hub_book(&rt, &client) {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    writeln!(out, "Releases at the hub {}:", client.url())?;
    status_table(&releases, loaded, "at the hub", out)
}

fn status(store: &Store, loaded: &Loaded, out: &mut dyn Write) -> anyhow::Result<i32> {
    let releases = book(store)?;
    status_table(&releases, loaded, "in this store", out)
}

/// Where a release was made, for the status table ("" when at this bench).
fn at(r: &Released) -> String {
    match &r.hub {
        Some(h) => format!(" at hub (hub record {})", h.seq),
        None if r.origin_store == crate::hub::release::HUB_ORIGIN => " at hub".to_string(),
        None => String::new(),
    }
}

/// Each instruction's revision in force against the folder's file, and what
/// keeps files from starting a job; releases from the hub that were not taken and
/// revisions released with two texts are said below the table.
fn status_table(
    releases: &ReleaseBook,
    loaded: &Loaded,
    place: &str,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let lib = &loaded.library;
    let require = lib.policy.as_ref().is_none_or(|p| p.require_release);
    let mut t = CliTable::new(&[
        "INSTRUCTION",
        "RELEASED",
        "RELEASED ON",
        "BY",
        "REASON",
        "FOLDER FILE",
        "FILE REV",
        "FILE IS",
    ]);
    let mut ids: Vec<&str> = releases.ids().collect();
    for i in &lib.instructions {
        if !ids.contains(&i.id()) {
            ids.push(i.id());
        }
    }
    ids.sort();
    let mut not_runnable = 0;
    for id in ids {
        let current = releases.current(id);
        let file = lib.instruction(id);
        let (name, rev, is) = match file {
            None => (
                "—".to_string(),
                "—".to_string(),
                "not in the folder".to_string(),
            ),
            Some(f) => {
                let standing = Standing::of(releases, id, f.revision(), &f.hash);
                let is = match (&standing, start_refusal(true, &standing)) {
                    (Standing::Released(r), _) => format!("released{}", at(r)),
                    (_, Some(why)) => {
                        not_runnable += 1;
                        why.to_string()
                    }
                    (_, None) => String::new(),
                };
                (
                    f.path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    f.revision().to_string(),
                    is,
                )
            }
        };
        match current {
            Some(c) => t.row([
                id.to_string(),
                format!("rev {}{}", c.revision, at(c)),
                when(&c.effective),
                format!("{} ({})", c.by_name, c.by),
                c.reason.clone(),
                name,
                rev,
                is,
            ]),
            None => t.row([
                id.to_string(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                name,
                rev,
                is,
            ]),
        };
    }
    t.write(out)?;
    for r in releases.refused() {
        writeln!(
            out,
            "\nNOT taken: hub record {} (mirrored as record {}) releases {} rev {} (sha256 {}), but {}: \
             the bench does not run it; run `traveler verify --hub`",
            r.hub.seq,
            r.seq,
            r.instruction_id,
            r.revision,
            short(&r.hash),
            r.fault
        )?;
    }
    for (id, rev) in releases.conflicts() {
        let texts: Vec<String> = releases
            .conflict(&id, &rev)
            .iter()
            .map(|r| {
                format!(
                    "{} on {} by {} (sha256 {})",
                    r.place(),
                    when(&r.effective),
                    r.by_name,
                    short(&r.hash)
                )
            })
            .collect();
        writeln!(
            out,
            "\nCONFLICT: {id} rev {rev} was released with different texts: {}. No job starts on rev {rev} \
             until an engineer releases a new revision at the hub.",
            texts.join("; ")
        )?;
    }
    if !loaded.diagnostics.is_empty() {
        writeln!(
            out,
            "\n{} problem(s) in {}: files with problems cannot be released or run; `traveler check` lists them",
            loaded.diagnostics.len(),
            lib.dir.display()
        )?;
    }
    if releases.is_empty() && require {
        writeln!(
            out,
            "\nNo instruction is released {place}, and policy.toml requires releases \
             ([release] require_release = true): the bench starts no new job until an engineer \
             releases the instructions, e.g.\n  traveler instructions release {} --by BADGE --reason \"initial release\"\n\
             (a store written before traveler controlled its instructions needs this once; \
             jobs already started finish as before).",
            lib.instructions
                .first()
                .map_or("FILE".to_string(), |i| i.path.display().to_string())
        )?;
    } else if not_runnable > 0 && require {
        writeln!(
            out,
            "\n{not_runnable} file(s) cannot start a job until released: traveler instructions release FILE --by BADGE"
        )?;
    } else if !require {
        writeln!(
            out,
            "\npolicy.toml [release] require_release = false: the bench runs any file that passes `traveler check`"
        )?;
    }
    Ok(0)
}

fn diff_revisions(
    store: &Store,
    id: &str,
    rev1: &str,
    rev2: &str,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let releases = book(store)?;
    let find = |rev: &str| {
        releases
            .revision(id, rev)
            .cloned()
            .with_context(|| never_released(&releases, id, Some(rev)))
    };
    let (a, b) = (find(rev1)?, find(rev2)?);
    let (_, old) = released_spec(store, &a)?;
    let (_, new) = released_spec(store, &b)?;
    writeln!(
        out,
        "{id} rev {} (released {} by {}) → rev {} (released {} by {}: {}):",
        a.revision,
        when(&a.effective),
        a.by_name,
        b.revision,
        when(&b.effective),
        b.by_name,
        b.reason
    )?;
    let changes = diff(&old, &new);
    if changes.is_empty() {
        writeln!(out, "  no change the bench shows")?;
    }
    for c in changes {
        writeln!(out, "  {c}")?;
    }
    Ok(0)
}

/// What was released instead: the instruction's revisions, or the ids this store
/// has released (an id typed in the wrong case is named as the one meant).
fn never_released(releases: &ReleaseBook, id: &str, rev: Option<&str>) -> String {
    let known: Vec<&str> = releases
        .history(id)
        .iter()
        .map(|r| r.revision.as_str())
        .collect();
    if !known.is_empty() {
        let rev = rev.unwrap_or("?");
        return format!(
            "{id} rev {rev} was never released in this store (released: {})",
            known.join(", ")
        );
    }
    let ids: Vec<&str> = releases.ids().collect();
    if let Some(meant) = ids.iter().find(|i| i.eq_ignore_ascii_case(id)) {
        return format!("{id} was never released in this store; did you mean {meant}?");
    }
    if ids.is_empty() {
        format!("{id} was never released in this store (nothing is released yet)")
    } else {
        format!(
            "{id} was never released in this store (released: {})",
            ids.join(", ")
        )
    }
}

fn show(store: &Store, id: &str, rev: Option<&str>, out: &mut dyn Write) -> anyhow::Result<i32> {
    let releases = book(store)?;
    let r = match rev {
        Some(rev) => releases.revision(id, rev),
        None => releases.current(id),
    };
    let Some(r) = r else {
        bail!("{}", never_released(&releases, id, rev));
    };
    let (text, _) = released_spec(store, r)?;
    // The exact bytes released, nothing added, so `show > file` gives the file back.
    out.write_all(text.as_bytes())?;
    Ok(0)
}
