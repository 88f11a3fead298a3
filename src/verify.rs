//! Offline verification of a proof: record → leaf → dataset root → submission root → anchor root
//! → block header → proof of work, and optionally the block's place in a chain. Every rejection
//! is a [`VerifyError`] naming the step and the check that failed. Reads no files.

use std::fmt;

use crate::chain::header::{BlockHeader, leading_zero_bits};
use crate::hash::{BlockHash, LeafHash, NodeHash, node_hash};
use crate::proof::{Proof, ProofKind, Step, TreeKind};
use crate::record::{Record, Salt, record_leaf, values_digest};
use crate::tree::RootBuilder;

/// Why an inclusion path does not lead from a leaf to a root (RFC 9162 section 2.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InclusionError {
    /// `leaf_index >= tree_size`.
    IndexOutOfRange,
    /// The path has more hashes than the index and size allow.
    PathTooLong,
    /// The path has fewer hashes than the index and size require.
    PathTooShort,
    /// The path is well-shaped but leads to another root.
    RootMismatch,
}

impl fmt::Display for InclusionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InclusionError::IndexOutOfRange => "leaf index is not below the tree size",
            InclusionError::PathTooLong => "audit path is longer than the index and size allow",
            InclusionError::PathTooShort => "audit path is shorter than the index and size require",
            InclusionError::RootMismatch => "audit path does not lead to the stated root",
        })
    }
}

/// RFC 9162 section 2.1.3.2: verifies that `leaf` is at `index` in the tree of `size` leaves
/// whose root is `root`. Unlike rs_merkle's `MerkleProof::verify`, the path length must match
/// the index and size exactly, so trailing hashes are refused.
///
/// ```
/// use trialnotary::tree::Tree;
/// use trialnotary::hash::leaf_hash;
/// use trialnotary::verify::{verify_inclusion, InclusionError};
///
/// let leaves: Vec<_> = (0u8..5).map(|i| leaf_hash(&[i]).into_node()).collect();
/// let tree = Tree::new(leaves.clone());
/// let path = tree.audit_path(3).unwrap();
/// assert_eq!(verify_inclusion(&leaves[3], 3, 5, &path, &tree.root()), Ok(()));
/// assert_eq!(
///     verify_inclusion(&leaves[3], 2, 5, &path, &tree.root()),
///     Err(InclusionError::RootMismatch)
/// );
/// ```
///
/// # Errors
/// [`InclusionError`] saying which condition failed.
pub fn verify_inclusion(
    leaf: &NodeHash,
    index: u64,
    size: u64,
    path: &[NodeHash],
    root: &NodeHash,
) -> Result<(), InclusionError> {
    if index >= size {
        return Err(InclusionError::IndexOutOfRange);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return Err(InclusionError::PathTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(InclusionError::PathTooShort);
    }
    if r != *root {
        return Err(InclusionError::RootMismatch);
    }
    Ok(())
}

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
        /// Which tree.
        tree: TreeKind,
        /// Recomputed from the disclosed object.
        computed: LeafHash,
        /// Stated in the proof.
        stated: NodeHash,
    },
    /// A step's index or size disagrees with the object it proves (row, counts).
    PositionMismatch {
        /// 1-based step number.
        step: usize,
        /// Which tree.
        tree: TreeKind,
        /// What disagrees.
        detail: String,
    },
    /// A step's audit path fails RFC 9162 verification.
    Inclusion {
        /// 1-based step number.
        step: usize,
        /// Which tree.
        tree: TreeKind,
        /// The failed condition.
        error: InclusionError,
    },
    /// A step's root is not the root committed by the next level's object or by the header.
    StepsDoNotChain {
        /// 1-based step number whose root is not committed.
        step: usize,
        /// Which tree.
        tree: TreeKind,
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
                "step {step} ({}): leaf hash mismatch: the disclosed object hashes to {computed}, \
                 the proof states {stated}",
                tree.describe()
            ),
            VerifyError::PositionMismatch { step, tree, detail } => {
                write!(f, "step {step} ({}): {detail}", tree.describe())
            }
            VerifyError::Inclusion { step, tree, error } => {
                write!(f, "step {step} ({}): {error}", tree.describe())
            }
            VerifyError::StepsDoNotChain { step, tree } => write!(
                f,
                "step {step} ({}): its root is not the root committed by the next level",
                tree.describe()
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
        }
    }
}

impl std::error::Error for VerifyError {}

/// What the verifier requires beyond internal consistency.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    /// Minimum difficulty (leading zero bits) the anchoring block must declare and meet.
    pub min_difficulty: u32,
}

/// What a valid proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Record or dataset.
    pub kind: ProofKind,
    /// The dataset name.
    pub dataset: String,
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

fn expect_trees(proof: &Proof) -> Result<(), VerifyError> {
    let want: &[TreeKind] = match proof.kind {
        ProofKind::Record => &[TreeKind::Dataset, TreeKind::Submission, TreeKind::Block],
        ProofKind::Dataset => &[TreeKind::Submission, TreeKind::Block],
    };
    let got: Vec<TreeKind> = proof.steps.iter().map(|s| s.tree).collect();
    if got != want {
        return Err(VerifyError::Shape(format!(
            "a {:?} proof needs steps {want:?}, found {got:?}",
            proof.kind
        )));
    }
    match (proof.kind, &proof.record, &proof.salts) {
        (ProofKind::Record, None, _) => Err(VerifyError::Shape(
            "a record proof must carry its record".into(),
        )),
        (ProofKind::Record, Some(_), Some(_)) => Err(VerifyError::Shape(
            "a record proof must not carry dataset salts".into(),
        )),
        (ProofKind::Dataset, Some(_), _) => Err(VerifyError::Shape(
            "a dataset proof must not carry a record".into(),
        )),
        _ => Ok(()),
    }
}

/// Checks one step: stated leaf equals `leaf`, index and size as expected, path to root.
fn check_step(
    number: usize,
    step: &Step,
    leaf: LeafHash,
    index: u64,
    size: u64,
) -> Result<(), VerifyError> {
    let tree = step.tree;
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

fn encode_err(e: crate::record::EncodeError) -> VerifyError {
    VerifyError::Shape(e.to_string())
}

/// Verifies a parsed proof completely, offline: every leaf is recomputed from the disclosed
/// objects, every path walked, every root chained to the next level, the header hashed and its
/// proof of work checked against `policy`.
///
/// # Errors
/// The first failed check, as a [`VerifyError`].
pub fn verify_proof(proof: &Proof, policy: &Policy) -> Result<Verdict, VerifyError> {
    expect_trees(proof)?;
    let mut steps = proof.steps.iter().enumerate().map(|(i, s)| (i + 1, s));
    let dataset = &proof.dataset;

    if let Some(record) = &proof.record {
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
        // expect_trees guarantees three steps for a record proof.
        let (n, step) = steps
            .next()
            .ok_or_else(|| VerifyError::Shape("no steps".into()))?;
        check_step(n, step, leaf, record.row, dataset.rows)?;
        if step.root != dataset.root {
            return Err(VerifyError::StepsDoNotChain {
                step: n,
                tree: step.tree,
            });
        }
    }
    if let Some(salts) = &proof.salts
        && salts.len() as u64 != dataset.rows
    {
        return Err(VerifyError::Shape(format!(
            "{} salts for {} rows",
            salts.len(),
            dataset.rows
        )));
    }

    let submission = &proof.submission;
    let (n, step) = steps
        .next()
        .ok_or_else(|| VerifyError::Shape("no steps".into()))?;
    let leaf = dataset.leaf_hash().map_err(encode_err)?;
    check_step(n, step, leaf, step.leaf_index, submission.datasets)?;
    if step.root != submission.root {
        return Err(VerifyError::StepsDoNotChain {
            step: n,
            tree: step.tree,
        });
    }

    let (n, step) = steps
        .next()
        .ok_or_else(|| VerifyError::Shape("no steps".into()))?;
    let leaf = submission.leaf_hash().map_err(encode_err)?;
    // The anchor tree's size is not committed elsewhere in the proof; the header commits to its
    // root, and the RFC 9162 check binds index and size to the path.
    check_step(n, step, leaf, step.leaf_index, step.tree_size)?;

    let header = check_header(proof, policy)?;
    if step.root != header.anchor_root {
        return Err(VerifyError::StepsDoNotChain {
            step: n,
            tree: step.tree,
        });
    }
    Ok(Verdict {
        kind: proof.kind,
        dataset: dataset.name.clone(),
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
    if header.difficulty < policy.min_difficulty {
        return Err(VerifyError::BelowMinimumDifficulty {
            difficulty: header.difficulty,
            minimum: policy.min_difficulty,
        });
    }
    Ok(header)
}

/// Checks that the verdict's block is the block at its height in `chain` (headers in height
/// order, already verified by the caller) and returns its confirmations: the number of blocks
/// after it.
///
/// # Errors
/// [`VerifyError::NotInChain`] when the chain is too short or holds another block there.
pub fn check_in_chain(verdict: &Verdict, chain: &[BlockHeader]) -> Result<u64, VerifyError> {
    let height = verdict.header.height;
    let at = usize::try_from(height)
        .ok()
        .and_then(|h| chain.get(h))
        .ok_or_else(|| {
            VerifyError::NotInChain(format!(
                "the chain has {} blocks, none at height {height}",
                chain.len()
            ))
        })?;
    if at.hash() != verdict.block_hash {
        return Err(VerifyError::NotInChain(format!(
            "the chain's block at height {height} is {}, not {}",
            at.hash(),
            verdict.block_hash
        )));
    }
    Ok((chain.len() as u64) - height - 1)
}

/// Checks that `checkpoint` covers the verdict's block: its tip is that block, or, given a
/// verified `chain` holding the block, the chain's block at the checkpoint's tip height is the
/// checkpoint's tip.
///
/// # Errors
/// [`VerifyError::NotCovered`] saying why not.
pub fn checkpoint_covers(
    verdict: &Verdict,
    checkpoint: &crate::note::Checkpoint,
    chain: Option<&[BlockHeader]>,
) -> Result<(), VerifyError> {
    let height = verdict.header.height;
    if checkpoint.size == height + 1 && checkpoint.tip == verdict.block_hash {
        return Ok(());
    }
    if checkpoint.size <= height {
        return Err(VerifyError::NotCovered(format!(
            "the checkpoint covers {} blocks, the proof's block is at height {height}",
            checkpoint.size
        )));
    }
    let Some(chain) = chain else {
        return Err(VerifyError::NotCovered(format!(
            "the checkpoint's tip ({} blocks) is later than the proof's block; give --chain to link them",
            checkpoint.size
        )));
    };
    check_in_chain(verdict, chain)?;
    let tip = usize::try_from(checkpoint.size - 1)
        .ok()
        .and_then(|i| chain.get(i));
    match tip {
        Some(h) if h.hash() == checkpoint.tip => Ok(()),
        _ => Err(VerifyError::NotCovered(
            "the chain copy does not hold the checkpoint's tip: it is not the chain that was signed".into(),
        )),
    }
}

/// Everything a verifier brings besides the proof.
#[derive(Clone, Copy, Debug, Default)]
pub struct Evidence<'a> {
    /// Minimum difficulty.
    pub policy: Policy,
    /// Headers of a verified chain copy, in height order.
    pub chain: Option<&'a [BlockHeader]>,
    /// The verifier's trust store.
    pub trust: Option<&'a crate::note::TrustStore>,
    /// A signed checkpoint to use instead of the proof's own.
    pub checkpoint: Option<&'a str>,
}

/// Who signed the checkpoint that covers the proof's block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The signing key's name (the chain's origin).
    pub signer: String,
    /// Names of the cosigning witnesses (trusted ones, when a trust store was given).
    pub witnesses: Vec<String>,
    /// Whether a trust store vouched for the signer.
    pub trusted: bool,
}

/// A valid proof, with what the evidence added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The proof's verdict.
    pub verdict: Verdict,
    /// Blocks after the proof's block in the chain copy, when one was given.
    pub confirmations: Option<u64>,
    /// The covering checkpoint, when there is one.
    pub signed: Option<Signed>,
    /// What the verifier should know: what backs the block when nothing trusted does.
    pub warnings: Vec<String>,
}

/// Warning for a block that only the sponsor's proof of work backs.
pub const POW_WARNING: &str = "only the sponsor's proof of work backs this block: compare its hash \
                               with a chain copy or tip you trust (--chain) or require a signed \
                               checkpoint (--trust) to detect a rewritten history";

/// Verifies a proof against the evidence: [`verify_proof`], then the chain copy (the block must
/// be in it), then the covering checkpoint (signed by a trusted key and cosigned as the trust
/// store requires; without a trust store, only parsed and matched).
///
/// # Errors
/// The first failed check.
pub fn verify_with(proof: &Proof, evidence: &Evidence<'_>) -> Result<Report, VerifyError> {
    let mut policy = evidence.policy;
    if let Some(t) = evidence.trust {
        policy.min_difficulty = policy.min_difficulty.max(t.min_difficulty);
    }
    let verdict = verify_proof(proof, &policy)?;
    let confirmations = match evidence.chain {
        Some(chain) => Some(check_in_chain(&verdict, chain)?),
        None => None,
    };
    let note = evidence.checkpoint.or(proof.checkpoint.as_deref());
    let signed = check_signed(&verdict, note, evidence.trust, evidence.chain)?;
    let mut warnings = Vec::new();
    match &signed {
        None if evidence.chain.is_none() => warnings.push(POW_WARNING.to_owned()),
        Some(s) if !s.trusted => warnings.push(format!(
            "the checkpoint is signed by {:?}, but no trust store was given (--trust), so nobody \
             vouched for that key",
            s.signer
        )),
        _ => {}
    }
    Ok(Report {
        verdict,
        confirmations,
        signed,
        warnings,
    })
}

fn check_signed(
    verdict: &Verdict,
    note: Option<&str>,
    trust: Option<&crate::note::TrustStore>,
    chain: Option<&[BlockHeader]>,
) -> Result<Option<Signed>, VerifyError> {
    use crate::note::{Checkpoint, Note, check_checkpoint};
    let bad = |e: crate::note::NoteError| VerifyError::Checkpoint(e.to_string());
    match (trust, note) {
        (Some(_), None) => Err(VerifyError::Checkpoint(
            "the proof carries no signed checkpoint and the trust store requires one (give --checkpoint)"
                .into(),
        )),
        (Some(t), Some(n)) => {
            let tc = check_checkpoint(n.as_bytes(), t).map_err(bad)?;
            checkpoint_covers(verdict, &tc.checkpoint, chain)?;
            Ok(Some(Signed { signer: tc.signer, witnesses: tc.witnesses, trusted: true }))
        }
        (None, Some(n)) => {
            let note = Note::parse(n.as_bytes()).map_err(bad)?;
            let cp = Checkpoint::parse(&note.text).map_err(bad)?;
            checkpoint_covers(verdict, &cp, chain)?;
            let signer = note.signatures.first().map(|s| s.name.clone()).unwrap_or_default();
            let witnesses = note.signatures.iter().skip(1).map(|s| s.name.clone()).collect();
            Ok(Some(Signed { signer, witnesses, trusted: false }))
        }
        (None, None) => Ok(None),
    }
}

impl Report {
    /// The report as a JSON object (`"valid": true` and the details).
    pub fn to_json(&self) -> serde_json::Value {
        let v = &self.verdict;
        serde_json::json!({
            "valid": true,
            "kind": v.kind,
            "dataset": v.dataset,
            "row": v.row,
            "submission": v.submission,
            "submission_root": v.submission_root,
            "block": {"height": v.header.height, "hash": v.block_hash, "time": v.header.time,
                      "difficulty": v.header.difficulty, "work_bits": v.work_bits},
            "confirmations": self.confirmations,
            "checkpoint": self.signed.as_ref().map(|s| serde_json::json!({
                "signer": s.signer, "witnesses": s.witnesses, "trusted": s.trusted,
            })),
            "warnings": self.warnings,
        })
    }

    /// The verdict as sentences for a person, without the warnings.
    pub fn lines(&self) -> Vec<String> {
        let v = &self.verdict;
        let what = match v.row {
            Some(row) => format!("row {row} of dataset {}", v.dataset),
            None => format!("dataset {}", v.dataset),
        };
        let mut out = vec![format!(
            "VALID: {what} in submission {} is anchored in block {} ({}), difficulty {} bits",
            v.submission, v.header.height, v.block_hash, v.header.difficulty
        )];
        if let Some(n) = self.confirmations {
            out.push(format!("  in the given chain, with {n} later block(s)"));
        }
        if let Some(s) = self.signed.as_ref().filter(|s| s.trusted) {
            let cosigned = if s.witnesses.is_empty() {
                String::new()
            } else {
                format!(", cosigned by {}", s.witnesses.join(", "))
            };
            out.push(format!(
                "  covered by a checkpoint signed by trusted key {}{cosigned}",
                s.signer
            ));
        }
        out
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Tree;
    use crate::tree::tests::{leaves, rfc_leaves};
    use proptest::prelude::*;

    #[test]
    fn prove_then_verify_every_index_of_every_size_to_300() {
        for n in 1..=300u64 {
            let tree = Tree::new(leaves(n as usize));
            let root = tree.root();
            for i in 0..n {
                let path = tree.audit_path(i).unwrap();
                let leaf = tree.leaves()[i as usize];
                assert_eq!(
                    verify_inclusion(&leaf, i, n, &path, &root),
                    Ok(()),
                    "{i} of {n}"
                );
            }
        }
    }

    #[test]
    fn broken_paths_are_rejected_with_their_reason() {
        let tree = Tree::new(rfc_leaves(8));
        let root = tree.root();
        let leaf = tree.leaves()[5];
        let path = tree.audit_path(5).unwrap();
        assert_eq!(verify_inclusion(&leaf, 5, 8, &path, &root), Ok(()));
        // Trailing junk hash, which rs_merkle's verify accepts.
        let mut long = path.clone();
        long.push(root);
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &long, &root),
            Err(InclusionError::PathTooLong)
        );
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &path[..2], &root),
            Err(InclusionError::PathTooShort)
        );
        assert_eq!(
            verify_inclusion(&leaf, 8, 8, &path, &root),
            Err(InclusionError::IndexOutOfRange)
        );
        assert_eq!(
            verify_inclusion(&leaf, 4, 8, &path, &root),
            Err(InclusionError::RootMismatch)
        );
        // A smaller size needs a shorter path. (Size 7 would pass: the path alone does not bind
        // the size, which is why verify_proof checks each size against the next level's count.)
        assert_eq!(
            verify_inclusion(&leaf, 5, 6, &path, &root),
            Err(InclusionError::PathTooLong)
        );
        let mut flipped = path.clone();
        let mut b = *flipped[1].as_bytes();
        b[0] ^= 1;
        flipped[1] = NodeHash::from_bytes(b);
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &flipped, &root),
            Err(InclusionError::RootMismatch)
        );
    }

    proptest! {
        #[test]
        fn random_trees_prove_and_verify(n in 1u64..5000, seed in any::<u64>()) {
            let i = seed % n;
            let tree = Tree::new(leaves(n as usize));
            let path = tree.audit_path(i).unwrap();
            let leaf = tree.leaves()[i as usize];
            prop_assert_eq!(verify_inclusion(&leaf, i, n, &path, &tree.root()), Ok(()));
            // Any other index of the same tree fails.
            let j = (i + 1 + seed % (n.max(2) - 1)) % n;
            if j != i {
                prop_assert!(verify_inclusion(&leaf, j, n, &path, &tree.root()).is_err());
            }
        }
    }
}
