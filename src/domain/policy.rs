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
#[derive(Clone, Debug)]
pub struct PriorJob {
    pub refdes: Vec<String>,
    pub procedures: Vec<String>,
    /// Aborted before anything was done to the board: does not count as a cycle.
    pub counts: bool,
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
    },
    RoleMissing {
        role: Role,
    },
    OwnWork,
    NotPerformer {
        performer: String,
    },
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
                write!(f, "needs IPC-7711/7721 certification for module {module}")
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
            } => write!(
                f,
                "{refdes} already reworked {cycles} time(s); limit {max} ({description})"
            ),
            Refusal::RoleMissing { role } => write!(f, "needs the {role} role"),
            Refusal::OwnWork => write!(f, "nobody may inspect or review their own work"),
            Refusal::NotPerformer { performer } => {
                write!(f, "only the performer ({performer}) signs this checkpoint")
            }
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
            let cycles = prior
                .iter()
                .filter(|j| j.counts && j.refdes.iter().any(|r| r.eq_ignore_ascii_case(location)))
                .filter(|j| j.procedures.iter().any(limited))
                .count() as u32;
            if cycles >= limit.max_cycles {
                out.push(Refusal::ReworkLimit {
                    refdes: location.clone(),
                    cycles,
                    max: limit.max_cycles,
                    description: limit.description.clone(),
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
