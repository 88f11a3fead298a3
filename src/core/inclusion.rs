//! RFC 9162 inclusion: whether an audit path leads from a leaf at an index, in a tree of a size,
//! to a root (section 2.1.3.2), with the path length bound exactly to the index and size.

use std::fmt;

use crate::core::hash::{NodeHash, node_hash};

/// Why an inclusion path does not lead from a leaf to a root (RFC 9162 section 2.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InclusionError {
    /// `leaf_index >= tree_size`.
    IndexOutOfRange,
    /// The path has more hashes than the index and size allow.
    PathTooLong,
    /// The path has fewer hashes than the index and size require.
    PathTooShort,
    /// The path is well-shaped but leads to another root.
    RootMismatch,
}

impl fmt::Display for InclusionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InclusionError::IndexOutOfRange => "leaf index is not below the tree size",
            InclusionError::PathTooLong => "audit path is longer than the index and size allow",
            InclusionError::PathTooShort => "audit path is shorter than the index and size require",
            InclusionError::RootMismatch => "audit path does not lead to the stated root",
        })
    }
}

/// RFC 9162 section 2.1.3.2: verifies that `leaf` is at `index` in the tree of `size` leaves
/// whose root is `root`. Unlike rs_merkle's `MerkleProof::verify`, the path length must match
/// the index and size exactly, so trailing hashes are refused.
///
/// ```
/// use trialnotary::core::hash::{leaf_hash, node_hash, root};
/// use trialnotary::core::verify::{verify_inclusion, InclusionError};
///
/// // Five leaves: leaf 3's path is leaf 2, then the root of leaves 0 and 1, then leaf 4.
/// let l: Vec<_> = (0u8..5).map(|i| leaf_hash(&[i]).into_node()).collect();
/// let path = [l[2], node_hash(&l[0], &l[1]), l[4]];
/// assert_eq!(verify_inclusion(&l[3], 3, 5, &path, &root(&l)), Ok(()));
/// assert_eq!(
///     verify_inclusion(&l[3], 2, 5, &path, &root(&l)),
///     Err(InclusionError::RootMismatch)
/// );
/// ```
///
/// # Errors
/// [`InclusionError`] saying which condition failed.
pub fn verify_inclusion(
    leaf: &NodeHash,
    index: u64,
    size: u64,
    path: &[NodeHash],
    root: &NodeHash,
) -> Result<(), InclusionError> {
    if index >= size {
        return Err(InclusionError::IndexOutOfRange);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return Err(InclusionError::PathTooLong);
        }
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
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(InclusionError::PathTooShort);
    }
    if r != *root {
        return Err(InclusionError::RootMismatch);
    }
    Ok(())
}

impl InclusionError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InclusionError::IndexOutOfRange => "index-out-of-range",
            InclusionError::PathTooLong => "path-too-long",
            InclusionError::PathTooShort => "path-too-short",
            InclusionError::RootMismatch => "path-root-mismatch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::root;
    use crate::core::hash::tests::{leaves, rfc_leaves};
    use proptest::prelude::*;

    /// `PATH(m, D[n])` of RFC 9162 section 2.1.3.1, by its recursive definition: a reference
    /// independent of the sponsor's tree code.
    fn path(m: usize, d: &[NodeHash]) -> Vec<NodeHash> {
        if d.len() <= 1 {
            return Vec::new();
        }
        let k = 1 << (usize::BITS - 1 - (d.len() - 1).leading_zeros());
        let (mut p, sibling) = if m < k {
            (path(m, &d[..k]), root(&d[k..]))
        } else {
            (path(m - k, &d[k..]), root(&d[..k]))
        };
        p.push(sibling);
        p
    }

    #[test]
    fn prove_then_verify_every_index_of_every_size_to_300() {
        for n in 1..=300u64 {
            let d = leaves(n as usize);
            let r = root(&d);
            for i in 0..n {
                assert_eq!(
                    verify_inclusion(&d[i as usize], i, n, &path(i as usize, &d), &r),
                    Ok(()),
                    "{i} of {n}"
                );
            }
        }
    }

    #[test]
    fn broken_paths_are_rejected_with_their_reason() {
        let d = rfc_leaves(8);
        let root = root(&d);
        let leaf = d[5];
        let path = path(5, &d);
        assert_eq!(verify_inclusion(&leaf, 5, 8, &path, &root), Ok(()));
        // Trailing junk hash, which rs_merkle's verify accepts.
        let mut long = path.clone();
        long.push(root);
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &long, &root),
            Err(InclusionError::PathTooLong)
        );
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &path[..2], &root),
            Err(InclusionError::PathTooShort)
        );
        assert_eq!(
            verify_inclusion(&leaf, 8, 8, &path, &root),
            Err(InclusionError::IndexOutOfRange)
        );
        assert_eq!(
            verify_inclusion(&leaf, 4, 8, &path, &root),
            Err(InclusionError::RootMismatch)
        );
        // A smaller size needs a shorter path. (Size 7 would pass: the path alone does not bind
        // the size, which is why verify_proof checks each size against the next level's count.)
        assert_eq!(
            verify_inclusion(&leaf, 5, 6, &path, &root),
            Err(InclusionError::PathTooLong)
        );
        let mut flipped = path.clone();
        let mut b = *flipped[1].as_bytes();
        b[0] ^= 1;
        flipped[1] = NodeHash::from_bytes(b);
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &flipped, &root),
            Err(InclusionError::RootMismatch)
        );
    }

    proptest! {
        #[test]
        fn random_trees_prove_and_verify(n in 1u64..5000, seed in any::<u64>()) {
            let i = seed % n;
            let d = leaves(n as usize);
            let (r, p, leaf) = (root(&d), path(i as usize, &d), d[i as usize]);
            prop_assert_eq!(verify_inclusion(&leaf, i, n, &p, &r), Ok(()));
            // Any other index of the same tree fails.
            let j = (i + 1 + seed % (n.max(2) - 1)) % n;
            if j != i {
                prop_assert!(verify_inclusion(&leaf, j, n, &p, &r).is_err());
            }
        }
    }
}
