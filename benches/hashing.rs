//! Canonical encoding, salting and leaf hashing of records, against raw SHA-256 of the same bytes;
//! and the whole-file digest that decides a nightly rerun's reuse (BLAKE3) against SHA-256.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use trialnotary::core::hash::NodeHash;
use trialnotary::core::record::write_values;
use trialnotary::hashing::lanes::LANES;
use trialnotary::hashing::salt::{Salter, Secret};
use trialnotary::hashing::tree::root_of;

/// LB-like rows (18 columns, about 128 bytes of CSV each), fixed for every run.
fn rows(n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| {
            let v = format!("{}.{}", 10 + i % 90, i % 10);
            vec![
                "TNSTUDY01".into(),
                "LB".into(),
                format!("TNSTUDY01-1{:02}-{:05}", i % 40, i / 235),
                (i % 235 + 1).to_string(),
                "ALT".into(),
                "Alanine Aminotransferase".into(),
                "CHEMISTRY".into(),
                v.clone(),
                "U/L".into(),
                "7".into(),
                "56".into(),
                v.clone(),
                v,
                "U/L".into(),
                "NORMAL".into(),
                (i % 10 + 1).to_string(),
                "WEEK 4".into(),
                "2024-03-01T08:30".into(),
            ]
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = rows(10_000);
    let csv_bytes: usize = rows
        .iter()
        .map(|r| r.iter().map(|f| f.len() + 1).sum::<usize>())
        .sum();
    let secret = Secret::from_hex(&"42".repeat(32)).unwrap();
    let salter = Salter::new(&secret, "lb");
    let mut g = c.benchmark_group("records");
    // Throughput in CSV bytes, so the figure compares with reading a file of these rows.
    g.throughput(Throughput::Bytes(csv_bytes as u64));
    g.bench_function("encode+salt+leaf (one core)", |b| {
        let mut values = Vec::new();
        b.iter(|| {
            for (i, r) in rows.iter().enumerate() {
                values.clear();
                write_values(&mut values, r.iter().map(|s| Some(s.as_str())));
                std::hint::black_box(salter.salted_leaf(i as u64, &values));
            }
        })
    });
    g.bench_function(
        "encode, then salt+leaf LANES (8) rows side by side (one core)",
        |b| {
            let mut values: Vec<Vec<u8>> = vec![Vec::new(); rows.len()];
            b.iter(|| {
                for (v, r) in values.iter_mut().zip(&rows) {
                    v.clear();
                    write_values(v, r.iter().map(|s| Some(s.as_str())));
                }
                for (k, group) in values.chunks_exact(LANES).enumerate() {
                    let index: [u64; LANES] = std::array::from_fn(|l| (k * LANES + l) as u64);
                    let json = std::array::from_fn(|l| &group[l][..]);
                    std::hint::black_box(salter.salted_leaves(index, json));
                }
            })
        },
    );
    // The hashing every row costs whatever the input format: values digest, salt, leaf and its
    // share of the tree's nodes; no encoding. Two cores at this rate bound notarize's throughput.
    g.bench_function(
        "hashing alone: salt+leaf side by side, then the tree (one core)",
        |b| {
            let values: Vec<Vec<u8>> = rows
                .iter()
                .map(|r| {
                    let mut v = Vec::new();
                    write_values(&mut v, r.iter().map(|s| Some(s.as_str())));
                    v
                })
                .collect();
            b.iter(|| {
                let leaves: Vec<NodeHash> = values
                    .chunks_exact(LANES)
                    .enumerate()
                    .flat_map(|(k, group)| {
                        let index: [u64; LANES] = std::array::from_fn(|l| (k * LANES + l) as u64);
                        let json = std::array::from_fn(|l| &group[l][..]);
                        salter
                            .salted_leaves(index, json)
                            .map(|(_, leaf)| leaf.into_node())
                    })
                    .collect();
                std::hint::black_box(root_of(&leaves))
            })
        },
    );
    let flat: Vec<u8> = rows.iter().flat_map(|r| r.join(",").into_bytes()).collect();
    g.bench_function("baseline: sha256 of the CSV bytes (one core)", |b| {
        b.iter(|| std::hint::black_box(Sha256::digest(&flat)))
    });
    g.finish();
}

/// A file's digest for reuse: BLAKE3 as `ingest` runs it (8 MiB reads, each split over the
/// cores), on one core, and SHA-256 of the same bytes.
fn file_digest(c: &mut Criterion) {
    let data: Vec<u8> = (0..64u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut g = c.benchmark_group("file digest");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("blake3, 8 MiB reads on all cores", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new();
            for chunk in data.chunks(8 << 20) {
                h.update_rayon(chunk);
            }
            std::hint::black_box(h.finalize())
        })
    });
    g.bench_function("blake3, one core", |b| {
        b.iter(|| std::hint::black_box(blake3::hash(&data)))
    });
    g.bench_function("sha256, one core", |b| {
        b.iter(|| std::hint::black_box(Sha256::digest(&data)))
    });
    g.finish();
}

criterion_group!(benches, bench, file_digest);
criterion_main!(benches);
