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
/// `1e+21`, `-0` as `0`, `NaN`, `Infinity`), with exact shortcuts for what lab and vital-sign
/// columns mostly hold: whole numbers, and numbers of one to three decimal places.
pub fn push_f64(text: &mut String, x: f64) {
    // Below 2^40 (about 1.1e12) doubles are spaced closer than 2^-12, far below 0.001, so at most
    // one string of k <= 3 decimals names `x`, and none of fewer decimals does unless it ends in 0.
    const LIMIT: f64 = (1u64 << 40) as f64;
    if x.fract() == 0.0 && x.abs() < LIMIT {
        // -0 is written "0", as ECMAScript does.
        text.push_str(itoa::Buffer::new().format(x as i64));
        return;
    }
    for (decimals, scale) in [(1, 10u64), (2, 100), (3, 1000)] {
        let n = (x * scale as f64).round();
        // Division is correctly rounded, so equality means "n / scale" parses back to exactly `x`.
        if n.abs() < LIMIT && n / scale as f64 == x {
            let n = n as i64;
            if n < 0 {
                text.push('-');
            }
            let n = n.unsigned_abs();
            text.push_str(itoa::Buffer::new().format(n / scale));
            text.push('.');
            // `n % scale + scale` has a leading 1 and then the fraction's digits, zeros included.
            let mut fraction = itoa::Buffer::new();
            text.push_str(&fraction.format(n % scale + scale)[1..=decimals]);
            return;
        }
    }
    text.push_str(ryu_js::Buffer::new().format(x));
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
