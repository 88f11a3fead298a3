//! Observations to canonical `values` arrays, a range of rows at a time ([`write_rows`]), so
//! that a batch is converted on all cores: an observation's blanks and the bytes that would need
//! escaping are found sixteen at a time (SSE2 on x86-64, one at a time elsewhere), so that a
//! character value is trimmed from a bit mask and, in a plain ASCII observation, copied in one
//! fixed-size move ([`RowWriter`]); numbers are written digit by digit, and the text of each is
//! remembered by its bytes, so that a number met again (a visit's number, a test's reference
//! range) is copied, not converted.

use super::formats::{Temporal, push_number};
use super::ibm::{SasNumber, ibm_word, word_to_f64};
use crate::core::record::write_string;
use crate::ingest::Batch;
use crate::ingest::canonical::{F64_MAX, write_f64};

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Char,
    Num(Temporal),
}

/// One variable: where its value sits in an observation and how to write it.
#[derive(Clone, Debug)]
pub(super) struct Column {
    pub(super) kind: Kind,
    pub(super) offset: usize,
    pub(super) len: usize,
}

/// How observations are laid out, for converting them.
pub(super) struct Layout {
    columns: Vec<Column>,
    /// Observation length: the sum of the column lengths.
    pub(super) row_len: usize,
    /// The bytes of numeric values, 64 a word (byte `i` is bit `i % 64` of word `i / 64`).
    numeric: Vec<u64>,
    /// Most bytes a row's `values` array takes but for escapes, with room for the fixed-size
    /// copies.
    most: usize,
}

impl Layout {
    pub(super) fn new(columns: Vec<Column>, row_len: usize) -> Self {
        let mut numeric = vec![0u64; row_len.div_ceil(64)];
        for col in &columns {
            if let Kind::Num(_) = col.kind {
                for i in col.offset..col.offset + col.len {
                    numeric[i / 64] |= 1 << (i % 64);
                }
            }
        }
        // Per value a comma (or the `[`), quotes, and at most its bytes, a number's text or
        // `null`, or a fixed-size copy; then the `]` and the newline. A temporal number's text
        // is at most 26 bytes, [`F64_MAX`] is 32.
        let most = columns
            .iter()
            .map(|c| 3 + c.len.max(F64_MAX).max(WINDOW))
            .sum::<usize>()
            + 2;
        Self {
            columns,
            row_len,
            numeric,
            most,
        }
    }
}

/// A value that cannot be converted: its row (within the rows converted), column and what is
/// wrong.
pub(super) struct BadValue {
    pub(super) row: usize,
    pub(super) column: usize,
    pub(super) problem: Problem,
}

/// What is wrong with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Problem {
    /// A character value that is not UTF-8, and the offset of its first invalid byte.
    NotUtf8(usize),
    /// A number no double holds exactly ([`SasNumber::Inexact`]), and its eight bytes.
    Inexact(u64),
}

/// Whether byte `b` is written between quotes as it is: printable ASCII but `"` and `\\`.
fn plain_byte(b: u8) -> bool {
    (b.wrapping_sub(0x20) < 0x5f) & (b != b'"') & (b != b'\\')
}

/// Blanks (0x20) and bytes that are not [`plain_byte`]s among sixteen, as bit masks (byte `i`
/// is bit `i`), with SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
fn masks16(bytes: &[u8; 16]) -> (u16, u16) {
    use safe_arch::{cmp_eq_mask_i8_m128i, cmp_lt_mask_i8_m128i, m128i, move_mask_i8_m128i};
    let splat = |b: u8| safe_arch::set_splat_i8_m128i(b as i8);
    let v = m128i::from(*bytes);
    let blank = cmp_eq_mask_i8_m128i(v, splat(b' '));
    // Signed: below 0x20, or 0x80 and above.
    let bad = cmp_lt_mask_i8_m128i(v, splat(0x20))
        | cmp_eq_mask_i8_m128i(v, splat(0x7f))
        | cmp_eq_mask_i8_m128i(v, splat(b'"'))
        | cmp_eq_mask_i8_m128i(v, splat(b'\\'));
    (
        move_mask_i8_m128i(blank) as u16,
        move_mask_i8_m128i(bad) as u16,
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn masks16(bytes: &[u8; 16]) -> (u16, u16) {
    masks16_bytewise(bytes)
}

/// [`masks16`] one byte at a time, for processors without SSE2; tests check it against the
/// SSE2 version.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn masks16_bytewise(bytes: &[u8; 16]) -> (u16, u16) {
    let (mut blank, mut bad) = (0u16, 0u16);
    for (i, &b) in bytes.iter().enumerate() {
        blank |= u16::from(b == b' ') << i;
        bad |= u16::from(!plain_byte(b)) << i;
    }
    (blank, bad)
}

/// Sets `nonblank` to the bytes of an observation that are not blanks, 64 a word (byte `i` is
/// bit `i % 64` of word `i / 64`), and returns whether every byte of its character values is a
/// [`plain_byte`] (`numeric` marks the bytes of numeric values the same way).
fn row_masks(row: &[u8], numeric: &[u64], nonblank: &mut [u64]) -> bool {
    let mut bad = 0u64;
    let (pieces, tail) = row.as_chunks::<16>();
    for (w, out) in nonblank.iter_mut().enumerate() {
        let mut blank = 0u64;
        let mut bad_here = 0u64;
        for (k, piece) in pieces.iter().skip(4 * w).take(4).enumerate() {
            let (b, x) = masks16(piece);
            blank |= u64::from(b) << (16 * k);
            bad_here |= u64::from(x) << (16 * k);
        }
        if !tail.is_empty() && pieces.len() / 4 == w {
            let mut last = [b' '; 16];
            last[..tail.len()].copy_from_slice(tail);
            let (b, x) = masks16(&last);
            let k = pieces.len() % 4;
            blank |= u64::from(b) << (16 * k);
            bad_here |= u64::from(x) << (16 * k);
        }
        *out = !blank;
        bad |= bad_here & !numeric[w];
    }
    bad == 0
}

/// The length of the value at bytes `from..to` of an observation without its trailing blanks,
/// from the observation's [`row_masks`].
fn trimmed_len(nonblank: &[u64], from: usize, to: usize) -> usize {
    let mut end = to;
    while end > from {
        let w = (end - 1) / 64;
        let base = w * 64;
        // Bits of the word up to `end`, and from `from`.
        let mut m = nonblank[w] & (u64::MAX >> (63 - (end - 1 - base)));
        if base < from {
            m &= u64::MAX << (from - base);
        }
        if m != 0 {
            return base + 64 - m.leading_zeros() as usize - from;
        }
        end = base;
    }
    0
}

/// Bytes of a short value copied at once: a fixed-size copy, whose surplus the next value
/// overwrites.
const WINDOW: usize = 32;

/// Appends the canonical `values` arrays of the observations `range` of `data` to the rows of
/// `batch`, whose buffer may hold stale bytes after them (see [`convert_in_parallel`]).
///
/// Rows are written through a cursor over the buffer, kept longer than what is written by
/// room for one more row (but for escapes, which grow it): a short value is one fixed-size copy
/// of [`WINDOW`] bytes, whose surplus the next value overwrites, rather than a call to `memcpy`
/// with its length, and the buffer is zero-filled only where it grows past its last use.
///
/// [`convert_in_parallel`]: crate::ingest::convert_in_parallel
pub(super) fn write_rows(
    data: &[u8],
    range: std::ops::Range<usize>,
    layout: &Layout,
    batch: &mut Batch,
) -> Result<(), BadValue> {
    let len = layout.row_len;
    let mut w = RowWriter {
        o: std::mem::take(&mut batch.buf),
        pos: batch.ends.last().map_or(0, |&e| e + 1),
        nonblank: vec![0u64; layout.numeric.len()],
        text: String::new(),
        numbers: vec![
            NumberSlot {
                raw: 0,
                tag: 0,
                len: 0,
                text: [0; NUMBER_TEXT],
            };
            NUMBER_SLOTS
        ],
        escaped: Vec::new(),
    };
    let mut result = Ok(());
    for i in range {
        let at = i * len;
        if let Err((column, problem)) = w.row(layout, &data[at..at + len], &data[at..]) {
            result = Err(BadValue {
                row: i,
                column,
                problem,
            });
            break;
        }
        batch.ends.push(w.pos - 1);
    }
    // Only whole rows stay.
    w.o.truncate(batch.ends.last().map_or(0, |&e| e + 1));
    batch.buf = w.o;
    result
}

/// The state of [`write_rows`].
struct RowWriter {
    /// The output, zero-filled or stale past `pos`.
    o: Vec<u8>,
    /// Where the next byte goes.
    pos: usize,
    /// The non-blank bytes of the current observation ([`row_masks`]).
    nonblank: Vec<u64>,
    /// Scratch for a temporal number's text and an escaped string.
    text: String,
    escaped: Vec<u8>,
    /// The texts of numbers written, by their bytes: a dataset repeats most numbers (a visit's
    /// number and day, a test's reference range), which are then copied, not converted.
    numbers: Vec<NumberSlot>,
}

impl RowWriter {
    /// Writes the `values` array of observation `row` and its newline; `rest` is the data from
    /// the row on, for fixed-size copies. On a value it cannot convert (text that is not UTF-8,
    /// a number no double holds), its column and the problem.
    #[inline(always)]
    fn row(&mut self, layout: &Layout, row: &[u8], rest: &[u8]) -> Result<(), (usize, Problem)> {
        let plain = row_masks(row, &layout.numeric, &mut self.nonblank);
        if self.o.len() < self.pos + layout.most {
            self.o.resize(self.pos + layout.most, 0);
        }
        let (o, nonblank) = (&mut self.o, &self.nonblank);
        let start = self.pos;
        let mut pos = start;
        for (c, col) in layout.columns.iter().enumerate() {
            // The first becomes the array's `[` below.
            o[pos] = b',';
            pos += 1;
            // The layout keeps every value inside the observation.
            let value = &row[col.offset..col.offset + col.len];
            match col.kind {
                Kind::Char => {
                    let n = trimmed_len(nonblank, col.offset, col.offset + col.len);
                    let value = &value[..n];
                    if n == 0 {
                        // All blanks is null.
                        o[pos..pos + 4].copy_from_slice(b"null");
                        pos += 4;
                    } else if plain || value.iter().all(|&b| plain_byte(b)) {
                        o[pos] = b'"';
                        match rest.get(col.offset..col.offset + WINDOW) {
                            Some(window) if n <= WINDOW => {
                                o[pos + 1..pos + 1 + WINDOW].copy_from_slice(window);
                            }
                            _ => o[pos + 1..pos + 1 + n].copy_from_slice(value),
                        }
                        o[pos + 1 + n] = b'"';
                        pos += n + 2;
                    } else {
                        let text = std::str::from_utf8(value)
                            .map_err(|e| (c, Problem::NotUtf8(e.valid_up_to())))?;
                        self.escaped.clear();
                        write_string(&mut self.escaped, text);
                        let n = self.escaped.len();
                        // Room for it and for the rest of the row.
                        if o.len() < pos + n + layout.most {
                            o.resize(pos + n + layout.most, 0);
                        }
                        o[pos..pos + n].copy_from_slice(&self.escaped);
                        pos += n;
                    }
                }
                Kind::Num(t) => {
                    // The number's eight bytes and the column's kind of text.
                    let word = ibm_word(value);
                    let raw = u64::from_be_bytes(word);
                    let tag = t as u8 + 1;
                    let slot = &mut self.numbers[number_slot(raw)];
                    if slot.tag == tag && slot.raw == raw {
                        // A text is at most 28 bytes with its quotes; the layout leaves room.
                        o[pos..pos + NUMBER_TEXT].copy_from_slice(&slot.text);
                        pos += usize::from(slot.len);
                        continue;
                    }
                    let from = pos;
                    let number = word_to_f64(word);
                    if number == SasNumber::Inexact {
                        return Err((c, Problem::Inexact(raw)));
                    }
                    pos = write_number(o, pos, number, t, &mut self.text);
                    if let SasNumber::Value(_) = number
                        && pos - from <= NUMBER_TEXT
                    {
                        slot.text[..pos - from].copy_from_slice(&o[from..pos]);
                        (slot.raw, slot.tag, slot.len) = (raw, tag, (pos - from) as u8);
                    }
                }
            }
        }
        o[start] = b'[';
        o[pos] = b']';
        o[pos + 1] = b'\n';
        self.pos = pos + 2;
        Ok(())
    }
}

/// Bytes of a number's text (with its quotes) that [`RowWriter`] remembers: the longest,
/// a timestamp with microseconds, is 28.
const NUMBER_TEXT: usize = 32;

/// Slots of [`RowWriter`]'s cache of numbers' texts (direct-mapped, 48 bytes a slot).
const NUMBER_SLOTS: usize = 512;

/// A number [`RowWriter`] has written: its bytes, its kind (0 for an empty slot) and its text.
#[derive(Clone, Copy)]
struct NumberSlot {
    raw: u64,
    tag: u8,
    len: u8,
    text: [u8; NUMBER_TEXT],
}

/// The slot of a number's bytes, whatever its kind (the slot keeps the kind: one kind of
/// column rarely holds what another does).
fn number_slot(raw: u64) -> usize {
    (raw.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) as usize % NUMBER_SLOTS
}

/// Writes `number`, of a column of kind `t`, at `o[pos..]`; where it ends.
#[inline(always)]
fn write_number(
    o: &mut [u8],
    mut pos: usize,
    number: SasNumber,
    t: Temporal,
    text: &mut String,
) -> usize {
    match number {
        SasNumber::Missing => {
            o[pos..pos + 4].copy_from_slice(b"null");
            pos += 4;
        }
        SasNumber::Value(x) if t == Temporal::Number => {
            o[pos] = b'"';
            let n = write_f64(&mut o[pos + 1..], x);
            o[pos + 1 + n] = b'"';
            pos += n + 2;
        }
        SasNumber::Special(c) => {
            o[pos..pos + 4].copy_from_slice(&[b'"', b'.', c, b'"']);
            pos += 4;
        }
        // Refused before it is written.
        SasNumber::Inexact => {}
        SasNumber::Value(x) => {
            text.clear();
            push_number(text, x, t);
            let n = text.len();
            o[pos] = b'"';
            o[pos + 1..pos + 1 + n].copy_from_slice(text.as_bytes());
            o[pos + 1 + n] = b'"';
            pos += n + 2;
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::super::header::trim_end;
    use super::super::ibm::ibm_to_f64;
    use super::super::tests::ibm_of;
    use super::*;

    /// The conversion of one observation as the reader did it before it converted on all
    /// cores: value by value, trimmed, checked as UTF-8 and escaped.
    fn reference_row(row: &[u8], columns: &[Column]) -> Result<Vec<u8>, (usize, Problem)> {
        let mut out = vec![b'['];
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let value = &row[col.offset..col.offset + col.len];
            match col.kind {
                Kind::Char => {
                    let text = std::str::from_utf8(trim_end(value, b' '))
                        .map_err(|e| (i, Problem::NotUtf8(e.valid_up_to())))?;
                    crate::core::record::write_value(&mut out, Some(text));
                }
                Kind::Num(t) => match ibm_to_f64(value) {
                    SasNumber::Missing => out.extend_from_slice(b"null"),
                    SasNumber::Special(c) => {
                        crate::ingest::write_plain_value(&mut out, &[b'.', c]);
                    }
                    SasNumber::Value(x) => {
                        let mut text = String::new();
                        push_number(&mut text, x, t);
                        crate::ingest::write_plain_value(&mut out, text.as_bytes());
                    }
                    SasNumber::Inexact => {
                        let word = super::super::ibm::ibm_word(value);
                        return Err((i, Problem::Inexact(u64::from_be_bytes(word))));
                    }
                },
            }
        }
        out.push(b']');
        Ok(out)
    }

    /// A byte of a character value: mostly letters and blanks, sometimes one that must be
    /// escaped, a UTF-8 lead or continuation byte, or one that is never UTF-8.
    fn text_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        use proptest::prelude::*;
        prop_oneof![
            8 => prop::sample::select(b"AZaz09-. :/".to_vec()),
            6 => Just(b' '),
            1 => prop::sample::select(vec![b'"', b'\\', 0, 0x1f, b'\n', 0x7f]),
            1 => prop::sample::select(vec![0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff]),
        ]
    }

    /// Columns of an observation: character ones of 1 to 70 bytes (past a 64-byte mask word
    /// and the 32-byte copy), numeric ones of 2 to 8 of every kind.
    fn columns() -> impl proptest::strategy::Strategy<Value = Vec<Column>> {
        use proptest::prelude::*;
        let kind = prop_oneof![
            3 => Just(Kind::Char),
            1 => prop::sample::select(vec![
                Kind::Num(Temporal::Number),
                Kind::Num(Temporal::Date),
                Kind::Num(Temporal::DateTime),
                Kind::Num(Temporal::Time),
            ]),
        ];
        prop::collection::vec((kind, 1usize..71), 1..12).prop_map(|cols| {
            let mut offset = 0;
            cols.into_iter()
                .map(|(kind, len)| {
                    let len = if kind == Kind::Char { len } else { 2 + len % 7 };
                    let col = Column { kind, offset, len };
                    offset += len;
                    col
                })
                .collect()
        })
    }

    /// Observations for `columns`: character values of text bytes, some all blanks; numbers
    /// as IBM floats of every sort, missing values among them, and a few repeated often.
    fn observations(columns: &[Column], rows: usize, seed: u64, bytes: &[u8]) -> Vec<u8> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut data = Vec::new();
        for _ in 0..rows {
            for col in columns {
                match col.kind {
                    Kind::Char => {
                        let fill = (next() % (col.len as u64 + 1)) as usize;
                        for i in 0..col.len {
                            let b = if i < fill {
                                bytes[(next() % bytes.len() as u64) as usize]
                            } else {
                                b' '
                            };
                            data.push(b);
                        }
                    }
                    Kind::Num(_) => {
                        let ibm = match next() % 7 {
                            0 => *b".\0\0\0\0\0\0\0",
                            1 => [b'A' + (next() % 26) as u8, 0, 0, 0, 0, 0, 0, 0],
                            // Whole numbers and numbers of a few decimals, as dates and times
                            // hold them.
                            2 | 3 => ibm_of(
                                (next() % 2_000_000_000) as f64
                                    / [1.0, 10.0, 128.0][(next() % 3) as usize],
                            ),
                            // A few values again and again, in columns of every kind and
                            // length: what the converter's cache of numbers serves.
                            4 => ibm_of((next() % 16) as f64 / 2.0),
                            _ => next().to_be_bytes(),
                        };
                        data.extend_from_slice(&ibm[..col.len]);
                    }
                }
            }
        }
        data
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The masks of sixteen bytes with SSE2 are those byte by byte.
        #[test]
        fn masks_match_bytewise(bytes in proptest::array::uniform16(proptest::num::u8::ANY)) {
            proptest::prop_assert_eq!(masks16(&bytes), masks16_bytewise(&bytes));
        }

        /// Converted in ranges through the cursor and the masks, observations give the bytes of
        /// the value-by-value conversion, and the first bad value is the same one.
        #[test]
        fn ranges_convert_like_one_value_at_a_time(
            cols in columns(),
            bytes in proptest::collection::vec(text_byte(), 1..40),
            rows in 1usize..40,
            seed: u64,
            cut in 0usize..40,
        ) {
            let row_len: usize = cols.iter().map(|c| c.len).sum();
            let layout = Layout::new(cols.clone(), row_len);
            let data = observations(&cols, rows, seed, &bytes);
            let mut want = Vec::new();
            let mut want_ends = Vec::new();
            let mut want_error = None;
            for i in 0..rows {
                match reference_row(&data[i * row_len..(i + 1) * row_len], &cols) {
                    Ok(text) => {
                        want.extend_from_slice(&text);
                        want_ends.push(want.len());
                        want.push(b'\n');
                    }
                    Err((column, valid)) => {
                        want_error = Some((i, column, valid));
                        break;
                    }
                }
            }
            // Two ranges appended to a batch holding stale bytes.
            let cut = cut.min(rows);
            let mut batch = Batch { buf: vec![b'x'; 100], ends: Vec::new(), parts: Vec::new() };
            let got = write_rows(&data, 0..cut, &layout, &mut batch)
                .and_then(|()| write_rows(&data, cut..rows, &layout, &mut batch))
                .err()
                .map(|bad| (bad.row, bad.column, bad.problem));
            proptest::prop_assert_eq!(got, want_error);
            let kept = want_ends.len();
            proptest::prop_assert_eq!(&batch.ends[..], &want_ends[..kept]);
            proptest::prop_assert_eq!(
                String::from_utf8_lossy(&batch.buf),
                String::from_utf8_lossy(&want[..want_ends.last().map_or(0, |&e| e + 1)])
            );
        }
    }

    /// The cache of numbers' texts keeps a column's kind apart: the same bytes in columns of
    /// each kind, which share a slot, each give their own text, row after row.
    #[test]
    fn cached_numbers_keep_their_kind() {
        let kinds = [
            Temporal::Number,
            Temporal::Date,
            Temporal::DateTime,
            Temporal::Time,
        ];
        for ibm in [ibm_of(1.0), ibm_of(21_915.5), ibm_of(45_000.0)] {
            for (a, b) in [(0, 1), (0, 2), (1, 3), (2, 3), (3, 0)] {
                let cols = vec![
                    Column {
                        kind: Kind::Num(kinds[a]),
                        offset: 0,
                        len: 8,
                    },
                    Column {
                        kind: Kind::Num(kinds[b]),
                        offset: 8,
                        len: 8,
                    },
                ];
                let layout = Layout::new(cols.clone(), 16);
                let data = [ibm, ibm, ibm, ibm, ibm, ibm].concat();
                let row = reference_row(&data[..16], &cols).unwrap();
                let mut batch = Batch::default();
                write_rows(&data, 0..3, &layout, &mut batch).ok().unwrap();
                let want = [&row[..], b"\n"].concat().repeat(3);
                assert_eq!(
                    String::from_utf8_lossy(&batch.buf),
                    String::from_utf8_lossy(&want),
                    "{:?} then {:?}",
                    kinds[a],
                    kinds[b]
                );
            }
        }
    }

    #[test]
    fn trimmed_lengths() {
        let row: Vec<u8> = b"ab  c"
            .iter()
            .chain(&[b' '; 70])
            .chain(b"xy ")
            .copied()
            .collect();
        let numeric = vec![0u64; row.len().div_ceil(64)];
        let mut nonblank = vec![0u64; numeric.len()];
        assert!(row_masks(&row, &numeric, &mut nonblank));
        for from in 0..row.len() {
            for to in from..=row.len() {
                let want = trim_end(&row[from..to], b' ').len();
                assert_eq!(trimmed_len(&nonblank, from, to), want, "{from}..{to}");
            }
        }
    }
}
