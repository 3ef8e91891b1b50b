//! The witness over real HTTP on 127.0.0.1: every answer c2sp.org/tlog-witness
//! prescribes, durability across restarts, and serialised updates.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::sync::{Arc, Barrier};

use airlock_tlog::{Checkpoint, Hash, Note, NoteSignature, WitnessKey, verify_cosignatures};
use airlock_witness::protocol::encode_request;
use airlock_witness::{OpenError, WitnessConfig, WitnessServer, state_file_name};
use common::*;

const WITNESS: &str = "witness.example.com/w1";

fn start(dir: &TempDir, log: &TestLog) -> RunningWitness {
    RunningWitness::start(dir.path(), witness_signer(WITNESS, 9), vec![log.config()])
}

/// The cosignatures in a 200 answer that verify with `key` for the checkpoint.
fn verified(checkpoint: &Checkpoint, answer: &str, key: &WitnessKey) -> usize {
    let note = Note::parse(format!("{}\n{answer}", checkpoint.to_text()).as_bytes()).unwrap();
    verify_cosignatures(&note, std::slice::from_ref(key))
        .unwrap()
        .len()
}

#[test]
fn the_first_checkpoint_of_a_log_is_cosigned_from_old_size_zero() {
    let dir = TempDir::new("first");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(5);
    let w = start(&dir, &log);
    let (status, ct, answer) = w.post(log.request(0, 5).as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert!(ct.starts_with("text/plain"), "{ct}");
    assert!(answer.starts_with("— witness.example.com/w1 "), "{answer}");
    assert_eq!(verified(&log.checkpoint(5), &answer, &w.server.key()), 1);
    assert_eq!(w.server.latest(ORIGIN), Some(log.checkpoint(5)));
}

#[test]
fn growth_with_a_valid_proof_is_cosigned_and_the_cosignature_verifies() {
    let dir = TempDir::new("growth");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(3);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 3).as_bytes()).0, 200);
    let mut old = 3;
    for new in [4, 8, 9, 300, 1000] {
        log.grow_to(new);
        let (status, _, answer) = w.post(log.request(old, new).as_bytes());
        assert_eq!(status, 200, "{old} → {new}: {answer}");
        // The whole note, log signature and cosignature, verifies as a verifier
        // requiring this witness would check it.
        let note = format!("{}{answer}", log.note(new));
        let trust = airlock_tlog::LogTrust::new(ORIGIN, vec![log.verifier()])
            .with_witnesses(vec![w.server.key()], 1);
        let v = trust.verify_checkpoint(note.as_bytes()).unwrap();
        assert_eq!(v.cosignatures.len(), 1);
        assert_eq!(v.cosignatures[0].witness, WITNESS);
        old = new;
    }
    assert_eq!(w.server.latest(ORIGIN).unwrap().size(), 1000);
}

#[test]
fn the_same_checkpoint_again_is_cosigned_again() {
    let dir = TempDir::new("again");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(7);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 7).as_bytes()).0, 200);
    let (status, _, answer) = w.post(log.request(7, 7).as_bytes());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(verified(&log.checkpoint(7), &answer, &w.server.key()), 1);
}

#[test]
fn a_rollback_is_refused_and_changes_nothing() {
    let dir = TempDir::new("rollback");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(10);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 10).as_bytes()).0, 200);
    // The size it holds as old, a smaller checkpoint: old > size is a 400.
    let body = encode_request(10, &[], &log.note(6));
    let (status, _, answer) = w.post(body.as_bytes());
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("larger than the checkpoint's size"),
        "{answer}"
    );
    // An honest-looking request from an older size: a conflict, the size held.
    let (status, ct, answer) = w.post(log.request(4, 6).as_bytes());
    assert_eq!(
        (status, ct.as_str(), answer.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    assert_eq!(w.server.latest(ORIGIN), Some(log.checkpoint(10)));
}

#[test]
fn a_wrong_old_size_gets_409_with_the_size_held() {
    let dir = TempDir::new("conflict");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(20);
    let w = start(&dir, &log);
    // Nothing held yet: the size is 0.
    let (status, ct, answer) = w.post(log.request(5, 12).as_bytes());
    assert_eq!(
        (status, ct.as_str(), answer.as_str()),
        (409, "text/x.tlog.size", "0\n")
    );
    assert_eq!(w.post(log.request(0, 12).as_bytes()).0, 200);
    for old in [0, 5, 11, 13] {
        let (status, ct, answer) = w.post(log.request(old, 20).as_bytes());
        assert_eq!(
            (status, ct.as_str(), answer.as_str()),
            (409, "text/x.tlog.size", "12\n"),
            "old {old}"
        );
    }
    // The size the conflict gave works.
    assert_eq!(w.post(log.request(12, 20).as_bytes()).0, 200);
}

#[test]
fn a_proof_that_does_not_verify_gets_422() {
    let dir = TempDir::new("proof");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(9);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 9).as_bytes()).0, 200);
    log.grow_to(30);
    let good = log.proof(9, 30);
    let mut tampered = good.clone();
    tampered[1].0[0] ^= 1;
    let short = good[1..].to_vec();
    let mut long = good.clone();
    long.push(Hash([7; 32]));
    for (name, proof) in [("tampered", tampered), ("short", short), ("long", long)] {
        let (status, _, answer) = w.post(encode_request(9, &proof, &log.note(30)).as_bytes());
        assert_eq!(status, 422, "{name}: {answer}");
        assert!(answer.contains("does not verify"), "{name}: {answer}");
    }
    // Equal sizes need an empty proof.
    let (status, _, _) = w.post(encode_request(9, &[Hash([1; 32])], &log.note(9)).as_bytes());
    assert_eq!(status, 422);
    assert_eq!(w.server.latest(ORIGIN).unwrap().size(), 9);
    assert_eq!(
        w.post(encode_request(9, &good, &log.note(30)).as_bytes()).0,
        200
    );
}

#[test]
fn a_proof_from_size_zero_must_be_empty() {
    let dir = TempDir::new("proof0");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(4);
    let w = start(&dir, &log);
    let (status, _, answer) = w.post(encode_request(0, &[Hash([1; 32])], &log.note(4)).as_bytes());
    assert_eq!(status, 422, "{answer}");
    assert_eq!(w.server.latest(ORIGIN), None);
}

#[test]
fn an_unknown_origin_gets_404() {
    let dir = TempDir::new("unknown");
    let known = TestLog::new(ORIGIN, 1);
    let mut other = TestLog::new("other.example.com/log", 2);
    other.grow_to(3);
    let w = start(&dir, &known);
    let (status, _, answer) = w.post(other.request(0, 3).as_bytes());
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer.contains("does not witness the log \"other.example.com/log\""),
        "{answer}"
    );
}

#[test]
fn a_checkpoint_without_a_good_log_signature_gets_403() {
    let dir = TempDir::new("signature");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(3);
    let w = start(&dir, &log);
    // Signed by another key under the log's name: not a key the witness trusts.
    let impostor = log_key(ORIGIN, 66);
    let body = encode_request(0, &[], &log.note_signed_by(3, &impostor));
    let (status, _, answer) = w.post(body.as_bytes());
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("no signature from a known key"), "{answer}");
    // The trusted key's name and ID, but a signature that does not verify.
    let mut note = Note::new(log.checkpoint(3).to_text()).unwrap();
    note.add_signature(NoteSignature::new(ORIGIN, log.key.key_id(), vec![0; 64]).unwrap());
    let (status, _, answer) = w.post(encode_request(0, &[], &note.to_string()).as_bytes());
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("does not verify"), "{answer}");
    assert_eq!(w.server.latest(ORIGIN), None);
}

#[test]
fn a_fork_is_refused_at_the_same_size_and_beyond() {
    let dir = TempDir::new("fork");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(8);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 8).as_bytes()).0, 200);
    // The same key signs another history.
    let mut fork = TestLog::with_tag(ORIGIN, 1, "forked");
    fork.grow_to(12);
    let (status, ct, answer) = w.post(fork.request(8, 8).as_bytes());
    assert_eq!(status, 409, "{answer}");
    assert!(
        ct.starts_with("text/plain"),
        "a fork is not a size conflict: {ct}"
    );
    assert!(answer.contains("has forked"), "{answer}");
    let (status, _, answer) = w.post(fork.request(8, 12).as_bytes());
    assert_eq!(status, 422, "{answer}");
    assert_eq!(w.server.latest(ORIGIN), Some(log.checkpoint(8)));
}

#[test]
fn the_state_is_persisted_before_answering_and_survives_a_restart() {
    let dir = TempDir::new("restart");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(9);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 5).as_bytes()).0, 200);
    assert_eq!(w.post(log.request(5, 9).as_bytes()).0, 200);
    // On disk as soon as the answer came: the record is the checkpoint.
    let path = dir.path().join(state_file_name(ORIGIN));
    let on_disk = std::fs::read_to_string(&path).unwrap();
    let note = Note::parse(on_disk.as_bytes()).unwrap();
    assert_eq!(Checkpoint::parse(note.text()).unwrap(), log.checkpoint(9));
    drop(w);

    let w = start(&dir, &log);
    assert_eq!(w.server.latest(ORIGIN), Some(log.checkpoint(9)));
    let (status, _, answer) = w.post(log.request(0, 9).as_bytes());
    assert_eq!((status, answer.as_str()), (409, "9\n"));
    let (status, _, answer) = w.post(log.request(5, 9).as_bytes());
    assert_eq!((status, answer.as_str()), (409, "9\n"), "no rollback to 5");
    log.grow_to(15);
    assert_eq!(w.post(log.request(9, 15).as_bytes()).0, 200);
}

#[test]
fn one_witness_process_per_state_directory() {
    let dir = TempDir::new("lock");
    let log = TestLog::new(ORIGIN, 1);
    let config = WitnessConfig {
        signer: witness_signer(WITNESS, 9),
        logs: vec![log.config()],
        state_dir: dir.path().to_path_buf(),
    };
    let first = WitnessServer::open(config.clone()).unwrap();
    assert!(matches!(
        WitnessServer::open(config.clone()),
        Err(OpenError::Locked(_))
    ));
    drop(first);
    WitnessServer::open(config).unwrap();
}

#[test]
fn a_damaged_record_stops_the_witness_from_starting() {
    let dir = TempDir::new("damaged");
    let log = TestLog::new(ORIGIN, 1);
    std::fs::write(dir.path().join(state_file_name(ORIGIN)), "not a note").unwrap();
    let e = WitnessServer::open(WitnessConfig {
        signer: witness_signer(WITNESS, 9),
        logs: vec![log.config()],
        state_dir: dir.path().to_path_buf(),
    })
    .unwrap_err();
    assert!(e.to_string().contains("is damaged"), "{e}");
    assert!(e.to_string().contains("restore it from a backup"), "{e}");
}

#[test]
fn concurrent_adds_for_one_log_never_lose_an_update() {
    let dir = TempDir::new("concurrent");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(400);
    let w = start(&dir, &log);
    assert_eq!(w.post(log.request(0, 10).as_bytes()).0, 200);
    let url = format!("{}/add-checkpoint", w.url());
    let mut held = 10u64;
    for round in 0..10u64 {
        // Eight clients, all from the size held, to eight different sizes: the
        // check and the write are one step, so exactly one can win.
        let bodies: Vec<(u64, String)> = (1..=8u64)
            .map(|k| {
                let new = held + k * (round + 1);
                (new, log.request(held, new))
            })
            .collect();
        let barrier = Arc::new(Barrier::new(bodies.len()));
        let answers: Vec<(u64, (u16, String, String))> = std::thread::scope(|s| {
            let handles: Vec<_> = bodies
                .iter()
                .map(|(new, body)| {
                    let (barrier, url) = (barrier.clone(), url.clone());
                    s.spawn(move || {
                        barrier.wait();
                        (*new, post(&url, body.as_bytes()))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<u64> = answers
            .iter()
            .filter(|(_, (status, _, _))| *status == 200)
            .map(|(new, _)| *new)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        let winner = winners[0];
        for (new, (status, _, body)) in &answers {
            if *new != winner {
                assert_eq!((*status, body.clone()), (409, format!("{winner}\n")));
            }
        }
        assert_eq!(w.server.latest(ORIGIN), Some(log.checkpoint(winner)));
        held = winner;
    }
}

#[test]
fn an_oversized_body_gets_413() {
    let dir = TempDir::new("big");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(2);
    let w = start(&dir, &log);
    let mut body = log.request(0, 2).into_bytes();
    body.resize(airlock_witness::MAX_BODY + 1, b'x');
    let (status, _, answer) = w.post(&body);
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("larger than"), "{answer}");
    assert_eq!(w.post(log.request(0, 2).as_bytes()).0, 200);
}

#[test]
fn malformed_bodies_get_400_with_a_clear_message() {
    let dir = TempDir::new("malformed");
    let mut log = TestLog::new(ORIGIN, 1);
    log.grow_to(3);
    let w = start(&dir, &log);
    let note = log.note(3);
    let mut not_a_checkpoint = Note::new("hello\n").unwrap();
    not_a_checkpoint.sign(&log.key);
    let many = format!(
        "old 1\n{}\n{note}",
        format!("{}\n", Hash([0; 32]).to_base64()).repeat(64)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "ends before"),
        (b"hello".to_vec(), "ends before"),
        (format!("old 3\n{note}").into_bytes(), "is not a hash"),
        (
            format!("new 0\n\n{note}").into_bytes(),
            "first line must be `old <size>`",
        ),
        (
            format!("old 00\n\n{note}").into_bytes(),
            "first line must be `old <size>`",
        ),
        (
            format!("old  1\n\n{note}").into_bytes(),
            "first line must be `old <size>`",
        ),
        (b"old 0\n\n".to_vec(), "checkpoint is missing"),
        (b"old 0\n\nnot a note".to_vec(), "not a signed note"),
        (b"old 0\n\n\xff\xfe\n\n- x\n".to_vec(), "not a signed note"),
        (
            format!("old 0\n\n{}", log.checkpoint(3).to_text()).into_bytes(),
            "not a signed note",
        ),
        (
            format!("old 0\n\n{not_a_checkpoint}").into_bytes(),
            "not a checkpoint",
        ),
        (many.into_bytes(), "more than 63"),
    ];
    for (body, says) in cases {
        let (status, ct, answer) = w.post(&body);
        assert_eq!(
            status,
            400,
            "{:?}: {answer}",
            String::from_utf8_lossy(&body)
        );
        assert!(ct.starts_with("text/plain"), "{ct}");
        assert!(
            answer.contains(says),
            "{:?}: {answer}",
            String::from_utf8_lossy(&body)
        );
    }
    // Still serving, nothing recorded.
    assert_eq!(w.server.latest(ORIGIN), None);
    assert_eq!(w.post(log.request(0, 3).as_bytes()).0, 200);
}

#[test]
fn two_logs_are_kept_apart() {
    let dir = TempDir::new("two");
    let mut a = TestLog::new(ORIGIN, 1);
    let mut b = TestLog::new("Example.COM/other log", 2);
    a.grow_to(5);
    b.grow_to(7);
    let w = RunningWitness::start(
        dir.path(),
        witness_signer(WITNESS, 9),
        vec![a.config(), b.config()],
    );
    assert_eq!(w.post(a.request(0, 5).as_bytes()).0, 200);
    assert_eq!(w.post(b.request(0, 7).as_bytes()).0, 200);
    assert_eq!(w.server.latest(ORIGIN).unwrap().size(), 5);
    assert_eq!(w.server.latest("Example.COM/other log").unwrap().size(), 7);
    assert!(
        dir.path()
            .join("%45xample.%43%4F%4D%2Fother%20log.checkpoint")
            .exists()
    );
}
