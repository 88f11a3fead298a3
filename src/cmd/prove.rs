//! `trialnotary prove`: write a record, all-rows (NDJSON) or dataset proof from the store and
//! the submission's data.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::StoreArg;
use crate::Outcome;
use trialnotary::notarize::PipelineError;
use trialnotary::prove::{At, DatasetProver};
use trialnotary::store::Store;

/// Parses `--at`: a date (its last second, UTC), an RFC 3339 time, or epoch seconds.
pub fn parse_time(text: &str) -> Result<u64, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let parsed = if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        date.and_hms_opt(23, 59, 59)
            .map(|t| t.and_utc().timestamp())
    } else {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp())
    };
    parsed.and_then(|t| u64::try_from(t).ok()).ok_or_else(|| {
        format!("{text:?} is not a date (2026-03-31), an RFC 3339 time or epoch seconds")
    })
}

/// Arguments of `prove`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Submission id.
    #[arg(long, value_name = "ID")]
    submission: String,
    /// Dataset name (its path in the submission without extension, e.g. `lb`). Alone, proves
    /// the whole dataset and carries every row's salt.
    #[arg(long, value_name = "NAME")]
    dataset: String,
    /// Row to prove, from 0, in file order.
    #[arg(long, value_name = "N", conflicts_with = "all_rows")]
    row: Option<u64>,
    /// One proof per row, as NDJSON (one JSON proof per line).
    #[arg(long)]
    all_rows: bool,
    /// The submission's data (directory or file, as given to `notarize`), if it is no longer
    /// where it was notarized. Disclosed rows are re-read from it and checked against the store.
    #[arg(long, value_name = "PATH")]
    data: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
    /// Prove from the block at this height (it must anchor the submission) instead of the
    /// latest: the data as it was notarized then (give --data for an archived copy).
    #[arg(long, value_name = "H", conflicts_with = "at")]
    height: Option<u64>,
    /// Prove from the latest block that anchored the submission at or before this time: a date
    /// (`2026-03-31`, the end of that day, UTC), an RFC 3339 time (`2026-03-31T12:00:00Z`) or
    /// seconds since the epoch.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<u64>,
    /// Attach this signed checkpoint (e.g. one cosigned by witnesses) instead of the store's.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Output file (default: standard output). Written atomically.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs `prove`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let mut prover = DatasetProver::open(
        &store,
        &args.submission,
        &args.dataset,
        args.data.as_deref(),
        match (args.height, args.at) {
            (Some(h), _) => At::Height(h),
            (None, Some(t)) => At::Time(t),
            (None, None) => At::Latest,
        },
    )?;
    if let Some(path) = &args.checkpoint {
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        prover.set_checkpoint(note);
    }
    match &args.output {
        Some(path) => {
            // Written to a temporary file beside the target and renamed, so a failed run never
            // leaves a partial proof under the requested name.
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            let tmp = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            let mut out = std::io::BufWriter::new(tmp);
            write_proofs(&args, &mut prover, &mut out)?;
            let tmp = out.into_inner().map_err(|e| e.into_error())?;
            tmp.as_file().sync_all()?;
            tmp.persist(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => write_proofs(&args, &mut prover, &mut std::io::stdout().lock())?,
    }
    Ok(Outcome::Ok)
}

fn write_proofs(
    args: &Args,
    prover: &mut DatasetProver,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if args.all_rows {
        prover.each_record_proof(|p| {
            let mut line = p.to_json_line();
            line.push(b'\n');
            out.write_all(&line).map_err(PipelineError::from)
        })?;
    } else if let Some(row) = args.row {
        out.write_all(&prover.record_proof(row)?.to_json_pretty())?;
    } else {
        out.write_all(&prover.dataset_proof()?.to_json_pretty())?;
    }
    out.flush()?;
    Ok(())
}
