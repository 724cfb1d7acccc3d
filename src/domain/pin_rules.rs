//! What a new PIN must be: policy.toml's `[pin]` rules, decided by one pure
//! function. A 4-digit PIN falls to a loop over 0000–9999 in about a minute
//! once its hash is copied, and `123456` falls to the first guess.
//!
//! The rules apply when a PIN is set (enrolment, `set-pin`). A PIN set before
//! the rules keeps working; the roster remembers which rules each badge's
//! current PIN met ([`crate::domain::event::Event::PinPolicyMet`]), never the PIN
//! or its length, so `people list` can mark the ones to change.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every PIN is digits only (gloves, numeric keypads), 4 to 12 of them.
pub const MIN_PIN_DIGITS: usize = 4;
pub const MAX_PIN_DIGITS: usize = 12;

/// The organisation's PIN rules (`[pin]` in policy.toml).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct PinRules {
    /// Fewest digits a new PIN may have (4 to 12).
    #[serde(default = "default_min_length")]
    pub min_length: u8,
    /// Refuse repeated digits, runs such as 123456 or 654321, and short patterns
    /// repeated (121212, 123123).
    #[serde(default = "default_refuse_trivial")]
    pub refuse_trivial: bool,
}

fn default_min_length() -> u8 {
    6
}

fn default_refuse_trivial() -> bool {
    true
}

impl Default for PinRules {
    fn default() -> Self {
        PinRules {
            min_length: default_min_length(),
            refuse_trivial: default_refuse_trivial(),
        }
    }
}

impl PinRules {
    /// The event saved with a PIN that passed [`check_new_pin`] under `self`.
    pub fn met_event(&self, badge: &str) -> super::event::Event {
        super::event::Event::PinPolicyMet {
            badge: badge.to_string(),
            min_length: self.min_length,
            trivial_refused: self.refuse_trivial,
        }
    }

    /// True if a PIN that met `self` also meets `required`: used for PINs set
    /// under older (or the same) rules.
    pub fn satisfies(&self, required: &PinRules) -> bool {
        self.min_length >= required.min_length && (self.refuse_trivial || !required.refuse_trivial)
    }
}

/// Why a new PIN is refused; the PIN itself is never part of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum PinRejection {
    /// Something other than the digits 0–9.
    NotDigits,
    TooShort {
        digits: usize,
        min: usize,
    },
    TooLong {
        digits: usize,
        max: usize,
    },
    /// One digit throughout: 000000, 777777.
    RepeatedDigit,
    /// Each digit one up or one down from the last (9 wraps to 0): 123456, 654321, 890123.
    Sequence,
    /// A shorter group repeated: 121212, 123123.
    RepeatedPattern,
}

impl fmt::Display for PinRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinRejection::NotDigits => write!(f, "a PIN is digits only"),
            PinRejection::TooShort { digits, min } => {
                write!(
                    f,
                    "the PIN has {digits} digits; the policy asks for at least {min}"
                )
            }
            PinRejection::TooLong { digits, max } => {
                write!(
                    f,
                    "the PIN has {digits} digits; at most {max} fit the keypad"
                )
            }
            PinRejection::RepeatedDigit => {
                write!(
                    f,
                    "the PIN repeats one digit: it is among the first ones guessed"
                )
            }
            PinRejection::Sequence => write!(
                f,
                "the PIN is a run of digits (like 123456 or 654321): it is among the first ones guessed"
            ),
            PinRejection::RepeatedPattern => write!(
                f,
                "the PIN repeats a short group (like 121212): it is among the first ones guessed"
            ),
        }
    }
}

impl std::error::Error for PinRejection {}

/// A PIN being set: its digits, which the core checks against the rules and never
/// stores, and the Argon2id hash made of them, which is stored. Made by
/// `people::pin::new_pin`, which hashes the same digits it keeps.
#[derive(Clone, PartialEq)]
pub struct NewPin {
    digits: String,
    hash: String,
}

impl NewPin {
    /// `hash` must be the hash of `digits` (see `people::pin::new_pin`).
    pub fn from_parts(digits: String, hash: String) -> NewPin {
        NewPin { digits, hash }
    }

    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }
}

impl fmt::Debug for NewPin {
    // A command may be logged: the digits never are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPin(..)")
    }
}

/// Decides whether `pin` may be set as a new PIN under `rules`.
pub fn check_new_pin(pin: &str, rules: &PinRules) -> Result<(), PinRejection> {
    if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinRejection::NotDigits);
    }
    let digits: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
    let n = digits.len();
    if n > MAX_PIN_DIGITS {
        return Err(PinRejection::TooLong {
            digits: n,
            max: MAX_PIN_DIGITS,
        });
    }
    let min = usize::from(rules.min_length).clamp(MIN_PIN_DIGITS, MAX_PIN_DIGITS);
    if n < min {
        return Err(PinRejection::TooShort { digits: n, min });
    }
    if !rules.refuse_trivial {
        return Ok(());
    }
    if digits.iter().all(|d| *d == digits[0]) {
        return Err(PinRejection::RepeatedDigit);
    }
    let steps = |up: u8| digits.windows(2).all(|w| (w[0] + up) % 10 == w[1]);
    if steps(1) || steps(9) {
        return Err(PinRejection::Sequence);
    }
    if (2..=n / 2)
        .filter(|block| n.is_multiple_of(*block))
        .any(|block| digits.chunks(block).all(|c| c == &digits[..block]))
    {
        return Err(PinRejection::RepeatedPattern);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pin_table() {
        let six = PinRules::default();
        let four_lax = PinRules {
            min_length: 4,
            refuse_trivial: false,
        };
        use PinRejection::*;
        let cases: &[(&str, PinRules, Result<(), PinRejection>)] = &[
            ("482913", six, Ok(())),
            ("48291375", six, Ok(())),
            ("1111", six, Err(TooShort { digits: 4, min: 6 })),
            ("48291", six, Err(TooShort { digits: 5, min: 6 })),
            ("000000", six, Err(RepeatedDigit)),
            ("777777777", six, Err(RepeatedDigit)),
            ("123456", six, Err(Sequence)),
            ("654321", six, Err(Sequence)),
            ("012345", six, Err(Sequence)),
            ("890123", six, Err(Sequence)),
            ("3210987", six, Err(Sequence)),
            ("121212", six, Err(RepeatedPattern)),
            ("123123", six, Err(RepeatedPattern)),
            ("12341234", six, Err(RepeatedPattern)),
            ("123124", six, Ok(())),
            ("112233", six, Ok(())),
            ("12a456", six, Err(NotDigits)),
            ("", six, Err(NotDigits)),
            ("１２３４５６", six, Err(NotDigits)),
            (
                "1234567890123",
                six,
                Err(TooLong {
                    digits: 13,
                    max: 12,
                }),
            ),
            // An organisation that keeps 4-digit PINs and trivial ones may say so.
            ("1111", four_lax, Ok(())),
            ("123", four_lax, Err(TooShort { digits: 3, min: 4 })),
        ];
        for (pin, rules, expect) in cases {
            assert_eq!(
                check_new_pin(pin, rules),
                *expect,
                "{pin:?} under {rules:?}"
            );
        }
    }

    #[test]
    fn rules_met_earlier_against_rules_now() {
        let six = PinRules::default();
        let eight = PinRules {
            min_length: 8,
            ..six
        };
        let lax = PinRules {
            refuse_trivial: false,
            ..six
        };
        assert!(six.satisfies(&six));
        assert!(eight.satisfies(&six));
        assert!(!six.satisfies(&eight));
        assert!(!lax.satisfies(&six));
        assert!(six.satisfies(&lax));
    }

    #[test]
    fn a_rejection_never_shows_the_pin() {
        for pin in ["000000", "234567", "343434", "1111"] {
            let e = check_new_pin(pin, &PinRules::default()).unwrap_err();
            assert!(!e.to_string().contains(pin), "{e}");
        }
    }
}
