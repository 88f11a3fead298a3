//! SAS XPORT (XPT) reader, versions 5 and 8: parses the library, member and namestr headers,
//! then streams the observations in file order, turning each into a canonical `values` array.
//!
//! # What is read
//!
//! - **Versions.** Version 5 (`LIBRARY`, `MEMBER`, `DSCRPTR`, `NAMESTR`, `OBS` headers) and
//!   version 8 (`LIBV8`, `MEMBV8`, `DSCPTV8`, `NAMSTV8`, an optional `LABELV8` or `LABELV9`
//!   section, `OBSV8`). Namestr records are 140 bytes, or 136 (VAX/VMS) when the member header
//!   says so. SAS CPORT files (`**COMPRESSED**`) and anything else are refused.
//! - **One member per file.** A file holding several members (datasets) is refused with an
//!   error naming them all: a dataset file is one dataset, as for every other format, and
//!   silently reading only the first member would notarize part of a file.
//! - **Columns.** One per namestr, in namestr order; the name is the variable name (version 8:
//!   the 32-byte long name, or the 8-byte name when the long one is blank) with trailing blanks
//!   removed. Names must be UTF-8 and unique ignoring ASCII case (SAS names are case-insensitive,
//!   so two equal names mean a corrupt file). Each value sits at the namestr's `npos` within the
//!   observation; the positions must tile the observation exactly (no gap, no overlap).
//! - **Checks.** Every header record is checked by name and version; the namestr count in the
//!   header must be followed, after that many namestrs, by the next header; types are 1 or 2;
//!   numeric lengths 2..=8; character lengths 1..=200 (v5) or 1..=32767 (v8); observation length
//!   at most [`MAX_RECORD_BYTES`]; label records must name their variable as the namestr does;
//!   the file must be whole 80-byte records. Every failure is an [`IngestError`] naming the file
//!   and, for values, "row N, column NAME" with rows counted from 0.
//!
//! # Canonical text of values
//!
//! - **Character:** trailing blanks (0x20) removed; all blanks is the missing value (`null`,
//!   like an empty string everywhere in trialnotary). Leading blanks and any other byte
//!   (including NUL) are kept. The bytes must be UTF-8; anything else is an error naming file,
//!   row and column: no encoding is guessed (a Latin-1 file must be converted first).
//! - **Numeric:** IBM System/370 hexadecimal floating point, 2 to 8 bytes (a shorter value is the
//!   8-byte one truncated on the right). The value, `fraction × 16^(exponent − 64)` with a 56-bit
//!   fraction, is converted to the IEEE f64 it is, which it is whenever the fraction has at most
//!   53 significant bits, as for every value written from an f64; a value with more is refused,
//!   naming its row and column, since rounding it would give it another number's text. It is
//!   written as ECMAScript `Number::toString` ([`push_f64`]), so `63` from XPT equals `63` from
//!   Parquet.
//!   A zero fraction with a first byte other than a missing-value marker is zero (`0`).
//! - **Missing values:** `.` (0x2E then zeros) is `null`. The special missing values `.A`-`.Z`
//!   and `._` (first byte 0x41-0x5A or 0x5F, zero fraction) are their own text, `.A` ... `._`:
//!   they carry meaning (for example "not done" against "refused"), so a change from `.A` to `.B`
//!   must change the record's hash, which it could not if both were `null`.
//! - **Dates, times, datetimes:** a numeric whose format (the namestr `nform`; in version 8 the
//!   `LABELV9` long format name when there is one) is a date, time or datetime format is written
//!   as such. The format name is compared ignoring case, after dropping anything from a `.` and
//!   trailing digits (a width), so `date9.`, `DATE` and `DATE9` are all `DATE`.
//!   - date formats ([`DATE_FORMATS`]: `DATE`, `YYMMDD`, `MMDDYY`, `DDMMYY` and their separator
//!     variants, `E8601DA`, `B8601DA`, `IS8601DA`, `MONYY`, `YEAR`, `WORDDATE`, ... ; days since
//!     1960-01-01): `YYYY-MM-DD`;
//!   - datetime formats ([`DATETIME_FORMATS`]: `DATETIME`, `E8601DT`, `B8601DT`, `IS8601DT`,
//!     `E8601DZ`, `DATEAMPM`, `DTDATE`, ... ; seconds since 1960-01-01T00:00:00):
//!     `YYYY-MM-DDTHH:MM:SS[.ffffff]`, without a zone: SAS datetimes are wall-clock times, and
//!     this is the text Dataset-JSON and a naive Arrow timestamp carry for the same value;
//!   - time formats ([`TIME_FORMATS`]: `TIME`, `TOD`, `HHMM`, `E8601TM`, `B8601TM`,
//!     `IS8601TM`, ... ; seconds since midnight): `HH:MM:SS[.ffffff]`.
//!
//!   Seconds are rounded to the nearest microsecond, ties to even, computed exactly from the
//!   f64 value (SAS stores these as doubles: near the year 2000 a double's step is about
//!   0.2 µs, so finer digits are noise); the fraction is written without trailing zeros. A
//!   value that is not a whole number of days (dates), whose date falls outside the years
//!   0001..=9999, or a time outside `[0, 24h)` after rounding, is **not** floored or wrapped:
//!   it is written as a plain number ([`push_f64`]), so nothing is lost and the odd value shows.
//!   Missing values stay `null`, special ones their text.
//!
//! # End of the observations
//!
//! Version 8 files whose `OBSV8` header carries an observation count (right-aligned in bytes
//! 48..63, as ReadStat writes it) are read by that count: exactly that many observations must
//! follow, then at most 79 blanks to the end of the 80-byte record, then the end of the file. Version 5 files (and version 8
//! files whose count field is zeros) have no count: observations run to the end of the file,
//! whose last 80-byte record is padded with blanks (0x20). With `D` the bytes of data and `L`
//! the observation length, the rows are the smallest `n` with `n × L > D − 80` and bytes
//! `n × L .. D` all blanks. So an observation that starts 80 or more bytes before the end is
//! always a row, even if all blanks; the ambiguity the format leaves is only for all-blank
//! observations that lie entirely within the last record's padding (`L < 80`): those are read
//! as padding. For comparison (fixtures `blank_*`): pyreadstat 1.3.8 (ReadStat) agrees with 10-
//! and 100-byte observations but with 30-byte ones drops all three trailing blank observations,
//! two of which start more than 80 bytes before the end and so cannot be padding; the `xport`
//! Python package stops at the first all-blank observation anywhere in the file.
//!
//! Another member after the observations is found by its member header record at an 80-byte
//! boundary (without a count, every record of the data is checked, as SAS and ReadStat must
//! too: a character value holding exactly that header text at a record boundary would be taken
//! for one, and the file refused).
//!
//! Other header fields: the variable count is the number in bytes 48..58 of the namestr header
//! (zeros, then the count in 54..58, where SAS, ReadStat and `xport` write it; in version 8 a
//! six-digit count in 54..60 is recognised by digits in 58..60), the `LABELV8`/`LABELV9` count from bytes 48..53, the
//! namestr size from bytes 74..78 of the member header; label records number variables from 1.
//!
//! # Reading and converting
//!
//! The reader reads the file once, from start to end, through the caller's `File`, in blocks
//! of 1 MiB, finding the observations as above. The observations of a batch (at most
//! [`BATCH_ROWS`] of them and at most 16 MiB, at least one) are buffered, then converted on all
//! cores of the current rayon pool: observations are fixed width, so the batch is cut into
//! ranges of rows, each range converted on its own, and the ranges' rows concatenated in order.
//! The first bad value in file order is the error, and it comes before an error found later
//! in the file (a truncation, another member), as when reading one row after the other: the
//! rows and errors do not depend on the number of threads. Memory: the observations of one
//! batch, a read block, and the batch's text.
//!
//! Per value the conversion does little: an observation's blanks and bytes that would need
//! escaping are found sixteen at a time (SSE2 on x86-64), so that a character value is trimmed
//! from a bit mask and, when its observation is plain ASCII, copied without a UTF-8 check or
//! escape scan, as one fixed-size copy; numbers are written digit by digit ([`write_f64`]).
//!
//! # Files
//!
//! This file holds the source, [`XptSource`]: the headers read in order, the observations found
//! in the blocks read (their count, the padding, another member) and handed over in batches
//! converted on all cores. The parts it puts together:
//! - `header`: the header, namestr and label records, checked, and the columns laid out;
//! - `ibm`: IBM floating point to f64, and SAS missing values;
//! - `formats`: the date, time and datetime formats, and the text of their values;
//! - `convert`: observations to `values` arrays, a range of rows at a time.
//!
//! [`MAX_RECORD_BYTES`]: super::MAX_RECORD_BYTES
//! [`push_f64`]: super::canonical::push_f64
//! [`write_f64`]: super::canonical::write_f64

mod convert;
mod formats;
mod header;
mod ibm;
#[cfg(test)]
mod tests;

pub use formats::{DATE_FORMATS, DATETIME_FORMATS, TIME_FORMATS};
pub use ibm::{SasNumber, ibm_to_f64};

use super::Sequential;
use std::path::{Path, PathBuf};

use super::{BATCH_ROWS, Batch, IngestError, MAX_COLUMNS, RowSource, convert_in_parallel, reclaim};

use convert::{Layout, Problem, write_rows};
use header::{
    HeaderReader, Version, header_name, is_member_header, layout, parse_decimal, parse_namestr,
    read_labels, trim_end,
};

/// Every header and padding unit of the format is an 80-byte record.
const RECORD: usize = 80;

/// Bytes read from the file at a time while streaming observations.
const BLOCK: usize = 1 << 20;

/// Bytes of observations converted together, on all cores: a batch holds at most this much
/// (and at most [`BATCH_ROWS`] rows), and at least one observation.
const BATCH_DATA: usize = 16 << 20;

/// Fewest observations one core converts at a time.
const MIN_RANGE: usize = 512;

/// Streams the observations of a single-member SAS XPORT file.
pub struct XptSource {
    path: PathBuf,
    file: Sequential,
    version: Version,
    /// Name of the (first) member, for the multi-member error.
    member: String,
    names: Vec<String>,
    layout: Layout,
    /// File offset of the first observation (a multiple of 80).
    data_start: u64,
    /// The number of observations, from the `OBSV8` header or, without one, once the end of the
    /// file has been reached.
    count: Option<u64>,
    /// Observations found so far; the next row's number.
    row: u64,
    /// Observations converted so far: rows `converted..row` wait in `buf`, from `lo` on.
    converted: u64,
    /// Bytes read from the file but not consumed: `buf[lo..]` starts at file offset `base + lo`.
    buf: Vec<u8>,
    lo: usize,
    base: u64,
    /// File offset up to which whole 80-byte records were checked not to be a member header
    /// (only while the count is unknown).
    scanned: u64,
    eof: bool,
    done: bool,
    bytes_read: u64,
    /// The batch being filled.
    out: Batch,
    /// Batches of ranges converted in parallel, kept for reuse.
    spare: Vec<Batch>,
}

impl XptSource {
    /// Reads the headers (library, member, namestr records, and in version 8 the label
    /// records) from `file`, already opened by the caller at its start; the observations are
    /// read by [`RowSource::next_batch`].
    ///
    /// # Errors
    /// A file that is not SAS XPORT version 5 or 8, a corrupt or truncated header, a namestr
    /// count that does not match the records, a bad type, length or position, an observation
    /// longer than [`MAX_RECORD_BYTES`](super::MAX_RECORD_BYTES), or a read error.
    pub fn new(path: &Path, file: impl Into<Sequential>) -> Result<Self, IngestError> {
        let mut file = file.into();
        let mut r = HeaderReader {
            path,
            file: &mut file,
            pos: 0,
        };
        let rec = r.record("library header")?;
        let version = match header_name(&rec) {
            Some(b"LIBRARY") => Version::V5,
            Some(b"LIBV8") => Version::V8,
            Some(other) => {
                return Err(r.error(format!(
                    "unknown SAS XPORT library header {:?}: only versions 5 (LIBRARY) and 8 \
                     (LIBV8) are read",
                    String::from_utf8_lossy(other)
                )));
            }
            None if rec.starts_with(b"**COMPRESSED**") => {
                return Err(r.error(
                    "a SAS CPORT file, not XPORT: write the dataset with the XPORT engine or \
                     as version 8 transport",
                ));
            }
            None => {
                return Err(
                    r.error("not a SAS XPORT file: the first record is not a library header")
                );
            }
        };
        let rec = r.record("library header")?;
        if !rec.starts_with(b"SAS     SAS     SASLIB  ") {
            return Err(r.error("corrupt library header: the second record is not SAS SASLIB"));
        }
        r.record("library header")?;
        let [member_h, dscrptr_h, namestr_h, obs_h] = version.names();
        let rec = r.expect(member_h, version)?;
        let namestr_size = match &rec[74..78] {
            b"0140" => 140,
            b"0136" => 136,
            other => {
                return Err(r.error(format!(
                    "corrupt member header: namestr size {:?}, expected 0140 or 0136",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        r.expect(dscrptr_h, version)?;
        let rec = r.record("member header")?;
        let name_range = version.member_name();
        if !rec.starts_with(b"SAS     ") || &rec[name_range.end..name_range.end + 8] != b"SASDATA "
        {
            return Err(r.error("corrupt member header: not a SAS SASDATA member record"));
        }
        let member = String::from_utf8_lossy(trim_end(&rec[name_range], b' ')).into_owned();
        r.record("member header")?;
        let rec = r.expect(namestr_h, version)?;
        // Writers (SAS, ReadStat, xport) put the count in bytes 54..58; the version 8 layout
        // also allows six digits in 54..60, recognised by digits in 58..60.
        let wide = version == Version::V8 && &rec[58..60] != b"00";
        let count = parse_decimal(&rec[48..if wide { 60 } else { 58 }])
            .ok_or_else(|| r.error("corrupt namestr header: the variable count is not a number"))?;
        if count == 0 {
            return Err(r.error("the dataset has no variables"));
        }
        if count > MAX_COLUMNS as u64 {
            return Err(r.error(format!(
                "{count} variables, more than the {MAX_COLUMNS} a dataset may have"
            )));
        }
        let count = count as usize;
        let raw = r.take(count * namestr_size, "namestr records")?;
        let mut namestrs = Vec::with_capacity(count);
        for (i, rec) in raw.chunks_exact(namestr_size).enumerate() {
            namestrs.push(parse_namestr(rec, version, i).map_err(|m| r.error(m))?);
        }
        r.skip_to_record("namestr records")?;
        let rec = r.record(&format!("{obs_h} header"))?;
        let mut rec_name = header_name(&rec).map(<[u8]>::to_vec);
        if rec_name.is_none() {
            return Err(r.error(format!(
                "the namestr header declares {count} variables, but the record after {count} \
                 namestrs (byte {}) is not a header: wrong variable count or corrupt file",
                r.pos - RECORD as u64
            )));
        }
        let mut obs_rec = rec;
        if version == Version::V8
            && let Some(kind @ (b"LABELV8" | b"LABELV9")) = rec_name.as_deref()
        {
            let v9 = kind == b"LABELV9";
            read_labels(&mut r, &obs_rec, v9, &mut namestrs)?;
            obs_rec = r.record("OBSV8 header")?;
            rec_name = header_name(&obs_rec).map(<[u8]>::to_vec);
        }
        if rec_name.as_deref() != Some(obs_h.as_bytes()) {
            return Err(r.error(format!(
                "corrupt header: expected the {obs_h} header record at byte {}, found {}",
                r.pos - RECORD as u64,
                rec_name
                    .as_deref()
                    .map_or("no header".into(), String::from_utf8_lossy)
            )));
        }
        let obs_count = match version {
            Version::V5 => None,
            // SAS 9.4 and ReadStat write the count; older writers leave the template zeros.
            // The count is right-aligned in bytes 48..63, as ReadStat writes it.
            Version::V8 => {
                let zero = |b: &u8| *b == b'0' || *b == b' ';
                if obs_rec[48..80].iter().all(zero) {
                    None
                } else {
                    let count = parse_decimal(&obs_rec[48..63])
                        .filter(|_| obs_rec[63..80].iter().all(zero));
                    Some(count.ok_or_else(|| {
                        r.error("corrupt OBSV8 header: the observation count is not a number")
                    })?)
                }
            }
        };
        let data_start = r.pos;
        let (names, columns, row_len) = layout(path, version, namestrs)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            version,
            member,
            names,
            layout: Layout::new(columns, row_len),
            data_start,
            count: obs_count,
            row: 0,
            converted: 0,
            buf: Vec::new(),
            lo: 0,
            base: data_start,
            scanned: data_start,
            eof: false,
            done: false,
            bytes_read: data_start,
            out: Batch::default(),
            spare: Vec::new(),
        })
    }

    /// File offset just past the bytes in `buf`.
    fn buffered_end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Index in `buf` of file offset `at`, clamped to the buffered bytes.
    fn offset_in_buf(&self, at: u64) -> usize {
        at.checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(0)
            .min(self.buf.len())
    }

    /// File offset of the next observation.
    fn cursor(&self) -> u64 {
        self.data_start + self.row * self.layout.row_len as u64
    }

    /// Reads one more block; `false` at the end of the file.
    fn read_more(&mut self) -> Result<bool, IngestError> {
        if self.eof {
            return Ok(false);
        }
        if self.lo > 0 && (self.lo >= BLOCK || self.lo == self.buf.len()) {
            self.buf.drain(..self.lo);
            self.base += self.lo as u64;
            self.lo = 0;
        }
        let old = self.buf.len();
        // It stops short of the block only at the end of the file.
        let n = match self.file.read_appending(&mut self.buf, BLOCK) {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                return Err(IngestError::file(&self.path, format!("cannot read: {e}")));
            }
        };
        self.bytes_read += n as u64;
        self.eof = n < BLOCK;
        Ok(n > 0)
    }

    /// The bytes at file offsets `from..to`, which must be buffered.
    fn slice(&self, from: u64, to: u64) -> &[u8] {
        let index = |at: u64| {
            at.checked_sub(self.base)
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(usize::MAX)
        };
        self.buf.get(index(from)..index(to)).unwrap_or_default()
    }

    /// Checks the newly buffered whole records for the start of another member.
    fn scan(&mut self) -> Result<(), IngestError> {
        let end = self.buffered_end();
        while self.scanned + RECORD as u64 <= end {
            let at = self.scanned;
            if is_member_header(self.slice(at, at + RECORD as u64)) {
                return Err(self.members_error(at));
            }
            self.scanned += RECORD as u64;
        }
        Ok(())
    }

    /// The error for a file with another member starting at `at`, naming every member: reads
    /// the rest of the file for their names.
    fn members_error(&mut self, at: u64) -> IngestError {
        // The rows before come first: a bad value among them is the error. Those not yet found
        // are found here, by the padding rule at the end of a file (the fewest rows that leave
        // only blanks before the header); they are all buffered, ahead of `at`.
        if self.count.is_none()
            && let Some(n) = self.rows_before(at)
        {
            self.row = self.row.max(n);
        }
        if let Err(e) = self.flush() {
            return e;
        }
        let mut names = vec![self.member.clone()];
        let mut pos = at;
        let mut after_header = 0; // records since the last member header: its name is in the 2nd
        loop {
            while self.buffered_end() < pos + RECORD as u64 {
                self.lo = self.offset_in_buf(pos);
                match self.read_more() {
                    Ok(true) => {}
                    _ => return self.members_message(&names),
                }
            }
            let rec = self.slice(pos, pos + RECORD as u64);
            if is_member_header(rec) {
                after_header = 1;
            } else if after_header == 1 {
                after_header = 2;
            } else if after_header == 2 {
                let name = rec.get(self.version.member_name()).unwrap_or_default();
                names.push(String::from_utf8_lossy(trim_end(name, b' ')).into_owned());
                after_header = 0;
            }
            pos += RECORD as u64;
        }
    }

    fn members_message(&self, names: &[String]) -> IngestError {
        IngestError::file(
            &self.path,
            format!(
                "the file holds {} members ({}); only single-member XPT files are read: write \
                 each dataset to its own file",
                names.len(),
                names.join(", ")
            ),
        )
    }

    /// The number of observations when the file gives none, once all of it is buffered: see the
    /// module documentation.
    /// The number of observations in the data that ends at `end` (buffered from the next row
    /// on): the fewest whose bytes leave only blanks, less than one record, up to `end`.
    fn rows_before(&self, end: u64) -> Option<u64> {
        let data = end.checked_sub(self.data_start)?;
        let len = self.layout.row_len as u64;
        if len == 0 {
            return None;
        }
        let first = if data >= RECORD as u64 {
            (data - RECORD as u64) / len + 1
        } else {
            0
        };
        (first.max(self.row)..=data / len).find(|n| {
            let from = self.data_start + n * len;
            self.slice(from, end).iter().all(|&b| b == b' ')
        })
    }

    fn resolve_count(&self) -> Result<u64, IngestError> {
        let data = self.buffered_end() - self.data_start;
        if !data.is_multiple_of(RECORD as u64) {
            return Err(IngestError::file(
                &self.path,
                format!(
                    "truncated: the file is {} bytes, not a whole number of 80-byte records",
                    self.buffered_end()
                ),
            ));
        }
        if let Some(n) = self.rows_before(self.buffered_end()) {
            return Ok(n);
        }
        let len = self.layout.row_len as u64;
        Err(IngestError::file(
            &self.path,
            format!(
                "corrupt or truncated observations: {data} bytes of data are not whole \
                 {len}-byte observations followed by blank padding to the 80-byte record"
            ),
        ))
    }

    /// After the last observation: blank padding to the record boundary, then the end of the
    /// file.
    fn finish(&mut self) -> Result<(), IngestError> {
        self.flush()?;
        let pos = self.cursor();
        let used = (pos - self.data_start) % RECORD as u64;
        let aligned = if used == 0 {
            pos
        } else {
            pos + (RECORD as u64 - used)
        };
        while self.buffered_end() < aligned {
            if !self.read_more()? {
                return Err(IngestError::file(
                    &self.path,
                    format!(
                        "truncated: the file ends at byte {} inside the last 80-byte record \
                         after observation {}",
                        self.buffered_end(),
                        self.row
                    ),
                ));
            }
        }
        if !self.slice(pos, aligned).iter().all(|&b| b == b' ') {
            return Err(IngestError::file(
                &self.path,
                format!(
                    "corrupt file: the {} bytes after the last of {} observations are not blank \
                     padding",
                    aligned - pos,
                    self.row
                ),
            ));
        }
        self.lo = self.offset_in_buf(aligned);
        while self.buffered_end() < aligned + RECORD as u64 && self.read_more()? {}
        if self.buffered_end() > aligned {
            if is_member_header(self.slice(aligned, aligned + RECORD as u64)) {
                return Err(self.members_error(aligned));
            }
            return Err(IngestError::file(
                &self.path,
                format!(
                    "corrupt file: data at byte {aligned} after the last of {} observations",
                    self.row
                ),
            ));
        }
        Ok(())
    }

    /// How many of the next observations are in `buf` and known to be rows: those for which
    /// [`Self::next_row`] would neither read nor end.
    fn ready_rows(&self) -> u64 {
        if self.done {
            return 0;
        }
        let (pos, len) = (self.cursor(), self.layout.row_len as u64);
        match self.count {
            Some(n) => {
                (n.saturating_sub(self.row)).min(self.buffered_end().saturating_sub(pos) / len)
            }
            // As in next_row: an observation starting 80 bytes or more before the end of what
            // was scanned is a row.
            None => match self.scanned.checked_sub(pos + len.max(RECORD as u64)) {
                Some(room) => room / len + 1,
                None => 0,
            },
        }
    }

    /// Makes the next observation available in `buf`; its file offset, or `None` at the end.
    fn next_row(&mut self) -> Result<Option<u64>, IngestError> {
        if self.done {
            return Ok(None);
        }
        let pos = self.cursor();
        let len = self.layout.row_len as u64;
        loop {
            match self.count {
                Some(n) if self.row >= n => {
                    self.finish()?;
                    self.done = true;
                    return Ok(None);
                }
                Some(n) => {
                    while self.buffered_end() < pos + len {
                        if !self.read_more()? {
                            return Err(IngestError::file(
                                &self.path,
                                format!(
                                    "truncated: the file ends inside row {} of the {n} \
                                     observations the OBSV8 header declares",
                                    self.row
                                ),
                            ));
                        }
                    }
                    return Ok(Some(pos));
                }
                None => {
                    // An observation starting 80 bytes or more before the end cannot be padding.
                    if self.scanned >= pos + len.max(RECORD as u64) {
                        return Ok(Some(pos));
                    }
                    if self.read_more()? {
                        self.scan()?;
                    } else {
                        self.count = Some(self.resolve_count()?);
                    }
                }
            }
        }
    }

    /// Converts the observations found and not yet converted (rows `converted..row`, all in
    /// `buf`) into `out`, on all cores; the first bad value in row order is the error.
    fn flush(&mut self) -> Result<(), IngestError> {
        let rows = (self.row - self.converted) as usize;
        if rows == 0 {
            return Ok(());
        }
        let len = self.layout.row_len;
        let from = self.data_start + self.converted * len as u64;
        let start = self.offset_in_buf(from);
        let data = self.buf.get(start..start + rows * len).unwrap_or_default();
        let first = self.converted;
        let (path, names, layout) = (&self.path, &self.names, &self.layout);
        convert_in_parallel(
            rows,
            MIN_RANGE,
            &mut self.out,
            &mut self.spare,
            |range, batch| {
                write_rows(data, range, layout, batch).map_err(|bad| {
                    IngestError::at(
                        path,
                        format!(
                            "row {}, column {}",
                            first + bad.row as u64,
                            names[bad.column]
                        ),
                        match bad.problem {
                            Problem::NotUtf8(at) => format!(
                                "character value is not UTF-8 (invalid byte at offset {at})"
                            ),
                            // Every writer converts from doubles, which IBM floats hold
                            // exactly: this number was not written from one.
                            Problem::Inexact(raw) => format!(
                                "the number {raw:016x} has more significant bits than a \
                                 double holds (53), so no writer of doubles (SAS, R, Python) \
                                 wrote it; it is refused rather than rounded, which would \
                                 give it the text of another number"
                            ),
                        },
                    )
                })
            },
        )?;
        self.converted = self.row;
        self.lo = start + rows * len;
        Ok(())
    }

    /// Finds the rows of the next batch and converts them into `out`.
    fn fill(&mut self) -> Result<(), IngestError> {
        let per_batch = BATCH_ROWS.min((BATCH_DATA / self.layout.row_len).max(1)) as u64;
        while self.row - self.converted < per_batch {
            // Rows that are already buffered, taken at once: those `next_row` would return
            // one by one without reading.
            let ready = self
                .ready_rows()
                .min(per_batch - (self.row - self.converted));
            if ready > 0 {
                self.row += ready;
                continue;
            }
            match self.next_row() {
                Ok(Some(_)) => self.row += 1,
                Ok(None) => break,
                // The rows before the place of the error come first.
                Err(e) => return Err(self.flush().err().unwrap_or(e)),
            }
        }
        self.flush()
    }
}

impl RowSource for XptSource {
    fn columns(&self) -> &[String] {
        &self.names
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        // Filled in place of the caller's batch, whose allocations it reuses.
        std::mem::swap(&mut self.out, batch);
        // The bytes stay, as stale ones: write_rows overwrites them without zeroing them again;
        // so do those of the parts, taken back.
        self.out.ends.clear();
        reclaim(&mut self.spare, &mut self.out.parts);
        let filled = self.fill();
        self.out.discard_partial();
        std::mem::swap(&mut self.out, batch);
        filled?;
        Ok(!batch.is_empty())
    }

    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes_read)
    }
}
