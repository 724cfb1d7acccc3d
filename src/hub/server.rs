//! `traveler hub serve`: HTTP in front of the database. Stateless: every request is
//! authenticated by its token and answered from the database, so several services
//! may run against one database.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use deadpool_postgres::Pool;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::db::{self, Caller, JobFilter};
use super::wire::{Hello, MAX_BATCH_BYTES, Refusal, SampleUpload, decode_batch};

/// A refusal as an HTTP answer: its status and the refusal as JSON.
struct Refused(Refusal);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

impl From<Refusal> for Refused {
    fn from(r: Refusal) -> Self {
        Refused(r)
    }
}

type Answer<T> = Result<Json<T>, Refused>;

async fn caller(pool: &Pool, headers: &HeaderMap) -> Result<Caller, Refused> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refusal::UnknownToken)?;
    Ok(db::authenticate(pool, token.trim()).await?)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "traveler_hub": 1, "schema": super::migrate::current() }))
}

async fn hello(
    State(pool): State<Pool>,
    UrlPath(store): UrlPath<String>,
    headers: HeaderMap,
    Json(h): Json<Hello>,
) -> Answer<super::wire::HelloReply> {
    let c = caller(&pool, &headers).await?;
    Ok(Json(db::hello(&pool, &c, &store, &h).await?))
}

async fn records(
    State(pool): State<Pool>,
    UrlPath(store): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer<super::wire::IngestReply> {
    let c = caller(&pool, &headers).await?;
    let batch = decode_batch(&body).map_err(|detail| Refusal::BadRequest { detail })?;
    // Bench locks in the batch are promoted inside the ingest's transaction.
    let reply = db::ingest(&pool, &c, &store, &batch).await?;
    Ok(Json(reply))
}

async fn pending(
    State(pool): State<Pool>,
    UrlPath(store): UrlPath<String>,
    headers: HeaderMap,
) -> Answer<Vec<super::wire::PendingSamples>> {
    let c = caller(&pool, &headers).await?;
    Ok(Json(db::pending_samples(&pool, &c, &store).await?))
}

async fn samples(
    State(pool): State<Pool>,
    UrlPath(store): UrlPath<String>,
    headers: HeaderMap,
    Json(up): Json<SampleUpload>,
) -> Answer<serde_json::Value> {
    let c = caller(&pool, &headers).await?;
    db::upload_samples(&pool, &c, &store, &up).await?;
    Ok(Json(serde_json::json!({ "stored": up.samples.len() })))
}

#[derive(Deserialize)]
struct JobsQuery {
    lot: Option<String>,
    serial: Option<String>,
    #[serde(default)]
    submitted: bool,
}

async fn jobs(
    State(pool): State<Pool>,
    headers: HeaderMap,
    Query(q): Query<JobsQuery>,
) -> Answer<Vec<super::wire::ShopJob>> {
    caller(&pool, &headers).await?;
    let filter = match (q.lot, q.serial, q.submitted) {
        (Some(l), None, false) => JobFilter::Lot(l),
        (None, Some(s), false) => JobFilter::Serial(s),
        (None, None, true) => JobFilter::Submitted,
        _ => {
            return Err(Refusal::BadRequest {
                detail: "give exactly one of lot=, serial=, submitted=true".into(),
            }
            .into());
        }
    };
    Ok(Json(db::jobs(&pool, &filter).await?))
}

async fn verify(
    State(pool): State<Pool>,
    headers: HeaderMap,
) -> Answer<Vec<super::wire::StoreVerdict>> {
    caller(&pool, &headers).await?;
    Ok(Json(db::verify_all(&pool).await?))
}

/// The hub's copy of one store as a traveler backup, streamed (see `backup`); any
/// desk token may read every store, a bench token its own.
async fn store_backup(
    State(pool): State<Pool>,
    UrlPath(store): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let c = caller(&pool, &headers).await?;
    let body = super::backup::stream(pool, &c, store).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

pub fn router(pool: Pool) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/stores/{store}/hello", post(hello))
        .route("/v1/stores/{store}/records", post(records))
        .route("/v1/stores/{store}/samples/pending", get(pending))
        .route("/v1/stores/{store}/samples", post(samples))
        .route("/v1/stores/{store}/backup", get(store_backup))
        .route("/v1/jobs", get(jobs))
        .route("/v1/verify", get(verify))
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
        .with_state(pool)
}

/// A certificate chain and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Schema(#[from] super::migrate::MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
}

/// A running service; `stop` shuts it down.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    changes: super::notify::Listener,
}

impl Server {
    /// Checks the database is at this traveler's schema, then listens on `listen`.
    /// Without a policy, reviews at the hub are refused (no PIN lockout to apply).
    pub async fn start(
        db_url: &str,
        listen: SocketAddr,
        tls: Option<&TlsFiles>,
    ) -> Result<Server, ServeError> {
        Self::start_with(db_url, listen, tls, None).await
    }

    /// As [`Server::start`], with the shop's policy (PIN lockout) for reviews at the hub.
    pub async fn start_with(
        db_url: &str,
        listen: SocketAddr,
        tls: Option<&TlsFiles>,
        policy: Option<crate::domain::policy::Policy>,
    ) -> Result<Server, ServeError> {
        Self::start_with_library(db_url, listen, tls, policy, None).await
    }

    /// As [`Server::start_with`], with the shop's instructions folder: releases at
    /// the hub are checked against its catalog (without one they are refused).
    pub async fn start_with_library(
        db_url: &str,
        listen: SocketAddr,
        tls: Option<&TlsFiles>,
        policy: Option<crate::domain::policy::Policy>,
        library: Option<crate::instruction::Library>,
    ) -> Result<Server, ServeError> {
        let pool = db::pool(db_url)?;
        {
            let c = db::client(&pool).await?;
            super::migrate::require_current(&c).await?;
        }
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Listen {
            addr: listen,
            source,
        })?;
        let app = router(pool.clone())
            // Releases and the shop policy at the hub (#16), checked by its folder.
            .merge(super::release::routes(pool.clone(), library))
            .merge(super::policy::routes(pool.clone(), policy.clone()))
            .merge(super::feed::routes(pool.clone()))
            .merge(super::people::routes(pool.clone(), policy.clone()))
            .merge(super::review::routes(pool.clone(), policy))
            .merge(super::boards::routes(pool.clone()));
        // The desk's reads and its live queue (one LISTEN connection per service).
        let changes = super::notify::Listener::spawn(db_url);
        let app = app.merge(super::desk::routes(pool, changes.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = match tls {
            None => tokio::spawn(async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    warn!("hub service stopped: {e}");
                }
            }),
            Some(files) => {
                let acceptor = tls_acceptor(files)?;
                tokio::spawn(serve_tls(listener, app, acceptor, async {
                    let _ = stopped.await;
                }))
            }
        };
        info!(%addr, tls = tls.is_some(), "hub listening");
        Ok(Server {
            addr,
            stop: Some(stop),
            task,
            changes,
        })
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        // Desks' long-polls answer now rather than hold the shutdown.
        self.changes.close();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task).await;
        self.task.abort();
    }

    /// Runs until `until` completes.
    pub async fn run_until(self, until: impl Future<Output = ()>) {
        until.await;
        self.stop().await;
    }
}

fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    use tokio_rustls::rustls;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| ServeError::Tls(format!("cannot read {}: {e}", p.display())))
    };
    let cert_pem = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServeError::Tls(format!("{}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "{} holds no PEM certificate",
            files.cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| ServeError::Tls(format!("{}: {e}", files.key.display())))?
        .ok_or_else(|| {
            ServeError::Tls(format!("{} holds no PEM private key", files.key.display()))
        })?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ServeError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| ServeError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

async fn serve_tls(
    listener: TcpListener,
    app: Router,
    acceptor: tokio_rustls::TlsAcceptor,
    shutdown: impl Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    tokio::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        warn!("accept: {e}");
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                connections.spawn(async move {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(t) => t,
                        Err(e) => {
                            warn!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                    };
                    let svc = TowerToHyperService::new(app);
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        }
    }
    connections.abort_all();
}
