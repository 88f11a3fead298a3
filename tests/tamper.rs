//! Tampering: every change to a proof, a record or the chain is rejected with the right reason.

mod common;

use common::{Scratch, fixtures};
use serde_json::Value;

fn setup() -> (Scratch, Value) {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.prove_row("cdiscpilot01", "vs", 37, "p.json");
    let proof: Value =
        serde_json::from_slice(&std::fs::read(s.path().join("p.json")).unwrap()).unwrap();
    (s, proof)
}

/// Writes `proof`, verifies it, and asserts exit 1 with `reason` in the output.
fn rejected(s: &Scratch, proof: &Value, reason: &str) {
    std::fs::write(s.path().join("t.json"), serde_json::to_vec(proof).unwrap()).unwrap();
    let r = s.run(&["verify", "t.json", "--chain", "notary/chain.tnc"]);
    assert_eq!(
        r.code, 1,
        "expected rejection for {reason}: {}{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stdout.contains(reason),
        "expected {reason:?} in {:?}",
        r.stdout
    );
}

fn flip_hex(v: &mut Value) {
    let s = v.as_str().unwrap();
    let first = if s.starts_with('0') { "1" } else { "0" };
    *v = Value::String(format!("{first}{}", &s[1..]));
}

#[test]
fn changed_value_is_rejected_at_the_record_leaf() {
    let (s, mut p) = setup();
    p["record"]["values"][6] = Value::String("999".into());
    rejected(&s, &p, "step 1 (record in dataset): leaf hash mismatch");
}

#[test]
fn changed_salt_is_rejected() {
    let (s, mut p) = setup();
    flip_hex(&mut p["record"]["salt"]);
    rejected(&s, &p, "step 1 (record in dataset): leaf hash mismatch");
}

#[test]
fn null_and_empty_string_are_the_same_value() {
    // Documented: SDTM has no distinction, so rewriting one as the other is not tampering.
    let (s, mut p) = setup();
    let values = p["record"]["values"].as_array_mut().unwrap();
    let i = values.iter().position(Value::is_null);
    if let Some(i) = i {
        values[i] = Value::String(String::new());
        std::fs::write(s.path().join("t.json"), serde_json::to_vec(&p).unwrap()).unwrap();
        s.ok(&["verify", "t.json", "--chain", "notary/chain.tnc"]);
    }
}

#[test]
fn changed_audit_path_hash_is_rejected_per_step() {
    for (step, name) in [
        (0, "step 1 (record in dataset)"),
        (1, "step 2 (dataset in submission)"),
        (2, "step 3 (submission in block)"),
    ] {
        let (s, mut p) = setup();
        let path = p["steps"][step]["audit_path"].as_array_mut().unwrap();
        if path.is_empty() {
            continue;
        }
        flip_hex(&mut path[0]);
        rejected(
            &s,
            &p,
            &format!("{name}: audit path does not lead to the stated root"),
        );
    }
}

#[test]
fn trailing_audit_path_hash_is_rejected() {
    let (s, mut p) = setup();
    let extra = p["steps"][0]["root"].clone();
    p["steps"][0]["audit_path"]
        .as_array_mut()
        .unwrap()
        .push(extra);
    rejected(&s, &p, "audit path is longer than the index and size allow");
}

#[test]
fn wrong_index_and_size_are_rejected() {
    let (s, mut p) = setup();
    p["steps"][0]["leaf_index"] = Value::from(36);
    rejected(&s, &p, "leaf index 36 but the record is row 37");
    let (s, mut p) = setup();
    p["record"]["row"] = Value::from(36);
    p["steps"][0]["leaf_index"] = Value::from(36);
    rejected(&s, &p, "audit path does not lead to the stated root");
    let (s, mut p) = setup();
    p["steps"][0]["tree_size"] = Value::from(10_000);
    rejected(&s, &p, "tree size 10000 but the next level commits to");
    let (s, mut p) = setup();
    p["steps"][0]["leaf_index"] = Value::from(10_000_000u64);
    p["record"]["row"] = Value::from(10_000_000u64);
    rejected(&s, &p, "leaf index is not below the tree size");
}

#[test]
fn changed_dataset_or_submission_entry_is_rejected() {
    let (s, mut p) = setup();
    p["dataset"]["rows"] = Value::from(1);
    rejected(&s, &p, "step 1 (record in dataset): tree size");
    let (s, mut p) = setup();
    p["submission"]["records"] = Value::from(1);
    rejected(&s, &p, "step 3 (submission in block): leaf hash mismatch");
    let (s, mut p) = setup();
    flip_hex(&mut p["steps"][0]["root"]);
    rejected(&s, &p, "step 1 (record in dataset)");
}

#[test]
fn every_header_byte_flip_is_rejected() {
    let (s, p) = setup();
    let header = p["block"]["header"].as_str().unwrap().to_owned();
    for i in 0..header.len() / 2 {
        let mut bytes = hex::decode(&header).unwrap();
        bytes[i] ^= 0x01;
        let mut q = p.clone();
        q["block"]["header"] = Value::String(hex::encode(&bytes));
        std::fs::write(s.path().join("t.json"), serde_json::to_vec(&q).unwrap()).unwrap();
        let r = s.run(&["verify", "t.json", "--chain", "notary/chain.tnc"]);
        assert_eq!(r.code, 1, "header byte {i}: {}", r.stdout);
        assert!(
            r.stdout.contains("block header"),
            "header byte {i}: {}",
            r.stdout
        );
    }
}

#[test]
fn consistent_header_forgery_fails_proof_of_work() {
    // Rewrite the time in fields and bytes together and restate the hash: the nonce no longer
    // gives the claimed work. (Times whose hash happens to qualify are skipped: 1 in 64 at the
    // test difficulty.)
    let (s, mut p) = setup();
    let mut header: trialnotary::core::header::BlockHeader =
        serde_json::from_value(p["block"]["fields"].clone()).unwrap();
    loop {
        header.time += 1;
        if !header.meets_target() {
            break;
        }
    }
    p["block"]["fields"] = serde_json::to_value(header).unwrap();
    p["block"]["header"] = Value::String(hex::encode(header.to_bytes()));
    p["block"]["hash"] = Value::String(header.hash().to_hex());
    rejected(&s, &p, "proof of work: block hash has");
}

#[test]
fn every_byte_flip_of_a_proof_is_rejected_in_process() {
    use trialnotary::core::proof::Proof;
    use trialnotary::core::verify::{Policy, verify_proof};
    let (s, _) = setup();
    let good = std::fs::read(s.path().join("p.json")).unwrap();
    let original = Proof::from_json(&good).unwrap();
    verify_proof(&original, &Policy::default()).unwrap();
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x01;
        match Proof::from_json(&b) {
            Err(_) => {}
            // The version is not committed to: a record proof reads the same as version 2 or 3,
            // both of which are read. Any other change must be rejected.
            Ok(p)
                if p == Proof {
                    version: p.version,
                    ..original.clone()
                } =>
            {
                assert!([2, 3].contains(&p.version), "flip at byte {i}");
            }
            Ok(p) => assert!(
                verify_proof(&p, &Policy::default()).is_err(),
                "flip at byte {i} ({:?}) accepted a changed proof",
                b[i] as char
            ),
        }
    }
}

#[test]
fn unusable_proofs_exit_2() {
    let (s, p) = setup();
    let good = serde_json::to_vec_pretty(&p).unwrap();
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"garbage");
    s.write("trailing.json", &trailing);
    let r = s.run(&["verify", "trailing.json", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not valid JSON"), "{}", r.stderr);

    let mut v = p.clone();
    v["version"] = Value::from(1);
    s.write("v1.json", &serde_json::to_vec(&v).unwrap());
    let r = s.run(&["verify", "v1.json", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("proof version 1 is not supported"),
        "{}",
        r.stderr
    );

    let mut v = p.clone();
    v["extra"] = Value::from(1);
    s.write("extra.json", &serde_json::to_vec(&v).unwrap());
    let r = s.run(&["verify", "extra.json", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("malformed proof"), "{}", r.stderr);

    let r = s.run(&["verify", "missing.json", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.json"), "{}", r.stderr);
}

#[test]
fn every_byte_flip_of_a_proof_file_is_caught() {
    let (s, _) = setup();
    let good = std::fs::read(s.path().join("p.json")).unwrap();
    // Sampled positions through the binary; every_byte_flip_of_a_proof_is_rejected_in_process
    // covers every byte.
    let step = (good.len() / 200).max(1);
    for i in (0..good.len()).step_by(step) {
        let mut b = good.clone();
        b[i] ^= 0x01;
        s.write("f.json", &b);
        let r = s.run(&["verify", "f.json", "--chain", "notary/chain.tnc"]);
        assert_ne!(r.code, 0, "flip at byte {i} was accepted");
    }
}

#[test]
fn flipped_chain_byte_is_reported_with_its_height() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &["--id", "A"]);
    s.notarize(&[&fixtures().join("crossformat/csv")], &["--id", "B"]);
    let path = s.store().join("chain.tnc");
    let good = std::fs::read(&path).unwrap();
    let shown = s.ok(&["chain", "show", "--json"]).json();
    let second = shown["blocks"][1]["offset"].as_u64().unwrap() as usize;
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x40;
        std::fs::write(&path, &b).unwrap();
        let r = s.run(&["chain", "verify", "--json"]);
        assert_eq!(r.code, 1, "flip at {i}: {}{}", r.stdout, r.stderr);
        let v = r.json();
        let want = if i < second { 0 } else { 1 };
        assert_eq!(v["height"], want, "flip at {i}: {v}");
    }
    std::fs::write(&path, &good).unwrap();
    s.ok(&["chain", "verify"]);
}

#[test]
fn torn_tail_is_reported_and_blocks_the_next_run() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &["--id", "A"]);
    let path = s.store().join("chain.tnc");
    let good = std::fs::read(&path).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(&good[..50]);
    std::fs::write(&path, &torn).unwrap();
    let r = s.run(&["chain", "verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains(&format!("torn tail at byte offset {}", good.len())),
        "{}",
        r.stdout
    );
    // notarize refuses to append after a torn tail and changes nothing.
    let before = common::fingerprint(&s.store());
    let r = s.run(&[
        "notarize",
        "--difficulty",
        "4",
        fixtures().join("crossformat/csv").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("torn tail"), "{}", r.stderr);
    assert_eq!(common::fingerprint(&s.store()), before);
}

#[test]
fn proof_is_checked_against_the_chain_copy() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.prove_row("cdiscpilot01", "dm", 0, "p.json");
    // A different chain (another store) does not hold this block.
    let other = Scratch::new();
    other.notarize(&[&fixtures().join("crossformat/csv")], &[]);
    let chain = other.store().join("chain.tnc");
    let r = s.run(&["verify", "p.json", "--chain", chain.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("chain: the chain's block at height 0 is"),
        "{}",
        r.stdout
    );
}

/// Sampled byte flips over a longer chain (every byte is covered on the two-block chain above).
#[test]
fn sampled_flips_in_a_longer_chain_name_the_block() {
    let s = Scratch::new();
    for i in 0..12 {
        let id = format!("S{i:02}");
        let input = if i % 2 == 0 {
            "crossformat/csv"
        } else {
            "types/csv"
        };
        s.notarize(&[&fixtures().join(input)], &["--id", &id]);
    }
    let shown = s.ok(&["chain", "show", "--json"]).json();
    let offsets: Vec<u64> = shown["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets.len(), 12);
    let path = s.store().join("chain.tnc");
    let good = std::fs::read(&path).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..150 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = (x % good.len() as u64) as usize;
        let mut b = good.clone();
        b[at] ^= 1 << (x % 8);
        std::fs::write(&path, &b).unwrap();
        let r = s.run(&["chain", "verify", "--json"]);
        assert_eq!(r.code, 1, "flip at {at}");
        let want = offsets.iter().rposition(|&o| o <= at as u64).unwrap();
        assert_eq!(r.json()["height"], want as u64, "flip at {at}");
    }
    std::fs::write(&path, &good).unwrap();
    s.ok(&["chain", "verify"]);
}

/// The root RFC 9162 section 2.1.3.2 computes from a leaf and its audit path.
fn root_from_path(leaf: [u8; 32], index: u64, size: u64, path: &[Value]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let node = |l: &[u8], r: &[u8]| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    };
    let (mut f, mut sn, mut r) = (index, size - 1, leaf);
    for p in path {
        let p = hex::decode(p.as_str().unwrap()).unwrap();
        if f & 1 == 1 || f == sn {
            r = node(&p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                sn >>= 1;
            }
        } else {
            r = node(&r, &p);
        }
        f >>= 1;
        sn >>= 1;
    }
    r
}

/// A record proof whose value was edited, every hash recomputed and the block re-mined at
/// difficulty 12 is internally consistent: only something the verifier trusts can expose it.
/// Proof of work by the sponsor alone proves nothing, so it is not accepted by default.
#[test]
fn reforged_and_remined_proof_is_not_accepted_without_an_anchor() {
    use trialnotary::core::header::BlockHeader;
    use trialnotary::core::record::{DatasetEntry, Record, SubmissionEntry};
    let (s, mut p) = setup();
    p["record"]["values"][6] = Value::String("999".into());
    let record: Record = Record {
        salt: serde_json::from_value(p["record"]["salt"].clone()).unwrap(),
        values: serde_json::from_value(p["record"]["values"].clone()).unwrap(),
    };
    let mut leaf = *record.leaf_hash().as_bytes();
    for (i, step) in [0usize, 1, 2].into_iter().enumerate() {
        let st = &p["steps"][step];
        let root = root_from_path(
            leaf,
            st["leaf_index"].as_u64().unwrap(),
            st["tree_size"].as_u64().unwrap(),
            st["audit_path"].as_array().unwrap(),
        );
        p["steps"][step]["leaf_hash"] = Value::String(hex::encode(leaf));
        p["steps"][step]["root"] = Value::String(hex::encode(root));
        let root_hex = Value::String(hex::encode(root));
        leaf = match i {
            0 => {
                p["dataset"]["root"] = root_hex;
                let d: DatasetEntry = serde_json::from_value(p["dataset"].clone()).unwrap();
                *d.leaf_hash().unwrap().as_bytes()
            }
            1 => {
                p["submission"]["root"] = root_hex;
                let e: SubmissionEntry = serde_json::from_value(p["submission"].clone()).unwrap();
                *e.leaf_hash().unwrap().as_bytes()
            }
            _ => root,
        };
    }
    let mut header: BlockHeader = serde_json::from_value(p["block"]["fields"].clone()).unwrap();
    header.anchor_root = trialnotary::core::hash::NodeHash::from_bytes(leaf);
    header.difficulty = 12;
    header.nonce = 0;
    while !header.meets_target() {
        header.nonce += 1;
    }
    p["block"]["fields"] = serde_json::to_value(header).unwrap();
    p["block"]["header"] = Value::String(hex::encode(header.to_bytes()));
    p["block"]["hash"] = Value::String(header.hash().to_hex());
    s.write("forged.json", &serde_json::to_vec(&p).unwrap());

    for extra in [&[][..], &["--min-difficulty", "12"]] {
        let r = s.run(&[&["verify", "forged.json"][..], extra].concat());
        assert_eq!(r.code, 2, "{extra:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("nothing you trust anchors"),
            "{}",
            r.stderr
        );
    }
    let r = s.run(&["verify", "forged.json", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("chain: the chain's block at height 0 is"),
        "{}",
        r.stdout
    );
    let r = s.run(&["verify", "forged.json", "--tip", &header.hash().to_hex()]);
    assert_eq!(r.code, 0, "a tip the verifier trusts is what it trusts");
    // Asked for explicitly, the internal check passes and says what it did not check.
    let r = s.ok(&["verify", "forged.json", "--self-contained"]);
    assert!(
        r.stdout.starts_with("VALID (self-contained only)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("anyone could have made it"),
        "{}",
        r.stderr
    );
}

/// Blocks below the verifier's minimum difficulty add no work it accepts: they are not
/// confirmations.
#[test]
fn confirmations_count_only_blocks_of_the_required_difficulty() {
    let (s, _) = setup();
    for (i, bits) in ["1", "1", "1", "8", "2"].iter().enumerate() {
        s.ok(&[
            "notarize",
            "--difficulty",
            bits,
            "--id",
            &format!("C{i}"),
            fixtures().join("crossformat/csv").to_str().unwrap(),
        ]);
    }
    let confirmations = |min: &str| {
        s.ok(&[
            "verify",
            "p.json",
            "--chain",
            "notary/chain.tnc",
            "--min-difficulty",
            min,
            "--json",
        ])
        .json()["confirmations"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(confirmations("0"), 5);
    assert_eq!(confirmations("2"), 2);
    assert_eq!(confirmations("6"), 1);
}
