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

/// Two columns of one name, in any format: a proof could not say which a value is.
#[test]
fn duplicate_column_names_are_refused_in_every_format() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"A,B,A\n1,2,3\n");
    fails_cleanly(
        &s,
        &[&p],
        &[
            "ae.csv",
            "column 3",
            "duplicate column name \"A\" (column 1 has it too)",
        ],
    );
    // Parquet, two columns of one name written by arrow-rs.
    std::fs::remove_file(s.path().join("bad/ae.csv")).unwrap();
    use arrow_schema::{DataType, Field, Schema};
    let field = Field::new("X", DataType::Utf8, true);
    let schema = std::sync::Arc::new(Schema::new(vec![field.clone(), field]));
    let column: arrow_array::ArrayRef =
        std::sync::Arc::new(arrow_array::StringArray::from(vec!["a"]));
    let batch =
        arrow_array::RecordBatch::try_new(schema.clone(), vec![column.clone(), column]).unwrap();
    let mut bytes = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let p = sub_with(&s, "x.parquet", &bytes);
    fails_cleanly(
        &s,
        &[&p],
        &["x.parquet", "column 2", "duplicate column name \"X\""],
    );
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

/// A closing quote missing at the end of a file folds the rows after it into one value: the
/// csv crate reads such a file without a word, as fewer rows than it has.
#[test]
fn csv_quote_never_closed_names_its_line() {
    let s = Scratch::new();
    let p = sub_with(&s, "ae.csv", b"A,B\n1,2\n3,\"4\n5,6\n7,8\n");
    fails_cleanly(
        &s,
        &[&p],
        &[
            "ae.csv",
            "line 3",
            "a quoted field opened in this row is never closed",
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

/// `LB.XPT` beside `lb.json`, `acrf.pdf` beside `ACRF.pdf`: one name on a regulator's Windows or
/// macOS disk, and one dataset to SAS.
#[test]
fn names_that_differ_only_in_letter_case_are_refused() {
    let s = Scratch::new();
    s.copy_fixture("crossformat/xpt/lb.xpt", "case/LB.XPT");
    s.copy_fixture("crossformat/dataset-json/lb.json", "case/lb.json");
    let p = s.path().join("case").display().to_string();
    fails_cleanly(
        &s,
        &[&p],
        &[
            "LB.XPT and lb.json differ only in letter case",
            "rename one",
        ],
    );
    std::fs::remove_file(s.path().join("case/lb.json")).unwrap();
    s.write("case/docs/acrf.pdf", b"%PDF-1.4 one");
    s.write("case/docs/ACRF.pdf", b"%PDF-1.4 two");
    fails_cleanly(
        &s,
        &[&p],
        &["docs/ACRF.pdf and docs/acrf.pdf differ only in letter case"],
    );
    // A dataset and a document: `lb` from LB.XPT against a document named `Lb`.
    std::fs::remove_file(s.path().join("case/docs/ACRF.pdf")).unwrap();
    s.write("case/Lb", b"notes");
    fails_cleanly(&s, &[&p], &["differ only in letter case"]);
    // Folders that differ in case hold different names: accepted.
    std::fs::remove_file(s.path().join("case/Lb")).unwrap();
    s.write("case/Docs/ae.txt", b"notes");
    s.notarize(&[&s.path().join("case")], &[]);
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
    // Into a folder made for the store beforehand: it is left empty, as it was, and the
    // warning about its mode speaks of the secret it will hold, not one it holds.
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(s.store()).unwrap();
    std::fs::set_permissions(s.store(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = s.run(&["notarize", "--difficulty", "4", &p]);
    assert_eq!(r.code, 2);
    let left: Vec<_> = std::fs::read_dir(s.store()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        r.stderr
            .contains("open to others (mode 0755) and will hold the salt secret"),
        "{}",
        r.stderr
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

/// The eCTD sample's SDTM DM, as XPT and as Dataset-JSON.
fn sample(ext: &str) -> Vec<u8> {
    let dir = if ext == "xpt" {
        "ectd"
    } else {
        "ectd-dataset-json"
    };
    std::fs::read(fixtures().join(format!(
        "{dir}/0000/m5/datasets/tnstudy01/tabulations/sdtm/dm.{ext}"
    )))
    .unwrap()
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn truncated_xpt_names_where_it_ends() {
    let s = Scratch::new();
    let good = sample("xpt");
    let p = sub_with(&s, "xdm.xpt", &good[..1000]);
    fails_cleanly(
        &s,
        &[&p],
        &["xdm.xpt", "truncated", "byte 1000", "namestr records"],
    );
    let p = sub_with(&s, "xdm.xpt", &good[..good.len() - 160]);
    fails_cleanly(&s, &[&p], &["xdm.xpt", "corrupt or truncated observations"]);
}

#[test]
fn xpt_namestr_count_that_does_not_match_is_an_error() {
    let s = Scratch::new();
    let mut bad = sample("xpt");
    let at = find(&bad, b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!");
    assert_eq!(&bad[at + 54..at + 58], b"0016");
    bad[at + 54..at + 58].copy_from_slice(b"0017");
    let p = sub_with(&s, "xdm.xpt", &bad);
    fails_cleanly(
        &s,
        &[&p],
        &["xdm.xpt", "declares 17 variables", "wrong variable count"],
    );
}

#[test]
fn xpt_text_that_is_not_utf8_names_row_and_column() {
    let s = Scratch::new();
    let mut bad = sample("xpt");
    let at = find(&bad, b"Placebo");
    bad[at + 6] = 0xe9; // Latin-1 é, as a SAS session in that encoding writes it
    let p = sub_with(&s, "xdm.xpt", &bad);
    fails_cleanly(&s, &[&p], &["xdm.xpt", "row 0, column ARM", "not UTF-8"]);
}

/// An IBM float with more significant bits than a double holds is refused, not rounded to the
/// double of the number it was (which would give two files one root): here LB's VISITNUM of
/// row 939, 10, with its last bit set.
#[test]
fn xpt_number_beyond_a_double_names_row_and_column() {
    let s = Scratch::new();
    let mut bad =
        std::fs::read(fixtures().join("ectd/0000/m5/datasets/tnstudy01/tabulations/sdtm/lb.xpt"))
            .unwrap();
    // The observations start at 3,280; rows are 157 bytes, VISITNUM at 124.
    let at = 3280 + 939 * 157 + 124;
    assert_eq!(
        bad[at..at + 8],
        [0x41, 0xa0, 0, 0, 0, 0, 0, 0],
        "VISITNUM 10"
    );
    bad[at + 7] = 1;
    let p = sub_with(&s, "xlb.xpt", &bad);
    fails_cleanly(
        &s,
        &[&p],
        &[
            "xlb.xpt",
            "row 939, column VISITNUM",
            "41a0000000000001",
            "more significant bits",
        ],
    );
}

/// The sample DM as Dataset-JSON with its rows edited; the metadata keeps its bytes and order
/// (`rows` last, as the specification wants).
fn dataset_json(edit: impl FnOnce(&mut Vec<serde_json::Value>)) -> Vec<u8> {
    let text = String::from_utf8(sample("json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut rows = v["rows"].as_array().unwrap().clone();
    edit(&mut rows);
    let head = &text[..text.find("\"rows\":").unwrap()];
    format!("{head}\"rows\":{}}}", serde_json::Value::from(rows)).into_bytes()
}

fn with_records(n: u64) -> Vec<u8> {
    let text = String::from_utf8(sample("json")).unwrap();
    assert!(text.contains("\"records\":4,"));
    text.replace("\"records\":4,", &format!("\"records\":{n},"))
        .into_bytes()
}

#[test]
fn dataset_json_row_of_the_wrong_length_names_the_row() {
    let s = Scratch::new();
    let bad = dataset_json(|rows| {
        rows[2].as_array_mut().unwrap().pop();
    });
    let p = sub_with(&s, "jdm.json", &bad);
    fails_cleanly(
        &s,
        &[&p],
        &["jdm.json", "row 2", "15 values, but there are 16 columns"],
    );
    // The NDJSON form names the line as well.
    let v: serde_json::Value = serde_json::from_slice(&sample("json")).unwrap();
    let mut meta = v.clone();
    meta.as_object_mut().unwrap().remove("rows");
    let mut text = format!("{meta}\n");
    for (i, row) in v["rows"].as_array().unwrap().iter().enumerate() {
        let mut row = row.clone();
        if i == 2 {
            row.as_array_mut().unwrap().push("extra".into());
        }
        text.push_str(&format!("{row}\n"));
    }
    let p = sub_with(&s, "kdm.ndjson", text.as_bytes());
    std::fs::remove_file(s.path().join("bad/jdm.json")).unwrap();
    fails_cleanly(
        &s,
        &[&p],
        &[
            "kdm.ndjson",
            "line 4 (row 2)",
            "17 values, but there are 16 columns",
        ],
    );
}

#[test]
fn dataset_json_records_count_that_differs_from_the_rows_is_an_error() {
    let s = Scratch::new();
    let p = sub_with(&s, "jdm.json", &with_records(5));
    fails_cleanly(
        &s,
        &[&p],
        &["jdm.json", "records says 5 but the file has 4 rows"],
    );
    let p = sub_with(&s, "jdm.json", &with_records(3));
    fails_cleanly(
        &s,
        &[&p],
        &["jdm.json", "row 3", "more rows than records (3) says"],
    );
}
