//! Offline verification of a proof: record → leaf → dataset root → submission root → anchor root
//! → block header → proof of work, and optionally the block's place in a chain. Every rejection
//! is a [`VerifyError`] naming the step and the check that failed. Reads no files.

use std::fmt;

use crate::core::chain::MIN_DIFFICULTY;
use crate::core::hash::{BlockHash, LeafHash, NodeHash, node_hash};
use crate::core::header::{BlockHeader, leading_zero_bits};
use crate::core::proof::{Proof, ProofKind, Step, TreeKind};
use crate::core::record::Record;

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
/// use trialnotary::core::hash::{leaf_hash, node_hash, root};
/// use trialnotary::core::verify::{verify_inclusion, InclusionError};
///
/// // Five leaves: leaf 3's path is leaf 2, then the root of leaves 0 and 1, then leaf 4.
/// let l: Vec<_> = (0u8..5).map(|i| leaf_hash(&[i]).into_node()).collect();
/// let path = [l[2], node_hash(&l[0], &l[1]), l[4]];
/// assert_eq!(verify_inclusion(&l[3], 3, 5, &path, &root(&l)), Ok(()));
/// assert_eq!(
///     verify_inclusion(&l[3], 2, 5, &path, &root(&l)),
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
            VerifyError::NotAnchored(s) => write!(f, "anchor: {s}"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl InclusionError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InclusionError::IndexOutOfRange => "index-out-of-range",
            InclusionError::PathTooLong => "path-too-long",
            InclusionError::PathTooShort => "path-too-short",
            InclusionError::RootMismatch => "path-root-mismatch",
        }
    }
}

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

/// Checks that the verdict's block is the block at its height in `chain` (headers in height
/// order, already checked by [`crate::core::chain::check`]).
///
/// # Errors
/// [`VerifyError::NotInChain`] when the chain is too short or holds another block there.
pub fn check_in_chain(verdict: &Verdict, chain: &[BlockHeader]) -> Result<(), VerifyError> {
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
    Ok(())
}

/// Confirmations of the block at `height`: the blocks after it in `chain`, up to and including
/// `until` (the trusted tip's height, or the chain's end), that meet `min_difficulty`. A block
/// below the verifier's minimum adds no work a verifier accepts, so it does not count.
pub fn confirmations(chain: &[BlockHeader], height: u64, until: u64, min_difficulty: u32) -> u64 {
    chain
        .iter()
        .filter(|h| h.height > height && h.height <= until && h.difficulty >= min_difficulty)
        .count() as u64
}

/// Checks that the trusted block hash `tip` is the verdict's block or, in the verified `chain`,
/// a block at or after it (the verdict's block must then be in the chain); returns the tip's
/// height.
///
/// # Errors
/// [`VerifyError::NotAnchored`] saying why not.
pub fn check_tip(
    verdict: &Verdict,
    tip: &BlockHash,
    chain: Option<&[BlockHeader]>,
) -> Result<u64, VerifyError> {
    let height = verdict.header.height;
    if *tip == verdict.block_hash {
        return Ok(height);
    }
    let Some(chain) = chain else {
        return Err(VerifyError::NotAnchored(format!(
            "the block is {}, not the trusted tip {tip}; give a chain copy (--chain) that leads \
             from the block to that tip",
            verdict.block_hash
        )));
    };
    match chain.iter().find(|h| h.hash() == *tip) {
        Some(t) if t.height >= height => {
            check_in_chain(verdict, chain)?;
            Ok(t.height)
        }
        Some(t) => Err(VerifyError::NotAnchored(format!(
            "the trusted tip {tip} is at height {}, before the proof's block at height {height}",
            t.height
        ))),
        None => Err(VerifyError::NotAnchored(format!(
            "the chain copy does not hold the trusted tip {tip}"
        ))),
    }
}

/// Checks that `checkpoint` covers the verdict's block: its tip is that block, or, in a
/// verified `chain` that holds the checkpoint's tip, the block lies at or before it. The
/// checkpoint's time must be its tip block's header time.
///
/// # Errors
/// [`VerifyError::NotCovered`] saying why not (older than the block, not connectable without a
/// chain copy, or a chain rewritten after the checkpoint), [`VerifyError::Checkpoint`] for a
/// time that is not its tip's.
pub fn checkpoint_covers(
    verdict: &Verdict,
    checkpoint: &crate::core::note::Checkpoint,
    chain: Option<&[BlockHeader]>,
) -> Result<(), VerifyError> {
    let height = verdict.header.height;
    let cp = checkpoint;
    let time_matches = |tip_time: u64| {
        if cp.time == tip_time {
            Ok(())
        } else {
            Err(VerifyError::Checkpoint(format!(
                "the checkpoint says time {}, its tip block's header says {tip_time}",
                cp.time
            )))
        }
    };
    if cp.tip == verdict.block_hash && cp.size.checked_sub(1) == Some(height) {
        return time_matches(verdict.header.time);
    }
    let Some(chain) = chain else {
        return Err(VerifyError::NotCovered(if cp.size <= height {
            format!(
                "the checkpoint covers {} blocks, the proof's block is at height {height}: it is older than the block",
                cp.size
            )
        } else {
            format!(
                "the checkpoint's tip ({} blocks) is later than the proof's block; give a chain copy (--chain) to connect them",
                cp.size
            )
        }));
    };
    let tip = cp
        .size
        .checked_sub(1)
        .and_then(|h| usize::try_from(h).ok())
        .and_then(|h| chain.get(h));
    match tip {
        None if cp.size == 0 => Err(VerifyError::NotCovered(
            "the checkpoint is of an empty chain".into(),
        )),
        None => Err(VerifyError::NotCovered(format!(
            "the chain copy has {} blocks and does not reach the checkpoint's tip ({} blocks)",
            chain.len(),
            cp.size
        ))),
        Some(h) if h.hash() != cp.tip => Err(VerifyError::NotCovered(format!(
            "the chain was rewritten after the checkpoint: its block at height {} is {}, the \
             checkpoint names {}",
            h.height,
            h.hash(),
            cp.tip
        ))),
        Some(h) => {
            time_matches(h.time)?;
            if cp.size <= height {
                return Err(VerifyError::NotCovered(format!(
                    "the checkpoint covers {} blocks, the proof's block is at height {height}: it is older than the block",
                    cp.size
                )));
            }
            check_in_chain(verdict, chain)
        }
    }
}

/// Everything a verifier brings besides the proof.
#[derive(Clone, Copy, Debug, Default)]
pub struct Evidence<'a> {
    /// Minimum difficulty.
    pub policy: Policy,
    /// Headers of a chain copy that [`crate::core::chain::check`] accepted, in height order.
    pub chain: Option<&'a [BlockHeader]>,
    /// The verifier's trust store.
    pub trust: Option<&'a crate::core::note::TrustStore>,
    /// A signed checkpoint to use instead of the proof's own.
    pub checkpoint: Option<&'a str>,
    /// A block hash the verifier trusts (the sponsor's tip, from a channel the verifier trusts).
    pub tip: Option<BlockHash>,
    /// Accept a proof that nothing the verifier trusts anchors, checking its internal
    /// consistency alone.
    pub self_contained: bool,
}

impl Evidence<'_> {
    /// Whether anything the verifier trusts was given: a chain copy, a trust store or a tip.
    pub fn has_anchor(&self) -> bool {
        self.chain.is_some() || self.trust.is_some() || self.tip.is_some()
    }
}

/// Who signed the checkpoint that covers the proof's block, as verified against a trust store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The trusted log key's name (the chain's origin).
    pub signer: String,
    /// Names of the trusted witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

/// What became of the checkpoint the proof carries (or the verifier gave).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointStatus {
    /// There is none.
    Absent,
    /// There is one, but without a trust store no signature was checked, so nobody is named:
    /// a note's text means nothing until a trusted key's signature verifies (C2SP signed-note).
    Unverified,
    /// Verified against the trust store and covering the block.
    Trusted(Signed),
}

/// What a verdict rests on beyond the proof itself.
pub const SELF_CONTAINED_WARNING: &str = "self-contained check only: the proof is consistent \
     and its block carries the work it claims, but nothing you trust anchors that block, so \
     anyone could have made it for data of their choosing; give a chain copy (--chain), a trust \
     store (--trust) or a block hash you trust (--tip) to check that the sponsor published it";

/// What to say when nothing anchors a proof and no self-contained check was asked for.
pub const NO_ANCHOR: &str = "nothing you trust anchors the proof's block: give a chain copy \
     (--chain), a trust store (--trust) or a block hash you trust (--tip), or ask for \
     --self-contained to check the proof's internal consistency alone";

/// A valid proof, with what the evidence added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The proof's verdict.
    pub verdict: Verdict,
    /// Qualifying blocks after the proof's block in the chain copy, when one was given.
    pub confirmations: Option<u64>,
    /// What anchored the block: any of `"chain"`, `"tip"`, `"trust"`; empty for a
    /// self-contained check.
    pub anchored_by: Vec<&'static str>,
    /// The checkpoint.
    pub checkpoint: CheckpointStatus,
}

/// Verifies a proof against the evidence: [`verify_proof`], then the chain copy (the block must
/// be in it), the trusted tip, and the checkpoint (with a trust store: signed by a trusted key,
/// cosigned as it requires, and covering the block; without one: parsed, never trusted). The
/// block must be anchored by at least one of chain, tip and trust store, unless the evidence
/// asks for a self-contained check.
///
/// # Errors
/// The first failed check.
pub fn verify_with(proof: &Proof, evidence: &Evidence<'_>) -> Result<Report, VerifyError> {
    let mut policy = evidence.policy;
    if let Some(t) = evidence.trust {
        policy.min_difficulty = policy.min_difficulty.max(t.min_difficulty);
    }
    let verdict = verify_proof(proof, &policy)?;
    let mut anchored_by = Vec::new();
    let mut until = None;
    if let Some(chain) = evidence.chain {
        check_in_chain(&verdict, chain)?;
        anchored_by.push("chain");
        until = Some(chain.len() as u64 - 1);
    }
    if let Some(tip) = &evidence.tip {
        until = Some(check_tip(&verdict, tip, evidence.chain)?);
        anchored_by.push("tip");
    }
    let note = evidence.checkpoint.or(proof.checkpoint.as_deref());
    let checkpoint = check_signed(&verdict, note, evidence.trust, evidence.chain)?;
    if matches!(checkpoint, CheckpointStatus::Trusted(_)) {
        anchored_by.push("trust");
    }
    if anchored_by.is_empty() && !evidence.self_contained {
        return Err(VerifyError::NotAnchored(NO_ANCHOR.into()));
    }
    let confirmations = evidence.chain.zip(until).map(|(chain, until)| {
        confirmations(chain, verdict.header.height, until, policy.min_difficulty)
    });
    Ok(Report {
        verdict,
        confirmations,
        anchored_by,
        checkpoint,
    })
}

fn check_signed(
    verdict: &Verdict,
    note: Option<&str>,
    trust: Option<&crate::core::note::TrustStore>,
    chain: Option<&[BlockHeader]>,
) -> Result<CheckpointStatus, VerifyError> {
    use crate::core::note::{Checkpoint, Note, check_checkpoint};
    let bad = |e: crate::core::note::NoteError| VerifyError::Checkpoint(e.to_string());
    match (trust, note) {
        (Some(_), None) => Err(VerifyError::Checkpoint(
            "the proof carries no signed checkpoint and the trust store requires one (give --checkpoint)"
                .into(),
        )),
        (Some(t), Some(n)) => {
            let tc = check_checkpoint(n.as_bytes(), t).map_err(bad)?;
            checkpoint_covers(verdict, &tc.checkpoint, chain)?;
            Ok(CheckpointStatus::Trusted(Signed {
                signer: tc.signer,
                witnesses: tc.witnesses,
            }))
        }
        (None, Some(n)) => {
            // Parsed so that a malformed one is refused; never trusted, so whether it covers
            // the block does not matter.
            Checkpoint::parse(&Note::parse(n.as_bytes()).map_err(bad)?.text).map_err(bad)?;
            Ok(CheckpointStatus::Unverified)
        }
        (None, None) => Ok(CheckpointStatus::Absent),
    }
}

impl Report {
    /// The report as a JSON object (`"valid": true` and the details).
    pub fn to_json(&self) -> serde_json::Value {
        let v = &self.verdict;
        let checkpoint = match &self.checkpoint {
            CheckpointStatus::Absent => serde_json::Value::Null,
            CheckpointStatus::Unverified => serde_json::json!({"verified": false}),
            CheckpointStatus::Trusted(s) => serde_json::json!({
                "verified": true, "signer": s.signer, "witnesses": s.witnesses,
            }),
        };
        serde_json::json!({
            "valid": true,
            "kind": v.kind,
            "dataset": v.dataset,
            "row": v.row,
            "submission": v.submission,
            "submission_root": v.submission_root,
            "block": {"height": v.header.height, "hash": v.block_hash, "time": v.header.time,
                      "difficulty": v.header.difficulty, "work_bits": v.work_bits},
            "anchored_by": self.anchored_by,
            "confirmations": self.confirmations,
            "checkpoint": checkpoint,
            "warnings": self.warnings(),
        })
    }

    /// What the verifier should know about what was not checked.
    pub fn warnings(&self) -> Vec<&'static str> {
        if self.anchored_by.is_empty() {
            vec![SELF_CONTAINED_WARNING]
        } else {
            Vec::new()
        }
    }

    /// The verdict as sentences for a person, without the warnings.
    pub fn lines(&self) -> Vec<String> {
        let v = &self.verdict;
        let what = match v.row {
            Some(row) => format!("row {row} of dataset {}", v.dataset),
            None => format!("dataset {}", v.dataset),
        };
        let valid = if self.anchored_by.is_empty() {
            "VALID (self-contained only)"
        } else {
            "VALID"
        };
        let mut out = vec![format!(
            "{valid}: {what} in submission {} is anchored in block {} ({}), difficulty {} bits",
            v.submission, v.header.height, v.block_hash, v.header.difficulty
        )];
        if let Some(n) = self.confirmations {
            out.push(format!(
                "  in the given chain, with {n} later block(s) of at least the required difficulty"
            ));
        }
        if self.anchored_by.contains(&"tip") {
            out.push("  at or before the block hash you trust (--tip)".into());
        }
        match &self.checkpoint {
            CheckpointStatus::Trusted(s) => {
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
            CheckpointStatus::Unverified => out.push(
                "  the proof carries a checkpoint whose signatures were not checked (no --trust): \
                 its signers are unverified"
                    .into(),
            ),
            CheckpointStatus::Absent => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::root;
    use crate::core::hash::tests::{leaves, rfc_leaves};
    use proptest::prelude::*;

    /// `PATH(m, D[n])` of RFC 9162 section 2.1.3.1, by its recursive definition: a reference
    /// independent of the sponsor's tree code.
    fn path(m: usize, d: &[NodeHash]) -> Vec<NodeHash> {
        if d.len() <= 1 {
            return Vec::new();
        }
        let k = 1 << (usize::BITS - 1 - (d.len() - 1).leading_zeros());
        let (mut p, sibling) = if m < k {
            (path(m, &d[..k]), root(&d[k..]))
        } else {
            (path(m - k, &d[k..]), root(&d[..k]))
        };
        p.push(sibling);
        p
    }

    #[test]
    fn prove_then_verify_every_index_of_every_size_to_300() {
        for n in 1..=300u64 {
            let d = leaves(n as usize);
            let r = root(&d);
            for i in 0..n {
                assert_eq!(
                    verify_inclusion(&d[i as usize], i, n, &path(i as usize, &d), &r),
                    Ok(()),
                    "{i} of {n}"
                );
            }
        }
    }

    #[test]
    fn broken_paths_are_rejected_with_their_reason() {
        let d = rfc_leaves(8);
        let root = root(&d);
        let leaf = d[5];
        let path = path(5, &d);
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

    /// Heights come from untrusted bytes: u64::MAX must not overflow (debug builds panic on
    /// overflow, which is how the unit tests run).
    #[test]
    fn extreme_heights_and_sizes_do_not_overflow() {
        use crate::core::hash::empty_root;
        let header = BlockHeader {
            version: 1,
            height: u64::MAX,
            prev: BlockHash::default(),
            anchor_root: empty_root(),
            time: 1,
            difficulty: 1,
            nonce: 0,
        };
        let verdict = Verdict {
            kind: ProofKind::Record,
            dataset: "d".into(),
            row: Some(0),
            submission: "s".into(),
            submission_root: empty_root(),
            header,
            block_hash: header.hash(),
            work_bits: 0,
        };
        for size in [0, 1, u64::MAX - 1, u64::MAX] {
            for tip in [header.hash(), BlockHash::default()] {
                let cp = crate::core::note::Checkpoint {
                    origin: "o".into(),
                    size,
                    tip,
                    time: 1,
                };
                // A block at height 2^64 - 1 would need a checkpoint of size 2^64.
                assert!(checkpoint_covers(&verdict, &cp, None).is_err());
                assert!(checkpoint_covers(&verdict, &cp, Some(&[header])).is_err());
                let below = Verdict {
                    header: BlockHeader {
                        height: u64::MAX - 1,
                        ..header
                    },
                    ..verdict.clone()
                };
                let covered = checkpoint_covers(&below, &cp, None).is_ok();
                assert_eq!(covered, size == u64::MAX && tip == header.hash());
            }
        }
        assert!(check_in_chain(&verdict, &[header]).is_err());
        assert!(check_tip(&verdict, &BlockHash::default(), Some(&[header])).is_err());
        assert_eq!(confirmations(&[header], u64::MAX, u64::MAX, 0), 0);
    }

    proptest! {
        #[test]
        fn random_trees_prove_and_verify(n in 1u64..5000, seed in any::<u64>()) {
            let i = seed % n;
            let d = leaves(n as usize);
            let (r, p, leaf) = (root(&d), path(i as usize, &d), d[i as usize]);
            prop_assert_eq!(verify_inclusion(&leaf, i, n, &p, &r), Ok(()));
            // Any other index of the same tree fails.
            let j = (i + 1 + seed % (n.max(2) - 1)) % n;
            if j != i {
                prop_assert!(verify_inclusion(&leaf, j, n, &p, &r).is_err());
            }
        }
    }
}
