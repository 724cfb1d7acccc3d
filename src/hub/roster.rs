//! The shop roster at the hub: people are records of the hub's own chain
//! (`chain`), folded by the bench's own `Roster::fold`. An existing bench roster is
//! imported once (`traveler hub roster import`): each person's roster records are
//! copied into the hub chain, a badge the hub already holds is left as the hub has it
//! and reported, and a `RosterImported` record names the bench chain's head it came
//! from, so an import of the same store a second time is refused.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;

use crate::domain::event::{Event, Record, RosterConflict, RosterConflictReason, SYSTEM_ACTOR};
use crate::domain::person::Roster;
use crate::store::{Store, StoreError};

use super::chain::{self, ChainError};
use super::db::{self, DbError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the bench store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the roster of store {store_id} was imported already (hub record {seq}); \
         an import happens once: manage the roster at the hub"
    )]
    AlreadyImported { store_id: String, seq: u64 },
    #[error("store {store_id} has nobody on its roster: nothing to import")]
    Empty { store_id: String },
}

impl From<tokio_postgres::Error> for ImportError {
    fn from(e: tokio_postgres::Error) -> Self {
        ImportError::Chain(ChainError::Db(e))
    }
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportReport {
    pub store_id: String,
    pub bench: String,
    pub imported: Vec<String>,
    pub conflicts: Vec<RosterConflict>,
    /// The hub records written: first and last seq.
    pub hub_seqs: (u64, u64),
}

/// The kinds that make up a person at the hub. Log-ins, wrong PINs and spent locks
/// are the bench's history, not the person.
fn is_roster_fact(e: &Event, now: DateTime<Utc>) -> bool {
    match e {
        Event::PersonEnrolled { .. }
        | Event::PersonUpdated { .. }
        | Event::PersonCertified { .. }
        | Event::CertificationRevoked { .. }
        | Event::PersonDeactivated { .. }
        | Event::PinChanged { .. }
        | Event::PinPolicyMet { .. } => true,
        // A lock still in force stays in force at the hub.
        Event::BadgeLocked { until, .. } => *until > now,
        _ => false,
    }
}

/// Which of the bench's badges the hub takes, and which it leaves (pure).
pub fn plan(bench: &Roster, hub: &Roster) -> (Vec<String>, Vec<RosterConflict>) {
    let mut imported = Vec::new();
    let mut conflicts = Vec::new();
    for (badge, p) in &bench.people {
        match hub.get(badge) {
            None => imported.push(badge.clone()),
            Some(h) => conflicts.push(RosterConflict {
                badge: badge.clone(),
                reason: if h.name == p.name {
                    RosterConflictReason::AlreadyAtHub
                } else {
                    RosterConflictReason::OtherPersonAtHub
                },
            }),
        }
    }
    (imported, conflicts)
}

/// Imports `store`'s roster into the hub chain, in one transaction.
pub async fn import(
    pool: &Pool,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let records: Vec<Record> = store.people_events().collect::<Result<_, _>>()?;
    let bench_roster = Roster::fold(&records);
    let identity = store.identity().clone();
    let head = store.chain_head();
    if bench_roster.people.is_empty() {
        return Err(ImportError::Empty {
            store_id: identity.store_id,
        });
    }
    let mut c = db::client(pool).await?;
    let tx = c.transaction().await?;
    chain::lock(&tx).await?;
    if let Some(r) = tx
        .query_opt(
            "SELECT seq FROM hub_chain WHERE kind = 'roster_imported'
             AND doc -> 'event' ->> 'store_id' = $1",
            &[&identity.store_id],
        )
        .await?
    {
        return Err(ImportError::AlreadyImported {
            store_id: identity.store_id,
            seq: r.get::<_, i64>(0) as u64,
        });
    }
    let hub_roster = chain::roster(&*tx).await?;
    let (imported, conflicts) = plan(&bench_roster, &hub_roster);
    let mut events: Vec<(DateTime<Utc>, String, Event)> = records
        .into_iter()
        .filter(|r| is_roster_fact(&r.event, now))
        .filter(|r| {
            r.event
                .person()
                .is_some_and(|b| imported.iter().any(|i| i == b))
        })
        .map(|r| (now, r.actor, r.event))
        .collect();
    events.push((
        now,
        SYSTEM_ACTOR.to_string(),
        Event::RosterImported {
            store_id: identity.store_id.clone(),
            bench: identity.bench.clone(),
            head_seq: head.seq,
            head_hash: head.hash_hex(),
            imported: imported.clone(),
            conflicts: conflicts.clone(),
        },
    ));
    let written = chain::append(&tx, events).await?;
    tx.commit().await?;
    let seqs = (
        written.first().map_or(0, |r| r.record.seq),
        written.last().map_or(0, |r| r.record.seq),
    );
    Ok(ImportReport {
        store_id: identity.store_id,
        bench: identity.bench,
        imported,
        conflicts,
        hub_seqs: seqs,
    })
}

/// The hub's roster as its chain has it now.
pub async fn current(pool: &Pool) -> Result<Roster, ImportError> {
    let c = db::client(pool).await?;
    Ok(chain::roster(&**c).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::person::Person;

    fn person(badge: &str, name: &str) -> Person {
        Person {
            badge: badge.into(),
            name: name.into(),
            roles: vec![],
            skill: crate::domain::types::SkillLevel::Intermediate,
            pin_hash: String::new(),
            certifications: vec![],
            active: true,
            locked_until: None,
            failed_pins: 0,
        }
    }

    fn roster(people: &[(&str, &str)]) -> Roster {
        let mut r = Roster::default();
        for (b, n) in people {
            r.people.insert(b.to_string(), person(b, n));
        }
        r
    }

    #[test]
    fn plan_takes_new_badges_and_reports_the_others_by_badge() {
        let bench = roster(&[("T1", "Tom"), ("S1", "Sue"), ("I1", "Ivy")]);
        let hub = roster(&[("S1", "Sue"), ("I1", "Ian")]);
        let (imported, conflicts) = plan(&bench, &hub);
        assert_eq!(imported, ["T1"]);
        assert_eq!(
            conflicts,
            [
                RosterConflict {
                    badge: "I1".into(),
                    reason: RosterConflictReason::OtherPersonAtHub
                },
                RosterConflict {
                    badge: "S1".into(),
                    reason: RosterConflictReason::AlreadyAtHub
                },
            ]
        );
        let (all, none) = plan(&bench, &Roster::default());
        assert_eq!(all.len(), 3);
        assert!(none.is_empty());
    }

    #[test]
    fn only_the_person_and_locks_in_force_are_roster_facts() {
        let now = Utc::now();
        let locked = |until| Event::BadgeLocked {
            badge: "T1".into(),
            until,
        };
        assert!(is_roster_fact(
            &locked(now + chrono::Duration::minutes(5)),
            now
        ));
        assert!(!is_roster_fact(
            &locked(now - chrono::Duration::minutes(5)),
            now
        ));
        assert!(!is_roster_fact(
            &Event::LoggedIn {
                badge: "T1".into(),
                bench: "B".into()
            },
            now
        ));
        assert!(!is_roster_fact(
            &Event::PinRejected {
                badge: "T1".into(),
                purpose: "log-in".into()
            },
            now
        ));
    }
}

/// `traveler hub roster …`
#[derive(clap::Subcommand, Debug)]
pub enum RosterCommand {
    /// Import a bench's roster into the hub, once (conflicts reported by badge).
    Import {
        #[command(flatten)]
        db: super::cli::DbArg,
        /// The bench store whose roster to import (the application there closed).
        #[arg(long, value_name = "DIR", env = "TRAVELER_STORE")]
        store: Option<std::path::PathBuf>,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// The hub's roster: badge, name, roles, and whether each badge may sign.
    List {
        #[command(flatten)]
        db: super::cli::DbArg,
    },
}

/// Runs a roster command; the exit code: 0 done, 1 refused, 2 database unreachable.
/// `top_store`: a `--store` the binary moved to the top of the command line.
pub async fn run(cmd: RosterCommand, top_store: Option<std::path::PathBuf>) -> anyhow::Result<i32> {
    use std::io::Write;
    let fail = |e: ImportError| {
        eprintln!("error: {e}");
        match e {
            ImportError::Db(db::DbError::Pool(_)) | ImportError::Chain(ChainError::Db(_)) => 2,
            _ => 1,
        }
    };
    match cmd {
        RosterCommand::Import { db, store, json } => {
            let pool = db::pool(&db.db)?;
            let Some(store) = store.or(top_store) else {
                eprintln!("error: give the bench store to import with --store DIR");
                return Ok(1);
            };
            let store = match Store::open_existing(&store, crate::store::OpenOptions::default()) {
                Ok(s) => s,
                Err(e) => return Ok(fail(ImportError::Store(e))),
            };
            let report = match import(&pool, &store, Utc::now()).await {
                Ok(r) => r,
                Err(e) => return Ok(fail(e)),
            };
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
                return Ok(0);
            }
            writeln!(
                out,
                "imported {} people from bench {} (store {}) as hub records {}-{}: {}",
                report.imported.len(),
                report.bench,
                report.store_id,
                report.hub_seqs.0,
                report.hub_seqs.1,
                report.imported.join(", ")
            )?;
            for c in &report.conflicts {
                writeln!(
                    out,
                    "conflict: badge {} {}; left as the hub has it",
                    c.badge,
                    match c.reason {
                        RosterConflictReason::AlreadyAtHub => "is already on the hub's roster",
                        RosterConflictReason::OtherPersonAtHub =>
                            "belongs to another person (another name) at the hub",
                    }
                )?;
            }
            Ok(0)
        }
        RosterCommand::List { db } => {
            let pool = db::pool(&db.db)?;
            let roster = match current(&pool).await {
                Ok(r) => r,
                Err(e) => return Ok(fail(e)),
            };
            let now = Utc::now();
            let mut out = std::io::stdout().lock();
            for p in roster.people.values() {
                let state = if !p.active {
                    "deactivated".to_string()
                } else if let Some(u) = p.locked_until.filter(|u| now < *u) {
                    format!("locked until {} UTC", u.format("%Y-%m-%d %H:%M"))
                } else {
                    "active".to_string()
                };
                let roles: Vec<String> = p.roles.iter().map(|r| format!("{r:?}")).collect();
                writeln!(
                    out,
                    "{:<10} {:<24} {:<28} {}",
                    p.badge,
                    p.name,
                    roles.join(","),
                    state
                )?;
            }
            Ok(0)
        }
    }
}
