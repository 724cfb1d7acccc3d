//! The desk's key tables, one per screen and dialog, in the bench's form
//! (`tui::keys::Binding`): `update` dispatches through them, the footer shows them
//! and `?` explains them.

use super::state::{DeskState, Modal};
use crate::tui::keys::{Binding, Cmd, Key as K, b, bw};

fn has_entries(s: &DeskState) -> bool {
    !s.visible().is_empty()
}

/// A submission waiting for a decision, every sealed step's samples at the hub
/// (the hub refuses a decision before: `ReviewRefusal::SamplesNotReceived`; the
/// open screen says why): approve and reject do something.
fn decidable(s: &DeskState) -> bool {
    s.open
        .as_ref()
        .is_some_and(|o| o.submission.is_some() && o.samples_pending == 0)
}

fn has_charts(s: &DeskState) -> bool {
    s.open.as_ref().is_some_and(|o| !o.review.traces.is_empty())
}

fn other_chart(s: &DeskState) -> bool {
    s.open.as_ref().is_some_and(|o| {
        if o.review.charts {
            o.review.traces.len() > 1
        } else {
            !o.review.traces.is_empty()
        }
    })
}

fn open_scrolls(s: &DeskState) -> bool {
    s.open.as_ref().is_some_and(|o| o.review.charts) || super::view::open_scroll_room(s).0 > 0
}

fn help_scrolls(s: &DeskState) -> bool {
    super::view::help_scroll_room(s).0 > 0
}

pub const QUEUE: &[Binding<DeskState>] = &[
    bw(&[K::Enter], "Enter", "open", Cmd::Next, has_entries),
    b(
        &[K::Char('/'), K::Char('f')],
        "/",
        "filter",
        Cmd::Filter,
        true,
    ),
    b(&[K::Char('g')], "g", "job by id", Cmd::Find, true),
    b(&[K::Char('r')], "r", "read again", Cmd::Refresh, true),
    b(&[K::Up], "↑", "previous job", Cmd::Up, false),
    b(&[K::Down], "↓", "next job", Cmd::Down, false),
    b(&[K::Help], "?", "help", Cmd::Help, true),
    b(&[K::Quit], "^Q", "quit", Cmd::Quit, true),
];

pub const FILTER: &[Binding<DeskState>] = &[
    b(
        &[K::Enter, K::Esc],
        "Enter",
        "done filtering",
        Cmd::Back,
        true,
    ),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const OPEN: &[Binding<DeskState>] = &[
    bw(&[K::Char('a')], "a", "approve", Cmd::Approve, decidable),
    bw(&[K::Char('x')], "x", "reject", Cmd::Reject, decidable),
    bw(
        &[K::Tab],
        "Tab",
        "record/charts",
        Cmd::NextField,
        has_charts,
    ),
    b(&[K::Left], "←", "previous step's chart", Cmd::Left, false),
    bw(&[K::Right], "←→", "step chart", Cmd::Right, other_chart),
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, open_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::PageUp], "PgUp", "page up", Cmd::PageUp, false),
    b(&[K::PageDown], "PgDn", "page down", Cmd::PageDown, false),
    b(&[K::Home], "Home", "top", Cmd::Top, false),
    b(&[K::End], "End", "bottom", Cmd::Bottom, false),
    b(&[K::Char('r')], "r", "read again", Cmd::Refresh, false),
    b(&[K::Esc], "Esc", "queue", Cmd::Back, true),
    b(&[K::Help], "?", "help", Cmd::Help, true),
];

/// The decision dialog: comment, badge, PIN.
pub const DECIDE: &[Binding<DeskState>] = &[
    b(&[K::Enter], "Enter", "next / send", Cmd::Next, true),
    b(
        &[K::Tab, K::BackTab],
        "Tab",
        "comment/badge/PIN",
        Cmd::NextField,
        true,
    ),
    b(&[K::Esc], "Esc", "cancel", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const FIND: &[Binding<DeskState>] = &[
    b(&[K::Enter], "Enter", "open", Cmd::Next, true),
    b(&[K::Esc], "Esc", "cancel", Cmd::Back, true),
    b(&[K::Help], "F1", "help", Cmd::Help, true),
];

pub const HELP: &[Binding<DeskState>] = &[
    bw(&[K::Up], "↑↓", "scroll", Cmd::Up, help_scrolls),
    b(&[K::Down], "↓", "scroll down", Cmd::Down, false),
    b(&[K::PageUp], "PgUp", "page up", Cmd::PageUp, false),
    b(&[K::PageDown], "PgDn", "page down", Cmd::PageDown, false),
    b(&[K::Home], "Home", "top", Cmd::Top, false),
    b(&[K::End], "End", "bottom", Cmd::Bottom, false),
    b(&[K::Esc], "any other key", "close help", Cmd::Back, true),
];

/// The table of whatever has the keyboard now.
pub fn table(s: &DeskState) -> &'static [Binding<DeskState>] {
    if s.help {
        return HELP;
    }
    screen_table(s)
}

/// The table of the screen or dialog, under the help if it is open.
pub fn screen_table(s: &DeskState) -> &'static [Binding<DeskState>] {
    match &s.modal {
        Some(Modal::Decide(_)) => DECIDE,
        Some(Modal::Find(_)) => FIND,
        None if s.filtering => FILTER,
        None if s.open.is_some() => OPEN,
        None => QUEUE,
    }
}

pub fn command(s: &DeskState, action: &crate::tui::action::Action) -> Option<Cmd> {
    crate::tui::keys::command_in(table(s), action)
}

pub fn footer(s: &DeskState) -> Vec<(&'static str, &'static str)> {
    crate::tui::keys::footer_in(table(s), s)
}

/// Every key the footer may show here, whatever the moment: the layout keeps room
/// for them all, so which are shown (some depend on the layout) cannot move it.
pub fn footer_all(s: &DeskState) -> Vec<(&'static str, &'static str)> {
    table(s)
        .iter()
        .filter(|b| b.footer)
        .map(|b| (b.label, b.what))
        .collect()
}

pub fn help(s: &DeskState) -> Vec<(String, &'static str)> {
    crate::tui::keys::help_in(screen_table(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No key means two things on one screen.
    #[test]
    fn tables_are_consistent() {
        for t in [QUEUE, FILTER, OPEN, DECIDE, FIND, HELP] {
            let mut seen = Vec::new();
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
