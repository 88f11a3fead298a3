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
