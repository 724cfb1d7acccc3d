//! A part removed and a part fitted, end to end: the keys the runner shows, the real
//! `update` and executor, the core deciding against a real sled store, and the CFX
//! that comes out (the export, which is what the bench publishes live).

#[allow(dead_code)]
mod tui_support;

use serde_json::Value;
use std::path::Path;

use traveler::domain::event::Event;
use traveler::export::cfx::write_cfx;
use traveler::export::{ExportOptions, Scope};
use traveler::instruction::{Library, load_dir};
use traveler::store::Store;
use traveler::tui::action::Action;
use traveler::tui::state::{Screen, State};
use tui_support::{Bench, screen_text};

/// What this file's bench does beyond the shared one.
impl Bench {
    /// Logged in as T100, a class 3 job on SAC305 at `refdes` running `instruction`.
    fn start(&mut self, instruction: &str, refdes: &str) {
        self.login("T100", "1111");
        self.new_job_details(&["SN-CMP-1", "PCA-1001", "C", refdes, "NCR-88"]);
        self.act(Action::Enter); // no approval
        self.act(Action::Command('3'));
        self.act(Action::Enter); // class -> alloy
        self.choose_alloy("SAC305");
        self.act(Action::Enter); // alloy -> list
        self.select_instruction(instruction);
        self.act(Action::Enter);
        self.runner();
    }

    /// Samples inside the window, lots, and every signature of the current step;
    /// the part is left to the test, and so is n.
    fn do_step(&mut self) {
        self.feed_window();
        self.scan_lots_from(0);
        self.sign_checkpoints("1111");
    }
}

fn cfx(store: &Store, library: &Library, job: &str) -> Value {
    let mut out = Vec::new();
    write_cfx(
        store,
        library,
        &Scope {
            job: Some(job.into()),
            ..Scope::default()
        },
        &ExportOptions::default(),
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn bodies<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    v.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["MessageName"] == name)
        .map(|e| &e["MessageBody"])
        .collect()
}

/// A chip job at C4 and C5 through the runner's keys: the removal step will not
/// complete until the removal is confirmed (m, Enter), the placement step until the
/// fitted part's P/N and lot are typed; both land in the store and in CFX
/// (CFX/Production/Assembly/MaterialsUninstalled.cs, MaterialsInstalled.cs,
/// CFX/Structures/UninstalledMaterial.cs, InstalledMaterial.cs, InstalledComponent.cs).
#[test]
fn a_part_removed_and_replaced_at_the_bench_is_in_cfx_with_designator_pn_and_lot() {
    let mut b = Bench::demo();
    b.start("WI-CHIP-001", "C4 C5");
    assert_eq!(b.runner().job.refdes, ["C4", "C5"]);
    let steps = b.runner().job.steps.len();
    let mut removal_refused = false;
    let mut fitting_refused = false;
    for _ in 0..steps {
        b.do_step();
        let step = b.runner().step;
        let component = b.runner().instruction.spec.steps[step as usize]
            .component
            .as_ref()
            .map(|c| *c.get_ref());
        use traveler::domain::component::ComponentAction;
        match component {
            Some(ComponentAction::Remove) => {
                // n first: the record refuses, saying what is missing.
                b.act(Action::Command('n'));
                assert!(
                    b.flash().contains("removed part at C4, C5 not recorded"),
                    "{}",
                    b.flash()
                );
                removal_refused = b.runner().step == step;
                // m opens the dialog with the designators; the removed part's P/N,
                // scanned off its marking, goes after them and saves.
                b.act(Action::Command('m'));
                b.act(Action::Scan("GRM188R71C104KA01".into()));
                assert!(b.state.modal.is_none(), "{}", b.flash());
                assert!(
                    b.flash()
                        .contains("Part removed from C4, C5 (P/N GRM188R71C104KA01)"),
                    "{}",
                    b.flash()
                );
            }
            Some(ComponentAction::Install) => {
                b.act(Action::Command('n'));
                assert!(b.flash().contains("fitted part at C4, C5"), "{}", b.flash());
                fitting_refused = b.runner().step == step;
                // Without a lot the core refuses and the dialog stays open; the
                // reel's lot label scanned next completes the line.
                b.act(Action::Command('m'));
                b.typ("GRM188R71C104KA01");
                b.act(Action::Enter);
                assert!(b.state.modal.is_some());
                // The lot typed after it, the date code scanned from the label: a
                // scan is a word of its own.
                b.typ(" LOT-8812");
                b.act(Action::Scan("2611".into()));
                assert!(b.state.modal.is_none(), "{}", b.flash());
                assert!(
                    b.flash().contains(
                        "Part GRM188R71C104KA01 fitted at C4, C5, lot LOT-8812, date code 2611"
                    ),
                    "{}",
                    b.flash()
                );
            }
            None => {}
        }
        b.act(Action::Command('n'));
    }
    assert!(removal_refused && fitting_refused);
    assert!(
        matches!(b.state.screen, Screen::Summary(_)),
        "{}",
        b.flash()
    );

    // The store says it, in the records' own words.
    let events: Vec<Event> = b.store.events().map(|r| r.unwrap().event).collect();
    let removed: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind() == "component_removed")
        .collect();
    assert_eq!(removed.len(), 1);
    assert!(
        matches!(removed[0], Event::ComponentRemoved { refdes, part_number: Some(p), .. }
        if refdes == &["C4", "C5"] && p == "GRM188R71C104KA01")
    );
    let fitted: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind() == "component_installed")
        .collect();
    assert_eq!(fitted.len(), 1);
    assert!(
        matches!(fitted[0], Event::ComponentInstalled { refdes, part_number, lot: Some(l), date_code: Some(d), .. }
        if refdes == &["C4", "C5"] && part_number == "GRM188R71C104KA01" && l == "LOT-8812" && d == "2611")
    );

    // The JSON export carries the job fold: the components are in it.
    let job = b.runner_job_id();
    let fold = serde_json::to_value(b.store.job(&job).unwrap().unwrap()).unwrap();
    let comps = fold["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2);
    assert_eq!(comps[0]["action"], "remove");
    assert_eq!(comps[1]["action"], "install");
    assert_eq!(comps[1]["lot"], "LOT-8812");
    assert_eq!(comps[1]["date_code"], "2611");

    // The summary the technician submits from (and the supervisor reviews) shows both.
    let screen = render(&b.state);
    assert!(
        screen.contains("part removed from C4, C5: P/N GRM188R71C104KA01"),
        "{screen}"
    );
    assert!(
        screen.contains("part fitted at C4, C5: P/N GRM188R71C104KA01, lot LOT-8812"),
        "{screen}"
    );
    // CSV (actions.csv) and the HTML report carry them in the job's history.
    for (format, file) in [("csv", "actions.csv"), ("html", "")] {
        let out = b.folder().join(format!("out-{format}"));
        let opts = ExportOptions::default();
        let scope = Scope {
            job: Some(job.clone()),
            ..Scope::default()
        };
        if format == "csv" {
            traveler::export::csv::write_csv(
                &b.store,
                &b.library,
                &scope,
                &opts,
                &out,
                &mut |_| {},
            )
            .unwrap();
        } else {
            traveler::export::html::write_html(
                &b.store,
                &b.library,
                &scope,
                &opts,
                &out,
                &mut |_| {},
            )
            .unwrap();
        }
        let text: String = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| file.is_empty() || p.ends_with(file))
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect();
        assert!(
            text.contains(
                "component fitted at C4, C5: P/N GRM188R71C104KA01, lot LOT-8812, date code 2611"
            ),
            "{format}"
        );
        assert!(
            text.contains("component removed from C4, C5 (P/N GRM188R71C104KA01)"),
            "{format}"
        );
    }

    // And CFX says it: the part off C4 and C5, the new part on them with its lot.
    let v = cfx(&b.store, &b.library, &job);
    let off = bodies(&v, "CFX.Production.Assembly.MaterialsUninstalled");
    assert_eq!(off.len(), 1);
    let m = &off[0]["UninstalledMaterials"][0];
    assert_eq!(m["UnitIdentifier"], "SN-CMP-1");
    assert_eq!(m["Material"]["InternalPartNumber"], "GRM188R71C104KA01");
    let designators = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["ReferenceDesignator"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(designators(&m["UninstalledComponents"]), ["C4", "C5"]);
    let on = bodies(&v, "CFX.Production.Assembly.MaterialsInstalled");
    assert_eq!(on.len(), 1);
    let m = &on[0]["InstalledMaterials"][0];
    assert_eq!(m["Material"]["InternalPartNumber"], "GRM188R71C104KA01");
    assert_eq!(m["Material"]["BatchId"], "LOT-8812");
    assert_eq!(m["QuantityInstalled"], 2.0);
    assert_eq!(designators(&m["InstalledComponents"]), ["C4", "C5"]);
}

impl Bench {
    fn runner_job_id(&self) -> String {
        match &self.state.screen {
            Screen::Summary(s) => s.job.id.clone(),
            Screen::Runner(r) => r.job.id.clone(),
            _ => panic!("no job on screen"),
        }
    }
}

/// The shipped instructions copied into a folder of their own, one file edited.
fn folder_with(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let text = if name == file { edit(&text) } else { text };
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// `component` is validated where it is written: an unknown value, and a fitting
/// before the removal, are refused with file:line:col; the rest of the folder loads.
#[test]
fn a_bad_component_value_is_refused_at_its_line_and_column() {
    let dir = folder_with("WI-CHIP-001.toml", |t| {
        t.replacen("component = \"remove\"", "component = \"replace\"", 1)
    });
    let loaded = load_dir(dir.path());
    let file = dir.path().join("WI-CHIP-001.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("component = \"replace\""))
        .unwrap()
        + 1;
    let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    let want = format!("{}:{line}:13: ", file.display());
    assert!(shown[0].starts_with(&want), "{shown:?} (want {want})");
    assert!(
        shown[0].contains("replace") && shown[0].contains("remove") && shown[0].contains("install"),
        "{shown:?}"
    );
    assert!(loaded.library.instruction("WI-CHIP-001").is_none());
    assert!(loaded.library.instruction("WI-TH-001").is_some());

    // A part fitted before the old one is off.
    let dir = folder_with("WI-TH-001.toml", |t| {
        t.replacen("component = \"install\"\n", "", 1).replacen(
            "[[step]]\ntext = \"Preheat",
            "[[step]]\ncomponent = \"install\"\ntext = \"Preheat",
            1,
        )
    });
    let loaded = load_dir(dir.path());
    let file = dir.path().join("WI-TH-001.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .position(|l| l == "component = \"install\"")
        .unwrap()
        + 1;
    let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].starts_with(&format!(
            "{}:{line}:13: step 2: component = \"install\" comes before the removal at step 4",
            file.display()
        )),
        "{shown:?}"
    );
}

/// A store written before traveler recorded components (the format-4 fixture, never
/// regenerated) still exports in every format, and its jobs say nothing about parts
/// rather than something false.
#[test]
fn a_record_written_before_components_still_exports() {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format4/store.tar.gz"))
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let store_dir = dir.path().join("store");
    let ok = std::process::Command::new("chmod")
        .args(["-R", "go-rwx"])
        .arg(&store_dir)
        .status()
        .unwrap();
    assert!(ok.success());
    let instructions = Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions");
    for (format, out) in [
        ("json", "x.json"),
        ("cfx", "x.cfx.json"),
        ("csv", "csv"),
        ("html", "html"),
    ] {
        let out = dir.path().join(out);
        let r = std::process::Command::new(env!("CARGO_BIN_EXE_traveler"))
            .args(["export", "--format", format, "--store"])
            .arg(&store_dir)
            .arg("--instructions")
            .arg(&instructions)
            .arg("--out")
            .arg(&out)
            .env("TRAVELER_STATE_DIR", dir.path().join("state"))
            .env_remove("TRAVELER_STORE")
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{format}: {}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(out.exists(), "{format}");
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("x.json")).unwrap()).unwrap();
    let jobs = json["jobs"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for j in jobs {
        assert!(j["job"].is_object(), "{j}");
        assert!(j["job"].get("components").is_none(), "{}", j["id"]);
    }
    let cfx: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("x.cfx.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = cfx
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["MessageName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"CFX.Production.WorkStarted"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("MaterialsUninstalled")),
        "{names:?}"
    );
}

/// The screen as text (what a person sees), 120 columns so nothing is cut off.
fn render(state: &State) -> String {
    screen_text(state, 120, 60)
}
