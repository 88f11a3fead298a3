//! The headers: library, member and namestr header records read in order and checked by name
//! and [`Version`] ([`HeaderReader`]), namestrs decoded ([`parse_namestr`]), a `LABELV8` or
//! `LABELV9` section checked against them and its long format names taken ([`read_labels`]),
//! and the namestrs validated and laid out as the columns of an observation ([`layout`]).

use crate::ingest::Sequential;
use std::io::{ErrorKind, Read};
use std::path::Path;

use super::RECORD;
use super::convert::{Column, Kind};
use super::formats::temporal;
use crate::ingest::{IngestError, MAX_RECORD_BYTES};

/// The format version, which decides header names and namestr layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Version {
    V5,
    V8,
}

impl Version {
    fn number(self) -> u8 {
        match self {
            Version::V5 => 5,
            Version::V8 => 8,
        }
    }

    /// Header names of this version: member, descriptor, namestr, observations.
    pub(super) fn names(self) -> [&'static str; 4] {
        match self {
            Version::V5 => ["MEMBER", "DSCRPTR", "NAMESTR", "OBS"],
            Version::V8 => ["MEMBV8", "DSCPTV8", "NAMSTV8", "OBSV8"],
        }
    }

    /// Byte range of the member name in the first member record.
    pub(super) fn member_name(self) -> std::ops::Range<usize> {
        match self {
            Version::V5 => 8..16,
            Version::V8 => 8..40,
        }
    }
}

/// The 20-byte starts and middles of every header record.
const HEADER_HEAD: &[u8; 20] = b"HEADER RECORD*******";
const HEADER_MIDDLE: &[u8; 20] = b"HEADER RECORD!!!!!!!";

/// The name of a header record (`MEMBER`, `OBSV8`, ...), or `None` if `rec` is not one.
pub(super) fn header_name(rec: &[u8]) -> Option<&[u8]> {
    if rec.len() < 48 || &rec[..20] != HEADER_HEAD || &rec[28..48] != HEADER_MIDDLE {
        return None;
    }
    Some(trim_end(&rec[20..28], b' '))
}

/// Whether `rec` is the header record that starts a member, of either version.
pub(super) fn is_member_header(rec: &[u8]) -> bool {
    matches!(header_name(rec), Some(b"MEMBER" | b"MEMBV8"))
}

pub(super) fn trim_end(bytes: &[u8], pad: u8) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != pad).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The decimal number in `bytes`, ignoring blanks around it; `None` if empty or not digits.
pub(super) fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    let s = trim_end(bytes, b' ');
    let s = &s[s.iter().position(|&b| b != b' ').unwrap_or(s.len())..];
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

fn be_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn be_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Sequential reads of the header records, counting bytes.
pub(super) struct HeaderReader<'a> {
    pub(super) path: &'a Path,
    pub(super) file: &'a mut Sequential,
    pub(super) pos: u64,
}

impl HeaderReader<'_> {
    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<Vec<u8>, IngestError> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.file.read(&mut buf[got..]) {
                Ok(0) => {
                    self.pos += got as u64;
                    return Err(IngestError::file(
                        self.path,
                        format!(
                            "truncated: the file ends at byte {} inside the {what}",
                            self.pos
                        ),
                    ));
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(IngestError::file(self.path, format!("cannot read: {e}")));
                }
            }
        }
        self.pos += n as u64;
        Ok(buf)
    }

    pub(super) fn record(&mut self, what: &str) -> Result<Vec<u8>, IngestError> {
        self.take(RECORD, what)
    }

    /// Skips to the next 80-byte boundary (the padding after namestrs and labels).
    pub(super) fn skip_to_record(&mut self, what: &str) -> Result<(), IngestError> {
        let rest = (RECORD - (self.pos % RECORD as u64) as usize) % RECORD;
        self.take(rest, what).map(drop)
    }

    pub(super) fn error(&self, message: impl Into<String>) -> IngestError {
        IngestError::file(self.path, message)
    }

    /// Reads a header record that must be named `name`.
    pub(super) fn expect(&mut self, name: &str, version: Version) -> Result<Vec<u8>, IngestError> {
        let rec = self.record(&format!("{name} header"))?;
        match header_name(&rec) {
            Some(found) if found == name.as_bytes() => Ok(rec),
            Some(found) => Err(self.error(format!(
                "corrupt version {} header: expected the {name} header record at byte {}, found \
                 {}",
                version.number(),
                self.pos - RECORD as u64,
                String::from_utf8_lossy(found)
            ))),
            None => Err(self.error(format!(
                "corrupt header: expected the {name} header record at byte {}",
                self.pos - RECORD as u64
            ))),
        }
    }
}

/// One namestr, as far as the reader uses it.
pub(super) struct Namestr {
    ntype: i16,
    len: i16,
    name: String,
    format: Vec<u8>,
    pos: i32,
}

/// Decodes a variable name or other header text: trailing blanks removed, UTF-8.
fn header_text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(trim_end(bytes, b' '))
        .ok()
        .map(str::to_owned)
}

pub(super) fn parse_namestr(rec: &[u8], version: Version, index: usize) -> Result<Namestr, String> {
    let short = &rec[8..16];
    let long = match version {
        Version::V8 => trim_end(&rec[88..120], b' '),
        Version::V5 => &[][..],
    };
    let raw = if long.is_empty() { short } else { long };
    let name = header_text(raw)
        .filter(|n| !n.is_empty() && !n.contains(|c: char| c.is_control()))
        .ok_or_else(|| {
            format!(
                "namestr {} has an invalid variable name {:?}",
                index + 1,
                String::from_utf8_lossy(raw)
            )
        })?;
    Ok(Namestr {
        ntype: be_i16(rec, 0),
        len: be_i16(rec, 4),
        name,
        format: rec[56..64].to_vec(),
        pos: i32::from_be_bytes([rec[84], rec[85], rec[86], rec[87]]),
    })
}

/// Reads a `LABELV8` or `LABELV9` section (`head` is its header record): checks each entry's
/// variable and name, and takes the long format names of `LABELV9`.
pub(super) fn read_labels(
    r: &mut HeaderReader<'_>,
    head: &[u8],
    v9: bool,
    namestrs: &mut [Namestr],
) -> Result<(), IngestError> {
    let section = if v9 { "LABELV9" } else { "LABELV8" };
    // The count is in bytes 48..53, where ReadStat reads and writes it.
    let n = parse_decimal(&head[48..53]).ok_or_else(|| {
        r.error(format!(
            "corrupt {section} header: the count is not a number"
        ))
    })?;
    if n > namestrs.len() as u64 {
        return Err(r.error(format!(
            "corrupt {section} header: {n} label records for {} variables",
            namestrs.len()
        )));
    }
    let mut seen = vec![false; namestrs.len()];
    for _ in 0..n {
        let fields = if v9 { 5 } else { 3 };
        let head = r.take(2 * fields, "label records")?;
        let var = usize::from(be_u16(&head, 0));
        let name_len = usize::from(be_u16(&head, 2));
        let (format_len, informat_len) = if v9 {
            (usize::from(be_u16(&head, 4)), usize::from(be_u16(&head, 6)))
        } else {
            (0, 0)
        };
        let label_len = usize::from(be_u16(&head, 2 * fields - 2));
        // Variable numbers count from 1, as the namestrs' own do.
        if var == 0 || var > namestrs.len() || seen[var - 1] {
            return Err(r.error(format!(
                "corrupt {section} record: variable number {var} is out of range or repeated"
            )));
        }
        seen[var - 1] = true;
        let name = r.take(name_len, "label records")?;
        let ns = &mut namestrs[var - 1];
        if header_text(&name).as_deref() != Some(ns.name.as_str()) {
            return Err(r.error(format!(
                "corrupt {section} record: it names variable {var} {:?}, its namestr {:?}",
                String::from_utf8_lossy(&name),
                ns.name
            )));
        }
        if v9 {
            let format = r.take(format_len, "label records")?;
            r.take(informat_len, "label records")?;
            if !trim_end(&format, b' ').is_empty() {
                ns.format = format;
            }
        }
        r.take(label_len, "label records")?;
    }
    r.skip_to_record("label records")
}

/// Validates the namestrs and lays out the columns: names, columns, observation length.
pub(super) fn layout(
    path: &Path,
    version: Version,
    namestrs: Vec<Namestr>,
) -> Result<(Vec<String>, Vec<Column>, usize), IngestError> {
    let max_char: i16 = match version {
        Version::V5 => 200,
        Version::V8 => 32767,
    };
    let mut names = Vec::with_capacity(namestrs.len());
    let mut columns = Vec::with_capacity(namestrs.len());
    let mut spans = Vec::with_capacity(namestrs.len());
    for ns in namestrs {
        let at = format!("column {}", ns.name);
        let kind = match ns.ntype {
            1 => {
                if !(2..=8).contains(&ns.len) {
                    return Err(IngestError::at(
                        path,
                        at,
                        format!("numeric length {} is not 2 to 8 bytes", ns.len),
                    ));
                }
                Kind::Num(temporal(&ns.format))
            }
            2 => {
                if !(1..=max_char).contains(&ns.len) {
                    return Err(IngestError::at(
                        path,
                        at,
                        format!(
                            "character length {} is not 1 to {max_char} bytes (version {})",
                            ns.len,
                            version.number()
                        ),
                    ));
                }
                Kind::Char
            }
            t => {
                return Err(IngestError::at(
                    path,
                    at,
                    format!("unknown variable type {t} (1 is numeric, 2 character)"),
                ));
            }
        };
        let offset = usize::try_from(ns.pos).map_err(|_| {
            IngestError::at(
                path,
                &at,
                format!("negative position {} in the observation", ns.pos),
            )
        })?;
        let len = ns.len as usize;
        spans.push((offset, len, columns.len()));
        columns.push(Column { kind, offset, len });
        names.push(ns.name);
    }
    spans.sort_unstable();
    let mut end = 0usize;
    for &(offset, len, i) in &spans {
        if offset != end {
            return Err(IngestError::at(
                path,
                format!("column {}", names[i]),
                format!(
                    "position {offset} in the observation leaves a gap or overlaps (expected \
                     {end})"
                ),
            ));
        }
        end += len;
    }
    if end > MAX_RECORD_BYTES {
        return Err(IngestError::file(
            path,
            format!("observation length {end} is more than the {MAX_RECORD_BYTES} bytes allowed"),
        ));
    }
    let mut sorted: Vec<String> = names.iter().map(|n| n.to_ascii_uppercase()).collect();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|p| p[0] == p[1]) {
        return Err(IngestError::file(
            path,
            format!(
                "two variables are named {} (names ignore case in SAS)",
                pair[0]
            ),
        ));
    }
    Ok((names, columns, end))
}
