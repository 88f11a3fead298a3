//! Staging: the entries and manifests of the submissions just read, and whether the chain
//! already anchors every one of them with these contents (then nothing is appended).

use std::collections::BTreeMap;

use super::read::Read;
use super::{Input, PipelineError};
use crate::core::chain::StoredBlock;
use crate::core::hash::NodeHash;
use crate::core::record::SubmissionEntry;
use crate::hashing::salt::Secret;
use crate::hashing::tree::SmallTree;
use crate::store::{MANIFEST_FORMAT, MANIFEST_VERSION, Manifest, ManifestDataset, Store};

/// The manifest of each submission, in input order, and the number of records read.
///
/// # Errors
/// A count too large for the canonical encoding.
pub(super) fn manifests(
    inputs: &[Input],
    read: Vec<Read>,
    secret: &Secret,
) -> Result<(Vec<Manifest>, u64), PipelineError> {
    let mut records = 0;
    let mut manifests = Vec::new();
    for (
        input,
        Read {
            datasets,
            documents,
        },
    ) in inputs.iter().zip(read)
    {
        let rows: u64 = datasets.iter().map(|d| d.entry.rows).sum();
        records += rows;
        let mut manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            submission: SubmissionEntry {
                id: input.id.clone(),
                root: NodeHash::default(),
                records: rows,
                datasets: datasets.len() as u64,
                documents: documents.len() as u64,
            },
            secret: Some(secret.fingerprint()),
            // Absolute, so `prove` finds the data from any working directory.
            source: std::fs::canonicalize(&input.path)
                .unwrap_or_else(|_| input.path.clone())
                .display()
                .to_string(),
            datasets: datasets
                .into_iter()
                .enumerate()
                .map(|(k, d)| {
                    let (stem, leaves_in) = match d.reused {
                        Some((stem, block)) => (stem, Some(block)),
                        None => (format!("d{k}"), None),
                    };
                    ManifestDataset {
                        entry: d.entry,
                        file: d.file.relative,
                        format: d.file.format,
                        bytes: d.file.bytes,
                        stem,
                        digest: Some(d.digest),
                        canonical: Some(crate::ingest::CANONICAL_RULES),
                        leaves_in,
                        leaves_digest: Some(d.leaves_digest),
                    }
                })
                .collect(),
            documents,
        };
        let leaves: Vec<NodeHash> = manifest.tree()?.into_iter().map(|(_, l)| l).collect();
        manifest.submission.root = SmallTree::new(&leaves).root();
        manifests.push(manifest);
    }
    Ok((manifests, records))
}

/// How an item compares with the previous anchoring of its submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Not in the previous anchoring (or there was none).
    New,
    /// There, with other contents.
    Changed,
    /// There, the same.
    Unchanged,
}

impl Change {
    /// The word reports use: `new`, `changed`, `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }

    fn of<T: PartialEq>(now: &T, before: Option<&T>) -> Self {
        match before {
            None => Change::New,
            Some(b) if b == now => Change::Unchanged,
            Some(_) => Change::Changed,
        }
    }
}

/// One dataset or document of a submission and how it changed.
#[derive(Clone, Debug)]
pub struct ItemChange {
    /// `dataset` or `document`.
    pub kind: &'static str,
    /// The dataset's name or the document's path.
    pub name: String,
    /// Rows of a dataset, bytes of a document.
    pub size: u64,
    /// What the tree commits to: a dataset's root, a document's SHA-256 (hex).
    pub digest: String,
    /// Since the previous anchoring.
    pub change: Change,
    /// A dataset whose file had the digest of the one the previous anchoring read: its entry and
    /// leaves were reused, its rows not read again.
    pub reused: bool,
}

/// A submission's items compared with its previous anchoring (`before`): each item's change, in
/// tree order, then the names of items that are gone.
pub(super) fn changes(now: &Manifest, before: Option<&Manifest>) -> (Vec<ItemChange>, Vec<String>) {
    let mut items = Vec::new();
    for d in &now.datasets {
        let prev = before.and_then(|b| b.datasets.iter().find(|p| p.entry.name == d.entry.name));
        items.push(ItemChange {
            kind: "dataset",
            name: d.entry.name.clone(),
            size: d.entry.rows,
            digest: d.entry.root.to_string(),
            change: Change::of(&d.entry, prev.map(|p| &p.entry)),
            reused: d.leaves_in.is_some(),
        });
    }
    for d in &now.documents {
        let prev = before.and_then(|b| b.documents.iter().find(|p| p.path == d.path));
        items.push(ItemChange {
            kind: "document",
            name: d.path.clone(),
            size: d.bytes,
            digest: d.sha256.to_string(),
            change: Change::of(d, prev),
            reused: false,
        });
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let mut gone: Vec<String> = before
        .map(|b| {
            let names = b.datasets.iter().map(|d| &d.entry.name);
            names
                .chain(b.documents.iter().map(|d| &d.path))
                .filter(|n| !items.iter().any(|i| &i.name == *n))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    gone.sort();
    (items, gone)
}

/// The latest anchoring of a submission id before this run.
pub(super) struct Previous {
    /// The block's height.
    pub height: u64,
    /// The block's directory name under `blocks/`.
    pub dir: String,
    /// That block's manifest of the submission.
    pub manifest: Manifest,
}

/// For each input, the latest block that anchored its submission id before this run (`None`
/// when it was never anchored, or its manifest cannot be read: then every item reports as new
/// and every file is read).
pub(super) fn previous(
    store: &Store,
    chain: &[StoredBlock],
    inputs: &[Input],
) -> Vec<Option<Previous>> {
    let mut latest: BTreeMap<&str, &StoredBlock> = BTreeMap::new();
    for b in chain {
        for s in &b.submissions {
            latest.insert(s.id.as_str(), b);
        }
    }
    inputs
        .iter()
        .map(|input| {
            let b = latest.get(input.id.as_str())?;
            let dir = store.block_dir(b.header.height, &b.hash);
            let manifest = store.manifest(&dir, &input.id).ok()?;
            Some(Previous {
                height: b.header.height,
                dir: dir.file_name()?.to_str()?.to_owned(),
                manifest,
            })
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
