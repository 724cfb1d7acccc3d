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

#[cfg(test)]
mod tests {
    use crate::config::AppConfig;

    /// The `[hub]` example in README.md's "Shop hub" section is a configuration that loads.
    #[test]
    fn the_readme_hub_example_loads() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("## Shop hub").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let config: AppConfig = toml::from_str(text).unwrap();
        let hub = config.hub.expect("a [hub] table");
        assert_eq!(hub.url, "https://hub.example:8443");
        assert!(hub.token.starts_with("tvh_"));
        assert!(hub.ca_cert.is_some());
        let e = toml::from_str::<AppConfig>("[hub]\nurl = \"http://h\"\n").unwrap_err();
        assert!(e.to_string().contains("missing field `token`"), "{e}");
    }
}
