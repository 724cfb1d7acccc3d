//! The desk's whole screen state. Only `update` changes it; `view` only reads it.

use chrono::{DateTime, Utc};

use crate::domain::types::Decision;
use crate::hub::desk::{BenchLag, HubDecision};
use crate::hub::review::QueueEntry;
use crate::tui::input::TextField;
use crate::tui::state::{Flash, FlashKind, ReviewState};

/// A request to the hub asked and not answered yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// How the desk's line to the hub stands, as the header shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Link {
    /// Not answered yet.
    Connecting,
    /// Answering, and following changes as they happen.
    Live,
    /// Answering, but the hub cannot listen to its database: the queue is read
    /// again now and then instead.
    NotLive,
    Unreachable {
        since: DateTime<Utc>,
        detail: String,
    },
}

/// A job opened from the queue: the bench's review screen state (record, charts)
/// plus what only the hub knows.
#[derive(Clone, Debug)]
pub struct OpenJob {
    pub bench: String,
    pub store_id: String,
    /// The job's latest submission with no decision after it: (seq, hash).
    pub submission: Option<(u64, String)>,
    pub decisions: Vec<HubDecision>,
    /// Sealed attempts whose samples have not reached the hub yet.
    pub samples_pending: usize,
    /// The instruction text the job ran was not found at the hub.
    pub no_instruction: bool,
    /// Records the bench reported holding that the hub has not received yet: a
    /// newer submission of the job may be among them.
    pub behind: u64,
    /// The bench's own review screen state, with the job folded from the hub's copy.
    pub review: ReviewState,
    /// When the desk last had the hub's answer for it.
    pub read_at: Option<DateTime<Utc>>,
}

impl OpenJob {
    /// Something of the record is still on its way to the hub (samples of a sealed
    /// step, records of the bench): the desk reads it again now and then.
    pub fn incomplete(&self) -> bool {
        self.samples_pending > 0 || self.behind > 0
    }
}

/// Which field of the decision dialog has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Comment,
    Badge,
    Pin,
}

/// Approve or reject: a comment, the reviewer's badge and PIN. Everything typed
/// stays here until the hub answers "recorded" (a refusal or an unreachable hub
/// keeps the comment and badge; only the PIN is cleared).
#[derive(Clone, Debug, PartialEq)]
pub struct DecideDialog {
    pub decision: Decision,
    pub store_id: String,
    pub bench: String,
    pub job: String,
    pub submitted_seq: u64,
    pub submitted_hash: String,
    pub comment: TextField,
    pub badge: TextField,
    pub pin: TextField,
    pub focus: Field,
    pub error: Option<String>,
    pub waiting: Option<RequestId>,
    /// A try went out and no answer came back: a "decided already" by the same
    /// badge may be that very try, recorded before the line broke.
    pub tried_unanswered: bool,
    /// The hub's last refusal of this decision, typed (its words are in `error`).
    pub refusal: Option<crate::hub::review::ReviewRefusal>,
}

/// Open a job by its id (a technician says "job … is ready").
#[derive(Clone, Debug, PartialEq)]
pub struct FindDialog {
    pub job: TextField,
    pub error: Option<String>,
    pub waiting: Option<RequestId>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    Decide(Box<DecideDialog>),
    Find(FindDialog),
}

/// What a request was for.
#[derive(Clone, Debug, PartialEq)]
pub enum Ask {
    Queue,
    Open,
    Find,
    Decide,
    /// The open record read again (samples on their way): applies only while that
    /// record is still the one shown.
    Reread,
}

pub struct DeskState {
    pub now: DateTime<Utc>,
    /// The hub's URL, as the header names it.
    pub hub: String,
    pub link: Link,
    pub queue: Vec<QueueEntry>,
    pub lagging: Vec<BenchLag>,
    /// The first answer came.
    pub loaded: bool,
    pub selected: usize,
    pub filter: TextField,
    pub filtering: bool,
    pub open: Option<Box<OpenJob>>,
    pub modal: Option<Modal>,
    pub flash: Option<Flash>,
    pub help: bool,
    pub help_scroll: u16,
    pub size: (u16, u16),
    pub no_color: bool,
    pub quit: bool,
    pub requests: std::collections::BTreeMap<RequestId, Ask>,
    pub next_request: u64,
    /// A change was heard while the queue was being read: read it again after.
    pub stale: bool,
    /// A read of the queue failed: when to read it again (on the clock, backing
    /// off), and how many failed in a row. The change feed may be healthy while the
    /// queue read is not, so no change need come to trigger it.
    pub queue_retry_at: Option<DateTime<Utc>>,
    pub queue_failures: u32,
    /// Ctrl+Q while a decision was on its way: the desk quits once the hub answered
    /// (a second Ctrl+Q quits at once).
    pub quit_pending: bool,
}

impl DeskState {
    pub fn new(hub: &str, now: DateTime<Utc>) -> DeskState {
        DeskState {
            now,
            hub: hub.to_string(),
            link: Link::Connecting,
            queue: Vec::new(),
            lagging: Vec::new(),
            loaded: false,
            selected: 0,
            filter: TextField::new("Filter (/)"),
            filtering: false,
            open: None,
            modal: None,
            flash: None,
            help: false,
            help_scroll: 0,
            size: (80, 24),
            no_color: false,
            quit: false,
            requests: Default::default(),
            next_request: 0,
            stale: false,
            queue_retry_at: None,
            queue_failures: 0,
            quit_pending: false,
        }
    }

    pub fn ask(&mut self, what: Ask) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        self.requests.insert(id, what);
        id
    }

    pub fn asking(&self, what: &Ask) -> bool {
        self.requests.values().any(|a| a == what)
    }

    pub fn flash(&mut self, kind: FlashKind, text: impl Into<String>) {
        self.flash = Some(Flash {
            kind,
            text: text.into(),
            at: self.now,
        });
    }

    /// The queue's entries the filter lets through, in queue order.
    pub fn visible(&self) -> Vec<&QueueEntry> {
        let f = self.filter.trimmed().to_lowercase();
        self.queue
            .iter()
            .filter(|e| {
                f.is_empty()
                    || [
                        &e.bench,
                        &e.job,
                        &e.serial,
                        &e.instruction_id,
                        &e.performer,
                        &e.deviation_headline,
                    ]
                    .iter()
                    .any(|s| s.to_lowercase().contains(&f))
            })
            .collect()
    }

    /// True when a text field has the keyboard, so letters are text, not commands.
    pub fn editing(&self) -> bool {
        self.modal.is_some() || self.filtering
    }
}
