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
  under `[release]` in policy.toml.";

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
    },
    /// Each instruction's released revision, who released it and when; files that
    /// are draft (never released) or changed since release.
    Status,
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
        } => release(&store, loaded.library, &file, &by, reason, pin_stdin, out),
        InstructionsCommand::Status => status(&store, &loaded, out),
        InstructionsCommand::Diff { id, rev1, rev2 } => {
            diff_revisions(&store, &id, &rev1, &rev2, out)
        }
        InstructionsCommand::Show { id, rev } => show(&store, &id, rev.as_deref(), out),
    };
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
    let ins = match check_text(&library, file, &text) {
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
            return Ok(1);
        }
    };
    let releases = book(store)?;
    let current = releases.current(ins.id());
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
        Some(c) => {
            writeln!(
                out,
                "{} rev {} (sha256 {}) against the released rev {} (released {} by {}):",
                ins.id(),
                ins.revision(),
                short(&ins.hash),
                c.revision,
                when(&c.effective),
                c.by_name
            )?;
            let (_, old) = released_spec(store, c)?;
            let changes = diff(&old, &ins.spec);
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
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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

fn status(store: &Store, loaded: &Loaded, out: &mut dyn Write) -> anyhow::Result<i32> {
    let releases = book(store)?;
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
                let standing = Standing::of(&releases, id, f.revision(), &f.hash);
                let is = match (&standing, start_refusal(true, &standing)) {
                    (Standing::Released(_), _) => "released".to_string(),
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
                format!("rev {}", c.revision),
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
            "\nNo instruction is released in this store, and policy.toml requires releases \
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
