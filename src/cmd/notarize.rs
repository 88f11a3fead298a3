//! `trialnotary notarize`: read submissions, commit them, anchor them in one block.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{StoreArg, print_json, utc};
use crate::Outcome;
use trialnotary::core::session::escape;
use trialnotary::notarize::{self, Change, Input, NotarizeOptions};

/// Default difficulty: a few seconds of mining on two cores.
pub const DEFAULT_DIFFICULTY: u32 = 26;

/// Arguments of `notarize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Submission directories (every dataset file below: .xpt, .json/.ndjson/.dsjc Dataset-JSON,
    /// .csv, .parquet, .arrow/.feather/.ipc; every other file as a document) or single dataset
    /// files.
    #[arg(required = true, value_name = "SUBMISSION")]
    submissions: Vec<PathBuf>,
    /// Submission id, one per submission in order (default: the directory or file name).
    #[arg(long = "id", value_name = "NAME")]
    ids: Vec<String>,
    #[command(flatten)]
    store: StoreArg,
    /// Leading zero bits the block hash must have.
    #[arg(long, value_name = "BITS", default_value_t = DEFAULT_DIFFICULTY,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    difficulty: u32,
    /// Fail at once if another run holds the store, instead of waiting.
    #[arg(long)]
    no_wait: bool,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Never draw progress bars (they are drawn only on a terminal anyway).
    #[arg(long)]
    no_progress: bool,
}

/// The run's progress, drawn on standard error when it is a terminal: the bytes read, then the
/// hashes tried while mining.
struct Bars {
    show: bool,
    ingest: OnceLock<ProgressBar>,
    mine: OnceLock<(ProgressBar, Instant, u32)>,
}

impl Bars {
    fn new(show: bool) -> Self {
        Self {
            show,
            ingest: OnceLock::new(),
            mine: OnceLock::new(),
        }
    }

    fn bar(&self, len: u64, template: &str) -> ProgressBar {
        if !self.show {
            return ProgressBar::hidden();
        }
        // ProgressBar::new draws to stderr and hides itself when stderr is not a terminal.
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar
    }
}

impl notarize::Progress for Bars {
    fn ingest_started(&self, bytes: u64) {
        let _ = self.ingest.set(self.bar(
            bytes,
            "ingest {bar:30} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta}",
        ));
    }

    fn ingested(&self, bytes: u64) {
        if let Some(bar) = self.ingest.get() {
            bar.inc(bytes);
        }
    }

    fn ingest_finished(&self) {
        if let Some(bar) = self.ingest.get() {
            bar.finish_and_clear();
        }
    }

    fn mining_started(&self, difficulty: u32) {
        let _ = self.mine.set((
            self.bar(0, "mine  {spinner} {msg}"),
            Instant::now(),
            difficulty,
        ));
    }

    fn mining(&self, hashes: u64) {
        if let Some((bar, start, difficulty)) = self.mine.get() {
            // Each try succeeds with probability 2^-d, so a block takes 2^d tries on average
            // whatever has been tried already: the time shown is that average at this rate.
            let expected = 2f64.powi(i32::try_from(*difficulty).unwrap_or(i32::MAX));
            let rate = hashes as f64 / start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{:.1} M tries, {:.1} MH/s; a block takes 2^{difficulty} = {:.0} M tries on \
                 average, about {:.0} s at this rate",
                hashes as f64 / 1e6,
                rate / 1e6,
                expected / 1e6,
                expected / rate.max(1.0)
            ));
            bar.tick();
        }
    }

    fn mining_finished(&self) {
        if let Some((bar, ..)) = self.mine.get() {
            bar.finish_and_clear();
        }
    }

    fn warning(&self, text: &str) {
        // Above the bars, which redraw below it.
        match self.ingest.get() {
            Some(bar) => bar.suspend(|| errln!("warning: {text}")),
            None => errln!("warning: {text}"),
        }
    }
}

/// Runs `notarize`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if args.ids.len() > args.submissions.len() {
        anyhow::bail!(
            "{} --id values for {} submissions; give at most one --id per submission",
            args.ids.len(),
            args.submissions.len()
        );
    }
    let inputs: Vec<Input> = args
        .submissions
        .iter()
        .enumerate()
        .map(|(i, path)| Input {
            path: path.clone(),
            id: args
                .ids
                .get(i)
                .cloned()
                .unwrap_or_else(|| notarize::default_id(path)),
        })
        .collect();
    let opts = NotarizeOptions {
        store: args.store.store.clone(),
        difficulty: args.difficulty,
        wait: !args.no_wait,
    };
    if let Some(warning) = trialnotary::store::Store::new(&opts.store).exposure() {
        errln!("warning: {warning}");
    }
    let bars = Bars::new(!args.no_progress);
    let report = notarize::notarize(&inputs, &opts, &bars)
        .context("notarize failed; the store is unchanged")?;
    // The block is anchored whatever happens to the report: an error writing it says so.
    let anchored = report
        .block
        .as_ref()
        .map(|(h, hash)| (h.height, hash.to_string()));
    print_report(&args, &opts, &report).map_err(|e| match anchored {
        Some((height, hash)) => e.context(format!(
            "block {height} ({hash}) was anchored, but its report could not be written"
        )),
        None => e.context("nothing new was anchored; the report could not be written"),
    })?;
    Ok(Outcome::Ok)
}

/// Prints the run's report: JSON with `--json`, else text.
fn print_report(
    args: &Args,
    opts: &NotarizeOptions,
    report: &notarize::NotarizeReport,
) -> anyhow::Result<()> {
    // Throughput is over the work that scales with the data: everything but the nonce search,
    // whose time depends only on the difficulty.
    let secs = report
        .elapsed
        .saturating_sub(report.mining)
        .as_secs_f64()
        .max(1e-9);
    let mb_per_s = report.bytes as f64 / 1e6 / secs;
    let records_per_s = report.records as f64 / secs;
    if args.json {
        let block = report.block.map(|(h, hash)| {
            json!({
                "height": h.height, "hash": hash, "prev": h.prev, "anchor_root": h.anchor_root,
                "time": h.time, "utc": utc(h.time), "difficulty": h.difficulty, "nonce": h.nonce,
            })
        });
        let subs: Vec<_> = report
            .submissions
            .iter()
            .map(|s| {
                let items: Vec<_> = s
                    .items
                    .iter()
                    .map(|i| {
                        let (size, digest) = if i.kind == "dataset" {
                            ("rows", "root")
                        } else {
                            ("bytes", "sha256")
                        };
                        let mut item = json!({"kind": i.kind, "name": i.name, size: i.size,
                                              digest: i.digest, "status": i.change.as_str()});
                        if i.kind == "dataset" {
                            // Whether its rows were read, or its unchanged file's entry reused.
                            item["reused"] = json!(i.reused);
                        }
                        item
                    })
                    .collect();
                json!({
                    "id": s.entry.id, "root": s.entry.root, "records": s.entry.records,
                    "datasets": s.entry.datasets, "documents": s.entry.documents,
                    "bytes": s.bytes, "height": s.height, "anchored_now": s.anchored_now,
                    "status": s.change.as_str(), "items": items, "gone": s.gone,
                    "hidden": s.hidden,
                })
            })
            .collect();
        print_json(&json!({
            "block": block,
            "submissions": subs,
            "records": report.records,
            "bytes": report.bytes,
            "elapsed_seconds": report.elapsed.as_secs_f64(),
            "ingest_seconds": secs,
            "mining_seconds": report.mining.as_secs_f64(),
            "megabytes_per_second": mb_per_s,
            "records_per_second": records_per_s,
            "checkpoint": report.checkpoint,
        }))?;
        return Ok(());
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match report.block {
        Some((h, hash)) => {
            writeln!(
                out,
                "anchored {} submission(s) in block {} of {}, {}",
                report.submissions.len(),
                h.height,
                opts.store.display(),
                utc(h.time)
            )?;
            writeln!(out, "  block hash  {hash}")?;
            let mining = report.mining.as_secs_f64();
            // A rate measured over a few milliseconds means nothing.
            let rate = if mining >= 0.5 {
                format!(" ({:.1} MH/s)", report.hashes as f64 / mining / 1e6)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  difficulty  {} bits, nonce {}, mined in {mining:.2} s{rate}",
                h.difficulty, h.nonce
            )?;
        }
        None => writeln!(
            out,
            "nothing new: every submission is already anchored with these contents"
        )?,
    }
    if let Some(path) = &report.checkpoint {
        writeln!(out, "  checkpoint  {}", path.display())?;
    }
    for s in &report.submissions {
        let state = match (s.change, s.anchored_now) {
            (Change::Unchanged, true) => "unchanged, anchored again",
            (Change::Unchanged, false) => "unchanged, anchored",
            (Change::Changed, _) => "changed, anchored",
            (Change::New, _) => "new, anchored",
        };
        let mut docs = if s.entry.documents > 0 {
            format!(", {} documents", s.entry.documents)
        } else {
            String::new()
        };
        let reused = s.items.iter().filter(|i| i.reused).count();
        if reused > 0 {
            docs.push_str(&format!(
                " ({reused} unchanged dataset files not read again)"
            ));
        }
        writeln!(
            out,
            "  {}  {state} at height {}  root {}  {} records in {} datasets{docs}",
            escape(&s.entry.id),
            s.height,
            s.entry.root,
            s.entry.records,
            s.entry.datasets,
        )?;
        // The first anchoring lists nothing but counts; later ones list what changed.
        if s.change != Change::New {
            for i in s.items.iter().filter(|i| i.change != Change::Unchanged) {
                let size = if i.kind == "dataset" { "rows" } else { "bytes" };
                writeln!(
                    out,
                    "    {:9} {:8} {}  {} {size}",
                    i.change.as_str(),
                    i.kind,
                    escape(&i.name),
                    i.size
                )?;
            }
            for name in &s.gone {
                writeln!(out, "    {:9} {}", "gone", escape(name))?;
            }
        }
        if !s.hidden.is_empty() {
            let hidden: Vec<String> = s.hidden.iter().map(|h| escape(h)).collect();
            writeln!(out, "    skipped hidden: {}", hidden.join(", "))?;
        }
    }
    writeln!(
        out,
        "read {} records ({:.1} MB) in {:.2} s besides mining: {mb_per_s:.1} MB/s, {records_per_s:.0} records/s",
        report.records,
        report.bytes as f64 / 1e6,
        secs
    )?;
    Ok(())
}
