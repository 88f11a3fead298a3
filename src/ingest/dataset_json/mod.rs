//! CDISC Dataset-JSON v1.1 reader: the `.json` form, the `.ndjson` form and the compressed
//! `.dsjc` form, streamed in batches into canonical `values` arrays.
//!
//! # Format
//!
//! * `.json`: one object. Its metadata keys come first and `rows` (an array of row arrays, one
//!   value per column in column order) last, as the specification orders them "so that software
//!   can stream". This reader relies on that order: `rows` before a required key (for example
//!   before `columns`) or any key after `rows` is an error, not a reason to buffer the file.
//!   `rows` may be absent (a metadata-only dataset, which needs `records: 0`).
//! * `.ndjson`: line 1 is the metadata object without `rows`; each later line is one row array.
//!   Lines end in `\n`, optionally after `\r`; the last line's `\n` is optional; an empty line
//!   elsewhere is an error. Keys on line 1 may come in any order.
//! * `.dsjc`: the NDJSON form compressed (`compressed` implies `ndjson`). The specification says
//!   a zlib (RFC 1950) stream, but all 60 `.dsjc` official examples are gzip (RFC 1952); both
//!   are read, told apart by their first two bytes. One stream only: bytes after its end (such
//!   as a second gzip member) are an error, and so is a stream cut short (its checksum is
//!   verified). The DSJC text allows a line to be "an array or object"; Dataset-JSON defines
//!   only arrays, and an object row is an error in every form.
//! * Text: UTF-8 (invalid UTF-8, lone surrogate escapes and raw control characters in strings
//!   are errors); U+2028 and U+2029 are ordinary characters, also inside NDJSON lines.
//! * A UTF-8 byte order mark at the start of the (decompressed) text is skipped.
//! * Metadata: the keys the schema requires (`datasetJSONCreationDateTime`,
//!   `datasetJSONVersion`, `itemGroupOID`, `records`, `name`, `label`, `columns`) must be
//!   present, each once, with the schema's JSON types, and so must the optional keys it names
//!   when present (`fileOID`, `dbLastModifiedDateTime`, `originator`, `sourceSystem` with `name`
//!   and `version`, `studyOID`, `metaDataVersionOID`, `metaDataRef`). Other keys (extensions)
//!   are skipped. `datasetJSONVersion` must be `1.1` or `1.1.x`. Each column needs `itemOID`,
//!   `name` (non-empty, unique), `label` and `dataType` from the specification's list;
//!   `targetDataType`, when given, is `integer` or `decimal` and changes nothing here; `length`,
//!   `displayFormat` and `keySequence` are checked for type only (lengths are "planned").
//!   The column names are `columns[].name`. At least one column, at most [`MAX_COLUMNS`].
//! * `records` must equal the number of rows: a row past it is an error at once, fewer rows at
//!   the end.
//!
//! # Canonical values, by the column's `dataType`
//!
//! | dataType | JSON value | canonical text |
//! |---|---|---|
//! | `string`, `URI` | string | the string |
//! | `decimal` | string | the string exactly (`"1.50"` stays `1.50`: no numeric reformatting) |
//! | `date`, `datetime`, `time` | string | the ISO 8601 string as written, also with `targetDataType: "integer"` (the SAS day or second number is the receiver's conversion, not what the file holds) |
//! | `integer` | number | decimal digits, `-` for negatives: any JSON integer from -2^63 to 2^64-1, and a number with zero fraction within ±2^53 (`63.0`, `6.3e1` → `63`; JSON Schema counts `63.0` as an integer) |
//! | `float`, `double` | number | ECMAScript `Number::toString` of the nearest f64 (both types: the JSON carries a decimal number, not an IEEE single) |
//! | `boolean` | `true`/`false` | `true`, `false` |
//! | any | `null` | `null` |
//!
//! `""` is `null`, as everywhere in trialnotary. Any other JSON type is an error naming the row
//! and column: a string in an `integer`, `float` or `double` column (also `""`), a number in a
//! string-typed column (a `decimal` sent as a JSON number has already lost its digits), an
//! integer column value with a fraction, and arrays or objects anywhere. String contents are not
//! validated further (decimal or ISO 8601 syntax is a conformance checker's job; the notary
//! records what the file holds). A row with more or fewer values than columns is an error.
//!
//! # Streaming
//!
//! The metadata is parsed in [`DatasetJsonSource::new`] on the caller's thread. A reader thread
//! then only frames the rows: it finds where each row's text ends (the tokenizer below) and
//! copies the texts into chunks of up to 8,192 rows or 4 MiB of text, handed over a
//! channel of one chunk, with each row's place (its number, its NDJSON line, its `.json` byte
//! offset). The caller's thread parses a chunk's rows on all cores, in ranges of consecutive
//! rows concatenated in row order (`convert_in_parallel`, as the XPT reader does), and gathers
//! chunks into a batch of up to [`BATCH_ROWS`] rows or 32 MiB of canonical text. Framing is the
//! serial part and a fraction of the work; parsing, most of it, spreads over the cores.
//!
//! Errors stay those of one thread reading in file order: a chunk carries what follows its rows
//! (more rows, the end, or the reader's error at the place after them, such as a row past
//! `records` or a file cut short), and that error counts only when every row of the chunk
//! parsed; of the rows, the first that fails in file order is the error, whatever the number of
//! threads.
//!
//! Memory is bounded by about five chunks (the one being filled, one in the channel, the one
//! being parsed, two recycled), the caller's batch and the ranges' batches (about one chunk's
//! output), plus the input buffer: blocks of 1 MiB, grown only to hold a single row of up to
//! [`MAX_RECORD_BYTES`] (also the bound on the metadata and on how far a chunk or batch may
//! pass its size). A row's canonical text is no longer than its JSON text but for numbers,
//! which grow by at most about twenty bytes each (`1e15` → `"1000000000000000"`), and a row has
//! at most [`MAX_COLUMNS`] values, so the input limit bounds the output too.
//!
//! The parser is a small pull tokenizer plus serde_json. The tokenizer walks the top-level
//! object and the `rows` array (or the lines) and finds where each value ends: depth counting
//! outside strings (64 bytes at a time with SSE2 while no backslash is met), exact for valid
//! JSON, rescanned after each refill, which at least doubles the pending bytes, so linear.
//! serde_json then parses exactly that slice: `columns` into typed structs (catching duplicate
//! keys), other metadata into `serde_json::Value`, and a row through a `DeserializeSeed` visitor
//! that writes each cell's canonical text straight into the batch. serde_json thereby validates
//! every byte inside a value (UTF-8, escapes, numbers, nesting) and the tokenizer every byte
//! between values. Against `serde_json::Deserializer::from_reader` with a visitor walking the
//! whole `rows` array: parsing a slice lets serde_json lend unescaped strings, copied out
//! without a second escape scan (from_reader copies every string into its scratch buffer; on a
//! 37 MB file it validates at 476 MB/s against 672 MB/s for a slice); the tokenizer owns the
//! framing, so the order rules, the version check before a 1.0 body, a readable "key after
//! rows" and the [`MAX_RECORD_BYTES`] limit on one row come naturally, and the reader thread can
//! stop between any two rows. No young pull-parser crate was needed: the hard parts are
//! serde_json's, already trusted by the crate. Numbers need serde_json's `float_roundtrip`
//! feature to parse to the nearest f64.
//!
//! Most rows skip serde_json: `fast_row` writes a row of plain strings (no escape), numbers,
//! booleans and nulls of their columns' types directly, and hands anything else (an escape, a
//! wrong type, a long number, invalid JSON) to serde_json, which then writes the row or names
//! its error, so the text of every row and every error message are serde_json's. Tests check
//! the two against each other on generated rows.
//!
//! Speed (`cargo bench --bench ingest`, 235,216 LB rows × 26 columns, shared 2-core machine):
//! about 6.8 million rows/s for `.json` and 7.4 million for `.ndjson`, where the CSV reader
//! reads the same rows at 6.4 million in the same run (one reader thread parsing everything
//! did 1.3 million). Both cores are needed for that: with other jobs loading the machine
//! (load about 4) it was about 4 million, 75-85% of CSV's, as it spends more CPU per row.
//!
//! # Positions in errors
//!
//! Rows are numbered from 0. `.json` errors name the row and the byte offset; `.ndjson` and
//! `.dsjc` errors name the line (from 1) and the row, as `line 7 (row 5)`, with the column of the
//! line where serde_json gives one (offsets in a `.dsjc` are in its decompressed text).
//! [`RowSource::bytes_read`] counts bytes read from the file, which for `.dsjc` are compressed
//! bytes; every form is read to its end, so at the end it is the file's size.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use flate2::{Decompress, FlushDecompress, Status};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, SeqAccess, Visitor};

use super::canonical::{F64_MAX, push_f64, write_f64};
use super::{
    BATCH_ROWS, Batch, IngestError, MAX_COLUMNS, MAX_RECORD_BYTES, RowSource, convert_in_parallel,
};
use crate::core::record::write_value;
use crate::ingest::write_plain_value;

/// Bytes read from the file (or decompressor) at a time.
const BLOCK: usize = 1 << 20;

/// Most rows in a chunk: a batch gathers several chunks, so that the reader thread's buffers
/// stay small enough to be reused rather than allocated (and faulted in) afresh for each batch,
/// which cost it about a tenth of its time with chunks of a whole batch.
const CHUNK_ROWS: usize = BATCH_ROWS / 8;

/// A chunk of rows is handed over once their JSON text reaches this size, even short of
/// [`CHUNK_ROWS`] rows, so that wide rows cannot multiply the memory held in chunks.
const CHUNK_BYTES: usize = 4 << 20;

/// A batch is handed over once its canonical text reaches this size, even short of
/// [`BATCH_ROWS`] rows, so that wide rows cannot multiply the memory held in batches.
const BATCH_BYTES: usize = 32 << 20;

/// Fewest rows one core parses at a time, when rows are short...
const MIN_RANGE: usize = 256;

/// ... and fewest bytes of JSON text, when rows are long: a chunk of wide rows is still parsed
/// on all cores.
const MIN_RANGE_BYTES: usize = 64 << 10;

/// Largest integral `float` accepted in an `integer` column: beyond 2^53 a JSON number with a
/// fraction or exponent no longer names one integer.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Streams one Dataset-JSON file.
pub struct DatasetJsonSource {
    path: PathBuf,
    columns: Vec<String>,
    types: Vec<DataType>,
    ndjson: bool,
    chunks: Receiver<Chunk>,
    /// Chunks handed back for reuse, so the reader thread need not grow fresh buffers.
    recycle: SyncSender<Chunk>,
    worker: Option<JoinHandle<()>>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Batches of ranges parsed in parallel, kept for reuse.
    spare: Vec<Batch>,
    finished: bool,
}

/// Rows found by the reader thread, not yet parsed: each row's JSON text (a `.json` row array
/// or an NDJSON line), then how the rows end.
#[derive(Default)]
struct Chunk {
    /// The rows' text, one after the other.
    text: Vec<u8>,
    /// Where each row's text ends in `text`.
    ends: Vec<usize>,
    /// `.json`: where each row starts in the file's text, for the byte offsets of errors.
    offsets: Vec<u64>,
    /// The number of the first row, from 0.
    first_row: u64,
    /// NDJSON: the line of the first row, from 1 (each row is one line).
    first_line: u64,
    /// What follows the rows.
    end: End,
}

/// What follows the rows of a chunk.
#[derive(Default)]
enum End {
    /// More rows.
    #[default]
    More,
    /// The end of the file, every check passed.
    Done,
    /// An error at the place after the rows: it is the file's error unless one of the rows
    /// fails to parse.
    Failed(IngestError),
}

impl Chunk {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.offsets.clear();
        self.end = End::More;
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The text of row `i`.
    fn row(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

impl DatasetJsonSource {
    /// Reads the metadata (up to the start of `rows`) from `file`, already opened by the caller,
    /// and starts reading rows on a thread of its own. `ndjson`: the NDJSON form (first line
    /// metadata, each later line one row array); `compressed`: the `.dsjc` form (a zlib or gzip
    /// stream of the NDJSON form; `ndjson` is then implied).
    ///
    /// # Errors
    /// An unreadable file, a corrupt compressed stream, metadata that is not Dataset-JSON 1.1
    /// (see the module documentation), or a failure to start the reader thread.
    pub fn new(
        path: &Path,
        file: File,
        ndjson: bool,
        compressed: bool,
    ) -> Result<Self, IngestError> {
        Self::with_limits(
            path,
            file,
            ndjson,
            compressed,
            MAX_RECORD_BYTES,
            CHUNK_BYTES,
        )
    }

    /// [`Self::new`] with another longest row (and metadata) than [`MAX_RECORD_BYTES`] and
    /// other chunks than [`CHUNK_BYTES`], so that tests need not write hundreds of megabytes.
    fn with_limits(
        path: &Path,
        file: File,
        ndjson: bool,
        compressed: bool,
        limit: usize,
        chunk_bytes: usize,
    ) -> Result<Self, IngestError> {
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            file,
            bytes: Arc::clone(&bytes),
        };
        let src: Box<dyn Read + Send> = if compressed {
            Box::new(Inflate::new(counted).map_err(|e| io_error(path, None, &e))?)
        } else {
            Box::new(counted)
        };
        let mut reader = Reader {
            path: path.to_owned(),
            input: Input::new(src, limit),
            ndjson: ndjson || compressed,
            names: Vec::new(),
            types: Vec::new(),
            records: 0,
            row: 0,
            line: 1,
            state: State::Rows { first: true },
            chunk_bytes,
        };
        reader.read_metadata()?;
        let columns = reader.names.clone();
        let types = reader.types.clone();
        let ndjson = reader.ndjson;

        let (tx, chunks) = std::sync::mpsc::sync_channel(1);
        let (recycle, spare) = std::sync::mpsc::sync_channel(2);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_worker = Arc::clone(&stop);
        let worker = std::thread::Builder::new()
            .name("dataset-json".into())
            .spawn(move || run(reader, &tx, &spare, &stop_worker))
            .map_err(|e| IngestError::file(path, format!("cannot start the reader thread: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            columns,
            types,
            ndjson,
            chunks,
            recycle,
            worker: Some(worker),
            bytes,
            stop,
            spare: Vec::new(),
            finished: false,
        })
    }

    /// Parses the rows of `chunk` into `batch` on all cores; the first row that fails, in file
    /// order, is the error.
    fn parse(&mut self, chunk: &Chunk, batch: &mut Batch) -> Result<(), IngestError> {
        let types = &self.types;
        let row_bytes = chunk.text.len() / chunk.len().max(1);
        convert_in_parallel(
            chunk.len(),
            (MIN_RANGE_BYTES / row_bytes.max(1)).clamp(1, MIN_RANGE),
            batch,
            &mut self.spare,
            |range, batch| parse_rows(types, chunk, range, batch),
        )
        .map_err(|(i, fail)| self.row_error(chunk, i, fail))
    }

    /// The error of row `i` of `chunk`.
    fn row_error(&self, chunk: &Chunk, i: usize, fail: RowFail) -> IngestError {
        let row = chunk.first_row + i as u64;
        let at = if self.ndjson {
            format!("line {} (row {row})", chunk.first_line + i as u64)
        } else {
            format!("row {row}")
        };
        match fail {
            RowFail::Value { col, message } => IngestError::at(
                &self.path,
                format!(
                    "{at}, column {}",
                    self.columns.get(col).map_or("?", String::as_str)
                ),
                message,
            ),
            RowFail::Count(found) => IngestError::at(
                &self.path,
                at,
                format!("{found} values, but there are {} columns", self.types.len()),
            ),
            RowFail::Json {
                within,
                data,
                message,
            } => {
                let place = if self.ndjson {
                    format!("column {} of the line", within + 1)
                } else {
                    format!("byte {}", chunk.offsets[i] + within as u64)
                };
                let message = if data {
                    format!("{message} (at {place})")
                } else {
                    format!("invalid JSON at {place}: {message}")
                };
                IngestError::at(&self.path, at, message)
            }
        }
    }
}

impl RowSource for DatasetJsonSource {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        batch.clear();
        while !self.finished {
            let Ok(mut chunk) = self.chunks.recv() else {
                self.finished = true;
                return Err(IngestError::file(
                    &self.path,
                    "internal error: the Dataset-JSON reader thread stopped without a result",
                ));
            };
            let parsed = self.parse(&chunk, batch);
            let end = std::mem::take(&mut chunk.end);
            // Full only if the reader thread has not taken the last ones: drop this one.
            let _ = self.recycle.try_send(chunk);
            if let Err(e) = parsed {
                self.finished = true;
                return Err(e);
            }
            match end {
                End::More => {}
                End::Done => self.finished = true,
                End::Failed(e) => {
                    self.finished = true;
                    batch.clear();
                    return Err(e);
                }
            }
            if batch.len() + CHUNK_ROWS > BATCH_ROWS || batch.buf.len() >= BATCH_BYTES {
                break;
            }
        }
        Ok(!batch.is_empty())
    }

    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes.load(Ordering::Acquire))
    }
}

impl Drop for DatasetJsonSource {
    fn drop(&mut self) {
        // Stop the thread and wait for it, so the file is closed when the source is gone. It
        // checks `stop` between chunks; replacing the receiver wakes it if it is blocked
        // sending one.
        self.stop.store(true, Ordering::Release);
        let (_, dead) = std::sync::mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.chunks, dead));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The reader thread: fills chunks until the end, an error or `stop`. A panic (a bug: no
/// input should cause one) becomes an error, as `ingest::open` does for the caller's thread.
fn run(mut reader: Reader, tx: &SyncSender<Chunk>, spare: &Receiver<Chunk>, stop: &AtomicBool) {
    loop {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.clear();
        chunk.first_row = reader.row;
        chunk.first_line = reader.line;
        let filled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.fill(&mut chunk)));
        chunk.end = match filled {
            Ok(Ok(true)) => End::More,
            Ok(Ok(false)) => End::Done,
            Ok(Err(e)) => End::Failed(e),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown");
                End::Failed(IngestError::file(
                    &reader.path,
                    format!("internal error: the Dataset-JSON reader panicked ({what})"),
                ))
            }
        };
        let last = !matches!(chunk.end, End::More);
        if tx.send(chunk).is_err() || last {
            return;
        }
    }
}

/// Counts the bytes read from the file, for [`RowSource::bytes_read`].
struct Counted {
    file: File,
    bytes: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Release);
        Ok(n)
    }
}

/// A zlib or gzip stream, decompressed by one decoder for both (zlib-rs reads the gzip wrapper
/// itself), chosen by the first two bytes. A stream cut short is an error, and so is anything
/// after the stream's end, which flate2's `read` decoders ignore; the file is read to its end,
/// so that [`RowSource::bytes_read`] comes to its size.
struct Inflate<R> {
    src: R,
    input: Vec<u8>,
    start: usize,
    end: usize,
    src_eof: bool,
    z: Decompress,
    done: bool,
}

impl<R: Read> Inflate<R> {
    /// Tells zlib from gzip by the first two bytes.
    fn new(mut src: R) -> io::Result<Self> {
        let mut input = vec![0u8; 64 << 10];
        let mut end = 0;
        while end < 2 {
            let n = src.read(&mut input[end..])?;
            if n == 0 {
                break;
            }
            end += n;
        }
        let z = match input[..end] {
            [0x1f, 0x8b, ..] => Decompress::new_gzip(15),
            [cmf, flg, ..]
                if cmf & 0x0f == 8
                    && cmf >> 4 <= 7
                    && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0 =>
            {
                Decompress::new(true)
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not a compressed Dataset-JSON file: neither a zlib (RFC 1950) nor a gzip \
                     (RFC 1952) stream",
                ));
            }
        };
        Ok(Self {
            src,
            input,
            start: 0,
            end,
            src_eof: false,
            z,
            done: false,
        })
    }

    /// After the stream's end: nothing may follow it.
    fn check_trailing(&mut self) -> io::Result<()> {
        let trailing = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "data after the end of the compressed stream (only one zlib stream or gzip \
                 member is read)",
            )
        };
        if self.start < self.end {
            return Err(trailing());
        }
        if !self.src_eof && self.src.read(&mut self.input)? > 0 {
            return Err(trailing());
        }
        self.src_eof = true;
        Ok(())
    }
}

impl<R: Read> Read for Inflate<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.start == self.end && !self.src_eof {
                self.start = 0;
                self.end = self.src.read(&mut self.input)?;
                self.src_eof = self.end == 0;
            }
            let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(
                    &self.input[self.start..self.end],
                    out,
                    FlushDecompress::None,
                )
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("corrupt compressed stream: {e}"),
                    )
                })?;
            let used = (self.z.total_in() - in_before) as usize;
            let made = (self.z.total_out() - out_before) as usize;
            self.start += used;
            if status == Status::StreamEnd {
                self.done = true;
                self.check_trailing()?;
                return Ok(made);
            }
            if made > 0 {
                return Ok(made);
            }
            if self.start == self.end && self.src_eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the compressed stream is cut short",
                ));
            }
            if used == 0 && self.start < self.end {
                // Input and room for output but no progress: zlib never does this on a valid
                // stream, and looping would never end.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt compressed stream: the decompressor made no progress",
                ));
            }
        }
    }
}

/// The text being parsed: `buf[pos..]` is read and not yet consumed.
struct Input {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    /// Offset in the text of `buf[0]`.
    base: u64,
    eof: bool,
    /// Longest value (row, line or metadata) accepted: [`MAX_RECORD_BYTES`], less in tests.
    limit: usize,
}

/// Why the tokenizer stopped.
enum Stop {
    Io(io::Error),
    /// The text ended inside a value.
    Eof,
    /// A value longer than the limit, [`MAX_RECORD_BYTES`].
    TooLong,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

impl Input {
    fn new(src: Box<dyn Read + Send>, limit: usize) -> Self {
        Self {
            src,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            eof: false,
            limit,
        }
    }

    /// Offset in the text of `buf[i]`.
    fn offset(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    /// Drops the consumed bytes and reads at least one block, and at least as much as is
    /// pending, so that rescanning a long value after each refill stays linear (but not much
    /// past the limit, which the callers check before refilling).
    fn refill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        if self.buf.capacity() > 4 * BLOCK && self.buf.len() < BLOCK {
            self.buf.shrink_to(2 * BLOCK);
        }
        let want = BLOCK.max(
            self.buf
                .len()
                .min(self.limit.saturating_sub(self.buf.len())),
        );
        let n = (&mut self.src)
            .take(want as u64)
            .read_to_end(&mut self.buf)?;
        if n < want {
            self.eof = true;
        }
        Ok(())
    }

    /// Skips a UTF-8 byte order mark at the start of the text.
    fn skip_bom(&mut self) -> io::Result<()> {
        while self.buf.len() < 3 && !self.eof {
            self.refill()?;
        }
        if self.base == 0 && self.buf.starts_with(b"\xef\xbb\xbf") {
            self.pos = 3;
        }
        Ok(())
    }

    /// The next byte that is not JSON whitespace, not consumed; `None` at the end.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if self.eof {
                return Ok(None);
            }
            self.refill()?;
        }
    }

    /// Where the value at `pos` (not whitespace) ends in `buf`, reading as needed.
    fn value_end(&mut self) -> Result<usize, Stop> {
        loop {
            match value_len(&self.buf[self.pos..]) {
                Some(n) if n > self.limit => return Err(Stop::TooLong),
                Some(n) => return Ok(self.pos + n),
                None if self.eof => {
                    let rest = &self.buf[self.pos..];
                    // A number or literal may end with the text.
                    return match rest.first() {
                        Some(b'"' | b'[' | b'{') | None => Err(Stop::Eof),
                        Some(_) => Ok(self.buf.len()),
                    };
                }
                None if self.buf.len() - self.pos > self.limit => return Err(Stop::TooLong),
                None => self.refill()?,
            }
        }
    }

    /// Where the line at `pos` ends (its `\n`, or the end of the text), reading as needed.
    fn line_end(&mut self) -> Result<usize, Stop> {
        let mut from = self.pos;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[from..]) {
                if from + i - self.pos > self.limit {
                    return Err(Stop::TooLong);
                }
                return Ok(from + i);
            }
            if self.eof {
                if self.buf.len() - self.pos > self.limit {
                    return Err(Stop::TooLong);
                }
                return Ok(self.buf.len());
            }
            if self.buf.len() - self.pos > self.limit {
                return Err(Stop::TooLong);
            }
            from = self.buf.len() - self.pos;
            self.refill()?;
            // refill moved the pending bytes to the front.
        }
    }
}

/// Length of the JSON value at the start of `b` (which is not whitespace), if `b` holds all of
/// it. Exact for valid JSON; for invalid JSON it returns some prefix, which serde_json rejects.
/// A number or literal is complete only when a delimiter follows it.
fn value_len(b: &[u8]) -> Option<usize> {
    match *b.first()? {
        b'"' => string_len(b),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut i = 0;
            // Whole blocks of 64 bytes without a backslash: strings found by a prefix XOR of
            // the quotes (as simdjson does), brackets counted outside them.
            let mut in_string = false;
            while let Some(block) = b.get(i..i + 64) {
                let m = json_masks(block.try_into().unwrap_or(&[0; 64]));
                if m.escapes != 0 {
                    break;
                }
                let inside = prefix_xor(m.quotes) ^ if in_string { u64::MAX } else { 0 };
                let mut brackets = (m.opens | m.closes) & !inside;
                while brackets != 0 {
                    let bit = brackets.trailing_zeros() as usize;
                    brackets &= brackets - 1;
                    if m.opens >> bit & 1 == 1 {
                        depth += 1;
                    } else {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + bit + 1);
                        }
                    }
                }
                in_string = inside >> 63 == 1;
                i += 64;
            }
            // The rest one byte at a time, first to the end of a string left open.
            if in_string {
                i = string_end(b, i)?;
            }
            while let Some(&c) = b.get(i) {
                match c {
                    b'"' => {
                        i = string_end(b, i + 1)?;
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => b.iter().position(|&c| {
            matches!(
                c,
                b',' | b']' | b'}' | b'[' | b'{' | b'"' | b':' | b' ' | b'\t' | b'\n' | b'\r'
            )
        }),
    }
}

/// Length of the string whose opening quote is `b[0]`, closing quote included.
fn string_len(b: &[u8]) -> Option<usize> {
    string_end(b, 1)
}

/// Where the string that `b[i]` is inside (after its opening quote, not after a `\\`) ends:
/// the index after its closing quote.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let j = quote_or_escape(b, i)?;
        if b[j] == b'"' {
            return Some(j + 1);
        }
        i = j + 2;
    }
}

/// Bit `i` set when an odd number of bits `0..=i` of `m` are set.
const fn prefix_xor(mut m: u64) -> u64 {
    m ^= m << 1;
    m ^= m << 2;
    m ^= m << 4;
    m ^= m << 8;
    m ^= m << 16;
    m ^= m << 32;
    m
}

/// Bytes of a 64-byte block that matter for finding where a value ends, as bit masks (byte `i`
/// is bit `i`).
#[derive(Debug, Default, PartialEq, Eq)]
struct JsonMasks {
    quotes: u64,
    escapes: u64,
    /// `[` and `{`.
    opens: u64,
    /// `]` and `}`.
    closes: u64,
}

/// [`JsonMasks`] sixteen bytes at a time with SSE2, which every x86-64 processor has. `[` and
/// `{` differ only in bit 0x20, and so do `]` and `}`: with that bit set, one compare finds both.
#[cfg(target_arch = "x86_64")]
fn json_masks(block: &[u8; 64]) -> JsonMasks {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (quote, escape) = (splat(b'"'), splat(b'\\'));
    let (lower, curly, curly_close) = (splat(0x20), splat(b'{'), splat(b'}'));
    let bits = |m: m128i| u64::from(move_mask_i8_m128i(m) as u16);
    let mut m = JsonMasks::default();
    for (j, part) in block.as_chunks::<16>().0.iter().enumerate() {
        let v = m128i::from(*part);
        let folded = v | lower;
        let shift = 16 * j;
        m.quotes |= bits(cmp_eq_mask_i8_m128i(v, quote)) << shift;
        m.escapes |= bits(cmp_eq_mask_i8_m128i(v, escape)) << shift;
        m.opens |= bits(cmp_eq_mask_i8_m128i(folded, curly)) << shift;
        m.closes |= bits(cmp_eq_mask_i8_m128i(folded, curly_close)) << shift;
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
fn json_masks(block: &[u8; 64]) -> JsonMasks {
    json_masks_bytewise(block)
}

/// [`JsonMasks`] one byte at a time, for processors without SSE2; tests check it against the
/// SSE2 version.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn json_masks_bytewise(block: &[u8; 64]) -> JsonMasks {
    let mut m = JsonMasks::default();
    for (i, &c) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match c {
            b'"' => m.quotes |= bit,
            b'\\' => m.escapes |= bit,
            b'[' | b'{' => m.opens |= bit,
            b']' | b'}' => m.closes |= bit,
            _ => {}
        }
    }
    m
}

/// `b` in every byte of a word.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// The high bit of the first byte of `w` (in memory order, as loaded little-endian) that is
/// zero, and maybe of bytes after it, never of one before it: borrows run only upward, from a
/// zero byte.
const fn first_zero_byte(w: u64) -> u64 {
    w.wrapping_sub(splat(1)) & !w & splat(0x80)
}

/// The index of the first `"` or `\\` in `b` at or after `i`, eight bytes at a time.
fn quote_or_escape(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let m = first_zero_byte(w ^ splat(b'"')) | first_zero_byte(w ^ splat(b'\\'));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let k = b.get(i..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
    Some(i + k)
}

/// A column's `dataType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataType {
    String,
    Integer,
    Decimal,
    Float,
    Double,
    Boolean,
    Datetime,
    Date,
    Time,
    Uri,
}

impl DataType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "integer" => Self::Integer,
            "decimal" => Self::Decimal,
            "float" => Self::Float,
            "double" => Self::Double,
            "boolean" => Self::Boolean,
            "datetime" => Self::Datetime,
            "date" => Self::Date,
            "time" => Self::Time,
            "URI" => Self::Uri,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Float => "float",
            Self::Double => "double",
            Self::Boolean => "boolean",
            Self::Datetime => "datetime",
            Self::Date => "date",
            Self::Time => "time",
            Self::Uri => "URI",
        }
    }

    /// What the JSON value must be, for error messages.
    fn wants(self) -> &'static str {
        match self {
            Self::String | Self::Uri => "a JSON string",
            Self::Decimal => "a JSON string (decimals travel as strings to keep their digits)",
            Self::Datetime | Self::Date | Self::Time => "an ISO 8601 string",
            Self::Integer => "a JSON integer",
            Self::Float | Self::Double => "a JSON number",
            Self::Boolean => "true or false",
        }
    }
}

/// The top-level keys the schema requires.
const REQUIRED: [&str; 7] = [
    "datasetJSONCreationDateTime",
    "datasetJSONVersion",
    "itemGroupOID",
    "records",
    "name",
    "label",
    "columns",
];

/// The metadata, with the schema's types. Fields only checked are prefixed `_`.
#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "datasetJSONCreationDateTime")]
    _created: String,
    #[serde(rename = "datasetJSONVersion")]
    _version: String,
    #[serde(rename = "itemGroupOID")]
    _item_group_oid: String,
    records: u64,
    #[serde(rename = "name")]
    _name: String,
    #[serde(rename = "label")]
    _label: String,
    /// Parsed by [`ColumnsSeed`]; here only required.
    #[serde(rename = "columns")]
    _columns: IgnoredAny,
    #[serde(rename = "fileOID")]
    _file_oid: Option<String>,
    #[serde(rename = "dbLastModifiedDateTime")]
    _db_last_modified: Option<String>,
    #[serde(rename = "originator")]
    _originator: Option<String>,
    #[serde(rename = "sourceSystem")]
    _source_system: Option<SourceSystem>,
    #[serde(rename = "studyOID")]
    _study_oid: Option<String>,
    #[serde(rename = "metaDataVersionOID")]
    _metadata_version_oid: Option<String>,
    #[serde(rename = "metaDataRef")]
    _metadata_ref: Option<String>,
}

#[derive(Deserialize)]
struct SourceSystem {
    #[serde(rename = "name")]
    _name: String,
    #[serde(rename = "version")]
    _version: String,
}

#[derive(Deserialize)]
struct Column {
    #[serde(rename = "itemOID")]
    _item_oid: String,
    name: String,
    #[serde(rename = "label")]
    _label: String,
    #[serde(rename = "dataType")]
    data_type: String,
    #[serde(rename = "targetDataType")]
    target_data_type: Option<String>,
    #[serde(rename = "length")]
    _length: Option<u64>,
    #[serde(rename = "displayFormat")]
    _display_format: Option<String>,
    #[serde(rename = "keySequence")]
    _key_sequence: Option<u64>,
}

/// Whether `v` is a version this reader reads: `1.1` or `1.1.N` (the schema's pattern).
fn is_version_1_1(v: &str) -> bool {
    match v.strip_prefix("1.1") {
        Some("") => true,
        Some(rest) => rest.strip_prefix('.').is_some_and(|n| {
            n == "0"
                || (!n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        }),
        None => false,
    }
}

/// Where the rows are.
enum State {
    /// Inside `rows` (`.json`) or at the start of a line (NDJSON).
    Rows {
        first: bool,
    },
    /// Past the last row: the end checks remain.
    End,
    Finished,
}

/// Parses one file; owned by the reader thread after the metadata.
struct Reader {
    path: PathBuf,
    input: Input,
    ndjson: bool,
    names: Vec<String>,
    types: Vec<DataType>,
    records: u64,
    /// Rows read so far: the number of the next row.
    row: u64,
    /// NDJSON line of the next row, from 1.
    line: u64,
    state: State,
    /// [`CHUNK_BYTES`], but in tests.
    chunk_bytes: usize,
}

/// Why a row failed, when serde_json's own message would not name the column.
enum Fail {
    Value { col: usize, message: String },
    Count(usize),
}

/// Why a row failed to parse.
enum RowFail {
    /// A value of the wrong type for its column.
    Value { col: usize, message: String },
    /// A row of this many values.
    Count(usize),
    /// serde_json's error at byte `within` of the row's text: `data` for a value that is JSON
    /// but not a row (such as an object), else invalid JSON.
    Json {
        within: usize,
        data: bool,
        message: String,
    },
}

impl Reader {
    /// Where the next row is, for errors.
    fn at_row(&self) -> String {
        if self.ndjson {
            format!("line {} (row {})", self.line, self.row)
        } else {
            format!("row {}", self.row)
        }
    }

    fn stop_error(&self, stop: Stop, what: &str) -> IngestError {
        let at = self.at_row();
        match stop {
            Stop::Io(e) => io_error(&self.path, Some(at), &e),
            Stop::Eof => IngestError::at(&self.path, at, format!("the file ends inside {what}")),
            Stop::TooLong => IngestError::at(
                &self.path,
                at,
                format!("{what} is longer than {} bytes", self.input.limit),
            ),
        }
    }

    /// Reads the metadata: the column names and types, and `records`.
    fn read_metadata(&mut self) -> Result<(), IngestError> {
        let path = self.path.clone();
        self.input
            .skip_bom()
            .map_err(|e| io_error(&path, None, &e))?;
        let members = if self.ndjson {
            let end = self.input.line_end().map_err(|s| match s {
                Stop::Io(e) => io_error(&path, Some("line 1".into()), &e),
                Stop::Eof | Stop::TooLong => IngestError::at(
                    &path,
                    "line 1",
                    format!(
                        "the metadata line is longer than {} bytes",
                        self.input.limit
                    ),
                ),
            })?;
            let line = self.input.buf[self.input.pos..end].to_vec();
            self.input.pos = (end + 1).min(self.input.buf.len());
            self.line = 2;
            let mut one = Input::new(Box::new(io::Cursor::new(line)), self.input.limit);
            read_object(&path, &mut one, true)?
        } else {
            read_object(&path, &mut self.input, false)?
        };
        let at = if self.ndjson { "line 1" } else { "metadata" };
        let meta: Metadata = serde_json::from_value(serde_json::Value::Object(members.map))
            .map_err(|e| IngestError::at(&path, at, e.to_string()))?;
        let columns = members.columns.unwrap_or_default();
        if columns.is_empty() {
            return Err(IngestError::at(&path, at, "columns is empty"));
        }
        let mut seen = std::collections::HashSet::with_capacity(columns.len());
        for (i, col) in columns.into_iter().enumerate() {
            let col_at = format!("{at}, columns[{i}]");
            let ty = DataType::parse(&col.data_type).ok_or_else(|| {
                IngestError::at(
                    &path,
                    &col_at,
                    format!(
                        "unknown dataType {:?} (Dataset-JSON 1.1 has string, integer, decimal, \
                         float, double, boolean, datetime, date, time and URI)",
                        col.data_type
                    ),
                )
            })?;
            if let Some(t) = &col.target_data_type
                && t != "integer"
                && t != "decimal"
            {
                return Err(IngestError::at(
                    &path,
                    &col_at,
                    format!("targetDataType {t:?} is neither \"integer\" nor \"decimal\""),
                ));
            }
            if col.name.is_empty() {
                return Err(IngestError::at(&path, &col_at, "empty column name"));
            }
            if !seen.insert(col.name.clone()) {
                return Err(IngestError::at(
                    &path,
                    &col_at,
                    format!("duplicate column name {:?}", col.name),
                ));
            }
            self.types.push(ty);
            self.names.push(col.name);
        }
        self.records = meta.records;
        // In NDJSON the rows follow the metadata line; in .json, `rows` may be absent.
        self.state = if self.ndjson || members.rows {
            State::Rows { first: true }
        } else {
            State::End
        };
        Ok(())
    }

    /// Fills `chunk` with the text of the next rows; `Ok(false)` once no row is left and the end
    /// checks passed. An error is at the place after the rows in `chunk`.
    fn fill(&mut self, chunk: &mut Chunk) -> Result<bool, IngestError> {
        while chunk.len() < CHUNK_ROWS && chunk.text.len() < self.chunk_bytes {
            match self.state {
                State::Rows { first } => {
                    let row = if self.ndjson {
                        self.ndjson_row()?
                    } else {
                        self.json_row(first)?
                    };
                    match row {
                        Some((start, end)) => {
                            self.push_row(chunk, start, end)?;
                            self.state = State::Rows { first: false };
                        }
                        None => self.state = State::End,
                    }
                }
                State::End => {
                    self.finish()?;
                    self.state = State::Finished;
                }
                State::Finished => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Takes the row at `input.buf[start..end]` into `chunk`, when `records` leaves room for it.
    fn push_row(&mut self, chunk: &mut Chunk, start: usize, end: usize) -> Result<(), IngestError> {
        if self.row >= self.records {
            return Err(IngestError::at(
                &self.path,
                self.at_row(),
                format!("more rows than records ({}) says", self.records),
            ));
        }
        chunk.text.extend_from_slice(&self.input.buf[start..end]);
        chunk.ends.push(chunk.text.len());
        if !self.ndjson {
            chunk.offsets.push(self.input.offset(start));
        }
        self.row += 1;
        self.line += u64::from(self.ndjson);
        Ok(())
    }

    /// Finds the next row of the `rows` array: where its text is in `input.buf`, or `None` at
    /// the array's closing `]`, after which the object must close and the text end.
    fn json_row(&mut self, first: bool) -> Result<Option<(usize, usize)>, IngestError> {
        let peek = |r: &mut Self| {
            r.input
                .peek()
                .map_err(|e| r.stop_error(Stop::Io(e), "rows"))
        };
        let mut b = peek(self)?;
        if !first {
            match b {
                Some(b',') => {
                    self.input.pos += 1;
                    b = peek(self)?;
                    if b == Some(b']') {
                        return Err(
                            self.syntax(self.input.pos, "a row after `,` (no trailing comma)")
                        );
                    }
                }
                Some(b']') => {}
                None => return Err(self.stop_error(Stop::Eof, "rows")),
                Some(_) => return Err(self.syntax(self.input.pos, "`,` or `]` after a row")),
            }
        }
        match b {
            Some(b']') => {
                self.input.pos += 1;
                self.close_object()?;
                return Ok(None);
            }
            Some(b'[') => {}
            None => return Err(self.stop_error(Stop::Eof, "rows")),
            Some(_) => return Err(self.syntax(self.input.pos, "a row (a JSON array)")),
        }
        let end = self
            .input
            .value_end()
            .map_err(|s| self.stop_error(s, "a row"))?;
        let start = self.input.pos;
        self.input.pos = end;
        Ok(Some((start, end)))
    }

    /// After `rows`: the object's `}` and nothing but whitespace.
    fn close_object(&mut self) -> Result<(), IngestError> {
        let path = self.path.clone();
        let io = |e: io::Error| io_error(&path, None, &e);
        match self.input.peek().map_err(io)? {
            Some(b'}') => self.input.pos += 1,
            Some(b',') => {
                // Name the key if it can be read.
                self.input.pos += 1;
                let key = match self.input.peek().map_err(io)? {
                    Some(b'"') => self.input.value_end().ok().and_then(|end| {
                        serde_json::from_slice::<String>(&self.input.buf[self.input.pos..end]).ok()
                    }),
                    _ => None,
                };
                return Err(IngestError::at(
                    &self.path,
                    format!("byte {}", self.input.offset(self.input.pos)),
                    format!(
                        "metadata key {} after \"rows\": Dataset-JSON puts rows last, and this \
                         reader streams them",
                        key.map_or_else(|| "(unreadable)".to_owned(), |k| format!("{k:?}"))
                    ),
                ));
            }
            None => return Err(self.stop_error(Stop::Eof, "the dataset object")),
            Some(_) => return Err(self.syntax(self.input.pos, "`}` after rows")),
        }
        match self.input.peek().map_err(io)? {
            None => Ok(()),
            Some(_) => Err(self.syntax(
                self.input.pos,
                "the end of the file after the dataset object",
            )),
        }
    }

    /// Finds the next NDJSON line: where its text is in `input.buf`, or `None` at the end of
    /// the text.
    fn ndjson_row(&mut self) -> Result<Option<(usize, usize)>, IngestError> {
        if self.input.pos >= self.input.buf.len() && self.input.eof {
            return Ok(None);
        }
        let end = self
            .input
            .line_end()
            .map_err(|s| self.stop_error(s, "a line"))?;
        let start = self.input.pos;
        if start == end && end == self.input.buf.len() {
            // The text ended with the previous line's newline.
            return Ok(None);
        }
        self.input.pos = (end + 1).min(self.input.buf.len());
        let line = &self.input.buf[start..end];
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            return Err(IngestError::at(
                &self.path,
                format!("line {}", self.line),
                "empty line: each line after the first must be one row array",
            ));
        }
        Ok(Some((start, end)))
    }

    /// The end checks: `records` against the rows read.
    fn finish(&mut self) -> Result<(), IngestError> {
        if self.row != self.records {
            return Err(IngestError::file(
                &self.path,
                format!(
                    "records says {} but the file has {} rows",
                    self.records, self.row
                ),
            ));
        }
        Ok(())
    }

    /// A syntax error in `.json` between rows.
    fn syntax(&self, i: usize, expected: &str) -> IngestError {
        IngestError::at(
            &self.path,
            format!("{}, byte {}", self.at_row(), self.input.offset(i)),
            format!(
                "invalid JSON: expected {expected}, found {}",
                found(self.input.buf.get(i))
            ),
        )
    }
}

/// The metadata object's members, read by [`read_object`].
struct Members {
    /// Every member but `columns` (present there as `null`).
    map: serde_json::Map<String, serde_json::Value>,
    /// `columns`, parsed from its text so that duplicate keys inside a column are caught
    /// (`serde_json::Value` keeps the last of them silently).
    columns: Option<Vec<Column>>,
    /// Whether `rows` follows (`.json` only; its `[` is consumed).
    rows: bool,
}

/// Reads the members of the top-level object up to `rows` or to its closing `}` (then nothing
/// but whitespace may follow). Refuses duplicate keys, `rows` before a required key, and
/// another `datasetJSONVersion` as soon as it is read, before what could be a large
/// Dataset-JSON 1.0 body.
fn read_object(path: &Path, input: &mut Input, ndjson: bool) -> Result<Members, IngestError> {
    let at = |input: &Input, i: usize| {
        if ndjson {
            format!("line 1, column {}", input.offset(i) + 1)
        } else {
            format!("byte {}", input.offset(i))
        }
    };
    let io = |e: io::Error| {
        let place = if ndjson { "line 1" } else { "metadata" };
        io_error(path, Some(place.into()), &e)
    };
    let syntax = |input: &Input, expected: &str| {
        IngestError::at(
            path,
            at(input, input.pos),
            format!(
                "invalid JSON: expected {expected}, found {}",
                found(input.buf.get(input.pos))
            ),
        )
    };
    let eof = |input: &Input| {
        IngestError::at(
            path,
            at(input, input.pos),
            "the file ends inside the metadata",
        )
    };
    let json_error = |input: &Input, start: usize, e: &serde_json::Error, what: &str| {
        let slice = &input.buf[start..];
        IngestError::at(
            path,
            at(input, start + offset_in(slice, e.line(), e.column())),
            format!("{what}: {}", without_position(e)),
        )
    };
    // Finds the value at `pos` and checks the metadata's size.
    let value = |input: &mut Input| -> Result<(usize, usize), IngestError> {
        let end = input.value_end().map_err(|s| match s {
            Stop::Io(e) => io(e),
            Stop::Eof => eof(input),
            Stop::TooLong => IngestError::at(
                path,
                at(input, input.pos),
                format!("a metadata value is longer than {} bytes", input.limit),
            ),
        })?;
        if input.offset(end) > input.limit as u64 {
            return Err(IngestError::at(
                path,
                at(input, end),
                format!("the metadata is longer than {} bytes", input.limit),
            ));
        }
        if end == input.pos {
            return Err(syntax(input, "a value"));
        }
        Ok((input.pos, end))
    };

    match input.peek().map_err(io)? {
        Some(b'{') => input.pos += 1,
        None => return Err(IngestError::file(path, "empty file")),
        Some(_) => return Err(syntax(input, "`{` opening the Dataset-JSON object")),
    }
    let mut members = Members {
        map: serde_json::Map::new(),
        columns: None,
        rows: false,
    };
    let mut first = true;
    loop {
        match input.peek().map_err(io)? {
            Some(b'}') if first => {
                input.pos += 1;
                break;
            }
            Some(b'"') => {}
            None => return Err(eof(input)),
            Some(_) => return Err(syntax(input, "a key")),
        }
        first = false;
        let (key_at, end) = value(input)?;
        let key: String = serde_json::from_slice(&input.buf[key_at..end])
            .map_err(|e| json_error(input, key_at, &e, "invalid JSON in a key"))?;
        input.pos = end;
        match input.peek().map_err(io)? {
            Some(b':') => input.pos += 1,
            None => return Err(eof(input)),
            Some(_) => return Err(syntax(input, "`:`")),
        }
        if members.map.contains_key(&key) {
            return Err(IngestError::at(
                path,
                at(input, key_at),
                format!("duplicate key {key:?}"),
            ));
        }
        if key == "rows" {
            if ndjson {
                return Err(IngestError::at(
                    path,
                    at(input, key_at),
                    "the NDJSON metadata line has \"rows\": in NDJSON each row is a line of its own",
                ));
            }
            let missing: Vec<&str> = REQUIRED
                .into_iter()
                .filter(|k| !members.map.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                return Err(IngestError::at(
                    path,
                    at(input, key_at),
                    format!(
                        "\"rows\" comes before {}: Dataset-JSON puts rows last, and this reader \
                         streams them",
                        missing.join(", ")
                    ),
                ));
            }
            match input.peek().map_err(io)? {
                Some(b'[') => input.pos += 1,
                None => return Err(eof(input)),
                Some(_) => return Err(syntax(input, "`[` opening rows")),
            }
            members.rows = true;
            return Ok(members);
        }
        if input.peek().map_err(io)?.is_none() {
            return Err(eof(input));
        }
        let (start, end) = value(input)?;
        let what = format!("the value of {key:?}");
        let mut de = serde_json::Deserializer::from_slice(&input.buf[start..end]);
        let parsed = if key == "columns" {
            let mut index = 0;
            ColumnsSeed { index: &mut index }
                .deserialize(&mut de)
                .and_then(|c| de.end().map(|()| c))
                .map(|c| {
                    members.columns = Some(c);
                    serde_json::Value::Null
                })
                .map_err(|e| json_error(input, start, &e, &format!("columns[{index}]")))?
        } else {
            serde_json::Value::deserialize(&mut de)
                .and_then(|v| de.end().map(|()| v))
                .map_err(|e| json_error(input, start, &e, &format!("invalid JSON in {what}")))?
        };
        if key == "datasetJSONVersion"
            && let serde_json::Value::String(v) = &parsed
            && !is_version_1_1(v)
        {
            return Err(IngestError::at(
                path,
                at(input, start),
                format!(
                    "datasetJSONVersion {v:?}: this reader reads Dataset-JSON 1.1 \
                     (\"1.1\" or \"1.1.x\")"
                ),
            ));
        }
        input.pos = end;
        members.map.insert(key, parsed);
        match input.peek().map_err(io)? {
            Some(b',') => input.pos += 1,
            Some(b'}') => {
                input.pos += 1;
                break;
            }
            None => return Err(eof(input)),
            Some(_) => return Err(syntax(input, "`,` or `}`")),
        }
    }
    if input.peek().map_err(io)?.is_some() {
        let hint = if ndjson {
            ""
        } else {
            " (an NDJSON file read as .json?)"
        };
        return Err(syntax(
            input,
            &format!("the end of the file after the dataset object{hint}"),
        ));
    }
    Ok(members)
}

/// Parses `columns`, counting the columns read so far for error messages and stopping at
/// [`MAX_COLUMNS`] before allocating more.
struct ColumnsSeed<'a> {
    index: &'a mut usize,
}

impl<'de> DeserializeSeed<'de> for ColumnsSeed<'_> {
    type Value = Vec<Column>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Column>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ColumnsSeed<'_> {
    type Value = Vec<Column>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of column objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Column>, A::Error> {
        let mut columns = Vec::new();
        while let Some(column) = seq.next_element()? {
            if columns.len() == MAX_COLUMNS {
                return Err(de::Error::custom(format!(
                    "more than the {MAX_COLUMNS} columns a dataset may have"
                )));
            }
            columns.push(column);
            *self.index += 1;
        }
        Ok(columns)
    }
}

/// A byte for an error message.
fn found(b: Option<&u8>) -> String {
    match b {
        Some(&b) if b.is_ascii_graphic() => format!("`{}`", b as char),
        Some(&b) => format!("byte 0x{b:02x}"),
        None => "the end of the file".to_owned(),
    }
}

/// An error reading the file: corrupt compressed data says so itself.
fn io_error(path: &Path, at: Option<String>, e: &io::Error) -> IngestError {
    let message = match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => e.to_string(),
        _ => format!("read error: {e}"),
    };
    match at {
        Some(at) => IngestError::at(path, at, message),
        None => IngestError::file(path, message),
    }
}

/// Byte offset in `slice` of serde_json's position: line from 1, and column from 1, counting
/// bytes, of the byte at fault (or just past it).
fn offset_in(slice: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        slice
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(line - 2)
            .map_or(slice.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(slice.len())
}

/// serde_json's message without its " at line L column C", which counts within one value.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Appends the canonical `values` arrays of the rows `range` of `chunk` to the rows of
/// `batch`, whose buffer may hold stale bytes after them (see [`convert_in_parallel`]); on a
/// row that fails, its index and why.
///
/// Rows go through [`fast_row`], which writes through a cursor over the buffer, kept longer than
/// what is written by room for one more row, so that a short value is one fixed-size copy
/// rather than a call to `memcpy` with its length; [`parse_row`] takes the rows it leaves.
fn parse_rows(
    types: &[DataType],
    chunk: &Chunk,
    range: std::ops::Range<usize>,
    batch: &mut Batch,
) -> Result<(), (usize, RowFail)> {
    let mut o = std::mem::take(&mut batch.buf);
    let mut pos = batch.rows_end();
    let mut scratch = String::new();
    let mut result = Ok(());
    for i in range {
        let start = if i == 0 { 0 } else { chunk.ends[i - 1] };
        let (row, rest) = (chunk.row(i), &chunk.text[start..]);
        // A value's text grows by at most its quotes and a number's digits (`1e20`).
        let room = pos + row.len() + FAST_GROWTH * types.len() + 2 * F64_MAX;
        if o.len() < room {
            o.resize(room, 0);
        }
        match fast_row(types, rest, row.len(), &mut o, pos) {
            Some(end) => pos = end,
            None => {
                o.truncate(pos);
                let mut scratch_out = std::mem::take(&mut o);
                let parsed = parse_row(types, row, &mut scratch_out, &mut scratch);
                o = scratch_out;
                if let Err(fail) = parsed {
                    result = Err((i, fail));
                    break;
                }
                pos = o.len();
                o.push(0);
            }
        }
        o[pos] = b'\n';
        batch.ends.push(pos);
        pos += 1;
    }
    o.truncate(batch.rows_end());
    batch.buf = o;
    result
}

/// Most bytes [`fast_row`] writes for a value beyond the bytes of its text: quotes and the
/// digits of a number (`1e20` is written `"100000000000000000000"`), with the comma.
const FAST_GROWTH: usize = 3 + F64_MAX;

/// Parses the text of one row (a row array, or an NDJSON line) with serde_json, appending its
/// canonical `values` array to `out` (a failed row leaves part of it there).
fn parse_row(
    types: &[DataType],
    row: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<(), RowFail> {
    let mut fail = None;
    let mut de = serde_json::Deserializer::from_slice(row);
    let parsed = RowSeed {
        types,
        out,
        scratch,
        fail: &mut fail,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    parsed.map_err(|e| match fail {
        Some(Fail::Value { col, message }) => RowFail::Value { col, message },
        Some(Fail::Count(found)) => RowFail::Count(found),
        None => RowFail::Json {
            within: offset_in(row, e.line(), e.column()),
            data: e.classify() == serde_json::error::Category::Data,
            message: without_position(&e),
        },
    })
}

/// JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
fn skip_space(text: &[u8], mut i: usize) -> usize {
    while text.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// Where the JSON number at `text[i..]` ends, and whether it is an integer (no fraction or
/// exponent), by the grammar of RFC 8259; `None` if it does not follow it.
fn number_end(text: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let digits = |text: &[u8], i: usize| {
        i + text[i.min(text.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    if text.get(i) == Some(&b'-') {
        i += 1;
    }
    match text.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(text, i),
        _ => return None,
    }
    let mut integer = true;
    if text.get(i) == Some(&b'.') {
        let end = digits(text, i + 1);
        if end == i + 1 {
            return None;
        }
        (i, integer) = (end, false);
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(text, i);
        if end == i {
            return None;
        }
        (i, integer) = (end, false);
    }
    Some((i, integer))
}

/// Parses a row the way most rows are, without serde_json: strings without escapes, numbers,
/// booleans and nulls, each of the type its column wants. The row is `text[..len]` (the rest of
/// `text` is read only by fixed-size copies); its canonical `values` array, as [`parse_row`]
/// would write it, goes to `o[pos..]`, which has room for the row's text and [`FAST_GROWTH`]
/// bytes a value, and 64 more. Returns where the array ends, or `None`, having written part of
/// it, at anything else (an escape, a control character, bytes that are not UTF-8, a value of
/// the wrong type, a malformed or long number, a row of the wrong length, ...): [`parse_row`]
/// then parses the row again and writes it or names its error, so that every row has one text
/// and every error is serde_json's.
fn fast_row(
    types: &[DataType],
    text: &[u8],
    len: usize,
    o: &mut [u8],
    mut pos: usize,
) -> Option<usize> {
    let row = &text[..len];
    let start = pos;
    let mut i = skip_space(row, 0);
    if row.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    for (col, &ty) in types.iter().enumerate() {
        i = skip_space(row, i);
        // The first becomes the array's `[` below.
        o[pos] = b',';
        pos += 1;
        if col > 0 {
            if row.get(i) != Some(&b',') {
                return None;
            }
            i = skip_space(row, i + 1);
        }
        match row.get(i) {
            Some(b'"') => {
                let end = plain_string_end(text, len, i + 1)?;
                match ty {
                    DataType::String
                    | DataType::Uri
                    | DataType::Decimal
                    | DataType::Datetime
                    | DataType::Date
                    | DataType::Time => {}
                    _ => return None,
                }
                // The string with its quotes is its canonical text, but `""`, which is null.
                let n = end + 1 - i;
                if n == 2 {
                    o[pos..pos + 4].copy_from_slice(b"null");
                    pos += 4;
                } else {
                    copy_short(o, pos, &text[i..], n);
                    pos += n;
                }
                i = end + 1;
            }
            Some(b'n') if row.get(i..i + 4) == Some(b"null") => {
                o[pos..pos + 4].copy_from_slice(b"null");
                pos += 4;
                i += 4;
            }
            Some(b't') if ty == DataType::Boolean && row.get(i..i + 4) == Some(b"true") => {
                o[pos..pos + 6].copy_from_slice(b"\"true\"");
                pos += 6;
                i += 4;
            }
            Some(b'f') if ty == DataType::Boolean && row.get(i..i + 5) == Some(b"false") => {
                o[pos..pos + 7].copy_from_slice(b"\"false\"");
                pos += 7;
                i += 5;
            }
            Some(b'-' | b'0'..=b'9') => {
                let (end, integer) = number_end(row, i)?;
                let literal = &row[i..end];
                // Up to 19 bytes an integer fits an i64 or a u64 as serde_json reads it;
                // longer numbers are serde_json's.
                if literal.len() > 19 {
                    return None;
                }
                o[pos] = b'"';
                match ty {
                    DataType::Integer if integer => {
                        if literal == b"-0" {
                            o[pos + 1] = b'0';
                            pos += 2;
                        } else {
                            // Without leading zeros (the grammar), the digits are the text of
                            // the integer.
                            copy_short(o, pos + 1, &text[i..], literal.len());
                            pos += 1 + literal.len();
                        }
                    }
                    DataType::Float | DataType::Double => {
                        let n = match short_decimal(literal, &mut o[pos + 1..]) {
                            Some(n) => n,
                            None => {
                                // ASCII; correctly rounded, as serde_json's float_roundtrip is.
                                let x: f64 = std::str::from_utf8(literal).ok()?.parse().ok()?;
                                // Overflow, underflow and subnormals are serde_json's to judge.
                                let mut mantissa =
                                    literal.iter().take_while(|b| !matches!(b, b'e' | b'E'));
                                if !x.is_finite()
                                    || (x != 0.0 && !x.is_normal())
                                    || (x == 0.0 && mantissa.any(|b| (b'1'..=b'9').contains(b)))
                                {
                                    return None;
                                }
                                write_f64(&mut o[pos + 1..], x)
                            }
                        };
                        pos += 1 + n;
                    }
                    _ => return None,
                }
                o[pos] = b'"';
                pos += 1;
                i = end;
            }
            _ => return None,
        }
    }
    i = skip_space(row, i);
    if row.get(i) != Some(&b']') || skip_space(row, i + 1) != row.len() {
        return None;
    }
    o[start] = b'[';
    o[pos] = b']';
    Some(pos + 1)
}

/// ECMAScript `Number::toString` of the nearest double to the JSON number `literal`, written at
/// the start of `out`, when it is the literal itself less trailing fraction zeros (and `-` of
/// a zero): a literal without exponent, of at most 15 digits and not below 10^-6, whose double
/// has the literal's digits as its shortest (no two decimals of at most 15 significant digits
/// round to one double) and is written without exponent. Its length, or `None` for others,
/// which are parsed.
fn short_decimal(literal: &[u8], out: &mut [u8]) -> Option<usize> {
    if literal.iter().any(|&b| matches!(b, b'e' | b'E')) {
        return None;
    }
    let (negative, digits) = match literal.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, literal),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &[][..]),
    };
    let kept = fraction
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(0, |k| k + 1);
    let fraction = &fraction[..kept];
    if whole.len() + fraction.len() > 15 {
        return None;
    }
    if whole == b"0" {
        if fraction.is_empty() {
            out[0] = b'0';
            return Some(1);
        }
        // ECMAScript writes 1e-7 and below with an exponent.
        if fraction.iter().take_while(|&&b| b == b'0').count() > 5 {
            return None;
        }
    }
    let mut n = 0;
    if negative {
        out[0] = b'-';
        n = 1;
    }
    out[n..n + whole.len()].copy_from_slice(whole);
    n += whole.len();
    if !fraction.is_empty() {
        out[n] = b'.';
        out[n + 1..n + 1 + fraction.len()].copy_from_slice(fraction);
        n += 1 + fraction.len();
    }
    Some(n)
}

/// Where the string whose text starts at `text[from]` ends (its closing quote), if it holds no
/// escape and no control character, is UTF-8 and ends within the row, `text[..len]`; sixteen
/// bytes at a time, which most strings of a row fit, so that the loop's exit is predictable.
/// Bytes of `text` past the row (the next rows of the chunk) are read, never taken.
fn plain_string_end(text: &[u8], len: usize, from: usize) -> Option<usize> {
    let mut i = from;
    let mut high = false;
    let end = loop {
        let Some(block) = text.get(i..i + 16) else {
            // The chunk's last bytes, one at a time.
            let row = &text[..len];
            let k = row
                .get(i..)?
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            high |= row[i..i + k].iter().any(|&b| b >= 0x80);
            break i + k;
        };
        let (stops, highs) = string_masks(block.try_into().unwrap_or(&[0; 16]));
        if stops != 0 {
            let k = stops.trailing_zeros() as usize;
            // The bytes before the stop.
            high |= highs & ((1 << k) - 1) != 0;
            break i + k;
        }
        high |= highs != 0;
        i += 16;
    };
    if end >= len || text[end] != b'"' || (high && std::str::from_utf8(&text[from..end]).is_err()) {
        return None;
    }
    Some(end)
}

/// Bytes of a 16-byte block that end a plain string (`"`, `\\`, control characters) and bytes
/// of 0x80 and up, as bit masks (byte `i` is bit `i`); with SSE2, which every x86-64 processor
/// has.
#[cfg(target_arch = "x86_64")]
fn string_masks(block: &[u8; 16]) -> (u32, u32) {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let v = m128i::from(*block);
    let quote = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8));
    let escape = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8));
    // Below 0x20 (unsigned): the minimum with 0x1f is the byte itself.
    let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, set_splat_i8_m128i(0x1f)), v);
    (
        move_mask_i8_m128i(quote | escape | control) as u32,
        move_mask_i8_m128i(v) as u32,
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn string_masks(block: &[u8; 16]) -> (u32, u32) {
    string_masks_bytewise(block)
}

/// [`string_masks`] one byte at a time, for processors without SSE2; tests check it against
/// the SSE2 version.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn string_masks_bytewise(block: &[u8; 16]) -> (u32, u32) {
    let (mut stops, mut highs) = (0, 0);
    for (i, &b) in block.iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            stops |= 1 << i;
        }
        if b >= 0x80 {
            highs |= 1 << i;
        }
    }
    (stops, highs)
}

/// Copies `from[..n]` to `o[at..]`: one fixed 32-byte copy when `from` has the bytes and `n`
/// is at most 32 (the surplus is overwritten next), else a copy of `n`.
#[inline(always)]
fn copy_short(o: &mut [u8], at: usize, from: &[u8], n: usize) {
    match from.get(..32) {
        Some(window) if n <= 32 => o[at..at + 32].copy_from_slice(window),
        _ => o[at..at + n].copy_from_slice(&from[..n]),
    }
}

/// Parses one row array, writing its canonical `values` array.
struct RowSeed<'a> {
    types: &'a [DataType],
    out: &'a mut Vec<u8>,
    scratch: &'a mut String,
    fail: &'a mut Option<Fail>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row: a JSON array with one value per column")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        for (col, &ty) in self.types.iter().enumerate() {
            if col > 0 {
                self.out.push(b',');
            }
            let cell = CellSeed {
                ty,
                col,
                out: &mut *self.out,
                scratch: &mut *self.scratch,
                fail: &mut *self.fail,
            };
            if seq.next_element_seed(cell)?.is_none() {
                *self.fail = Some(Fail::Count(col));
                return Err(de::Error::custom("short row"));
            }
        }
        let mut extra = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            extra += 1;
        }
        if extra > 0 {
            *self.fail = Some(Fail::Count(self.types.len() + extra));
            return Err(de::Error::custom("long row"));
        }
        self.out.push(b']');
        Ok(())
    }
}

/// Parses one value of a row for a column of type `ty`.
struct CellSeed<'a> {
    ty: DataType,
    col: usize,
    out: &'a mut Vec<u8>,
    scratch: &'a mut String,
    fail: &'a mut Option<Fail>,
}

impl CellSeed<'_> {
    fn wrong<E: de::Error>(self, found: String) -> Result<(), E> {
        *self.fail = Some(Fail::Value {
            col: self.col,
            message: format!(
                "dataType {} needs {}, found {found}",
                self.ty.name(),
                self.ty.wants()
            ),
        });
        Err(E::custom("wrong type"))
    }

    /// Writes the number in `scratch`.
    fn number(self) {
        write_value(self.out, Some(self.scratch.as_str()));
    }
}

/// A string for an error message: quoted, and cut short if long.
fn show(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("the string {:?}...", &s[..i]),
        None => format!("the string {s:?}"),
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        if self.ty != DataType::Boolean {
            return self.wrong(format!("the boolean {v}"));
        }
        write_value(self.out, Some(if v { "true" } else { "false" }));
        Ok(())
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        // serde_json lends a string only when its text had no escape, so it holds no `"`, `\`
        // or control character (serde_json refuses raw ones): nothing to escape, no second scan.
        match self.ty {
            DataType::String
            | DataType::Uri
            | DataType::Decimal
            | DataType::Datetime
            | DataType::Date
            | DataType::Time => {
                write_plain_value(self.out, v.as_bytes());
                Ok(())
            }
            _ => self.visit_str(v),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match self.ty {
            DataType::String
            | DataType::Uri
            | DataType::Decimal
            | DataType::Datetime
            | DataType::Date
            | DataType::Time => {
                write_value(self.out, Some(v));
                Ok(())
            }
            DataType::Integer | DataType::Float | DataType::Double | DataType::Boolean => {
                self.wrong(show(v))
            }
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scratch.clear();
        match self.ty {
            DataType::Integer => self.scratch.push_str(itoa::Buffer::new().format(v)),
            // Rounds to nearest, as parsing the literal as a double would.
            DataType::Float | DataType::Double => push_f64(self.scratch, v as f64),
            _ => return self.wrong(format!("the number {v}")),
        }
        self.number();
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scratch.clear();
        match self.ty {
            DataType::Integer => self.scratch.push_str(itoa::Buffer::new().format(v)),
            DataType::Float | DataType::Double => push_f64(self.scratch, v as f64),
            _ => return self.wrong(format!("the number {v}")),
        }
        self.number();
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scratch.clear();
        match self.ty {
            DataType::Float | DataType::Double => push_f64(self.scratch, v),
            DataType::Integer if v.fract() == 0.0 && v.abs() <= MAX_EXACT_INTEGER => {
                // -0.0 becomes 0.
                self.scratch.push_str(itoa::Buffer::new().format(v as i64));
            }
            _ => {
                let mut text = String::new();
                push_f64(&mut text, v);
                let why = match self.ty {
                    DataType::Integer if v.fract() == 0.0 => {
                        " (beyond ±2^53, written with a fraction or exponent)"
                    }
                    _ => "",
                };
                return self.wrong(format!("the number {text}{why}"));
            }
        }
        self.number();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.wrong("an array".to_owned())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.wrong("an object".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Metadata members of a dataset with these (name, dataType) columns, without braces.
    fn members(records: u64, cols: &[(&str, &str)]) -> String {
        let cols: Vec<String> = cols
            .iter()
            .map(|(n, t)| {
                format!(r#"{{"itemOID":"IT.{n}","name":"{n}","label":"{n}","dataType":"{t}"}}"#)
            })
            .collect();
        format!(
            r#""datasetJSONCreationDateTime":"2025-01-01T00:00:00","datasetJSONVersion":"1.1.0","itemGroupOID":"IG.T","records":{records},"name":"T","label":"Test","columns":[{}]"#,
            cols.join(",")
        )
    }

    const COLS: &[(&str, &str)] = &[("ID", "string"), ("N", "integer")];

    /// A `.json` text with `rows` (the text inside its brackets).
    fn json(records: u64, cols: &[(&str, &str)], rows: &str) -> Vec<u8> {
        format!("{{{},\"rows\":[{rows}]}}", members(records, cols)).into_bytes()
    }

    /// An NDJSON text: the metadata line, then `lines`.
    fn ndjson(records: u64, cols: &[(&str, &str)], lines: &str) -> Vec<u8> {
        format!("{{{}}}\n{lines}", members(records, cols)).into_bytes()
    }

    struct Out {
        columns: Vec<String>,
        rows: String,
        bytes_read: Option<u64>,
        size: u64,
    }

    fn read_limit(
        text: &[u8],
        ndjson: bool,
        compressed: bool,
        limit: usize,
    ) -> Result<Out, IngestError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text).unwrap();
        let path = file.path().to_owned();
        let mut source = DatasetJsonSource::with_limits(
            &path,
            File::open(&path).unwrap(),
            ndjson,
            compressed,
            limit,
            CHUNK_BYTES,
        )?;
        let mut rows = String::new();
        let mut batch = Batch::default();
        while source.next_batch(&mut batch)? {
            rows.push_str(std::str::from_utf8(&batch.buf).unwrap());
        }
        Ok(Out {
            columns: source.columns().to_vec(),
            rows,
            bytes_read: source.bytes_read(),
            size: text.len() as u64,
        })
    }

    fn read(text: &[u8], ndjson: bool) -> Result<Out, IngestError> {
        read_limit(text, ndjson, false, MAX_RECORD_BYTES)
    }

    /// The error reading `text`, as `at: message`.
    fn err(text: &[u8], ndjson: bool) -> String {
        match read(text, ndjson) {
            Ok(out) => panic!("read without error: {}", out.rows),
            Err(e) => format!("{}: {}", e.at.unwrap_or_default(), e.message),
        }
    }

    fn zlib(text: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(text).unwrap();
        z.finish().unwrap()
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(text).unwrap();
        z.finish().unwrap()
    }

    fn dsjc_err(bytes: &[u8]) -> String {
        match read_limit(bytes, true, true, MAX_RECORD_BYTES) {
            Ok(out) => panic!("read without error: {}", out.rows),
            Err(e) => format!("{}: {}", e.at.unwrap_or_default(), e.message),
        }
    }

    #[test]
    fn reads_every_form_and_counts_every_byte() {
        let rows = r#"["a",1],["b",null]"#;
        let want = "[\"a\",\"1\"]\n[\"b\",null]\n";
        let text = json(2, COLS, rows);
        let out = read(&text, false).unwrap();
        assert_eq!(out.columns, ["ID", "N"]);
        assert_eq!(out.rows, want);
        assert_eq!(out.bytes_read, Some(out.size));
        let nd = ndjson(2, COLS, "[\"a\",1]\r\n[\"b\",null]\n");
        let out = read(&nd, true).unwrap();
        assert_eq!(out.rows, want);
        assert_eq!(out.bytes_read, Some(out.size));
        for packed in [zlib(&nd), gzip(&nd)] {
            let out = read_limit(&packed, false, true, MAX_RECORD_BYTES).unwrap();
            assert_eq!(out.rows, want);
            assert_eq!(
                out.bytes_read,
                Some(packed.len() as u64),
                "compressed bytes"
            );
        }
    }

    #[test]
    fn metadata_only_and_empty_datasets() {
        let no_rows = format!("{{{}}}", members(0, COLS)).into_bytes();
        assert_eq!(read(&no_rows, false).unwrap().rows, "");
        assert_eq!(read(&json(0, COLS, ""), false).unwrap().rows, "");
        assert_eq!(read(&ndjson(0, COLS, ""), true).unwrap().rows, "");
        let no_newline = format!("{{{}}}", members(0, COLS)).into_bytes();
        assert_eq!(read(&no_newline, true).unwrap().rows, "");
        let with_bom = [b"\xef\xbb\xbf".as_slice(), &json(1, COLS, r#"["a",1]"#)].concat();
        assert_eq!(read(&with_bom, false).unwrap().rows, "[\"a\",\"1\"]\n");
        let spaced = format!(
            " \r\n\t{{ {} , \"rows\" : [ [ \"a\" , 1 ] , [\"b\",2]\n] }} \n",
            members(2, COLS)
        );
        assert_eq!(
            read(spaced.as_bytes(), false).unwrap().rows,
            "[\"a\",\"1\"]\n[\"b\",\"2\"]\n"
        );
        let e = err(&format!("{{{}}}", members(3, COLS)).into_bytes(), false);
        assert_eq!(e, ": records says 3 but the file has 0 rows");
    }

    #[test]
    fn values_by_data_type() {
        let cols = [
            ("S", "string"),
            ("I", "integer"),
            ("D", "decimal"),
            ("F", "float"),
            ("G", "double"),
            ("B", "boolean"),
            ("DT", "datetime"),
            ("DA", "date"),
            ("T", "time"),
            ("U", "URI"),
        ];
        let rows = r#"["x\u0001\"\\\/é",-0,"1.50",1E2,0.1,true,"2024-01-01T10:00","2024-01","10:00","urn:x"],
            ["",6.3e1,"",5e-324,1e21,false,"","","",""],
            [null,18446744073709551615,null,-9223372036854775808,1e-7,null,null,null,null,null],
            [null,-9223372036854775808,null,9007199254740993,123456789012345680000,null,null,null,null,null],
            [null,9007199254740992.0,null,0.000001,-2.5,null,null,null,null,null]"#;
        let out = read(&json(5, &cols, rows), false).unwrap();
        let want = [
            r#"["x\u0001\"\\/é","0","1.50","100","0.1","true","2024-01-01T10:00","2024-01","10:00","urn:x"]"#,
            r#"[null,"63",null,"5e-324","1e+21","false",null,null,null,null]"#,
            r#"[null,"18446744073709551615",null,"-9223372036854776000","1e-7",null,null,null,null,null]"#,
            r#"[null,"-9223372036854775808",null,"9007199254740992","123456789012345680000",null,null,null,null,null]"#,
            r#"[null,"9007199254740992",null,"0.000001","-2.5",null,null,null,null,null]"#,
        ];
        assert_eq!(out.rows, want.map(|r| format!("{r}\n")).concat());
    }

    #[test]
    fn wrong_json_types_name_row_and_column() {
        let cols = [
            ("S", "string"),
            ("I", "integer"),
            ("D", "decimal"),
            ("F", "double"),
            ("B", "boolean"),
            ("DA", "date"),
        ];
        let good = r#"["a",1,"1.5",1.5,true,"2024-01-01"]"#;
        let cases = [
            (
                r#"[1,1,"1.5",1.5,true,"2024-01-01"]"#,
                "column S: dataType string needs a JSON string, found the number 1",
            ),
            (
                r#"["a","63",null,null,null,null]"#,
                "column I: dataType integer needs a JSON integer, found the string \"63\"",
            ),
            (
                r#"["a","",null,null,null,null]"#,
                "column I: dataType integer needs a JSON integer, found the string \"\"",
            ),
            (
                r#"["a",63.5,null,null,null,null]"#,
                "column I: dataType integer needs a JSON integer, found the number 63.5",
            ),
            (
                r#"["a",1e20,null,null,null,null]"#,
                "column I: dataType integer needs a JSON integer, found the number 100000000000000000000 (beyond ±2^53, written with a fraction or exponent)",
            ),
            (
                r#"["a",18446744073709551616,null,null,null,null]"#,
                "column I: dataType integer needs a JSON integer, found the number 18446744073709552000 (beyond ±2^53, written with a fraction or exponent)",
            ),
            (
                r#"["a",null,1.5,null,null,null]"#,
                "column D: dataType decimal needs a JSON string (decimals travel as strings to keep their digits), found the number 1.5",
            ),
            (
                r#"["a",null,null,"1.5",null,null]"#,
                "column F: dataType double needs a JSON number, found the string \"1.5\"",
            ),
            (
                r#"["a",null,null,true,null,null]"#,
                "column F: dataType double needs a JSON number, found the boolean true",
            ),
            (
                r#"["a",null,null,null,"Y",null]"#,
                "column B: dataType boolean needs true or false, found the string \"Y\"",
            ),
            (
                r#"["a",null,null,null,1,null]"#,
                "column B: dataType boolean needs true or false, found the number 1",
            ),
            (
                r#"["a",null,null,null,null,19000]"#,
                "column DA: dataType date needs an ISO 8601 string, found the number 19000",
            ),
            (
                r#"[["a"],null,null,null,null,null]"#,
                "column S: dataType string needs a JSON string, found an array",
            ),
            (
                r#"["a",null,null,null,null,{"x":1}]"#,
                "column DA: dataType date needs an ISO 8601 string, found an object",
            ),
        ];
        for (row, want) in cases {
            let text = json(2, &cols, &format!("{good},{row}"));
            assert_eq!(err(&text, false), format!("row 1, {want}"), "{row}");
            let text = ndjson(2, &cols, &format!("{good}\n{row}\n"));
            assert_eq!(err(&text, true), format!("line 3 (row 1), {want}"), "{row}");
        }
    }

    #[test]
    fn row_length_must_match_columns() {
        let text = json(2, COLS, r#"["a",1],["b"]"#);
        assert_eq!(
            err(&text, false),
            "row 1: 1 values, but there are 2 columns"
        );
        let text = json(2, COLS, r#"["a",1],["b",2,3,[4]]"#);
        assert_eq!(
            err(&text, false),
            "row 1: 4 values, but there are 2 columns"
        );
        let text = ndjson(2, COLS, "[\"a\",1]\n[]\n");
        assert_eq!(
            err(&text, true),
            "line 3 (row 1): 0 values, but there are 2 columns"
        );
    }

    #[test]
    fn records_must_match_rows() {
        let text = json(1, COLS, r#"["a",1],["b",2]"#);
        assert_eq!(err(&text, false), "row 1: more rows than records (1) says");
        let text = json(3, COLS, r#"["a",1],["b",2]"#);
        assert_eq!(
            err(&text, false),
            ": records says 3 but the file has 2 rows"
        );
        let text = ndjson(3, COLS, "[\"a\",1]\n[\"b\",2]\n");
        assert_eq!(err(&text, true), ": records says 3 but the file has 2 rows");
        let text = ndjson(1, COLS, "[\"a\",1]\n[\"b\",2]\n");
        assert_eq!(
            err(&text, true),
            "line 3 (row 1): more rows than records (1) says"
        );
    }

    #[test]
    fn invalid_json_names_the_place() {
        let head = format!("{{{},\"rows\":[", members(3, COLS));
        let at = head.len();
        let cases = [
            (
                r#"["a",1],["b",01],["c",3]]}"#,
                format!("row 1: invalid JSON at byte {}: invalid number", at + 14),
            ),
            (
                r#"["a",1]["b",2]]}"#,
                format!(
                    "row 1, byte {}: invalid JSON: expected `,` or `]` after a row, found `[`",
                    at + 7
                ),
            ),
            (
                r#"["a",1],]}"#,
                format!(
                    "row 1, byte {}: invalid JSON: expected a row after `,` (no trailing comma), found `]`",
                    at + 8
                ),
            ),
            (
                r#"["a",1],{"ID":"b"}]}"#,
                format!(
                    "row 1, byte {}: invalid JSON: expected a row (a JSON array), found `{{`",
                    at + 8
                ),
            ),
            (
                r#"["a",1],["b",tru]]}"#,
                format!("row 1: invalid JSON at byte {}: expected ident", at + 16),
            ),
            (
                r#"["a",1],["b","x"#,
                "row 1: the file ends inside a row".to_owned(),
            ),
            (
                r#"["a",1],["b",2],["c",3]"#,
                "row 3: the file ends inside rows".to_owned(),
            ),
            (
                r#"["a",1],["b",2],["c",3]]"#,
                "row 3: the file ends inside the dataset object".to_owned(),
            ),
            (
                r#"["a",1],["b",2],["c",3]]}x"#,
                format!(
                    "row 3, byte {}: invalid JSON: expected the end of the file after the dataset object, found `x`",
                    at + 25
                ),
            ),
        ];
        for (rows, want) in cases {
            assert_eq!(
                err(format!("{head}{rows}").as_bytes(), false),
                want,
                "{rows}"
            );
        }
        let cases = [
            (
                "[\"a\",1]\n[\"b\",01]\n",
                "line 3 (row 1): invalid JSON at column 7 of the line: invalid number",
            ),
            (
                "[\"a\",1]\n[\"b\",2] x\n",
                "line 3 (row 1): invalid JSON at column 9 of the line: trailing characters",
            ),
            (
                "[\"a\",1]\n{\"ID\":\"b\"}\n",
                "line 3 (row 1): invalid type: map, expected a row: a JSON array with one value per column (at column 1 of the line)",
            ),
            (
                "[\"a\",1]\n\n[\"b\",2]\n",
                "line 3: empty line: each line after the first must be one row array",
            ),
            (
                "[\"a\",1]\n[\"b\",2\n",
                "line 3 (row 1): invalid JSON at column 6 of the line: EOF while parsing a list",
            ),
        ];
        for (lines, want) in cases {
            assert_eq!(err(&ndjson(3, COLS, lines), true), want, "{lines}");
        }
    }

    #[test]
    fn invalid_metadata() {
        let m = members(0, COLS);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), ": empty file"),
            (
                "[]".into(),
                "byte 0: invalid JSON: expected `{` opening the Dataset-JSON object, found `[`",
            ),
            (
                format!("{{{m},}}"),
                "byte 0: invalid JSON: expected a key, found `}`",
            ),
            (
                format!("{{{m}"),
                "byte 0: the file ends inside the metadata",
            ),
            (
                format!("{{{m},\"name\":\"U\"}}"),
                "byte 0: duplicate key \"name\"",
            ),
            (
                format!("{{{m},\"x\":01}}"),
                "byte 0: invalid JSON in the value of \"x\": invalid number",
            ),
            (
                format!("{{{m}}}\n[\"a\",1]"),
                "byte 0: invalid JSON: expected the end of the file after the dataset object (an NDJSON file read as .json?), found `[`",
            ),
            (
                m.clone(),
                "byte 0: invalid JSON: expected `{` opening the Dataset-JSON object, found `\"`",
            ),
            (
                format!("{{{}}}", m.replace("\"records\":0,", "")),
                "metadata: missing field `records`",
            ),
            (
                format!("{{{}}}", m.replace("\"records\":0", "\"records\":-1")),
                "metadata: invalid value: integer `-1`, expected u64",
            ),
            (
                format!("{{{}}}", m.replace("\"label\":\"Test\"", "\"label\":5")),
                "metadata: invalid type: integer `5`, expected a string",
            ),
            (
                format!("{{{}}}", m.replace("1.1.0", "1.0.0")),
                "byte 0: datasetJSONVersion \"1.0.0\": this reader reads Dataset-JSON 1.1 (\"1.1\" or \"1.1.x\")",
            ),
            (
                format!("{{{}}}", m.replace("1.1.0", "1.10")),
                "byte 0: datasetJSONVersion \"1.10\": this reader reads Dataset-JSON 1.1 (\"1.1\" or \"1.1.x\")",
            ),
            (
                format!("{{{}}}", m.replace("1.1.0", "1.1.01")),
                "byte 0: datasetJSONVersion \"1.1.01\": this reader reads Dataset-JSON 1.1 (\"1.1\" or \"1.1.x\")",
            ),
            (
                format!(
                    "{{{}}}",
                    m.replace("\"dataType\":\"integer\"", "\"dataType\":\"number\"")
                ),
                "metadata, columns[1]: unknown dataType \"number\" (Dataset-JSON 1.1 has string, integer, decimal, float, double, boolean, datetime, date, time and URI)",
            ),
            (
                format!(
                    "{{{}}}",
                    m.replace(
                        "\"dataType\":\"integer\"",
                        "\"dataType\":\"integer\",\"targetDataType\":\"datetime\""
                    )
                ),
                "metadata, columns[1]: targetDataType \"datetime\" is neither \"integer\" nor \"decimal\"",
            ),
            (
                format!("{{{}}}", m.replace("\"name\":\"N\"", "\"name\":\"ID\"")),
                "metadata, columns[1]: duplicate column name \"ID\"",
            ),
            (
                format!("{{{}}}", m.replace("\"name\":\"N\"", "\"name\":\"\"")),
                "metadata, columns[1]: empty column name",
            ),
            (
                format!(
                    "{{{}}}",
                    m.replace("\"name\":\"N\"", "\"name\":\"N\",\"name\":\"M\"")
                ),
                "byte 0: columns[1]: duplicate field `name`",
            ),
            (
                format!("{{{}}}", m.replace("\"label\":\"N\",", "")),
                "byte 0: columns[1]: missing field `label`",
            ),
            (
                format!(
                    "{{{}}}",
                    m.replace(",\"columns\":[", ",\"columns\":[],\"x\":[")
                ),
                "metadata: columns is empty",
            ),
            (
                format!("{{{},\"sourceSystem\":{{\"name\":\"SAS\"}}}}", m),
                "metadata: missing field `version`",
            ),
        ];
        for (text, want) in cases {
            let got = err(text.as_bytes(), false);
            // Offsets vary with the case; compare the place's kind and the message.
            let (got_at, got_msg) = got.split_once(": ").unwrap();
            let (want_at, want_msg) = want.split_once(": ").unwrap();
            assert_eq!(got_msg, want_msg, "{text}");
            assert_eq!(
                got_at.split(' ').next(),
                want_at.split(' ').next(),
                "{got} for {text}"
            );
        }
    }

    #[test]
    fn rows_come_last() {
        let m = members(1, COLS);
        let (before, after) = m.split_once(",\"columns\"").unwrap();
        let text = format!("{{{before},\"rows\":[[\"a\",1]],\"columns\"{after}}}");
        let e = err(text.as_bytes(), false);
        assert!(
            e.ends_with("\"rows\" comes before columns: Dataset-JSON puts rows last, and this reader streams them"),
            "{e}"
        );
        let text = format!("{{\"rows\":[],{m}}}");
        let e = err(text.as_bytes(), false);
        assert!(e.starts_with("byte 1: \"rows\" comes before datasetJSONCreationDateTime, datasetJSONVersion, itemGroupOID, records, name, label, columns:"), "{e}");
        let text = format!("{{{m},\"rows\":[[\"a\",1]],\"studyOID\":\"S\"}}");
        let e = err(text.as_bytes(), false);
        assert!(
            e.ends_with(": metadata key \"studyOID\" after \"rows\": Dataset-JSON puts rows last, and this reader streams them"),
            "{e}"
        );
        // In NDJSON the metadata is one line: key order is free, but rows do not belong there.
        let text = "{\"columns\":[],\"rows\":[]}\n";
        assert_eq!(
            err(text.as_bytes(), true),
            "line 1, column 15: the NDJSON metadata line has \"rows\": in NDJSON each row is a line of its own"
        );
        let reordered = format!(
            "{{{}}}\n[\"a\",1]\n",
            m.replace("\"records\":1,", "").replacen(
                "\"datasetJSON",
                "\"records\":1,\"datasetJSON",
                1
            )
        );
        assert_eq!(
            read(reordered.as_bytes(), true).unwrap().rows,
            "[\"a\",\"1\"]\n"
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let text = [json(1, COLS, "[\"a").as_slice(), b"\xff\xfe\",1]]}"].concat();
        // json() closed the document; rebuild it with the bad bytes inside the row.
        let text = [&text[..text.len() - 3], b""].concat();
        let good = json(1, COLS, r#"["aXX",1]"#);
        let bad: Vec<u8> = String::from_utf8(good.clone())
            .unwrap()
            .replace("aXX", "a\u{1}\u{1}")
            .into_bytes()
            .iter()
            .map(|&b| if b == 1 { 0xff } else { b })
            .collect();
        drop(text);
        let e = err(&bad, false);
        assert!(e.starts_with("row 0: invalid JSON at byte"), "{e}");
        assert!(e.ends_with("invalid unicode code point"), "{e}");
        let nd: Vec<u8> = ndjson(1, COLS, "[\"a\u{1}\",1]\n")
            .iter()
            .map(|&b| if b == 1 { 0xc3 } else { b })
            .collect();
        let e = err(&nd, true);
        assert_eq!(
            e,
            "line 2 (row 0): invalid JSON at column 4 of the line: invalid unicode code point"
        );
        let meta: Vec<u8> = json(0, &[("A\u{1}", "string")], "")
            .iter()
            .map(|&b| if b == 1 { 0x80 } else { b })
            .collect();
        let e = err(&meta, false);
        assert!(
            e.starts_with("byte ") && e.ends_with("columns[0]: invalid unicode code point"),
            "{e}"
        );
        // A lone surrogate escape is not a character either.
        let e = err(&json(1, COLS, r#"["\ud800",1]"#), false);
        assert!(
            e.starts_with("row 0: invalid JSON at byte ") && e.contains("hex escape"),
            "{e}"
        );
    }

    /// Strings that serde_json lends are copied without an escape scan: that relies on it
    /// refusing raw control characters (an escaped one goes through `write_value`).
    #[test]
    fn raw_control_characters_are_refused() {
        for c in [0u8, 0x01, b'\n', b'\t', 0x1f] {
            let text: Vec<u8> = json(1, COLS, "[\"a\u{2}b\",1]")
                .iter()
                .map(|&b| if b == 2 { c } else { b })
                .collect();
            let e = err(&text, false);
            assert!(
                e.contains("control character (\\u0000-\\u001F) found while parsing a string"),
                "{e}"
            );
        }
        let out = read(&json(1, COLS, r#"["a\u0002b\tc",1]"#), false).unwrap();
        assert_eq!(out.rows, "[\"a\\u0002b\\tc\",\"1\"]\n");
    }

    #[test]
    fn limits() {
        // A row longer than the limit, in either form, and the metadata.
        let long = format!("[\"{}\",1]", "x".repeat(5000));
        let text = json(1, COLS, &long);
        let e = read_limit(&text, false, false, 4096).err().unwrap();
        assert_eq!(
            (e.at.as_deref(), e.message.as_str()),
            (Some("row 0"), "a row is longer than 4096 bytes")
        );
        let text = ndjson(1, COLS, &long);
        let e = read_limit(&text, true, false, 4096).err().unwrap();
        assert_eq!(
            (e.at.as_deref(), e.message.as_str()),
            (Some("line 2 (row 0)"), "a line is longer than 4096 bytes")
        );
        let text = json(1, COLS, r#"["a",1]"#);
        let e = read_limit(&text, false, false, 100).err().unwrap();
        assert!(e.message.contains("longer than 100 bytes"), "{e}");
        let e = read_limit(&text, true, false, 100).err().unwrap();
        assert_eq!(e.message, "the metadata line is longer than 100 bytes");
        // Columns.
        let cols: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("C{i}")).collect();
        let cols: Vec<(&str, &str)> = cols.iter().map(|n| (n.as_str(), "string")).collect();
        let e = err(&json(0, &cols, ""), false);
        assert!(
            e.ends_with(&format!(
                "columns[{MAX_COLUMNS}]: more than the {MAX_COLUMNS} columns a dataset may have"
            )),
            "{e}"
        );
    }

    #[test]
    fn compressed_forms() {
        let nd = ndjson(2, COLS, "[\"a\",1]\n[\"b\",2]\n");
        let want = "[\"a\",\"1\"]\n[\"b\",\"2\"]\n";
        for packed in [zlib(&nd), gzip(&nd)] {
            let out = read_limit(&packed, false, true, MAX_RECORD_BYTES).unwrap();
            assert_eq!(out.rows, want);
            // Cut short anywhere: an error, never fewer rows.
            for cut in 0..packed.len() {
                assert!(
                    read_limit(&packed[..cut], true, true, MAX_RECORD_BYTES).is_err(),
                    "cut at {cut}"
                );
            }
            // Anything after the stream.
            let e = dsjc_err(&[packed.as_slice(), b"\n"].concat());
            assert!(e.ends_with("data after the end of the compressed stream (only one zlib stream or gzip member is read)"), "{e}");
        }
        let e = dsjc_err(&[gzip(&nd), gzip(b"")].concat());
        assert!(
            e.contains("data after the end of the compressed stream"),
            "{e}"
        );
        assert_eq!(
            dsjc_err(&nd),
            ": not a compressed Dataset-JSON file: neither a zlib (RFC 1950) nor a gzip (RFC 1952) stream"
        );
        assert!(dsjc_err(b"").contains("neither a zlib"));
        // A flipped byte in the deflate data: caught by the checksum if not before.
        let mut bad = zlib(&nd);
        let mid = bad.len() / 2;
        bad[mid] ^= 0x10;
        let e = dsjc_err(&bad);
        assert!(
            e.contains("corrupt compressed stream") || e.contains("invalid"),
            "{e}"
        );
    }

    /// Why [`Inflate`] exists: flate2's `read` decoders stop at the stream's end and leave
    /// whatever follows unread (a second gzip member, or anything else).
    #[test]
    fn flate2_read_decoders_ignore_what_follows_the_stream() {
        let nd = ndjson(2, COLS, "[\"a\",1]\n[\"b\",2]\n");
        for (packed, gz) in [(zlib(&nd), false), (gzip(&nd), true)] {
            let padded = [packed.as_slice(), b"[\"c\",3]\n"].concat();
            let mut out = Vec::new();
            let quiet = if gz {
                flate2::read::GzDecoder::new(padded.as_slice()).read_to_end(&mut out)
            } else {
                flate2::read::ZlibDecoder::new(padded.as_slice()).read_to_end(&mut out)
            };
            assert!(quiet.is_ok() && out == nd, "{quiet:?}");
            assert!(read_limit(&padded, true, true, MAX_RECORD_BYTES).is_err());
        }
    }

    #[test]
    fn value_len_finds_the_end() {
        assert_eq!(value_len(br#"["a]\"",[1,{"]":"["}],"\\"] ,"#), Some(27));
        assert_eq!(value_len(br#""\\\"" x"#), Some(6));
        assert_eq!(value_len(b"123,"), Some(3));
        assert_eq!(value_len(b"123"), None);
        assert_eq!(value_len(br#"["a""#), None);
        assert_eq!(value_len(br#""\"#), None);
        assert_eq!(value_len(b""), None);
    }

    #[test]
    fn offsets_in_errors() {
        assert_eq!(offset_in(b"abc\ndef\nghi", 1, 2), 1);
        assert_eq!(offset_in(b"abc\ndef\nghi", 3, 1), 8);
        assert_eq!(offset_in(b"abc", 9, 9), 3);
    }

    /// Dropping a source part way stops its thread (the test would hang otherwise).
    #[test]
    fn dropping_part_way_stops_the_reader() {
        let rows: Vec<String> = (0..3 * BATCH_ROWS)
            .map(|i| format!("[\"r{i}\",{i}]"))
            .collect();
        let text = json(rows.len() as u64, COLS, &rows.join(","));
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&text).unwrap();
        let path = file.path().to_owned();
        let mut source =
            DatasetJsonSource::new(&path, File::open(&path).unwrap(), false, false).unwrap();
        let mut batch = Batch::default();
        assert!(source.next_batch(&mut batch).unwrap());
        assert_eq!(batch.len(), BATCH_ROWS);
        drop(source);
    }

    /// A small deterministic generator (xorshift), so that the randomized tests below repeat.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    /// `value_len` as it was before its 64-byte blocks: one byte at a time.
    fn value_len_bytewise(b: &[u8]) -> Option<usize> {
        match *b.first()? {
            b'"' => string_len(b),
            b'[' | b'{' => {
                let mut depth = 0usize;
                let mut i = 0;
                while let Some(&c) = b.get(i) {
                    match c {
                        b'"' => {
                            i += string_len(&b[i..])?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                None
            }
            _ => value_len(b),
        }
    }

    /// The blocks of [`value_len`] find the end the byte-at-a-time scan finds, valid JSON or
    /// not, with strings, escapes and brackets falling on either side of a block's edge.
    #[test]
    fn value_len_blocks_agree_with_bytes() {
        let alphabet = b"[[]]{}\"\"\\ a,1xx";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let len = 1 + rng.below(300);
            let mut b: Vec<u8> = (0..len).map(|_| *rng.pick(alphabet)).collect();
            b[0] = *rng.pick(b"[{\"");
            assert_eq!(
                value_len(&b),
                value_len_bytewise(&b),
                "{}",
                String::from_utf8_lossy(&b)
            );
        }
        let mut block = [0u8; 64];
        for _ in 0..100_000 {
            for c in &mut block {
                *c = *rng.pick(alphabet);
            }
            assert_eq!(json_masks(&block), json_masks_bytewise(&block));
        }
    }

    /// [`plain_string_end`] finds the closing quote a byte-at-a-time scan finds, and refuses
    /// what serde_json would not lend, wherever the stop falls in its blocks.
    #[test]
    fn plain_strings_agree_with_bytes() {
        let alphabet: &[u8] = b"aaaaaaaaaaaa\"\\\x01\x1f \x7f\xc3\xa9\xff\x80";
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..300_000 {
            let len = rng.below(60);
            let mut text = vec![b'"'];
            text.extend((0..len).map(|_| *rng.pick(alphabet)));
            let row_len = 1 + rng.below(text.len());
            let row = &text[..row_len];
            let want = row[1..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map(|k| k + 1)
                .filter(|&end| row[end] == b'"' && std::str::from_utf8(&row[1..end]).is_ok());
            assert_eq!(
                plain_string_end(&text, row_len, 1),
                want,
                "{text:?} {row_len}"
            );
        }
        let mut block = [0u8; 16];
        for _ in 0..100_000 {
            for b in &mut block {
                *b = *rng.pick(alphabet);
            }
            assert_eq!(string_masks(&block), string_masks_bytewise(&block));
        }
    }

    /// A number [`short_decimal`] reads off its literal is the one its double gives.
    #[test]
    fn short_decimals_are_their_doubles() {
        let mut rng = Rng(0x0bad_cafe_dead_beef);
        let mut taken = 0;
        for _ in 0..300_000 {
            let mut literal = String::new();
            if rng.below(3) == 0 {
                literal.push('-');
            }
            let whole = rng.below(17);
            if whole == 0 {
                literal.push('0');
            }
            for k in 0..whole {
                let low = if k == 0 { 1 } else { 0 };
                literal.push(char::from(b'0' + (low + rng.below(10 - low)) as u8));
            }
            let fraction = rng.below(18);
            if fraction > 0 || rng.below(2) == 0 {
                literal.push('.');
                // Runs of zeros at either end, sometimes.
                let zeros = if rng.below(2) == 0 { rng.below(9) } else { 0 };
                for k in 0..fraction.max(1) {
                    let digit = if k < zeros || rng.below(4) == 0 {
                        0
                    } else {
                        rng.below(10)
                    };
                    literal.push(char::from(b'0' + digit as u8));
                }
            }
            let mut out = [0u8; F64_MAX];
            if let Some(n) = short_decimal(literal.as_bytes(), &mut out) {
                taken += 1;
                let mut want = String::new();
                push_f64(&mut want, literal.parse().unwrap());
                assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), want, "{literal}");
            }
        }
        assert!(taken > 100_000, "{taken}");
    }

    /// Cells of every kind, for [`fast_row_agrees_with_serde_json`]: what the fast path takes
    /// and what it must leave to serde_json.
    const CELLS: &[&[u8]] = &[
        b"\"\"",
        b"\"a\"",
        b"\"2024-01-31T10:00\"",
        b"\"a string longer than thirty-two bytes, to be copied at length\"",
        b"\"\xc3\xa9t\xc3\xa9\"",
        b"\"\xe2\x80\xa8\"",
        b"\"\x7f\"",
        b"\"a\\\"b\"",
        b"\"\\u00e9\"",
        b"\"a\x01b\"",
        b"\"a\tb\"",
        b"\"\xff\"",
        b"\"\xc3\"",
        b"\"\xed\xa0\x80\"",
        b"\"[1]\"",
        b"\"a",
        b"0",
        b"-0",
        b"-0.0",
        b"0e0",
        b"1",
        b"-1",
        b"63.0",
        b"6.3e1",
        b"1.5",
        b"-2.25",
        b"0.1",
        b"0.1000",
        b"100.000",
        b"-100.0",
        b"123456.7890",
        b"0.000001",
        b"-0.0000010",
        b"0.0000001",
        b"0.00000123",
        b"123456789012345",
        b"12345678901234.5",
        b"1234567890123456",
        b"99999999999999.9",
        b"999999999999999.9",
        b"0.30000000000000004",
        b"9007199254740993.5",
        b"3.141592653589793",
        b"1e20",
        b"1E+2",
        b"1e-2",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"0.0000e-999",
        b"4.9e-324",
        b"2.2250738585072014e-308",
        b"9007199254740993",
        b"9007199254740993.0",
        b"123456789012345678",
        b"9999999999999999999",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775808",
        b"-9223372036854775809",
        b"1.0000000000000000000001",
        b"01",
        b"1.",
        b".5",
        b"-",
        b"1e",
        b"+1",
        b"--1",
        b"true",
        b"false",
        b"null",
        b"nul",
        b"tru",
        b"nullx",
        b"[]",
        b"{}",
        b"[1]",
        b"",
    ];

    /// Every row [`fast_row`] takes, it writes as serde_json's parse writes it; whatever it
    /// leaves, [`parse_rows`] still writes or fails as serde_json does.
    #[test]
    fn fast_row_agrees_with_serde_json() {
        const TYPES: &[DataType] = &[
            DataType::String,
            DataType::Decimal,
            DataType::Date,
            DataType::Integer,
            DataType::Float,
            DataType::Double,
            DataType::Boolean,
        ];
        let spaces: &[&[u8]] = &[b"", b"", b"", b" ", b"\t", b"\r\n "];
        // Not JSON whitespace, now and then.
        let space = |rng: &mut Rng| -> &[u8] {
            match rng.below(300) {
                0 => b"\x0b",
                1 => b"\xc2\xa0",
                _ => spaces[rng.below(spaces.len())],
            }
        };
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut fast, mut slow) = (0, 0);
        for _ in 0..20 {
            let types: Vec<DataType> = (0..1 + rng.below(6)).map(|_| *rng.pick(TYPES)).collect();
            let mut chunk = Chunk::default();
            let mut want = Vec::new();
            for _ in 0..5000 {
                // Mostly well-formed rows of cells of the column's kind, sometimes one value
                // too many or too few, or a stray comma.
                let cells = match rng.below(20) {
                    0 => types.len() + 1,
                    1 => types.len() - 1,
                    _ => types.len(),
                };
                let mut row = Vec::new();
                row.extend_from_slice(space(&mut rng));
                row.push(b'[');
                for k in 0..cells {
                    if k > 0 {
                        row.extend_from_slice(space(&mut rng));
                        row.extend_from_slice(if rng.below(200) == 0 { b",," } else { b"," });
                    }
                    row.extend_from_slice(space(&mut rng));
                    let cell = match (types.get(k), rng.below(4)) {
                        (Some(DataType::Integer), 0 | 1) => b"-1234567" as &[u8],
                        (Some(DataType::Float | DataType::Double), 0) => b"12.5",
                        (Some(DataType::Float | DataType::Double), 1) => b"-0.001",
                        (Some(DataType::Boolean), 0 | 1) => b"false",
                        (Some(DataType::String | DataType::Decimal | DataType::Date), 0 | 1) => {
                            b"\"1.50\""
                        }
                        _ => *rng.pick(CELLS),
                    };
                    row.extend_from_slice(cell);
                }
                row.extend_from_slice(space(&mut rng));
                row.push(b']');
                row.extend_from_slice(space(&mut rng));

                let mut one = Vec::new();
                let parsed = parse_row(&types, &row, &mut one, &mut String::new());
                // With the bytes of the next rows after it, as in a chunk.
                let rest = [row.as_slice(), b"[\"the next row\",12345678901234567890]"].concat();
                let mut o = vec![b'#'; row.len() + FAST_GROWTH * types.len() + 2 * F64_MAX];
                if let Some(end) = fast_row(&types, &rest, row.len(), &mut o, 0) {
                    fast += 1;
                    assert!(parsed.is_ok(), "{}", String::from_utf8_lossy(&row));
                    assert_eq!(
                        String::from_utf8_lossy(&o[..end]),
                        String::from_utf8_lossy(&one),
                        "{types:?} {}",
                        String::from_utf8_lossy(&row)
                    );
                } else {
                    slow += 1;
                }
                if parsed.is_ok() {
                    want.extend_from_slice(&one);
                    want.push(b'\n');
                    chunk.text.extend_from_slice(&row);
                    chunk.ends.push(chunk.text.len());
                }
            }
            // The good rows through parse_rows, into a buffer of stale bytes.
            let mut batch = Batch {
                buf: vec![b'#'; 1 << 16],
                ends: Vec::new(),
            };
            parse_rows(&types, &chunk, 0..chunk.len(), &mut batch).unwrap_or_else(|_| panic!());
            assert_eq!(
                String::from_utf8_lossy(&batch.buf),
                String::from_utf8_lossy(&want)
            );
        }
        // Both paths were taken, often.
        assert!(fast > 10_000 && slow > 10_000, "{fast} fast, {slow} slow");
    }

    /// Reads `text` with `threads` threads and chunks of `chunk_bytes`: every row, then the
    /// error if one ended the reading.
    fn read_threads(
        text: &[u8],
        ndjson: bool,
        compressed: bool,
        chunk_bytes: usize,
        threads: usize,
    ) -> (Vec<u8>, Option<String>) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text).unwrap();
        let path = file.path().to_owned();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut rows = Vec::new();
            let mut source = DatasetJsonSource::with_limits(
                &path,
                File::open(&path).unwrap(),
                ndjson,
                compressed,
                MAX_RECORD_BYTES,
                chunk_bytes,
            )
            .unwrap();
            let mut batch = Batch::default();
            loop {
                match source.next_batch(&mut batch) {
                    Ok(true) => rows.extend_from_slice(&batch.buf),
                    Ok(false) => return (rows, None),
                    Err(e) => {
                        return (
                            rows,
                            Some(format!("{}: {}", e.at.unwrap_or_default(), e.message)),
                        );
                    }
                }
            }
        })
    }

    /// Rows parsed side by side in ranges of several chunks come out in file order, and the
    /// error is the first one in the file, the same with 1, 2, 3 and 16 threads, in every form.
    #[test]
    fn any_threads_give_the_same_rows_and_the_first_error() {
        const ROWS: usize = 30_000;
        let cols = [
            ("ID", "string"),
            ("N", "integer"),
            ("X", "double"),
            ("B", "boolean"),
        ];
        let row = |i: usize| format!("[\"s{i}\",{i},{}.25,{}]", i % 977, i.is_multiple_of(2));
        // Each case: the bad rows (with what makes them bad), then the records, then cut the
        // text short after this many rows.
        type Case = (
            &'static [(usize, &'static str)],
            usize,
            Option<usize>,
            &'static str,
        );
        let cases: &[Case] = &[
            (&[], ROWS, None, ""),
            // In different chunks.
            (
                &[(21_000, "[\"x\",{},1,true]"), (7_700, "[\"x\",1.5,1,true]")],
                ROWS,
                None,
                "row 7700, column N: dataType integer needs",
            ),
            // In one chunk (of about 5,000 rows), in different ranges, the later one first in
            // the list.
            (
                &[(9_900, "[\"x\",1,1]"), (5_200, "[\"x\",1,1,true,5]")],
                ROWS,
                None,
                "row 5200: 5 values, but there are 4 columns",
            ),
            (
                &[(12_345, "[\"x\",1,\"1\",true]")],
                ROWS,
                None,
                "row 12345, column X: dataType double needs",
            ),
            // Invalid JSON, then more rows than records.
            (
                &[(29_997, "[\"x\",1,1,tru]")],
                ROWS - 2,
                None,
                "row 29997: invalid JSON at ",
            ),
            (
                &[(29_000, "[\"x\",1,1,tru]")],
                ROWS - 2,
                None,
                "row 29000: invalid JSON at ",
            ),
            (
                &[],
                ROWS - 2,
                None,
                "row 29998: more rows than records (29998) says",
            ),
            // A bad row, then the file cut short in the same chunk.
            (
                &[(17_010, "[\"x\",-,1,true]")],
                ROWS,
                Some(17_500),
                "row 17010: invalid JSON at ",
            ),
        ];
        for &(bad, records, cut, want) in cases {
            let rows: Vec<String> = (0..ROWS)
                .map(|i| {
                    bad.iter()
                        .find(|b| b.0 == i)
                        .map_or_else(|| row(i), |b| b.1.to_owned())
                })
                .collect();
            let rows = &rows[..cut.unwrap_or(ROWS)];
            let mut texts = vec![
                (json(records as u64, &cols, &rows.join(",")), false, false),
                (ndjson(records as u64, &cols, &rows.join("\n")), true, false),
            ];
            if let Some(n) = cut {
                // Cut inside the row after the last.
                let len = texts[0].0.len();
                texts[0].0.truncate(len - 2);
                texts[0].0.extend_from_slice(b",[\"cut");
                texts[1]
                    .0
                    .extend_from_slice(format!("\n[\"s{n}\",").as_bytes());
            }
            let packed = gzip(&texts[1].0);
            texts.push((packed, true, true));
            for (text, ndjson, compressed) in &texts {
                let first = read_threads(text, *ndjson, *compressed, 100_000, 1);
                for threads in [2, 3, 16] {
                    let other = read_threads(text, *ndjson, *compressed, 100_000, threads);
                    assert!(other.0 == first.0, "{want}: rows with {threads} threads");
                    assert_eq!(other.1, first.1, "with {threads} threads");
                }
                match &first.1 {
                    None => {
                        assert!(want.is_empty());
                        let want_rows: Vec<u8> = (0..ROWS)
                            .flat_map(|i| {
                                format!(
                                    "[\"s{i}\",\"{i}\",\"{}.25\",\"{}\"]\n",
                                    i % 977,
                                    i.is_multiple_of(2)
                                )
                                .into_bytes()
                            })
                            .collect();
                        assert!(first.0 == want_rows, "rows in file order");
                        // Chunks of about 5,000 rows: six, each parsed in ranges.
                        assert!(text.len() > 5 * 100_000 || *compressed);
                    }
                    Some(e) => {
                        // NDJSON names the line too: the metadata is line 1.
                        let want = if *ndjson {
                            let n: usize =
                                want[4..].split([',', ':']).next().unwrap().parse().unwrap();
                            want.replacen(
                                &format!("row {n}"),
                                &format!("line {} (row {n})", n + 2),
                                1,
                            )
                        } else {
                            want.to_owned()
                        };
                        let want = if *ndjson {
                            want.replace("invalid JSON at ", "invalid JSON at column ")
                        } else {
                            want.replace("invalid JSON at ", "invalid JSON at byte ")
                        };
                        assert!(e.starts_with(&want), "{e}, not {want}");
                    }
                }
            }
        }
    }
}
