//! The file operations the ledger uses, behind a trait: the real file system
//! ([`OsFs`]) and an in-memory one that can fail and crash on demand ([`MemFs`]).
//!
//! Every write the ledger makes goes through [`Fs`] and [`LogFile`], so a test can
//! stop the "machine" at any operation and see what a power loss would have left:
//! [`MemFs`] keeps, per file, the bytes written and the bytes known to be durable
//! (synced), and per directory, the names known to be durable (the directory was
//! synced after they were created or renamed). [`MemFs::crash`] throws away
//! everything not durable, optionally keeping a random part of the unsynced tail
//! of a file or appending garbage to it (torn writes).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A held lock; dropping it releases the lock.
pub trait LockGuard: Send + Sync {}

/// A file written only at its end and read anywhere: the entries file.
#[allow(clippy::len_without_is_empty)]
pub trait LogFile: Send + Sync {
    /// The current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset` (the caller's end of file).
    fn write_all_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes the written bytes durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Frees the bytes `offset..offset + len` (they read as zeros afterwards)
    /// while the file keeps its size, so every offset past them stays valid: what
    /// pruning does to the entries file. A file system that cannot punch holes
    /// answers [`io::ErrorKind::Unsupported`]; nothing is freed then. Not
    /// durable until [`LogFile::sync_data`].
    fn punch_hole(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this file cannot have holes punched in it",
        ))
    }
}

/// The file system, as the ledger sees it.
pub trait Fs: Send + Sync + fmt::Debug {
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path` (created if missing) without waiting:
    /// [`io::ErrorKind::WouldBlock`] if someone else holds it.
    fn try_lock(&self, path: &Path) -> io::Result<Box<dyn LockGuard>>;
    /// Opens `path` for reading and writing, creating it if `create`.
    fn open_log(&self, path: &Path, create: bool) -> io::Result<Box<dyn LogFile>>;
    /// Opens an existing `path` for reading only: what a verifier or a reader
    /// beside the writer uses, so that it works on a read-only copy or mount and
    /// can never write. By default [`Fs::open_log`] without creating.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        self.open_log(path, false)
    }
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates or replaces `path` with `data` and makes the bytes durable
    /// (`fsync`); the name is durable once the directory is synced.
    fn write_synced(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Renames a file (atomically replacing `to`).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries durable (`fsync` on the directory).
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Removes a file; a missing file is not an error.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
}

// ---------------------------------------------------------------------------------
// The real file system.

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFs;

struct OsLock(#[allow(dead_code)] File);
impl LockGuard for OsLock {}

struct OsLog(File);

impl LogFile for OsLog {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_all_at(data, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)?;
        self.0.sync_all()
    }
    #[cfg(target_os = "linux")]
    fn punch_hole(&self, offset: u64, len: u64) -> io::Result<()> {
        use rustix::fs::{FallocateFlags, fallocate};
        if len == 0 {
            return Ok(());
        }
        // KEEP_SIZE: the file's length, and so every stored offset, stays.
        fallocate(
            &self.0,
            FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
            offset,
            len,
        )
        .map_err(|e| {
            let e = io::Error::from(e);
            if e.raw_os_error() == Some(95) {
                // EOPNOTSUPP: this file system keeps every block.
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("the file system cannot punch holes ({e})"),
                )
            } else {
                e
            }
        })
    }
}

impl Fs for OsFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn try_lock(&self, path: &Path) -> io::Result<Box<dyn LockGuard>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // A lock just released can look held for a moment: a process that spawns
        // a child (any of its threads) holds a copy of every descriptor, the lock's
        // too, until the child execs. A real second writer still holds it after
        // the grace period.
        let grace = std::time::Instant::now() + std::time::Duration::from_millis(500);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Box::new(OsLock(file))),
                Err(TryLockError::WouldBlock) if std::time::Instant::now() < grace => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "the lock is held by another open ledger",
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }

    fn open_log(&self, path: &Path, create: bool) -> io::Result<Box<dyn LogFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Box::new(OsLog(file)))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        // Writes through this handle fail (the file is not open for writing).
        Ok(Box::new(OsLog(File::open(path)?)))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn write_synced(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut file = File::create(path)?;
        file.write_all(data)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

// ---------------------------------------------------------------------------------
// The in-memory file system with faults.

/// An in-memory file system for tests: deterministic, fast, and able to fail.
///
/// Faults, armed with [`MemFs::set_fault`]:
/// - [`Fault::CrashAt`]: the `k`-th operation from now fails, and so does every
///   later one, as if the machine had stopped there; then [`MemFs::crash`]
///   "reboots" it, keeping only what was durable.
/// - [`Fault::FailSyncOnce`]: the next sync fails with an I/O error; later ones
///   succeed again (the kernel forgot the error: fsyncgate).
/// - [`Fault::NoHolePunch`]: hole punching fails, as on a file system without it.
/// - [`Fault::DiskFull`]: writes fail with "no space left on device" once this
///   many more bytes have been written.
///
/// Directories are implicit (any path can hold files); the durability of names is
/// modelled per parent directory, the durability of bytes per file.
#[derive(Clone, Default)]
pub struct MemFs {
    inner: Arc<Mutex<MemState>>,
}

impl fmt::Debug for MemFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemFs")
    }
}

/// A fault to inject ([`MemFs::set_fault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No fault.
    None,
    /// The operation this many operations from now (0 = the next) fails, and
    /// every later one too, until [`MemFs::crash`].
    CrashAt(u64),
    /// The next sync (file data or directory) fails; later ones succeed.
    FailSyncOnce,
    /// Writes fail with "no space left on device" once this many more bytes have
    /// been written.
    DiskFull(u64),
    /// Hole punching fails as on a file system without it (`EOPNOTSUPP`); other
    /// operations succeed.
    NoHolePunch,
}

/// What a crash does to the bytes written but not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Torn {
    /// Every unsynced byte is lost.
    Clean,
    /// A random prefix of each file's unsynced tail survives.
    Prefix,
    /// A random prefix survives and random garbage follows it.
    Garbage,
}

#[derive(Default)]
struct MemFile {
    data: Vec<u8>,
    synced: Vec<u8>,
    /// The lowest offset written since the last sync (`usize::MAX`: none).
    dirty_from: usize,
}

impl MemFile {
    fn durable(data: Vec<u8>) -> MemFile {
        MemFile {
            synced: data.clone(),
            data,
            dirty_from: usize::MAX,
        }
    }

    fn sync(&mut self) {
        if self.dirty_from >= self.synced.len() && self.data.len() >= self.synced.len() {
            // Only appended since the last sync: copy the new tail.
            let from = self.synced.len();
            self.synced.extend_from_slice(&self.data[from..]);
        } else {
            self.synced = self.data.clone();
        }
        self.dirty_from = usize::MAX;
    }
}

type Node = Arc<Mutex<MemFile>>;

#[derive(Default)]
struct MemState {
    files: HashMap<PathBuf, Node>,
    durable: HashMap<PathBuf, Node>,
    locks: HashSet<PathBuf>,
    ops: u64,
    fault: Option<Fault>,
    crashed: bool,
    written: u64,
}

fn lock_node(node: &Node) -> MutexGuard<'_, MemFile> {
    node.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Write(usize),
    Sync,
    Punch,
    Other,
}

impl MemFs {
    /// An empty file system.
    pub fn new() -> MemFs {
        MemFs::default()
    }

    fn state(&self) -> MutexGuard<'_, MemState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms a fault (replacing any armed one).
    pub fn set_fault(&self, fault: Fault) {
        let mut s = self.state();
        s.fault = Some(fault);
        s.written = 0;
        s.ops = 0;
    }

    /// Whether a [`Fault::CrashAt`] has fired.
    pub fn has_crashed(&self) -> bool {
        self.state().crashed
    }

    /// Operations performed since the last [`MemFs::set_fault`] or crash.
    pub fn ops(&self) -> u64 {
        self.state().ops
    }

    /// Counts an operation and applies the armed fault.
    fn tick(&self, op: Op) -> io::Result<()> {
        let mut s = self.state();
        if s.crashed {
            return Err(io::Error::other("simulated crash: the machine is down"));
        }
        let n = s.ops;
        s.ops += 1;
        match s.fault {
            Some(Fault::CrashAt(k)) if n >= k => {
                s.crashed = true;
                Err(io::Error::other("simulated crash"))
            }
            Some(Fault::NoHolePunch) if op == Op::Punch => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the file system cannot punch holes (simulated)",
            )),
            Some(Fault::FailSyncOnce) if op == Op::Sync => {
                s.fault = None;
                Err(io::Error::other("simulated I/O error on sync"))
            }
            Some(Fault::DiskFull(limit)) => {
                if let Op::Write(len) = op {
                    if s.written + len as u64 > limit {
                        return Err(io::Error::new(
                            io::ErrorKind::StorageFull,
                            "no space left on device (simulated)",
                        ));
                    }
                    s.written += len as u64;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Reboots after a crash (or simulates a power loss at any time): every file
    /// goes back to its durable bytes, every directory to its durable names; with
    /// [`Torn::Prefix`] or [`Torn::Garbage`], a random part of each file's
    /// unsynced appended tail survives, and garbage may follow it. Faults are
    /// disarmed and locks released (the processes are gone).
    pub fn crash(&self, torn: Torn, seed: u64) {
        let mut s = self.state();
        let mut rng = SplitMix(seed);
        let mut files = HashMap::new();
        let mut names: Vec<_> = s.durable.keys().cloned().collect();
        names.sort();
        for name in names {
            let Some(node) = s.durable.get(&name) else {
                continue;
            };
            let f = lock_node(node);
            let mut kept = f.synced.clone();
            if torn != Torn::Clean && f.data.len() > f.synced.len() && f.data.starts_with(&f.synced)
            {
                let extra = f.data.len() - f.synced.len();
                let keep = (rng.next() % (extra as u64 + 1)) as usize;
                kept.extend_from_slice(&f.data[f.synced.len()..f.synced.len() + keep]);
                if torn == Torn::Garbage && rng.next().is_multiple_of(2) {
                    let junk = (rng.next() % 48) as usize + 1;
                    kept.extend((0..junk).map(|_| rng.next() as u8));
                }
            }
            drop(f);
            files.insert(name, Arc::new(Mutex::new(MemFile::durable(kept))));
        }
        s.durable = files.clone();
        s.files = files;
        s.locks.clear();
        s.fault = None;
        s.crashed = false;
        s.ops = 0;
        s.written = 0;
    }

    /// The current bytes of a file (not an operation: no fault applies).
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state();
        s.files.get(path).map(|n| lock_node(n).data.clone())
    }

    /// Replaces a file's bytes, durably (for tampering in tests; no fault applies).
    pub fn put(&self, path: &Path, data: &[u8]) {
        let mut s = self.state();
        let node = Arc::new(Mutex::new(MemFile::durable(data.to_vec())));
        s.files.insert(path.to_path_buf(), node.clone());
        s.durable.insert(path.to_path_buf(), node);
    }

    /// Flips bits of a file in place, as seen through every open handle (the disk
    /// or the page cache going bad under an open ledger). No fault applies.
    pub fn flip(&self, path: &Path, offset: usize, mask: u8) -> bool {
        let s = self.state();
        let Some(node) = s.files.get(path) else {
            return false;
        };
        let mut f = lock_node(node);
        match f.data.get_mut(offset) {
            Some(b) => {
                *b ^= mask;
                if let Some(b) = f.synced.get_mut(offset) {
                    *b ^= mask;
                }
                true
            }
            None => false,
        }
    }

    /// Every file under `dir`, sorted.
    pub fn list(&self, dir: &Path) -> Vec<PathBuf> {
        let s = self.state();
        let mut v: Vec<_> = s
            .files
            .keys()
            .filter(|p| p.starts_with(dir))
            .cloned()
            .collect();
        v.sort();
        v
    }

    fn node(&self, path: &Path) -> io::Result<Node> {
        self.state().files.get(path).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file", path.display()),
            )
        })
    }
}

struct MemLock {
    fs: MemFs,
    path: PathBuf,
}
impl LockGuard for MemLock {}
impl Drop for MemLock {
    fn drop(&mut self) {
        self.fs.state().locks.remove(&self.path);
    }
}

struct MemLog {
    fs: MemFs,
    node: Node,
}

impl LogFile for MemLog {
    fn len(&self) -> io::Result<u64> {
        Ok(lock_node(&self.node).data.len() as u64)
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = lock_node(&self.node);
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let src = f
            .data
            .get(start..start + buf.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_all_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.fs.tick(Op::Write(data.len()))?;
        let mut f = lock_node(&self.node);
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        if f.data.len() < start {
            f.data.resize(start, 0);
        }
        let end = start + data.len();
        if f.data.len() < end {
            f.data.resize(end, 0);
        }
        f.data[start..end].copy_from_slice(data);
        f.dirty_from = f.dirty_from.min(start);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        self.fs.tick(Op::Sync)?;
        lock_node(&self.node).sync();
        Ok(())
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.fs.tick(Op::Sync)?;
        let mut f = lock_node(&self.node);
        let len = usize::try_from(len).map_err(io::Error::other)?;
        f.data.truncate(len);
        f.dirty_from = 0;
        f.sync();
        Ok(())
    }
    fn punch_hole(&self, offset: u64, len: u64) -> io::Result<()> {
        self.fs.tick(Op::Punch)?;
        let mut f = lock_node(&self.node);
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = usize::try_from(offset.saturating_add(len))
            .map_err(io::Error::other)?
            .min(f.data.len());
        if start < end {
            f.data[start..end].fill(0);
            f.dirty_from = f.dirty_from.min(start);
        }
        Ok(())
    }
}

impl Fs for MemFs {
    fn create_dir_all(&self, _path: &Path) -> io::Result<()> {
        self.tick(Op::Other)
    }

    fn try_lock(&self, path: &Path) -> io::Result<Box<dyn LockGuard>> {
        let mut s = self.state();
        if !s.locks.insert(path.to_path_buf()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the lock is held by another open ledger",
            ));
        }
        Ok(Box::new(MemLock {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }

    fn open_log(&self, path: &Path, create: bool) -> io::Result<Box<dyn LogFile>> {
        let node = match self.node(path) {
            Ok(n) => n,
            Err(e) if !create => return Err(e),
            Err(_) => {
                self.tick(Op::Other)?;
                let n = Node::default();
                self.state().files.insert(path.to_path_buf(), n.clone());
                n
            }
        };
        Ok(Box::new(MemLog {
            fs: self.clone(),
            node,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        Ok(lock_node(&self.node(path)?).data.clone())
    }

    fn write_synced(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.tick(Op::Write(data.len()))?;
        // A new file (a new inode): replacing one never changes the old file's
        // durable bytes, only the name once the directory is synced.
        let node = Node::default();
        self.state().files.insert(path.to_path_buf(), node.clone());
        {
            let mut f = lock_node(&node);
            f.data = data.to_vec();
            f.dirty_from = 0;
        }
        self.tick(Op::Sync)?;
        lock_node(&node).sync();
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.tick(Op::Other)?;
        let mut s = self.state();
        let node = s.files.remove(from).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file", from.display()),
            )
        })?;
        s.files.insert(to.to_path_buf(), node);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.tick(Op::Sync)?;
        let mut s = self.state();
        let in_dir = |p: &Path| p.parent() == Some(path);
        let current: Vec<(PathBuf, Node)> = s
            .files
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, n)| (p.clone(), n.clone()))
            .collect();
        s.durable.retain(|p, _| !in_dir(p));
        s.durable.extend(current);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.tick(Op::Other)?;
        self.state().files.remove(path);
        Ok(())
    }
}

/// A small deterministic generator (SplitMix64) for crash simulation.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
