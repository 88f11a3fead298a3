//! Canonical text of Arrow values, shared by the Parquet and Arrow IPC readers: strings as they
//! are, integers in decimal, floats as ECMAScript `Number::toString`, booleans `true`/`false`,
//! dates `YYYY-MM-DD`, timestamps RFC 3339 in UTC, decimals without trailing zeros.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use super::canonical::{self, push_date as date, push_f64};
use super::{Batch, IngestError};
use crate::core::record::write_value;
use crate::ingest::write_plain_value;

/// Writes one cell (null check included) as a record value.
type CellWriter<'a> = Box<dyn Fn(usize, &mut Vec<u8>, &mut String) -> Result<(), String> + 'a>;

/// Appends every row of `rb` to `batch` as canonical `values` arrays. `first_row` is the row
/// number of the batch's first row in the file, for error messages.
///
/// # Errors
/// An unsupported column type or an out-of-range date, naming the file, row and column.
pub fn append_batch(
    path: &Path,
    rb: &RecordBatch,
    first_row: u64,
    batch: &mut Batch,
) -> Result<(), IngestError> {
    let schema = rb.schema();
    let writers = rb
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(col, field)| {
            Column::new(col.as_ref())
                .map_err(|e| IngestError::at(path, format!("column {}", field.name()), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut text = String::new();
    for row in 0..rb.num_rows() {
        batch.buf.push(b'[');
        for (c, w) in writers.iter().enumerate() {
            if c > 0 {
                batch.buf.push(b',');
            }
            w.write(row, &mut batch.buf, &mut text).map_err(|e| {
                IngestError::at(
                    path,
                    format!(
                        "row {}, column {}",
                        first_row + row as u64,
                        schema.field(c).name()
                    ),
                    e,
                )
            })?;
        }
        batch.buf.push(b']');
        batch.end_row();
    }
    Ok(())
}

/// Converts a record batch into canonical values batches on all cores: the rows are cut into
/// slices (zero-copy) converted in parallel; the batches come back in row order.
///
/// # Errors
/// As [`append_batch`]; the first error in row order.
pub fn convert_parallel(
    path: &Path,
    rb: &RecordBatch,
    first_row: u64,
) -> Result<Vec<Batch>, IngestError> {
    use rayon::prelude::*;
    let rows = rb.num_rows();
    let pieces = (rayon::current_num_threads() * 2).clamp(1, rows.max(1).div_ceil(1024));
    let per = rows.div_ceil(pieces).max(1);
    (0..rows.div_ceil(per))
        .into_par_iter()
        .map(|k| {
            let start = k * per;
            let slice = rb.slice(start, per.min(rows - start));
            let mut batch = Batch::default();
            batch
                .buf
                .reserve(slice.get_array_memory_size() / 2 + 64 * slice.num_rows());
            append_batch(path, &slice, first_row + start as u64, &mut batch)?;
            Ok(batch)
        })
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
            if let Some(b) = self.ready.pop_front() {
                *batch = b;
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
            self.ready
                .extend(convert_parallel(&self.path, &rb, self.row)?);
            self.row += rb.num_rows() as u64;
        }
    }
}

/// Column names of a schema.
pub fn column_names(schema: &arrow_schema::Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// How the cells of one column are written.
enum Column<'a> {
    /// A dictionary whose values are encoded once ([`encode_dictionary`]): each cell is copied
    /// by key, inline in the row loop, without a call through a trait object.
    Dictionary {
        keys: Vec<usize>,
        nulls: Option<arrow_buffer::NullBuffer>,
        blob: Vec<u8>,
        ends: Vec<usize>,
    },
    /// Any column, through its [`writer`].
    Cells(CellWriter<'a>),
}

impl<'a> Column<'a> {
    fn new(array: &'a dyn Array) -> Result<Self, String> {
        if let DataType::Dictionary(_, _) = array.data_type() {
            let dict = array.as_any_dictionary();
            let values = writer(dict.values().as_ref())?;
            if let Some((blob, ends)) = encode_dictionary(&values, dict.values().len(), array.len())
            {
                return Ok(Self::Dictionary {
                    keys: dict.normalized_keys(),
                    nulls: array.nulls().cloned(),
                    blob,
                    ends,
                });
            }
        }
        writer(array).map(Self::Cells)
    }

    /// Appends the cell of `row` to `out`.
    #[inline]
    fn write(&self, row: usize, out: &mut Vec<u8>, text: &mut String) -> Result<(), String> {
        match self {
            Self::Dictionary {
                keys,
                nulls,
                blob,
                ends,
            } => {
                if is_null(nulls.as_ref(), row) {
                    write_value(out, None);
                } else {
                    let k = keys[row];
                    let start = if k == 0 { 0 } else { ends[k - 1] };
                    append_padded(out, blob, start, ends[k]);
                }
                Ok(())
            }
            Self::Cells(w) => w(row, out, text),
        }
    }
}

/// Whether `row` is null in the validity buffer `nulls` (taken once per array, not looked up
/// through `dyn Array` for every cell).
fn is_null(nulls: Option<&arrow_buffer::NullBuffer>, row: usize) -> bool {
    nulls.is_some_and(|n| n.is_null(row))
}

/// A writer of a column whose cells `f` writes as text that is never empty and never needs
/// escaping (numbers, booleans, dates and times), so it is copied without a check.
fn with_nulls<'a>(
    array: &'a dyn Array,
    f: impl Fn(usize, &mut String) -> Result<(), String> + 'a,
) -> CellWriter<'a> {
    let nulls = array.nulls().cloned();
    Box::new(move |row, out, text| {
        if is_null(nulls.as_ref(), row) {
            write_value(out, None);
            return Ok(());
        }
        text.clear();
        f(row, text)?;
        write_plain_value(out, text.as_bytes());
        Ok(())
    })
}

fn int<'a, T>(array: &'a dyn Array) -> CellWriter<'a>
where
    T: ArrowPrimitiveType,
    T::Native: itoa::Integer,
{
    let a = array.as_primitive::<T>();
    with_nulls(array, move |row, text| {
        text.push_str(itoa::Buffer::new().format(a.value(row)));
        Ok(())
    })
}

fn float<'a, T>(array: &'a dyn Array) -> CellWriter<'a>
where
    T: ArrowPrimitiveType,
    T::Native: ryu_js::Float,
{
    let a = array.as_primitive::<T>();
    with_nulls(array, move |row, text| {
        text.push_str(ryu_js::Buffer::new().format(a.value(row)));
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

/// Each of a dictionary's `n` values encoded once (the bytes, and the end of each value in them),
/// so that rows copy them instead of encoding each again. Only when the dictionary is no larger
/// than the `rows` that use it (else encoding it could cost more than the rows) and every value
/// encodes (else the per-row path reports the row that holds a bad one).
fn encode_dictionary(
    values: &CellWriter<'_>,
    n: usize,
    rows: usize,
) -> Option<(Vec<u8>, Vec<usize>)> {
    if n > rows {
        return None;
    }
    let (mut blob, mut ends, mut text) = (Vec::new(), Vec::with_capacity(n), String::new());
    for v in 0..n {
        values(v, &mut blob, &mut text).ok()?;
        ends.push(blob.len());
    }
    blob.extend_from_slice(&[0; PAD]);
    Some((blob, ends))
}

/// Bytes after the last value of an encoded dictionary, so that [`append_padded`] may read a
/// fixed `PAD` bytes from any value's start.
const PAD: usize = 32;

/// Appends `blob[start..end]`, where `blob` has [`PAD`] bytes to spare after `end`: a short value
/// is one fixed-size copy, the surplus cut off again, instead of a call to `memcpy`.
fn append_padded(out: &mut Vec<u8>, blob: &[u8], start: usize, end: usize) {
    let len = end - start;
    match blob.get(start..start + PAD) {
        Some(window) if len <= PAD => {
            let before = out.len();
            out.extend_from_slice(window);
            out.truncate(before + len);
        }
        _ => out.extend_from_slice(&blob[start..end]),
    }
}

fn writer(array: &dyn Array) -> Result<CellWriter<'_>, String> {
    let nulls = array.nulls().cloned();
    Ok(match array.data_type() {
        DataType::Null => Box::new(|_, out, _| {
            write_value(out, None);
            Ok(())
        }),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Box::new(move |row, out, _| {
                write_value(out, (!is_null(nulls.as_ref(), row)).then(|| a.value(row)));
                Ok(())
            })
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Box::new(move |row, out, _| {
                write_value(out, (!is_null(nulls.as_ref(), row)).then(|| a.value(row)));
                Ok(())
            })
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Box::new(move |row, out, _| {
                write_value(out, (!is_null(nulls.as_ref(), row)).then(|| a.value(row)));
                Ok(())
            })
        }
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let keys = dict.normalized_keys();
            let values = writer(dict.values().as_ref())?;
            Box::new(move |row, out, text| {
                if is_null(nulls.as_ref(), row) {
                    write_value(out, None);
                    return Ok(());
                }
                values(keys[row], out, text)
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
        DataType::Float32 => float::<Float32Type>(array),
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            with_nulls(array, move |row, text| {
                push_f64(text, a.value(row));
                Ok(())
            })
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            with_nulls(array, move |row, text| date(text, i64::from(a.value(row))))
        }
        DataType::Date64 => {
            let a = array.as_primitive::<Date64Type>();
            with_nulls(array, move |row, text| {
                date(text, a.value(row).div_euclid(86_400_000))
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
            let values: Box<dyn Fn(usize) -> i64> = match unit {
                TimeUnit::Second => {
                    let a = array.as_primitive::<TimestampSecondType>();
                    Box::new(move |r| a.value(r))
                }
                TimeUnit::Millisecond => {
                    let a = array.as_primitive::<TimestampMillisecondType>();
                    Box::new(move |r| a.value(r))
                }
                TimeUnit::Microsecond => {
                    let a = array.as_primitive::<TimestampMicrosecondType>();
                    Box::new(move |r| a.value(r))
                }
                TimeUnit::Nanosecond => {
                    let a = array.as_primitive::<TimestampNanosecondType>();
                    Box::new(move |r| a.value(r))
                }
            };
            with_nulls(array, move |row, text| {
                timestamp(text, values(row), unit, zone)
            })
        }
        DataType::Time32(unit) => {
            let unit = *unit;
            let values: Box<dyn Fn(usize) -> i64> = match unit {
                TimeUnit::Second => {
                    let a = array.as_primitive::<Time32SecondType>();
                    Box::new(move |r| i64::from(a.value(r)))
                }
                _ => {
                    let a = array.as_primitive::<Time32MillisecondType>();
                    Box::new(move |r| i64::from(a.value(r)))
                }
            };
            with_nulls(array, move |row, text| time_of_day(text, values(row), unit))
        }
        DataType::Time64(unit) => {
            let unit = *unit;
            let values: Box<dyn Fn(usize) -> i64> = match unit {
                TimeUnit::Microsecond => {
                    let a = array.as_primitive::<Time64MicrosecondType>();
                    Box::new(move |r| a.value(r))
                }
                _ => {
                    let a = array.as_primitive::<Time64NanosecondType>();
                    Box::new(move |r| a.value(r))
                }
            };
            with_nulls(array, move |row, text| time_of_day(text, values(row), unit))
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
