//! The chain file: the only code that reads it and appends to it. Append-only, one
//! self-delimiting checksummed entry per block, fsync'd before success; a torn tail is
//! reported with its byte offset and never repaired silently. Knows nothing of datasets.
//!
//! The byte format is `core::chain`'s; this writes it (tested against the core's parser).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::chain::{self as format, ChainFault, FRAME};
pub use crate::core::chain::{ENTRY_MAGIC, StoredBlock};
use crate::core::header::BlockHeader;
use crate::core::record::SubmissionEntry;

/// Why the chain cannot be read, verified or appended to.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// An I/O error on the chain file.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The chain's bytes are damaged (a torn tail or a corrupt entry) or a block breaks a rule.
    #[error("{}: {fault}", path.display())]
    Fault {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        fault: ChainFault,
    },
    /// The chain changed between reading it and appending (another writer).
    #[error(
        "{}: the chain file changed while this run held the store's lock (is it shared with another store?); nothing was appended",
        path.display()
    )]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// The chain file is a symbolic or hard link: two stores sharing one chain would fork it.
    #[error(
        "{}: the chain file is a link ({kind}); a store's chain must be its own file, not shared with another store",
        path.display()
    )]
    Link {
        /// The file.
        path: PathBuf,
        /// "symbolic link" or "2 hard links", ...
        kind: String,
    },
    /// Writing or syncing the new entry failed; says exactly what the chain holds now.
    #[error("{}: appending block {height} failed: {error}; {}", path.display(), if *rolled_back {
        format!("the chain was cut back to its previous {offset} bytes and holds exactly the blocks it held before (nothing was anchored)")
    } else {
        format!("cutting the partial entry off failed too, so the chain ends in a torn tail at byte offset {offset}: run `trialnotary chain repair` once the cause is fixed")
    })]
    AppendFailed {
        /// The file.
        path: PathBuf,
        /// Height of the block that was being appended.
        height: u64,
        /// Where the entry started: the chain's length before the append.
        offset: u64,
        /// The write or sync error.
        error: std::io::Error,
        /// Whether the chain was truncated back to `offset` (and synced).
        rolled_back: bool,
    },
}

impl ChainError {
    fn fault(path: &Path, fault: ChainFault) -> Self {
        Self::Fault {
            path: path.to_owned(),
            fault,
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ChainError + '_ {
    move |error| ChainError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Encodes a block as a chain entry.
///
/// # Errors
/// When a submission entry cannot be encoded (a count above 2^53).
pub fn encode_entry(
    header: &BlockHeader,
    submissions: &[SubmissionEntry],
) -> Result<Vec<u8>, crate::core::record::EncodeError> {
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

/// Reads every entry of the chain file, checking framing and checksums only. A missing file is
/// an empty chain.
///
/// # Errors
/// [`ChainError::Fault`] with [`ChainFault::TornTail`] for a last entry cut short, or
/// [`ChainFault::Corrupt`] for a complete entry whose checksum fails; [`ChainError::Io`] for read
/// errors.
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
    format::parse(bytes).map_err(|fault| ChainError::fault(path, fault))
}

/// Checks the chain rules of [`format::check`] against this machine's clock.
///
/// # Errors
/// [`ChainError::Fault`] naming the first bad block and the rule.
pub fn validate(path: &Path, blocks: &[StoredBlock]) -> Result<(), ChainError> {
    format::check(blocks, now()).map_err(|fault| ChainError::fault(path, fault))
}

pub use crate::core::session::now;

/// Refuses a chain file that is a symbolic link or has other hard links: each store's chain is
/// its own file, so that no other store can append to it between a length check and an append.
///
/// # Errors
/// [`ChainError::Link`], or an I/O error other than absence.
pub fn check_not_linked(path: &Path) -> Result<(), ChainError> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path)(e)),
    };
    let kind = if meta.file_type().is_symlink() {
        "symbolic link".to_owned()
    } else if meta.nlink() > 1 {
        format!("{} hard links", meta.nlink())
    } else {
        return Ok(());
    };
    Err(ChainError::Link {
        path: path.to_owned(),
        kind,
    })
}

/// Appends one encoded entry (the block at `height`) to the chain file and fsyncs it (and, for a
/// new file, its directory) before returning. `expected_len` is the file length the caller read
/// under the store's lock. The chain file itself is locked from the length check to the end of
/// the append, so that the check and the append are one step even for a chain reached through
/// another store. When the write or the sync fails (a full disk), the file is cut back to
/// `expected_len` and synced, and the error says whether that worked.
///
/// # Errors
/// [`ChainError::Link`], [`ChainError::Changed`] (nothing written), [`ChainError::AppendFailed`]
/// or [`ChainError::Io`].
pub fn append(path: &Path, entry: &[u8], expected_len: u64, height: u64) -> Result<(), ChainError> {
    check_not_linked(path)?;
    let existed = path.exists();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    // Released when `f` is closed.
    f.lock().map_err(io(path))?;
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
    if let Err(error) = f.write_all(entry).and_then(|()| f.sync_all()) {
        let rolled_back = f.set_len(expected_len).and_then(|()| f.sync_all()).is_ok();
        return Err(ChainError::AppendFailed {
            path: path.to_owned(),
            height,
            offset: expected_len,
            error,
            rolled_back,
        });
    }
    if !existed {
        sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io(path))?;
    }
    Ok(())
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The chain had no torn tail (nor, when asked, a corrupt last entry).
    NothingToDo {
        /// Blocks in the chain.
        blocks: u64,
    },
    /// The damaged tail was cut off after the whole file was copied to `backup`.
    Truncated {
        /// Where the good chain ends now.
        offset: u64,
        /// Bytes removed.
        removed: u64,
        /// Copy of the file as it was.
        backup: PathBuf,
        /// Good blocks kept.
        blocks: u64,
        /// The height of the corrupt last entry dropped, when one was (`None`: a torn tail).
        dropped: Option<u64>,
    },
}

/// Cuts a torn tail (an entry that runs past the end of the file: an interrupted append) off the
/// chain file, after copying the whole file to a backup beside it (fsync'd). With
/// `drop_corrupt_last`, also cuts a corrupt *last* entry, which may be an acknowledged block
/// damaged later or an append a power loss left complete in length but not in content: only the
/// operator can tell, so it takes the explicit flag. Never called automatically. Damage before
/// the last entry is not touched: only a backup of the chain can restore it.
///
/// # Errors
/// [`ChainError::Fault`] for damage that this may not cut, I/O errors.
pub fn repair(path: &Path, drop_corrupt_last: bool) -> Result<Repair, ChainError> {
    check_not_linked(path)?;
    let (offset, blocks, dropped) = match read_chain(path) {
        Ok(blocks) => {
            validate(path, &blocks)?;
            return Ok(Repair::NothingToDo {
                blocks: blocks.len() as u64,
            });
        }
        Err(ChainError::Fault {
            fault: ChainFault::TornTail { offset, blocks, .. },
            ..
        }) => (offset, blocks, None),
        Err(ChainError::Fault {
            fault:
                ChainFault::Corrupt {
                    height,
                    offset,
                    last: true,
                    ..
                },
            ..
        }) if drop_corrupt_last => (offset, height, Some(height)),
        Err(e) => return Err(e),
    };
    let len = file_len(path)?;
    let stamp = now();
    let what = if dropped.is_some() { "corrupt" } else { "torn" };
    let backup = path.with_extension(format!("tnc.{what}-{offset}-{stamp}.bak"));
    std::fs::copy(path, &backup).map_err(io(&backup))?;
    File::open(&backup)
        .and_then(|f| f.sync_all())
        .map_err(io(&backup))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io(path))?;
    f.lock().map_err(io(path))?;
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
        dropped,
    })
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
