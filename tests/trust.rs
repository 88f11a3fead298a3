//! Trust beyond proof of work: sponsor-signed checkpoints, witness cosignatures, a regulator's
//! trust store, and consistency proofs that catch a rewritten (re-mined) chain.

mod common;

use common::{Scratch, fixtures};

const ORIGIN: &str = "sponsor.example/TNSTUDY01";

/// A store with a sponsor key; returns the sponsor's public key.
fn sponsor(s: &Scratch) -> String {
    let r = s.ok(&["key", "generate", "--name", ORIGIN]);
    r.stdout.trim().to_owned()
}

fn witness(s: &Scratch, name: &str) -> String {
    let file = format!("{name}.key");
    s.ok(&["key", "generate", "--witness", "--name", name, "-o", &file])
        .stdout
        .trim()
        .to_owned()
}

#[test]
fn keys_are_private_and_shareable() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let vkey = sponsor(&s);
    assert!(vkey.starts_with(&format!("{ORIGIN}+")), "{vkey}");
    let mode = std::fs::metadata(s.store().join("signing.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = s.ok(&["key", "public", "--key", "notary/signing.key"]);
    assert_eq!(again.stdout.trim(), vkey);
    // Never overwritten.
    assert_eq!(s.run(&["key", "generate", "--name", ORIGIN]).code, 2);
}

#[test]
fn signed_checkpoint_travels_with_the_proof_and_the_trust_store_decides() {
    let s = Scratch::new();
    let vkey = sponsor(&s);
    let report = s.notarize(&[&fixtures().join("tnstudy01")], &[]);
    let cp_path = report["checkpoint"].as_str().unwrap().to_owned();
    let cp = std::fs::read_to_string(s.path().join(&cp_path)).unwrap();
    assert!(cp.starts_with(&format!("{ORIGIN}\n1\n")), "{cp}");
    assert!(
        cp.contains("\n\n\u{2014} sponsor.example/TNSTUDY01 "),
        "{cp}"
    );
    assert_eq!(s.ok(&["checkpoint"]).stdout, cp);

    s.prove_row("tnstudy01", "lb", 3, "p.json");
    let proof: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path().join("p.json")).unwrap()).unwrap();
    assert_eq!(proof["checkpoint"].as_str().unwrap(), cp);

    s.write(
        "trust.txt",
        format!("# regulator's trust store\nlog {vkey}\n").as_bytes(),
    );
    let v = s
        .ok(&["verify", "p.json", "--trust", "trust.txt", "--json"])
        .json();
    assert_eq!(v["checkpoint"]["verified"], true);
    assert_eq!(v["checkpoint"]["signer"], ORIGIN);
    assert_eq!(v["anchored_by"], serde_json::json!(["trust"]));
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);

    // The regulator's stand-alone verifier agrees.
    let mini = |trust: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary-verify"))
            .args(["p.json", "--trust", trust])
            .current_dir(s.path())
            .output()
            .unwrap()
    };
    assert!(mini("trust.txt").status.success());

    // Without a trust store nothing is said of the signer: its signature was not checked.
    let v = s
        .ok(&["verify", "p.json", "--chain", "notary/chain.tnc", "--json"])
        .json();
    assert_eq!(
        v["checkpoint"],
        serde_json::json!({"verified": false}),
        "{v}"
    );
    let r = s.ok(&["verify", "p.json", "--chain", "notary/chain.tnc"]);
    assert!(!r.stdout.contains(ORIGIN), "{}", r.stdout);
    assert!(r.stdout.contains("unverified"), "{}", r.stdout);

    // A key not in the trust store is rejected.
    let other = Scratch::new();
    let other_key = sponsor(&other);
    s.write("other-trust.txt", format!("log {other_key}\n").as_bytes());
    let r = s.run(&["verify", "p.json", "--trust", "other-trust.txt"]);
    assert_eq!(r.code, 1);
    assert_eq!(mini("other-trust.txt").status.code(), Some(1));
    assert!(
        r.stdout.contains("not signed by a key in the trust store"),
        "{}",
        r.stdout
    );

    // A tampered checkpoint (another tip claimed under the same signature) is rejected.
    let mut tampered = proof.clone();
    tampered["checkpoint"] = serde_json::Value::String(cp.replacen("\n1\n", "\n2\n", 1));
    s.write("t.json", &serde_json::to_vec(&tampered).unwrap());
    let r = s.run(&["verify", "t.json", "--trust", "trust.txt"]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    // A proof without a checkpoint, under a trust store, is rejected with the reason.
    let mut bare = proof.clone();
    bare.as_object_mut().unwrap().remove("checkpoint");
    s.write("bare.json", &serde_json::to_vec(&bare).unwrap());
    let r = s.run(&["verify", "bare.json", "--trust", "trust.txt"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("carries no signed checkpoint"),
        "{}",
        r.stdout
    );
    // Unsigned proofs still verify against a chain copy, or self-contained with a warning.
    s.ok(&["verify", "bare.json", "--chain", "notary/chain.tnc"]);
    let r = s.ok(&["verify", "bare.json", "--self-contained"]);
    assert!(
        r.stdout.contains("VALID (self-contained only)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("self-contained check only"),
        "{}",
        r.stderr
    );

    // The trust store's minimum difficulty applies.
    s.write(
        "strict.txt",
        format!("log {vkey}\nmin-difficulty 30\n").as_bytes(),
    );
    let r = s.run(&["verify", "p.json", "--trust", "strict.txt"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("below the required minimum 30"),
        "{}",
        r.stdout
    );
}

#[test]
fn witnesses_cosign_after_checking_consistency() {
    let s = Scratch::new();
    let vkey = sponsor(&s);
    let wkey = witness(&s, "witness.example");
    s.notarize(&[&fixtures().join("tnstudy01")], &[]);
    s.ok(&["checkpoint", "-o", "cp1.note"]);
    // First cosignature: no state yet.
    s.ok(&[
        "witness",
        "cosign",
        "--key",
        "witness.example.key",
        "--checkpoint",
        "cp1.note",
        "--log-key",
        &vkey,
        "--state",
        "witness-state.note",
        "-o",
        "cp1.cosigned",
    ]);
    // A second block; the witness needs a consistency proof from what it cosigned.
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.ok(&["checkpoint", "-o", "cp2.note"]);
    let r = s.run(&[
        "witness",
        "cosign",
        "--key",
        "witness.example.key",
        "--checkpoint",
        "cp2.note",
        "--log-key",
        &vkey,
        "--state",
        "witness-state.note",
    ]);
    assert_eq!(r.code, 2, "a consistency proof is required: {}", r.stderr);
    s.ok(&[
        "chain",
        "consistency",
        "--from",
        "cp1.note",
        "--to",
        "cp2.note",
        "-o",
        "c12.json",
    ]);
    s.ok(&[
        "witness",
        "cosign",
        "--key",
        "witness.example.key",
        "--checkpoint",
        "cp2.note",
        "--log-key",
        &vkey,
        "--state",
        "witness-state.note",
        "--consistency",
        "c12.json",
        "-o",
        "cp2.cosigned",
    ]);

    // A regulator requiring one witness accepts the cosigned checkpoint, not the bare one.
    s.write(
        "trust.txt",
        format!("log {vkey}\nwitness {wkey}\nwitnesses 1\n").as_bytes(),
    );
    s.prove_row("cdiscpilot01", "dm", 1, "p.json");
    let r = s.run(&["verify", "p.json", "--trust", "trust.txt"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("0 valid cosignatures from trusted witnesses, 1 required"),
        "{}",
        r.stdout
    );
    let v = s
        .ok(&[
            "verify",
            "p.json",
            "--trust",
            "trust.txt",
            "--checkpoint",
            "cp2.cosigned",
            "--json",
        ])
        .json();
    assert_eq!(v["checkpoint"]["witnesses"][0], "witness.example");
    // A later checkpoint covers an earlier block given the chain that links them.
    s.prove_row("tnstudy01", "dm", 0, "old.json");
    let r = s.run(&[
        "verify",
        "old.json",
        "--trust",
        "trust.txt",
        "--checkpoint",
        "cp2.cosigned",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("give a chain copy (--chain) to connect them"),
        "{}",
        r.stdout
    );
    s.ok(&[
        "verify",
        "old.json",
        "--trust",
        "trust.txt",
        "--checkpoint",
        "cp2.cosigned",
        "--chain",
        "notary/chain.tnc",
    ]);

    // Consistency verifies offline; under this trust store only between cosigned checkpoints.
    s.ok(&["verify-consistency", "c12.json"]);
    let r = s.run(&["verify-consistency", "c12.json", "--trust", "trust.txt"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("earlier checkpoint: checkpoint has 0 valid cosignatures"),
        "{}",
        r.stdout
    );
    s.ok(&[
        "chain",
        "consistency",
        "--from",
        "cp1.cosigned",
        "--to",
        "cp2.cosigned",
        "-o",
        "c12w.json",
    ]);
    s.ok(&["verify-consistency", "c12w.json", "--trust", "trust.txt"]);
}

#[test]
fn a_rewritten_chain_is_caught_by_an_older_checkpoint() {
    let s = Scratch::new();
    let vkey = sponsor(&s);
    s.notarize(&[&fixtures().join("tnstudy01")], &[]);
    s.notarize(&[&fixtures().join("crossformat/csv")], &[]);
    s.ok(&["checkpoint", "-o", "kept-by-regulator.note"]);

    // The sponsor rewrites history: drops both blocks and re-mines from height 0 with other data,
    // keeping the same signing key (the worst case: the key holder is the rewriter).
    std::fs::remove_file(s.store().join("chain.tnc")).unwrap();
    std::fs::remove_dir_all(s.store().join("checkpoints")).unwrap();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.notarize(&[&fixtures().join("crossformat/parquet-zstd")], &[]);
    s.notarize(&[&fixtures().join("types/csv")], &[]);
    s.ok(&["checkpoint", "-o", "now.note"]);

    // The sponsor's tool refuses to write a consistency proof from the kept checkpoint.
    let r = s.run(&[
        "chain",
        "consistency",
        "--from",
        "kept-by-regulator.note",
        "--to",
        "now.note",
        "-o",
        "c.json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("the chain was rewritten after the --from checkpoint"),
        "{}",
        r.stderr
    );
    assert!(!s.path().join("c.json").exists());
    // One made by hand from the rewritten chain's headers is rejected by the verifier.
    let shown = s.ok(&["chain", "show", "--json"]).json();
    let headers: Vec<String> = shown["blocks"].as_array().unwrap()[2..]
        .iter()
        .map(|b| {
            let mut fields = b.clone();
            let fields = fields.as_object_mut().unwrap();
            for k in ["hash", "offset", "submissions", "utc"] {
                fields.remove(k);
            }
            fields.insert("version".into(), 1.into());
            let h: trialnotary::core::header::BlockHeader =
                serde_json::from_value(serde_json::Value::Object(fields.clone())).unwrap();
            hex::encode(h.to_bytes())
        })
        .collect();
    let forged = serde_json::json!({
        "format": "trialnotary-consistency", "version": 1,
        "from": std::fs::read_to_string(s.path().join("kept-by-regulator.note")).unwrap(),
        "to": std::fs::read_to_string(s.path().join("now.note")).unwrap(),
        "headers": headers,
    });
    s.write("c.json", forged.to_string().as_bytes());
    s.write("trust.txt", format!("log {vkey}\n").as_bytes());
    let r = s.run(&["verify-consistency", "c.json", "--trust", "trust.txt"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("block at height 2: does not extend"),
        "{}",
        r.stdout
    );
    // A proof from the rewritten chain, checked against the kept checkpoint and the new chain,
    // is rejected for what happened: the chain was rewritten after the checkpoint.
    s.prove_row("csv", "types", 0, "new.json");
    let r = s.run(&[
        "verify",
        "new.json",
        "--trust",
        "trust.txt",
        "--checkpoint",
        "kept-by-regulator.note",
        "--chain",
        "notary/chain.tnc",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("the chain was rewritten after the checkpoint"),
        "{}",
        r.stdout
    );

    // Consistent growth verifies; a checkpoint from another key does not.
    s.notarize(&[&fixtures().join("types/parquet")], &[]);
    s.ok(&["checkpoint", "-o", "later.note"]);
    s.ok(&[
        "chain",
        "consistency",
        "--from",
        "now.note",
        "-o",
        "ok.json",
    ]);
    let v = s
        .ok(&[
            "verify-consistency",
            "ok.json",
            "--trust",
            "trust.txt",
            "--json",
        ])
        .json();
    assert_eq!((v["from"].as_u64(), v["to"].as_u64()), (Some(3), Some(4)));
    let other = Scratch::new();
    s.write("other.txt", format!("log {}\n", sponsor(&other)).as_bytes());
    assert_eq!(
        s.run(&["verify-consistency", "ok.json", "--trust", "other.txt"])
            .code,
        1
    );
}
