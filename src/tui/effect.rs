//! I/O the update asks for. `update` never touches the store or the port: it
//! returns `Effect`s, the runtime carries them out off the UI task and feeds the
//! answers back as `Action::Done`.

use chrono::{DateTime, Utc};

use crate::domain::event::{ChannelSummary, Event};
use crate::domain::policy::SignerRole;
use crate::domain::thermal::Window;

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Login {
        badge: String,
        pin: String,
    },
    Logout {
        badge: String,
        reason: String,
    },
    LoadHome {
        badge: String,
    },
    LoadBoard {
        serial: String,
    },
    OpenJob {
        job: String,
    },
    /// A job with its recorded temperature traces, for review.
    OpenReview {
        job: String,
    },
    /// Append events for a job, fsync, and answer with the job folded again.
    Append {
        actor: String,
        job: String,
        events: Vec<Event>,
    },
    /// Verify a PIN (recording a wrong one, locking after too many), check the
    /// signing rules, then append the signed event.
    Sign {
        badge: String,
        pin: String,
        role: SignerRole,
        performer: String,
        job: String,
        event: Box<Event>,
    },
    /// Store a batch of the current step's samples.
    StoreSamples {
        job: String,
        step: u32,
        samples: Vec<(String, DateTime<Utc>, f64)>,
    },
    /// Write the remaining samples, compute their digest, append StepCompleted
    /// (and StepStarted for the next step).
    CompleteStep {
        actor: String,
        job: String,
        step: u32,
        pending: Vec<(String, DateTime<Utc>, f64)>,
        temperature: Vec<ChannelSummary>,
        next: Option<u32>,
    },
    LoadReviewQueue,
    LoadPeople,
    /// Write one job's HTML report and JSON record to the export folder.
    ExportJob {
        job: String,
    },
    /// Board history and where-used for a serial or lot.
    Lookup {
        query: String,
    },
    Review {
        badge: String,
        pin: String,
        job: String,
        approve: bool,
        comment: String,
    },
    /// Point the (simulated) station at the current step's window.
    StationTarget(Option<Window>),
    Bell,
}
