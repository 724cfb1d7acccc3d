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

pub fn draw(state: &State, r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
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
    let banner_para = Paragraph::new(banners.into_iter().map(Line::raw).collect::<Vec<_>>())
        .style(theme.alarm())
        .wrap(Wrap { trim: true });
    let banner_rows = u16::try_from(banner_para.line_count(area.width))
        .unwrap_or(0)
        .min(4);
    let [progress, banner, main] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Min(0),
    ])
    .areas(area);

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
    frame.render_widget(banner_para, banner);

    // Wide terminals also get the step list; 80 columns keep the progress bar only.
    let list_width = if main.width >= 110 { 26 } else { 0 };
    let [steps, left, right] = Layout::horizontal([
        Constraint::Length(list_width),
        Constraint::Percentage(56),
        Constraint::Percentage(44),
    ])
    .areas(main);
    if list_width > 0 {
        draw_step_list(r, theme, frame, steps);
    }
    draw_step(r, state.now, theme, frame, left);
    draw_temperature(state, r, theme, frame, right);
}

fn draw_step_list(r: &RunnerState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let width = area.width.saturating_sub(7) as usize;
    let lines: Vec<Line> = r
        .instruction
        .spec
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let done = r.job.steps.get(i).is_some_and(|s| s.completed.is_some());
            let (mark, style) = if done {
                ("✔", theme.ok())
            } else if i as u32 == r.step {
                ("▶", theme.selected())
            } else {
                (" ", theme.dim())
            };
            let text: String = step.text.chars().take(width).collect();
            Line::from(Span::styled(format!("{mark}{:>2} {text}", i + 1), style))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Steps ")),
        area,
    );
}

fn draw_step(
    r: &RunnerState,
    now: chrono::DateTime<chrono::Utc>,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let Some(step) = r.instruction.spec.steps.get(r.step as usize) else {
        return;
    };
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
                    format!("✖ scan lot, or p: {} of step {}", l.lot, l.step + 1),
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
            CheckpointKind::Measurement => format!(
                " [{}–{} {}]",
                cp.min
                    .as_ref()
                    .map_or("".into(), |m| m.get_ref().to_string()),
                cp.max.map_or("".into(), |m| m.to_string()),
                cp.unit.clone().unwrap_or_default()
            ),
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
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!(" Step {} ", r.step + 1))),
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
