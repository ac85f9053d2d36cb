//! Chunk parsing: the input is cut at `FUNC` lines into chunks that threads parse in turn,
//! each into compact per-function tables already in their final form (see [`super::tables`]),
//! with the FILE / INLINE_ORIGIN / PUBLIC / INFO records and a parse report of its own.

use super::fast_line::fast_line_record;
use super::tables::{finalize_inlines, finalize_lines, InlineOut, LineOut, TmpInline, TmpLine};
use super::{thread_count, PARALLEL_THRESHOLD};
use crate::error::{Error, ErrorKind, Result};
use crate::sym::{
    parse_file_or_origin, parse_func, parse_inline, parse_line_record, parse_public,
    parse_stack_cfi_init_raw, parse_stack_cfi_raw, parse_stack_win, rules_utf8, LineFields,
    ParseOptions, ParseReport, SymHeader, WinParsed,
};
use crate::unwind::WinKind;

/// Asks the kernel to back the unused capacity of `v` with 2 MB pages where it can
/// (`MADV_HUGEPAGE` on the 2 MB-aligned part): the line table of a large chunk is tens of
/// MB filled front to back once, and faulting it in 4 KB at a time cost more than the
/// parse of some records. Only advice: the contents and the allocation are unchanged, and
/// an error (no transparent huge pages) is ignored.
#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(v: &Vec<T>) {
    const HUGE: usize = 2 << 20;
    let start = v.as_ptr() as usize + v.len() * size_of::<T>();
    let end = v.as_ptr() as usize + v.capacity() * size_of::<T>();
    let (a, b) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    if b > a {
        // SAFETY: `a..b` lies inside `v`'s allocation, which is live for the call; the
        // advice changes neither its contents nor who may access it.
        unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_HUGEPAGE) };
    }
}

/// Chunks per parser thread (see `parse_chunks`).
const CHUNKS_PER_THREAD: usize = 8;
/// Deeper INLINE records than this are treated as malformed (real files reach ~50).
const MAX_INLINE_DEPTH: u32 = 1024;

#[derive(Clone, Copy)]
pub(super) struct FuncRec {
    pub(super) addr: u64,
    pub(super) size: u32,
    pub(super) multiple: bool,
    pub(super) name_off: usize,
    pub(super) name_len: u32,
    /// The name is valid UTF-8 (checked by the parser thread).
    pub(super) name_utf8: bool,
    pub(super) line_start: u32,
    pub(super) line_count: u32,
    pub(super) level_start: u32,
    pub(super) level_count: u16,
    pub(super) param_size: u32,
}

#[derive(Clone, Copy)]
pub(super) struct PubRec {
    pub(super) addr: u64,
    pub(super) multiple: bool,
    pub(super) param_size: u32,
    pub(super) name_off: usize,
    pub(super) name_len: u32,
    /// The name is valid UTF-8 (checked by the parser thread).
    pub(super) name_utf8: bool,
}

/// A `STACK CFI INIT` record; its deltas are `cfi_deltas[delta_start..][..delta_count]`.
#[derive(Clone, Copy)]
pub(super) struct CfiInitRec {
    pub(super) addr: u64,
    pub(super) size: u32,
    /// Index into the chunk's `rules`.
    pub(super) rules: u32,
    pub(super) delta_start: u32,
    pub(super) delta_count: u32,
}

/// A `STACK CFI` delta record.
#[derive(Clone, Copy)]
pub(super) struct CfiDeltaRec {
    pub(super) addr: u64,
    /// Index into the chunk's `rules`.
    pub(super) rules: u32,
}

/// A `STACK WIN` record of type 4 or 0.
#[derive(Clone, Copy)]
pub(super) struct WinRec {
    pub(super) kind: WinKind,
    pub(super) addr: u64,
    /// size, prologue, epilogue, parameter, saved registers, locals, max stack.
    pub(super) sizes: [u32; 7],
    /// FrameData: index into the chunk's `rules`; FPO: `allocates_base_pointer`.
    pub(super) program: u32,
}

/// A fast hasher for the rule strings (short, ASCII, hashed once per STACK line): a
/// word at a time, multiply-rotate. Not collision-resistant, which a per-build table of
/// a few thousand keys does not need.
#[derive(Default)]
pub(super) struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
        let tail = words.remainder();
        if tail.is_empty() {
            return;
        }
        // The last 8 bytes, overlapping the words already read, as one load: copying the
        // tail byte by byte into a word stalled the load that read it back (~25% of the
        // builder's rule-string lookups on a CFI-heavy file). The length is hashed before
        // the bytes, so overlapping keeps equal keys equal and different lengths apart.
        let last = match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
            Some(w) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(w);
                u64::from_le_bytes(a)
            }
            None => {
                let mut a = [0u8; 8];
                a[..tail.len()].copy_from_slice(tail);
                u64::from_le_bytes(a)
            }
        };
        self.0 = (self.0.rotate_left(5) ^ last).wrapping_mul(K);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by rule strings.
pub(super) type RuleMap<'a> =
    std::collections::HashMap<&'a [u8], u32, std::hash::BuildHasherDefault<WordHasher>>;

struct CurFunc {
    addr: u64,
    size: u32,
    param_size: u32,
    multiple: bool,
    name_off: usize,
    name_len: u32,
    /// The name is valid UTF-8 (checked by the parser thread).
    name_utf8: bool,
}

/// What one chunk of the input parsed into. Offsets are into the whole input; line numbers
/// are local to the chunk (the merge makes them absolute).
#[derive(Default)]
pub(super) struct Chunk {
    /// The FUNCs kept (size > 0), in file order; each names its slice of `lines`, `levels`.
    pub(super) funcs: Vec<FuncRec>,
    /// The PUBLICs, in file order.
    pub(super) publics: Vec<PubRec>,
    /// Every FUNC's line table in final form, one after the other.
    pub(super) lines: Vec<LineOut>,
    /// Every FUNC's inline ranges, grouped by level.
    pub(super) inlines: Vec<InlineOut>,
    /// `(first, count)` into `inlines` for each depth of each FUNC.
    pub(super) levels: Vec<(u32, u32)>,
    /// FILE records: (id, offset, length of the path).
    pub(super) files: Vec<(u32, usize, u32)>,
    /// INLINE_ORIGIN records: (id, offset, length of the name).
    pub(super) origins: Vec<(u32, usize, u32)>,
    /// The first MODULE record: (line number, header).
    pub(super) module: Option<(u64, SymHeader)>,
    /// INFO records: (offset, length) of the text after `INFO `.
    pub(super) infos: Vec<(usize, u32)>,
    /// STACK CFI INIT records, in file order.
    pub(super) cfi_inits: Vec<CfiInitRec>,
    /// STACK CFI delta records, each INIT's after one another.
    pub(super) cfi_deltas: Vec<CfiDeltaRec>,
    /// STACK WIN records of type 4 and 0, in file order.
    pub(super) wins: Vec<WinRec>,
    /// The chunk's distinct rule and program strings, in order of first appearance:
    /// (offset, length); the records above name them by index.
    pub(super) rules: Vec<(usize, u32)>,
    /// Record counts and malformed lines.
    pub(super) report: ParseReport,
    /// The first malformed line (local line number, reason), for strict mode.
    pub(super) first_error: Option<(u64, &'static str)>,
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
    /// Whether a STACK CFI delta here belongs to the last STACK CFI INIT: FUNC, PUBLIC and
    /// the other STACK records end an INIT's deltas, as FUNC and PUBLIC end a FUNC's
    /// line records (FILE, INLINE_ORIGIN and INFO records may come in between).
    cfi_open: bool,
    /// The chunk's rule strings, to their index in `out.rules`.
    rule_ids: RuleMap<'a>,
}

impl<'a> ChunkParser<'a> {
    /// The index of a rule string in the chunk's table, adding it when new. A string is
    /// checked to be UTF-8 once, when it is added (the table holds only checked strings).
    #[inline]
    fn rule_id(&mut self, bytes: &'a [u8]) -> Result<u32, &'static str> {
        if let Some(&id) = self.rule_ids.get(bytes) {
            return Ok(id);
        }
        rules_utf8(bytes)?;
        let id = self.out.rules.len() as u32;
        let off = self.base + self.offset_of(bytes);
        self.out.rules.push((off, bytes.len() as u32));
        self.rule_ids.insert(bytes, id);
        Ok(id)
    }

    /// A STACK line. A STACK record ends the current FUNC, as any record but a line or
    /// INLINE record does in `breakpad-symbols` (Breakpad's C++ keeps the FUNC open, but
    /// `dump_syms` never writes line records after STACK ones): so the parse can be split
    /// at STACK CFI INIT and STACK WIN lines too, and a CFI-heavy tail is parsed in
    /// parallel like the FUNCs.
    fn stack_record(&mut self, rest: &'a [u8], line_no: u64) {
        self.close_func();
        self.cur_dropped = false;
        if let Some(r) = rest.strip_prefix(b"CFI INIT ") {
            self.out.report.stack_cfi_init += 1;
            self.cfi_open = false;
            match parse_stack_cfi_init_raw(r).and_then(|(a, s, r)| Ok((a, s, self.rule_id(r)?))) {
                Ok((addr, size, rules)) => {
                    self.out.cfi_inits.push(CfiInitRec {
                        addr,
                        size,
                        rules,
                        delta_start: self.out.cfi_deltas.len() as u32,
                        delta_count: 0,
                    });
                    self.cfi_open = true;
                }
                Err(reason) => self.error(line_no, reason),
            }
        } else if let Some(r) = rest.strip_prefix(b"CFI ") {
            self.out.report.stack_cfi += 1;
            match parse_stack_cfi_raw(r) {
                Ok((addr, rules)) => {
                    if !self.cfi_open {
                        self.error(line_no, "STACK CFI outside a STACK CFI INIT");
                        return;
                    }
                    let rules = match self.rule_id(rules) {
                        Ok(id) => id,
                        Err(reason) => return self.error(line_no, reason),
                    };
                    if let Some(init) = self.out.cfi_inits.last_mut() {
                        init.delta_count += 1;
                    }
                    self.out.cfi_deltas.push(CfiDeltaRec { addr, rules });
                }
                // A malformed delta is skipped; the INIT keeps its other deltas.
                Err(reason) => self.error(line_no, reason),
            }
        } else if let Some(r) = rest.strip_prefix(b"WIN ") {
            self.out.report.stack_win += 1;
            self.cfi_open = false;
            match parse_stack_win(r) {
                Ok(WinParsed::Known(w)) => {
                    let program = match w.program_string {
                        // Checked as UTF-8 by the parser: a new program is checked again.
                        Some(p) => match self.rule_id(p.as_bytes()) {
                            Ok(id) => id,
                            Err(reason) => return self.error(line_no, reason),
                        },
                        None => u32::from(w.allocates_base_pointer),
                    };
                    self.out.wins.push(WinRec {
                        kind: w.kind,
                        addr: w.address,
                        sizes: [
                            w.size,
                            w.prologue_size,
                            w.epilogue_size,
                            w.parameter_size,
                            w.saved_register_size,
                            w.local_size,
                            w.max_stack_size,
                        ],
                        program,
                    });
                }
                Ok(WinParsed::Other) => {}
                Err(reason) => self.error(line_no, reason),
            }
        } else {
            self.cfi_open = false;
            self.error(line_no, "STACK: unknown kind");
        }
    }

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
            param_size: f.param_size,
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
            #[cfg(target_os = "linux")]
            advise_huge_pages(&self.out.lines);
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

    fn other_record(&mut self, line: &'a [u8], line_no: u64) {
        if let Some(rest) = line.strip_prefix(b"STACK ") {
            self.stack_record(rest, line_no);
            return;
        }
        self.other_symbol_record(line, line_no);
    }

    #[cold]
    fn other_symbol_record(&mut self, line: &'a [u8], line_no: u64) {
        if let Some(rest) = line.strip_prefix(b"FUNC ") {
            self.close_func();
            self.cfi_open = false;
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
                            param_size: f.param_size,
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
            self.cfi_open = false;
            self.cur_dropped = false;
            match parse_public(rest) {
                Ok(p) => self.out.publics.push(PubRec {
                    addr: p.address,
                    multiple: p.multiple,
                    param_size: p.param_size,
                    name_off: self.base + self.offset_of(p.name),
                    name_len: p.name.len() as u32,
                    name_utf8: std::str::from_utf8(p.name).is_ok(),
                }),
                Err(reason) => self.error(line_no, reason),
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

/// Whether a chunk may start at a line starting with `line`: a record that nothing before
/// it continues (a FUNC's line and INLINE records follow it, an INIT's deltas follow it).
#[inline]
fn starts_chunk(line: &[u8]) -> bool {
    line.starts_with(b"FUNC ")
        || line.starts_with(b"STACK CFI INIT ")
        || line.starts_with(b"STACK WIN ")
}

/// The start of the first line at or after `from` (not at `from` itself unless it is 0)
/// that may start a chunk.
fn next_chunk_start(input: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = memchr::memchr(b'\n', input.get(at..)?) {
        let s = at + i + 1;
        if starts_chunk(input.get(s..)?) {
            return Some(s);
        }
        at = s;
    }
    None
}

/// Splits `input` into at most `n` chunks that each start at a line beginning with `FUNC `,
/// `STACK CFI INIT ` or `STACK WIN ` (except the first).
fn split_chunks(input: &[u8], n: usize) -> Vec<(usize, usize)> {
    let mut bounds = vec![0usize];
    for k in 1..n {
        let target = input.len() * k / n;
        let from = (*bounds.last().unwrap_or(&0)).max(target);
        if from >= input.len() {
            break;
        }
        match next_chunk_start(input, from) {
            Some(i) => bounds.push(i),
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

pub(super) fn parse_chunks(input: &[u8], opts: &ParseOptions) -> Result<Vec<Chunk>> {
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
        cfi_open: false,
        rule_ids: RuleMap::default(),
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
        // And in the STACK records after the FUNCs, never before a delta.
        let text =
            b"MODULE a b C d\nFUNC 1 1 0 a\nSTACK CFI INIT 1 1 r\nSTACK CFI 1 r\nSTACK CFI 1 r\n\
STACK CFI INIT 2 1 r\nSTACK CFI 2 r\nSTACK WIN 4 1 1 0 0 0 0 0 0 1 p\nSTACK CFI INIT 3 1 r\n";
        let ranges = split_chunks(text, 8);
        assert!(ranges.len() > 3, "{ranges:?}");
        for &(s, _) in &ranges[1..] {
            assert!(
                starts_chunk(&text[s..]),
                "{:?}",
                String::from_utf8_lossy(&text[s..])
            );
        }
    }
}
