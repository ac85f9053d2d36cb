//! A deterministic generator of libxul-scale Breakpad `.sym` files.
//!
//! The shape follows real dump_syms output for Firefox's libxul: MODULE, INFO CODE_ID, INFO GENERATOR; a FILE table (thousands of
//! paths, mostly Mozilla-style `hg:` paths); an INLINE_ORIGIN table (tens of thousands of
//! 40-200 byte C++ names); then FUNC blocks in address order, each followed by its INLINE
//! records (about 30% of functions carry a tree up to depth 3, written depth-first as
//! dump_syms does) and ~50 contiguous line records of a few to a few dozen bytes; 2% of
//! FUNCs are `FUNC m`; about 5% of functions are preceded by a PUBLIC-only gap; the
//! functions are 16-byte aligned, so there are small uncovered gaps between them; a
//! STACK CFI section (~10% of the bytes) closes the file. 300,000 functions make ~420 MB.
//!
//! Everything comes from one seeded [`Rng`] stream, so the same options always give the
//! same bytes. The output is streamed through a `BufWriter`: the only memory kept is the
//! `(address, size)` of each FUNC for the CFI section at the end (16 bytes per function).

use std::io::{self, Write};

use crate::rng::Rng;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Number of FUNC records.
    pub funcs: u64,
    /// PRNG seed.
    pub seed: u64,
    /// FILE records (default: `funcs / 75`, at least 20).
    pub files: Option<u64>,
    /// INLINE_ORIGIN records (default: `funcs / 10`, at least 100).
    pub origins: Option<u64>,
}

/// Bytes and records written, per record kind.
#[derive(Debug, Clone, Default)]
pub struct GenStats {
    /// Total bytes.
    pub bytes: u64,
    /// MODULE and INFO bytes.
    pub header_bytes: u64,
    /// FILE records and bytes.
    pub files: (u64, u64),
    /// INLINE_ORIGIN records and bytes.
    pub origins: (u64, u64),
    /// FUNC records (all), `FUNC m` records, FUNC bytes.
    pub funcs: (u64, u64, u64),
    /// INLINE records and bytes, and the functions that have an inline tree.
    pub inlines: (u64, u64, u64),
    /// Line records and bytes.
    pub lines: (u64, u64),
    /// PUBLIC records and bytes.
    pub publics: (u64, u64),
    /// STACK CFI INIT + STACK CFI records and bytes.
    pub cfi: (u64, u64),
}

impl GenStats {
    /// A short human-readable breakdown.
    pub fn summary(&self) -> String {
        let pct = |b: u64| 100.0 * b as f64 / self.bytes.max(1) as f64;
        format!(
            "{:.1} MB: FILE {} ({:.1}%), INLINE_ORIGIN {} ({:.1}%), FUNC {} ({} m, {:.1}%), \
             INLINE {} in {} funcs ({:.1}%), line {} ({:.1}%), PUBLIC {} ({:.1}%), STACK CFI {} ({:.1}%)",
            self.bytes as f64 / 1e6,
            self.files.0,
            pct(self.files.1),
            self.origins.0,
            pct(self.origins.1),
            self.funcs.0,
            self.funcs.1,
            pct(self.funcs.2),
            self.inlines.0,
            self.inlines.2,
            pct(self.inlines.1),
            self.lines.0,
            pct(self.lines.1),
            self.publics.0,
            pct(self.publics.1),
            self.cfi.0,
            pct(self.cfi.1),
        )
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[inline]
fn push_hex(v: &mut Vec<u8>, mut x: u64) {
    let mut tmp = [0u8; 16];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = HEX[(x & 15) as usize];
        x >>= 4;
        if x == 0 {
            break;
        }
    }
    v.extend_from_slice(&tmp[i..]);
}

#[inline]
fn push_dec(v: &mut Vec<u8>, mut x: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    v.extend_from_slice(&tmp[i..]);
}

const NAMESPACES: &[&str] = &[
    "mozilla",
    "dom",
    "js",
    "jit",
    "gfx",
    "layers",
    "net",
    "ipc",
    "widget",
    "image",
    "media",
    "a11y",
    "xpc",
    "layout",
    "wr",
    "style",
    "detail",
    "gc",
    "frontend",
    "wasm",
    "webgpu",
    "extensions",
    "storage",
    "intl",
    "places",
    "glean",
    "webrtc",
    "quota",
    "binding_detail",
    "loader",
];
const CLASS_PREFIXES: &[&str] = &[
    "ns",
    "HTML",
    "Js",
    "Gfx",
    "Async",
    "Shared",
    "Remote",
    "Content",
    "Base",
    "CSS",
    "SVG",
    "WebGL",
    "Http",
    "Cache",
    "Media",
    "Layer",
    "Frame",
    "Event",
    "Display",
    "Paint",
    "Script",
    "Worker",
    "Compositor",
    "Text",
];
const CLASS_CORES: &[&str] = &[
    "Element",
    "Frame",
    "Listener",
    "Manager",
    "Service",
    "Channel",
    "Parent",
    "Child",
    "Builder",
    "Context",
    "Runnable",
    "Observer",
    "Stream",
    "Buffer",
    "Surface",
    "Texture",
    "Allocator",
    "Tracker",
    "Resolver",
    "Promise",
    "Document",
    "Window",
    "Node",
    "Selection",
    "Range",
    "Request",
    "Table",
    "Cursor",
    "Zone",
];
const METHODS: &[&str] = &[
    "Init",
    "Run",
    "Shutdown",
    "HandleEvent",
    "Notify",
    "GetValue",
    "SetValue",
    "Dispatch",
    "Process",
    "Update",
    "Invalidate",
    "Flush",
    "Reflow",
    "Paint",
    "Resolve",
    "Reject",
    "Traverse",
    "Trace",
    "Finalize",
    "Create",
    "Destroy",
    "OnStartRequest",
    "OnDataAvailable",
    "Observe",
    "Call",
    "operator()",
    "operator=",
    "BuildDisplayList",
    "AppendChild",
    "MaybeFireEvent",
    "EnsureInitialized",
    "RecvMessage",
    "SendReply",
];
const TEMPLATES: &[(&str, &str)] = &[
    ("RefPtr<", ">"),
    ("nsTArray<", ">"),
    ("mozilla::UniquePtr<", ", mozilla::DefaultDelete<void> >"),
    ("already_AddRefed<", ">"),
    ("mozilla::Maybe<", ">"),
    ("nsCOMPtr<", ">"),
    ("mozilla::Span<", " const, 18446744073709551615ul>"),
    ("std::vector<", ", std::allocator<void> >"),
];
const PARAMS: &[&str] = &[
    "int",
    "unsigned int",
    "bool",
    "double",
    "char16_t const*",
    "nsTSubstring<char> const&",
    "nsTSubstring<char16_t> const&",
    "JSContext*",
    "JS::Handle<JS::Value>",
    "JS::MutableHandle<JSObject*>",
    "mozilla::ErrorResult&",
    "unsigned long",
    "void*",
    "nsIPrincipal*",
    "mozilla::dom::CallerType",
    "mozilla::TimeStamp const&",
    "nsresult",
];
const DIRS: &[&str] = &[
    "dom/base",
    "dom/media",
    "dom/html",
    "js/src/jit",
    "js/src/gc",
    "js/src/vm",
    "js/src/frontend",
    "gfx/layers",
    "gfx/2d",
    "gfx/wr/webrender/src",
    "layout/generic",
    "layout/style",
    "netwerk/protocol/http",
    "netwerk/base",
    "ipc/glue",
    "widget/gtk",
    "image/decoders",
    "xpcom/threads",
    "xpcom/string",
    "servo/components/style",
    "toolkit/components/glean",
    "third_party/libwebrtc/modules",
    "security/manager/ssl",
    "storage",
];
const EXTS: &[&str] = &["cpp", "h", "rs", "cc", "c"];

fn push_class(v: &mut Vec<u8>, rng: &mut Rng) {
    v.extend_from_slice(rng.pick(CLASS_PREFIXES).as_bytes());
    v.extend_from_slice(rng.pick(CLASS_CORES).as_bytes());
    if rng.chance(200) {
        v.extend_from_slice(rng.pick(CLASS_CORES).as_bytes());
    }
}

/// Appends a C++-like function name of about `target` bytes (40-200).
fn push_name(v: &mut Vec<u8>, rng: &mut Rng, target: usize) {
    let start = v.len();
    for _ in 0..1 + rng.below(2) {
        v.extend_from_slice(rng.pick(NAMESPACES).as_bytes());
        v.extend_from_slice(b"::");
    }
    push_class(v, rng);
    if rng.chance(350) {
        let (open, close) = *rng.pick(TEMPLATES);
        v.push(b'<');
        v.extend_from_slice(open.as_bytes());
        v.extend_from_slice(b"mozilla::dom::");
        push_class(v, rng);
        v.extend_from_slice(close.as_bytes());
        v.push(b'>');
    }
    v.extend_from_slice(b"::");
    v.extend_from_slice(rng.pick(METHODS).as_bytes());
    v.push(b'(');
    let mut first = true;
    loop {
        let p = rng.pick(PARAMS).as_bytes();
        if !first && v.len() - start + p.len() + 2 > target {
            break;
        }
        if !first {
            v.extend_from_slice(b", ");
        }
        v.extend_from_slice(p);
        first = false;
    }
    v.push(b')');
    if rng.chance(300) {
        v.extend_from_slice(b" const");
    }
}

fn push_path(v: &mut Vec<u8>, rng: &mut Rng, id: u64) {
    let dir = rng.pick(DIRS);
    let roll = rng.below(10);
    if roll < 7 {
        v.extend_from_slice(b"hg:hg.mozilla.org/mozilla-central:");
        v.extend_from_slice(dir.as_bytes());
        v.push(b'/');
        push_class(v, rng);
        push_dec(v, id);
        v.push(b'.');
        v.extend_from_slice(rng.pick(EXTS).as_bytes());
        v.extend_from_slice(b":3a9d5c0f81e2b44c1d7f9e0a6b3c2d1e4f5a6b7c");
    } else if roll < 9 {
        v.extend_from_slice(b"/builds/worker/workspace/obj-build/dist/include/mozilla/");
        push_class(v, rng);
        push_dec(v, id);
        v.extend_from_slice(b".h");
    } else {
        v.extend_from_slice(b"/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/");
        v.extend_from_slice(dir.rsplit('/').next().unwrap_or("lib").as_bytes());
        push_dec(v, id);
        v.extend_from_slice(b".rs");
    }
}

/// A FUNC under construction: its line-record offsets, for the inline tree.
struct FuncCtx {
    addr: u64,
    /// Offsets of the line-record boundaries from the FUNC start: `bounds[0] == 0`, the
    /// last is the FUNC size.
    bounds: Vec<u64>,
}

struct Gen<W: Write> {
    out: io::BufWriter<W>,
    rng: Rng,
    line: Vec<u8>,
    stats: GenStats,
    files: u64,
    origins: u64,
}

impl<W: Write> Gen<W> {
    fn emit(&mut self) -> io::Result<u64> {
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        let n = self.line.len() as u64;
        self.stats.bytes += n;
        self.line.clear();
        Ok(n)
    }

    /// Writes the INLINE records of one subtree (depth-first, as dump_syms does) whose
    /// ranges lie within line boundaries `lo..=hi`, splitting it into `parts` siblings.
    fn inline_level(
        &mut self,
        f: &FuncCtx,
        depth: u64,
        lo: usize,
        hi: usize,
        parts: u64,
    ) -> io::Result<()> {
        if hi <= lo {
            return Ok(());
        }
        let span = (hi - lo) as u64;
        let parts = parts.min(span);
        // Sibling k owns boundaries [lo + span*k/parts, lo + span*(k+1)/parts].
        for k in 0..parts {
            let a = lo + (span * k / parts) as usize;
            let b = lo + (span * (k + 1) / parts) as usize;
            if b <= a {
                continue;
            }
            // A sub-range of at least one line record.
            let s = a + self.rng.below((b - a) as u64) as usize;
            let e = s + 1 + self.rng.below((b - s) as u64) as usize;
            let (call_line, call_file, origin) = (
                self.rng.range(1, 6000),
                self.rng.below(self.files),
                self.rng.below(self.origins),
            );
            self.line.extend_from_slice(b"INLINE ");
            push_dec(&mut self.line, depth);
            self.line.push(b' ');
            push_dec(&mut self.line, call_line);
            self.line.push(b' ');
            push_dec(&mut self.line, call_file);
            self.line.push(b' ');
            push_dec(&mut self.line, origin);
            // One range usually; sometimes two with a hole (the compiler split the call).
            let split = e - s >= 3 && self.rng.chance(100);
            let ranges: [(usize, usize); 2] = if split {
                [(s, s + 1), (s + 2, e)]
            } else {
                [(s, e), (0, 0)]
            };
            for &(rs, re) in ranges.iter().filter(|r| r.1 > r.0) {
                self.line.push(b' ');
                push_hex(&mut self.line, f.addr + f.bounds[rs]);
                self.line.push(b' ');
                push_hex(&mut self.line, f.bounds[re] - f.bounds[rs]);
            }
            let n = self.emit()?;
            self.stats.inlines.0 += 1;
            self.stats.inlines.1 += n;
            if depth < 2 && self.rng.chance(550) {
                let parts = 1 + self.rng.below(2);
                self.inline_level(f, depth + 1, s, e, parts)?;
            }
        }
        Ok(())
    }
}

/// Writes a `.sym` file for `opts` to `out`.
pub fn generate<W: Write>(opts: &GenOptions, out: W) -> io::Result<GenStats> {
    let files = opts.files.unwrap_or((opts.funcs / 75).max(20)).max(1);
    let origins = opts.origins.unwrap_or((opts.funcs / 10).max(100)).max(1);
    let mut g = Gen {
        out: io::BufWriter::with_capacity(1 << 20, out),
        rng: Rng::new(opts.seed),
        line: Vec::with_capacity(4096),
        stats: GenStats::default(),
        files,
        origins,
    };

    // Header: a debug id and build id derived from the seed.
    let (id_hi, id_lo) = (g.rng.next_u64(), g.rng.next_u64());
    g.line.extend_from_slice(b"MODULE Linux x86_64 ");
    g.line
        .extend_from_slice(format!("{id_hi:016X}{id_lo:016X}0 libxul.so").as_bytes());
    g.stats.header_bytes += g.emit()?;
    let code_id = format!(
        "INFO CODE_ID {:016X}{:016X}{:08X}",
        id_hi.swap_bytes(),
        id_lo,
        g.rng.next_u64() as u32
    );
    g.line.extend_from_slice(code_id.as_bytes());
    g.stats.header_bytes += g.emit()?;
    g.line
        .extend_from_slice(b"INFO GENERATOR mozilla/dump_syms 2.3.9");
    g.stats.header_bytes += g.emit()?;

    for id in 0..files {
        g.line.extend_from_slice(b"FILE ");
        push_dec(&mut g.line, id);
        g.line.push(b' ');
        push_path(&mut g.line, &mut g.rng, id);
        g.stats.files.0 += 1;
        g.stats.files.1 += g.emit()?;
    }
    for id in 0..origins {
        g.line.extend_from_slice(b"INLINE_ORIGIN ");
        push_dec(&mut g.line, id);
        g.line.push(b' ');
        let target = g.rng.range(40, 200) as usize;
        push_name(&mut g.line, &mut g.rng, target);
        g.stats.origins.0 += 1;
        g.stats.origins.1 += g.emit()?;
    }

    let mut funcs: Vec<(u64, u64)> = Vec::with_capacity(opts.funcs as usize);
    let mut f = FuncCtx {
        addr: 0x1000,
        bounds: Vec::with_capacity(128),
    };
    let mut addr: u64 = 0x1000;
    for _ in 0..opts.funcs {
        // A PUBLIC-only gap: code with no debug info (assembly, PLT, a stripped library).
        if g.rng.chance(50) {
            for _ in 0..1 + g.rng.below(2) {
                g.line.extend_from_slice(b"PUBLIC ");
                push_hex(&mut g.line, addr);
                g.line.extend_from_slice(b" 0 ");
                let target = g.rng.range(20, 80) as usize;
                push_name(&mut g.line, &mut g.rng, target);
                g.stats.publics.0 += 1;
                g.stats.publics.1 += g.emit()?;
                addr += g.rng.range(0x10, 0x400);
            }
        }
        addr = (addr + 15) & !15;

        // Line records: a few bytes to a few dozen bytes each, ~50 per function.
        let nlines = g.rng.range(10, 96) as usize;
        f.addr = addr;
        f.bounds.clear();
        f.bounds.push(0);
        let mut size = 0u64;
        for _ in 0..nlines {
            size += if g.rng.chance(700) {
                g.rng.range(1, 8)
            } else {
                g.rng.range(8, 48)
            };
            f.bounds.push(size);
        }

        g.line.extend_from_slice(if g.rng.chance(20) {
            b"FUNC m "
        } else {
            b"FUNC "
        });
        if g.line.len() == 7 {
            g.stats.funcs.1 += 1;
        }
        push_hex(&mut g.line, addr);
        g.line.push(b' ');
        push_hex(&mut g.line, size);
        g.line.extend_from_slice(b" 0 ");
        let target = g.rng.range(40, 200) as usize;
        push_name(&mut g.line, &mut g.rng, target);
        g.stats.funcs.0 += 1;
        g.stats.funcs.2 += g.emit()?;

        if g.rng.chance(300) {
            g.stats.inlines.2 += 1;
            let parts = 1 + g.rng.below(3);
            g.inline_level(&f, 0, 0, nlines, parts)?;
        }

        let main_file = g.rng.below(files);
        let base_line = g.rng.range(1, 8000);
        for j in 0..nlines {
            g.line.reserve(64);
            push_hex(&mut g.line, addr + f.bounds[j]);
            g.line.push(b' ');
            push_hex(&mut g.line, f.bounds[j + 1] - f.bounds[j]);
            g.line.push(b' ');
            push_dec(&mut g.line, base_line + j as u64 / 2 + g.rng.below(24));
            g.line.push(b' ');
            let file = if g.rng.chance(800) {
                main_file
            } else {
                g.rng.below(files)
            };
            push_dec(&mut g.line, file);
            g.stats.lines.0 += 1;
            g.stats.lines.1 += g.emit()?;
        }
        funcs.push((addr, size));
        addr += size;
    }

    // STACK CFI: an INIT row per function and a few rule changes, as for x86-64 code.
    const REGS: &[&str] = &["$rbx", "$rbp", "$r12", "$r13", "$r14", "$r15"];
    for &(a, s) in &funcs {
        g.line.extend_from_slice(b"STACK CFI INIT ");
        push_hex(&mut g.line, a);
        g.line.push(b' ');
        push_hex(&mut g.line, s);
        g.line
            .extend_from_slice(b" .cfa: $rsp 8 + .ra: .cfa -8 + ^");
        g.stats.cfi.0 += 1;
        g.stats.cfi.1 += g.emit()?;
        let rows = g.rng.below(4);
        let mut off = 0;
        for k in 0..rows {
            off += g.rng.range(1, 4);
            if off >= s {
                break;
            }
            g.line.extend_from_slice(b"STACK CFI ");
            push_hex(&mut g.line, a + off);
            g.line.extend_from_slice(b" .cfa: $rsp ");
            push_dec(&mut g.line, 16 + 8 * k);
            g.line.extend_from_slice(b" + ");
            g.line.extend_from_slice(g.rng.pick(REGS).as_bytes());
            g.line.extend_from_slice(b": .cfa -");
            push_dec(&mut g.line, 16 + 8 * k);
            g.line.extend_from_slice(b" + ^");
            g.stats.cfi.0 += 1;
            g.stats.cfi.1 += g.emit()?;
        }
    }
    g.out.flush()?;
    Ok(g.stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> (Vec<u8>, GenStats) {
        let mut v = Vec::new();
        let stats = generate(
            &GenOptions {
                funcs: 2000,
                seed,
                files: None,
                origins: None,
            },
            &mut v,
        )
        .unwrap();
        (v, stats)
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(small(1).0, small(1).0);
        assert_ne!(small(1).0, small(2).0);
    }

    #[test]
    fn parses_cleanly_with_the_expected_shape() {
        let (bytes, stats) = small(5);
        assert_eq!(stats.bytes, bytes.len() as u64);
        let (index, report) = tecken_core::build_index(&bytes, &Default::default()).unwrap();
        assert!(report.parse.errors.is_empty(), "{:?}", report.parse.errors);
        assert_eq!(report.parse.funcs, 2000);
        assert_eq!(report.parse.line_records, stats.lines.0);
        assert_eq!(report.parse.inlines, stats.inlines.0);
        let (_, s0) = funcs_and_first(&bytes);
        let frame = index.lookup(s0).unwrap();
        assert_eq!(frame.function_offset, 0);
        // Roughly the README's proportions.
        let per_func = stats.lines.0 as f64 / 2000.0;
        assert!((40.0..60.0).contains(&per_func), "{per_func}");
        let cfi = stats.cfi.1 as f64 / stats.bytes as f64;
        assert!((0.07..0.13).contains(&cfi), "{cfi}");
        let with_inlines = stats.inlines.2 as f64 / 2000.0;
        assert!((0.25..0.35).contains(&with_inlines), "{with_inlines}");
    }

    fn funcs_and_first(bytes: &[u8]) -> (usize, u64) {
        let text = std::str::from_utf8(bytes).unwrap();
        let funcs: Vec<&str> = text.lines().filter(|l| l.starts_with("FUNC ")).collect();
        let first = funcs[0]
            .split(' ')
            .nth(if funcs[0].starts_with("FUNC m") { 2 } else { 1 })
            .unwrap();
        (funcs.len(), u64::from_str_radix(first, 16).unwrap())
    }
}
