//! Controlled work instructions as pure rules: which revision of each instruction is
//! released (a fold over `InstructionReleased` records), where a file in the folder
//! stands against it, and who may release. No I/O: the core loads the records.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::event::{Event, Record, ReleaseRefusal};
use super::person::Person;
use super::types::Role;

/// The role that may release instructions.
pub const RELEASER: Role = Role::Engineer;

/// One release as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Released {
    pub seq: u64,
    pub instruction_id: String,
    pub revision: String,
    pub hash: String,
    pub file_name: String,
    pub effective: DateTime<Utc>,
    pub by: String,
    pub by_name: String,
    pub reason: String,
    pub origin_store: String,
    pub origin_bench: String,
}

/// Every release of every instruction, in the order they were recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseBook {
    by_id: BTreeMap<String, Vec<Released>>,
}

impl ReleaseBook {
    pub fn fold<'a>(records: impl IntoIterator<Item = &'a Record>) -> ReleaseBook {
        let mut book = ReleaseBook::default();
        for r in records {
            book.push(r);
        }
        book
    }

    pub fn push(&mut self, r: &Record) {
        if let Event::InstructionReleased {
            instruction_id,
            revision,
            hash,
            file_name,
            effective,
            by,
            by_name,
            reason,
            origin_store,
            origin_bench,
            ..
        } = &r.event
        {
            self.by_id
                .entry(instruction_id.clone())
                .or_default()
                .push(Released {
                    seq: r.seq,
                    instruction_id: instruction_id.clone(),
                    revision: revision.clone(),
                    hash: hash.clone(),
                    file_name: file_name.clone(),
                    effective: *effective,
                    by: by.clone(),
                    by_name: by_name.clone(),
                    reason: reason.clone(),
                    origin_store: origin_store.clone(),
                    origin_bench: origin_bench.clone(),
                });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Instruction ids with at least one release.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    /// Every release of `id`, oldest first.
    pub fn history(&self, id: &str) -> &[Released] {
        self.by_id.get(id).map_or(&[], Vec::as_slice)
    }

    /// The revision of `id` in force: the last released.
    pub fn current(&self, id: &str) -> Option<&Released> {
        self.history(id).last()
    }

    /// The release of `id` at `revision` (the last, should one be released twice).
    pub fn revision(&self, id: &str, revision: &str) -> Option<&Released> {
        self.history(id)
            .iter()
            .rev()
            .find(|r| r.revision == revision)
    }

    /// The release of the text whose hash is `hash`, if it was released.
    pub fn by_hash(&self, hash: &str) -> Option<&Released> {
        self.by_id
            .values()
            .flat_map(|v| v.iter())
            .filter(|r| r.hash == hash)
            .max_by_key(|r| r.seq)
    }

    /// The release that replaced `r`, if one did.
    pub fn superseded_by(&self, r: &Released) -> Option<&Released> {
        self.history(&r.instruction_id)
            .iter()
            .find(|n| n.seq > r.seq && n.hash != r.hash)
    }
}

/// Where a text of an instruction stands against its releases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Standing {
    /// The text is the revision in force.
    Released(Box<Released>),
    /// The instruction was never released.
    Draft,
    /// The instruction is released but this text is not any released revision: the
    /// file changed since (same revision) or is a new revision not yet released.
    Changed {
        current: Box<Released>,
        revision: String,
    },
    /// The text is a revision released earlier and since replaced.
    Superseded {
        this: Box<Released>,
        current: Box<Released>,
    },
}

impl Standing {
    /// Where the text `hash` of instruction `id` (revision `revision`) stands.
    pub fn of(book: &ReleaseBook, id: &str, revision: &str, hash: &str) -> Standing {
        let Some(current) = book.current(id) else {
            return Standing::Draft;
        };
        if current.hash == hash {
            return Standing::Released(Box::new(current.clone()));
        }
        match book.history(id).iter().rev().find(|r| r.hash == hash) {
            Some(this) => Standing::Superseded {
                this: Box::new(this.clone()),
                current: Box::new(current.clone()),
            },
            None => Standing::Changed {
                current: Box::new(current.clone()),
                revision: revision.to_string(),
            },
        }
    }

    pub fn released(&self) -> Option<&Released> {
        match self {
            Standing::Released(r) => Some(r),
            _ => None,
        }
    }
}

/// Why the bench will not start a job on a text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum NotReleased {
    Draft,
    ChangedSinceRelease {
        revision: String,
        on: DateTime<Utc>,
        by_name: String,
    },
    /// A new revision of an instruction released before at another.
    NewRevision {
        revision: String,
        released: String,
        on: DateTime<Utc>,
        by_name: String,
    },
    Superseded {
        revision: String,
        by_revision: String,
        on: DateTime<Utc>,
        by_name: String,
    },
}

impl fmt::Display for NotReleased {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d").to_string();
        match self {
            NotReleased::Draft => write!(f, "draft: never released"),
            NotReleased::ChangedSinceRelease {
                revision,
                on,
                by_name,
            } => write!(
                f,
                "changed since release on {} by {by_name} (rev {revision})",
                day(on)
            ),
            NotReleased::NewRevision {
                revision,
                released,
                on,
                by_name,
            } => write!(
                f,
                "rev {revision} is a draft: rev {released} is released (on {} by {by_name})",
                day(on)
            ),
            NotReleased::Superseded {
                revision,
                by_revision,
                on,
                by_name,
            } => write!(
                f,
                "rev {revision} was superseded by rev {by_revision} on {} by {by_name}",
                day(on)
            ),
        }
    }
}

/// What keeps a new job from starting on a text standing so: `None` when it may.
/// Shops that do not control documents at the bench set `require_release = false`.
pub fn start_refusal(require_release: bool, standing: &Standing) -> Option<NotReleased> {
    if !require_release {
        return None;
    }
    match standing {
        Standing::Released(_) => None,
        Standing::Draft => Some(NotReleased::Draft),
        Standing::Changed { current, revision } if *revision == current.revision => {
            Some(NotReleased::ChangedSinceRelease {
                revision: revision.clone(),
                on: current.effective,
                by_name: current.by_name.clone(),
            })
        }
        Standing::Changed { current, revision } => Some(NotReleased::NewRevision {
            revision: revision.clone(),
            released: current.revision.clone(),
            on: current.effective,
            by_name: current.by_name.clone(),
        }),
        Standing::Superseded { this, current } => Some(NotReleased::Superseded {
            revision: this.revision.clone(),
            by_revision: current.revision.clone(),
            on: current.effective,
            by_name: current.by_name.clone(),
        }),
    }
}

/// Whether `text` is the text a release names by `hash` (hex SHA-256 of its bytes):
/// how a release received from elsewhere, or read back from the store, is checked.
pub fn text_matches(hash: &str, text: &str) -> bool {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes())) == hash
}

/// Releasing needs an active, unlocked person with the engineer role.
pub fn may_release(person: &Person, now: DateTime<Utc>) -> Result<(), ReleaseRefusal> {
    if !person.active {
        return Err(ReleaseRefusal::Inactive);
    }
    if let Some(until) = person.locked_until.filter(|u| now < *u) {
        return Err(ReleaseRefusal::Locked { until });
    }
    if !person.has_role(RELEASER) {
        return Err(ReleaseRefusal::RoleMissing { role: RELEASER });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::types::SkillLevel;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap()
    }

    fn released(seq: u64, id: &str, rev: &str, hash: &str) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: at(seq as u32),
            actor: "E1".into(),
            event: Event::InstructionReleased {
                instruction_id: id.into(),
                revision: rev.into(),
                hash: hash.into(),
                file_name: format!("{id}.toml"),
                text: None,
                effective: at(seq as u32),
                by: "E1".into(),
                by_name: "Eva Berg".into(),
                reason: "ECO-1".into(),
                origin_store: "s".into(),
                origin_bench: "B1".into(),
                supersedes: None,
            },
        }
    }

    #[test]
    fn standing_and_start_refusal_table() {
        let book = ReleaseBook::fold(&[
            released(1, "WI", "A", "ha"),
            released(2, "WI", "B", "hb"),
            released(3, "OTHER", "A", "ho"),
        ]);
        let day = at(2);
        let cases: Vec<(&str, &str, &str, bool, Option<NotReleased>)> = vec![
            ("the revision in force", "B", "hb", true, None),
            (
                "a never released instruction",
                "A",
                "hx",
                true,
                Some(NotReleased::Draft),
            ),
            (
                "the released revision with other bytes",
                "B",
                "hx",
                true,
                Some(NotReleased::ChangedSinceRelease {
                    revision: "B".into(),
                    on: day,
                    by_name: "Eva Berg".into(),
                }),
            ),
            (
                "a new revision not yet released",
                "C",
                "hc",
                true,
                Some(NotReleased::NewRevision {
                    revision: "C".into(),
                    released: "B".into(),
                    on: day,
                    by_name: "Eva Berg".into(),
                }),
            ),
            (
                "the superseded revision",
                "A",
                "ha",
                true,
                Some(NotReleased::Superseded {
                    revision: "A".into(),
                    by_revision: "B".into(),
                    on: day,
                    by_name: "Eva Berg".into(),
                }),
            ),
            (
                "require_release = false runs a draft",
                "C",
                "hc",
                false,
                None,
            ),
        ];
        for (name, rev, hash, require, want) in cases {
            let id = if name.starts_with("a never") {
                "NEW"
            } else {
                "WI"
            };
            let standing = Standing::of(&book, id, rev, hash);
            assert_eq!(start_refusal(require, &standing), want, "{name}");
        }
        let a = book.revision("WI", "A").unwrap();
        assert_eq!(
            book.superseded_by(a).map(|r| r.revision.as_str()),
            Some("B")
        );
        assert_eq!(
            book.by_hash("ho").map(|r| r.instruction_id.as_str()),
            Some("OTHER")
        );
    }

    #[test]
    fn a_text_matches_only_its_own_hash() {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(text_matches(hash, "test"));
        assert!(!text_matches(hash, "test\n"));
        assert!(!text_matches("", "test"));
    }

    #[test]
    fn the_reason_names_the_day_and_the_releaser() {
        let why = NotReleased::ChangedSinceRelease {
            revision: "A".into(),
            on: at(9),
            by_name: "Eva Berg".into(),
        };
        assert_eq!(
            why.to_string(),
            "changed since release on 2026-12-01 by Eva Berg (rev A)"
        );
    }

    #[test]
    fn may_release_table() {
        let person = |roles: &[Role], active: bool, locked: Option<DateTime<Utc>>| Person {
            badge: "P".into(),
            name: "P".into(),
            roles: roles.to_vec(),
            skill: SkillLevel::Expert,
            pin_hash: String::new(),
            certifications: vec![],
            active,
            locked_until: locked,
            failed_pins: 0,
        };
        let now = at(10);
        let cases = [
            ("engineer", person(&[Role::Engineer], true, None), Ok(())),
            (
                "admin is not enough",
                person(&[Role::Admin, Role::Supervisor], true, None),
                Err(ReleaseRefusal::RoleMissing {
                    role: Role::Engineer,
                }),
            ),
            (
                "deactivated",
                person(&[Role::Engineer], false, None),
                Err(ReleaseRefusal::Inactive),
            ),
            (
                "locked",
                person(&[Role::Engineer], true, Some(at(11))),
                Err(ReleaseRefusal::Locked { until: at(11) }),
            ),
            (
                "a lock that ended",
                person(&[Role::Engineer], true, Some(at(9))),
                Ok(()),
            ),
        ];
        for (name, p, want) in cases {
            assert_eq!(may_release(&p, now), want, "{name}");
        }
    }
}
