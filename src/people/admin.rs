//! Checks on what an admin types or imports before it becomes a roster event.
//! The same checks serve `traveler people` and the roster import, so a badge
//! refused on the command line is refused in a file too.

use chrono::NaiveDate;

use crate::domain::types::Role;

/// Badges are scanned or typed at the bench and become store keys and file
/// names in exports: ASCII letters, digits, - and _ (the rule is
/// [`crate::domain::person::check_badge`]).
pub fn check_badge(badge: &str) -> Result<(), String> {
    crate::domain::person::check_badge(badge).map_err(|e| e.to_string())
}

/// The printed name shown with every signature: no control or invisible
/// characters, at most 80 characters ([`crate::domain::person::check_name`]).
pub fn check_name(name: &str) -> Result<(), String> {
    crate::domain::person::check_name(name).map_err(|e| e.to_string())
}

/// At least one role, each once, in a fixed order.
pub fn normalise_roles(roles: &[Role]) -> Result<Vec<Role>, String> {
    if roles.is_empty() {
        return Err("at least one role is needed".into());
    }
    let mut out = roles.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// IPC-7711/7721 training modules are numbered 1 to 10.
pub fn normalise_modules(modules: &[u8]) -> Result<Vec<u8>, String> {
    if modules.is_empty() {
        return Err("a certificate covers at least one training module".into());
    }
    if let Some(m) = modules.iter().find(|m| !(1..=10).contains(*m)) {
        return Err(format!("training module {m} is not 1–10"));
    }
    let mut out = modules.to_vec();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub fn check_certificate_no(certificate: &str) -> Result<(), String> {
    if certificate.trim().is_empty() {
        return Err("the certificate number cannot be empty".into());
    }
    if certificate.chars().any(char::is_control) {
        return Err("the certificate number cannot contain control characters".into());
    }
    Ok(())
}

/// A certificate issued in the future is a typing error, not a plan.
pub fn check_issued(issued: NaiveDate, today: NaiveDate) -> Result<(), String> {
    if issued > today {
        return Err(format!("issued {issued} is after today ({today})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badge_table() {
        for (badge, ok) in [
            ("T100", true),
            ("QA-7_b", true),
            ("", false),
            ("T 100", false),
            ("T100\n", false),
            ("system", false),
            ("demo", false),
            ("X23456789012345678901234567890123", false),
        ] {
            assert_eq!(check_badge(badge).is_ok(), ok, "{badge:?}");
        }
    }

    #[test]
    fn names_roles_modules_certificates_table() {
        assert!(check_name("Ana Lima").is_ok());
        assert!(check_name("  ").is_err());
        assert!(check_name("Ana\u{1b}[2J").is_err());
        assert_eq!(
            normalise_roles(&[Role::Inspector, Role::Technician, Role::Inspector]),
            Ok(vec![Role::Technician, Role::Inspector])
        );
        assert!(normalise_roles(&[]).is_err());
        assert_eq!(normalise_modules(&[8, 1, 8]), Ok(vec![1, 8]));
        for bad in [&[][..], &[0], &[11], &[1, 12]] {
            assert!(normalise_modules(bad).is_err(), "{bad:?}");
        }
        assert!(check_certificate_no("CIS-2024-0042").is_ok());
        assert!(check_certificate_no(" ").is_err());
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert!(check_issued(today, today).is_ok());
        assert!(check_issued(today.succ_opt().unwrap(), today).is_err());
    }
}
