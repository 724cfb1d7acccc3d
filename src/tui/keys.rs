//! One key table per screen (and per dialog). `update` dispatches through it, the
//! footer shows it and `?` explains it, so the footer can never offer a key that
//! does something else.

use super::action::Action;
use super::state::{Modal, RunnerState, Screen, SignStage, State};
use crate::domain::job::JobStatus;
use crate::domain::types::Role;

/// A key as the tables name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// Any of 1–9.
    Digit,
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    /// Global keys the runtime handles before any table (listed for the footer).
    Help,
    Quit,
}

/// What a key does on the screen where it is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    // Shared.
    Next,
    Back,
    Up,
    Down,
    Left,
    Right,
    NextField,
    PrevField,
    Help,
    Quit,
    PageUp,
    PageDown,
    Top,
    Bottom,
    // Home.
    NewJob,
    Resume,
    Trace,
    Review,
    Certs,
    LogOut,
    // Start.
    Class,
    // Runner.
    Sign,
    Lot,
    SameLot,
    Acknowledge,
    CompleteStep,
    Suspend,
    /// The part removed or fitted at a step that records one.
    Component,
    // Held.
    Redo,
    Abort,
    // Sign dialog.
    Pass,
    Fail,
    // Summary.
    Submit,
    Reopen,
    // Review.
    Approve,
    Reject,
    Export,
    Filter,
    // Desk (`crate::desk`).
    Refresh,
    Find,
}

/// `S` is the state the `when` tests read: the bench's by default; the desk
/// (`crate::desk`) has tables of its own over its own state.
pub struct Binding<S: 'static = State> {
    pub keys: &'static [Key],
    /// How the footer and help name the keys ("Enter", "p/f").
    pub label: &'static str,
    /// Short, for the footer.
    pub what: &'static str,
    pub cmd: Cmd,
    /// Shown in the footer (every binding is in the help).
    pub footer: bool,
    /// Shown in the footer only while it does something here (a lot to reuse, a
    /// record that scrolls, a role that may): the footer never offers a dead key.
    pub when: fn(&S) -> bool,
}

pub const fn b<S>(
    keys: &'static [Key],
    label: &'static str,
    what: &'static str,
    cmd: Cmd,
    footer: bool,
) -> Binding<S> {
    Binding {
        keys,
        label,
        what,
        cmd,
        footer,
        when: always,
    }
}

/// A footer binding shown only while `when` holds.
pub const fn bw<S>(
    keys: &'static [Key],
    label: &'static str,
    what: &'static str,
    cmd: Cmd,
    when: fn(&S) -> bool,
) -> Binding<S> {
    Binding {
        keys,
        label,
        what,
        cmd,
        footer: true,
        when,
    }
}

fn always<S>(_: &S) -> bool {
    true
}

fn runner(state: &State) -> Option<&RunnerState> {
    match &state.screen {
        Screen::Runner(r) => Some(r),
        _ => None,
    }
}

fn checkpoints(state: &State) -> usize {
    runner(state)
        .and_then(|r| r.instruction.spec.steps.get(r.step as usize))
        .map_or(0, |s| s.checkpoints.len())
}

fn has_checkpoints(state: &State) -> bool {
    checkpoints(state) > 0
}

fn several_checkpoints(state: &State) -> bool {
    checkpoints(state) > 1
}

fn signed_comment(state: &State) -> bool {
    matches!(&state.modal, Some(Modal::Comment(d)) if d.pin.is_some())
}

fn on_choice(state: &State) -> bool {
    use super::state::StartForm;
    matches!(&state.screen, Screen::Start(f) if f.focus == StartForm::CLASS || f.focus == StartForm::ALLOY)
}

fn needs_lot(state: &State) -> bool {
    runner(state)
        .is_some_and(|r| !crate::tui::update::lot_materials(&r.instruction, r.step).is_empty())
}

/// An alarm recorded and not acknowledged (one still being saved is not yet).
fn has_alarm(state: &State) -> bool {
    runner(state).is_some_and(|r| r.job.open_excursions(r.step).next().is_some())
}

/// The step's instruction says a part comes off or goes on here.
fn records_component(state: &State) -> bool {
    runner(state).is_some_and(|r| {
        r.instruction
            .spec
            .steps
            .get(r.step as usize)
            .is_some_and(|s| s.component.is_some())
    })
}

fn has_same_lot(state: &State) -> bool {
    runner(state).is_some_and(|r| crate::tui::update::previous_lot(r).is_some())
}

fn step_scrolls(state: &State) -> bool {
    crate::tui::view::runner_scroll_room(state).0 > 0
}

fn has_jobs(state: &State) -> bool {
    matches!(&state.screen, Screen::Home(h) if !h.jobs.is_empty())
}

fn supervisor(state: &State) -> bool {
    state
        .user
        .as_ref()
        .is_some_and(|p| p.has_role(Role::Supervisor))
}

fn sees_certs(state: &State) -> bool {
    state
        .user
        .as_ref()
        .is_some_and(|p| p.has_role(Role::Supervisor) || p.has_role(Role::Admin))
}

fn rejected(state: &State) -> bool {
    matches!(&state.screen, Screen::Summary(s) if s.job.status == JobStatus::Rejected)
}

fn summary_scrolls(state: &State) -> bool {
    crate::tui::view::summary_scroll_room(state).0 > 0
}

fn review_scrolls(state: &State) -> bool {
    matches!(&state.screen, Screen::Review(r) if r.charts)
        || crate::tui::view::review_scroll_room(state).0 > 0
}

fn has_charts(state: &State) -> bool {
    matches!(&state.screen, Screen::Review(r) if !r.traces.is_empty())
}

/// ←→ open the charts from the record, or page to another step's chart.
fn other_chart(state: &State) -> bool {
    match &state.screen {
        Screen::Review(r) if r.charts => r.traces.len() > 1,
        Screen::Review(r) => !r.traces.is_empty(),
        _ => false,
    }
}

fn may_review(state: &State) -> bool {
    crate::tui::update::review_refusal_of_open(state).is_none()
}

fn help_scrolls(state: &State) -> bool {
    crate::tui::view::help_scroll_room(state).0 > 0
}

fn queue_has_jobs(state: &State) -> bool {
    matches!(&state.screen, Screen::Review(r) if !crate::tui::update::visible_reviews(r).is_empty())
}

fn has_query(state: &State) -> bool {
    matches!(&state.screen, Screen::Lookup(l) if !l.query.trimmed().is_empty())
}

fn lookup_scrolls(state: &State) -> bool {
    crate::tui::view::lookup_scroll_room(state).0 > 0
}

fn people_scrolls(state: &State) -> bool {
    crate::tui::view::people_scroll_room(state).0 > 0
}

use Key as K;

pub const LOGIN: &[Binding] = &[
    b(&[K::Enter], "Enter", "next / log in", Cmd::Next, true),
    b(
        &[K::Tab, K::BackTab, K::Up, K::Down],
        "Tab",
        "switch field",
        Cmd::NextField,
        true,
    ),
    b(&[K::Esc], "Esc", "clear / quit", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const HOME: &[Binding] = &[
    b(&[K::Char('n')], "n", "new job", Cmd::NewJob, true),
    bw(&[K::Enter], "Enter", "resume", Cmd::Resume, has_jobs),
    b(&[K::Char('t')], "t", "trace", Cmd::Trace, true),
    bw(&[K::Char('r')], "r", "review", Cmd::Review, supervisor),
    bw(&[K::Char('c')], "c", "certs", Cmd::Certs, sees_certs),
    b(&[K::Char('l'), K::Esc], "l", "log out", Cmd::LogOut, true),
    b(&[K::Up], "↑", "previous job", Cmd::Up, false),
    b(&[K::Down], "↓", "next job", Cmd::Down, false),
    b(&[K::Help], "?", "help", Cmd::Help, true),
    b(&[K::Quit], "^Q", "quit", Cmd::Quit, true),
];

pub const START: &[Binding] = &[
    b(&[K::Tab, K::Down], "Tab/↑↓", "move", Cmd::NextField, true),
    b(
        &[K::BackTab, K::Up],
        "⇧Tab",
        "move back",
        Cmd::PrevField,
        false,
    ),
    b(&[K::Left], "←", "class/alloy", Cmd::Left, false),
    bw(&[K::Right], "←→", "class/alloy", Cmd::Right, on_choice),
    b(
        &[K::Digit],
        "1-3",
        "class (on the class field)",
        Cmd::Class,
        false,
    ),
    b(&[K::Enter], "Enter", "next / start", Cmd::Next, true),
    b(&[K::Esc], "Esc", "back", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const RUNNER: &[Binding] = &[
    bw(
        &[K::Enter, K::Char('c')],
        "Enter",
        "sign",
        Cmd::Sign,
        has_checkpoints,
    ),
    bw(&[K::Char('l')], "l", "lot", Cmd::Lot, needs_lot),
    bw(&[K::Char('p')], "p", "same lot", Cmd::SameLot, has_same_lot),
    bw(&[K::Char('a')], "a", "ack", Cmd::Acknowledge, has_alarm),
    b(&[K::Char('n')], "n", "next step", Cmd::CompleteStep, true),
    b(&[K::Char('z')], "z", "suspend", Cmd::Suspend, true),
    bw(
        &[K::Char('m')],
        "m",
        "part removed / fitted",
        Cmd::Component,
        records_component,
    ),
    bw(&[K::Up], "↑↓", "checkpoint", Cmd::Up, several_checkpoints),
    b(&[K::Down], "↓", "next checkpoint", Cmd::Down, false),
    bw(
        &[K::PageDown],
        "PgUp/PgDn",
        "step text",
        Cmd::PageDown,
        step_scrolls,
    ),
    b(&[K::PageUp], "PgUp", "step text up", Cmd::PageUp, false),
    b(&[K::Home], "Home", "top of the step", Cmd::Top, false),
    b(&[K::End], "End", "end of the step", Cmd::Bottom, false),
    b(&[K::Esc, K::Char('h')], "Esc", "jobs", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

pub const HELD: &[Binding] = &[
    b(&[K::Char('r')], "r", "redo step", Cmd::Redo, true),
    b(&[K::Char('x')], "x", "abort job", Cmd::Abort, true),
    b(&[K::Esc], "Esc", "later", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

/// The sign dialog while pass or fail is to be chosen: nothing is chosen for you.
pub const SIGN_CHOICE: &[Binding] = &[
    b(
        &[K::Char('p'), K::Left],
        "p/f ←→",
        "pass/fail",
        Cmd::Pass,
        true,
    ),
    b(&[K::Char('f'), K::Right], "f", "fail", Cmd::Fail, false),
    b(&[K::Enter], "Enter", "next / sign", Cmd::Next, true),
    b(&[K::Esc], "Esc", "cancel", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

pub const SIGN: &[Binding] = &[
    b(&[K::Enter], "Enter", "next / sign", Cmd::Next, true),
    b(&[K::Esc], "Esc", "cancel", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const COMMENT: &[Binding] = &[
    b(&[K::Enter], "Enter", "confirm", Cmd::Next, true),
    bw(
        &[K::Tab, K::BackTab],
        "Tab",
        "comment/PIN",
        Cmd::NextField,
        signed_comment,
    ),
    b(&[K::Esc], "Esc", "cancel", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const LOT: &[Binding] = &[
    b(&[K::Enter], "Enter", "confirm", Cmd::Next, true),
    b(&[K::Esc], "Esc", "cancel", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const SUMMARY: &[Binding] = &[
    b(
        &[K::Enter, K::Char('s')],
        "Enter",
        "submit for review",
        Cmd::Submit,
        true,
    ),
    bw(&[K::Digit], "1-9", "reopen step", Cmd::Reopen, rejected),
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, summary_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::PageUp], "PgUp", "page up", Cmd::PageUp, false),
    b(&[K::PageDown], "PgDn", "page down", Cmd::PageDown, false),
    b(&[K::Home], "Home", "top", Cmd::Top, false),
    b(&[K::End], "End", "bottom", Cmd::Bottom, false),
    b(&[K::Esc, K::Char('h')], "Esc", "jobs", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

pub const REVIEW_OPEN: &[Binding] = &[
    bw(&[K::Char('a')], "a", "approve", Cmd::Approve, may_review),
    bw(&[K::Char('x')], "x", "reject", Cmd::Reject, may_review),
    b(&[K::Char('e')], "e", "export", Cmd::Export, true),
    bw(
        &[K::Tab],
        "Tab",
        "record/charts",
        Cmd::NextField,
        has_charts,
    ),
    b(&[K::Left], "←", "previous step's chart", Cmd::Left, false),
    bw(&[K::Right], "←→", "step chart", Cmd::Right, other_chart),
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, review_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::PageUp], "PgUp", "page up", Cmd::PageUp, false),
    b(&[K::PageDown], "PgDn", "page down", Cmd::PageDown, false),
    b(&[K::Home], "Home", "top", Cmd::Top, false),
    b(&[K::End], "End", "bottom", Cmd::Bottom, false),
    b(&[K::Esc], "Esc", "queue", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

/// The help overlay: it scrolls; any other key closes it.
pub const HELP: &[Binding] = &[
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, help_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::PageUp], "PgUp", "page up", Cmd::PageUp, false),
    b(&[K::PageDown], "PgDn", "page down", Cmd::PageDown, false),
    b(&[K::Home], "Home", "top", Cmd::Top, false),
    b(&[K::End], "End", "bottom", Cmd::Bottom, false),
    b(&[K::Esc], "any other key", "close help", Cmd::Back, true),
];

pub const REVIEW_QUEUE: &[Binding] = &[
    bw(&[K::Enter], "Enter", "open", Cmd::Next, queue_has_jobs),
    b(
        &[K::Char('/'), K::Char('f')],
        "/",
        "filter",
        Cmd::Filter,
        true,
    ),
    b(&[K::Up], "↑", "previous job", Cmd::Up, false),
    b(&[K::Down], "↓", "next job", Cmd::Down, false),
    b(&[K::Esc, K::Char('h')], "Esc", "jobs", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

pub const REVIEW_FILTER: &[Binding] = &[
    b(
        &[K::Enter, K::Esc],
        "Enter",
        "done filtering",
        Cmd::Back,
        true,
    ),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const LOOKUP: &[Binding] = &[
    bw(&[K::Enter], "Enter", "look up", Cmd::Next, has_query),
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, lookup_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::Esc], "Esc", "jobs", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const PEOPLE: &[Binding] = &[
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, people_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::Esc, K::Char('h')], "Esc", "jobs", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

/// The new first line after a scrolling key, given the last first line that
/// still fills the view and the view's height.
pub fn scrolled(cmd: Cmd, top: u16, max: u16, page: u16) -> u16 {
    let top = top.min(max);
    let page = page.saturating_sub(1).max(1);
    match cmd {
        Cmd::Up => top.saturating_sub(1),
        Cmd::Down => top.saturating_add(1).min(max),
        Cmd::PageUp => top.saturating_sub(page),
        Cmd::PageDown => top.saturating_add(page).min(max),
        Cmd::Top => 0,
        Cmd::Bottom => max,
        _ => top,
    }
}

/// The table of whatever has the keyboard now.
pub fn table(state: &State) -> &'static [Binding] {
    if state.help {
        return HELP;
    }
    screen_table(state)
}

/// The table of the screen or dialog, under the help if it is open.
pub fn screen_table(state: &State) -> &'static [Binding] {
    if let Some(m) = &state.modal {
        return match m {
            Modal::Held => HELD,
            Modal::Sign(d) if d.stage == SignStage::Choice => SIGN_CHOICE,
            Modal::Sign(_) => SIGN,
            Modal::Comment(_) => COMMENT,
            Modal::Lot { .. } => LOT,
        };
    }
    match &state.screen {
        Screen::Login(_) => LOGIN,
        Screen::Home(_) => HOME,
        Screen::Start(_) => START,
        Screen::Runner(_) => RUNNER,
        Screen::Summary(_) => SUMMARY,
        Screen::Review(r) if r.filtering => REVIEW_FILTER,
        Screen::Review(r) if r.open.is_some() => REVIEW_OPEN,
        Screen::Review(_) => REVIEW_QUEUE,
        Screen::Lookup(_) => LOOKUP,
        Screen::People(_) => PEOPLE,
    }
}

pub fn key_of(action: &Action) -> Option<Key> {
    Some(match action {
        Action::Command(c) => Key::Char(*c),
        Action::Enter => Key::Enter,
        Action::Esc => Key::Esc,
        Action::Tab => Key::Tab,
        Action::BackTab => Key::BackTab,
        Action::Up => Key::Up,
        Action::Down => Key::Down,
        Action::Left => Key::Left,
        Action::Right => Key::Right,
        Action::PageUp => Key::PageUp,
        Action::PageDown => Key::PageDown,
        Action::Home => Key::Home,
        Action::End => Key::End,
        Action::Help => Key::Help,
        Action::Quit => Key::Quit,
        _ => return None,
    })
}

/// What `action` does on the current screen, by its table; `None` when the table
/// has no such key (text for a field, or nothing).
pub fn command(state: &State, action: &Action) -> Option<Cmd> {
    command_in(table(state), action)
}

/// What `action` does by `table`, whatever state the table is for.
pub fn command_in<S>(table: &[Binding<S>], action: &Action) -> Option<Cmd> {
    let key = key_of(action)?;
    table.iter().find_map(|b| {
        let hit = b
            .keys
            .iter()
            .any(|k| *k == key || (*k == Key::Digit && matches!(key, Key::Char('1'..='9'))));
        hit.then_some(b.cmd)
    })
}

/// The footer's keys of `table` while `state` holds.
pub fn footer_in<S>(table: &[Binding<S>], state: &S) -> Vec<(&'static str, &'static str)> {
    table
        .iter()
        .filter(|b| b.footer && (b.when)(state))
        .map(|b| (b.label, b.what))
        .collect()
}

/// Every key of `table`, for a help overlay.
pub fn help_in<S>(table: &[Binding<S>]) -> Vec<(String, &'static str)> {
    table
        .iter()
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(|k| name(*k)).collect();
            (keys.join(" "), b.what)
        })
        .collect()
}

/// The footer's keys, from the same table.
pub fn footer(state: &State) -> Vec<(&'static str, &'static str)> {
    footer_in(table(state), state)
}

/// Every key the footer may show on this screen, whatever the moment: the
/// screen's layout reserves room for them all, so paging never depends on which
/// are shown.
pub fn footer_all(state: &State) -> Vec<(&'static str, &'static str)> {
    table(state)
        .iter()
        .filter(|b| b.footer)
        .map(|b| (b.label, b.what))
        .collect()
}

/// Every key of the screen's table, for the help overlay.
pub fn help(state: &State) -> Vec<(String, &'static str)> {
    help_in(screen_table(state))
}

fn name(k: Key) -> String {
    match k {
        Key::Char(c) => c.to_string(),
        Key::Digit => "1-9".into(),
        Key::Enter => "Enter".into(),
        Key::Esc => "Esc".into(),
        Key::Tab => "Tab".into(),
        Key::BackTab => "⇧Tab".into(),
        Key::Up => "↑".into(),
        Key::Down => "↓".into(),
        Key::Left => "←".into(),
        Key::Right => "→".into(),
        Key::PageUp => "PgUp".into(),
        Key::PageDown => "PgDn".into(),
        Key::Home => "Home".into(),
        Key::End => "End".into(),
        Key::Help => "?/F1".into(),
        Key::Quit => "Ctrl+Q".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a footer shows does something in its table, and no key means two
    /// things on one screen.
    #[test]
    fn tables_are_consistent() {
        let all = [
            LOGIN,
            HOME,
            START,
            RUNNER,
            HELD,
            SIGN_CHOICE,
            SIGN,
            COMMENT,
            LOT,
            SUMMARY,
            REVIEW_OPEN,
            REVIEW_QUEUE,
            REVIEW_FILTER,
            HELP,
            LOOKUP,
            PEOPLE,
        ];
        for t in all {
            let mut seen: Vec<Key> = Vec::new();
            for b in t {
                assert!(!b.keys.is_empty(), "{} has no key", b.label);
                for k in b.keys {
                    assert!(!seen.contains(k), "{k:?} twice in the table of {}", b.label);
                    seen.push(*k);
                }
            }
        }
    }
}
