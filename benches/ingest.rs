//! Ingest (read + canonical encoding, no hashing) of the same rows in every format a submission
//! carries: CSV, Parquet, SAS XPT and Dataset-JSON (`.json` and `.ndjson`), over a generated LB
//! domain written from a fixed seed into target/bench-fixtures. Each format is measured in rows
//! per second (records) and in bytes of its file per second.
//!
//!     cargo bench --bench ingest

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trialnotary::generate::{GenerateOptions, generate};
use trialnotary::ingest::{self, Batch, Format};

/// Subjects of the generated study: about 235,000 LB rows of 26 columns.
const SUBJECTS: u64 = 1000;

/// The generated LB domain in `format`, written once.
fn fixture(format: Format) -> PathBuf {
    if format == Format::DatasetNdjson {
        return ndjson(&fixture(Format::DatasetJson));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-fixtures")
        .join(format.to_string());
    let ext = match format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
        Format::Xpt => "xpt",
        Format::DatasetJson => "json",
        other => panic!("no fixture for {other}"),
    };
    let lb = dir.join(format!("lb.{ext}"));
    if !lb.exists() {
        generate(
            &GenerateOptions {
                out: dir,
                subjects: SUBJECTS,
                seed: 1,
                format,
                domains: vec!["lb".into()],
            },
            &|_| {},
        )
        .unwrap();
    }
    lb
}

/// The NDJSON form of a generated `.json` file (which the generator writes with one row a line,
/// between the metadata and the closing `]}`): the metadata on line 1, then one row a line.
fn ndjson(json: &Path) -> PathBuf {
    let out = json.with_extension("ndjson");
    if out.exists() {
        return out;
    }
    let mut lines = BufReader::new(std::fs::File::open(json).unwrap()).lines();
    let tmp = out.with_extension("ndjson.tmp");
    let mut w = BufWriter::new(std::fs::File::create(&tmp).unwrap());
    let head = lines.next().unwrap().unwrap();
    let meta = head
        .strip_suffix(",\"rows\":[")
        .expect("metadata, then rows");
    writeln!(w, "{meta}}}").unwrap();
    for line in lines {
        let line = line.unwrap();
        if line == "]}" {
            break;
        }
        writeln!(w, "{}", line.strip_suffix(',').unwrap_or(&line)).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(&tmp, &out).unwrap();
    out
}

fn read_all(path: &Path, format: Format) -> usize {
    let mut source = ingest::open(path, format).unwrap();
    let mut batch = Batch::default();
    let mut rows = 0;
    while source.next_batch(&mut batch).unwrap() {
        rows += batch.len();
    }
    rows
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    let formats = [
        Format::Csv,
        Format::Parquet,
        Format::Xpt,
        Format::DatasetJson,
        Format::DatasetNdjson,
    ];
    let fixtures: Vec<(Format, PathBuf, usize)> = formats
        .into_iter()
        .map(|format| {
            let path = fixture(format);
            let rows = read_all(&path, format);
            (format, path, rows)
        })
        .collect();
    // The same rows in every format, or the comparison means nothing.
    assert!(
        fixtures.iter().all(|f| f.2 == fixtures[0].2),
        "row counts differ"
    );
    for (format, path, rows) in &fixtures {
        let (format, rows) = (*format, *rows);
        g.throughput(Throughput::Elements(rows as u64));
        g.bench_function(format!("{format} lb (records)"), |b| {
            b.iter(|| read_all(path, format))
        });
        let bytes = std::fs::metadata(path).unwrap().len();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(format!("{format} lb ({rows} rows, bytes of file)"), |b| {
            b.iter(|| read_all(path, format))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
