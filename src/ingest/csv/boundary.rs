//! Where records truly end: csv-core (the csv crate's own state machine) read sequentially, to
//! confirm or replace the quote-parity guesses that cut a block into pieces.
//!
//! Quote parity is exact only for strict RFC 4180. csv-core, like Python's csv module, reads a
//! quote inside an unquoted field (`5'1"`) and text after a closing quote (`"a"b`) as literal
//! characters that open no quoted field, so a stray quote shifts the parity of every later
//! newline in the block. What csv-core says is what a sequential reading of the file gives; the
//! reader accepts a piece only where csv-core ends a record at the piece's end.

use csv_core::{ReadRecordResult, Reader};

/// Scratch output for csv-core, which copies every field somewhere: its contents are not used.
const SCRATCH: usize = 16 << 10;

/// Most field ends csv-core reports per call; a wider record just takes more calls.
const SCRATCH_ENDS: usize = 256;

/// Feeds `bytes[at..]` to `core`, the first byte alone when `first` (see [`first_input`]),
/// calling `record` with the offset just past each record csv-core ends, until all are read;
/// returns how far it read.
fn feed(
    core: &mut Reader,
    bytes: &[u8],
    mut at: usize,
    mut first: bool,
    mut record: impl FnMut(usize),
) -> usize {
    let mut out = vec![0u8; SCRATCH];
    let mut ends = [0usize; SCRATCH_ENDS];
    while at < bytes.len() {
        let input = first_input(&bytes[at..], first);
        first = false;
        let (result, read, _, _) = core.read_record(input, &mut out, &mut ends);
        at += read;
        match result {
            ReadRecordResult::Record => record(at),
            // With room for output, csv-core reads at least a byte of non-empty input; should it
            // not, stop rather than spin.
            _ if read == 0 => break,
            _ => {}
        }
    }
    at
}

/// The input to give csv-core first: a reader fresh from the start of a record boundary in the
/// middle of a file gets its first byte alone, because csv-core strips a UTF-8 byte order mark
/// from a first input of three bytes or more. A byte order mark is stripped at the start of the
/// file (where the header row is read); anywhere else it is text, and a fresh reader of a piece
/// must keep it as the sequential reading does.
pub(super) fn first_input(bytes: &[u8], first: bool) -> &[u8] {
    if first {
        &bytes[..bytes.len().min(1)]
    } else {
        bytes
    }
}

/// Whether csv-core, reading `bytes` from a record boundary, ends them at one: outside every
/// field, as after a record's line end or a blank line. Given no input after the last byte,
/// csv-core reports `End` there, and the unfinished record (a quoted field still open, a last
/// line without its line end) otherwise.
pub(super) fn ends_at_boundary(bytes: &[u8]) -> bool {
    let mut core = Reader::new();
    feed(&mut core, bytes, 0, true, |_| {});
    let mut out = [0u8; 1];
    let mut ends = [0usize; 1];
    matches!(
        core.read_record(&[], &mut out, &mut ends).0,
        ReadRecordResult::End
    )
}

/// Whether a file that ends after `bytes`, read by csv-core from a record boundary (`first` as
/// in [`feed`]), ends inside a quoted field: a line end added after them then does not end a
/// record, as it does after a record's last field or a blank line. csv-core ends such a field
/// at the end of the input without a word; the reader refuses it, since the missing closing
/// quote folded every line after the opening one into a single value.
pub(super) fn ends_inside_quotes(bytes: &[u8], first: bool) -> bool {
    let mut core = Reader::new();
    feed(&mut core, bytes, 0, first, |_| {});
    feed(&mut core, b"\n", 0, false, |_| {});
    let mut out = [0u8; 1];
    let mut ends = [0usize; 1];
    !matches!(
        core.read_record(&[], &mut out, &mut ends).0,
        ReadRecordResult::End
    )
}

/// A sequential reading with csv-core of the buffer from a record boundary, resumable as the
/// buffer grows: the record ends it finds right after a `\n` are where the buffer can be cut.
#[derive(Debug)]
pub(super) struct RecordEnds {
    core: Reader,
    /// Where the reading started in the buffer: a record boundary.
    start: usize,
    /// How far it has read.
    at: usize,
    /// Offsets just past a `\n` that ends a record (in the reading's order, so ascending).
    ends: Vec<usize>,
}

impl RecordEnds {
    /// A reading starting at `start`, a record boundary of the buffer.
    pub(super) fn new(start: usize) -> Self {
        Self {
            core: Reader::new(),
            start,
            at: start,
            ends: Vec::new(),
        }
    }

    /// Where the reading started.
    pub(super) fn start(&self) -> usize {
        self.start
    }

    /// Reads on to the end of `buf` (the buffer read from, perhaps grown since).
    pub(super) fn read(&mut self, buf: &[u8]) {
        let first = self.at == self.start;
        let ends = &mut self.ends;
        self.at = feed(&mut self.core, buf, self.at, first, |end| {
            // csv-core ends a record on `\r\n` just after the `\r`: the cut goes after the `\n`,
            // which it then reads as the rest of that line end.
            match end.checked_sub(1).map(|i| buf[i]) {
                Some(b'\n') => ends.push(end),
                Some(b'\r') if buf.get(end) == Some(&b'\n') => ends.push(end + 1),
                _ => {}
            }
        });
    }

    /// Points that cut the read stretch into about `n` pieces of whole records: the start, record
    /// ends, and last the last record end, or `file_end` (the buffer's length when the file has
    /// ended there, which ends every record). `None` when no record ends after the start.
    pub(super) fn points(&self, n: usize, file_end: Option<usize>) -> Option<Vec<usize>> {
        let last = file_end.or(self.ends.last().copied())?;
        if last <= self.start {
            return None;
        }
        let mut points = vec![self.start];
        for k in 1..n {
            let target = self.start + (last - self.start) * k / n;
            let i = self.ends.partition_point(|&e| e < target);
            if let Some(&end) = self.ends.get(i)
                && end > points[points.len() - 1]
                && end < last
            {
                points.push(end);
            }
        }
        points.push(last);
        Some(points)
    }

    /// Follows the buffer after its first `by` bytes were removed (all before the reading's start).
    pub(super) fn rebase(&mut self, by: usize) {
        self.start -= by;
        self.at -= by;
        for end in &mut self.ends {
            *end -= by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the reader relies on: after all input, an empty input makes csv-core report `End`
    /// at a record boundary and the unfinished record inside one.
    #[test]
    fn csv_core_reports_end_only_at_a_record_boundary() {
        for bytes in [
            &b""[..],
            b"a,b\n",
            b"a,b\r\n",
            b"a,b\n\n\r\n",
            b"\"x\ny\",b\n",
            // Literal quotes: in an unquoted field, and after a closing quote.
            b"5'1\",b\n",
            b"a\"b,\"c\"d\n",
            // Three quotes, odd parity, yet the record ends: `a"b` has a literal quote.
            b"a\"b,\"c\nd,e\"\n",
        ] {
            assert!(
                ends_at_boundary(bytes),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        for bytes in [
            &b"a,b"[..],
            b"\"x\n",
            b"a,\"b\nc\n",
            // Two quotes, even parity, yet the quoted field `"c` is still open.
            b"a\"b,\"c\n",
            b"\"a\"\"\n",
        ] {
            assert!(
                !ends_at_boundary(bytes),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    /// A byte order mark at the start of a piece mid-file is text: the quote after it does not
    /// open a quoted field, so the line end after it ends the record.
    #[test]
    fn byte_order_mark_at_a_piece_start_is_text() {
        assert!(ends_at_boundary(b"\xef\xbb\xbf\"a\nb\n"));
        let mut ends = RecordEnds::new(0);
        ends.read(b"\xef\xbb\xbf\"a\nb\n");
        assert_eq!(ends.ends, [6, 8]);
    }

    #[test]
    fn record_ends_follow_csv_core_and_resume() {
        // Records end after `a"b` (a literal quote) and after the quoted field with a newline.
        let text = b"a\"b,c\n\"d\ne\",f\r\ng,h\n";
        let mut whole = RecordEnds::new(0);
        whole.read(text);
        assert_eq!(whole.ends, [6, 15, 19]);
        // Read in two parts, split inside the quoted field and between `\r` and `\n`.
        for cut in [8, 14] {
            let mut parts = RecordEnds::new(0);
            parts.read(&text[..cut]);
            parts.read(text);
            // A `\r` last in the first part: its `\n` was not there to cut after.
            let want: &[usize] = if cut == 14 { &[6, 19] } else { &[6, 15, 19] };
            assert_eq!(parts.ends, want, "cut at {cut}");
        }
        assert_eq!(whole.points(8, None), Some(vec![0, 6, 15, 19]));
        assert_eq!(whole.points(1, Some(20)), Some(vec![0, 20]));
        assert_eq!(RecordEnds::new(3).points(4, None), None);
    }
}
