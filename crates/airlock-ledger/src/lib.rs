//! The durable part of airlock's tamper-evident ledger (issue 6): an append-only
//! log on disk with group commit, C2SP tlog-tiles hash tiles and entry bundles,
//! signed checkpoints with a built-in local witness, cosignatures by independent
//! witnesses ([`Witness`]), proofs, receipts, and offline verification of a whole
//! directory.
//!
//! This is an I/O edge crate. The tree math, notes, checkpoints and receipts are
//! [`airlock_tlog`]'s (pure); this crate stores, syncs, recovers and checks.
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use airlock_ledger::{Ledger, LedgerOptions, fs::MemFs, verify_with};
//! use airlock_tlog::{SignerKey, verify_receipt};
//!
//! let key = SignerKey::from_seed("example.com/log", &[7; 32])?;
//! let mut options = LedgerOptions::new("example.com/log", key);
//! let fs = MemFs::new();
//! options.fs = Arc::new(fs.clone()); // the real file system unless testing
//! let ledger = Ledger::open("/ledger", options.clone())?;
//!
//! // Queued at once; answered once written and fsynced with its batch.
//! let index = ledger.append(b"decision 1".to_vec()).wait()?; // or `.await`
//! let signed = ledger.sign_checkpoint().wait()?;
//! assert_eq!(signed.checkpoint.size(), 1);
//!
//! let receipt = ledger.receipt(index)?; // entry + inclusion proof + signed checkpoint
//! verify_receipt(&receipt, &options.trust())?;
//! drop(ledger);
//! assert!(verify_with(&fs, Path::new("/ledger"), &options.trust()).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The directory
//!
//! | path | what | written | source of truth? |
//! |---|---|---|---|
//! | `LOCK` | the writer's exclusive OS lock (`flock`, std `File::try_lock`) | on open | — |
//! | `entries` | every entry, in order, as records `len (u32 BE) ‖ entry ‖ check`, `check` = the first 8 bytes of the entry's RFC 6962 leaf hash | appended, one `fdatasync` per batch | **yes** |
//! | `tile/<L>/<N>`, `tile/<L>/<N>.p/<W>` | C2SP tlog-tiles hash tiles: full tiles of 256 hashes written once; partial tiles for the signed size | at signing, fsynced | derived |
//! | `tile/entries/<N>[.p/<W>]` | C2SP entry bundles (`u16 BE` length ‖ entry, repeated); optional ([`LedgerOptions::entry_bundles`], on by default) | at signing, fsynced | derived |
//! | `entries.idx` | the offset in `entries` of every 256th entry (u64 BE each): how an entry is found without scanning | at signing, fsynced | derived |
//! | `state` | `size` and `offset`: tiles and bundles are durable for the first `size` entries, which take `offset` bytes of `entries` | at signing, atomically | derived |
//! | `checkpoint` | the latest signed checkpoint, a C2SP signed note | at signing, atomically | signed |
//! | `pruned` | `below` and `offset`: the bytes of entries `0..below` (the first `offset` bytes of `entries`) were freed by [`Ledger::prune`]; their hashes stay in the tiles. Absent until the first prune | on prune, atomically, before the bytes go | yes (what is gone) |
//!
//! "Atomically" is: write `NAME.tmp`, fsync it, rename it over `NAME`, fsync the
//! directory. A static file server over the directory serves the C2SP layout an
//! auditor or a witness downloads (`checkpoint`, `tile/…`). What is derived,
//! [`Ledger::rebuild`] recreates from `entries`, and [`verify`] checks.
//!
//! Entries are at most [`MAX_ENTRY`] = 65,535 bytes (what an entry bundle's
//! 16-bit length can say); larger ones are refused ([`Error::EntryTooLarge`]).
//!
//! # The write path
//!
//! ```text
//! append(entry) ─▶ queue ─▶ writer thread: take every queued append (≤ max_batch)
//!                            ├─ leaf hash, record, one write at the end of `entries`
//!                            ├─ ONE fdatasync for the batch
//!                            ├─ publish: frontier, new nodes, offsets (memory)
//!                            └─ answer every append with its index
//!                  any write or fsync error ─▶ the ledger STOPS (no retry, ever)
//!
//! sign (on demand, every `sign_interval`, or `sign_after` entries) ─▶ signer thread:
//!   1. snapshot: size n, offsets, the leaf hashes the writer computed, its root
//!   2. read the new records BACK from `entries`; re-hash; compare with the writer's
//!   3. derive tiles, bundles and index records from the bytes read back;
//!      write, fsync (≤ 16 threads), fsync their directories; the root from the
//!      new tiles must equal the writer's root
//!   4. local witness: consistency proof (from the tiles) from the last signed
//!      checkpoint to n, checked with airlock_tlog::verify_consistency
//!   5. sign the checkpoint with every key (key rotation: old and new)
//!   6. witnesses (LedgerOptions::witnesses, in parallel, c2sp.org/tlog-witness):
//!      each gets the signed checkpoint and a consistency proof from the size it
//!      last cosigned (a 409 says its size: one retry from there); cosignatures
//!      that verify with its key are added to the note; fewer than
//!      `witness_quorum` ─▶ SignedCheckpoint::quorum_met is false (reported,
//!      the checkpoint is still stored: its entries are durable and it is
//!      consistent)
//!   7. `state` (atomic) ─▶ compare-and-swap on the CheckpointStore ─▶ the
//!      directory's `checkpoint` (atomic, when the store is outside)
//!   8. memory: tiles cover n; superseded partial tiles are deleted
//!   any failure in 1–5 or 7 ─▶ the ledger STOPS (fail closed): nothing is
//!   signed; a witness that refuses or is unreachable never stops it
//! ```
//!
//! ```text
//! prune(below) (retention; on the signer thread: never beside a signature)
//!   1. below ≤ the last signed checkpoint's size (its hashes are durable in
//!      tiles), else refused; below ≤ what is pruned already ─▶ nothing new
//!   2. `pruned` (atomic): below, and the offset where entry `below` starts
//!   3. a hole is punched in `entries` over 0..offset (fallocate PUNCH_HOLE |
//!      KEEP_SIZE: the size and every offset stay, `entries.idx` stays valid),
//!      fdatasync; entry bundles wholly below `below` are deleted
//!   a crash or error after 2 leaves bytes present but marked pruned: harmless,
//!   and the next prune frees them; no hole punching ─▶ an error, nothing freed
//! ```
//!
//! Pruning keeps every hash tile, so every root, inclusion proof (of any
//! index) and consistency proof stays valid; [`Ledger::entry`] and
//! [`Ledger::receipt`] of a pruned index answer [`Error::Pruned`], [`verify`]
//! takes the pruned entries' hashes from the level-0 tiles (and checks the
//! tiles above them and the signed root), [`read_entries`] starts after them,
//! and [`Ledger::rebuild`] refuses (the pruned tiles cannot be recreated).
//! Which entries may go is decided outside (`airlock-audit`'s retention window).
//!
//! A witness sees a checkpoint before the ledger records it: after a crash in
//! between, the witness holds a size the ledger signs again (its entries and
//! tiles were durable before signing), so the next round's conflict answer
//! brings the two back in step. [`Ledger::sign_checkpoint`] on a checkpoint that
//! lacks its quorum, with nothing new to sign, asks the witnesses again.
//!
//! Appends and signatures run on two threads: signing (re-reading, re-hashing,
//! writing tiles) never holds up an append. Proofs read tiles below the state's
//! size and memory above it ([`airlock_tlog::HashSource`]); a proof at any size
//! reads O(log n) tiles.
//!
//! # Opening and recovery
//!
//! [`Ledger::open`] takes the lock ([`Error::Locked`] if another writer has it),
//! reads the last signed checkpoint (from the [`CheckpointStore`] if one is
//! configured outside the directory, repairing the directory's copy if a crash
//! left it behind), reads the state, rebuilds the frontier from the tiles, replays
//! the records after the state's offset, cuts off an incomplete or damaged last
//! record (a torn write: [`Recovery::truncated`]), fsyncs what it replayed, and
//! then refuses ([`Error::Refused`]) a directory that holds fewer entries than the
//! last signed checkpoint or another root at its size: a restore from an old
//! backup, lost entries, or another history.
//!
//! # Invariants (each tested)
//!
//! - **Write-ahead.** An append is answered `Ok` only after its record is fsynced;
//!   every acknowledged entry survives a crash at any point (`tests/crash.rs`:
//!   thousands of crashes at random file operations, torn and garbage tails).
//! - **Nothing unacknowledged is signed.** A checkpoint covers only entries the
//!   writer published after their fsync; a crash never leaves one covering more.
//! - **Read back before signing.** The leaves signed are re-hashed from the bytes
//!   in the file, and must equal the hashes computed at append time.
//! - **Never a fork.** A checkpoint is signed only if the tree is consistent
//!   with the last signed one (consistency proof verified), and the last signed
//!   one is swapped by compare-and-swap: a second writer, or a directory restored
//!   from an old backup, is detected (with the store outside the directory).
//!   Witnesses check the same across every copy of the ledger: a fork or a
//!   rollback, even by an operator who replaces the whole directory, gets no
//!   cosignature from them (tested in `airlock-witness`).
//! - **Only verified cosignatures.** A witness's answer is added to the note only
//!   if it verifies with that witness's key, for this checkpoint.
//! - **Never below.** No signature below the last signed size; no opening of a
//!   directory with fewer entries or another root.
//! - **Fail closed.** After a write, fsync, read-back, consistency or
//!   compare-and-swap failure, every append and signature returns
//!   [`Error::Stopped`] with the reason, until the process reopens the ledger (which
//!   recovers from the files and fsyncs the replayed tail before trusting it).
//! - **One writer.** An exclusive OS lock per directory; a second [`Ledger::open`]
//!   fails while the first is open.
//!
//! # Offline verification
//!
//! [`verify`] (read-only, no lock) checks the signed checkpoint (signature,
//! origin), the state, then replays every record (length, check value), compares
//! each entry with its bundle copy (bundles that exist), every 256th offset with
//! the offset index, and each recomputed hash with the stored tile hash as it
//! completes, and compares the root at the checkpoint's size. It stops at
//! the first damage and reports the first bad index ([`Report::first_bad_index`])
//! with the file, offset and reason. An edit with every stored hash recomputed
//! cannot be located by one signed root: it shows as a root mismatch (or, if the
//! checkpoint's root is rewritten too, a failing signature) without an index.
//! [`verify_consistent`] checks the directory against a checkpoint an auditor kept
//! and, on a fork or rollback, returns both signed checkpoints and the failing
//! proof as portable [`Evidence`].
//!
//! # Reading beside the writer
//!
//! [`read_entries`] (every entry, in order, each record's check value checked)
//! and [`read_checkpoint`] (what the writer signed last, signatures not checked)
//! take no lock and open nothing for writing: `airlock audit log` and `export`
//! use them while the gateway keeps appending.
//!
//! # Design decisions
//!
//! - **The lock** is std's `File::try_lock` (stable since Rust 1.89; the
//!   workspace's `rust-version` was raised from 1.88 for it) rather than a crate:
//!   no dependency, `flock` on Unix, `LockFileEx` on Windows.
//! - **One entries file**, not segments: a single append position, one fdatasync
//!   per batch, and a crash can tear only its end. The state file says where the
//!   tiled part ends, so opening replays only the unsigned tail.
//! - **Tiles and bundles are written at signing, not per batch**, from the bytes
//!   read back, and fsynced in parallel: many small fsyncs issued together cost
//!   about one (measured on this machine: 800 files, 2.5 s one by one, 0.08 s
//!   from 16 threads). The append path fsyncs one file.
//! - **Entry bundles are optional**: they complete the C2SP static layout, but
//!   copy every entry a second time (at 1 KiB entries: twice the disk traffic,
//!   and a sixth of the CPU in a profile of the append benchmark). Entries are
//!   found through `entries.idx` either way.
//! - **The file system is a trait** ([`fs::Fs`]): [`fs::OsFs`] in production,
//!   [`fs::MemFs`] in tests, where a crash can be injected at any operation.
//!
//! # Not done yet
//!
//! - (The entry format is `airlock-audit`'s; the auditor's commands are
//!   `airlock audit …`; witnesses are `airlock-witness`'s; the gateway writes the
//!   ledger through `airlock-server`.)
//! - Pruning frees the entries' bytes but keeps `entries.idx` and the hash tiles
//!   (about 32 bytes and a bit per entry); with a pruned entry in a level-0 tile
//!   altered, verification names its group of 256 (the level-1 hash that no
//!   longer matches), not the entry itself: its bytes are gone.
//! - Without a [`CheckpointStore`] outside the directory, a restore of the whole
//!   directory (checkpoint included) from an old backup cannot be detected
//!   locally; witnesses detect it (they refuse to cosign), but the ledger then
//!   only reports the missing quorum, it does not stop.
//! - A checkpoint that missed its quorum is asked for again only on
//!   [`Ledger::sign_checkpoint`] or when the next one is signed, not on a timer.
//! - An append that returns an error may or may not be in the ledger after a
//!   restart (its record may have reached the disk): callers treat it as unknown.
//! - A damaged record in the middle of the unsigned tail is indistinguishable from
//!   a torn end on opening, and is cut off with what follows ([`Recovery`] says
//!   so); under a signed checkpoint it is refused instead.
//! - Superseded partial tiles left by a crash, and tiles past the state's size,
//!   are not garbage-collected; readers never use them. Verification checks the
//!   bundles that exist; deleting bundles (derived, optional) is not reported.
//! - Memory holds about 72 bytes per unsigned entry; signing keeps it bounded.
//! - Directory creation is fsynced (parents of new tile directories), but
//!   [`fs::MemFs`] models directories implicitly: the crash tests cover file and
//!   name durability, not lost directories.

mod error;
pub mod fs;
mod layout;
mod ledger;
mod read;
mod record;
mod verify;
mod witness;
mod witnesses;

pub use error::{Error, Result};
pub use layout::{CHECKPOINT, ENTRIES, LOCK, PRUNED, Pruned, STATE, State};
pub use ledger::{Ledger, LedgerOptions, Pending, Recovery, SignedCheckpoint};
pub use read::{Entries, read_checkpoint, read_checkpoint_with, read_entries, read_entries_with};
pub use record::MAX_ENTRY;
pub use verify::{
    Consistency, Evidence, Problem, Report, verify, verify_consistent, verify_consistent_with,
    verify_with,
};
pub use witness::{CheckpointStore, FileCheckpointStore, read_text, replace_atomically};
pub use witnesses::{AddCheckpoint, Witness, WitnessError};
