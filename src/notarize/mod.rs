//! The notarize run, under the store's lock, in its phases: read and hash every submission in
//! parallel into a staging area (`read`), build the entries and manifests (`stage`), mine one
//! block (`mine`), then commit it (`commit`). Any failure before the commit leaves the store
//! exactly as it was. Nothing here prints: the command shows [`Progress`].

mod commit;
pub mod mine;
mod read;
mod stage;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::core::hash::BlockHash;
use crate::core::header::{BlockHeader, HEADER_VERSION};
use crate::core::record::{SubmissionEntry, entry_leaves};
use crate::hashing::tree::SmallTree;
use crate::ingest::{self, IngestError, Listing};
use crate::store::chain::{self as chain_store, ChainError};
use crate::store::{Manifest, Store, StoreError, io_err};
pub use stage::{Change, ItemChange};

/// Any failure of a pipeline command.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Bad input data.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The chain cannot be read or appended.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store cannot be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request itself is wrong (ids, names, rows).
    #[error("{0}")]
    Usage(String),
    /// A count too large for the canonical encoding.
    #[error(transparent)]
    Encode(#[from] crate::core::record::EncodeError),
    /// Writing output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    /// The block was appended (it is anchored), but a step after it failed.
    #[error("block {height} is anchored, but {what}")]
    AfterCommit {
        /// The anchored block's height.
        height: u64,
        /// What failed, and what to do about it.
        what: String,
    },
}

impl PipelineError {
    /// Whether the store is as it was before the run (what failed came before the commit, or
    /// the commit was rolled back): true for every error but an append that could not be cut
    /// back and a failure after the block was appended.
    pub fn store_unchanged(&self) -> bool {
        !matches!(
            self,
            PipelineError::AfterCommit { .. }
                | PipelineError::Chain(ChainError::AppendFailed {
                    rolled_back: false,
                    ..
                })
        )
    }
}

/// One submission to notarize.
#[derive(Clone, Debug)]
pub struct Input {
    /// Directory or file.
    pub path: PathBuf,
    /// Submission id.
    pub id: String,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct NotarizeOptions {
    /// Store directory.
    pub store: PathBuf,
    /// Leading zero bits for the block.
    pub difficulty: u32,
    /// Wait for the store lock (else fail at once).
    pub wait: bool,
}

/// What happened to one submission.
#[derive(Clone, Debug)]
pub struct SubmissionReport {
    /// Its entry.
    pub entry: SubmissionEntry,
    /// Bytes read from its files.
    pub bytes: u64,
    /// Height of the block that now anchors it.
    pub height: u64,
    /// Whether this run's block anchors it (every submission of a run is anchored in its block
    /// when any of them changed; none is when none did).
    pub anchored_now: bool,
    /// How its entry compares with the latest block that anchored this id before the run.
    pub change: Change,
    /// Its datasets and documents, in tree order, each with how it changed.
    pub items: Vec<ItemChange>,
    /// Datasets and documents of the previous anchoring that are gone.
    pub gone: Vec<String>,
    /// Hidden files and directories skipped.
    pub hidden: Vec<String>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct NotarizeReport {
    /// The new block, or `None` when every submission was already anchored unchanged.
    pub block: Option<(BlockHeader, BlockHash)>,
    /// Per submission, in id order.
    pub submissions: Vec<SubmissionReport>,
    /// Records read.
    pub records: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Wall time of the nonce search.
    pub mining: Duration,
    /// Hashes tried while mining.
    pub hashes: u64,
    /// The signed checkpoint written for the new tip, when a signing key is configured.
    pub checkpoint: Option<PathBuf>,
}

/// Whether `id` is usable as a submission id (it names a directory in the store).
pub fn check_id(id: &str) -> Result<(), PipelineError> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(PipelineError::Usage(format!(
            "submission id {id:?} is not usable: use letters, digits, '.', '_' and '-' \
             (not starting with '.'); give one with --id"
        )))
    }
}

/// The default id of a submission path: its directory or file name as given (for a file,
/// without the format extension), so that a link such as `latest`, moved each night to that
/// night's folder, keeps one id; a path without a name of its own (`.`, `..`) is named by the
/// directory it is.
pub fn default_id(path: &Path) -> String {
    let named = match path.file_name() {
        Some(_) => path.to_owned(),
        None => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
    };
    let name = named
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    match ingest::Format::from_path(&named) {
        Some((_, ext)) if named.is_file() => name[..name.len() - ext].to_owned(),
        _ => name,
    }
}

/// What a run reports as it goes, for a display; the command draws it, nothing here prints.
/// Every method may be called from several threads.
pub trait Progress: Sync {
    /// Reading starts, over files of `bytes` in all.
    fn ingest_started(&self, bytes: u64) {
        let _ = bytes;
    }
    /// A file of `bytes` was read and hashed.
    fn ingested(&self, bytes: u64) {
        let _ = bytes;
    }
    /// Reading is over.
    fn ingest_finished(&self) {}
    /// Mining starts at `difficulty` bits.
    fn mining_started(&self, difficulty: u32) {
        let _ = difficulty;
    }
    /// `hashes` nonces tried so far (about ten times a second).
    fn mining(&self, hashes: u64) {
        let _ = hashes;
    }
    /// Mining is over.
    fn mining_finished(&self) {}
    /// Something the sponsor should know that does not stop the run (damaged leaves in the
    /// store, read again).
    fn warning(&self, text: &str) {
        let _ = text;
    }
}

/// No display.
pub struct NoProgress;

impl Progress for NoProgress {}

/// One report per submission, in id order. `anchored_now`: this run's block height, when it
/// anchors them; else each is at the height that already anchors it unchanged.
fn reports(
    manifests: &[Manifest],
    listings: &[Listing],
    previous: &[Option<stage::Previous>],
    anchored_now: Option<u64>,
) -> Vec<SubmissionReport> {
    let mut out: Vec<SubmissionReport> = manifests
        .iter()
        .zip(listings)
        .zip(previous)
        .map(|((m, listing), prev)| {
            let before = prev.as_ref().map(|p| &p.manifest);
            let change = match before {
                None => Change::New,
                Some(p) if p.submission == m.submission => Change::Unchanged,
                Some(_) => Change::Changed,
            };
            let (items, gone) = stage::changes(m, before);
            SubmissionReport {
                entry: m.submission.clone(),
                bytes: listing.bytes(),
                height: anchored_now
                    .or(prev.as_ref().map(|p| p.height))
                    .unwrap_or(0),
                anchored_now: anchored_now.is_some(),
                change,
                items,
                gone,
                hidden: listing.hidden.clone(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    out
}

/// Notarizes `inputs` into the store: see the module docs.
///
/// # Errors
/// Bad input, a damaged chain, a busy store (without waiting) or I/O errors. On error the store
/// is left exactly as it was.
pub fn notarize(
    inputs: &[Input],
    opts: &NotarizeOptions,
    progress: &dyn Progress,
) -> Result<NotarizeReport, PipelineError> {
    let start = Instant::now();
    let mut ids: Vec<&str> = inputs.iter().map(|i| i.id.as_str()).collect();
    for id in &ids {
        check_id(id)?;
    }
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(PipelineError::Usage(format!(
            "submission id {:?} is given twice; use --id to name each submission",
            w[0]
        )));
    }
    if inputs.is_empty() {
        return Err(PipelineError::Usage("no submission given".into()));
    }
    // Every submission is listed before the store is touched, so a missing path or a stray
    // file fails without side effects. A store inside a submission is not part of it.
    let mut files = Vec::with_capacity(inputs.len());
    for input in inputs {
        files.push(ingest::discover(&input.path, Some(&opts.store))?);
    }
    let store = Store::new(&opts.store);
    loop {
        let created = store.create()?;
        let lock_existed = store.lock_path().exists();
        let lock = match store.lock(true, opts.wait) {
            // Removed by a failed first run while this one waited for its lock: make it again.
            Err(StoreError::NoStore { .. }) => continue,
            lock => lock?,
        };
        let result = notarize_locked(&store, inputs, &files, opts, progress, start);
        if result.is_err() && created {
            // Still under the lock taken right after this run created the directory, so what is
            // in it is this run's; a store that holds a block, or anything else, stays.
            let _ = store.remove_unused();
        } else if result.is_err() && !lock_existed && !store.chain_path().exists() {
            // A folder given as a store, empty but for the lock file this run made: as it was.
            // A run waiting on that file takes the lock again (see `Store::lock`).
            let _ = std::fs::remove_file(store.lock_path());
        }
        drop(lock);
        return result;
    }
}

fn notarize_locked(
    store: &Store,
    inputs: &[Input],
    files: &[Listing],
    opts: &NotarizeOptions,
    progress: &dyn Progress,
    start: Instant,
) -> Result<NotarizeReport, PipelineError> {
    let chain_path = store.chain_path();
    chain_store::check_not_linked(&chain_path)?;
    let chain_len = chain_store::file_len(&chain_path)?;
    let chain = chain_store::read_chain(&chain_path)?;
    chain_store::validate(&chain_path, &chain)?;
    store.remove_leftovers(&chain)?;
    let (secret, new_secret) = store.secret_for(&chain)?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(store.root())
        .map_err(io_err(store.root()))?;

    let bytes = files.iter().map(Listing::bytes).sum();
    let previous = stage::previous(store, &chain, inputs);
    // What the previous anchoring of each submission read of a dataset file of the same name,
    // in the same place and format: reused when the file's bytes are the same.
    let fingerprint = Some(secret.fingerprint());
    let reusable = |s: usize, file: &ingest::SourceFile| {
        let p = previous[s]
            .as_ref()
            .filter(|p| p.manifest.secret == fingerprint)?;
        let d = p.manifest.datasets.iter().find(|d| {
            d.entry.name == file.dataset && d.file == file.relative && d.format == file.format
        })?;
        // Its leaves must still be there, whole (their digest is checked as the file's is, on
        // the cores): else the file is read again.
        let dir = store.root().join("blocks").join(&p.dir).join(&inputs[s].id);
        let path = d.leaves_path(&dir).ok()?;
        let leaves = std::fs::metadata(&path).ok()?;
        (leaves.len() == d.entry.rows.checked_mul(32)?).then_some(())?;
        read::Reusable::of(d, &p.dir, path)
    };
    let read = read::read_all(files, &secret, staging.path(), progress, &reusable)?;
    let (manifests, records) = stage::manifests(inputs, read, &secret)?;
    let unchanged = |i: usize| {
        previous[i]
            .as_ref()
            .is_some_and(|p| p.manifest.submission == manifests[i].submission)
    };
    let report = |block, mining, hashes, checkpoint, submissions| NotarizeReport {
        block,
        submissions,
        records,
        bytes,
        elapsed: start.elapsed(),
        mining,
        hashes,
        checkpoint,
    };
    if (0..manifests.len()).all(unchanged) {
        let submissions = reports(&manifests, files, &previous, None);
        return Ok(report(None, Duration::ZERO, 0, None, submissions));
    }

    let entries = stage::anchor_entries(&manifests);
    let prev = chain.last();
    let template = BlockHeader {
        version: HEADER_VERSION,
        height: chain.len() as u64,
        prev: prev.map(|b| b.hash).unwrap_or_default(),
        anchor_root: SmallTree::new(&entry_leaves(&entries)?).root(),
        // Block times never go backwards, even if the clock does.
        time: chain_store::now().max(prev.map_or(0, |b| b.header.time)),
        difficulty: opts.difficulty,
        nonce: 0,
    };
    crate::crashpoint::hit("ingested");
    let mined = mine::mine_block(&template, progress)?;
    let checkpoint = commit::commit(&commit::Commit {
        store,
        staging: staging.path(),
        manifests: &manifests,
        header: mined.header,
        hash: mined.hash,
        entries: &entries,
        secret: (&secret, new_secret),
        chain_len,
    })?;
    let submissions = reports(&manifests, files, &previous, Some(mined.header.height));
    Ok(report(
        Some((mined.header, mined.hash)),
        mined.elapsed,
        mined.hashes,
        checkpoint,
        submissions,
    ))
}
