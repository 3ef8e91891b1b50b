//! What airlock's tamper-evident ledger records, and how an auditor reads it.
//!
//! Every decision the gateway makes and every human act through it (votes,
//! expiries, halts and resumes, policy changes, credential changes, spot-check
//! verdicts, and the outcome an agent reports) becomes one [`Entry`]. The ledger
//! (`airlock-ledger`) stores the entry's bytes as a leaf of an RFC 6962 Merkle tree;
//! this crate says what those bytes are.
//!
//! # Encoding
//!
//! An entry is one JSON object, encoded by [`Entry::to_bytes`]: no insignificant
//! whitespace, fields in the order this crate declares them, maps (labels) in key
//! order, integers only. The same entry always gives the same bytes. The leaf is
//! the bytes as written; nobody needs to re-encode an entry to verify the ledger.
//! Entries are at most [`MAX_ENTRY`] bytes: a decision whose Action would not fit
//! keeps the Action's SHA-256 instead ([`Recorded::Digest`]); the whole Action stays
//! in the service's store.
//!
//! # Personal data
//!
//! An entry keeps human identities and free text either inline (format 1, the
//! default) or apart ([`personal`], format 2): salted commitments in the leaf,
//! the values in an erasable side store, so that erasing a person's data never
//! breaks the tree.
//!
//! # Retention
//!
//! [`retention`] decides which old entries may be pruned: only a prefix older
//! than the retention window ([`DEFAULT_RETENTION_DAYS`], six months, at least),
//! stopping at the first entry inside it. Pruning itself is the ledger's; it is
//! recorded as an [`Event::Prune`] entry.
//!
//! This crate is pure: no I/O, no clock.

mod entry;
mod filter;
pub mod ocsf;
pub mod personal;
pub mod retention;

pub use entry::{
    CredentialChange, DecisionEntry, Entry, EntryError, Event, MAX_ENTRY, MAX_TEXT, Recorded,
    VERSION, sha256_hex,
};
pub use filter::{Filter, FilterError};
pub use retention::{DEFAULT_RETENTION_DAYS, RetentionError, prunable_below, prune_boundary};
