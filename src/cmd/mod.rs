//! One module per subcommand: its clap arguments and its `run`.

/// Writes a formatted line to standard output, returning the write's error (a closed pipe is
/// then exit 0, see `main`), where `println!` would panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// [`outln!`] without the line end.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// Writes a formatted line to standard error (warnings, notes), ignoring a closed stream.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod chain;
pub mod checkpoint;
pub mod consistency;
pub mod generate;
pub mod key;
pub mod notarize;
pub mod prove;
pub mod verifier_page;
pub mod verify;
pub mod witness;

use std::io::Write;
use std::path::PathBuf;

/// Default store directory, relative to the working directory.
pub const DEFAULT_STORE: &str = "notary";

/// Writes a JSON value and a newline to stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    // Serialized first, so that a closed pipe comes back as the io::Error `main` recognizes.
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    std::io::stdout().lock().write_all(&text)?;
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
