//! Dialogs: signing a checkpoint, required comments, lots typed by hand, held jobs.

use super::*;

pub(super) fn modal(state: &mut State, input: Action) -> Vec<Effect> {
    match state.modal.take() {
        Some(Modal::Sign(d)) => sign_input(state, *d, input),
        Some(Modal::Comment(mut d)) => {
            d.error = None;
            match input {
                Action::Esc => return Vec::new(),
                Action::Enter | Action::Scan(_) if !d.on_pin || d.pin.is_none() => {
                    if let Action::Scan(s) = &input {
                        d.comment.push_str(s);
                    }
                    if d.comment.trimmed().len() < 3 {
                        d.error = Some("A comment of a few words is required".into());
                    } else if d.pin.is_some() {
                        d.on_pin = true;
                    } else {
                        let text = d.comment.trimmed().to_string();
                        return comment_done(state, d.purpose, text, None);
                    }
                }
                Action::Enter => {
                    let pin = d
                        .pin
                        .as_mut()
                        .map(|p| std::mem::take(&mut p.value))
                        .unwrap_or_default();
                    if pin.is_empty() {
                        d.error = Some("Type your PIN to sign".into());
                    } else {
                        // The dialog stays open until the signature is accepted.
                        let (purpose, text) = (d.purpose.clone(), d.comment.trimmed().to_string());
                        state.modal = Some(Modal::Comment(d));
                        return comment_done(state, purpose, text, Some(pin));
                    }
                }
                Action::Tab | Action::BackTab if d.pin.is_some() => d.on_pin = !d.on_pin,
                other => {
                    let field = match (&mut d.pin, d.on_pin) {
                        (Some(p), true) => p,
                        _ => &mut d.comment,
                    };
                    edit(field, &other);
                }
            }
            state.modal = Some(Modal::Comment(d));
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
                Some((purpose, title)) => CommentDialog::open(purpose, title, "Reason"),
                None => Modal::Held,
            });
            Vec::new()
        }
        None => Vec::new(),
    }
}

pub(super) fn comment_done(
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

pub(super) fn sign_input(state: &mut State, mut d: SignDialog, input: Action) -> Vec<Effect> {
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
                    recorded: None,
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
