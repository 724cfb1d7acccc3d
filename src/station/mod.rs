//! Station temperature over serial: configuration, one module per protocol,
//! the reader task with its reconnect loop, and the pseudo-terminal simulator.
//!
//! The app calls [`reader::spawn`] and receives [`StationEvent`]s; nothing it
//! does ever waits on the port.

pub mod ascii_line;
pub mod center309;
pub mod config;
pub mod modbus_rtu;
pub mod port;
pub mod reader;
pub mod sim;
pub mod simulated;

pub use crate::domain::thermal::{Sample, Window};
pub use config::{StationConfig, StationFile};
pub use reader::{StationHandle, spawn};

use std::time::Duration;

use config::Unit;

/// The window the current step asks for, which the simulated station follows.
pub type TargetWindow = Window;

/// A decoded value before time-stamping: `channel` indexes the config's channels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    pub channel: usize,
    pub value: f64,
    pub unit: Unit,
}

impl Reading {
    pub fn celsius(&self) -> f64 {
        self.unit.to_celsius(self.value)
    }
}

/// Anything larger than this is not a temperature a rework bench can show;
/// refusing it keeps line noise that happens to look numeric out of the record.
/// Each channel has a narrower range of its own
/// ([`config::ChannelConfig::plausible`]), checked by every protocol.
pub const PLAUSIBLE_ABS_C: f64 = 2000.0;

/// Counters of what came off the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub good: u64,
    /// Bytes or lines that are not a frame of the protocol.
    pub garbage: u64,
    /// Frames cut short (overlong line, dropped connection, stalled reply).
    pub partial: u64,
    /// Frames whose checksum (Modbus CRC), markers or fixed bits are wrong.
    pub bad_checksum: u64,
    /// Polls that got no answer at all in time.
    pub no_answer: u64,
    /// Frames (ascii-line: values) outside their channel's plausible range:
    /// well formed, but not a temperature that probe can read. Never shown or
    /// recorded.
    pub implausible: u64,
}

impl FrameStats {
    pub fn bad(&self) -> u64 {
        self.garbage + self.partial + self.bad_checksum + self.no_answer + self.implausible
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StationStatus {
    /// The port is open (`port` says which, with the device a link points to).
    Connected { port: String },
    /// The port was lost or could not be opened; the reader retries by itself.
    Disconnected {
        port: String,
        reason: String,
        retry_in: Duration,
    },
    /// Connected, but no sample came within the stale timeout.
    Stale { silent_for: Duration },
    /// Samples flow again after `Stale`.
    Receiving,
    /// Sent at most once a second while the bad-frame count grows.
    BadFrames(FrameStats),
}

#[derive(Clone, Debug, PartialEq)]
pub enum StationEvent {
    Sample(Sample),
    Status(StationStatus),
}
