//! A real ledger with real witnesses on loopback: cosignatures and the quorum,
//! a witness down, a witness added later, and an operator's fork refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_ledger::fs::OsFs;
use airlock_ledger::{AddCheckpoint, Ledger, LedgerOptions, Witness};
use airlock_tlog::{Note, verify_receipt};
use airlock_witness::{HttpWitness, LogConfig, WitnessConfig, WitnessServer};
use common::*;

/// Entries of one length, so that record offsets are easy to compute.
fn entry(tag: &str, i: u64) -> Vec<u8> {
    format!("{tag} {i:06}").into_bytes()
}

fn append(ledger: &Ledger, tag: &str, range: std::ops::Range<u64>) {
    let pending: Vec<_> = range.map(|i| ledger.append(entry(tag, i))).collect();
    for p in pending {
        p.wait().unwrap();
    }
}

fn log_config() -> LogConfig {
    LogConfig {
        origin: ORIGIN.to_string(),
        keys: vec![log_key(ORIGIN, 1).verifier()],
    }
}

fn start_witness(dir: &Path, name: &str, seed: u8) -> RunningWitness {
    RunningWitness::start(dir, witness_signer(name, seed), vec![log_config()])
}

fn http(w: &RunningWitness) -> Arc<dyn Witness> {
    Arc::new(HttpWitness::new(&w.url(), w.server.key()).unwrap())
}

fn options(witnesses: Vec<Arc<dyn Witness>>, quorum: usize) -> LedgerOptions {
    let mut o = LedgerOptions::new(ORIGIN, log_key(ORIGIN, 1));
    o.sign_interval = None;
    o.sign_after = None;
    o.witnesses = witnesses;
    o.witness_quorum = quorum;
    o
}

/// A port nothing listens on (taken, then released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn two_witnesses_cosign_every_checkpoint_and_the_quorum_is_met() {
    let (d1, d2, dl) = (
        TempDir::new("w1"),
        TempDir::new("w2"),
        TempDir::new("ledger"),
    );
    let w1 = start_witness(d1.path(), "w1.example.com", 11);
    let w2 = start_witness(d2.path(), "w2.example.com", 12);
    let opts = options(vec![http(&w1), http(&w2)], 2);
    let trust = opts.trust_with_witnesses();
    let ledger = Ledger::open(dl.path(), opts.clone()).unwrap();
    for (from, to) in [(0, 5), (5, 300), (300, 301)] {
        append(&ledger, "entry", from..to);
        let signed = ledger.sign_checkpoint().wait().unwrap();
        assert_eq!(signed.checkpoint.size(), to);
        assert_eq!(signed.cosigned, 2, "{:?}", signed.witness_errors);
        assert!(signed.quorum_met);
        assert!(
            signed.witness_errors.is_empty(),
            "{:?}",
            signed.witness_errors
        );
        let v = trust.verify_checkpoint(signed.note.as_bytes()).unwrap();
        assert_eq!(v.cosignatures.len(), 2);
        // The witnesses hold what they cosigned.
        assert_eq!(w1.server.latest(ORIGIN), Some(signed.checkpoint.clone()));
        assert_eq!(w2.server.latest(ORIGIN), Some(signed.checkpoint.clone()));
    }
    // Receipts carry the cosigned checkpoint; the file on disk does too.
    verify_receipt(&ledger.receipt(42).unwrap(), &trust).unwrap();
    let on_disk = std::fs::read_to_string(dl.path().join("checkpoint")).unwrap();
    trust.verify_checkpoint(on_disk.as_bytes()).unwrap();
    // Reopened, the ledger reads the quorum from the stored note.
    drop(ledger);
    let ledger = Ledger::open(dl.path(), opts).unwrap();
    let signed = ledger.signed().unwrap();
    assert_eq!((signed.cosigned, signed.quorum_met), (2, true));
    append(&ledger, "entry", 301..310);
    assert_eq!(ledger.sign_checkpoint().wait().unwrap().cosigned, 2);
}

#[test]
fn with_one_witness_down_the_missing_quorum_is_reported_and_recovered_later() {
    let (d1, d2, dl) = (
        TempDir::new("up"),
        TempDir::new("down"),
        TempDir::new("ledger"),
    );
    let w1 = start_witness(d1.path(), "w1.example.com", 11);
    let port = free_port();
    let w2_signer = witness_signer("w2.example.com", 12);
    let w2_url = format!("http://127.0.0.1:{port}");
    let down: Arc<dyn Witness> = Arc::new(
        HttpWitness::new(&w2_url, w2_signer.key())
            .unwrap()
            .with_timeout(Duration::from_secs(5)),
    );
    let opts = options(vec![http(&w1), down], 2);
    let ledger = Ledger::open(dl.path(), opts.clone()).unwrap();
    append(&ledger, "entry", 0..20);
    let signed = ledger.sign_checkpoint().wait().unwrap();
    // Signed by the log and stored (the entries are durable and it is
    // consistent), but not witnessed enough: reported, not hidden.
    assert_eq!(signed.checkpoint.size(), 20);
    assert_eq!(signed.cosigned, 1);
    assert!(!signed.quorum_met);
    let errors = signed.witness_errors.join("\n");
    assert!(errors.contains("1 of the 2 witnesses required"), "{errors}");
    assert!(errors.contains(&w2_url), "{errors}");
    assert!(errors.contains("cannot reach"), "{errors}");
    assert_eq!(ledger.signed(), Some(signed.clone()));
    assert!(
        ledger.failure().is_none(),
        "a witness down never stops the ledger"
    );
    opts.trust()
        .verify_checkpoint(signed.note.as_bytes())
        .unwrap();
    assert!(
        opts.trust_with_witnesses()
            .verify_checkpoint(signed.note.as_bytes())
            .is_err()
    );
    assert_eq!(*signed.checkpoint.root(), ledger.root(20).unwrap());
    // Nothing unsigned went anywhere: the witness that answered holds exactly
    // the log-signed checkpoint.
    assert_eq!(w1.server.latest(ORIGIN), Some(signed.checkpoint.clone()));

    // The witness comes back: asking again with nothing new to sign completes
    // the quorum on the same checkpoint, recorded on disk.
    let w2 = RunningWitness::serve_on(
        WitnessServer::open(WitnessConfig {
            signer: w2_signer,
            logs: vec![log_config()],
            state_dir: d2.path().to_path_buf(),
        })
        .unwrap(),
        &format!("127.0.0.1:{port}"),
    );
    let again = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(again.checkpoint, signed.checkpoint);
    assert_eq!(
        (again.cosigned, again.quorum_met),
        (2, true),
        "{:?}",
        again.witness_errors
    );
    let on_disk = std::fs::read_to_string(dl.path().join("checkpoint")).unwrap();
    opts.trust_with_witnesses()
        .verify_checkpoint(on_disk.as_bytes())
        .unwrap();
    append(&ledger, "entry", 20..40);
    let next = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((next.cosigned, next.quorum_met), (2, true));
    assert_eq!(w2.server.latest(ORIGIN).unwrap().size(), 40);
}

#[test]
fn a_witness_added_later_catches_up_through_a_conflict() {
    let (dw, dl) = (TempDir::new("later"), TempDir::new("ledger"));
    let ledger = Ledger::open(dl.path(), options(Vec::new(), 0)).unwrap();
    append(&ledger, "entry", 0..10);
    let plain = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((plain.cosigned, plain.quorum_met), (0, true));
    drop(ledger);

    let w = start_witness(dw.path(), "w1.example.com", 11);
    let ledger = Ledger::open(dl.path(), options(vec![http(&w)], 1)).unwrap();
    let stored = ledger.signed().unwrap();
    assert!(!stored.quorum_met);
    assert!(
        stored.witness_errors[0].contains("0 cosignatures"),
        "{:?}",
        stored.witness_errors
    );
    // The ledger guesses the witness saw size 10; it says 0; the retry from 0 is
    // accepted (a witness trusts a log's first checkpoint).
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(
        (signed.cosigned, signed.quorum_met),
        (1, true),
        "{:?}",
        signed.witness_errors
    );
    append(&ledger, "entry", 10..25);
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(
        (signed.cosigned, signed.quorum_met),
        (1, true),
        "{:?}",
        signed.witness_errors
    );
    assert_eq!(w.server.latest(ORIGIN).unwrap().size(), 25);
}

#[test]
fn an_operator_who_truncates_the_ledger_and_appends_again_gets_no_cosignature() {
    let (dw, dl) = (TempDir::new("fork-w"), TempDir::new("fork-ledger"));
    let w = start_witness(dw.path(), "w1.example.com", 11);
    let opts = options(vec![http(&w)], 1);
    let ledger = Ledger::open(dl.path(), opts.clone()).unwrap();
    append(&ledger, "entry", 0..5);
    let honest = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((honest.cosigned, honest.quorum_met), (1, true));
    drop(ledger);

    // The operator cuts the last two entries off, removes the checkpoint the
    // ledger would refuse to open against, rebuilds the derived files and
    // appends other entries: the log key signs another history.
    let record = (entry("entry", 0).len() + 12) as u64;
    let entries = std::fs::OpenOptions::new()
        .write(true)
        .open(dl.path().join("entries"))
        .unwrap();
    entries.set_len(3 * record).unwrap();
    drop(entries);
    std::fs::remove_file(dl.path().join("checkpoint")).unwrap();
    Ledger::rebuild(dl.path(), Arc::new(OsFs), true).unwrap();
    let ledger = Ledger::open(dl.path(), opts.clone()).unwrap();
    assert_eq!(ledger.size(), 3);
    append(&ledger, "forged", 3..5);

    // The same size, another root: the witness calls it a fork.
    let forked = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(forked.checkpoint.size(), 5);
    assert_ne!(forked.checkpoint.root(), honest.checkpoint.root());
    assert_eq!((forked.cosigned, forked.quorum_met), (0, false));
    let errors = forked.witness_errors.join("\n");
    assert!(errors.contains("has forked"), "{errors}");
    assert!(
        opts.trust_with_witnesses()
            .verify_checkpoint(forked.note.as_bytes())
            .is_err()
    );
    // Growing the fork does not help: no proof leads from the witnessed root.
    append(&ledger, "forged", 5..9);
    let grown = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!((grown.cosigned, grown.quorum_met), (0, false));
    let errors = grown.witness_errors.join("\n");
    assert!(
        errors.contains("HTTP 422") && errors.contains("does not verify"),
        "{errors}"
    );
    // The witness still holds the honest checkpoint.
    assert_eq!(w.server.latest(ORIGIN), Some(honest.checkpoint));
}

#[test]
fn the_client_verifies_what_the_witness_answers() {
    let dw = TempDir::new("client");
    let w = start_witness(dw.path(), "w1.example.com", 11);
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(6);
    let client = HttpWitness::new(&w.url(), w.server.key()).unwrap();
    // A conflict is an answer, not an error.
    assert_eq!(
        client.add_checkpoint(3, &log.proof(3, 6), &log.note(6)),
        Ok(AddCheckpoint::Conflict { size: 0 })
    );
    let AddCheckpoint::Cosigned(lines) = client.add_checkpoint(0, &[], &log.note(6)).unwrap()
    else {
        panic!("not cosigned");
    };
    let mut note = Note::parse(log.note(6).as_bytes()).unwrap();
    for l in lines {
        note.add_signature(l);
    }
    assert_eq!(
        airlock_tlog::verify_cosignatures(&note, &[w.server.key()])
            .unwrap()
            .len(),
        1
    );
    // Trusting another key for this witness: its answer is refused.
    let impostor = HttpWitness::new(&w.url(), witness_signer("w1.example.com", 99).key()).unwrap();
    let e = impostor.add_checkpoint(6, &[], &log.note(6)).unwrap_err();
    assert!(e.0.contains("no cosignature by the witness key"), "{e}");
    // A refusal carries the witness's reason.
    let mut other = TestLog::new("other.example.com/log", 2);
    other.grow_to(1);
    let e = client.add_checkpoint(0, &[], &other.note(1)).unwrap_err();
    assert!(
        e.0.contains("HTTP 404") && e.0.contains("does not witness"),
        "{e}"
    );
    assert!(HttpWitness::new("ftp://x", w.server.key()).is_err());
}

#[test]
fn a_witness_that_never_answers_times_out() {
    // Accepted by the kernel's backlog, never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(1);
    let client = HttpWitness::new(&url, witness_signer("w", 1).key())
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let e = client.add_checkpoint(0, &[], &log.note(1)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{e}");
    assert!(e.0.contains("cannot reach"), "{e}");
}
