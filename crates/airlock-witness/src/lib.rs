//! Transparency-log witnesses for airlock's ledger (issue 6): c2sp.org/tlog-witness
//! over HTTP, with c2sp.org/tlog-cosignature (`cosignature/v1`) signatures.
//!
//! A witness keeps, for each log it knows, the last checkpoint it cosigned, and
//! cosigns a new one only with a consistency proof from that one. A ledger whose
//! checkpoints carry a quorum of cosignatures by independent witnesses cannot be
//! forked or rolled back unnoticed, not even by its operator: the witnesses
//! refuse to cosign the other history.
//!
//! - [`WitnessServer`] is the witness (`airlock witness`, [`cli`]): `POST
//!   /add-checkpoint`; the record of each log is written (temp file, fsync,
//!   rename, fsync of the directory) before it answers, under a per-log lock.
//! - [`HttpWitness`] is the ledger's client: an [`airlock_ledger::Witness`] to put
//!   in [`airlock_ledger::LedgerOptions::witnesses`].
//!
//! ```text
//! POST /add-checkpoint  old <n>\n <proof…> \n <signed checkpoint note>
//!   malformed ─▶ 400   unknown origin ─▶ 404   no trusted log signature ─▶ 403
//!   old > size ─▶ 400 (a rollback)   old ≠ the size held ─▶ 409 `<size held>\n`
//!   same size, another root ─▶ 409 (a fork)   proof does not verify ─▶ 422
//!   record (durable) ─▶ 200 `— <witness> <cosignature>\n`
//!   body > 1 MiB ─▶ 413
//! ```
//!
//! This is an I/O edge crate: the checks are `airlock_tlog`'s, the durable write
//! is `airlock_ledger`'s [`airlock_ledger::replace_atomically`].

pub mod cli;
mod client;
pub mod protocol;
mod server;

pub use client::{DEFAULT_TIMEOUT, HttpWitness};
pub use server::{
    LOCK_FILE, LogConfig, MAX_BODY, OpenError, Refusal, WitnessConfig, WitnessServer, serve,
    state_file_name,
};
