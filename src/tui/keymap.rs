//! Keys to actions. Letters are commands unless a text field has the keyboard.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use crate::domain::gs1::GS;

pub fn key_to_action(editing: bool, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c' | 'q') if ctrl => Action::Quit,
        KeyCode::Char('u') if ctrl => Action::ClearField,
        // Scanners in keyboard mode send the GS1 group separator as Ctrl+].
        KeyCode::Char(']') | KeyCode::Char('5') if ctrl => Action::Char(GS),
        KeyCode::Char(_) if ctrl => return None,
        KeyCode::Char(c) => char_action(editing, c),
        KeyCode::Enter => Action::Enter,
        KeyCode::Esc => Action::Esc,
        KeyCode::Tab => Action::Tab,
        KeyCode::BackTab => Action::BackTab,
        KeyCode::Backspace => Action::Backspace,
        KeyCode::Up => Action::Up,
        KeyCode::Down => Action::Down,
        KeyCode::Left => Action::Left,
        KeyCode::Right => Action::Right,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::End => Action::End,
        KeyCode::F(1) => Action::Help,
        _ => return None,
    })
}

pub fn char_action(editing: bool, c: char) -> Action {
    if editing {
        Action::Char(c)
    } else if c == '?' {
        Action::Help
    } else {
        Action::Command(c.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn keymap_table() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let cases = [
            (
                false,
                k(KeyCode::Char('N'), KeyModifiers::SHIFT),
                Some(Action::Command('n')),
            ),
            (
                true,
                k(KeyCode::Char('N'), KeyModifiers::SHIFT),
                Some(Action::Char('N')),
            ),
            (false, k(KeyCode::Char('?'), none), Some(Action::Help)),
            (true, k(KeyCode::Char('?'), none), Some(Action::Char('?'))),
            (true, k(KeyCode::Char('q'), ctrl), Some(Action::Quit)),
            (true, k(KeyCode::Char(']'), ctrl), Some(Action::Char(GS))),
            (true, k(KeyCode::Char('x'), ctrl), None),
            (false, k(KeyCode::F(1), none), Some(Action::Help)),
        ];
        for (editing, key, want) in cases {
            assert_eq!(key_to_action(editing, key), want, "{key:?}");
        }
    }
}
