//! trialnotary: notarize clinical-trial datasets into salted RFC 9162 Merkle trees anchored in an
//! append-only proof-of-work chain, and verify the resulting inclusion proofs offline.
//!
//! The rooms, and what each owns (the byte formats are specified in `docs/FORMAT.md`):
//!
//! | room | owns |
//! |---|---|
//! | [`core`] | the trusted core, exactly what builds with `--no-default-features`: hashes, canonical records and entries, RFC 9162 inclusion, the proof format and its walk, the block header, chain parsing and rules, signed notes, checkpoints, trust stores, consistency, and one verifier run as both verifiers do it |
//! | [`ingest`] | one reader per dataset format, streaming rows as canonical values arrays |
//! | [`hashing`] | the sponsor's hashing at speed: salts and record leaves several rows side by side, trees, audit paths |
//! | [`store`] | the store directory: chain file I/O, locks, manifests, leaves files, the salt secret |
//! | [`notarize`] | one run's phases: read and hash, stage, mine, commit |
//! | [`prove`] | proofs built from the store and the re-read data |
//! | [`datacheck`] | a regulator's copy of a dataset checked against a dataset proof |
//! | [`signing`] | sponsor and witness signing keys |
//! | [`generate`] | the deterministic study generator for fixtures and benchmarks |
//! | [`crashpoint`] | the crash-injection hook the crash tests use |
//!
//! Everything but [`core`] is behind the `pipeline` feature (on by default). The core depends
//! only on sha2, const-hex, serde, serde_json, base64 and ed25519-dalek, reads no files and never
//! panics on untrusted bytes, so a regulator can audit it in one sitting.

#![forbid(unsafe_code)]

pub mod core;

#[cfg(feature = "pipeline")]
pub mod crashpoint;
#[cfg(feature = "pipeline")]
pub mod datacheck;
#[cfg(feature = "pipeline")]
pub mod generate;
#[cfg(feature = "pipeline")]
pub mod hashing;
#[cfg(feature = "pipeline")]
pub mod ingest;
#[cfg(feature = "pipeline")]
pub mod notarize;
#[cfg(feature = "pipeline")]
pub mod prove;
#[cfg(feature = "pipeline")]
pub mod signing;
#[cfg(feature = "pipeline")]
pub mod store;
