//! Builds an index from the bytes of a `.sym` file.
//!
//! The input is split at `FUNC` lines into chunks (a FUNC's line and INLINE records always
//! follow it, so no record crosses a chunk), several per thread, which the threads take in
//! turn. Each chunk is parsed into compact per-function tables that are already in their
//! final form (sorted, clamped to the FUNC, gap-marked); the merge then resolves FUNC/PUBLIC
//! intervals and lays the file out, and the threads write the sections in parts (see
//! `body`): in place in the in-memory index, or with positional writes into the file. Peak heap is about 12 bytes per line record plus the names: well under
//! the input size, which is read in place (mmap it for large files).

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;

mod body;

#[cfg(unix)]
use body::FilePart;
use body::{Body, MemPart, PartStart, StrRef, StreamPart};

use super::format::*;
use super::reader::IndexMeta;
use crate::error::{Error, ErrorKind, Result};
use crate::path::clean_path;
use crate::sym::{
    parse_file_or_origin, parse_func, parse_inline, parse_line_record, parse_public, LineFields,
    ParseOptions, ParseReport, SymHeader,
};

/// Inputs smaller than this are parsed on one thread: spawning costs more than it saves.
const PARALLEL_THRESHOLD: usize = 4 << 20;
/// Chunks per parser thread (see `parse_chunks`).
const CHUNKS_PER_THREAD: usize = 8;
/// Deeper INLINE records than this are treated as malformed (real files reach ~50).
const MAX_INLINE_DEPTH: u32 = 1024;
/// Direct-indexed id remapping up to this id; sparser ids use a hash map.
const DENSE_ID_LIMIT: u32 = 1 << 24;

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

// ---------------------------------------------------------------------------------------
// Chunk parsing

#[derive(Clone, Copy)]
struct FuncRec {
    addr: u64,
    size: u32,
    multiple: bool,
    name_off: usize,
    name_len: u32,
    /// The name is valid UTF-8 (checked by the parser thread).
    name_utf8: bool,
    line_start: u32,
    line_count: u32,
    level_start: u32,
    level_count: u16,
}

#[derive(Clone, Copy)]
struct PubRec {
    addr: u64,
    multiple: bool,
    name_off: usize,
    name_len: u32,
    /// The name is valid UTF-8 (checked by the parser thread).
    name_utf8: bool,
}

/// A line entry in final form, except that `file` is still the raw FILE id.
#[derive(Clone, Copy)]
struct LineOut {
    rel: u32,
    line: u32,
    file: u32,
}

/// An inline range in final form, except that ids are still raw.
#[derive(Clone, Copy)]
struct InlineOut {
    start: u32,
    end: u32,
    origin: u32,
    call_file: u32,
    call_line: u32,
}

#[derive(Clone, Copy)]
struct TmpLine {
    start: u32,
    end: u32,
    line: u32,
    file: u32,
}

#[derive(Clone, Copy)]
struct TmpInline {
    depth: u32,
    out: InlineOut,
}

struct CurFunc {
    addr: u64,
    size: u32,
    multiple: bool,
    name_off: usize,
    name_len: u32,
    /// The name is valid UTF-8 (checked by the parser thread).
    name_utf8: bool,
}

#[derive(Default)]
struct Chunk {
    funcs: Vec<FuncRec>,
    publics: Vec<PubRec>,
    lines: Vec<LineOut>,
    inlines: Vec<InlineOut>,
    levels: Vec<(u32, u32)>,
    files: Vec<(u32, usize, u32)>,
    origins: Vec<(u32, usize, u32)>,
    module: Option<(u64, SymHeader)>,
    infos: Vec<(usize, u32)>,
    report: ParseReport,
    /// The first malformed line (local line number, reason), for strict mode.
    first_error: Option<(u64, &'static str)>,
}

struct ChunkParser<'a> {
    input: &'a [u8],
    base: usize,
    max_errors: usize,
    strict: bool,
    out: Chunk,
    cur: Option<CurFunc>,
    /// Whether the records after the last FUNC belong to a dropped FUNC (size 0 or bad):
    /// their line records are skipped silently instead of counted as orphans.
    cur_dropped: bool,
    tmp_lines: Vec<TmpLine>,
    tmp_inlines: Vec<TmpInline>,
}

impl<'a> ChunkParser<'a> {
    fn error(&mut self, line_no: u64, reason: &'static str) {
        self.out
            .report
            .record_error(line_no, reason, self.max_errors);
        if self.out.first_error.is_none() {
            self.out.first_error = Some((line_no, reason));
        }
    }

    fn offset_of(&self, s: &[u8]) -> usize {
        // `s` is a sub-slice of `input`; its offset is the pointer difference.
        (s.as_ptr() as usize).wrapping_sub(self.input.as_ptr() as usize)
    }

    fn close_func(&mut self) {
        let Some(f) = self.cur.take() else {
            return;
        };
        let line_start = self.out.lines.len() as u32;
        finalize_lines(&mut self.tmp_lines, f.size, &mut self.out.lines);
        let line_count = self.out.lines.len() as u32 - line_start;
        let level_start = self.out.levels.len() as u32;
        finalize_inlines(
            &mut self.tmp_inlines,
            &mut self.out.inlines,
            &mut self.out.levels,
        );
        let level_count = (self.out.levels.len() as u32 - level_start) as u16;
        self.out.funcs.push(FuncRec {
            addr: f.addr,
            size: f.size,
            multiple: f.multiple,
            name_off: f.name_off,
            name_len: f.name_len,
            name_utf8: f.name_utf8,
            line_start,
            line_count,
            level_start,
            level_count,
        });
    }

    fn parse(mut self, chunk: &'a [u8]) -> Chunk {
        // The line table is most of the heap: size it once from the number of lines (an
        // upper bound on line records; gap markers may add a few) instead of doubling,
        // which held 1.5x the table during each copy, in every thread at about the same
        // time. Counting runs at memory speed and pages the input in for the parse.
        if chunk.len() >= PARALLEL_THRESHOLD {
            self.out
                .lines
                .reserve_exact(memchr::memchr_iter(b'\n', chunk).count() + 1);
        }
        let mut line_no = 0u64;
        let mut pos = 0usize;
        while pos < chunk.len() {
            // Line records are the bulk of every file: parse the common exact form
            // (`hex hex dec dec` with single spaces) in one pass that also finds the line
            // end; anything else takes the general path below, which gives the same answer
            // for these lines and handles every other form and error.
            if let Some((fields, next)) = fast_line_record(chunk, pos) {
                line_no += 1;
                pos = next;
                self.line_fields(Ok(fields), line_no);
                continue;
            }
            let rest = &chunk[pos..];
            let (mut line, adv) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            pos += adv;
            line_no += 1;
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            let Some(&first) = line.first() else {
                continue;
            };
            // Line records are the bulk of every file: test for them first.
            if first.is_ascii_digit()
                || (matches!(first, b'a'..=b'f') && !line.starts_with(b"FUNC "))
            {
                self.line_record(line, line_no);
                continue;
            }
            self.other_record(line, line_no);
            if self.strict && self.out.first_error.is_some() {
                break;
            }
        }
        self.close_func();
        self.out.report.lines = line_no;
        self.out
    }

    #[inline]
    fn line_record(&mut self, line: &[u8], line_no: u64) {
        self.line_fields(parse_line_record(line), line_no);
    }

    #[inline]
    fn line_fields(&mut self, parsed: std::result::Result<LineFields, &'static str>, line_no: u64) {
        self.out.report.line_records += 1;
        let Some(f) = self.cur.as_ref() else {
            if !self.cur_dropped {
                self.error(line_no, "line record outside a FUNC");
            }
            return;
        };
        match parsed {
            Ok(l) => {
                let fstart = f.addr;
                let fend = f.addr + u64::from(f.size);
                let start = l.address.max(fstart);
                let end = l.address.saturating_add(l.size).min(fend);
                if start < end {
                    self.tmp_lines.push(TmpLine {
                        start: (start - fstart) as u32,
                        end: (end - fstart) as u32,
                        line: l.line,
                        file: l.file,
                    });
                }
            }
            Err(reason) => self.error(line_no, reason),
        }
    }

    #[cold]
    fn other_record(&mut self, line: &'a [u8], line_no: u64) {
        if let Some(rest) = line.strip_prefix(b"FUNC ") {
            self.close_func();
            self.out.report.funcs += 1;
            self.cur_dropped = true;
            match parse_func(rest) {
                Ok(f) => {
                    if f.size == 0 {
                        self.out.report.empty_funcs += 1;
                    } else if f.size > u64::from(u32::MAX)
                        || f.address.checked_add(f.size).is_none()
                    {
                        self.error(line_no, "FUNC: size too large");
                    } else {
                        self.cur_dropped = false;
                        self.cur = Some(CurFunc {
                            addr: f.address,
                            size: f.size as u32,
                            multiple: f.multiple,
                            name_off: self.base + self.offset_of(f.name),
                            name_len: f.name.len() as u32,
                            name_utf8: std::str::from_utf8(f.name).is_ok(),
                        });
                    }
                }
                Err(reason) => self.error(line_no, reason),
            }
        } else if let Some(rest) = line.strip_prefix(b"INLINE ") {
            self.out.report.inlines += 1;
            let Some(f) = self.cur.as_ref() else {
                if !self.cur_dropped {
                    self.error(line_no, "INLINE outside a FUNC");
                }
                return;
            };
            let (fstart, fend) = (f.addr, f.addr + u64::from(f.size));
            let mark = self.tmp_inlines.len();
            let tmp = &mut self.tmp_inlines;
            let res = parse_inline(rest, |a, s| {
                let start = a.max(fstart);
                let end = a.saturating_add(s).min(fend);
                if start < end {
                    tmp.push(TmpInline {
                        depth: 0,
                        out: InlineOut {
                            start: (start - fstart) as u32,
                            end: (end - fstart) as u32,
                            origin: 0,
                            call_file: 0,
                            call_line: 0,
                        },
                    });
                }
            });
            match res {
                Ok((depth, call_line, call_file, origin)) if depth <= MAX_INLINE_DEPTH => {
                    for t in &mut self.tmp_inlines[mark..] {
                        t.depth = depth;
                        t.out.origin = origin;
                        t.out.call_file = call_file;
                        t.out.call_line = call_line;
                    }
                }
                Ok(_) => {
                    self.tmp_inlines.truncate(mark);
                    self.error(line_no, "INLINE: depth too large");
                }
                Err(reason) => {
                    self.tmp_inlines.truncate(mark);
                    self.error(line_no, reason);
                }
            }
        } else if let Some(rest) = line.strip_prefix(b"FILE ") {
            self.out.report.files += 1;
            match parse_file_or_origin(rest) {
                Ok((id, path)) => {
                    let off = self.base + self.offset_of(path);
                    self.out.files.push((id, off, path.len() as u32));
                }
                Err(_) => self.error(line_no, "FILE: bad id"),
            }
        } else if let Some(rest) = line.strip_prefix(b"INLINE_ORIGIN ") {
            self.out.report.inline_origins += 1;
            match parse_file_or_origin(rest) {
                Ok((id, name)) => {
                    let off = self.base + self.offset_of(name);
                    self.out.origins.push((id, off, name.len() as u32));
                }
                Err(_) => self.error(line_no, "INLINE_ORIGIN: bad id"),
            }
        } else if let Some(rest) = line.strip_prefix(b"PUBLIC ") {
            self.out.report.publics += 1;
            // Breakpad: a PUBLIC ends the current FUNC; line records after it are orphans.
            self.close_func();
            self.cur_dropped = false;
            match parse_public(rest) {
                Ok(p) => self.out.publics.push(PubRec {
                    addr: p.address,
                    multiple: p.multiple,
                    name_off: self.base + self.offset_of(p.name),
                    name_len: p.name.len() as u32,
                    name_utf8: std::str::from_utf8(p.name).is_ok(),
                }),
                Err(reason) => self.error(line_no, reason),
            }
        } else if let Some(rest) = line.strip_prefix(b"STACK ") {
            if rest.starts_with(b"CFI INIT ") {
                self.out.report.stack_cfi_init += 1;
            } else if rest.starts_with(b"CFI ") {
                self.out.report.stack_cfi += 1;
            } else if rest.starts_with(b"WIN ") {
                self.out.report.stack_win += 1;
            } else {
                self.error(line_no, "STACK: unknown kind");
            }
        } else if let Some(rest) = line.strip_prefix(b"INFO ") {
            self.out.report.infos += 1;
            let off = self.base + self.offset_of(rest);
            self.out.infos.push((off, rest.len() as u32));
        } else if let Some(rest) = line.strip_prefix(b"MODULE ") {
            match crate::sym::header_parse_module(rest) {
                Some(h) if self.out.module.is_none() => self.out.module = Some((line_no, h)),
                Some(_) => self.error(line_no, "MODULE: repeated"),
                None => self.error(line_no, "MODULE: malformed"),
            }
        } else if line.iter().all(u8::is_ascii_whitespace) {
            // Blank (or whitespace-only) line.
        } else {
            self.error(line_no, "unknown record");
        }
    }
}

/// Hex digit values; 0xFF for bytes that are not hex digits.
static HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parses the line record starting at `pos` if it has the exact form Breakpad writes:
/// `<hex> <hex> <dec> <dec>` with single spaces, 1-16 hex digits, 1-10 decimal digits
/// within `u32`, ended by LF, CRLF or the end of `b`. Returns the fields and the position
/// after the line end, or `None` for anything else (including malformed lines), which the
/// general parser then handles: for every line accepted here it gives the same fields.
#[inline(always)]
fn fast_line_record(b: &[u8], pos: usize) -> Option<(LineFields, usize)> {
    #[inline(always)]
    fn hex(w: &[u8; 64], p: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        let start = *p;
        loop {
            let d = HEX[w[*p & 63] as usize];
            if d > 15 {
                break;
            }
            v = (v << 4) | u64::from(d);
            *p += 1;
            if *p - start > 16 {
                return None;
            }
        }
        if *p == start || w[*p & 63] != b' ' {
            return None;
        }
        *p += 1;
        Some(v)
    }
    #[inline(always)]
    fn dec(w: &[u8; 64], p: &mut usize) -> Option<u32> {
        let mut v = 0u64;
        let start = *p;
        loop {
            let d = w[*p & 63].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + u64::from(d);
            *p += 1;
            if *p - start > 10 {
                return None;
            }
        }
        if *p == start {
            return None;
        }
        u32::try_from(v).ok()
    }
    // The general path only reads lines starting with a digit or `a`-`f` as line records.
    if !matches!(b.get(pos), Some(b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    // The longest accepted line is 16+1+16+1+10+1+10+2 = 57 bytes: parse from a fixed
    // 64-byte window so that indexing needs no bounds checks (`p & 63`); the last bytes of
    // the input go through a copy padded with NULs.
    let mut padded = [0u8; 64];
    let w: &[u8; 64] = match b.get(pos..pos + 64).and_then(|w| w.try_into().ok()) {
        Some(w) => w,
        None => {
            let tail = b.get(pos..).unwrap_or(&[]);
            padded[..tail.len()].copy_from_slice(tail);
            &padded
        }
    };
    let mut p = 0usize;
    let address = hex(w, &mut p)?;
    let size = hex(w, &mut p)?;
    let line = dec(w, &mut p)?;
    if w[p & 63] != b' ' {
        return None;
    }
    p += 1;
    let file = dec(w, &mut p)?;
    // `p` is at most 57 here. A NUL inside the input is not a line end; past its end it is.
    let end_of_input = |q: usize| pos + q >= b.len();
    let next = match w[p & 63] {
        b'\n' => p + 1,
        b'\r' if w[(p + 1) & 63] == b'\n' => p + 2,
        b'\r' if end_of_input(p + 1) => p + 1,
        _ if end_of_input(p) => p,
        _ => return None,
    };
    Some((
        LineFields {
            address,
            size,
            line,
            file,
        },
        pos + next,
    ))
}

/// Sorts a FUNC's line records and appends them with gap markers to `out`.
///
/// Where records overlap, the first in file order wins the bytes it covers and a later one
/// keeps only what is left (what Eliot answers, and the same rule as for FUNCs).
fn finalize_lines(tmp: &mut Vec<TmpLine>, func_size: u32, out: &mut Vec<LineOut>) {
    if tmp.is_empty() {
        return;
    }
    let sorted = tmp.windows(2).all(|w| w[0].end <= w[1].start);
    if !sorted {
        let mut by_start = tmp.clone();
        by_start.sort_by_key(|l| l.start);
        if by_start.windows(2).all(|w| w[0].end <= w[1].start) {
            *tmp = by_start;
        } else {
            *tmp = paint_in_file_order(tmp);
        }
    }
    let mut prev_end: Option<u32> = None;
    for l in tmp.iter() {
        if prev_end.is_some_and(|e| l.start > e) {
            out.push(LineOut {
                rel: prev_end.unwrap_or(0),
                line: 0,
                file: GAP,
            });
        }
        out.push(LineOut {
            rel: l.start,
            line: l.line,
            file: l.file,
        });
        prev_end = Some(l.end);
    }
    if let Some(e) = prev_end.filter(|&e| e < func_size) {
        out.push(LineOut {
            rel: e,
            line: 0,
            file: GAP,
        });
    }
    tmp.clear();
}

/// Resolves overlapping line records: each record, in file order, keeps only the bytes no
/// earlier record covers. Returns disjoint pieces sorted by start.
#[cold]
fn paint_in_file_order(recs: &[TmpLine]) -> Vec<TmpLine> {
    use std::collections::BTreeMap;
    let mut covered: BTreeMap<u32, TmpLine> = BTreeMap::new();
    for r in recs {
        let from = covered
            .range(..=r.start)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(r.start);
        let overlapping: Vec<(u32, u32)> = covered
            .range(from..r.end)
            .map(|(_, p)| (p.start, p.end))
            .filter(|&(_, e)| e > r.start)
            .collect();
        let mut cur = r.start;
        for (cs, ce) in overlapping {
            if cs > cur {
                covered.insert(
                    cur,
                    TmpLine {
                        start: cur,
                        end: cs,
                        ..*r
                    },
                );
            }
            cur = cur.max(ce);
        }
        if cur < r.end {
            covered.insert(
                cur,
                TmpLine {
                    start: cur,
                    end: r.end,
                    ..*r
                },
            );
        }
    }
    covered.into_values().collect()
}

/// Groups a FUNC's inline ranges by depth, each level sorted by start, and appends them to
/// `inlines` with one `(start, count)` entry per depth to `levels`. Within a level, a range
/// that starts inside the previous one is dropped (levels must be disjoint for the search).
fn finalize_inlines(
    tmp: &mut Vec<TmpInline>,
    inlines: &mut Vec<InlineOut>,
    levels: &mut Vec<(u32, u32)>,
) {
    if tmp.is_empty() {
        return;
    }
    tmp.sort_by_key(|t| (t.depth, t.out.start)); // stable
    let max_depth = tmp.last().map(|t| t.depth).unwrap_or(0);
    let mut i = 0;
    for depth in 0..=max_depth {
        let start = inlines.len() as u32;
        let mut prev_end = 0u32;
        let mut any = false;
        while i < tmp.len() && tmp[i].depth == depth {
            let r = tmp[i].out;
            if !any || r.start >= prev_end {
                inlines.push(r);
                prev_end = r.end;
                any = true;
            }
            i += 1;
        }
        levels.push((start, inlines.len() as u32 - start));
    }
    tmp.clear();
}

/// Splits `input` into at most `n` chunks that each start at a line beginning with `FUNC `
/// (except the first).
fn split_chunks(input: &[u8], n: usize) -> Vec<(usize, usize)> {
    let mut bounds = vec![0usize];
    for k in 1..n {
        let target = input.len() * k / n;
        let from = (*bounds.last().unwrap_or(&0)).max(target);
        if from >= input.len() {
            break;
        }
        match memchr::memmem::find(&input[from..], b"\nFUNC ") {
            Some(i) => bounds.push(from + i + 1),
            None => break,
        }
    }
    bounds.dedup();
    let mut out = Vec::with_capacity(bounds.len());
    for (i, &s) in bounds.iter().enumerate() {
        let e = bounds.get(i + 1).copied().unwrap_or(input.len());
        out.push((s, e));
    }
    out
}

fn parse_chunks(input: &[u8], opts: &ParseOptions) -> Result<Vec<Chunk>> {
    let threads = thread_count(input.len(), opts);
    // `input` is the parser's origin for `offset_of`, and `base` is added to those offsets:
    // so it must be the input from the chunk's start, not the whole input (which counted
    // the chunk's start twice and sent every name of a later chunk out of bounds).
    let make = |base: usize| ChunkParser {
        input: input.get(base..).unwrap_or(&[]),
        base,
        max_errors: opts.max_reported_errors,
        strict: opts.strict,
        out: Chunk::default(),
        cur: None,
        cur_dropped: false,
        tmp_lines: Vec::new(),
        tmp_inlines: Vec::new(),
    };
    if threads == 1 {
        return Ok(vec![make(0).parse(input)]);
    }
    // More chunks than threads, taken in turn: chunks parse at different speeds (STACK
    // records are skipped much faster than line records), and with one chunk per thread
    // the thread with the fast chunk sat idle for the last 15-20% of the parse.
    let ranges = split_chunks(input, threads * CHUNKS_PER_THREAD);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parsed: Vec<(usize, Chunk)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.min(ranges.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(a, b)) = ranges.get(i) else {
                            return mine;
                        };
                        mine.push((i, make(a).parse(&input[a..b])));
                    }
                })
            })
            .collect();
        // A panic in a parser thread is a bug; fail the build with an error rather than
        // unwinding through the caller or silently dropping that chunk's records.
        let mut all = Vec::with_capacity(ranges.len());
        for h in handles {
            all.extend(h.join().map_err(|_| {
                Error::new(
                    ErrorKind::Internal,
                    "internal error: a parser thread panicked",
                )
            })?);
        }
        Ok::<_, Error>(all)
    })?;
    parsed.sort_unstable_by_key(|c| c.0);
    if parsed.len() != ranges.len() {
        return Err(Error::new(
            ErrorKind::Internal,
            "internal error: a chunk was not parsed",
        ));
    }
    Ok(parsed.into_iter().map(|c| c.1).collect())
}

// ---------------------------------------------------------------------------------------
// Merging

/// Maps raw FILE / INLINE_ORIGIN ids to dense indexes.
enum Remap {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl Remap {
    fn new(ids: &[u32]) -> Self {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max < DENSE_ID_LIMIT {
            let mut v = vec![u32::MAX; max as usize + 1];
            for (i, &id) in ids.iter().enumerate() {
                v[id as usize] = i as u32;
            }
            Remap::Dense(v)
        } else {
            Remap::Sparse(
                ids.iter()
                    .enumerate()
                    .map(|(i, &id)| (id, i as u32))
                    .collect(),
            )
        }
    }

    #[inline(always)]
    fn get(&self, id: u32, none: u32) -> u32 {
        match self {
            Remap::Dense(v) => v.get(id as usize).copied().unwrap_or(none),
            Remap::Sparse(m) => m.get(&id).copied().unwrap_or(none),
        }
    }
}

/// First definition of each id wins (Breakpad inserts into a map without overwriting).
fn dedup_defs(
    chunks: &[Chunk],
    pick: impl Fn(&Chunk) -> &Vec<(u32, usize, u32)>,
) -> Vec<(u32, usize, u32)> {
    let mut all: Vec<(u32, usize, u32)> = chunks
        .iter()
        .flat_map(|c| pick(c).iter().copied())
        .collect();
    all.sort_by_key(|&(id, off, _)| (id, off));
    all.dedup_by_key(|&mut (id, _, _)| id);
    all
}

#[derive(Clone, Copy)]
enum Sym {
    Func { chunk: u32, idx: u32 },
    Public { chunk: u32, idx: u32 },
}

#[derive(Clone, Copy)]
struct Interval {
    start: u64,
    end: u64,
    sym: Sym,
}

/// Resolves FUNC overlaps and PUBLIC runs into disjoint intervals (see the module docs).
fn resolve_intervals(chunks: &[Chunk], report: &mut ParseReport) -> Vec<Interval> {
    // FUNCs in file order carry (chunk, idx); sort by start, keeping file order for ties.
    let mut funcs: Vec<(u64, u64, u32, u32)> = Vec::new();
    for (ci, c) in chunks.iter().enumerate() {
        for (fi, f) in c.funcs.iter().enumerate() {
            funcs.push((f.addr, f.addr + u64::from(f.size), ci as u32, fi as u32));
        }
    }
    funcs.sort_by_key(|&(s, _, c, i)| (s, c, i));
    let overlapping = funcs.windows(2).any(|w| w[1].0 < w[0].1);
    if overlapping {
        funcs = drop_overlaps(funcs, report);
    }

    let mut publics: Vec<(u64, u32, u32)> = Vec::new();
    for (ci, c) in chunks.iter().enumerate() {
        for (pi, p) in c.publics.iter().enumerate() {
            publics.push((p.addr, ci as u32, pi as u32));
        }
    }
    publics.sort_by_key(|&(a, c, i)| (a, c, i));
    publics.dedup_by_key(|&mut (a, _, _)| a);

    let mut out = Vec::with_capacity(funcs.len() + publics.len());
    let mut pi = 0usize;
    // Emits the PUBLIC runs in the gap [gap_start, gap_end): a PUBLIC at or after the start
    // of the FUNC before the gap (`prev_func_start`) but inside that FUNC starts its run at
    // the gap start.
    let emit_gap = |out: &mut Vec<Interval>,
                    pi: &mut usize,
                    prev_func_start: Option<u64>,
                    gap_start: u64,
                    gap_end: u64| {
        let mut pending: Option<(u64, u32, u32)> = None; // (run start, chunk, idx)
        while *pi < publics.len() && publics[*pi].0 < gap_end {
            let (addr, c, i) = publics[*pi];
            *pi += 1;
            if prev_func_start.is_some_and(|s| addr <= s) {
                continue; // at or before the FUNC's own start: the FUNC wins
            }
            let run_start = addr.max(gap_start);
            if let Some((ps, pc, pidx)) = pending {
                if run_start > ps {
                    out.push(Interval {
                        start: ps,
                        end: run_start,
                        sym: Sym::Public {
                            chunk: pc,
                            idx: pidx,
                        },
                    });
                }
            }
            pending = Some((run_start, c, i));
        }
        if let Some((ps, pc, pidx)) = pending {
            if gap_end > ps {
                out.push(Interval {
                    start: ps,
                    end: gap_end,
                    sym: Sym::Public {
                        chunk: pc,
                        idx: pidx,
                    },
                });
            }
        }
    };
    let mut prev: Option<(u64, u64)> = None;
    for &(s, e, c, i) in &funcs {
        let gap_start = prev.map(|p| p.1).unwrap_or(0);
        emit_gap(&mut out, &mut pi, prev.map(|p| p.0), gap_start, s);
        out.push(Interval {
            start: s,
            end: e,
            sym: Sym::Func { chunk: c, idx: i },
        });
        prev = Some((s, e));
    }
    let gap_start = prev.map(|p| p.1).unwrap_or(0);
    if gap_start < UNBOUNDED {
        emit_gap(&mut out, &mut pi, prev.map(|p| p.0), gap_start, UNBOUNDED);
    }
    out
}

/// The slow path for files with overlapping FUNCs: accept FUNCs in file order, dropping
/// each one that overlaps one already accepted (Breakpad's rule: the first wins).
#[cold]
fn drop_overlaps(
    mut funcs: Vec<(u64, u64, u32, u32)>,
    report: &mut ParseReport,
) -> Vec<(u64, u64, u32, u32)> {
    use std::collections::BTreeMap;
    funcs.sort_by_key(|&(_, _, c, i)| (c, i));
    let mut accepted: BTreeMap<u64, (u64, u32, u32)> = BTreeMap::new();
    for (s, e, c, i) in funcs {
        let before = accepted
            .range(..=s)
            .next_back()
            .is_some_and(|(_, &(pe, _, _))| pe > s);
        let after = accepted.range(s..).next().is_some_and(|(&ns, _)| ns < e);
        if before || after {
            report.overlapping_funcs += 1;
        } else {
            accepted.insert(s, (e, c, i));
        }
    }
    accepted
        .into_iter()
        .map(|(s, (e, c, i))| (s, e, c, i))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Writing

struct Strings {
    buf: Vec<u8>,
}

impl Strings {
    fn push(&mut self, bytes: &[u8]) -> Result<(u32, u32)> {
        // Most names are valid UTF-8: check that fast before the lossy conversion.
        let s = match std::str::from_utf8(bytes) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        self.push_utf8(s.as_bytes())
    }

    /// [`Strings::push`] for bytes already known to be UTF-8.
    fn push_utf8(&mut self, bytes: &[u8]) -> Result<(u32, u32)> {
        let off = u32::try_from(self.buf.len()).map_err(|_| {
            Error::new(ErrorKind::LimitExceeded, "index string table exceeds 4 GiB")
        })?;
        self.buf.extend_from_slice(bytes);
        Ok((off, bytes.len() as u32))
    }
}

/// Everything a build resolved before writing: the parsed chunks, the string table and the
/// file layout.
struct Prepared {
    chunks: Vec<Chunk>,
    intervals: Vec<Interval>,
    name_refs: Vec<(u32, u32)>,
    file_map: Remap,
    origin_map: Remap,
    file_refs: Vec<(StrRef, StrRef)>,
    origin_refs: Vec<(u32, u32)>,
    strings: Vec<u8>,
    meta_json: Vec<u8>,
    offsets: [u64; slot::COUNT],
    lens: [u64; slot::COUNT],
    parts: Vec<PartStart>,
    report: BuildReport,
}

impl Prepared {
    fn body(&self) -> Body<'_> {
        Body {
            chunks: &self.chunks,
            intervals: &self.intervals,
            name_refs: &self.name_refs,
            file_map: &self.file_map,
            origin_map: &self.origin_map,
            file_refs: &self.file_refs,
            origin_refs: &self.origin_refs,
            strings: &self.strings,
            meta_json: &self.meta_json,
            offsets: self.offsets,
            lens: self.lens,
            parts: &self.parts,
        }
    }

    fn file_size(&self) -> u64 {
        self.report.index_bytes
    }

    /// The header and section table (padded to the body), with the body's CRC.
    fn head(&self, crc: u32) -> Vec<u8> {
        let mut table = Vec::with_capacity(SectionEntry::SIZE * section::ALL.len());
        for (i, &(id, esize)) in section::ALL.iter().enumerate() {
            let e = SectionEntry {
                id,
                entry_size: esize as u32,
                offset: self.offsets[i],
                len: self.lens[i],
            };
            table.extend_from_slice(&e.encode());
        }
        let mut h = Header {
            magic: MAGIC,
            version: VERSION,
            header_size: Header::SIZE as u32,
            file_size: self.file_size(),
            section_count: section::ALL.len() as u32,
            body_crc: crc,
            intervals: self.intervals.len() as u64,
            header_crc: 0,
            reserved: [0; 20],
        };
        h.header_crc = header_checksum(&h.encode(), &table);
        let mut head = h.encode().to_vec();
        head.extend_from_slice(&table);
        head.resize(BODY_START as usize, 0);
        head
    }
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

/// Parses `sym` and lays the index out, for a body written in up to `parts` parts.
fn prepare(sym: &[u8], opts: &BuildOptions, parts: usize) -> Result<Prepared> {
    let popts = &opts.parse;
    let chunks = parse_chunks(sym, popts)?;

    // Line numbers in chunk reports are chunk-local; make them absolute.
    let mut report = ParseReport::default();
    let mut line_base = 0u64;
    let mut first_error: Option<(u64, &'static str)> = None;
    let mut module: Option<(u64, SymHeader)> = None;
    for c in &chunks {
        let mut r = c.report.clone();
        for e in &mut r.errors {
            e.line += line_base;
        }
        if first_error.is_none() {
            first_error = c.first_error.map(|(l, reason)| (l + line_base, reason));
        }
        if module.is_none() {
            module = c.module.clone().map(|(l, h)| (l + line_base, h));
        }
        line_base += c.report.lines;
        report.merge(r, popts.max_reported_errors);
    }
    if popts.strict {
        if let Some((line, reason)) = first_error {
            return Err(Error::new(
                ErrorKind::MalformedSym,
                format!("line {line}: {reason}"),
            ));
        }
    }
    let Some((_, mut header)) = module else {
        return Err(Error::new(
            ErrorKind::MalformedSym,
            "not a breakpad .sym file: no MODULE line",
        ));
    };
    let mut first_info = true;
    for c in &chunks {
        for &(off, len) in &c.infos {
            header.apply_info(&sym[off..off + len as usize], first_info);
            first_info = false;
        }
    }
    // Eliot only names a module by its PE file when that INFO is the file's second line;
    // take the header parser's word for it.
    header.first_info_is_pe_code_id = crate::sym::parse_header(sym)
        .map(|h| h.first_info_is_pe_code_id)
        .unwrap_or(false);

    let intervals = resolve_intervals(&chunks, &mut report);

    let files = dedup_defs(&chunks, |c| &c.files);
    let origins = dedup_defs(&chunks, |c| &c.origins);
    let file_ids: Vec<u32> = files.iter().map(|f| f.0).collect();
    let origin_ids: Vec<u32> = origins.iter().map(|o| o.0).collect();
    let file_map = Remap::new(&file_ids);
    let origin_map = Remap::new(&origin_ids);

    // Strings: symbol names in interval order, then files (raw, cleaned), then origins.
    let name_of = |iv: &Interval| match iv.sym {
        Sym::Func { chunk, idx } => {
            let f = &chunks[chunk as usize].funcs[idx as usize];
            (f.name_off, f.name_len, f.name_utf8)
        }
        Sym::Public { chunk, idx } => {
            let p = &chunks[chunk as usize].publics[idx as usize];
            (p.name_off, p.name_len, p.name_utf8)
        }
    };
    let name_bytes: usize = intervals.iter().map(|iv| name_of(iv).1 as usize).sum();
    let mut strings = Strings {
        buf: Vec::with_capacity(name_bytes),
    };
    let mut name_refs = Vec::with_capacity(intervals.len());
    for iv in &intervals {
        let (off, len, utf8) = name_of(iv);
        let bytes = &sym[off..off + len as usize];
        name_refs.push(if utf8 {
            strings.push_utf8(bytes)?
        } else {
            strings.push(bytes)?
        });
    }
    let mut file_refs = Vec::with_capacity(files.len());
    for &(_, off, len) in &files {
        let raw_bytes = &sym[off..off + len as usize];
        let raw = strings.push(raw_bytes)?;
        let raw_str = String::from_utf8_lossy(raw_bytes);
        let cleaned = clean_path(&raw_str);
        let clean = if cleaned == raw_str {
            raw
        } else {
            strings.push(cleaned.as_bytes())?
        };
        file_refs.push((raw, clean));
    }
    let mut origin_refs = Vec::with_capacity(origins.len());
    for &(_, off, len) in &origins {
        origin_refs.push(strings.push(&sym[off..off + len as usize])?);
    }

    let Some(parts) = body::plan(&chunks, &intervals, parts) else {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "too many line or inline records for one index",
        ));
    };
    let total = parts[parts.len() - 1];
    let (n_lines, n_levels, n_inlines) = (
        u64::from(total.line),
        u64::from(total.level),
        u64::from(total.inline),
    );

    let meta = IndexMeta {
        header: header.clone(),
        report: report.clone(),
        input_bytes: sym.len() as u64,
    };
    let meta_json =
        serde_json::to_vec(&meta).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
    let n = intervals.len() as u64;
    let n_top = n.div_ceil(TOP_STRIDE as u64);
    let mut lens = [0u64; slot::COUNT];
    lens[slot::META] = meta_json.len() as u64;
    lens[slot::TOP] = n_top * ADDR_SIZE as u64;
    lens[slot::STARTS] = n * ADDR_SIZE as u64;
    lens[slot::SYMS] = n * SymEntry::SIZE as u64;
    lens[slot::LINE_OFFSETS] = n_lines * LINE_OFFSET_SIZE as u64;
    lens[slot::LINES] = n_lines * LineEntry::SIZE as u64;
    lens[slot::LEVELS] = n_levels * LevelEntry::SIZE as u64;
    lens[slot::INLINES] = n_inlines * InlineEntry::SIZE as u64;
    lens[slot::FILES] = files.len() as u64 * FileEntry::SIZE as u64;
    lens[slot::ORIGINS] = origins.len() as u64 * OriginEntry::SIZE as u64;
    lens[slot::STRINGS] = strings.buf.len() as u64;
    let (offsets, pos) = section_offsets(&lens);
    Ok(Prepared {
        chunks,
        intervals,
        name_refs,
        file_map,
        origin_map,
        file_refs,
        origin_refs,
        strings: strings.buf,
        meta_json,
        offsets,
        lens,
        parts,
        report: BuildReport {
            header,
            parse: report,
            input_bytes: sym.len() as u64,
            index_bytes: pos,
            intervals: n,
        },
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_func_lines() {
        let text = b"MODULE a b C d\nFUNC 1 1 0 a\n1 1 1 0\nFUNC 2 1 0 b\n2 1 1 0\nFUNC 3 1 0 c\n";
        let ranges = split_chunks(text, 3);
        for &(s, _) in &ranges[1..] {
            assert!(text[s..].starts_with(b"FUNC "));
        }
        assert_eq!(ranges.last().unwrap().1, text.len());
        assert_eq!(ranges[0].0, 0);
    }

    #[test]
    fn fast_line_records_agree_with_the_general_parser() {
        let cases: &[&[u8]] = &[
            b"1a2b 10 42 3\n",
            b"1a2b 10 42 3",
            b"1a2b 10 42 3\r\n",
            b"1a2b 10 42 3\r",
            b"1a2b 10 42 3\r\r\n",
            b"1a2b 10 42 3 \n",
            b"1a2b  10 42 3\n",
            b"1a2b\t10 42 3\n",
            b"ffffffffffffffff FFFFFFFFFFFFFFFF 4294967295 4294967295\n",
            b"00000000000000001 1 1 1\n",
            b"1 1 4294967296 1\n",
            b"1 1 -1 1\n",
            b"1 1 1 00000000001\n",
            b"1 1 1 1 1\n",
            b"1 1 1\n",
            b"1 1 1 1\x00\n",
            b"g 1 1 1\n",
            b"FFFF 1 1 1\n",
            b"1 1 1 \n",
            b"1 1 1 1x\n",
            b"0 0 0 0\n",
        ];
        for &case in cases {
            let fast = fast_line_record(case, 0);
            let nl = case.iter().position(|&b| b == b'\n').unwrap_or(case.len());
            let mut line = &case[..nl];
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if let Some((fields, next)) = fast {
                assert_eq!(Ok(fields), parse_line_record(line), "{case:?}");
                assert_eq!(next, (nl + 1).min(case.len()), "{case:?}");
            }
            // Also at the end of a longer buffer and in the middle of one.
            let mut long = vec![b'#'; 100];
            long.extend_from_slice(case);
            assert_eq!(fast_line_record(&long, 100).map(|f| f.0), fast.map(|f| f.0));
            long.extend_from_slice(&[b'#'; 100]);
            if case.ends_with(b"\n") {
                assert_eq!(fast_line_record(&long, 100).map(|f| f.0), fast.map(|f| f.0));
            }
        }
        assert!(fast_line_record(b"1a2b 10 42 3\n", 0).is_some());
    }

    #[test]
    fn lines_gap_and_overlap() {
        let mut tmp = vec![
            TmpLine {
                start: 10,
                end: 20,
                line: 2,
                file: 0,
            },
            TmpLine {
                start: 0,
                end: 5,
                line: 1,
                file: 0,
            },
            TmpLine {
                start: 10,
                end: 12,
                line: 9,
                file: 0,
            },
        ];
        let mut out = Vec::new();
        finalize_lines(&mut tmp, 30, &mut out);
        let got: Vec<(u32, u32, u32)> = out.iter().map(|l| (l.rel, l.line, l.file)).collect();
        assert_eq!(got, vec![(0, 1, 0), (5, 0, GAP), (10, 2, 0), (20, 0, GAP)]);
    }

    #[test]
    fn overlapping_lines_first_in_file_order_wins() {
        // testproj-inlines.sym: `7a7a f 7 2` then, later in the file, `7a82 5 5 2`.
        let mut tmp = vec![
            TmpLine {
                start: 0x3a,
                end: 0x49,
                line: 7,
                file: 2,
            },
            TmpLine {
                start: 0x49,
                end: 0x7a,
                line: 392,
                file: 1,
            },
            TmpLine {
                start: 0x42,
                end: 0x47,
                line: 5,
                file: 2,
            },
            TmpLine {
                start: 0x30,
                end: 0x3c,
                line: 9,
                file: 2,
            },
        ];
        let mut out = Vec::new();
        finalize_lines(&mut tmp, 0x85, &mut out);
        let got: Vec<(u32, u32, u32)> = out.iter().map(|l| (l.rel, l.line, l.file)).collect();
        assert_eq!(
            got,
            vec![(0x30, 9, 2), (0x3a, 7, 2), (0x49, 392, 1), (0x7a, 0, GAP)]
        );
    }
}
