//! Live changes for desks: PostgreSQL LISTEN/NOTIFY behind the hub service.
//!
//! Whatever writes a change a desk shows (records ingested from a bench, a decision
//! at the hub) sends `NOTIFY traveler_hub` in its own transaction, so it is heard
//! only once committed, by every service on the database. Each service keeps one
//! LISTEN connection (`Listener`) and turns what it hears into a generation number;
//! desks long-poll `GET /v1/desk/changes?after=N` (`desk.rs`) and re-read the queue
//! when it moves. A desk asks by state, never by time: it passes the generation its
//! queue was read at, so a change between its read and its poll is never missed.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio_postgres::{AsyncMessage, NoTls};
use tracing::{info, warn};

/// The channel every hub service listens on.
pub const CHANNEL: &str = "traveler_hub";

/// Record kinds that change what a desk shows (the queue, a job's decision).
pub const QUEUE_KINDS: &[&str] = &[
    "job_submitted",
    "job_reviewed",
    "job_aborted",
    "review_mirrored",
    "step_redone",
];

/// Tells every listening service, once `tx` commits, that records of `store_id`
/// between `from` and `to` arrived, when one of them is a kind the queue shows.
pub async fn ingested(
    tx: &tokio_postgres::Transaction<'_>,
    store_id: &str,
    from: i64,
    to: i64,
) -> Result<(), tokio_postgres::Error> {
    let kinds: Vec<&str> = QUEUE_KINDS.to_vec();
    tx.execute(
        "SELECT pg_notify($4, $1) WHERE EXISTS (SELECT 1 FROM hub_records
             WHERE store_id = $1 AND seq BETWEEN $2 AND $3 AND kind = ANY($5))",
        &[&store_id, &from, &to, &CHANNEL, &kinds],
    )
    .await?;
    Ok(())
}

/// Tells every listening service, once `tx` commits, that the hub decided on a
/// submission of `store_id`.
pub async fn decided(
    tx: &tokio_postgres::Transaction<'_>,
    store_id: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &store_id])
        .await?;
    Ok(())
}

/// What a desk is told: which service answers (a generation means nothing to
/// another service) and how many changes it has heard.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    pub service: String,
    pub generation: u64,
    /// False while the service cannot listen: the desk should re-read now and then
    /// instead of trusting the generation alone.
    #[serde(default)]
    pub listening: bool,
}

struct Inner {
    service: String,
    rx: watch::Receiver<(u64, bool)>,
    task: AbortHandle,
    /// Set when the service stops: long-polls answer at once, so a graceful
    /// shutdown does not wait them out.
    closed: watch::Sender<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The service's one LISTEN connection; clones share it. It stops when the last
/// clone goes (with the router that holds it).
#[derive(Clone)]
pub struct Listener(Arc<Inner>);

impl Listener {
    /// Starts listening on `db_url` (reconnecting for as long as the service runs).
    pub fn spawn(db_url: &str) -> Listener {
        let (tx, rx) = watch::channel((0u64, false));
        let url = db_url.to_string();
        let task = tokio::spawn(listen(url, tx)).abort_handle();
        let mut id = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut id);
        Listener(Arc::new(Inner {
            service: hex::encode(id),
            rx,
            task,
            closed: watch::channel(false).0,
        }))
    }

    /// The service is stopping: every long-poll answers now, and the LISTEN
    /// connection closes.
    pub fn close(&self) {
        self.0.closed.send_replace(true);
        self.0.task.abort();
    }

    pub fn now(&self) -> Changes {
        let (generation, listening) = *self.0.rx.borrow();
        Changes {
            service: self.0.service.clone(),
            generation,
            listening,
        }
    }

    /// Waits until the generation passes `after` (of this service), or `wait` ends.
    /// A count of another service (several behind one address) means nothing here:
    /// the wait is from this one's current count. The desk reads the queue again
    /// when the service changes, so nothing is missed; answering at once instead
    /// would send a desk bouncing between services into a tight loop of re-reads.
    pub async fn after(&self, service: Option<&str>, after: u64, wait: Duration) -> Changes {
        let after = if service.is_some_and(|s| s != self.0.service) {
            self.now().generation
        } else {
            after
        };
        let mut rx = self.0.rx.clone();
        let mut closed = self.0.closed.subscribe();
        tokio::select! {
            _ = tokio::time::timeout(wait, rx.wait_for(|(g, _)| *g > after)) => {}
            _ = closed.wait_for(|c| *c) => {}
        }
        self.now()
    }
}

async fn listen(url: String, tx: watch::Sender<(u64, bool)>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match listen_once(&url, &tx).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                warn!("desk notifications: {e}; listening again in {backoff:?}");
            }
        }
        tx.send_modify(|(_, l)| *l = false);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection: LISTEN, then every notification bumps the generation. The
/// generation also moves when listening starts, since what happened while nobody
/// listened was not heard.
async fn listen_once(
    url: &str,
    tx: &watch::Sender<(u64, bool)>,
) -> Result<(), tokio_postgres::Error> {
    let mut cfg: tokio_postgres::Config = url.parse()?;
    cfg.connect_timeout(Duration::from_secs(5));
    cfg.application_name("traveler-hub-listen");
    let (client, mut connection) = cfg.connect(NoTls).await?;
    let (note_tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = stream.next().await {
            match m {
                Ok(AsyncMessage::Notification(_)) => {
                    if note_tx.send(()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    warn!("desk notifications connection: {e}");
                    break;
                }
            }
        }
    });
    let listened = client.batch_execute(&format!("LISTEN {CHANNEL}")).await;
    if let Err(e) = listened {
        driver.abort();
        return Err(e);
    }
    info!("listening for desk notifications");
    tx.send_modify(|(g, l)| {
        *g += 1;
        *l = true;
    });
    while notes.recv().await.is_some() {
        // A burst (a bench's batch, several benches) is one re-read for a desk.
        while notes.try_recv().is_ok() {}
        tx.send_modify(|(g, _)| *g += 1);
    }
    driver.abort();
    drop(client);
    Ok(())
}
