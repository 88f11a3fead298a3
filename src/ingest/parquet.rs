//! Parquet reader: row groups decoded into Arrow record batches, streamed.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::arrow::BatchSource;
use super::{BATCH_ROWS, IngestError};

/// Opens a Parquet file and reads its footer.
///
/// # Errors
/// When the file cannot be opened or is not a readable Parquet file.
pub fn open(path: &Path) -> Result<BatchSource<ParquetRecordBatchReader>, IngestError> {
    let file =
        File::open(path).map_err(|e| IngestError::file(path, format!("cannot open: {e}")))?;
    let bad = |e: parquet::errors::ParquetError| {
        IngestError::file(path, format!("not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(bad)?;
    Ok(BatchSource::new(path, reader, &schema, "Parquet"))
}
