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
/// A signed checkpoint (the whole note) as JSON fields, and as a phrase for humans:
/// "checkpoint of ORIGIN at height H (HASH), UTC". Its signatures are not checked here.
pub fn describe_checkpoint(signed: &str) -> anyhow::Result<(serde_json::Value, String)> {
    let note = trialnotary::core::note::Note::parse(signed.as_bytes())?;
    let c = trialnotary::core::note::Checkpoint::parse(&note.text)?;
    let height = c.size.checked_sub(1);
    let json = serde_json::json!({
        "origin": c.origin, "size": c.size, "height": height, "tip": c.tip,
        "time": c.time, "utc": utc(c.time),
    });
    let at = match height {
        Some(h) => format!("at height {h} ({})", c.tip),
        None => "of an empty chain".into(),
    };
    Ok((
        json,
        format!("checkpoint of {} {at}, {}", c.origin, utc(c.time)),
    ))
}

/// A bar counting `len` rows on standard error, drawn only on a terminal (indicatif hides it
/// otherwise).
pub fn rows_bar(len: u64, label: &str) -> indicatif::ProgressBar {
    // Cleared when dropped, finished or not: an error then prints on a clean line.
    let bar = indicatif::ProgressBar::new(len).with_finish(indicatif::ProgressFinish::AndClear);
    let template = format!("{label} {{bar:30}} {{human_pos}}/{{human_len}} rows, eta {{eta}}");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

pub fn utc(time: u64) -> String {
    trialnotary::core::evidence::utc(time)
}

/// The store path argument shared by the commands.
#[derive(clap::Args, Clone, Debug)]
pub struct StoreArg {
    /// Store directory (chain, salt secret, leaf hashes).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
}
