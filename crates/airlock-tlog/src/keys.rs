//! Ed25519 keys in the signed-note encodings of `golang.org/x/mod/sumdb/note` and
//! C2SP: verifier keys `<name>+<key ID hex>+<base64(type ‖ public key)>` and signer
//! keys `PRIVATE+KEY+<name>+<key ID hex>+<base64(type ‖ seed)>`.
//!
//! The key ID is `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`, big-endian; the
//! type byte is `0x01` for log (note) signatures and `0x04` for witness
//! cosignatures (c2sp.org/tlog-cosignature), so one Ed25519 key has a different ID
//! in each role and a signature made in one role is never taken for the other.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of plain Ed25519 note signatures.
pub(crate) const TYPE_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 witness cosignatures.
pub(crate) const TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Why a key string or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key name is empty, or holds a space or `+`.
    #[error("key name {0:?} must be non-empty, without spaces or `+`")]
    BadName(String),
    /// The string does not have the `name+id+key` shape.
    #[error("a key is `{expected}`")]
    Shape {
        /// The expected shape.
        expected: &'static str,
    },
    /// The key ID is not 8 hex digits.
    #[error("key ID {0:?} is not 8 hex digits")]
    BadKeyId(String),
    /// The key material is not base64 of a type byte and 32 bytes.
    #[error("key material is not base64 of a type byte and 32 bytes")]
    BadKeyMaterial,
    /// The type byte is not the one this key is for.
    #[error("key type 0x{got:02x}, expected 0x{expected:02x}")]
    WrongType {
        /// The type byte found.
        got: u8,
        /// The type byte required.
        expected: u8,
    },
    /// The public key is not a valid Ed25519 point (or is a weak, small-order one).
    #[error("not a valid Ed25519 public key")]
    BadPublicKey,
    /// The key ID does not match the name and key.
    #[error("key ID {given:08x} does not match the name and key (expected {computed:08x})")]
    KeyIdMismatch {
        /// The ID written in the string.
        given: u32,
        /// The ID the name and key give.
        computed: u32,
    },
}

/// Whether `name` can name a key: non-empty, no Unicode spaces, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The key ID of an Ed25519 key: `SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4]`.
pub(crate) fn key_id(name: &str, key_type: u8, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// An Ed25519 public key with its name and ID, for one signature type.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublicKey {
    pub(crate) name: String,
    pub(crate) key_id: u32,
    pub(crate) key_type: u8,
    pub(crate) key: VerifyingKey,
}

impl PublicKey {
    pub(crate) fn new(name: &str, key_type: u8, public: [u8; 32]) -> Result<PublicKey, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|_| KeyError::BadPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::BadPublicKey);
        }
        Ok(PublicKey {
            name: name.to_string(),
            key_id: key_id(name, key_type, &public),
            key_type,
            key,
        })
    }

    /// Parses `<name>+<id>+<base64(type ‖ key)>`.
    pub(crate) fn parse(vkey: &str, key_type: u8) -> Result<PublicKey, KeyError> {
        const SHAPE: &str = "<name>+<8 hex digits>+<base64 key>";
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Shape { expected: SHAPE });
        };
        let given = parse_key_id(id)?;
        let public = decode_material(material, key_type)?;
        let key = PublicKey::new(name, key_type, public)?;
        check_id(given, key.key_id)?;
        Ok(key)
    }

    pub(crate) fn encode(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(self.key_type);
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(material)
        )
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &sig).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// An Ed25519 signing key with its name and ID, for one signature type.
#[derive(Clone)]
pub(crate) struct SecretKey {
    pub(crate) public: PublicKey,
    signing: SigningKey,
}

impl SecretKey {
    pub(crate) fn from_seed(
        name: &str,
        key_type: u8,
        seed: &[u8; 32],
    ) -> Result<SecretKey, KeyError> {
        let signing = SigningKey::from_bytes(seed);
        let public = PublicKey::new(name, key_type, signing.verifying_key().to_bytes())?;
        Ok(SecretKey { public, signing })
    }

    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(type ‖ seed)>`.
    pub(crate) fn parse(skey: &str, key_type: u8) -> Result<SecretKey, KeyError> {
        const SHAPE: &str = "PRIVATE+KEY+<name>+<8 hex digits>+<base64 seed>";
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Shape { expected: SHAPE })?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Shape { expected: SHAPE });
        };
        let given = parse_key_id(id)?;
        let seed = decode_material(material, key_type)?;
        let key = SecretKey::from_seed(name, key_type, &seed)?;
        check_id(given, key.public.key_id)?;
        Ok(key)
    }

    pub(crate) fn encode(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(self.public.key_type);
        material.extend_from_slice(self.signing.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.public.name,
            self.public.key_id,
            STANDARD.encode(material)
        )
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({:?}, <secret>)", self.public)
    }
}

fn parse_key_id(id: &str) -> Result<u32, KeyError> {
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::BadKeyId(id.to_string()));
    }
    u32::from_str_radix(id, 16).map_err(|_| KeyError::BadKeyId(id.to_string()))
}

fn decode_material(material: &str, key_type: u8) -> Result<[u8; 32], KeyError> {
    if material.len() != 44 {
        return Err(KeyError::BadKeyMaterial);
    }
    let bytes = STANDARD
        .decode(material)
        .map_err(|_| KeyError::BadKeyMaterial)?;
    let (&got, key) = bytes.split_first().ok_or(KeyError::BadKeyMaterial)?;
    if got != key_type {
        return Err(KeyError::WrongType {
            got,
            expected: key_type,
        });
    }
    <[u8; 32]>::try_from(key).map_err(|_| KeyError::BadKeyMaterial)
}

fn check_id(given: u32, computed: u32) -> Result<(), KeyError> {
    if given == computed {
        Ok(())
    } else {
        Err(KeyError::KeyIdMismatch { given, computed })
    }
}

/// A log's public key: verifies Ed25519 note signatures (type `0x01`).
///
/// ```
/// use airlock_tlog::VerifierKey;
///
/// let key = VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")?;
/// assert_eq!(key.name(), "PeterNeumann");
/// assert_eq!(key.key_id(), 0xc74f20a3);
/// # Ok::<(), airlock_tlog::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey(pub(crate) PublicKey);

impl VerifierKey {
    /// Parses a verifier key string, checking the key ID against name and key.
    pub fn parse(vkey: &str) -> Result<VerifierKey, KeyError> {
        PublicKey::parse(vkey, TYPE_ED25519).map(VerifierKey)
    }

    /// A verifier key from a name and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<VerifierKey, KeyError> {
        PublicKey::new(name, TYPE_ED25519, public_key).map(VerifierKey)
    }

    /// The key name, as on signature lines.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> u32 {
        self.0.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }
}

impl fmt::Display for VerifierKey {
    /// The verifier key string, `<name>+<id>+<base64>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.encode())
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({})", self.0.encode())
    }
}

/// A log's private key: signs notes with Ed25519 (type `0x01`).
///
/// There is no key generation here (this crate has no randomness): the caller
/// draws 32 random bytes and passes them to [`SignerKey::from_seed`].
/// `Debug` does not print the secret.
#[derive(Clone, Debug)]
pub struct SignerKey(pub(crate) SecretKey);

impl SignerKey {
    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<SignerKey, KeyError> {
        SecretKey::parse(skey, TYPE_ED25519).map(SignerKey)
    }

    /// A signer from a name and a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SignerKey, KeyError> {
        SecretKey::from_seed(name, TYPE_ED25519, seed).map(SignerKey)
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey(self.0.public.clone())
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.0.public.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> u32 {
        self.0.public.key_id
    }

    /// The secret key string, `PRIVATE+KEY+…`. Handle with care.
    pub fn to_secret_string(&self) -> String {
        self.0.encode()
    }
}

/// A witness's public key: verifies cosignature/v1 signatures (type `0x04`).
#[derive(Clone, PartialEq, Eq)]
pub struct WitnessKey(pub(crate) PublicKey);

impl WitnessKey {
    /// Parses a witness verifier key, `<name>+<id>+<base64(0x04 ‖ key)>` (C2SP vkey).
    pub fn parse(vkey: &str) -> Result<WitnessKey, KeyError> {
        PublicKey::parse(vkey, TYPE_COSIGNATURE_V1).map(WitnessKey)
    }

    /// A witness key from a name and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<WitnessKey, KeyError> {
        PublicKey::new(name, TYPE_COSIGNATURE_V1, public_key).map(WitnessKey)
    }

    /// The witness name, as on cosignature lines.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The 4-byte key ID (computed with type `0x04`).
    pub fn key_id(&self) -> u32 {
        self.0.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }
}

impl fmt::Display for WitnessKey {
    /// The verifier key string, `<name>+<id>+<base64(0x04 ‖ key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.encode())
    }
}

impl fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WitnessKey({})", self.0.encode())
    }
}

/// A witness's private key: makes cosignature/v1 signatures.
#[derive(Clone, Debug)]
pub struct WitnessSigner(pub(crate) SecretKey);

impl WitnessSigner {
    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(0x04 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<WitnessSigner, KeyError> {
        SecretKey::parse(skey, TYPE_COSIGNATURE_V1).map(WitnessSigner)
    }

    /// A witness signer from a name and a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<WitnessSigner, KeyError> {
        SecretKey::from_seed(name, TYPE_COSIGNATURE_V1, seed).map(WitnessSigner)
    }

    /// The matching public key.
    pub fn key(&self) -> WitnessKey {
        WitnessKey(self.0.public.clone())
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.0.public.name
    }

    /// The secret key string, `PRIVATE+KEY+…`. Handle with care.
    pub fn to_secret_string(&self) -> String {
        self.0.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETER_V: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_S: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

    #[test]
    fn go_keys_round_trip() {
        let v = VerifierKey::parse(PETER_V).unwrap();
        assert_eq!(v.to_string(), PETER_V);
        let s = SignerKey::parse(PETER_S).unwrap();
        assert_eq!(s.to_secret_string(), PETER_S);
        assert_eq!(s.verifier(), v);
        assert!(!format!("{s:?}").contains("AYEKFALV"));
    }

    #[test]
    fn mangled_keys_are_refused() {
        // Every strict substring, and every single-byte change (as note_test.go).
        for key in [PETER_V, PETER_S] {
            let is_signer = key.starts_with("PRIVATE");
            let parse = |k: &str| {
                if is_signer {
                    SignerKey::parse(k).is_ok()
                } else {
                    VerifierKey::parse(k).is_ok()
                }
            };
            let b = key.as_bytes();
            for i in 0..=b.len() {
                for j in i + 1..=b.len() {
                    if i == 0 && j == b.len() {
                        continue;
                    }
                    if let Ok(k) = std::str::from_utf8(&b[i..j]) {
                        assert!(!parse(k), "{k:?} parsed");
                    }
                }
            }
            for i in 0..b.len() {
                let mut m = b.to_vec();
                m[i] = m[i].wrapping_add(1);
                if let Ok(k) = std::str::from_utf8(&m) {
                    assert!(!parse(k), "{k:?} parsed");
                }
            }
        }
        // A wrong-length key and an unknown type, each with an adjusted key ID.
        assert!(
            VerifierKey::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        assert!(
            VerifierKey::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_err()
        );
        // A log key is not a witness key.
        assert!(matches!(
            WitnessKey::parse(PETER_V),
            Err(KeyError::WrongType {
                got: 1,
                expected: 4
            })
        ));
    }

    #[test]
    fn names_are_checked() {
        assert!(SignerKey::from_seed("a b", &[7; 32]).is_err());
        assert!(SignerKey::from_seed("a+b", &[7; 32]).is_err());
        assert!(SignerKey::from_seed("", &[7; 32]).is_err());
        assert!(SignerKey::from_seed("a\u{a0}b", &[7; 32]).is_err());
        assert!(SignerKey::from_seed("example.com/log", &[7; 32]).is_ok());
    }

    #[test]
    fn one_key_two_roles_two_ids() {
        let log = SignerKey::from_seed("example.com/w", &[9; 32]).unwrap();
        let witness = WitnessSigner::from_seed("example.com/w", &[9; 32]).unwrap();
        assert_eq!(log.verifier().public_key(), witness.key().public_key());
        assert_ne!(log.key_id(), witness.key().key_id());
        let round = WitnessKey::parse(&witness.key().to_string()).unwrap();
        assert_eq!(round, witness.key());
        let round = WitnessSigner::parse(&witness.to_secret_string()).unwrap();
        assert_eq!(round.key(), witness.key());
    }
}
