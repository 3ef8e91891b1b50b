//! The checks of the `tlog_parse` fuzz target (fuzz/), as a short property test
//! that runs in CI: mutated notes, checkpoints, keys, tlog-proofs and receipt JSON
//! are parsed or rejected, never a panic; what parses writes back to the same
//! bytes (checkpoints, tlog-proofs) or to the same value (notes, receipts), and
//! verifying it never panics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_tlog::*;
use proptest::prelude::*;

fn samples() -> Vec<Vec<u8>> {
    let log = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
    let witness = WitnessSigner::from_seed("witness.example", &[2; 32]).unwrap();
    let mut tree = MemoryTree::new();
    for i in 0..13u32 {
        tree.push(leaf_hash(&i.to_be_bytes())).unwrap();
    }
    let c = Checkpoint::new("example.com/log", 13, tree.root())
        .unwrap()
        .with_extension("ext")
        .unwrap();
    let mut note = Note::new(c.to_text()).unwrap();
    note.sign(&log);
    note.add_signature(cosign(&witness, &c, 1_800_000_000));
    let r = Receipt {
        entry: 5u32.to_be_bytes().to_vec(),
        index: 5,
        proof: inclusion_proof(&tree, 5, 13).unwrap(),
        checkpoint: note.to_string(),
        extra: Some(b"x".to_vec()),
    };
    vec![
        note.to_string().into_bytes(),
        c.to_text().into_bytes(),
        r.to_tlog_proof().into_bytes(),
        r.to_json().into_bytes(),
        log.verifier().to_string().into_bytes(),
        witness.key().to_string().into_bytes(),
    ]
}

/// One mutation: flip a byte, insert one, delete a range, or cut the tail.
fn mutate(mut data: Vec<u8>, kind: u8, at: usize, byte: u8) -> Vec<u8> {
    if data.is_empty() {
        return vec![byte];
    }
    let at = at % data.len();
    match kind % 4 {
        0 => data[at] ^= byte.max(1),
        1 => data.insert(at, byte),
        2 => {
            let end = (at + usize::from(byte % 8) + 1).min(data.len());
            data.drain(at..end);
        }
        _ => data.truncate(at),
    }
    data
}

fn check(data: &[u8]) {
    let log = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
    let witness = WitnessSigner::from_seed("witness.example", &[2; 32]).unwrap();
    let trust = LogTrust::new("example.com/log", vec![log.verifier()])
        .with_witnesses(vec![witness.key()], 1);
    if let Ok(note) = Note::parse(data) {
        assert_eq!(Note::parse(note.to_string().as_bytes()).unwrap(), note);
        let _ = note.verify(&[log.verifier()]);
        let _ = verify_cosignatures(&note, &[witness.key()]);
        let _ = trust.verify_checkpoint(data);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Checkpoint::parse(text) {
        assert_eq!(c.to_text(), text);
    }
    if let Ok(k) = VerifierKey::parse(text) {
        assert!(k.to_string().eq_ignore_ascii_case(text));
    }
    if let Ok(k) = WitnessKey::parse(text) {
        assert!(k.to_string().eq_ignore_ascii_case(text));
    }
    if let Ok(r) = Receipt::from_tlog_proof(5u32.to_be_bytes().to_vec(), text) {
        assert_eq!(r.to_tlog_proof(), text);
        let _ = verify_receipt(&r, &trust);
    }
    if let Ok(r) = Receipt::from_json(text) {
        assert_eq!(Receipt::from_json(&r.to_json()).unwrap(), r);
        let _ = verify_receipt(&r, &trust);
    }
}

#[test]
fn the_samples_are_valid() {
    let s = samples();
    let log = SignerKey::from_seed("example.com/log", &[1; 32]).unwrap();
    let witness = WitnessSigner::from_seed("witness.example", &[2; 32]).unwrap();
    let trust = LogTrust::new("example.com/log", vec![log.verifier()])
        .with_witnesses(vec![witness.key()], 1);
    trust.verify_checkpoint(&s[0]).unwrap();
    let r = Receipt::from_json(std::str::from_utf8(&s[3]).unwrap()).unwrap();
    verify_receipt(&r, &trust).unwrap();
    for sample in &s {
        check(sample);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_inputs_never_panic(
        which in 0usize..6,
        muts in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let mut data = samples().swap_remove(which);
        for (kind, at, byte) in muts {
            data = mutate(data, kind, at, byte);
        }
        check(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&data);
    }
}
