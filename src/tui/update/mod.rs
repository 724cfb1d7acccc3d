//! `update` is the only place the state changes. It does no I/O: what it needs
//! done comes back as `Effect`s, whose answers return as `Action::Done`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::event::{Event, Measurement};
use crate::domain::gs1;
use crate::domain::job::{Job, JobStatus, step_blockers};
use crate::domain::policy::{self, PriorJob, Refusal, SignerRole};
use crate::domain::types::{CheckResult, Meaning, ProductClass, Role};
use crate::instruction::Instruction;
use crate::instruction::schema::{CheckpointKind, Signer};

use super::action::{Action, Outcome, StationUpdate};
use super::effect::Effect;
use super::input::TextField;
use super::state::{
    Alarm, CommentDialog, FlashKind, HomeState, LoginForm, Modal, Purpose, ReviewState,
    RunnerState, START_FIELDS, Screen, SignDialog, SignStage, StartForm, State, SummaryState,
    Trace,
};
use crate::domain::thermal::{Sample, StepThermal, ThermalSignal};

/// Chart points kept per step: older points are thinned so memory stays flat.
const TRACE_POINTS: usize = 1200;
/// Hand samples to the store at least this often (in ticks of one second).
const SAMPLE_BATCH: usize = 50;

mod browse;
mod jobs;
mod login;
mod modal;
mod runner;
mod start;
mod station;

use browse::*;
use jobs::*;
use login::*;
use modal::*;
use runner::*;
use start::*;
use station::*;

pub use browse::visible_reviews;
pub use runner::lot_materials;
pub use start::refusals;

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => tick(state, now),
        Action::Station(u) => station(state, u),
        Action::Done(outcome) => {
            if matches!(
                *outcome,
                Outcome::LoggedIn(_)
                    | Outcome::ReviewOpened(_)
                    | Outcome::JobOpened(_)
                    | Outcome::Job(_)
                    | Outcome::Refused(_)
                    | Outcome::Reviewed(_)
            ) {
                state.in_flight = state.in_flight.saturating_sub(1);
            }
            done(state, *outcome)
        }
        Action::Resize => Vec::new(),
        Action::Quit => {
            state.quit = true;
            // Readings not yet handed to the store go with the last effects.
            flush_samples(state)
        }
        input => {
            state.last_input = state.now;
            if state.help {
                state.help = false;
                return Vec::new();
            }
            if input == Action::Help {
                state.help = true;
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
        fx.extend(flush_samples(state));
        fx.push(Effect::Logout {
            badge,
            reason: format!("idle for {idle} minutes"),
        });
        log_out(state);
        state.flash(
            FlashKind::Info,
            format!("Logged out after {idle} idle minutes; open jobs stay open"),
        );
        return fx;
    }
    if let Screen::Runner(r) = &state.screen
        && !r.pending.is_empty()
    {
        fx.extend(flush_samples(state));
    }
    fx
}

fn log_out(state: &mut State) {
    state.user = None;
    state.modal = None;
    state.screen = Screen::Login(LoginForm::default());
}

fn flush_samples(state: &mut State) -> Vec<Effect> {
    let Screen::Runner(r) = &mut state.screen else {
        return Vec::new();
    };
    if r.pending.is_empty() {
        return Vec::new();
    }
    vec![Effect::StoreSamples {
        job: r.job.id.clone(),
        step: r.step,
        samples: std::mem::take(&mut r.pending),
    }]
}

fn done(state: &mut State, outcome: Outcome) -> Vec<Effect> {
    match outcome {
        Outcome::LoggedIn(Ok(person)) => {
            state.flash(FlashKind::Info, format!("Welcome, {}", person.name));
            let badge = person.badge.clone();
            state.user = Some(person);
            state.screen = Screen::Home(HomeState::default());
            vec![Effect::LoadHome { badge }]
        }
        Outcome::LoggedIn(Err(e)) => {
            if let Screen::Login(f) = &mut state.screen {
                f.error = Some(e);
                f.pin.clear();
                f.focus = 1;
            }
            Vec::new()
        }
        Outcome::Home { jobs, reviews } => {
            if let Screen::Home(h) = &mut state.screen {
                h.jobs = jobs;
                h.reviews = reviews;
                h.selected = h.selected.min(h.jobs.len().saturating_sub(1));
                h.loaded = true;
            }
            Vec::new()
        }
        Outcome::Board { serial, prior } => {
            if let Screen::Start(f) = &mut state.screen
                && f.fields[0].trimmed() == serial
            {
                f.prior = Some((serial, prior));
            }
            Vec::new()
        }
        Outcome::JobOpened(Ok(job)) => {
            if let Screen::Review(r) = &mut state.screen {
                let instruction = state
                    .library
                    .instruction(&job.instruction_id)
                    .cloned()
                    .map(Arc::new);
                r.open = Some((job, instruction));
                r.scroll = 0;
                return Vec::new();
            }
            open_job(state, job)
        }
        Outcome::JobOpened(Err(e)) | Outcome::Error(e) => {
            state.flash(FlashKind::Error, e);
            Vec::new()
        }
        Outcome::Job(Ok(job)) => job_saved(state, job),
        Outcome::Job(Err(e)) => {
            if let Screen::Runner(r) = &mut state.screen {
                r.saving = false;
            }
            state.flash(FlashKind::Error, format!("NOT saved: {e}"));
            Vec::new()
        }
        Outcome::Refused(reason) => {
            match &mut state.modal {
                Some(Modal::Sign(d)) => {
                    d.error = Some(reason);
                    d.pin.clear();
                    d.stage = SignStage::Pin;
                }
                Some(Modal::Comment(d)) => {
                    d.error = Some(reason);
                    if let Some(p) = &mut d.pin {
                        p.clear();
                    }
                }
                _ => state.flash(FlashKind::Error, reason),
            }
            Vec::new()
        }
        Outcome::ReviewOpened(Ok((job, traces))) => {
            if let Screen::Review(r) = &mut state.screen {
                let instruction = state
                    .library
                    .instruction(&job.instruction_id)
                    .cloned()
                    .map(Arc::new);
                r.chart_step = traces.first().map_or(0, |t| t.step as usize);
                r.open = Some((job, instruction));
                r.traces = traces;
                r.scroll = 0;
            }
            Vec::new()
        }
        Outcome::ReviewOpened(Err(e)) => {
            state.flash(FlashKind::Error, e);
            Vec::new()
        }
        Outcome::Lookup(result) => {
            match (result, &mut state.screen) {
                (Ok(found), Screen::Lookup(l)) => {
                    l.result = Some(found);
                    l.scroll = 0;
                }
                (Err(e), _) => state.flash(FlashKind::Error, e),
                _ => {}
            }
            Vec::new()
        }
        Outcome::Exported(result) => {
            match result {
                Ok(path) => state.flash(
                    FlashKind::Saved,
                    format!("Report and record written to {path}"),
                ),
                Err(e) => state.flash(FlashKind::Error, format!("Export failed: {e}")),
            }
            Vec::new()
        }
        Outcome::People(result) => {
            match (result, &mut state.screen) {
                (Ok(people), Screen::People(p)) => {
                    p.people = people;
                    p.loaded = true;
                }
                (Err(e), _) => state.flash(FlashKind::Error, e),
                _ => {}
            }
            Vec::new()
        }
        Outcome::ReviewQueue(queue) => {
            if let Screen::Review(r) = &mut state.screen {
                r.queue = queue;
                r.selected = r.selected.min(r.queue.len().saturating_sub(1));
            }
            Vec::new()
        }
        Outcome::Reviewed(Ok(text)) => {
            state.modal = None;
            state.flash(FlashKind::Saved, text);
            if let Screen::Review(r) = &mut state.screen {
                r.open = None;
            }
            vec![Effect::LoadReviewQueue]
        }
        Outcome::Reviewed(Err(e)) => {
            state.flash(FlashKind::Error, e);
            Vec::new()
        }
    }
}

fn go_home(state: &mut State) -> Vec<Effect> {
    let mut fx = flush_samples(state);
    state.modal = None;
    state.screen = Screen::Home(HomeState::default());
    fx.push(Effect::StationTarget(None));
    if let Some(badge) = state.badge() {
        fx.push(Effect::LoadHome {
            badge: badge.to_string(),
        });
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
