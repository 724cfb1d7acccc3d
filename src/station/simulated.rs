//! `simulated`: an in-process station (no port) for the demo and tests. The
//! channel that has the step's window heads for the middle of it, the others
//! settle at ambient; on top come noise, a slow drift and, now and then, an
//! excursion out of the window.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Window;
use super::config::SimulatedConfig;

/// Seconds for a channel to cover ~63 % of the way to its target.
const TIME_CONSTANT_S: f64 = 2.5;

#[derive(Clone, Debug)]
pub struct SimModel {
    cfg: SimulatedConfig,
    rng: StdRng,
    channels: Vec<ChannelState>,
    excursion: Option<ActiveExcursion>,
}

#[derive(Clone, Debug)]
struct ChannelState {
    name: String,
    value: f64,
    drift: f64,
}

#[derive(Clone, Debug)]
struct ActiveExcursion {
    channel: String,
    remaining_s: f64,
    offset: f64,
}

impl SimModel {
    pub fn new(cfg: &SimulatedConfig, channels: &[String]) -> Self {
        let seed = cfg.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        Self {
            cfg: cfg.clone(),
            rng: StdRng::seed_from_u64(seed),
            channels: channels
                .iter()
                .map(|n| ChannelState {
                    name: n.clone(),
                    value: cfg.ambient_c,
                    drift: 0.0,
                })
                .collect(),
            excursion: None,
        }
    }

    /// Advances the model by `dt_s` seconds and returns one value per channel
    /// (same order as given to `new`).
    pub fn step(&mut self, dt_s: f64, target: Option<&Window>) -> Vec<f64> {
        let dt = dt_s.clamp(0.0, 60.0);
        let alpha = 1.0 - (-dt / TIME_CONSTANT_S).exp();

        if let Some(exc) = &mut self.excursion {
            exc.remaining_s -= dt;
            if exc.remaining_s <= 0.0 {
                self.excursion = None;
            }
        }
        if self.excursion.is_none()
            && let Some(w) = target
            && self.cfg.excursion_every_s > 0.0
            && self
                .rng
                .gen_bool((dt / self.cfg.excursion_every_s).clamp(0.0, 1.0))
        {
            let half = (w.max_c - w.min_c).abs() / 2.0;
            let size = half + self.rng.gen_range(3.0..10.0);
            let sign = if self.rng.gen_bool(0.7) { 1.0 } else { -1.0 };
            self.excursion = Some(ActiveExcursion {
                channel: w.channel.clone(),
                remaining_s: self.rng.gen_range(1.5..5.0),
                offset: sign * size,
            });
        }

        let mut out = Vec::with_capacity(self.channels.len());
        for ch in &mut self.channels {
            let goal = match target {
                Some(w) if w.channel == ch.name => (w.min_c + w.max_c) / 2.0,
                _ => self.cfg.ambient_c,
            };
            ch.value += (goal - ch.value) * alpha;
            let step = self.rng.gen_range(-1.0..1.0) * 0.2 * dt.sqrt();
            ch.drift = (ch.drift + step).clamp(-self.cfg.drift_c, self.cfg.drift_c);
            // Sum of uniforms: bell-shaped noise without another dependency.
            let noise: f64 =
                (0..4).map(|_| self.rng.gen_range(-1.0..1.0)).sum::<f64>() / 2.0 * self.cfg.noise_c;
            let exc = match &self.excursion {
                Some(e) if e.channel == ch.name => e.offset,
                _ => 0.0,
            };
            out.push(ch.value + ch.drift + noise + exc);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["tip".into(), "board".into()]
    }

    fn window() -> Window {
        Window {
            channel: "tip".into(),
            min_c: 320.0,
            max_c: 360.0,
        }
    }

    #[test]
    fn seeded_is_deterministic() {
        let cfg = SimulatedConfig {
            seed: Some(42),
            ..SimulatedConfig::default()
        };
        let mut a = SimModel::new(&cfg, &names());
        let mut b = SimModel::new(&cfg, &names());
        for _ in 0..200 {
            assert_eq!(a.step(0.25, Some(&window())), b.step(0.25, Some(&window())));
        }
    }

    #[test]
    fn follows_window_then_ambient() {
        let cfg = SimulatedConfig {
            seed: Some(1),
            excursion_every_s: 0.0,
            ..SimulatedConfig::default()
        };
        let mut m = SimModel::new(&cfg, &names());
        let mut last = vec![];
        for _ in 0..240 {
            last = m.step(0.25, Some(&window()));
        }
        assert!((last[0] - 340.0).abs() < 5.0, "tip {}", last[0]);
        assert!((last[1] - 25.0).abs() < 5.0, "board {}", last[1]);
        for _ in 0..240 {
            last = m.step(0.25, None);
        }
        assert!(
            (last[0] - 25.0).abs() < 5.0,
            "tip back to ambient {}",
            last[0]
        );
    }

    #[test]
    fn excursions_happen() {
        let cfg = SimulatedConfig {
            seed: Some(3),
            excursion_every_s: 10.0,
            ..SimulatedConfig::default()
        };
        let mut m = SimModel::new(&cfg, &names());
        let w = window();
        let mut outside = 0;
        for i in 0..2400 {
            let v = m.step(0.25, Some(&w));
            if i > 120 && !w.contains(v[0]) {
                outside += 1;
            }
        }
        assert!(outside > 10, "no excursion in 10 minutes: {outside}");
    }
}
