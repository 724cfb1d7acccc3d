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
    let visible = list.height.saturating_sub(2) as usize;
    let why: Vec<Vec<crate::domain::policy::Refusal>> = state
        .library
        .instructions
        .iter()
        .map(|i| refusals(state, f, i))
        .collect();
    let all_rows = lines.len() + why.iter().map(|w| 1 + w.len()).sum::<usize>();
    // When every reason does not fit, only the selected instruction's are listed;
    // the others carry a mark and how many there are (Enter on one says them all).
    let compact = all_rows > visible;
    let mut rows_before = lines.len();
    for (i, instr) in state.library.instructions.iter().enumerate() {
        let why = &why[i];
        let selected = f.focus == StartForm::LIST && i == f.selected;
        let mut text = format!(
            "{:<11} {:<2} {:<12} {}",
            instr.id(),
            instr.revision(),
            instr.spec.activity.to_string(),
            instr.spec.title
        );
        let show_reasons = !compact || i == f.selected;
        if compact {
            let mark = match (why.len(), show_reasons) {
                (0, _) | (_, true) => "   ".to_string(),
                (n, false) => format!("✖{:<2}", n.min(9)),
            };
            text = format!("{mark}{text}");
        }
        let style = match (selected, why.is_empty()) {
            (true, _) => theme.selected(),
            (false, true) => theme.bold(),
            (false, false) => theme.dim(),
        };
        if i < f.selected {
            rows_before += 1 + if show_reasons { why.len() } else { 0 };
        }
        lines.push(Line::from(Span::styled(text, style)));
        if show_reasons {
            for reason in why {
                lines.push(Line::from(Span::styled(
                    format!("      ✖ {reason}"),
                    theme.dim(),
                )));
            }
        }
    }
    // Keep the selected instruction and its reasons in view.
    let own = 1 + why.get(f.selected).map_or(0, Vec::len);
    let scroll = (rows_before + own).saturating_sub(visible) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(format!(" Instructions{history} "))),
        list,
    );
}
