//! Tampering with a closed ledger, and what offline verification says: each attack
//! detected, with the first bad index where the damage can be located.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;
use std::sync::Arc;

use airlock_ledger::fs::MemFs;
use airlock_ledger::{Consistency, Ledger, Report, verify_consistent_with, verify_with};
use airlock_tlog::LogTrust;
use common::*;

const N: u64 = 600;
const DIR: &str = "/l";

/// A closed ledger of `N` entries, signed, on a fresh in-memory file system.
fn ledger() -> (MemFs, LogTrust) {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let trust = opts.trust();
    let l = Ledger::open(DIR, opts).unwrap();
    append_all(&l, (0..N).map(entry));
    l.sign_checkpoint().wait().unwrap();
    drop(l);
    let report = check(&fs, &trust);
    assert!(report.is_ok(), "{report}");
    (fs, trust)
}

fn check(fs: &MemFs, trust: &LogTrust) -> Report {
    verify_with(fs, Path::new(DIR), trust)
}

fn path(p: &str) -> std::path::PathBuf {
    Path::new(DIR).join(p)
}

fn edit(fs: &MemFs, file: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let p = path(file);
    let mut bytes = fs.contents(&p).unwrap();
    f(&mut bytes);
    fs.put(&p, &bytes);
}

fn record(i: u64) -> std::ops::Range<usize> {
    record_offset(i)..record_offset(i + 1)
}

fn bad_at(report: &Report, index: u64, file: &str) {
    assert!(!report.is_ok(), "{report}");
    assert_eq!(report.first_bad_index(), Some(index), "{report}");
    let p = report
        .problems
        .iter()
        .find(|p| p.index == Some(index))
        .unwrap();
    assert!(
        p.file.to_string_lossy().contains(file),
        "expected the problem in {file}: {report}"
    );
}

#[test]
fn a_flipped_bit_in_any_entry_byte_is_found_at_that_entry() {
    let (fs, trust) = ledger();
    let clean = fs.contents(&path("entries")).unwrap();
    for i in [0u64, 1, 255, 256, 300, 599] {
        let r = record(i);
        // The length field, the entry, the check value.
        for at in [r.start + 1, r.start + 6, r.end - 1] {
            for bit in [0, 7] {
                let mut bytes = clean.clone();
                bytes[at] ^= 1 << bit;
                fs.put(&path("entries"), &bytes);
                let report = check(&fs, &trust);
                bad_at(&report, i, "entries");
            }
        }
    }
}

#[test]
fn a_flipped_bit_in_a_hash_tile_is_found_at_the_entries_it_covers() {
    let (fs, trust) = ledger();
    for (tile, hash, first) in [
        ("tile/0/000", 17u64, 17u64),
        ("tile/0/001", 0, 256),
        ("tile/0/002.p/88", 87, 599),
        ("tile/1/000.p/2", 1, 256),
    ] {
        let clean = fs.contents(&path(tile)).unwrap();
        edit(&fs, tile, |b| b[hash as usize * 32 + 5] ^= 0x10);
        bad_at(&check(&fs, &trust), first, tile);
        fs.put(&path(tile), &clean);
    }
    assert!(check(&fs, &trust).is_ok());
}

#[test]
fn a_flipped_bit_in_an_entry_bundle_is_found_at_that_entry() {
    let (fs, trust) = ledger();
    // Entry 300 is the 44th of bundle 1: skip 44 length-prefixed entries.
    let at: usize = (256..300).map(|i| entry(i).len() + 2).sum::<usize>() + 2 + 3;
    edit(&fs, "tile/entries/001", |b| b[at] ^= 1);
    bad_at(&check(&fs, &trust), 300, "tile/entries/001");
}

#[test]
fn a_flipped_bit_in_the_offset_index_is_found_at_its_group() {
    let (fs, trust) = ledger();
    // Record 1 of the index: where entry 256 starts.
    edit(&fs, "entries.idx", |b| b[8 + 7] ^= 1);
    bad_at(&check(&fs, &trust), 256, "entries.idx");
}

#[test]
fn a_level_one_tile_is_checked_too() {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let trust = opts.trust();
    let l = Ledger::open(DIR, opts).unwrap();
    let n: u64 = 256 * 256 + 10;
    append_all(&l, (0..n).map(|i| i.to_be_bytes().to_vec()));
    l.sign_checkpoint().wait().unwrap();
    drop(l);
    assert!(check(&fs, &trust).is_ok());
    // Hash 3 of tile 1/000 is the root of entries 768..1024.
    edit(&fs, "tile/1/000", |b| b[3 * 32] ^= 1);
    bad_at(&check(&fs, &trust), 768, "tile/1/000");
}

#[test]
fn a_flipped_bit_in_the_checkpoint_fails_its_signature() {
    let (fs, trust) = ledger();
    let clean = fs.contents(&path("checkpoint")).unwrap();
    // Any byte of the text or the signature.
    for at in (0..clean.len()).step_by(7) {
        let mut bytes = clean.clone();
        bytes[at] ^= 1;
        fs.put(&path("checkpoint"), &bytes);
        let report = check(&fs, &trust);
        assert!(!report.is_ok(), "flip at {at} went unnoticed");
        assert_eq!(report.first_bad_index(), None);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.file.ends_with("checkpoint")),
            "{report}"
        );
    }
}

#[test]
fn a_flipped_bit_in_the_state_file_is_reported() {
    let (fs, trust) = ledger();
    let clean = fs.contents(&path("state")).unwrap();
    for at in 0..clean.len() {
        let mut bytes = clean.clone();
        bytes[at] ^= 1;
        fs.put(&path("state"), &bytes);
        let report = check(&fs, &trust);
        assert!(!report.is_ok(), "flip at {at} of the state went unnoticed");
    }
}

#[test]
fn a_deleted_middle_entry_is_found_where_it_was() {
    let (fs, trust) = ledger();
    edit(&fs, "entries", |b| {
        b.drain(record(300));
    });
    bad_at(&check(&fs, &trust), 300, "tile/");
}

#[test]
fn two_swapped_entries_are_found_at_the_first() {
    let (fs, trust) = ledger();
    edit(&fs, "entries", |b| {
        let first = b[record(300)].to_vec();
        let second = b[record(301)].to_vec();
        let mut swapped = second;
        swapped.extend_from_slice(&first);
        b.splice(record(300).start..record(301).end, swapped);
    });
    bad_at(&check(&fs, &trust), 300, "tile/");
}

#[test]
fn a_duplicated_entry_is_found_at_the_copy() {
    let (fs, trust) = ledger();
    edit(&fs, "entries", |b| {
        let copy = b[record(300)].to_vec();
        b.splice(record(301).start..record(301).start, copy);
    });
    bad_at(&check(&fs, &trust), 301, "tile/");
}

#[test]
fn a_truncated_tail_is_found_where_it_ends() {
    let (fs, trust) = ledger();
    let clean = fs.contents(&path("entries")).unwrap();
    // Cut at a record boundary, and inside a record.
    for (cut, first_bad) in [(record_offset(500), 500), (record_offset(500) + 5, 500)] {
        fs.put(&path("entries"), &clean[..cut]);
        bad_at(&check(&fs, &trust), first_bad, "entries");
    }
    // Zeroed from a record on, the length kept: zeros past the records read as
    // the end of them (the writer fills ahead in zeros), so this is the same cut.
    let mut zeroed = clean.clone();
    zeroed[record_offset(500)..].fill(0);
    fs.put(&path("entries"), &zeroed);
    bad_at(&check(&fs, &trust), 500, "entries");
}

/// Rewrites entry 300 and recomputes every stored hash (tiles, bundles, state)
/// from the edited entries, as an attacker without the log key would.
fn edit_and_recompute(fs: &MemFs) {
    edit(fs, "entries", |b| {
        let mut forged = Vec::new();
        let e = b"entry 300 forged".to_vec();
        forged.extend_from_slice(&(e.len() as u32).to_be_bytes());
        forged.extend_from_slice(&e);
        forged.extend_from_slice(&airlock_tlog::leaf_hash(&e).0[..8]);
        b.splice(record(300), forged);
    });
    Ledger::rebuild(DIR, Arc::new(fs.clone()), true).unwrap();
}

#[test]
fn an_edit_with_every_hash_recomputed_fails_the_signed_root() {
    let (fs, trust) = ledger();
    edit_and_recompute(&fs);
    let report = check(&fs, &trust);
    assert!(!report.is_ok());
    // Entries, tiles and bundles agree with each other; only the signed root
    // shows the change, so the damage cannot be located to an index.
    assert_eq!(report.first_bad_index(), None, "{report}");
    assert!(
        report.problems[0].what.contains("signed checkpoint says"),
        "{report}"
    );
    // The attacker also rewrites the checkpoint's root: the signature fails.
    let new_root = {
        let mut t = airlock_tlog::MemoryTree::new();
        for i in 0..N {
            let e = if i == 300 {
                b"entry 300 forged".to_vec()
            } else {
                entry(i)
            };
            t.push(airlock_tlog::leaf_hash(&e)).unwrap();
        }
        t.root()
    };
    let note = String::from_utf8(fs.contents(&path("checkpoint")).unwrap()).unwrap();
    let mut lines: Vec<&str> = note.split('\n').collect();
    let root_text = new_root.to_base64();
    lines[2] = &root_text;
    fs.put(&path("checkpoint"), lines.join("\n").as_bytes());
    let report = check(&fs, &trust);
    assert!(!report.is_ok());
    assert!(
        report.problems[0].what.contains("does not verify"),
        "{report}"
    );
    // And the ledger refuses to open it.
    assert!(Ledger::open(DIR, mem_options(&fs)).is_err());
}

#[test]
fn a_wrong_key_or_origin_is_refused() {
    let (fs, _) = ledger();
    let stranger = LogTrust::new(ORIGIN, vec![key(9).verifier()]);
    assert!(!check(&fs, &stranger).is_ok());
    let other_origin = LogTrust::new("other.example/log", vec![key(1).verifier()]);
    let report = check(&fs, &other_origin);
    assert!(!report.is_ok());
    assert!(report.to_string().contains("other.example/log"), "{report}");
}

/// A second history sharing the first `shared` entries, signed with the log
/// key (the operator forks the log).
fn fork(shared: u64, total: u64) -> MemFs {
    let fs = MemFs::new();
    let l = Ledger::open(DIR, mem_options(&fs)).unwrap();
    append_all(&l, (0..shared).map(entry));
    append_all(
        &l,
        (shared..total).map(|i| format!("forked {i}").into_bytes()),
    );
    l.sign_checkpoint().wait().unwrap();
    drop(l);
    fs
}

#[test]
fn a_truncated_and_reappended_log_is_a_fork_with_evidence() {
    // The auditor kept the checkpoint at 500.
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let trust = opts.trust();
    let l = Ledger::open(DIR, opts).unwrap();
    append_all(&l, (0..500).map(entry));
    let kept = l.sign_checkpoint().wait().unwrap();
    append_all(&l, (500..N).map(entry));
    l.sign_checkpoint().wait().unwrap();
    drop(l);
    match verify_consistent_with(&fs, &kept.note, Path::new(DIR), &trust).unwrap() {
        Consistency::Consistent { earlier, current } => {
            assert_eq!((earlier.size(), current.size()), (500, N));
        }
        Consistency::Inconsistent(e) => panic!("{}", e.to_text()),
    }
    // The operator cuts the log back to 450 entries and appends others: the
    // result verifies on its own, but not against the checkpoint kept.
    let forked = fork(450, N);
    assert!(check(&forked, &trust).is_ok());
    match verify_consistent_with(&forked, &kept.note, Path::new(DIR), &trust).unwrap() {
        Consistency::Inconsistent(e) => {
            assert_eq!(e.earlier, kept.note);
            assert!(!e.proof.is_empty());
            assert!(e.reason.contains("fork"), "{}", e.reason);
            let text = e.to_text();
            assert!(text.contains(&kept.note) && text.contains(&e.current));
            // The evidence is checkable by anyone with the public key.
            trust.verify_checkpoint(e.earlier.as_bytes()).unwrap();
            trust.verify_checkpoint(e.current.as_bytes()).unwrap();
            let c1 = airlock_tlog::Checkpoint::parse(
                airlock_tlog::Note::parse(e.earlier.as_bytes())
                    .unwrap()
                    .text(),
            )
            .unwrap();
            let c2 = airlock_tlog::Checkpoint::parse(
                airlock_tlog::Note::parse(e.current.as_bytes())
                    .unwrap()
                    .text(),
            )
            .unwrap();
            assert!(
                airlock_tlog::verify_consistency(
                    c1.size(),
                    c2.size(),
                    c1.root(),
                    c2.root(),
                    &e.proof
                )
                .is_err()
            );
        }
        Consistency::Consistent { .. } => panic!("the fork was not detected"),
    }
    // The same size with another root is a fork too.
    let same_size = fork(450, 500);
    assert!(matches!(
        verify_consistent_with(&same_size, &kept.note, Path::new(DIR), &trust).unwrap(),
        Consistency::Inconsistent(_)
    ));
}

#[test]
fn a_stale_checkpoint_replayed_is_a_rollback() {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let trust = opts.trust();
    let l = Ledger::open(DIR, opts).unwrap();
    append_all(&l, (0..300).map(entry));
    let old = l.sign_checkpoint().wait().unwrap();
    append_all(&l, (300..N).map(entry));
    let new = l.sign_checkpoint().wait().unwrap();
    drop(l);
    // The directory's checkpoint is put back to the old one; the auditor has the
    // new one.
    fs.put(&path("checkpoint"), old.note.as_bytes());
    match verify_consistent_with(&fs, &new.note, Path::new(DIR), &trust).unwrap() {
        Consistency::Inconsistent(e) => assert!(e.reason.contains("rollback"), "{}", e.reason),
        Consistency::Consistent { .. } => panic!("the rollback was not detected"),
    }
}

#[test]
fn a_root_taken_from_elsewhere_than_a_signed_checkpoint_is_not_trusted() {
    // A checkpoint whose text is right but unsigned (a root from a proof) does
    // not verify as the earlier checkpoint.
    let (fs, trust) = ledger();
    let note = String::from_utf8(fs.contents(&path("checkpoint")).unwrap()).unwrap();
    let unsigned = note.split("\n\n").next().unwrap().to_string() + "\n\n";
    assert!(verify_consistent_with(&fs, &unsigned, Path::new(DIR), &trust).is_err());
}
