//! Answers coming back. Each one is matched to the request that asked: a command's
//! answer is always shown (in the dialog still waiting for it, else in the flash
//! line); a read's answer only changes the screen it was asked on.

use super::*;

pub(super) fn done(state: &mut State, reply: Reply) -> Vec<Effect> {
    let asked = state.requests.remove(&reply.request);
    let here = asked
        .as_ref()
        .is_some_and(|a| a.screen_gen == state.screen_gen);
    match reply.outcome {
        Outcome::Answer(result) => answered(state, reply.request, here, result),
        Outcome::SamplesNotSaved(e) => {
            state.flash(FlashKind::Error, format!("readings NOT saved: {e}"));
            Vec::new()
        }
        Outcome::Error(e) => {
            state.flash(FlashKind::Error, e);
            Vec::new()
        }
        // Releases are the library's, whichever screen is up now.
        Outcome::Releases(book) => {
            if state.library.releases.as_deref() != Some(&*book) {
                let mut library = (*state.library).clone();
                library.releases = Some(book);
                state.library = std::sync::Arc::new(library);
            }
            Vec::new()
        }
        // A read asked on a screen the person has left changes nothing.
        _ if !here => Vec::new(),
        Outcome::Home { jobs, reviews } => {
            if let Screen::Home(h) = &mut state.screen {
                // A list read again keeps the job the cursor was on.
                let on = h.jobs.get(h.selected).map(|j| j.id.clone());
                h.jobs = jobs;
                h.reviews = reviews;
                h.selected = on
                    .and_then(|id| h.jobs.iter().position(|j| j.id == id))
                    .unwrap_or(h.selected)
                    .min(h.jobs.len().saturating_sub(1));
                h.loaded = true;
            }
            Vec::new()
        }
        Outcome::Board {
            serial,
            prior,
            board,
            scope,
            scope_line,
        } => {
            if let Screen::Start(f) = &mut state.screen
                && f.fields[0].trimmed() == serial
            {
                f.prior = Some((serial, prior));
                f.history = scope.map(|s| (s, scope_line));
                // A known board: its assembly comes from its history, unless typed.
                if let Some(b) = &board {
                    for (i, v) in [(1, &b.part), (2, &b.rev)] {
                        if f.fields[i].trimmed().is_empty() {
                            f.fields[i].value = v.clone();
                            f.fields[i].suggested = true;
                        }
                    }
                }
                f.board = board;
            }
            Vec::new()
        }
        Outcome::JobOpened(Ok((job, instruction))) => open_job(state, job, instruction),
        Outcome::JobOpened(Err(e)) | Outcome::ReviewOpened(Err(e)) => {
            state.flash(FlashKind::Error, e);
            Vec::new()
        }
        Outcome::ReviewOpened(Ok(opened)) => {
            if let Screen::Review(r) = &mut state.screen {
                r.chart_step = opened.traces.first().map_or(0, |t| t.step as usize);
                r.open = Some((opened.job, opened.instruction));
                r.traces = opened.traces;
                r.shop_refusal = opened.shop_refusal;
                r.scroll = 0;
            }
            Vec::new()
        }
        Outcome::Lookup(result) => {
            match (result, &mut state.screen) {
                (Ok(found), Screen::Lookup(l)) => {
                    l.result = Some(found);
                    l.scroll = 0;
                }
                (Err(e), _) => state.flash(FlashKind::Error, e),
                _ => {}
            }
            Vec::new()
        }
        Outcome::Exported(result) => {
            match result {
                Ok(path) => state.flash(
                    FlashKind::Saved,
                    format!("Report and record written to {path}"),
                ),
                Err(e) => state.flash(FlashKind::Error, format!("Export failed: {e}")),
            }
            Vec::new()
        }
        Outcome::People(result) => {
            match (result, &mut state.screen) {
                (Ok(people), Screen::People(p)) => {
                    p.people = people;
                    p.loaded = true;
                }
                (Err(e), _) => state.flash(FlashKind::Error, e),
                _ => {}
            }
            Vec::new()
        }
        Outcome::ReviewQueue(queue) => {
            if let Screen::Review(r) = &mut state.screen {
                r.queue = queue;
                r.selected = r.selected.min(r.queue.len().saturating_sub(1));
            }
            Vec::new()
        }
        Outcome::Figure(value) => {
            if let Some(Modal::Sign(d)) = &mut state.modal {
                d.recorded = value;
            }
            Vec::new()
        }
    }
}

/// Whether the open dialog is the one waiting for `id`.
fn modal_waits_for(state: &State, id: RequestId) -> bool {
    match &state.modal {
        Some(Modal::Sign(d)) => d.waiting == Some(id),
        Some(Modal::Comment(d)) => d.waiting == Some(id),
        Some(Modal::Lot { waiting, .. }) => *waiting == Some(id),
        _ => false,
    }
}

fn answered(
    state: &mut State,
    id: RequestId,
    here: bool,
    result: Result<Accepted, Rejection>,
) -> Vec<Effect> {
    let waiting = modal_waits_for(state, id);
    // Readings held while this request sealed their attempt.
    let mut held = Vec::new();
    if let Some(r) = &mut state.recorder
        && r.sealing == Some(id)
    {
        r.sealing = None;
        if result.is_ok() {
            held = std::mem::take(&mut r.pending);
        }
    }
    match result {
        Ok(acc) => {
            if waiting {
                state.modal = None;
            }
            let mut fx = Vec::new();
            if let Some(job) = &acc.job {
                fx.extend(follow_recording(state, job));
            }
            // They came after the completion: the next step's, if it records.
            if let Some(r) = &mut state.recorder
                && acc.job.as_ref().is_some_and(|j| j.id == r.job)
            {
                r.pending.extend(held);
            }
            if let Some((kind, text)) = saved_text(&acc) {
                state.flash(kind, text);
            }
            if acc.events().any(|e| matches!(e, Event::LoggedIn { .. })) {
                return logged_in(state, acc);
            }
            match acc.job.clone() {
                Some(job) if here => fx.extend(job_saved(state, job, &acc)),
                // Asked on an earlier screen: the job shown is brought up to date,
                // but nothing moves.
                Some(job) => refresh_job(state, job),
                None => {}
            }
            fx
        }
        Err(rejection) => {
            refused(state, id, here, waiting, rejection);
            Vec::new()
        }
    }
}

fn logged_in(state: &mut State, acc: Accepted) -> Vec<Effect> {
    let Some(person) = acc.person else {
        return Vec::new();
    };
    state.flash(FlashKind::Info, format!("Welcome, {}", person.name));
    let badge = person.badge.clone();
    state.user = Some(person);
    state.show(Screen::Home(HomeState::default()));
    vec![read(state, Ask::Home, Read::Home { badge })]
}

/// What the person sees of a refusal: in the dialog that asked, else the flash.
fn refused(state: &mut State, id: RequestId, here: bool, waiting: bool, r: Rejection) {
    let text = r.to_string();
    if here && let Screen::Login(f) = &mut state.screen {
        f.error = Some(text);
        f.pin.clear();
        f.focus = 1;
        return;
    }
    if here && let Screen::Start(f) = &mut state.screen {
        f.error = Some(text);
        return;
    }
    if here && let Screen::Runner(runner) = &mut state.screen {
        runner.saving = false;
        if let Rejection::DeviationNeeded { step, kind } = &r
            && state.modal.is_none()
        {
            state.modal = Some(CommentDialog::signed(
                Purpose::Deviate { kind: *kind },
                format!(
                    "Step {} {kind}. Completing it is a DEVIATION: why? (then your PIN)",
                    step + 1
                ),
            ));
            state.flash(FlashKind::Error, text);
            return;
        }
    }
    if waiting {
        match &mut state.modal {
            Some(Modal::Sign(d)) => {
                d.waiting = None;
                d.error = Some(text);
                d.pin.clear();
                d.stage = match r {
                    Rejection::CommentNeeded { .. } => SignStage::Comment,
                    Rejection::VerdictNeeded => SignStage::Choice,
                    Rejection::ValueNeeded => SignStage::Value,
                    _ => SignStage::Pin,
                };
            }
            Some(Modal::Comment(d)) => {
                d.waiting = None;
                d.error = Some(text);
                if let Some(p) = &mut d.pin {
                    p.clear();
                }
            }
            Some(Modal::Lot { error, waiting, .. }) => {
                *waiting = None;
                *error = Some(text);
            }
            _ => {}
        }
        return;
    }
    let _ = id;
    state.flash(FlashKind::Error, format!("Refused: {text}"));
}

/// The flash line for what was saved, from the records as written.
fn saved_text(acc: &Accepted) -> Option<(FlashKind, String)> {
    let job = acc.job.as_ref();
    let mut out = None;
    for rec in &acc.records {
        let t = match &rec.event {
            Event::CheckpointSigned {
                result,
                signer_name,
                meaning,
                recorded,
                measurement,
                ..
            } => {
                let flagged = match (recorded, measurement) {
                    (Some(r), Some(m)) if r.differs(m.value) => {
                        " — FLAGGED: differs from the recorded data"
                    }
                    _ => "",
                };
                Some((
                    FlashKind::Saved,
                    format!(
                        "Signed {result:?}: {signer_name}, {meaning}, {}{flagged} — saved",
                        rec.time.format("%H:%M:%S UTC")
                    ),
                ))
            }
            Event::LotRecorded { lot, material, .. } => {
                let twice = job.is_some_and(|j| j.expiries_seen(lot).len() > 1);
                Some((
                    FlashKind::Saved,
                    format!(
                        "Lot {lot} of {material} recorded{} — saved",
                        if twice {
                            " — FLAGGED: this lot was seen with another expiry"
                        } else {
                            ""
                        }
                    ),
                ))
            }
            Event::LotRefused {
                lot,
                material,
                reason,
                ..
            } => Some((
                FlashKind::Error,
                format!("Lot {lot} of {material} REFUSED: {reason} — the refusal is recorded"),
            )),
            Event::ComponentRemoved {
                refdes,
                part_number,
                ..
            } => Some((
                FlashKind::Saved,
                format!(
                    "Part removed from {}{} — saved",
                    refdes.join(", "),
                    part_number
                        .as_ref()
                        .map(|p| format!(" (P/N {p})"))
                        .unwrap_or_default()
                ),
            )),
            Event::ComponentInstalled {
                refdes,
                part_number,
                lot,
                date_code,
                ..
            } => Some((
                FlashKind::Saved,
                format!(
                    "Part {part_number} fitted at {}{}{} — saved",
                    refdes.join(", "),
                    lot.as_ref()
                        .map(|l| format!(", lot {l}"))
                        .unwrap_or_default(),
                    date_code
                        .as_ref()
                        .map(|d| format!(", date code {d}"))
                        .unwrap_or_default()
                ),
            )),
            Event::StepCompleted { step, .. } => Some((
                FlashKind::Saved,
                format!("Step {} completed — saved", step + 1),
            )),
            Event::Deviated { step, by_name, .. } => Some((
                FlashKind::Saved,
                format!("Deviation on step {} signed by {by_name} — saved", step + 1),
            )),
            Event::ExcursionAcknowledged { id, .. } => Some((
                FlashKind::Saved,
                format!("Alarm {id} acknowledged by {} — saved", rec.actor),
            )),
            Event::StepRedone { step, .. } => Some((
                FlashKind::Saved,
                format!(
                    "Step {} reopened as attempt {} — saved",
                    step + 1,
                    job.map_or(2, |j| j.attempt_of(*step))
                ),
            )),
            Event::JobSuspended { job, .. } => Some((
                FlashKind::Saved,
                format!("Job {job} suspended — saved; resume it from the job list"),
            )),
            Event::JobResumed { job, .. } => {
                Some((FlashKind::Saved, format!("Job {job} resumed — saved")))
            }
            Event::JobAborted { job, .. } => {
                Some((FlashKind::Saved, format!("Job {job} aborted — saved")))
            }
            Event::JobSubmitted { job } => Some((
                FlashKind::Saved,
                format!("Job {job} submitted for review — saved"),
            )),
            Event::JobReviewed {
                job,
                decision,
                reviewer_name,
                ..
            } => Some((
                FlashKind::Saved,
                format!(
                    "Job {job} {} by {reviewer_name} — saved",
                    match decision {
                        crate::domain::types::Decision::Approved => "approved",
                        crate::domain::types::Decision::Rejected =>
                            "rejected and returned to its technician",
                    }
                ),
            )),
            Event::JobStarted { job, .. } => {
                Some((FlashKind::Saved, format!("Job {job} started — saved")))
            }
            _ => None,
        };
        // The first thing said is the one the person asked for.
        if out.is_none() {
            out = t;
        }
    }
    out
}
