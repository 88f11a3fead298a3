//! CSV reader: RFC 4180 text with a header row giving the column names; every field is text
//! (empty fields are missing values), validated as UTF-8 and named by line and column on error.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::{BATCH_ROWS, Batch, IngestError, RowSource};
use crate::record::{write_string, write_value};

/// Streams a CSV file.
pub struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    columns: Vec<String>,
    record: csv::ByteRecord,
}

impl CsvSource {
    /// Opens the file and reads its header row.
    ///
    /// # Errors
    /// When the file cannot be opened, has no header row, or the header is not UTF-8.
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let file =
            File::open(path).map_err(|e| IngestError::file(path, format!("cannot open: {e}")))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(path, &e))?
            .clone();
        if header.is_empty() {
            return Err(IngestError::at(
                path,
                "line 1",
                "no header row (the file is empty)",
            ));
        }
        let mut columns = Vec::with_capacity(header.len());
        for (i, field) in header.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|e| {
                IngestError::at(
                    path,
                    format!("line 1, column {}", i + 1),
                    format!("header is not valid UTF-8 (byte {})", e.valid_up_to()),
                )
            })?;
            columns.push(name.to_owned());
        }
        Ok(Self {
            path: path.to_owned(),
            reader,
            columns,
            record: csv::ByteRecord::new(),
        })
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> IngestError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => IngestError::at(
            path,
            pos.as_ref()
                .map_or_else(|| "a row".to_owned(), |p| format!("line {}", p.line())),
            format!("row has {len} fields but the header has {expected_len} (ragged row)"),
        ),
        csv::ErrorKind::Io(io) => IngestError::file(path, format!("read error: {io}")),
        _ => IngestError::file(path, format!("invalid CSV: {e}")),
    }
}

impl RowSource for CsvSource {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        batch.clear();
        while batch.len() < BATCH_ROWS {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_error(&self.path, &e))?;
            if !more {
                break;
            }
            batch.buf.push(b'[');
            for (i, field) in self.record.iter().enumerate() {
                if i > 0 {
                    batch.buf.push(b',');
                }
                if field.is_empty() {
                    write_value(&mut batch.buf, None);
                    continue;
                }
                let text = std::str::from_utf8(field).map_err(|e| {
                    let line = self.record.position().map_or(0, |p| p.line());
                    IngestError::at(
                        &self.path,
                        format!("line {line}, column {}", self.columns[i]),
                        format!(
                            "value is not valid UTF-8 (at byte {} of the field); re-export the file as UTF-8",
                            e.valid_up_to()
                        ),
                    )
                })?;
                write_string(&mut batch.buf, text);
            }
            batch.buf.push(b']');
            batch.end_row();
        }
        Ok(!batch.is_empty())
    }
}
