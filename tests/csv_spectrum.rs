//! The csv-spectrum corpus (vendored in tests/data/csv-spectrum with its license): every file
//! reads to the rows its JSON twin lists, with empty strings as missing values (our documented
//! canonical form).

use std::path::Path;

use trialnotary::ingest::{self, Batch, Format};

#[test]
fn csv_spectrum_files_read_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/csv-spectrum");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir.join("csvs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if name == "location_coordinates" {
            // Its JSON twin is a single object whose phone number is not the CSV's; the CSV holds
            // U+FFFD characters and a bare quote inside an unquoted field, kept literally.
            let mut source = ingest::open(&path, Format::Csv).unwrap();
            let mut batch = Batch::default();
            assert!(source.next_batch(&mut batch).unwrap());
            let row: Vec<Option<String>> = serde_json::from_slice(batch.row(0)).unwrap();
            let want: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(
                &std::fs::read(dir.join("json/location_coordinates.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(row[0].as_deref(), Some("2095257564"));
            for (c, value) in source.columns().iter().zip(&row).skip(1) {
                assert_eq!(value.as_deref(), want[c].as_str(), "{name}: column {c}");
            }
            assert!(!source.next_batch(&mut batch).unwrap());
            checked += 1;
            continue;
        }
        let expected: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(
            &std::fs::read(dir.join("json").join(format!("{name}.json"))).unwrap(),
        )
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
        let mut source = ingest::open(&path, Format::Csv).unwrap_or_else(|e| panic!("{name}: {e}"));
        let columns = source.columns().to_vec();
        let mut rows: Vec<Vec<Option<String>>> = Vec::new();
        let mut batch = Batch::default();
        while source
            .next_batch(&mut batch)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
        {
            for i in 0..batch.len() {
                rows.push(serde_json::from_slice(batch.row(i)).unwrap());
            }
        }
        assert_eq!(rows.len(), expected.len(), "{name}: row count");
        for (row, want) in rows.iter().zip(&expected) {
            let want_columns: Vec<&String> = want.keys().collect();
            let mut sorted_columns: Vec<&String> = columns.iter().collect();
            sorted_columns.sort();
            let mut want_sorted = want_columns.clone();
            want_sorted.sort();
            assert_eq!(sorted_columns, want_sorted, "{name}: columns");
            for (c, value) in columns.iter().zip(row) {
                let w = want[c].as_str().unwrap();
                let w = if w.is_empty() { None } else { Some(w) };
                assert_eq!(value.as_deref(), w, "{name}: column {c}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 12, "every file of the corpus was checked");
}
