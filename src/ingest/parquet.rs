//! Parquet reader: each row group decoded on all cores, its columns cut into groups that
//! separate readers decode side by side (small row groups also several at a time), the pieces
//! joined into Arrow record batches in file order and streamed.
//!
//! Where the time goes (a 100-column ADaM file, one row group, strings dictionary-encoded):
//! decompressing and decoding pages is a small share; what cost was building every string of
//! every row (a `large_string` column was read as plain strings, each row's value copied out of
//! the dictionary, then escaped again for every row) and converting cell by cell. Strings of
//! either width are now read as Arrow dictionaries (each distinct value encoded once per batch,
//! see `arrow.rs`) where the row groups' statistics say the column holds no nulls, as string
//! views otherwise (views of the dictionary, not copies; each distinct view encoded once per
//! range of rows), and the decoding that remains runs on every core.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::basic::ConvertedType;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use super::arrow::BatchSource;
use super::{BATCH_ROWS, IngestError};

/// Column groups a row group's columns are cut into, each decoded by its own reader. Fixed, not
/// taken from the number of threads, so that what each reader does never depends on the
/// machine.
const COLUMN_GROUPS: usize = 16;

/// Most row groups decoded at once (when they are small: together no more than
/// [`BATCH_ROWS`] rows).
const WINDOW_GROUPS: usize = 64;

/// Rows each reader decodes at a time: a quarter of [`BATCH_ROWS`], so that the decoders'
/// buffers (keys, levels) are reused from the allocator's heap instead of mapped anew for every
/// batch, and stay in the cache while converted.
const STEP_ROWS: usize = BATCH_ROWS / 4;

/// Reads `file`, the Parquet file open at `path`: its footer now, its row groups as the rows are
/// asked for, all through the same handle.
///
/// # Errors
/// When the file is not a readable Parquet file.
pub fn open(path: &Path, file: File) -> Result<BatchSource<ParquetBatches>, IngestError> {
    let bad =
        |e: ParquetError| IngestError::file(path, format!("not a readable Parquet file: {e}"));
    let len = file
        .metadata()
        .map_err(|e| IngestError::file(path, format!("cannot stat: {e}")))?
        .len();
    let shared = Shared {
        file: Arc::new(file),
        len,
    };
    let metadata = ArrowReaderMetadata::load(&shared, ArrowReaderOptions::new()).map_err(bad)?;
    // The footer's count of the file's rows is what other readers show; each row group's is
    // checked against the rows its pages hold as it is read (`Reading::step`).
    let groups: i64 = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| rg.num_rows())
        .fold(0i64, i64::saturating_add);
    let declared = metadata.metadata().file_metadata().num_rows();
    if declared != groups {
        return Err(IngestError::file(
            path,
            format!(
                "not a readable Parquet file: its footer says {declared} rows, its row groups \
                 {groups}"
            ),
        ));
    }
    // String columns are read as dictionaries: Parquet stores them dictionary-encoded, and each
    // distinct value is then encoded once per batch instead of once per row. Not a column with
    // nulls: the parquet crate starts a batch that begins with nulls as plain values, then
    // rebuilds its dictionary by hashing and comparing every value, which costs more than
    // copying the strings out; those are read as string views.
    let no_nulls = |i: usize| {
        metadata.metadata().row_groups().iter().all(|rg| {
            rg.columns()
                .get(i)
                .and_then(|c| c.statistics())
                .and_then(|s| s.null_count_opt())
                == Some(0)
        })
    };
    let leaf_of = leaf_columns(&metadata);
    // The parquet crate checks that strings are UTF-8 only in columns annotated UTF8. A column
    // that is a string by another annotation (JSON) or only by the Arrow schema the file
    // carries would reach the converter unchecked: it is read as string views and checked
    // here, batch by batch (`unchecked_utf8`).
    let unchecked: Vec<usize> = metadata
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            matches!(
                f.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) && leaf_of(*i).is_none_or(|c| {
                let descr = metadata.metadata().file_metadata().schema_descr();
                descr.column(c).converted_type() != ConvertedType::UTF8
            })
        })
        .map(|(i, _)| i)
        .collect();
    let fields: Vec<Field> = metadata
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if unchecked.contains(&i) => {
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            t @ (DataType::Utf8 | DataType::LargeUtf8) if leaf_of(i).is_some_and(no_nulls) => {
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(t.clone()),
                ))
            }
            // A column with nulls as string views: a dictionary-encoded page's values are then
            // views of its dictionary, not copies, and one value's cells are one view, which
            // `arrow.rs` converts once per batch range.
            DataType::Utf8 | DataType::LargeUtf8 => {
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        metadata.schema().metadata().clone(),
    ));
    let metadata = ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(schema),
    )
    .map_err(bad)?;
    let schema = metadata.schema().clone();
    let columns = schema.fields().len();
    let k = COLUMN_GROUPS.min(columns);
    let groups = (0..k)
        .map(|g| g * columns / k..(g + 1) * columns / k)
        .collect();
    // A reader of the whole file, built and dropped, checks what building one checks (the
    // projection, the row groups) before the first row is asked for.
    ParquetRecordBatchReaderBuilder::new_with_metadata(shared.clone(), metadata.clone())
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(bad)?;
    let batches = ParquetBatches {
        shared,
        metadata,
        schema: schema.clone(),
        groups,
        next_row_group: 0,
        window: VecDeque::new(),
        ready: VecDeque::new(),
        failed: None,
        done: false,
        unchecked,
        rows_out: 0,
    };
    Ok(BatchSource::new(path, batches, &schema, "Parquet"))
}

/// The file, read at any offset through one shared handle (`pread`): readers on several threads
/// share it without sharing a file position.
#[derive(Clone)]
struct Shared {
    file: Arc<File>,
    /// Its size when opened.
    len: u64,
}

impl Length for Shared {
    fn len(&self) -> u64 {
        self.len
    }
}

/// A reader of the file from an offset on.
struct At {
    file: Arc<File>,
    pos: u64,
}

impl std::io::Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl ChunkReader for Shared {
    type T = BufReader<At>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(BufReader::with_capacity(
            16 << 10,
            At {
                file: self.file.clone(),
                pos: start,
            },
        ))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        if start
            .checked_add(length as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(ParquetError::EOF(format!(
                "{length} bytes at offset {start} run past the end of the file ({} bytes)",
                self.len
            )));
        }
        let mut buf = vec![0; length];
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(|e| ParquetError::EOF(format!("reading {length} bytes at {start}: {e}")))?;
        Ok(buf.into())
    }
}

/// What one reader's step gave: a batch, the end, an error, or a panic of the decoder.
type Step = std::thread::Result<Option<Result<RecordBatch, ArrowError>>>;

/// A failure: an error, or the payload of a decoder's panic.
type Failure = Result<ArrowError, Box<dyn std::any::Any + Send>>;

/// Where a row group's reading is.
enum State {
    Reading,
    Ended,
    Failed(Failure),
}

/// A row group being read: one reader per column group, and its batches not yet handed on.
struct Reading {
    row_group: usize,
    /// Rows its metadata declares, and rows read so far.
    declared: i64,
    rows: i64,
    readers: Vec<ParquetRecordBatchReader>,
    queue: VecDeque<RecordBatch>,
    state: State,
}

impl Reading {
    /// Takes one step of every reader (in parallel): their batches joined into one, the end of
    /// the row group, or the first failure in column order.
    fn step(&mut self, schema: &SchemaRef) {
        use rayon::prelude::*;
        let steps: Vec<Step> = self
            .readers
            .par_iter_mut()
            .map(|reader| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next())))
            .collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        let (mut ended, mut rows) = (0, None);
        for step in steps {
            match step {
                Err(panic) => return self.fail(Err(panic)),
                Ok(Some(Err(e))) => return self.fail(Ok(e)),
                Ok(None) => ended += 1,
                Ok(Some(Ok(b))) => {
                    if rows.is_some_and(|r| r != b.num_rows()) {
                        return self.fail(Ok(uneven(self.row_group)));
                    }
                    rows = Some(b.num_rows());
                    columns.extend(b.columns().iter().cloned());
                }
            }
        }
        if ended == self.readers.len() {
            if self.rows != self.declared {
                let message = format!(
                    "row group {} holds {} rows but its metadata says {}",
                    self.row_group, self.rows, self.declared
                );
                return self.fail(Ok(ArrowError::ParquetError(message)));
            }
            self.state = State::Ended;
            self.readers.clear();
            return;
        }
        if ended > 0 {
            return self.fail(Ok(uneven(self.row_group)));
        }
        self.rows = self
            .rows
            .saturating_add(rows.map_or(0, |r| i64::try_from(r).unwrap_or(i64::MAX)));
        let options = arrow_array::RecordBatchOptions::new().with_row_count(rows);
        match RecordBatch::try_new_with_options(schema.clone(), columns, &options) {
            Ok(b) => self.queue.push_back(b),
            Err(e) => self.fail(Ok(e)),
        }
    }

    fn fail(&mut self, failure: Failure) {
        self.state = State::Failed(failure);
        self.readers.clear();
    }
}

/// The record batches of a Parquet file in file order, each row group's column groups decoded
/// in parallel.
pub struct ParquetBatches {
    shared: Shared,
    metadata: ArrowReaderMetadata,
    schema: SchemaRef,
    /// The column groups: ranges of the schema's columns.
    groups: Vec<Range<usize>>,
    /// The first row group not yet started.
    next_row_group: usize,
    /// The row groups being read, in file order.
    window: VecDeque<Reading>,
    /// Batches decoded, not yet handed out.
    ready: VecDeque<RecordBatch>,
    /// The first failure, handed out after every batch before it.
    failed: Option<Failure>,
    /// Whether the end or a failure was handed out.
    done: bool,
    /// String columns the parquet crate did not check as UTF-8: checked before a batch is
    /// handed out.
    unchecked: Vec<usize>,
    /// Rows handed out so far.
    rows_out: u64,
}

impl ParquetBatches {
    /// Starts reading the next row groups: one, or several small ones (together no more than
    /// [`BATCH_ROWS`] rows).
    fn start_window(&mut self) -> Result<(), ArrowError> {
        let row_groups = self.metadata.metadata().row_groups();
        let mut rows = 0usize;
        while self.next_row_group < row_groups.len() && self.window.len() < WINDOW_GROUPS {
            let g = self.next_row_group;
            let n = usize::try_from(row_groups[g].num_rows()).unwrap_or(usize::MAX);
            if !self.window.is_empty() && rows.saturating_add(n) > STEP_ROWS {
                break;
            }
            rows = rows.saturating_add(n);
            let readers = self
                .groups
                .iter()
                .map(|columns| {
                    let mask =
                        ProjectionMask::roots(self.metadata.parquet_schema(), columns.clone());
                    ParquetRecordBatchReaderBuilder::new_with_metadata(
                        self.shared.clone(),
                        self.metadata.clone(),
                    )
                    .with_projection(mask)
                    .with_row_groups(vec![g])
                    .with_batch_size(STEP_ROWS)
                    .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.window.push_back(Reading {
                row_group: g,
                declared: row_groups[g].num_rows(),
                rows: 0,
                readers,
                queue: VecDeque::new(),
                state: State::Reading,
            });
            self.next_row_group += 1;
        }
        Ok(())
    }

    /// One step of the window's row groups still read (in parallel, each on all cores), up to
    /// the first that failed; then the batches of the row groups at the front handed on, in
    /// file order, and a failure when every batch before it is.
    fn step(&mut self) {
        use rayon::prelude::*;
        let reading = self
            .window
            .iter()
            .position(|r| !matches!(r.state, State::Reading | State::Ended))
            .unwrap_or(self.window.len());
        let schema = &self.schema;
        self.window
            .par_iter_mut()
            .take(reading)
            .filter(|r| matches!(r.state, State::Reading))
            .for_each(|r| r.step(schema));
        while let Some(front) = self.window.front_mut() {
            if let Some(b) = front.queue.pop_front() {
                self.ready.push_back(b);
                continue;
            }
            match std::mem::replace(&mut front.state, State::Ended) {
                State::Reading => {
                    front.state = State::Reading;
                    break;
                }
                State::Ended => {
                    self.window.pop_front();
                }
                State::Failed(failure) => {
                    self.failed = Some(failure);
                    self.window.clear();
                }
            }
        }
    }
}

/// The error of a row group whose columns hold different numbers of rows.
fn uneven(row_group: usize) -> ArrowError {
    ArrowError::ParquetError(format!(
        "the columns of row group {row_group} hold different numbers of rows"
    ))
}

impl Iterator for ParquetBatches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                if let Err(e) = unchecked_utf8(&b, &self.unchecked, self.rows_out) {
                    self.done = true;
                    return Some(Err(e));
                }
                self.rows_out += b.num_rows() as u64;
                return Some(Ok(b));
            }
            if self.done {
                return None;
            }
            if let Some(failed) = self.failed.take() {
                self.done = true;
                match failed {
                    Ok(e) => return Some(Err(e)),
                    // A decoder's panic goes on to the caller, who reports it as a corrupt file.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            if self.window.is_empty() {
                if let Err(e) = self.start_window() {
                    self.failed = Some(Ok(e));
                    continue;
                }
                if self.window.is_empty() {
                    self.done = true;
                    return None;
                }
            }
            self.step();
        }
    }
}

/// Checks that the string views of `columns` of `batch`, whose first row is row `first` of
/// the file, are UTF-8, looking at their bytes only (a `&str` of other bytes must never be
/// made).
fn unchecked_utf8(batch: &RecordBatch, columns: &[usize], first: u64) -> Result<(), ArrowError> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    for &c in columns {
        let Some(strings) = batch.column(c).as_string_view_opt() else {
            return Err(ArrowError::SchemaError(format!(
                "column {}: not read as strings",
                batch.schema_ref().field(c).name()
            )));
        };
        let bytes = strings.clone().to_binary_view();
        if let Some(row) = (0..bytes.len())
            .find(|&i| bytes.is_valid(i) && std::str::from_utf8(bytes.value(i)).is_err())
        {
            return Err(ArrowError::ParseError(format!(
                "column {}, row {}: the value is not UTF-8 text",
                batch.schema_ref().field(c).name(),
                first + row as u64
            )));
        }
    }
    Ok(())
}

/// The Parquet leaf column of each top-level field, where the field is one leaf (every column
/// this reader accepts; nested fields are refused elsewhere).
fn leaf_columns(metadata: &ArrowReaderMetadata) -> impl Fn(usize) -> Option<usize> + '_ {
    move |field: usize| {
        let name = metadata.schema().fields().get(field)?.name();
        let descr = metadata.metadata().file_metadata().schema_descr();
        (0..descr.num_columns()).find(|&c| {
            let col = descr.column(c);
            col.path().parts().len() == 1 && col.path().parts()[0] == *name
        })
    }
}
