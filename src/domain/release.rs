//! Controlled work instructions as pure rules: which revision of each instruction is
//! released (a fold over `InstructionReleased` records, the bench's own and those
//! released at the shop hub and mirrored here), where a file in the folder stands
//! against it, and who may release. No I/O: the core loads the records.
//!
//! A release made at the hub is taken only when its text is there and hashes to the
//! release's hash (the hub record's own hash was checked when it was mirrored); one
//! that does not is kept apart as refused, and shown. A revision released with two
//! different texts (here and at the hub) is a conflict: no new job starts on that
//! revision until a new one is released, and the conflict is shown, never resolved
//! by picking one.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Event, Record, ReleaseRefusal};
use super::person::Person;
use super::types::Role;

/// The role that may release instructions.
pub const RELEASER: Role = Role::Engineer;

/// One release as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Released at the shop hub: the hub record that holds it (mirrored into this
    /// chain at `seq`). `None` for a release made at this bench.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<HubRef>,
}

/// A record of the shop hub's chain, by seq and hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubRef {
    pub seq: u64,
    pub hash: String,
}

/// A release mirrored from the hub that the bench does not take, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedRelease {
    /// The mirror record in this chain.
    pub seq: u64,
    pub hub: HubRef,
    pub instruction_id: String,
    pub revision: String,
    pub hash: String,
    pub fault: ReleaseFault,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ReleaseFault {
    /// The hub record names a text it does not carry.
    TextMissing,
    /// The text it carries does not hash to the release's hash.
    TextMismatch,
}

impl fmt::Display for ReleaseFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseFault::TextMissing => "the hub record carries no text",
            ReleaseFault::TextMismatch => "its text does not hash to the release's sha256",
        })
    }
}

/// Checks the text a release received from the hub carries (pure): what the bench
/// does before it mirrors one, and again whenever it folds its releases.
pub fn check_hub_release(e: &Event) -> Result<(), ReleaseFault> {
    match e {
        Event::InstructionReleased {
            hash,
            text: Some(text),
            ..
        } if text_matches(hash, text) => Ok(()),
        Event::InstructionReleased { text: Some(_), .. } => Err(ReleaseFault::TextMismatch),
        _ => Err(ReleaseFault::TextMissing),
    }
}

/// Every release of every instruction, in the order they were recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseBook {
    by_id: BTreeMap<String, Vec<Released>>,
    refused: Vec<RefusedRelease>,
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
        self.push_from(r.seq, &r.event, None);
    }

    /// A book of releases as another place listed them (the hub's), in seq order.
    pub fn from_released(list: Vec<Released>) -> ReleaseBook {
        let mut book = ReleaseBook::default();
        for r in list {
            book.by_id
                .entry(r.instruction_id.clone())
                .or_default()
                .push(r);
        }
        for v in book.by_id.values_mut() {
            v.sort_by_key(|r| r.seq);
        }
        book
    }

    /// A release made at the hub, mirrored into this chain by the record `seq`:
    /// `hub` is the hub record (`inner`) it copies. Taken only when its text holds.
    pub fn push_mirrored(&mut self, seq: u64, hub: HubRef, inner: &Record) {
        let Event::InstructionReleased {
            instruction_id,
            revision,
            hash,
            ..
        } = &inner.event
        else {
            return;
        };
        match check_hub_release(&inner.event) {
            Ok(()) => self.push_from(seq, &inner.event, Some(hub)),
            Err(fault) => self.refused.push(RefusedRelease {
                seq,
                hub,
                instruction_id: instruction_id.clone(),
                revision: revision.clone(),
                hash: hash.clone(),
                fault,
            }),
        }
    }

    /// Releases mirrored from the hub that were not taken.
    pub fn refused(&self) -> &[RefusedRelease] {
        &self.refused
    }

    /// The last release of `id` naming the text `hash` that was not taken, unless
    /// a release of that text was taken (then the text is released).
    pub fn refused_text(&self, id: &str, hash: &str) -> Option<&RefusedRelease> {
        if self.history(id).iter().any(|r| r.hash == hash) {
            return None;
        }
        self.refused
            .iter()
            .rev()
            .find(|r| r.instruction_id == id && r.hash == hash)
    }

    fn push_from(&mut self, seq: u64, event: &Event, hub: Option<HubRef>) {
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
        } = event
        {
            self.by_id
                .entry(instruction_id.clone())
                .or_default()
                .push(Released {
                    seq,
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
                    hub,
                });
        }
    }

    /// The releases of `id` at `revision` with texts that differ (one per text,
    /// the last of each, oldest first): empty unless the revision is a conflict —
    /// released here with other bytes than at the hub (or twice at either).
    pub fn conflict(&self, id: &str, revision: &str) -> Vec<&Released> {
        let mut out: Vec<&Released> = Vec::new();
        for r in self.history(id).iter().filter(|r| r.revision == revision) {
            match out.iter_mut().find(|o| o.hash == r.hash) {
                Some(o) => *o = r,
                None => out.push(r),
            }
        }
        if out.len() < 2 {
            return Vec::new();
        }
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Every (instruction, revision) released with more than one text.
    pub fn conflicts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (id, history) in &self.by_id {
            let mut revs: Vec<&str> = history.iter().map(|r| r.revision.as_str()).collect();
            revs.sort_unstable();
            revs.dedup();
            for rev in revs {
                if !self.conflict(id, rev).is_empty() {
                    out.push((id.clone(), rev.to_string()));
                }
            }
        }
        out
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
    /// The text's revision was released with different texts (at this bench and at
    /// the hub): which one is meant is for an engineer to settle, not the bench.
    Conflict {
        revision: String,
        releases: Vec<Released>,
    },
    /// The hub released this very text (by its hash) but the copy the bench
    /// received did not hold (`ReleaseFault`): not taken, and said so rather than
    /// passing for a draft.
    HubReleaseRefused(Box<RefusedRelease>),
}

impl Standing {
    /// Where the text `hash` of instruction `id` (revision `revision`) stands.
    pub fn of(book: &ReleaseBook, id: &str, revision: &str, hash: &str) -> Standing {
        let Some(current) = book.current(id) else {
            return match book.refused_text(id, hash) {
                Some(r) => Standing::HubReleaseRefused(Box::new(r.clone())),
                None => Standing::Draft,
            };
        };
        let conflict = book.conflict(id, revision);
        if !conflict.is_empty() {
            return Standing::Conflict {
                revision: revision.to_string(),
                releases: conflict.into_iter().cloned().collect(),
            };
        }
        if current.hash == hash {
            return Standing::Released(Box::new(current.clone()));
        }
        if let Some(r) = book.refused_text(id, hash) {
            return Standing::HubReleaseRefused(Box::new(r.clone()));
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
    /// The revision was released with different texts; each named by where it was
    /// released and its hash.
    Conflict {
        revision: String,
        texts: Vec<ConflictingText>,
    },
    /// The hub released this text, but the copy received here did not hold.
    HubReleaseRefused {
        revision: String,
        hub_seq: u64,
        fault: ReleaseFault,
    },
}

/// One of the texts a conflicting revision was released with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConflictingText {
    /// "at the hub (record N)" or "at bench B".
    pub place: String,
    pub hash: String,
    pub on: DateTime<Utc>,
    pub by_name: String,
}

impl Released {
    /// Where it was released, as a person reads it.
    pub fn place(&self) -> String {
        match &self.hub {
            Some(h) => format!("at the hub (hub record {})", h.seq),
            None if self.origin_bench.is_empty() => "at this bench".to_string(),
            None => format!("at bench {}", self.origin_bench),
        }
    }
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
            NotReleased::Conflict { revision, texts } => {
                let each: Vec<String> = texts
                    .iter()
                    .map(|t| {
                        format!(
                            "{} on {} by {} (sha256 {})",
                            t.place,
                            day(&t.on),
                            t.by_name,
                            &t.hash[..t.hash.len().min(12)]
                        )
                    })
                    .collect();
                write!(
                    f,
                    "conflict: rev {revision} was released with different texts, {}; \
                     release a new revision at the hub",
                    each.join(" and ")
                )
            }
            NotReleased::HubReleaseRefused {
                revision,
                hub_seq,
                fault,
            } => write!(
                f,
                "the hub's release of rev {revision} (hub record {hub_seq}) was not taken here: \
                 {fault}; run `traveler verify --hub`"
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
        Standing::HubReleaseRefused(r) => Some(NotReleased::HubReleaseRefused {
            revision: r.revision.clone(),
            hub_seq: r.hub.seq,
            fault: r.fault,
        }),
        Standing::Conflict { revision, releases } => Some(NotReleased::Conflict {
            revision: revision.clone(),
            texts: releases
                .iter()
                .map(|r| ConflictingText {
                    place: r.place(),
                    hash: r.hash.clone(),
                    on: r.effective,
                    by_name: r.by_name.clone(),
                })
                .collect(),
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

    /// A hub release as mirrored: `text` as the hub record carries it.
    fn at_hub(seq: u64, id: &str, rev: &str, text: Option<&str>, hash: &str) -> Record {
        let mut r = released(seq, id, rev, hash);
        if let Event::InstructionReleased {
            text: t,
            origin_store,
            origin_bench,
            ..
        } = &mut r.event
        {
            *t = text.map(str::to_string);
            *origin_store = "hub".into();
            *origin_bench = "DESK-1".into();
        }
        r
    }

    fn sha(text: &str) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn hub(seq: u64) -> HubRef {
        HubRef {
            seq,
            hash: format!("hubhash{seq}"),
        }
    }

    #[test]
    fn hub_releases_join_the_book_only_when_their_text_holds() {
        let (a, b) = ("id = 'WI'\nrevision = 'A'\n", "id = 'WI'\nrevision = 'B'\n");
        let mut book = ReleaseBook::fold(&[released(1, "WI", "A", &sha(a))]);
        // Released at the hub, mirrored here as record 5 (hub record 12).
        book.push_mirrored(5, hub(12), &at_hub(12, "WI", "B", Some(b), &sha(b)));
        // A text that is not the release's, and a release without its text.
        book.push_mirrored(
            6,
            hub(13),
            &at_hub(13, "WI", "C", Some("tampered"), &sha("x")),
        );
        book.push_mirrored(7, hub(14), &at_hub(14, "WI", "D", None, &sha("y")));
        let current = book.current("WI").unwrap();
        assert_eq!((current.revision.as_str(), current.seq), ("B", 5));
        assert_eq!(current.hub, Some(hub(12)));
        assert_eq!(current.place(), "at the hub (hub record 12)");
        assert_eq!(book.history("WI")[0].place(), "at bench B1");
        let refused: Vec<(&str, ReleaseFault)> = book
            .refused()
            .iter()
            .map(|r| (r.revision.as_str(), r.fault))
            .collect();
        assert_eq!(
            refused,
            [
                ("C", ReleaseFault::TextMismatch),
                ("D", ReleaseFault::TextMissing)
            ]
        );
        // The hub's release starts jobs; the local one it replaced no longer does.
        assert_eq!(
            start_refusal(true, &Standing::of(&book, "WI", "B", &sha(b))),
            None
        );
        assert!(matches!(
            start_refusal(true, &Standing::of(&book, "WI", "A", &sha(a))),
            Some(NotReleased::Superseded { .. })
        ));
        // A refused release never counts as released: the text it names is said
        // to be refused (not passed off as a draft); other texts as before.
        assert_eq!(
            start_refusal(true, &Standing::of(&book, "WI", "C", &sha("x"))),
            Some(NotReleased::HubReleaseRefused {
                revision: "C".into(),
                hub_seq: 13,
                fault: ReleaseFault::TextMismatch,
            })
        );
        assert!(matches!(
            Standing::of(&book, "WI", "C", &sha("tampered")),
            Standing::Changed { .. }
        ));
        let mut only_refused = ReleaseBook::default();
        only_refused.push_mirrored(2, hub(3), &at_hub(3, "NEW", "A", None, &sha("n")));
        assert_eq!(
            start_refusal(true, &Standing::of(&only_refused, "NEW", "A", &sha("n"))),
            Some(NotReleased::HubReleaseRefused {
                revision: "A".into(),
                hub_seq: 3,
                fault: ReleaseFault::TextMissing,
            })
        );
        assert_eq!(
            Standing::of(&only_refused, "NEW", "A", &sha("other")),
            Standing::Draft
        );
    }

    #[test]
    fn a_revision_released_with_two_texts_is_a_conflict_table() {
        let (here, there) = ("rev B as the bench has it", "rev B as the hub has it");
        let local_b = released(3, "WI", "B", &sha(here));
        let hub_b = at_hub(9, "WI", "B", Some(there), &sha(there));
        let hub_c_text = "rev C";
        let hub_c = at_hub(10, "WI", "C", Some(hub_c_text), &sha(hub_c_text));
        let book_of = |with_c: bool| {
            let mut b = ReleaseBook::fold(&[released(1, "WI", "A", "ha"), local_b.clone()]);
            b.push_mirrored(4, hub(9), &hub_b);
            if with_c {
                b.push_mirrored(6, hub(10), &hub_c);
            }
            b
        };
        let conflict = |b: &ReleaseBook| -> Option<NotReleased> {
            let texts = b
                .conflict("WI", "B")
                .iter()
                .map(|r| ConflictingText {
                    place: r.place(),
                    hash: r.hash.clone(),
                    on: r.effective,
                    by_name: r.by_name.clone(),
                })
                .collect();
            Some(NotReleased::Conflict {
                revision: "B".into(),
                texts,
            })
        };
        let (open, settled) = (book_of(false), book_of(true));
        type Case<'a> = (
            &'a str,
            &'a ReleaseBook,
            &'a str,
            String,
            Option<NotReleased>,
        );
        let cases: Vec<Case> = vec![
            (
                "the bench's text of B",
                &open,
                "B",
                sha(here),
                conflict(&open),
            ),
            (
                "the hub's text of B",
                &open,
                "B",
                sha(there),
                conflict(&open),
            ),
            (
                "a third text of B",
                &open,
                "B",
                sha("other"),
                conflict(&open),
            ),
            (
                "rev A, superseded either way",
                &open,
                "A",
                "ha".into(),
                Some(NotReleased::Superseded {
                    revision: "A".into(),
                    by_revision: "B".into(),
                    on: at(9),
                    by_name: "Eva Berg".into(),
                }),
            ),
            (
                "a new revision released at the hub settles it",
                &settled,
                "C",
                sha(hub_c_text),
                None,
            ),
            (
                "B stays a conflict on record",
                &settled,
                "B",
                sha(there),
                conflict(&settled),
            ),
        ];
        for (name, book, rev, hash, want) in cases {
            assert_eq!(
                start_refusal(true, &Standing::of(book, "WI", rev, &hash)),
                want,
                "{name}"
            );
        }
        assert_eq!(open.conflicts(), [("WI".to_string(), "B".to_string())]);
        let Some(NotReleased::Conflict { texts, .. }) = conflict(&open) else {
            unreachable!()
        };
        assert_eq!(
            texts.iter().map(|t| t.place.as_str()).collect::<Vec<_>>(),
            ["at bench B1", "at the hub (hub record 9)"]
        );
        assert!(
            conflict(&open)
                .unwrap()
                .to_string()
                .starts_with("conflict: rev B was released with different texts, at bench B1 on 2026-12-01 by Eva Berg"),
        );
        // The same text released here and at the hub is no conflict.
        let mut same = ReleaseBook::fold(std::slice::from_ref(&local_b));
        same.push_mirrored(4, hub(9), &at_hub(9, "WI", "B", Some(here), &sha(here)));
        assert!(same.conflict("WI", "B").is_empty());
        assert_eq!(
            start_refusal(true, &Standing::of(&same, "WI", "B", &sha(here))),
            None
        );
        // A shop without document control runs it anyway, as any other text.
        assert_eq!(
            start_refusal(false, &Standing::of(&open, "WI", "B", &sha(here))),
            None
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
