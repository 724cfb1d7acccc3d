//! `traveler check [DIR]`: what the instructions folder holds and what is wrong with it.

use std::io::Write;
use std::path::PathBuf;

use crate::instruction::{Loaded, load_dir};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The instructions folder (procedures.toml, alloys.toml, policy.toml and the work instructions).
    #[arg(default_value = "instructions")]
    pub dir: PathBuf,
}

/// Prints the table and the diagnostics; exit code 0 when clean, 1 otherwise.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let loaded = load_dir(&args.dir);
    write_report(&loaded, out)?;
    Ok(if loaded.is_clean() { 0 } else { 1 })
}

pub fn write_report(loaded: &Loaded, out: &mut dyn Write) -> std::io::Result<()> {
    let lib = &loaded.library;
    let header = [
        "ID",
        "REV",
        "ACTIVITY",
        "PROCEDURES",
        "SKILL",
        "CLASSES",
        "STEPS",
    ];
    let rows: Vec<[String; 7]> = lib
        .instructions
        .iter()
        .map(|i| {
            let classes: Vec<String> = i
                .spec
                .classes
                .get_ref()
                .iter()
                .map(|c| c.number().to_string())
                .collect();
            [
                i.id().to_string(),
                i.revision().to_string(),
                i.spec.activity.to_string(),
                i.procedure_refs().join(", "),
                i.spec.skill.get_ref().to_string(),
                classes.join(","),
                i.spec.steps.len().to_string(),
            ]
        })
        .collect();
    let rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    super::table::write(out, &header, &rows)?;
    writeln!(
        out,
        "\n{} instruction(s), {} procedure(s), {} alloy(s) from {}",
        lib.instructions.len(),
        lib.procedures.len(),
        lib.alloys.len(),
        lib.dir.display()
    )?;
    if loaded.diagnostics.is_empty() {
        writeln!(out, "no problems found")?;
    } else {
        writeln!(out, "\n{} problem(s):", loaded.diagnostics.len())?;
        for d in &loaded.diagnostics {
            writeln!(out, "{d}")?;
        }
    }
    Ok(())
}
