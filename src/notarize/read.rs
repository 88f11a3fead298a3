//! Reading and hashing: every dataset file of every submission read in parallel (largest first),
//! each file's rows salted and hashed on all cores while another thread writes its leaves file
//! into the staging area and builds its root. A file whose bytes have the digest of the file
//! the previous anchoring of its submission read (under the same canonical rules) is not read
//! again: its entry and the earlier block's leaves are reused.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{PipelineError, Progress};
use crate::core::hash::NodeHash;
use crate::core::record::{DatasetEntry, DocumentEntry};
use crate::hashing::lanes::LANES;
use crate::hashing::salt::{Salter, Secret};
use crate::hashing::tree::{RootBuilder, root_of};
use crate::ingest::{self, Batch, DocumentFile, Listing, SourceFile, document};
use crate::store::{ManifestDataset, io_err};

/// What was read of one submission.
pub(super) struct Read {
    /// Its datasets, in name order.
    pub datasets: Vec<Ingested>,
    /// Its documents, in path order.
    pub documents: Vec<DocumentEntry>,
}

/// One file to read: a dataset (written to `staging/<submission>/d<k>.leaves`, unless it can
/// reuse an earlier block's) or a document.
enum Job<'a> {
    Dataset(&'a SourceFile, PathBuf, String, Option<Box<Reusable>>),
    Document(&'a DocumentFile),
}

/// What the previous anchoring of a submission read of one dataset, usable when the file's
/// digest is the same.
#[derive(Clone, Debug)]
pub(super) struct Reusable {
    digest: String,
    entry: DatasetEntry,
    stem: String,
    /// The block directory that holds its leaves.
    leaves_in: String,
    /// The leaves file, and the digest it had when written.
    leaves: PathBuf,
    leaves_digest: String,
}

impl Reusable {
    /// The dataset `d` of the manifest in block directory `block` (its name under `blocks/`),
    /// whose leaves file is `leaves`, when it recorded the digests of its file and of its leaves
    /// (a manifest before version 6 did not: its datasets are read again once) under today's
    /// canonical rules.
    pub(super) fn of(d: &ManifestDataset, block: &str, leaves: PathBuf) -> Option<Self> {
        (d.canonical == Some(ingest::CANONICAL_RULES)).then_some(())?;
        Some(Self {
            digest: d.digest.clone()?,
            entry: d.entry.clone(),
            stem: d.stem.clone(),
            leaves_in: d.leaves_in.clone().unwrap_or_else(|| block.to_owned()),
            leaves,
            leaves_digest: d.leaves_digest.clone()?,
        })
    }

    /// Why its leaves file cannot be reused, if it cannot: unreadable, or not the bytes that
    /// were written.
    fn damaged(&self) -> Option<String> {
        let what = || format!("the stored leaf hashes {}", self.leaves.display());
        let mut hasher = blake3::Hasher::new();
        let read = File::open(&self.leaves).and_then(|f| hasher.update_reader(f).map(|_| ()));
        match read {
            Err(e) => Some(format!("{} cannot be read ({e})", what())),
            Ok(_) if digest_text(&hasher) != self.leaves_digest => Some(format!(
                "{} are damaged (not the digest they were written with)",
                what()
            )),
            Ok(_) => None,
        }
    }
}

/// What a job gave.
enum Done {
    Dataset(Box<Ingested>),
    Document(DocumentEntry),
}

/// Reads every dataset and document of every submission, datasets into
/// `staging/<submission index>/d<k>.leaves`. Files are read in parallel, the largest first so
/// that the others fill the cores beside it; the first error in submission and file order is
/// returned, whatever thread hit it first. `reusable(s, d)` is what the previous anchoring of
/// submission `s` read of dataset file `d`, if anything.
///
/// # Errors
/// Bad input or I/O errors.
pub(super) fn read_all(
    listings: &[Listing],
    secret: &Secret,
    staging: &Path,
    progress: &dyn Progress,
    reusable: &dyn Fn(usize, &SourceFile) -> Option<Reusable>,
) -> Result<Vec<Read>, PipelineError> {
    // Flatten (submission, file) pairs so every file of every submission is read in parallel.
    let mut jobs: Vec<(usize, u64, Job<'_>)> = Vec::new();
    for (s, listing) in listings.iter().enumerate() {
        let dir = staging.join(s.to_string());
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        for (d, file) in listing.datasets.iter().enumerate() {
            jobs.push((
                s,
                file.bytes,
                Job::Dataset(
                    file,
                    dir.clone(),
                    format!("d{d}"),
                    reusable(s, file).map(Box::new),
                ),
            ));
        }
        for doc in &listing.documents {
            jobs.push((s, doc.bytes, Job::Document(doc)));
        }
    }
    progress.ingest_started(jobs.iter().map(|j| j.1).sum());
    // Results go back to job order, which is all the output depends on.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j].1));
    let mut results: Vec<(usize, Result<Done, PipelineError>)> = order
        .par_iter()
        .map(|&j| {
            let done = match &jobs[j].2 {
                Job::Dataset(file, dir, stem, reuse) => {
                    ingest_file(file, secret, dir, stem, reuse.as_deref(), progress).map(
                        |ingested| {
                            progress.ingested(file.bytes);
                            Done::Dataset(Box::new(ingested))
                        },
                    )
                }
                Job::Document(doc) => document::hash(doc, &|n| progress.ingested(n))
                    .map(Done::Document)
                    .map_err(PipelineError::from),
            };
            (j, done)
        })
        .collect();
    results.sort_by_key(|(j, _)| *j);
    progress.ingest_finished();
    let mut read: Vec<Read> = listings
        .iter()
        .map(|_| Read {
            datasets: Vec::new(),
            documents: Vec::new(),
        })
        .collect();
    for ((s, ..), (_, r)) in jobs.iter().zip(results) {
        match r? {
            Done::Dataset(d) => read[*s].datasets.push(*d),
            Done::Document(d) => read[*s].documents.push(d),
        }
    }
    Ok(read)
}

/// One dataset read into the staging area, or reused.
pub(super) struct Ingested {
    pub(super) entry: DatasetEntry,
    pub(super) file: SourceFile,
    /// BLAKE3 of the file's bytes.
    pub(super) digest: String,
    /// When not read again: the stem of its leaves and the block directory holding them.
    pub(super) reused: Option<(String, String)>,
    /// BLAKE3 of its leaves file.
    pub(super) leaves_digest: String,
}

/// A BLAKE3 digest as the manifest writes it.
fn digest_text(hasher: &blake3::Hasher) -> String {
    format!("blake3:{}", hasher.finalize().to_hex())
}

/// Reads one file, writing its leaf hashes into `dir` with stem `stem`. Reading and hashing (on
/// all cores) overlap with writing and the root (on their own thread). When the file's digest is
/// `reuse`'s, nothing more is read and nothing is written: the earlier entry and leaves stand.
fn ingest_file(
    file: &SourceFile,
    secret: &Secret,
    dir: &Path,
    stem: &str,
    reuse: Option<&Reusable>,
    progress: &dyn Progress,
) -> Result<Ingested, PipelineError> {
    let mut opened = ingest::DatasetFile::open(&file.path)?;
    // With an earlier reading to compare with, the digest decides first; else the file is read
    // once, digested as it is read where its format allows.
    let (mut source, digest) = match reuse {
        Some(r) => {
            let digest = opened.digest()?;
            if digest == r.digest {
                match r.damaged() {
                    None => {
                        return Ok(Ingested {
                            entry: r.entry.clone(),
                            file: file.clone(),
                            digest,
                            reused: Some((r.stem.clone(), r.leaves_in.clone())),
                            leaves_digest: r.leaves_digest.clone(),
                        });
                    }
                    // Read again, into fresh leaves; earlier blocks keep the damaged ones.
                    Some(why) => {
                        progress.warning(&format!("{why}: {} is read again", file.path.display()))
                    }
                }
            }
            let ready = ingest::FileDigest::default();
            let _ = ready.set(digest);
            (opened.rows(file.format)?, ready)
        }
        None => opened.rows_and_digest(file.format)?,
    };
    let columns = source.columns().to_vec();
    let salter = Salter::new(secret, &file.dataset);
    let (tx, rx) = std::sync::mpsc::sync_channel::<HashedBatch>(2);
    let (root, leaves_digest) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_leaves(dir, stem, rx));
        let read = (|| -> Result<(), PipelineError> {
            let mut first = 0u64;
            let (mut batch, mut next) = (Batch::default(), Batch::default());
            if !source.next_batch(&mut batch)? {
                return Ok(());
            }
            loop {
                // The next batch is read while this one is hashed: each stage's serial steps
                // (a reader's joins and copies, the end of a hashing pass) leave the other
                // cores to the other stage rather than idle.
                let (more, leaves) = rayon::join(
                    || source.next_batch(&mut next),
                    || hash_batch(&salter, &batch, first),
                );
                first += batch.len() as u64;
                if tx.send(leaves).is_err() {
                    // The writer stopped on an error, which join reports below.
                    return Ok(());
                }
                if !more? {
                    return Ok(());
                }
                std::mem::swap(&mut batch, &mut next);
            }
        })();
        drop(tx);
        // The writer thread returns its own errors; a panic there is a bug worth surfacing.
        let written = writer.join().expect("writer thread panicked");
        read?;
        written
    })?;
    Ok(Ingested {
        entry: DatasetEntry {
            name: file.dataset.clone(),
            columns,
            rows: root.len(),
            root: root.root(),
        },
        file: file.clone(),
        // Set once the rows ran out, which they did (the reader's end was reached above).
        digest: digest.get().cloned().ok_or_else(|| {
            ingest::IngestError::file(&file.path, "internal: the file's digest was not completed")
        })?,
        reused: None,
        leaves_digest,
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

/// Bytes of the leaves file written at a time, at most.
const WRITE_PIECE: usize = 1 << 20;

/// Writes the leaves file of one dataset from hashed batches, fsyncs it, and returns the
/// dataset's root and the file's digest. The store keeps no values: the data stays in the
/// sponsor's submission, and `prove` re-reads it and checks it against these leaves.
fn write_leaves(
    dir: &Path,
    stem: &str,
    batches: std::sync::mpsc::Receiver<HashedBatch>,
) -> Result<(RootBuilder, String), PipelineError> {
    let path = dir.join(format!("{stem}.leaves"));
    let f = File::create(&path).map_err(io_err(&path))?;
    let mut out = BufWriter::with_capacity(WRITE_PIECE, f);
    let mut root = RootBuilder::new();
    let mut digest = blake3::Hasher::new();
    let mut bytes = Vec::new();
    for batch in batches {
        let whole = batch.subtrees.len() << SUBTREE_HEIGHT;
        let (lead, rest) = batch.leaves.split_at(batch.lead);
        lead.iter().for_each(|leaf| root.push(*leaf));
        for subtree in &batch.subtrees {
            root.push_subtree(*subtree, SUBTREE_HEIGHT);
        }
        rest[whole..].iter().for_each(|leaf| root.push(*leaf));
        bytes.clear();
        batch
            .leaves
            .iter()
            .for_each(|leaf| bytes.extend_from_slice(leaf.as_bytes()));
        digest.update(&bytes);
        // At most 1 MiB a write (a whole piece goes past the buffer, uncopied): 2 MiB writes
        // into the page cache measured slower by the byte (strace -c, XPT study: 0.88-1.21 s
        // of writes against 0.56 s).
        for piece in bytes.chunks(WRITE_PIECE) {
            out.write_all(piece).map_err(io_err(&path))?;
        }
    }
    let f = out
        .into_inner()
        .map_err(|e| io_err(&path)(e.into_error()))?;
    f.sync_all().map_err(io_err(&path))?;
    Ok((root, digest_text(&digest)))
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
            // Rows from the fourth on in a part of their own, as a reader on several cores
            // hands them over.
            if n > 4 {
                let mut part = Batch::default();
                for i in 3..n {
                    part.buf.extend_from_slice(batch.row(i));
                    part.end_row();
                }
                batch.ends.truncate(3);
                batch.discard_partial();
                batch.parts.push(part);
            }
            batches.push(hash_batch(&salter, &batch, first));
            first += n as u64;
        }
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(batches.len());
        batches.into_iter().for_each(|b| tx.send(b).unwrap());
        drop(tx);
        let (root, digest) = write_leaves(dir.path(), "lb", rx).unwrap();
        assert_eq!(root.len(), want.len() as u64);
        assert_eq!(root.root(), root_of(&want));
        let file = std::fs::read(dir.path().join("lb.leaves")).unwrap();
        assert_eq!(digest, format!("blake3:{}", blake3::hash(&file).to_hex()));
        assert_eq!(
            file,
            want.iter().flat_map(|l| *l.as_bytes()).collect::<Vec<u8>>()
        );
    }
}
