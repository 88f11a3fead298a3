//! `trialnotary verify-consistency`: check offline that a later checkpoint extends an earlier one.

use std::path::PathBuf;

use serde_json::json;

use super::print_json;
use crate::Outcome;
use trialnotary::core::consistency::{
    ConsistencyError, ConsistencyProof, Consistent, verify_consistency,
};
use trialnotary::core::note::TrustStore;
use trialnotary::core::session::{self, Unusable};

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

/// Runs `verify-consistency`. With `--json`, input it cannot use (exit 2) is a JSON line too,
/// with its code, as `verify --json` gives it.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (checked, signatures) = match check(&args) {
        Ok(checked) => checked,
        Err(e) => {
            if args.json {
                print_json(&json!({"valid": false, "code": e.code, "reason": e.message}))?;
            }
            return Err(e.into());
        }
    };
    match checked {
        Ok(c) => {
            if args.json {
                print_json(
                    &json!({"valid": true, "origin": c.from.origin, "from": c.from.size, "to": c.to.size,
                                   "tip": c.to.tip, "signatures_checked": signatures}),
                )?;
            } else {
                // A note's text means nothing until a trusted key's signature verifies: without
                // a trust store the origin is only what both checkpoints claim.
                let whose = if signatures {
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
                if !signatures {
                    errln!(
                        "warning: signatures not checked; give --trust to require the sponsor's key"
                    );
                }
            }
            Ok(Outcome::Ok)
        }
        Err(e) => {
            if args.json {
                print_json(&json!({"valid": false, "code": e.code, "reason": e.reason}))?;
            } else {
                outln!("INVALID: {e}")?;
            }
            Ok(Outcome::Rejected)
        }
    }
}

/// Reads the proof and the trust store and checks the proof: the verdict, and whether
/// signatures were checked; or input it cannot use.
fn check(args: &Args) -> Result<(Result<Consistent, ConsistencyError>, bool), Unusable> {
    let name = args.proof.display().to_string();
    let bytes = std::fs::read(&args.proof)
        .map_err(|e| session::cannot_read("consistency proof", &name, &e))?;
    let proof = ConsistencyProof::from_json(&bytes).map_err(|e| Unusable {
        code: "unusable-proof",
        message: format!("{name}: unusable consistency proof: {e}"),
    })?;
    let trust = match &args.trust {
        Some(p) => {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| session::cannot_read("trust store", &name, &e))?;
            Some(TrustStore::parse(&text).map_err(|e| Unusable {
                code: "unusable-trust-store",
                message: format!("{name}: {e}"),
            })?)
        }
        None => None,
    };
    Ok((verify_consistency(&proof, trust.as_ref()), trust.is_some()))
}
