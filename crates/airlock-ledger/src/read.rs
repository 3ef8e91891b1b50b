//! Reading a ledger directory without opening it: for auditors, and for tools
//! that run beside the writer.
//!
//! Nothing here takes the writer's lock or opens a file for writing, so it works
//! while a [`Ledger`](crate::Ledger) holds the directory, on a read-only copy,
//! and on a read-only mount. Nothing here *verifies* either: [`read_checkpoint`]
//! says what the writer signed last without checking the signature, and
//! [`read_entries`] checks each record's own check value only. An auditor who
//! needs proof runs [`verify`](crate::verify) with the log's public keys.

use std::path::{Path, PathBuf};

use airlock_tlog::{Checkpoint, Note};

use crate::error::{Error, Result};
use crate::fs::{Fs, LogFile, OsFs};
use crate::layout::{CHECKPOINT, ENTRIES, Pruned};
use crate::ledger::SignedCheckpoint;
use crate::record::{NoFile, Scanner};
use crate::witness::read_text;

/// The directory's `checkpoint` file (real file system). See
/// [`read_checkpoint_with`].
pub fn read_checkpoint(dir: impl AsRef<Path>) -> Result<Option<SignedCheckpoint>> {
    read_checkpoint_with(&OsFs, dir.as_ref())
}

/// The last checkpoint the writer of `dir` signed, as its `checkpoint` file holds
/// it: the note verbatim and what it says (origin, size, root). `None` if nothing
/// has been signed yet.
///
/// The signatures are **not** checked (`cosigned` is 0 and `quorum_met` false:
/// nothing was counted): this says which entries the writer
/// vouched for, not that they are genuine. Check the note with
/// [`LogTrust::verify_checkpoint`](airlock_tlog::LogTrust::verify_checkpoint), or
/// the whole directory with [`verify`](crate::verify). A file that is not a
/// signed note holding a checkpoint is an [`Error::Checkpoint`].
pub fn read_checkpoint_with(fs: &dyn Fs, dir: &Path) -> Result<Option<SignedCheckpoint>> {
    let path = dir.join(CHECKPOINT);
    let Some(note) = read_text(fs, &path)? else {
        return Ok(None);
    };
    let bad = |what: String| Error::Checkpoint {
        path: path.clone(),
        what,
    };
    let parsed =
        Note::parse(note.as_bytes()).map_err(|e| bad(format!("not a signed note: {e}")))?;
    let checkpoint =
        Checkpoint::parse(parsed.text()).map_err(|e| bad(format!("not a checkpoint: {e}")))?;
    // Nothing is checked here, cosignatures included: none is counted.
    Ok(Some(SignedCheckpoint {
        note,
        checkpoint,
        cosigned: 0,
        quorum_met: false,
        witness_errors: Vec::new(),
    }))
}

/// Every entry in `dir`'s entries file (real file system), in order. See
/// [`read_entries_with`].
pub fn read_entries(dir: impl AsRef<Path>) -> Result<Entries> {
    read_entries_with(&OsFs, dir.as_ref())
}

/// Every entry in `dir`'s entries file, in order, as `(index, bytes)`, read
/// sequentially in bounded chunks (each entry at most
/// [`MAX_ENTRY`](crate::MAX_ENTRY) bytes).
///
/// The file is read up to the length it had when this was called: entries a
/// running writer appends later are not seen. Each record's length and check
/// value are checked; the first record that is not whole and valid ends the
/// iteration with an [`Error::Corrupt`] naming the file, offset and index (after
/// that, `next` returns `None`). Past the signed checkpoint such a record may be
/// a write still in progress, or one a crash tore (the writer cuts it off when it
/// next opens); below it, it is damage. [`Entries::next_index`] tells which.
/// A missing entries file reads as empty. On a pruned ledger
/// ([`Ledger::prune`](crate::Ledger::prune)) the iteration starts at the first
/// entry kept ([`Entries::pruned`] says which): the pruned entries' bytes are gone.
pub fn read_entries_with(fs: &dyn Fs, dir: &Path) -> Result<Entries> {
    let path = dir.join(ENTRIES);
    let file: Box<dyn LogFile> = match fs.open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Box::new(NoFile),
        Err(e) => return Err(Error::io(&path, "open for reading")(e)),
    };
    let len = file.len().map_err(Error::io(&path, "read the length of"))?;
    // A pruned prefix has no bytes left: start at the first entry kept.
    let pruned = Pruned::read(fs, dir)?.unwrap_or_default();
    Ok(Entries {
        scanner: Scanner::new(file, pruned.offset, len),
        path,
        index: pruned.below,
        pruned: pruned.below,
        done: false,
    })
}

/// The iterator of [`read_entries`]: `Ok((index, entry bytes))`, in order.
pub struct Entries {
    scanner: Scanner<Box<dyn LogFile>>,
    path: PathBuf,
    /// The index of the next record.
    index: u64,
    /// Entries `0..pruned` were pruned: the iteration starts after them.
    pruned: u64,
    /// An error ended the iteration.
    done: bool,
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("offset", &self.scanner.offset())
            .finish()
    }
}

impl Entries {
    /// The index of the next entry (after an error: of the bad record).
    pub fn next_index(&self) -> u64 {
        self.index
    }

    /// How many entries were pruned (retention): the iteration starts at this
    /// index, the first entry whose bytes are kept.
    pub fn pruned(&self) -> u64 {
        self.pruned
    }

    /// The offset in the entries file of the next record.
    pub fn offset(&self) -> u64 {
        self.scanner.offset()
    }
}

impl Iterator for Entries {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.scanner.offset();
        let corrupt = |what: String| Error::Corrupt {
            path: self.path.clone(),
            offset: Some(offset),
            index: Some(self.index),
            what,
        };
        let item = match self.scanner.next_record() {
            Ok(Ok(Some(record))) => Ok((self.index, record.entry.to_vec())),
            Ok(Ok(None)) => return None,
            Ok(Err(bad)) => Err(corrupt(format!(
                "the record is damaged: {}",
                bad.describe()
            ))),
            Err(e) => Err(corrupt(format!("cannot read: {e}"))),
        };
        match item {
            Ok(_) => self.index += 1,
            Err(_) => self.done = true,
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use airlock_tlog::SignerKey;

    use super::*;
    use crate::fs::MemFs;
    use crate::{Ledger, LedgerOptions};

    fn ledger(fs: &MemFs, entries: &[&[u8]], sign: bool) {
        let key = SignerKey::from_seed("example.com/log", &[7; 32]).unwrap();
        let mut options = LedgerOptions::new("example.com/log", key);
        options.fs = Arc::new(fs.clone());
        options.sign_interval = None;
        options.sign_after = None;
        let ledger = Ledger::open("/l", options).unwrap();
        for e in entries {
            ledger.append(e.to_vec()).wait().unwrap();
        }
        if sign {
            ledger.sign_checkpoint().wait().unwrap();
        }
    }

    #[test]
    fn entries_and_the_checkpoint_are_read_in_order() {
        let fs = MemFs::new();
        ledger(&fs, &[b"a", b"bb", b""], true);
        let read: Vec<_> = read_entries_with(&fs, Path::new("/l"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            read,
            vec![(0, b"a".to_vec()), (1, b"bb".to_vec()), (2, Vec::new())]
        );
        let signed = read_checkpoint_with(&fs, Path::new("/l")).unwrap().unwrap();
        assert_eq!(signed.checkpoint.size(), 3);
        assert_eq!(signed.checkpoint.origin(), "example.com/log");
    }

    #[test]
    fn nothing_there_reads_as_empty() {
        let fs = MemFs::new();
        assert_eq!(
            read_entries_with(&fs, Path::new("/none")).unwrap().count(),
            0
        );
        assert!(
            read_checkpoint_with(&fs, Path::new("/none"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn garbage_ends_the_iteration_with_an_error_naming_index_and_offset() {
        let fs = MemFs::new();
        ledger(&fs, &[b"one", b"two", b"three"], false);
        let path = Path::new("/l/entries");
        let mut bytes = fs.read(path).unwrap();
        // Flip a bit inside the second entry ("two" starts at 15 + 4).
        bytes[19] ^= 1;
        fs.write_synced(path, &bytes).unwrap();
        let mut entries = read_entries_with(&fs, Path::new("/l")).unwrap();
        assert_eq!(entries.next().unwrap().unwrap(), (0, b"one".to_vec()));
        let err = entries.next().unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Corrupt {
                    index: Some(1),
                    offset: Some(15),
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(entries.next_index(), 1);
        assert!(entries.next().is_none());

        // A length field past the limit, and a file ending inside a record.
        for tail in [&[0xff, 0xff, 0xff, 0xff][..], &[0, 0, 0, 9, b'x'][..]] {
            let fs = MemFs::new();
            ledger(&fs, &[b"one"], false);
            let mut bytes = fs.read(path).unwrap();
            bytes.extend_from_slice(tail);
            fs.write_synced(path, &bytes).unwrap();
            let got: Vec<_> = read_entries_with(&fs, Path::new("/l")).unwrap().collect();
            assert_eq!(got.len(), 2);
            assert!(
                matches!(&got[1], Err(Error::Corrupt { index: Some(1), .. })),
                "{:?}",
                got[1]
            );
        }
    }

    #[test]
    fn a_checkpoint_file_that_is_not_a_checkpoint_is_an_error() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/l")).unwrap();
        fs.write_synced(Path::new("/l/checkpoint"), b"hello\n")
            .unwrap();
        assert!(matches!(
            read_checkpoint_with(&fs, Path::new("/l")),
            Err(Error::Checkpoint { .. })
        ));
    }
}
