//! `trialnotary-verify`: the regulator's verifier, built from the verification core alone
//! (`cargo build --release --no-default-features --bin trialnotary-verify`): no arrow, parquet,
//! csv, rayon, clap or indicatif. It reads the files it is given and prints what
//! [`trialnotary::core::session`] says, as `trialnotary verify` does. Exit 0 valid, 1 rejected (with
//! the reason), 2 unusable input; output closed early (`| head`) exits 0.

use std::io::Write;
use std::process::ExitCode;

use trialnotary::core::session::{self, Inputs, Loaded, ProofReader, RunError, Said, Unusable};

const USAGE: &str = "\
usage: trialnotary-verify PROOF [--chain FILE] [--trust FILE] [--tip HASH] [--self-contained]
                         [--checkpoint FILE] [--min-difficulty BITS] [--json]

Checks a proof (or an NDJSON file of proofs) offline. The proof's block must be anchored in
something you trust: a chain copy (--chain), a trust store (--trust) or a block hash (--tip);
--self-contained checks the proof's internal consistency alone.

  --chain FILE           a copy of the sponsor's chain file; the block must be in it
  --trust FILE           trust store: sponsor and witness keys, cosignatures, minimum difficulty
  --tip HASH             a block hash you trust: the proof's block, or (with --chain) a later one
  --self-contained       accept a proof nothing anchors (says what that does not prove)
  --checkpoint FILE      use this signed checkpoint instead of the proof's own
  --min-difficulty BITS  reject blocks below this difficulty
  --json                 one JSON object per proof (NDJSON for an NDJSON file, then a summary)
  -h, --help             this help
  -V, --version          version and the formats read

Exit codes: 0 valid, 1 rejected, 2 unusable input.";

/// The command line, parsed by hand to keep this binary's dependencies to the core's.
#[derive(Default)]
struct Args {
    proof: Option<String>,
    chain: Option<String>,
    min_difficulty: u32,
    trust: Option<String>,
    checkpoint: Option<String>,
    tip: Option<String>,
    self_contained: bool,
    json: bool,
}

/// What the command line asks for.
enum Request {
    Verify(Args),
    Help,
    Version,
}

fn parse_args() -> Result<Request, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--chain" => args.chain = Some(value()?),
            "--trust" => args.trust = Some(value()?),
            "--checkpoint" => args.checkpoint = Some(value()?),
            "--tip" => args.tip = Some(value()?),
            "--min-difficulty" => {
                let v = value()?;
                args.min_difficulty = v
                    .parse()
                    .map_err(|_| format!("--min-difficulty {v:?} is not a number"))?;
            }
            "--self-contained" => args.self_contained = true,
            "--json" => args.json = true,
            "-h" | "--help" => return Ok(Request::Help),
            "-V" | "--version" => return Ok(Request::Version),
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option {s}")),
            _ if args.proof.is_none() => args.proof = Some(a),
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    if args.proof.is_none() {
        return Err("no proof file given".into());
    }
    Ok(Request::Verify(args))
}

fn read(what: &str, path: &Option<String>) -> Result<Option<(String, Vec<u8>)>, Unusable> {
    let Some(path) = path else { return Ok(None) };
    let file = std::fs::File::open(path).map_err(|e| session::cannot_read(what, path, &e))?;
    Ok(Some((
        path.clone(),
        session::read_evidence(what, path, file)?,
    )))
}

fn say(said: &Said) -> std::io::Result<()> {
    std::io::stdout().lock().write_all(said.out.as_bytes())?;
    std::io::stderr().lock().write_all(said.err.as_bytes())
}

fn run(args: &Args) -> Result<u8, RunError> {
    let chain = read("chain copy", &args.chain)?;
    let trust = read("trust store", &args.trust)?;
    let checkpoint = read("checkpoint", &args.checkpoint)?;
    let loaded = Loaded::new(&Inputs {
        chain: session::named(&chain),
        trust: session::named(&trust),
        checkpoint: session::named(&checkpoint),
        tip: args.tip.as_deref(),
        min_difficulty: args.min_difficulty,
        self_contained: args.self_contained,
        now: session::now(),
    })?;
    // parse_args guarantees a proof path.
    let path = args.proof.as_deref().unwrap_or_default();
    let file = std::fs::File::open(path).map_err(|e| session::cannot_read("proof", path, &e))?;
    let mut proofs = ProofReader::new(std::io::BufReader::new(file), path)?;
    session::run(
        &mut proofs,
        &loaded,
        args.json,
        path,
        |_| Ok(Ok(Vec::new())),
        say,
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Request::Verify(a)) => a,
        Ok(Request::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Request::Version) => {
            println!("trialnotary-verify {}", session::version_text());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(RunError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(RunError::Unusable(e)) if args.json => {
            let _ = writeln!(std::io::stdout(), "{}", session::unusable_json(&e));
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
