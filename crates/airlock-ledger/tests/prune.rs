//! Pruning (retention): the bytes of old entries go, every hash stays, so every
//! root and proof still holds; crashes and failures on the way leave a ledger
//! that opens and verifies; tampering is still found.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;
use std::sync::Arc;

use airlock_ledger::fs::{Fault, Fs, MemFs, OsFs, Torn};
use airlock_ledger::{Error, Ledger, Pruned, SignedCheckpoint, read_entries_with, verify_with};
use airlock_tlog::{leaf_hash, verify_consistency, verify_inclusion, verify_receipt};
use common::*;

const DIR: &str = "/l";

fn path(p: &str) -> std::path::PathBuf {
    Path::new(DIR).join(p)
}

/// A ledger of 600 entries on `fs`, with checkpoints signed at 300 and 600.
fn signed_twice(fs: &MemFs) -> (Ledger, SignedCheckpoint, SignedCheckpoint) {
    let l = Ledger::open(DIR, mem_options(fs)).unwrap();
    append_all(&l, (0..300).map(entry));
    let first = l.sign_checkpoint().wait().unwrap();
    append_all(&l, (300..600).map(entry));
    let second = l.sign_checkpoint().wait().unwrap();
    (l, first, second)
}

/// Every inclusion proof (of indexes pruned and kept) and the consistency proof
/// between the two checkpoints verify against their signed roots.
fn assert_proofs_hold(l: &Ledger, first: &SignedCheckpoint, second: &SignedCheckpoint) {
    for (signed, indexes) in [
        (first, &[0u64, 1, 100, 255, 256, 299][..]),
        (second, &[0, 1, 255, 256, 289, 290, 511, 512, 549, 550, 599]),
    ] {
        let (size, root) = (signed.checkpoint.size(), signed.checkpoint.root());
        assert_eq!(l.root(size).unwrap(), *root);
        for &i in indexes {
            let proof = l.inclusion_proof(i, size).unwrap();
            verify_inclusion(i, size, &leaf_hash(&entry(i)), &proof, root)
                .unwrap_or_else(|e| panic!("entry {i} in {size}: {e}"));
        }
    }
    let proof = l.consistency_proof(300, 600).unwrap();
    verify_consistency(
        300,
        600,
        first.checkpoint.root(),
        second.checkpoint.root(),
        &proof,
    )
    .unwrap();
}

#[test]
fn after_pruning_every_root_and_proof_still_holds_and_the_bytes_are_gone() {
    let fs = MemFs::new();
    let (l, first, second) = signed_twice(&fs);
    let trust = l.trust().clone();
    let before = fs.contents(&path("entries")).unwrap();

    // Not on a group boundary: the marker records where entry 290 starts.
    let pruned = l.prune(290).wait().unwrap();
    assert_eq!(
        pruned,
        Pruned {
            below: 290,
            offset: record_offset(290) as u64
        }
    );
    assert_proofs_hold(&l, &first, &second);

    // The bytes below the boundary are zeros; the file keeps its size and the rest.
    let after = fs.contents(&path("entries")).unwrap();
    assert_eq!(after.len(), before.len());
    assert!(after[..record_offset(290)].iter().all(|b| *b == 0));
    assert_eq!(after[record_offset(290)..], before[record_offset(290)..]);
    // The bundle wholly below goes; the one the boundary cuts stays.
    assert!(fs.contents(&path("tile/entries/000")).is_none());
    assert!(fs.contents(&path("tile/entries/001")).is_some());

    // Pruned entries answer so; kept ones read and prove as before.
    for i in [0, 255, 256, 289] {
        assert!(
            matches!(l.entry(i), Err(Error::Pruned { index, below: 290 }) if index == i),
            "entry {i}"
        );
        assert!(matches!(l.receipt(i), Err(Error::Pruned { .. })));
    }
    for i in [290, 291, 511, 512, 599] {
        assert_eq!(l.entry(i).unwrap(), entry(i));
        verify_receipt(&l.receipt(i).unwrap(), &trust).unwrap();
    }

    // Monotonic: less is a no-op; more within the same group walks from the
    // boundary (the records before it are gone).
    assert_eq!(l.prune(100).wait().unwrap().below, 290);
    assert_eq!(l.prune(300).wait().unwrap().below, 300);
    assert_eq!(l.entry(300).unwrap(), entry(300));
    let pruned = l.prune(550).wait().unwrap();
    assert_eq!(pruned.offset, record_offset(550) as u64);
    assert!(fs.contents(&path("tile/entries/001")).is_none());
    assert_eq!(l.entry(550).unwrap(), entry(550));
    assert_proofs_hold(&l, &first, &second);

    drop(l);
    let report = verify_with(&fs, Path::new(DIR), &trust);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.pruned, 550);
    assert_eq!(report.entries, 600);
    assert!(
        report.to_string().contains("550 entries pruned"),
        "{report}"
    );

    // The auditor's reader starts at the first entry kept.
    let mut read = read_entries_with(&fs, Path::new(DIR)).unwrap();
    assert_eq!(read.pruned(), 550);
    assert_eq!(read.next().unwrap().unwrap(), (550, entry(550)));
    assert_eq!(read.count(), 49);
}

#[test]
fn pruning_beyond_the_signed_checkpoint_is_refused_and_changes_nothing() {
    let fs = MemFs::new();
    let l = Ledger::open(DIR, mem_options(&fs)).unwrap();
    append_all(&l, (0..10).map(entry));
    let err = l.prune(1).wait().unwrap_err();
    assert!(
        err.to_string().contains("signed checkpoint covers 0"),
        "{err}"
    );
    l.sign_checkpoint().wait().unwrap();
    append_all(&l, (10..15).map(entry));
    let err = l.prune(11).wait().unwrap_err();
    assert!(matches!(err, Error::NotYet { .. }), "{err}");
    assert!(err.to_string().contains("sign a checkpoint first"), "{err}");
    assert!(fs.contents(&path("pruned")).is_none());
    assert_eq!(l.pruned().below, 0);
    assert_eq!(l.entry(0).unwrap(), entry(0));
    // Exactly the signed size is allowed.
    assert_eq!(l.prune(10).wait().unwrap().below, 10);
}

#[test]
fn appends_signing_and_reopening_continue_after_pruning() {
    let fs = MemFs::new();
    let (l, first, second) = signed_twice(&fs);
    let trust = l.trust().clone();
    l.prune(512).wait().unwrap();
    append_all(&l, (600..900).map(entry));
    let third = l.sign_checkpoint().wait().unwrap();
    assert_eq!(third.checkpoint.size(), 900);
    assert_proofs_hold(&l, &first, &second);
    drop(l);

    let l = Ledger::open(DIR, mem_options(&fs)).unwrap();
    assert_eq!(l.size(), 900);
    assert_eq!(l.pruned().below, 512);
    assert!(matches!(l.entry(511), Err(Error::Pruned { .. })));
    assert_eq!(l.entry(512).unwrap(), entry(512));
    assert_eq!(l.entry(899).unwrap(), entry(899));
    assert_proofs_hold(&l, &first, &second);
    l.prune(900).wait().unwrap();
    append_all(&l, (900..910).map(entry));
    l.sign_checkpoint().wait().unwrap();
    drop(l);
    let report = verify_with(&fs, Path::new(DIR), &trust);
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.pruned, report.entries), (900, 910));
}

#[test]
fn a_crash_at_any_step_of_pruning_leaves_a_ledger_that_opens_and_verifies() {
    for k in 0u64.. {
        let fs = MemFs::new();
        let (l, first, second) = signed_twice(&fs);
        let trust = l.trust().clone();
        fs.set_fault(Fault::CrashAt(k));
        let result = l.prune(300).wait();
        let crashed = fs.has_crashed();
        drop(l);
        if !crashed {
            result.unwrap();
            // The marker (write, sync, rename, sync), the punch, its sync…
            assert!(k > 5, "only {k} steps of pruning could crash");
            break;
        }
        fs.crash(Torn::Garbage, k);
        let l = Ledger::open(DIR, mem_options(&fs)).unwrap();
        // Either nothing is marked pruned, or the marker is whole (the bytes may
        // still be there: harmless).
        let pruned = l.pruned().below;
        assert!(pruned == 0 || pruned == 300, "crash at {k}: {pruned}");
        assert_proofs_hold(&l, &first, &second);
        assert_eq!(l.entry(300).unwrap(), entry(300));
        // Retrying finishes the job.
        l.prune(300).wait().unwrap();
        drop(l);
        let report = verify_with(&fs, Path::new(DIR), &trust);
        assert!(report.is_ok(), "crash at {k}: {report}");
        assert_eq!(report.pruned, 300);
        let bytes = fs.contents(&path("entries")).unwrap();
        assert!(bytes[..record_offset(300)].iter().all(|b| *b == 0));
    }
}

#[test]
fn a_file_system_without_hole_punching_is_reported_and_pruning_can_be_retried() {
    let fs = MemFs::new();
    let (l, first, second) = signed_twice(&fs);
    let trust = l.trust().clone();
    let before = fs.contents(&path("entries")).unwrap();
    fs.set_fault(Fault::NoHolePunch);
    let err = l.prune(300).wait().unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::Unsupported),
        "{err}"
    );
    assert!(err.to_string().contains("can be retried"), "{err}");
    // Nothing freed, but the marker stands: the entries read as pruned.
    assert_eq!(fs.contents(&path("entries")).unwrap(), before);
    assert_eq!(l.pruned().below, 300);
    assert!(matches!(l.entry(0), Err(Error::Pruned { .. })));
    assert!(
        l.failure().is_none(),
        "a failed prune does not stop the ledger"
    );
    assert_proofs_hold(&l, &first, &second);
    assert_eq!(l.append(entry(600)).wait().unwrap(), 600);
    assert!(verify_with(&fs, Path::new(DIR), &trust).is_ok());

    fs.set_fault(Fault::None);
    l.prune(300).wait().unwrap();
    let after = fs.contents(&path("entries")).unwrap();
    assert!(after[..record_offset(300)].iter().all(|b| *b == 0));
    l.sign_checkpoint().wait().unwrap();
    drop(l);
    let report = verify_with(&fs, Path::new(DIR), &trust);
    assert!(report.is_ok(), "{report}");
}

#[test]
fn on_the_real_file_system_pruned_bytes_stop_taking_blocks() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = TempDir::new("prune");
    let opts = options(Arc::new(OsFs));
    let trust = opts.trust();
    let l = Ledger::open(dir.path(), opts).unwrap();
    let n = 4096u64;
    append_all(&l, (0..n).map(|i| format!("{i:>1000}").into_bytes()));
    l.sign_checkpoint().wait().unwrap();
    let entries = dir.path().join("entries");
    let meta = std::fs::metadata(&entries).unwrap();
    let (len, blocks) = (meta.len(), meta.blocks());
    match l.prune(4000).wait() {
        Ok(p) => assert_eq!(p.below, 4000),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::Unsupported => {
            eprintln!("this file system cannot punch holes: {source}; skipping the block count");
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let meta = std::fs::metadata(&entries).unwrap();
    assert_eq!(meta.len(), len, "the file keeps its size");
    // About 4 MB freed of 4.1 MB (blocks are 512 bytes).
    assert!(
        meta.blocks() * 512 < len / 4,
        "{} blocks of 512 bytes before, {} after, for {len} bytes",
        blocks,
        meta.blocks()
    );
    assert_eq!(
        l.entry(4000).unwrap(),
        format!("{:>1000}", 4000).into_bytes()
    );
    drop(l);
    let report = airlock_ledger::verify(dir.path(), &trust);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.pruned, 4000);
}

#[test]
fn tampering_is_still_found_after_pruning() {
    let fs = MemFs::new();
    let (l, _, _) = signed_twice(&fs);
    let trust = l.trust().clone();
    l.prune(512).wait().unwrap();
    drop(l);
    assert!(verify_with(&fs, Path::new(DIR), &trust).is_ok());
    let flip = |file: &str, at: usize| {
        let p = path(file);
        let clean = fs.contents(&p).unwrap();
        let mut bytes = clean.clone();
        bytes[at] ^= 0x10;
        fs.put(&p, &bytes);
        let report = verify_with(&fs, Path::new(DIR), &trust);
        fs.put(&p, &clean);
        report
    };

    // A kept entry: found at that entry.
    let report = flip("entries", record_offset(530) + 6);
    assert_eq!(report.first_bad_index(), Some(530), "{report}");

    // A pruned entry's hash in a level-0 tile: its bytes are gone, so the hash
    // of its group of 256 (level 1) no longer matches: found at the group.
    let report = flip("tile/0/001", 17 * 32 + 3);
    assert_eq!(report.first_bad_index(), Some(256), "{report}");
    assert!(
        report.problems.iter().any(|p| p.what.contains("pruned")),
        "{report}"
    );
    let report = flip("tile/0/000", 5);
    assert_eq!(report.first_bad_index(), Some(0), "{report}");

    // The marker moved: the entries at its offset are not where it says.
    let marker = fs.contents(&path("pruned")).unwrap();
    let text = String::from_utf8(marker.clone()).unwrap();
    fs.put(
        &path("pruned"),
        text.replace("below 512", "below 513").as_bytes(),
    );
    assert!(!verify_with(&fs, Path::new(DIR), &trust).is_ok());
    fs.put(&path("pruned"), &marker);

    // A marker past the signed checkpoint is reported.
    fs.put(
        &path("pruned"),
        text.replace("below 512", "below 601").as_bytes(),
    );
    let report = verify_with(&fs, Path::new(DIR), &trust);
    assert!(
        report.problems.iter().any(|p| p.file.ends_with("pruned")),
        "{report}"
    );
    fs.put(&path("pruned"), &marker);
    assert!(verify_with(&fs, Path::new(DIR), &trust).is_ok());
}

#[test]
fn rebuild_refuses_a_pruned_ledger() {
    let fs = MemFs::new();
    let (l, _, _) = signed_twice(&fs);
    l.prune(10).wait().unwrap();
    drop(l);
    let err = Ledger::rebuild(DIR, Arc::new(fs.clone()) as Arc<dyn Fs>, true).unwrap_err();
    assert!(matches!(err, Error::Refused { .. }), "{err}");
    assert!(err.to_string().contains("pruned"), "{err}");
    // Nothing was touched: the ledger still opens.
    assert!(Ledger::open(DIR, mem_options(&fs)).is_ok());
}
