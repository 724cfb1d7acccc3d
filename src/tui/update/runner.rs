//! The runner: checkpoints, lots, alarms, completing steps; the summary.

use super::*;

pub(super) fn runner_input(state: &mut State, input: Action) -> Vec<Effect> {
    let cmd = keys::command(state, &input);
    let Screen::Runner(r) = &mut state.screen else {
        return Vec::new();
    };
    let step = r.step;
    let Some(spec) = r.instruction.spec.steps.get(step as usize) else {
        return Vec::new();
    };
    let n_cp = spec.checkpoints.len();
    if let Action::Scan(raw) = input {
        return match lot_text(&raw) {
            Ok((lot, expiry)) => capture_lot(state, &lot, expiry),
            Err(e) => {
                state.modal = Some(Modal::Lot {
                    field: TextField::new("Lot (or GS1 label)").with(raw.trim()),
                    error: Some(e.to_string()),
                    waiting: None,
                });
                Vec::new()
            }
        };
    }
    match cmd {
        Some(Cmd::Up) => {
            r.selected = r.selected.saturating_sub(1);
            r.scroll = None;
        }
        Some(Cmd::Down) => {
            r.selected = (r.selected + 1).min(n_cp.saturating_sub(1));
            r.scroll = None;
        }
        Some(c @ (Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom)) => {
            let (max, page, top) = crate::tui::view::runner_scroll_room(state);
            if let Screen::Runner(r) = &mut state.screen {
                r.scroll = Some(keys::scrolled(c, top, max, page));
            }
        }
        Some(Cmd::Sign) => {
            if r.saving {
                return Vec::new();
            }
            let cp = r.selected as u32;
            let signatures = &r.job.steps[step as usize].signatures;
            if signatures.contains_key(&cp) {
                let all = (0..n_cp as u32).all(|c| signatures.contains_key(&c));
                state.flash(
                    FlashKind::Info,
                    if all {
                        "Every checkpoint of this step is signed: press n to complete it"
                    } else {
                        "This checkpoint is already signed: ↑↓ to another"
                    },
                );
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
            let wants_figure = checkpoint.recorded.is_some();
            let job = r.job.id.clone();
            state.modal = Some(Modal::Sign(Box::new(SignDialog {
                step,
                checkpoint: cp,
                stage,
                verdict: None,
                recorded: None,
                waiting: None,
                value: TextField::new("Measured value"),
                comment: TextField::new("Comment"),
                badge: TextField::new("Inspector badge"),
                pin: TextField::masked("PIN"),
                error: None,
            })));
            if wants_figure {
                // Readings so far go to the store first, so the figure counts them.
                let mut fx = flush_samples(state);
                fx.push(read(
                    state,
                    Ask::Figure,
                    Read::Figure {
                        job,
                        step,
                        checkpoint: cp,
                    },
                ));
                return fx;
            }
        }
        Some(Cmd::Lot) => {
            state.modal = Some(Modal::Lot {
                field: TextField::new("Lot (or GS1 label)"),
                error: None,
                waiting: None,
            })
        }
        Some(Cmd::SameLot) => {
            let Some(l) = previous_lot(r) else {
                state.flash(
                    FlashKind::Info,
                    "No lot of an earlier step for what this step needs: scan it",
                );
                return Vec::new();
            };
            let (lot, expiry) = (l.lot.clone(), l.expiry);
            return capture_lot(state, &lot, expiry);
        }
        Some(Cmd::Acknowledge) => {
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
                None if state.recorder.as_ref().is_some_and(|r| r.alarm.is_some()) => state.flash(
                    FlashKind::Info,
                    "The alarm is being recorded: press a again in a moment",
                ),
                None => state.flash(FlashKind::Info, "No temperature alarm to acknowledge"),
            }
        }
        Some(Cmd::CompleteStep) => {
            if r.saving {
                return Vec::new();
            }
            r.saving = true;
            let job = r.job.id.clone();
            return complete_step(state, job, step);
        }
        Some(Cmd::Suspend) => {
            state.modal = Some(CommentDialog::open(
                Purpose::Suspend,
                "Suspend the job: why?",
                "Reason",
            ))
        }
        Some(Cmd::Component) => {
            use crate::domain::component::ComponentAction;
            let Some(action) = spec.component.as_ref().map(|c| *c.get_ref()) else {
                state.flash(FlashKind::Info, "This step removes or fits no part");
                return Vec::new();
            };
            let (title, label) = match action {
                ComponentAction::Remove => (
                    "Part removed: designator(s), then its P/N if known",
                    "Removed",
                ),
                ComponentAction::Install => (
                    "Part fitted: designator(s), P/N, lot (or -), date code, or scan its label",
                    "Fitted",
                ),
            };
            // The designators still to record, so Enter confirms a removal.
            let pending = r.job.designators_pending(step, action);
            let mut m = CommentDialog::open(Purpose::Component { action }, title, label);
            if let Modal::Comment(d) = &mut m {
                d.comment.push_str(&format!("{} ", pending.join(" ")));
            }
            state.modal = Some(m);
        }
        Some(Cmd::Back) => return go_home(state),
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

/// Why a lot's text cannot be sent as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LotTextError {
    Empty,
    /// The part after the lot looks like a date but is none.
    BadDate(String),
}

impl std::fmt::Display for LotTextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LotTextError::Empty => write!(f, "Type or scan the lot"),
            LotTextError::BadDate(d) => {
                write!(f, "“{d}” is not a valid date (use YYYY-MM-DD)")
            }
        }
    }
}

/// "FLX-7788 2027-05-05", scanned or typed: the lot and the expiry after a space.
/// A last word made of digits and date separators is taken for a date and must be
/// one; anything else (a GS1 label, a lot with spaces) goes to the core whole.
pub fn lot_text(text: &str) -> Result<(String, Option<chrono::NaiveDate>), LotTextError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(LotTextError::Empty);
    }
    let Some((lot, last)) = text.rsplit_once(' ') else {
        return Ok((text.to_string(), None));
    };
    let date_like = last.chars().any(|c| c.is_ascii_digit())
        && last.chars().any(|c| matches!(c, '-' | '/' | '.'))
        && last
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | '.'));
    if !date_like {
        return Ok((text.to_string(), None));
    }
    match chrono::NaiveDate::parse_from_str(last, "%Y-%m-%d") {
        Ok(d) => Ok((lot.trim().to_string(), Some(d))),
        Err(_) => Err(LotTextError::BadDate(last.to_string())),
    }
}

/// The lot of an earlier step of this job for the material this step still
/// needs a lot of, so one key records it again (flux used in three steps).
pub fn previous_lot(r: &RunnerState) -> Option<&crate::domain::job::Lot> {
    let needed = lot_materials(&r.instruction, r.step)
        .into_iter()
        .find(|m| !r.job.lots_for_step(r.step).any(|l| &l.material == m))?;
    r.job
        .lots
        .iter()
        .rev()
        .find(|l| l.step < r.step && l.material == needed)
}

/// A lot scan (or typed lot) for the current step, for the core to judge.
/// `typed_expiry` comes from the lot dialog when the label carries none.
pub(super) fn capture_lot(
    state: &mut State,
    raw: &str,
    typed_expiry: Option<chrono::NaiveDate>,
) -> Vec<Effect> {
    let Screen::Runner(r) = &state.screen else {
        return Vec::new();
    };
    let (job, step) = (r.job.id.clone(), r.step);
    let (id, e) = command(
        state,
        "lot",
        None,
        Command::RecordLot {
            job,
            step,
            raw_scan: raw.to_string(),
            typed_expiry,
        },
    );
    match &mut state.modal {
        Some(Modal::Lot { waiting, error, .. }) => {
            *waiting = Some(id);
            *error = None;
        }
        _ => {
            // A scan without the dialog: the dialog waits for the answer, so a
            // label without the expiry it needs can be completed by hand.
            state.modal = Some(Modal::Lot {
                field: TextField::new("Lot (or GS1 label)").with(raw.trim()),
                error: None,
                waiting: Some(id),
            });
        }
    }
    vec![e]
}

pub(super) fn summary_input(state: &mut State, input: Action) -> Vec<Effect> {
    let cmd = keys::command(state, &input);
    let Screen::Summary(s) = &mut state.screen else {
        return Vec::new();
    };
    match (cmd, input) {
        (Some(Cmd::Submit), _) => {
            let job = s.job.id.clone();
            let (_, e) = command(state, "submit", None, Command::Submit { job });
            return vec![e];
        }
        (Some(Cmd::Reopen), Action::Command(c @ '1'..='9')) => {
            // Reopen a step the reviewer rejected: a new attempt, with a reason.
            let step = c as u32 - '1' as u32;
            if s.job.status != JobStatus::Rejected {
                state.flash(FlashKind::Info, "Only a rejected job has steps to reopen");
            } else if (step as usize) < s.job.steps.len() {
                state.modal = Some(CommentDialog::open(
                    Purpose::Reopen { step },
                    format!("Reopen step {}: what will be done again?", step + 1),
                    "Reason",
                ));
            }
        }
        (
            Some(c @ (Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom)),
            _,
        ) => {
            let (max, page) = crate::tui::view::summary_scroll_room(state);
            if let Screen::Summary(s) = &mut state.screen {
                s.scroll = keys::scrolled(c, s.scroll, max, page);
            }
        }
        (Some(Cmd::Back), _) => return go_home(state),
        _ => {}
    }
    Vec::new()
}
