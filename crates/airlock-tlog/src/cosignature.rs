//! C2SP tlog-cosignature, `cosignature/v1` (<https://c2sp.org/tlog-cosignature>):
//! a witness's timestamped statement that a checkpoint is consistent with every
//! checkpoint of that log it has seen.
//!
//! A cosignature is an ordinary note signature line on the checkpoint, by a key
//! whose ID is computed with type byte `0x04`. Its bytes are
//! `key ID (4) ‖ timestamp (8, big-endian seconds since the epoch) ‖ Ed25519 signature (64)`,
//! and the signature is over
//!
//! ```text
//! cosignature/v1
//! time <timestamp, decimal>
//! <the checkpoint text, every line, with its final newline>
//! ```
//!
//! The timestamp is an argument here (this crate has no clock); verification
//! returns it so the caller can judge freshness.

use crate::checkpoint::Checkpoint;
use crate::keys::{WitnessKey, WitnessSigner};
use crate::note::{Found, Note, NoteSignature, find_key};

/// Why cosignatures do not satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// A known witness's cosignature does not verify.
    #[error("the cosignature by witness {name}+{key_id:08x} does not verify")]
    BadCosignature {
        /// Witness name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A known witness's signature line is not 72 bytes (timestamp and signature).
    #[error("the cosignature by witness {name}+{key_id:08x} is {len} bytes, not 72")]
    BadLength {
        /// Witness name.
        name: String,
        /// Key ID.
        key_id: u32,
        /// Bytes after the key ID.
        len: usize,
    },
    /// Two different trusted witness keys share a name and key ID.
    #[error("two trusted witness keys are both {name}+{key_id:08x}")]
    AmbiguousKey {
        /// Witness name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// Fewer trusted witnesses cosigned than the quorum requires.
    #[error("{got} of the trusted witnesses cosigned; the quorum is {quorum}")]
    Quorum {
        /// Distinct trusted witnesses whose cosignature verified.
        got: usize,
        /// Required.
        quorum: usize,
    },
}

/// A verified cosignature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Cosignature {
    /// The witness name.
    pub witness: String,
    /// Its key ID.
    pub key_id: u32,
    /// When the witness signed, in seconds since the Unix epoch (its own clock).
    pub timestamp: u64,
}

/// The message a cosignature/v1 signs.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// Cosigns `checkpoint` at `timestamp` (seconds since the epoch): a signature line
/// to add to the checkpoint's note ([`Note::add_signature`]).
pub fn cosign(signer: &WitnessSigner, checkpoint: &Checkpoint, timestamp: u64) -> NoteSignature {
    let signature = signer
        .0
        .sign(&cosigned_message(&checkpoint.to_text(), timestamp));
    let mut bytes = Vec::with_capacity(72);
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&signature);
    NoteSignature::from_parts(signer.name(), signer.key().key_id(), bytes)
}

/// Verifies the cosignatures on `note` by trusted `witnesses`: each one from a
/// known witness must verify; unknown ones (including the log's own signature) are
/// ignored. Returns one [`Cosignature`] per distinct witness key that verified.
pub fn verify_cosignatures(
    note: &Note,
    witnesses: &[WitnessKey],
) -> Result<Vec<Cosignature>, CosignatureError> {
    let mut out: Vec<Cosignature> = Vec::new();
    for sig in note.signatures() {
        let key = match find_key(witnesses, sig, |w| &w.0) {
            Found::One(key) => key,
            Found::Unknown => continue,
            Found::Ambiguous => {
                return Err(CosignatureError::AmbiguousKey {
                    name: sig.name().to_string(),
                    key_id: sig.key_id(),
                });
            }
        };
        let bytes = sig.signature();
        let (Some(time), Some(ed)) = (bytes.get(..8), bytes.get(8..)) else {
            return Err(bad_length(sig));
        };
        if ed.len() != 64 {
            return Err(bad_length(sig));
        }
        let mut t = [0u8; 8];
        t.copy_from_slice(time);
        let timestamp = u64::from_be_bytes(t);
        if !key.0.verify(&cosigned_message(note.text(), timestamp), ed) {
            return Err(CosignatureError::BadCosignature {
                name: sig.name().to_string(),
                key_id: sig.key_id(),
            });
        }
        if !out
            .iter()
            .any(|c| c.witness == sig.name() && c.key_id == sig.key_id())
        {
            out.push(Cosignature {
                witness: sig.name().to_string(),
                key_id: sig.key_id(),
                timestamp,
            });
        }
    }
    Ok(out)
}

/// [`verify_cosignatures`], then requires at least `quorum` distinct trusted
/// witnesses (k of n). A quorum of 0 always holds.
pub fn check_quorum(
    note: &Note,
    witnesses: &[WitnessKey],
    quorum: usize,
) -> Result<Vec<Cosignature>, CosignatureError> {
    let cosignatures = verify_cosignatures(note, witnesses)?;
    if cosignatures.len() < quorum {
        return Err(CosignatureError::Quorum {
            got: cosignatures.len(),
            quorum,
        });
    }
    Ok(cosignatures)
}

fn bad_length(sig: &NoteSignature) -> CosignatureError {
    CosignatureError::BadLength {
        name: sig.name().to_string(),
        key_id: sig.key_id(),
        len: sig.signature().len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Hash;

    #[test]
    fn two_witness_keys_with_one_name_and_id_are_ambiguous() {
        let a = WitnessSigner::from_seed("w.example", &[1; 32]).unwrap();
        let b = WitnessSigner::from_seed("w.example", &[2; 32]).unwrap();
        let mut forged = b.key();
        forged.0.key_id = a.key().key_id();
        let c = Checkpoint::new("log.example", 1, Hash([0; 32])).unwrap();
        let mut note = Note::new(c.to_text()).unwrap();
        note.add_signature(cosign(&a, &c, 7));
        assert!(matches!(
            verify_cosignatures(&note, &[a.key(), forged]),
            Err(CosignatureError::AmbiguousKey { .. })
        ));
        assert_eq!(
            verify_cosignatures(&note, &[a.key(), a.key()])
                .unwrap()
                .len(),
            1
        );
    }
}
