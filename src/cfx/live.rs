//! The bench's CFX publisher: one task that tails the chain and publishes every record's
//! messages, started by `spawn` and reporting through a watch channel.
//!
//! Order of work for each batch of records after the durable mark: build the messages
//! (the export's own code), send them all on one link without waiting for each, wait
//! for the broker to accept every one in order, then write the mark. Anything that goes
//! wrong before the mark is written is sent again from the mark, with the same IDs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::types::messaging::Outcome;
use fe2o3_amqp::{Connection, Sender, Session};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::domain::event::{Event, Record};
use crate::domain::job::Job;
use crate::export::cfx::{self, CfxMessage, JobMessages, derived_uuid, samples_reader};
use crate::instruction::Library;
use crate::store::Store;

use super::amqp;
use super::config::CfxConfig;
use super::outbox::{self, Mark, OutboxError};

/// What `spawn` needs besides the store.
#[derive(Clone)]
pub struct LiveConfig {
    /// `None`: publishing is off (no `[cfx]` table, or `enabled = false`).
    pub cfx: Option<CfxConfig>,
    pub bench: String,
    pub library: Arc<Library>,
}

/// The broker link as the header shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    Off,
    Connecting,
    Connected,
    /// The broker cannot be reached or refused a message; retrying.
    Down {
        reason: String,
    },
    /// Publishing cannot go on without a person (the mark belongs to another chain,
    /// the store cannot be read).
    Stopped {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerState {
    pub link: Link,
    /// Seq of the last record whose messages the broker accepted (0: none).
    pub published_seq: u64,
    /// The chain's head when last looked at.
    pub head_seq: u64,
    /// Messages the broker accepted since the bench started.
    pub sent: u64,
}

impl BrokerState {
    pub fn off() -> Self {
        BrokerState {
            link: Link::Off,
            published_seq: 0,
            head_seq: 0,
            sent: 0,
        }
    }

    /// Records saved but not yet published.
    pub fn backlog(&self) -> u64 {
        self.head_seq.saturating_sub(self.published_seq)
    }

    /// One short line for the application's header.
    pub fn header_text(&self) -> String {
        let behind = self.backlog();
        let waiting = if behind == 0 {
            String::new()
        } else {
            format!(", {behind} record(s) waiting")
        };
        match &self.link {
            Link::Off => "CFX off".into(),
            Link::Connecting => format!("CFX connecting{waiting}"),
            Link::Connected if behind == 0 => "CFX up to date".into(),
            Link::Connected => format!("CFX sending{waiting}"),
            Link::Down { reason } => format!("CFX broker down ({reason}){waiting}"),
            Link::Stopped { reason } => format!("CFX stopped: {reason}{waiting}"),
        }
    }
}

/// Starts the publisher on the current tokio runtime. It stops when every receiver of
/// the returned channel is dropped.
pub fn spawn(store: Store, cfg: LiveConfig) -> watch::Receiver<BrokerState> {
    let Some(cfx) = cfg.cfx.clone().filter(|c| c.enabled) else {
        return watch::channel(BrokerState::off()).1;
    };
    let (tx, rx) = watch::channel(BrokerState {
        link: Link::Connecting,
        ..BrokerState::off()
    });
    let publisher = Publisher::new(store, cfg, cfx, tx);
    tokio::spawn(publisher.run());
    rx
}

/// The publisher waits for the store's append notification; this is only how long it
/// waits at most before looking at the chain head anyway (belt and braces).
const POLL: Duration = Duration::from_secs(5);
/// Records per batch: one mark write (an fsync) per batch.
const BATCH: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the broker to settle a message. RabbitMQ 3.10's AMQP 1.0
/// plugin with fe2o3-amqp 0.14 was seen here to leave a delivery unsettled now and then
/// under load (the message was in the queue, its disposition never came): the link is
/// then dropped and everything after the mark sent again on a new one, repeats carrying
/// the same UniqueID, so a lost disposition costs this long and loses nothing.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error("{0}")]
    Broker(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("reading the store: {0}")]
    Store(String),
}

struct Publisher {
    store: Store,
    cfg: LiveConfig,
    cfx: CfxConfig,
    handle: String,
    tx: watch::Sender<BrokerState>,
    /// Jobs folded up to the last record read.
    jobs: HashMap<String, Job>,
    names: HashMap<String, String>,
    mark: Option<Mark>,
}

struct Connected {
    connection: ConnectionHandle<()>,
    session: SessionHandle<()>,
    sender: Sender,
}

impl Publisher {
    fn new(store: Store, cfg: LiveConfig, cfx: CfxConfig, tx: watch::Sender<BrokerState>) -> Self {
        let handle = cfx.handle_for(&cfg.bench);
        Publisher {
            store,
            cfg,
            cfx,
            handle,
            tx,
            jobs: HashMap::new(),
            names: HashMap::new(),
            mark: None,
        }
    }

    fn set(&self, f: impl FnOnce(&mut BrokerState)) {
        self.tx.send_modify(f);
    }

    fn stop(&self, reason: String) {
        warn!("CFX publishing stopped: {reason}");
        self.set(|s| s.link = Link::Stopped { reason });
    }

    async fn run(mut self) {
        match outbox::resume_point(&self.store) {
            Ok(m) => self.mark = m,
            Err(e) => return self.stop(e.to_string()),
        }
        match cfx::roster(&self.store) {
            Ok(n) => self.names = n,
            Err(e) => return self.stop(format!("reading the roster: {e}")),
        }
        let head = self.store.chain_head().seq;
        let published = self.published();
        self.set(|s| {
            s.published_seq = published;
            s.head_seq = head;
        });
        let mut backoff = Duration::from_millis(500);
        loop {
            self.set(|s| s.link = Link::Connecting);
            if self.tx.is_closed() {
                return;
            }
            let before = self.published();
            let result = self.connected_session().await;
            if self.published() > before {
                // It worked for a while: the next failure retries soon.
                backoff = Duration::from_millis(500);
            }
            match result {
                Ok(()) => return,
                Err(PublishError::Broker(reason)) => {
                    warn!(broker = %self.cfx.broker.redacted(), "CFX broker: {reason}");
                    self.set(|s| s.link = Link::Down { reason });
                }
                Err(e) => return self.stop(e.to_string()),
            }
            // Records saved meanwhile show as the backlog.
            let head = self.store.chain_head().seq;
            self.set(|s| s.head_seq = head);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.tx.closed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(15));
        }
    }

    fn published(&self) -> u64 {
        self.mark.map_or(0, |m| m.seq)
    }

    async fn connect(&self) -> Result<Connected, PublishError> {
        let broker = |e: &dyn std::fmt::Display| PublishError::Broker(e.to_string());
        let container = format!("traveler-{}", self.handle);
        let open = async {
            let mut connection = Connection::builder()
                .container_id(container)
                .idle_time_out(20_000u32)
                .open(self.cfx.broker.url().clone())
                .await
                .map_err(|e| broker(&e))?;
            let mut session = Session::begin(&mut connection)
                .await
                .map_err(|e| broker(&e))?;
            let sender = Sender::attach(
                &mut session,
                format!("{}-cfx", self.handle),
                self.cfx.address.0.clone(),
            )
            .await
            .map_err(|e| broker(&e))?;
            Ok::<_, PublishError>(Connected {
                connection,
                session,
                sender,
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, open)
            .await
            .map_err(|_| PublishError::Broker("no answer within 10 s".into()))?
    }

    /// One connection's life: EndpointConnected, then the backlog, then new records
    /// as they are saved, with a heartbeat. `Ok` only when the bench shuts down.
    async fn connected_session(&mut self) -> Result<(), PublishError> {
        let mut c = self.connect().await?;
        info!(broker = %self.cfx.broker.redacted(), address = %self.cfx.address.0, "CFX broker connected");
        let now = Utc::now();
        let hello = cfx::endpoint_connected(
            &self.handle,
            &now,
            derived_uuid(&[&self.handle, "connected", &now.to_rfc3339()]),
        )
        .map_err(|e| PublishError::Store(e.to_string()))?;
        send_all(&mut c.sender, &[hello], &self.handle).await?;
        self.set(|s| s.link = Link::Connected);
        let every = Duration::from_secs(self.cfx.heartbeat_seconds.max(1));
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut appended = self.store.watch_durable_head();
        let result = loop {
            if self.tx.is_closed() {
                break Ok(());
            }
            // Seen before reading the head, so an append after this read wakes us.
            appended.mark_unchanged();
            let head = self.store.chain_head().seq;
            self.set(|s| s.head_seq = head);
            if self.published() < head {
                if let Err(e) = self.publish_batch(&mut c.sender, head).await {
                    break Err(e);
                }
                continue;
            }
            tokio::select! {
                _ = appended.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = heartbeat.tick() => {
                    let now = Utc::now();
                    let beat = cfx::heartbeat(
                        &self.handle,
                        &now,
                        derived_uuid(&[&self.handle, "heartbeat", &now.to_rfc3339()]),
                        every,
                    )
                    .map_err(|e| PublishError::Store(e.to_string()))?;
                    if let Err(e) = send_all(&mut c.sender, &[beat], &self.handle).await {
                        break Err(e);
                    }
                }
                e = c.sender.on_detach() => break Err(PublishError::Broker(format!("the broker closed the link: {e}"))),
                _ = self.tx.closed() => break Ok(()),
            }
        };
        // Leave politely when we can; a dead broker gets no goodbye.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = c.sender.close().await;
            let _ = c.session.end().await;
            let _ = c.connection.close().await;
        })
        .await;
        result
    }

    /// Publishes the records after the mark up to `head` (at most `BATCH`), then
    /// moves the mark.
    async fn publish_batch(&mut self, sender: &mut Sender, head: u64) -> Result<(), PublishError> {
        let from = self.published() + 1;
        let mut messages = Vec::new();
        let mut last = None;
        for rec in self.store.events_from(from).take(BATCH) {
            let rec = rec.map_err(|e| PublishError::Store(e.to_string()))?;
            if rec.seq > head {
                break;
            }
            self.messages_for(&rec, &mut messages)?;
            last = Some(rec.seq);
        }
        let Some(last) = last else {
            return Err(PublishError::Store(format!(
                "record {from} is missing though the chain head is {head}"
            )));
        };
        send_all(sender, &messages, &self.handle).await?;
        let stored = self
            .store
            .stored_record(last)
            .map_err(|e| PublishError::Store(e.to_string()))?
            .ok_or_else(|| PublishError::Store(format!("record {last} vanished")))?;
        let mark = Mark {
            seq: last,
            hash: stored.hash,
        };
        outbox::write(self.store.path(), mark)?;
        self.mark = Some(mark);
        let n = messages.len() as u64;
        self.set(|s| {
            s.published_seq = last;
            s.sent += n;
        });
        Ok(())
    }

    /// The record's messages, with its job folded up to and including it.
    fn messages_for(
        &mut self,
        rec: &Record,
        out: &mut Vec<CfxMessage>,
    ) -> Result<(), PublishError> {
        let err = |e: crate::export::ExportError| PublishError::Store(e.to_string());
        match &rec.event {
            Event::PersonEnrolled { badge, name, .. }
            | Event::PersonUpdated { badge, name, .. } => {
                self.names.insert(badge.clone(), name.clone());
            }
            _ => {}
        }
        let Some(id) = rec.event.job() else {
            out.extend(cfx::person_messages(&self.handle, &self.names, rec).map_err(err)?);
            return Ok(());
        };
        let job = match self.jobs.remove(id) {
            Some(mut j) => {
                j.apply(rec);
                Some(j)
            }
            None if matches!(rec.event, Event::JobStarted { .. }) => Job::fold([rec]),
            // A job that started before this run: fold it up to here.
            None => {
                let mut records = Vec::new();
                for r in self.store.events_of_job_iter(id) {
                    let r = r.map_err(|e| PublishError::Store(e.to_string()))?;
                    if r.seq > rec.seq {
                        break;
                    }
                    records.push(r);
                }
                Job::fold(&records)
            }
        };
        let Some(job) = job else {
            warn!(
                seq = rec.seq,
                job = id,
                "a job record without its job-started record: no CFX message"
            );
            return Ok(());
        };
        let library = self.cfg.library.clone();
        let instruction = library.instruction(&job.instruction_id);
        let m = JobMessages::new(&library, instruction, &self.names, &self.handle);
        let mut samples = samples_reader(&self.store, &job.id, self.cfx.traces);
        m.for_record(&job, rec, &mut samples, out).map_err(err)?;
        drop(samples);
        if job.status.is_open() || job.status == crate::domain::job::JobStatus::Submitted {
            self.jobs.insert(job.id.clone(), job);
        }
        Ok(())
    }
}

/// Sends every message without waiting for each, then waits for the broker to accept
/// them all; the first refusal or lost link fails the lot (it is all sent again).
async fn send_all(
    sender: &mut Sender,
    messages: &[CfxMessage],
    handle: &str,
) -> Result<(), PublishError> {
    const WINDOW: usize = 256;
    let broker = |e: &dyn std::fmt::Display| PublishError::Broker(e.to_string());
    for chunk in messages.chunks(WINDOW) {
        let mut pending = Vec::with_capacity(chunk.len());
        for m in chunk {
            let fut = sender
                .send_batchable(amqp::message(m, handle))
                .await
                .map_err(|e| broker(&e))?;
            pending.push((m, fut));
        }
        for (m, fut) in pending {
            let outcome = tokio::time::timeout(ACCEPT_TIMEOUT, fut)
                .await
                .map_err(|_| {
                    PublishError::Broker("the broker did not settle a message within 30 s".into())
                })?
                .map_err(|e| broker(&e))?;
            match outcome {
                Outcome::Accepted(_) => {}
                other => {
                    return Err(PublishError::Broker(format!(
                        "the broker did not accept {} {}: {other:?}",
                        m.name, m.unique_id
                    )));
                }
            }
        }
    }
    Ok(())
}
