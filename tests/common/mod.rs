//! Helpers shared by the integration tests: run the real binary in a fresh temp directory and
//! fingerprint a store.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Difficulty used by tests: mined in microseconds.
pub const TEST_DIFFICULTY: &str = "6";

/// The repository's fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A scratch directory that the binary runs in.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// What a run printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("notary")
    }

    /// Runs the binary with `args` in the scratch directory.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_trialnotary"))
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap();
        Run::from(out)
    }

    /// Runs and asserts the exit code, returning the run.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "{args:?} failed\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// Notarizes `paths` (with extra args) at test difficulty, returning the JSON report.
    pub fn notarize(&self, paths: &[&Path], extra: &[&str]) -> serde_json::Value {
        let mut args: Vec<String> = vec![
            "notarize".into(),
            "--json".into(),
            "--difficulty".into(),
            TEST_DIFFICULTY.into(),
        ];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&refs).json()
    }

    /// Notarizes `path` as submission `id` at test difficulty with `threads` rayon threads: the
    /// submission's records and root, or what the run printed on stderr when it failed.
    pub fn notarize_threads(
        &self,
        path: &Path,
        id: &str,
        threads: usize,
    ) -> Result<(u64, String), String> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary"))
            .args([
                "notarize",
                "--json",
                "--difficulty",
                TEST_DIFFICULTY,
                "--id",
                id,
            ])
            .arg(path)
            .env("RAYON_NUM_THREADS", threads.to_string())
            .current_dir(self.path())
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let submission = &report["submissions"][0];
        Ok((
            submission["records"].as_u64().unwrap(),
            submission["root"].as_str().unwrap().to_owned(),
        ))
    }

    /// Proves one row into `out`, asserting success.
    pub fn prove_row(&self, submission: &str, dataset: &str, row: u64, out: &str) -> Run {
        let row = row.to_string();
        self.ok(&[
            "prove",
            "--submission",
            submission,
            "--dataset",
            dataset,
            "--row",
            &row,
            "-o",
            out,
        ])
    }

    /// Writes a file under the scratch directory, creating parents.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Copies a fixture file into the scratch directory.
    pub fn copy_fixture(&self, fixture: &str, rel: &str) -> PathBuf {
        let bytes = std::fs::read(fixtures().join(fixture)).unwrap();
        self.write(rel, &bytes)
    }
}

/// Path → SHA-256 of every file below `dir` (empty when `dir` does not exist).
pub fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                out.insert(
                    format!("{}/", p.strip_prefix(dir).unwrap().display()),
                    String::new(),
                );
                stack.push(p);
            } else {
                let h = hex::encode(Sha256::digest(std::fs::read(&p).unwrap()));
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), h);
            }
        }
    }
    out
}

/// A tmpfs mounted for a test and unmounted when dropped, so that a test can fill a filesystem
/// or make one read-only.
pub struct Mount {
    pub dir: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` (e.g. "4m") at `dir`, or says why it cannot (not root, no
    /// mount permission in this container).
    pub fn tmpfs(dir: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Remounts it read-only.
    pub fn read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
