//! Drawing: read-only over the state. One function per screen plus the shared
//! frame (header, flash line, footer of keys) and the dialogs on top.

mod bigdigits;
mod chart;
mod dialogs;
pub mod fit;
mod home;
mod login;
mod lookup;
mod people;
mod review;
mod runner;
mod start;
mod summary;
pub mod theme;

// A text field as the bench draws it, for the desk's dialogs.
pub use login::field_line;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::state::{FlashKind, Screen, State};
use theme::Theme;

pub fn draw(state: &State, frame: &mut Frame) {
    let theme = Theme::new(state.no_color);
    let footer_rows = footer_rows(state, frame.area().width);
    let flash_rows = flash_rows(state, frame.area().width);
    let header_rows = header_rows(state, frame.area().width);
    let [header, body, flash, footer] = Layout::vertical([
        Constraint::Length(header_rows),
        Constraint::Min(0),
        Constraint::Length(flash_rows),
        Constraint::Length(footer_rows),
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

/// One part of the header: its text, its style, and a shorter form that says the
/// same (abbreviated words, never fewer digits).
struct Part {
    text: String,
    short: String,
    style: ratatui::style::Style,
}

fn header_parts(state: &State, theme: &Theme) -> Vec<Part> {
    let part = |text: String, short: String, style| Part { text, short, style };
    let mut parts = vec![part(state.bench.clone(), state.bench.clone(), theme.bold())];
    match &state.user {
        Some(p) => {
            // "Dana Roth (S400)" -> "D. Roth (S400)": the badge stays whole.
            let mut names = p.name.split_whitespace();
            let short = match (names.next(), names.last()) {
                (Some(first), Some(last)) => {
                    let initial: String = first.chars().take(1).collect();
                    format!("{initial}. {last} ({})", p.badge)
                }
                _ => format!("{} ({})", p.name, p.badge),
            };
            parts.push(part(
                format!("{} ({})", p.name, p.badge),
                short,
                Default::default(),
            ));
        }
        None => parts.push(part(
            "not logged in".into(),
            "not logged in".into(),
            Default::default(),
        )),
    }
    let (station, style) = if state.station.connected {
        ("● station", theme.ok())
    } else {
        ("○ station", theme.bad())
    };
    parts.push(part(station.into(), station.into(), style));
    if state.demo.is_some() {
        parts.push(part("DEMO".into(), "DEMO".into(), theme.warn()));
    }
    if state.in_flight() > 0 {
        parts.push(part("saving…".into(), "saving…".into(), theme.dim()));
    }
    // Background tasks (shop hub sync, CFX publisher) report here, one text each.
    for text in &state.background {
        parts.push(part(text.clone(), fit::abbreviate(text, 0), theme.dim()));
    }
    let clock = state.now.format("%H:%M UTC").to_string();
    parts.push(part(clock.clone(), clock, Default::default()));
    parts
}

/// The header: one line while it fits, then without decoration, then with
/// abbreviated words, then wrapped onto a second (third) line. Nothing in it is
/// ever cut: a hub or CFX state and its figures are what a person acts on.
fn header_lines(state: &State, width: u16) -> Vec<Line<'static>> {
    let theme = Theme::new(state.no_color);
    let width = width as usize;
    let parts = header_parts(state, &theme);
    let (clock, rest) = parts.split_last().expect("the clock is always there");
    // The roomy form, as it always looked.
    let mut roomy = vec![
        Span::styled(" traveler ", theme.title()),
        Span::raw(format!(" {} · {} · ", rest[0].text, rest[1].text)),
    ];
    roomy.extend(rest[2..].iter().enumerate().map(|(i, p)| {
        let gap = if i == 0 { "" } else { "  " };
        Span::styled(format!("{gap}{}", p.text), p.style)
    }));
    let left = Line::from(roomy);
    if left.width() + 1 + fit::width(&clock.text) <= width {
        let pad = width - left.width() - fit::width(&clock.text);
        let mut spans = left.spans;
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::raw(clock.text.clone()));
        return vec![Line::from(spans)];
    }
    // Without decoration (the name of the program, the dots), then abbreviated,
    // on one line; else wrapped, full words first. The clock stays at the right
    // of the first line.
    let clock_w = fit::width(&clock.text) + 2;
    let pack = |short: bool, rows: usize| -> Option<Vec<Line<'static>>> {
        let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
        let mut used = 0usize;
        let room = |lines: &Vec<Vec<Span<'static>>>| {
            if lines.len() == 1 {
                width.saturating_sub(clock_w)
            } else {
                width
            }
        };
        for p in rest {
            let text = if short { &p.short } else { &p.text };
            let w = fit::width(text);
            let gap = if used == 0 { 0 } else { 2 };
            if used + gap + w <= room(&lines) {
                if gap > 0 {
                    lines.last_mut()?.push(Span::raw("  "));
                }
                lines.last_mut()?.push(Span::styled(text.clone(), p.style));
                used += gap + w;
                continue;
            }
            // A part wider than a whole line wraps by words on lines of its own.
            let pieces = if w > width {
                fit::wrap(text, width)
            } else {
                vec![text.clone()]
            };
            for piece in pieces {
                if used > 0 {
                    lines.push(Vec::new());
                }
                used = fit::width(&piece);
                lines.last_mut()?.push(Span::styled(piece, p.style));
            }
        }
        if lines.len() > rows {
            return None;
        }
        let first = Line::from(lines[0].clone()).width();
        let pad = width.saturating_sub(first + fit::width(&clock.text)).max(1);
        lines[0].push(Span::raw(" ".repeat(pad)));
        lines[0].push(Span::raw(clock.text.clone()));
        Some(lines.into_iter().map(Line::from).collect())
    };
    pack(false, 1)
        .or_else(|| pack(true, 1))
        .or_else(|| pack(false, 2))
        .or_else(|| pack(true, 2))
        .or_else(|| pack(false, 3))
        .or_else(|| pack(true, 3))
        .unwrap_or_else(|| pack(true, usize::MAX).unwrap_or_default())
}

fn header_rows(state: &State, width: u16) -> u16 {
    u16::try_from(header_lines(state, width).len())
        .unwrap_or(1)
        .max(1)
}

fn draw_header(state: &State, _theme: &Theme, frame: &mut Frame, area: Rect) {
    frame.render_widget(Paragraph::new(header_lines(state, area.width)), area);
}

fn flash(state: &State) -> Option<Paragraph<'static>> {
    let theme = Theme::new(state.no_color);
    let f = state.flash.as_ref()?;
    let (style, mark) = match f.kind {
        FlashKind::Saved => (theme.ok(), "✔ "),
        FlashKind::Info => (theme.accent(), "· "),
        FlashKind::Error => (theme.alarm(), "✖ "),
    };
    Some(
        Paragraph::new(Line::from(Span::styled(format!("{mark}{}", f.text), style)))
            .wrap(Wrap { trim: true }),
    )
}

/// A message wraps (up to three rows) rather than lose its end: it often says why.
fn flash_rows(state: &State, width: u16) -> u16 {
    flash(state).map_or(1, |p| {
        u16::try_from(p.line_count(width)).unwrap_or(1).clamp(1, 3)
    })
}

fn draw_flash(state: &State, _theme: &Theme, frame: &mut Frame, area: Rect) {
    if let Some(p) = flash(state) {
        frame.render_widget(p, area);
    }
}

/// The keys of what has focus now: the footer shows them, `?` explains them; both
/// come from the screen's key table, which dispatch uses too.
pub fn keys(state: &State) -> Vec<(&'static str, &'static str)> {
    crate::tui::keys::footer(state)
}

/// Every key of the footer must show: when the roomy form does not fit, the
/// padding goes first, then the footer takes a second look at the words.
fn draw_footer(state: &State, _theme: &Theme, frame: &mut Frame, area: Rect) {
    frame.render_widget(footer(state), area);
}

fn footer(state: &State) -> Paragraph<'static> {
    footer_of(state, keys(state))
}

fn footer_of(state: &State, keys: Vec<(&'static str, &'static str)>) -> Paragraph<'static> {
    footer_keys(keys, state.size.0, &Theme::new(state.no_color))
}

/// A footer of keys for `width` columns: one roomy line when it fits, else wrapped
/// between keys (the desk's footer is drawn by the same rule).
pub fn footer_keys(
    keys: Vec<(&'static str, &'static str)>,
    width: u16,
    theme: &Theme,
) -> Paragraph<'static> {
    let roomy: usize = keys
        .iter()
        .map(|(k, w)| k.chars().count() + w.chars().count() + 4)
        .sum();
    if roomy <= width as usize {
        let mut spans = Vec::new();
        for (key, what) in keys {
            spans.push(Span::styled(format!(" {key} "), theme.key()));
            spans.push(Span::raw(format!(" {what} ")));
        }
        return Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true });
    }
    // Wrapped, a key stays with what it does: lines break between keys only.
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0usize;
    for (key, what) in keys {
        let w = fit::width(key) + 1 + fit::width(what);
        let gap = usize::from(used > 0);
        if used > 0 && used + gap + w > width as usize {
            lines.push(Vec::new());
            used = 0;
        }
        let line = lines.last_mut().expect("one line at least");
        if used > 0 {
            line.push(Span::raw(" "));
            used += 1;
        }
        line.push(Span::styled(key.to_string(), theme.key()));
        line.push(Span::raw(format!(" {what}")));
        used += w;
    }
    Paragraph::new(lines.into_iter().map(Line::from).collect::<Vec<_>>()).wrap(Wrap { trim: true })
}

/// The body of the screen (between header and flash line) for a terminal size.
pub fn body_area_of(state: &State) -> Rect {
    let top = header_rows(state, state.size.0);
    // Room for every key the footer may show, so that which keys show (they
    // depend on whether the page scrolls) cannot change the paging.
    let rows = footer_rows_of(state, crate::tui::keys::footer_all(state), state.size.0)
        + flash_rows(state, state.size.0);
    Rect::new(
        0,
        top,
        state.size.0,
        state.size.1.saturating_sub(top + rows),
    )
}

/// The footer wraps to a second (third) row rather than lose a key.
fn footer_rows(state: &State, width: u16) -> u16 {
    footer_rows_of(state, keys(state), width)
}

fn footer_rows_of(state: &State, keys: Vec<(&'static str, &'static str)>, width: u16) -> u16 {
    u16::try_from(footer_of(state, keys).line_count(width))
        .unwrap_or(1)
        .clamp(1, 3)
}

/// How far the summary's record can scroll, and its page height.
pub fn summary_scroll_room(state: &State) -> (u16, u16) {
    match &state.screen {
        Screen::Summary(s) => summary::scroll_room(state, s),
        _ => (0, 1),
    }
}

/// Lines of `para` below the view of `inner`, and the view's height.
pub(crate) fn room(para: Paragraph<'_>, inner: Rect) -> (u16, u16) {
    let n = u16::try_from(para.line_count(inner.width)).unwrap_or(u16::MAX);
    (n.saturating_sub(inner.height), inner.height)
}

/// How far the runner's step pane can scroll, its page height and its first line.
pub fn runner_scroll_room(state: &State) -> (u16, u16, u16) {
    match &state.screen {
        Screen::Runner(r) => runner::scroll_room(state, r),
        _ => (0, 1, 0),
    }
}

/// How far the look-up's answer can scroll, and its page height.
pub fn lookup_scroll_room(state: &State) -> (u16, u16) {
    match &state.screen {
        Screen::Lookup(l) => lookup::scroll_room(state, l),
        _ => (0, 1),
    }
}

/// How far the certifications can scroll, and their page height.
pub fn people_scroll_room(state: &State) -> (u16, u16) {
    match &state.screen {
        Screen::People(p) => people::scroll_room(state, p),
        _ => (0, 1),
    }
}

/// The open review record (or its chart page) in `area`, as the bench's review
/// screen draws it; the desk shows jobs from the hub with it.
pub fn review_record(r: &super::state::ReviewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    review::draw_open(r, theme, frame, area);
}

/// How far the open review record can scroll in `area`, and its page height.
pub fn review_record_room(r: &super::state::ReviewState, no_color: bool, area: Rect) -> (u16, u16) {
    review::open_scroll_room(r, no_color, area)
}

/// How far the open review record can scroll, and its page height.
pub fn review_scroll_room(state: &State) -> (u16, u16) {
    match &state.screen {
        Screen::Review(r) => review::scroll_room(state, r),
        _ => (0, 1),
    }
}

/// What a screen's help says beyond its keys: what happens to an open job.
fn help_notes(state: &State) -> Vec<&'static str> {
    let mut notes = Vec::new();
    match (&state.modal, &state.screen) {
        (Some(super::state::Modal::Held), _) => notes.extend([
            "A checkpoint failed, so the job is held: nothing more can be signed.",
            "r redoes the step: a new attempt with your reason; the failed one stays in the record.",
            "x aborts the job with a reason; it cannot be resumed.",
            "Esc leaves it held; opening the job again asks the same question.",
        ]),
        (Some(super::state::Modal::Sign(_)), _) => notes.extend([
            "p or ← passes, f or → fails: nothing is chosen for you.",
            "Enter goes on to the next field; the signature is saved after the PIN.",
            "Esc cancels: nothing is signed.",
        ]),
        (Some(_), _) => notes.push("Enter confirms, Esc cancels: nothing is saved until Enter."),
        (None, Screen::Runner(_)) => notes.extend([
            "↑↓ choose the checkpoint; Enter signs it. After a signature the cursor",
            "moves to the next checkpoint still to sign.",
            "l types a lot by hand (lot, a space, the expiry as YYYY-MM-DD); scanning a",
            "lot label needs no key. p records again the lot an earlier step used for",
            "the material this step still needs.",
            "m records the part a step removes (designators, its P/N if known) or fits",
            "(designators, P/N, lot or -, date code), where the step asks for it.",
            "n completes the step once every checkpoint is signed and every lot scanned.",
            "z suspends the job with a reason: it leaves the bench's list of running",
            "jobs and asks why when resumed. Recording stops.",
            "Esc goes back to the job list: the job stays in progress at this step and",
            "the station's readings go on being recorded.",
            "Ctrl+Q or Ctrl+C quits traveler: everything signed is already saved; the",
            "job stays in progress and resumes at this step.",
        ]),
        (None, Screen::Summary(_)) => notes.extend([
            "A rejected job: the reviewer's verdict and reason are at the top. Press the",
            "step's number to redo it, then Enter to submit again.",
        ]),
        (None, Screen::Login(_)) => notes.extend([
            "Scanning a badge, even on the PIN field, starts the log-in again with it;",
            "it does not count as a PIN try.",
        ]),
        _ => {}
    }
    notes.extend([
        "A scanner can be used anywhere: badges, board serials, lots.",
        "Ctrl+U clears the field being typed in.",
        "Every signature asks for a PIN; \"saved\" means written to disk.",
        "F1 or ? shows this help; ↑↓ PgUp/PgDn scroll it; any other key closes it.",
        "Ctrl+Q (or Ctrl+C) quits; open jobs stay open and resume where they stood.",
    ]);
    notes
}

fn help_lines(state: &State, theme: &Theme) -> Vec<Line<'static>> {
    // The keys of the screen under the help, not of the help itself.
    let mut lines: Vec<Line> = crate::tui::keys::help(state)
        .into_iter()
        .map(|(k, w)| {
            Line::from(vec![
                Span::styled(format!("{k:>9}  "), theme.key()),
                Span::raw(w),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    for n in help_notes(state) {
        lines.push(Line::raw(format!("  {n}")));
    }
    lines
}

fn help_popup(area: Rect) -> Rect {
    centered(area, 84, area.height)
}

/// How far the help can scroll at the current size, and its page height.
pub fn help_scroll_room(state: &State) -> (u16, u16) {
    let theme = Theme::new(state.no_color);
    let popup = help_popup(body_area_of(state));
    let inner = Block::bordered().inner(popup);
    let n = Paragraph::new(help_lines(state, &theme))
        .wrap(Wrap { trim: false })
        .line_count(inner.width);
    (
        u16::try_from(n)
            .unwrap_or(u16::MAX)
            .saturating_sub(inner.height),
        inner.height,
    )
}

fn draw_help(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let popup = help_popup(area);
    frame.render_widget(Clear, popup);
    let lines = help_lines(state, theme);
    let inner = Block::bordered().inner(popup);
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = u16::try_from(para.line_count(inner.width)).unwrap_or(u16::MAX);
    let max = total.saturating_sub(inner.height);
    let top = state.help_scroll.min(max);
    frame.render_widget(
        para.scroll((top, 0))
            .block(Block::bordered().title(scroll_title(" Help ", top, inner.height, total))),
        popup,
    );
}

/// A title that says where in a long text the view is, so people know it scrolls.
pub fn scroll_title(name: &str, top: u16, height: u16, total: u16) -> String {
    if total <= height {
        return name.to_string();
    }
    let last = (top + height).min(total);
    format!(
        "{name}· lines {}–{last} of {total} · ↑↓ PgUp/PgDn ",
        top + 1
    )
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
