//! Review queue, certifications and traceability look-ups.

use super::*;

pub(super) fn review_input(state: &mut State, input: Action) -> Vec<Effect> {
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
            Action::Command('e') => {
                if let Some((job, _)) = &r.open {
                    return vec![Effect::ExportJob {
                        job: job.id.clone(),
                    }];
                }
            }
            Action::Command(c @ ('a' | 'x')) => {
                let approve = c == 'a';
                state.modal = Some(if approve {
                    CommentDialog::signed(Purpose::Approve, "Approve: comment, then your PIN")
                } else {
                    CommentDialog::signed(
                        Purpose::Reject,
                        "Reject: the reason goes back to the technician",
                    )
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

pub(super) fn people_input(state: &mut State, input: Action) -> Vec<Effect> {
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

pub(super) fn lookup_input(state: &mut State, input: Action) -> Vec<Effect> {
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
