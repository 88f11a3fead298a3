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
