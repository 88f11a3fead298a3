//! The nightly rerun: a dataset file whose bytes have the digest of the file the previous
//! anchoring read is not read again; its entry and the earlier block's leaves are reused, the
//! store grows only by the changed datasets' leaves, and the roots are those of a full run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Scratch, copy_tree, fixtures};
use serde_json::Value;

/// Dataset name → (reused, root) from a notarize report's first submission.
fn datasets(report: &Value) -> BTreeMap<String, (bool, String)> {
    report["submissions"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "dataset")
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                (
                    i["reused"].as_bool().unwrap(),
                    i["root"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// The block directories of a store, in height order.
fn block_dirs(store: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(store.join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        name.split('-').next().unwrap().parse::<u64>().unwrap()
    });
    dirs
}

/// The manifest of the submission directory `dir` (`blocks/<block>/<id>`).
fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Replaces the manifest of the submission directory `dir`.
fn write_manifest(dir: &Path, manifest: &Value) {
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(manifest).unwrap(),
    )
    .unwrap();
}

/// The leaves file the manifest of `dir` wrote there for dataset `name`.
fn leaves_file(dir: &Path, name: &str) -> PathBuf {
    let manifest = manifest(dir);
    let d = manifest["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["entry"]["name"] == name)
        .unwrap();
    dir.join(format!("{}.leaves", d["stem"].as_str().unwrap()))
}

/// Dataset name → the bytes of its leaves, wherever the manifest of `id` in `block` puts them.
fn leaves(block: &Path, id: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = block.join(id);
    manifest(&dir)["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let file = format!("{}.leaves", d["stem"].as_str().unwrap());
            let path = match d.get("leaves_in").and_then(Value::as_str) {
                Some(earlier) => block.parent().unwrap().join(earlier).join(id).join(file),
                None => dir.join(file),
            };
            (
                d["entry"]["name"].as_str().unwrap().to_owned(),
                std::fs::read(path).unwrap(),
            )
        })
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_rerun_reads_only_what_changed_and_gives_the_roots_of_a_full_run() {
    let s = Scratch::new();
    let study = s.path().join("study");
    copy_tree(&fixtures().join("tnstudy01"), &study);
    let first = s.notarize(&[&study], &[]);
    assert!(datasets(&first).values().all(|(reused, _)| !reused));

    // One value of DM changes; AE is touched (a new modification time, the same bytes).
    let dm = study.join("dm.csv");
    let text = std::fs::read_to_string(&dm).unwrap();
    let changed = text.replacen(",31,YEARS,", ",32,YEARS,", 1);
    assert_ne!(changed, text);
    std::fs::write(&dm, changed).unwrap();
    let ae = std::fs::File::options()
        .write(true)
        .open(study.join("ae.csv"))
        .unwrap();
    ae.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    drop(ae);

    let second = s.notarize(&[&study], &[]);
    assert_eq!(second["submissions"][0]["status"], "changed");
    let now = datasets(&second);
    assert!(!now["dm"].0, "dm changed: read again");
    for name in ["ae", "cm", "ex", "lb", "vs"] {
        assert!(now[name].0, "{name} is unchanged: reused");
        assert_eq!(now[name].1, datasets(&first)[name].1);
    }
    assert_ne!(now["dm"].1, datasets(&first)["dm"].1);

    // The new block holds the manifest and DM's leaves only.
    let store = s.store();
    let blocks = block_dirs(&store);
    assert_eq!(blocks.len(), 2);
    let new_files = files(&blocks[1].join("study"));
    assert_eq!(new_files.len(), 2, "{new_files:?}");
    assert!(new_files.contains(&"manifest.json".to_owned()));

    // A full run from an empty store with the same secret: the same roots, the same leaves.
    let full = s.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::copy(store.join("secret.key"), full.join("secret.key")).unwrap();
    let fresh = s.notarize(&[&study], &["--store", full.to_str().unwrap()]);
    assert_eq!(
        fresh["submissions"][0]["root"],
        second["submissions"][0]["root"]
    );
    let fresh_roots: BTreeMap<_, _> = datasets(&fresh)
        .into_iter()
        .map(|(k, (_, root))| (k, root))
        .collect();
    let rerun_roots: BTreeMap<_, _> = now.into_iter().map(|(k, (_, root))| (k, root)).collect();
    assert_eq!(fresh_roots, rerun_roots);
    assert_eq!(
        leaves(&block_dirs(&full)[0], "study"),
        leaves(&blocks[1], "study")
    );

    // Every dataset proves at both heights (DM at height 0 from an archived copy).
    let archived = s.path().join("archived");
    copy_tree(&fixtures().join("tnstudy01"), &archived);
    for name in ["dm", "ae", "lb", "vs"] {
        for height in ["0", "1"] {
            let out = format!("{name}-{height}.json");
            let mut args = vec![
                "prove",
                "--submission",
                "study",
                "--dataset",
                name,
                "--row",
                "2",
                "--height",
                height,
                "-o",
                &out,
            ];
            if height == "0" {
                args.extend(["--data", archived.to_str().unwrap()]);
            }
            s.ok(&args);
            s.ok(&["verify", &out, "--chain", "notary/chain.tnc"]);
        }
    }
}

/// The decision is the digest of the bytes: a file changed with its size and modification time
/// put back is read again; an earlier block's leaves that are gone are written again.
#[test]
fn only_the_digest_decides_and_missing_leaves_are_written_again() {
    let s = Scratch::new();
    let study = s.path().join("study");
    copy_tree(&fixtures().join("tnstudy01"), &study);
    s.notarize(&[&study], &[]);

    let dm = study.join("dm.csv");
    let before = std::fs::metadata(&dm).unwrap();
    let text = std::fs::read_to_string(&dm).unwrap();
    // The same length: one subject's sex swapped.
    let changed = text.replacen(",F,WHITE,", ",M,WHITE,", 1);
    assert_ne!(changed, text);
    assert_eq!(changed.len(), text.len());
    std::fs::write(&dm, &changed).unwrap();
    let f = std::fs::File::options().write(true).open(&dm).unwrap();
    f.set_modified(before.modified().unwrap()).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&dm).unwrap().len(), before.len());
    assert_eq!(
        std::fs::metadata(&dm).unwrap().modified().unwrap(),
        before.modified().unwrap()
    );

    // LB's leaves in block 0 are lost: LB is read again rather than pointed at nothing.
    let block0 = block_dirs(&s.store())[0].join("study");
    std::fs::remove_file(leaves_file(&block0, "lb")).unwrap();

    let report = s.notarize(&[&study], &[]);
    let now = datasets(&report);
    assert!(
        !now["dm"].0,
        "the same size and time, other bytes: read again"
    );
    assert!(!now["lb"].0, "its earlier leaves are gone: read again");
    assert!(now["ae"].0);
    let p = s
        .ok(&[
            "prove",
            "--submission",
            "study",
            "--dataset",
            "lb",
            "--row",
            "9",
        ])
        .json();
    assert_eq!(p["block"]["height"], 1);
}

/// A store written by the release before digests (manifest version 4): its manifests are read,
/// the first rerun reads every file (there is nothing to compare with) and records digests, and
/// the next one reuses them.
#[test]
fn a_store_without_digests_is_read_in_full_once() {
    let s = Scratch::new();
    let study = s.path().join("study");
    copy_tree(&fixtures().join("tnstudy01"), &study);
    let first = s.notarize(&[&study], &[]);
    let dir = block_dirs(&s.store())[0].join("study");
    let mut manifest = manifest(&dir);
    manifest["version"] = 4.into();
    for d in manifest["datasets"].as_array_mut().unwrap() {
        let d = d.as_object_mut().unwrap();
        assert!(d.remove("digest").is_some());
        assert!(d.remove("canonical").is_some());
        assert!(d.remove("leaves_digest").is_some());
    }
    write_manifest(&dir, &manifest);

    let dm = study.join("dm.csv");
    let text = std::fs::read_to_string(&dm).unwrap();
    std::fs::write(&dm, text.replacen(",31,YEARS,", ",33,YEARS,", 1)).unwrap();
    let second = s.notarize(&[&study], &[]);
    assert!(datasets(&second).values().all(|(reused, _)| !reused));
    assert_eq!(datasets(&second)["lb"].1, datasets(&first)["lb"].1);
    // Proofs of the old block still work from its version 4 manifest.
    s.ok(&[
        "prove",
        "--submission",
        "study",
        "--dataset",
        "lb",
        "--row",
        "1",
        "--height",
        "0",
    ]);

    std::fs::write(&dm, text).unwrap();
    let third = s.notarize(&[&study], &[]);
    let now = datasets(&third);
    assert!(!now["dm"].0);
    assert!(now["lb"].0 && now["vs"].0);
    assert_eq!(now["dm"].1, datasets(&first)["dm"].1);
}

/// Leaves damaged in the store are not carried into new blocks: a rerun finds that a reused
/// dataset's leaves file no longer has the digest it was written with, says so, and reads the
/// file again into fresh leaves (same root); the new block proves its rows. A version 5
/// manifest, which recorded no digest of its leaves, has its datasets read again once.
#[test]
fn damaged_leaves_are_read_again_not_reused() {
    let s = Scratch::new();
    let study = s.path().join("study");
    copy_tree(&fixtures().join("tnstudy01"), &study);
    let first = s.notarize(&[&study], &[]);
    let leaves = leaves_file(&block_dirs(&s.store())[0].join("study"), "lb");
    let mut bytes = std::fs::read(&leaves).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&leaves, bytes).unwrap();

    s.write(
        "study/notes.txt",
        b"a document, so that the run anchors a block",
    );
    let r = s.ok(&["notarize", "--json", "--difficulty", "6", "study"]);
    let second: Value = r.json();
    assert!(
        r.stderr.contains("warning: the stored leaf hashes")
            && r.stderr.contains("are damaged")
            && r.stderr.contains("lb.parquet is read again"),
        "{}",
        r.stderr
    );
    let now = datasets(&second);
    assert!(!now["lb"].0, "lb reused");
    assert!(now["dm"].0 && now["vs"].0);
    assert_eq!(now["lb"].1, datasets(&first)["lb"].1);
    s.ok(&[
        "prove",
        "--submission",
        "study",
        "--dataset",
        "lb",
        "--row",
        "5",
    ]);
    // At the block that keeps the damaged leaves, a proof names them, not the data file.
    let r = s.run(&[
        "prove",
        "--submission",
        "study",
        "--dataset",
        "lb",
        "--with-salts",
        "--height",
        "0",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(".leaves: stored leaves do not give the dataset root"),
        "{}",
        r.stderr
    );

    // The same store as a version 5 manifest would have it: no digest of the leaves.
    let dir = block_dirs(&s.store())[1].join("study");
    let mut manifest = manifest(&dir);
    manifest["version"] = 5.into();
    for d in manifest["datasets"].as_array_mut().unwrap() {
        assert!(d.as_object_mut().unwrap().remove("leaves_digest").is_some());
    }
    write_manifest(&dir, &manifest);
    s.write("study/notes.txt", b"changed");
    let third = s.notarize(&[&study], &[]);
    assert!(datasets(&third).values().all(|(reused, _)| !reused));
    s.write("study/notes.txt", b"changed again");
    let fourth = s.notarize(&[&study], &[]);
    assert!(datasets(&fourth).values().all(|(reused, _)| *reused));
}
