//! Arrow IPC reader: the file format (Feather v2, magic `ARROW1`) or the stream format, with lz4
//! and zstd compressed buffers, streamed batch by batch.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_ipc::reader::{FileReader, StreamReader};

use super::arrow::BatchSource;
use super::{IngestError, RowSource};

/// Largest uncompressed size a compressed IPC buffer may declare. arrow-ipc allocates whatever
/// the 8-byte prefix of a compressed buffer says, so a corrupt prefix would abort the process;
/// buffers are checked against this before decoding.
const MAX_BUFFER: i64 = 1 << 30;

/// Reads exactly `len` bytes at `at`, or fails with a message.
fn read_at(file: &File, at: u64, len: usize) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, at)
        .map_err(|e| format!("truncated at byte {at}: {e}"))?;
    Ok(buf)
}

/// What is at an offset of the message stream.
#[derive(Debug, PartialEq, Eq)]
enum Walked {
    /// A message of this kind, and its lengths: metadata (with its prefix) and body.
    Message(Kind, u64, u64),
    /// The end-of-stream marker, and the offset just past it.
    EndMarker(u64),
    /// The end of the file (or of the stream part of a file), without a marker.
    End,
}

/// The kind of a message, as the footer of a file lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Schema,
    RecordBatch,
    Dictionary,
    Other,
}

/// Checks every compressed buffer of one encapsulated message at `at` (continuation marker,
/// metadata length, flatbuffer, body), reading no further than `file_len`.
fn check_message(file: &File, at: u64, file_len: u64) -> Result<Walked, String> {
    if at == file_len {
        return Ok(Walked::End);
    }
    // The marker before version 0.15 is four zero bytes; it may end the file.
    if at + 4 == file_len && read_at(file, at, 4)? == [0; 4] {
        return Ok(Walked::EndMarker(file_len));
    }
    if at + 8 > file_len {
        return Err(format!(
            "{} stray bytes at byte {at}, where a message or the end of the stream should be",
            file_len - at
        ));
    }
    let head = read_at(file, at, 8)?;
    let (meta_at, meta_len) = if head[..4] == [0xff; 4] {
        (
            at + 8,
            i32::from_le_bytes([head[4], head[5], head[6], head[7]]),
        )
    } else {
        (
            at + 4,
            i32::from_le_bytes([head[0], head[1], head[2], head[3]]),
        )
    };
    if meta_len == 0 {
        return Ok(Walked::EndMarker(meta_at));
    }
    let meta_len = u64::try_from(meta_len).map_err(|_| "negative metadata length".to_owned())?;
    if meta_at + meta_len > file_len {
        return Err(format!(
            "message at byte {at} runs past the end of the file"
        ));
    }
    let meta = read_at(file, meta_at, meta_len as usize)?;
    let message =
        arrow_ipc::root_as_message(&meta).map_err(|e| format!("bad message at byte {at}: {e}"))?;
    let body_at = meta_at + meta_len;
    let body_len =
        u64::try_from(message.bodyLength()).map_err(|_| "negative body length".to_owned())?;
    if body_at + body_len > file_len {
        return Err(format!(
            "message body at byte {body_at} runs past the end of the file"
        ));
    }
    let (record, dictionary) = (
        message.header_as_record_batch(),
        message.header_as_dictionary_batch(),
    );
    let kind = match (record, dictionary) {
        (Some(_), _) => Kind::RecordBatch,
        (_, Some(_)) => Kind::Dictionary,
        _ if message.header_as_schema().is_some() => Kind::Schema,
        _ => Kind::Other,
    };
    let batch = record.or_else(|| dictionary.and_then(|d| d.data()));
    if let Some(batch) = batch
        && batch.compression().is_some()
    {
        let mut total = 0i64;
        for b in batch.buffers().iter().flatten() {
            if b.length() < 8 {
                continue;
            }
            let off = u64::try_from(b.offset()).map_err(|_| "negative buffer offset".to_owned())?;
            let prefix = read_at(file, body_at + off, 8)?;
            let declared = i64::from_le_bytes(prefix.try_into().unwrap_or_default());
            if !(-1..=MAX_BUFFER).contains(&declared) {
                return Err(format!(
                    "a compressed buffer at byte {} declares {declared} bytes",
                    body_at + off
                ));
            }
            total = total.saturating_add(declared.max(0));
        }
        if total > 4 * MAX_BUFFER {
            return Err(format!(
                "a record batch at byte {at} declares {total} uncompressed bytes"
            ));
        }
    }
    Ok(Walked::Message(kind, body_at - at, body_len))
}

/// A message of a stream: its kind, offset, and lengths of metadata (with its prefix) and body,
/// as a file's footer gives them for its blocks.
type Message = (Kind, i64, i64, i64);

/// Every message from `at` to the end marker or `end`; what follows the marker must be `end`:
/// bytes after it (a second stream, appended data) would be left unread.
fn walk(file: &File, mut at: u64, end: u64) -> Result<Vec<Message>, String> {
    let mut messages = Vec::new();
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    loop {
        match check_message(file, at, end)? {
            Walked::Message(kind, meta, body) => {
                messages.push((kind, signed(at), signed(meta), signed(body)));
                at += meta + body;
            }
            Walked::End => return Ok(messages),
            Walked::EndMarker(after) if after == end => return Ok(messages),
            Walked::EndMarker(after) => {
                return Err(format!(
                    "{} bytes follow the end-of-stream marker at byte {at}, which would be left \
                     unread",
                    end - after
                ));
            }
        }
    }
}

/// The schema of the schema message at `at`, of `meta` bytes with its prefix.
fn stream_schema(file: &File, at: i64, meta: i64) -> Result<arrow_schema::Schema, String> {
    let (at, meta) = (
        u64::try_from(at).unwrap_or(0),
        usize::try_from(meta).unwrap_or(0),
    );
    let bytes = read_at(file, at, meta)?;
    let prefix = if bytes.starts_with(&[0xff; 4]) { 8 } else { 4 };
    let message = arrow_ipc::root_as_message(bytes.get(prefix..).unwrap_or_default())
        .map_err(|e| format!("bad message at byte {at}: {e}"))?;
    let schema = message
        .header_as_schema()
        .ok_or_else(|| format!("no schema in the message at byte {at}"))?;
    arrow_ipc::convert::try_fb_to_schema(schema).map_err(|e| e.to_string())
}

/// Validates the declared sizes of every message before arrow-ipc decodes (and allocates) them,
/// and that the stream ends at its marker or at the end of the file, and that a file's footer
/// lists the messages of its stream as they are.
fn check_sizes(path: &Path, file: &File, is_file_format: bool) -> Result<(), IngestError> {
    let bad = |m: String| IngestError::file(path, format!("not a readable Arrow IPC file: {m}"));
    let len = file
        .metadata()
        .map_err(|e| IngestError::file(path, format!("cannot stat: {e}")))?
        .len();
    if is_file_format {
        // Footer: ... | footer flatbuffer | i32 footer length | "ARROW1"
        if len < 18 {
            return Err(bad("too short".into()));
        }
        let tail = read_at(file, len - 10, 4).map_err(bad)?;
        let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if footer_len + 18 > len {
            return Err(bad("footer length runs past the start of the file".into()));
        }
        let footer = read_at(file, len - 10 - footer_len, footer_len as usize).map_err(bad)?;
        let footer = arrow_ipc::root_as_footer(&footer).map_err(|e| bad(e.to_string()))?;
        // The footer lists the blocks the reader reads, in its order. They must be the
        // messages of the stream before it, in file order: a footer that repeats, reorders or
        // leaves out a block would otherwise give rows the file's stream does not hold.
        let body_end = len - 10 - footer_len;
        // The magic is padded to the writer's alignment (8 bytes, or arrow-rs's 64) with zeros.
        let mut start = 8;
        while start + 8 <= body_end && read_at(file, start, 4).map_err(bad)? == [0; 4] {
            start += 8;
        }
        let stream = walk(file, start, body_end).map_err(bad)?;
        let found = |kind: Kind| {
            stream
                .iter()
                .filter(|m| m.0 == kind)
                .map(|m| (m.1, i64::from(i32::try_from(m.2).unwrap_or(-1)), m.3))
                .collect::<Vec<_>>()
        };
        // The reader takes the columns from the footer's copy of the schema: it must be the
        // stream's, or a stream reader of the same bytes would name other columns.
        let schema_of_stream = match stream.iter().find(|m| m.0 == Kind::Schema) {
            Some(&(_, at, meta, _)) => Some(stream_schema(file, at, meta).map_err(bad)?),
            None => None,
        };
        let schema_of_footer = footer
            .schema()
            .map(arrow_ipc::convert::try_fb_to_schema)
            .transpose()
            .map_err(|e| bad(e.to_string()))?;
        if schema_of_stream != schema_of_footer {
            let describe = |schema: &Option<arrow_schema::Schema>| match schema {
                None => "none".to_owned(),
                Some(schema) => schema
                    .fields()
                    .iter()
                    .map(|f| format!("{} {}", f.name(), f.data_type()))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let (footer, stream) = (describe(&schema_of_footer), describe(&schema_of_stream));
            let also = if footer == stream {
                " (their metadata or nullability differ)"
            } else {
                ""
            };
            return Err(bad(format!(
                "the footer's schema ({footer}) is not the one the file's stream starts with \
                 ({stream}){also}"
            )));
        }
        let offsets = |blocks: &[(i64, i64, i64)]| blocks.iter().map(|b| b.0).collect::<Vec<_>>();
        for (what, kind, blocks) in [
            (
                "record batches",
                Kind::RecordBatch,
                footer
                    .recordBatches()
                    .into_iter()
                    .flatten()
                    .map(|b| (b.offset(), i64::from(b.metaDataLength()), b.bodyLength()))
                    .collect::<Vec<_>>(),
            ),
            (
                "dictionaries",
                Kind::Dictionary,
                footer
                    .dictionaries()
                    .into_iter()
                    .flatten()
                    .map(|b| (b.offset(), i64::from(b.metaDataLength()), b.bodyLength()))
                    .collect(),
            ),
        ] {
            let messages = found(kind);
            if offsets(&blocks) != offsets(&messages) {
                return Err(bad(format!(
                    "the footer lists {what} at bytes {:?}, the file holds them at {:?}",
                    offsets(&blocks),
                    offsets(&messages)
                )));
            }
            if let Some((block, message)) = blocks.iter().zip(&messages).find(|(b, m)| b != m) {
                return Err(bad(format!(
                    "the footer gives the message at byte {} metadata and body lengths {} and \
                     {}, the message has {} and {}",
                    block.0, block.1, block.2, message.1, message.2
                )));
            }
        }
    } else {
        walk(file, 0, len).map_err(bad)?;
    }
    Ok(())
}

/// Reads the schema of `file`, the Arrow IPC file open at `path` and not read from yet,
/// choosing the file or stream reader from the magic bytes; the batches are read from the same
/// handle.
///
/// # Errors
/// When the file is not Arrow IPC.
pub fn open(path: &Path, file: File) -> Result<Box<dyn RowSource>, IngestError> {
    // Read in place: the stream reader below starts where the handle stands, at the start.
    let is_file_format = read_at(&file, 0, 6).is_ok_and(|magic| magic == b"ARROW1");
    let bad = |e: arrow_schema::ArrowError| {
        IngestError::file(path, format!("not a readable Arrow IPC file: {e}"))
    };
    check_sizes(path, &file, is_file_format)?;
    if is_file_format {
        let reader = FileReader::try_new(BufReader::new(file), None).map_err(bad)?;
        let schema = reader.schema();
        Ok(Box::new(BatchSource::new(
            path,
            reader,
            &schema,
            "Arrow IPC",
        )))
    } else {
        let reader = StreamReader::try_new(BufReader::new(file), None).map_err(bad)?;
        let schema = reader.schema();
        Ok(Box::new(BatchSource::new(
            path,
            reader,
            &schema,
            "Arrow IPC",
        )))
    }
}
