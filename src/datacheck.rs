//! A regulator's copy of the data checked against a verified proof: a dataset re-hashed row by
//! row with the salts a dataset proof carries (`prove --with-salts`), naming the first row that
//! differs; a document compared byte for byte through its size and SHA-256.

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::core::hash::{FileHash, NodeHash};
use crate::core::proof::Proof;
use crate::core::record::{Salt, record_leaf, values_digest};
use crate::core::verify::VerifyError;
use crate::hashing::tree::RootBuilder;

/// Re-hashes a dataset held by the verifier against a verified dataset proof: push the
/// canonical `values` array of each row in order, then [`DataCheck::finish`].
#[derive(Debug)]
pub struct DataCheck<'a> {
    salts: &'a [Salt],
    /// The notarized leaves, when the proof carries them: then differing rows are named.
    leaves: Option<&'a [NodeHash]>,
    expected_rows: u64,
    root: NodeHash,
    builder: RootBuilder,
    /// The first row whose leaf differs, and how many differ.
    first_differing: Option<u64>,
    differing: u64,
}

fn mismatch(message: String) -> VerifyError {
    VerifyError::DataMismatch(message)
}

impl<'a> DataCheck<'a> {
    /// Starts a check of data with `columns` against `proof`, which must be a dataset proof
    /// carrying salts.
    ///
    /// # Errors
    /// [`VerifyError::DataMismatch`] when the proof carries no salts or the columns differ.
    pub fn new(proof: &'a Proof, columns: &[String]) -> Result<Self, VerifyError> {
        let (Some(dataset), Some(salts)) = (&proof.dataset, proof.salts.as_deref()) else {
            return Err(mismatch(
                "the proof carries no salts: make it with `prove --dataset NAME --with-salts`"
                    .into(),
            ));
        };
        if columns != dataset.columns.as_slice() {
            return Err(mismatch(format!(
                "columns {columns:?} differ from the notarized columns {:?}",
                dataset.columns
            )));
        }
        Ok(Self {
            salts,
            leaves: proof.leaves.as_deref(),
            expected_rows: dataset.rows,
            root: dataset.root,
            builder: RootBuilder::new(),
            first_differing: None,
            differing: 0,
        })
    }

    /// Adds the next row, given as its canonical `values` JSON array.
    ///
    /// # Errors
    /// [`VerifyError::DataMismatch`] when the data has more rows than were notarized.
    pub fn push(&mut self, values_json: &[u8]) -> Result<(), VerifyError> {
        let row = self.builder.len();
        let i = usize::try_from(row).unwrap_or(usize::MAX);
        let salt = self.salts.get(i).ok_or_else(|| {
            mismatch(format!(
                "the data has more than the {} notarized rows",
                self.expected_rows
            ))
        })?;
        let leaf = record_leaf(salt, &values_digest(values_json)).into_node();
        if self
            .leaves
            .and_then(|l| l.get(i))
            .is_some_and(|l| *l != leaf)
        {
            self.first_differing.get_or_insert(row);
            self.differing += 1;
        }
        self.builder.push(leaf);
        Ok(())
    }

    /// Compares the recomputed dataset root with the proved one.
    ///
    /// # Errors
    /// [`VerifyError::DataMismatch`] for a different row count or root, naming the first row
    /// that differs and how many do when the proof carries the leaves.
    pub fn finish(self) -> Result<(), VerifyError> {
        if self.builder.len() != self.expected_rows {
            let first = self
                .first_differing
                .map(|r| format!("; the first row that differs is row {r}"))
                .unwrap_or_default();
            return Err(mismatch(format!(
                "the data has {} rows, {} were notarized{first}",
                self.builder.len(),
                self.expected_rows
            )));
        }
        if self.builder.root() == self.root {
            return Ok(());
        }
        Err(mismatch(match self.first_differing {
            Some(row) => format!(
                "row {row} differs from the notarized record ({} of {} rows differ)",
                self.differing, self.expected_rows
            ),
            None => {
                "the data's root differs from the notarized dataset root: some row changed".into()
            }
        }))
    }
}

/// Compares a copy of a document with a verified document proof, byte for byte through its
/// size and SHA-256. The outer error is a read error.
///
/// # Errors
/// An I/O error reading `data`.
pub fn check_document(
    proof: &Proof,
    mut data: impl Read,
) -> std::io::Result<Result<(), VerifyError>> {
    let Some(doc) = &proof.document else {
        return Ok(Err(mismatch("the proof is not a document proof".into())));
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = data.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let sha = FileHash::from_bytes(hasher.finalize().into());
    Ok(if bytes != doc.bytes {
        Err(mismatch(format!(
            "the file is {bytes} bytes, the notarized document {} was {} bytes",
            doc.path, doc.bytes
        )))
    } else if sha != doc.sha256 {
        Err(mismatch(format!(
            "the file's SHA-256 is {sha}, the notarized document {} had {}: its bytes changed",
            doc.path, doc.sha256
        )))
    } else {
        Ok(())
    })
}
