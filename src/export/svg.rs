//! One step's temperature chart as inline SVG: the traces, the window as a band,
//! excursions as marked spans. Self-contained, no script, prints as drawn.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::domain::job::ExcursionRecord;
use crate::store::StoredSample;

use super::html::esc;

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 14.0;
/// Room above the plot for the legend, so it never covers a trace or a label.
const TOP: f64 = 26.0;
/// Room below the plot for the time ticks and the axis caption.
const BOTTOM: f64 = 38.0;
/// Trace colours that stay apart for most colour vision, each with its own dash
/// pattern and marker so the traces stay apart in black and white too.
const TRACES: [(&str, &str, Marker); 6] = [
    ("#1f4e9c", "", Marker::Circle),
    ("#c75100", "7 3", Marker::Square),
    ("#2e7d32", "2 2", Marker::Triangle),
    ("#6a1b9a", "9 3 2 3", Marker::Diamond),
    ("#00838f", "4 2 1 2 1 2", Marker::Cross),
    ("#5d4037", "12 4", Marker::Bar),
];

/// Markers along a trace (and in its legend entry): shape, and filled or hollow.
#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    Cross,
    Bar,
}

/// How many markers a trace carries across the plot.
const MARKERS: usize = 8;

/// One marker at (x, y) as SVG.
fn marker(m: Marker, x: f64, y: f64, colour: &str) -> String {
    let hollow = format!("fill=\"#fff\" stroke=\"{colour}\" stroke-width=\"1.2\"");
    let solid = format!("fill=\"{colour}\" stroke=\"{colour}\" stroke-width=\"1\"");
    match m {
        Marker::Circle => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" {hollow}/>"),
        Marker::Square => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"5.6\" height=\"5.6\" {solid}/>",
            x - 2.8,
            y - 2.8
        ),
        Marker::Triangle => format!(
            "<polygon points=\"{x:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" {hollow}/>",
            y - 3.6,
            x - 3.4,
            y + 2.6,
            x + 3.4,
            y + 2.6
        ),
        Marker::Diamond => format!(
            "<polygon points=\"{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}\" {solid}/>",
            y - 3.8,
            x + 3.8,
            y + 3.8,
            x - 3.8
        ),
        Marker::Cross => format!(
            "<path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" fill=\"none\" \
             stroke=\"{colour}\" stroke-width=\"1.6\"/>",
            x - 3.2,
            y - 3.2,
            x + 3.2,
            y + 3.2,
            x - 3.2,
            y + 3.2,
            x + 3.2,
            y - 3.2
        ),
        Marker::Bar => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"2.4\" height=\"8\" {solid}/>",
            x - 1.2,
            y - 4.0
        ),
    }
}

/// A window to draw as a band: channel, min, max (either may be unbounded).
pub struct Band<'a> {
    pub channel: &'a str,
    pub min_c: Option<f64>,
    pub max_c: Option<f64>,
}

/// A round step for about `target` ticks over `span`: 1, 2 or 5 times a power of ten.
pub fn nice_step(span: f64, target: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A round step in seconds for the time axis: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10,
/// 15, 30 min, 1 h ...
fn time_step(span_s: f64) -> f64 {
    const STEPS: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| span_s / s <= 8.0)
        .unwrap_or_else(|| (span_s / 8.0 / 3600.0).ceil() * 3600.0)
}

/// `95` -> `1:35`; `3725` -> `1:02:05`.
fn clock(secs: f64) -> String {
    let s = secs.round() as i64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `samples` in time order (any channels mixed). Returns `None` without samples.
pub fn chart(
    title: &str,
    samples: &[StoredSample],
    bands: &[Band<'_>],
    excursions: &[&ExcursionRecord],
) -> Option<String> {
    let t0 = samples.iter().map(|s| s.time).min()?;
    let t1 = samples.iter().map(|s| s.time).max()?;
    let span_s = ((t1 - t0).num_milliseconds() as f64 / 1000.0).max(1.0);
    let finite = |v: &Option<f64>| v.filter(|x| x.is_finite());
    let mut lo = samples
        .iter()
        .map(|s| s.celsius)
        .filter(|c| c.is_finite())
        .fold(f64::INFINITY, f64::min);
    let mut hi = samples
        .iter()
        .map(|s| s.celsius)
        .filter(|c| c.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    for b in bands {
        for v in [finite(&b.min_c), finite(&b.max_c)].into_iter().flatten() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    for e in excursions {
        if e.peak_c.is_finite() {
            hi = hi.max(e.peak_c);
            lo = lo.min(e.peak_c);
        }
    }
    // Round ticks, and the axis from one tick to another.
    let step = nice_step((hi - lo).max(5.0), 5.0);
    let lo = (lo / step).floor() * step;
    let mut hi = (hi / step).ceil() * step;
    if hi <= lo {
        hi = lo + step;
    }
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x = |t: DateTime<Utc>| LEFT + ((t - t0).num_milliseconds() as f64 / 1000.0) / span_s * pw;
    let y = |c: f64| TOP + (hi - c.clamp(lo, hi)) / (hi - lo) * ph;

    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {W} {H}\" \
         width=\"{W}\" height=\"{H}\" role=\"img\" font-family=\"DejaVu Sans, sans-serif\">\
         <title>{}</title>\
         <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" \
         stroke=\"#b71c1c\" stroke-width=\"1.5\"/></pattern></defs>",
        esc(title)
    );
    let _ = write!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fff\" stroke=\"#666\"/>"
    );
    // Temperature grid and ticks.
    let mut c = lo;
    while c <= hi + step / 2.0 {
        let yy = y(c);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\" \
             stroke-width=\"0.6\"/><line x1=\"{:.1}\" y1=\"{yy:.1}\" x2=\"{LEFT}\" y2=\"{yy:.1}\" \
             stroke=\"#666\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" \
             text-anchor=\"end\">{}</text>",
            LEFT + pw,
            LEFT - 4.0,
            LEFT - 6.0,
            yy + 3.5,
            tick_label(c, step)
        );
        c += step;
    }
    for b in bands {
        let top = finite(&b.max_c).map_or(TOP, y);
        let bottom = finite(&b.min_c).map_or(TOP + ph, y);
        let label = super::html::window_text(b.min_c, b.max_c);
        let _ = write!(
            s,
            "<rect class=\"window\" x=\"{LEFT}\" y=\"{top:.1}\" width=\"{pw}\" height=\"{:.1}\" \
             fill=\"#c8e6c9\" fill-opacity=\"0.55\"><title>window {} {label} °C</title></rect>",
            (bottom - top).max(0.0),
            esc(b.channel),
        );
        // The edges as dashed lines: the band stays visible in black and white.
        for edge in [finite(&b.min_c), finite(&b.max_c)].into_iter().flatten() {
            let yy = y(edge);
            let _ = write!(
                s,
                "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#1b5e20\" \
                 stroke-width=\"0.8\" stroke-dasharray=\"4 3\"/>",
                LEFT + pw
            );
        }
    }
    for e in excursions {
        let x0 = x(e.started.max(t0));
        let x1 = e.ended.map_or(LEFT + pw, |t| x(t.min(t1)));
        let _ = write!(
            s,
            "<rect class=\"excursion\" x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph}\" \
             fill=\"url(#hatch)\" fill-opacity=\"0.45\" stroke=\"#b71c1c\" stroke-dasharray=\"3 2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#b71c1c\">alarm {} peak {:.1} °C</text>",
            (x1 - x0).max(1.5),
            (x0 + 3.0).min(LEFT + pw - 110.0),
            TOP + 11.0,
            e.id,
            e.peak_c
        );
    }
    // Time ticks: round seconds from the first sample.
    let ts = time_step(span_s);
    let mut k = 0.0;
    while k <= span_s + 1e-9 {
        let xx = LEFT + k / span_s * pw;
        let _ = write!(
            s,
            "<line x1=\"{xx:.1}\" y1=\"{:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#666\"/>\
             <text x=\"{xx:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            TOP + ph,
            TOP + ph + 4.0,
            TOP + ph + 15.0,
            clock(k)
        );
        k += ts;
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">time since {} UTC \
         (min:s), {} in all</text>\
         <text x=\"12\" y=\"{:.1}\" font-size=\"10\" transform=\"rotate(-90 12 {:.1})\" \
         text-anchor=\"middle\">°C</text>",
        LEFT + pw / 2.0,
        H - 6.0,
        t0.format("%Y-%m-%d %H:%M:%S"),
        clock(span_s),
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );

    let mut channels: Vec<&str> = Vec::new();
    for smp in samples {
        if !channels.contains(&smp.channel.as_str()) {
            channels.push(&smp.channel);
        }
    }
    // Legend above the plot: a line sample of each trace, then the window and alarms.
    let mut lx = LEFT;
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for (i, ch) in channels.iter().enumerate() {
        let pts: Vec<(f64, f64)> = samples
            .iter()
            .filter(|smp| smp.channel == *ch && smp.celsius.is_finite())
            .map(|smp| (x(smp.time), y(smp.celsius)))
            .collect();
        let (colour, dash, mark) = TRACES[i % TRACES.len()];
        let _ = write!(
            s,
            "<g class=\"series\" data-channel=\"{}\"><polyline class=\"trace\" fill=\"none\" \
             stroke=\"{colour}\" stroke-width=\"1.6\" stroke-dasharray=\"{dash}\" points=\"",
            esc(ch)
        );
        for (px, py) in decimate(&pts, pw as usize) {
            let _ = write!(s, "{px:.1},{py:.1} ");
        }
        s.push_str("\"/>");
        // Markers spread along the trace (one where another series' marker
        // already sits is left out); then the channel's name at its trace's end.
        if pts.len() > 1 {
            for k in 0..MARKERS {
                let at = (k as f64 + 0.5) / MARKERS as f64;
                let idx = ((pts.len() - 1) as f64 * at).round() as usize;
                let (mx, my) = pts[idx.min(pts.len() - 1)];
                if placed
                    .iter()
                    .any(|(px, py): &(f64, f64)| (px - mx).hypot(py - my) < 7.0)
                {
                    continue;
                }
                placed.push((mx, my));
                s.push_str(&marker(mark, mx, my, colour));
            }
        }
        if let Some(&(ex, ey)) = pts.last() {
            let _ = write!(
                s,
                "<text class=\"direct-label\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" \
                 text-anchor=\"end\" fill=\"{colour}\">{}</text>",
                ex - 3.0,
                (ey - 5.0).max(TOP + 9.0),
                esc(ch)
            );
        }
        let _ = write!(
            s,
            "</g><g class=\"legend-entry\" data-channel=\"{}\"><line x1=\"{lx:.1}\" y1=\"12\" \
             x2=\"{:.1}\" y2=\"12\" stroke=\"{colour}\" stroke-width=\"2\" \
             stroke-dasharray=\"{dash}\"/>{}<text x=\"{:.1}\" y=\"15.5\" \
             font-size=\"10\">{}</text></g>",
            esc(ch),
            lx + 22.0,
            marker(mark, lx + 11.0, 12.0, colour),
            lx + 26.0,
            esc(ch)
        );
        lx += 34.0 + 6.5 * ch.chars().count() as f64;
    }
    if !bands.is_empty() {
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"7\" width=\"18\" height=\"10\" fill=\"#c8e6c9\" \
             stroke=\"#1b5e20\" stroke-width=\"0.8\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"15.5\" font-size=\"10\">window</text>",
            lx + 22.0
        );
        lx += 74.0;
    }
    if !excursions.is_empty() {
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"7\" width=\"18\" height=\"10\" fill=\"url(#hatch)\" \
             stroke=\"#b71c1c\" stroke-dasharray=\"3 2\"/>\
             <text x=\"{:.1}\" y=\"15.5\" font-size=\"10\">alarm</text>",
            lx + 22.0
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// A tick value without spurious decimals: `150`, `2.5`.
fn tick_label(c: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{c:.0}")
    } else {
        let decimals = (-step.log10()).ceil() as usize;
        format!("{c:.decimals$}")
    }
}

/// Pixel column, lowest and highest point in it.
type Bucket = (i64, (f64, f64), (f64, f64));

/// At most two points (lowest and highest) per pixel column, in time order, so a
/// long trace keeps its peaks but not its size.
fn decimate(pts: &[(f64, f64)], columns: usize) -> Vec<(f64, f64)> {
    if pts.len() <= columns * 2 {
        return pts.to_vec();
    }
    let mut out = Vec::with_capacity(columns * 2);
    let mut bucket: Option<Bucket> = None;
    let flush = |b: Option<Bucket>, out: &mut Vec<(f64, f64)>| {
        if let Some((_, a, c)) = b {
            let (first, second) = if a.0 <= c.0 { (a, c) } else { (c, a) };
            out.push(first);
            if second != first {
                out.push(second);
            }
        }
    };
    for &p in pts {
        let col = p.0.floor() as i64;
        match &mut bucket {
            Some((c, lo, hi)) if *c == col => {
                // Screen y grows downwards: the lowest temperature has the largest y.
                if p.1 > lo.1 {
                    *lo = p;
                }
                if p.1 < hi.1 {
                    *hi = p;
                }
            }
            _ => {
                flush(bucket.take(), &mut out);
                bucket = Some((col, p, p));
            }
        }
    }
    flush(bucket, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_round_numbers() {
        for (span, step) in [
            (161.0, 50.0),
            (240.0, 50.0),
            (20.0, 5.0),
            (9.0, 2.0),
            (1.0, 0.2),
            (1000.0, 200.0),
        ] {
            assert_eq!(nice_step(span, 5.0), step, "{span}");
        }
        assert_eq!(time_step(89.0), 15.0);
        assert_eq!(time_step(40.0), 5.0);
        assert_eq!(time_step(600.0), 120.0);
        assert_eq!(clock(95.0), "1:35");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(tick_label(150.0, 50.0), "150");
        assert_eq!(tick_label(0.4, 0.2), "0.4");
    }

    #[test]
    fn the_axis_runs_from_one_round_tick_to_another() {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-09T07:31:12Z")
            .unwrap()
            .with_timezone(&Utc);
        let samples: Vec<StoredSample> = (0..90)
            .map(|k| StoredSample {
                channel: "board".into(),
                time: t0 + chrono::Duration::seconds(k),
                celsius: 1.0 + k as f64 * 1.8,
            })
            .collect();
        let svg = chart("t", &samples, &[], &[]).unwrap();
        let ticks: Vec<f64> = svg
            .split("text-anchor=\"end\">")
            .skip(1)
            .map(|t| t.split('<').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(ticks, [0.0, 50.0, 100.0, 150.0, 200.0], "{svg}");
        // The legend sits above the plot, the time labels below it.
        assert!(
            svg.contains("y=\"15.5\" font-size=\"10\">board</text>"),
            "{svg}"
        );
        assert!(svg.contains(">time since 2026-03-09 07:31:12 UTC"));
    }
}
