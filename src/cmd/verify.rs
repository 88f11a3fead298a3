//! `trialnotary verify`: check a proof (or an NDJSON file of proofs) offline, optionally against
//! a chain copy and against the data itself.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::print_json;
use crate::Outcome;
use trialnotary::chain::store as chain_store;
use trialnotary::ingest::{self, Batch};
use trialnotary::note::{Checkpoint, Note, TrustStore, check_checkpoint};
use trialnotary::proof::{Proof, ProofKind};
use trialnotary::verify::{
    DataCheck, Policy, Verdict, VerifyError, check_in_chain, checkpoint_covers, verify_proof,
};

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Proof file: one JSON proof, or NDJSON (one proof per line, as `prove --all-rows` writes).
    #[arg(value_name = "PROOF")]
    proof: PathBuf,
    /// A copy of the chain file: the block must be in it; its confirmations are reported.
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// Reject blocks whose difficulty is below this many leading zero bits.
    #[arg(long, value_name = "BITS", default_value_t = 0)]
    min_difficulty: u32,
    /// For a dataset proof: the dataset file (CSV, Parquet or Arrow) to re-hash row by row.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Trust store: sponsor keys, witness keys, required cosignatures and minimum difficulty.
    /// The block must be covered by a checkpoint signed by a trusted sponsor key.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Use this signed checkpoint instead of the one the proof carries.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Print one JSON object per proof instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// What became of one proof.
struct Checked {
    verdict: Result<Verdict, VerifyError>,
    confirmations: Option<u64>,
    data_checked: bool,
    /// Who signed the covering checkpoint, and whether a trust store vouched for them.
    signed: Option<Signed>,
}

struct Signed {
    signer: String,
    witnesses: Vec<String>,
    trusted: bool,
}

/// Checks the covering checkpoint: against the trust store when there is one.
fn check_signed(
    verdict: &Verdict,
    note: Option<&str>,
    trust: Option<&TrustStore>,
    chain: Option<&[trialnotary::chain::header::BlockHeader]>,
) -> Result<Option<Signed>, VerifyError> {
    let bad = |e: trialnotary::note::NoteError| VerifyError::Checkpoint(e.to_string());
    match (trust, note) {
        (Some(_), None) => Err(VerifyError::Checkpoint(
            "the proof carries no signed checkpoint and the trust store requires one (give --checkpoint)".into(),
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

/// Runs `verify`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(&args.proof)
        .with_context(|| format!("cannot read proof {}", args.proof.display()))?;
    let proofs = parse_proofs(&bytes)
        .with_context(|| format!("{}: unusable proof", args.proof.display()))?;
    let chain = match &args.chain {
        Some(path) => {
            let blocks = chain_store::read_chain(path).context("cannot use the chain copy")?;
            if let Err(e) = chain_store::validate(path, &blocks) {
                report_chain_invalid(&args, &e.to_string())?;
                return Ok(Outcome::Rejected);
            }
            Some(blocks.into_iter().map(|b| b.header).collect::<Vec<_>>())
        }
        None => None,
    };
    if args.data.is_some() && (proofs.len() != 1 || proofs[0].kind != ProofKind::Dataset) {
        anyhow::bail!("--data needs a dataset proof (`prove --dataset NAME` without --row)");
    }
    let trust = match &args.trust {
        Some(p) => Some(
            TrustStore::parse(
                &std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read trust store {}", p.display()))?,
            )
            .with_context(|| p.display().to_string())?,
        ),
        None => None,
    };
    let external = match &args.checkpoint {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let min_difficulty = args
        .min_difficulty
        .max(trust.as_ref().map_or(0, |t| t.min_difficulty));
    let policy = Policy { min_difficulty };
    let mut all_valid = true;
    for (i, proof) in proofs.iter().enumerate() {
        let mut checked = Checked {
            verdict: verify_proof(proof, &policy),
            confirmations: None,
            data_checked: false,
            signed: None,
        };
        if let (Ok(v), Some(chain)) = (&checked.verdict, &chain) {
            match check_in_chain(v, chain) {
                Ok(c) => checked.confirmations = Some(c),
                Err(e) => checked.verdict = Err(e),
            }
        }
        if let Ok(v) = &checked.verdict {
            let note = external.as_deref().or(proof.checkpoint.as_deref());
            match check_signed(v, note, trust.as_ref(), chain.as_deref()) {
                Ok(s) => checked.signed = s,
                Err(e) => checked.verdict = Err(e),
            }
        }
        if let (Ok(_), Some(data)) = (&checked.verdict, &args.data) {
            if let Err(e) = check_data(proof, data)? {
                checked.verdict = Err(e);
            } else {
                checked.data_checked = true;
            }
        }
        all_valid &= checked.verdict.is_ok();
        report(&args, i, proofs.len(), &checked)?;
    }
    Ok(if all_valid {
        Outcome::Ok
    } else {
        Outcome::Rejected
    })
}

/// One proof, or NDJSON lines of proofs.
fn parse_proofs(bytes: &[u8]) -> anyhow::Result<Vec<Proof>> {
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let ndjson = lines.len() > 1
        && lines
            .iter()
            .all(|l| l.first() == Some(&b'{') && l.last() == Some(&b'}'));
    if ndjson && Proof::from_json(lines[0]).is_ok() {
        return lines
            .iter()
            .enumerate()
            .map(|(i, l)| Proof::from_json(l).with_context(|| format!("line {}", i + 1)))
            .collect();
    }
    Ok(vec![Proof::from_json(bytes)?])
}

/// Re-hashes the data file against a dataset proof. The outer error is unusable input (exit 2),
/// the inner one a mismatch (exit 1).
fn check_data(proof: &Proof, path: &Path) -> anyhow::Result<Result<(), VerifyError>> {
    let (format, _) = ingest::Format::from_path(path).with_context(|| {
        format!(
            "{}: expected a .csv, .parquet, .arrow or .feather file",
            path.display()
        )
    })?;
    let mut source = ingest::open(path, format)?;
    let columns = source.columns().to_vec();
    let mut check = match DataCheck::new(proof, &columns) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let mut batch = Batch::default();
    while source.next_batch(&mut batch)? {
        for i in 0..batch.len() {
            if let Err(e) = check.push(batch.row(i)) {
                return Ok(Err(e));
            }
        }
    }
    Ok(check.finish())
}

const POW_WARNING: &str = "only the sponsor's proof of work backs this block: compare its hash \
                           with a chain copy or tip you trust (--chain) to detect a rewritten history";

fn report_chain_invalid(args: &Args, reason: &str) -> anyhow::Result<()> {
    if args.json {
        print_json(&json!({"valid": false, "reason": format!("chain copy is invalid: {reason}")}))
    } else {
        println!("INVALID: the chain copy is invalid: {reason}");
        Ok(())
    }
}

fn report(args: &Args, index: usize, count: usize, c: &Checked) -> anyhow::Result<()> {
    let prefix = if count > 1 {
        format!("proof {}: ", index + 1)
    } else {
        String::new()
    };
    let mut warnings: Vec<String> = Vec::new();
    match &c.signed {
        None if args.chain.is_none() => warnings.push(POW_WARNING.to_owned()),
        Some(s) if !s.trusted => warnings.push(format!(
            "the checkpoint is signed by {:?}, but no --trust store was given, so nobody vouched for that key",
            s.signer
        )),
        _ => {}
    }
    match &c.verdict {
        Ok(v) => {
            if args.json {
                return print_json(&json!({
                    "valid": true,
                    "kind": v.kind,
                    "dataset": v.dataset,
                    "row": v.row,
                    "submission": v.submission,
                    "submission_root": v.submission_root,
                    "block": {"height": v.header.height, "hash": v.block_hash,
                              "time": v.header.time, "difficulty": v.header.difficulty,
                              "work_bits": v.work_bits},
                    "confirmations": c.confirmations,
                    "data_checked": c.data_checked,
                    "checkpoint": c.signed.as_ref().map(|s| json!({
                        "signer": s.signer, "witnesses": s.witnesses, "trusted": s.trusted,
                    })),
                    "warnings": warnings,
                }));
            }
            let what = match v.row {
                Some(row) => format!("row {row} of dataset {}", v.dataset),
                None => format!("dataset {}", v.dataset),
            };
            println!(
                "{prefix}VALID: {what} in submission {} is anchored in block {} ({}), difficulty {} bits",
                v.submission, v.header.height, v.block_hash, v.header.difficulty
            );
            if let Some(n) = c.confirmations {
                println!("{prefix}  in the given chain, with {n} later block(s)");
            }
            if c.data_checked {
                println!("{prefix}  every row of the data file matches the notarized dataset");
            }
            if let Some(s) = c.signed.as_ref().filter(|s| s.trusted) {
                println!(
                    "{prefix}  covered by a checkpoint signed by trusted key {}{}",
                    s.signer,
                    if s.witnesses.is_empty() {
                        String::new()
                    } else {
                        format!(", cosigned by {}", s.witnesses.join(", "))
                    }
                );
            }
            for w in warnings {
                eprintln!("warning: {w}");
            }
        }
        Err(e) => {
            if args.json {
                return print_json(&json!({"valid": false, "reason": e.to_string()}));
            }
            println!("{prefix}INVALID: {e}");
        }
    }
    Ok(())
}
