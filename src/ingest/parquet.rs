//! Parquet reader: row groups decoded into Arrow record batches, streamed.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};

use super::arrow::BatchSource;
use super::{BATCH_ROWS, IngestError};

/// Reads the footer of `file`, the Parquet file open at `path`; the row groups are read from
/// the same handle.
///
/// # Errors
/// When the file is not a readable Parquet file.
pub fn open(path: &Path, file: File) -> Result<BatchSource<ParquetRecordBatchReader>, IngestError> {
    let bad = |e: parquet::errors::ParquetError| {
        IngestError::file(path, format!("not a readable Parquet file: {e}"))
    };
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(bad)?;
    // String columns are read as dictionaries: Parquet stores them dictionary-encoded, and each
    // distinct value is then encoded once per batch instead of once per row.
    let fields: Vec<Field> = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Dictionary(
                Box::new(DataType::Int32),
                Box::new(DataType::Utf8),
            )),
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        metadata.schema().metadata().clone(),
    ));
    let metadata = ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(schema),
    )
    .map_err(bad)?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(bad)?;
    Ok(BatchSource::new(path, reader, &schema, "Parquet"))
}
