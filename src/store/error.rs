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

    #[error("no store at {}", path.display())]
    NoStore { path: PathBuf },

    #[error("{} is not a store folder (it is a file)", path.display())]
    NotAStoreFolder { path: PathBuf },

    #[error("the store at {} was written by traveler format {format}: {}", path.display(), migrate_hint(path, *format))]
    NeedsMigration { path: PathBuf, format: u32 },

    #[error(
        "the store at {} was written by a newer traveler (store format {format}; this one \
         reads format {}): use that traveler or a later one",
        path.display(), super::FORMAT_VERSION
    )]
    NewerFormat { path: PathBuf, format: u32 },

    #[error(
        "the store folder {} can be read by other accounts (mode {mode:o}); it holds PIN \
         hashes and records: run `chmod -R go-rwx {}` and try again",
        path.display(), path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },

    #[error(
        "records were lost from the store at {}: it once reached seq {} (hash {}){}, as {how} \
         remembers, but now {}. Restore the last backup into a new folder with \
         `traveler restore BACKUP --store NEWDIR` and point traveler at it (if the records \
         were removed on purpose, delete that mark to start afresh)",
        path.display(),
        reached.seq,
        reached.hash_hex(),
        store_id.as_ref().map(|s| format!(" as store {s}")).unwrap_or_default(),
        lost_range(reached.seq, *now)
    )]
    LostRecords {
        path: PathBuf,
        store_id: Option<String>,
        reached: super::ChainHead,
        /// The last seq still there (0: none).
        now: u64,
        /// Which mark remembers the higher seq.
        how: String,
    },

    #[error("the stored record at seq {seq} is damaged: {what}")]
    Damaged { seq: u64, what: String },

    #[error(
        "the record at seq {seq} was written by a newer traveler ({what}): read it with that \
         traveler or a later one; the record itself is intact as far as its hash goes"
    )]
    Newer { seq: u64, what: String },

    #[error("the record at seq {seq} cannot be read by this traveler: {what}")]
    Undecodable { seq: u64, what: String },

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

fn migrate_hint(path: &std::path::Path, format: u32) -> String {
    let p = path.display();
    if format >= super::OLDEST_MIGRATABLE {
        format!(
            "run `traveler migrate --store {p}` to convert it in place (its records are kept \
             byte for byte)"
        )
    } else {
        format!(
            "this traveler cannot convert that format in place: back it up with the traveler \
             that wrote it (`traveler backup FILE --store {p}`) and restore the backup with \
             this one (`traveler restore FILE --store NEWDIR`)"
        )
    }
}

fn lost_range(reached: u64, now: u64) -> String {
    match now {
        0 => format!("it holds no records: seqs 1 to {reached} are missing"),
        n if n + 1 == reached => format!("it ends at seq {n}: seq {reached} is missing"),
        n => format!(
            "it ends at seq {n}: seqs {} to {reached} are missing",
            n + 1
        ),
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
