//! The generator's writers for the regulatory exchange formats: SAS XPORT version 5 (what FDA and
//! PMDA require) and CDISC Dataset-JSON v1.1. Both need facts about the whole table before its
//! first row (character widths, the row count), which a first pass over the deterministic rows
//! gives.

use std::io::Write;

use super::study::{Cell, Domain, Kind, float_text};
use super::write::cell_text;

/// Calls its argument with every row of the table, in order, stopping at its first error.
pub(super) type EachRow<'a> =
    dyn FnMut(&mut dyn FnMut(&[Cell]) -> std::io::Result<()>) -> std::io::Result<()> + 'a;

/// What the first pass learns: the row count and each character column's widest value in bytes.
pub(super) struct Shape {
    pub rows: u64,
    pub widths: Vec<usize>,
}

impl Shape {
    pub fn new(d: &Domain) -> Self {
        Self {
            rows: 0,
            widths: vec![1; d.columns.len()],
        }
    }

    pub fn push(&mut self, row: &[Cell]) {
        self.rows += 1;
        for (w, c) in self.widths.iter_mut().zip(row) {
            if let Cell::Str(s) = c {
                *w = (*w).max(s.len());
            }
        }
    }
}

/// `x` as an 8-byte IBM System/360 hexadecimal float, exactly: its 56-bit fraction holds every
/// double's 53 bits. `None` outside IBM's range (about 5.4e-79 to 7.2e75), and for NaN and
/// infinities, which XPT cannot hold.
pub(super) fn ibm(x: f64) -> Option<[u8; 8]> {
    if x == 0.0 {
        return Some([0; 8]);
    }
    if !x.is_finite() {
        return None;
    }
    let bits = x.to_bits();
    let sign = (bits >> 63) as u8;
    let exp2 = ((bits >> 52) & 0x7ff) as i32;
    let (mut mantissa, mut e2) = if exp2 == 0 {
        (bits & ((1 << 52) - 1), -1074)
    } else {
        ((bits & ((1 << 52) - 1)) | (1 << 52), exp2 - 1075)
    };
    // x = mantissa * 2^e2; want fraction f (56 bits) and exponent e16 with x = f * 16^(e16 - 64 - 14).
    while mantissa >= 1 << 56 {
        mantissa >>= 1;
        e2 += 1;
    }
    while mantissa < 1 << 52 {
        mantissa <<= 1;
        e2 -= 1;
    }
    // Make e2 a multiple of 4 by shifting the fraction left (it has room: below 2^56).
    let shift = e2.rem_euclid(4);
    mantissa <<= shift;
    e2 -= shift;
    if mantissa >= 1 << 56 {
        mantissa >>= 4;
        e2 += 4;
    }
    // Value = mantissa * 16^(e2/4) = (mantissa / 16^14) * 16^(e2/4 + 14).
    let e16 = e2 / 4 + 14 + 64;
    if !(0..=127).contains(&e16) {
        return None;
    }
    let mut out = mantissa.to_be_bytes();
    out[0] = (sign << 7) | e16 as u8;
    Some(out)
}

const MISSING: [u8; 8] = [b'.', 0, 0, 0, 0, 0, 0, 0];

/// Writes 80-byte records, padding the last with `pad`.
struct Records<W: Write> {
    out: W,
    used: usize,
}

impl<W: Write> Records<W> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.used = (self.used + b.len()) % 80;
        self.out.write_all(b)
    }

    fn pad(&mut self, pad: u8) -> std::io::Result<()> {
        if self.used > 0 {
            let fill = vec![pad; 80 - self.used];
            self.bytes(&fill)?;
        }
        Ok(())
    }

    fn header(&mut self, name: &str, digits: &str) -> std::io::Result<()> {
        let text = format!("HEADER RECORD*******{name:<8}HEADER RECORD!!!!!!!{digits:0<30}  ");
        self.bytes(text.as_bytes())
    }
}

/// `text` blank-padded (or cut) to `n` bytes.
fn field(text: &str, n: usize) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    b.resize(n, b' ');
    b
}

/// The fixed time stamp of generated files (their bytes must not depend on the clock).
const STAMP: &str = "01JAN26:00:00:00";

/// Writes a SAS XPORT version 5 file of `d`: one member named after the domain, character
/// columns as wide as their widest value, numbers as 8-byte IBM floats.
///
/// # Errors
/// I/O errors, or a number XPT cannot hold.
pub(super) fn write_xpt(
    out: impl Write,
    d: &Domain,
    shape: &Shape,
    rows: &mut EachRow<'_>,
) -> std::io::Result<()> {
    let mut r = Records { out, used: 0 };
    r.header("LIBRARY", "")?;
    let sas = |name: &str| format!("SAS     SAS     {name:<8}9.4     X64_SRV2{:24}{STAMP}", "");
    r.bytes(sas("SASLIB").as_bytes())?;
    r.bytes(format!("{STAMP}{:64}", "").as_bytes())?;
    // 160: a member header record pair; 140: the namestr length.
    r.header(
        "MEMBER",
        &format!("{}16{}140", "0".repeat(17), "0".repeat(8)),
    )?;
    r.header("DSCRPTR", "")?;
    let member = d.name.to_ascii_uppercase();
    r.bytes(
        format!(
            "SAS     {member:<8}SASDATA 9.4     X64_SRV2{:24}{STAMP}",
            ""
        )
        .as_bytes(),
    )?;
    r.bytes(format!("{STAMP}{:16}{member:<40}{:8}", "", "").as_bytes())?;
    r.header("NAMESTR", &format!("000000{:04}", d.columns.len()))?;
    let mut pos = 0usize;
    let mut lengths = Vec::with_capacity(d.columns.len());
    for (i, ((name, kind), width)) in d.columns.iter().zip(&shape.widths).enumerate() {
        // Type, length, and the display format (name and width) that makes a number a date or
        // a datetime.
        let (ntype, len, format, format_width) = match kind {
            Kind::Str | Kind::LargeStr => (2i16, (*width).min(200), "", 0i16),
            Kind::Date => (1, 8, "DATE", 9),
            Kind::DateTime => (1, 8, "DATETIME", 20),
            Kind::Int | Kind::Int32 | Kind::Float => (1, 8, "", 0),
        };
        lengths.push(len);
        let mut ns = Vec::with_capacity(140);
        ns.extend(ntype.to_be_bytes());
        ns.extend(0i16.to_be_bytes());
        ns.extend((len as i16).to_be_bytes());
        ns.extend(((i + 1) as i16).to_be_bytes());
        ns.extend(field(name, 8));
        ns.extend(field(name, 40));
        ns.extend(field(format, 8));
        ns.extend(format_width.to_be_bytes());
        ns.extend([0u8; 4]);
        ns.extend([0u8; 2]);
        ns.extend(field("", 8));
        ns.extend([0u8; 4]);
        ns.extend((pos as i32).to_be_bytes());
        ns.extend([0u8; 52]);
        r.bytes(&ns)?;
        pos += len;
    }
    r.pad(b' ')?;
    r.header("OBS", "")?;
    let mut bad = None;
    rows(&mut |row| {
        for ((cell, kind), len) in row.iter().zip(d.columns.iter().map(|c| c.1)).zip(&lengths) {
            match (cell, kind) {
                (Cell::Str(s), _) => r.bytes(&field(s, *len))?,
                (Cell::Int(i), _) => r.bytes(&ibm(*i as f64).unwrap_or(MISSING))?,
                (Cell::Float(x), _) => match ibm(*x) {
                    Some(b) => r.bytes(&b)?,
                    None => {
                        bad = Some(*x);
                        r.bytes(&MISSING)?;
                    }
                },
                // SAS dates count days, and datetimes seconds, from 1960-01-01 (3,653 days
                // before 1970-01-01); SAS datetimes have no time zone.
                (Cell::Date(days), _) => {
                    r.bytes(&ibm(f64::from(*days) + 3653.0).unwrap_or(MISSING))?
                }
                (Cell::DateTime(us), _) => {
                    let secs = *us as f64 / 1e6 + 3653.0 * 86_400.0;
                    r.bytes(&ibm(secs).unwrap_or(MISSING))?
                }
                (Cell::Null, Kind::Str | Kind::LargeStr) => r.bytes(&field("", *len))?,
                (Cell::Null, _) => r.bytes(&MISSING)?,
            }
        }
        Ok(())
    })?;
    if let Some(x) = bad {
        return Err(std::io::Error::other(format!(
            "{x} cannot be written as an IBM float"
        )));
    }
    r.pad(b' ')?;
    r.out.flush()
}

/// Writes a CDISC Dataset-JSON v1.1 file (the `.json` form) of `d`: the metadata, then the rows,
/// `rows` last as the specification orders it.
///
/// # Errors
/// I/O errors.
pub(super) fn write_dataset_json(
    mut out: impl Write,
    d: &Domain,
    shape: &Shape,
    rows: &mut EachRow<'_>,
) -> std::io::Result<()> {
    let name = d.name.to_ascii_uppercase();
    let columns: Vec<serde_json::Value> = d
        .columns
        .iter()
        .map(|(col, kind)| {
            let t = match kind {
                Kind::Str | Kind::LargeStr => "string",
                Kind::Int | Kind::Int32 => "integer",
                Kind::Float => "double",
                Kind::Date => "date",
                Kind::DateTime => "datetime",
            };
            serde_json::json!({"itemOID": format!("IT.{name}.{col}"), "name": col,
                               "label": col, "dataType": t})
        })
        .collect();
    let meta = serde_json::json!({
        "datasetJSONCreationDateTime": "2026-01-01T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "originator": "trialnotary generate",
        "itemGroupOID": format!("IG.{name}"),
        "records": shape.rows,
        "name": name,
        "label": name,
        "columns": columns,
    });
    // The metadata object without its closing brace, then "rows".
    let text = meta.to_string();
    out.write_all(&text.as_bytes()[..text.len() - 1])?;
    out.write_all(b",\"rows\":[")?;
    let mut first = true;
    let mut line = Vec::new();
    rows(&mut |row| {
        line.clear();
        line.extend_from_slice(if first { b"\n[" } else { b",\n[" });
        first = false;
        for (k, cell) in row.iter().enumerate() {
            if k > 0 {
                line.push(b',');
            }
            match cell {
                Cell::Str(s) => {
                    serde_json::to_writer(&mut line, s).map_err(std::io::Error::other)?
                }
                Cell::Int(i) => line.extend(i.to_string().bytes()),
                Cell::Float(x) => line.extend(float_text(*x).bytes()),
                Cell::Date(_) | Cell::DateTime(_) => {
                    serde_json::to_writer(&mut line, &cell_text(cell))
                        .map_err(std::io::Error::other)?
                }
                Cell::Null => line.extend(b"null"),
            }
        }
        line.push(b']');
        out.write_all(&line)
    })?;
    out.write_all(b"\n]}\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::xpt::{SasNumber, ibm_to_f64};

    /// Doubles of every magnitude IBM floats hold come back exactly through the XPT reader's
    /// conversion.
    #[test]
    fn ibm_floats_round_trip() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![1.0, -1.0, 0.1, 100.0, 1e-5, 63.0, 4.5, 1e70, -1e-70, 0.0];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() && v.abs() > 1e-75 && v.abs() < 1e75 {
                values.push(v);
            }
        }
        for v in values {
            let bytes = ibm(v).unwrap();
            match ibm_to_f64(&bytes) {
                SasNumber::Value(back) => assert_eq!(back.to_bits(), (v + 0.0).to_bits(), "{v}"),
                other => panic!("{v}: {other:?}"),
            }
        }
        assert!(ibm(f64::NAN).is_none() && ibm(1e300).is_none());
    }
}
