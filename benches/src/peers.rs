//! The three implementations behind one small interface each: build, warm lookup loop,
//! cold open + first lookup.
//!
//! Every lookup loop extracts the same information per address (function name, line,
//! file, and the whole inline chain) into a reused buffer, without allocating, and folds it
//! into a checksum so the optimizer cannot drop the work:
//!
//! - ours: [`Index::lookup_into`] with one reused [`Frame`];
//! - symbolic: `SymCache::lookup`, each `SourceLocation`'s function name, line and `File`
//!   (the raw path parts; Eliot additionally calls `File::full_path`, which allocates and
//!   cleans the path on every frame, so this is a lower bound of its cost);
//! - breakpad-symbols: `SymbolFile::fill_symbol` into a `FrameSymbolizer` that records
//!   string lengths instead of copying the names into `String`s, as `SimpleFrame` would.

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use breakpad_symbols::{FrameSymbolizer, SimpleModule, SymbolFile};
use symbolic_debuginfo::breakpad::BreakpadObject;
use symbolic_symcache::{SymCache, SymCacheConverter};
use tecken_core::{build_index, build_index_to_file, BuildOptions, Index};
use tecken_core::{Frame, LookupOptions};

/// The implementations compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impl {
    /// tecken-core `build_to_file` from a memory-mapped `.sym` (the intended path).
    OursFile,
    /// tecken-core in-memory `build` (the index is a heap `Vec`).
    OursMem,
    /// symbolic 13: `BreakpadObject` -> `SymCacheConverter` -> `serialize` into a `Vec`.
    Symbolic,
    /// breakpad-symbols 0.27: `SymbolFile::from_bytes`.
    Breakpad,
    /// Not a build: the floor under `OursFile`, the index's bytes (already built, in
    /// memory) written to a new file, synced and renamed, with no parse.
    WriteFloor,
}

impl Impl {
    /// Column label.
    pub fn label(self) -> &'static str {
        match self {
            Impl::OursFile => "ours (to file)",
            Impl::OursMem => "ours (in memory)",
            Impl::Symbolic => "symbolic",
            Impl::Breakpad => "breakpad-symbols",
            Impl::WriteFloor => "floor: write + fsync + rename",
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Builds `sym` into the index file `out`; returns the index size.
#[inline(never)]
pub fn build_ours_file(sym: &[u8], out: &Path) -> Result<u64, String> {
    build_index_to_file(sym, out, &BuildOptions::default())
        .map(|r| r.index_bytes)
        .map_err(err)
}

/// Builds `sym` into an in-memory index; returns it (dropped by the caller, untimed).
#[inline(never)]
pub fn build_ours_mem(sym: &[u8]) -> Result<Index, String> {
    build_index(sym, &BuildOptions::default())
        .map(|(index, _)| index)
        .map_err(err)
}

/// Converts `sym` into a serialized SymCache, the way Eliot does.
#[inline(never)]
pub fn build_symbolic(sym: &[u8]) -> Result<Vec<u8>, String> {
    let object = BreakpadObject::parse(sym).map_err(err)?;
    let mut converter = SymCacheConverter::new();
    converter.process_object(&object).map_err(err)?;
    let mut out = Vec::new();
    converter.serialize(&mut out).map_err(err)?;
    Ok(out)
}

/// Parses `sym` with breakpad-symbols (its only form: there is no serialized one).
#[inline(never)]
pub fn build_breakpad(sym: &[u8]) -> Result<SymbolFile, String> {
    SymbolFile::from_bytes(sym).map_err(err)
}

/// Writes `bytes` to a new file beside `out`, syncs it and renames it to `out`: what
/// storing an index durably costs without building it.
#[inline(never)]
pub fn write_floor(bytes: &[u8], out: &Path) -> Result<(), String> {
    use std::io::Write;
    let tmp = out.with_extension("floor-tmp");
    let mut f = File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, out).map_err(err)
}

/// Result of a lookup loop: hits and a checksum of everything read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopResult {
    /// Addresses that resolved to a symbol.
    pub hits: u64,
    /// Sum over the frames read; only there to keep the work observable.
    pub checksum: u64,
}

impl LoopResult {
    /// Counts a hit and folds what a lookup of ours read into the checksum.
    #[inline(always)]
    fn fold(&mut self, frame: &Frame<'_>) {
        self.hits += 1;
        self.checksum = self
            .checksum
            .wrapping_add(frame.function.len() as u64)
            .wrapping_add(u64::from(frame.line.unwrap_or(0)))
            .wrapping_add(frame.file.map_or(0, |f| f.path.len() as u64));
        for i in &frame.inlines {
            self.checksum = self
                .checksum
                .wrapping_add(i.function.len() as u64 + u64::from(i.line.unwrap_or(0)));
        }
    }
}

/// Looks every address up in our index.
#[inline(never)]
pub fn lookup_ours(index: &Index, addrs: &[u64]) -> LoopResult {
    let opts = LookupOptions::default();
    let mut frame = Frame::empty();
    let mut r = LoopResult::default();
    for &a in addrs {
        if index.lookup_into(black_box(a), &opts, &mut frame) {
            r.fold(&frame);
        }
    }
    black_box(r)
}

/// Looks every address up in our index with one [`Index::lookup_each`] call (pipelined:
/// the next addresses' memory reads overlap this one's), reading the same as
/// [`lookup_ours`].
#[inline(never)]
pub fn lookup_ours_each(index: &Index, addrs: &[u64]) -> LoopResult {
    let opts = LookupOptions::default();
    let mut frame = Frame::empty();
    let mut r = LoopResult::default();
    index.lookup_each(black_box(addrs), &opts, &mut frame, |_, found| {
        if let Some(frame) = found {
            r.fold(frame);
        }
    });
    black_box(r)
}

/// Floor: only our search for the covering interval (no record read).
#[inline(never)]
pub fn floor_search(index: &Index, addrs: &[u64]) -> LoopResult {
    let mut r = LoopResult::default();
    for &a in addrs {
        if let Some(i) = index.floor_search(black_box(a)) {
            r.hits += 1;
            r.checksum = r.checksum.wrapping_add(i as u64);
        }
    }
    black_box(r)
}

/// Floor: our search and the record header (the covering function's start, nothing else).
#[inline(never)]
pub fn floor_record(index: &Index, addrs: &[u64]) -> LoopResult {
    let mut r = LoopResult::default();
    for &a in addrs {
        if let Some(s) = index.floor_record(black_box(a)) {
            r.hits += 1;
            r.checksum = r.checksum.wrapping_add(s);
        }
    }
    black_box(r)
}

/// Floor of any layout: per address, two dependent reads of random cache lines of `bytes`
/// (the index file's mapping), the second's position depending on the first's value, as
/// finding a function's block and then its record must be.
#[inline(never)]
pub fn floor_two_reads(bytes: &[u8], addrs: &[u64]) -> LoopResult {
    let lines = (bytes.len() / 64).max(1) as u64;
    let mix = |x: u64| x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    let read = |line: u64| -> u64 {
        let at = (line % lines) as usize * 64;
        bytes
            .get(at..at + 8)
            .map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
    };
    let mut r = LoopResult::default();
    for &a in addrs {
        let v = read(mix(black_box(a)));
        // `| 1` keeps the dependency even where the first read gives zero.
        let w = read(mix(a ^ (v | 1)));
        r.hits += 1;
        r.checksum = r.checksum.wrapping_add(w);
    }
    black_box(r)
}

/// Looks every address up in a SymCache, collecting the whole inline chain.
#[inline(never)]
pub fn lookup_symbolic(cache: &SymCache<'_>, addrs: &[u64]) -> LoopResult {
    type Loc<'d> = (&'d str, u32, Option<symbolic_symcache::File<'d>>);
    let mut frames: Vec<Loc<'_>> = Vec::with_capacity(64);
    let mut r = LoopResult::default();
    for &a in addrs {
        frames.clear();
        frames.extend(
            cache
                .lookup(black_box(a))
                .map(|l| (l.function().name(), l.line(), l.file())),
        );
        if !frames.is_empty() {
            r.hits += 1;
            for (name, line, file) in &frames {
                r.checksum = r
                    .checksum
                    .wrapping_add(name.len() as u64 + u64::from(*line) + u64::from(file.is_some()));
            }
        }
    }
    black_box(r)
}

/// A `FrameSymbolizer` that records string lengths instead of copying the strings.
#[derive(Debug, Default)]
struct PtrFrame {
    instruction: u64,
    function_len: usize,
    line: u32,
    file_len: usize,
    inlines: Vec<(usize, u32)>,
}

impl FrameSymbolizer for PtrFrame {
    fn get_instruction(&self) -> u64 {
        self.instruction
    }
    fn set_function(&mut self, name: &str, _base: u64, _parameter_size: u32) {
        self.function_len = name.len().max(1);
    }
    fn set_source_file(&mut self, file: &str, line: u32, _base: u64) {
        self.file_len = file.len();
        self.line = line;
    }
    fn add_inline_frame(&mut self, name: &str, file: Option<&str>, line: Option<u32>) {
        self.inlines
            .push((name.len() + file.map_or(0, str::len), line.unwrap_or(0)));
    }
}

/// Looks every address up with breakpad-symbols.
#[inline(never)]
pub fn lookup_breakpad(sym: &SymbolFile, addrs: &[u64]) -> LoopResult {
    let module = SimpleModule::default();
    let mut f = PtrFrame {
        inlines: Vec::with_capacity(64),
        ..PtrFrame::default()
    };
    let mut r = LoopResult::default();
    for &a in addrs {
        f.instruction = black_box(a);
        f.function_len = 0;
        f.line = 0;
        f.file_len = 0;
        f.inlines.clear();
        sym.fill_symbol(&module, &mut f);
        if f.function_len != 0 {
            r.hits += 1;
            r.checksum = r
                .checksum
                .wrapping_add((f.function_len + f.file_len) as u64 + u64::from(f.line));
            for &(len, line) in &f.inlines {
                r.checksum = r.checksum.wrapping_add(len as u64 + u64::from(line));
            }
        }
    }
    black_box(r)
}

/// The outer function name and inline depth each implementation answers, for agreement.
pub type Answer = Option<(String, usize)>;

/// Our answer for `addr`.
pub fn answer_ours(index: &Index, addr: u64) -> Answer {
    index
        .lookup(addr)
        .map(|f| (f.function.to_string(), f.inlines.len()))
}

/// symbolic's answer for `addr` (its last location is the outer function).
pub fn answer_symbolic(cache: &SymCache<'_>, addr: u64) -> Answer {
    let locs: Vec<_> = cache.lookup(addr).collect();
    locs.last()
        .map(|l| (l.function().name().to_string(), locs.len() - 1))
}

#[derive(Default)]
struct NameFrame {
    instruction: u64,
    function: Option<String>,
    inlines: usize,
}

impl FrameSymbolizer for NameFrame {
    fn get_instruction(&self) -> u64 {
        self.instruction
    }
    fn set_function(&mut self, name: &str, _base: u64, _parameter_size: u32) {
        self.function = Some(name.to_string());
    }
    fn set_source_file(&mut self, _file: &str, _line: u32, _base: u64) {}
    fn add_inline_frame(&mut self, _name: &str, _file: Option<&str>, _line: Option<u32>) {
        self.inlines += 1;
    }
}

/// breakpad-symbols' answer for `addr`.
pub fn answer_breakpad(sym: &SymbolFile, addr: u64) -> Answer {
    let mut f = NameFrame {
        instruction: addr,
        ..NameFrame::default()
    };
    sym.fill_symbol(&SimpleModule::default(), &mut f);
    f.function.map(|n| (n, f.inlines))
}

/// Times of one cold open.
#[derive(Debug, Clone, Copy)]
pub struct ColdTimes {
    /// Opening (or, for breakpad-symbols, parsing) the file.
    pub open: Duration,
    /// The first lookup after that.
    pub first_lookup: Duration,
    /// Major page faults (reads from disk) during the open and during the lookup.
    pub major_faults: (u64, u64),
    /// Bytes the process read from the disk (`/proc/self/io` `read_bytes`, readahead
    /// included) during the open and during the lookup.
    pub disk_bytes: (u64, u64),
    /// Whether that lookup found a symbol.
    pub hit: bool,
}

/// Major page faults of this process so far: each is a read from disk through a mapping.
pub fn major_faults() -> u64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a properly sized, writable struct.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    ru.ru_majflt as u64
}

/// Bytes this process has read from storage (0 where `/proc/self/io` is unavailable).
pub fn disk_read_bytes() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("read_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Times `open`, then `lookup` on its result, counting major faults and disk reads of each
/// (the counters are read between the timed parts).
fn cold<T>(
    open: impl FnOnce() -> Result<T, String>,
    lookup: impl FnOnce(&T) -> bool,
) -> Result<ColdTimes, String> {
    let (f0, d0) = (major_faults(), disk_read_bytes());
    let t = Instant::now();
    let opened = open()?;
    let open_time = t.elapsed();
    let (f1, d1) = (major_faults(), disk_read_bytes());
    let t = Instant::now();
    let hit = black_box(lookup(&opened));
    let first_lookup = t.elapsed();
    let (f2, d2) = (major_faults(), disk_read_bytes());
    drop(opened);
    Ok(ColdTimes {
        open: open_time,
        first_lookup,
        major_faults: (f1 - f0, f2 - f1),
        disk_bytes: (d1.saturating_sub(d0), d2.saturating_sub(d1)),
        hit,
    })
}

/// Opens our index file and looks `addr` up.
#[inline(never)]
pub fn cold_ours(path: &Path, addr: u64) -> Result<ColdTimes, String> {
    cold(
        || Index::open(path).map_err(err),
        |index| index.lookup(addr).is_some(),
    )
}

/// Maps a SymCache file, parses its header and looks `addr` up.
#[inline(never)]
pub fn cold_symbolic(path: &Path, addr: u64) -> Result<ColdTimes, String> {
    cold(
        || {
            let file = File::open(path).map_err(err)?;
            // SAFETY: the benchmark's own file in its output directory; nothing modifies it
            // while it is mapped.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(err)?;
            // Parse now, as part of the open; the cache borrows the map, so parse again
            // (free: a header check) for the lookup.
            SymCache::parse(&map).map_err(err)?;
            Ok(map)
        },
        |map| SymCache::parse(map).is_ok_and(|cache| lookup_symbolic(&cache, &[addr]).hits > 0),
    )
}

/// Parses the `.sym` file (breakpad-symbols' only way to open one) and looks `addr` up.
#[inline(never)]
pub fn cold_breakpad(sym_path: &Path, addr: u64) -> Result<ColdTimes, String> {
    cold(
        || SymbolFile::from_file(sym_path).map_err(err),
        |sym| lookup_breakpad(sym, &[addr]).hits > 0,
    )
}
