//! A board's history across the shop: which earlier jobs count against its
//! rework-cycle limits and show in its history, and what the record says about
//! where they were counted.
//!
//! The bench knows its own jobs; the hub holds every bench's verified copy. The
//! bench asks the hub before it decides (never while it holds its store's decision
//! lock) and [`count`] merges both: a job is one job wherever it is seen (by store
//! and job id), the copy that knows more of it (the later record) is the one
//! counted, and when the hub could not answer the bench counts what it knows and
//! says why. Pure: no I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::job::{Job, JobStatus};
use super::policy::PriorJob;

/// One job on a board as one store recorded it: this bench's store, or a bench's
/// verified copy at the hub.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardJob {
    pub bench: String,
    pub store_id: String,
    pub job: String,
    pub instruction_id: String,
    pub instruction_rev: String,
    /// The instruction text's hash, to find its procedures when the job's record
    /// is older than the procedures it carries.
    #[serde(default)]
    pub instruction_hash: String,
    pub refdes: Vec<String>,
    /// As the job recorded them when it started (empty in older records).
    pub procedures: Vec<String>,
    pub alloy: String,
    #[serde(default)]
    pub assembly_part: String,
    #[serde(default)]
    pub assembly_rev: String,
    #[serde(default)]
    pub performer: String,
    #[serde(default)]
    pub defect_ref: String,
    pub status: JobStatus,
    pub started: DateTime<Utc>,
    #[serde(default)]
    pub submitted: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// A rework cycle: every job but one aborted before any step of it was done
    /// (nothing was done to the board then).
    pub counts_as_cycle: bool,
    /// The seq of the job's latest record in its store: of two copies of one job,
    /// the one with the later record knows more.
    pub last_seq: u64,
    /// This bench's judgement, never the hub's: the job recorded no procedures
    /// (older than the procedures jobs carry) and the text it ran is not known
    /// here, so it counts against every rework limit on its locations.
    #[serde(skip)]
    pub procedures_unknown: bool,
}

impl BoardJob {
    /// A folded job as the store `store_id` of `bench` holds it.
    pub fn of(job: &Job, bench: &str, store_id: &str) -> BoardJob {
        BoardJob {
            bench: bench.to_string(),
            store_id: store_id.to_string(),
            job: job.id.clone(),
            instruction_id: job.instruction_id.clone(),
            instruction_rev: job.instruction_rev.clone(),
            instruction_hash: job.instruction_hash.clone(),
            refdes: job.refdes.clone(),
            procedures: job.procedures.clone(),
            alloy: job.alloy.clone(),
            assembly_part: job.assembly_part.clone(),
            assembly_rev: job.assembly_rev.clone(),
            performer: job.performer.clone(),
            defect_ref: job.defect_ref.clone(),
            status: job.status,
            started: job.started,
            submitted: job.submitted,
            finished: job.finished,
            counts_as_cycle: job.status != JobStatus::Aborted
                || job.steps.iter().any(|s| s.completed.is_some()),
            last_seq: job.last_event_seq,
            procedures_unknown: false,
        }
    }
}

/// The head of one store as the hub held it when it answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHead {
    pub bench: String,
    pub store_id: String,
    pub seq: u64,
}

/// The hub's answer for one board: its jobs in every bench's verified copy, and
/// which head of each store they were read at (one database snapshot).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShopBoard {
    pub serial: String,
    /// The hub's clock when it read the snapshot.
    pub as_of: DateTime<Utc>,
    /// Every store the hub holds, at the head it counted.
    pub heads: Vec<StoreHead>,
    pub jobs: Vec<BoardJob>,
}

/// Why a board's history was counted at this bench only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HubMissing {
    /// The bench has no `[hub]` in its configuration.
    NotConfigured,
    /// No answer in time: the hub or the network is down.
    Unreachable,
    /// The hub answered no (token unknown or revoked, its database down).
    Refused,
    /// The hub's answer is not one this bench can use (another board, not the
    /// protocol).
    Unusable,
}

impl HubMissing {
    pub fn as_str(self) -> &'static str {
        match self {
            HubMissing::NotConfigured => "no hub configured",
            HubMissing::Unreachable => "hub unreachable",
            HubMissing::Refused => "hub refused",
            HubMissing::Unusable => "hub answer unusable",
        }
    }
}

/// The hub could not be asked or did not answer usefully.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}{}", why.as_str(), if detail.is_empty() { String::new() } else { format!(": {detail}") })]
pub struct HubUnavailable {
    pub why: HubMissing,
    pub detail: String,
}

/// What the bench learnt from the hub for one board, asked before deciding.
pub type HubAnswer = Result<ShopBoard, HubUnavailable>;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where a board's earlier jobs were counted, as the record keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryScope {
    /// Every bench's verified copy at the hub as of `as_of`, plus this bench's own
    /// records; `heads` are every store the hub held, at the head read (a store
    /// with no job on the board is named too: it was asked and had none). Records
    /// written before traveler kept them all name only the stores with jobs.
    Shop {
        as_of: DateTime<Utc>,
        heads: Vec<StoreHead>,
    },
    /// This bench's records only.
    Bench { why: HubMissing, detail: String },
}

/// What a job's record says about where its board's earlier jobs were counted
/// (its `BoardHistoryCounted` record).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CountedRecord {
    pub jobs: u32,
    pub benches: u32,
    pub elsewhere: u32,
    pub scope: HistoryScope,
    /// Of the jobs, those whose procedures were not known here: counted against
    /// every rework limit on their locations (absent from exports when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub unknown_procedures: u32,
}

impl CountedRecord {
    pub fn line(&self) -> String {
        scope_line(
            &self.scope,
            self.jobs,
            self.benches,
            self.elsewhere,
            self.unknown_procedures,
        )
    }

    /// With the reason's detail and the heads counted, for reports.
    pub fn text(&self) -> String {
        scope_text(
            &self.scope,
            self.jobs,
            self.benches,
            self.elsewhere,
            self.unknown_procedures,
        )
    }

    /// Counted at this bench only (the hub was not asked or did not answer).
    pub fn bench_only(&self) -> bool {
        matches!(self.scope, HistoryScope::Bench { .. })
    }

    /// A hub was configured but did not answer usefully: jobs at other benches
    /// may be missing from the count.
    pub fn hub_missed(&self) -> bool {
        matches!(&self.scope, HistoryScope::Bench { why, .. } if *why != HubMissing::NotConfigured)
    }
}

/// A board's earlier jobs as counted for a decision, with where they were counted.
#[derive(Clone, Debug, PartialEq)]
pub struct CountedHistory {
    pub serial: String,
    /// One entry per job (by store and job id), in start order.
    pub jobs: Vec<BoardJob>,
    pub scope: HistoryScope,
    /// This bench's store.
    pub here: String,
}

impl CountedHistory {
    /// Distinct benches among the jobs counted.
    pub fn benches(&self) -> usize {
        let mut b: Vec<&str> = self.jobs.iter().map(|j| j.bench.as_str()).collect();
        b.sort_unstable();
        b.dedup();
        b.len()
    }

    /// Jobs recorded by other stores than this bench's.
    pub fn elsewhere(&self) -> usize {
        self.jobs.iter().filter(|j| j.store_id != self.here).count()
    }

    /// Jobs whose procedures are not known here (counted against every limit).
    pub fn unknown_procedures(&self) -> usize {
        self.jobs.iter().filter(|j| j.procedures_unknown).count()
    }

    /// What the job's record keeps of this count.
    pub fn record(&self) -> CountedRecord {
        CountedRecord {
            jobs: self.jobs.len() as u32,
            benches: self.benches() as u32,
            elsewhere: self.elsewhere() as u32,
            scope: self.scope.clone(),
            unknown_procedures: self.unknown_procedures() as u32,
        }
    }

    /// One line for the screens: where the board's history comes from.
    pub fn scope_line(&self) -> String {
        self.record().line()
    }
}

/// The words the screens use for a recorded scope (one short line; the reason's
/// detail is in [`scope_text`]).
pub fn scope_line(
    scope: &HistoryScope,
    jobs: u32,
    benches: u32,
    elsewhere: u32,
    unknown_procedures: u32,
) -> String {
    let line = match scope {
        HistoryScope::Shop { as_of, .. } => format!(
            "history: shop-wide as of {} UTC — {jobs} earlier job(s) from {benches} bench(es), {elsewhere} at other benches",
            as_of.format("%Y-%m-%d %H:%M:%S")
        ),
        HistoryScope::Bench { why, .. } => format!(
            "history: this bench only — {} ({jobs} earlier job(s) known here)",
            why.as_str(),
        ),
    };
    if unknown_procedures == 0 {
        line
    } else {
        format!(
            "{line}; {unknown_procedures} with procedures unknown here, counted against every limit"
        )
    }
}

/// The words reports use: the screens' line with the reason's detail and the
/// heads counted.
pub fn scope_text(
    scope: &HistoryScope,
    jobs: u32,
    benches: u32,
    elsewhere: u32,
    unknown_procedures: u32,
) -> String {
    let line = scope_line(scope, jobs, benches, elsewhere, unknown_procedures);
    match scope {
        HistoryScope::Shop { heads, .. } if !heads.is_empty() => format!(
            "{line}; counted up to {}",
            heads
                .iter()
                .map(|h| format!("{} record {}", h.bench, h.seq))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        HistoryScope::Bench { detail, .. } if !detail.is_empty() => format!("{line}: {detail}"),
        _ => line,
    }
}

/// The counting rule. `local` are this store's (`here`) jobs on the board, read
/// from the store just now; `hub` is what the hub answered, asked before.
///
/// - A job from another store counts (from the hub's copy).
/// - A job is counted once, wherever it is seen: this bench's own jobs are both
///   here and at the hub (synced); the copy with the later record counts, and of
///   two copies as far as each other this bench's own (it is the original).
/// - A job of this store only the hub holds (the store was restored from an older
///   backup) still counts: it happened to the board.
/// - An answer for another board is not used: the bench counts what it knows.
pub fn count(serial: &str, here: &str, local: Vec<BoardJob>, hub: HubAnswer) -> CountedHistory {
    let hub = hub.and_then(|b| {
        if b.serial == serial {
            Ok(b)
        } else {
            Err(HubUnavailable {
                why: HubMissing::Unusable,
                detail: format!("the hub answered for board {:?}, not {serial:?}", b.serial),
            })
        }
    });
    let mut by_key: BTreeMap<(String, String), BoardJob> = BTreeMap::new();
    let scope = match hub {
        Ok(board) => {
            for j in board.jobs {
                let key = (j.store_id.clone(), j.job.clone());
                match by_key.get(&key) {
                    Some(seen) if seen.last_seq >= j.last_seq => {}
                    _ => {
                        by_key.insert(key, j);
                    }
                }
            }
            // Every store the hub read, with or without a job on the board: "no
            // job at bench C" is then told apart from "bench C not known".
            HistoryScope::Shop {
                as_of: board.as_of,
                heads: board.heads,
            }
        }
        Err(e) => HistoryScope::Bench {
            why: e.why,
            detail: e.detail,
        },
    };
    for j in local {
        let key = (j.store_id.clone(), j.job.clone());
        match by_key.get(&key) {
            Some(at_hub) if at_hub.last_seq > j.last_seq => {}
            _ => {
                by_key.insert(key, j);
            }
        }
    }
    let mut jobs: Vec<BoardJob> = by_key.into_values().collect();
    jobs.sort_by(|a, b| {
        (a.started, &a.bench, &a.job, &a.store_id).cmp(&(b.started, &b.bench, &b.job, &b.store_id))
    });
    CountedHistory {
        serial: serial.to_string(),
        jobs,
        scope,
        here: here.to_string(),
    }
}

/// The counted jobs as the rework-cycle rule reads them.
pub fn prior_jobs(counted: &CountedHistory) -> Vec<PriorJob> {
    counted
        .jobs
        .iter()
        .map(|j| PriorJob {
            refdes: j.refdes.clone(),
            procedures: j.procedures.clone(),
            counts: j.counts_as_cycle,
            elsewhere: (j.store_id != counted.here).then(|| j.bench.clone()),
            job: j.job.clone(),
            procedures_unknown: j.procedures_unknown,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, min, 0).unwrap()
    }

    fn job(store: &str, bench: &str, id: &str, seq: u64, status: JobStatus) -> BoardJob {
        BoardJob {
            bench: bench.into(),
            store_id: store.into(),
            job: id.into(),
            instruction_id: "WI-BGA-001".into(),
            instruction_rev: "C".into(),
            instruction_hash: "ab".repeat(32),
            refdes: vec!["U7".into()],
            procedures: vec!["7711 ORG-8.1".into()],
            alloy: "SAC305".into(),
            assembly_part: "PCA-1".into(),
            assembly_rev: "A".into(),
            performer: "T100".into(),
            defect_ref: "NCR-1".into(),
            status,
            started: at(seq as u32 % 60),
            submitted: None,
            finished: None,
            counts_as_cycle: status != JobStatus::Aborted,
            last_seq: seq,
            procedures_unknown: false,
        }
    }

    fn shop(jobs: Vec<BoardJob>) -> HubAnswer {
        Ok(ShopBoard {
            serial: "SN-1".into(),
            as_of: at(59),
            heads: vec![
                StoreHead {
                    bench: "BENCH-A".into(),
                    store_id: "sa".into(),
                    seq: 40,
                },
                StoreHead {
                    bench: "BENCH-B".into(),
                    store_id: "sb".into(),
                    seq: 30,
                },
                StoreHead {
                    bench: "BENCH-C".into(),
                    store_id: "sc".into(),
                    seq: 9,
                },
            ],
            jobs,
        })
    }

    fn down() -> HubAnswer {
        Err(HubUnavailable {
            why: HubMissing::Unreachable,
            detail: "connection refused".into(),
        })
    }

    /// (what, local jobs of store "sb", hub answer, expected (store, job, status) counted)
    #[test]
    fn counting_rule_table() {
        use JobStatus::*;
        type Counted<'a> = Vec<(&'a str, &'a str, JobStatus)>;
        let cases: Vec<(&str, Vec<BoardJob>, HubAnswer, Counted)> = vec![
            (
                "a job at another bench counts",
                vec![],
                shop(vec![job("sa", "BENCH-A", "A-1", 10, Approved)]),
                vec![("sa", "A-1", Approved)],
            ),
            (
                "this bench's synced job counts once",
                vec![job("sb", "BENCH-B", "B-1", 12, Approved)],
                shop(vec![
                    job("sa", "BENCH-A", "A-1", 10, Approved),
                    job("sb", "BENCH-B", "B-1", 12, Approved),
                ]),
                vec![("sa", "A-1", Approved), ("sb", "B-1", Approved)],
            ),
            (
                "a local job newer than the hub's copy counts from local",
                vec![job("sb", "BENCH-B", "B-1", 20, Aborted)],
                shop(vec![job("sb", "BENCH-B", "B-1", 12, InProgress)]),
                vec![("sb", "B-1", Aborted)],
            ),
            (
                "a job the hub knows better (restored store) counts from the hub",
                vec![job("sb", "BENCH-B", "B-1", 12, InProgress)],
                shop(vec![job("sb", "BENCH-B", "B-1", 20, Approved)]),
                vec![("sb", "B-1", Approved)],
            ),
            (
                "a job of this store only the hub holds still counts",
                vec![],
                shop(vec![job("sb", "BENCH-B", "B-0", 5, Approved)]),
                vec![("sb", "B-0", Approved)],
            ),
            (
                "same job id at two stores is two jobs",
                vec![job("sb", "BENCH-B", "J-1", 12, Approved)],
                shop(vec![job("sa", "BENCH-A", "J-1", 11, Approved)]),
                vec![("sa", "J-1", Approved), ("sb", "J-1", Approved)],
            ),
            (
                "hub down: this bench's jobs only",
                vec![job("sb", "BENCH-B", "B-1", 12, Approved)],
                down(),
                vec![("sb", "B-1", Approved)],
            ),
            (
                "an answer for another board is not used",
                vec![job("sb", "BENCH-B", "B-1", 12, Approved)],
                shop(vec![job("sa", "BENCH-A", "A-1", 10, Approved)]).map(|mut b| {
                    b.serial = "SN-2".into();
                    b
                }),
                vec![("sb", "B-1", Approved)],
            ),
        ];
        for (what, local, hub, want) in cases {
            let got = count("SN-1", "sb", local, hub);
            let got: Vec<(&str, &str, JobStatus)> = got
                .jobs
                .iter()
                .map(|j| (j.store_id.as_str(), j.job.as_str(), j.status))
                .collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn the_scope_says_where_it_was_counted() {
        let c = count(
            "SN-1",
            "sb",
            vec![job("sb", "BENCH-B", "B-1", 12, JobStatus::Approved)],
            shop(vec![
                job("sa", "BENCH-A", "A-1", 10, JobStatus::Approved),
                job("sb", "BENCH-B", "B-1", 12, JobStatus::Approved),
            ]),
        );
        // Every store the hub read is named at its head, bench C (no job on the
        // board) too.
        let Ok(answer) = shop(vec![]) else {
            unreachable!()
        };
        assert_eq!(
            c.scope,
            HistoryScope::Shop {
                as_of: at(59),
                heads: answer.heads
            }
        );
        assert_eq!((c.jobs.len(), c.benches(), c.elsewhere()), (2, 2, 1));
        assert!(
            c.scope_line()
                .contains("shop-wide as of 2026-12-01 10:59:00 UTC")
        );
        let offline = count("SN-1", "sb", vec![], down());
        assert_eq!(
            offline.scope,
            HistoryScope::Bench {
                why: HubMissing::Unreachable,
                detail: "connection refused".into()
            }
        );
        assert_eq!(
            offline.scope_line(),
            "history: this bench only — hub unreachable (0 earlier job(s) known here)"
        );
        assert_eq!(
            offline.record().text(),
            "history: this bench only — hub unreachable (0 earlier job(s) known here): connection refused"
        );
        assert!(
            c.record()
                .text()
                .ends_with("counted up to BENCH-A record 40, BENCH-B record 30, BENCH-C record 9")
        );
        let wrong = count(
            "SN-1",
            "sb",
            vec![],
            shop(vec![]).map(|mut b| {
                b.serial = "SN-9".into();
                b
            }),
        );
        assert!(matches!(
            wrong.scope,
            HistoryScope::Bench {
                why: HubMissing::Unusable,
                ..
            }
        ));
    }

    /// (what, hub jobs, heads named) — the answer's heads are all kept, whichever
    /// stores had jobs on the board.
    #[test]
    fn every_store_the_hub_read_is_named_table() {
        let cases: Vec<(&str, Vec<BoardJob>, Vec<&str>)> = vec![
            ("no job anywhere", vec![], vec!["sa", "sb", "sc"]),
            (
                "a job at bench A only",
                vec![job("sa", "BENCH-A", "A-1", 10, JobStatus::Approved)],
                vec!["sa", "sb", "sc"],
            ),
            (
                "jobs at A and C",
                vec![
                    job("sa", "BENCH-A", "A-1", 10, JobStatus::Approved),
                    job("sc", "BENCH-C", "C-1", 5, JobStatus::Approved),
                ],
                vec!["sa", "sb", "sc"],
            ),
        ];
        for (what, jobs, want) in cases {
            let c = count("SN-1", "sb", vec![], shop(jobs));
            let HistoryScope::Shop { heads, .. } = &c.scope else {
                panic!("{what}: {:?}", c.scope)
            };
            let got: Vec<&str> = heads.iter().map(|h| h.store_id.as_str()).collect();
            assert_eq!(got, want, "{what}");
        }
    }

    /// (what, jobs whose procedures are unknown here, unknown counted, words of the
    /// screens' line)
    #[test]
    fn unknown_procedures_are_counted_and_said_table() {
        let unknown = |store: &str, bench: &str, id: &str, seq: u64| BoardJob {
            procedures: vec![],
            procedures_unknown: true,
            ..job(store, bench, id, seq, JobStatus::Approved)
        };
        let cases: Vec<(&str, Vec<BoardJob>, u32, Option<&str>)> = vec![
            (
                "every job's procedures known",
                vec![job("sa", "BENCH-A", "A-1", 10, JobStatus::Approved)],
                0,
                None,
            ),
            (
                "one job elsewhere unknown",
                vec![
                    job("sa", "BENCH-A", "A-1", 10, JobStatus::Approved),
                    unknown("sa", "BENCH-A", "A-0", 3),
                ],
                1,
                Some("; 1 with procedures unknown here, counted against every limit"),
            ),
            (
                "two unknown at two benches",
                vec![
                    unknown("sa", "BENCH-A", "A-0", 3),
                    unknown("sc", "BENCH-C", "C-0", 4),
                ],
                2,
                Some("; 2 with procedures unknown here, counted against every limit"),
            ),
        ];
        for (what, jobs, n, words) in cases {
            let c = count("SN-1", "sb", vec![], shop(jobs));
            let record = c.record();
            assert_eq!(record.unknown_procedures, n, "{what}");
            match words {
                Some(w) => {
                    assert!(record.line().ends_with(w), "{what}: {}", record.line());
                    assert!(record.text().contains(w), "{what}: {}", record.text());
                }
                None => assert!(!record.line().contains("unknown"), "{what}"),
            }
            let flagged = prior_jobs(&c)
                .iter()
                .filter(|p| p.procedures_unknown)
                .count() as u32;
            assert_eq!(flagged, n, "{what}: the limits read it");
        }
    }

    #[test]
    fn prior_jobs_name_the_bench_of_jobs_elsewhere() {
        let c = count(
            "SN-1",
            "sb",
            vec![job("sb", "BENCH-B", "B-1", 12, JobStatus::Aborted)],
            shop(vec![job("sa", "BENCH-A", "A-1", 10, JobStatus::Approved)]),
        );
        let p = prior_jobs(&c);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].elsewhere.as_deref(), Some("BENCH-A"));
        assert_eq!(p[0].job, "A-1");
        assert!(p[0].counts);
        assert_eq!(p[1].elsewhere, None);
        assert!(!p[1].counts, "aborted before a step was done");
    }
}
