//! Building proofs: finds the block that anchored a submission (the latest, or one at a height or
//! a time), rebuilds the trees from the stored entries and leaf hashes, re-reads what a proof
//! discloses from the submission's data (the store keeps no values), checks it against what was
//! notarized and derives the disclosed salts. Proves a submission, a document, a dataset or rows.

use std::path::{Path, PathBuf};

use crate::core::proof::{
    BlockInfo, PROOF_FORMAT, PROOF_VERSION, Proof, ProofKind, RecordClaim, Step, TreeKind,
};
use crate::core::record::entry_leaves;
use crate::hashing::salt::{Salter, Secret};
use crate::hashing::tree::{SmallTree, Tree};
use crate::ingest::{self, Batch, IngestError};
use crate::notarize::PipelineError;
use crate::store::chain::{self as chain_store, StoredBlock};
use crate::store::{self, Item, Manifest, ManifestDataset, Store, StoreError};

/// Which anchoring of a submission to prove from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The latest block that anchors it.
    Latest,
    /// The block at this height (it must anchor the submission).
    Height(u64),
    /// The latest block anchoring it whose time is at or before this (seconds since the epoch):
    /// the data as it stood then.
    Time(u64),
}

/// A submission's anchoring, opened once: the block, its manifest of the submission, the salt
/// secret and the small trees. It proves the submission itself and its documents, and opens its
/// datasets for record and dataset proofs.
pub struct SubmissionProver {
    dir: PathBuf,
    manifest: Manifest,
    block: StoredBlock,
    secret: Secret,
    /// The submission tree (datasets and documents), and which item each leaf is.
    tree: SmallTree,
    items: Vec<Item>,
    block_step: Step,
    checkpoint: Option<String>,
}

/// Everything needed to prove rows of one dataset: loaded once, then any number of proofs.
pub struct DatasetProver {
    sub: SubmissionProver,
    dataset: usize,
    salter: Salter,
    submission_step: Step,
    tree: Option<Tree>,
    data: PathBuf,
    format: ingest::Format,
    /// The `--data` the user gave, if any: named when the dataset is not found there.
    given: Option<PathBuf>,
    /// Called with the rows read so far, after each batch: the command draws it.
    progress: Box<dyn Fn(u64)>,
}

/// What to add to an error reading an item's file at `file`: when it is missing, where it was
/// looked for, and how to point elsewhere.
fn not_found_hint(file: &Path, given: Option<&Path>, source: &str, what: &str) -> String {
    if file.exists() {
        return String::new();
    }
    match given {
        Some(dir) => format!(
            " (looked for {what} under --data {}: no such file there)",
            dir.display()
        ),
        None => format!(
            " (the submission was notarized from {source}; give --data to read it elsewhere)"
        ),
    }
}

/// The directory (or, for a one-file submission, the file) the data is read from: `data`, or
/// where the submission was notarized.
fn base(manifest: &Manifest, data: Option<&Path>) -> PathBuf {
    data.map_or_else(|| PathBuf::from(&manifest.source), Path::to_path_buf)
}

/// Where to read dataset `d` of `manifest`, and in which format: `base` (the submission as
/// notarized, or `--data`) when it is a file or the one-file submission's gone file; else, in the
/// directory `base`, the file it was notarized from or the same dataset in another format (the
/// root does not depend on the format).
fn locate(base: PathBuf, manifest: &Manifest, d: &ManifestDataset) -> (PathBuf, ingest::Format) {
    // A one-file submission was notarized from the file itself; tell it from a directory even
    // when it is gone, so the error names the dataset file.
    let one_file = manifest.datasets.len() + manifest.documents.len() == 1
        && Path::new(&manifest.source).file_name() == Some(std::ffi::OsStr::new(&d.file));
    if base.is_file() || (one_file && !base.is_dir()) {
        let format = ingest::Format::from_path(&base).map_or(d.format, |(f, _)| f);
        return (base, format);
    }
    let notarized = base.join(&d.file);
    if notarized.is_file() {
        return (notarized, d.format);
    }
    ingest::EXTENSIONS
        .iter()
        .map(|(ext, format)| (base.join(format!("{}{ext}", d.entry.name)), *format))
        .find(|(path, _)| path.is_file())
        .unwrap_or((notarized, d.format))
}

/// The step proving row `index` of a dataset's tree.
fn step(tree: TreeKind, t: &Tree, index: u64) -> Step {
    // Every caller passes the index of one of the tree's own leaves: a row already checked
    // against the dataset's row count, which is the tree's size.
    Step {
        tree,
        leaf_hash: t.leaves()[index as usize],
        leaf_index: index,
        tree_size: t.len(),
        audit_path: t.audit_path(index).expect("index within tree"),
        root: t.root(),
    }
}

/// The step proving entry `index` of a small tree (a submission's datasets, a block's
/// submissions), built by rs_merkle.
fn small_step(tree: TreeKind, t: &SmallTree, index: u64) -> Step {
    // Every caller passes a position found in the tree's own entries.
    let (leaf_hash, audit_path) = t.leaf_and_path(index).expect("index within tree");
    Step {
        tree,
        leaf_hash,
        leaf_index: index,
        tree_size: t.len(),
        audit_path,
        root: t.root(),
    }
}

fn damaged(path: PathBuf, detail: impl Into<String>) -> PipelineError {
    PipelineError::Store(StoreError::Damaged {
        path,
        detail: detail.into(),
    })
}

impl SubmissionProver {
    /// Opens the anchoring of `submission` in `store` that `at` selects.
    ///
    /// # Errors
    /// Unknown submission (listing what exists), no anchoring at `at` (listing the heights that
    /// anchor it), a missing or wrong salt secret, a damaged chain or store.
    pub fn open(store: &Store, submission: &str, at: At) -> Result<Self, PipelineError> {
        let _lock = store.lock(false, true)?;
        let chain_path = store.chain_path();
        let chain = chain_store::read_chain(&chain_path)?;
        chain_store::validate(&chain_path, &chain)?;
        let anchoring: Vec<&StoredBlock> = chain
            .iter()
            .filter(|b| b.submissions.iter().any(|s| s.id == submission))
            .collect();
        let found = match at {
            At::Latest => anchoring.last(),
            At::Height(h) => anchoring.iter().find(|b| b.header.height == h),
            At::Time(t) => anchoring.iter().rev().find(|b| b.header.time <= t),
        };
        if found.is_none() && !anchoring.is_empty() {
            let heights: Vec<String> = anchoring
                .iter()
                .map(|b| format!("{} (time {})", b.header.height, b.header.time))
                .collect();
            return Err(PipelineError::Usage(format!(
                "no block {} anchors submission {submission:?}; the blocks that anchor it are at \
                 heights {}",
                match at {
                    At::Latest => String::new(),
                    At::Height(h) => format!("at height {h}"),
                    At::Time(t) => format!("at or before time {t}"),
                },
                heights.join(", ")
            )));
        }
        let block = found.map(|b| (*b).clone()).ok_or_else(|| {
            let mut ids: Vec<&str> = chain
                .iter()
                .flat_map(|b| b.submissions.iter().map(|s| s.id.as_str()))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            PipelineError::Usage(format!(
                "submission {submission:?} is not in the chain of {} (known: {})",
                store.root().display(),
                if ids.is_empty() {
                    "none".to_owned()
                } else {
                    ids.join(", ")
                }
            ))
        })?;
        let block_dir = store.block_dir(block.header.height, &block.hash);
        let manifest = store.manifest(&block_dir, submission)?;
        let position = block
            .submissions
            .iter()
            .position(|s| s.id == submission)
            .unwrap_or(0);
        if block.submissions[position] != manifest.submission {
            return Err(damaged(
                block_dir.join(submission),
                "manifest disagrees with the chain",
            ));
        }
        let secret = store
            .load_secret()?
            .ok_or_else(|| StoreError::SecretMissing {
                path: store.secret_path(),
                blocks: chain.len() as u64,
                fingerprint: manifest.secret.clone(),
            })?;
        // A wrong secret would make every row look changed: say what is wrong instead.
        if let Some(expected) = &manifest.secret
            && *expected != secret.fingerprint()
        {
            return Err(StoreError::WrongSecret {
                path: store.secret_path(),
                height: block.header.height,
                expected: expected.clone(),
                found: secret.fingerprint(),
            }
            .into());
        }

        let (items, leaves): (Vec<Item>, Vec<_>) = manifest.tree()?.into_iter().unzip();
        let tree = SmallTree::new(&leaves);
        if tree.root() != manifest.submission.root {
            return Err(damaged(
                block_dir.join(submission),
                "dataset and document entries do not give the submission root",
            ));
        }
        let anchor_tree = SmallTree::new(&entry_leaves(&block.submissions)?);
        Ok(Self {
            checkpoint: store.checkpoint(block.header.height)?,
            dir: block_dir.join(submission),
            block_step: small_step(TreeKind::Block, &anchor_tree, position as u64),
            tree,
            items,
            manifest,
            block,
            secret,
        })
    }

    /// Attaches `note` (a signed checkpoint, perhaps cosigned) to the proofs made from now on,
    /// instead of the one the store keeps for the block.
    pub fn set_checkpoint(&mut self, note: String) {
        self.checkpoint = Some(note);
    }

    fn block_info(&self) -> BlockInfo {
        BlockInfo {
            height: self.block.header.height,
            hash: self.block.hash,
            header: hex::encode(self.block.header.to_bytes()),
            fields: self.block.header,
        }
    }

    /// A proof of `kind` with `steps`; every other field empty.
    fn proof(&self, kind: ProofKind, steps: Vec<Step>) -> Proof {
        Proof {
            format: PROOF_FORMAT.into(),
            version: PROOF_VERSION,
            kind,
            record: None,
            dataset: None,
            document: None,
            salts: None,
            leaves: None,
            submission: self.manifest.submission.clone(),
            steps,
            block: self.block_info(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    /// The step of an item in the submission tree.
    fn item_step(&self, item: Item) -> Step {
        // Every item of the manifest is a leaf of the tree built from it.
        let index = self.items.iter().position(|i| *i == item).unwrap_or(0);
        small_step(TreeKind::Submission, &self.tree, index as u64)
    }

    /// The proof of the whole submission: its entry in the block.
    pub fn submission_proof(&self) -> Proof {
        self.proof(ProofKind::Submission, vec![self.block_step.clone()])
    }

    /// The path of the document `path` names: itself, or the one path it ends (see `resolve`).
    ///
    /// # Errors
    /// No such document, or several.
    pub fn document_path(&self, path: &str) -> Result<&str, PipelineError> {
        let m = &self.manifest;
        let names: Vec<&str> = m.documents.iter().map(|d| d.path.as_str()).collect();
        Ok(names[resolve(&names, path, "document", &m.submission.id)?])
    }

    /// The proof of the document at `path` (relative to the submission), after checking that
    /// the file read from `data` (or where the submission was notarized) is still the one
    /// notarized.
    ///
    /// # Errors
    /// An unknown document (listing the documents), a file that changed since, a read error.
    pub fn document_proof(&self, path: &str, data: Option<&Path>) -> Result<Proof, PipelineError> {
        let m = &self.manifest;
        let names: Vec<&str> = m.documents.iter().map(|d| d.path.as_str()).collect();
        let k = resolve(&names, path, "document", &m.submission.id)?;
        let path = names[k];
        let doc = &m.documents[k];
        let base = base(m, data);
        let file = if base.is_file() {
            base
        } else {
            base.join(path)
        };
        let listed = ingest::DocumentFile {
            path: file.clone(),
            relative: path.to_owned(),
            bytes: 0,
        };
        let read = ingest::document::hash(&listed, &|_| {}).map_err(|e| {
            let hint = not_found_hint(&file, data, &m.source, &format!("the document {path}"));
            PipelineError::Ingest(IngestError {
                message: format!("{}{hint}", e.message),
                ..e
            })
        })?;
        if read != *doc {
            return Err(IngestError::file(
                &file,
                format!(
                    "differs from the document notarized in block {} ({} bytes, SHA-256 {}; the \
                     file has {} bytes, SHA-256 {}): it changed since",
                    self.block.header.height, doc.bytes, doc.sha256, read.bytes, read.sha256
                ),
            )
            .into());
        }
        let steps = vec![self.item_step(Item::Document(k)), self.block_step.clone()];
        let mut proof = self.proof(ProofKind::Document, steps);
        proof.document = Some(doc.clone());
        Ok(proof)
    }

    /// Opens dataset `name` for record and dataset proofs, its rows read from `data` (the
    /// submission directory or file as it was then) or from where they were notarized.
    ///
    /// # Errors
    /// An unknown dataset, listing the datasets.
    pub fn dataset(self, name: &str, data: Option<&Path>) -> Result<DatasetProver, PipelineError> {
        let m = &self.manifest;
        let names: Vec<&str> = m.datasets.iter().map(|d| d.entry.name.as_str()).collect();
        let index = resolve(&names, name, "dataset", &m.submission.id)?;
        let name = names[index].to_owned();
        let given = data;
        let (data, format) = locate(base(m, data), m, &m.datasets[index]);
        Ok(DatasetProver {
            salter: Salter::new(&self.secret, &name),
            submission_step: self.item_step(Item::Dataset(index)),
            sub: self,
            dataset: index,
            tree: None,
            data,
            format,
            given: given.map(Path::to_path_buf),
            progress: Box::new(|_| {}),
        })
    }
}

/// The item `wanted` names among `names`: the one equal to it, or else the one it ends, whole
/// path components (`lb` or `sdtm/lb` for `m5/datasets/s1/tabulations/sdtm/lb`), so that users
/// need not type the eCTD folders. Several matches are an error listing them, never a guess.
fn resolve(names: &[&str], wanted: &str, what: &str, id: &str) -> Result<usize, PipelineError> {
    if let Some(i) = names.iter().position(|n| *n == wanted) {
        return Ok(i);
    }
    let tail = format!("/{wanted}");
    let found: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].ends_with(&tail))
        .collect();
    match found[..] {
        [i] => Ok(i),
        [] => Err(PipelineError::Usage(format!(
            "{what} {wanted:?} is not in submission {id:?} ({what}s: {})",
            list(names)
        ))),
        _ => {
            let found: Vec<&str> = found.iter().map(|&i| names[i]).collect();
            Err(PipelineError::Usage(format!(
                "{what} {wanted:?} is ambiguous in submission {id:?}: it ends {}; give more of \
                 the path",
                found.join(" and ")
            )))
        }
    }
}

/// Names for a message, or "none".
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl DatasetProver {
    /// Calls `progress` with the number of rows read so far as rows are read (proofs of every
    /// row, dataset proofs with salts, which read the whole dataset).
    pub fn set_progress(&mut self, progress: impl Fn(u64) + 'static) {
        self.progress = Box::new(progress);
    }

    fn dataset(&self) -> &ManifestDataset {
        &self.sub.manifest.datasets[self.dataset]
    }

    /// The dataset's full name in the submission.
    pub fn name(&self) -> &str {
        &self.dataset().entry.name
    }

    /// Number of rows in the dataset.
    pub fn rows(&self) -> u64 {
        self.dataset().entry.rows
    }

    fn record_tree(&mut self) -> Result<&Tree, PipelineError> {
        if self.tree.is_none() {
            let leaves = store::read_leaves(&self.sub.dir, self.dataset())?;
            let tree = Tree::new(leaves);
            if tree.root() != self.dataset().entry.root {
                return Err(damaged(
                    self.sub.dir.clone(),
                    "stored leaves do not give the dataset root",
                ));
            }
            self.tree = Some(tree);
        }
        // Filled just above.
        Ok(self.tree.as_ref().expect("tree built"))
    }

    /// The dataset step of `row` without building the tree: its path from subtree roots
    /// streamed off the leaves file, in O(log n) memory.
    fn streamed_step(&self, row: u64) -> Result<Step, PipelineError> {
        let d = self.dataset();
        let size = d.entry.rows;
        let path = crate::hashing::tree::audit_path_with(row, size, |a, b| {
            store::leaves_root(&self.sub.dir, d, a, b)
        })?
        .ok_or_else(|| PipelineError::Usage(format!("row {row} is out of range")))?;
        Ok(Step {
            tree: TreeKind::Dataset,
            leaf_hash: store::leaves_root(&self.sub.dir, d, row, row + 1)?,
            leaf_index: row,
            tree_size: size,
            audit_path: path,
            root: d.entry.root,
        })
    }

    /// A record proof for `row` whose canonical values array is `values` (as read). Without
    /// `tree`, the path is computed without building the dataset's tree (one proof); with it,
    /// from the tree built once (every row).
    fn record_proof_from(
        &self,
        row: u64,
        values: &[u8],
        tree: Option<&Tree>,
    ) -> Result<Proof, PipelineError> {
        let (salt, leaf) = self.salter.salted_leaf(row, values);
        let row_step = match tree {
            None => self.streamed_step(row)?,
            Some(t) => step(TreeKind::Dataset, t, row),
        };
        // The streamed path is checked against the stored root, as the built tree is.
        if crate::core::verify::verify_inclusion(
            &row_step.leaf_hash,
            row,
            row_step.tree_size,
            &row_step.audit_path,
            &row_step.root,
        )
        .is_err()
        {
            return Err(damaged(
                self.sub.dir.clone(),
                "stored leaves do not give the dataset root",
            ));
        }
        if row_step.leaf_hash != leaf.into_node() {
            return Err(self.changed(&format!("row {row}"), "differs from the notarized record"));
        }
        // Our own encoder wrote these bytes; failing to read them back is a bug.
        let parsed: Vec<Option<String>> =
            serde_json::from_slice(values).expect("canonical values are JSON");
        let d = self.dataset();
        let steps = vec![
            row_step,
            self.submission_step.clone(),
            self.sub.block_step.clone(),
        ];
        let mut proof = self.sub.proof(ProofKind::Record, steps);
        proof.record = Some(RecordClaim {
            dataset: d.entry.name.clone(),
            row,
            columns: d.entry.columns.clone(),
            values: parsed,
            salt,
        });
        proof.dataset = Some(d.entry.clone());
        Ok(proof)
    }

    /// The error for data that no longer matches what was notarized, naming file and place.
    fn changed(&self, at: &str, what: &str) -> PipelineError {
        IngestError::at(
            &self.data,
            at,
            format!(
                "{what} in block {}: the file changed since (point --data at the copy that was notarized)",
                self.sub.block.header.height
            ),
        )
        .into()
    }

    /// Streams the dataset's rows from its file, calling `each` with the number and canonical
    /// values of every row below `until`. The file must hold those rows, and with `whole` no
    /// more: anything else means it changed since.
    fn read_rows(
        &self,
        until: u64,
        whole: bool,
        mut each: impl FnMut(u64, &[u8]) -> Result<(), PipelineError>,
    ) -> Result<(), PipelineError> {
        let d = self.dataset();
        let mut source = ingest::open(&self.data, self.format).map_err(|e| {
            let known: Vec<&str> = ingest::EXTENSIONS.iter().map(|(e, _)| *e).collect();
            let what = format!("{} or {} as {}", d.file, d.entry.name, known.join(", "));
            let hint = not_found_hint(
                &self.data,
                self.given.as_deref(),
                &self.sub.manifest.source,
                &what,
            );
            PipelineError::Ingest(IngestError {
                message: format!("{}{hint}", e.message),
                ..e
            })
        })?;
        if source.columns() != d.entry.columns.as_slice() {
            return Err(self.changed(
                "header",
                &format!(
                    "columns {:?} differ from the notarized {:?}",
                    source.columns(),
                    d.entry.columns
                ),
            ));
        }
        let mut batch = Batch::default();
        let mut row = 0u64;
        let mut more = false;
        while !more && source.next_batch(&mut batch)? {
            for i in 0..batch.len() {
                if row == until {
                    more = true;
                    break;
                }
                each(row, batch.row(i))?;
                row += 1;
            }
            (self.progress)(row);
            if row == until && !whole {
                break;
            }
        }
        if row < until {
            return Err(self.changed(
                "end of file",
                &format!("{row} rows, where {} were notarized", self.rows()),
            ));
        }
        if whole && more {
            return Err(self.changed(
                &format!("row {until}"),
                &format!("more rows than the {until} notarized"),
            ));
        }
        Ok(())
    }

    /// The proof of one row, read from the data and checked against its stored leaf.
    ///
    /// # Errors
    /// A row out of range, data that changed since, or a damaged store.
    pub fn record_proof(&mut self, row: u64) -> Result<Proof, PipelineError> {
        if row >= self.rows() {
            return Err(PipelineError::Usage(format!(
                "row {row} is out of range: dataset {:?} has {} rows (numbered from 0)",
                self.dataset().entry.name,
                self.rows()
            )));
        }
        let mut values = Vec::new();
        self.read_rows(row + 1, false, |r, v| {
            if r == row {
                values = v.to_vec();
            }
            Ok(())
        })?;
        self.record_proof_from(row, &values, None)
    }

    /// Calls `sink` with the proof of every row, in order, streaming the rows from the data.
    ///
    /// # Errors
    /// Data that changed since, a damaged store, or the first error `sink` returns.
    pub fn each_record_proof(
        &mut self,
        mut sink: impl FnMut(Proof) -> Result<(), PipelineError>,
    ) -> Result<(), PipelineError> {
        self.record_tree()?;
        let tree = self.tree.as_ref();
        let rows = self.rows();
        self.read_rows(rows, true, |row, values| {
            sink(self.record_proof_from(row, values, tree)?)
        })
    }

    /// The proof of the dataset's entry. With `with_salts`, it also carries every row's salt
    /// and leaf, for `verify --data` by the holder of the data: the rows are re-read and each is
    /// checked against its stored leaf (the salts derive from the values). Without, nothing is
    /// read and nothing of the rows is disclosed.
    ///
    /// # Errors
    /// Data that changed since, or a damaged store.
    pub fn dataset_proof(&mut self, with_salts: bool) -> Result<Proof, PipelineError> {
        let steps = vec![self.submission_step.clone(), self.sub.block_step.clone()];
        let mut proof = self.sub.proof(ProofKind::Dataset, steps);
        proof.dataset = Some(self.dataset().entry.clone());
        if !with_salts {
            return Ok(proof);
        }
        let rows = self.rows();
        let capacity = usize::try_from(rows).unwrap_or(0);
        let (mut salts, mut leaves) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        let mut stored = store::LeafReader::open(&self.sub.dir, self.dataset(), 0)?;
        self.read_rows(rows, true, |row, values| {
            let (salt, leaf) = self.salter.salted_leaf(row, values);
            let leaf = leaf.into_node();
            if leaf != stored.next_leaf()? {
                // The leaves are checked against the root only on a mismatch: damaged ones,
                // not the data, are then what is wrong.
                let d = self.dataset();
                if store::leaves_root(&self.sub.dir, d, 0, d.entry.rows)? != d.entry.root {
                    return Err(damaged(
                        d.leaves_path(&self.sub.dir)?,
                        "stored leaves do not give the dataset root",
                    ));
                }
                return Err(
                    self.changed(&format!("row {row}"), "differs from the notarized record")
                );
            }
            salts.push(salt);
            leaves.push(leaf);
            Ok(())
        })?;
        proof.salts = Some(salts);
        proof.leaves = Some(leaves);
        Ok(proof)
    }
}
