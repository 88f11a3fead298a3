//! `trialnotary key generate` and `trialnotary key public`: Ed25519 keys in C2SP signed-note form.

use std::path::PathBuf;

use anyhow::Context;

use serde_json::json;

use super::{StoreArg, print_json};
use crate::Outcome;
use trialnotary::signing::SignerKey;
use trialnotary::store::{Store, write_atomic};

/// Key subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create a signing key (mode 0600) and print its public key to share.
    Generate(GenerateArgs),
    /// Print the public key of a signing key file.
    Public(PublicArgs),
}

/// Arguments of `key generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The key's name. For a sponsor key it names the chain in every checkpoint (its origin),
    /// e.g. `sponsor.example/CDISCPILOT01`.
    #[arg(long)]
    name: String,
    /// Make a witness key (cosignatures, C2SP tlog-cosignature) instead of a sponsor key.
    #[arg(long)]
    witness: bool,
    /// Where to write the key (default for a sponsor key: `<store>/signing.key`, which makes
    /// every `notarize` sign a checkpoint).
    #[arg(short, long, value_name = "FILE", alias = "out")]
    output: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
    /// Print one JSON object (name, kind, public key, file) instead of the public key alone.
    #[arg(long)]
    json: bool,
}

/// Arguments of `key public`.
#[derive(clap::Args, Debug)]
pub struct PublicArgs {
    /// The signing key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Print one JSON object (name, kind, public key) instead of the public key alone.
    #[arg(long)]
    json: bool,
}

/// The key as JSON: its name, kind and public key.
fn key_json(key: &SignerKey) -> serde_json::Value {
    let kind = if key.is_witness() {
        "witness"
    } else {
        "sponsor"
    };
    json!({"name": key.verifier().name, "kind": kind, "public_key": key.verifier().to_text()})
}

/// Runs a key subcommand.
pub fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Generate(args) => {
            let store = Store::new(&args.store.store);
            // Into the store (the default for a sponsor key): created private as notarize would,
            // and written under its lock.
            let (path, _lock) = match (&args.output, args.witness) {
                (Some(p), _) => (p.clone(), None),
                (None, false) => {
                    store.create()?;
                    if let Some(warning) = store.exposure() {
                        errln!("warning: {warning}");
                    }
                    (store.signing_key_path(), Some(store.lock(true, true)?))
                }
                (None, true) => anyhow::bail!("a witness key needs -o FILE"),
            };
            if path.exists() {
                anyhow::bail!("{} exists; a key is never overwritten", path.display());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let key = SignerKey::generate(&args.name, args.witness)?;
            write_atomic(&path, format!("{}\n", key.to_text()).as_bytes(), 0o600)?;
            if args.json {
                let mut v = key_json(&key);
                v["written"] = json!(path);
                print_json(&v)?;
            } else {
                errln!(
                    "wrote the private key to {} (mode 0600); share the public key:",
                    path.display()
                );
                outln!("{}", key.verifier().to_text())?;
            }
            Ok(Outcome::Ok)
        }
        Command::Public(args) => {
            let text = std::fs::read_to_string(&args.key)
                .with_context(|| format!("cannot read {}", args.key.display()))?;
            let key = SignerKey::parse(&text).with_context(|| args.key.display().to_string())?;
            if args.json {
                print_json(&key_json(&key))?;
            } else {
                outln!("{}", key.verifier().to_text())?;
            }
            Ok(Outcome::Ok)
        }
    }
}
