//! Building proofs from the store: finds the block that last anchored a submission, rebuilds the
//! trees from stored leaf hashes and derives the disclosed salts. Never re-reads the datasets.

use std::path::PathBuf;

use crate::archive::{self, Manifest, ManifestDataset, Store, StoreError};
use crate::chain::store::{self as chain_store, StoredBlock};
use crate::pipeline::PipelineError;
use crate::proof::{
    BlockInfo, PROOF_FORMAT, PROOF_VERSION, Proof, ProofKind, RecordClaim, Step, TreeKind,
};
use crate::record::{Salt, entry_leaves, record_leaf, values_digest};
use crate::salt::Salter;
use crate::tree::Tree;

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
}

fn step(tree: TreeKind, t: &Tree, index: u64) -> Step {
    // Every caller passes the index of one of the tree's own leaves: a position found in it, or a
    // row already checked against the dataset's row count, which is the tree's size.
    Step::from_tree(tree, t, index).expect("index within tree")
}

fn damaged(path: PathBuf, detail: impl Into<String>) -> PipelineError {
    PipelineError::Store(StoreError::Damaged {
        path,
        detail: detail.into(),
    })
}

impl DatasetProver {
    /// Opens the latest anchoring of `submission` in `store` and selects `dataset`.
    ///
    /// # Errors
    /// Unknown submission or dataset (listing what exists), a damaged chain or store.
    pub fn open(store: &Store, submission: &str, dataset: &str) -> Result<Self, PipelineError> {
        let _lock = store.lock(false, true)?;
        let chain_path = store.chain_path();
        let chain = chain_store::read_chain(&chain_path)?;
        chain_store::validate(&chain_path, &chain)?;
        let block = chain
            .iter()
            .rev()
            .find(|b| b.submissions.iter().any(|s| s.id == submission))
            .cloned()
            .ok_or_else(|| {
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
            .ok_or_else(|| damaged(store.secret_path(), "the salt secret is missing"))?;

        let sub_tree = Tree::new(entry_leaves(manifest.datasets.iter().map(|d| &d.entry))?);
        if sub_tree.root() != manifest.submission.root {
            return Err(damaged(
                block_dir.join(submission),
                "dataset entries do not give the submission root",
            ));
        }
        let anchor_tree = Tree::new(entry_leaves(&block.submissions)?);
        let salter = Salter::new(&secret, dataset);
        let checkpoint = store.checkpoint(block.header.height)?;
        Ok(Self {
            checkpoint,
            dir: block_dir.join(submission),
            submission_step: step(TreeKind::Submission, &sub_tree, dataset_index as u64),
            block_step: step(TreeKind::Block, &anchor_tree, position as u64),
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
            let leaves = archive::read_leaves(&self.dir, self.dataset())?;
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
        let path = crate::tree::audit_path_with(row, size, |a, b| {
            archive::leaves_root(&self.dir, d, a, b)
        })?
        .ok_or_else(|| PipelineError::Usage(format!("row {row} is out of range")))?;
        Ok(Step {
            tree: TreeKind::Dataset,
            leaf_hash: archive::leaves_root(&self.dir, d, row, row + 1)?,
            leaf_index: row,
            tree_size: size,
            audit_path: path,
            root: d.entry.root,
        })
    }

    /// A record proof for `row` whose canonical values array is `values` (as stored). With
    /// `stream`, the path is computed without building the dataset's tree (one proof); without,
    /// from the tree built once (every row).
    fn record_proof_from(
        &mut self,
        row: u64,
        values: &[u8],
        stream: bool,
    ) -> Result<Proof, PipelineError> {
        let digest = values_digest(values);
        let salt = self.salter.salt(row, &digest);
        let leaf = record_leaf(&salt, &digest).into_node();
        let dir = self.dir.clone();
        let row_step = if stream {
            self.streamed_step(row)?
        } else {
            step(TreeKind::Dataset, self.record_tree()?, row)
        };
        // The streamed path is checked against the stored root, as the built tree is.
        if crate::verify::verify_inclusion(
            &row_step.leaf_hash,
            row,
            row_step.tree_size,
            &row_step.audit_path,
            &row_step.root,
        )
        .is_err()
        {
            return Err(damaged(dir, "stored leaves do not give the dataset root"));
        }
        if row_step.leaf_hash != leaf {
            return Err(damaged(
                dir,
                format!("stored values of row {row} do not match its leaf"),
            ));
        }
        let parsed: Vec<Option<String>> = serde_json::from_slice(values)
            .map_err(|e| damaged(self.dir.clone(), format!("row {row}: {e}")))?;
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

    /// The proof of one row.
    ///
    /// # Errors
    /// A row out of range or a damaged store.
    pub fn record_proof(&mut self, row: u64) -> Result<Proof, PipelineError> {
        if row >= self.rows() {
            return Err(PipelineError::Usage(format!(
                "row {row} is out of range: dataset {:?} has {} rows (numbered from 0)",
                self.dataset().entry.name,
                self.rows()
            )));
        }
        let values = archive::read_values(&self.dir, self.dataset(), row)?;
        self.record_proof_from(row, &values, true)
    }

    /// Calls `sink` with the proof of every row, in order, streaming the stored values.
    ///
    /// # Errors
    /// A damaged store, or the first error `sink` returns.
    pub fn each_record_proof(
        &mut self,
        mut sink: impl FnMut(Proof) -> Result<(), PipelineError>,
    ) -> Result<(), PipelineError> {
        let lines = archive::values_lines(&self.dir, self.dataset())?;
        let mut row = 0u64;
        for line in lines {
            let proof = self.record_proof_from(row, &line?, false)?;
            sink(proof)?;
            row += 1;
        }
        if row != self.rows() {
            return Err(damaged(
                self.dir.clone(),
                format!("{row} stored rows, {} expected", self.rows()),
            ));
        }
        Ok(())
    }

    /// The proof of the whole dataset, carrying every row's salt for `verify --data`.
    ///
    /// # Errors
    /// A damaged store.
    pub fn dataset_proof(&mut self) -> Result<Proof, PipelineError> {
        let mut salts: Vec<Salt> = Vec::with_capacity(self.rows() as usize);
        for (row, line) in archive::values_lines(&self.dir, self.dataset())?.enumerate() {
            salts.push(self.salter.salt(row as u64, &values_digest(&line?)));
        }
        if salts.len() as u64 != self.rows() {
            return Err(damaged(
                self.dir.clone(),
                "stored rows do not match the dataset entry",
            ));
        }
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
