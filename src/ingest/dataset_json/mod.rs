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
//! | `integer` | number | decimal digits, `-` for negatives: any JSON integer from -2^63 to 2^64-1, and a number with a fraction or exponent read as a double (as RFC 8785 reads numbers) that is integral and below 2^53 in magnitude (`63.0`, `6.3e1` → `63`; JSON Schema counts `63.0` as an integer) |
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
//! The metadata is parsed in [`DatasetJsonSource::new`] on the caller's thread. Then:
//!
//! * `.json` rows are read a block at a time on all cores, framing included (`blocks`): a reader
//!   thread only reads the text, in blocks of 4 MiB cut where a row may start (a `[` after `],`
//!   and whitespace, whatever the layout); the caller's thread cuts each block the same way into
//!   spans, one a core's share and the rest four a core, which the cores read at once, each
//!   finding its own rows with the fast path below; then, in file order, it takes the spans while
//!   each joins the one before. The first thing a span leaves (the end of the rows, a row that
//!   fails or does not end in it, a cut inside a string, a row past `records`, the end of the
//!   file, a read error) hands the rest of the file, from the end of the last row taken, to the
//!   reading below, on a thread of its own fed by the blocks read. Against that reading alone,
//!   on the generated 2 GB study, this takes about 7% less CPU time: the reader thread no longer
//!   finds where each row ends (4.5% of the run) nor copies it.
//! * NDJSON and `.dsjc` rows, and `.json` from where its blocks stop: a reader thread frames the
//!   rows, finding where each row's text ends (the tokenizer below), and copies the texts into
//!   chunks of up to 8,192 rows or 4 MiB of text, handed over a channel of one chunk, with each
//!   row's place (its number, its NDJSON line, its `.json` byte offset). The caller's thread
//!   parses a chunk's rows on all cores, in ranges of consecutive rows concatenated in row order
//!   (`convert_in_parallel`, as the XPT reader does).
//!
//! Either way batches gather up to [`BATCH_ROWS`] rows or 32 MiB of canonical text.
//!
//! Errors stay those of one thread reading in file order: a chunk carries what follows its rows
//! (more rows, the end, or the reader's error at the place after them, such as a row past
//! `records` or a file cut short), and that error counts only when every row of the chunk
//! parsed; of the rows, the first that fails in file order is the error, whatever the number of
//! threads. A `.json` block gives no error at all: it leaves anything wrong to the reading from
//! the start. Tests hold the two readings of `.json` against each other on thousands of files
//! broken at random, in every layout.
//!
//! Memory is bounded by about five chunks or blocks (the one being filled, one in the channel,
//! the one being parsed, two recycled), the caller's batch and the ranges' batches (about one
//! chunk's output), plus the input buffer: blocks of 1 MiB, grown only to hold a single row of up to
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
//! Speed in an earlier round, before `.json` was read in blocks (`cargo bench --bench ingest`,
//! 235,216 LB rows × 26 columns, shared 2-core machine):
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
//!
//! # Files
//!
//! This file holds the source, [`DatasetJsonSource`] (the caller's side: chunks parsed on all
//! cores into batches, errors named by row and column), the chunks the reader thread hands
//! over, and helpers for error messages. The parts it puts together:
//! - `input`: the bytes read, counted, and decompressed for `.dsjc`;
//! - `scan`: where a JSON value ends, 64 bytes at a time;
//! - `metadata`: the metadata object, checked against the schema, and the column types;
//! - `blocks`: `.json` read a block at a time, framing included, on all cores;
//! - `reader`: the reader thread, which frames rows into chunks;
//! - `row`: a chunk's rows parsed in ranges, through serde_json where the fast path declines;
//! - `fast_row`: the fast path, for rows of plain values.
//!
//! [`MAX_COLUMNS`]: super::MAX_COLUMNS

mod blocks;
mod fast_row;
mod input;
mod metadata;
mod reader;
mod row;
mod scan;
#[cfg(test)]
mod tests;

use super::Sequential;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use super::{
    BATCH_ROWS, Batch, IngestError, MAX_RECORD_BYTES, RowSource, convert_in_parallel, reclaim,
};

use blocks::{Blocks, Step, run_raw};
use input::{Counted, Inflate, Input};
use metadata::DataType;
use reader::{Reader, State, run};
use row::{RowFail, parse_rows};

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

/// Streams one Dataset-JSON file.
pub struct DatasetJsonSource {
    path: PathBuf,
    columns: Vec<String>,
    types: Vec<DataType>,
    ndjson: bool,
    records: u64,
    /// Longest row, and chunk size: see [`DatasetJsonSource::with_limits`].
    limit: usize,
    chunk_bytes: usize,
    mode: Mode,
    /// The reader threads: one, then for [`Mode::Blocks`] handed over to [`Mode::Chunks`], a
    /// second that frames what the first reads.
    workers: Vec<JoinHandle<()>>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Batches of ranges parsed in parallel, kept for reuse.
    spare: Vec<Batch>,
    finished: bool,
}

/// How rows come to the caller's thread.
enum Mode {
    /// `.json`: blocks of rows, read on all cores ([`blocks`]).
    Blocks(Box<Blocks>),
    /// NDJSON, `.dsjc`, and `.json` from where [`Mode::Blocks`] left it to the reading from the
    /// start: chunks of rows framed by a reader thread.
    Chunks {
        chunks: Receiver<Chunk>,
        /// Chunks handed back for reuse, so the reader thread need not grow fresh buffers.
        recycle: SyncSender<Chunk>,
    },
    /// Dropped.
    Gone,
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
        file: impl Into<Sequential>,
        ndjson: bool,
        compressed: bool,
    ) -> Result<Self, IngestError> {
        Self::with_limits(
            path,
            file.into(),
            ndjson,
            compressed,
            MAX_RECORD_BYTES,
            CHUNK_BYTES,
            true,
        )
    }

    /// [`Self::new`] with another longest row (and metadata) than [`MAX_RECORD_BYTES`] and
    /// other chunks and blocks than [`CHUNK_BYTES`], so that tests need not write hundreds of
    /// megabytes; `blocks: false` frames every `.json` row on the reader thread, as NDJSON is, so
    /// that tests can hold the two readings of `.json` against each other.
    fn with_limits(
        path: &Path,
        file: Sequential,
        ndjson: bool,
        compressed: bool,
        limit: usize,
        chunk_bytes: usize,
        blocks: bool,
    ) -> Result<Self, IngestError> {
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            file,
            bytes: Arc::clone(&bytes),
        };
        let input = if compressed {
            let inflate = Inflate::new(counted).map_err(|e| io_error(path, None, &e))?;
            Input::new(Box::new(inflate), limit)
        } else {
            Input::file(counted, limit)
        };
        let mut reader = Reader {
            path: path.to_owned(),
            input,
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
        let (ndjson, records) = (reader.ndjson, reader.records);

        let stop = Arc::new(AtomicBool::new(false));
        let mut source = Self {
            path: path.to_owned(),
            columns,
            types,
            ndjson,
            records,
            limit,
            chunk_bytes,
            mode: Mode::Gone,
            workers: Vec::new(),
            bytes,
            stop,
            spare: Vec::new(),
            finished: false,
        };
        if ndjson || !blocks || !matches!(reader.state, State::Rows { .. }) {
            source.frame_rows(reader)?;
        } else {
            let (src, buf, base, eof) = reader.input.into_rest();
            let (tx, raw) = std::sync::mpsc::sync_channel(1);
            let (recycle, spare) = std::sync::mpsc::sync_channel(2);
            let stop = Arc::clone(&source.stop);
            source.spawn(move || run_raw(src, buf, base, eof, chunk_bytes, &tx, &spare, &stop))?;
            source.mode = Mode::Blocks(Box::new(Blocks::new(raw, recycle, base, records)));
        }
        Ok(source)
    }

    /// Starts a reader thread.
    fn spawn(&mut self, work: impl FnOnce() + Send + 'static) -> Result<(), IngestError> {
        let worker = std::thread::Builder::new()
            .name("dataset-json".into())
            .spawn(work)
            .map_err(|e| {
                IngestError::file(&self.path, format!("cannot start the reader thread: {e}"))
            })?;
        self.workers.push(worker);
        Ok(())
    }

    /// Goes on with chunks of rows that `reader` frames on a thread of its own.
    fn frame_rows(&mut self, reader: Reader) -> Result<(), IngestError> {
        let (tx, chunks) = std::sync::mpsc::sync_channel(1);
        let (recycle, spare) = std::sync::mpsc::sync_channel(2);
        let stop = Arc::clone(&self.stop);
        self.spawn(move || run(reader, &tx, &spare, &stop))?;
        self.mode = Mode::Chunks { chunks, recycle };
        Ok(())
    }

    /// Reads the next block ([`Mode::Blocks`]) into `batch`, or hands the rest of the file to
    /// the reading from the start.
    fn read_block(&mut self, batch: &mut Batch) -> Result<(), IngestError> {
        let Mode::Blocks(blocks) = &mut self.mode else {
            return Ok(());
        };
        match blocks.read_block(&self.types, batch, self.limit) {
            Ok(Step::Read) => Ok(()),
            Ok(Step::Exact { input, rows }) => self.frame_rows(Reader {
                path: self.path.clone(),
                input,
                ndjson: false,
                names: self.columns.clone(),
                types: self.types.clone(),
                records: self.records,
                row: rows,
                line: 1,
                state: State::Rows { first: rows == 0 },
                chunk_bytes: self.chunk_bytes,
            }),
            Err(e) => Err(io_error(&self.path, None, &e)),
        }
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
        // The bytes stay, as stale ones, so that the buffer is not zeroed again as it refills;
        // so do the parts' buffers, taken back.
        batch.ends.clear();
        match &mut self.mode {
            Mode::Blocks(blocks) => blocks.reclaim(&mut batch.parts),
            _ => reclaim(&mut self.spare, &mut batch.parts),
        }
        while !self.finished {
            if let Mode::Blocks(blocks) = &self.mode {
                // A block like the last still fits.
                if !batch.is_empty()
                    && (batch.len() + blocks.last_rows.max(1) > BATCH_ROWS
                        || batch.bytes() >= BATCH_BYTES)
                {
                    break;
                }
                if let Err(e) = self.read_block(batch) {
                    self.finished = true;
                    return Err(e);
                }
                continue;
            }
            if !batch.is_empty()
                && (batch.len() + CHUNK_ROWS > BATCH_ROWS || batch.bytes() >= BATCH_BYTES)
            {
                break;
            }
            let Mode::Chunks { chunks, .. } = &self.mode else {
                break;
            };
            let Ok(mut chunk) = chunks.recv() else {
                self.finished = true;
                return Err(IngestError::file(
                    &self.path,
                    "internal error: the Dataset-JSON reader thread stopped without a result",
                ));
            };
            let parsed = self.parse(&chunk, batch);
            let end = std::mem::take(&mut chunk.end);
            if let Mode::Chunks { recycle, .. } = &self.mode {
                // Full only if the reader thread has not taken the last ones: drop this one.
                let _ = recycle.try_send(chunk);
            }
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
        }
        batch.discard_partial();
        Ok(!batch.is_empty())
    }

    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes.load(Ordering::Acquire))
    }
}

impl Drop for DatasetJsonSource {
    fn drop(&mut self) {
        // Stop the thread and wait for it, so the file is closed when the source is gone. It
        // checks `stop` between chunks; dropping the receiver wakes it if it is blocked sending
        // one.
        self.stop.store(true, Ordering::Release);
        self.mode = Mode::Gone;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
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

/// serde_json's message without its " at line L column C", which counts within one value; a
/// message about a `\u` escape says what is wrong with it in the terms of the file.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    // serde_json's words for half a surrogate pair ("unexpected end of hex escape", "lone
    // leading surrogate in hex escape") name no character.
    if message.contains("hex escape") {
        format!(
            "{message} (a \\u escape of half a surrogate pair, \\ud800 to \\udfff, without its \
             other half: it names no character)"
        )
    } else {
        message.to_owned()
    }
}
