//! A submission as it sits on disk: datasets and every other file as a document (define.xml, a
//! PDF, a program), hidden files skipped and listed, a store inside the submission left out; the
//! report says what is new, changed or unchanged; documents and whole submissions are proved and
//! a regulator's copy of a document is checked byte for byte.

mod common;

use common::{Scratch, fixtures};

fn study(s: &Scratch) -> std::path::PathBuf {
    s.copy_fixture("cdiscpilot01/dm.csv", "study/tabulations/dm.csv");
    s.copy_fixture("cdiscpilot01/lb.parquet", "study/tabulations/lb.parquet");
    s.write("study/tabulations/define.xml", b"<ODM/>\n");
    s.write("study/reviewers-guide.pdf", b"%PDF-1.4 a small pdf\n");
    s.write("study/programs/adsl.sas", b"data adsl; set dm; run;\n");
    s.write("study/.DS_Store", b"finder junk");
    s.write("study/.git/config", b"[core]\n");
    s.path().join("study")
}

#[test]
fn documents_are_notarized_beside_the_datasets() {
    let s = Scratch::new();
    let dir = study(&s);
    // A JSON schema of Dataset-JSON names `datasetJSONVersion` in a nested object (as CDISC's
    // dataset_extension.schema.json does) and in a value: it is a document.
    s.write(
        "study/programs/dataset_extension.schema.json",
        br#"{"$schema": "https://json-schema.org/draft/2020-12/schema",
 "description": "requires datasetJSONVersion",
 "properties": {"datasetJSONVersion": {"type": "string"}}}
"#,
    );
    let r = s.notarize(&[&dir], &[]);
    let sub = &r["submissions"][0];
    assert_eq!(sub["datasets"], 2);
    assert_eq!(sub["documents"], 4);
    assert_eq!(sub["status"], "new");
    let names: Vec<&str> = sub["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "programs/adsl.sas",
            "programs/dataset_extension.schema.json",
            "reviewers-guide.pdf",
            "tabulations/define.xml",
            "tabulations/dm",
            "tabulations/lb"
        ]
    );
    assert_eq!(sub["hidden"], serde_json::json!([".DS_Store", ".git"]));

    // A document proof, checked against a chain copy and against a copy of the file.
    s.ok(&[
        "prove",
        "--submission",
        "study",
        "--file",
        "tabulations/define.xml",
        "-o",
        "define.json",
    ]);
    let v = s
        .ok(&[
            "verify",
            "define.json",
            "--chain",
            "notary/chain.tnc",
            "--json",
        ])
        .json();
    assert_eq!(v["kind"], "document");
    assert_eq!(v["document"], "tabulations/define.xml");
    let copy = s.write("copy/define.xml", b"<ODM/>\n");
    let r = s.ok(&[
        "verify",
        "define.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        copy.to_str().unwrap(),
    ]);
    assert!(
        r.stdout.contains("byte for byte the notarized document"),
        "{}",
        r.stdout
    );
    let edited = s.write("copy/edited.xml", b"<ODX/>\n");
    let r = s.run(&[
        "verify",
        "define.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        edited.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("its bytes changed"), "{}", r.stdout);
    let shorter = s.write("copy/short.xml", b"<ODM/>");
    let r = s.run(&[
        "verify",
        "define.json",
        "--chain",
        "notary/chain.tnc",
        "--data",
        shorter.to_str().unwrap(),
    ]);
    assert!(r.stdout.contains("the file is 6 bytes"), "{}", r.stdout);

    // The whole submission's proof.
    s.ok(&["prove", "--submission", "study", "-o", "sub.json"]);
    let v = s
        .ok(&[
            "verify",
            "sub.json",
            "--chain",
            "notary/chain.tnc",
            "--json",
        ])
        .json();
    assert_eq!(v["kind"], "submission");
    assert_eq!(v["submission"], "study");

    // A document changed since: prove refuses it, naming the file.
    s.write("study/tabulations/define.xml", b"<ODM changed=\"1\"/>\n");
    let r = s.run(&[
        "prove",
        "--submission",
        "study",
        "--file",
        "tabulations/define.xml",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("define.xml") && r.stderr.contains("changed since"),
        "{}",
        r.stderr
    );
    // And the next run says which item changed, and that the submission changed.
    let again = s.notarize(&[&dir], &[]);
    let sub = &again["submissions"][0];
    assert_eq!(sub["status"], "changed");
    let changed: Vec<(&str, &str)> = sub["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .filter(|(_, st)| *st != "unchanged")
        .collect();
    assert_eq!(changed, [("tabulations/define.xml", "changed")]);
}

/// `cd study && trialnotary notarize . && trialnotary notarize .`: the store the first run made
/// inside the submission is not part of it.
#[test]
fn a_store_inside_the_submission_is_not_part_of_it() {
    let s = Scratch::new();
    let dir = study(&s);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let first = run(&["notarize", ".", "--difficulty", "4", "--json"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let again = run(&["notarize", ".", "--difficulty", "4", "--json"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["block"], serde_json::Value::Null, "nothing changed: {v}");
    assert_eq!(v["submissions"][0]["documents"], 3);
    // Another store there (of a run with another --store) is refused, not read as documents
    // (its chain would change the submission every night), and nothing is written.
    let other = run(&[
        "notarize",
        ".",
        "--store",
        "../elsewhere",
        "--difficulty",
        "4",
    ]);
    assert_eq!(other.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(
        stderr.contains("notary: a trialnotary store inside the submission"),
        "{stderr}"
    );
    assert!(!dir.join("../elsewhere").exists());
}

/// A submission anchored beside a changed one is reported as unchanged and anchored again.
#[test]
fn report_tells_changed_from_unchanged_submissions() {
    let s = Scratch::new();
    let a = study(&s);
    let b = fixtures().join("crossformat/csv");
    s.notarize(&[&a, &b], &[]);
    s.write(
        "study/programs/adsl.sas",
        b"data adsl; set dm; where saffl = 'Y'; run;\n",
    );
    let r = s.notarize(&[&a, &b], &[]);
    let subs = r["submissions"].as_array().unwrap();
    let status = |id: &str| {
        let sub = subs.iter().find(|x| x["id"] == id).unwrap();
        (
            sub["status"].as_str().unwrap(),
            sub["anchored_now"].as_bool().unwrap(),
        )
    };
    assert_eq!(status("study"), ("changed", true));
    assert_eq!(status("csv"), ("unchanged", true));
    let human = s.ok(&[
        "notarize",
        "--difficulty",
        "4",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(human.stdout.contains("nothing new"), "{}", human.stdout);
}

/// A submission's default id is its name as given: a link `latest` that a nightly job moves to
/// each night's folder keeps the id `latest` (each night is then a change of one submission,
/// not a new one); `study/.` is named by the directory it is.
#[cfg(unix)]
#[test]
fn the_default_id_is_the_name_given() {
    let s = Scratch::new();
    let dir = study(&s);
    let latest = s.path().join("latest");
    std::os::unix::fs::symlink(&dir, &latest).unwrap();
    let r = s.notarize(&[&latest], &[]);
    assert_eq!(r["submissions"][0]["id"], "latest");
    assert_eq!(r["submissions"][0]["status"], "new");
    let r = s.notarize(&[&dir.join(".")], &[]);
    assert_eq!(r["submissions"][0]["id"], "study");
    // The next night's folder behind the same link: the same submission, changed.
    let next = s.path().join("next");
    std::fs::create_dir_all(next.join("tabulations")).unwrap();
    std::fs::copy(
        dir.join("tabulations/dm.csv"),
        next.join("tabulations/dm.csv"),
    )
    .unwrap();
    std::fs::remove_file(&latest).unwrap();
    std::os::unix::fs::symlink(&next, &latest).unwrap();
    let r = s.notarize(&[&latest], &[]);
    assert_eq!(r["submissions"][0]["id"], "latest");
    assert_eq!(r["submissions"][0]["status"], "changed");
}
