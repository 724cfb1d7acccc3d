//! One step's temperature chart as inline SVG: the traces, the window as a band,
//! excursions as marked spans. Self-contained, no script, prints as drawn.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::domain::job::ExcursionRecord;
use crate::store::StoredSample;

use super::html::esc;

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;
const COLOURS: [&str; 4] = ["#1f4e9c", "#2e7d32", "#8e24aa", "#ef6c00"];

/// A window to draw as a band: channel, min, max (either may be unbounded).
pub struct Band<'a> {
    pub channel: &'a str,
    pub min_c: Option<f64>,
    pub max_c: Option<f64>,
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
        .fold(f64::INFINITY, f64::min);
    let mut hi = samples
        .iter()
        .map(|s| s.celsius)
        .fold(f64::NEG_INFINITY, f64::max);
    for b in bands {
        for v in [finite(&b.min_c), finite(&b.max_c)].into_iter().flatten() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    for e in excursions {
        hi = hi.max(e.peak_c);
        lo = lo.min(e.peak_c);
    }
    let pad = ((hi - lo) * 0.08).max(2.0);
    let (lo, hi) = (lo - pad, hi + pad);
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x = |t: DateTime<Utc>| LEFT + ((t - t0).num_milliseconds() as f64 / 1000.0) / span_s * pw;
    let y = |c: f64| TOP + (hi - c.clamp(lo, hi)) / (hi - lo) * ph;

    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {W} {H}\" \
         width=\"{W}\" height=\"{H}\" role=\"img\"><title>{}</title>",
        esc(title)
    );
    let _ = write!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fff\" stroke=\"#888\"/>"
    );
    for b in bands {
        let top = finite(&b.max_c).map_or(TOP, y);
        let bottom = finite(&b.min_c).map_or(TOP + ph, y);
        let _ = write!(
            s,
            "<rect class=\"window\" x=\"{LEFT}\" y=\"{top:.1}\" width=\"{pw}\" height=\"{:.1}\" \
             fill=\"#c8e6c9\" fill-opacity=\"0.6\"><title>window {} {}–{} °C</title></rect>",
            (bottom - top).max(0.0),
            esc(b.channel),
            b.min_c.map_or("…".into(), |v| format!("{v}")),
            b.max_c.map_or("…".into(), |v| format!("{v}")),
        );
    }
    for e in excursions {
        let x0 = x(e.started.max(t0));
        let x1 = e.ended.map_or(LEFT + pw, |t| x(t.min(t1)));
        let _ = write!(
            s,
            "<rect class=\"excursion\" x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph}\" \
             fill=\"#e53935\" fill-opacity=\"0.18\" stroke=\"#e53935\" stroke-dasharray=\"3 2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#b71c1c\">alarm {} peak {:.1} °C</text>",
            (x1 - x0).max(1.5),
            x0 + 2.0,
            TOP + 11.0,
            e.id,
            e.peak_c
        );
    }
    // Axes: five temperature ticks, start and end time.
    for i in 0..=4 {
        let c = lo + (hi - lo) * i as f64 / 4.0;
        let yy = y(c);
        let _ = write!(
            s,
            "<line x1=\"{:.1}\" y1=\"{yy:.1}\" x2=\"{LEFT}\" y2=\"{yy:.1}\" stroke=\"#888\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{c:.0}</text>",
            LEFT - 4.0,
            LEFT - 6.0,
            yy + 3.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"10\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">+{span_s:.0} s</text>\
         <text x=\"12\" y=\"{:.1}\" font-size=\"10\" transform=\"rotate(-90 12 {:.1})\" \
         text-anchor=\"middle\">°C</text>",
        H - 10.0,
        t0.format("%H:%M:%S UTC"),
        LEFT + pw,
        H - 10.0,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );

    let mut channels: Vec<&str> = Vec::new();
    for smp in samples {
        if !channels.contains(&smp.channel.as_str()) {
            channels.push(&smp.channel);
        }
    }
    for (i, ch) in channels.iter().enumerate() {
        let pts: Vec<(f64, f64)> = samples
            .iter()
            .filter(|smp| smp.channel == *ch)
            .map(|smp| (x(smp.time), y(smp.celsius)))
            .collect();
        let colour = COLOURS[i % COLOURS.len()];
        let _ = write!(
            s,
            "<polyline class=\"trace\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.4\" points=\""
        );
        for (px, py) in decimate(&pts, pw as usize) {
            let _ = write!(s, "{px:.1},{py:.1} ");
        }
        let _ = write!(
            s,
            "\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{colour}\">{}</text>",
            LEFT + 6.0 + 90.0 * i as f64,
            H - BOTTOM + 14.0,
            esc(ch)
        );
    }
    s.push_str("</svg>");
    Some(s)
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
