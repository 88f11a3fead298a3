//! The chain file: the only code that reads it and appends to it. Append-only, one
//! self-delimiting checksummed entry per block, fsync'd before success; a torn or corrupt tail is
//! reported with its byte offset and never repaired silently. Knows nothing of datasets.
//!
//! Entry layout (big-endian), specified in `docs/FORMAT.md`:
//! `"TNB1"` (4) | payload length (4) | payload | SHA-256(magic || length || payload) (32), where
//! payload = header (96) | submission count (4) | per submission: length (4) | entry bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::header::{BlockHeader, HEADER_VERSION, leading_zero_bits};
use crate::hash::{BlockHash, LeafHash};
use crate::record::SubmissionEntry;
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

/// Why the chain cannot be read, verified or appended to.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// An I/O error on the chain file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The last entry is incomplete or fails its checksum: an interrupted append.
    #[error(
        "{}: torn or corrupt tail at byte offset {offset} (after {blocks} good blocks): {detail}; \
         the chain up to that offset is intact, nothing after it was committed",
        path.display()
    )]
    TornTail {
        /// The file.
        path: PathBuf,
        /// Where the bad tail starts.
        offset: u64,
        /// Number of good blocks before it.
        blocks: u64,
        /// What is wrong.
        detail: String,
    },
    /// An entry before the tail is damaged.
    #[error("{}: block at height {height} (byte offset {offset}) is corrupt: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Height the entry would have.
        height: u64,
        /// Where the entry starts.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An entry is intact but the block in it is not valid (linkage, work, anchor root).
    #[error("{}: block at height {height} (byte offset {offset}) is invalid: {detail}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Block height.
        height: u64,
        /// Where the entry starts.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The chain changed between reading it and appending (should be impossible under the lock).
    #[error("{}: the chain file changed while this run held the lock", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ChainError + '_ {
    move |source| ChainError::Io {
        path: path.to_owned(),
        source,
    }
}

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

/// Reads every entry of the chain file, checking framing and checksums only. A missing file is
/// an empty chain.
///
/// # Errors
/// [`ChainError::TornTail`] for an incomplete or damaged last entry, [`ChainError::Corrupt`] for
/// a damaged entry before it, [`ChainError::Io`] for read errors.
pub fn read_chain(path: &Path) -> Result<Vec<StoredBlock>, ChainError> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).map_err(io(path))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    }
    parse_chain(path, &bytes)
}

/// Parses chain bytes; see [`read_chain`].
///
/// # Errors
/// As [`read_chain`].
pub fn parse_chain(path: &Path, bytes: &[u8]) -> Result<Vec<StoredBlock>, ChainError> {
    let mut blocks = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let height = blocks.len() as u64;
        let rest = &bytes[offset..];
        let torn = |detail: String| ChainError::TornTail {
            path: path.to_owned(),
            offset: offset as u64,
            blocks: height,
            detail,
        };
        let corrupt = |detail: String| ChainError::Corrupt {
            path: path.to_owned(),
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
/// [`ChainError::Invalid`] naming the first bad block.
pub fn validate(path: &Path, blocks: &[StoredBlock]) -> Result<(), ChainError> {
    let mut prev = BlockHash::default();
    for (i, b) in blocks.iter().enumerate() {
        let invalid = |detail: String| ChainError::Invalid {
            path: path.to_owned(),
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
        let leaves: Result<Vec<_>, _> = b
            .submissions
            .iter()
            .map(|s| s.leaf_hash().map(LeafHash::into_node))
            .collect();
        let leaves = leaves.map_err(|e| invalid(e.to_string()))?;
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

/// Appends one encoded entry to the chain file and fsyncs it (and, for a new file, its
/// directory) before returning. `expected_len` is the file length the caller read under the
/// lock; a different length means another writer and nothing is written.
///
/// # Errors
/// [`ChainError::Changed`] or [`ChainError::Io`].
pub fn append(path: &Path, entry: &[u8], expected_len: u64) -> Result<(), ChainError> {
    let existed = path.exists();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    let len = f.metadata().map_err(io(path))?.len();
    if len != expected_len {
        return Err(ChainError::Changed {
            path: path.to_owned(),
        });
    }
    if crate::crashpoint::armed("mid-append") {
        // Simulates a crash part-way through the write: half the entry reaches the disk.
        let _ = f
            .write_all(&entry[..entry.len() / 2])
            .and_then(|()| f.sync_all());
        std::process::abort();
    }
    f.write_all(entry).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    if !existed {
        sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io(path))?;
    }
    Ok(())
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The chain had no torn tail.
    NothingToDo {
        /// Blocks in the chain.
        blocks: u64,
    },
    /// The torn tail was cut off after the whole file was copied to `backup`.
    Truncated {
        /// Where the good chain ends now.
        offset: u64,
        /// Bytes removed.
        removed: u64,
        /// Copy of the file as it was.
        backup: PathBuf,
        /// Good blocks kept.
        blocks: u64,
    },
}

/// Cuts a torn tail off the chain file, after copying the whole file to a backup beside it
/// (fsync'd). Never called automatically. A chain damaged before its tail is not touched: only
/// a backup of the chain can restore it.
///
/// # Errors
/// [`ChainError::Corrupt`] or [`ChainError::Invalid`] for damage before the tail, I/O errors.
pub fn repair(path: &Path) -> Result<Repair, ChainError> {
    match read_chain(path) {
        Ok(blocks) => {
            validate(path, &blocks)?;
            Ok(Repair::NothingToDo {
                blocks: blocks.len() as u64,
            })
        }
        Err(ChainError::TornTail { offset, blocks, .. }) => {
            let len = file_len(path)?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let backup = path.with_extension(format!("tnc.torn-{offset}-{stamp}.bak"));
            std::fs::copy(path, &backup).map_err(io(&backup))?;
            File::open(&backup)
                .and_then(|f| f.sync_all())
                .map_err(io(&backup))?;
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io(path))?;
            f.set_len(offset).map_err(io(path))?;
            f.sync_all().map_err(io(path))?;
            sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io(path))?;
            let kept = read_chain(path)?;
            validate(path, &kept)?;
            Ok(Repair::Truncated {
                offset,
                removed: len - offset,
                backup,
                blocks,
            })
        }
        Err(e) => Err(e),
    }
}

/// Length of the chain file (0 when missing).
///
/// # Errors
/// [`ChainError::Io`] for errors other than absence.
pub fn file_len(path: &Path) -> Result<u64, ChainError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io(path)(e)),
    }
}

/// fsyncs a directory so a created or renamed entry in it is durable.
///
/// # Errors
/// I/O errors from opening or syncing the directory.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
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
        let p = Path::new("chain");
        let blocks = parse_chain(p, &two_blocks()).unwrap();
        assert_eq!(blocks.len(), 2);
        validate(p, &blocks).unwrap();
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
            match parse_chain(Path::new("c"), &bytes[..cut]) {
                Err(ChainError::TornTail { offset, blocks, .. }) => {
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
            let p = Path::new("c");
            let result = parse_chain(p, &b).and_then(|blocks| validate(p, &blocks).map(|_| blocks));
            assert!(result.is_err(), "flip at byte {i} went unnoticed");
        }
    }
}
