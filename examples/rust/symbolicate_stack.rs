//! A crash processor linking tecken-core directly: symbolicate one stack with the typed API
//! (no JSON) and print it the way a crash report shows it.
//!
//! ```text
//! cargo run --release -p tecken-core --example symbolicate_stack -- \
//!     examples/symbols cppdemo/FDD23AFA0DDD7B5AE474BC0754AE06FE0 0x34ba 0x3506 0x10
//! ```
//!
//! Arguments: a symbol source spec (a directory, `s3://bucket/prefix` with the `s3`
//! feature, or an `https://` Tecken URL), the module as `debug_file/debug_id`, then module
//! offsets (hex with `0x`, else decimal).

use std::process::ExitCode;

use tecken_core::{symbol_stores, StoreSpec};
use tecken_core::{symbolicate, FrameRef, ModuleRef};
use tecken_core::{Symbolicator, SymbolicatorConfig};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("symbolicate_stack: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [spec, module, offsets @ ..] = &args[..] else {
        return Err("usage: symbolicate_stack SPEC DEBUG_FILE/DEBUG_ID OFFSET...".into());
    };
    let (debug_file, debug_id) = module
        .split_once('/')
        .ok_or_else(|| format!("{module:?}: expected debug_file/debug_id"))?;
    let frames = offsets
        .iter()
        .map(|o| {
            let parsed = match o.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => o.parse(),
            };
            parsed
                .map(|off| FrameRef::new(0, off))
                .map_err(|e| format!("{o:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let specs = StoreSpec::parse_list(std::slice::from_ref(spec)).map_err(|e| e.to_string())?;
    let sources = symbol_stores(&specs).map_err(|e| e.to_string())?;
    // One Symbolicator per process, shared by every thread (it is Send + Sync).
    let symbolicator = Symbolicator::new(sources, SymbolicatorConfig::default());

    let result = symbolicate(
        &symbolicator,
        &[ModuleRef::new(debug_file, debug_id)],
        &[frames],
    )
    .map_err(|e| e.to_string())?;
    if let Some(lookup) = result.lookups.iter().find(|l| l.error.is_some()) {
        // A storage failure is not "missing": say so instead of printing bare offsets.
        eprintln!(
            "warning: {}/{}: {}",
            lookup.debug_file,
            lookup.debug_id,
            lookup
                .error
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default()
        );
    }
    for frame in &result.results[0].stacks[0] {
        let offset = frame.module_offset.unwrap_or(0);
        let Some(function) = &frame.function else {
            println!("#{} {}+{offset:#x}", frame.frame, frame.module);
            continue;
        };
        // Inlined calls first, innermost first, then the function that contains them.
        for inline in &frame.inlines {
            println!(
                "#{}   {}!{}{}",
                frame.frame,
                frame.module,
                inline.function,
                location(inline.file.as_deref(), inline.line)
            );
        }
        println!(
            "#{} {}!{}{} +{:#x}",
            frame.frame,
            frame.module,
            function,
            location(frame.file.as_deref(), frame.line),
            frame.function_offset.unwrap_or(0)
        );
    }
    Ok(())
}

fn location(file: Option<&str>, line: Option<u32>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!(" [{f}:{l}]"),
        (Some(f), None) => format!(" [{f}]"),
        _ => String::new(),
    }
}
