//! Signed notes, checkpoints, cosignatures and receipts: the edge cases and the
//! attacks of issue 6 that this crate alone can detect.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use airlock_tlog::*;

const ORIGIN: &str = "airlock.example.com/ledger/prod";

fn log_key(seed: u8) -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

fn witness(n: u8) -> WitnessSigner {
    WitnessSigner::from_seed(&format!("witness{n}.example.org"), &[100 + n; 32]).unwrap()
}

fn tree_of(n: u32) -> (MemoryTree, Vec<Vec<u8>>) {
    let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.push(leaf_hash(e)).unwrap();
    }
    (tree, entries)
}

fn signed_checkpoint(tree: &MemoryTree, key: &SignerKey) -> (Checkpoint, Note) {
    let c = Checkpoint::new(ORIGIN, tree.size(), tree.root()).unwrap();
    let mut note = Note::new(c.to_text()).unwrap();
    note.sign(key);
    (c, note)
}

fn receipt(tree: &MemoryTree, entries: &[Vec<u8>], index: u64, note: &Note) -> Receipt {
    Receipt {
        entry: entries[index as usize].clone(),
        index,
        proof: inclusion_proof(tree, index, tree.size()).unwrap(),
        checkpoint: note.to_string(),
        extra: None,
    }
}

// ---------------------------------------------------------------- signed notes

#[test]
fn unknown_keys_are_ignored_and_one_known_signature_suffices() {
    let (old, new, stranger) = (
        log_key(1),
        log_key(2),
        SignerKey::from_seed("other.example", &[3; 32]).unwrap(),
    );
    let mut note = Note::new("hello\n").unwrap();
    note.sign(&stranger);
    note.sign(&old);
    note.sign(&new);
    let parsed = Note::parse(note.to_string().as_bytes()).unwrap();
    assert_eq!(parsed, note);
    // Key rotation: the old key alone, the new key alone, or both.
    for trusted in [
        vec![old.verifier()],
        vec![new.verifier()],
        vec![old.verifier(), new.verifier()],
    ] {
        let by = parsed.verify(&trusted).unwrap();
        assert_eq!(by.len(), trusted.len());
    }
    // Only the stranger's signature is known to nobody: rejected.
    let mut lone = Note::new("hello\n").unwrap();
    lone.sign(&stranger);
    assert_eq!(
        lone.verify(&[old.verifier()]),
        Err(NoteError::NoKnownSignature { unknown: 1 })
    );
}

#[test]
fn a_bad_signature_from_a_known_key_rejects_the_note() {
    let key = log_key(1);
    let mut note = Note::new("hello\n").unwrap();
    note.sign(&key);
    let good = note.signatures()[0].clone();
    let mut sig = good.signature().to_vec();
    sig[10] ^= 1;
    let mut bad = Note::new("hello\n").unwrap();
    bad.add_signature(NoteSignature::new(good.name(), good.key_id(), sig.clone()).unwrap());
    let trusted = [key.verifier()];
    let parsed = Note::parse(bad.to_string().as_bytes()).unwrap();
    assert_eq!(
        parsed.verify(&trusted),
        Err(NoteError::BadSignature {
            name: ORIGIN.into(),
            key_id: key.key_id()
        })
    );
    // Even next to a good signature by another trusted key.
    let other = log_key(2);
    bad.sign(&other);
    assert!(matches!(
        bad.verify(&[key.verifier(), other.verifier()]),
        Err(NoteError::BadSignature { .. })
    ));
    // A second, different line by the same key is verified too.
    let mut twice = note.to_string();
    twice.push_str(
        &NoteSignature::new(ORIGIN, good.key_id(), sig)
            .unwrap()
            .line(),
    );
    assert!(matches!(
        Note::parse(twice.as_bytes())
            .unwrap()
            .verify(&[key.verifier()]),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn a_changed_text_or_name_does_not_verify() {
    let key = log_key(1);
    let mut note = Note::new("size 5\n").unwrap();
    note.sign(&key);
    let text = note.to_string();
    let changed = text.replacen("size 5", "size 6", 1);
    assert!(matches!(
        Note::parse(changed.as_bytes())
            .unwrap()
            .verify(&[key.verifier()]),
        Err(NoteError::BadSignature { .. })
    ));
    // The same key ID under another name is another (unknown) key.
    let renamed = text.replacen(&format!("— {ORIGIN} "), "— evil.example/ledger ", 1);
    assert_eq!(
        Note::parse(renamed.as_bytes())
            .unwrap()
            .verify(&[key.verifier()]),
        Err(NoteError::NoKnownSignature { unknown: 1 })
    );
}

#[test]
fn malformed_notes_are_refused_with_a_position() {
    let key = log_key(1);
    let mut note = Note::new("a\nb\n").unwrap();
    note.sign(&key);
    let good = note.to_string();
    let sig_line = good.split_once("\n\n").unwrap().1.to_string();

    assert_eq!(Note::new(""), Err(NoteError::EmptyText));
    assert_eq!(Note::new("abc"), Err(NoteError::MissingFinalNewline));
    assert_eq!(
        Note::new("a\tb\n"),
        Err(NoteError::ControlCharacter { line: 1, code: 9 })
    );
    assert_eq!(
        Note::new("a\nb\r\n"),
        Err(NoteError::ControlCharacter { line: 2, code: 13 })
    );
    let cases: Vec<(Vec<u8>, NoteError)> = vec![
        (b"a\nb\n".to_vec(), NoteError::NoSignatures),
        (b"a\nb\n\n".to_vec(), NoteError::NoSignatures),
        (
            good.trim_end().as_bytes().to_vec(),
            NoteError::MissingFinalNewline,
        ),
        (
            format!("a\x00\nb\n\n{sig_line}").into_bytes(),
            NoteError::ControlCharacter { line: 1, code: 0 },
        ),
        (
            format!("a\nb\n\n{sig_line}\x1b").into_bytes(),
            NoteError::ControlCharacter { line: 5, code: 27 },
        ),
        (
            [b"a\n\xc3\x28\n\n".as_slice(), sig_line.as_bytes()].concat(),
            NoteError::InvalidUtf8 { offset: 2 },
        ),
        (
            format!("a\nb\n\n- {ORIGIN} AAAA\n").into_bytes(),
            NoteError::BadSignatureLine {
                line: 4,
                reason: "a signature line starts with an em dash and a space",
            },
        ),
        (
            format!("a\nb\n\n{sig_line}— {ORIGIN}\n").into_bytes(),
            NoteError::BadSignatureLine {
                line: 5,
                reason: "a signature line is `— <name> <base64>`",
            },
        ),
        (
            "a\nb\n\n— a+b AAAAAAA=\n".as_bytes().to_vec(),
            NoteError::BadSignatureLine {
                line: 4,
                reason: "the key name is empty or holds a space or `+`",
            },
        ),
        (
            "a\nb\n\n—  AAAAAAA=\n".as_bytes().to_vec(),
            NoteError::BadSignatureLine {
                line: 4,
                reason: "the key name is empty or holds a space or `+`",
            },
        ),
        (
            format!("a\nb\n\n— {ORIGIN} AAAA\n").into_bytes(),
            NoteError::BadSignatureLine {
                line: 4,
                reason: "the signature is shorter than a key ID and one byte",
            },
        ),
        (
            format!("a\nb\n\n— {ORIGIN} AAAAAAB=\n").into_bytes(),
            NoteError::BadSignatureLine {
                line: 4,
                reason: "the signature is not canonical base64",
            },
        ),
        (
            format!("a\nb\n\n— {ORIGIN} not base64!\n").into_bytes(),
            NoteError::BadSignatureLine {
                line: 4,
                reason: "the signature is not canonical base64",
            },
        ),
        (
            format!("a\nb\n\n{}", sig_line.repeat(MAX_SIGNATURES + 1)).into_bytes(),
            NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            },
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            Note::parse(&msg),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(&msg)
        );
    }
    // At the limit, duplicates collapse to one.
    let at_limit = format!("a\nb\n\n{}", sig_line.repeat(MAX_SIGNATURES));
    assert_eq!(
        Note::parse(at_limit.as_bytes()).unwrap().signatures().len(),
        1
    );
}

#[test]
fn texts_with_empty_lines_are_notes_too() {
    // The spec lets the text hold empty lines; the signatures follow the last one.
    let key = log_key(1);
    let mut note = Note::new("a\n\nb\n\n").unwrap();
    note.sign(&key);
    let parsed = Note::parse(note.to_string().as_bytes()).unwrap();
    assert_eq!(parsed.text(), "a\n\nb\n\n");
    parsed.verify(&[key.verifier()]).unwrap();
}

// ---------------------------------------------------------------- checkpoints

#[test]
fn checkpoints_open_only_for_the_trusted_log_and_origin() {
    let (tree, _) = tree_of(5);
    let key = log_key(1);
    let (c, note) = signed_checkpoint(&tree, &key);
    let trust = LogTrust::new(ORIGIN, vec![key.verifier()]);
    let v = trust
        .verify_checkpoint(note.to_string().as_bytes())
        .unwrap();
    assert_eq!(v.checkpoint, c);
    assert_eq!(v.signed_by, vec![key.verifier()]);

    // Another origin, signed by a key of that name: not this log.
    let other = SignerKey::from_seed("elsewhere.example/log", &[1; 32]).unwrap();
    let foreign = Checkpoint::new("elsewhere.example/log", 5, tree.root()).unwrap();
    let mut foreign_note = Note::new(foreign.to_text()).unwrap();
    foreign_note.sign(&other);
    let trust_both = LogTrust::new(ORIGIN, vec![key.verifier(), other.verifier()]);
    assert_eq!(
        trust_both.verify_checkpoint(foreign_note.to_string().as_bytes()),
        Err(TrustError::WrongOrigin {
            expected: ORIGIN.into(),
            found: "elsewhere.example/log".into()
        })
    );
    // A signed note that is not a checkpoint.
    let mut not_cp = Note::new(format!("{ORIGIN}\n05\n{}\n", tree.root())).unwrap();
    not_cp.sign(&key);
    assert_eq!(
        trust.verify_checkpoint(not_cp.to_string().as_bytes()),
        Err(TrustError::Checkpoint(CheckpointError::BadSize(
            "05".into()
        )))
    );
    // Extension lines are carried and signed.
    let ext = c.clone().with_extension("policy sha256:abc").unwrap();
    let mut ext_note = Note::new(ext.to_text()).unwrap();
    ext_note.sign(&key);
    let v = trust
        .verify_checkpoint(ext_note.to_string().as_bytes())
        .unwrap();
    assert_eq!(v.checkpoint.extensions(), ["policy sha256:abc"]);
}

// ---------------------------------------------------------------- cosignatures

#[test]
fn the_cosigned_message_is_the_spec_s() {
    let c = Checkpoint::parse(
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    )
    .unwrap();
    assert_eq!(
        cosigned_message(&c.to_text(), 1_679_315_147),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    let w = witness(1);
    let line = cosign(&w, &c, 1_679_315_147);
    assert_eq!(line.key_id(), w.key().key_id());
    // Key ID (in the line) ‖ 8-byte big-endian time ‖ 64-byte signature.
    assert_eq!(line.signature().len(), 72);
    assert_eq!(&line.signature()[..8], &1_679_315_147u64.to_be_bytes());
}

#[test]
fn cosignatures_verify_with_their_timestamps_and_make_a_quorum() {
    let (tree, _) = tree_of(9);
    let key = log_key(1);
    let (c, mut note) = signed_checkpoint(&tree, &key);
    let (w1, w2, w3) = (witness(1), witness(2), witness(3));
    note.add_signature(cosign(&w1, &c, 1_800_000_000));
    note.add_signature(cosign(&w2, &c, 1_800_000_005));
    let note = Note::parse(note.to_string().as_bytes()).unwrap();
    // The log's own signature is not a witness's; unknown witnesses are ignored.
    let all = [w1.key(), w2.key(), w3.key()];
    let got = verify_cosignatures(&note, &all).unwrap();
    assert_eq!(
        got.iter()
            .map(|c| (c.witness.as_str(), c.timestamp))
            .collect::<Vec<_>>(),
        [
            ("witness1.example.org", 1_800_000_000),
            ("witness2.example.org", 1_800_000_005)
        ]
    );
    check_quorum(&note, &all, 2).unwrap();
    assert_eq!(
        check_quorum(&note, &all, 3),
        Err(CosignatureError::Quorum { got: 2, quorum: 3 })
    );
    assert_eq!(
        check_quorum(&note, &[w3.key()], 1),
        Err(CosignatureError::Quorum { got: 0, quorum: 1 })
    );
    check_quorum(&note, &[], 0).unwrap();
    // The same seed as a log key is another key ID: a log signature never counts
    // as a cosignature, nor a cosignature as a log signature.
    let twin = WitnessSigner::from_seed(ORIGIN, &[1; 32]).unwrap();
    assert!(
        verify_cosignatures(&note, &[twin.key()])
            .unwrap()
            .is_empty()
    );
    let mut only_cosigned = Note::new(c.to_text()).unwrap();
    only_cosigned.add_signature(cosign(&twin, &c, 5));
    assert!(matches!(
        only_cosigned.verify(&[key.verifier()]),
        Err(NoteError::NoKnownSignature { unknown: 1 })
    ));
}

#[test]
fn forged_cosignatures_are_rejected() {
    let (tree, _) = tree_of(9);
    let key = log_key(1);
    let (c, note) = signed_checkpoint(&tree, &key);
    let w = witness(1);
    let good = cosign(&w, &c, 1_800_000_000);

    // Another time than the one signed.
    let mut sig = good.signature().to_vec();
    sig[7] ^= 1;
    let mut n = note.clone();
    n.add_signature(NoteSignature::new(w.name(), good.key_id(), sig).unwrap());
    assert!(matches!(
        verify_cosignatures(&n, &[w.key()]),
        Err(CosignatureError::BadCosignature { .. })
    ));
    // A cosignature of another checkpoint.
    let (other_tree, _) = tree_of(10);
    let other = Checkpoint::new(ORIGIN, 10, other_tree.root()).unwrap();
    let mut n = note.clone();
    n.add_signature(cosign(&w, &other, 1_800_000_000));
    assert!(matches!(
        verify_cosignatures(&n, &[w.key()]),
        Err(CosignatureError::BadCosignature { .. })
    ));
    // A truncated one.
    let mut n = note.clone();
    n.add_signature(
        NoteSignature::new(w.name(), good.key_id(), good.signature()[..71].to_vec()).unwrap(),
    );
    assert!(matches!(
        verify_cosignatures(&n, &[w.key()]),
        Err(CosignatureError::BadLength { len: 71, .. })
    ));
}

// ---------------------------------------------------------------- receipts

#[test]
fn receipts_verify_offline_and_round_trip() {
    let (tree, entries) = tree_of(77);
    let key = log_key(1);
    let (c, mut note) = signed_checkpoint(&tree, &key);
    let w = witness(1);
    note.add_signature(cosign(&w, &c, 1_800_000_000));
    let trust = LogTrust::new(ORIGIN, vec![key.verifier()]).with_witnesses(vec![w.key()], 1);
    for index in [0u64, 1, 31, 64, 76] {
        let r = receipt(&tree, &entries, index, &note);
        let v = verify_receipt(&r, &trust).unwrap();
        assert_eq!(v.index, index);
        assert_eq!(v.leaf_hash, leaf_hash(&entries[index as usize]));
        assert_eq!(v.checkpoint.cosignatures.len(), 1);
        assert_eq!(Receipt::from_json(&r.to_json()).unwrap(), r);
        let text = r.to_tlog_proof();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex "));
        assert_eq!(Receipt::from_tlog_proof(r.entry.clone(), &text).unwrap(), r);
        let with_extra = Receipt {
            extra: Some(b"context".to_vec()),
            ..r.clone()
        };
        assert_eq!(
            Receipt::from_tlog_proof(r.entry.clone(), &with_extra.to_tlog_proof()).unwrap(),
            with_extra
        );
        assert_eq!(
            Receipt::from_json(&with_extra.to_json()).unwrap(),
            with_extra
        );
    }
}

#[test]
fn every_tampering_with_a_receipt_is_caught() {
    let (tree, entries) = tree_of(100);
    let key = log_key(1);
    let (_, note) = signed_checkpoint(&tree, &key);
    let trust = LogTrust::new(ORIGIN, vec![key.verifier()]);
    let good = receipt(&tree, &entries, 42, &note);
    verify_receipt(&good, &trust).unwrap();

    let fails = |r: &Receipt| verify_receipt(r, &trust).unwrap_err();
    // The entry, one bit.
    let mut r = good.clone();
    r.entry[0] ^= 1;
    assert!(matches!(
        fails(&r),
        ReceiptError::Inclusion(InclusionError::RootMismatch { .. })
    ));
    // Another entry of the log at this index.
    let mut r = good.clone();
    r.entry = entries[43].clone();
    assert!(matches!(fails(&r), ReceiptError::Inclusion(_)));
    // Another index for this entry.
    for index in [41, 43, 99, 100, u64::MAX] {
        let mut r = good.clone();
        r.index = index;
        assert!(
            matches!(fails(&r), ReceiptError::Inclusion(_)),
            "index {index}"
        );
    }
    // Any bit of any proof hash; a hash dropped, added, swapped.
    for i in 0..good.proof.len() {
        for bit in [0, 7, 255] {
            let mut r = good.clone();
            r.proof[i].0[bit / 8] ^= 1 << (bit % 8);
            assert!(matches!(fails(&r), ReceiptError::Inclusion(_)));
        }
    }
    let mut r = good.clone();
    r.proof.pop();
    assert!(matches!(
        fails(&r),
        ReceiptError::Inclusion(InclusionError::ProofLength { .. })
    ));
    let mut r = good.clone();
    r.proof.push(tree.root());
    assert!(matches!(
        fails(&r),
        ReceiptError::Inclusion(InclusionError::ProofLength { .. })
    ));
    let mut r = good.clone();
    r.proof.swap(0, 1);
    assert!(matches!(fails(&r), ReceiptError::Inclusion(_)));
    // The root (or size) in the checkpoint, changed without the key: the signature.
    let forged =
        good.checkpoint
            .replacen(&tree.root().to_base64(), &leaf_hash(b"x").to_base64(), 1);
    let r = Receipt {
        checkpoint: forged,
        ..good.clone()
    };
    assert!(matches!(
        fails(&r),
        ReceiptError::Checkpoint(TrustError::Note(NoteError::BadSignature { .. }))
    ));
    let r = Receipt {
        checkpoint: good.checkpoint.replacen("\n100\n", "\n101\n", 1),
        ..good.clone()
    };
    assert!(matches!(
        fails(&r),
        ReceiptError::Checkpoint(TrustError::Note(NoteError::BadSignature { .. }))
    ));
    // A root taken from the proof instead of the checkpoint: the receipt has no
    // field for one, and a checkpoint re-signed by anyone else is unknown.
    let mallory = SignerKey::from_seed(ORIGIN, &[66; 32]).unwrap();
    let mut fake = Note::new(
        Checkpoint::new(ORIGIN, 100, leaf_hash(b"x"))
            .unwrap()
            .to_text(),
    )
    .unwrap();
    fake.sign(&mallory);
    let r = Receipt {
        checkpoint: fake.to_string(),
        ..good.clone()
    };
    assert!(matches!(
        fails(&r),
        ReceiptError::Checkpoint(TrustError::Note(NoteError::NoKnownSignature { unknown: 1 }))
    ));
    // A stale (smaller) checkpoint with the proof of the newer tree.
    let (small, _) = tree_of(50);
    let (_, stale) = signed_checkpoint(&small, &key);
    let r = Receipt {
        checkpoint: stale.to_string(),
        ..good.clone()
    };
    assert!(matches!(fails(&r), ReceiptError::Inclusion(_)));
    // Witnesses required but absent.
    let strict = trust.clone().with_witnesses(vec![witness(1).key()], 1);
    assert!(matches!(
        verify_receipt(&good, &strict),
        Err(ReceiptError::Checkpoint(TrustError::Cosignatures(
            CosignatureError::Quorum { got: 0, quorum: 1 }
        )))
    ));
}

#[test]
fn malformed_receipts_say_which_line() {
    let (tree, entries) = tree_of(10);
    let key = log_key(1);
    let (_, note) = signed_checkpoint(&tree, &key);
    let r = receipt(&tree, &entries, 3, &note);
    let text = r.to_tlog_proof();
    let h = r.proof[0].to_base64();
    let line = |t: &str| match Receipt::from_tlog_proof(vec![], t) {
        Err(ReceiptError::Format { line, .. }) => line,
        other => panic!("{t:?}: {other:?}"),
    };
    assert_eq!(line(""), 1);
    assert_eq!(line(&text.replacen("@v1", "@v2", 1)), 1);
    assert_eq!(line("c2sp.org/tlog-proof@v1\n"), 2);
    assert_eq!(line("c2sp.org/tlog-proof@v1\nindex 03\n\n"), 2);
    assert_eq!(line("c2sp.org/tlog-proof@v1\nindex -3\n\n"), 2);
    assert_eq!(line("c2sp.org/tlog-proof@v1\nindex\n\n"), 2);
    assert_eq!(line("c2sp.org/tlog-proof@v1\nextra !!\nindex 3\n\n"), 2);
    assert_eq!(line("c2sp.org/tlog-proof@v1\nextra AA==\nindex x\n\n"), 3);
    assert_eq!(
        line(&format!(
            "c2sp.org/tlog-proof@v1\nindex 3\n{h}\nnot a hash\n\nx"
        )),
        4
    );
    assert_eq!(line(&format!("c2sp.org/tlog-proof@v1\nindex 3\n{h}\n")), 4);
    assert_eq!(
        line(&format!("c2sp.org/tlog-proof@v1\nindex 3\n{h}\n\n")),
        5
    );
    let many = format!(
        "c2sp.org/tlog-proof@v1\nindex 3\n{}\nx",
        format!("{h}\n").repeat(65)
    );
    assert_eq!(line(&many), 67);
    assert!(matches!(
        Receipt::from_json("{}"),
        Err(ReceiptError::Json(_))
    ));
    let mut json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    json["surprise"] = true.into();
    assert!(Receipt::from_json(&json.to_string()).is_err());
}

/// Issue 6: a receipt is at most 2 kB at a billion entries (the entry itself
/// aside, which is up to 64 KiB and the caller's).
#[test]
fn a_receipt_at_a_billion_entries_fits_in_2_kb() {
    const N: u64 = 1_000_000_000;
    // The longest inclusion proof in a tree of 10^9 leaves: ceil(log2(10^9)) = 30.
    let longest = (0..N)
        .step_by(9_765_625)
        .map(|i| inclusion_proof_len(i, N))
        .max()
        .unwrap();
    assert_eq!(longest, 30);
    // Every leaf left of 2^29 has the longest; the last leaf, on the right edge,
    // one per set bit of 10^9 - 1.
    let index = 123_456_789;
    assert_eq!(inclusion_proof_len(index, N), 30);
    assert_eq!(inclusion_proof_len(N - 1, N), 21);

    // The arithmetic, in bytes, for the C2SP tlog-proof text:
    let header = "c2sp.org/tlog-proof@v1\n".len(); // 23
    let index_line = "index 123456789\n".len(); // 16
    let proof = 30 * (44 + 1); // 1350: base64 of 32 bytes and a newline
    let blank = 1;
    let checkpoint = ORIGIN.len() + 1 + "1000000000\n".len() + 44 + 1; // 88
    let sig_line =
        |name: &str, bytes: usize| "— ".len() + name.len() + 1 + bytes.div_ceil(3) * 4 + 1;
    let log_sig = sig_line(ORIGIN, 4 + 64); // 129
    let cosig = sig_line("witness1.example.org", 4 + 8 + 64); // 130
    let without_witnesses = header + index_line + proof + blank + checkpoint + blank + log_sig;
    assert_eq!(without_witnesses, 1608);
    assert_eq!(without_witnesses + 2 * cosig, 1868);
    assert!(without_witnesses + 2 * cosig <= 2000);

    // And measured, on a real receipt with that proof length.
    let key = log_key(1);
    let (w1, w2) = (witness(1), witness(2));
    let proof: Vec<Hash> = (0..30u8).map(|i| Hash([i; 32])).collect();
    let c = Checkpoint::new(ORIGIN, N, Hash([9; 32])).unwrap();
    let mut note = Note::new(c.to_text()).unwrap();
    note.sign(&key);
    note.add_signature(cosign(&w1, &c, 1_800_000_000));
    note.add_signature(cosign(&w2, &c, 1_800_000_000));
    let r = Receipt {
        entry: Vec::new(),
        index,
        proof,
        checkpoint: note.to_string(),
        extra: None,
    };
    let text = r.to_tlog_proof();
    assert_eq!(text.len(), without_witnesses + 2 * cosig);
    let json = r.to_json();
    eprintln!(
        "receipt at 10^9 entries: tlog-proof {} bytes, JSON {} bytes (log signature and two cosignatures, entry aside)",
        text.len(),
        json.len()
    );
    assert!(json.len() <= 2000, "{}", json.len());
}
