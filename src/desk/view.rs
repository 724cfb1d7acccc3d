//! Drawing the desk: read-only over its state. The open job is the bench's own
//! review screen (record and step charts, `tui::view::review_record`); the queue
//! names each submission's bench, age and deviations; footer and help come from
//! the desk's key tables.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table, Wrap};

use super::state::{DeskState, Field, Link, Modal, OpenJob};
use crate::domain::types::Decision;
use crate::tui::state::FlashKind;
use crate::tui::view::theme::Theme;
use crate::tui::view::{centered, field_line, fit, footer_keys, scroll_title};

pub fn draw(s: &DeskState, frame: &mut Frame) {
    let theme = Theme::new(s.no_color);
    let a = areas(s, frame.area());
    frame.render_widget(
        Paragraph::new(header_lines(s, &theme, a.header.width)),
        a.header,
    );
    match &s.open {
        Some(o) => {
            frame.render_widget(
                Paragraph::new(banner_lines(o, &theme)).wrap(Wrap { trim: true }),
                a.banner,
            );
            crate::tui::view::review_record(&o.review, &theme, frame, a.body);
        }
        None => draw_queue(s, &theme, frame, a.body),
    }
    if let Some(p) = flash(s, &theme) {
        frame.render_widget(p, a.flash);
    }
    frame.render_widget(
        footer_keys(super::keys::footer(s), a.footer.width, &theme),
        a.footer,
    );
    match &s.modal {
        Some(Modal::Decide(d)) => {
            let verb = match d.decision {
                Decision::Approved => "Approve",
                Decision::Rejected => "Reject",
            };
            let mut lines = vec![
                Line::raw(match d.decision {
                    Decision::Approved => {
                        "The hub checks the PIN and the rules, then records the approval."
                    }
                    Decision::Rejected => "The reason goes back to the technician at the bench.",
                }),
                Line::raw(""),
                owned(field_line(
                    &d.comment,
                    d.focus == Field::Comment,
                    &theme,
                    40,
                )),
                owned(field_line(&d.badge, d.focus == Field::Badge, &theme, 12)),
                owned(field_line(&d.pin, d.focus == Field::Pin, &theme, 12)),
            ];
            if let Some(e) = &d.error {
                lines.push(Line::raw(""));
                lines.push(Line::from(Span::styled(e.clone(), theme.bad())));
            }
            if d.waiting.is_some() {
                lines.push(Line::from(Span::styled("sending to the hub…", theme.dim())));
            }
            let title = format!(" {verb} job {} of {} ", d.job, d.bench);
            popup(frame, a.body, &title, lines);
        }
        Some(Modal::Find(d)) => {
            let mut lines = vec![
                Line::raw("The job's id, as its bench shows it:"),
                Line::raw(""),
                owned(field_line(&d.job, true, &theme, 30)),
            ];
            if let Some(e) = &d.error {
                lines.push(Line::from(Span::styled(e.clone(), theme.bad())));
            }
            if d.waiting.is_some() {
                lines.push(Line::from(Span::styled("asking the hub…", theme.dim())));
            }
            popup(frame, a.body, " Open a job by id ", lines);
        }
        None => {}
    }
    if s.help {
        draw_help(s, &theme, frame, a.body);
    }
}

/// A line that no longer borrows the state it was drawn from.
fn owned(l: Line<'_>) -> Line<'static> {
    Line::from(
        l.spans
            .into_iter()
            .map(|s| Span::styled(s.content.into_owned(), s.style))
            .collect::<Vec<_>>(),
    )
}

struct Areas {
    header: Rect,
    banner: Rect,
    body: Rect,
    flash: Rect,
    footer: Rect,
}

fn areas(s: &DeskState, area: Rect) -> Areas {
    let theme = Theme::new(s.no_color);
    let footer_rows = u16::try_from(
        footer_keys(super::keys::footer_all(s), area.width, &theme).line_count(area.width),
    )
    .unwrap_or(1)
    .clamp(1, 3);
    let flash_rows = flash(s, &theme).map_or(1, |p| {
        u16::try_from(p.line_count(area.width))
            .unwrap_or(1)
            .clamp(1, 3)
    });
    let banner_rows = s.open.as_ref().map_or(0, |o| {
        u16::try_from(
            Paragraph::new(banner_lines(o, &theme))
                .wrap(Wrap { trim: true })
                .line_count(area.width),
        )
        .unwrap_or(1)
        .min(area.height / 3)
    });
    let header_rows = u16::try_from(header_lines(s, &theme, area.width).len()).unwrap_or(1);
    let [header, banner, body, flash, footer] = Layout::vertical([
        Constraint::Length(header_rows),
        Constraint::Length(banner_rows),
        Constraint::Min(0),
        Constraint::Length(flash_rows),
        Constraint::Length(footer_rows),
    ])
    .areas(area);
    Areas {
        header,
        banner,
        body,
        flash,
        footer,
    }
}

/// The header: the desk, the hub, the link, the queue's size and the clock. One
/// line while it fits; else it wraps between parts (nothing in it is ever cut:
/// whether the hub answers is what the supervisor acts on).
fn header_lines(s: &DeskState, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let (link, style) = match &s.link {
        Link::Connecting => ("○ connecting".to_string(), theme.dim()),
        Link::Live => ("● live".to_string(), theme.ok()),
        Link::NotLive => ("◐ hub not live: r reads again".to_string(), theme.warn()),
        Link::Unreachable { since, .. } => (
            format!("○ hub unreachable since {}", since.format("%H:%M:%S")),
            theme.bad(),
        ),
    };
    let mut parts = vec![(s.hub.clone(), Default::default()), (link, style)];
    if s.loaded {
        parts.push((format!("{} waiting", s.queue.len()), Default::default()));
    }
    let clock = s.now.format("%H:%M UTC").to_string();
    let width = width as usize;
    let mut lines: Vec<Vec<Span<'static>>> =
        vec![vec![Span::styled(" traveler desk ", theme.title())]];
    let mut used = fit::width(" traveler desk ");
    for (text, style) in parts {
        let w = fit::width(&text);
        // The first line keeps room for the clock.
        let room = if lines.len() == 1 {
            width.saturating_sub(fit::width(&clock) + 1)
        } else {
            width
        };
        if used > 0 && used + 3 + w > room {
            lines.push(Vec::new());
            used = 0;
        }
        let first_part = lines.len() == 1 && lines[0].len() == 1;
        let gap = match used {
            0 => "",
            _ if first_part => " ",
            _ => " · ",
        };
        let line = lines.last_mut().expect("a line at least");
        used += fit::width(gap) + w;
        line.push(Span::raw(gap));
        line.push(Span::styled(text, style));
    }
    let first = Line::from(lines[0].clone()).width();
    let pad = width.saturating_sub(first + fit::width(&clock)).max(1);
    lines[0].push(Span::raw(" ".repeat(pad)));
    lines[0].push(Span::raw(clock));
    lines.into_iter().map(Line::from).collect()
}

fn flash(s: &DeskState, theme: &Theme) -> Option<Paragraph<'static>> {
    let f = s.flash.as_ref()?;
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

/// What only the hub knows of the open job, above its record.
fn banner_lines(o: &OpenJob, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let status = match &o.submission {
        Some((seq, _)) => Span::styled(
            format!("submission (record {seq}) waiting for a decision"),
            theme.accent(),
        ),
        None => Span::styled("no submission waiting: read only", theme.dim()),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("Bench {}", o.bench), theme.bold()),
        Span::raw(" · "),
        status,
    ]));
    for d in &o.decisions {
        lines.push(Line::raw(format!(
            "Hub record {}: {} by {} ({}) {} — {}",
            d.hub_seq,
            match d.decision {
                Decision::Approved => "approved",
                Decision::Rejected => "rejected",
            },
            d.reviewer_name,
            d.reviewer,
            d.time.format("%Y-%m-%d %H:%M UTC"),
            d.comment
        )));
    }
    if o.behind > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ bench {} holds {} record(s) the hub has not received yet: a newer submission may be among them",
                o.bench, o.behind
            ),
            theme.warn(),
        )));
    }
    if o.samples_pending > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ the samples of {} sealed step(s) have not reached the hub yet: their charts are missing; no decision until they arrive",
                o.samples_pending
            ),
            theme.warn(),
        )));
    }
    if o.no_instruction {
        lines.push(Line::from(Span::styled(
            "⚠ the hub holds no text of the instruction this job ran: step texts are missing",
            theme.warn(),
        )));
    }
    lines
}

/// "3 d 4 h", "2 h 05 min", "12 min".
pub fn age(d: chrono::Duration) -> String {
    let m = d.num_minutes().max(0);
    match (m / (24 * 60), (m / 60) % 24, m % 60) {
        (0, 0, min) => format!("{min} min"),
        (0, h, min) => format!("{h} h {min:02} min"),
        (days, h, _) => format!("{days} d {h} h"),
    }
}

fn draw_queue(s: &DeskState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut notes: Vec<Line> = Vec::new();
    for l in s.lagging.iter().take(3) {
        notes.push(Line::from(Span::styled(
            format!(
                "⚠ bench {}: {} record(s) not at the hub yet (it holds {} of {}); its newest submissions may be missing",
                l.bench,
                l.bench_seq.saturating_sub(l.hub_seq),
                l.hub_seq,
                l.bench_seq
            ),
            theme.warn(),
        )));
    }
    if s.lagging.len() > 3 {
        notes.push(Line::from(Span::styled(
            format!("⚠ and {} more bench(es) behind", s.lagging.len() - 3),
            theme.warn(),
        )));
    }
    let note_rows = u16::try_from(
        Paragraph::new(notes.clone())
            .wrap(Wrap { trim: true })
            .line_count(area.width),
    )
    .unwrap_or(0)
    .min(area.height / 3);
    let [filter, note_area, list] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(note_rows),
        Constraint::Min(0),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(field_line(&s.filter, s.filtering, theme, 30)),
        filter,
    );
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), note_area);
    let visible = s.visible();
    let title = format!(" Review queue, every bench ({}) ", visible.len());
    if visible.is_empty() {
        let text = if !s.loaded {
            "Reading the queue from the hub…".to_string()
        } else if s.queue.is_empty() {
            "No job is waiting for review at any bench. A submission appears here as soon as its bench syncs.".to_string()
        } else {
            "No job matches the filter.".to_string()
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text, theme.dim())))
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(title)),
            list,
        );
        return;
    }
    let narrow = area.width < 100;
    let headers = if narrow {
        ["Bench", "Job", "Board", "By", "Waiting", "Deviations"].to_vec()
    } else {
        [
            "Bench",
            "Job",
            "Board",
            "Instruction",
            "By",
            "Waiting",
            "Deviations",
        ]
        .to_vec()
    };
    let cells: Vec<Vec<String>> = visible
        .iter()
        .map(|e| {
            let waiting = e.submitted_at.map_or("—".to_string(), |t| age(s.now - t));
            let mut row = vec![e.bench.clone(), e.job.clone(), e.serial.clone()];
            if !narrow {
                row.push(e.instruction_id.clone());
            }
            row.extend([e.performer.clone(), waiting, e.deviation_headline.clone()]);
            row
        })
        .collect();
    let widths = fit::columns(&headers, &[], &cells, list.width.saturating_sub(2), 1);
    let rows: Vec<Row> = fit::wrapped_rows(&cells, &widths)
        .into_iter()
        .enumerate()
        .map(|(i, (cells, height))| {
            let row = Row::new(cells.into_iter().map(ratatui::text::Text::from)).height(height);
            if i == s.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    frame.render_widget(
        Table::new(rows, widths.iter().map(|w| Constraint::Length(*w)))
            .header(Row::new(headers).style(theme.bold()))
            .block(Block::bordered().title(title)),
        list,
    );
}

fn popup(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>) {
    let width = area.width.min(72);
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let h = u16::try_from(para.line_count(width.saturating_sub(2)))
        .unwrap_or(area.height)
        .saturating_add(2);
    let rect = centered(area, width, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(para.block(Block::bordered().title(title.to_string())), rect);
}

fn help_notes(s: &DeskState) -> Vec<&'static str> {
    let mut notes = Vec::new();
    match (&s.modal, &s.open) {
        (Some(Modal::Decide(_)), _) => notes.extend([
            "Type the comment (for a rejection, the reason the technician will read),",
            "your badge and your PIN; Enter sends the decision to the hub, which checks",
            "the PIN (with the shop's lockout) and the rules, and records it.",
            "If the hub does not answer nothing is decided and nothing typed is lost:",
            "type the PIN again and press Enter when it is back.",
        ]),
        (Some(Modal::Find(_)), _) => notes.push("Type a job's id and press Enter to open it."),
        (None, Some(_)) => notes.extend([
            "The record as the hub received and verified it from the bench: every",
            "attempt, failed signature, redo, deviation, refusal and acknowledgement.",
            "Tab shows each step's temperature chart, ←→ the other steps.",
            "a approves, x rejects: the hub decides and says why when it refuses.",
        ]),
        (None, None) => notes.extend([
            "Every bench's submissions waiting for a decision, oldest first. The list",
            "follows the hub: a submission appears as soon as its bench syncs.",
            "Enter opens the selected job; / filters; g opens a job by id.",
        ]),
    }
    notes.extend([
        "Ctrl+U clears the field being typed in.",
        "F1 or ? shows this help; ↑↓ PgUp/PgDn scroll it; any other key closes it.",
        "Ctrl+Q (or Ctrl+C) quits the desk.",
    ]);
    notes
}

fn help_lines(s: &DeskState, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = super::keys::help(s)
        .into_iter()
        .map(|(k, w)| {
            Line::from(vec![
                Span::styled(format!("{k:>9}  "), theme.key()),
                Span::raw(w),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.extend(help_notes(s).into_iter().map(Line::raw));
    lines
}

fn help_popup(area: Rect) -> Rect {
    centered(area, 84, area.height)
}

fn draw_help(s: &DeskState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let popup = help_popup(area);
    frame.render_widget(Clear, popup);
    let para = Paragraph::new(help_lines(s, theme)).wrap(Wrap { trim: false });
    let inner = Block::bordered().inner(popup);
    let total = u16::try_from(para.line_count(inner.width)).unwrap_or(u16::MAX);
    let top = s.help_scroll.min(total.saturating_sub(inner.height));
    frame.render_widget(
        para.scroll((top, 0))
            .block(Block::bordered().title(scroll_title(" Help ", top, inner.height, total))),
        popup,
    );
}

fn screen(s: &DeskState) -> Rect {
    Rect::new(0, 0, s.size.0, s.size.1)
}

/// How far the help can scroll at the current size, and its page height.
pub fn help_scroll_room(s: &DeskState) -> (u16, u16) {
    let theme = Theme::new(s.no_color);
    let inner = Block::bordered().inner(help_popup(areas(s, screen(s)).body));
    let n = Paragraph::new(help_lines(s, &theme))
        .wrap(Wrap { trim: false })
        .line_count(inner.width);
    (
        u16::try_from(n)
            .unwrap_or(u16::MAX)
            .saturating_sub(inner.height),
        inner.height,
    )
}

/// How far the open record can scroll at the current size, and its page height.
pub fn open_scroll_room(s: &DeskState) -> (u16, u16) {
    match &s.open {
        Some(o) => {
            crate::tui::view::review_record_room(&o.review, s.no_color, areas(s, screen(s)).body)
        }
        None => (0, 1),
    }
}
