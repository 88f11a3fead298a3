//! The metadata: the top-level object's members read up to `rows` ([`read_object`]: the order
//! rules, duplicate keys, the version checked before a body is read), the schema's types
//! checked through serde, the column types ([`DataType`]), and [`Reader::read_metadata`],
//! which turns the members into the column names and types and the count of `records`.

use std::fmt;
use std::io;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, SeqAccess, Visitor};

use super::input::{Input, Stop};
use super::reader::{Reader, State};
use super::{found, io_error, offset_in, without_position};
use crate::ingest::{IngestError, MAX_COLUMNS};

/// A column's `dataType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DataType {
    String,
    Integer,
    Decimal,
    Float,
    Double,
    Boolean,
    Datetime,
    Date,
    Time,
    Uri,
}

impl DataType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "integer" => Self::Integer,
            "decimal" => Self::Decimal,
            "float" => Self::Float,
            "double" => Self::Double,
            "boolean" => Self::Boolean,
            "datetime" => Self::Datetime,
            "date" => Self::Date,
            "time" => Self::Time,
            "URI" => Self::Uri,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Float => "float",
            Self::Double => "double",
            Self::Boolean => "boolean",
            Self::Datetime => "datetime",
            Self::Date => "date",
            Self::Time => "time",
            Self::Uri => "URI",
        }
    }

    /// What the JSON value must be, for error messages.
    pub(super) fn wants(self) -> &'static str {
        match self {
            Self::String | Self::Uri => "a JSON string",
            Self::Decimal => "a JSON string (decimals travel as strings to keep their digits)",
            Self::Datetime | Self::Date | Self::Time => "an ISO 8601 string",
            Self::Integer => "a JSON integer",
            Self::Float | Self::Double => "a JSON number",
            Self::Boolean => "true or false",
        }
    }
}

/// The top-level keys the schema requires.
const REQUIRED: [&str; 7] = [
    "datasetJSONCreationDateTime",
    "datasetJSONVersion",
    "itemGroupOID",
    "records",
    "name",
    "label",
    "columns",
];

/// The metadata, with the schema's types. Fields only checked are prefixed `_`.
#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "datasetJSONCreationDateTime")]
    _created: String,
    #[serde(rename = "datasetJSONVersion")]
    _version: String,
    #[serde(rename = "itemGroupOID")]
    _item_group_oid: String,
    records: u64,
    #[serde(rename = "name")]
    _name: String,
    #[serde(rename = "label")]
    _label: String,
    /// Parsed by [`ColumnsSeed`]; here only required.
    #[serde(rename = "columns")]
    _columns: IgnoredAny,
    #[serde(rename = "fileOID")]
    _file_oid: Option<String>,
    #[serde(rename = "dbLastModifiedDateTime")]
    _db_last_modified: Option<String>,
    #[serde(rename = "originator")]
    _originator: Option<String>,
    #[serde(rename = "sourceSystem")]
    _source_system: Option<SourceSystem>,
    #[serde(rename = "studyOID")]
    _study_oid: Option<String>,
    #[serde(rename = "metaDataVersionOID")]
    _metadata_version_oid: Option<String>,
    #[serde(rename = "metaDataRef")]
    _metadata_ref: Option<String>,
}

#[derive(Deserialize)]
struct SourceSystem {
    #[serde(rename = "name")]
    _name: String,
    #[serde(rename = "version")]
    _version: String,
}

#[derive(Deserialize)]
struct Column {
    #[serde(rename = "itemOID")]
    _item_oid: String,
    name: String,
    #[serde(rename = "label")]
    _label: String,
    #[serde(rename = "dataType")]
    data_type: String,
    #[serde(rename = "targetDataType")]
    target_data_type: Option<String>,
    #[serde(rename = "length")]
    _length: Option<u64>,
    #[serde(rename = "displayFormat")]
    _display_format: Option<String>,
    #[serde(rename = "keySequence")]
    _key_sequence: Option<u64>,
}

/// Whether `v` is a version this reader reads: `1.1` or `1.1.N` (the schema's pattern).
fn is_version_1_1(v: &str) -> bool {
    match v.strip_prefix("1.1") {
        Some("") => true,
        Some(rest) => rest.strip_prefix('.').is_some_and(|n| {
            n == "0"
                || (!n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
        }),
        None => false,
    }
}

impl Reader {
    /// Reads the metadata: the column names and types, and `records`.
    pub(super) fn read_metadata(&mut self) -> Result<(), IngestError> {
        let path = self.path.clone();
        self.input
            .skip_bom()
            .map_err(|e| io_error(&path, None, &e))?;
        let members = if self.ndjson {
            let end = self.input.line_end().map_err(|s| match s {
                Stop::Io(e) => io_error(&path, Some("line 1".into()), &e),
                Stop::Eof | Stop::TooLong => IngestError::at(
                    &path,
                    "line 1",
                    format!(
                        "the metadata line is longer than {} bytes",
                        self.input.limit
                    ),
                ),
            })?;
            let line = self.input.buf[self.input.pos..end].to_vec();
            self.input.pos = (end + 1).min(self.input.buf.len());
            self.line = 2;
            let mut one = Input::new(Box::new(io::Cursor::new(line)), self.input.limit);
            read_object(&path, &mut one, true)?
        } else {
            read_object(&path, &mut self.input, false)?
        };
        let at = if self.ndjson { "line 1" } else { "metadata" };
        let meta: Metadata = serde_json::from_value(serde_json::Value::Object(members.map))
            .map_err(|e| IngestError::at(&path, at, e.to_string()))?;
        let columns = members.columns.unwrap_or_default();
        if columns.is_empty() {
            return Err(IngestError::at(&path, at, "columns is empty"));
        }
        let mut seen = std::collections::HashSet::with_capacity(columns.len());
        for (i, col) in columns.into_iter().enumerate() {
            let col_at = format!("{at}, columns[{i}]");
            let ty = DataType::parse(&col.data_type).ok_or_else(|| {
                IngestError::at(
                    &path,
                    &col_at,
                    format!(
                        "unknown dataType {:?} (Dataset-JSON 1.1 has string, integer, decimal, \
                         float, double, boolean, datetime, date, time and URI)",
                        col.data_type
                    ),
                )
            })?;
            if let Some(t) = &col.target_data_type
                && t != "integer"
                && t != "decimal"
            {
                return Err(IngestError::at(
                    &path,
                    &col_at,
                    format!("targetDataType {t:?} is neither \"integer\" nor \"decimal\""),
                ));
            }
            if col.name.is_empty() {
                return Err(IngestError::at(&path, &col_at, "empty column name"));
            }
            if !seen.insert(col.name.clone()) {
                return Err(IngestError::at(
                    &path,
                    &col_at,
                    format!("duplicate column name {:?}", col.name),
                ));
            }
            self.types.push(ty);
            self.names.push(col.name);
        }
        self.records = meta.records;
        // In NDJSON the rows follow the metadata line; in .json, `rows` may be absent.
        self.state = if self.ndjson || members.rows {
            State::Rows { first: true }
        } else {
            State::End
        };
        Ok(())
    }
}

/// The metadata object's members, read by [`read_object`].
struct Members {
    /// Every member but `columns` (present there as `null`).
    map: serde_json::Map<String, serde_json::Value>,
    /// `columns`, parsed from its text so that duplicate keys inside a column are caught
    /// (`serde_json::Value` keeps the last of them silently).
    columns: Option<Vec<Column>>,
    /// Whether `rows` follows (`.json` only; its `[` is consumed).
    rows: bool,
}

/// Reads the members of the top-level object up to `rows` or to its closing `}` (then nothing
/// but whitespace may follow). Refuses duplicate keys, `rows` before a required key, and
/// another `datasetJSONVersion` as soon as it is read, before what could be a large
/// Dataset-JSON 1.0 body.
fn read_object(path: &Path, input: &mut Input, ndjson: bool) -> Result<Members, IngestError> {
    let at = |input: &Input, i: usize| {
        if ndjson {
            format!("line 1, column {}", input.offset(i) + 1)
        } else {
            format!("byte {}", input.offset(i))
        }
    };
    let io = |e: io::Error| {
        let place = if ndjson { "line 1" } else { "metadata" };
        io_error(path, Some(place.into()), &e)
    };
    let syntax = |input: &Input, expected: &str| {
        IngestError::at(
            path,
            at(input, input.pos),
            format!(
                "invalid JSON: expected {expected}, found {}",
                found(input.buf.get(input.pos))
            ),
        )
    };
    let eof = |input: &Input| {
        let message = if ndjson {
            // Most often pretty-printed `.json` text in a file named for the NDJSON form.
            "the first line ends inside the metadata: in the NDJSON form (`.ndjson`, `.dsjc`) \
             the metadata object is the whole first line, and each row a line after it"
        } else {
            "the file ends inside the metadata"
        };
        IngestError::at(path, at(input, input.pos), message)
    };
    let json_error = |input: &Input, start: usize, e: &serde_json::Error, what: &str| {
        let slice = &input.buf[start..];
        IngestError::at(
            path,
            at(input, start + offset_in(slice, e.line(), e.column())),
            format!("{what}: {}", without_position(e)),
        )
    };
    // Finds the value at `pos` and checks the metadata's size.
    let value = |input: &mut Input| -> Result<(usize, usize), IngestError> {
        let end = input.value_end().map_err(|s| match s {
            Stop::Io(e) => io(e),
            Stop::Eof => eof(input),
            Stop::TooLong => IngestError::at(
                path,
                at(input, input.pos),
                format!("a metadata value is longer than {} bytes", input.limit),
            ),
        })?;
        if input.offset(end) > input.limit as u64 {
            return Err(IngestError::at(
                path,
                at(input, end),
                format!("the metadata is longer than {} bytes", input.limit),
            ));
        }
        if end == input.pos {
            return Err(syntax(input, "a value"));
        }
        Ok((input.pos, end))
    };

    match input.peek().map_err(io)? {
        Some(b'{') => input.pos += 1,
        None => return Err(IngestError::file(path, "empty file")),
        Some(_) => return Err(syntax(input, "`{` opening the Dataset-JSON object")),
    }
    let mut members = Members {
        map: serde_json::Map::new(),
        columns: None,
        rows: false,
    };
    let mut first = true;
    loop {
        match input.peek().map_err(io)? {
            Some(b'}') if first => {
                input.pos += 1;
                break;
            }
            Some(b'"') => {}
            None => return Err(eof(input)),
            Some(_) => return Err(syntax(input, "a key")),
        }
        first = false;
        let (key_at, end) = value(input)?;
        let key: String = serde_json::from_slice(&input.buf[key_at..end])
            .map_err(|e| json_error(input, key_at, &e, "invalid JSON in a key"))?;
        input.pos = end;
        match input.peek().map_err(io)? {
            Some(b':') => input.pos += 1,
            None => return Err(eof(input)),
            Some(_) => return Err(syntax(input, "`:`")),
        }
        if members.map.contains_key(&key) {
            return Err(IngestError::at(
                path,
                at(input, key_at),
                format!("duplicate key {key:?}"),
            ));
        }
        if key == "rows" {
            if ndjson {
                return Err(IngestError::at(
                    path,
                    at(input, key_at),
                    "the NDJSON metadata line has \"rows\": in NDJSON each row is a line of its own",
                ));
            }
            let missing: Vec<&str> = REQUIRED
                .into_iter()
                .filter(|k| !members.map.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                return Err(IngestError::at(
                    path,
                    at(input, key_at),
                    format!(
                        "\"rows\" comes before {}: Dataset-JSON puts rows last, and this reader \
                         streams them",
                        missing.join(", ")
                    ),
                ));
            }
            match input.peek().map_err(io)? {
                Some(b'[') => input.pos += 1,
                None => return Err(eof(input)),
                Some(_) => return Err(syntax(input, "`[` opening rows")),
            }
            members.rows = true;
            return Ok(members);
        }
        if input.peek().map_err(io)?.is_none() {
            return Err(eof(input));
        }
        let (start, end) = value(input)?;
        let what = format!("the value of {key:?}");
        let mut de = serde_json::Deserializer::from_slice(&input.buf[start..end]);
        let parsed = if key == "columns" {
            let mut index = 0;
            ColumnsSeed { index: &mut index }
                .deserialize(&mut de)
                .and_then(|c| de.end().map(|()| c))
                .map(|c| {
                    members.columns = Some(c);
                    serde_json::Value::Null
                })
                .map_err(|e| json_error(input, start, &e, &format!("columns[{index}]")))?
        } else {
            serde_json::Value::deserialize(&mut de)
                .and_then(|v| de.end().map(|()| v))
                .map_err(|e| json_error(input, start, &e, &format!("invalid JSON in {what}")))?
        };
        if key == "datasetJSONVersion"
            && let serde_json::Value::String(v) = &parsed
            && !is_version_1_1(v)
        {
            return Err(IngestError::at(
                path,
                at(input, start),
                format!(
                    "datasetJSONVersion {v:?}: this reader reads Dataset-JSON 1.1 \
                     (\"1.1\" or \"1.1.x\")"
                ),
            ));
        }
        input.pos = end;
        members.map.insert(key, parsed);
        match input.peek().map_err(io)? {
            Some(b',') => input.pos += 1,
            Some(b'}') => {
                input.pos += 1;
                break;
            }
            None => return Err(eof(input)),
            Some(_) => return Err(syntax(input, "`,` or `}`")),
        }
    }
    if input.peek().map_err(io)?.is_some() {
        let hint = if ndjson {
            ""
        } else {
            " (an NDJSON file read as .json?)"
        };
        return Err(syntax(
            input,
            &format!("the end of the file after the dataset object{hint}"),
        ));
    }
    Ok(members)
}

/// Parses `columns`, counting the columns read so far for error messages and stopping at
/// [`MAX_COLUMNS`] before allocating more.
struct ColumnsSeed<'a> {
    index: &'a mut usize,
}

impl<'de> DeserializeSeed<'de> for ColumnsSeed<'_> {
    type Value = Vec<Column>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Column>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ColumnsSeed<'_> {
    type Value = Vec<Column>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of column objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Column>, A::Error> {
        let mut columns = Vec::new();
        while let Some(column) = seq.next_element()? {
            if columns.len() == MAX_COLUMNS {
                return Err(de::Error::custom(format!(
                    "more than the {MAX_COLUMNS} columns a dataset may have"
                )));
            }
            columns.push(column);
            *self.index += 1;
        }
        Ok(columns)
    }
}
