//! The command line as scripts use it: output closed early, wrong store paths, permissions,
//! output files, JSON everywhere, version and help.

mod common;

use std::process::{Command, Stdio};

use common::{Scratch, fixtures};

/// Runs `bin args` in `dir` with its standard output closed before it writes: exit 0, and no
/// panic, as `| head -1` would see.
fn closed_early(bin: &str, dir: &std::path::Path, args: &[&str]) {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn output_closed_early_exits_0_for_every_command() {
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
        "all.ndjson",
    ]);
    let full = env!("CARGO_BIN_EXE_trialnotary");
    let mini = env!("CARGO_BIN_EXE_trialnotary-verify");
    let chain = ["--chain", "notary/chain.tnc"];
    for json in [&[][..], &["--json"]] {
        let args = [&["verify", "all.ndjson"][..], &chain, json].concat();
        closed_early(full, s.path(), &args);
        closed_early(mini, s.path(), &args[1..]);
    }
    for args in [
        &["chain", "show"][..],
        &["chain", "show", "--json"],
        &["chain", "verify"],
        &[
            "prove",
            "--submission",
            "cdiscpilot01",
            "--dataset",
            "dm",
            "--all-rows",
        ],
        &["prove", "--submission", "cdiscpilot01"],
        &["generate", "-o", "g", "--subjects", "2"],
        &["--version"],
    ] {
        closed_early(full, s.path(), args);
    }
}

#[test]
fn the_store_is_private_whichever_command_creates_it() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    s.ok(&["key", "generate", "--name", "sponsor.example/S"]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.store()), 0o700);
    // A store others can read is reported, naming it.
    let open = s.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = s.ok(&[
        "notarize",
        "--difficulty",
        "4",
        "--store",
        "open",
        fixtures().join("crossformat/csv").to_str().unwrap(),
    ]);
    assert!(
        r.stderr
            .contains("warning: the store open is open to others (mode 0755)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_wrong_store_path_says_there_is_no_store_and_creates_none() {
    let s = Scratch::new();
    for args in [
        &["chain", "show", "--store", "stt"][..],
        &["chain", "verify", "--store", "stt"],
        &["prove", "--store", "stt", "--submission", "x"],
        &["checkpoint", "--store", "stt"],
    ] {
        let r = s.run(args);
        assert_eq!(r.code, 2, "{args:?}");
        assert!(
            r.stderr.contains("no store at stt"),
            "{args:?}: {}",
            r.stderr
        );
        // The OS error is said once, if at all.
        assert!(
            r.stderr.matches("os error").count() <= 1,
            "{args:?}: {}",
            r.stderr
        );
        assert!(!s.path().join("stt").exists(), "{args:?} created a store");
    }
}

#[test]
fn version_names_the_formats_and_help_exits_0() {
    let s = Scratch::new();
    let r = s.ok(&["--version"]);
    assert!(
        r.stdout.contains("reads proof formats 2 to 3"),
        "{}",
        r.stdout
    );
    let mini = Command::new(env!("CARGO_BIN_EXE_trialnotary-verify"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(mini.status.success());
    assert!(String::from_utf8_lossy(&mini.stdout).contains("reads proof formats 2 to 3"));
    let help = Command::new(env!("CARGO_BIN_EXE_trialnotary-verify"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("usage: trialnotary-verify"));
}

#[test]
fn generate_refuses_a_non_empty_directory_unless_forced() {
    let s = Scratch::new();
    s.write("g/keep.txt", b"mine");
    let r = s.run(&["generate", "-o", "g", "--subjects", "2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("g is not empty"), "{}", r.stderr);
    assert!(!s.path().join("g/dm.csv").exists());
    s.ok(&["generate", "-o", "g", "--subjects", "2", "--force"]);
    assert!(s.path().join("g/dm.csv").exists());
}

#[test]
fn output_files_are_named_as_given_in_errors() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let r = s.run(&[
        "prove",
        "--submission",
        "cdiscpilot01",
        "-o",
        "nodir/x.json",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot write nodir/x.json"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(".tmp"), "{}", r.stderr);
    for args in [
        &["checkpoint", "-o", "nodir/c.note"][..],
        &["generate", "-o", "nodir/deeper/g", "--subjects", "1"],
    ] {
        let r = s.run(args);
        assert!(!r.stderr.contains(".tmp"), "{args:?}: {}", r.stderr);
    }
}

/// `-o` replaces a regular file atomically, and writes to anything else: `-` is standard
/// output, a FIFO (as a device such as /dev/null) gets the bytes and stays what it was, and a
/// symbolic link keeps pointing at the file it names, which is replaced.
#[test]
fn output_that_is_not_a_regular_file_is_written_to_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let prove = [
        "prove",
        "--submission",
        "cdiscpilot01",
        "--dataset",
        "dm",
        "--row",
        "3",
    ];
    let want = s.ok(&prove).stdout;
    assert!(want.contains("\"format\""), "{want}");

    fn with_output<'a>(prove: &[&'a str], path: &'a str) -> Vec<&'a str> {
        [prove, &["-o", path]].concat()
    }
    let r = s.ok(&with_output(&prove, "-"));
    assert_eq!(r.stdout, want);
    assert!(!s.path().join("-").exists());

    let fifo = s.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    s.ok(&with_output(&prove, "pipe"));
    // Checked before waiting for the reader, which a replaced FIFO would leave waiting.
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    assert_eq!(reader.join().unwrap(), want);

    s.write("real.json", b"old");
    std::os::unix::fs::symlink("real.json", s.path().join("link.json")).unwrap();
    s.ok(&with_output(&prove, "link.json"));
    let link = std::fs::symlink_metadata(s.path().join("link.json")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        std::fs::read_to_string(s.path().join("real.json")).unwrap(),
        want
    );
}

/// A report that cannot be written (a full disk under standard output) fails the run, and the
/// error says whether the block was anchored all the same, at which height.
#[test]
fn a_report_that_cannot_be_written_says_the_block_was_anchored() {
    let s = Scratch::new();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full, which Linux has")
    };
    let data = fixtures().join("cdiscpilot01");
    for round in ["anchored", "nothing new"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary"))
            .args(["notarize", "--json", "--difficulty", "4"])
            .arg(&data)
            .current_dir(s.path())
            .stdout(full())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let want = if round == "anchored" {
            "block 0 (" // its hash, then that it was anchored
        } else {
            "nothing new was anchored; the report could not be written"
        };
        assert!(stderr.contains(want), "{round}: {stderr}");
        assert!(stderr.contains("report could not be written"), "{stderr}");
    }
    let v = s.ok(&["chain", "verify", "--json"]).json();
    assert_eq!(v["blocks"], 1, "{v}");
}

/// Every command that reports something does so as JSON with `--json`, on standard output, with
/// the facts a script needs; errors under `--json` stay text on standard error with exit 2.
#[test]
fn every_reporting_command_speaks_json() {
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let key = s
        .ok(&["key", "generate", "--name", "sponsor.example/S", "--json"])
        .json();
    assert_eq!(key["kind"], "sponsor");
    assert_eq!(key["name"], "sponsor.example/S");
    let vkey = key["public_key"].as_str().unwrap().to_owned();
    assert!(vkey.starts_with("sponsor.example/S+"), "{vkey}");
    let public = s
        .ok(&["key", "public", "--key", "notary/signing.key", "--json"])
        .json();
    assert_eq!(public["public_key"], vkey.as_str());
    let w = s
        .ok(&[
            "key",
            "generate",
            "--witness",
            "--name",
            "w.example",
            "-o",
            "w.key",
            "--json",
        ])
        .json();
    assert_eq!(w["kind"], "witness");
    assert_eq!(w["written"], "w.key");

    let cp = s.ok(&["checkpoint", "-o", "cp.note", "--json"]).json();
    assert_eq!(cp["height"], 0);
    assert_eq!(cp["origin"], "sponsor.example/S");
    assert!(cp["utc"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        cp["note"].as_str().unwrap(),
        std::fs::read_to_string(s.path().join("cp.note")).unwrap()
    );
    // Without -o or --json the note itself; with -o alone a line on stderr with the UTC time.
    let plain = s.ok(&["checkpoint", "-o", "cp2.note"]);
    assert!(plain.stdout.is_empty());
    assert!(plain.stderr.contains("at height 0"), "{}", plain.stderr);
    assert!(plain.stderr.contains(cp["utc"].as_str().unwrap()));

    let cosigned = s
        .ok(&[
            "witness",
            "cosign",
            "--key",
            "w.key",
            "--checkpoint",
            "cp.note",
            "--log-key",
            &vkey,
            "-o",
            "cp.cosigned",
            "--json",
        ])
        .json();
    assert_eq!(cosigned["cosigned"], true);
    assert_eq!(cosigned["witness"], "w.example");
    let refused = s.run(&[
        "witness",
        "cosign",
        "--key",
        "w.key",
        "--checkpoint",
        "cp.note",
        "--log-key",
        w["public_key"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(refused.code, 1);
    assert_eq!(refused.json()["cosigned"], false);

    s.notarize(&[&fixtures().join("tnstudy01")], &[]);
    let c = s
        .ok(&[
            "chain",
            "consistency",
            "--from",
            "cp.cosigned",
            "-o",
            "c.json",
            "--json",
        ])
        .json();
    assert_eq!((c["from"].as_u64(), c["to"].as_u64()), (Some(1), Some(2)));
    let v = s.ok(&["verify-consistency", "c.json", "--json"]).json();
    assert_eq!(v["valid"], true);
    // Every rejection and every unusable input has its code under --json, as in `verify`.
    let proof: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path().join("c.json")).unwrap()).unwrap();
    let edited = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut p = proof.clone();
        edit(&mut p);
        s.write(name, p.to_string().as_bytes());
    };
    edited("short.json", &|p| p["headers"] = serde_json::json!([]));
    edited("swapped.json", &|p| {
        let from = p["from"].clone();
        p["from"] = p["to"].clone();
        p["to"] = from;
    });
    edited("v2.json", &|p| p["version"] = 2.into());
    edited("odd.json", &|p| p["headers"][0] = "abc".into());
    edited("unsigned.json", &|p| p["to"] = "no note".into());
    s.write("broken.json", b"{\"format\": ");
    for (file, exit, code) in [
        ("short.json", 1, "proof-shape"),
        ("swapped.json", 1, "checkpoint-order"),
        ("v2.json", 1, "proof-shape"),
        ("odd.json", 1, "bad-header"),
        ("unsigned.json", 1, "checkpoint"),
        ("broken.json", 2, "unusable-proof"),
        ("missing.json", 2, "unreadable-input"),
    ] {
        let r = s.run(&["verify-consistency", file, "--json"]);
        assert_eq!(r.code, exit, "{file}: {}{}", r.stdout, r.stderr);
        let v = r.json();
        assert_eq!(
            (v["valid"].as_bool(), v["code"].as_str()),
            (Some(false), Some(code)),
            "{file}: {v}"
        );
        assert!(
            !v["reason"].as_str().unwrap_or_default().is_empty(),
            "{file}: {v}"
        );
    }
    let tip = s.ok(&["chain", "tip", "--json"]).json();
    assert_eq!(tip["height"], 1);
    assert_eq!(s.ok(&["chain", "tip"]).stdout.trim(), tip["hash"]);

    // An error under --json: text on stderr, nothing on stdout, exit 2.
    let e = s.run(&["checkpoint", "--height", "9", "--json"]);
    assert_eq!(e.code, 2);
    assert!(e.stdout.is_empty());
    assert!(e.stderr.contains("no block at height 9"), "{}", e.stderr);
}

/// A file that is not JSON (here a device that never ends) is refused at its first byte, and a
/// name holding a line end cannot forge a line of the verifier's output.
#[test]
fn hostile_inputs_are_refused_early_and_names_are_escaped() {
    let s = Scratch::new();
    for bin in [
        env!("CARGO_BIN_EXE_trialnotary"),
        env!("CARGO_BIN_EXE_trialnotary-verify"),
    ] {
        let mut args = vec!["/dev/zero", "--self-contained"];
        if bin.ends_with("trialnotary") {
            args.insert(0, "verify");
        }
        let out = Command::new(bin).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
    }

    s.copy_fixture("crossformat/csv/lb.csv", "sub/lb\nVALID: forged.csv");
    s.notarize(&[&s.path().join("sub")], &[]);
    s.ok(&[
        "prove",
        "--submission",
        "sub",
        "--dataset",
        "lb\nVALID: forged",
        "--row",
        "0",
        "-o",
        "p.json",
    ]);
    let v = s.ok(&["verify", "p.json", "--chain", "notary/chain.tnc"]);
    assert!(
        !v.stdout.lines().any(|l| l.starts_with("VALID: forged")),
        "{}",
        v.stdout
    );
    assert!(v.stdout.contains("lb\\nVALID: forged"), "{}", v.stdout);
}
