//! Tree building: the level-by-level tree (parallel) and root (one core), the streaming root,
//! and rs_merkle.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use trialnotary::core::hash::{NodeHash, leaf_hash};
use trialnotary::hashing::tree::Rfc9162;
use trialnotary::hashing::tree::{RootBuilder, Tree, root_of};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tree");
    g.sample_size(10);
    for n in [100_000usize, 1_000_000] {
        let leaves: Vec<NodeHash> = (0..n as u64)
            .map(|i| leaf_hash(&i.to_be_bytes()).into_node())
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new("Tree::new (level by level, all cores)", n),
            &leaves,
            |b, l| b.iter(|| Tree::new(l.clone()).root()),
        );
        g.bench_with_input(
            BenchmarkId::new("root_of (level by level, one core)", n),
            &leaves,
            |b, l| b.iter(|| root_of(l)),
        );
        g.bench_with_input(
            BenchmarkId::new("RootBuilder (streaming, one leaf at a time, one core)", n),
            &leaves,
            |b, l| {
                b.iter(|| {
                    let mut builder = RootBuilder::new();
                    l.iter().for_each(|leaf| builder.push(*leaf));
                    builder.root()
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("rs_merkle MerkleTree::from_leaves", n),
            &leaves,
            |b, l| b.iter(|| rs_merkle::MerkleTree::<Rfc9162>::from_leaves(l).root()),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
