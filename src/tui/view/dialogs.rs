use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::centered;
use super::login::field_line;
use super::theme::Theme;
use crate::domain::command::Verdict;
use crate::instruction::schema::{CheckpointKind, Signer};
use crate::tui::state::{Modal, Screen, SignStage, State};

pub fn draw(state: &State, modal: &Modal, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (title, lines) = match modal {
        Modal::Held => (
            " Checkpoint failed ".to_string(),
            vec![
                Line::from(Span::styled(
                    "The job is held until you decide:",
                    theme.bad(),
                )),
                Line::raw(""),
                Line::from(vec![
                    Span::styled(" r ", theme.key()),
                    Span::raw(" redo this step"),
                ]),
                Line::from(vec![
                    Span::styled(" x ", theme.key()),
                    Span::raw(" abort the job"),
                ]),
            ],
        ),
        Modal::Lot {
            field,
            error,
            waiting,
        } => {
            let mut l = vec![
                Line::raw("Scan the label, or type the lot (and ' YYYY-MM-DD' for an expiry)."),
                Line::raw(""),
                field_line(field, true, theme, 30),
            ];
            if let Some(e) = error {
                l.push(Line::from(Span::styled(e.clone(), theme.bad())));
            }
            if waiting.is_some() {
                l.push(Line::from(Span::styled("checking…", theme.dim())));
            }
            (" Material lot ".to_string(), l)
        }
        Modal::Comment(d) => {
            let mut l = vec![
                Line::raw(d.title.clone()),
                Line::raw(""),
                field_line(&d.comment, !d.on_pin, theme, 40),
            ];
            if let Some(p) = &d.pin {
                l.push(field_line(p, d.on_pin, theme, 12));
            }
            if let Some(e) = &d.error {
                l.push(Line::from(Span::styled(e.clone(), theme.bad())));
            }
            if d.waiting.is_some() {
                l.push(Line::from(Span::styled("saving…", theme.dim())));
            }
            let title = match d.purpose {
                crate::tui::state::Purpose::Component { .. } => " Component ",
                _ => " Comment ",
            };
            (title.to_string(), l)
        }
        Modal::Sign(d) => {
            let Screen::Runner(r) = &state.screen else {
                return;
            };
            let Some(cp) = r
                .instruction
                .spec
                .steps
                .get(d.step as usize)
                .and_then(|s| s.checkpoints.get(d.checkpoint as usize))
            else {
                return;
            };
            let mut l = vec![
                Line::from(Span::styled(cp.text.clone(), theme.bold())),
                Line::from(Span::styled(
                    format!("Acceptance: {}", cp.acceptance),
                    theme.dim(),
                )),
                Line::raw(""),
            ];
            match cp.kind.get_ref() {
                CheckpointKind::PassFail => {
                    // Nothing is chosen until the person presses p or f.
                    let (p, f) = match d.verdict {
                        Some(Verdict::Pass) => (theme.selected(), theme.dim()),
                        Some(Verdict::Fail) => (theme.dim(), theme.alarm()),
                        None => (theme.bold(), theme.bold()),
                    };
                    let mut spans = vec![
                        Span::raw("Result: "),
                        Span::styled(" P pass ", p),
                        Span::raw("  "),
                        Span::styled(" F fail ", f),
                    ];
                    if d.verdict.is_none() {
                        spans.push(Span::styled("  press p or f", theme.warn()));
                    }
                    l.push(Line::from(spans));
                }
                CheckpointKind::Measurement => {
                    l.push(Line::raw(format!(
                        "Limits: {} to {} {}",
                        cp.min
                            .as_ref()
                            .map_or("–".into(), |m| m.get_ref().to_string()),
                        cp.max.map_or("–".into(), |m| m.to_string()),
                        cp.unit.clone().unwrap_or_default()
                    )));
                    if let Some(metric) = &cp.recorded {
                        l.push(Line::from(Span::styled(
                            match d.recorded {
                                Some(v) => format!(
                                    "Station recorded {}: {v:.1} {} (tolerance {})",
                                    metric.get_ref(),
                                    cp.unit.clone().unwrap_or_default(),
                                    cp.tolerance.unwrap_or(0.0)
                                ),
                                None => format!("Station recorded {}: reading…", metric.get_ref()),
                            },
                            theme.accent(),
                        )));
                    }
                    l.push(field_line(&d.value, d.stage == SignStage::Value, theme, 12));
                    if d.stage != SignStage::Value && d.verdict == Some(Verdict::Fail) {
                        l.push(Line::from(Span::styled(
                            "OUT OF LIMITS: this is a failure",
                            theme.alarm(),
                        )));
                    }
                }
                CheckpointKind::Confirm => {}
            }
            if d.stage == SignStage::Comment || !d.comment.value.is_empty() {
                l.push(field_line(
                    &d.comment,
                    d.stage == SignStage::Comment,
                    theme,
                    40,
                ));
            }
            if cp.signer == Signer::Inspector {
                l.push(field_line(&d.badge, d.stage == SignStage::Badge, theme, 12));
            }
            if d.stage == SignStage::Pin {
                l.push(field_line(&d.pin, true, theme, 12));
                let meaning = if cp.signer == Signer::Inspector {
                    "inspected"
                } else {
                    "performed"
                };
                l.push(Line::from(Span::styled(
                    format!("Signing means: {meaning}. Your name and the time are recorded."),
                    theme.dim(),
                )));
            }
            if let Some(e) = &d.error {
                l.push(Line::from(Span::styled(e.clone(), theme.bad())));
            }
            if d.waiting.is_some() {
                l.push(Line::from(Span::styled("signing…", theme.dim())));
            }
            (format!(" Sign checkpoint {} ", d.checkpoint + 1), l)
        }
    };
    let height = (lines.len() as u16 + 4).min(area.height);
    let popup = centered(area, 72, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        popup,
    );
}
