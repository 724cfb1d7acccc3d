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
    policy::run_refusals(
        policy,
        person,
        &facts,
        class,
        &form.refdes(),
        prior,
        state.now,
    )
}

pub(super) fn start_input(state: &mut State, input: Action) -> Vec<Effect> {
    let n_instr = state.library.instructions.len();
    let n_alloys = state.library.alloys.len().max(1);
    let Screen::Start(f) = &mut state.screen else {
        return Vec::new();
    };
    f.error = None;
    let mut fx = Vec::new();
    let leaving_serial = f.focus == 0
        && matches!(
            input,
            Action::Enter | Action::Tab | Action::Down | Action::Scan(_)
        );
    match input {
        Action::Esc => return go_home(state),
        Action::Tab => f.focus = (f.focus + 1).min(StartForm::LIST),
        Action::BackTab => f.focus = f.focus.saturating_sub(1),
        Action::Down if f.focus == StartForm::LIST => {
            f.selected = (f.selected + 1).min(n_instr.saturating_sub(1))
        }
        Action::Up if f.focus == StartForm::LIST => {
            if f.selected == 0 {
                f.focus -= 1;
            } else {
                f.selected -= 1;
            }
        }
        Action::Down => f.focus = (f.focus + 1).min(StartForm::LIST),
        Action::Up => f.focus = f.focus.saturating_sub(1),
        Action::Left | Action::Right if f.focus == StartForm::CLASS => {
            f.class = if input == Action::Left {
                f.class.saturating_sub(1)
            } else {
                (f.class + 1).min(2)
            }
        }
        Action::Left | Action::Right if f.focus == StartForm::ALLOY => {
            f.alloy = if input == Action::Left {
                (f.alloy + n_alloys - 1) % n_alloys
            } else {
                (f.alloy + 1) % n_alloys
            }
        }
        Action::Command(c @ '1'..='3') if f.focus == StartForm::CLASS => {
            f.class = (c as usize) - ('1' as usize)
        }
        Action::Scan(text) if f.focus < START_FIELDS => {
            f.fields[f.focus].value = text.trim().to_string();
            f.focus += 1;
        }
        Action::Enter if f.focus < StartForm::LIST => f.focus += 1,
        Action::Enter => return start_job(state),
        other if f.focus < START_FIELDS => {
            edit(&mut f.fields[f.focus], &other);
        }
        _ => {}
    }
    if leaving_serial {
        let serial = f.fields[0].trimmed().to_string();
        if !serial.is_empty() && f.prior.as_ref().is_none_or(|(s, _)| *s != serial) {
            f.prior = None;
            fx.push(Effect::LoadBoard { serial });
        }
    }
    fx
}

pub(super) fn start_job(state: &mut State) -> Vec<Effect> {
    let Screen::Start(f) = &state.screen else {
        return Vec::new();
    };
    let Some(instruction) = state.library.instructions.get(f.selected) else {
        return Vec::new();
    };
    let Some(person) = &state.user else {
        return Vec::new();
    };
    let labels = [
        "board serial",
        "assembly part number",
        "assembly revision",
        "reference designator(s)",
        "defect or NCR reference",
    ];
    let missing: Vec<&str> = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| f.fields[*i].trimmed().is_empty())
        .map(|(_, l)| *l)
        .collect();
    let mut error = None;
    if !missing.is_empty() {
        error = Some(format!("Fill in: {}", missing.join(", ")));
    } else if f.prior.is_none() {
        error = Some("Still reading the board's history; try again in a moment".to_string());
    } else if let reasons = refusals(state, f, instruction)
        && !reasons.is_empty()
    {
        let text: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
        error = Some(format!(
            "{} cannot be run: {}",
            instruction.id(),
            text.join("; ")
        ));
    } else if let Some(policy) = &state.library.policy
        && let Err(e) = policy::check_approval(
            policy,
            instruction.spec.activity,
            f.fields[StartForm::APPROVAL].trimmed(),
        )
    {
        error = Some(e);
    }
    let alloy = state
        .library
        .alloys
        .get(f.alloy)
        .map(|a| a.id.get_ref().clone())
        .unwrap_or_default();
    if let Some(e) = error {
        if let Screen::Start(f) = &mut state.screen {
            f.error = Some(e);
        }
        return Vec::new();
    }
    let job = format!("{}-{}", state.bench, state.now.format("%Y%m%d-%H%M%S"));
    let approval = f.fields[StartForm::APPROVAL].trimmed();
    let needs_ref = state
        .library
        .policy
        .as_ref()
        .and_then(|p| p.approval(instruction.spec.activity))
        .is_some_and(|a| a.required);
    let event = Event::JobStarted {
        job: job.clone(),
        board_serial: f.fields[0].trimmed().to_string(),
        assembly_part: f.fields[1].trimmed().to_string(),
        assembly_rev: f.fields[2].trimmed().to_string(),
        refdes: f.refdes(),
        defect_ref: f.fields[4].trimmed().to_string(),
        class: ProductClass::ALL[f.class.min(2)],
        alloy,
        instruction_id: instruction.id().to_string(),
        instruction_rev: instruction.revision().to_string(),
        instruction_hash: instruction.hash.clone(),
        step_count: instruction.spec.steps.len() as u32,
        approval_ref: (needs_ref || !approval.is_empty()).then(|| approval.to_string()),
        bench: state.bench.clone(),
        performer: person.badge.clone(),
        procedures: instruction.procedure_refs(),
    };
    vec![Effect::Append {
        actor: person.badge.clone(),
        job: job.clone(),
        events: vec![event, Event::StepStarted { job, step: 0 }],
    }]
}
