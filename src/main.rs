//! The `trialnotary` binary: parses arguments, dispatches to a subcommand and maps the outcome to
//! an exit code (0 ok, 1 proof or chain rejected, 2 error; a closed output pipe is 0).

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Notarize clinical-trial datasets and verify their proofs offline.
#[derive(Parser)]
#[command(name = "trialnotary", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read submissions, build their salted Merkle trees and anchor them in one mined block.
    Notarize(cmd::notarize::Args),
    /// Write a proof of a record, every record, a dataset, a document or a whole submission.
    Prove(cmd::prove::Args),
    /// Check a proof offline; exit 0 valid, 1 invalid, 2 unusable input.
    Verify(cmd::verify::Args),
    /// Write the browser verifier (one HTML file, offline) and print its SHA-256.
    VerifierPage(cmd::verifier_page::Args),
    /// Create or show Ed25519 keys: the sponsor's checkpoint key, or a witness key.
    #[command(subcommand)]
    Key(cmd::key::Command),
    /// Print the signed checkpoint of the chain's tip (signing one if needed).
    Checkpoint(cmd::checkpoint::Args),
    /// Check offline that a later checkpoint extends an earlier one.
    VerifyConsistency(cmd::consistency::Args),
    /// Cosign a checkpoint as a witness.
    #[command(subcommand)]
    Witness(cmd::witness::Command),
    /// Write a deterministic SDTM-shaped study (DM, AE, CM, EX, LB, VS) for tests and benchmarks.
    Generate(cmd::generate::Args),
    /// Inspect or verify the chain file of a store.
    #[command(subcommand)]
    Chain(cmd::chain::Command),
}

/// What a command concluded.
pub enum Outcome {
    /// Success, or a valid proof or chain.
    Ok,
    /// A proof or chain was checked and rejected.
    Rejected,
    /// Unusable input, already reported (exit 2).
    Unusable,
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let version = trialnotary::core::session::version_text();
    // Leaked once: clap keeps a &'static str, and the process ends after the command.
    let matches = Cli::command()
        .version(&*Box::leak(version.into_boxed_str()))
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Notarize(args) => cmd::notarize::run(args),
        Command::Prove(args) => cmd::prove::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::VerifierPage(args) => cmd::verifier_page::run(args),
        Command::Chain(c) => cmd::chain::run(c),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Key(c) => cmd::key::run(c),
        Command::Checkpoint(args) => cmd::checkpoint::run(args),
        Command::VerifyConsistency(args) => cmd::consistency::run(args),
        Command::Witness(c) => cmd::witness::run(c),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Rejected) => ExitCode::from(1),
        Ok(Outcome::Unusable) => ExitCode::from(2),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
