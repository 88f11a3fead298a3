//! The path for pieces the one-pass encoder declines, and where errors get their line and column:
//! lines with no quote and no stray `\r` are split on commas directly ([`simple_line`]); from the
//! first that has one, the rest of the piece is read by the csv crate's full RFC 4180 state
//! machine ([`read_with_csv`]). Also the csv crate's errors turned into the reader's
//! ([`csv_error`]), for the header row.

use std::io::Read;
use std::path::Path;

use super::boundary;
use crate::core::record::{write_string, write_value};
use crate::ingest::write_plain_value;
use crate::ingest::{Batch, IngestError};

/// Encodes one line that has no quotes: fields are the text between commas.
pub(super) fn simple_line(line: &[u8], width: usize, batch: &mut Batch) -> Result<(), String> {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => {
            // The field count is checked first, as on the csv crate's path: a ragged row is
            // reported as ragged whichever path reads it.
            let count = memchr::memchr_iter(b',', line).count() + 1;
            if count != width {
                return Err(format!(
                    "row has {count} fields but the header has {width} (ragged row)"
                ));
            }
            let valid = &line[..e.valid_up_to()];
            let column = valid.iter().filter(|&&b| b == b',').count();
            let field_start = valid.iter().rposition(|&b| b == b',').map_or(0, |i| i + 1);
            return Err(format!(
                "{column}\u{0}value is not valid UTF-8 (at byte {} of the field); re-export the file as UTF-8",
                e.valid_up_to() - field_start
            ));
        }
    };
    let plain = !line.iter().any(|&b| b < 0x20 || b == b'\\');
    batch.buf.push(b'[');
    let mut count = 0;
    let mut from = 0;
    // Commas are ASCII, so every cut is on a character boundary of `text`.
    let ends = memchr::memchr_iter(b',', line).chain(std::iter::once(line.len()));
    for to in ends {
        let field = text.get(from..to).unwrap_or_default();
        from = to + 1;
        if count > 0 {
            batch.buf.push(b',');
        }
        count += 1;
        if plain {
            write_plain_value(&mut batch.buf, field.as_bytes());
        } else {
            write_value(&mut batch.buf, Some(field));
        }
    }
    if count != width {
        batch.discard_partial();
        return Err(format!(
            "row has {count} fields but the header has {width} (ragged row)"
        ));
    }
    batch.buf.push(b']');
    batch.end_row();
    Ok(())
}

/// The error of a file that ends inside a quoted field, at the line of the record it opened in.
pub(super) const UNCLOSED_QUOTE: &str =
    "a quoted field opened in this row is never closed: the file ends inside it";

/// The line of a csv position within `rest`. The csv crate places a record just after the one
/// before it, before any line ends and blank lines it skipped (after `\r\n`, at the `\n`), so
/// those are stepped over and lines counted from the bytes. Used on errors only.
fn line_at(rest: &[u8], first_line: u64, position: Option<&csv::Position>) -> u64 {
    let mut b = position.map_or(0, |p| p.byte() as usize).min(rest.len());
    while matches!(rest.get(b), Some(b'\n' | b'\r')) {
        b += 1;
    }
    first_line + memchr::memchr_iter(b'\n', &rest[..b]).count() as u64
}

/// Parses `rest` (whole records) with the csv crate, appending to `batch`; `first_line` is the
/// line number of `rest` within its piece.
#[cfg(test)]
pub(super) fn parse_with_csv(
    rest: &[u8],
    width: usize,
    first_line: u64,
    batch: Batch,
) -> Result<Batch, (u64, String)> {
    read_with_csv(rest, width, first_line, batch, false).0
}

/// `parse_with_csv` (the tests' entry), also returning where in `rest` the last record read starts (0 when
/// there is none): what is left to check for a record boundary at the end. `at_end`: the file
/// ends with `rest`, so a last record that ends inside a quoted field is refused
/// ([`UNCLOSED_QUOTE`]), before anything else is said of it.
pub(super) fn read_with_csv(
    rest: &[u8],
    width: usize,
    first_line: u64,
    mut batch: Batch,
    at_end: bool,
) -> (Result<Batch, (u64, String)>, usize) {
    // `rest` starts a record in the middle of the file: a byte order mark there is text.
    let (first, then) = rest.split_at(boundary::first_input(rest, true).len());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(first.chain(then));
    let mut record = csv::ByteRecord::new();
    let mut last = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = line_at(rest, first_line, e.position());
                return (Err((line, format!("invalid CSV: {e}"))), last);
            }
        }
        last = record
            .position()
            .map_or(0, |p| p.byte() as usize)
            .min(rest.len());
        let line = || line_at(rest, first_line, record.position());
        if at_end
            && reader.position().byte() as usize >= rest.len()
            && boundary::ends_inside_quotes(&rest[last..], true)
        {
            return (Err((line(), UNCLOSED_QUOTE.into())), last);
        }
        if record.len() != width {
            // A blank line at the end of a file is not a record.
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            let message = format!(
                "row has {} fields but the header has {width} (ragged row)",
                record.len()
            );
            return (Err((line(), message)), last);
        }
        let text = match validate_utf8(&record) {
            Ok(text) => text,
            Err(e) => return (Err((line(), e)), last),
        };
        batch.buf.push(b'[');
        for i in 0..record.len() {
            if i > 0 {
                batch.buf.push(b',');
            }
            // validate_utf8 guarantees every field range is on character boundaries.
            let field = record
                .range(i)
                .and_then(|r| text.get(r))
                .unwrap_or_default();
            if field.is_empty() {
                write_value(&mut batch.buf, None);
            } else {
                write_string(&mut batch.buf, field);
            }
        }
        batch.buf.push(b']');
        batch.end_row();
    }
    (Ok(batch), last)
}

/// Checks that every field is UTF-8 with one pass over the record and returns the record's
/// text: the concatenation must be valid and no field may start with a continuation byte (else a
/// character would straddle two fields). On error, names the field.
fn validate_utf8(record: &csv::ByteRecord) -> Result<&str, String> {
    if let Ok(text) = std::str::from_utf8(record.as_slice())
        && record
            .iter()
            .all(|f| f.first().is_none_or(|&b| (b as i8) >= -0x40))
    {
        return Ok(text);
    }
    for (i, field) in record.iter().enumerate() {
        if let Err(e) = std::str::from_utf8(field) {
            return Err(format!(
                "{i}\u{0}value is not valid UTF-8 (at byte {} of the field); re-export the file as UTF-8",
                e.valid_up_to()
            ));
        }
    }
    Err("0\u{0}a multi-byte character is split across two fields".into())
}

pub(super) fn csv_error(path: &Path, e: &csv::Error) -> IngestError {
    match e.kind() {
        csv::ErrorKind::Io(io) => IngestError::file(path, format!("read error: {io}")),
        _ => {
            let line = e.position().map_or(1, |p| p.line());
            IngestError::at(path, format!("line {line}"), format!("invalid CSV: {e}"))
        }
    }
}
