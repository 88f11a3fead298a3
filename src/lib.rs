//! trialnotary: notarize clinical-trial datasets into salted RFC 9162 Merkle trees anchored in an
//! append-only proof-of-work chain, and verify the resulting inclusion proofs offline.
//!
//! The crate has two halves separated by the `pipeline` Cargo feature:
//!
//! * the **verification core** ([`core`], always built): what a regulator's verifier needs and
//!   nothing else. It depends only on sha2, const-hex, serde, serde_json, base64 and ed25519-dalek,
//!   reads no files and never panics on untrusted bytes, so a regulator can audit it in one
//!   sitting (`cargo build --lib --no-default-features`);
//! * the **pipeline** (feature `pipeline`, on by default): ingest, hashing, the store, mining,
//!   proving and the command-line interface.
//!
//! The byte formats are specified in `docs/FORMAT.md`.

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
