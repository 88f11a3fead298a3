//! `trialnotary-verify`: the regulator's verifier, built from the verification core alone
//! (`cargo build --release --no-default-features --bin trialnotary-verify`): no arrow, parquet,
//! csv, rayon, clap or indicatif. Exit 0 valid, 1 rejected (with the reason), 2 unusable input.

use std::process::ExitCode;

use trialnotary::chain::format;
use trialnotary::note::TrustStore;
use trialnotary::proof::parse_proofs;
use trialnotary::verify::{Evidence, Policy, verify_with};

const USAGE: &str = "usage: trialnotary-verify PROOF [--chain FILE] [--min-difficulty BITS] \
                     [--trust FILE] [--checkpoint FILE] [--json]";

/// The command line, parsed by hand to keep this binary's dependencies to the core's.
#[derive(Default)]
struct Args {
    proof: Option<String>,
    chain: Option<String>,
    min_difficulty: u32,
    trust: Option<String>,
    checkpoint: Option<String>,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--chain" => args.chain = Some(value()?),
            "--trust" => args.trust = Some(value()?),
            "--checkpoint" => args.checkpoint = Some(value()?),
            "--min-difficulty" => {
                let v = value()?;
                args.min_difficulty = v
                    .parse()
                    .map_err(|_| format!("--min-difficulty {v:?} is not a number"))?;
            }
            "--json" => args.json = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ if args.proof.is_none() => args.proof = Some(a),
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    Ok(args)
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {path}: {e}"))
}

/// Checks every proof; `Ok(true)` when all are valid.
fn run(args: &Args) -> Result<bool, String> {
    let proof_path = args
        .proof
        .as_deref()
        .ok_or_else(|| "no proof file given".to_owned())?;
    let proofs = parse_proofs(&read(proof_path, "proof")?)
        .map_err(|e| format!("{proof_path}: unusable proof: {e}"))?;
    let chain = match &args.chain {
        Some(p) => {
            let blocks =
                format::parse(&read(p, "chain")?).and_then(|b| format::check(&b).map(|()| b));
            match blocks {
                Ok(b) => Some(b.into_iter().map(|b| b.header).collect::<Vec<_>>()),
                Err(e) => {
                    report_invalid(args, "", &format!("the chain copy is invalid: {p}: {e}"));
                    return Ok(false);
                }
            }
        }
        None => None,
    };
    let trust = match &args.trust {
        Some(p) => {
            let text = String::from_utf8(read(p, "trust store")?)
                .map_err(|_| format!("{p}: not UTF-8"))?;
            Some(TrustStore::parse(&text).map_err(|e| format!("{p}: {e}"))?)
        }
        None => None,
    };
    let checkpoint = match &args.checkpoint {
        Some(p) => {
            Some(String::from_utf8(read(p, "checkpoint")?).map_err(|_| format!("{p}: not UTF-8"))?)
        }
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
        match verify_with(proof, &evidence) {
            Ok(report) if args.json => println!("{}", report.to_json()),
            Ok(report) => {
                for line in report.lines() {
                    println!("{prefix}{line}");
                }
                for w in &report.warnings {
                    eprintln!("warning: {w}");
                }
            }
            Err(e) => {
                all_valid = false;
                report_invalid(args, &prefix, &e.to_string());
            }
        }
    }
    Ok(all_valid)
}

fn report_invalid(args: &Args, prefix: &str, reason: &str) {
    if args.json {
        println!("{}", serde_json::json!({"valid": false, "reason": reason}));
    } else {
        println!("{prefix}INVALID: {reason}");
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
