//! `trialnotary verify`: check a proof (or an NDJSON file of proofs) offline, optionally against
//! a chain copy, a trust store and the data itself.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::print_json;
use crate::Outcome;
use trialnotary::chain::store as chain_store;
use trialnotary::ingest::{self, Batch};
use trialnotary::note::TrustStore;
use trialnotary::proof::{Proof, ProofKind};
use trialnotary::verify::{DataCheck, Evidence, Policy, Report, VerifyError, verify_with};

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

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Runs `verify`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(&args.proof)
        .with_context(|| format!("cannot read proof {}", args.proof.display()))?;
    let proofs = trialnotary::proof::parse_proofs(&bytes)
        .with_context(|| format!("{}: unusable proof", args.proof.display()))?;
    let chain = match &args.chain {
        Some(path) => {
            let blocks = chain_store::read_chain(path).context("cannot use the chain copy")?;
            if let Err(e) = chain_store::validate(path, &blocks) {
                let reason = format!("the chain copy is invalid: {e}");
                print_rejection(&args, "", &reason)?;
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
            TrustStore::parse(&read_text(p, "trust store")?)
                .with_context(|| p.display().to_string())?,
        ),
        None => None,
    };
    let checkpoint = match &args.checkpoint {
        Some(p) => Some(read_text(p, "checkpoint")?),
        None => None,
    };
    let evidence = Evidence {
        policy: Policy {
            min_difficulty: args.min_difficulty,
        },
        chain: chain.as_deref(),
        trust: trust.as_ref(),
        checkpoint: checkpoint.as_deref(),
    };
    let mut all_valid = true;
    for (i, proof) in proofs.iter().enumerate() {
        let prefix = if proofs.len() > 1 {
            format!("proof {}: ", i + 1)
        } else {
            String::new()
        };
        let mut result = verify_with(proof, &evidence);
        let mut data_checked = false;
        if let (Ok(_), Some(data)) = (&result, &args.data) {
            match check_data(proof, data)? {
                Ok(()) => data_checked = true,
                Err(e) => result = Err(e),
            }
        }
        match result {
            Ok(report) => print_valid(&args, &prefix, &report, data_checked)?,
            Err(e) => {
                all_valid = false;
                print_rejection(&args, &prefix, &e.to_string())?;
            }
        }
    }
    Ok(if all_valid {
        Outcome::Ok
    } else {
        Outcome::Rejected
    })
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

fn print_rejection(args: &Args, prefix: &str, reason: &str) -> anyhow::Result<()> {
    if args.json {
        print_json(&json!({"valid": false, "reason": reason}))
    } else {
        println!("{prefix}INVALID: {reason}");
        Ok(())
    }
}

fn print_valid(
    args: &Args,
    prefix: &str,
    report: &Report,
    data_checked: bool,
) -> anyhow::Result<()> {
    if args.json {
        let mut value = report.to_json();
        value["data_checked"] = json!(data_checked);
        return print_json(&value);
    }
    for line in report.lines() {
        println!("{prefix}{line}");
    }
    if data_checked {
        println!("{prefix}  every row of the data file matches the notarized dataset");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
