use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::theme::Theme;
use crate::domain::types::Role;
use crate::tui::state::{HomeState, State};

pub fn draw(state: &State, h: &HomeState, theme: &Theme, frame: &mut Frame, area: Rect) {
    // The selected job in full below the table: its step name and a rejection
    // reason are never cut to the column's width.
    let detail = h.jobs.get(h.selected).map(|j| {
        let mut text = format!("▶ {} · {} · at step {}", j.id, j.serial, j.step);
        if !j.note.is_empty() {
            text.push_str(&format!(" · {}", j.note));
        }
        Paragraph::new(Line::from(Span::styled(text, theme.bold())))
            .wrap(ratatui::widgets::Wrap { trim: true })
    });
    let detail_rows = detail.as_ref().map_or(0, |p| {
        u16::try_from(p.line_count(area.width)).unwrap_or(1).min(3)
    });
    let [top, list, below] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(0),
        Constraint::Length(detail_rows),
    ])
    .areas(area);
    if let Some(p) = detail {
        frame.render_widget(p, below);
    }
    let mut intro = vec![Line::from(vec![
        Span::styled("n", theme.key()),
        Span::raw(" start a job (or just scan a board serial)   "),
    ])];
    if state
        .user
        .as_ref()
        .is_some_and(|p| p.has_role(Role::Supervisor))
    {
        intro.push(Line::from(vec![
            Span::styled("r", theme.key()),
            Span::raw(format!(" review queue: {} job(s) waiting", h.reviews)),
        ]));
    }
    frame.render_widget(Paragraph::new(intro).block(Block::default()), top);

    let headers = ["Job", "Board", "Instruction", "Status", "At step"];
    let cells: Vec<Vec<String>> = h
        .jobs
        .iter()
        .map(|j| {
            vec![
                j.id.clone(),
                j.serial.clone(),
                j.instruction.clone(),
                j.status.as_str().replace('_', " "),
                if j.note.is_empty() {
                    j.step.clone()
                } else {
                    format!("{} · {}", j.step, j.note)
                },
            ]
        })
        .collect();
    // The step and a rejection reason wrap in their column rather than lose words.
    let widths = super::fit::columns(
        &headers,
        &[23, 10, 11, 11],
        &cells,
        list.width.saturating_sub(2),
        1,
    );
    let header = Row::new(headers).style(theme.bold());
    let rows: Vec<Row> = super::fit::wrapped_rows(&cells, &widths)
        .into_iter()
        .enumerate()
        .map(|(i, (cells, height))| {
            let row = Row::new(cells.into_iter().map(ratatui::text::Text::from)).height(height);
            if i == h.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let title = if !h.loaded {
        " Your open jobs (loading…) ".to_string()
    } else if h.jobs.is_empty() {
        " Your open jobs: none ".to_string()
    } else {
        format!(" Your open jobs ({}) ", h.jobs.len())
    };
    frame.render_widget(
        Table::new(rows, widths.iter().map(|w| Constraint::Length(*w)))
            .header(header)
            .block(Block::bordered().title(title)),
        list,
    );
}
