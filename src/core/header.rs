//! The block header: its fixed 96-byte layout, its hash `SHA-256(SHA-256(header))` and the
//! proof-of-work target (a number of leading zero bits). No I/O.
//!
//! Layout (all integers big-endian), specified in `docs/FORMAT.md`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | version (currently 1) |
//! | 4 | 8 | height (0 for the first block) |
//! | 12 | 32 | previous block hash (zeros for height 0) |
//! | 44 | 32 | anchor root: RFC 9162 root over the run's submission entries |
//! | 76 | 8 | time, seconds since 1970-01-01T00:00:00Z |
//! | 84 | 4 | difficulty: leading zero bits the block hash must have |
//! | 88 | 8 | nonce |
//!
//! Time, difficulty and nonce sit in the last 32 bytes so a miner hashes the first 64-byte
//! SHA-256 block once per template.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::hash::{BlockHash, HASH_SIZE, NodeHash, double_sha256};

/// The only header version this code writes and accepts.
pub const HEADER_VERSION: u32 = 1;

/// Highest meaningful difficulty: a SHA-256 hash has 256 bits.
pub const MAX_DIFFICULTY: u32 = 256;

/// A block header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
    /// Layout version, [`HEADER_VERSION`].
    pub version: u32,
    /// Position in the chain, from 0.
    pub height: u64,
    /// Hash of the block at `height - 1`, zeros at height 0.
    pub prev: BlockHash,
    /// Root of the tree over the block's submission entries.
    pub anchor_root: NodeHash,
    /// Mining time, seconds since the Unix epoch (UTC).
    pub time: u64,
    /// Leading zero bits required of the block hash.
    pub difficulty: u32,
    /// The proof-of-work nonce.
    pub nonce: u64,
}

/// Why bytes are not a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The header is not exactly [`BlockHeader::SIZE`] bytes.
    BadLength(usize),
    /// The version is not one this code understands.
    UnknownVersion(u32),
    /// The difficulty is above 256 bits.
    BadDifficulty(u32),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::BadLength(n) => {
                write!(f, "header is {n} bytes, expected {}", BlockHeader::SIZE)
            }
            HeaderError::UnknownVersion(v) => {
                write!(
                    f,
                    "header version {v} is not supported (expected {HEADER_VERSION})"
                )
            }
            HeaderError::BadDifficulty(d) => {
                write!(
                    f,
                    "difficulty {d} is above the maximum of {MAX_DIFFICULTY} bits"
                )
            }
        }
    }
}

impl std::error::Error for HeaderError {}

impl BlockHeader {
    /// Serialized size in bytes.
    pub const SIZE: usize = 96;

    /// The fixed big-endian layout described in the module docs.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.version.to_be_bytes());
        b[4..12].copy_from_slice(&self.height.to_be_bytes());
        b[12..44].copy_from_slice(self.prev.as_bytes());
        b[44..76].copy_from_slice(self.anchor_root.as_bytes());
        b[76..84].copy_from_slice(&self.time.to_be_bytes());
        b[84..88].copy_from_slice(&self.difficulty.to_be_bytes());
        b[88..96].copy_from_slice(&self.nonce.to_be_bytes());
        b
    }

    /// Parses the fixed layout.
    ///
    /// # Errors
    /// [`HeaderError`] for a wrong length, an unknown version or a difficulty above 256.
    pub fn from_bytes(b: &[u8]) -> Result<Self, HeaderError> {
        let b: &[u8; Self::SIZE] = b.try_into().map_err(|_| HeaderError::BadLength(b.len()))?;
        let hash_at = |at: usize| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(&b[at..at + HASH_SIZE]);
            h
        };
        let u32_at = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let u64_at = |at: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            u64::from_be_bytes(x)
        };
        let header = Self {
            version: u32_at(0),
            height: u64_at(4),
            prev: BlockHash::from_bytes(hash_at(12)),
            anchor_root: NodeHash::from_bytes(hash_at(44)),
            time: u64_at(76),
            difficulty: u32_at(84),
            nonce: u64_at(88),
        };
        if header.version != HEADER_VERSION {
            return Err(HeaderError::UnknownVersion(header.version));
        }
        if header.difficulty > MAX_DIFFICULTY {
            return Err(HeaderError::BadDifficulty(header.difficulty));
        }
        Ok(header)
    }

    /// `SHA-256(SHA-256(to_bytes()))`.
    pub fn hash(&self) -> BlockHash {
        double_sha256(&self.to_bytes())
    }

    /// Whether the header's hash has at least `difficulty` leading zero bits.
    pub fn meets_target(&self) -> bool {
        leading_zero_bits(&self.hash()) >= self.difficulty
    }
}

/// Number of leading zero bits of a hash, reading its bytes in order, most significant bit first.
pub fn leading_zero_bits(hash: &BlockHash) -> u32 {
    let mut bits = 0;
    for &byte in hash.as_bytes() {
        if byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::empty_root;
    use proptest::prelude::*;

    fn sample() -> BlockHeader {
        BlockHeader {
            version: HEADER_VERSION,
            height: 7,
            prev: BlockHash::from_bytes([0xab; 32]),
            anchor_root: empty_root(),
            time: 1_790_000_000,
            difficulty: 4,
            nonce: 0x0102_0304_0506_0708,
        }
    }

    #[test]
    fn layout_offsets() {
        let b = sample().to_bytes();
        assert_eq!(&b[0..4], &[0, 0, 0, 1]);
        assert_eq!(&b[4..12], &7u64.to_be_bytes());
        assert_eq!(&b[12..44], &[0xab; 32]);
        assert_eq!(&b[44..76], empty_root().as_bytes());
        assert_eq!(&b[84..88], &4u32.to_be_bytes());
        assert_eq!(&b[88..96], &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn rejects_bad_bytes() {
        assert_eq!(
            BlockHeader::from_bytes(&[0; 95]),
            Err(HeaderError::BadLength(95))
        );
        let mut b = sample().to_bytes();
        b[3] = 2;
        assert_eq!(
            BlockHeader::from_bytes(&b),
            Err(HeaderError::UnknownVersion(2))
        );
        let mut b = sample().to_bytes();
        b[84..88].copy_from_slice(&257u32.to_be_bytes());
        assert_eq!(
            BlockHeader::from_bytes(&b),
            Err(HeaderError::BadDifficulty(257))
        );
    }

    #[test]
    fn leading_zeros() {
        let mut h = [0u8; 32];
        assert_eq!(leading_zero_bits(&BlockHash::from_bytes(h)), 256);
        h[1] = 0x10;
        assert_eq!(leading_zero_bits(&BlockHash::from_bytes(h)), 11);
    }

    proptest! {
        #[test]
        fn round_trip(height in any::<u64>(), time in any::<u64>(), nonce in any::<u64>(),
                      difficulty in 0u32..=256, prev in any::<[u8; 32]>()) {
            let h = BlockHeader { height, time, nonce, difficulty,
                prev: BlockHash::from_bytes(prev), ..sample() };
            prop_assert_eq!(BlockHeader::from_bytes(&h.to_bytes()), Ok(h));
        }
    }
}
