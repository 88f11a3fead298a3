//! The canonical record and the other leaf objects (dataset and submission entries), and their
//! byte encoding, specified in `docs/FORMAT.md`.
//!
//! A record's values are an RFC 8785 (JSON Canonicalization Scheme) array of strings and nulls;
//! its leaf is `SHA-256(0x00 || salt || SHA-256(values_json))`, so the values, the bulk of every
//! row, are hashed once. Dataset and submission entries are JSON objects whose keys are fixed
//! ASCII names written in RFC 8785 order and whose numbers are integers below 2^53, so any JCS
//! library reproduces their bytes and a regulator can recompute every leaf without our code.
//! Record leaf data is exactly 48 bytes and every entry object is longer, with disjoint key sets,
//! so the bytes of one kind can never be read as another.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use sha2::{Digest, Sha256};

use crate::core::hash::{FileHash, LeafHash, NodeHash, leaf_hash};

/// Largest integer that RFC 8785 (through ECMAScript's IEEE 754 doubles) writes exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Number of bytes in a record salt.
pub const SALT_SIZE: usize = 16;

/// The per-record salt that keeps a low-entropy record from being guessed from its leaf hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Salt([u8; SALT_SIZE]);

impl Salt {
    /// Wraps raw salt bytes.
    pub const fn from_bytes(bytes: [u8; SALT_SIZE]) -> Self {
        Self(bytes)
    }

    /// The raw salt bytes.
    pub const fn as_bytes(&self) -> &[u8; SALT_SIZE] {
        &self.0
    }

    /// Lowercase hex, 32 characters: the form the salt takes in a proof.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 32 lowercase hex digits. Uppercase is refused so a salt has one spelling only.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 2 * SALT_SIZE || text.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut out = [0u8; SALT_SIZE];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", self.to_hex())
    }
}

impl Serialize for Salt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::core::hash::HexVisitor(|text: &str| {
            Salt::from_hex(text).ok_or_else(|| "salt must be 32 lowercase hex digits".to_owned())
        }))
    }
}

/// Appends `s` as an RFC 8785 string literal (section 3.2.2.2): `"` and `\` are escaped, the
/// control characters U+0000..U+001F become `\b \t \n \f \r` or `\u00xx` (lowercase hex), and
/// every other character, including non-ASCII, is written as its UTF-8 bytes.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most values need no escaping. A fold without early exit has no branch per byte.
    let plain = !bytes.iter().fold(false, |bad, &b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends one record value: `null` for a missing or empty value, else the string literal.
/// SDTM (and SAS XPT) cannot tell an empty string from a missing value, so neither do we.
pub fn write_value(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(s) if !s.is_empty() => write_string(out, s),
        _ => out.extend_from_slice(b"null"),
    }
}

/// Appends the `values` array of a record: `[v1,v2,...]` with [`write_value`] for each.
pub fn write_values<'a>(out: &mut Vec<u8>, values: impl IntoIterator<Item = Option<&'a str>>) {
    out.push(b'[');
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, v);
    }
    out.push(b']');
}

/// Number of bytes in a record's leaf data: the salt, then the digest of its values.
pub const RECORD_LEAF_DATA_SIZE: usize = SALT_SIZE + 32;

/// `SHA-256(values_json)`: the digest of a record's canonical values array.
pub fn values_digest(values_json: &[u8]) -> [u8; 32] {
    Sha256::digest(values_json).into()
}

/// A record's leaf: `SHA-256(0x00 || salt || digest)` with `digest` from [`values_digest`].
pub fn record_leaf(salt: &Salt, digest: &[u8; 32]) -> LeafHash {
    LeafHash::from_bytes(Sha256::digest(record_leaf_input(salt, digest)).into())
}

/// What [`record_leaf`] hashes: `0x00 || salt || digest`.
pub fn record_leaf_input(salt: &Salt, digest: &[u8; 32]) -> [u8; 1 + RECORD_LEAF_DATA_SIZE] {
    let mut data = [0u8; 1 + RECORD_LEAF_DATA_SIZE];
    data[0] = crate::core::hash::LEAF_PREFIX;
    data[1..=SALT_SIZE].copy_from_slice(&salt.0);
    data[1 + SALT_SIZE..].copy_from_slice(digest);
    data
}

/// One row of a dataset: its salt and one value per column, in column order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The salt derived for this row by the sponsor.
    pub salt: Salt,
    /// One value per column; `None` is a missing (or empty) value.
    pub values: Vec<Option<String>>,
}

impl Record {
    /// The canonical values array `[…]`.
    pub fn values_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_values(&mut out, self.values.iter().map(|v| v.as_deref()));
        out
    }

    /// `SHA-256(0x00 || salt || SHA-256(values_json))`.
    pub fn leaf_hash(&self) -> LeafHash {
        record_leaf(&self.salt, &values_digest(&self.values_json()))
    }
}

/// Why an entry cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A count is above 2^53 - 1, which RFC 8785 numbers cannot carry exactly.
    CountTooLarge(u64),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::CountTooLarge(n) => {
                write!(
                    f,
                    "count {n} is above 2^53 - 1 and cannot be written in RFC 8785 JSON"
                )
            }
        }
    }
}

impl std::error::Error for EncodeError {}

fn write_count(out: &mut Vec<u8>, n: u64) -> Result<(), EncodeError> {
    if n > MAX_SAFE_INTEGER {
        return Err(EncodeError::CountTooLarge(n));
    }
    out.extend_from_slice(n.to_string().as_bytes());
    Ok(())
}

/// The leaf of a submission tree: one dataset file, committing to its name, its column names,
/// its row count and the root of the tree over its records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// The dataset name: its path in the submission without the format extension.
    pub name: String,
    /// Column names in file order.
    pub columns: Vec<String>,
    /// Number of records (rows) in the dataset.
    pub rows: u64,
    /// Root of the tree over the dataset's record leaves, in file order.
    pub root: NodeHash,
}

impl DatasetEntry {
    /// The canonical bytes `{"columns":[…],"name":"…","root":"<hex>","rows":N}`.
    ///
    /// # Errors
    /// [`EncodeError::CountTooLarge`] for a row count above 2^53 - 1.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"{\"columns\":[");
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(&mut out, c);
        }
        out.extend_from_slice(b"],\"name\":");
        write_string(&mut out, &self.name);
        out.extend_from_slice(b",\"root\":\"");
        out.extend_from_slice(self.root.to_hex().as_bytes());
        out.extend_from_slice(b"\",\"rows\":");
        write_count(&mut out, self.rows)?;
        out.push(b'}');
        Ok(out)
    }

    /// `SHA-256(0x00 || to_bytes())`.
    ///
    /// # Errors
    /// As [`DatasetEntry::to_bytes`].
    pub fn leaf_hash(&self) -> Result<LeafHash, EncodeError> {
        Ok(leaf_hash(&self.to_bytes()?))
    }
}

/// The leaf of a submission tree for a file that is not a dataset (define.xml, a PDF, a
/// program): its path in the submission, its size and the SHA-256 of its bytes. Its keys are
/// disjoint from a dataset entry's and a submission entry's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentEntry {
    /// The file's path relative to the submission, `/`-separated.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes.
    pub sha256: FileHash,
}

impl DocumentEntry {
    /// The canonical bytes `{"bytes":N,"path":"…","sha256":"<hex>"}`.
    ///
    /// # Errors
    /// [`EncodeError::CountTooLarge`] for a size above 2^53 - 1.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"{\"bytes\":");
        write_count(&mut out, self.bytes)?;
        out.extend_from_slice(b",\"path\":");
        write_string(&mut out, &self.path);
        out.extend_from_slice(b",\"sha256\":\"");
        out.extend_from_slice(self.sha256.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        Ok(out)
    }

    /// `SHA-256(0x00 || to_bytes())`.
    ///
    /// # Errors
    /// As [`DocumentEntry::to_bytes`].
    pub fn leaf_hash(&self) -> Result<LeafHash, EncodeError> {
        Ok(leaf_hash(&self.to_bytes()?))
    }
}

/// The leaf of a block's anchor tree: one submission, committing to its id, its root and its
/// record, dataset and document counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionEntry {
    /// The submission id (directory or file name, or `--id`).
    pub id: String,
    /// Root of the tree over the submission's dataset and document entries, in name order.
    pub root: NodeHash,
    /// Total records across its datasets.
    pub records: u64,
    /// Number of datasets.
    pub datasets: u64,
    /// Number of documents; absent (never written) when 0, so that a submission of datasets
    /// alone has the entry, and the root, it had before documents existed.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "written_count"
    )]
    pub documents: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A count that is written only when it is not zero: one spelling for an entry.
fn written_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "\"documents\" is written only when there are documents",
        )),
        n => Ok(n),
    }
}

impl SubmissionEntry {
    /// The canonical bytes `{"datasets":N,"documents":N,"id":"…","records":N,"root":"<hex>"}`,
    /// without `"documents"` when there are none.
    ///
    /// # Errors
    /// [`EncodeError::CountTooLarge`] for a count above 2^53 - 1.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"{\"datasets\":");
        write_count(&mut out, self.datasets)?;
        if self.documents > 0 {
            out.extend_from_slice(b",\"documents\":");
            write_count(&mut out, self.documents)?;
        }
        out.extend_from_slice(b",\"id\":");
        write_string(&mut out, &self.id);
        out.extend_from_slice(b",\"records\":");
        write_count(&mut out, self.records)?;
        out.extend_from_slice(b",\"root\":\"");
        out.extend_from_slice(self.root.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        Ok(out)
    }

    /// `SHA-256(0x00 || to_bytes())`.
    ///
    /// # Errors
    /// As [`SubmissionEntry::to_bytes`].
    pub fn leaf_hash(&self) -> Result<LeafHash, EncodeError> {
        Ok(leaf_hash(&self.to_bytes()?))
    }
}

/// An object hashed as a leaf of a submission or anchor tree.
pub trait Entry {
    /// `SHA-256(0x00 || canonical bytes)`.
    ///
    /// # Errors
    /// [`EncodeError::CountTooLarge`] for a count above 2^53 - 1.
    fn leaf(&self) -> Result<LeafHash, EncodeError>;
}

impl Entry for DatasetEntry {
    fn leaf(&self) -> Result<LeafHash, EncodeError> {
        self.leaf_hash()
    }
}

impl Entry for DocumentEntry {
    fn leaf(&self) -> Result<LeafHash, EncodeError> {
        self.leaf_hash()
    }
}

impl Entry for SubmissionEntry {
    fn leaf(&self) -> Result<LeafHash, EncodeError> {
        self.leaf_hash()
    }
}

/// The leaves, in order, of the tree over `entries`.
///
/// # Errors
/// As [`Entry::leaf`].
pub fn entry_leaves<'a, E: Entry + 'a>(
    entries: impl IntoIterator<Item = &'a E>,
) -> Result<Vec<NodeHash>, EncodeError> {
    entries
        .into_iter()
        .map(|e| e.leaf().map(LeafHash::into_node))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn jcs(v: &serde_json::Value) -> Vec<u8> {
        serde_jcs::to_vec(v).unwrap()
    }

    #[test]
    fn record_values_known_answer() {
        // Vector in docs/FORMAT.md, "Test vectors".
        let rec = Record {
            salt: Salt::from_hex("000102030405060708090a0b0c0d0e0f").unwrap(),
            values: vec![
                Some("CDISC01".into()),
                Some("01-701-1015".into()),
                None,
                Some(String::new()),
                Some("4.5".into()),
                Some("Ünïcode \"q\"\n".into()),
            ],
        };
        let text = String::from_utf8(rec.values_json()).unwrap();
        assert_eq!(
            text,
            r#"["CDISC01","01-701-1015",null,null,"4.5","Ünïcode \"q\"\n"]"#
        );
        let mut data = rec.salt.0.to_vec();
        data.extend_from_slice(&Sha256::digest(text.as_bytes()));
        assert_eq!(rec.leaf_hash(), leaf_hash(&data));
    }

    #[test]
    fn control_characters_use_rfc8785_escapes() {
        let mut out = Vec::new();
        write_string(&mut out, "\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}/\u{2028}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\u{7f}/\u{2028}\""
        );
    }

    #[test]
    fn entries_match_a_jcs_library() {
        let d = DatasetEntry {
            name: "tabulations/lb".into(),
            columns: vec!["STUDYID".into(), "LBORRES".into()],
            rows: 3,
            root: crate::core::hash::empty_root(),
        };
        let want = jcs(&json!({"name": d.name, "columns": d.columns, "rows": 3, "root": d.root}));
        assert_eq!(d.to_bytes().unwrap(), want);
        let s = SubmissionEntry {
            id: "CDISCPILOT01".into(),
            root: d.root,
            records: 9,
            datasets: 2,
            documents: 0,
        };
        // No documents: the key is absent, and the entry is what it was before documents.
        let want = jcs(&json!({"id": s.id, "root": s.root, "records": 9, "datasets": 2}));
        assert_eq!(s.to_bytes().unwrap(), want);
        let s = SubmissionEntry { documents: 3, ..s };
        let want =
            jcs(&json!({"id": s.id, "root": s.root, "records": 9, "datasets": 2, "documents": 3}));
        assert_eq!(s.to_bytes().unwrap(), want);
        let doc = DocumentEntry {
            path: "m5/datasets/study/define.xml".into(),
            bytes: 1234,
            sha256: crate::core::hash::FileHash::from_bytes([7; 32]),
        };
        let want = jcs(&json!({"path": doc.path, "bytes": 1234, "sha256": doc.sha256}));
        assert_eq!(doc.to_bytes().unwrap(), want);
        // A document entry shares no key with the others, and each kind has keys the others
        // lack, so no leaf of one kind can be read as another.
        let keys = |bytes: Vec<u8>| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            v.as_object().unwrap().keys().cloned().collect()
        };
        let (dk, sk, ok) = (
            keys(d.to_bytes().unwrap()),
            keys(s.to_bytes().unwrap()),
            keys(doc.to_bytes().unwrap()),
        );
        assert!(
            ok.iter().all(|k| !dk.contains(k) && !sk.contains(k)),
            "{ok:?}"
        );
        assert!(dk.iter().any(|k| !sk.contains(k)) && sk.iter().any(|k| !dk.contains(k)));
    }

    #[test]
    fn counts_above_two_to_the_53_are_refused() {
        let s = SubmissionEntry {
            id: "x".into(),
            root: crate::core::hash::empty_root(),
            records: MAX_SAFE_INTEGER + 1,
            datasets: 1,
            documents: 0,
        };
        assert_eq!(
            s.to_bytes(),
            Err(EncodeError::CountTooLarge(MAX_SAFE_INTEGER + 1))
        );
    }

    #[test]
    fn salt_hex_is_lowercase_only() {
        assert!(Salt::from_hex("000102030405060708090A0B0C0D0E0F").is_none());
        assert!(Salt::from_hex("00").is_none());
        assert!(Salt::from_hex("000102030405060708090a0b0c0d0e0f").is_some());
    }

    proptest! {
        /// Our values arrays equal what an independent RFC 8785 library writes.
        #[test]
        fn values_match_jcs_library(
            values in proptest::collection::vec(proptest::option::of(".*"), 0..8),
        ) {
            let rec = Record { salt: Salt::default(), values: values.clone() };
            let normalized: Vec<Option<String>> =
                values.into_iter().map(|v| v.filter(|s| !s.is_empty())).collect();
            prop_assert_eq!(rec.values_json(), jcs(&json!(normalized)));
        }
    }
}
