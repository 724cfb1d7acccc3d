//! Importing a shop's existing roster: a strict TOML file of people and their
//! certificates. Imported people get no usable PIN: an admin sets one with
//! `traveler people set-pin` before they can log in or sign.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::person::Roster;
use crate::domain::types::{CertLevel, Role, SkillLevel};
use crate::instruction::diagnostic::{Diagnostic, Source};

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RosterFile {
    #[serde(rename = "person")]
    pub people: Vec<RosterPerson>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RosterPerson {
    pub badge: Spanned<String>,
    pub name: String,
    pub roles: Vec<Role>,
    pub skill: SkillLevel,
    #[serde(rename = "certification", default)]
    pub certifications: Vec<RosterCertificate>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RosterCertificate {
    pub level: CertLevel,
    pub modules: Spanned<Vec<u8>>,
    pub certificate: String,
    /// Written as a TOML date (2025-03-01).
    pub issued: toml::value::Datetime,
}

impl RosterCertificate {
    pub fn issued_date(&self) -> Option<NaiveDate> {
        let d = self.issued.date?;
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    }
}

/// Parses and checks a roster file against the people already enrolled; either
/// the whole file is good or nothing is imported.
pub fn load(path: &Path, existing: &Roster) -> Result<RosterFile, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let src = Source { path, text: &text };
    let file: RosterFile = toml::from_str(&text).map_err(|e| vec![src.parse_error(&e)])?;
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &file.people {
        let badge = p.badge.get_ref();
        if badge.trim().is_empty() {
            problems.push(src.at(Some(p.badge.span()), "badge is empty"));
        }
        if !seen.insert(badge.clone()) {
            problems.push(src.at(
                Some(p.badge.span()),
                format!("badge {badge} appears twice in this file"),
            ));
        }
        if existing.get(badge).is_some() {
            problems.push(src.at(
                Some(p.badge.span()),
                format!("badge {badge} is already enrolled"),
            ));
        }
        if p.roles.is_empty() {
            problems.push(src.at(Some(p.badge.span()), format!("{badge}: roles is empty")));
        }
        for c in &p.certifications {
            if let Some(m) = c.modules.get_ref().iter().find(|m| !(1..=10).contains(*m)) {
                problems.push(src.at(
                    Some(c.modules.span()),
                    format!("training module {m} is not 1–10"),
                ));
            }
            if c.issued_date().is_none() {
                problems.push(src.at(
                    Some(c.modules.span()),
                    "issued must be a date such as 2025-03-01",
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}
