//! `update` is the only place the desk's state changes. It does no I/O and
//! decides no rule: reads and decisions go to the hub as `Effect`s, whose answers
//! come back as `Msg::Answer`, each tied to the request that asked. The hub decides;
//! the desk shows what it said.

use chrono::{DateTime, Duration, Utc};

use crate::domain::types::Decision;
use crate::hub::desk::{DeskQueue, JobPlace};
use crate::hub::review::{ReviewRefusal, ReviewReply, ReviewRequest};
use crate::tui::action::Action;
use crate::tui::input::TextField;
use crate::tui::keys::{Cmd, scrolled};
use crate::tui::state::FlashKind;

use super::keys;
use super::state::{
    Ask, DecideDialog, DeskState, Field, FindDialog, Link, Modal, OpenJob, RequestId,
};

/// Why a read did not come back.
#[derive(Clone, Debug, PartialEq)]
pub struct Trouble {
    /// No answer at all (hub or network down): worth trying again.
    pub unreachable: bool,
    pub text: String,
}

/// Why a decision was not recorded.
#[derive(Clone, Debug, PartialEq)]
pub enum DecideTrouble {
    /// The hub said no, with its typed reason.
    Refused(ReviewRefusal),
    /// No answer: nothing is known to be decided.
    Unreachable(String),
    Other(String),
}

#[derive(Clone, Debug)]
pub enum Answer {
    Queue(Result<DeskQueue, Trouble>),
    Opened(Result<Box<OpenJob>, Trouble>),
    Found(Result<Vec<JobPlace>, Trouble>),
    Decided(Result<ReviewReply, DecideTrouble>),
}

#[derive(Clone, Debug)]
pub enum Msg {
    /// A key, as the bench's keymap reads it.
    Input(Action),
    Tick(DateTime<Utc>),
    Resize(u16, u16),
    Answer(RequestId, Answer),
    /// The hub heard of a change (a submission, a decision): read the queue again.
    Changed,
    /// The line to the hub's changes: up (listening or not) or down.
    Link(Result<bool, String>),
}

/// I/O for the runtime (or a test) to carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Queue {
        request: RequestId,
    },
    Open {
        request: RequestId,
        store_id: String,
        job: String,
    },
    Find {
        request: RequestId,
        job: String,
    },
    Decide {
        request: RequestId,
        req: ReviewRequest,
    },
}

/// How often an open record still missing samples is read again.
const REREAD_SECONDS: i64 = 3;

/// How long after `failures` failed reads of the queue in a row it is read again:
/// 2 s, doubling, at most 30 s.
pub fn queue_backoff(failures: u32) -> Duration {
    Duration::seconds((2i64 << failures.saturating_sub(1).min(4)).min(30))
}

/// The first read, when the desk starts.
pub fn start(s: &mut DeskState) -> Vec<Effect> {
    vec![read_queue(s)]
}

pub fn update(s: &mut DeskState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            s.now = now;
            if let Some(f) = &s.flash {
                let keep = if f.kind == FlashKind::Error { 12 } else { 6 };
                if now - f.at > Duration::seconds(keep) {
                    s.flash = None;
                }
            }
            // A failed read of the queue is tried again, backing off.
            let mut effects = Vec::new();
            if s.queue_retry_at.is_some_and(|at| now >= at) && !s.asking(&Ask::Queue) {
                s.queue_retry_at = None;
                effects.push(read_queue(s));
            }
            // Samples follow a step's seal by a sync cycle: an open record still
            // missing some is read again every few seconds until it is whole.
            let again = s.open.as_ref().filter(|o| {
                o.incomplete()
                    && o.read_at
                        .is_some_and(|t| now - t >= Duration::seconds(REREAD_SECONDS))
            });
            match again {
                Some(o) if !s.asking(&Ask::Open) && !s.asking(&Ask::Reread) => {
                    let (store, job) = (
                        o.store_id.clone(),
                        o.review
                            .open
                            .as_ref()
                            .map(|(j, _)| j.id.clone())
                            .unwrap_or_default(),
                    );
                    effects.push(Effect::Open {
                        request: s.ask(Ask::Reread),
                        store_id: store,
                        job,
                    });
                }
                _ => {}
            }
            effects
        }
        Msg::Resize(w, h) => {
            s.size = (w, h);
            Vec::new()
        }
        Msg::Changed => changed(s),
        Msg::Link(Ok(listening)) => {
            let was_down = matches!(s.link, Link::Unreachable { .. });
            s.link = if listening { Link::Live } else { Link::NotLive };
            // What happened while the line was down was not heard: read again.
            if was_down { changed(s) } else { Vec::new() }
        }
        Msg::Link(Err(detail)) => {
            unreachable(s, detail);
            Vec::new()
        }
        Msg::Answer(id, answer) => match s.requests.remove(&id) {
            Some(what) => {
                let deciding = what == Ask::Decide;
                let fx = answered(s, id, what, answer);
                if deciding && s.quit_pending && !s.asking(&Ask::Decide) {
                    s.quit_pending = false;
                    if s.modal.is_none() {
                        // Recorded at the hub: the quit asked for while it was sent.
                        s.quit = true;
                    } else {
                        s.flash(
                            FlashKind::Error,
                            "The decision was NOT recorded (see the dialog): the desk stays \
                             open. Ctrl+Q quits.",
                        );
                    }
                }
                fx
            }
            None => Vec::new(),
        },
        Msg::Input(input) => input_msg(s, input),
    }
}

fn unreachable(s: &mut DeskState, detail: String) {
    unreachable_link(&mut s.link, s.now, detail);
}

fn read_queue(s: &mut DeskState) -> Effect {
    s.stale = false;
    Effect::Queue {
        request: s.ask(Ask::Queue),
    }
}

/// A change was heard: read the queue, or once more after the read under way.
fn changed(s: &mut DeskState) -> Vec<Effect> {
    if s.asking(&Ask::Queue) {
        s.stale = true;
        return Vec::new();
    }
    vec![read_queue(s)]
}

fn input_msg(s: &mut DeskState, input: Action) -> Vec<Effect> {
    if input == Action::Quit {
        // A decision on its way: quitting now would leave the supervisor not
        // knowing whether the hub recorded it.
        if s.asking(&Ask::Decide) && !s.quit_pending {
            s.quit_pending = true;
            s.flash(
                FlashKind::Error,
                "The decision is being sent to the hub: the desk quits once the hub answers. \
                 Ctrl+Q again quits now, without knowing whether it was recorded.",
            );
            return Vec::new();
        }
        s.quit = true;
        return Vec::new();
    }
    if s.help {
        match keys::command(s, &input) {
            Some(
                c @ (Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom),
            ) => {
                let (max, page) = super::view::help_scroll_room(s);
                s.help_scroll = scrolled(c, s.help_scroll, max, page);
            }
            _ => s.help = false,
        }
        return Vec::new();
    }
    if input == Action::Help {
        s.help = true;
        s.help_scroll = 0;
        return Vec::new();
    }
    if s.modal.is_some() {
        return modal_input(s, input);
    }
    if s.filtering {
        match keys::command(s, &input) {
            Some(Cmd::Back) => s.filtering = false,
            _ => {
                edit(&mut s.filter, &input);
                s.selected = 0;
            }
        }
        return Vec::new();
    }
    if s.open.is_some() {
        return open_input(s, input);
    }
    queue_input(s, input)
}

fn edit(field: &mut TextField, input: &Action) -> bool {
    match input {
        Action::Char(c) => field.push(*c),
        Action::Backspace => field.backspace(),
        Action::ClearField => field.clear(),
        Action::Scan(text) => field.push_str(text),
        _ => return false,
    }
    true
}

fn queue_input(s: &mut DeskState, input: Action) -> Vec<Effect> {
    let n = s.visible().len();
    match keys::command(s, &input) {
        Some(Cmd::Up) => s.selected = s.selected.saturating_sub(1),
        Some(Cmd::Down) => s.selected = (s.selected + 1).min(n.saturating_sub(1)),
        Some(Cmd::Filter) => s.filtering = true,
        Some(Cmd::Refresh) => return vec![read_queue(s)],
        Some(Cmd::Find) => {
            s.modal = Some(Modal::Find(FindDialog {
                job: TextField::new("Job"),
                error: None,
                waiting: None,
            }))
        }
        Some(Cmd::Next) => {
            let Some(e) = s.visible().get(s.selected).map(|e| (*e).clone()) else {
                return Vec::new();
            };
            return vec![open_effect(s, e.store_id, e.job)];
        }
        _ => {}
    }
    Vec::new()
}

fn open_effect(s: &mut DeskState, store_id: String, job: String) -> Effect {
    Effect::Open {
        request: s.ask(Ask::Open),
        store_id,
        job,
    }
}

fn open_input(s: &mut DeskState, input: Action) -> Vec<Effect> {
    let Some(cmd) = keys::command(s, &input) else {
        return Vec::new();
    };
    let room = super::view::open_scroll_room(s);
    let Some(o) = s.open.as_deref_mut() else {
        return Vec::new();
    };
    if crate::tui::update::open_record_key(&mut o.review, cmd, room) {
        return Vec::new();
    }
    let job = o
        .review
        .open
        .as_ref()
        .map(|(j, _)| j.id.clone())
        .unwrap_or_default();
    match cmd {
        Cmd::Back => {
            s.open = None;
            // The queue may have moved while the record was read.
            return vec![read_queue(s)];
        }
        Cmd::Refresh => {
            let store = o.store_id.clone();
            return vec![open_effect(s, store, job)];
        }
        Cmd::Approve | Cmd::Reject => {
            let Some((seq, hash)) = o.submission.clone() else {
                return Vec::new();
            };
            s.modal = Some(Modal::Decide(Box::new(DecideDialog {
                decision: if cmd == Cmd::Approve {
                    Decision::Approved
                } else {
                    Decision::Rejected
                },
                store_id: o.store_id.clone(),
                bench: o.bench.clone(),
                job,
                submitted_seq: seq,
                submitted_hash: hash,
                comment: TextField::new(if cmd == Cmd::Approve {
                    "Comment"
                } else {
                    "Reason"
                }),
                badge: TextField::new("Badge"),
                pin: TextField::masked("PIN"),
                focus: Field::Comment,
                error: None,
                waiting: None,
                tried_unanswered: false,
                refusal: None,
            })));
        }
        _ => {}
    }
    Vec::new()
}

fn modal_input(s: &mut DeskState, input: Action) -> Vec<Effect> {
    let cmd = keys::command(s, &input);
    match s.modal.as_mut() {
        Some(Modal::Find(d)) => {
            if d.waiting.is_some() {
                return Vec::new();
            }
            match cmd {
                Some(Cmd::Back) => s.modal = None,
                Some(Cmd::Next) if !d.job.trimmed().is_empty() => {
                    let job = d.job.trimmed().to_string();
                    let request = s.ask(Ask::Find);
                    if let Some(Modal::Find(d)) = s.modal.as_mut() {
                        d.waiting = Some(request);
                        d.error = None;
                    }
                    return vec![Effect::Find { request, job }];
                }
                _ => {
                    edit(&mut d.job, &input);
                }
            }
        }
        Some(Modal::Decide(d)) => {
            // While the hub decides, nothing typed may change what was sent.
            if d.waiting.is_some() {
                return Vec::new();
            }
            match cmd {
                Some(Cmd::Back) => s.modal = None,
                Some(Cmd::NextField) => {
                    d.focus = match (d.focus, input == Action::BackTab) {
                        (Field::Comment, false) | (Field::Pin, true) => Field::Badge,
                        (Field::Badge, false) | (Field::Comment, true) => Field::Pin,
                        (Field::Pin, false) | (Field::Badge, true) => Field::Comment,
                    }
                }
                Some(Cmd::Next) => {
                    // Enter goes on to the next field, and on the PIN sends: what is
                    // missing or wrong, the hub says (no rule is decided here).
                    match d.focus {
                        Field::Comment => {
                            d.focus = Field::Badge;
                            return Vec::new();
                        }
                        Field::Badge => {
                            d.focus = Field::Pin;
                            return Vec::new();
                        }
                        Field::Pin => {}
                    }
                    let req = ReviewRequest {
                        store_id: d.store_id.clone(),
                        job: d.job.clone(),
                        submitted_seq: d.submitted_seq,
                        submitted_hash: d.submitted_hash.clone(),
                        decision: d.decision,
                        comment: d.comment.trimmed().to_string(),
                        badge: d.badge.trimmed().to_string(),
                        pin: d.pin.value.clone(),
                    };
                    let request = s.ask(Ask::Decide);
                    if let Some(Modal::Decide(d)) = s.modal.as_mut() {
                        d.waiting = Some(request);
                        d.error = None;
                    }
                    return vec![Effect::Decide { request, req }];
                }
                _ => {
                    let field = match d.focus {
                        Field::Comment => &mut d.comment,
                        Field::Badge => &mut d.badge,
                        Field::Pin => &mut d.pin,
                    };
                    edit(field, &input);
                }
            }
        }
        None => {}
    }
    Vec::new()
}

fn answered(s: &mut DeskState, id: RequestId, what: Ask, answer: Answer) -> Vec<Effect> {
    match answer {
        Answer::Queue(Ok(q)) => {
            s.link = match (&s.link, q.changes.listening) {
                (Link::Live | Link::NotLive, _) => s.link.clone(),
                (_, true) => Link::Live,
                (_, false) => Link::NotLive,
            };
            s.queue = q.entries;
            s.lagging = q.lagging;
            s.queue_failures = 0;
            s.queue_retry_at = None;
            s.loaded = true;
            s.selected = s.selected.min(s.visible().len().saturating_sub(1));
            if s.stale {
                return vec![read_queue(s)];
            }
        }
        Answer::Queue(Err(t)) => {
            s.queue_failures = s.queue_failures.saturating_add(1);
            s.queue_retry_at = Some(s.now + queue_backoff(s.queue_failures));
            if t.unreachable {
                unreachable(s, t.text);
            } else {
                s.flash(FlashKind::Error, t.text);
            }
        }
        Answer::Opened(Ok(o)) => {
            // Re-reading the job open keeps the page where it was.
            let keep = s
                .open
                .as_ref()
                .filter(|was| was.store_id == o.store_id && same_job(was, &o))
                .map(|was| (was.review.scroll, was.review.charts, was.review.chart_step));
            if what == Ask::Reread && keep.is_none() {
                // The record shown is another one now (or none).
                return Vec::new();
            }
            let mut o = o;
            o.read_at = Some(s.now);
            match keep {
                Some((scroll, charts, step)) => {
                    o.review.scroll = scroll;
                    o.review.charts = charts && !o.review.traces.is_empty();
                    o.review.chart_step = step;
                }
                None => {
                    o.review.chart_step = o.review.traces.first().map_or(0, |t| t.step as usize);
                }
            }
            if o.submission.is_none() && keep.is_none() {
                let why = if o.behind > 0 {
                    format!(
                        "; bench {} has {} record(s) not synced yet",
                        o.bench, o.behind
                    )
                } else {
                    String::new()
                };
                s.flash(
                    FlashKind::Info,
                    format!(
                        "Open to read: no submission of this job is waiting for a decision at the hub{why}"
                    ),
                );
            }
            s.open = Some(o);
        }
        Answer::Opened(Err(_)) if what == Ask::Reread => {}
        Answer::Opened(Err(t)) => {
            if t.unreachable {
                unreachable(s, t.text.clone());
            }
            s.flash(FlashKind::Error, t.text);
        }
        Answer::Found(result) => {
            let Some(Modal::Find(d)) = s.modal.as_mut() else {
                return Vec::new();
            };
            if d.waiting != Some(id) {
                return Vec::new();
            }
            d.waiting = None;
            let job = d.job.trimmed().to_string();
            match result {
                Ok(places) => match places.as_slice() {
                    [] => {
                        d.error = Some(format!(
                            "The hub holds no record of job {job}: its bench has not synced it yet, or the id is wrong"
                        ))
                    }
                    [p] => {
                        let (store, job) = (p.store_id.clone(), p.job.clone());
                        s.modal = None;
                        return vec![open_effect(s, store, job)];
                    }
                    many => {
                        d.error = Some(format!(
                            "Job {job} is held for {} stores ({}): open it from the queue",
                            many.len(),
                            many.iter()
                                .map(|p| p.bench.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }
                },
                Err(t) => {
                    if t.unreachable {
                        unreachable_link(&mut s.link, s.now, t.text.clone());
                    }
                    d.error = Some(t.text);
                }
            }
        }
        Answer::Decided(result) => return decided(s, id, result),
    }
    Vec::new()
}

fn same_job(a: &OpenJob, b: &OpenJob) -> bool {
    let id = |o: &OpenJob| o.review.open.as_ref().map(|(j, _)| j.id.clone());
    id(a) == id(b)
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "approved",
        Decision::Rejected => "rejected",
    }
}

fn decided(
    s: &mut DeskState,
    id: RequestId,
    result: Result<ReviewReply, DecideTrouble>,
) -> Vec<Effect> {
    let Some(Modal::Decide(d)) = s.modal.as_mut() else {
        return Vec::new();
    };
    if d.waiting != Some(id) {
        return Vec::new();
    }
    d.waiting = None;
    let recorded = match result {
        Ok(r) => Some(format!(
            "Job {} of {} {} by {} ({}): hub record {} — recorded at the hub",
            r.job,
            r.bench,
            decision_word(r.decision),
            r.reviewer_name,
            r.reviewer,
            r.hub_seq
        )),
        // A try whose answer was lost, seen again: it is this decision, recorded.
        Err(DecideTrouble::Refused(ReviewRefusal::DecidedAtHub {
            job,
            hub_seq,
            decision,
            reviewer,
        })) if d.tried_unanswered
            && decision == d.decision
            && reviewer.eq_ignore_ascii_case(d.badge.trimmed()) =>
        {
            Some(format!(
                "Job {job} of {} {} by {reviewer}: hub record {hub_seq} — recorded at the hub \
                 before its answer was lost",
                d.bench,
                decision_word(decision)
            ))
        }
        Err(trouble) => {
            d.pin.clear();
            d.focus = Field::Pin;
            d.refusal = match &trouble {
                DecideTrouble::Refused(r) => Some(r.clone()),
                _ => None,
            };
            // The hub holds fewer samples than the record shown said: it is read
            // again on the clock until they are in (and a/x grey meanwhile).
            if let DecideTrouble::Refused(ReviewRefusal::SamplesNotReceived { seals, .. }) =
                &trouble
                && let Some(o) = s.open.as_mut()
            {
                o.samples_pending = o.samples_pending.max(seals.len());
            }
            let text = match trouble {
                DecideTrouble::Unreachable(detail) => {
                    d.tried_unanswered = true;
                    unreachable_link(&mut s.link, s.now, detail.clone());
                    format!(
                        "The hub did not answer ({detail}). Nothing is lost: your comment is \
                         kept; type the PIN and press Enter to try again."
                    )
                }
                DecideTrouble::Refused(r) => refusal_text(&r),
                DecideTrouble::Other(t) => t,
            };
            if let Some(Modal::Decide(d)) = s.modal.as_mut() {
                d.error = Some(text);
            }
            return Vec::new();
        }
    };
    s.modal = None;
    s.open = None;
    if let Some(text) = recorded {
        s.flash(FlashKind::Saved, text);
    }
    vec![read_queue(s)]
}

fn unreachable_link(link: &mut Link, now: DateTime<Utc>, detail: String) {
    let since = match link {
        Link::Unreachable { since, .. } => *since,
        _ => now,
    };
    *link = Link::Unreachable { since, detail };
}

/// What the desk says of a refusal: the hub's own words, with what to do next.
pub fn refusal_text(r: &ReviewRefusal) -> String {
    match r {
        ReviewRefusal::NotReceived { .. } => format!(
            "Refused: {r}. Nothing was decided; once the bench has synced, the queue shows it."
        ),
        ReviewRefusal::SamplesNotReceived { .. } => format!(
            "Refused: {r}. Nothing was decided; the record is read again until they arrive, \
             then decide."
        ),
        ReviewRefusal::Pin {
            badge,
            locked_until: Some(until),
            ..
        } => format!(
            "Refused: badge {badge} is locked until {} — {r}",
            until.format("%H:%M UTC")
        ),
        ReviewRefusal::Pin {
            failures: Some(n), ..
        } => format!("Refused: {r} (wrong PIN {n} in a row)"),
        _ => format!("Refused: {r}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn refusals_say_what_to_do_next() {
        let until = Utc.with_ymd_and_hms(2026, 12, 1, 14, 30, 0).unwrap();
        let pin = |failures, locked_until| ReviewRefusal::Pin {
            badge: "S500".into(),
            message: "wrong PIN for S500".into(),
            failures,
            locked_until,
        };
        let cases = [
            (
                ReviewRefusal::NotReceived {
                    store_id: "s1".into(),
                    seq: 9,
                },
                "once the bench has synced",
            ),
            (
                ReviewRefusal::SamplesNotReceived {
                    job: "J".into(),
                    seals: vec![7],
                },
                "read again until they arrive",
            ),
            (pin(Some(2), None), "(wrong PIN 2 in a row)"),
            (
                pin(Some(5), Some(until)),
                "badge S500 is locked until 14:30 UTC",
            ),
            (pin(None, Some(until)), "locked until 14:30 UTC"),
            (
                ReviewRefusal::DecidedAtHub {
                    job: "J".into(),
                    hub_seq: 4,
                    decision: Decision::Approved,
                    reviewer: "S400".into(),
                },
                "already approved at the hub by S400",
            ),
        ];
        for (r, want) in cases {
            let t = refusal_text(&r);
            assert!(t.starts_with("Refused: "), "{t}");
            assert!(t.contains(want), "{t} lacks {want}");
        }
    }

    #[test]
    fn enter_goes_field_by_field_and_sends_on_the_pin() {
        let mut s = DeskState::new("http://hub", Utc::now());
        s.modal = Some(Modal::Decide(Box::new(DecideDialog {
            decision: Decision::Approved,
            store_id: "s1".into(),
            bench: "B".into(),
            job: "J".into(),
            submitted_seq: 3,
            submitted_hash: "ab".into(),
            comment: TextField::new("Comment"),
            badge: TextField::new("Badge"),
            pin: TextField::masked("PIN"),
            focus: Field::Comment,
            error: None,
            waiting: None,
            tried_unanswered: false,
            refusal: None,
        })));
        let focus = |s: &DeskState| match &s.modal {
            Some(Modal::Decide(d)) => d.focus,
            _ => panic!("no dialog"),
        };
        for c in "ok".chars() {
            update(&mut s, Msg::Input(Action::Char(c)));
        }
        assert!(update(&mut s, Msg::Input(Action::Enter)).is_empty());
        assert_eq!(focus(&s), Field::Badge);
        for c in "S500".chars() {
            update(&mut s, Msg::Input(Action::Char(c)));
        }
        update(&mut s, Msg::Input(Action::BackTab));
        assert_eq!(focus(&s), Field::Comment);
        update(&mut s, Msg::Input(Action::Tab));
        update(&mut s, Msg::Input(Action::Tab));
        assert_eq!(focus(&s), Field::Pin);
        update(&mut s, Msg::Input(Action::Char('5')));
        let fx = update(&mut s, Msg::Input(Action::Enter));
        assert!(
            matches!(fx.as_slice(), [Effect::Decide { req, .. }] if req.comment == "ok" && req.badge == "S500" && req.pin == "5"),
            "{fx:?}"
        );
        // Waiting for the hub: nothing typed changes what was sent.
        assert!(update(&mut s, Msg::Input(Action::Enter)).is_empty());
        update(&mut s, Msg::Input(Action::Char('x')));
        let Some(Modal::Decide(d)) = &s.modal else {
            panic!("no dialog")
        };
        assert_eq!(d.pin.value, "5");
    }
}
