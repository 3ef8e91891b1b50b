//! Where a node's hash lives in the C2SP tlog-tiles layout (<https://c2sp.org/tlog-tiles>).
//!
//! A tile of level `L` and index `N` holds up to 256 consecutive hashes of tree
//! level `8·L`: the nodes `N·256 … N·256+255` of that level. Level-0 tiles hold leaf
//! hashes; a level-1 tile holds the roots of 256 full 256-leaf subtrees, and so on.
//! A node at tree level `8·L + r` (`r < 8`) is not stored itself: it is the perfect
//! subtree of `2^r` adjacent hashes inside one level-`L` tile, recomputed from them
//! ([`node_hash_from_tile`]). A tile is *partial* (width < 256) while the tree has
//! not filled it; its path then ends in `.p/<width>`.

use crate::hash::{Hash, node_hash};
use crate::tree::NodeId;

/// Tree levels per tile level: a tile is 2^8 = 256 hashes wide.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 1 << TILE_HEIGHT;

/// A tile: level `L` holds hashes of tree level `8·L`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TileId {
    /// Tile level (tree level / 8).
    pub level: u8,
    /// Tile index within its level.
    pub index: u64,
}

/// The hashes `[start, end)` of a tile whose perfect subtree is a node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TileSlice {
    /// The tile.
    pub tile: TileId,
    /// First hash in the tile.
    pub start: u16,
    /// One past the last hash; the tile must be at least this wide.
    pub end: u16,
}

/// A tile's bytes do not hold the node asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The tile is narrower than the slice, or not a whole number of hashes.
    #[error(
        "tile {level}/{index} has {bytes} bytes; level {node_level} node {node_index} needs hashes {start}..{end} (32 bytes each)"
    )]
    TooShort {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
        /// Bytes given.
        bytes: usize,
        /// The node's level.
        node_level: u8,
        /// The node's index.
        node_index: u64,
        /// First hash needed.
        start: u16,
        /// One past the last hash needed.
        end: u16,
    },
}

/// The tile slice that holds (or recomputes) `node`.
pub fn tile_slice(node: NodeId) -> TileSlice {
    let level = node.level.min(63);
    let tile_level = level / TILE_HEIGHT;
    let rest = level % TILE_HEIGHT;
    // The node covers `2^rest` hashes of tree level 8·L, starting at index·2^rest;
    // an index too large for that level (no tree has it) saturates.
    let first = node.index.saturating_mul(1 << rest);
    let start = (first % u64::from(TILE_WIDTH)) as u16;
    TileSlice {
        tile: TileId {
            level: tile_level,
            index: first / u64::from(TILE_WIDTH),
        },
        start,
        end: start.saturating_add(1 << rest).min(TILE_WIDTH),
    }
}

/// Recomputes `node`'s hash from the bytes of the tile [`tile_slice`] names
/// (concatenated 32-byte hashes, as the tile is stored).
pub fn node_hash_from_tile(node: NodeId, tile: &[u8]) -> Result<Hash, TileError> {
    let slice = tile_slice(node);
    let too_short = || TileError::TooShort {
        level: slice.tile.level,
        index: slice.tile.index,
        bytes: tile.len(),
        node_level: node.level,
        node_index: node.index,
        start: slice.start,
        end: slice.end,
    };
    if !tile.len().is_multiple_of(32) {
        return Err(too_short());
    }
    let bytes = tile
        .get(usize::from(slice.start) * 32..usize::from(slice.end) * 32)
        .ok_or_else(too_short)?;
    let mut level: Vec<Hash> = bytes
        .chunks_exact(32)
        .filter_map(|c| Hash::from_slice(c).ok())
        .collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.pop().ok_or_else(too_short)
}

impl TileId {
    /// How many hashes the tile holds in a tree of `tree_size` leaves: 0 (not yet
    /// begun) to 256 (full).
    pub fn width_at(&self, tree_size: u64) -> u16 {
        let shift = u32::from(self.level) * u32::from(TILE_HEIGHT);
        let at_level = tree_size.checked_shr(shift).unwrap_or(0);
        let before = self.index.saturating_mul(u64::from(TILE_WIDTH));
        at_level.saturating_sub(before).min(u64::from(TILE_WIDTH)) as u16
    }

    /// The tile's path: `tile/<L>/<N>` for a full tile, `tile/<L>/<N>.p/<W>` for a
    /// partial one of width `W` (1–255). `N` is written in groups of three digits,
    /// all but the last prefixed with `x`: 1234067 is `x001/x234/067`.
    pub fn path(&self, width: u16) -> String {
        let mut path = format!("tile/{}/{}", self.level, index_path(self.index));
        if width < TILE_WIDTH {
            path.push_str(&format!(".p/{width}"));
        }
        path
    }
}

/// The C2SP encoding of a tile index: `x001/x234/067`.
pub fn index_path(index: u64) -> String {
    let digits = index.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let padded = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .filter_map(|g| std::str::from_utf8(g).ok())
        .collect();
    let last = groups.len().saturating_sub(1);
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_tlog_tiles() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(42), "042");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(index_path(1_234_067), "x001/x234/067");
        let t = TileId {
            level: 0,
            index: 1_234_067,
        };
        assert_eq!(t.path(256), "tile/0/x001/x234/067");
        assert_eq!(t.path(89), "tile/0/x001/x234/067.p/89");
        assert_eq!(TileId { level: 2, index: 0 }.path(1), "tile/2/000.p/1");
        assert_eq!(index_path(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
    }

    #[test]
    fn nodes_map_to_tile_slices() {
        // A leaf: tile 0 of level 0.
        let s = tile_slice(NodeId::leaf(300));
        assert_eq!(s.tile, TileId { level: 0, index: 1 });
        assert_eq!((s.start, s.end), (44, 45));
        // Level 3 node 5: leaves 40..48, hashes 40..48 of tile 0/0.
        let s = tile_slice(NodeId { level: 3, index: 5 });
        assert_eq!(s.tile, TileId { level: 0, index: 0 });
        assert_eq!((s.start, s.end), (40, 48));
        // Level 8 is stored in level-1 tiles.
        let s = tile_slice(NodeId {
            level: 8,
            index: 257,
        });
        assert_eq!(s.tile, TileId { level: 1, index: 1 });
        assert_eq!((s.start, s.end), (1, 2));
        // Level 15: 128 hashes of a level-1 tile.
        let s = tile_slice(NodeId {
            level: 15,
            index: 3,
        });
        assert_eq!(s.tile, TileId { level: 1, index: 1 });
        assert_eq!((s.start, s.end), (128, 256));
    }

    #[test]
    fn widths_grow_with_the_tree() {
        let t = TileId { level: 0, index: 1 };
        assert_eq!(t.width_at(256), 0);
        assert_eq!(t.width_at(300), 44);
        assert_eq!(t.width_at(1 << 20), 256);
        let t = TileId { level: 1, index: 0 };
        assert_eq!(t.width_at(255), 0);
        assert_eq!(t.width_at(256 * 3 + 5), 3);
    }
}
