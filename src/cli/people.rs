//! `traveler people`: the roster. Every change is an event signed by an admin's
//! badge and PIN; wrong PINs are recorded and lock the badge like anywhere else.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};

use super::console::Console;
use super::store::{StoreDir, exit_code, open_store};
use crate::core::{Core, Credentials, Request, RequestId};
use crate::domain::command::{Command, Rejection, RosterCommand};
use crate::domain::event::SYSTEM_ACTOR;
use crate::domain::person::{Person, Roster};
use crate::domain::policy::Refusal;
use crate::domain::types::{CertLevel, Certification, Role, SkillLevel};
use crate::instruction::{Library, load_dir};
use crate::people::admin;
use crate::people::certs::{expiring_certificates, missing_modules};
use crate::people::pin::{check_pin_format, new_pin};
use crate::people::roster_file;
use crate::store::Store;

const PIN_HELP: &str = "\
PINs:
  Asked on the terminal without echo: the admin's PIN first, then a new PIN
  twice (init, add, set-pin). Ctrl-C or Esc cancels.
  With --pin-stdin they are read from standard input, one per line, in the same
  order without the repetition: the admin's PIN, then the new PIN.
  PINs are digits, at least policy.toml's [pin] min_length (default 6) and at
  most 12, not trivial (000000, 123456, 654321, 121212); stored only as
  Argon2id hashes. Older shorter PINs work until their next change; `list`
  marks them.

  Five wrong PINs in a row lock the admin badge for the policy's lockout time,
  as at the bench. Every change is an event in the store with the admin as actor.

Examples:
  traveler people init --badge A900 --name \"Quality Admin\"
  traveler people add T100 --name \"Ana Lima\" --role technician,inspector --skill expert --admin A900
  traveler people certify T100 --level CIS --modules 1,2,5,8 --certificate CIS-2025-0117 --issued 2025-03-01 --admin A900
  traveler people list --expiring 60
  printf '9999\\n482913\\n' | traveler people set-pin T100 --admin A900 --pin-stdin";

#[derive(Args, Debug)]
#[command(after_long_help = PIN_HELP)]
pub struct PeopleArgs {
    #[command(subcommand)]
    pub command: PeopleCommand,
    #[command(flatten)]
    pub store: StoreDir,
    /// Read PINs from standard input, one per line (the admin's PIN first, then
    /// the new PIN where one is set), instead of asking on the terminal.
    #[arg(long, global = true)]
    pub pin_stdin: bool,
    /// Manage the shop roster at the hub (every bench follows it) instead of this
    /// bench's store: each change is a record of the hub's chain.
    #[arg(long, global = true, value_name = "URL")]
    pub hub: Option<String>,
    /// A bench's or desk's token for the hub.
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "TRAVELER_HUB_TOKEN",
        hide_env_values = true
    )]
    pub hub_token: Option<String>,
    /// PEM certificate to trust for an https hub.
    #[arg(long, global = true, value_name = "FILE")]
    pub hub_ca: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum PeopleCommand {
    /// Enrol the first admin of an empty roster (no admin PIN needed, only then).
    #[command(after_long_help = PIN_HELP)]
    Init {
        /// The first admin's badge.
        #[arg(long)]
        badge: String,
        /// The printed name shown with every signature.
        #[arg(long)]
        name: String,
        /// Roles besides admin, comma-separated: technician, inspector, supervisor.
        #[arg(long, value_delimiter = ',')]
        role: Vec<Role>,
        #[arg(long, default_value = "intermediate")]
        skill: SkillLevel,
    },
    /// Enrol a person with a PIN of their own.
    #[command(after_long_help = PIN_HELP)]
    Add {
        badge: String,
        /// The printed name shown with every signature.
        #[arg(long)]
        name: String,
        /// Comma-separated: technician, inspector, supervisor, admin, engineer
        /// (releases work instructions).
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<Role>,
        /// intermediate, advanced or expert.
        #[arg(long)]
        skill: SkillLevel,
        #[command(flatten)]
        admin: Admin,
    },
    /// Change a person's printed name, roles or skill level.
    Update {
        badge: String,
        #[arg(long)]
        name: Option<String>,
        /// The new, complete list of roles, comma-separated.
        #[arg(long, value_delimiter = ',')]
        role: Option<Vec<Role>>,
        #[arg(long)]
        skill: Option<SkillLevel>,
        #[command(flatten)]
        admin: Admin,
    },
    /// Give a badge a new PIN (also lifts a lockout).
    #[command(after_long_help = PIN_HELP)]
    SetPin {
        badge: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// Record an IPC-7711/7721 certificate; it expires after policy.toml's
    /// certification_validity_years. Recording the same number again replaces it.
    Certify {
        badge: String,
        /// CIS, CSE or CIT.
        #[arg(long)]
        level: CertLevel,
        /// Comma-separated training modules 1–10.
        #[arg(long, value_delimiter = ',', required = true)]
        modules: Vec<u8>,
        /// The certificate number printed on it.
        #[arg(long)]
        certificate: String,
        /// Issue date, YYYY-MM-DD.
        #[arg(long)]
        issued: NaiveDate,
        #[command(flatten)]
        admin: Admin,
    },
    /// Withdraw a certificate.
    Revoke {
        badge: String,
        #[arg(long)]
        certificate: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// Take a badge out of service: it can no longer log in or sign; its records stay.
    Deactivate {
        badge: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// The roster with certificates and expiry warnings (30 and 60 days).
    List {
        /// Only the certificates expired or expiring within this many days.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(0..=3650))]
        expiring: Option<i64>,
    },
    /// Who lacks a module that a released instruction needs.
    Gaps,
    /// Enrol people and certificates from a roster TOML file, all or nothing.
    /// Imported people get no usable PIN: give each one with `set-pin`.
    #[command(after_long_help = roster_file_help())]
    Import {
        file: PathBuf,
        /// The admin badge that authorises the import.
        #[arg(long, value_name = "BADGE", required_unless_present = "check")]
        admin: Option<String>,
        /// Only check the file and show what would be imported; save nothing.
        #[arg(long)]
        check: bool,
    },
}

const fn roster_file_help() -> &'static str {
    "\
Roster file:
  [[person]]
  badge = \"T100\"
  name = \"Ana Lima\"
  roles = [\"technician\", \"inspector\"]
  skill = \"expert\"

  [[person.certification]]
  level = \"CIS\"
  modules = [1, 2, 3, 5, 8]
  certificate = \"CIS-2025-0117\"
  issued = 2025-03-01

Unknown fields are errors (a PIN in a file is not a secret, so there is no
place for one). Problems are reported as file:line:col and nothing is saved.
The expiry of each certificate comes from policy.toml."
}

#[derive(Args, Debug)]
pub struct Admin {
    /// The admin badge that authorises the change; its PIN is asked for.
    #[arg(long = "admin", id = "admin_badge", value_name = "BADGE")]
    pub badge: String,
}

/// PINs come from the terminal without echo, or from stdin lines in scripts.
pub(crate) struct Pins {
    pub(crate) from_stdin: bool,
}

impl Pins {
    pub(crate) fn next(&mut self, prompt: &str) -> anyhow::Result<String> {
        if self.from_stdin {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading a PIN from standard input")?;
            if line.is_empty() {
                bail!(
                    "a PIN line is missing on standard input ({})",
                    prompt.trim()
                );
            }
            return Ok(line.trim().to_string());
        }
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for the PIN on: use --pin-stdin");
        }
        read_hidden(prompt)
    }

    pub(crate) fn new_pin(&mut self, whose: &str) -> anyhow::Result<String> {
        let pin = self.next(&format!("New PIN for {whose}: "))?;
        check_pin_format(&pin).map_err(anyhow::Error::msg)?;
        if !self.from_stdin && self.next("Repeat the new PIN: ")? != pin {
            bail!("the two PINs differ; nothing changed");
        }
        Ok(pin)
    }
}

/// Reads a PIN with the terminal in raw mode, so nothing echoes and Ctrl-C
/// arrives as a key: the terminal is restored before we give up, where a
/// SIGINT while echo was off would leave the shell without echo.
pub(crate) fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
    use crossterm::terminal;

    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    terminal::enable_raw_mode().context("cannot switch the terminal off echo")?;
    let mut pin = String::new();
    let outcome = loop {
        let key = match event::read() {
            Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => k,
            Ok(_) => continue,
            Err(e) => break Err(anyhow::Error::from(e)),
        };
        match key.code {
            KeyCode::Enter => break Ok(()),
            KeyCode::Esc => break Err(anyhow::anyhow!("cancelled")),
            KeyCode::Char('c' | 'd') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                break Err(anyhow::anyhow!("cancelled"));
            }
            KeyCode::Backspace => {
                pin.pop();
            }
            KeyCode::Char(c) => pin.push(c),
            _ => {}
        }
    };
    let restored = terminal::disable_raw_mode();
    eprintln!();
    outcome?;
    restored.context("cannot restore the terminal")?;
    Ok(pin)
}

/// `--instructions`, else the configuration file's folder, else ./instructions.
/// The command line resolves it before the bench application answers for it (the
/// application's configuration may name another folder).
pub fn instructions_dir(instructions: Option<&Path>) -> PathBuf {
    match instructions {
        Some(d) => d.to_path_buf(),
        None => crate::config::default_config_path()
            .filter(|p| p.is_file())
            .and_then(|p| crate::config::AppConfig::load(&p).ok())
            .and_then(|c| c.instructions)
            .unwrap_or_else(|| PathBuf::from("instructions")),
    }
}

pub(crate) fn library(instructions: Option<&Path>) -> anyhow::Result<Library> {
    let dir = instructions_dir(instructions);
    let loaded = load_dir(&dir);
    if loaded.library.policy.is_none() {
        bail!(
            "{} has no valid policy.toml (certificate validity and PIN lockout come from it): run `traveler check {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(loaded.library)
}

/// `people list | gaps`: read the roster, never change it, so the running bench
/// application may answer them (see `crate::local`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum PeopleRead {
    List { expiring: Option<i64> },
    Gaps,
}

impl PeopleArgs {
    /// The read-only sub-command this is, if it is one.
    pub fn read(&self) -> Option<PeopleRead> {
        match self.command {
            PeopleCommand::List { expiring } => Some(PeopleRead::List { expiring }),
            PeopleCommand::Gaps => Some(PeopleRead::Gaps),
            _ => None,
        }
    }
}

/// What `people` says when the store cannot be opened.
pub fn open_failed(e: &crate::store::StoreError, err: &mut dyn Write) -> i32 {
    let _ = writeln!(err, "traveler: {e}");
    exit_code(e)
}

/// `people list | gaps` on an open store (this process's or the bench
/// application's): the same bytes either way.
pub fn read(
    store: &Store,
    cmd: &PeopleRead,
    instructions: Option<&Path>,
    con: &mut Console<'_>,
) -> anyhow::Result<i32> {
    match read_roster(store, cmd, instructions, con) {
        Ok(()) => Ok(0),
        // `traveler people list | head` closes the pipe early: not a failure.
        Err(e) if super::console::closed_early(&e) => Ok(0),
        Err(e) => {
            writeln!(con.err, "traveler: {e:#}")?;
            Ok(1)
        }
    }
}

fn read_roster(
    store: &Store,
    cmd: &PeopleRead,
    instructions: Option<&Path>,
    con: &mut Console<'_>,
) -> anyhow::Result<()> {
    let lib = library(instructions)?;
    let policy = lib.policy.clone().context("policy")?;
    let roster = crate::people::auth::roster(store).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc::now();
    let today = now.date_naive();
    let people: Vec<Person> = roster.people.values().cloned().collect();
    let out = &mut *con.out;
    match *cmd {
        PeopleRead::List {
            expiring: Some(days),
        } => write_expiring(out, con.width, &people, today, days)?,
        PeopleRead::List { expiring: None } => {
            // PINs set before policy.toml's [pin] rules (or under weaker ones).
            let below = |b: &str| !roster.pin_meets(b, &policy.pin);
            write_list(out, con.width, &people, today, now, &below)?
        }
        PeopleRead::Gaps => {
            let gaps = missing_modules(&people, &lib, today);
            if gaps.is_empty() {
                writeln!(
                    out,
                    "every active technician holds the modules of every released instruction"
                )?;
                return Ok(());
            }
            let rows: Vec<Vec<String>> = gaps
                .into_iter()
                .map(|g| {
                    vec![
                        g.badge,
                        g.name,
                        g.instruction,
                        join(g.modules.iter().map(u8::to_string), ","),
                    ]
                })
                .collect();
            super::table::write_width(
                out,
                con.width,
                &["BADGE", "NAME", "INSTRUCTION", "MISSING MODULES"],
                &rows,
            )?;
        }
    }
    Ok(())
}

pub fn run(args: PeopleArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    // The shop roster at the hub: nothing of this bench's store is read or written.
    if args.hub.is_some() {
        return super::people_hub::run(args, instructions);
    }
    // Looking at the roster never creates a store, and the running bench
    // application answers it.
    if let Some(read) = args.read() {
        return crate::local::run(
            crate::local::Read::People(read),
            &args.store,
            Some(&instructions_dir(instructions)),
        );
    }
    let store = match open_store(&args.store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(exit_code(&e));
        }
    };
    match execute(args, &store, instructions) {
        Ok(()) => Ok(0),
        // `traveler people list | head` closes the pipe early: not a failure.
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

/// One run: the roster as saved, the core every change goes through, and where
/// PINs come from.
struct Session {
    core: Core,
    roster: Roster,
    pins: Pins,
    now: DateTime<Utc>,
}

impl Session {
    fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }

    fn person(&self, badge: &str) -> anyhow::Result<&Person> {
        self.roster
            .get(badge)
            .with_context(|| format!("badge {badge} is not on the roster"))
    }

    /// A roster change for the core: the admin's PIN proves it (recorded and
    /// counted towards the lockout when wrong, as at the bench); the core decides.
    fn change(&mut self, admin: Option<&str>, command: RosterCommand) -> anyhow::Result<String> {
        let credentials = match admin {
            Some(badge) => Some(Credentials {
                badge: badge.to_string(),
                pin: self.pins.next(&format!("PIN for admin {badge}: "))?,
            }),
            None => None,
        };
        self.send(admin.unwrap_or(SYSTEM_ACTOR), credentials, command)
    }

    fn send(
        &self,
        by: &str,
        credentials: Option<Credentials>,
        command: RosterCommand,
    ) -> anyhow::Result<String> {
        let answer = self.core.execute_at(
            Request {
                id: RequestId(1),
                by: by.to_string(),
                credentials,
                command: Command::Roster(command),
            },
            self.now,
        );
        match answer.result {
            Ok(acc) => Ok(acc
                .records
                .first()
                .map(|r| r.actor.clone())
                .unwrap_or_default()),
            Err(Rejection::NotAllowed {
                who,
                refusal: Refusal::RoleMissing { role: Role::Admin },
            }) => bail!("{who} is not an admin"),
            Err(Rejection::NotAllowed { who, refusal }) => {
                bail!("{who} may not change the roster: {refusal}")
            }
            Err(r) => bail!("{r}"),
        }
    }
}

fn execute(args: PeopleArgs, store: &Store, instructions: Option<&Path>) -> anyhow::Result<()> {
    let lib = library(instructions)?;
    let policy = lib.policy.clone().context("policy")?;
    let lib = std::sync::Arc::new(lib);
    let core = Core::new(store.clone(), lib.clone(), "");
    let roster = core.roster().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut s = Session {
        core,
        roster,
        pins: Pins {
            from_stdin: args.pin_stdin,
        },
        now: Utc::now(),
    };
    let msg = anyhow::Error::msg;
    match args.command {
        PeopleCommand::Init {
            badge,
            name,
            role,
            skill,
        } => {
            if !s.roster.people.is_empty() {
                bail!("{}", crate::domain::command::RosterProblem::NotEmpty);
            }
            admin::check_badge(&badge).map_err(msg)?;
            admin::check_name(&name).map_err(msg)?;
            let roles = role;
            let pin = s.pins.new_pin(&badge)?;
            s.send(
                &badge,
                None,
                RosterCommand::Init {
                    badge: badge.clone(),
                    name: name.clone(),
                    roles,
                    skill,
                    pin: new_pin(&pin).map_err(msg)?,
                },
            )?;
            println!(
                "enrolled {} ({badge}) as the first admin in {} — saved",
                name.trim(),
                store.path().display()
            );
        }
        PeopleCommand::Add {
            badge,
            name,
            role,
            skill,
            admin,
        } => {
            admin::check_badge(&badge).map_err(msg)?;
            admin::check_name(&name).map_err(msg)?;
            let roles = admin::normalise_roles(&role).map_err(msg)?;
            if s.roster.get(&badge).is_some() {
                bail!("badge {badge} is already enrolled");
            }
            let credentials = Credentials {
                badge: admin.badge.clone(),
                pin: s.pins.next(&format!("PIN for admin {}: ", admin.badge))?,
            };
            let pin = s.pins.new_pin(&badge)?;
            s.send(
                &admin.badge,
                Some(credentials),
                RosterCommand::Enrol {
                    badge: badge.clone(),
                    name: name.clone(),
                    roles,
                    skill,
                    pin: new_pin(&pin).map_err(msg)?,
                },
            )?;
            println!("enrolled {} ({badge}) — saved", name.trim());
        }
        PeopleCommand::Update {
            badge,
            name,
            role,
            skill,
            admin,
        } => {
            if let Some(n) = &name {
                admin::check_name(n).map_err(msg)?;
            }
            let roles = match role {
                Some(r) => Some(admin::normalise_roles(&r).map_err(msg)?),
                None => None,
            };
            s.change(
                Some(&admin.badge),
                RosterCommand::Update {
                    badge: badge.clone(),
                    name,
                    roles,
                    skill,
                },
            )?;
            let roster = s.core.roster().map_err(|e| anyhow::anyhow!("{e}"))?;
            let p = roster.get(&badge).context("updated badge")?;
            println!(
                "{badge}: {}, {}, {} — saved",
                p.name,
                join(p.roles.iter().map(ToString::to_string), ","),
                p.skill
            );
        }
        PeopleCommand::SetPin { badge, admin } => {
            s.person(&badge)?;
            let credentials = Credentials {
                badge: admin.badge.clone(),
                pin: s.pins.next(&format!("PIN for admin {}: ", admin.badge))?,
            };
            let pin = s.pins.new_pin(&badge)?;
            s.send(
                &admin.badge,
                Some(credentials),
                RosterCommand::SetPin {
                    badge: badge.clone(),
                    pin: new_pin(&pin).map_err(msg)?,
                },
            )?;
            println!("new PIN set for {badge} — saved");
        }
        PeopleCommand::Certify {
            badge,
            level,
            modules,
            certificate,
            issued,
            admin,
        } => {
            let modules = admin::normalise_modules(&modules).map_err(msg)?;
            let certificate = certificate.trim().to_string();
            admin::check_certificate_no(&certificate).map_err(msg)?;
            admin::check_issued(issued, s.today()).map_err(msg)?;
            let replaces = s.person(&badge).is_ok_and(|p| {
                p.certifications
                    .iter()
                    .any(|c| c.certificate == certificate)
            });
            let expires = policy.certification_expiry(issued);
            s.change(
                Some(&admin.badge),
                RosterCommand::Certify {
                    badge: badge.clone(),
                    certification: Certification {
                        level,
                        modules,
                        certificate: certificate.clone(),
                        issued,
                        expires,
                    },
                },
            )?;
            println!(
                "{badge}: {level} certificate {certificate} {}, valid until {expires} — saved",
                if replaces { "replaced" } else { "recorded" }
            );
            if expires <= s.today() {
                println!("warning: this certificate has already expired");
            }
        }
        PeopleCommand::Revoke {
            badge,
            certificate,
            reason,
            admin,
        } => {
            if reason.trim().is_empty() {
                bail!("a revocation needs a --reason");
            }
            s.change(
                Some(&admin.badge),
                RosterCommand::Revoke {
                    badge: badge.clone(),
                    certificate: certificate.clone(),
                    reason,
                },
            )?;
            println!("certificate {certificate} of {badge} revoked — saved");
        }
        PeopleCommand::Deactivate {
            badge,
            reason,
            admin,
        } => {
            if reason.trim().is_empty() {
                bail!("a deactivation needs a --reason");
            }
            s.change(
                Some(&admin.badge),
                RosterCommand::Deactivate {
                    badge: badge.clone(),
                    reason,
                },
            )?;
            println!("{badge} deactivated — saved; their records stay");
        }
        PeopleCommand::List { .. } | PeopleCommand::Gaps => {
            // `run` sends these to `read` (through `crate::local`); kept whole here.
            if let Some(cmd) = args.read() {
                let mut std = super::console::Std::new();
                read_roster(store, &cmd, instructions, &mut std.console())?;
            }
        }
        PeopleCommand::Import {
            file,
            admin: admin_badge,
            check,
        } => {
            let people = match roster_file::load(&file, &s.roster, s.today()) {
                Ok(p) => p,
                Err(problems) => {
                    for d in &problems {
                        eprintln!("{d}");
                    }
                    bail!("{} problem(s); nothing imported", problems.len());
                }
            };
            let certs: usize = people.iter().map(|p| p.certificates.len()).sum();
            if check {
                for p in &people {
                    println!(
                        "{} {} ({}, {}): {} certificate(s)",
                        p.badge,
                        p.name,
                        join(p.roles.iter().map(ToString::to_string), ","),
                        p.skill,
                        p.certificates.len()
                    );
                }
                println!(
                    "{} people, {certs} certificate(s): the file is good; nothing saved",
                    people.len()
                );
                return Ok(());
            }
            let admin_badge = admin_badge.context("--admin BADGE is needed to import")?;
            let events = roster_file::events(&people, &policy, roster_file::unknown_pin_hash)
                .map_err(msg)?;
            let actor = s.change(Some(&admin_badge), RosterCommand::Import { events })?;
            println!(
                "imported {} people and {certs} certificate(s) — saved",
                people.len()
            );
            println!(
                "they cannot log in or sign until each has a PIN: traveler people set-pin BADGE --admin {actor}"
            );
        }
    }
    Ok(())
}

pub(crate) fn join(items: impl Iterator<Item = String>, sep: &str) -> String {
    items.collect::<Vec<_>>().join(sep)
}

/// How urgent an expiry is, in the words `list` prints.
fn urgency(days_left: i64) -> String {
    match days_left {
        d if d < 0 => format!("EXPIRED {} day(s) ago", -d),
        0 => "EXPIRES TODAY".into(),
        d if d <= 30 => format!("expires in {d} day(s)!"),
        d => format!("expires in {d} day(s)"),
    }
}

pub(crate) fn write_list(
    out: &mut dyn Write,
    width: Option<u16>,
    people: &[Person],
    today: NaiveDate,
    now: DateTime<Utc>,
    pin_below_policy: &dyn Fn(&str) -> bool,
) -> std::io::Result<()> {
    if people.is_empty() {
        writeln!(
            out,
            "nobody is enrolled: start with `traveler people init --badge BADGE --name NAME`"
        )?;
        return Ok(());
    }
    let flagged = expiring_certificates(people, today, 60);
    let mut rows = Vec::new();
    for p in people {
        let state = if !p.active {
            "inactive".to_string()
        } else if let Some(until) = p.locked_until.filter(|u| now < *u) {
            format!("LOCKED until {}", until.format("%H:%M UTC"))
        } else if p.failed_pins > 0 {
            format!("active ({} wrong PIN(s))", p.failed_pins)
        } else {
            "active".to_string()
        };
        let state = if p.active && pin_below_policy(&p.badge) {
            format!("{state}, PIN below policy")
        } else {
            state
        };
        let mut certs: Vec<String> = p
            .certifications
            .iter()
            .map(|c| {
                let warn = flagged
                    .iter()
                    .find(|e| e.badge == p.badge && e.certificate == c.certificate)
                    .map(|e| format!(" — {}", urgency(e.days_left)))
                    .unwrap_or_default();
                format!(
                    "{} {} modules {} until {}{warn}",
                    c.level,
                    c.certificate,
                    join(c.modules.iter().map(u8::to_string), ","),
                    c.expires
                )
            })
            .collect();
        if certs.is_empty() {
            certs.push("no certificate".into());
        }
        // One line per certificate keeps the table readable in 80 columns.
        for (i, cert) in certs.into_iter().enumerate() {
            rows.push(if i == 0 {
                vec![
                    p.badge.clone(),
                    p.name.clone(),
                    join(p.roles.iter().map(ToString::to_string), ","),
                    p.skill.to_string(),
                    state.clone(),
                    cert,
                ]
            } else {
                vec![String::new(); 5].into_iter().chain([cert]).collect()
            });
        }
    }
    super::table::write_width(
        out,
        width,
        &["BADGE", "NAME", "ROLES", "SKILL", "STATE", "CERTIFICATES"],
        &rows,
    )?;
    let expired = flagged.iter().filter(|e| e.days_left < 0).count();
    let within30 = flagged
        .iter()
        .filter(|e| (0..=30).contains(&e.days_left))
        .count();
    let within60 = flagged.iter().filter(|e| e.days_left > 30).count();
    if !flagged.is_empty() {
        writeln!(
            out,
            "\nwarning: {expired} certificate(s) expired, {within30} expiring within 30 days, {within60} within 60 days"
        )?;
    }
    Ok(())
}

pub(crate) fn write_expiring(
    out: &mut dyn Write,
    width: Option<u16>,
    people: &[Person],
    today: NaiveDate,
    days: i64,
) -> std::io::Result<()> {
    let soon = expiring_certificates(people, today, days);
    if soon.is_empty() {
        writeln!(out, "no certificate expired or expiring within {days} days")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = soon
        .into_iter()
        .map(|e| {
            vec![
                e.badge,
                e.name,
                format!("{} {}", e.level, e.certificate),
                join(e.modules.iter().map(u8::to_string), ","),
                e.expires.to_string(),
                urgency(e.days_left),
            ]
        })
        .collect();
    super::table::write_width(
        out,
        width,
        &["BADGE", "NAME", "CERTIFICATE", "MODULES", "EXPIRES", ""],
        &rows,
    )
}
