//! The generator: deterministic (the committed sample is what the documented commands write),
//! and the same study in every format has one root.

mod common;

use common::{Scratch, fixtures};

#[test]
fn sample_fixture_is_what_the_generator_writes() {
    let s = Scratch::new();
    s.ok(&[
        "generate",
        "-o",
        "t",
        "--subjects",
        "4",
        "--seed",
        "2026",
        "--domains",
        "dm,ae,cm,ex",
        "--format",
        "csv",
    ]);
    s.ok(&[
        "generate",
        "-o",
        "t",
        "--subjects",
        "4",
        "--seed",
        "2026",
        "--domains",
        "lb,vs",
        "--format",
        "parquet",
        "--force",
    ]);
    let committed = common::fingerprint(&fixtures().join("tnstudy01"));
    assert_eq!(committed.len(), 6);
    assert_eq!(common::fingerprint(&s.path().join("t")), committed);
}

#[test]
fn one_study_in_three_formats_has_one_root() {
    let s = Scratch::new();
    for f in ["csv", "parquet", "arrow"] {
        s.ok(&[
            "generate",
            "-o",
            f,
            "--subjects",
            "12",
            "--seed",
            "9",
            "--format",
            f,
        ]);
    }
    let report = s.notarize(
        &[
            &s.path().join("csv"),
            &s.path().join("parquet"),
            &s.path().join("arrow"),
        ],
        &[],
    );
    let subs = report["submissions"].as_array().unwrap();
    assert_eq!(subs[0]["root"], subs[1]["root"]);
    assert_eq!(subs[1]["root"], subs[2]["root"]);
    assert_eq!(subs[0]["datasets"], 6);
}

#[test]
fn size_sets_the_number_of_subjects() {
    let s = Scratch::new();
    s.ok(&["generate", "-o", "g", "--size", "3MB"]);
    let bytes: u64 = std::fs::read_dir(s.path().join("g"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        (2_400_000..3_600_000).contains(&bytes),
        "{bytes} bytes for 3MB"
    );
    let r = s.run(&["generate", "-o", "g2", "--domains", "xx"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown domain"), "{}", r.stderr);
}

/// The same generated study written as CSV, Parquet, Arrow IPC, SAS XPT and CDISC Dataset-JSON
/// notarizes to one submission root: the root does not depend on the format.
#[test]
fn one_study_in_every_format_has_one_root() {
    let s = Scratch::new();
    let mut roots = Vec::new();
    for format in ["csv", "parquet", "arrow", "xpt", "dataset-json"] {
        s.ok(&[
            "generate",
            "-o",
            format,
            "--subjects",
            "6",
            "--seed",
            "5",
            "--format",
            format,
        ]);
        let r = s.notarize(&[&s.path().join(format)], &[]);
        let sub = &r["submissions"][0];
        assert_eq!(sub["datasets"], 6, "{format}");
        assert_eq!(sub["documents"], 0, "{format}");
        roots.push((format, sub["root"].as_str().unwrap().to_owned()));
    }
    assert!(roots.iter().all(|(_, r)| *r == roots[0].1), "{roots:?}");
}

/// The ADaM datasets as Parquet: ADSL one row per subject and 50 columns, ADLB and ADVS 100
/// columns, about 70% `large_string`, 20% `double`, the rest `date32`, `timestamp[us, tz=UTC]`
/// and `int32`, each file one row group, snappy, its strings dictionary-encoded.
#[test]
fn adam_datasets_have_their_shapes() {
    use arrow_schema::{DataType, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let s = Scratch::new();
    s.ok(&[
        "generate",
        "-o",
        "a",
        "--subjects",
        "7",
        "--seed",
        "3",
        "--domains",
        "adam",
        "--format",
        "parquet",
    ]);
    for (name, columns) in [("adsl", 50), ("adlb", 100), ("advs", 100)] {
        let file = std::fs::File::open(s.path().join(format!("a/{name}.parquet"))).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let meta = builder.metadata().clone();
        let schema = builder.schema().clone();
        assert_eq!(schema.fields().len(), columns, "{name}");
        assert_eq!(meta.num_row_groups(), 1, "{name}");
        let rows = meta.file_metadata().num_rows();
        match name {
            "adsl" => assert_eq!(rows, 7),
            "adlb" => assert!((7 * 225..7 * 245).contains(&rows), "{rows}"),
            _ => assert_eq!(rows, 7 * 100),
        }
        let count = |t: &DataType| {
            schema
                .fields()
                .iter()
                .filter(|f| f.data_type() == t)
                .count()
        };
        let share = |t: &DataType| count(t) as f64 / columns as f64;
        assert!(
            (0.65..0.75).contains(&share(&DataType::LargeUtf8)),
            "{name}"
        );
        assert!((0.15..0.25).contains(&share(&DataType::Float64)), "{name}");
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        for t in [DataType::Date32, DataType::Int32, utc] {
            assert!(count(&t) >= 1, "{name}: {t}");
        }
        let others = columns
            - count(&DataType::LargeUtf8)
            - count(&DataType::Float64)
            - count(&DataType::Date32)
            - count(&DataType::Int32)
            - count(&DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into()),
            ));
        assert_eq!(others, 0, "{name}");
        let group = meta.row_group(0);
        for (c, field) in group.columns().iter().zip(schema.fields()) {
            assert_eq!(c.compression(), parquet::basic::Compression::SNAPPY);
            if field.data_type() == &DataType::LargeUtf8 {
                assert!(
                    c.encodings()
                        .any(|e| e == parquet::basic::Encoding::RLE_DICTIONARY),
                    "{name}.{}",
                    field.name()
                );
            }
        }
    }
}

/// The same seed writes the same ADaM files, byte for byte; another seed other files; and
/// `--row-group-rows` cuts the Parquet file into row groups without changing its rows' root.
#[test]
fn adam_datasets_are_deterministic() {
    let s = Scratch::new();
    let write = |dir: &str, seed: &str, extra: &[&str]| {
        let mut args = vec![
            "generate",
            "-o",
            dir,
            "--subjects",
            "5",
            "--seed",
            seed,
            "--domains",
            "adam",
            "--format",
            "parquet",
        ];
        args.extend(extra);
        s.ok(&args);
        common::fingerprint(&s.path().join(dir))
    };
    let one = write("one", "11", &[]);
    assert_eq!(one.len(), 3);
    assert_eq!(write("again", "11", &[]), one);
    let other = write("other", "12", &[]);
    assert!(one.iter().all(|(name, digest)| other[name] != *digest));
    let cut = write("cut", "11", &["--row-group-rows", "100"]);
    assert_ne!(cut["adlb.parquet"], one["adlb.parquet"]);
    let report = s.notarize(&[&s.path().join("one"), &s.path().join("cut")], &[]);
    let subs = report["submissions"].as_array().unwrap();
    assert_eq!(subs[0]["root"], subs[1]["root"]);
}

/// The ADaM datasets written as CSV, Parquet, Arrow IPC and Dataset-JSON notarize to one root:
/// the CSV copy holds the canonical text of every typed value (dates `YYYY-MM-DD`, instants
/// with `Z`). As SAS XPT they are read too, with another root: SAS datetimes carry no time zone,
/// so their canonical text has no `Z`.
#[test]
fn adam_datasets_in_every_format_have_one_root() {
    let s = Scratch::new();
    let formats = ["csv", "parquet", "arrow", "dataset-json", "xpt"];
    for format in formats {
        s.ok(&[
            "generate",
            "-o",
            format,
            "--subjects",
            "6",
            "--seed",
            "8",
            "--domains",
            "adsl,adlb,advs",
            "--format",
            format,
        ]);
    }
    let dirs: Vec<_> = formats.iter().map(|f| s.path().join(f)).collect();
    let report = s.notarize(&dirs.iter().map(|d| d.as_path()).collect::<Vec<_>>(), &[]);
    let subs = report["submissions"].as_array().unwrap();
    for (format, sub) in formats.iter().zip(subs) {
        assert_eq!(sub["datasets"], 3, "{format}");
        assert_eq!(sub["records"], subs[0]["records"], "{format}");
    }
    for sub in &subs[1..4] {
        assert_eq!(sub["root"], subs[0]["root"]);
    }
    assert_ne!(subs[4]["root"], subs[0]["root"]);
}
