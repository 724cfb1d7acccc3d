use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::login::field_line;
use super::theme::Theme;
use crate::tui::state::LookupState;

fn areas(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area)
}

/// How far the look-up's answer can scroll at the current size, and its page height.
pub fn scroll_room(state: &crate::tui::state::State, l: &LookupState) -> (u16, u16) {
    let theme = Theme::new(state.no_color);
    let [_, body] = areas(super::body_area_of(state));
    super::room(
        Paragraph::new(lines(l, &theme)).wrap(Wrap { trim: false }),
        Block::bordered().inner(body),
    )
}

pub fn draw(l: &LookupState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [input, body] = areas(area);
    frame.render_widget(
        Paragraph::new(vec![
            field_line(&l.query, true, theme, 30),
            Line::from(Span::styled(
                "Scan or type a board serial (its history) or a lot (where it was used).",
                theme.dim(),
            )),
        ]),
        input,
    );
    if l.result.is_none() {
        return;
    }
    let para = Paragraph::new(lines(l, theme)).wrap(Wrap { trim: false });
    let (max, _) = super::room(para.clone(), Block::bordered().inner(body));
    frame.render_widget(
        para.scroll((l.scroll.min(max), 0))
            .block(Block::bordered().title(" Traceability ")),
        body,
    );
}

/// The answer: a board's jobs and rework cycles, a lot's uses.
fn lines(l: &LookupState, theme: &Theme) -> Vec<Line<'static>> {
    let Some(r) = &l.result else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    match &r.history {
        Some(h) => {
            lines.push(Line::from(Span::styled(
                format!("Board {}: {} job(s)", h.serial, h.jobs.len()),
                theme.bold(),
            )));
            if let Some(scope) = &h.scope {
                lines.push(Line::from(Span::styled(format!("  {scope}"), theme.dim())));
            }
            for j in &h.jobs {
                lines.push(Line::raw(format!(
                    "  {} {}{} {} {} {} {} {}{}",
                    j.started.format("%Y-%m-%d"),
                    j.bench
                        .as_ref()
                        .map(|b| format!("{b} "))
                        .unwrap_or_default(),
                    j.job,
                    j.instruction_id,
                    j.instruction_rev,
                    j.refdes.join(","),
                    j.status.as_str(),
                    j.performer,
                    if j.counts_as_cycle {
                        ""
                    } else {
                        " (not a cycle)"
                    }
                )));
            }
            for c in &h.cycles {
                lines.push(Line::from(Span::styled(
                    format!("  {}: {} rework cycle(s)", c.refdes, c.cycles),
                    theme.accent(),
                )));
            }
        }
        None => lines.push(Line::from(Span::styled(
            format!("No board with serial {:?}", r.query),
            theme.dim(),
        ))),
    }
    lines.push(Line::raw(""));
    if r.uses.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("No job used a lot {:?}", r.query),
            theme.dim(),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            format!("Lot {} used on {} board(s):", r.query, {
                let mut boards: Vec<&str> = r.uses.iter().map(|u| u.serial.as_str()).collect();
                boards.sort_unstable();
                boards.dedup();
                boards.len()
            }),
            theme.bold(),
        )));
        for u in &r.uses {
            lines.push(Line::raw(format!(
                // No-break spaces keep "step 5" and "exp 2027-05-05" whole.
                "  {}  board {:<10} {} step\u{a0}{} {}{}  ({})",
                u.time.format("%Y-%m-%d %H:%M"),
                u.serial,
                u.job,
                u.step + 1,
                u.material,
                u.expiry
                    .map(|e| format!(" exp\u{a0}{e}"))
                    .unwrap_or_default(),
                u.status.as_str()
            )));
        }
    }
    lines
}
