//! The proof vectors in tests/vectors: good proofs verify (alone and against their chain); each
//! broken-on-purpose vector (see manifest.json, written by make_vectors.py) is rejected with its
//! exit code and the reason its manifest names.

mod common;

use std::path::Path;

fn dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"))
}

#[test]
fn good_vectors_verify() {
    let s = common::Scratch::new();
    for f in ["good-record.json", "good-dataset.json"] {
        let p = dir().join(f);
        let chain = dir().join("chain.tnc");
        let r = s.run(&[
            "verify",
            p.to_str().unwrap(),
            "--chain",
            chain.to_str().unwrap(),
            "--min-difficulty",
            "12",
        ]);
        assert_eq!(r.code, 0, "{f}: {}{}", r.stdout, r.stderr);
    }
    for f in ["good-record.json", "good-dataset.json"] {
        let p = dir().join(f);
        let chain = dir().join("chain.tnc");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary-verify"))
            .args([
                p.to_str().unwrap(),
                "--chain",
                chain.to_str().unwrap(),
                "--min-difficulty",
                "12",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["confirmations"], 0);
    }
    let data = common::fixtures().join("cdiscpilot01/dm.csv");
    let p = dir().join("good-dataset.json");
    s.ok(&[
        "verify",
        p.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
}

#[test]
fn broken_vectors_are_rejected_with_their_reason() {
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 30);
    let s = common::Scratch::new();
    for v in &manifest {
        let file = dir().join(v["file"].as_str().unwrap());
        let mut args = vec!["verify".to_owned(), file.display().to_string()];
        args.extend(
            v["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned()),
        );
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = s.run(&refs);
        let what = format!("{} ({})", v["file"], v["description"]);
        // The regulator's stand-alone verifier gives the same verdict and reason.
        let mini = std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary-verify"))
            .args(&args[1..])
            .output()
            .unwrap();
        assert_eq!(
            mini.status.code(),
            Some(r.code),
            "{what}: trialnotary-verify disagrees"
        );
        let mini_out = String::from_utf8_lossy(&mini.stdout).into_owned()
            + &String::from_utf8_lossy(&mini.stderr);
        assert!(
            mini_out.contains(v["reason"].as_str().unwrap()),
            "{what}: trialnotary-verify said {mini_out:?}"
        );
        assert_eq!(
            i64::from(r.code),
            v["exit"].as_i64().unwrap(),
            "{what}: {}{}",
            r.stdout,
            r.stderr
        );
        let reason = v["reason"].as_str().unwrap();
        assert!(
            r.stdout.contains(reason) || r.stderr.contains(reason),
            "{what}: expected {reason:?} in {:?} / {:?}",
            r.stdout,
            r.stderr
        );
    }
}
