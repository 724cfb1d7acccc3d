//! A temperature trace with its window drawn as a band and excursions in the alarm
//! colour: the runner's live chart and the reviewer's per-step charts.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType};

use super::theme::Theme;

/// `points` are (seconds, °C); `excursions` (start, end) seconds, end may be infinite.
pub fn draw(
    points: &[(f64, f64)],
    band: Option<(f64, f64)>,
    excursions: &[(f64, f64)],
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    if area.height < 4 || points.is_empty() {
        return;
    }
    let t_max = points.last().map_or(1.0, |p| p.0).max(10.0);
    let (mut lo, mut hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    if let Some((a, b)) = band {
        if a.is_finite() {
            lo = lo.min(a);
        }
        if b.is_finite() {
            hi = hi.max(b);
        }
    }
    let pad = ((hi - lo) * 0.1).max(2.0);
    let (lo, hi) = ((lo - pad).floor(), (hi + pad).ceil());
    let band_lines: Vec<Vec<(f64, f64)>> = band
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .filter(|v| v.is_finite())
        .map(|v| vec![(0.0, v), (t_max, v)])
        .collect();
    let outside: Vec<(f64, f64)> = points
        .iter()
        .filter(|(t, _)| excursions.iter().any(|(s, e)| t >= s && t <= e))
        .copied()
        .collect();
    let mut datasets: Vec<Dataset> = band_lines
        .iter()
        .map(|line| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.warn())
                .data(line)
        })
        .collect();
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.accent())
            .data(points),
    );
    if !outside.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(theme.bad())
                .data(&outside),
        );
    }
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, t_max])
                .labels([Line::raw("0"), Line::raw(format!("{t_max:.0}s"))])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([Line::raw(format!("{lo:.0}")), Line::raw(format!("{hi:.0}"))])
                .style(theme.dim()),
        );
    frame.render_widget(chart, area);
}
