//! `traveler hub init | serve | enrol | revoke | status`, and the `--hub URL` paths of
//! `where-used`, `history`, `reviews` and `verify`. Each returns the exit code:
//! 0 done, 1 failed (or a fault found), 2 the hub or its database is unreachable.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::export::{step_no, time_str};
use crate::instruction::Library;
use crate::store::Store;

use super::client::{ClientError, HubClient};
use super::db::{self, Kind};
use super::queries;
use super::server::{Server, TlsFiles};

#[derive(Args, Debug, Clone)]
pub struct DbArg {
    /// The hub's PostgreSQL database, e.g. postgres://traveler@db-host/traveler.
    #[arg(long, value_name = "URL", env = "TRAVELER_HUB_DB")]
    pub db: String,
}

#[derive(Subcommand, Debug)]
pub enum HubCommand {
    /// Create or upgrade the hub's schema in the database (versioned migrations).
    Init {
        #[command(flatten)]
        db: DbArg,
        /// Grant this existing role what the service needs (read, append; never rewrite).
        #[arg(long, value_name = "ROLE")]
        service_role: Option<String>,
    },
    /// Serve benches and desks over HTTP(S) until Ctrl-C.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8470")]
        listen: SocketAddr,
        /// PEM certificate chain for HTTPS (with --tls-key).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for HTTPS (with --tls-cert).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Enrol a bench (or a desk, read-only) and print its token, once.
    Enrol {
        /// The bench name, e.g. BENCH-01.
        bench: String,
        #[command(flatten)]
        db: DbArg,
        /// A desk: may read across the shop, never append.
        #[arg(long)]
        desk: bool,
        /// Replace the token of a bench already enrolled (the old one stops working).
        #[arg(long)]
        reissue: bool,
    },
    /// Revoke a bench's token.
    Revoke {
        bench: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Send a store's chain to the hub: what the bench application's sync task does,
    /// run on its own (until synced with --once, else until Ctrl-C).
    Sync {
        /// The store folder (default: the one the bench application uses).
        #[arg(long, value_name = "DIR", env = "TRAVELER_STORE")]
        store: Option<PathBuf>,
        /// The hub, e.g. https://hub.example:8443.
        #[arg(long, value_name = "URL")]
        url: String,
        /// The bench's token (from `traveler hub enrol`).
        #[arg(
            long,
            value_name = "TOKEN",
            env = "TRAVELER_HUB_TOKEN",
            hide_env_values = true
        )]
        token: String,
        /// PEM certificate to trust for an https hub.
        #[arg(long, value_name = "FILE")]
        ca_cert: Option<PathBuf>,
        /// Stop once the hub holds every record (exit 1 on an alarm or when offline).
        #[arg(long)]
        once: bool,
    },
    /// Every fork the hub refused and recorded, with both hashes (read-only).
    Forks {
        #[command(flatten)]
        db: DbArg,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// The shop roster at the hub: import a bench's roster once, list it.
    #[command(subcommand)]
    Roster(super::roster::RosterCommand),
    /// Every bench with its store, head, lag, last contact and alarms.
    Status {
        #[command(flatten)]
        db: DbArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `--hub URL` on the read commands: answer across every bench the hub holds.
#[derive(Args, Debug, Clone, Default)]
pub struct HubArgs {
    /// Ask the shop hub at URL instead of this PC's store: every bench, named on
    /// each row.
    #[arg(long, value_name = "URL")]
    pub hub: Option<String>,
    /// Token for --hub (a bench's or a desk's).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TRAVELER_HUB_TOKEN",
        hide_env_values = true
    )]
    pub hub_token: Option<String>,
    /// PEM certificate to trust for an https --hub.
    #[arg(long, value_name = "FILE")]
    pub hub_ca: Option<PathBuf>,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn db_fail(e: &db::DbError) -> i32 {
    eprintln!("error: {e}");
    match e {
        db::DbError::Pool(_) | db::DbError::Db(_) => 2,
        _ => 1,
    }
}

/// `top_store`: a `--store` given anywhere on the command line (the binary moves it to
/// the top for commands that are not the store's own, see `cli::store_flag`).
/// `instructions`: the folder whose policy.toml `hub serve` applies to reviews.
pub fn run(
    cmd: HubCommand,
    top_store: Option<PathBuf>,
    instructions: Option<&Path>,
) -> anyhow::Result<i32> {
    runtime()?.block_on(run_async(cmd, top_store, instructions))
}

async fn run_async(
    cmd: HubCommand,
    top_store: Option<PathBuf>,
    instructions: Option<&Path>,
) -> anyhow::Result<i32> {
    match cmd {
        HubCommand::Roster(r) => super::roster::run(r, top_store).await,
        HubCommand::Init { db, service_role } => {
            let pool = match db::pool(&db.db) {
                Ok(p) => p,
                Err(e) => return Ok(db_fail(&e)),
            };
            let mut c = match db::client(&pool).await {
                Ok(c) => c,
                Err(e) => return Ok(db_fail(&e)),
            };
            match super::migrate::migrate(&mut c).await {
                Ok(v) if v.is_empty() => println!(
                    "the hub schema is current (version {})",
                    super::migrate::current()
                ),
                Ok(v) => println!(
                    "applied migration(s) {v:?}; the hub schema is at version {}",
                    super::migrate::current()
                ),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(1);
                }
            }
            if let Some(role) = service_role {
                if let Err(e) = super::migrate::grant_service_role(&c, &role).await {
                    eprintln!("error: {e}");
                    return Ok(1);
                }
                println!("granted role {role} read and append (no update, delete or truncate)");
            }
            Ok(0)
        }
        HubCommand::Serve {
            db,
            listen,
            tls_cert,
            tls_key,
        } => {
            let _ = tracing_subscriber::fmt()
                .with_writer(io::stderr)
                .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("TRAVELER_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .try_init();
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                _ => None,
            };
            let policy = match super::review::serve_policy(instructions) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(1);
                }
            };
            let server = match Server::start_with(&db.db, listen, tls.as_ref(), policy).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(match e {
                        super::server::ServeError::Db(_) => 2,
                        _ => 1,
                    });
                }
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            println!("hub listening on {scheme}://{}", server.addr);
            io::stdout().flush()?;
            server.run_until(shutdown_signal()).await;
            Ok(0)
        }
        HubCommand::Enrol {
            bench,
            db,
            desk,
            reissue,
        } => {
            let pool = match db::pool(&db.db) {
                Ok(p) => p,
                Err(e) => return Ok(db_fail(&e)),
            };
            let kind = if desk { Kind::Desk } else { Kind::Bench };
            match db::enrol(&pool, &bench, kind, reissue).await {
                Ok(token) => {
                    if desk {
                        eprintln!(
                            "enrolled desk {bench}; its token (shown once, give it to --hub-token or TRAVELER_HUB_TOKEN):"
                        );
                    } else {
                        eprintln!(
                            "enrolled bench {bench}; its token (shown once, put it in the bench's [hub] table):"
                        );
                    }
                    println!("{token}");
                    Ok(0)
                }
                Err(e) => Ok(db_fail(&e)),
            }
        }
        HubCommand::Revoke { bench, db } => {
            let pool = match db::pool(&db.db) {
                Ok(p) => p,
                Err(e) => return Ok(db_fail(&e)),
            };
            match db::revoke(&pool, &bench).await {
                Ok(()) => {
                    println!("revoked the token of {bench}");
                    Ok(0)
                }
                Err(e) => Ok(db_fail(&e)),
            }
        }
        HubCommand::Sync {
            store,
            url,
            token,
            ca_cert,
            once,
        } => sync_store(store.or(top_store), url, token, ca_cert, once).await,
        HubCommand::Forks { db, json } => {
            let pool = match db::pool(&db.db) {
                Ok(p) => p,
                Err(e) => return Ok(db_fail(&e)),
            };
            let forks = match db::forks(&pool).await {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(2);
                }
            };
            let mut out = io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &forks)?;
                writeln!(out)?;
                return Ok(0);
            }
            if forks.is_empty() {
                writeln!(out, "no fork recorded")?;
                return Ok(0);
            }
            for f in &forks {
                writeln!(
                    out,
                    "{} {} store {} record {}: hub holds bytes SHA-256 {} (chain hash {}), \
                     bench offered bytes SHA-256 {}",
                    time_str(&f.at),
                    f.bench,
                    f.store_id,
                    f.seq,
                    f.hub_hash,
                    f.hub_chain_hash.as_deref().unwrap_or("—"),
                    f.offered_hash
                )?;
            }
            Ok(0)
        }
        HubCommand::Status { db, json } => {
            let pool = match db::pool(&db.db) {
                Ok(p) => p,
                Err(e) => return Ok(db_fail(&e)),
            };
            let rows = match db::status(&pool).await {
                Ok(r) => r,
                Err(e) => return Ok(db_fail(&e)),
            };
            let mut out = io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
                return Ok(0);
            }
            writeln!(
                out,
                "{:<14} {:<6} {:<36} {:>8} {:>6}  {:<24} alarms",
                "bench", "kind", "store", "head", "lag", "last contact"
            )?;
            for r in &rows {
                let mut alarms = match (r.alarms, &r.last_alarm) {
                    (0, _) | (_, None) => String::new(),
                    (n, Some(last)) => format!("{n}, last {last}"),
                };
                if let Some(seq) = r.fork_seq {
                    alarms.push_str(&format!(" FORK at {seq}"));
                }
                if r.revoked {
                    alarms.push_str(" (token revoked)");
                }
                writeln!(
                    out,
                    "{:<14} {:<6} {:<36} {:>8} {:>6}  {:<24} {}",
                    r.bench,
                    r.kind,
                    r.store_id.as_deref().unwrap_or("—"),
                    r.head_seq.map_or("—".into(), |s| s.to_string()),
                    r.lag.map_or("—".into(), |l| l.to_string()),
                    r.last_contact.as_ref().map_or("never".into(), time_str),
                    alarms.trim()
                )?;
            }
            Ok(0)
        }
    }
}

async fn sync_store(
    store: Option<PathBuf>,
    url: String,
    token: String,
    ca_cert: Option<PathBuf>,
    once: bool,
) -> anyhow::Result<i32> {
    use super::sync::SyncState;
    let path = match store {
        Some(p) => p,
        None => crate::config::default_store()?,
    };
    // Sending a store never creates one.
    if !path.join("db").exists() {
        eprintln!("error: there is no store at {}", path.display());
        return Ok(1);
    }
    let store = match Store::open(&path, crate::store::OpenOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(crate::cli::store::exit_code(&e));
        }
    };
    let cfg = super::HubConfig {
        url,
        token,
        ca_cert,
    };
    let mut rx = super::sync::spawn(store.clone(), cfg);
    let mut last = String::new();
    loop {
        let state = rx.borrow_and_update().clone();
        let text = state.header_text();
        if text != last {
            eprintln!("{text}");
            last = text;
        }
        if once {
            match &state {
                SyncState::Synced { head } if *head == store.chain_head().seq => {
                    println!("the hub holds all {head} records of {}", path.display());
                    return Ok(0);
                }
                s if s.is_alarm() => return Ok(1),
                SyncState::Offline { .. } => return Ok(2),
                _ => {}
            }
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return Ok(1) },
            _ = shutdown_signal() => return Ok(0),
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The instructions folder, for procedure names in the history (as the local history).
fn library(dir: Option<&Path>) -> Library {
    crate::instruction::load_dir(dir.unwrap_or(Path::new("instructions"))).library
}

pub(crate) fn hub_client(args: &HubArgs) -> Result<HubClient, i32> {
    let url = args.hub.as_deref().unwrap_or_default();
    let Some(token) = args.hub_token.as_deref() else {
        eprintln!("error: --hub needs a token: --hub-token TOKEN or TRAVELER_HUB_TOKEN");
        return Err(1);
    };
    HubClient::new(url, token, args.hub_ca.as_deref()).map_err(|e| {
        eprintln!("error: {e}");
        1
    })
}

pub(crate) fn client_fail(e: &ClientError) -> i32 {
    eprintln!("error: {e}");
    if e.is_transient() { 2 } else { 1 }
}

/// Fetches and folds the jobs a query names.
fn shop_jobs(args: &HubArgs, query: (&str, &str)) -> Result<Vec<queries::FoldedJob>, i32> {
    let client = hub_client(args)?;
    let rt = runtime().map_err(|e| {
        eprintln!("error: {e}");
        1
    })?;
    let jobs = rt
        .block_on(client.jobs(query))
        .map_err(|e| client_fail(&e))?;
    queries::fold(jobs).map_err(|e| {
        eprintln!("error: {e}");
        1
    })
}

pub fn run_where_used(args: &HubArgs, lot: &str, json: bool) -> anyhow::Result<i32> {
    let jobs = match shop_jobs(args, ("lot", lot)) {
        Ok(j) => j,
        Err(code) => return Ok(code),
    };
    let uses = queries::where_used(&jobs, lot);
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &uses)?;
        writeln!(out)?;
        return Ok(0);
    }
    if uses.is_empty() {
        writeln!(out, "lot {lot} is not recorded on any job at any bench")?;
        return Ok(0);
    }
    let mut boards: Vec<&str> = uses.iter().map(|u| u.used.serial.as_str()).collect();
    boards.sort_unstable();
    boards.dedup();
    let mut benches: Vec<&str> = uses.iter().map(|u| u.bench.as_str()).collect();
    benches.sort_unstable();
    benches.dedup();
    writeln!(
        out,
        "Lot {lot}: {} use(s) on {} board(s) at {} bench(es)",
        uses.len(),
        boards.len(),
        benches.len()
    )?;
    writeln!(
        out,
        "{:<12} {:<16} {:<14} {:>4}  {:<16} {:<24} status",
        "bench", "serial", "job", "step", "material", "time"
    )?;
    for u in &uses {
        writeln!(
            out,
            "{:<12} {:<16} {:<14} {:>4}  {:<16} {:<24} {}",
            u.bench,
            u.used.serial,
            u.used.job,
            step_no(u.used.step),
            u.used.material,
            time_str(&u.used.time),
            u.used.status.as_str()
        )?;
    }
    Ok(0)
}

/// A read command's own arguments plus `--hub`.
#[derive(Args, Debug, Clone)]
pub struct OrHub<A: Args> {
    #[command(flatten)]
    pub local: A,
    #[command(flatten)]
    pub hub: HubArgs,
}

impl<A: Args> OrHub<A> {
    pub fn on_hub(&self) -> bool {
        self.hub.hub.is_some()
    }
}

pub fn where_used(a: OrHub<crate::cli::export::WhereUsedArgs>) -> anyhow::Result<i32> {
    run_where_used(&a.hub, &a.local.lot, a.local.json)
}

pub fn history(
    a: OrHub<crate::cli::export::HistoryArgs>,
    instructions: Option<&Path>,
) -> anyhow::Result<i32> {
    run_history(&a.hub, &a.local.serial, a.local.json, instructions)
}

pub fn reviews(a: OrHub<crate::cli::export::ReviewsArgs>) -> anyhow::Result<i32> {
    run_reviews(&a.hub, a.local.json)
}

pub fn verify(a: OrHub<crate::cli::store::VerifyArgs>) -> anyhow::Result<i32> {
    run_verify(&a.hub, a.local.store.store.as_deref())
}

pub fn run_history(
    args: &HubArgs,
    serial: &str,
    json: bool,
    instructions: Option<&Path>,
) -> anyhow::Result<i32> {
    let library = library(instructions);
    let library = &library;
    // The board look-up the benches ask before a start (`hub::boards`): the same
    // jobs, counted the same way, in one snapshot of the hub.
    let client = match hub_client(args) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let board = match runtime()?.block_on(client.board(serial, std::time::Duration::from_secs(60)))
    {
        Ok(b) => b,
        Err(e) => return Ok(client_fail(&e)),
    };
    let h = super::boards::shop_history(board, library);
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &h)?;
        writeln!(out)?;
        return Ok(0);
    }
    if h.jobs.is_empty() {
        writeln!(out, "no jobs on board {serial} at any bench")?;
        return Ok(0);
    }
    writeln!(out, "Board {}: {} job(s)", h.serial, h.jobs.len())?;
    if let Some(t) = &h.as_of {
        writeln!(
            out,
            "every bench's verified copy at the hub as of {}",
            time_str(t)
        )?;
    }
    writeln!(
        out,
        "{:<12} {:<14} {:<12} {:<10} {:<10} {:<24} {:<24} refdes / procedures",
        "bench", "job", "instruction", "status", "performer", "started", "finished"
    )?;
    for r in &h.jobs {
        let j = &r.entry;
        writeln!(
            out,
            "{:<12} {:<14} {:<12} {:<10} {:<10} {:<24} {:<24} {} / {}",
            r.bench,
            j.job,
            format!("{} {}", j.instruction_id, j.instruction_rev),
            j.status.as_str(),
            j.performer,
            time_str(&j.started),
            j.finished.as_ref().map_or("—".to_string(), time_str),
            j.refdes.join(","),
            if j.procedures.is_empty() {
                "(instruction not in the library)".to_string()
            } else {
                j.procedures.join("; ")
            }
        )?;
    }
    writeln!(out, "\nRework cycles per location (every bench):")?;
    for c in &h.cycles {
        writeln!(
            out,
            "  {:<8} {}  ({})",
            c.refdes,
            c.cycles,
            c.jobs.join(", ")
        )?;
    }
    Ok(0)
}

pub fn run_reviews(args: &HubArgs, json: bool) -> anyhow::Result<i32> {
    let jobs = match shop_jobs(args, ("submitted", "true")) {
        Ok(j) => j,
        Err(code) => return Ok(code),
    };
    let open = queries::reviews(jobs);
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &open)?;
        writeln!(out)?;
        return Ok(0);
    }
    if open.is_empty() {
        writeln!(out, "no job is waiting for review at any bench")?;
        return Ok(0);
    }
    writeln!(out, "{} job(s) waiting for review:", open.len())?;
    for r in &open {
        let when = r
            .review
            .submitted
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        writeln!(
            out,
            "  {when}  {:<12} {}  board {}  {}  by {}",
            r.bench, r.review.job, r.review.serial, r.review.instruction_id, r.review.performer
        )?;
    }
    Ok(0)
}

/// `verify --hub`: every chain the hub holds, re-checked in the database; with a
/// local store too, that the hub's copy of it agrees with it.
pub fn run_verify(args: &HubArgs, local: Option<&Path>) -> anyhow::Result<i32> {
    let client = match hub_client(args) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let verdicts = match runtime()?.block_on(client.verify()) {
        Ok(v) => v,
        Err(e) => return Ok(client_fail(&e)),
    };
    let mut failed = false;
    let mut out = io::stdout().lock();
    for v in &verdicts {
        match (&v.fault, v.fork_seq) {
            (Some(f), _) => {
                failed = true;
                writeln!(out, "FAILED {} store {}: {f}", v.bench, v.store_id)?;
            }
            (None, Some(seq)) => {
                failed = true;
                writeln!(
                    out,
                    "FAILED {} store {}: a fork was offered at record {seq}",
                    v.bench, v.store_id
                )?;
            }
            (None, None) => writeln!(
                out,
                "OK {} store {}: {} records, head {} {}, {} sample block(s){}, last contact {}",
                v.bench,
                v.store_id,
                v.records,
                v.head.seq,
                v.head.hash,
                v.samples_checked,
                if v.samples_pending > 0 {
                    format!(
                        " ({} sealed step(s) await their samples)",
                        v.samples_pending
                    )
                } else {
                    String::new()
                },
                time_str(&v.last_contact)
            )?,
        }
        let (ok, line) = bench_line(v);
        failed |= !ok;
        writeln!(out, "{line}")?;
        let (ok, lines) = mirror_lines(v);
        failed |= !ok;
        for line in lines {
            writeln!(out, "{line}")?;
        }
    }
    if let Some(dir) = local {
        match compare_local(dir, &verdicts) {
            Ok(line) => writeln!(out, "{line}")?,
            Err(line) => {
                failed = true;
                writeln!(out, "FAILED {line}")?;
            }
        }
    }
    if verdicts.is_empty() {
        writeln!(out, "the hub holds no chains yet")?;
    }
    Ok(if failed { 1 } else { 0 })
}

/// The bench's own head against the hub's copy: whether that holds, and the line
/// `verify --hub` prints for it.
fn bench_line(v: &super::wire::StoreVerdict) -> (bool, String) {
    use super::wire::BenchAgreement as A;
    let at = v
        .bench_head_at
        .as_ref()
        .map_or("an unknown time".to_string(), time_str);
    let who = format!("{} store {}", v.bench, v.store_id);
    match v.bench_agreement() {
        A::NeverReported => (true, format!("   {who}: the bench never reported its head")),
        A::Agrees { seq } => (
            true,
            format!("   {who}: agrees with bench head seq {seq} reported at {at}"),
        ),
        A::Lag { bench, hub } => (
            true,
            format!(
                "   {who}: bench reports head {bench} but hub holds {hub} (lag: {} record(s) \
                 not received yet; reported at {at})",
                bench - hub
            ),
        ),
        A::Loss { bench, hub } => (
            false,
            format!(
                "FAILED {who}: bench reports head {bench} but hub holds {hub} (loss on bench: \
                 records {} to {hub} are no longer in its store; reported at {at})",
                bench + 1
            ),
        ),
        A::Differs { seq } => (
            false,
            format!(
                "FAILED {who}: bench reports head {seq} with a hash the hub does not hold \
                 there (a fork; reported at {at})"
            ),
        ),
    }
}

/// Decisions of the hub and their mirrors in the bench chain, both ways: a mirror
/// the hub chain does not back is a failure; a decision the bench has not mirrored
/// since its last contact is lag.
fn mirror_lines(v: &super::wire::StoreVerdict) -> (bool, Vec<String>) {
    let who = format!("{} store {}", v.bench, v.store_id);
    let mut lines = Vec::new();
    for f in &v.mirror_faults {
        lines.push(format!(
            "FAILED {who}: mirror record {} (job {}) points at hub record {}: {}",
            f.seq, f.job, f.hub_seq, f.what
        ));
    }
    let mut conflict = false;
    for u in &v.unmirrored {
        if let Some(seq) = u.reviewed_at_bench {
            conflict = true;
            lines.push(format!(
                "FAILED {who}: hub record {} decided submission {} of job {}, which the bench \
                 reviewed itself at record {seq}: two decisions on one submission",
                u.hub_seq, u.submitted_seq, u.job
            ));
            continue;
        }
        lines.push(format!(
            "   {who}: decision not yet mirrored: hub record {} on job {} (submission {}), \
             decided {} (lag)",
            u.hub_seq,
            u.job,
            u.submitted_seq,
            time_str(&u.decided)
        ));
    }
    if v.mirrors_checked > 0 && v.mirror_faults.is_empty() {
        lines.push(format!(
            "   {who}: {} mirrored decision(s) point at the hub records that decided them",
            v.mirrors_checked
        ));
    }
    (v.mirror_faults.is_empty() && !conflict, lines)
}

/// Does the hub's copy of the store in `dir` agree with the store itself?
fn compare_local(dir: &Path, verdicts: &[super::wire::StoreVerdict]) -> Result<String, String> {
    let store = Store::open(dir, crate::store::OpenOptions::default())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let ident = super::identity::of(&store)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} is empty", dir.display()))?;
    let Some(v) = verdicts.iter().find(|v| v.store_id == ident.store_id) else {
        return Err(format!(
            "the hub holds nothing of store {} ({})",
            ident.store_id,
            dir.display()
        ));
    };
    let local = store.chain_head();
    if v.head.seq > local.seq {
        return Err(format!(
            "the hub holds store {} up to {} but the store ends at {}",
            ident.store_id, v.head.seq, local.seq
        ));
    }
    let mine = store
        .stored_record(v.head.seq)
        .map_err(|e| e.to_string())?
        .map(|r| r.hash_hex());
    if v.head.seq > 0 && mine.as_deref() != Some(v.head.hash.as_str()) {
        return Err(format!(
            "store {}: record {} differs between the hub and {}",
            ident.store_id,
            v.head.seq,
            dir.display()
        ));
    }
    Ok(format!(
        "OK the store in {} agrees with the hub up to record {} ({} not sent yet)",
        dir.display(),
        v.head.seq,
        local.seq - v.head.seq
    ))
}
