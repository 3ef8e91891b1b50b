//! The shape of an RFC 6962 tree: nodes, the subtrees a proof is made of, and proof
//! generation from stored hashes.
//!
//! A tree of `n` leaves stores, durably, only *full* subtrees: the node at `level`
//! and `index` covers the `2^level` leaves `[index·2^level, (index+1)·2^level)` and
//! exists once all of them do. Every hash a proof needs is either such a node or the
//! hash of a subtree on the right edge of the tree, which is the fold of a few full
//! nodes ([`Subtree::nodes`]). A store therefore implements one method,
//! [`HashSource::node_hash`], and [`inclusion_proof`], [`consistency_proof`] and
//! [`tree_root`] do the rest. [`ProofPlan`] says in advance which nodes (and which
//! C2SP tiles, [`crate::tiles`]) a proof will read, so a store can fetch them in one
//! batch.

use crate::hash::{Hash, empty_root, node_hash};

/// A full subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NodeId {
    /// Height above the leaves: 0 is a leaf hash.
    pub level: u8,
    /// Position among the nodes of that level, from the left, from 0.
    pub index: u64,
}

impl NodeId {
    /// The leaf hash at `index`.
    pub fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// The leaves the node covers, `[first, end)`, or `None` if they do not fit in
    /// a `u64` (no tree holds such a node).
    pub fn leaves(self) -> Option<(u64, u64)> {
        if self.level > 63 {
            return None;
        }
        let width = 1u64 << self.level;
        let first = self.index.checked_mul(width)?;
        Some((first, first.checked_add(width)?))
    }
}

/// A range of leaves `[start, end)` whose hash appears in a proof: a full node, or
/// a subtree on the right edge of the tree (RFC 6962 `MTH(D[start:end])`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Subtree {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
}

impl Subtree {
    /// The full nodes whose hashes fold (right to left, [`Subtree::fold`]) into this
    /// subtree's hash: one per set bit of `end - start`, largest first.
    pub fn nodes(self) -> impl Iterator<Item = NodeId> {
        let mut cur = self.start;
        let end = self.end;
        std::iter::from_fn(move || {
            if cur >= end {
                return None;
            }
            let remaining = end - cur;
            let fits = 63 - remaining.leading_zeros();
            let aligned = if cur == 0 { 63 } else { cur.trailing_zeros() };
            let level = fits.min(aligned);
            let node = NodeId {
                level: level as u8,
                index: cur >> level,
            };
            cur += 1u64 << level;
            Some(node)
        })
    }

    /// Folds the hashes of [`Subtree::nodes`], in that order, into the subtree's
    /// hash: `H(n0, H(n1, … H(nk-1, nk)))`. `None` for no hashes.
    pub fn fold(hashes: &[Hash]) -> Option<Hash> {
        let (last, rest) = hashes.split_last()?;
        Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
    }
}

/// Read access to the stored hashes of a tree: every full node below the tree size.
///
/// A tile store implements it by reading the C2SP tile that holds the node
/// ([`crate::tiles::tile_slice`]); [`MemoryTree`](crate::MemoryTree) keeps them all
/// in memory.
pub trait HashSource {
    /// Why a hash could not be read (a missing tile, an I/O error).
    type Error;

    /// The hash of one full node.
    fn node_hash(&self, node: NodeId) -> Result<Hash, Self::Error>;

    /// The hashes of several nodes, in order. Override it to batch reads; the default
    /// reads them one by one.
    fn node_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        nodes.iter().map(|n| self.node_hash(*n)).collect()
    }
}

impl<S: HashSource + ?Sized> HashSource for &S {
    type Error = S::Error;
    fn node_hash(&self, node: NodeId) -> Result<Hash, Self::Error> {
        (**self).node_hash(node)
    }
    fn node_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).node_hashes(nodes)
    }
}

/// Why a proof cannot be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The leaf is not in the tree.
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The first tree is larger than the second.
    #[error("no consistency proof from a tree of {size1} leaves to a smaller one of {size2}")]
    SizeOrder {
        /// The earlier tree size.
        size1: u64,
        /// The later tree size.
        size2: u64,
    },
    /// A consistency proof from the empty tree proves nothing (RFC 9162 requires
    /// `0 < first`).
    #[error("no consistency proof from the empty tree: it is a prefix of every tree")]
    EmptyFirstTree,
}

/// A proof could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E> {
    /// The request itself is invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The store could not supply a hash.
    #[error("reading a stored hash: {0}")]
    Source(E),
    /// The store answered a batch read with the wrong number of hashes.
    #[error("the store returned {got} hashes for {asked} nodes")]
    ShortRead {
        /// Nodes asked for.
        asked: usize,
        /// Hashes returned.
        got: usize,
    },
}

/// The subtrees whose hashes make up a proof, in proof order (RFC 6962: from the
/// bottom of the tree to the top).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    subtrees: Vec<Subtree>,
}

impl ProofPlan {
    /// The plan of the inclusion proof of leaf `index` in a tree of `size` leaves
    /// (RFC 6962 §2.1.1 `PATH`).
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, PlanError> {
        if index >= size {
            return Err(PlanError::IndexOutOfRange { index, size });
        }
        let (mut lo, mut hi) = (0u64, size);
        let mut subtrees = Vec::with_capacity(64);
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if index < lo + k {
                subtrees.push(Subtree {
                    start: lo + k,
                    end: hi,
                });
                hi = lo + k;
            } else {
                subtrees.push(Subtree {
                    start: lo,
                    end: lo + k,
                });
                lo += k;
            }
        }
        subtrees.reverse();
        Ok(ProofPlan { subtrees })
    }

    /// The plan of the consistency proof from the tree of `size1` leaves to the tree
    /// of `size2` (RFC 6962 §2.1.2 `PROOF`). Empty when the sizes are equal.
    pub fn consistency(size1: u64, size2: u64) -> Result<ProofPlan, PlanError> {
        if size1 > size2 {
            return Err(PlanError::SizeOrder { size1, size2 });
        }
        if size1 == 0 {
            return Err(PlanError::EmptyFirstTree);
        }
        let mut subtrees = Vec::with_capacity(64);
        if size1 < size2 {
            // SUBPROOF(m, D[lo:hi], complete): `complete` is true while the old tree is
            // still a left-aligned prefix whose root the verifier already holds.
            let (mut lo, mut hi, mut complete) = (0u64, size2, true);
            loop {
                if size1 == hi {
                    if !complete {
                        subtrees.push(Subtree { start: lo, end: hi });
                    }
                    break;
                }
                let k = split_point(hi - lo);
                if size1 <= lo + k {
                    subtrees.push(Subtree {
                        start: lo + k,
                        end: hi,
                    });
                    hi = lo + k;
                } else {
                    subtrees.push(Subtree {
                        start: lo,
                        end: lo + k,
                    });
                    lo += k;
                    complete = false;
                }
            }
            subtrees.reverse();
        }
        Ok(ProofPlan { subtrees })
    }

    /// The subtrees, in proof order.
    pub fn subtrees(&self) -> &[Subtree] {
        &self.subtrees
    }

    /// Every full node the proof reads, in proof order.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.subtrees.iter().flat_map(|s| s.nodes()).collect()
    }

    /// Every C2SP tile the proof reads (tile height 8), sorted, once each.
    pub fn tiles(&self) -> Vec<crate::tiles::TileId> {
        let mut tiles: Vec<_> = self
            .nodes()
            .into_iter()
            .map(|n| crate::tiles::tile_slice(n).tile)
            .collect();
        tiles.sort_unstable();
        tiles.dedup();
        tiles
    }

    /// Reads the nodes from `source` (in one [`HashSource::node_hashes`] call) and
    /// folds them into the proof's hashes.
    pub fn resolve<S: HashSource + ?Sized>(
        &self,
        source: &S,
    ) -> Result<Vec<Hash>, ProveError<S::Error>> {
        let nodes = self.nodes();
        let hashes = read(source, &nodes)?;
        let mut out = Vec::with_capacity(self.subtrees.len());
        let mut rest = &hashes[..];
        for s in &self.subtrees {
            let (mine, next) = rest.split_at(s.nodes().count());
            // Every subtree of a plan is non-empty, so the fold is always `Some`.
            out.extend(Subtree::fold(mine));
            rest = next;
        }
        Ok(out)
    }
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 6962 splits a
/// tree of `n` leaves into its left and right subtrees.
fn read<S: HashSource + ?Sized>(
    source: &S,
    nodes: &[NodeId],
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    let hashes = source.node_hashes(nodes).map_err(ProveError::Source)?;
    if hashes.len() != nodes.len() {
        return Err(ProveError::ShortRead {
            asked: nodes.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<S: HashSource + ?Sized>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    ProofPlan::inclusion(index, size)?.resolve(source)
}

/// The consistency proof from the tree of `size1` leaves to the tree of `size2`.
pub fn consistency_proof<S: HashSource + ?Sized>(
    source: &S,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProveError<S::Error>> {
    ProofPlan::consistency(size1, size2)?.resolve(source)
}

/// The root of the tree of `size` leaves, from at most 64 stored nodes (one per set
/// bit of `size`). The empty tree's root is [`empty_root`].
pub fn tree_root<S: HashSource + ?Sized>(
    source: &S,
    size: u64,
) -> Result<Hash, ProveError<S::Error>> {
    let nodes: Vec<NodeId> = Subtree {
        start: 0,
        end: size,
    }
    .nodes()
    .collect();
    let hashes = read(source, &nodes)?;
    Ok(Subtree::fold(&hashes).unwrap_or_else(empty_root))
}

/// The number of hashes in the inclusion proof of leaf `index` in a tree of `size`
/// leaves: the levels below the point where the paths to `index` and to the last
/// leaf part, plus one per left subtree above it. 0 when `index >= size` (there is
/// no proof).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let (inner, border) = decompose(index, size);
    inner + border
}

/// The number of hashes in the consistency proof from `size1` to `size2`
/// (`0 < size1 < size2`); 0 when `size1 == size2`.
pub fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    if size1 == 0 || size1 >= size2 {
        return 0;
    }
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    // When size1 is a power of two its root is a node of the new tree, which the
    // verifier already holds; otherwise the proof starts with that subtree's hash.
    let seed = usize::from(!size1.is_power_of_two());
    seed + inner - shift + border
}

fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index.checked_shr(inner as u32).unwrap_or(0)).count_ones() as usize;
    (inner, border)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_nodes_follow_the_set_bits() {
        let s = Subtree { start: 0, end: 13 };
        let nodes: Vec<_> = s.nodes().collect();
        assert_eq!(
            nodes,
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                }
            ]
        );
        let s = Subtree { start: 8, end: 16 };
        assert_eq!(
            s.nodes().collect::<Vec<_>>(),
            vec![NodeId { level: 3, index: 1 }]
        );
        assert_eq!(Subtree { start: 0, end: 0 }.nodes().count(), 0);
        let top = Subtree {
            start: 0,
            end: u64::MAX,
        };
        assert_eq!(top.nodes().count(), 64);
    }

    #[test]
    fn plan_lengths_match_the_formulas() {
        for size in 1..300u64 {
            for index in 0..size {
                let plan = ProofPlan::inclusion(index, size).unwrap();
                assert_eq!(plan.subtrees().len(), inclusion_proof_len(index, size));
            }
            for size1 in 1..=size {
                let plan = ProofPlan::consistency(size1, size).unwrap();
                assert_eq!(
                    plan.subtrees().len(),
                    consistency_proof_len(size1, size),
                    "{size1} -> {size}"
                );
            }
        }
        let big = 1_000_000_000u64;
        assert_eq!(ProofPlan::inclusion(0, big).unwrap().subtrees().len(), 30);
        assert_eq!(
            ProofPlan::inclusion(big - 1, big).unwrap().subtrees().len(),
            21
        );
        // The largest tree: 64 levels on the left, 63 set bits on the right edge.
        let plan = ProofPlan::inclusion(0, u64::MAX).unwrap();
        assert_eq!(plan.subtrees().len(), 64);
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        let plan = ProofPlan::inclusion(u64::MAX - 1, u64::MAX).unwrap();
        assert_eq!(plan.subtrees().len(), 63);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(
            ProofPlan::consistency(u64::MAX - 1, u64::MAX)
                .unwrap()
                .subtrees()
                .len(),
            consistency_proof_len(u64::MAX - 1, u64::MAX)
        );
    }

    #[test]
    fn plans_refuse_what_cannot_be_proved() {
        assert_eq!(
            ProofPlan::inclusion(5, 5),
            Err(PlanError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            ProofPlan::inclusion(0, 0),
            Err(PlanError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            ProofPlan::consistency(3, 2),
            Err(PlanError::SizeOrder { size1: 3, size2: 2 })
        );
        assert_eq!(ProofPlan::consistency(0, 2), Err(PlanError::EmptyFirstTree));
        assert!(ProofPlan::consistency(4, 4).unwrap().subtrees().is_empty());
        assert_eq!(inclusion_proof_len(0, 0), 0);
        assert_eq!(inclusion_proof_len(u64::MAX, 3), 0);
        assert_eq!(consistency_proof_len(0, 5), 0);
        assert_eq!(consistency_proof_len(5, 2), 0);
    }
}
