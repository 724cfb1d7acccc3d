//! `center-309`: the 4-channel handheld thermocouple meter (also sold as
//! HH309, Voltcraft K204, ...). Poll with `A` (0x41); the meter answers 45 bytes:
//!
//! | byte  | meaning                                                        |
//! |-------|----------------------------------------------------------------|
//! | 0     | 0x02 frame start                                               |
//! | 1     | status: bit 0 REC, bits 1-2 mode (0 live, 1 MAX, 2 MIN, 3 MAX-MIN), |
//! |       | bit 3 T1-T2, bit 4 REL, bit 5 HOLD, bit 6 low battery, bit 7 °C (clear = °F) |
//! | 2     | status: bit 0 memory full, bit 7 auto power-off; bits 1-6 always 0 |
//! | 3..=6 | status (not used)                                              |
//! | 7..=14| T1..T4, big-endian signed, tenths of a degree; 0x7FFF / 0x8000 = OL / -OL |
//! | 15..=38| REL, MIN, MAX values (not used)                               |
//! | 39    | bit n = probe n+1 over-limit / open ("OL" on the display)      |
//! | 40..=42| REL/MAX/MIN over-limit bits (not used)                        |
//! | 43    | bit n = probe n+1 shown in whole degrees instead of tenths     |
//! | 44    | 0x03 frame end                                                 |
//!
//! (Layout as documented by libsigrok's center-3xx driver and ginstlog's
//! 45-byte Series 300 reader.) The frame has no checksum, so everything that is
//! fixed is checked: the markers, the always-clear bits 1-6 of byte 2, and the
//! high nibble of the per-probe bytes 39-43 (there are only four probes). A
//! frame that fails is counted as bad (`bad_checksum`); a well-formed frame with
//! a value outside its channel's plausible range is counted as `implausible`
//! and gives no reading at all: in a binary frame one impossible value means
//! the others cannot be trusted either.
//!
//! Absent probe rule: a probe is reported absent (no sample, never a zero)
//! when its bit in byte 39 is set, or when its bit in byte 43 is set.
//! Meters in the field set the byte-43 bit for unplugged sockets, and they
//! only drop to whole degrees above 999.9°, far beyond any rework window, so
//! treating that bit as "absent" can lose nothing real and can never turn an
//! open socket into a false reading.

use super::config::{PlausibleRange, Unit};
use super::{FrameStats, Reading};

pub const POLL: u8 = b'A';
pub const FRAME_LEN: usize = 45;
const STX: u8 = 0x02;
const ETX: u8 = 0x03;
const OPEN_BYTE: usize = 39;
const WHOLE_DEGREES_BYTE: usize = 43;
/// Bits of byte 2 that a meter never sets.
const STATUS2_UNUSED: u8 = 0b0111_1110;
/// Bits of bytes 39-43 beyond the four probes.
const PROBE_BITS_UNUSED: u8 = 0xF0;
/// The raw values a meter sends for an open or overloaded probe.
const OVER_LIMIT: i16 = i16::MAX;
const UNDER_LIMIT: i16 = i16::MIN;

#[derive(Clone, Debug)]
pub struct Center309Parser {
    /// (probe 0..4, channel index)
    probes: Vec<(usize, usize)>,
    /// By channel index; a channel without one takes any value.
    ranges: Vec<PlausibleRange>,
    buf: Vec<u8>,
    stats: FrameStats,
    /// Some garbage was skipped since the last count (count runs, not bytes).
    in_garbage: bool,
}

/// What one frame says, for tests and the simulator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub unit: Unit,
    pub probes: [Option<f64>; 4],
}

impl Center309Parser {
    /// `probes`: (probe number 1..=4, channel index).
    pub fn new(probes: &[(u8, usize)]) -> Self {
        Self {
            probes: probes
                .iter()
                .filter(|(p, _)| (1..=4).contains(p))
                .map(|(p, c)| (usize::from(*p) - 1, *c))
                .collect(),
            ranges: Vec::new(),
            buf: Vec::with_capacity(FRAME_LEN * 2),
            stats: FrameStats::default(),
            in_garbage: false,
        }
    }

    /// The plausible range of each channel (by channel index).
    pub fn with_ranges(mut self, ranges: Vec<PlausibleRange>) -> Self {
        self.ranges = ranges;
        self
    }

    fn plausible(&self, channel: usize, celsius: f64) -> bool {
        self.ranges.get(channel).is_none_or(|r| r.contains(celsius))
    }

    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Drops a reply that stopped arriving.
    pub fn reset(&mut self) {
        if !self.buf.is_empty() {
            self.stats.partial += 1;
        }
        self.buf.clear();
        self.in_garbage = false;
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Reading>) {
        self.buf.extend_from_slice(bytes);
        loop {
            let Some(start) = self.buf.iter().position(|b| *b == STX) else {
                if !self.buf.is_empty() {
                    self.garbage();
                }
                self.buf.clear();
                return;
            };
            if start > 0 {
                self.garbage();
                self.buf.drain(..start);
            }
            if self.buf.len() < FRAME_LEN {
                return;
            }
            match decode(&self.buf[..FRAME_LEN]) {
                Some(frame) => {
                    self.in_garbage = false;
                    self.buf.drain(..FRAME_LEN);
                    let readings: Vec<Reading> = self
                        .probes
                        .iter()
                        .filter_map(|(probe, ch)| {
                            frame.probes[*probe].map(|v| Reading {
                                channel: *ch,
                                value: v,
                                unit: frame.unit,
                            })
                        })
                        .collect();
                    if readings
                        .iter()
                        .all(|r| self.plausible(r.channel, r.celsius()))
                    {
                        self.stats.good += 1;
                        out.extend(readings);
                    } else {
                        self.stats.implausible += 1;
                    }
                }
                None => {
                    // A 0x02 inside noise or inside a shifted frame: skip it and look again.
                    self.stats.bad_checksum += 1;
                    self.buf.drain(..1);
                }
            }
        }
    }

    fn garbage(&mut self) {
        if !self.in_garbage {
            self.stats.garbage += 1;
            self.in_garbage = true;
        }
    }
}

/// Decodes exactly one 45-byte frame; `None` if a marker or a fixed bit is
/// wrong. Plausibility of the values is the parser's business (it knows the
/// channels).
pub fn decode(f: &[u8]) -> Option<Frame> {
    if f.len() != FRAME_LEN || f[0] != STX || f[FRAME_LEN - 1] != ETX {
        return None;
    }
    if f[2] & STATUS2_UNUSED != 0
        || f[OPEN_BYTE..=WHOLE_DEGREES_BYTE]
            .iter()
            .any(|b| b & PROBE_BITS_UNUSED != 0)
    {
        return None;
    }
    let unit = if f[1] & 0x80 != 0 { Unit::C } else { Unit::F };
    let mut probes = [None; 4];
    for (p, slot) in probes.iter_mut().enumerate() {
        let absent = (f[OPEN_BYTE] >> p) & 1 == 1 || (f[WHOLE_DEGREES_BYTE] >> p) & 1 == 1;
        let raw = i16::from_be_bytes([f[7 + 2 * p], f[8 + 2 * p]]);
        if absent || raw == OVER_LIMIT || raw == UNDER_LIMIT {
            continue;
        }
        *slot = Some(f64::from(raw) / 10.0);
    }
    Some(Frame { unit, probes })
}

/// Builds the meter's answer (the simulator uses it); `None` = unplugged probe.
pub fn encode(frame: &Frame) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0] = STX;
    f[1] = if frame.unit == Unit::C { 0x80 } else { 0x00 };
    for (p, v) in frame.probes.iter().enumerate() {
        match v {
            Some(v) => {
                let tenths = (v * 10.0)
                    .round()
                    .clamp(f64::from(i16::MIN), f64::from(i16::MAX))
                    as i16;
                f[7 + 2 * p..9 + 2 * p].copy_from_slice(&tenths.to_be_bytes());
            }
            None => {
                f[OPEN_BYTE] |= 1 << p;
                f[WHOLE_DEGREES_BYTE] |= 1 << p;
            }
        }
    }
    f[FRAME_LEN - 1] = ETX;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Center309Parser {
        Center309Parser::new(&[(1, 0), (2, 1), (3, 2), (4, 3)])
    }

    fn run(p: &mut Center309Parser, chunks: &[&[u8]]) -> Vec<(usize, f64)> {
        let mut out = vec![];
        for c in chunks {
            p.push(c, &mut out);
        }
        out.into_iter().map(|r| (r.channel, r.value)).collect()
    }

    #[test]
    fn real_layout() {
        // T1 = 25.3 °C, T2 = -1.0, T3 and T4 unplugged as a meter reports them.
        let mut f = [0u8; FRAME_LEN];
        f[0] = 0x02;
        f[1] = 0x80;
        f[7..9].copy_from_slice(&253i16.to_be_bytes());
        f[9..11].copy_from_slice(&(-10i16).to_be_bytes());
        f[43] = 0b1100;
        f[44] = 0x03;
        let d = decode(&f).expect("frame");
        assert_eq!(d.unit, Unit::C);
        assert_eq!(d.probes, [Some(25.3), Some(-1.0), None, None]);
        f[1] = 0x00;
        assert_eq!(decode(&f).map(|d| d.unit), Some(Unit::F));
        f[39] = 0b0001;
        assert_eq!(decode(&f).map(|d| d.probes[0]), Some(None));
        f[39] = 0;
        // Every status bit the meter defines may be set...
        f[1] = 0xFF;
        f[2] = 0x81;
        assert!(decode(&f).is_some());
        // ...but not the ones it never sets, nor probe bits beyond the fourth.
        for (byte, bit) in [(2, 0x02), (2, 0x40), (39, 0x10), (40, 0x80), (43, 0x20)] {
            let mut g = f;
            g[byte] |= bit;
            assert_eq!(decode(&g), None, "byte {byte} bit {bit:#x}");
        }
        // 0x7FFF and 0x8000 are the meter's OL and -OL, not 3276.7 and -3276.8.
        f[7..9].copy_from_slice(&i16::MAX.to_be_bytes());
        f[9..11].copy_from_slice(&i16::MIN.to_be_bytes());
        assert_eq!(decode(&f).map(|d| d.probes), Some([None, None, None, None]));
    }

    #[test]
    fn an_impossible_value_spoils_the_whole_frame() {
        use crate::station::config::Sensor;
        let k = Sensor::K.range_c();
        let mut p = all().with_ranges(vec![k; 4]);
        let bad = encode(&Frame {
            unit: Unit::C,
            probes: [Some(25.0), Some(-1837.8), None, Some(1511.9)],
        });
        let good = encode(&Frame {
            unit: Unit::C,
            probes: [Some(25.0), Some(26.0), None, None],
        });
        let got = run(&mut p, &[&bad, &good]);
        assert_eq!(got, vec![(0, 25.0), (1, 26.0)]);
        assert_eq!(
            p.stats(),
            FrameStats {
                good: 1,
                implausible: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    #[allow(clippy::type_complexity)] // a table of cases reads best inline
    fn stream_table() {
        let a = encode(&Frame {
            unit: Unit::C,
            probes: [Some(301.2), Some(150.0), None, Some(60.5)],
        });
        let b = encode(&Frame {
            unit: Unit::C,
            probes: [Some(302.0), Some(151.0), Some(40.0), Some(61.0)],
        });
        let mut truncated = a.to_vec();
        truncated[44] = 0x00;
        let cases: Vec<(&str, Vec<Vec<u8>>, Vec<(usize, f64)>, FrameStats)> = vec![
            (
                "one frame, one piece",
                vec![a.to_vec()],
                vec![(0, 301.2), (1, 150.0), (3, 60.5)],
                FrameStats {
                    good: 1,
                    ..Default::default()
                },
            ),
            (
                "split byte by byte",
                a.iter().map(|b| vec![*b]).collect(),
                vec![(0, 301.2), (1, 150.0), (3, 60.5)],
                FrameStats {
                    good: 1,
                    ..Default::default()
                },
            ),
            (
                "garbage before, between",
                vec![
                    b"\xff\x41zz".to_vec(),
                    a.to_vec(),
                    b"noise".to_vec(),
                    b.to_vec(),
                ],
                vec![
                    (0, 301.2),
                    (1, 150.0),
                    (3, 60.5),
                    (0, 302.0),
                    (1, 151.0),
                    (2, 40.0),
                    (3, 61.0),
                ],
                FrameStats {
                    good: 2,
                    garbage: 2,
                    ..Default::default()
                },
            ),
            (
                "bad end marker then good frame",
                vec![truncated, b.to_vec()],
                vec![(0, 302.0), (1, 151.0), (2, 40.0), (3, 61.0)],
                // the 0x02 inside the spoiled frame's T4 costs a second resync
                FrameStats {
                    good: 1,
                    bad_checksum: 2,
                    garbage: 1,
                    ..Default::default()
                },
            ),
        ];
        for (name, chunks, expect, stats) in cases {
            let mut p = all();
            let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
            assert_eq!(run(&mut p, &refs), expect, "{name}");
            assert_eq!(p.stats(), stats, "{name}");
        }
    }

    #[test]
    fn probe_mapping_and_reset() {
        let mut p = Center309Parser::new(&[(4, 0)]);
        let a = encode(&Frame {
            unit: Unit::F,
            probes: [Some(1.0), Some(2.0), Some(3.0), Some(212.0)],
        });
        let mut out = vec![];
        p.push(&a[..10], &mut out);
        assert!(p.has_partial());
        p.reset();
        assert_eq!(p.stats().partial, 1);
        p.push(&a, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].channel, 0);
        assert_eq!(out[0].celsius(), 100.0);
    }
}
