//! The ledger's behaviour: appends, signatures, proofs, receipts, reopening,
//! the lock, failures that stop it, and restores from old backups.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;
use std::sync::Arc;

use airlock_ledger::fs::{Fault, MemFs, OsFs};
use airlock_ledger::{
    Error, FileCheckpointStore, Ledger, LedgerOptions, MAX_ENTRY, verify, verify_with,
};
use airlock_tlog::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash, verify_receipt};
use common::*;

fn model(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(leaf_hash(&entry(i))).unwrap();
    }
    t
}

#[test]
fn appends_sign_prove_and_verify_on_disk() {
    let dir = TempDir::new("basic");
    let opts = options(Arc::new(OsFs));
    let trust = opts.trust();
    let ledger = Ledger::open(dir.path(), opts.clone()).unwrap();
    let n = 600u64;
    let indices = append_all(&ledger, (0..n).map(entry));
    assert_eq!(indices, (0..n).collect::<Vec<_>>());
    let tree = model(n);
    // Proofs of the unsigned tail come from memory.
    assert_eq!(
        ledger.inclusion_proof(5, n).unwrap(),
        inclusion_proof(&tree, 5, n).unwrap()
    );
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(signed.checkpoint.size(), n);
    assert_eq!(*signed.checkpoint.root(), tree.root());
    // The C2SP layout: two full level-0 tiles and a partial one, bundles alike.
    let d = dir.path();
    for p in [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/002.p/88",
        "checkpoint",
        "state",
        "entries",
        "entries.idx",
    ] {
        assert!(d.join(p).exists(), "{p} is missing");
    }
    assert_eq!(std::fs::read(d.join("tile/0/001")).unwrap().len(), 8192);
    // Proofs now come from the tiles; more entries go on in memory.
    append_all(&ledger, (n..n + 100).map(entry));
    let tree = model(n + 100);
    for (i, size) in [(0, n), (300, n), (599, n), (650, n + 100), (17, n + 50)] {
        assert_eq!(
            ledger.inclusion_proof(i, size).unwrap(),
            inclusion_proof(&tree, i, size).unwrap(),
            "{i} in {size}"
        );
    }
    for (a, b) in [(1, n), (256, n), (300, n + 100), (n, n + 100)] {
        assert_eq!(
            ledger.consistency_proof(a, b).unwrap(),
            consistency_proof(&tree, a, b).unwrap()
        );
    }
    for i in [0, 255, 256, 599] {
        let r = ledger.receipt(i).unwrap();
        assert_eq!(r.entry, entry(i));
        verify_receipt(&r, &trust).unwrap();
    }
    assert!(matches!(ledger.receipt(650), Err(Error::NotYet { .. })));
    assert_eq!(ledger.entry(650).unwrap(), entry(650));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    let report = verify(d, &trust);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.entries, n + 100);

    // Reopening finds everything, proofs and all.
    let ledger = Ledger::open(d, opts).unwrap();
    assert_eq!(ledger.size(), n + 100);
    assert_eq!(ledger.recovery().replayed, 0);
    assert_eq!(ledger.root(n + 100).unwrap(), tree.root());
    assert_eq!(ledger.entry(3).unwrap(), entry(3));
}

#[test]
fn without_entry_bundles_entries_are_found_through_the_index() {
    let fs = MemFs::new();
    let mut opts = mem_options(&fs);
    opts.entry_bundles = false;
    let trust = opts.trust();
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    append_all(&ledger, (0..700).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    assert!(fs.list(Path::new("/l/tile/entries")).is_empty());
    assert_eq!(
        fs.contents(Path::new("/l/entries.idx")).unwrap().len(),
        3 * 8
    );
    for i in [0, 1, 255, 256, 511, 512, 699] {
        assert_eq!(ledger.entry(i).unwrap(), entry(i));
        verify_receipt(&ledger.receipt(i).unwrap(), &trust).unwrap();
    }
    drop(ledger);
    let report = verify_with(&fs, Path::new("/l"), &trust);
    assert!(report.is_ok(), "{report}");
    let ledger = Ledger::open("/l", opts).unwrap();
    assert_eq!(ledger.entry(600).unwrap(), entry(600));
}

#[test]
fn the_unsigned_tail_is_replayed_on_open() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..300).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    append_all(&ledger, (300..333).map(entry));
    drop(ledger);
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    assert_eq!(ledger.size(), 333);
    assert_eq!(ledger.recovery().replayed, 33);
    assert_eq!(ledger.recovery().truncated, None);
    let tree = model(333);
    assert_eq!(ledger.root(333).unwrap(), tree.root());
    let signed = ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(*signed.checkpoint.root(), tree.root());
}

#[test]
fn key_rotation_signs_with_every_key() {
    let fs = MemFs::new();
    let mut opts = mem_options(&fs);
    opts.signers.push(key(2));
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    append_all(&ledger, (0..3).map(entry));
    let signed = ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    // Each key alone verifies the checkpoint.
    for k in [key(1), key(2)] {
        let trust = airlock_tlog::LogTrust::new(ORIGIN, vec![k.verifier()]);
        trust.verify_checkpoint(signed.note.as_bytes()).unwrap();
    }
    // After the rotation the old key is only trusted, no longer used.
    let mut rotated = mem_options(&fs);
    rotated.signers = vec![key(2)];
    rotated.trusted = vec![key(1).verifier()];
    let ledger = Ledger::open("/l", rotated).unwrap();
    append_all(&ledger, [entry(3)]);
    let signed = ledger.sign_checkpoint().wait().unwrap();
    let old_only = airlock_tlog::LogTrust::new(ORIGIN, vec![key(1).verifier()]);
    assert!(old_only.verify_checkpoint(signed.note.as_bytes()).is_err());
}

#[test]
fn automatic_signing_by_count_and_by_time() {
    let fs = MemFs::new();
    let mut opts = mem_options(&fs);
    opts.sign_after = Some(10);
    let ledger = Ledger::open("/l", opts).unwrap();
    append_all(&ledger, (0..10).map(entry));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ledger.signed().map(|s| s.checkpoint.size()) != Some(10) {
        assert!(
            std::time::Instant::now() < deadline,
            "no automatic signature"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    drop(ledger);
    let mut opts = mem_options(&fs);
    opts.sign_interval = Some(std::time::Duration::from_millis(20));
    let ledger = Ledger::open("/l", opts).unwrap();
    append_all(&ledger, (10..13).map(entry));
    while ledger.signed().map(|s| s.checkpoint.size()) != Some(13) {
        assert!(std::time::Instant::now() < deadline, "no timed signature");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn too_large_entries_are_refused_and_the_ledger_goes_on() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    let err = ledger.append(vec![0u8; MAX_ENTRY + 1]).wait().unwrap_err();
    assert!(matches!(err, Error::EntryTooLarge { len } if len == MAX_ENTRY + 1));
    assert!(err.to_string().contains("at most 65535 bytes"), "{err}");
    // The largest entry fits, in the entries file and in a bundle.
    assert_eq!(ledger.append(vec![7u8; MAX_ENTRY]).wait().unwrap(), 0);
    assert_eq!(ledger.append(Vec::new()).wait().unwrap(), 1);
    ledger.sign_checkpoint().wait().unwrap();
    assert_eq!(ledger.entry(0).unwrap().len(), MAX_ENTRY);
    assert_eq!(ledger.receipt(1).unwrap().entry, b"");
    assert!(ledger.failure().is_none());
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let dir = TempDir::new("lock");
    let opts = options(Arc::new(OsFs));
    let first = Ledger::open(dir.path(), opts.clone()).unwrap();
    let err = Ledger::open(dir.path(), opts.clone()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another writer"), "{err}");
    // Rebuilding needs the lock too.
    assert!(matches!(
        Ledger::rebuild(dir.path(), Arc::new(OsFs), true),
        Err(Error::Locked { .. })
    ));
    drop(first);
    let second = Ledger::open(dir.path(), opts).unwrap();
    assert_eq!(second.size(), 0);
}

#[test]
fn a_failed_fsync_stops_the_ledger_for_good() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..5).map(entry));
    fs.set_fault(Fault::FailSyncOnce);
    let err = ledger.append(entry(5)).wait().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Stopped { .. }), "{text}");
    assert!(text.contains("fsync") && text.contains("stopped"), "{text}");
    // The disk works again, but the ledger never retries after a failed fsync.
    for i in 6..9 {
        let err = ledger.append(entry(i)).wait().unwrap_err();
        assert!(err.to_string().contains("fsync"), "{err}");
    }
    let err = ledger.sign_checkpoint().wait().unwrap_err();
    assert!(matches!(err, Error::Stopped { .. }), "{err}");
    assert_eq!(ledger.size(), 5);
    // Reads still work.
    assert_eq!(ledger.entry(4).unwrap(), entry(4));
    assert!(ledger.failure().is_some());
}

#[test]
fn a_full_disk_stops_the_ledger() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..5).map(entry));
    fs.set_fault(Fault::DiskFull(1000));
    let pending: Vec<_> = (0..50)
        .map(|i| ledger.append(vec![b'x'; 100 + i]))
        .collect();
    let results: Vec<_> = pending.into_iter().map(|p| p.wait()).collect();
    let first_err = results
        .iter()
        .position(Result::is_err)
        .expect("the disk filled");
    assert!(results[first_err..].iter().all(Result::is_err));
    let msg = results[first_err].as_ref().unwrap_err().to_string();
    assert!(
        msg.contains("no space left on device") && msg.contains("stopped"),
        "{msg}"
    );
    let err = ledger.sign_checkpoint().wait().unwrap_err();
    assert!(err.to_string().contains("no space left"), "{err}");
    // Everything acknowledged is still there after a restart.
    let acked = 5 + first_err as u64;
    drop(ledger);
    fs.crash(airlock_ledger::fs::Torn::Garbage, 7);
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    assert!(ledger.size() >= acked);
    for i in 0..5 {
        assert_eq!(ledger.entry(i).unwrap(), entry(i));
    }
}

#[test]
fn a_failure_while_signing_stops_the_ledger() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..300).map(entry));
    fs.set_fault(Fault::FailSyncOnce);
    let err = ledger.sign_checkpoint().wait().unwrap_err();
    assert!(matches!(err, Error::Stopped { .. }), "{err}");
    assert!(ledger.append(entry(300)).wait().is_err());
}

fn external_options(fs: &MemFs) -> LedgerOptions {
    let mut o = mem_options(fs);
    o.checkpoint_store = Some(Arc::new(FileCheckpointStore::with_fs(
        Arc::new(fs.clone()),
        "/elsewhere/checkpoint",
    )));
    o
}

/// Copies every file under `from` on `src` to `to` on `dst` (a backup, or its
/// restore).
fn copy_tree(src: &MemFs, from: &str, dst: &MemFs, to: &str) {
    for p in src.list(Path::new(from)) {
        let rel = p.strip_prefix(from).unwrap();
        dst.put(&Path::new(to).join(rel), &src.contents(&p).unwrap());
    }
}

#[test]
fn a_restore_from_an_old_backup_is_refused() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", external_options(&fs)).unwrap();
    append_all(&ledger, (0..10).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    let backup = MemFs::new();
    copy_tree(&fs, "/l", &backup, "/l");
    let ledger = Ledger::open("/l", external_options(&fs)).unwrap();
    append_all(&ledger, (10..20).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    // Restore the old directory: it has 10 entries, the last signed checkpoint 20.
    let restored = MemFs::new();
    copy_tree(&backup, "/l", &restored, "/l");
    copy_tree(&fs, "/elsewhere", &restored, "/elsewhere");
    let err = Ledger::open("/l", external_options(&restored)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Refused { .. }), "{msg}");
    assert!(msg.contains("old backup") && msg.contains("20"), "{msg}");
    // Without the outside record there is nothing to compare with, and the
    // restored directory opens: that is why the record belongs outside it.
    let ledger = Ledger::open("/l", mem_options(&restored)).unwrap();
    assert_eq!(ledger.size(), 10);
}

#[test]
fn a_torn_tail_is_cut_back_to_the_last_whole_record() {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    append_all(&ledger, (0..20).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    append_all(&ledger, (20..25).map(entry));
    drop(ledger);
    let entries = Path::new("/l/entries");
    let written = fs.contents(entries).unwrap();
    let whole = record_offset(25);
    // The records, then the zeros the writer filled ahead of them.
    assert!(written.len() > whole, "{}", written.len());
    assert!(written[whole..].iter().all(|b| *b == 0));
    let clean = written[..whole].to_vec();
    // Half a record, then garbage.
    let mut torn = clean.clone();
    torn.extend_from_slice(&clean[record_offset(3)..record_offset(3) + 9]);
    torn.extend_from_slice(b"\xff\x00garbage");
    fs.put(entries, &torn);
    // Offline, it is an unfinished tail past what is signed, not damage.
    let report = verify_with(&fs, Path::new("/l"), &opts.trust());
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        report.unfinished_tail,
        Some((whole as u64, (torn.len() - whole) as u64))
    );
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    let r = ledger.recovery().clone();
    assert_eq!(r.entries, 25);
    assert_eq!(r.replayed, 5);
    let (offset, bytes, why) = r.truncated.unwrap();
    assert_eq!((offset, bytes), (whole as u64, (torn.len() - whole) as u64));
    assert!(
        why.contains("check value") || why.contains("ends inside"),
        "{why}"
    );
    assert_eq!(fs.contents(entries).unwrap(), clean);
    assert_eq!(ledger.append(entry(25)).wait().unwrap(), 25);
}

/// The zeros the writer fills ahead of its appends are the end of the records:
/// reopening keeps them (nothing cut, nothing reported) and the next appends
/// overwrite them. Any other byte there makes them a torn tail like any other.
#[test]
fn the_zeros_filled_ahead_end_the_records_and_a_byte_among_them_is_a_torn_tail() {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    append_all(&ledger, (0..20).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    let entries = Path::new("/l/entries");
    let written = fs.contents(entries).unwrap();
    let whole = record_offset(20);
    assert!(written[whole..].iter().all(|b| *b == 0) && written.len() > whole);

    let report = verify_with(&fs, Path::new("/l"), &opts.trust());
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.unfinished_tail, None, "zeros are not a torn tail");
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    assert_eq!(ledger.recovery().truncated, None);
    assert_eq!(ledger.size(), 20);
    assert_eq!(ledger.append(entry(20)).wait().unwrap(), 20);
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    let after = fs.contents(entries).unwrap();
    assert_eq!(after.len(), written.len(), "written into the filled space");
    assert!(verify_with(&fs, Path::new("/l"), &opts.trust()).is_ok());

    // One byte set far into the zeros: a torn tail, reported and cut.
    let end = record_offset(21);
    assert!(fs.flip(entries, end + 5000, 0x01));
    let report = verify_with(&fs, Path::new("/l"), &opts.trust());
    assert_eq!(
        report.unfinished_tail,
        Some((end as u64, (after.len() - end) as u64)),
        "{report}"
    );
    let ledger = Ledger::open("/l", opts).unwrap();
    assert_eq!(ledger.size(), 21);
    assert_eq!(
        ledger.recovery().truncated.as_ref().map(|t| t.0),
        Some(end as u64)
    );
}

#[test]
fn a_bit_flipped_on_disk_before_signing_is_never_signed() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&fs)).unwrap();
    append_all(&ledger, (0..10).map(entry));
    let first = ledger.sign_checkpoint().wait().unwrap();
    append_all(&ledger, (10..20).map(entry));
    // The bytes of entry 15 go bad after they were hashed and written.
    assert!(fs.flip(Path::new("/l/entries"), record_offset(15) + 6, 0x04));
    let err = ledger.sign_checkpoint().wait().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Stopped { .. }), "{msg}");
    assert!(
        msg.contains("entry 15") && msg.contains("refusing to sign"),
        "{msg}"
    );
    assert_eq!(ledger.signed(), Some(first.clone()));
    assert!(ledger.append(entry(20)).wait().is_err());
    drop(ledger);
    // Nothing past the first checkpoint was signed.
    let note = fs.contents(Path::new("/l/checkpoint")).unwrap();
    assert_eq!(note, first.note.as_bytes());
}

#[test]
fn a_directory_with_another_history_is_refused() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", external_options(&fs)).unwrap();
    append_all(&ledger, (0..10).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    // Another directory of ten different entries, same key, same outside record.
    let other = MemFs::new();
    let ledger = Ledger::open("/l", mem_options(&other)).unwrap();
    append_all(&ledger, (100..110).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    for p in other.list(Path::new("/l")) {
        fs.put(&p, &other.contents(&p).unwrap());
    }
    let err = Ledger::open("/l", external_options(&fs)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("disagree") || msg.contains("root"), "{msg}");
}

#[test]
fn a_rolled_back_checkpoint_store_is_refused() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", external_options(&fs)).unwrap();
    append_all(&ledger, (0..3).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    let old = fs.contents(Path::new("/elsewhere/checkpoint")).unwrap();
    append_all(&ledger, (3..6).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    fs.put(Path::new("/elsewhere/checkpoint"), &old);
    let err = Ledger::open("/l", external_options(&fs)).unwrap_err();
    assert!(err.to_string().contains("rolled back"), "{err}");
}

#[test]
fn another_writer_signing_through_the_store_stops_the_ledger() {
    let fs = MemFs::new();
    let ledger = Ledger::open("/l", external_options(&fs)).unwrap();
    append_all(&ledger, (0..3).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    // Someone else swaps the record behind the ledger's back.
    let other = MemFs::new();
    let l2 = Ledger::open("/x", mem_options(&other)).unwrap();
    append_all(&l2, (0..4).map(entry));
    let foreign = l2.sign_checkpoint().wait().unwrap();
    fs.put(Path::new("/elsewhere/checkpoint"), foreign.note.as_bytes());
    append_all(&ledger, [entry(3)]);
    let err = ledger.sign_checkpoint().wait().unwrap_err();
    assert!(err.to_string().contains("another writer"), "{err}");
    assert!(ledger.append(entry(4)).wait().is_err());
}

#[test]
fn a_damaged_state_or_tile_is_refused_and_rebuild_repairs_it() {
    let fs = MemFs::new();
    let opts = mem_options(&fs);
    let trust = opts.trust();
    let ledger = Ledger::open("/l", opts.clone()).unwrap();
    append_all(&ledger, (0..300).map(entry));
    ledger.sign_checkpoint().wait().unwrap();
    drop(ledger);
    let state = fs.contents(Path::new("/l/state")).unwrap();
    fs.put(Path::new("/l/state"), b"garbage");
    let err = Ledger::open("/l", opts.clone()).unwrap_err();
    assert!(err.to_string().contains("rebuild"), "{err}");
    assert!(!verify_with(&fs, Path::new("/l"), &trust).is_ok());
    let rebuilt = Ledger::rebuild("/l", Arc::new(fs.clone()), true).unwrap();
    assert_eq!(fs.contents(Path::new("/l/state")).unwrap(), state);
    assert_eq!(rebuilt.size, 300);
    // A right-edge tile flipped: the root no longer matches the checkpoint.
    let p = Path::new("/l/tile/0/001.p/44");
    let mut t = fs.contents(p).unwrap();
    t[40] ^= 1;
    fs.put(p, &t);
    let err = Ledger::open("/l", opts.clone()).unwrap_err();
    assert!(err.to_string().contains("altered"), "{err}");
    Ledger::rebuild("/l", Arc::new(fs.clone()), true).unwrap();
    let ledger = Ledger::open("/l", opts).unwrap();
    assert_eq!(ledger.size(), 300);
    drop(ledger);
    assert!(verify_with(&fs, Path::new("/l"), &trust).is_ok());
}
