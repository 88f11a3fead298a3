//! A regulator's copy of a dataset checked against a dataset proof that carries every row's salt:
//! each row is re-hashed with its salt and the dataset root recomputed.

use crate::core::hash::NodeHash;
use crate::core::proof::Proof;
use crate::core::record::{Salt, record_leaf, values_digest};
use crate::core::verify::VerifyError;
use crate::hashing::tree::RootBuilder;

/// Re-hashes a dataset held by the verifier against a verified dataset proof: push the
/// canonical `values` array of each row in order, then [`DataCheck::finish`].
#[derive(Debug)]
pub struct DataCheck<'a> {
    salts: &'a [Salt],
    expected_rows: u64,
    root: NodeHash,
    builder: RootBuilder,
}

impl<'a> DataCheck<'a> {
    /// Starts a check of data with `columns` against `proof`, which must be a dataset proof
    /// carrying salts.
    ///
    /// # Errors
    /// [`VerifyError::DataMismatch`] when the proof carries no salts or the columns differ.
    pub fn new(proof: &'a Proof, columns: &[String]) -> Result<Self, VerifyError> {
        let salts = proof.salts.as_deref().ok_or_else(|| {
            VerifyError::DataMismatch(
                "the proof carries no salts; prove the dataset with --dataset alone".into(),
            )
        })?;
        if columns != proof.dataset.columns.as_slice() {
            return Err(VerifyError::DataMismatch(format!(
                "columns {:?} differ from the notarized columns {:?}",
                columns, proof.dataset.columns
            )));
        }
        Ok(Self {
            salts,
            expected_rows: proof.dataset.rows,
            root: proof.dataset.root,
            builder: RootBuilder::new(),
        })
    }

    /// Adds the next row, given as its canonical `values` JSON array.
    ///
    /// # Errors
    /// [`VerifyError::DataMismatch`] when the data has more rows than were notarized.
    pub fn push(&mut self, values_json: &[u8]) -> Result<(), VerifyError> {
        let row = self.builder.len();
        let salt = usize::try_from(row)
            .ok()
            .and_then(|r| self.salts.get(r))
            .ok_or_else(|| {
                VerifyError::DataMismatch(format!(
                    "the data has more than the {} notarized rows",
                    self.expected_rows
                ))
            })?;
        self.builder
            .push(record_leaf(salt, &values_digest(values_json)).into_node());
        Ok(())
    }

    /// Compares the recomputed dataset root with the proved one.
    ///
    /// # Errors
    /// [`VerifyError::DataMismatch`] for a different row count or root.
    pub fn finish(self) -> Result<(), VerifyError> {
        if self.builder.len() != self.expected_rows {
            return Err(VerifyError::DataMismatch(format!(
                "the data has {} rows, {} were notarized",
                self.builder.len(),
                self.expected_rows
            )));
        }
        if self.builder.root() != self.root {
            return Err(VerifyError::DataMismatch(
                "the data's root differs from the notarized dataset root: some row changed".into(),
            ));
        }
        Ok(())
    }
}
