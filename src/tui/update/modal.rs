//! Dialogs: signing a checkpoint, required comments (some signed with a PIN), lots
//! typed by hand, held jobs. A dialog that sent its request stays open, waiting,
//! until the answer closes it or shows why not.

use super::*;

pub(super) fn modal(state: &mut State, input: Action) -> Vec<Effect> {
    let cmd = keys::command(state, &input);
    match state.modal.take() {
        Some(Modal::Sign(d)) => sign_input(state, *d, cmd, input),
        Some(Modal::Comment(mut d)) => {
            if cmd == Some(Cmd::Back) {
                // Not resuming a suspended job: it stays suspended, back to the list.
                if d.purpose == Purpose::Resume && d.waiting.is_none() {
                    return go_home(state);
                }
                return Vec::new();
            }
            if d.waiting.is_some() {
                // Sent: only Esc (above) does anything until the answer comes.
                state.modal = Some(Modal::Comment(d));
                return Vec::new();
            }
            d.error = None;
            let on_comment = !d.on_pin || d.pin.is_none();
            match (cmd, input.clone()) {
                (Some(Cmd::Next), _) | (_, Action::Scan(_)) if on_comment => {
                    if let Action::Scan(s) = &input {
                        // Scans of a part's P/N, then its lot, are words of one line.
                        if matches!(d.purpose, Purpose::Component { .. })
                            && !d.comment.value.is_empty()
                            && !d.comment.value.ends_with(' ')
                        {
                            d.comment.push_str(" ");
                        }
                        d.comment.push_str(s);
                    }
                    // A designator ("U7") is shorter than a reason; the core reads it.
                    let short = !matches!(d.purpose, Purpose::Component { .. })
                        && d.comment.trimmed().chars().count() < 3;
                    if short {
                        d.error = Some("A comment of a few words is required".into());
                    } else if d.pin.is_some() {
                        d.on_pin = true;
                    } else {
                        let text = d.comment.trimmed().to_string();
                        let purpose = d.purpose.clone();
                        state.modal = Some(Modal::Comment(d));
                        return comment_done(state, purpose, text, None);
                    }
                }
                (Some(Cmd::Next), _) => {
                    let pin = d
                        .pin
                        .as_mut()
                        .map(|p| std::mem::take(&mut p.value))
                        .unwrap_or_default();
                    if pin.is_empty() {
                        d.error = Some("Type your PIN to sign".into());
                    } else {
                        let (purpose, text) = (d.purpose.clone(), d.comment.trimmed().to_string());
                        state.modal = Some(Modal::Comment(d));
                        return comment_done(state, purpose, text, Some(pin));
                    }
                }
                (Some(Cmd::NextField), _) if d.pin.is_some() => d.on_pin = !d.on_pin,
                (_, other) => {
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
        Some(Modal::Lot {
            mut field,
            error,
            waiting,
        }) => match (cmd, input) {
            (Some(Cmd::Back), _) => Vec::new(),
            (_, _) if waiting.is_some() => {
                state.modal = Some(Modal::Lot {
                    field,
                    error,
                    waiting,
                });
                Vec::new()
            }
            (_, Action::Scan(raw)) => match lot_text(&raw) {
                Ok((lot, expiry)) => {
                    state.modal = Some(Modal::Lot {
                        field,
                        error: None,
                        waiting: None,
                    });
                    capture_lot(state, &lot, expiry)
                }
                Err(e) => {
                    state.modal = Some(Modal::Lot {
                        field: TextField::new("Lot (or GS1 label)").with(raw.trim()),
                        error: Some(e.to_string()),
                        waiting: None,
                    });
                    Vec::new()
                }
            },
            (Some(Cmd::Next), _) => {
                // "LOT 2027-05-31": a typed expiry follows the lot after a space.
                let (lot, expiry) = match lot_text(field.trimmed()) {
                    Ok(v) => v,
                    Err(e) => {
                        state.modal = Some(Modal::Lot {
                            field,
                            error: Some(e.to_string()),
                            waiting: None,
                        });
                        return Vec::new();
                    }
                };
                state.modal = Some(Modal::Lot {
                    field,
                    error: None,
                    waiting: None,
                });
                capture_lot(state, &lot, expiry)
            }
            (_, other) => {
                edit(&mut field, &other);
                state.modal = Some(Modal::Lot {
                    field,
                    error,
                    waiting,
                });
                Vec::new()
            }
        },
        Some(Modal::Held) => {
            let purpose = match cmd {
                Some(Cmd::Redo) => Some((
                    Purpose::Redo,
                    "Redo the step: what will you do differently?",
                )),
                Some(Cmd::Abort) => Some((Purpose::Abort, "Abort the job: why?")),
                Some(Cmd::Back) => return go_home(state),
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

/// A comment dialog's text (and PIN) becomes its command; the dialog waits.
pub(super) fn comment_done(
    state: &mut State,
    purpose: Purpose,
    comment: String,
    pin: Option<String>,
) -> Vec<Effect> {
    let badge = state.badge().unwrap_or_default().to_string();
    let credentials = pin.map(|pin| Credentials {
        badge: badge.clone(),
        pin,
    });
    let (what, c) = match (&state.screen, &purpose) {
        (Screen::Review(r), Purpose::Approve | Purpose::Reject) => {
            let Some((job, _)) = &r.open else {
                return Vec::new();
            };
            (
                "review",
                Command::Review {
                    job: job.id.clone(),
                    decision: crate::domain::decide::decision(purpose == Purpose::Approve),
                    comment,
                },
            )
        }
        (Screen::Summary(s), Purpose::Reopen { step }) => (
            "reopen",
            Command::Redo {
                job: s.job.id.clone(),
                step: *step,
                reason: comment,
            },
        ),
        (Screen::Runner(r), purpose) => {
            let job = r.job.id.clone();
            let step = r.step;
            match purpose {
                Purpose::AckExcursion { id } => (
                    "acknowledge",
                    Command::AcknowledgeAlarm {
                        job,
                        step,
                        id: *id,
                        comment,
                    },
                ),
                Purpose::Suspend => (
                    "suspend",
                    Command::Suspend {
                        job,
                        reason: comment,
                    },
                ),
                Purpose::Resume => (
                    "resume",
                    Command::Resume {
                        job,
                        reason: comment,
                    },
                ),
                Purpose::Redo => (
                    "redo",
                    Command::Redo {
                        job,
                        step,
                        reason: comment,
                    },
                ),
                Purpose::Abort => (
                    "abort",
                    Command::Abort {
                        job,
                        reason: comment,
                    },
                ),
                Purpose::Deviate { kind } => (
                    "deviate",
                    Command::Deviate {
                        job,
                        step,
                        kind: *kind,
                        reason: comment,
                    },
                ),
                Purpose::Component { .. } => (
                    "component",
                    Command::RecordComponent {
                        job,
                        step,
                        entry: comment,
                    },
                ),
                _ => return Vec::new(),
            }
        }
        _ => return Vec::new(),
    };
    let mut fx = if matches!(c, Command::Suspend { .. } | Command::Abort { .. }) {
        flush_samples(state)
    } else {
        Vec::new()
    };
    let (id, e) = command(state, what, credentials, c);
    if let Some(Modal::Comment(d)) = &mut state.modal {
        d.waiting = Some(id);
    }
    fx.push(e);
    fx
}

pub(super) fn sign_input(
    state: &mut State,
    mut d: SignDialog,
    cmd: Option<Cmd>,
    input: Action,
) -> Vec<Effect> {
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
    if cmd == Some(Cmd::Back) {
        return Vec::new();
    }
    if d.waiting.is_some() {
        state.modal = Some(Modal::Sign(Box::new(d)));
        return Vec::new();
    }
    let inspector = cp.signer == Signer::Inspector;
    let performer = r.job.performer.clone();
    let job = r.job.id.clone();
    d.error = None;
    let after_result = |d: &SignDialog| {
        if d.verdict == Some(Verdict::Fail) {
            SignStage::Comment
        } else if inspector {
            SignStage::Badge
        } else {
            SignStage::Pin
        }
    };
    match (d.stage, cmd, input) {
        (SignStage::Choice, Some(Cmd::Pass), _) => d.verdict = Some(Verdict::Pass),
        (SignStage::Choice, Some(Cmd::Fail), _) => d.verdict = Some(Verdict::Fail),
        (SignStage::Choice, Some(Cmd::Next), _) => match d.verdict {
            None => d.error = Some("Choose the result first: p pass, f fail".into()),
            Some(_) => d.stage = after_result(&d),
        },
        (SignStage::Value, Some(Cmd::Next), _) => {
            match d.value.trimmed().replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() => {
                    // What the limits say, to ask for a comment up front; the core
                    // judges the value again.
                    let min = cp.min.as_ref().map(|m| *m.get_ref());
                    let inside = min.is_none_or(|m| v >= m) && cp.max.is_none_or(|m| v <= m);
                    d.verdict = Some(if inside { Verdict::Pass } else { Verdict::Fail });
                    let differs = d
                        .recorded
                        .is_some_and(|rv| (v - rv).abs() > cp.tolerance.unwrap_or(0.0));
                    d.stage = if differs {
                        SignStage::Comment
                    } else {
                        after_result(&d)
                    };
                }
                _ => d.error = Some("Type the measured value as a number".into()),
            }
        }
        (SignStage::Comment, Some(Cmd::Next), _) => {
            if d.comment.trimmed().chars().count() < 3 {
                d.error = Some(if d.verdict == Some(Verdict::Fail) {
                    "A failed checkpoint needs a comment".into()
                } else {
                    "The value differs from what the station recorded: say why".into()
                });
            } else {
                d.stage = if inspector {
                    SignStage::Badge
                } else {
                    SignStage::Pin
                };
            }
        }
        (SignStage::Badge, _, Action::Scan(b)) => {
            d.badge.value = b.trim().to_string();
            d.stage = SignStage::Pin;
        }
        (SignStage::Badge, Some(Cmd::Next), _) => {
            if d.badge.trimmed().is_empty() {
                d.error = Some("The inspector scans or types their badge".into());
            } else if d.badge.trimmed() == performer {
                d.error =
                    Some("Nobody inspects their own work: another person's badge is needed".into());
            } else {
                d.stage = SignStage::Pin;
            }
        }
        (SignStage::Pin, Some(Cmd::Next), _) => {
            if d.pin.value.is_empty() {
                d.error = Some("Type the PIN to sign".into());
            } else {
                let signer = if inspector {
                    d.badge.trimmed().to_string()
                } else {
                    performer.clone()
                };
                let value = (*cp.kind.get_ref() == CheckpointKind::Measurement)
                    .then(|| d.value.trimmed().replace(',', ".").parse::<f64>().ok())
                    .flatten();
                let verdict = (*cp.kind.get_ref() == CheckpointKind::PassFail)
                    .then_some(d.verdict)
                    .flatten();
                let comment = Some(d.comment.trimmed().to_string()).filter(|c| !c.is_empty());
                let pin = std::mem::take(&mut d.pin.value);
                // Readings so far are stored first: a recorded figure the core
                // compares with counts them, as the dialog's did.
                let mut fx = flush_samples(state);
                let (id, e) = command(
                    state,
                    "sign",
                    Some(Credentials { badge: signer, pin }),
                    Command::Sign {
                        job,
                        step: d.step,
                        checkpoint: d.checkpoint,
                        verdict,
                        value,
                        comment,
                    },
                );
                d.waiting = Some(id);
                state.modal = Some(Modal::Sign(Box::new(d)));
                fx.push(e);
                return fx;
            }
        }
        (stage, _, other) => {
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
