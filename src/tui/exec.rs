//! Carries out `Effect`s: commands go to the core (the one door for changes),
//! reads are answered here. Blocking by design: the runtime calls it on a worker
//! thread, headless tests call it directly.

use chrono::Utc;

use crate::core::{Core, RequestId};
use crate::domain::job::{Job, JobStatus, sample_stream};
use crate::store::Store;

use super::action::{Outcome, Reply, ReviewOpened};
use super::effect::{Effect, Read};
use super::state::{BoardFacts, JobLine, LookupResult, ReviewLine, StepTrace};
use crate::export::queries::{counted_board_history, where_used};

#[derive(Clone)]
pub struct Executor {
    pub core: Core,
    /// Where the review screen writes a job's report and record.
    pub export_dir: std::path::PathBuf,
}

impl Executor {
    pub fn new(core: Core, export_dir: std::path::PathBuf) -> Executor {
        Executor { core, export_dir }
    }

    fn store(&self) -> &Store {
        &self.core.store
    }

    /// Runs one effect; `None` when nothing needs to go back to the screen.
    /// Bell and StationTarget belong to the runtime and are ignored here.
    pub fn run(&self, effect: Effect) -> Option<Reply> {
        match effect {
            Effect::Command(request) => {
                let answer = self.core.execute(*request);
                Some(Reply {
                    request: answer.request,
                    outcome: Outcome::Answer(answer.result),
                })
            }
            Effect::StoreSamples {
                job,
                step,
                attempt,
                samples,
            } => self
                .core
                .record_samples(&job, step, attempt, &samples)
                .err()
                .map(|e| Reply {
                    request: RequestId::default(),
                    outcome: Outcome::SamplesNotSaved(e.to_string()),
                }),
            Effect::Read { request, read } => Some(Reply {
                request,
                outcome: self.read(read),
            }),
            Effect::StationTarget(_) | Effect::Bell => None,
        }
    }

    fn read(&self, read: Read) -> Outcome {
        match read {
            Read::Home { badge } => self.home(&badge).unwrap_or_else(Outcome::Error),
            // Counted as the core counts at StartJob: the hub asked (short timeout),
            // then this store; the greyed reasons are the ones the core will give.
            Read::Board { serial } => match self.core.board_history(&serial) {
                Ok(counted) => Outcome::Board {
                    prior: crate::domain::board::prior_jobs(&counted),
                    board: board_facts(&counted),
                    scope_line: counted.scope_line(),
                    scope: Some(counted.scope),
                    serial,
                },
                Err(e) => Outcome::Error(e.to_string()),
            },
            Read::OpenJob { job } => Outcome::JobOpened(self.job(&job).and_then(|j| {
                let ins = self.core.instruction_for(&j).map_err(|e| e.to_string())?;
                Ok((j, ins))
            })),
            Read::OpenReview { job } => Outcome::ReviewOpened(self.job(&job).and_then(|j| {
                let instruction = self.core.instruction_for(&j).ok();
                let traces = self.traces(&j, instruction.as_deref())?;
                Ok(Box::new(ReviewOpened {
                    job: j,
                    instruction,
                    traces,
                }))
            })),
            Read::ReviewQueue => match self.review_queue() {
                Ok(q) => Outcome::ReviewQueue(q),
                Err(e) => Outcome::Error(e),
            },
            Read::People => Outcome::People(
                self.core
                    .roster()
                    .map(|r| r.people.into_values().collect())
                    .map_err(|e| e.to_string()),
            ),
            Read::Lookup { query } => Outcome::Lookup(self.lookup(query.trim())),
            Read::ExportJob { job } => Outcome::Exported(self.export_job(&job)),
            Read::Figure {
                job,
                step,
                checkpoint,
            } => Outcome::Figure(self.figure(&job, step, checkpoint).ok().flatten()),
        }
    }

    /// The station figure a checkpoint names, from the attempt's stored samples.
    fn figure(&self, id: &str, step: u32, checkpoint: u32) -> Result<Option<f64>, String> {
        let job = self.job(id)?;
        let ins = self.core.instruction_for(&job).map_err(|e| e.to_string())?;
        let plan = self.core.plan(&ins, &job.alloy);
        let Some(sp) = plan.steps.get(step as usize) else {
            return Ok(None);
        };
        let Some((metric, _)) = sp
            .checkpoints
            .get(checkpoint as usize)
            .and_then(|c| c.recorded.clone())
        else {
            return Ok(None);
        };
        let t = self
            .core
            .attempt_thermal(&job, step, &plan)
            .map_err(|e| e.to_string())?;
        Ok(t.metric(&metric, sp.window.as_ref().map(|w| w.channel.as_str())))
    }

    fn job(&self, id: &str) -> Result<Job, String> {
        match self.store().job(id) {
            Ok(Some(job)) => Ok(job),
            Ok(None) => Err(format!("job {id} is not in the store")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Each step's trace of its window's channel (or its busiest channel when it
    /// has no window), thinned to what a chart can show.
    fn traces(
        &self,
        job: &Job,
        instruction: Option<&crate::instruction::Instruction>,
    ) -> Result<Vec<StepTrace>, String> {
        const MAX_POINTS: usize = 240;
        let alloy = self.core.library.alloy(&job.alloy);
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
            // The last attempt's samples (each attempt keeps its own).
            for s in self
                .store()
                .samples(&job.id, sample_stream(i as u32, state.attempt()))
            {
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
        // A job id is the bench's text: never a path out of the export folder.
        let stem = crate::export::file_stem(job);
        let dir = self.export_dir.join(&stem);
        crate::private_fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let scope = Scope {
            job: Some(job.to_string()),
            ..Scope::default()
        };
        let options = ExportOptions { samples: true };
        let library = crate::core::library_with_archive(self.store(), &self.core.library);
        write_html(self.store(), &library, &scope, &options, &dir, &mut |_| {})
            .map_err(|e| e.to_string())?;
        crate::private_fs::restrict_files_in(&dir)
            .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
        let json = dir.join(format!("{stem}.json"));
        let file = crate::private_fs::create_file(&json)
            .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
        let mut w = std::io::BufWriter::new(file);
        write_json(
            self.store(),
            &library,
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
        let library = crate::core::library_with_archive(self.store(), &self.core.library);
        // The board as the limits count it: every bench's jobs when the hub answers.
        let counted = self.core.board_history(query).map_err(|e| e.to_string())?;
        let history =
            counted_board_history(self.store(), &library, &counted).map_err(|e| e.to_string())?;
        let uses = where_used(self.store(), query).map_err(|e| e.to_string())?;
        Ok(LookupResult {
            query: query.to_string(),
            history: (!history.jobs.is_empty()).then_some(history),
            uses,
        })
    }

    fn home(&self, badge: &str) -> Result<Outcome, String> {
        let mut jobs = Vec::new();
        for id in self
            .store()
            .jobs_by_person(badge)
            .map_err(|e| e.to_string())?
        {
            let job = self.job(&id)?;
            if job.performer != badge || !job.status.is_open() {
                continue;
            }
            // The step the job resumes at, by number and name, not the steps done.
            let step = match job.current_step() {
                Some(i) => {
                    let name = self
                        .core
                        .instruction_for(&job)
                        .ok()
                        .and_then(|ins| {
                            ins.spec
                                .steps
                                .get(i as usize)
                                .map(|s| crate::tui::view::fit::step_name(&s.text).to_string())
                        })
                        .unwrap_or_default();
                    format!("{}/{} {}", i + 1, job.steps.len(), name)
                }
                None => format!("all {} done", job.steps.len()),
            };
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
                step,
                note,
            });
        }
        jobs.sort_by(|a, b| b.id.cmp(&a.id));
        let reviews = self
            .store()
            .jobs_by_status(JobStatus::Submitted)
            .map_err(|e| e.to_string())?
            .len();
        Ok(Outcome::Home { jobs, reviews })
    }

    fn review_queue(&self) -> Result<Vec<ReviewLine>, String> {
        let mut out = Vec::new();
        for r in crate::export::queries::open_reviews(self.store()).map_err(|e| e.to_string())? {
            let job = self.job(&r.job)?;
            out.push(ReviewLine {
                id: r.job,
                serial: r.serial,
                instruction: r.instruction_id,
                performer: r.performer,
                submitted: r.submitted.unwrap_or(job.started),
                excursions: job.excursions.len(),
                flags: crate::domain::deviations::deviations_summary(&job)
                    .flags
                    .len(),
                inspectors: job.inspector_badges(),
            });
        }
        Ok(out)
    }
}

/// The assembly of a board's latest job and every alloy it was reworked with, at
/// any bench the history counted.
fn board_facts(counted: &crate::domain::board::CountedHistory) -> Option<BoardFacts> {
    let last = counted.jobs.last()?;
    let mut alloys: Vec<String> = Vec::new();
    let mut alloys_elsewhere: Vec<(String, String)> = Vec::new();
    for j in &counted.jobs {
        if !alloys.contains(&j.alloy) {
            alloys.push(j.alloy.clone());
        }
        let at = (j.alloy.clone(), j.bench.clone());
        if j.store_id != counted.here && !alloys_elsewhere.contains(&at) {
            alloys_elsewhere.push(at);
        }
    }
    Some(BoardFacts {
        part: last.assembly_part.clone(),
        rev: last.assembly_rev.clone(),
        alloys,
        alloys_elsewhere,
    })
}
