use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::login::field_line;
use super::theme::Theme;
use crate::domain::board::{HistoryScope, HubMissing};
use crate::domain::types::ProductClass;
use crate::tui::state::{START_FIELDS, StartForm, State};
use crate::tui::update::refusals;

pub fn draw(state: &State, f: &StartForm, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [form, list] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(area);
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
    // Where the board's history comes from, when a hub is (or should be) asked:
    // a bench without a hub shows nothing new, its record still says so.
    match &f.history {
        Some((HistoryScope::Bench { why, .. }, line)) if *why != HubMissing::NotConfigured => {
            lines.push(Line::from(Span::styled(line.clone(), theme.warn())));
        }
        Some((HistoryScope::Shop { .. }, line)) => {
            lines.push(Line::from(Span::styled(line.clone(), theme.dim())));
        }
        _ => {}
    }
    let mixed = f.mixed_alloys(&state.library);
    if !mixed.is_empty() {
        let elsewhere = f
            .board
            .as_ref()
            .map_or(&[][..], |b| &b.alloys_elsewhere[..]);
        let named: Vec<String> = mixed
            .iter()
            .map(|a| {
                let at: Vec<&str> = elsewhere
                    .iter()
                    .filter(|(x, _)| x == a)
                    .map(|(_, b)| b.as_str())
                    .collect();
                if at.is_empty() {
                    a.clone()
                } else {
                    format!("{a} (at {})", at.join(", "))
                }
            })
            .collect();
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ Mixed-alloy rework: board earlier reworked with {}, now {alloy}",
                named.join(", ")
            ),
            theme.warn(),
        )));
    }
    let visible = list.height.saturating_sub(2) as usize;
    let inner = list.width.saturating_sub(2) as usize;
    let why: Vec<Vec<crate::domain::policy::Refusal>> = state
        .library
        .instructions
        .iter()
        .map(|i| refusals(state, f, i))
        .collect();
    let instructions = &state.library.instructions;
    let col = |get: &dyn Fn(&crate::instruction::Instruction) -> String| {
        instructions
            .iter()
            .map(|i| super::fit::width(&get(i)))
            .max()
            .unwrap_or(0)
    };
    let id_w = col(&|i| i.id().to_string());
    let rev_w = col(&|i| i.revision().to_string());
    let act_w = col(&|i| i.spec.activity.to_string());
    // The rows of every instruction at a level of detail: 0 everything, 1 the
    // reasons of the selected one only (the others carry a mark), 2 also the
    // titles of the others on one line, abbreviated where that keeps every figure.
    let build = |level: u8| -> (Vec<Line<'static>>, usize, usize) {
        let mut out = lines.clone();
        let compact = level > 0;
        let mut before = out.len();
        let mut own = 0;
        for (i, instr) in instructions.iter().enumerate() {
            let why = &why[i];
            let selected = f.focus == StartForm::LIST && i == f.selected;
            let show_reasons = !compact || i == f.selected;
            let mark = match (compact, why.len(), show_reasons) {
                (false, _, _) => String::new(),
                (true, 0, _) | (true, _, true) => "   ".to_string(),
                (true, n, false) => format!("✖{:<2}", n.min(9)),
            };
            let lead = format!(
                "{mark}{:<id_w$} {:<rev_w$} {:<act_w$} ",
                instr.id(),
                instr.revision(),
                instr.spec.activity.to_string(),
            );
            let room = inner.saturating_sub(super::fit::width(&lead)).max(10);
            let title = &instr.spec.title;
            let pieces = match (level, i == f.selected) {
                (2, false) => super::fit::shorten(title, room)
                    .map(|t| vec![t])
                    .unwrap_or_else(|| super::fit::wrap(title, room)),
                _ => super::fit::wrap(title, room),
            };
            let style = match (selected, why.is_empty()) {
                (true, _) => theme.selected(),
                (false, true) => theme.bold(),
                (false, false) => theme.dim(),
            };
            let start = out.len();
            let indent = " ".repeat(super::fit::width(&lead));
            for (n, piece) in pieces.into_iter().enumerate() {
                let head = if n == 0 { lead.clone() } else { indent.clone() };
                out.push(Line::from(Span::styled(format!("{head}{piece}"), style)));
            }
            if show_reasons {
                for reason in why {
                    for (n, piece) in super::fit::wrap(&reason.to_string(), inner.saturating_sub(8))
                        .into_iter()
                        .enumerate()
                    {
                        let head = if n == 0 { "      ✖ " } else { "        " };
                        out.push(Line::from(Span::styled(
                            format!("{head}{piece}"),
                            theme.dim(),
                        )));
                    }
                }
            }
            if i < f.selected {
                before = out.len();
            } else if i == f.selected {
                own = out.len() - start;
            }
        }
        (out, before, own)
    };
    // The most detail that shows every instruction; the selected one is always whole.
    let (lines, rows_before, own) = (0..=2)
        .map(build)
        .find(|(l, _, _)| l.len() <= visible)
        .unwrap_or_else(|| build(2));
    // Keep the selected instruction and its reasons in view.
    let scroll = (rows_before + own).saturating_sub(visible) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(format!(" Instructions{history} "))),
        list,
    );
}
