//! The station simulator: a pseudo-terminal that behaves as a station, so the
//! demo, the tests and a trainer without hardware get a real serial port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep, sleep_until};
use tokio_serial::{SerialPort, SerialStream};

use super::center309;
use super::config::{RegisterType, Unit, WordOrder};
use super::modbus_rtu::{self, Request, RequestParser};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SimProtocol {
    AsciiLine,
    ModbusRtu,
    #[value(name = "center-309")]
    Center309,
}

/// Registers the simulated PID controller serves (any slave id):
/// - function 4, address 1000: channel 0 as i16 tenths (a Fuji PXG's PV, "31001");
/// - function 3, address 0x4700: channel 1 as i16 tenths (a Delta DTA's PV);
/// - function 3 or 4, addresses 0..8: channels 0..4 as f32, high word first.
pub const FUJI_PV: u16 = 1000;
pub const DELTA_PV: u16 = 0x4700;

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub protocol: SimProtocol,
    /// Symlink to point at the pty (replaced if it exists).
    pub link: Option<PathBuf>,
    /// Lines per second for ascii-line.
    pub rate_hz: f64,
    /// Every N lines/answers, inject garbage (ascii-line, center-309) or
    /// spoil the CRC (modbus-rtu).
    pub garbage_every: Option<u32>,
    pub unplug_after: Option<Duration>,
    pub unplug_for: Duration,
    pub setpoint_c: f64,
    pub seed: u64,
    /// center-309 probes (1..=4) shown as unplugged.
    pub open_probes: Vec<u8>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            protocol: SimProtocol::AsciiLine,
            link: None,
            rate_hz: 4.0,
            garbage_every: None,
            unplug_after: None,
            unplug_for: Duration::from_secs(3),
            setpoint_c: 340.0,
            seed: 1,
            open_probes: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimEvent {
    /// A pty is up at `path` (and the link, if any, points at it).
    Ready { path: PathBuf },
    /// The pty is closed for a while, as if the cable were pulled.
    Unplugged { for_: Duration },
}

/// A heating profile: ramps from ambient to the setpoint, with noise.
/// Channel 0 is the hottest (tip), later ones run cooler (preheat, board...).
#[derive(Debug)]
struct Profile {
    start: Instant,
    setpoint: f64,
    rng: StdRng,
}

const AMBIENT_C: f64 = 25.0;
const CHANNEL_SHARE: [f64; 4] = [1.0, 0.55, 0.35, 0.2];

impl Profile {
    fn values(&mut self) -> [f64; 4] {
        let t = self.start.elapsed().as_secs_f64();
        let heat = (self.setpoint - AMBIENT_C) * (1.0 - (-t / 6.0).exp());
        let mut out = [0.0; 4];
        for (v, share) in out.iter_mut().zip(CHANNEL_SHARE) {
            *v = AMBIENT_C + heat * share + self.rng.gen_range(-0.3..0.3);
        }
        out
    }
}

/// Runs the simulator until the task is dropped (or the events receiver goes away).
pub async fn run(opts: SimOptions, events: mpsc::UnboundedSender<SimEvent>) -> std::io::Result<()> {
    let mut profile = Profile {
        start: Instant::now(),
        setpoint: opts.setpoint_c,
        rng: StdRng::seed_from_u64(opts.seed),
    };
    let mut garbage_rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
    loop {
        let (master, slave) = SerialStream::pair().map_err(std::io::Error::other)?;
        let path = PathBuf::from(
            slave
                .name()
                .ok_or_else(|| std::io::Error::other("pty has no name"))?,
        );
        if let Some(link) = &opts.link {
            point_link(link, &path)?;
        }
        if events.send(SimEvent::Ready { path: path.clone() }).is_err() {
            return Ok(());
        }
        let until = opts.unplug_after.map(|d| Instant::now() + d);
        serve(&opts, master, &slave, until, &mut profile, &mut garbage_rng).await?;
        // Unplug: close both ends so the reader sees the hang-up, and take
        // the link away as udev does when a USB adapter is pulled.
        drop(slave);
        if let Some(link) = &opts.link {
            let _ = std::fs::remove_file(link);
        }
        if events
            .send(SimEvent::Unplugged {
                for_: opts.unplug_for,
            })
            .is_err()
        {
            return Ok(());
        }
        sleep(opts.unplug_for).await;
    }
}

/// Points `link` at `target`, atomically replacing an old link; refuses to
/// replace anything that is not a symlink.
pub fn point_link(link: &Path, target: &Path) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link)
        && !meta.file_type().is_symlink()
    {
        return Err(std::io::Error::other(format!(
            "{} exists and is not a symlink; not replacing it",
            link.display()
        )));
    }
    let mut tmp = link.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// Serial ports are opened exclusive (TIOCEXCL). A pty stays one tty as
/// long as we hold the slave, so a reader that died without clearing it
/// would lock every later non-root reader out; clearing it from our side
/// now and then keeps the simulator reusable.
fn clear_exclusive(slave: &SerialStream) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain ioctl on an fd we own; no memory is passed.
    let rc = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCNXCL) };
    if rc != 0 {
        tracing::trace!("TIOCNXCL failed: {}", std::io::Error::last_os_error());
    }
}

const GARBAGE: &[u8] = b"#@!~?*&%$^xyzQ\x00\x7f\xff\x1b";

fn garbage(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(3..12);
    (0..n)
        .map(|_| GARBAGE[rng.gen_range(0..GARBAGE.len())])
        .collect()
}

async fn serve(
    opts: &SimOptions,
    mut master: SerialStream,
    slave: &SerialStream,
    until: Option<Instant>,
    profile: &mut Profile,
    rng: &mut StdRng,
) -> std::io::Result<()> {
    let mut lines = interval(Duration::from_secs_f64(
        1.0 / opts.rate_hz.clamp(0.1, 100_000.0),
    ));
    lines.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut unlock = interval(Duration::from_millis(500));
    let mut buf = vec![0u8; 1024];
    let mut count: u64 = 0;
    let mut pending: Vec<u8> = Vec::new();
    let mut requests = RequestParser::default();
    let mut found = Vec::new();
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let every = opts.garbage_every.filter(|n| *n > 0).map(u64::from);
    loop {
        tokio::select! {
            _ = sleep_until(until.unwrap_or(far)) => return Ok(()),
            _ = unlock.tick() => clear_exclusive(slave),
            _ = lines.tick(), if opts.protocol == SimProtocol::AsciiLine => {
                count += 1;
                let v = profile.values();
                if every.is_some_and(|n| count.is_multiple_of(n)) {
                    pending.extend(garbage(rng));
                    pending.push(b'\n');
                }
                pending.extend(format!("{:.2},{:.1},{:.1},{:.1}\r\n", v[3], v[0], v[1], v[2]).bytes());
                // A UART with nobody listening loses data; so does this.
                match master.try_write(&pending) {
                    Ok(n) => { pending.drain(..n); }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if pending.len() > 4096 {
                    pending.clear();
                }
            }
            r = master.read(&mut buf), if opts.protocol != SimProtocol::AsciiLine => {
                let n = match r {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    // No reader has the slave open right now: nothing to answer.
                    Err(e) if e.raw_os_error() == Some(libc::EIO) => { sleep(Duration::from_millis(50)).await; continue; }
                    Err(e) => return Err(e),
                };
                match opts.protocol {
                    SimProtocol::Center309 => {
                        for _ in buf[..n].iter().filter(|b| **b == center309::POLL) {
                            count += 1;
                            let v = profile.values();
                            let mut probes = [None; 4];
                            for (i, p) in probes.iter_mut().enumerate() {
                                if !opts.open_probes.contains(&(i as u8 + 1)) {
                                    *p = Some(v[i]);
                                }
                            }
                            let mut reply = Vec::with_capacity(64);
                            if every.is_some_and(|n| count.is_multiple_of(n)) {
                                reply.extend(garbage(rng).into_iter().filter(|b| *b != 0x02));
                            }
                            reply.extend(center309::encode(&center309::Frame { unit: Unit::C, probes }));
                            master.write_all(&reply).await?;
                        }
                    }
                    SimProtocol::ModbusRtu => {
                        requests.push(&buf[..n], &mut found);
                        for req in found.drain(..) {
                            count += 1;
                            let mut reply = answer(req, &profile.values());
                            if every.is_some_and(|n| count.is_multiple_of(n))
                                && let Some(last) = reply.last_mut()
                            {
                                *last ^= 0x5A;
                            }
                            master.write_all(&reply).await?;
                        }
                    }
                    SimProtocol::AsciiLine => {}
                }
            }
        }
    }
}

fn answer(req: Request, v: &[f64; 4]) -> Vec<u8> {
    let r = match req {
        Request::Unsupported { slave, function } => {
            return modbus_rtu::exception_response(slave, function, 1);
        }
        Request::Read(r) => r,
    };
    let tenths = |x: f64| modbus_rtu::encode_value(x, RegisterType::I16, WordOrder::Big, 10.0);
    let words = match (r.function, r.address, r.count) {
        (4, FUJI_PV, 1) => tenths(v[0]),
        (3, DELTA_PV, 1) => tenths(v[1]),
        (_, a, c) if c >= 1 && u32::from(a) + u32::from(c) <= 8 => {
            let all: Vec<u16> = v
                .iter()
                .flat_map(|x| modbus_rtu::encode_value(*x, RegisterType::F32, WordOrder::Big, 1.0))
                .collect();
            all[usize::from(a)..usize::from(a) + usize::from(c)].to_vec()
        }
        _ => return modbus_rtu::exception_response(r.slave, r.function, 2),
    };
    modbus_rtu::read_response(r.slave, r.function, &words)
}
