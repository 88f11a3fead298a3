//! The proof-of-work chain: header layout and chain-file format (core), nonce search and the
//! chain file's I/O (pipeline).

pub mod format;
pub mod header;
#[cfg(feature = "pipeline")]
pub mod mine;
#[cfg(feature = "pipeline")]
pub mod store;
