//! IBM System/370 hexadecimal floating point, as SAS XPORT stores numbers, to the nearest IEEE
//! f64 ([`ibm_to_f64`]), with SAS's missing values ([`SasNumber`]).

/// A SAS numeric value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SasNumber {
    /// The ordinary missing value `.`.
    Missing,
    /// A special missing value: `b'A'..=b'Z'` or `b'_'`.
    Special(u8),
    /// A number.
    Value(f64),
}

/// Converts an IBM System/370 floating-point number of 1 to 8 bytes (truncated on the right
/// when shorter than 8) to the nearest f64, ties to even, recognising SAS missing values.
/// Bytes past the eighth are ignored.
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
    // value = fraction × 2^(4 × (exponent − 64) − 56); the exponent spans −312..=199 after
    // rounding, so every result is a normal f64 and the scaling below is exact.
    let mut exp2 = 4 * (i32::from(b[0] & 0x7f) - 64) - 56;
    let bits = 64 - fraction.leading_zeros();
    let mut q = fraction;
    if bits > 53 {
        let shift = bits - 53;
        let rest = fraction & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        q = fraction >> shift;
        if rest > half || (rest == half && q & 1 == 1) {
            q += 1; // may reach 2^53, still exact
        }
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
        // Largest: (1 - 2^-56) × 16^63 rounds up to 2^252.
        assert_eq!(
            value(&hex("7fffffffffffffff")),
            SasNumber::Value(2f64.powi(252))
        );
        assert_eq!(
            value(&hex("ffffffffffffffff")),
            SasNumber::Value(-(2f64.powi(252)))
        );
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

    #[test]
    fn ibm_rounds_to_nearest_even() {
        // 0x2 leading hex digit: 54 significant bits, one to drop.
        let base = 2f64.powi(53); // fraction 2^53 × 2^(4×(0x4e−64)−56) = 2^53
        // ...0 + tie (1): stays even.
        assert_eq!(value(&hex("4e20000000000001")), SasNumber::Value(base));
        // ...1 + tie: up to even.
        assert_eq!(
            value(&hex("4e20000000000003")),
            SasNumber::Value(base + 4.0)
        );
        // above the tie: up.
        assert_eq!(
            value(&hex("4e80000000000005")),
            SasNumber::Value(2f64.powi(55) + 8.0)
        );
        // below the tie: down (0x8 leading digit: 56 bits, three dropped; 3 < 4).
        assert_eq!(
            value(&hex("4e80000000000003")),
            SasNumber::Value(2f64.powi(55))
        );
        // all ones round up into the next power of 16.
        assert_eq!(value(&hex("41ffffffffffffff")), SasNumber::Value(16.0));
        // exactly 53 bits (leading digit 1): no rounding.
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
