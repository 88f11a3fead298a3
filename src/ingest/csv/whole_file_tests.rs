//! The CSV reader, read through [`crate::ingest::open_with_block`] with 1, 2, 3 and 16 threads
//! and blocks from 1 byte to 16 MiB, gives the rows and the error of the csv crate reading the
//! whole file with one reader: where blocks and pieces are cut never shows.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use crate::ingest::{Batch, Format, open_with_block};

const THREADS: [usize; 4] = [1, 2, 3, 16];

const BLOCKS: [usize; 5] = [1, 7, 64, 4096, super::BLOCK];

/// One thread pool per count in [`THREADS`], built once for every case.
fn pools() -> &'static [rayon::ThreadPool] {
    static POOLS: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    POOLS.get_or_init(|| {
        THREADS
            .iter()
            .map(|&n| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    // Only a system out of threads fails this; the test cannot run then.
                    .expect("a thread pool")
            })
            .collect()
    })
}

/// What reading a file gave: its columns, its rows (their values arrays, one per line), and the
/// error that ended the reading. Rows read before an error depend on how far ahead the reader
/// parsed, so a reading that failed keeps only its columns and the error.
#[derive(Debug, PartialEq, Eq)]
struct Reading {
    columns: Vec<String>,
    rows: String,
    count: usize,
    error: Option<String>,
}

impl Reading {
    fn failed(columns: Vec<String>, error: String) -> Self {
        Self {
            columns,
            rows: String::new(),
            count: 0,
            error: Some(error),
        }
    }
}

/// Reads `path` through the reader, `block` bytes at a time.
fn read(path: &Path, block: usize) -> Reading {
    let mut source = match open_with_block(path, Format::Csv, block) {
        Ok(source) => source,
        Err(e) => return Reading::failed(Vec::new(), e.to_string()),
    };
    let columns = source.columns().to_vec();
    let (mut rows, mut count) = (Vec::new(), 0);
    let mut batch = Batch::default();
    loop {
        match source.next_batch(&mut batch) {
            Ok(true) => {
                rows.extend_from_slice(&batch.buf);
                count += batch.len();
            }
            Ok(false) => break,
            Err(e) => return Reading::failed(columns, e.to_string()),
        }
    }
    Reading {
        columns,
        rows: String::from_utf8(rows).expect("values arrays are JSON text"),
        count,
        error: None,
    }
}

/// The csv crate reading all of `bytes` (the file at `path`) with one reader, configured as
/// the CSV reader configures it, with the same checks and messages: the header names the
/// columns, a record of one empty field is a blank line, every other record must have one field
/// per column, each valid UTF-8; values are written with serde_json, empty ones as `null`.
fn whole_file(path: &Path, bytes: &[u8]) -> Reading {
    let fail = |columns, at: String, message: String| {
        Reading::failed(columns, format!("{}: {at}: {message}", path.display()))
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    // Byte records from a slice: the csv crate has no error to report (no I/O, no UTF-8 check,
    // and `flexible` allows any record length).
    let next = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .expect("no csv error on a slice")
    };
    // A file that ends inside a quoted field reads otherwise with a line end after it: the line
    // end joins the field. Its last record, the one the quote opened in, is refused.
    let records = |bytes: &[u8]| {
        let mut all = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        for record in reader.byte_records() {
            all.push(record.expect("no csv error on a slice"));
        }
        all
    };
    let count = records(bytes).len();
    let unclosed = records(bytes) != records(&[bytes, b"\n"].concat());
    let unclosed_at = |index: usize| unclosed && index + 1 == count;
    let message = super::fallback::UNCLOSED_QUOTE.to_owned();
    if unclosed_at(0) {
        return fail(Vec::new(), "line 1".into(), message);
    }
    if !next(&mut reader, &mut record) || record.is_empty() {
        let message = "no header row (the file is empty)";
        return fail(Vec::new(), "line 1".into(), message.into());
    }
    let mut columns = Vec::new();
    for (i, name) in record.iter().enumerate() {
        match std::str::from_utf8(name) {
            Ok(name) => columns.push(name.to_owned()),
            Err(e) => {
                let at = format!("line 1, column {}", i + 1);
                let message = format!("header is not valid UTF-8 (byte {})", e.valid_up_to());
                return fail(Vec::new(), at, message);
            }
        }
    }
    // Two columns of one name are refused, whatever the format.
    for (i, name) in columns.iter().enumerate() {
        if let Some(first) = columns[..i].iter().position(|c| c == name) {
            let message = format!(
                "duplicate column name {name:?} (column {} has it too)",
                first + 1
            );
            return fail(Vec::new(), format!("column {}", i + 1), message);
        }
    }
    let (mut rows, mut count) = (String::new(), 0);
    let mut index = 0;
    while next(&mut reader, &mut record) {
        index += 1;
        // The record's line: the csv crate places it after the line ends before it.
        let mut at = record.position().map_or(0, |p| p.byte() as usize);
        while matches!(bytes.get(at), Some(b'\n' | b'\r')) {
            at += 1;
        }
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        if unclosed_at(index) {
            return fail(columns, format!("line {line}"), message);
        }
        if record.len() != columns.len() {
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            let message = format!(
                "row has {} fields but the header has {} (ragged row)",
                record.len(),
                columns.len()
            );
            return fail(columns, format!("line {line}"), message);
        }
        let mut values: Vec<Option<&str>> = Vec::new();
        for (field, name) in record.iter().zip(&columns) {
            match std::str::from_utf8(field) {
                Ok(text) => values.push((!text.is_empty()).then_some(text)),
                Err(e) => {
                    let message = format!(
                        "value is not valid UTF-8 (at byte {} of the field); re-export the file \
                         as UTF-8",
                        e.valid_up_to()
                    );
                    let at = format!("line {line}, column {name}");
                    return fail(columns.clone(), at, message);
                }
            }
        }
        rows.push_str(&serde_json::to_string(&values).expect("strings serialize"));
        rows.push('\n');
        count += 1;
    }
    Reading {
        columns,
        rows,
        count,
        error: None,
    }
}

/// The whole-file reading of `bytes`, written to a temporary file.
fn reference(bytes: &[u8]) -> Reading {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("data.csv");
    std::fs::write(&path, bytes).expect("write the file");
    whole_file(&path, bytes)
}

/// Writes `bytes` to a file and checks every thread count and block size against the whole-file
/// reading.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let path = dir.path().join("data.csv");
    std::fs::write(&path, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let want = whole_file(&path, bytes);
    for (pool, threads) in pools().iter().zip(THREADS) {
        for block in BLOCKS {
            let got = pool.install(|| read(&path, block));
            prop_assert_eq!(
                &got,
                &want,
                "{} threads, blocks of {} bytes, file {:?}",
                threads,
                block,
                String::from_utf8_lossy(bytes)
            );
        }
    }
    Ok(())
}

/// Fields as exports write them and as they go wrong: plain; quoted, with separators, line ends
/// and doubled quotes inside; and stray quotes, which the csv crate reads as text (a quote inside
/// an unquoted field, text after a closing quote) or which open a field never closed.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[aé]{0,3}",
        3 => "[aé,\r\n]{0,3}".prop_map(|t| format!("\"{t}\"")),
        1 => "[a\"\n]{0,3}".prop_map(|t| format!("\"{}\"", t.replace('"', "\"\""))),
        2 => "[aé]{1,2}\"[aé\"]{0,2}",
        1 => "\"[aé]{0,2}\"[aé]{1,2}",
        1 => Just("5'1\"".to_owned()),
        1 => Just("\"".to_owned()),
        1 => Just("\u{feff}\"a\"".to_owned()),
    ]
}

/// A file of rows of `width` fields (now and then one more or one fewer), each line ended by
/// `\n` or `\r\n`, with blank lines and the last line end left out at times.
fn rows() -> impl Strategy<Value = Vec<u8>> {
    (1usize..=3)
        .prop_flat_map(|width| {
            let row = proptest::collection::vec(field(), (width - 1).max(1)..=width + 1);
            let lines = proptest::collection::vec(
                (
                    prop_oneof![8 => Just(width), 1 => Just(0), 1 => Just(usize::MAX)],
                    row,
                    proptest::sample::select(vec!["\n", "\r\n", "\n\n"]),
                ),
                0..30,
            );
            (Just(width), lines, any::<bool>())
        })
        .prop_map(|(width, lines, last_newline)| {
            let mut text = (0..width)
                .map(|i| format!("c{i}"))
                .collect::<Vec<_>>()
                .join(",");
            text.push('\n');
            for (k, (keep, fields, end)) in lines.iter().enumerate() {
                // Mostly rows of the header's width; some ragged, some blank.
                let fields = &fields[..(*keep).min(fields.len())];
                text.push_str(&fields.join(","));
                if k + 1 < lines.len() || last_newline {
                    text.push_str(end);
                }
            }
            text.into_bytes()
        })
}

/// Bytes drawn from an alphabet heavy in quotes, separators and line ends, with a byte order
/// mark and a byte that is not UTF-8.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let tokens: Vec<&'static [u8]> = vec![
        b"\"",
        b"\"",
        b"\"",
        b",",
        b",",
        b"\r",
        b"\n",
        b"\n",
        b"\r\n",
        b"a",
        b"a",
        "é".as_bytes(),
        b"\"\"",
        b"a\"b",
        "\u{feff}".as_bytes(),
        b"\xff",
    ];
    proptest::collection::vec(proptest::sample::select(tokens), 0..120)
        .prop_map(|tokens| tokens.concat())
}

proptest! {
    /// Rows of well-formed, quoted and stray-quoted fields.
    #[test]
    fn rows_are_those_of_one_reader_whatever_the_threads_and_blocks(bytes in rows()) {
        check(&bytes)?;
    }

    /// Any bytes of the alphabet, after a header or not.
    #[test]
    fn soup_reads_as_one_reader_reads_it_whatever_the_threads_and_blocks(
        header in any::<bool>(),
        bytes in soup(),
    ) {
        let bytes = if header { [&b"x,y\n"[..], &bytes].concat() } else { bytes };
        check(&bytes)?;
    }
}

/// The case first reported: rows, then `a"b,"c` and `d,e"` (a literal quote, then a quoted
/// field holding a line end), then more rows. Quote parity cut it inside the quoted field when
/// more than one thread read it: 41 rows with one thread, 42 with two or sixteen.
#[test]
fn stray_quote_before_a_quoted_line_end_reads_alike_on_any_thread_count() {
    let mut text = String::from("x,y\n");
    for i in 0..6 {
        text.push_str(&format!("r{i},v\n"));
    }
    text.push_str("a\"b,\"c\nd,e\"\n");
    for i in 6..40 {
        text.push_str(&format!("r{i},v\n"));
    }
    assert_eq!(reference(text.as_bytes()).count, 41);
    check(text.as_bytes()).expect("same rows everywhere");
}

/// A byte order mark starting a line mid-file is text to the csv crate (it strips one only at
/// the start of the file), and so the quote after it is a literal; a piece starting on that
/// line once read it as the start of a quoted field.
#[test]
fn byte_order_mark_starting_a_line_stays_text() {
    let text = "x,y\n\u{feff}\"a\",b\n";
    let want = reference(text.as_bytes());
    assert_eq!(want.rows, "[\"\u{feff}\\\"a\\\"\",\"b\"]\n");
    check(text.as_bytes()).expect("same rows everywhere");
}

/// A quote that is never closed, at the end of the file: the csv crate reads every line after
/// it into one value, so the file read as fewer rows than it has. Refused, at the line the
/// quote opened in, whatever the threads and blocks, in the header, in any field, after or
/// before a last line end, and even where the row it swallows would otherwise be ragged.
#[test]
fn quote_never_closed_is_refused_at_its_line() {
    let mut long = String::from("A,B\n");
    for i in 0..5_000 {
        long.push_str(&format!("{i},v\n"));
    }
    long.push_str("x,\"y\n");
    for i in 0..5_000 {
        long.push_str(&format!("{i},v\n"));
    }
    let cases: [(&[u8], u64); 7] = [
        (b"A,B\n1,2\n3,\"4\n5,6\n7,8\n", 3),
        (b"A,B\n1,2\n3,\"4\n", 3),
        (b"A,B\n1,2\n3,\"4", 3),
        (b"A,B\n1,2\n\"3,4\n5,6\n", 3),
        (b"A,B\n1,2\n\"", 3),
        (b"A,\"B\n1,2\n", 1),
        (long.as_bytes(), 5_002),
    ];
    for (bytes, line) in cases {
        let reading = reference(bytes);
        let error = reading.error.as_deref().unwrap_or("no error");
        let want = format!(": line {line}: {}", super::fallback::UNCLOSED_QUOTE);
        assert!(error.ends_with(&want), "{error}");
        check(bytes).expect("the reader agrees with the whole-file reading");
    }
    // A quoted field that holds line ends and is closed is a value like any other.
    let closed = b"A,B\n1,\"2\n3\"\n4,\"5\"";
    let reading = reference(closed);
    assert_eq!((reading.error.as_deref(), reading.count), (None, 2));
    check(closed).expect("the reader agrees with the whole-file reading");
}
