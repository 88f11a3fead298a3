//! A test hook: with `TRIALNOTARY_TEST_CRASH_AT=<point>` in the environment the process aborts at
//! that point, as SIGKILL or a power cut would, so the crash tests can stop a run exactly there.
//! Points: `ingested`, `secret-saved`, `mid-archive` (after the first submission's files are
//! moved into place), `archived`, `mid-append`, `appended`.

/// The environment variable naming the point to crash at.
pub const VAR: &str = "TRIALNOTARY_TEST_CRASH_AT";

/// Whether the environment asks for a crash at `point`.
pub fn armed(point: &str) -> bool {
    std::env::var_os(VAR).is_some_and(|v| v == point)
}

/// Aborts the process if the environment asks for a crash at `point`.
pub fn hit(point: &str) {
    if armed(point) {
        std::process::abort();
    }
}
