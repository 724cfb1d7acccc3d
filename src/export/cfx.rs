//! IPC-2591 (CFX 2.1) messages: one `CFXEnvelope` per message, written as a JSON
//! array (what the CFX SDK's `CFXEnvelope.FromJsonList` reads), one envelope a line.
//!
//! Field names, casing and enum values follow the CFX SDK's message classes, including
//! its `TransactionID` (WorkStarted, WorkCompleted) against `TransactionId` (the
//! others), and the `$type` names the SDK writes for `MessageBody` and for polymorphic
//! measurements.
//!
//! Per job, following its records in order:
//! - `CFX.Production.WorkStarted` from the job-started record;
//! - `CFX.Production.Application.MaterialsApplied` for every solder, flux, paste and
//!   epoxy lot;
//! - `CFX.Production.ReadingsRecorded` for every completed step with temperatures
//!   (each channel's peak against the window; with samples, every reading);
//! - `CFX.Production.TestAndInspection.UnitsInspected` for every checkpoint signature,
//!   with its signer as `Inspector`;
//! - once the job is approved or aborted: `CFX.Production.ReworkAndRepair.UnitsRepaired`
//!   (one repair per reference designator, `RepairName` naming the IPC-7711/7721
//!   procedures) and `CFX.Production.WorkCompleted`. A submitted or rejected job is not
//!   finished, so it has neither yet.
//!
//! IDs are derived from the job, the message and the record's seq (SHA-256, shaped as
//! an RFC 9562 version-8 UUID), so exporting twice gives the same messages.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::info;

use crate::domain::event::{ChannelSummary, Event, Record};
use crate::domain::job::{Job, JobStatus};
use crate::domain::types::CheckResult;
use crate::instruction::schema::{CheckpointKind, MaterialKind, NumberSource};
use crate::instruction::{Instruction, Library};
use crate::store::{Store, StoredSample};

use super::{
    ExportOptions, ExportSummary, Progress, Result, Scope, StoredOrPlain, load_job, step_no,
};

pub const CFX_VERSION: &str = "2.1";

// ------------------------------------------------------------------ structures

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Envelope<B> {
    #[serde(rename = "MessageName")]
    pub message_name: &'static str,
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "TimeStamp")]
    pub time_stamp: String,
    #[serde(rename = "UniqueID")]
    pub unique_id: String,
    #[serde(rename = "Source")]
    pub source: String,
    #[serde(rename = "Target")]
    pub target: Option<String>,
    #[serde(rename = "RequestID")]
    pub request_id: Option<String>,
    #[serde(rename = "MessageBody")]
    pub message_body: B,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Operator {
    pub operator_identifier: String,
    pub actor_type: &'static str,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub login_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UnitPosition<'a> {
    unit_identifier: &'a str,
    position_number: i32,
    position_name: Option<&'a str>,
    #[serde(rename = "X")]
    x: f64,
    #[serde(rename = "Y")]
    y: f64,
    #[serde(rename = "Z")]
    z: Option<f64>,
    rotation: f64,
    flip_x: bool,
    flip_y: bool,
    status: &'static str,
}

impl<'a> UnitPosition<'a> {
    fn board(serial: &'a str, status: &'static str) -> Self {
        UnitPosition {
            unit_identifier: serial,
            position_number: 1,
            position_name: None,
            x: 0.0,
            y: 0.0,
            z: None,
            rotation: 0.0,
            flip_x: false,
            flip_y: false,
            status,
        }
    }
}

#[derive(Serialize)]
struct WorkStarted<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(rename = "PrimaryIdentifier")]
    primary_identifier: &'a str,
    #[serde(rename = "HermesIdentifier")]
    hermes_identifier: Option<&'a str>,
    #[serde(rename = "TransactionID")]
    transaction_id: String,
    #[serde(rename = "Lane")]
    lane: Option<i32>,
    #[serde(rename = "UnitCount")]
    unit_count: i32,
    #[serde(rename = "Units")]
    units: Vec<UnitPosition<'a>>,
    #[serde(rename = "RecipeName")]
    recipe_name: &'a str,
    #[serde(rename = "Revision")]
    revision: &'a str,
    #[serde(rename = "RelevantSurface")]
    relevant_surface: &'static str,
    #[serde(rename = "WorkOrderIdentifier")]
    work_order_identifier: Option<()>,
}

#[derive(Serialize)]
struct WorkCompleted<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(rename = "TransactionID")]
    transaction_id: String,
    #[serde(rename = "Result")]
    result: &'static str,
    #[serde(rename = "PrimaryIdentifier")]
    primary_identifier: &'a str,
    #[serde(rename = "HermesIdentifier")]
    hermes_identifier: Option<&'a str>,
    #[serde(rename = "UnitCount")]
    unit_count: i32,
    #[serde(rename = "Units")]
    units: Vec<UnitPosition<'a>>,
    #[serde(rename = "PerformanceImpacts")]
    performance_impacts: Vec<()>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MaterialsApplied<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    applied_materials: Vec<InstalledMaterial<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstalledMaterial<'a> {
    unit_identifier: &'a str,
    unit_position_number: Option<i32>,
    quantity_installed: f64,
    quantity_non_installed: f64,
    material: MaterialPackage<'a>,
    carrier_location: Option<()>,
    installed_components: Vec<()>,
    non_installed_components: Vec<()>,
    reference_part_number: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MaterialPackage<'a> {
    unique_identifier: &'a str,
    internal_part_number: &'a str,
    internal_package_name: Option<&'a str>,
    quantity: f64,
    leading_material_package: Option<()>,
    batch_id: &'a str,
    batch_material_package: Option<()>,
    grey_zone: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReadingsRecorded {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    readings: Vec<Reading>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ComponentDesignator {
    reference_designator: String,
    unit_position: Option<()>,
    part_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Reading {
    reading_identifier: String,
    time_recorded: String,
    reading_sequence: i64,
    result: &'static str,
    unit_identifier: String,
    unit_position_number: Option<i32>,
    components: Vec<ComponentDesignator>,
    value_data_type: &'static str,
    value_units: &'static str,
    value_mime_type: Option<()>,
    value: String,
    binary_value: Option<()>,
    expected_value: Option<String>,
    expected_value_units: Option<&'static str>,
    minimum_acceptable_value: Option<String>,
    maximum_acceptable_value: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UnitsInspected<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    inspection_method: &'static str,
    sampling_information: Option<()>,
    inspector: Operator,
    recipe_name: &'a str,
    recipe_revision: &'a str,
    inspected_units: Vec<InspectedUnit<'a>>,
    inspected_panel: Option<()>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedUnit<'a> {
    unit_identifier: &'a str,
    unit_position_number: Option<i32>,
    overall_result: &'static str,
    inspections: Vec<Inspection>,
    verification: &'static str,
    total_inspection_count: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Inspection {
    unique_identifier: String,
    inspection_name: String,
    inspection_start_time: Option<String>,
    inspection_end_time: Option<String>,
    test_procedure: Option<String>,
    comments: Option<String>,
    result: &'static str,
    verification: &'static str,
    verification_detail: Option<()>,
    error: Option<()>,
    defects_found: Vec<()>,
    symptoms: Option<()>,
    measurements: Vec<NumericMeasurement>,
    ref_no: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NumericMeasurement {
    #[serde(rename = "$type")]
    type_name: &'static str,
    measured_value: NumericValue,
    unique_identifier: String,
    measurement_name: String,
    time_recorded: Option<String>,
    sequence: i32,
    result: &'static str,
    #[serde(rename = "CRDs")]
    crds: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NumericValue {
    value: f64,
    value_units: String,
    expected_value: Option<f64>,
    expected_value_units: Option<String>,
    minimum_acceptable_value: Option<f64>,
    minimum_acceptable_value_units: Option<String>,
    maximum_acceptable_value: Option<f64>,
    maximum_acceptable_value_units: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UnitsRepaired<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    repair_operator: Operator,
    repaired_units: Vec<RepairedUnit<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RepairedUnit<'a> {
    unit_identifier: &'a str,
    unit_position_number: Option<i32>,
    overall_result: &'static str,
    repairs: Vec<Repair>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Repair {
    unique_identifier: String,
    repair_name: String,
    repair_start_time: Option<String>,
    repair_end_time: Option<String>,
    comments: Option<String>,
    component_of_interest: ComponentDesignator,
    region_of_interest: Option<()>,
    related_defect_identifiers: Vec<String>,
    reclassified_defects: Vec<()>,
    related_symptom_identifiers: Vec<String>,
    reclassified_symptoms: Vec<()>,
    result: &'static str,
    error: Option<()>,
}

// ------------------------------------------------------------------ helpers

/// A UUID (RFC 9562 version 8, i.e. vendor-defined) from SHA-256 of `parts`.
pub fn derived_uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// CFX time stamps carry their offset: UTC is written as `+00:00`.
pub fn cfx_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// UCUM as the CFX examples use it ("Cel" for °C).
fn units(u: &str) -> String {
    match u {
        "°C" | "C" | "degC" => "Cel".into(),
        other => other.into(),
    }
}

fn test_result(r: CheckResult) -> &'static str {
    if r.is_failure() { "Failed" } else { "Passed" }
}

/// Names for badges: the roster, then whatever the job's own signatures say.
pub fn roster(store: &Store) -> Result<HashMap<String, String>> {
    let mut names = HashMap::new();
    for rec in store.people_events() {
        match rec?.event {
            Event::PersonEnrolled { badge, name, .. }
            | Event::PersonUpdated { badge, name, .. } => {
                names.insert(badge, name);
            }
            _ => {}
        }
    }
    Ok(names)
}

fn operator(badge: &str, names: &HashMap<String, String>, job: &Job) -> Operator {
    let name = names.get(badge).cloned().or_else(|| {
        job.history
            .iter()
            .find(|s| s.signer == badge)
            .map(|s| s.signer_name.clone())
            .or_else(|| {
                job.reviews
                    .iter()
                    .find(|r| r.reviewer == badge)
                    .map(|r| r.reviewer_name.clone())
            })
    });
    let (first, last) = match name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => match n.rsplit_once(' ') {
            Some((f, l)) => (Some(f.to_string()), Some(l.to_string())),
            None => (None, Some(n.to_string())),
        },
        _ => (None, None),
    };
    Operator {
        operator_identifier: badge.to_string(),
        actor_type: "Human",
        last_name: last,
        first_name: first,
        login_name: Some(badge.to_string()),
    }
}

/// The procedures a job's instruction names, as `RepairName` gives them. Numbers the
/// organisation made up are said to be so, never passed off as IPC numbers.
pub fn repair_name(library: &Library, job: &Job, instruction: Option<&Instruction>) -> String {
    let Some(instruction) = instruction else {
        return format!(
            "{} rev {} (procedures unknown: instruction not in the library)",
            job.instruction_id, job.instruction_rev
        );
    };
    let procedures: Vec<String> = instruction
        .procedure_refs()
        .iter()
        .map(|r| match library.procedure(r) {
            Some(p) if p.source == NumberSource::Organisation => format!(
                "IPC-{} {} (organisation number {})",
                p.document.short(),
                p.title,
                p.number.get_ref()
            ),
            Some(p) => format!(
                "IPC-{} {} {}",
                p.document.short(),
                p.number.get_ref(),
                p.title
            ),
            None => super::procedure_name(r),
        })
        .collect();
    format!(
        "{} [{} rev {}]",
        procedures.join("; "),
        instruction.id(),
        instruction.revision()
    )
}

fn material_kind(instruction: Option<&Instruction>, material: &str) -> Option<MaterialKind> {
    if let Some(m) =
        instruction.and_then(|i| i.spec.materials.iter().find(|m| m.id.get_ref() == material))
    {
        return Some(m.kind);
    }
    // Instruction gone from the library: judge by the material's name.
    let lower = material.to_ascii_lowercase();
    [
        ("paste", MaterialKind::Paste),
        ("flux", MaterialKind::Flux),
        ("epoxy", MaterialKind::Epoxy),
        ("solder", MaterialKind::SolderWire),
    ]
    .into_iter()
    .find(|(k, _)| lower.contains(k))
    .map(|(_, kind)| kind)
}

fn is_applied(kind: MaterialKind) -> bool {
    matches!(
        kind,
        MaterialKind::SolderWire | MaterialKind::Flux | MaterialKind::Paste | MaterialKind::Epoxy
    )
}

fn components(job: &Job) -> Vec<ComponentDesignator> {
    job.refdes
        .iter()
        .map(|r| ComponentDesignator {
            reference_designator: r.clone(),
            unit_position: None,
            part_number: None,
        })
        .collect()
}

fn fmt_num(v: f64) -> String {
    v.to_string()
}

/// One message, serialised in the SDK's field order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfxMessage {
    pub name: &'static str,
    /// The whole `CFXEnvelope` as compact JSON.
    pub json: String,
}

/// Everything the messages of one job need.
pub struct JobMessages<'a> {
    library: &'a Library,
    job: &'a Job,
    instruction: Option<&'a Instruction>,
    names: &'a HashMap<String, String>,
    source: String,
    transaction: String,
}

impl<'a> JobMessages<'a> {
    pub fn new(
        library: &'a Library,
        job: &'a Job,
        instruction: Option<&'a Instruction>,
        names: &'a HashMap<String, String>,
    ) -> Self {
        JobMessages {
            library,
            job,
            instruction,
            names,
            source: format!("traveler.{}", job.bench),
            transaction: derived_uuid(&["transaction", &job.id]),
        }
    }

    fn envelope<B: Serialize>(
        &self,
        name: &'static str,
        seq: u64,
        time: &DateTime<Utc>,
        body: B,
    ) -> Result<CfxMessage> {
        let json = serde_json::to_string(&Envelope {
            message_name: name,
            version: CFX_VERSION,
            time_stamp: cfx_time(time),
            unique_id: derived_uuid(&[&self.job.id, name, &seq.to_string()]),
            source: self.source.clone(),
            target: None,
            request_id: None,
            message_body: body,
        })?;
        Ok(CfxMessage { name, json })
    }

    fn checkpoint(
        &self,
        step: u32,
        checkpoint: u32,
    ) -> Option<&'a crate::instruction::schema::Checkpoint> {
        self.instruction?
            .spec
            .steps
            .get(step as usize)?
            .checkpoints
            .get(checkpoint as usize)
    }

    /// The messages for one record of the job, in order.
    fn for_record(
        &self,
        rec: &Record,
        samples: &mut dyn FnMut(u32) -> Result<Vec<StoredSample>>,
        out: &mut Vec<CfxMessage>,
    ) -> Result<()> {
        let job = self.job;
        let serial = job.board_serial.as_str();
        match &rec.event {
            Event::JobStarted { .. } => out.push(self.envelope(
                "CFX.Production.WorkStarted",
                rec.seq,
                &rec.time,
                WorkStarted {
                    type_name: "CFX.Production.WorkStarted, CFX",
                    primary_identifier: serial,
                    hermes_identifier: None,
                    transaction_id: self.transaction.clone(),
                    lane: None,
                    unit_count: 1,
                    units: vec![UnitPosition::board(serial, "Pass")],
                    recipe_name: &job.instruction_id,
                    revision: &job.instruction_rev,
                    relevant_surface: "Unspecified",
                    work_order_identifier: None,
                },
            )?),
            Event::LotRecorded {
                material,
                lot,
                gtin,
                ..
            } => {
                if !material_kind(self.instruction, material).is_some_and(is_applied) {
                    return Ok(());
                }
                let name = self.instruction.and_then(|i| {
                    i.spec
                        .materials
                        .iter()
                        .find(|m| m.id.get_ref() == material)
                        .map(|m| m.name.as_str())
                });
                out.push(self.envelope(
                    "CFX.Production.Application.MaterialsApplied",
                    rec.seq,
                    &rec.time,
                    MaterialsApplied {
                        type_name: "CFX.Production.Application.MaterialsApplied, CFX",
                        transaction_id: self.transaction.clone(),
                        applied_materials: vec![InstalledMaterial {
                            unit_identifier: serial,
                            unit_position_number: None,
                            quantity_installed: 0.0,
                            quantity_non_installed: 0.0,
                            material: MaterialPackage {
                                unique_identifier: lot,
                                internal_part_number: gtin.as_deref().unwrap_or(material),
                                internal_package_name: name,
                                quantity: 0.0,
                                leading_material_package: None,
                                batch_id: lot,
                                batch_material_package: None,
                                grey_zone: 0.0,
                            },
                            carrier_location: None,
                            installed_components: Vec::new(),
                            non_installed_components: Vec::new(),
                            reference_part_number: None,
                        }],
                    },
                )?);
            }
            Event::StepCompleted {
                step, temperature, ..
            } => {
                if temperature.is_empty() {
                    return Ok(());
                }
                let readings = self.readings(*step, &rec.time, temperature, samples(*step)?);
                out.push(self.envelope(
                    "CFX.Production.ReadingsRecorded",
                    rec.seq,
                    &rec.time,
                    ReadingsRecorded {
                        type_name: "CFX.Production.ReadingsRecorded, CFX",
                        transaction_id: self.transaction.clone(),
                        readings,
                    },
                )?);
            }
            Event::CheckpointSigned {
                step,
                checkpoint,
                signer,
                result,
                measurement,
                comment,
                ..
            } => {
                let spec = self.checkpoint(*step, *checkpoint);
                let name = format!(
                    "Step {} checkpoint {}{}",
                    step_no(*step),
                    step_no(*checkpoint),
                    spec.map(|c| format!(": {}", c.text)).unwrap_or_default()
                );
                let time = cfx_time(&rec.time);
                let crds = (!job.refdes.is_empty()).then(|| job.refdes.join(","));
                let measurements = match measurement {
                    Some(m) => {
                        let is_measured =
                            spec.is_none_or(|c| *c.kind.get_ref() == CheckpointKind::Measurement);
                        let u = units(&m.unit);
                        let min = spec.and_then(|c| c.min.as_ref().map(|v| *v.get_ref()));
                        let max = spec.and_then(|c| c.max);
                        is_measured
                            .then(|| NumericMeasurement {
                                type_name: "CFX.Structures.NumericMeasurement, CFX",
                                measured_value: NumericValue {
                                    value: m.value,
                                    value_units: u.clone(),
                                    expected_value: None,
                                    expected_value_units: None,
                                    minimum_acceptable_value: min,
                                    minimum_acceptable_value_units: min.map(|_| u.clone()),
                                    maximum_acceptable_value: max,
                                    maximum_acceptable_value_units: max.map(|_| u.clone()),
                                },
                                unique_identifier: derived_uuid(&[
                                    &job.id,
                                    "measurement",
                                    &rec.seq.to_string(),
                                ]),
                                measurement_name: name.clone(),
                                time_recorded: Some(time.clone()),
                                sequence: 1,
                                result: test_result(*result),
                                crds: crds.clone(),
                            })
                            .into_iter()
                            .collect()
                    }
                    None => Vec::new(),
                };
                out.push(self.envelope(
                    "CFX.Production.TestAndInspection.UnitsInspected",
                    rec.seq,
                    &rec.time,
                    UnitsInspected {
                        type_name: "CFX.Production.TestAndInspection.UnitsInspected, CFX",
                        transaction_id: self.transaction.clone(),
                        inspection_method: "Human",
                        sampling_information: None,
                        inspector: operator(signer, self.names, job),
                        recipe_name: &job.instruction_id,
                        recipe_revision: &job.instruction_rev,
                        inspected_units: vec![InspectedUnit {
                            unit_identifier: serial,
                            unit_position_number: None,
                            overall_result: test_result(*result),
                            inspections: vec![Inspection {
                                unique_identifier: derived_uuid(&[
                                    &job.id,
                                    "inspection",
                                    &rec.seq.to_string(),
                                ]),
                                inspection_name: name,
                                inspection_start_time: Some(time.clone()),
                                inspection_end_time: Some(time),
                                test_procedure: spec.map(|c| c.acceptance.clone()),
                                comments: comment.clone(),
                                result: test_result(*result),
                                verification: "NotVerifiedYet",
                                verification_detail: None,
                                error: None,
                                defects_found: Vec::new(),
                                symptoms: None,
                                measurements,
                                ref_no: i32::try_from(step_no(*checkpoint)).ok(),
                            }],
                            verification: "NotVerifiedYet",
                            total_inspection_count: Some(1),
                        }],
                        inspected_panel: None,
                    },
                )?);
            }
            _ => {}
        }
        Ok(())
    }

    fn readings(
        &self,
        step: u32,
        time: &DateTime<Utc>,
        temperature: &[ChannelSummary],
        samples: Vec<StoredSample>,
    ) -> Vec<Reading> {
        let job = self.job;
        let mut out = Vec::new();
        for c in temperature {
            let within = c.excursions == 0
                && c.window_min_c.is_none_or(|m| c.peak_c >= m)
                && c.window_max_c.is_none_or(|m| c.peak_c <= m);
            out.push(Reading {
                reading_identifier: format!("step {} {} peak", step_no(step), c.channel),
                time_recorded: cfx_time(time),
                reading_sequence: out.len() as i64 + 1,
                result: if within { "Passed" } else { "Failed" },
                unit_identifier: job.board_serial.clone(),
                unit_position_number: None,
                components: components(job),
                value_data_type: "Numeric",
                value_units: "Cel",
                value_mime_type: None,
                value: fmt_num(c.peak_c),
                binary_value: None,
                expected_value: None,
                expected_value_units: None,
                minimum_acceptable_value: c.window_min_c.map(fmt_num),
                maximum_acceptable_value: c.window_max_c.map(fmt_num),
            });
        }
        for s in samples {
            let window = temperature.iter().find(|c| c.channel == s.channel);
            let (min, max) = window.map_or((None, None), |c| (c.window_min_c, c.window_max_c));
            let within = min.is_none_or(|m| s.celsius >= m) && max.is_none_or(|m| s.celsius <= m);
            out.push(Reading {
                reading_identifier: format!("step {} {}", step_no(step), s.channel),
                time_recorded: cfx_time(&s.time),
                reading_sequence: out.len() as i64 + 1,
                result: if within { "Passed" } else { "Failed" },
                unit_identifier: job.board_serial.clone(),
                unit_position_number: None,
                components: components(job),
                value_data_type: "Numeric",
                value_units: "Cel",
                value_mime_type: None,
                value: fmt_num(s.celsius),
                binary_value: None,
                expected_value: None,
                expected_value_units: None,
                minimum_acceptable_value: min.map(fmt_num),
                maximum_acceptable_value: max.map(fmt_num),
            });
        }
        out
    }

    /// UnitsRepaired and WorkCompleted, once the job is over.
    fn closing(&self, out: &mut Vec<CfxMessage>) -> Result<()> {
        let job = self.job;
        let (repair, work, unit) = match job.status {
            JobStatus::Approved => ("RepairSuccessful", "Completed", "Pass"),
            JobStatus::Aborted => ("Aborted", "Aborted", "Fail"),
            _ => return Ok(()),
        };
        let end = job.finished.or(job.submitted).unwrap_or(job.started);
        let seq = job.last_event_seq;
        let name = repair_name(self.library, job, self.instruction);
        let comments = self
            .instruction
            .map(|i| i.spec.title.clone())
            .or_else(|| job.abort_reason.clone());
        let mut locations = job.refdes.clone();
        if locations.is_empty() {
            locations.push(String::new());
        }
        let repairs = locations
            .iter()
            .map(|r| Repair {
                unique_identifier: derived_uuid(&[&job.id, "repair", r]),
                repair_name: name.clone(),
                repair_start_time: Some(cfx_time(&job.started)),
                repair_end_time: Some(cfx_time(&end)),
                comments: comments.clone(),
                component_of_interest: ComponentDesignator {
                    reference_designator: r.clone(),
                    unit_position: None,
                    part_number: None,
                },
                region_of_interest: None,
                related_defect_identifiers: if job.defect_ref.is_empty() {
                    Vec::new()
                } else {
                    vec![job.defect_ref.clone()]
                },
                reclassified_defects: Vec::new(),
                related_symptom_identifiers: Vec::new(),
                reclassified_symptoms: Vec::new(),
                result: repair,
                error: None,
            })
            .collect();
        out.push(self.envelope(
            "CFX.Production.ReworkAndRepair.UnitsRepaired",
            seq,
            &end,
            UnitsRepaired {
                type_name: "CFX.Production.ReworkAndRepair.UnitsRepaired, CFX",
                transaction_id: self.transaction.clone(),
                repair_operator: operator(&job.performer, self.names, job),
                repaired_units: vec![RepairedUnit {
                    unit_identifier: &job.board_serial,
                    unit_position_number: None,
                    overall_result: repair,
                    repairs,
                }],
            },
        )?);
        out.push(self.envelope(
            "CFX.Production.WorkCompleted",
            seq,
            &end,
            WorkCompleted {
                type_name: "CFX.Production.WorkCompleted, CFX",
                transaction_id: self.transaction.clone(),
                result: work,
                primary_identifier: &job.board_serial,
                hermes_identifier: None,
                unit_count: 1,
                units: vec![UnitPosition::board(&job.board_serial, unit)],
                performance_impacts: Vec::new(),
            },
        )?);
        Ok(())
    }
}

/// Every CFX message of one job, in order. `samples` reads a step's trace; pass
/// `None` to leave traces out (step peaks are always in).
pub fn job_messages(
    store: &Store,
    library: &Library,
    names: &HashMap<String, String>,
    job: &Job,
    instruction: Option<&Instruction>,
    records: &[StoredOrPlain],
    with_samples: bool,
) -> Result<Vec<CfxMessage>> {
    let m = JobMessages::new(library, job, instruction, names);
    let mut out = Vec::new();
    let mut samples = |step: u32| -> Result<Vec<StoredSample>> {
        if !with_samples {
            return Ok(Vec::new());
        }
        store
            .samples(&job.id, step)
            .map(|s| s.map_err(Into::into))
            .collect()
    };
    for r in records {
        m.for_record(r.record(), &mut samples, &mut out)?;
    }
    m.closing(&mut out)?;
    Ok(out)
}

/// Streams the CFX messages of `scope` to `w` as one JSON array.
pub fn write_cfx<W: Write>(
    store: &Store,
    library: &Library,
    scope: &Scope,
    options: &ExportOptions,
    mut w: W,
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    let head = store.chain_head();
    let names = roster(store)?;
    let mut summary = ExportSummary::default();
    let mut first = true;
    w.write_all(b"[")?;
    for id in scope.job_ids(store)? {
        let id = id?;
        let Some(bundle) = load_job(store, library, &id, head.seq, false)? else {
            continue;
        };
        let messages = job_messages(
            store,
            library,
            &names,
            &bundle.job,
            bundle.instruction,
            &bundle.records,
            options.samples,
        )?;
        for m in &messages {
            w.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            w.write_all(m.json.as_bytes())?;
        }
        summary.events += messages.len() as u64;
        summary.jobs += 1;
        progress(summary.jobs);
    }
    w.write_all(b"\n]\n")?;
    w.flush()?;
    info!(
        jobs = summary.jobs,
        messages = summary.events,
        "CFX export written"
    );
    Ok(summary)
}
