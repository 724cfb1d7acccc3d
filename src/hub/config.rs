//! The `[hub]` table of the bench configuration.

use std::path::PathBuf;

use serde::Deserialize;

/// ```toml
/// [hub]
/// url = "https://hub.example:8443"
/// token = "tvh_…"            # issued by `traveler hub enrol BENCH`
/// ca_cert = "/etc/traveler/hub-ca.pem"   # optional: trust this certificate (PEM)
/// ```
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    pub url: String,
    pub token: String,
    /// A PEM certificate to trust besides the usual roots (a shop's own CA or a
    /// self-signed hub certificate).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}
