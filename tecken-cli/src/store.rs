//! `tecken upload`, `tecken get` and `tecken syminfo`: the symbol store from the command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tecken_core::Area;
use tecken_core::{open_store, BodyMode, Download, DownloadRequest, StoreSpec, SymbolStore};
use tecken_core::{upload_archive_path, UploadOptions, UploadProgress};

use crate::{CliError, CliResult};

/// Arguments of `tecken upload`.
#[derive(clap::Args, Debug)]
pub struct UploadArgs {
    /// The upload archive: a zip of `{debug_file}/{debug_id}/{file}` members.
    archive: PathBuf,
    /// Where to store: a directory (created if missing) or `s3://bucket/prefix`.
    #[arg(long)]
    store: String,
    /// Store into the Try area (`try/v1/...`), like Tecken's `try` upload field.
    #[arg(long = "try")]
    try_symbols: bool,
    /// Parallel uploads (default: CPUs, at least 4, at most 16).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Arguments of `tecken get`.
#[derive(clap::Args, Debug)]
pub struct GetArgs {
    /// The file: `{debug_file}/{debug_id}/{file}` (for example `xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym`).
    /// A code file and code id in place of the debug file and id are resolved too.
    key: String,
    /// Stores to read, in order (repeat, or separate with commas).
    #[arg(long, required = true)]
    store: Vec<String>,
    /// Also search the Try area (after the regular one).
    #[arg(long = "try")]
    try_symbols: bool,
    /// Write the file here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Only say whether it exists (exit 0 if it does, 1 if not); print nothing else.
    #[arg(long)]
    exists: bool,
}

/// Arguments of `tecken syminfo`.
#[derive(clap::Args, Debug)]
pub struct SyminfoArgs {
    /// A code file (`xul.dll`) or a debug file (`xul.pdb`).
    file: String,
    /// A code id or a debug id.
    id: String,
    /// Stores to read, in order (repeat, or separate with commas).
    #[arg(long, required = true)]
    store: Vec<String>,
}

fn store_of(specs: &[String]) -> Result<SymbolStore, CliError> {
    let specs = StoreSpec::parse_list(specs).map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(open_store(&specs)?)
}

/// Runs `tecken upload`.
pub fn upload(args: UploadArgs) -> CliResult {
    let spec = StoreSpec::parse(&args.store).map_err(|e| CliError::Usage(e.to_string()))?;
    if matches!(spec, StoreSpec::Http(_)) {
        return Err(CliError::Usage(format!(
            "--store {}: an HTTP source is read-only; upload into a directory or s3://",
            args.store
        )));
    }
    if !args.archive.is_file() {
        return Err(CliError::Usage(format!(
            "{}: no such file",
            args.archive.display()
        )));
    }
    let store = open_store(std::slice::from_ref(&spec))?;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| Arc::new(Bar::new()));
    let mut options = UploadOptions {
        try_symbols: args.try_symbols,
        archive_name: args
            .archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        progress: bar
            .clone()
            .map(|b| Arc::new(move |p: &UploadProgress| b.update(p)) as tecken_core::ProgressFn),
        ..UploadOptions::default()
    };
    if let Some(t) = args.threads {
        options.threads = t.max(1);
    }
    let started = Instant::now();
    let result = upload_archive_path(&store, &args.archive, &options);
    if let Some(b) = &bar {
        b.finish();
    }
    let result = result?;
    let elapsed = started.elapsed();
    let stored: u64 = result.uploaded.iter().map(|f| f.stored_size).sum();
    let size: u64 = result.uploaded.iter().map(|f| f.size).sum();
    eprintln!(
        "tecken: {} uploaded ({}, {} stored), {} already stored, {} ignored, into {}{} in {:.1} s",
        result.uploaded.len(),
        human(size),
        human(stored),
        result.skipped.len(),
        result.ignored.len(),
        spec,
        if result.try_symbols { " (try)" } else { "" },
        elapsed.as_secs_f64()
    );
    for s in &result.symbols {
        if let Some(m) = &s.module_mismatch {
            eprintln!(
                "tecken: warning: {}: its MODULE line names {}/{}",
                s.key, m.module_debug_file, m.module_debug_id
            );
        }
        if let Some(e) = &s.header_error {
            eprintln!("tecken: warning: {}: unreadable header: {e}", s.key);
        }
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &result)
        .map_err(|e| CliError::Failed(format!("writing the result: {e}")))?;
    let _ = writeln!(out);
    Ok(())
}

/// Runs `tecken get`.
pub fn get(args: GetArgs) -> CliResult {
    let parts: Vec<&str> = args.key.trim_matches('/').split('/').collect();
    let [debug_file, debug_id, file] = parts[..] else {
        return Err(CliError::Usage(format!(
            "{:?}: a key is {{debug_file}}/{{debug_id}}/{{file}}",
            args.key
        )));
    };
    let store = store_of(&args.store)?;
    let mut req = DownloadRequest::new(debug_file, debug_id, file);
    req.try_symbols = args.try_symbols;
    req.body = if args.exists {
        BodyMode::None
    } else {
        BodyMode::Decoded
    };
    let mut answer = store.download(&req)?;
    if let Download::Redirect(key) = &answer {
        if !args.exists {
            eprintln!("tecken: {} is {key}", args.key);
        }
        let mut again = DownloadRequest::new(key.debug_file(), key.debug_id(), key.file());
        again.try_symbols = args.try_symbols;
        again.body = req.body;
        answer = store.download(&again)?;
    }
    let found = match answer {
        Download::Found(f) => f,
        Download::Ignored => {
            return Err(CliError::Failed(format!(
                "{}: not found (and ignored: Tecken never serves this name)",
                args.key
            )))
        }
        Download::NotFound | Download::Redirect(_) => {
            return Err(CliError::Failed(format!("{}: not found", args.key)))
        }
    };
    if args.exists {
        return Ok(());
    }
    let body = found.body.unwrap_or_default();
    match &args.output {
        Some(path) => {
            tecken_core::write_file_atomic(path, &body)?;
            eprintln!(
                "tecken: wrote {} ({}) from {}{}",
                path.display(),
                human(body.len() as u64),
                found.key,
                if found.area == Area::Try {
                    " (try)"
                } else {
                    ""
                }
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&body)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::Failed(format!("writing standard output: {e}")))?;
        }
    }
    Ok(())
}

/// Runs `tecken syminfo`.
pub fn syminfo(args: SyminfoArgs) -> CliResult {
    let store = store_of(&args.store)?;
    let Some(info) = store.syminfo(&args.file, &args.id)? else {
        return Err(CliError::Failed(format!(
            "{}/{}: not found (neither a code file and id known to the store's code-id index, nor a stored debug file and id)",
            args.file, args.id
        )));
    };
    let v = json!({
        "debug_filename": info.debug_filename,
        "debug_id": info.debug_id,
        "code_file": info.code_file,
        "code_id": info.code_id,
        "generator": info.generator,
        "url": info.key.to_string(),
        "try": info.area == Area::Try,
    });
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(())
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A one-line progress bar on standard error, redrawn at most 10 times a second.
struct Bar {
    state: Mutex<(Instant, Option<Instant>)>,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            state: Mutex::new((Instant::now(), None)),
        }
    }

    fn update(&self, p: &UploadProgress) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        let last_file = p.files_done == p.files_total;
        if !last_file && st.1.is_some_and(|t| now - t < Duration::from_millis(100)) {
            return;
        }
        st.1 = Some(now);
        let frac = if p.bytes_total == 0 {
            1.0
        } else {
            p.bytes_done as f64 / p.bytes_total as f64
        };
        let width = 30;
        let filled = ((frac * width as f64) as usize).min(width);
        let secs = (now - st.0).as_secs_f64().max(1e-3);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:>3.0}% {}/{} files, {} of {} ({}/s) ",
            "#".repeat(filled),
            "-".repeat(width - filled),
            frac * 100.0,
            p.files_done,
            p.files_total,
            human(p.bytes_done),
            human(p.bytes_total),
            human((p.bytes_done as f64 / secs) as u64),
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.state.lock().is_ok_and(|s| s.1.is_some()) {
            eprintln!();
        }
    }
}
