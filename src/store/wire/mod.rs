//! Reading stored records of every schema, and the bytes-only view that verify,
//! backup and restore need.
//!
//! A stored record is an envelope (see `chain`) around one event. Its schema says
//! which wire types its event is written in:
//!
//! | schema | written by | event types |
//! |---|---|---|
//! | absent (1) | store formats 1–3 | [`v1`], frozen; upcast to today's `Event` |
//! | 2 | store format 4 (this build) | today's `Event` |
//!
//! When today's `Event` changes in a way old bytes do not decode through (a renamed or
//! removed field, a changed meaning), freeze it as `v2` here, bump `chain::SCHEMA` and
//! upcast; the golden records under `tests/fixtures/records/` fail until that is done.
//!
//! A record of a later schema, or of a kind this build does not know, was written by a
//! newer traveler: it is reported as such ([`StoreError::Newer`]), never as damage.

pub(crate) mod v1;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::domain::event::{ChannelSummary, Event, Measurement, Record};
use crate::domain::types::{Certification, ProductClass};

use super::chain::{SCHEMA, parse_hash};
use super::error::StoreError;
use super::identity::StoreIdentity;

/// The kinds of schema 2 (this build), by their `type` tag. A variant added to `Event`
/// belongs here too (verify then knows it without decoding it), and its golden record
/// in a fixture of its own under `tests/fixtures/`.
pub const KINDS_V2: [&str; 39] = [
    "person_enrolled",
    "person_updated",
    "person_certified",
    "certification_revoked",
    "person_deactivated",
    "pin_changed",
    "logged_in",
    "logged_out",
    "pin_rejected",
    "badge_locked",
    "job_started",
    "step_started",
    "step_completed",
    "checkpoint_signed",
    "lot_recorded",
    "excursion",
    "excursion_acknowledged",
    "step_redone",
    "job_suspended",
    "job_resumed",
    "job_aborted",
    "job_submitted",
    "job_reviewed",
    "deviated",
    "lot_refused",
    "instruction_archived",
    "store_migrated",
    "pin_policy_met",
    "instruction_released",
    "instruction_release_refused",
    "component_removed",
    "component_installed",
    "review_decided",
    "roster_imported",
    "review_mirrored",
    "hub_record_mirrored",
    "board_history_counted",
    "shop_policy_set",
    "signed_on_roster",
];

/// The kinds a schema knows; `None` for a schema this build does not know.
pub fn kinds_of(schema: u32) -> Option<&'static [&'static str]> {
    match schema {
        1 => Some(&v1::KINDS),
        2 => Some(&KINDS_V2),
        _ => None,
    }
}

/// What verify, backup and restore read of a record: no event is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// 1 for records without a `schema` field.
    pub schema: u32,
    pub seq: u64,
    pub prev_hash: [u8; 32],
}

/// Reads an envelope's schema, seq and prev_hash. `Err` says why the envelope is not
/// one (the record's bytes are damaged: its place in the chain cannot be read).
pub fn head(bytes: &[u8]) -> Result<Head, String> {
    if let Some(h) = head_fast(bytes) {
        return Ok(h);
    }
    #[derive(Deserialize)]
    struct HeadIn<'a> {
        #[serde(default)]
        schema: Option<u32>,
        seq: u64,
        #[serde(borrow)]
        prev_hash: &'a str,
    }
    let h: HeadIn<'_> = serde_json::from_slice(bytes)
        .map_err(|e| format!("undecodable: not a record envelope ({e})"))?;
    let prev_hash = parse_hash(h.prev_hash).ok_or("prev_hash is not 64 hex digits")?;
    Ok(Head {
        schema: h.schema.unwrap_or(1),
        seq: h.seq,
        prev_hash,
    })
}

/// The envelope as this build and format 3 write it, read without a JSON parser:
/// `{"schema":N,"seq":N,"prev_hash":"<64 hex>"` or `{"seq":N,"prev_hash":"<64 hex>"`.
/// Anything else (the first record with its `store`, damage) takes the parser.
fn head_fast(b: &[u8]) -> Option<Head> {
    fn number(b: &[u8]) -> Option<(u64, &[u8])> {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 19 || (n > 1 && b[0] == b'0') {
            return None;
        }
        let v = std::str::from_utf8(&b[..n]).ok()?.parse().ok()?;
        Some((v, &b[n..]))
    }
    let mut rest = b.strip_prefix(b"{")?;
    let mut schema = 1u32;
    if let Some(r) = rest.strip_prefix(b"\"schema\":") {
        let (s, r) = number(r)?;
        schema = u32::try_from(s).ok()?;
        rest = r.strip_prefix(b",")?;
    }
    let (seq, r) = number(rest.strip_prefix(b"\"seq\":")?)?;
    let r = r.strip_prefix(b",\"prev_hash\":\"")?;
    let hex = r.get(..64)?;
    if r.get(64) != Some(&b'"') {
        return None;
    }
    let mut prev_hash = [0u8; 32];
    hex::decode_to_slice(hex, &mut prev_hash).ok()?;
    Some(Head {
        schema,
        seq,
        prev_hash,
    })
}

#[derive(Deserialize)]
struct Envelope<E> {
    #[serde(default)]
    store: Option<StoreIdentity>,
    seq: u64,
    prev_hash: String,
    time: DateTime<Utc>,
    actor: String,
    event: E,
}

/// A record decoded into today's types, with what its envelope said.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub record: Record,
    pub schema: u32,
    /// The store identity the envelope names (the first record of a new store).
    pub store: Option<StoreIdentity>,
}

/// Decodes the record stored under `seq`: envelope and event, upcast to today's
/// `Event`. A newer schema or kind is `StoreError::Newer`; an envelope that is not
/// one is `Damaged`; a known kind that does not decode is `Undecodable`.
pub fn decode(seq: u64, bytes: &[u8]) -> Result<Decoded, StoreError> {
    let schema = match head_fast(bytes) {
        Some(h) => h.schema,
        None => {
            head(bytes)
                .map_err(|what| StoreError::Damaged { seq, what })?
                .schema
        }
    };
    let decoded = match schema {
        0 | 1 => envelope::<v1::Event>(seq, bytes, schema).and_then(|(env, store)| {
            let event =
                upcast_v1(env.event).map_err(|what| StoreError::Undecodable { seq, what })?;
            Ok(finish(
                env.seq,
                env.prev_hash,
                env.time,
                env.actor,
                event,
                1,
                store,
            ))
        }),
        SCHEMA => envelope::<Event>(seq, bytes, schema).map(|(env, store)| {
            finish(
                env.seq,
                env.prev_hash,
                env.time,
                env.actor,
                env.event,
                SCHEMA,
                store,
            )
        }),
        newer => Err(StoreError::Newer {
            seq,
            what: format!("record schema {newer}; this traveler reads schemas 1 to {SCHEMA}"),
        }),
    }?;
    if decoded.record.seq != seq {
        return Err(StoreError::Damaged {
            seq,
            what: format!("stored under seq {seq} but says seq {}", decoded.record.seq),
        });
    }
    Ok(decoded)
}

fn finish(
    seq: u64,
    prev_hash: String,
    time: DateTime<Utc>,
    actor: String,
    event: Event,
    schema: u32,
    store: Option<StoreIdentity>,
) -> Decoded {
    Decoded {
        record: Record {
            seq,
            prev_hash,
            time,
            actor,
            event,
        },
        schema,
        store,
    }
}

type Env<E> = (Envelope<E>, Option<StoreIdentity>);

fn envelope<E: DeserializeOwned>(
    seq: u64,
    bytes: &[u8],
    schema: u32,
) -> Result<Env<E>, StoreError> {
    match serde_json::from_slice::<Envelope<E>>(bytes) {
        Ok(mut env) => {
            let store = env.store.take();
            Ok((env, store))
        }
        Err(e) => Err(diagnose(seq, bytes, schema, e)),
    }
}

/// Why a record of `schema` did not decode: a kind this build does not know (a newer
/// traveler wrote it), a known kind with fields it cannot read, or no envelope at all.
fn diagnose(seq: u64, bytes: &[u8], schema: u32, e: serde_json::Error) -> StoreError {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<&'a str>,
    }
    let Ok(env) = serde_json::from_slice::<Envelope<&RawValue>>(bytes) else {
        return StoreError::Damaged {
            seq,
            what: format!("undecodable ({e})"),
        };
    };
    let kind = serde_json::from_str::<Kind<'_>>(env.event.get())
        .ok()
        .and_then(|k| k.kind.map(str::to_string));
    let known = kinds_of(schema.max(1)).unwrap_or(&[]);
    match kind {
        Some(k) if !known.contains(&k.as_str()) => StoreError::Newer {
            seq,
            what: format!(
                "event kind {k:?}, unknown to record schema {} here",
                schema.max(1)
            ),
        },
        Some(k) => StoreError::Undecodable {
            seq,
            what: format!("a {k} record this traveler cannot read ({e})"),
        },
        None => StoreError::Undecodable {
            seq,
            what: format!("an event without a kind ({e})"),
        },
    }
}

/// A word of the domain's vocabulary as it was written (e.g. "technician").
fn word<T: DeserializeOwned>(s: &str, field: &str) -> Result<T, String> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s))
        .map_err(|e| format!("{field} {s:?}: {e}"))
}

fn words<T: DeserializeOwned>(v: &[String], field: &str) -> Result<Vec<T>, String> {
    v.iter().map(|s| word(s, field)).collect()
}

/// Schema 1 to today's `Event`. Fields later schemas added take the value that
/// means "not recorded then".
pub(crate) fn upcast_v1(e: v1::Event) -> Result<Event, String> {
    use v1::Event as V;
    Ok(match e {
        V::PersonEnrolled {
            badge,
            name,
            roles,
            skill,
            pin_hash,
        } => Event::PersonEnrolled {
            badge,
            name,
            roles: words(&roles, "role")?,
            skill: word(&skill, "skill")?,
            pin_hash,
        },
        V::PersonUpdated {
            badge,
            name,
            roles,
            skill,
        } => Event::PersonUpdated {
            badge,
            name,
            roles: words(&roles, "role")?,
            skill: word(&skill, "skill")?,
        },
        V::PersonCertified {
            badge,
            certification: c,
        } => Event::PersonCertified {
            badge,
            certification: Certification {
                level: word(&c.level, "certification level")?,
                modules: c.modules,
                certificate: c.certificate,
                issued: c.issued,
                expires: c.expires,
            },
        },
        V::CertificationRevoked {
            badge,
            certificate,
            reason,
        } => Event::CertificationRevoked {
            badge,
            certificate,
            reason,
        },
        V::PersonDeactivated { badge, reason } => Event::PersonDeactivated { badge, reason },
        V::PinChanged { badge, pin_hash } => Event::PinChanged { badge, pin_hash },
        V::LoggedIn { badge, bench } => Event::LoggedIn { badge, bench },
        V::LoggedOut { badge, reason } => Event::LoggedOut { badge, reason },
        V::PinRejected { badge, purpose } => Event::PinRejected { badge, purpose },
        V::BadgeLocked { badge, until } => Event::BadgeLocked { badge, until },
        V::JobStarted {
            job,
            board_serial,
            assembly_part,
            assembly_rev,
            refdes,
            defect_ref,
            class,
            alloy,
            instruction_id,
            instruction_rev,
            instruction_hash,
            step_count,
            approval_ref,
            bench,
            performer,
        } => Event::JobStarted {
            job,
            board_serial,
            assembly_part,
            assembly_rev,
            refdes,
            defect_ref,
            class: ProductClass::try_from(class)?,
            alloy,
            instruction_id,
            instruction_rev,
            instruction_hash,
            step_count,
            approval_ref,
            bench,
            performer,
            procedures: Vec::new(),
        },
        V::StepStarted { job, step } => Event::StepStarted { job, step },
        V::StepCompleted {
            job,
            step,
            temperature,
            sample_count,
            samples_digest,
        } => Event::StepCompleted {
            job,
            step,
            temperature: temperature
                .into_iter()
                .map(|t| ChannelSummary {
                    channel: t.channel,
                    count: t.count,
                    min_c: t.min_c,
                    max_c: t.max_c,
                    mean_c: t.mean_c,
                    peak_c: t.peak_c,
                    above_liquidus_s: t.above_liquidus_s,
                    window_min_c: t.window_min_c,
                    window_max_c: t.window_max_c,
                    excursions: t.excursions,
                })
                .collect(),
            sample_count,
            samples_digest,
            attempt: 0,
        },
        V::CheckpointSigned {
            job,
            step,
            checkpoint,
            signer,
            signer_name,
            meaning,
            result,
            measurement,
            comment,
        } => Event::CheckpointSigned {
            job,
            step,
            checkpoint,
            signer,
            signer_name,
            meaning: word(&meaning, "meaning")?,
            result: word(&result, "result")?,
            measurement: measurement.map(|m| Measurement {
                value: m.value,
                unit: m.unit,
            }),
            comment,
            recorded: None,
        },
        V::LotRecorded {
            job,
            step,
            material,
            lot,
            expiry,
            gtin,
            raw_scan,
        } => Event::LotRecorded {
            job,
            step,
            material,
            lot,
            expiry,
            gtin,
            raw_scan,
        },
        V::Excursion {
            job,
            step,
            id,
            channel,
            window_min_c,
            window_max_c,
            peak_c,
            started,
            ended,
        } => Event::Excursion {
            job,
            step,
            id,
            channel,
            window_min_c,
            window_max_c,
            peak_c,
            started,
            ended,
        },
        V::ExcursionAcknowledged {
            job,
            step,
            id,
            comment,
        } => Event::ExcursionAcknowledged {
            job,
            step,
            id,
            comment,
        },
        V::StepRedone { job, step, reason } => Event::StepRedone { job, step, reason },
        V::JobSuspended { job, reason } => Event::JobSuspended { job, reason },
        V::JobResumed { job } => Event::JobResumed {
            job,
            reason: String::new(),
        },
        V::JobAborted { job, reason } => Event::JobAborted { job, reason },
        V::JobSubmitted { job } => Event::JobSubmitted { job },
        V::JobReviewed {
            job,
            decision,
            reviewer,
            reviewer_name,
            comment,
        } => Event::JobReviewed {
            job,
            decision: word(&decision, "decision")?,
            reviewer,
            reviewer_name,
            comment,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_head_reads_both_envelopes_and_declines_anything_else() {
        let h = "ab".repeat(32);
        let v1 = format!("{{\"seq\":12,\"prev_hash\":\"{h}\",\"time\":\"x\"}}");
        let v2 = format!("{{\"schema\":2,\"seq\":12,\"prev_hash\":\"{h}\",\"time\":\"x\"}}");
        for (b, schema) in [(v1, 1), (v2, 2)] {
            let got = head_fast(b.as_bytes()).unwrap();
            assert_eq!(
                (got.schema, got.seq, got.prev_hash),
                (schema, 12, [0xab; 32])
            );
            assert_eq!(head(b.as_bytes()).unwrap(), got);
        }
        let first = format!(
            "{{\"schema\":2,\"store\":{{\"store_id\":\"s\",\"bench\":\"b\"}},\"seq\":1,\"prev_hash\":\"{h}\"}}"
        );
        assert_eq!(head_fast(first.as_bytes()), None);
        assert_eq!(head(first.as_bytes()).unwrap().seq, 1);
        for bad in [
            format!("{{\"seq\":012,\"prev_hash\":\"{h}\"}}"),
            format!("{{\"seq\":1,\"prev_hash\":\"{}\"}}", &h[..63]),
            "{\"seq\":1".to_string(),
        ] {
            assert_eq!(head_fast(bad.as_bytes()), None, "{bad}");
        }
        assert!(head(b"{\"seq\":1").is_err());
    }

    #[test]
    fn unknown_kinds_and_schemas_are_newer_not_damage() {
        let h = "00".repeat(32);
        let kind = format!(
            "{{\"schema\":2,\"seq\":3,\"prev_hash\":\"{h}\",\"time\":\"2026-01-01T00:00:00Z\",\"actor\":\"a\",\"event\":{{\"type\":\"hologram_taken\",\"job\":\"J\"}}}}"
        );
        assert!(matches!(
            decode(3, kind.as_bytes()),
            Err(StoreError::Newer { seq: 3, .. })
        ));
        let schema = kind.replace("\"schema\":2", "\"schema\":9");
        assert!(matches!(
            decode(3, schema.as_bytes()),
            Err(StoreError::Newer { seq: 3, .. })
        ));
        let broken = kind.replace("\"job\":\"J\"}", "");
        assert!(matches!(
            decode(3, broken.as_bytes()),
            Err(StoreError::Damaged { .. })
        ));
        let bad_field = kind
            .replace("hologram_taken", "job_submitted")
            .replace("\"J\"", "7");
        assert!(matches!(
            decode(3, bad_field.as_bytes()),
            Err(StoreError::Undecodable { .. })
        ));
    }
}

/// A hub record's own bytes checked against the hash a bench was told (`chain_hash`
/// of seq, the record's prev_hash and its bytes), and decoded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HubRecordError {
    #[error("hub record {seq} does not decode: {what}")]
    Undecodable { seq: u64, what: String },
    #[error("hub record {seq} says it is record {inner}")]
    WrongSeq { seq: u64, inner: u64 },
    #[error("hub record {seq}'s bytes hash to {actual}, not the claimed {claimed}")]
    WrongHash {
        seq: u64,
        claimed: String,
        actual: String,
    },
}

/// Checks and decodes the bytes of a hub record (pure): what a bench does before it
/// mirrors one, and what `verify --hub` does again.
pub fn check_hub_record(
    seq: u64,
    claimed_hash: &str,
    bytes: &[u8],
) -> Result<Record, HubRecordError> {
    let undecodable = |what: String| HubRecordError::Undecodable { seq, what };
    let d = decode(seq, bytes).map_err(|e| undecodable(e.to_string()))?;
    if d.record.seq != seq {
        return Err(HubRecordError::WrongSeq {
            seq,
            inner: d.record.seq,
        });
    }
    let prev =
        parse_hash(&d.record.prev_hash).ok_or_else(|| undecodable("bad prev_hash".into()))?;
    let actual = hex::encode(super::chain::chain_hash(seq, &prev, bytes));
    if actual != claimed_hash {
        return Err(HubRecordError::WrongHash {
            seq,
            claimed: claimed_hash.to_string(),
            actual,
        });
    }
    Ok(d.record)
}

/// The hub record inside a `HubRecordMirrored` event (checked when it was appended;
/// `None` for any other event or bytes this build cannot read). Folding code that
/// must not skip a copy uses [`decode_mirrored_checked`].
pub fn decode_mirrored(e: &Event) -> Option<Record> {
    decode_mirrored_checked(e).and_then(Result::ok)
}

/// The hub record inside a `HubRecordMirrored` event: `None` for any other event,
/// `Some(Err(why))` for bytes this build cannot read.
pub fn decode_mirrored_checked(e: &Event) -> Option<std::result::Result<Record, String>> {
    match e {
        Event::HubRecordMirrored {
            hub_seq, record, ..
        } => Some(
            decode(*hub_seq, record.as_bytes())
                .map(|d| d.record)
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    }
}

/// [`decode_mirrored_checked`] of a record's event, in the shape
/// `Roster::fold_bench` takes.
pub fn decode_mirrored_record(r: &Record) -> Option<std::result::Result<Record, String>> {
    decode_mirrored_checked(&r.event)
}
