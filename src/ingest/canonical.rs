//! Canonical text of typed values, shared by every reader that meets types (Arrow, Parquet, XPT,
//! Dataset-JSON): floats as ECMAScript `Number::toString`, dates `YYYY-MM-DD`, timestamps RFC
//! 3339 in UTC (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction without trailing zeros), times
//! `HH:MM:SS[.fraction]`. docs/FORMAT.md section 2 specifies them.

use chrono::{DateTime, NaiveDate, NaiveTime};

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
        let digits = format!("{nanos:09}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
}

fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// A timestamp of `value` units since 1970-01-01T00:00:00Z, in UTC.
///
/// # Errors
/// A value out of range.
pub fn push_timestamp(text: &mut String, value: i64, unit: TimeUnit) -> Result<(), String> {
    let per_sec = per_second(unit);
    let secs = value.div_euclid(per_sec);
    let nanos = (value.rem_euclid(per_sec) * (1_000_000_000 / per_sec)) as u32;
    let dt = DateTime::from_timestamp(secs, nanos)
        .ok_or_else(|| format!("timestamp {value} is out of range"))?;
    text.push_str(&dt.format("%Y-%m-%dT%H:%M:%S").to_string());
    push_fraction(text, nanos);
    text.push('Z');
    Ok(())
}

/// A time of day, `value` units since midnight.
///
/// # Errors
/// A value outside one day.
pub fn push_time(text: &mut String, value: i64, unit: TimeUnit) -> Result<(), String> {
    let per_sec = per_second(unit);
    let secs = u32::try_from(value.div_euclid(per_sec)).map_err(|_| "time out of range")?;
    let nanos = (value.rem_euclid(per_sec) * (1_000_000_000 / per_sec)) as u32;
    let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)
        .ok_or_else(|| format!("time {value} is out of range"))?;
    text.push_str(&t.format("%H:%M:%S").to_string());
    push_fraction(text, nanos);
    Ok(())
}

/// A date, `days` after 1970-01-01.
///
/// # Errors
/// A date out of range.
pub fn push_date(text: &mut String, days: i64) -> Result<(), String> {
    // 719_163 days separate 0001-01-01 (day 1 of the common era) from 1970-01-01.
    let d = i32::try_from(days + 719_163)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| format!("date {days} days from 1970-01-01 is out of range"))?;
    text.push_str(&d.format("%Y-%m-%d").to_string());
    Ok(())
}
