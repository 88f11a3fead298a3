//! The proof vectors in tests/vectors: good proofs verify against their chain; each
//! broken-on-purpose vector (see manifest.json, written by make_vectors.py: proofs, chain copies,
//! tips, missing anchors) gives its exit code and names its reason, and `trialnotary verify` and
//! `trialnotary-verify` say exactly the same, in sentences and in JSON.

mod common;

use std::path::Path;
use std::process::Command;

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"))
}

/// Runs one verifier in the vectors directory; (exit code, stdout, stderr).
fn verify(bin: &str, args: &[String]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const FULL: &str = env!("CARGO_BIN_EXE_trialnotary");
const MINI: &str = env!("CARGO_BIN_EXE_trialnotary-verify");

#[test]
fn good_vectors_verify() {
    for f in ["good-record.json", "good-dataset.json"] {
        let args: Vec<String> = [
            f,
            "--chain",
            "chain.tnc",
            "--min-difficulty",
            "12",
            "--json",
        ]
        .map(String::from)
        .to_vec();
        let mut full_args = vec!["verify".to_owned()];
        full_args.extend(args.clone());
        let (code, full, err) = verify(FULL, &full_args);
        assert_eq!(code, 0, "{f}: {full}{err}");
        let (code, mini, err) = verify(MINI, &args);
        assert_eq!(code, 0, "{f}: {mini}{err}");
        assert_eq!(full, mini, "{f}: the verifiers disagree");
        let v: serde_json::Value = serde_json::from_str(&mini).unwrap();
        assert_eq!(v["confirmations"], 0);
        assert_eq!(v["anchored_by"], serde_json::json!(["chain"]));
    }
    let data = common::fixtures().join("cdiscpilot01/dm.csv");
    let (code, out, err) = verify(
        FULL,
        &[
            "verify",
            "good-dataset.json",
            "--chain",
            "chain.tnc",
            "--data",
            data.to_str().unwrap(),
        ]
        .map(String::from),
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn broken_vectors_are_rejected_with_their_reason_by_both_verifiers() {
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 50);
    for v in &manifest {
        let what = format!("{} {} ({})", v["file"], v["args"], v["description"]);
        let mut args = vec![v["file"].as_str().unwrap().to_owned()];
        args.extend(
            v["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned()),
        );
        let mut full_args = vec!["verify".to_owned()];
        full_args.extend(args.clone());
        let full = verify(FULL, &full_args);
        let mini = verify(MINI, &args);
        let exit = v["exit"].as_i64().unwrap() as i32;
        assert_eq!(full.0, exit, "{what}: {}{}", full.1, full.2);
        assert_eq!(
            mini.0, exit,
            "{what}: trialnotary-verify: {}{}",
            mini.1, mini.2
        );
        let reason = v["reason"].as_str().unwrap();
        assert!(
            full.1.contains(reason) || full.2.contains(reason),
            "{what}: expected {reason:?} in {:?} / {:?}",
            full.1,
            full.2
        );
        assert_eq!(
            (&full.1, &full.2),
            (&mini.1, &mini.2),
            "{what}: the verifiers say different things"
        );
        // The same in JSON, where the reason has a stable code.
        full_args.push("--json".into());
        args.push("--json".into());
        let full = verify(FULL, &full_args);
        let mini = verify(MINI, &args);
        assert_eq!((full.0, mini.0), (exit, exit), "{what} --json");
        assert_eq!(full.1, mini.1, "{what}: the verifiers' JSON differs");
        // One object per proof (and a summary after an NDJSON file's).
        let verdicts: Vec<serde_json::Value> = full
            .1
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", full.1))
            })
            .filter(|v: &serde_json::Value| v.get("summary").is_none())
            .collect();
        assert!(!verdicts.is_empty(), "{what}: {}", full.1);
        if exit == 0 {
            assert!(
                verdicts.iter().all(|v| v["valid"] == true),
                "{what}: {}",
                full.1
            );
        } else {
            let rejected: Vec<_> = verdicts.iter().filter(|v| v["valid"] == false).collect();
            assert!(!rejected.is_empty(), "{what}: {}", full.1);
            if let Some(code) = v.get("code") {
                assert!(
                    rejected.iter().any(|r| &r["code"] == code),
                    "{what}: {}",
                    full.1
                );
            }
        }
    }
}

/// `chain verify` on a store holding each broken-on-purpose chain names the rule it breaks.
#[test]
fn chain_verify_names_the_rule_each_chain_vector_breaks() {
    let s = common::Scratch::new();
    for rule in [
        "time-backwards",
        "time-too-late",
        "time-in-future",
        "zero-difficulty",
        "no-submission",
        "unsorted-submissions",
        "insufficient-work",
    ] {
        let store = s.path().join(rule);
        std::fs::create_dir(&store).unwrap();
        std::fs::copy(
            dir().join(format!("chains/{rule}.tnc")),
            store.join("chain.tnc"),
        )
        .unwrap();
        let r = s.run(&[
            "chain",
            "verify",
            "--json",
            "--store",
            store.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 1, "{rule}: {}{}", r.stdout, r.stderr);
        let v = r.json();
        assert_eq!(v["code"], rule, "{v}");
        assert_eq!(v["height"], 1, "{v}");
    }
}
