//! Instruction texts a job ran, archived in the chain (`InstructionArchived`) once
//! per hash, or recorded by the release of the text (`InstructionReleased` with its
//! text): either record holds the bytes, the other then does not repeat them. This module only finds them again: a small tree from hash to the seq of
//! the archiving record. The tree is a cache of the chain: before it answers it
//! catches up with records appended since it last looked (a restore, a replay), so
//! it is never the only place anything is kept.

use crate::domain::event::Event;

use super::Store;
use super::error::Result;

const TREE: &str = "archive";
/// Key of the last seq the tree has looked at (hashes are hex, so no clash).
const MARK: &[u8] = b"~scanned";

/// The text of an instruction file as a job ran it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchivedText {
    pub seq: u64,
    pub hash: String,
    pub file_name: String,
    pub text: String,
}

impl Store {
    /// The archived text whose SHA-256 is `hash`, if any job archived it.
    pub fn archived_instruction(&self, hash: &str) -> Result<Option<ArchivedText>> {
        if let Some(found) = self.archived_at(hash)? {
            return Ok(Some(found));
        }
        self.catch_up_archive()?;
        self.archived_at(hash)
    }

    /// Every archived instruction text, one per hash.
    pub fn archived_instructions(&self) -> Result<Vec<ArchivedText>> {
        self.catch_up_archive()?;
        let tree = self.inner.db.open_tree(TREE)?;
        let mut out = Vec::new();
        for item in tree.iter() {
            let (k, _) = item?;
            if k.as_ref() == MARK {
                continue;
            }
            if let Some(found) = self.archived_at(&String::from_utf8_lossy(&k))? {
                out.push(found);
            }
        }
        Ok(out)
    }

    /// Remembers where the text of `hash` is archived. The tree is a cache the chain
    /// rebuilds (`catch_up_archive`), so the entry needs no durable sync of its own:
    /// the record it points at was synced by its append.
    pub fn note_archived(&self, hash: &str, seq: u64) -> Result<()> {
        let tree = self.inner.db.open_tree(TREE)?;
        tree.insert(hash.as_bytes(), &seq.to_be_bytes())?;
        Ok(())
    }

    fn archived_at(&self, hash: &str) -> Result<Option<ArchivedText>> {
        let tree = self.inner.db.open_tree(TREE)?;
        let Some(v) = tree.get(hash.as_bytes())? else {
            return Ok(None);
        };
        let Ok(b) = <[u8; 8]>::try_from(v.as_ref()) else {
            return Ok(None);
        };
        Ok(self
            .record(u64::from_be_bytes(b))?
            .and_then(|rec| archived(&rec.event, hash, rec.seq)))
    }

    /// Looks at the records appended since the last look.
    fn catch_up_archive(&self) -> Result<()> {
        let tree = self.inner.db.open_tree(TREE)?;
        let from = tree
            .get(MARK)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(1, |b| u64::from_be_bytes(b) + 1);
        let mut last = None;
        for rec in self.events_from(from) {
            let rec = rec?;
            if let Some(hash) = text_hash(&rec.event)
                && tree.get(hash.as_bytes())?.is_none()
            {
                tree.insert(hash.as_bytes(), &rec.seq.to_be_bytes())?;
            }
            last = Some(rec.seq);
        }
        if let Some(seq) = last {
            tree.insert(MARK, &seq.to_be_bytes())?;
        }
        Ok(())
    }
}

/// The hash of the instruction text a record holds, if it holds one: its own, or
/// that of a release made at the hub and mirrored here whose text holds (a text
/// that does not hash to its release's hash is never taken for that text).
pub(crate) fn text_hash(event: &Event) -> Option<String> {
    match event {
        Event::InstructionArchived { hash, .. }
        | Event::InstructionReleased {
            hash,
            text: Some(_),
            ..
        } => Some(hash.clone()),
        Event::HubRecordMirrored { .. } => {
            let inner = super::wire::decode_mirrored(event)?;
            crate::domain::release::check_hub_release(&inner.event).ok()?;
            match inner.event {
                Event::InstructionReleased { hash, .. } => Some(hash),
                _ => None,
            }
        }
        _ => None,
    }
}

fn archived(event: &Event, want: &str, seq: u64) -> Option<ArchivedText> {
    if let Event::HubRecordMirrored { .. } = event {
        let inner = super::wire::decode_mirrored(event)?;
        crate::domain::release::check_hub_release(&inner.event).ok()?;
        return archived(&inner.event, want, seq);
    }
    match event {
        Event::InstructionReleased {
            hash,
            file_name,
            text: Some(text),
            ..
        } if hash == want => Some(ArchivedText {
            seq,
            hash: hash.clone(),
            file_name: file_name.clone(),
            text: text.clone(),
        }),
        Event::InstructionArchived {
            hash,
            file_name,
            text,
            ..
        } if hash == want => Some(ArchivedText {
            seq,
            hash: hash.clone(),
            file_name: file_name.clone(),
            text: text.clone(),
        }),
        _ => None,
    }
}

impl Store {
    /// Every instruction release recorded in this store, in chain order (releases
    /// are not job records: they are read from the index of the others): its own,
    /// and the mirror records of releases made at the hub (as stored: the mirror
    /// record, whose `record` holds the hub's release).
    pub fn release_records(&self) -> Result<Vec<crate::domain::event::Record>> {
        let mut out = Vec::new();
        for r in self.people_events() {
            let r = r?;
            let hub_release = || {
                super::wire::decode_mirrored(&r.event)
                    .is_some_and(|i| matches!(i.event, Event::InstructionReleased { .. }))
            };
            if matches!(r.event, Event::InstructionReleased { .. }) || hub_release() {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The releases as a book: which revision of each instruction is in force,
    /// whether released here or at the hub.
    pub fn releases(&self) -> Result<crate::domain::release::ReleaseBook> {
        let mut book = crate::domain::release::ReleaseBook::default();
        for r in self.release_records()? {
            match super::hub_follow::mirrored(&r) {
                Some((hub, inner)) => book.push_mirrored(r.seq, hub, &inner),
                None => book.push(&r),
            }
        }
        Ok(book)
    }
}
