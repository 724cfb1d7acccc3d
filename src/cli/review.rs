//! `traveler review --hub URL JOB --approve|--reject --comment … --by BADGE`: a
//! supervisor's decision from any PC, recorded in the hub's chain. The job's latest
//! submission as the hub holds it (bench, seq and hash) is what the decision names;
//! the hub decides by the bench's rules and answers. Exit codes: 0 recorded,
//! 1 refused, 2 the hub is unreachable (nothing was decided).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::domain::types::Decision;
use crate::hub::client::HubClient;
use crate::hub::review::{ReviewRequest, SendError, send};

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
    let (seq, hash) = crate::hub::review::latest_submission(j)
        .with_context(|| format!("job {job} has no readable submission at the hub"))?;
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

/// `traveler reviews --hub URL`: the queue across every bench, oldest first, with
/// each submission's bench, age and deviations.
pub fn queue(a: &crate::hub::cli::HubArgs, json: bool) -> anyhow::Result<i32> {
    let url = a.hub.as_deref().unwrap_or_default();
    let Some(token) = a.hub_token.as_deref() else {
        eprintln!("error: --hub needs a token: --hub-token TOKEN or TRAVELER_HUB_TOKEN");
        return Ok(1);
    };
    let client = match HubClient::new(url, token, a.hub_ca.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let open = match rt.block_on(client.review_queue()) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(if e.is_transient() { 2 } else { 1 });
        }
    };
    let mut out = std::io::stdout().lock();
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
    let now = chrono::Utc::now();
    for r in &open {
        let when = r
            .submitted_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let age = r.submitted_at.map_or("—".to_string(), |t| age(now - t));
        writeln!(
            out,
            "  {when}  {:<12} {}  board {}  {}  by {}  waiting {age}  deviations: {}",
            r.bench, r.job, r.serial, r.instruction_id, r.performer, r.deviation_headline
        )?;
    }
    Ok(0)
}

/// "3 d 4 h", "2 h 05 min", "12 min".
fn age(d: chrono::Duration) -> String {
    let m = d.num_minutes().max(0);
    match (m / (24 * 60), (m / 60) % 24, m % 60) {
        (0, 0, min) => format!("{min} min"),
        (0, h, min) => format!("{h} h {min:02} min"),
        (days, h, _) => format!("{days} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn age_table() {
        for (min, want) in [
            (0, "0 min"),
            (59, "59 min"),
            (61, "1 h 01 min"),
            (24 * 60 + 125, "1 d 2 h"),
            (-5, "0 min"),
        ] {
            assert_eq!(super::age(chrono::Duration::minutes(min)), want, "{min}");
        }
    }
}
