use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};

use super::login::field_line;
use super::summary::record_lines;
use super::theme::Theme;
use crate::tui::state::{ReviewState, State};
use crate::tui::update::{review_refusal, visible_reviews};

fn open_lines(r: &ReviewState, theme: &Theme) -> Vec<Line<'static>> {
    let Some((job, instruction)) = &r.open else {
        return Vec::new();
    };
    let texts: Vec<String> = instruction
        .as_ref()
        .map(|i| i.spec.steps.iter().map(|s| s.text.clone()).collect())
        .unwrap_or_default();
    let title = instruction.as_ref().map(|i| i.spec.title.as_str());
    let mut lines = Vec::new();
    // Where the person decides: why approve and reject are not offered here.
    if let Some(why) = &r.shop_refusal {
        lines.push(Line::from(Span::styled(
            format!("✖ Not reviewed at this bench — {why}"),
            theme.warn(),
        )));
        lines.push(Line::raw(""));
    }
    lines.extend(record_lines(job, title, &texts, theme));
    if !r.traces.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!(
                "Temperature charts of {} step(s): Tab or ←→ shows them one step a page.",
                r.traces.len()
            ),
            theme.accent(),
        )));
    }
    lines
}

/// How far the record can scroll at the current size, and its page height.
pub fn scroll_room(state: &State, r: &ReviewState) -> (u16, u16) {
    open_scroll_room(r, state.no_color, super::body_area_of(state))
}

/// How far the open record can scroll in `area`, and its page height (the bench's
/// review screen and the desk's share it).
pub fn open_scroll_room(r: &ReviewState, no_color: bool, area: Rect) -> (u16, u16) {
    let theme = Theme::new(no_color);
    let inner = Block::bordered().inner(area);
    let n = Paragraph::new(open_lines(r, &theme))
        .wrap(Wrap { trim: false })
        .line_count(inner.width);
    (
        u16::try_from(n)
            .unwrap_or(u16::MAX)
            .saturating_sub(inner.height),
        inner.height,
    )
}

pub fn draw(state: &State, r: &ReviewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    if r.open.is_some() {
        draw_open(r, theme, frame, area);
        return;
    }
    let visible_ids = visible_reviews(r);
    let why = r
        .queue
        .iter()
        .filter(|l| visible_ids.contains(&l.id))
        .nth(r.selected)
        .and_then(|l| {
            review_refusal(state, &l.performer, &l.inspectors).map(|w| (l.id.clone(), w))
        });
    let note = if why.is_some() { 2 } else { 0 };
    let [filter, list, note_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(note),
    ])
    .areas(area);
    if let Some((id, why)) = why {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                format!("✖ {id} is greyed: you may not review it — {why}. Enter opens it to read."),
                theme.warn(),
            )))
            .wrap(Wrap { trim: true }),
            note_area,
        );
    }
    frame.render_widget(
        Paragraph::new(field_line(&r.filter, r.filtering, theme, 30)),
        filter,
    );
    let visible = visible_reviews(r);
    let narrow = area.width < 100;
    let shown: Vec<(&crate::tui::state::ReviewLine, bool)> = r
        .queue
        .iter()
        .filter(|l| visible.contains(&l.id))
        .map(|l| {
            (
                l,
                review_refusal(state, &l.performer, &l.inspectors).is_some(),
            )
        })
        .collect();
    let headers = ["Job", "Board", "Instruction", "By", "Submitted", "Flags"];
    let cells: Vec<Vec<String>> = shown
        .iter()
        .map(|(l, refused)| {
            let flags = match (l.excursions, l.flags) {
                (0, 0) => String::new(),
                (a, 0) => format!("⚠ {a}"),
                (0, f) => format!("⚑ {f} flagged"),
                (a, f) => format!("⚠ {a} ⚑ {f} flagged"),
            };
            let last = if *refused {
                format!("✖ not yours {flags}").trim_end().to_string()
            } else {
                flags
            };
            vec![
                l.id.clone(),
                l.serial.clone(),
                l.instruction.clone(),
                l.performer.clone(),
                l.submitted
                    .format(if narrow {
                        "%m-%d %H:%M"
                    } else {
                        "%Y-%m-%d %H:%M"
                    })
                    .to_string(),
                last,
            ]
        })
        .collect();
    // Flags wrap in their column rather than lose a figure.
    let widths = super::fit::columns(
        &headers,
        &[23, 10, 11, 6],
        &cells,
        list.width.saturating_sub(2),
        1,
    );
    let rows: Vec<Row> = super::fit::wrapped_rows(&cells, &widths)
        .into_iter()
        .zip(&shown)
        .enumerate()
        .map(|(i, ((cells, height), (_, refused)))| {
            let row = Row::new(cells.into_iter().map(ratatui::text::Text::from)).height(height);
            match (i == r.selected, *refused) {
                (true, _) => row.style(theme.selected()),
                (false, true) => row.style(theme.dim()),
                (false, false) => row,
            }
        })
        .collect();
    frame.render_widget(
        Table::new(rows, widths.iter().map(|w| Constraint::Length(*w)))
            .header(Row::new(headers).style(theme.bold()))
            .block(Block::bordered().title(format!(" Review queue ({}) ", visible.len()))),
        list,
    );
}

/// The open job: its record (deviations summary first, then every step), or one
/// step's chart a page. The bench's review screen and the desk draw it alike.
pub fn draw_open(r: &ReviewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some((job, _)) = &r.open else {
        return;
    };
    if r.charts {
        draw_chart_page(r, theme, frame, area);
        return;
    }
    let para = Paragraph::new(open_lines(r, theme)).wrap(Wrap { trim: false });
    let inner = Block::bordered().inner(area);
    let total = u16::try_from(para.line_count(inner.width)).unwrap_or(u16::MAX);
    let top = r.scroll.min(total.saturating_sub(inner.height));
    let name = format!(" Review {} ", job.id);
    frame.render_widget(
        para.scroll((top, 0))
            .block(Block::bordered().title(super::scroll_title(&name, top, inner.height, total))),
        area,
    );
}

/// One step's chart on its own page.
fn draw_chart_page(r: &ReviewState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let trace = r.traces.iter().find(|t| t.step as usize == r.chart_step);
    let title = match trace {
        Some(t) => {
            let window = t
                .window
                .map(|(a, b)| format!(" · window {a:.0}–{b:.0} °C"))
                .unwrap_or_else(|| " · no window".into());
            let page = r
                .traces
                .iter()
                .position(|x| x.step == t.step)
                .map_or(0, |p| p + 1);
            format!(
                " Step {} · {}{window} · {} excursion(s) · chart {page} of {} ",
                t.step + 1,
                t.channel,
                t.excursions.len(),
                r.traces.len()
            )
        }
        None => " No temperature recorded ".into(),
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(t) = trace {
        super::chart::draw(&t.points, t.window, &t.excursions, theme, frame, inner);
    }
}
