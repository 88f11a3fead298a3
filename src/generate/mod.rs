//! A deterministic, SDTM-shaped study generator for fixtures and benchmarks: DM, AE, CM, EX, LB
//! and VS with their key variables and realistic proportions, streamed to CSV, Parquet or Arrow
//! IPC with bounded memory. The same seed gives byte-identical files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;

use crate::ingest::Format;

/// Rows buffered per Arrow batch before it is written.
const FLUSH_ROWS: usize = 1 << 16;

/// SplitMix64 (Steele, Lea and Flood 2014). Written out rather than taken from a crate because
/// byte-identical fixtures need an algorithm whose output can never change with a dependency
/// upgrade; this one is fixed by its definition.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, subject: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.0 ^= r
            .next()
            .wrapping_add(subject.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One cell of a generated row.
#[derive(Clone, Debug)]
enum Cell {
    Str(String),
    Int(i64),
    Float(f64),
    Null,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Int,
    Float,
}

struct Domain {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
}

use Kind::{Float as F, Int as I, Str as S};

const DM: Domain = Domain {
    name: "dm",
    columns: &[
        ("STUDYID", S),
        ("DOMAIN", S),
        ("USUBJID", S),
        ("SUBJID", S),
        ("RFSTDTC", S),
        ("RFENDTC", S),
        ("SITEID", S),
        ("BRTHDTC", S),
        ("AGE", I),
        ("AGEU", S),
        ("SEX", S),
        ("RACE", S),
        ("ETHNIC", S),
        ("ARMCD", S),
        ("ARM", S),
        ("COUNTRY", S),
    ],
};
const AE: Domain = Domain {
    name: "ae",
    columns: &[
        ("STUDYID", S),
        ("DOMAIN", S),
        ("USUBJID", S),
        ("AESEQ", I),
        ("AETERM", S),
        ("AEDECOD", S),
        ("AEBODSYS", S),
        ("AESEV", S),
        ("AESER", S),
        ("AEREL", S),
        ("AEOUT", S),
        ("AESTDTC", S),
        ("AEENDTC", S),
        ("AESTDY", I),
    ],
};
const CM: Domain = Domain {
    name: "cm",
    columns: &[
        ("STUDYID", S),
        ("DOMAIN", S),
        ("USUBJID", S),
        ("CMSEQ", I),
        ("CMTRT", S),
        ("CMDOSE", F),
        ("CMDOSU", S),
        ("CMROUTE", S),
        ("CMSTDTC", S),
        ("CMENDTC", S),
    ],
};
const EX: Domain = Domain {
    name: "ex",
    columns: &[
        ("STUDYID", S),
        ("DOMAIN", S),
        ("USUBJID", S),
        ("EXSEQ", I),
        ("EXTRT", S),
        ("EXDOSE", F),
        ("EXDOSU", S),
        ("EXDOSFRM", S),
        ("EXROUTE", S),
        ("VISITNUM", I),
        ("VISIT", S),
        ("EXSTDTC", S),
        ("EXENDTC", S),
    ],
};
const LB: Domain = Domain {
    name: "lb",
    columns: &[
        ("STUDYID", S),
        ("DOMAIN", S),
        ("USUBJID", S),
        ("LBSEQ", I),
        ("LBTESTCD", S),
        ("LBTEST", S),
        ("LBCAT", S),
        ("LBORRES", S),
        ("LBORRESU", S),
        ("LBORNRLO", S),
        ("LBORNRHI", S),
        ("LBSTRESC", S),
        ("LBSTRESN", F),
        ("LBSTRESU", S),
        ("LBNRIND", S),
        ("VISITNUM", I),
        ("VISIT", S),
        ("LBDTC", S),
    ],
};
const VS: Domain = Domain {
    name: "vs",
    columns: &[
        ("STUDYID", S),
        ("DOMAIN", S),
        ("USUBJID", S),
        ("VSSEQ", I),
        ("VSTESTCD", S),
        ("VSTEST", S),
        ("VSPOS", S),
        ("VSORRES", S),
        ("VSORRESU", S),
        ("VSSTRESC", S),
        ("VSSTRESN", F),
        ("VSSTRESU", S),
        ("VISITNUM", I),
        ("VISIT", S),
        ("VSDTC", S),
    ],
};

const DOMAINS: [&Domain; 6] = [&DM, &AE, &CM, &EX, &LB, &VS];
const STUDY: &str = "TNSTUDY01";

/// Scheduled visits over 26 weeks: (VISITNUM, VISIT, study day).
const VISITS: [(i64, &str, i64); 10] = [
    (1, "SCREENING", -7),
    (2, "BASELINE", 1),
    (3, "WEEK 2", 15),
    (4, "WEEK 4", 29),
    (5, "WEEK 6", 43),
    (6, "WEEK 8", 57),
    (7, "WEEK 12", 85),
    (8, "WEEK 16", 113),
    (9, "WEEK 20", 141),
    (10, "WEEK 26", 183),
];

/// (code, name, category, unit, low, high, decimals).
const LAB_TESTS: [(&str, &str, &str, &str, f64, f64, i32); 24] = [
    ("ALB", "Albumin", "CHEMISTRY", "g/L", 35.0, 50.0, 0),
    (
        "ALP",
        "Alkaline Phosphatase",
        "CHEMISTRY",
        "U/L",
        40.0,
        130.0,
        0,
    ),
    (
        "ALT",
        "Alanine Aminotransferase",
        "CHEMISTRY",
        "U/L",
        7.0,
        56.0,
        0,
    ),
    (
        "AST",
        "Aspartate Aminotransferase",
        "CHEMISTRY",
        "U/L",
        10.0,
        40.0,
        0,
    ),
    ("BILI", "Bilirubin", "CHEMISTRY", "umol/L", 3.0, 21.0, 1),
    (
        "BUN",
        "Blood Urea Nitrogen",
        "CHEMISTRY",
        "mmol/L",
        2.5,
        7.1,
        2,
    ),
    ("CA", "Calcium", "CHEMISTRY", "mmol/L", 2.1, 2.6, 2),
    ("CHOL", "Cholesterol", "CHEMISTRY", "mmol/L", 3.0, 6.2, 2),
    ("CK", "Creatine Kinase", "CHEMISTRY", "U/L", 22.0, 198.0, 0),
    ("CL", "Chloride", "CHEMISTRY", "mmol/L", 98.0, 107.0, 0),
    ("CREAT", "Creatinine", "CHEMISTRY", "umol/L", 53.0, 115.0, 0),
    (
        "GGT",
        "Gamma Glutamyl Transferase",
        "CHEMISTRY",
        "U/L",
        9.0,
        48.0,
        0,
    ),
    ("GLUC", "Glucose", "CHEMISTRY", "mmol/L", 3.9, 7.8, 1),
    ("K", "Potassium", "CHEMISTRY", "mmol/L", 3.5, 5.1, 1),
    ("PHOS", "Phosphate", "CHEMISTRY", "mmol/L", 0.81, 1.45, 2),
    ("PROT", "Protein", "CHEMISTRY", "g/L", 60.0, 83.0, 0),
    ("SODIUM", "Sodium", "CHEMISTRY", "mmol/L", 135.0, 145.0, 0),
    ("URATE", "Urate", "CHEMISTRY", "umol/L", 200.0, 430.0, 0),
    ("EOS", "Eosinophils", "HEMATOLOGY", "10^9/L", 0.0, 0.5, 2),
    ("HCT", "Hematocrit", "HEMATOLOGY", "1", 0.36, 0.5, 3),
    ("HGB", "Hemoglobin", "HEMATOLOGY", "mmol/L", 7.4, 10.7, 1),
    ("LYM", "Lymphocytes", "HEMATOLOGY", "10^9/L", 1.0, 4.8, 2),
    ("PLAT", "Platelets", "HEMATOLOGY", "10^9/L", 150.0, 400.0, 0),
    ("WBC", "Leukocytes", "HEMATOLOGY", "10^9/L", 4.5, 11.0, 1),
];

/// (code, name, unit, low, high, decimals).
const VITALS: [(&str, &str, &str, f64, f64, i32); 5] = [
    ("SYSBP", "Systolic Blood Pressure", "mmHg", 100.0, 160.0, 0),
    ("DIABP", "Diastolic Blood Pressure", "mmHg", 60.0, 100.0, 0),
    ("PULSE", "Pulse Rate", "beats/min", 55.0, 100.0, 0),
    ("TEMP", "Temperature", "C", 36.0, 37.8, 1),
    ("RESP", "Respiratory Rate", "breaths/min", 12.0, 20.0, 0),
];

const AE_TERMS: [(&str, &str); 10] = [
    ("HEADACHE", "NERVOUS SYSTEM DISORDERS"),
    ("DIZZINESS", "NERVOUS SYSTEM DISORDERS"),
    ("NAUSEA", "GASTROINTESTINAL DISORDERS"),
    ("DIARRHOEA", "GASTROINTESTINAL DISORDERS"),
    (
        "FATIGUE",
        "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS",
    ),
    (
        "APPLICATION SITE PRURITUS",
        "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS",
    ),
    ("ERYTHEMA", "SKIN AND SUBCUTANEOUS TISSUE DISORDERS"),
    ("RASH", "SKIN AND SUBCUTANEOUS TISSUE DISORDERS"),
    ("NASOPHARYNGITIS", "INFECTIONS AND INFESTATIONS"),
    ("INSOMNIA", "PSYCHIATRIC DISORDERS"),
];

const MEDS: [(&str, f64, &str, &str); 8] = [
    ("PARACETAMOL", 500.0, "mg", "ORAL"),
    ("IBUPROFEN", 400.0, "mg", "ORAL"),
    ("ATORVASTATIN", 20.0, "mg", "ORAL"),
    ("METFORMIN", 850.0, "mg", "ORAL"),
    ("LISINOPRIL", 10.0, "mg", "ORAL"),
    ("ASPIRIN", 81.0, "mg", "ORAL"),
    ("OMEPRAZOLE", 20.0, "mg", "ORAL"),
    ("SALBUTAMOL", 0.1, "mg", "RESPIRATORY (INHALATION)"),
];

const ARMS: [(&str, &str, f64); 3] = [
    ("PBO", "Placebo", 0.0),
    ("XAN_LO", "Xanomeline Low Dose", 54.0),
    ("XAN_HI", "Xanomeline High Dose", 81.0),
];

/// Subject-level facts every domain agrees on, derived from the seed and subject number alone.
struct Subject {
    usubjid: String,
    site: u64,
    /// Days from 2023-01-01 to the first dose.
    start: i64,
    arm: usize,
    age: i64,
    sex: &'static str,
}

fn subject(seed: u64, n: u64) -> Subject {
    let mut r = Rng::new(seed, 0, n);
    let site = 101 + r.below(40);
    Subject {
        usubjid: format!("{STUDY}-{site}-{:05}", n + 1),
        site,
        start: r.below(540) as i64,
        arm: r.below(3) as usize,
        age: 18 + r.below(68) as i64,
        sex: if r.below(2) == 0 { "F" } else { "M" },
    }
}

/// `YYYY-MM-DD` of `days` after 2023-01-01.
fn date(days: i64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid date");
    (base + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// Text of a float exactly as the CSV reader and the Arrow readers both render it.
fn float_text(x: f64) -> String {
    ryu_js::Buffer::new().format(x).to_owned()
}

fn s(x: impl Into<String>) -> Cell {
    Cell::Str(x.into())
}

/// Calls `emit` with every row of `domain` for subject `n`.
fn rows(domain: &str, seed: u64, n: u64, emit: &mut dyn FnMut(&[Cell])) {
    let subj = subject(seed, n);
    let stream = match domain {
        "dm" => 1,
        "ae" => 2,
        "cm" => 3,
        "ex" => 4,
        "lb" => 5,
        _ => 6,
    };
    let mut r = Rng::new(seed, stream, n);
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
    match domain {
        "dm" => {
            let birth_year = 2023 - subj.age;
            let brthdtc = match r.below(3) {
                0 => birth_year.to_string(),
                1 => format!("{birth_year}-{:02}", 1 + r.below(12)),
                _ => format!("{birth_year}-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28)),
            };
            let (armcd, arm, _) = ARMS[subj.arm];
            let mut row = head("DM").to_vec();
            row.extend([
                s(format!("{:05}", n + 1)),
                s(date(subj.start)),
                s(date(subj.start + 183)),
                s(subj.site.to_string()),
                s(brthdtc),
                Cell::Int(subj.age),
                s("YEARS"),
                s(subj.sex),
                s(r.pick(&[
                    "WHITE",
                    "WHITE",
                    "WHITE",
                    "BLACK OR AFRICAN AMERICAN",
                    "ASIAN",
                    "",
                ])),
                s(r.pick(&[
                    "NOT HISPANIC OR LATINO",
                    "NOT HISPANIC OR LATINO",
                    "HISPANIC OR LATINO",
                ])),
                s(armcd),
                s(arm),
                s(r.pick(&["USA", "USA", "CAN", "DEU", "FRA", "GBR"])),
            ]);
            emit(&row);
        }
        "ae" => {
            let count = [0, 0, 1, 1, 2, 2, 3, 4, 5, 6][r.below(10) as usize];
            for seq in 1..=count {
                let (term, soc) = AE_TERMS[r.below(AE_TERMS.len() as u64) as usize];
                let day = 1 + r.below(180) as i64;
                let stdtc = if r.below(10) == 0 {
                    date(subj.start + day)[..7].to_owned()
                } else {
                    date(subj.start + day)
                };
                let endtc = if r.below(4) == 0 {
                    String::new()
                } else {
                    date(subj.start + day + 1 + r.below(20) as i64)
                };
                let mut row = head("AE").to_vec();
                row.extend([
                    Cell::Int(seq),
                    s(term.to_ascii_lowercase()),
                    s(term),
                    s(soc),
                    s(r.pick(&["MILD", "MILD", "MODERATE", "SEVERE"])),
                    s(if r.below(20) == 0 { "Y" } else { "N" }),
                    s(r.pick(&["NOT RELATED", "POSSIBLY RELATED", "PROBABLY RELATED"])),
                    s(if endtc.is_empty() {
                        "NOT RECOVERED/NOT RESOLVED"
                    } else {
                        "RECOVERED/RESOLVED"
                    }),
                    s(stdtc),
                    if endtc.is_empty() {
                        Cell::Null
                    } else {
                        s(endtc)
                    },
                    Cell::Int(day),
                ]);
                emit(&row);
            }
        }
        "cm" => {
            let count = r.below(6);
            for seq in 1..=count as i64 {
                let (trt, dose, unit, route) = MEDS[r.below(MEDS.len() as u64) as usize];
                let start = subj.start - r.below(400) as i64;
                let stdtc = match r.below(4) {
                    0 => date(start)[..4].to_owned(),
                    1 => date(start)[..7].to_owned(),
                    _ => date(start),
                };
                let mut row = head("CM").to_vec();
                row.extend([
                    Cell::Int(seq),
                    s(trt),
                    Cell::Float(dose),
                    s(unit),
                    s(route),
                    s(stdtc),
                    if r.below(2) == 0 {
                        Cell::Null
                    } else {
                        s(date(subj.start + r.below(180) as i64))
                    },
                ]);
                emit(&row);
            }
        }
        "ex" => {
            let (_, arm, dose) = ARMS[subj.arm];
            for week in 0..26i64 {
                let (visitnum, visit, _) = VISITS[1 + (week as usize * 9 / 26)];
                let mut row = head("EX").to_vec();
                row.extend([
                    Cell::Int(week + 1),
                    s(if dose == 0.0 { "PLACEBO" } else { "XANOMELINE" }),
                    Cell::Float(dose),
                    s("mg"),
                    s("PATCH"),
                    s("TRANSDERMAL"),
                    Cell::Int(visitnum),
                    s(visit),
                    s(date(subj.start + 7 * week)),
                    s(date(subj.start + 7 * week + 6)),
                ]);
                let _ = arm;
                emit(&row);
            }
        }
        "lb" => {
            let mut seq = 0;
            for (visitnum, visit, day) in VISITS {
                let dtc = format!(
                    "{}T{:02}:{:02}",
                    date(subj.start + day),
                    7 + r.below(4),
                    5 * r.below(12)
                );
                for (code, name, cat, unit, lo, hi, dec) in LAB_TESTS {
                    // About 2% of scheduled draws are missed: ~235 rows per subject.
                    if r.below(50) == 0 {
                        continue;
                    }
                    seq += 1;
                    let spread = hi - lo;
                    let value = round(lo - 0.15 * spread + r.unit() * spread * 1.3, dec);
                    let not_done = r.below(100) == 0;
                    let ind = if value < lo {
                        "LOW"
                    } else if value > hi {
                        "HIGH"
                    } else {
                        "NORMAL"
                    };
                    let text = float_text(value);
                    let mut row = head("LB").to_vec();
                    row.extend([
                        Cell::Int(seq),
                        s(code),
                        s(name),
                        s(cat),
                        if not_done {
                            Cell::Null
                        } else {
                            s(text.clone())
                        },
                        s(unit),
                        s(float_text(lo)),
                        s(float_text(hi)),
                        if not_done { Cell::Null } else { s(text) },
                        if not_done {
                            Cell::Null
                        } else {
                            Cell::Float(value)
                        },
                        s(unit),
                        if not_done { Cell::Null } else { s(ind) },
                        Cell::Int(visitnum),
                        s(visit),
                        s(dtc.clone()),
                    ]);
                    emit(&row);
                }
            }
        }
        _ => {
            let mut seq = 0;
            for (visitnum, visit, day) in VISITS {
                for pos in ["SUPINE", "STANDING"] {
                    for (code, name, unit, lo, hi, dec) in VITALS {
                        seq += 1;
                        let value = round(lo + r.unit() * (hi - lo), dec);
                        let text = float_text(value);
                        let mut row = head("VS").to_vec();
                        row.extend([
                            Cell::Int(seq),
                            s(code),
                            s(name),
                            s(pos),
                            s(text.clone()),
                            s(unit),
                            s(text),
                            Cell::Float(value),
                            s(unit),
                            Cell::Int(visitnum),
                            s(visit),
                            s(date(subj.start + day)),
                        ]);
                        emit(&row);
                    }
                }
            }
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Output directory (created).
    pub out: PathBuf,
    /// Number of subjects.
    pub subjects: u64,
    /// Seed.
    pub seed: u64,
    /// File format.
    pub format: Format,
    /// Domains to write (lowercase names); empty for all six.
    pub domains: Vec<String>,
}

/// The domains the generator knows (lowercase names), in the order it writes them.
pub fn domain_names() -> Vec<&'static str> {
    DOMAINS.iter().map(|d| d.name).collect()
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Per domain: file, rows, bytes.
    pub files: Vec<(PathBuf, u64, u64)>,
}

/// Bytes of CSV one subject produces on average (the first 64 subjects written to memory), for
/// sizing a fixture by bytes.
pub fn csv_bytes_per_subject(seed: u64) -> f64 {
    let sample = 64;
    let mut w = csv::Writer::from_writer(Vec::new());
    for d in DOMAINS {
        for n in 0..sample {
            rows(d.name, seed, n, &mut |row| {
                // Writing to a Vec cannot fail.
                let _ = w.write_record(row.iter().map(cell_text));
            });
        }
    }
    w.into_inner().map_or(0, |v| v.len()) as f64 / sample as f64
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Str(x) => x.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => float_text(*f),
        Cell::Null => String::new(),
    }
}

/// Writes the study, one file per domain, the domains in parallel.
///
/// # Errors
/// I/O or encoder errors, with the file named.
pub fn generate(opts: &GenerateOptions) -> Result<Generated, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    for d in &opts.domains {
        if !domain_names().contains(&d.as_str()) {
            return Err(format!(
                "unknown domain {d:?}: choose from {}",
                domain_names().join(", ")
            ));
        }
    }
    let files: Result<Vec<_>, String> = DOMAINS
        .par_iter()
        .filter(|d| opts.domains.is_empty() || opts.domains.iter().any(|n| n == d.name))
        .map(|d| write_domain(d, opts))
        .collect();
    Ok(Generated { files: files? })
}

fn write_domain(d: &Domain, opts: &GenerateOptions) -> Result<(PathBuf, u64, u64), String> {
    let ext = match opts.format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
        Format::Arrow => "arrow",
    };
    let path = opts.out.join(format!("{}.{ext}", d.name));
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::create(&path).map_err(|e| err(&e))?;
    let mut count = 0u64;
    match opts.format {
        Format::Csv => {
            let mut w =
                csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file));
            w.write_record(d.columns.iter().map(|c| c.0))
                .map_err(|e| err(&e))?;
            let mut result = Ok(());
            for n in 0..opts.subjects {
                rows(d.name, opts.seed, n, &mut |row| {
                    count += 1;
                    if let Err(e) = w.write_record(row.iter().map(cell_text)) {
                        result = Err(err(&e));
                    }
                });
                result.clone()?;
            }
            let mut inner = w.into_inner().map_err(|e| err(&e))?;
            inner.flush().map_err(|e| err(&e))?;
        }
        Format::Parquet | Format::Arrow => {
            let schema = Arc::new(Schema::new(
                d.columns
                    .iter()
                    .map(|(name, kind)| {
                        let t = match kind {
                            Kind::Str => DataType::Utf8,
                            Kind::Int => DataType::Int64,
                            Kind::Float => DataType::Float64,
                        };
                        Field::new(*name, t, true)
                    })
                    .collect::<Vec<_>>(),
            ));
            let mut sink =
                ArrowSink::new(opts.format, file, schema.clone()).map_err(|e| err(&e))?;
            let mut cols = Columns::new(d);
            for n in 0..opts.subjects {
                rows(d.name, opts.seed, n, &mut |row| {
                    count += 1;
                    cols.push(row);
                });
                if cols.len >= FLUSH_ROWS {
                    sink.write(&cols.finish(&schema).map_err(|e| err(&e))?)
                        .map_err(|e| err(&e))?;
                }
            }
            if cols.len > 0 {
                sink.write(&cols.finish(&schema).map_err(|e| err(&e))?)
                    .map_err(|e| err(&e))?;
            }
            sink.close().map_err(|e| err(&e))?;
        }
    }
    let bytes = std::fs::metadata(&path).map_err(|e| err(&e))?.len();
    Ok((path, count, bytes))
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
}

struct Columns {
    builders: Vec<Builder>,
    len: usize,
}

impl Columns {
    fn new(d: &Domain) -> Self {
        let builders = d
            .columns
            .iter()
            .map(|(_, k)| match k {
                Kind::Str => Builder::Str(StringBuilder::new()),
                Kind::Int => Builder::Int(Int64Builder::new()),
                Kind::Float => Builder::Float(Float64Builder::new()),
            })
            .collect();
        Self { builders, len: 0 }
    }

    fn push(&mut self, row: &[Cell]) {
        for (b, c) in self.builders.iter_mut().zip(row) {
            match (b, c) {
                (Builder::Str(b), Cell::Str(x)) if !x.is_empty() => b.append_value(x),
                (Builder::Str(b), _) => b.append_null(),
                (Builder::Int(b), Cell::Int(i)) => b.append_value(*i),
                (Builder::Int(b), _) => b.append_null(),
                (Builder::Float(b), Cell::Float(f)) => b.append_value(*f),
                (Builder::Float(b), _) => b.append_null(),
            }
        }
        self.len += 1;
    }

    fn finish(&mut self, schema: &Arc<Schema>) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Float(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.len = 0;
        RecordBatch::try_new(schema.clone(), arrays)
    }
}

enum ArrowSink {
    Parquet(Box<parquet::arrow::ArrowWriter<File>>),
    Ipc(Box<arrow_ipc::writer::FileWriter<BufWriter<File>>>),
}

impl ArrowSink {
    fn new(format: Format, file: File, schema: Arc<Schema>) -> Result<Self, String> {
        Ok(match format {
            Format::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .build();
                Self::Parquet(Box::new(
                    parquet::arrow::ArrowWriter::try_new(file, schema, Some(props))
                        .map_err(|e| e.to_string())?,
                ))
            }
            _ => Self::Ipc(Box::new(
                arrow_ipc::writer::FileWriter::try_new(
                    BufWriter::with_capacity(1 << 20, file),
                    &schema,
                )
                .map_err(|e| e.to_string())?,
            )),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match self {
            Self::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Self::Ipc(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    fn close(self) -> Result<(), String> {
        match self {
            Self::Parquet(w) => w.close().map(|_| ()).map_err(|e| e.to_string()),
            Self::Ipc(mut w) => w.finish().map_err(|e| e.to_string()),
        }
    }
}

/// Parses sizes such as `2GB`, `500MB`, `10GiB`, `123456`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 2GB"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KIB" => 1024.0,
        "MIB" => 1024.0 * 1024.0,
        "GIB" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB)"
            ));
        }
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_are_sdtm_like() {
        let mut counts = std::collections::BTreeMap::new();
        for d in DOMAINS {
            for n in 0..200 {
                rows(d.name, 7, n, &mut |_| {
                    *counts.entry(d.name).or_insert(0u64) += 1
                });
            }
        }
        let per = |d: &str| counts[d] as f64 / 200.0;
        assert_eq!(per("dm"), 1.0);
        assert!((225.0..245.0).contains(&per("lb")), "lb {}", per("lb"));
        assert_eq!(per("vs"), 100.0);
        assert_eq!(per("ex"), 26.0);
        assert!((1.0..4.0).contains(&per("ae")), "ae {}", per("ae"));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
    }
}
