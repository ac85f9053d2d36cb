//! Opening `.sym` and index files, and the `index` and `info` commands.

use std::path::Path;
use std::time::Instant;

use tecken_core::{build_index, build_index_to_file, BuildOptions, BuildReport, Index};
use tecken_core::{read_sym_file, ParseOptions};

use crate::{CliError, CliResult};

/// Whether `path` starts with the index magic.
pub fn is_index(path: &Path) -> Result<bool, CliError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
    let mut magic = [0u8; 8];
    let n = f
        .read(&mut magic)
        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
    Ok(Index::has_magic(&magic[..n]))
}

/// Opens `path` as an index, building one in memory when it is a `.sym` file.
pub fn open_any(path: &Path) -> Result<(Index, Option<BuildReport>), CliError> {
    if is_index(path)? {
        return Ok((Index::open(path)?, None));
    }
    let sym = read_sym_file(path)?;
    let (index, report) = build_index(&sym, &BuildOptions::default())?;
    Ok((index, Some(report)))
}

fn mb(n: u64) -> f64 {
    n as f64 / 1e6
}

/// `tecken index FILE.sym -o FILE.idx`.
pub fn index(sym_path: &Path, out: &Path, strict: bool, threads: usize) -> CliResult {
    let t = Instant::now();
    let sym = read_sym_file(sym_path)?;
    let read_time = t.elapsed();
    let opts = BuildOptions {
        parse: ParseOptions {
            strict,
            threads,
            ..ParseOptions::default()
        },
    };
    let t = Instant::now();
    let r = build_index_to_file(&sym, out, &opts)?;
    let build_time = t.elapsed();
    let p = &r.parse;
    println!("built {} from {}", out.display(), sym_path.display());
    println!(
        "  module     {} {} {} {}",
        r.header.os, r.header.arch, r.header.debug_id, r.header.debug_file
    );
    println!(
        "  records    {} FUNC, {} line, {} INLINE, {} PUBLIC, {} FILE, {} INLINE_ORIGIN, {} STACK",
        p.funcs,
        p.line_records,
        p.inlines,
        p.publics,
        p.files,
        p.inline_origins,
        p.stack_cfi_init + p.stack_cfi + p.stack_win
    );
    println!(
        "  skipped    {} malformed line(s), {} overlapping FUNC(s), {} empty FUNC(s)",
        p.skipped, p.overlapping_funcs, p.empty_funcs
    );
    for e in &p.errors {
        println!("             line {}: {}", e.line, e.reason);
    }
    let secs = build_time.as_secs_f64().max(1e-9);
    println!(
        "  time       read {:.3} s, build {:.3} s ({:.0} MB/s)",
        read_time.as_secs_f64(),
        secs,
        mb(r.input_bytes) / secs
    );
    println!(
        "  size       input {:.1} MB, index {:.1} MB ({:.2}x), {} intervals",
        mb(r.input_bytes),
        mb(r.index_bytes),
        r.index_bytes as f64 / (r.input_bytes.max(1)) as f64,
        r.intervals
    );
    Ok(())
}

/// `tecken info FILE`.
pub fn info(path: &Path, json: bool, verify: bool) -> CliResult {
    let (index, _) = open_any(path)?;
    if verify && index.is_mapped() {
        index.verify()?;
    }
    let meta = index.meta();
    if json {
        let v = serde_json::json!({
            "header": meta.header,
            "records": meta.report,
            "input_bytes": meta.input_bytes,
            "index_bytes": index.size_bytes(),
            "intervals": index.intervals(),
            "verified": verify,
        });
        println!("{v}");
        return Ok(());
    }
    let h = &meta.header;
    let p = &meta.report;
    println!(
        "module       {} {} {} {}",
        h.os, h.arch, h.debug_id, h.debug_file
    );
    if let Some(c) = &h.code_id {
        println!(
            "code id      {}{}",
            c.id,
            c.file
                .as_deref()
                .map(|f| format!(" {f}"))
                .unwrap_or_default()
        );
    }
    if let Some(g) = &h.generator {
        println!("generator    {g}");
    }
    for (k, v) in &h.info {
        println!("info         {k} {v}");
    }
    println!("FILE         {}", p.files);
    println!("INLINE_ORIGIN {}", p.inline_origins);
    println!(
        "FUNC         {} ({} empty, {} overlapping)",
        p.funcs, p.empty_funcs, p.overlapping_funcs
    );
    println!("line         {}", p.line_records);
    println!("INLINE       {}", p.inlines);
    println!("PUBLIC       {}", p.publics);
    println!(
        "STACK CFI INIT {}, STACK CFI {}, STACK WIN {}",
        p.stack_cfi_init, p.stack_cfi, p.stack_win
    );
    println!("skipped      {}", p.skipped);
    for e in &p.errors {
        println!("             line {}: {}", e.line, e.reason);
    }
    println!(
        "sizes        .sym {} bytes, index {} bytes, {} intervals",
        meta.input_bytes,
        index.size_bytes(),
        index.intervals()
    );
    if verify {
        println!("checksum     ok");
    }
    Ok(())
}
