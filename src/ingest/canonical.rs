//! Canonical text of typed values, shared by every reader that meets types (Arrow, Parquet, XPT,
//! Dataset-JSON): floats as ECMAScript `Number::toString`, dates `YYYY-MM-DD`, timestamps
//! `YYYY-MM-DDTHH:MM:SS[.fraction]`, the fraction without trailing zeros, with `Z` only for an
//! instant in UTC (a timestamp with a time zone), times
//! `HH:MM:SS[.fraction]`. docs/FORMAT.md section 2 specifies them.

use chrono::{Datelike, NaiveDate};

/// Units of a timestamp or a time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds.
    Second,
    /// Milliseconds.
    Millisecond,
    /// Microseconds.
    Microsecond,
    /// Nanoseconds.
    Nanosecond,
}

/// ECMAScript `Number::toString` of `x`, as [`ryu_js`] writes it (`1`, `4.5`, `0.000025`,
/// `1e+21`, `-0` as `0`, `NaN`, `Infinity`): [`write_f64`] appended to `text`.
pub fn push_f64(text: &mut String, x: f64) {
    let mut buf = [0u8; F64_MAX];
    let len = write_f64(&mut buf, x);
    // ASCII only.
    text.push_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
}

/// Longest text [`write_f64`] writes: `-1.2345678901234567e-308` is 24 bytes.
pub const F64_MAX: usize = 32;

/// Writes ECMAScript `Number::toString` of `x`, as [`ryu_js`] writes it, at the start of `out`
/// (at least [`F64_MAX`] bytes long) and returns its length. Whole numbers and numbers of one
/// to three decimal places, what lab and vital-sign columns mostly hold, take exact shortcuts
/// written digit by digit, without a call to the C library (`round` and `trunc` are calls on
/// x86-64 without SSE4.1, and so is `memcpy` of a length known only at run time).
///
/// # Panics
/// If `out` is shorter than [`F64_MAX`].
pub fn write_f64(out: &mut [u8], x: f64) -> usize {
    let out = &mut out[..F64_MAX];
    // Below 2^40 (about 1.1e12) doubles are spaced closer than 2^-12, far below 0.001, so at
    // most one string of k <= 3 decimals names `x`, and none of fewer decimals does unless it
    // ends in 0.
    const LIMIT: f64 = (1u64 << 40) as f64;
    if x.abs() < LIMIT {
        // Exact below 2^53: truncation toward zero, then the fraction left over.
        let whole = x as i64;
        if whole as f64 == x {
            // -0 is written "0", as ECMAScript does.
            let at = sign(out, whole < 0);
            return digits(out, at, whole.unsigned_abs(), 0);
        }
        for (decimals, scale) in [(1, 10u64), (2, 100), (3, 1000)] {
            let y = x * scale as f64;
            // Finite: |x| < LIMIT.
            if y.abs() >= LIMIT {
                continue;
            }
            // `y.round()` (half away from zero), exactly: `y - truncated` is exact here.
            let truncated = y as i64;
            let rest = y - truncated as f64;
            let n = if rest >= 0.5 {
                truncated + 1
            } else if rest <= -0.5 {
                truncated - 1
            } else {
                truncated
            };
            // Division is correctly rounded, so equality means "n / scale" parses back to
            // exactly `x`.
            if n as f64 / scale as f64 == x {
                let at = sign(out, n < 0);
                let n = n.unsigned_abs();
                let at = digits(out, at, n / scale, 0);
                out[at] = b'.';
                return digits(out, at + 1, n % scale, decimals);
            }
        }
    }
    let mut ryu = ryu_js::Buffer::new();
    let text = ryu.format(x).as_bytes();
    out[..text.len()].copy_from_slice(text);
    text.len()
}

/// Writes `-` at the start of `out` when `negative`; where the digits go.
fn sign(out: &mut [u8], negative: bool) -> usize {
    out[0] = b'-';
    usize::from(negative)
}

/// Writes `n` in decimal, zero-padded to `width` digits, at `out[at..]`; where it ends.
fn digits(out: &mut [u8], at: usize, mut n: u64, width: usize) -> usize {
    let len = (n.checked_ilog10().unwrap_or(0) as usize + 1).max(width);
    for d in out[at..at + len].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    at + len
}

/// `.` and the fraction of a second without trailing zeros, when there is one.
fn push_fraction(text: &mut String, nanos: u32) {
    if nanos > 0 {
        let mut digits = [0u8; 9];
        let mut n = nanos;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let end = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        text.push('.');
        // ASCII digits only.
        text.push_str(std::str::from_utf8(&digits[..end]).unwrap_or_default());
    }
}

/// `n` (below 10^width) in `width` digits, zero-padded.
fn push_digits(text: &mut String, mut n: u32, width: usize) {
    let mut digits = [b'0'; 4];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    text.push_str(std::str::from_utf8(&digits[..width]).unwrap_or_default());
}

fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// What a timestamp says about its time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// An instant: Arrow's timestamps with a time zone, stored as UTC. Written with `Z`.
    Utc,
    /// A wall-clock date and time with no zone: Arrow's naive timestamps, SAS datetimes.
    /// Written without a zone designator, as Dataset-JSON carries them, since adding `Z` would
    /// assert a zone the data never stated.
    Unstated,
}

/// A timestamp of `value` units since 1970-01-01T00:00:00, `YYYY-MM-DDTHH:MM:SS[.fraction]`,
/// then `Z` for [`Zone::Utc`].
///
/// # Errors
/// A value out of range.
pub fn push_timestamp(
    text: &mut String,
    value: i64,
    unit: TimeUnit,
    zone: Zone,
) -> Result<(), String> {
    let per_sec = per_second(unit);
    let secs = value.div_euclid(per_sec);
    let nanos = (value.rem_euclid(per_sec) * (1_000_000_000 / per_sec)) as u32;
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400) as u32;
    push_date(text, days).map_err(|_| format!("timestamp {value} is out of range"))?;
    text.push('T');
    push_hms(text, of_day, nanos);
    if zone == Zone::Utc {
        text.push('Z');
    }
    Ok(())
}

/// `HH:MM:SS[.fraction]` of `secs` (below 86,400) and `nanos` since midnight.
fn push_hms(text: &mut String, secs: u32, nanos: u32) {
    push_digits(text, secs / 3600, 2);
    text.push(':');
    push_digits(text, secs / 60 % 60, 2);
    text.push(':');
    push_digits(text, secs % 60, 2);
    push_fraction(text, nanos);
}

/// A time of day, `value` units since midnight.
///
/// # Errors
/// A value outside one day.
pub fn push_time(text: &mut String, value: i64, unit: TimeUnit) -> Result<(), String> {
    let per_sec = per_second(unit);
    let secs = value.div_euclid(per_sec);
    if !(0..86_400).contains(&secs) {
        return Err(format!("time {value} is out of range"));
    }
    let nanos = (value.rem_euclid(per_sec) * (1_000_000_000 / per_sec)) as u32;
    push_hms(text, secs as u32, nanos);
    Ok(())
}

/// A date, `days` after 1970-01-01.
///
/// # Errors
/// A date out of range.
pub fn push_date(text: &mut String, days: i64) -> Result<(), String> {
    // 719_163 days separate 0001-01-01 (day 1 of the common era) from 1970-01-01.
    let d = days
        .checked_add(719_163)
        .and_then(|d| i32::try_from(d).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| format!("date {days} days from 1970-01-01 is out of range"))?;
    match u32::try_from(d.year()) {
        Ok(year @ 0..=9999) => {
            push_digits(text, year, 4);
            text.push('-');
            push_digits(text, d.month(), 2);
            text.push('-');
            push_digits(text, d.day(), 2);
        }
        // Years of five digits or before year 0 as chrono writes them (`+12345-01-01`), which
        // is ISO 8601's expanded form.
        _ => {
            use std::fmt::Write as _;
            let _ = write!(text, "{}", d.format("%Y-%m-%d"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveTime, Timelike};

    /// The former [`push_f64`], with `round`, `fract` and itoa: the fixed-buffer version writes
    /// the same text for every double.
    fn reference_f64(x: f64) -> String {
        const LIMIT: f64 = (1u64 << 40) as f64;
        if x.fract() == 0.0 && x.abs() < LIMIT {
            return itoa::Buffer::new().format(x as i64).to_owned();
        }
        for (decimals, scale) in [(1, 10u64), (2, 100), (3, 1000)] {
            let n = (x * scale as f64).round();
            if n.abs() < LIMIT && n / scale as f64 == x {
                let n = n as i64;
                let sign = if n < 0 { "-" } else { "" };
                let n = n.unsigned_abs();
                let fraction = (n % scale + scale).to_string();
                return format!("{sign}{}.{}", n / scale, &fraction[1..=decimals]);
            }
        }
        ryu_js::Buffer::new().format(x).to_owned()
    }

    #[test]
    fn f64_text_matches_the_reference() {
        let mut cases = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            4.5,
            -4.5,
            0.1,
            0.05,
            0.001,
            -0.001,
            0.0005,
            123.456,
            1e21,
            1e-7,
            2.5e-5,
            (1u64 << 40) as f64,
            (1u64 << 40) as f64 - 0.5,
            (1u64 << 40) as f64 / 10.0,
            (1u64 << 40) as f64 / 1000.0 - 0.001,
            1_099_511_627.775,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9_007_199_254_740_993.0,
        ];
        // Numbers of up to four decimals around every magnitude, and raw bit patterns.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = (state >> 60) as i32 % 5;
            let mantissa = (state % 10_000_000_000_000) as f64;
            cases.push(mantissa / 10f64.powi(digits + (state >> 56) as i32 % 12));
            cases.push(-((state % 100_000) as f64) / 10f64.powi(digits));
            cases.push(f64::from_bits(state));
        }
        for x in cases {
            let mut ours = String::new();
            push_f64(&mut ours, x);
            assert_eq!(ours, reference_f64(x), "{x:e} ({:#x})", x.to_bits());
            let mut buf = [b'x'; F64_MAX + 1];
            let len = write_f64(&mut buf, x);
            assert_eq!(&buf[..len], ours.as_bytes());
            assert_eq!(buf[F64_MAX], b'x', "nothing written past F64_MAX");
        }
    }

    /// The hand-written digits agree with chrono's formatting over the whole range it has.
    #[test]
    fn dates_and_times_agree_with_chrono() {
        let mut days = -800_000i64;
        while days < 3_000_000 {
            let mut ours = String::new();
            push_date(&mut ours, days).unwrap();
            let d = NaiveDate::from_num_days_from_ce_opt((days + 719_163) as i32).unwrap();
            assert_eq!(ours, d.format("%Y-%m-%d").to_string(), "day {days}");
            days += 997;
        }
        for (value, unit) in [
            (0i64, TimeUnit::Second),
            (1_709_281_800_123, TimeUnit::Millisecond),
            (-1, TimeUnit::Nanosecond),
            (-62_135_596_800_000_000, TimeUnit::Microsecond),
            (253_402_300_799_999_999, TimeUnit::Microsecond),
            (86_399_999_999_999, TimeUnit::Nanosecond),
        ] {
            let per = per_second(unit);
            let dt = DateTime::from_timestamp(
                value.div_euclid(per),
                (value.rem_euclid(per) * (1_000_000_000 / per)) as u32,
            )
            .unwrap();
            let mut want = dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
            let mut ours = String::new();
            push_timestamp(&mut ours, value, unit, Zone::Unstated).unwrap();
            assert_eq!(ours, want);
            want.push('Z');
            ours.clear();
            push_timestamp(&mut ours, value, unit, Zone::Utc).unwrap();
            assert_eq!(ours, want);
            if (0..86_400 * per).contains(&value) {
                let t = NaiveTime::from_num_seconds_from_midnight_opt(
                    dt.time().num_seconds_from_midnight(),
                    dt.time().nanosecond(),
                )
                .unwrap();
                ours.clear();
                push_time(&mut ours, value, unit).unwrap();
                assert_eq!(ours, t.format("%H:%M:%S%.f").to_string());
            }
        }
        let mut s = String::new();
        assert!(push_time(&mut s, 86_400, TimeUnit::Second).is_err());
        assert!(push_time(&mut s, -1, TimeUnit::Nanosecond).is_err());
        assert!(push_date(&mut s, i64::MAX).is_err());
        assert!(s.is_empty());
    }
}
