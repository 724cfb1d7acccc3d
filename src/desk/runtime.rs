//! The desk's event loop: one `select!` over the terminal, the hub's answers, the
//! hub's changes and a clock tick. Effects run as tasks; their answers come back
//! through the same channel as the changes.

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::exec::{Executor, follow};
use super::state::DeskState;
use super::update::{Effect, Msg, start, update};

pub async fn run(mut s: DeskState, exec: Executor) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut s, exec).await;
    ratatui::restore();
    result
}

fn spawn_all(exec: &Executor, tx: &mpsc::UnboundedSender<Msg>, effects: Vec<Effect>) {
    for e in effects {
        let exec = exec.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(exec.run(e).await);
        });
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    s: &mut DeskState,
    exec: Executor,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let follower = tokio::spawn(follow(exec.client().clone(), tx.clone()));
    let size = terminal.size()?;
    s.size = (size.width, size.height);
    let fx = start(s);
    spawn_all(&exec, &tx, fx);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    while !s.quit {
        terminal.draw(|f| super::view::draw(s, f))?;
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    match crate::tui::keymap::key_to_action(s.editing(), k) {
                        Some(a) => Msg::Input(a),
                        None => continue,
                    }
                }
                Some(Ok(TermEvent::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(m) = rx.recv() => m,
            _ = tick.tick() => Msg::Tick(Utc::now()),
        };
        let fx = update(s, msg);
        spawn_all(&exec, &tx, fx);
    }
    follower.abort();
    Ok(())
}
