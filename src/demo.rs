//! The built-in demo: a roster shown on the log-in screen and seeded into the
//! demo store only. A real store never gets anybody it was not given.

use chrono::{Duration, NaiveDate};

use crate::domain::event::Event;
use crate::domain::policy::Policy;
use crate::domain::types::{CertLevel, Certification, Role, SkillLevel};
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
