//! SAS XPORT (XPT) reader, versions 5 and 8: parses the library, member and namestr headers,
//! then streams the observations in file order, turning each into a canonical `values` array.
//!
//! # What is read
//!
//! - **Versions.** Version 5 (`LIBRARY`, `MEMBER`, `DSCRPTR`, `NAMESTR`, `OBS` headers) and
//!   version 8 (`LIBV8`, `MEMBV8`, `DSCPTV8`, `NAMSTV8`, an optional `LABELV8` or `LABELV9`
//!   section, `OBSV8`). Namestr records are 140 bytes, or 136 (VAX/VMS) when the member header
//!   says so. SAS CPORT files (`**COMPRESSED**`) and anything else are refused.
//! - **One member per file.** A file holding several members (datasets) is refused with an
//!   error naming them all: a dataset file is one dataset, as for every other format, and
//!   silently reading only the first member would notarize part of a file.
//! - **Columns.** One per namestr, in namestr order; the name is the variable name (version 8:
//!   the 32-byte long name, or the 8-byte name when the long one is blank) with trailing blanks
//!   removed. Names must be UTF-8 and unique ignoring ASCII case (SAS names are case-insensitive,
//!   so two equal names mean a corrupt file). Each value sits at the namestr's `npos` within the
//!   observation; the positions must tile the observation exactly (no gap, no overlap).
//! - **Checks.** Every header record is checked by name and version; the namestr count in the
//!   header must be followed, after that many namestrs, by the next header; types are 1 or 2;
//!   numeric lengths 2..=8; character lengths 1..=200 (v5) or 1..=32767 (v8); observation length
//!   at most [`MAX_RECORD_BYTES`]; label records must name their variable as the namestr does;
//!   the file must be whole 80-byte records. Every failure is an [`IngestError`] naming the file
//!   and, for values, "row N, column NAME" with rows counted from 0.
//!
//! # Canonical text of values
//!
//! - **Character:** trailing blanks (0x20) removed; all blanks is the missing value (`null`,
//!   like an empty string everywhere in trialnotary). Leading blanks and any other byte
//!   (including NUL) are kept. The bytes must be UTF-8; anything else is an error naming file,
//!   row and column: no encoding is guessed (a Latin-1 file must be converted first).
//! - **Numeric:** IBM System/370 hexadecimal floating point, 2 to 8 bytes (a shorter value is the
//!   8-byte one truncated on the right). The value, `fraction × 16^(exponent − 64)` with a 56-bit
//!   fraction, is converted to the nearest IEEE f64, ties to even (exact whenever the fraction
//!   has at most 53 significant bits, as for every value written from an f64), then written as
//!   ECMAScript `Number::toString` ([`push_f64`]), so `63` from XPT equals `63` from Parquet.
//!   A zero fraction with a first byte other than a missing-value marker is zero (`0`).
//! - **Missing values:** `.` (0x2E then zeros) is `null`. The special missing values `.A`-`.Z`
//!   and `._` (first byte 0x41-0x5A or 0x5F, zero fraction) are their own text, `.A` ... `._`:
//!   they carry meaning (for example "not done" against "refused"), so a change from `.A` to `.B`
//!   must change the record's hash, which it could not if both were `null`.
//! - **Dates, times, datetimes:** a numeric whose format (the namestr `nform`; in version 8 the
//!   `LABELV9` long format name when there is one) is a date, time or datetime format is written
//!   as such. The format name is compared ignoring case, after dropping anything from a `.` and
//!   trailing digits (a width), so `date9.`, `DATE` and `DATE9` are all `DATE`.
//!   - date formats ([`DATE_FORMATS`]: `DATE`, `YYMMDD`, `MMDDYY`, `DDMMYY` and their separator
//!     variants, `E8601DA`, `B8601DA`, `IS8601DA`, `MONYY`, `YEAR`, `WORDDATE`, ... ; days since
//!     1960-01-01): `YYYY-MM-DD`;
//!   - datetime formats ([`DATETIME_FORMATS`]: `DATETIME`, `E8601DT`, `B8601DT`, `IS8601DT`,
//!     `E8601DZ`, `DATEAMPM`, `DTDATE`, ... ; seconds since 1960-01-01T00:00:00):
//!     `YYYY-MM-DDTHH:MM:SS[.ffffff]`, without a zone: SAS datetimes are wall-clock times, and
//!     this is the text Dataset-JSON and a naive Arrow timestamp carry for the same value;
//!   - time formats ([`TIME_FORMATS`]: `TIME`, `TOD`, `HHMM`, `E8601TM`, `B8601TM`,
//!     `IS8601TM`, ... ; seconds since midnight): `HH:MM:SS[.ffffff]`.
//!
//!   Seconds are rounded to the nearest microsecond, ties to even, computed exactly from the
//!   f64 value (SAS stores these as doubles: near the year 2000 a double's step is about
//!   0.2 µs, so finer digits are noise); the fraction is written without trailing zeros. A
//!   value that is not a whole number of days (dates), whose date falls outside the years
//!   0001..=9999, or a time outside `[0, 24h)` after rounding, is **not** floored or wrapped:
//!   it is written as a plain number ([`push_f64`]), so nothing is lost and the odd value shows.
//!   Missing values stay `null`, special ones their text.
//!
//! # End of the observations
//!
//! Version 8 files whose `OBSV8` header carries an observation count (right-aligned in bytes
//! 48..63, as ReadStat writes it) are read by that count: exactly that many observations must
//! follow, then at most 79 blanks to the end of the 80-byte record, then the end of the file. Version 5 files (and version 8
//! files whose count field is zeros) have no count: observations run to the end of the file,
//! whose last 80-byte record is padded with blanks (0x20). With `D` the bytes of data and `L`
//! the observation length, the rows are the smallest `n` with `n × L > D − 80` and bytes
//! `n × L .. D` all blanks. So an observation that starts 80 or more bytes before the end is
//! always a row, even if all blanks; the ambiguity the format leaves is only for all-blank
//! observations that lie entirely within the last record's padding (`L < 80`): those are read
//! as padding. For comparison (fixtures `blank_*`): pyreadstat 1.3.8 (ReadStat) agrees with 10-
//! and 100-byte observations but with 30-byte ones drops all three trailing blank observations,
//! two of which start more than 80 bytes before the end and so cannot be padding; the `xport`
//! Python package stops at the first all-blank observation anywhere in the file.
//!
//! Another member after the observations is found by its member header record at an 80-byte
//! boundary (without a count, every record of the data is checked, as SAS and ReadStat must
//! too: a character value holding exactly that header text at a record boundary would be taken
//! for one, and the file refused).
//!
//! Other header fields: the variable count is the number in bytes 48..58 of the namestr header
//! (zeros, then the count in 54..58, where SAS, ReadStat and `xport` write it; in version 8 a
//! six-digit count in 54..60 is recognised by digits in 58..60), the `LABELV8`/`LABELV9` count from bytes 48..53, the
//! namestr size from bytes 74..78 of the member header; label records number variables from 1.
//!
//! # Reading and converting
//!
//! The reader reads the file once, from start to end, through the caller's `File`, in blocks
//! of 1 MiB, finding the observations as above. The observations of a batch (at most
//! [`BATCH_ROWS`] of them and at most 16 MiB, at least one) are buffered, then converted on all
//! cores of the current rayon pool: observations are fixed width, so the batch is cut into
//! ranges of rows, each range converted on its own, and the ranges' rows concatenated in order.
//! The first bad value in file order is the error, and it comes before an error found later
//! in the file (a truncation, another member), as when reading one row after the other: the
//! rows and errors do not depend on the number of threads. Memory: the observations of one
//! batch, a read block, and the batch's text.
//!
//! Per value the conversion does little: an observation's blanks and bytes that would need
//! escaping are found sixteen at a time (SSE2 on x86-64), so that a character value is trimmed
//! from a bit mask and, when its observation is plain ASCII, copied without a UTF-8 check or
//! escape scan, as one fixed-size copy; numbers are written digit by digit ([`write_f64`]).

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use super::canonical::{
    F64_MAX, TimeUnit, Zone, push_date, push_f64, push_time, push_timestamp, write_f64,
};
use super::{
    BATCH_ROWS, Batch, IngestError, MAX_COLUMNS, MAX_RECORD_BYTES, RowSource, convert_in_parallel,
};
use crate::core::record::write_string;

/// Every header and padding unit of the format is an 80-byte record.
const RECORD: usize = 80;

/// Bytes read from the file at a time while streaming observations.
const BLOCK: usize = 1 << 20;

/// Bytes of observations converted together, on all cores: a batch holds at most this much
/// (and at most [`BATCH_ROWS`] rows), and at least one observation.
const BATCH_DATA: usize = 16 << 20;

/// Fewest observations one core converts at a time.
const MIN_RANGE: usize = 512;

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
enum Temporal {
    Number,
    Date,
    DateTime,
    Time,
}

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Char,
    Num(Temporal),
}

/// One variable: where its value sits in an observation and how to write it.
#[derive(Clone, Debug)]
struct Column {
    kind: Kind,
    offset: usize,
    len: usize,
}

/// The format version, which decides header names and namestr layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V5,
    V8,
}

impl Version {
    fn number(self) -> u8 {
        match self {
            Version::V5 => 5,
            Version::V8 => 8,
        }
    }

    /// Header names of this version: member, descriptor, namestr, observations.
    fn names(self) -> [&'static str; 4] {
        match self {
            Version::V5 => ["MEMBER", "DSCRPTR", "NAMESTR", "OBS"],
            Version::V8 => ["MEMBV8", "DSCPTV8", "NAMSTV8", "OBSV8"],
        }
    }

    /// Byte range of the member name in the first member record.
    fn member_name(self) -> std::ops::Range<usize> {
        match self {
            Version::V5 => 8..16,
            Version::V8 => 8..40,
        }
    }
}

/// Streams the observations of a single-member SAS XPORT file.
pub struct XptSource {
    path: PathBuf,
    file: File,
    version: Version,
    /// Name of the (first) member, for the multi-member error.
    member: String,
    names: Vec<String>,
    layout: Layout,
    /// File offset of the first observation (a multiple of 80).
    data_start: u64,
    /// The number of observations, from the `OBSV8` header or, without one, once the end of the
    /// file has been reached.
    count: Option<u64>,
    /// Observations found so far; the next row's number.
    row: u64,
    /// Observations converted so far: rows `converted..row` wait in `buf`, from `lo` on.
    converted: u64,
    /// Bytes read from the file but not consumed: `buf[lo..]` starts at file offset `base + lo`.
    buf: Vec<u8>,
    lo: usize,
    base: u64,
    /// File offset up to which whole 80-byte records were checked not to be a member header
    /// (only while the count is unknown).
    scanned: u64,
    eof: bool,
    done: bool,
    bytes_read: u64,
    /// The batch being filled.
    out: Batch,
    /// Batches of ranges converted in parallel, kept for reuse.
    spare: Vec<Batch>,
}

/// The 20-byte starts and middles of every header record.
const HEADER_HEAD: &[u8; 20] = b"HEADER RECORD*******";
const HEADER_MIDDLE: &[u8; 20] = b"HEADER RECORD!!!!!!!";

/// The name of a header record (`MEMBER`, `OBSV8`, ...), or `None` if `rec` is not one.
fn header_name(rec: &[u8]) -> Option<&[u8]> {
    if rec.len() < 48 || &rec[..20] != HEADER_HEAD || &rec[28..48] != HEADER_MIDDLE {
        return None;
    }
    Some(trim_end(&rec[20..28], b' '))
}

/// Whether `rec` is the header record that starts a member, of either version.
fn is_member_header(rec: &[u8]) -> bool {
    matches!(header_name(rec), Some(b"MEMBER" | b"MEMBV8"))
}

fn trim_end(bytes: &[u8], pad: u8) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != pad).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The decimal number in `bytes`, ignoring blanks around it; `None` if empty or not digits.
fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    let s = trim_end(bytes, b' ');
    let s = &s[s.iter().position(|&b| b != b' ').unwrap_or(s.len())..];
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

fn be_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn be_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

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
    let b: [u8; 8] = match bytes.first_chunk::<8>() {
        Some(whole) => *whole,
        None => {
            let mut b = [0u8; 8];
            b[..bytes.len()].copy_from_slice(bytes);
            b
        }
    };
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
fn temporal(name: &[u8]) -> Temporal {
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
fn push_number(text: &mut String, x: f64, t: Temporal) {
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

/// Sequential reads of the header records, counting bytes.
struct HeaderReader<'a> {
    path: &'a Path,
    file: &'a mut File,
    pos: u64,
}

impl HeaderReader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<Vec<u8>, IngestError> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.file.read(&mut buf[got..]) {
                Ok(0) => {
                    self.pos += got as u64;
                    return Err(IngestError::file(
                        self.path,
                        format!(
                            "truncated: the file ends at byte {} inside the {what}",
                            self.pos
                        ),
                    ));
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(IngestError::file(self.path, format!("cannot read: {e}")));
                }
            }
        }
        self.pos += n as u64;
        Ok(buf)
    }

    fn record(&mut self, what: &str) -> Result<Vec<u8>, IngestError> {
        self.take(RECORD, what)
    }

    /// Skips to the next 80-byte boundary (the padding after namestrs and labels).
    fn skip_to_record(&mut self, what: &str) -> Result<(), IngestError> {
        let rest = (RECORD - (self.pos % RECORD as u64) as usize) % RECORD;
        self.take(rest, what).map(drop)
    }

    fn error(&self, message: impl Into<String>) -> IngestError {
        IngestError::file(self.path, message)
    }

    /// Reads a header record that must be named `name`.
    fn expect(&mut self, name: &str, version: Version) -> Result<Vec<u8>, IngestError> {
        let rec = self.record(&format!("{name} header"))?;
        match header_name(&rec) {
            Some(found) if found == name.as_bytes() => Ok(rec),
            Some(found) => Err(self.error(format!(
                "corrupt version {} header: expected the {name} header record at byte {}, found \
                 {}",
                version.number(),
                self.pos - RECORD as u64,
                String::from_utf8_lossy(found)
            ))),
            None => Err(self.error(format!(
                "corrupt header: expected the {name} header record at byte {}",
                self.pos - RECORD as u64
            ))),
        }
    }
}

/// One namestr, as far as the reader uses it.
struct Namestr {
    ntype: i16,
    len: i16,
    name: String,
    format: Vec<u8>,
    pos: i32,
}

/// Decodes a variable name or other header text: trailing blanks removed, UTF-8.
fn header_text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(trim_end(bytes, b' '))
        .ok()
        .map(str::to_owned)
}

fn parse_namestr(rec: &[u8], version: Version, index: usize) -> Result<Namestr, String> {
    let short = &rec[8..16];
    let long = match version {
        Version::V8 => trim_end(&rec[88..120], b' '),
        Version::V5 => &[][..],
    };
    let raw = if long.is_empty() { short } else { long };
    let name = header_text(raw)
        .filter(|n| !n.is_empty() && !n.contains(|c: char| c.is_control()))
        .ok_or_else(|| {
            format!(
                "namestr {} has an invalid variable name {:?}",
                index + 1,
                String::from_utf8_lossy(raw)
            )
        })?;
    Ok(Namestr {
        ntype: be_i16(rec, 0),
        len: be_i16(rec, 4),
        name,
        format: rec[56..64].to_vec(),
        pos: i32::from_be_bytes([rec[84], rec[85], rec[86], rec[87]]),
    })
}

impl XptSource {
    /// Reads the headers (library, member, namestr records, and in version 8 the label
    /// records) from `file`, already opened by the caller at its start; the observations are
    /// read by [`RowSource::next_batch`].
    ///
    /// # Errors
    /// A file that is not SAS XPORT version 5 or 8, a corrupt or truncated header, a namestr
    /// count that does not match the records, a bad type, length or position, an observation
    /// longer than [`MAX_RECORD_BYTES`], or a read error.
    pub fn new(path: &Path, mut file: File) -> Result<Self, IngestError> {
        let mut r = HeaderReader {
            path,
            file: &mut file,
            pos: 0,
        };
        let rec = r.record("library header")?;
        let version = match header_name(&rec) {
            Some(b"LIBRARY") => Version::V5,
            Some(b"LIBV8") => Version::V8,
            Some(other) => {
                return Err(r.error(format!(
                    "unknown SAS XPORT library header {:?}: only versions 5 (LIBRARY) and 8 \
                     (LIBV8) are read",
                    String::from_utf8_lossy(other)
                )));
            }
            None if rec.starts_with(b"**COMPRESSED**") => {
                return Err(r.error(
                    "a SAS CPORT file, not XPORT: write the dataset with the XPORT engine or \
                     as version 8 transport",
                ));
            }
            None => {
                return Err(
                    r.error("not a SAS XPORT file: the first record is not a library header")
                );
            }
        };
        let rec = r.record("library header")?;
        if !rec.starts_with(b"SAS     SAS     SASLIB  ") {
            return Err(r.error("corrupt library header: the second record is not SAS SASLIB"));
        }
        r.record("library header")?;
        let [member_h, dscrptr_h, namestr_h, obs_h] = version.names();
        let rec = r.expect(member_h, version)?;
        let namestr_size = match &rec[74..78] {
            b"0140" => 140,
            b"0136" => 136,
            other => {
                return Err(r.error(format!(
                    "corrupt member header: namestr size {:?}, expected 0140 or 0136",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        r.expect(dscrptr_h, version)?;
        let rec = r.record("member header")?;
        let name_range = version.member_name();
        if !rec.starts_with(b"SAS     ") || &rec[name_range.end..name_range.end + 8] != b"SASDATA "
        {
            return Err(r.error("corrupt member header: not a SAS SASDATA member record"));
        }
        let member = String::from_utf8_lossy(trim_end(&rec[name_range], b' ')).into_owned();
        r.record("member header")?;
        let rec = r.expect(namestr_h, version)?;
        // Writers (SAS, ReadStat, xport) put the count in bytes 54..58; the version 8 layout
        // also allows six digits in 54..60, recognised by digits in 58..60.
        let wide = version == Version::V8 && &rec[58..60] != b"00";
        let count = parse_decimal(&rec[48..if wide { 60 } else { 58 }])
            .ok_or_else(|| r.error("corrupt namestr header: the variable count is not a number"))?;
        if count == 0 {
            return Err(r.error("the dataset has no variables"));
        }
        if count > MAX_COLUMNS as u64 {
            return Err(r.error(format!(
                "{count} variables, more than the {MAX_COLUMNS} a dataset may have"
            )));
        }
        let count = count as usize;
        let raw = r.take(count * namestr_size, "namestr records")?;
        let mut namestrs = Vec::with_capacity(count);
        for (i, rec) in raw.chunks_exact(namestr_size).enumerate() {
            namestrs.push(parse_namestr(rec, version, i).map_err(|m| r.error(m))?);
        }
        r.skip_to_record("namestr records")?;
        let rec = r.record(&format!("{obs_h} header"))?;
        let mut rec_name = header_name(&rec).map(<[u8]>::to_vec);
        if rec_name.is_none() {
            return Err(r.error(format!(
                "the namestr header declares {count} variables, but the record after {count} \
                 namestrs (byte {}) is not a header: wrong variable count or corrupt file",
                r.pos - RECORD as u64
            )));
        }
        let mut obs_rec = rec;
        if version == Version::V8
            && let Some(kind @ (b"LABELV8" | b"LABELV9")) = rec_name.as_deref()
        {
            let v9 = kind == b"LABELV9";
            read_labels(&mut r, &obs_rec, v9, &mut namestrs)?;
            obs_rec = r.record("OBSV8 header")?;
            rec_name = header_name(&obs_rec).map(<[u8]>::to_vec);
        }
        if rec_name.as_deref() != Some(obs_h.as_bytes()) {
            return Err(r.error(format!(
                "corrupt header: expected the {obs_h} header record at byte {}, found {}",
                r.pos - RECORD as u64,
                rec_name
                    .as_deref()
                    .map_or("no header".into(), String::from_utf8_lossy)
            )));
        }
        let obs_count = match version {
            Version::V5 => None,
            // SAS 9.4 and ReadStat write the count; older writers leave the template zeros.
            // The count is right-aligned in bytes 48..63, as ReadStat writes it.
            Version::V8 => {
                let zero = |b: &u8| *b == b'0' || *b == b' ';
                if obs_rec[48..80].iter().all(zero) {
                    None
                } else {
                    let count = parse_decimal(&obs_rec[48..63])
                        .filter(|_| obs_rec[63..80].iter().all(zero));
                    Some(count.ok_or_else(|| {
                        r.error("corrupt OBSV8 header: the observation count is not a number")
                    })?)
                }
            }
        };
        let data_start = r.pos;
        let (names, columns, row_len) = layout(path, version, namestrs)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            version,
            member,
            names,
            layout: Layout::new(columns, row_len),
            data_start,
            count: obs_count,
            row: 0,
            converted: 0,
            buf: Vec::new(),
            lo: 0,
            base: data_start,
            scanned: data_start,
            eof: false,
            done: false,
            bytes_read: data_start,
            out: Batch::default(),
            spare: Vec::new(),
        })
    }

    /// File offset just past the bytes in `buf`.
    fn buffered_end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Index in `buf` of file offset `at`, clamped to the buffered bytes.
    fn offset_in_buf(&self, at: u64) -> usize {
        at.checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(0)
            .min(self.buf.len())
    }

    /// File offset of the next observation.
    fn cursor(&self) -> u64 {
        self.data_start + self.row * self.layout.row_len as u64
    }

    /// Reads one more block; `false` at the end of the file.
    fn read_more(&mut self) -> Result<bool, IngestError> {
        if self.eof {
            return Ok(false);
        }
        if self.lo > 0 && (self.lo >= BLOCK || self.lo == self.buf.len()) {
            self.buf.drain(..self.lo);
            self.base += self.lo as u64;
            self.lo = 0;
        }
        let old = self.buf.len();
        // read_to_end fills spare capacity without zeroing it first; it stops short of the
        // block only at the end of the file.
        let n = match (&mut self.file)
            .take(BLOCK as u64)
            .read_to_end(&mut self.buf)
        {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                return Err(IngestError::file(&self.path, format!("cannot read: {e}")));
            }
        };
        self.bytes_read += n as u64;
        self.eof = n < BLOCK;
        Ok(n > 0)
    }

    /// The bytes at file offsets `from..to`, which must be buffered.
    fn slice(&self, from: u64, to: u64) -> &[u8] {
        let index = |at: u64| {
            at.checked_sub(self.base)
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(usize::MAX)
        };
        self.buf.get(index(from)..index(to)).unwrap_or_default()
    }

    /// Checks the newly buffered whole records for the start of another member.
    fn scan(&mut self) -> Result<(), IngestError> {
        let end = self.buffered_end();
        while self.scanned + RECORD as u64 <= end {
            let at = self.scanned;
            if is_member_header(self.slice(at, at + RECORD as u64)) {
                return Err(self.members_error(at));
            }
            self.scanned += RECORD as u64;
        }
        Ok(())
    }

    /// The error for a file with another member starting at `at`, naming every member: reads
    /// the rest of the file for their names.
    fn members_error(&mut self, at: u64) -> IngestError {
        // The rows before come first: a bad value among them is the error.
        if let Err(e) = self.flush() {
            return e;
        }
        let mut names = vec![self.member.clone()];
        let mut pos = at;
        let mut after_header = 0; // records since the last member header: its name is in the 2nd
        loop {
            while self.buffered_end() < pos + RECORD as u64 {
                self.lo = self.offset_in_buf(pos);
                match self.read_more() {
                    Ok(true) => {}
                    _ => return self.members_message(&names),
                }
            }
            let rec = self.slice(pos, pos + RECORD as u64);
            if is_member_header(rec) {
                after_header = 1;
            } else if after_header == 1 {
                after_header = 2;
            } else if after_header == 2 {
                let name = rec.get(self.version.member_name()).unwrap_or_default();
                names.push(String::from_utf8_lossy(trim_end(name, b' ')).into_owned());
                after_header = 0;
            }
            pos += RECORD as u64;
        }
    }

    fn members_message(&self, names: &[String]) -> IngestError {
        IngestError::file(
            &self.path,
            format!(
                "the file holds {} members ({}); only single-member XPT files are read: write \
                 each dataset to its own file",
                names.len(),
                names.join(", ")
            ),
        )
    }

    /// The number of observations when the file gives none, once all of it is buffered: see the
    /// module documentation.
    fn resolve_count(&self) -> Result<u64, IngestError> {
        let data = self.buffered_end() - self.data_start;
        if !data.is_multiple_of(RECORD as u64) {
            return Err(IngestError::file(
                &self.path,
                format!(
                    "truncated: the file is {} bytes, not a whole number of 80-byte records",
                    self.buffered_end()
                ),
            ));
        }
        let len = self.layout.row_len as u64;
        let first = if data >= RECORD as u64 {
            (data - RECORD as u64) / len + 1
        } else {
            0
        };
        let end = self.buffered_end();
        for n in first.max(self.row)..=data / len {
            let from = self.data_start + n * len;
            if self.slice(from, end).iter().all(|&b| b == b' ') {
                return Ok(n);
            }
        }
        Err(IngestError::file(
            &self.path,
            format!(
                "corrupt or truncated observations: {data} bytes of data are not whole \
                 {len}-byte observations followed by blank padding to the 80-byte record"
            ),
        ))
    }

    /// After the last observation: blank padding to the record boundary, then the end of the
    /// file.
    fn finish(&mut self) -> Result<(), IngestError> {
        self.flush()?;
        let pos = self.cursor();
        let used = (pos - self.data_start) % RECORD as u64;
        let aligned = if used == 0 {
            pos
        } else {
            pos + (RECORD as u64 - used)
        };
        while self.buffered_end() < aligned {
            if !self.read_more()? {
                return Err(IngestError::file(
                    &self.path,
                    format!(
                        "truncated: the file ends at byte {} inside the last 80-byte record \
                         after observation {}",
                        self.buffered_end(),
                        self.row
                    ),
                ));
            }
        }
        if !self.slice(pos, aligned).iter().all(|&b| b == b' ') {
            return Err(IngestError::file(
                &self.path,
                format!(
                    "corrupt file: the {} bytes after the last of {} observations are not blank \
                     padding",
                    aligned - pos,
                    self.row
                ),
            ));
        }
        self.lo = self.offset_in_buf(aligned);
        while self.buffered_end() < aligned + RECORD as u64 && self.read_more()? {}
        if self.buffered_end() > aligned {
            if is_member_header(self.slice(aligned, aligned + RECORD as u64)) {
                return Err(self.members_error(aligned));
            }
            return Err(IngestError::file(
                &self.path,
                format!(
                    "corrupt file: data at byte {aligned} after the last of {} observations",
                    self.row
                ),
            ));
        }
        Ok(())
    }

    /// How many of the next observations are in `buf` and known to be rows: those for which
    /// [`Self::next_row`] would neither read nor end.
    fn ready_rows(&self) -> u64 {
        if self.done {
            return 0;
        }
        let (pos, len) = (self.cursor(), self.layout.row_len as u64);
        match self.count {
            Some(n) => {
                (n.saturating_sub(self.row)).min(self.buffered_end().saturating_sub(pos) / len)
            }
            // As in next_row: an observation starting 80 bytes or more before the end of what
            // was scanned is a row.
            None => match self.scanned.checked_sub(pos + len.max(RECORD as u64)) {
                Some(room) => room / len + 1,
                None => 0,
            },
        }
    }

    /// Makes the next observation available in `buf`; its file offset, or `None` at the end.
    fn next_row(&mut self) -> Result<Option<u64>, IngestError> {
        if self.done {
            return Ok(None);
        }
        let pos = self.cursor();
        let len = self.layout.row_len as u64;
        loop {
            match self.count {
                Some(n) if self.row >= n => {
                    self.finish()?;
                    self.done = true;
                    return Ok(None);
                }
                Some(n) => {
                    while self.buffered_end() < pos + len {
                        if !self.read_more()? {
                            return Err(IngestError::file(
                                &self.path,
                                format!(
                                    "truncated: the file ends inside row {} of the {n} \
                                     observations the OBSV8 header declares",
                                    self.row
                                ),
                            ));
                        }
                    }
                    return Ok(Some(pos));
                }
                None => {
                    // An observation starting 80 bytes or more before the end cannot be padding.
                    if self.scanned >= pos + len.max(RECORD as u64) {
                        return Ok(Some(pos));
                    }
                    if self.read_more()? {
                        self.scan()?;
                    } else {
                        self.count = Some(self.resolve_count()?);
                    }
                }
            }
        }
    }

    /// Converts the observations found and not yet converted (rows `converted..row`, all in
    /// `buf`) into `out`, on all cores; the first bad value in row order is the error.
    fn flush(&mut self) -> Result<(), IngestError> {
        let rows = (self.row - self.converted) as usize;
        if rows == 0 {
            return Ok(());
        }
        let len = self.layout.row_len;
        let from = self.data_start + self.converted * len as u64;
        let start = self.offset_in_buf(from);
        let data = self.buf.get(start..start + rows * len).unwrap_or_default();
        let first = self.converted;
        let (path, names, layout) = (&self.path, &self.names, &self.layout);
        convert_in_parallel(
            rows,
            MIN_RANGE,
            &mut self.out,
            &mut self.spare,
            |range, batch| {
                write_rows(data, range, layout, batch).map_err(|bad| {
                    IngestError::at(
                        path,
                        format!(
                            "row {}, column {}",
                            first + bad.row as u64,
                            names[bad.column]
                        ),
                        format!(
                            "character value is not UTF-8 (invalid byte at offset {})",
                            bad.valid_up_to
                        ),
                    )
                })
            },
        )?;
        self.converted = self.row;
        self.lo = start + rows * len;
        Ok(())
    }

    /// Finds the rows of the next batch and converts them into `out`.
    fn fill(&mut self) -> Result<(), IngestError> {
        let per_batch = BATCH_ROWS.min((BATCH_DATA / self.layout.row_len).max(1)) as u64;
        while self.row - self.converted < per_batch {
            // Rows that are already buffered, taken at once: those `next_row` would return
            // one by one without reading.
            let ready = self
                .ready_rows()
                .min(per_batch - (self.row - self.converted));
            if ready > 0 {
                self.row += ready;
                continue;
            }
            match self.next_row() {
                Ok(Some(_)) => self.row += 1,
                Ok(None) => break,
                // The rows before the place of the error come first.
                Err(e) => return Err(self.flush().err().unwrap_or(e)),
            }
        }
        self.flush()
    }
}

/// How observations are laid out, for converting them.
struct Layout {
    columns: Vec<Column>,
    /// Observation length: the sum of the column lengths.
    row_len: usize,
    /// The bytes of numeric values, 64 a word (byte `i` is bit `i % 64` of word `i / 64`).
    numeric: Vec<u64>,
    /// Most bytes a row's `values` array takes but for escapes, with room for the fixed-size
    /// copies.
    most: usize,
}

impl Layout {
    fn new(columns: Vec<Column>, row_len: usize) -> Self {
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

/// A character value that is not UTF-8: its row (within the rows converted), column, and the
/// offset of its first invalid byte.
struct BadText {
    row: usize,
    column: usize,
    valid_up_to: usize,
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
fn write_rows(
    data: &[u8],
    range: std::ops::Range<usize>,
    layout: &Layout,
    batch: &mut Batch,
) -> Result<(), BadText> {
    let len = layout.row_len;
    let mut w = RowWriter {
        o: std::mem::take(&mut batch.buf),
        pos: batch.ends.last().map_or(0, |&e| e + 1),
        nonblank: vec![0u64; layout.numeric.len()],
        text: String::new(),
        escaped: Vec::new(),
    };
    let mut result = Ok(());
    for i in range {
        let at = i * len;
        if let Err((column, valid_up_to)) = w.row(layout, &data[at..at + len], &data[at..]) {
            result = Err(BadText {
                row: i,
                column,
                valid_up_to,
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
}

impl RowWriter {
    /// Writes the `values` array of observation `row` and its newline; `rest` is the data from
    /// the row on, for fixed-size copies. On a character value that is not UTF-8, its column
    /// and the offset of its first invalid byte.
    #[inline(always)]
    fn row(&mut self, layout: &Layout, row: &[u8], rest: &[u8]) -> Result<(), (usize, usize)> {
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
                        let text = std::str::from_utf8(value).map_err(|e| (c, e.valid_up_to()))?;
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
                Kind::Num(t) => match ibm_to_f64(value) {
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
                    SasNumber::Value(x) => {
                        self.text.clear();
                        push_number(&mut self.text, x, t);
                        let n = self.text.len();
                        o[pos] = b'"';
                        o[pos + 1..pos + 1 + n].copy_from_slice(self.text.as_bytes());
                        o[pos + 1 + n] = b'"';
                        pos += n + 2;
                    }
                },
            }
        }
        o[start] = b'[';
        o[pos] = b']';
        o[pos + 1] = b'\n';
        self.pos = pos + 2;
        Ok(())
    }
}

/// Reads a `LABELV8` or `LABELV9` section (`head` is its header record): checks each entry's
/// variable and name, and takes the long format names of `LABELV9`.
fn read_labels(
    r: &mut HeaderReader<'_>,
    head: &[u8],
    v9: bool,
    namestrs: &mut [Namestr],
) -> Result<(), IngestError> {
    let section = if v9 { "LABELV9" } else { "LABELV8" };
    // The count is in bytes 48..53, where ReadStat reads and writes it.
    let n = parse_decimal(&head[48..53]).ok_or_else(|| {
        r.error(format!(
            "corrupt {section} header: the count is not a number"
        ))
    })?;
    if n > namestrs.len() as u64 {
        return Err(r.error(format!(
            "corrupt {section} header: {n} label records for {} variables",
            namestrs.len()
        )));
    }
    let mut seen = vec![false; namestrs.len()];
    for _ in 0..n {
        let fields = if v9 { 5 } else { 3 };
        let head = r.take(2 * fields, "label records")?;
        let var = usize::from(be_u16(&head, 0));
        let name_len = usize::from(be_u16(&head, 2));
        let (format_len, informat_len) = if v9 {
            (usize::from(be_u16(&head, 4)), usize::from(be_u16(&head, 6)))
        } else {
            (0, 0)
        };
        let label_len = usize::from(be_u16(&head, 2 * fields - 2));
        // Variable numbers count from 1, as the namestrs' own do.
        if var == 0 || var > namestrs.len() || seen[var - 1] {
            return Err(r.error(format!(
                "corrupt {section} record: variable number {var} is out of range or repeated"
            )));
        }
        seen[var - 1] = true;
        let name = r.take(name_len, "label records")?;
        let ns = &mut namestrs[var - 1];
        if header_text(&name).as_deref() != Some(ns.name.as_str()) {
            return Err(r.error(format!(
                "corrupt {section} record: it names variable {var} {:?}, its namestr {:?}",
                String::from_utf8_lossy(&name),
                ns.name
            )));
        }
        if v9 {
            let format = r.take(format_len, "label records")?;
            r.take(informat_len, "label records")?;
            if !trim_end(&format, b' ').is_empty() {
                ns.format = format;
            }
        }
        r.take(label_len, "label records")?;
    }
    r.skip_to_record("label records")
}

/// Validates the namestrs and lays out the columns: names, columns, observation length.
fn layout(
    path: &Path,
    version: Version,
    namestrs: Vec<Namestr>,
) -> Result<(Vec<String>, Vec<Column>, usize), IngestError> {
    let max_char: i16 = match version {
        Version::V5 => 200,
        Version::V8 => 32767,
    };
    let mut names = Vec::with_capacity(namestrs.len());
    let mut columns = Vec::with_capacity(namestrs.len());
    let mut spans = Vec::with_capacity(namestrs.len());
    for ns in namestrs {
        let at = format!("column {}", ns.name);
        let kind = match ns.ntype {
            1 => {
                if !(2..=8).contains(&ns.len) {
                    return Err(IngestError::at(
                        path,
                        at,
                        format!("numeric length {} is not 2 to 8 bytes", ns.len),
                    ));
                }
                Kind::Num(temporal(&ns.format))
            }
            2 => {
                if !(1..=max_char).contains(&ns.len) {
                    return Err(IngestError::at(
                        path,
                        at,
                        format!(
                            "character length {} is not 1 to {max_char} bytes (version {})",
                            ns.len,
                            version.number()
                        ),
                    ));
                }
                Kind::Char
            }
            t => {
                return Err(IngestError::at(
                    path,
                    at,
                    format!("unknown variable type {t} (1 is numeric, 2 character)"),
                ));
            }
        };
        let offset = usize::try_from(ns.pos).map_err(|_| {
            IngestError::at(
                path,
                &at,
                format!("negative position {} in the observation", ns.pos),
            )
        })?;
        let len = ns.len as usize;
        spans.push((offset, len, columns.len()));
        columns.push(Column { kind, offset, len });
        names.push(ns.name);
    }
    spans.sort_unstable();
    let mut end = 0usize;
    for &(offset, len, i) in &spans {
        if offset != end {
            return Err(IngestError::at(
                path,
                format!("column {}", names[i]),
                format!(
                    "position {offset} in the observation leaves a gap or overlaps (expected \
                     {end})"
                ),
            ));
        }
        end += len;
    }
    if end > MAX_RECORD_BYTES {
        return Err(IngestError::file(
            path,
            format!("observation length {end} is more than the {MAX_RECORD_BYTES} bytes allowed"),
        ));
    }
    let mut sorted: Vec<String> = names.iter().map(|n| n.to_ascii_uppercase()).collect();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|p| p[0] == p[1]) {
        return Err(IngestError::file(
            path,
            format!(
                "two variables are named {} (names ignore case in SAS)",
                pair[0]
            ),
        ));
    }
    Ok((names, columns, end))
}

impl RowSource for XptSource {
    fn columns(&self) -> &[String] {
        &self.names
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        // Filled in place of the caller's batch, whose allocations it reuses.
        std::mem::swap(&mut self.out, batch);
        // The bytes stay, as stale ones: write_rows overwrites them without zeroing them again.
        self.out.ends.clear();
        let filled = self.fill();
        self.out.discard_partial();
        std::mem::swap(&mut self.out, batch);
        filled?;
        Ok(!batch.is_empty())
    }

    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes_read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    /// One variable of a hand-built file.
    #[derive(Clone)]
    struct Var {
        name: String,
        ntype: i16,
        len: i16,
        format: String,
        pos: Option<i32>,
    }

    fn char_var(name: &str, len: i16) -> Var {
        Var {
            name: name.into(),
            ntype: 2,
            len,
            format: String::new(),
            pos: None,
        }
    }

    fn num_var(name: &str, len: i16, format: &str) -> Var {
        Var {
            name: name.into(),
            ntype: 1,
            len,
            format: format.into(),
            pos: None,
        }
    }

    /// A hand-built XPT file: headers as SAS lays them out, data padded with blanks.
    #[derive(Clone)]
    struct Spec {
        v8: bool,
        vars: Vec<Var>,
        /// Variable count written in the namestr header (default: `vars.len()`).
        declared: Option<usize>,
        namestr_size: usize,
        /// A raw `LABELV8`/`LABELV9` section (header and records) for version 8.
        labels: Option<Vec<u8>>,
        /// The `OBSV8` count field (version 8), e.g. `Some(3)`.
        count: Option<u64>,
        data: Vec<u8>,
    }

    fn spec(v8: bool, vars: Vec<Var>, data: &[u8]) -> Spec {
        Spec {
            v8,
            vars,
            declared: None,
            namestr_size: 140,
            labels: None,
            count: None,
            data: data.to_vec(),
        }
    }

    fn header(name: &str, rest: &str) -> Vec<u8> {
        let text = format!("HEADER RECORD*******{name:<8}HEADER RECORD!!!!!!!{rest:<32}");
        assert_eq!(text.len(), 80);
        text.into_bytes()
    }

    fn pad80(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(80) {
            out.push(b' ');
        }
    }

    fn padded(text: &str, n: usize) -> Vec<u8> {
        let mut b = text.as_bytes().to_vec();
        b.resize(n, b' ');
        b
    }

    fn build(s: &Spec) -> Vec<u8> {
        let (lib, mem, dsc, nam, obs) = if s.v8 {
            ("LIBV8", "MEMBV8", "DSCPTV8", "NAMSTV8", "OBSV8")
        } else {
            ("LIBRARY", "MEMBER", "DSCRPTR", "NAMESTR", "OBS")
        };
        let zeros = "0".repeat(30);
        let mut out = header(lib, &zeros);
        out.extend(padded("SAS     SAS     SASLIB  9.4     Linux", 64));
        out.extend(b"01MAY24:12:00:00");
        out.extend(padded("01MAY24:12:00:00", 80));
        let size = format!("{:04}", s.namestr_size);
        out.extend(header(mem, &format!("00000000000000000160000000{size}")));
        out.extend(header(dsc, &zeros));
        let name_field = if s.v8 { 32 } else { 8 };
        let mut rec = padded("SAS", 8);
        rec.extend(padded("DM", name_field));
        rec.extend(padded("SASDATA 9.4     Linux", 80 - 8 - name_field - 16));
        rec.extend(b"01MAY24:12:00:00");
        out.extend(rec);
        out.extend(padded("01MAY24:12:00:00", 80));
        let declared = s.declared.unwrap_or(s.vars.len());
        out.extend(header(
            nam,
            &format!("000000{declared:04}00000000000000000000"),
        ));
        let mut pos = 0i32;
        for (i, v) in s.vars.iter().enumerate() {
            let mut ns = Vec::with_capacity(140);
            ns.extend(v.ntype.to_be_bytes());
            ns.extend([0, 0]);
            ns.extend(v.len.to_be_bytes());
            ns.extend((i as i16 + 1).to_be_bytes());
            ns.extend(padded(&v.name.chars().take(8).collect::<String>(), 8));
            ns.extend(padded("label", 40));
            ns.extend(padded(&v.format, 8));
            ns.extend([0u8; 8]);
            ns.extend(padded("", 8));
            ns.extend([0u8; 4]);
            ns.extend(v.pos.unwrap_or(pos).to_be_bytes());
            if s.v8 {
                ns.extend(padded(&v.name, 32));
                ns.extend([0u8; 20]);
            } else {
                ns.extend([0u8; 52]);
            }
            ns.truncate(s.namestr_size);
            out.extend(ns);
            pos += i32::from(v.len);
        }
        pad80(&mut out);
        if let Some(labels) = &s.labels {
            out.extend(labels);
            pad80(&mut out);
        }
        let count = s.count.map_or(zeros, |n| format!("{n:>15}"));
        out.extend(header(obs, &count));
        out.extend(&s.data);
        pad80(&mut out);
        out
    }

    fn file_of(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().expect("temp file");
        f.write_all(bytes).expect("write");
        f.rewind().expect("rewind");
        f
    }

    /// Columns and rows of `bytes` read as an XPT file, or the error's text.
    fn read(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
        let path = Path::new("t.xpt");
        let mut source = XptSource::new(path, file_of(bytes)).map_err(|e| e.to_string())?;
        let columns = source.columns().to_vec();
        let mut rows = Vec::new();
        let mut batch = Batch::default();
        while source.next_batch(&mut batch).map_err(|e| e.to_string())? {
            for i in 0..batch.len() {
                rows.push(String::from_utf8_lossy(batch.row(i)).into_owned());
            }
        }
        assert_eq!(source.bytes_read(), Some(bytes.len() as u64));
        Ok((columns, rows))
    }

    fn rows(bytes: &[u8]) -> Vec<String> {
        read(bytes).unwrap_or_else(|e| panic!("{e}")).1
    }

    fn error(bytes: &[u8]) -> String {
        match read(bytes) {
            Ok(r) => panic!("expected an error, read {r:?}"),
            Err(e) => e,
        }
    }

    fn value(bytes: &[u8]) -> SasNumber {
        ibm_to_f64(bytes)
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // ------------------------------------------------------------------ IBM floats

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

    // ------------------------------------------------------------------ temporal text

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

    // ------------------------------------------------------------------ files

    fn ibm(h: &str) -> Vec<u8> {
        hex(h)
    }

    fn dm_data() -> Vec<u8> {
        let mut d = Vec::new();
        for (id, age) in [
            ("A-1 ", "4242000000000000"),
            ("B-22", "2e00000000000000"),
            ("    ", "4100000000000000"),
        ] {
            d.extend(id.as_bytes());
            d.extend(ibm(age));
        }
        d
    }

    #[test]
    fn v5_minimal() {
        let s = spec(
            false,
            vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
            &dm_data(),
        );
        let (cols, rows) = read(&build(&s)).unwrap();
        assert_eq!(cols, ["USUBJID", "AGE"]);
        assert_eq!(
            rows,
            [r#"["A-1","66"]"#, r#"["B-22",null]"#, r#"[null,".A"]"#]
        );
    }

    #[test]
    fn v5_vax_namestrs() {
        let mut s = spec(
            false,
            vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
            &dm_data(),
        );
        s.namestr_size = 136;
        assert_eq!(rows(&build(&s)).len(), 3);
        s.namestr_size = 138;
        assert!(error(&build(&s)).contains("namestr size"));
    }

    #[test]
    fn v8_long_names_count_and_labels() {
        let vars = vec![
            char_var("UNIQUE_SUBJECT_ID", 4),
            num_var("AGE_IN_YEARS_AT_SCREENING", 8, ""),
        ];
        let mut s = spec(true, vars, &dm_data());
        s.count = Some(3);
        let (cols, first) = read(&build(&s)).unwrap();
        assert_eq!(cols, ["UNIQUE_SUBJECT_ID", "AGE_IN_YEARS_AT_SCREENING"]);
        assert_eq!(first.len(), 3);
        // A LABELV8 section naming variable 2.
        let mut labels = header("LABELV8", "1");
        let name = b"AGE_IN_YEARS_AT_SCREENING";
        let label = "x".repeat(60);
        labels.extend(2u16.to_be_bytes());
        labels.extend((name.len() as u16).to_be_bytes());
        labels.extend((label.len() as u16).to_be_bytes());
        labels.extend(name);
        labels.extend(label.as_bytes());
        s.labels = Some(labels.clone());
        assert_eq!(rows(&build(&s)), first);
        // The count field of zeros: derived from the end of the file instead.
        s.count = None;
        assert_eq!(rows(&build(&s)), first);
        // A count that is not a number.
        let mut bad = build(&s);
        let at = bad.len() - 160 + 60; // the OBSV8 record, then one record of data
        bad[at] = b'x';
        assert!(error(&bad).contains("corrupt OBSV8 header"));
        // Fewer rows declared than present, or more.
        s.count = Some(2);
        assert!(error(&build(&s)).contains("after the last of 2 observations"));
        // A fourth observation of blanks fits in the padding: 4 declared, 4 read.
        s.count = Some(4);
        assert_eq!(rows(&build(&s)).len(), 4);
        s.count = Some(10);
        assert!(error(&build(&s)).contains("truncated: the file ends inside row 6"));
        // A label record for the wrong variable.
        s.count = Some(3);
        labels[80..82].copy_from_slice(&1u16.to_be_bytes());
        s.labels = Some(labels.clone());
        assert!(error(&build(&s)).contains("names variable 1"));
        labels[80..82].copy_from_slice(&0u16.to_be_bytes());
        s.labels = Some(labels);
        assert!(error(&build(&s)).contains("variable number 0"));
    }

    #[test]
    fn labelv9_long_format_wins() {
        let mut s = spec(
            true,
            vec![num_var("WHEN", 8, "DATE")],
            &ibm("4110000000000000"),
        );
        assert_eq!(rows(&build(&s)), [r#"["1960-01-02"]"#]);
        let mut labels = header("LABELV9", "1");
        let (name, format) = (b"WHEN", b"DATETIME20.");
        for n in [1, name.len(), format.len(), 0, 0] {
            labels.extend((n as u16).to_be_bytes());
        }
        labels.extend(name);
        labels.extend(format);
        s.labels = Some(labels);
        assert_eq!(rows(&build(&s)), [r#"["1960-01-01T00:00:01"]"#]);
    }

    #[test]
    fn numeric_lengths_and_dates_in_files() {
        let vars = (2..=8)
            .map(|w| num_var(&format!("N{w}"), w, ""))
            .chain([num_var("D", 4, "DATE9.")]);
        let vars: Vec<Var> = vars.collect();
        let mut data = Vec::new();
        for w in 2..=8 {
            data.extend(&ibm("401999999999999a")[..w]);
        }
        data.extend(&ibm("4455F00000000000")[..4]); // 0x55F0 = 22000
        let r = rows(&build(&spec(false, vars, &data)));
        assert_eq!(
            r,
            [concat!(
                r#"["0.09765625","0.0999908447265625","0.09999996423721313","0.09999999986030161","#,
                r#""0.0999999999994543","0.09999999999999787","0.1","2020-03-26"]"#
            )]
        );
    }

    #[test]
    fn character_values() {
        let data = b"  a \"q\"\\  \xc3\xa9t\xc3\xa9    ";
        let vars = vec![char_var("A", 10), char_var("B", 10), char_var("C", 4)];
        assert_eq!(
            rows(&build(&spec(false, vars.clone(), data))),
            [r#"["  a \"q\"\\","été",null]"#]
        );
        let mut bad = data.to_vec();
        bad[12] = 0xe9; // Latin-1 é
        let e = error(&build(&spec(false, vars, &bad)));
        assert!(
            e.contains("row 0, column B") && e.contains("not UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn padding_rule() {
        // 10-byte rows: the trailing all-blank row inside the padding is padding; a blank row
        // in the middle is a row.
        let vars = vec![char_var("A", 10)];
        let data = b"a         "
            .iter()
            .chain(&[b' '; 10])
            .chain(b"b         ")
            .copied();
        let data: Vec<u8> = data.chain([b' '; 10]).collect();
        assert_eq!(
            rows(&build(&spec(false, vars.clone(), &data))),
            [r#"["a"]"#, "[null]", r#"["b"]"#]
        );
        // 8 rows of 10 bytes, the last not blank, fill a record exactly: all 8 are rows.
        let data: Vec<u8> = b"a         "
            .iter()
            .chain(&[b' '; 60])
            .chain(b"b         ")
            .copied()
            .collect();
        assert_eq!(rows(&build(&spec(false, vars.clone(), &data))).len(), 8);
        // With the last blank too, the blank rows of that record are read as padding.
        let data: Vec<u8> = b"a         ".iter().copied().chain([b' '; 70]).collect();
        assert_eq!(
            rows(&build(&spec(false, vars.clone(), &data))),
            [r#"["a"]"#]
        );
        // Non-blank bytes after the last whole row (30-byte rows, 80 bytes): corrupt.
        let mut f = build(&spec(false, vec![char_var("A", 30)], &[b'a'; 30]));
        let n = f.len();
        f[n - 5] = b'x';
        assert!(error(&f).contains("not whole"));
        // NUL padding is not blank padding either.
        f[n - 5] = 0;
        assert!(error(&f).contains("not whole"));
        // 100-byte rows: a trailing blank row starting 80+ bytes before the end is a row.
        let vars = vec![char_var("A", 100)];
        let data: Vec<u8> = [b'x'; 100].iter().chain(&[b' '; 100]).copied().collect();
        assert_eq!(
            rows(&build(&spec(false, vars.clone(), &data))),
            [format!(r#"["{}"]"#, "x".repeat(100)), "[null]".into()]
        );
        // 100-byte rows in 80 bytes of data: no whole row, and no room for one: corrupt.
        let f = build(&spec(false, vars, &[b'x'; 50]));
        assert!(error(&f).contains("not whole"));
    }

    #[test]
    fn zero_rows() {
        let vars = vec![char_var("A", 4)];
        assert!(rows(&build(&spec(false, vars.clone(), b""))).is_empty());
        let mut s = spec(true, vars, b"");
        s.count = Some(0);
        assert!(rows(&build(&s)).is_empty());
    }

    #[test]
    fn batches_and_blocks() {
        // More rows than a batch, straddling read blocks (17-byte rows, 1.2 MB).
        let n = BATCH_ROWS + 4000;
        let vars = vec![char_var("A", 9), num_var("N", 8, "")];
        let mut data = Vec::with_capacity(n * 17);
        for i in 0..n {
            data.extend(format!("{i:<9}").as_bytes());
            data.extend(ibm("4110000000000000"));
        }
        for v8 in [false, true] {
            let mut s = spec(v8, vars.clone(), &data);
            s.count = v8.then_some(n as u64);
            let bytes = build(&s);
            let mut source = XptSource::new(Path::new("t.xpt"), file_of(&bytes)).unwrap();
            let mut batch = Batch::default();
            let mut sizes = Vec::new();
            let mut last = String::new();
            while source.next_batch(&mut batch).unwrap() {
                sizes.push(batch.len());
                last = String::from_utf8_lossy(batch.row(batch.len() - 1)).into_owned();
            }
            assert_eq!(sizes, [BATCH_ROWS, 4000]);
            assert_eq!(last, format!(r#"["{}","1"]"#, n - 1));
            assert_eq!(source.bytes_read(), Some(bytes.len() as u64));
        }
    }

    #[test]
    fn header_errors() {
        let good = build(&spec(
            false,
            vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
            &dm_data(),
        ));
        assert!(error(b"").contains("truncated"));
        assert!(error(&[b'x'; 200]).contains("not a SAS XPORT file"));
        assert!(error(&padded("**COMPRESSED** **COMPRESSED**", 160)).contains("CPORT"));
        let mut v9 = good.clone();
        v9[20..28].copy_from_slice(b"LIBV9   ");
        assert!(error(&v9).contains("unknown SAS XPORT library header"));
        let mut mixed = good.clone();
        mixed[240 + 20..240 + 28].copy_from_slice(b"MEMBV8  ");
        assert!(error(&mixed).contains("expected the MEMBER header"));
        // Every cut inside the headers is an error naming truncation, never a panic.
        let data_start = good.len() - 80 * 2;
        for cut in 0..data_start {
            let e = error(&good[..cut]);
            assert!(e.contains("truncated"), "cut {cut}: {e}");
        }
        // A cut in the data: not whole records.
        assert!(error(&good[..good.len() - 7]).contains("truncated"));
    }

    #[test]
    fn namestr_errors() {
        let vars = vec![char_var("USUBJID", 4), num_var("AGE", 8, "")];
        let mut s = spec(false, vars.clone(), &dm_data());
        s.declared = Some(1);
        assert!(error(&build(&s)).contains("not a header"));
        s.declared = Some(3); // the third namestr is read from the padding and the OBS header
        assert!(error(&build(&s)).contains("namestr 3 has an invalid variable name"));
        s.declared = Some(0);
        assert!(error(&build(&s)).contains("no variables"));
        let cases: [(Var, &str); 7] = [
            (num_var("N", 1, ""), "numeric length 1"),
            (num_var("N", 9, ""), "numeric length 9"),
            (char_var("C", 0), "character length 0"),
            (char_var("C", 201), "character length 201"),
            (char_var("C", -4), "character length -4"),
            (
                Var {
                    ntype: 3,
                    ..char_var("C", 4)
                },
                "unknown variable type 3",
            ),
            (char_var("", 4), "invalid variable name"),
        ];
        for (var, want) in cases {
            let e = error(&build(&spec(false, vec![char_var("A", 4), var], b"")));
            assert!(e.contains(want), "{want}: {e}");
        }
        // v8 allows long character values.
        let mut s = spec(true, vec![char_var("C", 300)], &[b'y'; 300]);
        s.count = Some(1);
        assert_eq!(rows(&build(&s)), [format!(r#"["{}"]"#, "y".repeat(300))]);
        // Positions: gap, overlap, negative; any order that tiles the row is fine.
        let at = |v: Var, p: i32| Var { pos: Some(p), ..v };
        let e = error(&build(&spec(
            false,
            vec![char_var("A", 4), at(char_var("B", 4), 5)],
            b"",
        )));
        assert!(e.contains("column B") && e.contains("gap"), "{e}");
        let e = error(&build(&spec(
            false,
            vec![char_var("A", 4), at(char_var("B", 4), 2)],
            b"",
        )));
        assert!(e.contains("overlaps"), "{e}");
        let e = error(&build(&spec(false, vec![at(char_var("A", 4), -1)], b"")));
        assert!(e.contains("negative position"), "{e}");
        let swapped = vec![at(char_var("A", 2), 3), at(char_var("B", 3), 0)];
        assert_eq!(
            rows(&build(&spec(false, swapped, b"bbbaa"))),
            [r#"["aa","bbb"]"#]
        );
        let e = error(&build(&spec(
            false,
            vec![char_var("AGE", 4), char_var("age", 4)],
            b"",
        )));
        assert!(e.contains("two variables are named AGE"), "{e}");
    }

    #[test]
    fn multiple_members_are_refused() {
        let one = build(&spec(
            false,
            vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
            &dm_data(),
        ));
        let mut two = one.clone();
        let second = build(&spec(false, vec![char_var("X", 8)], b"abcdefgh"));
        two.extend(&second[240..]); // its member, without the library header
        two.extend(&second[240..]);
        let e = error(&two);
        assert!(e.contains("3 members (DM, DM, DM)"), "{e}");
        let mut s = spec(
            true,
            vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
            &dm_data(),
        );
        s.count = Some(3);
        let mut two = build(&s);
        two.extend(&build(&s)[240..]);
        assert!(error(&two).contains("2 members"));
    }

    // ------------------------------------------------------------------ conversion

    /// The IBM float of `x`, exact when `x` has at most 53 significant bits and fits.
    fn ibm_of(x: f64) -> [u8; 8] {
        if x == 0.0 {
            return [0; 8];
        }
        let (mut f, mut e) = (x.abs(), 64u8);
        while f >= 1.0 {
            f /= 16.0;
            e += 1;
        }
        while f < 1.0 / 16.0 {
            f *= 16.0;
            e -= 1;
        }
        let mut b = ((f * 2f64.powi(56)) as u64).to_be_bytes();
        b[0] = e | if x < 0.0 { 0x80 } else { 0 };
        b
    }

    /// The conversion of one observation as the reader did it before it converted on all
    /// cores: value by value, trimmed, checked as UTF-8 and escaped.
    fn reference_row(row: &[u8], columns: &[Column]) -> Result<Vec<u8>, (usize, usize)> {
        let mut out = vec![b'['];
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let value = &row[col.offset..col.offset + col.len];
            match col.kind {
                Kind::Char => {
                    let text = std::str::from_utf8(trim_end(value, b' '))
                        .map_err(|e| (i, e.valid_up_to()))?;
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
    /// as IBM floats of every sort, missing values among them.
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
                        let ibm = match next() % 6 {
                            0 => *b".\0\0\0\0\0\0\0",
                            1 => [b'A' + (next() % 26) as u8, 0, 0, 0, 0, 0, 0, 0],
                            // Whole numbers and numbers of a few decimals, as dates and times
                            // hold them.
                            2 | 3 => ibm_of(
                                (next() % 2_000_000_000) as f64
                                    / [1.0, 10.0, 128.0][(next() % 3) as usize],
                            ),
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
            let mut batch = Batch { buf: vec![b'x'; 100], ends: Vec::new() };
            let got = write_rows(&data, 0..cut, &layout, &mut batch)
                .and_then(|()| write_rows(&data, cut..rows, &layout, &mut batch))
                .err()
                .map(|bad| (bad.row, bad.column, bad.valid_up_to));
            proptest::prop_assert_eq!(got, want_error);
            let kept = want_ends.len();
            proptest::prop_assert_eq!(&batch.ends[..], &want_ends[..kept]);
            proptest::prop_assert_eq!(
                String::from_utf8_lossy(&batch.buf),
                String::from_utf8_lossy(&want[..want_ends.last().map_or(0, |&e| e + 1)])
            );
        }
    }

    /// Rows and errors of `bytes` read with `threads` threads.
    fn read_on(threads: usize, bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| read(bytes))
    }

    /// Files of many batches and read blocks give the same rows and the same first error
    /// whatever the number of threads, in both versions (with and without an observation
    /// count), the error naming the first bad row in file order.
    #[test]
    fn thread_count_changes_nothing() {
        let n = 2 * BATCH_ROWS + 5000;
        let vars = vec![
            char_var("ID", 11),
            num_var("N", 8, ""),
            char_var("NOTE", 40),
            num_var("D", 8, "DATE9."),
        ];
        let mut data = Vec::with_capacity(n * 67);
        for i in 0..n {
            data.extend(format!("{i:<11}").as_bytes());
            data.extend(ibm_of(i as f64 / 8.0));
            let note = match i % 5 {
                0 => String::new(),
                1 => format!("note \"{i}\""),
                2 => "caf\u{e9} cr\u{e8}me".to_owned(),
                _ => "x".repeat(i % 41),
            };
            data.extend(note.as_bytes());
            data.extend(std::iter::repeat_n(b' ', 40 - note.len()));
            data.extend(ibm_of((i % 30_000) as f64));
        }
        for v8 in [false, true] {
            let mut s = spec(v8, vars.clone(), &data);
            s.count = v8.then_some(n as u64);
            let good = build(&s);
            let want = read_on(1, &good).unwrap();
            assert_eq!(want.1.len(), n);
            for threads in [2, 16] {
                assert!(
                    read_on(threads, &good).unwrap() == want,
                    "{threads} threads"
                );
            }
            // Bad UTF-8 in a later batch, twice: the first is named, whatever the threads.
            let start = good.len() - data.len().next_multiple_of(80);
            let mut bad = good.clone();
            for row in [BATCH_ROWS + 40_001, BATCH_ROWS + 50_000] {
                bad[start + row * 67 + 19 + 3] = 0xff;
            }
            for threads in [1, 2, 16] {
                let e = read_on(threads, &bad).unwrap_err();
                assert!(
                    e.ends_with(&format!(
                        "row {}, column NOTE: character value is not UTF-8 (invalid byte at offset 3)",
                        BATCH_ROWS + 40_001
                    )),
                    "{threads} threads: {e}"
                );
            }
            // A bad value before a structural error in the same batch comes first; without
            // the bad value, the structural error.
            let mut cut = bad.clone();
            cut.truncate(start + (BATCH_ROWS + 60_000) * 67 + 7);
            let mut whole = good.clone();
            whole.truncate(cut.len());
            for threads in [1, 2, 16] {
                let e = read_on(threads, &cut).unwrap_err();
                assert!(
                    e.contains(&format!("row {}, column NOTE", BATCH_ROWS + 40_001)),
                    "{e}"
                );
                let e = read_on(threads, &whole).unwrap_err();
                assert!(e.contains("truncated"), "{threads} threads: {e}");
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Arbitrary bytes, and arbitrary bytes after a valid library header: errors, never a
        /// panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1200), headed: bool) {
            let mut input = if headed { build(&spec(false, vec![char_var("A", 1)], b""))[..240].to_vec() } else { Vec::new() };
            input.extend(bytes);
            let _ = read(&input);
        }

        /// Valid files of both versions with bytes changed, inserted or cut: errors or rows,
        /// never a panic.
        #[test]
        fn mutated_files_never_panic(
            v8: bool,
            edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY, 0u8..4), 1..6),
        ) {
            let vars = vec![char_var("USUBJID", 4), num_var("AGE", 3, "DATE"), num_var("T", 8, "TIME")];
            let mut data = Vec::new();
            for _ in 0..7 {
                data.extend(b"A-1 ");
                data.extend(&ibm("4142000000000000")[..3]);
                data.extend(ibm("4110000000000000"));
            }
            let mut s = spec(v8, vars, &data);
            s.count = v8.then_some(7);
            let mut f = build(&s);
            for (at, byte, op) in edits {
                let i = at % f.len();
                match op {
                    0 => f[i] = byte,
                    1 => f.insert(i, byte),
                    2 => { f.remove(i); }
                    _ => f.truncate(i),
                }
                if f.is_empty() { break; }
            }
            let _ = read(&f);
        }
    }
}
