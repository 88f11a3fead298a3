//! `trialnotary chain verify` and `trialnotary chain show`.

use serde_json::json;

use super::{StoreArg, print_json};
use crate::Outcome;
use trialnotary::archive::Store;
use trialnotary::chain::store::{self as chain_store, ChainError, Repair};

/// Chain subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Recompute every block: checksum, linkage, proof of work, heights, anchor roots.
    Verify(Args),
    /// List the blocks and the submissions each anchors.
    Show(Args),
    /// Cut a torn tail (an interrupted append) off the chain, after backing the file up.
    Repair(Args),
}

/// Arguments of the chain subcommands.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    store: StoreArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a chain subcommand.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Verify(args) => verify(&args),
        Command::Show(args) => show(&args),
        Command::Repair(args) => repair(&args),
    }
}

fn verify(args: &Args) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let path = store.chain_path();
    if !path.exists() {
        anyhow::bail!(
            "{}: no chain file (nothing notarized in this store yet)",
            path.display()
        );
    }
    let _lock = store.lock(false, true)?;
    let result =
        chain_store::read_chain(&path).and_then(|b| chain_store::validate(&path, &b).map(|_| b));
    let bad = |height: Option<u64>, offset: u64, e: &ChainError| -> anyhow::Result<Outcome> {
        if args.json {
            print_json(
                &json!({"valid": false, "height": height, "offset": offset, "reason": e.to_string()}),
            )?;
        } else {
            println!("INVALID: {e}");
        }
        Ok(Outcome::Rejected)
    };
    match result {
        Ok(blocks) => {
            let tip = blocks.last();
            if args.json {
                print_json(&json!({
                    "valid": true,
                    "blocks": blocks.len(),
                    "tip": tip.map(|b| json!({"height": b.header.height, "hash": b.hash})),
                }))?;
            } else {
                match tip {
                    Some(b) => println!(
                        "VALID: {} blocks, tip at height {} ({})",
                        blocks.len(),
                        b.header.height,
                        b.hash
                    ),
                    None => println!("VALID: empty chain"),
                }
            }
            Ok(Outcome::Ok)
        }
        Err(e @ ChainError::TornTail { offset, blocks, .. }) => bad(Some(blocks), offset, &e),
        Err(e @ ChainError::Corrupt { height, offset, .. }) => bad(Some(height), offset, &e),
        Err(e @ ChainError::Invalid { height, offset, .. }) => bad(Some(height), offset, &e),
        Err(e) => Err(e.into()),
    }
}

fn show(args: &Args) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let _lock = store.lock(false, true)?;
    let blocks = chain_store::read_chain(&store.chain_path())?;
    if args.json {
        let list: Vec<_> = blocks
            .iter()
            .map(|b| {
                json!({
                    "height": b.header.height, "hash": b.hash, "prev": b.header.prev,
                    "anchor_root": b.header.anchor_root, "time": b.header.time,
                    "difficulty": b.header.difficulty, "nonce": b.header.nonce, "offset": b.offset,
                    "submissions": b.submissions,
                })
            })
            .collect();
        print_json(&json!({"blocks": list}))?;
        return Ok(Outcome::Ok);
    }
    for b in &blocks {
        println!(
            "block {}  {}  time {}  difficulty {}  nonce {}",
            b.header.height, b.hash, b.header.time, b.header.difficulty, b.header.nonce
        );
        for s in &b.submissions {
            println!(
                "  {}  root {}  {} records in {} datasets",
                s.id, s.root, s.records, s.datasets
            );
        }
    }
    if blocks.is_empty() {
        println!("empty chain");
    }
    Ok(Outcome::Ok)
}

fn repair(args: &Args) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let path = store.chain_path();
    if !path.exists() {
        anyhow::bail!("{}: no chain file", path.display());
    }
    let _lock = store.lock(true, true)?;
    match chain_store::repair(&path) {
        Ok(Repair::NothingToDo { blocks }) => {
            if args.json {
                print_json(&json!({"repaired": false, "blocks": blocks}))?;
            } else {
                println!("nothing to repair: {blocks} good blocks, no torn tail");
            }
            Ok(Outcome::Ok)
        }
        Ok(Repair::Truncated {
            offset,
            removed,
            backup,
            blocks,
        }) => {
            if args.json {
                print_json(
                    &json!({"repaired": true, "blocks": blocks, "offset": offset,
                                   "removed_bytes": removed, "backup": backup}),
                )?;
            } else {
                println!(
                    "removed a torn tail of {removed} bytes at offset {offset}; {blocks} good blocks kept; \
                     the file as it was is in {}",
                    backup.display()
                );
            }
            Ok(Outcome::Ok)
        }
        Err(e @ (ChainError::Corrupt { .. } | ChainError::Invalid { .. })) => {
            if args.json {
                print_json(&json!({"repaired": false, "reason": e.to_string()}))?;
            } else {
                println!(
                    "NOT REPAIRED: {e}\nDamage before the tail cannot be cut off without losing \
                     anchored blocks; restore chain.tnc from a backup or a regulator's copy."
                );
            }
            Ok(Outcome::Rejected)
        }
        Err(e) => Err(e.into()),
    }
}
