//! Reading the text: [`Counted`] counts the bytes read from the file, [`Inflate`] decompresses
//! a `.dsjc` (one zlib or gzip stream, checked to the end of the file), and [`Input`] holds
//! what is read and not yet consumed, refilled in blocks, where the tokenizer finds where a
//! value or a line ends.

use crate::ingest::Sequential;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::{Decompress, FlushDecompress, Status};

use super::scan::value_len;

/// Bytes read from the file (or decompressor) at a time.
const BLOCK: usize = 1 << 20;

/// Counts the bytes read from the file, for [`RowSource::bytes_read`].
///
/// [`RowSource::bytes_read`]: crate::ingest::RowSource::bytes_read
pub(super) struct Counted {
    pub(super) file: Sequential,
    pub(super) bytes: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Release);
        Ok(n)
    }
}

impl Counted {
    /// [`Sequential::read_appending`], counted.
    fn read_appending(&mut self, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        let n = self.file.read_appending(buf, limit)?;
        self.bytes.fetch_add(n as u64, Ordering::Release);
        Ok(n)
    }
}

/// A zlib or gzip stream, decompressed by one decoder for both (zlib-rs reads the gzip wrapper
/// itself), chosen by the first two bytes. A stream cut short is an error, and so is anything
/// after the stream's end, which flate2's `read` decoders ignore; the file is read to its end,
/// so that [`RowSource::bytes_read`](crate::ingest::RowSource::bytes_read) comes to its size.
pub(super) struct Inflate<R> {
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
    pub(super) fn new(mut src: R) -> io::Result<Self> {
        let mut input = vec![0u8; 64 << 10];
        let mut end = 0;
        while end < 2 {
            let n = match src.read(&mut input[end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                n => n?,
            };
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
        // An interrupted read is tried again here: an error would lose the output of the call
        // that met the stream's end.
        while !self.src_eof {
            match self.src.read(&mut self.input) {
                Ok(0) => self.src_eof = true,
                Ok(_) => return Err(trailing()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
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
                // Read before resetting, so that an error (an interrupted read, tried again)
                // leaves no consumed bytes to be decompressed twice.
                let n = self.src.read(&mut self.input)?;
                (self.start, self.end, self.src_eof) = (0, n, n == 0);
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
pub(super) struct Input {
    src: Source,
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    /// Offset in the text of `buf[0]`.
    base: u64,
    pub(super) eof: bool,
    /// Longest value (row, line or metadata) accepted: [`MAX_RECORD_BYTES`], less in tests.
    ///
    /// [`MAX_RECORD_BYTES`]: crate::ingest::MAX_RECORD_BYTES
    pub(super) limit: usize,
}

/// Where [`Input`] reads from: a plain file is read into the buffer without the zero-filling
/// of each block that `read_to_end` through [`Read`] costs (see [`Sequential::read_appending`]).
pub(super) enum Source {
    File(Box<Counted>),
    Other(Box<dyn Read + Send>),
}

impl Source {
    /// Appends up to `want` bytes to `buf`, fewer only at the end of the text.
    pub(super) fn read_into(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        match self {
            Source::File(file) => file.read_appending(buf, want),
            Source::Other(src) => src.take(want as u64).read_to_end(buf),
        }
    }
}

/// Why the tokenizer stopped.
pub(super) enum Stop {
    Io(io::Error),
    /// The text ended inside a value.
    Eof,
    /// A value longer than the limit, [`MAX_RECORD_BYTES`](crate::ingest::MAX_RECORD_BYTES).
    TooLong,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

impl Input {
    pub(super) fn new(src: Box<dyn Read + Send>, limit: usize) -> Self {
        Self::with_source(Source::Other(src), limit)
    }

    /// Reads the plain file `file`.
    pub(super) fn file(file: Counted, limit: usize) -> Self {
        Self::with_source(Source::File(Box::new(file)), limit)
    }

    fn with_source(src: Source, limit: usize) -> Self {
        Self {
            src,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            eof: false,
            limit,
        }
    }

    /// The text at `text`, whose first byte is at `base` in the whole text, then what `src`
    /// reads.
    pub(super) fn resume(
        src: Box<dyn Read + Send>,
        text: Vec<u8>,
        base: u64,
        limit: usize,
    ) -> Self {
        Self {
            base,
            buf: text,
            ..Self::new(src, limit)
        }
    }

    /// Where the text goes on: its source, the bytes read and not consumed, the offset of the
    /// first of them, and whether the source is at its end.
    pub(super) fn into_rest(self) -> (Source, Vec<u8>, u64, bool) {
        let base = self.offset(self.pos);
        let mut buf = self.buf;
        buf.drain(..self.pos);
        (self.src, buf, base, self.eof)
    }

    /// Offset in the text of `buf[i]`.
    pub(super) fn offset(&self, i: usize) -> u64 {
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
        let n = self.src.read_into(&mut self.buf, want)?;
        if n < want {
            self.eof = true;
        }
        Ok(())
    }

    /// Skips a UTF-8 byte order mark at the start of the text.
    pub(super) fn skip_bom(&mut self) -> io::Result<()> {
        while self.buf.len() < 3 && !self.eof {
            self.refill()?;
        }
        if self.base == 0 && self.buf.starts_with(b"\xef\xbb\xbf") {
            self.pos = 3;
        }
        Ok(())
    }

    /// The next byte that is not JSON whitespace, not consumed; `None` at the end.
    pub(super) fn peek(&mut self) -> io::Result<Option<u8>> {
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
    pub(super) fn value_end(&mut self) -> Result<usize, Stop> {
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
    pub(super) fn line_end(&mut self) -> Result<usize, Stop> {
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
