//! Finding what a submission holds: its dataset files (by format), every other regular file as a
//! document, the hidden files it skips, and what it refuses (symbolic links, unreadable names,
//! two names that differ only in letter case).
//! A store directory inside the submission is never part of it.

use std::path::{Path, PathBuf};

use super::{Format, IngestError};

/// One dataset file of a submission.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Where it is.
    pub path: PathBuf,
    /// Path relative to the submission, with `/` separators.
    pub relative: String,
    /// Relative path without the format extension: the dataset name.
    pub dataset: String,
    /// Its format.
    pub format: Format,
    /// Size in bytes.
    pub bytes: u64,
}

/// One document of a submission: a regular file that is not a dataset.
#[derive(Clone, Debug)]
pub struct DocumentFile {
    /// Where it is.
    pub path: PathBuf,
    /// Path relative to the submission, with `/` separators: the document's name.
    pub relative: String,
    /// Size in bytes when listed.
    pub bytes: u64,
}

/// What a submission holds.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Dataset files, sorted by dataset name.
    pub datasets: Vec<SourceFile>,
    /// Documents, sorted by path.
    pub documents: Vec<DocumentFile>,
    /// Hidden files and directories skipped (names starting with `.`), relative paths, sorted.
    pub hidden: Vec<String>,
}

impl Listing {
    /// Bytes of every dataset and document.
    pub fn bytes(&self) -> u64 {
        self.datasets.iter().map(|f| f.bytes).sum::<u64>()
            + self.documents.iter().map(|d| d.bytes).sum::<u64>()
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with('.'))
}

/// Lists a submission: a directory, searched recursively in name order, or one file. Every
/// regular file is a dataset (by its extension, see [`Format::from_path`]) or a document.
/// Hidden files and directories are skipped and listed; `store`, the store of the run, is never
/// read as part of the submission when it lies inside it, and another store there is refused.
/// A symbolic link is refused: what it points to can lie outside the submission and change
/// without the submission changing.
///
/// # Errors
/// A missing path, an unreadable directory, a symbolic link, another store, a name that is not
/// UTF-8, two files with one dataset name, a dataset and a document of one name, two names that
/// differ only in letter case, or nothing to notarize.
pub fn discover(root: &Path, store: Option<&Path>) -> Result<Listing, IngestError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| IngestError::file(root, format!("cannot open submission: {e}")))?;
    let mut listing = Listing::default();
    if meta.is_file() {
        let name = root
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| IngestError::file(root, "file name is not valid UTF-8"))?
            .to_owned();
        add(&mut listing, root, &name, meta.len());
    } else {
        let store = store.and_then(|s| std::fs::canonicalize(s).ok());
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name();
        let mut entries = walker.into_iter();
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(|e| {
                let at = e.path().unwrap_or(root).to_owned();
                IngestError::file(&at, format!("cannot read: {e}"))
            })?;
            if entry.depth() == 0 {
                continue;
            }
            let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
            let relative = rel
                .to_str()
                .ok_or_else(|| IngestError::file(entry.path(), "file name is not valid UTF-8"))?
                .replace(std::path::MAIN_SEPARATOR, "/");
            let kind = entry.file_type();
            if is_hidden(entry.file_name()) {
                listing.hidden.push(relative);
                if kind.is_dir() {
                    entries.skip_current_dir();
                }
                continue;
            }
            if kind.is_symlink() {
                return Err(IngestError::file(
                    entry.path(),
                    "a symbolic link is not notarized: what it points to can lie outside the \
                     submission and change without it; replace it with the file, or move it out",
                ));
            }
            if kind.is_dir() {
                if store.is_some() && std::fs::canonicalize(entry.path()).ok() == store {
                    entries.skip_current_dir();
                } else if entry.path().join("chain.tnc").is_file()
                    && entry.path().join("blocks").is_dir()
                {
                    // Another store: its chain grows every night, and its secret is no document.
                    return Err(IngestError::file(
                        entry.path(),
                        "a trialnotary store inside the submission (it holds chain.tnc and \
                         blocks): a store is never part of a submission; move it out",
                    ));
                }
                continue;
            }
            if !kind.is_file() {
                return Err(IngestError::file(
                    entry.path(),
                    "not a regular file (a device, socket or pipe): move it out of the submission",
                ));
            }
            let len = entry
                .metadata()
                .map_err(|e| IngestError::file(entry.path(), format!("cannot stat: {e}")))?
                .len();
            add(&mut listing, entry.path(), &relative, len);
        }
    }
    listing
        .datasets
        .sort_by(|a, b| a.dataset.cmp(&b.dataset).then(a.relative.cmp(&b.relative)));
    listing
        .documents
        .sort_by(|a, b| a.relative.cmp(&b.relative));
    for pair in listing.datasets.windows(2) {
        if pair[0].dataset == pair[1].dataset {
            return Err(IngestError::file(
                root,
                format!(
                    "{} and {} are both dataset {:?}; keep one format per dataset",
                    pair[0].relative, pair[1].relative, pair[0].dataset
                ),
            ));
        }
    }
    if let Some(d) = listing.datasets.iter().find(|d| {
        listing
            .documents
            .binary_search_by(|doc| doc.relative.as_str().cmp(&d.dataset))
            .is_ok()
    }) {
        return Err(IngestError::file(
            root,
            format!(
                "dataset {:?} (from {}) and the document {0:?} would have one name in the \
                 submission tree; rename one of them",
                d.dataset, d.relative
            ),
        ));
    }
    if let Some((a, b)) = case_twins(&listing) {
        return Err(IngestError::file(
            root,
            format!(
                "{a} and {b} differ only in letter case: SAS reads dataset names without case, \
                 and the file systems of Windows and macOS, where a regulator may check the \
                 submission, hold only one of the two; rename one"
            ),
        ));
    }
    if listing.datasets.is_empty() && listing.documents.is_empty() {
        return Err(IngestError::file(
            root,
            "empty submission: no file to notarize (hidden files are skipped)",
        ));
    }
    Ok(listing)
}

/// Two files whose names in the submission tree (a dataset's name, a document's path) are one
/// name when letter case is ignored, as their relative paths; `None` if there are none.
fn case_twins(listing: &Listing) -> Option<(&str, &str)> {
    let mut names: Vec<(String, &str)> = listing
        .datasets
        .iter()
        .map(|d| (d.dataset.to_lowercase(), d.relative.as_str()))
        .chain(
            listing
                .documents
                .iter()
                .map(|d| (d.relative.to_lowercase(), d.relative.as_str())),
        )
        .collect();
    names.sort();
    names
        .windows(2)
        .find(|pair| pair[0].0 == pair[1].0)
        .map(|pair| (pair[0].1, pair[1].1))
}

/// Adds a regular file: a dataset when its extension names a format, else a document.
fn add(listing: &mut Listing, path: &Path, relative: &str, bytes: u64) {
    match super::dataset_format(path) {
        Some((format, ext_len)) => listing.datasets.push(SourceFile {
            path: path.to_owned(),
            relative: relative.to_owned(),
            dataset: relative[..relative.len() - ext_len].to_owned(),
            format,
            bytes,
        }),
        None => listing.documents.push(DocumentFile {
            path: path.to_owned(),
            relative: relative.to_owned(),
            bytes,
        }),
    }
}
