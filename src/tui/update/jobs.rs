//! Opening a job where it stands, the recording of its open step, and what a saved
//! command changes on the screen that asked.

use super::*;

/// Opens a job where it stands: the summary when every step is done, else the runner.
pub(super) fn open_job(state: &mut State, job: Job, instruction: Arc<Instruction>) -> Vec<Effect> {
    if state
        .library
        .instruction(&job.instruction_id)
        .is_some_and(|i| i.hash != job.instruction_hash)
    {
        state.flash(
            FlashKind::Info,
            format!(
                "Note: {} changed since this job started; showing the text it ran",
                job.instruction_id
            ),
        );
    }
    let mut fx = Vec::new();
    match job.current_step() {
        None => {
            state.show(Screen::Summary(Box::new(SummaryState::new(
                job,
                instruction,
            ))));
            fx.push(Effect::StationTarget(None));
        }
        Some(step) => {
            let r = runner_for(state, job, instruction, step);
            fx.push(Effect::StationTarget(r.window.clone()));
            let status = r.job.status;
            let needs_start = status == JobStatus::InProgress
                && r.job.steps[step as usize]
                    .current_attempt()
                    .is_none_or(|a| a.started.is_none());
            let job = r.job.clone();
            state.show(Screen::Runner(Box::new(r)));
            fx.extend(follow_recording(state, &job));
            if needs_start {
                let (_, e) = command(
                    state,
                    "start step",
                    None,
                    Command::StartStep {
                        job: job.id.clone(),
                        step,
                    },
                );
                fx.push(e);
            }
            match status {
                JobStatus::Held => state.modal = Some(Modal::Held),
                JobStatus::Suspended => {
                    state.modal = Some(CommentDialog::open(
                        Purpose::Resume,
                        format!("Job {} is suspended: why does work go on now?", job.id),
                        "Reason",
                    ))
                }
                _ => {}
            }
        }
    }
    fx
}

pub(super) fn runner_for(
    state: &State,
    job: Job,
    instruction: Arc<Instruction>,
    step: u32,
) -> RunnerState {
    let alloy = state.library.alloy(&job.alloy);
    let window = instruction.step_window(step as usize, alloy);
    let mut r = RunnerState {
        job,
        instruction,
        step,
        window,
        selected: 0,
        saving: false,
        // A step opens at the top of its text; the pane follows the cursor once
        // it moves (↑↓ or a signature).
        scroll: Some(0),
    };
    r.selected = next_unsigned(&r, 0);
    r
}

/// The first checkpoint still to sign at or after `from` (wrapping round), so
/// Enter after a signature signs the next one; where it was when all are signed.
pub(super) fn next_unsigned(r: &RunnerState, from: usize) -> usize {
    let n = r
        .instruction
        .spec
        .steps
        .get(r.step as usize)
        .map_or(0, |s| s.checkpoints.len());
    let signed = |cp: usize| {
        r.job
            .steps
            .get(r.step as usize)
            .is_some_and(|s| s.signatures.contains_key(&(cp as u32)))
    };
    (0..n)
        .map(|i| (from + i) % n)
        .find(|cp| !signed(*cp))
        .unwrap_or(from.min(n.saturating_sub(1)))
}

/// The window of a job's step, from the runner showing it or the folder's text.
fn window_of(state: &State, job: &Job, step: u32) -> Option<crate::domain::thermal::Window> {
    let alloy = state.library.alloy(&job.alloy);
    if let Screen::Runner(r) = &state.screen
        && r.job.id == job.id
    {
        return r.instruction.step_window(step as usize, alloy);
    }
    if let Some(rec) = &state.recorder
        && rec.job == job.id
        && rec.step == step
    {
        return rec.window.clone();
    }
    state
        .library
        .instructions
        .iter()
        .find(|i| i.hash == job.instruction_hash)
        .and_then(|i| i.step_window(step as usize, alloy))
}

/// Keeps the recorder on the job's open step: a new attempt or step gets a new
/// recording; a job that stops (held, suspended, done) stops it. Readings of the
/// recording being replaced go to the store first.
pub(super) fn follow_recording(state: &mut State, job: &Job) -> Vec<Effect> {
    let wanted = match (job.status, job.current_step()) {
        (JobStatus::InProgress, Some(step))
            if job.steps[step as usize]
                .current_attempt()
                .is_some_and(|a| a.started.is_some()) =>
        {
            Some((step, job.attempt_of(step)))
        }
        _ => None,
    };
    let recording_this = state.recorder.as_ref().is_some_and(|r| r.job == job.id);
    let same = state
        .recorder
        .as_ref()
        .is_some_and(|r| r.job == job.id && Some((r.step, r.attempt)) == wanted);
    // Another job's answer, or nothing changed: the recording goes on.
    if same || (wanted.is_none() && !recording_this) {
        return Vec::new();
    }
    let fx = flush_samples(state);
    state.recorder = wanted.map(|(step, attempt)| {
        let window = window_of(state, job, step);
        let liquidus = state.library.alloy(&job.alloy).map(|a| a.liquidus_c);
        Recorder {
            job: job.id.clone(),
            performer: job.performer.clone(),
            step,
            attempt,
            thermal: StepThermal::new(window.iter().cloned().collect(), liquidus),
            trace: Trace {
                channel: window
                    .as_ref()
                    .map(|w| w.channel.clone())
                    .unwrap_or_default(),
                ..Trace::default()
            },
            window,
            pending: Vec::new(),
            sealing: None,
            alarm: None,
            next_alarm: job
                .excursions
                .iter()
                .filter(|e| e.step == step)
                .map(|e| e.id)
                .max()
                .unwrap_or(0)
                + 1,
        }
    });
    fx
}

/// The job as the store has it now, on whatever screen shows it, without moving on.
pub(super) fn refresh_job(state: &mut State, job: Job) {
    match &mut state.screen {
        Screen::Runner(r) if r.job.id == job.id => r.job = job,
        Screen::Summary(s) if s.job.id == job.id => s.job = job,
        _ => {}
    }
}

/// A command was saved while its screen was still shown: the job as the store has
/// it now, and where that leads.
pub(super) fn job_saved(state: &mut State, job: Job, acc: &Accepted) -> Vec<Effect> {
    let started = acc.events().any(|e| matches!(e, Event::JobStarted { .. }));
    let deviated = acc.events().any(|e| matches!(e, Event::Deviated { .. }));
    match &mut state.screen {
        Screen::Start(_) if started => {
            let Some(instruction) = state
                .library
                .instructions
                .iter()
                .find(|i| i.hash == job.instruction_hash)
                .cloned()
            else {
                return Vec::new();
            };
            open_job(state, job, Arc::new(instruction))
        }
        Screen::Runner(r) if r.job.id == job.id => {
            r.saving = false;
            let was_step = r.step;
            r.job = job;
            match r.job.status {
                JobStatus::Held => {
                    state.modal = Some(Modal::Held);
                    return Vec::new();
                }
                JobStatus::Suspended | JobStatus::Aborted => return go_home(state),
                _ => {}
            }
            if deviated {
                // The deviation was what the completion waited for.
                r.saving = true;
                let job = r.job.id.clone();
                return complete_step(state, job, was_step);
            }
            let done = r
                .job
                .steps
                .get(was_step as usize)
                .is_some_and(|s| s.completed.is_some());
            let signed = acc
                .events()
                .any(|e| matches!(e, Event::CheckpointSigned { .. }));
            if signed {
                r.selected = next_unsigned(r, r.selected);
                r.scroll = None;
            }
            if done || r.job.current_step() != Some(was_step) {
                let job = r.job.clone();
                let instruction = r.instruction.clone();
                return match job.current_step() {
                    None => {
                        state.show(Screen::Summary(Box::new(SummaryState::new(
                            job,
                            instruction,
                        ))));
                        vec![Effect::StationTarget(None)]
                    }
                    Some(next) => {
                        let nr = runner_for(state, job, instruction, next);
                        let target = nr.window.clone();
                        state.show(Screen::Runner(Box::new(nr)));
                        vec![Effect::StationTarget(target)]
                    }
                };
            }
            Vec::new()
        }
        Screen::Summary(s) if s.job.id == job.id => {
            if job.status == JobStatus::Submitted {
                return go_home(state);
            }
            if let Some(step) = job.current_step() {
                // A step was reopened after a rejection.
                let instruction = s.instruction.clone();
                let r = runner_for(state, job, instruction, step);
                let target = r.window.clone();
                state.show(Screen::Runner(Box::new(r)));
                return vec![Effect::StationTarget(target)];
            }
            s.job = job;
            Vec::new()
        }
        Screen::Review(_) if acc.events().any(|e| matches!(e, Event::JobReviewed { .. })) => {
            if let Screen::Review(r) = &mut state.screen {
                r.open = None;
            }
            vec![read(state, Ask::ReviewQueue, Read::ReviewQueue)]
        }
        _ => Vec::new(),
    }
}
