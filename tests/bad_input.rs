//! Bad input: a clear error naming the file and the line or row, exit 2, and a store left
//! byte-for-byte as it was.

mod common;

use common::{Scratch, fingerprint, fixtures};

/// Notarizes the good sample first (so the store exists), then `bad`; asserts exit 2, every
/// `needle` in stderr, and the store unchanged.
fn fails_cleanly(s: &Scratch, bad: &[&str], needles: &[&str]) {
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let before = fingerprint(&s.store());
    let mut args = vec!["notarize", "--difficulty", "4"];
    args.extend_from_slice(bad);
    let r = s.run(&args);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "expected {n:?} in {:?}", r.stderr);
    }
    assert_eq!(fingerprint(&s.store()), before, "the store changed");
}

fn sub_with(s: &Scratch, name: &str, bytes: &[u8]) -> String {
    s.copy_fixture("cdiscpilot01/dm.csv", "bad/dm.csv");
    s.write(&format!("bad/{name}"), bytes);
    s.path().join("bad").display().to_string()
}

#[test]
fn ragged_csv_row_names_file_and_line() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"A,B,C\n1,2,3\n4,5\n6,7,8\n");
    fails_cleanly(
        &s,
        &[&p],
        &[
            "ae.csv",
            "line 3",
            "ragged row",
            "2 fields but the header has 3",
        ],
    );
}

#[test]
fn invalid_utf8_names_file_line_and_column() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"A,B\n1,2\n3,caf\xe9\n");
    fails_cleanly(
        &s,
        &[&p],
        &["ae.csv", "line 3, column B", "not valid UTF-8"],
    );
}

#[test]
fn truncated_parquet_is_an_error() {
    let s = Scratch::new();
    let good = std::fs::read(fixtures().join("cdiscpilot01/lb.parquet")).unwrap();
    let p = sub_with(&s, "lb.parquet", &good[..good.len() / 2]);
    fails_cleanly(&s, &[&p], &["lb.parquet", "not a readable Parquet file"]);
}

#[test]
fn corrupt_parquet_page_is_an_error() {
    let s = Scratch::new();
    let mut bytes = std::fs::read(fixtures().join("cdiscpilot01/lb.parquet")).unwrap();
    // Damage the column chunk data after the 4-byte magic, keeping the footer readable.
    for b in &mut bytes[8..400] {
        *b ^= 0x5a;
    }
    let p = sub_with(&s, "lb.parquet", &bytes);
    fails_cleanly(&s, &[&p], &["lb.parquet"]);
}

#[test]
fn corrupt_arrow_file_is_an_error() {
    let s = Scratch::new();
    let good = std::fs::read(fixtures().join("crossformat/feather-lz4/lb.feather")).unwrap();
    let p = sub_with(&s, "lb.feather", &good[..good.len() - 40]);
    fails_cleanly(&s, &[&p], &["lb.feather", "Arrow IPC"]);
    let p = sub_with(&s, "junk.arrow", b"this is not arrow at all");
    fails_cleanly(&s, &[&p], &["junk.arrow", "not a readable Arrow IPC file"]);
}

#[test]
fn symbolic_link_in_a_submission_is_refused() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"A,B\n1,2\n");
    s.write("outside/secret.txt", b"not part of it");
    std::os::unix::fs::symlink(
        s.path().join("outside/secret.txt"),
        s.path().join("bad/link.txt"),
    )
    .unwrap();
    fails_cleanly(&s, &[&p], &["link.txt", "a symbolic link is not notarized"]);
}

#[test]
fn empty_submission_is_an_error() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path().join("empty")).unwrap();
    let p = s.path().join("empty").display().to_string();
    fails_cleanly(&s, &[&p], &["empty", "empty submission"]);
}

#[test]
fn missing_path_is_an_error() {
    let s = Scratch::new();
    fails_cleanly(
        &s,
        &["does-not-exist"],
        &["does-not-exist", "cannot open submission"],
    );
}

#[test]
fn one_dataset_in_two_formats_is_an_error() {
    let s = Scratch::new();
    s.copy_fixture("cdiscpilot01/lb.parquet", "dup/lb.parquet");
    s.copy_fixture("crossformat/csv/lb.csv", "dup/lb.csv");
    let p = s.path().join("dup").display().to_string();
    fails_cleanly(
        &s,
        &[&p],
        &["lb.csv and lb.parquet are both dataset \"lb\""],
    );
}

#[test]
fn empty_csv_is_an_error() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"");
    fails_cleanly(&s, &[&p], &["ae.csv", "line 1", "no header row"]);
}

#[test]
fn header_only_csv_is_a_dataset_of_zero_rows() {
    let s = Scratch::new();
    s.write("z/ae.csv", b"STUDYID,AESEQ\n");
    let report = s.notarize(&[&s.path().join("z")], &[]);
    assert_eq!(report["submissions"][0]["records"], 0);
    s.ok(&[
        "prove",
        "--submission",
        "z",
        "--dataset",
        "ae",
        "-o",
        "ae.json",
    ]);
    s.ok(&["verify", "ae.json", "--chain", "notary/chain.tnc"]);
}

#[test]
fn duplicate_ids_and_bad_ids_are_errors() {
    let s = Scratch::new();
    let sample = fixtures().join("cdiscpilot01").display().to_string();
    fails_cleanly(&s, &[&sample, &sample], &["given twice"]);
    fails_cleanly(&s, &[&sample, "--id", "../escape"], &["is not usable"]);
}

#[test]
fn a_failed_first_run_leaves_no_store_behind() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"A,B\n1\n");
    let r = s.run(&["notarize", "--difficulty", "4", &p]);
    assert_eq!(r.code, 2);
    assert!(
        !s.store().exists(),
        "a failed first run must not create the store"
    );
}

#[test]
fn error_in_one_of_many_files_is_reported_deterministically() {
    // Files are read in parallel; the reported error is the first in dataset order.
    let s = Scratch::new();
    s.write("multi/a.csv", b"X,Y\n1\n");
    s.write("multi/b.csv", b"X,Y\n1,2,3\n");
    let p = s.path().join("multi").display().to_string();
    for _ in 0..5 {
        let r = s.run(&["notarize", "--difficulty", "4", &p]);
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("a.csv: line 2"), "{}", r.stderr);
    }
}
