//! Building proofs: finds the block that last anchored a submission, rebuilds the trees from the
//! stored leaf hashes, re-reads the disclosed rows from the submission's data (the store keeps no
//! values), checks each against its stored leaf and derives the disclosed salts.

use std::path::{Path, PathBuf};

use crate::core::proof::{
    BlockInfo, PROOF_FORMAT, PROOF_VERSION, Proof, ProofKind, RecordClaim, Step, TreeKind,
};
use crate::core::record::{Salt, entry_leaves};
use crate::hashing::salt::Salter;
use crate::hashing::tree::{SmallTree, Tree};
use crate::ingest::{self, Batch, IngestError};
use crate::notarize::PipelineError;
use crate::store::chain::{self as chain_store, StoredBlock};
use crate::store::{self, Manifest, ManifestDataset, Store, StoreError};

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

/// Everything needed to prove rows of one dataset: loaded once, then any number of proofs.
pub struct DatasetProver {
    dir: PathBuf,
    manifest: Manifest,
    dataset: usize,
    block: StoredBlock,
    salter: Salter,
    submission_step: Step,
    block_step: Step,
    tree: Option<Tree>,
    checkpoint: Option<String>,
    data: PathBuf,
    format: ingest::Format,
}

/// Where to read dataset `d` of `manifest`, and in which format: `base` (the submission as
/// notarized, or `--data`) when it is a file or the one-file submission's gone file; else, in the
/// directory `base`, the file it was notarized from or the same dataset in another format (the
/// root does not depend on the format).
fn locate(base: PathBuf, manifest: &Manifest, d: &ManifestDataset) -> (PathBuf, ingest::Format) {
    // A one-file submission was notarized from the file itself; tell it from a directory even
    // when it is gone, so the error names the dataset file.
    let one_file = manifest.datasets.len() == 1
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

impl DatasetProver {
    /// Opens the anchoring of `submission` in `store` that `at` selects and selects `dataset`,
    /// whose rows are read from `data` (the submission directory or file, as it was then) or,
    /// without it, from where they were notarized.
    ///
    /// # Errors
    /// Unknown submission or dataset (listing what exists), no anchoring at `at` (listing the
    /// heights that anchor it), a missing or wrong salt secret, a damaged chain or store.
    pub fn open(
        store: &Store,
        submission: &str,
        dataset: &str,
        data: Option<&Path>,
        at: At,
    ) -> Result<Self, PipelineError> {
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
        let dataset_index = manifest
            .datasets
            .iter()
            .position(|d| d.entry.name == dataset)
            .ok_or_else(|| {
                let names: Vec<&str> = manifest
                    .datasets
                    .iter()
                    .map(|d| d.entry.name.as_str())
                    .collect();
                PipelineError::Usage(format!(
                    "dataset {dataset:?} is not in submission {submission:?} (datasets: {})",
                    names.join(", ")
                ))
            })?;
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

        let sub_tree = SmallTree::new(&entry_leaves(manifest.datasets.iter().map(|d| &d.entry))?);
        if sub_tree.root() != manifest.submission.root {
            return Err(damaged(
                block_dir.join(submission),
                "dataset entries do not give the submission root",
            ));
        }
        let anchor_tree = SmallTree::new(&entry_leaves(&block.submissions)?);
        let salter = Salter::new(&secret, dataset);
        let checkpoint = store.checkpoint(block.header.height)?;
        let base = data.map_or_else(|| PathBuf::from(&manifest.source), Path::to_path_buf);
        let (data, format) = locate(base, &manifest, &manifest.datasets[dataset_index]);
        Ok(Self {
            data,
            format,
            checkpoint,
            dir: block_dir.join(submission),
            submission_step: small_step(TreeKind::Submission, &sub_tree, dataset_index as u64),
            block_step: small_step(TreeKind::Block, &anchor_tree, position as u64),
            manifest,
            dataset: dataset_index,
            block,
            salter,
            tree: None,
        })
    }

    /// Attaches `note` (a signed checkpoint, perhaps cosigned) to the proofs made from now on,
    /// instead of the one the store keeps for the block.
    pub fn set_checkpoint(&mut self, note: String) {
        self.checkpoint = Some(note);
    }

    fn dataset(&self) -> &ManifestDataset {
        &self.manifest.datasets[self.dataset]
    }

    /// Number of rows in the dataset.
    pub fn rows(&self) -> u64 {
        self.dataset().entry.rows
    }

    fn block_info(&self) -> BlockInfo {
        BlockInfo {
            height: self.block.header.height,
            hash: self.block.hash,
            header: hex::encode(self.block.header.to_bytes()),
            fields: self.block.header,
        }
    }

    fn record_tree(&mut self) -> Result<&Tree, PipelineError> {
        if self.tree.is_none() {
            let leaves = store::read_leaves(&self.dir, self.dataset())?;
            let tree = Tree::new(leaves);
            if tree.root() != self.dataset().entry.root {
                return Err(damaged(
                    self.dir.clone(),
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
            store::leaves_root(&self.dir, d, a, b)
        })?
        .ok_or_else(|| PipelineError::Usage(format!("row {row} is out of range")))?;
        Ok(Step {
            tree: TreeKind::Dataset,
            leaf_hash: store::leaves_root(&self.dir, d, row, row + 1)?,
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
                self.dir.clone(),
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
        Ok(Proof {
            format: PROOF_FORMAT.into(),
            version: PROOF_VERSION,
            kind: ProofKind::Record,
            record: Some(RecordClaim {
                dataset: d.entry.name.clone(),
                row,
                columns: d.entry.columns.clone(),
                values: parsed,
                salt,
            }),
            dataset: d.entry.clone(),
            salts: None,
            submission: self.manifest.submission.clone(),
            steps: vec![
                row_step,
                self.submission_step.clone(),
                self.block_step.clone(),
            ],
            block: self.block_info(),
            checkpoint: self.checkpoint.clone(),
        })
    }

    /// The error for data that no longer matches what was notarized, naming file and place.
    fn changed(&self, at: &str, what: &str) -> PipelineError {
        IngestError::at(
            &self.data,
            at,
            format!(
                "{what} in block {}: the file changed since (point --data at the copy that was notarized)",
                self.block.header.height
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
            PipelineError::Ingest(IngestError {
                message: format!(
                    "{} (the submission was notarized from {}; pass --data to read it elsewhere)",
                    e.message, self.manifest.source
                ),
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

    /// The proof of the whole dataset, carrying every row's salt for `verify --data`.
    ///
    /// # Errors
    /// Data that changed since, or a damaged store.
    pub fn dataset_proof(&mut self) -> Result<Proof, PipelineError> {
        let rows = self.rows();
        let mut salts: Vec<Salt> = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
        let mut stored = store::LeafReader::open(&self.dir, self.dataset(), 0)?;
        self.read_rows(rows, true, |row, values| {
            let (salt, leaf) = self.salter.salted_leaf(row, values);
            if leaf.into_node() != stored.next_leaf()? {
                return Err(
                    self.changed(&format!("row {row}"), "differs from the notarized record")
                );
            }
            salts.push(salt);
            Ok(())
        })?;
        Ok(Proof {
            format: PROOF_FORMAT.into(),
            version: PROOF_VERSION,
            kind: ProofKind::Dataset,
            record: None,
            dataset: self.dataset().entry.clone(),
            salts: Some(salts),
            submission: self.manifest.submission.clone(),
            steps: vec![self.submission_step.clone(), self.block_step.clone()],
            block: self.block_info(),
            checkpoint: self.checkpoint.clone(),
        })
    }
}
