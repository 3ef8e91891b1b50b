//! Every stored hash of a tree in memory: for tests, small logs and replays.

use crate::frontier::{Frontier, TreeFull};
use crate::hash::Hash;
use crate::tree::{HashSource, NodeId};

/// All full nodes of a tree, level by level (about two hashes per leaf).
///
/// ```
/// use airlock_tlog::{MemoryTree, inclusion_proof, leaf_hash, verify_inclusion};
///
/// let mut tree = MemoryTree::new();
/// for i in 0..10u32 {
///     tree.push(leaf_hash(&i.to_be_bytes())).unwrap();
/// }
/// let proof = inclusion_proof(&tree, 3, 10).unwrap();
/// verify_inclusion(3, 10, &leaf_hash(&3u32.to_be_bytes()), &proof, &tree.root()).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// The node is not stored: not full yet, or beyond the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash at level {} index {}", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// Appends a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> Result<u64, TreeFull> {
        let levels = &mut self.levels;
        self.frontier.push_with(leaf, |node, hash| {
            let level = usize::from(node.level);
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            levels[level].push(*hash);
        })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The frontier of the whole tree.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl HashSource for MemoryTree {
    type Error = MissingNode;

    fn node_hash(&self, node: NodeId) -> Result<Hash, MissingNode> {
        usize::try_from(node.index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(node.level))?.get(i))
            .copied()
            .ok_or(MissingNode(node))
    }
}
