//! Proof verification, step for step as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency) write it.
//!
//! Both functions first check the proof's length against the length the tree
//! shape requires ([`inclusion_proof_len`], [`consistency_proof_len`]): the RFC
//! algorithm would reject a wrong length too, but only after hashing, and with a
//! less useful error. The root a proof leads to is only ever *compared* with the
//! root the caller holds (from a signed checkpoint); it is never returned.

use crate::hash::{Hash, node_hash};
use crate::tree::{consistency_proof_len, inclusion_proof_len};

/// Why an inclusion proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// `index >= size`: the leaf is not in the tree.
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for this index and size.
    #[error("the proof has {got} hashes; leaf {index} of a tree of {size} needs {expected}")]
    ProofLength {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
        /// Hashes in the proof.
        got: usize,
        /// Hashes the tree shape requires.
        expected: usize,
    },
    /// The proof leads to another root: the leaf, its index or the proof is wrong.
    #[error(
        "the proof for leaf {index} leads to root {computed}, not to the tree's root {expected}"
    )]
    RootMismatch {
        /// The leaf index.
        index: u64,
        /// The root the proof leads to.
        computed: Hash,
        /// The root the caller holds.
        expected: Hash,
    },
}

/// Why a consistency proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    /// The first tree is larger than the second: a rollback.
    #[error("the first tree ({size1} leaves) is larger than the second ({size2})")]
    SizeOrder {
        /// The earlier tree size.
        size1: u64,
        /// The later tree size.
        size2: u64,
    },
    /// RFC 9162 defines consistency for `0 < first`; the empty tree is a prefix of
    /// every tree, so there is nothing to verify (and nothing is taken as verified).
    #[error("no consistency proof from the empty tree: it is a prefix of every tree")]
    EmptyFirstTree,
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has {got} hashes; from {size1} to {size2} leaves needs {expected}")]
    ProofLength {
        /// The earlier tree size.
        size1: u64,
        /// The later tree size.
        size2: u64,
        /// Hashes in the proof.
        got: usize,
        /// Hashes the tree shapes require.
        expected: usize,
    },
    /// Two different roots for the same size: the log has forked.
    #[error("two different roots for the same size {size}: {root1} and {root2}")]
    Fork {
        /// The tree size.
        size: u64,
        /// The first root.
        root1: Hash,
        /// The second root.
        root2: Hash,
    },
    /// The proof does not lead to the first root.
    #[error(
        "the proof leads to {computed} for the tree of {size1} leaves, not to its root {expected}"
    )]
    FirstRootMismatch {
        /// The earlier tree size.
        size1: u64,
        /// What the proof leads to.
        computed: Hash,
        /// The root the caller holds.
        expected: Hash,
    },
    /// The proof does not lead to the second root.
    #[error(
        "the proof leads to {computed} for the tree of {size2} leaves, not to its root {expected}"
    )]
    SecondRootMismatch {
        /// The later tree size.
        size2: u64,
        /// What the proof leads to.
        computed: Hash,
        /// The root the caller holds.
        expected: Hash,
    },
}

/// Verifies that `leaf` (a leaf *hash*, [`crate::leaf_hash`] of the entry) is leaf
/// `index` of the tree of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// `root` must come from a verified checkpoint, never from the party that supplied
/// the proof.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), InclusionError> {
    // 1. leaf_index >= tree_size fails.
    if index >= size {
        return Err(InclusionError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(InclusionError::ProofLength {
            index,
            size,
            got: proof.len(),
            expected,
        });
    }
    // 2.–3. fn = leaf_index, sn = tree_size - 1, r = hash.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    // 4. For each p in the inclusion path:
    for p in proof {
        // a. sn == 0 fails (unreachable after the length check, kept as written).
        if snode == 0 {
            return Err(InclusionError::ProofLength {
                index,
                size,
                got: proof.len(),
                expected,
            });
        }
        // b. A right child, or the last node of its level: p is on the left.
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        // c. Up one level.
        fnode >>= 1;
        snode >>= 1;
    }
    // 5. sn must be 0 and r the root.
    if snode != 0 {
        return Err(InclusionError::ProofLength {
            index,
            size,
            got: proof.len(),
            expected,
        });
    }
    if r != *root {
        return Err(InclusionError::RootMismatch {
            index,
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `size1` leaves with root `root1` is a prefix of the
/// tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots (two roots for one size are a
/// fork). `size1 == 0` is refused ([`ConsistencyError::EmptyFirstTree`]).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ConsistencyError> {
    if size1 > size2 {
        return Err(ConsistencyError::SizeOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ConsistencyError::EmptyFirstTree);
    }
    let expected = consistency_proof_len(size1, size2);
    let wrong_length = ConsistencyError::ProofLength {
        size1,
        size2,
        got: proof.len(),
        expected,
    };
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(wrong_length);
        }
        if root1 != root2 {
            return Err(ConsistencyError::Fork {
                size: size1,
                root1: *root1,
                root2: *root2,
            });
        }
        return Ok(());
    }
    // 1. An empty consistency path fails.
    if proof.len() != expected || proof.is_empty() {
        return Err(wrong_length);
    }
    // 2. If first is a power of two, first_hash is prepended to the path.
    let (seed, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(wrong_length),
        }
    };
    // 3. fn = first - 1, sn = second - 1.
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    // 4. While LSB(fn) is set, shift both right.
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 5. fr = sr = the first value of the path.
    let (mut fr, mut sr) = (*seed, *seed);
    // 6. For each subsequent value c:
    for c in rest {
        // a. sn == 0 fails.
        if snode == 0 {
            return Err(wrong_length);
        }
        // b. c is a left sibling of both paths, or the old tree's edge ends here.
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            // Otherwise c is a right sibling, only in the new tree.
            sr = node_hash(&sr, c);
        }
        // c. Up one level.
        fnode >>= 1;
        snode >>= 1;
    }
    // 7. fr == first_hash, sr == second_hash, sn == 0.
    if snode != 0 {
        return Err(wrong_length);
    }
    if fr != *root1 {
        return Err(ConsistencyError::FirstRootMismatch {
            size1,
            computed: fr,
            expected: *root1,
        });
    }
    if sr != *root2 {
        return Err(ConsistencyError::SecondRootMismatch {
            size2,
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}
