//! `tecken stackwalk MINIDUMP --symbols SPEC... [--cache DIR] [--json [--pretty]] [--brief]`:
//! rust-minidump's processor (as `minidump-stackwalk` runs it) with tecken's symbolicator
//! answering symbols and unwind records.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use tecken_core::{stackwalk, Error, MinidumpSource, StackwalkOptions};
use tecken_core::{Symbolicator, SymbolicatorConfig};

use crate::symbolicate::sources;
use crate::{CliError, CliResult};

/// Arguments of `tecken stackwalk`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The minidump file.
    minidump: PathBuf,
    /// Symbol source: a directory (a store with `v1/`, or a plain tree
    /// `{debug_file}/{debug_id}/{sym_file}`), `s3://bucket/prefix`, or an `http(s)://`
    /// Tecken download URL. Repeat (or separate with commas) to search several in order.
    #[arg(long = "symbols", required = true)]
    symbols: Vec<String>,
    /// Directory for built indexes, shared between runs (default: build in memory).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Print the processor's JSON (`minidump-stackwalk --json`) instead of its text.
    #[arg(long)]
    json: bool,
    /// Indent the JSON.
    #[arg(long, requires = "json")]
    pretty: bool,
    /// Text output: only the summary and the crashing thread.
    #[arg(long, conflicts_with = "json")]
    brief: bool,
    /// Threads loading the dump's modules before the walk.
    #[arg(long, default_value_t = 4)]
    load_threads: usize,
}

/// Runs `tecken stackwalk`.
pub fn run(args: Args) -> CliResult {
    let sources = sources(&args.symbols)?;
    let config = SymbolicatorConfig {
        cache_dir: args.cache.clone(),
        ..SymbolicatorConfig::default()
    };
    let options = StackwalkOptions {
        load_threads: args.load_threads,
    };
    let walk = stackwalk(
        MinidumpSource::Path(&args.minidump),
        Arc::new(Symbolicator::new(sources, config)),
        &options,
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        walk.write_json(&mut out, args.pretty)
            .and_then(|()| writeln!(out).map_err(|e| Error::io("standard output", e)))
    } else {
        walk.write_text(&mut out, args.brief)
    };
    written
        .and_then(|()| out.flush().map_err(|e| Error::io("standard output", e)))
        .map_err(|e| CliError::Failed(format!("writing the output: {e}")))
}
