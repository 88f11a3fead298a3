//! Writing a domain's rows to a file: CSV through the csv crate, Parquet and Arrow IPC through
//! Arrow record batches of bounded size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Float64Builder, Int32Builder, Int64Builder, LargeStringBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::study::{Cell, Domain, Kind, Standard, float_text};
use super::transport::{Shape, write_dataset_json, write_xpt};
use super::{GenerateOptions, WriterOptions, rows};
use crate::ingest::Format;
use crate::ingest::canonical;

/// Rows buffered per Arrow batch before it is written.
const FLUSH_ROWS: usize = 1 << 16;

/// A cell's text in a CSV file: the canonical text the Arrow readers give its typed value, so
/// that the CSV and the Parquet copy of a dataset notarize to one root.
pub(super) fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Str(x) => x.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => float_text(*f),
        Cell::Date(days) => {
            let mut text = String::new();
            // Generated dates are within years 2000 to 2100.
            let _ = canonical::push_date(&mut text, i64::from(*days));
            text
        }
        Cell::DateTime(us) => {
            let mut text = String::new();
            let _ = canonical::push_timestamp(
                &mut text,
                *us,
                canonical::TimeUnit::Microsecond,
                canonical::Zone::Utc,
            );
            text
        }
        Cell::Null => String::new(),
    }
}

/// The Arrow type of a column of `kind`.
pub(super) fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::LargeStr => DataType::LargeUtf8,
        Kind::Int32 => DataType::Int32,
        Kind::Date => DataType::Date32,
        Kind::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

/// Subjects between two progress reports.
const TICK: u64 = 64;

/// Reports progress every [`TICK`] subjects.
fn tick(n: u64, progress: &(dyn Fn(u64) + Sync)) {
    if n.is_multiple_of(TICK) && n > 0 {
        progress(TICK);
    }
}

pub(super) fn write_domain(
    d: &Domain,
    opts: &GenerateOptions,
    writer: &WriterOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(PathBuf, u64, u64), String> {
    let ext = match opts.format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
        Format::Xpt => "xpt",
        Format::DatasetJson | Format::DatasetNdjson | Format::DatasetJsonCompressed => "json",
        Format::Arrow => "arrow",
    };
    let path = opts.out.join(format!("{}.{ext}", d.name));
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::create(&path).map_err(|e| err(&e))?;
    let mut count = 0u64;
    match opts.format {
        Format::Csv => {
            let mut w =
                csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file));
            w.write_record(d.columns.iter().map(|c| c.0))
                .map_err(|e| err(&e))?;
            let mut result = Ok(());
            for n in 0..opts.subjects {
                tick(n, progress);
                rows(d.name, opts.seed, n, &mut |row| {
                    count += 1;
                    if let Err(e) = w.write_record(row.iter().map(cell_text)) {
                        result = Err(err(&e));
                    }
                });
                result.clone()?;
            }
            let mut inner = w.into_inner().map_err(|e| err(&e))?;
            inner.flush().map_err(|e| err(&e))?;
        }
        Format::Xpt
        | Format::DatasetJson
        | Format::DatasetNdjson
        | Format::DatasetJsonCompressed => {
            // A first pass learns the row count and the character widths both formats declare
            // before the rows.
            let mut shape = Shape::new(d);
            for n in 0..opts.subjects {
                rows(d.name, opts.seed, n, &mut |row| shape.push(row));
            }
            count = shape.rows;
            let mut each = |emit: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>| {
                let mut result = Ok(());
                for n in 0..opts.subjects {
                    tick(n, progress);
                    rows(d.name, opts.seed, n, &mut |row| {
                        if result.is_ok() {
                            result = emit(row);
                        }
                    });
                    result
                        .as_ref()
                        .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))?;
                }
                result
            };
            let out = BufWriter::with_capacity(1 << 20, file);
            match opts.format {
                Format::Xpt => write_xpt(out, d, &shape, &mut each),
                _ => write_dataset_json(out, d, &shape, &mut each),
            }
            .map_err(|e| err(&e))?;
        }
        Format::Parquet | Format::Arrow => {
            let schema = Arc::new(Schema::new(
                d.columns
                    .iter()
                    .map(|(name, kind)| Field::new(*name, arrow_type(*kind), true))
                    .collect::<Vec<_>>(),
            ));
            let row_group = match (writer.row_group_rows, d.standard) {
                (Some(n), _) => Some(n),
                (None, Standard::Adam) => Some(usize::MAX),
                (None, Standard::Sdtm) => None,
            };
            let mut sink = ArrowSink::new(opts.format, file, schema.clone(), row_group)
                .map_err(|e| err(&e))?;
            let mut cols = Columns::new(d);
            for n in 0..opts.subjects {
                tick(n, progress);
                rows(d.name, opts.seed, n, &mut |row| {
                    count += 1;
                    cols.push(row);
                });
                if cols.len >= FLUSH_ROWS {
                    sink.write(&cols.finish(&schema).map_err(|e| err(&e))?)
                        .map_err(|e| err(&e))?;
                }
            }
            if cols.len > 0 {
                sink.write(&cols.finish(&schema).map_err(|e| err(&e))?)
                    .map_err(|e| err(&e))?;
            }
            sink.close().map_err(|e| err(&e))?;
        }
    }
    let bytes = std::fs::metadata(&path).map_err(|e| err(&e))?.len();
    Ok((path, count, bytes))
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    LargeStr(LargeStringBuilder),
    Int32(Int32Builder),
    Date(Date32Builder),
    DateTime(TimestampMicrosecondBuilder),
}

struct Columns {
    builders: Vec<Builder>,
    len: usize,
}

impl Columns {
    fn new(d: &Domain) -> Self {
        let builders = d
            .columns
            .iter()
            .map(|(_, k)| match k {
                Kind::Str => Builder::Str(StringBuilder::new()),
                Kind::Int => Builder::Int(Int64Builder::new()),
                Kind::Float => Builder::Float(Float64Builder::new()),
                Kind::LargeStr => Builder::LargeStr(LargeStringBuilder::new()),
                Kind::Int32 => Builder::Int32(Int32Builder::new()),
                Kind::Date => Builder::Date(Date32Builder::new()),
                Kind::DateTime => {
                    Builder::DateTime(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                }
            })
            .collect();
        Self { builders, len: 0 }
    }

    fn push(&mut self, row: &[Cell]) {
        for (b, c) in self.builders.iter_mut().zip(row) {
            match (b, c) {
                (Builder::Str(b), Cell::Str(x)) if !x.is_empty() => b.append_value(x),
                (Builder::Str(b), _) => b.append_null(),
                (Builder::Int(b), Cell::Int(i)) => b.append_value(*i),
                (Builder::Int(b), _) => b.append_null(),
                (Builder::Float(b), Cell::Float(f)) => b.append_value(*f),
                (Builder::Float(b), _) => b.append_null(),
                (Builder::LargeStr(b), Cell::Str(x)) if !x.is_empty() => b.append_value(x),
                (Builder::LargeStr(b), _) => b.append_null(),
                (Builder::Int32(b), Cell::Int(i)) => match i32::try_from(*i) {
                    Ok(i) => b.append_value(i),
                    Err(_) => b.append_null(),
                },
                (Builder::Int32(b), _) => b.append_null(),
                (Builder::Date(b), Cell::Date(d)) => b.append_value(*d),
                (Builder::Date(b), _) => b.append_null(),
                (Builder::DateTime(b), Cell::DateTime(t)) => b.append_value(*t),
                (Builder::DateTime(b), _) => b.append_null(),
            }
        }
        self.len += 1;
    }

    fn finish(&mut self, schema: &Arc<Schema>) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Float(b) => Arc::new(b.finish()),
                    Builder::LargeStr(b) => Arc::new(b.finish()),
                    Builder::Int32(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                    Builder::DateTime(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.len = 0;
        RecordBatch::try_new(schema.clone(), arrays)
    }
}

enum ArrowSink {
    Parquet(Box<parquet::arrow::ArrowWriter<File>>),
    Ipc(Box<arrow_ipc::writer::FileWriter<BufWriter<File>>>),
}

impl ArrowSink {
    /// A writer of `format`; for Parquet, with row groups of `row_group` rows (`None`: the
    /// writer's default).
    fn new(
        format: Format,
        file: File,
        schema: Arc<Schema>,
        row_group: Option<usize>,
    ) -> Result<Self, String> {
        Ok(match format {
            Format::Parquet => {
                let mut props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY);
                if let Some(rows) = row_group {
                    props = props.set_max_row_group_row_count(Some(rows));
                }
                let props = props.build();
                Self::Parquet(Box::new(
                    parquet::arrow::ArrowWriter::try_new(file, schema, Some(props))
                        .map_err(|e| e.to_string())?,
                ))
            }
            _ => Self::Ipc(Box::new(
                arrow_ipc::writer::FileWriter::try_new(
                    BufWriter::with_capacity(1 << 20, file),
                    &schema,
                )
                .map_err(|e| e.to_string())?,
            )),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        match self {
            Self::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Self::Ipc(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    fn close(self) -> Result<(), String> {
        match self {
            Self::Parquet(w) => w.close().map(|_| ()).map_err(|e| e.to_string()),
            Self::Ipc(mut w) => w.finish().map_err(|e| e.to_string()),
        }
    }
}
