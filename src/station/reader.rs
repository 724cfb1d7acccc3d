//! The reader: one tokio task that owns the port, turns bytes into samples
//! and status, and reconnects by itself when the port goes away.

use std::time::Duration;

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep, sleep_until, timeout};
use tokio_serial::SerialStream;

use super::ascii_line::LineParser;
use super::center309::{self, Center309Parser};
use super::config::{
    LineMode, ModbusConfig, Protocol, SimulatedConfig, StationConfig, ValidationError,
};
use super::modbus_rtu::{ReadRequest, Reply, judge_reply};
use super::simulated::SimModel;
use super::{
    FrameStats, Reading, Sample, StationEvent, StationStatus, TargetWindow, modbus_rtu, port,
};

/// Room for a few seconds of samples at the fastest rate before the reader
/// waits for the app (it never drops a sample to keep going).
pub const CHANNEL_CAPACITY: usize = 8192;
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// A connection that lived this long was healthy: start backing off afresh.
const HEALTHY_AFTER: Duration = Duration::from_secs(2);
const BAD_FRAME_REPORT_EVERY: Duration = Duration::from_secs(1);

/// Keeps the reader alive; dropping it stops the task and closes the port.
#[derive(Debug)]
pub struct StationHandle {
    task: tokio::task::JoinHandle<()>,
}

impl StationHandle {
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the reader and waits until the port is closed.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for StationHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the reader for `config` (must be called inside a tokio runtime).
/// `target` is the current step's window; only the simulated station uses it.
/// Returns at once; events arrive on the receiver.
pub fn spawn(
    config: StationConfig,
    target: watch::Receiver<Option<TargetWindow>>,
) -> Result<(mpsc::Receiver<StationEvent>, StationHandle), ValidationError> {
    config.validate()?;
    // Parsers are built once here so a config they refuse is reported now.
    let wire = Wire::new(&config).map_err(|message| ValidationError {
        path: vec![],
        message,
    })?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let out = Out::new(tx, &config);
    let task = tokio::spawn(run(config, wire, target, out));
    Ok((rx, StationHandle { task }))
}

/// Byte-oriented protocols share one session loop.
#[derive(Clone, Debug)]
enum Wire {
    Line(LineParser, Option<Vec<u8>>),
    Center(Center309Parser),
    Modbus(ModbusConfig),
    Simulated(SimulatedConfig),
}

impl Wire {
    fn new(cfg: &StationConfig) -> Result<Self, String> {
        Ok(match &cfg.protocol {
            Protocol::AsciiLine(a) => {
                let request = (a.mode == LineMode::Poll)
                    .then(|| a.request.clone().unwrap_or_default().into_bytes());
                Wire::Line(LineParser::new(a, &cfg.channels)?, request)
            }
            Protocol::Center309(c) => {
                let probes: Vec<(u8, usize)> = match &c.probes {
                    Some(map) => cfg
                        .channels
                        .iter()
                        .enumerate()
                        .filter_map(|(i, ch)| map.get(&ch.name).map(|p| (*p, i)))
                        .collect(),
                    None => (0..cfg.channels.len().min(4))
                        .map(|i| (i as u8 + 1, i))
                        .collect(),
                };
                let ranges = cfg.channels.iter().map(|c| c.plausible()).collect();
                Wire::Center(Center309Parser::new(&probes).with_ranges(ranges))
            }
            Protocol::ModbusRtu(m) => Wire::Modbus(m.clone()),
            Protocol::Simulated(s) => Wire::Simulated(s.clone()),
        })
    }

    fn push(&mut self, bytes: &[u8], out: &mut Vec<Reading>) {
        match self {
            Wire::Line(p, _) => p.push(bytes, out),
            Wire::Center(p) => p.push(bytes, out),
            _ => {}
        }
    }

    fn stats(&self) -> FrameStats {
        match self {
            Wire::Line(p, _) => p.stats(),
            Wire::Center(p) => p.stats(),
            _ => FrameStats::default(),
        }
    }

    fn has_partial(&self) -> bool {
        match self {
            Wire::Line(p, _) => p.has_partial(),
            Wire::Center(p) => p.has_partial(),
            _ => false,
        }
    }

    fn reset(&mut self) {
        match self {
            Wire::Line(p, _) => p.reset(),
            Wire::Center(p) => p.reset(),
            _ => {}
        }
    }

    fn request(&self) -> Option<Vec<u8>> {
        match self {
            Wire::Line(_, r) => r.clone(),
            Wire::Center(_) => Some(vec![center309::POLL]),
            _ => None,
        }
    }
}

/// The sending side, with the little state needed to report status sparingly.
struct Out {
    tx: mpsc::Sender<StationEvent>,
    channels: Vec<String>,
    stale_timeout: Duration,
    last_sample: Instant,
    stale: bool,
    reported_bad: u64,
    last_bad_report: Option<Instant>,
}

/// The receiver is gone: the app does not want samples any more.
struct Closed;

impl Out {
    fn new(tx: mpsc::Sender<StationEvent>, cfg: &StationConfig) -> Self {
        Self {
            tx,
            channels: cfg.channels.iter().map(|c| c.name.clone()).collect(),
            stale_timeout: Duration::from_millis(cfg.stale_timeout_ms),
            last_sample: Instant::now(),
            stale: false,
            reported_bad: 0,
            last_bad_report: None,
        }
    }

    async fn send(&self, ev: StationEvent) -> Result<(), Closed> {
        self.tx.send(ev).await.map_err(|_| Closed)
    }

    async fn status(&self, s: StationStatus) -> Result<(), Closed> {
        self.send(StationEvent::Status(s)).await
    }

    fn connected(&mut self) {
        self.last_sample = Instant::now();
        self.stale = false;
    }

    async fn readings(&mut self, readings: &mut Vec<Reading>) -> Result<(), Closed> {
        if readings.is_empty() {
            return Ok(());
        }
        if self.stale {
            self.stale = false;
            self.status(StationStatus::Receiving).await?;
        }
        self.last_sample = Instant::now();
        let time = Utc::now();
        for r in readings.drain(..) {
            let Some(name) = self.channels.get(r.channel) else {
                continue;
            };
            self.send(StationEvent::Sample(Sample {
                channel: name.clone(),
                time,
                celsius: r.celsius(),
            }))
            .await?;
        }
        Ok(())
    }

    async fn bad_frames(&mut self, stats: FrameStats) -> Result<(), Closed> {
        let due = self
            .last_bad_report
            .is_none_or(|t| t.elapsed() >= BAD_FRAME_REPORT_EVERY);
        if stats.bad() > self.reported_bad && due {
            self.reported_bad = stats.bad();
            self.last_bad_report = Some(Instant::now());
            tracing::debug!(?stats, "bad frames");
            self.status(StationStatus::BadFrames(stats)).await?;
        }
        Ok(())
    }

    fn stale_deadline(&self) -> Option<Instant> {
        (!self.stale).then_some(self.last_sample + self.stale_timeout)
    }

    async fn went_stale(&mut self) -> Result<(), Closed> {
        self.stale = true;
        self.status(StationStatus::Stale {
            silent_for: self.last_sample.elapsed(),
        })
        .await
    }
}

async fn run(
    cfg: StationConfig,
    mut wire: Wire,
    target: watch::Receiver<Option<TargetWindow>>,
    mut out: Out,
) {
    if let Wire::Simulated(s) = &wire {
        let s = s.clone();
        let _ = simulated(&cfg, &s, target, &mut out).await;
        return;
    }
    let configured = cfg.port_label();
    let mut backoff = BACKOFF_MIN;
    let mut last_reason = String::new();
    loop {
        let (reason, port) = match port::open(&cfg) {
            Ok((stream, label)) => {
                tracing::info!(port = %label, "station connected");
                if out
                    .status(StationStatus::Connected {
                        port: label.clone(),
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                out.connected();
                last_reason.clear();
                let since = Instant::now();
                let ended = match &wire {
                    Wire::Modbus(m) => {
                        let m = m.clone();
                        modbus_session(&cfg, &m, stream, &mut out).await
                    }
                    _ => byte_session(&cfg, stream, &mut wire, &mut out).await,
                };
                let Ok(reason) = ended else { return };
                wire.reset();
                let _ = out.bad_frames(wire.stats()).await;
                if since.elapsed() >= HEALTHY_AFTER {
                    backoff = BACKOFF_MIN;
                }
                (reason, label)
            }
            Err(reason) => (reason, configured.clone()),
        };
        if reason != last_reason {
            tracing::warn!(port = %port, %reason, "station disconnected");
            let status = StationStatus::Disconnected {
                port,
                reason: reason.clone(),
                retry_in: backoff,
            };
            if out.status(status).await.is_err() {
                return;
            }
            last_reason = reason;
        }
        tokio::select! {
            _ = sleep(backoff) => {}
            _ = out.tx.closed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Reads until the port fails; returns why.
async fn byte_session(
    cfg: &StationConfig,
    mut port: SerialStream,
    wire: &mut Wire,
    out: &mut Out,
) -> Result<String, Closed> {
    let poll_every = Duration::from_millis(cfg.poll_interval_ms);
    let request = wire.request();
    let mut poll = interval(poll_every);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 4096];
    let mut readings = Vec::new();
    let mut last_byte = Instant::now();
    let closed = out.tx.clone();
    loop {
        let stale_at = out.stale_deadline();
        tokio::select! {
            r = port.read(&mut buf) => match r {
                Ok(0) => return Ok("end of file: the device went away".into()),
                Ok(n) => {
                    last_byte = Instant::now();
                    wire.push(&buf[..n], &mut readings);
                    out.readings(&mut readings).await?;
                    out.bad_frames(wire.stats()).await?;
                }
                Err(e) => return Ok(format!("read failed: {e}")),
            },
            _ = poll.tick(), if request.is_some() => {
                if wire.has_partial() && last_byte.elapsed() >= poll_every {
                    wire.reset();
                    out.bad_frames(wire.stats()).await?;
                }
                if let Some(req) = &request
                    && let Err(e) = port.write_all(req).await
                {
                    return Ok(format!("write failed: {e}"));
                }
            }
            _ = sleep_until(stale_at.unwrap_or_else(Instant::now)), if stale_at.is_some() => {
                out.went_stale().await?;
            }
            _ = closed.closed() => return Err(Closed),
        }
    }
}

/// Modbus RTU master: one read request at a time, its reply judged byte by
/// byte. A bad CRC, a reply from another slave, a wrong length or plain noise
/// is a bad frame and the next poll goes on; only the port failing ends the
/// session (that is a disconnect).
async fn modbus_session(
    cfg: &StationConfig,
    m: &ModbusConfig,
    mut port: SerialStream,
    out: &mut Out,
) -> Result<String, Closed> {
    let answer_within = Duration::from_millis(m.timeout_ms);
    let mut poll = interval(Duration::from_millis(cfg.poll_interval_ms));
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stats = FrameStats::default();
    let mut readings = Vec::new();
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    let closed = out.tx.clone();
    loop {
        let stale_at = out.stale_deadline();
        tokio::select! {
            _ = poll.tick() => {}
            _ = sleep_until(stale_at.unwrap_or_else(Instant::now)), if stale_at.is_some() => {
                out.went_stale().await?;
                continue;
            }
            _ = closed.closed() => return Err(Closed),
        }
        for reg in &m.registers {
            let Some(ch) = cfg.channels.iter().position(|c| c.name == reg.channel) else {
                continue;
            };
            let req = ReadRequest {
                slave: reg.slave,
                function: reg.function,
                address: reg.register,
                count: reg.value_type.words(),
            };
            // What is left of an earlier reply (late bytes, noise) is not this one's.
            if let Err(e) = drain(&mut port).await {
                return Ok(format!("read failed: {e}"));
            }
            if let Err(e) = port.write_all(&req.encode()).await {
                return Ok(format!("write failed: {e}"));
            }
            buf.clear();
            let deadline = Instant::now() + answer_within;
            let reply = loop {
                match judge_reply(&req, &buf) {
                    Reply::Incomplete => {}
                    done => break done,
                }
                tokio::select! {
                    r = port.read(&mut chunk) => match r {
                        Ok(0) => return Ok("end of file: the device went away".into()),
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        Err(e) => return Ok(format!("read failed: {e}")),
                    },
                    _ = sleep_until(deadline) => break Reply::Incomplete,
                    _ = closed.closed() => return Err(Closed),
                }
            };
            match reply {
                Reply::Incomplete if buf.is_empty() => stats.no_answer += 1,
                Reply::Incomplete => stats.partial += 1,
                Reply::BadCrc => stats.bad_checksum += 1,
                Reply::Garbage => stats.garbage += 1,
                Reply::Exception(code) => {
                    tracing::debug!(channel = %reg.channel, code, "modbus exception");
                    stats.garbage += 1;
                }
                Reply::Words(w) => {
                    match modbus_rtu::decode_words(&w, reg.value_type, reg.word_order, reg.divisor)
                    {
                        Some(value) => {
                            let channel = &cfg.channels[ch];
                            let reading = Reading {
                                channel: ch,
                                value,
                                unit: channel.unit,
                            };
                            if channel.plausible().contains(reading.celsius()) {
                                stats.good += 1;
                                readings.push(reading);
                            } else {
                                stats.implausible += 1;
                            }
                        }
                        None => stats.garbage += 1,
                    }
                }
            }
        }
        out.readings(&mut readings).await?;
        out.bad_frames(stats).await?;
    }
}

/// Reads and drops whatever is waiting on the port, without waiting for more.
async fn drain(port: &mut SerialStream) -> std::io::Result<()> {
    let mut scratch = [0u8; 256];
    loop {
        match timeout(Duration::ZERO, port.read(&mut scratch)).await {
            Err(_) => return Ok(()),
            Ok(Ok(0)) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the device went away",
                ));
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

async fn simulated(
    cfg: &StationConfig,
    s: &SimulatedConfig,
    target: watch::Receiver<Option<TargetWindow>>,
    out: &mut Out,
) -> Result<(), Closed> {
    out.status(StationStatus::Connected {
        port: "simulated".into(),
    })
    .await?;
    let names: Vec<String> = cfg.channels.iter().map(|c| c.name.clone()).collect();
    let mut model = SimModel::new(s, &names);
    let mut tick = interval(Duration::from_millis(cfg.poll_interval_ms));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = Instant::now();
    let mut readings = Vec::new();
    let closed = out.tx.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closed.closed() => return Err(Closed),
        }
        let now = Instant::now();
        let dt = now.duration_since(last).as_secs_f64();
        last = now;
        let window = target.borrow().clone();
        for (i, v) in model.step(dt, window.as_ref()).into_iter().enumerate() {
            readings.push(Reading {
                channel: i,
                value: v,
                unit: super::config::Unit::C,
            });
        }
        out.readings(&mut readings).await?;
    }
}
