//! The chain file's byte format, without I/O: entries are encoded, parsed and checked here, so
//! that a regulator's verifier can check a chain copy with the core alone. Reading, appending,
//! locking and repair are `chain::store`'s.
//!
//! Entry layout (big-endian), specified in `docs/FORMAT.md`:
//! `"TNB1"` (4) | payload length (4) | payload | SHA-256(magic || length || payload) (32), where
//! payload = header (96) | submission count (4) | per submission: length (4) | entry bytes.

use std::fmt;

use sha2::{Digest, Sha256};

use super::header::{BlockHeader, HEADER_VERSION, leading_zero_bits};
use crate::hash::BlockHash;
use crate::record::{SubmissionEntry, entry_leaves};
use crate::tree::root_of;

/// First four bytes of every entry.
pub const ENTRY_MAGIC: &[u8; 4] = b"TNB1";

/// Framing bytes around a payload: magic, length and checksum.
const FRAME: usize = 4 + 4 + 32;

/// Largest payload accepted, so a corrupt length cannot make us allocate gigabytes.
const MAX_PAYLOAD: usize = 64 << 20;

/// A block as stored: header, the submission entries its anchor root commits to, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlock {
    /// The header.
    pub header: BlockHeader,
    /// `header.hash()`.
    pub hash: BlockHash,
    /// Submission entries, in anchor-tree order (sorted by id).
    pub submissions: Vec<SubmissionEntry>,
    /// Byte offset of the entry in the chain file.
    pub offset: u64,
}

/// What is wrong with chain bytes, by block height and byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFault {
    /// The last entry is incomplete or fails its checksum: an interrupted append.
    TornTail {
        /// Where the bad tail starts.
        offset: u64,
        /// Number of good blocks before it.
        blocks: u64,
        /// What is wrong.
        detail: String,
    },
    /// An entry before the tail is damaged.
    Corrupt {
        /// Height the entry would have.
        height: u64,
        /// Where the entry starts.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An entry is intact but its block is not valid (linkage, work, anchor root).
    Invalid {
        /// Block height.
        height: u64,
        /// Where the entry starts.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
}

impl fmt::Display for ChainFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainFault::TornTail {
                offset,
                blocks,
                detail,
            } => write!(
                f,
                "torn or corrupt tail at byte offset {offset} (after {blocks} good blocks): {detail}; \
                 the chain up to that offset is intact, nothing after it was committed"
            ),
            ChainFault::Corrupt {
                height,
                offset,
                detail,
            } => {
                write!(
                    f,
                    "block at height {height} (byte offset {offset}) is corrupt: {detail}"
                )
            }
            ChainFault::Invalid {
                height,
                offset,
                detail,
            } => {
                write!(
                    f,
                    "block at height {height} (byte offset {offset}) is invalid: {detail}"
                )
            }
        }
    }
}

impl std::error::Error for ChainFault {}

/// Encodes a block as a chain entry.
///
/// # Errors
/// When a submission entry cannot be encoded (a count above 2^53).
pub fn encode_entry(
    header: &BlockHeader,
    submissions: &[SubmissionEntry],
) -> Result<Vec<u8>, crate::record::EncodeError> {
    let mut payload = Vec::with_capacity(BlockHeader::SIZE + 4 + 160 * submissions.len());
    payload.extend_from_slice(&header.to_bytes());
    payload.extend_from_slice(&(submissions.len() as u32).to_be_bytes());
    for s in submissions {
        let bytes = s.to_bytes()?;
        payload.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        payload.extend_from_slice(&bytes);
    }
    let mut entry = Vec::with_capacity(payload.len() + FRAME);
    entry.extend_from_slice(ENTRY_MAGIC);
    entry.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    entry.extend_from_slice(&payload);
    let sum = Sha256::digest(&entry);
    entry.extend_from_slice(&sum);
    Ok(entry)
}

/// Decodes a payload; `Err` says what is wrong.
fn decode_payload(payload: &[u8]) -> Result<(BlockHeader, Vec<SubmissionEntry>), String> {
    let header_bytes = payload
        .get(..BlockHeader::SIZE)
        .ok_or("payload shorter than a header")?;
    let header = BlockHeader::from_bytes(header_bytes).map_err(|e| e.to_string())?;
    let mut rest = &payload[BlockHeader::SIZE..];
    let take_u32 = |rest: &mut &[u8]| -> Result<usize, String> {
        let (n, tail) = rest.split_first_chunk::<4>().ok_or("payload truncated")?;
        *rest = tail;
        Ok(u32::from_be_bytes(*n) as usize)
    };
    let count = take_u32(&mut rest)?;
    let mut subs = Vec::with_capacity(count.min(4096));
    for i in 0..count {
        let len = take_u32(&mut rest)?;
        let bytes = rest.get(..len).ok_or("payload truncated")?;
        rest = &rest[len..];
        let entry: SubmissionEntry = serde_json::from_slice(bytes)
            .map_err(|e| format!("submission entry {i} is not valid: {e}"))?;
        // Only the canonical encoding is accepted, so the stored bytes are the hashed bytes.
        if entry.to_bytes().map_err(|e| e.to_string())? != bytes {
            return Err(format!("submission entry {i} is not in canonical form"));
        }
        subs.push(entry);
    }
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes in payload", rest.len()));
    }
    Ok((header, subs))
}

/// Parses chain file bytes, checking framing and checksums.
///
/// # Errors
/// [`ChainFault::TornTail`] for an incomplete or damaged last entry, [`ChainFault::Corrupt`]
/// for a damaged entry before it.
pub fn parse(bytes: &[u8]) -> Result<Vec<StoredBlock>, ChainFault> {
    let mut blocks = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let height = blocks.len() as u64;
        let rest = &bytes[offset..];
        let torn = |detail: String| ChainFault::TornTail {
            offset: offset as u64,
            blocks: height,
            detail,
        };
        let corrupt = |detail: String| ChainFault::Corrupt {
            height,
            offset: offset as u64,
            detail,
        };
        if rest.len() < 8 {
            return Err(torn(format!(
                "{} bytes, too short for an entry header",
                rest.len()
            )));
        }
        if &rest[..4] != ENTRY_MAGIC {
            return Err(corrupt("bad entry magic".into()));
        }
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(corrupt(format!("entry length {len} is implausible")));
        }
        let total = len + FRAME;
        if rest.len() < total {
            return Err(torn(format!(
                "entry needs {total} bytes, only {} remain (an append was interrupted)",
                rest.len()
            )));
        }
        let (body, sum) = rest[..total].split_at(total - 32);
        if Sha256::digest(body).as_slice() != sum {
            let msg = "checksum mismatch".to_owned();
            return Err(if rest.len() == total {
                torn(msg)
            } else {
                corrupt(msg)
            });
        }
        let (header, submissions) = decode_payload(&body[8..]).map_err(corrupt)?;
        blocks.push(StoredBlock {
            hash: header.hash(),
            header,
            submissions,
            offset: offset as u64,
        });
        offset += total;
    }
    Ok(blocks)
}

/// Checks what the checksums cannot: heights from 0, each `prev` the hash of the block before,
/// each anchor root the root over its submission entries, each hash meeting its difficulty.
///
/// # Errors
/// [`ChainFault::Invalid`] naming the first bad block.
pub fn check(blocks: &[StoredBlock]) -> Result<(), ChainFault> {
    let mut prev = BlockHash::default();
    for (i, b) in blocks.iter().enumerate() {
        let invalid = |detail: String| ChainFault::Invalid {
            height: i as u64,
            offset: b.offset,
            detail,
        };
        let h = &b.header;
        if h.version != HEADER_VERSION {
            return Err(invalid(format!("unknown version {}", h.version)));
        }
        if h.height != i as u64 {
            return Err(invalid(format!("header says height {}", h.height)));
        }
        if h.prev != prev {
            return Err(invalid(format!("previous hash {} is not {prev}", h.prev)));
        }
        let leaves = entry_leaves(&b.submissions).map_err(|e| invalid(e.to_string()))?;
        if root_of(&leaves) != h.anchor_root {
            return Err(invalid(
                "anchor root does not match the block's submission entries".into(),
            ));
        }
        if !b.submissions.windows(2).all(|w| w[0].id < w[1].id) {
            return Err(invalid(
                "submission entries are not sorted by unique id".into(),
            ));
        }
        let bits = leading_zero_bits(&b.hash);
        if bits < h.difficulty {
            return Err(invalid(format!(
                "hash {} has {bits} leading zero bits, difficulty is {}",
                b.hash, h.difficulty
            )));
        }
        prev = b.hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::empty_root;

    fn block(height: u64, prev: BlockHash) -> (BlockHeader, Vec<SubmissionEntry>) {
        let subs = vec![SubmissionEntry {
            id: "S1".into(),
            root: empty_root(),
            records: 0,
            datasets: 1,
        }];
        let leaf = subs[0].leaf_hash().unwrap().into_node();
        let header = BlockHeader {
            version: HEADER_VERSION,
            height,
            prev,
            anchor_root: root_of(&[leaf]),
            time: 1,
            difficulty: 0,
            nonce: 0,
        };
        (header, subs)
    }

    fn two_blocks() -> Vec<u8> {
        let (h0, s0) = block(0, BlockHash::default());
        let mut bytes = encode_entry(&h0, &s0).unwrap();
        let (h1, s1) = block(1, h0.hash());
        bytes.extend(encode_entry(&h1, &s1).unwrap());
        bytes
    }

    #[test]
    fn round_trip_and_validate() {
        let blocks = parse(&two_blocks()).unwrap();
        assert_eq!(blocks.len(), 2);
        check(&blocks).unwrap();
    }

    #[test]
    fn every_truncation_is_a_torn_tail_at_the_second_entry() {
        let bytes = two_blocks();
        let first = encode_entry(
            &block(0, BlockHash::default()).0,
            &block(0, BlockHash::default()).1,
        )
        .unwrap()
        .len();
        for cut in first + 1..bytes.len() {
            match parse(&bytes[..cut]) {
                Err(ChainFault::TornTail { offset, blocks, .. }) => {
                    assert_eq!((offset, blocks), (first as u64, 1), "cut at {cut}");
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = two_blocks();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let result = parse(&b).and_then(|blocks| check(&blocks).map(|_| blocks));
            assert!(result.is_err(), "flip at byte {i} went unnoticed");
        }
    }
}
