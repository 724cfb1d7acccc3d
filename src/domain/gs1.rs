//! Scans of material lots: plain lot codes, or GS1 element strings (AI 01 GTIN,
//! 10 batch/lot, 17 expiry YYMMDD, 21 serial) with GS separators or in the
//! human-readable parentheses form.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// ASCII group separator: ends a variable-length GS1 field.
pub const GS: char = '\u{1d}';

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scan {
    pub lot: String,
    pub gtin: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub serial: Option<String>,
    pub raw: String,
}

#[derive(Clone, Copy)]
enum Len {
    Fixed(usize),
    Upto(usize),
}

/// The application identifiers a material label carries; others are refused
/// rather than guessed at.
fn ai_length(ai: &str) -> Option<Len> {
    Some(match ai {
        "00" => Len::Fixed(18),
        "01" | "02" => Len::Fixed(14),
        "11" | "12" | "13" | "15" | "16" | "17" => Len::Fixed(6),
        "20" => Len::Fixed(2),
        "10" | "21" | "22" => Len::Upto(20),
        "30" | "37" => Len::Upto(8),
        "240" | "241" | "250" | "251" | "400" => Len::Upto(30),
        "90" | "91" | "92" | "93" | "94" | "95" | "96" | "97" | "98" | "99" => Len::Upto(90),
        _ => return None,
    })
}

fn split_ai(s: &str) -> Option<(&str, Len)> {
    for n in [2, 3, 4] {
        let ai = s.get(..n)?;
        if let Some(len) = ai_length(ai) {
            return Some((ai, len));
        }
    }
    None
}

/// Parses a scan taken on `today` (needed for the two-digit year of AI 17).
///
/// ```
/// use chrono::NaiveDate;
/// use traveler::domain::gs1::parse_scan;
///
/// let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
/// let label = parse_scan("(01)09506000134352(17)271231(10)AB-12", today).unwrap();
/// assert_eq!(label.lot, "AB-12");
/// assert_eq!(label.expiry, NaiveDate::from_ymd_opt(2027, 12, 31));
/// // Anything that is not a GS1 element string is a plain lot code.
/// assert_eq!(parse_scan("LOT-4471", today).unwrap().lot, "LOT-4471");
/// ```
pub fn parse_scan(raw: &str, today: NaiveDate) -> Result<Scan, String> {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() && c != GS);
    if trimmed.is_empty() {
        return Err("the scan is empty".into());
    }
    let (body, gs1) = strip_symbology(trimmed);
    let fields = if body.starts_with('(') {
        parse_parenthesised(body)?
    } else if gs1 || body.contains(GS) {
        parse_element_string(body)?
    } else if looks_like_bare_gs1(body) {
        match parse_element_string(body) {
            Ok(f) => f,
            Err(_) => return Ok(plain(trimmed)),
        }
    } else {
        return Ok(plain(trimmed));
    };

    let mut scan = Scan {
        lot: String::new(),
        gtin: None,
        expiry: None,
        serial: None,
        raw: raw.to_string(),
    };
    for (ai, value) in fields {
        match ai.as_str() {
            "01" => {
                if !gtin_check_digit_ok(&value) {
                    return Err(format!("GTIN {value} has a wrong check digit"));
                }
                scan.gtin = Some(value);
            }
            "10" => scan.lot = value,
            "17" => scan.expiry = Some(parse_yymmdd(&value, today)?),
            "21" => scan.serial = Some(value),
            _ => {}
        }
    }
    if scan.lot.is_empty() {
        return Err("the GS1 label carries no batch/lot (AI 10)".into());
    }
    Ok(scan)
}

fn plain(code: &str) -> Scan {
    Scan {
        lot: code.to_string(),
        gtin: None,
        expiry: None,
        serial: None,
        raw: code.to_string(),
    }
}

/// Scanners prefix a symbology identifier (]C1 GS1-128, ]d2 DataMatrix, ]Q3 QR, ]e0 DataBar)
/// that marks the rest as GS1 data.
fn strip_symbology(s: &str) -> (&str, bool) {
    for prefix in ["]C1", "]d2", "]Q3", "]e0", "]J1"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return (rest, true);
        }
    }
    (s, false)
}

/// Without a GS or symbology id, only a valid GTIN in front makes a string GS1:
/// a plain lot code that merely starts with "01" stays a lot code.
fn looks_like_bare_gs1(s: &str) -> bool {
    s.len() > 16
        && s.starts_with("01")
        && s.get(2..16)
            .is_some_and(|g| g.bytes().all(|b| b.is_ascii_digit()) && gtin_check_digit_ok(g))
}

fn parse_parenthesised(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('(')
            .ok_or_else(|| format!("expected \"(\" before {rest:?}"))?;
        let close = inner
            .find(')')
            .ok_or_else(|| "an application identifier is missing its \")\"".to_string())?;
        let ai = &inner[..close];
        let len = ai_length(ai)
            .ok_or_else(|| format!("unsupported GS1 application identifier ({ai})"))?;
        let after = &inner[close + 1..];
        let end = after.find('(').unwrap_or(after.len());
        let value = after[..end].trim_end_matches(GS).to_string();
        check_len(ai, &value, len)?;
        out.push((ai.to_string(), value));
        rest = &after[end..];
    }
    Ok(out)
}

fn parse_element_string(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start_matches(GS);
    while !rest.is_empty() {
        let (ai, len) = split_ai(rest)
            .ok_or_else(|| format!("unsupported GS1 application identifier at {rest:?}"))?;
        let after = &rest[ai.len()..];
        let (value, next) = match len {
            Len::Fixed(n) => {
                let v = after
                    .get(..n)
                    .ok_or_else(|| format!("AI {ai} needs {n} characters"))?;
                (v, &after[n..])
            }
            Len::Upto(_) => match after.find(GS) {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            },
        };
        check_len(ai, value, len)?;
        out.push((ai.to_string(), value.to_string()));
        rest = next.trim_start_matches(GS);
    }
    Ok(out)
}

fn check_len(ai: &str, value: &str, len: Len) -> Result<(), String> {
    let n = value.chars().count();
    let ok = match len {
        Len::Fixed(k) => n == k,
        Len::Upto(k) => (1..=k).contains(&n),
    };
    if !ok {
        return Err(format!("AI {ai} value {value:?} has the wrong length"));
    }
    let numeric = matches!(
        ai,
        "00" | "01" | "02" | "11" | "12" | "13" | "15" | "16" | "17" | "20"
    );
    if numeric && !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("AI {ai} must be digits, not {value:?}"));
    }
    Ok(())
}

pub fn gtin_check_digit_ok(gtin: &str) -> bool {
    let digits: Vec<u32> = gtin.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != gtin.len() || digits.len() < 8 {
        return false;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

/// YYMMDD with GS1's sliding century and "DD = 00 means the month's last day".
fn parse_yymmdd(v: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let num = |r: std::ops::Range<usize>| v.get(r).and_then(|s| s.parse::<i32>().ok());
    let (Some(yy), Some(mm), Some(dd)) = (num(0..2), num(2..4), num(4..6)) else {
        return Err(format!("expiry {v:?} is not YYMMDD"));
    };
    let this_year = today.year();
    let mut year = this_year - this_year % 100 + yy;
    if year - this_year >= 51 {
        year -= 100;
    } else if this_year - year > 49 {
        year += 100;
    }
    let bad = || format!("expiry {v:?} is not a real date");
    let month = u32::try_from(mm).map_err(|_| bad())?;
    if dd == 0 {
        let first_next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        };
        return first_next.and_then(|d| d.pred_opt()).ok_or_else(bad);
    }
    NaiveDate::from_ymd_opt(year, month, u32::try_from(dd).map_err(|_| bad())?).ok_or_else(bad)
}

/// A lot may be used through its expiry date, not after.
pub fn expired(expiry: Option<NaiveDate>, today: NaiveDate) -> bool {
    expiry.is_some_and(|e| e < today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2026, 11, 23);

    #[test]
    fn scans_table() {
        let today = d(TODAY.0, TODAY.1, TODAY.2);
        // (raw, lot, gtin, expiry, serial)
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<NaiveDate>,
            Option<&'a str>,
        );
        let ok: &[Case] = &[
            ("LOT-4471", "LOT-4471", None, None, None),
            ("  A12345 \r", "A12345", None, None, None),
            // A plain lot that merely starts with 01 stays plain.
            ("0112345", "0112345", None, None, None),
            (
                "(01)09506000134352(17)271231(10)AB-12",
                "AB-12",
                Some("09506000134352"),
                Some(d(2027, 12, 31)),
                None,
            ),
            (
                "0109506000134352172712311023X7\u{1d}21SN001",
                "23X7",
                Some("09506000134352"),
                Some(d(2027, 12, 31)),
                Some("SN001"),
            ),
            (
                "]d201095060001343521026H1\u{1d}17280200",
                "26H1",
                Some("09506000134352"),
                Some(d(2028, 2, 29)),
                None,
            ),
        ];
        for (raw, lot, gtin, expiry, serial) in ok {
            let s = parse_scan(raw, today).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(s.lot, *lot, "{raw:?}");
            assert_eq!(s.gtin.as_deref(), *gtin, "{raw:?}");
            assert_eq!(s.expiry, *expiry, "{raw:?}");
            assert_eq!(s.serial.as_deref(), *serial, "{raw:?}");
        }
    }

    #[test]
    fn bad_scans_are_refused_with_a_reason() {
        let today = d(TODAY.0, TODAY.1, TODAY.2);
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("(01)09506000134353(10)X", "check digit"),
            ("(01)09506000134352(17)271331(10)X", "not a real date"),
            ("(01)09506000134352", "no batch/lot"),
            ("(77)123(10)X", "unsupported"),
            ("]C10109506000134352", "no batch/lot"),
            ("(17)2712(10)X", "wrong length"),
        ];
        for (raw, want) in cases {
            let err = parse_scan(raw, today).expect_err(raw);
            assert!(err.contains(want), "{raw:?}: {err}");
        }
    }

    #[test]
    fn century_window_and_expiry_rule() {
        let today = d(2026, 11, 23);
        assert_eq!(parse_yymmdd("991231", today).unwrap(), d(1999, 12, 31));
        assert_eq!(parse_yymmdd("700101", today).unwrap(), d(2070, 1, 1));
        assert!(expired(Some(d(2026, 11, 22)), today));
        assert!(!expired(Some(d(2026, 11, 23)), today));
        assert!(!expired(None, today));
    }
}
