//! The whole state of the screen. Only `update` changes it; `view` only reads it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::job::{Job, JobStatus};
use crate::domain::person::Person;
use crate::domain::policy::PriorJob;
use crate::domain::thermal::Window;
use crate::instruction::{Instruction, Library};

use super::input::TextField;

/// A demo badge shown on the log-in screen in demo mode only.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoBadge {
    pub badge: String,
    pub pin: String,
    pub who: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobLine {
    pub id: String,
    pub serial: String,
    pub instruction: String,
    pub status: JobStatus,
    pub step: String,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReviewLine {
    pub id: String,
    pub serial: String,
    pub instruction: String,
    pub performer: String,
    pub submitted: DateTime<Utc>,
    pub excursions: usize,
    /// Entries of the job's deviations summary (failed attempts, redos, deviations…).
    pub flags: usize,
    /// Badges that signed an inspection: they may not review it.
    pub inspectors: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Info,
    Saved,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// Live station readings, whatever screen is showing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StationView {
    pub connected: bool,
    pub status: String,
    pub bad_frames: u64,
    /// Latest reading per channel.
    pub latest: BTreeMap<String, (DateTime<Utc>, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LoginForm {
    pub badge: TextField,
    pub pin: TextField,
    pub focus: usize,
    pub error: Option<String>,
}

impl Default for LoginForm {
    fn default() -> Self {
        LoginForm {
            badge: TextField::new("Badge"),
            pin: TextField::masked("PIN"),
            focus: 0,
            error: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HomeState {
    pub jobs: Vec<JobLine>,
    pub reviews: usize,
    pub selected: usize,
    pub loaded: bool,
}

pub const START_FIELDS: usize = 6;

/// What earlier jobs on a board say about it: the assembly it is (latest job)
/// and the alloys it was reworked with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoardFacts {
    pub part: String,
    pub rev: String,
    pub alloys: Vec<String>,
    /// (alloy, bench) of jobs other benches recorded (through the hub).
    pub alloys_elsewhere: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StartForm {
    /// Serial, part number, part revision, reference designators, defect/NCR, approval.
    pub fields: [TextField; START_FIELDS],
    pub class: usize,
    pub alloy: usize,
    /// 0..START_FIELDS text fields, then class, alloy, the instruction list.
    pub focus: usize,
    pub selected: usize,
    /// Earlier jobs on the board, for rework-cycle limits; loaded when the serial is set.
    pub prior: Option<(String, Vec<PriorJob>)>,
    /// The board's assembly and alloys from its history, once read.
    pub board: Option<BoardFacts>,
    /// Where the board's history was counted, once read: shown when it came from
    /// the hub or the hub could not be asked (a bench without one shows nothing).
    pub history: Option<(crate::domain::board::HistoryScope, String)>,
    pub error: Option<String>,
}

impl Default for StartForm {
    fn default() -> Self {
        StartForm {
            fields: [
                TextField::new("Board serial"),
                TextField::new("Assembly P/N"),
                TextField::new("Assembly rev"),
                TextField::new("Ref. designators"),
                TextField::new("Defect / NCR"),
                TextField::new("Approval / ECO"),
            ],
            class: 2,
            alloy: 0,
            focus: 0,
            selected: 0,
            prior: None,
            board: None,
            history: None,
            error: None,
        }
    }
}

impl StartForm {
    pub const CLASS: usize = START_FIELDS;
    pub const ALLOY: usize = START_FIELDS + 1;
    pub const LIST: usize = START_FIELDS + 2;
    pub const APPROVAL: usize = 5;

    /// Earlier alloys of the board that are of the other kind (tin-lead versus
    /// lead-free) than `alloy`: starting would make a mixed-alloy rework.
    pub fn mixed_alloys(&self, library: &Library) -> Vec<String> {
        let Some(chosen) = library.alloys.get(self.alloy) else {
            return Vec::new();
        };
        let Some(board) = &self.board else {
            return Vec::new();
        };
        board
            .alloys
            .iter()
            .filter(|a| {
                library
                    .alloy(a)
                    .is_some_and(|x| x.lead_free != chosen.lead_free)
            })
            .cloned()
            .collect()
    }

    pub fn refdes(&self) -> Vec<String> {
        self.fields[3]
            .value
            .split([',', ' ', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_uppercase)
            .collect()
    }
}

/// The live trace of the current step: seconds since the step's first sample, °C.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub channel: String,
    pub start: Option<DateTime<Utc>>,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alarm {
    pub id: u32,
    pub channel: String,
    pub window: (f64, f64),
    pub peak: f64,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct RunnerState {
    pub job: Job,
    /// The instruction text the job ran (the folder's, or the store's archive).
    pub instruction: Arc<Instruction>,
    /// The step the screen shows (the job's current step while it runs).
    pub step: u32,
    pub window: Option<Window>,
    pub selected: usize,
    /// A complete-step request is out: the answer decides what comes next.
    pub saving: bool,
    /// First line of the step pane when PgUp/PgDn moved it; `None` follows the
    /// selected checkpoint.
    pub scroll: Option<u16>,
}

/// The recording of the step in progress. It lives beside the screens, not in
/// one: readings are recorded whatever screen is shown and whoever is logged in,
/// until the step completes or the job stops.
#[derive(Clone, Debug)]
pub struct Recorder {
    pub job: String,
    pub performer: String,
    pub step: u32,
    /// The attempt (1-based) whose samples these are.
    pub attempt: u32,
    pub window: Option<Window>,
    pub thermal: crate::domain::thermal::StepThermal,
    /// Samples received but not yet handed to the store.
    pub pending: Vec<(String, DateTime<Utc>, f64)>,
    /// The excursion in progress.
    pub alarm: Option<Alarm>,
    pub next_alarm: u32,
    pub trace: Trace,
    /// The completion request that seals this attempt. Until it is answered,
    /// readings wait here rather than join samples the seal may already cover.
    pub sealing: Option<crate::core::RequestId>,
}

#[derive(Clone, Debug)]
pub struct SummaryState {
    pub job: Job,
    pub instruction: Arc<Instruction>,
    /// First line of the record shown (↑↓, PgUp/PgDn, Home/End).
    pub scroll: u16,
}

impl SummaryState {
    pub fn new(job: Job, instruction: Arc<Instruction>) -> SummaryState {
        SummaryState {
            job,
            instruction,
            scroll: 0,
        }
    }
}

/// One step's recorded temperature, as the reviewer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepTrace {
    pub step: u32,
    pub channel: String,
    pub window: Option<(f64, f64)>,
    /// Seconds since the step's first sample, °C; thinned for the screen.
    pub points: Vec<(f64, f64)>,
    /// Excursions as (start, end) seconds on the same axis.
    pub excursions: Vec<(f64, f64)>,
}

#[derive(Clone, Debug)]
pub struct ReviewState {
    pub queue: Vec<ReviewLine>,
    pub selected: usize,
    pub filter: TextField,
    pub filtering: bool,
    pub open: Option<(Job, Option<Arc<Instruction>>)>,
    pub traces: Vec<StepTrace>,
    /// Which step's chart is shown.
    pub chart_step: usize,
    /// The charts page (one step's chart on the screen) rather than the record.
    pub charts: bool,
    pub scroll: u16,
}

impl Default for ReviewState {
    fn default() -> Self {
        ReviewState {
            queue: Vec::new(),
            selected: 0,
            filter: TextField::new("Filter (/)"),
            filtering: false,
            open: None,
            traces: Vec::new(),
            chart_step: 0,
            charts: false,
            scroll: 0,
        }
    }
}

/// What a traceability look-up found: the board's history, the lot's uses.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupResult {
    pub query: String,
    pub history: Option<crate::export::queries::BoardHistory>,
    pub uses: Vec<crate::export::queries::LotUse>,
}

#[derive(Clone, Debug)]
pub struct LookupState {
    pub query: TextField,
    pub result: Option<LookupResult>,
    pub scroll: u16,
}

impl Default for LookupState {
    fn default() -> Self {
        LookupState {
            query: TextField::new("Board serial or lot"),
            result: None,
            scroll: 0,
        }
    }
}

/// The roster as a supervisor sees it: certificates, gaps, locked badges.
#[derive(Clone, Debug, Default)]
pub struct PeopleState {
    pub people: Vec<Person>,
    pub loaded: bool,
    pub scroll: u16,
}

#[derive(Clone, Debug)]
pub enum Screen {
    Login(LoginForm),
    Home(HomeState),
    Start(Box<StartForm>),
    Runner(Box<RunnerState>),
    Summary(Box<SummaryState>),
    Review(Box<ReviewState>),
    Lookup(Box<LookupState>),
    People(Box<PeopleState>),
}

/// What a comment or PIN dialog is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    AckExcursion {
        id: u32,
    },
    Suspend,
    Resume,
    Redo,
    /// Reopen a step of a rejected job.
    Reopen {
        step: u32,
    },
    Abort,
    /// Complete a step outside its window: reason and the technician's PIN.
    Deviate {
        kind: crate::domain::event::DeviationKind,
    },
    Approve,
    Reject,
    /// The part removed from or fitted at the job's designators.
    Component {
        action: crate::domain::component::ComponentAction,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignStage {
    Choice,
    Value,
    Comment,
    Badge,
    Pin,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SignDialog {
    pub step: u32,
    pub checkpoint: u32,
    pub stage: SignStage,
    /// Pass or fail: nothing until the person chooses (p/f or ←/→); for
    /// measurements, what the limits say of the typed value.
    pub verdict: Option<crate::domain::command::Verdict>,
    /// The station's recorded figure the checkpoint names, once the core read it.
    pub recorded: Option<f64>,
    /// The signature request that is out; its answer closes or re-opens the dialog.
    pub waiting: Option<crate::core::RequestId>,
    pub value: TextField,
    pub comment: TextField,
    pub badge: TextField,
    pub pin: TextField,
    pub error: Option<String>,
}

/// A required comment (and for review decisions, the reviewer's PIN).
#[derive(Clone, Debug, PartialEq)]
pub struct CommentDialog {
    pub purpose: Purpose,
    pub title: String,
    pub comment: TextField,
    pub pin: Option<TextField>,
    pub on_pin: bool,
    pub error: Option<String>,
    pub waiting: Option<crate::core::RequestId>,
}

impl CommentDialog {
    pub fn open(purpose: Purpose, title: impl Into<String>, label: &'static str) -> Modal {
        Modal::Comment(Box::new(CommentDialog {
            purpose,
            title: title.into(),
            comment: TextField::new(label),
            pin: None,
            on_pin: false,
            error: None,
            waiting: None,
        }))
    }

    /// A decision that is signed: comment first, then the PIN.
    pub fn signed(purpose: Purpose, title: impl Into<String>) -> Modal {
        let mut m = CommentDialog::open(purpose, title, "Comment");
        if let Modal::Comment(d) = &mut m {
            d.pin = Some(TextField::masked("PIN"));
        }
        m
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    Sign(Box<SignDialog>),
    Comment(Box<CommentDialog>),
    /// Typing a lot by hand when the label will not scan.
    Lot {
        field: TextField,
        error: Option<String>,
        waiting: Option<crate::core::RequestId>,
    },
    /// A checkpoint failed: redo the step or abort the job.
    Held,
}

pub struct State {
    pub now: DateTime<Utc>,
    pub bench: String,
    pub demo: Option<Vec<DemoBadge>>,
    pub library: Arc<Library>,
    pub user: Option<Person>,
    pub last_input: DateTime<Utc>,
    pub screen: Screen,
    pub modal: Option<Modal>,
    pub flash: Option<Flash>,
    pub station: StationView,
    pub help: bool,
    /// First line of the help shown.
    pub help_scroll: u16,
    /// The terminal's size (columns, rows), for paging.
    pub size: (u16, u16),
    pub no_color: bool,
    pub quit: bool,
    /// Requests asked and not answered yet, and what each was for. An answer whose
    /// request is not here (or whose screen is gone) changes no screen.
    pub requests: std::collections::BTreeMap<crate::core::RequestId, Asked>,
    pub next_request: u64,
    /// Bumped whenever the screen changes, so a late answer can tell.
    pub screen_gen: u64,
    pub recorder: Option<Recorder>,
    /// One line per background task (shop hub sync, CFX publisher), set by the
    /// runtime from their watch channels and shown in the header.
    pub background: Vec<String>,
}

/// What a request was for, and on which screen it was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub what: Ask,
    pub screen_gen: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ask {
    /// A command for the core: shown as saved or refused whatever the screen.
    Command(&'static str),
    Home,
    Board,
    OpenJob,
    OpenReview,
    ReviewQueue,
    People,
    Lookup,
    Export,
    Figure,
}

impl State {
    pub fn new(library: Arc<Library>, bench: &str, now: DateTime<Utc>) -> State {
        State {
            now,
            bench: bench.to_string(),
            demo: None,
            library,
            user: None,
            last_input: now,
            screen: Screen::Login(LoginForm::default()),
            modal: None,
            flash: None,
            station: StationView {
                status: "waiting for the station".into(),
                ..StationView::default()
            },
            help: false,
            help_scroll: 0,
            size: (80, 24),
            no_color: false,
            quit: false,
            requests: Default::default(),
            next_request: 0,
            screen_gen: 0,
            recorder: None,
            background: Vec::new(),
        }
    }

    /// Commands asked and not answered yet ("saving…").
    pub fn in_flight(&self) -> usize {
        self.requests
            .values()
            .filter(|a| matches!(a.what, Ask::Command(_)))
            .count()
    }

    /// Shows another screen; answers asked on the one before no longer change it.
    pub fn show(&mut self, screen: Screen) {
        self.screen = screen;
        self.screen_gen += 1;
    }

    /// A new request id, remembered with what it was for.
    pub fn ask(&mut self, what: Ask) -> crate::core::RequestId {
        self.next_request += 1;
        let id = crate::core::RequestId(self.next_request);
        self.requests.insert(
            id,
            Asked {
                what,
                screen_gen: self.screen_gen,
            },
        );
        id
    }

    pub fn flash(&mut self, kind: FlashKind, text: impl Into<String>) {
        self.flash = Some(Flash {
            kind,
            text: text.into(),
            at: self.now,
        });
    }

    pub fn badge(&self) -> Option<&str> {
        self.user.as_ref().map(|p| p.badge.as_str())
    }

    /// True where a scanner's burst is told from typing even though a field has the
    /// keyboard: on the log-in form a badge scanned onto the PIN field must not
    /// become a PIN try.
    pub fn scans_while_editing(&self) -> bool {
        self.modal.is_none() && matches!(self.screen, Screen::Login(_))
    }

    /// True when a text field has the keyboard, so letters are text, not commands.
    pub fn editing(&self) -> bool {
        match &self.modal {
            // Choosing pass or fail takes p/f as keys, not text.
            Some(Modal::Held) => return false,
            Some(Modal::Sign(d)) => return d.stage != SignStage::Choice,
            Some(_) => return true,
            None => {}
        }
        match &self.screen {
            Screen::Login(_) => true,
            Screen::Start(f) => f.focus < START_FIELDS,
            Screen::Review(r) => r.filtering,
            Screen::Lookup(_) => true,
            _ => false,
        }
    }
}
