//! `trialnotary chain verify`, `chain tip`, `chain show`, `chain repair` and `chain consistency`.

use std::io::Write;

use serde_json::json;

use super::{StoreArg, output_path, print_json, utc, write_output_bytes};
use crate::Outcome;
use trialnotary::core::chain::ChainFault;
use trialnotary::store::Store;
use trialnotary::store::chain::{self as chain_store, ChainError, Repair};

/// Chain subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Recompute every block: checksum, linkage, proof of work, heights, anchor roots.
    Verify(Args),
    /// Print the tip's block hash, after verifying the chain: what a sponsor hands a regulator
    /// through a channel they trust, for `verify --tip`.
    Tip(Args),
    /// List the blocks and the submissions each anchors.
    Show(Args),
    /// Cut a torn tail (an interrupted append) off the chain, after backing the file up.
    Repair(RepairArgs),
    /// Prove that the chain's later tip extends an earlier signed checkpoint.
    Consistency(ConsistencyArgs),
}

/// Arguments of `chain consistency`.
#[derive(clap::Args, Debug)]
pub struct ConsistencyArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The earlier signed checkpoint (e.g. the one a regulator kept last month).
    #[arg(long, value_name = "CHECKPOINT")]
    from: std::path::PathBuf,
    /// The later signed checkpoint (default: the store's checkpoint of the current tip).
    #[arg(long, value_name = "CHECKPOINT")]
    to: Option<std::path::PathBuf>,
    /// Write the proof to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    /// With -o: report what was written as one JSON object on standard output.
    #[arg(long, requires = "output")]
    json: bool,
}

/// Arguments of `chain repair`.
#[derive(clap::Args, Debug)]
pub struct RepairArgs {
    #[command(flatten)]
    common: Args,
    /// Also cut a corrupt *last* entry (complete in length, damaged in content). It may be an
    /// acknowledged block damaged since, or an append a power loss left filled with zeros: only
    /// you can tell, from your backups and your nightly job's logs. The file is backed up first.
    #[arg(long)]
    drop_corrupt_last: bool,
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
        Command::Verify(args) => verify(&args, false),
        Command::Tip(args) => verify(&args, true),
        Command::Show(args) => show(&args),
        Command::Repair(args) => repair(&args),
        Command::Consistency(args) => consistency(&args),
    }
}

/// `chain verify`, or with `tip_only` `chain tip`: the same checks, then the tip alone.
fn verify(args: &Args, tip_only: bool) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let path = store.chain_path();
    let _lock = store.lock(false, true)?;
    if !path.exists() {
        anyhow::bail!(
            "{}: no chain file (nothing notarized in this store yet)",
            path.display()
        );
    }
    let result =
        chain_store::read_chain(&path).and_then(|b| chain_store::validate(&path, &b).map(|_| b));
    let blocks = match result {
        Ok(blocks) => blocks,
        Err(ChainError::Fault { path, fault }) => {
            let (height, offset, code) = match &fault {
                ChainFault::TornTail { offset, blocks, .. } => (*blocks, *offset, "torn-tail"),
                ChainFault::Corrupt { height, offset, .. } => (*height, *offset, "corrupt"),
                ChainFault::Invalid {
                    height,
                    offset,
                    rule,
                    ..
                } => (*height, *offset, *rule),
            };
            let e = ChainError::Fault { path, fault };
            if args.json {
                print_json(&json!({"valid": false, "height": height, "offset": offset,
                                   "code": code, "reason": e.to_string()}))?;
            } else {
                outln!("INVALID: {e}")?;
            }
            return Ok(Outcome::Rejected);
        }
        Err(e) => return Err(e.into()),
    };
    let tip = blocks.last();
    if tip_only {
        let Some(b) = tip else {
            anyhow::bail!("{}: the chain holds no block", path.display());
        };
        if args.json {
            print_json(&json!({"height": b.header.height, "hash": b.hash,
                               "time": b.header.time, "utc": utc(b.header.time)}))?;
        } else {
            outln!("{}", b.hash)?;
        }
        return Ok(Outcome::Ok);
    }
    if args.json {
        print_json(&json!({
            "valid": true,
            "blocks": blocks.len(),
            "tip": tip.map(|b| json!({"height": b.header.height, "hash": b.hash,
                                      "time": b.header.time, "utc": utc(b.header.time)})),
        }))?;
    } else {
        match tip {
            Some(b) => outln!(
                "VALID: {} blocks, tip at height {} ({}), {}",
                blocks.len(),
                b.header.height,
                b.hash,
                utc(b.header.time)
            )?,
            None => outln!("VALID: empty chain")?,
        }
    }
    Ok(Outcome::Ok)
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
                    "utc": utc(b.header.time), "difficulty": b.header.difficulty,
                    "nonce": b.header.nonce, "offset": b.offset, "submissions": b.submissions,
                })
            })
            .collect();
        print_json(&json!({"blocks": list}))?;
        return Ok(Outcome::Ok);
    }
    for b in &blocks {
        outln!(
            "block {}  {}  {} (time {})  difficulty {}  nonce {}",
            b.header.height,
            b.hash,
            utc(b.header.time),
            b.header.time,
            b.header.difficulty,
            b.header.nonce
        )?;
        for s in &b.submissions {
            let documents = match s.documents {
                0 => String::new(),
                1 => " and 1 document".into(),
                n => format!(" and {n} documents"),
            };
            outln!(
                "  {}  root {}  {} records in {} datasets{documents}",
                s.id,
                s.root,
                s.records,
                s.datasets
            )?;
        }
    }
    if blocks.is_empty() {
        outln!("empty chain")?;
    }
    Ok(Outcome::Ok)
}

fn repair(args: &RepairArgs) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.common.store.store);
    let path = store.chain_path();
    let _lock = store.lock(true, true)?;
    if !path.exists() {
        anyhow::bail!("{}: no chain file", path.display());
    }
    let json = args.common.json;
    match chain_store::repair(&path, args.drop_corrupt_last) {
        Ok(Repair::NothingToDo { blocks }) => {
            if json {
                print_json(&json!({"repaired": false, "blocks": blocks}))?;
            } else {
                outln!("nothing to repair: {blocks} good blocks, no torn tail")?;
            }
            Ok(Outcome::Ok)
        }
        Ok(Repair::Truncated {
            offset,
            removed,
            backup,
            blocks,
            dropped,
        }) => {
            if json {
                print_json(
                    &json!({"repaired": true, "blocks": blocks, "offset": offset,
                                   "removed_bytes": removed, "dropped_height": dropped,
                                   "backup": backup}),
                )?;
            } else {
                let what = match dropped {
                    Some(h) => format!("the corrupt last entry (block {h})"),
                    None => "a torn tail".to_owned(),
                };
                outln!(
                    "removed {what} of {removed} bytes at offset {offset}; {blocks} good blocks kept; \
                     the file as it was is in {}",
                    backup.display()
                )?;
            }
            Ok(Outcome::Ok)
        }
        Err(e @ ChainError::Fault { .. }) => {
            let last = matches!(
                e,
                ChainError::Fault {
                    fault: ChainFault::Corrupt { last: true, .. },
                    ..
                }
            );
            let advice = if last {
                "The damaged entry is the chain's last. If it is an append that a power loss left \
                 incomplete (its run never reported success), `chain repair --drop-corrupt-last` \
                 cuts it off after a backup; if it was acknowledged, restore chain.tnc from a backup \
                 or a regulator's copy instead."
            } else {
                "Damage before the last entry cannot be cut off without losing anchored blocks; \
                 restore chain.tnc from a backup or a regulator's copy."
            };
            if json {
                print_json(&json!({"repaired": false, "reason": e.to_string(), "advice": advice}))?;
            } else {
                outln!("NOT REPAIRED: {e}\n{advice}")?;
            }
            Ok(Outcome::Rejected)
        }
        Err(e) => Err(e.into()),
    }
}

fn consistency(args: &ConsistencyArgs) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    use trialnotary::core::consistency::{
        CONSISTENCY_FORMAT, CONSISTENCY_VERSION, ConsistencyProof,
    };
    use trialnotary::core::note::{Checkpoint, Note};
    let store = Store::new(&args.store.store);
    let _lock = store.lock(false, true)?;
    let path = store.chain_path();
    let blocks = chain_store::read_chain(&path)?;
    chain_store::validate(&path, &blocks)?;
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let from_text = read(&args.from)?;
    let from = Checkpoint::parse(&Note::parse(from_text.as_bytes())?.text)?;
    let to_text = match &args.to {
        Some(p) => read(p)?,
        None => {
            let tip = blocks.last().context("the chain is empty")?;
            store.checkpoint(tip.header.height)?.with_context(|| {
                format!(
                    "the tip (height {}) has no checkpoint: run `trialnotary checkpoint` first",
                    tip.header.height
                )
            })?
        }
    };
    let to = Checkpoint::parse(&Note::parse(to_text.as_bytes())?.text)?;
    if from.size > to.size || to.size > blocks.len() as u64 {
        anyhow::bail!(
            "cannot prove {} blocks extend {}: this chain has {}",
            to.size,
            from.size,
            blocks.len()
        );
    }
    // Refused at the source: a proof the verifier would reject is not written.
    for (name, cp) in [("--from", &from), ("--to", &to)] {
        if let Some(h) = cp.size.checked_sub(1) {
            let block = &blocks[h as usize];
            if block.hash != cp.tip {
                anyhow::bail!(
                    "the chain was rewritten after the {name} checkpoint: its block at height {h} \
                     is {}, the checkpoint names {}; no consistency proof exists",
                    block.hash,
                    cp.tip
                );
            }
        }
    }
    let headers = blocks[from.size as usize..to.size as usize]
        .iter()
        .map(|b| hex::encode(b.header.to_bytes()))
        .collect();
    let proof = ConsistencyProof {
        format: CONSISTENCY_FORMAT.into(),
        version: CONSISTENCY_VERSION,
        from: from_text,
        to: to_text,
        headers,
    };
    // Plain data serializes without error.
    let mut json = serde_json::to_vec_pretty(&proof).expect("proof serializes");
    json.push(b'\n');
    let (from_size, to_size) = (from.size, to.size);
    match &output_path(args.output.clone()) {
        Some(p) => {
            write_output_bytes(p, &json, 0o644)?;
            if args.json {
                print_json(&json!({"written": p, "from": from_size, "to": to_size,
                                   "origin": from.origin}))?;
            } else {
                errln!(
                    "wrote {}: {} blocks of {} extend the checkpoint of {from_size} ({} new)",
                    p.display(),
                    to_size,
                    from.origin,
                    to_size.saturating_sub(from_size)
                );
            }
        }
        None => std::io::stdout().lock().write_all(&json)?,
    }
    Ok(Outcome::Ok)
}
