//! Committing a mined block: the secret (a first run's), the staged manifests and leaves moved
//! into `blocks/`, then the chain entry, each durable before the next; last, the signed
//! checkpoint of the new tip. A crash before the chain append leaves a `blocks/` directory that no
//! block refers to (removed by the next run) and no block.

use std::path::{Path, PathBuf};

use super::PipelineError;
use crate::core::hash::BlockHash;
use crate::core::header::BlockHeader;
use crate::core::record::SubmissionEntry;
use crate::hashing::salt::Secret;
use crate::store::chain::{self as chain_store, ChainError, sync_dir};
use crate::store::{Manifest, Store, io_err, write_atomic};

/// What a commit writes.
pub(super) struct Commit<'a> {
    /// The store, locked.
    pub store: &'a Store,
    /// The staging directory: one subdirectory per submission, in `manifests` order.
    pub staging: &'a Path,
    /// The manifests to write.
    pub manifests: &'a [Manifest],
    /// The mined header and its hash.
    pub header: BlockHeader,
    /// `header.hash()`.
    pub hash: BlockHash,
    /// The block's submission entries, sorted by id.
    pub entries: &'a [SubmissionEntry],
    /// The salt secret, and whether this run made it (then it is saved first).
    pub secret: (&'a Secret, bool),
    /// The chain's length when the run read it under the lock.
    pub chain_len: u64,
}

/// Commits the block; returns the path of its signed checkpoint, when a signing key exists.
///
/// # Errors
/// I/O errors (before the append: no block; a failed append is rolled back), or
/// [`PipelineError::AfterCommit`] when only the checkpoint could not be written.
pub(super) fn commit(c: &Commit<'_>) -> Result<Option<PathBuf>, PipelineError> {
    let (store, header, hash) = (c.store, c.header, c.hash);
    let entry_bytes = chain_store::encode_entry(&header, c.entries)
        .map_err(|e| PipelineError::Usage(e.to_string()))?;
    if c.secret.1 {
        store.save_secret(c.secret.0)?;
    }
    crate::crashpoint::hit("secret-saved");
    let block_dir = store.block_dir(header.height, &hash);
    if block_dir.exists() {
        // Left by a run that crashed before its append: nothing in the chain refers to it.
        std::fs::remove_dir_all(&block_dir).map_err(io_err(&block_dir))?;
    }
    // A failed run removes what it archived of a block the chain does not hold, so that it
    // leaves the store as it was (a crash leaves it for the next run to remove). An append that
    // failed and could not be undone keeps it: the chain may hold the entry.
    if let Err(e) = archive(c, &block_dir) {
        let _ = std::fs::remove_dir_all(&block_dir);
        return Err(e);
    }
    crate::crashpoint::hit("archived");
    if let Err(e) = chain_store::append(
        &store.chain_path(),
        &entry_bytes,
        c.chain_len,
        header.height,
    ) {
        if matches!(
            e,
            ChainError::Changed { .. }
                | ChainError::AppendFailed {
                    rolled_back: true,
                    ..
                }
        ) {
            let _ = std::fs::remove_dir_all(&block_dir);
        }
        return Err(e.into());
    }
    crate::crashpoint::hit("appended");
    // The block is committed; a checkpoint is a signed statement about it, written after. A crash
    // here leaves the tip unsigned until `trialnotary checkpoint` signs it.
    store
        .load_signer()
        .and_then(|signer| {
            signer
                .map(|s| store.write_checkpoint(&s, header.height, &hash, header.time))
                .transpose()
        })
        .map_err(|e| PipelineError::AfterCommit {
            height: header.height,
            what: format!(
                "its signed checkpoint could not be written ({e}); run `trialnotary checkpoint` to sign it"
            ),
        })
}

/// Archives the staged manifests and leaves under `block_dir` and syncs them.
fn archive(c: &Commit<'_>, block_dir: &Path) -> Result<(), PipelineError> {
    std::fs::create_dir_all(block_dir).map_err(io_err(block_dir))?;
    for (s, m) in c.manifests.iter().enumerate() {
        let staged = c.staging.join(s.to_string());
        let manifest_path = staged.join("manifest.json");
        // Plain data serializes without error.
        let json = serde_json::to_vec_pretty(m).expect("manifest serializes");
        write_atomic(&manifest_path, &json, 0o600)?;
        let target = block_dir.join(&m.submission.id);
        std::fs::rename(&staged, &target).map_err(io_err(&target))?;
        crate::crashpoint::hit("mid-archive");
    }
    sync_dir(block_dir).map_err(io_err(block_dir))?;
    if let Some(parent) = block_dir.parent() {
        sync_dir(parent).map_err(io_err(parent))?;
    }
    Ok(())
}
