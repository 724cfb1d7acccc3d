//! One resolution of `--store` for every sub-command. The flag may be given before
//! the sub-command (`traveler --store DIR people list`), after it, or after a
//! nested sub-command (`traveler people list --store DIR`); all mean the same store.
//! The command line is rewritten so the flag sits where the sub-command reads it,
//! before clap parses it, so a flag given anywhere beats TRAVELER_STORE and the
//! configuration, and is never silently ignored.

use std::ffi::OsString;

/// Sub-commands that read a store, with their nested sub-commands (if any).
const STORE_COMMANDS: [&str; 12] = [
    "cfx",
    "verify",
    "backup",
    "restore",
    "reindex",
    "migrate",
    "export",
    "history",
    "where-used",
    "reviews",
    "people",
    "instructions",
];

/// Top-level options that take a value, so their value is not a sub-command name.
const VALUE_FLAGS: [&str; 5] = [
    "--instructions",
    "--config",
    "--store",
    "--bench",
    "--station",
];

#[derive(Debug, PartialEq)]
pub enum StoreFlagError {
    Twice { first: OsString, second: OsString },
    NoValue,
}

impl std::fmt::Display for StoreFlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreFlagError::Twice { first, second } => write!(
                f,
                "--store is given twice with different folders ({} and {}): give it once",
                first.to_string_lossy(),
                second.to_string_lossy()
            ),
            StoreFlagError::NoValue => write!(f, "--store needs a folder: --store DIR"),
        }
    }
}

/// Moves every `--store DIR` (or `--store=DIR`) to just after the sub-command
/// that reads a store. Without such a sub-command the arguments are unchanged.
pub fn hoist(args: Vec<OsString>) -> Result<Vec<OsString>, StoreFlagError> {
    let mut rest: Vec<OsString> = Vec::with_capacity(args.len());
    let mut store: Option<OsString> = None;
    let mut sub: Option<usize> = None;
    let mut it = args.into_iter();
    if let Some(program) = it.next() {
        rest.push(program);
    }
    let mut after_dashes = false;
    while let Some(a) = it.next() {
        let s = a.to_string_lossy().into_owned();
        if after_dashes {
            rest.push(a);
            continue;
        }
        if s == "--" {
            after_dashes = true;
            rest.push(a);
            continue;
        }
        let value = if s == "--store" {
            Some(it.next().ok_or(StoreFlagError::NoValue)?)
        } else {
            s.strip_prefix("--store=").map(OsString::from)
        };
        if let Some(v) = value {
            match &store {
                Some(first) if *first != v => {
                    return Err(StoreFlagError::Twice {
                        first: first.clone(),
                        second: v,
                    });
                }
                _ => store = Some(v),
            }
            continue;
        }
        if sub.is_none() && VALUE_FLAGS.contains(&s.as_str()) {
            rest.push(a);
            if let Some(v) = it.next() {
                rest.push(v);
            }
            continue;
        }
        if sub.is_none() && !s.starts_with('-') {
            // The first word that is not an option's value is the sub-command.
            sub = Some(rest.len());
        }
        rest.push(a);
    }
    let Some(dir) = store else {
        return Ok(rest);
    };
    let at = match sub {
        Some(i) if STORE_COMMANDS.contains(&rest[i].to_string_lossy().as_ref()) => i + 1,
        // The bench application (no sub-command) or one without a store: leave the
        // flag at the top, where the application reads it.
        Some(i) => i,
        None => rest.len(),
    };
    rest.insert(at, dir);
    rest.insert(at, OsString::from("--store"));
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_flag_lands_after_the_sub_command_wherever_it_was_given() {
        let cases = [
            ("t --store S people list", "t people --store S list"),
            ("t people list --store S", "t people --store S list"),
            ("t people --store S list", "t people --store S list"),
            ("t --store=S backup F", "t backup --store S F"),
            ("t --store S cfx status", "t cfx --store S status"),
            ("t cfx status --store S", "t cfx --store S status"),
            ("t backup F --store S", "t backup --store S F"),
            (
                "t --instructions I --store S export --format csv",
                "t --instructions I export --store S --format csv",
            ),
            ("t --store S --demo", "t --demo --store S"),
            ("t --store S", "t --store S"),
            ("t --store S check I", "t --store S check I"),
            ("t verify", "t verify"),
        ];
        for (given, want) in cases {
            assert_eq!(hoist(v(given)).unwrap(), v(want), "{given}");
        }
        assert!(matches!(
            hoist(v("t --store A people list --store B")),
            Err(StoreFlagError::Twice { .. })
        ));
        assert_eq!(
            hoist(v("t --store A people list --store A")).unwrap(),
            v("t people --store A list")
        );
        assert_eq!(hoist(v("t people --store")), Err(StoreFlagError::NoValue));
    }
}
