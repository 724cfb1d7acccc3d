//! Station configuration: the `[station]` table of the app's config file, or a
//! file given with `--station FILE`.
//!
//! Strict schema (unknown keys are errors) and every error, syntax or meaning,
//! is reported as `file:line:col: message`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationFile {
    pub station: StationConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Device path (`/dev/ttyUSB0`, a symlink such as `/tmp/bench0`) or `auto`
    /// to find the USB adapter given by `usb`. Not used by `simulated`.
    #[serde(default)]
    pub port: Option<String>,
    /// `VID:PID` in hex, e.g. `0403:6001`; only with `port = "auto"`.
    #[serde(default)]
    pub usb: Option<String>,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    pub protocol: Protocol,
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_stale_timeout_ms")]
    pub stale_timeout_ms: u64,
    pub channels: Vec<ChannelConfig>,
}

fn default_baud() -> u32 {
    9600
}
fn default_data_bits() -> u8 {
    8
}
fn default_stop_bits() -> u8 {
    1
}
fn default_poll_interval_ms() -> u64 {
    250
}
fn default_stale_timeout_ms() -> u64 {
    3000
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    #[default]
    C,
    F,
}

impl Unit {
    pub fn to_celsius(self, value: f64) -> f64 {
        match self {
            Unit::C => value,
            Unit::F => (value - 32.0) * 5.0 / 9.0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// e.g. `tip`, `preheat`, `board`.
    pub name: String,
    #[serde(default)]
    pub unit: Unit,
    /// The probe on this channel; its measuring range is the default
    /// plausible range.
    #[serde(default)]
    pub sensor: Sensor,
    /// Readings outside this range (°C) are not temperatures this channel can
    /// report: they are counted as bad frames and never shown or recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plausible_c: Option<PlausibleRange>,
}

impl ChannelConfig {
    /// A channel of `name` with the defaults (°C, type K thermocouple).
    pub fn named(name: &str) -> Self {
        ChannelConfig {
            name: name.into(),
            ..ChannelConfig::default()
        }
    }

    /// The range a reading of this channel must fall in, in °C.
    pub fn plausible(&self) -> PlausibleRange {
        self.plausible_c.unwrap_or_else(|| self.sensor.range_c())
    }
}

/// The probe type, which bounds what a channel can truly read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensor {
    /// Type K thermocouple (the usual rework bench probe).
    #[default]
    K,
    J,
    T,
    E,
    N,
    R,
    S,
    B,
    /// Platinum resistance thermometer, 100 Ω.
    Pt100,
}

impl Sensor {
    /// The measuring range of the probe type (IEC 60584-1 thermocouples,
    /// IEC 60751 Pt100), in °C: outside it a reading is a fault, not heat.
    pub fn range_c(self) -> PlausibleRange {
        let (min, max) = match self {
            Sensor::K => (-200.0, 1372.0),
            Sensor::J => (-210.0, 1200.0),
            Sensor::T => (-200.0, 400.0),
            Sensor::E => (-200.0, 1000.0),
            Sensor::N => (-200.0, 1300.0),
            Sensor::R | Sensor::S => (-50.0, 1768.0),
            Sensor::B => (0.0, 1820.0),
            Sensor::Pt100 => (-200.0, 850.0),
        };
        PlausibleRange { min, max }
    }
}

/// `{ min = -50.0, max = 600.0 }` in °C, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlausibleRange {
    pub min: f64,
    pub max: f64,
}

impl PlausibleRange {
    pub fn contains(&self, celsius: f64) -> bool {
        celsius.is_finite() && self.min <= celsius && celsius <= self.max
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Protocol {
    AsciiLine(AsciiLineConfig),
    ModbusRtu(ModbusConfig),
    #[serde(rename = "center-309")]
    Center309(Center309Config),
    Simulated(SimulatedConfig),
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::AsciiLine(_) => "ascii-line",
            Protocol::ModbusRtu(_) => "modbus-rtu",
            Protocol::Center309(_) => "center-309",
            Protocol::Simulated(_) => "simulated",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineMode {
    /// The device prints lines on its own.
    #[default]
    Stream,
    /// The device answers `request` with one line.
    Poll,
}

/// One reading per line; values found by `regex` (a named capture per
/// channel) or by `fields` (channel -> 0-based field index after splitting on
/// `separator`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsciiLineConfig {
    #[serde(default)]
    pub mode: LineMode,
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub fields: Option<BTreeMap<String, usize>>,
    /// Field separator; a single space means "any run of whitespace".
    #[serde(default = "default_separator")]
    pub separator: String,
}

fn default_separator() -> String {
    ",".into()
}

impl Default for AsciiLineConfig {
    fn default() -> Self {
        Self {
            mode: LineMode::Stream,
            request: None,
            regex: None,
            fields: None,
            separator: default_separator(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusConfig {
    /// How long to wait for an answer before counting a bad frame.
    #[serde(default = "default_modbus_timeout_ms")]
    pub timeout_ms: u64,
    pub registers: Vec<ModbusRegister>,
}

fn default_modbus_timeout_ms() -> u64 {
    500
}

/// Where one channel lives in a Modbus slave. `register` is the 0-based
/// protocol address: a Fuji PXG's PV "31001" is input register address 1000
/// with function 4; a Delta DTA's PV is 0x4700 (18176) with function 3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusRegister {
    pub channel: String,
    pub slave: u8,
    pub function: u8,
    pub register: u16,
    #[serde(rename = "type", default)]
    pub value_type: RegisterType,
    #[serde(default)]
    pub word_order: WordOrder,
    #[serde(default = "default_divisor")]
    pub divisor: f64,
}

fn default_divisor() -> f64 {
    1.0
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterType {
    #[default]
    I16,
    U16,
    I32,
    F32,
}

impl RegisterType {
    pub fn words(self) -> u16 {
        match self {
            RegisterType::I16 | RegisterType::U16 => 1,
            RegisterType::I32 | RegisterType::F32 => 2,
        }
    }
}

/// Order of the two 16-bit words of a 32-bit value (bytes inside a word are
/// always big-endian in Modbus).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WordOrder {
    /// High word first (ABCD).
    #[default]
    Big,
    /// Low word first (CDAB).
    Little,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Center309Config {
    /// channel -> probe number 1..=4; by default the channels are T1, T2, ... in order.
    #[serde(default)]
    pub probes: Option<BTreeMap<String, u8>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedConfig {
    /// Same seed, same readings (tests, demos); none = seeded from the clock.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default = "default_ambient")]
    pub ambient_c: f64,
    #[serde(default = "default_noise")]
    pub noise_c: f64,
    #[serde(default = "default_drift")]
    pub drift_c: f64,
    /// Mean seconds between excursions on the channel that has a window; 0 = never.
    #[serde(default = "default_excursion_every")]
    pub excursion_every_s: f64,
}

fn default_ambient() -> f64 {
    25.0
}
fn default_noise() -> f64 {
    0.4
}
fn default_drift() -> f64 {
    1.5
}
fn default_excursion_every() -> f64 {
    120.0
}

impl Default for SimulatedConfig {
    fn default() -> Self {
        Self {
            seed: None,
            ambient_c: default_ambient(),
            noise_c: default_noise(),
            drift_c: default_drift(),
            excursion_every_s: default_excursion_every(),
        }
    }
}

/// A place in the config, relative to the `[station]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

fn key(k: &str) -> PathSeg {
    PathSeg::Key(k.into())
}

/// A meaning error found after parsing, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    pub path: Vec<PathSeg>,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.path {
            match seg {
                PathSeg::Key(k) if first => write!(f, "{k}")?,
                PathSeg::Key(k) => write!(f, ".{k}")?,
                PathSeg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        if !self.path.is_empty() {
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)
    }
}

fn verr(path: Vec<PathSeg>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        path,
        message: message.into(),
    }
}

/// A config error located in its file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl StationConfig {
    /// The built-in demo: a simulated station with `tip`, `preheat` and `board`.
    pub fn demo_simulated() -> Self {
        Self {
            port: None,
            usb: None,
            baud: default_baud(),
            data_bits: default_data_bits(),
            parity: Parity::None,
            stop_bits: default_stop_bits(),
            protocol: Protocol::Simulated(SimulatedConfig::default()),
            poll_interval_ms: default_poll_interval_ms(),
            stale_timeout_ms: default_stale_timeout_ms(),
            channels: ["tip", "preheat", "board"]
                .into_iter()
                .map(ChannelConfig::named)
                .collect(),
        }
    }

    /// Reads a file holding a `[station]` table.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            col: 0,
            message: format!("cannot read: {e}"),
        })?;
        Self::from_file_str(&text, &file)
    }

    /// Parses the text of a file holding a `[station]` table; `file` names it in errors.
    pub fn from_file_str(text: &str, file: &str) -> Result<Self, ConfigError> {
        let parsed: StationFile = toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| line_col(text, refine_offset(text, s.start, e.message())))
                .unwrap_or((1, 1));
            ConfigError {
                file: file.into(),
                line,
                col,
                message: e.message().trim().to_string(),
            }
        })?;
        parsed
            .station
            .validate()
            .map_err(|v| Self::locate(text, file, &v))?;
        Ok(parsed.station)
    }

    /// Places a meaning error of the `[station]` table of `text` (a station
    /// file or the application's config.toml) at its file:line:col.
    pub fn locate(text: &str, file: &str, v: &ValidationError) -> ConfigError {
        let mut path = vec![key("station")];
        path.extend(v.path.iter().cloned());
        let (line, col) = span_of(text, &path)
            .map(|off| line_col(text, off))
            .unwrap_or((1, 1));
        ConfigError {
            file: file.into(),
            line,
            col,
            message: v.to_string(),
        }
    }

    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(|c| c.name.as_str())
    }

    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// The port description for status lines.
    pub fn port_label(&self) -> String {
        match (&self.protocol, self.port.as_deref(), self.usb.as_deref()) {
            (Protocol::Simulated(_), _, _) => "simulated".into(),
            (_, Some("auto"), Some(usb)) => format!("auto (USB {usb})"),
            (_, Some(p), _) => p.into(),
            _ => "?".into(),
        }
    }

    /// Meaning checks that serde cannot express.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.channels.is_empty() {
            return Err(verr(
                vec![key("channels")],
                "at least one channel is needed",
            ));
        }
        for (i, ch) in self.channels.iter().enumerate() {
            let here = || vec![key("channels"), PathSeg::Index(i), key("name")];
            let ok = !ch.name.is_empty()
                && ch
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !ok {
                return Err(verr(
                    here(),
                    format!(
                        "channel name {:?} must be lowercase letters, digits, _ or -",
                        ch.name
                    ),
                ));
            }
            if self.channels[..i].iter().any(|c| c.name == ch.name) {
                return Err(verr(
                    here(),
                    format!("channel {:?} is listed twice", ch.name),
                ));
            }
            if let Some(r) = ch.plausible_c
                && !(r.min.is_finite() && r.max.is_finite() && r.min < r.max)
            {
                return Err(verr(
                    vec![key("channels"), PathSeg::Index(i), key("plausible_c")],
                    format!(
                        "plausible_c needs finite min < max (°C), not {} … {}",
                        r.min, r.max
                    ),
                ));
            }
        }
        if !matches!(self.data_bits, 5..=8) {
            return Err(verr(
                vec![key("data_bits")],
                "data_bits must be 5, 6, 7 or 8",
            ));
        }
        if !matches!(self.stop_bits, 1 | 2) {
            return Err(verr(vec![key("stop_bits")], "stop_bits must be 1 or 2"));
        }
        if self.baud == 0 {
            return Err(verr(vec![key("baud")], "baud must be positive"));
        }
        if !(10..=60_000).contains(&self.poll_interval_ms) {
            return Err(verr(
                vec![key("poll_interval_ms")],
                "poll_interval_ms must be between 10 and 60000",
            ));
        }
        if self.stale_timeout_ms < 2 * self.poll_interval_ms {
            return Err(verr(
                vec![key("stale_timeout_ms")],
                format!(
                    "stale_timeout_ms must be at least twice poll_interval_ms ({})",
                    2 * self.poll_interval_ms
                ),
            ));
        }
        let simulated = matches!(self.protocol, Protocol::Simulated(_));
        match (self.port.as_deref(), self.usb.as_deref()) {
            (None, _) if !simulated => {
                return Err(verr(
                    vec![key("port")],
                    "port is required (a device path, or \"auto\" with usb = \"VID:PID\")",
                ));
            }
            (Some(_), _) if simulated => {
                return Err(verr(vec![key("port")], "a simulated station has no port"));
            }
            (Some("auto"), None) => {
                return Err(verr(
                    vec![key("port")],
                    "port = \"auto\" needs usb = \"VID:PID\"",
                ));
            }
            (Some("auto"), Some(usb)) if parse_vid_pid(usb).is_none() => {
                return Err(verr(
                    vec![key("usb")],
                    format!("usb {usb:?} is not VID:PID in hex, e.g. \"0403:6001\""),
                ));
            }
            (Some("auto"), Some(_)) => {}
            (Some(p), Some(_)) => {
                return Err(verr(
                    vec![key("usb")],
                    format!("usb is only used with port = \"auto\", not with {p:?}"),
                ));
            }
            (Some(""), None) => return Err(verr(vec![key("port")], "port is empty")),
            _ => {}
        }
        let names: Vec<&str> = self.channel_names().collect();
        let unknown = |n: &str| !names.contains(&n);
        let proto = key("protocol");
        match &self.protocol {
            Protocol::AsciiLine(a) => {
                match (a.mode, a.request.as_deref()) {
                    (LineMode::Poll, None | Some("")) => {
                        return Err(verr(
                            vec![proto, key("mode")],
                            "mode = \"poll\" needs a request string",
                        ));
                    }
                    (LineMode::Stream, Some(_)) => {
                        return Err(verr(
                            vec![proto, key("request")],
                            "request is only sent with mode = \"poll\"",
                        ));
                    }
                    _ => {}
                }
                if a.separator.is_empty() {
                    return Err(verr(vec![proto, key("separator")], "separator is empty"));
                }
                match (&a.regex, &a.fields) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(verr(
                            vec![proto],
                            "give either regex (a named capture per channel) or fields (channel = index)",
                        ));
                    }
                    (Some(re), None) => {
                        let here = || vec![key("protocol"), key("regex")];
                        let compiled = regex::Regex::new(re)
                            .map_err(|e| verr(here(), format!("bad regex: {e}")))?;
                        let groups: Vec<&str> = compiled.capture_names().flatten().collect();
                        if let Some(g) = groups.iter().find(|g| unknown(g)) {
                            return Err(verr(here(), format!("capture {g:?} is not a channel")));
                        }
                        if let Some(n) = names.iter().find(|n| !groups.contains(n)) {
                            return Err(verr(
                                here(),
                                format!("channel {n:?} has no named capture (?P<{n}>...)"),
                            ));
                        }
                    }
                    (None, Some(fields)) => {
                        if let Some(f) = fields.keys().find(|f| unknown(f)) {
                            return Err(verr(
                                vec![proto, key("fields"), key(f)],
                                format!("{f:?} is not a channel"),
                            ));
                        }
                        if let Some(n) = names.iter().find(|n| !fields.contains_key(**n)) {
                            return Err(verr(
                                vec![proto, key("fields")],
                                format!("channel {n:?} has no field index"),
                            ));
                        }
                        if let Some((f, _)) = fields.iter().find(|(_, i)| **i > 255) {
                            return Err(verr(
                                vec![proto, key("fields"), key(f)],
                                "field index must be at most 255",
                            ));
                        }
                    }
                }
            }
            Protocol::ModbusRtu(m) => {
                if !(10..=10_000).contains(&m.timeout_ms) {
                    return Err(verr(
                        vec![proto, key("timeout_ms")],
                        "timeout_ms must be between 10 and 10000",
                    ));
                }
                for (i, r) in m.registers.iter().enumerate() {
                    let at = |k: &str| {
                        vec![key("protocol"), key("registers"), PathSeg::Index(i), key(k)]
                    };
                    if unknown(&r.channel) {
                        return Err(verr(
                            at("channel"),
                            format!("{:?} is not a channel", r.channel),
                        ));
                    }
                    if m.registers[..i].iter().any(|o| o.channel == r.channel) {
                        return Err(verr(
                            at("channel"),
                            format!("channel {:?} has two registers", r.channel),
                        ));
                    }
                    if !matches!(r.function, 3 | 4) {
                        return Err(verr(
                            at("function"),
                            "function must be 3 (holding registers) or 4 (input registers)",
                        ));
                    }
                    if !(1..=247).contains(&r.slave) {
                        return Err(verr(at("slave"), "slave must be 1..=247"));
                    }
                    if !r.divisor.is_finite() || r.divisor == 0.0 {
                        return Err(verr(at("divisor"), "divisor must be a non-zero number"));
                    }
                    if u32::from(r.register) + u32::from(r.value_type.words()) > 0x1_0000 {
                        return Err(verr(at("register"), "value runs past the last register"));
                    }
                }
                if let Some(n) = names
                    .iter()
                    .find(|n| !m.registers.iter().any(|r| r.channel == **n))
                {
                    return Err(verr(
                        vec![proto, key("registers")],
                        format!("channel {n:?} has no register"),
                    ));
                }
            }
            Protocol::Center309(c) => match &c.probes {
                None if names.len() > 4 => {
                    return Err(verr(
                        vec![key("channels")],
                        "a Center 309 has 4 probes; list at most 4 channels",
                    ));
                }
                None => {}
                Some(probes) => {
                    for (name, p) in probes {
                        if unknown(name) {
                            return Err(verr(
                                vec![proto, key("probes"), key(name)],
                                format!("{name:?} is not a channel"),
                            ));
                        }
                        if !(1..=4).contains(p) {
                            return Err(verr(
                                vec![proto, key("probes"), key(name)],
                                "probe must be 1..=4",
                            ));
                        }
                    }
                    if let Some(n) = names.iter().find(|n| !probes.contains_key(**n)) {
                        return Err(verr(
                            vec![proto, key("probes")],
                            format!("channel {n:?} has no probe"),
                        ));
                    }
                }
            },
            Protocol::Simulated(s) => {
                for (k, v) in [
                    ("ambient_c", s.ambient_c),
                    ("noise_c", s.noise_c),
                    ("drift_c", s.drift_c),
                    ("excursion_every_s", s.excursion_every_s),
                ] {
                    if !v.is_finite() || (k != "ambient_c" && v < 0.0) {
                        return Err(verr(
                            vec![proto, key(k)],
                            format!("{k} must be a finite number >= 0"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `"0403:6001"` -> (0x0403, 0x6001).
pub fn parse_vid_pid(s: &str) -> Option<(u16, u16)> {
    let (v, p) = s.split_once(':')?;
    if v.is_empty() || p.is_empty() || v.len() > 4 || p.len() > 4 {
        return None;
    }
    Some((
        u16::from_str_radix(v, 16).ok()?,
        u16::from_str_radix(p, 16).ok()?,
    ))
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// The protocol table is an internally tagged enum, which serde buffers, so
/// errors inside it only carry the table's position. When the message names
/// the offending word, point at its first use after that position instead.
fn refine_offset(text: &str, start: usize, message: &str) -> usize {
    let word = message.split('`').nth(1).filter(|w| !w.is_empty());
    let (Some(word), Some(rest)) = (word, text.get(start..)) else {
        return start;
    };
    let found = if message.starts_with("unknown variant") {
        [format!("\"{word}\""), format!("'{word}'")]
            .iter()
            .filter_map(|q| rest.find(q.as_str()))
            .min()
    } else if message.starts_with("unknown field") {
        let mut at = 0;
        let mut hit = None;
        for line in rest.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(after) = trimmed.strip_prefix(word)
                && after.trim_start().starts_with('=')
            {
                hit = Some(at + (line.len() - trimmed.len()));
                break;
            }
            at += line.len();
        }
        hit
    } else {
        None
    };
    found.map_or(start, |f| start + f)
}

/// Byte offset of the deepest value along `path` that exists in the document.
fn span_of(text: &str, path: &[PathSeg]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table = Some(root.get_ref());
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    for seg in path {
        let value = match (seg, table, array) {
            (PathSeg::Key(k), Some(t), _) => t.get(k.as_str()),
            (PathSeg::Index(i), _, Some(a)) => a.get(*i),
            _ => None,
        };
        let Some(value) = value else { break };
        best = Some(value.span().start);
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(&a[..]),
            _ => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASCII_REGEX: &str = r#"
[station]
port = "/dev/ttyUSB0"
baud = 115200

[station.protocol]
kind = "ascii-line"
regex = 'T1=(?P<tip>-?\d+(?:\.\d+)?)'

[[station.channels]]
name = "tip"
"#;

    const ASCII_FIELDS_POLL: &str = r#"
[station]
port = "/dev/ttyACM0"
poll_interval_ms = 500

[station.protocol]
kind = "ascii-line"
mode = "poll"
request = "READ\n"
fields = { tip = 1, board = 2 }

[[station.channels]]
name = "tip"
[[station.channels]]
name = "board"
unit = "F"
"#;

    const MODBUS: &str = r#"
[station]
port = "auto"
usb = "0403:6001"
baud = 19200
parity = "even"

[station.protocol]
kind = "modbus-rtu"

[[station.protocol.registers]]
channel = "preheat"
slave = 1
function = 4
register = 1000
divisor = 10

[[station.protocol.registers]]
channel = "tip"
slave = 2
function = 3
register = 0x4700
type = "f32"
word_order = "little"

[[station.channels]]
name = "preheat"
[[station.channels]]
name = "tip"
"#;

    const CENTER: &str = r#"
[station]
port = "/tmp/bench0"
[station.protocol]
kind = "center-309"
[[station.channels]]
name = "board"
[[station.channels]]
name = "tip"
"#;

    const SIM: &str = r#"
[station]
[station.protocol]
kind = "simulated"
seed = 7
[[station.channels]]
name = "tip"
"#;

    #[test]
    fn good_configs() {
        for (name, text) in [
            ("ascii regex", ASCII_REGEX),
            ("ascii fields poll", ASCII_FIELDS_POLL),
            ("modbus", MODBUS),
            ("center", CENTER),
            ("sim", SIM),
        ] {
            let cfg =
                StationConfig::from_file_str(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!cfg.channels.is_empty(), "{name}");
        }
        let m = StationConfig::from_file_str(MODBUS, "m").expect("modbus");
        let Protocol::ModbusRtu(mb) = &m.protocol else {
            panic!("not modbus")
        };
        assert_eq!(mb.registers[1].register, 0x4700);
        assert_eq!(mb.registers[1].value_type, RegisterType::F32);
        assert_eq!(m.parity, Parity::Even);
        assert_eq!(m.poll_interval_ms, 250);
        let p = StationConfig::from_file_str(ASCII_FIELDS_POLL, "p").expect("poll");
        assert_eq!(p.channels[1].unit, Unit::F);
    }

    #[test]
    fn demo_is_valid() {
        let d = StationConfig::demo_simulated();
        d.validate().expect("demo valid");
        assert_eq!(
            d.channel_names().collect::<Vec<_>>(),
            ["tip", "preheat", "board"]
        );
        // and it survives a trip through TOML
        let text = toml::to_string(&StationFile { station: d.clone() }).expect("ser");
        assert_eq!(
            StationConfig::from_file_str(&text, "demo").expect("back"),
            d
        );
    }

    #[test]
    fn broken_configs() {
        // (what, text, expected line, expected col, part of message)
        let cases: &[(&str, String, usize, usize, &str)] = &[
            (
                "unknown key",
                ASCII_REGEX.replace("baud = 115200", "baud = 115200\nbuad = 9600"),
                5,
                1,
                "unknown field",
            ),
            (
                "unknown protocol",
                CENTER.replace("center-309", "center-310"),
                5,
                8,
                "unknown variant",
            ),
            (
                "syntax",
                CENTER.replace("port = \"/tmp/bench0\"", "port = /tmp/bench0"),
                3,
                8,
                "",
            ),
            (
                "bad regex",
                ASCII_REGEX.replace("(?P<tip>", "(?P<tip"),
                8,
                9,
                "bad regex",
            ),
            (
                "regex without channel capture",
                ASCII_REGEX.replace("(?P<tip>", "(?P<tpi>"),
                8,
                9,
                "\"tpi\" is not a channel",
            ),
            (
                "poll without request",
                ASCII_FIELDS_POLL.replace("request = \"READ\\n\"\n", ""),
                8,
                8,
                "needs a request",
            ),
            (
                "fields name unknown",
                ASCII_FIELDS_POLL.replace("board = 2", "bord = 2"),
                10,
                28,
                "\"bord\" is not a channel",
            ),
            (
                "modbus function 6",
                MODBUS.replace("function = 3", "function = 6"),
                21,
                12,
                "function must be 3",
            ),
            (
                "modbus unknown type",
                MODBUS.replace("\"f32\"", "\"f64\""),
                23,
                8,
                "unknown variant",
            ),
            (
                "auto without usb",
                MODBUS.replace("usb = \"0403:6001\"\n", ""),
                3,
                8,
                "needs usb",
            ),
            (
                "bad usb",
                MODBUS.replace("0403:6001", "0403-6001"),
                4,
                7,
                "VID:PID",
            ),
            (
                "duplicate channel",
                CENTER.replace("name = \"tip\"", "name = \"board\""),
                9,
                8,
                "listed twice",
            ),
            (
                "probe 5",
                CENTER.replace(
                    "kind = \"center-309\"",
                    "kind = \"center-309\"\nprobes = { board = 5, tip = 1 }",
                ),
                6,
                20,
                "probe must be",
            ),
            (
                "stale shorter than poll",
                SIM.replace("[station]\n", "[station]\nstale_timeout_ms = 100\n"),
                3,
                20,
                "at least twice",
            ),
            (
                "simulated with port",
                SIM.replace("[station]\n", "[station]\nport = \"/dev/ttyS0\"\n"),
                3,
                8,
                "no port",
            ),
            (
                "no station table",
                "[stashun]\n".to_string(),
                1,
                2,
                "unknown field",
            ),
            (
                "unknown key inside protocol",
                SIM.replace("seed = 7", "seed = 7\nsed = 8"),
                6,
                1,
                "unknown field `sed`",
            ),
            (
                "plausible range upside down",
                CENTER.replace(
                    "name = \"tip\"",
                    "name = \"tip\"\nplausible_c = { min = 500.0, max = 20.0 }",
                ),
                10,
                15,
                "finite min < max",
            ),
            (
                "unknown sensor",
                CENTER.replace("name = \"tip\"", "name = \"tip\"\nsensor = \"q\""),
                10,
                10,
                "unknown variant",
            ),
            (
                "no channels",
                "[station]\nchannels = []\n[station.protocol]\nkind = \"simulated\"\n".into(),
                2,
                12,
                "at least one channel",
            ),
        ];
        let mut wrong = vec![];
        for (what, text, line, col, msg) in cases {
            let err = StationConfig::from_file_str(text, "bench.toml").expect_err(what);
            if (err.line, err.col) != (*line, *col) {
                wrong.push(format!("{what}: {err}"));
                continue;
            }
            assert_eq!(err.file, "bench.toml", "{what}");
            assert!(
                err.message.contains(msg),
                "{what}: message {:?} lacks {msg:?}",
                err.message
            );
            assert_eq!((err.line, err.col), (*line, *col), "{what}: {err}");
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("bench.toml:{line}:{col}: ")),
                "{shown}"
            );
        }
        assert!(wrong.is_empty(), "wrong places:\n{}", wrong.join("\n"));
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
        assert_eq!(line_col("é", 1), (1, 1));
        assert_eq!(line_col("x", 99), (1, 2));
    }

    #[test]
    fn vid_pid() {
        assert_eq!(parse_vid_pid("0403:6001"), Some((0x0403, 0x6001)));
        assert_eq!(parse_vid_pid("1a86:7523"), Some((0x1a86, 0x7523)));
        assert_eq!(parse_vid_pid("0403"), None);
        assert_eq!(parse_vid_pid("12345:1"), None);
        assert_eq!(parse_vid_pid(":1"), None);
    }

    #[test]
    fn plausible_range_from_the_sensor_or_the_config() {
        let text = CENTER.replace(
            "name = \"board\"",
            "name = \"board\"\nsensor = \"j\"\nplausible_c = { min = 0.0, max = 200.0 }",
        );
        let cfg = StationConfig::from_file_str(&text, "c").expect("valid");
        let board = cfg.channel("board").unwrap();
        assert_eq!(board.sensor, Sensor::J);
        assert_eq!(
            board.plausible(),
            PlausibleRange {
                min: 0.0,
                max: 200.0
            }
        );
        let tip = cfg.channel("tip").unwrap();
        assert_eq!(
            tip.plausible(),
            PlausibleRange {
                min: -200.0,
                max: 1372.0
            }
        );
        assert!(tip.plausible().contains(1372.0) && !tip.plausible().contains(1372.1));
        assert!(!tip.plausible().contains(-273.16) && !tip.plausible().contains(f64::NAN));
        assert_eq!(Sensor::Pt100.range_c().max, 850.0);
    }

    #[test]
    fn units() {
        assert_eq!(Unit::F.to_celsius(212.0), 100.0);
        assert_eq!(Unit::C.to_celsius(21.5), 21.5);
    }
}
