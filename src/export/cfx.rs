//! IPC-2591 (CFX 2.1) messages: one `CFXEnvelope` per message, written as a JSON
//! array (what the CFX SDK's `CFXEnvelope.FromJsonList` reads), one envelope a line.
//!
//! Field names, casing and enum values follow the CFX SDK's message classes, including
//! its `TransactionID` (WorkStarted, WorkCompleted, WorkStage*) against `TransactionId`
//! (the others), and the `$type` names the SDK writes for `MessageBody` and for
//! polymorphic members (measurements, applied materials, process data).
//!
//! Messages come from the records, one record at a time, with the job folded up to
//! and including that record, so the export of a finished job and the messages the
//! bench published live while it ran are the same messages:
//! - job started: `WorkStarted` (the NCR as `WorkOrderIdentifier`) and a
//!   `UnitsInspected` that reports the defect being repaired, one `Defect` per
//!   reference designator (`DefectConfirmed`);
//! - step started: `WorkStageStarted` (the step as the stage);
//! - lot recorded: `MaterialsApplied` (`AppliedMaterial`) for what is applied to the
//!   board (solder, flux, paste, epoxy, coating, solvent, other), `MaterialsInstalled`
//!   for what stays on it as a part (wire, repair circuit frames);
//! - component removed (a step with `component = "remove"`): `MaterialsUninstalled`,
//!   one `UninstalledMaterial` whose `UninstalledComponents` are the designators it
//!   came off, the removed P/N as its `Material` when known; component fitted
//!   (`component = "install"`): `MaterialsInstalled` with the P/N as
//!   `InternalPartNumber`, the lot (or the date code) as `BatchId` and one
//!   `InstalledComponent` per designator, at the step's stage;
//! - checkpoint signed: `UnitsInspected` with the signer as `Inspector`; a failed one
//!   reports the defect found, its later pass marks that defect repaired, and the pass
//!   of the instruction's last checkpoint marks the job's defects repaired;
//! - step redone: `WorkStageCompleted` (Failed) and `WorkStageStarted` again;
//! - step completed: `WorkStageCompleted`, and with temperatures `UnitsProcessed`
//!   (`GenericProcessData`: the window as set points, the step summary as readings)
//!   and `ReadingsRecorded` (each channel's peak; with samples, every reading);
//! - job approved or aborted: `UnitsRepaired` (one repair per designator, pointing at
//!   its defect; an abort's reason as `Error`) and `WorkCompleted`. A submitted or
//!   rejected job is not finished, so it has neither yet;
//! - deviation signed (a step completed outside its window): `UnitsInspected`
//!   reporting it as a confirmed defect, the technician's reason as its comments;
//! - logged in / out (not part of a job): `OperatorActivated` / `OperatorDeactivated`.
//!
//! IDs are derived from the job, the message and the record's seq (SHA-256, shaped as
//! an RFC 9562 version-8 UUID), so exporting twice, or publishing a message again after
//! an outage, gives the same `UniqueID`.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::info;

use crate::domain::event::{ChannelSummary, DeviationKind, Event, Record};
use crate::domain::job::{Job, JobStatus, sample_stream};
use crate::domain::types::{CheckResult, Decision};
use crate::instruction::schema::{CheckpointKind, MaterialKind, NumberSource};
use crate::instruction::{Instruction, Library};
use crate::store::{Store, StoredSample};

use super::{
    ExportOptions, ExportSummary, Progress, Result, Scope, StoredOrPlain, load_job, step_no,
};

pub const CFX_VERSION: &str = "2.1";

/// The vendor and model parts of the default handle: `org.traveler.{bench}`.
pub const HANDLE_PREFIX: &str = "org.traveler";

/// The CFX handle (vendor.model.serial) a bench speaks as unless configured.
pub fn default_handle(bench: &str) -> String {
    format!("{HANDLE_PREFIX}.{bench}")
}

// ------------------------------------------------------------------ structures
//
// Each struct mirrors one SDK class, members in the SDK's order (the file named above
// each), so that the SDK's serialiser writes the same JSON back.

/// CFX/CFXEnvelope.cs
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

/// CFX/Structures/Operator.cs
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Operator {
    pub operator_identifier: String,
    pub actor_type: &'static str,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub login_name: Option<String>,
}

/// CFX/Structures/UnitPosition.cs
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

/// CFX/Production/WorkStarted.cs
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
    /// The NCR the job works off (the order that sent the board to the bench).
    #[serde(rename = "WorkOrderIdentifier")]
    work_order_identifier: Option<&'a str>,
}

/// CFX/Production/WorkCompleted.cs
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

/// CFX/Structures/Stage.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Stage {
    stage_sequence: i32,
    stage_name: String,
    stage_type: &'static str,
}

/// CFX/Production/WorkStageStarted.cs
#[derive(Serialize)]
struct WorkStageStarted {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(rename = "TransactionID")]
    transaction_id: String,
    #[serde(rename = "Stage")]
    stage: Stage,
}

/// CFX/Production/WorkStageCompleted.cs
#[derive(Serialize)]
struct WorkStageCompleted {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(rename = "TransactionID")]
    transaction_id: String,
    #[serde(rename = "Stage")]
    stage: Stage,
    /// CFX/Structures/WorkResult.cs
    #[serde(rename = "Result")]
    result: &'static str,
    #[serde(rename = "PerformanceImpacts")]
    performance_impacts: Vec<()>,
}

/// CFX/Production/Application/MaterialsApplied.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MaterialsApplied {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    applied_materials: Vec<AppliedMaterial>,
}

/// CFX/Production/Assembly/MaterialsInstalled.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MaterialsInstalled {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    installed_materials: Vec<InstalledMaterial>,
}

/// CFX/Structures/InstalledMaterial.cs. The quantities are plain numbers in the SDK;
/// traveler does not know them (a lot scan says which package, not how much of it),
/// so they are left out rather than written as 0 ("nothing installed, package empty").
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstalledMaterial {
    unit_identifier: String,
    unit_position_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity_installed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity_non_installed: Option<f64>,
    material: MaterialPackage,
    carrier_location: Option<()>,
    installed_components: Vec<InstalledComponent>,
    non_installed_components: Vec<()>,
    reference_part_number: Option<String>,
}

/// CFX/Structures/AppliedMaterial.cs: InstalledMaterial's members, then
/// `QuantityApplied` (JsonProperty Order = 1), with its `$type` because the message's
/// list is of the base class.
#[derive(Serialize)]
struct AppliedMaterial {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(flatten)]
    base: InstalledMaterial,
    #[serde(rename = "QuantityApplied")]
    quantity_applied: Option<NumericValue>,
}

/// CFX/Production/Assembly/MaterialsUninstalled.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MaterialsUninstalled {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    uninstalled_materials: Vec<UninstalledMaterial>,
}

/// CFX/Structures/UninstalledMaterial.cs; `Reason` is CFX/Structures/UninstalledReason.cs.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UninstalledMaterial {
    unit_identifier: String,
    unit_position_number: Option<i32>,
    /// One part per designator it came off.
    quantity_uninstalled: f64,
    reason: &'static str,
    /// The removed part's package "if known": only its P/N ever is.
    material: Option<MaterialPackage>,
    uninstalled_components: Vec<InstalledComponent>,
}

/// CFX/Structures/InstalledComponent.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstalledComponent {
    reference_designator: String,
    installed_unit_identifier: Option<String>,
    installation_time: Option<String>,
    stage: Option<Stage>,
    electrical_test: Option<()>,
    tests: Option<()>,
}

/// CFX/Structures/MaterialPackage.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MaterialPackage {
    unique_identifier: Option<String>,
    /// The GTIN when the scan carried one; never the instruction's own material id.
    internal_part_number: Option<String>,
    internal_package_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<f64>,
    leading_material_package: Option<()>,
    batch_id: Option<String>,
    batch_material_package: Option<()>,
    grey_zone: f64,
}

/// CFX/Production/ReadingsRecorded.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReadingsRecorded {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    readings: Vec<Reading>,
}

/// CFX/Structures/ComponentDesignator.cs
#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct ComponentDesignator {
    reference_designator: String,
    unit_position: Option<()>,
    part_number: Option<String>,
}

impl ComponentDesignator {
    fn at(refdes: &str) -> Self {
        ComponentDesignator {
            reference_designator: refdes.to_string(),
            unit_position: None,
            part_number: None,
        }
    }
}

/// CFX/Structures/Reading.cs
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

/// CFX/Production/Processing/UnitsProcessed.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UnitsProcessed {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    /// CFX/Structures/ProcessingResult.cs
    overall_result: &'static str,
    common_process_data: Option<()>,
    unit_process_data: Vec<ProcessedUnit>,
}

/// CFX/Structures/ProcessedUnit.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessedUnit {
    unit_identifier: String,
    unit_position_number: Option<i32>,
    unit_result: &'static str,
    unit_process_data: GenericProcessData,
}

/// CFX/Structures/Generic/GenericProcessData.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenericProcessData {
    #[serde(rename = "$type")]
    type_name: &'static str,
    setpoints: Vec<GenericValue>,
    readings: Vec<GenericValue>,
    parameters: Vec<()>,
    stage_data: Vec<()>,
}

/// CFX/Structures/Generic/GenericValue.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenericValue {
    name: String,
    value: NumericValue,
}

/// CFX/Production/TestAndInspection/UnitsInspected.cs
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

/// CFX/Structures/InspectedUnit.cs
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

/// CFX/Structures/Inspection.cs
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
    /// CFX/Structures/VerificationResult.cs
    verification: &'static str,
    verification_detail: Option<()>,
    error: Option<()>,
    defects_found: Vec<Defect>,
    symptoms: Option<()>,
    measurements: Vec<NumericMeasurement>,
    /// "Unique number of the inspection object": a checkpoint's index repeats from
    /// job to job, and traveler has no inspection objects, so it stays null.
    ref_no: Option<i32>,
}

/// CFX/Structures/Defect.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Defect {
    unique_identifier: String,
    defect_code: String,
    defect_category: Option<String>,
    description: String,
    comments: Option<String>,
    component_of_interest: Option<ComponentDesignator>,
    region_of_interest: Option<()>,
    defect_images: Option<()>,
    priority: Option<i32>,
    confidence_level: Option<f64>,
    related_measurements: Option<()>,
    related_symptoms: Option<()>,
    /// CFX/Structures/VerificationResult.cs
    verification: &'static str,
    verification_detail: Option<String>,
}

/// CFX/Structures/NumericMeasurement.cs
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

/// CFX/Structures/NumericValue.cs
#[derive(Serialize, Default)]
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

impl NumericValue {
    fn of(value: f64, units: &str) -> Self {
        NumericValue {
            value,
            value_units: units.to_string(),
            ..NumericValue::default()
        }
    }

    fn within(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.minimum_acceptable_value = min;
        self.minimum_acceptable_value_units = min.map(|_| self.value_units.clone());
        self.maximum_acceptable_value = max;
        self.maximum_acceptable_value_units = max.map(|_| self.value_units.clone());
        self
    }
}

/// CFX/Production/ReworkAndRepair/UnitsRepaired.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UnitsRepaired<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    transaction_id: String,
    repair_operator: Operator,
    repaired_units: Vec<RepairedUnit<'a>>,
}

/// CFX/Structures/RepairedUnit.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RepairedUnit<'a> {
    unit_identifier: &'a str,
    unit_position_number: Option<i32>,
    overall_result: &'static str,
    repairs: Vec<Repair>,
}

/// CFX/Structures/Repair.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Repair {
    unique_identifier: String,
    repair_name: String,
    repair_start_time: Option<String>,
    repair_end_time: Option<String>,
    /// "Optional comments from the person who performed this repair".
    comments: Option<String>,
    component_of_interest: Option<ComponentDesignator>,
    region_of_interest: Option<()>,
    related_defect_identifiers: Vec<String>,
    reclassified_defects: Vec<()>,
    related_symptom_identifiers: Vec<String>,
    reclassified_symptoms: Vec<()>,
    /// CFX/Structures/RepairResult.cs
    result: &'static str,
    /// "In the case that the repair cannot be completed, the error that was the cause".
    error: Option<String>,
}

/// CFX/Production/OperatorActivated.cs, CFX/Production/OperatorDeactivated.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperatorChanged {
    #[serde(rename = "$type")]
    type_name: &'static str,
    operator: Operator,
}

/// CFX/EndpointConnected.cs
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointConnected<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(rename = "CFXHandle")]
    cfx_handle: &'a str,
    request_network_uri: Option<&'a str>,
    request_target_address: Option<&'a str>,
}

/// CFX/Heartbeat.cs (a TimeSpan is written "hh:mm:ss").
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Heartbeat<'a> {
    #[serde(rename = "$type")]
    type_name: &'static str,
    #[serde(rename = "CFXHandle")]
    cfx_handle: &'a str,
    heartbeat_frequency: String,
    active_faults: Option<()>,
    active_recipes: Option<()>,
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

fn operator(badge: &str, names: &HashMap<String, String>, job: Option<&Job>) -> Operator {
    let name = names.get(badge).cloned().or_else(|| {
        let job = job?;
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
        ("coating", MaterialKind::Coating),
        ("frame", MaterialKind::RepairCircuitFrame),
        ("wire", MaterialKind::Wire),
    ]
    .into_iter()
    .find(|(k, _)| lower.contains(k))
    .map(|(_, kind)| kind)
}

/// Wire and repair circuit frames stay on the board as parts of it: installed.
/// Everything else a lot is scanned for is applied (or used up) on it.
fn is_installed(kind: Option<MaterialKind>) -> bool {
    matches!(
        kind,
        Some(MaterialKind::Wire | MaterialKind::RepairCircuitFrame)
    )
}

fn components(job: &Job) -> Vec<ComponentDesignator> {
    job.refdes
        .iter()
        .map(|r| ComponentDesignator::at(r))
        .collect()
}

fn fmt_num(v: f64) -> String {
    v.to_string()
}

/// One message, serialised in the SDK's field order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfxMessage {
    pub name: &'static str,
    /// `UniqueID` of the envelope (also the AMQP message-id).
    pub unique_id: String,
    /// Its `TimeStamp` (also the AMQP creation-time).
    pub time: DateTime<Utc>,
    /// The whole `CFXEnvelope` as compact JSON.
    pub json: String,
}

impl CfxMessage {
    /// The namespace of the message's class: the AMQP `cfx-topic`.
    pub fn topic(&self) -> &'static str {
        self.name.rsplit_once('.').map_or(self.name, |(ns, _)| ns)
    }
}

fn envelope<B: Serialize>(
    source: &str,
    name: &'static str,
    unique_id: String,
    time: &DateTime<Utc>,
    body: B,
) -> Result<CfxMessage> {
    let json = serde_json::to_string(&Envelope {
        message_name: name,
        version: CFX_VERSION,
        time_stamp: cfx_time(time),
        unique_id: unique_id.clone(),
        source: source.to_string(),
        target: None,
        request_id: None,
        message_body: body,
    })?;
    Ok(CfxMessage {
        name,
        unique_id,
        time: *time,
        json,
    })
}

/// `EndpointConnected`, sent each time the bench connects to the broker.
pub fn endpoint_connected(
    handle: &str,
    time: &DateTime<Utc>,
    unique_id: String,
) -> Result<CfxMessage> {
    envelope(
        handle,
        "CFX.EndpointConnected",
        unique_id,
        time,
        EndpointConnected {
            type_name: "CFX.EndpointConnected, CFX",
            cfx_handle: handle,
            // The bench answers no requests.
            request_network_uri: None,
            request_target_address: None,
        },
    )
}

/// `Heartbeat`, sent every `every` while connected.
pub fn heartbeat(
    handle: &str,
    time: &DateTime<Utc>,
    unique_id: String,
    every: std::time::Duration,
) -> Result<CfxMessage> {
    let s = every.as_secs();
    envelope(
        handle,
        "CFX.Heartbeat",
        unique_id,
        time,
        Heartbeat {
            type_name: "CFX.Heartbeat, CFX",
            cfx_handle: handle,
            heartbeat_frequency: format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
            active_faults: None,
            active_recipes: None,
        },
    )
}

/// The messages of records outside any job (log-in and log-out), in order.
pub fn person_messages(
    handle: &str,
    names: &HashMap<String, String>,
    rec: &Record,
) -> Result<Vec<CfxMessage>> {
    let (name, type_name, badge) = match &rec.event {
        Event::LoggedIn { badge, .. } => (
            "CFX.Production.OperatorActivated",
            "CFX.Production.OperatorActivated, CFX",
            badge,
        ),
        Event::LoggedOut { badge, .. } => (
            "CFX.Production.OperatorDeactivated",
            "CFX.Production.OperatorDeactivated, CFX",
            badge,
        ),
        _ => return Ok(Vec::new()),
    };
    let id = derived_uuid(&[handle, name, &rec.seq.to_string()]);
    Ok(vec![envelope(
        handle,
        name,
        id,
        &rec.time,
        OperatorChanged {
            type_name,
            operator: operator(badge, names, None),
        },
    )?])
}

/// Everything the messages of one job need apart from the job itself.
pub struct JobMessages<'a> {
    library: &'a Library,
    instruction: Option<&'a Instruction>,
    names: &'a HashMap<String, String>,
    source: String,
}

impl<'a> JobMessages<'a> {
    /// `handle` is the bench's CFX handle, the envelopes' `Source`.
    pub fn new(
        library: &'a Library,
        instruction: Option<&'a Instruction>,
        names: &'a HashMap<String, String>,
        handle: &str,
    ) -> Self {
        JobMessages {
            library,
            instruction,
            names,
            source: handle.to_string(),
        }
    }

    fn envelope<B: Serialize>(
        &self,
        job: &Job,
        name: &'static str,
        seq: u64,
        time: &DateTime<Utc>,
        body: B,
    ) -> Result<CfxMessage> {
        let id = derived_uuid(&[&job.id, name, &seq.to_string()]);
        envelope(&self.source, name, id, time, body)
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

    /// The instruction's last checkpoint (step, checkpoint): its pass is the final
    /// inspection of the repair.
    fn final_checkpoint(&self) -> Option<(u32, u32)> {
        let steps = &self.instruction?.spec.steps;
        steps.iter().enumerate().rev().find_map(|(i, s)| {
            (!s.checkpoints.is_empty()).then(|| (i as u32, s.checkpoints.len() as u32 - 1))
        })
    }

    fn stage(&self, step: u32) -> Stage {
        let text = self
            .instruction
            .and_then(|i| i.spec.steps.get(step as usize))
            .map(|s| format!(": {}", s.text))
            .unwrap_or_default();
        Stage {
            stage_sequence: i32::try_from(step_no(step)).unwrap_or(i32::MAX),
            stage_name: format!("Step {}{text}", step_no(step)),
            stage_type: "Work",
        }
    }

    /// The defects the job repairs: its NCR, one per reference designator.
    fn job_defects(&self, job: &Job, verification: &'static str) -> Vec<Defect> {
        let locations: Vec<Option<&str>> = if job.refdes.is_empty() {
            vec![None]
        } else {
            job.refdes.iter().map(|r| Some(r.as_str())).collect()
        };
        locations
            .into_iter()
            .map(|r| Defect {
                unique_identifier: job_defect_id(job, r),
                defect_code: job.defect_ref.clone(),
                defect_category: None,
                description: format!(
                    "Nonconformance {} on {} of {} rev {}",
                    job.defect_ref,
                    r.unwrap_or("the board"),
                    job.assembly_part,
                    job.assembly_rev
                ),
                comments: None,
                component_of_interest: r.map(ComponentDesignator::at),
                region_of_interest: None,
                defect_images: None,
                priority: None,
                confidence_level: None,
                related_measurements: None,
                related_symptoms: None,
                verification,
                verification_detail: None,
            })
            .collect()
    }

    fn inspected<'j>(
        &self,
        job: &'j Job,
        inspector: &str,
        result: &'static str,
        inspection: Inspection,
    ) -> UnitsInspected<'j> {
        UnitsInspected {
            type_name: "CFX.Production.TestAndInspection.UnitsInspected, CFX",
            transaction_id: transaction(job),
            inspection_method: "Human",
            sampling_information: None,
            inspector: operator(inspector, self.names, Some(job)),
            recipe_name: &job.instruction_id,
            recipe_revision: &job.instruction_rev,
            inspected_units: vec![InspectedUnit {
                unit_identifier: &job.board_serial,
                unit_position_number: None,
                overall_result: result,
                inspections: vec![inspection],
                verification: "NotVerifiedYet",
                total_inspection_count: Some(1),
            }],
            inspected_panel: None,
        }
    }

    /// The messages for one record of `job`, which is folded up to and including it.
    pub fn for_record(
        &self,
        job: &Job,
        rec: &Record,
        samples: &mut dyn FnMut(u32) -> Result<Vec<StoredSample>>,
        out: &mut Vec<CfxMessage>,
    ) -> Result<()> {
        let serial = job.board_serial.as_str();
        let txn = transaction(job);
        match &rec.event {
            Event::JobStarted { .. } => {
                out.push(self.envelope(
                    job,
                    "CFX.Production.WorkStarted",
                    rec.seq,
                    &rec.time,
                    WorkStarted {
                        type_name: "CFX.Production.WorkStarted, CFX",
                        primary_identifier: serial,
                        hermes_identifier: None,
                        transaction_id: txn,
                        lane: None,
                        unit_count: 1,
                        units: vec![UnitPosition::board(serial, "Pass")],
                        recipe_name: &job.instruction_id,
                        revision: &job.instruction_rev,
                        relevant_surface: "Unspecified",
                        work_order_identifier:
                            (!job.defect_ref.is_empty()).then_some(job.defect_ref.as_str()),
                    },
                )?);
                // The defect the board came to the bench with, so the repair can point
                // at a defect some message reported.
                let time = cfx_time(&rec.time);
                let inspection = Inspection {
                    unique_identifier: derived_uuid(&[&job.id, "inspection", &rec.seq.to_string()]),
                    inspection_name: format!("Defect to repair: {}", job.defect_ref),
                    inspection_start_time: Some(time.clone()),
                    inspection_end_time: Some(time),
                    test_procedure: None,
                    comments: None,
                    result: "Failed",
                    verification: "DefectConfirmed",
                    verification_detail: None,
                    error: None,
                    defects_found: self.job_defects(job, "DefectConfirmed"),
                    symptoms: None,
                    measurements: Vec::new(),
                    ref_no: None,
                };
                out.push(self.envelope(
                    job,
                    "CFX.Production.TestAndInspection.UnitsInspected",
                    rec.seq,
                    &rec.time,
                    self.inspected(job, &job.performer, "Failed", inspection),
                )?);
            }
            Event::StepStarted { step, .. } => out.push(self.envelope(
                job,
                "CFX.Production.WorkStageStarted",
                rec.seq,
                &rec.time,
                WorkStageStarted {
                    type_name: "CFX.Production.WorkStageStarted, CFX",
                    transaction_id: txn,
                    stage: self.stage(*step),
                },
            )?),
            Event::StepRedone { step, .. } => {
                out.push(self.envelope(
                    job,
                    "CFX.Production.WorkStageCompleted",
                    rec.seq,
                    &rec.time,
                    WorkStageCompleted {
                        type_name: "CFX.Production.WorkStageCompleted, CFX",
                        transaction_id: txn.clone(),
                        stage: self.stage(*step),
                        result: "Failed",
                        performance_impacts: Vec::new(),
                    },
                )?);
                out.push(self.envelope(
                    job,
                    "CFX.Production.WorkStageStarted",
                    rec.seq,
                    &rec.time,
                    WorkStageStarted {
                        type_name: "CFX.Production.WorkStageStarted, CFX",
                        transaction_id: txn,
                        stage: self.stage(*step),
                    },
                )?);
            }
            Event::LotRecorded {
                material,
                lot,
                gtin,
                ..
            } => {
                let kind = material_kind(self.instruction, material);
                let name = self.instruction.and_then(|i| {
                    i.spec
                        .materials
                        .iter()
                        .find(|m| m.id.get_ref() == material)
                        .map(|m| m.name.clone())
                });
                let installed = InstalledMaterial {
                    unit_identifier: serial.to_string(),
                    unit_position_number: None,
                    quantity_installed: None,
                    quantity_non_installed: None,
                    material: MaterialPackage {
                        unique_identifier: Some(lot.clone()),
                        internal_part_number: gtin.clone(),
                        internal_package_name: name,
                        quantity: None,
                        leading_material_package: None,
                        batch_id: Some(lot.clone()),
                        batch_material_package: None,
                        grey_zone: 0.0,
                    },
                    carrier_location: None,
                    installed_components: Vec::new(),
                    non_installed_components: Vec::new(),
                    reference_part_number: None,
                };
                if is_installed(kind) {
                    out.push(self.envelope(
                        job,
                        "CFX.Production.Assembly.MaterialsInstalled",
                        rec.seq,
                        &rec.time,
                        MaterialsInstalled {
                            type_name: "CFX.Production.Assembly.MaterialsInstalled, CFX",
                            transaction_id: txn,
                            installed_materials: vec![installed],
                        },
                    )?);
                } else {
                    out.push(self.envelope(
                        job,
                        "CFX.Production.Application.MaterialsApplied",
                        rec.seq,
                        &rec.time,
                        MaterialsApplied {
                            type_name: "CFX.Production.Application.MaterialsApplied, CFX",
                            transaction_id: txn,
                            applied_materials: vec![AppliedMaterial {
                                type_name: "CFX.Structures.AppliedMaterial, CFX",
                                base: installed,
                                // A lot scan says which package, not how much of it.
                                quantity_applied: None,
                            }],
                        },
                    )?);
                }
            }
            Event::StepCompleted {
                step,
                temperature,
                attempt,
                ..
            } => {
                out.push(self.envelope(
                    job,
                    "CFX.Production.WorkStageCompleted",
                    rec.seq,
                    &rec.time,
                    WorkStageCompleted {
                        type_name: "CFX.Production.WorkStageCompleted, CFX",
                        transaction_id: txn.clone(),
                        stage: self.stage(*step),
                        result: "Completed",
                        performance_impacts: Vec::new(),
                    },
                )?);
                if temperature.is_empty() {
                    return Ok(());
                }
                out.push(self.envelope(
                    job,
                    "CFX.Production.Processing.UnitsProcessed",
                    rec.seq,
                    &rec.time,
                    processed(job, txn.clone(), temperature),
                )?);
                let trace = samples(sample_stream(*step, *attempt))?;
                let readings = self.readings(job, *step, &rec.time, temperature, trace);
                out.push(self.envelope(
                    job,
                    "CFX.Production.ReadingsRecorded",
                    rec.seq,
                    &rec.time,
                    ReadingsRecorded {
                        type_name: "CFX.Production.ReadingsRecorded, CFX",
                        transaction_id: txn,
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
                out.push(self.envelope(
                    job,
                    "CFX.Production.TestAndInspection.UnitsInspected",
                    rec.seq,
                    &rec.time,
                    self.checkpoint_inspected(
                        job,
                        rec,
                        (*step, *checkpoint),
                        signer,
                        *result,
                        measurement.as_ref(),
                        comment.as_ref(),
                    ),
                )?);
            }
            Event::Deviated {
                step,
                attempt,
                kind,
                reason,
                by,
                by_name,
                ..
            } => {
                let inspection =
                    self.deviation(job, rec, (*step, *attempt), *kind, reason, by, by_name);
                out.push(self.envelope(
                    job,
                    "CFX.Production.TestAndInspection.UnitsInspected",
                    rec.seq,
                    &rec.time,
                    self.inspected(job, by, "Failed", inspection),
                )?);
            }
            Event::ComponentRemoved {
                step,
                refdes,
                part_number,
                ..
            } => out.push(self.envelope(
                job,
                "CFX.Production.Assembly.MaterialsUninstalled",
                rec.seq,
                &rec.time,
                MaterialsUninstalled {
                    type_name: "CFX.Production.Assembly.MaterialsUninstalled, CFX",
                    transaction_id: txn,
                    uninstalled_materials: vec![UninstalledMaterial {
                        unit_identifier: serial.to_string(),
                        unit_position_number: None,
                        quantity_uninstalled: refdes.len() as f64,
                        // The record says what came off, not why the part failed:
                        // the NCR's defect (reported when the job started) does.
                        reason: "Other",
                        material: part_number.as_ref().map(|pn| MaterialPackage {
                            unique_identifier: None,
                            internal_part_number: Some(pn.clone()),
                            internal_package_name: None,
                            quantity: None,
                            leading_material_package: None,
                            batch_id: None,
                            batch_material_package: None,
                            grey_zone: 0.0,
                        }),
                        uninstalled_components: refdes
                            .iter()
                            .map(|r| InstalledComponent {
                                reference_designator: r.clone(),
                                installed_unit_identifier: None,
                                // When the removed part was fitted is not known.
                                installation_time: None,
                                stage: Some(self.stage(*step)),
                                electrical_test: None,
                                tests: None,
                            })
                            .collect(),
                    }],
                },
            )?),
            Event::ComponentInstalled {
                step,
                refdes,
                part_number,
                lot,
                date_code,
                ..
            } => {
                // The lot is the package's batch; a reel with a date code only
                // names its batch by that.
                let batch = lot.clone().or_else(|| date_code.clone());
                out.push(self.envelope(
                    job,
                    "CFX.Production.Assembly.MaterialsInstalled",
                    rec.seq,
                    &rec.time,
                    MaterialsInstalled {
                        type_name: "CFX.Production.Assembly.MaterialsInstalled, CFX",
                        transaction_id: txn,
                        installed_materials: vec![InstalledMaterial {
                            unit_identifier: serial.to_string(),
                            unit_position_number: None,
                            // One part per designator: known, unlike a lot's quantity.
                            quantity_installed: Some(refdes.len() as f64),
                            quantity_non_installed: None,
                            material: MaterialPackage {
                                unique_identifier: batch.clone(),
                                internal_part_number: Some(part_number.clone()),
                                internal_package_name: None,
                                quantity: None,
                                leading_material_package: None,
                                batch_id: batch,
                                batch_material_package: None,
                                grey_zone: 0.0,
                            },
                            carrier_location: None,
                            installed_components: refdes
                                .iter()
                                .map(|r| InstalledComponent {
                                    reference_designator: r.clone(),
                                    installed_unit_identifier: None,
                                    installation_time: Some(cfx_time(&rec.time)),
                                    stage: Some(self.stage(*step)),
                                    electrical_test: None,
                                    tests: None,
                                })
                                .collect(),
                            non_installed_components: Vec::new(),
                            reference_part_number: None,
                        }],
                    },
                )?);
            }
            Event::JobReviewed {
                decision: Decision::Approved,
                ..
            }
            | Event::JobAborted { .. } => self.closing(job, rec, out)?,
            _ => {}
        }
        Ok(())
    }

    /// A step completed outside its window, signed by the technician with a reason:
    /// reported as what a person saw and confirmed, so a consumer of the stream flags
    /// it as the record does.
    #[allow(clippy::too_many_arguments)]
    fn deviation(
        &self,
        job: &Job,
        rec: &Record,
        (step, attempt): (u32, u32),
        kind: DeviationKind,
        reason: &str,
        by: &str,
        by_name: &str,
    ) -> Inspection {
        let time = cfx_time(&rec.time);
        let name = format!(
            "Step {} attempt {} deviation: {kind}",
            step_no(step),
            attempt.max(1)
        );
        let code = match kind {
            DeviationKind::WindowNeverReached => "deviation: window never reached",
            DeviationKind::LeftOutsideWindow => "deviation: left outside the window",
        };
        Inspection {
            unique_identifier: derived_uuid(&[&job.id, "inspection", &rec.seq.to_string()]),
            inspection_name: name.clone(),
            inspection_start_time: Some(time.clone()),
            inspection_end_time: Some(time),
            test_procedure: None,
            comments: Some(reason.to_string()),
            result: "Failed",
            verification: "DefectConfirmed",
            verification_detail: None,
            error: None,
            defects_found: vec![Defect {
                unique_identifier: derived_uuid(&[&job.id, "deviation", &rec.seq.to_string()]),
                defect_code: code.to_string(),
                defect_category: None,
                description: name,
                comments: Some(reason.to_string()),
                component_of_interest: match job.refdes.as_slice() {
                    [one] => Some(ComponentDesignator::at(one)),
                    _ => None,
                },
                region_of_interest: None,
                defect_images: None,
                priority: None,
                confidence_level: None,
                related_measurements: None,
                related_symptoms: None,
                verification: "DefectConfirmed",
                verification_detail: Some(format!("signed by {by_name} ({by})")),
            }],
            symptoms: None,
            measurements: Vec::new(),
            ref_no: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn checkpoint_inspected<'j>(
        &self,
        job: &'j Job,
        rec: &Record,
        (step, checkpoint): (u32, u32),
        signer: &str,
        result: CheckResult,
        measurement: Option<&crate::domain::event::Measurement>,
        comment: Option<&String>,
    ) -> UnitsInspected<'j> {
        let spec = self.checkpoint(step, checkpoint);
        let name = format!(
            "Step {} checkpoint {}{}",
            step_no(step),
            step_no(checkpoint),
            spec.map(|c| format!(": {}", c.text)).unwrap_or_default()
        );
        let time = cfx_time(&rec.time);
        let crds = (!job.refdes.is_empty()).then(|| job.refdes.join(","));
        let measurements = match measurement {
            Some(m) if spec.is_none_or(|c| *c.kind.get_ref() == CheckpointKind::Measurement) => {
                let u = units(&m.unit);
                let min = spec.and_then(|c| c.min.as_ref().map(|v| *v.get_ref()));
                let max = spec.and_then(|c| c.max);
                vec![NumericMeasurement {
                    type_name: "CFX.Structures.NumericMeasurement, CFX",
                    measured_value: NumericValue::of(m.value, &u).within(min, max),
                    unique_identifier: derived_uuid(&[
                        &job.id,
                        "measurement",
                        &rec.seq.to_string(),
                    ]),
                    measurement_name: name.clone(),
                    time_recorded: Some(time.clone()),
                    sequence: 1,
                    result: test_result(result),
                    crds: crds.clone(),
                }]
            }
            _ => Vec::new(),
        };
        // Signatures of this checkpoint so far, this one last: a failure reports a
        // defect, the next pass of the same checkpoint reports it repaired.
        let earlier: Vec<_> = job
            .history
            .iter()
            .filter(|s| s.step == step && s.checkpoint == checkpoint)
            .collect();
        let previous = earlier
            .len()
            .checked_sub(2)
            .and_then(|i| earlier.get(i))
            .filter(|s| s.result.is_failure());
        let mut defects = Vec::new();
        let found = |at: &DateTime<Utc>, verification, detail: Option<String>| Defect {
            unique_identifier: derived_uuid(&[
                &job.id,
                "defect found",
                &step.to_string(),
                &checkpoint.to_string(),
                &cfx_time(at),
            ]),
            defect_code: spec.map(|c| c.acceptance.clone()).unwrap_or_else(|| {
                format!("step {} checkpoint {}", step_no(step), step_no(checkpoint))
            }),
            defect_category: None,
            description: format!("Failed: {name}"),
            comments: None,
            component_of_interest: match job.refdes.as_slice() {
                [one] => Some(ComponentDesignator::at(one)),
                _ => None,
            },
            region_of_interest: None,
            defect_images: None,
            priority: None,
            confidence_level: None,
            related_measurements: None,
            related_symptoms: None,
            verification,
            verification_detail: detail,
        };
        if result.is_failure() {
            let mut d = found(&rec.time, "DefectConfirmed", None);
            d.comments = comment.cloned();
            defects.push(d);
        } else if let Some(p) = previous {
            defects.push(found(
                &p.time,
                "DefectRepaired",
                Some("the step was done again and this checkpoint passed".into()),
            ));
        }
        let is_final = !result.is_failure() && self.final_checkpoint() == Some((step, checkpoint));
        if is_final {
            defects.extend(self.job_defects(job, "DefectRepaired"));
        }
        let inspection = Inspection {
            unique_identifier: derived_uuid(&[&job.id, "inspection", &rec.seq.to_string()]),
            inspection_name: name,
            inspection_start_time: Some(time.clone()),
            inspection_end_time: Some(time),
            test_procedure: spec.map(|c| c.acceptance.clone()),
            comments: comment.cloned(),
            result: test_result(result),
            verification: if result.is_failure() {
                "DefectConfirmed"
            } else if defects.is_empty() {
                "NotVerifiedYet"
            } else {
                "DefectRepaired"
            },
            verification_detail: None,
            error: None,
            defects_found: defects,
            symptoms: None,
            measurements,
            ref_no: None,
        };
        self.inspected(job, signer, test_result(result), inspection)
    }

    fn readings(
        &self,
        job: &Job,
        step: u32,
        time: &DateTime<Utc>,
        temperature: &[ChannelSummary],
        samples: Vec<StoredSample>,
    ) -> Vec<Reading> {
        let mut out = Vec::new();
        for c in temperature {
            out.push(Reading {
                reading_identifier: format!("step {} {} peak", step_no(step), c.channel),
                time_recorded: cfx_time(time),
                reading_sequence: out.len() as i64 + 1,
                result: if within(c) { "Passed" } else { "Failed" },
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
            let ok = min.is_none_or(|m| s.celsius >= m) && max.is_none_or(|m| s.celsius <= m);
            out.push(Reading {
                reading_identifier: format!("step {} {}", step_no(step), s.channel),
                time_recorded: cfx_time(&s.time),
                reading_sequence: out.len() as i64 + 1,
                result: if ok { "Passed" } else { "Failed" },
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

    /// UnitsRepaired and WorkCompleted, at the record that finishes the job.
    fn closing(&self, job: &Job, rec: &Record, out: &mut Vec<CfxMessage>) -> Result<()> {
        let (repair, work, unit) = match job.status {
            JobStatus::Approved => ("RepairSuccessful", "Completed", "Pass"),
            JobStatus::Aborted => ("Aborted", "Aborted", "Fail"),
            _ => return Ok(()),
        };
        let end = job.finished.unwrap_or(rec.time);
        let name = repair_name(self.library, job, self.instruction);
        // The abort's reason is why the repair could not be completed.
        let error = (job.status == JobStatus::Aborted).then(|| {
            job.abort_reason
                .clone()
                .unwrap_or_else(|| "aborted (no reason recorded)".into())
        });
        let locations: Vec<Option<&str>> = if job.refdes.is_empty() {
            vec![None]
        } else {
            job.refdes.iter().map(|r| Some(r.as_str())).collect()
        };
        let repairs = locations
            .into_iter()
            .map(|r| Repair {
                unique_identifier: derived_uuid(&[&job.id, "repair", r.unwrap_or("")]),
                repair_name: name.clone(),
                repair_start_time: Some(cfx_time(&job.started)),
                repair_end_time: Some(cfx_time(&end)),
                comments: error.clone(),
                component_of_interest: r.map(ComponentDesignator::at),
                region_of_interest: None,
                related_defect_identifiers: vec![job_defect_id(job, r)],
                reclassified_defects: Vec::new(),
                related_symptom_identifiers: Vec::new(),
                reclassified_symptoms: Vec::new(),
                result: repair,
                error: error.clone(),
            })
            .collect();
        out.push(self.envelope(
            job,
            "CFX.Production.ReworkAndRepair.UnitsRepaired",
            rec.seq,
            &end,
            UnitsRepaired {
                type_name: "CFX.Production.ReworkAndRepair.UnitsRepaired, CFX",
                transaction_id: transaction(job),
                repair_operator: operator(&job.performer, self.names, Some(job)),
                repaired_units: vec![RepairedUnit {
                    unit_identifier: &job.board_serial,
                    unit_position_number: None,
                    overall_result: repair,
                    repairs,
                }],
            },
        )?);
        out.push(self.envelope(
            job,
            "CFX.Production.WorkCompleted",
            rec.seq,
            &end,
            WorkCompleted {
                type_name: "CFX.Production.WorkCompleted, CFX",
                transaction_id: transaction(job),
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

fn transaction(job: &Job) -> String {
    derived_uuid(&["transaction", &job.id])
}

/// The defect a job repairs at one designator (or on the board as a whole).
fn job_defect_id(job: &Job, refdes: Option<&str>) -> String {
    derived_uuid(&[&job.id, "defect", &job.defect_ref, refdes.unwrap_or("")])
}

/// A channel stayed inside its window the whole step.
fn within(c: &ChannelSummary) -> bool {
    c.excursions == 0
        && c.window_min_c.is_none_or(|m| c.peak_c >= m)
        && c.window_max_c.is_none_or(|m| c.peak_c <= m)
}

/// A step's thermal data: the window as set points, the summary as readings.
fn processed(job: &Job, txn: String, temperature: &[ChannelSummary]) -> UnitsProcessed {
    let mut setpoints = Vec::new();
    let mut readings = Vec::new();
    for c in temperature {
        let ch = &c.channel;
        if let Some(min) = c.window_min_c {
            setpoints.push(GenericValue {
                name: format!("{ch} window minimum"),
                value: NumericValue::of(min, "Cel"),
            });
        }
        if let Some(max) = c.window_max_c {
            setpoints.push(GenericValue {
                name: format!("{ch} window maximum"),
                value: NumericValue::of(max, "Cel"),
            });
        }
        let value = |name: &str, v: f64, u: &str| GenericValue {
            name: format!("{ch} {name}"),
            value: NumericValue::of(v, u),
        };
        readings.push(GenericValue {
            name: format!("{ch} peak"),
            value: NumericValue::of(c.peak_c, "Cel").within(c.window_min_c, c.window_max_c),
        });
        readings.push(value("minimum", c.min_c, "Cel"));
        readings.push(value("maximum", c.max_c, "Cel"));
        readings.push(value("mean", c.mean_c, "Cel"));
        readings.push(value("time above liquidus", c.above_liquidus_s, "s"));
        readings.push(value("samples", c.count as f64, "1"));
        readings.push(value("excursions", f64::from(c.excursions), "1"));
    }
    let result = if temperature.iter().all(within) {
        "Succeeded"
    } else {
        "Failed"
    };
    UnitsProcessed {
        type_name: "CFX.Production.Processing.UnitsProcessed, CFX",
        transaction_id: txn,
        overall_result: result,
        common_process_data: None,
        unit_process_data: vec![ProcessedUnit {
            unit_identifier: job.board_serial.clone(),
            unit_position_number: None,
            unit_result: result,
            unit_process_data: GenericProcessData {
                type_name: "CFX.Structures.Generic.GenericProcessData, CFX",
                setpoints,
                readings,
                parameters: Vec::new(),
                stage_data: Vec::new(),
            },
        }],
    }
}

/// Every CFX message of one job, in order, as `handle`. `with_samples` adds every
/// stored reading of each step (step peaks are always in).
#[allow(clippy::too_many_arguments)]
pub fn job_messages(
    store: &Store,
    library: &Library,
    names: &HashMap<String, String>,
    job: &Job,
    instruction: Option<&Instruction>,
    records: &[StoredOrPlain],
    with_samples: bool,
    handle: &str,
) -> Result<Vec<CfxMessage>> {
    let m = JobMessages::new(library, instruction, names, handle);
    let mut out = Vec::new();
    let mut samples = samples_reader(store, &job.id, with_samples);
    let mut folded: Option<Job> = None;
    for r in records {
        let rec = r.record();
        match &mut folded {
            None => folded = Job::fold([rec]),
            Some(j) => j.apply(rec),
        }
        if let Some(j) = &folded {
            m.for_record(j, rec, &mut samples, &mut out)?;
        }
    }
    Ok(out)
}

/// Reads a sample stream (`job::sample_stream`) when traces are wanted; nothing otherwise.
pub fn samples_reader<'s>(
    store: &'s Store,
    job: &'s str,
    with_samples: bool,
) -> impl FnMut(u32) -> Result<Vec<StoredSample>> + 's {
    move |step: u32| -> Result<Vec<StoredSample>> {
        if !with_samples {
            return Ok(Vec::new());
        }
        store
            .samples(job, step)
            .map(|s| s.map_err(Into::into))
            .collect()
    }
}

/// Streams the CFX messages of `scope` to `w` as one JSON array, as the bench's
/// default handle.
pub fn write_cfx<W: Write>(
    store: &Store,
    library: &Library,
    scope: &Scope,
    options: &ExportOptions,
    w: W,
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    write_cfx_as(store, library, scope, options, None, w, progress)
}

/// Like `write_cfx`, with `handle` as every envelope's `Source` (default: the
/// handle of the bench that ran each job).
pub fn write_cfx_as<W: Write>(
    store: &Store,
    library: &Library,
    scope: &Scope,
    options: &ExportOptions,
    handle: Option<&str>,
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
        let handle = handle.map_or_else(|| default_handle(&bundle.job.bench), str::to_string);
        let messages = job_messages(
            store,
            library,
            &names,
            &bundle.job,
            bundle.instruction,
            &bundle.records,
            options.samples,
            &handle,
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
