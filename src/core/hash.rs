//! Hash newtypes and the RFC 9162 (Certificate Transparency v2) Merkle hashing rules: the
//! `0x00` leaf and `0x01` node prefixes, each hash one plain SHA-256 call. (The sponsor's
//! pipeline hashes the same messages faster, several side by side, in `hashing::lanes`; its
//! tests check it against these.)

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Prefix of every leaf hash input: `MTH({d0}) = SHA-256(0x00 || d0)` (RFC 9162 section 2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// Prefix of every interior node hash input: `SHA-256(0x01 || left || right)`
/// (RFC 9162 section 2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// Length in bytes of every hash in this crate (SHA-256).
pub const HASH_SIZE: usize = 32;

/// Why a hex string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// Not exactly 64 characters.
    BadLength(usize),
    /// A character that is not a lowercase hex digit (one spelling only, as for salts and
    /// headers).
    BadDigit,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::BadLength(n) => write!(f, "expected 64 hex digits, found {n} characters"),
            HexError::BadDigit => f.write_str("not lowercase hex digits"),
        }
    }
}

impl std::error::Error for HexError {}

/// Parses a JSON string in place (no allocation) with the given conversion.
pub(crate) struct HexVisitor<F>(pub(crate) F);

impl<'de, T, F: FnOnce(&str) -> Result<T, String>> serde::de::Visitor<'de> for HexVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hex string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name([u8; HASH_SIZE]);

        impl $name {
            /// Wraps raw digest bytes.
            pub const fn from_bytes(bytes: [u8; HASH_SIZE]) -> Self {
                Self(bytes)
            }

            /// The raw digest bytes.
            pub const fn as_bytes(&self) -> &[u8; HASH_SIZE] {
                &self.0
            }

            /// Lowercase hex, 64 characters.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 lowercase hex digits: a hash has one spelling.
            ///
            /// # Errors
            /// [`HexError`] when the text is not exactly 32 bytes of lowercase hex.
            pub fn from_hex(text: &str) -> Result<Self, HexError> {
                if text.len() != 2 * HASH_SIZE {
                    return Err(HexError::BadLength(text.len()));
                }
                if text.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(HexError::BadDigit);
                }
                let mut out = [0u8; HASH_SIZE];
                hex::decode_to_slice(text, &mut out).map_err(|_| HexError::BadDigit)?;
                Ok(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(HexVisitor(|text: &str| Self::from_hex(text).map_err(|e| e.to_string())))
            }
        }
    };
}

hash_newtype!(
    /// `SHA-256(0x00 || data)`: the hash of one leaf's data (a record, a dataset entry or a
    /// submission entry) before it takes its place in a tree.
    LeafHash
);
hash_newtype!(
    /// A node of a Merkle tree: a leaf hash in its tree, an interior node or a root.
    NodeHash
);
hash_newtype!(
    /// `SHA-256(SHA-256(header))` of a block header.
    BlockHash
);
hash_newtype!(
    /// `SHA-256` of a whole document file's bytes.
    FileHash
);

impl LeafHash {
    /// The leaf as a node of its tree.
    pub const fn into_node(self) -> NodeHash {
        NodeHash(self.0)
    }
}

/// `SHA-256(0x00 || data)` (RFC 9162 section 2.1.1).
///
/// ```
/// // RFC 6962 reference vector: the leaf hash of the empty string.
/// let h = trialnotary::core::hash::leaf_hash(b"");
/// assert_eq!(h.to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
/// ```
pub fn leaf_hash(data: &[u8]) -> LeafHash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    LeafHash(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)` (RFC 9162 section 2.1.1).
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    NodeHash(h.finalize().into())
}

/// The root of the empty tree, `MTH({}) = SHA-256()` (RFC 9162 section 2.1.1).
pub fn empty_root() -> NodeHash {
    NodeHash(Sha256::digest([]).into())
}

/// `MTH(D[n])`, the root of a tree over leaf hashes (RFC 9162 section 2.1.1), by its recursive
/// definition: the empty tree's hash for no leaves, the leaf itself for one, else
/// `node_hash(MTH(D[0:k]), MTH(D[k:n]))` with `k` the largest power of two below `n`. For the
/// small trees a verifier recomputes (a block's submissions).
pub fn root(leaves: &[NodeHash]) -> NodeHash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = 1 << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// `SHA-256(SHA-256(bytes))`, the block hash of a serialized header.
pub fn double_sha256(bytes: &[u8]) -> BlockHash {
    BlockHash(Sha256::digest(Sha256::digest(bytes)).into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The eight leaf inputs of the RFC 6962 reference tests (certificate-transparency
    /// `merkle_tree_test.cc`, reused by transparency-dev/merkle `testonly/constants.go`).
    pub(crate) const RFC6962_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Roots of the trees over the first 1..=8 of those leaves (same source).
    pub(crate) const RFC6962_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    pub(crate) fn rfc_leaves(n: usize) -> Vec<NodeHash> {
        RFC6962_LEAVES[..n]
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()).into_node())
            .collect()
    }

    pub(crate) fn leaves(n: usize) -> Vec<NodeHash> {
        (0..n as u64)
            .map(|i| leaf_hash(&i.to_be_bytes()).into_node())
            .collect()
    }

    #[test]
    fn rfc6962_roots_of_sizes_1_to_8() {
        for n in 1..=8 {
            assert_eq!(
                root(&rfc_leaves(n)).to_hex(),
                RFC6962_ROOTS[n - 1],
                "size {n}"
            );
        }
        assert_eq!(root(&[]), empty_root());
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        // RFC 6962 test vector: the empty tree hash.
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_of_empty_string() {
        // RFC 6962 reference vectors (certificate-transparency-go merkle tests): MTH({""}).
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn node_hash_is_sha256_of_prefixed_pair() {
        let (l, r) = (leaf_hash(b"l").into_node(), leaf_hash(b"r").into_node());
        let mut buf = vec![NODE_PREFIX];
        buf.extend_from_slice(l.as_bytes());
        buf.extend_from_slice(r.as_bytes());
        assert_eq!(node_hash(&l, &r).0, <[u8; 32]>::from(Sha256::digest(&buf)));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = leaf_hash(b"x").into_node();
        assert_eq!(NodeHash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(NodeHash::from_hex("ab"), Err(HexError::BadLength(2)));
        let bad = "zz".repeat(32);
        assert_eq!(NodeHash::from_hex(&bad), Err(HexError::BadDigit));
        // One spelling: uppercase and mixed case are refused.
        assert_eq!(
            NodeHash::from_hex(&h.to_hex().to_uppercase()),
            Err(HexError::BadDigit)
        );
        let mixed = format!("A{}", &"a".repeat(63));
        assert_eq!(NodeHash::from_hex(&mixed), Err(HexError::BadDigit));
        // Multi-byte characters must not panic the length check or the decoder.
        let wide = "é".repeat(32);
        assert!(NodeHash::from_hex(&wide).is_err());
    }
}
