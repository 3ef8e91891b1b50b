//! Independent witnesses (<https://c2sp.org/tlog-witness>): after the ledger signs a
//! checkpoint, it asks each configured witness to cosign it (`cosignature/v1`),
//! sending a consistency proof from the size the witness last cosigned. A witness
//! cosigns only a checkpoint consistent with everything it has seen of this log,
//! so once checkpoints carry a quorum of cosignatures even the operator cannot fork
//! the log, or roll it back, without the witnesses refusing.
//!
//! This module is the ledger's side: the [`Witness`] trait (the HTTP client is
//! `airlock_witness::HttpWitness`), and the round that asks every witness, retries
//! once after a conflict, and keeps only cosignatures that verify with the
//! witness's key.

use std::fmt;
use std::sync::Arc;

use airlock_tlog::{Checkpoint, Hash, Note, NoteSignature, WitnessKey, verify_cosignatures};

/// What a witness answered to `add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddCheckpoint {
    /// It cosigned: its signature lines. The ledger verifies them with
    /// [`Witness::key`] before it keeps them.
    Cosigned(Vec<NoteSignature>),
    /// The last checkpoint it cosigned for this log has `size` entries, not the
    /// `old_size` sent (HTTP 409 with a `text/x.tlog.size` body): ask again with
    /// a consistency proof from `size`.
    Conflict {
        /// The size the witness holds for this log.
        size: u64,
    },
}

/// Why a witness did not answer with a cosignature or a conflict: unreachable,
/// refused (a bad proof, a fork, an unknown log), or an unusable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WitnessError(pub String);

/// A witness the ledger asks to cosign its checkpoints.
///
/// Calls are blocking: they run on the ledger's signer thread (one thread per
/// witness, in parallel), never on an append's path. Implementations bound them
/// with timeouts.
pub trait Witness: Send + Sync + fmt::Debug {
    /// The witness's public key: only cosignatures that verify with it count.
    fn key(&self) -> WitnessKey;

    /// Where the witness is (its URL), for messages.
    fn location(&self) -> String;

    /// Submits a log-signed `checkpoint_note` with the consistency `proof` from
    /// the tree of `old_size` entries (empty when `old_size` is 0 or the
    /// checkpoint's size).
    fn add_checkpoint(
        &self,
        old_size: u64,
        proof: &[Hash],
        checkpoint_note: &str,
    ) -> Result<AddCheckpoint, WitnessError>;
}

/// What one round of asking the witnesses gave.
pub(crate) struct Round {
    /// The verified cosignatures, to add to the note.
    pub(crate) cosignatures: Vec<NoteSignature>,
    /// One message per witness that did not cosign.
    pub(crate) errors: Vec<String>,
}

/// Asks every witness (in parallel) to cosign `note`'s checkpoint of `n` entries.
///
/// `sizes[i]` is the size witness `i` is believed to hold; it is updated with what
/// the witness says. A conflict is retried once from the size the witness reports.
/// `prove(m)` is the ledger's consistency proof from `m` to `n` (`0 < m < n`).
pub(crate) fn ask(
    witnesses: &[Arc<dyn Witness>],
    sizes: &mut [u64],
    note: &Note,
    checkpoint: &Checkpoint,
    prove: &(dyn Fn(u64) -> Result<Vec<Hash>, String> + Sync),
) -> Round {
    let note_text = note.to_string();
    let results: Vec<(u64, Result<Vec<NoteSignature>, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = witnesses
            .iter()
            .zip(sizes.iter())
            .map(|(w, &size)| {
                let note_text = &note_text;
                std::thread::Builder::new()
                    .name("airlock-ledger-witness".into())
                    .spawn_scoped(scope, move || {
                        ask_one(&**w, size, note_text, checkpoint, prove)
                    })
            })
            .collect();
        handles
            .into_iter()
            .zip(sizes.iter())
            .map(|(h, &size)| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| (size, Err("the witness client panicked".to_string()))),
                Err(e) => (size, Err(format!("cannot start a thread to ask it: {e}"))),
            })
            .collect()
    });
    let mut round = Round {
        cosignatures: Vec::new(),
        errors: Vec::new(),
    };
    for ((w, size), (known, result)) in witnesses.iter().zip(sizes.iter_mut()).zip(results) {
        *size = known;
        match result {
            Ok(sigs) => round.cosignatures.extend(sigs),
            Err(e) => round.errors.push(format!(
                "witness {} ({}): {e}",
                w.key().name(),
                w.location()
            )),
        }
    }
    round
}

/// One witness: the size it then holds, and its verified signature lines.
fn ask_one(
    witness: &dyn Witness,
    mut old: u64,
    note_text: &str,
    checkpoint: &Checkpoint,
    prove: &(dyn Fn(u64) -> Result<Vec<Hash>, String> + Sync),
) -> (u64, Result<Vec<NoteSignature>, String>) {
    let n = checkpoint.size();
    for attempt in 0..2 {
        if old > n {
            return (
                old,
                Err(format!(
                    "it has cosigned {old} entries of this log, more than the {n} signed now: the log was rolled back or forked (or another writer signs as this origin); investigate before trusting this ledger"
                )),
            );
        }
        let proof = if old == 0 || old == n {
            Vec::new()
        } else {
            match prove(old) {
                Ok(p) => p,
                Err(e) => {
                    return (
                        old,
                        Err(format!("the consistency proof from {old} to {n}: {e}")),
                    );
                }
            }
        };
        match witness.add_checkpoint(old, &proof, note_text) {
            Ok(AddCheckpoint::Cosigned(lines)) => {
                return match accept(checkpoint, &witness.key(), lines) {
                    Ok(sigs) => (n, Ok(sigs)),
                    Err(e) => (old, Err(e)),
                };
            }
            Ok(AddCheckpoint::Conflict { size }) if attempt == 0 && size != old => old = size,
            Ok(AddCheckpoint::Conflict { size }) => {
                return (
                    size,
                    Err(format!(
                        "it still reports a conflict at size {size} after a retry from that size: it holds another checkpoint of that size (a fork?)"
                    )),
                );
            }
            Err(e) => return (old, Err(e.0)),
        }
    }
    (old, Err("no answer after a retry".to_string()))
}

/// The witness's signature lines that verify as its cosignature of `checkpoint`.
/// Lines by other keys are dropped; a bad line by its key refuses them all.
fn accept(
    checkpoint: &Checkpoint,
    key: &WitnessKey,
    lines: Vec<NoteSignature>,
) -> Result<Vec<NoteSignature>, String> {
    let mut probe = Note::new(checkpoint.to_text()).map_err(|e| e.to_string())?;
    let mine: Vec<NoteSignature> = lines
        .into_iter()
        .filter(|s| s.name() == key.name() && s.key_id() == key.key_id())
        .collect();
    for s in &mine {
        probe.add_signature(s.clone());
    }
    let verified = verify_cosignatures(&probe, std::slice::from_ref(key))
        .map_err(|e| format!("its answer was refused: {e}"))?;
    if verified.is_empty() {
        return Err(format!(
            "its answer holds no cosignature by its key {}",
            key.name()
        ));
    }
    Ok(probe.signatures().to_vec())
}

/// Distinct configured witnesses whose cosignature on `note` verifies.
pub(crate) fn count_cosigned(note: &Note, witnesses: &[Arc<dyn Witness>]) -> usize {
    let keys: Vec<WitnessKey> = witnesses.iter().map(|w| w.key()).collect();
    // A bad cosignature by a known key counts nothing (the note is the ledger's own).
    verify_cosignatures(note, &keys).map_or(0, |c| c.len())
}
