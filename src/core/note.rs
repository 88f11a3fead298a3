//! Signed checkpoints of the chain tip in the formats transparency logs use: C2SP signed-note
//! (text plus Ed25519 signature lines), C2SP tlog-checkpoint (origin, size, root hash) with the
//! tip block hash as the root, C2SP tlog-cosignature (witness cosignatures), and the regulator's
//! trust store. Verification only, no I/O; signing lives in `crate::signing`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature as EdSignature, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::core::hash::BlockHash;

/// Signature type of a note signature: Ed25519 over the note text (C2SP signed-note).
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of a witness cosignature: Ed25519 over `cosignature/v1` (C2SP tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Extension line prefix carrying the tip block's time in a checkpoint body.
pub const TIME_LINE: &str = "time ";

/// Most signature lines a note may carry. signed-note: "Verifiers SHOULD apply a maximum limit
/// to the number of signatures in a note ... but MUST accept at least up to 16 signatures"; Go's
/// `note.Open` stops at 100.
pub const MAX_SIGNATURES: usize = 100;

/// Largest note accepted, in bytes: a checkpoint with [`MAX_SIGNATURES`] Ed25519 signatures is
/// under 20 KiB.
pub const MAX_NOTE_BYTES: usize = 64 << 10;

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

/// signed-note: "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus
/// (U+002B) characters", nor, as all note text, ASCII control characters.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
    {
        return err(format!(
            "key name {name:?} must be non-empty, without spaces or '+'"
        ));
    }
    Ok(())
}

/// A canonical decimal: ASCII digits, no sign, no leading zero (but `0` itself).
fn decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
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

    /// Parses `<name>+<8 lowercase hex digits of key id>+<base64(alg || 32-byte key)>`.
    ///
    /// # Errors
    /// A malformed text, an unknown type, or an id that does not match name and key.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
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
        // One spelling: the id is written as 8 lowercase hex digits.
        if hex::encode(key.id) != id_hex {
            return err(format!(
                "verifier key {name}: key id {id_hex} is not the key's id {}",
                hex::encode(key.id)
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

    /// The 32 bytes of the Ed25519 public key (what tlog-policy compares for duplicates).
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Checks `sig` (the bytes after the key id) over `text`: an Ed25519 signature of the text,
    /// or a cosignature/v1 `timestamp || signature` of `cosignature/v1\ntime <t>\n` and the text,
    /// whose time it returns.
    fn check(&self, text: &str, sig: &[u8]) -> Result<Option<u64>, String> {
        if self.alg == ALG_ED25519 {
            let sig = EdSignature::from_slice(sig).map_err(|_| "not a 64-byte signature")?;
            self.key
                .verify(text.as_bytes(), &sig)
                .map_err(|_| "the signature does not verify over this text")?;
            return Ok(None);
        }
        let (time, sig) = sig
            .split_first_chunk::<8>()
            .ok_or("not a timestamped signature")?;
        let time = u64::from_be_bytes(*time);
        // tlog-cosignature: the timestamp "MUST NOT exceed 2^63 - 1".
        if time > i64::MAX as u64 {
            return Err(format!("its timestamp {time} exceeds 2^63 - 1"));
        }
        let sig = EdSignature::from_slice(sig).map_err(|_| "not a 64-byte signature")?;
        self.key
            .verify(cosigned_message(text, time).as_bytes(), &sig)
            .map_err(|_| "the cosignature does not verify over this text")?;
        Ok(Some(time))
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

/// The signatures of known keys that verified: for each, the key's index among the keys given
/// and, for a cosignature, its time.
pub type Verified = Vec<(usize, Option<u64>)>;

impl Note {
    /// Parses a signed note from untrusted bytes. The text means nothing until
    /// [`Note::verify`] says a trusted key signed it.
    ///
    /// # Errors
    /// Too large, not UTF-8, control characters, no blank line before the signatures, a
    /// malformed or surplus signature line.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return err(format!(
                "note is {} bytes, more than the {MAX_NOTE_BYTES} accepted",
                bytes.len()
            ));
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError("note is not UTF-8".into()))?;
        // signed-note: "Signed notes MUST be valid UTF-8 and MUST NOT contain any ASCII control
        // characters (those below U+0020) other than newline." DEL and C1 are not among them.
        if all.chars().any(|c| c < ' ' && c != '\n') {
            return err("note holds ASCII control characters other than newline");
        }
        // "the text is separated from the signatures by the last empty line in the note"
        let Some(split) = all.rfind("\n\n") else {
            return err("note has no blank line before its signatures");
        };
        let text = &all[..=split];
        let sigs = &all[split + 2..];
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return err("note does not end with a newline");
        };
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return err(format!(
                    "note has more than {MAX_SIGNATURES} signature lines"
                ));
            }
            // "em dash (U+2014), space (U+0020), key name, space, base64-encoded signature"
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
            // "Signatures are the base64 encoding of 4+n bytes"
            let Some((id, bytes)) = raw.split_first_chunk::<4>() else {
                return err(format!("signature of {name} is too short"));
            };
            if bytes.is_empty() {
                return err(format!("signature of {name} is too short"));
            }
            signatures.push(SignatureLine {
                name: name.into(),
                id: *id,
                bytes: bytes.to_vec(),
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

    /// Checks the signatures of the `known` keys, as signed-note requires and Go's `note.Open`
    /// does. "Verifiers MUST ignore signatures from unknown keys, even if they share a name or ID
    /// (but not both) with a known key. If the key name and ID match a known key, verifiers MUST
    /// verify the signature. If a signature from a known key fails to verify, clients SHOULD
    /// reject the whole note." A known key's second signature is refused too, as Go refuses it.
    ///
    /// # Errors
    /// A known key's signature that fails (naming the key), or one signed twice.
    pub fn verify(&self, known: &[&VerifierKey]) -> Result<Verified, NoteError> {
        let mut verified: Verified = Vec::new();
        for line in &self.signatures {
            let Some(k) = known
                .iter()
                .position(|k| k.name == line.name && k.id == line.id)
            else {
                continue;
            };
            if verified.iter().any(|(i, _)| *i == k) {
                return err(format!(
                    "the note carries two signatures by {} ({})",
                    line.name,
                    hex::encode(line.id)
                ));
            }
            let time = known[k].check(&self.text, &line.bytes).map_err(|why| {
                NoteError(format!(
                    "the signature by {} ({}), a key you trust, is bad: {why}, so the whole note \
                     is rejected",
                    line.name,
                    hex::encode(line.id)
                ))
            })?;
            verified.push((k, time));
        }
        Ok(verified)
    }

    /// Whether `key` signed this note: `Some(None)` for a note signature, `Some(Some(time))` for
    /// a cosignature, `None` when it did not (or its signature is bad).
    pub fn signed_by(&self, key: &VerifierKey) -> Option<Option<u64>> {
        self.verify(&[key]).ok()?.first().map(|(_, time)| *time)
    }
}

/// The message a witness signs (C2SP tlog-cosignature, cosignature/v1): "two newline (U+000A)
/// terminated lines (one header line and one timestamp line) followed by the whole note body".
pub fn cosigned_message(text: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// The chain tip a checkpoint commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The chain's name (the signing key's name).
    pub origin: String,
    /// Number of blocks: the tip is at height `size - 1` (no tip when 0).
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

    /// Parses a checkpoint body (tlog-checkpoint, with one `time` extension line).
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
        // "The origin MUST be non-empty"
        if origin.is_empty() {
            return err("checkpoint origin is empty");
        }
        // "the ASCII decimal representation of the number of leaves in the tree, with no
        // leading zeroes (unless the tree is empty, in which case the tree size is `0`)"
        let size = decimal(size).ok_or_else(|| {
            NoteError(format!("checkpoint size {size:?} is not canonical decimal"))
        })?;
        let root = B64
            .decode(root)
            .map_err(|e| NoteError(format!("checkpoint root: {e}")))?;
        let tip = BlockHash::from_bytes(
            root.try_into()
                .map_err(|_| NoteError("checkpoint root is not 32 bytes".into()))?,
        );
        let time = time
            .strip_prefix(TIME_LINE)
            .and_then(decimal)
            .ok_or_else(|| {
                NoteError(format!(
                    "checkpoint line {time:?} is not `time <seconds>` in canonical decimal"
                ))
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
    /// Parses the text form, one entry per line: `log <vkey>`, `witness <vkey>`,
    /// `witnesses <N>`, `min-difficulty <bits>`. As in C2SP tlog-policy: items are separated by
    /// spaces and tabs, "comment lines (lines starting with \"#\", possibly preceded by
    /// whitespace) are allowed and ignored" (so a `#` inside a key name is the name's), the only
    /// control characters allowed are tab and newline, and keys are listed once: "Two vkeys are
    /// considered duplicate if they wrap the same underlying public key, even if they differ by
    /// key name and key id", and duplicates "are not allowed". So each listed witness is a
    /// distinct key, and one cosignature never counts twice.
    ///
    /// # Errors
    /// An unknown or repeated directive, a bad or duplicate key, naming the line.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut t = TrustStore::default();
        let mut seen: Vec<([u8; 32], usize, String)> = Vec::new();
        let (mut witnesses_line, mut difficulty_line) = (None, None);
        // str::lines takes a line end of \n or \r\n. tlog-policy: "The only allowed control
        // characters are tab and newline, which means that the allowed octet values are 0x09
        // (tab), 0x0A (newline), 0x20-0x7E, and 0x80-0xFF."
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let at = |e: NoteError| NoteError(format!("trust store line {n}: {e}"));
            if line
                .chars()
                .any(|c| (c < ' ' && c != '\t') || c == '\u{7f}')
            {
                return Err(at(NoteError(
                    "control characters other than tab are not allowed".into(),
                )));
            }
            let mut items = line.split([' ', '\t']).filter(|s| !s.is_empty());
            let Some(word) = items.next() else { continue };
            if word.starts_with('#') {
                continue;
            }
            let value = items.next().unwrap_or_default();
            if let Some(extra) = items.next() {
                return Err(at(NoteError(format!(
                    "unexpected {extra:?} after {value:?} (comments go on lines of their own)"
                ))));
            }
            let count = |what: &str| {
                decimal(value).ok_or_else(|| {
                    at(NoteError(format!(
                        "{value:?} is not {what} in canonical decimal"
                    )))
                })
            };
            match word {
                "log" | "witness" => {
                    let k = VerifierKey::parse(value).map_err(at)?;
                    let (want, kind) = if word == "log" {
                        (ALG_ED25519, "a log key must be an Ed25519 (0x01) key")
                    } else {
                        (
                            ALG_COSIGNATURE_V1,
                            "a witness key must be a cosignature (0x04) key",
                        )
                    };
                    if k.alg != want {
                        return Err(at(NoteError(kind.into())));
                    }
                    if let Some((_, first, name)) = seen.iter().find(|(p, ..)| p == k.public_key())
                    {
                        return Err(at(NoteError(format!(
                            "the public key of {} is already listed on line {first} (as {name}); \
                             each key may be listed once, or one cosignature would count twice",
                            k.name
                        ))));
                    }
                    seen.push((*k.public_key(), n, k.name.clone()));
                    if word == "log" {
                        t.logs.push(k);
                    } else {
                        t.witnesses.push(k);
                    }
                }
                "witnesses" | "min-difficulty" => {
                    let slot = if word == "witnesses" {
                        &mut witnesses_line
                    } else {
                        &mut difficulty_line
                    };
                    if let Some(first) = slot.replace(n) {
                        return Err(at(NoteError(format!(
                            "{word} is already set on line {first}"
                        ))));
                    }
                    if word == "witnesses" {
                        t.required_witnesses = usize::try_from(count("a count")?)
                            .map_err(|_| at(NoteError("too many witnesses".into())))?;
                    } else {
                        t.min_difficulty = u32::try_from(count("a number of bits")?)
                            .ok()
                            .filter(|&d| d <= crate::core::header::MAX_DIFFICULTY)
                            .ok_or_else(|| {
                                at(NoteError("a difficulty is at most 256 bits".into()))
                            })?;
                    }
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

/// Parses a signed checkpoint and checks it against `trust`: every signature by a key the trust
/// store lists must verify ([`Note::verify`]); one must be by a log key whose name is the
/// checkpoint's origin (tlog-policy: the log key's name "MUST correspond to the log's origin
/// line"); and at least the required number of listed witnesses (distinct keys) must have
/// cosigned.
///
/// # Errors
/// A [`NoteError`] saying which requirement failed.
pub fn check_checkpoint(
    note_bytes: &[u8],
    trust: &TrustStore,
) -> Result<TrustedCheckpoint, NoteError> {
    let note = Note::parse(note_bytes)?;
    let known: Vec<&VerifierKey> = trust.logs.iter().chain(&trust.witnesses).collect();
    let verified = note.verify(&known)?;
    let checkpoint = Checkpoint::parse(&note.text)?;
    let signer = verified
        .iter()
        .map(|(k, _)| known[*k])
        .find(|k| k.alg == ALG_ED25519 && k.name == checkpoint.origin)
        .ok_or_else(|| {
            let by: Vec<&str> = note.signatures.iter().map(|s| s.name.as_str()).collect();
            NoteError(format!(
                "checkpoint of {:?} is not signed by a key in the trust store for that origin \
                 (its signature lines name: {})",
                checkpoint.origin,
                by.join(", ")
            ))
        })?;
    let witnesses: Vec<String> = verified
        .iter()
        .map(|(k, _)| known[*k])
        .filter(|k| k.alg == ALG_COSIGNATURE_V1)
        .map(|k| k.name.clone())
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
    use ed25519_dalek::{Signer as _, SigningKey};

    const ORIGIN: &str = "sponsor.example/STUDY";

    /// A key pair from a fixed seed: the signing half and its verifier key.
    fn pair(name: &str, alg: u8, seed: u8) -> (SigningKey, VerifierKey) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let vk = VerifierKey::new(name, alg, sk.verifying_key().as_bytes()).unwrap();
        (sk, vk)
    }

    fn sign(text: &str, sk: &SigningKey, vk: &VerifierKey) -> SignatureLine {
        SignatureLine {
            name: vk.name.clone(),
            id: vk.id,
            bytes: sk.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }

    fn cosign(text: &str, time: u64, sk: &SigningKey, vk: &VerifierKey) -> SignatureLine {
        let mut bytes = time.to_be_bytes().to_vec();
        bytes.extend(sk.sign(cosigned_message(text, time).as_bytes()).to_bytes());
        SignatureLine {
            name: vk.name.clone(),
            id: vk.id,
            bytes,
        }
    }

    fn body() -> String {
        Checkpoint {
            origin: ORIGIN.into(),
            size: 3,
            tip: BlockHash::from_bytes([7; 32]),
            time: 99,
        }
        .to_text()
    }

    fn note(text: &str, signatures: Vec<SignatureLine>) -> String {
        Note {
            text: text.into(),
            signatures,
        }
        .to_text()
    }

    #[test]
    fn checkpoint_round_trip_and_refusals() {
        let c = Checkpoint::parse(&body()).unwrap();
        assert_eq!(c.to_text(), body());
        // An empty chain is size 0 (tlog-checkpoint), not a leading zero.
        assert_eq!(
            Checkpoint::parse("o\n0\nAAAA\ntime 1\n").map(|_| ()),
            err("checkpoint root is not 32 bytes")
        );
        let zero = body().replacen("\n3\n", "\n0\n", 1);
        assert_eq!(Checkpoint::parse(&zero).unwrap().size, 0);
        for bad in ["\n03\n", "\n+3\n", "\n3 \n", "\n\n"] {
            assert!(
                Checkpoint::parse(&body().replacen("\n3\n", bad, 1)).is_err(),
                "{bad:?}"
            );
        }
        for bad in [
            "time +99",
            "time 0099",
            "time 99 ",
            "time  99",
            "tim 99",
            "time",
        ] {
            assert!(
                Checkpoint::parse(&body().replace("time 99", bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(Checkpoint::parse("o\n3\n").is_err());
    }

    #[test]
    fn notes_refuse_malformed_text_but_not_del_or_c1() {
        assert!(Note::parse(b"no blank line\n").is_err());
        assert!(Note::parse(b"body\n\n- name AAAA\n").is_err());
        assert!(Note::parse(b"body\n\n").is_err());
        assert!(Note::parse(b"bo\x01dy\n\n\xe2\x80\x94 k AAAAAAAA\n").is_err());
        assert!(Note::parse(b"bo\tdy\n\n\xe2\x80\x94 k AAAAAAAA\n").is_err());
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
        // signed-note bans ASCII controls below U+0020 only: DEL and C1 are text.
        let n = Note::parse("b\u{7f}o\u{85}dy\n\n\u{2014} k\u{80} AAAAAAAA\n".as_bytes()).unwrap();
        assert_eq!(n.text, "b\u{7f}o\u{85}dy\n");
        assert_eq!(n.signatures[0].name, "k\u{80}");
    }

    #[test]
    fn signature_lines_and_note_size_are_capped() {
        let junk = |n: usize| {
            let lines: Vec<SignatureLine> = (0..n)
                .map(|i| SignatureLine {
                    name: format!("junk{i}.example"),
                    id: [0; 4],
                    bytes: vec![0; 64],
                })
                .collect();
            note(&body(), lines)
        };
        assert_eq!(
            Note::parse(junk(MAX_SIGNATURES).as_bytes())
                .unwrap()
                .signatures
                .len(),
            100
        );
        let e = Note::parse(junk(MAX_SIGNATURES + 1).as_bytes()).unwrap_err();
        assert!(e.0.contains("more than 100 signature lines"), "{e}");
        let big = format!("{}{}", "x".repeat(MAX_NOTE_BYTES), junk(1));
        assert!(
            Note::parse(big.as_bytes())
                .unwrap_err()
                .0
                .contains("more than the")
        );
    }

    fn store(lines: &[String]) -> Result<TrustStore, NoteError> {
        TrustStore::parse(&(lines.join("\n") + "\n"))
    }

    /// tlog-policy: a key listed twice, or one public key under two names, would let one
    /// cosignature count twice (cosignature/v1 does not sign the cosigner's name).
    #[test]
    fn one_witness_never_counts_twice() {
        let (log_sk, log) = pair(ORIGIN, ALG_ED25519, 1);
        let (w_sk, w) = pair("witness.example", ALG_COSIGNATURE_V1, 2);
        let twin = VerifierKey::new("twin.example", ALG_COSIGNATURE_V1, w.public_key()).unwrap();
        let log_line = format!("log {}", log.to_text());
        let e = store(&[
            log_line.clone(),
            format!("witness {}", w.to_text()),
            format!("witness {}", w.to_text()),
            "witnesses 2".into(),
        ])
        .unwrap_err();
        assert!(
            e.0.contains("line 3") && e.0.contains("already listed on line 2"),
            "{e}"
        );
        let e = store(&[
            log_line.clone(),
            format!("witness {}", w.to_text()),
            format!("witness {}", twin.to_text()),
            "witnesses 2".into(),
        ])
        .unwrap_err();
        assert!(
            e.0.contains("already listed on line 2 (as witness.example)"),
            "{e}"
        );
        // The forged note such a store would have accepted: one cosignature copied under the
        // twin's name and id.
        let text = body();
        let good = cosign(&text, 5, &w_sk, &w);
        let copied = SignatureLine {
            name: twin.name.clone(),
            id: twin.id,
            bytes: good.bytes.clone(),
        };
        let forged = note(&text, vec![sign(&text, &log_sk, &log), good, copied]);
        let t = TrustStore {
            logs: vec![log],
            witnesses: vec![w, twin],
            required_witnesses: 2,
            min_difficulty: 0,
        };
        // Only a store the parser refuses lists both; its check would count two.
        assert_eq!(
            check_checkpoint(forged.as_bytes(), &t)
                .unwrap()
                .witnesses
                .len(),
            2
        );
        // A log key reused as a witness key is a duplicate too.
        let as_witness = VerifierKey::new("w", ALG_COSIGNATURE_V1, t.logs[0].public_key()).unwrap();
        assert!(store(&[log_line, format!("witness {}", as_witness.to_text())]).is_err());
    }

    /// signed-note: a known key's signature that fails rejects the whole note, even beside a
    /// good one; an unknown key's is ignored; a known key signing twice is refused.
    #[test]
    fn a_bad_signature_by_a_known_key_rejects_the_note() {
        let (log_sk, log) = pair(ORIGIN, ALG_ED25519, 1);
        let (wa_sk, wa) = pair("wa.example", ALG_COSIGNATURE_V1, 2);
        let (wb_sk, wb) = pair("wb.example", ALG_COSIGNATURE_V1, 3);
        let text = body();
        let mut bad_b = cosign(&text, 5, &wb_sk, &wb);
        bad_b.bytes[20] ^= 1;
        let lines = vec![
            sign(&text, &log_sk, &log),
            cosign(&text, 5, &wa_sk, &wa),
            bad_b.clone(),
        ];
        let trust = |witnesses: Vec<VerifierKey>| TrustStore {
            logs: vec![log.clone()],
            witnesses,
            required_witnesses: 1,
            min_difficulty: 0,
        };
        let e = check_checkpoint(
            note(&text, lines.clone()).as_bytes(),
            &trust(vec![wa.clone(), wb.clone()]),
        )
        .unwrap_err();
        assert!(
            e.0.contains("the signature by wb.example") && e.0.contains("is bad"),
            "{e}"
        );
        // Unknown to this store, the same bad line is ignored.
        let ok = check_checkpoint(
            note(&text, lines.clone()).as_bytes(),
            &trust(vec![wa.clone()]),
        )
        .unwrap();
        assert_eq!(ok.witnesses, vec!["wa.example".to_owned()]);
        // The sponsor's own signature over edited text says so, not "not in the trust store".
        let edited = text.replacen("\n3\n", "\n4\n", 1);
        let e = check_checkpoint(
            note(&edited, vec![lines[0].clone()]).as_bytes(),
            &trust(vec![]),
        )
        .unwrap_err();
        assert!(
            e.0.contains(&format!("the signature by {ORIGIN}"))
                && e.0.contains("does not verify over this text"),
            "{e}"
        );
        // Two signatures by one known key.
        let twice = vec![
            lines[0].clone(),
            cosign(&text, 5, &wa_sk, &wa),
            cosign(&text, 6, &wa_sk, &wa),
        ];
        let e =
            check_checkpoint(note(&text, twice).as_bytes(), &trust(vec![wa.clone()])).unwrap_err();
        assert!(e.0.contains("two signatures by wa.example"), "{e}");
    }

    #[test]
    fn cosignature_timestamps_stay_below_2_pow_63() {
        let (log_sk, log) = pair(ORIGIN, ALG_ED25519, 1);
        let (w_sk, w) = pair("w.example", ALG_COSIGNATURE_V1, 2);
        let text = body();
        let t = TrustStore {
            logs: vec![log.clone()],
            witnesses: vec![w.clone()],
            required_witnesses: 1,
            min_difficulty: 0,
        };
        let at = |time: u64| {
            note(
                &text,
                vec![sign(&text, &log_sk, &log), cosign(&text, time, &w_sk, &w)],
            )
        };
        assert!(check_checkpoint(at(i64::MAX as u64).as_bytes(), &t).is_ok());
        let e = check_checkpoint(at(1 << 63).as_bytes(), &t).unwrap_err();
        assert!(e.0.contains("exceeds 2^63 - 1"), "{e}");
    }

    #[test]
    fn trust_store_syntax_follows_tlog_policy() {
        let (_, log) = pair("sponsor#1.example/STUDY", ALG_ED25519, 1);
        // A '#' inside a key name is the name's; comments are whole lines.
        let t = store(&[
            "  # a comment".into(),
            format!("log\t{}", log.to_text()),
            "\t".into(),
            "min-difficulty 24".into(),
        ])
        .unwrap();
        assert_eq!(t.logs[0].name, "sponsor#1.example/STUDY");
        assert_eq!(t.min_difficulty, 24);
        for bad in [
            format!("log {} # trailing comment", log.to_text()),
            "min-difficulty 024".into(),
            "min-difficulty +24".into(),
            "min-difficulty 257".into(),
            "witnesses 1".into(),
            format!("log {}\u{7f}", log.to_text()),
            "min-difficulty 1\rmin-difficulty 2".into(),
        ] {
            assert!(store(std::slice::from_ref(&bad)).is_err(), "{bad:?}");
        }
        assert!(
            store(&["min-difficulty 1".into(), "min-difficulty 2".into()])
                .unwrap_err()
                .0
                .contains("already set on line 1")
        );
        // Windows line ends are line ends.
        assert!(
            TrustStore::parse(&format!("log {}\r\nmin-difficulty 3\r\n", log.to_text())).is_ok()
        );
        // Key ids have one spelling.
        let upper =
            log.to_text()
                .replacen(&hex::encode(log.id), &hex::encode(log.id).to_uppercase(), 1);
        if upper != log.to_text() {
            assert!(VerifierKey::parse(&upper).is_err());
        }
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
