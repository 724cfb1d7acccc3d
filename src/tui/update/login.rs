//! Log-in and the job list.

use super::*;

pub(super) fn login_input(state: &mut State, input: Action) -> Vec<Effect> {
    let cmd = keys::command(state, &input);
    let Screen::Login(f) = &mut state.screen else {
        return Vec::new();
    };
    match (cmd, input) {
        // Digits typed fast onto the PIN field (a keypad) are a PIN, unless they
        // are the badge scanned again.
        (_, Action::Scan(burst))
            if f.focus == 1
                && burst.trim() != f.badge.trimmed()
                && !burst.trim().is_empty()
                && burst.trim().chars().all(|c| c.is_ascii_digit()) =>
        {
            f.pin.value = burst.trim().to_string();
            return login_input(state, Action::Enter);
        }
        // A badge scanned anywhere on the form starts the log-in again with it:
        // it never lands in the PIN field, so it never costs a PIN try.
        (_, Action::Scan(badge)) => {
            *f = LoginForm::default();
            f.badge.value = badge.trim().to_string();
            f.focus = 1;
        }
        (Some(Cmd::NextField), _) => f.focus = 1 - f.focus,
        (Some(Cmd::Back), _) => {
            if f.badge.value.is_empty() && f.pin.value.is_empty() {
                state.quit = true;
            } else {
                *f = LoginForm::default();
            }
        }
        (Some(Cmd::Next), _) => {
            if f.focus == 0 {
                if f.badge.trimmed().is_empty() {
                    f.error = Some("scan or type your badge first".into());
                } else {
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
                let badge = f.badge.trimmed().to_string();
                let id = state.ask(Ask::Command("log-in"));
                return vec![Effect::Command(Box::new(Request {
                    id,
                    by: badge.clone(),
                    credentials: Some(Credentials { badge, pin }),
                    command: Command::LogIn,
                }))];
            }
        }
        (_, other) => {
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
    let cmd = keys::command(state, &input);
    let Screen::Home(h) = &mut state.screen else {
        return Vec::new();
    };
    if let Action::Scan(serial) = input {
        // Scanning a board on the home screen starts a job for it.
        let mut form = StartForm::default();
        form.fields[0].value = serial.trim().to_string();
        form.focus = 1;
        state.show(Screen::Start(Box::new(form)));
        let serial = serial.trim().to_string();
        return vec![read(state, Ask::Board, Read::Board { serial })];
    }
    match cmd {
        Some(Cmd::Up) => h.selected = h.selected.saturating_sub(1),
        Some(Cmd::Down) => h.selected = (h.selected + 1).min(h.jobs.len().saturating_sub(1)),
        Some(Cmd::Resume) => {
            if let Some(j) = h.jobs.get(h.selected) {
                let job = j.id.clone();
                return vec![read(state, Ask::OpenJob, Read::OpenJob { job })];
            }
        }
        Some(Cmd::NewJob) => {
            state.show(Screen::Start(Box::default()));
            // Releases mirrored from the hub since the start grey out no longer.
            return vec![read(state, Ask::Home, Read::Releases)];
        }
        Some(Cmd::Trace) => state.show(Screen::Lookup(Box::default())),
        Some(Cmd::Certs) if is_supervisor || is_admin => {
            state.show(Screen::People(Box::default()));
            return vec![read(state, Ask::People, Read::People)];
        }
        Some(Cmd::Certs) => state.flash(
            FlashKind::Error,
            "The certification view is for supervisors",
        ),
        Some(Cmd::Review) if is_supervisor => {
            state.show(Screen::Review(Box::default()));
            return vec![read(state, Ask::ReviewQueue, Read::ReviewQueue)];
        }
        Some(Cmd::Review) => state.flash(FlashKind::Error, "Review needs the supervisor role"),
        Some(Cmd::LogOut) => {
            let badge = state.badge().unwrap_or_default().to_string();
            let e = log_out_command(state, &badge, "logged out".into());
            log_out(state);
            return vec![e];
        }
        _ => {}
    }
    Vec::new()
}
