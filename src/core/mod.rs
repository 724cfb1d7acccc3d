//! The application core: the one door every change passes. A [`Request`] (a typed
//! command, who asks, their PIN where the command is signed) comes in; the core
//! loads what the decision needs from the store, checks the PIN, calls the pure
//! `domain::decide::decide`, appends the events (one transaction, flushed and
//! fsynced) and answers with an [`Answer`] tied to the request. The bench screens,
//! every CLI command and later the shop hub call only this.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::board::{self, BoardJob, CountedHistory, HubAnswer, HubMissing, HubUnavailable};
use crate::domain::command::{
    CheckKind, CheckpointPlan, Command, JobPlan, LotPlan, NewRelease, Rejection, StepPlan,
};
use crate::domain::decide::{AttemptThermal, ReleaseFacts, Situation, StartFacts, decide};
use crate::domain::event::{Event, Record};
use crate::domain::job::{Job, sample_stream};
use crate::domain::person::{Person, Roster};
use crate::domain::policy::PriorJob;
use crate::domain::release::Standing;
use crate::domain::thermal::Sample;
use crate::instruction::schema::{CheckpointKind, Signer, WorkInstructionFile};
use crate::instruction::{Instruction, Library};
use crate::people::auth::{authenticate, roster};
use crate::store::{Store, StoredSample};

/// Which request an answer belongs to; the screen matches answers to what it asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RequestId(pub u64);

/// A badge and the PIN typed for it. The PIN never shows in debug output.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub badge: String,
    pub pin: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, PIN hidden)", self.badge)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: RequestId,
    /// The badge logged in at the bench (the actor of unsigned commands), or
    /// `system` for what the program itself observes.
    pub by: String,
    /// For signed commands: whose PIN proves the signature.
    pub credentials: Option<Credentials>,
    pub command: Command,
}

/// What a request led to: saved (with the records as written) or refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub request: RequestId,
    pub result: Result<Accepted, Rejection>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    /// The records as appended: on disk, fsynced.
    pub records: Vec<Record>,
    /// The job folded again after the append, for job commands.
    pub job: Option<Job>,
    /// Who the PIN proved (log-in, signatures).
    pub person: Option<Person>,
}

impl Accepted {
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.records.iter().map(|r| &r.event)
    }
}

/// Where a bench learns a board's jobs at every other bench: the shop hub
/// (`hub::boards::HubBoards`). Called before a decision, never while the store's
/// decision lock is held, and it answers within its own short timeout whatever the
/// network does: the bench never hangs on the hub.
pub trait BoardLookup: Send + Sync {
    fn board(&self, serial: &str) -> HubAnswer;
}

#[derive(Clone)]
pub struct Core {
    pub store: Store,
    pub library: Arc<Library>,
    pub bench: String,
    /// The shop hub's board history; none: this bench counts its own jobs only
    /// (and its records say so).
    pub boards: Option<Arc<dyn BoardLookup>>,
    /// Where a log-in accepted from the cached shop roster is handed on for the
    /// hub to confirm (the sync task; `hub::people::verify`). The PIN lives only
    /// in that message, never on disk.
    online_logins: Option<tokio::sync::mpsc::UnboundedSender<Credentials>>,
}

impl Core {
    pub fn new(store: Store, library: Arc<Library>, bench: &str) -> Core {
        Core {
            store,
            library,
            bench: bench.to_string(),
            boards: None,
            online_logins: None,
        }
    }

    /// The same core, counting boards' jobs across the shop through `boards`.
    pub fn with_boards(mut self, boards: Arc<dyn BoardLookup>) -> Core {
        self.boards = Some(boards);
        self
    }

    /// Asks the hub about a board (or says why it was not asked). Network I/O:
    /// never call it while holding the decision lock.
    pub fn ask_hub(&self, serial: &str) -> HubAnswer {
        match &self.boards {
            None => Err(HubUnavailable {
                why: HubMissing::NotConfigured,
                detail: String::new(),
            }),
            // Nothing to ask (the start is refused for the missing serial anyway).
            Some(_) if serial.trim().is_empty() => Err(HubUnavailable {
                why: HubMissing::Unusable,
                detail: "no board serial to ask about".into(),
            }),
            Some(b) => {
                let answer = b.board(serial);
                if let Err(e) = &answer {
                    tracing::info!(serial, "board history at this bench only: {e}");
                }
                answer
            }
        }
    }

    /// A board's earlier jobs across the shop (the hub asked first, then this
    /// store read), counted by the rule the limits use.
    pub fn board_history(&self, serial: &str) -> Result<CountedHistory, Rejection> {
        let hub = self.ask_hub(serial);
        self.count_board(serial, hub)
    }

    /// The counting rule on what the hub said and what this store holds now.
    pub fn count_board(&self, serial: &str, hub: HubAnswer) -> Result<CountedHistory, Rejection> {
        let here = self.store.identity().store_id.clone();
        let mut local = Vec::new();
        for id in self.store.jobs_by_serial(serial).map_err(store_error)? {
            let Some(job) = self.job(&id)? else {
                continue;
            };
            local.push(BoardJob::of(&job, &job.bench, &here));
        }
        let mut counted = board::count(serial, &here, local, hub);
        // Every instruction references procedures (`traveler check` refuses one
        // without): a job that recorded none is older than the procedures jobs carry.
        for j in counted.jobs.iter_mut().filter(|j| j.procedures.is_empty()) {
            // The text it ran, by hash, where this bench holds it (folder or
            // archive), else the same revision in the folder; else its procedures
            // are unknown and it counts against every limit on its locations (the
            // safe side), and the refusal says so.
            match self.procedures_by_text(
                &j.instruction_hash,
                &j.instruction_id,
                &j.instruction_rev,
            ) {
                Some(p) => j.procedures = p,
                None => {
                    j.procedures_unknown = true;
                    tracing::warn!(
                        job = %j.job,
                        bench = %j.bench,
                        instruction = %j.instruction_id,
                        revision = %j.instruction_rev,
                        "procedures of a job are unknown here: it counts against every rework limit on its locations"
                    );
                }
            }
        }
        Ok(counted)
    }

    /// Procedures of the instruction text `hash` (folder or archive), else of the
    /// instruction `id` at revision `rev` in today's folder (another revision may
    /// reference other procedures); `None` when none of them is known here.
    fn procedures_by_text(&self, hash: &str, id: &str, rev: &str) -> Option<Vec<String>> {
        if let Some(i) = self.library.instructions.iter().find(|i| i.hash == hash) {
            return Some(i.procedure_refs());
        }
        if let Ok(Some(a)) = self.store.archived_instruction(hash)
            && let Ok(i) = archived_instruction(&a)
        {
            return Some(i.procedure_refs());
        }
        self.library
            .instructions
            .iter()
            .find(|i| i.id() == id && i.revision() == rev)
            .map(Instruction::procedure_refs)
    }

    /// This core hands each log-in on a bench that follows the hub's roster to
    /// `to` (the sync task), which asks the hub to confirm the PIN.
    pub fn with_online_logins(
        mut self,
        to: tokio::sync::mpsc::UnboundedSender<Credentials>,
    ) -> Core {
        self.online_logins = Some(to);
        self
    }

    /// Decides and, when accepted, appends. Exactly one answer per request.
    pub fn execute(&self, request: Request) -> Answer {
        self.execute_at(request, Utc::now())
    }

    pub fn execute_at(&self, request: Request, now: DateTime<Utc>) -> Answer {
        let id = request.id;
        // The hub is asked before the decision lock is taken: a slow hub delays
        // this start only, never another bench task's decision.
        let hub = match &request.command {
            Command::StartJob(new) => Some(self.ask_hub(new.board_serial.trim())),
            _ => None,
        };
        let result = self.run(request, now, hub);
        if let Err(r) = &result {
            tracing::info!(request = id.0, "refused: {r}");
        }
        Answer {
            request: id,
            result,
        }
    }

    fn run(
        &self,
        req: Request,
        now: DateTime<Utc>,
        hub: Option<HubAnswer>,
    ) -> Result<Accepted, Rejection> {
        // Load → decide → append is one step on this store, whichever Core clone or
        // task asks (the bench's write worker, the hub sync task's mirror): no
        // decision is taken on a state another one is about to change.
        let _one_at_a_time = self.store.decision_lock();
        let policy = self.library.policy.as_ref();
        let roster = roster(&self.store)?;
        let command = &req.command;
        // Who acts: the badge whose PIN was checked, else the logged-in badge.
        let actor: Option<Person> = if command.needs_pin() {
            let c = req.credentials.as_ref().ok_or(Rejection::NotLoggedIn)?;
            let policy = policy.ok_or(Rejection::NoPolicy)?;
            Some(authenticate(
                &self.store,
                &roster,
                policy,
                &c.badge,
                &c.pin,
                command.pin_purpose(),
                now,
            )?)
        } else {
            roster.get(&req.by).cloned()
        };
        let job = match command.job() {
            Some(id) => Some(self.job(id)?.ok_or_else(|| Rejection::NoSuchJob {
                job: id.to_string(),
            })?),
            None => None,
        };
        let (plan, thermal) = match (&job, command) {
            (
                Some(j),
                Command::RecordLot { step, .. }
                | Command::RecordComponent { step, .. }
                | Command::Sign { step, .. }
                | Command::CompleteStep { step, .. }
                | Command::Deviate { step, .. },
            ) => {
                let ins = self.instruction_for(j)?;
                let plan = self.plan(&ins, &j.alloy);
                // Lots need no readings; the others are judged on the stored ones.
                let thermal = match command {
                    Command::RecordLot { .. } | Command::RecordComponent { .. } => None,
                    _ => Some(self.attempt_thermal(j, *step, &plan)?),
                };
                (Some(plan), thermal)
            }
            _ => (None, None),
        };
        let start = match command {
            Command::StartJob(new) => Some(self.start_facts(new, now, hub)?),
            _ => None,
        };
        let release = match command {
            Command::Release(new) => Some(self.release_facts(new)?),
            _ => None,
        };
        let records = match command {
            Command::MirrorReview(d) => {
                Some(self.store.events_of_job(&d.job).map_err(store_error)?)
            }
            _ => None,
        };
        // The shop policy as mirrored from the hub: it may refuse a local review.
        let shop = match command {
            Command::Review { .. } | Command::SetShopPolicy { .. } => {
                Some(self.store.shop_policy().map_err(store_error)?)
            }
            _ => None,
        };
        // A hub record to copy: its bytes checked against the hash the hub claimed.
        let hub_record = match command {
            Command::MirrorHubRecord {
                hub_seq,
                hub_hash,
                record,
            } => Some(
                crate::store::wire::check_hub_record(*hub_seq, hub_hash, record.as_bytes())
                    .map_err(|e| {
                        Rejection::HubRecord(
                            crate::domain::hub_records::HubRecordRefusal::Damaged {
                                seq: *hub_seq,
                                what: e.to_string(),
                            },
                        )
                    })?,
            ),
            _ => None,
        };
        // The roster cache's age matters to signatures on a bench that follows the hub.
        let roster_contact =
            if crate::domain::decide::roster_gated(command) && roster.hub_since.is_some() {
                crate::people::roster_cache::read(self.store.path()).map(|c| c.facts())
            } else {
                None
            };
        let situation = Situation {
            shop: shop.as_ref(),
            bench: &self.bench,
            policy,
            actor: actor.as_ref(),
            roster: Some(&roster),
            job: job.as_ref(),
            plan: plan.as_ref(),
            start: start.as_ref(),
            thermal: thermal.as_ref(),
            release: release.as_ref(),
            records: records.as_deref(),
            hub_record: hub_record.as_ref(),
            roster_contact,
        };
        let events = decide(&situation, command, now)?;
        let badge = actor
            .as_ref()
            .map(|p| p.badge.clone())
            .unwrap_or_else(|| req.by.clone());
        let records = self
            .store
            .append_batch_at(
                events
                    .into_iter()
                    .map(|e| (now, badge.clone(), e))
                    .collect(),
            )
            .map_err(store_error)?;
        for r in &records {
            match &r.event {
                Event::InstructionArchived { hash, .. }
                | Event::InstructionReleased {
                    hash,
                    text: Some(_),
                    ..
                } => self.store.note_archived(hash, r.seq).map_err(store_error)?,
                // Refused and on record: the answer is the refusal.
                Event::InstructionReleaseRefused {
                    by_name,
                    by,
                    refusal,
                    ..
                } => {
                    return Err(Rejection::ReleaseRefused {
                        who: format!("{by_name} ({by})"),
                        refusal: refusal.clone(),
                        seq: r.seq,
                    });
                }
                _ => {}
            }
        }
        // Saved from the cached roster; the hub confirms the PIN when it can.
        if let (Command::LogIn, Some(to), Some(c), Some(_)) = (
            command,
            &self.online_logins,
            &req.credentials,
            roster.hub_since,
        ) {
            let _ = to.send(c.clone());
        }
        let job_id = records
            .iter()
            .find_map(|r| r.event.job().map(str::to_string));
        let job = match job_id {
            Some(id) => self.job(&id)?,
            None => None,
        };
        Ok(Accepted {
            records,
            job,
            person: actor,
        })
    }

    pub fn job(&self, id: &str) -> Result<Option<Job>, Rejection> {
        self.store.job(id).map_err(store_error)
    }

    /// The instruction a job ran: the folder's file when its bytes are the same,
    /// else the text archived in the store. Never today's text under the same name.
    pub fn instruction_for(&self, job: &Job) -> Result<Arc<Instruction>, Rejection> {
        if let Some(i) = self
            .library
            .instructions
            .iter()
            .find(|i| i.hash == job.instruction_hash)
        {
            return Ok(Arc::new(i.clone()));
        }
        let unavailable = || Rejection::InstructionUnavailable {
            id: job.instruction_id.clone(),
            hash: job.instruction_hash.clone(),
        };
        let archived = self
            .store
            .archived_instruction(&job.instruction_hash)
            .map_err(store_error)?
            .ok_or_else(unavailable)?;
        archived_instruction(&archived)
            .map(Arc::new)
            .map_err(|reason| Rejection::Store { reason })
    }

    /// What an instruction asks of each step, with windows resolved for `alloy`.
    pub fn plan(&self, ins: &Instruction, alloy: &str) -> JobPlan {
        plan(ins, self.library.alloy(alloy))
    }

    /// The stored samples of the current attempt of `step`, judged.
    pub fn attempt_thermal(
        &self,
        job: &Job,
        step: u32,
        plan: &JobPlan,
    ) -> Result<AttemptThermal, Rejection> {
        let stream = sample_stream(step, job.attempt_of(step));
        let mut samples = Vec::new();
        for s in self.store.samples(&job.id, stream) {
            let s = s.map_err(store_error)?;
            samples.push(Sample {
                channel: s.channel,
                time: s.time,
                celsius: s.celsius,
            });
        }
        let digest = self
            .store
            .samples_digest(&job.id, stream)
            .map_err(store_error)?;
        let window = plan
            .steps
            .get(step as usize)
            .and_then(|s| s.window.as_ref());
        let liquidus = self.library.alloy(&job.alloy).map(|a| a.liquidus_c);
        let mut t = AttemptThermal::judge(&samples, window, liquidus, digest.sha256);
        t.sample_count = digest.count;
        Ok(t)
    }

    /// Writes a batch of readings of attempt `attempt` of a step. Readings are not
    /// events: they go to their own tree; the step's completion seals them.
    pub fn record_samples(
        &self,
        job: &str,
        step: u32,
        attempt: u32,
        samples: &[(String, DateTime<Utc>, f64)],
    ) -> Result<usize, Rejection> {
        let stored: Vec<StoredSample> = samples
            .iter()
            .map(|(channel, time, celsius)| StoredSample {
                channel: channel.clone(),
                time: *time,
                celsius: *celsius,
            })
            .collect();
        self.store
            .append_samples(job, sample_stream(step, attempt), &stored)
            .map_err(store_error)
    }

    /// Earlier jobs on a board at this bench, for the rework-cycle limits: their
    /// procedures as recorded (or as archived), never as today's folder says.
    pub fn prior_jobs(&self, serial: &str) -> Result<Vec<PriorJob>, Rejection> {
        let counted = self.count_board(
            serial,
            Err(HubUnavailable {
                why: HubMissing::NotConfigured,
                detail: String::new(),
            }),
        )?;
        Ok(board::prior_jobs(&counted))
    }

    fn start_facts(
        &self,
        new: &crate::domain::command::NewJob,
        now: DateTime<Utc>,
        hub: Option<HubAnswer>,
    ) -> Result<StartFacts, Rejection> {
        let ins = self
            .library
            .instruction(&new.instruction_id)
            .ok_or_else(|| Rejection::NoSuchInstruction {
                id: new.instruction_id.clone(),
            })?;
        let base = format!("{}-{}", self.bench, now.format("%Y%m%d-%H%M%S"));
        let job = self.unique_job_id(&base)?;
        let archive = match self
            .store
            .archived_instruction(&ins.hash)
            .map_err(store_error)?
        {
            Some(_) => None,
            None => {
                // The bytes as they are now must be the bytes that were checked.
                let text = std::fs::read_to_string(&ins.path).map_err(|e| Rejection::Store {
                    reason: format!("cannot read {} to archive it: {e}", ins.path.display()),
                })?;
                if hex::encode(Sha256::digest(text.as_bytes())) != ins.hash {
                    return Err(Rejection::Store {
                        reason: format!(
                            "{} changed since it was loaded: restart traveler to load it again",
                            ins.path.display()
                        ),
                    });
                }
                let name = ins
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Some((name, text))
            }
        };
        let releases = self.store.releases().map_err(store_error)?;
        let standing = Standing::of(&releases, ins.id(), ins.revision(), &ins.hash);
        // This store's jobs as stored now (under the decision lock), with what the
        // hub said before the lock was taken.
        let hub = hub.unwrap_or_else(|| {
            Err(HubUnavailable {
                why: HubMissing::NotConfigured,
                detail: String::new(),
            })
        });
        let counted = self.count_board(new.board_serial.trim(), hub)?;
        Ok(StartFacts {
            history: Some(counted.record()),
            standing,
            job,
            bench: self.bench.clone(),
            facts: ins.facts(&self.library),
            revision: ins.revision().to_string(),
            hash: ins.hash.clone(),
            step_count: ins.spec.steps.len() as u32,
            prior: board::prior_jobs(&counted),
            archive,
        })
    }

    /// The file to release checked as `traveler check` checks the folder (against
    /// this library's catalog, alloys and policy), and the instruction's releases.
    fn release_facts(&self, new: &NewRelease) -> Result<ReleaseFacts, Rejection> {
        let path = PathBuf::from(&new.file_name);
        let hash = hex::encode(Sha256::digest(new.text.as_bytes()));
        let (instruction_id, revision, problems) =
            match crate::instruction::check_text(&self.library, &path, &new.text) {
                Ok(i) => (i.id().to_string(), i.revision().to_string(), Vec::new()),
                Err(found) => {
                    // Name what it claims to be where it reads at all.
                    let (id, rev) = toml::from_str::<WorkInstructionFile>(&new.text)
                        .map(|w| (w.id.into_inner(), w.revision))
                        .unwrap_or_else(|_| (new.file_name.clone(), String::new()));
                    (id, rev, found.iter().map(ToString::to_string).collect())
                }
            };
        let problems = if self.library.policy.is_none() {
            let mut p = problems;
            p.push(format!(
                "{}: policy.toml did not load: run `traveler check`",
                self.library.dir.display()
            ));
            p
        } else {
            problems
        };
        let history = self
            .store
            .releases()
            .map_err(store_error)?
            .history(&instruction_id)
            .to_vec();
        let text_stored = self
            .store
            .archived_instruction(&hash)
            .map_err(store_error)?
            .is_some();
        let identity = self.store.identity();
        Ok(ReleaseFacts {
            instruction_id,
            revision,
            hash,
            problems,
            text_stored,
            history,
            origin_store: identity.store_id.clone(),
            origin_bench: if self.bench.is_empty() {
                identity.bench.clone()
            } else {
                self.bench.clone()
            },
        })
    }

    /// A job id is the bench and the second it started in; a second job started
    /// in the same second gets a suffix rather than merging into the first.
    fn unique_job_id(&self, base: &str) -> Result<String, Rejection> {
        let taken = |id: &str| self.store.job(id).map(|j| j.is_some()).map_err(store_error);
        if !taken(base)? {
            return Ok(base.to_string());
        }
        for n in 2..1000 {
            let id = format!("{base}-{n}");
            if !taken(&id)? {
                return Ok(id);
            }
        }
        Err(Rejection::Store {
            reason: format!("no free job id after {base}"),
        })
    }

    /// The roster as stored.
    pub fn roster(&self) -> Result<Roster, Rejection> {
        roster(&self.store)
    }
}

/// An archived instruction text as an `Instruction` (checked as it was when the job
/// started; parsed again here).
pub fn archived_instruction(a: &crate::store::ArchivedText) -> Result<Instruction, String> {
    let spec: WorkInstructionFile = toml::from_str(&a.text).map_err(|e| {
        format!(
            "the archived text {} (record {}) does not read as an instruction: {e}",
            a.file_name, a.seq
        )
    })?;
    Ok(Instruction {
        path: PathBuf::from(&a.file_name),
        hash: a.hash.clone(),
        spec,
    })
}

/// The library with every instruction text the store archived and the folder no
/// longer has (by hash), for history and exports: a job's record is self-contained.
/// The folder's instructions come first, so look-ups by id still find today's.
pub fn library_with_archive(store: &Store, library: &Library) -> Library {
    let mut out = library.clone();
    match store.archived_instructions() {
        Ok(texts) => {
            for a in texts {
                if out.instructions.iter().any(|i| i.hash == a.hash) {
                    continue;
                }
                match archived_instruction(&a) {
                    Ok(i) => out.instructions.push(i),
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        }
        Err(e) => tracing::warn!("archived instructions not read: {e}"),
    }
    out
}

/// Two instructions are the same when their bytes are: the hash covers them.
impl PartialEq for Instruction {
    fn eq(&self, other: &Instruction) -> bool {
        self.hash == other.hash
    }
}

fn store_error(e: crate::store::StoreError) -> Rejection {
    Rejection::Store {
        reason: e.to_string(),
    }
}

/// What an instruction asks of each step, as the rules need it.
pub fn plan(ins: &Instruction, alloy: Option<&crate::instruction::schema::Alloy>) -> JobPlan {
    JobPlan {
        steps: ins
            .spec
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepPlan {
                checkpoints: s
                    .checkpoints
                    .iter()
                    .map(|c| CheckpointPlan {
                        kind: match c.kind.get_ref() {
                            CheckpointKind::Confirm => CheckKind::Confirm,
                            CheckpointKind::PassFail => CheckKind::PassFail,
                            CheckpointKind::Measurement => CheckKind::Measurement,
                        },
                        inspector: c.signer == Signer::Inspector,
                        min: c.min.as_ref().map(|m| *m.get_ref()),
                        max: c.max,
                        unit: c.unit.clone().unwrap_or_default(),
                        recorded: c
                            .recorded
                            .as_ref()
                            .map(|m| (m.get_ref().clone(), c.tolerance.unwrap_or(0.0))),
                    })
                    .collect(),
                lots: s
                    .materials
                    .iter()
                    .filter_map(|m| {
                        ins.spec
                            .materials
                            .iter()
                            .find(|d| d.id.get_ref() == m.get_ref() && d.capture_lot)
                    })
                    .map(|d| LotPlan {
                        material: d.id.get_ref().clone(),
                        needs_expiry: d.capture_expiry,
                    })
                    .collect(),
                window: ins.step_window(i, alloy),
                component: s.component.as_ref().map(|c| *c.get_ref()),
            })
            .collect(),
    }
}
