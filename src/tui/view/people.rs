//! Certifications at a glance for supervisors: who expires within 30 / 60 days,
//! who lacks a module a released instruction needs, which badges are locked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme::Theme;
use crate::people::certs::{expiring, module_gaps};
use crate::tui::state::{PeopleState, State};

fn lines(state: &State, p: &PeopleState, theme: &Theme) -> Vec<Line<'static>> {
    let today = state.now.date_naive();
    let mut lines = Vec::new();
    if !p.loaded {
        lines.push(Line::raw("reading the roster…"));
    }
    lines.push(Line::from(Span::styled(
        "Certificates expired or expiring within 60 days",
        theme.bold(),
    )));
    let soon = expiring(&p.people, today, 60);
    if soon.is_empty() {
        lines.push(Line::from(Span::styled("  none", theme.dim())));
    }
    for (name, cert, expires, left) in soon {
        let (text, style) = if left < 0 {
            (format!("EXPIRED {}", expires), theme.bad())
        } else if left <= 30 {
            (format!("expires {expires} ({left} days)"), theme.warn())
        } else {
            (format!("expires {expires} ({left} days)"), theme.accent())
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  {name:<18} {cert:<24} ")),
            Span::styled(text, style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Modules missing for released instructions",
        theme.bold(),
    )));
    let gaps = module_gaps(&p.people, &state.library, today);
    if gaps.is_empty() {
        lines.push(Line::from(Span::styled("  none", theme.dim())));
    }
    for (name, instruction, modules) in gaps {
        let m: Vec<String> = modules.iter().map(u8::to_string).collect();
        lines.push(Line::raw(format!(
            "  {name:<18} {instruction:<12} module {}",
            m.join(", ")
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Locked badges and wrong PINs",
        theme.bold(),
    )));
    let mut any = false;
    for person in &p.people {
        if person.is_locked(state.now) {
            any = true;
            let until = person
                .locked_until
                .map(|u| u.format("%H:%M UTC").to_string())
                .unwrap_or_default();
            lines.push(Line::from(Span::styled(
                format!(
                    "  {:<18} {} LOCKED until {until}",
                    person.name, person.badge
                ),
                theme.bad(),
            )));
        } else if person.failed_pins > 0 {
            any = true;
            lines.push(Line::raw(format!(
                "  {:<18} {} {} wrong PIN(s) since the last good one",
                person.name, person.badge, person.failed_pins
            )));
        }
    }
    if !any {
        lines.push(Line::from(Span::styled("  none", theme.dim())));
    }
    lines
}

/// How far the roster can scroll at the current size, and its page height.
pub fn scroll_room(state: &State, p: &PeopleState) -> (u16, u16) {
    let theme = Theme::new(state.no_color);
    let inner = Block::bordered().inner(super::body_area_of(state));
    super::room(
        Paragraph::new(lines(state, p, &theme)).wrap(Wrap { trim: false }),
        inner,
    )
}

pub fn draw(state: &State, p: &PeopleState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let para = Paragraph::new(lines(state, p, theme)).wrap(Wrap { trim: false });
    let (max, _) = super::room(para.clone(), Block::bordered().inner(area));
    frame.render_widget(
        para.scroll((p.scroll.min(max), 0))
            .block(Block::bordered().title(" Certifications ")),
        area,
    );
}
