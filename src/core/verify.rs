//! Offline verification of a proof's own contents: record → leaf → dataset root → submission
//! root → anchor root → block header → proof of work. Every rejection is a [`VerifyError`] naming
//! the step and the check that failed; what anchors the block is the `evidence` module's. Reads
//! no files.

use std::fmt;

use crate::core::chain::MIN_DIFFICULTY;
use crate::core::hash::{BlockHash, LeafHash, NodeHash, root};
use crate::core::header::{BlockHeader, leading_zero_bits};
pub use crate::core::inclusion::{InclusionError, verify_inclusion};
use crate::core::proof::{Proof, ProofKind, Step, TreeKind};
use crate::core::record::Record;

/// Why a proof is rejected. Each variant names the failed check; `step` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The proof's kind and its steps or fields do not fit together.
    Shape(String),
    /// The record's dataset name, columns or value count disagree with the dataset entry.
    RecordMismatch(String),
    /// A step's stated leaf hash is not the hash of the object it should commit to.
    LeafMismatch {
        /// 1-based step number.
        step: usize,
        /// Which tree, as a phrase: "record in dataset", ….
        tree: &'static str,
        /// Recomputed from the disclosed object.
        computed: LeafHash,
        /// Stated in the proof.
        stated: NodeHash,
    },
    /// A step's index or size disagrees with the object it proves (row, counts).
    PositionMismatch {
        /// 1-based step number.
        step: usize,
        /// Which tree, as a phrase: "record in dataset", ….
        tree: &'static str,
        /// What disagrees.
        detail: String,
    },
    /// A step's audit path fails RFC 9162 verification.
    Inclusion {
        /// 1-based step number.
        step: usize,
        /// Which tree, as a phrase: "record in dataset", ….
        tree: &'static str,
        /// The failed condition.
        error: InclusionError,
    },
    /// A step's root is not the root committed by the next level's object or by the header.
    StepsDoNotChain {
        /// 1-based step number whose root is not committed.
        step: usize,
        /// Which tree, as a phrase: "record in dataset", ….
        tree: &'static str,
    },
    /// The header hex does not decode to a valid header.
    BadHeader(String),
    /// The decoded `fields` or `height` differ from the header bytes.
    HeaderFieldsMismatch,
    /// The stated block hash is not `SHA-256(SHA-256(header))`.
    BlockHashMismatch {
        /// Recomputed.
        computed: BlockHash,
    },
    /// The block hash does not have the leading zero bits its header claims.
    InsufficientWork {
        /// Leading zero bits of the hash.
        found: u32,
        /// Difficulty in the header.
        claimed: u32,
    },
    /// The header's difficulty is below the verifier's minimum.
    BelowMinimumDifficulty {
        /// Difficulty in the header.
        difficulty: u32,
        /// The verifier's minimum.
        minimum: u32,
    },
    /// The block is not in the given chain.
    NotInChain(String),
    /// A dataset checked against data does not match the proof.
    DataMismatch(String),
    /// The signed checkpoint is malformed, untrusted or lacks cosignatures.
    Checkpoint(String),
    /// The checkpoint does not cover the proof's block.
    NotCovered(String),
    /// Nothing the verifier trusts anchors the proof's block.
    NotAnchored(String),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Shape(s) => write!(f, "proof shape: {s}"),
            VerifyError::RecordMismatch(s) => write!(f, "record: {s}"),
            VerifyError::LeafMismatch {
                step,
                tree,
                computed,
                stated,
            } => write!(
                f,
                "step {step} ({tree}): leaf hash mismatch: the disclosed object hashes to \
                 {computed}, the proof states {stated}"
            ),
            VerifyError::PositionMismatch { step, tree, detail } => {
                write!(f, "step {step} ({tree}): {detail}")
            }
            VerifyError::Inclusion { step, tree, error } => {
                write!(f, "step {step} ({tree}): {error}")
            }
            VerifyError::StepsDoNotChain { step, tree } => write!(
                f,
                "step {step} ({tree}): its root is not the root committed by the next level"
            ),
            VerifyError::BadHeader(s) => write!(f, "block header: {s}"),
            VerifyError::HeaderFieldsMismatch => {
                f.write_str("block header: decoded fields or height differ from the header bytes")
            }
            VerifyError::BlockHashMismatch { computed } => {
                write!(f, "block hash mismatch: the header hashes to {computed}")
            }
            VerifyError::InsufficientWork { found, claimed } => write!(
                f,
                "proof of work: block hash has {found} leading zero bits, header claims {claimed}"
            ),
            VerifyError::BelowMinimumDifficulty {
                difficulty,
                minimum,
            } => write!(
                f,
                "proof of work: difficulty {difficulty} is below the required minimum {minimum}"
            ),
            VerifyError::NotInChain(s) => write!(f, "chain: {s}"),
            VerifyError::DataMismatch(s) => write!(f, "data: {s}"),
            VerifyError::Checkpoint(s) => write!(f, "checkpoint: {s}"),
            VerifyError::NotCovered(s) => write!(f, "checkpoint: {s}"),
            VerifyError::NotAnchored(s) => write!(f, "anchor: {s}"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl VerifyError {
    /// A stable machine-readable code for the failed check, the same in every verifier.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Shape(_) => "proof-shape",
            VerifyError::RecordMismatch(_) => "record-mismatch",
            VerifyError::LeafMismatch { .. } => "leaf-mismatch",
            VerifyError::PositionMismatch { .. } => "position-mismatch",
            VerifyError::Inclusion { error, .. } => error.code(),
            VerifyError::StepsDoNotChain { .. } => "steps-do-not-chain",
            VerifyError::BadHeader(_) => "bad-header",
            VerifyError::HeaderFieldsMismatch => "header-fields-mismatch",
            VerifyError::BlockHashMismatch { .. } => "block-hash-mismatch",
            VerifyError::InsufficientWork { .. } => "insufficient-work",
            VerifyError::BelowMinimumDifficulty { .. } => "below-min-difficulty",
            VerifyError::NotInChain(_) => "not-in-chain",
            VerifyError::DataMismatch(_) => "data-mismatch",
            VerifyError::Checkpoint(_) => "checkpoint",
            VerifyError::NotCovered(_) => "not-covered",
            VerifyError::NotAnchored(_) => "not-anchored",
        }
    }
}

/// What the verifier requires beyond internal consistency.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    /// Minimum difficulty (leading zero bits) the anchoring block must declare and meet.
    pub min_difficulty: u32,
}

/// What a valid proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What is proved.
    pub kind: ProofKind,
    /// Its name: the dataset's (record and dataset proofs), the document's path, or the
    /// submission's id.
    pub name: String,
    /// The row, for record proofs.
    pub row: Option<u64>,
    /// The submission id.
    pub submission: String,
    /// The submission root.
    pub submission_root: NodeHash,
    /// The anchoring block's header.
    pub header: BlockHeader,
    /// The anchoring block's hash.
    pub block_hash: BlockHash,
    /// Leading zero bits of the block hash (at least the difficulty).
    pub work_bits: u32,
}

/// Which fields and steps each kind of proof has: every kind carries exactly what it needs.
fn expect_shape(proof: &Proof) -> Result<(), VerifyError> {
    use TreeKind::{Block, Dataset, Submission};
    let p = proof;
    let (trees, fields): (&[TreeKind], [bool; 5]) = match p.kind {
        ProofKind::Record => (
            &[Dataset, Submission, Block],
            [true, true, false, false, false],
        ),
        ProofKind::Dataset => (
            &[Submission, Block],
            [
                false,
                true,
                false,
                p.salts.is_some(),
                p.leaves.is_some() && p.salts.is_some(),
            ],
        ),
        ProofKind::Document => (&[Submission, Block], [false, false, true, false, false]),
        ProofKind::Submission => (&[Block], [false; 5]),
    };
    let got: Vec<TreeKind> = p.steps.iter().map(|s| s.tree).collect();
    if got != trees {
        let names = |t: &[TreeKind]| t.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
        return Err(VerifyError::Shape(format!(
            "a {} proof needs the steps [{}], found [{}]",
            p.kind.as_str(),
            names(trees),
            names(&got)
        )));
    }
    let have = [
        p.record.is_some(),
        p.dataset.is_some(),
        p.document.is_some(),
        p.salts.is_some(),
        p.leaves.is_some(),
    ];
    let names = ["record", "dataset", "document", "salts", "leaves"];
    for ((want, have), name) in fields.iter().zip(have).zip(names) {
        if *want != have {
            let must = if *want {
                "must carry"
            } else {
                "must not carry"
            };
            return Err(VerifyError::Shape(format!(
                "a {} proof {must} \"{name}\"",
                p.kind.as_str()
            )));
        }
    }
    // Version 3 added documents, submission proofs and a dataset's leaves: an older label on
    // them is not a proof any release wrote.
    if p.version < 3 {
        let v = p.version;
        if matches!(p.kind, ProofKind::Document | ProofKind::Submission) {
            return Err(VerifyError::Shape(format!(
                "a version {v} proof cannot be a {} proof",
                p.kind.as_str()
            )));
        }
        if p.leaves.is_some() {
            return Err(VerifyError::Shape(format!(
                "a version {v} proof cannot carry \"leaves\""
            )));
        }
        if p.submission.documents > 0 {
            return Err(VerifyError::Shape(format!(
                "a version {v} proof's submission cannot count documents"
            )));
        }
    }
    Ok(())
}

/// The phrase naming a step's tree in messages.
fn phrase(kind: ProofKind, tree: TreeKind) -> &'static str {
    match (tree, kind) {
        (TreeKind::Dataset, _) => "record in dataset",
        (TreeKind::Submission, ProofKind::Document) => "document in submission",
        (TreeKind::Submission, _) => "dataset in submission",
        (TreeKind::Block, _) => "submission in block",
    }
}

/// Checks one step: stated leaf equals `leaf`, index and size as expected, path to root.
fn check_step(
    kind: ProofKind,
    number: usize,
    step: &Step,
    leaf: LeafHash,
    index: u64,
    size: u64,
) -> Result<(), VerifyError> {
    let tree = phrase(kind, step.tree);
    if step.leaf_hash != leaf.into_node() {
        return Err(VerifyError::LeafMismatch {
            step: number,
            tree,
            computed: leaf,
            stated: step.leaf_hash,
        });
    }
    if step.tree_size != size {
        return Err(VerifyError::PositionMismatch {
            step: number,
            tree,
            detail: format!(
                "tree size {} but the next level commits to {size}",
                step.tree_size
            ),
        });
    }
    if step.leaf_index != index {
        return Err(VerifyError::PositionMismatch {
            step: number,
            tree,
            detail: format!(
                "leaf index {} but the record is row {index}",
                step.leaf_index
            ),
        });
    }
    verify_inclusion(
        &step.leaf_hash,
        step.leaf_index,
        step.tree_size,
        &step.audit_path,
        &step.root,
    )
    .map_err(|error| VerifyError::Inclusion {
        step: number,
        tree,
        error,
    })
}

fn encode_err(e: crate::core::record::EncodeError) -> VerifyError {
    VerifyError::Shape(e.to_string())
}

/// Verifies a parsed proof completely, offline: every leaf is recomputed from the disclosed
/// objects, every path walked, every root chained to the next level, the header hashed and its
/// proof of work checked against `policy`.
///
/// # Errors
/// The first failed check, as a [`VerifyError`].
pub fn verify_proof(proof: &Proof, policy: &Policy) -> Result<Verdict, VerifyError> {
    expect_shape(proof)?;
    let kind = proof.kind;
    let mut steps = proof.steps.iter().enumerate().map(|(i, s)| (i + 1, s));
    // expect_shape guarantees the steps and fields each kind needs.
    let mut next = || {
        steps
            .next()
            .ok_or_else(|| VerifyError::Shape("no steps".into()))
    };
    let chains = |n: usize, step: &Step, root: &NodeHash| {
        if step.root == *root {
            Ok(())
        } else {
            Err(VerifyError::StepsDoNotChain {
                step: n,
                tree: phrase(kind, step.tree),
            })
        }
    };
    let submission = &proof.submission;

    if let (Some(record), Some(dataset)) = (&proof.record, &proof.dataset) {
        if record.dataset != dataset.name {
            return Err(VerifyError::RecordMismatch(format!(
                "dataset {:?} differs from the dataset entry {:?}",
                record.dataset, dataset.name
            )));
        }
        if record.columns != dataset.columns {
            return Err(VerifyError::RecordMismatch(
                "column names differ from the dataset entry".into(),
            ));
        }
        if record.values.len() != record.columns.len() {
            return Err(VerifyError::RecordMismatch(format!(
                "{} values for {} columns",
                record.values.len(),
                record.columns.len()
            )));
        }
        let leaf = Record {
            salt: record.salt,
            values: record.values.clone(),
        }
        .leaf_hash();
        let (n, step) = next()?;
        check_step(kind, n, step, leaf, record.row, dataset.rows)?;
        chains(n, step, &dataset.root)?;
    }
    if let (Some(salts), Some(dataset)) = (&proof.salts, &proof.dataset) {
        if salts.len() as u64 != dataset.rows {
            return Err(VerifyError::Shape(format!(
                "{} salts for {} rows",
                salts.len(),
                dataset.rows
            )));
        }
        if let Some(leaves) = &proof.leaves
            && (leaves.len() != salts.len() || root(leaves) != dataset.root)
        {
            return Err(VerifyError::Shape(
                "the leaves it carries do not give the dataset root".into(),
            ));
        }
    }

    let entry_leaf = match (&proof.dataset, &proof.document) {
        (Some(d), _) => Some((d.leaf_hash(), d.name.as_str())),
        (_, Some(d)) => Some((d.leaf_hash(), d.path.as_str())),
        _ => None,
    };
    let name = match entry_leaf {
        Some((leaf, name)) => {
            let (n, step) = next()?;
            let entries = submission
                .datasets
                .checked_add(submission.documents)
                .ok_or_else(|| VerifyError::Shape("entry counts overflow".into()))?;
            check_step(
                kind,
                n,
                step,
                leaf.map_err(encode_err)?,
                step.leaf_index,
                entries,
            )?;
            chains(n, step, &submission.root)?;
            name.to_owned()
        }
        None => submission.id.clone(),
    };

    let (n, step) = next()?;
    let leaf = submission.leaf_hash().map_err(encode_err)?;
    // The anchor tree's size is not committed elsewhere in the proof; the header commits to its
    // root, and the RFC 9162 check binds index and size to the path.
    check_step(kind, n, step, leaf, step.leaf_index, step.tree_size)?;
    let header = check_header(proof, policy)?;
    chains(n, step, &header.anchor_root)?;
    Ok(Verdict {
        kind,
        name,
        row: proof.record.as_ref().map(|r| r.row),
        submission: submission.id.clone(),
        submission_root: submission.root,
        header,
        block_hash: proof.block.hash,
        work_bits: leading_zero_bits(&proof.block.hash),
    })
}

fn check_header(proof: &Proof, policy: &Policy) -> Result<BlockHeader, VerifyError> {
    let block = &proof.block;
    let bytes = hex::decode(&block.header).map_err(|e| VerifyError::BadHeader(e.to_string()))?;
    // One spelling only: the header is lowercase hex, as written.
    if hex::encode(&bytes) != block.header {
        return Err(VerifyError::BadHeader(
            "header hex must be lowercase".into(),
        ));
    }
    let header =
        BlockHeader::from_bytes(&bytes).map_err(|e| VerifyError::BadHeader(e.to_string()))?;
    if header != block.fields || header.height != block.height {
        return Err(VerifyError::HeaderFieldsMismatch);
    }
    let computed = header.hash();
    if computed != block.hash {
        return Err(VerifyError::BlockHashMismatch { computed });
    }
    let found = leading_zero_bits(&computed);
    if found < header.difficulty {
        return Err(VerifyError::InsufficientWork {
            found,
            claimed: header.difficulty,
        });
    }
    // A block without work is not a block, whatever the verifier asked for.
    let minimum = policy.min_difficulty.max(MIN_DIFFICULTY);
    if header.difficulty < minimum {
        return Err(VerifyError::BelowMinimumDifficulty {
            difficulty: header.difficulty,
            minimum,
        });
    }
    Ok(header)
}
