//! `trialnotary verifier-page`: write the browser verifier (`web/verify.html`, embedded in the
//! binary) for a reviewer, and print its SHA-256 to compare with the one the README of the
//! release prints.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::Outcome;

/// The page, byte for byte as committed.
pub const PAGE: &str = include_str!("../../web/verify.html");

/// Arguments of `verifier-page`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the page (replaced if it exists; `-` for standard output).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

/// Runs `verifier-page`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    super::write_output_bytes(&args.output, PAGE.as_bytes(), 0o644)?;
    // `-o -`: the page alone on standard output.
    if args.output.as_os_str() == "-" {
        return Ok(Outcome::Ok);
    }
    outln!(
        "wrote {}: the browser verifier of trialnotary {} ({} bytes); open it in a browser, offline",
        args.output.display(),
        env!("CARGO_PKG_VERSION"),
        PAGE.len()
    )?;
    outln!(
        "SHA-256 {}: the README of this release prints the same",
        hex::encode(Sha256::digest(PAGE.as_bytes()))
    )?;
    Ok(Outcome::Ok)
}
