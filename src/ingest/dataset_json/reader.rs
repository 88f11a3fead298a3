//! The reader thread: [`run`] fills chunks until the end, an error or a stop, and [`Reader`]
//! frames the rows that go into them: past the metadata, it walks the `rows` array (`.json`)
//! or the lines (NDJSON), finds where each row's text ends, checks what lies between rows and,
//! at the end, `records` against the rows read.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use super::input::{Input, Stop};
use super::metadata::DataType;
use super::{CHUNK_ROWS, Chunk, End, found, io_error};
use crate::ingest::IngestError;

/// A reader thread (of NDJSON, `.dsjc` and metadata-only files, and of `.json` from where
/// its blocks stop): fills chunks until the end, an error or `stop`.
pub(super) fn run(
    mut reader: Reader,
    tx: &SyncSender<Chunk>,
    spare: &Receiver<Chunk>,
    stop: &AtomicBool,
) {
    loop {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let mut chunk = spare.try_recv().unwrap_or_default();
        reader.next_chunk(&mut chunk);
        let last = !matches!(chunk.end, End::More);
        if tx.send(chunk).is_err() || last {
            return;
        }
    }
}

/// Where the rows are.
pub(super) enum State {
    /// Inside `rows` (`.json`) or at the start of a line (NDJSON).
    Rows {
        first: bool,
    },
    /// Past the last row: the end checks remain.
    End,
    Finished,
}

/// Parses one file; owned by the reader thread after the metadata.
pub(super) struct Reader {
    pub(super) path: PathBuf,
    pub(super) input: Input,
    pub(super) ndjson: bool,
    pub(super) names: Vec<String>,
    pub(super) types: Vec<DataType>,
    pub(super) records: u64,
    /// Rows read so far: the number of the next row.
    pub(super) row: u64,
    /// NDJSON line of the next row, from 1.
    pub(super) line: u64,
    pub(super) state: State,
    /// [`CHUNK_BYTES`](super::CHUNK_BYTES), but in tests.
    pub(super) chunk_bytes: usize,
}

impl Reader {
    /// Fills `chunk` with the next rows and what follows them. A panic (a bug: no input should
    /// cause one) becomes an error, as `ingest::open` does for the caller's thread.
    pub(super) fn next_chunk(&mut self, chunk: &mut Chunk) {
        chunk.clear();
        chunk.first_row = self.row;
        chunk.first_line = self.line;
        let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.fill(chunk)));
        chunk.end = match filled {
            Ok(Ok(true)) => End::More,
            Ok(Ok(false)) => End::Done,
            Ok(Err(e)) => End::Failed(e),
            Err(panic) => {
                let what = crate::ingest::panic_message(&*panic);
                End::Failed(IngestError::file(
                    &self.path,
                    format!("internal error: the Dataset-JSON reader panicked ({what})"),
                ))
            }
        };
    }

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
