//! CSV reader: RFC 4180 text with a header row giving the column names; every field is text
//! (empty fields are missing values), validated as UTF-8 and named by line and column on error.
//!
//! Large files are parsed on all cores: the file is read in blocks, each block is cut into
//! pieces at newlines that lie outside quoted fields, and the pieces are parsed in parallel: in
//! one pass over separator bit masks when the quoting is simple, by the csv crate otherwise.
//! Rows come out in file order, the same rows and errors as one csv reader reading the file
//! from start to end, whatever the number of threads or the block size.
//!
//! Where to cut is first guessed from quote parity (an even number of `"` since the block's
//! start), which is exact for RFC 4180, where a literal quote is written twice. A quote inside
//! an unquoted field (`5'1"`) is literal to the csv crate and shifts the parity, so every piece
//! also proves that it ends where the csv crate ends a record ([`boundary`]); from the first
//! piece that does not, the rest of the block is read sequentially with csv-core to find the
//! record ends, and cut there.

mod boundary;
#[cfg(test)]
mod whole_file_tests;

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Batch, IngestError, RowSource};

use crate::core::record::{write_plain_value, write_string, write_value};
use boundary::RecordEnds;

/// Bytes read per block; a block is split into pieces parsed in parallel.
pub(super) const BLOCK: usize = 16 << 20;

/// Most bytes read first for the header row (twice as many each time until it ends).
const HEADER_READ: usize = 64 << 10;

/// Used batches kept for reuse: enough for the pieces of one block.
const MAX_SPARE: usize = 64;

/// Streams a CSV file.
pub struct CsvSource {
    path: PathBuf,
    file: File,
    /// Bytes read per block.
    block: usize,
    /// Bytes read from `file` so far, header included.
    bytes_read: u64,
    columns: Vec<String>,
    /// Bytes read but not yet parsed: always starts at a record boundary.
    buf: Vec<u8>,
    /// 1-based line number of the first line in `buf`.
    line: u64,
    eof: bool,
    /// A sequential reading of `buf` that found no record end yet: it goes on when more is read.
    scan: Option<RecordEnds>,
    ready: VecDeque<Batch>,
    /// Batches handed back by the caller, reused so that each piece does not fault in and zero
    /// fresh megabytes.
    spare: Vec<Batch>,
}

impl CsvSource {
    /// Reads the header row of `file`, open at `path` and not read from yet; the rows are read
    /// from the same handle, `block` bytes at a time ([`BLOCK`]; tests cut small files in many
    /// places with small blocks).
    ///
    /// # Errors
    /// When the file cannot be read, has no header row, or the header is not UTF-8.
    pub fn new(path: &Path, file: File, block: usize) -> Result<Self, IngestError> {
        let mut source = Self {
            path: path.to_owned(),
            file,
            block: block.max(1),
            bytes_read: 0,
            columns: Vec::new(),
            buf: Vec::new(),
            line: 1,
            eof: false,
            scan: None,
            ready: VecDeque::new(),
            spare: Vec::new(),
        };
        let (header, header_end, header_lines) = source.read_header()?;
        let header = match header {
            Some(h) if !h.is_empty() => h,
            _ => {
                return Err(IngestError::at(
                    path,
                    "line 1",
                    "no header row (the file is empty)",
                ));
            }
        };
        for (i, field) in header.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|e| {
                IngestError::at(
                    path,
                    format!("line 1, column {}", i + 1),
                    format!("header is not valid UTF-8 (byte {})", e.valid_up_to()),
                )
            })?;
            source.columns.push(name.to_owned());
        }
        source.buf.drain(..header_end);
        source.line = 1 + header_lines;
        Ok(source)
    }

    /// Reads until the buffer holds the header row and returns it (`None` in an empty file),
    /// with the offset where it ends and the lines it takes. The csv reader strips a UTF-8 byte
    /// order mark and reports where the header ended: past its line end, before the next
    /// record, in a buffer that goes on past that (or holds the whole file).
    fn read_header(&mut self) -> Result<(Option<csv::ByteRecord>, usize, u64), IngestError> {
        let mut want = HEADER_READ.min(self.block);
        loop {
            self.read_more(want - self.buf.len())?;
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(self.buf.as_slice());
            let mut header = csv::ByteRecord::new();
            let found = reader
                .read_byte_record(&mut header)
                .map_err(|e| csv_error(&self.path, &e))?;
            let end = reader.position().byte() as usize;
            if self.eof || end < self.buf.len() {
                let lines = reader.position().line() - 1;
                return Ok((found.then_some(header), end, lines));
            }
            if self.buf.len() > super::MAX_RECORD_BYTES {
                return Err(IngestError::at(
                    &self.path,
                    "line 1",
                    "a header row larger than 256 MiB (is a closing quote missing?)",
                ));
            }
            want = 2 * self.buf.len();
        }
    }

    /// Appends up to `limit` bytes of the file to the buffer; fewer means the file has ended.
    fn read_more(&mut self, limit: usize) -> Result<(), IngestError> {
        // read_to_end fills spare capacity without zeroing it first.
        self.buf.reserve(limit);
        let n = (&mut self.file)
            .take(limit as u64)
            .read_to_end(&mut self.buf)
            .map_err(|e| IngestError::file(&self.path, format!("read error: {e}")))?;
        self.bytes_read += n as u64;
        if n < limit {
            self.eof = true;
        }
        Ok(())
    }

    /// Reads blocks and parses them until a batch is ready or the file has ended.
    fn fill(&mut self) -> Result<(), IngestError> {
        while self.ready.is_empty() && !(self.eof && self.buf.is_empty()) {
            if !self.eof {
                self.read_more(self.block)?;
            }
            let done = self.parse_buffered()?;
            if done == 0 {
                // No record ends in the buffer (the end of the file would be one): one record
                // longer than the buffer. Read more before parsing.
                if self.buf.len() > super::MAX_RECORD_BYTES {
                    return Err(IngestError::at(
                        &self.path,
                        format!("line {}", self.line),
                        "a record larger than 256 MiB (is a closing quote missing?)",
                    ));
                }
                continue;
            }
            self.buf.drain(..done);
            if let Some(scan) = &mut self.scan {
                scan.rebase(done);
            }
        }
        Ok(())
    }

    /// Parses the whole records at the start of the buffer into `ready`, in order, and returns
    /// how many bytes they take.
    ///
    /// First the pieces are cut where quote parity says records end; they are kept in order
    /// while each ends where csv-core ends a record. From the first that does not (or when
    /// parity finds no record end at all) the buffer is read sequentially with csv-core and cut
    /// at the record ends it finds.
    fn parse_buffered(&mut self) -> Result<usize, IngestError> {
        let n = rayon::current_num_threads() * 4;
        let file_end = self.eof.then_some(self.buf.len());
        let mut scan = match self.scan.take() {
            Some(scan) => scan,
            None => {
                // Without a quote anywhere, every newline ends a record: no parity to track.
                let quoted = memchr::memchr(b'"', &self.buf).is_some();
                let end = if self.eof {
                    Some(self.buf.len())
                } else if quoted {
                    last_record_end(&self.buf)
                } else {
                    memchr::memrchr(b'\n', &self.buf).map(|i| i + 1)
                };
                let start = match end {
                    Some(end) => {
                        let points = split_points(&self.buf[..end], n, quoted);
                        match self.parse_pieces(&points, false)? {
                            None => return Ok(end),
                            Some(k) => points[k],
                        }
                    }
                    None => 0,
                };
                RecordEnds::new(start)
            }
        };
        scan.read(&self.buf);
        let Some(points) = scan.points(n, file_end) else {
            // Kept to read on from where it stopped once more is read.
            let start = scan.start();
            self.scan = Some(scan);
            return Ok(start);
        };
        // Cut at record ends, every piece is exact: none can stop the walk.
        self.parse_pieces(&points, true)?;
        Ok(points[points.len() - 1])
    }

    /// Parses the pieces between consecutive `points` on all cores and takes their rows into
    /// `ready` in order, while each piece ends where csv-core ends a record (`known`: the points
    /// are such ends); returns the first piece that does not, whose rows and those of the pieces
    /// after it are dropped. A piece starts at a record boundary because the one before it ended
    /// at one, so its rows and its first error are those of a sequential reading.
    fn parse_pieces(
        &mut self,
        points: &[usize],
        known: bool,
    ) -> Result<Option<usize>, IngestError> {
        let width = self.columns.len();
        let file_end = self.eof.then_some(self.buf.len());
        let mut batches: Vec<Batch> = (1..points.len())
            .map(|_| self.spare.pop().unwrap_or_default())
            .collect();
        let buf = &self.buf;
        // Each piece also counts its lines, on its own core, for the line numbers of errors.
        let parsed: Vec<(Parsed, u64)> = points
            .par_windows(2)
            .zip(batches.par_drain(..))
            .map(|(w, batch)| {
                let piece = &buf[w[0]..w[1]];
                // The end of the file ends every record.
                let check = !known && file_end != Some(w[1]);
                let lines = memchr::memchr_iter(b'\n', piece).count() as u64;
                (parse_piece_checked(piece, width, batch, check), lines)
            })
            .collect();
        let mut parsed = parsed.into_iter().enumerate();
        while let Some((k, (piece, lines))) = parsed.next() {
            if !piece.exact {
                let rows = std::iter::once(piece.rows).chain(parsed.map(|(_, (p, _))| p.rows));
                for batch in rows.flatten() {
                    self.recycle(batch);
                }
                return Ok(Some(k));
            }
            match piece.rows {
                Ok(batch) if batch.is_empty() => self.recycle(batch),
                Ok(batch) => self.ready.push_back(batch),
                Err((local_line, message)) => return Err(self.error_at(local_line, message)),
            }
            self.line += lines;
        }
        Ok(None)
    }

    /// Keeps a batch for reuse.
    fn recycle(&mut self, batch: Batch) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(batch);
        }
    }

    /// The error of a piece starting at line `self.line`: `local_line` within the piece, and the
    /// message, with the column index before a NUL when there is one.
    fn error_at(&self, local_line: u64, message: String) -> IngestError {
        let line = self.line + local_line - 1;
        let (at, message) = match message.split_once('\u{0}') {
            Some((index, m)) => {
                let column = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.columns.get(i))
                    .map_or(index, String::as_str);
                (format!("line {line}, column {column}"), m.to_owned())
            }
            None => (format!("line {line}"), message),
        };
        IngestError::at(&self.path, at, message)
    }
}

fn count_quotes(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'"', bytes).count()
}

/// End (exclusive) of the last complete record in `buf`: just past the last newline outside
/// quotes. `None` when there is none.
fn last_record_end(buf: &[u8]) -> Option<usize> {
    let mut odd_total = count_quotes(buf) % 2 == 1;
    let mut search_end = buf.len();
    let mut after = buf.len();
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..search_end]) {
        // Quotes between this newline and the previous candidate flip the parity back.
        odd_total ^= count_quotes(&buf[nl + 1..after]) % 2 == 1;
        after = nl + 1;
        if !odd_total {
            return Some(nl + 1);
        }
        search_end = nl;
    }
    None
}

/// Cuts `buf` (whole records) into about `n` pieces at newlines outside quotes (at any newline
/// when `quoted` is false: `buf` has no quote); returns the boundaries, starting with 0 and
/// ending with `buf.len()`.
fn split_points(buf: &[u8], n: usize, quoted: bool) -> Vec<usize> {
    let mut points = vec![0];
    let mut pos = 0;
    let mut odd = false;
    for k in 1..n {
        let target = buf.len() * k / n;
        if target <= pos {
            continue;
        }
        if !quoted {
            match memchr::memchr(b'\n', &buf[target..]) {
                Some(i) => {
                    pos = target + i + 1;
                    points.push(pos);
                    continue;
                }
                None => break,
            }
        }
        odd ^= count_quotes(&buf[pos..target]) % 2 == 1;
        pos = target;
        while let Some(i) = memchr::memchr(b'\n', &buf[pos..]) {
            odd ^= count_quotes(&buf[pos..pos + i]) % 2 == 1;
            pos += i + 1;
            if !odd {
                points.push(pos);
                break;
            }
        }
        if pos >= buf.len() {
            break;
        }
    }
    if *points.last().unwrap_or(&0) != buf.len() {
        points.push(buf.len());
    }
    points
}

/// [`parse_piece_checked`] without the check: what the tests compare with the csv crate.
#[cfg(test)]
fn parse_piece(piece: &[u8], width: usize, batch: Batch) -> Result<Batch, (u64, String)> {
    parse_piece_checked(piece, width, batch, false).rows
}

/// What parsing a piece gave.
struct Parsed {
    /// Its rows, or its first error.
    rows: Result<Batch, (u64, String)>,
    /// Whether the piece ends where csv-core, reading from the piece's start, ends a record
    /// (always true when not checked): then its rows and its first error are those of the
    /// sequential reading.
    exact: bool,
}

/// Parses whole records into canonical values arrays. Errors carry the 1-based line within the
/// piece and the message, with the column index before a NUL when there is one.
///
/// A piece with no `\\`, no control character but line ends, and no quote but around whole fields
/// that hold no line end (doubled quotes inside allowed: most SDTM exports, quoted or not) is
/// encoded in one pass over its separators ([`encode_plain`]). Otherwise lines without `"` or a
/// stray `\r` are split on commas directly; from the first line that has one, the rest of the piece goes
/// through the csv crate's full RFC 4180 state machine. Property tests check both fast paths
/// against the csv crate alone.
///
/// With `check`, also tells whether the piece ends at a record boundary. The one-pass path
/// accepts only quotes that csv-core reads as parity does, and ends outside quotes; a line with
/// no quote and no `\r` ends its record: both prove themselves. The rest, read by the csv crate,
/// ends at a boundary when its last record, read again by csv-core, does: the records before it
/// ended at line ends csv-core found.
///
/// `batch` may be a used one: its rows are dropped, its bytes kept for [`encode_plain`] to
/// overwrite.
fn parse_piece_checked(piece: &[u8], width: usize, mut batch: Batch, check: bool) -> Parsed {
    let done = |rows, exact| Parsed { rows, exact };
    batch.ends.clear();
    if std::str::from_utf8(piece).is_ok() && encode_plain(piece, width, &mut batch) {
        return done(Ok(batch), true);
    }
    // Not plain, or a ragged row: line by line, which names the line.
    batch.clear();
    let mut pos = 0;
    let mut line_no = 1u64;
    while pos < piece.len() {
        let rest = &piece[pos..];
        let nl = memchr::memchr(b'\n', rest);
        let mut line = &rest[..nl.unwrap_or(rest.len())];
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        if memchr::memchr2(b'"', b'\r', line).is_some() {
            let (rows, last) = read_with_csv(rest, width, line_no, batch);
            return done(rows, !check || boundary::ends_at_boundary(&rest[last..]));
        }
        pos += nl.map_or(rest.len(), |i| i + 1);
        if !line.is_empty()
            && let Err(m) = simple_line(line, width, &mut batch)
        {
            return done(Err((line_no, m)), true);
        }
        line_no += 1;
    }
    done(Ok(batch), true)
}

/// Masks of one chunk of up to 64 bytes (bit `i` for byte `i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Masks {
    /// `,` and `\n` outside quotes.
    separators: u64,
    /// `\n` outside quotes.
    newlines: u64,
    /// The first `"` of each doubled `""` inside a quoted field: a literal quote, which JSON
    /// writes `\"`.
    escapes: u64,
}

/// What [`separator_masks`] carries from one chunk of a piece to the next.
#[derive(Clone, Copy, Debug)]
struct Scan {
    /// Whether the chunk starts inside a quoted field.
    quoted: bool,
    /// Whether the byte before the chunk ends a field (a `,` or `\n`, or the piece starts there).
    field_start: bool,
    /// Whether the byte before the chunk is the first quote of a doubled `""`.
    escape: bool,
}

impl Scan {
    /// The state at the start of a piece (pieces start at record boundaries).
    const START: Self = Self {
        quoted: false,
        field_start: true,
        escape: false,
    };
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

/// The [`Masks`] of up to 64 bytes, or `None` when the chunk has a byte that takes the piece off
/// the plain path: `\\`, a control character other than a line end, a line end inside quotes, a
/// `\r` not followed by `\n` (`next` is the byte after the chunk, `None` at the piece's end),
/// or a quote other than one opening a field, one closing it right before a `,` or line end, or
/// a doubled `""` inside a quoted field. Quoted regions are found as in simdjson, by a prefix XOR
/// of the quote mask; a doubled quote reads there as a closing quote right before an opening one.
fn separator_masks(chunk: &[u8], next: Option<u8>, scan: &mut Scan) -> Option<Masks> {
    let len = chunk.len();
    let mut padded = [0u8; 64];
    let chunk: &[u8; 64] = match chunk.try_into() {
        Ok(whole) => whole,
        Err(_) => {
            padded[..len].copy_from_slice(chunk);
            &padded
        }
    };
    let raw = raw_masks(chunk);
    let last = 1u64 << (len - 1);
    // Set from each opening quote up to (not including) its closing quote.
    let quoted = prefix_xor(raw.quotes) ^ if scan.quoted { u64::MAX } else { 0 };
    let opening = raw.quotes & quoted;
    let closing = raw.quotes & !quoted;
    let field_start = (raw.separators << 1) | u64::from(scan.field_start);
    let ends_field = match next {
        None => true,
        Some(b) => matches!(b, b',' | b'\n' | b'\r'),
    };
    let field_end = ((raw.separators | raw.returns) >> 1) | if ends_field { last } else { 0 };
    // A closing quote right before an opening one is the first half of a doubled quote.
    let quote_next = (raw.quotes >> 1) | if next == Some(b'"') { last } else { 0 };
    let escapes = closing & quote_next;
    let mut bad = raw.bad;
    bad |= opening & !(field_start | (escapes << 1) | u64::from(scan.escape));
    bad |= closing & !(field_end | escapes);
    bad |= (raw.newlines | raw.returns) & quoted;
    // A `\r` is part of a line end only right before a `\n`, perhaps the next chunk's first byte.
    let carried = u64::from(len == 64 && next == Some(b'\n')) << 63;
    bad |= raw.returns & !((raw.newlines >> 1) | carried);
    // The zero padding of a short chunk would count as control characters.
    let real = if len == 64 { u64::MAX } else { last * 2 - 1 };
    scan.quoted = quoted & last != 0;
    scan.field_start = raw.separators & last != 0;
    scan.escape = escapes & last != 0;
    (bad & real == 0).then_some(Masks {
        separators: raw.separators & !quoted,
        newlines: raw.newlines & !quoted,
        escapes,
    })
}

/// Byte-class masks of 64 bytes, before the rules on quotes and `\r`.
#[derive(Default)]
struct Raw {
    separators: u64,
    newlines: u64,
    returns: u64,
    quotes: u64,
    /// `\\` and control characters but `\n` and `\r`.
    bad: u64,
}

/// [`Raw`] sixteen bytes at a time with SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
fn raw_masks(chunk: &[u8; 64]) -> Raw {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (newline, comma, cr) = (splat(b'\n'), splat(b','), splat(b'\r'));
    let (quote, backslash, below_space) = (splat(b'"'), splat(b'\\'), splat(0x1f));
    let bits = |m: m128i| u64::from(move_mask_i8_m128i(m) as u16);
    let mut raw = Raw::default();
    for (j, part) in chunk.as_chunks::<16>().0.iter().enumerate() {
        let v = m128i::from(*part);
        let n = cmp_eq_mask_i8_m128i(v, newline);
        let r = cmp_eq_mask_i8_m128i(v, cr);
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, below_space), v);
        let trouble = cmp_eq_mask_i8_m128i(v, backslash) | control;
        let shift = 16 * j;
        raw.separators |= bits(n | cmp_eq_mask_i8_m128i(v, comma)) << shift;
        raw.newlines |= bits(n) << shift;
        raw.returns |= bits(r) << shift;
        raw.quotes |= bits(cmp_eq_mask_i8_m128i(v, quote)) << shift;
        raw.bad |= bits(trouble) << shift;
    }
    raw.bad &= !(raw.newlines | raw.returns);
    raw
}

#[cfg(not(target_arch = "x86_64"))]
fn raw_masks(chunk: &[u8; 64]) -> Raw {
    swar::raw_masks(chunk)
}

/// [`Raw`] eight bytes at a time in plain integer arithmetic, for processors without SSE2; tests
/// check it against the SSE2 version.
#[cfg(any(test, not(target_arch = "x86_64")))]
mod swar {
    use super::Raw;

    /// Bytes of `0x0101…01 * b`: `b` in every byte of a word.
    const fn splat(b: u8) -> u64 {
        0x0101_0101_0101_0101 * b as u64
    }

    /// The high bit of every byte of `w` that is zero, and no other bit (exact: no carries cross
    /// bytes).
    const fn zero_bytes(w: u64) -> u64 {
        const LOW7: u64 = splat(0x7f);
        !(((w & LOW7).wrapping_add(LOW7)) | w | LOW7)
    }

    /// Gathers the high bit of each byte of `m` into the byte's bit of the result (byte `i` →
    /// bit `i`).
    const fn gather(m: u64) -> u64 {
        ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
    }

    pub(super) fn raw_masks(chunk: &[u8; 64]) -> Raw {
        let mut raw = Raw::default();
        for (j, word) in chunk.as_chunks::<8>().0.iter().enumerate() {
            let w = u64::from_le_bytes(*word);
            let newline = zero_bytes(w ^ splat(b'\n'));
            let comma = zero_bytes(w ^ splat(b','));
            let cr = zero_bytes(w ^ splat(b'\r'));
            // Below 0x20 exactly when the top three bits are clear.
            let control = zero_bytes(w & splat(0xe0)) & !newline & !cr;
            let trouble = control | zero_bytes(w ^ splat(b'\\'));
            raw.separators |= gather(newline | comma) << (8 * j);
            raw.newlines |= gather(newline) << (8 * j);
            raw.returns |= gather(cr) << (8 * j);
            raw.quotes |= gather(zero_bytes(w ^ splat(b'"'))) << (8 * j);
            raw.bad |= gather(trouble) << (8 * j);
        }
        raw
    }
}

/// Encodes a piece that is UTF-8 and plain (no byte that needs quoting or escaping, see
/// [`separator_masks`]): fields are the text between separators, found 64 bytes at a time from
/// bit masks rather than one search per field. Blank lines are skipped. Returns false at a
/// non-plain byte or a ragged row, leaving `batch` for the caller to clear.
///
/// The output is written through a cursor into a zero-filled buffer with room to spare, so that
/// a short field is one fixed 32-byte copy (the bytes past its end are overwritten next) instead
/// of a call to `memcpy` with its length.
fn encode_plain(piece: &[u8], width: usize, batch: &mut Batch) -> bool {
    // The batch holds no rows; bytes left from its last use are overwritten, not zeroed again.
    let mut out = std::mem::take(&mut batch.buf);
    let pos = 0;
    let want = piece.len() + piece.len() / 2 + SLACK;
    if out.len() < want {
        out.resize(want, 0);
    }
    let mut row = PlainRow {
        piece,
        width,
        out,
        pos,
        start: 0,
        fields: 0,
        escaped: false,
    };
    let mut ok = true;
    let mut scan = Scan::START;
    'chunks: for (k, chunk) in piece.chunks(64).enumerate() {
        let base = k * 64;
        let Some(masks) = separator_masks(chunk, piece.get(base + 64).copied(), &mut scan) else {
            ok = false;
            break;
        };
        // Room for every field that ends in this chunk: their bytes, and per separator at most
        // seven more (`null` or a quote pair, a `,` or `[`, and a row's `]` and newline).
        let room = row.pos + (base + 64 - row.start) + 64 * 7 + SLACK;
        if row.out.len() < room {
            row.out.resize(room.max(2 * row.out.len()), 0);
        }
        let mut mask = masks.separators;
        let mut escapes = masks.escapes;
        while mask != 0 {
            let bit = mask.trailing_zeros();
            mask &= mask - 1;
            if escapes != 0 {
                // Doubled quotes before this separator belong to the field it ends.
                let before = escapes & ((1u64 << bit) - 1);
                row.escaped |= before != 0;
                escapes &= !before;
            }
            let at = base + bit as usize;
            let newline = masks.newlines >> bit & 1 == 1;
            // A `\r` before a `\n` is the line end's: separator_masks let no other through.
            let end = if newline && at > 0 && piece[at - 1] == b'\r' {
                at - 1
            } else {
                at
            };
            if !row.field(end, at + 1, newline, &mut batch.ends) {
                ok = false;
                break 'chunks;
            }
        }
        // The rest belong to a field that goes on into the next chunk.
        row.escaped |= escapes != 0;
    }
    // A quote left open at the end is the csv crate's to report or read.
    ok &= !scan.quoted;
    // A last line without its newline.
    if ok && (row.start < piece.len() || row.fields > 0) {
        let room = row.pos + (piece.len() - row.start) + SLACK;
        if row.out.len() < room {
            row.out.resize(room, 0);
        }
        ok = row.field(piece.len(), piece.len(), true, &mut batch.ends);
    }
    row.out.truncate(row.pos);
    batch.buf = row.out;
    ok
}

/// Where [`encode_plain`] is within its piece and its output.
struct PlainRow<'a> {
    piece: &'a [u8],
    width: usize,
    /// The batch's buffer, zero-filled past `pos` with at least [`SLACK`] bytes to spare.
    out: Vec<u8>,
    /// Where the next output byte goes.
    pos: usize,
    /// First byte of the current field.
    start: usize,
    /// Fields of the current row written so far.
    fields: usize,
    /// Whether the current field holds a doubled quote.
    escaped: bool,
}

impl PlainRow<'_> {
    /// Writes the field that ends at `end` (a separator, a line end, or the end of the piece),
    /// the next starting at `next`, and at a line end the row's end into `ends`; false at a
    /// ragged row.
    // Inlined into the separator loop: a call per field cost a fifth of the encoding time.
    #[inline(always)]
    fn field(&mut self, end: usize, next: usize, newline: bool, ends: &mut Vec<usize>) -> bool {
        if newline && self.fields == 0 && end == self.start {
            // A blank line.
            self.start = next;
            return true;
        }
        let (piece, start, len) = (self.piece, self.start, end - self.start);
        let pos = self.pos;
        let out = &mut self.out;
        out[pos] = if self.fields == 0 { b'[' } else { b',' };
        let quoted = len > 0 && piece[start] == b'"';
        if len == 0 || (quoted && len == 2) {
            out[pos + 1..pos + 5].copy_from_slice(b"null");
            self.pos += 5;
        } else if quoted {
            // A quoted field without `""`, `\\` or control characters (separator_masks saw to
            // it) is, quotes included, already its JSON string.
            copy_field(out, pos + 1, &piece[start..], len);
            if self.escaped {
                unescape_quotes(&mut out[pos + 2..pos + len]);
            }
            self.pos += 1 + len;
        } else {
            out[pos + 1] = b'"';
            copy_field(out, pos + 2, &piece[start..], len);
            out[pos + 2 + len] = b'"';
            self.pos += 3 + len;
        }
        self.fields += 1;
        self.start = next;
        self.escaped = false;
        if newline {
            if self.fields != self.width {
                return false;
            }
            let pos = self.pos;
            out[pos] = b']';
            out[pos + 1] = b'\n';
            ends.push(pos + 1);
            self.pos += 2;
            self.fields = 0;
        }
        true
    }
}

/// Copies the first `len` bytes of `from` to `out[at..]`: a short field is one fixed 32-byte copy
/// when `from` has the bytes (the surplus is overwritten next; `out` has [`SLACK`] to spare).
#[inline(always)]
fn copy_field(out: &mut [u8], at: usize, from: &[u8], len: usize) {
    match from.get(..32) {
        Some(window) => {
            out[at..at + 32].copy_from_slice(window);
            if len > 32 {
                out[at + 32..at + len].copy_from_slice(&from[32..len]);
            }
        }
        None => out[at..at + len].copy_from_slice(&from[..len]),
    }
}

/// Rewrites each doubled `""` inside a quoted field's text as JSON's `\"`, in place: the same
/// length, so the field's copy stays where it is.
fn unescape_quotes(text: &mut [u8]) {
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'"' {
            // separator_masks let only whole pairs through.
            text[i] = b'\\';
            i += 2;
        } else {
            i += 1;
        }
    }
}

/// Room [`encode_plain`] keeps past its cursor: a 32-byte copy after the field's `,"`, then `]`
/// and the newline.
const SLACK: usize = 64;

/// Encodes one line that has no quotes: fields are the text between commas.
fn simple_line(line: &[u8], width: usize, batch: &mut Batch) -> Result<(), String> {
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
fn parse_with_csv(
    rest: &[u8],
    width: usize,
    first_line: u64,
    batch: Batch,
) -> Result<Batch, (u64, String)> {
    read_with_csv(rest, width, first_line, batch).0
}

/// [`parse_with_csv`], also returning where in `rest` the last record read starts (0 when
/// there is none): what is left to check for a record boundary at the end.
fn read_with_csv(
    rest: &[u8],
    width: usize,
    first_line: u64,
    mut batch: Batch,
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

fn csv_error(path: &Path, e: &csv::Error) -> IngestError {
    match e.kind() {
        csv::ErrorKind::Io(io) => IngestError::file(path, format!("read error: {io}")),
        _ => {
            let line = e.position().map_or(1, |p| p.line());
            IngestError::at(path, format!("line {line}"), format!("invalid CSV: {e}"))
        }
    }
}

impl RowSource for CsvSource {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes_read)
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        if self.ready.is_empty() {
            self.fill()?;
        }
        match self.ready.pop_front() {
            Some(b) => {
                // The caller is done with the batch it passes back: keep it for the next block.
                let used = std::mem::replace(batch, b);
                self.recycle(used);
                Ok(true)
            }
            None => {
                batch.clear();
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_only_outside_quotes() {
        let buf = b"a,\"x\ny\"\nb,c\n\"\"\"q\n\",d\ne,f\n";
        let points = split_points(buf, 8, true);
        for p in &points[1..points.len() - 1] {
            assert_eq!(
                count_quotes(&buf[..*p]) % 2,
                0,
                "split at {p} is inside quotes"
            );
            assert_eq!(buf[p - 1], b'\n');
        }
        assert_eq!(last_record_end(b"a,b\nc,\"d\ne"), Some(4));
        assert_eq!(last_record_end(b"a,\"b\nc"), None);
    }

    proptest! {
        // A case is one 64-byte chunk: cheap enough for many, and the carried states need them.
        #![proptest_config(ProptestConfig::with_cases(8192))]

        /// The masks equal those of a byte-by-byte reading of the same rules, for every byte
        /// value, length and carried state, and the SSE2 and word-at-a-time scans agree.
        #[test]
        fn separator_masks_match_bytewise(
            mut chunk in proptest::collection::vec(
                proptest::sample::select(b",,\"\"\n\ra 9-\x7f\x80\xc3\xff\x21\x2b\x2d\x0b\x09".to_vec()), 1..=64),
            odd in any::<u8>(),
            at in any::<proptest::sample::Index>(),
            inject in any::<bool>(),
            next_byte in proptest::option::of(proptest::sample::select(b"\n\r,a\"".to_vec())),
            quoted in any::<bool>(),
            field_start in any::<bool>(),
            escape in any::<bool>(),
        ) {
            if inject {
                let i = at.index(chunk.len());
                chunk[i] = odd;
            }
            // A short chunk is the end of its piece: nothing follows it.
            let next = if chunk.len() == 64 { next_byte } else { None };
            // A doubled quote's first half is outside quotes, right where the chunk starts.
            let escape = escape && !quoted;
            let mut scan = Scan { quoted, field_start, escape };
            let got = separator_masks(&chunk, next, &mut scan);
            let (want, want_scan) = bytewise_masks(&chunk, next, Scan { quoted, field_start, escape });
            prop_assert_eq!(got, want);
            if got.is_some() {
                prop_assert_eq!(
                    (scan.quoted, scan.field_start, scan.escape),
                    (want_scan.quoted, want_scan.field_start, want_scan.escape)
                );
            }
            let mut padded = [0u8; 64];
            padded[..chunk.len()].copy_from_slice(&chunk);
            let (fast, words) = (raw_masks(&padded), swar::raw_masks(&padded));
            prop_assert_eq!(
                (fast.separators, fast.newlines, fast.returns, fast.quotes, fast.bad),
                (words.separators, words.newlines, words.returns, words.quotes, words.bad)
            );
        }
    }

    /// [`separator_masks`] one byte at a time, as a reader of the rules would write it.
    fn bytewise_masks(chunk: &[u8], next: Option<u8>, mut scan: Scan) -> (Option<Masks>, Scan) {
        let mut masks = Masks {
            separators: 0,
            newlines: 0,
            escapes: 0,
        };
        let mut bad = false;
        for (i, &b) in chunk.iter().enumerate() {
            let after = chunk.get(i + 1).copied().or(next);
            let mut escape = false;
            match b {
                b'"' if !scan.quoted => {
                    bad |= !(scan.field_start || scan.escape);
                    scan.quoted = true;
                }
                b'"' => {
                    scan.quoted = false;
                    escape = after == Some(b'"');
                    masks.escapes |= u64::from(escape) << i;
                    bad |= !escape && !matches!(after, None | Some(b',' | b'\n' | b'\r'));
                }
                b'\n' | b'\r' if scan.quoted => bad = true,
                b',' | b'\n' if !scan.quoted => {
                    masks.separators |= 1 << i;
                    if b == b'\n' {
                        masks.newlines |= 1 << i;
                    }
                }
                _ => {}
            }
            bad |= b == b'\\' || (b < 0x20 && b != b'\n' && b != b'\r');
            bad |= b == b'\r' && after != Some(b'\n');
            scan.field_start = b == b',' || b == b'\n';
            scan.escape = escape;
        }
        ((!bad).then_some(masks), scan)
    }

    #[test]
    fn crlf_line_ends_stay_on_the_plain_path() {
        // In the second text the `\r\n` straddles the end of the first 64-byte chunk.
        let long = format!("{},b,c\r\n", "a".repeat(59));
        for text in ["a,b,c\r\nd,,f\r\n\r\ng,h,i", long.as_str()] {
            let mut batch = Batch::default();
            assert!(encode_plain(text.as_bytes(), 3, &mut batch), "{text:?}");
            assert_eq!(
                batch.buf,
                reference(text.as_bytes(), 3).unwrap().buf,
                "{text:?}"
            );
        }
        // A lone `\r` is a line end to the csv crate: off the plain path.
        assert!(!encode_plain(b"a,b\rc\n", 3, &mut Batch::default()));
    }

    /// Output five times the input (empty fields become `null`) grows the buffer; fields longer
    /// than the 32-byte copy, and short ones at the very end of the piece, are copied exactly.
    #[test]
    fn plain_path_grows_and_copies_fields_of_every_length() {
        let mut text = ",,\n".repeat(500);
        // Six bytes out for each byte in, the most a row can grow.
        let mut batch = Batch::default();
        let pairs = ",\n".repeat(1000);
        assert!(encode_plain(pairs.as_bytes(), 2, &mut batch));
        assert_eq!(batch.buf.len(), 12 * 1000);
        for len in 0..100 {
            text.push_str(&format!(
                "{},x,{}\n",
                "a".repeat(len),
                "b".repeat(100 - len)
            ));
        }
        text.push_str("c,d,e");
        let mut batch = Batch::default();
        assert!(encode_plain(text.as_bytes(), 3, &mut batch));
        let want = reference(text.as_bytes(), 3).unwrap();
        assert_eq!(batch.len(), 601);
        assert_eq!(batch.buf, want.buf);
        assert_eq!(batch.ends, want.ends);
    }

    /// Quoted fields, doubled quotes inside included, stay on the one-pass path, and what they
    /// encode to is the csv crate's.
    #[test]
    fn simply_quoted_fields_stay_on_the_plain_path() {
        let simple = concat!(
            "\"TN01\",\"Smith, J\",12.5\r\n\"\",\"a\",\"\"\n",
            "\"long field of more than thirty-two bytes\",x,\"y\"\n",
            // Doubled quotes: a height, a lone quote, a quotation.
            "\"5'10\"\"\",\"\"\"\",\"say \"\"hi\"\", then \"\"bye\"\"\""
        );
        // A doubled quote split by the 64-byte chunk edge (bytes 63 and 64).
        let straddling = format!("\"{}\"\"b\",x,y\n", "a".repeat(62));
        for text in [simple, straddling.as_str()] {
            let mut batch = Batch::default();
            assert!(encode_plain(text.as_bytes(), 3, &mut batch), "{text:?}");
            let want = reference(text.as_bytes(), 3).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&batch.buf),
                String::from_utf8_lossy(&want.buf)
            );
            assert_eq!(batch.ends, want.ends);
        }
        // A quote inside an unquoted field is literal, text after a closing quote is read on,
        // and a line end inside quotes continues the record: all for the csv crate.
        for text in [
            "a\"\"b,c,d\n",
            "a\"b,c,d\n",
            "\"a\nb\",c,d\n",
            "\"a\"b,c,d\n",
            "\"a,b,c\n",
        ] {
            assert!(
                !encode_plain(text.as_bytes(), 3, &mut Batch::default()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn ragged_row_after_blank_lines_names_its_line() {
        for text in [
            "\"a\",b,c\n\n\nx,y\n",
            "a,b,c\n\n\nx,y\n",
            "\n\n\"x\",y\r\n",
        ] {
            let want = text.lines().position(|l| l.contains('y')).unwrap() as u64 + 1;
            assert_eq!(
                parse_piece(text.as_bytes(), 3, Batch::default())
                    .unwrap_err()
                    .0,
                want,
                "{text:?}"
            );
        }
    }

    /// A ragged row that is also not UTF-8 was reported as bad UTF-8 by the line-by-line path
    /// and as ragged by the csv crate: which one depended on where its piece started.
    #[test]
    fn ragged_row_with_bad_utf8_is_ragged_on_every_path() {
        let simple = parse_piece(b"a,b\n\xff,x,y\n", 2, Batch::default()).unwrap_err();
        let csv = parse_piece(b"\"a\",b\n\xff,x,y\n", 2, Batch::default()).unwrap_err();
        let want = "row has 3 fields but the header has 2 (ragged row)";
        assert_eq!(simple, (2, want.to_owned()));
        assert_eq!(csv, simple);
    }

    /// The csv crate alone, as the reference for both parsing paths.
    /// A batch as the reader gets it back: rows and bytes of an earlier piece still in it.
    fn used_batch() -> Batch {
        let mut b = Batch::default();
        b.buf.extend_from_slice(&[b'#'; 300]);
        b.ends.extend([10, 20]);
        b
    }

    fn reference(bytes: &[u8], width: usize) -> Result<Batch, (u64, String)> {
        parse_with_csv(bytes, width, 1, Batch::default())
    }

    proptest! {
        /// The fast path and the csv crate agree on any input, errors included.
        #[test]
        fn fast_path_matches_csv_crate(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-c\",\r\n\\\\é\t ]{0,4}", 1..4), 0..40),
            crlf in any::<bool>(),
        ) {
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            for r in &rows { w.write_record(r).unwrap(); }
            let bytes = w.into_inner().unwrap();
            match (parse_piece(&bytes, 3, used_batch()), reference(&bytes, 3)) {
                (Ok(a), Ok(b)) => { prop_assert_eq!(a.buf, b.buf); prop_assert_eq!(a.ends, b.ends); }
                (Err(a), Err(b)) => prop_assert_eq!(a.0, b.0),
                (a, b) => prop_assert!(false, "ours {:?} theirs {:?}", a.map(|b| b.buf), b.map(|b| b.buf)),
            }
        }

        /// Plain pieces (the one-pass path), ragged rows, blank lines and a missing last newline
        /// included, parse as the csv crate parses them.
        #[test]
        fn plain_path_matches_csv_crate(
            lines in proptest::collection::vec(("[ab é,]{0,12}", any::<bool>()), 0..60),
            last_newline in any::<bool>(),
        ) {
            // Each line ends in `\n` or `\r\n`, as exports from different systems do.
            let mut bytes = Vec::new();
            for (k, (line, crlf)) in lines.iter().enumerate() {
                bytes.extend_from_slice(line.as_bytes());
                if k + 1 < lines.len() || last_newline {
                    bytes.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                }
            }
            let lines: Vec<&String> = lines.iter().map(|(l, _)| l).collect();
            // The first ragged line, counted here: the csv crate's positions skip blank lines.
            let ragged = lines.iter().position(|l| !l.is_empty() && l.split(',').count() != 3);
            match (parse_piece(&bytes, 3, used_batch()), reference(&bytes, 3)) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(ragged, None);
                    prop_assert_eq!(a.buf, b.buf);
                    prop_assert_eq!(a.ends, b.ends);
                }
                (Err(a), Err(_)) => prop_assert_eq!(Some(a.0), ragged.map(|i| i as u64 + 1)),
                (a, b) => prop_assert!(false, "ours {:?} theirs {:?}", a.map(|b| b.buf), b.map(|b| b.buf)),
            }
        }

        /// Fields quoted always or as needed (the habits of R's write.csv and of pandas), with
        /// separators, line ends and doubled quotes inside, parse as the csv crate parses them;
        /// so do lines with quotes anywhere, well formed or not.
        #[test]
        fn quoted_fields_match_csv_crate(
            rows in proptest::collection::vec(
                proptest::collection::vec("[ab é,\"\r\n]{0,6}", 3), 0..30),
            always in any::<bool>(),
            crlf in any::<bool>(),
            raw in proptest::collection::vec("[ab,\"]{0,10}", 0..30),
        ) {
            let mut w = csv::WriterBuilder::new()
                .quote_style(if always { csv::QuoteStyle::Always } else { csv::QuoteStyle::Necessary })
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            for r in &rows { w.write_record(r).unwrap(); }
            let written = w.into_inner().unwrap();
            for bytes in [written, raw.join("\n").into_bytes()] {
                match (parse_piece(&bytes, 3, used_batch()), reference(&bytes, 3)) {
                    (Ok(a), Ok(b)) => { prop_assert_eq!(a.buf, b.buf); prop_assert_eq!(a.ends, b.ends); }
                    (Err(a), Err(b)) => prop_assert_eq!(a.0, b.0),
                    (a, b) => prop_assert!(false, "ours {:?} theirs {:?}", a.map(|b| b.buf), b.map(|b| b.buf)),
                }
            }
        }

        /// Parsing in pieces gives exactly the rows a single csv reader gives.
        #[test]
        fn pieces_parse_like_one_reader(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-c\",\n ]{0,4}", 3), 0..40),
            n in 1usize..12,
        ) {
            let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
            for r in &rows { w.write_record(r).unwrap(); }
            let bytes = w.into_inner().unwrap();
            let whole = reference(&bytes, 3).unwrap();
            let points = split_points(&bytes, n, bytes.contains(&b'"'));
            let mut joined = Vec::new();
            let mut count = 0;
            for p in points.windows(2) {
                let b = parse_piece(&bytes[p[0]..p[1]], 3, used_batch()).unwrap();
                count += b.len();
                joined.extend_from_slice(&b.buf);
            }
            prop_assert_eq!(count, whole.len());
            prop_assert_eq!(joined, whole.buf);
        }
    }
}
