//! `trialnotary generate`: write a deterministic SDTM-shaped study for tests and benchmarks.

use std::path::PathBuf;

use anyhow::Context;

use crate::Outcome;
use trialnotary::generate::{self, GenerateOptions};
use trialnotary::ingest::Format;

/// Arguments of `generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory (one file per domain: dm, ae, cm, ex, lb, vs).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
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
    #[arg(long, value_parser = ["csv", "parquet", "arrow"], default_value = "csv")]
    format: String,
    /// Only these domains (comma-separated: dm,ae,cm,ex,lb,vs); default all.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    domains: Vec<String>,
}

/// Runs `generate`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let format = match args.format.as_str() {
        "parquet" => Format::Parquet,
        "arrow" => Format::Arrow,
        _ => Format::Csv,
    };
    let subjects = match &args.size {
        Some(size) => {
            let bytes = generate::parse_size(size).map_err(anyhow::Error::msg)?;
            ((bytes as f64 / generate::csv_bytes_per_subject(args.seed)).ceil() as u64).max(1)
        }
        None => args.subjects,
    };
    let opts = GenerateOptions {
        out: args.out.clone(),
        subjects,
        seed: args.seed,
        format,
        domains: args
            .domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
    };
    let generated = generate::generate(&opts)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot generate into {}", args.out.display()))?;
    let (mut rows, mut bytes) = (0, 0);
    for (path, r, b) in &generated.files {
        println!("{}  {r} rows  {b} bytes", path.display());
        rows += r;
        bytes += b;
    }
    println!(
        "{subjects} subjects, {rows} rows, {:.1} MB",
        bytes as f64 / 1e6
    );
    Ok(Outcome::Ok)
}
