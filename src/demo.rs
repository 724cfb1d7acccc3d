//! The built-in demo: a roster shown on the log-in screen and seeded into the
//! demo store only. A real store never gets anybody it was not given.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::domain::event::Event;
use crate::domain::policy::Policy;
use crate::domain::types::{CertLevel, Certification, Role, SkillLevel};
use crate::instruction::Library;
use crate::people::pin::hash_pin;
use crate::store::Store;

pub struct DemoPerson {
    pub badge: &'static str,
    pub pin: &'static str,
    pub name: &'static str,
    pub roles: &'static [Role],
    pub skill: SkillLevel,
    pub level: CertLevel,
    pub modules: &'static [u8],
    /// Days before today the certificate was issued.
    pub issued_days_ago: i64,
}

pub const ROSTER: &[DemoPerson] = &[
    DemoPerson {
        badge: "T100",
        pin: "1111",
        name: "Ana Lima",
        roles: &[Role::Technician],
        skill: SkillLevel::Expert,
        level: CertLevel::CIS,
        modules: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        issued_days_ago: 200,
    },
    DemoPerson {
        badge: "T200",
        pin: "2222",
        name: "Ben Okafor",
        roles: &[Role::Technician],
        skill: SkillLevel::Advanced,
        level: CertLevel::CIS,
        modules: &[1, 2, 3, 4, 5, 6, 7, 9, 10],
        issued_days_ago: 700,
    },
    DemoPerson {
        badge: "I300",
        pin: "3333",
        name: "Chen Wei",
        roles: &[Role::Inspector, Role::Technician],
        skill: SkillLevel::Expert,
        level: CertLevel::CIS,
        modules: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        issued_days_ago: 90,
    },
    DemoPerson {
        badge: "S400",
        pin: "4444",
        name: "Dana Roth",
        roles: &[Role::Supervisor, Role::Inspector],
        skill: SkillLevel::Expert,
        level: CertLevel::CSE,
        modules: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        issued_days_ago: 400,
    },
    // A second supervisor: a job Dana Roth inspected can still be reviewed.
    DemoPerson {
        badge: "S500",
        pin: "5555",
        name: "Eli Moreau",
        roles: &[Role::Supervisor],
        skill: SkillLevel::Advanced,
        level: CertLevel::CIS,
        modules: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        issued_days_ago: 300,
    },
    DemoPerson {
        badge: "A900",
        pin: "9999",
        name: "Quality Admin",
        roles: &[Role::Admin],
        skill: SkillLevel::Intermediate,
        level: CertLevel::CIS,
        modules: &[1],
        issued_days_ago: 30,
    },
];

/// The demo's engineer: released the shipped instructions in the demo store, and
/// releases new revisions in it (`traveler instructions release FILE --by E700`).
/// Not on the log-in screen's list: releasing is not done at the bench.
pub const ENGINEER: DemoPerson = DemoPerson {
    badge: "E700",
    pin: "7777",
    name: "Eva Berg",
    roles: &[Role::Engineer],
    skill: SkillLevel::Expert,
    level: CertLevel::CIS,
    modules: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    issued_days_ago: 100,
};

/// What the log-in screen shows in demo mode.
pub fn badges() -> Vec<crate::tui::state::DemoBadge> {
    ROSTER
        .iter()
        .map(|p| crate::tui::state::DemoBadge {
            badge: p.badge.into(),
            pin: p.pin.into(),
            who: format!(
                "{}: {} ({}{})",
                p.name,
                p.roles
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("+"),
                p.skill,
                if p.modules.contains(&8) {
                    ""
                } else {
                    ", no module 8"
                }
            ),
        })
        .collect()
}

/// Enrols the demo roster when the store has nobody yet; true if it did.
pub fn seed(store: &Store, policy: &Policy, today: NaiveDate) -> Result<bool, String> {
    if store.people_events().next().is_some() {
        return Ok(false);
    }
    let mut events = Vec::new();
    for p in ROSTER {
        events.push(Event::PersonEnrolled {
            badge: p.badge.into(),
            name: p.name.into(),
            roles: p.roles.to_vec(),
            skill: p.skill,
            pin_hash: hash_pin(p.pin)?,
        });
        let issued = today - Duration::days(p.issued_days_ago);
        events.push(Event::PersonCertified {
            badge: p.badge.into(),
            certification: Certification {
                level: p.level,
                modules: p.modules.to_vec(),
                certificate: format!("DEMO-{}-{}", p.badge, issued.format("%Y%m%d")),
                issued,
                expires: policy.certification_expiry(issued),
            },
        });
    }
    store
        .append_batch("demo", events)
        .map_err(|e| format!("cannot seed the demo roster: {e}"))?;
    Ok(true)
}

/// Releases, as the demo engineer, every instruction of `library` never released in
/// the store (enrolling her first when she is not on the roster), so the demo's
/// bench starts jobs the way a controlled shop's does. Returns how many it released.
/// Files changed since their release stay as they are: the bench says so.
pub fn seed_releases(
    store: &Store,
    library: &Library,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let fail = |e: crate::store::StoreError| format!("cannot seed the demo releases: {e}");
    let releases = store.releases().map_err(fail)?;
    let roster = crate::people::auth::roster(store).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    let e = &ENGINEER;
    if roster.get(e.badge).is_none() {
        events.push(Event::PersonEnrolled {
            badge: e.badge.into(),
            name: e.name.into(),
            roles: e.roles.to_vec(),
            skill: e.skill,
            pin_hash: hash_pin(e.pin)?,
        });
    }
    let identity = store.identity();
    let mut stored: Vec<String> = Vec::new();
    let mut released = 0;
    for ins in &library.instructions {
        if releases.current(ins.id()).is_some() {
            continue;
        }
        let text = std::fs::read_to_string(&ins.path)
            .map_err(|err| format!("cannot read {}: {err}", ins.path.display()))?;
        if hex::encode(Sha256::digest(text.as_bytes())) != ins.hash {
            return Err(format!(
                "{} changed while traveler started: start it again",
                ins.path.display()
            ));
        }
        let have = stored.contains(&ins.hash)
            || store
                .archived_instruction(&ins.hash)
                .map_err(fail)?
                .is_some();
        stored.push(ins.hash.clone());
        events.push(Event::InstructionReleased {
            instruction_id: ins.id().to_string(),
            revision: ins.revision().to_string(),
            hash: ins.hash.clone(),
            file_name: ins
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text: (!have).then_some(text),
            effective: now,
            by: e.badge.into(),
            by_name: e.name.into(),
            reason: "demo: the shipped instructions, released for the demo bench".into(),
            origin_store: identity.store_id.clone(),
            origin_bench: identity.bench.clone(),
            supersedes: None,
        });
        released += 1;
    }
    if events.is_empty() {
        return Ok(0);
    }
    let records = store
        .append_batch_at(
            events
                .into_iter()
                .map(|ev| (now, e.badge.to_string(), ev))
                .collect(),
        )
        .map_err(fail)?;
    for r in &records {
        if let Event::InstructionReleased {
            hash,
            text: Some(_),
            ..
        } = &r.event
        {
            store.note_archived(hash, r.seq).map_err(fail)?;
        }
    }
    Ok(released)
}
