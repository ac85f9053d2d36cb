//! `tecken id`: the ids `dump_syms` writes for a binary, its store key, and optionally its
//! `.sym` file fetched from a symbol source.

use std::path::PathBuf;

use tecken_core::{binary_id, open_store, BinaryId, BodyMode, Download, DownloadRequest};
use tecken_core::{ObjectKey, StoreSpec};

use crate::{CliError, CliResult};

/// Arguments of `tecken id`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The binary: an ELF, Mach-O or PE file.
    file: PathBuf,
    /// The binary's name, when it differs from FILE's (a download saved under another name):
    /// the debug file of ELF and Mach-O modules, the code file of PE ones.
    #[arg(long)]
    name: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The architecture to read from a universal Mach-O file (`x86_64`, `arm64`); for other
    /// files, the architecture they must have.
    #[arg(long)]
    arch: Option<String>,
    /// Download the binary's `.sym` file from --symbols and write it.
    #[arg(long, requires = "symbols")]
    fetch: bool,
    /// Symbol sources for --fetch, in order: directories, s3://bucket/prefix, http(s):// URLs
    /// (repeat, or separate with commas).
    #[arg(long)]
    symbols: Vec<String>,
    /// Also search the Try area (after the regular one).
    #[arg(long = "try", requires = "fetch")]
    try_symbols: bool,
    /// Where --fetch writes the `.sym` file (default: its name in the store, in the current
    /// directory).
    #[arg(short, long, requires = "fetch")]
    output: Option<PathBuf>,
}

/// Runs `tecken id`.
pub fn run(args: Args) -> CliResult {
    if !args.symbols.is_empty() && !args.fetch {
        return Err(CliError::Usage(
            "--symbols is only used with --fetch".into(),
        ));
    }
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.file.display())))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args.file.to_string_lossy().into_owned(),
    };
    let id = binary_id(&bytes, &name, args.arch.as_deref())
        .map_err(|e| CliError::Failed(format!("{}: {e}", args.file.display())))?;
    let key = id.key();
    print_id(&id, key.as_ref().ok(), args.json);
    if !args.fetch {
        return Ok(());
    }
    let key = key.map_err(|e| CliError::Failed(format!("no store key: {e}")))?;
    fetch(&args, &key)
}

fn print_id(id: &BinaryId, key: Option<&ObjectKey>, json: bool) {
    if json {
        let v = serde_json::json!({
            "os": id.os,
            "arch": id.arch,
            "debug_id": id.debug_id,
            "debug_file": id.debug_file,
            "code_id": id.code_id,
            "code_file": id.code_file,
            "key": key.map(ObjectKey::path),
        });
        println!("{v}");
        return;
    }
    println!(
        "module       {} {} {} {}",
        id.os, id.arch, id.debug_id, id.debug_file
    );
    if let Some(code_id) = &id.code_id {
        let file = id.code_file.as_deref().map(|f| format!(" {f}"));
        println!("code id      {code_id}{}", file.unwrap_or_default());
    }
    match key {
        Some(key) => println!("key          {key}"),
        None => println!("key          none: the debug file is not a valid key part"),
    }
}

fn fetch(args: &Args, key: &ObjectKey) -> CliResult {
    let specs = StoreSpec::parse_list(&args.symbols).map_err(|e| CliError::Usage(e.to_string()))?;
    let store = open_store(&specs)?;
    let mut req = DownloadRequest::new(key.debug_file(), key.debug_id(), key.file());
    req.try_symbols = args.try_symbols;
    req.body = BodyMode::Decoded;
    let found = match store.download(&req)? {
        Download::Found(found) => found,
        Download::NotFound | Download::Redirect(_) => {
            return Err(CliError::Failed(format!("{key}: not found")))
        }
        Download::Ignored => {
            return Err(CliError::Failed(format!(
                "{key}: not found (and ignored: Tecken never serves this name)"
            )))
        }
    };
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(key.file()));
    let body = found.body.unwrap_or_default();
    tecken_core::write_file_atomic(&out, &body)?;
    eprintln!(
        "tecken: wrote {} ({} bytes) from {}",
        out.display(),
        body.len(),
        found.key
    );
    Ok(())
}
