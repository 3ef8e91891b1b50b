//! The personal-data side store: the values (and salts) behind the commitments a
//! separate-mode ledger entry holds (`airlock_audit::personal`), kept where they
//! can be erased without touching the tree.
//!
//! One SQLite database per ledger, `DIR/personal-data.db` (WAL, `synchronous =
//! FULL`, `secure_delete = ON`), never part of the tree's bytes: the ledger's
//! files, tiles, checkpoints, proofs and receipts never read it.
//!
//! - `personal(commitment PRIMARY KEY, entry, field, salt, value)`: one row per
//!   personal-data field; `entry` is the SHA-256 (hex) of the entry's bytes, so
//!   rows are found from the ledger's entries without any index.
//! - `erasures(at_ms, how, entries, fields)`: every erasure, without the
//!   subject's name.
//!
//! **Crash safety.** The recorder commits an entry's rows (one transaction,
//! fsynced) *before* it appends the entry, and answers only once both are
//! durable: an acknowledged entry always has its values. A crash between the two
//! leaves rows no entry refers to; nothing shows them, and an erasure of their
//! subject removes them like any other.
//!
//! **Erasure.** Rows are deleted in one transaction; `secure_delete` overwrites
//! the freed bytes in the database file, and a `TRUNCATE` checkpoint empties the
//! write-ahead log that still held them. Copies elsewhere (backups, replicas of
//! the disk) are the operator's to erase.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use airlock_audit::personal::{Sealed, names_subject};
use airlock_audit::{Entry, sha256_hex};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// The side store's file name in the ledger directory.
pub const PERSONAL_DATA_FILE: &str = "personal-data.db";

/// What a recorder does with personal data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PersonalData {
    /// In the entry (format 1): it can never be erased, only pruned with the
    /// entry after the retention window.
    #[default]
    Inline,
    /// Salted commitments in the entry (format 2), the values in
    /// `DIR/personal-data.db`, erasable (`airlock audit erase`).
    Separate,
}

/// The side store of one ledger directory.
pub struct PersonalStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Puts waiting to be committed: whoever holds the connection next commits
    /// all of them in one transaction (group commit, one fsync for many entries).
    queue: Mutex<Vec<Put>>,
}

/// One entry's rows, waiting in the queue, and where its outcome goes.
struct Put {
    entry: String,
    sealed: Vec<Sealed>,
    done: std::sync::Arc<Mutex<Option<Result<(), String>>>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS personal (
    commitment TEXT PRIMARY KEY NOT NULL,
    entry TEXT NOT NULL,
    field TEXT NOT NULL,
    salt BLOB NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS personal_entry ON personal (entry);
CREATE TABLE IF NOT EXISTS erasures (
    at_ms INTEGER NOT NULL,
    how TEXT NOT NULL,
    entries INTEGER NOT NULL,
    fields INTEGER NOT NULL
);
";

impl PersonalStore {
    /// The store's path in `ledger_dir`.
    pub fn path_in(ledger_dir: &Path) -> PathBuf {
        ledger_dir.join(PERSONAL_DATA_FILE)
    }

    /// Opens (creating if needed) the store of `ledger_dir` for writing.
    pub fn open(ledger_dir: &Path) -> Result<PersonalStore, String> {
        let path = Self::path_in(ledger_dir);
        let existed = path.exists();
        if !existed {
            // Personal data: readable by the gateway's user only. SQLite gives its
            // write-ahead log and index files the database file's permissions.
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options
                .open(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        }
        let store = Self::open_with(&path, OpenFlags::default())?;
        store.with(|c| {
            c.execute_batch(SCHEMA)?;
            Ok(())
        })?;
        if !existed {
            // The new file's name is durable before any entry relies on it.
            std::fs::File::open(ledger_dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| format!("cannot sync {}: {e}", ledger_dir.display()))?;
        }
        Ok(store)
    }

    /// Opens the store of `ledger_dir` for reading, if there is one (a copy of a
    /// ledger may be handed out without it).
    pub fn open_existing(ledger_dir: &Path) -> Result<Option<PersonalStore>, String> {
        let path = Self::path_in(ledger_dir);
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Self::open_with(&path, flags).map(Some)
    }

    /// Opens the existing store of `ledger_dir` to erase from it.
    pub fn open_for_erasure(ledger_dir: &Path) -> Result<Option<PersonalStore>, String> {
        let path = Self::path_in(ledger_dir);
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Self::open_with(&path, flags).map(Some)
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<PersonalStore, String> {
        let fail = |e: rusqlite::Error| {
            format!(
                "cannot open the personal-data store {}: {e}",
                path.display()
            )
        };
        let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        if !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(fail)?;
            conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;")
                .map_err(fail)?;
        }
        Ok(PersonalStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            queue: Mutex::new(Vec::new()),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| "the personal-data store is unusable after a panic".to_owned())?;
        f(&mut conn).map_err(|e| format!("the personal-data store {}: {e}", self.path.display()))
    }

    /// Keeps an entry's personal data, durable when this returns. `entry` is the
    /// SHA-256 (hex) of the entry's bytes.
    ///
    /// Group commit: the rows wait in a queue; whoever gets the connection next
    /// commits everything queued in one transaction, and the others find their
    /// outcome set when they get it in turn. One failed transaction fails every
    /// put in it (nothing of it is kept).
    pub fn put(&self, entry: &str, sealed: &[Sealed]) -> Result<(), String> {
        let unusable = || "the personal-data store is unusable after a panic".to_owned();
        let done = std::sync::Arc::new(Mutex::new(None));
        self.queue.lock().map_err(|_| unusable())?.push(Put {
            entry: entry.to_owned(),
            sealed: sealed.to_vec(),
            done: done.clone(),
        });
        let mut conn = self.conn.lock().map_err(|_| unusable())?;
        if let Some(outcome) = done.lock().map_err(|_| unusable())?.take() {
            return outcome;
        }
        // Nobody committed ours yet: commit it with everything queued behind it.
        let batch = std::mem::take(&mut *self.queue.lock().map_err(|_| unusable())?);
        let outcome = commit_puts(&mut conn, &batch)
            .map_err(|e| format!("the personal-data store {}: {e}", self.path.display()));
        drop(conn);
        for put in &batch {
            if let Ok(mut slot) = put.done.lock() {
                *slot = Some(outcome.clone());
            }
        }
        let mine = done.lock().map_err(|_| unusable())?.take();
        mine.unwrap_or(outcome)
    }

    /// The salt and value kept for each of `commitments` that is still here.
    pub fn lookup(
        &self,
        commitments: &[String],
    ) -> Result<HashMap<String, (Vec<u8>, String)>, String> {
        self.with(|c| {
            let mut q =
                c.prepare_cached("SELECT salt, value FROM personal WHERE commitment = ?1")?;
            let mut found = HashMap::new();
            for commitment in commitments {
                if let Some(row) = q
                    .query_row([commitment], |r| {
                        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()?
                {
                    found.insert(commitment.clone(), row);
                }
            }
            Ok(found)
        })
    }

    /// The entries (SHA-256 of their bytes) with a personal-data field naming
    /// `subject` (`airlock_audit::personal::names_subject`).
    pub fn entries_naming(&self, subject: &str) -> Result<BTreeSet<String>, String> {
        self.with(|c| {
            let mut q = c.prepare("SELECT entry, field, value FROM personal")?;
            let mut rows = q.query([])?;
            let mut found = BTreeSet::new();
            while let Some(r) = rows.next()? {
                let field: String = r.get(1)?;
                let value: String = r.get(2)?;
                if names_subject(&field, &value, subject) {
                    found.insert(r.get::<_, String>(0)?);
                }
            }
            Ok(found)
        })
    }

    /// How many fields are kept for these entries.
    pub fn count(&self, entries: &BTreeSet<String>) -> Result<u64, String> {
        self.with(|c| {
            let mut q = c.prepare_cached("SELECT count(*) FROM personal WHERE entry = ?1")?;
            let mut n = 0u64;
            for e in entries {
                n += q.query_row([e], |r| r.get::<_, i64>(0))?.unsigned_abs();
            }
            Ok(n)
        })
    }

    /// Erases every field kept for `entries` (SHA-256 of their bytes) and notes
    /// the erasure (`how`: never the subject's name); answers how many fields
    /// went, and whether the write-ahead log was emptied (when not, the erased
    /// bytes may remain in `personal-data.db-wal` until the next checkpoint).
    pub fn erase(
        &self,
        entries: &BTreeSet<String>,
        how: &str,
        at_ms: i64,
    ) -> Result<(u64, bool), String> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut fields = 0u64;
            {
                let mut delete = tx.prepare_cached("DELETE FROM personal WHERE entry = ?1")?;
                for e in entries {
                    fields += delete.execute([e])? as u64;
                }
            }
            if fields > 0 {
                tx.execute(
                    "INSERT INTO erasures (at_ms, how, entries, fields) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        at_ms,
                        how,
                        i64::try_from(entries.len()).unwrap_or(i64::MAX),
                        i64::try_from(fields).unwrap_or(i64::MAX)
                    ],
                )?;
            }
            tx.commit()?;
            // (busy, log frames, checkpointed frames): busy = 0 when the log was
            // written back whole and truncated.
            let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            Ok((fields, busy == 0))
        })
    }
}

/// What to erase.
#[derive(Debug, Clone)]
pub enum Erase {
    /// Every entry with a personal-data field naming this subject.
    Subject(String),
    /// These entries, by index.
    Indices(Vec<u64>),
}

/// Inserts every queued put's rows in one transaction.
fn commit_puts(conn: &mut Connection, batch: &[Put]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO personal (commitment, entry, field, salt, value) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for put in batch {
            for s in &put.sealed {
                insert.execute(params![
                    s.commitment,
                    put.entry,
                    s.field,
                    s.salt.as_slice(),
                    s.value
                ])?;
            }
        }
    }
    tx.commit()
}

/// What an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// The indices of the separate-mode entries whose fields were erased.
    pub indices: Vec<u64>,
    /// Fields erased (0 when there was nothing left: erasing again changes nothing).
    pub fields: u64,
    /// Fields erased that no entry refers to (left by a crash between the side
    /// store's commit and the ledger's append).
    pub orphans: u64,
    /// Inline-format entries (written before `--ledger-personal-data separate`)
    /// that name the subject, or were named by index: their personal data is part
    /// of the tree and cannot be erased without breaking it (only pruned after the
    /// retention window). Nothing was done to them.
    pub inline: Vec<u64>,
    /// Entries named by index whose bytes were pruned, or that do not exist.
    pub missing: Vec<u64>,
    /// Whether the side store's write-ahead log was emptied after the erasure.
    pub log_truncated: bool,
}

/// Erases personal data from the side store of the ledger in `dir`, never
/// touching the ledger's own files (every root, proof and receipt stays valid).
/// Reads the ledger without its lock, so it runs beside a gateway. Idempotent.
pub fn erase(dir: &Path, what: &Erase, at_ms: i64) -> Result<Erased, String> {
    let store = PersonalStore::open_for_erasure(dir)?;
    let mut erased = Erased::default();
    let mut targets: BTreeSet<String> = BTreeSet::new();
    let wanted: HashSet<u64> = match what {
        Erase::Indices(i) => i.iter().copied().collect(),
        Erase::Subject(_) => HashSet::new(),
    };
    let naming = match (&store, what) {
        (Some(s), Erase::Subject(name)) => s.entries_naming(name)?,
        _ => BTreeSet::new(),
    };
    let mut in_ledger: HashSet<String> = HashSet::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let entries = airlock_ledger::read_entries(dir)
        .map_err(|e| format!("cannot read the ledger's entries in {}: {e}", dir.display()))?;
    for item in entries {
        // A half-written record ends the entries (it was never acknowledged).
        let Ok((index, bytes)) = item else { break };
        if matches!(what, Erase::Indices(_)) && !wanted.contains(&index) {
            continue;
        }
        let Ok(entry) = Entry::parse(&bytes) else {
            continue;
        };
        let digest = sha256_hex(&bytes);
        match what {
            Erase::Indices(_) => {
                seen.insert(index);
                if entry.is_separate() {
                    targets.insert(digest.clone());
                    erased.indices.push(index);
                } else if !entry.personal_fields().is_empty() {
                    erased.inline.push(index);
                }
            }
            Erase::Subject(name) => {
                if entry.is_separate() {
                    if naming.contains(&digest) {
                        erased.indices.push(index);
                    }
                } else if entry
                    .personal_fields()
                    .iter()
                    .any(|(f, v)| names_subject(f, v, name))
                {
                    erased.inline.push(index);
                }
            }
        }
        in_ledger.insert(digest);
    }
    if let Erase::Indices(i) = what {
        erased.missing = i
            .iter()
            .copied()
            .filter(|i| !seen.contains(i))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    if let Erase::Subject(_) = what {
        targets = naming;
    }
    let Some(store) = store else {
        return Ok(erased);
    };
    if let Erase::Subject(_) = what {
        let orphans: BTreeSet<String> = targets
            .iter()
            .filter(|d| !in_ledger.contains(*d))
            .cloned()
            .collect();
        erased.orphans = store.count(&orphans)?;
    }
    let how = match what {
        Erase::Subject(_) => "subject (the name is not kept)".to_owned(),
        Erase::Indices(_) => format!(
            "index {}",
            erased
                .indices
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let (fields, truncated) = store.erase(&targets, &how, at_ms)?;
    erased.fields = fields;
    erased.log_truncated = truncated;
    erased.indices.sort_unstable();
    erased.indices.dedup();
    Ok(erased)
}

/// Erases the personal data of entries `..below` of the ledger in `dir`, whose
/// bytes retention is about to prune (their values must not outlive them).
/// Answers how many fields went; a ledger without a side store has none.
pub fn erase_below(dir: &Path, below: u64, at_ms: i64) -> Result<u64, String> {
    let Some(store) = PersonalStore::open_for_erasure(dir)? else {
        return Ok(0);
    };
    let entries = airlock_ledger::read_entries(dir)
        .map_err(|e| format!("cannot read the ledger's entries in {}: {e}", dir.display()))?;
    let mut targets = BTreeSet::new();
    for item in entries {
        let Ok((index, bytes)) = item else { break };
        if index >= below {
            break;
        }
        if Entry::parse(&bytes).is_ok_and(|e| e.is_separate()) {
            targets.insert(sha256_hex(&bytes));
        }
    }
    if targets.is_empty() {
        return Ok(0);
    }
    let (fields, _) = store.erase(&targets, &format!("prune below {below}"), at_ms)?;
    Ok(fields)
}
