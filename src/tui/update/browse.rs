//! Review queue, certifications and traceability look-ups.

use super::*;

pub(super) fn review_input(state: &mut State, input: Action) -> Vec<Effect> {
    let cmd = keys::command(state, &input);
    let Screen::Review(r) = &mut state.screen else {
        return Vec::new();
    };
    if r.filtering {
        match cmd {
            Some(Cmd::Back) => r.filtering = false,
            _ => {
                edit(&mut r.filter, &input);
                r.selected = 0;
            }
        }
        return Vec::new();
    }
    if let Some((job, _)) = &r.open {
        let job = job.id.clone();
        if let Some(c) = cmd {
            let room = crate::tui::view::review_scroll_room(state);
            if let Screen::Review(r) = &mut state.screen
                && open_record_key(r, c, room)
            {
                return Vec::new();
            }
        }
        match cmd {
            Some(Cmd::Back) => {
                if let Screen::Review(r) = &mut state.screen {
                    r.open = None;
                }
            }
            Some(Cmd::Export) => {
                return vec![read(state, Ask::Export, Read::ExportJob { job })];
            }
            Some(Cmd::Approve | Cmd::Reject) if review_refusal_of_open(state).is_some() => {
                let why = review_refusal_of_open(state).unwrap_or_default();
                state.flash(
                    FlashKind::Error,
                    format!("You may not review this job — {why}"),
                );
            }
            Some(Cmd::Approve) => {
                state.modal = Some(CommentDialog::signed(
                    Purpose::Approve,
                    "Approve: comment, then your PIN",
                ))
            }
            Some(Cmd::Reject) => {
                state.modal = Some(CommentDialog::signed(
                    Purpose::Reject,
                    "Reject: the reason goes back to the technician",
                ))
            }
            _ => {}
        }
        return Vec::new();
    }
    let visible = visible_reviews(r);
    let refused = r
        .queue
        .iter()
        .find(|l| visible.get(r.selected) == Some(&l.id))
        .map(|l| (l.performer.clone(), l.inspectors.clone()));
    match cmd {
        Some(Cmd::Back) => return go_home(state),
        Some(Cmd::Up) => r.selected = r.selected.saturating_sub(1),
        Some(Cmd::Down) => r.selected = (r.selected + 1).min(visible.len().saturating_sub(1)),
        Some(Cmd::Filter) => r.filtering = true,
        Some(Cmd::Next) => {
            if let Some(id) = visible.get(r.selected) {
                let job = id.clone();
                if let Some((performer, inspectors)) = refused
                    && let Some(why) = review_refusal(state, &performer, &inspectors)
                {
                    // Reading is allowed; deciding is not, and it says so first.
                    state.flash(
                        FlashKind::Info,
                        format!("Open to read only — you may not review it: {why}"),
                    );
                }
                return vec![read(state, Ask::OpenReview, Read::OpenReview { job })];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The keys of an open review record that only move the view: record/charts,
/// which step's chart, scrolling (`room` is the record's scroll room and page).
/// True when `cmd` was one of them. The desk's open job moves by the same keys.
pub fn open_record_key(r: &mut ReviewState, cmd: Cmd, room: (u16, u16)) -> bool {
    match cmd {
        Cmd::Back if r.charts => r.charts = false,
        Cmd::NextField => r.charts = !r.charts,
        Cmd::Left | Cmd::Right if !r.charts => r.charts = true,
        Cmd::Left | Cmd::Right => {
            // Step through the steps that have a recorded trace.
            let steps: Vec<usize> = r.traces.iter().map(|t| t.step as usize).collect();
            if let Some(pos) = steps.iter().position(|s| *s == r.chart_step) {
                let next = if cmd == Cmd::Left {
                    pos.checked_sub(1).unwrap_or(steps.len() - 1)
                } else {
                    (pos + 1) % steps.len()
                };
                r.chart_step = steps[next];
            }
        }
        c @ (Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom) => {
            let (max, page) = room;
            r.charts = false;
            r.scroll = keys::scrolled(c, r.scroll, max, page);
        }
        _ => return false,
    }
    true
}

/// Why the logged-in person may not review a job, by the core's own rule
/// (`policy::may_review`), so the queue greys it out before anyone types a comment.
pub fn review_refusal(state: &State, performer: &str, inspectors: &[String]) -> Option<String> {
    let user = state.user.as_ref()?;
    let refusal = policy::may_review(user, performer, inspectors, state.now).err()?;
    let whose = if inspectors.contains(&user.badge) {
        "you inspected it: "
    } else if performer == user.badge {
        "your own job: "
    } else {
        ""
    };
    Some(format!("{whose}{refusal}"))
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
    let cmd = keys::command(state, &input);
    if !matches!(state.screen, Screen::People(_)) {
        return Vec::new();
    }
    match cmd {
        Some(Cmd::Back) => return go_home(state),
        Some(c @ (Cmd::Up | Cmd::Down)) => {
            let (max, page) = crate::tui::view::people_scroll_room(state);
            if let Screen::People(p) = &mut state.screen {
                p.scroll = keys::scrolled(c, p.scroll, max, page);
            }
        }
        _ => {}
    }
    Vec::new()
}

pub(super) fn lookup_input(state: &mut State, input: Action) -> Vec<Effect> {
    let cmd = keys::command(state, &input);
    let Screen::Lookup(l) = &mut state.screen else {
        return Vec::new();
    };
    match (cmd, input) {
        (_, Action::Scan(q)) => {
            l.query.value = q.trim().to_string();
            let query = q.trim().to_string();
            return vec![read(state, Ask::Lookup, Read::Lookup { query })];
        }
        (Some(Cmd::Back), _) => return go_home(state),
        (Some(Cmd::Next), _) if !l.query.trimmed().is_empty() => {
            let query = l.query.trimmed().to_string();
            return vec![read(state, Ask::Lookup, Read::Lookup { query })];
        }
        (Some(Cmd::Next), _) => state.flash(
            FlashKind::Info,
            "Scan or type a board serial or a lot first",
        ),
        (Some(c @ (Cmd::Up | Cmd::Down)), _) => {
            let (max, page) = crate::tui::view::lookup_scroll_room(state);
            if let Screen::Lookup(l) = &mut state.screen {
                l.scroll = keys::scrolled(c, l.scroll, max, page);
            }
        }
        (_, other) => {
            edit(&mut l.query, &other);
        }
    }
    Vec::new()
}

pub fn review_refusal_of_open(state: &State) -> Option<String> {
    let Screen::Review(r) = &state.screen else {
        return None;
    };
    let (job, _) = r.open.as_ref()?;
    if let Some(why) = &r.shop_refusal {
        return Some(why.clone());
    }
    review_refusal(state, &job.performer, &job.inspector_badges())
}
