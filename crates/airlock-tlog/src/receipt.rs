//! Receipts: an entry with everything needed to prove, offline and with only
//! public keys, that the log holds it.
//!
//! A [`Receipt`] is the entry's bytes plus a C2SP tlog-proof
//! (<https://c2sp.org/tlog-proof>): the leaf index, the inclusion proof, and the
//! signed checkpoint, whose note also carries any witness cosignatures.
//! [`verify_receipt`] checks, in order: the log's signature on the checkpoint
//! note, the checkpoint's syntax, its origin, the witness quorum, and the
//! inclusion of the leaf hash recomputed from the entry bytes under the
//! checkpoint's root. The root always comes from the signed checkpoint; a receipt
//! has no other place to put one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::cosignature::{Cosignature, CosignatureError, check_quorum};
use crate::hash::{Hash, leaf_hash};
use crate::keys::{VerifierKey, WitnessKey};
use crate::note::{Note, NoteError};
use crate::verify::{InclusionError, verify_inclusion};

/// The first line of a C2SP tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Hashes an inclusion proof can have: one per level of a tree of `u64` leaves.
const MAX_PROOF_HASHES: usize = 64;

/// What a verifier trusts about one log: its origin, its keys (several during a
/// key rotation), and optionally witnesses with a quorum.
#[derive(Clone, Debug)]
pub struct LogTrust {
    origin: String,
    log_keys: Vec<VerifierKey>,
    witnesses: Vec<WitnessKey>,
    quorum: usize,
}

/// Why a signed checkpoint is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The note is malformed, or no trusted log key signed it, or a trusted key's
    /// signature is bad.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The note text is not a checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint is another log's.
    #[error("the checkpoint is for log {found:?}, not {expected:?}")]
    WrongOrigin {
        /// The trusted origin.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },
    /// The witness cosignatures do not meet the policy.
    #[error("witnesses: {0}")]
    Cosignatures(#[from] CosignatureError),
}

/// A checkpoint whose signatures, origin and witness quorum verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note it came from.
    pub note: Note,
    /// The trusted log keys whose signatures verified.
    pub signed_by: Vec<VerifierKey>,
    /// The trusted witnesses whose cosignatures verified.
    pub cosignatures: Vec<Cosignature>,
}

impl LogTrust {
    /// Trust the log named `origin`, signing with any of `log_keys`, with no
    /// witnesses required.
    pub fn new(origin: &str, log_keys: Vec<VerifierKey>) -> LogTrust {
        LogTrust {
            origin: origin.to_string(),
            log_keys,
            witnesses: Vec::new(),
            quorum: 0,
        }
    }

    /// Also require cosignatures by at least `quorum` distinct `witnesses`.
    pub fn with_witnesses(mut self, witnesses: Vec<WitnessKey>, quorum: usize) -> LogTrust {
        self.witnesses = witnesses;
        self.quorum = quorum;
        self
    }

    /// The trusted origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Verifies a signed checkpoint (a signed note): a trusted log signature, a
    /// well-formed checkpoint, the trusted origin, and the witness quorum.
    pub fn verify_checkpoint(&self, signed_note: &[u8]) -> Result<VerifiedCheckpoint, TrustError> {
        let note = Note::parse(signed_note)?;
        let signed_by = note.verify(&self.log_keys)?.into_iter().cloned().collect();
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin() != self.origin {
            return Err(TrustError::WrongOrigin {
                expected: self.origin.clone(),
                found: checkpoint.origin().to_string(),
            });
        }
        let cosignatures = check_quorum(&note, &self.witnesses, self.quorum)?;
        Ok(VerifiedCheckpoint {
            checkpoint,
            note,
            signed_by,
            cosignatures,
        })
    }
}

/// An entry with its proof of inclusion in a signed checkpoint.
///
/// The JSON form (`to_json`/`from_json`) is
/// `{"entry": base64, "index": n, "proof": [base64, …], "checkpoint": "signed note"}`
/// (and `"extra"` if present); [`Receipt::to_tlog_proof`] writes the C2SP text
/// form, which carries everything but the entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The entry's bytes, exactly as the log hashed them.
    #[serde(with = "base64_bytes")]
    pub entry: Vec<u8>,
    /// The leaf index, from 0.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note (with any cosignatures), verbatim.
    pub checkpoint: String,
    /// Opaque, unauthenticated extra data (the tlog-proof `extra` line).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_option"
    )]
    pub extra: Option<Vec<u8>>,
}

/// Why a receipt does not verify or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The checkpoint is not trusted.
    #[error(transparent)]
    Checkpoint(#[from] TrustError),
    /// The entry is not at that index under the checkpoint's root.
    #[error("entry: {0}")]
    Inclusion(#[from] InclusionError),
    /// The tlog-proof text is malformed.
    #[error("tlog-proof line {line}: {reason}")]
    Format {
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The JSON is malformed.
    #[error("receipt JSON: {0}")]
    Json(String),
}

/// A receipt that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The verified checkpoint the entry is in.
    pub checkpoint: VerifiedCheckpoint,
    /// The entry's leaf index.
    pub index: u64,
    /// The entry's leaf hash.
    pub leaf_hash: Hash,
}

/// Verifies a receipt offline against what the verifier trusts.
pub fn verify_receipt(
    receipt: &Receipt,
    trust: &LogTrust,
) -> Result<VerifiedReceipt, ReceiptError> {
    let checkpoint = trust.verify_checkpoint(receipt.checkpoint.as_bytes())?;
    let leaf = leaf_hash(&receipt.entry);
    verify_inclusion(
        receipt.index,
        checkpoint.checkpoint.size(),
        &leaf,
        &receipt.proof,
        checkpoint.checkpoint.root(),
    )?;
    Ok(VerifiedReceipt {
        checkpoint,
        index: receipt.index,
        leaf_hash: leaf,
    })
}

impl Receipt {
    /// The compact JSON form.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and lists cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Receipt, ReceiptError> {
        serde_json::from_str(text).map_err(|e| ReceiptError::Json(e.to_string()))
    }

    /// The C2SP tlog-proof text (everything but the entry).
    pub fn to_tlog_proof(&self) -> String {
        let mut out = String::with_capacity(64 + 45 * self.proof.len() + self.checkpoint.len());
        out.push_str(TLOG_PROOF_HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a C2SP tlog-proof and pairs it with the entry it is for. Strict: the
    /// header, an optional `extra` line, `index <n>` without leading zeros, up to
    /// 64 hash lines, an empty line, then the signed checkpoint verbatim.
    pub fn from_tlog_proof(entry: Vec<u8>, text: &str) -> Result<Receipt, ReceiptError> {
        let bad = |line, reason| ReceiptError::Format { line, reason };
        let mut rest = text;
        let mut number = 1;
        if take_line(&mut rest) != Some(TLOG_PROOF_HEADER) {
            return Err(bad(number, "the first line must be c2sp.org/tlog-proof@v1"));
        }
        number += 1;
        let mut line = take_line(&mut rest).ok_or(bad(number, "missing the index line"))?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            let bytes = STANDARD
                .decode(encoded)
                .map_err(|_| bad(number, "extra data is not canonical base64"))?;
            extra = Some(bytes);
            number += 1;
            line = take_line(&mut rest).ok_or(bad(number, "missing the index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(bad(
                number,
                "expected `index <n>`, decimal without leading zeros",
            ))?;
        let mut proof = Vec::new();
        loop {
            number += 1;
            let line = take_line(&mut rest)
                .ok_or(bad(number, "missing the empty line before the checkpoint"))?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(bad(number, "more than 64 proof hashes"));
            }
            let hash = Hash::from_base64(line)
                .map_err(|_| bad(number, "a proof line is base64 of a 32-byte hash"))?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err(bad(number + 1, "missing the checkpoint"));
        }
        Ok(Receipt {
            entry,
            index,
            proof,
            checkpoint: rest.to_string(),
            extra,
        })
    }
}

/// The next newline-terminated line, without its newline.
fn take_line<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (line, tail) = rest.split_once('\n')?;
    *rest = tail;
    Some(line)
}

fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

mod base64_option {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => super::base64_bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super::base64_bytes")] Vec<u8>);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}
