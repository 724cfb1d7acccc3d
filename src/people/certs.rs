//! Certification reports over the roster: expiries and module gaps. Plain
//! functions of the roster, the library and a day, so the certification screen,
//! `traveler people list --expiring` and `traveler people gaps` say the same.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::person::Person;
use crate::domain::policy::{Refusal, qualification_refusals};
use crate::domain::types::{CertLevel, Certification, Role};
use crate::instruction::Library;

/// A certificate that has expired or expires within the window asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expiry {
    pub badge: String,
    pub name: String,
    pub level: CertLevel,
    pub certificate: String,
    pub modules: Vec<u8>,
    pub expires: NaiveDate,
    /// Days from today to the expiry; negative once expired.
    pub days_left: i64,
}

/// A technician who cannot run a released instruction for want of modules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModuleGap {
    pub badge: String,
    pub name: String,
    pub instruction: String,
    /// Required modules not covered by a certificate valid on the day.
    pub modules: Vec<u8>,
}

/// Certificates of active people that expired already or expire within
/// `within_days` of `today`, soonest first. A certificate whose every module is
/// carried on by another one when it lapses (a renewal) is left out: nobody has
/// anything to do about it.
pub fn expiring_certificates(people: &[Person], today: NaiveDate, within_days: i64) -> Vec<Expiry> {
    let mut out: Vec<Expiry> = people
        .iter()
        .filter(|p| p.active)
        .flat_map(|p| {
            p.certifications.iter().filter_map(move |c| {
                let days_left = (c.expires - today).num_days();
                (days_left <= within_days && !renewed(c, &p.certifications, today)).then(|| {
                    Expiry {
                        badge: p.badge.clone(),
                        name: p.name.clone(),
                        level: c.level,
                        certificate: c.certificate.clone(),
                        modules: c.modules.clone(),
                        expires: c.expires,
                        days_left,
                    }
                })
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.days_left, &a.name, &a.certificate).cmp(&(b.days_left, &b.name, &b.certificate))
    });
    out
}

/// When `c` stops counting (its expiry, or today if that is past), does another
/// certificate already cover each of its modules beyond that moment?
fn renewed(c: &Certification, all: &[Certification], today: NaiveDate) -> bool {
    let lapse = c.expires.max(today);
    c.modules.iter().all(|m| {
        all.iter().any(|o| {
            o.certificate != c.certificate
                && o.modules.contains(m)
                && o.issued <= lapse
                && o.expires > lapse
        })
    })
}

/// For every active technician and every instruction in the library (only
/// released, valid ones load), the modules they do not hold on `today`.
pub fn missing_modules(people: &[Person], library: &Library, today: NaiveDate) -> Vec<ModuleGap> {
    // Locks and deactivation are not module gaps; any time of the day will do.
    let noon = today.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc();
    let mut out = Vec::new();
    for p in people
        .iter()
        .filter(|p| p.active && p.has_role(Role::Technician))
    {
        for ins in &library.instructions {
            let modules: Vec<u8> = qualification_refusals(p, &ins.facts(library), today, noon)
                .into_iter()
                .filter_map(|r| match r {
                    Refusal::ModuleMissing { module } | Refusal::ModuleExpired { module, .. } => {
                        Some(module)
                    }
                    _ => None,
                })
                .collect();
            if !modules.is_empty() {
                out.push(ModuleGap {
                    badge: p.badge.clone(),
                    name: p.name.clone(),
                    instruction: ins.id().to_string(),
                    modules,
                });
            }
        }
    }
    out
}

/// `expiring_certificates` as (name, certificate, expiry, days left), the form
/// the certification screen draws.
pub fn expiring(
    people: &[Person],
    today: NaiveDate,
    days: i64,
) -> Vec<(String, String, NaiveDate, i64)> {
    expiring_certificates(people, today, days)
        .into_iter()
        .map(|e| (e.name, e.certificate, e.expires, e.days_left))
        .collect()
}

/// `missing_modules` as (name, instruction, modules), the form the
/// certification screen draws.
pub fn module_gaps(
    people: &[Person],
    library: &Library,
    today: NaiveDate,
) -> Vec<(String, String, Vec<u8>)> {
    missing_modules(people, library, today)
        .into_iter()
        .map(|g| (g.name, g.instruction, g.modules))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::SkillLevel;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cert(no: &str, modules: &[u8], issued: NaiveDate, expires: NaiveDate) -> Certification {
        Certification {
            level: CertLevel::CIS,
            modules: modules.to_vec(),
            certificate: no.into(),
            issued,
            expires,
        }
    }

    fn person(badge: &str, certs: Vec<Certification>) -> Person {
        Person {
            badge: badge.into(),
            name: format!("Name {badge}"),
            roles: vec![Role::Technician],
            skill: SkillLevel::Expert,
            pin_hash: String::new(),
            certifications: certs,
            active: true,
            locked_until: None,
            failed_pins: 0,
        }
    }

    fn library() -> Library {
        crate::instruction::load_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"),
        )
        .library
    }

    #[test]
    fn expiry_report_table() {
        let today = day(2026, 11, 1);
        let old = day(2024, 1, 1);
        // (case, certificates, window in days, reported (certificate, days left))
        type Case<'a> = (&'a str, Vec<Certification>, i64, Vec<(&'a str, i64)>);
        let cases: Vec<Case> = vec![
            (
                "expires in 20 days: within 30",
                vec![cert("C1", &[1], old, day(2026, 11, 21))],
                30,
                vec![("C1", 20)],
            ),
            (
                "expires in 45 days: not within 30",
                vec![cert("C1", &[1], old, day(2026, 12, 16))],
                30,
                vec![],
            ),
            (
                "expires in 45 days: within 60",
                vec![cert("C1", &[1], old, day(2026, 12, 16))],
                60,
                vec![("C1", 45)],
            ),
            (
                "on the 60th day",
                vec![cert("C1", &[1], old, day(2026, 12, 31))],
                60,
                vec![("C1", 60)],
            ),
            (
                "expired already",
                vec![cert("C1", &[1], old, day(2026, 10, 1))],
                30,
                vec![("C1", -31)],
            ),
            (
                "expired but renewed",
                vec![
                    cert("C1", &[1, 8], old, day(2026, 10, 1)),
                    cert("C2", &[1, 8], day(2026, 9, 1), day(2028, 9, 1)),
                ],
                60,
                vec![],
            ),
            (
                "renewal covers only some modules",
                vec![
                    cert("C1", &[1, 8], old, day(2026, 11, 10)),
                    cert("C2", &[1], day(2026, 9, 1), day(2028, 9, 1)),
                ],
                60,
                vec![("C1", 9)],
            ),
            (
                "overlapping certificate that lapses later: only it matters",
                vec![
                    cert("C1", &[1], old, day(2026, 11, 10)),
                    cert("C2", &[1], day(2024, 6, 1), day(2026, 11, 20)),
                ],
                30,
                vec![("C2", 19)],
            ),
        ];
        for (name, certs, within, want) in cases {
            let got: Vec<(String, i64)> =
                expiring_certificates(&[person("T1", certs)], today, within)
                    .into_iter()
                    .map(|e| (e.certificate, e.days_left))
                    .collect();
            let want: Vec<(String, i64)> = want.into_iter().map(|(c, d)| (c.into(), d)).collect();
            assert_eq!(got, want, "{name}");
        }
        let mut gone = person("T2", vec![cert("C9", &[1], old, day(2026, 11, 2))]);
        gone.active = false;
        assert!(expiring_certificates(&[gone], today, 30).is_empty());
    }

    #[test]
    fn module_gaps_name_the_instruction_and_the_modules() {
        let lib = library();
        assert!(lib.instruction("WI-BGA-001").is_some());
        let today = day(2026, 11, 1);
        let all: Vec<u8> = (1..=10).collect();
        let everything = person(
            "T1",
            vec![cert("C1", &all, day(2026, 1, 1), day(2028, 1, 1))],
        );
        let no_eight: Vec<u8> = all.iter().copied().filter(|m| *m != 8).collect();
        let lacks_eight = person(
            "T2",
            vec![cert("C2", &no_eight, day(2026, 1, 1), day(2028, 1, 1))],
        );
        let expired = person(
            "T3",
            vec![cert("C3", &all, day(2024, 1, 1), day(2026, 1, 1))],
        );
        let mut inspector = expired.clone();
        inspector.badge = "I1".into();
        inspector.roles = vec![Role::Inspector];

        assert!(missing_modules(&[everything], &lib, today).is_empty());
        let gaps = missing_modules(&[lacks_eight], &lib, today);
        let bga = gaps
            .iter()
            .find(|g| g.instruction == "WI-BGA-001")
            .expect("BGA needs module 8");
        assert_eq!((bga.badge.as_str(), bga.modules.clone()), ("T2", vec![8]));
        assert!(gaps.iter().all(|g| g.modules == vec![8]), "{gaps:?}");
        assert_eq!(
            missing_modules(&[expired], &lib, today).len(),
            lib.instructions.len(),
            "an expired certificate covers nothing"
        );
        assert!(
            missing_modules(&[inspector], &lib, today).is_empty(),
            "only technicians run instructions"
        );
    }
}
