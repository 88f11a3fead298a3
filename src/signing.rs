//! Signing keys for the sponsor (checkpoints) and for witnesses (cosignatures), in the C2SP
//! signed-note key formats. Verification of what they sign is in [`crate::core::note`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey};

use crate::core::note::{
    ALG_COSIGNATURE_V1, ALG_ED25519, Note, NoteError, SignatureLine, VerifierKey, check_key_name,
    cosigned_message, key_id,
};

/// A private key: a log key (0x01) signs checkpoints, a witness key (0x04) cosigns them.
pub struct SignerKey {
    name: String,
    alg: u8,
    key: SigningKey,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignerKey({}, {:#04x})", self.name, self.alg)
    }
}

impl SignerKey {
    /// A fresh key from the operating system's random source.
    ///
    /// # Errors
    /// A bad name or no random source.
    pub fn generate(name: &str, witness: bool) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError(format!("no random source: {e}")))?;
        let alg = if witness {
            ALG_COSIGNATURE_V1
        } else {
            ALG_ED25519
        };
        Ok(Self {
            name: name.to_owned(),
            alg,
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+<base64(alg || 32-byte seed)>`.
    ///
    /// # Errors
    /// A malformed key or a key id that does not match.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError("not a signing key (PRIVATE+KEY+...)".into()))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError(
                "signing key is not PRIVATE+KEY+<name>+<id>+<key>".into(),
            ));
        };
        let raw = B64
            .decode(b64)
            .map_err(|e| NoteError(format!("signing key: {e}")))?;
        let [alg, seed @ ..] = raw.as_slice() else {
            return Err(NoteError("signing key is empty".into()));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError("signing key is not 32 bytes".into()))?;
        if *alg != ALG_ED25519 && *alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError(format!("unsupported signature type {alg:#04x}")));
        }
        let k = Self {
            name: name.to_owned(),
            alg: *alg,
            key: SigningKey::from_bytes(&seed),
        };
        if hex::encode(k.id()) != id.to_ascii_lowercase() {
            return Err(NoteError("signing key id does not match the key".into()));
        }
        Ok(k)
    }

    /// The private text form.
    pub fn to_text(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id()),
            B64.encode(raw)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a witness (cosignature) key.
    pub fn is_witness(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    fn id(&self) -> [u8; 4] {
        key_id(&self.name, self.alg, self.key.verifying_key().as_bytes())
    }

    /// The public key, to share.
    pub fn verifier(&self) -> VerifierKey {
        // The name was checked when the key was made or parsed, and the point is valid.
        VerifierKey::new(&self.name, self.alg, self.key.verifying_key().as_bytes())
            .expect("own key is valid")
    }

    /// Signs `text` (a checkpoint body ending in a newline) into a note.
    pub fn sign(&self, text: &str) -> Note {
        let sig = self.key.sign(text.as_bytes());
        Note {
            text: text.to_owned(),
            signatures: vec![SignatureLine {
                name: self.name.clone(),
                id: self.id(),
                bytes: sig.to_bytes().to_vec(),
            }],
        }
    }

    /// Adds this witness's cosignature, made at `time`, to `note` (replacing an earlier one).
    pub fn cosign(&self, note: &mut Note, time: u64) {
        let sig = self.key.sign(cosigned_message(&note.text, time).as_bytes());
        let mut bytes = time.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        let id = self.id();
        note.signatures
            .retain(|s| !(s.name == self.name && s.id == id));
        note.signatures.push(SignatureLine {
            name: self.name.clone(),
            id,
            bytes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::BlockHash;
    use crate::core::note::{Checkpoint, TrustStore, check_checkpoint};

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "sponsor.example/STUDY".into(),
            size: 2,
            tip: BlockHash::from_bytes([3; 32]),
            time: 5,
        }
    }

    #[test]
    fn keys_round_trip() {
        let k = SignerKey::generate("sponsor.example/STUDY", false).unwrap();
        let again = SignerKey::parse(&k.to_text()).unwrap();
        assert_eq!(again.verifier(), k.verifier());
        assert_eq!(
            VerifierKey::parse(&k.verifier().to_text()).unwrap(),
            k.verifier()
        );
        // Every character of the key material, changed to another one (whatever the random key
        // holds there), is refused or gives another key.
        let text = k.to_text();
        let key_at = text.rfind('+').unwrap() + 1;
        for i in key_at..text.trim_end_matches('=').len() {
            let mut bad = text.clone();
            let other = if &text[i..=i] == "A" { "B" } else { "A" };
            bad.replace_range(i..=i, other);
            assert_ne!(bad, text);
            assert!(
                SignerKey::parse(&bad).is_err()
                    || SignerKey::parse(&bad).unwrap().verifier() != k.verifier(),
                "character {i}"
            );
        }
    }

    #[test]
    fn signatures_and_cosignatures_verify_and_tampering_fails() {
        let log = SignerKey::generate("sponsor.example/STUDY", false).unwrap();
        let w = SignerKey::generate("witness.example", true).unwrap();
        let mut note = log.sign(&checkpoint().to_text());
        w.cosign(&mut note, 1234);
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        assert_eq!(parsed.signed_by(&log.verifier()), Some(None));
        assert_eq!(parsed.signed_by(&w.verifier()), Some(Some(1234)));

        let trust = TrustStore::parse(&format!(
            "log {}\nwitness {}\nwitnesses 1\n",
            log.verifier().to_text(),
            w.verifier().to_text()
        ))
        .unwrap();
        let ok = check_checkpoint(note.to_text().as_bytes(), &trust).unwrap();
        assert_eq!(ok.witnesses, vec!["witness.example".to_owned()]);

        // The same signatures over tampered text fail.
        let tampered = note.to_text().replacen("\n2\n", "\n3\n", 1);
        assert!(check_checkpoint(tampered.as_bytes(), &trust).is_err());
        // A key not in the trust store is refused.
        let other = SignerKey::generate("sponsor.example/STUDY", false).unwrap();
        let foreign = other.sign(&checkpoint().to_text());
        let e = check_checkpoint(foreign.to_text().as_bytes(), &trust).unwrap_err();
        assert!(
            e.0.contains("not signed by a key in the trust store"),
            "{e}"
        );
        // Too few cosignatures.
        let bare = log.sign(&checkpoint().to_text());
        let e = check_checkpoint(bare.to_text().as_bytes(), &trust).unwrap_err();
        assert!(e.0.contains("0 valid cosignatures"), "{e}");
    }
}
