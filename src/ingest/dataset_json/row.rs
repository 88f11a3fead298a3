//! A chunk's rows parsed into canonical `values` arrays: [`parse_rows`] takes a range of rows
//! through the fast path ([`super::fast_row`]) and gives the rows it declines to
//! [`parse_row`], serde_json with a `DeserializeSeed` visitor ([`RowSeed`], [`CellSeed`]) that
//! writes each cell by its column's type or says why the row failed ([`RowFail`]).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, SeqAccess, Visitor};

use super::fast_row::{FAST_GROWTH, fast_row, skip_space};
use super::metadata::DataType;
use super::{Chunk, offset_in, without_position};
use crate::core::record::write_value;
use crate::ingest::canonical::{F64_MAX, push_f64};
use crate::ingest::{Batch, write_plain_value};

/// 2^53: an integral `float` in an `integer` column must be smaller in magnitude. A JSON number
/// with a fraction or exponent is read as a double, as RFC 8785 reads numbers, and from 2^53 on
/// a double no longer names one integer (`9007199254740993.0` reads as 2^53).
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Why a row failed, when serde_json's own message would not name the column.
enum Fail {
    Value { col: usize, message: String },
    Count(usize),
}

/// Why a row failed to parse.
pub(super) enum RowFail {
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

/// Appends the canonical `values` arrays of the rows `range` of `chunk` to the rows of
/// `batch`, whose buffer may hold stale bytes after them (see [`convert_in_parallel`]); on a
/// row that fails, its index and why.
///
/// Rows go through [`fast_row`], which writes through a cursor over the buffer, kept longer than
/// what is written by room for one more row, so that a short value is one fixed-size copy
/// rather than a call to `memcpy` with its length; [`parse_row`] takes the rows it leaves.
///
/// [`convert_in_parallel`]: crate::ingest::convert_in_parallel
pub(super) fn parse_rows(
    types: &[DataType],
    chunk: &Chunk,
    range: std::ops::Range<usize>,
    batch: &mut Batch,
) -> Result<(), (usize, RowFail)> {
    let mut o = std::mem::take(&mut batch.buf);
    let mut pos = batch.rows_end();
    let mut scratch = String::new();
    let mut result = Ok(());
    // Strings need no UTF-8 check when the range is ASCII, which one pass tells.
    let ascii = match (range.start, range.end.checked_sub(1)) {
        (first, Some(last)) if first <= last => {
            let from = if first == 0 { 0 } else { chunk.ends[first - 1] };
            chunk.text[from..chunk.ends[last]].is_ascii()
        }
        _ => true,
    };
    for i in range {
        let start = if i == 0 { 0 } else { chunk.ends[i - 1] };
        let (row, rest) = (chunk.row(i), &chunk.text[start..]);
        // A value's text grows by at most its quotes and a number's digits (`1e20`).
        let room = pos + row.len() + FAST_GROWTH * types.len() + 2 * F64_MAX;
        if o.len() < room {
            o.resize(room, 0);
        }
        let taken = fast_row(types, rest, row.len(), &mut o, pos, ascii)
            .filter(|&(_, row_end)| skip_space(row, row_end) == row.len());
        match taken {
            Some((end, _)) => pos = end,
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

/// Parses the text of one row (a row array, or an NDJSON line) with serde_json, appending its
/// canonical `values` array to `out` (a failed row leaves part of it there).
pub(super) fn parse_row(
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

    /// A JSON integer literal `v` (`as_f64` its double), written by the column's type.
    fn integer<E: de::Error>(
        self,
        v: impl itoa::Integer + fmt::Display,
        as_f64: f64,
    ) -> Result<(), E> {
        self.scratch.clear();
        match self.ty {
            DataType::Integer => self.scratch.push_str(itoa::Buffer::new().format(v)),
            DataType::Float | DataType::Double => push_f64(self.scratch, as_f64),
            _ => return self.wrong(format!("the number {v}")),
        }
        self.number();
        Ok(())
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
        // Rounds to nearest, as parsing the literal as a double would.
        self.integer(v, v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.integer(v, v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scratch.clear();
        match self.ty {
            DataType::Float | DataType::Double => push_f64(self.scratch, v),
            DataType::Integer if v.fract() == 0.0 && v.abs() < MAX_EXACT_INTEGER => {
                // -0.0 becomes 0.
                self.scratch.push_str(itoa::Buffer::new().format(v as i64));
            }
            _ => {
                let mut text = String::new();
                push_f64(&mut text, v);
                let why = match self.ty {
                    DataType::Integer if v.fract() == 0.0 => {
                        " (±2^53 or beyond, written with a fraction or exponent)"
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
