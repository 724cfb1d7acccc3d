//! The runner's view of a step's temperature: per-channel running figures for the
//! step summary and a bounded trace for the chart.

use chrono::{DateTime, Utc};

use crate::domain::event::ChannelSummary;

#[derive(Clone, Debug, Default, PartialEq)]
struct Channel {
    name: String,
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    above_liquidus_s: f64,
    last: Option<(DateTime<Utc>, f64)>,
    excursions: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepTemperature {
    channels: Vec<Channel>,
    liquidus_c: Option<f64>,
}

impl StepTemperature {
    pub fn new(liquidus_c: Option<f64>) -> Self {
        StepTemperature {
            channels: Vec::new(),
            liquidus_c,
        }
    }

    pub fn add(&mut self, channel: &str, time: DateTime<Utc>, celsius: f64) {
        if !celsius.is_finite() {
            return;
        }
        let idx = match self.channels.iter().position(|c| c.name == channel) {
            Some(i) => i,
            None => {
                self.channels.push(Channel {
                    name: channel.to_string(),
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    ..Channel::default()
                });
                self.channels.len() - 1
            }
        };
        let liquidus = self.liquidus_c;
        let c = &mut self.channels[idx];
        c.count += 1;
        c.min = c.min.min(celsius);
        c.max = c.max.max(celsius);
        c.sum += celsius;
        // Time above liquidus counts the interval before a sample when both ends are above.
        if let (Some(l), Some((t0, v0))) = (liquidus, c.last)
            && v0 > l
            && celsius > l
        {
            let dt = (time - t0).num_milliseconds().max(0) as f64 / 1000.0;
            c.above_liquidus_s += dt;
        }
        c.last = Some((time, celsius));
    }

    pub fn count_excursion(&mut self, channel: &str) {
        if let Some(c) = self.channels.iter_mut().find(|c| c.name == channel) {
            c.excursions += 1;
        }
    }

    pub fn summary(&self, window: Option<(&str, f64, f64)>) -> Vec<ChannelSummary> {
        self.channels
            .iter()
            .map(|c| {
                let w = window.filter(|(ch, _, _)| *ch == c.name);
                ChannelSummary {
                    channel: c.name.clone(),
                    count: c.count,
                    min_c: c.min,
                    max_c: c.max,
                    mean_c: if c.count > 0 {
                        c.sum / c.count as f64
                    } else {
                        0.0
                    },
                    peak_c: c.max,
                    above_liquidus_s: (c.above_liquidus_s * 10.0).round() / 10.0,
                    window_min_c: w.map(|w| w.1).filter(|v| v.is_finite()),
                    window_max_c: w.map(|w| w.2).filter(|v| v.is_finite()),
                    excursions: c.excursions,
                }
            })
            .collect()
    }
}
