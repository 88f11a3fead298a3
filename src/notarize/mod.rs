//! The notarize run: ingest every submission in parallel into a staging area, build the trees,
//! mine one block, then commit (secret, archive, chain append) under the store lock. Any failure
//! before the commit leaves the store exactly as it was.

pub mod mine;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use crate::core::hash::{BlockHash, NodeHash};
use crate::core::header::{BlockHeader, HEADER_VERSION};
use crate::core::record::{DatasetEntry, SubmissionEntry, entry_leaves};
use crate::hashing::lanes::LANES;
use crate::hashing::salt::{Salter, Secret};
use crate::hashing::tree::{RootBuilder, SmallTree, root_of};
use crate::ingest::{self, Batch, IngestError, SourceFile};
use crate::notarize::mine::{MiningProgress, mine};
use crate::store::chain::{self as chain_store, ChainError, StoredBlock, sync_dir};
use crate::store::{
    MANIFEST_FORMAT, MANIFEST_VERSION, Manifest, ManifestDataset, Store, StoreError, io_err,
    write_atomic,
};

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
    /// Show progress bars (only drawn on a terminal).
    pub progress: bool,
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
    /// False when an earlier block already anchored this exact root under this id.
    pub anchored_now: bool,
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

/// The default id of a submission path: its directory or file name (for a file, without the
/// format extension).
pub fn default_id(path: &Path) -> String {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let name = canonical
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    match ingest::Format::from_path(&canonical) {
        Some((_, ext)) if canonical.is_file() => name[..name.len() - ext].to_owned(),
        _ => name,
    }
}

/// One dataset read into the staging area.
struct Ingested {
    entry: DatasetEntry,
    file: SourceFile,
}

/// Reads one file, writing its leaf hashes into `dir` with stem `stem`. Reading and hashing (on
/// all cores) overlap with writing and the root (on their own thread).
fn ingest_file(
    file: &SourceFile,
    secret: &Secret,
    dir: &Path,
    stem: &str,
) -> Result<DatasetEntry, PipelineError> {
    let mut source = ingest::open(&file.path, file.format)?;
    let columns = source.columns().to_vec();
    let salter = Salter::new(secret, &file.dataset);
    let (tx, rx) = std::sync::mpsc::sync_channel::<HashedBatch>(2);
    let root = std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_leaves(dir, stem, rx));
        let read = (|| -> Result<(), PipelineError> {
            let mut first = 0u64;
            let mut batch = Batch::default();
            loop {
                if !source.next_batch(&mut batch)? {
                    return Ok(());
                }
                let leaves = hash_batch(&salter, &batch, first);
                first += batch.len() as u64;
                if tx.send(leaves).is_err() {
                    // The writer stopped on an error, which join reports below.
                    return Ok(());
                }
            }
        })();
        drop(tx);
        // The writer thread returns its own errors; a panic there is a bug worth surfacing.
        let written = writer.join().expect("writer thread panicked");
        read?;
        written
    })?;
    Ok(DatasetEntry {
        name: file.dataset.clone(),
        columns,
        rows: root.len(),
        root: root.root(),
    })
}

/// Height of the subtrees whose roots [`hash_batch`] computes on all cores, leaving the writer
/// thread only the few nodes above them.
const SUBTREE_HEIGHT: u32 = 8;

/// The leaves of one batch and the roots of the aligned perfect subtrees among them.
struct HashedBatch {
    leaves: Vec<NodeHash>,
    /// Leaves before the first whole subtree (the batch need not start at a multiple of its size).
    lead: usize,
    /// Roots of consecutive subtrees of `2^SUBTREE_HEIGHT` leaves from `leaves[lead]` on.
    subtrees: Vec<NodeHash>,
}

/// Salts and hashes every row of a batch on all cores, in row order, with the roots of the
/// aligned subtrees among them.
fn hash_batch(salter: &Salter, batch: &Batch, first: u64) -> HashedBatch {
    let leaves = hash_rows(salter, batch, first);
    let size = 1usize << SUBTREE_HEIGHT;
    let lead = ((first.next_multiple_of(size as u64) - first) as usize).min(leaves.len());
    let mut subtrees = Vec::new();
    leaves[lead..]
        .par_chunks_exact(size)
        .map(root_of)
        .collect_into_vec(&mut subtrees);
    HashedBatch {
        leaves,
        lead,
        subtrees,
    }
}

/// The leaf of every row of a batch, on all cores, in row order.
fn hash_rows(salter: &Salter, batch: &Batch, first: u64) -> Vec<NodeHash> {
    let mut leaves = vec![NodeHash::default(); batch.len()];
    leaves
        .par_chunks_mut(LANES)
        .enumerate()
        .with_min_len(1024 / LANES)
        .for_each(|(k, out)| {
            // A short last group repeats its first row in the spare lanes.
            let index: [usize; LANES] =
                std::array::from_fn(|l| k * LANES + if l < out.len() { l } else { 0 });
            let leaves =
                salter.salted_leaves(index.map(|i| first + i as u64), index.map(|i| batch.row(i)));
            for (o, (_, leaf)) in out.iter_mut().zip(leaves) {
                *o = leaf.into_node();
            }
        });
    leaves
}

/// Writes the leaves file of one dataset from hashed batches, fsyncs it, and returns the
/// dataset's root. The store keeps no values: the data stays in the sponsor's submission, and
/// `prove` re-reads it and checks it against these leaves.
fn write_leaves(
    dir: &Path,
    stem: &str,
    batches: std::sync::mpsc::Receiver<HashedBatch>,
) -> Result<RootBuilder, PipelineError> {
    let path = dir.join(format!("{stem}.leaves"));
    let f = File::create(&path).map_err(io_err(&path))?;
    let mut out = BufWriter::with_capacity(1 << 20, f);
    let mut root = RootBuilder::new();
    for batch in batches {
        let whole = batch.subtrees.len() << SUBTREE_HEIGHT;
        let (lead, rest) = batch.leaves.split_at(batch.lead);
        lead.iter().for_each(|leaf| root.push(*leaf));
        for subtree in &batch.subtrees {
            root.push_subtree(*subtree, SUBTREE_HEIGHT);
        }
        rest[whole..].iter().for_each(|leaf| root.push(*leaf));
        for leaf in &batch.leaves {
            out.write_all(leaf.as_bytes()).map_err(io_err(&path))?;
        }
    }
    let f = out
        .into_inner()
        .map_err(|e| io_err(&path)(e.into_error()))?;
    f.sync_all().map_err(io_err(&path))?;
    Ok(root)
}

/// One report per submission, in id order; `at` gives the height that anchors it and whether
/// this run did.
fn reports(manifests: &[Manifest], at: impl Fn(&Manifest) -> (u64, bool)) -> Vec<SubmissionReport> {
    let mut out: Vec<SubmissionReport> = manifests
        .iter()
        .map(|m| {
            let (height, anchored_now) = at(m);
            SubmissionReport {
                entry: m.submission.clone(),
                bytes: m.datasets.iter().map(|d| d.bytes).sum(),
                height,
                anchored_now,
            }
        })
        .collect();
    out.sort_by(|a, b| a.entry.id.cmp(&b.entry.id));
    out
}

fn progress_bar(show: bool, len: u64, template: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    // ProgressBar::new draws to stderr and hides itself when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Notarizes `inputs` into the store: see the module docs.
///
/// # Errors
/// Bad input, a damaged chain, a busy store (without waiting) or I/O errors. On error the store
/// is left exactly as it was.
pub fn notarize(inputs: &[Input], opts: &NotarizeOptions) -> Result<NotarizeReport, PipelineError> {
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
    // file fails without side effects.
    let mut files = Vec::with_capacity(inputs.len());
    for input in inputs {
        files.push(ingest::discover(&input.path)?);
    }
    let store = Store::new(&opts.store);
    loop {
        let created = create_store_dir(&opts.store)?;
        let lock = match store.lock(true, opts.wait) {
            // Removed by a failed first run while this one waited for its lock: make it again.
            Err(StoreError::NoStore { .. }) => continue,
            lock => lock?,
        };
        let result = notarize_locked(&store, inputs, &files, opts, start);
        if result.is_err() && created {
            // Still under the lock taken right after this run created the directory, so what is
            // in it is this run's; a store that holds a block, or anything else, stays.
            let _ = store.remove_unused();
        }
        drop(lock);
        return result;
    }
}

/// Creates the store directory (mode 0700: it holds the salt secret) and says whether this call
/// made it: decided by an atomic create, so two first runs cannot both believe they did.
fn create_store_dir(path: &Path) -> Result<bool, PipelineError> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
        Err(e) => Err(io_err(path)(e).into()),
    }
}

fn notarize_locked(
    store: &Store,
    inputs: &[Input],
    files: &[Vec<SourceFile>],
    opts: &NotarizeOptions,
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

    // Flatten (submission, file) pairs so every file of every submission is read in parallel.
    let mut jobs = Vec::new();
    for (s, list) in files.iter().enumerate() {
        let dir = staging.path().join(s.to_string());
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        for (d, file) in list.iter().enumerate() {
            jobs.push((s, d, file, dir.clone()));
        }
    }
    let total_bytes: u64 = jobs.iter().map(|j| j.2.bytes).sum();
    let bar = progress_bar(
        opts.progress,
        total_bytes,
        "ingest {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    // Largest files first, so the others fill the cores beside them instead of leaving the
    // largest alone at the end; results go back to job order, which is all the output depends on.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j].2.bytes));
    let mut results: Vec<(usize, Result<Ingested, PipelineError>)> = order
        .par_iter()
        .map(|&j| {
            let (_, d, file, dir) = &jobs[j];
            let ingested = ingest_file(file, &secret, dir, &format!("d{d}")).map(|entry| {
                bar.inc(file.bytes);
                Ingested {
                    entry,
                    file: (*file).clone(),
                }
            });
            (j, ingested)
        })
        .collect();
    results.sort_by_key(|(j, _)| *j);
    let results = results.into_iter().map(|(_, r)| r);
    bar.finish_and_clear();
    // The first error in submission and dataset order, whatever thread hit it first.
    let mut per_submission: Vec<Vec<Ingested>> = files.iter().map(|_| Vec::new()).collect();
    for ((s, ..), r) in jobs.iter().zip(results) {
        per_submission[*s].push(r?);
    }

    let mut records = 0;
    let mut manifests = Vec::new();
    for (input, datasets) in inputs.iter().zip(per_submission) {
        let leaves = entry_leaves(datasets.iter().map(|d| &d.entry))?;
        let rows: u64 = datasets.iter().map(|d| d.entry.rows).sum();
        records += rows;
        let entry = SubmissionEntry {
            id: input.id.clone(),
            root: SmallTree::new(&leaves).root(),
            records: rows,
            datasets: datasets.len() as u64,
        };
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            submission: entry,
            secret: Some(secret.fingerprint()),
            // Absolute, so `prove` finds the data from any working directory.
            source: std::fs::canonicalize(&input.path)
                .unwrap_or_else(|_| input.path.clone())
                .display()
                .to_string(),
            datasets: datasets
                .into_iter()
                .enumerate()
                .map(|(k, d)| ManifestDataset {
                    entry: d.entry,
                    file: d.file.relative,
                    format: d.file.format,
                    bytes: d.file.bytes,
                    stem: format!("d{k}"),
                })
                .collect(),
        };
        manifests.push(manifest);
    }

    // The latest anchoring of each id, to recognize a rerun of unchanged data.
    let mut latest: BTreeMap<&str, (&SubmissionEntry, u64)> = BTreeMap::new();
    for b in &chain {
        for s in &b.submissions {
            latest.insert(s.id.as_str(), (s, b.header.height));
        }
    }
    let unchanged = |m: &Manifest| {
        latest
            .get(m.submission.id.as_str())
            .filter(|(e, _)| **e == m.submission)
            .map(|(_, h)| *h)
    };
    let bytes = total_bytes;
    if manifests.iter().all(|m| unchanged(m).is_some()) {
        let submissions = reports(&manifests, |m| (unchanged(m).unwrap_or_default(), false));
        return Ok(NotarizeReport {
            block: None,
            submissions,
            records,
            bytes,
            elapsed: start.elapsed(),
            mining: Duration::ZERO,
            hashes: 0,
            checkpoint: None,
        });
    }

    // Anchor tree: submission entries sorted by id.
    let mut order: Vec<usize> = (0..manifests.len()).collect();
    order.sort_by(|&a, &b| manifests[a].submission.id.cmp(&manifests[b].submission.id));
    let entries: Vec<SubmissionEntry> = order
        .iter()
        .map(|&i| manifests[i].submission.clone())
        .collect();
    let anchor_leaves = entry_leaves(&entries)?;
    let prev: Option<&StoredBlock> = chain.last();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let template = BlockHeader {
        version: HEADER_VERSION,
        height: chain.len() as u64,
        prev: prev.map(|b| b.hash).unwrap_or_default(),
        anchor_root: SmallTree::new(&anchor_leaves).root(),
        // Block times never go backwards, even if the clock does.
        time: now.max(prev.map_or(0, |b| b.header.time)),
        difficulty: opts.difficulty,
        nonce: 0,
    };
    crate::crashpoint::hit("ingested");
    let mining_start = Instant::now();
    let progress = MiningProgress::default();
    let (header, hash) = std::thread::scope(|scope| {
        let show = opts.progress;
        let progress = &progress;
        // Dropping `stop` wakes the display at once: a run never waits out its refresh interval.
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        scope.spawn(move || {
            let bar = progress_bar(show, 0, "mine  {spinner} {msg}");
            let t = Instant::now();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(100))
            {
                let n = progress.hashes.load(std::sync::atomic::Ordering::Relaxed);
                let rate = n as f64 / t.elapsed().as_secs_f64().max(1e-9) / 1e6;
                bar.set_message(format!("{n} hashes, {rate:.2} MH/s"));
                bar.tick();
            }
            bar.finish_and_clear();
        });
        let found = mine(&template, progress);
        drop(stop);
        found
    })
    .ok_or_else(|| {
        PipelineError::Usage("no nonce meets this difficulty; lower --difficulty".into())
    })?;
    let mining = mining_start.elapsed();

    // Commit: secret, archive, then the chain entry, each durable before the next. A crash
    // before the chain append leaves an unreferenced archive directory and no block.
    let entry_bytes = chain_store::encode_entry(&header, &entries)
        .map_err(|e| PipelineError::Usage(e.to_string()))?;
    if new_secret {
        store.save_secret(&secret)?;
    }
    crate::crashpoint::hit("secret-saved");
    let block_dir = store.block_dir(header.height, &hash);
    if block_dir.exists() {
        // Left by a run that crashed before its append: nothing in the chain refers to it.
        std::fs::remove_dir_all(&block_dir).map_err(io_err(&block_dir))?;
    }
    std::fs::create_dir_all(&block_dir).map_err(io_err(&block_dir))?;
    for (s, m) in manifests.iter().enumerate() {
        let staged = staging.path().join(s.to_string());
        let manifest_path = staged.join("manifest.json");
        // Plain data serializes without error.
        let json = serde_json::to_vec_pretty(m).expect("manifest serializes");
        write_atomic(&manifest_path, &json, 0o600)?;
        let target = block_dir.join(&m.submission.id);
        std::fs::rename(&staged, &target).map_err(io_err(&target))?;
        crate::crashpoint::hit("mid-archive");
    }
    sync_dir(&block_dir).map_err(io_err(&block_dir))?;
    if let Some(parent) = block_dir.parent() {
        sync_dir(parent).map_err(io_err(parent))?;
    }
    crate::crashpoint::hit("archived");
    chain_store::append(&chain_path, &entry_bytes, chain_len, header.height)?;
    crate::crashpoint::hit("appended");
    // The block is committed; a checkpoint is a signed statement about it, written after. A crash
    // here leaves the tip unsigned until `trialnotary checkpoint` signs it.
    let checkpoint = store
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
        })?;

    let submissions = reports(&manifests, |_| (header.height, true));
    Ok(NotarizeReport {
        block: Some((header, hash)),
        submissions,
        records,
        bytes,
        elapsed: start.elapsed(),
        mining,
        hashes: progress.hashes.load(std::sync::atomic::Ordering::Relaxed),
        checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches that start off the subtree grid, pushed as subtrees by the writer, give the root
    /// and the leaves file of hashing every row one by one.
    #[test]
    fn batches_hashed_in_subtrees_give_the_row_by_row_root() {
        let secret = Secret::from_hex(&"44".repeat(32)).unwrap();
        let salter = Salter::new(&secret, "lb");
        let sizes = [37usize, 1000, 256, 3, 700];
        let mut batches = Vec::new();
        let mut want = Vec::new();
        let mut first = 0u64;
        for n in sizes {
            let mut batch = Batch::default();
            for i in 0..n {
                let row = format!("[\"{}\",\"{}\"]", first + i as u64, "v".repeat(i % 90));
                batch.buf.extend_from_slice(row.as_bytes());
                batch.end_row();
                want.push(
                    salter
                        .salted_leaf(first + i as u64, row.as_bytes())
                        .1
                        .into_node(),
                );
            }
            batches.push(hash_batch(&salter, &batch, first));
            first += n as u64;
        }
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(batches.len());
        batches.into_iter().for_each(|b| tx.send(b).unwrap());
        drop(tx);
        let root = write_leaves(dir.path(), "lb", rx).unwrap();
        assert_eq!(root.len(), want.len() as u64);
        assert_eq!(root.root(), root_of(&want));
        let file = std::fs::read(dir.path().join("lb.leaves")).unwrap();
        assert_eq!(
            file,
            want.iter().flat_map(|l| *l.as_bytes()).collect::<Vec<u8>>()
        );
    }
}
