//! Offline verification of a ledger directory, with only the log's public keys.

use std::fmt;
use std::path::{Path, PathBuf};

use airlock_tlog::tiles::TileId;
use airlock_tlog::{Checkpoint, Frontier, Hash, LogTrust, consistency_proof, verify_consistency};

use crate::error::{Error, Result};
use crate::fs::{Fs, OsFs};
use crate::layout::{
    CHECKPOINT, DiskSource, ENTRIES, INDEX, PRUNED, Pruned, Reader, STATE, State, bundle_path,
    tile_path,
};
use crate::record::Scanner;
use crate::witness::read_text;

/// One thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The first entry concerned, when the damage can be located (the first bad
    /// index); `None` for the checkpoint and the state as wholes.
    pub index: Option<u64>,
    /// The file where it was found.
    pub file: PathBuf,
    /// Where in the file, if known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.index {
            write!(f, "entry {i}: ")?;
        }
        write!(f, "{}", self.file.display())?;
        if let Some(o) = self.offset {
            write!(f, " at offset {o}")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// The result of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Entries checked: the pruned ones (by their hashes) and the whole records
    /// read from the entries file.
    pub entries: u64,
    /// Entries pruned (`0..pruned`): their bytes are gone, their hashes were
    /// taken from the level-0 tiles and checked against the tiles above them and
    /// the signed root.
    pub pruned: u64,
    /// The signed checkpoint, when it verified.
    pub checkpoint: Option<Checkpoint>,
    /// The state file, when it parsed.
    pub state: Option<State>,
    /// An incomplete record past everything the state and checkpoint cover
    /// (left by a crash; opening the ledger cuts it off): `(offset, bytes)`.
    pub unfinished_tail: Option<(u64, u64)>,
    /// What is wrong; empty when the ledger verified. Replay stops at the first
    /// damaged entry or hash, so at most one problem has an index.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether everything verified.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first bad entry index found, if the damage could be located.
    pub fn first_bad_index(&self) -> Option<u64> {
        self.problems.iter().filter_map(|p| p.index).min()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.checkpoint {
            Some(c) => writeln!(
                f,
                "{} entries; signed checkpoint of {} entries, root {}",
                self.entries,
                c.size(),
                c.root()
            )?,
            None => writeln!(f, "{} entries; no verified checkpoint", self.entries)?,
        }
        if self.pruned > 0 {
            writeln!(
                f,
                "{} entries pruned (retention): only their hashes are kept, checked through the tiles and the signed root",
                self.pruned
            )?;
        }
        if self.problems.is_empty() {
            writeln!(f, "OK")?;
        }
        for p in &self.problems {
            writeln!(f, "BAD {p}")?;
        }
        Ok(())
    }
}

/// Verifies the ledger in `dir` on the real file system. See [`verify_with`].
pub fn verify(dir: impl AsRef<Path>, trust: &LogTrust) -> Report {
    verify_with(&OsFs, dir.as_ref(), trust)
}

/// A tile or bundle read once: its index and its contents (or why not).
type Cached<T> = (u64, Result<T, String>);

/// Tile caches per tile level.
struct Tiles<'a> {
    reader: Reader<'a>,
    size: u64,
    cached: Vec<Option<Cached<Vec<u8>>>>,
}

impl Tiles<'_> {
    /// The stored hash of level-`8·l` node `index`, or why it cannot be read.
    fn hash(&mut self, l: usize, index: u64) -> Result<[u8; 32], String> {
        if self.cached.len() <= l {
            self.cached.resize(l + 1, None);
        }
        let t = index / 256;
        let id = TileId {
            level: l as u8,
            index: t,
        };
        if self.cached[l].as_ref().is_none_or(|(ct, _)| *ct != t) {
            let bytes = self.reader.tile(id, self.size).map_err(|e| e.to_string());
            self.cached[l] = Some((t, bytes));
        }
        let k = (index % 256) as usize * 32;
        match &self.cached[l] {
            Some((_, Ok(bytes))) => bytes
                .get(k..k + 32)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| "the tile is too short".into()),
            Some((_, Err(e))) => Err(e.clone()),
            None => Err("no tile".into()),
        }
    }
}

/// Pushes `leaf` (the next entry's hash) into `frontier` and checks every stored
/// tile hash it completes (levels 0, 8, 16, …, below `tiled`) against the one
/// recomputed. Entries below `pruned` have no bytes left: their leaf hashes come
/// from the level-0 tiles, so those are not compared with themselves; the tiles
/// above them are checked as for any entry. `Err(None)`: the tree is full.
fn push_checked(
    frontier: &mut Frontier,
    tiles: &mut Tiles<'_>,
    dir: &Path,
    tiled: u64,
    pruned: u64,
    leaf: Hash,
) -> Result<(), Option<Problem>> {
    let mut bad_tile: Option<Problem> = None;
    let pushed = frontier.push_with(leaf, |node, hash| {
        if bad_tile.is_some() || node.level % 8 != 0 {
            return;
        }
        let Some((first, end)) = node.leaves() else {
            return;
        };
        if end > tiled || (node.level == 0 && end <= pruned) {
            return;
        }
        let l = usize::from(node.level / 8);
        let id = TileId {
            level: l as u8,
            index: node.index / 256,
        };
        let path = tile_path(dir, id, u64::from(id.width_at(tiled)));
        match tiles.hash(l, node.index) {
            Ok(stored) if stored == hash.0 => {}
            Ok(stored) => {
                let what = if first < pruned {
                    format!(
                        "the stored hash of entries {first}..{end} is {}, but the hashes below it give {hash}; entries below {pruned} were pruned, so the damage is in this tile or in the level-0 tiles of those entries",
                        Hash(stored)
                    )
                } else {
                    format!(
                        "the stored hash of entries {first}..{end} is {}, but the entries hash to {hash}",
                        Hash(stored)
                    )
                };
                bad_tile = Some(Problem {
                    index: Some(first),
                    file: path,
                    offset: Some((node.index % 256) * 32),
                    what,
                });
            }
            Err(e) => {
                bad_tile = Some(Problem {
                    index: Some(first),
                    file: path,
                    offset: None,
                    what: e,
                });
            }
        }
    });
    if pushed.is_err() {
        return Err(None);
    }
    bad_tile.map_or(Ok(()), |p| Err(Some(p)))
}

/// Verifies a ledger directory offline and read-only: the signed checkpoint
/// (signature, origin), the state file, then every entry in order (its record,
/// its check value, its copy in the entry bundle) and every hash tile (each
/// stored hash against the one recomputed from the entries), and finally the
/// root at the checkpoint's size. Replay stops at the first damaged entry or
/// hash; [`Report::first_bad_index`] says where.
pub fn verify_with(fs: &dyn Fs, dir: &Path, trust: &LogTrust) -> Report {
    let mut report = Report::default();
    let checkpoint_path = dir.join(CHECKPOINT);
    let state_path = dir.join(STATE);
    let entries_path = dir.join(ENTRIES);
    let whole = |file: &Path, what: String| Problem {
        index: None,
        file: file.to_path_buf(),
        offset: None,
        what,
    };

    match read_text(fs, &checkpoint_path) {
        Ok(Some(text)) => match trust.verify_checkpoint(text.as_bytes()) {
            Ok(v) => report.checkpoint = Some(v.checkpoint),
            Err(e) => report.problems.push(whole(
                &checkpoint_path,
                format!("the signed checkpoint does not verify: {e}"),
            )),
        },
        Ok(None) => report.problems.push(whole(
            &checkpoint_path,
            "there is no signed checkpoint: nothing in this ledger is vouched for".into(),
        )),
        Err(e) => report.problems.push(whole(&checkpoint_path, e.to_string())),
    }
    match fs.read(&state_path) {
        Ok(bytes) => match State::parse(&bytes) {
            Ok(s) => report.state = Some(s),
            Err(e) => report.problems.push(whole(
                &state_path,
                format!("the state file is damaged: {e}"),
            )),
        },
        Err(e) => report.problems.push(whole(
            &state_path,
            format!("cannot read the state file: {e}"),
        )),
    }
    let signed = report.checkpoint.as_ref().map(|c| (c.size(), *c.root()));
    // Tiles and bundles are expected up to the state's size (or the checkpoint's).
    let tiled = report
        .state
        .map(|s| s.size)
        .or(signed.map(|s| s.0))
        .unwrap_or(0);
    if let (Some((size, _)), Some(state)) = (signed, report.state)
        && size > state.size
    {
        report.problems.push(whole(
            &state_path,
            format!(
                "the state covers {} entries but the signed checkpoint {size}: tiles may be missing",
                state.size
            ),
        ));
    }

    let file = match fs.open_read(&entries_path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            report
                .problems
                .push(whole(&entries_path, format!("cannot open: {e}")));
            return report;
        }
    };
    let file_len = match file.as_ref().map(|f| f.len()).transpose() {
        Ok(l) => l.unwrap_or(0),
        Err(e) => {
            report
                .problems
                .push(whole(&entries_path, format!("cannot read the length: {e}")));
            return report;
        }
    };
    let index_path = dir.join(INDEX);
    let offsets = match fs.read(&index_path) {
        Ok(b) => b,
        Err(e) => {
            if tiled > 0 {
                report.problems.push(whole(
                    &index_path,
                    format!("cannot read the offset index: {e}"),
                ));
            }
            Vec::new()
        }
    };
    let reader = Reader { fs, dir };
    let mut tiles = Tiles {
        reader: Reader { fs, dir },
        size: tiled,
        cached: Vec::new(),
    };
    let mut bundle: Option<Cached<Option<Vec<Vec<u8>>>>> = None;
    let mut frontier = Frontier::new();
    let mut replay: Option<Problem> = None;
    let log: &dyn crate::fs::LogFile = match &file {
        Some(f) => &**f,
        None => &crate::record::NoFile,
    };
    let pruned_path = dir.join(PRUNED);
    let pruned = match Pruned::read(fs, dir) {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            report.problems.push(whole(&pruned_path, e.to_string()));
            return report;
        }
    };
    let prunable = signed.map_or(tiled, |(size, _)| size.min(tiled));
    if pruned.below > prunable || pruned.offset > file_len {
        report.problems.push(whole(
            &pruned_path,
            format!(
                "the pruned marker says entries below {} (bytes below {}) were pruned, but the signed checkpoint and tiles cover {prunable} entries and the entries file holds {file_len} bytes",
                pruned.below, pruned.offset
            ),
        ));
        return report;
    }
    report.pruned = pruned.below;
    let mut i = 0u64;
    // The pruned prefix: leaf hashes from the level-0 tiles.
    while i < pruned.below {
        let leaf = match tiles.hash(0, i) {
            Ok(h) => Hash(h),
            Err(e) => {
                let id = TileId {
                    level: 0,
                    index: i / 256,
                };
                replay = Some(Problem {
                    index: Some(i),
                    file: tile_path(dir, id, u64::from(id.width_at(tiled))),
                    offset: None,
                    what: format!("the hash of pruned entry {i} cannot be read: {e}"),
                });
                break;
            }
        };
        match push_checked(&mut frontier, &mut tiles, dir, tiled, pruned.below, leaf) {
            Ok(()) => i += 1,
            Err(problem) => {
                replay = problem;
                break;
            }
        }
    }
    let mut scanner = Scanner::new(log, pruned.offset, file_len);
    loop {
        if replay.is_some() {
            break;
        }
        if let Some((size, root)) = signed
            && i == size
        {
            let ours = frontier.root();
            if ours != root {
                report.problems.push(whole(
                    &checkpoint_path,
                    format!(
                        "the first {size} entries hash to the root {ours}, but the signed checkpoint says {root}: entries were changed (and every stored hash recomputed), or the checkpoint belongs to another history"
                    ),
                ));
            }
        }
        if let Some(state) = report.state
            && i == state.size
            && scanner.offset() != state.offset
        {
            report.problems.push(whole(
                &state_path,
                format!(
                    "the state says entry {i} starts at offset {}, but it starts at {}",
                    state.offset,
                    scanner.offset()
                ),
            ));
        }
        let offset = scanner.offset();
        let record = match scanner.next_record() {
            Ok(Ok(Some(r))) => r,
            Ok(Ok(None)) => break,
            Ok(Err(bad)) => {
                let covered = signed.map_or(0, |s| s.0).max(tiled);
                if i < covered {
                    replay = Some(Problem {
                        index: Some(i),
                        file: entries_path.clone(),
                        offset: Some(offset),
                        what: format!("the record is damaged: {}", bad.describe()),
                    });
                } else {
                    report.unfinished_tail = Some((offset, file_len - offset));
                }
                break;
            }
            Err(e) => {
                replay = Some(Problem {
                    index: Some(i),
                    file: entries_path.clone(),
                    offset: Some(offset),
                    what: format!("cannot read: {e}"),
                });
                break;
            }
        };
        let leaf = record.leaf;
        if i < tiled && i.is_multiple_of(256) {
            let k = (i / 256) as usize;
            let stored = offsets
                .get(k * 8..k * 8 + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes);
            if stored != Some(offset) {
                replay = Some(Problem {
                    index: Some(i),
                    file: index_path.clone(),
                    offset: Some(k as u64 * 8),
                    what: match stored {
                        Some(o) => {
                            format!("the index says entry {i} starts at byte {o}, not {offset}")
                        }
                        None => format!("the index ends before entry {i}"),
                    },
                });
                break;
            }
        }
        if i < tiled {
            let b = i / 256;
            if bundle.as_ref().is_none_or(|(cb, _)| *cb != b) {
                // Bundles are optional (LedgerOptions::entry_bundles): a missing
                // one is not checked; one that is there must be right.
                let read = match reader.bundle(b, tiled) {
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        Ok(None)
                    }
                    other => other.map(Some).map_err(|e| e.to_string()),
                };
                bundle = Some((b, read));
            }
            let k = (i % 256) as usize;
            let path = || bundle_path(dir, b, (tiled - b * 256).min(256));
            match &bundle {
                Some((_, Ok(None))) => {}
                Some((_, Ok(Some(entries))))
                    if entries.get(k).map(Vec::as_slice) == Some(record.entry) => {}
                Some((_, Ok(Some(_)))) => {
                    replay = Some(Problem {
                        index: Some(i),
                        file: path(),
                        offset: None,
                        what: "the entry bundle's copy of the entry differs from the entries file"
                            .into(),
                    });
                    break;
                }
                Some((_, Err(e))) => {
                    replay = Some(Problem {
                        index: Some(i),
                        file: path(),
                        offset: None,
                        what: e.clone(),
                    });
                    break;
                }
                None => {}
            }
        }
        match push_checked(&mut frontier, &mut tiles, dir, tiled, pruned.below, leaf) {
            Ok(()) => i += 1,
            Err(problem) => {
                // `None`: the tree is full (2^64 leaves), nothing more to read.
                if problem.is_some() {
                    i += 1;
                }
                replay = problem;
                break;
            }
        }
    }
    report.entries = i;
    match replay {
        Some(p) => report.problems.push(p),
        None => {
            if let Some((size, _)) = signed
                && i < size
            {
                report.problems.push(Problem {
                    index: Some(i),
                    file: entries_path.clone(),
                    offset: Some(scanner.offset()),
                    what: format!(
                        "the entries end after {i}, but the signed checkpoint covers {size}: entries were removed from the end"
                    ),
                });
            } else if i < tiled {
                report.problems.push(Problem {
                    index: Some(i),
                    file: entries_path.clone(),
                    offset: Some(scanner.offset()),
                    what: format!(
                        "the entries end after {i}, but the state covers {tiled}: entries were removed from the end"
                    ),
                });
            }
        }
    }
    report
}

/// The ledger's current history is not an extension of an earlier checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The earlier signed checkpoint (kept by the auditor), verbatim.
    pub earlier: String,
    /// The ledger's signed checkpoint now, verbatim.
    pub current: String,
    /// The consistency proof the ledger's tiles give (empty for a rollback or
    /// equal sizes).
    pub proof: Vec<Hash>,
    /// Why the proof fails.
    pub reason: String,
}

impl Evidence {
    /// Portable text: both signed notes, the proof and the reason; anyone with the
    /// log's public key can check both signatures and re-run the proof.
    pub fn to_text(&self) -> String {
        let mut out = String::from("airlock-ledger inconsistency evidence v1\n");
        out.push_str(&format!("reason: {}\n", self.reason));
        out.push_str("\nearlier checkpoint:\n");
        out.push_str(&self.earlier);
        out.push_str("\ncurrent checkpoint:\n");
        out.push_str(&self.current);
        out.push_str(&format!(
            "\nconsistency proof ({} hashes):\n",
            self.proof.len()
        ));
        for h in &self.proof {
            out.push_str(&format!("{h}\n"));
        }
        out
    }
}

/// The outcome of [`verify_consistent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// The ledger's checkpoint extends the earlier one.
    Consistent {
        /// The earlier checkpoint.
        earlier: Checkpoint,
        /// The current checkpoint.
        current: Checkpoint,
    },
    /// A fork or a rollback: both signed checkpoints and the failing proof.
    Inconsistent(Box<Evidence>),
}

/// Checks that the ledger in `dir` (real file system) extends a checkpoint an
/// auditor kept. See [`verify_consistent_with`].
pub fn verify_consistent(
    earlier_note: &str,
    dir: impl AsRef<Path>,
    trust: &LogTrust,
) -> Result<Consistency> {
    verify_consistent_with(&OsFs, earlier_note, dir.as_ref(), trust)
}

/// Checks that the ledger's signed checkpoint extends `earlier_note` (a signed
/// checkpoint an auditor kept): a consistency proof from the ledger's tiles,
/// verified against both signed roots. A smaller current checkpoint (rollback),
/// another root at the same size, or a failing proof (fork) is
/// [`Consistency::Inconsistent`], with portable evidence. An error means one of
/// the checkpoints does not verify or the proof could not be read.
pub fn verify_consistent_with(
    fs: &dyn Fs,
    earlier_note: &str,
    dir: &Path,
    trust: &LogTrust,
) -> Result<Consistency> {
    let earlier = trust
        .verify_checkpoint(earlier_note.as_bytes())
        .map_err(|e| Error::Checkpoint {
            path: PathBuf::from("(earlier checkpoint)"),
            what: format!("does not verify: {e}"),
        })?
        .checkpoint;
    let path = dir.join(CHECKPOINT);
    let current_note = read_text(fs, &path)?.ok_or_else(|| Error::Checkpoint {
        path: path.clone(),
        what: "missing".into(),
    })?;
    let current = trust
        .verify_checkpoint(current_note.as_bytes())
        .map_err(|e| Error::Checkpoint {
            path: path.clone(),
            what: format!("does not verify: {e}"),
        })?
        .checkpoint;
    let evidence = |proof: Vec<Hash>, reason: String| {
        Consistency::Inconsistent(Box::new(Evidence {
            earlier: earlier_note.to_string(),
            current: current_note.clone(),
            proof,
            reason,
        }))
    };
    let (m, n) = (earlier.size(), current.size());
    if m > n {
        return Ok(evidence(
            Vec::new(),
            format!(
                "rollback: the ledger's signed checkpoint covers {n} entries, an earlier one covered {m}"
            ),
        ));
    }
    if m == 0 {
        return Ok(Consistency::Consistent { earlier, current });
    }
    let proof = if m == n {
        Vec::new()
    } else {
        consistency_proof(&DiskSource::new(fs, dir, n), m, n)?
    };
    match verify_consistency(m, n, earlier.root(), current.root(), &proof) {
        Ok(()) => Ok(Consistency::Consistent { earlier, current }),
        Err(e) => Ok(evidence(proof, format!("fork: {e}"))),
    }
}
