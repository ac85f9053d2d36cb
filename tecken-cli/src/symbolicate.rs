//! `tecken symbolicate --symbols SPEC... [--cache DIR] [--v4] [REQUEST.json]`.

use std::io::{Read, Write};
use std::path::PathBuf;

use tecken_core::{symbolicate_v4, symbolicate_v5, V5Options};
use tecken_core::{StoreSpec, SymbolStore};
use tecken_core::{Symbolicator, SymbolicatorConfig};

use crate::{CliError, CliResult};

/// Arguments of `tecken symbolicate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Symbol source: a directory (a store with `v1/`, or a plain tree
    /// `{debug_file}/{debug_id}/{sym_file}`), `s3://bucket/prefix`, or an `http(s)://`
    /// Tecken download URL. Repeat (or separate with commas) to search several in order.
    #[arg(long = "symbols", required = true)]
    symbols: Vec<String>,
    /// Directory for built indexes, shared between runs (default: build in memory).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Upper bound of the bytes of index files in `--cache`; least recently used files are
    /// removed beyond it (safely while other processes read them).
    #[arg(long, requires = "cache")]
    cache_max_bytes: Option<u64>,
    /// Speak the v4 API instead of v5.
    #[arg(long)]
    v4: bool,
    /// Add Eliot's `debug` timing block to the response.
    #[arg(long)]
    debug: bool,
    /// Maximum number of jobs in one request.
    #[arg(long, default_value_t = 10)]
    max_jobs: usize,
    /// The request JSON file (default: standard input).
    request: Option<PathBuf>,
}

/// Turns `--symbols` values into sources, in order. A spec that cannot be a source (a
/// malformed URL, a directory that does not exist) is a usage error.
pub fn sources(specs: &[String]) -> Result<Vec<SymbolStore>, CliError> {
    let specs =
        StoreSpec::parse_list(specs).map_err(|e| CliError::Usage(format!("--symbols: {e}")))?;
    specs
        .iter()
        .map(|s| {
            s.symbol_store()
                .map_err(|e| CliError::Usage(format!("--symbols {s}: {e}")))
        })
        .collect()
}

/// Runs `tecken symbolicate`.
pub fn run(args: Args) -> CliResult {
    let sources = sources(&args.symbols)?;
    let body = match &args.request {
        Some(p) => {
            std::fs::read(p).map_err(|e| CliError::Failed(format!("{}: {e}", p.display())))?
        }
        None => {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| CliError::Failed(format!("reading stdin: {e}")))?;
            b
        }
    };
    let config = SymbolicatorConfig {
        cache_dir: args.cache.clone(),
        max_cache_bytes: args.cache_max_bytes,
        ..SymbolicatorConfig::default()
    };
    let sym = Symbolicator::new(sources, config);
    let opts = V5Options {
        max_jobs: args.max_jobs,
        debug: args.debug,
        ..V5Options::default()
    };
    let resp = if args.v4 {
        symbolicate_v4(&sym, &body, &opts)
    } else {
        symbolicate_v5(&sym, &body, &opts)
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&resp.body);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
    if resp.status != 200 {
        return Err(CliError::Failed(format!(
            "request rejected with HTTP status {}",
            resp.status
        )));
    }
    Ok(())
}
