//! Thermal judgement of a step: pure, no I/O.
//!
//! The reader produces [`Sample`]s; the runner feeds them to a [`StepThermal`]
//! for the current step and, when the step completes, stores the
//! [`ThermalSummary`] and [`samples_digest`] of the samples in the chain.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One temperature reading of one channel, always in °C (°F channels are
/// converted by the reader so nothing downstream has to care).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub channel: String,
    pub time: DateTime<Utc>,
    pub celsius: f64,
}

/// The allowed band of one channel during a step, inclusive at both ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub channel: String,
    pub min_c: f64,
    pub max_c: f64,
}

impl Window {
    pub fn contains(&self, celsius: f64) -> bool {
        celsius >= self.min_c && celsius <= self.max_c
    }

    /// How far outside the band a value is (0 inside), to pick an excursion's peak.
    fn distance(&self, celsius: f64) -> f64 {
        if celsius > self.max_c {
            celsius - self.max_c
        } else if celsius < self.min_c {
            self.min_c - celsius
        } else {
            0.0
        }
    }
}

/// A period during which a channel left its window. `end` is the time of the
/// first sample back inside; `None` while the excursion is still open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Excursion {
    pub channel: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// The reading furthest outside the window.
    pub peak_c: f64,
    pub peak_at: DateTime<Utc>,
    pub min_c: f64,
    pub max_c: f64,
}

/// What a pushed sample changed, so the UI can raise the alarm at once.
#[derive(Clone, Debug, PartialEq)]
pub enum ThermalSignal {
    ExcursionStarted {
        channel: String,
        time: DateTime<Utc>,
        celsius: f64,
        window: Window,
    },
    ExcursionEnded(Excursion),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelSummary {
    pub channel: String,
    pub count: u64,
    pub min_c: f64,
    pub max_c: f64,
    pub mean_c: f64,
    /// Time of the highest reading (the peak).
    pub peak_at: DateTime<Utc>,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// Seconds at or above the liquidus (0 when no liquidus was given).
    pub seconds_above_liquidus: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThermalSummary {
    pub windows: Vec<Window>,
    pub liquidus_c: Option<f64>,
    /// Sorted by channel name.
    pub channels: Vec<ChannelSummary>,
    /// In order of start; an excursion still open at summary time has `end: None`.
    pub excursions: Vec<Excursion>,
    /// Samples refused because they were not finite numbers.
    pub rejected: u64,
}

impl ThermalSummary {
    pub fn channel(&self, name: &str) -> Option<&ChannelSummary> {
        self.channels.iter().find(|c| c.channel == name)
    }
}

#[derive(Clone, Debug)]
struct ChannelAcc {
    count: u64,
    sum: f64,
    min_c: f64,
    max_c: f64,
    peak_at: DateTime<Utc>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    last_c: f64,
    above_ms: i64,
}

/// Accumulates the samples of one step.
#[derive(Clone, Debug)]
pub struct StepThermal {
    windows: Vec<Window>,
    liquidus_c: Option<f64>,
    channels: BTreeMap<String, ChannelAcc>,
    open: BTreeMap<String, usize>,
    /// Channels that have been inside their window during this step.
    reached: std::collections::BTreeSet<String>,
    excursions: Vec<Excursion>,
    rejected: u64,
}

impl StepThermal {
    pub fn new(windows: Vec<Window>, liquidus_c: Option<f64>) -> Self {
        Self {
            windows,
            liquidus_c,
            channels: BTreeMap::new(),
            open: BTreeMap::new(),
            reached: std::collections::BTreeSet::new(),
            excursions: Vec::new(),
            rejected: 0,
        }
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// True while at least one channel is outside its window.
    pub fn in_excursion(&self) -> bool {
        !self.open.is_empty()
    }

    /// Feeds one sample. Samples of a channel are expected in time order;
    /// time above liquidus counts an interval when the sample that opens it was
    /// at or above the liquidus (a gap while hot counts as hot: over-reporting
    /// is the safe side of that judgement).
    pub fn push(&mut self, sample: &Sample) -> Option<ThermalSignal> {
        let c = sample.celsius;
        if !c.is_finite() {
            self.rejected += 1;
            return None;
        }
        let t = sample.time;
        match self.channels.get_mut(&sample.channel) {
            Some(acc) => {
                if let Some(liq) = self.liquidus_c
                    && acc.last_c >= liq
                    && t > acc.last
                {
                    acc.above_ms += (t - acc.last).num_milliseconds();
                }
                acc.count += 1;
                acc.sum += c;
                if c < acc.min_c {
                    acc.min_c = c;
                }
                if c > acc.max_c {
                    acc.max_c = c;
                    acc.peak_at = t;
                }
                acc.last = t;
                acc.last_c = c;
            }
            None => {
                self.channels.insert(
                    sample.channel.clone(),
                    ChannelAcc {
                        count: 1,
                        sum: c,
                        min_c: c,
                        max_c: c,
                        peak_at: t,
                        first: t,
                        last: t,
                        last_c: c,
                        above_ms: 0,
                    },
                );
            }
        }

        let window = self.windows.iter().find(|w| w.channel == sample.channel)?;
        let inside = window.contains(c);
        match self.open.get(&sample.channel).copied() {
            Some(idx) => {
                let exc = self.excursions.get_mut(idx)?;
                if inside {
                    exc.end = Some(t);
                    let closed = exc.clone();
                    self.open.remove(&sample.channel);
                    Some(ThermalSignal::ExcursionEnded(closed))
                } else {
                    if window.distance(c) > window.distance(exc.peak_c) {
                        exc.peak_c = c;
                        exc.peak_at = t;
                    }
                    None
                }
            }
            None if inside => {
                self.reached.insert(sample.channel.clone());
                None
            }
            // Heating up to a window, or cooling down into one, is not leaving it:
            // an excursion starts only once the channel has been inside.
            None if !self.reached.contains(&sample.channel) => None,
            None => {
                let window = window.clone();
                self.excursions.push(Excursion {
                    channel: sample.channel.clone(),
                    start: t,
                    end: None,
                    peak_c: c,
                    peak_at: t,
                    min_c: window.min_c,
                    max_c: window.max_c,
                });
                self.open
                    .insert(sample.channel.clone(), self.excursions.len() - 1);
                Some(ThermalSignal::ExcursionStarted {
                    channel: sample.channel.clone(),
                    time: t,
                    celsius: c,
                    window,
                })
            }
        }
    }

    pub fn summary(&self) -> ThermalSummary {
        let channels = self
            .channels
            .iter()
            .map(|(name, a)| ChannelSummary {
                channel: name.clone(),
                count: a.count,
                min_c: a.min_c,
                max_c: a.max_c,
                mean_c: a.sum / a.count as f64,
                peak_at: a.peak_at,
                first: a.first,
                last: a.last,
                seconds_above_liquidus: a.above_ms as f64 / 1000.0,
            })
            .collect();
        ThermalSummary {
            windows: self.windows.clone(),
            liquidus_c: self.liquidus_c,
            channels,
            excursions: self.excursions.clone(),
            rejected: self.rejected,
        }
    }
}

/// The digest a StepCompleted event seals: SHA-256 over a step's samples in time
/// order, then by channel (shorter names first, then bytes, as the store's
/// length-prefixed keys sort), so the chain covers every reading.
///
/// Fixed encoding per sample, all integers big-endian: time in milliseconds since
/// the Unix epoch as u64 with the sign bit flipped (so byte order is time order),
/// `u32 channel byte length`, `channel UTF-8 bytes`, `u64 IEEE-754 bits of celsius`.
/// The store computes the same bytes straight from its sample keys.
#[derive(Clone, Debug, Default)]
pub struct SampleDigest {
    hasher: Sha256,
}

impl SampleDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, sample: &Sample) {
        let name = sample.channel.as_bytes();
        // A channel name longer than 4 GiB cannot come out of a config file.
        let len = u32::try_from(name.len()).unwrap_or(u32::MAX);
        let ms = sample.time.timestamp_millis() as u64 ^ (1 << 63);
        self.hasher.update(ms.to_be_bytes());
        self.hasher.update(len.to_be_bytes());
        self.hasher.update(name);
        self.hasher.update(sample.celsius.to_bits().to_be_bytes());
    }

    pub fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

/// SHA-256 of samples in the order given (see [`SampleDigest`] for the encoding).
pub fn samples_digest(samples: &[Sample]) -> [u8; 32] {
    let mut d = SampleDigest::new();
    for s in samples {
        d.update(s);
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_700_000_000_000 + ms)
            .single()
            .unwrap_or_default()
    }

    fn s(ch: &str, ms: i64, c: f64) -> Sample {
        Sample {
            channel: ch.into(),
            time: at(ms),
            celsius: c,
        }
    }

    fn win(ch: &str, lo: f64, hi: f64) -> Window {
        Window {
            channel: ch.into(),
            min_c: lo,
            max_c: hi,
        }
    }

    #[test]
    fn stats_table() {
        struct Case {
            name: &'static str,
            values: &'static [f64],
            min: f64,
            max: f64,
            mean: f64,
            above_s: f64,
        }
        let cases = [
            Case {
                name: "single",
                values: &[100.0],
                min: 100.0,
                max: 100.0,
                mean: 100.0,
                above_s: 0.0,
            },
            Case {
                name: "ramp",
                values: &[200.0, 220.0, 240.0, 220.0],
                min: 200.0,
                max: 240.0,
                mean: 220.0,
                // liquidus 217: the 220 and 240 samples open a 1 s interval each
                above_s: 2.0,
            },
            Case {
                name: "all above",
                values: &[230.0, 230.0, 230.0],
                min: 230.0,
                max: 230.0,
                mean: 230.0,
                above_s: 2.0,
            },
        ];
        for case in cases {
            let mut st = StepThermal::new(vec![], Some(217.0));
            for (i, v) in case.values.iter().enumerate() {
                st.push(&s("tip", i as i64 * 1000, *v));
            }
            let sum = st.summary();
            let ch = sum.channel("tip").expect(case.name);
            assert_eq!(ch.count, case.values.len() as u64, "{}", case.name);
            assert_eq!(ch.min_c, case.min, "{}", case.name);
            assert_eq!(ch.max_c, case.max, "{}", case.name);
            assert!((ch.mean_c - case.mean).abs() < 1e-9, "{}", case.name);
            assert!(
                (ch.seconds_above_liquidus - case.above_s).abs() < 1e-9,
                "{}: {}",
                case.name,
                ch.seconds_above_liquidus
            );
        }
    }

    #[test]
    fn excursion_table() {
        struct Case {
            name: &'static str,
            values: &'static [f64],
            // (start index, end index or None, peak)
            expect: &'static [(i64, Option<i64>, f64)],
            started_signals: usize,
        }
        let cases = [
            Case {
                name: "never leaves",
                values: &[300.0, 310.0, 320.0],
                expect: &[],
                started_signals: 0,
            },
            Case {
                name: "edges are inside",
                values: &[290.0, 330.0],
                expect: &[],
                started_signals: 0,
            },
            Case {
                name: "one above, closes",
                values: &[300.0, 335.0, 340.0, 331.0, 320.0],
                expect: &[(1, Some(4), 340.0)],
                started_signals: 1,
            },
            Case {
                name: "below then above without coming back: one excursion, peak by distance",
                values: &[300.0, 280.0, 345.0, 300.0],
                expect: &[(1, Some(3), 345.0)],
                started_signals: 1,
            },
            Case {
                name: "two, second still open",
                values: &[300.0, 250.0, 300.0, 350.0],
                expect: &[(1, Some(2), 250.0), (3, None, 350.0)],
                started_signals: 2,
            },
        ];
        for case in cases {
            let mut st = StepThermal::new(vec![win("tip", 290.0, 330.0)], None);
            let mut started = 0;
            for (i, v) in case.values.iter().enumerate() {
                if let Some(ThermalSignal::ExcursionStarted { .. }) =
                    st.push(&s("tip", i as i64 * 1000, *v))
                {
                    started += 1;
                }
                // another channel without a window never raises anything
                assert_eq!(st.push(&s("board", i as i64 * 1000, 999.0)), None);
            }
            assert_eq!(started, case.started_signals, "{}", case.name);
            let sum = st.summary();
            assert_eq!(sum.excursions.len(), case.expect.len(), "{}", case.name);
            for (e, (start, end, peak)) in sum.excursions.iter().zip(case.expect) {
                assert_eq!(e.start, at(start * 1000), "{}", case.name);
                assert_eq!(e.end, end.map(|x| at(x * 1000)), "{}", case.name);
                assert_eq!(e.peak_c, *peak, "{}", case.name);
            }
        }
    }

    #[test]
    fn non_finite_rejected() {
        let mut st = StepThermal::new(vec![win("tip", 0.0, 1.0)], None);
        assert_eq!(st.push(&s("tip", 0, f64::NAN)), None);
        assert_eq!(st.push(&s("tip", 0, f64::INFINITY)), None);
        let sum = st.summary();
        assert_eq!(sum.rejected, 2);
        assert!(sum.channels.is_empty());
    }

    #[test]
    fn summary_roundtrips_json() {
        let mut st = StepThermal::new(vec![win("tip", 290.0, 330.0)], Some(217.0));
        for (i, v) in [300.0, 340.0, 300.0].iter().enumerate() {
            st.push(&s("tip", i as i64 * 250, *v));
        }
        let sum = st.summary();
        let json = serde_json::to_string(&sum).unwrap_or_default();
        let back: ThermalSummary = serde_json::from_str(&json).expect("roundtrip");
        assert_eq!(back, sum);
    }

    #[test]
    fn digest_is_fixed_and_order_sensitive() {
        let a = s("tip", 0, 300.5);
        let b = s("tip", 250, 301.0);
        let d1 = samples_digest(&[a.clone(), b.clone()]);
        let d2 = samples_digest(&[b.clone(), a.clone()]);
        assert_ne!(d1, d2);
        // The encoding is documented; recompute it by hand.
        let mut h = Sha256::new();
        for x in [&a, &b] {
            h.update((x.time.timestamp_millis() as u64 ^ (1 << 63)).to_be_bytes());
            h.update(3u32.to_be_bytes());
            h.update(b"tip");
            h.update(x.celsius.to_bits().to_be_bytes());
        }
        let expect: [u8; 32] = h.finalize().into();
        assert_eq!(d1, expect);
        assert_eq!(
            hex::encode(samples_digest(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}

impl ThermalSummary {
    /// The per-channel figures a StepCompleted event records, with each channel's
    /// window and how many times it left it.
    pub fn for_record(&self) -> Vec<crate::domain::event::ChannelSummary> {
        self.channels
            .iter()
            .map(|c| {
                let window = self.windows.iter().find(|w| w.channel == c.channel);
                crate::domain::event::ChannelSummary {
                    channel: c.channel.clone(),
                    count: c.count,
                    min_c: c.min_c,
                    max_c: c.max_c,
                    mean_c: c.mean_c,
                    peak_c: c.max_c,
                    above_liquidus_s: c.seconds_above_liquidus,
                    window_min_c: window.map(|w| w.min_c).filter(|v| v.is_finite()),
                    window_max_c: window.map(|w| w.max_c).filter(|v| v.is_finite()),
                    excursions: self
                        .excursions
                        .iter()
                        .filter(|e| e.channel == c.channel)
                        .count() as u32,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod ramp_tests {
    use super::*;
    use chrono::TimeZone;

    fn sample(sec: i64, c: f64) -> Sample {
        Sample {
            channel: "preheat".into(),
            time: Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
                + chrono::Duration::seconds(sec),
            celsius: c,
        }
    }

    #[test]
    fn reaching_the_window_is_not_an_excursion_but_leaving_it_is() {
        let w = Window {
            channel: "preheat".into(),
            min_c: 150.0,
            max_c: 180.0,
        };
        // (temperatures fed in order, excursions expected at the end)
        let cases: &[(&[f64], usize)] = &[
            (&[25.0, 80.0, 140.0], 0),
            (&[25.0, 155.0, 170.0], 0),
            (&[25.0, 155.0, 140.0, 160.0], 1),
            (&[25.0, 160.0, 190.0, 170.0], 1),
            (&[220.0, 170.0, 160.0], 0),
            (&[160.0, 185.0, 170.0, 145.0], 2),
        ];
        for (temps, n) in cases {
            let mut t = StepThermal::new(vec![w.clone()], None);
            for (i, c) in temps.iter().enumerate() {
                t.push(&sample(i as i64, *c));
            }
            assert_eq!(t.summary().excursions.len(), *n, "{temps:?}");
        }
    }
}
