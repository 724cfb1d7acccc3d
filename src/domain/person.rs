//! The roster is a fold over person events, like everything else.

use std::collections::{BTreeMap, BTreeSet};
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
    /// The hub's time on that confirmation: it counts for the maximum age from then.
    pub verified_at: BTreeMap<String, DateTime<Utc>>,
    /// Bench seq of each badge's latest log-out here (any reason, idle included):
    /// it ends a verification online.
    pub logouts: BTreeMap<String, u64>,
    /// Badges a copied hub record enrolled: the shop roster. On a bench that follows
    /// the hub, nobody else logs in or signs (`on_shop_roster`).
    pub hub_enrolled: BTreeSet<String>,
    /// The hash of each hub record copied into this chain, by hub seq.
    pub hub_hashes: BTreeMap<u64, String>,
    /// The first copy whose inner record does not decode: (bench seq, hub seq, why).
    /// Until it is resolved nobody signs (`hub_copy_fault`).
    pub undecodable: Option<(u64, u64, String)>,
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
    /// A copy whose inner bytes do not decode (`Some(Err(why))`) still counts as
    /// copied (by its hub seq), and is on record in `undecodable`.
    pub fn fold_bench<'a>(
        records: impl IntoIterator<Item = &'a Record>,
        unwrap: impl Fn(&Record) -> Option<Result<Record, String>>,
    ) -> Roster {
        let mut r = Roster::default();
        for rec in records {
            if let Event::HubRecordMirrored {
                hub_seq, hub_hash, ..
            } = &rec.event
            {
                r.hub_hashes.insert(*hub_seq, hub_hash.clone());
                r.last_hub_mirror = Some(r.last_hub_mirror.map_or(*hub_seq, |l| l.max(*hub_seq)));
            }
            match unwrap(rec) {
                Some(Ok(inner)) => r.apply_from_hub(rec.seq, &inner),
                Some(Err(why)) => {
                    if r.undecodable.is_none()
                        && let Event::HubRecordMirrored { hub_seq, .. } = &rec.event
                    {
                        r.undecodable = Some((rec.seq, *hub_seq, why));
                    }
                }
                None => {
                    match &rec.event {
                        Event::LoggedIn { badge, .. } => {
                            r.logins.insert(badge.clone(), rec.seq);
                        }
                        Event::LoggedOut { badge, .. } => {
                            r.logouts.insert(badge.clone(), rec.seq);
                        }
                        _ => {}
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
        self.last_hub_mirror = Some(self.last_hub_mirror.map_or(inner.seq, |l| l.max(inner.seq)));
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
        match &inner.event {
            Event::LoggedIn { badge, .. } => {
                self.verified_online.insert(badge.clone(), bench_seq);
                self.verified_at.insert(badge.clone(), inner.time);
            }
            Event::PersonEnrolled { badge, .. } => {
                self.hub_enrolled.insert(badge.clone());
            }
            _ => {}
        }
        self.apply(inner);
    }

    /// Whether the hub confirmed `badge`'s PIN after their latest log-in here and
    /// they have not logged out since (see `online_gate`).
    pub fn verified_online_since_login(&self, badge: &str) -> bool {
        let login = self.logins.get(badge).copied().unwrap_or(0);
        let logout = self.logouts.get(badge).copied().unwrap_or(0);
        self.verified_online
            .get(badge)
            .is_some_and(|seq| *seq > login && *seq > logout)
    }

    /// [`Self::verified_online_since_login`], and the hub's confirmation no older
    /// than `max_age_hours` (nor later than now and the allowed skew).
    pub fn verified_online(&self, badge: &str, max_age_hours: f64, now: DateTime<Utc>) -> bool {
        self.verified_online_since_login(badge)
            && self
                .verified_at
                .get(badge)
                .is_some_and(|at| within(*at, max_age_hours, now))
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

/// How far a clock may run ahead of this bench's before a time it wrote counts as
/// one that has not happened yet.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// Whether `at` is at most `max_age_hours` before `now` and not after now plus the
/// allowed skew (pure).
fn within(at: DateTime<Utc>, max_age_hours: f64, now: DateTime<Utc>) -> bool {
    let age = now.signed_duration_since(at);
    age.num_milliseconds() as f64 <= max_age_hours * 3_600_000.0
        && age >= -chrono::Duration::minutes(CLOCK_SKEW_MINUTES)
}

/// What the bench's contact file says: the hub's chain head it had caught up with,
/// and when (`people::roster_cache`). A file, not a record: the gate checks it
/// against the chain before it trusts it (`contact_on_record`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HubContact {
    pub at: DateTime<Utc>,
    pub hub_seq: u64,
    pub hub_hash: String,
}

/// Why a contact file is taken as no contact.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ContactFault {
    /// It says the contact happened after now (beyond the allowed skew).
    InTheFuture { at: DateTime<Utc> },
    /// Its hash differs from this chain's copy of the hub record at its seq.
    HashDiffers { hub_seq: u64 },
}

impl fmt::Display for ContactFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactFault::InTheFuture { at } => write!(
                f,
                "the contact file says {} UTC, which has not come yet",
                at.format("%Y-%m-%d %H:%M")
            ),
            ContactFault::HashDiffers { hub_seq } => write!(
                f,
                "the contact file's hash of hub record {hub_seq} is not that of this \
                 chain's copy"
            ),
        }
    }
}

/// The contact on record, checked against the chain (pure): a time after now (plus
/// the skew), or a hash other than the chain's copy at that seq (a file from another
/// store) is no contact. A head the chain has copied past is an earlier contact, true
/// at its time (the sync task copies records first, then writes the file). (A head past the last copy is the normal
/// case: the hub's latest records are often ones benches do not copy.)
pub fn contact_on_record(
    contact: Option<&HubContact>,
    roster: &Roster,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ContactFault> {
    let Some(c) = contact else {
        return Ok(None);
    };
    if c.at - now > chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(ContactFault::InTheFuture { at: c.at });
    }
    if roster
        .hub_hashes
        .get(&c.hub_seq)
        .is_some_and(|h| !h.eq_ignore_ascii_case(&c.hub_hash))
    {
        return Err(ContactFault::HashDiffers { hub_seq: c.hub_seq });
    }
    Ok(Some(c.at))
}

/// The bench's copy of the shop roster past its maximum age (or never brought up
/// to date): what the header notes and what a signature refusal names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaleCache {
    pub max_age_hours: f64,
    /// When the bench last reached the hub's roster head (`None`: not on record).
    pub last_contact: Option<DateTime<Utc>>,
    /// How long ago that was, in whole minutes.
    pub age_minutes: Option<i64>,
    /// Why the contact file on record was not taken, if it was not.
    pub discarded: Option<ContactFault>,
}

/// The roster cache's age against the maximum (pure): `None` when it does not
/// matter (no maximum, or a bench that does not follow the hub) or is fresh.
pub fn stale_cache(
    max_age_hours: Option<f64>,
    contact: Option<&HubContact>,
    roster: &Roster,
    now: DateTime<Utc>,
) -> Option<StaleCache> {
    let max = max_age_hours?;
    roster.hub_since?;
    let (last_contact, discarded) = match contact_on_record(contact, roster, now) {
        Ok(at) => (at, None),
        Err(f) => (None, Some(f)),
    };
    if last_contact.is_some_and(|at| within(at, max, now)) {
        return None;
    }
    Some(StaleCache {
        max_age_hours: max,
        last_contact,
        age_minutes: last_contact.map(|at| now.signed_duration_since(at).num_minutes()),
        discarded,
    })
}

impl StaleCache {
    /// The bench header's note.
    pub fn note(&self) -> String {
        let max = self.max_age_hours;
        match self.age_minutes {
            Some(m) => format!(
                "roster from the hub {} h {:02} min old (max {max} h): only people verified online sign",
                m / 60,
                m % 60
            ),
            None => format!(
                "no contact with the hub's roster on record (max {max} h): only people verified online sign"
            ),
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
    /// Why the contact file on record was not taken, if it was not.
    pub discarded: Option<ContactFault>,
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
        if let Some(d) = &self.discarded {
            write!(f, " ({d})")?;
        }
        write!(
            f,
            ": only people whose PIN the hub confirmed at their log-in here, since their \
             last log-out and within that age, may sign, and {} was not; log in again \
             while the hub is reachable",
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
/// once `max_age_hours` has passed since the last contact on record (the bench last
/// reached the hub's roster head; `contact_on_record`), only a signer *verified
/// online* may sign: one whose PIN the hub confirmed after their latest log-in at
/// this bench (a copied hub `LoggedIn` record), who has not logged out here since,
/// and whose confirmation is itself no older than the maximum age. Everyone else
/// may have been revoked, deactivated or locked at the hub since.
pub fn online_gate(
    max_age_hours: Option<f64>,
    contact: Option<&HubContact>,
    roster: &Roster,
    badge: &str,
    now: DateTime<Utc>,
) -> Result<(), StaleRoster> {
    let Some(stale) = stale_cache(max_age_hours, contact, roster, now) else {
        return Ok(());
    };
    if roster.verified_online(badge, stale.max_age_hours, now) {
        return Ok(());
    }
    Err(StaleRoster {
        badge: badge.to_string(),
        max_age_hours: stale.max_age_hours,
        last_contact: stale.last_contact,
        age_minutes: stale.age_minutes,
        discarded: stale.discarded,
    })
}

/// What a signature on a bench that follows the hub's roster was decided on, as
/// the record saved with it (pure); `None` on a bench that does not follow it.
pub fn roster_basis(
    max_age_hours: Option<f64>,
    contact: Option<&HubContact>,
    roster: &Roster,
    badge: &str,
    job: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Event> {
    roster.hub_since?;
    let stale = stale_cache(max_age_hours, contact, roster, now);
    let verified_online = match max_age_hours {
        Some(max) => roster.verified_online(badge, max, now),
        None => roster.verified_online_since_login(badge),
    };
    Some(Event::SignedOnRoster {
        job: job.map(str::to_string),
        badge: badge.to_string(),
        hub_seq: roster.last_hub_mirror,
        contact_at: contact_on_record(contact, roster, now).ok().flatten(),
        stale: stale.is_some(),
        verified_online,
    })
}

/// On a bench that follows the hub's roster, only the shop roster logs in and
/// signs: a badge no copied hub record enrolled (one enrolled only at this bench,
/// before it followed the hub) is refused, since nobody can deactivate it (pure).
pub fn on_shop_roster(roster: &Roster, badge: &str) -> bool {
    roster.hub_since.is_none() || roster.hub_enrolled.contains(badge)
}

/// A copy of a hub record in this chain that does not decode (pure): the roster,
/// releases and shop policy may be missing a fact, so nobody signs until it is
/// resolved. Names the bench seq and hub seq.
pub fn hub_copy_fault(roster: &Roster) -> Option<String> {
    roster.undecodable.as_ref().map(|(seq, hub_seq, why)| {
        format!(
            "record {seq} of this chain holds a copy of hub record {hub_seq} that does \
             not decode ({why}): the roster, releases and shop policy here may miss a \
             fact, so nothing is signed until it is resolved (run `traveler verify`; \
             a newer traveler may read it)"
        )
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
    /// would unwrap them) at the bench seqs given. A copy's outer record is a
    /// `HubRecordMirrored` naming the inner seq and the hash `h<seq>`.
    fn bench_roster(items: Vec<(u64, Option<Record>, Event)>) -> Roster {
        let records: Vec<(Record, Option<Record>)> = items
            .into_iter()
            .map(|(seq, inner, e)| {
                let e = match &inner {
                    Some(i) => mirrored(i.seq),
                    None => e,
                };
                (rec(seq, "system", e), inner)
            })
            .collect();
        let outer: Vec<Record> = records.iter().map(|(r, _)| r.clone()).collect();
        Roster::fold_bench(&outer, |r| {
            records
                .iter()
                .find(|(o, _)| o.seq == r.seq)
                .and_then(|(_, i)| i.clone().map(Ok))
        })
    }

    fn mirrored(hub_seq: u64) -> Event {
        Event::HubRecordMirrored {
            hub_seq,
            hub_hash: format!("h{hub_seq}"),
            record: String::new(),
        }
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
        assert_eq!(odd.hub_since, None);
        assert!(odd.people.is_empty());
    }

    #[test]
    fn a_copy_that_does_not_decode_counts_as_copied_and_is_on_record() {
        let outer = vec![rec(1, "system", mirrored(3)), rec(2, "system", mirrored(4))];
        let r = Roster::fold_bench(&outer, |o| {
            Some(if o.seq == 1 {
                Ok(hub_rec(3, "A", enrol("T")))
            } else {
                Err("record 4 is of a newer kind".into())
            })
        });
        assert_eq!(r.last_hub_mirror, Some(4), "never copied twice");
        assert_eq!(
            r.undecodable,
            Some((2, 4, "record 4 is of a newer kind".into()))
        );
        let why = hub_copy_fault(&r).unwrap();
        assert!(
            why.contains("record 2") && why.contains("hub record 4"),
            "{why}"
        );
        assert_eq!(hub_copy_fault(&bench_roster(vec![])), None);
    }

    #[test]
    fn only_the_shop_roster_signs_on_a_bench_that_follows_the_hub() {
        let r = bench_roster(vec![
            (1, None, enrol("LOCAL")),
            (2, Some(hub_rec(1, "A", enrol("T"))), copy()),
        ]);
        assert!(on_shop_roster(&r, "T"));
        assert!(!on_shop_roster(&r, "LOCAL"), "enrolled only at this bench");
        assert!(!on_shop_roster(&r, "NOBODY"));
        let own = bench_roster(vec![(1, None, enrol("LOCAL"))]);
        assert!(on_shop_roster(&own, "LOCAL"), "a bench on its own roster");
    }

    #[test]
    fn a_signature_says_on_what_roster_it_was_decided() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let r = bench_roster(vec![(1, Some(hub_rec(3, "A", enrol("T"))), copy())]);
        let fresh = HubContact {
            at: now - chrono::Duration::hours(1),
            hub_seq: 3,
            hub_hash: "h3".into(),
        };
        assert_eq!(
            roster_basis(Some(8.0), Some(&fresh), &r, "T", Some("J"), now),
            Some(Event::SignedOnRoster {
                job: Some("J".into()),
                badge: "T".into(),
                hub_seq: Some(3),
                contact_at: Some(fresh.at),
                stale: false,
                verified_online: false,
            })
        );
        let future = HubContact {
            at: now + chrono::Duration::hours(1),
            ..fresh
        };
        assert!(matches!(
            roster_basis(Some(8.0), Some(&future), &r, "T", None, now),
            Some(Event::SignedOnRoster {
                contact_at: None,
                stale: true,
                job: None,
                ..
            })
        ));
        let own = bench_roster(vec![(1, None, enrol("T"))]);
        assert_eq!(roster_basis(Some(8.0), None, &own, "T", None, now), None);
    }

    #[test]
    fn contact_table() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let r = bench_roster(vec![
            (1, Some(hub_rec(3, "A", enrol("T"))), copy()),
            (2, Some(hub_rec(5, "A", enrol("U"))), copy()),
        ]);
        let c = |min: i64, seq: u64, hash: &str| HubContact {
            at: now + chrono::Duration::minutes(min),
            hub_seq: seq,
            hub_hash: hash.into(),
        };
        let at = |min: i64| Ok(Some(now + chrono::Duration::minutes(min)));
        type Case = (
            &'static str,
            Option<HubContact>,
            Result<Option<DateTime<Utc>>, ContactFault>,
        );
        let cases: Vec<Case> = vec![
            ("none on record", None, Ok(None)),
            ("at the last copy", Some(c(-30, 5, "h5")), at(-30)),
            ("hash case does not matter", Some(c(-30, 5, "H5")), at(-30)),
            (
                "a head past the last copy (records benches do not copy)",
                Some(c(-30, 9, "x")),
                at(-30),
            ),
            ("within the clock skew", Some(c(4, 5, "h5")), at(4)),
            (
                "in the future",
                Some(c(6, 5, "h5")),
                Err(ContactFault::InTheFuture {
                    at: now + chrono::Duration::minutes(6),
                }),
            ),
            (
                // The sync task copies records, then writes the file: a head the chain
                // has passed is an earlier contact, still true at its time.
                "behind what the chain copied since",
                Some(c(-30, 3, "h3")),
                at(-30),
            ),
            (
                "behind, with another hash than the copy at its seq",
                Some(c(-30, 3, "h4")),
                Err(ContactFault::HashDiffers { hub_seq: 3 }),
            ),
            (
                "another hash than the copy at its seq",
                Some(c(-30, 5, "h4")),
                Err(ContactFault::HashDiffers { hub_seq: 5 }),
            ),
        ];
        for (name, contact, want) in cases {
            assert_eq!(contact_on_record(contact.as_ref(), &r, now), want, "{name}");
        }
        // A future contact is no contact: the gate refuses and says why.
        let e = online_gate(Some(8.0), Some(&c(600, 5, "h5")), &r, "T", now).unwrap_err();
        assert_eq!(e.last_contact, None);
        assert!(e.to_string().contains("has not come yet"), "{e}");
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
        // A hub confirmation an hour old.
        let confirmed = |seq: u64, hub_seq: u64, badge: &str, bench: &str| {
            let mut r = hub_rec(
                hub_seq,
                badge,
                Event::LoggedIn {
                    badge: badge.into(),
                    bench: bench.into(),
                },
            );
            r.time = now - chrono::Duration::hours(1);
            (seq, Some(r), copy())
        };
        let follows = (1, Some(hub_rec(1, "A", enrol("T"))), copy());
        let logout = |seq: u64, badge: &str, reason: &str| {
            (
                seq,
                None,
                Event::LoggedOut {
                    badge: badge.into(),
                    reason: reason.into(),
                },
            )
        };
        // A hub confirmation whose hub record is `h` hours old.
        let confirmed_at = |seq: u64, hub_seq: u64, h: i64| {
            let mut r = hub_rec(
                hub_seq,
                "T",
                Event::LoggedIn {
                    badge: "T".into(),
                    bench: "B1".into(),
                },
            );
            r.time = now - chrono::Duration::hours(h);
            (seq, Some(r), copy())
        };
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
            (
                "past it, confirmed, then logged out (idle)",
                Some(8.0),
                hours(9),
                vec![
                    follows.clone(),
                    login(2, "T"),
                    confirmed(3, 7, "T", "B1"),
                    logout(4, "T", "idle"),
                ],
                false,
            ),
            (
                "past it, confirmed; someone else logged out",
                Some(8.0),
                hours(9),
                vec![
                    follows.clone(),
                    login(2, "T"),
                    confirmed(3, 7, "T", "B1"),
                    logout(4, "U", "idle"),
                ],
                true,
            ),
            (
                "past it, confirmed within the maximum age",
                Some(8.0),
                hours(9),
                vec![follows.clone(), login(2, "T"), confirmed_at(3, 7, 7)],
                true,
            ),
            (
                "past it, confirmed longer ago than the maximum age",
                Some(8.0),
                hours(9),
                vec![follows.clone(), login(2, "T"), confirmed_at(3, 7, 9)],
                false,
            ),
        ];
        for (name, max, contact, items, ok) in cases {
            let r = bench_roster(items);
            // The contact names the last copy, as the sync task writes it.
            let facts = contact.map(|at| HubContact {
                at,
                hub_seq: r.last_hub_mirror.unwrap_or(0),
                hub_hash: format!("h{}", r.last_hub_mirror.unwrap_or(0)),
            });
            let got = online_gate(max, facts.as_ref(), &r, "T", now);
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
