//! IBM System/370 hexadecimal floating point, as SAS XPORT stores numbers, to the IEEE f64 it
//! is exactly ([`ibm_to_f64`]), with SAS's missing values ([`SasNumber`]).

/// A SAS numeric value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SasNumber {
    /// The ordinary missing value `.`.
    Missing,
    /// A special missing value: `b'A'..=b'Z'` or `b'_'`.
    Special(u8),
    /// A number.
    Value(f64),
    /// A number no f64 holds exactly: more than 53 significant bits (an IBM float has up to
    /// 56). Every writer of XPT converts from doubles, which IBM floats hold exactly, so none
    /// writes one; rounding it would give two different files one text.
    Inexact,
}

/// Converts an IBM System/370 floating-point number of 1 to 8 bytes (truncated on the right
/// when shorter than 8) to the f64 it is, or [`SasNumber::Inexact`], recognising SAS missing
/// values. Bytes past the eighth are ignored.
pub fn ibm_to_f64(bytes: &[u8]) -> SasNumber {
    word_to_f64(ibm_word(bytes))
}

/// The eight bytes an IBM number of 1 to 8 bytes stands for: zero-filled on the right when
/// shorter. Bytes past the eighth are ignored.
pub(super) fn ibm_word(bytes: &[u8]) -> [u8; 8] {
    match bytes.first_chunk::<8>() {
        Some(whole) => *whole,
        None => {
            let mut b = [0u8; 8];
            b[..bytes.len()].copy_from_slice(bytes);
            b
        }
    }
}

/// [`ibm_to_f64`] of the eight bytes [`ibm_word`] gives.
pub(super) fn word_to_f64(b: [u8; 8]) -> SasNumber {
    let fraction = u64::from_be_bytes(b) & 0x00ff_ffff_ffff_ffff;
    if fraction == 0 {
        return match b[0] {
            b'.' => SasNumber::Missing,
            c @ (b'A'..=b'Z' | b'_') => SasNumber::Special(c),
            c if c & 0x80 != 0 => SasNumber::Value(-0.0),
            _ => SasNumber::Value(0.0),
        };
    }
    // value = fraction × 2^(4 × (exponent − 64) − 56); the exponent spans −312..=199, so
    // every result is a normal f64 and the scaling below is exact.
    let mut exp2 = 4 * (i32::from(b[0] & 0x7f) - 64) - 56;
    let bits = 64 - fraction.leading_zeros();
    let mut q = fraction;
    if bits > 53 {
        // The low bits a double has no room for must be zero.
        let shift = bits - 53;
        if fraction & ((1u64 << shift) - 1) != 0 {
            return SasNumber::Inexact;
        }
        q = fraction >> shift;
        exp2 += shift as i32;
    }
    let scale = f64::from_bits(((exp2 + 1023) as u64) << 52);
    let x = q as f64 * scale;
    SasNumber::Value(if b[0] & 0x80 != 0 { -x } else { x })
}

#[cfg(test)]
mod tests {
    use super::super::tests::hex;
    use super::*;

    fn value(bytes: &[u8]) -> SasNumber {
        ibm_to_f64(bytes)
    }

    #[test]
    fn ibm_known_values() {
        // Encodings by the xport package's ieee_to_ibm (exact for every f64 in range).
        let cases = [
            ("4110000000000000", 1.0),
            ("c110000000000000", -1.0),
            ("401999999999999a", 0.1),
            ("4264000000000000", 100.0),
            ("3ca7c5ac471b4788", 1e-5),
            ("413243f6a8885a30", std::f64::consts::PI),
            ("c128000000000000", -2.5),
            ("7b172ebad6ddc73d", 1e70),
            ("06b0af48ec79ace8", 1e-70),
            ("4775bcd150000000", 123_456_789.0),
        ];
        for (h, x) in cases {
            assert_eq!(value(&hex(h)), SasNumber::Value(x), "{h}");
        }
    }

    #[test]
    fn ibm_extreme_exponents_and_zeros() {
        // Largest a double holds: 53 significant bits under the largest exponent, 2^252 - 2^199;
        // (1 - 2^-56) × 16^63 has 56, and no double is it.
        assert_eq!(
            value(&hex("7ffffffffffffff8")),
            SasNumber::Value(2f64.powi(252) - 2f64.powi(199))
        );
        assert_eq!(
            value(&hex("fffffffffffffff8")),
            SasNumber::Value(-(2f64.powi(252) - 2f64.powi(199)))
        );
        assert_eq!(value(&hex("7fffffffffffffff")), SasNumber::Inexact);
        // Smallest normalised 16^-65 and smallest unnormalised 2^-56 × 16^-64.
        assert_eq!(
            value(&hex("0010000000000000")),
            SasNumber::Value(2f64.powi(-260))
        );
        assert_eq!(
            value(&hex("0000000000000001")),
            SasNumber::Value(2f64.powi(-312))
        );
        // Unnormalised fractions are still exact: 0x01 × 16^-1 × 16 = 1/16.
        assert_eq!(
            value(&hex("4101000000000000")),
            SasNumber::Value(1.0 / 16.0)
        );
        assert_eq!(value(&hex("0000000000000000")), SasNumber::Value(0.0));
        let SasNumber::Value(neg) = value(&hex("8000000000000000")) else {
            panic!()
        };
        assert!(neg == 0.0 && neg.is_sign_negative());
        // A zero fraction under any other first byte is zero.
        assert_eq!(value(&hex("2100000000000000")), SasNumber::Value(0.0));
        assert_eq!(value(&hex("4000000000000000")), SasNumber::Value(0.0));
    }

    /// A number with more significant bits than a double's 53 is refused, not rounded: two
    /// files that differ in those bits would otherwise have one text.
    #[test]
    fn ibm_beyond_a_double_is_inexact() {
        // 0x2 leading hex digit: 54 significant bits, the last of them set.
        assert_eq!(value(&hex("4e20000000000001")), SasNumber::Inexact);
        // The same with that bit clear: exact.
        assert_eq!(
            value(&hex("4e20000000000002")),
            SasNumber::Value(2f64.powi(53) + 2.0)
        );
        // 0x8 leading digit: 56 bits, the three past a double's clear, or not.
        assert_eq!(
            value(&hex("4e80000000000008")),
            SasNumber::Value(2f64.powi(55) + 8.0)
        );
        assert_eq!(value(&hex("4e80000000000003")), SasNumber::Inexact);
        assert_eq!(value(&hex("41ffffffffffffff")), SasNumber::Inexact);
        // What the hostile test found: VISITNUM 10 with its last bit set.
        assert_eq!(value(&hex("41a0000000000000")), SasNumber::Value(10.0));
        assert_eq!(value(&hex("41a0000000000001")), SasNumber::Inexact);
        // Exactly 53 bits (leading digit 1): a double holds it.
        assert_eq!(
            value(&hex("4110000000000001")),
            SasNumber::Value(1.0 + 2f64.powi(-52))
        );
    }

    #[test]
    fn ibm_every_length() {
        // 0.1 and 1.0 truncated to 2..8 bytes (values checked against the exact fractions).
        let tenth = hex("401999999999999a");
        let want = [
            0.09765625,
            0.0999908447265625,
            0.09999996423721313,
            0.09999999986030161,
            0.0999999999994543,
            0.09999999999999787,
            0.1,
        ];
        for (w, x) in (2..=8).zip(want) {
            assert_eq!(value(&tenth[..w]), SasNumber::Value(x), "0.1 in {w} bytes");
            assert_eq!(value(&hex("4110000000000000")[..w]), SasNumber::Value(1.0));
            assert_eq!(value(&hex("2e00000000000000")[..w]), SasNumber::Missing);
            assert_eq!(
                value(&hex("5a00000000000000")[..w]),
                SasNumber::Special(b'Z')
            );
        }
        for w in 2..=7 {
            let mut b = tenth[..w].to_vec();
            b.resize(8, 0);
            assert_eq!(value(&tenth[..w]), value(&b), "truncation is zero fill");
        }
    }

    #[test]
    fn missing_values() {
        assert_eq!(value(&hex("2e00000000000000")), SasNumber::Missing);
        assert_eq!(value(&hex("4100000000000000")), SasNumber::Special(b'A'));
        assert_eq!(value(&hex("5a00000000000000")), SasNumber::Special(b'Z'));
        assert_eq!(value(&hex("5f00000000000000")), SasNumber::Special(b'_'));
        // The same first bytes with a fraction are numbers.
        assert!(matches!(
            value(&hex("2e00000000000001")),
            SasNumber::Value(_)
        ));
        assert!(matches!(
            value(&hex("4100000000000001")),
            SasNumber::Value(_)
        ));
    }
}
