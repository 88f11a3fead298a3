//! trialnotary: notarize clinical-trial datasets into salted RFC 9162 Merkle trees anchored in an
//! append-only proof-of-work chain, and verify the resulting inclusion proofs offline.
//!
//! The crate has two halves separated by the `pipeline` Cargo feature:
//!
//! * the **verification core** (always built): [`hash`], [`record`], [`tree`], [`proof`],
//!   [`verify`], [`note`], [`consistency`] and [`chain::header`]. It depends only on sha2, hex,
//!   serde, serde_json, rs_merkle, base64 and ed25519-dalek, reads no files and never panics on
//!   untrusted bytes, so a regulator can audit it in one sitting
//!   (`cargo build --lib --no-default-features`);
//! * the **pipeline** (feature `pipeline`, on by default): ingest of CSV, Arrow IPC and Parquet,
//!   salting, the store, mining, and the command-line interface.
//!
//! The byte formats are specified in `docs/FORMAT.md`.

#![forbid(unsafe_code)]

pub mod chain;
pub mod consistency;
pub mod hash;
pub mod note;
pub mod proof;
pub mod record;
pub mod session;
pub mod tree;
pub mod verify;

#[cfg(feature = "pipeline")]
pub mod archive;
#[cfg(feature = "pipeline")]
pub mod crashpoint;
#[cfg(feature = "pipeline")]
pub mod generate;
#[cfg(feature = "pipeline")]
pub mod ingest;
#[cfg(feature = "pipeline")]
pub mod pipeline;
#[cfg(feature = "pipeline")]
pub mod prove;
#[cfg(feature = "pipeline")]
pub mod salt;
#[cfg(feature = "pipeline")]
pub mod signing;
