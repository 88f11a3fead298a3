//! Signed checkpoints of the chain tip in the formats transparency logs use: C2SP signed-note
//! (text plus Ed25519 signature lines), C2SP tlog-checkpoint (origin, size, root hash) with the
//! tip block hash as the root, C2SP tlog-cosignature (witness cosignatures), and the regulator's
//! trust store. Verification only, no I/O; signing lives in `crate::signing`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature as EdSignature, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::hash::BlockHash;

/// Signature type of a note signature: Ed25519 over the note text (C2SP signed-note).
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of a witness cosignature: Ed25519 over `cosignature/v1` (C2SP tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Extension line prefix carrying the tip block's time in a checkpoint body.
pub const TIME_LINE: &str = "time ";

/// Why a note, key, checkpoint or trust store is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteError(pub String);

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoteError {}

fn err<T>(msg: impl Into<String>) -> Result<T, NoteError> {
    Err(NoteError(msg.into()))
}

/// `SHA-256(name || "\n" || alg || public key)[..4]`: the key id of C2SP signed-note.
pub fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A key name: non-empty, no whitespace or `+` (C2SP signed-note).
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return err(format!(
            "key name {name:?} must be non-empty, without spaces or '+'"
        ));
    }
    Ok(())
}

/// A public key that checks note signatures (`alg` 0x01) or cosignatures (`alg` 0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    /// The key's name (for a log key, its origin).
    pub name: String,
    /// Signature type.
    pub alg: u8,
    /// Key id.
    pub id: [u8; 4],
    key: VerifyingKey,
}

impl VerifierKey {
    /// A verifier key from its parts.
    ///
    /// # Errors
    /// A bad name or an invalid Ed25519 point.
    pub fn new(name: &str, alg: u8, public: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(public)
            .map_err(|e| NoteError(format!("bad public key: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            alg,
            id: key_id(name, alg, public),
            key,
        })
    }

    /// Parses `<name>+<8 hex digits of key id>+<base64(alg || 32-byte key)>`.
    ///
    /// # Errors
    /// A malformed text, an unknown type, or an id that does not match name and key.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return err(format!("verifier key {text:?} is not <name>+<id>+<key>"));
        };
        let raw = B64
            .decode(b64)
            .map_err(|e| NoteError(format!("verifier key: bad base64: {e}")))?;
        let [alg, rest @ ..] = raw.as_slice() else {
            return err("verifier key: empty key");
        };
        if *alg != ALG_ED25519 && *alg != ALG_COSIGNATURE_V1 {
            return err(format!(
                "verifier key: unsupported signature type {alg:#04x}"
            ));
        }
        let public: [u8; 32] = rest
            .try_into()
            .map_err(|_| NoteError("verifier key: not 32 bytes".into()))?;
        let key = Self::new(name, *alg, &public)?;
        if hex::encode(key.id) != id_hex.to_ascii_lowercase() {
            return err(format!(
                "verifier key {name}: key id {id_hex} does not match the key"
            ));
        }
        Ok(key)
    }

    /// The text form parsed by [`VerifierKey::parse`].
    pub fn to_text(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(raw))
    }
}

/// One signature line of a note: `— <name> <base64(key id || signature bytes)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub id: [u8; 4],
    /// The signature bytes after the key id (64, or 72 for a cosignature with its timestamp).
    pub bytes: Vec<u8>,
}

impl SignatureLine {
    /// The line, without its newline.
    pub fn to_text(&self) -> String {
        let mut raw = self.id.to_vec();
        raw.extend_from_slice(&self.bytes);
        format!("\u{2014} {} {}", self.name, B64.encode(raw))
    }
}

/// A signed note: text (ending with a newline) and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending with `\n`.
    pub text: String,
    /// Its signature lines, in order.
    pub signatures: Vec<SignatureLine>,
}

impl Note {
    /// Parses a signed note from untrusted bytes.
    ///
    /// # Errors
    /// Not UTF-8, control characters, no blank line before the signatures, a malformed line.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError("note is not UTF-8".into()))?;
        if all.chars().any(|c| c.is_control() && c != '\n') {
            return err("note holds control characters");
        }
        let Some(split) = all.rfind("\n\n") else {
            return err("note has no blank line before its signatures");
        };
        let text = &all[..=split];
        let sigs = &all[split + 2..];
        if !sigs.ends_with('\n') {
            return err("note does not end with a newline");
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return err(format!(
                    "signature line {line:?} does not start with an em dash"
                ));
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return err(format!("signature line {line:?} has no signature"));
            };
            check_key_name(name)?;
            let raw = B64
                .decode(b64)
                .map_err(|e| NoteError(format!("signature of {name}: bad base64: {e}")))?;
            if raw.len() < 5 {
                return err(format!("signature of {name} is too short"));
            }
            signatures.push(SignatureLine {
                name: name.into(),
                id: [raw[0], raw[1], raw[2], raw[3]],
                bytes: raw[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return err("note has no signature");
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as text: body, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_text());
            out.push('\n');
        }
        out
    }

    /// Whether `key` signed this note: for an Ed25519 key, over the text; for a cosignature key,
    /// over `cosignature/v1\ntime <t>\n` and the text, returning the cosignature's time.
    pub fn signed_by(&self, key: &VerifierKey) -> Option<Option<u64>> {
        self.signatures
            .iter()
            .filter(|s| s.name == key.name && s.id == key.id)
            .find_map(|s| match key.alg {
                ALG_ED25519 => {
                    let sig = EdSignature::from_slice(&s.bytes).ok()?;
                    key.key
                        .verify(self.text.as_bytes(), &sig)
                        .ok()
                        .map(|()| None)
                }
                _ => {
                    let (time, sig) = s.bytes.split_first_chunk::<8>()?;
                    let time = u64::from_be_bytes(*time);
                    let sig = EdSignature::from_slice(sig).ok()?;
                    key.key
                        .verify(cosigned_message(&self.text, time).as_bytes(), &sig)
                        .ok()
                        .map(|()| Some(time))
                }
            })
    }
}

/// The message a witness signs (C2SP tlog-cosignature, cosignature/v1).
pub fn cosigned_message(text: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// The chain tip a checkpoint commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The chain's name (the signing key's name).
    pub origin: String,
    /// Number of blocks: the tip is at height `size - 1`.
    pub size: u64,
    /// Hash of the tip block.
    pub tip: BlockHash,
    /// Time of the tip block, seconds since the Unix epoch.
    pub time: u64,
}

impl Checkpoint {
    /// The tlog-checkpoint body: origin, size, base64 tip hash, then `time <t>`.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{TIME_LINE}{}\n",
            self.origin,
            self.size,
            B64.encode(self.tip.as_bytes()),
            self.time
        )
    }

    /// Parses a checkpoint body.
    ///
    /// # Errors
    /// Missing lines, a bad size, hash or time.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .unwrap_or(text)
            .split('\n')
            .collect();
        let [origin, size, root, time] = lines.as_slice() else {
            return err("checkpoint must have four lines: origin, size, root hash, time");
        };
        if origin.is_empty() {
            return err("checkpoint origin is empty");
        }
        if size.starts_with('0') || size.starts_with('+') {
            return err(format!("checkpoint size {size:?} is not canonical"));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| NoteError(format!("checkpoint size {size:?} is not a number")))?;
        let root = B64
            .decode(root)
            .map_err(|e| NoteError(format!("checkpoint root: {e}")))?;
        let tip = BlockHash::from_bytes(
            root.try_into()
                .map_err(|_| NoteError("checkpoint root is not 32 bytes".into()))?,
        );
        let time = time
            .strip_prefix(TIME_LINE)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                NoteError(format!("checkpoint line {time:?} is not `time <seconds>`"))
            })?;
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            tip,
            time,
        })
    }
}

/// What a regulator trusts: sponsor (log) keys, witness keys, how many witnesses must cosign,
/// and the minimum difficulty.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    /// Keys whose checkpoints are accepted (type 0x01; the name is the chain's origin).
    pub logs: Vec<VerifierKey>,
    /// Witness keys (type 0x04).
    pub witnesses: Vec<VerifierKey>,
    /// Cosignatures required from distinct witnesses.
    pub required_witnesses: usize,
    /// Minimum difficulty of any block accepted.
    pub min_difficulty: u32,
}

impl TrustStore {
    /// Parses the text form: one entry per line, `#` comments:
    /// `log <vkey>`, `witness <vkey>`, `witnesses <N>`, `min-difficulty <bits>`.
    ///
    /// # Errors
    /// An unknown directive or a bad key, naming the line.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut t = TrustStore::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let at = |e: NoteError| NoteError(format!("trust store line {}: {e}", i + 1));
            let (word, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let value = value.trim();
            match word {
                "log" => {
                    let k = VerifierKey::parse(value).map_err(at)?;
                    if k.alg != ALG_ED25519 {
                        return Err(at(NoteError(
                            "a log key must be an Ed25519 (0x01) key".into(),
                        )));
                    }
                    t.logs.push(k);
                }
                "witness" => {
                    let k = VerifierKey::parse(value).map_err(at)?;
                    if k.alg != ALG_COSIGNATURE_V1 {
                        return Err(at(NoteError(
                            "a witness key must be a cosignature (0x04) key".into(),
                        )));
                    }
                    t.witnesses.push(k);
                }
                "witnesses" => {
                    t.required_witnesses = value
                        .parse()
                        .map_err(|_| at(NoteError(format!("{value:?} is not a count"))))?;
                }
                "min-difficulty" => {
                    t.min_difficulty = value
                        .parse()
                        .map_err(|_| at(NoteError(format!("{value:?} is not a number of bits"))))?;
                }
                other => return Err(at(NoteError(format!("unknown entry {other:?}")))),
            }
        }
        if t.required_witnesses > t.witnesses.len() {
            return err(format!(
                "trust store requires {} witnesses but lists {}",
                t.required_witnesses,
                t.witnesses.len()
            ));
        }
        Ok(t)
    }
}

/// What checking a signed checkpoint against a trust store established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Name of the trusted log key that signed it.
    pub signer: String,
    /// Names of the trusted witnesses that cosigned it.
    pub witnesses: Vec<String>,
}

/// Parses a signed checkpoint and checks it against `trust`: signed by a trusted log key whose
/// name is the checkpoint's origin, and cosigned by at least the required number of distinct
/// trusted witnesses.
///
/// # Errors
/// A [`NoteError`] saying which requirement failed.
pub fn check_checkpoint(
    note_bytes: &[u8],
    trust: &TrustStore,
) -> Result<TrustedCheckpoint, NoteError> {
    let note = Note::parse(note_bytes)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    let signer = trust
        .logs
        .iter()
        .filter(|k| k.name == checkpoint.origin)
        .find(|k| note.signed_by(k).is_some())
        .ok_or_else(|| {
            let by: Vec<&str> = note.signatures.iter().map(|s| s.name.as_str()).collect();
            NoteError(format!(
                "checkpoint of {:?} is not signed by a key in the trust store (signed by: {})",
                checkpoint.origin,
                by.join(", ")
            ))
        })?;
    let witnesses: Vec<String> = trust
        .witnesses
        .iter()
        .filter(|w| note.signed_by(w).is_some())
        .map(|w| w.name.clone())
        .collect();
    if witnesses.len() < trust.required_witnesses {
        return err(format!(
            "checkpoint has {} valid cosignatures from trusted witnesses, {} required",
            witnesses.len(),
            trust.required_witnesses
        ));
    }
    Ok(TrustedCheckpoint {
        checkpoint,
        signer: signer.name.clone(),
        witnesses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trip_and_refusals() {
        let c = Checkpoint {
            origin: "example.org/chain".into(),
            size: 3,
            tip: BlockHash::from_bytes([7; 32]),
            time: 99,
        };
        assert_eq!(Checkpoint::parse(&c.to_text()), Ok(c.clone()));
        assert!(Checkpoint::parse("o\n03\nAAAA\ntime 1\n").is_err());
        assert!(Checkpoint::parse("o\n3\n").is_err());
        assert!(Checkpoint::parse(&c.to_text().replace("time 99", "tim 99")).is_err());
    }

    #[test]
    fn notes_refuse_malformed_text() {
        assert!(Note::parse(b"no blank line\n").is_err());
        assert!(Note::parse(b"body\n\n- name AAAA\n").is_err());
        assert!(Note::parse(b"body\n\n").is_err());
        assert!(Note::parse(b"bo\x01dy\n\n\xe2\x80\x94 k AAAAAAAA\n").is_err());
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..300))| {
            if let Ok(n) = Note::parse(&bytes) {
                let _ = Checkpoint::parse(&n.text);
                let _ = n.to_text();
            }
            let _ = TrustStore::parse(&String::from_utf8_lossy(&bytes));
            let _ = VerifierKey::parse(&String::from_utf8_lossy(&bytes));
        });
    }
}
