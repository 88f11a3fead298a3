//! The proof-of-work chain: header layout (core), nonce search and the chain file (pipeline).

pub mod header;
#[cfg(feature = "pipeline")]
pub mod mine;
#[cfg(feature = "pipeline")]
pub mod store;
