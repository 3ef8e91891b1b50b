//! The ledger's errors: each says what was wrong, where, and what to do next.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use airlock_tlog::{PlanError, ProveError};

use crate::record::MAX_ENTRY;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Another open ledger holds the directory's lock.
    #[error(
        "{}: another writer holds the ledger's lock ({}); a ledger has one writer. Stop the other process (or drop the other Ledger) first",
        dir.display(), lock.display()
    )]
    Locked {
        /// The ledger directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The entry is larger than a ledger entry may be.
    #[error(
        "an entry of {len} bytes was refused: entries are at most {MAX_ENTRY} bytes; keep large data outside the ledger and record its digest"
    )]
    EntryTooLarge {
        /// The entry's size.
        len: usize,
    },
    /// The ledger stopped after a failure and refuses every append and signature.
    #[error(
        "the ledger stopped and accepts no more appends or signatures: {reason}. Entries acknowledged before the failure are durable; check the disk, then restart (Ledger::open recovers from the files)"
    )]
    Stopped {
        /// Why it stopped.
        reason: Arc<str>,
    },
    /// The directory's contents cannot be opened as they are.
    #[error("{}: refusing to open the ledger: {reason}", dir.display())]
    Refused {
        /// The ledger directory.
        dir: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// Stored data is damaged.
    #[error("{}{}{}: {what}", path.display(), offset.map(|o| format!(" at offset {o}")).unwrap_or_default(), index.map(|i| format!(" (entry {i})")).unwrap_or_default())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where in it, if known.
        offset: Option<u64>,
        /// The entry concerned, if any.
        index: Option<u64>,
        /// What is wrong.
        what: String,
    },
    /// The proof or entry asked for does not exist (yet).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The entry or size is beyond what the ledger holds (or has signed).
    #[error("{what}")]
    NotYet {
        /// What is missing, and what to do.
        what: String,
    },
    /// The entry's bytes were pruned (retention); its hash stays in the tiles.
    #[error(
        "entry {index} was pruned (the ledger keeps the bytes of entries {below} and later only); its hash remains, so roots and proofs still hold. Read it from an archive taken before pruning"
    )]
    Pruned {
        /// The entry asked for.
        index: u64,
        /// The first entry whose bytes are kept.
        below: u64,
    },
    /// The options are unusable.
    #[error("ledger options: {0}")]
    Config(String),
    /// A signed checkpoint does not verify.
    #[error("{}: {what}", path.display())]
    Checkpoint {
        /// Where the checkpoint came from.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    }

    pub(crate) fn stopped(reason: &Arc<str>) -> Error {
        Error::Stopped {
            reason: reason.clone(),
        }
    }
}

impl From<ProveError<Error>> for Error {
    fn from(e: ProveError<Error>) -> Error {
        match e {
            ProveError::Plan(p) => Error::Plan(p),
            ProveError::Source(e) => e,
            ProveError::ShortRead { asked, got } => Error::Corrupt {
                path: PathBuf::from("tile"),
                offset: None,
                index: None,
                what: format!("the tiles returned {got} hashes for {asked} nodes"),
            },
        }
    }
}
