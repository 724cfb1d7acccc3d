//! Random bytes into every parser: no panic, and no reading that the bytes
//! do not really contain.

use std::collections::BTreeMap;

use proptest::prelude::*;
use traveler::station::ascii_line::{LineParser, number};
use traveler::station::center309::{self, Center309Parser, Frame};
use traveler::station::config::{AsciiLineConfig, ChannelConfig, RegisterType, Unit, WordOrder};
use traveler::station::modbus_rtu::{
    self, ReadRequest, Reply, Request, RequestParser, crc16, judge_reply,
};
use traveler::station::{PLAUSIBLE_ABS_C, Reading};

fn chans(names: &[&str]) -> Vec<ChannelConfig> {
    names.iter().map(|n| ChannelConfig::named(n)).collect()
}

/// Feeds `bytes` cut at the given points.
fn feed(
    mut push: impl FnMut(&[u8], &mut Vec<Reading>),
    bytes: &[u8],
    cuts: &[usize],
) -> Vec<Reading> {
    let mut out = vec![];
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort();
    let mut at = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        push(&bytes[at..p], &mut out);
        at = p;
    }
    out
}

fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Bias towards what lines are made of, so parsing paths are really hit.
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(b"0123456789.,-+ \n\r=T".to_vec()),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ascii_fields_only_real_values(bytes in line_bytes(), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
        let cfg = AsciiLineConfig {
            fields: Some(BTreeMap::from([("tip".to_string(), 0), ("board".to_string(), 2)])),
            ..AsciiLineConfig::default()
        };
        let mut p = LineParser::new(&cfg, &chans(&["tip", "board"])).expect("parser");
        let got = feed(|b, o| p.push(b, o), &bytes, &cuts);
        // Oracle: the values field 0 / field 2 of complete lines hold.
        let mut allowed: Vec<(usize, f64)> = vec![];
        let complete = match bytes.iter().rposition(|b| *b == b'\n' || *b == b'\r') {
            Some(i) => &bytes[..i],
            None => &bytes[..0],
        };
        for line in complete.split(|b| *b == b'\n' || *b == b'\r') {
            let Ok(text) = std::str::from_utf8(line) else { continue };
            let parts: Vec<&str> = text.trim().split(',').collect();
            for (field, ch) in [(0usize, 0usize), (2, 1)] {
                if let Some(v) = parts.get(field).and_then(|s| number(s)) {
                    allowed.push((ch, v));
                }
            }
        }
        for r in &got {
            prop_assert!(r.value.is_finite() && r.value.abs() <= PLAUSIBLE_ABS_C);
            prop_assert!(allowed.contains(&(r.channel, r.value)), "invented {r:?}");
        }
        let s = p.stats();
        prop_assert!(s.good <= allowed.len() as u64);
    }

    #[test]
    fn ascii_regex_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
        let cfg = AsciiLineConfig {
            regex: Some(r"T1=(?P<tip>[-+]?[0-9.]+)".into()),
            ..AsciiLineConfig::default()
        };
        let mut p = LineParser::new(&cfg, &chans(&["tip"])).expect("parser");
        let got = feed(|b, o| p.push(b, o), &bytes, &cuts);
        // A reading needs the literal "T1=" in the input.
        if !bytes.windows(3).any(|w| w == b"T1=") {
            prop_assert!(got.is_empty());
        }
    }

    #[test]
    fn center309_noise_without_end_marker_gives_nothing(
        bytes in prop::collection::vec(any::<u8>().prop_filter("no ETX", |b| *b != 0x03), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut p = Center309Parser::new(&[(1, 0), (2, 1), (3, 2), (4, 3)]);
        let got = feed(|b, o| p.push(b, o), &bytes, &cuts);
        prop_assert!(got.is_empty());
        prop_assert_eq!(p.stats().good, 0);
    }

    #[test]
    fn center309_finds_frame_in_noise(
        before in prop::collection::vec(any::<u8>().prop_filter("no STX", |b| *b != 0x02), 0..200),
        after in prop::collection::vec(any::<u8>(), 0..200),
        t in prop::array::uniform4(prop::option::of(-500i16..5000)),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let probes = t.map(|v| v.map(|x| f64::from(x) / 10.0));
        let frame = center309::encode(&Frame { unit: Unit::C, probes });
        let mut bytes = before.clone();
        bytes.extend_from_slice(&frame);
        bytes.extend_from_slice(&after);
        let mut p = Center309Parser::new(&[(1, 0), (2, 1), (3, 2), (4, 3)]);
        let got = feed(|b, o| p.push(b, o), &bytes, &cuts);
        let expect: Vec<(usize, f64)> = probes.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
        let first: Vec<(usize, f64)> = got.iter().take(expect.len()).map(|r| (r.channel, r.value)).collect();
        prop_assert_eq!(first, expect);
    }

    #[test]
    fn modbus_request_parser_only_crc_valid(bytes in prop::collection::vec(any::<u8>(), 0..600), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
        let mut p = RequestParser::default();
        let mut out = vec![];
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort();
        let mut at = 0;
        for q in points.into_iter().chain([bytes.len()]) {
            p.push(&bytes[at..q], &mut out);
            at = q;
        }
        for r in out {
            if let Request::Read(r) = r {
                let enc = r.encode();
                prop_assert!(bytes.windows(8).any(|w| w == enc.as_slice()), "request not in input: {r:?}");
                prop_assert_eq!(crc16(&enc[..6]).to_le_bytes(), [enc[6], enc[7]]);
            }
        }
    }

    #[test]
    fn modbus_decode_never_panics(words in prop::collection::vec(any::<u16>(), 0..4), div in prop_oneof![Just(0.0), Just(1.0), Just(10.0), any::<f64>()]) {
        for ty in [RegisterType::I16, RegisterType::U16, RegisterType::I32, RegisterType::F32] {
            for order in [WordOrder::Big, WordOrder::Little] {
                if let Some(v) = modbus_rtu::decode_words(&words, ty, order, div) {
                    prop_assert!(v.is_finite() && v.abs() <= PLAUSIBLE_ABS_C);
                    prop_assert_eq!(words.len(), usize::from(ty.words()));
                }
            }
        }
    }

    #[test]
    fn modbus_request_roundtrip(slave in 1u8..=247, function in prop::sample::select(vec![3u8, 4]), address: u16, count in 1u16..=125) {
        let req = ReadRequest { slave, function, address, count };
        let mut p = RequestParser::default();
        let mut out = vec![];
        p.push(&req.encode(), &mut out);
        prop_assert_eq!(out, vec![Request::Read(req)]);
    }

    /// Random bytes framed as a CENTER 309 reply (right length, right markers):
    /// a frame is only taken when every fixed bit is right, and no reading is
    /// ever outside the type K range or different from what the bytes hold.
    #[test]
    fn center309_random_frames_give_only_possible_readings(
        mut frame in prop::collection::vec(any::<u8>(), 45),
        zero_fixed in any::<bool>(),
    ) {
        frame[0] = 0x02;
        frame[44] = 0x03;
        if zero_fixed {
            // Half the cases pass the fixed-bit checks, so the range check is hit too.
            frame[2] &= 0x81;
            for b in &mut frame[39..=43] {
                *b &= 0x0F;
            }
        }
        let fixed_ok = frame[2] & 0x7E == 0 && frame[39..=43].iter().all(|b| b & 0xF0 == 0);
        let decoded = center309::decode(&frame);
        prop_assert_eq!(decoded.is_some(), fixed_ok);
        let channels = chans(&["t1", "t2", "t3", "t4"]);
        let ranges = channels.iter().map(|c| c.plausible()).collect();
        let mut p = Center309Parser::new(&[(1, 0), (2, 1), (3, 2), (4, 3)]).with_ranges(ranges);
        let mut out = vec![];
        p.push(&frame, &mut out);
        for r in &out {
            prop_assert!((-200.0..=1372.0).contains(&r.celsius()), "{r:?}");
            let raw = i16::from_be_bytes([frame[7 + 2 * r.channel], frame[8 + 2 * r.channel]]);
            prop_assert_eq!(r.value, f64::from(raw) / 10.0);
        }
        let s = p.stats();
        if !out.is_empty() {
            prop_assert_eq!(s.good, 1);
        } else if fixed_ok {
            // Nothing came out of a well-formed frame: all probes absent, or refused as implausible.
            let f = decoded.unwrap();
            prop_assert!(s.implausible == 1 || f.probes.iter().all(Option::is_none));
        }
    }

    /// Random lines: every value that comes out is inside its channel's range.
    #[test]
    fn ascii_values_stay_inside_their_ranges(bytes in line_bytes()) {
        let cfg = AsciiLineConfig {
            fields: Some(BTreeMap::from([("tip".to_string(), 0), ("board".to_string(), 1)])),
            ..AsciiLineConfig::default()
        };
        let mut channels = chans(&["tip", "board"]);
        channels[1].plausible_c = Some(traveler::station::config::PlausibleRange { min: 0.0, max: 150.0 });
        let mut p = LineParser::new(&cfg, &channels).expect("parser");
        let mut out = vec![];
        p.push(&bytes, &mut out);
        for r in &out {
            prop_assert!(channels[r.channel].plausible().contains(r.celsius()), "{r:?}");
        }
    }

    /// Any bytes as a Modbus reply: never a panic, and registers only from a
    /// reply whose CRC, slave, function and length are right.
    #[test]
    fn modbus_reply_judged_from_random_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..40),
        slave in 1u8..=247,
        function in prop::sample::select(vec![3u8, 4]),
        count in 1u16..=2,
    ) {
        let req = ReadRequest { slave, function, address: 0, count };
        if let Reply::Words(w) = judge_reply(&req, &bytes) {
            let len = 5 + 2 * usize::from(count);
            prop_assert_eq!(w.len(), usize::from(count));
            prop_assert_eq!(bytes[0], slave);
            prop_assert_eq!(bytes[1], function);
            prop_assert_eq!(crc16(&bytes[..len - 2]).to_le_bytes(), [bytes[len - 2], bytes[len - 1]]);
        }
        // A real reply is read back whole, and one spoiled byte is never taken.
        let words: Vec<u16> = bytes.iter().take(usize::from(count)).map(|b| u16::from(*b) * 3).collect();
        if words.len() == usize::from(count) {
            let good = modbus_rtu::read_response(slave, function, &words);
            prop_assert_eq!(judge_reply(&req, &good), Reply::Words(words.clone()));
            let mut spoiled = good.clone();
            let at = usize::from(bytes[0]) % spoiled.len();
            spoiled[at] ^= 0x01 | bytes.get(1).copied().unwrap_or(0);
            prop_assert!(!matches!(judge_reply(&req, &spoiled), Reply::Words(_)));
        }
    }
}
