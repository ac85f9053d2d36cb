//! `tecken stackwalk MINIDUMP --symbols SPEC... [--cache DIR] [--json [--pretty]] [--brief]`:
//! rust-minidump's processor (as `minidump-stackwalk` runs it) with tecken's symbolicator
//! answering symbols and unwind records.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use minidump::{Minidump, MinidumpModuleList};
use minidump_processor::{process_minidump_with_options, ProcessorOptions};
use tecken_core::{Symbolicator, SymbolicatorConfig, TeckenSymbolProvider};

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
    let dump = Minidump::read_path(&args.minidump)
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.minidump.display())))?;
    let config = SymbolicatorConfig {
        cache_dir: args.cache.clone(),
        ..SymbolicatorConfig::default()
    };
    let provider = TeckenSymbolProvider::new(Arc::new(Symbolicator::new(sources, config)));
    if let Ok(modules) = dump.get_stream::<MinidumpModuleList>() {
        provider.prefetch(modules.iter(), args.load_threads);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| CliError::Failed(format!("starting the runtime: {e}")))?;
    let state = runtime
        .block_on(process_minidump_with_options(
            &dump,
            &provider,
            ProcessorOptions::default(),
        ))
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.minidump.display())))?;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        state
            .print_json(&mut out, args.pretty)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else if args.brief {
        state.print_brief(&mut out)
    } else {
        state.print(&mut out)
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("writing the output: {e}")))
}
