//! I/O the update asks for. `update` never touches the store or the port: it
//! returns `Effect`s, the runtime carries them out off the UI task and feeds the
//! answers back as `Action::Done`, each tied to the request that asked.
//! Changes are only ever `Command`s for the core: no effect carries events.

use chrono::{DateTime, Utc};

use crate::core::{Request, RequestId};
use crate::domain::thermal::Window;

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A command for the core, which decides, appends and answers.
    Command(Box<Request>),
    /// Store a batch of readings of attempt `attempt` of a step. Readings are not
    /// events; only a failure comes back.
    StoreSamples {
        job: String,
        step: u32,
        attempt: u32,
        samples: Vec<(String, DateTime<Utc>, f64)>,
    },
    /// A query; never queues a change.
    Read {
        request: RequestId,
        read: Read,
    },
    /// Point the (simulated) station at the current step's window.
    StationTarget(Option<Window>),
    Bell,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    Home {
        badge: String,
    },
    /// Earlier jobs on a board, for greying out what the limits forbid.
    Board {
        serial: String,
    },
    OpenJob {
        job: String,
    },
    /// A job with its recorded temperature traces, for review.
    OpenReview {
        job: String,
    },
    ReviewQueue,
    People,
    /// Board history and where-used for a serial or lot.
    Lookup {
        query: String,
    },
    /// Write one job's HTML report and JSON record to the export folder.
    ExportJob {
        job: String,
    },
    /// The station figure a measurement checkpoint names, from the stored samples.
    Figure {
        job: String,
        step: u32,
        checkpoint: u32,
    },
    /// The instruction releases as the store has them now (those mirrored from the
    /// hub since the start too), for the new-job list's greyed reasons.
    Releases,
}
