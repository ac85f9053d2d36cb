//! Builds an index from the bytes of a `.sym` file: the public API ([`build`],
//! [`build_to_file`], [`build_to_writer`], [`BuildOptions`], [`BuildReport`]) over four
//! stages, each a module of its own:
//!
//! 1. `chunk`: the input is split at `FUNC` lines into chunks (a FUNC's line and INLINE
//!    records always follow it, so no record crosses a chunk), several per thread, which the
//!    threads take in turn. Each chunk is parsed (line records through `fast_line` when they
//!    have Breakpad's exact form) into compact per-function tables that are already in their
//!    final form (`tables`: sorted, clamped to the FUNC, gap-marked).
//! 2. `merge`: the chunks' reports and headers are merged, FILE / INLINE_ORIGIN ids made
//!    dense, and FUNC/PUBLIC records resolved into disjoint intervals.
//! 3. `layout`: the string table, every section's length and offset, the header and
//!    section table (the records themselves are defined in [`format`](super::format)).
//! 4. `body`: the threads write the sections in parts: in place in the in-memory index, or
//!    with positional writes into the file.
//!
//! Peak heap is about 12 bytes per line record plus the names: well under the input size,
//! which is read in place (mmap it for large files).

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;

mod body;
mod chunk;
mod fast_line;
mod layout;
mod merge;
mod stack;
mod tables;

#[cfg(unix)]
use body::FilePart;
use body::{MemPart, StreamPart};
use layout::prepare;

use super::format::BODY_START;
use crate::error::{Error, ErrorKind, Result};
use crate::sym::{ParseOptions, ParseReport, SymHeader};

/// Inputs smaller than this are parsed on one thread: spawning costs more than it saves.
const PARALLEL_THRESHOLD: usize = 4 << 20;

/// Options for [`build`] and friends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// How to parse the `.sym` input.
    pub parse: ParseOptions,
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The MODULE/INFO header.
    pub header: SymHeader,
    /// Record counts and skipped lines.
    pub parse: ParseReport,
    /// Size of the `.sym` input in bytes.
    pub input_bytes: u64,
    /// Size of the index in bytes.
    pub index_bytes: u64,
    /// Symbol intervals in the index (FUNCs plus PUBLIC runs).
    pub intervals: u64,
}

/// How many threads parse and write an input of `len` bytes.
fn thread_count(len: usize, opts: &ParseOptions) -> usize {
    if len < PARALLEL_THRESHOLD {
        return 1;
    }
    if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads.max(1)
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("writing index: {e}")).with_source(e)
}

/// Builds an index from `sym` (the bytes of a `.sym` file) and writes it to `out`, on one
/// thread ([`build`] and [`build_to_file`] write on several).
///
/// `out` must be empty and positioned at its start; it needs `Seek` because the header,
/// which holds the checksum, is written last.
pub fn build_to_writer<W: Write + Seek>(
    sym: &[u8],
    mut out: W,
    opts: &BuildOptions,
) -> Result<BuildReport> {
    let p = prepare(sym, opts, 1)?;
    let body = p.body();
    // Placeholder header; rewritten with the checksum at the end.
    out.write_all(&[0u8; BODY_START as usize])
        .map_err(io_error)?;
    let mut stream = StreamPart::new(out, BODY_START);
    let crcs = body.write_part(0, &mut stream).map_err(io_error)?;
    stream.finish(p.file_size()).map_err(io_error)?;
    let crc = body.combine(&[crcs]);
    let mut out = stream.sink.inner;
    out.seek(SeekFrom::Start(0)).map_err(io_error)?;
    out.write_all(&p.head(crc)).map_err(io_error)?;
    out.flush().map_err(io_error)?;
    Ok(p.report)
}

/// Builds an index in memory (parsing and writing on all cores for large inputs).
pub fn build(sym: &[u8], opts: &BuildOptions) -> Result<(super::Index, BuildReport)> {
    let p = prepare(sym, opts, thread_count(sym.len(), &opts.parse))?;
    let size = usize::try_from(p.file_size())
        .map_err(|_| Error::new(ErrorKind::LimitExceeded, "index too large for memory"))?;
    // Allocated once, at its final size, zeroed (fresh pages: no memset), then filled in
    // place by the parts.
    let mut buf = vec![0u8; size];
    let body = p.body();
    let crc = {
        let outs = MemPart::split(&body, &mut buf).map_err(io_error)?;
        body.write_parallel(outs)?
    };
    let head = p.head(crc);
    buf[..head.len()].copy_from_slice(&head);
    let index = super::Index::from_bytes(buf)?;
    Ok((index, p.report))
}

/// Builds an index into the file `path`, atomically: it is written to a temporary file in
/// the same directory, synced, then renamed over `path`, so a reader never sees a partial
/// index and a crash leaves no half-written file under the final name. Large inputs are
/// parsed and written on all cores.
pub fn build_to_file(sym: &[u8], path: &Path, opts: &BuildOptions) -> Result<BuildReport> {
    #[cfg(unix)]
    {
        crate::fsutil::write_atomic(path, |file| {
            use std::os::unix::fs::FileExt;
            let p = prepare(sym, opts, thread_count(sym.len(), &opts.parse))?;
            file.set_len(p.file_size()).map_err(io_error)?;
            let body = p.body();
            let outs = (0..body.n_parts()).map(|_| FilePart::new(file)).collect();
            let crc = body.write_parallel(outs)?;
            file.write_all_at(&p.head(crc), 0).map_err(io_error)?;
            Ok(p.report)
        })
    }
    #[cfg(not(unix))]
    {
        crate::fsutil::write_atomic(path, |file| build_to_writer(sym, file, opts))
    }
}
