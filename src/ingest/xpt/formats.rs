//! SAS formats and the text of dates, times and datetimes: a numeric column's format names
//! how its values are written ([`temporal`], by base name in [`DATE_FORMATS`],
//! [`DATETIME_FORMATS`] and [`TIME_FORMATS`]), and [`push_number`] writes a value as ISO 8601
//! text from SAS's 1960 epoch, seconds rounded exactly to the microsecond, or as a plain number
//! when it is not a date, time or datetime in range.

use crate::ingest::canonical::{TimeUnit, Zone, push_date, push_f64, push_time, push_timestamp};

/// Days from 1960-01-01 (SAS's epoch) back to 1970-01-01 (ours).
const SAS_EPOCH_DAYS: i64 = 3653;

/// Microseconds from 1960-01-01T00:00:00 to 1970-01-01T00:00:00.
const SAS_EPOCH_MICROS: i64 = SAS_EPOCH_DAYS * 86_400 * 1_000_000;

/// SAS day numbers of 0001-01-01 and 9999-12-31: dates outside are written as numbers.
const MIN_SAS_DAY: f64 = -715_509.0;
const MAX_SAS_DAY: f64 = 2_936_549.0;

/// Microseconds since 1970 of 0001-01-01T00:00:00 and of the last microsecond of 9999.
const MIN_MICROS_1970: i64 = -62_135_596_800_000_000;
const MAX_MICROS_1970: i64 = 253_402_300_799_999_999;

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// Date formats (value: days since 1960-01-01), by base name.
pub const DATE_FORMATS: &[&str] = &[
    "B8601DA", "DATE", "DAY", "DDMMYY", "DDMMYYB", "DDMMYYC", "DDMMYYD", "DDMMYYN", "DDMMYYP",
    "DDMMYYS", "DOWNAME", "E8601DA", "EURDFDD", "EURDFDE", "EURDFDN", "EURDFDWN", "EURDFMN",
    "EURDFMY", "EURDFWDX", "EURDFWKX", "IS8601DA", "JULDAY", "JULIAN", "MINGUO", "MMDDYY",
    "MMDDYYB", "MMDDYYC", "MMDDYYD", "MMDDYYN", "MMDDYYP", "MMDDYYS", "MMYY", "MMYYC", "MMYYD",
    "MMYYN", "MMYYP", "MMYYS", "MONNAME", "MONTH", "MONYY", "NENGO", "NLDATE", "NLDATEL",
    "NLDATEM", "NLDATEMN", "NLDATES", "NLDATEW", "NLDATEWN", "NLDATEYM", "NLDATEYQ", "NLDATEYR",
    "NLDATEYW", "QTR", "QTRR", "WEEKDATE", "WEEKDATX", "WEEKDAY", "WEEKU", "WEEKV", "WEEKW",
    "WORDDATE", "WORDDATX", "YEAR", "YYMM", "YYMMC", "YYMMD", "YYMMDD", "YYMMDDB", "YYMMDDC",
    "YYMMDDD", "YYMMDDN", "YYMMDDP", "YYMMDDS", "YYMMN", "YYMMP", "YYMMS", "YYMON", "YYQ", "YYQC",
    "YYQD", "YYQN", "YYQP", "YYQR", "YYQRC", "YYQRD", "YYQRN", "YYQRP", "YYQRS", "YYQS", "YYWEEKU",
    "YYWEEKV", "YYWEEKW",
];

/// Datetime formats (value: seconds since 1960-01-01T00:00:00), by base name.
pub const DATETIME_FORMATS: &[&str] = &[
    "B8601DN", "B8601DT", "B8601DX", "B8601DZ", "B8601LX", "DATEAMPM", "DATETIME", "DTDATE",
    "DTMONYY", "DTWKDATX", "DTYEAR", "DTYYQC", "E8601DN", "E8601DT", "E8601DX", "E8601DZ",
    "E8601LX", "IS8601DN", "IS8601DT", "IS8601DZ", "MDYAMPM", "NLDATM", "NLDATMAP", "NLDATMDT",
    "NLDATML", "NLDATMM", "NLDATMMD", "NLDATMS", "NLDATMW", "NLDATMYM", "NLDATMYQ", "NLDATMYR",
];

/// Time formats (value: seconds since midnight), by base name.
pub const TIME_FORMATS: &[&str] = &[
    "B8601LZ", "B8601TM", "B8601TX", "B8601TZ", "E8601LZ", "E8601TM", "E8601TX", "E8601TZ", "HHMM",
    "HOUR", "IS8601LZ", "IS8601TM", "IS8601TZ", "MMSS", "NLTIMAP", "NLTIME", "TIME", "TIMEAMPM",
    "TOD",
];

/// How a numeric column's values are written, from its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Temporal {
    Number,
    Date,
    DateTime,
    Time,
}

/// `x × 10^6` rounded to the nearest integer, ties to even, computed exactly; `None` if it does
/// not fit an i64.
fn round_micros(x: f64) -> Option<i64> {
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some(0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let (mantissa, exp2) = if biased == 0 {
        (bits & 0x000f_ffff_ffff_ffff, -1074)
    } else {
        ((bits & 0x000f_ffff_ffff_ffff) | (1 << 52), biased - 1075)
    };
    let n = u128::from(mantissa) * 1_000_000; // < 2^73
    let magnitude = if exp2 >= 0 {
        // x >= 2^93 is far past an i64 of microseconds; below, n << exp2 < 2^113 cannot wrap.
        if exp2 > 40 {
            return None;
        }
        n << exp2
    } else {
        let shift = (-exp2) as u32;
        if shift >= 100 {
            0 // n < 2^73, so n / 2^shift < 1/2
        } else {
            let q = n >> shift;
            let rest = n & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            if rest > half || (rest == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        }
    };
    let magnitude = i64::try_from(magnitude).ok()?;
    Some(if x < 0.0 { -magnitude } else { magnitude })
}

/// The base name of a SAS format: upper case, without anything from a `.` on and without
/// trailing digits (a width).
fn format_base(name: &[u8]) -> String {
    // Blanks and NULs pad the field, depending on the writer.
    let name: Vec<u8> = name
        .iter()
        .copied()
        .take_while(|&b| b != b'.')
        .filter(|&b| b != b' ' && b != 0)
        .collect();
    let end = name
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&name[..end]).to_ascii_uppercase()
}

/// How values of a numeric column with format `name` are written.
pub(super) fn temporal(name: &[u8]) -> Temporal {
    let base = format_base(name);
    let base = base.as_str();
    if DATE_FORMATS.binary_search(&base).is_ok() {
        Temporal::Date
    } else if DATETIME_FORMATS.binary_search(&base).is_ok() {
        Temporal::DateTime
    } else if TIME_FORMATS.binary_search(&base).is_ok() {
        Temporal::Time
    } else {
        Temporal::Number
    }
}

/// Appends the canonical text of number `x` written with a format of kind `t`.
pub(super) fn push_number(text: &mut String, x: f64, t: Temporal) {
    let done = match t {
        Temporal::Number => false,
        Temporal::Date => {
            (MIN_SAS_DAY..=MAX_SAS_DAY).contains(&x)
                && x.fract() == 0.0
                && push_date(text, x as i64 - SAS_EPOCH_DAYS).is_ok()
        }
        Temporal::DateTime => round_micros(x)
            .and_then(|us| us.checked_sub(SAS_EPOCH_MICROS))
            .filter(|us| (MIN_MICROS_1970..=MAX_MICROS_1970).contains(us))
            .is_some_and(|us| {
                push_timestamp(text, us, TimeUnit::Microsecond, Zone::Unstated).is_ok()
            }),
        Temporal::Time => round_micros(x)
            .filter(|us| (0..DAY_MICROS).contains(us))
            .is_some_and(|us| push_time(text, us, TimeUnit::Microsecond).is_ok()),
    };
    if !done {
        text.clear();
        push_f64(text, x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(x: f64, t: Temporal) -> String {
        let mut s = String::new();
        push_number(&mut s, x, t);
        s
    }

    #[test]
    fn microseconds_round_half_even_exactly() {
        // 1/128 s = 7812.5 µs exactly: a tie, to even.
        assert_eq!(round_micros(1.0 / 128.0), Some(7812));
        assert_eq!(round_micros(3.0 / 128.0), Some(23438));
        assert_eq!(round_micros(-1.0 / 128.0), Some(-7812));
        assert_eq!(round_micros(0.0), Some(0));
        assert_eq!(round_micros(1e-300), Some(0));
        assert_eq!(round_micros(1e13), None);
        assert_eq!(round_micros(2f64.powi(112)), None);
        assert_eq!(round_micros(-(2f64.powi(92))), None);
        assert_eq!(round_micros(2f64.powi(40)), Some(1_099_511_627_776_000_000));
        assert_eq!(round_micros(f64::NAN), None);
        // 0.1234565 is a hair below the tie as an f64: down, where x × 1e6 in floating point
        // would round up.
        assert!(std::hint::black_box(0.1234565f64) * 1e6 >= 123_456.5);
        assert_eq!(round_micros(0.1234565), Some(123_456));
    }

    #[test]
    fn dates_times_datetimes() {
        assert_eq!(text(0.0, Temporal::Date), "1960-01-01");
        assert_eq!(text(-0.0, Temporal::Date), "1960-01-01");
        assert_eq!(text(23_100.0, Temporal::Date), "2023-03-31");
        assert_eq!(text(MIN_SAS_DAY, Temporal::Date), "0001-01-01");
        assert_eq!(text(MAX_SAS_DAY, Temporal::Date), "9999-12-31");
        // Not floored, not out of range: plain numbers.
        assert_eq!(text(MIN_SAS_DAY - 1.0, Temporal::Date), "-715510");
        assert_eq!(text(MAX_SAS_DAY + 1.0, Temporal::Date), "2936550");
        assert_eq!(text(23_100.5, Temporal::Date), "23100.5");
        assert_eq!(text(1e300, Temporal::Date), "1e+300");

        assert_eq!(text(0.0, Temporal::DateTime), "1960-01-01T00:00:00");
        assert_eq!(
            text(1.0 / 128.0, Temporal::DateTime),
            "1960-01-01T00:00:00.007812"
        );
        assert_eq!(text(-1.0, Temporal::DateTime), "1959-12-31T23:59:59");
        assert_eq!(
            text(315_619_200.0 + 1_700_000_000.5, Temporal::DateTime),
            "2023-11-14T22:13:20.5"
        );
        assert_eq!(
            text(-61_819_977_600.0, Temporal::DateTime),
            "0001-01-01T00:00:00"
        );
        assert_eq!(text(-61_819_977_601.0, Temporal::DateTime), "-61819977601");
        assert_eq!(text(253_717_920_000.0, Temporal::DateTime), "253717920000");

        assert_eq!(text(0.0, Temporal::Time), "00:00:00");
        assert_eq!(text(3.0 / 128.0, Temporal::Time), "00:00:00.023438");
        assert_eq!(text(86_399.999_999, Temporal::Time), "23:59:59.999999");
        assert_eq!(text(86_400.0, Temporal::Time), "86400");
        assert_eq!(text(-1.0, Temporal::Time), "-1");
        assert_eq!(text(86_399.999_999_6, Temporal::Time), "86399.9999996");

        assert_eq!(text(4.5, Temporal::Number), "4.5");
        assert_eq!(text(-0.0, Temporal::Number), "0");
    }

    #[test]
    fn format_names() {
        for list in [DATE_FORMATS, DATETIME_FORMATS, TIME_FORMATS] {
            assert!(
                list.windows(2).all(|w| w[0] < w[1]),
                "sorted, for binary search"
            );
        }
        assert_eq!(temporal(b"DATE    "), Temporal::Date);
        assert_eq!(temporal(b"date9."), Temporal::Date);
        assert_eq!(temporal(b"YYMMDD10"), Temporal::Date);
        assert_eq!(temporal(b"E8601DA\0"), Temporal::Date);
        assert_eq!(temporal(b"MONYY"), Temporal::Date);
        assert_eq!(temporal(b"DATETIME"), Temporal::DateTime);
        assert_eq!(temporal(b"E8601DT26.6"), Temporal::DateTime);
        assert_eq!(temporal(b"IS8601DZ"), Temporal::DateTime);
        assert_eq!(temporal(b"TIME8."), Temporal::Time);
        assert_eq!(temporal(b"TOD"), Temporal::Time);
        assert_eq!(temporal(b"BEST12."), Temporal::Number);
        assert_eq!(temporal(b"$CHAR"), Temporal::Number);
        assert_eq!(temporal(b"        "), Temporal::Number);
        assert_eq!(temporal(b"8."), Temporal::Number);
    }
}
