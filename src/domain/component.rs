//! Removed and fitted components: which part came off which reference designator,
//! and which part (P/N, lot/date code) went on. A step of the instruction says which
//! it records (`component = "remove" | "install"`); the technician types or scans it
//! in one line, which is read here against the job's designators.
//!
//! The line: the designators first (any of the job's, in any case, separated by
//! spaces or commas; none named means all of the job's), then
//! - at a removal: the removed part's P/N, when known;
//! - at an installation: the fitted part's P/N, then its lot, then (optionally) its
//!   date code. A lot of `-` means the reel or bag carries a date code only. Or the
//!   2D label of the reel or bag (ANSI MH10.8.2 / ISO 15434 format 06, as
//!   distributors print them: `[)>` `06` then fields separated by GS), from which
//!   the manufacturer P/N (`1P`, else the customer P/N `P`), the lot (`1T`, else
//!   `T`) and the date code (`10D`, else `9D`) are taken.

use serde::{Deserialize, Serialize};

/// What a step does with the component at the job's designators.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ComponentAction {
    Remove,
    Install,
}

impl ComponentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentAction::Remove => "remove",
            ComponentAction::Install => "install",
        }
    }
}

/// A removal as the technician confirmed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    pub refdes: Vec<String>,
    pub part_number: Option<String>,
}

/// A fitted part as the technician typed or scanned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fitted {
    pub refdes: Vec<String>,
    pub part_number: String,
    pub lot: Option<String>,
    pub date_code: Option<String>,
}

/// Why a component line cannot be recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ComponentProblem {
    /// The step records no removed or fitted part.
    NotAComponentStep {
        step: u32,
    },
    /// The job names no designator, so nothing says where the part was.
    NoDesignator,
    PartNumberNeeded,
    LotOrDateCodeNeeded,
    /// More words than P/N, lot and date code.
    TooManyFields {
        extra: String,
    },
    /// A field longer than [`MAX_FIELD`] characters or with control characters.
    BadField {
        field: &'static str,
    },
    /// A line with too many words whose first unknown word looks like a designator:
    /// most likely a designator this job does not name.
    NotOnJob {
        named: String,
        job: Vec<String>,
    },
}

impl std::fmt::Display for ComponentProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComponentProblem::NotAComponentStep { step } => write!(
                f,
                "step {} removes or fits no component (its instruction step has no `component`)",
                step + 1
            ),
            ComponentProblem::NoDesignator => write!(
                f,
                "the job names no reference designator: a part cannot be recorded without one"
            ),
            ComponentProblem::PartNumberNeeded => write!(
                f,
                "type the fitted part's P/N and lot after the designator(s), e.g. \"U7 SN74HC00PWR L2319A 2319\""
            ),
            ComponentProblem::LotOrDateCodeNeeded => write!(
                f,
                "the fitted part needs its lot (or '-' and the date code) after the P/N"
            ),
            ComponentProblem::TooManyFields { extra } => write!(
                f,
                "too many words at \"{extra}\": the line is the designator(s) of this job first, then the P/N (and at a fitting the lot and date code)"
            ),
            ComponentProblem::BadField { field } => write!(
                f,
                "the {field} is too long or holds control characters (at most {MAX_FIELD} characters a field, {MAX_LINE} a line)"
            ),
            ComponentProblem::NotOnJob { named, job } => write!(
                f,
                "\"{named}\" is not a designator of this job ({}): the line is the job's designator(s) first, then the P/N (and at a fitting the lot and date code)",
                job.join(", ")
            ),
        }
    }
}

/// The longest P/N, lot or date code accepted: longer is a scan gone wrong.
pub const MAX_FIELD: usize = 64;
/// The longest line accepted (it is kept as typed in the record).
pub const MAX_LINE: usize = 512;

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == crate::domain::gs1::GS)
        .filter(|w| !w.is_empty())
}

/// Splits the leading designators of the job (as the job spells them) from the rest.
/// No designator named means all of the job's.
fn designators<'t>(
    text: &'t str,
    job_refdes: &[String],
) -> Result<(Vec<String>, Vec<&'t str>), ComponentProblem> {
    if job_refdes.is_empty() {
        return Err(ComponentProblem::NoDesignator);
    }
    if text.chars().count() > MAX_LINE {
        return Err(ComponentProblem::BadField { field: "line" });
    }
    let mut named: Vec<String> = Vec::new();
    let mut rest = Vec::new();
    for w in words(text) {
        let known = job_refdes.iter().find(|r| r.eq_ignore_ascii_case(w));
        match known {
            Some(r) if rest.is_empty() => {
                if !named.contains(r) {
                    named.push(r.clone());
                }
            }
            _ => rest.push(w),
        }
    }
    if named.is_empty() {
        named = job_refdes.to_vec();
    }
    Ok((named, rest))
}

/// Letters then digits (and at most one letter after): `C9`, `U12`, `RN3A`.
fn looks_like_designator(w: &str) -> bool {
    let letters = w.chars().take_while(char::is_ascii_alphabetic).count();
    let digits = w[letters..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    let tail = w.len() - letters - digits;
    (1..=4).contains(&letters)
        && (1..=5).contains(&digits)
        && tail <= 1
        && w[letters + digits..]
            .chars()
            .all(|c| c.is_ascii_alphabetic())
}

/// Too many words: when the first unknown one looks like a designator, that is the
/// likelier mistake (a designator the job does not name, read as the P/N).
fn too_many(rest: &[&str], extra: &str, job_refdes: &[String]) -> ComponentProblem {
    match rest.first() {
        Some(first) if looks_like_designator(first) => ComponentProblem::NotOnJob {
            named: first.to_string(),
            job: job_refdes.to_vec(),
        },
        _ => ComponentProblem::TooManyFields {
            extra: extra.to_string(),
        },
    }
}

fn field(value: &str, name: &'static str) -> Result<String, ComponentProblem> {
    if value.chars().count() > MAX_FIELD || value.chars().any(char::is_control) {
        return Err(ComponentProblem::BadField { field: name });
    }
    Ok(value.to_string())
}

/// Reads a removal line: designators, then the removed part's P/N when known.
pub fn parse_removed(text: &str, job_refdes: &[String]) -> Result<Removed, ComponentProblem> {
    let (refdes, rest) = designators(text, job_refdes)?;
    let part_number = match rest.as_slice() {
        [] => None,
        [pn] => Some(field(pn, "P/N")?),
        [_, extra, ..] => return Err(too_many(&rest, extra, job_refdes)),
    };
    Ok(Removed {
        refdes,
        part_number,
    })
}

/// The P/N, lot and date code of an MH10.8.2 label's fields (after `[)>`), by their
/// data identifiers; `None` when the words are no such label.
fn label_fields<'t>(rest: &[&'t str]) -> Option<(&'t str, &'t str, Option<&'t str>)> {
    let (first, fields) = rest.split_first()?;
    if !first.starts_with("[)>") {
        return None;
    }
    let (mut mpn, mut pn, mut lot, mut t, mut dc10, mut dc9) = (None, None, None, None, None, None);
    for w in fields {
        // A record separator or end of transmission the scanner sent stays outside.
        let w = w.trim_end_matches(['\u{1e}', '\u{4}']);
        if let Some(v) = w.strip_prefix("1P") {
            mpn = Some(v);
        } else if let Some(v) = w.strip_prefix("1T") {
            lot = Some(v);
        } else if let Some(v) = w.strip_prefix("10D") {
            dc10 = Some(v);
        } else if let Some(v) = w.strip_prefix("9D") {
            dc9 = Some(v);
        } else if let Some(v) = w.strip_prefix('P') {
            pn = Some(v);
        } else if let Some(v) = w.strip_prefix('T') {
            t = Some(v);
        }
    }
    let pn = mpn.or(pn).filter(|v| !v.is_empty()).unwrap_or("");
    let lot = lot.or(t).filter(|v| !v.is_empty()).unwrap_or("-");
    Some((pn, lot, dc10.or(dc9).filter(|v| !v.is_empty())))
}

/// Reads an installation line: designators, then P/N, lot and date code (typed, or
/// the reel's or bag's 2D label).
pub fn parse_fitted(text: &str, job_refdes: &[String]) -> Result<Fitted, ComponentProblem> {
    let (refdes, rest) = designators(text, job_refdes)?;
    if let Some((pn, lot, date_code)) = label_fields(&rest) {
        if pn.is_empty() {
            return Err(ComponentProblem::PartNumberNeeded);
        }
        let lot = (lot != "-").then(|| field(lot, "lot")).transpose()?;
        let date_code = date_code.map(|d| field(d, "date code")).transpose()?;
        if lot.is_none() && date_code.is_none() {
            return Err(ComponentProblem::LotOrDateCodeNeeded);
        }
        return Ok(Fitted {
            refdes,
            part_number: field(pn, "P/N")?,
            lot,
            date_code,
        });
    }
    let (pn, lot, date_code) = match rest.as_slice() {
        [] => return Err(ComponentProblem::PartNumberNeeded),
        [_] => return Err(ComponentProblem::LotOrDateCodeNeeded),
        [pn, lot] => (*pn, *lot, None),
        [pn, lot, dc] => (*pn, *lot, Some(*dc)),
        [_, _, _, extra, ..] => return Err(too_many(&rest, extra, job_refdes)),
    };
    let lot = (lot != "-").then(|| field(lot, "lot")).transpose()?;
    let date_code = date_code.map(|d| field(d, "date code")).transpose()?;
    if lot.is_none() && date_code.is_none() {
        return Err(ComponentProblem::LotOrDateCodeNeeded);
    }
    Ok(Fitted {
        refdes,
        part_number: field(pn, "P/N")?,
        lot,
        date_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Vec<String> {
        vec!["C4".into(), "C5".into()]
    }

    #[test]
    fn removal_lines() {
        let ok = |refdes: &[&str], pn: Option<&str>| {
            Ok(Removed {
                refdes: refdes.iter().map(|r| r.to_string()).collect(),
                part_number: pn.map(str::to_string),
            })
        };
        let cases: Vec<(&str, Result<Removed, ComponentProblem>)> = vec![
            ("", ok(&["C4", "C5"], None)),
            ("C4 C5", ok(&["C4", "C5"], None)),
            ("c5", ok(&["C5"], None)),
            ("C4, C4", ok(&["C4"], None)),
            ("C4 GRM188R71C104", ok(&["C4"], Some("GRM188R71C104"))),
            ("GRM188R71C104", ok(&["C4", "C5"], Some("GRM188R71C104"))),
            (
                "C4 R9 X",
                Err(ComponentProblem::NotOnJob {
                    named: "R9".into(),
                    job: job(),
                }),
            ),
            (
                "C4 GRM188R71C104 X",
                Err(ComponentProblem::TooManyFields { extra: "X".into() }),
            ),
            // A designator after the P/N is not taken as one.
            (
                "PN C5",
                Err(ComponentProblem::TooManyFields { extra: "C5".into() }),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_removed(text, &job()), want, "{text:?}");
        }
        assert_eq!(
            parse_removed("C4", &[]),
            Err(ComponentProblem::NoDesignator)
        );
    }

    #[test]
    fn installation_lines() {
        let ok = |refdes: &[&str], pn: &str, lot: Option<&str>, dc: Option<&str>| {
            Ok(Fitted {
                refdes: refdes.iter().map(|r| r.to_string()).collect(),
                part_number: pn.into(),
                lot: lot.map(str::to_string),
                date_code: dc.map(str::to_string),
            })
        };
        let long = "X".repeat(MAX_FIELD + 1);
        let cases: Vec<(String, Result<Fitted, ComponentProblem>)> = vec![
            ("".into(), Err(ComponentProblem::PartNumberNeeded)),
            ("C4".into(), Err(ComponentProblem::PartNumberNeeded)),
            ("C4 PN".into(), Err(ComponentProblem::LotOrDateCodeNeeded)),
            ("C4 PN -".into(), Err(ComponentProblem::LotOrDateCodeNeeded)),
            ("C4 PN L1".into(), ok(&["C4"], "PN", Some("L1"), None)),
            (
                "PN L1 2319".into(),
                ok(&["C4", "C5"], "PN", Some("L1"), Some("2319")),
            ),
            ("C5 PN - 2319".into(), ok(&["C5"], "PN", None, Some("2319"))),
            // A designator the job does not name, read as the P/N, is named as such.
            (
                "C9 GRM1 L1 2319".into(),
                Err(ComponentProblem::NotOnJob {
                    named: "C9".into(),
                    job: job(),
                }),
            ),
            (
                "C4 PN L1 2319 extra".into(),
                Err(ComponentProblem::TooManyFields {
                    extra: "extra".into(),
                }),
            ),
            (
                format!("C4 {long} L1"),
                Err(ComponentProblem::BadField { field: "P/N" }),
            ),
            (
                format!("C4 PN L1 {}", " ".repeat(MAX_LINE)),
                Err(ComponentProblem::BadField { field: "line" }),
            ),
            (
                "C4 PN L\u{7}1".into(),
                Err(ComponentProblem::BadField { field: "lot" }),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_fitted(&text, &job()), want, "{text:?}");
        }
    }

    /// Reel and bag labels as a keyboard-wedge scanner types them into the runner
    /// (GS kept, RS and EOT dropped or kept).
    #[test]
    fn installation_labels() {
        const G: char = crate::domain::gs1::GS;
        let ok = |refdes: &[&str], pn: &str, lot: Option<&str>, dc: Option<&str>| {
            Ok(Fitted {
                refdes: refdes.iter().map(|r| r.to_string()).collect(),
                part_number: pn.into(),
                lot: lot.map(str::to_string),
                date_code: dc.map(str::to_string),
            })
        };
        let cases: Vec<(String, Result<Fitted, ComponentProblem>)> = vec![
            (
                format!(
                    "C4 [)>06{G}PCUST-9{G}1PGRM188R71C104KA01{G}K{G}1K7755{G}10D2319{G}1TL2319A{G}4LJP{G}Q10"
                ),
                ok(&["C4"], "GRM188R71C104KA01", Some("L2319A"), Some("2319")),
            ),
            (
                format!("C4 C5 [)>\u{1e}06{G}PCUST-9{G}9D2401{G}Q5\u{1e}\u{4}"),
                ok(&["C4", "C5"], "CUST-9", None, Some("2401")),
            ),
            (
                format!("[)>06{G}1PABC{G}TLOT7"),
                ok(&["C4", "C5"], "ABC", Some("LOT7"), None),
            ),
            (
                format!("C4 [)>06{G}1PABC{G}Q5"),
                Err(ComponentProblem::LotOrDateCodeNeeded),
            ),
            (
                format!("C4 [)>06{G}1TLOT7{G}Q5"),
                Err(ComponentProblem::PartNumberNeeded),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_fitted(&text, &job()), want, "{text:?}");
        }
    }
}
