//! A deterministic, SDTM-shaped study generator for fixtures and benchmarks: DM, AE, CM, EX, LB
//! and VS with their key variables and realistic proportions, streamed to CSV, Parquet or Arrow
//! IPC with bounded memory. The same seed gives byte-identical files.
//!
//! `study` holds the model (random streams, subjects, cells), `sdtm` the domains and their rows,
//! `write` the file formats.

mod sdtm;
mod study;
mod transport;
mod write;

use std::path::PathBuf;

use rayon::prelude::*;

use crate::ingest::Format;
use sdtm::{DOMAINS, rows};
use write::{cell_text, write_domain};

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Output directory (created).
    pub out: PathBuf,
    /// Number of subjects.
    pub subjects: u64,
    /// Seed.
    pub seed: u64,
    /// File format.
    pub format: Format,
    /// Domains to write (lowercase names); empty for all six.
    pub domains: Vec<String>,
}

/// The domains the generator knows (lowercase names), in the order it writes them.
pub fn domain_names() -> Vec<&'static str> {
    DOMAINS.iter().map(|d| d.name).collect()
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Per domain: file, rows, bytes.
    pub files: Vec<(PathBuf, u64, u64)>,
}

/// Bytes of CSV one subject produces on average (the first 64 subjects written to memory), for
/// sizing a fixture by bytes.
pub fn csv_bytes_per_subject(seed: u64) -> f64 {
    let sample = 64;
    let mut w = csv::Writer::from_writer(Vec::new());
    for d in DOMAINS {
        for n in 0..sample {
            rows(d.name, seed, n, &mut |row| {
                // Writing to a Vec cannot fail.
                let _ = w.write_record(row.iter().map(cell_text));
            });
        }
    }
    w.into_inner().map_or(0, |v| v.len()) as f64 / sample as f64
}

/// Writes the study, one file per domain, the domains in parallel, calling `progress` with the
/// number of subjects each time a domain has written a few more of them.
///
/// # Errors
/// I/O or encoder errors, with the file named.
pub fn generate(
    opts: &GenerateOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Generated, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    for d in &opts.domains {
        if !domain_names().contains(&d.as_str()) {
            return Err(format!(
                "unknown domain {d:?}: choose from {}",
                domain_names().join(", ")
            ));
        }
    }
    let files: Result<Vec<_>, String> = DOMAINS
        .par_iter()
        .filter(|d| opts.domains.is_empty() || opts.domains.iter().any(|n| n == d.name))
        .map(|d| write_domain(d, opts, progress))
        .collect();
    Ok(Generated { files: files? })
}

/// Parses sizes such as `2GB`, `500MB`, `10GiB`, `123456`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 2GB"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KIB" => 1024.0,
        "MIB" => 1024.0 * 1024.0,
        "GIB" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_are_sdtm_like() {
        let mut counts = std::collections::BTreeMap::new();
        for d in DOMAINS {
            for n in 0..200 {
                rows(d.name, 7, n, &mut |_| {
                    *counts.entry(d.name).or_insert(0u64) += 1
                });
            }
        }
        let per = |d: &str| counts[d] as f64 / 200.0;
        assert_eq!(per("dm"), 1.0);
        assert!((225.0..245.0).contains(&per("lb")), "lb {}", per("lb"));
        assert_eq!(per("vs"), 100.0);
        assert_eq!(per("ex"), 26.0);
        assert!((1.0..4.0).contains(&per("ae")), "ae {}", per("ae"));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
    }
}
