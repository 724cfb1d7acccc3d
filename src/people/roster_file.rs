//! Importing a shop's existing roster: a strict TOML file of people and their
//! certificates, checked whole before anything is saved.
//!
//! ```toml
//! [[person]]
//! badge = "T100"
//! name = "Ana Lima"
//! roles = ["technician", "inspector"]
//! skill = "expert"
//!
//! [[person.certification]]
//! level = "CIS"
//! modules = [1, 2, 3, 5, 8]
//! certificate = "CIS-2025-0117"
//! issued = 2025-03-01          # a TOML date; the expiry comes from policy.toml
//! ```
//!
//! The file holds no PINs: a PIN that sat in a spreadsheet is not secret. Imported
//! people are enrolled with a random PIN nobody knows, so they can neither log in
//! nor sign until an admin gives them one with `traveler people set-pin`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::admin;
use crate::domain::event::Event;
use crate::domain::person::Roster;
use crate::domain::policy::Policy;
use crate::domain::types::{CertLevel, Certification, Role, SkillLevel};
use crate::instruction::diagnostic::{Diagnostic, Source};

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RosterFile {
    #[serde(rename = "person")]
    people: Spanned<Vec<RosterPerson>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RosterPerson {
    badge: Spanned<String>,
    name: Spanned<String>,
    roles: Spanned<Vec<Role>>,
    skill: SkillLevel,
    #[serde(rename = "certification", default)]
    certifications: Vec<RosterCertificate>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RosterCertificate {
    level: CertLevel,
    modules: Spanned<Vec<u8>>,
    certificate: Spanned<String>,
    issued: Spanned<toml::value::Datetime>,
}

/// A person from the file, checked and normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedPerson {
    pub badge: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub skill: SkillLevel,
    pub certificates: Vec<ImportedCertificate>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImportedCertificate {
    pub level: CertLevel,
    pub modules: Vec<u8>,
    pub certificate: String,
    pub issued: NaiveDate,
}

/// Reads and checks a roster file against the people already enrolled. Either
/// the whole file is good, or every problem comes back as `file:line:col`.
pub fn load(
    path: &Path,
    existing: &Roster,
    today: NaiveDate,
) -> Result<Vec<ImportedPerson>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!("cannot read: {e}"),
        }]
    })?;
    parse(path, &text, existing, today)
}

/// `load` on text already read; `path` only names it in messages.
pub fn parse(
    path: &Path,
    text: &str,
    existing: &Roster,
    today: NaiveDate,
) -> Result<Vec<ImportedPerson>, Vec<Diagnostic>> {
    let src = Source { path, text };
    let file: RosterFile = toml::from_str(text).map_err(|e| vec![src.parse_error(&e)])?;
    let mut problems = Vec::new();
    let mut at = |span: Range<usize>, msg: String| problems.push(src.at(Some(span), msg));

    if file.people.get_ref().is_empty() {
        at(file.people.span(), "the file lists nobody".into());
    }
    // Certificate numbers already on the roster, and whose they are.
    let mut holders: BTreeMap<String, String> = existing
        .people
        .values()
        .flat_map(|p| {
            p.certifications
                .iter()
                .map(|c| (c.certificate.clone(), p.badge.clone()))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for p in file.people.get_ref() {
        let badge = p.badge.get_ref();
        if let Err(e) = admin::check_badge(badge) {
            at(p.badge.span(), e);
        } else if !seen.insert(badge.clone()) {
            at(
                p.badge.span(),
                format!("badge {badge} appears twice in this file"),
            );
        } else if existing.get(badge).is_some() {
            at(p.badge.span(), format!("badge {badge} is already enrolled"));
        }
        if let Err(e) = admin::check_name(p.name.get_ref()) {
            at(p.name.span(), e);
        }
        let roles = admin::normalise_roles(p.roles.get_ref()).unwrap_or_else(|e| {
            at(p.roles.span(), e);
            Vec::new()
        });
        let mut certificates = Vec::new();
        for c in &p.certifications {
            let modules = admin::normalise_modules(c.modules.get_ref()).unwrap_or_else(|e| {
                at(c.modules.span(), e);
                Vec::new()
            });
            let number = c.certificate.get_ref();
            if let Err(e) = admin::check_certificate_no(number) {
                at(c.certificate.span(), e);
            } else if let Some(holder) = holders.insert(number.clone(), badge.clone()) {
                at(
                    c.certificate.span(),
                    format!("certificate {number} is already recorded for {holder}"),
                );
            }
            let issued = match date_only(c.issued.get_ref()) {
                Some(d) => match admin::check_issued(d, today) {
                    Ok(()) => Some(d),
                    Err(e) => {
                        at(c.issued.span(), e);
                        None
                    }
                },
                None => {
                    at(
                        c.issued.span(),
                        "issued must be a date such as 2025-03-01, without a time".into(),
                    );
                    None
                }
            };
            if let Some(issued) = issued {
                certificates.push(ImportedCertificate {
                    level: c.level,
                    modules,
                    certificate: number.clone(),
                    issued,
                });
            }
        }
        out.push(ImportedPerson {
            badge: badge.clone(),
            name: p.name.get_ref().trim().to_string(),
            roles,
            skill: p.skill,
            certificates,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn date_only(dt: &toml::value::Datetime) -> Option<NaiveDate> {
    if dt.time.is_some() || dt.offset.is_some() {
        return None;
    }
    let d = dt.date?;
    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// The events that enrol `people` and record their certificates, each person
/// with a fresh random PIN hash (`new_pin_hash`) that nobody knows.
pub fn events(
    people: &[ImportedPerson],
    policy: &Policy,
    mut new_pin_hash: impl FnMut() -> Result<String, String>,
) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    for p in people {
        events.push(Event::PersonEnrolled {
            badge: p.badge.clone(),
            name: p.name.clone(),
            roles: p.roles.clone(),
            skill: p.skill,
            pin_hash: new_pin_hash()?,
        });
        for c in &p.certificates {
            events.push(Event::PersonCertified {
                badge: p.badge.clone(),
                certification: Certification {
                    level: c.level,
                    modules: c.modules.clone(),
                    certificate: c.certificate.clone(),
                    issued: c.issued,
                    expires: policy.certification_expiry(c.issued),
                },
            });
        }
    }
    Ok(events)
}

/// A hash of 256 random bits: a PIN nobody can type, until `set-pin`.
pub fn unknown_pin_hash() -> Result<String, String> {
    let secret: String = (0..4)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect();
    super::pin::hash_pin(&secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The roster example in README.md imports.
    #[test]
    fn the_readme_example_imports() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("A roster file for `people import`").unwrap()..];
        let start = section.find("```toml\n").unwrap() + "```toml\n".len();
        let text = &section[start..start + section[start..].find("```").unwrap()];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, text).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let people = load(&path, &Roster::default(), today).unwrap();
        assert_eq!(people.len(), 1);
    }

    const GOOD: &str = r#"[[person]]
badge = "T10"
name = "Iris Ito"
roles = ["technician", "inspector"]
skill = "expert"

[[person.certification]]
level = "CIS"
modules = [8, 1]
certificate = "CIS-10"
issued = 2026-01-15

[[person]]
badge = "S20"
name = "Sam Sato"
roles = ["supervisor"]
skill = "advanced"
"#;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn check(text: &str) -> Result<Vec<ImportedPerson>, Vec<String>> {
        parse(Path::new("r.toml"), text, &Roster::default(), today())
            .map_err(|ds| ds.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_good_file_is_normalised() {
        let people = check(GOOD).unwrap();
        assert_eq!(people.len(), 2);
        assert_eq!(people[0].roles, vec![Role::Technician, Role::Inspector]);
        assert_eq!(people[0].certificates[0].modules, vec![1, 8]);
        assert!(people[1].certificates.is_empty());
    }

    #[test]
    fn broken_files_name_line_and_column() {
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "module out of range",
                GOOD.replace("[8, 1]", "[8, 12]"),
                "r.toml:9:11: training module 12 is not 1–10",
            ),
            (
                "unknown field: no PINs in the file",
                GOOD.replace(
                    "skill = \"advanced\"",
                    "skill = \"advanced\"\npin = \"1234\"",
                ),
                "r.toml:18:1: unknown field `pin`",
            ),
            (
                "unknown role",
                GOOD.replace("\"supervisor\"", "\"boss\""),
                "r.toml:16:10: unknown variant `boss`",
            ),
            (
                "date with a time",
                GOOD.replace("2026-01-15", "2026-01-15T08:00:00"),
                "r.toml:11:10: issued must be a date",
            ),
            (
                "issued in the future",
                GOOD.replace("2026-01-15", "2027-01-15"),
                "r.toml:11:10: issued 2027-01-15 is after today",
            ),
            (
                "badge twice",
                GOOD.replace("\"S20\"", "\"T10\""),
                "r.toml:14:9: badge T10 appears twice",
            ),
            (
                "badge with a space",
                GOOD.replace("\"S20\"", "\"S 20\""),
                "r.toml:14:9: the badge contains ' ' (U+0020) at character 2",
            ),
            (
                "badge with a zero-width space",
                GOOD.replace("\"S20\"", "\"S20\u{200B}\""),
                "r.toml:14:9: the badge contains U+200B at character 4",
            ),
            (
                "name with a right-to-left override",
                GOOD.replace("\"Sam Sato\"", "\"Sam \u{202E}otaS\""),
                "r.toml:15:8: the printed name has the invisible character U+202E at character 5",
            ),
            (
                "name too long",
                GOOD.replace("\"Sam Sato\"", &format!("\"{}\"", "S".repeat(81))),
                "r.toml:15:8: the printed name is 81 characters long; at most 80",
            ),
            (
                "empty name",
                GOOD.replace("\"Sam Sato\"", "\"\""),
                "r.toml:15:8: the printed name cannot be empty",
            ),
            (
                "no roles",
                GOOD.replace("[\"supervisor\"]", "[]"),
                "r.toml:16:9: at least one role",
            ),
            (
                "missing field",
                GOOD.replace("skill = \"expert\"\n", ""),
                "r.toml:1:1: missing field `skill`",
            ),
            (
                "nobody",
                "person = []\n".into(),
                "r.toml:1:10: the file lists nobody",
            ),
        ];
        for (name, text, want) in cases {
            let got = check(&text).expect_err(name);
            assert!(
                got.iter().any(|g| g.starts_with(want)),
                "{name}: want {want:?}, got {got:?}"
            );
        }
    }

    #[test]
    fn certificates_and_badges_already_on_the_roster_are_refused() {
        let first = check(GOOD).unwrap();
        let policy = test_policy();
        let events = events(&first, &policy, || Ok("$argon2id$x".into())).unwrap();
        let records: Vec<_> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| crate::domain::event::Record {
                seq: i as u64 + 1,
                prev_hash: String::new(),
                time: chrono::Utc::now(),
                actor: "A1".into(),
                event,
            })
            .collect();
        let roster = Roster::fold(&records);
        assert_eq!(
            roster.get("T10").unwrap().certifications[0].expires,
            NaiveDate::from_ymd_opt(2028, 1, 15).unwrap()
        );
        let again = parse(Path::new("r.toml"), GOOD, &roster, today()).unwrap_err();
        let again: Vec<String> = again.iter().map(ToString::to_string).collect();
        assert!(
            again
                .iter()
                .any(|m| m.starts_with("r.toml:2:9: badge T10 is already enrolled")),
            "{again:?}"
        );
        let other = GOOD
            .replace("\"T10\"", "\"T11\"")
            .replace("\"S20\"", "\"S21\"");
        let other = parse(Path::new("r.toml"), &other, &roster, today()).unwrap_err();
        assert!(
            other[0]
                .message
                .contains("certificate CIS-10 is already recorded for T10"),
            "{other:?}"
        );
    }

    fn test_policy() -> Policy {
        Policy {
            certification_validity_years: 2,
            allowed: Vec::new(),
            approvals: Vec::new(),
            rework_limits: Vec::new(),
            max_failed_pins: 5,
            lockout_minutes: 15,
            idle_logout_minutes: 10,
            require_release: true,
            roster_max_age_hours: None,
            pin: Default::default(),
        }
    }
}
