//! `center-309`: the 4-channel handheld thermocouple meter (also sold as
//! HH309, Voltcraft K204, ...). Poll with `A` (0x41); the meter answers 45 bytes:
//!
//! | byte  | meaning                                                        |
//! |-------|----------------------------------------------------------------|
//! | 0     | 0x02 frame start                                               |
//! | 1     | status; bit 7 set = display in °C, clear = °F                  |
//! | 2..=6 | status (not used)                                              |
//! | 7..=14| T1..T4, big-endian signed, tenths of a degree                  |
//! | 15..=38| REL, MIN, MAX values (not used)                               |
//! | 39    | bit n = probe n+1 over-limit / open ("OL" on the display)      |
//! | 40..=42| REL/MAX/MIN over-limit bits (not used)                        |
//! | 43    | bit n = probe n+1 shown in whole degrees instead of tenths     |
//! | 44    | 0x03 frame end                                                 |
//!
//! The frame has no checksum; the start and end markers are what we check.
//!
//! Absent probe rule: a probe is reported absent (no sample, never a zero)
//! when its bit in byte 39 is set, or when its bit in byte 43 is set.
//! Meters in the field set the byte-43 bit for unplugged sockets, and they
//! only drop to whole degrees above 999.9°, far beyond any rework window, so
//! treating that bit as "absent" can lose nothing real and can never turn an
//! open socket into a false reading.

use super::config::Unit;
use super::{FrameStats, PLAUSIBLE_ABS_C, Reading};

pub const POLL: u8 = b'A';
pub const FRAME_LEN: usize = 45;
const STX: u8 = 0x02;
const ETX: u8 = 0x03;
const OPEN_BYTE: usize = 39;
const WHOLE_DEGREES_BYTE: usize = 43;

#[derive(Clone, Debug)]
pub struct Center309Parser {
    /// (probe 0..4, channel index)
    probes: Vec<(usize, usize)>,
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
            buf: Vec::with_capacity(FRAME_LEN * 2),
            stats: FrameStats::default(),
            in_garbage: false,
        }
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
                    self.stats.good += 1;
                    self.buf.drain(..FRAME_LEN);
                    for (probe, ch) in &self.probes {
                        if let Some(v) = frame.probes[*probe] {
                            out.push(Reading {
                                channel: *ch,
                                value: v,
                                unit: frame.unit,
                            });
                        }
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

/// Decodes exactly one 45-byte frame; `None` if the markers are wrong.
pub fn decode(f: &[u8]) -> Option<Frame> {
    if f.len() != FRAME_LEN || f[0] != STX || f[FRAME_LEN - 1] != ETX {
        return None;
    }
    let unit = if f[1] & 0x80 != 0 { Unit::C } else { Unit::F };
    let mut probes = [None; 4];
    for (p, slot) in probes.iter_mut().enumerate() {
        let absent = (f[OPEN_BYTE] >> p) & 1 == 1 || (f[WHOLE_DEGREES_BYTE] >> p) & 1 == 1;
        if absent {
            continue;
        }
        let raw = i16::from_be_bytes([f[7 + 2 * p], f[8 + 2 * p]]);
        let v = f64::from(raw) / 10.0;
        if unit.to_celsius(v).abs() <= PLAUSIBLE_ABS_C {
            *slot = Some(v);
        }
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
