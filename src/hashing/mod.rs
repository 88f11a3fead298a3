//! The sponsor's hashing: per-row salts and leaves, and the Merkle trees and audit paths built
//! from them.

pub mod lanes;
pub mod salt;
pub mod tree;
