//! CSV and Parquet ingest (read + canonical encoding, no hashing) over a generated study written
//! from a fixed seed into target/bench-fixtures.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trialnotary::generate::{GenerateOptions, generate};
use trialnotary::ingest::{self, Batch, Format};

fn fixture(format: Format) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-fixtures")
        .join(format.to_string());
    let lb = dir.join(format!(
        "lb.{}",
        if format == Format::Csv {
            "csv"
        } else {
            "parquet"
        }
    ));
    if !lb.exists() {
        generate(
            &GenerateOptions {
                out: dir,
                subjects: 1000,
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

fn read_all(path: &std::path::Path, format: Format) -> usize {
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
    for format in [Format::Csv, Format::Parquet] {
        let path = fixture(format);
        let rows = read_all(&path, format);
        let bytes = std::fs::metadata(&path).unwrap().len();
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(format!("{format} lb ({rows} rows, bytes of file)"), |b| {
            b.iter(|| read_all(&path, format))
        });
        g.throughput(Throughput::Elements(rows as u64));
        g.bench_function(format!("{format} lb (records)"), |b| {
            b.iter(|| read_all(&path, format))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
