//! The files of a ledger directory: names, the state file, reading and deriving
//! C2SP tiles and entry bundles.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use airlock_tlog::tiles::{TILE_WIDTH, TileId, index_path, node_hash_from_tile, tile_slice};
use airlock_tlog::{Frontier, Hash, HashSource, NodeId};

use crate::error::{Error, Result};
use crate::fs::Fs;

/// The entries file: every record, in order.
pub const ENTRIES: &str = "entries";
/// The state file: the size and entries offset up to which tiles are durable.
pub const STATE: &str = "state";
/// The latest signed checkpoint (a C2SP signed note).
pub const CHECKPOINT: &str = "checkpoint";
/// The lock file of the one writer.
pub const LOCK: &str = "LOCK";
/// The offset index: for every 256th entry (`k·256`), its offset in `entries`
/// as a u64 BE, at byte `8·k`. Derived; written at signing like the tiles.
pub const INDEX: &str = "entries.idx";

/// The pruned marker: entries below `below` were pruned (their bytes freed, their
/// hashes kept in the tiles); entry `below` starts at byte `offset` of `entries`.
/// Absent until the first [`Ledger::prune`](crate::Ledger::prune).
pub const PRUNED: &str = "pruned";

const STATE_HEADER: &str = "airlock-ledger state v1";
const PRUNED_HEADER: &str = "airlock-ledger pruned v1";
const W: u64 = TILE_WIDTH as u64;

/// The state file: everything below `size` has its tiles and bundles written and
/// synced; entry `size` starts at byte `offset` of the entries file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    /// Entries covered by the durable tiles.
    pub size: u64,
    /// Bytes of the entries file those entries take.
    pub offset: u64,
}

impl State {
    pub(crate) fn to_text(self) -> String {
        format!(
            "{STATE_HEADER}\nsize {}\noffset {}\n",
            self.size, self.offset
        )
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<State, String> {
        let [size, offset] = parse_numbers(bytes, STATE_HEADER, ["size", "offset"])?;
        Ok(State { size, offset })
    }
}

/// The pruned marker ([`PRUNED`]): the bytes of entries `0..below` are gone (a
/// hole in `entries`), their hashes stay in the tiles; entry `below` starts at
/// byte `offset`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries pruned: `0..below`.
    pub below: u64,
    /// Where entry `below` starts in the entries file (the hole's end).
    pub offset: u64,
}

impl Pruned {
    pub(crate) fn to_text(self) -> String {
        format!(
            "{PRUNED_HEADER}\nbelow {}\noffset {}\n",
            self.below, self.offset
        )
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Pruned, String> {
        let [below, offset] = parse_numbers(bytes, PRUNED_HEADER, ["below", "offset"])?;
        Ok(Pruned { below, offset })
    }

    /// The marker in `dir`: `None` when nothing was ever pruned.
    pub(crate) fn read(fs: &dyn Fs, dir: &Path) -> Result<Option<Pruned>> {
        let path = dir.join(PRUNED);
        match fs.read(&path) {
            Ok(bytes) => Pruned::parse(&bytes)
                .map(Some)
                .map_err(|what| Error::Corrupt {
                    path,
                    offset: None,
                    index: None,
                    what: format!("the pruned marker is damaged: {what}"),
                }),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(Error::io(&path, "read the pruned marker")(e)),
        }
    }
}

/// A small text file: `header`, then one `name value` line per name, in order,
/// each value a canonical decimal u64.
fn parse_numbers<const N: usize>(
    bytes: &[u8],
    header: &str,
    names: [&str; N],
) -> Result<[u64; N], String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let mut lines = text.split('\n');
    if lines.next() != Some(header) {
        return Err(format!("the first line is not {header:?}"));
    }
    let mut values = [0u64; N];
    for (value, name) in values.iter_mut().zip(names) {
        let text = lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| format!("missing the `{name}` line"))?;
        let canonical = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        if !canonical {
            return Err(format!("`{name}` is not a decimal number: {text:?}"));
        }
        *value = text
            .parse()
            .map_err(|_| format!("`{name}` is out of range: {text:?}"))?;
    }
    if lines.next() != Some("") || lines.next().is_some() {
        return Err(format!(
            "unexpected text after the `{}` line",
            names.last().copied().unwrap_or("first")
        ));
    }
    Ok(values)
}

/// The path of an entry bundle (`tile/entries/<N>[.p/<W>]`).
pub(crate) fn bundle_path(dir: &Path, index: u64, width: u64) -> PathBuf {
    let mut p = format!("tile/entries/{}", index_path(index));
    if width < W {
        p.push_str(&format!(".p/{width}"));
    }
    dir.join(p)
}

/// The path of a hash tile.
pub(crate) fn tile_path(dir: &Path, id: TileId, width: u64) -> PathBuf {
    dir.join(id.path(width.min(W) as u16))
}

fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// Reads tiles and bundles of the tree of `size` leaves, falling back to the full
/// tile when a partial one has been replaced by it.
pub(crate) struct Reader<'a> {
    pub fs: &'a dyn Fs,
    pub dir: &'a Path,
}

impl Reader<'_> {
    /// The hashes of tile `id` in the tree of `size` leaves (exactly its width).
    pub(crate) fn tile(&self, id: TileId, size: u64) -> Result<Vec<u8>> {
        let width = u64::from(id.width_at(size));
        let full = tile_path(self.dir, id, W);
        let path = tile_path(self.dir, id, width);
        let bytes = match self.fs.read(&path) {
            Ok(b) => b,
            Err(e) if not_found(&e) && width < W => match self.fs.read(&full) {
                Ok(b) => b,
                Err(e) => return Err(Error::io(&path, "read the tile")(e)),
            },
            Err(e) => return Err(Error::io(&path, "read the tile")(e)),
        };
        let want = width as usize * 32;
        if width == 0 || bytes.len() < want || bytes.len() % 32 != 0 || bytes.len() > 8192 {
            return Err(Error::Corrupt {
                path,
                offset: None,
                index: None,
                what: format!(
                    "the tile has {} bytes; a tree of {size} leaves needs {want}",
                    bytes.len()
                ),
            });
        }
        let mut bytes = bytes;
        bytes.truncate(want);
        Ok(bytes)
    }

    /// The entries of bundle `index` in the tree of `size` leaves.
    pub(crate) fn bundle(&self, index: u64, size: u64) -> Result<Vec<Vec<u8>>> {
        let width = size.saturating_sub(index * W).min(W);
        let path = bundle_path(self.dir, index, width);
        let bytes = match self.fs.read(&path) {
            Ok(b) => b,
            Err(e) if not_found(&e) && width < W => self
                .fs
                .read(&bundle_path(self.dir, index, W))
                .map_err(Error::io(&path, "read the entry bundle"))?,
            Err(e) => return Err(Error::io(&path, "read the entry bundle")(e)),
        };
        let entries = parse_bundle(&bytes).map_err(|(offset, what)| Error::Corrupt {
            path: path.clone(),
            offset: Some(offset),
            index: None,
            what,
        })?;
        if (entries.len() as u64) < width {
            return Err(Error::Corrupt {
                path,
                offset: None,
                index: None,
                what: format!("the bundle holds {} entries, not {width}", entries.len()),
            });
        }
        Ok(entries.into_iter().take(width as usize).collect())
    }
}

/// Splits an entry bundle (`u16 BE length ‖ entry`, repeated).
pub(crate) fn parse_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, (u64, String)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(head) = bytes.get(pos..pos + 2) else {
            return Err((pos as u64, "the bundle ends inside a length prefix".into()));
        };
        let n = usize::from(u16::from_be_bytes([head[0], head[1]]));
        let Some(entry) = bytes.get(pos + 2..pos + 2 + n) else {
            return Err((pos as u64, "the bundle ends inside an entry".into()));
        };
        out.push(entry.to_vec());
        pos += 2 + n;
    }
    Ok(out)
}

/// The stored hashes of the tree of `size` leaves, read from its tiles.
pub(crate) struct DiskSource<'a> {
    pub reader: Reader<'a>,
    pub size: u64,
    /// Tiles already read during this source's life.
    pub cache: Mutex<HashMap<TileId, Vec<u8>>>,
}

impl<'a> DiskSource<'a> {
    pub(crate) fn new(fs: &'a dyn Fs, dir: &'a Path, size: u64) -> DiskSource<'a> {
        DiskSource {
            reader: Reader { fs, dir },
            size,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl HashSource for DiskSource<'_> {
    type Error = Error;

    fn node_hash(&self, node: NodeId) -> Result<Hash> {
        let end = node.leaves().map(|(_, end)| end);
        if end.is_none_or(|end| end > self.size) {
            return Err(Error::NotYet {
                what: format!(
                    "node {}/{} is not stored in the tiles of a tree of {} leaves",
                    node.level, node.index, self.size
                ),
            });
        }
        let tile = tile_slice(node).tile;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = match cache.entry(tile) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(self.reader.tile(tile, self.size)?)
            }
        };
        node_hash_from_tile(node, bytes).map_err(|e| Error::Corrupt {
            path: tile_path(self.reader.dir, tile, u64::from(tile.width_at(self.size))),
            offset: None,
            index: None,
            what: e.to_string(),
        })
    }
}

/// The files that bring tiles (and bundles) from a tree of `old.size()` leaves
/// to one with the new leaves appended.
pub(crate) struct Derived {
    /// Files to write (path, bytes).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Partial tiles and bundles the new files replace, to delete once the new
    /// state is durable.
    pub stale: Vec<PathBuf>,
    /// The frontier after the new leaves.
    pub frontier: Frontier,
}

/// Derives the tiles and bundles for `leaves` (with their `entries`) appended to
/// the tree whose frontier is `old` and whose tiles are on disk.
pub(crate) fn derive(
    reader: &Reader<'_>,
    old: &Frontier,
    leaves: &[Hash],
    entries: &[&[u8]],
    bundles: bool,
) -> Result<Derived> {
    let s = old.size();
    let mut frontier = old.clone();
    // new[L]: the level-8L hashes completed by the new leaves, in index order,
    // starting at index s >> 8L.
    let mut new: Vec<Vec<Hash>> = Vec::new();
    for leaf in leaves {
        frontier
            .push_with(*leaf, |node, hash| {
                if node.level % 8 == 0 {
                    let l = usize::from(node.level / 8);
                    if new.len() <= l {
                        new.resize(l + 1, Vec::new());
                    }
                    new[l].push(*hash);
                }
            })
            .map_err(|e| Error::NotYet {
                what: e.to_string(),
            })?;
    }
    let mut files = Vec::new();
    let mut stale = Vec::new();
    for (l, hashes) in new.iter().enumerate() {
        if hashes.is_empty() {
            continue;
        }
        let level = l as u8;
        let first = s >> (8 * l);
        let end = first + hashes.len() as u64;
        for t in first / W..=(end - 1) / W {
            let lo = t * W;
            let width = (end - lo).min(W);
            let id = TileId { level, index: t };
            let mut bytes = Vec::with_capacity(width as usize * 32);
            if lo < first {
                let old_width = first - lo;
                bytes.extend_from_slice(&reader.tile(id, s)?[..old_width as usize * 32]);
                stale.push(tile_path(reader.dir, id, old_width));
            }
            let from = (lo.max(first) - first) as usize;
            let to = (lo + width - first) as usize;
            for h in &hashes[from..to] {
                bytes.extend_from_slice(&h.0);
            }
            files.push((tile_path(reader.dir, id, width), bytes));
        }
    }
    if bundles && !entries.is_empty() {
        let end = s + entries.len() as u64;
        for t in s / W..=(end - 1) / W {
            let lo = t * W;
            let width = (end - lo).min(W);
            let mut bytes = Vec::new();
            if lo < s {
                for e in reader.bundle(t, s)? {
                    push_bundle_entry(&mut bytes, &e);
                }
                stale.push(bundle_path(reader.dir, t, s - lo));
            }
            let from = (lo.max(s) - s) as usize;
            let to = (lo + width - s) as usize;
            for e in &entries[from..to] {
                push_bundle_entry(&mut bytes, e);
            }
            files.push((bundle_path(reader.dir, t, width), bytes));
        }
    }
    Ok(Derived {
        files,
        stale,
        frontier,
    })
}

fn push_bundle_entry(out: &mut Vec<u8>, entry: &[u8]) {
    // Entries are at most u16::MAX bytes (checked on append and on read).
    out.extend_from_slice(&(entry.len() as u16).to_be_bytes());
    out.extend_from_slice(entry);
}

/// Writes and syncs `files`, then syncs every directory that holds them (and the
/// directories above them, up to `root`), using up to 16 threads: the file system
/// merges concurrent syncs into few journal commits.
pub(crate) fn write_all_synced(
    fs: &dyn Fs,
    root: &Path,
    files: &[(PathBuf, Vec<u8>)],
) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (path, _) in files {
        let mut d = path.parent();
        while let Some(p) = d {
            if !p.starts_with(root) {
                break;
            }
            dirs.push(p.to_path_buf());
            if p == root {
                break;
            }
            d = p.parent();
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        fs.create_dir_all(d)
            .map_err(Error::io(d, "create the directory"))?;
    }
    parallel(files.len(), |i| {
        let (path, bytes) = &files[i];
        fs.write_synced(path, bytes)
            .map_err(Error::io(path, "write and sync"))
    })?;
    parallel(dirs.len(), |i| {
        fs.sync_dir(&dirs[i])
            .map_err(Error::io(&dirs[i], "sync the directory"))
    })
}

/// Runs `job(0..n)` on up to 16 threads; the first error wins.
fn parallel(n: usize, job: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    let threads = (n / 4).clamp(1, 16);
    if threads == 1 {
        return (0..n).try_for_each(job);
    }
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    if let Err(e) = job(i) {
                        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        // Stop handing out work.
                        next.store(n, Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_refuses_noise() {
        let s = State {
            size: 300,
            offset: 12_345,
        };
        assert_eq!(State::parse(s.to_text().as_bytes()), Ok(s));
        for bad in [
            "",
            "airlock-ledger state v1\nsize 1\n",
            "airlock-ledger state v1\nsize 01\noffset 2\n",
            "airlock-ledger state v1\nsize 1\noffset 2",
            "airlock-ledger state v1\nsize 1\noffset 2\nmore\n",
            "airlock-ledger state v2\nsize 1\noffset 2\n",
        ] {
            assert!(State::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bundle_paths_follow_tlog_tiles() {
        let d = Path::new("/l");
        assert_eq!(
            bundle_path(d, 1234, 256),
            Path::new("/l/tile/entries/x001/234")
        );
        assert_eq!(bundle_path(d, 0, 7), Path::new("/l/tile/entries/000.p/7"));
    }
}
