//! Chain consistency between two checkpoints: the later tip extends the earlier one. The proof is
//! the block headers after the earlier tip, up to the later tip; each must link to the one
//! before, sit at the next height and carry its proof of work. No I/O.

use serde::{Deserialize, Serialize};

use crate::core::header::{BlockHeader, leading_zero_bits};
use crate::core::note::{Checkpoint, Note, TrustStore, check_checkpoint};

/// The `format` field of a consistency proof.
pub const CONSISTENCY_FORMAT: &str = "trialnotary-consistency";

/// The consistency proof version this code writes and reads.
pub const CONSISTENCY_VERSION: u32 = 1;

/// A consistency proof between two signed checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Always [`CONSISTENCY_FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The earlier signed checkpoint, as note text.
    pub from: String,
    /// The later signed checkpoint, as note text.
    pub to: String,
    /// Hex headers of the blocks at heights `from.size .. to.size`, in order.
    pub headers: Vec<String>,
}

impl ConsistencyProof {
    /// Reads a consistency proof from JSON: an object, as every writer writes it (serde's derive
    /// would also read an array of its fields).
    ///
    /// # Errors
    /// serde_json's, for bytes that are not a consistency proof's JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let proof = crate::core::proof::object(&mut de)?;
        de.end()?;
        Ok(proof)
    }
}

/// What a valid consistency proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consistent {
    /// The earlier checkpoint.
    pub from: Checkpoint,
    /// The later checkpoint.
    pub to: Checkpoint,
    /// Lowest difficulty among the headers in between (`None` when there are none).
    pub min_difficulty: Option<u32>,
}

/// Why a consistency proof was rejected: a stable code, the same in every verifier, and the
/// reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyError {
    /// `proof-shape` (another format or version; a header count that does not fit),
    /// `checkpoint` (a checkpoint that is not a note, or not signed as the trust store
    /// requires), `origin-mismatch`, `checkpoint-order` (the later checkpoint is shorter),
    /// `bad-header` (not a header, or at another height), `chain-rewritten` (a header that does
    /// not extend the hash before it, or headers that do not lead to the later tip),
    /// `insufficient-work`, `below-min-difficulty`.
    pub code: &'static str,
    /// What failed, naming the checkpoint or the height.
    pub reason: String,
}

impl std::fmt::Display for ConsistencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ConsistencyError {}

fn reject(code: &'static str, reason: String) -> ConsistencyError {
    ConsistencyError { code, reason }
}

/// Verifies that `proof.to` extends `proof.from`. With `trust`, both checkpoints must also be
/// signed (and cosigned) as it requires, and every block in between meet its minimum difficulty.
///
/// # Errors
/// A [`ConsistencyError`] naming the first failed check (an unsigned checkpoint, another
/// origin, a shrinking chain, a broken link at a named height, missing work).
pub fn verify_consistency(
    proof: &ConsistencyProof,
    trust: Option<&TrustStore>,
) -> Result<Consistent, ConsistencyError> {
    if proof.format != CONSISTENCY_FORMAT || proof.version != CONSISTENCY_VERSION {
        return Err(reject(
            "proof-shape",
            "not a version 1 trialnotary consistency proof".into(),
        ));
    }
    let checkpoint = |what: &str, note: &str| {
        let checked = match trust {
            Some(t) => check_checkpoint(note.as_bytes(), t).map(|c| c.checkpoint),
            None => Note::parse(note.as_bytes()).and_then(|n| Checkpoint::parse(&n.text)),
        };
        checked.map_err(|e| reject("checkpoint", format!("{what} checkpoint: {e}")))
    };
    let from = checkpoint("earlier", &proof.from)?;
    let to = checkpoint("later", &proof.to)?;
    if from.origin != to.origin {
        return Err(reject(
            "origin-mismatch",
            format!(
                "checkpoints of two chains: {:?} and {:?}",
                from.origin, to.origin
            ),
        ));
    }
    if to.size < from.size {
        return Err(reject(
            "checkpoint-order",
            format!(
                "the later checkpoint ({} blocks) is shorter than the earlier ({})",
                to.size, from.size
            ),
        ));
    }
    if proof.headers.len() as u64 != to.size - from.size {
        return Err(reject(
            "proof-shape",
            format!(
                "{} headers given, {} blocks lie between the checkpoints",
                proof.headers.len(),
                to.size - from.size
            ),
        ));
    }
    let min = trust.map_or(0, |t| t.min_difficulty);
    let mut tip = from.tip;
    let mut lowest: Option<u32> = None;
    for (i, hex_header) in proof.headers.iter().enumerate() {
        // Below to.size, which the header count was checked against: no overflow.
        let height = from.size + i as u64;
        let at = |code, m: String| reject(code, format!("block at height {height}: {m}"));
        let bytes = hex::decode(hex_header).map_err(|e| at("bad-header", e.to_string()))?;
        let header =
            BlockHeader::from_bytes(&bytes).map_err(|e| at("bad-header", e.to_string()))?;
        if header.height != height {
            return Err(at(
                "bad-header",
                format!("header says height {}", header.height),
            ));
        }
        if header.prev != tip {
            return Err(at(
                "chain-rewritten",
                format!(
                    "does not extend {tip}: the chain was rewritten after the earlier checkpoint"
                ),
            ));
        }
        let hash = header.hash();
        if leading_zero_bits(&hash) < header.difficulty {
            return Err(at(
                "insufficient-work",
                "hash does not meet its difficulty".into(),
            ));
        }
        if header.difficulty < min {
            return Err(at(
                "below-min-difficulty",
                format!(
                    "difficulty {} is below the required {min}",
                    header.difficulty
                ),
            ));
        }
        lowest = Some(lowest.map_or(header.difficulty, |l| l.min(header.difficulty)));
        tip = hash;
    }
    if tip != to.tip {
        return Err(reject(
            "chain-rewritten",
            format!(
                "the headers lead to {tip}, the later checkpoint names {}: the chain was rewritten",
                to.tip
            ),
        ));
    }
    Ok(Consistent {
        from,
        to,
        min_difficulty: lowest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::{BlockHash, NodeHash};
    use crate::core::header::HEADER_VERSION;

    fn note(size: u64, tip: BlockHash) -> String {
        let text = Checkpoint {
            origin: "o.example".into(),
            size,
            tip,
            time: 5,
        }
        .to_text();
        // An unknown key's line: without a trust store no signature is checked.
        format!("{text}\n\u{2014} k.example AAAAAAAAAAAA\n")
    }

    /// A regulator's first state may be the empty chain: a checkpoint of size 0
    /// (tlog-checkpoint), from which any chain is consistent.
    #[test]
    fn consistency_from_the_empty_chain() {
        let mut h = BlockHeader {
            version: HEADER_VERSION,
            height: 0,
            prev: BlockHash::default(),
            anchor_root: NodeHash::default(),
            time: 5,
            difficulty: 1,
            nonce: 0,
        };
        while !h.meets_target() {
            h.nonce += 1;
        }
        let proof = |from_tip: BlockHash| ConsistencyProof {
            format: CONSISTENCY_FORMAT.into(),
            version: CONSISTENCY_VERSION,
            from: note(0, from_tip),
            to: note(1, h.hash()),
            headers: vec![hex::encode(h.to_bytes())],
        };
        let c = verify_consistency(&proof(BlockHash::default()), None).unwrap();
        assert_eq!((c.from.size, c.to.size), (0, 1));
        // The empty chain's tip is the zero hash that block 0 links to.
        let e = verify_consistency(&proof(BlockHash::from_bytes([1; 32])), None).unwrap_err();
        assert_eq!(e.code, "chain-rewritten", "{e}");
    }
}
