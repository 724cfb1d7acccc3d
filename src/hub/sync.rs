//! The bench's sync task: sends the records after the hub's head, in order and in
//! batches, then the samples of sealed steps. The chain is the outbox and the hub's
//! head the acknowledgement, so nothing is queued twice and nothing waits on the hub:
//! the task only reads the store, and a sign-off never waits for it.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::store::{ChainHead, Store, StoreError};

use super::client::{ClientError, HubClient};
use super::config::HubConfig;
use super::identity;
use super::wire::{Head, Hello, OfferedRecord, Refusal, SampleUpload, WireSample};

/// What the bench header shows about the hub.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncState {
    /// Not in contact yet.
    Connecting,
    /// The hub holds every record of this store.
    Synced { head: u64 },
    /// Sending: the hub is `records` behind.
    Behind { records: u64 },
    /// No answer since `since`; `behind` records wait in the chain.
    Offline {
        since: DateTime<Utc>,
        behind: u64,
        reason: String,
    },
    /// The hub holds different bytes under `seq`: history differs. Alarm.
    Fork { seq: u64 },
    /// The hub holds more of this store than the store itself (restored from an
    /// older backup?). Alarm.
    Loss { hub_seq: u64, bench_seq: u64 },
    /// The hub refuses this bench (token unknown or revoked, store claimed).
    Refused { reason: String },
    /// The hub's own records (roster, locks, releases) cannot be followed: its feed
    /// answers something that is not the feed. This bench's records may still go up.
    FeedBroken { reason: String },
}

impl SyncState {
    pub fn header_text(&self) -> String {
        match self {
            SyncState::Connecting => "hub: connecting".into(),
            SyncState::Synced { .. } => "hub: synced".into(),
            SyncState::Behind { records } => format!("hub: {records} records behind"),
            SyncState::Offline { since, behind, .. } => format!(
                "hub: offline since {} UTC, {behind} records behind",
                since.format("%Y-%m-%d %H:%M")
            ),
            SyncState::Fork { seq } => format!("hub: FORK at record {seq}!"),
            SyncState::Loss { hub_seq, bench_seq } => {
                format!("hub: LOSS! hub holds {hub_seq} records, this store {bench_seq}")
            }
            SyncState::Refused { reason } => format!("hub: refused: {reason}"),
            SyncState::FeedBroken { reason } => {
                // A proxy's error page may be long: the header shows its start, the
                // log all of it.
                let short: String = reason.chars().take(80).collect();
                format!("hub: NOT FOLLOWING the shop's records: {short}")
            }
        }
    }

    /// An alarm a supervisor must see (fork, loss, refusal).
    pub fn is_alarm(&self) -> bool {
        matches!(
            self,
            SyncState::Fork { .. }
                | SyncState::Loss { .. }
                | SyncState::Refused { .. }
                | SyncState::FeedBroken { .. }
        )
    }
}

/// How the task paces itself.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Most records per batch.
    pub batch_records: usize,
    /// Most record bytes per batch.
    pub batch_bytes: usize,
    /// How often to look for new records when synced.
    pub poll: Duration,
    /// Contact the hub at least this often when nothing changes.
    pub keepalive: Duration,
    /// First and largest wait after a failed contact.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// How often to ask the hub whether its own chain moved (a decision, a roster
    /// change, a lock), when in contact: at most 1 s, so it reaches the bench in 2.
    pub hub_poll: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch_records: 1000,
            batch_bytes: 4 * 1024 * 1024,
            poll: Duration::from_millis(250),
            keepalive: Duration::from_secs(30),
            retry_min: Duration::from_millis(500),
            retry_max: Duration::from_secs(15),
            hub_poll: Duration::from_secs(1),
        }
    }
}

/// Starts the sync task on the current tokio runtime.
pub fn spawn(store: Store, cfg: HubConfig) -> watch::Receiver<SyncState> {
    spawn_with(store, cfg, SyncOptions::default())
}

pub fn spawn_with(store: Store, cfg: HubConfig, opts: SyncOptions) -> watch::Receiver<SyncState> {
    spawn_following(store, cfg, opts, None)
}

/// Log-ins the bench accepted from its copy of the shop roster, for the hub to
/// confirm (`Core::with_online_logins`).
pub type Logins = tokio::sync::mpsc::UnboundedReceiver<crate::core::Credentials>;

/// [`spawn_with`], also asking the hub to confirm each log-in from `logins`.
pub fn spawn_following(
    store: Store,
    cfg: HubConfig,
    opts: SyncOptions,
    logins: Option<Logins>,
) -> watch::Receiver<SyncState> {
    let (tx, rx) = watch::channel(SyncState::Connecting);
    tokio::spawn(run(store, cfg, opts, tx, logins));
    rx
}

/// Asks the hub to confirm each log-in waiting; a PIN is never kept for later: an
/// unreachable hub leaves that log-in unconfirmed.
async fn confirm_logins(client: &HubClient, logins: &mut Option<Logins>) {
    let Some(rx) = logins.as_mut() else {
        return;
    };
    while let Ok(c) = rx.try_recv() {
        let req = super::people::VerifyRequest {
            badge: c.badge.clone(),
            pin: c.pin,
        };
        match client.verify_login(&req).await {
            Ok(w) => info!(badge = %c.badge, hub_seq = w.seq, "log-in confirmed by the hub"),
            Err(e) => warn!(badge = %c.badge, "log-in not confirmed by the hub: {e}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("FORK: this store's record {seq} differs from the hub's")]
    LocalFork { seq: u64 },
    #[error(transparent)]
    Pull(super::mirror::PullError),
    #[error(transparent)]
    Follow(super::pull::PullError),
}

impl From<super::pull::PullError> for RoundError {
    fn from(e: super::pull::PullError) -> Self {
        match e {
            super::pull::PullError::Client(c) => RoundError::Client(c),
            super::pull::PullError::Store(s) => RoundError::Store(s),
            other => RoundError::Follow(other),
        }
    }
}

impl From<super::mirror::PullError> for RoundError {
    fn from(e: super::mirror::PullError) -> Self {
        match e {
            super::mirror::PullError::Client(c) => RoundError::Client(c),
            super::mirror::PullError::Store(s) => RoundError::Store(s),
            other => RoundError::Pull(other),
        }
    }
}

async fn run(
    store: Store,
    cfg: HubConfig,
    opts: SyncOptions,
    tx: watch::Sender<SyncState>,
    mut logins: Option<Logins>,
) {
    let client = match HubClient::new(&cfg.url, &cfg.token, cfg.ca_cert.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(SyncState::Refused {
                reason: e.to_string(),
            });
            return;
        }
    };
    let mut offline_since: Option<DateTime<Utc>> = None;
    let mut retry = opts.retry_min;
    let mut acked: Option<u64> = None;
    let mut refused_samples: HashSet<u64> = HashSet::new();
    // Decisions of the hub this store will not mirror (see hub::mirror).
    let mut refused_decisions: HashSet<u64> = HashSet::new();
    let mirror_core = super::mirror::mirror_core(&store);
    // The hub records every bench follows (roster, locks, releases).
    let mut follower = super::pull::Puller::new(mirror_core.clone());
    loop {
        if tx.is_closed() {
            return;
        }
        confirm_logins(&client, &mut logins).await;
        let result = match round(
            &store,
            &client,
            &opts,
            &tx,
            &mut acked,
            &mut refused_samples,
        )
        .await
        {
            // An empty store has no submissions, but a new bench follows the
            // shop roster from its first contact.
            Ok(0) => match follower.pull(&client).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => Ok(0),
                Err(e) => Err(RoundError::from(e)),
            },
            // The hub's decisions come back after the records went up; a mirror
            // appended grows the chain, so the next round sends it at once.
            // The hub's chain is read first and its decisions on this store's
            // submissions after: a decision recorded in between is then either
            // taken now or past the head the follower saw, so the next question
            // about the head finds it (the other order could miss it until the
            // keepalive).
            Ok(head) => match follower.pull(&client).await {
                // Copies grow the chain: the next round sends them at once.
                Ok(n) if n > 0 => continue,
                Ok(_) => match super::mirror::pull(
                    &mirror_core,
                    &client,
                    &store.identity().store_id,
                    &mut refused_decisions,
                )
                .await
                {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => Ok(head),
                    Err(e) => Err(RoundError::from(e)),
                },
                Err(e) => Err(RoundError::from(e)),
            },
            Err(e) => Err(e),
        };
        match result {
            Ok(head) => {
                if offline_since.take().is_some() {
                    info!(head, "hub reachable again");
                }
                retry = opts.retry_min;
                tx.send_replace(SyncState::Synced { head });
                wait_for_change(
                    &store,
                    head,
                    &opts,
                    &tx,
                    &client,
                    &mut follower,
                    &mut logins,
                )
                .await;
            }
            Err(e) => {
                let state = match &e {
                    RoundError::Client(c) if c.is_transient() => {
                        let since = *offline_since.get_or_insert_with(Utc::now);
                        let local = store.chain_head().seq;
                        SyncState::Offline {
                            since,
                            behind: local.saturating_sub(acked.unwrap_or(0)),
                            reason: c.to_string(),
                        }
                    }
                    RoundError::Client(ClientError::Refused(Refusal::Fork { seq, .. }))
                    | RoundError::LocalFork { seq } => SyncState::Fork { seq: *seq },
                    RoundError::Client(ClientError::Refused(Refusal::Loss {
                        hub_seq,
                        bench_seq,
                    })) => SyncState::Loss {
                        hub_seq: *hub_seq,
                        bench_seq: *bench_seq,
                    },
                    RoundError::Follow(super::pull::PullError::Feed { detail }) => {
                        SyncState::FeedBroken {
                            reason: detail.clone(),
                        }
                    }
                    other => SyncState::Refused {
                        reason: other.to_string(),
                    },
                };
                if state != *tx.borrow() {
                    warn!("hub sync: {e}");
                }
                let alarm = state.is_alarm();
                tx.send_replace(state);
                let wait = if alarm { opts.retry_max } else { retry };
                retry = (retry * 2).min(opts.retry_max);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = tx.closed() => return,
                }
            }
        }
    }
}

/// Waits until the chain grows past `head`, the hub's own chain moves past what
/// this bench follows (asked every `hub_poll`), or the keepalive is due.
async fn wait_for_change(
    store: &Store,
    head: u64,
    opts: &SyncOptions,
    tx: &watch::Sender<SyncState>,
    client: &HubClient,
    follower: &mut super::pull::Puller,
    logins: &mut Option<Logins>,
) {
    let deadline = tokio::time::Instant::now() + opts.keepalive;
    let mut next_ask = tokio::time::Instant::now() + opts.hub_poll;
    while tokio::time::Instant::now() < deadline {
        let login = async {
            match logins.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(opts.poll.min(opts.hub_poll)) => {}
            _ = tx.closed() => return,
            c = login => {
                let Some(c) = c else {
                    *logins = None;
                    continue;
                };
                let req = super::people::VerifyRequest { badge: c.badge.clone(), pin: c.pin };
                match client.verify_login(&req).await {
                    Ok(w) => info!(badge = %c.badge, hub_seq = w.seq, "log-in confirmed by the hub"),
                    Err(e) => warn!(badge = %c.badge, "log-in not confirmed by the hub: {e}"),
                }
                // The hub's record of it is copied back in the next round.
                return;
            }
        }
        if store.chain_head().seq != head {
            return;
        }
        if tokio::time::Instant::now() >= next_ask {
            next_ask = tokio::time::Instant::now() + opts.hub_poll;
            match follower.behind(client).await {
                Ok(false) => {}
                // Behind, or no answer: a full round says which.
                Ok(true) | Err(_) => return,
            }
        }
    }
}

/// One contact: hello, every record after the hub's head, then pending samples.
/// Returns the head the hub acknowledged.
async fn round(
    store: &Store,
    client: &HubClient,
    opts: &SyncOptions,
    tx: &watch::Sender<SyncState>,
    acked: &mut Option<u64>,
    refused_samples: &mut HashSet<u64>,
) -> Result<u64, RoundError> {
    let s = store.clone();
    let (ident, local) = blocking(move || Ok((identity::of(&s)?, s.chain_head()))).await?;
    let Some(ident) = ident else {
        *acked = Some(0);
        return Ok(0);
    };
    let reply = client
        .hello(
            &ident.store_id,
            &Hello {
                store_bench: ident.bench.clone(),
                head: Head {
                    seq: local.seq,
                    hash: local.hash_hex(),
                },
            },
        )
        .await?;
    let mut hub = reply.hub_head.seq;
    *acked = Some(hub);
    if hub > 0 {
        // The bench checks too: the hub's head must be a record of this chain.
        let s = store.clone();
        let mine = blocking(move || Ok(s.stored_record(hub)?.map(|r| r.hash_hex()))).await?;
        if mine.as_deref() != Some(reply.hub_head.hash.as_str()) {
            return Err(RoundError::LocalFork { seq: hub });
        }
    }
    loop {
        let local = store.chain_head();
        if hub >= local.seq {
            break;
        }
        tx.send_replace(SyncState::Behind {
            records: local.seq - hub,
        });
        let s = store.clone();
        let (from, max_n, max_bytes) = (hub + 1, opts.batch_records, opts.batch_bytes);
        let batch = blocking(move || read_batch(&s, from, local, max_n, max_bytes)).await?;
        if batch.is_empty() {
            break;
        }
        let r = client.push(&ident.store_id, &batch).await?;
        hub = r.head.seq;
        *acked = Some(hub);
    }
    send_samples(store, client, &ident.store_id, refused_samples).await?;
    Ok(hub)
}

fn read_batch(
    store: &Store,
    from: u64,
    head: ChainHead,
    max_n: usize,
    max_bytes: usize,
) -> Result<Vec<OfferedRecord>, StoreError> {
    let mut out = Vec::new();
    let mut bytes = 0;
    let mut seq = from;
    while seq <= head.seq && out.len() < max_n && (bytes < max_bytes || out.is_empty()) {
        let Some(r) = store.stored_record(seq)? else {
            return Err(StoreError::Damaged {
                seq,
                what: "missing below the chain head; run `traveler verify`".into(),
            });
        };
        bytes += r.canonical.len();
        out.push(OfferedRecord {
            seq,
            hash: r.hash,
            bytes: r.canonical,
        });
        seq += 1;
    }
    Ok(out)
}

async fn send_samples(
    store: &Store,
    client: &HubClient,
    store_id: &str,
    refused: &mut HashSet<u64>,
) -> Result<(), RoundError> {
    for p in client.pending_samples(store_id).await? {
        if refused.contains(&p.seal_seq) {
            continue;
        }
        let s = store.clone();
        let (job, stream) = (
            p.job.clone(),
            crate::domain::job::sample_stream(p.step, p.attempt),
        );
        let samples = blocking(move || {
            s.samples(&job, stream)
                .map(|r| {
                    r.map(|x| WireSample {
                        channel: x.channel,
                        time: x.time,
                        celsius: x.celsius,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        let up = SampleUpload {
            seal_seq: p.seal_seq,
            job: p.job.clone(),
            step: p.step,
            attempt: p.attempt,
            samples,
        };
        match client.upload_samples(store_id, &up).await {
            Ok(()) => {}
            Err(ClientError::Refused(r @ Refusal::Samples { .. })) => {
                warn!(seal = p.seal_seq, "the hub refused samples: {r}");
                refused.insert(p.seal_seq);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, RoundError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(RoundError::Store(StoreError::Io(std::io::Error::other(
            e.to_string(),
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_texts() {
        let since = DateTime::parse_from_rfc3339("2026-12-01T08:14:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            (SyncState::Synced { head: 4 }, "hub: synced"),
            (SyncState::Behind { records: 12 }, "hub: 12 records behind"),
            (
                SyncState::Offline {
                    since,
                    behind: 3,
                    reason: "down".into(),
                },
                "hub: offline since 2026-12-01 08:14 UTC, 3 records behind",
            ),
            (SyncState::Fork { seq: 41 }, "hub: FORK at record 41!"),
            (
                SyncState::Loss {
                    hub_seq: 120,
                    bench_seq: 80,
                },
                "hub: LOSS! hub holds 120 records, this store 80",
            ),
        ];
        for (s, want) in cases {
            assert_eq!(s.header_text(), want);
        }
    }
}
