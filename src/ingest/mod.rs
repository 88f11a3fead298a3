//! Finding the dataset files of a submission and reading each, streamed in batches, into canonical
//! `values` arrays (see [`crate::record::write_values`]), whatever format carried them.

mod arrow;
mod csv;
mod ipc;
mod parquet;

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Rows decoded per Arrow or Parquet read: enough to keep every core busy converting, small
/// enough to keep memory flat.
pub const BATCH_ROWS: usize = 65_536;

/// Most columns a dataset may have (SAS XPT allows 9,999; SDTM domains have dozens).
pub const MAX_COLUMNS: usize = 100_000;

/// Largest single CSV record accepted, so a missing closing quote or a runaway field cannot take
/// unbounded memory.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

/// A dataset file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated text with a header row, read as text.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file (Feather v2) or stream.
    Arrow,
}

/// The file extensions read, with their formats.
pub const EXTENSIONS: [(&str, Format); 5] = [
    (".csv", Format::Csv),
    (".parquet", Format::Parquet),
    (".arrow", Format::Arrow),
    (".feather", Format::Arrow),
    (".ipc", Format::Arrow),
];

impl Format {
    /// The format of a file, from its extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<(Format, usize)> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        for (ext, format) in EXTENSIONS {
            if lower.ends_with(ext) && lower.len() > ext.len() {
                return Some((format, ext.len()));
            }
        }
        None
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        })
    }
}

/// A bad input, naming the file and, where known, the line or row and column.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), at.as_deref().map(|a| format!(": {a}")).unwrap_or_default())]
pub struct IngestError {
    /// The file (or submission path) at fault.
    pub path: PathBuf,
    /// Where in the file: "line 12, column AESEV", "row 40".
    pub at: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl IngestError {
    /// An error about a whole file.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            at: None,
            message: message.into(),
        }
    }

    /// An error at a place in a file.
    pub fn at(path: &Path, at: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            at: Some(at.into()),
            message: message.into(),
        }
    }
}

/// One dataset file of a submission.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Where it is.
    pub path: PathBuf,
    /// Path relative to the submission, with `/` separators.
    pub relative: String,
    /// Relative path without the format extension: the dataset name.
    pub dataset: String,
    /// Its format.
    pub format: Format,
    /// Size in bytes.
    pub bytes: u64,
}

/// Lists the dataset files of a submission (a directory, searched recursively, or one file),
/// sorted by dataset name. Hidden files (names starting with `.`) are skipped.
///
/// # Errors
/// A missing path, an unreadable directory, a file that is not CSV, Parquet or Arrow, two files
/// with one dataset name, or no dataset file at all.
pub fn discover(root: &Path) -> Result<Vec<SourceFile>, IngestError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| IngestError::file(root, format!("cannot open submission: {e}")))?;
    let mut files = Vec::new();
    if meta.is_file() {
        let name = root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        files.push(source_file(root, &name, meta.len())?);
    } else {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()))
        {
            let entry = entry.map_err(|e| {
                let at = e.path().unwrap_or(root).to_owned();
                IngestError::file(&at, format!("cannot read: {e}"))
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
            let relative = rel
                .to_str()
                .ok_or_else(|| IngestError::file(entry.path(), "file name is not valid UTF-8"))?
                .replace(std::path::MAIN_SEPARATOR, "/");
            let len = entry
                .metadata()
                .map_err(|e| IngestError::file(entry.path(), format!("cannot stat: {e}")))?
                .len();
            files.push(source_file(entry.path(), &relative, len)?);
        }
    }
    files.sort_by(|a, b| a.dataset.cmp(&b.dataset).then(a.relative.cmp(&b.relative)));
    for pair in files.windows(2) {
        if pair[0].dataset == pair[1].dataset {
            return Err(IngestError::file(
                root,
                format!(
                    "{} and {} are both dataset {:?}; keep one format per dataset",
                    pair[0].relative, pair[1].relative, pair[0].dataset
                ),
            ));
        }
    }
    if files.is_empty() {
        return Err(IngestError::file(
            root,
            "empty submission: no .csv, .parquet, .arrow or .feather file found",
        ));
    }
    Ok(files)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with('.'))
}

fn source_file(path: &Path, relative: &str, bytes: u64) -> Result<SourceFile, IngestError> {
    let (format, ext_len) = Format::from_path(path).ok_or_else(|| {
        IngestError::file(
            path,
            "unsupported file in submission: expected .csv, .parquet, .arrow or .feather \
             (move other files out of the submission folder)",
        )
    })?;
    Ok(SourceFile {
        path: path.to_owned(),
        relative: relative.to_owned(),
        dataset: relative[..relative.len() - ext_len].to_owned(),
        format,
        bytes,
    })
}

/// A batch of rows as canonical `values` arrays, each followed by a newline: exactly the bytes
/// of the store's values file, so a batch is written with one call.
#[derive(Debug, Default)]
pub struct Batch {
    /// The arrays, each followed by `\n`.
    pub buf: Vec<u8>,
    /// End offset in `buf` of each row's array (the offset of its newline).
    pub ends: Vec<usize>,
}

impl Batch {
    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Offset in `buf` where row `i` starts.
    pub fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] + 1 }
    }

    /// The `values` array of row `i` of the batch.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.buf[self.start(i)..self.ends[i]]
    }

    /// Marks the end of the row just written into `buf`.
    pub fn end_row(&mut self) {
        self.ends.push(self.buf.len());
        self.buf.push(b'\n');
    }

    /// Drops a partly written row (everything after the last complete one).
    pub fn discard_partial(&mut self) {
        let keep = self.ends.last().map_or(0, |&e| e + 1);
        self.buf.truncate(keep);
    }
}

/// A streaming reader of one dataset file.
pub trait RowSource: Send {
    /// Column names, in file order.
    fn columns(&self) -> &[String];

    /// Fills `batch` (cleared first) with up to [`BATCH_ROWS`] rows; `Ok(false)` at the end.
    ///
    /// # Errors
    /// An [`IngestError`] naming the file and the line or row.
    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError>;

    /// Bytes read from the file so far, for readers that read it from start to end (CSV):
    /// at the end, the file's size.
    fn bytes_read(&self) -> Option<u64> {
        None
    }
}

/// Opens a dataset file for streaming. The header (or schema) and the rows are read through
/// one open handle, and when the rows run out the file is checked to be still the one at
/// `path`, unchanged: a file replaced or rewritten while it was read fails rather than yield
/// rows of two files.
///
/// # Errors
/// When the file cannot be opened or its header or schema cannot be read.
pub fn open(path: &Path, format: Format) -> Result<Box<dyn RowSource>, IngestError> {
    open_with_block(path, format, csv::BLOCK)
}

/// [`open`], a CSV file read `csv_block` bytes at a time.
pub(crate) fn open_with_block(
    path: &Path,
    format: Format,
    csv_block: usize,
) -> Result<Box<dyn RowSource>, IngestError> {
    let file =
        File::open(path).map_err(|e| IngestError::file(path, format!("cannot open: {e}")))?;
    let opened = file
        .metadata()
        .map(|meta| Snapshot::from(&meta))
        .map_err(|e| IngestError::file(path, format!("cannot stat: {e}")))?;
    let source: Box<dyn RowSource> = guarded(path, || match format {
        Format::Csv => {
            Ok(Box::new(csv::CsvSource::new(path, file, csv_block)?) as Box<dyn RowSource>)
        }
        Format::Parquet => Ok(Box::new(parquet::open(path, file)?)),
        Format::Arrow => ipc::open(path, file),
    })?;
    if source.columns().len() > MAX_COLUMNS {
        return Err(IngestError::file(
            path,
            format!(
                "{} columns, more than the {MAX_COLUMNS} a dataset may have",
                source.columns().len()
            ),
        ));
    }
    Ok(Box::new(Guarded {
        path: path.to_owned(),
        inner: source,
        opened,
    }))
}

/// What identifies a file and its contents at one moment, from its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Snapshot {
    device: u64,
    inode: u64,
    /// Size and modification time: meaningful for regular files only (not pipes).
    regular: bool,
    size: u64,
    modified: (i64, i64),
}

impl Snapshot {
    /// Why `now` is not the same file as `self` with the same contents, if it is not.
    fn changed(&self, now: &Snapshot) -> Option<String> {
        if (now.device, now.inode) != (self.device, self.inode) {
            return Some("another file is now at this path".into());
        }
        if !self.regular {
            return None;
        }
        if now.size != self.size {
            return Some(format!(
                "its size went from {} to {} bytes",
                self.size, now.size
            ));
        }
        (now.modified != self.modified).then(|| "its modification time changed".into())
    }
}

impl From<&std::fs::Metadata> for Snapshot {
    fn from(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            device: meta.dev(),
            inode: meta.ino(),
            regular: meta.is_file(),
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// Runs a decoder step, turning a panic inside a third-party decoder (on corrupt input) into an
/// error naming the file: bad input must never take the process down.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, IngestError>) -> Result<T, IngestError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown");
            Err(IngestError::file(
                path,
                format!("corrupt file: the decoder failed ({what})"),
            ))
        }
    }
}

/// A source whose every step is [`guarded`], and whose end is checked against the file at its
/// path.
struct Guarded {
    path: PathBuf,
    inner: Box<dyn RowSource>,
    /// The file read, when it was opened.
    opened: Snapshot,
}

impl Guarded {
    /// Checks that the file read is still the one at the path (the same device and inode: the
    /// file the handle read), with the size and modification time it had when opened, and that
    /// all of it was read.
    fn check_unchanged(&self) -> Result<(), IngestError> {
        let why = match std::fs::metadata(&self.path) {
            Err(e) => Some(format!("it can no longer be found there: {e}")),
            Ok(meta) => self.opened.changed(&Snapshot::from(&meta)),
        }
        .or_else(|| {
            let read = self.inner.bytes_read()?;
            (self.opened.regular && read != self.opened.size).then(|| {
                format!(
                    "{read} bytes were read of the {} it had when opened",
                    self.opened.size
                )
            })
        });
        match why {
            None => Ok(()),
            Some(why) => Err(IngestError::file(
                &self.path,
                format!(
                    "changed or replaced while it was being read ({why}); nothing was anchored, \
                     run again"
                ),
            )),
        }
    }
}

impl RowSource for Guarded {
    fn columns(&self) -> &[String] {
        self.inner.columns()
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        let path = self.path.clone();
        let more = guarded(&path, || self.inner.next_batch(batch))?;
        if !more {
            self.check_unchanged()?;
        }
        Ok(more)
    }

    fn bytes_read(&self) -> Option<u64> {
        self.inner.bytes_read()
    }
}
