//! Merkle trees over leaf hashes with RFC 9162 section 2.1 shape: a streaming root builder that
//! holds O(log n) nodes, and a level-by-level tree that yields inclusion paths. No file I/O.
//!
//! Pairing nodes level by level and promoting a lone last node unchanged gives exactly the
//! recursive `MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))` with `k` the largest power of
//! two below `n`; the tests check this against rs_merkle and the RFC 6962 known answers.

use crate::core::hash::{HASH_SIZE, HexError, NodeHash, empty_root, leaf_hash, node_hash};
use crate::hashing::lanes::{LANES, node_hashes};

/// Computes a root from leaves pushed one at a time, keeping one node per set bit of the count.
#[derive(Clone, Debug, Default)]
pub struct RootBuilder {
    /// Roots of perfect subtrees, largest first, with their heights (log2 of their size).
    stack: Vec<(NodeHash, u32)>,
    len: u64,
}

impl RootBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf (as a node of this tree).
    pub fn push(&mut self, leaf: NodeHash) {
        self.push_subtree(leaf, 0);
    }

    /// Appends the next `2^height` leaves at once, given the root of their perfect subtree
    /// ([`root_of`]), so that subtrees can be hashed elsewhere, in parallel.
    ///
    /// # Panics
    /// When the leaves so far are not a multiple of `2^height`: the subtree would not be a
    /// subtree of this tree.
    pub fn push_subtree(&mut self, root: NodeHash, height: u32) {
        assert!(
            self.len.trailing_zeros() >= height,
            "a subtree of height {height} after {} leaves",
            self.len
        );
        let mut node = root;
        let mut height = height;
        let added = 1u64 << height;
        while let Some(&(left, h)) = self.stack.last() {
            if h != height {
                break;
            }
            self.stack.pop();
            node = node_hash(&left, &node);
            height += 1;
        }
        self.stack.push((node, height));
        self.len += added;
    }

    /// Number of leaves pushed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no leaf was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The root: the perfect subtrees folded right to left; the empty tree's root is `SHA-256()`.
    pub fn root(&self) -> NodeHash {
        let mut iter = self.stack.iter().rev();
        let Some(&(mut acc, _)) = iter.next() else {
            return empty_root();
        };
        for (left, _) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// Root of a list of leaves, level by level in one scratch buffer (the same shape as
/// [`RootBuilder`]).
pub fn root_of(leaves: &[NodeHash]) -> NodeHash {
    if leaves.len() <= 1 {
        return leaves.first().copied().unwrap_or_else(empty_root);
    }
    let mut level = vec![NodeHash::default(); leaves.len().div_ceil(2)];
    pairs_to(leaves, &mut level);
    let mut next = vec![NodeHash::default(); level.len().div_ceil(2)];
    while level.len() > 1 {
        let n = level.len().div_ceil(2);
        pairs_to(&level, &mut next[..n]);
        std::mem::swap(&mut level, &mut next);
        level.truncate(n);
    }
    level[0]
}

/// Hashes `level` pairwise into `next` (`level.len().div_ceil(2)` nodes); a lone last node moves
/// up unchanged. Groups of pairs are hashed side by side ([`node_hashes`]).
fn pairs_to(level: &[NodeHash], next: &mut [NodeHash]) {
    debug_assert_eq!(next.len(), level.len().div_ceil(2));
    let whole = level.len() / (2 * LANES);
    let (level_whole, level_rest) = level.split_at(whole * 2 * LANES);
    let (next_whole, next_rest) = next.split_at_mut(whole * LANES);
    for (g, o) in level_whole
        .chunks_exact(2 * LANES)
        .zip(next_whole.chunks_exact_mut(LANES))
    {
        let pairs: [(&NodeHash, &NodeHash); LANES] =
            std::array::from_fn(|l| (&g[2 * l], &g[2 * l + 1]));
        o.copy_from_slice(&node_hashes(pairs));
    }
    for (pair, o) in level_rest.chunks(2).zip(next_rest) {
        *o = match pair {
            [l, r] => node_hash(l, r),
            [lone] => *lone,
            _ => unreachable!("chunks(2) yields one or two nodes"),
        };
    }
}

/// A whole tree, every level kept (about 64 bytes per leaf), for producing inclusion paths.
#[derive(Clone, Debug)]
pub struct Tree {
    /// `levels[0]` are the leaves, the last level holds the root alone.
    levels: Vec<Vec<NodeHash>>,
}

impl Tree {
    /// Builds the tree, hashing large levels on all cores; the result does not depend on the
    /// number of threads.
    pub fn new(leaves: Vec<NodeHash>) -> Self {
        let mut levels = vec![leaves];
        while let Some(last) = levels.last() {
            if last.len() <= 1 {
                break;
            }
            let next = next_level(last);
            levels.push(next);
        }
        Self { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The leaves.
    pub fn leaves(&self) -> &[NodeHash] {
        &self.levels[0]
    }

    /// The root (`SHA-256()` for the empty tree).
    pub fn root(&self) -> NodeHash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(root) => *root,
            None => empty_root(),
        }
    }

    /// The RFC 9162 inclusion path (section 2.1.3.1) of leaf `index`, bottom-up; `None` when the
    /// index is out of range.
    pub fn audit_path(&self, index: u64) -> Option<Vec<NodeHash>> {
        let mut idx = usize::try_from(index).ok()?;
        if idx >= self.levels[0].len() {
            return None;
        }
        let mut path = Vec::with_capacity(self.levels.len());
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = idx ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            idx >>= 1;
        }
        Some(path)
    }
}

/// The RFC 9162 inclusion path (section 2.1.3.1) of leaf `index` in a tree of `size` leaves,
/// computed from subtree roots alone: `subtree_root(start, end)` must return the root of leaves
/// `start..end`. Memory stays O(log n) whatever the size, for proving one leaf of a huge tree
/// without building it. `Ok(None)` when the index is out of range.
///
/// # Errors
/// Whatever `subtree_root` returns.
pub fn audit_path_with<E>(
    index: u64,
    size: u64,
    mut subtree_root: impl FnMut(u64, u64) -> Result<NodeHash, E>,
) -> Result<Option<Vec<NodeHash>>, E> {
    if index >= size {
        return Ok(None);
    }
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    // Sibling ranges from the root down; the path lists them bottom-up.
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if m < k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    siblings
        .iter()
        .rev()
        .map(|&(a, b)| subtree_root(a, b))
        .collect::<Result<Vec<_>, E>>()
        .map(Some)
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn largest_power_of_two_below(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

fn next_level(level: &[NodeHash]) -> Vec<NodeHash> {
    use rayon::prelude::*;
    // Nodes hashed by one task: enough work to be worth handing to another thread.
    const TASK: usize = 1 << 13;
    let mut next = vec![NodeHash::default(); level.len().div_ceil(2)];
    next.par_chunks_mut(TASK)
        .zip(level.par_chunks(2 * TASK))
        .for_each(|(out, level)| pairs_to(level, out));
    next
}

/// Plugs RFC 9162 hashing into rs_merkle: `hash` is the leaf hash and `concat_and_hash` the node
/// hash. rs_merkle promotes a lone last node unchanged, which is exactly RFC 9162's shape. It
/// builds the small trees (a submission's datasets, a block's submissions), where its speed does
/// not matter, and is the reference the large-tree code above is tested against.
#[derive(Clone, Copy, Debug)]
pub struct Rfc9162;

impl From<NodeHash> for Vec<u8> {
    fn from(h: NodeHash) -> Vec<u8> {
        h.as_bytes().to_vec()
    }
}

impl TryFrom<Vec<u8>> for NodeHash {
    type Error = HexError;
    fn try_from(v: Vec<u8>) -> Result<Self, HexError> {
        <[u8; HASH_SIZE]>::try_from(v.as_slice())
            .map(NodeHash::from_bytes)
            .map_err(|_| HexError::BadLength(v.len()))
    }
}

impl rs_merkle::Hasher for Rfc9162 {
    type Hash = NodeHash;

    fn hash(data: &[u8]) -> NodeHash {
        leaf_hash(data).into_node()
    }

    fn concat_and_hash(left: &NodeHash, right: Option<&NodeHash>) -> NodeHash {
        match right {
            Some(right) => node_hash(left, right),
            None => *left,
        }
    }
}

/// A small tree over entry leaves (a submission's datasets, a block's submissions), built by
/// rs_merkle: its root and the inclusion path of each leaf.
pub struct SmallTree(rs_merkle::MerkleTree<Rfc9162>);

impl SmallTree {
    /// The tree over `leaves`.
    pub fn new(leaves: &[NodeHash]) -> Self {
        Self(rs_merkle::MerkleTree::from_leaves(leaves))
    }

    /// The root (`SHA-256()` for no leaves).
    pub fn root(&self) -> NodeHash {
        self.0.root().unwrap_or_else(empty_root)
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.0.leaves_len() as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.0.leaves_len() == 0
    }

    /// The leaf at `index` and its RFC 9162 inclusion path, bottom-up (rs_merkle lists a
    /// single leaf's proof hashes from the leaves up, skipping promoted levels, as RFC 9162
    /// section 2.1.3.1 does); `None` when the index is out of range.
    pub fn leaf_and_path(&self, index: u64) -> Option<(NodeHash, Vec<NodeHash>)> {
        let i = usize::try_from(index).ok()?;
        let leaf = *self.0.leaves()?.get(i)?;
        Some((leaf, self.0.proof(&[i]).proof_hashes().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::tests::{RFC6962_ROOTS, leaves, rfc_leaves};
    use crate::core::verify::verify_inclusion;

    #[test]
    fn rfc6962_roots_of_sizes_1_to_8() {
        for n in 1..=8 {
            let leaves = rfc_leaves(n);
            assert_eq!(root_of(&leaves).to_hex(), RFC6962_ROOTS[n - 1], "size {n}");
            assert_eq!(
                Tree::new(leaves).root().to_hex(),
                RFC6962_ROOTS[n - 1],
                "size {n}"
            );
        }
    }

    #[test]
    fn rfc6962_inclusion_paths() {
        // (leaf index, tree size, path) from the RFC 6962 reference tests (same source as above).
        let cases: [(u64, usize, &[&str]); 5] = [
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let tree = Tree::new(rfc_leaves(size));
            let got: Vec<String> = tree
                .audit_path(index)
                .unwrap()
                .iter()
                .map(|h| h.to_hex())
                .collect();
            assert_eq!(got, want, "leaf {index} of {size}");
        }
    }

    /// rs_merkle builds the small trees whose paths go into proofs: its paths are ours, and the
    /// core's RFC 9162 check accepts each of them, for every index of every size to 130.
    #[test]
    fn rs_merkle_paths_are_rfc9162_paths() {
        for n in 1..=130 {
            let leaves = leaves(n);
            let small = SmallTree::new(&leaves);
            let tree = Tree::new(leaves.clone());
            assert_eq!(small.root(), tree.root(), "size {n}");
            assert_eq!(small.len(), n as u64);
            for i in 0..n as u64 {
                let (leaf, path) = small.leaf_and_path(i).unwrap();
                assert_eq!(leaf, leaves[i as usize]);
                assert_eq!(Some(path.clone()), tree.audit_path(i), "{i} of {n}");
                assert_eq!(
                    verify_inclusion(&leaf, i, n as u64, &path, &small.root()),
                    Ok(())
                );
            }
            assert!(small.leaf_and_path(n as u64).is_none());
        }
    }

    #[test]
    fn matches_rs_merkle_for_every_size_to_300() {
        for n in 1..=300 {
            let leaves = leaves(n);
            let reference = rs_merkle::MerkleTree::<Rfc9162>::from_leaves(&leaves);
            let tree = Tree::new(leaves.clone());
            assert_eq!(Some(tree.root()), reference.root(), "root of size {n}");
            assert_eq!(
                root_of(&leaves),
                tree.root(),
                "level-by-level root of size {n}"
            );
            let mut builder = RootBuilder::new();
            leaves.iter().for_each(|l| builder.push(*l));
            assert_eq!(builder.root(), tree.root(), "streaming root of size {n}");
            for i in 0..n {
                let path = tree.audit_path(i as u64).unwrap();
                assert_eq!(
                    path,
                    reference.proof(&[i]).proof_hashes(),
                    "path {i} of {n}"
                );
            }
            assert_eq!(tree.audit_path(n as u64), None);
        }
    }

    #[test]
    fn paths_from_subtree_roots_match_the_built_tree() {
        for n in 1..=300usize {
            let leaves = leaves(n);
            let tree = Tree::new(leaves.clone());
            for i in 0..n as u64 {
                let path = audit_path_with(i, n as u64, |a, b| {
                    Ok::<_, ()>(root_of(&leaves[a as usize..b as usize]))
                });
                assert_eq!(path, Ok(tree.audit_path(i)), "{i} of {n}");
            }
            assert_eq!(
                audit_path_with(n as u64, n as u64, |_, _| Ok::<_, ()>(empty_root())),
                Ok(None)
            );
        }
    }

    /// Leaves one by one up to an aligned point, then whole subtrees, then leaves again: the
    /// pipeline's order when batches start anywhere.
    #[test]
    fn subtrees_pushed_whole_give_the_same_root() {
        let all = leaves(1000);
        for height in 0..=4u32 {
            let size = 1usize << height;
            for lead_in in [0usize, 1, 3, 16, 17] {
                let lead = lead_in.next_multiple_of(size);
                for whole in 0..4 {
                    let end = lead + whole * size;
                    let mut b = RootBuilder::new();
                    all[..lead].iter().for_each(|l| b.push(*l));
                    for chunk in all[lead..end].chunks_exact(size) {
                        b.push_subtree(root_of(chunk), height);
                    }
                    all[end..end + 5].iter().for_each(|l| b.push(*l));
                    assert_eq!(b.len(), (end + 5) as u64);
                    assert_eq!(
                        b.root(),
                        root_of(&all[..end + 5]),
                        "{height} {lead} {whole}"
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "a subtree of height 2 after 3 leaves")]
    fn misaligned_subtree_is_refused() {
        let mut b = RootBuilder::new();
        leaves(3).iter().for_each(|l| b.push(*l));
        b.push_subtree(root_of(&leaves(4)), 2);
    }

    #[test]
    fn empty_tree_root() {
        assert_eq!(Tree::new(Vec::new()).root(), empty_root());
        assert_eq!(RootBuilder::new().root(), empty_root());
    }
}
