//! The CDISC Dataset-JSON reader: every fixture of fixtures/dataset-json (written by
//! make_dsjson.py, with rows computed independently in Python) read exactly in all four forms;
//! arbitrary and mutated bytes never panic; a large file is streamed in bounded memory; numbers
//! are parsed to the exact double.

mod common {

    use std::path::Path;

    use trialnotary::ingest::dataset_json::DatasetJsonSource;
    use trialnotary::ingest::{Batch, IngestError, RowSource};

    /// What a file read to its end gave.
    pub struct Read {
        pub columns: Vec<String>,
        /// Every row's values array followed by `\n`, as the batches hold them.
        pub rows: Vec<u8>,
        pub row_count: usize,
        pub bytes_read: Option<u64>,
    }

    /// The reader's flags for a file name: `.ndjson` and `.dsjc` (NDJSON, compressed).
    pub fn flags(path: &Path) -> (bool, bool) {
        let name = path.to_string_lossy();
        (name.ends_with(".ndjson"), name.ends_with(".dsjc"))
    }

    /// Reads `path` to its end.
    pub fn read_all(path: &Path) -> Result<Read, IngestError> {
        let (ndjson, compressed) = flags(path);
        let file = std::fs::File::open(path).map_err(|e| IngestError::file(path, e.to_string()))?;
        let mut source = DatasetJsonSource::new(path, file, ndjson, compressed)?;
        let columns = source.columns().to_vec();
        let mut rows = Vec::new();
        let mut row_count = 0;
        let mut batch = Batch::default();
        while source.next_batch(&mut batch)? {
            assert!(!batch.is_empty(), "a batch reported as filled is empty");
            for i in 0..batch.len() {
                rows.extend_from_slice(batch.row(i));
                rows.push(b'\n');
            }
            row_count += batch.len();
        }
        // Once finished, it stays finished.
        assert!(!source.next_batch(&mut batch)?);
        Ok(Read {
            columns,
            rows,
            row_count,
            bytes_read: source.bytes_read(),
        })
    }

    /// The expected file's text as the reader's output would spell it: line 1 the column names,
    /// then the rows.
    pub fn rendered(read: &Read) -> Vec<u8> {
        let mut out = serde_json::to_vec(&read.columns).unwrap();
        out.push(b'\n');
        out.extend_from_slice(&read.rows);
        out
    }
}

mod fixtures {

    use std::path::{Path, PathBuf};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dataset-json")
    }

    /// Reads `file`, compares with `expected` and checks that the whole file was read.
    fn check(file: &Path, expected: &[u8]) {
        let read = super::common::read_all(file).unwrap_or_else(|e| panic!("{e}"));
        let got = super::common::rendered(&read);
        if got != expected {
            let got = String::from_utf8_lossy(&got);
            let want = String::from_utf8_lossy(expected);
            for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
                assert_eq!(
                    g,
                    w,
                    "{}: line {} of the expected file differs",
                    file.display(),
                    i + 1
                );
            }
            panic!(
                "{}: {} lines read, {} expected",
                file.display(),
                got.lines().count(),
                want.lines().count()
            );
        }
        assert_eq!(
            read.row_count + 1,
            expected.split(|&b| b == b'\n').count() - 1
        );
        let size = std::fs::metadata(file).unwrap().len();
        assert_eq!(read.bytes_read, Some(size), "{}", file.display());
    }

    #[test]
    fn generated_tables_in_every_form() {
        for table in ["dm", "adlb"] {
            let expected = std::fs::read(
                fixtures()
                    .join("expected")
                    .join(format!("{table}.expected")),
            )
            .unwrap();
            for form in [".json", ".ndjson", ".dsjc", "_gzip.dsjc"] {
                check(
                    &fixtures().join("generated").join(format!("{table}{form}")),
                    &expected,
                );
            }
        }
    }

    /// The official CDISC examples, where a copy is in fixtures/dataset-json/cdisc with the expected rows that
    /// `make_dsjson.py --official` wrote beside each (they are not committed: see
    /// fixtures/README.md). Where Python found a value the rules refuse, the reader must refuse the
    /// file too.
    #[test]
    #[ignore = "needs copies of the official examples in fixtures/dataset-json/cdisc"]
    fn official_examples() {
        let root = fixtures().join("cdisc");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "expected") {
                    files.push(path.with_extension(""));
                }
            }
        }
        files.sort();
        assert!(!files.is_empty(), "no expected files in {}", root.display());
        let (mut matched, mut refused) = (0, 0);
        for file in &files {
            let expected = std::fs::read(file.with_file_name(format!(
                "{}.expected",
                file.file_name().unwrap().to_string_lossy()
            )))
            .unwrap();
            if expected.starts_with(b"ERROR") {
                let err = super::common::read_all(file).err();
                assert!(err.is_some(), "{} should be refused", file.display());
                println!("refused as expected: {}", err.unwrap());
                refused += 1;
            } else {
                check(file, &expected);
                matched += 1;
            }
        }
        println!("{matched} official files matched, {refused} refused");
    }
}

mod fuzz {

    use std::io::Write;
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/dataset-json/generated")
                .join(name),
        )
        .unwrap()
    }

    /// Writes `bytes` as a file of the form `ext` and reads it to its end: `Ok` or a clean error.
    fn read(bytes: &[u8], ext: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join(format!("t{ext}"));
        std::fs::write(&path, bytes).unwrap();
        match super::common::read_all(&path) {
            Ok(read) => {
                assert_eq!(
                    read.bytes_read,
                    Some(bytes.len() as u64),
                    "a read file was read to its end"
                );
                assert_eq!(
                    read.rows.iter().filter(|&&b| b == b'\n').count(),
                    read.row_count
                );
                Ok(())
            }
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains("internal error"), "{text}");
                Err(text)
            }
        }
    }

    fn zlib(text: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(text).unwrap();
        z.finish().unwrap()
    }

    /// One edit of a byte string.
    #[derive(Clone, Debug)]
    enum Edit {
        Flip(usize, u8),
        Insert(usize, u8),
        Delete(usize, usize),
        Truncate(usize),
    }

    /// Bytes that matter to JSON, and some that are not UTF-8.
    fn interesting() -> impl Strategy<Value = u8> {
        prop_oneof![
            prop::sample::select(b"[]{}\",:\\\n\r 0-.eE1tfnu".to_vec()),
            Just(0u8),
            Just(0x80u8),
            Just(0xffu8),
            any::<u8>(),
        ]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<usize>(), interesting()).prop_map(|(i, b)| Edit::Flip(i, b)),
            (any::<usize>(), interesting()).prop_map(|(i, b)| Edit::Insert(i, b)),
            (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
            any::<usize>().prop_map(Edit::Truncate),
        ]
    }

    fn apply(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for e in edits {
            let len = out.len().max(1);
            match *e {
                Edit::Flip(i, b) => {
                    if !out.is_empty() {
                        out[i % len] = b;
                    }
                }
                Edit::Insert(i, b) => out.insert(i % (out.len() + 1), b),
                Edit::Delete(i, n) => {
                    let at = i % len;
                    let end = (at + n).min(out.len());
                    out.drain(at.min(out.len())..end);
                }
                Edit::Truncate(i) => out.truncate(i % len),
            }
        }
        out
    }

    const FIXTURES: [&str; 4] = ["dm.json", "adlb.json", "dm.ndjson", "adlb.ndjson"];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            for ext in [".json", ".ndjson", ".dsjc"] {
                let _ = read(&bytes, ext);
            }
            let _ = read(&zlib(&bytes), ".dsjc");
        }

        #[test]
        fn arbitrary_bytes_after_valid_metadata(tail in prop::collection::vec(interesting(), 0..300)) {
            // The metadata of a fixture, then anything: reaches the row parser every time.
            let dm = fixture("dm.ndjson");
            let first_line = dm.iter().position(|&b| b == b'\n').unwrap() + 1;
            let text = [&dm[..first_line], &tail].concat();
            let _ = read(&text, ".ndjson");
            let _ = read(&zlib(&text), ".dsjc");
            let json = fixture("dm.json");
            let rows = json.windows(8).position(|w| w == b"\"rows\": ").unwrap() + 9;
            let _ = read(&[&json[..rows], &tail].concat(), ".json");
        }

        #[test]
        fn mutated_fixtures(which in 0..FIXTURES.len(), edits in prop::collection::vec(edit(), 1..6)) {
            let name = FIXTURES[which];
            let original = fixture(name);
            let ext = if name.ends_with(".ndjson") { ".ndjson" } else { ".json" };
            let mutated = apply(&original, &edits);
            let _ = read(&mutated, ext);
            if ext == ".ndjson" {
                let _ = read(&zlib(&mutated), ".dsjc");
            }
        }

        #[test]
        fn mutated_compressed_fixtures(gz in any::<bool>(), edits in prop::collection::vec(edit(), 1..4)) {
            let original = fixture(if gz { "adlb_gzip.dsjc" } else { "adlb.dsjc" });
            let _ = read(&apply(&original, &edits), ".dsjc");
        }
    }

    /// The unmutated fixtures read without error through the same helper.
    #[test]
    fn fixtures_read_cleanly() {
        for name in FIXTURES {
            let ext = if name.ends_with(".ndjson") {
                ".ndjson"
            } else {
                ".json"
            };
            read(&fixture(name), ext).unwrap();
        }
    }
}

mod streaming {

    use std::io::{BufWriter, Write};
    use std::time::Duration;

    use trialnotary::ingest::dataset_json::DatasetJsonSource;
    use trialnotary::ingest::{BATCH_ROWS, Batch, RowSource};

    const ROWS: usize = 1_500_000;

    /// Resident memory of this process in bytes (Linux), from /proc/self/status.
    fn rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }

    /// Writes the dataset row by row, so that writing it takes no memory either: rows on one
    /// line, or one a line.
    fn write_dataset(path: &std::path::Path, lines: bool) -> u64 {
        let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
        write!(
            w,
            r#"{{"datasetJSONCreationDateTime":"2025-01-01T00:00:00","datasetJSONVersion":"1.1.0","itemGroupOID":"IG.LB","records":{ROWS},"name":"LB","label":"Laboratory","columns":[{{"itemOID":"IT.USUBJID","name":"USUBJID","label":"Subject","dataType":"string"}},{{"itemOID":"IT.LBSEQ","name":"LBSEQ","label":"Sequence","dataType":"integer"}},{{"itemOID":"IT.LBDTC","name":"LBDTC","label":"Date","dataType":"datetime"}},{{"itemOID":"IT.LBSTRESN","name":"LBSTRESN","label":"Result","dataType":"double"}},{{"itemOID":"IT.LBSTRESC","name":"LBSTRESC","label":"Result (C)","dataType":"decimal"}},{{"itemOID":"IT.LBTEST","name":"LBTEST","label":"Test","dataType":"string"}}],"rows":["#
        )
        .unwrap();
        for i in 0..ROWS {
            let sep = match (i, lines) {
                (0, _) => "",
                (_, false) => ",",
                (_, true) => ",\n",
            };
            write!(
                w,
                r#"{sep}["STUDY-{:06}",{i},"2024-{:02}-{:02}T08:{:02}:00",{}.{},"{}.{:03}","Alanine Aminotransferase"]"#,
                i / 40,
                i % 12 + 1,
                i % 28 + 1,
                i % 60,
                i % 997,
                i % 89,
                i % 97,
                i % 1000
            )
            .unwrap();
        }
        w.write_all(b"]}").unwrap();
        w.flush().unwrap();
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn a_large_file_streams_in_bounded_memory() {
        for lines in [false, true] {
            streams_in_bounded_memory(lines);
        }
    }

    fn streams_in_bounded_memory(lines: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lb.json");
        let size = write_dataset(&path, lines);
        assert!(size > 120 << 20, "{size}");

        let before = rss();
        let file = std::fs::File::open(&path).unwrap();
        let mut source = DatasetJsonSource::new(&path, file, false, false).unwrap();
        let mut batch = Batch::default();
        assert!(source.next_batch(&mut batch).unwrap());
        // Batches fill up to BATCH_ROWS, less what one more block or chunk would pass.
        assert!(
            (BATCH_ROWS / 2..=BATCH_ROWS).contains(&batch.len()),
            "{}",
            batch.len()
        );
        // Give the reader thread time to run ahead as far as it will: it blocks with one batch in
        // the channel and the next one filled.
        std::thread::sleep(Duration::from_millis(1500));
        let ahead = source.bytes_read().unwrap();
        let per_batch = size / (ROWS as u64 / BATCH_ROWS as u64);
        assert!(
            ahead < 4 * per_batch + (2 << 20),
            "read {ahead} bytes of {size} with one batch taken ({per_batch} bytes of text a batch)"
        );

        let mut rows = batch.len();
        let mut peak = rss();
        while source.next_batch(&mut batch).unwrap() {
            rows += batch.len();
            peak = peak.max(rss());
        }
        assert_eq!(rows, ROWS);
        assert_eq!(source.bytes_read(), Some(size));
        let grew = peak.saturating_sub(before);
        println!(
            "file {} MB (rows one a line: {lines}), read ahead {} MB after the first batch, memory \
             grew by {} MB",
            size >> 20,
            ahead >> 20,
            grew >> 20
        );
        assert!(
            grew < 64 << 20,
            "memory grew by {grew} bytes reading a file of {size}"
        );
    }
}

mod float_exact {

    /// A small deterministic generator (xorshift), so the test needs no extra crate.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn serde_json_parses_numbers_exactly() {
        let mut literals: Vec<String> = [
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "4.9406564584124654e-324",
            "1.7976931348623157e308",
            "0.1",
            "0.30000000000000004",
            "9007199254740993",
            "123456789012345678901234567890",
            "7.0e-10",
            "1e23",
            "8.589973e9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            let digits = next(&mut state) % 100_000_000_000_000_000;
            let exp = (next(&mut state) % 80) as i32 - 40;
            literals.push(format!("{digits}e{exp}"));
            literals.push(format!("0.{digits:017}"));
        }
        let mut wrong = Vec::new();
        for lit in &literals {
            let exact: f64 = lit.parse().unwrap();
            let parsed: f64 = serde_json::from_str(lit).unwrap();
            if parsed.to_bits() != exact.to_bits() {
                wrong.push(format!("{lit}: {parsed:e} instead of {exact:e}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} inexact, e.g. {:?}",
            wrong.len(),
            literals.len(),
            &wrong[..wrong.len().min(5)]
        );
    }
}
