//! The one-pass encoder: a piece whose quoting is simple (most SDTM exports, quoted or not) is
//! written as canonical values arrays straight from its separator masks ([`super::masks`]), a
//! short field copied in one fixed 32-byte move, with no search per field and no csv state
//! machine. It only accepts or declines: a piece it declines, or a ragged row, goes to
//! [`super::fallback`], which names the line.

use super::masks::{Scan, separator_masks};
use crate::ingest::Batch;

/// Encodes a piece that is UTF-8 and plain (no byte that needs quoting or escaping, see
/// [`separator_masks`]): fields are the text between separators, found 64 bytes at a time from
/// bit masks rather than one search per field. Blank lines are skipped. Returns false at a
/// non-plain byte or a ragged row, leaving `batch` for the caller to clear.
///
/// The output is written through a cursor into a zero-filled buffer with room to spare, so that
/// a short field is one fixed 32-byte copy (the bytes past its end are overwritten next) instead
/// of a call to `memcpy` with its length.
pub(super) fn encode_plain(piece: &[u8], width: usize, batch: &mut Batch) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::tests::reference;
    use super::*;

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
}
