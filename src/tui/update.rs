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
    Alarm, FlashKind, HomeState, LoginForm, Modal, Purpose, ReviewState, RunnerState, START_FIELDS,
    Screen, SignDialog, SignStage, StartForm, State, SummaryState, Trace,
};
use crate::domain::thermal::{Sample, StepThermal, ThermalSignal};

/// Chart points kept per step: older points are thinned so memory stays flat.
const TRACE_POINTS: usize = 1200;
/// Hand samples to the store at least this often (in ticks of one second).
const SAMPLE_BATCH: usize = 50;

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

fn station(state: &mut State, update: StationUpdate) -> Vec<Effect> {
    match update {
        StationUpdate::Status {
            connected,
            text,
            bad_frames,
        } => {
            state.station.connected = connected;
            state.station.status = text;
            state.station.bad_frames = bad_frames;
            Vec::new()
        }
        StationUpdate::Sample {
            channel,
            time,
            celsius,
        } => {
            state
                .station
                .latest
                .insert(channel.clone(), (time, celsius));
            let Screen::Runner(r) = &mut state.screen else {
                return Vec::new();
            };
            // Only a running step records: a held or suspended job is not being worked.
            if r.job.status != JobStatus::InProgress || r.saving {
                return Vec::new();
            }
            let sample = Sample {
                channel: channel.clone(),
                time,
                celsius,
            };
            let signal = r.thermal.push(&sample);
            r.pending.push((channel.clone(), time, celsius));
            let mut fx = Vec::new();
            if r.pending.len() >= SAMPLE_BATCH {
                fx.push(Effect::StoreSamples {
                    job: r.job.id.clone(),
                    step: r.step,
                    samples: std::mem::take(&mut r.pending),
                });
            }
            if r.window.as_ref().is_some_and(|w| w.channel == channel) {
                push_trace(&mut r.trace, time, celsius);
            }
            let job = r.job.id.clone();
            let step = r.step;
            let actor = r.job.performer.clone();
            match signal {
                Some(ThermalSignal::ExcursionStarted {
                    channel,
                    time,
                    celsius,
                    window,
                }) => {
                    let id = r.job.excursions.iter().filter(|e| e.step == step).count() as u32 + 1;
                    let alarm = Alarm {
                        id,
                        channel,
                        window: (window.min_c, window.max_c),
                        peak: celsius,
                        started: time,
                        ended: None,
                    };
                    fx.push(excursion_effect(actor, &job, step, &alarm));
                    r.alarm = Some(alarm);
                    fx.push(Effect::Bell);
                }
                Some(ThermalSignal::ExcursionEnded(e)) => {
                    if let Some(mut alarm) = r.alarm.take() {
                        alarm.peak = e.peak_c;
                        alarm.ended = e.end;
                        fx.push(excursion_effect(actor, &job, step, &alarm));
                    }
                }
                None => {
                    // Keep the alarm's peak current while it lasts.
                    if let Some(a) = &mut r.alarm
                        && a.channel == channel
                    {
                        let beyond = |v: f64| (v - a.window.1).max(a.window.0 - v);
                        if beyond(celsius) > beyond(a.peak) {
                            a.peak = celsius;
                        }
                    }
                }
            }
            fx
        }
    }
}

fn excursion_effect(actor: String, job: &str, step: u32, a: &Alarm) -> Effect {
    Effect::Append {
        actor,
        job: job.to_string(),
        events: vec![Event::Excursion {
            job: job.to_string(),
            step,
            id: a.id,
            channel: a.channel.clone(),
            window_min_c: a.window.0,
            window_max_c: a.window.1,
            peak_c: a.peak,
            started: a.started,
            ended: a.ended,
        }],
    }
}

fn push_trace(trace: &mut Trace, time: DateTime<Utc>, celsius: f64) {
    let start = *trace.start.get_or_insert(time);
    let t = (time - start).num_milliseconds() as f64 / 1000.0;
    trace.points.push((t, celsius));
    if trace.points.len() > TRACE_POINTS {
        // Keep every other point of the older half: the chart keeps its shape.
        let half = trace.points.len() / 2;
        let mut thinned: Vec<(f64, f64)> =
            trace.points[..half].iter().step_by(2).copied().collect();
        thinned.extend_from_slice(&trace.points[half..]);
        trace.points = thinned;
    }
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
                Some(Modal::Comment { error, pin, .. }) => {
                    *error = Some(reason);
                    if let Some(p) = pin {
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

/// Opens a job where it stands: the summary when every step is done, else the runner.
fn open_job(state: &mut State, job: Job) -> Vec<Effect> {
    let Some(instruction) = state
        .library
        .instructions
        .iter()
        .find(|i| i.id() == job.instruction_id)
        .cloned()
    else {
        state.flash(
            FlashKind::Error,
            format!(
                "instruction {} is no longer in the instructions folder",
                job.instruction_id
            ),
        );
        return Vec::new();
    };
    if instruction.hash != job.instruction_hash {
        state.flash(
            FlashKind::Info,
            format!(
                "Note: {} changed since this job started; showing the current text",
                instruction.id()
            ),
        );
    }
    let instruction = Arc::new(instruction);
    let mut fx = Vec::new();
    if job.status == JobStatus::Suspended {
        fx.push(Effect::Append {
            actor: job.performer.clone(),
            job: job.id.clone(),
            events: vec![Event::JobResumed {
                job: job.id.clone(),
            }],
        });
    }
    match job.current_step() {
        None => {
            state.screen = Screen::Summary(Box::new(SummaryState { job, instruction }));
            fx.push(Effect::StationTarget(None));
        }
        Some(step) => {
            let r = runner_for(state, job, instruction, step);
            fx.push(Effect::StationTarget(r.window.clone()));
            let held = r.job.status == JobStatus::Held;
            let needs_start = r.job.steps[step as usize].started.is_none();
            if needs_start {
                fx.push(Effect::Append {
                    actor: r.job.performer.clone(),
                    job: r.job.id.clone(),
                    events: vec![Event::StepStarted {
                        job: r.job.id.clone(),
                        step,
                    }],
                });
            }
            state.screen = Screen::Runner(Box::new(r));
            if held {
                state.modal = Some(Modal::Held);
            }
        }
    }
    fx
}

fn runner_for(state: &State, job: Job, instruction: Arc<Instruction>, step: u32) -> RunnerState {
    let alloy = state.library.alloy(&job.alloy);
    let window = instruction.step_window(step as usize, alloy);
    RunnerState {
        thermal: StepThermal::new(
            window.iter().cloned().collect(),
            alloy.map(|a| a.liquidus_c),
        ),
        trace: Trace {
            channel: window
                .as_ref()
                .map(|w| w.channel.clone())
                .unwrap_or_default(),
            ..Trace::default()
        },
        job,
        instruction,
        step,
        window,
        selected: 0,
        pending: Vec::new(),
        alarm: None,
        saving: false,
    }
}

/// An append came back: the job as the store now has it.
fn job_saved(state: &mut State, job: Job) -> Vec<Effect> {
    match &mut state.screen {
        Screen::Start(_) => {
            state.flash(FlashKind::Saved, format!("Job {} started — saved", job.id));
            open_job(state, job)
        }
        Screen::Runner(r) if r.job.id == job.id => {
            r.saving = false;
            let was_step = r.step;
            let new_signature = job.history.len() > r.job.history.len();
            r.job = job;
            if matches!(
                state.modal,
                Some(Modal::Sign(_) | Modal::Lot { .. } | Modal::Comment { .. })
            ) {
                state.modal = None;
            }
            if new_signature && let Some(sig) = r.job.history.last() {
                let text = format!(
                    "Signed {:?}: {}, {}, {} — saved",
                    sig.result,
                    sig.signer_name,
                    sig.meaning,
                    sig.time.format("%H:%M:%S UTC")
                );
                state.flash(FlashKind::Saved, text);
            }
            let Screen::Runner(r) = &mut state.screen else {
                return Vec::new();
            };
            match r.job.status {
                JobStatus::Held => {
                    state.modal = Some(Modal::Held);
                    return Vec::new();
                }
                JobStatus::Suspended | JobStatus::Aborted => {
                    let text = if r.job.status == JobStatus::Aborted {
                        format!("Job {} aborted — saved", r.job.id)
                    } else {
                        format!(
                            "Job {} suspended — saved; resume it from the job list",
                            r.job.id
                        )
                    };
                    state.flash(FlashKind::Saved, text);
                    return go_home(state);
                }
                _ => {}
            }
            if r.job
                .steps
                .get(was_step as usize)
                .is_some_and(|s| s.completed.is_some())
            {
                // The step just completed: on to the next one or the summary.
                let job = r.job.clone();
                let instruction = r.instruction.clone();
                state.flash(
                    FlashKind::Saved,
                    format!("Step {} completed — saved", was_step + 1),
                );
                return match job.current_step() {
                    None => {
                        state.screen = Screen::Summary(Box::new(SummaryState { job, instruction }));
                        vec![Effect::StationTarget(None)]
                    }
                    Some(next) => {
                        let nr = runner_for(state, job, instruction, next);
                        let target = nr.window.clone();
                        state.screen = Screen::Runner(Box::new(nr));
                        vec![Effect::StationTarget(target)]
                    }
                };
            }
            Vec::new()
        }
        Screen::Summary(s) if s.job.id == job.id => {
            if job.status == JobStatus::Submitted {
                state.flash(
                    FlashKind::Saved,
                    format!("Job {} submitted for review — saved", job.id),
                );
                return go_home(state);
            }
            if let Some(step) = job.current_step() {
                // A step was reopened after a rejection.
                let instruction = s.instruction.clone();
                let r = runner_for(state, job, instruction, step);
                let target = r.window.clone();
                state.screen = Screen::Runner(Box::new(r));
                return vec![Effect::StationTarget(target)];
            }
            s.job = job;
            Vec::new()
        }
        _ => Vec::new(),
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

fn login_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::Login(f) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Scan(badge) => {
            f.badge.value = badge.trim().to_string();
            f.focus = 1;
            f.error = None;
        }
        Action::Tab | Action::Down | Action::BackTab | Action::Up => f.focus = 1 - f.focus,
        Action::Esc => {
            if f.badge.value.is_empty() && f.pin.value.is_empty() {
                state.quit = true;
            } else {
                *f = LoginForm::default();
            }
        }
        Action::Enter => {
            if f.focus == 0 {
                if !f.badge.trimmed().is_empty() {
                    f.focus = 1;
                }
            } else if f.badge.trimmed().is_empty() {
                f.focus = 0;
                f.error = Some("scan or type your badge first".into());
            } else if f.pin.value.is_empty() {
                f.error = Some("type your PIN".into());
            } else {
                f.error = None;
                let pin = std::mem::take(&mut f.pin.value);
                return vec![Effect::Login {
                    badge: f.badge.trimmed().to_string(),
                    pin,
                }];
            }
        }
        other => {
            let field = if f.focus == 0 {
                &mut f.badge
            } else {
                &mut f.pin
            };
            edit(field, &other);
        }
    }
    Vec::new()
}

fn home_input(state: &mut State, input: Action) -> Vec<Effect> {
    let is_supervisor = state
        .user
        .as_ref()
        .is_some_and(|p| p.has_role(Role::Supervisor));
    let is_admin = state.user.as_ref().is_some_and(|p| p.has_role(Role::Admin));
    let Screen::Home(h) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Up => h.selected = h.selected.saturating_sub(1),
        Action::Down => h.selected = (h.selected + 1).min(h.jobs.len().saturating_sub(1)),
        Action::Enter => {
            if let Some(j) = h.jobs.get(h.selected) {
                return vec![Effect::OpenJob { job: j.id.clone() }];
            }
        }
        Action::Command('n') => state.screen = Screen::Start(Box::default()),
        Action::Command('t') => state.screen = Screen::Lookup(Box::default()),
        Action::Command('c') if is_supervisor || is_admin => {
            state.screen = Screen::People(Box::default());
            return vec![Effect::LoadPeople];
        }
        Action::Command('c') => state.flash(
            FlashKind::Error,
            "The certification view is for supervisors",
        ),
        Action::Command('r') if is_supervisor => {
            state.screen = Screen::Review(Box::default());
            return vec![Effect::LoadReviewQueue];
        }
        Action::Command('r') => state.flash(FlashKind::Error, "Review needs the supervisor role"),
        Action::Command('l') | Action::Esc => {
            let badge = state.badge().unwrap_or_default().to_string();
            log_out(state);
            return vec![Effect::Logout {
                badge,
                reason: "logged out".into(),
            }];
        }
        Action::Scan(serial) => {
            // Scanning a board on the home screen starts a job for it.
            let mut form = StartForm::default();
            form.fields[0].value = serial.trim().to_string();
            form.focus = 1;
            state.screen = Screen::Start(Box::new(form));
            return vec![Effect::LoadBoard {
                serial: serial.trim().to_string(),
            }];
        }
        _ => {}
    }
    Vec::new()
}

/// Why the logged-in person may not run `instruction` on the board described in
/// the form; empty when they may.
pub fn refusals(state: &State, form: &StartForm, instruction: &Instruction) -> Vec<Refusal> {
    let (Some(person), Some(policy)) = (&state.user, &state.library.policy) else {
        return Vec::new();
    };
    let class = ProductClass::ALL[form.class.min(2)];
    let facts = instruction.facts(&state.library);
    let prior: &[PriorJob] = form.prior.as_ref().map_or(&[], |(_, p)| p.as_slice());
    policy::run_refusals(
        policy,
        person,
        &facts,
        class,
        &form.refdes(),
        prior,
        state.now,
    )
}

fn start_input(state: &mut State, input: Action) -> Vec<Effect> {
    let n_instr = state.library.instructions.len();
    let n_alloys = state.library.alloys.len().max(1);
    let Screen::Start(f) = &mut state.screen else {
        return Vec::new();
    };
    f.error = None;
    let mut fx = Vec::new();
    let leaving_serial = f.focus == 0
        && matches!(
            input,
            Action::Enter | Action::Tab | Action::Down | Action::Scan(_)
        );
    match input {
        Action::Esc => return go_home(state),
        Action::Tab => f.focus = (f.focus + 1).min(StartForm::LIST),
        Action::BackTab => f.focus = f.focus.saturating_sub(1),
        Action::Down if f.focus == StartForm::LIST => {
            f.selected = (f.selected + 1).min(n_instr.saturating_sub(1))
        }
        Action::Up if f.focus == StartForm::LIST => {
            if f.selected == 0 {
                f.focus -= 1;
            } else {
                f.selected -= 1;
            }
        }
        Action::Down => f.focus = (f.focus + 1).min(StartForm::LIST),
        Action::Up => f.focus = f.focus.saturating_sub(1),
        Action::Left | Action::Right if f.focus == StartForm::CLASS => {
            f.class = if input == Action::Left {
                f.class.saturating_sub(1)
            } else {
                (f.class + 1).min(2)
            }
        }
        Action::Left | Action::Right if f.focus == StartForm::ALLOY => {
            f.alloy = if input == Action::Left {
                (f.alloy + n_alloys - 1) % n_alloys
            } else {
                (f.alloy + 1) % n_alloys
            }
        }
        Action::Command(c @ '1'..='3') if f.focus == StartForm::CLASS => {
            f.class = (c as usize) - ('1' as usize)
        }
        Action::Scan(text) if f.focus < START_FIELDS => {
            f.fields[f.focus].value = text.trim().to_string();
            f.focus += 1;
        }
        Action::Enter if f.focus < StartForm::LIST => f.focus += 1,
        Action::Enter => return start_job(state),
        other if f.focus < START_FIELDS => {
            edit(&mut f.fields[f.focus], &other);
        }
        _ => {}
    }
    if leaving_serial {
        let serial = f.fields[0].trimmed().to_string();
        if !serial.is_empty() && f.prior.as_ref().is_none_or(|(s, _)| *s != serial) {
            f.prior = None;
            fx.push(Effect::LoadBoard { serial });
        }
    }
    fx
}

fn start_job(state: &mut State) -> Vec<Effect> {
    let Screen::Start(f) = &state.screen else {
        return Vec::new();
    };
    let Some(instruction) = state.library.instructions.get(f.selected) else {
        return Vec::new();
    };
    let Some(person) = &state.user else {
        return Vec::new();
    };
    let labels = [
        "board serial",
        "assembly part number",
        "assembly revision",
        "reference designator(s)",
        "defect or NCR reference",
    ];
    let missing: Vec<&str> = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| f.fields[*i].trimmed().is_empty())
        .map(|(_, l)| *l)
        .collect();
    let mut error = None;
    if !missing.is_empty() {
        error = Some(format!("Fill in: {}", missing.join(", ")));
    } else if f.prior.is_none() {
        error = Some("Still reading the board's history; try again in a moment".to_string());
    } else if let reasons = refusals(state, f, instruction)
        && !reasons.is_empty()
    {
        let text: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
        error = Some(format!(
            "{} cannot be run: {}",
            instruction.id(),
            text.join("; ")
        ));
    } else if let Some(policy) = &state.library.policy
        && let Err(e) = policy::check_approval(
            policy,
            instruction.spec.activity,
            f.fields[StartForm::APPROVAL].trimmed(),
        )
    {
        error = Some(e);
    }
    let alloy = state
        .library
        .alloys
        .get(f.alloy)
        .map(|a| a.id.get_ref().clone())
        .unwrap_or_default();
    if let Some(e) = error {
        if let Screen::Start(f) = &mut state.screen {
            f.error = Some(e);
        }
        return Vec::new();
    }
    let job = format!("{}-{}", state.bench, state.now.format("%Y%m%d-%H%M%S"));
    let approval = f.fields[StartForm::APPROVAL].trimmed();
    let needs_ref = state
        .library
        .policy
        .as_ref()
        .and_then(|p| p.approval(instruction.spec.activity))
        .is_some_and(|a| a.required);
    let event = Event::JobStarted {
        job: job.clone(),
        board_serial: f.fields[0].trimmed().to_string(),
        assembly_part: f.fields[1].trimmed().to_string(),
        assembly_rev: f.fields[2].trimmed().to_string(),
        refdes: f.refdes(),
        defect_ref: f.fields[4].trimmed().to_string(),
        class: ProductClass::ALL[f.class.min(2)],
        alloy,
        instruction_id: instruction.id().to_string(),
        instruction_rev: instruction.revision().to_string(),
        instruction_hash: instruction.hash.clone(),
        step_count: instruction.spec.steps.len() as u32,
        approval_ref: (needs_ref || !approval.is_empty()).then(|| approval.to_string()),
        bench: state.bench.clone(),
        performer: person.badge.clone(),
    };
    vec![Effect::Append {
        actor: person.badge.clone(),
        job: job.clone(),
        events: vec![event, Event::StepStarted { job, step: 0 }],
    }]
}

fn runner_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::Runner(r) = &mut state.screen else {
        return Vec::new();
    };
    let step = r.step;
    let Some(spec) = r.instruction.spec.steps.get(step as usize) else {
        return Vec::new();
    };
    let n_cp = spec.checkpoints.len();
    match input {
        Action::Up => r.selected = r.selected.saturating_sub(1),
        Action::Down => r.selected = (r.selected + 1).min(n_cp.saturating_sub(1)),
        Action::Enter | Action::Command('c') => {
            if r.saving {
                return Vec::new();
            }
            let cp = r.selected as u32;
            if r.job.steps[step as usize].signatures.contains_key(&cp) {
                state.flash(FlashKind::Info, "This checkpoint is already signed");
                return Vec::new();
            }
            let Some(checkpoint) = spec.checkpoints.get(r.selected) else {
                state.flash(
                    FlashKind::Info,
                    "This step has no checkpoints: press n to complete it",
                );
                return Vec::new();
            };
            let stage = match checkpoint.kind.get_ref() {
                CheckpointKind::PassFail => SignStage::Choice,
                CheckpointKind::Measurement => SignStage::Value,
                CheckpointKind::Confirm if checkpoint.signer == Signer::Inspector => {
                    SignStage::Badge
                }
                CheckpointKind::Confirm => SignStage::Pin,
            };
            state.modal = Some(Modal::Sign(Box::new(SignDialog {
                step,
                checkpoint: cp,
                stage,
                pass: true,
                value: TextField::new("Measured value"),
                comment: TextField::new("Comment"),
                badge: TextField::new("Inspector badge"),
                pin: TextField::masked("PIN"),
                error: None,
            })));
        }
        Action::Scan(raw) => return capture_lot(state, &raw, None),
        Action::Command('l') => {
            state.modal = Some(Modal::Lot {
                field: TextField::new("Lot (or GS1 label)"),
                error: None,
            })
        }
        Action::Command('a') => {
            let open = r.job.open_excursions(step).next().map(|e| {
                (
                    e.id,
                    format!(
                        "Acknowledge alarm {}: {} peaked at {:.1} °C (window {:.0}–{:.0} °C)",
                        e.id, e.channel, e.peak_c, e.window_min_c, e.window_max_c
                    ),
                )
            });
            match open {
                Some((id, title)) => {
                    state.modal = Some(Modal::Comment {
                        purpose: Purpose::AckExcursion { id },
                        title,
                        comment: TextField::new("What happened and what you did"),
                        pin: None,
                        on_pin: false,
                        error: None,
                    });
                }
                None => state.flash(FlashKind::Info, "No temperature alarm to acknowledge"),
            }
        }
        Action::Command('n') => {
            if r.saving {
                return Vec::new();
            }
            let lot_materials = lot_materials(&r.instruction, step);
            let mut blockers = step_blockers(&r.job, step, n_cp, &lot_materials);
            if r.alarm.is_some() {
                blockers.push("temperature is still outside its window".into());
            }
            if !blockers.is_empty() {
                state.flash(
                    FlashKind::Error,
                    format!("Step {} cannot complete: {}", step + 1, blockers.join("; ")),
                );
                return Vec::new();
            }
            r.saving = true;
            let next = (step + 1 < r.job.steps.len() as u32).then_some(step + 1);
            let temperature = r.thermal.summary().for_record();
            return vec![Effect::CompleteStep {
                actor: r.job.performer.clone(),
                job: r.job.id.clone(),
                step,
                pending: std::mem::take(&mut r.pending),
                temperature,
                next,
            }];
        }
        Action::Command('z') => {
            state.modal = Some(Modal::Comment {
                purpose: Purpose::Suspend,
                title: "Suspend the job: why?".into(),
                comment: TextField::new("Reason"),
                pin: None,
                on_pin: false,
                error: None,
            })
        }
        Action::Esc | Action::Command('h') => return go_home(state),
        _ => {}
    }
    Vec::new()
}

/// Materials of a step whose lot must be captured there.
pub fn lot_materials(instruction: &Instruction, step: u32) -> Vec<String> {
    let Some(s) = instruction.spec.steps.get(step as usize) else {
        return Vec::new();
    };
    s.materials
        .iter()
        .filter(|m| {
            instruction
                .spec
                .materials
                .iter()
                .any(|d| d.id.get_ref() == m.get_ref() && d.capture_lot)
        })
        .map(|m| m.get_ref().clone())
        .collect()
}

/// A lot scan (or typed lot) for the current step. `typed_expiry` comes from the
/// lot dialog when the label carries none.
fn capture_lot(
    state: &mut State,
    raw: &str,
    typed_expiry: Option<chrono::NaiveDate>,
) -> Vec<Effect> {
    let today = state.now.date_naive();
    let Screen::Runner(r) = &mut state.screen else {
        return Vec::new();
    };
    let step = r.step;
    let set_error = |state: &mut State, e: String| {
        if let Some(Modal::Lot { error, .. }) = &mut state.modal {
            *error = Some(e);
        } else {
            state.flash(FlashKind::Error, e);
        }
        Vec::new()
    };
    let wanted = lot_materials(&r.instruction, step);
    let Some(material) = wanted
        .iter()
        .find(|m| !r.job.lots_for_step(step).any(|l| &l.material == *m))
        .or(wanted.first())
        .cloned()
    else {
        return set_error(
            state,
            "This step uses no material whose lot is recorded".into(),
        );
    };
    let scan = match gs1::parse_scan(raw, today) {
        Ok(s) => s,
        Err(e) => return set_error(state, format!("Scan not accepted: {e}")),
    };
    let expiry = scan.expiry.or(typed_expiry);
    let needs_expiry = r
        .instruction
        .spec
        .materials
        .iter()
        .any(|d| d.id.get_ref() == &material && d.capture_expiry);
    if needs_expiry && expiry.is_none() {
        // Ask for the date by hand rather than refusing a label without one.
        state.modal = Some(Modal::Lot {
            field: TextField::new("Lot (or GS1 label)").with(&scan.lot),
            error: Some(format!(
                "{material} needs an expiry: add it after the lot as ' YYYY-MM-DD', or scan the GS1 label"
            )),
        });
        return Vec::new();
    }
    if gs1::expired(expiry, today) {
        let e = expiry.map(|d| d.to_string()).unwrap_or_default();
        return set_error(
            state,
            format!("Lot {} of {material} REFUSED: expired on {e}", scan.lot),
        );
    }
    let Screen::Runner(r) = &mut state.screen else {
        return Vec::new();
    };
    state.modal = None;
    vec![Effect::Append {
        actor: r.job.performer.clone(),
        job: r.job.id.clone(),
        events: vec![Event::LotRecorded {
            job: r.job.id.clone(),
            step,
            material,
            lot: scan.lot,
            expiry,
            gtin: scan.gtin,
            raw_scan: scan.raw,
        }],
    }]
}

fn summary_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::Summary(s) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Enter | Action::Command('s') => match s.job.status {
            JobStatus::InProgress | JobStatus::Rejected => {
                return vec![Effect::Append {
                    actor: s.job.performer.clone(),
                    job: s.job.id.clone(),
                    events: vec![Event::JobSubmitted {
                        job: s.job.id.clone(),
                    }],
                }];
            }
            other => state.flash(FlashKind::Info, format!("This job is {}", other.as_str())),
        },
        Action::Command(c @ '1'..='9') if s.job.status == JobStatus::Rejected => {
            // Reopen a step the reviewer rejected.
            let step = c as u32 - '1' as u32;
            if (step as usize) < s.job.steps.len() {
                return vec![Effect::Append {
                    actor: s.job.performer.clone(),
                    job: s.job.id.clone(),
                    events: vec![
                        Event::StepRedone {
                            job: s.job.id.clone(),
                            step,
                            reason: "reopened after review".into(),
                        },
                        Event::StepStarted {
                            job: s.job.id.clone(),
                            step,
                        },
                    ],
                }];
            }
        }
        Action::Esc | Action::Command('h') => return go_home(state),
        _ => {}
    }
    Vec::new()
}

fn people_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::People(p) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Esc | Action::Command('h') => return go_home(state),
        Action::Up => p.scroll = p.scroll.saturating_sub(1),
        Action::Down => p.scroll = p.scroll.saturating_add(1),
        _ => {}
    }
    Vec::new()
}

fn lookup_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::Lookup(l) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Esc => return go_home(state),
        Action::Scan(q) => {
            l.query.value = q.trim().to_string();
            return vec![Effect::Lookup {
                query: q.trim().to_string(),
            }];
        }
        Action::Enter if !l.query.trimmed().is_empty() => {
            return vec![Effect::Lookup {
                query: l.query.trimmed().to_string(),
            }];
        }
        Action::Up => l.scroll = l.scroll.saturating_sub(1),
        Action::Down => l.scroll = l.scroll.saturating_add(1),
        other => {
            edit(&mut l.query, &other);
        }
    }
    Vec::new()
}

fn review_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::Review(r) = &mut state.screen else {
        return Vec::new();
    };
    if r.filtering {
        match input {
            Action::Enter | Action::Esc => r.filtering = false,
            other => {
                edit(&mut r.filter, &other);
                r.selected = 0;
            }
        }
        return Vec::new();
    }
    if r.open.is_some() {
        match input {
            Action::Esc => r.open = None,
            Action::Left | Action::Right => {
                // Step through the steps that have a recorded trace.
                let steps: Vec<usize> = r.traces.iter().map(|t| t.step as usize).collect();
                if let Some(pos) = steps.iter().position(|s| *s == r.chart_step) {
                    let next = if input == Action::Left {
                        pos.checked_sub(1).unwrap_or(steps.len() - 1)
                    } else {
                        (pos + 1) % steps.len()
                    };
                    r.chart_step = steps[next];
                }
            }
            Action::Up => r.scroll = r.scroll.saturating_sub(1),
            Action::Down => r.scroll = r.scroll.saturating_add(1),
            Action::Command(c @ ('a' | 'x')) => {
                let approve = c == 'a';
                state.modal = Some(Modal::Comment {
                    purpose: if approve {
                        Purpose::Approve
                    } else {
                        Purpose::Reject
                    },
                    title: if approve {
                        "Approve: comment, then your PIN".into()
                    } else {
                        "Reject: the reason goes back to the technician".into()
                    },
                    comment: TextField::new("Comment"),
                    pin: Some(TextField::masked("PIN")),
                    on_pin: false,
                    error: None,
                });
            }
            _ => {}
        }
        return Vec::new();
    }
    let visible = visible_reviews(r);
    match input {
        Action::Esc | Action::Command('h') => return go_home(state),
        Action::Up => r.selected = r.selected.saturating_sub(1),
        Action::Down => r.selected = (r.selected + 1).min(visible.len().saturating_sub(1)),
        Action::Command('/') | Action::Command('f') => r.filtering = true,
        Action::Enter => {
            if let Some(id) = visible.get(r.selected) {
                return vec![Effect::OpenReview { job: id.clone() }];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Queue entries matching the filter (date, technician, instruction, serial).
pub fn visible_reviews(r: &ReviewState) -> Vec<String> {
    let needle = r.filter.trimmed().to_lowercase();
    r.queue
        .iter()
        .filter(|l| {
            needle.is_empty()
                || [
                    l.id.as_str(),
                    l.serial.as_str(),
                    l.instruction.as_str(),
                    l.performer.as_str(),
                    &l.submitted.format("%Y-%m-%d").to_string(),
                ]
                .iter()
                .any(|f| f.to_lowercase().contains(&needle))
        })
        .map(|l| l.id.clone())
        .collect()
}

fn modal(state: &mut State, input: Action) -> Vec<Effect> {
    match state.modal.take() {
        Some(Modal::Sign(d)) => sign_input(state, *d, input),
        Some(Modal::Comment {
            purpose,
            title,
            mut comment,
            mut pin,
            mut on_pin,
            error,
        }) => {
            match input {
                Action::Esc => return Vec::new(),
                Action::Enter | Action::Scan(_) if !on_pin || pin.is_none() => {
                    if let Action::Scan(s) = &input {
                        comment.push_str(s);
                    }
                    if comment.trimmed().len() < 3 {
                        state.modal = Some(Modal::Comment {
                            purpose,
                            title,
                            comment,
                            pin,
                            on_pin,
                            error: Some("A comment of a few words is required".into()),
                        });
                        return Vec::new();
                    }
                    if pin.is_some() {
                        on_pin = true;
                    } else {
                        return comment_done(state, purpose, comment.trimmed().to_string(), None);
                    }
                }
                Action::Enter => {
                    let p = pin
                        .as_mut()
                        .map(|p| std::mem::take(&mut p.value))
                        .unwrap_or_default();
                    if p.is_empty() {
                        state.modal = Some(Modal::Comment {
                            purpose,
                            title,
                            comment,
                            pin,
                            on_pin,
                            error: Some("Type your PIN to sign".into()),
                        });
                        return Vec::new();
                    }
                    let text = comment.trimmed().to_string();
                    state.modal = Some(Modal::Comment {
                        purpose: purpose.clone(),
                        title,
                        comment,
                        pin,
                        on_pin,
                        error: None,
                    });
                    return comment_done(state, purpose, text, Some(p));
                }
                Action::Tab | Action::BackTab if pin.is_some() => on_pin = !on_pin,
                other => {
                    let field = match (&mut pin, on_pin) {
                        (Some(p), true) => p,
                        _ => &mut comment,
                    };
                    edit(field, &other);
                }
            }
            state.modal = Some(Modal::Comment {
                purpose,
                title,
                comment,
                pin,
                on_pin,
                error,
            });
            Vec::new()
        }
        Some(Modal::Lot { mut field, error }) => match input {
            Action::Esc => Vec::new(),
            Action::Scan(raw) => capture_lot(state, &raw, None),
            Action::Enter => {
                // "LOT 2027-05-31": a typed expiry follows the lot after a space.
                let text = field.trimmed().to_string();
                let (lot, expiry) = match text.rsplit_once(' ') {
                    Some((l, d)) => match chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d") {
                        Ok(date) => (l.trim().to_string(), Some(date)),
                        Err(_) => (text.clone(), None),
                    },
                    None => (text.clone(), None),
                };
                if lot.is_empty() {
                    state.modal = Some(Modal::Lot {
                        field,
                        error: Some("Type or scan the lot".into()),
                    });
                    return Vec::new();
                }
                state.modal = Some(Modal::Lot { field, error: None });
                capture_lot(state, &lot, expiry)
            }
            other => {
                edit(&mut field, &other);
                state.modal = Some(Modal::Lot { field, error });
                Vec::new()
            }
        },
        Some(Modal::Held) => {
            let purpose = match input {
                Action::Command('r') => Some((
                    Purpose::Redo,
                    "Redo the step: what will you do differently?",
                )),
                Action::Command('x') => Some((Purpose::Abort, "Abort the job: why?")),
                Action::Esc => {
                    state.modal = Some(Modal::Held);
                    return go_home(state);
                }
                _ => None,
            };
            state.modal = Some(match purpose {
                Some((purpose, title)) => Modal::Comment {
                    purpose,
                    title: title.into(),
                    comment: TextField::new("Reason"),
                    pin: None,
                    on_pin: false,
                    error: None,
                },
                None => Modal::Held,
            });
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn comment_done(
    state: &mut State,
    purpose: Purpose,
    comment: String,
    pin: Option<String>,
) -> Vec<Effect> {
    let badge = state.badge().unwrap_or_default().to_string();
    match (&state.screen, purpose) {
        (Screen::Review(r), p @ (Purpose::Approve | Purpose::Reject)) => {
            let Some((job, _)) = &r.open else {
                return Vec::new();
            };
            vec![Effect::Review {
                badge,
                pin: pin.unwrap_or_default(),
                job: job.id.clone(),
                approve: p == Purpose::Approve,
                comment,
            }]
        }
        (Screen::Runner(r), purpose) => {
            let job = r.job.id.clone();
            let step = r.step;
            let events = match purpose {
                Purpose::AckExcursion { id } => vec![Event::ExcursionAcknowledged {
                    job: job.clone(),
                    step,
                    id,
                    comment,
                }],
                Purpose::Suspend => vec![Event::JobSuspended {
                    job: job.clone(),
                    reason: comment,
                }],
                Purpose::Redo => vec![
                    Event::StepRedone {
                        job: job.clone(),
                        step,
                        reason: comment,
                    },
                    Event::StepStarted {
                        job: job.clone(),
                        step,
                    },
                ],
                Purpose::Abort => vec![Event::JobAborted {
                    job: job.clone(),
                    reason: comment,
                }],
                _ => return Vec::new(),
            };
            state.modal = None;
            let mut fx = flush_samples(state);
            fx.push(Effect::Append {
                actor: badge,
                job,
                events,
            });
            fx
        }
        _ => Vec::new(),
    }
}

fn sign_input(state: &mut State, mut d: SignDialog, input: Action) -> Vec<Effect> {
    let Screen::Runner(r) = &state.screen else {
        return Vec::new();
    };
    let Some(cp) = r
        .instruction
        .spec
        .steps
        .get(d.step as usize)
        .and_then(|s| s.checkpoints.get(d.checkpoint as usize))
        .cloned()
    else {
        return Vec::new();
    };
    let inspector = cp.signer == Signer::Inspector;
    let performer = r.job.performer.clone();
    let job = r.job.id.clone();
    if input == Action::Esc {
        return Vec::new();
    }
    d.error = None;
    let failed = |d: &SignDialog| !d.pass;
    match (d.stage, input) {
        (SignStage::Choice, Action::Command('p') | Action::Left) => d.pass = true,
        (SignStage::Choice, Action::Command('f') | Action::Right) => d.pass = false,
        (SignStage::Choice, Action::Enter) => {
            d.stage = if failed(&d) {
                SignStage::Comment
            } else if inspector {
                SignStage::Badge
            } else {
                SignStage::Pin
            }
        }
        (SignStage::Value, Action::Enter) => {
            match d.value.trimmed().replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    let min = cp.min.as_ref().map(|m| *m.get_ref());
                    d.pass = min.is_none_or(|m| v >= m) && cp.max.is_none_or(|m| v <= m);
                    d.stage = if failed(&d) {
                        SignStage::Comment
                    } else if inspector {
                        SignStage::Badge
                    } else {
                        SignStage::Pin
                    };
                }
                _ => d.error = Some("Type the measured value as a number".into()),
            }
        }
        (SignStage::Comment, Action::Enter) => {
            if d.comment.trimmed().len() < 3 {
                d.error = Some("A failed checkpoint needs a comment".into());
            } else {
                d.stage = if inspector {
                    SignStage::Badge
                } else {
                    SignStage::Pin
                };
            }
        }
        (SignStage::Badge, Action::Scan(b)) => {
            d.badge.value = b.trim().to_string();
            d.stage = SignStage::Pin;
        }
        (SignStage::Badge, Action::Enter) => {
            if d.badge.trimmed().is_empty() {
                d.error = Some("The inspector scans or types their badge".into());
            } else if d.badge.trimmed() == performer {
                d.error =
                    Some("Nobody inspects their own work: another person's badge is needed".into());
            } else {
                d.stage = SignStage::Pin;
            }
        }
        (SignStage::Pin, Action::Enter) => {
            if d.pin.value.is_empty() {
                d.error = Some("Type the PIN to sign".into());
            } else {
                let signer = if inspector {
                    d.badge.trimmed().to_string()
                } else {
                    performer.clone()
                };
                let result = match cp.kind.get_ref() {
                    CheckpointKind::Confirm => CheckResult::Confirmed,
                    _ if d.pass => CheckResult::Pass,
                    _ => CheckResult::Fail,
                };
                let measurement = (*cp.kind.get_ref() == CheckpointKind::Measurement)
                    .then(|| d.value.trimmed().replace(',', ".").parse::<f64>().ok())
                    .flatten()
                    .map(|value| Measurement {
                        value,
                        unit: cp.unit.clone().unwrap_or_default(),
                    });
                let comment = Some(d.comment.trimmed().to_string()).filter(|c| !c.is_empty());
                let event = Event::CheckpointSigned {
                    job: job.clone(),
                    step: d.step,
                    checkpoint: d.checkpoint,
                    signer: signer.clone(),
                    // The store's executor fills the printed name from the roster.
                    signer_name: String::new(),
                    meaning: if inspector {
                        Meaning::Inspected
                    } else {
                        Meaning::Performed
                    },
                    result,
                    measurement,
                    comment,
                };
                let pin = std::mem::take(&mut d.pin.value);
                state.modal = Some(Modal::Sign(Box::new(d)));
                return vec![Effect::Sign {
                    badge: signer,
                    pin,
                    role: if inspector {
                        SignerRole::Inspector
                    } else {
                        SignerRole::Technician
                    },
                    performer,
                    job,
                    event: Box::new(event),
                }];
            }
        }
        (stage, other) => {
            let field = match stage {
                SignStage::Value => Some(&mut d.value),
                SignStage::Comment => Some(&mut d.comment),
                SignStage::Badge => Some(&mut d.badge),
                SignStage::Pin => Some(&mut d.pin),
                SignStage::Choice => None,
            };
            if let Some(f) = field {
                if let Action::Scan(s) = &other {
                    f.push_str(s);
                } else {
                    edit(f, &other);
                }
            }
        }
    }
    state.modal = Some(Modal::Sign(Box::new(d)));
    Vec::new()
}
