//! C2SP signed notes (<https://c2sp.org/signed-note>), as `golang.org/x/mod/sumdb/note`
//! writes and reads them.
//!
//! ```text
//! example.com/log        ┐
//! 20852163               │ text: UTF-8, ends in a newline, no control
//! CsUYapGGPo4d…q2I=      ┘ characters but newline
//!                          a blank line
//! — example.com/log Az3grlgt…YQ8=   one line per signature:
//! — witness.example/w1 jWbPPw…nA==  em dash, space, key name, space,
//!                                    base64(key ID ‖ signature)
//! ```
//!
//! Reading ([`Note::parse`], then [`Note::verify`]) follows the spec's rules:
//! signatures from unknown keys (name *and* ID not both known) are ignored; a
//! signature from a known key that does not verify rejects the whole note; at
//! least one known signature must verify. A note may carry several signatures,
//! e.g. from an old and a new log key during a rotation, and witness
//! cosignatures, which log verifiers ignore as unknown.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::keys::{SignerKey, VerifierKey, is_valid_key_name};

/// Signature lines accepted in one note (the spec requires at least 16; Go's
/// reference implementation stops at 100).
pub const MAX_SIGNATURES: usize = 100;

/// Why a note is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not UTF-8.
    #[error("not UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// First bad byte.
        offset: usize,
    },
    /// A control character other than newline.
    #[error("line {line}: control character U+{code:04X}")]
    ControlCharacter {
        /// Line number, from 1.
        line: usize,
        /// The character.
        code: u32,
    },
    /// The text is empty.
    #[error("the note text is empty")]
    EmptyText,
    /// The text, or the signature block, does not end in a newline.
    #[error("the note does not end in a newline")]
    MissingFinalNewline,
    /// No blank line followed by signature lines.
    #[error("no signatures: a signed note ends with a blank line and signature lines")]
    NoSignatures,
    /// A line after the blank line is not a well-formed signature line.
    #[error("line {line}: {reason}")]
    BadSignatureLine {
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature with no bytes after the key ID.
    #[error("the signature is empty")]
    EmptySignature,
    /// A signature's key name is not a valid name.
    #[error("key name {0:?} must be non-empty, without spaces or `+`")]
    BadKeyName(String),
    /// No signature from a known key.
    #[error("no signature from a known key ({unknown} signatures from unknown keys ignored)")]
    NoKnownSignature {
        /// Signatures ignored as unknown.
        unknown: usize,
    },
    /// A known key's signature does not verify: the note is rejected.
    #[error("the signature by {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// Two different trusted keys share a name and key ID.
    #[error("two trusted keys are both {name}+{key_id:08x}")]
    AmbiguousKey {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
}

/// One signature line: key name, key ID and the signature bytes after the ID.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line's parts. The name must be a valid key name and the
    /// signature non-empty.
    pub fn new(name: &str, key_id: u32, signature: Vec<u8>) -> Result<NoteSignature, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKeyName(name.to_string()));
        }
        if signature.is_empty() {
            return Err(NoteError::EmptySignature);
        }
        Ok(NoteSignature {
            name: name.to_string(),
            key_id,
            signature,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes (after the 4-byte key ID).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The signature line, with its final newline.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.name, STANDARD.encode(raw))
    }

    /// A signature line from parts known to be valid (a signer's own name).
    pub(crate) fn from_parts(name: &str, key_id: u32, signature: Vec<u8>) -> NoteSignature {
        NoteSignature {
            name: name.to_string(),
            key_id,
            signature,
        }
    }

    fn same_key(&self, other: &NoteSignature) -> bool {
        self.name == other.name && self.key_id == other.key_id
    }
}

/// A note: its text and its signature lines, verified or not.
///
/// ```
/// use airlock_tlog::{Note, VerifierKey};
///
/// let vkey = VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")?;
/// let msg = "If you think cryptography is the answer to your problem,\n\
///            then you don't know what your problem is.\n\
///            \n\
///            — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
/// let note = Note::parse(msg.as_bytes())?;
/// let trusted = [vkey];
/// let signed_by = note.verify(&trusted)?;
/// assert_eq!(signed_by[0].name(), "PeterNeumann");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks a note text: non-empty, ends in a newline, no control characters but
/// newline.
pub fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    check_controls(text, 1)?;
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    Ok(())
}

fn check_controls(text: &str, first_line: usize) -> Result<(), NoteError> {
    let mut line = first_line;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        } else if c < ' ' {
            return Err(NoteError::ControlCharacter {
                line,
                code: u32::from(c),
            });
        }
    }
    Ok(())
}

impl Note {
    /// An unsigned note with this text ([`check_text`]).
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_text(&text)?;
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Syntax only: [`Note::verify`] checks the signatures.
    /// Identical signature lines are kept once.
    pub fn parse(msg: &[u8]) -> Result<Note, NoteError> {
        let msg = std::str::from_utf8(msg).map_err(|e| NoteError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        check_controls(msg, 1)?;
        // The text ends at the last blank line.
        let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatures)?;
        let (text, block) = (&msg[..=split], &msg[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let Some(block) = block.strip_suffix('\n') else {
            return Err(NoteError::MissingFinalNewline);
        };
        let first_line = text.matches('\n').count() + 2;
        let mut signatures: Vec<NoteSignature> = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let sig = parse_signature_line(line, first_line + i)?;
            if !signatures.contains(&sig) {
                signatures.push(sig);
            }
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The text, with its final newline: what the signatures sign.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line, replacing any by the same key (name and ID).
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures.retain(|s| !s.same_key(&signature));
        self.signatures.push(signature);
    }

    /// Signs the text with `signer` (replacing an earlier signature by that key).
    pub fn sign(&mut self, signer: &SignerKey) {
        let signature = signer.0.sign(self.text.as_bytes()).to_vec();
        self.add_signature(NoteSignature::from_parts(
            signer.name(),
            signer.key_id(),
            signature,
        ));
    }

    /// Verifies the signatures against trusted `keys` and returns the keys whose
    /// signature verified, in signature order.
    ///
    /// Signatures by unknown keys are ignored; any signature by a known key must
    /// verify; at least one must.
    pub fn verify<'k>(&self, keys: &'k [VerifierKey]) -> Result<Vec<&'k VerifierKey>, NoteError> {
        let mut verified: Vec<&'k VerifierKey> = Vec::new();
        let mut unknown = 0;
        for sig in &self.signatures {
            let key = match find_key(keys, sig, |k| &k.0) {
                Found::One(key) => key,
                Found::Unknown => {
                    unknown += 1;
                    continue;
                }
                Found::Ambiguous => {
                    return Err(NoteError::AmbiguousKey {
                        name: sig.name.clone(),
                        key_id: sig.key_id,
                    });
                }
            };
            if !key.0.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !verified.iter().any(|k| k.0 == key.0) {
                verified.push(key);
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature { unknown });
        }
        Ok(verified)
    }
}

/// What a signature's name and key ID match among trusted keys.
pub(crate) enum Found<'k, K> {
    /// No trusted key: the signature is ignored.
    Unknown,
    /// One key (or several identical copies of it).
    One(&'k K),
    /// Two different keys with the same name and ID.
    Ambiguous,
}

/// The trusted key with the signature's name and key ID.
pub(crate) fn find_key<'k, K>(
    keys: &'k [K],
    sig: &NoteSignature,
    public: impl Fn(&K) -> &crate::keys::PublicKey,
) -> Found<'k, K> {
    let mut found: Option<&'k K> = None;
    for k in keys {
        let p = public(k);
        if p.name != sig.name || p.key_id != sig.key_id {
            continue;
        }
        match found {
            Some(f) if public(f) != p => return Found::Ambiguous,
            _ => found = Some(k),
        }
    }
    match found {
        Some(k) => Found::One(k),
        None => Found::Unknown,
    }
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason| NoteError::BadSignatureLine {
        line: number,
        reason,
    };
    let rest = line
        .strip_prefix("— ")
        .ok_or_else(|| bad("a signature line starts with an em dash and a space"))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| bad("a signature line is `— <name> <base64>`"))?;
    if !is_valid_key_name(name) {
        return Err(bad("the key name is empty or holds a space or `+`"));
    }
    let raw = STANDARD
        .decode(encoded)
        .map_err(|_| bad("the signature is not canonical base64"))?;
    if raw.len() < 5 {
        return Err(bad("the signature is shorter than a key ID and one byte"));
    }
    let (id, signature) = raw.split_at(4);
    Ok(NoteSignature {
        name: name.to_string(),
        key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        signature: signature.to_vec(),
    })
}

impl fmt::Display for Note {
    /// The signed note: text, blank line, signature lines. A note without
    /// signatures prints as its text and a blank line, which [`Note::parse`] refuses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_keys_with_one_name_and_id_are_ambiguous() {
        let a = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
        let b = SignerKey::from_seed("example.com/log", &[2; 32]).unwrap();
        // A second key under the first one's name and ID (a 32-bit collision).
        let mut forged = b.verifier();
        forged.0.key_id = a.key_id();
        let mut note = Note::new("t\n").unwrap();
        note.sign(&a);
        assert_eq!(
            note.verify(&[a.verifier(), forged]),
            Err(NoteError::AmbiguousKey {
                name: "example.com/log".into(),
                key_id: a.key_id()
            })
        );
        // The same key twice is one key.
        let twice = [a.verifier(), a.verifier()];
        assert_eq!(note.verify(&twice).unwrap().len(), 1);
    }

    #[test]
    fn signing_again_replaces_the_signature() {
        let a = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
        let mut note = Note::new("t\n").unwrap();
        note.sign(&a);
        note.sign(&a);
        assert_eq!(note.signatures().len(), 1);
        assert!(NoteSignature::new("a b", 1, vec![1]).is_err());
        assert!(NoteSignature::new("ab", 1, vec![]).is_err());
    }
}
