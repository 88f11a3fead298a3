//! The chain file: the only code that reads it and appends to it. Append-only, one
//! self-delimiting checksummed entry per block, fsync'd before success; a torn or corrupt tail is
//! reported with its byte offset and never repaired silently. Knows nothing of datasets.
//!
//! The byte format is `chain::format`'s.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::format::{self, ChainFault};
pub use super::format::{ENTRY_MAGIC, StoredBlock, encode_entry};

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

impl ChainError {
    fn from_fault(path: &Path, fault: ChainFault) -> Self {
        let path = path.to_owned();
        match fault {
            ChainFault::TornTail {
                offset,
                blocks,
                detail,
            } => Self::TornTail {
                path,
                offset,
                blocks,
                detail,
            },
            ChainFault::Corrupt {
                height,
                offset,
                detail,
            } => Self::Corrupt {
                path,
                height,
                offset,
                detail,
            },
            ChainFault::Invalid {
                height,
                offset,
                detail,
            } => Self::Invalid {
                path,
                height,
                offset,
                detail,
            },
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ChainError + '_ {
    move |source| ChainError::Io {
        path: path.to_owned(),
        source,
    }
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
    format::parse(bytes).map_err(|fault| ChainError::from_fault(path, fault))
}

/// Checks heights, links, anchor roots and proof of work; see [`format::check`].
///
/// # Errors
/// [`ChainError::Invalid`] naming the first bad block.
pub fn validate(path: &Path, blocks: &[StoredBlock]) -> Result<(), ChainError> {
    format::check(blocks).map_err(|fault| ChainError::from_fault(path, fault))
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
