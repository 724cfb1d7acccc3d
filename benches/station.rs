//! Station figures (printed, never asserted):
//! 1. the highest ascii-line sample rate sustained from a pty with zero loss;
//! 2. CPU used by the reader at 10 samples/s.
//!
//! Run: `cargo bench --bench station`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio_serial::{SerialPort, SerialStream};
use traveler::cli::station::shortcut_config;
use traveler::station::config::{AsciiLineConfig, Protocol, StationConfig};
use traveler::station::{StationEvent, StationStatus};

fn config(port: &str) -> StationConfig {
    let mut cfg = shortcut_config("ascii-line", Some(port), 115_200).expect("config");
    cfg.protocol = Protocol::AsciiLine(AsciiLineConfig {
        fields: Some([("tip".to_string(), 1)].into()),
        ..AsciiLineConfig::default()
    });
    cfg.channels.truncate(1);
    cfg.channels[0].name = "tip".into();
    cfg
}

/// The line for sample `seq`; its value encodes seq so loss and order show.
fn line(seq: u64) -> String {
    format!("25.00,{:.1}\n", (seq % 10_000) as f64 / 10.0)
}

fn seq_value(seq: u64) -> f64 {
    ((seq % 10_000) as f64 / 10.0 * 10.0).round() / 10.0
}

struct Run {
    sent: u64,
    received: u64,
    in_order: bool,
    achieved_hz: f64,
}

/// Writes `rate` lines/s for `secs` from a writer thread and counts what the reader delivers.
fn run_rate(rate: f64, secs: f64) -> Run {
    let (master, slave) = pty_on_own_runtime();
    let path = PathBuf::from(slave.name().expect("pty name"));
    let total = (rate * secs) as u64;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let (rt, mut m) = master;
        rt.block_on(async move {
            let _ = ready_rx.recv();
            let start = Instant::now();
            let mut sent = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            let mut buf = String::new();
            while sent < total {
                tick.tick().await;
                let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
                buf.clear();
                while sent < due {
                    buf.push_str(&line(sent));
                    sent += 1;
                }
                if m.write_all(buf.as_bytes()).await.is_err() {
                    break;
                }
            }
            let took = start.elapsed().as_secs_f64();
            // Keep the pty open until the reader has drained it.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            (sent, took)
        })
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (received, in_order) = rt.block_on(async {
        let (_w, wrx) = watch::channel(None);
        let (mut rx, handle) =
            traveler::station::spawn(config(&path.to_string_lossy()), wrx).expect("spawn");
        loop {
            match rx.recv().await {
                Some(StationEvent::Status(StationStatus::Connected { .. })) => break,
                Some(_) => {}
                None => return (0, false),
            }
        }
        let _ = ready_tx.send(());
        let mut received = 0u64;
        let mut in_order = true;
        let deadline = Instant::now() + Duration::from_secs_f64(secs + 1.2);
        while received < total {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(StationEvent::Sample(s))) => {
                    if (s.celsius - seq_value(received)).abs() > 0.01 {
                        in_order = false;
                    }
                    received += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        handle.stop().await;
        (received, in_order)
    });
    let (sent, took) = writer.join().expect("writer");
    drop(slave);
    Run {
        sent,
        received,
        in_order,
        achieved_hz: sent as f64 / took.max(1e-9),
    }
}

/// A pty pair whose master belongs to a runtime the writer thread will drive.
fn pty_on_own_runtime() -> ((tokio::runtime::Runtime, SerialStream), SerialStream) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (m, s) = {
        let _g = rt.enter();
        SerialStream::pair().expect("pty")
    };
    ((rt, m), s)
}

fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU of the reader thread (its runtime runs on this thread alone) while a
/// writer thread sends 10 lines/s for `secs`.
fn cpu_at_10hz(secs: u64) -> (f64, u64) {
    let (master, slave) = pty_on_own_runtime();
    let path = PathBuf::from(slave.name().expect("pty name"));
    let writer = std::thread::spawn(move || {
        let (rt, mut m) = master;
        rt.block_on(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            for seq in 0..(secs * 10 + 5) {
                tick.tick().await;
                if m.write_all(line(seq).as_bytes()).await.is_err() {
                    break;
                }
            }
        })
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (cpu, wall, n) = rt.block_on(async {
        let (_w, wrx) = watch::channel(None);
        let (mut rx, handle) =
            traveler::station::spawn(config(&path.to_string_lossy()), wrx).expect("spawn");
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < Duration::from_secs(secs) {
            let left = Duration::from_secs(secs).saturating_sub(t0.elapsed());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(StationEvent::Sample(_))) => n += 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        let r = (thread_cpu() - cpu0, t0.elapsed(), n);
        handle.stop().await;
        r
    });
    let _ = writer.join();
    drop(slave);
    (cpu.as_secs_f64() / wall.as_secs_f64() * 100.0, n)
}

fn main() {
    println!("station bench: ascii-line over a pty (one sample per line)");
    let mut best = 0.0;
    for rate in [
        500.0, 1000.0, 1400.0, 2000.0, 5000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0,
    ] {
        let r = run_rate(rate, 2.0);
        let lossless = r.received == r.sent && r.in_order;
        let kept_pace = r.achieved_hz >= 0.98 * rate;
        println!(
            "  target {:>7.0}/s: sent {:>6} received {:>6} in order {:<5} writer pace {:>8.0}/s -> {}",
            rate,
            r.sent,
            r.received,
            r.in_order,
            r.achieved_hz,
            if lossless && kept_pace {
                "sustained"
            } else {
                "NOT sustained"
            }
        );
        if lossless && kept_pace {
            best = rate;
        } else {
            break;
        }
    }
    println!("highest sustained rate with zero loss: {best:.0} samples/s (goal >= 1000)");
    let secs = 10;
    let (pct, n) = cpu_at_10hz(secs);
    println!(
        "reader CPU at 10 samples/s over {secs} s: {pct:.3} % of one core ({n} samples; goal < 2 %)"
    );
}
