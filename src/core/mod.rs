//! The trusted core: exactly what a regulator's verifier needs, and what builds with
//! `--no-default-features`. It reads no files (its callers hand it bytes), never panics on
//! untrusted input, and returns a reason for every rejection.

pub mod chain;
pub mod consistency;
pub mod evidence;
pub mod hash;
pub mod header;
pub mod inclusion;
pub mod note;
pub mod proof;
pub mod record;
pub mod session;
pub mod verify;
