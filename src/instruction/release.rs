//! What changed between two revisions of a work instruction, as a person reviewing
//! a release reads it: per instruction field, material, step and checkpoint, with
//! the old and new value of each changed field. Not a text diff: reordered TOML,
//! comments or whitespace that change nothing the bench shows are not changes
//! (the hash still tells the bytes apart).
//!
//! The comparison walks the parsed files as data, so a field added to the schema
//! later (a step's optional field) shows up by its name without a change here.

use std::fmt;

use serde_json::{Map, Value};

use super::schema::WorkInstructionFile;

/// Where in the instruction a change is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Instruction,
    Material(String),
    Step(usize),
    Checkpoint { step: usize, checkpoint: usize },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Instruction => write!(f, "instruction"),
            Place::Material(id) => write!(f, "material {id}"),
            Place::Step(i) => write!(f, "step {}", i + 1),
            Place::Checkpoint { step, checkpoint } => {
                write!(f, "step {} checkpoint {}", step + 1, checkpoint + 1)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// Only the new revision has it; its text (step, checkpoint) or name (material).
    Added(String),
    /// Only the old revision had it.
    Removed(String),
    /// A field of it differs.
    Changed {
        field: String,
        old: String,
        new: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub place: Place,
    pub what: What,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::Added(text) => write!(f, "+ {} added: {text}", self.place),
            What::Removed(text) => write!(f, "- {} removed: {text}", self.place),
            What::Changed { field, old, new } => {
                write!(f, "~ {} {field}: {old} → {new}", self.place)
            }
        }
    }
}

/// Every change from `old` to `new`, instruction fields first, then materials by
/// id, then steps and their checkpoints by position.
pub fn diff(old: &WorkInstructionFile, new: &WorkInstructionFile) -> Vec<Change> {
    let (o, n) = (as_map(old), as_map(new));
    let mut out = Vec::new();
    fields(&Place::Instruction, &o, &n, &["material", "step"], &mut out);

    let materials = |m: &Map<String, Value>| -> Vec<(String, Map<String, Value>)> {
        list(m, "material")
            .into_iter()
            .map(|v| {
                let id = match v.get("id") {
                    Some(Value::String(s)) => s.clone(),
                    other => text_of(other),
                };
                (id, v)
            })
            .collect()
    };
    let (om, nm) = (materials(&o), materials(&n));
    for (id, old_m) in &om {
        match nm.iter().find(|(i, _)| i == id) {
            Some((_, new_m)) => fields(&Place::Material(id.clone()), old_m, new_m, &[], &mut out),
            None => out.push(Change {
                place: Place::Material(id.clone()),
                what: What::Removed(text_of(old_m.get("name"))),
            }),
        }
    }
    for (id, new_m) in &nm {
        if !om.iter().any(|(i, _)| i == id) {
            out.push(Change {
                place: Place::Material(id.clone()),
                what: What::Added(text_of(new_m.get("name"))),
            });
        }
    }

    let (os, ns) = (list(&o, "step"), list(&n, "step"));
    for i in 0..os.len().max(ns.len()) {
        match (os.get(i), ns.get(i)) {
            (Some(a), Some(b)) => {
                fields(&Place::Step(i), a, b, &["checkpoint"], &mut out);
                let (oc, nc) = (list(a, "checkpoint"), list(b, "checkpoint"));
                for j in 0..oc.len().max(nc.len()) {
                    let place = Place::Checkpoint {
                        step: i,
                        checkpoint: j,
                    };
                    match (oc.get(j), nc.get(j)) {
                        (Some(x), Some(y)) => fields(&place, x, y, &[], &mut out),
                        (Some(x), None) => out.push(Change {
                            place,
                            what: What::Removed(text_of(x.get("text"))),
                        }),
                        (None, Some(y)) => out.push(Change {
                            place,
                            what: What::Added(text_of(y.get("text"))),
                        }),
                        (None, None) => {}
                    }
                }
            }
            (Some(a), None) => out.push(Change {
                place: Place::Step(i),
                what: What::Removed(text_of(a.get("text"))),
            }),
            (None, Some(b)) => out.push(Change {
                place: Place::Step(i),
                what: What::Added(text_of(b.get("text"))),
            }),
            (None, None) => {}
        }
    }
    out
}

/// The file as data, keyed as in the TOML (spans dropped).
fn as_map(spec: &WorkInstructionFile) -> Map<String, Value> {
    match serde_json::to_value(spec) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn list(m: &Map<String, Value>, key: &str) -> Vec<Map<String, Value>> {
    match m.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Every field of `a` and `b` (in `a`'s order, then `b`'s new ones) that differs,
/// except those in `skip`. An absent optional field reads as "(none)".
fn fields(
    place: &Place,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    skip: &[&str],
    out: &mut Vec<Change>,
) {
    let keys = a
        .keys()
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .filter(|k| !skip.contains(&k.as_str()));
    for k in keys {
        let (x, y) = (
            a.get(k).unwrap_or(&Value::Null),
            b.get(k).unwrap_or(&Value::Null),
        );
        changed(place, k, x, y, out);
    }
}

/// A field that differs; tables (a step's temperature) field by field.
fn changed(place: &Place, field: &str, x: &Value, y: &Value, out: &mut Vec<Change>) {
    if x == y {
        return;
    }
    if let (Value::Object(a), Value::Object(b)) = (x, y) {
        let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
        for k in keys {
            let (p, q) = (
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null),
            );
            changed(place, &format!("{field}.{k}"), p, q, out);
        }
        return;
    }
    out.push(Change {
        place: place.clone(),
        what: What::Changed {
            field: field.to_string(),
            old: shown(x),
            new: shown(y),
        },
    });
}

fn text_of(v: Option<&Value>) -> String {
    v.map(shown).unwrap_or_default()
}

/// A value as a person reads it: text in quotes, lists and tables inline.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(shown).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k} = {}", shown(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"
id = "WI-T"
revision = "A"
title = "Replace a chip"
activity = "rework"
procedures = ["7711 ORG-5.1"]
classes = [2, 3]
skill = "intermediate"
modules = [5]
equipment = ["iron"]

[[material]]
id = "FLUX"
kind = "flux"
name = "No-clean flux"
capture_lot = true
capture_expiry = false

[[step]]
text = "Clean the pads."

[[step]]
text = "Solder the new part."
temperature = { channel = "tip", min = 330.0, max = 370.0 }

[[step.checkpoint]]
text = "Fillet wetted"
acceptance = "IPC-A-610 8.3.2"
signer = "inspector"
kind = "pass-fail"
"#;

    fn spec(text: &str) -> WorkInstructionFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn diff_table() {
        let cases: Vec<(&str, String, Vec<&str>)> = vec![
            ("same text", A.to_string(), vec![]),
            (
                "comments and layout are not changes",
                A.replace("[[step]]\ntext = \"Clean", "# cleaning\n[[step]]\ntext = \"Clean"),
                vec![],
            ),
            (
                "revision and title",
                A.replace("revision = \"A\"", "revision = \"B\"")
                    .replace("Replace a chip", "Replace a 0402 chip"),
                vec![
                    "~ instruction revision: \"A\" → \"B\"",
                    "~ instruction title: \"Replace a chip\" → \"Replace a 0402 chip\"",
                ],
            ),
            (
                "a step's limits",
                A.replace("max = 370.0", "max = 360.0"),
                vec!["~ step 2 temperature.max: 370.0 → 360.0"],
            ),
            (
                "a checkpoint's acceptance",
                A.replace("8.3.2", "8.3.5"),
                vec![
                    "~ step 2 checkpoint 1 acceptance: \"IPC-A-610 8.3.2\" → \"IPC-A-610 8.3.5\"",
                ],
            ),
            (
                "a step added",
                format!("{A}\n[[step]]\ntext = \"Inspect.\"\n"),
                vec!["+ step 3 added: \"Inspect.\""],
            ),
            (
                "a material removed and its use",
                A.replace(
                        "[[material]]\nid = \"FLUX\"\nkind = \"flux\"\nname = \"No-clean flux\"\ncapture_lot = true\ncapture_expiry = false\n",
                        "",
                    ),
                vec!["- material FLUX removed: \"No-clean flux\""],
            ),
            (
                "a material's lot capture",
                A.replace("capture_lot = true", "capture_lot = false"),
                vec!["~ material FLUX capture_lot: true → false"],
            ),
        ];
        let a = spec(A);
        for (name, text, want) in cases {
            let got: Vec<String> = diff(&a, &spec(&text))
                .iter()
                .map(|c| c.to_string())
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
