//! The runner: checkpoints, lots, alarms, completing steps; the summary.

use super::*;

pub(super) fn runner_input(state: &mut State, input: Action) -> Vec<Effect> {
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
                    state.modal = Some(CommentDialog::open(
                        Purpose::AckExcursion { id },
                        title,
                        "What happened and what you did",
                    ));
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
            state.modal = Some(CommentDialog::open(
                Purpose::Suspend,
                "Suspend the job: why?",
                "Reason",
            ))
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
pub(super) fn capture_lot(
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

pub(super) fn summary_input(state: &mut State, input: Action) -> Vec<Effect> {
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
