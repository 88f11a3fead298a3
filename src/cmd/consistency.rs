//! `trialnotary verify-consistency`: check offline that a later checkpoint extends an earlier one.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::print_json;
use crate::Outcome;
use trialnotary::core::consistency::{ConsistencyProof, verify_consistency};
use trialnotary::core::note::TrustStore;

/// Arguments of `verify-consistency`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The consistency proof (`chain consistency`).
    #[arg(value_name = "PROOF")]
    proof: PathBuf,
    /// Trust store: both checkpoints must be signed (and cosigned) as it requires.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `verify-consistency`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(&args.proof)
        .with_context(|| format!("cannot read {}", args.proof.display()))?;
    let proof: ConsistencyProof = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: unusable consistency proof", args.proof.display()))?;
    let trust = match &args.trust {
        Some(p) => Some(TrustStore::parse(
            &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        )?),
        None => None,
    };
    match verify_consistency(&proof, trust.as_ref()) {
        Ok(c) => {
            if args.json {
                print_json(
                    &json!({"valid": true, "origin": c.from.origin, "from": c.from.size, "to": c.to.size,
                                   "tip": c.to.tip, "signatures_checked": trust.is_some()}),
                )?;
            } else {
                // A note's text means nothing until a trusted key's signature verifies: without
                // a trust store the origin is only what both checkpoints claim.
                let whose = if trust.is_some() {
                    format!("of {}", c.from.origin)
                } else {
                    format!("(unverified origin {:?})", c.from.origin)
                };
                outln!(
                    "VALID: {} blocks {whose} extend the earlier {} ({} new)",
                    c.to.size,
                    c.from.size,
                    c.to.size - c.from.size
                )?;
                if trust.is_none() {
                    errln!(
                        "warning: signatures not checked; give --trust to require the sponsor's key"
                    );
                }
            }
            Ok(Outcome::Ok)
        }
        Err(e) => {
            if args.json {
                print_json(&json!({"valid": false, "reason": e.to_string()}))?;
            } else {
                outln!("INVALID: {e}")?;
            }
            Ok(Outcome::Rejected)
        }
    }
}
