//! `trialnotary witness cosign`: a regulator or third party checks a checkpoint (signed by the
//! sponsor's key, consistent with the last one it cosigned) and adds its cosignature.

use std::path::PathBuf;

use anyhow::Context;

use serde_json::json;

use super::{describe_checkpoint, output_path, print_json, write_output_bytes};
use crate::Outcome;
use trialnotary::core::consistency::{ConsistencyProof, verify_consistency};
use trialnotary::core::note::{Checkpoint, Note, VerifierKey};
use trialnotary::signing::SignerKey;
use trialnotary::store::write_atomic;

/// Witness subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Cosign a checkpoint after checking it.
    Cosign(Args),
}

/// Arguments of `witness cosign`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The witness's signing key (from `key generate --witness`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The checkpoint to cosign (a signed note).
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// The sponsor's public key: the checkpoint must be signed by it.
    #[arg(long, value_name = "VKEY")]
    log_key: String,
    /// The witness's state: the last checkpoint it cosigned for this chain. When it exists, a
    /// consistency proof from it to the new checkpoint is required; it is updated after cosigning.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Consistency proof from the state's checkpoint to this one (`chain consistency`).
    #[arg(long, value_name = "FILE")]
    consistency: Option<PathBuf>,
    /// Where to write the cosigned checkpoint (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print one JSON object (`cosigned`, the checkpoint, the note, the file written, or the
    /// reason for refusing).
    #[arg(long)]
    json: bool,
}

/// Reports a refusal (exit 1) as a line or a JSON object.
fn refuse(json: bool, reason: String) -> anyhow::Result<Outcome> {
    if json {
        print_json(&json!({"cosigned": false, "reason": reason}))?;
    } else {
        outln!("REFUSED: {reason}")?;
    }
    Ok(Outcome::Rejected)
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Runs a witness subcommand.
pub fn run(Command::Cosign(args): Command) -> anyhow::Result<Outcome> {
    let key =
        SignerKey::parse(&read(&args.key)?).with_context(|| args.key.display().to_string())?;
    if !key.is_witness() {
        anyhow::bail!(
            "{} is not a witness key (make one with `key generate --witness`)",
            args.key.display()
        );
    }
    let log_key = VerifierKey::parse(&args.log_key)?;
    let text = read(&args.checkpoint)?;
    let mut note =
        Note::parse(text.as_bytes()).with_context(|| args.checkpoint.display().to_string())?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    if log_key.name != checkpoint.origin || note.signed_by(&log_key).is_none() {
        return refuse(
            args.json,
            format!(
                "the checkpoint is not signed by {} for its origin {:?}",
                log_key.name, checkpoint.origin
            ),
        );
    }
    if let Some(state) = args.state.as_ref().filter(|s| s.exists()) {
        let previous = Note::parse(read(state)?.as_bytes())?;
        if previous.text != note.text {
            let proof_path = args.consistency.as_ref().with_context(|| {
                format!(
                    "{} holds an earlier checkpoint: give --consistency from it to this one",
                    state.display()
                )
            })?;
            let proof = ConsistencyProof::from_json(read(proof_path)?.as_bytes())
                .with_context(|| format!("{}: not a consistency proof", proof_path.display()))?;
            let from = Note::parse(proof.from.as_bytes())?;
            let to = Note::parse(proof.to.as_bytes())?;
            if from.text != previous.text || to.text != note.text {
                return refuse(
                    args.json,
                    "the consistency proof is not from the last cosigned checkpoint to this one"
                        .into(),
                );
            }
            if let Err(e) = verify_consistency(&proof, None) {
                return refuse(
                    args.json,
                    format!("not consistent with the last cosigned checkpoint: {e}"),
                );
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    key.cosign(&mut note, now);
    let out = note.to_text();
    if let Some(state) = &args.state {
        write_atomic(state, out.as_bytes(), 0o644)?;
    }
    let output = output_path(args.output.clone());
    if let Some(path) = &output {
        write_output_bytes(path, out.as_bytes(), 0o644)?;
    }
    let (mut described, phrase) = describe_checkpoint(&out)?;
    match (&output, args.json) {
        (_, true) => {
            described["cosigned"] = json!(true);
            described["witness"] = json!(key.verifier().name);
            described["note"] = json!(out);
            described["written"] = json!(output);
            print_json(&described)?;
        }
        (Some(path), false) => errln!(
            "wrote {}: {phrase}, cosigned by {}",
            path.display(),
            key.verifier().name
        ),
        (None, false) => out!("{out}")?,
    }
    Ok(Outcome::Ok)
}
