//! Hostile input, property-based: arbitrary and mutated bytes through the proof parser and
//! verifier, the chain reader and the dataset readers. Nothing may panic; a mutated proof that
//! still parses to something different must be rejected. Bounded by PROPTEST_CASES (CI runs the
//! default); raise it for a longer fuzzing session.

mod common;

use std::path::Path;

use proptest::prelude::*;
use trialnotary::core::proof::Proof;
use trialnotary::core::verify::{Policy, verify_proof};
use trialnotary::ingest::{self, Batch, Format};
use trialnotary::store::chain::{parse_chain, validate};

/// A good proof and chain from the sample, made once per test process.
fn good() -> &'static (Vec<u8>, Vec<u8>) {
    static GOOD: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    GOOD.get_or_init(|| {
        let s = common::Scratch::new();
        s.notarize(&[&common::fixtures().join("cdiscpilot01")], &[]);
        s.notarize(&[&common::fixtures().join("crossformat/csv")], &[]);
        s.prove_row("cdiscpilot01", "ae", 3, "p.json");
        (
            std::fs::read(s.path().join("p.json")).unwrap(),
            std::fs::read(s.store().join("chain.tnc")).unwrap(),
        )
    })
}

/// Byte-level mutations: flips, overwrites, insertions, deletions and truncation.
fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = base.to_vec();
    for &(pos, kind, byte) in edits {
        if b.is_empty() {
            break;
        }
        let at = pos % b.len();
        match kind % 5 {
            0 => b[at] ^= 1 << (byte % 8),
            1 => b[at] = byte,
            2 => b.insert(at, byte),
            3 => {
                b.remove(at);
            }
            _ => b.truncate(at),
        }
    }
    b
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)
}

proptest! {
    #[test]
    fn arbitrary_bytes_as_proof(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(p) = Proof::from_json(&bytes) {
            let _ = verify_proof(&p, &Policy::default());
        }
    }

    #[test]
    fn mutated_proofs_are_rejected_or_unchanged(e in edits()) {
        let (proof, _) = good();
        let original = Proof::from_json(proof).unwrap();
        let bytes = mutate(proof, &e);
        if let Ok(p) = Proof::from_json(&bytes) {
            let verdict = verify_proof(&p, &Policy::default());
            if p != original {
                prop_assert!(verdict.is_err(), "a changed proof verified");
            }
        }
    }

    #[test]
    fn arbitrary_and_mutated_chains(bytes in proptest::collection::vec(any::<u8>(), 0..1024), e in edits()) {
        let p = Path::new("chain.tnc");
        if let Ok(blocks) = parse_chain(p, &bytes) {
            let _ = validate(p, &blocks);
        }
        let (_, chain) = good();
        let mutated = mutate(chain, &e);
        let result = parse_chain(p, &mutated).and_then(|b| validate(p, &b).map(|()| b));
        if mutated != *chain {
            // Only a truncation at an entry boundary leaves a valid (shorter) chain.
            if let Ok(blocks) = result {
                prop_assert!(chain.starts_with(&mutated), "a changed chain verified");
                prop_assert!(blocks.len() < 2);
            }
        }
    }
}

/// Reads every row of `path`, checking that a reader of this project's own (CSV, XPT,
/// Dataset-JSON) failed by an error of its own, not by a panic that the decoder guard caught
/// (that guard is for third-party Parquet and Arrow decoders).
fn read_checked(path: &Path, format: Format) {
    if let Err(e) = read_all(path, format) {
        let own = !matches!(format, Format::Parquet | Format::Arrow);
        let e = e.to_string();
        assert!(
            !(own && (e.contains("decoder failed") || e.contains("panicked"))),
            "{format}: {e}"
        );
    }
}

fn read_all(path: &Path, format: Format) -> Result<usize, ingest::IngestError> {
    let mut source = ingest::open(path, format)?;
    let mut batch = Batch::default();
    let mut rows = 0;
    while source.next_batch(&mut batch)? {
        rows += batch.len();
    }
    Ok(rows)
}

proptest! {
    // Decoding files is slower than the other properties: 64 cases unless PROPTEST_CASES says.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
    ))]

    /// Mutated dataset files of every format read to rows or to an error, never a panic.
    #[test]
    fn mutated_dataset_files(e in edits(), which in 0usize..9) {
        let (fixture, format, ext) = [
            ("cdiscpilot01/lb.parquet", Format::Parquet, "parquet"),
            ("cdiscpilot01/vs.parquet", Format::Parquet, "parquet"),
            ("crossformat/feather-lz4/lb.feather", Format::Arrow, "feather"),
            ("crossformat/feather-zstd/lb.arrow", Format::Arrow, "arrow"),
            ("cdiscpilot01/ae.csv", Format::Csv, "csv"),
            ("crossformat/xpt/lb.xpt", Format::Xpt, "xpt"),
            ("crossformat/dataset-json/lb.json", Format::DatasetJson, "json"),
            ("dataset-json/generated/adlb.ndjson", Format::DatasetNdjson, "ndjson"),
            ("dataset-json/generated/dm_gzip.dsjc", Format::DatasetJsonCompressed, "dsjc"),
        ][which];
        let base = std::fs::read(common::fixtures().join(fixture)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("x.{ext}"));
        std::fs::write(&path, mutate(&base, &e)).unwrap();
        read_checked(&path, format);
    }

    #[test]
    fn arbitrary_bytes_as_dataset_files(bytes in proptest::collection::vec(any::<u8>(), 0..4096), which in 0usize..6) {
        let (format, ext) = [
            (Format::Csv, "csv"),
            (Format::Parquet, "parquet"),
            (Format::Arrow, "arrow"),
            (Format::Xpt, "xpt"),
            (Format::DatasetNdjson, "ndjson"),
            (Format::DatasetJsonCompressed, "dsjc"),
        ][which];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("x.{ext}"));
        std::fs::write(&path, &bytes).unwrap();
        read_checked(&path, format);
    }
}

#[test]
fn enormous_field_is_read_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let field = "x".repeat(40 << 20);
    std::fs::write(&path, format!("A,B\n1,{field}\n2,y\n")).unwrap();
    assert_eq!(read_all(&path, Format::Csv).unwrap(), 2);
}

#[test]
fn unterminated_quote_is_bounded() {
    // A quote that never closes swallows the rest of the file into one field: read as such at
    // the end of a small file, refused past the record limit in a large one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.csv");
    std::fs::write(&path, "A,B\n1,\"open\n2,3\n").unwrap();
    let _ = read_all(&path, Format::Csv);
}

#[test]
fn too_many_columns_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    let header: Vec<String> = (0..ingest::MAX_COLUMNS + 1)
        .map(|i| format!("C{i}"))
        .collect();
    std::fs::write(&path, format!("{}\n", header.join(","))).unwrap();
    let e = read_all(&path, Format::Csv).unwrap_err();
    assert!(e.to_string().contains("columns, more than the"), "{e}");
    // A wide but allowed file reads.
    let header: Vec<String> = (0..20_000).map(|i| format!("C{i}")).collect();
    let row: Vec<&str> = (0..20_000).map(|_| "v").collect();
    std::fs::write(&path, format!("{}\n{}\n", header.join(","), row.join(","))).unwrap();
    assert_eq!(read_all(&path, Format::Csv).unwrap(), 1);
}

#[test]
fn nested_parquet_is_refused_by_name() {
    let e = read_all(
        &common::fixtures().join("hostile/nested.parquet"),
        Format::Parquet,
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not supported"), "{e}");
    assert!(e.to_string().contains("column DEEP"), "{e}");
}

#[test]
fn zero_row_parquet_and_arrow_are_empty_datasets() {
    assert_eq!(
        read_all(
            &common::fixtures().join("hostile/empty.parquet"),
            Format::Parquet
        )
        .unwrap(),
        0
    );
    assert_eq!(
        read_all(
            &common::fixtures().join("hostile/empty.arrow"),
            Format::Arrow
        )
        .unwrap(),
        0
    );
}
