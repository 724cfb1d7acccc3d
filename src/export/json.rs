//! The JSON export and its verification.
//!
//! ```text
//! {"traveler_export":1,"store":{"store_id":"<uuid>","bench":"..."},"exported_at":"...","chain_head":{"seq":N,"hash":"<hex>"},
//!  "scope":{...},"samples_included":false,"jobs":[
//! {"id":"J1","instruction":{...}|null,"procedures":[...],"job":<the job fold>,
//!  "samples":[{"step":0,"count":n,"points":[{"channel","time","celsius"}...]}...],
//!  "events":[{"seq":1,"hash":"<hex>","record":<canonical bytes, verbatim>}...]}
//! ,...
//! ],"instructions":[{"seq":n,"hash":"<hex>","record":<canonical bytes>}...],
//! "counts":{"jobs":n,"events":m,"samples":k}}
//! ```
//!
//! `instructions` holds the records behind the texts the jobs ran: each release of
//! such a text and the record holding its bytes (once per hash), where the jobs'
//! own records do not. Exports written before it lack the key.
//!
//! One job per line, written as it is read. `record` holds the canonical bytes exactly
//! as the store hashed them, so a receiver recomputes every hash as
//! SHA-256(seq u64 BE ‖ prev_hash raw ‖ the text of `record`) — what
//! [`verify_json_export`] does, on the bytes (the envelope's seq and prev_hash, never
//! today's event types), together with the links between a job's consecutive records
//! and the exported samples against the digests sealed in the chain. Re-folding each
//! job from its records and comparing it with the exported `job` summary is a
//! separate check with its own report ([`RefoldReport`]): the summary is not hashed,
//! and a later traveler may fold the same records into more fields.

use std::fmt;
use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use tracing::info;

use crate::domain::event::Record;
use crate::domain::job::Job;
use crate::instruction::Library;
use crate::store::{Store, StoreError, StoredSample, chain_hash};

use super::{
    ExportError, ExportOptions, ExportSummary, JobBundle, Progress, Result, Scope, StoredOrPlain,
    job_procedures, load_job,
};

pub const EXPORT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct HeadJson {
    seq: u64,
    hash: String,
}

#[derive(Serialize)]
struct InstructionJson<'a> {
    id: &'a str,
    revision: &'a str,
    title: &'a str,
    activity: String,
    /// Hex SHA-256 of the instruction file in the library now; compare with the
    /// job's `instruction_hash` to see whether the text changed since the job ran.
    file_hash: &'a str,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SamplePoint {
    pub channel: String,
    pub time: DateTime<Utc>,
    pub celsius: f64,
}

#[derive(Serialize, Deserialize)]
struct StepSamples {
    step: u32,
    count: u64,
    points: Vec<SamplePoint>,
}

/// Streams the jobs of `scope` as one JSON document to `w`.
pub fn write_json<W: Write>(
    store: &Store,
    library: &Library,
    scope: &Scope,
    options: &ExportOptions,
    mut w: W,
    progress: Progress<'_>,
) -> Result<ExportSummary> {
    let head = store.chain_head();
    let mut summary = ExportSummary::default();
    write!(
        w,
        "{{\"traveler_export\":{EXPORT_VERSION},\"store\":{},\"exported_at\":{},\"chain_head\":",
        serde_json::to_string(store.identity())?,
        serde_json::to_string(&super::time_str(&Utc::now()))?
    )?;
    serde_json::to_writer(
        &mut w,
        &HeadJson {
            seq: head.seq,
            hash: head.hash_hex(),
        },
    )?;
    w.write_all(b",\"scope\":")?;
    serde_json::to_writer(&mut w, scope)?;
    write!(w, ",\"samples_included\":{},\"jobs\":[", options.samples)?;
    let mut first = true;
    let mut hashes = std::collections::BTreeSet::new();
    let mut jobs = std::collections::BTreeSet::new();
    for id in scope.job_ids(store)? {
        let id = id?;
        let Some(bundle) = load_job(store, library, &id, head.seq, true)? else {
            continue;
        };
        w.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        hashes.insert(bundle.job.instruction_hash.clone());
        jobs.insert(bundle.job.id.clone());
        write_job(store, library, &bundle, options, &mut w, &mut summary)?;
        summary.jobs += 1;
        progress(summary.jobs);
    }
    w.write_all(b"\n],\"instructions\":[")?;
    write_instruction_records(store, &hashes, &jobs, head.seq, &mut w)?;
    writeln!(
        w,
        "],\"counts\":{{\"jobs\":{},\"events\":{},\"samples\":{}}}}}",
        summary.jobs, summary.events, summary.samples
    )?;
    w.flush()?;
    info!(
        jobs = summary.jobs,
        events = summary.events,
        "JSON export written"
    );
    Ok(summary)
}

fn write_job<W: Write>(
    store: &Store,
    library: &Library,
    bundle: &JobBundle<'_>,
    options: &ExportOptions,
    w: &mut W,
    summary: &mut ExportSummary,
) -> Result<()> {
    let job = &bundle.job;
    w.write_all(b"{\"id\":")?;
    serde_json::to_writer(&mut *w, &job.id)?;
    w.write_all(b",\"instruction\":")?;
    let instruction = bundle.instruction.map(|i| InstructionJson {
        id: i.id(),
        revision: i.revision(),
        title: &i.spec.title,
        activity: i.spec.activity.to_string(),
        file_hash: &i.hash,
    });
    serde_json::to_writer(&mut *w, &instruction)?;
    w.write_all(b",\"procedures\":")?;
    serde_json::to_writer(&mut *w, &job_procedures(library, bundle.instruction))?;
    w.write_all(b",\"job\":")?;
    serde_json::to_writer(&mut *w, job)?;
    if options.samples {
        w.write_all(b",\"samples\":[")?;
        for step in 0..job.steps.len() as u32 {
            // The current attempt's samples: the ones its seal covers.
            let points = step_points(store, &job.id, job.steps[step as usize].sample_stream)?;
            if step > 0 {
                w.write_all(b",")?;
            }
            summary.samples += points.len() as u64;
            serde_json::to_writer(
                &mut *w,
                &StepSamples {
                    step,
                    count: points.len() as u64,
                    points,
                },
            )?;
        }
        w.write_all(b"]")?;
    }
    w.write_all(b",\"events\":[")?;
    for (i, r) in bundle.records.iter().enumerate() {
        let StoredOrPlain::Stored(s) = r else {
            return Err(ExportError::Job {
                job: job.id.clone(),
                what: "records were read without their hashes".into(),
            });
        };
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(
            w,
            "{{\"seq\":{},\"hash\":\"{}\",\"record\":",
            s.record.seq,
            s.hash_hex()
        )?;
        w.write_all(&s.canonical)?;
        w.write_all(b"}")?;
        summary.events += 1;
    }
    w.write_all(b"]}")?;
    Ok(())
}

/// The records behind the instruction texts the exported jobs ran: each release of
/// such a text, and the record holding its bytes (a release's or a job's archive,
/// once per hash) when it is not among the exported jobs' own records. Verbatim, so
/// a receiver checks their hashes like the jobs' records.
fn write_instruction_records<W: Write>(
    store: &Store,
    hashes: &std::collections::BTreeSet<String>,
    jobs: &std::collections::BTreeSet<String>,
    head: u64,
    w: &mut W,
) -> Result<()> {
    let mut seqs = std::collections::BTreeSet::new();
    for r in store.release_records()? {
        // A release made here, or one made at the hub and mirrored here.
        let released = match &r.event {
            crate::domain::event::Event::InstructionReleased { hash, .. } => Some(hash.clone()),
            e => crate::store::wire::decode_mirrored(e).and_then(|i| match i.event {
                crate::domain::event::Event::InstructionReleased { hash, .. } => Some(hash),
                _ => None,
            }),
        };
        if let Some(hash) = released
            && hashes.contains(&hash)
            && r.seq <= head
        {
            seqs.insert(r.seq);
        }
    }
    for hash in hashes {
        if let Some(a) = store.archived_instruction(hash)?
            && a.seq <= head
        {
            // A job's archive record is exported with its job when that job is.
            let with_its_job = match store.record(a.seq)?.map(|r| r.event) {
                Some(crate::domain::event::Event::InstructionArchived { job, .. }) => {
                    jobs.contains(&job)
                }
                _ => false,
            };
            if !with_its_job {
                seqs.insert(a.seq);
            }
        }
    }
    for (i, seq) in seqs.into_iter().enumerate() {
        let Some(s) = store.stored_record(seq)? else {
            continue;
        };
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(
            w,
            "{{\"seq\":{},\"hash\":\"{}\",\"record\":",
            seq,
            s.hash_hex()
        )?;
        w.write_all(&s.canonical)?;
        w.write_all(b"}")?;
    }
    Ok(())
}

fn step_points(store: &Store, job: &str, step: u32) -> Result<Vec<SamplePoint>> {
    store
        .samples(job, step)
        .map(|s| {
            s.map(|s: StoredSample| SamplePoint {
                channel: s.channel,
                time: s.time,
                celsius: s.celsius,
            })
            .map_err(Into::into)
        })
        .collect()
}

/// The digest a StepCompleted carries, recomputed from exported points in their
/// order (the store's key order): time ms (sign bit flipped, u64 BE) ‖ channel
/// length u32 BE ‖ channel ‖ celsius bits u64 BE, for each sample.
pub fn samples_digest(points: &[SamplePoint]) -> String {
    let mut d = crate::domain::thermal::SampleDigest::new();
    for p in points {
        d.update(&crate::domain::thermal::Sample {
            channel: p.channel.clone(),
            time: p.time,
            celsius: p.celsius,
        });
    }
    hex::encode(d.finish())
}

// ---------------------------------------------------------------- verification

/// The first thing in an export that does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportVerifyFailure {
    pub job: Option<String>,
    pub seq: Option<u64>,
    pub problem: String,
}

impl fmt::Display for ExportVerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.job, self.seq) {
            (Some(j), Some(s)) => write!(f, "job {j}, seq {s}: {}", self.problem),
            (Some(j), None) => write!(f, "job {j}: {}", self.problem),
            (None, Some(s)) => write!(f, "seq {s}: {}", self.problem),
            (None, None) => f.write_str(&self.problem),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportVerifyReport {
    pub jobs: u64,
    pub events: u64,
    pub samples: u64,
    /// The chain head the export was taken at.
    pub head: Option<(u64, String)>,
    /// The store the export was taken from (`None` in exports of store format 3).
    pub store: Option<crate::store::StoreIdentity>,
    /// `None` when every hash, link and sample seal held.
    pub failure: Option<ExportVerifyFailure>,
    /// The separate check of each exported job summary against a re-fold of its
    /// records with this build's fold.
    pub refold: RefoldReport,
    /// Records whose hashes hold but which this build cannot read (a newer traveler
    /// wrote them); their jobs are not re-folded.
    pub newer: u64,
}

/// Re-folding each job from its records and comparing it with the exported `job`.
/// Separate from the hashes: the summary is not hashed, and a later traveler may fold
/// the same records differently; a difference says the summary does not follow from
/// the records as this build reads them, not that a record was changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefoldReport {
    /// Jobs whose exported summary equals this build's fold of their records.
    pub matched: u64,
    /// Of `matched`: summaries written by an older fold, which lack fields this
    /// build's fold adds but agree on every field they have.
    pub older: u64,
    /// Jobs not re-folded (records this build cannot read).
    pub skipped: u64,
    /// Jobs whose summary differs.
    pub differing: u64,
    /// The first difference.
    pub first: Option<ExportVerifyFailure>,
}

#[derive(Deserialize)]
struct EventIn {
    seq: u64,
    hash: String,
    record: Box<RawValue>,
}

#[derive(Deserialize)]
struct JobIn {
    id: String,
    job: serde_json::Value,
    #[serde(default)]
    samples: Option<Vec<StepSamples>>,
    events: Vec<EventIn>,
}

#[derive(Default)]
struct Checker {
    report: ExportVerifyReport,
    version: Option<u32>,
    /// The highest-seq event seen, to hold against the chain head.
    last: Option<(u64, [u8; 32])>,
}

impl Checker {
    fn fail(&mut self, job: Option<&str>, seq: Option<u64>, problem: impl Into<String>) {
        if self.report.failure.is_none() {
            self.report.failure = Some(ExportVerifyFailure {
                job: job.map(str::to_string),
                seq,
                problem: problem.into(),
            });
        }
    }

    fn check_job(&mut self, entry: JobIn) {
        self.report.jobs += 1;
        if self.report.failure.is_some() {
            return;
        }
        let id = entry.id.as_str();
        let mut records: Vec<Record> = Vec::with_capacity(entry.events.len());
        let mut unreadable = false;
        let mut prev: Option<(u64, [u8; 32])> = None;
        for e in &entry.events {
            self.report.events += 1;
            let seq = e.seq;
            let bytes = e.record.get().as_bytes();
            // Hashes and links on the bytes: the envelope's seq and prev_hash.
            let head = match crate::store::wire::head(bytes) {
                Ok(h) => h,
                Err(err) => {
                    return self.fail(Some(id), Some(seq), format!("unreadable record ({err})"));
                }
            };
            if head.seq != seq {
                return self.fail(
                    Some(id),
                    Some(seq),
                    format!("the record says seq {}", head.seq),
                );
            }
            let prev_hash = head.prev_hash;
            let computed = chain_hash(seq, &prev_hash, bytes);
            if parse_hash(&e.hash) != Some(computed) {
                return self.fail(
                    Some(id),
                    Some(seq),
                    "hash mismatch: the record does not hash to the exported hash",
                );
            }
            if let Some((p_seq, p_hash)) = prev {
                if seq <= p_seq {
                    return self.fail(Some(id), Some(seq), "events out of sequence order");
                }
                if seq == p_seq + 1 && prev_hash != p_hash {
                    return self.fail(
                        Some(id),
                        Some(seq),
                        format!("prev_hash does not match the hash of seq {p_seq}"),
                    );
                }
            }
            prev = Some((seq, computed));
            if self.last.is_none_or(|(s, _)| seq > s) {
                self.last = Some((seq, computed));
            }
            match crate::store::wire::decode(seq, bytes) {
                Ok(d) => {
                    if d.record.event.job() != Some(id) {
                        return self.fail(Some(id), Some(seq), "the record belongs to another job");
                    }
                    records.push(d.record);
                }
                Err(StoreError::Newer { .. } | StoreError::Undecodable { .. }) => {
                    self.report.newer += 1;
                    unreadable = true;
                }
                Err(err) => return self.fail(Some(id), Some(seq), err.to_string()),
            }
        }
        if unreadable {
            self.report.refold.skipped += 1;
            return;
        }
        let Some(job) = Job::fold(&records) else {
            return self.fail(Some(id), None, "no job-started record among the events");
        };
        // Fields this traveler's fold has and the exported summary lacks were added to
        // the fold after the export was written: not a difference. A field the summary
        // has must hold the value the fold gives it.
        let differs = match serde_json::to_value(&job) {
            Ok(folded) if folded == entry.job => None,
            Ok(folded) => match summary_difference(&entry.job, &folded) {
                None => {
                    self.report.refold.older += 1;
                    None
                }
                Some(field) => Some(format!(
                    "the exported job summary differs from this traveler's fold of its \
                     records (at {field})"
                )),
            },
            Err(e) => Some(format!("cannot re-encode the job ({e})")),
        };
        match differs {
            None => self.report.refold.matched += 1,
            Some(problem) => {
                self.report.refold.differing += 1;
                if self.report.refold.first.is_none() {
                    self.report.refold.first = Some(ExportVerifyFailure {
                        job: Some(id.to_string()),
                        seq: None,
                        problem,
                    });
                }
            }
        }
        for s in entry.samples.iter().flatten() {
            self.report.samples += s.points.len() as u64;
            let Some(state) = job.steps.get(s.step as usize) else {
                return self.fail(
                    Some(id),
                    None,
                    format!("samples for step {} the job does not have", s.step),
                );
            };
            if s.count != s.points.len() as u64 {
                return self.fail(
                    Some(id),
                    None,
                    format!(
                        "step {}: {} sample points listed, {} promised",
                        s.step,
                        s.points.len(),
                        s.count
                    ),
                );
            }
            // Only completed steps are sealed by a digest in the chain.
            if let Some(sealed) = &state.samples_digest
                && (samples_digest(&s.points) != *sealed || state.sample_count != s.count)
            {
                return self.fail(
                    Some(id),
                    None,
                    format!(
                        "step {}: the samples do not match the digest sealed in the chain",
                        s.step
                    ),
                );
            }
        }
    }

    /// The instruction texts' records (releases, archives): each hashes to its
    /// exported hash and holds an instruction text or its release.
    fn check_instruction_records(&mut self, records: &[EventIn]) {
        for e in records {
            let bytes = e.record.get().as_bytes();
            let seq = e.seq;
            let head = match crate::store::wire::head(bytes) {
                Ok(h) if h.seq == seq => h,
                Ok(h) => {
                    return self.fail(None, Some(seq), format!("the record says seq {}", h.seq));
                }
                Err(err) => {
                    return self.fail(None, Some(seq), format!("unreadable record ({err})"));
                }
            };
            let computed = chain_hash(seq, &head.prev_hash, bytes);
            if parse_hash(&e.hash) != Some(computed) {
                return self.fail(
                    None,
                    Some(seq),
                    "hash mismatch: the instruction record does not hash to the exported hash",
                );
            }
            // A release made at the hub: the hub record it copies holds under its
            // own hash, and its text hashes to the release's hash.
            if let Ok(d) = crate::store::wire::decode(seq, bytes)
                && let crate::domain::event::Event::HubRecordMirrored {
                    hub_seq,
                    hub_hash,
                    record,
                } = &d.record.event
            {
                match crate::store::wire::check_hub_record(*hub_seq, hub_hash, record.as_bytes()) {
                    Err(err) => return self.fail(None, Some(seq), err.to_string()),
                    Ok(inner) => {
                        if let Err(fault) = crate::domain::release::check_hub_release(&inner.event)
                        {
                            return self.fail(
                                None,
                                Some(seq),
                                format!("the release of hub record {hub_seq}: {fault}"),
                            );
                        }
                    }
                }
            }
            if self.last.is_none_or(|(s, _)| seq > s) {
                self.last = Some((seq, computed));
            }
        }
    }

    fn finish(mut self) -> ExportVerifyReport {
        if self.report.failure.is_none() {
            match (self.version, &self.report.head, self.last) {
                (None, ..) => self.fail(None, None, "not a traveler JSON export"),
                (Some(v), ..) if v != EXPORT_VERSION => {
                    self.fail(None, None, format!("export version {v} is not known"))
                }
                (_, None, _) => self.fail(None, None, "the export has no chain head"),
                (_, Some((head_seq, head_hash)), Some((seq, hash))) => {
                    let (head_seq, head_hash) = (*head_seq, head_hash.clone());
                    if seq > head_seq {
                        self.fail(
                            None,
                            Some(seq),
                            format!("an event beyond the chain head {head_seq}"),
                        );
                    } else if seq == head_seq && parse_hash(&head_hash) != Some(hash) {
                        self.fail(
                            None,
                            Some(seq),
                            "the last record does not hash to the chain head",
                        );
                    }
                }
                _ => {}
            }
        }
        self.report
    }
}

fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Where the exported summary `exported` says something the fold `folded` does not:
/// every field it has must be in the fold with the same value; fields only the fold
/// has are allowed (a later fold added them). `None` when it holds.
fn summary_difference(exported: &serde_json::Value, folded: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (exported, folded) {
        (Value::Object(e), Value::Object(f)) => {
            for (k, ve) in e {
                match f.get(k) {
                    None => return Some(format!("{k} (not in this traveler's fold)")),
                    Some(vf) => {
                        if let Some(at) = summary_difference(ve, vf) {
                            return Some(format!("{k}.{at}").trim_end_matches('.').to_string());
                        }
                    }
                }
            }
            None
        }
        (Value::Array(e), Value::Array(f)) => {
            if e.len() != f.len() {
                return Some(format!("length {} vs {}", e.len(), f.len()));
            }
            e.iter()
                .zip(f)
                .enumerate()
                .find_map(|(i, (a, b))| summary_difference(a, b).map(|at| format!("[{i}].{at}")))
                .map(|s| s.trim_end_matches('.').to_string())
        }
        (a, b) if a == b => None,
        _ => Some(String::new()),
    }
}

struct FileVisitor<'c>(&'c mut Checker);

impl<'de> Visitor<'de> for FileVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a traveler JSON export")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "traveler_export" => self.0.version = Some(map.next_value()?),
                "store" => self.0.report.store = Some(map.next_value()?),
                "chain_head" => {
                    let h: HeadJson = map.next_value()?;
                    self.0.report.head = Some((h.seq, h.hash));
                }
                "jobs" => map.next_value_seed(JobsSeed(&mut *self.0))?,
                "instructions" => {
                    let records: Vec<EventIn> = map.next_value()?;
                    self.0.check_instruction_records(&records);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct JobsSeed<'c>(&'c mut Checker);

impl<'de> DeserializeSeed<'de> for JobsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for JobsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of jobs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        // One job in memory at a time, however large the export.
        while let Some(job) = seq.next_element::<JobIn>()? {
            self.0.check_job(job);
        }
        Ok(())
    }
}

/// Checks a JSON export read from `r` (streamed, one job at a time). Unreadable JSON
/// is an error; anything that does not hold is the report's `failure`.
pub fn verify_json_export(r: impl Read) -> Result<ExportVerifyReport> {
    let mut checker = Checker::default();
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(r));
    de.deserialize_map(FileVisitor(&mut checker))?;
    de.end()?;
    Ok(checker.finish())
}
