//! Chain consistency between two checkpoints: the later tip extends the earlier one. The proof is
//! the block headers after the earlier tip, up to the later tip; each must link to the one
//! before, sit at the next height and carry its proof of work. No I/O.

use serde::{Deserialize, Serialize};

use crate::core::header::{BlockHeader, leading_zero_bits};
use crate::core::note::{Checkpoint, Note, NoteError, TrustStore, check_checkpoint};

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

/// Verifies that `proof.to` extends `proof.from`. With `trust`, both checkpoints must also be
/// signed (and cosigned) as it requires, and every block in between meet its minimum difficulty.
///
/// # Errors
/// A [`NoteError`] naming the first failed check (an unsigned checkpoint, another origin, a
/// shrinking chain, a broken link at a named height, missing work).
pub fn verify_consistency(
    proof: &ConsistencyProof,
    trust: Option<&TrustStore>,
) -> Result<Consistent, NoteError> {
    if proof.format != CONSISTENCY_FORMAT || proof.version != CONSISTENCY_VERSION {
        return Err(NoteError(
            "not a version 1 trialnotary consistency proof".into(),
        ));
    }
    let (from, to) = match trust {
        Some(t) => (
            check_checkpoint(proof.from.as_bytes(), t)
                .map_err(|e| NoteError(format!("earlier checkpoint: {e}")))?
                .checkpoint,
            check_checkpoint(proof.to.as_bytes(), t)
                .map_err(|e| NoteError(format!("later checkpoint: {e}")))?
                .checkpoint,
        ),
        None => (
            Checkpoint::parse(&Note::parse(proof.from.as_bytes())?.text)?,
            Checkpoint::parse(&Note::parse(proof.to.as_bytes())?.text)?,
        ),
    };
    if from.origin != to.origin {
        return Err(NoteError(format!(
            "checkpoints of two chains: {:?} and {:?}",
            from.origin, to.origin
        )));
    }
    if to.size < from.size {
        return Err(NoteError(format!(
            "the later checkpoint ({} blocks) is shorter than the earlier ({})",
            to.size, from.size
        )));
    }
    if proof.headers.len() as u64 != to.size - from.size {
        return Err(NoteError(format!(
            "{} headers given, {} blocks lie between the checkpoints",
            proof.headers.len(),
            to.size - from.size
        )));
    }
    let min = trust.map_or(0, |t| t.min_difficulty);
    let mut tip = from.tip;
    let mut lowest: Option<u32> = None;
    for (i, hex_header) in proof.headers.iter().enumerate() {
        // Below to.size, which the header count was checked against: no overflow.
        let height = from.size + i as u64;
        let at = |m: String| NoteError(format!("block at height {height}: {m}"));
        let bytes = hex::decode(hex_header).map_err(|e| at(e.to_string()))?;
        let header = BlockHeader::from_bytes(&bytes).map_err(|e| at(e.to_string()))?;
        if header.height != height {
            return Err(at(format!("header says height {}", header.height)));
        }
        if header.prev != tip {
            return Err(at(format!(
                "does not extend {tip}: the chain was rewritten after the earlier checkpoint"
            )));
        }
        let hash = header.hash();
        if leading_zero_bits(&hash) < header.difficulty {
            return Err(at("hash does not meet its difficulty".into()));
        }
        if header.difficulty < min {
            return Err(at(format!(
                "difficulty {} is below the required {min}",
                header.difficulty
            )));
        }
        lowest = Some(lowest.map_or(header.difficulty, |l| l.min(header.difficulty)));
        tip = hash;
    }
    if tip != to.tip {
        return Err(NoteError(format!(
            "the headers lead to {tip}, the later checkpoint names {}: the chain was rewritten",
            to.tip
        )));
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
        assert!(verify_consistency(&proof(BlockHash::from_bytes([1; 32])), None).is_err());
    }
}
