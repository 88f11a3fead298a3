//! The study model the generator draws from: a seeded random stream per subject and domain, the
//! subject-level facts every domain agrees on, and the cells rows are made of.

use super::sdtm::STUDY;

/// SplitMix64 (Steele, Lea and Flood 2014). Written out rather than taken from a crate because
/// byte-identical fixtures need an algorithm whose output can never change with a dependency
/// upgrade; this one is fixed by its definition.
#[derive(Clone, Debug)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: u64, subject: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.0 ^= r
            .next()
            .wrapping_add(subject.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One cell of a generated row.
#[derive(Clone, Debug)]
pub(super) enum Cell {
    Str(String),
    Int(i64),
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z.
    DateTime(i64),
    Null,
}

/// A column's type, and so its Arrow type in Parquet and Arrow IPC files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `utf8`.
    Str,
    /// `int64`.
    Int,
    /// `double`.
    Float,
    /// `large_string`: the strings of pandas and SAS data as pyarrow writes them.
    LargeStr,
    /// `int32`.
    Int32,
    /// `date32`.
    Date,
    /// `timestamp[us, tz=UTC]`.
    DateTime,
}

/// Which standard a dataset follows, and so how its files are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standard {
    /// SDTM tabulations: Parquet row groups as the writer cuts them.
    Sdtm,
    /// ADaM analysis datasets: one Parquet row group per file, as pyarrow writes a table.
    Adam,
}

pub(super) struct Domain {
    pub(super) name: &'static str,
    pub(super) standard: Standard,
    pub(super) columns: &'static [(&'static str, Kind)],
}

/// Subject-level facts every domain agrees on, derived from the seed and subject number alone.
pub(super) struct Subject {
    /// The subject's number, from 0.
    pub(super) number: u64,
    pub(super) usubjid: String,
    pub(super) site: u64,
    /// Days from 2023-01-01 to the first dose.
    pub(super) start: i64,
    pub(super) arm: usize,
    pub(super) age: i64,
    pub(super) sex: &'static str,
}

pub(super) fn subject(seed: u64, n: u64) -> Subject {
    let mut r = Rng::new(seed, 0, n);
    let site = 101 + r.below(40);
    Subject {
        number: n,
        usubjid: format!("{STUDY}-{site}-{:05}", n + 1),
        site,
        start: r.below(540) as i64,
        arm: r.below(3) as usize,
        age: 18 + r.below(68) as i64,
        sex: if r.below(2) == 0 { "F" } else { "M" },
    }
}

/// Days from 1970-01-01 to 2023-01-01, the day generated dates count from.
pub(super) const EPOCH_2023: i64 = 19_358;

/// `YYYY-MM-DD` of `days` after 2023-01-01.
pub(super) fn date(days: i64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid date");
    (base + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

pub(super) fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// Text of a float exactly as the CSV reader and the Arrow readers both render it.
pub(super) fn float_text(x: f64) -> String {
    ryu_js::Buffer::new().format(x).to_owned()
}

pub(super) fn s(x: impl Into<String>) -> Cell {
    Cell::Str(x.into())
}
