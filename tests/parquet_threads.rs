//! One Parquet file is decoded on all cores (its row groups, and a row group's columns in
//! groups, side by side): the rows come out in file order and identical, and a corrupt file
//! fails at the same place with the same message, whatever the number of threads.

mod common;

use std::path::{Path, PathBuf};

use trialnotary::generate::{GenerateOptions, WriterOptions, generate_with};
use trialnotary::ingest::{self, Batch, Format};

/// The thread counts every reading is repeated with.
const THREADS: [usize; 3] = [1, 2, 16];

/// Every row's values array, or the error that ended the reading (with the rows before it).
fn read(path: &Path, format: Format, threads: usize) -> (Vec<Vec<u8>>, Option<String>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut rows = Vec::new();
        let mut source = match ingest::open(path, format) {
            Ok(s) => s,
            Err(e) => return (rows, Some(e.to_string())),
        };
        let mut batch = Batch::default();
        loop {
            match source.next_batch(&mut batch) {
                Ok(true) => rows.extend((0..batch.len()).map(|i| batch.row(i).to_vec())),
                Ok(false) => return (rows, None),
                Err(e) => return (rows, Some(e.to_string())),
            }
        }
    })
}

/// Reads `path` with every thread count in [`THREADS`] and checks that all give the same rows
/// and the same end; returns them.
fn same_with_any_threads(path: &Path, format: Format) -> (Vec<Vec<u8>>, Option<String>) {
    let first = read(path, format, THREADS[0]);
    for threads in &THREADS[1..] {
        let other = read(path, format, *threads);
        assert_eq!(
            other.0.len(),
            first.0.len(),
            "{}: rows with {threads} threads",
            path.display()
        );
        assert!(
            other.0 == first.0,
            "{}: rows with {threads} threads",
            path.display()
        );
        assert_eq!(
            other.1,
            first.1,
            "{}: end with {threads} threads",
            path.display()
        );
    }
    first
}

fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            parquet_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
}

#[test]
fn fixtures_read_the_same_with_any_threads() {
    let mut files = Vec::new();
    parquet_files(&common::fixtures(), &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        same_with_any_threads(&path, Format::Parquet);
    }
}

/// Writes the ADaM datasets of `subjects` subjects as `format` into `dir`, Parquet row groups of
/// `row_group_rows` (default one per file).
fn adam(dir: &Path, subjects: u64, format: Format, row_group_rows: Option<usize>) {
    generate_with(
        &GenerateOptions {
            out: dir.to_owned(),
            subjects,
            seed: 21,
            format,
            domains: vec!["adam".into()],
        },
        &WriterOptions { row_group_rows },
        &|_| {},
    )
    .unwrap();
}

/// A wide file in one row group of more rows than one batch, the same rows in row groups of
/// 1,000 rows (several decoded side by side) and of 7 rows (many), and the CSV copy: the same
/// rows in the same order, with any number of threads.
#[test]
fn a_wide_file_reads_the_same_with_any_threads_and_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let subjects = 300;
    adam(&dir.path().join("one"), subjects, Format::Parquet, None);
    adam(&dir.path().join("k"), subjects, Format::Parquet, Some(1000));
    adam(&dir.path().join("tiny"), 30, Format::Parquet, Some(7));
    adam(&dir.path().join("csv"), subjects, Format::Csv, None);
    for name in ["adsl", "adlb", "advs"] {
        let csv = read(&dir.path().join(format!("csv/{name}.csv")), Format::Csv, 2);
        assert_eq!(csv.1, None);
        let one = same_with_any_threads(
            &dir.path().join(format!("one/{name}.parquet")),
            Format::Parquet,
        );
        assert_eq!(one.1, None);
        assert_eq!(one.0.len(), csv.0.len(), "{name}");
        assert!(one.0 == csv.0, "{name}: Parquet and CSV rows differ");
        let k = same_with_any_threads(
            &dir.path().join(format!("k/{name}.parquet")),
            Format::Parquet,
        );
        assert!(k.0 == one.0 && k.1.is_none(), "{name}: row groups of 1,000");
        let tiny = same_with_any_threads(
            &dir.path().join(format!("tiny/{name}.parquet")),
            Format::Parquet,
        );
        assert_eq!(tiny.1, None);
        assert!(
            tiny.0[..] == one.0[..tiny.0.len()],
            "{name}: row groups of 7"
        );
    }
    assert!(
        read(&dir.path().join("one/adlb.parquet"), Format::Parquet, 2)
            .0
            .len()
            > 65_536,
        "more rows than one batch"
    );
}

/// A wide file damaged in its pages fails the same way (the same rows before the error, the same
/// message) whatever the threads.
#[test]
fn a_damaged_wide_file_fails_the_same_with_any_threads() {
    let dir = tempfile::tempdir().unwrap();
    adam(&dir.path().join("a"), 60, Format::Parquet, Some(4000));
    let good = std::fs::read(dir.path().join("a/adlb.parquet")).unwrap();
    let mut failures = 0;
    for k in 1..12 {
        let mut bytes = good.clone();
        // Damage within the column chunks (the footer holds the last part of the file).
        let at = bytes.len() * k / 16;
        for b in &mut bytes[at..at + 64] {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        let path = dir.path().join(format!("bad{k}.parquet"));
        std::fs::write(&path, &bytes).unwrap();
        let (_, end) = same_with_any_threads(&path, Format::Parquet);
        failures += usize::from(end.is_some());
    }
    assert!(failures >= 6, "{failures} of 11 damaged files failed");
}

/// Writes `batch` to a Parquet file at `path` with `props`.
fn write_parquet(
    path: &Path,
    batch: &arrow_array::RecordBatch,
    props: parquet::file::properties::WriterProperties,
) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// String columns are read as dictionaries only where the row groups' statistics say they hold
/// no nulls. The same strings (one column never null, one whose batches start with nulls, both
/// dictionary-encoded) written with statistics and without give the same rows, with any threads.
#[test]
fn string_columns_with_and_without_nulls_or_statistics_read_the_same() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use std::sync::Arc;

    let rows = 70_000; // more than one batch, so a later batch starts with nulls too
    let kept: StringArray = (0..rows).map(|i| Some(format!("SITE{}", i % 7))).collect();
    let holed: StringArray = (0..rows)
        .map(|i| (i % 65_536 >= 3 && i % 5 != 0).then(|| format!("V{}", i % 11)))
        .collect();
    let batch = RecordBatch::try_from_iter([
        ("SITEID", Arc::new(kept) as ArrayRef),
        ("AVALC", Arc::new(holed) as ArrayRef),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for (name, stats) in [
        ("stats.parquet", EnabledStatistics::Chunk),
        ("none.parquet", EnabledStatistics::None),
    ] {
        let path = dir.path().join(name);
        let props = WriterProperties::builder()
            .set_statistics_enabled(stats)
            .set_dictionary_enabled(true)
            .build();
        write_parquet(&path, &batch, props);
        let (got, end) = same_with_any_threads(&path, Format::Parquet);
        assert_eq!(end, None);
        assert_eq!(got.len(), rows);
        assert_eq!(got[0], br#"["SITE0",null]"#);
        assert_eq!(got[4], br#"["SITE4","V4"]"#);
        assert_eq!(got[65_536], br#"["SITE2",null]"#);
        results.push(got);
    }
    assert!(results[0] == results[1], "with and without statistics");
}

/// String columns with nulls are read as string views, each view's text written once per range
/// of rows and copied where the same view comes back. Values of every kind (short ones held in
/// the view, long ones, ones that need escaping, non-ASCII, empty ones, which are null), more
/// distinct than the converter remembers, in dictionary-encoded pages and, past a small
/// dictionary limit, plain ones: the rows are those the Arrow IPC file of the same table gives
/// (read as plain strings), with any threads.
#[test]
fn string_views_give_the_rows_plain_strings_give() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    let pool: Vec<String> = (0..700)
        .map(|i| match i % 7 {
            0 => format!("V{i}"),
            1 => format!("a longer value, number {i}, past twelve bytes"),
            2 => format!("quote \" and backslash \\ {i}"),
            3 => format!("tab\tnewline\n{i}"),
            4 => format!("Grüße, 試験 {i}"),
            5 => String::new(),
            _ => format!("{i}"),
        })
        .collect();
    let rows = 50_000;
    // Runs of one value (as sorted analysis data has) among values spread over the pool.
    let value = |i: usize| {
        let k = if i.is_multiple_of(3) {
            i / 40
        } else {
            i * 7919
        };
        (k % 11 != 4).then(|| pool[k % pool.len()].as_str())
    };
    let holed: StringArray = (0..rows).map(value).collect();
    let batch = RecordBatch::try_from_iter([("AVALC", Arc::new(holed) as ArrayRef)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let arrow = dir.path().join("table.arrow");
    let mut w = arrow_ipc::writer::FileWriter::try_new(
        std::fs::File::create(&arrow).unwrap(),
        &batch.schema(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let (want, end) = same_with_any_threads(&arrow, Format::Arrow);
    assert_eq!((want.len(), end), (rows, None));
    for limit in [1 << 20, 2048] {
        let path = dir.path().join(format!("dict-{limit}.parquet"));
        let props = WriterProperties::builder()
            .set_dictionary_enabled(true)
            .set_dictionary_page_size_limit(limit)
            .set_data_page_row_count_limit(1000)
            .build();
        write_parquet(&path, &batch, props);
        let (got, end) = same_with_any_threads(&path, Format::Parquet);
        assert_eq!(end, None);
        assert_eq!(got.len(), rows);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(g),
                String::from_utf8_lossy(w),
                "row {i}, dictionary limit {limit}"
            );
        }
    }
    // The table has every case: nulls, empty strings (null too), and the rest.
    let null = |i: usize| value(i).is_none_or(str::is_empty);
    assert!((0..rows).any(|i| value(i).is_none()) && (0..rows).any(|i| value(i) == Some("")));
    for (i, row) in want.iter().enumerate() {
        assert_eq!(row == br#"[null]"#, null(i), "row {i}");
    }
}

/// Strings the parquet crate does not check as UTF-8 (a column annotated JSON rather than UTF8)
/// are checked before they are converted: valid ones read as text, and a value that is not UTF-8
/// is an error naming its column and row, whatever the threads, never a row of other bytes.
#[test]
fn strings_without_the_utf8_annotation_are_checked() {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;

    let schema = Arc::new(
        parse_message_type("message m { required binary NOTE (JSON); optional binary ID (UTF8); }")
            .unwrap(),
    );
    let rows = 3000;
    let write = |path: &Path, bad_row: Option<usize>| {
        let props = Arc::new(WriterProperties::builder().build());
        let mut w =
            SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema.clone(), props)
                .unwrap();
        let mut group = w.next_row_group().unwrap();
        let notes: Vec<ByteArray> = (0..rows)
            .map(|i| {
                let mut v = format!("{{\"n\":{i}}}").into_bytes();
                if Some(i) == bad_row {
                    v.push(0xff);
                }
                ByteArray::from(v)
            })
            .collect();
        let mut col = group.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>()
            .write_batch(&notes, None, None)
            .unwrap();
        col.close().unwrap();
        let ids: Vec<ByteArray> = (0..rows)
            .map(|i| ByteArray::from(format!("S{i}").as_str()))
            .collect();
        let defs = vec![1i16; rows];
        let mut col = group.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>()
            .write_batch(&ids, Some(&defs), None)
            .unwrap();
        col.close().unwrap();
        group.close().unwrap();
        w.close().unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    write(&good, None);
    let (got, end) = same_with_any_threads(&good, Format::Parquet);
    assert_eq!((got.len(), end), (rows, None));
    assert_eq!(got[7], br#"["{\"n\":7}","S7"]"#);
    let bad = dir.path().join("bad.parquet");
    write(&bad, Some(2345));
    let (_, end) = same_with_any_threads(&bad, Format::Parquet);
    let end = end.expect("an error");
    assert!(
        end.contains("bad.parquet")
            && end.contains("column NOTE, row 2345")
            && end.contains("not UTF-8"),
        "{end}"
    );
}
