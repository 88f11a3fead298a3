//! One verifier run, exactly as both `trialnotary verify` and `trialnotary-verify` do it: the
//! evidence read from what the verifier brings, every proof of a file checked, each outcome said
//! as sentences or as a JSON line, and the run's exit code. The binaries only open files and
//! print what this returns, so they cannot disagree on a verdict, a reason or an exit code.
//!
//! A proof file is one JSON proof, or NDJSON: one proof per line (as `prove --all-rows` writes),
//! `\n` or `\r\n` line ends. An NDJSON file is read line by line, so its size is not bounded by
//! memory; each line, like a single proof, is bounded by [`MAX_PROOF_BYTES`].

use std::fmt::Write as _;
use std::io::BufRead;

use crate::core::chain;
use crate::core::evidence::{Evidence, NO_ANCHOR, Report, verify_with};
use crate::core::hash::BlockHash;
use crate::core::header::BlockHeader;
use crate::core::note::TrustStore;
use crate::core::proof::{MAX_PROOF_BYTES, Proof, ProofError};
use crate::core::verify::{Policy, VerifyError};

/// Largest chain copy, trust store or checkpoint read: far above any real one.
pub const MAX_EVIDENCE_BYTES: u64 = 256 << 20;

/// Seconds since the Unix epoch by this machine's clock (0 before 1970): the verifier's clock
/// for the chain's time rules.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What `--version` prints after the program's name: its version and the format versions it
/// reads.
pub fn version_text() -> String {
    format!(
        "{} (reads proof formats {} to {}, block header version {}, chain entries {}, \
         consistency proof version {})",
        env!("CARGO_PKG_VERSION"),
        crate::core::proof::OLDEST_PROOF_VERSION,
        crate::core::proof::PROOF_VERSION,
        crate::core::header::HEADER_VERSION,
        String::from_utf8_lossy(crate::core::chain::ENTRY_MAGIC),
        crate::core::consistency::CONSISTENCY_VERSION,
    )
}

/// Input the verifier cannot use: exit code 2, with a stable code and a message naming the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// A stable machine-readable code (`unusable-proof`, `unusable-chain`, ...).
    pub code: &'static str,
    /// What is wrong, naming the input.
    pub message: String,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Unusable {}

fn unusable(code: &'static str, message: String) -> Unusable {
    Unusable { code, message }
}

/// The message for an input file that cannot be read (`what`: "proof", "chain copy", ...),
/// the same in every verifier.
pub fn cannot_read(what: &str, name: &str, e: &std::io::Error) -> Unusable {
    unusable(
        "unreadable-input",
        format!("cannot read {what} {name}: {e}"),
    )
}

/// Reads an evidence file (chain copy, trust store, checkpoint) of at most
/// [`MAX_EVIDENCE_BYTES`] from `reader`.
///
/// # Errors
/// [`cannot_read`], or [`Unusable`] for a file over the limit.
pub fn read_evidence(
    what: &str,
    name: &str,
    reader: impl std::io::Read,
) -> Result<Vec<u8>, Unusable> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader.take(MAX_EVIDENCE_BYTES + 1), &mut bytes)
        .map_err(|e| cannot_read(what, name, &e))?;
    if bytes.len() as u64 > MAX_EVIDENCE_BYTES {
        return Err(unusable(
            "unusable-input",
            format!(
                "{what} {name} is larger than {} MiB",
                MAX_EVIDENCE_BYTES >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// What the verifier brings besides the proofs, as read from its files.
#[derive(Default)]
pub struct Inputs<'a> {
    /// A chain copy: its name (for messages) and bytes.
    pub chain: Option<(&'a str, &'a [u8])>,
    /// A trust store: name and bytes.
    pub trust: Option<(&'a str, &'a [u8])>,
    /// A signed checkpoint to use instead of the proofs' own: name and bytes.
    pub checkpoint: Option<(&'a str, &'a [u8])>,
    /// A block hash the verifier trusts, as typed (64 lowercase hex digits).
    pub tip: Option<&'a str>,
    /// The verifier's minimum difficulty.
    pub min_difficulty: u32,
    /// Check the proofs' internal consistency alone when nothing anchors them.
    pub self_contained: bool,
    /// The verifier's clock, seconds since the Unix epoch (for the chain's time rules).
    pub now: u64,
}

/// A file read by name, as [`Inputs`] takes it.
pub fn named(file: &Option<(String, Vec<u8>)>) -> Option<(&str, &[u8])> {
    file.as_ref()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
}

/// The evidence, parsed and checked once for every proof of the run.
pub struct Loaded {
    chain: Option<Vec<BlockHeader>>,
    trust: Option<TrustStore>,
    checkpoint: Option<String>,
    tip: Option<BlockHash>,
    policy: Policy,
    self_contained: bool,
}

fn text<'a>(what: &str, name: &str, bytes: &'a [u8]) -> Result<&'a str, Unusable> {
    std::str::from_utf8(bytes)
        .map_err(|_| unusable("unusable-input", format!("{what} {name} is not UTF-8 text")))
}

impl Loaded {
    /// Parses and checks the evidence. Nothing to anchor a proof in, without a request for a
    /// self-contained check, is unusable input: the verifier must say what it trusts.
    ///
    /// # Errors
    /// [`Unusable`] naming the input at fault.
    pub fn new(inputs: &Inputs<'_>) -> Result<Self, Unusable> {
        if inputs.chain.is_none()
            && inputs.trust.is_none()
            && inputs.tip.is_none()
            && !inputs.self_contained
        {
            return Err(unusable("no-anchor", NO_ANCHOR.into()));
        }
        let chain = match inputs.chain {
            Some((name, bytes)) => {
                let blocks = chain::parse(bytes)
                    .and_then(|b| chain::check(&b, inputs.now).map(|()| b))
                    .map_err(|e| {
                        unusable(
                            "unusable-chain",
                            format!("the chain copy {name} is unusable: {e}"),
                        )
                    })?;
                Some(blocks.into_iter().map(|b| b.header).collect())
            }
            None => None,
        };
        let trust = match inputs.trust {
            Some((name, bytes)) => Some(
                TrustStore::parse(text("trust store", name, bytes)?).map_err(|e| {
                    unusable(
                        "unusable-trust-store",
                        format!("the trust store {name} is unusable: {e}"),
                    )
                })?,
            ),
            None => None,
        };
        let checkpoint = match inputs.checkpoint {
            Some((name, bytes)) => {
                // The verifier's own evidence: refused here (exit 2), not as the proof's fault.
                crate::core::note::Note::parse(bytes)
                    .and_then(|n| crate::core::note::Checkpoint::parse(&n.text))
                    .map_err(|e| {
                        unusable(
                            "unusable-checkpoint",
                            format!("the checkpoint {name} is unusable: {e}"),
                        )
                    })?;
                Some(text("checkpoint", name, bytes)?.to_owned())
            }
            None => None,
        };
        let tip = match inputs.tip {
            Some(t) => Some(BlockHash::from_hex(t).map_err(|e| {
                unusable(
                    "unusable-tip",
                    format!("--tip {t:?} is not a block hash: {e}"),
                )
            })?),
            None => None,
        };
        Ok(Self {
            chain,
            trust,
            checkpoint,
            tip,
            policy: Policy {
                min_difficulty: inputs.min_difficulty,
            },
            self_contained: inputs.self_contained,
        })
    }

    /// The evidence for [`verify_with`].
    pub fn evidence(&self) -> Evidence<'_> {
        Evidence {
            policy: self.policy,
            chain: self.chain.as_deref(),
            trust: self.trust.as_ref(),
            checkpoint: self.checkpoint.as_deref(),
            tip: self.tip,
            self_contained: self.self_contained,
        }
    }
}

/// Reads the proofs of a file one at a time: the whole file as one JSON proof, or one proof per
/// line when its first non-blank line is a JSON value of its own (NDJSON).
pub struct ProofReader<R> {
    reader: R,
    name: String,
    /// Whether the file is NDJSON (decided on the first line).
    ndjson: bool,
    /// Lines read ahead while deciding.
    pending: std::collections::VecDeque<(u64, Vec<u8>)>,
    line: u64,
    done: bool,
}

impl<R: BufRead> ProofReader<R> {
    /// Starts reading `reader`, named `name` in messages.
    ///
    /// # Errors
    /// [`Unusable`] when the file cannot be read, is empty, or (a single proof) is too large or
    /// not a proof.
    pub fn new(mut reader: R, name: &str) -> Result<Self, Unusable> {
        // A proof, and every line of an NDJSON file of proofs, is a JSON object: a file that
        // starts otherwise (a device, a binary file given by mistake) is refused at once rather
        // than read up to the size limit.
        let head = reader
            .fill_buf()
            .map_err(|e| unusable("unusable-proof", format!("cannot read {name}: {e}")))?;
        if let Some(&b) = head.iter().find(|b| !b.is_ascii_whitespace())
            && b != b'{'
        {
            return Err(unusable(
                "unusable-proof",
                format!("{name}: unusable proof: not valid JSON: a proof starts with '{{'"),
            ));
        }
        let mut line = 0;
        let first = loop {
            line += 1;
            match read_line(&mut reader, name, line)? {
                None => {
                    return Err(unusable(
                        "unusable-proof",
                        format!("{name}: unusable proof: the file is empty"),
                    ));
                }
                Some(l) if l.iter().all(u8::is_ascii_whitespace) => continue,
                Some(l) => break l,
            }
        };
        let mut pending = std::collections::VecDeque::from([(line, first)]);
        // NDJSON when the first line is a JSON value of its own and another line follows; a
        // file of one compact proof is a single proof.
        let mut ndjson = false;
        if serde_json::from_slice::<serde::de::IgnoredAny>(&pending[0].1).is_ok() {
            loop {
                line += 1;
                match read_line(&mut reader, name, line)? {
                    None => break,
                    Some(l) if l.iter().all(u8::is_ascii_whitespace) => continue,
                    Some(l) => {
                        pending.push_back((line, l));
                        ndjson = true;
                        break;
                    }
                }
            }
        }
        let mut this = Self {
            reader,
            name: name.to_owned(),
            ndjson,
            pending,
            line,
            done: false,
        };
        if !ndjson {
            // One proof, perhaps over many lines (pretty JSON): read it whole, within the limit.
            let (_, mut bytes) = this.pending.pop_front().unwrap_or_default();
            bytes.push(b'\n');
            let limit = MAX_PROOF_BYTES as u64 + 1 - bytes.len().min(MAX_PROOF_BYTES) as u64;
            std::io::Read::read_to_end(
                &mut std::io::Read::take(&mut this.reader, limit),
                &mut bytes,
            )
            .map_err(|e| unusable("unusable-proof", format!("cannot read {name}: {e}")))?;
            if bytes.len() > MAX_PROOF_BYTES {
                return Err(unusable(
                    "unusable-proof",
                    format!(
                        "{name}: unusable proof: {}",
                        ProofError::TooLarge(bytes.len())
                    ),
                ));
            }
            this.pending.push_back((0, bytes));
        }
        Ok(this)
    }

    /// Whether the file is NDJSON.
    pub fn is_ndjson(&self) -> bool {
        self.ndjson
    }

    /// The next proof with its line number (0 for a single proof), or `None` at the end. A line
    /// that is not a usable proof is returned as its [`ProofError`].
    ///
    /// # Errors
    /// [`Unusable`] when the file cannot be read or a line is too long.
    #[allow(clippy::type_complexity)]
    pub fn next_proof(&mut self) -> Result<Option<(u64, Result<Proof, ProofError>)>, Unusable> {
        loop {
            let (line, bytes) = match self.pending.pop_front() {
                Some(p) => p,
                None if self.done || !self.ndjson => return Ok(None),
                None => {
                    self.line += 1;
                    match read_line(&mut self.reader, &self.name, self.line)? {
                        Some(l) => (self.line, l),
                        None => {
                            self.done = true;
                            return Ok(None);
                        }
                    }
                }
            };
            if !self.ndjson {
                self.done = true;
            } else if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((line, Proof::from_json(&bytes))));
        }
    }
}

/// One line without its `\n` or `\r\n`, at most [`MAX_PROOF_BYTES`] long; `None` at the end.
fn read_line(
    reader: &mut impl BufRead,
    name: &str,
    line: u64,
) -> Result<Option<Vec<u8>>, Unusable> {
    let mut out = Vec::new();
    let n = std::io::Read::take(&mut *reader, MAX_PROOF_BYTES as u64 + 2)
        .read_until(b'\n', &mut out)
        .map_err(|e| unusable("unusable-proof", format!("cannot read {name}: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    if out.last() == Some(&b'\n') {
        out.pop();
        if out.last() == Some(&b'\r') {
            out.pop();
        }
    }
    if out.len() > MAX_PROOF_BYTES {
        return Err(unusable(
            "unusable-proof",
            format!(
                "{name}: line {line}: unusable proof: {}",
                ProofError::TooLarge(out.len())
            ),
        ));
    }
    Ok(Some(out))
}

/// What became of one proof.
pub enum Outcome {
    /// Valid, with sentences a caller adds (e.g. that the data matched).
    Valid(Box<Report>, Vec<String>),
    /// Checked and rejected.
    Invalid(VerifyError),
    /// Not a usable proof.
    Unusable(ProofError),
}

/// Text for standard output and standard error.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Said {
    /// For standard output.
    pub out: String,
    /// For standard error.
    pub err: String,
}

/// Counts the outcomes of a run and says each one, as sentences or as JSON lines.
pub struct Tally {
    json: bool,
    ndjson: bool,
    name: String,
    /// Valid proofs.
    pub valid: u64,
    /// Rejected proofs.
    pub invalid: u64,
    /// Unusable proofs (lines of an NDJSON file that are not proofs).
    pub unusable: u64,
    warned: bool,
}

/// Escapes what a person reads: a name carrying a line end or another control character must
/// not be able to write lines of the verifier's output.
pub fn escape(s: &str) -> String {
    if s.chars().all(|c| !c.is_control()) {
        return s.to_owned();
    }
    s.escape_debug().to_string()
}

impl Tally {
    /// A tally for the proofs of `name`, `ndjson` or one proof, said as JSON or sentences.
    pub fn new(name: &str, ndjson: bool, json: bool) -> Self {
        Self {
            json,
            ndjson,
            name: name.to_owned(),
            valid: 0,
            invalid: 0,
            unusable: 0,
            warned: false,
        }
    }

    /// Counts the outcome of the proof at `line` and says it.
    pub fn record(&mut self, line: u64, outcome: &Outcome) -> Said {
        let mut said = Said::default();
        let at = if self.ndjson {
            format!("line {line}: ")
        } else {
            String::new()
        };
        let mut json = match outcome {
            Outcome::Valid(report, extra) => {
                self.valid += 1;
                if !self.json {
                    // Every valid line of a long NDJSON file would drown the invalid ones.
                    if !self.ndjson {
                        for l in report.lines().iter().chain(extra) {
                            let _ = writeln!(said.out, "{}", escape(l));
                        }
                    }
                    if !self.warned {
                        for w in report.warnings() {
                            let _ = writeln!(said.err, "warning: {w}");
                        }
                        self.warned = true;
                    }
                }
                let mut v = report.to_json();
                v["notes"] = serde_json::json!(extra);
                v
            }
            Outcome::Invalid(e) => {
                self.invalid += 1;
                if !self.json {
                    let _ = writeln!(said.out, "{at}INVALID: {}", escape(&e.to_string()));
                }
                serde_json::json!({"valid": false, "code": e.code(), "reason": e.to_string()})
            }
            Outcome::Unusable(e) => {
                self.unusable += 1;
                if !self.json {
                    let _ = writeln!(
                        said.err,
                        "error: {}: {at}unusable proof: {}",
                        self.name,
                        escape(&e.to_string())
                    );
                }
                serde_json::json!({"valid": false, "code": "unusable-proof",
                                   "reason": format!("unusable proof: {e}")})
            }
        };
        if self.json {
            if self.ndjson {
                json["line"] = serde_json::json!(line);
            }
            let _ = writeln!(said.out, "{json}");
        }
        said
    }

    /// The closing summary (NDJSON files only) and the run's exit code: 2 if any proof was
    /// unusable, else 1 if any was rejected, else 0.
    pub fn finish(&self) -> (Said, u8) {
        let mut said = Said::default();
        if self.ndjson {
            if self.json {
                let _ = writeln!(
                    said.out,
                    "{}",
                    serde_json::json!({"summary": true, "valid": self.valid,
                                       "invalid": self.invalid, "unusable": self.unusable})
                );
            } else {
                let unusable = if self.unusable > 0 {
                    format!(", {} unusable", self.unusable)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    said.out,
                    "{} valid, {} invalid{unusable}",
                    self.valid, self.invalid
                );
            }
        }
        let code = if self.unusable > 0 {
            2
        } else if self.invalid > 0 {
            1
        } else {
            0
        };
        (said, code)
    }
}

/// The JSON line for unusable input as a whole (exit 2): `{"valid": false, "code", "reason"}`.
pub fn unusable_json(e: &Unusable) -> String {
    serde_json::json!({"valid": false, "code": e.code, "reason": e.message}).to_string()
}

/// Checks every proof of `proofs` against the loaded evidence, calling `say` with what to print
/// as it goes (so output streams), and returns the exit code. `extra` may check more of a valid
/// proof (the data of a dataset proof) and return sentences to add, or the rejection.
///
/// # Errors
/// [`Unusable`] when the proof file cannot be read, or what `extra` or `say` return.
pub fn run<R: BufRead>(
    proofs: &mut ProofReader<R>,
    loaded: &Loaded,
    json: bool,
    name: &str,
    mut extra: impl FnMut(&Proof) -> Result<Result<Vec<String>, VerifyError>, Unusable>,
    mut say: impl FnMut(&Said) -> std::io::Result<()>,
) -> Result<u8, RunError> {
    let evidence = loaded.evidence();
    let mut tally = Tally::new(name, proofs.is_ndjson(), json);
    while let Some((line, proof)) = proofs.next_proof()? {
        let outcome = match proof {
            Err(e) if !proofs.is_ndjson() => {
                return Err(
                    unusable("unusable-proof", format!("{name}: unusable proof: {e}")).into(),
                );
            }
            Err(e) => Outcome::Unusable(e),
            Ok(p) => match verify_with(&p, &evidence) {
                Ok(report) => match extra(&p)? {
                    Ok(lines) => Outcome::Valid(Box::new(report), lines),
                    Err(e) => Outcome::Invalid(e),
                },
                Err(e) => Outcome::Invalid(e),
            },
        };
        say(&tally.record(line, &outcome)).map_err(RunError::Output)?;
    }
    let (said, code) = tally.finish();
    say(&said).map_err(RunError::Output)?;
    Ok(code)
}

/// Why a run stopped before its verdicts were all said.
#[derive(Debug)]
pub enum RunError {
    /// Unusable input (exit 2).
    Unusable(Unusable),
    /// Writing the output failed (a closed pipe is not an error to report).
    Output(std::io::Error),
}

impl From<Unusable> for RunError {
    fn from(e: Unusable) -> Self {
        RunError::Unusable(e)
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Unusable(e) => e.fmt(f),
            RunError::Output(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Result<(bool, Vec<(u64, bool)>), Unusable> {
        let mut r = ProofReader::new(bytes, "p")?;
        let mut out = Vec::new();
        while let Some((line, p)) = r.next_proof()? {
            out.push((line, p.is_ok()));
        }
        Ok((r.is_ndjson(), out))
    }

    #[test]
    fn proof_files_are_split_into_lines_or_read_whole() {
        // Pretty JSON is one proof; its failure is the file's.
        assert_eq!(
            all(b"{\n \"a\": 1\n}\n").unwrap(),
            (false, vec![(0, false)])
        );
        // So is one compact proof on one line, blank lines around it.
        assert_eq!(
            all(b"\n{\"a\":1}\r\n\n").unwrap(),
            (false, vec![(0, false)])
        );
        // NDJSON with CRLF line ends and blank lines: one entry per non-blank line, numbered.
        assert_eq!(
            all(b"{}\r\n\r\n{\"x\":1}\r\n").unwrap(),
            (true, vec![(1, false), (3, false)])
        );
        assert!(all(b"").is_err());
        assert!(all(b"\n \n").is_err());
    }

    #[test]
    fn names_are_escaped_for_people() {
        assert_eq!(escape("lb"), "lb");
        assert_eq!(escape("lb\nVALID: forged"), "lb\\nVALID: forged");
        assert_eq!(escape("a\u{1b}[2Kb"), "a\\u{1b}[2Kb");
    }
}
