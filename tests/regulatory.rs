//! A real submission as regulators receive it: the eCTD-shaped sample of `fixtures/ectd/` (SDTM
//! and ADaM as SAS XPT written by pyreadstat, define.xml, PDFs, programs) is notarized as it sits
//! on disk, and the same tables written by independent writers as XPT, Dataset-JSON, CSV,
//! Parquet and Arrow give one dataset root, so a regulator's copy in any of them checks.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{Scratch, fixtures};
use serde_json::Value;

const STUDY: &str = "0000/m5/datasets/tnstudy01";

fn ectd() -> PathBuf {
    fixtures().join("ectd/0000")
}

/// Each item of a submission report: name to (kind, root or SHA-256).
fn items(sub: &Value) -> BTreeMap<String, (String, String)> {
    sub["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let digest = i.get("root").or_else(|| i.get("sha256")).unwrap();
            (
                i["name"].as_str().unwrap().to_owned(),
                (
                    i["kind"].as_str().unwrap().to_owned(),
                    digest.as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

#[test]
fn the_ectd_sample_is_notarized_as_it_sits_on_disk() {
    let s = Scratch::new();
    let r = s.notarize(&[&ectd()], &[]);
    let sub = &r["submissions"][0];
    assert_eq!(sub["id"], "0000");
    assert_eq!(sub["datasets"], 8, "six SDTM domains, ADSL and ADLB");
    assert_eq!(sub["documents"], 9);
    let items = items(sub);
    let sdtm = "m5/datasets/tnstudy01/tabulations/sdtm";
    let adam = "m5/datasets/tnstudy01/analysis/adam";
    for d in ["dm", "ae", "cm", "ex", "lb", "vs"] {
        assert_eq!(items[&format!("{sdtm}/{d}")].0, "dataset");
    }
    for d in ["adsl", "adlb"] {
        assert_eq!(items[&format!("{adam}/datasets/{d}")].0, "dataset");
    }
    for doc in [
        format!("{sdtm}/define.xml"),
        format!("{sdtm}/define2-1.xsl"),
        format!("{sdtm}/acrf.pdf"),
        format!("{sdtm}/csdrg.pdf"),
        format!("{adam}/datasets/define.xml"),
        format!("{adam}/datasets/adrg.pdf"),
        format!("{adam}/programs/adsl.sas"),
    ] {
        assert_eq!(items[&doc].0, "document", "{doc}");
    }
    // 1,470 SDTM rows of the CSV/Parquet sample, 4 ADSL and 940 ADLB rows.
    assert_eq!(sub["records"], 1470 + 4 + 940);

    // The shortest unambiguous tail of a path names a dataset or document; the proof and the
    // verdict carry the full path.
    let out = s.ok(&[
        "prove",
        "--submission",
        "0000",
        "--dataset",
        "lb",
        "--row",
        "7",
        "-o",
        "lb-7.json",
    ]);
    assert!(
        out.stderr.contains(&format!("dataset {sdtm}/lb")),
        "{}",
        out.stderr
    );
    let v = s.ok(&["verify", "lb-7.json", "--chain", "notary/chain.tnc"]);
    assert!(
        v.stdout.contains(&format!("row 7 of dataset {sdtm}/lb")),
        "{}",
        v.stdout
    );

    let ambiguous = s.run(&["prove", "--submission", "0000", "--file", "define.xml"]);
    assert_eq!(ambiguous.code, 2);
    assert!(
        ambiguous.stderr.contains("ambiguous"),
        "{}",
        ambiguous.stderr
    );
    assert!(ambiguous.stderr.contains(&format!("{sdtm}/define.xml")));
    assert!(
        ambiguous
            .stderr
            .contains(&format!("{adam}/datasets/define.xml"))
    );
    s.ok(&[
        "prove",
        "--submission",
        "0000",
        "--file",
        "sdtm/define.xml",
        "-o",
        "define.json",
    ]);
    let define = ectd().join("m5/datasets/tnstudy01/tabulations/sdtm/define.xml");
    let v = s.ok(&[
        "verify",
        "define.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        define.to_str().unwrap(),
    ]);
    assert!(v.stdout.contains("byte for byte"), "{}", v.stdout);
    // A tail that is not a whole path component is not a match.
    let partial = s.run(&["prove", "--submission", "0000", "--dataset", "dlb"]);
    assert_eq!(partial.code, 2);
    assert!(
        partial.stderr.contains("is not in submission"),
        "{}",
        partial.stderr
    );

    // The next night nothing changed: nothing appended.
    let again = s.notarize(&[&ectd()], &[]);
    assert_eq!(again["submissions"][0]["status"], "unchanged");
}

/// The SDTM XPT files (pyreadstat) hold the values of the CSV and Parquet sample (trialnotary's
/// own writer): each dataset has the same root.
#[test]
fn sdtm_xpt_gives_the_roots_of_the_csv_and_parquet_sample() {
    let s = Scratch::new();
    let sdtm = fixtures().join("ectd").join(STUDY).join("tabulations/sdtm");
    let r = s.notarize(
        &[&sdtm, &fixtures().join("tnstudy01")],
        &["--id", "xpt", "--id", "csv-parquet"],
    );
    let xpt = items(&r["submissions"][1]);
    let csv = items(&r["submissions"][0]);
    assert_eq!(r["submissions"][1]["id"], "xpt");
    for d in ["dm", "ae", "cm", "ex", "lb", "vs"] {
        assert_eq!(xpt[d], csv[d], "dataset {d}");
    }
}

/// The same submission with its datasets as Dataset-JSON: every dataset root and every
/// document but define.xml (which names the dataset files) is the same.
#[test]
fn the_dataset_json_copy_has_the_same_dataset_roots() {
    let s = Scratch::new();
    let r = s.notarize(
        &[&ectd(), &fixtures().join("ectd-dataset-json/0000")],
        &["--id", "xpt", "--id", "json"],
    );
    let subs = r["submissions"].as_array().unwrap();
    let (json, xpt) = (items(&subs[0]), items(&subs[1]));
    assert_eq!(json.len(), xpt.len());
    let mut datasets = 0;
    for (name, (kind, digest)) in &xpt {
        if name.ends_with("define.xml") {
            assert_ne!(json[name].1, *digest, "{name} names .xpt or .json files");
            continue;
        }
        assert_eq!(json[name], (kind.clone(), digest.clone()), "{name}");
        datasets += usize::from(kind == "dataset");
    }
    assert_eq!(datasets, 8);
}

/// ADLB, whose dates, times and datetimes are SAS numbers with DATE9., TIME5. and DATETIME20.
/// in XPT, ISO 8601 strings in Dataset-JSON, date32, time64 and naive timestamps in Parquet and
/// Arrow, and text in CSV: one root; and a dataset proof made from the XPT checks a regulator's
/// copy in every other format.
#[test]
fn adam_dates_and_times_agree_in_every_format() {
    let s = Scratch::new();
    let dirs = ["xpt", "dataset-json", "parquet", "arrow", "csv"];
    let paths: Vec<PathBuf> = dirs
        .iter()
        .map(|d| fixtures().join("crossformat-adam").join(d))
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
    let ids: Vec<String> = dirs
        .iter()
        .flat_map(|d| ["--id".into(), d.to_string()])
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let r = s.notarize(&refs, &ids);
    let subs = r["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), dirs.len());
    for sub in subs {
        assert_eq!(sub["root"], subs[0]["root"], "{} differs", sub["id"]);
        assert_eq!(sub["records"], 940);
    }
    let p = s
        .ok(&[
            "prove",
            "--submission",
            "xpt",
            "--dataset",
            "adlb",
            "--row",
            "0",
        ])
        .json();
    let values = p["record"]["values"].as_array().unwrap();
    let columns = p["dataset"]["columns"].as_array().unwrap();
    let at = |c: &str| &values[columns.iter().position(|x| x == c).unwrap()];
    assert_eq!(at("ADT"), "2023-03-19");
    assert_eq!(at("ATM"), "07:40:00");
    assert_eq!(
        at("ADTM"),
        "2023-03-19T07:40:00",
        "a SAS datetime has no zone"
    );

    s.ok(&[
        "prove",
        "--submission",
        "xpt",
        "--dataset",
        "adlb",
        "--with-salts",
        "-o",
        "adlb.json",
    ]);
    for (dir, file) in [
        ("dataset-json", "adlb.json"),
        ("parquet", "adlb.parquet"),
        ("arrow", "adlb.arrow"),
        ("csv", "adlb.csv"),
    ] {
        let copy = fixtures().join("crossformat-adam").join(dir).join(file);
        let v = s.ok(&[
            "verify",
            "adlb.json",
            "--chain",
            "notary/chain.tnc",
            "--data",
            copy.to_str().unwrap(),
        ]);
        assert!(v.stdout.contains("every row"), "{dir}: {}", v.stdout);
    }
    // One changed value in a copy is found and named.
    let csv = std::fs::read_to_string(fixtures().join("crossformat-adam/csv/adlb.csv")).unwrap();
    let changed = csv.replacen("2023-03-19,07:40:00", "2023-03-20,07:40:00", 1);
    assert_ne!(changed, csv);
    let copy = s.write("copy/adlb.csv", changed.as_bytes());
    let v = s.run(&[
        "verify",
        "adlb.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains("row 0"), "{}", v.stdout);
}

/// A dataset proof without salts cannot check data: unusable input (exit 2), not a mismatch.
#[test]
fn checking_data_needs_a_proof_with_salts() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("crossformat-adam/xpt")], &[]);
    s.ok(&[
        "prove",
        "--submission",
        "xpt",
        "--dataset",
        "adlb",
        "-o",
        "adlb.json",
    ]);
    let copy = fixtures().join("crossformat-adam/csv/adlb.csv");
    let v = s.run(&[
        "verify",
        "adlb.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(v.code, 2, "{}{}", v.stdout, v.stderr);
    assert!(v.stderr.contains("--with-salts"), "{}", v.stderr);
}
