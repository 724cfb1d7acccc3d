//! `traveler people … --hub URL`: the shop roster at the hub. Each change goes to
//! the hub with the admin's badge and PIN (checked there, with the policy's lockout)
//! and is decided there by the same rules as at a bench; `list` and `gaps` read the
//! hub's roster. Every bench follows the hub's roster at its next contact. Exit
//! codes: 0 done, 1 refused, 2 the hub is unreachable (nothing changed).

use std::path::Path;

use anyhow::{Context, bail};
use chrono::Utc;

use super::people::{PeopleArgs, PeopleCommand, Pins, join, library, write_expiring, write_list};
use crate::domain::person::Person;
use crate::domain::types::Certification;
use crate::hub::client::{HubClient, RosterCallError};
use crate::hub::people::{ChangeReply, ChangeRequest, RosterChange, RosterRefusal};
use crate::people::admin;
use crate::people::certs::missing_modules;
use crate::people::roster_file;

/// A change to send: the admin who authorises it, the change, and what to say
/// once the hub recorded it.
type Planned = (
    Option<String>,
    RosterChange,
    Box<dyn Fn(&ChangeReply) -> String>,
);

/// What went wrong, and the exit code it means.
fn fail(e: &RosterCallError) -> i32 {
    eprintln!("traveler: {e}");
    match e {
        RosterCallError::Client(c) if c.is_transient() => 2,
        _ => 1,
    }
}

/// [`fail`] for a change: the person is told nothing was saved.
fn change_failed(e: &RosterCallError) -> i32 {
    let code = fail(e);
    if code == 2 {
        eprintln!("traveler: nothing changed at the hub");
    }
    code
}

pub fn run(args: PeopleArgs, instructions: Option<&Path>) -> anyhow::Result<i32> {
    let url = args.hub.clone().context("--hub URL")?;
    let Some(token) = args.hub_token.clone() else {
        eprintln!("traveler: give the hub's token with --hub-token or TRAVELER_HUB_TOKEN");
        return Ok(1);
    };
    let client = match HubClient::new(&url, &token, args.hub_ca.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("traveler: {e}");
            return Ok(1);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut pins = Pins {
        from_stdin: args.pin_stdin,
    };
    let msg = anyhow::Error::msg;
    let admin_pin = |pins: &mut Pins, badge: &str| {
        pins.next(&format!("PIN for admin {badge} (checked at the hub): "))
    };
    let (admin, change, said): Planned = match args.command {
        PeopleCommand::List { expiring } => return list(&rt, &client, instructions, expiring),
        PeopleCommand::Gaps => return gaps(&rt, &client, instructions),
        PeopleCommand::Init {
            badge,
            name,
            role,
            skill,
        } => {
            admin::check_badge(&badge).map_err(msg)?;
            admin::check_name(&name).map_err(msg)?;
            let new_pin = pins.new_pin(&badge)?;
            let n = name.trim().to_string();
            let b = badge.clone();
            (
                None,
                RosterChange::Init {
                    badge,
                    name,
                    roles: role,
                    skill,
                    new_pin,
                },
                Box::new(move |_| format!("enrolled {n} ({b}) as the hub roster's first admin")),
            )
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
            let pin = admin_pin(&mut pins, &admin.badge)?;
            let new_pin = pins.new_pin(&badge)?;
            let n = name.trim().to_string();
            let b = badge.clone();
            return send(
                &rt,
                &client,
                Some(admin.badge),
                pin,
                RosterChange::Enrol {
                    badge,
                    name,
                    roles,
                    skill,
                    new_pin,
                },
                &move |_| format!("enrolled {n} ({b}) at the hub"),
            );
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
            let b = badge.clone();
            (
                Some(admin.badge),
                RosterChange::Update {
                    badge,
                    name,
                    roles,
                    skill,
                },
                Box::new(move |r: &ChangeReply| match &r.person {
                    Some(p) => format!(
                        "{b}: {}, {}, {} at the hub",
                        p.name,
                        join(p.roles.iter().map(ToString::to_string), ","),
                        p.skill
                    ),
                    None => format!("{b} updated at the hub"),
                }),
            )
        }
        PeopleCommand::SetPin { badge, admin } => {
            let pin = admin_pin(&mut pins, &admin.badge)?;
            let new_pin = pins.new_pin(&badge)?;
            let b = badge.clone();
            return send(
                &rt,
                &client,
                Some(admin.badge),
                pin,
                RosterChange::SetPin { badge, new_pin },
                &move |_| format!("new PIN set for {b} at the hub (a lock on the badge is lifted)"),
            );
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
            admin::check_issued(issued, Utc::now().date_naive()).map_err(msg)?;
            let (b, c) = (badge.clone(), certificate.clone());
            (
                Some(admin.badge),
                RosterChange::Certify {
                    badge,
                    certification: Certification {
                        level,
                        modules,
                        certificate,
                        issued,
                        // The hub's policy sets the expiry.
                        expires: issued,
                    },
                },
                Box::new(move |r: &ChangeReply| {
                    let until = r
                        .person
                        .as_ref()
                        .and_then(|p| p.certifications.iter().find(|x| x.certificate == c))
                        .map(|x| format!(", valid until {}", x.expires))
                        .unwrap_or_default();
                    format!("{b}: {level} certificate {c} recorded at the hub{until}")
                }),
            )
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
            let (b, c) = (badge.clone(), certificate.clone());
            (
                Some(admin.badge),
                RosterChange::Revoke {
                    badge,
                    certificate,
                    reason,
                },
                Box::new(move |_| format!("certificate {c} of {b} revoked at the hub")),
            )
        }
        PeopleCommand::Deactivate {
            badge,
            reason,
            admin,
        } => {
            if reason.trim().is_empty() {
                bail!("a deactivation needs a --reason");
            }
            let b = badge.clone();
            (
                Some(admin.badge),
                RosterChange::Deactivate { badge, reason },
                Box::new(move |_| format!("{b} deactivated at the hub; their records stay")),
            )
        }
        PeopleCommand::Import {
            file,
            admin: admin_badge,
            check,
        } => {
            let lib = library(instructions)?;
            let policy = lib.policy.clone().context("policy")?;
            let hub_roster = match rt.block_on(client.roster_view()) {
                Ok(v) => v,
                Err(e) => return Ok(fail(&e)),
            };
            let mut roster = crate::domain::person::Roster::default();
            for p in &hub_roster.people {
                roster.people.insert(p.badge.clone(), p.person());
            }
            let people = match roster_file::load(&file, &roster, Utc::now().date_naive()) {
                Ok(p) => p,
                Err(problems) => {
                    for d in &problems {
                        eprintln!("{d}");
                    }
                    bail!("{} problem(s); nothing imported", problems.len());
                }
            };
            if check {
                println!(
                    "{} people: the file is good against the hub's roster; nothing saved",
                    people.len()
                );
                return Ok(0);
            }
            let admin_badge = admin_badge.context("--admin BADGE is needed to import")?;
            let events = roster_file::events(&people, &policy, roster_file::unknown_pin_hash)
                .map_err(msg)?;
            let n = people.len();
            (
                Some(admin_badge),
                RosterChange::Import { events },
                Box::new(move |_| {
                    format!(
                        "imported {n} people at the hub; each needs a PIN: \
                             traveler people set-pin BADGE --admin BADGE --hub URL"
                    )
                }),
            )
        }
    };
    let pin = match &admin {
        Some(b) => admin_pin(&mut pins, b)?,
        None => String::new(),
    };
    send(&rt, &client, admin, pin, change, &*said)
}

fn send(
    rt: &tokio::runtime::Runtime,
    client: &HubClient,
    admin: Option<String>,
    pin: String,
    change: RosterChange,
    said: &dyn Fn(&ChangeReply) -> String,
) -> anyhow::Result<i32> {
    let req = ChangeRequest { admin, pin, change };
    match rt.block_on(client.roster_change(&req)) {
        Ok(reply) => {
            let seqs: Vec<String> = reply.records.iter().map(|r| r.seq.to_string()).collect();
            println!(
                "{} — saved as hub record(s) {}; benches follow at their next contact",
                said(&reply),
                seqs.join(", ")
            );
            Ok(0)
        }
        Err(RosterCallError::Refused(RosterRefusal::Pin { message, .. })) => {
            eprintln!("traveler: {message} (at the hub); nothing changed");
            Ok(1)
        }
        Err(e) => Ok(change_failed(&e)),
    }
}

fn people_of(
    rt: &tokio::runtime::Runtime,
    client: &HubClient,
) -> Result<Vec<Person>, RosterCallError> {
    Ok(rt
        .block_on(client.roster_view())?
        .people
        .iter()
        .map(|p| p.person())
        .collect())
}

fn list(
    rt: &tokio::runtime::Runtime,
    client: &HubClient,
    _instructions: Option<&Path>,
    expiring: Option<i64>,
) -> anyhow::Result<i32> {
    let view = match rt.block_on(client.roster_view()) {
        Ok(v) => v,
        Err(e) => return Ok(fail(&e)),
    };
    let people: Vec<Person> = view.people.iter().map(|p| p.person()).collect();
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    let width = crossterm::terminal::size().ok().map(|(w, _)| w);
    let below = |b: &str| {
        view.people
            .iter()
            .any(|p| p.badge == b && p.pin_below_policy)
    };
    let r = match expiring {
        Some(days) => write_expiring(&mut out, width, &people, now.date_naive(), days),
        None => write_list(&mut out, width, &people, now.date_naive(), now, &below),
    };
    match r {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn gaps(
    rt: &tokio::runtime::Runtime,
    client: &HubClient,
    instructions: Option<&Path>,
) -> anyhow::Result<i32> {
    let lib = library(instructions)?;
    let people = match people_of(rt, client) {
        Ok(p) => p,
        Err(e) => return Ok(fail(&e)),
    };
    let gaps = missing_modules(&people, &lib, Utc::now().date_naive());
    if gaps.is_empty() {
        println!(
            "every active technician on the hub's roster holds the modules of every released instruction"
        );
        return Ok(0);
    }
    for g in gaps {
        println!(
            "{:<10} {:<24} {:<16} {}",
            g.badge,
            g.name,
            g.instruction,
            join(g.modules.iter().map(u8::to_string), ",")
        );
    }
    Ok(0)
}
