//! Crash safety: the writer is stopped at a random file operation thousands of
//! times (in memory, [`MemFs`]), the unsynced bytes are lost, kept in part, or
//! followed by garbage, and the ledger is reopened. Every acknowledged entry must
//! survive intact, no signed checkpoint may cover an entry that was not
//! acknowledged, the ledger must open, sign and verify.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use airlock_ledger::fs::{Fault, MemFs, Torn};
use airlock_ledger::{FileCheckpointStore, Ledger, LedgerOptions, verify_with};
use common::*;

const DIR: &str = "/ledger";

fn opts(fs: &MemFs, external: bool, auto: bool) -> LedgerOptions {
    let mut o = mem_options(fs);
    if external {
        o.checkpoint_store = Some(Arc::new(FileCheckpointStore::with_fs(
            Arc::new(fs.clone()),
            "/witness/checkpoint",
        )));
    }
    if auto {
        // The signer runs on its own, concurrently with the appends.
        o.sign_after = Some(5);
    }
    o.max_batch = 4;
    o
}

/// What the test knows: the entries it tried to append, in order (the writer
/// keeps the order of the queue), and how many were acknowledged.
struct Model {
    issued: Vec<Vec<u8>>,
    acked: u64,
}

/// Runs appends and signatures until the armed crash fires (or the script ends);
/// waits for every answer.
fn run(ledger: &Ledger, model: &mut Model, rng: &mut Rng, fs: &MemFs) {
    for _ in 0..1 + rng.below(4) {
        let k = 1 + rng.below(9);
        let start = model.issued.len() as u64;
        let pending: Vec<_> = (0..k)
            .map(|j| {
                let e =
                    format!("e{} {}", start + j, "z".repeat(rng.below(40) as usize)).into_bytes();
                model.issued.push(e.clone());
                ledger.append(e)
            })
            .collect();
        let mut failed = false;
        for (j, p) in pending.into_iter().enumerate() {
            match p.wait() {
                Ok(index) => {
                    assert_eq!(index, start + j as u64, "indices follow the queue");
                    assert!(!failed, "an append succeeded after an earlier one failed");
                    model.acked = index + 1;
                }
                Err(_) => failed = true,
            }
        }
        if rng.below(3) == 0 {
            let _ = ledger.sign_checkpoint().wait();
        }
        if fs.has_crashed() || failed {
            return;
        }
    }
}

/// Reopens after a crash and checks every promise.
fn reopen_and_check(fs: &MemFs, model: &mut Model, external: bool, seed: u64) -> Ledger {
    let ledger = Ledger::open(DIR, opts(fs, external, false))
        .unwrap_or_else(|e| panic!("seed {seed}: the ledger does not open after a crash: {e}"));
    let size = ledger.size();
    assert!(
        size >= model.acked,
        "seed {seed}: {size} entries after the crash, {} were acknowledged",
        model.acked
    );
    assert!(
        size <= model.issued.len() as u64,
        "seed {seed}: entries from nowhere"
    );
    // Every acknowledged entry, and every unacknowledged one that survived, is
    // intact and in its place.
    for i in 0..size {
        assert_eq!(
            ledger.entry(i).unwrap(),
            model.issued[i as usize],
            "seed {seed}: entry {i}"
        );
    }
    if let Some(signed) = ledger.signed() {
        assert!(
            signed.checkpoint.size() <= model.acked,
            "seed {seed}: a checkpoint covers {} entries, only {} were acknowledged",
            signed.checkpoint.size(),
            model.acked
        );
        assert_eq!(
            *signed.checkpoint.root(),
            ledger.root(signed.checkpoint.size()).unwrap()
        );
    }
    // What survived unacknowledged is in the ledger now.
    model.acked = size;
    model.issued.truncate(size as usize);
    ledger
}

#[test]
fn acknowledged_entries_survive_thousands_of_crashes() {
    let iterations: u64 = std::env::var("LEDGER_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let started = Instant::now();
    let mut crashes = 0u64;
    let mut refused_none = 0u64;
    let first: u64 = std::env::var("LEDGER_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for seed in first..first + iterations {
        let mut rng = Rng(seed);
        let fs = MemFs::new();
        let external = seed % 2 == 0;
        let mut model = Model {
            issued: Vec::new(),
            acked: 0,
        };
        // Some history first, without faults, sometimes signed.
        {
            let ledger = Ledger::open(DIR, opts(&fs, external, false)).unwrap();
            let n = rng.below(300);
            let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("h{i}").into_bytes()).collect();
            model.issued.extend(entries.iter().cloned());
            append_all(&ledger, entries);
            model.acked = n;
            if rng.below(4) != 0 {
                ledger.sign_checkpoint().wait().unwrap();
            }
        }
        // Up to three crash cycles: run, crash at a random operation, reopen.
        for cycle in 0..3 {
            let auto = rng.below(2) == 0;
            let ledger = if cycle == 0 {
                Ledger::open(DIR, opts(&fs, external, auto)).unwrap()
            } else {
                if rng.below(3) == 0 {
                    // A crash during recovery itself (cutting the torn tail,
                    // syncing, repairing the checkpoint copy).
                    fs.set_fault(Fault::CrashAt(rng.below(6)));
                    if let Ok(l) = Ledger::open(DIR, opts(&fs, external, false)) {
                        crashes += u64::from(fs.has_crashed());
                        drop(l);
                    }
                    fs.crash(Torn::Garbage, rng.next());
                }
                drop(reopen_and_check(&fs, &mut model, external, seed));
                Ledger::open(DIR, opts(&fs, external, auto)).unwrap()
            };
            fs.set_fault(Fault::CrashAt(rng.below(70)));
            run(&ledger, &mut model, &mut rng, &fs);
            drop(ledger);
            if fs.has_crashed() {
                crashes += 1;
            }
            let torn = match rng.below(3) {
                0 => Torn::Clean,
                1 => Torn::Prefix,
                _ => Torn::Garbage,
            };
            fs.crash(torn, rng.next());
        }
        let ledger = reopen_and_check(&fs, &mut model, external, seed);
        // The recovered ledger signs, and verifies offline.
        let signed = ledger.sign_checkpoint().wait().unwrap();
        assert_eq!(signed.checkpoint.size(), model.acked);
        let trust = ledger.trust().clone();
        drop(ledger);
        let report = verify_with(&fs, Path::new(DIR), &trust);
        assert!(report.is_ok(), "seed {seed}: {report}");
        assert_eq!(report.entries, model.acked);
        refused_none += 1;
    }
    assert_eq!(refused_none, iterations);
    // The harness must actually crash the writer most of the time.
    assert!(
        crashes * 2 > iterations * 3 / 2,
        "only {crashes} crashes in {iterations} iterations"
    );
    eprintln!(
        "{iterations} iterations, {crashes} crashes, {:.1?}",
        started.elapsed()
    );
}
