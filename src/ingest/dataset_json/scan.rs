//! Where a JSON value ends, for the tokenizer ([`value_len`]): brackets counted outside strings
//! 64 bytes at a time while no backslash is met, the bytes that matter found sixteen at a time
//! with SSE2 on x86-64 (one at a time elsewhere) and strings by a prefix XOR of the quotes, as
//! in simdjson; the rest one byte at a time, a string's end found eight bytes at a time.

use crate::ingest::prefix_xor;

/// Length of the JSON value at the start of `b` (which is not whitespace), if `b` holds all of
/// it. Exact for valid JSON; for invalid JSON it returns some prefix, which serde_json rejects.
/// A number or literal is complete only when a delimiter follows it.
pub(super) fn value_len(b: &[u8]) -> Option<usize> {
    match *b.first()? {
        b'"' => string_len(b),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut i = 0;
            // Whole blocks of 64 bytes without a backslash: strings found by a prefix XOR of
            // the quotes (as simdjson does), brackets counted outside them.
            let mut in_string = false;
            while let Some(block) = b.get(i..i + 64) {
                let m = json_masks(block.try_into().unwrap_or(&[0; 64]));
                if m.escapes != 0 {
                    break;
                }
                let inside = prefix_xor(m.quotes) ^ if in_string { u64::MAX } else { 0 };
                let mut brackets = (m.opens | m.closes) & !inside;
                while brackets != 0 {
                    let bit = brackets.trailing_zeros() as usize;
                    brackets &= brackets - 1;
                    if m.opens >> bit & 1 == 1 {
                        depth += 1;
                    } else {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + bit + 1);
                        }
                    }
                }
                in_string = inside >> 63 == 1;
                i += 64;
            }
            // The rest one byte at a time, first to the end of a string left open.
            if in_string {
                i = string_end(b, i)?;
            }
            brackets_end(b, i, depth)
        }
        _ => b.iter().position(|&c| {
            matches!(
                c,
                b',' | b']' | b'}' | b'[' | b'{' | b'"' | b':' | b' ' | b'\t' | b'\n' | b'\r'
            )
        }),
    }
}

/// Where the array or object ends whose brackets are `depth` deep at `b[i]` (outside any
/// string), one byte at a time: the index after its closing bracket.
fn brackets_end(b: &[u8], mut i: usize, mut depth: usize) -> Option<usize> {
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                i = string_end(b, i + 1)?;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Length of the string whose opening quote is `b[0]`, closing quote included.
fn string_len(b: &[u8]) -> Option<usize> {
    string_end(b, 1)
}

/// Where the string that `b[i]` is inside (after its opening quote, not after a `\\`) ends:
/// the index after its closing quote.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let j = quote_or_escape(b, i)?;
        if b[j] == b'"' {
            return Some(j + 1);
        }
        i = j + 2;
    }
}

/// Bytes of a 64-byte block that matter for finding where a value ends, as bit masks (byte `i`
/// is bit `i`).
#[derive(Debug, Default, PartialEq, Eq)]
struct JsonMasks {
    quotes: u64,
    escapes: u64,
    /// `[` and `{`.
    opens: u64,
    /// `]` and `}`.
    closes: u64,
}

/// [`JsonMasks`] sixteen bytes at a time with SSE2, which every x86-64 processor has. `[` and
/// `{` differ only in bit 0x20, and so do `]` and `}`: with that bit set, one compare finds both.
#[cfg(target_arch = "x86_64")]
fn json_masks(block: &[u8; 64]) -> JsonMasks {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (quote, escape) = (splat(b'"'), splat(b'\\'));
    let (lower, curly, curly_close) = (splat(0x20), splat(b'{'), splat(b'}'));
    let bits = |m: m128i| u64::from(move_mask_i8_m128i(m) as u16);
    let mut m = JsonMasks::default();
    for (j, part) in block.as_chunks::<16>().0.iter().enumerate() {
        let v = m128i::from(*part);
        let folded = v | lower;
        let shift = 16 * j;
        m.quotes |= bits(cmp_eq_mask_i8_m128i(v, quote)) << shift;
        m.escapes |= bits(cmp_eq_mask_i8_m128i(v, escape)) << shift;
        m.opens |= bits(cmp_eq_mask_i8_m128i(folded, curly)) << shift;
        m.closes |= bits(cmp_eq_mask_i8_m128i(folded, curly_close)) << shift;
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
fn json_masks(block: &[u8; 64]) -> JsonMasks {
    json_masks_bytewise(block)
}

/// [`JsonMasks`] one byte at a time, for processors without SSE2; tests check it against the
/// SSE2 version.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn json_masks_bytewise(block: &[u8; 64]) -> JsonMasks {
    let mut m = JsonMasks::default();
    for (i, &c) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match c {
            b'"' => m.quotes |= bit,
            b'\\' => m.escapes |= bit,
            b'[' | b'{' => m.opens |= bit,
            b']' | b'}' => m.closes |= bit,
            _ => {}
        }
    }
    m
}

/// `b` in every byte of a word.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// The high bit of the first byte of `w` (in memory order, as loaded little-endian) that is
/// zero, and maybe of bytes after it, never of one before it: borrows run only upward, from a
/// zero byte.
const fn first_zero_byte(w: u64) -> u64 {
    w.wrapping_sub(splat(1)) & !w & splat(0x80)
}

/// The index of the first `"` or `\\` in `b` at or after `i`, eight bytes at a time.
fn quote_or_escape(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let m = first_zero_byte(w ^ splat(b'"')) | first_zero_byte(w ^ splat(b'\\'));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let k = b.get(i..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
    Some(i + k)
}

#[cfg(test)]
mod tests {
    use super::super::tests::Rng;
    use super::*;

    #[test]
    fn value_len_finds_the_end() {
        assert_eq!(value_len(br#"["a]\"",[1,{"]":"["}],"\\"] ,"#), Some(27));
        assert_eq!(value_len(br#""\\\"" x"#), Some(6));
        assert_eq!(value_len(b"123,"), Some(3));
        assert_eq!(value_len(b"123"), None);
        assert_eq!(value_len(br#"["a""#), None);
        assert_eq!(value_len(br#""\"#), None);
        assert_eq!(value_len(b""), None);
    }

    /// `value_len` as it was before its 64-byte blocks: one byte at a time.
    fn value_len_bytewise(b: &[u8]) -> Option<usize> {
        match *b.first()? {
            b'[' | b'{' => brackets_end(b, 0, 0),
            _ => value_len(b),
        }
    }

    /// The blocks of [`value_len`] find the end the byte-at-a-time scan finds, valid JSON or
    /// not, with strings, escapes and brackets falling on either side of a block's edge.
    #[test]
    fn value_len_blocks_agree_with_bytes() {
        let alphabet = b"[[]]{}\"\"\\ a,1xx";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let len = 1 + rng.below(300);
            let mut b: Vec<u8> = (0..len).map(|_| *rng.pick(alphabet)).collect();
            b[0] = *rng.pick(b"[{\"");
            assert_eq!(
                value_len(&b),
                value_len_bytewise(&b),
                "{}",
                String::from_utf8_lossy(&b)
            );
        }
        let mut block = [0u8; 64];
        for _ in 0..100_000 {
            for c in &mut block {
                *c = *rng.pick(alphabet);
            }
            assert_eq!(json_masks(&block), json_masks_bytewise(&block));
        }
    }
}
