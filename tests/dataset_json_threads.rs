//! Dataset-JSON rows are parsed on all cores, a chunk's rows in ranges side by side: notarized
//! by the real binary with 1, 2 and 16 threads, a generated LB domain of more rows than one
//! chunk gives the CSV copy's root in every form (`.json`, `.ndjson`, `.dsjc`), and a damaged
//! copy fails with the same message, naming its first bad row, whatever the threads.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::Scratch;
use trialnotary::generate::{GenerateOptions, generate};
use trialnotary::ingest::Format;

/// The thread counts every run is repeated with.
const THREADS: [usize; 3] = [1, 2, 16];

/// Notarizes `dir` with every thread count, each run a submission of its own, and checks that
/// all end alike; returns the end.
fn same_with_any_threads(s: &Scratch, dir: &Path, name: &str) -> Result<(u64, String), String> {
    let runs: Vec<_> = THREADS
        .iter()
        .map(|&t| s.notarize_threads(dir, &format!("{name}-{t}"), t))
        .collect();
    for (run, threads) in runs.iter().zip(THREADS) {
        assert_eq!(run, &runs[0], "{name}: {threads} threads");
    }
    runs.into_iter().next().unwrap()
}

/// The LB domain of the generator, as `format`, in `dir`.
fn lb(dir: &Path, format: Format) -> PathBuf {
    generate(
        &GenerateOptions {
            out: dir.to_owned(),
            subjects: 600,
            seed: 7,
            format,
            domains: vec!["lb".into()],
        },
        &|_| {},
    )
    .unwrap();
    let ext = if format == Format::Csv { "csv" } else { "json" };
    dir.join(format!("lb.{ext}"))
}

/// The `.json` text (one row a line between the metadata and `]}`, as the generator writes it)
/// as NDJSON: the metadata on line 1, then one row a line.
fn to_ndjson(json: &str) -> String {
    let mut lines = json.lines();
    let head = lines.next().unwrap();
    let meta = head
        .strip_suffix(",\"rows\":[")
        .expect("metadata, then rows");
    let mut out = format!("{meta}}}\n");
    for line in lines.take_while(|l| *l != "]}") {
        out.push_str(line.strip_suffix(',').unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Writes `json` as `dir/{json,ndjson,dsjc}/lb.*`; returns the three directories.
fn every_form(dir: &Path, name: &str, json: &str) -> Vec<PathBuf> {
    let ndjson = to_ndjson(json);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(ndjson.as_bytes()).unwrap();
    let forms = [
        ("json", json.as_bytes().to_vec()),
        ("ndjson", ndjson.into_bytes()),
        ("dsjc", gz.finish().unwrap()),
    ];
    forms
        .into_iter()
        .map(|(ext, bytes)| {
            let sub = dir.join(format!("{name}-{ext}"));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("lb.{ext}")), bytes).unwrap();
            sub
        })
        .collect()
}

#[test]
fn dataset_json_gives_one_root_and_one_first_error_with_any_threads() {
    let s = Scratch::new();
    let csv_dir = s.path().join("csv");
    lb(&csv_dir, Format::Csv);
    let json = std::fs::read_to_string(lb(&s.path().join("gen"), Format::DatasetJson)).unwrap();
    let rows = json.lines().count() - 2;
    assert!(rows > 2 * 65_536, "{rows} rows: several chunks");

    let (records, root) = same_with_any_threads(&s, &csv_dir, "csv").unwrap();
    assert_eq!(records, rows as u64);
    for dir in every_form(s.path(), "good", &json) {
        let got = same_with_any_threads(&s, &dir, &dir.file_name().unwrap().to_string_lossy());
        assert_eq!(got, Ok((records, root.clone())), "{}", dir.display());
    }

    // Two bad rows, chunks apart, and one more in the first one's chunk: the first is named.
    let mut lines: Vec<String> = json.lines().map(str::to_owned).collect();
    let (first, second, third) = (70_001, 70_900, 2 * 65_536 + 5);
    for (row, bad) in [(third, "{}"), (second, "[1]"), (first, "true")] {
        // Line 1 is the metadata; a row's first value is a string (STUDYID).
        let line = &mut lines[row + 1];
        let quote = line[2..].find('"').unwrap() + 3;
        line.replace_range(1..quote, bad);
    }
    let damaged = lines.join("\n");
    for dir in every_form(s.path(), "bad", &damaged) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let e = same_with_any_threads(&s, &dir, &name).unwrap_err();
        let at = if name.ends_with("json") && !name.ends_with("ndjson") {
            format!("row {first}, column STUDYID")
        } else {
            format!("line {} (row {first}), column STUDYID", first + 2)
        };
        assert!(
            e.contains(&format!(
                "{at}: dataType string needs a JSON string, found the boolean true"
            )),
            "{name}: {e}"
        );
    }
}
