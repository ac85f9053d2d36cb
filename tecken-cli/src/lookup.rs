//! `tecken lookup FILE [ADDR ...] [--addrs-file F]`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde_json::{json, Value};
use tecken_core::{Frame, LookupOptions, SourceFile};

use crate::{files, CliError, CliResult};

/// Arguments of `tecken lookup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A .sym file (plain or gzipped) or an index file.
    file: PathBuf,
    /// Addresses: `0x..` is hex, digits only are decimal, anything else is hex.
    addrs: Vec<String>,
    /// Read more addresses from this file, one per line (`-` for stdin).
    #[arg(long)]
    addrs_file: Option<PathBuf>,
    /// Answer no line between line records (Breakpad) instead of the previous line (Eliot).
    #[arg(long)]
    strict_lines: bool,
}

/// Parses an address: `0x` prefix is hex, all digits is decimal, anything else is hex.
pub fn parse_addr(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    u64::from_str_radix(s, 16).ok()
}

fn file_json(f: Option<SourceFile<'_>>) -> Value {
    f.map(|f| json!(f.path)).unwrap_or(Value::Null)
}

/// The JSON line for one address.
pub fn frame_json(addr: u64, frame: Option<&Frame<'_>>) -> Value {
    match frame {
        None => json!({"addr": format!("{addr:#x}"), "function": null, "function_offset": null,
                       "file": null, "line": null, "inlines": []}),
        Some(f) => json!({
            "addr": format!("{addr:#x}"),
            "function": f.function,
            "function_offset": format!("{:#x}", f.function_offset),
            "file": file_json(f.file),
            "line": f.line,
            "inlines": f.inlines.iter().map(|i| json!({
                "function": i.function, "file": file_json(i.file), "line": i.line,
            })).collect::<Vec<_>>(),
        }),
    }
}

/// Runs `tecken lookup`.
pub fn run(args: Args) -> CliResult {
    let mut addrs = Vec::new();
    for a in &args.addrs {
        addrs.push(parse_addr(a).ok_or_else(|| CliError::Usage(format!("not an address: {a:?}")))?);
    }
    if let Some(path) = &args.addrs_file {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            let f = std::fs::File::open(path)
                .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            Box::new(std::io::BufReader::new(f))
        };
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
            if line.trim().is_empty() {
                continue;
            }
            let a = parse_addr(&line).ok_or_else(|| {
                CliError::Usage(format!(
                    "{}:{}: not an address: {line:?}",
                    path.display(),
                    n + 1
                ))
            })?;
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(CliError::Usage(
            "no addresses given (ADDR arguments or --addrs-file)".into(),
        ));
    }
    let (index, _) = files::open_any(&args.file)?;
    let opts = LookupOptions {
        strict_lines: args.strict_lines,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut frame = Frame::empty();
    let mut closed = false;
    index.lookup_each(&addrs, &opts, &mut frame, |k, found| {
        if !closed {
            let v = frame_json(addrs[k], found);
            // Stop writing once stdout is closed (e.g. piped into `head`).
            closed = writeln!(out, "{v}").is_err();
        }
    });
    if closed {
        return Ok(());
    }
    out.flush().map_err(|e| CliError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse_addr;

    #[test]
    fn address_forms() {
        assert_eq!(parse_addr("0x10"), Some(16));
        assert_eq!(parse_addr("10"), Some(10));
        assert_eq!(parse_addr("7a40"), Some(0x7a40));
        assert_eq!(parse_addr("zz"), None);
        assert_eq!(parse_addr("0xffffffffffffffff"), Some(u64::MAX));
    }
}
