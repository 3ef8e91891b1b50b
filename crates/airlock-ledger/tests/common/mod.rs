//! Helpers shared by the ledger's tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use airlock_ledger::fs::{Fs, MemFs};
use airlock_ledger::{Ledger, LedgerOptions};
use airlock_tlog::SignerKey;

pub const ORIGIN: &str = "airlock.example.com/ledger/test";

pub fn key(seed: u8) -> SignerKey {
    SignerKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}

/// Options for a test: the given file system, no automatic signing.
pub fn options(fs: Arc<dyn Fs>) -> LedgerOptions {
    let mut o = LedgerOptions::new(ORIGIN, key(1));
    o.fs = fs;
    o.sign_interval = None;
    o.sign_after = None;
    o
}

pub fn mem_options(fs: &MemFs) -> LedgerOptions {
    options(Arc::new(fs.clone()))
}

/// The i-th test entry: a few dozen bytes, lengths varying.
pub fn entry(i: u64) -> Vec<u8> {
    format!("entry {i} {}", "x".repeat((i % 23) as usize)).into_bytes()
}

/// Appends `entries` (all queued before waiting: group commit) and returns their
/// indices.
pub fn append_all(ledger: &Ledger, entries: impl IntoIterator<Item = Vec<u8>>) -> Vec<u64> {
    let pending: Vec<_> = entries.into_iter().map(|e| ledger.append(e)).collect();
    pending.into_iter().map(|p| p.wait().unwrap()).collect()
}

/// Byte offset of record `i` in an entries file of `entry(0..)` records.
pub fn record_offset(i: u64) -> usize {
    (0..i).map(|k| entry(k).len() + 12).sum()
}

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "airlock-ledger-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A simple deterministic generator for tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
