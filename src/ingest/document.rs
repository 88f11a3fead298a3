//! Documents: every file of a submission that is not a dataset (define.xml, PDFs, programs) is
//! committed as its path, size and the SHA-256 of its bytes, read through one open handle and
//! checked, when read, to be still the file at its path.

use std::io::Read;

use sha2::{Digest, Sha256};

use super::{DocumentFile, IngestError, Snapshot};
use crate::core::hash::FileHash;
use crate::core::record::DocumentEntry;

/// Hashes a document's bytes, calling `progress` with the bytes of each read.
///
/// # Errors
/// A read error, or a file that changed or was replaced while it was read.
pub fn hash(doc: &DocumentFile, progress: &dyn Fn(u64)) -> Result<DocumentEntry, IngestError> {
    let path = &doc.path;
    let err = |what: &str, e: std::io::Error| IngestError::file(path, format!("{what}: {e}"));
    let mut file = std::fs::File::open(path).map_err(|e| err("cannot open", e))?;
    let opened = Snapshot::from(&file.metadata().map_err(|e| err("cannot stat", e))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| err("read error", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
        progress(n as u64);
    }
    opened.check_unchanged(path, Some(bytes))?;
    Ok(DocumentEntry {
        path: doc.relative.clone(),
        bytes,
        sha256: FileHash::from_bytes(hasher.finalize().into()),
    })
}
