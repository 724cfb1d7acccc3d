//! The roster is a fold over person events, like everything else.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::event::{Event, Record};
use super::pin_rules::PinRules;
use super::types::{Certification, Role, SkillLevel};

#[derive(Serialize, Clone, PartialEq, Debug)]
pub struct Person {
    pub badge: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub skill: SkillLevel,
    #[serde(skip)]
    pub pin_hash: String,
    pub certifications: Vec<Certification>,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
    /// Wrong PINs since the last success or lock; five in a row lock the badge.
    pub failed_pins: u32,
}

impl Person {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// The certificates valid on `day` that cover `module`.
    pub fn covering(&self, module: u8, day: NaiveDate) -> impl Iterator<Item = &Certification> {
        self.certifications
            .iter()
            .filter(move |c| c.modules.contains(&module) && c.valid_on(day))
    }
}

/// Everyone ever enrolled, by badge, as of the records folded so far.
#[derive(Default, Clone, Debug)]
pub struct Roster {
    pub people: BTreeMap<String, Person>,
    /// The PIN rules each badge's current PIN met when it was set. A badge
    /// missing here has a PIN from before the rules (or a demo or imported one).
    pub pin_rules: BTreeMap<String, PinRules>,
    /// The bench follows the shop roster at the hub since this hub record (the
    /// first roster fact it copied): its own roster changes are refused.
    pub hub_since: Option<u64>,
    /// The last hub seq copied into this chain (any kind benches follow).
    pub last_hub_mirror: Option<u64>,
    /// Bench seq of each badge's latest log-in in this chain.
    pub logins: BTreeMap<String, u64>,
    /// Bench seq of the latest copy of a hub record saying the hub confirmed the
    /// badge's PIN at a log-in at this bench (the hub sends a bench only its own:
    /// `hub_records::for_bench`).
    pub verified_online: BTreeMap<String, u64>,
}

impl Roster {
    pub fn fold<'a>(records: impl IntoIterator<Item = &'a Record>) -> Roster {
        let mut r = Roster::default();
        for rec in records {
            r.apply(rec);
        }
        r
    }

    /// A bench's roster: its own records and the hub records it copied
    /// (`HubRecordMirrored`), in chain order. `unwrap` reads the hub record inside a
    /// copy (the store layer decodes it; `None` for any other record), which then
    /// takes effect as if it had happened here, with the hub record's actor.
    pub fn fold_bench<'a>(
        records: impl IntoIterator<Item = &'a Record>,
        unwrap: impl Fn(&Record) -> Option<Record>,
    ) -> Roster {
        let mut r = Roster::default();
        for rec in records {
            match unwrap(rec) {
                Some(inner) => r.apply_from_hub(rec.seq, &inner),
                None => {
                    if let Event::LoggedIn { badge, .. } = &rec.event {
                        r.logins.insert(badge.clone(), rec.seq);
                    }
                    r.apply(rec)
                }
            }
        }
        r
    }

    /// A hub record copied into this chain at bench seq `bench_seq`.
    pub fn apply_from_hub(&mut self, bench_seq: u64, inner: &Record) {
        if !super::hub_records::for_benches(&inner.event) {
            return;
        }
        self.last_hub_mirror = Some(inner.seq);
        let roster_fact = matches!(
            inner.event,
            Event::PersonEnrolled { .. }
                | Event::PersonUpdated { .. }
                | Event::PersonCertified { .. }
                | Event::CertificationRevoked { .. }
                | Event::PersonDeactivated { .. }
                | Event::PinChanged { .. }
        );
        if roster_fact && self.hub_since.is_none() {
            self.hub_since = Some(inner.seq);
        }
        if let Event::LoggedIn { badge, .. } = &inner.event {
            self.verified_online.insert(badge.clone(), bench_seq);
        }
        self.apply(inner);
    }

    /// Whether the hub confirmed `badge`'s PIN at or after their latest log-in
    /// here (see `online_gate`).
    pub fn verified_online_since_login(&self, badge: &str) -> bool {
        let login = self.logins.get(badge).copied().unwrap_or(0);
        self.verified_online
            .get(badge)
            .is_some_and(|seq| *seq > login)
    }

    pub fn get(&self, badge: &str) -> Option<&Person> {
        self.people.get(badge)
    }

    /// True if `badge`'s current PIN was set under rules at least as strict as
    /// `required`; false for PINs from before the rules, which still work until
    /// their next change.
    pub fn pin_meets(&self, badge: &str, required: &PinRules) -> bool {
        self.pin_rules
            .get(badge)
            .is_some_and(|met| met.satisfies(required))
    }

    pub fn apply(&mut self, rec: &Record) {
        // A roster change is saved only after its actor's PIN was checked, so it
        // proves that PIN like a log-in does: the wrong ones in a row start over.
        if matches!(
            rec.event,
            Event::PersonEnrolled { .. }
                | Event::PersonUpdated { .. }
                | Event::PersonCertified { .. }
                | Event::CertificationRevoked { .. }
                | Event::PersonDeactivated { .. }
                | Event::PinChanged { .. }
        ) && let Some(actor) = self.people.get_mut(&rec.actor)
        {
            actor.failed_pins = 0;
        }
        match &rec.event {
            // A new PIN starts unknown; the PinPolicyMet saved with it says what it met.
            Event::PersonEnrolled { badge, .. } | Event::PinChanged { badge, .. } => {
                self.pin_rules.remove(badge);
            }
            Event::PinPolicyMet {
                badge,
                min_length,
                trivial_refused,
            } => {
                self.pin_rules.insert(
                    badge.clone(),
                    PinRules {
                        min_length: *min_length,
                        refuse_trivial: *trivial_refused,
                    },
                );
            }
            _ => {}
        }
        match &rec.event {
            Event::PersonEnrolled {
                badge,
                name,
                roles,
                skill,
                pin_hash,
            } => {
                self.people.insert(
                    badge.clone(),
                    Person {
                        badge: badge.clone(),
                        name: name.clone(),
                        roles: roles.clone(),
                        skill: *skill,
                        pin_hash: pin_hash.clone(),
                        certifications: Vec::new(),
                        active: true,
                        locked_until: None,
                        failed_pins: 0,
                    },
                );
            }
            Event::PersonUpdated {
                badge,
                name,
                roles,
                skill,
            } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.name = name.clone();
                    p.roles = roles.clone();
                    p.skill = *skill;
                }
            }
            Event::PersonCertified {
                badge,
                certification,
            } => {
                if let Some(p) = self.people.get_mut(badge) {
                    // A re-issued certificate number replaces the old record.
                    p.certifications
                        .retain(|c| c.certificate != certification.certificate);
                    p.certifications.push(certification.clone());
                }
            }
            Event::CertificationRevoked {
                badge, certificate, ..
            } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.certifications.retain(|c| &c.certificate != certificate);
                }
            }
            Event::PersonDeactivated { badge, .. } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.active = false;
                }
            }
            Event::PinChanged { badge, pin_hash } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.pin_hash = pin_hash.clone();
                    p.failed_pins = 0;
                    p.locked_until = None;
                }
            }
            Event::PinRejected { badge, .. } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.failed_pins += 1;
                }
            }
            Event::BadgeLocked { badge, until } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.locked_until = Some(*until);
                    p.failed_pins = 0;
                }
            }
            // A signature or log-in proves the PIN was right: the count starts over.
            Event::LoggedIn { badge, .. } => {
                if let Some(p) = self.people.get_mut(badge) {
                    p.failed_pins = 0;
                }
            }
            Event::CheckpointSigned { signer, .. } => {
                if let Some(p) = self.people.get_mut(signer) {
                    p.failed_pins = 0;
                }
            }
            Event::JobReviewed { reviewer, .. } | Event::ReviewDecided { reviewer, .. } => {
                if let Some(p) = self.people.get_mut(reviewer) {
                    p.failed_pins = 0;
                }
            }
            _ => {}
        }
    }
}

/// A signature refused because the bench's copy of the shop roster is too old.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaleRoster {
    pub badge: String,
    pub max_age_hours: f64,
    /// When the bench last reached the hub's roster head (`None`: not on record).
    pub last_contact: Option<DateTime<Utc>>,
    /// How long ago that was, in whole minutes.
    pub age_minutes: Option<i64>,
}

impl fmt::Display for StaleRoster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last_contact {
            Some(at) => write!(
                f,
                "the roster here was last brought up to date by the hub at {} UTC, {} ago; \
                 the policy allows {} h (policy.toml [hub] roster_max_age_hours)",
                at.format("%Y-%m-%d %H:%M"),
                age_words(self.age_minutes.unwrap_or(0)),
                self.max_age_hours
            )?,
            None => write!(
                f,
                "this bench has no record of reaching the hub's roster (policy.toml [hub] \
                 roster_max_age_hours = {})",
                self.max_age_hours
            )?,
        }
        write!(
            f,
            ": only people whose PIN the hub confirmed at their log-in here may sign, and {} \
             was not; log in again while the hub is reachable",
            self.badge
        )
    }
}

/// "3 h 05 min", "12 min".
fn age_words(minutes: i64) -> String {
    if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    }
}

/// The roster cache's maximum age (pure). On a bench that follows the hub's roster,
/// once `max_age_hours` has passed since `last_contact` (the bench last reached the
/// hub's roster head), only a signer *verified online* may sign: one whose PIN the
/// hub confirmed at or after their latest log-in at this bench (a copied hub
/// `LoggedIn` record). Everyone else may have been revoked, deactivated or locked
/// at the hub since.
pub fn online_gate(
    max_age_hours: Option<f64>,
    last_contact: Option<DateTime<Utc>>,
    roster: &Roster,
    badge: &str,
    now: DateTime<Utc>,
) -> Result<(), StaleRoster> {
    let Some(max) = max_age_hours else {
        return Ok(());
    };
    if roster.hub_since.is_none() {
        return Ok(());
    }
    let fresh = last_contact.is_some_and(|at| {
        let age = now.signed_duration_since(at);
        age.num_milliseconds() as f64 <= max * 3_600_000.0
    });
    if fresh || roster.verified_online_since_login(badge) {
        return Ok(());
    }
    Err(StaleRoster {
        badge: badge.to_string(),
        max_age_hours: max,
        last_contact,
        age_minutes: last_contact.map(|at| now.signed_duration_since(at).num_minutes()),
    })
}

/// The longest badge: badges are scanned or typed and become store keys and
/// file names in exports.
pub const MAX_BADGE_CHARS: usize = 32;
/// The longest printed name shown with a signature.
pub const MAX_NAME_CHARS: usize = 80;

/// Why a badge is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum BadgeRejection {
    Empty,
    TooLong {
        chars: usize,
        max: usize,
    },
    /// Only ASCII letters, digits, `-` and `_`: nothing that looks like another
    /// badge (zero-width spaces, Cyrillic look-alikes, emoji) gets in.
    Character {
        at: usize,
        found: char,
    },
    /// `system` and `demo` name the program itself in the record.
    Reserved,
}

/// Why a printed name is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum NameRejection {
    Empty,
    TooLong {
        chars: usize,
        max: usize,
    },
    /// Control characters (escape sequences, new lines, tabs).
    Control {
        at: usize,
        found: char,
    },
    /// Invisible format characters: zero-width spaces and joiners, bidi
    /// overrides and isolates, soft hyphens, variation selectors, fillers.
    /// They make two names that print alike differ, or one name print reversed.
    Invisible {
        at: usize,
        found: char,
    },
    /// White space other than a plain space (no-break, em, ideographic...).
    Space {
        at: usize,
        found: char,
    },
}

/// `U+202E` rather than the character itself: a message must not carry the
/// override it is warning about to the terminal.
struct CodePoint(char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() || self.0 == ' ' {
            write!(f, "'{}' (U+{:04X})", self.0, u32::from(self.0))
        } else {
            write!(f, "U+{:04X}", u32::from(self.0))
        }
    }
}

impl fmt::Display for BadgeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadgeRejection::Empty => write!(f, "a badge cannot be empty"),
            BadgeRejection::TooLong { chars, max } => {
                write!(f, "the badge is {chars} characters long; at most {max}")
            }
            BadgeRejection::Character { at, found } => write!(
                f,
                "the badge contains {} at character {at}: use ASCII letters, digits, - or _",
                CodePoint(*found)
            ),
            BadgeRejection::Reserved => write!(f, "the badge is reserved for the program itself"),
        }
    }
}

impl fmt::Display for NameRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameRejection::Empty => write!(f, "the printed name cannot be empty"),
            NameRejection::TooLong { chars, max } => {
                write!(
                    f,
                    "the printed name is {chars} characters long; at most {max}"
                )
            }
            NameRejection::Control { at, found } => write!(
                f,
                "the printed name has the control character {} at character {at}",
                CodePoint(*found)
            ),
            NameRejection::Invisible { at, found } => write!(
                f,
                "the printed name has the invisible character {} at character {at} (zero-width or text-direction mark)",
                CodePoint(*found)
            ),
            NameRejection::Space { at, found } => write!(
                f,
                "the printed name has the space character {} at character {at}: use plain spaces",
                CodePoint(*found)
            ),
        }
    }
}

impl std::error::Error for BadgeRejection {}
impl std::error::Error for NameRejection {}

/// Decides whether `badge` may be enrolled.
pub fn check_badge(badge: &str) -> Result<(), BadgeRejection> {
    if badge.is_empty() {
        return Err(BadgeRejection::Empty);
    }
    if let Some((i, c)) = badge
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(BadgeRejection::Character {
            at: i + 1,
            found: c,
        });
    }
    if badge.len() > MAX_BADGE_CHARS {
        return Err(BadgeRejection::TooLong {
            chars: badge.len(),
            max: MAX_BADGE_CHARS,
        });
    }
    if badge == super::event::SYSTEM_ACTOR || badge == "demo" {
        return Err(BadgeRejection::Reserved);
    }
    Ok(())
}

/// Decides whether `name` (as typed; outer spaces are trimmed when saved) may
/// be a printed name.
pub fn check_name(name: &str) -> Result<(), NameRejection> {
    let trimmed = name.trim_matches(' ');
    if trimmed.is_empty() {
        return Err(NameRejection::Empty);
    }
    for (i, c) in name.chars().enumerate() {
        let at = i + 1;
        if c.is_control() {
            return Err(NameRejection::Control { at, found: c });
        }
        if is_invisible(c) {
            return Err(NameRejection::Invisible { at, found: c });
        }
        if c.is_whitespace() && c != ' ' {
            return Err(NameRejection::Space { at, found: c });
        }
    }
    let chars = trimmed.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameRejection::TooLong {
            chars,
            max: MAX_NAME_CHARS,
        });
    }
    Ok(())
}

/// Unicode's format characters (general category Cf) and the other code
/// points that print as nothing: the standard library has no category table,
/// so the ranges are listed here (Unicode 15).
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn badge_table() {
        use BadgeRejection::*;
        let cases: &[(&str, Result<(), BadgeRejection>)] = &[
            ("T100", Ok(())),
            ("QA-7_b", Ok(())),
            ("", Err(Empty)),
            (
                "T100\u{200B}",
                Err(Character {
                    at: 5,
                    found: '\u{200B}',
                }),
            ),
            ("T 100", Err(Character { at: 2, found: ' ' })),
            ("T100\n", Err(Character { at: 5, found: '\n' })),
            (
                "T1\u{00F6}0",
                Err(Character {
                    at: 3,
                    found: '\u{00F6}',
                }),
            ),
            // Cyrillic Т (U+0422) looks like a Latin T.
            (
                "\u{0422}100",
                Err(Character {
                    at: 1,
                    found: '\u{0422}',
                }),
            ),
            (
                "\u{1F600}",
                Err(Character {
                    at: 1,
                    found: '\u{1F600}',
                }),
            ),
            ("T.100", Err(Character { at: 2, found: '.' })),
            ("system", Err(Reserved)),
            ("demo", Err(Reserved)),
            (&"X".repeat(32), Ok(())),
            (&"X".repeat(33), Err(TooLong { chars: 33, max: 32 })),
        ];
        for (badge, expect) in cases {
            assert_eq!(check_badge(badge), *expect, "{badge:?}");
        }
    }

    #[test]
    fn name_table() {
        use NameRejection::*;
        let long = "A".repeat(81);
        let cases: &[(&str, Result<(), NameRejection>)] = &[
            ("Ana Lima", Ok(())),
            ("  Ana Lima ", Ok(())),
            ("Zoë Ødegård-Nuñez", Ok(())),
            ("王芳", Ok(())),
            ("", Err(Empty)),
            ("   ", Err(Empty)),
            (
                "Ana\u{1b}[2J",
                Err(Control {
                    at: 4,
                    found: '\u{1b}',
                }),
            ),
            ("Ana\tLima", Err(Control { at: 4, found: '\t' })),
            (
                "Ana Lima\u{200B}",
                Err(Invisible {
                    at: 9,
                    found: '\u{200B}',
                }),
            ),
            (
                "\u{202E}amiL anA",
                Err(Invisible {
                    at: 1,
                    found: '\u{202E}',
                }),
            ),
            (
                "Ana\u{2066}Lima",
                Err(Invisible {
                    at: 4,
                    found: '\u{2066}',
                }),
            ),
            (
                "Ana\u{00AD}Lima",
                Err(Invisible {
                    at: 4,
                    found: '\u{00AD}',
                }),
            ),
            (
                "Ana\u{FEFF}",
                Err(Invisible {
                    at: 4,
                    found: '\u{FEFF}',
                }),
            ),
            (
                "Ana\u{00A0}Lima",
                Err(Space {
                    at: 4,
                    found: '\u{00A0}',
                }),
            ),
            (&"A".repeat(80), Ok(())),
            (&long, Err(TooLong { chars: 81, max: 80 })),
        ];
        for (name, expect) in cases {
            assert_eq!(check_name(name), *expect, "{name:?}");
        }
        // The message names the code point, never prints the override itself.
        let msg = check_name("\u{202E}x").unwrap_err().to_string();
        assert!(msg.contains("U+202E") && !msg.contains('\u{202E}'), "{msg}");
    }

    #[test]
    fn pin_rules_follow_the_current_pin() {
        let rules = PinRules::default();
        let met = Event::PinPolicyMet {
            badge: "A".into(),
            min_length: 6,
            trivial_refused: true,
        };
        let changed = Event::PinChanged {
            badge: "A".into(),
            pin_hash: String::new(),
        };
        let r = Roster::fold(&[rec(1, "A", enrol("A"))]);
        assert!(!r.pin_meets("A", &rules), "a PIN from before the rules");
        let r = Roster::fold(&[rec(1, "A", enrol("A")), rec(2, "A", met.clone())]);
        assert!(r.pin_meets("A", &rules));
        let stricter = PinRules {
            min_length: 8,
            ..rules
        };
        assert!(!r.pin_meets("A", &stricter), "rules raised since");
        let r = Roster::fold(&[
            rec(1, "A", enrol("A")),
            rec(2, "A", met),
            rec(3, "A", changed),
        ]);
        assert!(!r.pin_meets("A", &rules), "changed without the rules");
    }

    fn rec(seq: u64, actor: &str, event: Event) -> Record {
        Record {
            seq,
            prev_hash: String::new(),
            time: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
            actor: actor.into(),
            event,
        }
    }

    fn enrol(badge: &str) -> Event {
        Event::PersonEnrolled {
            badge: badge.into(),
            name: badge.into(),
            roles: vec![Role::Admin],
            skill: SkillLevel::Intermediate,
            pin_hash: String::new(),
        }
    }

    fn wrong(badge: &str) -> Event {
        Event::PinRejected {
            badge: badge.into(),
            purpose: "admin".into(),
        }
    }

    #[test]
    fn wrong_pins_count_in_a_row_until_a_proven_pin() {
        let deactivate = Event::PersonDeactivated {
            badge: "B".into(),
            reason: "left".into(),
        };
        let cases: Vec<(&str, Vec<Record>, u32, u32)> = vec![
            (
                "two wrong PINs count",
                vec![
                    rec(1, "A", enrol("A")),
                    rec(2, "A", wrong("A")),
                    rec(3, "A", wrong("A")),
                ],
                2,
                0,
            ),
            (
                "an admin's saved change proves the admin's PIN",
                vec![
                    rec(1, "A", enrol("A")),
                    rec(2, "A", wrong("A")),
                    rec(3, "A", enrol("B")),
                ],
                0,
                0,
            ),
            (
                "a change made by someone else proves nothing about the subject",
                vec![
                    rec(1, "A", enrol("A")),
                    rec(2, "A", enrol("B")),
                    rec(3, "B", wrong("B")),
                    rec(4, "A", deactivate.clone()),
                ],
                0,
                1,
            ),
            (
                "a wrong PIN recorded under the badge's own name proves nothing",
                vec![rec(1, "A", enrol("A")), rec(2, "A", wrong("A"))],
                1,
                0,
            ),
        ];
        for (name, records, a, b) in cases {
            let r = Roster::fold(&records);
            assert_eq!(r.get("A").map(|p| p.failed_pins), Some(a), "{name}: A");
            assert_eq!(r.get("B").map_or(0, |p| p.failed_pins), b, "{name}: B");
        }
    }

    #[test]
    fn deactivation_and_lock_reach_the_person() {
        let until = Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 0).unwrap();
        let r = Roster::fold(&[
            rec(1, "A", enrol("A")),
            rec(2, "A", enrol("B")),
            rec(
                3,
                "B",
                Event::BadgeLocked {
                    badge: "B".into(),
                    until,
                },
            ),
            rec(
                4,
                "A",
                Event::PersonDeactivated {
                    badge: "A".into(),
                    reason: "left".into(),
                },
            ),
        ]);
        let a = r.get("A").unwrap();
        let b = r.get("B").unwrap();
        assert!(!a.active);
        assert!(b.active && b.is_locked(until - chrono::Duration::seconds(1)));
        assert!(!b.is_locked(until));
    }

    fn hub_rec(seq: u64, actor: &str, event: Event) -> Record {
        rec(seq, actor, event)
    }

    /// A bench chain: `local` records, and hub records copied (as the store layer
    /// would unwrap them) at the bench seqs given.
    fn bench_roster(items: Vec<(u64, Option<Record>, Event)>) -> Roster {
        let records: Vec<(Record, Option<Record>)> = items
            .into_iter()
            .map(|(seq, inner, e)| (rec(seq, "system", e), inner))
            .collect();
        let outer: Vec<Record> = records.iter().map(|(r, _)| r.clone()).collect();
        Roster::fold_bench(&outer, |r| {
            records
                .iter()
                .find(|(o, _)| o.seq == r.seq)
                .and_then(|(_, i)| i.clone())
        })
    }

    fn copy() -> Event {
        Event::LoggedOut {
            badge: "placeholder".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn a_bench_roster_folds_its_copies_of_hub_records() {
        let hub_enrol = hub_rec(3, "A", enrol("T"));
        let revoked_cert = Event::PersonCertified {
            badge: "T".into(),
            certification: crate::domain::types::Certification {
                level: crate::domain::types::CertLevel::CIS,
                modules: vec![1],
                certificate: "C1".into(),
                issued: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                expires: chrono::NaiveDate::from_ymd_opt(2028, 1, 1).unwrap(),
            },
        };
        let r = bench_roster(vec![
            (1, None, enrol("A")),
            (2, Some(hub_enrol.clone()), copy()),
            (3, Some(hub_rec(4, "A", revoked_cert)), copy()),
            (
                4,
                Some(hub_rec(
                    5,
                    "A",
                    Event::CertificationRevoked {
                        badge: "T".into(),
                        certificate: "C1".into(),
                        reason: "audit".into(),
                    },
                )),
                copy(),
            ),
        ]);
        assert_eq!(
            r.hub_since,
            Some(3),
            "follows the hub since its first roster fact"
        );
        assert_eq!(r.last_hub_mirror, Some(5));
        assert!(
            r.get("T").unwrap().certifications.is_empty(),
            "revoked at the hub"
        );
        assert!(r.get("A").is_some(), "the bench's own records stay");
        // A bench with only its own records does not follow the hub.
        let own = bench_roster(vec![(1, None, enrol("A"))]);
        assert_eq!(own.hub_since, None);
        // A copied record benches do not follow changes nothing.
        let odd = bench_roster(vec![(
            1,
            Some(hub_rec(9, "A", Event::JobSubmitted { job: "J".into() })),
            copy(),
        )]);
        assert_eq!(odd.last_hub_mirror, None);
    }

    #[test]
    fn online_gate_table() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let hours = |h: i64| Some(now - chrono::Duration::hours(h));
        let login = |seq: u64, badge: &str| {
            (
                seq,
                None,
                Event::LoggedIn {
                    badge: badge.into(),
                    bench: "B1".into(),
                },
            )
        };
        let confirmed = |seq: u64, hub_seq: u64, badge: &str, bench: &str| {
            (
                seq,
                Some(hub_rec(
                    hub_seq,
                    badge,
                    Event::LoggedIn {
                        badge: badge.into(),
                        bench: bench.into(),
                    },
                )),
                copy(),
            )
        };
        let follows = (1, Some(hub_rec(1, "A", enrol("T"))), copy());
        type Item = (u64, Option<Record>, Event);
        type Case = (
            &'static str,
            Option<f64>,
            Option<DateTime<Utc>>,
            Vec<Item>,
            bool,
        );
        let cases: Vec<Case> = vec![
            (
                "no maximum age",
                None,
                None,
                vec![follows.clone(), login(2, "T")],
                true,
            ),
            (
                "a bench that does not follow the hub",
                Some(8.0),
                None,
                vec![(1, None, enrol("T")), login(2, "T")],
                true,
            ),
            (
                "within the maximum age",
                Some(8.0),
                hours(7),
                vec![follows.clone(), login(2, "T")],
                true,
            ),
            (
                "past it, not verified",
                Some(8.0),
                hours(9),
                vec![follows.clone(), login(2, "T")],
                false,
            ),
            (
                "no contact on record",
                Some(8.0),
                None,
                vec![follows.clone(), login(2, "T")],
                false,
            ),
            (
                "past it, the hub confirmed this log-in",
                Some(8.0),
                hours(9),
                vec![follows.clone(), login(2, "T"), confirmed(3, 7, "T", "B1")],
                true,
            ),
            (
                "past it, confirmed before a later log-in",
                Some(8.0),
                hours(9),
                vec![
                    follows.clone(),
                    login(2, "T"),
                    confirmed(3, 7, "T", "B1"),
                    login(4, "T"),
                ],
                false,
            ),
        ];
        for (name, max, contact, items, ok) in cases {
            let r = bench_roster(items);
            let got = online_gate(max, contact, &r, "T", now);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.last_contact, contact, "{name}");
                assert_eq!(Some(e.max_age_hours), max, "{name}");
                if contact.is_some() {
                    assert!(e.to_string().contains("9 h 00 min ago"), "{name}: {e}");
                }
            }
        }
    }
}
