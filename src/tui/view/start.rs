use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::login::field_line;
use super::theme::Theme;
use crate::domain::types::ProductClass;
use crate::tui::state::{START_FIELDS, StartForm, State};
use crate::tui::update::refusals;

pub fn draw(state: &State, f: &StartForm, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [form, list] = Layout::vertical([Constraint::Length(7), Constraint::Min(0)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(form);
    let col = |range: std::ops::Range<usize>| -> Vec<Line> {
        range
            .map(|i| field_line(&f.fields[i], f.focus == i, theme, 20))
            .collect()
    };
    // Read down the left column, then the right: the order Enter moves in.
    let l = col(0..4);
    let mut r = col(4..START_FIELDS);
    let class = ProductClass::ALL[f.class.min(2)];
    r.push(Line::from(vec![
        Span::styled(format!("{:>16}: ", "Product class"), theme.dim()),
        Span::styled(
            format!("◀ {class} ▶"),
            if f.focus == StartForm::CLASS {
                theme.selected()
            } else {
                theme.bold()
            },
        ),
    ]));
    let alloy = state
        .library
        .alloys
        .get(f.alloy)
        .map(|a| a.id.get_ref().clone())
        .unwrap_or_else(|| "(none)".into());
    r.push(Line::from(vec![
        Span::styled(format!("{:>16}: ", "Alloy"), theme.dim()),
        Span::styled(
            format!("◀ {alloy} ▶"),
            if f.focus == StartForm::ALLOY {
                theme.selected()
            } else {
                theme.bold()
            },
        ),
    ]));
    frame.render_widget(
        Paragraph::new(l).block(Block::bordered().title(" New job ")),
        left,
    );
    frame.render_widget(Paragraph::new(r).block(Block::bordered()), right);

    let history = match &f.prior {
        None if f.fields[0].trimmed().is_empty() => String::new(),
        None => " · reading board history…".into(),
        Some((_, p)) => format!(" · {} earlier job(s) on this board", p.len()),
    };
    let mut lines = Vec::new();
    let alloy = state
        .library
        .alloys
        .get(f.alloy)
        .map(|a| a.id.get_ref().clone())
        .unwrap_or_default();
    if let Some(e) = &f.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.bad())));
    }
    let mixed = f.mixed_alloys(&state.library);
    if !mixed.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ Mixed-alloy rework: board earlier reworked with {}, now {alloy}",
                mixed.join(", ")
            ),
            theme.warn(),
        )));
    }
    for (i, instr) in state.library.instructions.iter().enumerate() {
        let why = refusals(state, f, instr);
        let selected = f.focus == StartForm::LIST && i == f.selected;
        let text = format!(
            "{:<11} {:<2} {:<12} {}",
            instr.id(),
            instr.revision(),
            instr.spec.activity.to_string(),
            instr.spec.title
        );
        let style = match (selected, why.is_empty()) {
            (true, _) => theme.selected(),
            (false, true) => theme.bold(),
            (false, false) => theme.dim(),
        };
        lines.push(Line::from(Span::styled(text, style)));
        for reason in &why {
            lines.push(Line::from(Span::styled(
                format!("      ✖ {reason}"),
                theme.dim(),
            )));
        }
    }
    // Keep the selected instruction in view on a 24-row terminal.
    let rows_before: usize = state.library.instructions
        [..f.selected.min(state.library.instructions.len())]
        .iter()
        .map(|i| 1 + refusals(state, f, i).len())
        .sum();
    let visible = list.height.saturating_sub(2) as usize;
    let scroll = rows_before.saturating_sub(visible.saturating_sub(3)) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(format!(" Instructions{history} "))),
        list,
    );
}
