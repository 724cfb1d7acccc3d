//! `traveler people`: the roster. Every change is an event signed by an admin's
//! badge and PIN; wrong PINs are recorded and lock the badge like anywhere else.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};

use super::store::{StoreDir, exit_code, open_store};
use crate::domain::event::Event;
use crate::domain::person::Person;
use crate::domain::policy::Policy;
use crate::domain::types::{CertLevel, Certification, Role, SkillLevel};
use crate::instruction::{Library, load_dir};
use crate::people::auth::{authenticate, roster};
use crate::people::certs::{expiring, module_gaps};
use crate::people::pin::{check_pin_format, hash_pin};
use crate::people::roster_file;
use crate::store::Store;

#[derive(Args, Debug)]
pub struct PeopleArgs {
    #[command(subcommand)]
    pub command: PeopleCommand,
    #[command(flatten)]
    pub store: StoreDir,
    /// Read PINs from standard input, one per line (admin PIN first, then a new
    /// PIN where one is set), instead of asking on the terminal.
    #[arg(long, global = true)]
    pub pin_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum PeopleCommand {
    /// Enrol the first admin of an empty roster.
    Init {
        #[arg(long)]
        badge: String,
        #[arg(long)]
        name: String,
    },
    /// Enrol a person.
    Add {
        badge: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: technician, inspector, supervisor, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<Role>,
        #[arg(long)]
        skill: SkillLevel,
        #[command(flatten)]
        admin: Admin,
    },
    /// Set a new PIN for a badge (also unlocks it).
    SetPin {
        badge: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// Record an IPC-7711/7721 certificate; it expires after the policy's validity.
    Certify {
        badge: String,
        #[arg(long)]
        level: CertLevel,
        /// Comma-separated training modules 1–10.
        #[arg(long, value_delimiter = ',', required = true)]
        modules: Vec<u8>,
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
    /// Take a badge out of service; its records stay.
    Deactivate {
        badge: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// The roster with certificates and expiry warnings.
    List {
        /// Only certificates expiring within this many days (and expired ones).
        #[arg(long, value_name = "DAYS")]
        expiring: Option<i64>,
    },
    /// Who lacks a module that a released instruction needs.
    Gaps,
    /// Enrol people and certificates from a roster TOML file (all or nothing).
    Import {
        file: PathBuf,
        #[command(flatten)]
        admin: Admin,
    },
}

#[derive(Args, Debug)]
pub struct Admin {
    /// The admin badge that authorises the change.
    #[arg(long = "admin", id = "admin_badge", value_name = "BADGE")]
    pub badge: String,
}

/// PINs come from the terminal without echo, or from stdin lines in scripts.
struct Pins {
    from_stdin: bool,
    lines: Vec<String>,
}

impl Pins {
    fn new(from_stdin: bool) -> Self {
        let lines = if from_stdin {
            std::io::stdin()
                .lock()
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect()
        } else {
            Vec::new()
        };
        Pins { from_stdin, lines }
    }

    fn next(&mut self, prompt: &str) -> anyhow::Result<String> {
        if self.from_stdin {
            return self
                .lines
                .pop()
                .map(|l| l.trim().to_string())
                .context("a PIN line is missing on standard input");
        }
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for the PIN on: use --pin-stdin");
        }
        read_hidden(prompt)
    }

    fn new_pin(&mut self) -> anyhow::Result<String> {
        let pin = self.next("New PIN: ")?;
        check_pin_format(&pin).map_err(anyhow::Error::msg)?;
        if !self.from_stdin && self.next("Repeat the new PIN: ")? != pin {
            bail!("the two PINs differ");
        }
        Ok(pin)
    }
}

/// Reads a line with the terminal's echo off, so a PIN never shows on screen.
fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd, and the
    // original settings are restored before returning.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let saved = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    let original = term;
    if saved {
        term.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    if saved {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &original) };
    }
    eprintln!();
    read?;
    Ok(line.trim().to_string())
}

fn library(instructions: Option<&std::path::Path>) -> anyhow::Result<Library> {
    let dir = instructions.map_or_else(|| PathBuf::from("instructions"), PathBuf::from);
    let loaded = load_dir(&dir);
    if loaded.library.policy.is_none() {
        bail!(
            "{} has no valid policy.toml: run `traveler check {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(loaded.library)
}

/// The admin's PIN checked; the person must hold the admin role.
fn authorise(
    store: &Store,
    policy: &Policy,
    admin: &str,
    pins: &mut Pins,
) -> anyhow::Result<Person> {
    let pin = pins.next(&format!("PIN for admin {admin}: "))?;
    let person = authenticate(store, policy, admin, &pin, "admin", Utc::now())
        .map_err(anyhow::Error::msg)?;
    if !person.has_role(Role::Admin) {
        bail!("{} ({admin}) is not an admin", person.name);
    }
    Ok(person)
}

pub fn run(args: PeopleArgs, instructions: Option<&std::path::Path>) -> anyhow::Result<i32> {
    let store = match open_store(&args.store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(exit_code(&e));
        }
    };
    match execute(args, &store, instructions) {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("traveler: {e:#}");
            Ok(1)
        }
    }
}

fn execute(
    args: PeopleArgs,
    store: &Store,
    instructions: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let lib = library(instructions)?;
    let policy = lib.policy.clone().context("policy")?;
    let mut pins = Pins::new(args.pin_stdin);
    let roster = roster(store).map_err(anyhow::Error::msg)?;
    let today = Utc::now().date_naive();
    let exists = |badge: &str| -> anyhow::Result<()> {
        if roster.get(badge).is_none() {
            bail!("badge {badge} is not on the roster");
        }
        Ok(())
    };
    let append = |actor: &str, events: Vec<Event>| -> anyhow::Result<()> {
        store.append_batch(actor, events).context("saving")?;
        Ok(())
    };
    match args.command {
        PeopleCommand::Init { badge, name } => {
            if !roster.people.is_empty() {
                bail!(
                    "the roster is not empty: add people with `traveler people add … --admin BADGE`"
                );
            }
            let pin = pins.new_pin()?;
            append(
                &badge,
                vec![Event::PersonEnrolled {
                    badge: badge.clone(),
                    name: name.clone(),
                    roles: vec![Role::Admin],
                    skill: SkillLevel::Intermediate,
                    pin_hash: hash_pin(&pin).map_err(anyhow::Error::msg)?,
                }],
            )?;
            println!("enrolled {name} ({badge}) as the first admin — saved");
        }
        PeopleCommand::Add {
            badge,
            name,
            role,
            skill,
            admin,
        } => {
            if roster.get(&badge).is_some() {
                bail!("badge {badge} is already enrolled");
            }
            let who = authorise(store, &policy, &admin.badge, &mut pins)?;
            let pin = pins.new_pin()?;
            append(
                &who.badge,
                vec![Event::PersonEnrolled {
                    badge: badge.clone(),
                    name: name.clone(),
                    roles: role,
                    skill,
                    pin_hash: hash_pin(&pin).map_err(anyhow::Error::msg)?,
                }],
            )?;
            println!("enrolled {name} ({badge}) — saved");
        }
        PeopleCommand::SetPin { badge, admin } => {
            exists(&badge)?;
            let who = authorise(store, &policy, &admin.badge, &mut pins)?;
            let pin = pins.new_pin()?;
            append(
                &who.badge,
                vec![Event::PinChanged {
                    badge: badge.clone(),
                    pin_hash: hash_pin(&pin).map_err(anyhow::Error::msg)?,
                }],
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
            exists(&badge)?;
            if let Some(m) = modules.iter().find(|m| !(1..=10).contains(*m)) {
                bail!("training module {m} is not 1–10");
            }
            let who = authorise(store, &policy, &admin.badge, &mut pins)?;
            let expires = policy.certification_expiry(issued);
            append(
                &who.badge,
                vec![Event::PersonCertified {
                    badge: badge.clone(),
                    certification: Certification {
                        level,
                        modules,
                        certificate: certificate.clone(),
                        issued,
                        expires,
                    },
                }],
            )?;
            println!(
                "{badge}: {level} certificate {certificate} recorded, valid until {expires} — saved"
            );
        }
        PeopleCommand::Revoke {
            badge,
            certificate,
            reason,
            admin,
        } => {
            exists(&badge)?;
            let has = roster.get(&badge).is_some_and(|p| {
                p.certifications
                    .iter()
                    .any(|c| c.certificate == certificate)
            });
            if !has {
                bail!("{badge} holds no certificate {certificate}");
            }
            let who = authorise(store, &policy, &admin.badge, &mut pins)?;
            append(
                &who.badge,
                vec![Event::CertificationRevoked {
                    badge: badge.clone(),
                    certificate,
                    reason,
                }],
            )?;
            println!("certificate revoked for {badge} — saved");
        }
        PeopleCommand::Deactivate {
            badge,
            reason,
            admin,
        } => {
            exists(&badge)?;
            let who = authorise(store, &policy, &admin.badge, &mut pins)?;
            append(
                &who.badge,
                vec![Event::PersonDeactivated {
                    badge: badge.clone(),
                    reason,
                }],
            )?;
            println!("{badge} deactivated — saved");
        }
        PeopleCommand::List { expiring: within } => list(
            &roster.people.values().cloned().collect::<Vec<_>>(),
            today,
            within,
        ),
        PeopleCommand::Gaps => {
            let people: Vec<Person> = roster.people.values().cloned().collect();
            let gaps = module_gaps(&people, &lib, today);
            if gaps.is_empty() {
                println!("every active technician holds the modules of every released instruction");
            }
            for (name, instruction, modules) in gaps {
                let m: Vec<String> = modules.iter().map(u8::to_string).collect();
                println!("{name:<20} {instruction:<12} lacks module {}", m.join(", "));
            }
        }
        PeopleCommand::Import { file, admin } => {
            let parsed = match roster_file::load(&file, &roster) {
                Ok(f) => f,
                Err(problems) => {
                    for d in problems {
                        eprintln!("{d}");
                    }
                    bail!("nothing imported");
                }
            };
            let who = authorise(store, &policy, &admin.badge, &mut pins)?;
            let mut events = Vec::new();
            for p in &parsed.people {
                // An unguessable PIN nobody knows: the person signs nothing until set-pin.
                let secret: String = (0..4)
                    .map(|_| format!("{:016x}", rand::random::<u64>()))
                    .collect();
                events.push(Event::PersonEnrolled {
                    badge: p.badge.get_ref().clone(),
                    name: p.name.clone(),
                    roles: p.roles.clone(),
                    skill: p.skill,
                    pin_hash: hash_pin(&secret).map_err(anyhow::Error::msg)?,
                });
                for c in &p.certifications {
                    let issued = c.issued_date().context("issued date")?;
                    events.push(Event::PersonCertified {
                        badge: p.badge.get_ref().clone(),
                        certification: Certification {
                            level: c.level,
                            modules: c.modules.get_ref().clone(),
                            certificate: c.certificate.clone(),
                            issued,
                            expires: policy.certification_expiry(issued),
                        },
                    });
                }
            }
            append(&who.badge, events)?;
            println!(
                "imported {} people — saved; set each one's PIN with `traveler people set-pin BADGE --admin {}`",
                parsed.people.len(),
                who.badge
            );
        }
    }
    Ok(())
}

fn list(people: &[Person], today: NaiveDate, within: Option<i64>) {
    if let Some(days) = within {
        for (name, cert, expires, left) in expiring(people, today, days) {
            let when = if left < 0 {
                format!("EXPIRED {expires}")
            } else {
                format!("expires {expires} (in {left} days)")
            };
            println!("{name:<20} {cert:<24} {when}");
        }
        return;
    }
    println!(
        "{:<8} {:<20} {:<24} {:<12} {:<8} certificates",
        "badge", "name", "roles", "skill", "state"
    );
    for p in people {
        let roles: Vec<String> = p.roles.iter().map(|r| r.to_string()).collect();
        let state = if !p.active {
            "inactive".to_string()
        } else if p.is_locked(Utc::now()) {
            "LOCKED".to_string()
        } else {
            "active".to_string()
        };
        let certs: Vec<String> = p
            .certifications
            .iter()
            .map(|c| {
                let left = (c.expires - today).num_days();
                let warn = if left < 0 {
                    " EXPIRED".to_string()
                } else if left <= 30 {
                    format!(" expires in {left} days!")
                } else if left <= 60 {
                    format!(" expires in {left} days")
                } else {
                    String::new()
                };
                let m: Vec<String> = c.modules.iter().map(u8::to_string).collect();
                format!(
                    "{} {} modules {} until {}{warn}",
                    c.level,
                    c.certificate,
                    m.join(","),
                    c.expires
                )
            })
            .collect();
        println!(
            "{:<8} {:<20} {:<24} {:<12} {:<8} {}",
            p.badge,
            p.name,
            roles.join(","),
            p.skill.to_string(),
            state,
            if certs.is_empty() {
                "none".into()
            } else {
                certs.join("; ")
            }
        );
    }
}
