//! Nothing acknowledged is ever lost, and nothing is silently replaced: the salt secret, blocks
//! that another run acknowledged, a last block with a flipped byte, a full disk during the
//! append, a chain file shared through a link, orphans of killed runs, and stores on read-only
//! mounts. Each test reproduces a way the store was once lost or misstated, through the binary.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Mount, Scratch, copy_tree, fingerprint, fixtures};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trialnotary"))
}

#[test]
fn deleted_secret_is_refused_not_recreated() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let secret = s.store().join("secret.key");
    let saved = std::fs::read(&secret).unwrap();
    std::fs::remove_file(&secret).unwrap();
    let before = fingerprint(&s.store());
    let r = s.run(&[
        "notarize",
        "--difficulty",
        "4",
        fixtures().join("crossformat/csv").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("secret.key"), "{}", r.stderr);
    assert!(
        r.stderr.contains("the salt secret is missing") && r.stderr.contains("restore"),
        "{}",
        r.stderr
    );
    assert!(!secret.exists(), "a new secret was made");
    assert_eq!(fingerprint(&s.store()), before);
    // prove says the same instead of blaming the data.
    let r = s.run(&[
        "prove",
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "dm",
        "--row",
        "0",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("the salt secret is missing"),
        "{}",
        r.stderr
    );
    // Restored from the backup, everything works again.
    std::fs::write(&secret, saved).unwrap();
    s.prove_row("cdiscpilot01", "dm", 0, "p.json");
    s.notarize(&[&fixtures().join("crossformat/csv")], &[]);
}

#[test]
fn replaced_secret_is_refused_and_prove_tells_it_from_changed_data() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let secret = s.store().join("secret.key");
    let saved = std::fs::read(&secret).unwrap();
    std::fs::write(&secret, format!("{}\n", "ab".repeat(32))).unwrap();
    let r = s.run(&[
        "prove",
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "dm",
        "--row",
        "0",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not the one that salted block 0"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("changed since"), "{}", r.stderr);
    let before = fingerprint(&s.store());
    let r = s.run(&[
        "notarize",
        "--difficulty",
        "4",
        fixtures().join("crossformat/csv").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not the one that salted block 0"),
        "{}",
        r.stderr
    );
    assert_eq!(fingerprint(&s.store()), before);
    std::fs::write(&secret, saved).unwrap();
    s.prove_row("cdiscpilot01", "dm", 0, "p.json");
}

/// Two first runs on one new store: whichever fails (a ragged row) must not remove what the
/// other acknowledged. Run many times so that both orders of creating the store and taking its
/// lock occur.
#[test]
fn failing_first_run_never_removes_a_block_another_run_acknowledged() {
    let s = Scratch::new();
    let bad = s.write("bad/ae.csv", b"A,B\n1,2\n1\n");
    let good = fixtures().join("crossformat/csv");
    for round in 0..16 {
        let store = s.path().join(format!("store{round}"));
        let spawn = |input: &std::path::Path| {
            bin()
                .args(["notarize", "--difficulty", "4", "--no-progress", "--store"])
                .arg(&store)
                .arg(input)
                .current_dir(s.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = if round % 2 == 0 {
            (spawn(bad.parent().unwrap()), spawn(&good))
        } else {
            (spawn(&good), spawn(bad.parent().unwrap()))
        };
        let (a, b) = (
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        );
        let (good_run, bad_run) = if round % 2 == 0 { (b, a) } else { (a, b) };
        assert_eq!(bad_run.status.code(), Some(2), "round {round}");
        assert!(
            good_run.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&good_run.stderr)
        );
        let r = s.ok(&[
            "chain",
            "verify",
            "--json",
            "--store",
            store.to_str().unwrap(),
        ]);
        assert_eq!(
            r.json()["blocks"],
            1,
            "round {round}: the acknowledged block is gone"
        );
    }
}

#[test]
fn flipped_byte_in_the_last_block_is_corrupt_and_repair_keeps_it_unless_asked() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    s.notarize(&[&fixtures().join("crossformat/csv")], &[]);
    let path = s.store().join("chain.tnc");
    let good = std::fs::read(&path).unwrap();
    let second = s.ok(&["chain", "show", "--json"]).json()["blocks"][1]["offset"]
        .as_u64()
        .unwrap() as usize;
    let mut bad = good.clone();
    bad[good.len() - 40] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let r = s.run(&["chain", "verify", "--json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["height"], 1, "{v}");
    assert_eq!(v["code"], "corrupt", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("block at height 1 (byte offset"),
        "{v}"
    );
    // Repair does not cut a complete entry by default: it may be acknowledged.
    let r = s.run(&["chain", "repair"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("--drop-corrupt-last"), "{}", r.stdout);
    assert_eq!(std::fs::read(&path).unwrap(), bad);
    // Asked explicitly, it cuts that entry after a backup, naming the height.
    let v = s
        .ok(&["chain", "repair", "--drop-corrupt-last", "--json"])
        .json();
    assert_eq!(v["dropped_height"], 1, "{v}");
    assert_eq!(v["offset"], second as u64);
    assert_eq!(std::fs::read(&path).unwrap(), &good[..second]);
    let backup = s.path().join(v["backup"].as_str().unwrap());
    assert_eq!(std::fs::read(backup).unwrap(), bad);
    // A flipped byte before the last entry is never cut.
    s.notarize(&[&fixtures().join("crossformat/csv")], &["--id", "again"]);
    let mut early = std::fs::read(&path).unwrap();
    early[10] ^= 0x01;
    std::fs::write(&path, &early).unwrap();
    let r = s.run(&["chain", "repair", "--drop-corrupt-last"]);
    assert_eq!(r.code, 1);
    assert_eq!(std::fs::read(&path).unwrap(), early);
}

#[test]
fn chain_file_shared_through_a_link_is_refused() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &["--store", "a"]);
    std::fs::create_dir(s.path().join("b")).unwrap();
    std::os::unix::fs::symlink(s.path().join("a/chain.tnc"), s.path().join("b/chain.tnc")).unwrap();
    let chain = std::fs::read(s.path().join("a/chain.tnc")).unwrap();
    let r = s.run(&[
        "notarize",
        "--difficulty",
        "4",
        "--store",
        "b",
        fixtures().join("crossformat/csv").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is a link (symbolic link)"),
        "{}",
        r.stderr
    );
    // A hard link is refused too, from either store.
    std::fs::remove_file(s.path().join("b/chain.tnc")).unwrap();
    std::fs::hard_link(s.path().join("a/chain.tnc"), s.path().join("b/chain.tnc")).unwrap();
    for store in ["a", "b"] {
        let r = s.run(&[
            "notarize",
            "--difficulty",
            "4",
            "--store",
            store,
            fixtures().join("crossformat/csv").to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{store}");
        assert!(r.stderr.contains("2 hard links"), "{}", r.stderr);
    }
    assert_eq!(std::fs::read(s.path().join("a/chain.tnc")).unwrap(), chain);
}

#[test]
fn orphan_block_directories_of_killed_runs_are_removed_by_the_next_run() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    // Killed after moving its files into blocks/ and before appending.
    let status = bin()
        .args(["notarize", "--difficulty", "4", "--no-progress"])
        .arg(fixtures().join("crossformat/csv"))
        .env(trialnotary::crashpoint::VAR, "archived")
        .current_dir(s.path())
        .status()
        .unwrap();
    assert!(status.code().is_none());
    let blocks = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(s.store().join("blocks"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(blocks().len(), 2, "the killed run left its block directory");
    s.notarize(&[&fixtures().join("types/csv")], &[]);
    let shown = s.ok(&["chain", "show", "--json"]).json();
    let want: Vec<String> = shown["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| format!("{}-{}", b["height"], &b["hash"].as_str().unwrap()[..16]))
        .collect();
    assert_eq!(blocks(), want);
}

/// A disk that fills up during the append: the run fails, the chain is cut back to exactly what
/// it held, the message says so, and the next run (with room) works without a repair.
#[test]
fn disk_full_during_the_append_leaves_the_chain_as_it_was() {
    let s = Scratch::new();
    let mount = match Mount::tmpfs(&s.path().join("fs"), "4m") {
        Ok(m) => m,
        Err(why) => {
            println!("skipped: {why}; run the tests as root to fill a real filesystem");
            return;
        }
    };
    let store = mount.dir.join("notary");
    let store = store.to_str().unwrap();
    let data = fixtures().join("crossformat/csv");
    let notarize = |id: &str| {
        s.run(&[
            "notarize",
            "--difficulty",
            "4",
            "--no-progress",
            "--store",
            store,
            "--id",
            id,
            data.to_str().unwrap(),
        ])
    };
    let chain = mount.dir.join("notary/chain.tnc");
    let len = || std::fs::metadata(&chain).map_or(0, |m| m.len());
    // Grow the chain until its next entry must start a new page of the filesystem.
    assert_eq!(notarize("S000").code, 0);
    let entry = len();
    let mut n = 1;
    while 4096 - len() % 4096 >= entry {
        assert_eq!(notarize(&format!("S{n:03}")).code, 0);
        n += 1;
    }
    // Fill the filesystem, then give back a few pages at a time until a run succeeds.
    let filler = mount.dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![7u8; 4096];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    let full = std::fs::metadata(&filler).unwrap().len() / 4096 * 4096;
    let mut failed_at_append = false;
    for pages in 0..32u64 {
        f.set_len(full - pages * 4096).unwrap();
        let before = std::fs::read(&chain).unwrap();
        let before_store = fingerprint(Path::new(store));
        let r = notarize(&format!("S{n:03}"));
        if r.code == 0 {
            assert_eq!(len(), before.len() as u64 + entry);
            break;
        }
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(std::fs::read(&chain).unwrap(), before, "{}", r.stderr);
        // Nothing else either: no block directory of the block that was not anchored.
        assert_eq!(fingerprint(Path::new(store)), before_store, "{}", r.stderr);
        if r.stderr.contains("appending block") {
            failed_at_append = true;
            assert!(
                r.stderr.contains("the chain was cut back to its previous")
                    && r.stderr.contains("nothing was anchored"),
                "{}",
                r.stderr
            );
        }
        let v = s
            .ok(&["chain", "verify", "--json", "--store", store])
            .json();
        assert_eq!(v["blocks"], n, "{v}");
    }
    assert!(failed_at_append, "no run failed at the append");
    let v = s
        .ok(&["chain", "verify", "--json", "--store", store])
        .json();
    assert_eq!(v["blocks"], n + 1);
}

#[test]
fn read_only_store_can_be_verified_shown_and_proved_from() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let mount = match Mount::tmpfs(&s.path().join("ro"), "16m") {
        Ok(m) => m,
        Err(why) => {
            // Without a mount, make it read-only by permissions (root ignores those, which
            // is why a mount is tried first).
            println!("no read-only mount ({why}); using file permissions");
            let ro = s.path().join("ro/notary");
            copy_tree(&s.store(), &ro);
            read_only_checks(&s, "ro/notary");
            return;
        }
    };
    copy_tree(&s.store(), &mount.dir.join("notary"));
    copy_tree(&s.store(), &mount.dir.join("nolock"));
    std::fs::remove_file(mount.dir.join("nolock/LOCK")).unwrap();
    mount.read_only();
    read_only_checks(&s, "ro/notary");
    read_only_checks(&s, "ro/nolock");
}

fn read_only_checks(s: &Scratch, store: &str) {
    s.ok(&["chain", "verify", "--store", store]);
    s.ok(&["chain", "show", "--store", store]);
    s.ok(&[
        "prove",
        "--store",
        store,
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "dm",
        "--row",
        "2",
        "-o",
        "ro.json",
    ]);
    s.ok(&[
        "verify",
        "ro.json",
        "--chain",
        &format!("{store}/chain.tnc"),
    ]);
}
