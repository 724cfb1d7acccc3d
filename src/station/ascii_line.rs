//! `ascii-line`: one reading per line (Arduino, MAX31855/MAX6675 loggers and
//! the like), streamed or answered to a request string.

use regex::Regex;

use super::config::{AsciiLineConfig, ChannelConfig, PlausibleRange, Unit};
use super::{FrameStats, PLAUSIBLE_ABS_C, Reading};

/// Longer lines are not from a temperature logger; cutting them bounds memory.
pub const MAX_LINE: usize = 512;

#[derive(Clone, Debug)]
enum Extract {
    Regex {
        re: Regex,
        /// (capture group name, channel index)
        groups: Vec<(String, usize)>,
    },
    Fields {
        /// `None` splits on whitespace.
        separator: Option<String>,
        /// (field index, channel index)
        fields: Vec<(usize, usize)>,
    },
}

/// Streaming line parser: feed it whatever the port returned, in any pieces.
#[derive(Clone, Debug)]
pub struct LineParser {
    extract: Extract,
    units: Vec<Unit>,
    ranges: Vec<PlausibleRange>,
    buf: Vec<u8>,
    /// Inside an overlong line: skip to the next newline.
    skipping: bool,
    stats: FrameStats,
}

impl LineParser {
    pub fn new(cfg: &AsciiLineConfig, channels: &[ChannelConfig]) -> Result<Self, String> {
        let index = |name: &str| {
            channels
                .iter()
                .position(|c| c.name == name)
                .ok_or_else(|| format!("{name:?} is not a channel"))
        };
        let extract = match (&cfg.regex, &cfg.fields) {
            (Some(re), None) => {
                let re = Regex::new(re).map_err(|e| format!("bad regex: {e}"))?;
                let groups = re
                    .capture_names()
                    .flatten()
                    .map(|g| Ok((g.to_string(), index(g)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                Extract::Regex { re, groups }
            }
            (None, Some(fields)) => {
                let mut fields = fields
                    .iter()
                    .map(|(name, i)| Ok((*i, index(name)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                // Readings come out in channel order, whatever the map order.
                fields.sort_by_key(|(_, ch)| *ch);
                Extract::Fields {
                    separator: (cfg.separator != " ").then(|| cfg.separator.clone()),
                    fields,
                }
            }
            _ => return Err("give either regex or fields".into()),
        };
        Ok(Self {
            extract,
            units: channels.iter().map(|c| c.unit).collect(),
            ranges: channels.iter().map(ChannelConfig::plausible).collect(),
            buf: Vec::with_capacity(MAX_LINE),
            skipping: false,
            stats: FrameStats::default(),
        })
    }

    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Drops a half-received line (the connection went away under it).
    pub fn reset(&mut self) {
        if !self.buf.is_empty() {
            self.stats.partial += 1;
        }
        self.buf.clear();
        self.skipping = false;
    }

    /// True when part of a line is waiting for its end.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Reading>) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                if self.skipping {
                    self.skipping = false;
                } else if !self.buf.is_empty() {
                    let line = std::mem::take(&mut self.buf);
                    self.line(&line, out);
                    self.buf = line;
                    self.buf.clear();
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            if self.buf.len() >= MAX_LINE {
                self.stats.partial += 1;
                self.buf.clear();
                self.skipping = true;
                continue;
            }
            self.buf.push(b);
        }
    }

    fn line(&mut self, raw: &[u8], out: &mut Vec<Reading>) {
        let before = out.len();
        if let Ok(line) = std::str::from_utf8(raw) {
            let line = line.trim();
            match &self.extract {
                Extract::Regex { re, groups } => {
                    if let Some(caps) = re.captures(line) {
                        for (g, ch) in groups {
                            if let Some(v) = caps.name(g).and_then(|m| number(m.as_str())) {
                                out.push(Reading {
                                    channel: *ch,
                                    value: v,
                                    unit: self.units[*ch],
                                });
                            }
                        }
                    }
                }
                Extract::Fields { separator, fields } => {
                    let parts: Vec<&str> = match separator {
                        Some(sep) => line.split(sep.as_str()).collect(),
                        None => line.split_whitespace().collect(),
                    };
                    for (i, ch) in fields {
                        if let Some(v) = parts.get(*i).and_then(|p| number(p)) {
                            out.push(Reading {
                                channel: *ch,
                                value: v,
                                unit: self.units[*ch],
                            });
                        }
                    }
                }
            }
        }
        let found = out.len() - before;
        // A value the channel's probe cannot read (-273.2 °C, 1500 °C on a type
        // K) is a fault on the line, not a temperature: dropped and counted.
        let (kept, refused): (Vec<Reading>, Vec<Reading>) = out
            .split_off(before)
            .into_iter()
            .partition(|r| self.ranges[r.channel].contains(r.celsius()));
        let implausible = refused.len();
        out.extend(kept);
        self.stats.implausible += implausible as u64;
        if found == 0 {
            self.stats.garbage += 1;
        } else if out.len() > before {
            self.stats.good += 1;
        }
    }
}

/// A plain decimal number (`-12`, `301.25`, `+5.`); refuses `inf`, `nan`,
/// exponents and hex so that noise cannot pass as a reading.
pub fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || !digits.bytes().any(|b| b.is_ascii_digit())
        || digits.bytes().filter(|b| *b == b'.').count() > 1
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v.abs() <= PLAUSIBLE_ABS_C).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::station::config::LineMode;
    use std::collections::BTreeMap;

    fn chans(names: &[&str]) -> Vec<ChannelConfig> {
        names.iter().map(|n| ChannelConfig::named(n)).collect()
    }

    fn fields(map: &[(&str, usize)], sep: &str) -> AsciiLineConfig {
        AsciiLineConfig {
            mode: LineMode::Stream,
            request: None,
            regex: None,
            fields: Some(
                map.iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect::<BTreeMap<_, _>>(),
            ),
            separator: sep.into(),
        }
    }

    fn regex(re: &str) -> AsciiLineConfig {
        AsciiLineConfig {
            regex: Some(re.into()),
            ..AsciiLineConfig::default()
        }
    }

    fn values(p: &mut LineParser, input: &[&[u8]]) -> Vec<(usize, f64)> {
        let mut out = vec![];
        for chunk in input {
            p.push(chunk, &mut out);
        }
        out.into_iter().map(|r| (r.channel, r.value)).collect()
    }

    #[test]
    #[allow(clippy::type_complexity)] // a table of cases reads best inline
    fn formats_table() {
        let cases: Vec<(
            &str,
            AsciiLineConfig,
            Vec<&str>,
            Vec<&[u8]>,
            Vec<(usize, f64)>,
            u64,
        )> = vec![
            (
                "amb,T1..T4 by field",
                fields(&[("tip", 1), ("board", 4)], ","),
                vec!["tip", "board"],
                vec![b"24.5,301.2,0,0,60.5\r\n"],
                vec![(0, 301.2), (1, 60.5)],
                0,
            ),
            (
                "bare value",
                fields(&[("tip", 0)], ","),
                vec!["tip"],
                vec![b"25.50\n26.00\n"],
                vec![(0, 25.5), (0, 26.0)],
                0,
            ),
            (
                "T1= by regex, split across reads",
                regex(r"T1=(?P<tip>[-+]?[0-9.]+)"),
                vec!["tip"],
                vec![b"T1=12", b"3.6\nT1=", b"124.0\n"],
                vec![(0, 123.6), (0, 124.0)],
                0,
            ),
            (
                "whitespace separator",
                fields(&[("tip", 1)], " "),
                vec!["tip"],
                vec![b"t   88.5   x\n"],
                vec![(0, 88.5)],
                0,
            ),
            (
                "garbage lines counted, good ones kept",
                fields(&[("tip", 0)], ","),
                vec!["tip"],
                vec![b"hello\nNaN\ninf\n1e5\n0x10\n250\n\xff\xfe\n"],
                vec![(0, 250.0)],
                6,
            ),
            (
                "open probe field skipped, others read",
                fields(&[("tip", 0), ("board", 1)], ","),
                vec!["tip", "board"],
                vec![b"OPEN,61.5\n"],
                vec![(1, 61.5)],
                0,
            ),
            (
                "implausible value refused",
                fields(&[("tip", 0)], ","),
                vec!["tip"],
                vec![b"99999\n"],
                vec![],
                1,
            ),
        ];
        for (name, cfg, ch, input, expect, garbage) in cases {
            let mut p = LineParser::new(&cfg, &chans(&ch)).expect(name);
            assert_eq!(values(&mut p, &input), expect, "{name}");
            assert_eq!(p.stats().garbage, garbage, "{name}");
        }
    }

    #[test]
    fn overlong_line_is_partial_and_resyncs() {
        let mut p = LineParser::new(&fields(&[("tip", 0)], ","), &chans(&["tip"])).expect("p");
        let long = vec![b'7'; MAX_LINE + 10];
        let got = values(&mut p, &[&long, b"\n42\n"]);
        assert_eq!(got, vec![(0, 42.0)]);
        assert_eq!(p.stats().partial, 1);
        p.push(b"12", &mut vec![]);
        assert!(p.has_partial());
        p.reset();
        assert_eq!(p.stats().partial, 2);
    }

    #[test]
    fn numbers() {
        for (s, v) in [
            ("1", Some(1.0)),
            ("-3.5", Some(-3.5)),
            ("+2.", Some(2.0)),
            (".5", Some(0.5)),
        ] {
            assert_eq!(number(s), v, "{s}");
        }
        for s in [
            "", "-", ".", "1.2.3", "nan", "inf", "1e3", "0x1", "1,5", "- 1",
        ] {
            assert_eq!(number(s), None, "{s}");
        }
    }
}
