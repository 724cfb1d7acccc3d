//! The `[cfx]` table of the configuration file.
//!
//! ```toml
//! [cfx]
//! broker = "amqp://traveler:secret@mes-broker.local:5672"
//! address = "/exchange/cfx"          # RabbitMQ 3.x: /exchange/NAME, routed by subject
//! handle = "org.traveler.BENCH-7"    # vendor.model.serial; default org.traveler.{bench}
//! ```
//!
//! No `[cfx]` table means no publishing. Each value is checked as it is read, so a
//! mistake is reported at its file:line:col like the rest of the configuration.

use std::fmt;

use serde::Deserialize;

/// How often a connected bench says it is alive, as the CFX SDK does by default.
pub const DEFAULT_HEARTBEAT_S: u64 = 60;

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CfxConfig {
    /// Keep the settings but publish nothing (default: publish).
    #[serde(default = "yes")]
    pub enabled: bool,
    pub broker: BrokerUrl,
    pub address: TargetAddress,
    pub handle: Option<Handle>,
    /// Every stored reading of a step in its `ReadingsRecorded` (default: peaks only).
    #[serde(default)]
    pub traces: bool,
    /// Seconds between `Heartbeat` messages (default 60).
    #[serde(default = "heartbeat")]
    pub heartbeat_seconds: u64,
}

fn yes() -> bool {
    true
}

fn heartbeat() -> u64 {
    DEFAULT_HEARTBEAT_S
}

impl CfxConfig {
    /// A configuration for `broker` and `address` with the defaults.
    pub fn new(broker: &str, address: &str) -> Result<CfxConfig, ConfigError> {
        Ok(CfxConfig {
            enabled: true,
            broker: BrokerUrl::try_from(broker.to_string())?,
            address: TargetAddress::try_from(address.to_string())?,
            handle: None,
            traces: false,
            heartbeat_seconds: DEFAULT_HEARTBEAT_S,
        })
    }

    /// The handle the bench speaks as.
    pub fn handle_for(&self, bench: &str) -> String {
        self.handle.as_ref().map_or_else(
            || crate::export::cfx::default_handle(bench),
            |h| h.0.clone(),
        )
    }
}

/// Why a `[cfx]` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("broker {url:?}: {reason}")]
    Broker { url: String, reason: BrokerProblem },
    #[error(
        "address {0:?}: expected /exchange/NAME (or /queue/NAME, /amq/queue/NAME, /topic/NAME)"
    )]
    Address(String),
    #[error(
        "handle {0:?}: expected vendor.model.serial, three or more dot-separated parts of letters, digits, '-' or '_'"
    )]
    Handle(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerProblem {
    NotAUrl,
    /// amqps:// needs TLS, which this build leaves out.
    Tls,
    Scheme,
    NoHost,
}

impl fmt::Display for BrokerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BrokerProblem::NotAUrl => "not a URL (expected amqp://user:password@host:5672)",
            BrokerProblem::Tls => {
                "amqps:// (TLS) is not supported by this build; use amqp:// on a trusted network"
            }
            BrokerProblem::Scheme => "the scheme must be amqp://",
            BrokerProblem::NoHost => "no host name",
        })
    }
}

/// An `amqp://` URL; user and password (SASL PLAIN) may be in it.
#[derive(Deserialize, Clone, PartialEq)]
#[serde(try_from = "String")]
pub struct BrokerUrl(url::Url);

impl BrokerUrl {
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The URL without its password, for screens and logs.
    pub fn redacted(&self) -> String {
        let mut u = self.0.clone();
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        u.to_string()
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerUrl({})", self.redacted())
    }
}

impl TryFrom<String> for BrokerUrl {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, ConfigError> {
        let err = |reason| ConfigError::Broker {
            url: s.clone(),
            reason,
        };
        let u = url::Url::parse(&s).map_err(|_| err(BrokerProblem::NotAUrl))?;
        match u.scheme() {
            "amqp" => {}
            "amqps" => return Err(err(BrokerProblem::Tls)),
            _ => return Err(err(BrokerProblem::Scheme)),
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err(err(BrokerProblem::NoHost));
        }
        Ok(BrokerUrl(u))
    }
}

/// The AMQP 1.0 target address messages are sent to.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct TargetAddress(pub String);

impl TryFrom<String> for TargetAddress {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, ConfigError> {
        let ok = ["/exchange/", "/queue/", "/amq/queue/", "/topic/"]
            .iter()
            .any(|p| {
                s.strip_prefix(p)
                    .is_some_and(|name| !name.trim().is_empty())
            });
        if ok {
            Ok(TargetAddress(s))
        } else {
            Err(ConfigError::Address(s))
        }
    }
}

/// A CFX handle: vendor.model.serial.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct Handle(pub String);

impl TryFrom<String> for Handle {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, ConfigError> {
        let parts: Vec<&str> = s.split('.').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if ok {
            Ok(Handle(s))
        } else {
            Err(ConfigError::Handle(s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct File {
        cfx: Option<CfxConfig>,
    }

    fn load(text: &str) -> Result<Option<CfxConfig>, String> {
        toml::from_str::<File>(text).map(|f| f.cfx).map_err(|e| {
            let span = e.span().map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                (line, col)
            });
            format!("{span:?} {}", e.message())
        })
    }

    #[test]
    fn a_cfx_table_loads_with_defaults() {
        assert_eq!(load("").unwrap(), None);
        let c =
            load("[cfx]\nbroker = \"amqp://u:p@127.0.0.1:5672\"\naddress = \"/exchange/cfx\"\n")
                .unwrap()
                .unwrap();
        assert!(c.enabled);
        assert!(!c.traces);
        assert_eq!(c.heartbeat_seconds, 60);
        assert_eq!(c.handle_for("BENCH-7"), "org.traveler.BENCH-7");
        assert_eq!(c.broker.redacted(), "amqp://u:***@127.0.0.1:5672");
        assert!(!format!("{c:?}").contains(":p@"));
        let c = load("[cfx]\nbroker = \"amqp://h\"\naddress = \"/queue/q\"\nhandle = \"acme.traveler.B-1\"\nenabled = false\n")
            .unwrap()
            .unwrap();
        assert!(!c.enabled);
        assert_eq!(c.handle_for("x"), "acme.traveler.B-1");
    }

    /// The README's example is a `[cfx]` table that loads.
    #[test]
    fn the_readme_example_loads() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### CFX over AMQP 1.0").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let c = load(text).unwrap().expect("a [cfx] table");
        assert_eq!(c.address.0, "/exchange/cfx");
        assert_eq!(c.handle_for("x"), "org.traveler.BENCH-01");
    }

    /// Each mistake is refused with its place and its reason.
    #[test]
    fn bad_values_are_refused_where_they_are() {
        let base = "[cfx]\nbroker = \"amqp://h\"\naddress = \"/exchange/cfx\"\n";
        let cases = [
            (
                "[cfx]\nbroker = \"amqps://h\"\naddress = \"/exchange/cfx\"\n".to_string(),
                "Some((2, 10))",
                "TLS",
            ),
            (
                "[cfx]\nbroker = \"http://h\"\naddress = \"/exchange/cfx\"\n".into(),
                "Some((2, 10))",
                "amqp://",
            ),
            (
                "[cfx]\nbroker = \"nonsense\"\naddress = \"/exchange/cfx\"\n".into(),
                "Some((2, 10))",
                "not a URL",
            ),
            (
                "[cfx]\nbroker = \"amqp://h\"\naddress = \"cfx\"\n".into(),
                "Some((3, 11))",
                "/exchange/NAME",
            ),
            (
                "[cfx]\nbroker = \"amqp://h\"\naddress = \"/exchange/\"\n".into(),
                "Some((3, 11))",
                "/exchange/NAME",
            ),
            (
                format!("{base}handle = \"BENCH-7\"\n"),
                "Some((4, 10))",
                "vendor.model.serial",
            ),
            (
                format!("{base}handle = \"a..b\"\n"),
                "Some((4, 10))",
                "vendor.model.serial",
            ),
            (
                format!("{base}hadnle = \"a.b.c\"\n"),
                "Some((4, 1))",
                "unknown field",
            ),
            (
                format!("{base}traces = \"yes\"\n"),
                "Some((4, 10))",
                "invalid type",
            ),
            (
                "[cfx]\naddress = \"/exchange/cfx\"\n".into(),
                "Some((1, 1))",
                "missing field `broker`",
            ),
        ];
        for (text, at, what) in cases {
            let e = load(&text).unwrap_err();
            assert!(e.starts_with(at) && e.contains(what), "{text:?}: {e}");
        }
    }
}
