//! The chain file's byte format and rules, without I/O: entries are parsed and checked here, so
//! that a regulator's verifier can check a chain copy with the core alone. Writing, appending,
//! locking and repair are the store's (`store::chain`).
//!
//! Entry layout (big-endian), specified in `docs/FORMAT.md`:
//! `"TNB1"` (4) | payload length (4) | payload | SHA-256(magic || length || payload) (32), where
//! payload = header (96) | submission count (4) | per submission: length (4) | entry bytes.

use std::fmt;

use sha2::{Digest, Sha256};

use super::header::{BlockHeader, HEADER_VERSION, leading_zero_bits};
use crate::core::hash::{BlockHash, root};
use crate::core::record::{SubmissionEntry, entry_leaves};

/// First four bytes of every entry.
pub const ENTRY_MAGIC: &[u8; 4] = b"TNB1";

/// Framing bytes around a payload: magic, length and checksum.
pub const FRAME: usize = 4 + 4 + 32;

/// Largest payload accepted, so a corrupt length cannot make us allocate gigabytes.
const MAX_PAYLOAD: usize = 64 << 20;

/// Lowest difficulty a block may declare: a block without proof of work is not a block.
pub const MIN_DIFFICULTY: u32 = 1;

/// Latest block time accepted: 9999-12-31T23:59:59Z, the last second ISO 8601 writes in four
/// digits. Times are copied forward (never less than the previous block's), so one absurd time
/// would bind every later block.
pub const MAX_TIME: u64 = 253_402_300_799;

/// How far past the verifier's clock a block time may lie: clocks disagree, but not by days.
pub const MAX_CLOCK_SKEW: u64 = 24 * 60 * 60;

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
    /// A complete entry is damaged (bad magic, checksum or payload). It may hold an
    /// acknowledged block, so it is never taken for a torn tail.
    Corrupt {
        /// Height the entry would have.
        height: u64,
        /// Where the entry starts.
        offset: u64,
        /// What is wrong.
        detail: String,
        /// Whether it is the file's last entry: its frame reaches exactly to the end of the file,
        /// or everything from it on is zeros (as a power loss during an append can leave). Only
        /// such an entry may be dropped, and only when asked explicitly.
        last: bool,
    },
    /// An entry is intact but its block breaks a chain rule.
    Invalid {
        /// Block height.
        height: u64,
        /// Where the entry starts.
        offset: u64,
        /// The rule broken, a stable code (see [`check`]).
        rule: &'static str,
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
                "torn tail at byte offset {offset} (after {blocks} good blocks): {detail}; \
                 the chain up to that offset is intact, nothing after it was committed"
            ),
            ChainFault::Corrupt {
                height,
                offset,
                detail,
                ..
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
                ..
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
/// [`ChainFault::TornTail`] for a last entry that runs past the end of the file (an interrupted
/// append), [`ChainFault::Corrupt`] for a complete entry that is damaged.
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
            last: !rest.is_empty() && next_intact_entry(&rest[1..]).is_none(),
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
        // An entry that runs past the end is torn only when nothing intact follows it: the
        // bytes to the end may be a whole entry whose length field alone is damaged, or a
        // damaged length may reach over later entries.
        if rest.len() < total
            && (intact(rest, rest.len()) || next_intact_entry(&rest[1..]).is_some())
        {
            return Err(corrupt(format!("entry length {len} is damaged")));
        }
        if rest.len() < total {
            return Err(torn(format!(
                "entry needs {total} bytes, only {} remain (an append was interrupted)",
                rest.len()
            )));
        }
        let (body, sum) = rest[..total].split_at(total - 32);
        // A complete entry whose checksum fails is corrupt, not torn: an acknowledged block with
        // a flipped byte must never be cut off as if its append had been interrupted.
        if Sha256::digest(body).as_slice() != sum {
            return Err(corrupt("checksum mismatch".into()));
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

/// Whether the first `total` bytes of `bytes` are one entry whose checksum holds, whatever its
/// length field says.
fn intact(bytes: &[u8], total: usize) -> bool {
    if total < FRAME + BlockHeader::SIZE || bytes.len() < total || &bytes[..4] != ENTRY_MAGIC {
        return false;
    }
    let mut h = Sha256::new();
    h.update(ENTRY_MAGIC);
    h.update(((total - FRAME) as u32).to_be_bytes());
    h.update(&bytes[8..total - 32]);
    h.finalize().as_slice() == &bytes[total - 32..total]
}

/// Offset in `bytes` of the first intact entry (magic, length and checksum), if any: what
/// decides whether a damaged entry is the chain's last.
fn next_intact_entry(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = bytes[from..].windows(4).position(|w| w == ENTRY_MAGIC) {
        let at = from + i;
        let rest = &bytes[at..];
        if let Some(len) = rest.get(4..8) {
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len <= MAX_PAYLOAD && intact(rest, len + FRAME) {
                return Some(at);
            }
        }
        from = at + 1;
    }
    None
}

/// Checks what the checksums cannot, each rule with its own stable code:
///
/// | code | rule (docs/FORMAT.md sections 4 and 5) |
/// |---|---|
/// | `version` | the header version is [`HEADER_VERSION`] |
/// | `height` | heights run 0, 1, 2, ... |
/// | `prev-link` | each `prev` is the hash of the block before (zeros at height 0) |
/// | `no-submission` | every block anchors at least one submission |
/// | `unsorted-submissions` | submission entries are sorted by unique id |
/// | `anchor-root` | the anchor root is the root over the submission entries |
/// | `zero-difficulty` | the difficulty is at least [`MIN_DIFFICULTY`] |
/// | `insufficient-work` | the hash has at least `difficulty` leading zero bits |
/// | `time-backwards` | the time is never less than the previous block's |
/// | `time-too-late` | the time is at most [`MAX_TIME`] |
/// | `time-in-future` | the time is at most `now` + [`MAX_CLOCK_SKEW`] (`now`: the checker's clock) |
///
/// # Errors
/// [`ChainFault::Invalid`] naming the first bad block and the rule.
pub fn check(blocks: &[StoredBlock], now: u64) -> Result<(), ChainFault> {
    let mut prev = BlockHash::default();
    let mut prev_time = 0;
    for (i, b) in blocks.iter().enumerate() {
        let invalid = |rule: &'static str, detail: String| ChainFault::Invalid {
            height: i as u64,
            offset: b.offset,
            rule,
            detail,
        };
        let h = &b.header;
        if h.version != HEADER_VERSION {
            return Err(invalid("version", format!("unknown version {}", h.version)));
        }
        if h.height != i as u64 {
            return Err(invalid(
                "height",
                format!("header says height {}", h.height),
            ));
        }
        if h.prev != prev {
            return Err(invalid(
                "prev-link",
                format!("previous hash {} is not {prev}", h.prev),
            ));
        }
        if b.submissions.is_empty() {
            return Err(invalid(
                "no-submission",
                "the block anchors no submission".into(),
            ));
        }
        if !b.submissions.windows(2).all(|w| w[0].id < w[1].id) {
            return Err(invalid(
                "unsorted-submissions",
                "submission entries are not sorted by unique id".into(),
            ));
        }
        let leaves =
            entry_leaves(&b.submissions).map_err(|e| invalid("anchor-root", e.to_string()))?;
        if root(&leaves) != h.anchor_root {
            return Err(invalid(
                "anchor-root",
                "anchor root does not match the block's submission entries".into(),
            ));
        }
        if h.difficulty < MIN_DIFFICULTY {
            return Err(invalid(
                "zero-difficulty",
                format!(
                    "difficulty {}: a block must carry proof of work",
                    h.difficulty
                ),
            ));
        }
        let bits = leading_zero_bits(&b.hash);
        if bits < h.difficulty {
            return Err(invalid(
                "insufficient-work",
                format!(
                    "hash {} has {bits} leading zero bits, difficulty is {}",
                    b.hash, h.difficulty
                ),
            ));
        }
        if h.time < prev_time {
            return Err(invalid(
                "time-backwards",
                format!("time {} is before the previous block's {prev_time}", h.time),
            ));
        }
        if h.time > MAX_TIME {
            return Err(invalid(
                "time-too-late",
                format!("time {} is after 9999-12-31T23:59:59Z", h.time),
            ));
        }
        if h.time > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(invalid(
                "time-in-future",
                format!(
                    "time {} is more than a day after this verifier's clock ({now})",
                    h.time
                ),
            ));
        }
        prev = b.hash;
        prev_time = h.time;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::{NodeHash, empty_root};

    /// The entry layout written out by hand, independently of the store's encoder.
    fn encode_entry(
        header: &BlockHeader,
        subs: &[SubmissionEntry],
    ) -> Result<Vec<u8>, crate::core::record::EncodeError> {
        let mut payload = header.to_bytes().to_vec();
        payload.extend((subs.len() as u32).to_be_bytes());
        for sub in subs {
            let bytes = sub.to_bytes()?;
            payload.extend((bytes.len() as u32).to_be_bytes());
            payload.extend(bytes);
        }
        let mut entry = ENTRY_MAGIC.to_vec();
        entry.extend((payload.len() as u32).to_be_bytes());
        entry.extend(payload);
        let sum = Sha256::digest(&entry);
        entry.extend(sum);
        Ok(entry)
    }

    /// The time of the test blocks, and the checker's clock.
    const T: u64 = 1_790_000_000;

    fn subs(ids: &[&str]) -> Vec<SubmissionEntry> {
        ids.iter()
            .map(|id| SubmissionEntry {
                documents: 0,
                id: (*id).into(),
                root: empty_root(),
                records: 0,
                datasets: 1,
            })
            .collect()
    }

    /// A header over `subs` with the smallest nonce that meets its difficulty.
    fn mined(mut header: BlockHeader, subs: &[SubmissionEntry]) -> BlockHeader {
        header.anchor_root = root(&entry_leaves(subs).unwrap());
        while !header.meets_target() {
            header.nonce += 1;
        }
        header
    }

    fn block(height: u64, prev: BlockHash) -> (BlockHeader, Vec<SubmissionEntry>) {
        let subs = subs(&["S1"]);
        let header = BlockHeader {
            version: HEADER_VERSION,
            height,
            prev,
            anchor_root: NodeHash::default(),
            time: T,
            difficulty: 1,
            nonce: 0,
        };
        (mined(header, &subs), subs)
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
        check(&blocks, T).unwrap();
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
            let result = parse(&b).and_then(|blocks| check(&blocks, T).map(|_| blocks));
            assert!(result.is_err(), "flip at byte {i} went unnoticed");
        }
    }

    /// A complete last entry with a flipped byte may be an acknowledged block: corrupt at its
    /// height, never a torn tail.
    #[test]
    fn flipped_byte_in_the_last_entry_is_corrupt_not_torn() {
        let bytes = two_blocks();
        let second = parse(&bytes).unwrap()[1].offset as usize;
        for i in second..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            match parse(&b) {
                Err(ChainFault::Corrupt {
                    height: 1,
                    last: true,
                    ..
                }) => {}
                other => panic!("flip at {i}: {other:?}"),
            }
        }
        // A flip in the first entry is corrupt at height 0, and not last: an intact entry follows.
        for i in 0..second {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            match parse(&b) {
                Err(ChainFault::Corrupt {
                    height: 0,
                    last: false,
                    ..
                }) => {}
                other => panic!("flip at {i}: {other:?}"),
            }
        }
        // Zeros where the last entry should be, as a power loss can leave: corrupt, and last.
        let mut zeroed = bytes.clone();
        zeroed[second..].fill(0);
        assert!(matches!(
            parse(&zeroed),
            Err(ChainFault::Corrupt {
                height: 1,
                last: true,
                ..
            })
        ));
    }

    /// One broken-on-purpose chain per rule, each rejected with its own code.
    #[test]
    fn every_chain_rule_has_its_reason() {
        let (h0, s0) = block(0, BlockHash::default());
        let good = |h: BlockHeader| BlockHeader {
            height: 1,
            prev: h0.hash(),
            ..h
        };
        let cases: Vec<(&str, BlockHeader, Vec<SubmissionEntry>, u64)> = vec![
            (
                "time-backwards",
                good(BlockHeader { time: T - 1, ..h0 }),
                subs(&["S1"]),
                T,
            ),
            (
                "time-too-late",
                good(BlockHeader {
                    time: MAX_TIME + 1,
                    ..h0
                }),
                subs(&["S1"]),
                u64::MAX,
            ),
            (
                "time-in-future",
                good(BlockHeader {
                    time: T + MAX_CLOCK_SKEW + 1,
                    ..h0
                }),
                subs(&["S1"]),
                T,
            ),
            (
                "zero-difficulty",
                good(BlockHeader {
                    difficulty: 0,
                    ..h0
                }),
                subs(&["S1"]),
                T,
            ),
            ("no-submission", good(h0), subs(&[]), T),
            ("unsorted-submissions", good(h0), subs(&["S2", "S1"]), T),
            (
                "height",
                BlockHeader {
                    height: 2,
                    ..good(h0)
                },
                subs(&["S1"]),
                T,
            ),
            (
                "prev-link",
                BlockHeader {
                    prev: BlockHash::default(),
                    ..good(h0)
                },
                subs(&["S1"]),
                T,
            ),
        ];
        for (rule, header, subs, now) in cases {
            let header = mined(header, &subs);
            let mut bytes = encode_entry(&h0, &s0).unwrap();
            bytes.extend(encode_entry(&header, &subs).unwrap());
            let blocks = parse(&bytes).unwrap();
            match check(&blocks, now) {
                Err(ChainFault::Invalid {
                    height: 1,
                    rule: got,
                    ..
                }) => assert_eq!(got, rule),
                other => panic!("{rule}: {other:?}"),
            }
        }
        // A time exactly at the limits is accepted.
        let at_limit = mined(
            good(BlockHeader {
                time: T + MAX_CLOCK_SKEW,
                ..h0
            }),
            &s0,
        );
        let mut bytes = encode_entry(&h0, &s0).unwrap();
        bytes.extend(encode_entry(&at_limit, &s0).unwrap());
        check(&parse(&bytes).unwrap(), T).unwrap();
        // Work below the declared difficulty.
        let mut weak = good(h0);
        weak.difficulty = 30;
        weak.anchor_root = root(&entry_leaves(&s0).unwrap());
        while weak.meets_target() {
            weak.nonce += 1;
        }
        let mut bytes = encode_entry(&h0, &s0).unwrap();
        bytes.extend(encode_entry(&weak, &s0).unwrap());
        assert!(matches!(
            check(&parse(&bytes).unwrap(), T),
            Err(ChainFault::Invalid {
                rule: "insufficient-work",
                ..
            })
        ));
    }
}
