//! `trialnotary checkpoint`: print or export the signed checkpoint of the chain's tip, signing
//! one if the tip has none yet.

use std::path::PathBuf;

use anyhow::Context;

use super::{StoreArg, describe_checkpoint, output_path, print_json, write_output_bytes};
use crate::Outcome;
use trialnotary::store::Store;
use trialnotary::store::chain as chain_store;

/// Arguments of `checkpoint`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    store: StoreArg,
    /// The checkpoint of the block at this height instead of the tip.
    #[arg(long, value_name = "H")]
    height: Option<u64>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print one JSON object (origin, height, tip hash, time, the note, the file written).
    #[arg(long)]
    json: bool,
}

/// Runs `checkpoint`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let _lock = store.lock(true, true)?;
    let path = store.chain_path();
    let blocks = chain_store::read_chain(&path)?;
    chain_store::validate(&path, &blocks)?;
    let Some(tip) = blocks.last() else {
        anyhow::bail!("{}: the chain is empty", path.display());
    };
    let height = args.height.unwrap_or(tip.header.height);
    let block = usize::try_from(height)
        .ok()
        .and_then(|h| blocks.get(h))
        .with_context(|| {
            format!(
                "no block at height {height}: the tip is at {}",
                tip.header.height
            )
        })?;
    let note = match store.checkpoint(height)? {
        Some(n) => n,
        None => {
            let signer = store.load_signer()?.with_context(|| {
                format!(
                    "no checkpoint for height {height} and no signing key in {}: run `trialnotary key generate`",
                    store.root().display()
                )
            })?;
            let written =
                store.write_checkpoint(&signer, height, &block.hash, block.header.time)?;
            std::fs::read_to_string(&written)?
        }
    };
    let output = output_path(args.output.clone());
    if let Some(out) = &output {
        write_output_bytes(out, note.as_bytes(), 0o644)?;
    }
    let (mut json, phrase) = describe_checkpoint(&note)?;
    match (&output, args.json) {
        (_, true) => {
            json["note"] = serde_json::json!(note);
            json["written"] = serde_json::json!(output);
            print_json(&json)?;
        }
        (Some(out), false) => errln!("wrote {}: {phrase}", out.display()),
        (None, false) => out!("{note}")?,
    }
    Ok(Outcome::Ok)
}
