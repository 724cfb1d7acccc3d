use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::centered;
use super::theme::Theme;
use crate::tui::input::TextField;
use crate::tui::state::{LoginForm, State};

pub fn field_line<'a>(f: &'a TextField, focused: bool, theme: &Theme, width: usize) -> Line<'a> {
    let label = format!("{:>16}: ", f.label);
    let mut value = f.display();
    if focused {
        value.push('▏');
    }
    if f.suggested {
        value.push_str(" (history)");
    }
    let style = if focused {
        theme.selected()
    } else {
        theme.bold()
    };
    Line::from(vec![
        Span::styled(label, theme.dim()),
        Span::styled(format!("{value:<width$}"), style),
    ])
}

pub fn draw(state: &State, f: &LoginForm, theme: &Theme, frame: &mut Frame, area: Rect) {
    let demo_rows = state.demo.as_ref().map_or(0, |d| d.len() as u16 + 3);
    let box_area = centered(area, 70, 8 + demo_rows);
    let [form, demo] =
        Layout::vertical([Constraint::Length(8), Constraint::Min(0)]).areas(box_area);
    let mut lines = vec![
        Line::from(Span::styled(
            format!("Rework bench {} — scan your badge", state.bench),
            theme.bold(),
        )),
        Line::raw(""),
        field_line(&f.badge, f.focus == 0, theme, 24),
        field_line(&f.pin, f.focus == 1, theme, 24),
        Line::raw(""),
    ];
    if let Some(e) = &f.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.bad())));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Log in ")),
        form,
    );
    if let Some(badges) = &state.demo {
        let mut lines = vec![Line::from(Span::styled(
            "Demo roster (demo mode only — a real store seeds nobody):",
            theme.warn(),
        ))];
        for b in badges {
            lines.push(Line::raw(format!(
                "  {:<6} PIN {:<6} {}",
                b.badge, b.pin, b.who
            )));
        }
        frame.render_widget(Paragraph::new(lines).block(Block::bordered()), demo);
    }
}
