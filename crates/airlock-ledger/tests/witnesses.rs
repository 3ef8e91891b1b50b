//! The ledger's side of witnessing, with witnesses in memory: what is sent, the
//! retry after a conflict, which cosignatures count, and the quorum report.
//! (Real witnesses over HTTP: `crates/airlock-witness/tests/ledger.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::sync::{Arc, Mutex};

use airlock_ledger::fs::MemFs;
use airlock_ledger::{AddCheckpoint, Error, Ledger, Witness, WitnessError};
use airlock_tlog::{Checkpoint, Hash, Note, WitnessKey, WitnessSigner, cosign, verify_consistency};
use common::*;

#[derive(Debug)]
enum Mode {
    /// Checks the old size and the proof, as c2sp.org/tlog-witness says.
    Honest,
    /// Always says it holds this size.
    Conflict(u64),
    /// Unreachable.
    Down,
}

#[derive(Debug)]
struct Fake {
    signer: WitnessSigner,
    /// The key the ledger is told to trust for it.
    claimed: WitnessKey,
    mode: Mode,
    held: Mutex<Option<Checkpoint>>,
    /// The old sizes it was sent, in order.
    calls: Mutex<Vec<u64>>,
}

impl Fake {
    fn new(seed: u8, mode: Mode) -> Arc<Fake> {
        let signer =
            WitnessSigner::from_seed(&format!("w{seed}.example.com"), &[seed; 32]).unwrap();
        Arc::new(Fake {
            claimed: signer.key(),
            signer,
            mode,
            held: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<u64> {
        self.calls.lock().unwrap().clone()
    }
}

impl Witness for Fake {
    fn key(&self) -> WitnessKey {
        self.claimed.clone()
    }

    fn location(&self) -> String {
        format!("memory:{}", self.signer.name())
    }

    fn add_checkpoint(
        &self,
        old: u64,
        proof: &[Hash],
        note: &str,
    ) -> Result<AddCheckpoint, WitnessError> {
        self.calls.lock().unwrap().push(old);
        let note = Note::parse(note.as_bytes()).unwrap();
        let c = Checkpoint::parse(note.text()).unwrap();
        match self.mode {
            Mode::Down => return Err(WitnessError("connection refused".into())),
            Mode::Conflict(size) => return Ok(AddCheckpoint::Conflict { size }),
            Mode::Honest => {}
        }
        let mut held = self.held.lock().unwrap();
        let held_size = held.as_ref().map_or(0, Checkpoint::size);
        if old != held_size {
            return Ok(AddCheckpoint::Conflict { size: held_size });
        }
        if let Some(h) = held.as_ref()
            && old > 0
        {
            verify_consistency(old, c.size(), h.root(), c.root(), proof)
                .map_err(|e| WitnessError(format!("HTTP 422: {e}")))?;
        } else if !proof.is_empty() {
            return Err(WitnessError("HTTP 422: a proof from 0 is empty".into()));
        }
        *held = Some(c.clone());
        Ok(AddCheckpoint::Cosigned(vec![cosign(
            &self.signer,
            &c,
            1_700_000_000,
        )]))
    }
}

fn with_witnesses(fs: &MemFs, witnesses: &[Arc<Fake>], quorum: usize) -> Ledger {
    let mut o = mem_options(fs);
    o.witnesses = witnesses
        .iter()
        .map(|w| w.clone() as Arc<dyn Witness>)
        .collect();
    o.witness_quorum = quorum;
    Ledger::open("/ledger", o).unwrap()
}

#[test]
fn without_witnesses_nothing_changes() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/ledger", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..4).map(entry));
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((signed.cosigned, signed.quorum_met), (0, true));
    assert!(signed.witness_errors.is_empty());
    assert_eq!(
        Note::parse(signed.note.as_bytes())
            .unwrap()
            .signatures()
            .len(),
        1
    );
}

#[test]
fn a_quorum_larger_than_the_witnesses_is_refused_on_open() {
    let fs = MemFs::new();
    let mut o = mem_options(&fs);
    o.witnesses = vec![Fake::new(1, Mode::Honest)];
    o.witness_quorum = 2;
    let e = Ledger::open("/ledger", o).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    assert!(e.to_string().contains("could never be met"), "{e}");
}

#[test]
fn each_checkpoint_is_sent_with_a_proof_from_the_size_the_witness_holds() {
    let fs = MemFs::new();
    let w = Fake::new(1, Mode::Honest);
    let ledger = with_witnesses(&fs, std::slice::from_ref(&w), 1);
    for n in [3u64, 4, 17, 256, 300] {
        append_all(&ledger, (ledger.size()..n).map(entry));
        let signed = ledger.sign_checkpoint().wait().unwrap();
        assert_eq!(
            (signed.cosigned, signed.quorum_met),
            (1, true),
            "{:?}",
            signed.witness_errors
        );
    }
    // One call per checkpoint, each from the previous size (the honest fake
    // verified every proof).
    assert_eq!(w.calls(), [0, 3, 4, 17, 256]);
    assert_eq!(w.held.lock().unwrap().as_ref().unwrap().size(), 300);
}

#[test]
fn a_conflict_is_retried_once_from_the_size_the_witness_reports() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/ledger", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..10).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    // Added later: the ledger guesses 10, the witness says 0, the retry works.
    let honest = Fake::new(1, Mode::Honest);
    // Stuck: says 3 whatever is sent, so the retry from 3 fails too.
    let stuck = Fake::new(2, Mode::Conflict(3));
    let ledger = with_witnesses(&fs, &[honest.clone(), stuck.clone()], 1);
    append_all(&ledger, (10..12).map(entry));
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(honest.calls(), [10, 0]);
    assert_eq!(stuck.calls(), [10, 3]);
    assert_eq!((signed.cosigned, signed.quorum_met), (1, true));
    assert_eq!(
        signed.witness_errors.len(),
        1,
        "{:?}",
        signed.witness_errors
    );
    assert!(
        signed.witness_errors[0].contains("w2.example.com")
            && signed.witness_errors[0].contains("still reports a conflict at size 3"),
        "{:?}",
        signed.witness_errors
    );
}

#[test]
fn a_witness_holding_more_than_the_log_signs_is_reported_as_a_rollback() {
    let fs = MemFs::new();
    let ahead = Fake::new(1, Mode::Conflict(1000));
    let ledger = with_witnesses(&fs, std::slice::from_ref(&ahead), 1);
    append_all(&ledger, (0..10).map(entry));
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((signed.cosigned, signed.quorum_met), (0, false));
    let errors = signed.witness_errors.join("\n");
    assert!(errors.contains("it has cosigned 1000 entries"), "{errors}");
    assert!(errors.contains("rolled back or forked"), "{errors}");
    // No proof can be made to a smaller tree: one call, no retry.
    assert_eq!(ahead.calls(), [0]);
    assert!(ledger.failure().is_none());
}

#[test]
fn a_cosignature_that_does_not_verify_with_the_trusted_key_does_not_count() {
    let fs = MemFs::new();
    let impostor = {
        let signer = WitnessSigner::from_seed("w1.example.com", &[66; 32]).unwrap();
        let claimed = WitnessSigner::from_seed("w1.example.com", &[1; 32])
            .unwrap()
            .key();
        Arc::new(Fake {
            signer,
            claimed,
            mode: Mode::Honest,
            held: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
        })
    };
    let ledger = with_witnesses(&fs, &[impostor], 1);
    append_all(&ledger, (0..3).map(entry));
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((signed.cosigned, signed.quorum_met), (0, false));
    assert!(
        signed
            .witness_errors
            .join("\n")
            .contains("no cosignature by its key"),
        "{:?}",
        signed.witness_errors
    );
    // Nothing of the impostor's reached the note.
    assert_eq!(
        Note::parse(signed.note.as_bytes())
            .unwrap()
            .signatures()
            .len(),
        1
    );
}

#[test]
fn two_of_three_meet_a_quorum_of_two_and_the_third_is_reported() {
    let fs = MemFs::new();
    let ws = [
        Fake::new(1, Mode::Honest),
        Fake::new(2, Mode::Down),
        Fake::new(3, Mode::Honest),
    ];
    let ledger = with_witnesses(&fs, &ws, 2);
    append_all(&ledger, (0..5).map(entry));
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((signed.cosigned, signed.quorum_met), (2, true));
    assert_eq!(signed.witness_errors.len(), 1);
    assert!(
        signed.witness_errors[0]
            .contains("w2.example.com (memory:w2.example.com): connection refused")
    );
    // Stored with both cosignatures, read back so on reopening.
    drop(ledger);
    let ledger = with_witnesses(&fs, &ws, 2);
    let stored = ledger.signed().unwrap();
    assert_eq!((stored.cosigned, stored.quorum_met), (2, true));
    assert_eq!(stored.note, signed.note);
}
