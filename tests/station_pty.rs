//! The reader against the simulator over real pseudo-terminal pairs.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use tokio_serial::{SerialPort, SerialStream};
use traveler::cli::station::shortcut_config;
use traveler::station::config::StationConfig;
use traveler::station::sim::{self, SimEvent, SimOptions, SimProtocol};
use traveler::station::{StationEvent, StationHandle, StationStatus, Window};

/// Generous for a loaded 2-core CI box; tests finish as soon as things happen.
const WAIT: Duration = Duration::from_secs(10);

struct Sim {
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    events: mpsc::UnboundedReceiver<SimEvent>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sim {
    async fn start(opts: SimOptions) -> (Sim, PathBuf) {
        let (tx, mut events) = mpsc::unbounded_channel();
        let task = tokio::spawn(sim::run(opts, tx));
        let path = match timeout(WAIT, events.recv()).await {
            Ok(Some(SimEvent::Ready { path })) => path,
            other => panic!("simulator did not come up: {other:?}"),
        };
        (Sim { task, events }, path)
    }

    async fn next(&mut self) -> SimEvent {
        timeout(WAIT, self.events.recv())
            .await
            .expect("simulator event in time")
            .expect("simulator running")
    }

    async fn kill(self) {
        self.task.abort();
        let _ = (&mut { self }.task).await;
    }
}

fn link_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("bench0")
}

fn opts(protocol: SimProtocol, link: &std::path::Path) -> SimOptions {
    SimOptions {
        protocol,
        link: Some(link.to_path_buf()),
        rate_hz: 20.0,
        ..SimOptions::default()
    }
}

fn config(protocol: &str, port: &std::path::Path) -> StationConfig {
    let mut cfg =
        shortcut_config(protocol, Some(&port.to_string_lossy()), 9600).expect("shortcut config");
    cfg.poll_interval_ms = 50;
    cfg.stale_timeout_ms = 2000;
    cfg
}

fn start_reader(
    cfg: StationConfig,
) -> (
    mpsc::Receiver<StationEvent>,
    StationHandle,
    watch::Sender<Option<Window>>,
) {
    let (wtx, wrx) = watch::channel(None);
    let (rx, handle) = traveler::station::spawn(cfg, wrx).expect("valid config");
    (rx, handle, wtx)
}

async fn until<T>(
    rx: &mut mpsc::Receiver<StationEvent>,
    what: &str,
    mut pick: impl FnMut(&StationEvent) -> Option<T>,
) -> T {
    let found = timeout(WAIT, async {
        while let Some(ev) = rx.recv().await {
            if let Some(t) = pick(&ev) {
                return Some(t);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(t)) => t,
        Ok(None) => panic!("reader stopped while waiting for {what}"),
        Err(_) => panic!("no {what} within {WAIT:?}"),
    }
}

/// Collects samples until every channel in `names` has `n` of them.
async fn samples_of(
    rx: &mut mpsc::Receiver<StationEvent>,
    names: &[&str],
    n: usize,
) -> Vec<(String, f64)> {
    let mut got: Vec<(String, f64)> = vec![];
    until(rx, "samples of every channel", |ev| {
        if let StationEvent::Sample(s) = ev {
            assert!(s.celsius.is_finite());
            got.push((s.channel.clone(), s.celsius));
        }
        names
            .iter()
            .all(|c| got.iter().filter(|(g, _)| g == c).count() >= n)
            .then_some(())
    })
    .await;
    got
}

fn plausible(samples: &[(String, f64)], setpoint: f64) {
    for (ch, c) in samples {
        assert!((15.0..=setpoint + 5.0).contains(c), "{ch} reads {c}");
    }
}

async fn readings_for(protocol: SimProtocol, name: &str, channels: &[&str]) {
    let dir = tempfile::tempdir().expect("tmp");
    let link = link_in(&dir);
    let (_sim, _pty) = Sim::start(opts(protocol, &link)).await;
    let (mut rx, _h, _w) = start_reader(config(name, &link));
    until(&mut rx, "connected", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Connected { .. })).then_some(())
    })
    .await;
    let got = samples_of(&mut rx, channels, 3).await;
    plausible(&got, 340.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_line_readings() {
    readings_for(
        SimProtocol::AsciiLine,
        "ascii-line",
        &["tip", "preheat", "board"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_rtu_readings() {
    readings_for(
        SimProtocol::ModbusRtu,
        "modbus-rtu",
        &["tip", "preheat", "board"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn center309_readings_and_absent_probe() {
    let dir = tempfile::tempdir().expect("tmp");
    let link = link_in(&dir);
    let mut o = opts(SimProtocol::Center309, &link);
    o.open_probes = vec![4];
    let (_sim, _) = Sim::start(o).await;
    let (mut rx, _h, _w) = start_reader(config("center-309", &link));
    let got = samples_of(&mut rx, &["t1", "t2", "t3"], 5).await;
    plausible(&got, 340.0);
    assert!(
        got.iter().all(|(c, _)| c != "t4"),
        "unplugged probe gave a reading"
    );
    // the hottest probe is T1 in the simulator's profile
    let last = |c: &str| {
        got.iter()
            .rev()
            .find(|(g, _)| g == c)
            .map(|(_, v)| *v)
            .unwrap_or(0.0)
    };
    assert!(last("t1") > last("t3"));
}

async fn disconnect_and_reconnect(protocol: SimProtocol, name: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let link = link_in(&dir);
    let mut o = opts(protocol, &link);
    o.unplug_after = Some(Duration::from_millis(1500));
    o.unplug_for = Duration::from_secs(2);
    let (mut sim, _) = Sim::start(o).await;
    let (mut rx, _h, _w) = start_reader(config(name, &link));
    until(&mut rx, "first connect", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Connected { .. })).then_some(())
    })
    .await;
    until(&mut rx, "a sample", |ev| {
        matches!(ev, StationEvent::Sample(_)).then_some(())
    })
    .await;
    assert!(matches!(sim.next().await, SimEvent::Unplugged { .. }));
    let reason = until(&mut rx, "disconnect", |ev| match ev {
        StationEvent::Status(StationStatus::Disconnected { reason, .. }) => Some(reason.clone()),
        _ => None,
    })
    .await;
    // Reported while the cable is still out, i.e. from the hang-up itself.
    assert!(
        sim.events.try_recv().is_err(),
        "disconnect ({reason}) seen only after the replug"
    );
    assert!(matches!(sim.next().await, SimEvent::Ready { .. }));
    until(&mut rx, "reconnect", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Connected { .. })).then_some(())
    })
    .await;
    until(&mut rx, "a sample after reconnect", |ev| {
        matches!(ev, StationEvent::Sample(_)).then_some(())
    })
    .await;
    sim.kill().await;
    until(&mut rx, "disconnect when the simulator dies", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Disconnected { .. })).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_line_disconnect_reconnect() {
    disconnect_and_reconnect(SimProtocol::AsciiLine, "ascii-line").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_rtu_disconnect_reconnect() {
    disconnect_and_reconnect(SimProtocol::ModbusRtu, "modbus-rtu").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn center309_disconnect_reconnect() {
    disconnect_and_reconnect(SimProtocol::Center309, "center-309").await;
}

async fn garbage_counted(protocol: SimProtocol, name: &str, channels: &[&str]) {
    let dir = tempfile::tempdir().expect("tmp");
    let link = link_in(&dir);
    let mut o = opts(protocol, &link);
    // Not a multiple of the three Modbus polls per round, so every channel
    // still gets good answers between spoiled ones.
    o.garbage_every = Some(4);
    let (_sim, _) = Sim::start(o).await;
    let (mut rx, _h, _w) = start_reader(config(name, &link));
    let mut samples = vec![];
    let stats = until(&mut rx, "bad-frame report", |ev| match ev {
        StationEvent::Sample(s) => {
            samples.push((s.channel.clone(), s.celsius));
            None
        }
        StationEvent::Status(StationStatus::BadFrames(st)) => Some(*st),
        _ => None,
    })
    .await;
    assert!(stats.bad() > 0);
    samples.extend(samples_of(&mut rx, channels, 3).await);
    plausible(&samples, 340.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_line_garbage() {
    garbage_counted(
        SimProtocol::AsciiLine,
        "ascii-line",
        &["tip", "preheat", "board"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_rtu_bad_crc() {
    garbage_counted(
        SimProtocol::ModbusRtu,
        "modbus-rtu",
        &["tip", "preheat", "board"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn center309_garbage() {
    garbage_counted(
        SimProtocol::Center309,
        "center-309",
        &["t1", "t2", "t3", "t4"],
    )
    .await;
}

/// A device that answers every Modbus poll with noise: no sample may come out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_noise_gives_no_reading() {
    use rand::{Rng, SeedableRng};
    use tokio::io::AsyncReadExt;
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = PathBuf::from(slave.name().expect("name"));
    let device = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut buf = [0u8; 256];
        loop {
            match master.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let n = rng.gen_range(1..40);
                    let noise: Vec<u8> = (0..n).map(|_| rng.r#gen()).collect();
                    if master.write_all(&noise).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut cfg = config("modbus-rtu", &path);
    if let traveler::station::config::Protocol::ModbusRtu(m) = &mut cfg.protocol {
        m.timeout_ms = 100;
    }
    let (mut rx, _h, _w) = start_reader(cfg);
    let stats = until(&mut rx, "bad frames from noise", |ev| match ev {
        StationEvent::Sample(s) => panic!("false reading from noise: {s:?}"),
        StationEvent::Status(StationStatus::BadFrames(st)) if st.bad() >= 6 => Some(*st),
        _ => None,
    })
    .await;
    assert_eq!(stats.good, 0);
    device.abort();
    drop(slave);
}

/// Connected but silent: stale, then receiving again when lines come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_then_receiving() {
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = PathBuf::from(slave.name().expect("name"));
    let mut cfg = config("ascii-line", &path);
    cfg.stale_timeout_ms = 300;
    let (mut rx, _h, _w) = start_reader(cfg);
    until(&mut rx, "connected", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Connected { .. })).then_some(())
    })
    .await;
    until(&mut rx, "stale", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Stale { .. })).then_some(())
    })
    .await;
    master
        .write_all(b"25.0,301.5,150.0,60.0\n")
        .await
        .expect("write");
    until(&mut rx, "receiving", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Receiving)).then_some(())
    })
    .await;
    let s = until(&mut rx, "the sample", |ev| match ev {
        StationEvent::Sample(s) if s.channel == "tip" => Some(s.celsius),
        _ => None,
    })
    .await;
    assert_eq!(s, 301.5);
    drop(slave);
}

/// The in-process simulated station follows the step's window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_follows_window() {
    let mut cfg = StationConfig::demo_simulated();
    cfg.poll_interval_ms = 20;
    if let traveler::station::config::Protocol::Simulated(s) = &mut cfg.protocol {
        s.seed = Some(5);
        s.excursion_every_s = 0.0;
    }
    let (mut rx, _h, wtx) = start_reader(cfg);
    wtx.send_replace(Some(Window {
        channel: "tip".into(),
        min_c: 100.0,
        max_c: 140.0,
    }));
    // The model lags like a real tip; wait until it is in the window.
    until(&mut rx, "tip inside its window", |ev| match ev {
        StationEvent::Sample(s) if s.channel == "tip" && (100.0..=140.0).contains(&s.celsius) => {
            Some(())
        }
        _ => None,
    })
    .await;
}

/// The port is missing at start: the reader says so and connects once it appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_when_port_appears() {
    let dir = tempfile::tempdir().expect("tmp");
    let link = link_in(&dir);
    let (mut rx, _h, _w) = start_reader(config("center-309", &link));
    until(&mut rx, "disconnected (no port yet)", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Disconnected { .. })).then_some(())
    })
    .await;
    let (_sim, _) = Sim::start(opts(SimProtocol::Center309, &link)).await;
    samples_of(&mut rx, &["t1", "t2", "t3", "t4"], 1).await;
}

/// The first `n` statuses and every sample until `stop` says enough.
async fn watch_until(
    rx: &mut mpsc::Receiver<StationEvent>,
    what: &str,
    mut stop: impl FnMut(&StationEvent) -> bool,
) -> Vec<StationEvent> {
    let mut seen = vec![];
    until(rx, what, |ev| {
        seen.push(ev.clone());
        stop(ev).then_some(())
    })
    .await;
    seen
}

fn disconnects(seen: &[StationEvent]) -> Vec<String> {
    seen.iter()
        .filter_map(|ev| match ev {
            StationEvent::Status(StationStatus::Disconnected { reason, .. }) => {
                Some(reason.clone())
            }
            _ => None,
        })
        .collect()
}

/// Values no type K probe can read (below absolute zero, far above its range)
/// are bad frames, never samples; the next good line reads as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascii_line_impossible_values_are_bad_frames_not_readings() {
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = PathBuf::from(slave.name().expect("name"));
    let (mut rx, _h, _w) = start_reader(config("ascii-line", &path));
    until(&mut rx, "connected", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Connected { .. })).then_some(())
    })
    .await;
    master
        .write_all(b"25,-273.16,-500,10000\n25,1500.0,150.0,60.0\n")
        .await
        .expect("write");
    let seen = watch_until(
        &mut rx,
        "implausible counted",
        |ev| matches!(ev, StationEvent::Status(StationStatus::BadFrames(s)) if s.implausible >= 3),
    )
    .await;
    master
        .write_all(b"25.0,301.5,150.0,60.0\n")
        .await
        .expect("write");
    let tip = until(&mut rx, "the good sample", |ev| match ev {
        StationEvent::Sample(s) if s.channel == "tip" => Some(s.celsius),
        _ => None,
    })
    .await;
    assert_eq!(tip, 301.5);
    for ev in &seen {
        if let StationEvent::Sample(s) = ev {
            // The second line's preheat and board are fine; its tip (1500 °C) is not.
            assert!(
                (s.channel == "preheat" && s.celsius == 150.0)
                    || (s.channel == "board" && s.celsius == 60.0),
                "impossible reading came through: {s:?}"
            );
        }
    }
    drop(slave);
}

/// A configured range narrower than the probe's: a board thermocouple that
/// reads 250 °C is off its stand, not a reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_plausible_range_is_applied() {
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = PathBuf::from(slave.name().expect("name"));
    let mut cfg = config("ascii-line", &path);
    let board = cfg.channels.iter_mut().find(|c| c.name == "board").unwrap();
    board.plausible_c = Some(traveler::station::config::PlausibleRange {
        min: 0.0,
        max: 200.0,
    });
    let (mut rx, _h, _w) = start_reader(cfg);
    until(&mut rx, "connected", |ev| {
        matches!(ev, StationEvent::Status(StationStatus::Connected { .. })).then_some(())
    })
    .await;
    master
        .write_all(b"25,300.0,150.0,250.0\n25,301.0,151.0,61.0\n")
        .await
        .expect("write");
    let boards: Vec<f64> = watch_until(
        &mut rx,
        "board sample",
        |ev| matches!(ev, StationEvent::Sample(s) if s.channel == "board"),
    )
    .await
    .into_iter()
    .filter_map(|ev| match ev {
        StationEvent::Sample(s) if s.channel == "board" => Some(s.celsius),
        _ => None,
    })
    .collect();
    assert_eq!(boards, vec![61.0]);
    drop(slave);
}

/// A meter that answers every poll with 45 random bytes between the right
/// markers: no reading may come out, every frame is counted bad.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn center309_noise_between_markers_gives_no_reading() {
    use rand::{Rng, SeedableRng};
    use tokio::io::AsyncReadExt;
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = PathBuf::from(slave.name().expect("name"));
    let device = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut buf = [0u8; 64];
        loop {
            match master.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let mut frame: Vec<u8> = (0..45).map(|_| rng.r#gen()).collect();
                    frame[0] = 0x02;
                    frame[44] = 0x03;
                    // No other start marker inside, so each reply is one frame.
                    for b in &mut frame[1..44] {
                        if *b == 0x02 {
                            *b = 0x12;
                        }
                    }
                    if master.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let (mut rx, _h, _w) = start_reader(config("center-309", &path));
    let stats = until(&mut rx, "bad frames from noise", |ev| match ev {
        StationEvent::Sample(s) => panic!("false reading from noise: {s:?}"),
        StationEvent::Status(StationStatus::BadFrames(st)) if st.bad() >= 20 => Some(*st),
        _ => None,
    })
    .await;
    assert_eq!(stats.good, 0, "{stats:?}");
    device.abort();
    drop(slave);
}

/// Replies with a spoiled CRC are bad-checksum frames, not "no answer", and
/// the connection stays up; good replies in between still read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_bad_crc_is_a_bad_checksum_and_the_port_stays_connected() {
    let dir = tempfile::tempdir().expect("tmp");
    let link = link_in(&dir);
    let mut o = opts(SimProtocol::ModbusRtu, &link);
    o.garbage_every = Some(4);
    let (_sim, _) = Sim::start(o).await;
    let (mut rx, _h, _w) = start_reader(config("modbus-rtu", &link));
    let mut stats = None;
    let seen = watch_until(&mut rx, "several bad CRCs", |ev| match ev {
        StationEvent::Status(StationStatus::BadFrames(s)) if s.bad_checksum >= 3 => {
            stats = Some(*s);
            true
        }
        _ => false,
    })
    .await;
    let stats = stats.unwrap();
    assert_eq!(stats.no_answer, 0, "{stats:?}");
    assert!(stats.good > 0, "{stats:?}");
    assert_eq!(disconnects(&seen), Vec::<String>::new());
    assert!(seen.iter().any(|e| matches!(e, StationEvent::Sample(_))));
}

/// A device answering noise: bad frames, and still connected (no "Too many
/// retries" disconnect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_noise_keeps_the_port_connected() {
    use rand::{Rng, SeedableRng};
    use tokio::io::AsyncReadExt;
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = PathBuf::from(slave.name().expect("name"));
    let device = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut buf = [0u8; 256];
        loop {
            match master.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let n = rng.gen_range(1..60);
                    let noise: Vec<u8> = (0..n).map(|_| rng.r#gen()).collect();
                    if master.write_all(&noise).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut cfg = config("modbus-rtu", &path);
    if let traveler::station::config::Protocol::ModbusRtu(m) = &mut cfg.protocol {
        m.timeout_ms = 100;
    }
    let (mut rx, _h, _w) = start_reader(cfg);
    let seen = watch_until(
        &mut rx,
        "many bad frames",
        |ev| matches!(ev, StationEvent::Status(StationStatus::BadFrames(s)) if s.bad() >= 30),
    )
    .await;
    assert_eq!(disconnects(&seen), Vec::<String>::new());
    assert!(!seen.iter().any(|e| matches!(e, StationEvent::Sample(_))));
    device.abort();
    drop(slave);
}

/// `traveler station probe` on a real pty: impossible values are reported as
/// implausible bad frames and never printed as readings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_binary_reports_impossible_values_as_bad_frames() {
    use std::io::BufRead;
    let (mut master, slave) = SerialStream::pair().expect("pty");
    let path = slave.name().expect("name");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_traveler"))
        .args([
            "station",
            "probe",
            "--protocol",
            "ascii-line",
            "--port",
            &path,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("probe starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, mut lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = vec![];
    let found = timeout(WAIT, async {
        let mut sent = false;
        while let Some(l) = lines.recv().await {
            if l.contains("# connected") && !sent {
                master
                    .write_all(b"25,-273.16,-500,10000\n")
                    .await
                    .expect("write");
                sent = true;
            }
            let done = l.contains("implausible 2");
            seen.push(l);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(found, Ok(true), "{seen:#?}");
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("-273.2") || l.contains("-500.0")),
        "{seen:#?}"
    );
    drop(slave);
}
