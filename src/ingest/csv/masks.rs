//! Separator bit masks of 64-byte chunks, for the one-pass encoder ([`super::plain`]): the `,`
//! and line ends outside quotes, the doubled quotes inside them, and whether the chunk holds a
//! byte that takes its piece off the one-pass path. Byte classes are found sixteen bytes at a
//! time with SSE2 on x86-64 (through safe_arch), eight at a time in plain integer arithmetic
//! elsewhere; quoted regions by a prefix XOR of the quote mask, as in simdjson.
//!
//! Kept apart from the encoder: it is the architecture-specific part, and its rules are tested
//! byte by byte here, and both scans against each other, whatever the encoder does with them.

use crate::ingest::prefix_xor;

/// Masks of one chunk of up to 64 bytes (bit `i` for byte `i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Masks {
    /// `,` and `\n` outside quotes.
    pub(super) separators: u64,
    /// `\n` outside quotes.
    pub(super) newlines: u64,
    /// The first `"` of each doubled `""` inside a quoted field: a literal quote, which JSON
    /// writes `\"`.
    pub(super) escapes: u64,
}

/// What [`separator_masks`] carries from one chunk of a piece to the next.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scan {
    /// Whether the chunk starts inside a quoted field.
    pub(super) quoted: bool,
    /// Whether the byte before the chunk ends a field (a `,` or `\n`, or the piece starts there).
    field_start: bool,
    /// Whether the byte before the chunk is the first quote of a doubled `""`.
    escape: bool,
}

impl Scan {
    /// The state at the start of a piece (pieces start at record boundaries).
    pub(super) const START: Self = Self {
        quoted: false,
        field_start: true,
        escape: false,
    };
}

/// The [`Masks`] of up to 64 bytes, or `None` when the chunk has a byte that takes the piece off
/// the plain path: `\\`, a control character other than a line end, a line end inside quotes, a
/// `\r` not followed by `\n` (`next` is the byte after the chunk, `None` at the piece's end),
/// or a quote other than one opening a field, one closing it right before a `,` or line end, or
/// a doubled `""` inside a quoted field. Quoted regions are found as in simdjson, by a prefix XOR
/// of the quote mask; a doubled quote reads there as a closing quote right before an opening one.
pub(super) fn separator_masks(chunk: &[u8], next: Option<u8>, scan: &mut Scan) -> Option<Masks> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
}
