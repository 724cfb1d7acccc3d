//! Figures for the bench application (printed, never asserted):
//! start-up to first frame, runner render time at 120×40, key-to-screen time,
//! and resident memory over a one-hour simulated job at 10 samples/s.
//!
//! Run: `cargo bench --bench tui` (TRAVELER_BENCH_HOURS=0.1 for a short run).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use traveler::instruction::load_dir;
use traveler::store::{OpenOptions, Store};
use traveler::tui::action::{Action, StationUpdate};
use traveler::tui::exec::Executor;
use traveler::tui::runtime::{dispatch, settle};
use traveler::tui::state::{Screen, State};
use traveler::tui::update::update;
use traveler::tui::view::draw;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    traveler::memory::keep_large_allocations_returnable();
    println!("RSS at entry: {:.1} MB", rss_kib() as f64 / 1024.0);
    let dir = tempfile::tempdir().unwrap();
    let instructions = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");

    // Start-up: load instructions, open the store, seed, first frame.
    let t = Instant::now();
    let loaded = load_dir(&instructions);
    let library = Arc::new(loaded.library);
    let store = Store::open(dir.path().join("store"), OpenOptions::default()).unwrap();
    println!("RSS after store open: {:.1} MB", rss_kib() as f64 / 1024.0);
    let seeded = Instant::now();
    traveler::demo::seed(
        &store,
        library.policy.as_ref().unwrap(),
        Utc::now().date_naive(),
    )
    .unwrap();
    // The demo store's instructions are released, as the demo application's are.
    traveler::demo::seed_releases(&store, &library, Utc::now()).unwrap();
    let seed_time = seeded.elapsed();
    let mut state = State::new(library.clone(), "BENCH", Utc::now());
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| draw(&state, f)).unwrap();
    let first_frame = t.elapsed() - seed_time;
    println!(
        "start-up to first frame (without demo seeding): {:.1} ms",
        first_frame.as_secs_f64() * 1e3
    );
    println!(
        "demo roster seeding (5 Argon2id hashes): {:.1} ms",
        seed_time.as_secs_f64() * 1e3
    );
    println!("RSS after start-up: {:.1} MB", rss_kib() as f64 / 1024.0);

    let exec = Executor::new(
        traveler::core::Core::new(store.clone(), library.clone(), "BENCH"),
        dir.path().join("exports"),
    );
    for c in "T100".chars() {
        dispatch(&mut state, &exec, Action::Char(c));
    }
    dispatch(&mut state, &exec, Action::Enter);
    for c in "1111".chars() {
        dispatch(&mut state, &exec, Action::Char(c));
    }
    dispatch(&mut state, &exec, Action::Enter);
    dispatch(&mut state, &exec, Action::Command('n'));
    for v in ["SN-BENCH", "PCA-1", "A", "U1", "NCR-1", ""] {
        for c in v.chars() {
            dispatch(&mut state, &exec, Action::Char(c));
        }
        dispatch(&mut state, &exec, Action::Enter);
    }
    dispatch(&mut state, &exec, Action::Enter);
    dispatch(&mut state, &exec, Action::Enter);
    let bga = library
        .instructions
        .iter()
        .position(|i| i.id() == "WI-BGA-001")
        .unwrap();
    for _ in 0..bga {
        dispatch(&mut state, &exec, Action::Down);
    }
    dispatch(&mut state, &exec, Action::Enter);
    let Screen::Runner(_) = &state.screen else {
        panic!("no runner: {:?}", state.flash);
    };

    // Render time of the runner at 120×40 with a full trace.
    let start = Utc::now();
    for i in 0..2000 {
        let fx = update(
            &mut state,
            Action::Station(StationUpdate::Sample {
                channel: "preheat".into(),
                time: start + chrono::Duration::milliseconds(i * 100),
                celsius: 160.0 + (i as f64 / 50.0).sin() * 5.0,
            }),
        );
        settle(&mut state, &exec, fx);
    }
    let mut renders = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        term.draw(|f| draw(&state, f)).unwrap();
        renders.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "runner render at 120x40: p50 {:.3} ms, p99 {:.3} ms",
        percentile(&mut renders.clone(), 0.5),
        percentile(&mut renders, 0.99)
    );

    // Key to screen: update for a key plus the redraw it causes.
    let mut keys = Vec::new();
    for i in 0..300 {
        let t = Instant::now();
        let a = if i % 2 == 0 { Action::Down } else { Action::Up };
        let fx = update(&mut state, a);
        settle(&mut state, &exec, fx);
        term.draw(|f| draw(&state, f)).unwrap();
        keys.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "key to screen (update + draw, 120x40): p50 {:.3} ms, p99 {:.3} ms",
        percentile(&mut keys.clone(), 0.5),
        percentile(&mut keys, 0.99)
    );

    // One simulated hour at 10 samples/s on three channels, stored in the
    // runtime's batches, redrawn once a second.
    let hours: f64 = std::env::var("TRAVELER_BENCH_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let seconds = (hours * 3600.0) as i64;
    let t = Instant::now();
    let mut rss = Vec::new();
    for s in 0..seconds {
        for tenth in 0..10 {
            let time = start + chrono::Duration::milliseconds(200_000 + s * 1000 + tenth * 100);
            for (ch, base) in [("preheat", 165.0), ("board", 120.0), ("tip", 330.0)] {
                let fx = update(
                    &mut state,
                    Action::Station(StationUpdate::Sample {
                        channel: ch.into(),
                        time,
                        celsius: base + ((s * 10 + tenth) as f64 / 37.0).sin() * 4.0,
                    }),
                );
                settle(&mut state, &exec, fx);
            }
        }
        let fx = update(&mut state, Action::Tick(Utc::now()));
        settle(&mut state, &exec, fx);
        term.draw(|f| draw(&state, f)).unwrap();
        if s % 600 == 0 {
            rss.push((s / 60, rss_kib()));
        }
    }
    rss.push((seconds / 60, rss_kib()));
    println!(
        "simulated {:.1} h at 10 samples/s x 3 channels: {:.1} s wall, {} samples stored",
        hours,
        t.elapsed().as_secs_f64(),
        store.sample_count()
    );
    for (minute, kib) in rss {
        println!("  RSS at minute {minute:>3}: {:.1} MB", kib as f64 / 1024.0);
    }
    let _ = Duration::ZERO;
}
