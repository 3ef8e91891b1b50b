//! Other implementations' test vectors (see `tests/vectors/README.md`): the
//! transparency-dev/merkle proof vectors, every corrupted proof included, and the
//! Go `sumdb/note` signed-note vectors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_tlog::{
    Hash, MemoryTree, Note, NoteError, SignerKey, VerifierKey, consistency_proof, inclusion_proof,
    leaf_hash, tree_root, verify_consistency, verify_inclusion,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::Digest as _;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A JSON base64 byte string as a hash; `None` if it is not 32 bytes.
fn hash(v: &Value) -> Option<Hash> {
    Hash::from_slice(&bytes(v)).ok()
}

fn hashes(v: &Value) -> Option<Vec<Hash>> {
    v.as_array().unwrap().iter().map(hash).collect()
}

fn bytes(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

/// The probes' placeholder values that are not 32 bytes ("don't care 1",
/// "WrongLeaf", empty garbage) as opaque 32-byte values: a domain-separated hash
/// of the bytes, so equal placeholders stay equal and different ones stay
/// different (and none becomes a real hash, such as the empty tree's). Used to
/// run such probes through the verifier as well.
fn opaque(v: &Value) -> Hash {
    let b = bytes(v);
    Hash::from_slice(&b).unwrap_or_else(|_| {
        let mut h = sha2::Sha256::new();
        h.update(b"test placeholder\0");
        h.update(&b);
        Hash(h.finalize().into())
    })
}

fn opaques(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(opaque).collect()
}

fn rfc_tree() -> (Value, MemoryTree, Vec<Vec<u8>>) {
    let v = load("rfc6962_tree.json");
    let leaves: Vec<Vec<u8>> = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex(l.as_str().unwrap()))
        .collect();
    let mut tree = MemoryTree::new();
    for l in &leaves {
        tree.push(leaf_hash(l)).unwrap();
    }
    (v, tree, leaves)
}

#[test]
fn rfc6962_roots_at_every_size() {
    let (v, tree, leaves) = rfc_tree();
    let roots = v["roots"].as_array().unwrap();
    assert_eq!(leaves.len(), 8);
    assert_eq!(roots.len(), 8);
    let mut f = airlock_tlog::Frontier::new();
    for (i, root) in roots.iter().enumerate() {
        let want = Hash::from_slice(&hex(root.as_str().unwrap())).unwrap();
        let size = i as u64 + 1;
        assert_eq!(tree_root(&tree, size).unwrap(), want, "size {size}");
        f.push(leaf_hash(&leaves[i])).unwrap();
        assert_eq!(f.root(), want, "frontier at size {size}");
    }
}

#[test]
fn rfc6962_known_proofs_are_generated_exactly() {
    let (v, tree, _) = rfc_tree();
    let to_hashes = |p: &Value| -> Vec<Hash> {
        p.as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_slice(&hex(h.as_str().unwrap())).unwrap())
            .collect()
    };
    for p in v["inclusion_proofs"].as_array().unwrap() {
        let (index, size) = (
            p["leafIdx"].as_u64().unwrap(),
            p["treeSize"].as_u64().unwrap(),
        );
        assert_eq!(
            inclusion_proof(&tree, index, size).unwrap(),
            to_hashes(&p["proof"]),
            "inclusion {index} in {size}"
        );
    }
    for p in v["consistency_proofs"].as_array().unwrap() {
        let (s1, s2) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        assert_eq!(
            consistency_proof(&tree, s1, s2).unwrap(),
            to_hashes(&p["proof"]),
            "consistency {s1} -> {s2}"
        );
    }
}

/// How the probes ended.
#[derive(Default, Debug)]
struct Tally {
    /// Valid probes that verified.
    verified: usize,
    /// Corrupted probes the verifier rejected.
    rejected_by_verifier: usize,
    /// Corrupted probes refused before verification: a value is not 32 bytes.
    rejected_at_decoding: usize,
    /// Of those, the ones the verifier rejects too once the placeholder is made a
    /// 32-byte value ([`opaque`]).
    also_rejected_as_opaque: usize,
    /// Corrupted probes whose only fault is a value's size: they verify once the
    /// placeholder is made a 32-byte value.
    size_only: Vec<String>,
}

impl Tally {
    fn record(
        &mut self,
        name: String,
        want_err: bool,
        strict: Option<Result<(), String>>,
        opaque: Result<(), String>,
    ) {
        if !want_err {
            if let Some(strict) = strict {
                strict.unwrap_or_else(|e| panic!("{name}: a valid proof failed: {e}"));
            }
            opaque.unwrap_or_else(|e| panic!("{name}: a valid proof failed: {e}"));
            self.verified += 1;
            return;
        }
        match strict {
            Some(Ok(())) => panic!("{name}: a corrupted proof verified"),
            Some(Err(_)) => self.rejected_by_verifier += 1,
            None => {
                self.rejected_at_decoding += 1;
                match opaque {
                    Ok(()) => self.size_only.push(name),
                    Err(_) => self.also_rejected_as_opaque += 1,
                }
            }
        }
    }
}

#[test]
fn transparency_dev_inclusion_probes() {
    let v = load("merkle_inclusion.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 98);
    let mut tally = Tally::default();
    for c in cases {
        let name = format!("inclusion {} {}", c["group"], c["desc"]);
        let want_err = c["wantErr"].as_bool().unwrap();
        let (index, size) = (
            c["leafIdx"].as_u64().unwrap(),
            c["treeSize"].as_u64().unwrap(),
        );
        let strict = (|| {
            Some((
                hash(&c["root"])?,
                hash(&c["leafHash"])?,
                hashes(&c["proof"])?,
            ))
        })()
        .map(|(root, leaf, proof)| {
            verify_inclusion(index, size, &leaf, &proof, &root).map_err(|e| e.to_string())
        });
        let (root, leaf, proof) = (
            opaque(&c["root"]),
            opaque(&c["leafHash"]),
            opaques(&c["proof"]),
        );
        let opaque = verify_inclusion(index, size, &leaf, &proof, &root).map_err(|e| e.to_string());
        tally.record(name, want_err, strict, opaque);
    }
    eprintln!("inclusion probes: {tally:?}");
    assert_eq!(tally.verified, 6);
    assert_eq!(tally.rejected_by_verifier, 66);
    assert_eq!(tally.rejected_at_decoding, 26);
    assert_eq!(tally.also_rejected_as_opaque, 25);
    // An empty root and an empty leaf are equal; only their size is wrong.
    assert_eq!(
        tally.size_only,
        ["inclusion \"single-entry\" \"empty root and leaf\""]
    );
}

#[test]
fn transparency_dev_consistency_probes() {
    let v = load("merkle_consistency.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 98);
    let mut tally = Tally::default();
    for c in cases {
        let name = format!("consistency {} {}", c["group"], c["desc"]);
        let want_err = c["wantErr"].as_bool().unwrap();
        let (s1, s2) = (c["size1"].as_u64().unwrap(), c["size2"].as_u64().unwrap());
        let strict = (|| Some((hash(&c["root1"])?, hash(&c["root2"])?, hashes(&c["proof"])?)))()
            .map(|(r1, r2, proof)| {
                verify_consistency(s1, s2, &r1, &r2, &proof).map_err(|e| e.to_string())
            });
        let (r1, r2, proof) = (
            opaque(&c["root1"]),
            opaque(&c["root2"]),
            opaques(&c["proof"]),
        );
        let opaque = verify_consistency(s1, s2, &r1, &r2, &proof).map_err(|e| e.to_string());
        tally.record(name, want_err, strict, opaque);
    }
    eprintln!("consistency probes: {tally:?}");
    // The five known proofs, and equal sizes (1, 1) with equal placeholder roots.
    assert_eq!(tally.verified, 6);
    assert_eq!(tally.rejected_by_verifier, 66);
    assert_eq!(tally.rejected_at_decoding, 26);
    assert_eq!(tally.also_rejected_as_opaque, 26);
    assert!(tally.size_only.is_empty(), "{:?}", tally.size_only);
}

#[test]
fn go_note_sign_matches_byte_for_byte() {
    let v = load("signed_note.json");
    let signer = SignerKey::parse(v["signer_key"].as_str().unwrap()).unwrap();
    let peter = VerifierKey::parse(v["verifier_keys"]["peter"].as_str().unwrap()).unwrap();
    assert_eq!(signer.verifier(), peter);
    let mut note = Note::new(v["text"].as_str().unwrap()).unwrap();
    note.sign(&signer);
    assert_eq!(note.to_string(), v["signed"].as_str().unwrap());
    // Signing again replaces the signature rather than adding one.
    note.sign(&signer);
    assert_eq!(note.to_string(), v["signed"].as_str().unwrap());
}

#[test]
fn go_note_open_cases() {
    let v = load("signed_note.json");
    let keys = |names: &Value| -> Vec<VerifierKey> {
        names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                let s = v["verifier_keys"][n.as_str().unwrap()].as_str().unwrap();
                VerifierKey::parse(s).unwrap()
            })
            .collect()
    };
    let cases = v["open_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 17);
    for c in cases {
        let name = c["desc"].as_str().unwrap();
        let mut msg = c
            .get("msg_hex_prefix")
            .map_or(Vec::new(), |h| hex(h.as_str().unwrap()));
        msg.extend_from_slice(c["msg"].as_str().unwrap().as_bytes());
        let trusted = keys(&c["keys"]);
        let result = Note::parse(&msg).and_then(|n| {
            let names: Vec<String> = n
                .verify(&trusted)?
                .iter()
                .map(|k| k.name().to_string())
                .collect();
            Ok((n, names))
        });
        match c.get("error").and_then(Value::as_str) {
            None => {
                let (note, names) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                let want: Vec<&str> = c["verified"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap())
                    .collect();
                assert_eq!(names, want, "{name}");
                assert_eq!(
                    note.signatures().len() as u64,
                    c["signatures"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(note.text(), v["text"].as_str().unwrap(), "{name}");
            }
            Some(class) => {
                let err = result.err().unwrap_or_else(|| panic!("{name}: opened"));
                let ok = match class {
                    "no_known_signature" => matches!(err, NoteError::NoKnownSignature { .. }),
                    "bad_signature" => matches!(err, NoteError::BadSignature { .. }),
                    "too_many_signatures" => matches!(err, NoteError::TooManySignatures { .. }),
                    "malformed" => !matches!(
                        err,
                        NoteError::NoKnownSignature { .. } | NoteError::BadSignature { .. }
                    ),
                    other => panic!("unknown class {other}"),
                };
                assert!(ok, "{name}: wrong error {err:?}");
            }
        }
    }
}
