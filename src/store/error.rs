use std::fmt;
use std::path::PathBuf;

/// Everything the store can report. Messages are written for the person at the bench:
/// they name the folder and, where there is one, the way out.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {} is in use by another traveler (close it first)",
        path.display()
    )]
    InUse { path: PathBuf },

    #[error(
        "the store at {} cannot be opened: {detail}. Restore the last backup into a new \
         folder with `traveler restore BACKUP --store NEWDIR` and point traveler at it",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error("the stored record at seq {seq} is damaged: {what}")]
    Damaged { seq: u64, what: String },

    #[error("a stored temperature sample is damaged: {what}")]
    DamagedSample { what: String },

    #[error("sample rejected: {0}")]
    InvalidSample(String),

    #[error("verification failed {0}")]
    Verify(VerifyFailure),

    #[error("backup file, line {line}: {what}")]
    Backup { line: u64, what: String },

    #[error("cannot restore into {}: the folder is not empty", path.display())]
    NotEmpty { path: PathBuf },

    #[error("no data folder could be found for traveler; pass --store DIR")]
    NoDataDir,

    #[error("store: {0}")]
    Sled(#[from] sled::Error),

    #[error("{0}")]
    Io(#[from] std::io::Error),

    #[error("encoding an event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The first thing `verify` found wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyFailure {
    /// The sequence number at fault; `None` when damage sits in the samples and no
    /// chained event points at it.
    pub seq: Option<u64>,
    pub problem: String,
}

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "at seq {seq}: {}", self.problem),
            None => write!(f, "in the samples: {}", self.problem),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
