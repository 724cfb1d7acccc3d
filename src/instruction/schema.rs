//! The shape of the organisation's TOML files. Strict on purpose: unknown keys are
//! errors, and fields that later cross-checks point at keep their source span.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::domain::types::{Activity, Conformance, ProductClass, SkillLevel};

/// `procedures.toml`: the IPC-7711/7721 procedures the organisation uses.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProcedureCatalogFile {
    #[serde(rename = "procedure")]
    pub procedures: Vec<ProcedureEntry>,
}

#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    #[serde(rename = "IPC-7711")]
    Ipc7711,
    #[serde(rename = "IPC-7721")]
    Ipc7721,
}

impl Document {
    pub fn short(self) -> &'static str {
        match self {
            Document::Ipc7711 => "7711",
            Document::Ipc7721 => "7721",
        }
    }
}

/// Where a procedure number comes from: the standard itself, or the organisation's
/// own numbering for a procedure whose standard number it does not quote.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NumberSource {
    Standard,
    Organisation,
}

/// R rigid boards, F flexible circuits, W wires and harnesses, C cables.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    R,
    F,
    W,
    C,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProcedureEntry {
    pub document: Document,
    pub number: Spanned<String>,
    pub source: NumberSource,
    pub title: String,
    pub skill: SkillLevel,
    /// Absent where the standard assigns none.
    pub conformance: Option<Conformance>,
    pub applicability: Vec<Applicability>,
    /// The IPC-7711/7721 training module (1–10) that certifies this procedure.
    pub module: Spanned<u8>,
}

impl ProcedureEntry {
    /// The reference instructions use: "7711 3.1.1", "7721 2.3".
    pub fn reference(&self) -> String {
        format!("{} {}", self.document.short(), self.number.get_ref())
    }
}

/// `alloys.toml`: solder alloys and their temperature profiles.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AlloyFile {
    #[serde(rename = "alloy")]
    pub alloys: Vec<Alloy>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Alloy {
    pub id: Spanned<String>,
    pub name: String,
    pub lead_free: bool,
    pub solidus_c: f64,
    pub liquidus_c: f64,
    /// Named windows a step may refer to instead of numbers: tip, peak, preheat, ...
    pub profile: BTreeMap<String, Spanned<TempRange>>,
}

#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TempRange {
    pub min: f64,
    pub max: f64,
}

/// `policy.toml`: the organisation's rules.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    pub certification_validity_years: u32,
    #[serde(rename = "class")]
    pub classes: Vec<ClassRule>,
    #[serde(rename = "approval")]
    pub approvals: Vec<ApprovalRule>,
    #[serde(rename = "rework_limit", default)]
    pub rework_limits: Vec<ReworkLimit>,
    pub signature: SignatureRules,
    pub session: SessionRules,
    /// `[pin]`: minimum length and the refusal of trivial PINs (defaults: 6, true).
    #[serde(default)]
    pub pin: Option<Spanned<crate::domain::pin_rules::PinRules>>,
    /// `[release]`: whether new jobs run only released revisions (default true).
    #[serde(default)]
    pub release: Option<ReleaseRules>,
    /// `[hub]`: how benches follow the shop hub (the roster cache's maximum age).
    #[serde(default)]
    pub hub: Option<HubRules>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct HubRules {
    /// Hours a bench's copy of the shop roster stays good without reaching the
    /// hub; after it only people the hub verified at their log-in may sign.
    #[serde(default)]
    pub roster_max_age_hours: Option<Spanned<f64>>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRules {
    /// false for shops that do not control documents at the bench.
    #[serde(default = "yes")]
    pub require_release: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    pub class: Spanned<ProductClass>,
    pub conformance: Vec<Conformance>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    pub activity: Activity,
    pub required: bool,
    /// What the reference is called on screen: "Engineering/customer approval", "ECO number".
    pub label: String,
    /// A regular expression the reference must match, when the organisation has a format.
    pub pattern: Option<Spanned<String>>,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ReworkLimit {
    pub description: String,
    pub classes: Vec<ProductClass>,
    /// Jobs referencing any of these procedures count toward one location's cycles.
    pub procedures: Vec<Spanned<String>>,
    pub max_cycles: u32,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SignatureRules {
    pub max_failed_pins: u32,
    pub lockout_minutes: u32,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SessionRules {
    pub idle_logout_minutes: u32,
}

/// One work instruction file.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WorkInstructionFile {
    pub id: Spanned<String>,
    pub revision: String,
    pub title: String,
    pub activity: Activity,
    pub procedures: Vec<Spanned<String>>,
    pub classes: Spanned<Vec<ProductClass>>,
    pub skill: Spanned<SkillLevel>,
    pub modules: Vec<Spanned<u8>>,
    /// The organisation's own requirements beyond the procedures'.
    #[serde(default)]
    pub requirements: Vec<String>,
    pub equipment: Vec<String>,
    #[serde(rename = "material", default)]
    pub materials: Vec<Material>,
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MaterialKind {
    SolderWire,
    Flux,
    Paste,
    Epoxy,
    RepairCircuitFrame,
    Wire,
    Coating,
    Solvent,
    Other,
}

impl MaterialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialKind::SolderWire => "solder-wire",
            MaterialKind::Flux => "flux",
            MaterialKind::Paste => "paste",
            MaterialKind::Epoxy => "epoxy",
            MaterialKind::RepairCircuitFrame => "repair-circuit-frame",
            MaterialKind::Wire => "wire",
            MaterialKind::Coating => "coating",
            MaterialKind::Solvent => "solvent",
            MaterialKind::Other => "other",
        }
    }
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Material {
    pub id: Spanned<String>,
    pub kind: MaterialKind,
    pub name: String,
    pub capture_lot: bool,
    pub capture_expiry: bool,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub text: String,
    pub temperature: Option<Spanned<StepTemperature>>,
    pub max_minutes: Option<f64>,
    #[serde(default)]
    pub materials: Vec<Spanned<String>>,
    #[serde(rename = "checkpoint", default)]
    pub checkpoints: Vec<Checkpoint>,
    /// `component = "remove"`: the technician confirms the designator(s) the part
    /// came off (and its P/N when known); `"install"`: the fitted part's P/N and
    /// lot/date code are captured. The step cannot complete without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Spanned<crate::domain::component::ComponentAction>>,
}

/// A step's window: numbers, or a profile of the job's alloy ("tip", "peak").
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StepTemperature {
    pub channel: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub profile: Option<String>,
}

#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Signer {
    Technician,
    Inspector,
}

#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointKind {
    Confirm,
    PassFail,
    Measurement,
}

#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub text: String,
    /// An IPC-A-610 / J-STD-001 clause or the organisation's own reference.
    pub acceptance: String,
    pub signer: Signer,
    pub kind: Spanned<CheckpointKind>,
    pub unit: Option<String>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<f64>,
    /// A figure the station records that this measurement corresponds to (one of
    /// `domain::decide::RECORDED_METRICS`, e.g. "above_liquidus_s"): the dialog shows
    /// it, and a typed value further from it than `tolerance` needs a comment.
    #[serde(default)]
    pub recorded: Option<Spanned<String>>,
    /// How far (in the checkpoint's unit) a typed value may differ from `recorded`.
    #[serde(default)]
    pub tolerance: Option<f64>,
}
