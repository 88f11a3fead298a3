//! The SDTM-shaped domains: DM, AE, CM, EX, LB and VS, their columns, the controlled terms they
//! draw from, and one function per domain writing a subject's rows.

use super::study::{
    Cell, Domain, Kind, Rng, Standard, Subject, date, float_text, round, s, subject,
};

use Kind::{Float as F, Int as I, Str as S};

const DM: Domain = Domain {
    name: "dm",
    standard: Standard::Sdtm,
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
    standard: Standard::Sdtm,
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
    standard: Standard::Sdtm,
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
    standard: Standard::Sdtm,
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
    standard: Standard::Sdtm,
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
    standard: Standard::Sdtm,
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

pub(super) const DOMAINS: [&Domain; 6] = [&DM, &AE, &CM, &EX, &LB, &VS];
pub(super) const STUDY: &str = "TNSTUDY01";

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

pub(super) const ARMS: [(&str, &str, f64); 3] = [
    ("PBO", "Placebo", 0.0),
    ("XAN_LO", "Xanomeline Low Dose", 54.0),
    ("XAN_HI", "Xanomeline High Dose", 81.0),
];

/// Calls `emit` with every row of `domain` for subject `n`.
pub(super) fn rows(domain: &str, seed: u64, n: u64, emit: &mut dyn FnMut(&[Cell])) {
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
    let r = &mut r;
    match domain {
        "dm" => dm(&subj, r, emit),
        "ae" => ae(&subj, r, emit),
        "cm" => cm(&subj, r, emit),
        "ex" => ex(&subj, r, emit),
        "lb" => lb(&subj, r, emit),
        _ => vs(&subj, r, emit),
    }
}

/// DM: one row per subject: demographics.
fn dm(subj: &Subject, r: &mut Rng, emit: &mut dyn FnMut(&[Cell])) {
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
    let birth_year = 2023 - subj.age;
    let brthdtc = match r.below(3) {
        0 => birth_year.to_string(),
        1 => format!("{birth_year}-{:02}", 1 + r.below(12)),
        _ => format!("{birth_year}-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28)),
    };
    let (armcd, arm, _) = ARMS[subj.arm];
    let mut row = head("DM").to_vec();
    row.extend([
        s(format!("{:05}", subj.number + 1)),
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

/// AE: zero to six adverse events.
fn ae(subj: &Subject, r: &mut Rng, emit: &mut dyn FnMut(&[Cell])) {
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
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

/// CM: zero to five concomitant medications.
fn cm(subj: &Subject, r: &mut Rng, emit: &mut dyn FnMut(&[Cell])) {
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
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

/// EX: 26 weekly doses.
fn ex(subj: &Subject, _: &mut Rng, emit: &mut dyn FnMut(&[Cell])) {
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
    let (_, _, dose) = ARMS[subj.arm];
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
        emit(&row);
    }
}

/// LB: 24 laboratory tests at ten visits, about 2% missed.
fn lb(subj: &Subject, r: &mut Rng, emit: &mut dyn FnMut(&[Cell])) {
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
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

/// VS: five vital signs in two positions at ten visits.
fn vs(subj: &Subject, r: &mut Rng, emit: &mut dyn FnMut(&[Cell])) {
    let head = |d: &str| [s(STUDY), s(d.to_ascii_uppercase()), s(subj.usubjid.clone())];
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
