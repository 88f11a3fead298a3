//! Finding the dataset files of a submission and reading each, streamed in batches, into canonical
//! `values` arrays (see [`crate::core::record::write_values`]), whatever format carried them:
//! CSV, Parquet, Arrow IPC, SAS XPT and CDISC Dataset-JSON, one reader each.

mod arrow;
pub mod canonical;
mod csv;
pub mod dataset_json;
mod discover;
pub mod document;
mod ipc;
mod parquet;
pub mod xpt;

pub use discover::{DocumentFile, Listing, SourceFile, discover};

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
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Comma-separated text with a header row, read as text.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file (Feather v2) or stream.
    Arrow,
    /// SAS transport file, version 5 or 8.
    Xpt,
    /// CDISC Dataset-JSON v1.1, one JSON object.
    DatasetJson,
    /// CDISC Dataset-JSON v1.1, NDJSON: metadata on the first line, a row on each other.
    DatasetNdjson,
    /// CDISC Dataset-JSON v1.1, compressed (`.dsjc`: the NDJSON form, zlib or gzip).
    DatasetJsonCompressed,
}

/// The file extensions read, with their formats. A `.json` or `.ndjson` file is a dataset only
/// when it is Dataset-JSON ([`dataset_format`]); otherwise it is a document.
pub const EXTENSIONS: [(&str, Format); 9] = [
    (".csv", Format::Csv),
    (".parquet", Format::Parquet),
    (".arrow", Format::Arrow),
    (".feather", Format::Arrow),
    (".ipc", Format::Arrow),
    (".xpt", Format::Xpt),
    (".json", Format::DatasetJson),
    (".ndjson", Format::DatasetNdjson),
    (".dsjc", Format::DatasetJsonCompressed),
];

impl Format {
    /// The format of a file, from its extension (case-insensitive), with the extension's length.
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

/// Whether the file at `path` is a dataset, and in which format: by its extension, and for
/// `.json` and `.ndjson` by a `datasetJSONVersion` key of its first object in its first 64 KiB
/// (Dataset-JSON writes it among the first), so that other JSON files of a submission (a
/// schema, a configuration) are documents.
pub fn dataset_format(path: &Path) -> Option<(Format, usize)> {
    let (format, ext) = Format::from_path(path)?;
    if !matches!(format, Format::DatasetJson | Format::DatasetNdjson) {
        return Some((format, ext));
    }
    let mut head = Vec::new();
    let file = std::fs::File::open(path).ok()?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, 64 << 10), &mut head).ok()?;
    has_version_key(&head).then_some((format, ext))
}

/// Whether the first JSON object of `head` has a `datasetJSONVersion` key of its own: the word
/// in a value, or a key of an object nested in it (a JSON schema of Dataset-JSON has both), does
/// not make a file a dataset.
fn has_version_key(head: &[u8]) -> bool {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys<'a>(&'a std::cell::Cell<bool>);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "datasetJSONVersion" {
                    self.0.set(true);
                    return Ok(());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let found = std::cell::Cell::new(false);
    // The object usually goes on past the head, or stops being read once the key is found:
    // the result says nothing, the key does.
    let _ = serde_json::Deserializer::from_slice(head).deserialize_map(Keys(&found));
    found.get()
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
            Format::Xpt => "xpt",
            Format::DatasetJson => "dataset-json",
            Format::DatasetNdjson => "dataset-ndjson",
            Format::DatasetJsonCompressed => "dataset-json-compressed",
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

/// A batch of rows as canonical `values` arrays: its own rows, each followed by a newline in
/// `buf`, then the rows of its `parts`. A reader that reads parts of its text on several cores
/// hands over each core's rows where they were written rather than copying them into `buf`.
/// The methods that write rows ([`Batch::end_row`], [`Batch::discard_partial`]) are about the own
/// rows and are not for a batch with parts; [`Batch::len`] and [`Batch::row`] count them all.
#[derive(Debug, Default)]
pub struct Batch {
    /// The own arrays, each followed by `\n`.
    pub buf: Vec<u8>,
    /// End offset in `buf` of each own row's array (the offset of its newline).
    pub ends: Vec<usize>,
    /// Rows that follow the own ones, in batches without parts of their own.
    pub parts: Vec<Batch>,
}

impl Batch {
    /// Empties the batch, keeping the allocations of its own rows (the parts are dropped).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.parts.clear();
    }

    /// Number of rows, the parts' included.
    pub fn len(&self) -> usize {
        self.ends.len() + self.parts.iter().map(|p| p.ends.len()).sum::<usize>()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty() && self.parts.iter().all(|p| p.ends.is_empty())
    }

    /// Bytes of the rows, the parts' included, newlines counted.
    pub fn bytes(&self) -> usize {
        self.rows_end() + self.parts.iter().map(Batch::rows_end).sum::<usize>()
    }

    /// Offset in `buf` where own row `i` starts.
    pub fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] + 1 }
    }

    /// The `values` array of row `i` of the batch, the parts' rows following the own ones.
    ///
    /// # Panics
    /// If there is no row `i`, as indexing out of bounds does.
    pub fn row(&self, i: usize) -> &[u8] {
        if let Some(&end) = self.ends.get(i) {
            return &self.buf[self.start(i)..end];
        }
        let mut k = i - self.ends.len();
        for part in &self.parts {
            if let Some(&end) = part.ends.get(k) {
                return &part.buf[part.start(k)..end];
            }
            k -= part.ends.len();
        }
        panic!("row {i} of a batch of {} rows", self.len())
    }

    /// Marks the end of the own row just written into `buf`.
    pub fn end_row(&mut self) {
        debug_assert!(
            self.parts.is_empty(),
            "a row written before the parts' rows"
        );
        self.ends.push(self.buf.len());
        self.buf.push(b'\n');
    }

    /// Drops a partly written own row (everything after the last complete one).
    pub fn discard_partial(&mut self) {
        self.buf.truncate(self.rows_end());
    }

    /// Offset in `buf` just past the last own row (its newline).
    pub fn rows_end(&self) -> usize {
        self.ends.last().map_or(0, |&e| e + 1)
    }
}

/// Converts `rows` rows on all cores of the current rayon pool, as ranges of consecutive rows
/// of at least `min_range`: `convert(range, batch)` appends the rows of `range` to the rows of
/// `batch` in order, or fails with the error of the first row of the range that fails. After
/// its rows, `batch.buf` may hold stale bytes (of an earlier use, so that a converter writing
/// through a cursor need not zero its buffer again), which `convert` overwrites or drops
/// ([`Batch::discard_partial`]); it leaves whole rows only. The rows reach
/// `out` in row order, and the error returned is that of the first failing range, so of the
/// first failing row: neither depends on the number of threads. On an error, `out` holds some
/// of the rows.
///
/// The first range, a thread's share, is written after the own rows of `out` directly, by the
/// calling thread (rayon runs the leftmost part of a split where it was called), unless parts
/// follow them; the rest is cut into four ranges a thread, written into batches of `spare`
/// (kept for reuse, see [`reclaim`]) and handed over as parts of `out`, uncopied, while idle
/// threads still find work.
pub(crate) fn convert_in_parallel<E: Send>(
    rows: usize,
    min_range: usize,
    out: &mut Batch,
    spare: &mut Vec<Batch>,
    convert: impl Fn(std::ops::Range<usize>, &mut Batch) -> Result<(), E> + Sync,
) -> Result<(), E> {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    let first = rows / threads;
    let rest = (4 * (threads - 1)).min((rows - first) / min_range.max(1));
    let whole = threads == 1 || first < min_range || rest == 0;
    let in_place = out.parts.is_empty();
    if whole && in_place {
        return convert(0..rows, out);
    }
    // Range k ends at ends[k].
    let ends: Vec<usize> = if whole {
        vec![rows]
    } else {
        std::iter::once(first)
            .chain((1..=rest).map(|k| first + (rows - first) * k / rest))
            .collect()
    };
    let mut own = in_place.then(|| std::mem::take(out));
    let mut parts: Vec<Batch> = (usize::from(in_place)..ends.len())
        .map(|_| {
            // Its bytes stay, as stale ones.
            let mut b = spare.pop().unwrap_or_default();
            b.ends.clear();
            b
        })
        .collect();
    let batches: Vec<&mut Batch> = own.iter_mut().chain(parts.iter_mut()).collect();
    let results: Vec<Result<(), E>> = batches
        .into_par_iter()
        .enumerate()
        .map(|(k, batch)| {
            let start = if k == 0 { 0 } else { ends[k - 1] };
            convert(start..ends[k], batch)
        })
        .collect();
    if let Some(own) = own {
        *out = own;
    }
    out.parts.extend(parts);
    results
        .into_iter()
        .find_map(Result::err)
        .map_or(Ok(()), Err)
}

/// Most batches a reader keeps for reuse: the parts of two batches in use.
const MAX_SPARE: usize = 64;

/// Takes the parts of a batch handed out before back into `spare`, for the ranges of later
/// rows, before the batch is filled again.
pub(crate) fn reclaim(spare: &mut Vec<Batch>, parts: &mut Vec<Batch>) {
    let room = MAX_SPARE.saturating_sub(spare.len());
    spare.extend(parts.drain(..).take(room));
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

    /// Bytes read from the file so far, for readers that read it from start to end (CSV, XPT,
    /// Dataset-JSON): at the end, the file's size. `None` for readers that seek.
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
    DatasetFile::open(path)?.rows_with_block(format, csv_block, None)
}

/// [`write_value`](crate::core::record::write_value) for a value the caller knows needs no escaping (no `"`, `\\` or control
/// character), copied as it is: the fast paths of readers that checked their input in bulk.
pub fn write_plain_value(out: &mut Vec<u8>, value: &[u8]) {
    if value.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'"');
        out.extend_from_slice(value);
        out.push(b'"');
    }
}

/// The file a streaming reader reads from its start to its end (CSV, XPT, Dataset-JSON),
/// hashing what it reads when asked, so that a first run reads each byte once and still records
/// the file's digest for the next night.
pub struct Sequential {
    file: File,
    digest: Option<(blake3::Hasher, FileDigest)>,
}

/// The BLAKE3 digest of a file, `blake3:<64 hex>`, set when its reader reaches the end.
pub type FileDigest = std::sync::Arc<std::sync::OnceLock<String>>;

impl Sequential {
    fn new(file: File, digest: Option<FileDigest>) -> Self {
        Self {
            file,
            digest: digest.map(|d| (blake3::Hasher::new(), d)),
        }
    }

    /// Appends up to `limit` bytes of the file to `buf` and returns how many; fewer means the
    /// file has ended. The file's own `read_to_end` fills `buf`'s spare capacity as it is,
    /// where `read_to_end` through [`Read`](std::io::Read) for `Sequential` would zero-fill
    /// every block first (stable Rust gives a reader of its own no way to take uninitialized
    /// memory): measured as 1-2% of a run's CPU.
    ///
    /// # Errors
    /// The read error; `buf` then holds what was read before it, not digested, and the digest
    /// is never completed.
    pub fn read_appending(&mut self, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
        use std::io::Read;
        let start = buf.len();
        buf.reserve(limit);
        let result = (&mut self.file).take(limit as u64).read_to_end(buf);
        let n = match result {
            Ok(n) => n,
            Err(e) => {
                // Nothing unhashed may be mistaken for read.
                self.digest = None;
                return Err(e);
            }
        };
        if let Some((hasher, out)) = &mut self.digest {
            hasher.update(&buf[start..start + n]);
            // read_to_end stops short of the limit only at the end of the file.
            if n < limit {
                let _ = out.set(format!("blake3:{}", hasher.finalize().to_hex()));
            }
        }
        Ok(n)
    }
}

impl From<File> for Sequential {
    /// A file read without a digest.
    fn from(file: File) -> Self {
        Self::new(file, None)
    }
}

impl std::io::Read for Sequential {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // An empty read returns 0 without being the end of the file: it must not finish the
        // digest.
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.file.read(buf)?;
        if let Some((hasher, out)) = &mut self.digest {
            match n {
                0 => {
                    let _ = out.set(format!("blake3:{}", hasher.finalize().to_hex()));
                }
                // One thread: BLAKE3 already hashes many chunks of a read side by side, and the
                // cores are parsing and hashing rows (update_rayon here measured no better).
                n => {
                    hasher.update(&buf[..n]);
                }
            }
        }
        Ok(n)
    }
}

/// The version of the canonical-text rules the readers follow (docs/FORMAT.md section 2). Raise
/// it with any change to what text a reader gives a value, or to which values it refuses: a
/// nightly rerun reuses the leaves of an unchanged file only when they were read under the same
/// rules, so a full run and a rerun always agree. 2: a Dataset-JSON `integer` column refuses a
/// number written with a fraction or exponent that reads as 2^53 or more in magnitude.
pub const CANONICAL_RULES: u32 = 2;

/// A dataset file opened once: its bytes may be digested and then its rows read, through the
/// same handle, so that the digest is of the bytes the rows come from (the identity check at the
/// end covers both).
pub struct DatasetFile {
    path: PathBuf,
    file: File,
    opened: Snapshot,
}

impl DatasetFile {
    /// Opens `path`.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let file =
            File::open(path).map_err(|e| IngestError::file(path, format!("cannot open: {e}")))?;
        let opened = file
            .metadata()
            .map(|meta| Snapshot::from(&meta))
            .map_err(|e| IngestError::file(path, format!("cannot stat: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            opened,
        })
    }

    /// The BLAKE3 digest of the whole file, as `blake3:<64 hex>`, read from its start on all
    /// cores; the handle is rewound after, for [`DatasetFile::rows`]. The file must be the one
    /// opened, unchanged, and read to its size.
    ///
    /// # Errors
    /// A read error, or a file changed or replaced meanwhile.
    pub fn digest(&mut self) -> Result<String, IngestError> {
        use std::io::{Read, Seek};
        let err = |e: std::io::Error| IngestError::file(&self.path, format!("read error: {e}"));
        let mut hasher = blake3::Hasher::new();
        // Large reads: BLAKE3 splits each over the cores.
        let mut buf = vec![0u8; 8 << 20];
        let mut read = 0u64;
        loop {
            let n = self.file.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            hasher.update_rayon(&buf[..n]);
            read += n as u64;
        }
        self.opened.check_unchanged(&self.path, Some(read))?;
        self.file.rewind().map_err(err)?;
        Ok(format!("blake3:{}", hasher.finalize().to_hex()))
    }

    /// Checks that the file is still the one opened, unchanged.
    ///
    /// # Errors
    /// Saying what changed.
    pub fn check_unchanged(&self) -> Result<(), IngestError> {
        self.opened.check_unchanged(&self.path, None)
    }

    /// Its rows, as [`open`] gives them.
    ///
    /// # Errors
    /// When its header or schema cannot be read.
    pub fn rows(self, format: Format) -> Result<Box<dyn RowSource>, IngestError> {
        self.rows_with_block(format, csv::BLOCK, None)
    }

    /// Its rows and its digest: a file read from start to end (CSV, XPT, Dataset-JSON) is hashed
    /// as its rows are read (the digest is set when the reader reaches the file's end); Parquet
    /// and Arrow IPC, read out of order, are digested first, then read.
    ///
    /// # Errors
    /// As [`DatasetFile::digest`] and [`DatasetFile::rows`].
    pub fn rows_and_digest(
        mut self,
        format: Format,
    ) -> Result<(Box<dyn RowSource>, FileDigest), IngestError> {
        let digest = FileDigest::default();
        if matches!(format, Format::Parquet | Format::Arrow) {
            let _ = digest.set(self.digest()?);
            return Ok((self.rows(format)?, digest));
        }
        let rows = self.rows_with_block(format, csv::BLOCK, Some(digest.clone()))?;
        Ok((rows, digest))
    }

    fn rows_with_block(
        self,
        format: Format,
        csv_block: usize,
        digest: Option<FileDigest>,
    ) -> Result<Box<dyn RowSource>, IngestError> {
        let DatasetFile { path, file, opened } = self;
        let path = path.as_path();
        let source: Box<dyn RowSource> = guarded(path, || match format {
            Format::Csv => {
                let file = Sequential::new(file, digest);
                Ok(Box::new(csv::CsvSource::new(path, file, csv_block)?) as Box<dyn RowSource>)
            }
            Format::Parquet => Ok(Box::new(parquet::open(path, file)?)),
            Format::Arrow => ipc::open(path, file),
            Format::Xpt => Ok(Box::new(xpt::XptSource::new(
                path,
                Sequential::new(file, digest),
            )?)),
            f @ (Format::DatasetJson | Format::DatasetNdjson | Format::DatasetJsonCompressed) => {
                Ok(Box::new(dataset_json::DatasetJsonSource::new(
                    path,
                    Sequential::new(file, digest),
                    f != Format::DatasetJson,
                    f == Format::DatasetJsonCompressed,
                )?))
            }
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
        // A proof names each value by its column: two columns of one name would make a value's
        // column ambiguous (Dataset-JSON's own rules refuse them too).
        let mut seen = std::collections::HashMap::with_capacity(source.columns().len());
        for (i, name) in source.columns().iter().enumerate() {
            if let Some(first) = seen.insert(name.as_str(), i) {
                return Err(IngestError::at(
                    path,
                    format!("column {}", i + 1),
                    format!(
                        "duplicate column name {name:?} (column {} has it too)",
                        first + 1
                    ),
                ));
            }
        }
        Ok(Box::new(Guarded {
            path: path.to_owned(),
            inner: source,
            opened,
        }))
    }
}

/// What identifies a file and its contents at one moment, from its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
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

    /// Checks that the file opened as `self` is still the one at `path` (the same device and
    /// inode: the file the handle read), with the size and modification time it had when
    /// opened, and that all of it was read when the reader counts bytes (`read`).
    ///
    /// # Errors
    /// Saying what changed, and that nothing was anchored.
    pub(crate) fn check_unchanged(
        &self,
        path: &Path,
        read: Option<u64>,
    ) -> Result<(), IngestError> {
        let why = match std::fs::metadata(path) {
            Err(e) => Some(format!("it can no longer be found there: {e}")),
            Ok(meta) => self.changed(&Snapshot::from(&meta)),
        }
        .or_else(|| {
            let read = read?;
            (self.regular && read != self.size).then(|| {
                format!(
                    "{read} bytes were read of the {} it had when opened",
                    self.size
                )
            })
        });
        match why {
            None => Ok(()),
            Some(why) => Err(IngestError::file(
                path,
                format!(
                    "changed or replaced while it was being read ({why}); nothing was anchored, \
                     run again"
                ),
            )),
        }
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

/// Bit `i` set when an odd number of bits `0..=i` of `m` are set: with `m` the quotes of a
/// 64-byte block, the bytes inside quoted text (the CSV and Dataset-JSON scanners).
pub(crate) const fn prefix_xor(mut m: u64) -> u64 {
    m ^= m << 1;
    m ^= m << 2;
    m ^= m << 4;
    m ^= m << 8;
    m ^= m << 16;
    m ^= m << 32;
    m
}

/// What a caught panic said, for the error that replaces it.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown")
}

/// Runs a decoder step, turning a panic inside a third-party decoder (on corrupt input) into an
/// error naming the file: bad input must never take the process down.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, IngestError>) -> Result<T, IngestError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic_message(&*panic);
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
    fn check_unchanged(&self) -> Result<(), IngestError> {
        self.opened
            .check_unchanged(&self.path, self.inner.bytes_read())
    }
}

impl RowSource for Guarded {
    fn columns(&self) -> &[String] {
        self.inner.columns()
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        let path = self.path.clone();
        // A file changed while it was read fails somewhere in the middle (a truncated last
        // row reads as ragged): the change is the cause to name.
        let more = guarded(&path, || self.inner.next_batch(batch)).map_err(|e| {
            self.opened
                .check_unchanged(&self.path, None)
                .err()
                .unwrap_or(e)
        })?;
        if !more {
            self.check_unchanged()?;
        }
        Ok(more)
    }

    fn bytes_read(&self) -> Option<u64> {
        self.inner.bytes_read()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::{Batch, FileDigest, Sequential};

    /// The digest is set at the end of the file, of all its bytes, and an empty read on the way
    /// (which also returns 0) does not finish it early.
    #[test]
    fn sequential_digest_is_set_at_the_end_of_the_file_only() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&bytes).unwrap();
        let digest = FileDigest::default();
        let mut seq = Sequential::new(tmp.reopen().unwrap(), Some(digest.clone()));
        let mut buf = vec![0u8; 4096];
        assert_eq!(seq.read(&mut buf[..0]).unwrap(), 0);
        assert_eq!(digest.get(), None);
        let mut read = Vec::new();
        seq.read_to_end(&mut read).unwrap();
        assert_eq!(read, bytes);
        let want = format!("blake3:{}", blake3::hash(&bytes).to_hex());
        assert_eq!(digest.get(), Some(&want));
    }

    /// Only a key of the first object makes a JSON file Dataset-JSON: not the word in a value,
    /// not a key nested deeper (a schema), wherever the object is cut.
    #[test]
    fn a_dataset_json_file_has_its_version_key_at_the_top() {
        let yes: [&[u8]; 5] = [
            br#"{"datasetJSONCreationDateTime":"x","datasetJSONVersion":"1.1.0","rows":[["#,
            b"\xef\xbb\xbf{ \"datasetJSONVersion\" : \"1.1\"}",
            br#"{"a":{"b":[1,{"c":"]}"}]},"datasetJSONVersion":"1.1"}"#,
            br#"{"dataset\u004aSONVersion":"1.1"}"#,
            b"{\"datasetJSONVersion\":\"1.1\",\"records\":2}\n[1]\n[2]\n",
        ];
        let no: [&[u8]; 6] = [
            br#"{"foo": 1, "note": "datasetJSONVersion"}"#,
            br#"{"foo": {"datasetJSONVersion": "1.1.0"}}"#,
            br#"{"properties":{"datasetJSONVersion":{"type":"string"}}}"#,
            br#"[{"datasetJSONVersion":"1.1"}]"#,
            br#"{"a":"#,
            b"",
        ];
        for head in yes {
            assert!(
                super::has_version_key(head),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
        for head in no {
            assert!(
                !super::has_version_key(head),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    /// Own rows, an empty part, a part with stale bytes after its rows, another part: the rows
    /// of one batch written in one buffer.
    #[test]
    fn a_batch_reads_its_parts_rows_after_its_own() {
        let rows: Vec<String> = (0..10)
            .map(|i| format!("[\"{}\"]", "x".repeat(i)))
            .collect();
        let fill = |batch: &mut Batch, rows: &[String]| {
            for row in rows {
                batch.buf.extend_from_slice(row.as_bytes());
                batch.end_row();
            }
        };
        let mut whole = Batch::default();
        fill(&mut whole, &rows);
        let mut split = Batch::default();
        fill(&mut split, &rows[..3]);
        let mut stale = Batch::default();
        fill(&mut stale, &rows[3..7]);
        stale.buf.extend_from_slice(b"stale bytes");
        let mut last = Batch::default();
        fill(&mut last, &rows[7..]);
        split.parts = vec![Batch::default(), stale, last];
        assert_eq!(split.len(), 10);
        assert!(!split.is_empty());
        assert_eq!(split.bytes(), whole.rows_end());
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(split.row(i), row.as_bytes(), "row {i}");
        }
        assert!(std::panic::catch_unwind(|| split.row(10)).is_err());
        let empty = Batch {
            parts: vec![Batch::default()],
            ..Batch::default()
        };
        assert_eq!((empty.is_empty(), empty.len()), (true, 0));
    }

    /// Reading in blocks appended to a buffer gives the file's bytes and its digest, which is
    /// set only once a block comes back short: not by an empty request, and not by a last
    /// block that fills its limit exactly (the next, empty one finishes it).
    #[test]
    fn read_appending_digests_every_block_and_finishes_at_the_end() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let want = format!("blake3:{}", blake3::hash(&bytes).to_hex());
        for block in [1000, 4096, 100_000, 150_000] {
            let mut tmp = tempfile::NamedTempFile::new().unwrap();
            tmp.write_all(&bytes).unwrap();
            let digest = FileDigest::default();
            let mut seq = Sequential::new(tmp.reopen().unwrap(), Some(digest.clone()));
            let mut read = b"kept".to_vec();
            assert_eq!(seq.read_appending(&mut read, 0).unwrap(), 0);
            assert_eq!(digest.get(), None);
            loop {
                let n = seq.read_appending(&mut read, block).unwrap();
                if n < block {
                    break;
                }
                assert_eq!(
                    digest.get(),
                    None,
                    "block {block}: finished before a short read"
                );
            }
            assert_eq!(&read[..4], b"kept");
            assert_eq!(read[4..], bytes[..], "block {block}");
            assert_eq!(digest.get(), Some(&want), "block {block}");
        }
    }
}
