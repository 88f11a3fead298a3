//! The store's salt secret and the per-record salt derived from it, so that no per-row salt is
//! ever stored and a proof discloses only its own record's salt.
//!
//! `salt = SHA-256(secret || SHA-256(tag || u64be(len(dataset)) || dataset) || u64be(row) ||
//! digest)[..16]`, where `digest = SHA-256(values_json)` is the one the leaf commits to. This is
//! AMAC (Bellare, Bernstein and Tessaro, EUROCRYPT 2016: a keyed prefix hash with truncated
//! output, a PRF because the truncation hides the state a length extension would need). The
//! secret and the dataset's tag digest fill exactly one SHA-256 block, hashed once per dataset,
//! so each salt costs one compression. The digest is part of the input so that one disclosed salt
//! never helps guess the record at the same position of another submission.

use sha2::{Digest, Sha256};

use crate::core::hash::LeafHash;
use crate::core::record::{RECORD_LEAF_DATA_SIZE, SALT_SIZE, Salt, record_leaf_input};
use crate::hashing::lanes as short;

/// Domain-separation tag of the dataset part of every salt derivation.
const SALT_TAG: &[u8] = b"trialnotary/salt/v2";

/// Domain-separation tag of the secret's fingerprint.
const FINGERPRINT_TAG: &[u8] = b"trialnotary/secret-fingerprint/v1";

/// Bytes in the store secret.
pub const SECRET_SIZE: usize = 32;

/// The sponsor's salt secret. Never leaves the store; never written to the chain or a proof.
#[derive(Clone)]
pub struct Secret([u8; SECRET_SIZE]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A fresh secret from the operating system's random source.
    ///
    /// # Errors
    /// When the operating system has no random source.
    pub fn generate() -> std::io::Result<Self> {
        let mut b = [0u8; SECRET_SIZE];
        getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self(b))
    }

    /// The secret as 64 hex digits (its file form).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A fingerprint to recognize the secret by without revealing it: the first 16 bytes of
    /// `SHA-256("trialnotary/secret-fingerprint/v1" || secret)`, in hex. Manifests record it, so
    /// that a missing or replaced secret is refused by name instead of passing for changed data.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(FINGERPRINT_TAG);
        h.update(self.0);
        hex::encode(&h.finalize()[..16])
    }

    /// Parses the file form.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut b = [0u8; SECRET_SIZE];
        hex::decode_to_slice(text.trim(), &mut b).ok()?;
        Some(Self(b))
    }
}

/// Derives salts for the records of one dataset.
#[derive(Clone)]
pub struct Salter {
    /// The SHA-256 state after the first block, `secret || SHA-256(tag || dataset)`.
    prefix: [u32; 8],
}

impl Salter {
    /// A salter for `dataset` under `secret`.
    pub fn new(secret: &Secret, dataset: &str) -> Self {
        let mut tag = Sha256::new();
        tag.update(SALT_TAG);
        tag.update((dataset.len() as u64).to_be_bytes());
        tag.update(dataset.as_bytes());
        let mut block = [0u8; 64];
        block[..SECRET_SIZE].copy_from_slice(&secret.0);
        block[SECRET_SIZE..].copy_from_slice(&tag.finalize());
        Self {
            prefix: short::absorb(short::INITIAL, &block),
        }
    }

    /// The salt and the leaf of row `row` whose canonical values array is `values_json`: the
    /// sponsor's whole per-row computation (docs/FORMAT.md section 2).
    pub fn salted_leaf(&self, row: u64, values_json: &[u8]) -> (Salt, LeafHash) {
        let [one] = self.salted_leaves([row], [values_json]);
        one
    }

    /// [`Self::salted_leaf`] for `N` rows at once, hashed side by side ([`short::finish_lanes`]):
    /// the pipeline's per-row work, [`short::LANES`] rows at a time.
    pub fn salted_leaves<const N: usize>(
        &self,
        rows: [u64; N],
        values_json: [&[u8]; N],
    ) -> [(Salt, LeafHash); N] {
        let digests = short::digest_lanes(values_json);
        let mut tails = [[0u8; SALT_INPUT]; N];
        for (t, (row, digest)) in tails.iter_mut().zip(rows.iter().zip(&digests)) {
            *t = salt_input(*row, digest);
        }
        let salts =
            short::finish_lanes([self.prefix; N], [64; N], tails.each_ref().map(|t| &t[..]))
                .map(truncate);
        let mut data = [[0u8; 1 + RECORD_LEAF_DATA_SIZE]; N];
        for (d, (salt, digest)) in data.iter_mut().zip(salts.iter().zip(&digests)) {
            *d = record_leaf_input(salt, digest);
        }
        let leaves =
            short::finish_lanes([short::INITIAL; N], [0; N], data.each_ref().map(|d| &d[..]));
        std::array::from_fn(|l| (salts[l], LeafHash::from_bytes(leaves[l])))
    }

    /// The salt of row `row` whose canonical values array has digest `digest`
    /// ([`crate::core::record::values_digest`]).
    pub fn salt(&self, row: u64, digest: &[u8; 32]) -> Salt {
        truncate(short::finish(self.prefix, 64, &salt_input(row, digest)))
    }
}

/// Bytes a salt hashes after the secret's block: `u64be(row) || digest`.
const SALT_INPUT: usize = 8 + 32;

fn salt_input(row: u64, digest: &[u8; 32]) -> [u8; SALT_INPUT] {
    let mut tail = [0u8; SALT_INPUT];
    tail[..8].copy_from_slice(&row.to_be_bytes());
    tail[8..].copy_from_slice(digest);
    tail
}

/// The salt: the first [`SALT_SIZE`] bytes of the keyed hash.
fn truncate(full: [u8; 32]) -> Salt {
    let mut out = [0u8; SALT_SIZE];
    out.copy_from_slice(&full[..SALT_SIZE]);
    Salt::from_bytes(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::{record_leaf, values_digest};

    #[test]
    fn salts_depend_on_every_input() {
        let s = Secret::from_hex(&"11".repeat(32)).unwrap();
        let a = Salter::new(&s, "dm");
        let (x, y) = ([1u8; 32], [2u8; 32]);
        let base = a.salt(0, &x);
        assert_eq!(base, a.salt(0, &x));
        assert_ne!(base, a.salt(1, &x));
        assert_ne!(base, a.salt(0, &y));
        assert_ne!(base, Salter::new(&s, "ae").salt(0, &x));
        let other = Secret::from_hex(&"22".repeat(32)).unwrap();
        assert_ne!(base, Salter::new(&other, "dm").salt(0, &x));
    }

    #[test]
    fn lanes_match_one_row_at_a_time() {
        let s = Secret::from_hex(&"33".repeat(32)).unwrap();
        let salter = Salter::new(&s, "lb");
        let values: Vec<Vec<u8>> = (0..short::LANES).map(|i| vec![b'x'; 50 * i + 3]).collect();
        // Repeated and extreme row numbers among them.
        let rows: [u64; short::LANES] =
            std::array::from_fn(|l| [7, 0, 7, u64::MAX][l % 4] ^ l as u64);
        let got = salter.salted_leaves(rows, std::array::from_fn(|l| &values[l][..]));
        for l in 0..short::LANES {
            // The single-message functions, the digest through sha2's streaming API.
            let digest = values_digest(&values[l]);
            let salt = salter.salt(rows[l], &digest);
            assert_eq!(got[l], (salt, record_leaf(&salt, &digest)), "lane {l}");
            assert_eq!(got[l], salter.salted_leaf(rows[l], &values[l]), "lane {l}");
        }
    }

    #[test]
    fn known_answer() {
        // Recomputed independently with Python's hashlib; see docs/FORMAT.md.
        let s = Secret::from_hex(&"00".repeat(32)).unwrap();
        let digest = values_digest(b"[\"CDISC01\",null]");
        let salt = Salter::new(&s, "dm").salt(0, &digest);
        assert_eq!(salt.to_hex(), KNOWN_SALT);
    }

    const KNOWN_SALT: &str = "5b114e705657b5bf9dee19d87ac31bf8";
}
