//! The versioned JSON proof file: what it holds, how it is parsed from untrusted bytes and how it
//! is written. Checking a proof is [`crate::core::verify`]'s job, not this module's.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::core::hash::{BlockHash, NodeHash};
use crate::core::header::BlockHeader;
use crate::core::record::{DatasetEntry, DocumentEntry, Salt, SubmissionEntry};

/// The `format` field of every proof file.
pub const PROOF_FORMAT: &str = "trialnotary-proof";

/// The proof format version this code writes: 3 adds documents and submission proofs.
pub const PROOF_VERSION: u32 = 3;

/// The oldest proof version read: version 2 proofs (records and datasets) verify unchanged.
pub const OLDEST_PROOF_VERSION: u32 = 2;

/// Largest proof file [`Proof::from_json`] accepts, so hostile input cannot exhaust memory.
pub const MAX_PROOF_BYTES: usize = 1 << 30;

/// What a proof proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProofKind {
    /// One record (row) of one dataset.
    Record,
    /// One whole dataset file, as an entry of its submission.
    Dataset,
    /// One document (any other file of a submission), as an entry of its submission.
    Document,
    /// One whole submission, as an entry of its block.
    Submission,
}

impl ProofKind {
    /// The kind as the proof file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProofKind::Record => "record",
            ProofKind::Dataset => "dataset",
            ProofKind::Document => "document",
            ProofKind::Submission => "submission",
        }
    }
}

/// Which tree a step walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TreeKind {
    /// Record leaves of one dataset file, in file order.
    Dataset,
    /// Dataset and document entries of one submission, in name order.
    Submission,
    /// Submission entries of one block, in id order.
    Block,
}

impl TreeKind {
    /// The tree as the proof file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TreeKind::Dataset => "dataset",
            TreeKind::Submission => "submission",
            TreeKind::Block => "block",
        }
    }

    /// A phrase for messages: "record in dataset", ….
    pub fn describe(self) -> &'static str {
        match self {
            TreeKind::Dataset => "record in dataset",
            TreeKind::Submission => "dataset in submission",
            TreeKind::Block => "submission in block",
        }
    }
}

/// The index in `names` of a kind read from its name alone: serde's derive would also take
/// `{"record": null}`, a second spelling no writer uses.
fn by_name<'de, D: Deserializer<'de>>(
    d: D,
    names: &'static [&'static str],
) -> Result<usize, D::Error> {
    let name = String::deserialize(d)?;
    names
        .iter()
        .position(|&n| n == name)
        .ok_or_else(|| de::Error::unknown_variant(&name, names))
}

impl<'de> Deserialize<'de> for ProofKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let k = by_name(d, &["record", "dataset", "document", "submission"])?;
        Ok([
            Self::Record,
            Self::Dataset,
            Self::Document,
            Self::Submission,
        ][k])
    }
}

impl<'de> Deserialize<'de> for TreeKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let k = by_name(d, &["dataset", "submission", "block"])?;
        Ok([Self::Dataset, Self::Submission, Self::Block][k])
    }
}

/// A struct read from a JSON object alone: serde's derive would also take an array of its
/// fields in order, a second spelling no writer uses.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
            .map(Object)
    }
}

/// [`Object`] for a field.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Object::deserialize(d).map(|o| o.0)
}

/// [`Object`] for an optional field.
fn some_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// [`Object`] for each element.
fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Object<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// The record a record proof is about, in the clear, with its salt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordClaim {
    /// Dataset name; equals the proof's `dataset.name`.
    pub dataset: String,
    /// Row number, from 0, in file order; equals the first step's `leaf_index`.
    pub row: u64,
    /// Column names; equal the proof's `dataset.columns`.
    pub columns: Vec<String>,
    /// One value per column, `null` for missing.
    pub values: Vec<Option<String>>,
    /// The record's salt.
    pub salt: Salt,
}

/// One inclusion proof in RFC 9162 terms (section 2.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The tree this step walks.
    pub tree: TreeKind,
    /// The leaf hash, `SHA-256(0x00 || object)`.
    pub leaf_hash: NodeHash,
    /// Index of the leaf, from 0.
    pub leaf_index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes, bottom-up.
    pub audit_path: Vec<NodeHash>,
    /// The tree's root.
    pub root: NodeHash,
}

/// The block that anchors the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockInfo {
    /// Block height.
    pub height: u64,
    /// `SHA-256(SHA-256(header))`.
    pub hash: BlockHash,
    /// The 96 header bytes in hex: what is hashed.
    pub header: String,
    /// The header decoded, for readers; checked against `header`.
    #[serde(deserialize_with = "object")]
    pub fields: BlockHeader,
}

/// A self-contained inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Always [`PROOF_FORMAT`].
    pub format: String,
    /// Always [`PROOF_VERSION`].
    pub version: u32,
    /// What is proved.
    pub kind: ProofKind,
    /// The record, for record proofs.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_object"
    )]
    pub record: Option<RecordClaim>,
    /// The dataset entry (the leaf of the submission tree), for record and dataset proofs.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_object"
    )]
    pub dataset: Option<DatasetEntry>,
    /// The document entry (the leaf of the submission tree), for document proofs.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_object"
    )]
    pub document: Option<DocumentEntry>,
    /// For dataset proofs made to travel with the data: every row's salt, so the holder of the
    /// data can re-hash each row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salts: Option<Vec<Salt>>,
    /// With `salts`: every row's leaf hash, so that the holder of the data is told which rows
    /// differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves: Option<Vec<NodeHash>>,
    /// The submission entry (the leaf of the block's anchor tree).
    #[serde(deserialize_with = "object")]
    pub submission: SubmissionEntry,
    /// Inclusion steps, bottom-up.
    #[serde(deserialize_with = "objects")]
    pub steps: Vec<Step>,
    /// The anchoring block.
    #[serde(deserialize_with = "object")]
    pub block: BlockInfo,
    /// A signed checkpoint (C2SP signed note) whose tip is this block, when the sponsor signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// Why bytes are not a usable proof (as opposed to a well-formed proof that fails checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// Larger than [`MAX_PROOF_BYTES`].
    TooLarge(usize),
    /// Not JSON, or JSON followed by trailing bytes.
    NotJson(String),
    /// JSON, but not a trialnotary proof (`format` missing or different).
    NotAProof,
    /// A proof of a version this code does not read.
    UnsupportedVersion(u64),
    /// A trialnotary proof with missing, extra or mistyped fields.
    Malformed(String),
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::TooLarge(n) => write!(f, "proof is {n} bytes, above the 1 GiB limit"),
            ProofError::NotJson(e) => write!(f, "not valid JSON: {e}"),
            ProofError::NotAProof => {
                write!(
                    f,
                    "not a trialnotary proof (\"format\" is not \"{PROOF_FORMAT}\")"
                )
            }
            ProofError::UnsupportedVersion(v) => {
                write!(
                    f,
                    "proof version {v} is not supported (this build reads {OLDEST_PROOF_VERSION} \
                     to {PROOF_VERSION})"
                )
            }
            ProofError::Malformed(e) => write!(f, "malformed proof: {e}"),
        }
    }
}

impl std::error::Error for ProofError {}

impl Proof {
    /// Parses a proof from untrusted bytes. Trailing bytes other than whitespace are refused.
    ///
    /// # Errors
    /// [`ProofError`] saying whether the bytes are not JSON, not a proof, of an unknown version
    /// or malformed.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProofError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(ProofError::TooLarge(bytes.len()));
        }
        // The typed parse is the fast path; only when it fails is the document looked at again
        // to say whether it is not JSON, not a proof, of another version, or malformed.
        let typed = serde_json::from_slice::<Proof>(bytes);
        let error = match typed {
            Ok(p)
                if p.format == PROOF_FORMAT
                    && (OLDEST_PROOF_VERSION..=PROOF_VERSION).contains(&p.version) =>
            {
                return Ok(p);
            }
            Ok(_) => None,
            Err(e) => Some(e),
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ProofError::NotJson(e.to_string()))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(PROOF_FORMAT) {
            return Err(ProofError::NotAProof);
        }
        match value.get("version").map(|v| (v, v.as_u64())) {
            Some((_, Some(v)))
                if (u64::from(OLDEST_PROOF_VERSION)..=u64::from(PROOF_VERSION)).contains(&v) => {}
            Some((_, Some(v))) => return Err(ProofError::UnsupportedVersion(v)),
            Some((v, None)) => {
                return Err(ProofError::Malformed(format!(
                    "\"version\" is {v}, not an integer"
                )));
            }
            None => return Err(ProofError::Malformed("\"version\" is missing".into())),
        }
        Err(ProofError::Malformed(
            error.map_or_else(|| "unreadable".into(), |e| e.to_string()),
        ))
    }

    /// Pretty JSON with a trailing newline, for a proof file.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        // Serializing plain structs of strings and integers into memory cannot fail.
        let mut out = serde_json::to_vec_pretty(self).expect("proof serializes");
        out.push(b'\n');
        out
    }

    /// One line of JSON without a newline, for NDJSON streams.
    pub fn to_json_line(&self) -> Vec<u8> {
        // As above: in-memory serialization of plain data cannot fail.
        serde_json::to_vec(self).expect("proof serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_proofs_with_a_reason() {
        assert!(matches!(
            Proof::from_json(b"{"),
            Err(ProofError::NotJson(_))
        ));
        assert_eq!(Proof::from_json(b"{}"), Err(ProofError::NotAProof));
        assert_eq!(
            Proof::from_json(br#"{"format":"trialnotary-proof","version":9}"#),
            Err(ProofError::UnsupportedVersion(9))
        );
        assert_eq!(
            Proof::from_json(br#"{"format":"trialnotary-proof","version":1}"#),
            Err(ProofError::UnsupportedVersion(1))
        );
        assert!(matches!(
            Proof::from_json(br#"{"format":"trialnotary-proof","version":2}"#),
            Err(ProofError::Malformed(_))
        ));
        assert!(matches!(
            Proof::from_json(b"{} x"),
            Err(ProofError::NotJson(_))
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..512))| {
            let _ = Proof::from_json(&bytes);
        });
    }
}
