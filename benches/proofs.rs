//! Proof generation (audit paths from a built tree) and full proof verification.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trialnotary::core::hash::{BlockHash, NodeHash};
use trialnotary::core::header::{BlockHeader, HEADER_VERSION};
use trialnotary::core::proof::{
    BlockInfo, PROOF_FORMAT, PROOF_VERSION, Proof, ProofKind, RecordClaim, Step, TreeKind,
};
use trialnotary::core::record::{DatasetEntry, Record, Salt, SubmissionEntry};
use trialnotary::core::verify::{Policy, verify_proof};
use trialnotary::hashing::tree::Tree;

const ROWS: u64 = 1 << 20;

fn record(i: u64) -> Record {
    Record {
        salt: Salt::from_bytes([i as u8; 16]),
        values: vec![
            Some("TNSTUDY01".into()),
            Some("LB".into()),
            Some(i.to_string()),
            None,
        ],
    }
}

fn step(tree: TreeKind, t: &Tree, i: u64) -> Step {
    Step {
        tree,
        leaf_hash: t.leaves()[i as usize],
        leaf_index: i,
        tree_size: t.len(),
        audit_path: t.audit_path(i).unwrap(),
        root: t.root(),
    }
}

fn bench(c: &mut Criterion) {
    let leaves: Vec<NodeHash> = (0..ROWS)
        .map(|i| record(i).leaf_hash().into_node())
        .collect();
    let tree = Tree::new(leaves);
    let columns: Vec<String> = ["STUDYID", "DOMAIN", "N", "X"].map(String::from).to_vec();
    let dataset = DatasetEntry {
        name: "lb".into(),
        columns: columns.clone(),
        rows: ROWS,
        root: tree.root(),
    };
    let sub_tree = Tree::new(vec![dataset.leaf_hash().unwrap().into_node()]);
    let submission = SubmissionEntry {
        id: "S".into(),
        root: sub_tree.root(),
        records: ROWS,
        datasets: 1,
        documents: 0,
    };
    let anchor = Tree::new(vec![submission.leaf_hash().unwrap().into_node()]);
    // A block needs some work: the verifier refuses difficulty 0.
    let mut header = BlockHeader {
        version: HEADER_VERSION,
        height: 0,
        prev: BlockHash::default(),
        anchor_root: anchor.root(),
        time: 1,
        difficulty: 1,
        nonce: 0,
    };
    while !header.meets_target() {
        header.nonce += 1;
    }
    let proofs: Vec<Proof> = (0..1000u64)
        .map(|k| {
            let i = k * (ROWS / 1000);
            let r = record(i);
            Proof {
                format: PROOF_FORMAT.into(),
                version: PROOF_VERSION,
                kind: ProofKind::Record,
                record: Some(RecordClaim {
                    dataset: "lb".into(),
                    row: i,
                    columns: columns.clone(),
                    values: r.values,
                    salt: r.salt,
                }),
                dataset: Some(dataset.clone()),
                document: None,
                salts: None,
                leaves: None,
                submission: submission.clone(),
                steps: vec![
                    step(TreeKind::Dataset, &tree, i),
                    step(TreeKind::Submission, &sub_tree, 0),
                    step(TreeKind::Block, &anchor, 0),
                ],
                block: BlockInfo {
                    height: 0,
                    hash: header.hash(),
                    header: hex::encode(header.to_bytes()),
                    fields: header,
                },
                checkpoint: None,
            }
        })
        .collect();
    let mut g = c.benchmark_group("proofs");
    g.throughput(Throughput::Elements(proofs.len() as u64));
    g.bench_function("audit paths in a 2^20-leaf tree", |b| {
        b.iter(|| {
            (0..1000u64)
                .map(|k| tree.audit_path(k * (ROWS / 1000)).unwrap().len())
                .sum::<usize>()
        })
    });
    // The benches measure verifying valid proofs, not rejecting broken ones.
    assert!(
        proofs
            .iter()
            .all(|p| verify_proof(p, &Policy::default()).is_ok())
    );
    g.bench_function("verify_proof (record proofs, one core)", |b| {
        b.iter(|| {
            proofs
                .iter()
                .filter(|p| verify_proof(p, &Policy::default()).is_ok())
                .count()
        })
    });
    let json: Vec<Vec<u8>> = proofs.iter().map(|p| p.to_json_line()).collect();
    g.bench_function("parse + verify_proof (one core)", |b| {
        b.iter(|| {
            json.iter()
                .filter(|j| verify_proof(&Proof::from_json(j).unwrap(), &Policy::default()).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
