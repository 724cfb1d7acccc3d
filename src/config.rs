//! The application's configuration file, and the settings a run ends up with
//! after command-line overrides and the demo defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::app::AppArgs;
use crate::instruction::diagnostic::Source;
use crate::station::config::StationConfig;

/// `config.toml`:
/// ```toml
/// bench = "BENCH-01"
/// store = "/var/lib/traveler/store"
/// instructions = "/etc/traveler/instructions"
/// log_dir = "/var/log/traveler"
/// [station]
/// port = "/dev/ttyUSB0"
/// ...
/// ```
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub bench: Option<String>,
    pub store: Option<PathBuf>,
    pub instructions: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
    /// Where the review screen writes job reports (default: the data folder's exports/).
    pub export_dir: Option<PathBuf>,
    pub station: Option<StationConfig>,
    /// CFX published live to a broker (`[cfx]`, see `cfx::config`); none: off.
    pub cfx: Option<crate::cfx::CfxConfig>,
    /// The shop hub this bench sends its chain to (optional).
    pub hub: Option<crate::hub::HubConfig>,
}

impl AppConfig {
    pub fn load(path: &Path) -> anyhow::Result<AppConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let config: AppConfig = toml::from_str(&text).map_err(|e| {
            let d = Source { path, text: &text }.parse_error(&e);
            anyhow::anyhow!("{d}")
        })?;
        // The [station] table gets the same checks as a file given with --station,
        // so a bad one stops the start instead of showing up on the job screen.
        if let Some(station) = &config.station {
            station.validate().map_err(|v| {
                let e = StationConfig::locate(&text, &path.display().to_string(), &v);
                anyhow::anyhow!("{e}")
            })?;
        }
        Ok(config)
    }
}

pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "traveler")
}

/// Where the configuration file is looked for when none is named.
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// The store the command-line tools use when `--store` is not given: the
/// configuration's, or, with no configuration file (a demo set-up), the demo's.
pub fn default_store() -> anyhow::Result<PathBuf> {
    if let Some(path) = default_config_path().filter(|p| p.is_file()) {
        let config = AppConfig::load(&path)?;
        if let Some(store) = config.store {
            return Ok(store);
        }
        return Ok(data_dir().join("store"));
    }
    Ok(data_dir().join("demo-store"))
}

pub fn data_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".traveler"))
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub demo: bool,
    pub bench: String,
    pub store: PathBuf,
    pub instructions: PathBuf,
    pub log_dir: PathBuf,
    pub export_dir: PathBuf,
    pub station: StationConfig,
    pub cfx: Option<crate::cfx::CfxConfig>,
    /// The shop hub this bench sends its chain to (`[hub]`); none: the bench is alone.
    pub hub: Option<crate::hub::HubConfig>,
}

impl Settings {
    /// Named file > default file > demo. A named file that is missing is an error;
    /// a missing default file means the demo.
    pub fn resolve(args: &AppArgs, instructions: Option<PathBuf>) -> anyhow::Result<Settings> {
        let (config, demo) = match (&args.config, args.demo) {
            (_, true) => (AppConfig::default(), true),
            (Some(path), false) => (AppConfig::load(path)?, false),
            (None, false) => match default_config_path().filter(|p| p.is_file()) {
                Some(path) => (AppConfig::load(&path)?, false),
                None => (AppConfig::default(), true),
            },
        };
        let data = data_dir();
        let store = args.store.clone().or(config.store).unwrap_or_else(|| {
            if demo {
                data.join("demo-store")
            } else {
                data.join("store")
            }
        });
        let station = match &args.station {
            Some(file) => StationConfig::load(file).map_err(|e| anyhow::anyhow!("{e}"))?,
            None => match config.station {
                Some(s) => s,
                None if demo => StationConfig::demo_simulated(),
                None => anyhow::bail!(
                    "the configuration has no [station] table: name the bench's station (see README, Configuration)"
                ),
            },
        };
        Ok(Settings {
            demo,
            bench: args.bench.clone().or(config.bench).unwrap_or_else(|| {
                if demo {
                    "DEMO-1".into()
                } else {
                    "BENCH-1".into()
                }
            }),
            store,
            instructions: instructions
                .or(config.instructions)
                .unwrap_or_else(|| PathBuf::from("instructions")),
            log_dir: config.log_dir.unwrap_or_else(|| data.join("logs")),
            export_dir: config.export_dir.unwrap_or_else(|| data.join("exports")),
            station,
            cfx: config.cfx,
            hub: config.hub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_full_configuration_loads_and_flags_override_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "bench = \"B-7\"\nstore = \"/srv/s\"\n\n[station]\nport = \"/dev/ttyUSB0\"\nchannels = [{ name = \"tip\" }]\n\n[station.protocol]\nkind = \"center-309\"\n",
        );
        let args = AppArgs {
            config: Some(path),
            bench: Some("B-9".into()),
            ..AppArgs::default()
        };
        let s = Settings::resolve(&args, None).unwrap();
        assert!(!s.demo);
        assert_eq!(s.bench, "B-9");
        assert_eq!(s.store, PathBuf::from("/srv/s"));
        assert_eq!(s.station.port.as_deref(), Some("/dev/ttyUSB0"));
    }

    /// The example in README.md is a configuration that loads.
    #[test]
    fn the_readme_example_loads() {
        let readme = include_str!("../README.md");
        let section = &readme[readme.find("## Configuration").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), text);
        let config = AppConfig::load(&path).unwrap();
        let station = config.station.expect("a [station] table");
        station.validate().unwrap();
        assert_eq!(config.bench.as_deref(), Some("BENCH-01"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "bench = \"B\"\nstroe = \"/x\"\n",
                ":2:1:",
                "unknown field `stroe`",
            ),
            ("bench = 7\n", ":1:9:", "invalid type"),
        ];
        for (text, at, what) in cases {
            let path = write(dir.path(), text);
            let args = AppArgs {
                config: Some(path),
                ..AppArgs::default()
            };
            let e = Settings::resolve(&args, None).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(what), "{text:?}: {e}");
        }
        // A configuration without a station is refused: a real bench needs one.
        let path = write(dir.path(), "bench = \"B\"\n");
        let args = AppArgs {
            config: Some(path),
            ..AppArgs::default()
        };
        let e = Settings::resolve(&args, None).unwrap_err().to_string();
        assert!(e.contains("[station]"), "{e}");
        // A named file that does not exist is an error, not the demo.
        let args = AppArgs {
            config: Some(dir.path().join("missing.toml")),
            ..AppArgs::default()
        };
        assert!(Settings::resolve(&args, None).is_err());
    }
}
