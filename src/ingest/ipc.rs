//! Arrow IPC reader: the file format (Feather v2, magic `ARROW1`) or the stream format, with lz4
//! and zstd compressed buffers, streamed batch by batch.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_ipc::reader::{FileReader, StreamReader};

use super::{Batch, IngestError, RowSource, arrow};

/// Streams an Arrow IPC file or stream.
pub struct IpcSource<R> {
    path: PathBuf,
    reader: R,
    columns: Vec<String>,
    row: u64,
    ready: std::collections::VecDeque<Batch>,
}

/// Opens an Arrow IPC file, choosing the file or stream reader from the magic bytes.
///
/// # Errors
/// When the file cannot be opened or is not Arrow IPC.
pub fn open(path: &Path) -> Result<Box<dyn RowSource>, IngestError> {
    let open =
        || File::open(path).map_err(|e| IngestError::file(path, format!("cannot open: {e}")));
    let mut magic = [0u8; 6];
    let n = open()?
        .read(&mut magic)
        .map_err(|e| IngestError::file(path, format!("read error: {e}")))?;
    let bad = |e: arrow_schema::ArrowError| {
        IngestError::file(path, format!("not a readable Arrow IPC file: {e}"))
    };
    if n == 6 && &magic == b"ARROW1" {
        let reader = FileReader::try_new(BufReader::new(open()?), None).map_err(bad)?;
        let columns = arrow::column_names(&reader.schema());
        Ok(Box::new(IpcSource {
            path: path.to_owned(),
            reader,
            columns,
            row: 0,
            ready: Default::default(),
        }))
    } else {
        let reader = StreamReader::try_new(BufReader::new(open()?), None).map_err(bad)?;
        let columns = arrow::column_names(&reader.schema());
        Ok(Box::new(IpcSource {
            path: path.to_owned(),
            reader,
            columns,
            row: 0,
            ready: Default::default(),
        }))
    }
}

impl<R> RowSource for IpcSource<R>
where
    R: Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + Send,
{
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
                format!("corrupt Arrow IPC data: {e}"),
            )
        })?;
        self.ready
            .extend(arrow::convert_parallel(&self.path, &rb, self.row)?);
        self.row += rb.num_rows() as u64;
        self.next_batch(batch)
    }
}
