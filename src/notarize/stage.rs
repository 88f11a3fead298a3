//! Staging: the entries and manifests of the submissions just read, and whether the chain
//! already anchors every one of them with these contents (then nothing is appended).

use std::collections::BTreeMap;

use super::read::Ingested;
use super::{Input, PipelineError};
use crate::core::chain::StoredBlock;
use crate::core::record::{SubmissionEntry, entry_leaves};
use crate::hashing::salt::Secret;
use crate::hashing::tree::SmallTree;
use crate::store::{MANIFEST_FORMAT, MANIFEST_VERSION, Manifest, ManifestDataset};

/// The manifest of each submission, in input order, and the number of records read.
///
/// # Errors
/// A count too large for the canonical encoding.
pub(super) fn manifests(
    inputs: &[Input],
    per_submission: Vec<Vec<Ingested>>,
    secret: &Secret,
) -> Result<(Vec<Manifest>, u64), PipelineError> {
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

    Ok((manifests, records))
}

/// The height of the latest block that anchors each submission id with exactly its entry, for
/// the manifests whose contents the chain already anchors.
pub(super) fn unchanged(chain: &[StoredBlock], manifests: &[Manifest]) -> Vec<Option<u64>> {
    let mut latest: BTreeMap<&str, (&SubmissionEntry, u64)> = BTreeMap::new();
    for b in chain {
        for s in &b.submissions {
            latest.insert(s.id.as_str(), (s, b.header.height));
        }
    }
    manifests
        .iter()
        .map(|m| {
            latest
                .get(m.submission.id.as_str())
                .filter(|(e, _)| **e == m.submission)
                .map(|(_, h)| *h)
        })
        .collect()
}

/// The anchor tree's leaves: the submission entries sorted by id.
pub(super) fn anchor_entries(manifests: &[Manifest]) -> Vec<SubmissionEntry> {
    let mut entries: Vec<SubmissionEntry> =
        manifests.iter().map(|m| m.submission.clone()).collect();
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    entries
}
