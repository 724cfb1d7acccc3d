//! Tells a barcode scanner from a person: a scanner types a burst of characters a
//! few milliseconds apart and ends it with Enter. Such a burst becomes one input,
//! so a scan never triggers the single-key commands of the screen it lands on.

use std::time::{Duration, Instant};

/// Longest gap between two characters of one burst. Scanners in keyboard mode send
/// a character every 1–15 ms; nobody types two keys 35 ms apart on purpose.
pub const BURST_GAP: Duration = Duration::from_millis(35);
/// Shortest burst taken for a scan rather than fast typing.
pub const MIN_SCAN_LEN: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assembled {
    /// A character typed by a person: handle it as a key of its own.
    Char(char),
    /// A whole scan, without its terminating Enter.
    Scan(String),
    /// Enter that did not end a scan.
    Enter,
}

#[derive(Default, Debug)]
pub struct ScanAssembler {
    buf: String,
    last: Option<Instant>,
}

impl ScanAssembler {
    pub fn pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Feeds a printable character received at `at`.
    pub fn char(&mut self, c: char, at: Instant) -> Vec<Assembled> {
        let mut out = Vec::new();
        if let Some(last) = self.last
            && at.saturating_duration_since(last) > BURST_GAP
        {
            out.extend(self.flush_as_keys());
        }
        self.buf.push(c);
        self.last = Some(at);
        out
    }

    /// Feeds Enter received at `at`.
    pub fn enter(&mut self, at: Instant) -> Vec<Assembled> {
        let in_burst = self
            .last
            .is_some_and(|last| at.saturating_duration_since(last) <= BURST_GAP);
        if in_burst && self.buf.chars().count() >= MIN_SCAN_LEN {
            self.last = None;
            return vec![Assembled::Scan(std::mem::take(&mut self.buf))];
        }
        let mut out = self.flush_as_keys();
        out.push(Assembled::Enter);
        out
    }

    /// Called on a timer: characters left alone longer than a burst gap were typed.
    pub fn tick(&mut self, now: Instant) -> Vec<Assembled> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) > BURST_GAP => self.flush_as_keys(),
            _ => Vec::new(),
        }
    }

    /// Any other key ends a burst: what came before it was typed.
    pub fn flush_as_keys(&mut self) -> Vec<Assembled> {
        self.last = None;
        std::mem::take(&mut self.buf)
            .chars()
            .map(Assembled::Char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(base: Instant, n: u64) -> Instant {
        base + Duration::from_millis(n)
    }

    #[test]
    fn a_fast_burst_with_enter_is_one_scan() {
        let t = Instant::now();
        let mut a = ScanAssembler::default();
        let mut out = Vec::new();
        for (i, c) in "LOT-4471".chars().enumerate() {
            out.extend(a.char(c, ms(t, i as u64 * 5)));
        }
        out.extend(a.enter(ms(t, 45)));
        assert_eq!(out, vec![Assembled::Scan("LOT-4471".into())]);
        assert!(!a.pending());
    }

    #[test]
    fn slow_typing_stays_keys() {
        let t = Instant::now();
        let mut a = ScanAssembler::default();
        let mut out = Vec::new();
        out.extend(a.char('s', t));
        out.extend(a.tick(ms(t, 100)));
        out.extend(a.char('n', ms(t, 300)));
        out.extend(a.enter(ms(t, 500)));
        assert_eq!(
            out,
            vec![Assembled::Char('s'), Assembled::Char('n'), Assembled::Enter]
        );
    }

    #[test]
    fn a_short_fast_pair_is_not_a_scan() {
        let t = Instant::now();
        let mut a = ScanAssembler::default();
        let mut out = a.char('4', t);
        out.extend(a.char('2', ms(t, 3)));
        out.extend(a.enter(ms(t, 6)));
        assert_eq!(
            out,
            vec![Assembled::Char('4'), Assembled::Char('2'), Assembled::Enter]
        );
    }

    #[test]
    fn tick_inside_a_burst_keeps_it() {
        let t = Instant::now();
        let mut a = ScanAssembler::default();
        a.char('A', t);
        assert!(a.tick(ms(t, 10)).is_empty());
        assert!(a.pending());
    }
}
