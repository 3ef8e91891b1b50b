//! SHA-256 hashes and the RFC 6962 domain separation of leaves and nodes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
///
/// `Display` and the serde form are standard base64 (as in checkpoints); `Debug` is hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// Why bytes or text are not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not 32 bytes.
    #[error("a SHA-256 hash is 32 bytes, not {0}")]
    Length(usize),
    /// Not canonical standard base64 of 32 bytes (44 characters, one `=`).
    #[error("a SHA-256 hash is 44 characters of canonical base64")]
    Base64,
}

impl Hash {
    /// The hash as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A hash from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashError> {
        <[u8; 32]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashError::Length(bytes.len()))
    }

    /// Parses canonical standard base64 (with padding) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, HashError> {
        // 32 bytes are always 44 characters; refusing other lengths first keeps a
        // hostile megabyte line from being decoded at all.
        if text.len() != 44 {
            return Err(HashError::Base64);
        }
        // One spare byte: the decoder sizes its output conservatively.
        let mut out = [0u8; 33];
        match STANDARD.decode_slice(text, &mut out) {
            Ok(32) => Hash::from_slice(&out[..32]),
            _ => Err(HashError::Base64),
        }
    }

    /// Standard base64 with padding, 44 characters.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Hash::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The hash of a leaf: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
///
/// The two prefixes keep a leaf from ever being presented as a node or the reverse
/// (a second-preimage attack on the tree).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 0x01;
    block[1..33].copy_from_slice(&left.0);
    block[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(block).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6962_constants() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // The first leaf of the RFC 6962 test tree is the empty string.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn base64_is_strict() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert!(Hash::from_base64("").is_err());
        assert!(Hash::from_base64(&h.to_base64()[..43]).is_err());
        // Non-canonical trailing bits are refused: one hash, one text.
        let canonical = format!("{}A=", "A".repeat(42));
        let trailing_bits = format!("{}B=", "A".repeat(42));
        assert_eq!(Hash::from_base64(&canonical), Ok(Hash([0; 32])));
        assert!(Hash::from_base64(&trailing_bits).is_err());
    }
}
