//! Which jobs an export covers. Several criteria combine as AND.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::store::Store;

use super::Result;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub job: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    /// First UTC day (inclusive) a job may have started on.
    pub since: Option<NaiveDate>,
    /// Last UTC day (inclusive) a job may have started on.
    pub until: Option<NaiveDate>,
    /// Badge that performed, signed, reviewed or acted on the job.
    pub person: Option<String>,
}

impl Scope {
    pub fn is_everything(&self) -> bool {
        *self == Scope::default()
    }

    /// The jobs in scope, in start-day then job-id order.
    ///
    /// With no criterion the ids stream from the day index and are never collected;
    /// otherwise only ids are held, never jobs.
    pub fn job_ids<'a>(
        &self,
        store: &'a Store,
    ) -> Result<Box<dyn Iterator<Item = Result<String>> + 'a>> {
        if self.is_everything() {
            return Ok(Box::new(store.job_ids().map(|r| r.map_err(Into::into))));
        }
        let mut lists: Vec<Vec<String>> = Vec::new();
        if self.since.is_some() || self.until.is_some() {
            lists.push(store.jobs_between(
                self.since.unwrap_or(NaiveDate::MIN),
                self.until.unwrap_or(NaiveDate::MAX),
            )?);
        }
        if let Some(job) = &self.job {
            let exists = store.job_status(job)?.is_some() || store.job(job)?.is_some();
            lists.push(if exists {
                vec![job.clone()]
            } else {
                Vec::new()
            });
        }
        if let Some(serial) = &self.serial {
            lists.push(store.jobs_by_serial(serial)?);
        }
        if let Some(lot) = &self.lot {
            lists.push(store.jobs_by_lot(lot)?);
        }
        if let Some(person) = &self.person {
            lists.push(store.jobs_by_person(person)?);
        }
        let mut lists = lists.into_iter();
        let mut ids = lists.next().unwrap_or_default();
        for other in lists {
            let keep: HashSet<String> = other.into_iter().collect();
            ids.retain(|id| keep.contains(id));
        }
        if ids.len() > 1 && self.since.is_none() && self.until.is_none() {
            // The other indexes order by id; a key-only walk of the day index puts
            // the matches in start order, like every other export.
            let keep: HashSet<String> = ids.into_iter().collect();
            ids = Vec::with_capacity(keep.len());
            for id in store.job_ids() {
                let id = id?;
                if keep.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(Box::new(ids.into_iter().map(Ok)))
    }

    /// How many jobs are in scope (a cheap key-only pass), for progress bars.
    pub fn count(&self, store: &Store) -> Result<u64> {
        let mut n = 0;
        for id in self.job_ids(store)? {
            id?;
            n += 1;
        }
        Ok(n)
    }
}
