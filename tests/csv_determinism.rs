//! CSV files with stray quotes (a quote inside an unquoted field, such as a height `5'1"`),
//! notarized by the real binary: the records and the root are the csv crate's reading of the
//! file, whatever the number of threads, and however large the file.

mod common;

use std::io::Write;
use std::path::Path;

use common::Scratch;

/// Notarizes `file` into the scratch store as submission `id` with `threads` rayon threads;
/// returns the records and the submission root.
fn notarize_with_threads(s: &Scratch, file: &Path, id: &str, threads: usize) -> (u64, String) {
    s.notarize_threads(file, id, threads)
        .unwrap_or_else(|e| panic!("{threads} threads: {e}"))
}

/// The records the csv crate reads after the header, configured as the reader configures it
/// (blank lines are not records).
fn csv_crate_records(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let mut count = 0;
    for record in reader.byte_records() {
        let record = record.unwrap();
        if !(record.len() == 1 && record[0].is_empty()) {
            count += 1;
        }
    }
    count
}

/// Rows `r0`..`r5`, then `a"b,"c` and `d,e"`: to the csv crate `a"b` holds a literal quote and
/// `"c\nd,e"` is one quoted field with a line end, so the two lines are one record. Cut by quote
/// parity, the file gave 41 records with one thread and 42 (a different root) with two or more.
#[test]
fn stray_quote_before_a_quoted_line_end_gives_one_root_on_1_2_and_16_threads() {
    let s = Scratch::new();
    let mut text = String::from("x,y\n");
    for i in 0..6 {
        text.push_str(&format!("r{i},v\n"));
    }
    text.push_str("a\"b,\"c\nd,e\"\n");
    for i in 6..40 {
        text.push_str(&format!("r{i},v\n"));
    }
    let file = s.write("case.csv", text.as_bytes());
    let want = csv_crate_records(text.as_bytes());
    assert_eq!(want, 41);
    // One store: one secret, so equal data gives equal roots.
    let runs: Vec<(u64, String)> = [1, 2, 16]
        .iter()
        .map(|&t| notarize_with_threads(&s, &file, &format!("threads-{t}"), t))
        .collect();
    for (records, root) in &runs {
        assert_eq!(*records, want);
        assert_eq!(root, &runs[0].1);
    }
}

/// A height `5'1"` in an unquoted field of the first data row left quote parity odd for the
/// rest of the file: no newline looked like a record end, and a file of 292 MiB failed with
/// "a record larger than 256 MiB (is a closing quote missing?)".
#[test]
fn stray_quote_in_row_1_of_a_file_over_256_mib_notarizes_every_line() {
    let s = Scratch::new();
    let path = s.path().join("vs.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"USUBJID,VSTEST,VSORRES\nS-0001,HEIGHT,5'1\"\n")
        .unwrap();
    // A megabyte of rows, written over and over.
    let mut chunk = Vec::new();
    let mut rows_per_chunk = 0u64;
    while chunk.len() < (1 << 20) - 64 {
        chunk.extend_from_slice(
            format!(
                "S-{rows_per_chunk:04},WEIGHT,{}\n",
                50 + rows_per_chunk % 40
            )
            .as_bytes(),
        );
        rows_per_chunk += 1;
    }
    // Past 256 MiB by two 16 MiB blocks: the buffer outgrew the limit before the file ended.
    let copies = (trialnotary::ingest::MAX_RECORD_BYTES / chunk.len()) as u64 + 36;
    for _ in 0..copies {
        file.write_all(&chunk).unwrap();
    }
    drop(file);
    assert!(std::fs::metadata(&path).unwrap().len() > trialnotary::ingest::MAX_RECORD_BYTES as u64);
    let (records, _) = notarize_with_threads(&s, &path, "heights", 2);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(records, 1 + copies * rows_per_chunk);
}
