use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme::Theme;
use crate::domain::deviations::deviations_summary;
use crate::domain::job::{Job, JobStatus};
use crate::tui::state::{State, SummaryState};

/// The record of a job as text lines: steps, signatures with name, meaning and
/// time, lots, measurements, temperatures and excursions. Shared with review.
pub fn record_lines(
    job: &Job,
    title: Option<&str>,
    step_texts: &[String],
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} ", job.id), theme.bold()),
        Span::raw(format!(
            "board {} · {} rev {} · {} · {} · {} · by {}",
            job.board_serial,
            job.assembly_part,
            job.assembly_rev,
            job.refdes.join(","),
            job.class,
            job.alloy,
            job.performer
        )),
    ])];
    // The instruction's title whole: the record wraps it.
    lines.push(Line::raw(format!(
        "Instruction {} rev {}{} · defect {}{}",
        job.instruction_id,
        job.instruction_rev,
        title.map(|t| format!(" “{t}”")).unwrap_or_default(),
        job.defect_ref,
        job.approval_ref
            .as_ref()
            .map(|a| format!(" · approval {a}"))
            .unwrap_or_default()
    )));
    // Where the limits counted the board's earlier jobs: a bench-only count is
    // something a reviewer weighs.
    if let Some(counted) = &job.board_history {
        lines.push(Line::from(Span::styled(
            counted.line(),
            // A bench with no hub counts alone by design; one that could not
            // reach its hub may have missed jobs elsewhere.
            if counted.hub_missed() {
                theme.warn()
            } else {
                theme.dim()
            },
        )));
    }
    // What the reviewer must weigh comes first, in time order.
    let summary = deviations_summary(job);
    lines.push(Line::from(Span::styled(
        format!("Deviations: {}", summary.headline()),
        if summary.is_clean() {
            theme.ok()
        } else {
            theme.warn()
        },
    )));
    for f in &summary.flags {
        let by = if f.by.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.by)
        };
        lines.push(Line::from(Span::styled(
            format!("  ⚑ {} {}{by}", f.time.format("%m-%d %H:%M"), f.text),
            theme.warn(),
        )));
    }
    let hm = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    for (i, s) in job.steps.iter().enumerate() {
        let text = step_texts.get(i).map(String::as_str).unwrap_or("");
        // The step's name whole (the record wraps it), never cut mid-word or mid-figure.
        let short = super::fit::step_name(text);
        let done = s
            .completed
            // A no-break space: "[done" and its time stay on one line.
            .map(|t| format!("done\u{a0}{}", t.format("%H:%M")))
            .unwrap_or_else(|| "open".into());
        lines.push(Line::from(vec![
            Span::styled(format!("{:>2}. ", i + 1), theme.bold()),
            Span::raw(format!("{short} ")),
            Span::styled(format!("[{done}]"), theme.dim()),
        ]));
        let several = s.attempt_log.len() > 1;
        for a in &s.attempt_log {
            if several {
                let opened = match (&a.reason, &a.opened_by) {
                    (Some(r), Some(by)) => format!(": {r} — reopened by {by}"),
                    (Some(r), None) => format!(": {r}"),
                    _ => String::new(),
                };
                let ended = a
                    .completed
                    .map(|t| format!(", completed {}", hm(t)))
                    .unwrap_or_default();
                lines.push(Line::from(Span::styled(
                    format!("    attempt {}{opened}{ended}", a.number),
                    theme.bold(),
                )));
            }
            for t in &a.temperature {
                let window = match (t.window_min_c, t.window_max_c) {
                    (Some(a), Some(b)) => format!(" window {a:.0}–{b:.0}"),
                    _ => String::new(),
                };
                let never_reached = match (t.window_min_c, t.window_max_c) {
                    (Some(a), _) if t.max_c < a => true,
                    (_, Some(b)) if t.min_c > b => true,
                    _ => false,
                };
                if never_reached {
                    lines.push(Line::from(Span::styled(
                        format!("      ⚠ {} never reached its window", t.channel),
                        theme.warn(),
                    )));
                }
                lines.push(Line::raw(format!(
                    "      {} {} samples, min {:.1} max {:.1} mean {:.1} °C, {:.0} s above liquidus{window}{}",
                    t.channel,
                    t.count,
                    t.min_c,
                    t.max_c,
                    t.mean_c,
                    t.above_liquidus_s,
                    if t.excursions > 0 { format!(", {} excursion(s)", t.excursions) } else { String::new() }
                )));
            }
            for sig in &a.signatures {
                let value = sig
                    .measurement
                    .as_ref()
                    .map(|m| format!(" {} {}", m.value, m.unit))
                    .unwrap_or_default();
                let recorded = sig
                    .recorded
                    .as_ref()
                    .map(|r| format!(" (station recorded {})", r.value))
                    .unwrap_or_default();
                let comment = sig
                    .comment
                    .as_ref()
                    .map(|c| format!(" “{c}”"))
                    .unwrap_or_default();
                let line = format!(
                    "      ✍ cp {} {:?}{value}{recorded} — {} ({}), {}, {}{comment}",
                    sig.checkpoint + 1,
                    sig.result,
                    sig.signer_name,
                    sig.signer,
                    sig.meaning,
                    hm(sig.time)
                );
                lines.push(if sig.result.is_failure() || sig.differs_from_record() {
                    Line::from(Span::styled(line, theme.bad()))
                } else {
                    Line::raw(line)
                });
            }
            for d in &a.deviations {
                lines.push(Line::from(Span::styled(
                    format!(
                        "      ⚑ DEVIATION: {} — {} ({}, {})",
                        d.kind,
                        d.reason,
                        d.by_name,
                        hm(d.time)
                    ),
                    theme.bad(),
                )));
            }
        }
        for l in job.lots.iter().filter(|l| l.step as usize == i) {
            lines.push(Line::raw(format!(
                "      ▣ {} lot {}{} — {}, {}",
                l.material,
                l.lot,
                l.expiry.map(|e| format!(" exp {e}")).unwrap_or_default(),
                l.by,
                hm(l.time)
            )));
        }
        for c in job.components.iter().filter(|c| c.step as usize == i) {
            let what = match c.action {
                crate::domain::component::ComponentAction::Remove => "removed from",
                crate::domain::component::ComponentAction::Install => "fitted at",
            };
            let detail: Vec<String> = [
                c.part_number.as_ref().map(|p| format!("P/N {p}")),
                c.lot.as_ref().map(|l| format!("lot {l}")),
                c.date_code.as_ref().map(|d| format!("date code {d}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            lines.push(Line::raw(format!(
                "      ◆ part {what} {}{}{} — {}, {}",
                c.refdes.join(", "),
                if detail.is_empty() { "" } else { ": " },
                detail.join(", "),
                c.by,
                hm(c.time)
            )));
        }
        for l in job.lot_refusals.iter().filter(|l| l.step as usize == i) {
            lines.push(Line::from(Span::styled(
                format!(
                    "      ✖ {} lot {} REFUSED: {} — {}, {}",
                    l.material,
                    l.lot,
                    l.reason,
                    l.by,
                    hm(l.time)
                ),
                theme.bad(),
            )));
        }
        for e in job.excursions.iter().filter(|e| e.step as usize == i) {
            let ack = match (&e.acknowledgement, &e.acknowledged_by, e.acknowledged_at) {
                (Some(c), Some(by), Some(at)) => format!("{c} — acknowledged by {by}, {}", hm(at)),
                (Some(c), _, _) => c.clone(),
                _ => "NOT acknowledged".into(),
            };
            lines.push(Line::from(Span::styled(
                format!(
                    "      ⚠ excursion {}: {} peak {:.1} °C outside {:.0}–{:.0} — {ack}",
                    e.id, e.channel, e.peak_c, e.window_min_c, e.window_max_c,
                ),
                theme.warn(),
            )));
        }
    }
    for s in &job.suspensions {
        let resumed = match (s.resumed, &s.resumed_by) {
            (Some(t), Some(by)) => format!(
                "; resumed by {by}, {}{}",
                hm(t),
                s.resume_reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            _ => "; not resumed".into(),
        };
        lines.push(Line::raw(format!(
            "Suspended by {}, {}: {}{resumed}",
            s.by,
            hm(s.time),
            s.reason
        )));
    }
    for r in &job.reviews {
        lines.push(Line::from(Span::styled(
            format!(
                "Review: {:?} — {} ({}), {}: {}",
                r.decision,
                r.reviewer_name,
                r.reviewer,
                r.time.format("%Y-%m-%d %H:%M UTC"),
                r.comment
            ),
            if r.decision == crate::domain::types::Decision::Approved {
                theme.ok()
            } else {
                theme.bad()
            },
        )));
    }
    lines
}

/// What sits above the record and never scrolls away: where the job stands and,
/// once reviewed, the latest verdict with its reason.
fn top_lines(s: &SummaryState, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(r) = s.job.reviews.last() {
        let approved = r.decision == crate::domain::types::Decision::Approved;
        lines.push(Line::from(Span::styled(
            format!(
                "{} by {} ({}), {}:",
                if approved { "APPROVED" } else { "REJECTED" },
                r.reviewer_name,
                r.reviewer,
                r.time.format("%Y-%m-%d %H:%M UTC"),
            ),
            if approved { theme.ok() } else { theme.bad() },
        )));
        lines.push(Line::from(Span::styled(
            format!("  “{}”", r.comment),
            theme.bold(),
        )));
    }
    let prompt = match s.job.status {
        JobStatus::Rejected => {
            "Press the number of a step to redo it (1-9), then Enter to submit again."
        }
        JobStatus::Submitted => "Submitted: waiting for review.",
        JobStatus::Approved => "Approved.",
        _ => "All steps are done. Press Enter to submit the job for review.",
    };
    lines.push(Line::from(Span::styled(prompt, theme.accent())));
    lines
}

fn body_lines(s: &SummaryState, theme: &Theme) -> Vec<Line<'static>> {
    let texts: Vec<String> = s
        .instruction
        .spec
        .steps
        .iter()
        .map(|st| st.text.clone())
        .collect();
    let mut lines = record_lines(&s.job, Some(&s.instruction.spec.title), &texts, theme);
    lines.push(Line::raw(""));
    let peak = s
        .job
        .peak_c()
        .map(|p| format!("{p:.1} °C"))
        .unwrap_or_else(|| "–".into());
    lines.push(Line::from(Span::styled(
        format!(
            "{} steps · {} signatures · {} lots · peak {peak} · {} excursion(s)",
            s.job.steps.len(),
            s.job.history.len(),
            s.job.lots.len(),
            s.job.excursions.len()
        ),
        theme.bold(),
    )));
    lines
}

/// The fixed top and the scrolling record inside the summary's frame.
fn areas(s: &SummaryState, theme: &Theme, area: Rect) -> (Rect, Rect) {
    let inner = Block::bordered().inner(area);
    let top = Paragraph::new(top_lines(s, theme))
        .wrap(Wrap { trim: false })
        .line_count(inner.width);
    let top = u16::try_from(top).unwrap_or(u16::MAX).min(inner.height / 2);
    let [a, b] = Layout::vertical([Constraint::Length(top + 1), Constraint::Min(0)]).areas(inner);
    (a, b)
}

/// How far the record can scroll at the current size, and its page height.
pub fn scroll_room(state: &State, s: &SummaryState) -> (u16, u16) {
    let theme = Theme::new(state.no_color);
    let (_, rec) = areas(s, &theme, super::body_area_of(state));
    let n = Paragraph::new(body_lines(s, &theme))
        .wrap(Wrap { trim: false })
        .line_count(rec.width);
    (
        u16::try_from(n)
            .unwrap_or(u16::MAX)
            .saturating_sub(rec.height),
        rec.height,
    )
}

pub fn draw(_state: &State, s: &SummaryState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (top, rec) = areas(s, theme, area);
    let body = Paragraph::new(body_lines(s, theme)).wrap(Wrap { trim: false });
    let total = u16::try_from(body.line_count(rec.width)).unwrap_or(u16::MAX);
    let first = s.scroll.min(total.saturating_sub(rec.height));
    frame.render_widget(
        Block::bordered().title(super::scroll_title(
            " Job summary ",
            first,
            rec.height,
            total,
        )),
        area,
    );
    frame.render_widget(
        Paragraph::new(top_lines(s, theme)).wrap(Wrap { trim: false }),
        top,
    );
    frame.render_widget(body.scroll((first, 0)), rec);
}
