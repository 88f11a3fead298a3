//! A test hook: in a build with the `test-hooks` feature, `TRIALNOTARY_TEST_CRASH_AT=<point>` in
//! the environment aborts the process at that point, as SIGKILL or a power cut would, so that the
//! crash tests can stop a run exactly there. Points: `ingested`, `secret-saved`, `mid-archive`
//! (after the first submission's files are moved into place), `archived`, `mid-append`,
//! `appended`.
//!
//! The feature is on only in the builds `cargo test` makes (the crate lists itself as a
//! dev-dependency with it); a production build compiles these to nothing, so no environment can
//! make a nightly run abort.

/// The environment variable naming the point to crash at.
pub const VAR: &str = "TRIALNOTARY_TEST_CRASH_AT";

/// Whether the environment asks for a crash at `point` (never, without `test-hooks`).
pub fn armed(point: &str) -> bool {
    cfg!(feature = "test-hooks") && std::env::var_os(VAR).is_some_and(|v| v == point)
}

/// Aborts the process if the environment asks for a crash at `point`.
pub fn hit(point: &str) {
    if armed(point) {
        std::process::abort();
    }
}
