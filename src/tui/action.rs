//! Everything that can change the screen's state arrives as an `Action`: keys the
//! keymap translated, scans, ticks, station readings, and the results of I/O.

use chrono::{DateTime, Utc};

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
    /// A single-key command of the current screen (only when no field has focus).
    Command(char),
    /// A barcode scanner's burst, ended by Enter.
    Scan(String),
    Help,
    /// Leave the program; open jobs stay open and resume later.
    Quit,
    /// Once a second, with the wall-clock time: idle log-out, sample batching.
    Tick(DateTime<Utc>),
    Resize,
    Station(StationUpdate),
    Done(Box<Outcome>),
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

/// The answer to an `Effect`, delivered back to `update`.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    LoggedIn(Result<Person, String>),
    Home {
        jobs: Vec<JobLine>,
        reviews: usize,
    },
    Board {
        serial: String,
        prior: Vec<PriorJob>,
    },
    /// A job after an append: "saved" on screen only comes from here.
    Job(Result<Job, String>),
    JobOpened(Result<Job, String>),
    /// A signature or decision was refused (wrong PIN, rule); nothing was signed.
    Refused(String),
    ReviewQueue(Vec<ReviewLine>),
    People(Result<Vec<Person>, String>),
    /// Where a job's report was written.
    Exported(Result<String, String>),
    Lookup(Result<LookupResult, String>),
    ReviewOpened(Result<(Job, Vec<StepTrace>), String>),
    Reviewed(Result<String, String>),
    Error(String),
}
