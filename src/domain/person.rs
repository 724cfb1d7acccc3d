//! The roster is a fold over person events, like everything else.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::event::{Event, Record};
use super::types::{Certification, Role, SkillLevel};

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Person {
    pub badge: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub skill: SkillLevel,
    #[serde(skip)]
    pub pin_hash: String,
    pub certifications: Vec<Certification>,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
    /// Wrong PINs since the last success or lock; five in a row lock the badge.
    pub failed_pins: u32,
}

impl Person {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// The certificates valid on `day` that cover `module`.
    pub fn covering(&self, module: u8, day: NaiveDate) -> impl Iterator<Item = &Certification> {
        self.certifications
            .iter()
            .filter(move |c| c.modules.contains(&module) && c.valid_on(day))
    }
}

/// Everyone ever enrolled, by badge, as of the records folded so far.
#[derive(Default, Clone, Debug)]
pub struct Roster {
    pub people: BTreeMap<String, Person>,
}

impl Roster {
    pub fn fold<'a>(records: impl IntoIterator<Item = &'a Record>) -> Roster {
        let mut r = Roster::default();
        for rec in records {
            r.apply(rec);
        }
        r
    }

    pub fn get(&self, badge: &str) -> Option<&Person> {
        self.people.get(badge)
    }

    pub fn apply(&mut self, rec: &Record) {
        match &rec.event {
            Event::PersonEnrolled {
                badge,
                name,
                roles,
                skill,
                pin_hash,
            } => {
                self.people.insert(
                    badge.clone(),
                    Person {
                        badge: badge.clone(),
                        name: name.clone(),
                        roles: roles.clone(),
                        skill: *skill,
                        pin_hash: pin_hash.clone(),
                        certifications: Vec::new(),
                        active: true,
                        locked_until: None,
                        failed_pins: 0,
                    },
                );
            }
            Event::PersonUpdated {
                badge,
                name,
                roles,
                skill,
            } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.name = name.clone();
                    p.roles = roles.clone();
                    p.skill = *skill;
                }
            }
            Event::PersonCertified {
                badge,
                certification,
            } => {
                if let Some(p) = self.people.get_mut(badge) {
                    // A re-issued certificate number replaces the old record.
                    p.certifications
                        .retain(|c| c.certificate != certification.certificate);
                    p.certifications.push(certification.clone());
                }
            }
            Event::CertificationRevoked {
                badge, certificate, ..
            } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.certifications.retain(|c| &c.certificate != certificate);
                }
            }
            Event::PersonDeactivated { badge, .. } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.active = false;
                }
            }
            Event::PinChanged { badge, pin_hash } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.pin_hash = pin_hash.clone();
                    p.failed_pins = 0;
                    p.locked_until = None;
                }
            }
            Event::PinRejected { badge, .. } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.failed_pins += 1;
                }
            }
            Event::BadgeLocked { badge, until } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.locked_until = Some(*until);
                    p.failed_pins = 0;
                }
            }
            // A signature or log-in proves the PIN was right: the count starts over.
            Event::LoggedIn { badge, .. } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.failed_pins = 0;
                }
            }
            Event::CheckpointSigned { signer, .. } => {
                if let Some(p) = self.people.get_mut(signer) {
                    p.failed_pins = 0;
                }
            }
            Event::JobReviewed { reviewer, .. } => {
                if let Some(p) = self.people.get_mut(reviewer) {
                    p.failed_pins = 0;
                }
            }
            _ => {}
        }
    }
}
