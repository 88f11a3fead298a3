//! The Dataset-JSON reader on whole files of every form: values by type, errors and their
//! places, the metadata's rules, limits, compressed streams, and the same rows and first error
//! with any number of threads.

use super::*;
use crate::ingest::MAX_COLUMNS;
use std::fs::File;
use std::io::{Read, Write};

/// Metadata members of a dataset with these (name, dataType) columns, without braces.
fn members(records: u64, cols: &[(&str, &str)]) -> String {
    let cols: Vec<String> = cols
        .iter()
        .map(|(n, t)| {
            format!(r#"{{"itemOID":"IT.{n}","name":"{n}","label":"{n}","dataType":"{t}"}}"#)
        })
        .collect();
    format!(
        r#""datasetJSONCreationDateTime":"2025-01-01T00:00:00","datasetJSONVersion":"1.1.0","itemGroupOID":"IG.T","records":{records},"name":"T","label":"Test","columns":[{}]"#,
        cols.join(",")
    )
}

const COLS: &[(&str, &str)] = &[("ID", "string"), ("N", "integer")];

/// A `.json` text with `rows` (the text inside its brackets).
fn json(records: u64, cols: &[(&str, &str)], rows: &str) -> Vec<u8> {
    format!("{{{},\"rows\":[{rows}]}}", members(records, cols)).into_bytes()
}

/// An NDJSON text: the metadata line, then `lines`.
fn ndjson(records: u64, cols: &[(&str, &str)], lines: &str) -> Vec<u8> {
    format!("{{{}}}\n{lines}", members(records, cols)).into_bytes()
}

struct Out {
    columns: Vec<String>,
    rows: String,
    bytes_read: Option<u64>,
    size: u64,
}

fn read_limit(
    text: &[u8],
    ndjson: bool,
    compressed: bool,
    limit: usize,
) -> Result<Out, IngestError> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text).unwrap();
    let path = file.path().to_owned();
    let mut source = DatasetJsonSource::with_limits(
        &path,
        File::open(&path).unwrap().into(),
        ndjson,
        compressed,
        limit,
        CHUNK_BYTES,
        true,
    )?;
    let mut rows = String::new();
    let mut batch = Batch::default();
    while source.next_batch(&mut batch)? {
        for i in 0..batch.len() {
            rows.push_str(std::str::from_utf8(batch.row(i)).unwrap());
            rows.push('\n');
        }
    }
    Ok(Out {
        columns: source.columns().to_vec(),
        rows,
        bytes_read: source.bytes_read(),
        size: text.len() as u64,
    })
}

fn read(text: &[u8], ndjson: bool) -> Result<Out, IngestError> {
    read_limit(text, ndjson, false, MAX_RECORD_BYTES)
}

/// The error reading `text`, as `at: message`.
fn err(text: &[u8], ndjson: bool) -> String {
    match read(text, ndjson) {
        Ok(out) => panic!("read without error: {}", out.rows),
        Err(e) => format!("{}: {}", e.at.unwrap_or_default(), e.message),
    }
}

fn zlib(text: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(text).unwrap();
    z.finish().unwrap()
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(text).unwrap();
    z.finish().unwrap()
}

fn dsjc_err(bytes: &[u8]) -> String {
    match read_limit(bytes, true, true, MAX_RECORD_BYTES) {
        Ok(out) => panic!("read without error: {}", out.rows),
        Err(e) => format!("{}: {}", e.at.unwrap_or_default(), e.message),
    }
}

#[test]
fn reads_every_form_and_counts_every_byte() {
    let rows = r#"["a",1],["b",null]"#;
    let want = "[\"a\",\"1\"]\n[\"b\",null]\n";
    let text = json(2, COLS, rows);
    let out = read(&text, false).unwrap();
    assert_eq!(out.columns, ["ID", "N"]);
    assert_eq!(out.rows, want);
    assert_eq!(out.bytes_read, Some(out.size));
    let nd = ndjson(2, COLS, "[\"a\",1]\r\n[\"b\",null]\n");
    let out = read(&nd, true).unwrap();
    assert_eq!(out.rows, want);
    assert_eq!(out.bytes_read, Some(out.size));
    for packed in [zlib(&nd), gzip(&nd)] {
        let out = read_limit(&packed, false, true, MAX_RECORD_BYTES).unwrap();
        assert_eq!(out.rows, want);
        assert_eq!(
            out.bytes_read,
            Some(packed.len() as u64),
            "compressed bytes"
        );
    }
}

#[test]
fn metadata_only_and_empty_datasets() {
    let no_rows = format!("{{{}}}", members(0, COLS)).into_bytes();
    assert_eq!(read(&no_rows, false).unwrap().rows, "");
    assert_eq!(read(&json(0, COLS, ""), false).unwrap().rows, "");
    assert_eq!(read(&ndjson(0, COLS, ""), true).unwrap().rows, "");
    let no_newline = format!("{{{}}}", members(0, COLS)).into_bytes();
    assert_eq!(read(&no_newline, true).unwrap().rows, "");
    let with_bom = [b"\xef\xbb\xbf".as_slice(), &json(1, COLS, r#"["a",1]"#)].concat();
    assert_eq!(read(&with_bom, false).unwrap().rows, "[\"a\",\"1\"]\n");
    let spaced = format!(
        " \r\n\t{{ {} , \"rows\" : [ [ \"a\" , 1 ] , [\"b\",2]\n] }} \n",
        members(2, COLS)
    );
    assert_eq!(
        read(spaced.as_bytes(), false).unwrap().rows,
        "[\"a\",\"1\"]\n[\"b\",\"2\"]\n"
    );
    let e = err(&format!("{{{}}}", members(3, COLS)).into_bytes(), false);
    assert_eq!(e, ": records says 3 but the file has 0 rows");
}

#[test]
fn values_by_data_type() {
    let cols = [
        ("S", "string"),
        ("I", "integer"),
        ("D", "decimal"),
        ("F", "float"),
        ("G", "double"),
        ("B", "boolean"),
        ("DT", "datetime"),
        ("DA", "date"),
        ("T", "time"),
        ("U", "URI"),
    ];
    let rows = r#"["x\u0001\"\\\/é",-0,"1.50",1E2,0.1,true,"2024-01-01T10:00","2024-01","10:00","urn:x"],
        ["",6.3e1,"",5e-324,1e21,false,"","","",""],
        [null,18446744073709551615,null,-9223372036854775808,1e-7,null,null,null,null,null],
        [null,-9223372036854775808,null,9007199254740993,123456789012345680000,null,null,null,null,null],
        [null,9007199254740991.0,null,0.000001,-2.5,null,null,null,null,null],
        [null,63.0000000000000001,null,null,null,null,null,null,null,null]"#;
    let out = read(&json(6, &cols, rows), false).unwrap();
    let want = [
        r#"["x\u0001\"\\/é","0","1.50","100","0.1","true","2024-01-01T10:00","2024-01","10:00","urn:x"]"#,
        r#"[null,"63",null,"5e-324","1e+21","false",null,null,null,null]"#,
        r#"[null,"18446744073709551615",null,"-9223372036854776000","1e-7",null,null,null,null,null]"#,
        r#"[null,"-9223372036854775808",null,"9007199254740992","123456789012345680000",null,null,null,null,null]"#,
        r#"[null,"9007199254740991",null,"0.000001","-2.5",null,null,null,null,null]"#,
        // A number with a fraction is read as a double, as RFC 8785 reads numbers.
        r#"[null,"63",null,null,null,null,null,null,null,null]"#,
    ];
    assert_eq!(out.rows, want.map(|r| format!("{r}\n")).concat());
}

#[test]
fn wrong_json_types_name_row_and_column() {
    let cols = [
        ("S", "string"),
        ("I", "integer"),
        ("D", "decimal"),
        ("F", "double"),
        ("B", "boolean"),
        ("DA", "date"),
    ];
    let good = r#"["a",1,"1.5",1.5,true,"2024-01-01"]"#;
    let cases = [
        (
            r#"[1,1,"1.5",1.5,true,"2024-01-01"]"#,
            "column S: dataType string needs a JSON string, found the number 1",
        ),
        (
            r#"["a","63",null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the string \"63\"",
        ),
        (
            r#"["a","",null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the string \"\"",
        ),
        (
            r#"["a",63.5,null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the number 63.5",
        ),
        (
            r#"["a",1e20,null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the number 100000000000000000000 (±2^53 or beyond, written with a fraction or exponent)",
        ),
        (
            // 2^53 + 1 written as a float reads as the double 2^53, which no longer names one
            // integer: refused, not recorded as 9007199254740992.
            r#"["a",9007199254740993.0,null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the number 9007199254740992 (±2^53 or beyond, written with a fraction or exponent)",
        ),
        (
            r#"["a",-9.007199254740992e15,null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the number -9007199254740992 (±2^53 or beyond, written with a fraction or exponent)",
        ),
        (
            r#"["a",18446744073709551616,null,null,null,null]"#,
            "column I: dataType integer needs a JSON integer, found the number 18446744073709552000 (±2^53 or beyond, written with a fraction or exponent)",
        ),
        (
            r#"["a",null,1.5,null,null,null]"#,
            "column D: dataType decimal needs a JSON string (decimals travel as strings to keep their digits), found the number 1.5",
        ),
        (
            r#"["a",null,null,"1.5",null,null]"#,
            "column F: dataType double needs a JSON number, found the string \"1.5\"",
        ),
        (
            r#"["a",null,null,true,null,null]"#,
            "column F: dataType double needs a JSON number, found the boolean true",
        ),
        (
            r#"["a",null,null,null,"Y",null]"#,
            "column B: dataType boolean needs true or false, found the string \"Y\"",
        ),
        (
            r#"["a",null,null,null,1,null]"#,
            "column B: dataType boolean needs true or false, found the number 1",
        ),
        (
            r#"["a",null,null,null,null,19000]"#,
            "column DA: dataType date needs an ISO 8601 string, found the number 19000",
        ),
        (
            r#"[["a"],null,null,null,null,null]"#,
            "column S: dataType string needs a JSON string, found an array",
        ),
        (
            r#"["a",null,null,null,null,{"x":1}]"#,
            "column DA: dataType date needs an ISO 8601 string, found an object",
        ),
    ];
    for (row, want) in cases {
        let text = json(2, &cols, &format!("{good},{row}"));
        assert_eq!(err(&text, false), format!("row 1, {want}"), "{row}");
        let text = ndjson(2, &cols, &format!("{good}\n{row}\n"));
        assert_eq!(err(&text, true), format!("line 3 (row 1), {want}"), "{row}");
    }
}

#[test]
fn row_length_must_match_columns() {
    let text = json(2, COLS, r#"["a",1],["b"]"#);
    assert_eq!(
        err(&text, false),
        "row 1: 1 values, but there are 2 columns"
    );
    let text = json(2, COLS, r#"["a",1],["b",2,3,[4]]"#);
    assert_eq!(
        err(&text, false),
        "row 1: 4 values, but there are 2 columns"
    );
    let text = ndjson(2, COLS, "[\"a\",1]\n[]\n");
    assert_eq!(
        err(&text, true),
        "line 3 (row 1): 0 values, but there are 2 columns"
    );
}

#[test]
fn records_must_match_rows() {
    let text = json(1, COLS, r#"["a",1],["b",2]"#);
    assert_eq!(err(&text, false), "row 1: more rows than records (1) says");
    let text = json(3, COLS, r#"["a",1],["b",2]"#);
    assert_eq!(
        err(&text, false),
        ": records says 3 but the file has 2 rows"
    );
    let text = ndjson(3, COLS, "[\"a\",1]\n[\"b\",2]\n");
    assert_eq!(err(&text, true), ": records says 3 but the file has 2 rows");
    let text = ndjson(1, COLS, "[\"a\",1]\n[\"b\",2]\n");
    assert_eq!(
        err(&text, true),
        "line 3 (row 1): more rows than records (1) says"
    );
}

#[test]
fn invalid_json_names_the_place() {
    let head = format!("{{{},\"rows\":[", members(3, COLS));
    let at = head.len();
    let cases = [
        (
            r#"["a",1],["b",01],["c",3]]}"#,
            format!("row 1: invalid JSON at byte {}: invalid number", at + 14),
        ),
        (
            r#"["a",1]["b",2]]}"#,
            format!(
                "row 1, byte {}: invalid JSON: expected `,` or `]` after a row, found `[`",
                at + 7
            ),
        ),
        (
            r#"["a",1],]}"#,
            format!(
                "row 1, byte {}: invalid JSON: expected a row after `,` (no trailing comma), found `]`",
                at + 8
            ),
        ),
        (
            r#"["a",1],{"ID":"b"}]}"#,
            format!(
                "row 1, byte {}: invalid JSON: expected a row (a JSON array), found `{{`",
                at + 8
            ),
        ),
        (
            r#"["a",1],["b",tru]]}"#,
            format!("row 1: invalid JSON at byte {}: expected ident", at + 16),
        ),
        (
            r#"["a",1],["b","x"#,
            "row 1: the file ends inside a row".to_owned(),
        ),
        (
            r#"["a",1],["b",2],["c",3]"#,
            "row 3: the file ends inside rows".to_owned(),
        ),
        (
            r#"["a",1],["b",2],["c",3]]"#,
            "row 3: the file ends inside the dataset object".to_owned(),
        ),
        (
            r#"["a",1],["b",2],["c",3]]}x"#,
            format!(
                "row 3, byte {}: invalid JSON: expected the end of the file after the dataset object, found `x`",
                at + 25
            ),
        ),
    ];
    for (rows, want) in cases {
        assert_eq!(
            err(format!("{head}{rows}").as_bytes(), false),
            want,
            "{rows}"
        );
    }
    let cases = [
        (
            "[\"a\",1]\n[\"b\",01]\n",
            "line 3 (row 1): invalid JSON at column 7 of the line: invalid number",
        ),
        (
            "[\"a\",1]\n[\"b\",2] x\n",
            "line 3 (row 1): invalid JSON at column 9 of the line: trailing characters",
        ),
        (
            "[\"a\",1]\n{\"ID\":\"b\"}\n",
            "line 3 (row 1): invalid type: map, expected a row: a JSON array with one value per column (at column 1 of the line)",
        ),
        (
            "[\"a\",1]\n\n[\"b\",2]\n",
            "line 3: empty line: each line after the first must be one row array",
        ),
        (
            "[\"a\",1]\n[\"b\",2\n",
            "line 3 (row 1): invalid JSON at column 6 of the line: EOF while parsing a list",
        ),
    ];
    for (lines, want) in cases {
        assert_eq!(err(&ndjson(3, COLS, lines), true), want, "{lines}");
    }
}

#[test]
fn invalid_metadata() {
    let m = members(0, COLS);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), ": empty file"),
        (
            "[]".into(),
            "byte 0: invalid JSON: expected `{` opening the Dataset-JSON object, found `[`",
        ),
        (
            format!("{{{m},}}"),
            "byte 0: invalid JSON: expected a key, found `}`",
        ),
        (
            format!("{{{m}"),
            "byte 0: the file ends inside the metadata",
        ),
        (
            format!("{{{m},\"name\":\"U\"}}"),
            "byte 0: duplicate key \"name\"",
        ),
        (
            format!("{{{m},\"x\":01}}"),
            "byte 0: invalid JSON in the value of \"x\": invalid number",
        ),
        (
            format!("{{{m}}}\n[\"a\",1]"),
            "byte 0: invalid JSON: expected the end of the file after the dataset object (an NDJSON file read as .json?), found `[`",
        ),
        (
            m.clone(),
            "byte 0: invalid JSON: expected `{` opening the Dataset-JSON object, found `\"`",
        ),
        (
            format!("{{{}}}", m.replace("\"records\":0,", "")),
            "metadata: missing field `records`",
        ),
        (
            format!("{{{}}}", m.replace("\"records\":0", "\"records\":-1")),
            "metadata: invalid value: integer `-1`, expected u64",
        ),
        (
            format!("{{{}}}", m.replace("\"label\":\"Test\"", "\"label\":5")),
            "metadata: invalid type: integer `5`, expected a string",
        ),
        (
            format!("{{{}}}", m.replace("1.1.0", "1.0.0")),
            "byte 0: datasetJSONVersion \"1.0.0\": this reader reads Dataset-JSON 1.1 (\"1.1\" or \"1.1.x\")",
        ),
        (
            format!("{{{}}}", m.replace("1.1.0", "1.10")),
            "byte 0: datasetJSONVersion \"1.10\": this reader reads Dataset-JSON 1.1 (\"1.1\" or \"1.1.x\")",
        ),
        (
            format!("{{{}}}", m.replace("1.1.0", "1.1.01")),
            "byte 0: datasetJSONVersion \"1.1.01\": this reader reads Dataset-JSON 1.1 (\"1.1\" or \"1.1.x\")",
        ),
        (
            format!(
                "{{{}}}",
                m.replace("\"dataType\":\"integer\"", "\"dataType\":\"number\"")
            ),
            "metadata, columns[1]: unknown dataType \"number\" (Dataset-JSON 1.1 has string, integer, decimal, float, double, boolean, datetime, date, time and URI)",
        ),
        (
            format!(
                "{{{}}}",
                m.replace(
                    "\"dataType\":\"integer\"",
                    "\"dataType\":\"integer\",\"targetDataType\":\"datetime\""
                )
            ),
            "metadata, columns[1]: targetDataType \"datetime\" is neither \"integer\" nor \"decimal\"",
        ),
        (
            format!("{{{}}}", m.replace("\"name\":\"N\"", "\"name\":\"ID\"")),
            "metadata, columns[1]: duplicate column name \"ID\"",
        ),
        (
            format!("{{{}}}", m.replace("\"name\":\"N\"", "\"name\":\"\"")),
            "metadata, columns[1]: empty column name",
        ),
        (
            format!(
                "{{{}}}",
                m.replace("\"name\":\"N\"", "\"name\":\"N\",\"name\":\"M\"")
            ),
            "byte 0: columns[1]: duplicate field `name`",
        ),
        (
            format!("{{{}}}", m.replace("\"label\":\"N\",", "")),
            "byte 0: columns[1]: missing field `label`",
        ),
        (
            format!(
                "{{{}}}",
                m.replace(",\"columns\":[", ",\"columns\":[],\"x\":[")
            ),
            "metadata: columns is empty",
        ),
        (
            format!("{{{},\"sourceSystem\":{{\"name\":\"SAS\"}}}}", m),
            "metadata: missing field `version`",
        ),
    ];
    for (text, want) in cases {
        let got = err(text.as_bytes(), false);
        // Offsets vary with the case; compare the place's kind and the message.
        let (got_at, got_msg) = got.split_once(": ").unwrap();
        let (want_at, want_msg) = want.split_once(": ").unwrap();
        assert_eq!(got_msg, want_msg, "{text}");
        assert_eq!(
            got_at.split(' ').next(),
            want_at.split(' ').next(),
            "{got} for {text}"
        );
    }
}

#[test]
fn rows_come_last() {
    let m = members(1, COLS);
    let (before, after) = m.split_once(",\"columns\"").unwrap();
    let text = format!("{{{before},\"rows\":[[\"a\",1]],\"columns\"{after}}}");
    let e = err(text.as_bytes(), false);
    assert!(
        e.ends_with("\"rows\" comes before columns: Dataset-JSON puts rows last, and this reader streams them"),
        "{e}"
    );
    let text = format!("{{\"rows\":[],{m}}}");
    let e = err(text.as_bytes(), false);
    assert!(e.starts_with("byte 1: \"rows\" comes before datasetJSONCreationDateTime, datasetJSONVersion, itemGroupOID, records, name, label, columns:"), "{e}");
    let text = format!("{{{m},\"rows\":[[\"a\",1]],\"studyOID\":\"S\"}}");
    let e = err(text.as_bytes(), false);
    assert!(
        e.ends_with(": metadata key \"studyOID\" after \"rows\": Dataset-JSON puts rows last, and this reader streams them"),
        "{e}"
    );
    // In NDJSON the metadata is one line: pretty-printed `.json` text is told so.
    let text = format!("{{\n  {m}\n}}\n[\"a\",1]\n");
    assert_eq!(
        err(text.as_bytes(), true),
        "line 1, column 2: the first line ends inside the metadata: in the NDJSON form \
         (`.ndjson`, `.dsjc`) the metadata object is the whole first line, and each row a line \
         after it"
    );
    // Key order is free, but rows do not belong there.
    let text = "{\"columns\":[],\"rows\":[]}\n";
    assert_eq!(
        err(text.as_bytes(), true),
        "line 1, column 15: the NDJSON metadata line has \"rows\": in NDJSON each row is a line of its own"
    );
    let reordered = format!(
        "{{{}}}\n[\"a\",1]\n",
        m.replace("\"records\":1,", "")
            .replacen("\"datasetJSON", "\"records\":1,\"datasetJSON", 1)
    );
    assert_eq!(
        read(reordered.as_bytes(), true).unwrap().rows,
        "[\"a\",\"1\"]\n"
    );
}

#[test]
fn invalid_utf8_is_refused() {
    let text = [json(1, COLS, "[\"a").as_slice(), b"\xff\xfe\",1]]}"].concat();
    // json() closed the document; rebuild it with the bad bytes inside the row.
    let text = [&text[..text.len() - 3], b""].concat();
    let good = json(1, COLS, r#"["aXX",1]"#);
    let bad: Vec<u8> = String::from_utf8(good.clone())
        .unwrap()
        .replace("aXX", "a\u{1}\u{1}")
        .into_bytes()
        .iter()
        .map(|&b| if b == 1 { 0xff } else { b })
        .collect();
    drop(text);
    let e = err(&bad, false);
    assert!(e.starts_with("row 0: invalid JSON at byte"), "{e}");
    assert!(e.ends_with("invalid unicode code point"), "{e}");
    let nd: Vec<u8> = ndjson(1, COLS, "[\"a\u{1}\",1]\n")
        .iter()
        .map(|&b| if b == 1 { 0xc3 } else { b })
        .collect();
    let e = err(&nd, true);
    assert_eq!(
        e,
        "line 2 (row 0): invalid JSON at column 4 of the line: invalid unicode code point"
    );
    let meta: Vec<u8> = json(0, &[("A\u{1}", "string")], "")
        .iter()
        .map(|&b| if b == 1 { 0x80 } else { b })
        .collect();
    let e = err(&meta, false);
    assert!(
        e.starts_with("byte ") && e.ends_with("columns[0]: invalid unicode code point"),
        "{e}"
    );
    // A lone surrogate escape is not a character either.
    let e = err(&json(1, COLS, r#"["\ud800",1]"#), false);
    assert!(
        e.starts_with("row 0: invalid JSON at byte ")
            && e.ends_with(
                "hex escape (a \\u escape of half a surrogate pair, \\ud800 to \\udfff, \
                 without its other half: it names no character)"
            ),
        "{e}"
    );
    // A trailing half alone, and a leading half before something else.
    for row in [r#"["\udc00",1]"#, r#"["\ud800\u0041",1]"#] {
        let e = err(&json(1, COLS, row), false);
        assert!(e.ends_with("it names no character)"), "{row}: {e}");
    }
}

/// Strings that serde_json lends are copied without an escape scan: that relies on it
/// refusing raw control characters (an escaped one goes through `write_value`).
#[test]
fn raw_control_characters_are_refused() {
    for c in [0u8, 0x01, b'\n', b'\t', 0x1f] {
        let text: Vec<u8> = json(1, COLS, "[\"a\u{2}b\",1]")
            .iter()
            .map(|&b| if b == 2 { c } else { b })
            .collect();
        let e = err(&text, false);
        assert!(
            e.contains("control character (\\u0000-\\u001F) found while parsing a string"),
            "{e}"
        );
    }
    let out = read(&json(1, COLS, r#"["a\u0002b\tc",1]"#), false).unwrap();
    assert_eq!(out.rows, "[\"a\\u0002b\\tc\",\"1\"]\n");
}

#[test]
fn limits() {
    // A row longer than the limit, in either form, and the metadata.
    let long = format!("[\"{}\",1]", "x".repeat(5000));
    let text = json(1, COLS, &long);
    let e = read_limit(&text, false, false, 4096).err().unwrap();
    assert_eq!(
        (e.at.as_deref(), e.message.as_str()),
        (Some("row 0"), "a row is longer than 4096 bytes")
    );
    let text = ndjson(1, COLS, &long);
    let e = read_limit(&text, true, false, 4096).err().unwrap();
    assert_eq!(
        (e.at.as_deref(), e.message.as_str()),
        (Some("line 2 (row 0)"), "a line is longer than 4096 bytes")
    );
    let text = json(1, COLS, r#"["a",1]"#);
    let e = read_limit(&text, false, false, 100).err().unwrap();
    assert!(e.message.contains("longer than 100 bytes"), "{e}");
    let e = read_limit(&text, true, false, 100).err().unwrap();
    assert_eq!(e.message, "the metadata line is longer than 100 bytes");
    // Columns.
    let cols: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("C{i}")).collect();
    let cols: Vec<(&str, &str)> = cols.iter().map(|n| (n.as_str(), "string")).collect();
    let e = err(&json(0, &cols, ""), false);
    assert!(
        e.ends_with(&format!(
            "columns[{MAX_COLUMNS}]: more than the {MAX_COLUMNS} columns a dataset may have"
        )),
        "{e}"
    );
}

#[test]
fn compressed_forms() {
    let nd = ndjson(2, COLS, "[\"a\",1]\n[\"b\",2]\n");
    let want = "[\"a\",\"1\"]\n[\"b\",\"2\"]\n";
    for packed in [zlib(&nd), gzip(&nd)] {
        let out = read_limit(&packed, false, true, MAX_RECORD_BYTES).unwrap();
        assert_eq!(out.rows, want);
        // Cut short anywhere: an error, never fewer rows.
        for cut in 0..packed.len() {
            assert!(
                read_limit(&packed[..cut], true, true, MAX_RECORD_BYTES).is_err(),
                "cut at {cut}"
            );
        }
        // Anything after the stream.
        let e = dsjc_err(&[packed.as_slice(), b"\n"].concat());
        assert!(e.ends_with("data after the end of the compressed stream (only one zlib stream or gzip member is read)"), "{e}");
    }
    let e = dsjc_err(&[gzip(&nd), gzip(b"")].concat());
    assert!(
        e.contains("data after the end of the compressed stream"),
        "{e}"
    );
    assert_eq!(
        dsjc_err(&nd),
        ": not a compressed Dataset-JSON file: neither a zlib (RFC 1950) nor a gzip (RFC 1952) stream"
    );
    assert!(dsjc_err(b"").contains("neither a zlib"));
    // A flipped byte in the deflate data: caught by the checksum if not before.
    let mut bad = zlib(&nd);
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    let e = dsjc_err(&bad);
    assert!(
        e.contains("corrupt compressed stream") || e.contains("invalid"),
        "{e}"
    );
}

/// Why [`Inflate`] exists: flate2's `read` decoders stop at the stream's end and leave
/// whatever follows unread (a second gzip member, or anything else).
#[test]
fn flate2_read_decoders_ignore_what_follows_the_stream() {
    let nd = ndjson(2, COLS, "[\"a\",1]\n[\"b\",2]\n");
    for (packed, gz) in [(zlib(&nd), false), (gzip(&nd), true)] {
        let padded = [packed.as_slice(), b"[\"c\",3]\n"].concat();
        let mut out = Vec::new();
        let quiet = if gz {
            flate2::read::GzDecoder::new(padded.as_slice()).read_to_end(&mut out)
        } else {
            flate2::read::ZlibDecoder::new(padded.as_slice()).read_to_end(&mut out)
        };
        assert!(quiet.is_ok() && out == nd, "{quiet:?}");
        assert!(read_limit(&padded, true, true, MAX_RECORD_BYTES).is_err());
    }
}

#[test]
fn offsets_in_errors() {
    assert_eq!(offset_in(b"abc\ndef\nghi", 1, 2), 1);
    assert_eq!(offset_in(b"abc\ndef\nghi", 3, 1), 8);
    assert_eq!(offset_in(b"abc", 9, 9), 3);
}

/// Dropping a source part way stops its thread (the test would hang otherwise).
#[test]
fn dropping_part_way_stops_the_reader() {
    let rows: Vec<String> = (0..3 * BATCH_ROWS)
        .map(|i| format!("[\"r{i}\",{i}]"))
        .collect();
    let text = json(rows.len() as u64, COLS, &rows.join(","));
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&text).unwrap();
    let path = file.path().to_owned();
    let mut source =
        DatasetJsonSource::new(&path, File::open(&path).unwrap(), false, false).unwrap();
    let mut batch = Batch::default();
    assert!(source.next_batch(&mut batch).unwrap());
    assert_eq!(batch.len(), BATCH_ROWS);
    drop(source);
}

/// A small deterministic generator (xorshift), so that the randomized tests of `scan` and
/// `fast_row` repeat.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Reads `text` with `threads` threads and chunks of `chunk_bytes`: every row, then the
/// error if one ended the reading.
fn read_threads(
    text: &[u8],
    ndjson: bool,
    compressed: bool,
    chunk_bytes: usize,
    threads: usize,
) -> (Vec<u8>, Option<String>) {
    read_with(text, ndjson, compressed, chunk_bytes, threads, true)
}

/// [`read_threads`], with `.json` rows read a block at a time (`blocks`) or each framed by the
/// reader thread.
fn read_with(
    text: &[u8],
    ndjson: bool,
    compressed: bool,
    chunk_bytes: usize,
    threads: usize,
    blocks: bool,
) -> (Vec<u8>, Option<String>) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text).unwrap();
    let path = file.path().to_owned();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut rows = Vec::new();
        let mut source = DatasetJsonSource::with_limits(
            &path,
            File::open(&path).unwrap().into(),
            ndjson,
            compressed,
            MAX_RECORD_BYTES,
            chunk_bytes,
            blocks,
        )
        .unwrap();
        let mut batch = Batch::default();
        loop {
            match source.next_batch(&mut batch) {
                Ok(true) => {
                    for i in 0..batch.len() {
                        rows.extend_from_slice(batch.row(i));
                        rows.push(b'\n');
                    }
                }
                Ok(false) => return (rows, None),
                Err(e) => {
                    return (
                        rows,
                        Some(format!("{}: {}", e.at.unwrap_or_default(), e.message)),
                    );
                }
            }
        }
    })
}

/// Rows parsed side by side in ranges of several chunks come out in file order, and the
/// error is the first one in the file, the same with 1, 2, 3 and 16 threads, in every form.
#[test]
fn any_threads_give_the_same_rows_and_the_first_error() {
    const ROWS: usize = 30_000;
    let cols = [
        ("ID", "string"),
        ("N", "integer"),
        ("X", "double"),
        ("B", "boolean"),
    ];
    let row = |i: usize| format!("[\"s{i}\",{i},{}.25,{}]", i % 977, i.is_multiple_of(2));
    // Each case: the bad rows (with what makes them bad), then the records, then cut the
    // text short after this many rows.
    type Case = (
        &'static [(usize, &'static str)],
        usize,
        Option<usize>,
        &'static str,
    );
    let cases: &[Case] = &[
        (&[], ROWS, None, ""),
        // In different chunks.
        (
            &[(21_000, "[\"x\",{},1,true]"), (7_700, "[\"x\",1.5,1,true]")],
            ROWS,
            None,
            "row 7700, column N: dataType integer needs",
        ),
        // In one chunk (of about 5,000 rows), in different ranges, the later one first in
        // the list.
        (
            &[(9_900, "[\"x\",1,1]"), (5_200, "[\"x\",1,1,true,5]")],
            ROWS,
            None,
            "row 5200: 5 values, but there are 4 columns",
        ),
        (
            &[(12_345, "[\"x\",1,\"1\",true]")],
            ROWS,
            None,
            "row 12345, column X: dataType double needs",
        ),
        // Invalid JSON, then more rows than records.
        (
            &[(29_997, "[\"x\",1,1,tru]")],
            ROWS - 2,
            None,
            "row 29997: invalid JSON at ",
        ),
        (
            &[(29_000, "[\"x\",1,1,tru]")],
            ROWS - 2,
            None,
            "row 29000: invalid JSON at ",
        ),
        (
            &[],
            ROWS - 2,
            None,
            "row 29998: more rows than records (29998) says",
        ),
        // A bad row, then the file cut short in the same chunk.
        (
            &[(17_010, "[\"x\",-,1,true]")],
            ROWS,
            Some(17_500),
            "row 17010: invalid JSON at ",
        ),
    ];
    for &(bad, records, cut, want) in cases {
        let rows: Vec<String> = (0..ROWS)
            .map(|i| {
                bad.iter()
                    .find(|b| b.0 == i)
                    .map_or_else(|| row(i), |b| b.1.to_owned())
            })
            .collect();
        let rows = &rows[..cut.unwrap_or(ROWS)];
        let mut texts = vec![
            (json(records as u64, &cols, &rows.join(",")), false, false),
            (ndjson(records as u64, &cols, &rows.join("\n")), true, false),
        ];
        if let Some(n) = cut {
            // Cut inside the row after the last.
            let len = texts[0].0.len();
            texts[0].0.truncate(len - 2);
            texts[0].0.extend_from_slice(b",[\"cut");
            texts[1]
                .0
                .extend_from_slice(format!("\n[\"s{n}\",").as_bytes());
        }
        let packed = gzip(&texts[1].0);
        texts.push((packed, true, true));
        for (text, ndjson, compressed) in &texts {
            let first = read_threads(text, *ndjson, *compressed, 100_000, 1);
            for threads in [2, 3, 16] {
                let other = read_threads(text, *ndjson, *compressed, 100_000, threads);
                assert!(other.0 == first.0, "{want}: rows with {threads} threads");
                assert_eq!(other.1, first.1, "with {threads} threads");
            }
            match &first.1 {
                None => {
                    assert!(want.is_empty());
                    let want_rows: Vec<u8> = (0..ROWS)
                        .flat_map(|i| {
                            format!(
                                "[\"s{i}\",\"{i}\",\"{}.25\",\"{}\"]\n",
                                i % 977,
                                i.is_multiple_of(2)
                            )
                            .into_bytes()
                        })
                        .collect();
                    assert!(first.0 == want_rows, "rows in file order");
                    // Chunks of about 5,000 rows: six, each parsed in ranges.
                    assert!(text.len() > 5 * 100_000 || *compressed);
                }
                Some(e) => {
                    // NDJSON names the line too: the metadata is line 1.
                    let want = if *ndjson {
                        let n: usize = want[4..].split([',', ':']).next().unwrap().parse().unwrap();
                        want.replacen(&format!("row {n}"), &format!("line {} (row {n})", n + 2), 1)
                    } else {
                        want.to_owned()
                    };
                    let want = if *ndjson {
                        want.replace("invalid JSON at ", "invalid JSON at column ")
                    } else {
                        want.replace("invalid JSON at ", "invalid JSON at byte ")
                    };
                    assert!(e.starts_with(&want), "{e}, not {want}");
                }
            }
        }
    }
}

/// A source whose every other read is interrupted (`EINTR`, as a network file system may give),
/// in small pieces.
struct Interrupting<'a> {
    bytes: &'a [u8],
    calls: usize,
}

impl Read for Interrupting<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 1 {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = out.len().min(self.bytes.len()).min(1000);
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Interrupted reads under [`Inflate`] are tried again without decompressing any input twice or
/// losing output, and the end of the stream is still checked: the text is whole, and data after
/// the stream is still refused.
#[test]
fn inflate_survives_interrupted_reads() {
    let text: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("[\"row {i}\",{}]\n", i * 7919 % 1000).into_bytes())
        .collect();
    for packed in [zlib(&text), gzip(&text)] {
        let src = Interrupting {
            bytes: &packed,
            calls: 0,
        };
        let mut out = Vec::new();
        Inflate::new(src).unwrap().read_to_end(&mut out).unwrap();
        assert!(out == text, "{} of {} bytes", out.len(), text.len());
        let padded = [packed.as_slice(), b"x"].concat();
        let src = Interrupting {
            bytes: &padded,
            calls: 1,
        };
        let e = Inflate::new(src)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("after the end"), "{e}");
    }
}

/// Byte offsets in `.json` errors count from the start of the file whichever chunk the row is
/// in, for an error inside a row and for one between rows, in chunks of a few rows to one of
/// all.
#[test]
fn byte_offsets_count_from_the_start_of_the_file() {
    let cols = [("ID", "string"), ("N", "integer")];
    let find = |text: &[u8], what: &[u8]| text.windows(what.len()).position(|w| w == what);
    let byte = |e: &str| -> usize {
        let rest = &e[e.find("byte ").unwrap() + 5..];
        rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap()]
            .parse()
            .unwrap()
    };
    for bad in [3, 2_500, 9_998] {
        let rows: Vec<String> = (0..10_000).map(|i| format!("[\"s{i}\",{i}]")).collect();
        // An invalid value in row `bad`, or a `;` instead of the `,` after it.
        let mut inside = rows.clone();
        inside[bad] = "[\"x\",tru]".to_owned();
        let inside = json(10_000, &cols, &inside.join(",\n"));
        let mut between = rows.join(",\n");
        let row = format!("[\"s{bad}\",{bad}],");
        let at = between.find(&row).unwrap() + row.len() - 1;
        between.replace_range(at..=at, ";");
        let between = json(10_000, &cols, &between);

        let start = find(&inside, b"[\"x\",tru]").unwrap();
        let semicolon = find(&between, b";").unwrap();
        for chunk_bytes in [40, 1_000, 65_536, 1 << 30] {
            let (_, e) = read_threads(&inside, false, false, chunk_bytes, 2);
            let e = e.unwrap();
            assert!(
                e.starts_with(&format!("row {bad}: invalid JSON at byte ")),
                "{e}"
            );
            assert!(
                (start..start + 9).contains(&byte(&e)),
                "{e}: the row is at {start}"
            );

            let (_, e) = read_threads(&between, false, false, chunk_bytes, 2);
            let e = e.unwrap();
            assert!(
                e.contains("expected `,` or `]` after a row, found `;`"),
                "{e}"
            );
            assert_eq!(byte(&e), semicolon, "{e}");
        }
    }
}

/// Rows and lines that straddle the blocks read (1 MiB each) and the ends of chunks come out
/// whole and in order, in every form, with chunks of a few rows, of many, and of the default
/// size.
#[test]
fn rows_straddling_blocks_and_chunks_come_out_whole() {
    const ROWS: usize = 120_000;
    let cols = [("ID", "string"), ("N", "integer")];
    // Rows of varying length, so that block edges fall everywhere in them.
    let rows: Vec<String> = (0..ROWS)
        .map(|i| format!("[\"s{}\",{i}]", "s".repeat(i * 7 % 61)))
        .collect();
    let want: Vec<u8> = (0..ROWS)
        .flat_map(|i| format!("[\"s{}\",\"{i}\"]\n", "s".repeat(i * 7 % 61)).into_bytes())
        .collect();
    let lines = ndjson(ROWS as u64, &cols, &rows.join("\n"));
    assert!(lines.len() > 4 << 20, "{} bytes", lines.len());
    let texts = [
        (json(ROWS as u64, &cols, &rows.join(",\n")), false, false),
        (gzip(&lines), true, true),
        (lines, true, false),
    ];
    for (text, ndjson, compressed) in &texts {
        for chunk_bytes in [1_000, 300_000, CHUNK_BYTES] {
            let (rows, e) = read_threads(text, *ndjson, *compressed, chunk_bytes, 2);
            assert_eq!(e, None);
            assert!(rows == want, "{ndjson} {compressed} {chunk_bytes}");
        }
    }
}

/// `.json` rows read alike in every layout (one a line, all on one line, indented with a value a
/// line, spaced as Python writes them), with strings that hold what looks like the start of a
/// row (`],[`), in blocks of a few rows to many, on one core and on three: the same rows, and a
/// bad row is the same error whatever the blocks and threads.
#[test]
fn json_rows_read_alike_in_every_layout() {
    const ROWS: usize = 20_000;
    let cols = [("ID", "string"), ("N", "integer"), ("T", "string")];
    let tricky = ["x],[y", "],[", "a], [", "[b", "],", "q\\\"],[\\\"", "z"];
    let cell = |i: usize| tricky[i % tricky.len()];
    let want: Vec<u8> = (0..ROWS)
        .flat_map(|i| format!("[\"s{i}\",\"{i}\",\"{}\"]\n", cell(i)).into_bytes())
        .collect();
    type Layout = fn(usize, &str) -> String;
    let layouts: [(&str, Layout, &str); 4] = [
        ("lines", |i, c| format!("[\"s{i}\",{i},\"{c}\"]"), ",\n"),
        ("one line", |i, c| format!("[\"s{i}\",{i},\"{c}\"]"), ","),
        (
            "indented",
            |i, c| format!("[\n      \"s{i}\",\n      {i},\n      \"{c}\"\n    ]"),
            ",\n    ",
        ),
        ("spaced", |i, c| format!("[\"s{i}\", {i}, \"{c}\"]"), ", "),
    ];
    for (name, layout, sep) in layouts {
        let mut rows: Vec<String> = (0..ROWS).map(|i| layout(i, cell(i))).collect();
        let text = json(ROWS as u64, &cols, &rows.join(sep));
        rows[13_333] = layout(13_333, "bad\u{1}");
        let bad = json(ROWS as u64, &cols, &rows.join(sep));
        let mut first_error = None;
        for chunk_bytes in [200, 5_000, CHUNK_BYTES] {
            for threads in [1, 3] {
                let (rows, e) = read_threads(&text, false, false, chunk_bytes, threads);
                assert_eq!(e, None, "{name}");
                assert!(
                    rows == want,
                    "{name}, blocks of {chunk_bytes}, {threads} threads"
                );
                let (_, e) = read_threads(&bad, false, false, chunk_bytes, threads);
                let e = e.unwrap();
                assert!(e.starts_with("row 13333: "), "{name}: {e}");
                assert_eq!(first_error.get_or_insert(e.clone()), &e, "{name}");
            }
        }
    }
}

/// The two readings of `.json`, a block at a time on all cores and each row framed by
/// the reader thread, give the same rows and the same error on files broken at random: bytes
/// that matter to JSON and to the cuts (brackets, commas, quotes, backslashes, newlines, spaces,
/// control characters, bytes that are not UTF-8) put in, taken out or changed, in every layout.
#[test]
fn both_readings_of_json_agree_on_broken_files() {
    const ROWS: usize = 300;
    let cols = [("ID", "string"), ("N", "integer"), ("X", "double")];
    let layouts = [",\n", ",", ",\n    ", ", "];
    let alphabet = b"[],\"\\\n \x01\xffa1.-e";
    let mut rng = Rng(0x51ed_2701_c0ff_ee00);
    let mut differ = 0;
    for case in 0..400 {
        let sep = layouts[case % layouts.len()];
        let rows: Vec<String> = (0..ROWS)
            .map(|i| format!("[\"s{i}],[\",{i},{}.5]", i % 7))
            .collect();
        let mut text = json(ROWS as u64, &cols, &rows.join(sep));
        // In the rows: the metadata has tests of its own.
        let start = text.windows(8).position(|w| w == b"\"rows\":[").unwrap() + 8;
        for _ in 0..1 + rng.below(3) {
            let at = start + rng.below(text.len() - start);
            match rng.below(3) {
                0 => text[at] = *rng.pick(alphabet),
                1 => text.insert(at, *rng.pick(alphabet)),
                _ => drop(text.remove(at)),
            }
        }
        let chunk_bytes = [64, 700, 5_000][rng.below(3)];
        let threads = 1 + rng.below(3);
        let blocks = read_with(&text, false, false, chunk_bytes, threads, true);
        let framed = read_with(&text, false, false, chunk_bytes, 1, false);
        assert!(
            blocks.0 == framed.0 && blocks.1 == framed.1,
            "{}: {:?} against {:?}",
            String::from_utf8_lossy(&text),
            blocks.1,
            framed.1
        );
        differ += usize::from(framed.1.is_some());
    }
    // Most broken files are errors, some still read.
    assert!((200..400).contains(&differ), "{differ} errors");
}
