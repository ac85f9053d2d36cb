//! `gen-sym --funcs N --seed S -o FILE`: writes a deterministic libxul-scale `.sym` file.
//! 300,000 functions make ~420 MB (the size of Firefox's `libxul.so.sym`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use tecken_benches::gen::{generate, GenOptions};

const USAGE: &str = "usage: gen-sym [--funcs N] [--seed S] [--files N] [--origins N] -o FILE
  --funcs N     FUNC records (default 300000: ~420 MB)
  --seed S      PRNG seed (default 1); the same options always give the same bytes
  --files N     FILE records (default funcs/75)
  --origins N   INLINE_ORIGIN records (default funcs/10)
  -o FILE       output path ('-' for stdout)";

fn parse_args() -> Result<(GenOptions, PathBuf), String> {
    let mut opts = GenOptions {
        funcs: 300_000,
        seed: 1,
        files: None,
        origins: None,
    };
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            let v = args.next().ok_or_else(|| format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: not a number: {v}"))
        };
        match a.as_str() {
            "--funcs" => opts.funcs = num("--funcs")?,
            "--seed" => opts.seed = num("--seed")?,
            "--files" => opts.files = Some(num("--files")?),
            "--origins" => opts.origins = Some(num("--origins")?),
            "-o" | "--output" => out = Some(PathBuf::from(args.next().ok_or("-o needs a path")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok((opts, out.ok_or("missing -o FILE")?))
}

fn main() -> ExitCode {
    let (opts, out) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gen-sym: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let t = Instant::now();
    let result = if out.as_os_str() == "-" {
        generate(&opts, std::io::stdout().lock())
    } else {
        // Write beside the target and rename, so an interrupted run leaves no truncated
        // file that a later `run.sh` would mistake for a finished one.
        let tmp = out.with_extension("sym.partial");
        std::fs::File::create(&tmp)
            .and_then(|f| generate(&opts, f))
            .and_then(|s| std::fs::rename(&tmp, &out).map(|_| s))
    };
    match result {
        Ok(stats) => {
            let secs = t.elapsed().as_secs_f64();
            eprintln!(
                "gen-sym: {} in {secs:.1} s ({:.0} MB/s): {}",
                out.display(),
                stats.bytes as f64 / 1e6 / secs,
                stats.summary()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-sym: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
