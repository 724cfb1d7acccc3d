use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::theme::Theme;
use crate::domain::types::Role;
use crate::tui::state::{HomeState, State};

pub fn draw(state: &State, h: &HomeState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [top, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(area);
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

    let header =
        Row::new(["Job", "Board", "Instruction", "Status", "At step", ""]).style(theme.bold());
    let rows: Vec<Row> = h
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let row = Row::new([
                j.id.clone(),
                j.serial.clone(),
                j.instruction.clone(),
                j.status.as_str().replace('_', " "),
                j.step.clone(),
                j.note.clone(),
            ]);
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
        Table::new(
            rows,
            [
                Constraint::Length(24),
                Constraint::Length(12),
                Constraint::Length(12),
                Constraint::Length(11),
                Constraint::Min(20),
                Constraint::Max(30),
            ],
        )
        .header(header)
        .block(Block::bordered().title(title)),
        list,
    );
}
