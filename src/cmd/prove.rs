//! `trialnotary prove`: write a proof of a submission, one of its documents, one of its datasets
//! (with or without the rows' salts), one row, or every row (NDJSON), from the store and the
//! submission's data, at the latest anchoring or an earlier one.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use super::{StoreArg, output_path, print_json, rows_bar, write_output};
use crate::Outcome;
use trialnotary::core::proof::Proof;
use trialnotary::notarize::PipelineError;
use trialnotary::prove::{At, DatasetProver, SubmissionProver};
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
    /// Submission id. Alone, proves the whole submission (its entry in the block).
    #[arg(long, value_name = "ID")]
    submission: String,
    /// Dataset name (its path in the submission without extension, e.g. `lb`). Alone, proves
    /// the dataset's entry (name, columns, row count, root), disclosing no row.
    #[arg(long, value_name = "NAME", conflicts_with = "file")]
    dataset: Option<String>,
    /// Row to prove, from 0, in file order.
    #[arg(long, value_name = "N", requires = "dataset", conflicts_with_all = ["all_rows", "with_salts"])]
    row: Option<u64>,
    /// One proof per row, as NDJSON (one JSON proof per line).
    #[arg(long, requires = "dataset", conflicts_with = "with_salts")]
    all_rows: bool,
    /// With --dataset: add every row's salt and leaf, so that the holder of the data can check
    /// it with `verify --data`. Anyone holding such a proof can test guesses of each row: hand
    /// it only to someone who holds the data.
    #[arg(long, requires = "dataset")]
    with_salts: bool,
    /// A document: a file of the submission that is not a dataset, by its path in the
    /// submission (e.g. `m5/datasets/study/tabulations/sdtm/define.xml`).
    #[arg(long, value_name = "PATH")]
    file: Option<String>,
    /// The submission's data (directory or file, as given to `notarize`), if it is no longer
    /// where it was notarized: an archived copy, or a copy in another format. What a proof
    /// discloses is re-read from it and checked against the store.
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
    /// Output file (default: standard output). Written atomically, mode 0600.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// With -o: report what was written as one JSON object on standard output.
    #[arg(long, requires = "output")]
    json: bool,
}

/// Runs `prove`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let store = Store::new(&args.store.store);
    let at = match (args.height, args.at) {
        (Some(h), _) => At::Height(h),
        (None, Some(t)) => At::Time(t),
        (None, None) => At::Latest,
    };
    let mut sub = SubmissionProver::open(&store, &args.submission, at)?;
    if let Some(path) = &args.checkpoint {
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        sub.set_checkpoint(note);
    }
    // Names as the store has them, so that `--dataset lb` reports the dataset's full path.
    let mut target = match (&args.dataset, &args.file) {
        (Some(name), _) => {
            let mut p = sub.dataset(name, args.data.as_deref())?;
            // Proofs of every row and dataset proofs with salts read the whole dataset.
            if args.all_rows || (args.with_salts && args.row.is_none()) {
                let bar = rows_bar(p.rows(), "prove");
                p.set_progress(move |n| bar.set_position(n));
            }
            Target::Dataset(Box::new(p))
        }
        (None, Some(file)) => {
            let path = sub.document_path(file)?.to_owned();
            Target::Document(sub, path)
        }
        (None, None) => Target::Submission(sub),
    };
    let what = match (&target, args.row, args.all_rows) {
        (Target::Dataset(p), Some(row), _) => format!("row {row} of dataset {}", p.name()),
        (Target::Dataset(p), _, true) => format!("every row of dataset {}", p.name()),
        (Target::Dataset(p), ..) if args.with_salts => {
            format!("dataset {} with its salts", p.name())
        }
        (Target::Dataset(p), ..) => format!("dataset {}", p.name()),
        (Target::Document(_, f), ..) => format!("document {f}"),
        (Target::Submission(_), ..) => format!("submission {}", args.submission),
    };
    let mut write = |out: &mut dyn Write| -> anyhow::Result<u64> {
        let one = |out: &mut dyn Write, p: Proof| -> anyhow::Result<u64> {
            out.write_all(&p.to_json_pretty())?;
            Ok(p.block.height)
        };
        match &mut target {
            Target::Dataset(p) if args.all_rows => all_rows(p, out),
            Target::Dataset(p) => match args.row {
                Some(row) => one(out, p.record_proof(row)?),
                None => {
                    let proof = p.dataset_proof(args.with_salts)?;
                    if args.with_salts {
                        errln!(
                            "warning: this proof discloses the salts of all {} rows of the \
                             dataset: whoever holds it can test guesses of each row",
                            p.rows()
                        );
                    }
                    one(out, proof)
                }
            },
            Target::Document(sub, file) => {
                one(out, sub.document_proof(file, args.data.as_deref())?)
            }
            Target::Submission(sub) => one(out, sub.submission_proof()),
        }
    };
    match &output_path(args.output.clone()) {
        Some(path) => {
            let height = write_output(path, 0o600, &mut write)?;
            if args.json {
                print_json(&json!({"written": path, "proof": what, "height": height}))?;
            } else {
                errln!("wrote {}: proof of {what} (block {height})", path.display());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            write(&mut out)?;
            out.flush()?;
        }
    }
    Ok(Outcome::Ok)
}

/// What `prove` proves.
enum Target {
    Submission(SubmissionProver),
    Document(SubmissionProver, String),
    Dataset(Box<DatasetProver>),
}

/// One proof per row, streamed as NDJSON; returns the block height.
fn all_rows(prover: &mut DatasetProver, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut height = 0;
    prover.each_record_proof(|p| {
        height = p.block.height;
        let mut line = p.to_json_line();
        line.push(b'\n');
        out.write_all(&line).map_err(PipelineError::from)
    })?;
    Ok(height)
}
