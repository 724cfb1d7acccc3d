//! `traveler station probe|sim`: commissioning a bench and simulating one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::station::config::{
    AsciiLineConfig, Center309Config, ChannelConfig, ModbusConfig, ModbusRegister, Parity,
    Protocol, RegisterType, SimulatedConfig, StationConfig, WordOrder,
};
use crate::station::sim::{self, SimEvent, SimOptions, SimProtocol};
use crate::station::{StationEvent, StationStatus};

#[derive(Debug, clap::Subcommand)]
pub enum StationCommand {
    /// Connect to the station and print live readings and status until Ctrl-C.
    Probe(ProbeArgs),
    /// Behave as a station on a pseudo-terminal (demo, tests, training).
    Sim(SimArgs),
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// A file with a [station] table.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["port", "protocol"])]
    pub station: Option<PathBuf>,
    /// Shortcut: the port (with --protocol), using the simulator's layout.
    #[arg(long, value_name = "PATH", requires = "protocol")]
    pub port: Option<String>,
    /// Shortcut: ascii-line, modbus-rtu, center-309 or simulated.
    #[arg(long, value_name = "P")]
    pub protocol: Option<String>,
    #[arg(long, default_value_t = 9600)]
    pub baud: u32,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[arg(long, value_enum)]
    pub protocol: SimProtocol,
    /// Symlink to the pty, e.g. /tmp/bench0 (a stale link is replaced).
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// ascii-line: lines per second.
    #[arg(long, value_name = "HZ", default_value_t = 4.0)]
    pub rate: f64,
    /// Inject garbage (or a bad CRC) every N lines/answers.
    #[arg(long, value_name = "N")]
    pub garbage_every: Option<u32>,
    /// Pull the cable after this many seconds (and again after each replug).
    #[arg(long, value_name = "SECS")]
    pub unplug_after: Option<f64>,
    /// How long the cable stays pulled.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub unplug_for: f64,
    /// Temperature the station heats up to, °C.
    #[arg(long, value_name = "C", default_value_t = 340.0)]
    pub setpoint: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// center-309: probe number (1-4) to show as unplugged; repeatable.
    #[arg(long = "open-probe", value_name = "N")]
    pub open_probes: Vec<u8>,
}

/// Runs the command on its own runtime; returns the process exit code.
pub fn run(cmd: StationCommand) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cmd {
        StationCommand::Probe(args) => {
            let cfg = match probe_config(&args) {
                Ok(cfg) => cfg,
                Err(msg) => {
                    eprintln!("{msg}");
                    return Ok(2);
                }
            };
            rt.block_on(probe(cfg))
        }
        StationCommand::Sim(args) => rt.block_on(simulate(args)),
    }
}

/// The config the probe uses: a file, or a shortcut matching `station sim`.
pub fn probe_config(args: &ProbeArgs) -> Result<StationConfig, String> {
    if let Some(file) = &args.station {
        return StationConfig::load(file).map_err(|e| e.to_string());
    }
    let Some(protocol) = args.protocol.as_deref() else {
        return Err("give --station FILE, or --port PATH --protocol P".into());
    };
    shortcut_config(protocol, args.port.as_deref(), args.baud)
}

fn channels(names: &[&str]) -> Vec<ChannelConfig> {
    names.iter().map(|n| ChannelConfig::named(n)).collect()
}

/// The layout `traveler station sim` speaks, so `--port X --protocol P` just works.
pub fn shortcut_config(
    protocol: &str,
    port: Option<&str>,
    baud: u32,
) -> Result<StationConfig, String> {
    let mut cfg = StationConfig::demo_simulated();
    cfg.baud = baud;
    cfg.port = port.map(str::to_string);
    match protocol {
        "simulated" => cfg.protocol = Protocol::Simulated(SimulatedConfig::default()),
        "ascii-line" => {
            // amb,tip,preheat,board
            cfg.protocol = Protocol::AsciiLine(AsciiLineConfig {
                fields: Some(BTreeMap::from([
                    ("tip".into(), 1),
                    ("preheat".into(), 2),
                    ("board".into(), 3),
                ])),
                ..AsciiLineConfig::default()
            });
            cfg.channels = channels(&["tip", "preheat", "board"]);
        }
        "modbus-rtu" => {
            let reg = |channel: &str, function, register, value_type, divisor| ModbusRegister {
                channel: channel.into(),
                slave: 1,
                function,
                register,
                value_type,
                word_order: WordOrder::Big,
                divisor,
            };
            cfg.protocol = Protocol::ModbusRtu(ModbusConfig {
                timeout_ms: 500,
                registers: vec![
                    reg("tip", 4, sim::FUJI_PV, RegisterType::I16, 10.0),
                    reg("preheat", 3, sim::DELTA_PV, RegisterType::I16, 10.0),
                    reg("board", 4, 4, RegisterType::F32, 1.0),
                ],
            });
        }
        "center-309" => {
            cfg.protocol = Protocol::Center309(Center309Config::default());
            cfg.channels = channels(&["t1", "t2", "t3", "t4"]);
        }
        other => {
            return Err(format!(
                "unknown protocol {other:?}: use ascii-line, modbus-rtu, center-309 or simulated"
            ));
        }
    }
    cfg.parity = Parity::None;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

async fn probe(cfg: StationConfig) -> anyhow::Result<i32> {
    let names: Vec<String> = cfg.channels.iter().map(|c| c.name.clone()).collect();
    println!(
        "# probing {} ({}), channels: {}; Ctrl-C to stop",
        cfg.port_label(),
        cfg.protocol.name(),
        names.join(", ")
    );
    let (_target_tx, target) = watch::channel(None);
    let (mut rx, handle) = match crate::station::spawn(cfg, target) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    let mut round: BTreeMap<String, f64> = BTreeMap::new();
    let mut round_time = None;
    let mut out = std::io::stdout();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    StationEvent::Sample(s) => {
                        if round.contains_key(&s.channel) {
                            print_round(&mut out, &names, &round, round_time);
                            round.clear();
                        }
                        round_time = Some(s.time);
                        round.insert(s.channel, s.celsius);
                        if round.len() == names.len() {
                            print_round(&mut out, &names, &round, round_time);
                            round.clear();
                        }
                    }
                    StationEvent::Status(st) => {
                        let now = chrono::Local::now().format("%H:%M:%S%.3f");
                        let _ = writeln!(out, "{now} # {}", describe(&st));
                    }
                }
                let _ = out.flush();
            }
        }
    }
    handle.stop().await;
    Ok(0)
}

fn print_round(
    out: &mut impl Write,
    names: &[String],
    round: &BTreeMap<String, f64>,
    time: Option<chrono::DateTime<chrono::Utc>>,
) {
    let when = time
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_default();
    let mut line = when;
    for n in names {
        match round.get(n) {
            Some(c) => line.push_str(&format!("  {n} {c:7.1} °C")),
            None => line.push_str(&format!("  {n}      -- ")),
        }
    }
    let _ = writeln!(out, "{line}");
}

/// One status line, as the probe prints it.
pub fn describe(st: &StationStatus) -> String {
    match st {
        StationStatus::Connected { port } => format!("connected {port}"),
        StationStatus::Disconnected {
            port,
            reason,
            retry_in,
        } => {
            format!(
                "disconnected {port}: {reason}; retrying in {} ms",
                retry_in.as_millis()
            )
        }
        StationStatus::Stale { silent_for } => {
            format!("stale: no reading for {:.1} s", silent_for.as_secs_f64())
        }
        StationStatus::Receiving => "receiving again".into(),
        StationStatus::BadFrames(s) => format!(
            "bad frames: garbage {}, partial {}, bad checksum {}, no answer {}, implausible {} (good {})",
            s.garbage, s.partial, s.bad_checksum, s.no_answer, s.implausible, s.good
        ),
    }
}

async fn simulate(args: SimArgs) -> anyhow::Result<i32> {
    let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 86_400.0));
    let opts = SimOptions {
        protocol: args.protocol,
        link: args.link.clone(),
        rate_hz: args.rate,
        garbage_every: args.garbage_every,
        unplug_after: args.unplug_after.map(secs),
        unplug_for: secs(args.unplug_for),
        setpoint_c: args.setpoint,
        seed: args.seed,
        open_probes: args.open_probes,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut task = tokio::spawn(sim::run(opts, tx));
    let code = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break 0,
            done = &mut task => {
                match done {
                    Ok(Err(e)) => { eprintln!("simulator failed: {e}"); break 1; }
                    _ => break 0,
                }
            }
            ev = rx.recv() => match ev {
                Some(SimEvent::Ready { path }) => {
                    // stdout keeps the bare path for scripts; people read stderr.
                    let port = match &args.link {
                        Some(link) => {
                            println!("{} -> {}", link.display(), path.display());
                            link.display().to_string()
                        }
                        None => {
                            println!("{}", path.display());
                            path.display().to_string()
                        }
                    };
                    let protocol = clap::ValueEnum::to_possible_value(&args.protocol)
                        .map(|v| v.get_name().to_string())
                        .unwrap_or_default();
                    eprintln!(
                        "traveler station sim: a simulated {protocol} station is running on \
                         {port}. Point the bench's station.toml `port` at it. \
                         Press Ctrl+C to stop."
                    );
                }
                Some(SimEvent::Unplugged { for_ }) => println!("# unplugged for {:.1} s", for_.as_secs_f64()),
                None => {}
            },
        }
        let _ = std::io::stdout().flush();
    };
    task.abort();
    if let Some(link) = &args.link
        && std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink())
    {
        let _ = std::fs::remove_file(link);
    }
    Ok(code)
}
