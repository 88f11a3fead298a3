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

/// The store path argument shared by the commands.
#[derive(clap::Args, Clone, Debug)]
pub struct StoreArg {
    /// Store directory (chain, salt secret, leaf hashes).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
}
