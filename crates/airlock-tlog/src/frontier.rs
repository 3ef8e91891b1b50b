//! The right edge of a growing tree: O(log n) hashes that absorb leaves one by one.

use crate::hash::{Hash, empty_root, node_hash};
use crate::tree::{HashSource, NodeId, ProveError, Subtree};

/// The compact range `[0, size)` of a tree: one full-subtree hash per set bit of
/// `size`, largest (leftmost) first. It is all a writer needs to keep in memory to
/// append leaves and sign roots, and all an auditor needs to replay a log.
///
/// ```
/// use airlock_tlog::{Frontier, leaf_hash};
///
/// let mut f = Frontier::new();
/// for entry in [&b"a"[..], b"b", b"c"] {
///     f.push(leaf_hash(entry)).unwrap();
/// }
/// assert_eq!(f.size(), 3);
/// assert_eq!(f.nodes().count(), 2); // a 2-leaf subtree and a single leaf
/// let root = f.root();
/// # let _ = root;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

/// The tree already holds `u64::MAX` leaves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the tree is full: {0} leaves")]
pub struct TreeFull(pub u64);

/// A frontier given as parts does not fit its size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of {size} leaves has a frontier of {expected} hashes, not {got}")]
pub struct FrontierShapeError {
    /// The tree size.
    pub size: u64,
    /// Hashes given.
    pub got: usize,
    /// One per set bit of the size.
    pub expected: usize,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// A frontier from its parts, as [`Frontier::hashes`] returned them.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Frontier, FrontierShapeError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(FrontierShapeError {
                size,
                got: hashes.len(),
                expected,
            });
        }
        Ok(Frontier { size, hashes })
    }

    /// The frontier of the tree of `size` leaves, read from stored hashes.
    pub fn from_source<S: HashSource + ?Sized>(
        source: &S,
        size: u64,
    ) -> Result<Frontier, ProveError<S::Error>> {
        let nodes: Vec<NodeId> = Subtree {
            start: 0,
            end: size,
        }
        .nodes()
        .collect();
        let hashes = source.node_hashes(&nodes).map_err(ProveError::Source)?;
        Frontier::from_parts(size, hashes).map_err(|e| ProveError::ShortRead {
            asked: e.expected,
            got: e.got,
        })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes, largest subtree first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The full nodes of the right edge with their hashes, left to right.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Hash)> {
        Subtree {
            start: 0,
            end: self.size,
        }
        .nodes()
        .zip(self.hashes.iter())
    }

    /// Appends a leaf hash; returns the leaf's index.
    pub fn push(&mut self, leaf: Hash) -> Result<u64, TreeFull> {
        self.push_with(leaf, |_, _| {})
    }

    /// Appends a leaf hash and calls `completed` with every full node this
    /// completes, bottom up, starting with the leaf itself (level 0): exactly the
    /// hashes a tile store must write. Returns the leaf's index.
    pub fn push_with(
        &mut self,
        leaf: Hash,
        mut completed: impl FnMut(NodeId, &Hash),
    ) -> Result<u64, TreeFull> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(TreeFull(index))?;
        completed(NodeId::leaf(index), &leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a full subtree on the edge that
        // the new leaf now completes into a larger one.
        let mut carry = index;
        while carry & 1 == 1 {
            let Some(left) = self.hashes.pop() else { break };
            hash = node_hash(&left, &hash);
            level += 1;
            carry >>= 1;
            completed(
                NodeId {
                    level,
                    index: (new_size >> level) - 1,
                },
                &hash,
            );
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(index)
    }

    /// The root of the tree: `log2(size)` hashes at most.
    pub fn root(&self) -> Hash {
        Subtree::fold(&self.hashes).unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    #[test]
    fn push_reports_completed_nodes() {
        let mut f = Frontier::new();
        let mut seen = Vec::new();
        for i in 0..8u64 {
            f.push_with(leaf_hash(&i.to_be_bytes()), |n, _| seen.push(n))
                .unwrap();
        }
        let levels: Vec<(u8, u64)> = seen.iter().map(|n| (n.level, n.index)).collect();
        assert_eq!(
            levels,
            vec![
                (0, 0),
                (0, 1),
                (1, 0),
                (0, 2),
                (0, 3),
                (1, 1),
                (2, 0),
                (0, 4),
                (0, 5),
                (1, 2),
                (0, 6),
                (0, 7),
                (1, 3),
                (2, 1),
                (3, 0)
            ]
        );
        assert_eq!(f.hashes().len(), 1);
    }

    #[test]
    fn parts_must_fit_the_size() {
        assert!(Frontier::from_parts(3, vec![Hash([0; 32])]).is_err());
        assert!(Frontier::from_parts(0, vec![]).is_ok());
        let full = Frontier::from_parts(u64::MAX, vec![Hash([0; 32]); 64]).unwrap();
        assert_eq!(full.clone().push(Hash([1; 32])), Err(TreeFull(u64::MAX)));
    }
}
