//! `.json` rows read on all cores, framing included: the reader thread only reads (and
//! digests) the text, in blocks cut where a row may start ([`run_raw`]); the caller's thread
//! cuts each block into spans the same way, which all cores read at once, each span finding its
//! own rows ([`read_span`]); then it checks, in file order, that the spans join up ([`Blocks`]).
//! The rows of a span stay where its core wrote them, a part of the batch (see [`Batch`]); the
//! reader thread notes whether a block is ASCII as it reads it, so that the cores need not.
//!
//! A row may start at a `[` after `],` and whitespace, as between rows in every layout (one row
//! a line, all on one line, indented). Such a `[` inside a string is the only wrong guess in
//! Dataset-JSON, and a span that starts inside a string does not join the one before it. So
//! every span that is taken starts between two rows and reads exactly the rows a reading from
//! the start of the file would. Anything else is left to that reading, the reader of
//! `reader.rs` on a thread of its own, from the end of the last row taken: the end of the rows,
//! a row that fails, a row that does not end in its span, spans that do not join (a wrong cut,
//! a missing or doubled comma), a row past `records`, the end of the file or a read error. It
//! then reads the rest of the file, so every error is the one it gives, whatever the number of
//! threads.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use super::fast_row::{FAST_GROWTH, fast_row, skip_space};
use super::input::{Input, Source};
use super::metadata::DataType;
use super::row::parse_row;
use super::scan::value_len;
use crate::ingest::canonical::F64_MAX;
use crate::ingest::{BATCH_ROWS, Batch, panic_message, reclaim};

/// Fewest bytes of text a core reads at a time.
const MIN_SPAN: usize = 32 << 10;

/// Bytes the reader thread reads at a time: the piece is still in its cache when it is digested
/// and checked for bytes above ASCII.
const PIECE: usize = 256 << 10;

/// Bytes between rows (whitespace) held back at most while looking for the next row; past it
/// the rest of the file is read from the start of the gap.
const MAX_GAP: usize = 1 << 20;

/// A block of the text as read: it ends where a row may start, but at the end of the text,
/// after a read error, or when no row starts in it past its first byte (a row longer than a
/// block, or text that is not rows).
pub(super) struct Raw {
    pub(super) text: Vec<u8>,
    /// Offset of `text[0]` in the file's text.
    pub(super) base: u64,
    pub(super) after: After,
    /// Whether `text` is ASCII, found by the reader thread while the bytes are in its cache.
    pub(super) ascii: bool,
}

/// What follows a block.
pub(super) enum After {
    More,
    End,
    Failed(io::Error),
}

/// The reader thread: reads `src` in blocks of `size` bytes (after `buf`, read already, whose
/// first byte is at `base`) until the end, an error or `stop`, each block cut where its last
/// row may start ([`last_row_start`]) and the rest carried into the next. A panic (a bug)
/// becomes a read error.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_raw(
    mut src: Source,
    mut buf: Vec<u8>,
    mut base: u64,
    mut eof: bool,
    size: usize,
    tx: &SyncSender<Raw>,
    spare: &Receiver<Vec<u8>>,
    stop: &AtomicBool,
) {
    loop {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let mut after = After::More;
        // What was carried over; then each piece as it is read, in the cache still.
        let mut ascii = buf.is_ascii();
        while buf.len() < size && !eof {
            let want = (size - buf.len()).min(PIECE);
            let start = buf.len();
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                src.read_into(&mut buf, want)
            }));
            match read {
                Ok(Ok(n)) => {
                    eof = n < want;
                    ascii = ascii && buf[start..start + n].is_ascii();
                }
                Ok(Err(e)) => {
                    after = After::Failed(e);
                    break;
                }
                Err(panic) => {
                    after = After::Failed(io::Error::other(format!(
                        "internal error: the Dataset-JSON reader panicked ({})",
                        panic_message(&*panic)
                    )));
                    break;
                }
            }
        }
        // A failed read may have appended bytes no piece's check saw.
        ascii = ascii && !matches!(after, After::Failed(_));
        if eof && matches!(after, After::More) {
            after = After::End;
        }
        let cut = match after {
            After::More => last_row_start(&buf).unwrap_or(buf.len()),
            After::End | After::Failed(_) => buf.len(),
        };
        let mut next = spare.try_recv().unwrap_or_default();
        next.clear();
        next.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        let last = !matches!(after, After::More);
        let raw = Raw {
            ascii,
            text: std::mem::replace(&mut buf, next),
            base,
            after,
        };
        base += cut as u64;
        if tx.send(raw).is_err() || last {
            return;
        }
    }
}

/// Where reading stands: after the rows' `[` (no row yet), after a row, or after a row's `,`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Start,
    Row,
    Comma,
}

/// What a span held, read on its own, knowing nothing of what came before it.
#[derive(Default)]
struct Span {
    /// Its first token: `,` ([`At::Comma`]) or a row ([`At::Row`]); `None` if it has none.
    first: Option<At>,
    /// After its last token.
    last: Option<At>,
    /// Where each row it read ends in the block.
    row_ends: Vec<usize>,
    /// Where it stopped before its end: at a token it leaves to the reading from the start
    /// (the rows' `]`, anything else that is not a row or a comma where one may be, a row that
    /// does not end in the span or that fails).
    stop: Option<usize>,
}

/// Reads the rows of `text[from..to]` into `out`, after its rows, as far as it can alone: commas
/// and rows of at most `limit` bytes, in an order that may be right (what came before decides).
/// `out.buf` may hold stale bytes after its rows, before and after. `ascii`: the text is known
/// to be ASCII.
fn read_span(
    types: &[DataType],
    text: &[u8],
    (from, to): (usize, usize),
    out: &mut Batch,
    scratch: &mut String,
    limit: usize,
    ascii: bool,
) -> Span {
    let mut o = std::mem::take(&mut out.buf);
    let mut pos = out.rows_end();
    let mut span = Span::default();
    // Strings need no UTF-8 check when the span is ASCII, which one pass tells if the reader
    // thread could not.
    let ascii = ascii || text[from..to].is_ascii();
    let mut row_out = Vec::new();
    let mut i = from;
    loop {
        i = skip_space(&text[..to], i);
        let Some(&c) = text[..to].get(i) else {
            break;
        };
        match (c, span.last) {
            (b',', None | Some(At::Row)) => {
                span.first.get_or_insert(At::Comma);
                span.last = Some(At::Comma);
                i += 1;
            }
            (b'[', None | Some(At::Comma)) => {
                // A row writes at most its text and a number's digits a value (see fast_row).
                let room = pos + (to - i) + FAST_GROWTH * types.len() + 2 * F64_MAX;
                if o.len() < room {
                    o.resize(room, 0);
                }
                let written = match fast_row(types, &text[i..], to - i, &mut o, pos, ascii) {
                    Some((end, n)) => Some((end, i + n)),
                    // serde_json writes into a buffer of its own: `o` keeps its length, which
                    // it would otherwise grow again, zeroed, for the next row.
                    None => value_len(&text[i..to]).and_then(|n| {
                        row_out.clear();
                        parse_row(types, &text[i..i + n], &mut row_out, scratch).ok()?;
                        let end = pos + row_out.len();
                        if o.len() <= end {
                            o.resize(end + 1, 0);
                        }
                        o[pos..end].copy_from_slice(&row_out);
                        Some((end, i + n))
                    }),
                };
                // A row longer than the limit is the exact reading's error.
                let Some((end, row_end)) = written.filter(|&(_, e)| e - i <= limit) else {
                    span.stop = Some(i);
                    break;
                };
                o[end] = b'\n';
                out.ends.push(end);
                pos = end + 1;
                span.first.get_or_insert(At::Row);
                span.last = Some(At::Row);
                span.row_ends.push(row_end);
                i = row_end;
            }
            _ => {
                span.stop = Some(i);
                break;
            }
        }
    }
    // What follows the rows stays, as stale bytes: a spare batch is not zeroed again next time.
    out.buf = o;
    span
}

/// What [`Blocks::read_block`] did.
pub(super) enum Step {
    /// It took a block, or the batch is full.
    Read,
    /// The rest of the file is for the reading from the start: its text from the end of the
    /// last row taken, then what the reader thread reads.
    Exact { input: Input, rows: u64 },
}

/// The caller's side of reading a block at a time.
pub(super) struct Blocks {
    raw: Receiver<Raw>,
    recycle: SyncSender<Vec<u8>>,
    /// A block the batch had no room for all of, and where in it reading goes on (at the end
    /// of a row).
    pending: Option<(Raw, usize)>,
    /// Where reading stands at the start of the next block (or at the pending place).
    at: At,
    /// The text from the end of the last row taken to the start of the next block (or the
    /// pending place), and its offset in the file's text: the exact reading starts there.
    gap: Vec<u8>,
    gap_base: u64,
    /// Rows taken so far.
    row: u64,
    records: u64,
    /// Rows of the last block taken, to judge whether the next fits in the batch.
    pub(super) last_rows: usize,
    /// Batches for the spans of a block, with the bytes of an earlier use.
    pool: Vec<Batch>,
    scratch: Vec<String>,
}

impl Blocks {
    /// Reading from `base`, just after the rows' `[`.
    pub(super) fn new(
        raw: Receiver<Raw>,
        recycle: SyncSender<Vec<u8>>,
        base: u64,
        records: u64,
    ) -> Self {
        Self {
            raw,
            recycle,
            pending: None,
            at: At::Start,
            gap: Vec::new(),
            gap_base: base,
            row: 0,
            records,
            last_rows: 0,
            pool: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Reads the rows of the next block (or of the rest of the pending one) into `out`, up to
    /// [`BATCH_ROWS`] rows in all.
    pub(super) fn read_block(
        &mut self,
        types: &[DataType],
        out: &mut Batch,
        limit: usize,
    ) -> Result<Step, io::Error> {
        let (block, from) = match self.pending.take() {
            Some(pending) => pending,
            None => match self.raw.recv() {
                Ok(raw) => (raw, 0),
                Err(_) => {
                    return Err(io::Error::other(
                        "internal error: the Dataset-JSON reader thread stopped without a result",
                    ));
                }
            },
        };
        let text = &block.text;
        let bounds = span_bounds(text, from);
        let before = out.len();
        // The first span is read in place, after the own rows, unless parts follow them.
        let in_place = out.parts.is_empty();
        let own = out.ends.len();
        if self.scratch.len() < bounds.len() {
            self.scratch.resize_with(bounds.len(), String::new);
        }
        let (spans, parts) = self.read_spans(types, text, &bounds, out, limit, block.ascii);
        let mut parts = parts.into_iter();

        // Take the spans in order while they join up; each span's rows stay where they were
        // read, a part of the batch.
        let mut at = self.at;
        let mut last_end = None;
        let mut taken = 0;
        let mut own_taken = 0;
        let mut exact = false;
        let mut full = false;
        for (k, span) in spans.iter().enumerate() {
            let joins = match span.first {
                None => true,
                Some(At::Comma) => at == At::Row,
                Some(_) => at != At::Row,
            };
            if !joins {
                exact = true;
                break;
            }
            let room = BATCH_ROWS
                .saturating_sub(before + taken)
                .min(usize::try_from(self.records - self.row).unwrap_or(usize::MAX));
            let n = span.row_ends.len().min(room);
            if k == 0 && in_place {
                own_taken = n;
            } else if let Some(mut part) = parts.next() {
                part.ends.truncate(n);
                if n > 0 {
                    out.parts.push(part);
                } else {
                    self.pool.push(part);
                }
            }
            taken += n;
            self.row += n as u64;
            if n > 0 {
                last_end = Some(span.row_ends[n - 1]);
            }
            if n < span.row_ends.len() {
                full = true;
                break;
            }
            if let Some(last) = span.last {
                at = last;
            }
            if span.stop.is_some() {
                exact = true;
                break;
            }
        }
        self.pool.extend(parts);
        out.ends.truncate(own + own_taken);
        out.discard_partial();
        self.last_rows = taken;
        if full {
            if self.row == self.records {
                // The row past `records` is the exact reading's error.
                return Ok(self.exact(block, from, last_end, limit));
            }
            // The batch is full: the rest of the block is for the next.
            if let Some(end) = last_end {
                self.at = At::Row;
                self.gap.clear();
                self.gap_base = block.base + end as u64;
            }
            let resume = last_end.unwrap_or(from);
            self.pending = Some((block, resume));
            return Ok(Step::Read);
        }
        if exact || !matches!(block.after, After::More) {
            return Ok(self.exact(block, from, last_end, limit));
        }
        // The whole block was taken: keep what follows its last row.
        match last_end {
            Some(end) => {
                self.gap.clear();
                self.gap.extend_from_slice(&block.text[end..]);
                self.gap_base = block.base + end as u64;
            }
            None => self.gap.extend_from_slice(&block.text[from..]),
        }
        self.at = at;
        if self.gap.len() > MAX_GAP {
            let end = block.text.len();
            return Ok(self.exact(block, end, None, limit));
        }
        let _ = self.recycle.try_send(block.text);
        Ok(Step::Read)
    }

    /// Hands the rest of the file to the reading from the start: from the end of the last row
    /// taken, `last_end` in `block` or (`None`) the start of the gap, which runs to `from`.
    fn exact(&mut self, block: Raw, from: usize, last_end: Option<usize>, limit: usize) -> Step {
        let (mut text, base, skip) = match last_end {
            Some(end) => (Vec::new(), block.base + end as u64, end),
            None => (std::mem::take(&mut self.gap), self.gap_base, from),
        };
        text.extend_from_slice(&block.text[skip..]);
        let feed = Feed {
            text: Vec::new(),
            at: 0,
            after: block.after,
            raw: std::mem::replace(&mut self.raw, std::sync::mpsc::sync_channel(0).1),
        };
        Step::Exact {
            input: Input::resume(Box::new(feed), text, base, limit),
            rows: self.row,
        }
    }

    /// Reads every span on all cores: the first into `out`, after its own rows, when no parts
    /// follow them, the others (or all) into batches of the pool, returned in span order.
    fn read_spans(
        &mut self,
        types: &[DataType],
        text: &[u8],
        bounds: &[(usize, usize)],
        out: &mut Batch,
        limit: usize,
        ascii: bool,
    ) -> (Vec<Span>, Vec<Batch>) {
        use rayon::prelude::*;
        let in_place = out.parts.is_empty();
        let pool = &mut self.pool;
        let mut parts: Vec<Batch> = (usize::from(in_place)..bounds.len())
            .map(|_| {
                // Its bytes stay, as stale ones.
                let mut b = pool.pop().unwrap_or_default();
                b.ends.clear();
                b
            })
            .collect();
        let mut outs: Vec<&mut Batch> = if in_place {
            std::iter::once(out).chain(parts.iter_mut()).collect()
        } else {
            parts.iter_mut().collect()
        };
        let spans = outs
            .par_iter_mut()
            .zip(self.scratch[..bounds.len()].par_iter_mut())
            .zip(bounds.par_iter())
            .map(|((batch, scratch), &span)| {
                read_span(types, text, span, batch, scratch, limit, ascii)
            })
            .collect();
        (spans, parts)
    }

    /// Takes back the parts of a batch handed out before, for the spans of later blocks.
    pub(super) fn reclaim(&mut self, parts: &mut Vec<Batch>) {
        reclaim(&mut self.pool, parts);
    }
}

/// Whether a row may start at `text[i]`, a `[`: after `],` and whitespace. In Dataset-JSON
/// that is between two rows, or inside a string, where the guess only costs speed: the spans
/// then do not join.
fn row_may_start(text: &[u8], i: usize) -> bool {
    // Whitespace runs are short between rows; looking no further keeps this constant.
    let last = |end: usize| {
        let from = end.saturating_sub(256);
        text[from..end]
            .iter()
            .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .map(|k| from + k)
    };
    match last(i) {
        Some(comma) if text[comma] == b',' => last(comma).is_some_and(|k| text[k] == b']'),
        _ => false,
    }
}

/// The first place at or after `from` where a row may start ([`row_may_start`]).
fn row_start_from(text: &[u8], from: usize) -> Option<usize> {
    memchr::memchr_iter(b'[', &text[from..])
        .map(|k| from + k)
        .find(|&i| row_may_start(text, i))
}

/// The last place in `text` where a row may start, but its start.
fn last_row_start(text: &[u8]) -> Option<usize> {
    memchr::memrchr_iter(b'[', text).find(|&i| i > 0 && row_may_start(text, i))
}

/// Where the spans of `text[from..]` start and end, cut where rows may start: as in
/// `convert_in_parallel`, the first is a core's share (read straight into the batch), the rest
/// four spans a core (copied after it), of at least [`MIN_SPAN`] bytes.
fn span_bounds(text: &[u8], from: usize) -> Vec<(usize, usize)> {
    let threads = rayon::current_num_threads();
    let len = text.len() - from;
    let first = len / threads;
    let rest = (4 * (threads - 1)).min((len - first) / MIN_SPAN);
    let targets = std::iter::once(first).chain((1..rest).map(|k| first + (len - first) * k / rest));
    let mut bounds = Vec::with_capacity(rest + 1);
    let mut start = from;
    if threads > 1 && first >= MIN_SPAN && rest > 0 {
        for target in targets.map(|t| from + t) {
            if target <= start {
                continue;
            }
            let Some(cut) = row_start_from(text, target) else {
                break;
            };
            bounds.push((start, cut));
            start = cut;
        }
    }
    bounds.push((start, text.len()));
    bounds
}

/// The text for the reading from the start, once it takes over: the rest of the block it
/// started in is in its input already; then the blocks the reader thread goes on reading.
struct Feed {
    text: Vec<u8>,
    at: usize,
    /// What follows `text`.
    after: After,
    raw: Receiver<Raw>,
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.text.len() {
                let n = out.len().min(self.text.len() - self.at);
                out[..n].copy_from_slice(&self.text[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            match std::mem::replace(&mut self.after, After::End) {
                After::End => return Ok(0),
                After::Failed(e) => return Err(e),
                After::More => match self.raw.recv() {
                    Ok(raw) => {
                        (self.text, self.at, self.after) = (raw.text, 0, raw.after);
                    }
                    Err(_) => {
                        return Err(io::Error::other(
                            "internal error: the Dataset-JSON reader thread stopped without a \
                             result",
                        ));
                    }
                },
            }
        }
    }
}
