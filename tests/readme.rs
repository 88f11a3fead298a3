//! The README, followed literally: every `sh` block runs, in order, as one script in a fresh
//! directory holding a copy of `fixtures/`, with the binaries under test first on the `PATH`.
//!
//! Two rewrites make the script run the binaries this test was built with: `cargo run --release
//! --` is `trialnotary`, and `target/release/trialnotary-verify` is `trialnotary-verify`. The
//! lines that build, install, test or benchmark (`cargo build`, `cargo install`, `cargo test`,
//! `cargo bench`, `bash benches/`, the browser test's `npm ci` and `node tests/browser/`) are not
//! run here: they run in the repository, not in a scratch directory; `.ci/run` runs the set-up,
//! install and browser-test commands as printed, and the benchmarks are run by hand. Any other
//! line runs as printed.

use std::path::Path;
use std::process::Command;

mod common;

/// Lines that start so are not run by this test (see the module comment).
const NOT_RUN_HERE: [&str; 7] = [
    "cargo build ",
    "cargo install ",
    "cargo test",
    "cargo bench",
    "bash benches/",
    "(cd tests/browser && npm ci)",
    "node tests/browser/",
];

/// The README's `sh` blocks as one script, and the lines it leaves out.
fn script(readme: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut skipped = Vec::new();
    let mut in_sh = false;
    // Whether the line before ended in `\`, and if so whether its command is left out.
    let mut continues: Option<bool> = None;
    for line in readme.lines() {
        if let Some(info) = line.strip_prefix("```") {
            in_sh = !in_sh && info.trim() == "sh";
            continues = None;
            continue;
        }
        if !in_sh {
            continue;
        }
        let skip = continues.unwrap_or_else(|| NOT_RUN_HERE.iter().any(|p| line.starts_with(p)));
        continues = line.ends_with('\\').then_some(skip);
        if skip {
            skipped.push(line.to_owned());
            continue;
        }
        let line = line
            .replace("cargo run --release -- ", "trialnotary ")
            .replace("target/release/trialnotary-verify", "trialnotary-verify");
        out.push_str(&line);
        out.push('\n');
    }
    (out, skipped)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn every_command_of_the_readme_runs_as_printed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (script, skipped) = script(&readme);
    assert!(
        script.contains("trialnotary notarize fixtures/ectd/0000"),
        "the first set-up command: {script}"
    );
    // Only what the module comment names is left out.
    assert!(
        skipped
            .iter()
            .any(|l| l.starts_with("cargo test --release")),
        "{skipped:?}"
    );
    for line in &skipped {
        assert!(NOT_RUN_HERE.iter().any(|p| line.starts_with(p)), "{line}");
    }

    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("fixtures"), &dir.path().join("fixtures"));
    let bin = Path::new(env!("CARGO_BIN_EXE_trialnotary"))
        .parent()
        .unwrap();
    assert!(bin.join("trialnotary-verify").exists());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-x", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's commands failed ({}):\n--- stdout\n{stdout}\n--- stderr (each command after +)\n{stderr}",
        out.status
    );

    // What the commands must have done, beyond exiting 0.
    let valid = stdout.lines().filter(|l| l.starts_with("VALID")).count();
    assert!(valid >= 10, "{valid} VALID verdicts:\n{stdout}");
    assert!(stdout.contains("the file is byte for byte the notarized document"));
    assert!(stdout.contains("every row of the data file matches the notarized dataset"));
    assert!(stdout.contains("self-contained"), "{stdout}");
    assert!(stdout.contains("cosigned by witness.example"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["submissions"][0]["status"], "unchanged");
    for file in [
        "lb-7.json",
        "define.json",
        "adlb-salts.json",
        "trust.txt",
        "c-1-2.json",
    ] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
}

#[test]
fn the_script_is_what_the_readme_prints() {
    let readme = "text\n```sh\ncargo run --release -- notarize a   # note\ncargo test --release\n\
                  trialnotary x \\\n    --y\n```\n```text\nnot run\n```\n```sh\n\
                  cargo build --release \\\n    --bin z\ntarget/release/trialnotary-verify p\n```\n";
    let (script, skipped) = script(readme);
    assert_eq!(
        script,
        "trialnotary notarize a   # note\ntrialnotary x \\\n    --y\ntrialnotary-verify p\n"
    );
    assert_eq!(
        skipped,
        [
            "cargo test --release",
            "cargo build --release \\",
            "    --bin z"
        ]
    );
}
