//! Properties over random trees of up to a few thousand leaves: every proof the
//! crate generates verifies, and any single-bit change to a proof, leaf or root
//! makes it fail; a node can never pass for a leaf; proofs read from C2SP tiles
//! equal proofs read from memory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure

use std::collections::HashMap;

use airlock_tlog::tiles::{TILE_HEIGHT, TileId, node_hash_from_tile, tile_slice};
use airlock_tlog::*;
use proptest::prelude::*;

/// A random tree: `n` distinct leaves whose entries depend on `seed`.
fn build(seed: u64, n: u64) -> (MemoryTree, Vec<Vec<u8>>) {
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let x = (seed ^ i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut e = i.to_le_bytes()[..2].to_vec();
            e.extend_from_slice(&x.to_le_bytes()[..(x % 7) as usize]);
            e
        })
        .collect();
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.push(leaf_hash(e)).unwrap();
    }
    (tree, entries)
}

/// RFC 6962 §2.1 MTH, straight from the definition.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn flip(h: &Hash, bit: u8) -> Hash {
    let mut out = *h;
    out.0[usize::from(bit / 8)] ^= 1 << (bit % 8);
    out
}

/// Tiles built the way a tile store would write them, read back as a HashSource.
struct Tiles(HashMap<TileId, Vec<u8>>);

impl Tiles {
    fn of(tree: &MemoryTree) -> Tiles {
        let mut tiles: HashMap<TileId, Vec<u8>> = HashMap::new();
        for level in (0..64u8).step_by(usize::from(TILE_HEIGHT)) {
            let count = tree.size() >> level;
            if count == 0 {
                break;
            }
            for index in 0..count {
                let h = tree.node_hash(NodeId { level, index }).unwrap();
                let tile = TileId {
                    level: level / TILE_HEIGHT,
                    index: index / 256,
                };
                tiles.entry(tile).or_default().extend_from_slice(&h.0);
            }
        }
        Tiles(tiles)
    }
}

impl HashSource for Tiles {
    type Error = String;
    fn node_hash(&self, node: NodeId) -> Result<Hash, String> {
        let tile = self.0.get(&tile_slice(node).tile).ok_or("no tile")?;
        node_hash_from_tile(node, tile).map_err(|e| e.to_string())
    }
}

/// 48 cases per property, or `PROPTEST_CASES`.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn inclusion_proofs_verify_and_every_bit_counts(
        seed in any::<u64>(),
        n in 1u64..3000,
        picks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u8>()), 12),
    ) {
        let (tree, entries) = build(seed, n);
        for (a, b, bit) in picks {
            let size = 1 + a % n;
            let index = b % size;
            let root = tree_root(&tree, size).unwrap();
            let leaf = leaf_hash(&entries[index as usize]);
            let proof = inclusion_proof(&tree, index, size).unwrap();
            prop_assert_eq!(proof.len(), inclusion_proof_len(index, size));
            prop_assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()));
            // The leaf, the root, any proof hash: one bit off fails.
            prop_assert!(verify_inclusion(index, size, &flip(&leaf, bit), &proof, &root).is_err());
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, bit)).is_err());
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i] = flip(&p[i], bit.wrapping_add(i as u8));
                prop_assert!(verify_inclusion(index, size, &leaf, &p, &root).is_err());
            }
            // Another index. (Another size with the same root is not a property
            // of the proof: a proof for leaf 0 of 3 leaves also leads to the root of
            // 3 leaves under size 4. The signed checkpoint binds size and root.)
            if size > 1 {
                prop_assert!(verify_inclusion((index + 1) % size, size, &leaf, &proof, &root).is_err());
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_every_bit_counts(
        seed in any::<u64>(),
        n in 1u64..3000,
        picks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u8>()), 12),
    ) {
        let (tree, _) = build(seed, n);
        for (a, b, bit) in picks {
            let size2 = 1 + a % n;
            let size1 = 1 + b % size2;
            let (root1, root2) = (tree_root(&tree, size1).unwrap(), tree_root(&tree, size2).unwrap());
            let proof = consistency_proof(&tree, size1, size2).unwrap();
            prop_assert_eq!(proof.len(), consistency_proof_len(size1, size2));
            prop_assert_eq!(verify_consistency(size1, size2, &root1, &root2, &proof), Ok(()));
            prop_assert!(verify_consistency(size1, size2, &flip(&root1, bit), &root2, &proof).is_err());
            prop_assert!(verify_consistency(size1, size2, &root1, &flip(&root2, bit), &proof).is_err());
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i] = flip(&p[i], bit.wrapping_add(i as u8));
                prop_assert!(verify_consistency(size1, size2, &root1, &root2, &p).is_err());
            }
            // Backwards is a rollback.
            if size1 < size2 {
                prop_assert!(verify_consistency(size2, size1, &root2, &root1, &proof).is_err());
            }
        }
    }

    #[test]
    fn roots_agree_with_the_rfc_definition(seed in any::<u64>(), n in 0u64..600) {
        let (tree, entries) = build(seed, n);
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        prop_assert_eq!(tree.root(), mth(&leaves));
        prop_assert_eq!(tree_root(&tree, n).unwrap(), mth(&leaves));
        for m in [n / 3, n / 2, n.saturating_sub(1)] {
            let want = mth(&leaves[..m as usize]);
            prop_assert_eq!(tree_root(&tree, m).unwrap(), want);
            let f = Frontier::from_source(&tree, m).unwrap();
            prop_assert_eq!(f.root(), want);
            // A frontier rebuilt from its parts and grown on is the same tree.
            let mut g = Frontier::from_parts(f.size(), f.hashes().to_vec()).unwrap();
            for l in &leaves[m as usize..] {
                g.push(*l).unwrap();
            }
            prop_assert_eq!(g.root(), tree.root());
        }
    }

    /// A node's hash can never pass for a leaf: not given as an entry (its
    /// children's bytes hash as a leaf with another prefix), and not at any index
    /// of the signed tree size.
    #[test]
    fn a_node_never_passes_for_a_leaf(
        seed in any::<u64>(),
        n in 2u64..3000,
        pick in any::<u64>(),
        level in 1u8..8,
    ) {
        let (tree, _) = build(seed, n);
        let root = tree.root();
        let nodes_at_level = n >> level;
        prop_assume!(nodes_at_level > 0);
        let j = pick % nodes_at_level;
        let node = tree.node_hash(NodeId { level, index: j }).unwrap();
        let left = tree.node_hash(NodeId { level: level - 1, index: 2 * j }).unwrap();
        let right = tree.node_hash(NodeId { level: level - 1, index: 2 * j + 1 }).unwrap();
        prop_assert_eq!(node_hash(&left, &right), node);
        let first = j << level;
        let full = inclusion_proof(&tree, first, n).unwrap();
        let upper = &full[usize::from(level)..];
        // The children's bytes as an entry: another hash than the node's.
        let entry = [left.0, right.0].concat();
        prop_assert_ne!(leaf_hash(&entry), node);
        for index in [j, first, first + 1] {
            for proof in [upper, &full[..]] {
                prop_assert!(verify_inclusion(index, n, &leaf_hash(&entry), proof, &root).is_err());
                // The node hash itself as a leaf hash, at the checkpoint's size.
                prop_assert!(verify_inclusion(index, n, &node, proof, &root).is_err());
            }
        }
        // Only in a tree of n / 2^level "leaves" does the node sit at a leaf's
        // place; a checkpoint never has that size, which is why a receipt's size
        // and root come from the signed checkpoint and its leaf hash from the entry.
        if n % (1 << level) == 0 {
            prop_assert_eq!(verify_inclusion(j, n >> level, &node, upper, &root), Ok(()));
        }
    }

    #[test]
    fn proofs_from_tiles_equal_proofs_from_memory(
        seed in any::<u64>(),
        n in 1u64..3000,
        picks in proptest::collection::vec((any::<u64>(), any::<u64>()), 8),
    ) {
        let (tree, _) = build(seed, n);
        let tiles = Tiles::of(&tree);
        prop_assert_eq!(tree_root(&tiles, n).unwrap(), tree.root());
        for (a, b) in picks {
            let size = 1 + a % n;
            let index = b % size;
            let plan = ProofPlan::inclusion(index, size).unwrap();
            // Every tile the plan names exists in a tree of that size.
            for t in plan.tiles() {
                prop_assert!(t.width_at(size) > 0, "{:?} at {}", t, size);
            }
            prop_assert_eq!(
                inclusion_proof(&tiles, index, size).unwrap(),
                inclusion_proof(&tree, index, size).unwrap()
            );
            let size1 = 1 + index;
            prop_assert_eq!(
                consistency_proof(&tiles, size1, size).unwrap(),
                consistency_proof(&tree, size1, size).unwrap()
            );
        }
    }
}
