//! Drawing: read-only over the state. One function per screen plus the shared
//! frame (header, flash line, footer of keys) and the dialogs on top.

mod bigdigits;
mod chart;
mod dialogs;
mod home;
mod login;
mod lookup;
mod people;
mod review;
mod runner;
mod start;
mod summary;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::state::{FlashKind, Screen, State};
use theme::Theme;

pub fn draw(state: &State, frame: &mut Frame) {
    let theme = Theme::new(state.no_color);
    let [header, body, flash, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    draw_header(state, &theme, frame, header);
    match &state.screen {
        Screen::Login(f) => login::draw(state, f, &theme, frame, body),
        Screen::Home(h) => home::draw(state, h, &theme, frame, body),
        Screen::Start(f) => start::draw(state, f, &theme, frame, body),
        Screen::Runner(r) => runner::draw(state, r, &theme, frame, body),
        Screen::Summary(s) => summary::draw(state, s, &theme, frame, body),
        Screen::Review(r) => review::draw(state, r, &theme, frame, body),
        Screen::Lookup(l) => lookup::draw(l, &theme, frame, body),
        Screen::People(p) => people::draw(state, p, &theme, frame, body),
    }
    draw_flash(state, &theme, frame, flash);
    draw_footer(state, &theme, frame, footer);
    if let Some(m) = &state.modal {
        dialogs::draw(state, m, &theme, frame, body);
    }
    if state.help {
        draw_help(state, &theme, frame, body);
    }
}

fn draw_header(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let who = state
        .user
        .as_ref()
        .map(|p| format!("{} ({})", p.name, p.badge))
        .unwrap_or_else(|| "not logged in".into());
    let station = if state.station.connected {
        Span::styled("● station", theme.ok())
    } else {
        Span::styled("○ station", theme.bad())
    };
    let mut spans = vec![
        Span::styled(" traveler ", theme.title()),
        Span::raw(format!(" {} · {} · ", state.bench, who)),
        station,
    ];
    if state.demo.is_some() {
        spans.push(Span::styled("  DEMO", theme.warn()));
    }
    if state.in_flight() > 0 {
        spans.push(Span::styled("  saving…", theme.dim()));
    }
    // Background tasks (shop hub sync, CFX publisher) report here, one short text each.
    for text in &state.background {
        spans.push(Span::styled(format!("  {text}"), theme.dim()));
    }
    let clock = state.now.format("%H:%M UTC").to_string();
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(10)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
    frame.render_widget(Paragraph::new(clock).right_aligned(), right);
}

fn draw_flash(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(f) = &state.flash else {
        return;
    };
    let (style, mark) = match f.kind {
        FlashKind::Saved => (theme.ok(), "✔ "),
        FlashKind::Info => (theme.accent(), "· "),
        FlashKind::Error => (theme.alarm(), "✖ "),
    };
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(format!("{mark}{}", f.text), style))),
        area,
    );
}

/// The keys of what has focus now: the footer shows them, `?` explains them; both
/// come from the screen's key table, which dispatch uses too.
pub fn keys(state: &State) -> Vec<(&'static str, &'static str)> {
    crate::tui::keys::footer(state)
}

fn draw_footer(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    for (key, what) in keys(state) {
        spans.push(Span::styled(format!(" {key} "), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_help(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let popup = centered(area, 64, 18);
    frame.render_widget(Clear, popup);
    let mut lines: Vec<Line> = crate::tui::keys::help(state)
        .into_iter()
        .map(|(k, w)| {
            Line::from(vec![
                Span::styled(format!("{k:>8}  "), theme.key()),
                Span::raw(w),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "  A scanner can be used anywhere: badges, board serials, lots.",
    ));
    lines.push(Line::raw(
        "  Every signature asks for a PIN; \"saved\" means written to disk.",
    ));
    lines.push(Line::raw(
        "  F1 or ? shows this help; any key closes it.  Ctrl+Q quits.",
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Help ")),
        popup,
    );
}

/// A rectangle of at most `w`×`h` in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
