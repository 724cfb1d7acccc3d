//! Carries out `Effect`s against the store. Blocking by design: the runtime calls
//! it on a blocking thread, headless tests call it directly.

use std::sync::Arc;

use chrono::Utc;

use crate::domain::event::Event;
use crate::domain::job::{Job, JobStatus};
use crate::domain::policy::{self, Policy, PriorJob};
use crate::domain::types::Decision;
use crate::instruction::Library;
use crate::people::auth::authenticate;
use crate::store::{Store, StoredSample};

use super::action::Outcome;
use super::effect::Effect;
use super::state::{JobLine, LookupResult, ReviewLine, StepTrace};
use crate::export::queries::{board_history, where_used};

#[derive(Clone)]
pub struct Executor {
    pub store: Store,
    pub library: Arc<Library>,
    pub bench: String,
    /// Where the review screen writes a job's report and record.
    pub export_dir: std::path::PathBuf,
}

impl Executor {
    fn policy(&self) -> Result<&Policy, String> {
        self.library
            .policy
            .as_ref()
            .ok_or_else(|| "policy.toml did not load: run `traveler check`".to_string())
    }

    /// Runs one effect; `None` when nothing needs to go back to the screen.
    /// Bell and StationTarget belong to the runtime and are ignored here.
    pub fn run(&self, effect: Effect) -> Option<Outcome> {
        match effect {
            Effect::Login { badge, pin } => Some(Outcome::LoggedIn(self.login(&badge, &pin))),
            Effect::Logout { badge, reason } => {
                if badge.is_empty() {
                    return None;
                }
                self.store
                    .append(
                        &badge,
                        Event::LoggedOut {
                            badge: badge.clone(),
                            reason,
                        },
                    )
                    .err()
                    .map(|e| Outcome::Error(format!("log-out not recorded: {e}")))
            }
            Effect::LoadHome { badge } => Some(self.home(&badge).unwrap_or_else(Outcome::Error)),
            Effect::LoadBoard { serial } => Some(match self.prior_jobs(&serial) {
                Ok(prior) => Outcome::Board { serial, prior },
                Err(e) => Outcome::Error(e),
            }),
            Effect::OpenJob { job } => Some(Outcome::JobOpened(self.job(&job))),
            Effect::OpenReview { job } => Some(Outcome::ReviewOpened(
                self.job(&job).and_then(|j| self.traces(&j).map(|t| (j, t))),
            )),
            Effect::Append { actor, job, events } => Some(Outcome::Job(
                self.unique_job_id(&job, events).and_then(|(job, events)| {
                    self.store
                        .append_batch(&actor, events)
                        .map_err(|e| e.to_string())
                        .and_then(|_| self.job(&job))
                }),
            )),
            Effect::Sign {
                badge,
                pin,
                role,
                performer,
                job,
                event,
            } => Some(self.sign(&badge, &pin, role, &performer, &job, *event)),
            Effect::StoreSamples { job, step, samples } => self
                .store_samples(&job, step, samples)
                .err()
                .map(|e| Outcome::Error(format!("samples not saved: {e}"))),
            Effect::CompleteStep {
                actor,
                job,
                step,
                pending,
                temperature,
                next,
            } => Some(Outcome::Job((|| {
                self.store_samples(&job, step, pending)?;
                let digest = self
                    .store
                    .samples_digest(&job, step)
                    .map_err(|e| e.to_string())?;
                let mut events = vec![Event::StepCompleted {
                    job: job.clone(),
                    step,
                    temperature,
                    sample_count: digest.count,
                    samples_digest: digest.sha256,
                    attempt: 0,
                }];
                if let Some(next) = next {
                    events.push(Event::StepStarted {
                        job: job.clone(),
                        step: next,
                    });
                }
                self.store
                    .append_batch(&actor, events)
                    .map_err(|e| e.to_string())?;
                self.job(&job)
            })())),
            Effect::Lookup { query } => Some(Outcome::Lookup(self.lookup(query.trim()))),
            Effect::ExportJob { job } => Some(Outcome::Exported(self.export_job(&job))),
            Effect::LoadPeople => Some(Outcome::People(
                crate::people::auth::roster(&self.store).map(|r| r.people.into_values().collect()),
            )),
            Effect::LoadReviewQueue => Some(match self.review_queue() {
                Ok(q) => Outcome::ReviewQueue(q),
                Err(e) => Outcome::Error(e),
            }),
            Effect::Review {
                badge,
                pin,
                job,
                approve,
                comment,
            } => Some(self.review(&badge, &pin, &job, approve, comment)),
            Effect::StationTarget(_) | Effect::Bell => None,
        }
    }

    /// A job id is the bench and the second it started in; a second job started
    /// in the same second gets a suffix rather than merging into the first.
    fn unique_job_id(
        &self,
        job: &str,
        mut events: Vec<Event>,
    ) -> Result<(String, Vec<Event>), String> {
        if !matches!(events.first(), Some(Event::JobStarted { .. })) {
            return Ok((job.to_string(), events));
        }
        let taken = |id: &str| {
            self.store
                .job(id)
                .map(|j| j.is_some())
                .map_err(|e| e.to_string())
        };
        if !taken(job)? {
            return Ok((job.to_string(), events));
        }
        let id = (2..100)
            .map(|n| format!("{job}-{n}"))
            .find(|id| !matches!(taken(id), Ok(true)))
            .ok_or_else(|| format!("no free job id after {job}"))?;
        for e in &mut events {
            match e {
                Event::JobStarted { job, .. } | Event::StepStarted { job, .. } => *job = id.clone(),
                _ => {}
            }
        }
        Ok((id, events))
    }

    fn job(&self, id: &str) -> Result<Job, String> {
        match self.store.job(id) {
            Ok(Some(job)) => Ok(job),
            Ok(None) => Err(format!("job {id} is not in the store")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Each step's trace of its window's channel (or its busiest channel when it
    /// has no window), thinned to what a chart can show.
    fn traces(&self, job: &Job) -> Result<Vec<StepTrace>, String> {
        const MAX_POINTS: usize = 240;
        let instruction = self.library.instruction(&job.instruction_id);
        let alloy = self.library.alloy(&job.alloy);
        let mut out = Vec::new();
        for (i, state) in job.steps.iter().enumerate() {
            if state.sample_count == 0 {
                continue;
            }
            let window = instruction.and_then(|ins| ins.step_window(i, alloy));
            let channel = match &window {
                Some(w) => w.channel.clone(),
                None => match state.temperature.iter().max_by_key(|c| c.count) {
                    Some(c) => c.channel.clone(),
                    None => continue,
                },
            };
            let mut samples = Vec::new();
            for s in self.store.samples(&job.id, i as u32) {
                let s = s.map_err(|e| e.to_string())?;
                if s.channel == channel {
                    samples.push((s.time, s.celsius));
                }
            }
            let Some(first) = samples.first().map(|s| s.0) else {
                continue;
            };
            let secs = |t: chrono::DateTime<Utc>| (t - first).num_milliseconds() as f64 / 1000.0;
            let every = samples.len().div_ceil(MAX_POINTS).max(1);
            let points = samples
                .iter()
                .step_by(every)
                .map(|(t, c)| (secs(*t), *c))
                .collect();
            let excursions = job
                .excursions
                .iter()
                .filter(|e| e.step as usize == i && e.channel == channel)
                .map(|e| (secs(e.started), e.ended.map_or(f64::INFINITY, secs)))
                .collect();
            out.push(StepTrace {
                step: i as u32,
                channel,
                window: window.map(|w| (w.min_c, w.max_c)),
                points,
                excursions,
            });
        }
        Ok(out)
    }

    /// The job's printable report (HTML) and its complete record with hashes (JSON),
    /// in a folder of its own.
    fn export_job(&self, job: &str) -> Result<String, String> {
        use crate::export::{ExportOptions, Scope, html::write_html, json::write_json};
        let dir = self.export_dir.join(job);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let scope = Scope {
            job: Some(job.to_string()),
            ..Scope::default()
        };
        let options = ExportOptions { samples: true };
        write_html(
            &self.store,
            &self.library,
            &scope,
            &options,
            &dir,
            &mut |_| {},
        )
        .map_err(|e| e.to_string())?;
        let json = dir.join(format!("{job}.json"));
        let file = std::fs::File::create(&json)
            .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
        let mut w = std::io::BufWriter::new(file);
        write_json(
            &self.store,
            &self.library,
            &scope,
            &options,
            &mut w,
            &mut |_| {},
        )
        .map_err(|e| e.to_string())?;
        std::io::Write::flush(&mut w).map_err(|e| e.to_string())?;
        w.get_ref().sync_all().map_err(|e| e.to_string())?;
        Ok(dir.display().to_string())
    }

    fn lookup(&self, query: &str) -> Result<LookupResult, String> {
        let history =
            board_history(&self.store, &self.library, query).map_err(|e| e.to_string())?;
        let uses = where_used(&self.store, query).map_err(|e| e.to_string())?;
        Ok(LookupResult {
            query: query.to_string(),
            history: (!history.jobs.is_empty()).then_some(history),
            uses,
        })
    }

    fn login(&self, badge: &str, pin: &str) -> Result<crate::domain::person::Person, String> {
        let person = authenticate(
            &self.store,
            self.policy()?,
            badge,
            pin,
            "log-in",
            Utc::now(),
        )?;
        self.store
            .append(
                badge,
                Event::LoggedIn {
                    badge: badge.to_string(),
                    bench: self.bench.clone(),
                },
            )
            .map_err(|e| e.to_string())?;
        Ok(person)
    }

    fn home(&self, badge: &str) -> Result<Outcome, String> {
        let mut jobs = Vec::new();
        for id in self
            .store
            .jobs_by_person(badge)
            .map_err(|e| e.to_string())?
        {
            let job = self.job(&id)?;
            if job.performer != badge || !job.status.is_open() {
                continue;
            }
            let done = job.steps.iter().filter(|s| s.completed.is_some()).count();
            let note = match job.status {
                JobStatus::Rejected => job
                    .reviews
                    .last()
                    .map(|r| format!("rejected: {}", r.comment))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            jobs.push(JobLine {
                id: job.id.clone(),
                serial: job.board_serial.clone(),
                instruction: job.instruction_id.clone(),
                status: job.status,
                step: format!("{}/{}", done, job.steps.len()),
                note,
            });
        }
        jobs.sort_by(|a, b| b.id.cmp(&a.id));
        let reviews = self
            .store
            .jobs_by_status(JobStatus::Submitted)
            .map_err(|e| e.to_string())?
            .len();
        Ok(Outcome::Home { jobs, reviews })
    }

    /// Earlier jobs on a board, for the rework-cycle limits.
    pub fn prior_jobs(&self, serial: &str) -> Result<Vec<PriorJob>, String> {
        let mut out = Vec::new();
        for id in self
            .store
            .jobs_by_serial(serial)
            .map_err(|e| e.to_string())?
        {
            let job = self.job(&id)?;
            let procedures = self
                .library
                .instruction(&job.instruction_id)
                .map(|i| i.procedure_refs())
                .unwrap_or_default();
            // An aborted job counts only if it got past its first step.
            let counts =
                job.status != JobStatus::Aborted || job.steps.iter().any(|s| s.completed.is_some());
            out.push(PriorJob {
                refdes: job.refdes.clone(),
                procedures,
                counts,
            });
        }
        Ok(out)
    }

    fn store_samples(
        &self,
        job: &str,
        step: u32,
        samples: Vec<(String, chrono::DateTime<Utc>, f64)>,
    ) -> Result<(), String> {
        if samples.is_empty() {
            return Ok(());
        }
        let stored: Vec<StoredSample> = samples
            .into_iter()
            .map(|(channel, time, celsius)| StoredSample {
                channel,
                time,
                celsius,
            })
            .collect();
        self.store
            .append_samples(job, step, &stored)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn sign(
        &self,
        badge: &str,
        pin: &str,
        role: policy::SignerRole,
        performer: &str,
        job: &str,
        mut event: Event,
    ) -> Outcome {
        let now = Utc::now();
        let policy = match self.policy() {
            Ok(p) => p,
            Err(e) => return Outcome::Refused(e),
        };
        let person = match authenticate(&self.store, policy, badge, pin, "signature", now) {
            Ok(p) => p,
            Err(e) => return Outcome::Refused(e),
        };
        if let Err(r) = policy::may_sign(&person, role, performer, now) {
            return Outcome::Refused(format!("{} may not sign: {r}", person.name));
        }
        if let Event::CheckpointSigned { signer_name, .. } = &mut event {
            *signer_name = person.name.clone();
        }
        Outcome::Job(
            self.store
                .append(badge, event)
                .map_err(|e| e.to_string())
                .and_then(|_| self.job(job)),
        )
    }

    fn review_queue(&self) -> Result<Vec<ReviewLine>, String> {
        let mut out = Vec::new();
        for r in crate::export::queries::open_reviews(&self.store).map_err(|e| e.to_string())? {
            let job = self.job(&r.job)?;
            out.push(ReviewLine {
                id: r.job,
                serial: r.serial,
                instruction: r.instruction_id,
                performer: r.performer,
                submitted: r.submitted.unwrap_or(job.started),
                excursions: job.excursions.len(),
            });
        }
        Ok(out)
    }

    fn review(&self, badge: &str, pin: &str, id: &str, approve: bool, comment: String) -> Outcome {
        let now = Utc::now();
        let result = (|| {
            let policy = self.policy()?;
            let job = self.job(id)?;
            if job.status != JobStatus::Submitted {
                return Err(format!(
                    "job {id} is {}, not waiting for review",
                    job.status.as_str()
                ));
            }
            let person = authenticate(&self.store, policy, badge, pin, "review", now)?;
            let inspectors: Vec<String> = job
                .history
                .iter()
                .filter(|s| s.meaning == crate::domain::types::Meaning::Inspected)
                .map(|s| s.signer.clone())
                .collect();
            policy::may_review(&person, &job.performer, &inspectors, now)
                .map_err(|r| format!("{} may not review this job: {r}", person.name))?;
            self.store
                .append(
                    badge,
                    Event::JobReviewed {
                        job: id.to_string(),
                        decision: if approve {
                            Decision::Approved
                        } else {
                            Decision::Rejected
                        },
                        reviewer: badge.to_string(),
                        reviewer_name: person.name.clone(),
                        comment,
                    },
                )
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "Job {id} {} by {} — saved",
                if approve {
                    "approved"
                } else {
                    "rejected and returned to its technician"
                },
                person.name
            ))
        })();
        match result {
            Ok(text) => Outcome::Reviewed(Ok(text)),
            Err(e)
                if e.starts_with("wrong PIN")
                    || e.contains("may not review")
                    || e.contains("locked") =>
            {
                Outcome::Refused(e)
            }
            Err(e) => Outcome::Reviewed(Err(e)),
        }
    }
}
