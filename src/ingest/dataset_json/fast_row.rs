//! The fast path for a row ([`fast_row`]): a row of plain strings, numbers, booleans and nulls
//! of its columns' types is written without serde_json, a string's end found sixteen bytes at a
//! time (SSE2 on x86-64, one at a time elsewhere) and a short value copied in one fixed 32-byte
//! move, a short decimal read off its literal ([`short_decimal`]). Any other row is declined,
//! for [`super::row::parse_row`].

use super::metadata::DataType;
use crate::ingest::canonical::{F64_MAX, write_f64};

/// Most bytes [`fast_row`] writes for a value beyond the bytes of its text: quotes and the
/// digits of a number (`1e20` is written `"100000000000000000000"`), with the comma.
pub(super) const FAST_GROWTH: usize = 3 + F64_MAX;

/// JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The index of the first byte at or after `i` that is not JSON whitespace.
pub(super) fn skip_space(text: &[u8], mut i: usize) -> usize {
    while text.get(i).copied().is_some_and(is_space) {
        i += 1;
    }
    i
}

/// Where the JSON number at `text[i..]` ends, and whether it is an integer (no fraction or
/// exponent), by the grammar of RFC 8259; `None` if it does not follow it.
fn number_end(text: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let digits = |text: &[u8], i: usize| {
        i + text[i.min(text.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    if text.get(i) == Some(&b'-') {
        i += 1;
    }
    match text.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(text, i),
        _ => return None,
    }
    let mut integer = true;
    if text.get(i) == Some(&b'.') {
        let end = digits(text, i + 1);
        if end == i + 1 {
            return None;
        }
        (i, integer) = (end, false);
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(text, i);
        if end == i {
            return None;
        }
        (i, integer) = (end, false);
    }
    Some((i, integer))
}

/// Parses a row the way most rows are, without serde_json: strings without escapes, numbers,
/// booleans and nulls, each of the type its column wants. The row array starts in `text[..len]`
/// (after whitespace) and must end in it (the rest of `text` is read only by fixed-size
/// copies); its canonical `values` array, as [`parse_row`] would write it, goes to `o[pos..]`,
/// which has room for `len` bytes and [`FAST_GROWTH`] bytes a value, and 64 more. Returns where
/// the written array ends and where the row's `]` ends in `text` (what follows is the caller's
/// to check), or `None`, having written part of it, at anything else (an escape, a control
/// character, bytes that are not UTF-8, a value of the wrong type, a malformed or long number, a
/// row of the wrong length, ...): [`parse_row`] then parses the row again and writes it or names
/// its error, so that every row has one text and every error is serde_json's. `ascii`: the
/// caller knows `text[..len]` to be ASCII, so that no string needs a UTF-8 check.
///
/// [`parse_row`]: super::row::parse_row
pub(super) fn fast_row(
    types: &[DataType],
    text: &[u8],
    len: usize,
    o: &mut [u8],
    mut pos: usize,
    ascii: bool,
) -> Option<(usize, usize)> {
    let row = &text[..len];
    let start = pos;
    let mut i = skip_space(row, 0);
    if row.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    for (col, &ty) in types.iter().enumerate() {
        i = skip_space(row, i);
        // The first becomes the array's `[` below.
        o[pos] = b',';
        pos += 1;
        if col > 0 {
            if row.get(i) != Some(&b',') {
                return None;
            }
            i = skip_space(row, i + 1);
        }
        match row.get(i) {
            Some(b'"') => {
                let end = plain_string_end(text, len, i + 1, ascii)?;
                match ty {
                    DataType::String
                    | DataType::Uri
                    | DataType::Decimal
                    | DataType::Datetime
                    | DataType::Date
                    | DataType::Time => {}
                    _ => return None,
                }
                // The string with its quotes is its canonical text, but `""`, which is null.
                let n = end + 1 - i;
                if n == 2 {
                    o[pos..pos + 4].copy_from_slice(b"null");
                    pos += 4;
                } else {
                    copy_short(o, pos, &text[i..], n);
                    pos += n;
                }
                i = end + 1;
            }
            Some(b'n') if row.get(i..i + 4) == Some(b"null") => {
                o[pos..pos + 4].copy_from_slice(b"null");
                pos += 4;
                i += 4;
            }
            Some(b't') if ty == DataType::Boolean && row.get(i..i + 4) == Some(b"true") => {
                o[pos..pos + 6].copy_from_slice(b"\"true\"");
                pos += 6;
                i += 4;
            }
            Some(b'f') if ty == DataType::Boolean && row.get(i..i + 5) == Some(b"false") => {
                o[pos..pos + 7].copy_from_slice(b"\"false\"");
                pos += 7;
                i += 5;
            }
            Some(b'-' | b'0'..=b'9') => {
                let (end, integer) = number_end(row, i)?;
                let literal = &row[i..end];
                // Up to 19 bytes an integer fits an i64 or a u64 as serde_json reads it;
                // longer numbers are serde_json's.
                if literal.len() > 19 {
                    return None;
                }
                o[pos] = b'"';
                match ty {
                    DataType::Integer if integer => {
                        if literal == b"-0" {
                            o[pos + 1] = b'0';
                            pos += 2;
                        } else {
                            // Without leading zeros (the grammar), the digits are the text of
                            // the integer.
                            copy_short(o, pos + 1, &text[i..], literal.len());
                            pos += 1 + literal.len();
                        }
                    }
                    DataType::Float | DataType::Double => {
                        let n = match short_decimal(literal, &mut o[pos + 1..]) {
                            Some(n) => n,
                            None => {
                                // ASCII; correctly rounded, as serde_json's float_roundtrip is.
                                let x: f64 = std::str::from_utf8(literal).ok()?.parse().ok()?;
                                // Overflow, underflow and subnormals are serde_json's to judge.
                                let mut mantissa =
                                    literal.iter().take_while(|b| !matches!(b, b'e' | b'E'));
                                if !x.is_finite()
                                    || (x != 0.0 && !x.is_normal())
                                    || (x == 0.0 && mantissa.any(|b| (b'1'..=b'9').contains(b)))
                                {
                                    return None;
                                }
                                write_f64(&mut o[pos + 1..], x)
                            }
                        };
                        pos += 1 + n;
                    }
                    _ => return None,
                }
                o[pos] = b'"';
                pos += 1;
                i = end;
            }
            _ => return None,
        }
    }
    i = skip_space(row, i);
    if row.get(i) != Some(&b']') {
        return None;
    }
    o[start] = b'[';
    o[pos] = b']';
    Some((pos + 1, i + 1))
}

/// ECMAScript `Number::toString` of the nearest double to the JSON number `literal`, written at
/// the start of `out`, when it is the literal itself less trailing fraction zeros (and `-` of
/// a zero): a literal without exponent, of at most 15 digits and not below 10^-6, whose double
/// has the literal's digits as its shortest (no two decimals of at most 15 significant digits
/// round to one double) and is written without exponent. Its length, or `None` for others,
/// which are parsed.
fn short_decimal(literal: &[u8], out: &mut [u8]) -> Option<usize> {
    if literal.iter().any(|&b| matches!(b, b'e' | b'E')) {
        return None;
    }
    let (negative, digits) = match literal.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, literal),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &[][..]),
    };
    let kept = fraction
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(0, |k| k + 1);
    let fraction = &fraction[..kept];
    if whole.len() + fraction.len() > 15 {
        return None;
    }
    if whole == b"0" {
        if fraction.is_empty() {
            out[0] = b'0';
            return Some(1);
        }
        // ECMAScript writes 1e-7 and below with an exponent.
        if fraction.iter().take_while(|&&b| b == b'0').count() > 5 {
            return None;
        }
    }
    let mut n = 0;
    if negative {
        out[0] = b'-';
        n = 1;
    }
    out[n..n + whole.len()].copy_from_slice(whole);
    n += whole.len();
    if !fraction.is_empty() {
        out[n] = b'.';
        out[n + 1..n + 1 + fraction.len()].copy_from_slice(fraction);
        n += 1 + fraction.len();
    }
    Some(n)
}

/// Where the string whose text starts at `text[from]` ends (its closing quote), if it holds no
/// escape and no control character, is UTF-8 (known when `ascii`: the row is ASCII) and ends
/// within the row, `text[..len]`; sixteen bytes at a time, which most strings of a row fit, so
/// that the loop's exit is predictable. Bytes of `text` past the row (the next rows of the
/// chunk) are read, never taken.
fn plain_string_end(text: &[u8], len: usize, from: usize, ascii: bool) -> Option<usize> {
    let mut i = from;
    let end = loop {
        let Some(block) = text.get(i..i + 16) else {
            // The chunk's last bytes, one at a time.
            let k = text[..len]
                .get(i..)?
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            break i + k;
        };
        let (quotes, bad) = string_masks(block.try_into().unwrap_or(&[0; 16]));
        let stops = quotes | bad;
        if stops != 0 {
            break i + stops.trailing_zeros() as usize;
        }
        i += 16;
    };
    if end >= len || text[end] != b'"' {
        return None;
    }
    let string = &text[from..end];
    if !ascii && !string.is_ascii() && std::str::from_utf8(string).is_err() {
        return None;
    }
    Some(end)
}

/// Quotes, and the bytes no plain string holds (`\\`, control characters), of a 16-byte block
/// as bit masks (byte `i` is bit `i`); with SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
fn string_masks(block: &[u8; 16]) -> (u32, u32) {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let v = m128i::from(*block);
    let quote = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8));
    let escape = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8));
    // Below 0x20 (unsigned): the minimum with 0x1f is the byte itself.
    let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, set_splat_i8_m128i(0x1f)), v);
    (
        move_mask_i8_m128i(quote) as u32,
        move_mask_i8_m128i(escape | control) as u32,
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn string_masks(block: &[u8; 16]) -> (u32, u32) {
    string_masks_bytewise(block)
}

/// [`string_masks`] one byte at a time, for processors without SSE2; tests check it against
/// the SSE2 version.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn string_masks_bytewise(block: &[u8; 16]) -> (u32, u32) {
    let (mut quotes, mut bad) = (0, 0);
    for (i, &b) in block.iter().enumerate() {
        if b == b'"' {
            quotes |= 1 << i;
        }
        if b == b'\\' || b < 0x20 {
            bad |= 1 << i;
        }
    }
    (quotes, bad)
}

/// Copies `from[..n]` to `o[at..]`: one fixed 32-byte copy when `from` has the bytes and `n`
/// is at most 32 (the surplus is overwritten next), else a copy of `n`.
#[inline(always)]
fn copy_short(o: &mut [u8], at: usize, from: &[u8], n: usize) {
    match from.get(..32) {
        Some(window) if n <= 32 => o[at..at + 32].copy_from_slice(window),
        _ => o[at..at + n].copy_from_slice(&from[..n]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Chunk;
    use super::super::row::{parse_row, parse_rows};
    use super::super::tests::Rng;
    use super::*;
    use crate::ingest::Batch;
    use crate::ingest::canonical::push_f64;

    /// [`plain_string_end`] finds the closing quote a byte-at-a-time scan finds, and refuses
    /// what serde_json would not lend, wherever the stop falls in its blocks.
    #[test]
    fn plain_strings_agree_with_bytes() {
        let alphabet: &[u8] = b"aaaaaaaaaaaa\"\\\x01\x1f \x7f\xc3\xa9\xff\x80";
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..300_000 {
            let len = rng.below(60);
            let mut text = vec![b'"'];
            text.extend((0..len).map(|_| *rng.pick(alphabet)));
            let row_len = 1 + rng.below(text.len());
            let row = &text[..row_len];
            let want = row[1..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map(|k| k + 1)
                .filter(|&end| row[end] == b'"' && std::str::from_utf8(&row[1..end]).is_ok());
            assert_eq!(
                plain_string_end(&text, row_len, 1, text[..row_len].is_ascii()),
                want,
                "{text:?} {row_len}"
            );
        }
        let mut block = [0u8; 16];
        for _ in 0..100_000 {
            for b in &mut block {
                *b = *rng.pick(alphabet);
            }
            assert_eq!(string_masks(&block), string_masks_bytewise(&block));
        }
    }

    /// A number [`short_decimal`] reads off its literal is the one its double gives.
    #[test]
    fn short_decimals_are_their_doubles() {
        let mut rng = Rng(0x0bad_cafe_dead_beef);
        let mut taken = 0;
        for _ in 0..300_000 {
            let mut literal = String::new();
            if rng.below(3) == 0 {
                literal.push('-');
            }
            let whole = rng.below(17);
            if whole == 0 {
                literal.push('0');
            }
            for k in 0..whole {
                let low = if k == 0 { 1 } else { 0 };
                literal.push(char::from(b'0' + (low + rng.below(10 - low)) as u8));
            }
            let fraction = rng.below(18);
            if fraction > 0 || rng.below(2) == 0 {
                literal.push('.');
                // Runs of zeros at either end, sometimes.
                let zeros = if rng.below(2) == 0 { rng.below(9) } else { 0 };
                for k in 0..fraction.max(1) {
                    let digit = if k < zeros || rng.below(4) == 0 {
                        0
                    } else {
                        rng.below(10)
                    };
                    literal.push(char::from(b'0' + digit as u8));
                }
            }
            let mut out = [0u8; F64_MAX];
            if let Some(n) = short_decimal(literal.as_bytes(), &mut out) {
                taken += 1;
                let mut want = String::new();
                push_f64(&mut want, literal.parse().unwrap());
                assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), want, "{literal}");
            }
        }
        assert!(taken > 100_000, "{taken}");
    }

    /// Cells of every kind, for [`fast_row_agrees_with_serde_json`]: what the fast path takes
    /// and what it must leave to serde_json.
    const CELLS: &[&[u8]] = &[
        b"\"\"",
        b"\"a\"",
        b"\"2024-01-31T10:00\"",
        b"\"a string longer than thirty-two bytes, to be copied at length\"",
        b"\"\xc3\xa9t\xc3\xa9\"",
        b"\"\xe2\x80\xa8\"",
        b"\"\x7f\"",
        b"\"a\\\"b\"",
        b"\"\\u00e9\"",
        b"\"a\x01b\"",
        b"\"a\tb\"",
        b"\"\xff\"",
        b"\"\xc3\"",
        b"\"\xed\xa0\x80\"",
        b"\"[1]\"",
        b"\"a",
        b"0",
        b"-0",
        b"-0.0",
        b"0e0",
        b"1",
        b"-1",
        b"63.0",
        b"6.3e1",
        b"1.5",
        b"-2.25",
        b"0.1",
        b"0.1000",
        b"100.000",
        b"-100.0",
        b"123456.7890",
        b"0.000001",
        b"-0.0000010",
        b"0.0000001",
        b"0.00000123",
        b"123456789012345",
        b"12345678901234.5",
        b"1234567890123456",
        b"99999999999999.9",
        b"999999999999999.9",
        b"0.30000000000000004",
        b"9007199254740993.5",
        b"3.141592653589793",
        b"1e20",
        b"1E+2",
        b"1e-2",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"0.0000e-999",
        b"4.9e-324",
        b"2.2250738585072014e-308",
        b"9007199254740993",
        b"9007199254740993.0",
        b"123456789012345678",
        b"9999999999999999999",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775808",
        b"-9223372036854775809",
        b"1.0000000000000000000001",
        b"01",
        b"1.",
        b".5",
        b"-",
        b"1e",
        b"+1",
        b"--1",
        b"true",
        b"false",
        b"null",
        b"nul",
        b"tru",
        b"nullx",
        b"[]",
        b"{}",
        b"[1]",
        b"",
    ];

    /// Every row [`fast_row`] takes, it writes as serde_json's parse writes it; whatever it
    /// leaves, [`parse_rows`] still writes or fails as serde_json does.
    #[test]
    fn fast_row_agrees_with_serde_json() {
        const TYPES: &[DataType] = &[
            DataType::String,
            DataType::Decimal,
            DataType::Date,
            DataType::Integer,
            DataType::Float,
            DataType::Double,
            DataType::Boolean,
        ];
        let spaces: &[&[u8]] = &[b"", b"", b"", b" ", b"\t", b"\r\n "];
        // Not JSON whitespace, now and then.
        let space = |rng: &mut Rng| -> &[u8] {
            match rng.below(300) {
                0 => b"\x0b",
                1 => b"\xc2\xa0",
                _ => spaces[rng.below(spaces.len())],
            }
        };
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut fast, mut slow) = (0, 0);
        for _ in 0..20 {
            let types: Vec<DataType> = (0..1 + rng.below(6)).map(|_| *rng.pick(TYPES)).collect();
            let mut chunk = Chunk::default();
            let mut want = Vec::new();
            for _ in 0..5000 {
                // Mostly well-formed rows of cells of the column's kind, sometimes one value
                // too many or too few, or a stray comma.
                let cells = match rng.below(20) {
                    0 => types.len() + 1,
                    1 => types.len() - 1,
                    _ => types.len(),
                };
                let mut row = Vec::new();
                row.extend_from_slice(space(&mut rng));
                row.push(b'[');
                for k in 0..cells {
                    if k > 0 {
                        row.extend_from_slice(space(&mut rng));
                        row.extend_from_slice(if rng.below(200) == 0 { b",," } else { b"," });
                    }
                    row.extend_from_slice(space(&mut rng));
                    let cell = match (types.get(k), rng.below(4)) {
                        (Some(DataType::Integer), 0 | 1) => b"-1234567" as &[u8],
                        (Some(DataType::Float | DataType::Double), 0) => b"12.5",
                        (Some(DataType::Float | DataType::Double), 1) => b"-0.001",
                        (Some(DataType::Boolean), 0 | 1) => b"false",
                        (Some(DataType::String | DataType::Decimal | DataType::Date), 0 | 1) => {
                            b"\"1.50\""
                        }
                        _ => *rng.pick(CELLS),
                    };
                    row.extend_from_slice(cell);
                }
                row.extend_from_slice(space(&mut rng));
                row.push(b']');
                row.extend_from_slice(space(&mut rng));

                let mut one = Vec::new();
                let parsed = parse_row(&types, &row, &mut one, &mut String::new());
                // With the bytes of the next rows after it, as in a chunk.
                let rest = [row.as_slice(), b"[\"the next row\",12345678901234567890]"].concat();
                let mut o = vec![b'#'; row.len() + FAST_GROWTH * types.len() + 2 * F64_MAX];
                let taken = fast_row(&types, &rest, row.len(), &mut o, 0, row.is_ascii())
                    .filter(|&(_, row_end)| skip_space(&row, row_end) == row.len());
                if let Some((end, _)) = taken {
                    fast += 1;
                    assert!(parsed.is_ok(), "{}", String::from_utf8_lossy(&row));
                    assert_eq!(
                        String::from_utf8_lossy(&o[..end]),
                        String::from_utf8_lossy(&one),
                        "{types:?} {}",
                        String::from_utf8_lossy(&row)
                    );
                } else {
                    slow += 1;
                }
                if parsed.is_ok() {
                    want.extend_from_slice(&one);
                    want.push(b'\n');
                    chunk.text.extend_from_slice(&row);
                    chunk.ends.push(chunk.text.len());
                }
            }
            // The good rows through parse_rows, into a buffer of stale bytes.
            let mut batch = Batch {
                buf: vec![b'#'; 1 << 16],
                ..Batch::default()
            };
            parse_rows(&types, &chunk, 0..chunk.len(), &mut batch).unwrap_or_else(|_| panic!());
            assert_eq!(
                String::from_utf8_lossy(&batch.buf),
                String::from_utf8_lossy(&want)
            );
        }
        // Both paths were taken, often.
        assert!(fast > 10_000 && slow > 10_000, "{fast} fast, {slow} slow");
    }
}
