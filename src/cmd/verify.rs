//! `trialnotary verify`: check a proof (or an NDJSON file of proofs) offline against what the
//! verifier trusts, and a dataset proof against the verifier's copy of the data. The verdicts
//! are [`trialnotary::core::session`]'s, the same as `trialnotary-verify`'s.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Outcome;
use trialnotary::core::proof::{Proof, ProofKind};
use trialnotary::core::session::{self, Inputs, Loaded, ProofReader, RunError, Said, Unusable};
use trialnotary::core::verify::VerifyError;
use trialnotary::datacheck::{DataCheck, check_document};
use trialnotary::ingest::{self, Batch};

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Proof file: one JSON proof, or NDJSON (one proof per line, as `prove --all-rows` writes).
    #[arg(value_name = "PROOF")]
    proof: PathBuf,
    /// A copy of the sponsor's chain file: the block must be in it; its confirmations are
    /// reported.
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// Trust store: sponsor keys, witness keys, required cosignatures and minimum difficulty.
    /// The block must be covered by a checkpoint signed by a trusted sponsor key.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// A block hash you trust (the sponsor's tip, from a channel you trust): the proof's block,
    /// or with --chain a later block of that chain.
    #[arg(long, value_name = "HASH")]
    tip: Option<String>,
    /// Accept a proof that nothing you trust anchors, checking its internal consistency alone
    /// (the verdict says what that does not prove).
    #[arg(long)]
    self_contained: bool,
    /// Use this signed checkpoint instead of the one the proof carries.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Reject blocks whose difficulty is below this many leading zero bits.
    #[arg(long, value_name = "BITS", default_value_t = 0)]
    min_difficulty: u32,
    /// Your copy of the data: for a dataset proof made with --with-salts, the dataset (in any
    /// format: the root does not depend on it), re-hashed row by row; for a document proof,
    /// the file, compared byte for byte.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// One JSON object per proof (NDJSON for an NDJSON file, then a summary object).
    #[arg(long)]
    json: bool,
}

fn read(what: &str, path: &Option<PathBuf>) -> Result<Option<(String, Vec<u8>)>, Unusable> {
    let Some(path) = path else { return Ok(None) };
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| session::cannot_read(what, &name, &e))?;
    Ok(Some((
        name.clone(),
        session::read_evidence(what, &name, file)?,
    )))
}

fn say(said: &Said) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(said.out.as_bytes())?;
    std::io::stderr().lock().write_all(said.err.as_bytes())
}

/// Runs `verify`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    match check(&args) {
        Ok(0) => Ok(Outcome::Ok),
        Ok(1) => Ok(Outcome::Rejected),
        Ok(_) => Ok(Outcome::Unusable),
        Err(RunError::Output(e)) => Err(e).context("writing the verdict"),
        Err(RunError::Unusable(e)) => {
            if args.json {
                let _ = writeln!(std::io::stdout(), "{}", session::unusable_json(&e));
            }
            Err(e.into())
        }
    }
}

fn check(args: &Args) -> Result<u8, RunError> {
    let chain = read("chain copy", &args.chain)?;
    let trust = read("trust store", &args.trust)?;
    let checkpoint = read("checkpoint", &args.checkpoint)?;
    let loaded = Loaded::new(&Inputs {
        chain: session::named(&chain),
        trust: session::named(&trust),
        checkpoint: session::named(&checkpoint),
        tip: args.tip.as_deref(),
        min_difficulty: args.min_difficulty,
        self_contained: args.self_contained,
        now: session::now(),
    })?;
    let name = args.proof.display().to_string();
    let file =
        std::fs::File::open(&args.proof).map_err(|e| session::cannot_read("proof", &name, &e))?;
    let mut proofs = ProofReader::new(std::io::BufReader::new(file), &name)?;
    if args.data.is_some() && proofs.is_ndjson() {
        return Err(Unusable {
            code: "usage",
            message: "--data needs one dataset proof, not an NDJSON file of proofs".into(),
        }
        .into());
    }
    let extra = |proof: &Proof| match &args.data {
        None => Ok(Ok(Vec::new())),
        Some(data) => check_data(proof, data),
    };
    session::run(&mut proofs, &loaded, args.json, &name, extra, say)
}

/// Re-hashes the data file against a dataset proof. The outer error is unusable input (exit 2),
/// the inner one a mismatch (exit 1).
fn check_data(proof: &Proof, path: &Path) -> Result<Result<Vec<String>, VerifyError>, Unusable> {
    let usage = |message: String| Unusable {
        code: "usage",
        message,
    };
    if proof.kind == ProofKind::Document {
        let name = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| session::cannot_read("data", &name, &e))?;
        let checked = check_document(proof, std::io::BufReader::new(file))
            .map_err(|e| session::cannot_read("data", &name, &e))?;
        return Ok(
            checked.map(|()| vec!["  the file is byte for byte the notarized document".to_owned()])
        );
    }
    if proof.kind != ProofKind::Dataset {
        return Err(usage(
            "--data needs a dataset proof (`prove --dataset NAME --with-salts`) or a document \
             proof (`prove --file PATH`)"
                .into(),
        ));
    }
    if proof.salts.is_none() {
        return Err(Unusable {
            code: "no-salts",
            message: "--data needs the dataset's salts, which this proof does not carry: ask \
                      for one made with `prove --dataset NAME --with-salts`"
                .into(),
        });
    }
    let bad = |e: ingest::IngestError| Unusable {
        code: "unusable-data",
        message: e.to_string(),
    };
    let (format, _) = ingest::Format::from_path(path).ok_or_else(|| {
        let known: Vec<&str> = ingest::EXTENSIONS.iter().map(|(e, _)| *e).collect();
        usage(format!(
            "{}: not a dataset file (expected one of {})",
            path.display(),
            known.join(", ")
        ))
    })?;
    let mut source = ingest::open(path, format).map_err(bad)?;
    let columns = source.columns().to_vec();
    let mut check = match DataCheck::new(proof, &columns) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let bar = super::rows_bar(proof.dataset.as_ref().map_or(0, |d| d.rows), "check");
    let mut batch = Batch::default();
    while source.next_batch(&mut batch).map_err(bad)? {
        for i in 0..batch.len() {
            if let Err(e) = check.push(batch.row(i)) {
                return Ok(Err(e));
            }
        }
        bar.inc(batch.len() as u64);
    }
    Ok(check
        .finish()
        .map(|()| vec!["  every row of the data file matches the notarized dataset".to_owned()]))
}
