//! Cross-checks the schema alone cannot express. Each finding points at the value
//! it is about and says what was expected.

use crate::domain::pin_rules::{MAX_PIN_DIGITS, MIN_PIN_DIGITS};
use std::collections::BTreeSet;

use super::diagnostic::{Diagnostic, Source};
use super::load::Library;
use super::schema::{
    AlloyFile, CheckpointKind, NumberSource, PolicyFile, ProcedureCatalogFile, ProcedureEntry,
    WorkInstructionFile,
};
use crate::domain::policy::{ApprovalRule, Policy, ReworkLimit};
use crate::domain::types::ProductClass;

const MODULES: std::ops::RangeInclusive<u8> = 1..=10;

pub fn catalog(src: &Source, file: &ProcedureCatalogFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &file.procedures {
        let reference = p.reference();
        if !seen.insert(reference.clone()) {
            out.push(src.at(
                Some(p.number.span()),
                format!("duplicate procedure {reference:?}: each number appears once"),
            ));
        }
        if !MODULES.contains(p.module.get_ref()) {
            out.push(src.at(
                Some(p.module.span()),
                format!("training module {} is not 1–10", p.module.get_ref()),
            ));
        }
        // An organisation number must never look like one of the standard's.
        let looks_standard = p
            .number
            .get_ref()
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
        if p.source == NumberSource::Organisation && looks_standard {
            out.push(src.at(
                Some(p.number.span()),
                format!(
                    "organisation number {:?} looks like a number of the standard; give it the organisation's prefix (e.g. \"ORG-{}\")",
                    p.number.get_ref(),
                    p.number.get_ref()
                ),
            ));
        }
    }
    out
}

pub fn alloys(src: &Source, file: &AlloyFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for a in &file.alloys {
        if !seen.insert(a.id.get_ref().clone()) {
            out.push(src.at(
                Some(a.id.span()),
                format!("duplicate alloy {:?}", a.id.get_ref()),
            ));
        }
        if a.solidus_c > a.liquidus_c {
            out.push(src.at(
                Some(a.id.span()),
                format!(
                    "alloy {:?}: solidus {} °C is above liquidus {} °C",
                    a.id.get_ref(),
                    a.solidus_c,
                    a.liquidus_c
                ),
            ));
        }
        for (name, range) in &a.profile {
            let r = range.get_ref();
            if r.min > r.max {
                out.push(src.at(
                    Some(range.span()),
                    format!(
                        "profile {name:?}: min {} °C is above max {} °C",
                        r.min, r.max
                    ),
                ));
            }
        }
    }
    out
}

pub fn policy(
    src: &Source,
    file: &PolicyFile,
    procedures: &[ProcedureEntry],
) -> (Option<Policy>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for rule in &file.classes {
        if !seen.insert(*rule.class.get_ref()) {
            out.push(src.at(
                Some(rule.class.span()),
                format!("{} is listed twice", rule.class.get_ref()),
            ));
        }
    }
    for class in ProductClass::ALL {
        if !seen.contains(&class) {
            out.push(src.at(
                None,
                format!("no [[class]] rule for {class}: every class needs its allowed conformance levels"),
            ));
        }
    }
    let mut approvals = Vec::new();
    for a in &file.approvals {
        let pattern = match &a.pattern {
            None => None,
            Some(p) => match regex::Regex::new(p.get_ref()) {
                Ok(re) => Some(re),
                Err(e) => {
                    out.push(src.at(
                        Some(p.span()),
                        format!("pattern is not a valid regular expression: {e}"),
                    ));
                    None
                }
            },
        };
        approvals.push(ApprovalRule {
            activity: a.activity,
            required: a.required,
            label: a.label.clone(),
            pattern,
        });
    }
    for limit in &file.rework_limits {
        for p in &limit.procedures {
            if !procedures.iter().any(|e| &e.reference() == p.get_ref()) {
                out.push(src.at(
                    Some(p.span()),
                    format!(
                        "unknown procedure {:?}: expected a reference from procedures.toml such as \"7711 3.1.1\"",
                        p.get_ref()
                    ),
                ));
            }
        }
    }
    let pin = file.pin.as_ref().map(|p| *p.get_ref()).unwrap_or_default();
    if let Some(p) = &file.pin {
        let min = usize::from(pin.min_length);
        if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&min) {
            out.push(src.at(
                Some(p.span()),
                format!(
                    "min_length = {min}: a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits, so min_length must be in that range"
                ),
            ));
        }
    }
    let roster_max_age = file
        .hub
        .as_ref()
        .and_then(|h| h.roster_max_age_hours.as_ref());
    if let Some(h) = roster_max_age
        && !(h.get_ref().is_finite() && *h.get_ref() > 0.0)
    {
        out.push(src.at(
            Some(h.span()),
            format!(
                "roster_max_age_hours = {}: give a number of hours above 0 (e.g. 8 or 0.5)",
                h.get_ref()
            ),
        ));
    }
    let policy = Policy {
        certification_validity_years: file.certification_validity_years,
        allowed: file
            .classes
            .iter()
            .map(|c| (*c.class.get_ref(), c.conformance.clone()))
            .collect(),
        approvals,
        rework_limits: file
            .rework_limits
            .iter()
            .map(|l| ReworkLimit {
                description: l.description.clone(),
                classes: l.classes.clone(),
                procedures: l.procedures.iter().map(|p| p.get_ref().clone()).collect(),
                max_cycles: l.max_cycles,
            })
            .collect(),
        max_failed_pins: file.signature.max_failed_pins,
        lockout_minutes: file.signature.lockout_minutes,
        idle_logout_minutes: file.session.idle_logout_minutes,
        pin,
        require_release: file.release.as_ref().is_none_or(|r| r.require_release),
        roster_max_age_hours: roster_max_age
            .map(|h| *h.get_ref())
            .filter(|h| h.is_finite() && *h > 0.0),
    };
    (Some(policy), out)
}

pub fn instruction(src: &Source, wi: &WorkInstructionFile, library: &Library) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let id = wi.id.get_ref();

    if id.trim().is_empty() {
        out.push(src.at(
            Some(wi.id.span()),
            "id is empty: expected e.g. \"WI-BGA-001\"",
        ));
    }
    if wi.steps.is_empty() {
        out.push(src.at(
            Some(wi.id.span()),
            format!("instruction {id:?} has no steps: expected at least one [[step]]"),
        ));
    }
    if wi.classes.get_ref().is_empty() {
        out.push(src.at(
            Some(wi.classes.span()),
            "classes is empty: expected the product classes (1, 2, 3) this instruction is released for",
        ));
    }
    if wi.procedures.is_empty() {
        out.push(src.at(
            Some(wi.id.span()),
            "procedures is empty: expected the IPC-7711/7721 procedures this instruction follows",
        ));
    }

    for m in &wi.modules {
        if !MODULES.contains(m.get_ref()) {
            out.push(src.at(
                Some(m.span()),
                format!("training module {} is not 1–10", m.get_ref()),
            ));
        }
    }
    let modules: BTreeSet<u8> = wi.modules.iter().map(|m| *m.get_ref()).collect();

    for p in &wi.procedures {
        let Some(entry) = library.procedure(p.get_ref()) else {
            out.push(src.at(
                Some(p.span()),
                format!(
                    "unknown procedure {:?}: expected a reference from procedures.toml, written as document and number (e.g. \"7711 3.1.1\")",
                    p.get_ref()
                ),
            ));
            continue;
        };
        if wi.skill.get_ref() < &entry.skill {
            out.push(src.at(
                Some(wi.skill.span()),
                format!(
                    "skill {} is below {} required by procedure {} ({})",
                    wi.skill.get_ref(),
                    entry.skill,
                    p.get_ref(),
                    entry.title
                ),
            ));
        }
        if !modules.contains(entry.module.get_ref()) {
            out.push(src.at(
                Some(p.span()),
                format!(
                    "procedure {} is certified by training module {}, which `modules` does not list",
                    p.get_ref(),
                    entry.module.get_ref()
                ),
            ));
        }
        if let Some(policy) = &library.policy {
            for class in wi.classes.get_ref() {
                if !policy.conformance_allowed(*class, entry.conformance) {
                    let level = entry
                        .conformance
                        .map_or_else(|| "unassigned".to_string(), |c| c.to_string());
                    out.push(src.at(
                        Some(wi.classes.span()),
                        format!(
                            "{class} is not allowed for procedure {} ({level} conformance) by policy.toml",
                            p.get_ref()
                        ),
                    ));
                }
            }
        }
    }

    let mut material_ids = BTreeSet::new();
    for m in &wi.materials {
        if !material_ids.insert(m.id.get_ref().as_str()) {
            out.push(src.at(
                Some(m.id.span()),
                format!("duplicate material {:?}", m.id.get_ref()),
            ));
        }
        if m.capture_expiry && !m.capture_lot {
            out.push(src.at(
                Some(m.id.span()),
                format!(
                    "material {:?} captures an expiry but not a lot: the expiry belongs to a lot",
                    m.id.get_ref()
                ),
            ));
        }
    }

    out.extend(components(src, wi));

    for (i, step) in wi.steps.iter().enumerate() {
        let n = i + 1;
        for m in &step.materials {
            if !material_ids.contains(m.get_ref().as_str()) {
                out.push(src.at(
                    Some(m.span()),
                    format!(
                        "step {n} uses unknown material {:?}: expected one of the [[material]] ids of this file",
                        m.get_ref()
                    ),
                ));
            }
        }
        if let Some(minutes) = step.max_minutes
            && minutes.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            out.push(src.at(
                step.temperature.as_ref().map(|t| t.span()),
                format!("step {n}: max_minutes must be above zero"),
            ));
        }
        if let Some(t) = &step.temperature {
            let span = Some(t.span());
            let temp = t.get_ref();
            match (&temp.profile, temp.min, temp.max) {
                (Some(_), Some(_), _) | (Some(_), _, Some(_)) => out.push(src.at(
                    span,
                    format!("step {n}: temperature has both a profile and min/max: expected one or the other"),
                )),
                (None, None, None) => out.push(src.at(
                    span,
                    format!("step {n}: temperature needs min and/or max °C, or an alloy profile"),
                )),
                (None, Some(min), Some(max)) if min > max => out.push(src.at(
                    span,
                    format!("step {n}: temperature min {min} °C is above max {max} °C"),
                )),
                (Some(profile), None, None) => {
                    let lacking: Vec<&str> = library
                        .alloys
                        .iter()
                        .filter(|a| !a.profile.contains_key(profile))
                        .map(|a| a.id.get_ref().as_str())
                        .collect();
                    if library.alloys.is_empty() || !lacking.is_empty() {
                        let which = if lacking.is_empty() {
                            "alloys.toml has no alloys".to_string()
                        } else {
                            format!("missing for {}", lacking.join(", "))
                        };
                        out.push(src.at(
                            span,
                            format!("step {n}: alloy profile {profile:?} is not in alloys.toml ({which})"),
                        ));
                    }
                }
                _ => {}
            }
        }
        for (j, cp) in step.checkpoints.iter().enumerate() {
            let at = format!("step {n} checkpoint {}", j + 1);
            let kind_span = Some(cp.kind.span());
            match cp.kind.get_ref() {
                CheckpointKind::Measurement => {
                    if cp.unit.as_deref().is_none_or(|u| u.trim().is_empty()) {
                        out.push(src.at(
                            kind_span.clone(),
                            format!("{at}: a measurement needs a unit"),
                        ));
                    }
                    if cp.min.is_none() && cp.max.is_none() {
                        out.push(src.at(
                            kind_span.clone(),
                            format!("{at}: a measurement needs a min and/or max limit"),
                        ));
                    }
                    if let (Some(min), Some(max)) = (&cp.min, cp.max)
                        && *min.get_ref() > max
                    {
                        out.push(src.at(
                            Some(min.span()),
                            format!("{at}: min {} is above max {max}", min.get_ref()),
                        ));
                    }
                }
                _ => {
                    if cp.unit.is_some() || cp.min.is_some() || cp.max.is_some() {
                        out.push(src.at(
                            kind_span.clone(),
                            format!("{at}: unit and limits belong to kind = \"measurement\" only"),
                        ));
                    }
                }
            }
            // A recorded station figure: only for measurements, and only one we record.
            match (&cp.recorded, cp.kind.get_ref()) {
                (Some(metric), CheckpointKind::Measurement) => {
                    if !crate::domain::decide::RECORDED_METRICS.contains(&metric.get_ref().as_str())
                    {
                        out.push(src.at(
                            Some(metric.span()),
                            format!(
                                "{at}: recorded = {:?} is not a figure the station records (one of: {})",
                                metric.get_ref(),
                                crate::domain::decide::RECORDED_METRICS.join(", ")
                            ),
                        ));
                    }
                    if cp.tolerance.is_some_and(|t| !t.is_finite() || t < 0.0) {
                        out.push(src.at(
                            Some(metric.span()),
                            format!("{at}: tolerance must be a number of 0 or more"),
                        ));
                    }
                }
                (Some(metric), _) => out.push(src.at(
                    Some(metric.span()),
                    format!("{at}: recorded belongs to kind = \"measurement\" only"),
                )),
                (None, _) if cp.tolerance.is_some() => out.push(src.at(
                    kind_span.clone(),
                    format!("{at}: tolerance needs recorded = \"…\" (the figure it applies to)"),
                )),
                _ => {}
            }
        }
    }
    out
}

/// `component` on steps: a part is fitted where one came off, so in an instruction
/// that removes one, no step fits a part before the first removal.
fn components(src: &Source, wi: &WorkInstructionFile) -> Vec<Diagnostic> {
    use crate::domain::component::ComponentAction;
    let mut out = Vec::new();
    let first_removal = wi.steps.iter().position(|s| {
        s.component
            .as_ref()
            .is_some_and(|c| *c.get_ref() == ComponentAction::Remove)
    });
    let Some(first_removal) = first_removal else {
        return out;
    };
    for (i, step) in wi.steps.iter().enumerate().take(first_removal) {
        if let Some(c) = &step.component
            && *c.get_ref() == ComponentAction::Install
        {
            out.push(src.at(
                Some(c.span()),
                format!(
                    "step {}: component = \"install\" comes before the removal at step {}: a part is fitted after the old one is off",
                    i + 1,
                    first_removal + 1
                ),
            ));
        }
    }
    out
}
