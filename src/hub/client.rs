//! The bench's and the desk's side of the HTTP conversation (reqwest, rustls).

use std::path::Path;
use std::time::Duration;

use super::wire::{
    Hello, HelloReply, IngestReply, OfferedRecord, PendingSamples, Refusal, SampleUpload, ShopJob,
    StoreVerdict, encode_batch,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The hub answered no, with its reason.
    #[error("{0}")]
    Refused(Refusal),
    /// No answer: the hub or the network is down.
    #[error("cannot reach the hub at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// An answer that is not the protocol.
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
    #[error("hub configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// Worth trying again later: the hub, the network or its database was down.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable { .. }
                | ClientError::Protocol(_)
                | ClientError::Refused(Refusal::Unavailable { .. })
        )
    }
}

pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[derive(Clone)]
pub struct HubClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl HubClient {
    /// `ca_cert`: a PEM certificate to trust besides the built-in roots.
    pub fn new(url: &str, token: &str, ca_cert: Option<&Path>) -> Result<HubClient, ClientError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "{url:?} is not an http:// or https:// URL"
            )));
        }
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .use_rustls_tls();
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path)
                .map_err(|e| ClientError::Config(format!("cannot read {}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| ClientError::Config(format!("{}: {e}", path.display())))?;
            b = b.add_root_certificate(cert);
        }
        let http = b.build().map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(HubClient {
            http,
            base: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let resp =
            req.bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| ClientError::Unreachable {
                    url: self.base.clone(),
                    detail: error_chain(&e),
                })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            detail: error_chain(&e),
        })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&body)))
            });
        }
        match serde_json::from_slice::<Refusal>(&body) {
            Ok(r) => Err(ClientError::Refused(r)),
            Err(_) => Err(ClientError::Protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
        }
    }

    /// [`answer`](Self::answer) on a route an older hub does not serve: `None` when
    /// the hub answers 404 without a refusal of its own (the route is not there).
    /// Every other failure, a proxy's error page or an undecodable answer among
    /// them, stays an error.
    async fn answer_unless_absent<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<Option<T>, ClientError> {
        let resp =
            req.bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| ClientError::Unreachable {
                    url: self.base.clone(),
                    detail: error_chain(&e),
                })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            detail: error_chain(&e),
        })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map(Some).map_err(|e| {
                ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&body)))
            });
        }
        match serde_json::from_slice::<Refusal>(&body) {
            Ok(r) => Err(ClientError::Refused(r)),
            Err(_) if status == reqwest::StatusCode::NOT_FOUND => Ok(None),
            Err(_) => Err(ClientError::Protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
        }
    }

    fn store_url(&self, store_id: &str, what: &str) -> String {
        format!("{}/v1/stores/{store_id}/{what}", self.base)
    }

    pub async fn hello(&self, store_id: &str, hello: &Hello) -> Result<HelloReply, ClientError> {
        self.answer(
            self.http
                .post(self.store_url(store_id, "hello"))
                .json(hello),
        )
        .await
    }

    pub async fn push(
        &self,
        store_id: &str,
        records: &[OfferedRecord],
    ) -> Result<IngestReply, ClientError> {
        self.answer(
            self.http
                .post(self.store_url(store_id, "records"))
                .header("content-type", "application/octet-stream")
                .body(encode_batch(records)),
        )
        .await
    }

    pub async fn pending_samples(
        &self,
        store_id: &str,
    ) -> Result<Vec<PendingSamples>, ClientError> {
        self.answer(self.http.get(self.store_url(store_id, "samples/pending")))
            .await
    }

    pub async fn upload_samples(
        &self,
        store_id: &str,
        up: &SampleUpload,
    ) -> Result<(), ClientError> {
        let _: serde_json::Value = self
            .answer(self.http.post(self.store_url(store_id, "samples")).json(up))
            .await?;
        Ok(())
    }

    /// Jobs across every bench: `query` is one of ("lot", L), ("serial", S),
    /// ("submitted", "true").
    pub async fn jobs(&self, query: (&str, &str)) -> Result<Vec<ShopJob>, ClientError> {
        self.answer(
            self.http
                .get(format!("{}/v1/jobs", self.base))
                .query(&[query]),
        )
        .await
    }

    /// Streams the hub's copy of one store, as a traveler backup, into `file`
    /// (created owner-only: it holds every record). Returns the bytes written. An
    /// answer that breaks off is an error (and the backup's end line would tell a
    /// short one anyway: `Store::restore` checks it).
    pub async fn store_backup(&self, store_id: &str, file: &Path) -> Result<u64, ClientError> {
        use std::io::Write;
        let unreachable = |e: &dyn std::error::Error| ClientError::Unreachable {
            url: self.base.clone(),
            detail: error_chain(e),
        };
        let mut resp = self
            .http
            .get(self.store_url(store_id, "backup"))
            // A large store takes longer than a question does.
            .timeout(Duration::from_secs(3600))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.map_err(|e| unreachable(&e))?;
            return Err(match serde_json::from_slice::<Refusal>(&body) {
                Ok(r) => ClientError::Refused(r),
                Err(_) => ClientError::Protocol(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                )),
            });
        }
        let local = |e: std::io::Error| {
            ClientError::Config(format!("cannot write {}: {e}", file.display()))
        };
        let mut out = std::io::BufWriter::new(crate::private_fs::create_file(file).map_err(local)?);
        let mut n = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    out.write_all(&chunk).map_err(local)?;
                    n += chunk.len() as u64;
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(ClientError::Unreachable {
                        url: self.base.clone(),
                        detail: format!(
                            "the copy of store {store_id} broke off after {n} bytes: {}",
                            error_chain(&e)
                        ),
                    });
                }
            }
        }
        out.flush().map_err(local)?;
        Ok(n)
    }

    /// A board's jobs in every bench's verified copy, with the heads they were read
    /// at; given up after `timeout` (a bench asks this before it decides).
    pub async fn board(
        &self,
        serial: &str,
        timeout: Duration,
    ) -> Result<crate::domain::board::ShopBoard, ClientError> {
        self.answer(
            self.http
                .get(format!("{}/v1/boards", self.base))
                .query(&[("serial", serial)])
                .timeout(timeout),
        )
        .await
    }

    pub async fn verify(&self) -> Result<Vec<StoreVerdict>, ClientError> {
        self.answer(self.http.get(format!("{}/v1/verify", self.base)))
            .await
    }

    /// Every submission waiting for a decision across the shop, oldest first.
    pub async fn review_queue(&self) -> Result<Vec<super::review::QueueEntry>, ClientError> {
        self.answer(self.http.get(format!("{}/v1/reviews/queue", self.base)))
            .await
    }

    /// The hub's decisions on this store's submissions not mirrored here yet.
    pub async fn decisions(
        &self,
        store_id: &str,
    ) -> Result<Option<Vec<super::review::WireHubRecord>>, ClientError> {
        // `None`: a hub older than decisions at the hub (no such route). Any other
        // failure is an error the bench shows, never "nothing to mirror".
        self.answer_unless_absent(self.http.get(self.store_url(store_id, "decisions")))
            .await
    }
}

impl HubClient {
    /// The hub chain's head (`GET /v1/hub/head`): asked every second by the sync task.
    /// `None` from a hub older than the shop roster (no such route).
    pub async fn hub_head(&self) -> Result<Option<super::wire::Head>, ClientError> {
        self.answer_unless_absent(self.http.get(format!("{}/v1/hub/head", self.base)))
            .await
    }

    /// The hub chain after `after`, with the bytes of the records benches copy;
    /// `None` from a hub older than the shop roster (no such route).
    pub async fn hub_records(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Option<super::feed::Feed>, ClientError> {
        self.answer_unless_absent(
            self.http
                .get(format!("{}/v1/hub/records", self.base))
                .query(&[("after", after.to_string()), ("limit", limit.to_string())]),
        )
        .await
    }
}

/// What a roster call at the hub came to.
#[derive(Debug, thiserror::Error)]
pub enum RosterCallError {
    #[error("{0}")]
    Refused(super::people::RosterRefusal),
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl HubClient {
    async fn roster_answer<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, RosterCallError> {
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            url: self.base.clone(),
            detail: error_chain(&e),
        };
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                ClientError::Protocol(format!("{e}: {}", String::from_utf8_lossy(&body))).into()
            });
        }
        if let Ok(r) = serde_json::from_slice::<super::people::RosterRefusal>(&body) {
            return Err(RosterCallError::Refused(r));
        }
        Err(match serde_json::from_slice::<Refusal>(&body) {
            Ok(r) => ClientError::Refused(r),
            Err(_) => {
                ClientError::Protocol(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
            }
        }
        .into())
    }

    /// A roster change, authorised by the admin PIN in `req`.
    pub async fn roster_change(
        &self,
        req: &super::people::ChangeRequest,
    ) -> Result<super::people::ChangeReply, RosterCallError> {
        self.roster_answer(
            self.http
                .post(format!("{}/v1/roster/changes", self.base))
                .json(req),
        )
        .await
    }

    /// The hub's roster as it is now.
    pub async fn roster_view(&self) -> Result<super::people::RosterView, RosterCallError> {
        self.roster_answer(self.http.get(format!("{}/v1/roster", self.base)))
            .await
    }

    /// Asks the hub to confirm a log-in's PIN (recorded in the hub chain).
    pub async fn verify_login(
        &self,
        req: &super::people::VerifyRequest,
    ) -> Result<super::people::Written, RosterCallError> {
        self.roster_answer(
            self.http
                .post(format!("{}/v1/roster/verify", self.base))
                .json(req),
        )
        .await
    }
}

/// reqwest's error with its causes, which hold the useful part ("connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

impl HubClient {
    /// A request to `path` of the hub with this client's token, for the hub's
    /// decisions asked by the command line (releases, the shop policy), whose
    /// answers are read by their own modules.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
}
