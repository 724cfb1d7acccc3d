//! Instruction texts a job ran, archived in the chain (`InstructionArchived`) once
//! per hash. This module only finds them again: a small tree from hash to the seq of
//! the archiving record. The tree is a cache of the chain; when it lacks a hash (a
//! restored store) the chain is searched and the entry written back.

use crate::domain::event::Event;

use super::Store;
use super::error::Result;

const TREE: &str = "archive";

/// The text of an instruction file as a job ran it.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchivedText {
    pub seq: u64,
    pub file_name: String,
    pub text: String,
}

impl Store {
    /// The archived text whose SHA-256 is `hash`, if any job archived it.
    pub fn archived_instruction(&self, hash: &str) -> Result<Option<ArchivedText>> {
        let tree = self.inner.db.open_tree(TREE)?;
        if let Some(v) = tree.get(hash.as_bytes())?
            && let Ok(b) = <[u8; 8]>::try_from(v.as_ref())
            && let Some(rec) = self.record(u64::from_be_bytes(b))?
            && let Some(found) = archived(&rec.event, hash, rec.seq)
        {
            return Ok(Some(found));
        }
        for rec in self.events() {
            let rec = rec?;
            if let Some(found) = archived(&rec.event, hash, rec.seq) {
                self.note_archived(hash, rec.seq)?;
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Remembers where the text of `hash` is archived.
    pub fn note_archived(&self, hash: &str, seq: u64) -> Result<()> {
        let tree = self.inner.db.open_tree(TREE)?;
        tree.insert(hash.as_bytes(), &seq.to_be_bytes())?;
        self.sync()
    }
}

fn archived(event: &Event, want: &str, seq: u64) -> Option<ArchivedText> {
    match event {
        Event::InstructionArchived {
            hash,
            file_name,
            text,
            ..
        } if hash == want => Some(ArchivedText {
            seq,
            file_name: file_name.clone(),
            text: text.clone(),
        }),
        _ => None,
    }
}
