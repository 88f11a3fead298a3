//! `trialnotary generate`: write a deterministic SDTM-shaped study for tests and benchmarks.

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::print_json;
use crate::Outcome;
use trialnotary::generate::{self, GenerateOptions};
use trialnotary::ingest::Format;

/// Arguments of `generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory (one file per domain: dm, ae, cm, ex, lb, vs, or those --domains names).
    /// It must be empty or new, unless --force.
    #[arg(short, long, value_name = "DIR", alias = "out")]
    output: PathBuf,
    /// Write into a directory that already holds files, replacing the study's files there.
    #[arg(long)]
    force: bool,
    /// Number of subjects (about 470 rows each).
    #[arg(long, value_name = "N", default_value_t = 100, conflicts_with = "size")]
    subjects: u64,
    /// Approximate size of the study as CSV (e.g. 2GB); sets the number of subjects.
    #[arg(long, value_name = "SIZE")]
    size: Option<String>,
    /// Seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output format.
    #[arg(long, value_parser = ["csv", "parquet", "arrow", "xpt", "dataset-json"], default_value = "csv")]
    format: String,
    /// Only these datasets (comma-separated): the SDTM domains dm,ae,cm,ex,lb,vs, the ADaM
    /// analysis datasets adsl,adlb,advs (50 and 100 columns, strings, doubles, dates, timestamps
    /// and 32-bit integers; one Parquet row group per file), or `sdtm` or `adam` for a whole
    /// group; default the six SDTM domains.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    domains: Vec<String>,
    /// Rows per Parquet row group; default one row group per file for ADaM, the Parquet writer's
    /// 1,048,576 rows for SDTM.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    row_group_rows: Option<u64>,
    /// Print one JSON object (files, rows, bytes) instead of lines.
    #[arg(long)]
    json: bool,
}

/// Runs `generate`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let format = match args.format.as_str() {
        "parquet" => Format::Parquet,
        "arrow" => Format::Arrow,
        "xpt" => Format::Xpt,
        "dataset-json" => Format::DatasetJson,
        _ => Format::Csv,
    };
    let subjects = match &args.size {
        Some(size) => {
            let bytes = generate::parse_size(size).map_err(anyhow::Error::msg)?;
            let domains: Vec<String> = args
                .domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect();
            let per_subject =
                generate::csv_bytes_per_subject(args.seed, &domains).map_err(anyhow::Error::msg)?;
            ((bytes as f64 / per_subject).ceil() as u64).max(1)
        }
        None => args.subjects,
    };
    let busy = std::fs::read_dir(&args.output).is_ok_and(|mut d| d.next().is_some());
    if busy && !args.force {
        anyhow::bail!(
            "{} is not empty: give an empty or new directory, or --force to write into it",
            args.output.display()
        );
    }
    let opts = GenerateOptions {
        out: args.output.clone(),
        subjects,
        seed: args.seed,
        format,
        domains: args
            .domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
    };
    let domains = generate::selected_domains(&opts.domains)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot generate into {}", args.output.display()))?
        .len();
    // Drawn on standard error, only when it is a terminal.
    let bar = ProgressBar::new(subjects * domains as u64);
    if let Ok(style) =
        ProgressStyle::with_template("generate {bar:30} {pos}/{len} subject-domains eta {eta}")
    {
        bar.set_style(style);
    }
    let writer = generate::WriterOptions {
        row_group_rows: args.row_group_rows.map(|n| n as usize),
    };
    let generated = generate::generate_with(&opts, &writer, &|n| bar.inc(n))
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot generate into {}", args.output.display()))?;
    bar.finish_and_clear();
    let (mut rows, mut bytes) = (0, 0);
    for (_, r, b) in &generated.files {
        rows += r;
        bytes += b;
    }
    if args.json {
        let files: Vec<_> = generated
            .files
            .iter()
            .map(|(path, r, b)| json!({"path": path, "rows": r, "bytes": b}))
            .collect();
        print_json(&json!({"subjects": subjects, "rows": rows, "bytes": bytes, "files": files}))?;
        return Ok(Outcome::Ok);
    }
    for (path, r, b) in &generated.files {
        outln!("{}  {r} rows  {b} bytes", path.display())?;
    }
    outln!(
        "{subjects} subjects, {rows} rows, {:.1} MB",
        bytes as f64 / 1e6
    )?;
    Ok(Outcome::Ok)
}
