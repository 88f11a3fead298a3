//! What anchors a verified proof's block in something the verifier trusts: a chain copy (and the
//! confirmations it gives), a trusted tip hash, or a checkpoint signed and cosigned as a trust
//! store requires; and the report of a valid proof, as sentences and as JSON.

use crate::core::hash::BlockHash;
use crate::core::header::BlockHeader;
use crate::core::proof::{Proof, ProofKind};
use crate::core::verify::{Policy, Verdict, VerifyError, verify_proof};

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
            "dataset": matches!(v.kind, ProofKind::Record | ProofKind::Dataset).then_some(&v.name),
            "document": (v.kind == ProofKind::Document).then_some(&v.name),
            "row": v.row,
            "submission": v.submission,
            "submission_root": v.submission_root,
            "block": {"height": v.header.height, "hash": v.block_hash, "time": v.header.time,
                      "utc": utc(v.header.time), "difficulty": v.header.difficulty,
                      "work_bits": v.work_bits},
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
        let what = match (v.kind, v.row) {
            (ProofKind::Record, Some(row)) => {
                format!(
                    "row {row} of dataset {} in submission {}",
                    v.name, v.submission
                )
            }
            (ProofKind::Document, _) => {
                format!("document {} in submission {}", v.name, v.submission)
            }
            (ProofKind::Submission, _) => format!("submission {}", v.submission),
            _ => format!("dataset {} in submission {}", v.name, v.submission),
        };
        let valid = if self.anchored_by.is_empty() {
            "VALID (self-contained only)"
        } else {
            "VALID"
        };
        let mut out = vec![format!(
            "{valid}: {what} is anchored in block {} ({}) of {}, difficulty {} bits",
            v.header.height,
            v.block_hash,
            utc(v.header.time),
            v.header.difficulty
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

/// `YYYY-MM-DDTHH:MM:SSZ` of `t` seconds since 1970-01-01T00:00:00Z: the proleptic Gregorian
/// calendar by H. Hinnant's `civil_from_days` (block times stop at the end of year 9999).
pub fn utc(t: u64) -> String {
    let (days, secs) = ((t / 86_400) as i64 + 719_468, t % 86_400);
    let (era, doe) = (days.div_euclid(146_097), days.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let (day, month) = (
        doy - (153 * mp + 2) / 5 + 1,
        if mp < 10 { mp + 3 } else { mp - 9 },
    );
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {

    #[test]
    fn utc_times_are_the_calendars() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_135_430), "2026-12-01T14:30:30Z");
        assert_eq!(utc(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    /// Against chrono, where the pipeline builds it, over four centuries in uneven steps.
    #[cfg(feature = "pipeline")]
    #[test]
    fn utc_agrees_with_chrono() {
        let mut t = 0u64;
        while t < 253_402_300_800 {
            let want = chrono::DateTime::from_timestamp(t as i64, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(utc(t), want, "{t}");
            t += 86_400 * 97 + 3_607;
        }
    }

    use super::*;

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
            name: "d".into(),
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
}
