//! Parquet reader: row groups decoded into Arrow record batches, streamed.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{BATCH_ROWS, Batch, IngestError, RowSource, arrow};

/// Streams a Parquet file.
pub struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    columns: Vec<String>,
    row: u64,
    ready: std::collections::VecDeque<Batch>,
}

/// Opens a Parquet file and reads its footer.
///
/// # Errors
/// When the file cannot be opened or is not a readable Parquet file.
pub fn open(path: &Path) -> Result<ParquetSource, IngestError> {
    let file =
        File::open(path).map_err(|e| IngestError::file(path, format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| IngestError::file(path, format!("not a readable Parquet file: {e}")))?;
    let columns = arrow::column_names(builder.schema());
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| IngestError::file(path, format!("not a readable Parquet file: {e}")))?;
    Ok(ParquetSource {
        path: path.to_owned(),
        reader,
        columns,
        row: 0,
        ready: Default::default(),
    })
}

impl RowSource for ParquetSource {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, IngestError> {
        if let Some(b) = self.ready.pop_front() {
            *batch = b;
            return Ok(true);
        }
        batch.clear();
        let Some(rb) = self.reader.next() else {
            return Ok(false);
        };
        let rb = rb.map_err(|e| {
            IngestError::at(
                &self.path,
                format!("row {}", self.row),
                format!("corrupt Parquet data: {e}"),
            )
        })?;
        self.ready
            .extend(arrow::convert_parallel(&self.path, &rb, self.row)?);
        self.row += rb.num_rows() as u64;
        self.next_batch(batch)
    }
}
