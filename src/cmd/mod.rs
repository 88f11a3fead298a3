//! One module per subcommand: its clap arguments and its `run`.

pub mod chain;
pub mod checkpoint;
pub mod consistency;
pub mod generate;
pub mod key;
pub mod notarize;
pub mod prove;
pub mod verify;
pub mod witness;

use std::io::Write;
use std::path::PathBuf;

/// Default store directory, relative to the working directory.
pub const DEFAULT_STORE: &str = "notary";

/// Writes a JSON value and a newline to stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A time in seconds since the epoch as UTC ISO 8601, for people (JSON gives the seconds too).
pub fn utc(time: u64) -> String {
    i64::try_from(time)
        .ok()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or_else(
            || time.to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// The store path argument shared by the commands.
#[derive(clap::Args, Clone, Debug)]
pub struct StoreArg {
    /// Store directory (chain, salt secret, leaf hashes).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
}
