//! Mining: double-SHA-256 header hashes per second on one core and on all cores, against the raw
//! double SHA-256 of an 80-byte header (the baseline the README's figures compare with).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use trialnotary::core::hash::{BlockHash, empty_root};
use trialnotary::core::header::{BlockHeader, HEADER_VERSION};
use trialnotary::notarize::mine::hash_range;

const N: u64 = 1 << 20;

fn bench(c: &mut Criterion) {
    // Difficulty 255 is never met, so every nonce is hashed.
    let template = BlockHeader {
        version: HEADER_VERSION,
        height: 1,
        prev: BlockHash::default(),
        anchor_root: empty_root(),
        time: 1_790_000_000,
        difficulty: 255,
        nonce: 0,
    };
    let mut g = c.benchmark_group("mining");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("baseline: sha256d of an 80-byte header (one core)", |b| {
        let mut header = [7u8; 80];
        b.iter(|| {
            for n in 0..N {
                header[72..80].copy_from_slice(&n.to_be_bytes());
                std::hint::black_box(Sha256::digest(Sha256::digest(header)));
            }
        })
    });
    g.bench_function("hash_range (one core, midstate)", |b| {
        b.iter(|| hash_range(&template, 0, N))
    });
    let threads = rayon::current_num_threads() as u64;
    g.bench_function(format!("hash_range on {threads} cores"), |b| {
        b.iter(|| {
            (0..threads)
                .into_par_iter()
                .map(|t| hash_range(&template, t * (N / threads), N / threads))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
