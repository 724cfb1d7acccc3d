//! The new-job form: what the person may run on this board, and starting it.

use super::*;

/// Why the logged-in person may not run `instruction` on the board described in
/// the form; empty when they may.
pub fn refusals(state: &State, form: &StartForm, instruction: &Instruction) -> Vec<Refusal> {
    let (Some(person), Some(policy)) = (&state.user, &state.library.policy) else {
        return Vec::new();
    };
    let class = ProductClass::ALL[form.class.min(2)];
    let facts = instruction.facts(&state.library);
    let prior: &[PriorJob] = form.prior.as_ref().map_or(&[], |(_, p)| p.as_slice());
    let mut why = policy::run_refusals(
        policy,
        person,
        &facts,
        class,
        &form.refdes(),
        prior,
        state.now,
    );
    // A draft or a file changed since release: greyed with the reason the core gives.
    why.extend(state.library.release_refusal(instruction));
    why
}

pub(super) fn start_input(state: &mut State, input: Action) -> Vec<Effect> {
    let n_instr = state.library.instructions.len();
    let n_alloys = state.library.alloys.len().max(1);
    let cmd = keys::command(state, &input);
    let Screen::Start(f) = &mut state.screen else {
        return Vec::new();
    };
    f.error = None;
    let mut fx = Vec::new();
    let leaving_serial = f.focus == 0
        && (matches!(input, Action::Scan(_)) || matches!(cmd, Some(Cmd::Next | Cmd::NextField)));
    match (cmd, input) {
        (_, Action::Scan(text)) if f.focus < START_FIELDS => {
            f.fields[f.focus].value = text.trim().to_string();
            f.fields[f.focus].suggested = false;
            f.focus += 1;
        }
        (Some(Cmd::Back), _) => return go_home(state),
        (Some(Cmd::NextField), Action::Down) if f.focus == StartForm::LIST => {
            f.selected = (f.selected + 1).min(n_instr.saturating_sub(1))
        }
        (Some(Cmd::PrevField), Action::Up) if f.focus == StartForm::LIST && f.selected > 0 => {
            f.selected -= 1;
        }
        (Some(Cmd::NextField), _) => f.focus = (f.focus + 1).min(StartForm::LIST),
        (Some(Cmd::PrevField), _) => f.focus = f.focus.saturating_sub(1),
        (Some(Cmd::Left | Cmd::Right), input) if f.focus == StartForm::CLASS => {
            f.class = if input == Action::Left {
                f.class.saturating_sub(1)
            } else {
                (f.class + 1).min(2)
            }
        }
        (Some(Cmd::Left | Cmd::Right), input) if f.focus == StartForm::ALLOY => {
            f.alloy = if input == Action::Left {
                (f.alloy + n_alloys - 1) % n_alloys
            } else {
                (f.alloy + 1) % n_alloys
            }
        }
        (Some(Cmd::Class), Action::Command(c @ '1'..='3')) if f.focus == StartForm::CLASS => {
            f.class = (c as usize) - ('1' as usize)
        }
        (Some(Cmd::Next), _) if f.focus < StartForm::LIST => f.focus += 1,
        (Some(Cmd::Next), _) => return start_job(state),
        (_, other) if f.focus < START_FIELDS => {
            edit(&mut f.fields[f.focus], &other);
        }
        _ => {}
    }
    if leaving_serial {
        let serial = f.fields[0].trimmed().to_string();
        if !serial.is_empty() && f.prior.as_ref().is_none_or(|(s, _)| *s != serial) {
            f.prior = None;
            f.history = None;
            fx.push(read(state, Ask::Board, Read::Board { serial }));
        }
    }
    fx
}

/// Asks the core to start the job; the core checks everything again.
pub(super) fn start_job(state: &mut State) -> Vec<Effect> {
    let Screen::Start(f) = &state.screen else {
        return Vec::new();
    };
    let Some(instruction) = state.library.instructions.get(f.selected) else {
        return Vec::new();
    };
    // Greyed: say why at once, by the rule the core applies (it checks again).
    let why = refusals(state, f, instruction);
    if !why.is_empty() {
        let text = format!(
            "{} cannot start: {}",
            instruction.id(),
            why.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        );
        if let Screen::Start(f) = &mut state.screen {
            f.error = Some(text);
        }
        return Vec::new();
    }
    let alloy = state
        .library
        .alloys
        .get(f.alloy)
        .map(|a| a.id.get_ref().clone())
        .unwrap_or_default();
    let new = crate::domain::command::NewJob {
        board_serial: f.fields[0].trimmed().to_string(),
        assembly_part: f.fields[1].trimmed().to_string(),
        assembly_rev: f.fields[2].trimmed().to_string(),
        refdes: f.refdes(),
        defect_ref: f.fields[4].trimmed().to_string(),
        approval_ref: f.fields[StartForm::APPROVAL].trimmed().to_string(),
        class: ProductClass::ALL[f.class.min(2)],
        alloy,
        instruction_id: instruction.id().to_string(),
    };
    let (_, e) = command(state, "start job", None, Command::StartJob(Box::new(new)));
    vec![e]
}
