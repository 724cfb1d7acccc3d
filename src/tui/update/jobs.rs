//! Opening a job where it stands, and what an append that came back changes.

use super::*;

/// Opens a job where it stands: the summary when every step is done, else the runner.
pub(super) fn open_job(state: &mut State, job: Job) -> Vec<Effect> {
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
                reason: String::new(),
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

pub(super) fn runner_for(
    state: &State,
    job: Job,
    instruction: Arc<Instruction>,
    step: u32,
) -> RunnerState {
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
pub(super) fn job_saved(state: &mut State, job: Job) -> Vec<Effect> {
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
                Some(Modal::Sign(_) | Modal::Lot { .. } | Modal::Comment(_))
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
