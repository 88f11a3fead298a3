//! Hash newtypes and the RFC 9162 (Certificate Transparency v2) Merkle hashing rules: the
//! `0x00` leaf and `0x01` node prefixes, and the [`Rfc9162`] hasher that plugs them into rs_merkle.

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
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = NODE_PREFIX;
    buf[1..1 + HASH_SIZE].copy_from_slice(&left.0);
    buf[1 + HASH_SIZE..].copy_from_slice(&right.0);
    NodeHash(short::finish(short::INITIAL, 0, &buf))
}

/// [`node_hash`] of several pairs at once, hashed side by side ([`short::finish_lanes`]).
pub fn node_hashes<const N: usize>(pairs: [(&NodeHash, &NodeHash); N]) -> [NodeHash; N] {
    let bufs = pairs.map(|(left, right)| {
        let mut buf = [0u8; 1 + 2 * HASH_SIZE];
        buf[0] = NODE_PREFIX;
        buf[1..1 + HASH_SIZE].copy_from_slice(&left.0);
        buf[1 + HASH_SIZE..].copy_from_slice(&right.0);
        buf
    });
    short::finish_lanes([short::INITIAL; N], [0; N], bufs.each_ref().map(|b| &b[..])).map(NodeHash)
}

/// SHA-256 of short messages straight on sha2's compression function: a tail of at most
/// [`short::MAX_TAIL`] bytes after a state that has absorbed whole blocks (or none) is padded in
/// one stack buffer and compressed, without the streaming API's buffering. Node hashes, record
/// leaves, salts and mining hash millions of such fixed-size messages; tests check every tail
/// length against `Sha256::digest`.
pub mod short {
    use sha2::digest::generic_array::GenericArray;

    /// SHA-256's initial state (FIPS 180-4 section 5.3.3).
    pub const INITIAL: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];

    /// Longest tail [`finish`] takes: two blocks less the padding's `0x80` and 8 length bytes.
    pub const MAX_TAIL: usize = 2 * 64 - 9;

    /// `state` after compressing one more whole block.
    pub fn absorb(mut state: [u32; 8], block: &[u8; 64]) -> [u32; 8] {
        sha2::compress256(
            &mut state,
            std::slice::from_ref(GenericArray::from_slice(block)),
        );
        state
    }

    /// The digest of a message whose first `absorbed` bytes (a multiple of 64) are in `state` and
    /// whose remaining bytes are `tail`.
    ///
    /// # Panics
    /// When `tail` is longer than [`MAX_TAIL`]: every caller passes a fixed size below it.
    pub fn finish(state: [u32; 8], absorbed: u64, tail: &[u8]) -> [u8; 32] {
        let [out] = finish_lanes([state], [absorbed], [tail]);
        out
    }

    /// Messages hashed side by side by [`digest_lanes`] and [`finish_lanes`].
    pub const LANES: usize = 8;

    /// [`finish`] for several messages at once. A compression is a chain of dependent rounds, so
    /// one message at a time leaves most of the SHA unit idle; issuing the messages' compressions
    /// in turn lets the CPU run the independent chains side by side (about 1.5x the rate here;
    /// eight lanes measured best end to end, against four and sixteen).
    ///
    /// # Panics
    /// When a tail is longer than [`MAX_TAIL`]: every caller passes a bounded size.
    pub fn finish_lanes<const N: usize>(
        mut states: [[u32; 8]; N],
        absorbed: [u64; N],
        tails: [&[u8]; N],
    ) -> [[u8; 32]; N] {
        let mut bufs = [[0u8; 128]; N];
        let mut blocks = [0; N];
        for l in 0..N {
            let tail = tails[l];
            assert!(tail.len() <= MAX_TAIL, "tail of {} bytes", tail.len());
            let buf = &mut bufs[l];
            buf[..tail.len()].copy_from_slice(tail);
            buf[tail.len()] = 0x80;
            blocks[l] = if tail.len() + 9 <= 64 { 1 } else { 2 };
            let bits = (absorbed[l] + tail.len() as u64) * 8;
            buf[blocks[l] * 64 - 8..blocks[l] * 64].copy_from_slice(&bits.to_be_bytes());
        }
        for k in 0..2 {
            for l in 0..N {
                if k < blocks[l] {
                    // 128 bytes are exactly two blocks.
                    states[l] = absorb(states[l], &bufs[l].as_chunks::<64>().0[k]);
                }
            }
        }
        states.map(|state| {
            let mut out = [0u8; 32];
            for (o, w) in out.chunks_exact_mut(4).zip(state) {
                o.copy_from_slice(&w.to_be_bytes());
            }
            out
        })
    }

    /// SHA-256 of each message, their compressions issued in turn (see [`finish_lanes`]).
    pub fn digest_lanes<const N: usize>(messages: [&[u8]; N]) -> [[u8; 32]; N] {
        let mut states = [INITIAL; N];
        let whole = messages.map(|m| m.len() / 64);
        for k in 0..whole.iter().copied().max().unwrap_or(0) {
            for l in 0..N {
                if k < whole[l] {
                    // `whole[l]` counts the message's whole blocks, so block `k` exists.
                    states[l] = absorb(states[l], &messages[l].as_chunks::<64>().0[k]);
                }
            }
        }
        let absorbed = whole.map(|w| 64 * w as u64);
        let mut tails = [&[][..]; N];
        for l in 0..N {
            tails[l] = &messages[l][64 * whole[l]..];
        }
        finish_lanes(states, absorbed, tails)
    }
}

/// The root of the empty tree, `MTH({}) = SHA-256()` (RFC 9162 section 2.1.1).
pub fn empty_root() -> NodeHash {
    NodeHash(Sha256::digest([]).into())
}

/// `SHA-256(SHA-256(bytes))`, the block hash of a serialized header.
pub fn double_sha256(bytes: &[u8]) -> BlockHash {
    let first: [u8; 32] = Sha256::digest(bytes).into();
    BlockHash(short::finish(short::INITIAL, 0, &first))
}

/// Plugs RFC 9162 hashing into rs_merkle: `hash` is the leaf hash and `concat_and_hash` the node
/// hash. rs_merkle promotes a lone last node unchanged, which is exactly RFC 9162's shape.
#[derive(Clone, Copy, Debug)]
pub struct Rfc9162;

impl From<NodeHash> for Vec<u8> {
    fn from(h: NodeHash) -> Vec<u8> {
        h.0.to_vec()
    }
}

impl TryFrom<Vec<u8>> for NodeHash {
    type Error = HexError;
    fn try_from(v: Vec<u8>) -> Result<Self, HexError> {
        <[u8; HASH_SIZE]>::try_from(v.as_slice())
            .map(NodeHash)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Every tail length after zero, one and two absorbed blocks, against the streaming API.
    #[test]
    fn short_finish_matches_sha256() {
        let message: Vec<u8> = (0..=255u8).cycle().take(128 + short::MAX_TAIL).collect();
        for blocks in 0..=2 {
            let mut state = short::INITIAL;
            for b in message[..64 * blocks].chunks_exact(64) {
                state = short::absorb(state, b.try_into().unwrap());
            }
            for len in 0..=short::MAX_TAIL {
                let whole = &message[..64 * blocks + len];
                let want: [u8; 32] = Sha256::digest(whole).into();
                let got = short::finish(state, 64 * blocks as u64, &whole[64 * blocks..]);
                assert_eq!(got, want, "{blocks} blocks then {len} bytes");
            }
        }
    }

    /// Messages of every length from 0 to 300 bytes, four side by side with different lengths,
    /// against the streaming API.
    #[test]
    fn lanes_match_sha256() {
        let message: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for len in 0..=300 {
            let lens = [len, 300 - len, len / 2, (len * 7) % 301];
            let got = short::digest_lanes(lens.map(|n| &message[..n]));
            for (n, d) in lens.iter().zip(got) {
                assert_eq!(
                    d,
                    <[u8; 32]>::from(Sha256::digest(&message[..*n])),
                    "{n} bytes"
                );
            }
        }
        let nodes: Vec<NodeHash> = (0..8u8).map(|i| leaf_hash(&[i]).into_node()).collect();
        let pairs = std::array::from_fn::<_, 4, _>(|l| (&nodes[2 * l], &nodes[7 - l]));
        for ((l, r), got) in pairs.iter().zip(node_hashes(pairs)) {
            assert_eq!(got, node_hash(l, r));
        }
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
