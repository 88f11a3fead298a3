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
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Default store directory, relative to the working directory.
pub const DEFAULT_STORE: &str = "notary";

/// `-o -`: standard output, as if no `-o` were given.
pub fn output_path(output: Option<PathBuf>) -> Option<PathBuf> {
    output.filter(|p| p.as_os_str() != "-")
}

/// Writes a command's output file at `path` (`-o`): `write` runs into a temporary file beside
/// it (mode `mode`), which is synced and renamed to `path`, so that a failed run never leaves a
/// partial file there. What is not a regular file is written to, never replaced: `-` is
/// standard output, a device or a pipe (`/dev/null`, `/dev/stdout`, a FIFO) gets the bytes
/// (a write error, `/dev/full`'s, fails the command), and a symbolic link keeps pointing where
/// it did, at the file replaced. Errors name `path`, not the temporary file.
///
/// # Errors
/// When the file cannot be written; `write`'s own errors.
pub fn write_output<T>(
    path: &Path,
    mode: u32,
    write: &mut dyn FnMut(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use std::os::unix::fs::PermissionsExt;
    let cannot = || format!("cannot write {}", path.display());
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        let value = write(&mut out)?;
        out.flush()?;
        return Ok(value);
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::canonicalize(path).with_context(cannot)?;
            return write_output(&target, mode, write);
        }
        Ok(meta) if meta.is_dir() => anyhow::bail!("{}: it is a directory", cannot()),
        Ok(meta) if !meta.is_file() => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(cannot)?;
            let mut out = std::io::BufWriter::new(file);
            let value = write(&mut out)?;
            out.flush().with_context(cannot)?;
            return Ok(value);
        }
        _ => {}
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .map_err(|e| anyhow::anyhow!("{}: {}", cannot(), io_text(&e)))?;
    let mut out = std::io::BufWriter::new(tmp);
    let value = write(&mut out)?;
    let tmp = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}: {}", cannot(), io_text(e.error())))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| anyhow::anyhow!("{}: {}", cannot(), io_text(&e)))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("{}: {}", cannot(), io_text(&e.error)))?;
    trialnotary::store::chain::sync_dir(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", cannot()))?;
    Ok(value)
}

/// [`write_output`] of `bytes`.
///
/// # Errors
/// When the file cannot be written.
pub fn write_output_bytes(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    write_output(path, mode, &mut |out| Ok(out.write_all(bytes)?))
}

/// An I/O error's text without the temporary file's name that tempfile adds to some.
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "the directory does not exist".into(),
        _ => e.to_string(),
    }
}

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
