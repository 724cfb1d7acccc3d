use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};

use super::login::field_line;
use super::summary::record_lines;
use super::theme::Theme;
use crate::tui::state::{ReviewState, State};
use crate::tui::update::visible_reviews;

pub fn draw(_state: &State, r: &ReviewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    if let Some((job, instruction)) = &r.open {
        let texts: Vec<String> = instruction
            .as_ref()
            .map(|i| i.spec.steps.iter().map(|s| s.text.clone()).collect())
            .unwrap_or_default();
        let wide = area.width >= 110;
        let [record, chart] = if wide {
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area)
        } else {
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area)
        };
        frame.render_widget(
            Paragraph::new(record_lines(job, &texts, theme))
                .wrap(Wrap { trim: false })
                .scroll((r.scroll, 0))
                .block(Block::bordered().title(format!(" Review {} ", job.id))),
            record,
        );
        let trace = r.traces.iter().find(|t| t.step as usize == r.chart_step);
        let title = match trace {
            Some(t) => {
                let window = t
                    .window
                    .map(|(a, b)| format!(" window {a:.0}–{b:.0} °C"))
                    .unwrap_or_default();
                format!(
                    " Step {} · {}{window} · {} excursion(s) · ←→ step ",
                    t.step + 1,
                    t.channel,
                    t.excursions.len()
                )
            }
            None => " No temperature recorded ".into(),
        };
        let block = Block::bordered().title(title);
        let inner = block.inner(chart);
        frame.render_widget(block, chart);
        if let Some(t) = trace {
            super::chart::draw(&t.points, t.window, &t.excursions, theme, frame, inner);
        }
        return;
    }
    let [filter, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(field_line(&r.filter, r.filtering, theme, 30)),
        filter,
    );
    let visible = visible_reviews(r);
    let rows: Vec<Row> = r
        .queue
        .iter()
        .filter(|l| visible.contains(&l.id))
        .enumerate()
        .map(|(i, l)| {
            let row = Row::new([
                l.id.clone(),
                l.serial.clone(),
                l.instruction.clone(),
                l.performer.clone(),
                l.submitted.format("%Y-%m-%d %H:%M").to_string(),
                match (l.excursions, l.flags) {
                    (0, 0) => String::new(),
                    (a, 0) => format!("⚠ {a}"),
                    (0, f) => format!("⚑ {f} flagged"),
                    (a, f) => format!("⚠ {a} ⚑ {f} flagged"),
                },
            ]);
            if i == r.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(24),
                Constraint::Length(10),
                Constraint::Length(11),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Min(0),
            ],
        )
        .header(
            Row::new([
                "Job",
                "Board",
                "Instruction",
                "By",
                "Submitted",
                "Alarms/flags",
            ])
            .style(theme.bold()),
        )
        .block(Block::bordered().title(format!(" Review queue ({}) ", visible.len()))),
        list,
    );
    let _ = Line::raw("");
}
