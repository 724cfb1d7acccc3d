//! The bench application headless, for flow tests: the real `update`, the real
//! effect executor and core on a real sled store, the shipped instructions. Actions
//! in, events in the store out; the helpers press the keys a person presses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, Utc};

use traveler::domain::event::Event;
use traveler::instruction::schema::{CheckpointKind, Signer};
use traveler::instruction::{Library, load_dir};
use traveler::store::{OpenOptions, Store};
use traveler::tui::action::{Action, StationUpdate};
use traveler::tui::exec::Executor;
use traveler::tui::runtime::dispatch;
use traveler::tui::state::{RunnerState, Screen, State};

/// The shipped instructions folder, loaded; it must load without a diagnostic.
pub fn library() -> Arc<Library> {
    let loaded = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions"));
    assert!(loaded.is_clean(), "{:?}", loaded.diagnostics);
    Arc::new(loaded.library)
}

/// `state` drawn into a `TestBackend` of `w` by `h` cells, as text (what a person
/// sees), one line per row.
pub fn screen_text(state: &State, w: u16, h: u16) -> String {
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    term.draw(|f| traveler::tui::view::draw(state, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

pub struct Bench {
    /// Who signs inspector checkpoints in `complete_step` (badge, PIN).
    pub inspector: (&'static str, &'static str),
    pub state: State,
    pub exec: Executor,
    pub store: Store,
    pub library: Arc<Library>,
    /// The folder of a demo bench's store and exports; dropped last.
    pub dir: Option<tempfile::TempDir>,
}

impl Bench {
    /// The demo bench on the shipped instructions.
    pub fn demo() -> Bench {
        Bench::demo_with(library())
    }

    /// A store of its own in a temporary folder with the demo roster, every
    /// instruction of `library` released (the bench runs released revisions only,
    /// as the demo application's are), exports beside it.
    pub fn demo_with(library: Arc<Library>) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store"), OpenOptions::default()).unwrap();
        traveler::demo::seed(
            &store,
            library.policy.as_ref().unwrap(),
            Utc::now().date_naive(),
        )
        .unwrap();
        traveler::demo::seed_releases(&store, &library, Utc::now()).unwrap();
        let exports = dir.path().join("exports");
        let mut bench = Bench::on(store, library, exports);
        bench.dir = Some(dir);
        bench
    }

    /// The bench on a store someone else made (and owns the folder of).
    pub fn on(store: Store, library: Arc<Library>, exports: PathBuf) -> Bench {
        let exec = Executor::new(
            traveler::core::Core::new(store.clone(), library.clone(), "B1"),
            exports,
        );
        Bench {
            inspector: ("I300", "3333"),
            state: State::new(library.clone(), "B1", Utc::now()),
            exec,
            store,
            library,
            dir: None,
        }
    }

    /// A demo bench's temporary folder (its store is `store` in it).
    pub fn folder(&self) -> &Path {
        self.dir.as_ref().expect("a demo bench has a folder").path()
    }

    pub fn act(&mut self, a: Action) {
        dispatch(&mut self.state, &self.exec, a);
    }

    pub fn typ(&mut self, text: &str) {
        for c in text.chars() {
            self.act(Action::Char(c));
        }
    }

    /// Badge scanned, PIN typed, Enter.
    pub fn login(&mut self, badge: &str, pin: &str) {
        self.act(Action::Scan(badge.into()));
        self.typ(pin);
        self.act(Action::Enter);
    }

    pub fn events(&self) -> Vec<Event> {
        self.store.events().map(|r| r.unwrap().event).collect()
    }

    pub fn flash(&self) -> String {
        self.state
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }

    pub fn runner(&self) -> &RunnerState {
        match &self.state.screen {
            Screen::Runner(r) => r,
            _ => panic!("not on the runner; flash: {}", self.flash()),
        }
    }

    /// The screen as text at the state's terminal size.
    pub fn screen(&self) -> String {
        let (w, h) = self.state.size;
        screen_text(&self.state, w, h)
    }

    /// `n` on the home screen, then each value of the new-job form typed and
    /// entered in order (serial, assembly, revision, designators, defect,
    /// approval; fewer leaves the rest to the caller).
    pub fn new_job_details(&mut self, values: &[&str]) {
        self.act(Action::Command('n'));
        for value in values {
            self.typ(value);
            self.act(Action::Enter);
        }
    }

    /// On the new-job form, the alloy with this id chosen.
    pub fn choose_alloy(&mut self, id: &str) {
        let want = self
            .state
            .library
            .alloys
            .iter()
            .position(|a| a.id.get_ref() == id)
            .unwrap_or_else(|| panic!("no alloy {id}"));
        if let Screen::Start(f) = &mut self.state.screen {
            f.alloy = want;
        }
    }

    /// On the new-job form's list, Down until `instruction` is selected.
    pub fn select_instruction(&mut self, instruction: &str) {
        let idx = self
            .state
            .library
            .instructions
            .iter()
            .position(|i| i.id() == instruction)
            .unwrap_or_else(|| panic!("no {instruction}"));
        for _ in 0..idx {
            self.act(Action::Down);
        }
    }

    /// One station reading `seconds` from now.
    pub fn feed(&mut self, channel: &str, celsius: f64, seconds: i64) {
        let t = Utc::now() + Duration::seconds(seconds);
        self.act(Action::Station(StationUpdate::Sample {
            channel: channel.into(),
            time: t,
            celsius,
        }));
    }

    /// Five readings inside the current step's window, when it has one.
    pub fn feed_window(&mut self) {
        if let Some(w) = self.runner().window.clone() {
            let mid = match (w.min_c.is_finite(), w.max_c.is_finite()) {
                (true, true) => (w.min_c + w.max_c) / 2.0,
                (true, false) => w.min_c + 5.0,
                (false, true) => w.max_c - 5.0,
                _ => 25.0,
            };
            for i in 0..5 {
                self.feed(&w.channel, mid, i);
            }
        }
    }

    /// A GS1 label (GTIN, expiry in a year, lot) scanned for each lot the current
    /// step needs, from the `first`th on.
    pub fn scan_lots_from(&mut self, first: usize) {
        let step = self.runner().step;
        let needs = traveler::tui::update::lot_materials(&self.runner().instruction, step);
        for (i, _) in needs.iter().enumerate().skip(first) {
            let expiry = (Utc::now() + Duration::days(365)).format("%y%m%d");
            self.act(Action::Scan(format!(
                "(01)09506000134352(17){expiry}(10)LOT-{step}-{i}"
            )));
        }
    }

    /// The lots the current step still needs, scanned.
    pub fn scan_missing_lots(&mut self) {
        let have = self.runner().job.lots_for_step(self.runner().step).count();
        self.scan_lots_from(have);
    }

    /// A step that removes or fits a part records it (m): the designators the
    /// dialog offers, and for a fitted part its P/N and lot.
    pub fn record_component(&mut self) {
        let r = self.runner();
        let step = r.step;
        let component = r.instruction.spec.steps[step as usize].component.clone();
        if let Some(c) = &component {
            self.act(Action::Command('m'));
            if *c.get_ref() == traveler::domain::component::ComponentAction::Install {
                self.typ(&format!("PN-{step} LOT-PART-{step}"));
            }
            self.act(Action::Enter);
            assert!(self.state.modal.is_none(), "step {step}: {}", self.flash());
        }
    }

    /// In an open sign dialog, answers the selected checkpoint's first question:
    /// pass, or a measurement at its lower limit (the upper when it has none).
    pub fn answer_checkpoint(&mut self) {
        let r = self.runner();
        let cp = r.instruction.spec.steps[r.step as usize].checkpoints[r.selected].clone();
        match cp.kind.get_ref() {
            CheckpointKind::PassFail => {
                // Nothing is chosen for the technician: p, then Enter.
                self.act(Action::Command('p'));
                self.act(Action::Enter);
            }
            CheckpointKind::Measurement => {
                let v = cp.min.as_ref().map(|m| *m.get_ref()).or(cp.max).unwrap();
                self.typ(&v.to_string());
                self.act(Action::Enter);
            }
            CheckpointKind::Confirm => {}
        }
    }

    /// Every checkpoint of the current step answered and signed: by `inspector`
    /// where the checkpoint says so, else with the technician's `tech_pin`.
    pub fn sign_checkpoints(&mut self, tech_pin: &str) {
        let r = self.runner();
        let step = r.step;
        let checkpoints = r.instruction.spec.steps[step as usize].checkpoints.clone();
        for (i, cp) in checkpoints.iter().enumerate() {
            if let Screen::Runner(r) = &mut self.state.screen {
                r.selected = i;
            }
            self.act(Action::Enter);
            self.answer_checkpoint();
            if cp.signer == Signer::Inspector {
                let (badge, pin) = self.inspector;
                self.act(Action::Scan(badge.into()));
                self.typ(pin);
            } else {
                self.typ(tech_pin);
            }
            self.act(Action::Enter);
            assert!(
                self.state.modal.is_none(),
                "step {step} cp {i}: {:?} {}",
                self.state.modal,
                self.flash()
            );
        }
    }

    /// Does whatever the current step asks: samples inside the window, lots, the
    /// part removed or fitted, signatures; then completes it (n).
    pub fn complete_step(&mut self, tech_pin: &str) {
        self.feed_window();
        self.scan_missing_lots();
        self.record_component();
        self.sign_checkpoints(tech_pin);
        self.act(Action::Command('n'));
    }
}
