//! `tecken`: the command-line face of tecken-core.
//!
//! ```text
//! tecken symbolicate --symbols DIR [--cache DIR] [--v4] [REQUEST.json]
//! tecken lookup FILE [ADDR ...] [--addrs-file F]
//! tecken index FILE.sym -o FILE.idx
//! tecken info FILE
//! tecken id BINARY [--json] [--arch ARCH] [--fetch --symbols SPEC [-o FILE]]
//! tecken upload ARCHIVE.zip --store DIR|s3://bucket/prefix [--try]
//! tecken get KEY --store SPEC [-o FILE]
//! tecken syminfo CODE_FILE CODE_ID --store SPEC
//! tecken serve --symbols SPEC --bind 127.0.0.1:8000
//! tecken stackwalk MINIDUMP --symbols SPEC [--cache DIR] [--json [--pretty]] [--brief]
//! ```
//!
//! A symbol source or store spec is a directory, `s3://bucket/prefix` (when built with the
//! `s3` feature, the default), or an `http(s)://` Tecken download URL.
//!
//! Every command exits 0 on success, 1 on a failure of the work (unreadable file, corrupt
//! index), and 2 on a usage error.

mod files;
mod id;
mod lookup;
mod serve;
#[cfg(feature = "stackwalk")]
mod stackwalk;
mod store;
mod symbolicate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "tecken",
    version,
    about = "Breakpad symbol store and symbolication engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Symbolicate a v5 (or v4) request and print the response JSON.
    Symbolicate(symbolicate::Args),
    /// Look addresses up in a .sym or index file; one JSON object per line.
    Lookup(lookup::Args),
    /// Build an index from a .sym file.
    Index {
        /// The .sym file (plain or gzip-compressed).
        sym: PathBuf,
        /// Where to write the index.
        #[arg(short, long)]
        output: PathBuf,
        /// Fail on the first malformed line instead of skipping it.
        #[arg(long)]
        strict: bool,
        /// Parser threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Upload a Tecken symbols archive (zip) into a store.
    Upload(store::UploadArgs),
    /// Print a stored file (decompressed) or write it to a file.
    Get(store::GetArgs),
    /// Which debug file and id a code file and code id belong to (Tecken's syminfo).
    Syminfo(store::SyminfoArgs),
    /// Print the ids dump_syms writes for an ELF, Mach-O or PE binary, and its store key;
    /// with --fetch, download its .sym file.
    Id(id::Args),
    /// Serve Tecken's and Eliot's HTTP APIs.
    Serve(serve::Args),
    /// Process a minidump: unwind its threads and symbolicate their frames, printing
    /// minidump-stackwalk's text or JSON.
    #[cfg(feature = "stackwalk")]
    Stackwalk(stackwalk::Args),
    /// Print the header and record counts of a .sym or index file.
    Info {
        /// The .sym or index file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// For an index, also check its checksum.
        #[arg(long)]
        verify: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Symbolicate(args) => symbolicate::run(args),
        Command::Lookup(args) => lookup::run(args),
        Command::Index {
            sym,
            output,
            strict,
            threads,
        } => files::index(&sym, &output, strict, threads),
        Command::Info { file, json, verify } => files::info(&file, json, verify),
        Command::Upload(args) => store::upload(args),
        Command::Get(args) => store::get(args),
        Command::Syminfo(args) => store::syminfo(args),
        Command::Id(args) => id::run(args),
        Command::Serve(args) => serve::run(args),
        #[cfg(feature = "stackwalk")]
        Command::Stackwalk(args) => stackwalk::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("tecken: {msg}");
            eprintln!("Try 'tecken --help' for more information.");
            ExitCode::from(2)
        }
        Err(CliError::Failed(msg)) => {
            eprintln!("tecken: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The command line was wrong (exit 2).
    Usage(String),
    /// The work failed (exit 1).
    Failed(String),
}

impl From<tecken_core::Error> for CliError {
    fn from(e: tecken_core::Error) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// The result of a command.
pub type CliResult = Result<(), CliError>;
