//! A deterministic study generator for fixtures and benchmarks: the SDTM domains DM, AE, CM, EX,
//! LB and VS with their key variables and realistic proportions, and the wide ADaM analysis
//! datasets ADSL, ADLB and ADVS derived from them, streamed to CSV, Parquet, Arrow IPC, SAS XPT
//! or Dataset-JSON with bounded memory. The same seed gives byte-identical files.
//!
//! `study` holds the model (random streams, subjects, cells), `sdtm` and `adam` the datasets and
//! their rows, `write` and `transport` the file formats.

mod adam;
mod sdtm;
mod study;
mod transport;
mod write;

use std::path::PathBuf;

use rayon::prelude::*;

use crate::ingest::Format;
use study::{Cell, Domain};
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
    /// Domains to write (lowercase names, or `sdtm` or `adam` for a whole group); empty for the
    /// six SDTM domains.
    pub domains: Vec<String>,
}

/// How the files are laid out, beyond what [`GenerateOptions`] chooses.
#[derive(Clone, Debug, Default)]
pub struct WriterOptions {
    /// Rows per Parquet row group. `None`: one row group per file for the ADaM datasets (as
    /// pyarrow writes a table), the Parquet writer's default (1,048,576 rows) for SDTM.
    pub row_group_rows: Option<usize>,
}

/// Every domain the generator knows: the six SDTM domains, then the three ADaM datasets.
fn all_domains() -> impl Iterator<Item = &'static Domain> {
    sdtm::DOMAINS.into_iter().chain(adam::DOMAINS)
}

/// The domains the generator knows (lowercase names), in the order it writes them.
pub fn domain_names() -> Vec<&'static str> {
    all_domains().map(|d| d.name).collect()
}

/// The domains `names` asks for, in the order they are written: each name a domain, `sdtm` for
/// DM, AE, CM, EX, LB and VS, `adam` for ADSL, ADLB and ADVS; none for the SDTM domains.
///
/// # Errors
/// An unknown name, with the names to choose from.
pub fn selected_domains(names: &[String]) -> Result<Vec<&'static str>, String> {
    for n in names {
        if !matches!(n.as_str(), "sdtm" | "adam") && !domain_names().contains(&n.as_str()) {
            return Err(format!(
                "unknown domain {n:?}: choose from {}, or sdtm or adam",
                domain_names().join(", ")
            ));
        }
    }
    let sdtm = names.is_empty() || names.iter().any(|n| n == "sdtm");
    let adam = names.iter().any(|n| n == "adam");
    Ok(all_domains()
        .filter(|d| match d.standard {
            study::Standard::Sdtm if sdtm => true,
            study::Standard::Adam if adam => true,
            _ => names.iter().any(|n| n == d.name),
        })
        .map(|d| d.name)
        .collect())
}

/// Calls `emit` with every row of `domain` for subject `n`.
fn rows(domain: &str, seed: u64, n: u64, emit: &mut dyn FnMut(&[Cell])) {
    match domain {
        "adsl" | "adlb" | "advs" => adam::rows(domain, seed, n, emit),
        _ => sdtm::rows(domain, seed, n, emit),
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Per domain: file, rows, bytes.
    pub files: Vec<(PathBuf, u64, u64)>,
}

/// Bytes of CSV one subject produces on average in the domains `names` selects (see
/// [`selected_domains`]; the first 64 subjects written to memory), for sizing a fixture by bytes.
///
/// # Errors
/// An unknown domain name.
pub fn csv_bytes_per_subject(seed: u64, names: &[String]) -> Result<f64, String> {
    let sample = 64;
    let mut w = csv::Writer::from_writer(Vec::new());
    for d in selected_domains(names)? {
        for n in 0..sample {
            rows(d, seed, n, &mut |row| {
                // Writing to a Vec cannot fail.
                let _ = w.write_record(row.iter().map(cell_text));
            });
        }
    }
    Ok(w.into_inner().map_or(0, |v| v.len()) as f64 / sample as f64)
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
    generate_with(opts, &WriterOptions::default(), progress)
}

/// [`generate`], the files laid out as `writer` says.
///
/// # Errors
/// An unknown domain name, I/O or encoder errors, with the file named.
pub fn generate_with(
    opts: &GenerateOptions,
    writer: &WriterOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Generated, String> {
    let names = selected_domains(&opts.domains)?;
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let domains: Vec<&Domain> = all_domains().filter(|d| names.contains(&d.name)).collect();
    let files: Result<Vec<_>, String> = domains
        .par_iter()
        .map(|d| write_domain(d, opts, writer, progress))
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
        for d in sdtm::DOMAINS {
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
    fn domains_by_name_and_group() {
        let names =
            |v: &[&str]| selected_domains(&v.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        let sdtm = ["dm", "ae", "cm", "ex", "lb", "vs"];
        assert_eq!(names(&[]).unwrap(), sdtm);
        assert_eq!(names(&["sdtm"]).unwrap(), sdtm);
        assert_eq!(names(&["adam"]).unwrap(), ["adsl", "adlb", "advs"]);
        assert_eq!(
            names(&["advs", "dm", "adsl"]).unwrap(),
            ["dm", "adsl", "advs"]
        );
        assert!(names(&["adae"]).unwrap_err().contains("or sdtm or adam"));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
    }
}
