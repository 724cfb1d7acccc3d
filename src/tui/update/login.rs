//! Log-in and the job list.

use super::*;

pub(super) fn login_input(state: &mut State, input: Action) -> Vec<Effect> {
    let Screen::Login(f) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Scan(badge) => {
            f.badge.value = badge.trim().to_string();
            f.focus = 1;
            f.error = None;
        }
        Action::Tab | Action::Down | Action::BackTab | Action::Up => f.focus = 1 - f.focus,
        Action::Esc => {
            if f.badge.value.is_empty() && f.pin.value.is_empty() {
                state.quit = true;
            } else {
                *f = LoginForm::default();
            }
        }
        Action::Enter => {
            if f.focus == 0 {
                if !f.badge.trimmed().is_empty() {
                    f.focus = 1;
                }
            } else if f.badge.trimmed().is_empty() {
                f.focus = 0;
                f.error = Some("scan or type your badge first".into());
            } else if f.pin.value.is_empty() {
                f.error = Some("type your PIN".into());
            } else {
                f.error = None;
                let pin = std::mem::take(&mut f.pin.value);
                return vec![Effect::Login {
                    badge: f.badge.trimmed().to_string(),
                    pin,
                }];
            }
        }
        other => {
            let field = if f.focus == 0 {
                &mut f.badge
            } else {
                &mut f.pin
            };
            edit(field, &other);
        }
    }
    Vec::new()
}

pub(super) fn home_input(state: &mut State, input: Action) -> Vec<Effect> {
    let is_supervisor = state
        .user
        .as_ref()
        .is_some_and(|p| p.has_role(Role::Supervisor));
    let is_admin = state.user.as_ref().is_some_and(|p| p.has_role(Role::Admin));
    let Screen::Home(h) = &mut state.screen else {
        return Vec::new();
    };
    match input {
        Action::Up => h.selected = h.selected.saturating_sub(1),
        Action::Down => h.selected = (h.selected + 1).min(h.jobs.len().saturating_sub(1)),
        Action::Enter => {
            if let Some(j) = h.jobs.get(h.selected) {
                return vec![Effect::OpenJob { job: j.id.clone() }];
            }
        }
        Action::Command('n') => state.screen = Screen::Start(Box::default()),
        Action::Command('t') => state.screen = Screen::Lookup(Box::default()),
        Action::Command('c') if is_supervisor || is_admin => {
            state.screen = Screen::People(Box::default());
            return vec![Effect::LoadPeople];
        }
        Action::Command('c') => state.flash(
            FlashKind::Error,
            "The certification view is for supervisors",
        ),
        Action::Command('r') if is_supervisor => {
            state.screen = Screen::Review(Box::default());
            return vec![Effect::LoadReviewQueue];
        }
        Action::Command('r') => state.flash(FlashKind::Error, "Review needs the supervisor role"),
        Action::Command('l') | Action::Esc => {
            let badge = state.badge().unwrap_or_default().to_string();
            log_out(state);
            return vec![Effect::Logout {
                badge,
                reason: "logged out".into(),
            }];
        }
        Action::Scan(serial) => {
            // Scanning a board on the home screen starts a job for it.
            let mut form = StartForm::default();
            form.fields[0].value = serial.trim().to_string();
            form.focus = 1;
            state.screen = Screen::Start(Box::new(form));
            return vec![Effect::LoadBoard {
                serial: serial.trim().to_string(),
            }];
        }
        _ => {}
    }
    Vec::new()
}
