//! Everything that can change the screen's state arrives as an `Action`: keys the
//! keymap translated, scans, ticks, station readings, and the results of I/O.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::core::{Accepted, RequestId};
use crate::domain::command::Rejection;
use crate::instruction::Instruction;

use crate::domain::job::Job;
use crate::domain::person::Person;
use crate::domain::policy::PriorJob;

use super::state::{JobLine, LookupResult, ReviewLine, StepTrace};

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A printable character for the focused field.
    Char(char),
    Backspace,
    /// Clear the focused field (Ctrl+U).
    ClearField,
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    /// A single-key command of the current screen (only when no field has focus).
    Command(char),
    /// A barcode scanner's burst, ended by Enter.
    Scan(String),
    Help,
    /// Leave the program; open jobs stay open and resume later.
    Quit,
    /// Once a second, with the wall-clock time: idle log-out, sample batching.
    Tick(DateTime<Utc>),
    /// The terminal's size (columns, rows): at start and whenever it changes.
    Resize(u16, u16),
    Station(StationUpdate),
    Done(Box<Reply>),
    /// The store's chain grew to this seq, by this screen or by a task beside it (a
    /// decision mirrored from the hub, a roster change): what is listed is read again.
    RecordsArrived(u64),
}

/// What the station reader tells the screen, already in °C.
#[derive(Clone, Debug, PartialEq)]
pub enum StationUpdate {
    Sample {
        channel: String,
        time: DateTime<Utc>,
        celsius: f64,
    },
    Status {
        connected: bool,
        text: String,
        bad_frames: u64,
    },
}

/// The answer to an `Effect`, with the request it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub request: RequestId,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The core's answer to a command: saved (fsynced) or refused with the reason.
    Answer(Result<Accepted, Rejection>),
    Home {
        jobs: Vec<JobLine>,
        reviews: usize,
    },
    Board {
        serial: String,
        prior: Vec<PriorJob>,
        board: Option<super::state::BoardFacts>,
        /// Where `prior` was counted (every bench, or this bench only and why).
        scope: Option<crate::domain::board::HistoryScope>,
        /// The line the new-job screen shows about it.
        scope_line: String,
    },
    JobOpened(Result<(Job, Arc<Instruction>), String>),
    ReviewQueue(Vec<ReviewLine>),
    People(Result<Vec<Person>, String>),
    /// Where a job's report was written.
    Exported(Result<String, String>),
    Lookup(Result<LookupResult, String>),
    ReviewOpened(Result<Box<ReviewOpened>, String>),
    Figure(Option<f64>),
    /// Readings could not be saved.
    SamplesNotSaved(String),
    Error(String),
    /// The releases read again (`Read::Releases`).
    Releases(Arc<crate::domain::release::ReleaseBook>),
}

/// A job as the reviewer opens it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewOpened {
    pub job: Job,
    pub instruction: Option<Arc<Instruction>>,
    pub traces: Vec<StepTrace>,
    /// Why the shop policy (set at the hub) refuses a review here, if it does.
    pub shop_refusal: Option<String>,
}
