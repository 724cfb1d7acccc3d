//! Loading the instructions folder: the catalog, alloys and policy first, then every
//! work instruction, each checked against them. One bad file never hides the others.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::diagnostic::{Diagnostic, Source};
use super::schema::{
    Alloy, AlloyFile, PolicyFile, ProcedureCatalogFile, ProcedureEntry, WorkInstructionFile,
};
use super::validate;
use crate::domain::policy::{InstructionFacts, Policy, Refusal};
use crate::domain::release::{ReleaseBook, Standing, start_refusal};
use crate::domain::thermal::Window;

pub const CATALOG_FILE: &str = "procedures.toml";
pub const ALLOYS_FILE: &str = "alloys.toml";
pub const POLICY_FILE: &str = "policy.toml";

/// The largest file the folder may hold. Real instructions are a few kilobytes;
/// a file a thousand times that is a mistake (a generated or pasted file), and
/// reading it whole would cost the bench PC memory it needs for the job.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The most steps one work instruction may have: more is not a procedure a
/// technician can follow, and every screen walks the steps.
pub const MAX_STEPS: usize = 500;

/// A validated work instruction and the exact bytes it was read from.
#[derive(Clone, Debug)]
pub struct Instruction {
    pub path: PathBuf,
    /// Hex SHA-256 of the file's bytes: a job records which text it ran.
    pub hash: String,
    pub spec: WorkInstructionFile,
}

impl Instruction {
    pub fn id(&self) -> &str {
        self.spec.id.get_ref()
    }

    pub fn revision(&self) -> &str {
        &self.spec.revision
    }

    pub fn procedure_refs(&self) -> Vec<String> {
        self.spec
            .procedures
            .iter()
            .map(|p| p.get_ref().clone())
            .collect()
    }

    pub fn facts(&self, library: &Library) -> InstructionFacts {
        InstructionFacts {
            id: self.id().to_string(),
            activity: self.spec.activity,
            skill: *self.spec.skill.get_ref(),
            modules: self.spec.modules.iter().map(|m| *m.get_ref()).collect(),
            classes: self.spec.classes.get_ref().clone(),
            procedures: self
                .spec
                .procedures
                .iter()
                .map(|p| {
                    let conformance = library.procedure(p.get_ref()).and_then(|e| e.conformance);
                    (p.get_ref().clone(), conformance)
                })
                .collect(),
        }
    }

    /// The window of step `index`, resolved against the job's alloy; `None` when the
    /// step has no temperature or the alloy lacks the profile.
    pub fn step_window(&self, index: usize, alloy: Option<&Alloy>) -> Option<Window> {
        let t = self.spec.steps.get(index)?.temperature.as_ref()?.get_ref();
        let (min_c, max_c) = match (&t.profile, t.min, t.max) {
            (Some(profile), _, _) => {
                let range = alloy?.profile.get(profile)?.get_ref();
                (range.min, range.max)
            }
            (None, Some(min), Some(max)) => (min, max),
            (None, Some(min), None) => (min, f64::INFINITY),
            (None, None, Some(max)) => (f64::NEG_INFINITY, max),
            (None, None, None) => return None,
        };
        Some(Window {
            channel: t.channel.clone(),
            min_c,
            max_c,
        })
    }
}

/// Everything in an instructions folder that loaded and passed its checks.
#[derive(Clone, Debug, Default)]
pub struct Library {
    pub dir: PathBuf,
    pub procedures: Vec<ProcedureEntry>,
    pub alloys: Vec<Alloy>,
    /// `None` when policy.toml is missing or broken (reported as a diagnostic).
    pub policy: Option<Policy>,
    pub instructions: Vec<Instruction>,
    /// The store's instruction releases as the bench application read them at its
    /// start, so the new-job list can grey out what the core will refuse (the core
    /// decides on the store, never on this). `None`: not read; nothing is greyed.
    pub releases: Option<std::sync::Arc<ReleaseBook>>,
}

impl Library {
    /// Why a new job may not start on `ins` for want of a release, as far as the
    /// releases read at start say (the core checks the store again).
    pub fn release_refusal(&self, ins: &Instruction) -> Option<Refusal> {
        let book = self.releases.as_ref()?;
        let require = self.policy.as_ref().is_none_or(|p| p.require_release);
        let standing = Standing::of(book, ins.id(), ins.revision(), &ins.hash);
        start_refusal(require, &standing).map(Refusal::NotReleased)
    }

    pub fn procedure(&self, reference: &str) -> Option<&ProcedureEntry> {
        self.procedures.iter().find(|p| p.reference() == reference)
    }

    pub fn alloy(&self, id: &str) -> Option<&Alloy> {
        self.alloys.iter().find(|a| a.id.get_ref() == id)
    }

    pub fn instruction(&self, id: &str) -> Option<&Instruction> {
        self.instructions.iter().find(|i| i.id() == id)
    }
}

/// The valid part of a folder plus everything wrong with the rest.
#[derive(Debug, Default)]
pub struct Loaded {
    pub library: Library,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn is_clean(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

pub fn load_dir(dir: &Path) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut library = Library {
        dir: dir.to_path_buf(),
        ..Library::default()
    };

    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diagnostics.push(Diagnostic {
                file: dir.to_path_buf(),
                line: 1,
                col: 1,
                message: format!("cannot read the instructions folder: {e}"),
            });
            return Loaded {
                library,
                diagnostics,
            };
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();

    let named = |name: &str| dir.join(name);

    if let Some((text, path)) = read(&named(CATALOG_FILE), &mut diagnostics)
        && let Some(file) = parse::<ProcedureCatalogFile>(&path, &text, &mut diagnostics)
    {
        let src = Source {
            path: &path,
            text: &text,
        };
        diagnostics.extend(validate::catalog(&src, &file));
        library.procedures = file.procedures;
    }
    if let Some((text, path)) = read(&named(ALLOYS_FILE), &mut diagnostics)
        && let Some(file) = parse::<AlloyFile>(&path, &text, &mut diagnostics)
    {
        let src = Source {
            path: &path,
            text: &text,
        };
        diagnostics.extend(validate::alloys(&src, &file));
        library.alloys = file.alloys;
    }
    if let Some((text, path)) = read(&named(POLICY_FILE), &mut diagnostics)
        && let Some(file) = parse::<PolicyFile>(&path, &text, &mut diagnostics)
    {
        let src = Source {
            path: &path,
            text: &text,
        };
        let (policy, found) = validate::policy(&src, &file, &library.procedures);
        if found.is_empty() {
            library.policy = policy;
        }
        diagnostics.extend(found);
    }

    // First file (by name) to claim an id keeps it; later ones are reported.
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in files.iter().filter(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        ![CATALOG_FILE, ALLOYS_FILE, POLICY_FILE].contains(&name)
    }) {
        let Some((text, path)) = read(path, &mut diagnostics) else {
            continue;
        };
        let (spec, mut found) = match checked(&library, &path, &text) {
            Ok(checked) => checked,
            Err(found) => {
                diagnostics.extend(found);
                continue;
            }
        };
        let src = Source {
            path: &path,
            text: &text,
        };
        let id = spec.id.get_ref().clone();
        if let Some(first) = seen.get(&id) {
            found.push(src.at(
                Some(spec.id.span()),
                format!(
                    "duplicate instruction id {id:?}: already defined in {}",
                    first.display()
                ),
            ));
        }
        if found.is_empty() {
            seen.insert(id, path.clone());
            let hash = hex::encode(Sha256::digest(text.as_bytes()));
            library.instructions.push(Instruction { path, hash, spec });
        } else {
            seen.entry(id).or_insert(path);
            diagnostics.extend(found);
        }
    }

    diagnostics.sort();
    Loaded {
        library,
        diagnostics,
    }
}

/// A work instruction's text read and validated against the folder's catalog,
/// alloys and policy: the spec and what validation found, or why it does not even
/// read as one (TOML error, too many steps).
fn checked(
    library: &Library,
    path: &Path,
    text: &str,
) -> Result<(WorkInstructionFile, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let Some(spec) = parse::<WorkInstructionFile>(path, text, &mut diagnostics) else {
        return Err(diagnostics);
    };
    let src = Source { path, text };
    if spec.steps.len() > MAX_STEPS {
        return Err(vec![too_many_steps(&src, spec.steps.len())]);
    }
    let found = validate::instruction(&src, &spec, library);
    Ok((spec, found))
}

/// One work instruction file checked as `traveler check` checks the folder's
/// (against `library`'s catalog, alloys and policy), from its exact text: the
/// instruction, or every problem as file:line:col.
pub fn check_text(
    library: &Library,
    path: &Path,
    text: &str,
) -> Result<Instruction, Vec<Diagnostic>> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!(
                "the file is {} bytes; a work instruction may be at most {MAX_FILE_BYTES} bytes (1 MiB)",
                text.len()
            ),
        }]);
    }
    let (spec, mut found) = checked(library, path, text)?;
    if found.is_empty() {
        return Ok(Instruction {
            path: path.to_path_buf(),
            hash: hex::encode(Sha256::digest(text.as_bytes())),
            spec,
        });
    }
    found.sort();
    Err(found)
}

/// Points at the first step beyond the limit (its `[[step]]` header).
fn too_many_steps(src: &Source<'_>, steps: usize) -> Diagnostic {
    let mut offset = 0;
    let mut at = None;
    let mut seen = 0;
    for line in src.text.split_inclusive('\n') {
        if line.trim_start().starts_with("[[step]]") {
            seen += 1;
            if seen == MAX_STEPS + 1 {
                at = Some(offset..offset + line.len());
                break;
            }
        }
        offset += line.len();
    }
    src.at(
        at,
        format!("{steps} steps: a work instruction may have at most {MAX_STEPS}; split it"),
    )
}

/// Reads a file of the folder, refusing one over [`MAX_FILE_BYTES`] before
/// reading it (its size comes from the folder entry, not from reading it).
fn read(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<(String, PathBuf)> {
    if let Ok(meta) = fs::metadata(path)
        && meta.len() > MAX_FILE_BYTES
    {
        diagnostics.push(Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!(
                "the file is {} bytes; a file in the instructions folder may be at most {MAX_FILE_BYTES} bytes (1 MiB)",
                meta.len()
            ),
        });
        return None;
    }
    match fs::read_to_string(path) {
        Ok(text) => Some((text, path.to_path_buf())),
        Err(e) => {
            diagnostics.push(Diagnostic {
                file: path.to_path_buf(),
                line: 1,
                col: 1,
                message: format!("cannot read: {e}"),
            });
            None
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            diagnostics.push(Source { path, text }.parse_error(&e));
            None
        }
    }
}
