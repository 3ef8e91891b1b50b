//! Any bytes as a signed note, a checkpoint, a verifier key, a C2SP tlog-proof and
//! a receipt (airlock-tlog): parsed or rejected, never a panic; whatever parses
//! writes back to the same bytes (checkpoints, tlog-proofs; keys up to the case of
//! the key ID) or to a form that parses to the same value (notes, receipts);
//! verification of whatever parsed never panics.
#![no_main]
use airlock_tlog::{
    Checkpoint, LogTrust, Note, Receipt, SignerKey, VerifierKey, WitnessSigner, verify_receipt,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let log = SignerKey::from_seed("example.com/behind-the-sofa", &[1; 32]).unwrap();
    let witness = WitnessSigner::from_seed("witness.example", &[2; 32]).unwrap();
    let trust = LogTrust::new("example.com/behind-the-sofa", vec![log.verifier()])
        .with_witnesses(vec![witness.key()], 1);

    if let Ok(note) = Note::parse(data) {
        let again = Note::parse(note.to_string().as_bytes()).expect("a parsed note reparses");
        assert_eq!(again, note);
        let _ = note.verify(&[log.verifier()]);
        let _ = airlock_tlog::verify_cosignatures(&note, &[witness.key()]);
        let _ = trust.verify_checkpoint(data);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Checkpoint::parse(text) {
        assert_eq!(c.to_text(), text, "checkpoints parse strictly");
    }
    if let Ok(k) = VerifierKey::parse(text) {
        // The key ID may be written in upper case, as Go accepts; it prints in lower.
        assert!(k.to_string().eq_ignore_ascii_case(text));
        assert_eq!(VerifierKey::parse(&k.to_string()).expect("reparses"), k);
    }
    if let Ok(r) = Receipt::from_tlog_proof(b"entry".to_vec(), text) {
        assert_eq!(r.to_tlog_proof(), text, "tlog-proofs parse strictly");
        let _ = verify_receipt(&r, &trust);
    }
    if let Ok(r) = Receipt::from_json(text) {
        assert_eq!(Receipt::from_json(&r.to_json()).expect("reparses"), r);
        let _ = verify_receipt(&r, &trust);
    }
});
