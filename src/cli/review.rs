//! `traveler review --hub URL JOB --approve|--reject --comment … --by BADGE`: a
//! supervisor's decision from any PC, recorded in the hub's chain. The job's latest
//! submission as the hub holds it (bench, seq and hash) is what the decision names;
//! the hub decides by the bench's rules and answers. Exit codes: 0 recorded,
//! 1 refused, 2 the hub is unreachable (nothing was decided).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::domain::event::Event;
use crate::domain::types::Decision;
use crate::hub::client::HubClient;
use crate::hub::review::{ReviewRequest, SendError, send};
use crate::store::chain_hash;

#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["approve", "reject"])))]
pub struct ReviewArgs {
    /// The job to decide, e.g. BENCH-01-20261201-101500.
    pub job: String,
    /// The shop hub, e.g. https://hub.example:8443.
    #[arg(long, value_name = "URL")]
    pub hub: String,
    /// A bench's or desk's token for the hub.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TRAVELER_HUB_TOKEN",
        hide_env_values = true
    )]
    pub hub_token: String,
    /// PEM certificate to trust for an https hub.
    #[arg(long, value_name = "FILE")]
    pub hub_ca: Option<PathBuf>,
    #[arg(long)]
    pub approve: bool,
    #[arg(long)]
    pub reject: bool,
    /// Why (a rejection's reason is what the technician sees).
    #[arg(long, value_name = "TEXT")]
    pub comment: String,
    /// The reviewer's badge (a supervisor on the hub's roster).
    #[arg(long, value_name = "BADGE")]
    pub by: String,
    /// Read the PIN from the first line of standard input instead of the terminal.
    #[arg(long)]
    pub pin_stdin: bool,
    /// The store the job is in, when two stores hold a job of that id.
    #[arg(long, value_name = "STORE_ID")]
    pub store_id: Option<String>,
}

/// The job's latest submission among the hub's open ones: (store, seq, hash).
fn latest_submission(
    jobs: &[crate::hub::wire::ShopJob],
    job: &str,
    store_id: Option<&str>,
) -> anyhow::Result<(String, u64, String)> {
    let found: Vec<_> = jobs
        .iter()
        .filter(|j| j.job == job && store_id.is_none_or(|s| s == j.store_id))
        .collect();
    let j = match found.as_slice() {
        [] => bail!(
            "job {job} is not waiting for review at the hub (not submitted, already reviewed \
             at its bench, or its bench has not synced the submission yet)"
        ),
        [one] => *one,
        many => bail!(
            "job {job} is in {} stores ({}): give --store-id",
            many.len(),
            many.iter()
                .map(|j| format!("{} of {}", j.store_id, j.bench))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut latest = None;
    for raw in &j.records {
        let bytes = raw.get().as_bytes();
        let head = crate::store::wire::head(bytes)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("a record of job {job} from the hub"))?;
        let d = crate::store::wire::decode(head.seq, bytes)
            .with_context(|| format!("a record of job {job} from the hub"))?;
        if matches!(d.record.event, Event::JobSubmitted { .. }) {
            let prev = crate::hub::client::parse_hash(&d.record.prev_hash)
                .context("a record from the hub without a valid prev_hash")?;
            let seq = d.record.seq;
            latest = Some((seq, hex::encode(chain_hash(seq, &prev, bytes))));
        }
    }
    let (seq, hash) = latest.with_context(|| format!("job {job} has no submission at the hub"))?;
    Ok((j.store_id.clone(), seq, hash))
}

fn read_pin(by: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the PIN from standard input")?;
        if line.is_empty() {
            bail!("the PIN line is missing on standard input");
        }
        return Ok(line.trim().to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the PIN on: use --pin-stdin");
    }
    super::people::read_hidden(&format!("PIN for {by}: "))
}

pub fn run(a: ReviewArgs) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = match HubClient::new(&a.hub, &a.hub_token, a.hub_ca.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    let jobs = match rt.block_on(client.jobs(("submitted", "true"))) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(if e.is_transient() { 2 } else { 1 });
        }
    };
    let (store_id, submitted_seq, submitted_hash) =
        match latest_submission(&jobs, &a.job, a.store_id.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(1);
            }
        };
    let pin = read_pin(&a.by, a.pin_stdin)?;
    let req = ReviewRequest {
        store_id,
        job: a.job.clone(),
        submitted_seq,
        submitted_hash,
        decision: if a.approve {
            Decision::Approved
        } else {
            Decision::Rejected
        },
        comment: a.comment.clone(),
        badge: a.by.clone(),
        pin,
    };
    let mut out = std::io::stdout().lock();
    match rt.block_on(send(&a.hub, &a.hub_token, a.hub_ca.as_deref(), &req)) {
        Ok(r) => {
            writeln!(
                out,
                "job {} of {} {} by {} ({}): hub record {} {}, deciding its submission (record {})",
                r.job,
                r.bench,
                match r.decision {
                    Decision::Approved => "approved",
                    Decision::Rejected => "rejected",
                },
                r.reviewer_name,
                r.reviewer,
                r.hub_seq,
                r.hub_hash,
                r.submitted_seq
            )?;
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(match e {
                SendError::Unreachable { .. } => 2,
                _ => 1,
            })
        }
    }
}
