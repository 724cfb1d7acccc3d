//! The organisation's rules as pure functions: who may run what, who may sign,
//! which references are needed. Every refusal says why in words a technician reads.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::person::Person;
use super::types::{Activity, Conformance, ProductClass, Role, SkillLevel};

#[derive(Clone, Debug)]
pub struct Policy {
    pub certification_validity_years: u32,
    /// Conformance levels each class accepts.
    pub allowed: Vec<(ProductClass, Vec<Conformance>)>,
    pub approvals: Vec<ApprovalRule>,
    pub rework_limits: Vec<ReworkLimit>,
    pub max_failed_pins: u32,
    pub lockout_minutes: u32,
    pub idle_logout_minutes: u32,
    /// What a new PIN must be (`[pin]`; defaults when the table is absent).
    pub pin: super::pin_rules::PinRules,
    /// New jobs run only released revisions of instructions (`[release]`,
    /// `require_release`; true when absent).
    pub require_release: bool,
    /// How old a bench's copy of the shop roster may get before only people
    /// verified online may sign (`[hub] roster_max_age_hours`; no limit when absent).
    pub roster_max_age_hours: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct ApprovalRule {
    pub activity: Activity,
    pub required: bool,
    pub label: String,
    pub pattern: Option<regex::Regex>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReworkLimit {
    pub description: String,
    pub classes: Vec<ProductClass>,
    pub procedures: Vec<String>,
    pub max_cycles: u32,
}

/// What the rules need to know about an instruction.
#[derive(Clone, Debug)]
pub struct InstructionFacts {
    pub id: String,
    pub activity: Activity,
    pub skill: SkillLevel,
    pub modules: Vec<u8>,
    pub classes: Vec<ProductClass>,
    /// Referenced procedures with their conformance level (None: not assigned).
    pub procedures: Vec<(String, Option<Conformance>)>,
}

/// An earlier job on the same board, for rework-cycle limits.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PriorJob {
    pub refdes: Vec<String>,
    pub procedures: Vec<String>,
    /// Aborted before anything was done to the board: does not count as a cycle.
    pub counts: bool,
    /// The bench that recorded it, when that is another bench than this one (the
    /// hub's copy of its chain): a refusal names it.
    pub elsewhere: Option<String>,
    /// The job's id in the store that recorded it.
    pub job: String,
    /// Its procedures are not known at this bench (a record older than the
    /// procedures jobs carry, of an instruction text this bench does not hold): it
    /// counts against every limit on its locations, the safe side.
    pub procedures_unknown: bool,
}

/// A job at another bench that a rework-cycle limit counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CountedElsewhere {
    pub bench: String,
    pub job: String,
    /// Its procedures are not known at this bench: it was counted against every
    /// limit on the location (the refusal says so).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub procedures_unknown: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Refusal {
    Inactive,
    Locked {
        until: DateTime<Utc>,
    },
    SkillTooLow {
        required: SkillLevel,
        held: SkillLevel,
    },
    ModuleMissing {
        module: u8,
    },
    ModuleExpired {
        module: u8,
        expired: NaiveDate,
    },
    ClassNotReleased {
        class: ProductClass,
    },
    ConformanceNotAllowed {
        class: ProductClass,
        procedure: String,
        conformance: Conformance,
    },
    ReworkLimit {
        refdes: String,
        cycles: u32,
        max: u32,
        description: String,
        /// The cycles counted from other benches' records (through the hub), and
        /// any counted whose procedures are unknown here (a job of this store
        /// only the hub holds is then named "this bench").
        #[serde(skip_serializing_if = "Vec::is_empty")]
        elsewhere: Vec<CountedElsewhere>,
    },
    RoleMissing {
        role: Role,
    },
    OwnWork,
    NotPerformer {
        performer: String,
    },
    /// The instruction's text is not the released revision.
    NotReleased(super::release::NotReleased),
}

/// Jobs grouped by bench, in the order they were counted.
fn by_bench(jobs: &[CountedElsewhere]) -> Vec<(&str, Vec<&str>)> {
    let mut benches: Vec<(&str, Vec<&str>)> = Vec::new();
    for e in jobs {
        match benches.iter_mut().find(|(b, _)| *b == e.bench) {
            Some((_, jobs)) => jobs.push(&e.job),
            None => benches.push((&e.bench, vec![&e.job])),
        }
    }
    benches
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Inactive => write!(f, "badge is deactivated"),
            Refusal::Locked { until } => {
                write!(
                    f,
                    "badge locked after wrong PINs until {}",
                    until.format("%H:%M UTC")
                )
            }
            Refusal::SkillTooLow { required, held } => {
                write!(f, "needs skill level {required} (you hold {held})")
            }
            Refusal::ModuleMissing { module } => {
                write!(f, "no certificate for module {module}")
            }
            Refusal::ModuleExpired { module, expired } => {
                write!(f, "certification for module {module} expired on {expired}")
            }
            Refusal::ClassNotReleased { class } => {
                write!(f, "instruction is not released for {class}")
            }
            Refusal::ConformanceNotAllowed {
                class,
                procedure,
                conformance,
            } => write!(
                f,
                "{class} does not allow {procedure} ({conformance} conformance)"
            ),
            Refusal::ReworkLimit {
                refdes,
                cycles,
                max,
                description,
                elsewhere,
            } => {
                write!(f, "{refdes} already reworked {cycles} time(s)")?;
                if !elsewhere.is_empty() {
                    let parts: Vec<String> = by_bench(elsewhere)
                        .iter()
                        .map(|(b, jobs)| format!("{} at {b}: {}", jobs.len(), jobs.join(", ")))
                        .collect();
                    write!(f, " ({})", parts.join("; "))?;
                }
                write!(f, "; limit {max} ({description})")?;
                let unknown: Vec<CountedElsewhere> = elsewhere
                    .iter()
                    .filter(|e| e.procedures_unknown)
                    .cloned()
                    .collect();
                for (bench, jobs) in by_bench(&unknown) {
                    write!(
                        f,
                        "; procedures of job{} {} at {bench} unknown here: counted against every limit on {refdes}",
                        if jobs.len() == 1 { "" } else { "s" },
                        jobs.join(", ")
                    )?;
                }
                Ok(())
            }
            Refusal::RoleMissing { role } => write!(f, "needs the {role} role"),
            Refusal::OwnWork => write!(f, "nobody may inspect or review their own work"),
            Refusal::NotPerformer { performer } => {
                write!(f, "only the performer ({performer}) signs this checkpoint")
            }
            Refusal::NotReleased(why) => write!(f, "{why}"),
        }
    }
}

impl Policy {
    /// A procedure without an assigned conformance level is acceptable for any class.
    pub fn conformance_allowed(
        &self,
        class: ProductClass,
        conformance: Option<Conformance>,
    ) -> bool {
        let Some(level) = conformance else {
            return true;
        };
        self.allowed
            .iter()
            .find(|(c, _)| *c == class)
            .is_some_and(|(_, levels)| levels.contains(&level))
    }

    pub fn approval(&self, activity: Activity) -> Option<&ApprovalRule> {
        self.approvals.iter().find(|a| a.activity == activity)
    }

    pub fn certification_expiry(&self, issued: NaiveDate) -> NaiveDate {
        issued
            .checked_add_months(chrono::Months::new(12 * self.certification_validity_years))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// Skill and certification: what the person holds against what the instruction needs.
pub fn qualification_refusals(
    person: &Person,
    facts: &InstructionFacts,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<Refusal> {
    let mut out = Vec::new();
    if !person.active {
        out.push(Refusal::Inactive);
    }
    if let Some(until) = person.locked_until.filter(|u| now < *u) {
        out.push(Refusal::Locked { until });
    }
    if person.skill < facts.skill {
        out.push(Refusal::SkillTooLow {
            required: facts.skill,
            held: person.skill,
        });
    }
    for &module in &facts.modules {
        if person.covering(module, day).next().is_some() {
            continue;
        }
        let latest_expired = person
            .certifications
            .iter()
            .filter(|c| c.modules.contains(&module) && c.expires <= day)
            .map(|c| c.expires)
            .max();
        out.push(match latest_expired {
            Some(expired) => Refusal::ModuleExpired { module, expired },
            None => Refusal::ModuleMissing { module },
        });
    }
    out
}

/// Class rules: the instruction must be released for the class, and every
/// referenced procedure's conformance must be acceptable for it.
pub fn class_refusals(
    policy: &Policy,
    facts: &InstructionFacts,
    class: ProductClass,
) -> Vec<Refusal> {
    let mut out = Vec::new();
    if !facts.classes.contains(&class) {
        out.push(Refusal::ClassNotReleased { class });
    }
    for (procedure, conformance) in &facts.procedures {
        if let Some(level) = conformance
            && !policy.conformance_allowed(class, Some(*level))
        {
            out.push(Refusal::ConformanceNotAllowed {
                class,
                procedure: procedure.clone(),
                conformance: *level,
            });
        }
    }
    out
}

/// Rework-cycle limits per board location: an earlier job counts against a
/// reference designator when it touched that designator with a limited procedure.
pub fn rework_limit_refusals(
    policy: &Policy,
    facts: &InstructionFacts,
    class: ProductClass,
    refdes: &[String],
    prior: &[PriorJob],
) -> Vec<Refusal> {
    let mut out = Vec::new();
    for limit in policy
        .rework_limits
        .iter()
        .filter(|l| l.classes.contains(&class))
    {
        let limited = |p: &String| limit.procedures.contains(p);
        if !facts.procedures.iter().any(|(p, _)| limited(p)) {
            continue;
        }
        for location in refdes {
            let counted: Vec<&PriorJob> = prior
                .iter()
                .filter(|j| j.counts && j.refdes.iter().any(|r| r.eq_ignore_ascii_case(location)))
                .filter(|j| j.procedures_unknown || j.procedures.iter().any(limited))
                .collect();
            let cycles = counted.len() as u32;
            if cycles >= limit.max_cycles {
                out.push(Refusal::ReworkLimit {
                    refdes: location.clone(),
                    cycles,
                    max: limit.max_cycles,
                    description: limit.description.clone(),
                    elsewhere: counted
                        .iter()
                        .filter(|j| j.elsewhere.is_some() || j.procedures_unknown)
                        .map(|j| CountedElsewhere {
                            bench: j.elsewhere.clone().unwrap_or_else(|| "this bench".into()),
                            job: j.job.clone(),
                            procedures_unknown: j.procedures_unknown,
                        })
                        .collect(),
                });
            }
        }
    }
    out
}

/// Everything that keeps a person from running an instruction on a board.
pub fn run_refusals(
    policy: &Policy,
    person: &Person,
    facts: &InstructionFacts,
    class: ProductClass,
    refdes: &[String],
    prior: &[PriorJob],
    now: DateTime<Utc>,
) -> Vec<Refusal> {
    let mut out = qualification_refusals(person, facts, now.date_naive(), now);
    out.extend(class_refusals(policy, facts, class));
    out.extend(rework_limit_refusals(policy, facts, class, refdes, prior));
    out
}

/// Repair needs an engineering/customer approval, modification an ECO number.
pub fn check_approval(policy: &Policy, activity: Activity, reference: &str) -> Result<(), String> {
    let Some(rule) = policy.approval(activity) else {
        return Ok(());
    };
    let reference = reference.trim();
    if !rule.required {
        return Ok(());
    }
    if reference.is_empty() {
        return Err(format!("{activity} needs {} before it starts", rule.label));
    }
    if let Some(re) = &rule.pattern
        && !re.is_match(reference)
    {
        return Err(format!(
            "{reference:?} is not a valid {} (expected the form {})",
            rule.label,
            re.as_str()
        ));
    }
    Ok(())
}

/// Who checks a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerRole {
    Technician,
    Inspector,
}

/// A technician checkpoint is signed by the job's performer; an inspector
/// checkpoint by someone else who holds the inspector role.
pub fn may_sign(
    signer: &Person,
    role: SignerRole,
    performer: &str,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if !signer.active {
        return Err(Refusal::Inactive);
    }
    if let Some(until) = signer.locked_until.filter(|u| now < *u) {
        return Err(Refusal::Locked { until });
    }
    match role {
        SignerRole::Technician if signer.badge != performer => Err(Refusal::NotPerformer {
            performer: performer.to_string(),
        }),
        SignerRole::Inspector if signer.badge == performer => Err(Refusal::OwnWork),
        SignerRole::Inspector if !signer.has_role(Role::Inspector) => Err(Refusal::RoleMissing {
            role: Role::Inspector,
        }),
        _ => Ok(()),
    }
}

/// A reviewer is a supervisor who did not perform (or inspect) the job.
pub fn may_review(
    reviewer: &Person,
    performer: &str,
    inspectors: &[String],
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if !reviewer.active {
        return Err(Refusal::Inactive);
    }
    if let Some(until) = reviewer.locked_until.filter(|u| now < *u) {
        return Err(Refusal::Locked { until });
    }
    if reviewer.badge == performer || inspectors.iter().any(|i| i == &reviewer.badge) {
        return Err(Refusal::OwnWork);
    }
    if !reviewer.has_role(Role::Supervisor) {
        return Err(Refusal::RoleMissing {
            role: Role::Supervisor,
        });
    }
    Ok(())
}

/// After a wrong PIN: when `failed_so_far` (including this one) reaches the
/// policy's limit, the badge locks until the returned time.
pub fn lockout_after(
    policy: &Policy,
    failed_so_far: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    (failed_so_far >= policy.max_failed_pins)
        .then(|| now + Duration::minutes(i64::from(policy.lockout_minutes)))
}

/// Changing the roster (enrol, certify, revoke, deactivate, PINs) needs an admin
/// who is active and not locked, like any other signature.
pub fn may_administer(person: &Person, now: DateTime<Utc>) -> Result<(), Refusal> {
    if !person.active {
        return Err(Refusal::Inactive);
    }
    if let Some(until) = person.locked_until.filter(|u| now < *u) {
        return Err(Refusal::Locked { until });
    }
    if !person.has_role(Role::Admin) {
        return Err(Refusal::RoleMissing { role: Role::Admin });
    }
    Ok(())
}

/// Refuses a change that would leave no active admin: `init` only works on an
/// empty roster, so the shop could never change its roster again.
/// `still_admin` says whether `badge` is an active admin after the change.
pub fn admin_remains<'a>(
    people: impl IntoIterator<Item = &'a Person>,
    badge: &str,
    still_admin: bool,
) -> Result<(), String> {
    if still_admin {
        return Ok(());
    }
    let others = people
        .into_iter()
        .any(|p| p.badge != badge && p.active && p.has_role(Role::Admin));
    if others {
        Ok(())
    } else {
        Err(format!(
            "{badge} is the last active admin: enrol another admin first"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::{CertLevel, Certification};
    use chrono::TimeZone;

    fn policy() -> Policy {
        Policy {
            certification_validity_years: 2,
            allowed: vec![
                (
                    ProductClass::Class1,
                    vec![Conformance::High, Conformance::Medium, Conformance::Low],
                ),
                (
                    ProductClass::Class2,
                    vec![Conformance::High, Conformance::Medium],
                ),
                (ProductClass::Class3, vec![Conformance::High]),
            ],
            approvals: vec![
                ApprovalRule {
                    activity: Activity::Rework,
                    required: false,
                    label: "pre-authorised".into(),
                    pattern: None,
                },
                ApprovalRule {
                    activity: Activity::Repair,
                    required: true,
                    label: "engineering/customer approval".into(),
                    pattern: Some(regex::Regex::new("^(EA|CA)-[0-9]{4,}$").unwrap()),
                },
                ApprovalRule {
                    activity: Activity::Modification,
                    required: true,
                    label: "ECO number".into(),
                    pattern: Some(regex::Regex::new("^ECO-[0-9]{4,}$").unwrap()),
                },
            ],
            rework_limits: vec![ReworkLimit {
                description: "BGA location".into(),
                classes: vec![ProductClass::Class3],
                procedures: vec!["7711 ORG-8.1".into()],
                max_cycles: 2,
            }],
            max_failed_pins: 5,
            lockout_minutes: 15,
            idle_logout_minutes: 10,
            require_release: true,
            roster_max_age_hours: None,
            pin: Default::default(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn person(
        badge: &str,
        skill: SkillLevel,
        roles: &[Role],
        certs: &[(&[u8], NaiveDate)],
    ) -> Person {
        Person {
            badge: badge.into(),
            name: format!("Person {badge}"),
            roles: roles.to_vec(),
            skill,
            pin_hash: String::new(),
            certifications: certs
                .iter()
                .enumerate()
                .map(|(i, (modules, issued))| Certification {
                    level: CertLevel::CIS,
                    modules: modules.to_vec(),
                    certificate: format!("C{i}"),
                    issued: *issued,
                    expires: issued.checked_add_months(chrono::Months::new(24)).unwrap(),
                })
                .collect(),
            active: true,
            locked_until: None,
            failed_pins: 0,
        }
    }

    fn bga() -> InstructionFacts {
        InstructionFacts {
            id: "WI-BGA-001".into(),
            activity: Activity::Rework,
            skill: SkillLevel::Expert,
            modules: vec![8],
            classes: vec![ProductClass::Class2, ProductClass::Class3],
            procedures: vec![("7711 ORG-8.1".into(), Some(Conformance::High))],
        }
    }

    #[test]
    fn qualification_table() {
        let fresh = day(2025, 6, 1);
        let stale = day(2024, 1, 10); // expired 2026-01-10
        let cases: Vec<(&str, Person, Vec<Refusal>)> = vec![
            (
                "expert with module 8",
                person("A", SkillLevel::Expert, &[], &[(&[8], fresh)]),
                vec![],
            ),
            (
                "advanced is below expert",
                person("B", SkillLevel::Advanced, &[], &[(&[8], fresh)]),
                vec![Refusal::SkillTooLow {
                    required: SkillLevel::Expert,
                    held: SkillLevel::Advanced,
                }],
            ),
            (
                "no module 8",
                person("C", SkillLevel::Expert, &[], &[(&[1, 5, 6], fresh)]),
                vec![Refusal::ModuleMissing { module: 8 }],
            ),
            (
                "module 8 expired",
                person("D", SkillLevel::Expert, &[], &[(&[8], stale)]),
                vec![Refusal::ModuleExpired {
                    module: 8,
                    expired: day(2026, 1, 10),
                }],
            ),
            (
                "expired and renewed",
                person(
                    "E",
                    SkillLevel::Expert,
                    &[],
                    &[(&[8], stale), (&[8], fresh)],
                ),
                vec![],
            ),
        ];
        for (name, p, want) in cases {
            assert_eq!(
                qualification_refusals(&p, &bga(), now().date_naive(), now()),
                want,
                "{name}"
            );
        }
        let mut locked = person("F", SkillLevel::Expert, &[], &[(&[8], fresh)]);
        locked.active = false;
        locked.locked_until = Some(now() + Duration::minutes(3));
        assert_eq!(
            qualification_refusals(&locked, &bga(), now().date_naive(), now()),
            vec![
                Refusal::Inactive,
                Refusal::Locked {
                    until: now() + Duration::minutes(3)
                }
            ]
        );
    }

    #[test]
    fn class_versus_conformance_table() {
        let p = policy();
        let splice = InstructionFacts {
            id: "WI-SPL-001".into(),
            activity: Activity::Repair,
            skill: SkillLevel::Intermediate,
            modules: vec![2],
            classes: vec![
                ProductClass::Class1,
                ProductClass::Class2,
                ProductClass::Class3,
            ],
            procedures: vec![
                ("7721 ORG-2.4".into(), Some(Conformance::Low)),
                ("7711 X".into(), None),
            ],
        };
        let cases = [
            (ProductClass::Class1, 0),
            (ProductClass::Class2, 1),
            (ProductClass::Class3, 1),
        ];
        for (class, n) in cases {
            assert_eq!(class_refusals(&p, &splice, class).len(), n, "{class}");
        }
        assert_eq!(
            class_refusals(&p, &bga(), ProductClass::Class1),
            vec![Refusal::ClassNotReleased {
                class: ProductClass::Class1
            }]
        );
        assert!(p.conformance_allowed(ProductClass::Class3, None));
        assert!(!p.conformance_allowed(ProductClass::Class3, Some(Conformance::Medium)));
        assert!(p.conformance_allowed(ProductClass::Class2, Some(Conformance::Medium)));
    }

    #[test]
    fn approval_table() {
        let p = policy();
        let cases = [
            (Activity::Rework, "", true),
            (Activity::Repair, "", false),
            (Activity::Repair, "EA-1234", true),
            (Activity::Repair, "ok by phone", false),
            (Activity::Modification, "ECO-20417", true),
            (Activity::Modification, "EA-1234", false),
            (Activity::Modification, "  ", false),
        ];
        for (activity, reference, ok) in cases {
            assert_eq!(
                check_approval(&p, activity, reference).is_ok(),
                ok,
                "{activity} {reference:?}"
            );
        }
    }

    #[test]
    fn rework_limit_table() {
        let p = policy();
        let prior = |refdes: &str, counts: bool| PriorJob {
            refdes: vec![refdes.into()],
            procedures: vec!["7711 ORG-8.1".into()],
            counts,
            ..PriorJob::default()
        };
        // Procedures unknown here: recorded none, counted against every limit.
        let unknown = |refdes: &str, counts: bool| PriorJob {
            refdes: vec![refdes.into()],
            counts,
            procedures_unknown: true,
            ..PriorJob::default()
        };
        let u7 = vec!["U7".to_string()];
        let cases: Vec<(&str, ProductClass, Vec<PriorJob>, usize)> = vec![
            ("first rework", ProductClass::Class3, vec![], 0),
            (
                "second rework",
                ProductClass::Class3,
                vec![prior("U7", true)],
                0,
            ),
            (
                "third rework refused",
                ProductClass::Class3,
                vec![prior("u7", true), prior("U7", true)],
                1,
            ),
            (
                "aborted jobs do not count",
                ProductClass::Class3,
                vec![prior("U7", true), prior("U7", false)],
                0,
            ),
            (
                "other location",
                ProductClass::Class3,
                vec![prior("U8", true), prior("U8", true)],
                0,
            ),
            (
                "a job whose procedures are unknown here counts against the limit",
                ProductClass::Class3,
                vec![prior("U7", true), unknown("U7", true)],
                1,
            ),
            (
                "unknown procedures at another location do not count",
                ProductClass::Class3,
                vec![prior("U7", true), unknown("U8", true)],
                0,
            ),
            (
                "unknown procedures of an aborted job do not count",
                ProductClass::Class3,
                vec![prior("U7", true), unknown("U7", false)],
                0,
            ),
            (
                "class 2 has no limit here",
                ProductClass::Class2,
                vec![prior("U7", true), prior("U7", true)],
                0,
            ),
        ];
        for (name, class, jobs, n) in cases {
            assert_eq!(
                rework_limit_refusals(&p, &bga(), class, &u7, &jobs).len(),
                n,
                "{name}"
            );
        }
    }

    #[test]
    fn a_rework_limit_reached_with_jobs_at_other_benches_names_them() {
        let p = policy();
        let job = |bench: Option<&str>, id: &str| PriorJob {
            refdes: vec!["U7".into()],
            procedures: vec!["7711 ORG-8.1".into()],
            counts: true,
            elsewhere: bench.map(str::to_string),
            job: id.into(),
            procedures_unknown: false,
        };
        let u7 = vec!["U7".to_string()];
        let why = rework_limit_refusals(
            &p,
            &bga(),
            ProductClass::Class3,
            &u7,
            &[job(Some("BENCH-A"), "A-1"), job(None, "B-1")],
        );
        assert_eq!(
            why,
            vec![Refusal::ReworkLimit {
                refdes: "U7".into(),
                cycles: 2,
                max: 2,
                description: "BGA location".into(),
                elsewhere: vec![CountedElsewhere {
                    bench: "BENCH-A".into(),
                    job: "A-1".into(),
                    procedures_unknown: false,
                }],
            }]
        );
        assert_eq!(
            why[0].to_string(),
            "U7 already reworked 2 time(s) (1 at BENCH-A: A-1); limit 2 (BGA location)"
        );
        let local_only = rework_limit_refusals(
            &p,
            &bga(),
            ProductClass::Class3,
            &u7,
            &[job(None, "B-0"), job(None, "B-1")],
        );
        assert_eq!(
            local_only[0].to_string(),
            "U7 already reworked 2 time(s); limit 2 (BGA location)"
        );
        let unknown = PriorJob {
            procedures: vec![],
            procedures_unknown: true,
            ..job(Some("BENCH-A"), "A-2")
        };
        let why = rework_limit_refusals(
            &p,
            &bga(),
            ProductClass::Class3,
            &u7,
            &[job(Some("BENCH-A"), "A-1"), unknown],
        );
        assert_eq!(
            why[0].to_string(),
            "U7 already reworked 2 time(s) (2 at BENCH-A: A-1, A-2); limit 2 (BGA location); \
             procedures of job A-2 at BENCH-A unknown here: counted against every limit on U7"
        );
    }

    #[test]
    fn signing_and_review_table() {
        let tech = person("T1", SkillLevel::Expert, &[Role::Technician], &[]);
        let insp = person("I1", SkillLevel::Advanced, &[Role::Inspector], &[]);
        let tech_insp = person(
            "T2",
            SkillLevel::Expert,
            &[Role::Technician, Role::Inspector],
            &[],
        );
        let sup = person("S1", SkillLevel::Advanced, &[Role::Supervisor], &[]);
        let mut gone = person("I2", SkillLevel::Advanced, &[Role::Inspector], &[]);
        gone.active = false;
        let mut locked = insp.clone();
        locked.locked_until = Some(now() + Duration::minutes(1));
        let cases: Vec<(&str, &Person, SignerRole, Result<(), Refusal>)> = vec![
            (
                "performer signs own step",
                &tech,
                SignerRole::Technician,
                Ok(()),
            ),
            (
                "someone else signs a technician checkpoint",
                &insp,
                SignerRole::Technician,
                Err(Refusal::NotPerformer {
                    performer: "T1".into(),
                }),
            ),
            ("inspector inspects", &insp, SignerRole::Inspector, Ok(())),
            (
                "nobody inspects own work",
                &tech,
                SignerRole::Inspector,
                Err(Refusal::OwnWork),
            ),
            (
                "inspector role needed",
                &sup,
                SignerRole::Inspector,
                Err(Refusal::RoleMissing {
                    role: Role::Inspector,
                }),
            ),
            (
                "another technician-inspector",
                &tech_insp,
                SignerRole::Inspector,
                Ok(()),
            ),
            (
                "deactivated cannot sign",
                &gone,
                SignerRole::Inspector,
                Err(Refusal::Inactive),
            ),
            (
                "locked cannot sign",
                &locked,
                SignerRole::Inspector,
                Err(Refusal::Locked {
                    until: now() + Duration::minutes(1),
                }),
            ),
        ];
        for (name, who, role, want) in cases {
            assert_eq!(may_sign(who, role, "T1", now()), want, "{name}");
        }
        assert_eq!(may_review(&sup, "T1", &[], now()), Ok(()));
        assert_eq!(may_review(&sup, "S1", &[], now()), Err(Refusal::OwnWork));
        assert_eq!(
            may_review(&sup, "T1", &["S1".into()], now()),
            Err(Refusal::OwnWork)
        );
        assert_eq!(
            may_review(&insp, "T1", &[], now()),
            Err(Refusal::RoleMissing {
                role: Role::Supervisor
            })
        );
    }

    #[test]
    fn lockout_after_five_wrong_pins() {
        let p = policy();
        assert_eq!(lockout_after(&p, 4, now()), None);
        assert_eq!(
            lockout_after(&p, 5, now()),
            Some(now() + Duration::minutes(15))
        );
        assert_eq!(p.certification_expiry(day(2024, 2, 29)), day(2026, 2, 28));
    }

    #[test]
    fn certification_is_valid_from_its_issue_day_until_before_its_expiry() {
        let c = Certification {
            level: CertLevel::CIS,
            modules: vec![8],
            certificate: "C".into(),
            issued: day(2025, 1, 10),
            expires: day(2027, 1, 10),
        };
        for (d, valid) in [
            (day(2025, 1, 9), false),
            (day(2025, 1, 10), true),
            (day(2027, 1, 9), true),
            (day(2027, 1, 10), false),
        ] {
            assert_eq!(c.valid_on(d), valid, "{d}");
        }
    }

    #[test]
    fn qualification_is_judged_on_the_day_of_work() {
        let mut facts = bga();
        facts.skill = SkillLevel::Advanced;
        facts.modules = vec![5, 8];
        // Module 8 issued 2024-11-23: it expires on 2026-11-23, today in `now()`.
        let expiring = person(
            "A",
            SkillLevel::Expert,
            &[],
            &[(&[5, 8], day(2024, 11, 23))],
        );
        let future = person("B", SkillLevel::Expert, &[], &[(&[5, 8], day(2026, 12, 1))]);
        let partial = person("C", SkillLevel::Advanced, &[], &[(&[5], day(2026, 1, 1))]);
        let cases: Vec<(&str, &Person, NaiveDate, Vec<Refusal>)> = vec![
            (
                "higher skill than needed, valid the day before expiry",
                &expiring,
                day(2026, 11, 22),
                vec![],
            ),
            (
                "not on the expiry day itself",
                &expiring,
                day(2026, 11, 23),
                vec![
                    Refusal::ModuleExpired {
                        module: 5,
                        expired: day(2026, 11, 23),
                    },
                    Refusal::ModuleExpired {
                        module: 8,
                        expired: day(2026, 11, 23),
                    },
                ],
            ),
            (
                "a certificate issued after the day of work does not count",
                &future,
                day(2026, 11, 23),
                vec![
                    Refusal::ModuleMissing { module: 5 },
                    Refusal::ModuleMissing { module: 8 },
                ],
            ),
            (
                "the same certificate once issued",
                &future,
                day(2026, 12, 1),
                vec![],
            ),
            (
                "every required module, not just one",
                &partial,
                day(2026, 11, 23),
                vec![Refusal::ModuleMissing { module: 8 }],
            ),
        ];
        for (name, p, d, want) in cases {
            assert_eq!(qualification_refusals(p, &facts, d, now()), want, "{name}");
        }
    }

    #[test]
    fn deactivated_or_locked_reviewers_and_signers_are_refused_until_the_lock_ends() {
        let sup = person(
            "S1",
            SkillLevel::Advanced,
            &[Role::Supervisor, Role::Inspector],
            &[],
        );
        let mut gone = sup.clone();
        gone.active = false;
        let mut locked = sup.clone();
        locked.locked_until = Some(now() + Duration::minutes(1));
        let mut lock_over = sup.clone();
        lock_over.locked_until = Some(now());
        let cases: Vec<(&str, &Person, Result<(), Refusal>)> = vec![
            ("active supervisor", &sup, Ok(())),
            ("deactivated", &gone, Err(Refusal::Inactive)),
            (
                "locked",
                &locked,
                Err(Refusal::Locked {
                    until: now() + Duration::minutes(1),
                }),
            ),
            ("the lock ended this instant", &lock_over, Ok(())),
        ];
        for (name, who, want) in cases {
            assert_eq!(may_review(who, "T1", &[], now()), want, "review: {name}");
            assert_eq!(
                may_sign(who, SignerRole::Inspector, "T1", now()),
                want,
                "sign: {name}"
            );
        }
    }

    #[test]
    fn roster_changes_need_an_active_unlocked_admin() {
        let admin = person("A1", SkillLevel::Intermediate, &[Role::Admin], &[]);
        let sup = person("S1", SkillLevel::Expert, &[Role::Supervisor], &[]);
        let mut gone = admin.clone();
        gone.active = false;
        let mut locked = admin.clone();
        locked.locked_until = Some(now() + Duration::minutes(15));
        let cases: Vec<(&str, &Person, Result<(), Refusal>)> = vec![
            ("admin", &admin, Ok(())),
            (
                "a supervisor is no admin",
                &sup,
                Err(Refusal::RoleMissing { role: Role::Admin }),
            ),
            ("deactivated admin", &gone, Err(Refusal::Inactive)),
            (
                "locked admin",
                &locked,
                Err(Refusal::Locked {
                    until: now() + Duration::minutes(15),
                }),
            ),
        ];
        for (name, who, want) in cases {
            assert_eq!(may_administer(who, now()), want, "{name}");
        }
    }

    #[test]
    fn the_last_active_admin_stays_table() {
        let a1 = person("A1", SkillLevel::Intermediate, &[Role::Admin], &[]);
        let a2 = person(
            "A2",
            SkillLevel::Intermediate,
            &[Role::Admin, Role::Supervisor],
            &[],
        );
        let mut a2_gone = a2.clone();
        a2_gone.active = false;
        let t1 = person("T1", SkillLevel::Expert, &[Role::Technician], &[]);
        let cases: Vec<(&str, Vec<&Person>, &str, bool, bool)> = vec![
            (
                "one of two admins goes",
                vec![&a1, &a2, &t1],
                "A1",
                false,
                true,
            ),
            ("the only admin goes", vec![&a1, &t1], "A1", false, false),
            (
                "the other admin is deactivated",
                vec![&a1, &a2_gone],
                "A1",
                false,
                false,
            ),
            (
                "the only admin stays admin",
                vec![&a1, &t1],
                "A1",
                true,
                true,
            ),
            ("a technician goes", vec![&a1, &t1], "T1", false, true),
        ];
        for (name, people, badge, still, ok) in cases {
            assert_eq!(admin_remains(people, badge, still).is_ok(), ok, "{name}");
        }
    }
}
