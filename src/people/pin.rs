//! PINs are hashed with Argon2id and only ever compared through the hash.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id with the library's recommended memory and time costs.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The PHC string stored in the roster's events.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the PIN: {e}"))
}

/// A PIN to be set, hashed; the core checks its digits against the PIN rules.
pub fn new_pin(pin: &str) -> Result<crate::domain::pin_rules::NewPin, String> {
    Ok(crate::domain::pin_rules::NewPin::from_parts(
        pin.to_string(),
        hash_pin(pin)?,
    ))
}

/// False for a wrong PIN and for a damaged hash alike: neither signs anything.
pub fn verify_pin(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| hasher().verify_password(pin.as_bytes(), &h).is_ok())
}

/// A PIN must be 4–12 digits: typed with gloves on a numeric keypad.
pub fn check_pin_format(pin: &str) -> Result<(), String> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("a PIN is 4 to 12 digits".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_pin_and_hides_it() {
        let h = hash_pin("4711").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("4711"));
        assert!(verify_pin("4711", &h));
        assert!(!verify_pin("4712", &h));
        assert!(!verify_pin("4711", "not a hash"));
        assert_ne!(hash_pin("4711").unwrap(), h, "salted");
    }

    #[test]
    fn pin_format_table() {
        for (pin, ok) in [
            ("1234", true),
            ("123", false),
            ("12a4", false),
            ("123456789012", true),
            ("1234567890123", false),
        ] {
            assert_eq!(check_pin_format(pin).is_ok(), ok, "{pin}");
        }
    }
}
