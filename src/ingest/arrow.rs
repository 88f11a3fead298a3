//! Canonical text of Arrow values, shared by the Parquet and Arrow IPC readers: strings as they
//! are, integers in decimal, floats as ECMAScript `Number::toString`, booleans `true`/`false`,
//! dates `YYYY-MM-DD`, timestamps RFC 3339 in UTC, decimals without trailing zeros.

use std::ops::Range;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};

use super::canonical::{self, push_date as date, push_f64};
use super::{Batch, IngestError};
use crate::core::record::write_value;
use crate::ingest::write_plain_value;

/// Where one value's canonical text is in a column's text: a start and a length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// Every column's text starts with `null`, which null cells point to.
const NULL: Span = Span { start: 0, len: 4 };

/// Bytes after the last value of every column's text, so that a value of up to `PAD` bytes is
/// copied into a row as one fixed-size block instead of a call to `memcpy`.
const PAD: usize = 32;

/// Rows converted at a time, column after column, before they are assembled: small enough that
/// every column's spans stay in the cache while the rows are assembled from them.
const CHUNK_ROWS: usize = 512;

/// The canonical text of some values of one column, and where each is.
struct Texts {
    text: Vec<u8>,
    spans: Vec<Span>,
}

impl Texts {
    fn new() -> Self {
        let mut text = Vec::with_capacity(4096);
        text.extend_from_slice(b"null");
        Self {
            text,
            spans: Vec::with_capacity(CHUNK_ROWS),
        }
    }

    /// Empties the spans and the text after `null`.
    fn clear(&mut self) {
        self.text.truncate(4);
        self.spans.clear();
    }

    /// The span of the text written since `start`.
    fn span_from(&self, start: usize) -> Result<Span, String> {
        match (u32::try_from(start), u32::try_from(self.text.len() - start)) {
            (Ok(start), Ok(len)) if u32::try_from(self.text.len()).is_ok() => {
                Ok(Span { start, len })
            }
            _ => Err("the values are too long (more than 4 GiB of text)".into()),
        }
    }

    /// Appends a value that needs no escaping (never empty: numbers, dates, booleans) as a JSON
    /// string, and its span.
    fn push_plain(&mut self, value: &[u8]) -> Result<Span, String> {
        let start = self.text.len();
        write_plain_value(&mut self.text, value);
        let span = self.span_from(start)?;
        self.spans.push(span);
        Ok(span)
    }

    /// Appends a string (escaped; an empty one is `null`) and its span.
    fn push_str(&mut self, value: &str) -> Result<Span, String> {
        let start = self.text.len();
        write_value(&mut self.text, Some(value));
        let span = self.span_from(start)?;
        self.spans.push(span);
        Ok(span)
    }
}

/// Writes the cells `range` of one column into a [`Texts`]: one call per column and chunk of
/// rows, its loop over the cells monomorphic. The error names the index of the failing cell.
type Fill<'a> =
    Box<dyn Fn(Range<usize>, &mut Texts) -> Result<(), (usize, String)> + Send + Sync + 'a>;

/// How one column of a record batch is converted.
enum Column<'a> {
    /// A dictionary whose values were encoded once for the whole batch: each cell's span is
    /// looked up by its key.
    Dictionary {
        keys: Keys<'a>,
        nulls: Option<NullBuffer>,
        values: Texts,
    },
    /// Any other column, written chunk by chunk.
    Cells(Fill<'a>),
}

/// A dictionary's keys: `int32` ones (what the Parquet reader makes) as they are, others as
/// indexes.
enum Keys<'a> {
    I32(&'a [i32]),
    Any(Vec<usize>),
}

/// The spans of `keys` (every one not null: the values' span of its key).
fn spans_by_key<K: Copy>(
    keys: &[K],
    nulls: Option<&NullBuffer>,
    range: Range<usize>,
    spans: &[Span],
    index: impl Fn(K) -> usize,
    out: &mut Vec<Span>,
) {
    match nulls {
        None => out.extend(keys[range].iter().map(|&k| spans[index(k)])),
        Some(n) => out.extend(range.map(|row| {
            if n.is_null(row) {
                NULL
            } else {
                spans[index(keys[row])]
            }
        })),
    }
}

/// A record batch ready to be converted in pieces on all cores: its columns' converters and
/// names.
struct Plan<'a> {
    columns: Vec<Column<'a>>,
    names: Vec<&'a str>,
}

impl<'a> Plan<'a> {
    /// The converters of the columns of `rb`, each dictionary encoded once (on all cores).
    fn new(rb: &'a RecordBatch) -> Result<Self, (usize, String)> {
        use rayon::prelude::*;
        let rows = rb.num_rows();
        let columns = rb
            .columns()
            .par_iter()
            .enumerate()
            .map(|(c, col)| Column::new(col.as_ref(), rows).map_err(|e| (c, e)))
            .collect::<Vec<_>>();
        let columns = columns.into_iter().collect::<Result<Vec<_>, _>>()?;
        let schema = rb.schema_ref();
        let names = schema.fields().iter().map(|f| f.name().as_str()).collect();
        Ok(Self { columns, names })
    }

    /// Converts rows `range` into `batch`, CHUNK_ROWS at a time: each column's spans, then the
    /// rows assembled from them. The error names the first failing row (then column) in row
    /// order, as a row index and a column name.
    fn convert(
        &self,
        range: Range<usize>,
        batch: &mut Batch,
    ) -> Result<(), (usize, String, String)> {
        let mut texts: Vec<Texts> = self.columns.iter().map(|_| Texts::new()).collect();
        let mut start = range.start;
        while start < range.end {
            let end = (start + CHUNK_ROWS).min(range.end);
            let mut first: Option<(usize, usize, String)> = None;
            for (c, (column, out)) in self.columns.iter().zip(&mut texts).enumerate() {
                out.clear();
                if let Err((row, e)) = column.fill(start..end, out)
                    && first.as_ref().is_none_or(|f| row < f.0)
                {
                    first = Some((row, c, e));
                }
            }
            if let Some((row, c, e)) = first {
                return Err((row, self.names[c].to_owned(), e));
            }
            let cols: Vec<(&[u8], &[Span])> = self
                .columns
                .iter()
                .zip(&mut texts)
                .map(|(column, t)| {
                    let text: &[u8] = match column {
                        Column::Dictionary { values, .. } => &values.text,
                        Column::Cells(_) => {
                            t.text.extend_from_slice(&[0; PAD]);
                            &t.text
                        }
                    };
                    (text, &t.spans[..])
                })
                .collect();
            assemble(&cols, end - start, batch);
            start = end;
        }
        Ok(())
    }
}

impl<'a> Column<'a> {
    fn new(array: &'a dyn Array, rows: usize) -> Result<Self, String> {
        if let DataType::Dictionary(_, _) = array.data_type() {
            let dict = array.as_any_dictionary();
            let n = dict.values().len();
            // Encoding the values once pays when they are no more than the rows that use them,
            // and is possible when all of them encode (otherwise the rows that use a bad value
            // report it, through the per-cell path).
            if n <= rows {
                let fill = writer(dict.values().as_ref())?;
                let mut values = Texts::new();
                if fill(0..n, &mut values).is_ok() {
                    values.text.extend_from_slice(&[0; PAD]);
                    let keys = match array.as_dictionary_opt::<Int32Type>() {
                        Some(d) => Keys::I32(d.keys().values()),
                        None => Keys::Any(dict.normalized_keys()),
                    };
                    return Ok(Self::Dictionary {
                        keys,
                        nulls: array.nulls().cloned(),
                        values,
                    });
                }
            }
        }
        writer(array).map(Self::Cells)
    }

    /// The spans of cells `range` in `out`: for a dictionary, its values' spans by key.
    fn fill(&self, range: Range<usize>, out: &mut Texts) -> Result<(), (usize, String)> {
        match self {
            Self::Dictionary {
                keys,
                nulls,
                values,
            } => {
                // A key out of range (a corrupt file) panics on indexing, which the reader
                // reports as a corrupt file.
                let (spans, out) = (&values.spans, &mut out.spans);
                match keys {
                    Keys::I32(k) => {
                        spans_by_key(k, nulls.as_ref(), range, spans, |k| k as usize, out)
                    }
                    Keys::Any(k) => spans_by_key(k, nulls.as_ref(), range, spans, |k| k, out),
                }
                Ok(())
            }
            Self::Cells(fill) => fill(range, out),
        }
    }
}

/// Appends the rows of one chunk to `batch`: `[`, each column's span of the row (commas
/// between), `]`, a newline. The batch is grown once, by the chunk's exact size.
fn assemble(cols: &[(&[u8], &[Span])], rows: usize, batch: &mut Batch) {
    let mut size = rows * (cols.len().max(1) + 2);
    for (_, spans) in cols {
        size += spans.iter().map(|s| s.len as usize).sum::<usize>();
    }
    let base = batch.buf.len();
    batch.buf.resize(base + size + PAD, 0);
    let buf = &mut batch.buf[..];
    let mut pos = base;
    for row in 0..rows {
        buf[pos] = b'[';
        pos += 1;
        for (c, (text, spans)) in cols.iter().enumerate() {
            if c > 0 {
                buf[pos] = b',';
                pos += 1;
            }
            let Span { start, len } = spans[row];
            let (start, len) = (start as usize, len as usize);
            match text.get(start..start + PAD) {
                // The text has PAD bytes to spare after every value, and the buffer after the
                // chunk: the surplus is overwritten by what follows.
                Some(window) if len <= PAD => buf[pos..pos + PAD].copy_from_slice(window),
                _ => buf[pos..pos + len].copy_from_slice(&text[start..start + len]),
            }
            pos += len;
        }
        buf[pos] = b']';
        batch.ends.push(pos + 1);
        buf[pos + 1] = b'\n';
        pos += 2;
    }
    debug_assert_eq!(pos, base + size);
    batch.buf.truncate(base + size);
}

fn column_error(path: &Path, rb: &RecordBatch, c: usize, e: String) -> IngestError {
    IngestError::at(
        path,
        format!("column {}", rb.schema_ref().field(c).name()),
        e,
    )
}

fn cell_error(path: &Path, row: u64, column: &str, e: String) -> IngestError {
    IngestError::at(path, format!("row {row}, column {column}"), e)
}

/// Converts a record batch into canonical values batches on all cores: each dictionary is
/// encoded once, then the rows are cut into pieces converted in parallel, column by column;
/// the batches come back in row order.
///
/// # Errors
/// A cell that cannot be converted, named by file, row and column; the first error in row order
/// (then column order), whatever the threads.
pub fn convert_parallel(
    path: &Path,
    rb: &RecordBatch,
    first_row: u64,
    spare: &mut Vec<Batch>,
) -> Result<Vec<Batch>, IngestError> {
    use rayon::prelude::*;
    let plan = Plan::new(rb).map_err(|(c, e)| column_error(path, rb, c, e))?;
    let rows = rb.num_rows();
    let pieces = (rayon::current_num_threads() * 2).clamp(1, rows.max(1).div_ceil(1024));
    // Pieces are whole chunks, so that chunks fall at the same rows whatever the threads.
    let per = rows
        .div_ceil(pieces)
        .next_multiple_of(CHUNK_ROWS)
        .max(CHUNK_ROWS);
    // Batches handed back by the caller are filled again: their memory is already mapped.
    let n = rows.div_ceil(per);
    let mut batches: Vec<Batch> = (0..n).map(|_| spare.pop().unwrap_or_default()).collect();
    let results: Vec<Result<Batch, _>> = batches
        .par_drain(..)
        .enumerate()
        .map(|(k, mut batch)| {
            let start = k * per;
            let end = (start + per).min(rows);
            batch.clear();
            batch.ends.reserve(end - start);
            plan.convert(start..end, &mut batch)?;
            Ok(batch)
        })
        .collect();
    results
        .into_iter()
        .map(|r| r.map_err(|(row, column, e)| cell_error(path, first_row + row as u64, &column, e)))
        .collect()
}

/// Streams an Arrow reader (Parquet or IPC) as canonical values batches: each decoded record
/// batch is converted on all cores, then handed out one piece at a time.
pub struct BatchSource<R> {
    path: std::path::PathBuf,
    reader: R,
    columns: Vec<String>,
    row: u64,
    ready: std::collections::VecDeque<Batch>,
    /// Batches handed back, to be filled again.
    spare: Vec<Batch>,
    /// The format's name for error messages: "Parquet", "Arrow IPC".
    what: &'static str,
}

impl<R> BatchSource<R> {
    /// Wraps `reader`, whose batches have `schema`.
    pub fn new(path: &Path, reader: R, schema: &arrow_schema::Schema, what: &'static str) -> Self {
        Self {
            path: path.to_owned(),
            reader,
            columns: column_names(schema),
            row: 0,
            ready: Default::default(),
            spare: Vec::new(),
            what,
        }
    }
}

impl<R> super::RowSource for BatchSource<R>
where
    R: Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + Send,
{
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        loop {
            if let Some(mut b) = self.ready.pop_front() {
                std::mem::swap(batch, &mut b);
                self.spare.push(b);
                return Ok(true);
            }
            batch.clear();
            let Some(rb) = self.reader.next() else {
                return Ok(false);
            };
            let rb = rb.map_err(|e| {
                IngestError::at(
                    &self.path,
                    format!("row {}", self.row),
                    format!("corrupt {} data: {e}", self.what),
                )
            })?;
            self.ready.extend(convert_parallel(
                &self.path,
                &rb,
                self.row,
                &mut self.spare,
            )?);
            self.row += rb.num_rows() as u64;
        }
    }
}

/// Column names of a schema.
pub fn column_names(schema: &arrow_schema::Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// Whether `row` is null in the validity buffer `nulls` (taken once per array, not looked up
/// through `dyn Array` for every cell).
fn is_null(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_some_and(|n| n.is_null(row))
}

/// A [`Fill`] of a column whose cells `f` writes as text that is never empty and never needs
/// escaping (numbers, booleans, dates and times), so it is copied without a check.
fn with_nulls<'a>(
    array: &'a dyn Array,
    f: impl Fn(usize, &mut String) -> Result<(), String> + Send + Sync + 'a,
) -> Fill<'a> {
    let nulls = array.nulls().cloned();
    Box::new(move |range, out| {
        let mut text = String::new();
        for row in range {
            if is_null(nulls.as_ref(), row) {
                out.spans.push(NULL);
                continue;
            }
            text.clear();
            f(row, &mut text).map_err(|e| (row, e))?;
            out.push_plain(text.as_bytes()).map_err(|e| (row, e))?;
        }
        Ok(())
    })
}

/// Slots of the cache [`cached`] keeps of the values it has written.
const CACHE_SLOTS: usize = 256;

/// The slot of the caches of [`cached`] and [`view_strings`] for a value's bits: the top bits
/// of a Fibonacci hash, one of [`CACHE_SLOTS`].
fn cache_slot(bits: u64) -> usize {
    const _: () = assert!(CACHE_SLOTS == 256);
    (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// [`with_nulls`] for a column of primitive `values`, remembering the span of each value it
/// writes (by its bits, in a small direct-mapped cache): analysis data repeats most numbers
/// and dates (a subject's baseline, a visit's date), which are then copied, not formatted.
fn cached<'a, T>(
    array: &'a dyn Array,
    values: &'a [T],
    f: impl Fn(T, &mut String) -> Result<(), String> + Send + Sync + 'a,
) -> Fill<'a>
where
    T: Copy + Send + Sync + Into<Bits>,
{
    let nulls = array.nulls().cloned();
    Box::new(move |range, out| {
        let mut text = String::new();
        let mut cache = [(u64::MAX, 0u64, NULL); CACHE_SLOTS];
        for row in range {
            if is_null(nulls.as_ref(), row) {
                out.spans.push(NULL);
                continue;
            }
            let v = values[row];
            let Bits(bits, tag) = v.into();
            let slot = &mut cache[cache_slot(bits)];
            if slot.0 == bits && slot.1 == tag {
                out.spans.push(slot.2);
                continue;
            }
            text.clear();
            f(v, &mut text).map_err(|e| (row, e))?;
            let span = out.push_plain(text.as_bytes()).map_err(|e| (row, e))?;
            *slot = (bits, tag, span);
        }
        Ok(())
    })
}

/// A primitive value's bits, for [`cached`]: the bits, and a tag that keeps `u64::MAX` (the
/// empty slot) apart from a value with the same bits.
struct Bits(u64, u64);

macro_rules! bits {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Bits {
            fn from($v: $t) -> Self {
                Bits($e, 1)
            }
        })*
    };
}

bits!(
    i8 => |v| v as u64,
    i16 => |v| v as u64,
    i32 => |v| v as u64,
    i64 => |v| v as u64,
    u8 => |v| u64::from(v),
    u16 => |v| u64::from(v),
    u32 => |v| u64::from(v),
    u64 => |v| v,
    f32 => |v| u64::from(v.to_bits()),
    f64 => |v| v.to_bits(),
);

fn int<'a, T>(array: &'a dyn Array) -> Fill<'a>
where
    T: ArrowPrimitiveType,
    T::Native: itoa::Integer + Into<Bits> + Send + Sync,
{
    let a = array.as_primitive::<T>();
    cached(array, a.values(), |v, text| {
        text.push_str(itoa::Buffer::new().format(v));
        Ok(())
    })
}

/// A string column: each value escaped (an empty string is `null`).
fn strings<'a, F>(array: &'a dyn Array, value: F) -> Fill<'a>
where
    F: Fn(usize) -> &'a str + Send + Sync + 'a,
{
    let nulls = array.nulls().cloned();
    Box::new(move |range, out| {
        for row in range {
            if is_null(nulls.as_ref(), row) {
                out.spans.push(NULL);
            } else {
                out.push_str(value(row)).map_err(|e| (row, e))?;
            }
        }
        Ok(())
    })
}

/// A string view column: [`strings`], remembering the span of each view it writes (in a small
/// direct-mapped cache keyed by the whole 16-byte view, so a hit is the same bytes): the Parquet
/// reader makes every cell of one dictionary value the same view.
fn view_strings<'a>(array: &'a dyn Array, a: &'a arrow_array::StringViewArray) -> Fill<'a> {
    let nulls = array.nulls().cloned();
    let views = a.views();
    Box::new(move |range, out| {
        let mut cache = [(0u128, None::<Span>); CACHE_SLOTS];
        for row in range {
            if is_null(nulls.as_ref(), row) {
                out.spans.push(NULL);
                continue;
            }
            let v = views[row];
            let slot = &mut cache[cache_slot((v >> 64) as u64 ^ v as u64)];
            if let (true, Some(span)) = (slot.0 == v, slot.1) {
                out.spans.push(span);
                continue;
            }
            let span = out.push_str(a.value(row)).map_err(|e| (row, e))?;
            *slot = (v, Some(span));
        }
        Ok(())
    })
}

/// The canonical module's unit for an Arrow time unit.
fn unit(u: TimeUnit) -> canonical::TimeUnit {
    match u {
        TimeUnit::Second => canonical::TimeUnit::Second,
        TimeUnit::Millisecond => canonical::TimeUnit::Millisecond,
        TimeUnit::Microsecond => canonical::TimeUnit::Microsecond,
        TimeUnit::Nanosecond => canonical::TimeUnit::Nanosecond,
    }
}

fn timestamp(
    text: &mut String,
    value: i64,
    u: TimeUnit,
    zone: canonical::Zone,
) -> Result<(), String> {
    canonical::push_timestamp(text, value, unit(u), zone)
}

fn time_of_day(text: &mut String, value: i64, u: TimeUnit) -> Result<(), String> {
    canonical::push_time(text, value, unit(u))
}

/// Decimal text without trailing fractional zeros (and without a bare trailing point).
fn trim_decimal(mut s: String) -> String {
    if s.contains('.') {
        let keep = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(keep);
    }
    if s == "-0" { "0".to_owned() } else { s }
}

/// The [`Fill`] of a column of `array`'s type.
fn writer(array: &dyn Array) -> Result<Fill<'_>, String> {
    Ok(match array.data_type() {
        DataType::Null => Box::new(|range, out| {
            out.spans.extend(range.map(|_| NULL));
            Ok(())
        }),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            strings(array, move |row| a.value(row))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            strings(array, move |row| a.value(row))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            view_strings(array, a)
        }
        DataType::Dictionary(_, _) => {
            // A dictionary not encoded once (see `Column::new`): each cell's value written
            // where it is used.
            let dict = array.as_any_dictionary();
            let keys = dict.normalized_keys();
            let values = writer(dict.values().as_ref())?;
            let nulls = array.nulls().cloned();
            Box::new(move |range, out| {
                for row in range {
                    if is_null(nulls.as_ref(), row) {
                        out.spans.push(NULL);
                    } else {
                        values(keys[row]..keys[row] + 1, out).map_err(|(_, e)| (row, e))?;
                    }
                }
                Ok(())
            })
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            with_nulls(array, move |row, text| {
                text.push_str(if a.value(row) { "true" } else { "false" });
                Ok(())
            })
        }
        DataType::Int8 => int::<Int8Type>(array),
        DataType::Int16 => int::<Int16Type>(array),
        DataType::Int32 => int::<Int32Type>(array),
        DataType::Int64 => int::<Int64Type>(array),
        DataType::UInt8 => int::<UInt8Type>(array),
        DataType::UInt16 => int::<UInt16Type>(array),
        DataType::UInt32 => int::<UInt32Type>(array),
        DataType::UInt64 => int::<UInt64Type>(array),
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            cached(array, a.values(), |v, text| {
                text.push_str(ryu_js::Buffer::new().format(v));
                Ok(())
            })
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            cached(array, a.values(), |v, text| {
                push_f64(text, v);
                Ok(())
            })
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            cached(array, a.values(), |v, text| date(text, i64::from(v)))
        }
        DataType::Date64 => {
            let a = array.as_primitive::<Date64Type>();
            // Arrow's date64 counts milliseconds and requires whole days: a time of day would
            // be dropped by the division, and two files of different values share a root.
            cached(array, a.values(), |v, text| {
                if v % 86_400_000 != 0 {
                    return Err(format!(
                        "date64 value {v} ms is not a whole number of days (Arrow's date64 \
                         holds dates only; a time of day belongs in a timestamp)"
                    ));
                }
                date(text, v / 86_400_000)
            })
        }
        DataType::Timestamp(unit, tz) => {
            // Arrow stores timestamps with a time zone as UTC instants, written with `Z`; naive
            // ones are wall-clock times and get no zone (docs/FORMAT.md).
            let unit = *unit;
            let zone = if tz.is_some() {
                canonical::Zone::Utc
            } else {
                canonical::Zone::Unstated
            };
            let values: &[i64] = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
            };
            cached(array, values, move |v, text| timestamp(text, v, unit, zone))
        }
        DataType::Time32(unit) => {
            let unit = *unit;
            let values: &[i32] = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().values(),
                _ => array.as_primitive::<Time32MillisecondType>().values(),
            };
            cached(array, values, move |v, text| {
                time_of_day(text, i64::from(v), unit)
            })
        }
        DataType::Time64(unit) => {
            let unit = *unit;
            let values: &[i64] = match unit {
                TimeUnit::Microsecond => array.as_primitive::<Time64MicrosecondType>().values(),
                _ => array.as_primitive::<Time64NanosecondType>().values(),
            };
            cached(array, values, move |v, text| time_of_day(text, v, unit))
        }
        DataType::Decimal128(_, _) => {
            let a = array.as_primitive::<Decimal128Type>();
            with_nulls(array, move |row, text| {
                text.push_str(&trim_decimal(a.value_as_string(row)));
                Ok(())
            })
        }
        DataType::Decimal256(_, _) => {
            let a = array.as_primitive::<Decimal256Type>();
            with_nulls(array, move |row, text| {
                text.push_str(&trim_decimal(a.value_as_string(row)));
                Ok(())
            })
        }
        other => {
            return Err(format!(
                "column type {other} is not supported (trialnotary reads text, integer, float, \
                 boolean, decimal, date, time and timestamp columns)"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_text_is_ecmascript() {
        let mut b = ryu_js::Buffer::new();
        assert_eq!(b.format(1.0f64), "1");
        assert_eq!(b.format(4.5f64), "4.5");
        assert_eq!(b.format(0.000025f64), "0.000025");
        assert_eq!(b.format(1e21f64), "1e+21");
        assert_eq!(b.format(-0.0f64), "0");
        assert_eq!(b.format(0.1f32), "0.1");
    }

    proptest::proptest! {
        /// The shortcuts write what ryu_js writes: any double, whole numbers, and values of one
        /// decimal place (as a float column stores 12.3) at every scale.
        #[test]
        fn f64_text_matches_ryu_js(
            bits in proptest::prelude::any::<u64>(),
            whole in proptest::prelude::any::<i64>(),
            tenths in -100_000_000_000i64..100_000_000_000,
            shift in 0u32..60,
            near_limit in (1i64 << 39)..(1i64 << 52),
        ) {
            let scaled = (tenths >> (shift % 40)) as f64 / 10.0;
            let big = near_limit as f64 / 10.0;
            let (hundredths, thousandths) = (tenths as f64 / 100.0, (tenths >> (shift % 40)) as f64 / 1000.0);
            for x in [f64::from_bits(bits), whole as f64, tenths as f64 / 10.0, scaled, big, -big, hundredths, thousandths] {
                let mut text = String::new();
                push_f64(&mut text, x);
                let mut want = ryu_js::Buffer::new();
                proptest::prop_assert_eq!(text.as_str(), want.format(x), "{:e}", x);
            }
        }
    }

    #[test]
    fn f64_text_edges() {
        for (x, want) in [
            (-0.0, "0"),
            (-0.5, "-0.5"),
            (0.1, "0.1"),
            (12.3, "12.3"),
            (1.05, "1.05"),
            (-0.007, "-0.007"),
            (0.0001, "0.0001"),
            (1e21, "1e+21"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            ((1u64 << 53) as f64, "9007199254740992"),
        ] {
            let mut text = String::new();
            push_f64(&mut text, x);
            assert_eq!(text, want, "{x:e}");
        }
    }

    #[test]
    fn temporal_text() {
        let mut t = String::new();
        let utc = canonical::Zone::Utc;
        timestamp(&mut t, 1_700_000_000_123_000, TimeUnit::Microsecond, utc).unwrap();
        assert_eq!(t, "2023-11-14T22:13:20.123Z");
        t.clear();
        timestamp(&mut t, -1, TimeUnit::Second, utc).unwrap();
        assert_eq!(t, "1969-12-31T23:59:59Z");
        t.clear();
        timestamp(&mut t, -1, TimeUnit::Second, canonical::Zone::Unstated).unwrap();
        assert_eq!(t, "1969-12-31T23:59:59");
        t.clear();
        date(&mut t, 19_000).unwrap();
        assert_eq!(t, "2022-01-08");
        t.clear();
        time_of_day(&mut t, 3_723_500, TimeUnit::Millisecond).unwrap();
        assert_eq!(t, "01:02:03.5");
        assert_eq!(trim_decimal("1.50".into()), "1.5");
        assert_eq!(trim_decimal("2.00".into()), "2");
        assert_eq!(trim_decimal("-0.00".into()), "0");
        assert_eq!(trim_decimal("100".into()), "100");
    }
}
