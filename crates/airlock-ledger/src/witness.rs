//! Where the last signed checkpoint is recorded, with compare-and-swap: the
//! ledger's own `checkpoint` file, or a file outside the ledger directory, so that
//! a ledger directory restored from an old backup cannot pass for the current one.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::fs::{Fs, OsFs};

/// The record of the last signed checkpoint, updated by compare-and-swap.
pub trait CheckpointStore: Send + Sync + std::fmt::Debug {
    /// The last signed checkpoint note, if any.
    fn load(&self) -> Result<Option<String>>;

    /// Replaces the record with `new` if it still holds `old` (`None`: empty).
    /// `Ok(false)` when it holds something else: another writer signed.
    fn compare_and_swap(&self, old: Option<&str>, new: &str) -> Result<bool>;

    /// Where the record is kept, for messages.
    fn location(&self) -> PathBuf;
}

/// A checkpoint record in one file, replaced atomically (temp file, fsync,
/// rename, fsync of the directory), the swap serialised by a lock file beside it.
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    fs: Arc<dyn Fs>,
    path: PathBuf,
}

impl FileCheckpointStore {
    /// A record kept in `path` on the real file system. Keep it outside the
    /// ledger directory (another disk or mount is better still).
    pub fn new(path: impl Into<PathBuf>) -> FileCheckpointStore {
        FileCheckpointStore::with_fs(Arc::new(OsFs), path)
    }

    /// A record kept in `path` on `fs`.
    pub fn with_fs(fs: Arc<dyn Fs>, path: impl Into<PathBuf>) -> FileCheckpointStore {
        FileCheckpointStore {
            fs,
            path: path.into(),
        }
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(suffix);
        self.path.with_file_name(name)
    }
}

impl CheckpointStore for FileCheckpointStore {
    fn load(&self) -> Result<Option<String>> {
        read_text(&*self.fs, &self.path)
    }

    fn compare_and_swap(&self, old: Option<&str>, new: &str) -> Result<bool> {
        let lock_path = self.sibling(".lock");
        let deadline = Instant::now() + Duration::from_secs(5);
        let _lock = loop {
            match self.fs.try_lock(&lock_path) {
                Ok(l) => break l,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(Error::io(&lock_path, "lock the checkpoint store")(e)),
            }
        };
        if self.load()?.as_deref() != old {
            return Ok(false);
        }
        replace_atomically(&*self.fs, &self.path, new.as_bytes())?;
        Ok(true)
    }

    fn location(&self) -> PathBuf {
        self.path.clone()
    }
}

/// Reads a UTF-8 file; `None` if it does not exist.
pub fn read_text(fs: &dyn Fs, path: &Path) -> Result<Option<String>> {
    match fs.read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::Corrupt {
                path: path.to_path_buf(),
                offset: None,
                index: None,
                what: "not UTF-8".into(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, "read")(e)),
    }
}

/// Replaces `path` with `data`: writes `path.tmp`, syncs it, renames it over
/// `path`, syncs the directory. A crash leaves the old file or the new one.
pub fn replace_atomically(fs: &dyn Fs, path: &Path, data: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs.write_synced(&tmp, data)
        .map_err(Error::io(&tmp, "write and sync"))?;
    fs.rename(&tmp, path)
        .map_err(Error::io(path, "rename the new version into place"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs.sync_dir(dir)
        .map_err(Error::io(dir, "sync the directory"))
}
