//! The ledger: open and recover, the writer thread (group commit), the signer
//! thread (re-hash, tiles, local witness, compare-and-swap), proofs and receipts.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use airlock_tlog::{
    Checkpoint, Frontier, Hash, HashSource, LogTrust, NodeId, Note, Receipt, SignerKey,
    VerifierKey, WitnessKey, consistency_proof, inclusion_proof, leaf_hash, tree_root,
    verify_consistency, verify_receipt,
};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::fs::{Fs, LockGuard, LogFile, OsFs};
use crate::layout::{
    CHECKPOINT, DiskSource, ENTRIES, INDEX, LOCK, PRUNED, Pruned, Reader, STATE, State,
    bundle_path, derive, write_all_synced,
};
use crate::read::{Entries, read_entries_with};
use crate::record::{self, MAX_ENTRY, Scanner};
use crate::witness::{CheckpointStore, FileCheckpointStore, read_text, replace_atomically};
use crate::witnesses::{self, Witness};

/// How to open a ledger.
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    /// The log's origin line (its name in checkpoints), e.g.
    /// `airlock.example.com/ledger/prod`.
    pub origin: String,
    /// The log keys; every checkpoint is signed with all of them (several during
    /// a key rotation). At least one.
    pub signers: Vec<SignerKey>,
    /// Further keys whose signature is accepted on the stored checkpoint when
    /// opening (retired keys, after a rotation).
    pub trusted: Vec<VerifierKey>,
    /// Where the last signed checkpoint is recorded with compare-and-swap. `None`:
    /// the ledger's own `checkpoint` file. Keep it outside the ledger directory
    /// ([`FileCheckpointStore`]) to detect a directory restored from an old backup.
    pub checkpoint_store: Option<Arc<dyn CheckpointStore>>,
    /// Sign a checkpoint this long after the last one, if there are new entries.
    /// `None`: only on [`Ledger::sign_checkpoint`] or [`LedgerOptions::sign_after`].
    pub sign_interval: Option<Duration>,
    /// Sign as soon as this many entries are unsigned. `None`: no such trigger.
    pub sign_after: Option<u64>,
    /// At most this many appends share one write and one fsync.
    pub max_batch: usize,
    /// Bytes of zeros written past the last record when a batch reaches the end
    /// of the filled space, so that later batches overwrite allocated blocks and
    /// their `fdatasync` flushes data alone, without committing a new file size
    /// (on ext4, p50 of one fdatasync 175 µs instead of 280–350 µs on this
    /// project's machines). 0: the file grows with each batch. On copy-on-write
    /// file systems (btrfs, ZFS) overwriting gains nothing.
    pub preallocate: usize,
    /// Write C2SP entry bundles (`tile/entries/…`) at signing, completing the
    /// static layout an auditor or a C2SP client downloads. They copy every entry
    /// once more (at 1 KiB entries, about twice the disk traffic); without them an
    /// auditor reads `entries`.
    pub entry_bundles: bool,
    /// The file system (the real one unless testing).
    pub fs: Arc<dyn Fs>,
    /// Independent witnesses asked to cosign every checkpoint after it is signed
    /// (c2sp.org/tlog-witness). None by default.
    pub witnesses: Vec<Arc<dyn Witness>>,
    /// How many distinct witnesses must cosign a checkpoint. Fewer does not stop
    /// the ledger (entries stay durable, the checkpoint is stored signed by the
    /// log) but is reported: [`SignedCheckpoint::quorum_met`] is false. At most
    /// the number of witnesses; 0 by default.
    pub witness_quorum: usize,
}

impl LedgerOptions {
    /// Options for the log `origin` signed by `signer`: checkpoints every second
    /// or every 65,536 entries, batches of up to 8,192 appends, the checkpoint
    /// recorded in the ledger directory, the real file system.
    pub fn new(origin: &str, signer: SignerKey) -> LedgerOptions {
        LedgerOptions {
            origin: origin.to_string(),
            signers: vec![signer],
            trusted: Vec::new(),
            checkpoint_store: None,
            sign_interval: Some(Duration::from_secs(1)),
            sign_after: Some(65_536),
            max_batch: 8_192,
            preallocate: record::PREALLOCATE,
            entry_bundles: true,
            fs: Arc::new(OsFs),
            witnesses: Vec::new(),
            witness_quorum: 0,
        }
    }

    /// What a verifier of this ledger trusts: the origin and the log keys.
    pub fn trust(&self) -> LogTrust {
        let mut keys: Vec<VerifierKey> = self.signers.iter().map(SignerKey::verifier).collect();
        keys.extend(self.trusted.iter().cloned());
        LogTrust::new(&self.origin, keys)
    }

    /// [`LedgerOptions::trust`] that also requires the witness quorum: what a
    /// verifier of this ledger's receipts should trust once witnesses are
    /// configured.
    pub fn trust_with_witnesses(&self) -> LogTrust {
        let keys: Vec<WitnessKey> = self.witnesses.iter().map(|w| w.key()).collect();
        self.trust().with_witnesses(keys, self.witness_quorum)
    }
}

/// A signed checkpoint: the signed note, verbatim, and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The C2SP signed note: the log's signatures, then the witnesses'
    /// cosignatures.
    pub note: String,
    /// Its checkpoint (origin, size, root).
    pub checkpoint: Checkpoint,
    /// Distinct configured witnesses whose cosignature on `note` verified.
    pub cosigned: usize,
    /// Whether `cosigned` reaches [`LedgerOptions::witness_quorum`]. When it does
    /// not, the checkpoint is still the log's (signed, stored, consistent), but it
    /// is not witnessed: alert on it.
    pub quorum_met: bool,
    /// Why each witness that did not cosign did not (empty when all did).
    pub witness_errors: Vec<String>,
}

/// What opening the ledger found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Entries in the ledger after opening.
    pub entries: u64,
    /// Entries read back from the entries file past the state (the unsigned
    /// tail of the last run).
    pub replayed: u64,
    /// An incomplete or damaged record at the end of the entries file that was
    /// cut off (an append that never completed): `(offset, bytes, why)`.
    pub truncated: Option<(u64, u64, String)>,
    /// The ledger's `checkpoint` file was behind the checkpoint store and was
    /// brought up to date (a crash between the two writes of a signature).
    pub checkpoint_repaired: bool,
}

/// An answer still to come: awaited in async code, or waited for with
/// [`Pending::wait`] in blocking code.
#[derive(Debug)]
pub struct Pending<T> {
    rx: oneshot::Receiver<Result<T>>,
}

impl<T> Pending<T> {
    fn ready(value: Result<T>) -> Pending<T> {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(value);
        Pending { rx }
    }

    /// Blocks the thread until the answer comes. Not inside an async runtime:
    /// await the `Pending` there.
    pub fn wait(self) -> Result<T> {
        self.rx.blocking_recv().unwrap_or_else(|_| Err(gone()))
    }
}

fn gone() -> Error {
    Error::Stopped {
        reason: Arc::from("the ledger's thread ended before answering (the ledger was closed)"),
    }
}

impl<T> Future for Pending<T> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(gone())))
    }
}

struct Append {
    entry: Vec<u8>,
    reply: oneshot::Sender<Result<u64>>,
}

enum SignerMsg {
    Sign(oneshot::Sender<Result<SignedCheckpoint>>),
    /// Pruning runs on the signer thread: never beside a signature (which reads
    /// tiles and bundles), and never beside another prune.
    Prune(u64, oneshot::Sender<Result<Pruned>>),
    Nudge,
}

/// The durable, tamper-evident ledger. One per directory and process (an OS
/// lock enforces it); share it with `Arc`.
pub struct Ledger {
    shared: Arc<Shared>,
    writer: Option<mpsc::Sender<Append>>,
    signer: Option<mpsc::Sender<SignerMsg>>,
    writer_thread: Option<JoinHandle<()>>,
    signer_thread: Option<JoinHandle<()>>,
    recovery: Recovery,
    _lock: Box<dyn LockGuard>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.shared.dir)
            .field("size", &self.size())
            .finish()
    }
}

struct Shared {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    origin: String,
    signers: Vec<SignerKey>,
    trust: LogTrust,
    store: Arc<dyn CheckpointStore>,
    external: bool,
    /// A read handle on the entries file.
    reader: Box<dyn LogFile>,
    /// The offset index (read and written).
    index: Box<dyn LogFile>,
    bundles: bool,
    tail: Mutex<Tail>,
    /// Held (read) while reading tiles; held (write) while partial tiles are
    /// replaced, so that a reader never looks for one just deleted.
    gc: RwLock<()>,
    sign_after: Option<u64>,
    witnesses: Vec<Arc<dyn Witness>>,
    witness_quorum: usize,
    /// The size each witness is believed to hold for this log (what it cosigned
    /// last, or what it said in a conflict). Only the signer thread uses it.
    witness_sizes: Mutex<Vec<u64>>,
}

/// The in-memory part: everything past the durable tiles.
struct Tail {
    /// Entries durable in the entries file (acknowledged).
    size: u64,
    /// Bytes of the entries file they take.
    end: u64,
    /// The frontier of the tree of `size` leaves.
    frontier: Frontier,
    /// The frontier at the state's size: tiles and bundles are durable below it.
    tiled: Frontier,
    /// Where entry `tiled.size()` starts in the entries file.
    tiled_offset: u64,
    /// End offsets of the entries `tiled.size()..size`.
    ends: Vec<u64>,
    /// `nodes[l]`: the full nodes of level `l` that end past the tiles, from
    /// index `tiled.size() >> l` on. `nodes[0]` holds the leaf hashes.
    nodes: Vec<Vec<Hash>>,
    /// The last signed checkpoint.
    signed: Option<SignedCheckpoint>,
    /// Why the ledger stopped, once it has.
    failed: Option<Arc<str>>,
    /// A signature was asked for since the last one.
    nudged: bool,
    /// Entries whose bytes are pruned (as the durable marker says).
    pruned: Pruned,
}

impl Tail {
    fn push(&mut self, leaf: Hash, len: u64) -> Result<u64, airlock_tlog::TreeFull> {
        let Tail {
            frontier, nodes, ..
        } = self;
        let index = frontier.push_with(leaf, |node, hash| {
            let l = usize::from(node.level);
            if nodes.len() <= l {
                nodes.resize(l + 1, Vec::new());
            }
            nodes[l].push(*hash);
        })?;
        self.end += len;
        self.ends.push(self.end);
        self.size += 1;
        Ok(index)
    }

    /// A node from memory, if it ends past the tiles.
    fn node(&self, node: NodeId) -> Option<Hash> {
        let base = self.tiled.size() >> node.level;
        let i = usize::try_from(node.index.checked_sub(base)?).ok()?;
        self.nodes.get(usize::from(node.level))?.get(i).copied()
    }

    /// Where entry `index` (past the tiles) is in the entries file.
    fn span(&self, index: u64) -> Option<(u64, u64)> {
        let k = usize::try_from(index.checked_sub(self.tiled.size())?).ok()?;
        let start = if k == 0 {
            self.tiled_offset
        } else {
            *self.ends.get(k - 1)?
        };
        Some((start, *self.ends.get(k)?))
    }
}

impl Shared {
    fn tail(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the ledger for good; returns the reason it stopped (the first one).
    fn fail(&self, reason: String) -> Arc<str> {
        let mut t = self.tail();
        t.failed.get_or_insert_with(|| Arc::from(reason)).clone()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The ledger's stored hashes: tiles below the durable state, memory above it.
struct LiveSource<'a> {
    shared: &'a Shared,
    size: u64,
}

impl HashSource for LiveSource<'_> {
    type Error = Error;

    fn node_hash(&self, node: NodeId) -> Result<Hash> {
        let mut v = self.node_hashes(&[node])?;
        v.pop().ok_or_else(|| Error::NotYet {
            what: "no hash".into(),
        })
    }

    fn node_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>> {
        let _gc = self.shared.gc.read().unwrap_or_else(|p| p.into_inner());
        read_nodes(self.shared, self.size, nodes)
    }
}

/// The hashes of `nodes` in the tree of `size` leaves; the caller holds `gc`
/// (read), so that no partial tile it needs is deleted meanwhile.
fn read_nodes(shared: &Shared, size: u64, nodes: &[NodeId]) -> Result<Vec<Hash>> {
    let (tiled, from_memory) = {
        let t = shared.tail();
        if size > t.size {
            return Err(Error::NotYet {
                what: format!("the ledger holds {} entries, not {size}", t.size),
            });
        }
        let tiled = t.tiled.size();
        let mem: Vec<Option<Hash>> = nodes
            .iter()
            .map(|n| match n.leaves() {
                Some((_, end)) if end > tiled => t.node(*n),
                _ => None,
            })
            .collect();
        (tiled, mem)
    };
    let disk = DiskSource::new(&*shared.fs, &shared.dir, tiled);
    nodes
        .iter()
        .zip(from_memory)
        .map(|(n, m)| match m {
            Some(h) => Ok(h),
            None => disk.node_hash(*n),
        })
        .collect()
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir`: takes the writer's lock, checks the
    /// directory against the last signed checkpoint, replays the unsigned tail,
    /// cuts off an incomplete last record, and starts the writer and signer
    /// threads.
    ///
    /// Refuses ([`Error::Refused`]) a directory that holds fewer entries than the
    /// last signed checkpoint, or whose root at that size differs from it (a
    /// restore from an old backup, lost or altered entries), and one whose state
    /// or tiles are missing or damaged ([`Ledger::rebuild`] recreates them).
    pub fn open(dir: impl AsRef<Path>, options: LedgerOptions) -> Result<Ledger> {
        let dir = dir.as_ref().to_path_buf();
        if options.signers.is_empty() {
            return Err(Error::Config("at least one signer key is needed".into()));
        }
        Checkpoint::new(&options.origin, 0, Hash::default())
            .map_err(|e| Error::Config(format!("origin {:?}: {e}", options.origin)))?;
        if options.witness_quorum > options.witnesses.len() {
            return Err(Error::Config(format!(
                "witness_quorum is {} but only {} witnesses are configured: the quorum could never be met",
                options.witness_quorum,
                options.witnesses.len()
            )));
        }
        let fs = options.fs.clone();
        fs.create_dir_all(&dir)
            .map_err(Error::io(&dir, "create the ledger directory"))?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The directory's own name is durable before anything in it is.
            fs.sync_dir(parent)
                .map_err(Error::io(parent, "sync the directory"))?;
        }
        let lock_path = dir.join(LOCK);
        let lock = fs.try_lock(&lock_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked {
                    dir: dir.clone(),
                    lock: lock_path.clone(),
                }
            } else {
                Error::io(&lock_path, "lock")(e)
            }
        })?;
        let trust = options.trust();
        let refused = |reason: String| Error::Refused {
            dir: dir.clone(),
            reason,
        };
        let verify_note = |text: &str, from: PathBuf| -> Result<SignedCheckpoint> {
            let v = trust.verify_checkpoint(text.as_bytes()).map_err(|e| Error::Checkpoint {
                path: from,
                what: format!(
                    "the last signed checkpoint does not verify ({e}); it is damaged, or signed by a key not in LedgerOptions::signers or ::trusted"
                ),
            })?;
            let cosigned = witnesses::count_cosigned(&v.note, &options.witnesses);
            let quorum_met = cosigned >= options.witness_quorum;
            Ok(SignedCheckpoint {
                note: text.to_string(),
                checkpoint: v.checkpoint,
                cosigned,
                quorum_met,
                witness_errors: if quorum_met {
                    Vec::new()
                } else {
                    vec![format!(
                        "the stored checkpoint carries {cosigned} cosignatures by the configured witnesses, {} are required; Ledger::sign_checkpoint asks the witnesses again",
                        options.witness_quorum
                    )]
                },
            })
        };

        // The last signed checkpoint: the store's when it is outside the directory.
        let local_path = dir.join(CHECKPOINT);
        let local = read_text(&*fs, &local_path)?
            .map(|t| verify_note(&t, local_path.clone()))
            .transpose()?;
        let (store, external): (Arc<dyn CheckpointStore>, bool) = match &options.checkpoint_store {
            Some(s) => (s.clone(), true),
            None => (
                Arc::new(FileCheckpointStore::with_fs(fs.clone(), &local_path)),
                false,
            ),
        };
        let last = if external {
            let stored = store
                .load()?
                .map(|t| verify_note(&t, store.location()))
                .transpose()?;
            match (stored, &local) {
                (None, None) => None,
                (None, Some(l)) => {
                    if !store.compare_and_swap(None, &l.note)? {
                        return Err(refused(format!(
                            "the checkpoint store {} changed while it was being initialised: another writer?",
                            store.location().display()
                        )));
                    }
                    Some(l.clone())
                }
                (Some(s), None) => Some(s),
                (Some(s), Some(l)) => {
                    if l.checkpoint.size() > s.checkpoint.size() {
                        return Err(refused(format!(
                            "the ledger's checkpoint covers {} entries but the checkpoint store {} only {}: the store was rolled back or belongs to another ledger; restore the store, do not edit it",
                            l.checkpoint.size(),
                            store.location().display(),
                            s.checkpoint.size()
                        )));
                    }
                    if l.checkpoint.size() == s.checkpoint.size()
                        && l.checkpoint.root() != s.checkpoint.root()
                    {
                        return Err(refused(format!(
                            "the ledger's checkpoint and the checkpoint store {} disagree on the root of the first {} entries: two histories (a fork)",
                            store.location().display(),
                            s.checkpoint.size()
                        )));
                    }
                    Some(s)
                }
            }
        } else {
            local.clone()
        };
        let last_where = if external {
            store.location()
        } else {
            local_path.clone()
        };

        // The state, the entries file, the tiles.
        let state_path = dir.join(STATE);
        let entries_path = dir.join(ENTRIES);
        let file = fs
            .open_log(&entries_path, true)
            .map_err(Error::io(&entries_path, "open the entries file"))?;
        let file_len = file
            .len()
            .map_err(Error::io(&entries_path, "read the length of"))?;
        let state = match read_text(&*fs, &state_path)? {
            Some(text) => State::parse(text.as_bytes()).map_err(|e| {
                refused(format!(
                    "the state file {} is damaged ({e}); run Ledger::rebuild to recreate it from the entries",
                    state_path.display()
                ))
            })?,
            None if file_len == 0 && last.is_none() => {
                // A new ledger: its entries file and state are durable from here on.
                let s = State { size: 0, offset: 0 };
                replace_atomically(&*fs, &state_path, s.to_text().as_bytes())?;
                s
            }
            None if file_len == 0 && local.is_none() => {
                // An empty directory, but the record outside it says this log
                // has signed entries: they are somewhere else.
                let size = last.as_ref().map_or(0, |l| l.checkpoint.size());
                return Err(refused(format!(
                    "the directory is empty, but the checkpoint record {} says the log {} has signed {size} entries: they were written by another writer of the same log (another replica with the same origin: give each its own) or in a directory that is not this one (restore it); a log has one writer and one history",
                    last_where.display(),
                    options.origin
                )));
            }
            None => {
                return Err(refused(format!(
                    "the state file {} is missing but the ledger has entries or a signed checkpoint; run Ledger::rebuild to recreate it from the entries",
                    state_path.display()
                )));
            }
        };
        if let Some(last) = &last
            && state.size < last.checkpoint.size()
        {
            return Err(refused(format!(
                "its tiles cover {} entries but the last signed checkpoint ({}) covers {}: the directory was restored from an old backup or lost data; refusing to continue (that would fork the log)",
                state.size,
                last_where.display(),
                last.checkpoint.size()
            )));
        }
        if file_len < state.offset {
            return Err(refused(format!(
                "the entries file holds {file_len} bytes but its first {} entries took {} bytes: it was truncated or restored from an old backup",
                state.size, state.offset
            )));
        }
        let tiled = Frontier::from_source(&DiskSource::new(&*fs, &dir, state.size), state.size)
            .map_err(Error::from)
            .map_err(|e| {
                refused(format!(
                    "the tiles of the first {} entries cannot be read ({e}); run Ledger::rebuild to recreate them",
                    state.size
                ))
            })?;

        // The pruned prefix: its hashes are in the tiles, so it must lie below them.
        let pruned = Pruned::read(&*fs, &dir)
            .map_err(|e| {
                refused(format!(
                    "{e}; it was written by Ledger::prune, do not edit it"
                ))
            })?
            .unwrap_or_default();
        if pruned.below > state.size || pruned.offset > state.offset {
            return Err(refused(format!(
                "the pruned marker {} says entries below {} (bytes below {}) were pruned, but the tiles cover only {} entries ({} bytes): the marker belongs to another copy of the ledger",
                dir.join(PRUNED).display(),
                pruned.below,
                pruned.offset,
                state.size,
                state.offset
            )));
        }

        // Replay the tail; cut off an incomplete last record.
        let mut tail = Tail {
            size: state.size,
            end: state.offset,
            frontier: tiled.clone(),
            tiled,
            tiled_offset: state.offset,
            ends: Vec::new(),
            nodes: Vec::new(),
            signed: last.clone(),
            failed: None,
            nudged: false,
            pruned,
        };
        let mut recovery = Recovery::default();
        let mut scanner = Scanner::new(&*file, state.offset, file_len);
        loop {
            let offset = scanner.offset();
            match scanner
                .next_record()
                .map_err(Error::io(&entries_path, "read"))?
            {
                Ok(Some(r)) => {
                    let (leaf, len) = (r.leaf, r.len as u64);
                    tail.push(leaf, len).map_err(|e| Error::NotYet {
                        what: e.to_string(),
                    })?;
                    recovery.replayed += 1;
                }
                Ok(None) => break,
                Err(bad) => {
                    recovery.truncated = Some((offset, file_len - offset, bad.describe()));
                    break;
                }
            }
        }
        if let Some((offset, _, _)) = &recovery.truncated {
            file.truncate(*offset).map_err(Error::io(
                &entries_path,
                "cut the incomplete last record off",
            ))?;
        }
        let index_path = dir.join(INDEX);
        let index = fs
            .open_log(&index_path, true)
            .map_err(Error::io(&index_path, "open the offset index"))?;
        let index_len = index
            .len()
            .map_err(Error::io(&index_path, "read the length of"))?;
        if index_len < state.size.div_ceil(256) * 8 {
            return Err(refused(format!(
                "the offset index {} holds {index_len} bytes, too few for {} entries; run Ledger::rebuild to recreate it",
                index_path.display(),
                state.size
            )));
        }
        // What was replayed may be only in the page cache (an append whose fsync
        // failed before a restart without a reboot): make it durable before it
        // is treated as part of the log, and the entries file's name with it.
        file.sync_data()
            .map_err(Error::io(&entries_path, "sync the replayed entries"))?;
        fs.sync_dir(&dir)
            .map_err(Error::io(&dir, "sync the directory"))?;
        recovery.entries = tail.size;

        let reader = fs
            .open_log(&entries_path, false)
            .map_err(Error::io(&entries_path, "open for reading"))?;

        let shared = Arc::new(Shared {
            dir: dir.clone(),
            fs: fs.clone(),
            origin: options.origin.clone(),
            signers: options.signers.clone(),
            trust,
            store,
            external,
            reader,
            index,
            bundles: options.entry_bundles,
            tail: Mutex::new(tail),
            gc: RwLock::new(()),
            sign_after: options.sign_after,
            witnesses: options.witnesses.clone(),
            witness_quorum: options.witness_quorum,
            // A guess, corrected by the first conflict: the witnesses saw the
            // last checkpoint signed.
            witness_sizes: Mutex::new(vec![
                last.as_ref().map_or(0, |l| l.checkpoint.size());
                options.witnesses.len()
            ]),
        });

        // The directory must hold the history the last signed checkpoint vouches for.
        if let Some(last) = &last {
            let n = shared.tail().size;
            let size = last.checkpoint.size();
            if n < size {
                return Err(refused(format!(
                    "it holds {n} entries but the last signed checkpoint ({}) covers {size}: the directory was restored from an old backup or entries were lost; refusing to continue (that would fork the log)",
                    last_where.display()
                )));
            }
            let root = if size == 0 {
                airlock_tlog::empty_root()
            } else {
                tree_root(
                    &LiveSource {
                        shared: &shared,
                        size: n,
                    },
                    size,
                )?
            };
            if root != *last.checkpoint.root() {
                return Err(refused(format!(
                    "the root of its first {size} entries is {root}, but the last signed checkpoint ({}) says {}: the entries were altered, or the directory holds another history",
                    last_where.display(),
                    last.checkpoint.root()
                )));
            }
            if external && local.as_ref().map(|l| &l.note) != Some(&last.note) {
                replace_atomically(&*fs, &local_path, last.note.as_bytes())?;
                recovery.checkpoint_repaired = true;
            }
        }

        let (wtx, wrx) = mpsc::channel::<Append>();
        let (stx, srx) = mpsc::channel::<SignerMsg>();
        let max_batch = options.max_batch.max(1);
        let preallocate = options.preallocate;
        let writer_thread = {
            let shared = shared.clone();
            let nudge = stx.clone();
            std::thread::Builder::new()
                .name("airlock-ledger-writer".into())
                .spawn(move || writer_loop(&shared, &*file, &wrx, &nudge, max_batch, preallocate))
                .map_err(Error::io(&dir, "start the writer thread"))?
        };
        let signer_thread = {
            let shared = shared.clone();
            let interval = options.sign_interval;
            std::thread::Builder::new()
                .name("airlock-ledger-signer".into())
                .spawn(move || signer_loop(&shared, &srx, interval))
                .map_err(Error::io(&dir, "start the signer thread"))?
        };
        Ok(Ledger {
            shared,
            writer: Some(wtx),
            signer: Some(stx),
            writer_thread: Some(writer_thread),
            signer_thread: Some(signer_thread),
            recovery,
            _lock: lock,
        })
    }

    /// Appends an entry. It is queued at once; the answer (its index) comes when
    /// the entry is durable: written and fsynced with its batch. An error means
    /// the entry may or may not be in the ledger, and the ledger has stopped
    /// (unless the entry was too large).
    pub fn append(&self, entry: impl Into<Vec<u8>>) -> Pending<u64> {
        let entry = entry.into();
        if entry.len() > MAX_ENTRY {
            return Pending::ready(Err(Error::EntryTooLarge { len: entry.len() }));
        }
        let (tx, rx) = oneshot::channel();
        match &self.writer {
            Some(w) => {
                if let Err(mpsc::SendError(a)) = w.send(Append { entry, reply: tx }) {
                    let _ = a.reply.send(Err(gone()));
                }
            }
            None => {
                let _ = tx.send(Err(gone()));
            }
        }
        Pending { rx }
    }

    /// Signs a checkpoint of every durable entry now (or returns the latest if
    /// nothing is new), after re-hashing the new entries from the file, writing
    /// their tiles and checking consistency with the last signed checkpoint,
    /// then has it cosigned by the witnesses. With nothing new, a latest
    /// checkpoint that lacks its witness quorum is taken to the witnesses again.
    pub fn sign_checkpoint(&self) -> Pending<SignedCheckpoint> {
        let (tx, rx) = oneshot::channel();
        match &self.signer {
            Some(s) => {
                if let Err(mpsc::SendError(SignerMsg::Sign(reply))) = s.send(SignerMsg::Sign(tx)) {
                    let _ = reply.send(Err(gone()));
                }
            }
            None => {
                let _ = tx.send(Err(gone()));
            }
        }
        Pending { rx }
    }

    /// Prunes the bytes of entries `0..below` (retention), keeping every hash:
    /// the hash tiles stay, so every root, inclusion proof (of any index) and
    /// consistency proof stays valid; [`Ledger::entry`] and [`Ledger::receipt`]
    /// of a pruned index answer [`Error::Pruned`]. Only entries covered by the
    /// last signed checkpoint may be pruned (their hashes are durable in its
    /// tiles); a larger `below` is refused. Pruning is monotonic: a `below` at or
    /// under what is already pruned prunes nothing new (and frees the bytes
    /// again, which retries a failed attempt). The answer is what is pruned now.
    ///
    /// Crash-safe order: the `pruned` marker is replaced atomically first, then
    /// the bytes are freed by punching a hole in `entries` (its size, and every
    /// offset, stay), then the entry bundles wholly below `below` are deleted. A
    /// crash or an error after the marker leaves bytes present but marked pruned:
    /// harmless, and retried by the next prune. A file system that cannot punch
    /// holes is reported as an error (nothing freed, the marker stays). What
    /// policy decides `below` is the caller's (airlock-audit's retention window).
    pub fn prune(&self, below: u64) -> Pending<Pruned> {
        let (tx, rx) = oneshot::channel();
        match &self.signer {
            Some(s) => {
                if let Err(mpsc::SendError(SignerMsg::Prune(_, reply))) =
                    s.send(SignerMsg::Prune(below, tx))
                {
                    let _ = reply.send(Err(gone()));
                }
            }
            None => {
                let _ = tx.send(Err(gone()));
            }
        }
        Pending { rx }
    }

    /// What is pruned: entries `0..below` keep only their hashes.
    pub fn pruned(&self) -> Pruned {
        self.shared.tail().pruned
    }

    /// Every entry still held (from the pruned boundary on), in order, read
    /// sequentially from the entries file as [`read_entries`](crate::read_entries)
    /// does: for scanning the whole ledger (e.g. to apply a retention policy)
    /// without a lookup per entry.
    pub fn read_entries(&self) -> Result<Entries> {
        read_entries_with(&*self.shared.fs, &self.shared.dir)
    }

    /// The number of durable (acknowledged) entries.
    pub fn size(&self) -> u64 {
        self.shared.tail().size
    }

    /// The latest signed checkpoint.
    pub fn signed(&self) -> Option<SignedCheckpoint> {
        self.shared.tail().signed.clone()
    }

    /// Why the ledger stopped, if it has.
    pub fn failure(&self) -> Option<Arc<str>> {
        self.shared.tail().failed.clone()
    }

    /// What opening found and repaired.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// What a verifier of this ledger trusts (origin and log keys).
    pub fn trust(&self) -> &LogTrust {
        &self.shared.trust
    }

    /// The root of the tree of the first `size` entries.
    pub fn root(&self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(airlock_tlog::empty_root());
        }
        Ok(tree_root(&self.source(size)?, size)?)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        Ok(inclusion_proof(&self.source(size)?, index, size)?)
    }

    /// The consistency proof from the tree of `old` entries to that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        Ok(consistency_proof(&self.source(new)?, old, new)?)
    }

    fn source(&self, size: u64) -> Result<LiveSource<'_>> {
        let have = self.size();
        if size > have {
            return Err(Error::NotYet {
                what: format!("the ledger holds {have} entries, not {size}"),
            });
        }
        Ok(LiveSource {
            shared: &self.shared,
            size,
        })
    }

    /// The bytes of entry `index`, checked against its leaf hash.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        let sh = &*self.shared;
        let _gc = sh.gc.read().unwrap_or_else(|p| p.into_inner());
        let (span, tiled, tiled_offset, size, pruned) = {
            let t = sh.tail();
            (
                t.span(index),
                t.tiled.size(),
                t.tiled_offset,
                t.size,
                t.pruned,
            )
        };
        if index >= size {
            return Err(Error::NotYet {
                what: format!("entry {index} does not exist: the ledger holds {size} entries"),
            });
        }
        if index < pruned.below {
            return Err(Error::Pruned {
                index,
                below: pruned.below,
            });
        }
        let entries_path = sh.path(ENTRIES);
        let (entry, leaf) = match span {
            Some((start, end)) => {
                let mut buf = vec![0; (end - start) as usize];
                sh.reader
                    .read_exact_at(start, &mut buf)
                    .map_err(Error::io(&entries_path, "read"))?;
                let r = record::parse(&buf).map_err(|bad| Error::Corrupt {
                    path: entries_path.clone(),
                    offset: Some(start),
                    index: Some(index),
                    what: bad.describe(),
                })?;
                (r.entry.to_vec(), r.leaf)
            }
            None => read_tiled_entry(sh, index, pruned, tiled, tiled_offset)?,
        };
        let want = read_nodes(sh, size, &[NodeId::leaf(index)])?
            .pop()
            .ok_or_else(|| Error::NotYet {
                what: format!("no stored hash for entry {index}"),
            })?;
        if leaf != want {
            return Err(Error::Corrupt {
                path: entries_path,
                offset: span.map(|s| s.0),
                index: Some(index),
                what: format!("the stored entry hashes to {leaf}, but the tree holds {want}"),
            });
        }
        Ok(entry)
    }

    /// A receipt for entry `index` against the latest signed checkpoint: the
    /// entry, its inclusion proof and the checkpoint, verified before it is
    /// returned.
    pub fn receipt(&self, index: u64) -> Result<Receipt> {
        let signed = self.signed().ok_or_else(|| Error::NotYet {
            what: "no checkpoint has been signed yet; call sign_checkpoint".into(),
        })?;
        let size = signed.checkpoint.size();
        if index >= size {
            return Err(Error::NotYet {
                what: format!(
                    "entry {index} is not covered by the latest signed checkpoint ({size} entries) yet; call sign_checkpoint"
                ),
            });
        }
        let receipt = Receipt {
            entry: self.entry(index)?,
            index,
            proof: self.inclusion_proof(index, size)?,
            checkpoint: signed.note,
            extra: None,
        };
        verify_receipt(&receipt, &self.shared.trust).map_err(|e| Error::Corrupt {
            path: self.shared.dir.clone(),
            offset: None,
            index: Some(index),
            what: format!("the receipt built from the stored data does not verify: {e}"),
        })?;
        Ok(receipt)
    }

    /// Recreates the derived files (tiles, entry bundles, state) from the entries
    /// file, up to its last whole record. The entries and the checkpoint are not
    /// touched; opening afterwards checks them against the last signed checkpoint.
    pub fn rebuild(dir: impl AsRef<Path>, fs: Arc<dyn Fs>, entry_bundles: bool) -> Result<State> {
        let dir = dir.as_ref();
        let lock_path = dir.join(LOCK);
        let _lock = fs.try_lock(&lock_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked {
                    dir: dir.to_path_buf(),
                    lock: lock_path.clone(),
                }
            } else {
                Error::io(&lock_path, "lock")(e)
            }
        })?;
        if let Some(pruned) = Pruned::read(&*fs, dir)?
            && pruned.below > 0
        {
            return Err(Error::Refused {
                dir: dir.to_path_buf(),
                reason: format!(
                    "entries below {} were pruned, so their tiles cannot be recreated from the entries file; restore the tiles from a backup (or the whole directory from one taken before pruning)",
                    pruned.below
                ),
            });
        }
        let entries_path = dir.join(ENTRIES);
        let file = fs
            .open_log(&entries_path, false)
            .map_err(Error::io(&entries_path, "open the entries file"))?;
        let len = file
            .len()
            .map_err(Error::io(&entries_path, "read the length of"))?;
        let reader = Reader { fs: &*fs, dir };
        let mut scanner = Scanner::new(&*file, 0, len);
        let mut frontier = Frontier::new();
        let mut stale = Vec::new();
        let mut groups: Vec<u8> = Vec::new();
        loop {
            let mut leaves = Vec::new();
            let mut entries: Vec<Vec<u8>> = Vec::new();
            while leaves.len() < 65_536 {
                let offset = scanner.offset();
                match scanner
                    .next_record()
                    .map_err(Error::io(&entries_path, "read"))?
                {
                    Ok(Some(r)) => {
                        if (frontier.size() + leaves.len() as u64).is_multiple_of(256) {
                            groups.extend_from_slice(&offset.to_be_bytes());
                        }
                        leaves.push(r.leaf);
                        entries.push(r.entry.to_vec());
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            if leaves.is_empty() {
                break;
            }
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            let d = derive(&reader, &frontier, &leaves, &refs, entry_bundles)?;
            write_all_synced(&*fs, dir, &d.files)?;
            stale.extend(d.stale);
            frontier = d.frontier;
        }
        let index_path = dir.join(INDEX);
        let index = fs
            .open_log(&index_path, true)
            .map_err(Error::io(&index_path, "open the offset index"))?;
        index
            .truncate(0)
            .and_then(|()| index.write_all_at(0, &groups))
            .and_then(|()| index.sync_data())
            .map_err(Error::io(&index_path, "write the offset index"))?;
        fs.sync_dir(dir)
            .map_err(Error::io(dir, "sync the directory"))?;
        let state = State {
            size: frontier.size(),
            offset: scanner.offset(),
        };
        replace_atomically(&*fs, &dir.join(STATE), state.to_text().as_bytes())?;
        for p in stale {
            let _ = fs.remove_file(&p);
        }
        Ok(state)
    }
}

/// Entry `index` below the tiles' size (and not pruned), found through the
/// offset index: the records of its group of 256 are read and walked to it.
fn read_tiled_entry(
    sh: &Shared,
    index: u64,
    pruned: Pruned,
    tiled: u64,
    tiled_offset: u64,
) -> Result<(Vec<u8>, Hash)> {
    let (start, buf) = walk_to(sh, index, pruned, tiled, tiled_offset)?;
    let r = record::parse(&buf).map_err(|bad| Error::Corrupt {
        path: sh.path(ENTRIES),
        offset: Some(start),
        index: Some(index),
        what: bad.describe(),
    })?;
    Ok((r.entry.to_vec(), r.leaf))
}

/// Where entry `index` (below the tiles' size, not pruned) starts, and the bytes
/// from there to the end of its group: the group's records are walked from its
/// first entry, or from the pruned boundary when that lies inside the group (the
/// records before it are gone).
fn walk_to(
    sh: &Shared,
    index: u64,
    pruned: Pruned,
    tiled: u64,
    tiled_offset: u64,
) -> Result<(u64, Vec<u8>)> {
    let entries_path = sh.path(ENTRIES);
    let k = index / 256;
    let (group_start, end) = group_span(sh, k, tiled, tiled_offset)?;
    let (mut i, start) = if pruned.below > k * 256 && pruned.below <= index {
        (pruned.below, pruned.offset)
    } else {
        (k * 256, group_start)
    };
    if start > end {
        return Err(Error::Corrupt {
            path: sh.path(PRUNED),
            offset: None,
            index: Some(pruned.below),
            what: format!(
                "the pruned marker puts entry {} at byte {start}, past the end of its group ({end})",
                pruned.below
            ),
        });
    }
    let mut buf = vec![0u8; (end - start) as usize];
    sh.reader
        .read_exact_at(start, &mut buf)
        .map_err(Error::io(&entries_path, "read"))?;
    let mut pos = 0usize;
    while i < index {
        pos += record::skip(&buf[pos..]).map_err(|bad| Error::Corrupt {
            path: entries_path.clone(),
            offset: Some(start + pos as u64),
            index: Some(i),
            what: bad.describe(),
        })?;
        i += 1;
    }
    buf.drain(..pos);
    Ok((start + pos as u64, buf))
}

/// Where the records of entries `k·256..(k+1)·256` (below the tiles' size) lie
/// in the entries file, from the offset index.
fn group_span(sh: &Shared, k: u64, tiled: u64, tiled_offset: u64) -> Result<(u64, u64)> {
    let index_path = sh.path(INDEX);
    let offset_of = |k: u64| -> Result<u64> {
        let mut b = [0u8; 8];
        sh.index
            .read_exact_at(k * 8, &mut b)
            .map_err(Error::io(&index_path, "read"))?;
        Ok(u64::from_be_bytes(b))
    };
    let start = offset_of(k)?;
    let end = if (k + 1) * 256 < tiled {
        offset_of(k + 1)?
    } else {
        tiled_offset
    };
    let most = 256 * (MAX_ENTRY + record::OVERHEAD) as u64;
    if end < start || end - start > most || end > tiled_offset {
        return Err(Error::Corrupt {
            path: index_path,
            offset: Some(k * 8),
            index: Some(k * 256),
            what: format!(
                "the offset index puts entries {}..{} at bytes {start}..{end}, which cannot be",
                k * 256,
                (k + 1) * 256
            ),
        });
    }
    Ok((start, end))
}

/// Where entry `index` (at most the tiles' size) starts in the entries file.
fn entry_offset(
    sh: &Shared,
    index: u64,
    pruned: Pruned,
    tiled: u64,
    tiled_offset: u64,
) -> Result<u64> {
    if index == tiled {
        return Ok(tiled_offset);
    }
    Ok(walk_to(sh, index, pruned, tiled, tiled_offset)?.0)
}

/// [`Ledger::prune`], on the signer thread.
fn prune(shared: &Shared, below: u64) -> Result<Pruned> {
    let (current, signed, tiled, tiled_offset) = {
        let t = shared.tail();
        if let Some(reason) = &t.failed {
            return Err(Error::stopped(reason));
        }
        (
            t.pruned,
            t.signed.as_ref().map_or(0, |s| s.checkpoint.size()),
            t.tiled.size(),
            t.tiled_offset,
        )
    };
    if below > signed {
        return Err(Error::NotYet {
            what: format!(
                "refusing to prune entries below {below}: the last signed checkpoint covers {signed}, and only entries whose hashes are durable in a signed checkpoint's tiles may be pruned; sign a checkpoint first, or prune less"
            ),
        });
    }
    let target = if below <= current.below {
        current
    } else {
        Pruned {
            below,
            offset: entry_offset(shared, below, current, tiled, tiled_offset)?,
        }
    };
    if target != current {
        // 1. The boundary, durably, before any byte goes: a reader (or a crash)
        //    never meets freed bytes that are not marked pruned.
        replace_atomically(
            &*shared.fs,
            &shared.path(PRUNED),
            target.to_text().as_bytes(),
        )?;
        // Readers of entries hold `gc` (read) while they read: none is reading a
        // record about to be freed once this returns.
        let _gc = shared.gc.write().unwrap_or_else(|p| p.into_inner());
        shared.tail().pruned = target;
    }
    // 2. Free the bytes; the file keeps its size, so every offset stays valid.
    let entries_path = shared.path(ENTRIES);
    shared
        .reader
        .punch_hole(0, target.offset)
        .and_then(|()| shared.reader.sync_data())
        .map_err(|source| Error::Io {
            path: entries_path,
            action: "free the pruned entries' bytes (punch a hole; the pruned marker is recorded, so the entries read as pruned and Ledger::prune can be retried)",
            source,
        })?;
    // 3. Entry bundles wholly below the boundary (derived copies of the entries).
    if shared.bundles {
        for b in 0..target.below / 256 {
            let path = bundle_path(&shared.dir, b, 256);
            shared
                .fs
                .remove_file(&path)
                .map_err(Error::io(&path, "delete the pruned entry bundle"))?;
        }
    }
    Ok(target)
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // The writer first (it may still nudge the signer), then the signer.
        drop(self.writer.take());
        if let Some(t) = self.writer_thread.take() {
            let _ = t.join();
        }
        drop(self.signer.take());
        if let Some(t) = self.signer_thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------
// The writer thread: group commit.

fn writer_loop(
    shared: &Shared,
    file: &dyn LogFile,
    jobs: &mpsc::Receiver<Append>,
    nudge: &mpsc::Sender<SignerMsg>,
    max_batch: usize,
    preallocate: usize,
) {
    let entries_path = shared.path(ENTRIES);
    let mut end = shared.tail().end;
    // Bytes of the file written so far, zeros past `end` included.
    let mut filled = file.len().unwrap_or(end).max(end);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut batch: Vec<Append> = Vec::with_capacity(max_batch.min(1024));
    let mut leaves: Vec<(Hash, u64)> = Vec::with_capacity(max_batch.min(1024));
    while let Ok(first) = jobs.recv() {
        batch.clear();
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        if let Some(reason) = shared.tail().failed.clone() {
            for a in batch.drain(..) {
                let _ = a.reply.send(Err(Error::stopped(&reason)));
            }
            continue;
        }
        buf.clear();
        leaves.clear();
        for a in &batch {
            let leaf = leaf_hash(&a.entry);
            let before = buf.len();
            record::encode(&mut buf, &a.entry, &leaf);
            leaves.push((leaf, (buf.len() - before) as u64));
        }
        let records = buf.len();
        // Overwriting written blocks, an fdatasync flushes the data alone; growing
        // the file, it also commits the new size (a journal commit on ext4,
        // measured at about 1.6× the time on this machine's disk). So the file is
        // grown ahead, in zeros, with the batch that reaches its end.
        if end + records as u64 > filled {
            buf.resize(records + preallocate, 0);
        }
        let written = file
            .write_all_at(end, &buf)
            .map_err(|e| format!("writing {} bytes to {} at offset {end} failed: {e}", buf.len(), entries_path.display()))
            .and_then(|()| {
                file.sync_data().map_err(|e| {
                    format!(
                        "fsync of {} failed: {e}; after a failed fsync the written data may be lost, so the ledger does not retry",
                        entries_path.display()
                    )
                })
            });
        if let Err(reason) = written {
            let reason = shared.fail(reason);
            for a in batch.drain(..) {
                let _ = a.reply.send(Err(Error::stopped(&reason)));
            }
            continue;
        }
        filled = filled.max(end + buf.len() as u64);
        end += records as u64;
        let mut indices = Vec::with_capacity(batch.len());
        let mut ask_signer = false;
        {
            let mut t = shared.tail();
            for (leaf, len) in &leaves {
                match t.push(*leaf, *len) {
                    Ok(i) => indices.push(Ok(i)),
                    Err(e) => indices.push(Err(e.to_string())),
                }
            }
            if let Some(limit) = shared.sign_after {
                let signed = t.signed.as_ref().map_or(0, |s| s.checkpoint.size());
                if !t.nudged && t.size - signed >= limit {
                    t.nudged = true;
                    ask_signer = true;
                }
            }
        }
        for (a, i) in batch.drain(..).zip(indices) {
            let r = i.map_err(|e| Error::stopped(&shared.fail(e)));
            let _ = a.reply.send(r);
        }
        if ask_signer {
            let _ = nudge.send(SignerMsg::Nudge);
        }
    }
}

// ---------------------------------------------------------------------------------
// The signer thread.

fn signer_loop(shared: &Shared, msgs: &mpsc::Receiver<SignerMsg>, interval: Option<Duration>) {
    loop {
        let msg = match interval {
            Some(d) => match msgs.recv_timeout(d) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match msgs.recv() {
                Ok(m) => Some(m),
                Err(_) => break,
            },
        };
        match msg {
            Some(SignerMsg::Sign(reply)) => {
                let _ = reply.send(sign(shared));
            }
            Some(SignerMsg::Prune(below, reply)) => {
                let _ = reply.send(prune(shared, below));
            }
            Some(SignerMsg::Nudge) | None => {
                let due = {
                    let t = shared.tail();
                    t.failed.is_none()
                        && t.size > t.signed.as_ref().map_or(0, |s| s.checkpoint.size())
                };
                if due {
                    // A failure stops the ledger; appends report it.
                    let _ = sign(shared);
                }
            }
        }
    }
}

/// What the signer needs from the tail, taken in one lock.
struct Snapshot {
    tiled: Frontier,
    tiled_offset: u64,
    size: u64,
    ends: Vec<u64>,
    leaves: Vec<Hash>,
    root: Hash,
    last: Option<SignedCheckpoint>,
}

fn sign(shared: &Shared) -> Result<SignedCheckpoint> {
    let snap = {
        let t = shared.tail();
        if let Some(reason) = &t.failed {
            return Err(Error::stopped(reason));
        }
        let k = (t.size - t.tiled.size()) as usize;
        Snapshot {
            tiled: t.tiled.clone(),
            tiled_offset: t.tiled_offset,
            size: t.size,
            ends: t.ends[..k].to_vec(),
            leaves: t.nodes.first().map(|l| l[..k].to_vec()).unwrap_or_default(),
            root: t.frontier.root(),
            last: t.signed.clone(),
        }
    };
    if let Some(last) = snap.last.clone()
        && last.checkpoint.size() == snap.size
    {
        if last.quorum_met {
            return Ok(last);
        }
        return rewitness(shared, last).map_err(|reason| Error::stopped(&shared.fail(reason)));
    }
    sign_snapshot(shared, snap).map_err(|reason| Error::stopped(&shared.fail(reason)))
}

/// Asks the witnesses to cosign `note`, the log-signed checkpoint (whose tiles
/// are on disk), and returns it with the cosignatures that verified. A witness
/// that does not cosign is reported, never a reason to stop: the checkpoint is
/// already consistent with the last one signed.
fn witness(shared: &Shared, mut note: Note, checkpoint: Checkpoint) -> SignedCheckpoint {
    let mut witness_errors = Vec::new();
    if !shared.witnesses.is_empty() {
        let n = checkpoint.size();
        let prove = |m: u64| -> Result<Vec<Hash>, String> {
            let disk = DiskSource::new(&*shared.fs, &shared.dir, n);
            consistency_proof(&disk, m, n).map_err(|e| Error::from(e).to_string())
        };
        let mut sizes = shared
            .witness_sizes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let round = witnesses::ask(&shared.witnesses, &mut sizes, &note, &checkpoint, &prove);
        *shared
            .witness_sizes
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = sizes;
        for s in round.cosignatures {
            note.add_signature(s);
        }
        witness_errors = round.errors;
    }
    let cosigned = witnesses::count_cosigned(&note, &shared.witnesses);
    let quorum_met = cosigned >= shared.witness_quorum;
    if !quorum_met {
        witness_errors.insert(
            0,
            format!(
                "{cosigned} of the {} witnesses required cosigned the checkpoint of {} entries",
                shared.witness_quorum,
                checkpoint.size()
            ),
        );
    }
    SignedCheckpoint {
        note: note.to_string(),
        checkpoint,
        cosigned,
        quorum_met,
        witness_errors,
    }
}

/// Asks the witnesses again for the latest checkpoint, which lacks its quorum,
/// and records the cosignatures gained (compare-and-swap, as when signing).
fn rewitness(shared: &Shared, last: SignedCheckpoint) -> Result<SignedCheckpoint, String> {
    let note = Note::parse(last.note.as_bytes())
        .map_err(|e| format!("the last signed checkpoint cannot be read back: {e}"))?;
    let signed = witness(shared, note, last.checkpoint.clone());
    if signed.note != last.note {
        record_checkpoint(shared, Some(&last.note), &signed)?;
    }
    let mut t = shared.tail();
    t.signed = Some(signed.clone());
    Ok(signed)
}

/// Records `signed` by compare-and-swap on the checkpoint store (which must still
/// hold `old`), then in the ledger's own copy when the store is elsewhere.
fn record_checkpoint(
    shared: &Shared,
    old: Option<&str>,
    signed: &SignedCheckpoint,
) -> Result<(), String> {
    match shared.store.compare_and_swap(old, &signed.note) {
        Ok(true) => {}
        Ok(false) => {
            return Err(format!(
                "the checkpoint store {} no longer holds the checkpoint this ledger signed last: another writer signed, or it was edited",
                shared.store.location().display()
            ));
        }
        Err(e) => return Err(format!("recording the checkpoint: {e}")),
    }
    if shared.external {
        replace_atomically(
            &*shared.fs,
            &shared.path(CHECKPOINT),
            signed.note.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Signs the snapshot; any failure is returned as the reason the ledger stops.
fn sign_snapshot(shared: &Shared, snap: Snapshot) -> Result<SignedCheckpoint, String> {
    let s = snap.tiled.size();
    let n = snap.size;
    if let Some(last) = &snap.last
        && n < last.checkpoint.size()
    {
        return Err(format!(
            "refusing to sign {n} entries: the last signed checkpoint covers {}",
            last.checkpoint.size()
        ));
    }
    let entries_path = shared.path(ENTRIES);
    let reader = Reader {
        fs: &*shared.fs,
        dir: &shared.dir,
    };
    // 1. Re-hash the new entries from the bytes read back from the entries file,
    //    in chunks, and derive their tiles and bundles from those bytes.
    let mut frontier = snap.tiled.clone();
    let mut stale = Vec::new();
    let mut start_offset = snap.tiled_offset;
    let mut i = s;
    // The offset index records of the groups of 256 that start in s..n.
    let mut groups: Vec<u8> = Vec::new();
    const CHUNK: usize = 16_384;
    for (chunk_ends, chunk_leaves) in snap.ends.chunks(CHUNK).zip(snap.leaves.chunks(CHUNK)) {
        let end_offset = chunk_ends.last().copied().unwrap_or(start_offset);
        let mut buf = vec![0u8; (end_offset - start_offset) as usize];
        shared
            .reader
            .read_exact_at(start_offset, &mut buf)
            .map_err(|e| {
                format!(
                    "reading back entries {i}.. from {} at offset {start_offset} failed: {e}",
                    entries_path.display()
                )
            })?;
        let mut entries: Vec<&[u8]> = Vec::with_capacity(chunk_ends.len());
        let mut leaves = Vec::with_capacity(chunk_ends.len());
        let mut pos = 0usize;
        for (k, (end, leaf)) in chunk_ends.iter().zip(chunk_leaves).enumerate() {
            let index = i + k as u64;
            let offset = start_offset + pos as u64;
            let r = record::parse(&buf[pos..]).map_err(|bad| {
                format!(
                    "entry {index} read back from {} at offset {offset}: {}; refusing to sign",
                    entries_path.display(),
                    bad.describe()
                )
            })?;
            if offset + r.len as u64 != *end {
                return Err(format!(
                    "entry {index} read back from {} at offset {offset} is {} bytes long, but {} were written; refusing to sign",
                    entries_path.display(),
                    r.len,
                    end - offset
                ));
            }
            if r.leaf != *leaf {
                return Err(format!(
                    "entry {index} read back from {} at offset {offset} hashes to {}, but {} was computed when it was appended (memory or disk corruption); refusing to sign",
                    entries_path.display(),
                    r.leaf,
                    leaf
                ));
            }
            if index.is_multiple_of(256) {
                groups.extend_from_slice(&offset.to_be_bytes());
            }
            leaves.push(r.leaf);
            entries.push(r.entry);
            pos += r.len;
        }
        let d = derive(&reader, &frontier, &leaves, &entries, shared.bundles)
            .map_err(|e| format!("deriving the tiles of entries {i}..: {e}"))?;
        write_all_synced(&*shared.fs, &shared.dir, &d.files)
            .map_err(|e| format!("writing the tiles of entries {i}..: {e}"))?;
        stale.extend(d.stale);
        frontier = d.frontier;
        i += chunk_ends.len() as u64;
        start_offset = end_offset;
    }
    if !groups.is_empty() {
        let index_path = shared.path(INDEX);
        shared
            .index
            .write_all_at(s.div_ceil(256) * 8, &groups)
            .and_then(|()| shared.index.sync_data())
            .map_err(|e| format!("writing the offset index {}: {e}", index_path.display()))?;
    }
    let root = frontier.root();
    if root != snap.root || frontier.size() != n {
        return Err(format!(
            "the entries read back give the root {root} for {} entries, but the writer computed {} for {n}; refusing to sign",
            frontier.size(),
            snap.root
        ));
    }
    // 2. The tiles now on disk must give the same root.
    let disk = DiskSource::new(&*shared.fs, &shared.dir, n);
    if n > 0 {
        let from_tiles = tree_root(&disk, n)
            .map_err(|e| format!("reading the new tiles back: {}", Error::from(e)))?;
        if from_tiles != root {
            return Err(format!(
                "the tiles written give the root {from_tiles}, not {root}; refusing to sign"
            ));
        }
    }
    // 3. The local witness: the new tree extends the last signed one.
    if let Some(last) = &snap.last {
        let m = last.checkpoint.size();
        if m > 0 {
            let proof = consistency_proof(&disk, m, n).map_err(|e| {
                format!("the consistency proof from {m} to {n}: {}", Error::from(e))
            })?;
            verify_consistency(m, n, last.checkpoint.root(), &root, &proof).map_err(|e| {
                format!(
                    "refusing to sign: the tree of {n} entries is not consistent with the last signed checkpoint of {m} ({e})"
                )
            })?;
        }
    }
    // 4. Sign with every key.
    let checkpoint = Checkpoint::new(&shared.origin, n, root).map_err(|e| e.to_string())?;
    let mut note = Note::new(checkpoint.to_text()).map_err(|e| e.to_string())?;
    for key in &shared.signers {
        note.sign(key);
    }
    // 5. The witnesses' cosignatures (reported, never a reason to stop).
    let signed = witness(shared, note, checkpoint);
    // 6. The state, then the compare-and-swap, then the ledger's own copy.
    let state = State {
        size: n,
        offset: start_offset,
    };
    replace_atomically(&*shared.fs, &shared.path(STATE), state.to_text().as_bytes())
        .map_err(|e| e.to_string())?;
    let old = snap.last.as_ref().map(|l| l.note.as_str());
    record_checkpoint(shared, old, &signed)?;
    // 7. Tiles now cover the new size: drop what memory no longer needs, and the
    //    partial tiles the new ones replace.
    {
        let _gc = shared.gc.write().unwrap_or_else(|p| p.into_inner());
        {
            let mut t = shared.tail();
            let k = (n - s) as usize;
            t.ends.drain(..k);
            for (l, level) in t.nodes.iter_mut().enumerate() {
                let drop = ((n >> l) - (s >> l)) as usize;
                level.drain(..drop.min(level.len()));
            }
            t.tiled = frontier;
            t.tiled_offset = start_offset;
            t.signed = Some(signed.clone());
            t.nudged = false;
        }
        for p in &stale {
            // A stale partial tile left behind is harmless: readers use the
            // state's size.
            let _ = shared.fs.remove_file(p);
        }
    }
    Ok(signed)
}
