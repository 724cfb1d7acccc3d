//! `update` is the only place the state changes. It does no I/O and decides no
//! rule: what it needs done comes back as `Effect`s (commands for the core, reads),
//! whose answers return as `Action::Done`, each tied to the request that asked.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::core::{Accepted, Credentials, Request, RequestId};
use crate::domain::command::{Command, Rejection, Verdict};
use crate::domain::event::{Event, SYSTEM_ACTOR};
use crate::domain::job::{Job, JobStatus};
use crate::domain::policy::{self, PriorJob, Refusal};
use crate::domain::types::{ProductClass, Role};
use crate::instruction::Instruction;
use crate::instruction::schema::{CheckpointKind, Signer};

use super::action::{Action, Outcome, Reply, StationUpdate};
use super::effect::{Effect, Read};
use super::input::TextField;
use super::keys::{self, Cmd};
use super::state::{
    Alarm, Ask, CommentDialog, FlashKind, HomeState, LoginForm, Modal, Purpose, Recorder,
    ReviewState, RunnerState, START_FIELDS, Screen, SignDialog, SignStage, StartForm, State,
    SummaryState, Trace,
};
use crate::domain::thermal::{Sample, StepThermal, ThermalSignal};

/// Chart points kept per step: older points are thinned so memory stays flat.
const TRACE_POINTS: usize = 1200;
/// Hand samples to the store at least this often (in readings).
const SAMPLE_BATCH: usize = 50;

mod answer;
mod browse;
mod jobs;
mod login;
mod modal;
mod runner;
mod start;
mod station;

use answer::*;
use browse::*;
use jobs::*;
use login::*;
use modal::*;
use runner::*;
use start::*;
use station::*;

pub use browse::{open_record_key, review_refusal, review_refusal_of_open, visible_reviews};
pub use runner::{LotTextError, lot_materials, lot_text, previous_lot};
pub use start::refusals;

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => tick(state, now),
        Action::Station(u) => station(state, u),
        Action::Done(reply) => done(state, *reply),
        Action::RecordsArrived(_) => records_arrived(state),
        Action::Resize(w, h) => {
            state.size = (w, h);
            Vec::new()
        }
        Action::Quit => {
            state.quit = true;
            // Readings not yet handed to the store go with the last effects.
            flush_samples(state)
        }
        input => {
            state.last_input = state.now;
            if state.help {
                match keys::command(state, &input) {
                    Some(
                        c @ (Cmd::Up
                        | Cmd::Down
                        | Cmd::PageUp
                        | Cmd::PageDown
                        | Cmd::Top
                        | Cmd::Bottom),
                    ) => {
                        let (max, page) = crate::tui::view::help_scroll_room(state);
                        state.help_scroll = keys::scrolled(c, state.help_scroll, max, page);
                    }
                    _ => state.help = false,
                }
                return Vec::new();
            }
            if input == Action::Help {
                state.help = true;
                state.help_scroll = 0;
                return Vec::new();
            }
            if state.modal.is_some() {
                return modal(state, input);
            }
            screen_input(state, input)
        }
    }
}

fn tick(state: &mut State, now: DateTime<Utc>) -> Vec<Effect> {
    state.now = now;
    let mut fx = Vec::new();
    if let Some(f) = &state.flash {
        let keep = if f.kind == FlashKind::Error { 12 } else { 6 };
        if now - f.at > Duration::seconds(keep) {
            state.flash = None;
        }
    }
    let idle = state
        .library
        .policy
        .as_ref()
        .map_or(10, |p| p.idle_logout_minutes);
    if let Some(badge) = state.badge().map(str::to_string)
        && idle > 0
        && now - state.last_input > Duration::minutes(i64::from(idle))
    {
        fx.push(log_out_command(
            state,
            &badge,
            format!("idle for {idle} minutes"),
        ));
        log_out(state);
        state.flash(
            FlashKind::Info,
            format!("Logged out after {idle} idle minutes; open jobs stay open"),
        );
    }
    // The open step goes on recording, logged in or not.
    fx.extend(flush_samples(state));
    fx
}

fn log_out(state: &mut State) {
    state.user = None;
    state.modal = None;
    state.show(Screen::Login(LoginForm::default()));
}

/// Readings not yet stored, for the store, whatever the screen.
fn flush_samples(state: &mut State) -> Vec<Effect> {
    let Some(r) = &mut state.recorder else {
        return Vec::new();
    };
    if r.pending.is_empty() || r.sealing.is_some() {
        return Vec::new();
    }
    vec![Effect::StoreSamples {
        job: r.job.clone(),
        step: r.step,
        attempt: r.attempt,
        samples: std::mem::take(&mut r.pending),
    }]
}

/// A command for the core, remembered as asked on the current screen.
fn command(
    state: &mut State,
    what: &'static str,
    credentials: Option<Credentials>,
    command: Command,
) -> (RequestId, Effect) {
    let by = state.badge().unwrap_or(SYSTEM_ACTOR).to_string();
    let id = state.ask(Ask::Command(what));
    (
        id,
        Effect::Command(Box::new(Request {
            id,
            by,
            credentials,
            command,
        })),
    )
}

/// Completes a step: the readings so far are stored first (the core seals what is
/// stored), then the recording holds new readings until the answer says whether
/// they belong to the next step or still to this one.
fn complete_step(state: &mut State, job: String, step: u32) -> Vec<Effect> {
    let mut fx = flush_samples(state);
    let (id, e) = command(
        state,
        "complete step",
        None,
        Command::CompleteStep {
            job: job.clone(),
            step,
        },
    );
    if let Some(r) = &mut state.recorder
        && r.job == job
        && r.step == step
    {
        r.sealing = Some(id);
    }
    fx.push(e);
    fx
}

fn read(state: &mut State, what: Ask, read: Read) -> Effect {
    let request = state.ask(what);
    Effect::Read { request, read }
}

fn log_out_command(state: &mut State, badge: &str, reason: String) -> Effect {
    let id = state.ask(Ask::Command("log-out"));
    Effect::Command(Box::new(Request {
        id,
        by: badge.to_string(),
        credentials: None,
        command: Command::LogOut { reason },
    }))
}

/// The job list is read again when records arrive, so a decision the sync task
/// mirrored from the desk shows on the technician's list with no key pressed. Other
/// screens hold what the person is working on and read it when they open.
fn records_arrived(state: &mut State) -> Vec<Effect> {
    match (&state.screen, state.badge()) {
        (Screen::Home(h), Some(badge)) if h.loaded && state.modal.is_none() => {
            let badge = badge.to_string();
            vec![read(state, Ask::Home, Read::Home { badge })]
        }
        _ => Vec::new(),
    }
}

fn go_home(state: &mut State) -> Vec<Effect> {
    let mut fx = flush_samples(state);
    state.modal = None;
    state.show(Screen::Home(HomeState::default()));
    if let Some(badge) = state.badge().map(str::to_string) {
        fx.push(read(state, Ask::Home, Read::Home { badge }));
    }
    fx
}

fn screen_input(state: &mut State, input: Action) -> Vec<Effect> {
    match &state.screen {
        Screen::Login(_) => login_input(state, input),
        Screen::Home(_) => home_input(state, input),
        Screen::Start(_) => start_input(state, input),
        Screen::Runner(_) => runner_input(state, input),
        Screen::Summary(_) => summary_input(state, input),
        Screen::Review(_) => review_input(state, input),
        Screen::Lookup(_) => lookup_input(state, input),
        Screen::People(_) => people_input(state, input),
    }
}

/// Shared editing keys for a focused text field; true when the key was used.
fn edit(field: &mut TextField, input: &Action) -> bool {
    match input {
        Action::Char(c) => field.push(*c),
        Action::Backspace => field.backspace(),
        Action::ClearField => field.clear(),
        _ => return false,
    }
    true
}
