//! The event loop: one `select!` over the terminal, the station, the answers of the
//! effect worker and a tick. I/O runs on a worker thread, in order, so the screen
//! never waits on a disk or a port.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};

use super::action::{Action, Reply, StationUpdate};
use super::effect::Effect;
use super::exec::Executor;
use super::keymap::{char_action, key_to_action};
use super::scan::{Assembled, BURST_GAP, ScanAssembler};
use super::state::State;
use super::update::update;
use super::view;
use crate::domain::thermal::Window;

pub struct Channels {
    /// Readings and status from the station reader.
    pub station: mpsc::Receiver<StationUpdate>,
    /// Where the runner tells the (simulated) station the current window.
    pub target: watch::Sender<Option<Window>>,
    /// Background tasks of the bench (shop hub sync, CFX publisher): each gives its
    /// one-line state for the header, read once a second, e.g.
    /// `Box::new(move || rx.borrow().header_text())` for a `watch::Receiver`.
    pub background: Vec<Box<dyn Fn() -> String + Send>>,
    /// The store's durable head: records appended beside the screen (decisions
    /// mirrored from the hub) are shown without a key press.
    pub records: Option<watch::Receiver<u64>>,
}

/// Runs the terminal application until the user quits.
pub async fn run(mut state: State, exec: Executor, mut channels: Channels) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut state, exec, &mut channels).await;
    ratatui::restore();
    result
}

/// The next head of the store, or never (no store to follow, or it closed).
async fn records_changed(rx: &mut Option<watch::Receiver<u64>>) -> Option<u64> {
    if let Some(r) = rx
        && r.changed().await.is_ok()
    {
        return Some(*r.borrow_and_update());
    }
    std::future::pending().await
}

/// Effects go to one worker thread in order; answers come back on a channel.
fn spawn_worker(exec: Executor) -> std::io::Result<Worker> {
    let (tx, rx) = std::sync::mpsc::channel::<Effect>();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let thread = std::thread::Builder::new()
        .name("traveler-io".into())
        .spawn(move || {
            // Every effect is carried out, even after the screen has gone: what
            // was asked to be saved before quitting is saved.
            for effect in rx {
                if let Some(o) = exec.run(effect) {
                    let _ = out_tx.send(o);
                }
            }
        })?;
    Ok(Worker {
        work: tx,
        answers: out_rx,
        thread,
    })
}

struct Worker {
    work: std::sync::mpsc::Sender<Effect>,
    answers: mpsc::UnboundedReceiver<Reply>,
    thread: std::thread::JoinHandle<()>,
}

impl Worker {
    /// Waits until every effect sent so far has been carried out.
    fn finish(self) {
        drop(self.work);
        let _ = self.thread.join();
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut State,
    exec: Executor,
    channels: &mut Channels,
) -> anyhow::Result<()> {
    let mut worker = spawn_worker(exec)?;
    let result = select_loop(terminal, state, channels, &worker.work, &mut worker.answers).await;
    worker.finish();
    result
}

async fn select_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut State,
    channels: &mut Channels,
    work: &std::sync::mpsc::Sender<Effect>,
    answers: &mut mpsc::UnboundedReceiver<Reply>,
) -> anyhow::Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut assembler = ScanAssembler::default();
    let mut dirty = true;
    // Scrolling screens page by what fits: the size is known before the first key.
    let size = terminal.size()?;
    update(state, Action::Resize(size.width, size.height));

    loop {
        if dirty {
            terminal.draw(|f| view::draw(state, f))?;
            dirty = false;
        }
        let burst_wait = if assembler.pending() {
            BURST_GAP
        } else {
            Duration::from_secs(3600)
        };
        let mut actions = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    let now = Instant::now();
                    let editing = state.editing();
                    let assemble = !editing || state.scans_while_editing();
                    let plain = !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                    let assembled = match key.code {
                        KeyCode::Char(c) if assemble && plain => assembler.char(c, now),
                        KeyCode::Enter if assemble => assembler.enter(now),
                        _ => {
                            let mut out: Vec<Assembled> = assembler.flush_as_keys();
                            actions.extend(out.drain(..).map(|a| assembled_action(editing, a)));
                            actions.extend(key_to_action(editing, key));
                            Vec::new()
                        }
                    };
                    actions.extend(assembled.into_iter().map(|a| assembled_action(editing, a)));
                }
                Some(Ok(TermEvent::Resize(w, h))) => actions.push(Action::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            Some(outcome) = answers.recv() => actions.push(Action::Done(Box::new(outcome))),
            Some(update) = channels.station.recv() => actions.push(Action::Station(update)),
            Some(seq) = records_changed(&mut channels.records) => actions.push(Action::RecordsArrived(seq)),
            _ = tick.tick() => {
                state.background = channels.background.iter().map(|f| f()).collect();
                actions.push(Action::Tick(Utc::now()));
            }
            _ = tokio::time::sleep(burst_wait) => {
                let editing = state.editing();
                actions.extend(assembler.tick(Instant::now()).into_iter().map(|a| assembled_action(editing, a)));
            }
        }
        for action in actions {
            let effects = update(state, action);
            dirty = true;
            for effect in effects {
                match effect {
                    Effect::Bell => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(b"\x07");
                        let _ = out.flush();
                    }
                    Effect::StationTarget(w) => {
                        let _ = channels.target.send(w);
                    }
                    other => {
                        if work.send(other).is_err() {
                            anyhow::bail!("the I/O worker stopped");
                        }
                    }
                }
            }
        }
        if state.quit {
            return Ok(());
        }
    }
}

fn assembled_action(editing: bool, a: Assembled) -> Action {
    match a {
        Assembled::Char(c) => char_action(editing, c),
        Assembled::Scan(s) => Action::Scan(s),
        Assembled::Enter => Action::Enter,
    }
}

/// Headless: runs the effects an update asked for, synchronously, feeding every
/// answer back. Tests drive whole jobs through this.
pub fn settle(state: &mut State, exec: &Executor, effects: Vec<Effect>) {
    let mut queue: std::collections::VecDeque<Effect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        if let Some(reply) = exec.run(effect) {
            queue.extend(update(state, Action::Done(Box::new(reply))));
        }
    }
}

/// Headless: one action and everything it leads to.
pub fn dispatch(state: &mut State, exec: &Executor, action: Action) {
    let effects = update(state, action);
    settle(state, exec, effects);
}

/// Headless: the effects of one action are carried out, but their answers are
/// held back and returned, to be delivered later (a slow disk, a busy worker).
pub fn dispatch_held(state: &mut State, exec: &Executor, action: Action) -> Vec<Reply> {
    update(state, action)
        .into_iter()
        .filter_map(|e| exec.run(e))
        .collect()
}
