//! The ADaM-shaped analysis datasets: ADSL (one row per subject, 50 columns), and ADLB and ADVS
//! (100 columns each: the first 40 of ADSL carried onto every record, as ADaM's BDS datasets
//! carry them, then 60 of their own), derived from the subject's SDTM LB and VS rows.
//!
//! The columns have the types of real ADaM data as pyarrow writes it from pandas or SAS: about
//! 70% `large_string`, 20% `double`, the rest `date32`, `timestamp[us, tz=UTC]` and `int32`.

use super::sdtm;
use super::study::{Cell, Domain, EPOCH_2023, Kind, Rng, Standard, Subject, round, s, subject};

use Kind::{Date as D, DateTime as T, Float as F, Int32 as I, LargeStr as S};

/// The ADSL columns carried onto every record of ADLB and ADVS.
const CARRIED: usize = 40;

const ADSL_COLUMNS: [(&str, Kind); 50] = [
    ("STUDYID", S),
    ("USUBJID", S),
    ("SUBJID", S),
    ("SITEID", S),
    ("SITEGR1", S),
    ("ARM", S),
    ("ARMCD", S),
    ("ACTARM", S),
    ("ACTARMCD", S),
    ("TRT01P", S),
    ("TRT01PN", F),
    ("TRT01A", S),
    ("TRT01AN", F),
    ("TRTSDT", D),
    ("TRTEDT", D),
    ("TRTSDTM", T),
    ("AGE", I),
    ("AGEGR1", S),
    ("AGEGR1N", F),
    ("AGEU", S),
    ("SEX", S),
    ("RACE", S),
    ("RACEN", F),
    ("ETHNIC", S),
    ("COUNTRY", S),
    ("REGION1", S),
    ("SAFFL", S),
    ("ITTFL", S),
    ("EFFFL", S),
    ("FASFL", S),
    ("PPROTFL", S),
    ("COMPLFL", S),
    ("RANDFL", S),
    ("ENRLFL", S),
    ("DTHFL", S),
    ("HEIGHTBL", F),
    ("WEIGHTBL", F),
    ("BMIBL", F),
    ("BMIBLGR1", S),
    ("EOSSTT", S),
    // ADSL only.
    ("DCSREAS", S),
    ("DCDECOD", S),
    ("TRTDURD", I),
    ("CUMDOSE", F),
    ("AVGDD", F),
    ("RFSTDTC", S),
    ("RFENDTC", S),
    ("RFICDTC", S),
    ("BRTHDTC", S),
    ("DSRAEFL", S),
];

/// The 60 record-level columns of a BDS dataset, with `XX` for the SDTM domain's prefix and
/// three domain-specific qualifiers (`LBSPEC`, `LBMETHOD`, `LBFAST`; `VSPOS`, `VSLOC`, `VSLAT`).
macro_rules! bds_columns {
    ($xx:literal, $q1:literal, $q2:literal, $q3:literal) => {
        [
            (concat!($xx, "SEQ"), F),
            ("ASEQ", I),
            ("SRCDOM", S),
            ("SRCVAR", S),
            ("SRCSEQ", F),
            ("TRTP", S),
            ("TRTPN", F),
            ("TRTA", S),
            ("TRTAN", F),
            ("PARAM", S),
            ("PARAMCD", S),
            ("PARAMN", F),
            ("PARCAT1", S),
            ("PARCAT2", S),
            ("AVAL", F),
            ("AVALC", S),
            ("AVALU", S),
            ("BASE", F),
            ("BASEC", S),
            ("CHG", F),
            ("PCHG", F),
            ("ABLFL", S),
            ("BASETYPE", S),
            ("DTYPE", S),
            ("ANL01FL", S),
            ("ANL02FL", S),
            ("ONTRTFL", S),
            ("LVOTFL", S),
            ("AVISIT", S),
            ("AVISITN", F),
            ("APHASE", S),
            ("EPOCH", S),
            ("ADT", D),
            ("ADTM", T),
            ("ADY", I),
            ("ATMF", S),
            ("ANRLO", F),
            ("ANRHI", F),
            ("ANRIND", S),
            ("BNRIND", S),
            ("SHIFT1", S),
            ("CRIT1", S),
            ("CRIT1FL", S),
            (concat!($xx, "CAT"), S),
            (concat!($xx, "TESTCD"), S),
            (concat!($xx, "TEST"), S),
            (concat!($xx, "ORRES"), S),
            (concat!($xx, "ORRESU"), S),
            (concat!($xx, "ORNRLO"), S),
            (concat!($xx, "ORNRHI"), S),
            (concat!($xx, "STRESC"), S),
            (concat!($xx, "STRESU"), S),
            (concat!($xx, "NRIND"), S),
            ($q1, S),
            ($q2, S),
            ($q3, S),
            (concat!($xx, "DTC"), S),
            ("VISIT", S),
            ("VISITNUM", F),
            (concat!($xx, "BLFL"), S),
        ]
    };
}

/// ADSL's first [`CARRIED`] columns, then a BDS dataset's own.
const fn with_adsl(own: [(&'static str, Kind); 60]) -> [(&'static str, Kind); 100] {
    let mut all = [("", S); 100];
    let mut i = 0;
    while i < CARRIED {
        all[i] = ADSL_COLUMNS[i];
        i += 1;
    }
    while i < 100 {
        all[i] = own[i - CARRIED];
        i += 1;
    }
    all
}

const ADLB_COLUMNS: [(&str, Kind); 100] =
    with_adsl(bds_columns!("LB", "LBSPEC", "LBMETHOD", "LBFAST"));
const ADVS_COLUMNS: [(&str, Kind); 100] = with_adsl(bds_columns!("VS", "VSPOS", "VSLOC", "VSLAT"));

const ADSL: Domain = Domain {
    name: "adsl",
    standard: Standard::Adam,
    columns: &ADSL_COLUMNS,
};
const ADLB: Domain = Domain {
    name: "adlb",
    standard: Standard::Adam,
    columns: &ADLB_COLUMNS,
};
const ADVS: Domain = Domain {
    name: "advs",
    standard: Standard::Adam,
    columns: &ADVS_COLUMNS,
};

pub(super) const DOMAINS: [&Domain; 3] = [&ADSL, &ADLB, &ADVS];

/// (TRTxxP, TRTxxPN) by arm, and the planned dose per day.
const TREATMENTS: [(&str, f64, f64); 3] = [
    ("Placebo", 0.0, 0.0),
    ("Xanomeline Low Dose", 54.0, 54.0),
    ("Xanomeline High Dose", 81.0, 81.0),
];

/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;

/// Calls `emit` with every row of the ADaM dataset `domain` for subject `n`.
pub(super) fn rows(domain: &str, seed: u64, n: u64, emit: &mut dyn FnMut(&[Cell])) {
    let subj = subject(seed, n);
    let adsl = adsl_row(seed, &subj);
    match domain {
        "adsl" => emit(&adsl),
        "adlb" => bds(seed, &subj, &adsl[..CARRIED], Source::Lb, emit),
        _ => bds(seed, &subj, &adsl[..CARRIED], Source::Vs, emit),
    }
}

fn yn(flag: bool) -> Cell {
    s(if flag { "Y" } else { "N" })
}

/// The subject's ADSL row, from the subject's facts and a stream of its own.
fn adsl_row(seed: u64, subj: &Subject) -> Vec<Cell> {
    let mut r = Rng::new(seed, 7, subj.number);
    let r = &mut r;
    let (armcd, arm, _) = sdtm::ARMS[subj.arm];
    let (trt, trtn, dose) = TREATMENTS[subj.arm];
    let first = EPOCH_2023 + subj.start;
    let completed = r.below(5) != 0;
    let days = if completed {
        183
    } else {
        20 + r.below(160) as i64
    };
    let last = first + days - 1;
    let dose_minutes = 8 * 60 + r.below(180) as i64;
    let height = round(150.0 + r.unit() * 45.0, 1);
    let weight = round(50.0 + r.unit() * 60.0, 1);
    let bmi = round(weight / (height / 100.0).powi(2), 1);
    let (agegr, agegrn) = match subj.age {
        ..65 => ("<65", 1.0),
        65..=80 => ("65-80", 2.0),
        _ => (">80", 3.0),
    };
    let race = r.pick(&[
        "WHITE",
        "WHITE",
        "WHITE",
        "BLACK OR AFRICAN AMERICAN",
        "ASIAN",
        "AMERICAN INDIAN OR ALASKA NATIVE",
    ]);
    let racen = match race {
        "WHITE" => 1.0,
        "BLACK OR AFRICAN AMERICAN" => 2.0,
        "ASIAN" => 3.0,
        _ => 4.0,
    };
    let country = r.pick(&["USA", "USA", "CAN", "DEU", "FRA", "GBR"]);
    let (reason, decod) = if completed {
        ("", "COMPLETED")
    } else {
        [
            ("Adverse Event", "ADVERSE EVENT"),
            ("Withdrew Consent", "WITHDRAWAL BY SUBJECT"),
            ("Lost to Follow-up", "LOST TO FOLLOW-UP"),
            ("Lack of Efficacy", "LACK OF EFFICACY"),
        ][r.below(4) as usize]
    };
    let itt = r.below(50) != 0;
    let birth_year = 2023 - subj.age;
    let date = |days: i64| super::study::date(days - EPOCH_2023);
    vec![
        s(sdtm::STUDY),
        s(subj.usubjid.clone()),
        s(format!("{:05}", subj.number + 1)),
        s(subj.site.to_string()),
        s(if subj.site < 121 { "EAST" } else { "WEST" }),
        s(arm),
        s(armcd),
        s(arm),
        s(armcd),
        s(trt),
        Cell::Float(trtn),
        s(trt),
        Cell::Float(trtn),
        Cell::Date(first as i32),
        Cell::Date(last as i32),
        Cell::DateTime(first * DAY_US + dose_minutes * 60_000_000),
        Cell::Int(subj.age),
        s(agegr),
        Cell::Float(agegrn),
        s("YEARS"),
        s(subj.sex),
        s(race),
        Cell::Float(racen),
        s(r.pick(&[
            "NOT HISPANIC OR LATINO",
            "NOT HISPANIC OR LATINO",
            "HISPANIC OR LATINO",
        ])),
        s(country),
        s(if matches!(country, "USA" | "CAN") {
            "NORTH AMERICA"
        } else {
            "EUROPE"
        }),
        s("Y"),
        yn(itt),
        yn(itt && r.below(20) != 0),
        yn(itt),
        yn(completed && r.below(10) != 0),
        yn(completed),
        s("Y"),
        s("Y"),
        if r.below(200) == 0 {
            s("Y")
        } else {
            Cell::Null
        },
        Cell::Float(height),
        Cell::Float(weight),
        Cell::Float(bmi),
        s(if bmi < 25.0 {
            "<25"
        } else if bmi < 30.0 {
            "25-<30"
        } else {
            ">=30"
        }),
        s(if completed {
            "COMPLETED"
        } else {
            "DISCONTINUED"
        }),
        // ADSL only.
        s(reason),
        s(decod),
        Cell::Int(days),
        Cell::Float(dose * days as f64),
        Cell::Float(dose),
        s(date(first)),
        s(date(last)),
        s(date(first - 7 - r.below(21) as i64)),
        s(format!("{birth_year}-{:02}", 1 + r.below(12))),
        yn(decod == "ADVERSE EVENT"),
    ]
}

/// The SDTM domain a BDS dataset is derived from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Lb,
    Vs,
}

/// One SDTM observation, read back from the SDTM row it came from.
struct Obs {
    cells: Vec<Cell>,
    seq: i64,
    /// The test, with the position for vital signs: what BASE is taken per.
    param: String,
    value: Option<f64>,
    visitnum: i64,
    /// Days since 1970-01-01 and minutes after midnight of the observation.
    day: i64,
    minutes: i64,
}

fn text(c: &Cell) -> &str {
    match c {
        Cell::Str(x) => x,
        _ => "",
    }
}

fn int(c: &Cell) -> i64 {
    match c {
        Cell::Int(i) => *i,
        _ => 0,
    }
}

fn float(c: &Cell) -> Option<f64> {
    match c {
        Cell::Float(x) => Some(*x),
        _ => None,
    }
}

/// Days since 1970-01-01 and minutes after midnight of `YYYY-MM-DD[THH:MM]`.
fn parse_dtc(dtc: &str) -> (i64, i64) {
    let day = chrono::NaiveDate::parse_from_str(&dtc[..10], "%Y-%m-%d")
        .map_or(0, |d| (d - chrono::NaiveDate::default()).num_days());
    let minutes = dtc
        .get(11..16)
        .and_then(|t| Some(t[..2].parse::<i64>().ok()? * 60 + t[3..].parse::<i64>().ok()?))
        .unwrap_or(0);
    (day, minutes)
}

/// The subject's observations of `source`: its SDTM rows, as the SDTM domain writes them.
fn observations(seed: u64, n: u64, source: Source) -> Vec<Obs> {
    let mut out = Vec::new();
    sdtm::rows(
        if source == Source::Lb { "lb" } else { "vs" },
        seed,
        n,
        &mut |row| {
            // LB: SEQ 3, TESTCD 4, STRESN 12, VISITNUM 15, DTC 17.
            // VS: SEQ 3, TESTCD 4, POS 6, STRESN 10, VISITNUM 12, DTC 14.
            let (value, visitnum, dtc, param) = match source {
                Source::Lb => (&row[12], &row[15], &row[17], text(&row[4]).to_owned()),
                Source::Vs => (
                    &row[10],
                    &row[12],
                    &row[14],
                    format!("{}{}", text(&row[4]), &text(&row[6])[..2]),
                ),
            };
            let (day, minutes) = parse_dtc(text(dtc));
            out.push(Obs {
                seq: int(&row[3]),
                param,
                value: float(value),
                visitnum: int(visitnum),
                day,
                minutes,
                cells: row.to_vec(),
            });
        },
    );
    out
}

/// The records of ADLB or ADVS for one subject: one per SDTM observation, with the analysis
/// value, its baseline (the BASELINE visit's value of the same parameter) and change.
fn bds(seed: u64, subj: &Subject, adsl: &[Cell], source: Source, emit: &mut dyn FnMut(&[Cell])) {
    let obs = observations(seed, subj.number, source);
    let mut r = Rng::new(seed, if source == Source::Lb { 8 } else { 9 }, subj.number);
    let r = &mut r;
    let base_of = |param: &str| {
        obs.iter()
            .find(|o| o.visitnum == 2 && o.param == param)
            .and_then(|o| o.value)
    };
    let first = EPOCH_2023 + subj.start;
    let (trt, trtn, _) = TREATMENTS[subj.arm];
    let mut params: Vec<&str> = Vec::new();
    let mut row = Vec::with_capacity(100);
    for (k, o) in obs.iter().enumerate() {
        let c = &o.cells;
        let paramn = match params.iter().position(|p| *p == o.param) {
            Some(i) => i + 1,
            None => {
                params.push(&o.param);
                params.len()
            }
        };
        let (name, unit, lo, hi, stresc, nrind, orres, orresu, ornrlo, ornrhi, cat, stresu) =
            match source {
                Source::Lb => (
                    text(&c[5]),
                    text(&c[13]),
                    text(&c[9]).parse::<f64>().ok(),
                    text(&c[10]).parse::<f64>().ok(),
                    &c[11],
                    &c[14],
                    &c[7],
                    &c[8],
                    c[9].clone(),
                    c[10].clone(),
                    c[6].clone(),
                    &c[13],
                ),
                Source::Vs => (
                    text(&c[5]),
                    text(&c[11]),
                    None,
                    None,
                    &c[9],
                    &Cell::Null,
                    &c[7],
                    &c[8],
                    Cell::Null,
                    Cell::Null,
                    s("VITAL SIGNS"),
                    &c[11],
                ),
            };
        let base = base_of(&o.param);
        let baseline = o.visitnum == 2;
        let post = o.visitnum > 2;
        let chg = match (o.value, base) {
            (Some(v), Some(b)) if post => Some(round(v - b, 3)),
            _ => None,
        };
        let pchg = match (chg, base) {
            (Some(d), Some(b)) if b != 0.0 => Some(round(100.0 * d / b, 2)),
            _ => None,
        };
        let ind = |v: Option<f64>| match (v, lo, hi) {
            (Some(v), Some(lo), _) if v < lo => s("LOW"),
            (Some(v), _, Some(hi)) if v > hi => s("HIGH"),
            (Some(_), Some(_), Some(_)) => s("NORMAL"),
            _ => Cell::Null,
        };
        let visit = text(&c[if source == Source::Lb { 16 } else { 13 }]);
        let avisit = if o.visitnum == 1 {
            Cell::Null
        } else {
            s(if baseline { "Baseline" } else { visit })
        };
        let opt = |x: Option<f64>| x.map_or(Cell::Null, Cell::Float);
        let prefix = if source == Source::Lb { "LB" } else { "VS" };
        let (q1, q2, q3) = match source {
            Source::Lb => (
                s(if text(&c[6]) == "HEMATOLOGY" {
                    "BLOOD"
                } else {
                    "SERUM"
                }),
                Cell::Null,
                if o.visitnum <= 2 { s("Y") } else { Cell::Null },
            ),
            Source::Vs => (
                c[6].clone(),
                s(if text(&c[4]) == "TEMP" {
                    "ORAL CAVITY"
                } else {
                    "ARM"
                }),
                if text(&c[4]) == "TEMP" {
                    Cell::Null
                } else {
                    s(r.pick(&["LEFT", "RIGHT"]))
                },
            ),
        };
        row.clear();
        row.extend_from_slice(adsl);
        row.extend([
            Cell::Float(o.seq as f64),
            Cell::Int(k as i64 + 1),
            s(prefix),
            s(format!("{prefix}STRESN")),
            Cell::Float(o.seq as f64),
            s(trt),
            Cell::Float(trtn),
            s(trt),
            Cell::Float(trtn),
            s(format!("{name} ({unit})")),
            s(o.param.clone()),
            Cell::Float(paramn as f64),
            cat.clone(),
            s("SI"),
            opt(o.value),
            o.value
                .map_or(Cell::Null, |v| s(super::study::float_text(v))),
            s(unit),
            opt(base),
            base.map_or(Cell::Null, |v| s(super::study::float_text(v))),
            opt(chg),
            opt(pchg),
            if baseline { s("Y") } else { Cell::Null },
            s("LAST"),
            Cell::Null,
            if o.value.is_some() && o.visitnum > 1 {
                s("Y")
            } else {
                Cell::Null
            },
            if r.below(3) == 0 { s("Y") } else { Cell::Null },
            if post { s("Y") } else { Cell::Null },
            if o.visitnum == 10 { s("Y") } else { Cell::Null },
            avisit,
            Cell::Float(o.visitnum as f64),
            s(if o.visitnum <= 2 {
                "SCREENING"
            } else {
                "TREATMENT"
            }),
            s(if o.visitnum == 1 {
                "SCREENING"
            } else {
                "TREATMENT"
            }),
            Cell::Date(o.day as i32),
            Cell::DateTime(o.day * DAY_US + o.minutes * 60_000_000),
            Cell::Int(o.day - first + i64::from(o.day >= first)),
            if o.minutes == 0 { s("H") } else { Cell::Null },
            opt(lo),
            opt(hi),
            ind(o.value),
            ind(base),
            match (ind(base), ind(o.value)) {
                (Cell::Str(b), Cell::Str(v)) if post => s(format!("{b} to {v}")),
                _ => Cell::Null,
            },
            s(format!("{name} > 1.5 x ULN")),
            match (o.value, hi) {
                (Some(v), Some(hi)) => s(if v > 1.5 * hi { "Y" } else { "N" }),
                _ => Cell::Null,
            },
            cat,
            c[4].clone(),
            c[5].clone(),
            orres.clone(),
            orresu.clone(),
            ornrlo,
            ornrhi,
            stresc.clone(),
            stresu.clone(),
            nrind.clone(),
            q1,
            q2,
            q3,
            c[if source == Source::Lb { 17 } else { 14 }].clone(),
            s(visit),
            Cell::Float(o.visitnum as f64),
            if baseline { s("Y") } else { Cell::Null },
        ]);
        emit(&row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(columns: &[(&str, Kind)], kind: Kind) -> usize {
        columns.iter().filter(|c| c.1 == kind).count()
    }

    /// The type mix of real ADaM data as pyarrow writes it: about 70% strings, 20% doubles,
    /// the rest dates, timestamps and 32-bit integers.
    #[test]
    fn columns_have_the_adam_type_mix() {
        for d in DOMAINS {
            let n = d.columns.len();
            assert_eq!(n, if d.name == "adsl" { 50 } else { 100 }, "{}", d.name);
            let share = |k| count(d.columns, k) as f64 / n as f64;
            assert!((0.65..0.75).contains(&share(S)), "{} strings", d.name);
            assert!((0.15..0.25).contains(&share(F)), "{} doubles", d.name);
            for k in [D, T, I] {
                assert!(count(d.columns, k) >= 1, "{} {k:?}", d.name);
            }
            let mut names: Vec<_> = d.columns.iter().map(|c| c.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{}: duplicate column names", d.name);
        }
    }

    /// Every row has a cell of its column's kind (or null) in every column.
    #[test]
    fn cells_match_their_columns() {
        for d in DOMAINS {
            for n in 0..20 {
                rows(d.name, 3, n, &mut |row| {
                    assert_eq!(row.len(), d.columns.len(), "{}", d.name);
                    for (cell, (name, kind)) in row.iter().zip(d.columns) {
                        let ok = matches!(
                            (cell, kind),
                            (Cell::Null, _)
                                | (Cell::Str(_), S)
                                | (Cell::Float(_), F)
                                | (Cell::Int(_), I)
                                | (Cell::Date(_), D)
                                | (Cell::DateTime(_), T)
                        );
                        assert!(ok, "{}.{name}: {cell:?}", d.name);
                    }
                });
            }
        }
    }
}
