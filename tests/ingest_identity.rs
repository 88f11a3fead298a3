//! A dataset file replaced or rewritten while it is read fails the reading instead of yielding
//! rows of two files: each file is read through one open handle, and when its rows run out it
//! must still be the file at its path, as it was when opened.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use trialnotary::ingest::{self, Batch, Format, RowSource};

/// What the error says, in part.
const CHANGED: &str = "changed or replaced while it was being read";

/// Reads every row: the rows' values arrays, or the error that ended the reading.
fn read_to_end(source: &mut dyn RowSource) -> Result<Vec<String>, String> {
    let mut rows = Vec::new();
    let mut batch = Batch::default();
    while source.next_batch(&mut batch).map_err(|e| e.to_string())? {
        for i in 0..batch.len() {
            rows.push(String::from_utf8(batch.row(i).to_vec()).unwrap());
        }
    }
    Ok(rows)
}

/// A CSV file whose columns and values all start with `tag`, long enough to take several reads.
fn csv_text(tag: &str, rows: usize) -> String {
    let mut text = format!("{tag}_id,{tag}_value\n");
    for i in 0..rows {
        text.push_str(&format!("{tag}{i},{tag}-{i}\n"));
    }
    text
}

/// Writes `bytes` next to `path` and renames the new file over it, as an export job replacing a
/// file atomically does.
fn replace(path: &Path, bytes: &[u8]) {
    let new = path.with_extension("new");
    std::fs::write(&new, bytes).unwrap();
    std::fs::rename(&new, path).unwrap();
}

fn assert_changed(result: Result<Vec<String>, String>, path: &Path) -> Vec<String> {
    let err = result.expect_err("the reading must fail");
    assert!(err.contains(CHANGED), "{err}");
    assert!(err.contains("nothing was anchored, run again"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
    err.lines().map(str::to_owned).collect()
}

/// Copies a fixture into `dir`.
fn copy_fixture(dir: &Path, fixture: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(common::fixtures().join(fixture), &path).unwrap();
    path
}

#[test]
fn csv_renamed_over_after_its_header_was_read_fails_and_yields_only_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dm.csv");
    std::fs::write(&path, csv_text("old", 200_000)).unwrap();
    let mut source = ingest::open(&path, Format::Csv).unwrap();
    assert_eq!(source.columns(), ["old_id", "old_value"]);
    replace(&path, csv_text("new", 200_000).as_bytes());
    // The rows come from the file opened, under its header, to the end; then the reading fails.
    let mut rows = Vec::new();
    let mut batch = Batch::default();
    let err = loop {
        match source.next_batch(&mut batch) {
            Ok(true) => rows.extend((0..batch.len()).map(|i| batch.row(i).to_vec())),
            Ok(false) => panic!("read to the end without noticing the new file"),
            Err(e) => break e.to_string(),
        }
    };
    assert_changed(Err(err), &path);
    assert_eq!(rows.len(), 200_000);
    assert!(rows.iter().all(|r| r.starts_with(b"[\"old")));
}

#[test]
fn csv_appended_to_while_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ae.csv");
    std::fs::write(&path, csv_text("a", 50_000)).unwrap();
    let mut source = ingest::open(&path, Format::Csv).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"late,row\n").unwrap();
    drop(file);
    assert_changed(read_to_end(&mut *source), &path);
}

#[test]
fn csv_read_to_the_end_untouched_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cm.csv");
    std::fs::write(&path, csv_text("c", 50_000)).unwrap();
    let mut source = ingest::open(&path, Format::Csv).unwrap();
    assert_eq!(read_to_end(&mut *source).unwrap().len(), 50_000);
    // Asked again after the end, it stays at the end.
    assert!(!source.next_batch(&mut Batch::default()).unwrap());
}

#[test]
fn parquet_renamed_over_while_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "crossformat/pandas/lb.parquet", "lb.parquet");
    let mut source = ingest::open(&path, Format::Parquet).unwrap();
    replace(
        &path,
        &std::fs::read(common::fixtures().join("crossformat/duckdb/lb.parquet")).unwrap(),
    );
    assert_changed(read_to_end(&mut *source), &path);
}

#[test]
fn parquet_appended_to_while_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "crossformat/pandas/lb.parquet", "lb.parquet");
    let mut source = ingest::open(&path, Format::Parquet).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"PAR1").unwrap();
    drop(file);
    let err = assert_changed(read_to_end(&mut *source), &path);
    assert!(err[0].contains("its size went from"), "{err:?}");
}

/// Rewrites an Arrow IPC file-format fixture in the stream format, into `dir`.
fn stream_copy(dir: &Path, fixture: &str, name: &str) -> PathBuf {
    let file = std::fs::File::open(common::fixtures().join(fixture)).unwrap();
    let reader = arrow_ipc::reader::FileReader::try_new(file, None).unwrap();
    let path = dir.join(name);
    let out = std::fs::File::create(&path).unwrap();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(out, &reader.schema()).unwrap();
    for batch in reader {
        writer.write(&batch.unwrap()).unwrap();
    }
    writer.finish().unwrap();
    path
}

#[test]
fn arrow_renamed_over_while_read_fails() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream_copy(dir.path(), "types/arrow/types.arrow", "stream.arrow");
    assert_ne!(&std::fs::read(&stream).unwrap()[..6], b"ARROW1");
    for path in [
        copy_fixture(
            dir.path(),
            "crossformat/feather-lz4/lb.feather",
            "lb.feather",
        ),
        copy_fixture(dir.path(), "types/arrow/types.arrow", "types.arrow"),
        stream,
    ] {
        let mut source = ingest::open(&path, Format::Arrow).unwrap();
        replace(
            &path,
            &std::fs::read(common::fixtures().join("crossformat/feather-zstd/lb.arrow")).unwrap(),
        );
        assert_changed(read_to_end(&mut *source), &path);
    }
}

#[test]
fn fixtures_read_untouched_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let stream = stream_copy(dir.path(), "types/arrow/types.arrow", "stream.arrow");
    let mut source = ingest::open(&stream, Format::Arrow).unwrap();
    assert!(!read_to_end(&mut *source).unwrap().is_empty());
    for (fixture, format) in [
        ("crossformat/pandas/lb.parquet", Format::Parquet),
        ("crossformat/feather-lz4/lb.feather", Format::Arrow),
        ("types/arrow/types.arrow", Format::Arrow),
        ("crossformat/csv/lb.csv", Format::Csv),
        ("crossformat/xpt/lb.xpt", Format::Xpt),
        ("crossformat/dataset-json/lb.json", Format::DatasetJson),
        (
            "crossformat/dataset-ndjson/lb.ndjson",
            Format::DatasetNdjson,
        ),
    ] {
        let mut source = ingest::open(&common::fixtures().join(fixture), format).unwrap();
        let rows = read_to_end(&mut *source).unwrap_or_else(|e| panic!("{fixture}: {e}"));
        assert!(!rows.is_empty(), "{fixture}");
    }
}

/// XPT and Dataset-JSON are read through the same guard: a file renamed over while read fails.
#[test]
fn xpt_and_dataset_json_renamed_over_while_read_fail() {
    let dir = tempfile::tempdir().unwrap();
    for (fixture, other, format) in [
        (
            "crossformat/xpt/lb.xpt",
            "ectd/0000/m5/datasets/tnstudy01/tabulations/sdtm/lb.xpt",
            Format::Xpt,
        ),
        (
            "crossformat/dataset-json/lb.json",
            "ectd-dataset-json/0000/m5/datasets/tnstudy01/tabulations/sdtm/lb.json",
            Format::DatasetJson,
        ),
    ] {
        let name = fixture.rsplit('/').next().unwrap();
        let path = copy_fixture(dir.path(), fixture, name);
        let mut source = ingest::open(&path, format).unwrap();
        replace(
            &path,
            &std::fs::read(common::fixtures().join(other)).unwrap(),
        );
        assert_changed(read_to_end(&mut *source), &path);
    }
}

/// Every dataset file of the fixtures, of every format, in a stable order.
fn dataset_files(dir: &Path, out: &mut Vec<(PathBuf, Format)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            dataset_files(&path, out);
        } else if let Some((format, _)) = Format::from_path(&path) {
            out.push((path, format));
        }
    }
}

/// The digest recorded for reuse is the BLAKE3 of the file's bytes whether it is computed while
/// the rows are read (CSV, XPT, Dataset-JSON in all three forms) or in a pass of its own
/// (Parquet, Arrow): a reader that stopped short of the file's end, or hashed other bytes than
/// the file's, would fail here, not reuse the wrong leaves some night.
#[test]
fn the_digest_taken_while_reading_is_the_file_digest() {
    let mut files = Vec::new();
    dataset_files(&common::fixtures(), &mut files);
    let mut seen = Vec::new();
    let mut checked = 0;
    for (path, format) in files {
        let Ok((mut source, digest)) = ingest::DatasetFile::open(&path)
            .unwrap()
            .rows_and_digest(format)
        else {
            continue; // refused on purpose (the hostile fixtures): nothing to reuse
        };
        if read_to_end(&mut *source).is_err() {
            continue;
        }
        let whole = ingest::DatasetFile::open(&path).unwrap().digest().unwrap();
        assert_eq!(digest.get(), Some(&whole), "{}", path.display());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(whole, format!("blake3:{}", blake3::hash(&bytes).to_hex()));
        seen.push(format);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} files read");
    for format in [
        Format::Csv,
        Format::Parquet,
        Format::Arrow,
        Format::Xpt,
        Format::DatasetJson,
        Format::DatasetNdjson,
        Format::DatasetJsonCompressed,
    ] {
        assert!(seen.contains(&format), "no fixture read as {format}");
    }
}

/// A file cut short in place while it is read (an export job rewriting it) ends in the middle
/// of a row: the change is what the error names, not the ragged row the cut leaves.
#[test]
fn csv_truncated_while_read_names_the_change_not_the_cut_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dm.csv");
    let text = csv_text("old", 200_000);
    std::fs::write(&path, &text).unwrap();
    let mut source = ingest::open(&path, Format::Csv).unwrap();
    // Mid-way through a row's first value, so that the row left has one field of two.
    let cut = text[..text.len() / 2].rfind(',').unwrap() - 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    let err = read_to_end(source.as_mut()).expect_err("the reading must fail");
    assert!(err.contains(CHANGED), "{err}");
    assert!(!err.contains("ragged"), "{err}");
}
