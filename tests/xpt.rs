//! The SAS XPT reader: every fixture of fixtures/xpt (written by pyreadstat and the `xport`
//! Python package, see make_xpt.py) read by `XptSource` and compared with the rows computed
//! independently in Python, or refused with the expected error; arbitrary and mutated bytes
//! never panic.

mod fixtures {

    use std::fs;
    use std::path::{Path, PathBuf};

    use trialnotary::core::record::write_values;
    use trialnotary::ingest::xpt::XptSource;
    use trialnotary::ingest::{Batch, IngestError, RowSource};

    fn fixtures() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xpt");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("fixtures directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xpt"))
            .collect();
        files.sort();
        files
    }

    /// Columns and rows (each a canonical `values` array) of a whole file.
    fn read_all(path: &Path) -> Result<(Vec<String>, Vec<String>), IngestError> {
        let file = fs::File::open(path).expect("open fixture");
        let mut source = XptSource::new(path, file)?;
        let columns = source.columns().to_vec();
        let mut rows = Vec::new();
        let mut batch = Batch::default();
        while source.next_batch(&mut batch)? {
            for i in 0..batch.len() {
                rows.push(String::from_utf8(batch.row(i).to_vec()).expect("rows are UTF-8"));
            }
        }
        assert!(
            !source.next_batch(&mut batch)?,
            "{}: rows after the end",
            path.display()
        );
        let size = fs::metadata(path).expect("stat").len();
        assert_eq!(
            source.bytes_read(),
            Some(size),
            "{}: bytes read",
            path.display()
        );
        Ok((columns, rows))
    }

    #[test]
    fn every_fixture_reads_as_computed_in_python() {
        let files = fixtures();
        assert!(
            files.len() >= 15,
            "fixtures missing: run fixtures/xpt/make_xpt.py"
        );
        for path in files {
            let json = fs::read_to_string(path.with_extension("json")).expect("expected rows");
            let expected: serde_json::Value = serde_json::from_str(&json).expect("JSON");
            let result = read_all(&path);
            if let Some(errors) = expected.get("error") {
                let message = result
                    .expect_err(&format!("{}: should fail", path.display()))
                    .to_string();
                for want in errors.as_array().expect("list") {
                    let want = want.as_str().expect("string");
                    assert!(
                        message.contains(want),
                        "{}: {message:?} lacks {want:?}",
                        path.display()
                    );
                }
                continue;
            }
            let (columns, rows) = result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let want_columns: Vec<String> =
                serde_json::from_value(expected["columns"].clone()).unwrap();
            assert_eq!(columns, want_columns, "{}: columns", path.display());
            let want_rows: Vec<Vec<Option<String>>> =
                serde_json::from_value(expected["rows"].clone()).unwrap();
            assert_eq!(rows.len(), want_rows.len(), "{}: row count", path.display());
            for (i, (got, want)) in rows.iter().zip(&want_rows).enumerate() {
                let mut line = Vec::new();
                write_values(&mut line, want.iter().map(Option::as_deref));
                assert_eq!(got.as_bytes(), line, "{}: row {i}", path.display());
            }
        }
    }

    #[test]
    fn v5_and_xport_and_v8_copies_of_dm_agree() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xpt");
        let (c1, r1) = read_all(&dir.join("dm_v5_pyreadstat.xpt")).unwrap();
        let (c2, r2) = read_all(&dir.join("dm_v5_xport.xpt")).unwrap();
        assert_eq!((c1, r1), (c2, r2));
        let (_, a5) = read_all(&dir.join("adam_v5_pyreadstat.xpt")).unwrap();
        let (_, a8) = read_all(&dir.join("adam_v8_pyreadstat.xpt")).unwrap();
        assert_eq!(a5, a8);
    }
}

mod fuzz {

    use std::io::{Seek, Write};
    use std::path::Path;

    use proptest::prelude::*;
    use trialnotary::ingest::xpt::XptSource;
    use trialnotary::ingest::{Batch, RowSource};

    const FIXTURES: [&str; 8] = [
        "dm_v5_pyreadstat.xpt",
        "dm_v5_xport.xpt",
        "dm_v8_pyreadstat.xpt",
        "adam_v8_pyreadstat.xpt",
        "lengths_v5_xport.xpt",
        "labelv9_v8_pyreadstat.xpt",
        "blank_mid_v5_pyreadstat.xpt",
        "multi_v5_xport.xpt",
    ];

    fn read(bytes: &[u8]) {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(bytes).expect("write");
        file.rewind().expect("rewind");
        let Ok(mut source) = XptSource::new(Path::new("f.xpt"), file) else {
            return;
        };
        let mut batch = Batch::default();
        while let Ok(true) = source.next_batch(&mut batch) {}
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn mutated_fixtures_never_panic(
            which in 0..FIXTURES.len(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..5), 1..8),
        ) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xpt").join(FIXTURES[which]);
            let mut f = std::fs::read(path).expect("fixture");
            for (at, byte, op) in edits {
                if f.is_empty() {
                    break;
                }
                let i = at % f.len();
                match op {
                    0 | 1 => f[i] = byte,
                    2 => f.insert(i, byte),
                    3 => {
                        f.remove(i);
                    }
                    _ => f.truncate(i),
                }
            }
            read(&f);
        }
    }
}
