//! The XPT reader on hand-built files of both versions: headers, namestrs and labels, values,
//! the end of the observations and its padding, several members, batches and threads, and
//! arbitrary or mutated bytes, which must fail without a panic.

use super::*;
use std::fs::File;
use std::io::{Seek, Write};

/// One variable of a hand-built file.
#[derive(Clone)]
struct Var {
    name: String,
    ntype: i16,
    len: i16,
    format: String,
    pos: Option<i32>,
}

fn char_var(name: &str, len: i16) -> Var {
    Var {
        name: name.into(),
        ntype: 2,
        len,
        format: String::new(),
        pos: None,
    }
}

fn num_var(name: &str, len: i16, format: &str) -> Var {
    Var {
        name: name.into(),
        ntype: 1,
        len,
        format: format.into(),
        pos: None,
    }
}

/// A hand-built XPT file: headers as SAS lays them out, data padded with blanks.
#[derive(Clone)]
struct Spec {
    v8: bool,
    vars: Vec<Var>,
    /// Variable count written in the namestr header (default: `vars.len()`).
    declared: Option<usize>,
    namestr_size: usize,
    /// A raw `LABELV8`/`LABELV9` section (header and records) for version 8.
    labels: Option<Vec<u8>>,
    /// The `OBSV8` count field (version 8), e.g. `Some(3)`.
    count: Option<u64>,
    data: Vec<u8>,
}

fn spec(v8: bool, vars: Vec<Var>, data: &[u8]) -> Spec {
    Spec {
        v8,
        vars,
        declared: None,
        namestr_size: 140,
        labels: None,
        count: None,
        data: data.to_vec(),
    }
}

fn header(name: &str, rest: &str) -> Vec<u8> {
    let text = format!("HEADER RECORD*******{name:<8}HEADER RECORD!!!!!!!{rest:<32}");
    assert_eq!(text.len(), 80);
    text.into_bytes()
}

fn pad80(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(80) {
        out.push(b' ');
    }
}

fn padded(text: &str, n: usize) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    b.resize(n, b' ');
    b
}

fn build(s: &Spec) -> Vec<u8> {
    let (lib, mem, dsc, nam, obs) = if s.v8 {
        ("LIBV8", "MEMBV8", "DSCPTV8", "NAMSTV8", "OBSV8")
    } else {
        ("LIBRARY", "MEMBER", "DSCRPTR", "NAMESTR", "OBS")
    };
    let zeros = "0".repeat(30);
    let mut out = header(lib, &zeros);
    out.extend(padded("SAS     SAS     SASLIB  9.4     Linux", 64));
    out.extend(b"01MAY24:12:00:00");
    out.extend(padded("01MAY24:12:00:00", 80));
    let size = format!("{:04}", s.namestr_size);
    out.extend(header(mem, &format!("00000000000000000160000000{size}")));
    out.extend(header(dsc, &zeros));
    let name_field = if s.v8 { 32 } else { 8 };
    let mut rec = padded("SAS", 8);
    rec.extend(padded("DM", name_field));
    rec.extend(padded("SASDATA 9.4     Linux", 80 - 8 - name_field - 16));
    rec.extend(b"01MAY24:12:00:00");
    out.extend(rec);
    out.extend(padded("01MAY24:12:00:00", 80));
    let declared = s.declared.unwrap_or(s.vars.len());
    out.extend(header(
        nam,
        &format!("000000{declared:04}00000000000000000000"),
    ));
    let mut pos = 0i32;
    for (i, v) in s.vars.iter().enumerate() {
        let mut ns = Vec::with_capacity(140);
        ns.extend(v.ntype.to_be_bytes());
        ns.extend([0, 0]);
        ns.extend(v.len.to_be_bytes());
        ns.extend((i as i16 + 1).to_be_bytes());
        ns.extend(padded(&v.name.chars().take(8).collect::<String>(), 8));
        ns.extend(padded("label", 40));
        ns.extend(padded(&v.format, 8));
        ns.extend([0u8; 8]);
        ns.extend(padded("", 8));
        ns.extend([0u8; 4]);
        ns.extend(v.pos.unwrap_or(pos).to_be_bytes());
        if s.v8 {
            ns.extend(padded(&v.name, 32));
            ns.extend([0u8; 20]);
        } else {
            ns.extend([0u8; 52]);
        }
        ns.truncate(s.namestr_size);
        out.extend(ns);
        pos += i32::from(v.len);
    }
    pad80(&mut out);
    if let Some(labels) = &s.labels {
        out.extend(labels);
        pad80(&mut out);
    }
    let count = s.count.map_or(zeros, |n| format!("{n:>15}"));
    out.extend(header(obs, &count));
    out.extend(&s.data);
    pad80(&mut out);
    out
}

fn file_of(bytes: &[u8]) -> File {
    let mut f = tempfile::tempfile().expect("temp file");
    f.write_all(bytes).expect("write");
    f.rewind().expect("rewind");
    f
}

/// Columns and rows of `bytes` read as an XPT file, or the error's text.
fn read(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
    let path = Path::new("t.xpt");
    let mut source = XptSource::new(path, file_of(bytes)).map_err(|e| e.to_string())?;
    let columns = source.columns().to_vec();
    let mut rows = Vec::new();
    let mut batch = Batch::default();
    while source.next_batch(&mut batch).map_err(|e| e.to_string())? {
        for i in 0..batch.len() {
            rows.push(String::from_utf8_lossy(batch.row(i)).into_owned());
        }
    }
    assert_eq!(source.bytes_read(), Some(bytes.len() as u64));
    Ok((columns, rows))
}

fn rows(bytes: &[u8]) -> Vec<String> {
    read(bytes).unwrap_or_else(|e| panic!("{e}")).1
}

fn error(bytes: &[u8]) -> String {
    match read(bytes) {
        Ok(r) => panic!("expected an error, read {r:?}"),
        Err(e) => e,
    }
}

pub(super) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ------------------------------------------------------------------ files

fn ibm(h: &str) -> Vec<u8> {
    hex(h)
}

fn dm_data() -> Vec<u8> {
    let mut d = Vec::new();
    for (id, age) in [
        ("A-1 ", "4242000000000000"),
        ("B-22", "2e00000000000000"),
        ("    ", "4100000000000000"),
    ] {
        d.extend(id.as_bytes());
        d.extend(ibm(age));
    }
    d
}

#[test]
fn v5_minimal() {
    let s = spec(
        false,
        vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
        &dm_data(),
    );
    let (cols, rows) = read(&build(&s)).unwrap();
    assert_eq!(cols, ["USUBJID", "AGE"]);
    assert_eq!(
        rows,
        [r#"["A-1","66"]"#, r#"["B-22",null]"#, r#"[null,".A"]"#]
    );
}

#[test]
fn v5_vax_namestrs() {
    let mut s = spec(
        false,
        vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
        &dm_data(),
    );
    s.namestr_size = 136;
    assert_eq!(rows(&build(&s)).len(), 3);
    s.namestr_size = 138;
    assert!(error(&build(&s)).contains("namestr size"));
}

#[test]
fn v8_long_names_count_and_labels() {
    let vars = vec![
        char_var("UNIQUE_SUBJECT_ID", 4),
        num_var("AGE_IN_YEARS_AT_SCREENING", 8, ""),
    ];
    let mut s = spec(true, vars, &dm_data());
    s.count = Some(3);
    let (cols, first) = read(&build(&s)).unwrap();
    assert_eq!(cols, ["UNIQUE_SUBJECT_ID", "AGE_IN_YEARS_AT_SCREENING"]);
    assert_eq!(first.len(), 3);
    // A LABELV8 section naming variable 2.
    let mut labels = header("LABELV8", "1");
    let name = b"AGE_IN_YEARS_AT_SCREENING";
    let label = "x".repeat(60);
    labels.extend(2u16.to_be_bytes());
    labels.extend((name.len() as u16).to_be_bytes());
    labels.extend((label.len() as u16).to_be_bytes());
    labels.extend(name);
    labels.extend(label.as_bytes());
    s.labels = Some(labels.clone());
    assert_eq!(rows(&build(&s)), first);
    // The count field of zeros: derived from the end of the file instead.
    s.count = None;
    assert_eq!(rows(&build(&s)), first);
    // A count that is not a number.
    let mut bad = build(&s);
    let at = bad.len() - 160 + 60; // the OBSV8 record, then one record of data
    bad[at] = b'x';
    assert!(error(&bad).contains("corrupt OBSV8 header"));
    // Fewer rows declared than present, or more.
    s.count = Some(2);
    assert!(error(&build(&s)).contains("after the last of 2 observations"));
    // A fourth observation of blanks fits in the padding: 4 declared, 4 read.
    s.count = Some(4);
    assert_eq!(rows(&build(&s)).len(), 4);
    s.count = Some(10);
    assert!(error(&build(&s)).contains("truncated: the file ends inside row 6"));
    // A label record for the wrong variable.
    s.count = Some(3);
    labels[80..82].copy_from_slice(&1u16.to_be_bytes());
    s.labels = Some(labels.clone());
    assert!(error(&build(&s)).contains("names variable 1"));
    labels[80..82].copy_from_slice(&0u16.to_be_bytes());
    s.labels = Some(labels);
    assert!(error(&build(&s)).contains("variable number 0"));
}

#[test]
fn labelv9_long_format_wins() {
    let mut s = spec(
        true,
        vec![num_var("WHEN", 8, "DATE")],
        &ibm("4110000000000000"),
    );
    assert_eq!(rows(&build(&s)), [r#"["1960-01-02"]"#]);
    let mut labels = header("LABELV9", "1");
    let (name, format) = (b"WHEN", b"DATETIME20.");
    for n in [1, name.len(), format.len(), 0, 0] {
        labels.extend((n as u16).to_be_bytes());
    }
    labels.extend(name);
    labels.extend(format);
    s.labels = Some(labels);
    assert_eq!(rows(&build(&s)), [r#"["1960-01-01T00:00:01"]"#]);
}

#[test]
fn numeric_lengths_and_dates_in_files() {
    let vars = (2..=8)
        .map(|w| num_var(&format!("N{w}"), w, ""))
        .chain([num_var("D", 4, "DATE9.")]);
    let vars: Vec<Var> = vars.collect();
    let mut data = Vec::new();
    for w in 2..=8 {
        data.extend(&ibm("401999999999999a")[..w]);
    }
    data.extend(&ibm("4455F00000000000")[..4]); // 0x55F0 = 22000
    let r = rows(&build(&spec(false, vars, &data)));
    assert_eq!(
        r,
        [concat!(
            r#"["0.09765625","0.0999908447265625","0.09999996423721313","0.09999999986030161","#,
            r#""0.0999999999994543","0.09999999999999787","0.1","2020-03-26"]"#
        )]
    );
}

#[test]
fn character_values() {
    let data = b"  a \"q\"\\  \xc3\xa9t\xc3\xa9    ";
    let vars = vec![char_var("A", 10), char_var("B", 10), char_var("C", 4)];
    assert_eq!(
        rows(&build(&spec(false, vars.clone(), data))),
        [r#"["  a \"q\"\\","été",null]"#]
    );
    let mut bad = data.to_vec();
    bad[12] = 0xe9; // Latin-1 é
    let e = error(&build(&spec(false, vars, &bad)));
    assert!(
        e.contains("row 0, column B") && e.contains("not UTF-8"),
        "{e}"
    );
}

#[test]
fn padding_rule() {
    // 10-byte rows: the trailing all-blank row inside the padding is padding; a blank row
    // in the middle is a row.
    let vars = vec![char_var("A", 10)];
    let data = b"a         "
        .iter()
        .chain(&[b' '; 10])
        .chain(b"b         ")
        .copied();
    let data: Vec<u8> = data.chain([b' '; 10]).collect();
    assert_eq!(
        rows(&build(&spec(false, vars.clone(), &data))),
        [r#"["a"]"#, "[null]", r#"["b"]"#]
    );
    // 8 rows of 10 bytes, the last not blank, fill a record exactly: all 8 are rows.
    let data: Vec<u8> = b"a         "
        .iter()
        .chain(&[b' '; 60])
        .chain(b"b         ")
        .copied()
        .collect();
    assert_eq!(rows(&build(&spec(false, vars.clone(), &data))).len(), 8);
    // With the last blank too, the blank rows of that record are read as padding.
    let data: Vec<u8> = b"a         ".iter().copied().chain([b' '; 70]).collect();
    assert_eq!(
        rows(&build(&spec(false, vars.clone(), &data))),
        [r#"["a"]"#]
    );
    // Non-blank bytes after the last whole row (30-byte rows, 80 bytes): corrupt.
    let mut f = build(&spec(false, vec![char_var("A", 30)], &[b'a'; 30]));
    let n = f.len();
    f[n - 5] = b'x';
    assert!(error(&f).contains("not whole"));
    // NUL padding is not blank padding either.
    f[n - 5] = 0;
    assert!(error(&f).contains("not whole"));
    // 100-byte rows: a trailing blank row starting 80+ bytes before the end is a row.
    let vars = vec![char_var("A", 100)];
    let data: Vec<u8> = [b'x'; 100].iter().chain(&[b' '; 100]).copied().collect();
    assert_eq!(
        rows(&build(&spec(false, vars.clone(), &data))),
        [format!(r#"["{}"]"#, "x".repeat(100)), "[null]".into()]
    );
    // 100-byte rows in 80 bytes of data: no whole row, and no room for one: corrupt.
    let f = build(&spec(false, vars, &[b'x'; 50]));
    assert!(error(&f).contains("not whole"));
}

#[test]
fn zero_rows() {
    let vars = vec![char_var("A", 4)];
    assert!(rows(&build(&spec(false, vars.clone(), b""))).is_empty());
    let mut s = spec(true, vars, b"");
    s.count = Some(0);
    assert!(rows(&build(&s)).is_empty());
}

#[test]
fn batches_and_blocks() {
    // More rows than a batch, straddling read blocks (17-byte rows, 1.2 MB).
    let n = BATCH_ROWS + 4000;
    let vars = vec![char_var("A", 9), num_var("N", 8, "")];
    let mut data = Vec::with_capacity(n * 17);
    for i in 0..n {
        data.extend(format!("{i:<9}").as_bytes());
        data.extend(ibm("4110000000000000"));
    }
    for v8 in [false, true] {
        let mut s = spec(v8, vars.clone(), &data);
        s.count = v8.then_some(n as u64);
        let bytes = build(&s);
        let mut source = XptSource::new(Path::new("t.xpt"), file_of(&bytes)).unwrap();
        let mut batch = Batch::default();
        let mut sizes = Vec::new();
        let mut last = String::new();
        while source.next_batch(&mut batch).unwrap() {
            sizes.push(batch.len());
            last = String::from_utf8_lossy(batch.row(batch.len() - 1)).into_owned();
        }
        assert_eq!(sizes, [BATCH_ROWS, 4000]);
        assert_eq!(last, format!(r#"["{}","1"]"#, n - 1));
        assert_eq!(source.bytes_read(), Some(bytes.len() as u64));
    }
}

#[test]
fn header_errors() {
    let good = build(&spec(
        false,
        vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
        &dm_data(),
    ));
    assert!(error(b"").contains("truncated"));
    assert!(error(&[b'x'; 200]).contains("not a SAS XPORT file"));
    assert!(error(&padded("**COMPRESSED** **COMPRESSED**", 160)).contains("CPORT"));
    let mut v9 = good.clone();
    v9[20..28].copy_from_slice(b"LIBV9   ");
    assert!(error(&v9).contains("unknown SAS XPORT library header"));
    let mut mixed = good.clone();
    mixed[240 + 20..240 + 28].copy_from_slice(b"MEMBV8  ");
    assert!(error(&mixed).contains("expected the MEMBER header"));
    // Every cut inside the headers is an error naming truncation, never a panic.
    let data_start = good.len() - 80 * 2;
    for cut in 0..data_start {
        let e = error(&good[..cut]);
        assert!(e.contains("truncated"), "cut {cut}: {e}");
    }
    // A cut in the data: not whole records.
    assert!(error(&good[..good.len() - 7]).contains("truncated"));
}

#[test]
fn namestr_errors() {
    let vars = vec![char_var("USUBJID", 4), num_var("AGE", 8, "")];
    let mut s = spec(false, vars.clone(), &dm_data());
    s.declared = Some(1);
    assert!(error(&build(&s)).contains("not a header"));
    s.declared = Some(3); // the third namestr is read from the padding and the OBS header
    assert!(error(&build(&s)).contains("namestr 3 has an invalid variable name"));
    s.declared = Some(0);
    assert!(error(&build(&s)).contains("no variables"));
    let cases: [(Var, &str); 7] = [
        (num_var("N", 1, ""), "numeric length 1"),
        (num_var("N", 9, ""), "numeric length 9"),
        (char_var("C", 0), "character length 0"),
        (char_var("C", 201), "character length 201"),
        (char_var("C", -4), "character length -4"),
        (
            Var {
                ntype: 3,
                ..char_var("C", 4)
            },
            "unknown variable type 3",
        ),
        (char_var("", 4), "invalid variable name"),
    ];
    for (var, want) in cases {
        let e = error(&build(&spec(false, vec![char_var("A", 4), var], b"")));
        assert!(e.contains(want), "{want}: {e}");
    }
    // v8 allows long character values.
    let mut s = spec(true, vec![char_var("C", 300)], &[b'y'; 300]);
    s.count = Some(1);
    assert_eq!(rows(&build(&s)), [format!(r#"["{}"]"#, "y".repeat(300))]);
    // Positions: gap, overlap, negative; any order that tiles the row is fine.
    let at = |v: Var, p: i32| Var { pos: Some(p), ..v };
    let e = error(&build(&spec(
        false,
        vec![char_var("A", 4), at(char_var("B", 4), 5)],
        b"",
    )));
    assert!(e.contains("column B") && e.contains("gap"), "{e}");
    let e = error(&build(&spec(
        false,
        vec![char_var("A", 4), at(char_var("B", 4), 2)],
        b"",
    )));
    assert!(e.contains("overlaps"), "{e}");
    let e = error(&build(&spec(false, vec![at(char_var("A", 4), -1)], b"")));
    assert!(e.contains("negative position"), "{e}");
    let swapped = vec![at(char_var("A", 2), 3), at(char_var("B", 3), 0)];
    assert_eq!(
        rows(&build(&spec(false, swapped, b"bbbaa"))),
        [r#"["aa","bbb"]"#]
    );
    let e = error(&build(&spec(
        false,
        vec![char_var("AGE", 4), char_var("age", 4)],
        b"",
    )));
    assert!(e.contains("two variables are named AGE"), "{e}");
}

#[test]
fn multiple_members_are_refused() {
    let one = build(&spec(
        false,
        vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
        &dm_data(),
    ));
    let mut two = one.clone();
    let second = build(&spec(false, vec![char_var("X", 8)], b"abcdefgh"));
    two.extend(&second[240..]); // its member, without the library header
    two.extend(&second[240..]);
    let e = error(&two);
    assert!(e.contains("3 members (DM, DM, DM)"), "{e}");
    let mut s = spec(
        true,
        vec![char_var("USUBJID", 4), num_var("AGE", 8, "")],
        &dm_data(),
    );
    s.count = Some(3);
    let mut two = build(&s);
    two.extend(&build(&s)[240..]);
    assert!(error(&two).contains("2 members"));
}

/// A bad value in the first member comes before the error of a second member, even when the
/// block that holds the bad row also holds the second member's header.
#[test]
fn a_bad_row_before_a_second_member_is_the_error() {
    let n = 30_000;
    let mut data = Vec::new();
    for i in 0..n {
        data.extend_from_slice(if i == n - 2 { b"\xff\xfeAB" } else { b"ABCD" });
    }
    let one = build(&spec(false, vec![char_var("USUBJID", 4)], &data));
    assert!(error(&one).contains(&format!("row {}, column USUBJID", n - 2)));
    let second = build(&spec(false, vec![char_var("X", 8)], b"abcdefgh"));
    let mut two = one.clone();
    two.extend(&second[240..]);
    for threads in [1, 2, 5] {
        let e = read_on(threads, &two).unwrap_err();
        assert!(e.contains(&format!("row {}, column USUBJID", n - 2)), "{e}");
    }
}

// ------------------------------------------------------------------ conversion

/// The IBM float of `x`, exact when `x` has at most 53 significant bits and fits.
pub(super) fn ibm_of(x: f64) -> [u8; 8] {
    if x == 0.0 {
        return [0; 8];
    }
    let (mut f, mut e) = (x.abs(), 64u8);
    while f >= 1.0 {
        f /= 16.0;
        e += 1;
    }
    while f < 1.0 / 16.0 {
        f *= 16.0;
        e -= 1;
    }
    let mut b = ((f * 2f64.powi(56)) as u64).to_be_bytes();
    b[0] = e | if x < 0.0 { 0x80 } else { 0 };
    b
}

/// Rows and errors of `bytes` read with `threads` threads.
fn read_on(threads: usize, bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| read(bytes))
}

/// Files of many batches and read blocks give the same rows and the same first error
/// whatever the number of threads, in both versions (with and without an observation
/// count), the error naming the first bad row in file order.
#[test]
fn thread_count_changes_nothing() {
    let n = 2 * BATCH_ROWS + 5000;
    let vars = vec![
        char_var("ID", 11),
        num_var("N", 8, ""),
        char_var("NOTE", 40),
        num_var("D", 8, "DATE9."),
    ];
    let mut data = Vec::with_capacity(n * 67);
    for i in 0..n {
        data.extend(format!("{i:<11}").as_bytes());
        data.extend(ibm_of(i as f64 / 8.0));
        let note = match i % 5 {
            0 => String::new(),
            1 => format!("note \"{i}\""),
            2 => "caf\u{e9} cr\u{e8}me".to_owned(),
            _ => "x".repeat(i % 41),
        };
        data.extend(note.as_bytes());
        data.extend(std::iter::repeat_n(b' ', 40 - note.len()));
        data.extend(ibm_of((i % 30_000) as f64));
    }
    for v8 in [false, true] {
        let mut s = spec(v8, vars.clone(), &data);
        s.count = v8.then_some(n as u64);
        let good = build(&s);
        let want = read_on(1, &good).unwrap();
        assert_eq!(want.1.len(), n);
        for threads in [2, 16] {
            assert!(
                read_on(threads, &good).unwrap() == want,
                "{threads} threads"
            );
        }
        // Bad UTF-8 in a later batch, twice: the first is named, whatever the threads.
        let start = good.len() - data.len().next_multiple_of(80);
        let mut bad = good.clone();
        for row in [BATCH_ROWS + 40_001, BATCH_ROWS + 50_000] {
            bad[start + row * 67 + 19 + 3] = 0xff;
        }
        for threads in [1, 2, 16] {
            let e = read_on(threads, &bad).unwrap_err();
            assert!(
                e.ends_with(&format!(
                    "row {}, column NOTE: character value is not UTF-8 (invalid byte at offset 3)",
                    BATCH_ROWS + 40_001
                )),
                "{threads} threads: {e}"
            );
        }
        // A bad value before a structural error in the same batch comes first; without
        // the bad value, the structural error.
        let mut cut = bad.clone();
        cut.truncate(start + (BATCH_ROWS + 60_000) * 67 + 7);
        let mut whole = good.clone();
        whole.truncate(cut.len());
        for threads in [1, 2, 16] {
            let e = read_on(threads, &cut).unwrap_err();
            assert!(
                e.contains(&format!("row {}, column NOTE", BATCH_ROWS + 40_001)),
                "{e}"
            );
            let e = read_on(threads, &whole).unwrap_err();
            assert!(e.contains("truncated"), "{threads} threads: {e}");
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, and arbitrary bytes after a valid library header: errors, never a
    /// panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1200), headed: bool) {
        let mut input = if headed { build(&spec(false, vec![char_var("A", 1)], b""))[..240].to_vec() } else { Vec::new() };
        input.extend(bytes);
        let _ = read(&input);
    }

    /// Valid files of both versions with bytes changed, inserted or cut: errors or rows,
    /// never a panic.
    #[test]
    fn mutated_files_never_panic(
        v8: bool,
        edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY, 0u8..4), 1..6),
    ) {
        let vars = vec![char_var("USUBJID", 4), num_var("AGE", 3, "DATE"), num_var("T", 8, "TIME")];
        let mut data = Vec::new();
        for _ in 0..7 {
            data.extend(b"A-1 ");
            data.extend(&ibm("4142000000000000")[..3]);
            data.extend(ibm("4110000000000000"));
        }
        let mut s = spec(v8, vars, &data);
        s.count = v8.then_some(7);
        let mut f = build(&s);
        for (at, byte, op) in edits {
            let i = at % f.len();
            match op {
                0 => f[i] = byte,
                1 => f.insert(i, byte),
                2 => { f.remove(i); }
                _ => f.truncate(i),
            }
            if f.is_empty() { break; }
        }
        let _ = read(&f);
    }
}
