//! Carries out the desk's effects against the hub, and follows the hub's changes.
//! Nothing here decides: the answers go back to `update` as they came.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::hub::client::{ClientError, HubClient};
use crate::hub::review::{ReviewRefusal, SendError, send};
use crate::hub::wire::Refusal;

use super::update::{Answer, DecideTrouble, Effect, Msg, Trouble};

#[derive(Clone)]
pub struct Executor {
    client: HubClient,
    url: String,
    token: String,
    ca: Option<PathBuf>,
}

fn trouble(e: ClientError) -> Trouble {
    Trouble {
        unreachable: e.is_transient(),
        text: e.to_string(),
    }
}

impl Executor {
    pub fn new(url: &str, token: &str, ca: Option<PathBuf>) -> Result<Executor, ClientError> {
        Ok(Executor {
            client: HubClient::new(url, token, ca.as_deref())?,
            url: url.to_string(),
            token: token.to_string(),
            ca,
        })
    }

    pub fn client(&self) -> &HubClient {
        &self.client
    }

    /// Runs one effect; its answer, tied to its request.
    pub async fn run(&self, effect: Effect) -> Msg {
        match effect {
            Effect::Queue { request } => Msg::Answer(
                request,
                Answer::Queue(self.client.desk_queue().await.map_err(trouble)),
            ),
            Effect::Find { request, job } => Msg::Answer(
                request,
                Answer::Found(self.client.desk_find(&job).await.map_err(trouble)),
            ),
            Effect::Open {
                request,
                store_id,
                job,
            } => {
                let opened = match self.client.desk_job(&store_id, &job).await {
                    Ok(j) => super::open::open(j).map(Box::new).map_err(|e| Trouble {
                        unreachable: false,
                        text: e.to_string(),
                    }),
                    Err(e) => Err(trouble(e)),
                };
                Msg::Answer(request, Answer::Opened(opened))
            }
            Effect::Decide { request, req } => {
                tracing::info!(store = %req.store_id, job = %req.job, seq = req.submitted_seq, decision = ?req.decision, by = %req.badge, "decision sent to the hub");
                let r = send(&self.url, &self.token, self.ca.as_deref(), &req)
                    .await
                    .map_err(|e| match e {
                        // The hub's database was down: nothing was decided.
                        SendError::Refused(ReviewRefusal::Hub(Refusal::Unavailable { detail })) => {
                            DecideTrouble::Unreachable(detail)
                        }
                        SendError::Refused(r) => DecideTrouble::Refused(r),
                        SendError::Unreachable { detail, .. } => DecideTrouble::Unreachable(detail),
                        // An answer cut off: the decision may or may not be recorded.
                        SendError::Protocol(p) => DecideTrouble::Unreachable(p),
                        SendError::Config(c) => DecideTrouble::Other(c),
                    });
                match &r {
                    Ok(reply) => {
                        tracing::info!(job = %reply.job, hub_seq = reply.hub_seq, "decision recorded at the hub")
                    }
                    Err(e) => tracing::warn!(job = %req.job, "decision not recorded: {e:?}"),
                }
                Msg::Answer(request, Answer::Decided(r))
            }
        }
    }
}

/// Follows the hub's changes for as long as `tx` is open: `Msg::Changed` whenever
/// the hub heard of one (and after every reconnection, since what happened while
/// the line was down was not heard), `Msg::Link` when the line goes down or up.
pub async fn follow(client: HubClient, tx: UnboundedSender<Msg>) {
    let mut known: Option<(String, u64)> = None;
    let mut down = false;
    let mut listening = None;
    loop {
        let (service, after) = match &known {
            Some((s, g)) => (Some(s.as_str()), *g),
            None => (None, 0),
        };
        match client.desk_changes(service, after).await {
            Ok(c) => {
                let moved = match &known {
                    Some((s, g)) => *s != c.service || c.generation > *g,
                    None => true,
                };
                if (down || listening != Some(c.listening))
                    && tx.send(Msg::Link(Ok(c.listening))).is_err()
                {
                    return;
                }
                down = false;
                listening = Some(c.listening);
                known = Some((c.service, c.generation));
                // A hub that cannot listen hears nothing: each long-poll's end is
                // then the moment to read the queue again.
                if (moved || !c.listening) && tx.send(Msg::Changed).is_err() {
                    return;
                }
            }
            Err(e) => {
                down = true;
                known = None;
                listening = None;
                if tx.send(Msg::Link(Err(e.to_string()))).is_err() {
                    return;
                }
                // Try again soon: the desk shows the hub as unreachable meanwhile.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Runs `effects` and every effect their answers ask for, in order, until none is
/// left: how headless tests (and the benchmark) drive the desk.
pub async fn settle(s: &mut super::state::DeskState, exec: &Executor, mut effects: Vec<Effect>) {
    while !effects.is_empty() {
        let mut next = Vec::new();
        for e in effects {
            // Boxed: a request's future is large, and tests nest many of them.
            let msg = Box::pin(exec.run(e)).await;
            next.extend(super::update::update(s, msg));
        }
        effects = next;
    }
}
