//! `modbus-rtu`: PID controllers in preheaters and stations (Fuji PXG, Delta
//! DTA, ...). The reader sends one read request at a time and judges the
//! reply with [`judge_reply`]: a reply with a bad CRC, from another slave, of
//! the wrong length or made of noise is a bad frame of its own kind, and the
//! port stays connected (a general Modbus client treats such bytes as a
//! transport failure or keeps waiting for a good frame, which reads as "no
//! answer" or as a lost port). This module holds the pure parts: the reply
//! check, register decoding, the CRC, and the server-side framing the
//! simulator answers with.

use super::PLAUSIBLE_ABS_C;
use super::config::{RegisterType, WordOrder};

/// Turns the registers read for one channel into a value, or `None` if they
/// do not hold a plausible number (wrong count, NaN, absurd size).
pub fn decode_words(
    words: &[u16],
    ty: RegisterType,
    order: WordOrder,
    divisor: f64,
) -> Option<f64> {
    let pair = |w: &[u16]| -> Option<u32> {
        let (hi, lo) = match (order, w) {
            (WordOrder::Big, [hi, lo]) => (*hi, *lo),
            (WordOrder::Little, [lo, hi]) => (*hi, *lo),
            _ => return None,
        };
        Some((u32::from(hi) << 16) | u32::from(lo))
    };
    let raw = match (ty, words) {
        (RegisterType::I16, [w]) => f64::from(*w as i16),
        (RegisterType::U16, [w]) => f64::from(*w),
        (RegisterType::I32, w) => f64::from(pair(w)? as i32),
        (RegisterType::F32, w) => f64::from(f32::from_bits(pair(w)?)),
        _ => return None,
    };
    if divisor == 0.0 || !divisor.is_finite() {
        return None;
    }
    let v = raw / divisor;
    (v.is_finite() && v.abs() <= PLAUSIBLE_ABS_C).then_some(v)
}

/// The inverse of [`decode_words`], for the simulator.
pub fn encode_value(value: f64, ty: RegisterType, order: WordOrder, divisor: f64) -> Vec<u16> {
    let scaled = value * divisor;
    let split = |u: u32| {
        let (hi, lo) = ((u >> 16) as u16, u as u16);
        match order {
            WordOrder::Big => vec![hi, lo],
            WordOrder::Little => vec![lo, hi],
        }
    };
    match ty {
        RegisterType::I16 => vec![scaled.round().clamp(-32768.0, 32767.0) as i16 as u16],
        RegisterType::U16 => vec![scaled.round().clamp(0.0, 65535.0) as u16],
        RegisterType::I32 => split(scaled.round() as i32 as u32),
        RegisterType::F32 => split((scaled as f32).to_bits()),
    }
}

/// Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for b in data {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

fn with_crc(mut frame: Vec<u8>) -> Vec<u8> {
    let crc = crc16(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame
}

/// What the bytes received so far after a read request amount to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Not a whole reply yet: keep reading until the answer time is up.
    Incomplete,
    /// The registers asked for.
    Words(Vec<u16>),
    /// A well-formed exception answer (its code).
    Exception(u8),
    /// The reply's CRC does not match its bytes.
    BadCrc,
    /// Not an answer to this request: another slave or function, a wrong byte
    /// count, noise.
    Garbage,
}

/// Judges `buf` (everything received since `req` was sent) as its reply.
pub fn judge_reply(req: &ReadRequest, buf: &[u8]) -> Reply {
    let checked = |len: usize, done: &dyn Fn(&[u8]) -> Reply| {
        if buf.len() < len {
            return Reply::Incomplete;
        }
        let crc = u16::from_le_bytes([buf[len - 2], buf[len - 1]]);
        if crc16(&buf[..len - 2]) != crc {
            return Reply::BadCrc;
        }
        done(&buf[..len - 2])
    };
    match buf {
        [] | [_] => Reply::Incomplete,
        [slave, ..] if *slave != req.slave => Reply::Garbage,
        [_, f, ..] if *f == req.function | 0x80 => checked(5, &|b| Reply::Exception(b[2])),
        [_, f, ..] if *f != req.function => Reply::Garbage,
        [_, _] => Reply::Incomplete,
        [_, _, count, ..] if usize::from(*count) != 2 * usize::from(req.count) => Reply::Garbage,
        [_, _, count, ..] => checked(5 + usize::from(*count), &|b| {
            Reply::Words(
                b[3..]
                    .chunks_exact(2)
                    .map(|w| u16::from_be_bytes([w[0], w[1]]))
                    .collect(),
            )
        }),
    }
}

/// A request the simulator understands: read registers (function 3 or 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    pub slave: u8,
    pub function: u8,
    pub address: u16,
    pub count: u16,
}

impl ReadRequest {
    pub fn encode(&self) -> Vec<u8> {
        let mut f = vec![self.slave, self.function];
        f.extend_from_slice(&self.address.to_be_bytes());
        f.extend_from_slice(&self.count.to_be_bytes());
        with_crc(f)
    }
}

/// Server-side request framing with resync: any 8 bytes with a correct CRC
/// are a request; anything else is skipped a byte at a time.
#[derive(Clone, Debug, Default)]
pub struct RequestParser {
    buf: Vec<u8>,
    /// Bytes skipped while looking for a frame.
    pub skipped: u64,
}

/// What the parser found: a read request, or a well-formed frame of a
/// function the simulator does not serve (answered with exception 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Read(ReadRequest),
    Unsupported { slave: u8, function: u8 },
}

impl RequestParser {
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Request>) {
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while self.buf.len() - at >= 8 {
            let f = &self.buf[at..at + 8];
            let crc = u16::from_le_bytes([f[6], f[7]]);
            if crc16(&f[..6]) == crc && f[0] != 0 {
                let (slave, function) = (f[0], f[1]);
                out.push(if matches!(function, 3 | 4) {
                    Request::Read(ReadRequest {
                        slave,
                        function,
                        address: u16::from_be_bytes([f[2], f[3]]),
                        count: u16::from_be_bytes([f[4], f[5]]),
                    })
                } else {
                    Request::Unsupported { slave, function }
                });
                at += 8;
            } else {
                self.skipped += 1;
                at += 1;
            }
        }
        self.buf.drain(..at);
    }
}

/// Answer to a read: slave, function, byte count, the registers, CRC.
pub fn read_response(slave: u8, function: u8, words: &[u16]) -> Vec<u8> {
    let mut f = vec![slave, function, (words.len() * 2).min(250) as u8];
    for w in words.iter().take(125) {
        f.extend_from_slice(&w.to_be_bytes());
    }
    with_crc(f)
}

/// Exception answer (1 = illegal function, 2 = illegal data address).
pub fn exception_response(slave: u8, function: u8, code: u8) -> Vec<u8> {
    with_crc(vec![slave, function | 0x80, code])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_vectors() {
        // Read 1 input register at 1000 from slave 1: a frame Fuji manuals print.
        let req = ReadRequest {
            slave: 1,
            function: 4,
            address: 1000,
            count: 1,
        };
        assert_eq!(
            req.encode(),
            vec![0x01, 0x04, 0x03, 0xE8, 0x00, 0x01, 0xB1, 0xBA]
        );
        // The classic "01 03 00 00 00 0A" example ends in C5 CD.
        let f = ReadRequest {
            slave: 1,
            function: 3,
            address: 0,
            count: 10,
        }
        .encode();
        assert_eq!(&f[6..], &[0xC5, 0xCD]);
    }

    #[test]
    #[allow(clippy::type_complexity)] // a table of cases reads best inline
    fn decode_table() {
        use RegisterType::*;
        use WordOrder::*;
        let f = 123.25f32.to_bits();
        let (fh, fl) = ((f >> 16) as u16, f as u16);
        let cases: &[(&str, &[u16], RegisterType, WordOrder, f64, Option<f64>)] = &[
            ("fuji PV tenths", &[2853], I16, Big, 10.0, Some(285.3)),
            ("negative i16", &[0xFFF6], I16, Big, 10.0, Some(-1.0)),
            ("u16 is unsigned", &[0xFFF6], U16, Big, 100.0, Some(655.26)),
            ("u16 plain", &[1500], U16, Big, 10.0, Some(150.0)),
            ("i32 big", &[0x0000, 0x0BB8], I32, Big, 10.0, Some(300.0)),
            (
                "i32 little",
                &[0x0BB8, 0x0000],
                I32,
                Little,
                10.0,
                Some(300.0),
            ),
            (
                "i32 negative",
                &[0xFFFF, 0xFF9C],
                I32,
                Big,
                1.0,
                Some(-100.0),
            ),
            ("f32 big", &[fh, fl], F32, Big, 1.0, Some(123.25)),
            ("f32 little", &[fl, fh], F32, Little, 1.0, Some(123.25)),
            ("f32 NaN", &[0x7FC0, 0x0000], F32, Big, 1.0, None),
            ("wrong count", &[1, 2], I16, Big, 1.0, None),
            ("too few for i32", &[1], I32, Big, 1.0, None),
            ("zero divisor", &[1], I16, Big, 0.0, None),
            ("implausible", &[30000], I16, Big, 1.0, None),
        ];
        for (name, words, ty, order, div, expect) in cases {
            let got = decode_words(words, *ty, *order, *div);
            match (got, expect) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "{name}: {g} != {e}"),
                _ => assert_eq!(got, *expect, "{name}"),
            }
        }
    }

    #[test]
    fn encode_roundtrips() {
        use RegisterType::*;
        for ty in [I16, U16, I32, F32] {
            for order in [WordOrder::Big, WordOrder::Little] {
                let w = encode_value(301.5, ty, order, 10.0);
                let v = decode_words(&w, ty, order, 10.0).expect("decodes");
                assert!((v - 301.5).abs() < 1e-3, "{ty:?} {order:?} {v}");
            }
        }
    }

    #[test]
    fn request_parser_resyncs() {
        let req = ReadRequest {
            slave: 1,
            function: 3,
            address: 0x4700,
            count: 1,
        };
        let mut bad = req.encode();
        bad[7] ^= 0xFF;
        let mut p = RequestParser::default();
        let mut out = vec![];
        p.push(b"\x00\xffjunk", &mut out);
        p.push(&bad, &mut out);
        let good = req.encode();
        p.push(&good[..3], &mut out);
        assert!(out.is_empty());
        p.push(&good[3..], &mut out);
        assert_eq!(out, vec![Request::Read(req)]);
        assert!(p.skipped >= 8);
        let mut other = vec![1u8, 6, 0, 1, 0, 3];
        let crc = crc16(&other);
        other.extend_from_slice(&crc.to_le_bytes());
        p.push(&other, &mut out);
        assert_eq!(
            out[1],
            Request::Unsupported {
                slave: 1,
                function: 6
            }
        );
    }

    #[test]
    fn reply_table() {
        let req = ReadRequest {
            slave: 2,
            function: 3,
            address: 0x4700,
            count: 1,
        };
        let good = read_response(2, 3, &[2853]);
        let mut bad_crc = good.clone();
        bad_crc[6] ^= 0x5A;
        let mut other_slave = good.clone();
        other_slave[0] = 7;
        let cases: Vec<(&str, Vec<u8>, Reply)> = vec![
            ("nothing yet", vec![], Reply::Incomplete),
            ("one byte", vec![2], Reply::Incomplete),
            ("half a reply", good[..4].to_vec(), Reply::Incomplete),
            ("good", good.clone(), Reply::Words(vec![2853])),
            (
                "good, then more",
                [good.clone(), vec![0xFF]].concat(),
                Reply::Words(vec![2853]),
            ),
            ("bad CRC", bad_crc, Reply::BadCrc),
            ("another slave", other_slave, Reply::Garbage),
            (
                "exception",
                exception_response(2, 3, 2),
                Reply::Exception(2),
            ),
            ("wrong function", read_response(2, 4, &[1]), Reply::Garbage),
            (
                "wrong byte count",
                read_response(2, 3, &[1, 2]),
                Reply::Garbage,
            ),
            ("noise", b"\x02\x03\x02zz\x00\x00".to_vec(), Reply::BadCrc),
            ("noise off the start", b"#@!~".to_vec(), Reply::Garbage),
        ];
        for (name, bytes, expect) in cases {
            assert_eq!(judge_reply(&req, &bytes), expect, "{name}");
        }
    }

    #[test]
    fn responses() {
        let r = read_response(1, 4, &[2853]);
        assert_eq!(&r[..5], &[1, 4, 2, 0x0B, 0x25]);
        assert_eq!(crc16(&r[..5]).to_le_bytes(), [r[5], r[6]]);
        let e = exception_response(1, 3, 2);
        assert_eq!(&e[..3], &[1, 0x83, 2]);
    }
}
