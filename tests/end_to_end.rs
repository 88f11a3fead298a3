//! A sponsor's and a regulator's path through the real binary: notarize, prove, verify.

mod common;

use common::{Scratch, TEST_DIFFICULTY, fixtures};

#[test]
fn sample_notarize_prove_verify() {
    let s = Scratch::new();
    let report = s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let block = &report["block"];
    assert_eq!(block["height"], 0);
    let sub = &report["submissions"][0];
    assert_eq!(sub["id"], "cdiscpilot01");
    assert_eq!(sub["datasets"], 4);
    assert!(sub["records"].as_u64().unwrap() > 300);

    s.prove_row("cdiscpilot01", "lb", 7, "p.json");
    let v = s
        .ok(&["verify", "p.json", "--chain", "notary/chain.tnc", "--json"])
        .json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["row"], 7);
    assert_eq!(v["dataset"], "lb");
    assert_eq!(v["block"]["hash"], block["hash"]);
    assert_eq!(v["submission_root"], sub["root"]);
    assert_eq!(v["anchored_by"], serde_json::json!(["chain"]));
    assert_eq!(v["confirmations"], 0);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);

    // A second block on top gives one confirmation.
    s.notarize(&[&fixtures().join("crossformat/csv")], &["--id", "LB-ONLY"]);
    let v = s
        .ok(&["verify", "p.json", "--chain", "notary/chain.tnc", "--json"])
        .json();
    assert_eq!(v["confirmations"], 1);
    let chain = s.ok(&["chain", "verify", "--json"]).json();
    assert_eq!(chain["blocks"], 2);
}

#[test]
fn proof_discloses_only_its_own_salt_and_the_record() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let p = s
        .ok(&[
            "prove",
            "--submission",
            "cdiscpilot01",
            "--dataset",
            "dm",
            "--row",
            "0",
        ])
        .stdout;
    let proof: serde_json::Value = serde_json::from_str(&p).unwrap();
    assert!(proof.get("salts").is_none());
    let secret = std::fs::read_to_string(s.store().join("secret.key")).unwrap();
    assert!(
        !p.contains(secret.trim()),
        "the proof must never carry the store secret"
    );
    let salt = proof["record"]["salt"].as_str().unwrap();
    assert_eq!(salt.len(), 32);
    // Another row's salt differs, so one disclosure does not unlock its neighbours.
    let q = s
        .ok(&[
            "prove",
            "--submission",
            "cdiscpilot01",
            "--dataset",
            "dm",
            "--row",
            "1",
        ])
        .stdout;
    let other: serde_json::Value = serde_json::from_str(&q).unwrap();
    assert_ne!(other["record"]["salt"], proof["record"]["salt"]);
}

#[test]
fn secret_and_store_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let mode = std::fs::metadata(s.store().join("secret.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mode = std::fs::metadata(s.store()).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "store directory is owner-only");
    // The secret never reaches the chain.
    let secret = std::fs::read_to_string(s.store().join("secret.key")).unwrap();
    let raw = hex::decode(secret.trim()).unwrap();
    let chain = std::fs::read(s.store().join("chain.tnc")).unwrap();
    assert!(!chain.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert!(!String::from_utf8_lossy(&chain).contains(secret.trim()));
}

/// The same table written as CSV, Parquet (pyarrow snappy and zstd, pandas, polars, DuckDB), Arrow IPC
/// (Feather lz4 and zstd), SAS XPT (pyreadstat) and Dataset-JSON (`.json` and `.ndjson`, Python's
/// json module) yields the same root.
#[test]
fn cross_format_roots_are_equal() {
    let s = Scratch::new();
    let dirs = [
        "csv",
        "parquet-snappy",
        "parquet-zstd",
        "feather-lz4",
        "feather-zstd",
        "pandas",
        "polars",
        "duckdb",
        "xpt",
        "dataset-json",
        "dataset-ndjson",
    ];
    let paths: Vec<_> = dirs
        .iter()
        .map(|d| fixtures().join("crossformat").join(d))
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let mut extra = Vec::new();
    for d in dirs {
        extra.push("--id".to_string());
        extra.push(format!("lb-{d}"));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let report = s.notarize(&refs, &extra);
    let subs = report["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), dirs.len());
    for sub in subs {
        assert_eq!(sub["root"], subs[0]["root"], "{} differs", sub["id"]);
        assert_eq!(sub["records"], 200);
    }
    // Row proofs carry the same values whichever format carried them.
    let a = s
        .ok(&[
            "prove",
            "--submission",
            "lb-csv",
            "--dataset",
            "lb",
            "--row",
            "3",
        ])
        .json();
    let b = s
        .ok(&[
            "prove",
            "--submission",
            "lb-feather-lz4",
            "--dataset",
            "lb",
            "--row",
            "3",
        ])
        .json();
    assert_eq!(a["record"], b["record"]);
}

/// Every Arrow type we render (dictionary, large_string, int8/64, float32/64, bool, date32,
/// timestamp with time zone, nulls and empty strings) gives the text a CSV file holds.
#[test]
fn typed_columns_match_their_csv_text() {
    let s = Scratch::new();
    let t = fixtures().join("types");
    let report = s.notarize(
        &[&t.join("csv"), &t.join("parquet"), &t.join("arrow")],
        &["--id", "t-csv", "--id", "t-parquet", "--id", "t-arrow"],
    );
    let subs = report["submissions"].as_array().unwrap();
    assert_eq!(subs[0]["root"], subs[1]["root"]);
    assert_eq!(subs[1]["root"], subs[2]["root"]);
    let p = s
        .ok(&[
            "prove",
            "--submission",
            "t-parquet",
            "--dataset",
            "types",
            "--row",
            "1",
        ])
        .json();
    let values: Vec<Option<String>> =
        serde_json::from_value(p["record"]["values"].clone()).unwrap();
    let want: Vec<Option<&str>> = vec![
        None,
        Some("l2"),
        Some("F"),
        Some("-2"),
        Some("-1"),
        Some("1.5"),
        Some("1e+21"),
        Some("false"),
        None,
        Some("2024-03-01T08:30:00.123Z"),
    ];
    assert_eq!(
        values.iter().map(|v| v.as_deref()).collect::<Vec<_>>(),
        want
    );
}

#[test]
fn the_root_depends_on_contents_not_on_id_or_run() {
    let s = Scratch::new();
    let a = s.notarize(&[&fixtures().join("cdiscpilot01")], &["--id", "first"]);
    let b = s.notarize(&[&fixtures().join("cdiscpilot01")], &["--id", "second"]);
    assert_eq!(a["submissions"][0]["root"], b["submissions"][0]["root"]);
    // A changed value changes the root.
    let edited = s.path().join("edited");
    std::fs::create_dir_all(&edited).unwrap();
    for f in ["dm.csv", "ae.csv", "vs.parquet", "lb.parquet"] {
        std::fs::copy(fixtures().join("cdiscpilot01").join(f), edited.join(f)).unwrap();
    }
    let dm = std::fs::read_to_string(edited.join("dm.csv"))
        .unwrap()
        .replacen(",53,", ",54,", 1);
    std::fs::write(edited.join("dm.csv"), dm).unwrap();
    let c = s.notarize(&[&edited], &["--id", "first"]);
    assert_ne!(a["submissions"][0]["root"], c["submissions"][0]["root"]);
}

#[test]
fn rerun_of_unchanged_data_appends_nothing() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let chain = std::fs::read(s.store().join("chain.tnc")).unwrap();
    let again = s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    assert!(again["block"].is_null());
    assert_eq!(again["submissions"][0]["status"], "unchanged");
    assert_eq!(std::fs::read(s.store().join("chain.tnc")).unwrap(), chain);
}

#[test]
fn all_rows_streams_one_verifiable_proof_per_line() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.ok(&[
        "prove",
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "dm",
        "--all-rows",
        "-o",
        "dm.ndjson",
    ]);
    let text = std::fs::read_to_string(s.path().join("dm.ndjson")).unwrap();
    assert_eq!(text.lines().count(), 60);
    let r = s.ok(&["verify", "dm.ndjson", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.stdout, "60 valid, 0 invalid\n");
    // One bad line makes the whole file fail, naming the line.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[10] = lines[10].replacen("\"01-", "\"02-", 1);
    std::fs::write(s.path().join("bad.ndjson"), lines.join("\n")).unwrap();
    let r = s.run(&["verify", "bad.ndjson", "--chain", "notary/chain.tnc"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("line 11: INVALID"), "{}", r.stdout);
    assert!(r.stdout.ends_with("59 valid, 1 invalid\n"), "{}", r.stdout);
}

#[test]
fn dataset_proof_checks_the_regulators_copy_of_the_data() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.ok(&[
        "prove",
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "lb",
        "--with-salts",
        "-o",
        "lb.json",
    ]);
    let lb = fixtures().join("cdiscpilot01/lb.parquet");
    let v = s
        .ok(&[
            "verify",
            "lb.json",
            "--chain",
            "notary/chain.tnc",
            "--data",
            lb.to_str().unwrap(),
            "--json",
        ])
        .json();
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .contains("every row of the data file matches"),
        "{v}"
    );
    // Without --data the dataset proof verifies on its own.
    s.ok(&["verify", "lb.json", "--chain", "notary/chain.tnc"]);
    // A dataset proof of the cross-format table checks against every format of it.
    s.notarize(
        &[&fixtures().join("crossformat/parquet-zstd")],
        &["--id", "X"],
    );
    s.ok(&[
        "prove",
        "--submission",
        "X",
        "--dataset",
        "lb",
        "--with-salts",
        "-o",
        "x.json",
    ]);
    for f in ["csv/lb.csv", "feather-lz4/lb.feather", "duckdb/lb.parquet"] {
        let p = fixtures().join("crossformat").join(f);
        s.ok(&[
            "verify",
            "x.json",
            "--chain",
            "notary/chain.tnc",
            "--data",
            p.to_str().unwrap(),
        ]);
    }
    // One changed value in the regulator's copy is caught.
    let csv = std::fs::read_to_string(fixtures().join("crossformat/csv/lb.csv")).unwrap();
    let changed = csv.replacen("\"NORMAL\"", "\"HIGH\"", 1);
    s.write("changed/lb.csv", changed.as_bytes());
    let r = s.run(&[
        "verify",
        "x.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        "changed/lb.csv",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("row 0 differs from the notarized record (1 of 200 rows differ)"),
        "{}",
        r.stdout
    );
    // A missing row is caught with the counts.
    let fewer: String = csv.lines().take(150).map(|l| format!("{l}\n")).collect();
    s.write("fewer/lb.csv", fewer.as_bytes());
    let r = s.run(&[
        "verify",
        "x.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        "fewer/lb.csv",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("149 rows, 200 were notarized"),
        "{}",
        r.stdout
    );
}

#[test]
fn min_difficulty_is_enforced() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.prove_row("cdiscpilot01", "ae", 0, "p.json");
    let r = s.run(&[
        "verify",
        "p.json",
        "--chain",
        "notary/chain.tnc",
        "--min-difficulty",
        "20",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(&format!(
            "difficulty {TEST_DIFFICULTY} is below the required minimum 20"
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn prove_names_what_exists_when_asked_for_what_does_not() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let r = s.run(&["prove", "--submission", "nope", "--dataset", "dm"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("known: cdiscpilot01"), "{}", r.stderr);
    let r = s.run(&["prove", "--submission", "cdiscpilot01", "--dataset", "xx"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("datasets: ae, dm, lb, vs"),
        "{}",
        r.stderr
    );
    let r = s.run(&[
        "prove",
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "dm",
        "--row",
        "60",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("row 60 is out of range"), "{}", r.stderr);
}

#[test]
fn nested_datasets_are_named_by_relative_path() {
    let s = Scratch::new();
    s.copy_fixture("cdiscpilot01/dm.csv", "sub/tabulations/dm.csv");
    s.copy_fixture("cdiscpilot01/lb.parquet", "sub/analysis/lb.parquet");
    let report = s.notarize(&[&s.path().join("sub")], &[]);
    assert_eq!(report["submissions"][0]["id"], "sub");
    s.ok(&[
        "prove",
        "--submission",
        "sub",
        "--dataset",
        "tabulations/dm",
        "--row",
        "0",
    ]);
    s.ok(&["prove", "--submission", "sub", "--dataset", "analysis/lb"]);
}

#[test]
fn single_file_submission() {
    let s = Scratch::new();
    let file = s.copy_fixture("cdiscpilot01/dm.csv", "dm.csv");
    let report = s.notarize(&[&file], &[]);
    assert_eq!(report["submissions"][0]["id"], "dm");
    assert_eq!(report["submissions"][0]["records"], 60);
    s.prove_row("dm", "dm", 59, "p.json");
    // Gone, the file is still named as the dataset file; --data takes the file itself.
    std::fs::rename(&file, s.path().join("kept.csv")).unwrap();
    let row_1 = [
        "prove",
        "--submission",
        "dm",
        "--dataset",
        "dm",
        "--row",
        "1",
    ];
    let r = s.run(&row_1);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("dm.csv: cannot open"), "{}", r.stderr);
    s.ok(&[&row_1[..], &["--data", "kept.csv"]].concat());
}

#[test]
fn a_second_run_waits_for_the_lock_or_fails_with_no_wait() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &["--id", "A"]);
    let lock = std::fs::File::options()
        .write(true)
        .open(s.store().join("LOCK"))
        .unwrap();
    lock.lock().unwrap();
    let csv = fixtures().join("crossformat/csv");
    let r = s.run(&[
        "notarize",
        "--no-wait",
        "--difficulty",
        "4",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("another trialnotary run is using this store"),
        "{}",
        r.stderr
    );
    // Without --no-wait the run blocks until the lock is released, then appends block 1.
    let waiting = std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary"))
        .args([
            "notarize",
            "--json",
            "--difficulty",
            "4",
            csv.to_str().unwrap(),
        ])
        .current_dir(s.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let chain_before = std::fs::read(s.store().join("chain.tnc")).unwrap();
    lock.unlock().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["block"]["height"], 1);
    let chain_after = std::fs::read(s.store().join("chain.tnc")).unwrap();
    assert!(
        chain_after.starts_with(&chain_before),
        "the chain is append-only"
    );
}

/// The store keeps leaf hashes, never the patient data: `prove` re-reads the disclosed rows from
/// the submission, wherever it now is, and refuses data that changed since it was notarized.
#[test]
fn prove_rereads_the_data_and_refuses_changed_rows() {
    let s = Scratch::new();
    let src = fixtures().join("cdiscpilot01");
    for f in ["dm.csv", "ae.csv", "lb.parquet", "vs.parquet"] {
        s.copy_fixture(&format!("cdiscpilot01/{f}"), &format!("sub/{f}"));
    }
    s.notarize(&[&s.path().join("sub")], &["--id", "pilot"]);

    // No stored file holds a subject id from the data.
    let dm = std::fs::read_to_string(src.join("dm.csv")).unwrap();
    let subject = dm
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .trim_matches('"');
    assert!(subject.len() > 5, "{subject}");
    for (path, _) in common::fingerprint(&s.store()) {
        let p = s.store().join(&path);
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(subject),
                "{path} holds patient data"
            );
        }
    }

    // `prove` of dataset dm with `extra` arguments.
    let prove = |extra: &[&str]| {
        let mut args = vec!["prove", "--submission", "pilot", "--dataset", "dm"];
        args.extend(extra);
        s.run(&args)
    };
    // `prove` of dm from the moved copy with `extra` arguments fails, naming `problem`.
    let refused = |extra: &[&str], problem: &str| {
        let r = prove(&[&["--data", "moved"][..], extra].concat());
        assert_ne!(r.code, 0, "{extra:?}");
        assert!(r.stderr.contains(problem), "{extra:?}: {}", r.stderr);
    };

    // Moved: the error says where the data was and how to point elsewhere; --data does.
    std::fs::rename(s.path().join("sub"), s.path().join("moved")).unwrap();
    let r = prove(&["--row", "3"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("dm.csv"), "{}", r.stderr);
    assert!(r.stderr.contains("--data"), "{}", r.stderr);
    let r = prove(&["--row", "3", "--data", "moved", "-o", "p.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = s
        .ok(&["verify", "p.json", "--chain", "notary/chain.tnc", "--json"])
        .json();
    assert_eq!(v["valid"], true);
    // A Parquet dataset is re-read the same way.
    s.ok(&[
        "prove",
        "--submission",
        "pilot",
        "--dataset",
        "lb",
        "--row",
        "5",
        "--data",
        "moved",
        "-o",
        "lb.json",
    ]);
    let v = s
        .ok(&["verify", "lb.json", "--chain", "notary/chain.tnc", "--json"])
        .json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["dataset"], "lb");

    // A row appended: the dataset and every-row proofs refuse it; a single row still proves.
    let path = s.path().join("moved/dm.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap();
    std::fs::write(&path, format!("{text}{last}\n")).unwrap();
    for extra in [&["--all-rows"][..], &["--with-salts"]] {
        refused(extra, "dm.csv: row 60: more rows than the 60 notarized");
    }
    assert_eq!(prove(&["--row", "59", "--data", "moved"]).code, 0);

    // One value edited in row 3: proving row 3, every row or the dataset names file and row;
    // another row still proves.
    let line = text.lines().nth(4).unwrap();
    let edited = line.replacen("\"DM\"", "\"XX\"", 1);
    assert_ne!(line, edited);
    std::fs::write(&path, text.replacen(line, &edited, 1)).unwrap();
    for extra in [&["--row", "3"][..], &["--all-rows"], &["--with-salts"]] {
        refused(
            extra,
            "dm.csv: row 3: differs from the notarized record in block 0",
        );
    }
    assert_eq!(prove(&["--row", "2", "--data", "moved"]).code, 0);

    // Rows removed: the shortfall is named.
    let first_lines: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(&path, first_lines.join("\n") + "\n").unwrap();
    refused(&["--with-salts"], "2 rows, where");
}

/// The root does not depend on the format, so `prove` may re-read a dataset from a copy in
/// another format: a directory holding it under another extension, or the file itself.
#[test]
fn prove_reads_the_dataset_from_a_copy_in_another_format() {
    let s = Scratch::new();
    let x = fixtures().join("crossformat");
    s.notarize(&[&x.join("csv")], &["--id", "lb"]);
    let parquet_dir = x.join("parquet-zstd").display().to_string();
    let feather_file = x.join("feather-lz4/lb.feather").display().to_string();
    for (data, out) in [(&parquet_dir, "a.json"), (&feather_file, "b.json")] {
        let prove = [
            "prove",
            "--submission",
            "lb",
            "--dataset",
            "lb",
            "--row",
            "3",
        ];
        s.ok(&[&prove[..], &["--data", data, "-o", out]].concat());
        let v = s
            .ok(&["verify", out, "--chain", "notary/chain.tnc", "--json"])
            .json();
        assert_eq!(v["valid"], true, "{data}");
    }
}
