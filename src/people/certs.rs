//! Certification reports over the roster: expiries and module gaps.

use chrono::NaiveDate;

use crate::domain::person::Person;
use crate::domain::policy::{Refusal, qualification_refusals};
use crate::domain::types::Role;
use crate::instruction::Library;

/// (person, certificate, expiry, days left) for certificates expiring within `days`
/// (already expired ones have negative days), soonest first.
pub fn expiring(
    people: &[Person],
    today: NaiveDate,
    days: i64,
) -> Vec<(String, String, NaiveDate, i64)> {
    let mut out: Vec<_> = people
        .iter()
        .filter(|p| p.active)
        .flat_map(|p| {
            p.certifications.iter().filter_map(move |c| {
                let left = (c.expires - today).num_days();
                (left <= days).then(|| (p.name.clone(), c.certificate.clone(), c.expires, left))
            })
        })
        .collect();
    out.sort_by_key(|e| e.3);
    out
}

/// (person, instruction, modules missing or expired) for every active technician
/// and every released instruction whose modules they do not hold on `today`.
pub fn module_gaps(
    people: &[Person],
    library: &Library,
    today: NaiveDate,
) -> Vec<(String, String, Vec<u8>)> {
    let now = today
        .and_hms_opt(12, 0, 0)
        .map_or_else(chrono::Utc::now, |t| t.and_utc());
    let mut out = Vec::new();
    for p in people
        .iter()
        .filter(|p| p.active && p.has_role(Role::Technician))
    {
        for ins in &library.instructions {
            let missing: Vec<u8> = qualification_refusals(p, &ins.facts(library), today, now)
                .into_iter()
                .filter_map(|r| match r {
                    Refusal::ModuleMissing { module } | Refusal::ModuleExpired { module, .. } => {
                        Some(module)
                    }
                    _ => None,
                })
                .collect();
            if !missing.is_empty() {
                out.push((p.name.clone(), ins.id().to_string(), missing));
            }
        }
    }
    out
}
