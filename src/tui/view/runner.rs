use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::bigdigits;
use super::theme::Theme;
use crate::domain::types::CheckResult;
use crate::instruction::schema::{CheckpointKind, Signer};
use crate::tui::state::{Recorder, RunnerState, State, Trace};
use crate::tui::update::lot_materials;

/// Alarm and station banners above the step.
fn banner(state: &State, r: &RunnerState, theme: &Theme) -> Paragraph<'static> {
    let open_alarms: Vec<_> = r.job.open_excursions(r.step).collect();
    let rec = recording(state, r);
    let alarm = rec.and_then(|x| x.alarm.as_ref());
    // A temperature step whose station went away says so in words, not only ○.
    let lost = r.window.is_some() && !state.station.connected;
    let mut banners = Vec::new();
    if let Some(a) = alarm {
        let side = if a.peak > a.window.1 {
            "ABOVE"
        } else {
            "BELOW"
        };
        banners.push(format!(
            " ⚠ TEMPERATURE ALARM: {} {:.1} °C {side} window {:.0}–{:.0} °C ",
            a.channel, a.peak, a.window.0, a.window.1
        ));
    } else if let Some(e) = open_alarms.first() {
        banners.push(format!(
            " ⚠ Alarm {}: {} peaked {:.1} °C outside {:.0}–{:.0} °C — press a to acknowledge ",
            e.id, e.channel, e.peak_c, e.window_min_c, e.window_max_c
        ));
    }
    if lost {
        banners.push(format!(
            " ○ STATION DISCONNECTED ({}): no readings are being recorded ",
            state.station.status
        ));
    }
    Paragraph::new(banners.into_iter().map(Line::raw).collect::<Vec<_>>())
        .style(theme.alarm())
        .wrap(Wrap { trim: true })
}

/// The runner's areas: progress line, banners, step list, step, temperature.
fn areas(state: &State, r: &RunnerState, theme: &Theme, area: Rect) -> [Rect; 5] {
    let banner_rows = u16::try_from(banner(state, r, theme).line_count(area.width))
        .unwrap_or(0)
        .min(4);
    let [progress, banner, main] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Min(0),
    ])
    .areas(area);
    // Wide terminals also get the step list; 80 columns keep the progress bar only.
    let list_width = if main.width >= 110 { 26 } else { 0 };
    let [steps, left, right] = Layout::horizontal([
        Constraint::Length(list_width),
        Constraint::Percentage(56),
        Constraint::Percentage(44),
    ])
    .areas(main);
    [progress, banner, steps, left, right]
}

/// How far the step pane can scroll and where it stands now (following the
/// selected checkpoint unless PgUp/PgDn moved it).
pub fn scroll_room(state: &State, r: &RunnerState) -> (u16, u16, u16) {
    let theme = Theme::new(state.no_color);
    let [_, _, _, left, _] = areas(state, r, &theme, super::body_area_of(state));
    let inner = Block::bordered().inner(left);
    let (lines, focus_end) = step_lines(r, state.now, &theme);
    let para = Paragraph::new(lines.clone()).wrap(Wrap { trim: false });
    let (max, page) = super::room(para, inner);
    let follow = u16::try_from(
        Paragraph::new(lines[..focus_end.min(lines.len())].to_vec())
            .wrap(Wrap { trim: false })
            .line_count(inner.width),
    )
    .unwrap_or(0)
    .saturating_sub(inner.height)
    .min(max);
    (max, page, r.scroll.unwrap_or(follow).min(max))
}

pub fn draw(state: &State, r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [progress, banner_area, steps, left, right] = areas(state, r, theme, area);

    let n = r.job.steps.len();
    let bar: String = (0..n)
        .map(|i| {
            if r.job.steps[i].completed.is_some() {
                '▰'
            } else if i as u32 == r.step {
                '▶'
            } else {
                '▱'
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!(" {} ", r.job.board_serial), theme.bold()),
            Span::raw(format!(
                "{} rev {} · {} · ",
                r.instruction.id(),
                r.instruction.revision(),
                r.job.refdes.join(",")
            )),
            Span::styled(format!("Step {}/{} ", r.step + 1, n), theme.bold()),
            Span::styled(bar, theme.accent()),
        ])),
        progress,
    );
    frame.render_widget(banner(state, r, theme), banner_area);
    if steps.width > 0 {
        draw_step_list(r, theme, frame, steps);
    }
    draw_step(state, r, theme, frame, left);
    draw_temperature(state, r, theme, frame, right);
}

fn draw_step_list(r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(6) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut current = 0;
    for (i, step) in r.instruction.spec.steps.iter().enumerate() {
        let done = r.job.steps.get(i).is_some_and(|s| s.completed.is_some());
        let (mark, style) = if done {
            ("✔", theme.ok())
        } else if i as u32 == r.step {
            ("▶", theme.selected())
        } else {
            (" ", theme.dim())
        };
        if i as u32 == r.step {
            current = lines.len();
        }
        // Step names wrap under themselves rather than lose words or figures.
        // A list names steps in two lines or so; the step shown has its whole text.
        let name = super::fit::step_name(&step.text);
        let name = super::fit::shorten(name, (2 * width).saturating_sub(4))
            .unwrap_or_else(|| name.to_string());
        for (n, piece) in super::fit::wrap(&name, width).into_iter().enumerate() {
            let lead = if n == 0 {
                format!("{mark}{:>2} ", i + 1)
            } else {
                "    ".to_string()
            };
            lines.push(Line::from(Span::styled(format!("{lead}{piece}"), style)));
        }
    }
    // The current step stays in view when the names do not all fit.
    let inner = area.height.saturating_sub(2) as usize;
    let scroll = (current + 3).saturating_sub(inner) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(" Steps ")),
        area,
    );
}

/// The step pane's lines, and the end of the selected checkpoint's lines (the
/// pane scrolls to keep it in view).
fn step_lines(
    r: &RunnerState,
    now: chrono::DateTime<chrono::Utc>,
    theme: &Theme,
) -> (Vec<Line<'static>>, usize) {
    let Some(step) = r.instruction.spec.steps.get(r.step as usize) else {
        return (Vec::new(), 0);
    };
    let mut focus_end = 0;
    let mut lines = vec![Line::raw(step.text.clone()), Line::raw("")];
    if !r.instruction.spec.equipment.is_empty() && r.step == 0 {
        lines.push(Line::from(vec![
            Span::styled("Equipment: ", theme.dim()),
            Span::raw(r.instruction.spec.equipment.join("; ")),
        ]));
    }
    if let Some(m) = step.max_minutes {
        let elapsed = r.job.steps[r.step as usize]
            .started
            .map_or(0, |s| (now - s).num_seconds().max(0));
        let over = elapsed as f64 > m * 60.0;
        lines.push(Line::from(vec![
            Span::styled("Time: ", theme.dim()),
            Span::styled(
                format!("{}:{:02} of {m} min", elapsed / 60, elapsed % 60),
                if over { theme.bad() } else { theme.bold() },
            ),
        ]));
    }
    let needs_lot = lot_materials(&r.instruction, r.step);
    for m in &step.materials {
        let id = m.get_ref();
        let name = r
            .instruction
            .spec
            .materials
            .iter()
            .find(|d| d.id.get_ref() == id)
            .map_or(id.as_str(), |d| d.name.as_str());
        let lot = r
            .job
            .lots_for_step(r.step)
            .filter(|l| &l.material == id)
            .last();
        let status = match (lot, needs_lot.contains(id)) {
            (Some(l), _) => Span::styled(
                format!(
                    "✔ lot {}{}",
                    l.lot,
                    l.expiry.map(|e| format!(" exp {e}")).unwrap_or_default()
                ),
                theme.ok(),
            ),
            (None, true) => match crate::tui::update::previous_lot(r).filter(|l| &l.material == id)
            {
                Some(l) => Span::styled(
                    format!("✖ scan lot, or p: {} of step\u{a0}{}", l.lot, l.step + 1),
                    theme.warn(),
                ),
                None => Span::styled("✖ scan lot", theme.warn()),
            },
            (None, false) => Span::styled("(no lot)", theme.dim()),
        };
        lines.push(Line::from(vec![
            Span::styled("Material: ", theme.dim()),
            Span::raw(format!("{name} ")),
            status,
        ]));
    }
    if let Some(action) = step.component.as_ref().map(|c| *c.get_ref()) {
        use crate::domain::component::ComponentAction;
        let (what, verb) = match action {
            ComponentAction::Remove => ("Part removed: ", "confirm the removal"),
            ComponentAction::Install => ("Part fitted: ", "record P/N and lot"),
        };
        let mut spans = vec![Span::styled(what, theme.dim())];
        for c in r
            .job
            .components_for_step(r.step)
            .filter(|c| c.action == action)
        {
            let detail: Vec<&str> = [&c.part_number, &c.lot, &c.date_code]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            spans.push(Span::styled(
                format!("✔ {} {} ", c.refdes.join(","), detail.join(" ")),
                theme.ok(),
            ));
        }
        let pending = r.job.designators_pending(r.step, action);
        if !pending.is_empty() {
            spans.push(Span::styled(
                format!("✖ {}: press m to {verb}", pending.join(",")),
                theme.warn(),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    let signed = &r.job.steps[r.step as usize].signatures;
    for (i, cp) in step.checkpoints.iter().enumerate() {
        let sig = signed.get(&(i as u32));
        let mark = match sig.map(|s| s.result) {
            Some(CheckResult::Fail) => Span::styled("[✖] ", theme.bad()),
            Some(_) => Span::styled("[✔] ", theme.ok()),
            None => Span::raw("[ ] "),
        };
        let who = match cp.signer {
            Signer::Technician => "",
            Signer::Inspector => " (inspector)",
        };
        let limits = match cp.kind.get_ref() {
            CheckpointKind::Measurement => {
                let unit = cp.unit.clone().unwrap_or_default();
                match (cp.min.as_ref().map(|m| *m.get_ref()), cp.max) {
                    // No-break spaces: a limit and its unit stay on one line.
                    (Some(a), Some(b)) => format!(" [{a}–{b}\u{a0}{unit}]"),
                    (Some(a), None) => format!(" [≥\u{a0}{a}\u{a0}{unit}]"),
                    (None, Some(b)) => format!(" [≤\u{a0}{b}\u{a0}{unit}]"),
                    (None, None) => String::new(),
                }
            }
            _ => String::new(),
        };
        let text = format!("{}{limits}{who}", cp.text);
        let style = if i == r.selected {
            theme.selected()
        } else {
            theme.bold()
        };
        lines.push(Line::from(vec![mark, Span::styled(text, style)]));
        if let Some(s) = sig {
            let value = s
                .measurement
                .as_ref()
                .map(|m| format!("{} {} · ", m.value, m.unit))
                .unwrap_or_default();
            lines.push(Line::from(Span::styled(
                format!(
                    "    {value}{:?} — {}, {}, {}",
                    s.result,
                    s.signer_name,
                    s.meaning,
                    s.time.format("%Y-%m-%d %H:%M UTC")
                ),
                theme.dim(),
            )));
        } else {
            lines.push(Line::from(Span::styled(
                format!("    {}", cp.acceptance),
                theme.dim(),
            )));
        }
        if i == r.selected {
            focus_end = lines.len();
        }
    }
    (lines, focus_end)
}

fn draw_step(state: &State, r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (lines, _) = step_lines(r, state.now, theme);
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let inner = Block::bordered().inner(area);
    let total = u16::try_from(para.line_count(inner.width)).unwrap_or(u16::MAX);
    let (_, _, top) = scroll_room(state, r);
    let name = format!(" Step {} ", r.step + 1);
    frame.render_widget(
        para.scroll((top, 0))
            .block(Block::bordered().title(super::scroll_title(&name, top, inner.height, total))),
        area,
    );
}

fn draw_temperature(state: &State, r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
    // The title drops words before it would drop a digit of the window.
    let room = area.width.saturating_sub(2) as usize;
    let fit = |options: Vec<String>| {
        options
            .iter()
            .find(|t| t.chars().count() <= room)
            .or(options.last())
            .cloned()
            .unwrap_or_default()
    };
    let block = Block::bordered().title(match &r.window {
        Some(w) => fit(vec![
            format!(" {} · window {:.0}–{:.0} °C ", w.channel, w.min_c, w.max_c),
            format!(" {} {:.0}–{:.0} °C ", w.channel, w.min_c, w.max_c),
            format!(" {:.0}–{:.0} °C ", w.min_c, w.max_c),
            format!("{:.0}–{:.0}", w.min_c, w.max_c),
        ]),
        None => fit(vec![
            " Temperature · no window for this step ".into(),
            " Temperature · no window ".into(),
            " no window ".into(),
        ]),
    });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let channel = r.window.as_ref().map(|w| w.channel.as_str());
    let conn = if state.station.connected {
        Span::styled(format!("● {}", state.station.status), theme.ok())
    } else {
        Span::styled(format!("○ {}", state.station.status), theme.bad())
    };
    let others: String = state
        .station
        .latest
        .iter()
        .filter(|(c, _)| Some(c.as_str()) != channel)
        .map(|(c, (_, v))| format!(" {c} {v:.0}"))
        .collect();
    let status_line = Paragraph::new(Line::from(vec![conn, Span::styled(others, theme.dim())]))
        .wrap(Wrap { trim: true });
    let status_rows = u16::try_from(status_line.line_count(inner.width))
        .unwrap_or(1)
        .clamp(1, 3);
    let [digits, status, chart] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(status_rows),
        Constraint::Min(0),
    ])
    .areas(inner);

    let current = match channel {
        Some(c) => state.station.latest.get_key_value(c),
        None => state.station.latest.iter().next(),
    };
    match current {
        Some((name, (_, v))) => {
            let inside = r
                .window
                .as_ref()
                .is_none_or(|w| *v >= w.min_c && *v <= w.max_c);
            let style = if inside { theme.ok() } else { theme.alarm() };
            let rows = bigdigits::render(&format!("{v:.1}"));
            let lines: Vec<Line> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    // The big digits name their channel.
                    let unit = match i {
                        0 => " °C".to_string(),
                        1 => format!(" {name}"),
                        _ => String::new(),
                    };
                    Line::from(vec![Span::styled(row.clone(), style), Span::raw(unit)])
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), digits);
        }
        None => {
            let what = match channel {
                Some(c) => format!("no {c} reading yet"),
                None => "no reading yet".into(),
            };
            frame.render_widget(Paragraph::new(what).style(theme.dim()), digits)
        }
    }
    frame.render_widget(status_line, status);
    draw_chart(state, r, theme, frame, chart);
}

/// The recording of the step the runner shows, if it is the one recording.
fn recording<'a>(state: &'a State, r: &RunnerState) -> Option<&'a Recorder> {
    state
        .recorder
        .as_ref()
        .filter(|x| x.job == r.job.id && x.step == r.step)
}

fn draw_chart(state: &State, r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let band = r.window.as_ref().map(|w| (w.min_c, w.max_c));
    let empty = Trace::default();
    let rec = recording(state, r);
    let trace = rec.map_or(&empty, |x| &x.trace);
    let open: Vec<(f64, f64)> = rec
        .and_then(|x| x.alarm.as_ref())
        .and_then(|a| {
            trace.start.map(|s| {
                (
                    (a.started - s).num_milliseconds() as f64 / 1000.0,
                    f64::INFINITY,
                )
            })
        })
        .into_iter()
        .collect();
    super::chart::draw(&trace.points, band, &open, theme, frame, area);
}
