//! The bench's side of the hub→bench mirror: each sync round (and whenever the
//! hub's head moves, asked every second), the sync task reads the hub records after
//! its cursor (`hub::feed`), checks their order and links and each copied record's
//! bytes, and has the core append `HubRecordMirrored` for each
//! (`Command::MirrorHubRecord`, decided by `domain::hub_records::should_mirror`: in
//! order, never twice). When it has caught up with the hub's head it notes the
//! contact (`people::roster_cache`): the age of the bench's copy of the roster.

use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{info, warn};

use crate::core::{Core, Request, RequestId};
use crate::domain::command::{Command, Rejection};
use crate::domain::event::{Event, SYSTEM_ACTOR};
use crate::people::roster_cache::{self, RosterContact};
use crate::store::{Store, StoreError};

use super::client::{ClientError, HubClient};
use super::feed::{Feed, MAX_ENTRIES};
use super::wire::Head;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The hub's chain does not hold together with what this bench saw of it: a
    /// record missing, out of order, not linked, or other bytes. Nothing after it
    /// is copied.
    #[error("the hub's own chain does not hold at record {seq}: {what}")]
    HubChain { seq: u64, what: String },
    /// The hub's records could not be read: an answer that is not the feed (a
    /// proxy's error page, bytes that do not decode). The shop roster and locks do
    /// not reach this bench until it is mended, so it is shown, never passed over.
    #[error("cannot follow the hub's records: {detail}")]
    Feed { detail: String },
}

/// A feed call's failure: an answer that is not the protocol is the feed's own
/// error (shown in the header), everything else as the client said.
fn feed_error(e: ClientError) -> PullError {
    match e {
        ClientError::Protocol(detail) => PullError::Feed { detail },
        other => PullError::Client(other),
    }
}

/// The last hub record the bench has seen (copied or passed over), hex hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub seq: u64,
    pub hash: String,
}

impl Cursor {
    /// Before the hub chain's first record.
    pub fn start() -> Cursor {
        Cursor {
            seq: 0,
            hash: "00".repeat(32),
        }
    }
}

/// The last hub record this chain copied: where reading starts after a restart
/// (records benches do not copy after it are read again, cheaply).
pub fn cursor_of(store: &Store) -> Result<Cursor, StoreError> {
    let mut c = Cursor::start();
    for r in store.people_events() {
        if let Event::HubRecordMirrored {
            hub_seq, hub_hash, ..
        } = r?.event
            && hub_seq > c.seq
        {
            c = Cursor {
                seq: hub_seq,
                hash: hub_hash,
            };
        }
    }
    Ok(c)
}

/// Checks `feed` against the cursor (pure): the entries follow on from it without a
/// gap, each links to the one before, and each record sent has the bytes its hash
/// says. Returns the records to copy, as (seq, hash, bytes), in order.
pub fn check_feed(cursor: &Cursor, feed: &Feed) -> Result<Vec<(u64, String, String)>, PullError> {
    let bad = |seq: u64, what: String| PullError::HubChain { seq, what };
    if feed.head.seq < cursor.seq {
        return Err(bad(
            feed.head.seq,
            format!(
                "the hub's chain ends at record {}, but this bench copied up to record {} \
                 (the hub restored from an older backup?)",
                feed.head.seq, cursor.seq
            ),
        ));
    }
    if feed.head.seq == cursor.seq && feed.head.hash != cursor.hash {
        return Err(bad(
            cursor.seq,
            format!(
                "the hub's record has hash {}, this bench saw {}",
                feed.head.hash, cursor.hash
            ),
        ));
    }
    let mut at = cursor.clone();
    let mut out = Vec::new();
    for e in &feed.entries {
        if e.seq != at.seq + 1 {
            return Err(bad(
                e.seq,
                format!("record {} was expected next", at.seq + 1),
            ));
        }
        if e.prev_hash != at.hash {
            return Err(bad(
                e.seq,
                format!(
                    "it follows a record with hash {}, not the {} this bench saw",
                    e.prev_hash, at.hash
                ),
            ));
        }
        if let Some(raw) = &e.record {
            let bytes = raw.get();
            let rec = crate::store::wire::check_hub_record(e.seq, &e.hash, bytes.as_bytes())
                .map_err(|x| bad(e.seq, x.to_string()))?;
            if rec.prev_hash != e.prev_hash {
                return Err(bad(e.seq, "its bytes name another previous record".into()));
            }
            out.push((e.seq, e.hash.clone(), bytes.to_string()));
        }
        at = Cursor {
            seq: e.seq,
            hash: e.hash.clone(),
        };
    }
    if let Some(last) = feed.entries.last()
        && last.seq == feed.head.seq
        && last.hash != feed.head.hash
    {
        return Err(bad(last.seq, "the hub's head names another hash".into()));
    }
    Ok(out)
}

/// The bench's follower of the hub chain; one per sync task.
pub struct Puller {
    core: Core,
    cursor: Option<Cursor>,
    /// The newest the hub offered that this build could not copy (logged once).
    stuck_at: Option<u64>,
    contact_written: Option<(Instant, u64)>,
    /// Least time between two writes of the contact at the same hub head.
    pub contact_every: Duration,
}

impl Puller {
    /// `core`: the store's core (`mirror::mirror_core`), so every copy is decided
    /// under the store's decision lock.
    pub fn new(core: Core) -> Puller {
        Puller {
            core,
            cursor: None,
            stuck_at: None,
            contact_written: None,
            contact_every: Duration::from_secs(1),
        }
    }

    fn store(&self) -> &Store {
        &self.core.store
    }

    async fn cursor(&mut self) -> Result<Cursor, PullError> {
        if let Some(c) = &self.cursor {
            return Ok(c.clone());
        }
        let s = self.store().clone();
        let c = tokio::task::spawn_blocking(move || cursor_of(&s))
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))??;
        self.cursor = Some(c.clone());
        Ok(c)
    }

    /// Whether the hub's head is past what this bench has read (a cheap question).
    pub async fn behind(&mut self, client: &HubClient) -> Result<bool, PullError> {
        let head = match client.hub_head().await.map_err(feed_error)? {
            Some(h) => h,
            // A hub older than the mirror (no such route): nothing to follow.
            None => return Ok(false),
        };
        let c = self.cursor().await?;
        if head.seq == c.seq && head.hash == c.hash {
            self.note_contact(&head);
            return Ok(false);
        }
        Ok(true)
    }

    /// Copies every hub record benches follow after the cursor. Returns how many
    /// records were appended.
    pub async fn pull(&mut self, client: &HubClient) -> Result<usize, PullError> {
        let mut appended = 0;
        loop {
            let cursor = self.cursor().await?;
            let feed = match client
                .hub_records(cursor.seq, MAX_ENTRIES)
                .await
                .map_err(feed_error)?
            {
                Some(f) => f,
                // Only a 404 on this route means a hub older than the shop roster.
                None => {
                    tracing::debug!("the hub offers no records to follow (an older hub)");
                    return Ok(appended);
                }
            };
            let copies = check_feed(&cursor, &feed)?;
            for (seq, hash, record) in copies {
                let core = self.core.clone();
                let command = Command::MirrorHubRecord {
                    hub_seq: seq,
                    hub_hash: hash.clone(),
                    record,
                };
                let answer = tokio::task::spawn_blocking(move || {
                    core.execute(Request {
                        id: RequestId(seq),
                        by: SYSTEM_ACTOR.into(),
                        credentials: None,
                        command,
                    })
                })
                .await
                .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
                match answer.result {
                    Ok(a) => {
                        if !a.records.is_empty() {
                            appended += 1;
                        }
                        // Copied (now or before): the cursor moves past it.
                        self.cursor = Some(Cursor { seq, hash });
                    }
                    Err(Rejection::Store { reason }) => {
                        return Err(StoreError::Io(std::io::Error::other(reason)).into());
                    }
                    Err(refusal) => {
                        // The bytes held at the feed check, so this build does not
                        // take them: stop here rather than copy what follows it.
                        if self.stuck_at != Some(seq) {
                            warn!(hub_seq = seq, "hub record not copied: {refusal}");
                            self.stuck_at = Some(seq);
                        }
                        return Err(PullError::HubChain {
                            seq,
                            what: refusal.to_string(),
                        });
                    }
                }
            }
            if let Some(last) = feed.entries.last() {
                self.cursor = Some(Cursor {
                    seq: last.seq,
                    hash: last.hash.clone(),
                });
            }
            let c = self.cursor().await?;
            if c.seq >= feed.head.seq || feed.entries.is_empty() {
                if c.seq == feed.head.seq && c.hash == feed.head.hash {
                    self.note_contact(&feed.head);
                }
                break;
            }
        }
        if appended > 0 {
            info!(appended, "hub records copied");
        }
        Ok(appended)
    }

    /// The bench has every hub record benches follow up to the hub's `head`: the
    /// roster here is as fresh as the hub's, now.
    fn note_contact(&mut self, head: &Head) {
        if let Some((at, seq)) = self.contact_written
            && seq == head.seq
            && at.elapsed() < self.contact_every
        {
            return;
        }
        let c = RosterContact {
            at: Utc::now(),
            hub_seq: head.seq,
            hub_hash: head.hash.clone(),
        };
        match roster_cache::write(self.store().path(), &c) {
            Ok(()) => self.contact_written = Some((Instant::now(), head.seq)),
            Err(e) => warn!("the roster's last contact with the hub was not saved: {e}"),
        }
    }
}

/// A bench's copy of a hub record as the hub holds the bench chain, and the hub's
/// own record under that seq (hex hash, bytes as text), if any.
#[derive(Clone, Debug, PartialEq)]
pub struct CopySide {
    pub hub_seq: u64,
    pub hub_hash: String,
    pub record: String,
}

/// What is wrong with a bench's copy of a hub record, checked both ways (pure): the
/// copy's bytes hash to the hash it names, and they are the hub's record under that
/// seq, byte for byte. `None` when it holds.
pub fn copy_fault(copy: &CopySide, hub: Option<(&str, &str)>) -> Option<String> {
    if let Err(e) =
        crate::store::wire::check_hub_record(copy.hub_seq, &copy.hub_hash, copy.record.as_bytes())
    {
        return Some(format!("the copy does not hold: {e}"));
    }
    let Some((hash, bytes)) = hub else {
        return Some(format!("the hub chain has no record {}", copy.hub_seq));
    };
    if hash != copy.hub_hash {
        return Some(format!(
            "the hub's record {} has hash {hash}, the copy names {}",
            copy.hub_seq, copy.hub_hash
        ));
    }
    if bytes != copy.record {
        return Some(format!(
            "the copy's bytes are not the hub's record {}",
            copy.hub_seq
        ));
    }
    None
}

/// Hub records benches follow that a bench chain has not copied (pure): those
/// below its last copy were skipped (a fault: copies go in order); those after it
/// and older than the bench's last contact are lag. `hub`: (seq, appended) of the
/// hub records benches follow; `copied`: the hub seqs the bench chain holds.
pub fn uncopied(
    hub: &[(u64, chrono::DateTime<Utc>)],
    copied: &std::collections::BTreeSet<u64>,
    last_contact: chrono::DateTime<Utc>,
) -> (Vec<u64>, Vec<u64>) {
    let last = copied.iter().next_back().copied().unwrap_or(0);
    let mut skipped = Vec::new();
    let mut lag = Vec::new();
    for (seq, at) in hub {
        if copied.contains(seq) {
            continue;
        }
        if *seq < last {
            skipped.push(*seq);
        } else if *at < last_contact {
            lag.push(*seq);
        }
    }
    (skipped, lag)
}

/// Every hub record benches follow, oldest first: (seq, appended, the bench a
/// confirmed log-in is for), so each store's copies are checked against what its
/// bench was sent (`hub_records::for_bench`).
pub async fn for_benches_at_hub(
    c: &impl tokio_postgres::GenericClient,
) -> Result<Vec<(u64, chrono::DateTime<Utc>, Option<String>)>, tokio_postgres::Error> {
    let rows = c
        .query(
            "SELECT seq, bytes, appended_at FROM hub_chain ORDER BY seq",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let seq = r.get::<_, i64>(0) as u64;
            let d = crate::store::wire::decode(seq, r.get(1)).ok()?;
            let only = match &d.record.event {
                Event::LoggedIn { bench, .. } => Some(bench.clone()),
                _ => None,
            };
            crate::domain::hub_records::for_benches(&d.record.event).then(|| (seq, r.get(2), only))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::feed::FeedEntry;

    fn entry(seq: u64, prev: &str, hash: &str) -> FeedEntry {
        FeedEntry {
            seq,
            prev_hash: prev.into(),
            hash: hash.into(),
            record: None,
        }
    }

    fn h(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn feed(head: (u64, String), entries: Vec<FeedEntry>) -> Feed {
        Feed {
            head: Head {
                seq: head.0,
                hash: head.1,
            },
            entries,
        }
    }

    #[test]
    fn order_and_links_are_checked_across_records_benches_do_not_copy() {
        let start = Cursor::start();
        let zero = start.hash.clone();
        let seen = Cursor {
            seq: 1,
            hash: h('a'),
        };
        let ok = feed(
            (2, h('b')),
            vec![entry(1, &zero, &h('a')), entry(2, &h('a'), &h('b'))],
        );
        assert_eq!(check_feed(&start, &ok).unwrap(), vec![]);
        let cases: Vec<(&str, &Cursor, Feed, u64)> = vec![
            (
                "a gap",
                &start,
                feed((3, h('c')), vec![entry(2, &h('a'), &h('b'))]),
                2,
            ),
            (
                "a broken link",
                &start,
                feed(
                    (2, h('b')),
                    vec![entry(1, &zero, &h('a')), entry(2, &h('x'), &h('b'))],
                ),
                2,
            ),
            (
                "the hub lost records",
                &seen,
                feed((0, zero.clone()), vec![]),
                0,
            ),
            (
                "the record seen has another hash now",
                &seen,
                feed((1, h('z')), vec![]),
                1,
            ),
            (
                "the head disowns the last entry",
                &seen,
                feed((2, h('y')), vec![entry(2, &h('a'), &h('b'))]),
                2,
            ),
        ];
        for (name, cursor, f, at) in &cases {
            match check_feed(cursor, f) {
                Err(PullError::HubChain { seq, .. }) => assert_eq!(seq, *at, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn copies_are_checked_both_ways() {
        use std::collections::BTreeSet;
        let t = |m: i64| Utc::now() - chrono::Duration::minutes(m);
        let hub = [(2, t(50)), (5, t(40)), (9, t(30)), (12, t(1))];
        let copied: BTreeSet<u64> = [2, 9].into();
        // 5 was passed over; 12 came after the last contact, 30 minutes ago... not yet.
        assert_eq!(uncopied(&hub, &copied, t(20)), (vec![5], vec![]));
        assert_eq!(uncopied(&hub, &copied, t(0)), (vec![5], vec![12]));
        assert_eq!(
            uncopied(&hub, &BTreeSet::new(), t(35)),
            (vec![], vec![2, 5])
        );
        let bad = CopySide {
            hub_seq: 3,
            hub_hash: h('a'),
            record: "{}".into(),
        };
        assert!(copy_fault(&bad, None).unwrap().contains("does not hold"));
        let rec = crate::domain::event::Record {
            seq: 1,
            prev_hash: "00".repeat(32),
            time: Utc::now(),
            actor: "T1".into(),
            event: Event::BadgeLocked {
                badge: "T1".into(),
                until: Utc::now(),
            },
        };
        let bytes = String::from_utf8(crate::store::canonical_bytes(&rec, None).unwrap()).unwrap();
        let hash = hex::encode(crate::store::chain_hash(1, &[0; 32], bytes.as_bytes()));
        let good = CopySide {
            hub_seq: 1,
            hub_hash: hash.clone(),
            record: bytes.clone(),
        };
        assert_eq!(copy_fault(&good, Some((&hash, &bytes))), None);
        assert!(copy_fault(&good, None).unwrap().contains("has no record 1"));
        assert!(
            copy_fault(&good, Some((&h('b'), &bytes)))
                .unwrap()
                .contains("has hash")
        );
        let other = bytes.replace("T1", "T2");
        assert!(
            copy_fault(&good, Some((&hash, &other)))
                .unwrap()
                .contains("not the hub's record")
        );
    }
}
