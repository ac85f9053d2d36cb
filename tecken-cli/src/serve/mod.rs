//! `tecken serve`: Tecken's and Eliot's HTTP APIs (being written; see issue 6).

use crate::{CliError, CliResult};

/// Arguments of `tecken serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Symbol sources, in order.
    #[arg(long = "symbols")]
    symbols: Vec<String>,
}

/// Runs `tecken serve`.
pub fn run(args: Args) -> CliResult {
    Err(CliError::Failed(format!(
        "serve is not available yet ({} sources given)",
        args.symbols.len()
    )))
}
