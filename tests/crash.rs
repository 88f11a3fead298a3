//! Crash safety: runs killed at every commit point, and by SIGKILL at random moments, leave a
//! store that opens, a chain that is either the previous good chain or has a torn tail at a named
//! offset, and `chain repair` brings back every block that was reported as appended.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Scratch, fixtures};

/// Runs notarize over two submissions with a crash armed at `point`.
fn crash_run(s: &Scratch, point: &str, input: &std::path::Path) -> std::process::ExitStatus {
    let second = fixtures().join("tnstudy01");
    Command::new(env!("CARGO_BIN_EXE_trialnotary"))
        .args([
            "notarize",
            "--difficulty",
            "4",
            "--no-progress",
            input.to_str().unwrap(),
            second.to_str().unwrap(),
        ])
        .env(trialnotary::crashpoint::VAR, point)
        .current_dir(s.path())
        .output()
        .unwrap()
        .status
}

#[test]
fn crash_at_every_commit_point_loses_nothing() {
    for point in [
        "ingested",
        "secret-saved",
        "mid-archive",
        "archived",
        "mid-append",
        "appended",
    ] {
        let s = Scratch::new();
        s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
        let good = std::fs::read(s.store().join("chain.tnc")).unwrap();
        let status = crash_run(&s, point, &fixtures().join("crossformat/csv"));
        assert!(
            status.code().is_none(),
            "{point}: the run should have been killed, not {status}"
        );

        let chain = std::fs::read(s.store().join("chain.tnc")).unwrap();
        assert!(
            chain.starts_with(&good),
            "{point}: an appended block was changed"
        );
        let verify = s.run(&["chain", "verify", "--json"]);
        match point {
            "mid-append" => {
                assert_eq!(verify.code, 1, "{point}: {}", verify.stdout);
                let v = verify.json();
                assert_eq!(v["offset"], good.len() as u64, "{point}: {v}");
                assert!(v["reason"].as_str().unwrap().contains("torn tail"), "{v}");
                // notarize refuses to build on a torn tail; repair is explicit.
                let r = s.run(&[
                    "notarize",
                    "--difficulty",
                    "4",
                    "--id",
                    "again",
                    fixtures().join("crossformat/csv").to_str().unwrap(),
                ]);
                assert_eq!(r.code, 2);
                let repaired = s.ok(&["chain", "repair", "--json"]).json();
                assert_eq!(repaired["repaired"], true);
                assert_eq!(repaired["offset"], good.len() as u64);
                let backup = std::path::PathBuf::from(repaired["backup"].as_str().unwrap());
                let backup = if backup.is_absolute() {
                    backup
                } else {
                    s.path().join(backup)
                };
                assert_eq!(
                    std::fs::read(&backup).unwrap(),
                    chain,
                    "the backup keeps the torn file"
                );
                assert_eq!(std::fs::read(s.store().join("chain.tnc")).unwrap(), good);
            }
            "appended" => {
                assert_eq!(verify.code, 0);
                assert_eq!(
                    verify.json()["blocks"],
                    2,
                    "{point}: the fsync'd block is kept"
                );
            }
            _ => {
                assert_eq!(verify.code, 0, "{point}: {}", verify.stdout);
                assert_eq!(verify.json()["blocks"], 1, "{point}");
            }
        }
        // The first submission still proves, and the next run works and cleans up after the crash.
        s.prove_row("cdiscpilot01", "dm", 0, "p.json");
        s.ok(&["verify", "p.json", "--chain", "notary/chain.tnc"]);
        let again = s.notarize(&[&fixtures().join("crossformat/csv")], &[]);
        assert_eq!(again["submissions"][0]["records"], 200);
        s.ok(&["chain", "verify"]);
        s.prove_row("csv", "lb", 5, "q.json");
        s.ok(&["verify", "q.json", "--chain", "notary/chain.tnc"]);
        let leftovers: Vec<_> = std::fs::read_dir(s.store())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{point}: leftovers {leftovers:?}");
    }
}

/// SIGKILL at random moments of runs over a generated study: whatever the moment, the chain is
/// the previous one, the previous one plus the new block, or the previous one plus a torn tail
/// that `chain repair` removes.
#[test]
fn sigkill_at_random_moments() {
    let s = Scratch::new();
    s.ok(&["generate", "-o", "study", "--subjects", "150"]);
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    // Deterministic pseudo-random delays from 0 to about 400 ms.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let before = std::fs::read(s.store().join("chain.tnc")).unwrap();
        let before_blocks = s.ok(&["chain", "verify", "--json"]).json()["blocks"]
            .as_u64()
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_trialnotary"))
            .args([
                "notarize",
                "--difficulty",
                "10",
                "--no-progress",
                "--id",
                &format!("r{round}"),
                "study",
            ])
            .current_dir(s.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(x % 400));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let after = std::fs::read(s.store().join("chain.tnc")).unwrap();
        assert!(
            after.starts_with(&before),
            "round {round}: appended blocks changed"
        );
        let v = s.run(&["chain", "verify", "--json"]);
        if v.code == 1 {
            assert!(
                v.json()["reason"].as_str().unwrap().contains("torn"),
                "round {round}: {}",
                v.stdout
            );
            s.ok(&["chain", "repair"]);
        }
        let blocks = s.ok(&["chain", "verify", "--json"]).json()["blocks"]
            .as_u64()
            .unwrap();
        assert!(
            blocks == before_blocks || blocks == before_blocks + 1,
            "round {round}"
        );
    }
    // Every block that made it is provable.
    s.prove_row("cdiscpilot01", "lb", 3, "p.json");
    s.ok(&["verify", "p.json", "--chain", "notary/chain.tnc"]);
}

/// Several runs at once on one store: none interleaves, the chain grows by one block per run.
#[test]
fn parallel_runs_never_fork_the_chain() {
    let s = Scratch::new();
    let csv = fixtures().join("crossformat/csv");
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_trialnotary"))
                .args([
                    "notarize",
                    "--difficulty",
                    "8",
                    "--no-progress",
                    "--json",
                    "--id",
                    &format!("p{i}"),
                    csv.to_str().unwrap(),
                ])
                .current_dir(s.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut heights = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        heights.push(v["block"]["height"].as_u64().unwrap());
    }
    heights.sort_unstable();
    assert_eq!(heights, vec![0, 1, 2, 3]);
    let v = s.ok(&["chain", "verify", "--json"]).json();
    assert_eq!(v["blocks"], 4);
}

#[test]
fn repair_refuses_damage_before_the_tail() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &["--id", "A"]);
    s.notarize(&[&fixtures().join("crossformat/csv")], &["--id", "B"]);
    let path = s.store().join("chain.tnc");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let r = s.run(&["chain", "repair"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("NOT REPAIRED"), "{}", r.stdout);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "repair must not touch a corrupt chain"
    );
}
