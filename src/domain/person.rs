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
        // A roster change is saved only after its actor's PIN was checked, so it
        // proves that PIN like a log-in does: the wrong ones in a row start over.
        if matches!(
            rec.event,
            Event::PersonEnrolled { .. }
                | Event::PersonUpdated { .. }
                | Event::PersonCertified { .. }
                | Event::CertificationRevoked { .. }
                | Event::PersonDeactivated { .. }
                | Event::PinChanged { .. }
        ) && let Some(actor) = self.people.get_mut(&rec.actor)
        {
            actor.failed_pins = 0;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(seq: u64, actor: &str, event: Event) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
            actor: actor.into(),
            event,
        }
    }

    fn enrol(badge: &str) -> Event {
        Event::PersonEnrolled {
            badge: badge.into(),
            name: badge.into(),
            roles: vec![Role::Admin],
            skill: SkillLevel::Intermediate,
            pin_hash: String::new(),
        }
    }

    fn wrong(badge: &str) -> Event {
        Event::PinRejected {
            badge: badge.into(),
            purpose: "admin".into(),
        }
    }

    #[test]
    fn wrong_pins_count_in_a_row_until_a_proven_pin() {
        let deactivate = Event::PersonDeactivated {
            badge: "B".into(),
            reason: "left".into(),
        };
        let cases: Vec<(&str, Vec<Record>, u32, u32)> = vec![
            (
                "two wrong PINs count",
                vec![
                    rec(1, "A", enrol("A")),
                    rec(2, "A", wrong("A")),
                    rec(3, "A", wrong("A")),
                ],
                2,
                0,
            ),
            (
                "an admin's saved change proves the admin's PIN",
                vec![
                    rec(1, "A", enrol("A")),
                    rec(2, "A", wrong("A")),
                    rec(3, "A", enrol("B")),
                ],
                0,
                0,
            ),
            (
                "a change made by someone else proves nothing about the subject",
                vec![
                    rec(1, "A", enrol("A")),
                    rec(2, "A", enrol("B")),
                    rec(3, "B", wrong("B")),
                    rec(4, "A", deactivate.clone()),
                ],
                0,
                1,
            ),
            (
                "a wrong PIN recorded under the badge's own name proves nothing",
                vec![rec(1, "A", enrol("A")), rec(2, "A", wrong("A"))],
                1,
                0,
            ),
        ];
        for (name, records, a, b) in cases {
            let r = Roster::fold(&records);
            assert_eq!(r.get("A").map(|p| p.failed_pins), Some(a), "{name}: A");
            assert_eq!(r.get("B").map_or(0, |p| p.failed_pins), b, "{name}: B");
        }
    }

    #[test]
    fn deactivation_and_lock_reach_the_person() {
        let until = Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 0).unwrap();
        let r = Roster::fold(&[
            rec(1, "A", enrol("A")),
            rec(2, "A", enrol("B")),
            rec(
                3,
                "B",
                Event::BadgeLocked {
                    badge: "B".into(),
                    until,
                },
            ),
            rec(
                4,
                "A",
                Event::PersonDeactivated {
                    badge: "A".into(),
                    reason: "left".into(),
                },
            ),
        ]);
        let a = r.get("A").unwrap();
        let b = r.get("B").unwrap();
        assert!(!a.active);
        assert!(b.active && b.is_locked(until - chrono::Duration::seconds(1)));
        assert!(!b.is_locked(until));
    }
}
