//! The store directory around the chain: its lock, the salt secret, and per anchored submission
//! the manifest and the leaf hashes that later proofs need. It keeps no copy of the data: `prove`
//! re-reads disclosed rows from the submission and checks them against the leaf hashes. Files
//! other than the chain are written atomically.
//!
//! ```text
//! <store>/LOCK                         advisory lock: one writer, or many readers
//! <store>/chain.tnc                    the chain (see chain::store)
//! <store>/secret.key                   salt secret, hex, mode 0600
//! <store>/blocks/<height>-<hash16>/<submission id>/
//!     manifest.json                    submission entry, dataset entries, where the data was read
//!     d<k>.leaves                      32-byte leaf hashes, one per row, of the datasets read
//!                                      for this block; an unchanged file's manifest entry names
//!                                      the earlier block that holds its leaves (`leaves_in`)
//! ```

pub mod chain;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::hash::{BlockHash, NodeHash};
use crate::core::record::{DatasetEntry, DocumentEntry, EncodeError, SubmissionEntry};
use crate::hashing::salt::Secret;
use crate::ingest::Format;
use crate::store::chain::{StoredBlock, sync_dir};

/// The `format` field of a manifest.
pub const MANIFEST_FORMAT: &str = "trialnotary-manifest";

/// Manifest layout version written: 6 adds the digest of each dataset's leaves file, 5 each
/// dataset file's digest and leaves kept by an earlier block, 4 documents, 3 the salt secret's
/// fingerprint. Versions 2 (leaf hashes only) to 5 are still read; version 1 also kept the
/// values and is not.
pub const MANIFEST_VERSION: u32 = 6;

/// The oldest manifest version read.
const OLDEST_MANIFEST_VERSION: u32 = 2;

/// Errors reading or writing the store, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a store file.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A command that reads a store was pointed at a directory that holds none.
    #[error("no store at {} (nothing has been notarized there; give the store with --store DIR)", path.display())]
    NoStore {
        /// The path given.
        path: PathBuf,
    },
    /// The salt secret is missing from a store whose chain has blocks salted with it.
    #[error(
        "{}: the salt secret is missing, but the chain holds {blocks} block(s) whose salts derive from it; \
         restore secret.key from the store's backup{}: a new secret would leave every earlier row unprovable, so none is made",
        path.display(),
        fingerprint.as_deref().map(|f| format!(" (fingerprint {f})")).unwrap_or_default()
    )]
    SecretMissing {
        /// The secret's path.
        path: PathBuf,
        /// Blocks in the chain.
        blocks: u64,
        /// The fingerprint recorded for the secret, when a manifest holds one.
        fingerprint: Option<String>,
    },
    /// The secret is not the one that salted an anchored block.
    #[error(
        "{}: this salt secret (fingerprint {found}) is not the one that salted block {height} \
         (fingerprint {expected}); restore the secret.key that was backed up with this store",
        path.display()
    )]
    WrongSecret {
        /// The secret's path.
        path: PathBuf,
        /// The block whose manifest records another fingerprint.
        height: u64,
        /// The fingerprint recorded.
        expected: String,
        /// The fingerprint of the secret in the store.
        found: String,
    },
    /// Another run holds the store's lock and `--no-wait` was given.
    #[error("{}: another trialnotary run is using this store (lock held); try again later", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// A store file is damaged or missing.
    #[error("{}: {detail}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// Maps an I/O error to [`StoreError::Io`] for `path`.
pub fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        path: path.to_owned(),
        error,
    }
}

/// The manifest of one anchored submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Manifest layout version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// The submission entry anchored in the block.
    pub submission: SubmissionEntry,
    /// Fingerprint of the salt secret that salted these rows ([`Secret::fingerprint`]); absent
    /// in version 2 manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The absolute path the submission was read from: where `prove` reads the data.
    pub source: String,
    /// Datasets in name order.
    pub datasets: Vec<ManifestDataset>,
    /// Documents in path order (version 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentEntry>,
}

/// A leaf of a submission tree: which dataset or document of a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// The manifest's dataset at this index.
    Dataset(usize),
    /// The manifest's document at this index.
    Document(usize),
}

impl Manifest {
    /// The submission tree's leaves, in tree order: datasets (by name) and documents (by path)
    /// sorted together, byte order, as docs/FORMAT.md section 3 specifies.
    ///
    /// # Errors
    /// A count too large for the canonical encoding.
    pub fn tree(&self) -> Result<Vec<(Item, NodeHash)>, EncodeError> {
        let mut items: Vec<(&str, Item, NodeHash)> = Vec::new();
        for (i, d) in self.datasets.iter().enumerate() {
            items.push((
                &d.entry.name,
                Item::Dataset(i),
                d.entry.leaf_hash()?.into_node(),
            ));
        }
        for (i, d) in self.documents.iter().enumerate() {
            items.push((&d.path, Item::Document(i), d.leaf_hash()?.into_node()));
        }
        items.sort_by(|a, b| a.0.cmp(b.0));
        Ok(items
            .into_iter()
            .map(|(_, item, leaf)| (item, leaf))
            .collect())
    }
}

/// One dataset of a manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDataset {
    /// The dataset entry (leaf of the submission tree).
    pub entry: DatasetEntry,
    /// Source file, relative to the submission.
    pub file: String,
    /// Source format.
    pub format: Format,
    /// Bytes read.
    pub bytes: u64,
    /// Stem of its store files (`d0` → `d0.leaves`, …).
    pub stem: String,
    /// BLAKE3 of the file's bytes, `blake3:<64 hex>` (version 5): a later run that finds the same
    /// digest under the same canonical rules reuses this entry and its leaves without reading the
    /// rows. A local cache key, never part of a proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The canonical-text rules the rows were read under ([`crate::ingest::CANONICAL_RULES`]):
    /// rows read under other rules are read again even when the bytes are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<u32>,
    /// When the leaves were written by an earlier block (the file was unchanged): that block's
    /// directory under `blocks/`, where the same submission id holds `<stem>.leaves`. The store
    /// never grows with leaves that did not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves_in: Option<String>,
    /// BLAKE3 of the leaves file, `blake3:<64 hex>` (version 6): a later run reuses the leaves
    /// only when they still have it, so that damaged leaves are not carried into new blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves_digest: Option<String>,
}

impl ManifestDataset {
    /// The leaves file of this dataset, whose manifest is in the submission directory `dir`
    /// (`<store>/blocks/<block>/<id>`): there, or in the earlier block `leaves_in` names.
    ///
    /// # Errors
    /// A `leaves_in` that is not a block directory's name.
    pub fn leaves_path(&self, dir: &Path) -> Result<PathBuf, StoreError> {
        let file = format!("{}.leaves", self.stem);
        let Some(block) = &self.leaves_in else {
            return Ok(dir.join(file));
        };
        // `<height>-<16 hex>`, nothing that could leave the store's blocks directory.
        let valid = block.split_once('-').is_some_and(|(h, x)| {
            !h.is_empty()
                && h.bytes().all(|b| b.is_ascii_digit())
                && x.len() == 16
                && x.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        let id = dir.file_name();
        match (valid, dir.parent().and_then(Path::parent), id) {
            (true, Some(blocks), Some(id)) => Ok(blocks.join(block).join(id).join(file)),
            _ => Err(StoreError::Damaged {
                path: dir.join("manifest.json"),
                detail: format!("leaves_in {block:?} is not a block directory"),
            }),
        }
    }
}

/// A held store lock (released when dropped); `None` on a store where no lock file can exist.
#[derive(Debug)]
pub struct StoreLock {
    _file: Option<File>,
}

/// A store directory.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store at `root` (which may not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The chain file.
    pub fn chain_path(&self) -> PathBuf {
        self.root.join("chain.tnc")
    }

    /// The secret file.
    pub fn secret_path(&self) -> PathBuf {
        self.root.join("secret.key")
    }

    /// The sponsor's checkpoint signing key, when one is configured.
    pub fn signing_key_path(&self) -> PathBuf {
        self.root.join("signing.key")
    }

    /// The signed checkpoint whose tip is the block at `height`.
    pub fn checkpoint_path(&self, height: u64) -> PathBuf {
        self.root.join("checkpoints").join(format!("{height}.note"))
    }

    /// The signing key, if one is configured.
    ///
    /// # Errors
    /// An unreadable or malformed key file.
    pub fn load_signer(&self) -> Result<Option<crate::signing::SignerKey>, StoreError> {
        let path = self.signing_key_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => crate::signing::SignerKey::parse(&text)
                .map(Some)
                .map_err(|e| StoreError::Damaged {
                    path,
                    detail: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Signs and saves (atomically) the checkpoint of the block at `height`; returns its path.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write_checkpoint(
        &self,
        signer: &crate::signing::SignerKey,
        height: u64,
        hash: &BlockHash,
        time: u64,
    ) -> Result<PathBuf, StoreError> {
        let checkpoint = crate::core::note::Checkpoint {
            origin: signer.name().to_owned(),
            size: height + 1,
            tip: *hash,
            time,
        };
        let note = signer.sign(&checkpoint.to_text());
        let path = self.checkpoint_path(height);
        let dir = self.root.join("checkpoints");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        write_atomic(&path, note.to_text().as_bytes(), 0o644)?;
        Ok(path)
    }

    /// The saved checkpoint of the block at `height`, if any.
    ///
    /// # Errors
    /// An unreadable file.
    pub fn checkpoint(&self, height: u64) -> Result<Option<String>, StoreError> {
        let path = self.checkpoint_path(height);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Directory of one block's submissions.
    pub fn block_dir(&self, height: u64, hash: &BlockHash) -> PathBuf {
        self.root
            .join("blocks")
            .join(format!("{height}-{}", &hash.to_hex()[..16]))
    }

    /// A warning when others can read or enter the store directory (it holds the salt secret):
    /// `None` when it is private (mode 0700 or tighter) or does not exist.
    pub fn exposure(&self) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&self.root).ok()?.permissions().mode() & 0o777;
        let holds = if self.secret_path().exists() {
            "although it holds"
        } else {
            "and will hold"
        };
        (mode & 0o077 != 0).then(|| {
            format!(
                "the store {} is open to others (mode {mode:04o}) {holds} the salt secret: run \
                 `chmod 700 {}`",
                self.root.display(),
                self.root.display()
            )
        })
    }

    /// Creates the store directory with mode 0700 when it does not exist, and says whether this
    /// call made it: decided by an atomic create, so two first runs cannot both believe they did.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(&self) -> Result<bool, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        let path = &self.root;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    /// The lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("LOCK")
    }

    /// Takes the store lock: exclusive for writers, shared for readers. With `wait` false, fails
    /// at once with [`StoreError::Busy`] when it is held. A shared lock opens the lock file
    /// read-only, so an auditor can read a store on a read-only mount; where no lock file exists
    /// and none can be made there, nobody can write either, and the reader goes on without one.
    ///
    /// A failed first run removes the store it created, lock file included; a run that was
    /// waiting on that lock file then holds a lock on a file no longer in the store, so the lock
    /// is taken again until the file locked is the one at the path.
    ///
    /// # Errors
    /// [`StoreError::NoStore`] when there is no store directory (readers) or it vanished
    /// (writers: the caller creates it again), [`StoreError::Busy`] or an I/O error.
    pub fn lock(&self, exclusive: bool, wait: bool) -> Result<StoreLock, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let path = self.lock_path();
        loop {
            if !self.root.is_dir() {
                return Err(StoreError::NoStore {
                    path: self.root.clone(),
                });
            }
            let opened = if exclusive {
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
            } else {
                File::open(&path).or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path),
                    _ => Err(e),
                })
            };
            let f = match opened {
                Ok(f) => f,
                Err(e)
                    if !exclusive
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::ReadOnlyFilesystem
                                | std::io::ErrorKind::PermissionDenied
                        ) =>
                {
                    return Ok(StoreLock { _file: None });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            let result = match (exclusive, wait) {
                (true, true) => f.lock().map_err(std::fs::TryLockError::Error),
                (true, false) => f.try_lock(),
                (false, true) => f.lock_shared().map_err(std::fs::TryLockError::Error),
                (false, false) => f.try_lock_shared(),
            };
            match result {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Busy { path }),
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
            let held = f.metadata().map_err(io_err(&path))?;
            match std::fs::metadata(&path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(StoreLock { _file: Some(f) });
                }
                // Removed (with its store) by a failed first run while this one waited.
                _ if exclusive && !self.root.is_dir() => {
                    return Err(StoreError::NoStore {
                        path: self.root.clone(),
                    });
                }
                _ => continue,
            }
        }
    }

    /// Removes what crashed runs left, which nothing in the chain refers to: staging directories,
    /// temporary files, and `blocks/` directories of blocks that were never appended. Call only
    /// while holding the exclusive lock, when no other run can be writing them.
    ///
    /// # Errors
    /// I/O errors.
    pub fn remove_leftovers(&self, chain: &[StoredBlock]) -> Result<(), StoreError> {
        let remove_temporaries = |dir: &Path| -> Result<(), StoreError> {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_err(dir)(e)),
            };
            for e in entries {
                let e = e.map_err(io_err(dir))?;
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(".staging-") {
                    std::fs::remove_dir_all(e.path()).map_err(io_err(&e.path()))?;
                } else if name.starts_with(".tmp-") {
                    std::fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
                }
            }
            Ok(())
        };
        remove_temporaries(&self.root)?;
        remove_temporaries(&self.root.join("checkpoints"))?;
        let blocks = self.root.join("blocks");
        let entries = match std::fs::read_dir(&blocks) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&blocks)(e)),
        };
        let anchored: std::collections::BTreeSet<PathBuf> = chain
            .iter()
            .map(|b| self.block_dir(b.header.height, &b.hash))
            .collect();
        let mut removed = false;
        for e in entries {
            let e = e.map_err(io_err(&blocks))?;
            if !anchored.contains(&e.path()) {
                let path = e.path();
                if e.file_type().map_err(io_err(&path))?.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(io_err(&path))?;
                } else {
                    std::fs::remove_file(&path).map_err(io_err(&path))?;
                }
                removed = true;
            }
        }
        if removed {
            sync_dir(&blocks).map_err(io_err(&blocks))?;
        }
        Ok(())
    }

    /// Removes the store when its chain holds no block: what a failed first run created (lock
    /// file, an empty chain file, a secret no block used, leftovers), then the directory itself
    /// if nothing else is in it. Call only under the exclusive lock, and only from the run that
    /// created the directory; a run waiting on the removed lock file takes a new one
    /// ([`Store::lock`]).
    ///
    /// # Errors
    /// I/O errors; a directory holding anything else is left and is not an error.
    pub fn remove_unused(&self) -> Result<(), StoreError> {
        let chain = self.chain_path();
        if std::fs::metadata(&chain).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        self.remove_leftovers(&[])?;
        for path in [chain, self.secret_path(), self.lock_path()] {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_err(&path)(e));
                }
                _ => {}
            }
        }
        for dir in [self.root.join("blocks"), self.root.join("checkpoints")] {
            let _ = std::fs::remove_dir(dir);
        }
        let _ = std::fs::remove_dir(&self.root);
        Ok(())
    }

    /// The salt secret, if one was created.
    ///
    /// # Errors
    /// An unreadable or malformed secret file.
    pub fn load_secret(&self) -> Result<Option<Secret>, StoreError> {
        let path = self.secret_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Secret::from_hex(&text)
                .map(Some)
                .ok_or_else(|| StoreError::Damaged {
                    path,
                    detail: "not a 64-hex-digit secret".into(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Writes the secret atomically with mode 0600.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save_secret(&self, secret: &Secret) -> Result<(), StoreError> {
        write_atomic(
            &self.secret_path(),
            format!("{}\n", secret.to_hex()).as_bytes(),
            0o600,
        )
    }

    /// Reads a submission's manifest from a block directory.
    ///
    /// # Errors
    /// A missing or malformed manifest.
    pub fn manifest(&self, block_dir: &Path, id: &str) -> Result<Manifest, StoreError> {
        let path = block_dir.join(id).join("manifest.json");
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| StoreError::Damaged {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        if m.format != MANIFEST_FORMAT {
            return Err(StoreError::Damaged {
                path,
                detail: "unknown manifest format".into(),
            });
        }
        if !(OLDEST_MANIFEST_VERSION..=MANIFEST_VERSION).contains(&m.version)
            || (m.version < 3 && m.secret.is_some())
            || (m.version < 4 && !m.documents.is_empty())
            || (m.version < 6 && m.datasets.iter().any(|d| d.leaves_digest.is_some()))
        {
            return Err(StoreError::Damaged {
                path,
                detail: format!(
                    "manifest version {} was written by another trialnotary (this one reads \
                     {OLDEST_MANIFEST_VERSION} to {MANIFEST_VERSION})",
                    m.version
                ),
            });
        }
        Ok(m)
    }

    /// Checks `secret` against the fingerprint that the manifests of the block at `height`
    /// record (version 2 manifests record none).
    ///
    /// # Errors
    /// [`StoreError::WrongSecret`], or a missing or malformed manifest.
    pub fn check_secret(&self, secret: &Secret, block: &StoredBlock) -> Result<(), StoreError> {
        let dir = self.block_dir(block.header.height, &block.hash);
        let found = secret.fingerprint();
        for s in &block.submissions {
            if let Some(expected) = self.manifest(&dir, &s.id)?.secret
                && expected != found
            {
                return Err(StoreError::WrongSecret {
                    path: self.secret_path(),
                    height: block.header.height,
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }

    /// The secret that salted the blocks of `chain`: the store's, checked against the latest
    /// block's manifests; a new one only when the chain is empty (the bool says so).
    ///
    /// # Errors
    /// [`StoreError::SecretMissing`] when blocks exist and the secret does not,
    /// [`StoreError::WrongSecret`], or I/O errors.
    pub fn secret_for(&self, chain: &[StoredBlock]) -> Result<(Secret, bool), StoreError> {
        match (self.load_secret()?, chain.last()) {
            (Some(secret), Some(tip)) => {
                self.check_secret(&secret, tip)?;
                Ok((secret, false))
            }
            (Some(secret), None) => Ok((secret, false)),
            (None, None) => Ok((
                Secret::generate().map_err(io_err(&self.secret_path()))?,
                true,
            )),
            (None, Some(tip)) => {
                let dir = self.block_dir(tip.header.height, &tip.hash);
                let fingerprint = tip
                    .submissions
                    .iter()
                    .find_map(|s| self.manifest(&dir, &s.id).ok()?.secret);
                Err(StoreError::SecretMissing {
                    path: self.secret_path(),
                    blocks: chain.len() as u64,
                    fingerprint,
                })
            }
        }
    }
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync of
/// the directory.
///
/// # Errors
/// I/O errors, naming `path`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let err = io_err(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(&err)?;
    tmp.write_all(bytes).map_err(&err)?;
    tmp.as_file().sync_all().map_err(&err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    sync_dir(dir).map_err(&err)
}

/// Reads a dataset's leaf hashes.
///
/// # Errors
/// An unreadable file or one whose length is not `rows * 32`.
pub fn read_leaves(dir: &Path, d: &ManifestDataset) -> Result<Vec<NodeHash>, StoreError> {
    let path = d.leaves_path(dir)?;
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    if bytes.len() as u64 != d.entry.rows * 32 {
        return Err(StoreError::Damaged {
            path,
            detail: format!("{} bytes, expected {} leaves", bytes.len(), d.entry.rows),
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            NodeHash::from_bytes(h)
        })
        .collect())
}

/// Root of the leaves `start..end` of a dataset, streamed from its leaves file.
///
/// # Errors
/// An unreadable or short leaves file.
pub fn leaves_root(
    dir: &Path,
    d: &ManifestDataset,
    start: u64,
    end: u64,
) -> Result<NodeHash, StoreError> {
    use rayon::prelude::*;
    // Leaves hashed per task: whole subtrees of this many, level by level, on all cores.
    const SUBTREE_HEIGHT: u32 = 14;
    const SUBTREE: usize = 1 << SUBTREE_HEIGHT;
    const READ: usize = 16 * SUBTREE;
    let mut leaves = LeafReader::open(dir, d, start)?;
    let mut builder = crate::hashing::tree::RootBuilder::new();
    let mut buf = Vec::with_capacity(READ);
    let mut left = end.saturating_sub(start);
    while left > 0 {
        let n = usize::try_from(left).map_or(READ, |l| l.min(READ));
        leaves.read_leaves(n, &mut buf)?;
        left -= n as u64;
        let whole = buf.len() / SUBTREE * SUBTREE;
        let roots: Vec<NodeHash> = buf[..whole]
            .par_chunks(SUBTREE)
            .map(crate::hashing::tree::root_of)
            .collect();
        for root in roots {
            builder.push_subtree(root, SUBTREE_HEIGHT);
        }
        // The tail (only at the end of the range): perfect subtrees of falling sizes.
        let mut rest = &buf[whole..];
        while !rest.is_empty() {
            let height = rest.len().ilog2();
            let (perfect, after) = rest.split_at(1 << height);
            builder.push_subtree(crate::hashing::tree::root_of(perfect), height);
            rest = after;
        }
    }
    Ok(builder.root())
}

/// Reads a dataset's leaf hashes in order, one at a time.
pub struct LeafReader {
    path: PathBuf,
    reader: std::io::BufReader<File>,
}

impl LeafReader {
    /// Opens the leaves file of `d` in the submission directory `dir` at leaf `start`.
    ///
    /// # Errors
    /// An unreadable file.
    pub fn open(dir: &Path, d: &ManifestDataset, start: u64) -> Result<Self, StoreError> {
        let path = d.leaves_path(dir)?;
        let mut f = File::open(&path).map_err(io_err(&path))?;
        f.seek(SeekFrom::Start(start * 32)).map_err(io_err(&path))?;
        Ok(Self {
            reader: std::io::BufReader::with_capacity(1 << 20, f),
            path,
        })
    }

    /// The next `n` leaf hashes, into `out` (cleared first).
    ///
    /// # Errors
    /// A read error or a file shorter than its rows.
    pub fn read_leaves(&mut self, n: usize, out: &mut Vec<NodeHash>) -> Result<(), StoreError> {
        let mut bytes = vec![0u8; n * 32];
        self.reader
            .read_exact(&mut bytes)
            .map_err(io_err(&self.path))?;
        out.clear();
        out.extend(
            bytes
                .as_chunks::<32>()
                .0
                .iter()
                .map(|leaf| NodeHash::from_bytes(*leaf)),
        );
        Ok(())
    }

    /// The next leaf hash.
    ///
    /// # Errors
    /// A read error or a file shorter than its rows.
    pub fn next_leaf(&mut self) -> Result<NodeHash, StoreError> {
        let mut leaf = [0u8; 32];
        self.reader
            .read_exact(&mut leaf)
            .map_err(io_err(&self.path))?;
        Ok(NodeHash::from_bytes(leaf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hash::leaf_hash;
    use crate::core::record::DatasetEntry;
    use crate::hashing::tree::root_of;
    use crate::ingest::Format;

    /// Ranges across several reads, starting anywhere and ending in a ragged tail, give the root
    /// of the same leaves in memory.
    #[test]
    fn leaves_root_matches_the_root_in_memory() {
        let n = 300_000u64;
        let leaves: Vec<NodeHash> = (0..n)
            .map(|i| leaf_hash(&i.to_be_bytes()).into_node())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = leaves.iter().flat_map(|l| *l.as_bytes()).collect();
        std::fs::write(dir.path().join("d0.leaves"), bytes).unwrap();
        let d = ManifestDataset {
            entry: DatasetEntry {
                name: "lb".into(),
                columns: Vec::new(),
                rows: n,
                root: root_of(&leaves),
            },
            file: "lb.csv".into(),
            format: Format::Csv,
            bytes: 0,
            stem: "d0".into(),
            digest: None,
            canonical: None,
            leaves_digest: None,
            leaves_in: None,
        };
        for (start, end) in [
            (0, n),
            (1, n),
            (16_384, 32_768),
            (5, 270_001),
            (7, 7),
            (299_999, n),
        ] {
            let got = leaves_root(dir.path(), &d, start, end).unwrap();
            assert_eq!(
                got,
                root_of(&leaves[start as usize..end as usize]),
                "{start}..{end}"
            );
        }
        assert!(leaves_root(dir.path(), &d, 0, n + 1).is_err());
    }
}
