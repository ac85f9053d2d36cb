//! Random `.sym` files against a naive reference resolver.
//!
//! The generator writes structurally varied files: FUNCs that overlap (in both file
//! orders), FUNCs of size 0, line records in random order with gaps, overlaps and ends
//! outside their FUNC, nested INLINE records with several ranges, PUBLICs anywhere (at FUNC
//! starts, inside FUNCs, at the same address twice), FILE and INLINE_ORIGIN records before
//! or after their users (and defined twice), STACK records between functions, everything
//! at addresses near 0, 4 GiB and the top of the 64-bit space.
//!
//! The reference resolver below is written from `shared/lookup-semantics.md` alone, with
//! linear scans and no precomputation, so it shares no code or structure with the index.
//! Where the contract is silent it follows Breakpad's range-map rule "the first record in
//! file order keeps the bytes it covers" (overlapping line records, a FILE or
//! INLINE_ORIGIN id defined twice, two PUBLICs at one address), which the index documents.
//! INLINE records are generated well nested (each range of a depth-d+1 record inside a
//! range of its depth-d parent, siblings disjoint), as compilers write them: the contract
//! does not define overlapping inline ranges at one depth.
//!
//! Then: the build is deterministic, a parallel build gives the same bytes as a
//! single-threaded one, and a memory-mapped index file answers like the in-memory one.

use std::io::Cursor;

use proptest::prelude::*;
use tecken_core::clean_path;
use tecken_core::ParseOptions;
use tecken_core::{build_index, build_index_to_file, build_index_to_writer, BuildOptions};
use tecken_core::{Frame, Index, LookupOptions, OwnedFrame, SymbolKind};

// ---------------------------------------------------------------------------------------
// A tiny deterministic PRNG (splitmix64), so that one proptest-chosen seed gives one file.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The model: what the generated file says, record by record.

#[derive(Debug, Clone)]
struct Line {
    addr: u64,
    size: u64,
    line: u32,
    file: u32,
}

#[derive(Debug, Clone)]
struct Inline {
    depth: u32,
    call_line: u32,
    call_file: u32,
    origin: u32,
    ranges: Vec<(u64, u64)>,
}

#[derive(Debug, Clone)]
struct Func {
    addr: u64,
    size: u64,
    multiple: bool,
    name: String,
    /// In file order.
    lines: Vec<Line>,
    inlines: Vec<Inline>,
}

#[derive(Debug, Clone)]
struct Public {
    addr: u64,
    multiple: bool,
    name: String,
}

/// The generated file: the text and, in file order, what it defines.
#[derive(Debug)]
struct Model {
    text: String,
    funcs: Vec<Func>,
    publics: Vec<Public>,
    files: Vec<(u32, String)>,
    origins: Vec<(u32, String)>,
    /// Interesting addresses to look up (boundaries of everything).
    probes: Vec<u64>,
}

/// Knobs for one generated file.
#[derive(Debug, Clone)]
struct Shape {
    seed: u64,
    base: u64,
    funcs: usize,
    publics: usize,
    files: u32,
    origins: u32,
}

/// Splits each of `parent` into pieces and deals them out to up to `kids` children (or to
/// nobody): each child gets disjoint ranges, all inside the parent's.
fn deal_ranges(rng: &mut Rng, parent: &[(u64, u64)], kids: usize) -> Vec<Vec<(u64, u64)>> {
    let mut out = vec![Vec::new(); kids];
    for &(start, size) in parent {
        if size == 0 {
            continue;
        }
        let mut cuts: Vec<u64> = (0..rng.below(4)).map(|_| start + rng.below(size)).collect();
        cuts.push(start);
        cuts.push(start + size);
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let who = rng.below(kids as u64 + 1) as usize;
            if who < kids {
                out[who].push((w[0], w[1] - w[0]));
            }
        }
    }
    out
}

fn gen_inlines(
    rng: &mut Rng,
    shape: &Shape,
    depth: u32,
    parent: &[(u64, u64)],
    out: &mut Vec<Inline>,
) {
    if depth > 4 {
        return;
    }
    let kids = rng.below(3) as usize + usize::from(depth == 0);
    for mut ranges in deal_ranges(rng, parent, kids) {
        if ranges.is_empty() {
            continue;
        }
        rng.shuffle(&mut ranges);
        let rec = Inline {
            depth,
            call_line: rng.below(6) as u32,
            call_file: rng.below(u64::from(shape.files) + 2) as u32,
            origin: rng.below(u64::from(shape.origins) + 2) as u32,
            ranges: ranges.clone(),
        };
        out.push(rec);
        gen_inlines(rng, shape, depth + 1, &ranges, out);
    }
}

fn generate(shape: &Shape) -> Model {
    const WINDOW: u64 = 0x400;
    let mut rng = Rng(shape.seed);
    let base = shape.base;
    let mut funcs = Vec::new();
    for i in 0..shape.funcs {
        // Some FUNCs start where an earlier one starts or ends, to make exact ties.
        let addr = match (rng.below(10), funcs.last()) {
            (0, Some(f)) => {
                let f: &Func = f;
                f.addr
            }
            (1, Some(f)) => f.addr + f.size,
            _ => base + rng.below(WINDOW),
        };
        let size = if rng.chance(10) {
            0
        } else {
            1 + rng.below(0x80)
        };
        let mut lines = Vec::new();
        for _ in 0..rng.below(8) {
            let start = (addr + rng.below(size + 0x20)).saturating_sub(0x10);
            lines.push(Line {
                addr: start,
                size: if rng.chance(5) {
                    0
                } else {
                    1 + rng.below(0x20)
                },
                line: rng.below(6) as u32,
                file: rng.below(u64::from(shape.files) + 2) as u32,
            });
        }
        let mut inlines = Vec::new();
        if size > 0 && rng.chance(60) {
            // Depth-0 ranges may stick out of the FUNC on both sides: they are clamped.
            let from = addr.saturating_sub(rng.below(8));
            let to = addr + size + rng.below(8);
            gen_inlines(&mut rng, shape, 0, &[(from, to - from)], &mut inlines);
        }
        let name = if rng.chance(20) {
            format!("ns::f{i}(int, char) const")
        } else {
            format!("f{i}")
        };
        funcs.push(Func {
            addr,
            size,
            multiple: rng.chance(15),
            name,
            lines,
            inlines,
        });
    }
    let mut publics = Vec::new();
    for i in 0..shape.publics {
        let addr = match (rng.below(6), funcs.is_empty()) {
            (0, false) => funcs[rng.below(funcs.len() as u64) as usize].addr,
            (1, false) => {
                let f = &funcs[rng.below(funcs.len() as u64) as usize];
                f.addr + f.size
            }
            (2, false) => {
                let f = &funcs[rng.below(funcs.len() as u64) as usize];
                f.addr + rng.below(f.size + 1)
            }
            (3, _) if !publics.is_empty() => {
                let p: &Public = &publics[rng.below(publics.len() as u64) as usize];
                p.addr
            }
            _ => base + rng.below(WINDOW + 0x80),
        };
        publics.push(Public {
            addr,
            multiple: rng.chance(15),
            name: format!("pub{i}"),
        });
    }
    let mut files: Vec<(u32, String)> = (0..shape.files)
        .map(|i| (i, format!("/src/d{i}/./file{i}.c")))
        .collect();
    if shape.files > 0 && rng.chance(30) {
        files.push((
            rng.below(u64::from(shape.files)) as u32,
            "/dup/defined_twice.c".to_owned(),
        ));
    }
    if rng.chance(20) {
        files.push((shape.files + 1, String::new())); // an empty path
    }
    let mut origins: Vec<(u32, String)> = (0..shape.origins)
        .map(|i| (i, format!("inl{i}<T>")))
        .collect();
    if shape.origins > 0 && rng.chance(30) {
        origins.push((
            rng.below(u64::from(shape.origins)) as u32,
            "origin_defined_twice".to_owned(),
        ));
    }
    rng.shuffle(&mut files);
    rng.shuffle(&mut origins);

    // Lay the records out: FUNC blocks in random order, each FUNC followed by its line and
    // INLINE records in random order; PUBLIC and STACK records between blocks; FILE and
    // INLINE_ORIGIN records anywhere, also inside a block.
    enum Piece {
        Block(usize),
        Public(usize),
        Stack(u64),
    }
    let mut pieces: Vec<Piece> = (0..funcs.len()).map(Piece::Block).collect();
    pieces.extend((0..publics.len()).map(Piece::Public));
    pieces.extend((0..rng.below(4)).map(|_| Piece::Stack(base + rng.below(WINDOW))));
    rng.shuffle(&mut pieces);
    let mut lines_out: Vec<String> = Vec::new();
    for piece in &pieces {
        match *piece {
            Piece::Block(i) => {
                let f = &funcs[i];
                let m = if f.multiple { "m " } else { "" };
                lines_out.push(format!("FUNC {m}{:x} {:x} 0 {}", f.addr, f.size, f.name));
                // Body records keep the line records' relative order (it decides overlaps);
                // INLINE records go anywhere among them.
                let mut body: Vec<String> = f
                    .lines
                    .iter()
                    .map(|l| format!("{:x} {:x} {} {}", l.addr, l.size, l.line, l.file))
                    .collect();
                for inl in &f.inlines {
                    let ranges: Vec<String> = inl
                        .ranges
                        .iter()
                        .map(|(a, s)| format!("{a:x} {s:x}"))
                        .collect();
                    let rec = format!(
                        "INLINE {} {} {} {} {}",
                        inl.depth,
                        inl.call_line,
                        inl.call_file,
                        inl.origin,
                        ranges.join(" ")
                    );
                    let at = rng.below(body.len() as u64 + 1) as usize;
                    body.insert(at, rec);
                }
                lines_out.extend(body);
            }
            Piece::Public(i) => {
                let p = &publics[i];
                let m = if p.multiple { "m " } else { "" };
                lines_out.push(format!("PUBLIC {m}{:x} 0 {}", p.addr, p.name));
            }
            Piece::Stack(a) => {
                lines_out.push(format!(
                    "STACK CFI INIT {a:x} 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^"
                ));
                lines_out.push(format!("STACK CFI {:x} .cfa: $rsp 16 +", a + 1));
            }
        }
    }
    // FILE / INLINE_ORIGIN records: anywhere after the MODULE/INFO header (a record between
    // a FUNC and its line records does not end the FUNC). Inserted in their list order, so
    // for an id defined twice the first in `files` is the first in the file.
    let mut defs: Vec<String> = files.iter().map(|(i, p)| format!("FILE {i} {p}")).collect();
    defs.extend(
        origins
            .iter()
            .map(|(i, n)| format!("INLINE_ORIGIN {i} {n}")),
    );
    let mut min_at = 0;
    for (k, d) in defs.into_iter().enumerate() {
        let at = min_at + rng.below((lines_out.len() - min_at) as u64 + 1) as usize;
        lines_out.insert(at, d);
        // Keep the definitions of one kind in order: the next one goes after this one.
        if k + 1 == files.len() {
            min_at = 0;
        } else {
            min_at = at + 1;
        }
    }
    let mut text = String::from("MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 gen.so\n");
    text.push_str("INFO CODE_ID 0123456789ABCDEF\n");
    for l in &lines_out {
        text.push_str(l);
        text.push('\n');
    }

    let mut probes = vec![
        0,
        1,
        u64::MAX,
        u64::MAX - 1,
        base.saturating_sub(1),
        base,
        1 << 32,
        (1 << 32) - 1,
    ];
    let mut around = |a: u64| {
        for d in [-1i64, 0, 1] {
            probes.push(a.wrapping_add(d as u64));
        }
    };
    for f in &funcs {
        around(f.addr);
        around(f.addr + f.size);
        for l in &f.lines {
            around(l.addr);
            around(l.addr + l.size);
        }
        for i in &f.inlines {
            for &(a, s) in &i.ranges {
                around(a);
                around(a + s);
            }
        }
    }
    for p in &publics {
        around(p.addr);
    }
    for _ in 0..64 {
        probes.push((base + rng.below(WINDOW + 0x100)).saturating_sub(0x10));
    }
    probes.sort_unstable();
    probes.dedup();
    // The model keeps FUNCs and PUBLICs in file order: "first in file order" rules use it.
    let funcs = pieces
        .iter()
        .filter_map(|p| {
            if let Piece::Block(i) = p {
                Some(funcs[*i].clone())
            } else {
                None
            }
        })
        .collect();
    let publics = pieces
        .iter()
        .filter_map(|p| {
            if let Piece::Public(i) = p {
                Some(publics[*i].clone())
            } else {
                None
            }
        })
        .collect();
    Model {
        text,
        funcs,
        publics,
        files,
        origins,
        probes,
    }
}

// ---------------------------------------------------------------------------------------
// The naive reference resolver.

/// A lookup result in plain owned values, comparable between the index and the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    function: String,
    address: u64,
    offset: u64,
    public: bool,
    multiple: bool,
    file: Option<String>,
    line: Option<u32>,
    /// Innermost first: (function, file, line).
    inlines: Vec<(String, Option<String>, Option<u32>)>,
}

fn from_frame(f: &Frame<'_>) -> Answer {
    for file in f
        .file
        .iter()
        .chain(f.inlines.iter().filter_map(|i| i.file.as_ref()))
    {
        assert_eq!(
            file.path,
            clean_path(file.raw),
            "cleaned path of {:?}",
            file.raw
        );
    }
    Answer {
        function: f.function.to_owned(),
        address: f.function_address,
        offset: f.function_offset,
        public: f.kind == SymbolKind::Public,
        multiple: f.multiple,
        file: f.file.map(|s| s.raw.to_owned()),
        line: f.line,
        inlines: f
            .inlines
            .iter()
            .map(|i| {
                (
                    i.function.to_owned(),
                    i.file.map(|s| s.raw.to_owned()),
                    i.line,
                )
            })
            .collect(),
    }
}

/// The first definition of `id` in file order, if any.
fn first_def(defs: &[(u32, String)], id: u32) -> Option<&str> {
    defs.iter().find(|(i, _)| *i == id).map(|(_, s)| s.as_str())
}

/// A source position as the contract shows it: an unknown or empty file and line 0 are
/// omitted.
fn position(m: &Model, file: u32, line: u32) -> (Option<String>, Option<u32>) {
    let file = first_def(&m.files, file)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    (file, (line != 0).then_some(line))
}

/// `[start, end)` of a record's range clamped to its FUNC, or `None` when nothing is left.
fn clamp(f: &Func, addr: u64, size: u64) -> Option<(u64, u64)> {
    let start = addr.max(f.addr);
    let end = addr.saturating_add(size).min(f.addr + f.size);
    (start < end).then_some((start, end))
}

/// The FUNCs that take part in lookups: size > 0, and not overlapping any FUNC accepted
/// before them in file order (the first in file order wins).
fn accepted(m: &Model) -> Vec<&Func> {
    let mut out: Vec<&Func> = Vec::new();
    for f in &m.funcs {
        if f.size == 0 {
            continue;
        }
        if out
            .iter()
            .any(|g| f.addr < g.addr + g.size && g.addr < f.addr + f.size)
        {
            continue;
        }
        out.push(f);
    }
    out
}

/// The line record answering for `a` inside `f`: `(line, file)`.
fn line_at(f: &Func, a: u64, strict: bool) -> Option<(u32, u32)> {
    let covering = |x: u64| {
        f.lines
            .iter()
            .find(|l| clamp(f, l.addr, l.size).is_some_and(|(s, e)| s <= x && x < e))
    };
    if let Some(l) = covering(a) {
        return Some((l.line, l.file));
    }
    if strict {
        return None;
    }
    // Between records: the previous one, i.e. the record covering the last covered byte
    // below `a`.
    let last_below = f
        .lines
        .iter()
        .filter_map(|l| clamp(f, l.addr, l.size))
        .filter(|&(s, _)| s < a)
        .map(|(_, e)| e - 1)
        .max()?;
    covering(last_below).map(|l| (l.line, l.file))
}

fn reference(m: &Model, a: u64, strict: bool) -> Option<Answer> {
    let funcs = accepted(m);
    if let Some(f) = funcs.iter().find(|f| f.addr <= a && a < f.addr + f.size) {
        let (line, file) = line_at(f, a, strict).unwrap_or((0, u32::MAX));
        let here = position(m, file, line);
        // The chain of inline records covering `a`, outermost (depth 0) first.
        let mut chain: Vec<&Inline> = Vec::new();
        for depth in 0.. {
            let found = f.inlines.iter().find(|i| {
                i.depth == depth
                    && i.ranges
                        .iter()
                        .any(|&(ra, rs)| clamp(f, ra, rs).is_some_and(|(s, e)| s <= a && a < e))
            });
            match found {
                Some(i) => chain.push(i),
                None => break,
            }
        }
        let mut inlines = Vec::new();
        let mut pos = here.clone();
        for i in chain.iter().rev() {
            let name = first_def(&m.origins, i.origin).unwrap_or("").to_owned();
            inlines.push((name, pos.0.clone(), pos.1));
            pos = position(m, i.call_file, i.call_line);
        }
        return Some(Answer {
            function: f.name.clone(),
            address: f.addr,
            offset: a - f.addr,
            public: false,
            multiple: f.multiple,
            file: pos.0,
            line: pos.1,
            inlines,
        });
    }
    let below = funcs.iter().filter(|f| f.addr <= a).map(|f| f.addr).max();
    let mut public: Option<&Public> = None;
    for p in &m.publics {
        if p.addr <= a && public.is_none_or(|q| p.addr > q.addr) {
            public = Some(p);
        }
    }
    let p = public?;
    if below.is_some_and(|b| p.addr <= b) {
        return None;
    }
    Some(Answer {
        function: p.name.clone(),
        address: p.addr,
        offset: a - p.addr,
        public: true,
        multiple: p.multiple,
        file: None,
        line: None,
        inlines: Vec::new(),
    })
}

fn build_bytes(text: &[u8], threads: usize) -> Vec<u8> {
    let opts = BuildOptions {
        parse: ParseOptions {
            threads,
            ..ParseOptions::default()
        },
    };
    let mut out = Cursor::new(Vec::new());
    build_index_to_writer(text, &mut out, &opts).expect("build");
    out.into_inner()
}

fn shape() -> impl Strategy<Value = Shape> {
    let base = prop_oneof![
        Just(0u64),
        Just(0x1000u64),
        Just(0xffff_fe00u64),      // FUNCs straddle 4 GiB
        Just(0x1_0000_0000u64),    // at 4 GiB
        Just(0x7fff_ffff_0000u64), // high user-space addresses
        Just(u64::MAX - 0x1000),   // the top of the address space
        (0u64..1 << 40),
    ];
    (any::<u64>(), base, 0usize..14, 0usize..8, 0u32..5, 0u32..5).prop_map(
        |(seed, base, funcs, publics, files, origins)| Shape {
            seed,
            base,
            funcs,
            publics,
            files,
            origins,
        },
    )
}

proptest! {
    // 256 cases by default (PROPTEST_CASES overrides it): ~1 s in a debug build.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn lookups_match_the_reference_resolver(shape in shape()) {
        let m = generate(&shape);
        let (index, report) = build_index(m.text.as_bytes(), &BuildOptions::default()).expect("build");
        prop_assert_eq!(report.parse.skipped, 0, "{:?}\n{}", report.parse.errors, m.text);
        for &a in &m.probes {
            for strict in [false, true] {
                let opts = LookupOptions { strict_lines: strict };
                let got = index.lookup_with(a, &opts).map(|f| from_frame(&f));
                let want = reference(&m, a, strict);
                prop_assert_eq!(got, want, "address {:#x}, strict_lines {}\n{}", a, strict, m.text);
            }
        }
        // Pipelined, all probes in one call (frames ahead in flight while one is answered):
        // the same answers, in order, each once.
        for strict in [false, true] {
            let opts = LookupOptions { strict_lines: strict };
            let mut frame = Frame::empty();
            let mut got = Vec::new();
            index.lookup_each(&m.probes, &opts, &mut frame, |k, f| got.push((k, f.map(from_frame))));
            let want: Vec<_> = m.probes.iter().enumerate().map(|(k, &a)| (k, reference(&m, a, strict))).collect();
            prop_assert_eq!(got, want, "lookup_each, strict_lines {}\n{}", strict, m.text);
        }
        // The same bytes on every build.
        prop_assert_eq!(build_bytes(m.text.as_bytes(), 1), build_bytes(m.text.as_bytes(), 1));
    }
}

// ---------------------------------------------------------------------------------------
// Parallel builds and mapped files

/// A file above the 4 MB parallel-parse threshold, with what makes chunk boundaries hard:
/// overlapping FUNCs far apart in the file, FILE / INLINE_ORIGIN records defined late and
/// twice, PUBLICs inside FUNCs, bad lines (whose line numbers must come out absolute).
fn big_sym() -> (Vec<u8>, Vec<u64>) {
    let mut rng = Rng(0x5eed);
    let mut s = String::from("MODULE windows x86_64 0123456789ABCDEF0123456789ABCDEF0 big.pdb\n");
    s.push_str("INFO CODE_ID 5E1C6F2A6B000 big.dll\n");
    let mut line_no = 2u64;
    let mut bad_lines = Vec::new();
    let push = |s: &mut String, text: String, line_no: &mut u64| {
        s.push_str(&text);
        s.push('\n');
        *line_no += 1;
    };
    let n = 48_000u64;
    for i in 0..n {
        let addr = 0x1000 + i * 0x100;
        push(
            &mut s,
            format!(
                "FUNC {addr:x} {:x} 0 big::function_{i}(int)",
                0x80 + rng.below(0x80)
            ),
            &mut line_no,
        );
        for k in 0..4 {
            push(
                &mut s,
                format!("{:x} {:x} {} {}", addr + k * 0x20, 0x18, 10 + k, i % 97),
                &mut line_no,
            );
        }
        if i % 3 == 0 {
            push(
                &mut s,
                format!(
                    "INLINE 0 {} {} {} {:x} 30 {:x} 8",
                    i % 50,
                    i % 97,
                    i % 31,
                    addr + 8,
                    addr + 0x60
                ),
                &mut line_no,
            );
            push(
                &mut s,
                format!(
                    "INLINE 1 7 {} {} {:x} 10",
                    i % 89,
                    (i + 1) % 31,
                    addr + 0x10
                ),
                &mut line_no,
            );
        }
        if i % 11 == 0 {
            push(
                &mut s,
                format!("PUBLIC {:x} 0 pub_{i}", addr + 0x40),
                &mut line_no,
            );
        }
        if i % 5000 == 17 {
            bad_lines.push(line_no + 1);
            push(&mut s, format!("FUNC {addr:x} zz 0 bad"), &mut line_no);
        }
        if i % 7000 == 3 {
            // Overlaps a FUNC thousands of lines (and likely a chunk) earlier.
            push(
                &mut s,
                format!(
                    "FUNC {:x} 40 0 late_overlap_{i}",
                    0x1000 + (i / 2) * 0x100 + 0x10
                ),
                &mut line_no,
            );
        }
    }
    for i in 0..97u64 {
        push(
            &mut s,
            format!("FILE {i} /src/dir{}/../file{i}.cpp", i % 7),
            &mut line_no,
        );
    }
    push(&mut s, "FILE 5 /defined/twice.cpp".to_owned(), &mut line_no);
    for i in 0..31u64 {
        push(
            &mut s,
            format!("INLINE_ORIGIN {i} inlined_{i}<T>"),
            &mut line_no,
        );
    }
    for i in 0..2000u64 {
        push(
            &mut s,
            format!(
                "STACK CFI INIT {:x} 80 .cfa: $rsp 8 + .ra: .cfa -8 + ^",
                0x1000 + i * 0x100
            ),
            &mut line_no,
        );
    }
    (s.into_bytes(), bad_lines)
}

#[test]
fn parallel_build_gives_the_same_index_bytes() {
    let (sym, bad_lines) = big_sym();
    assert!(
        sym.len() > 4 << 20,
        "the input must be above the parallel threshold: {} bytes",
        sym.len()
    );
    let one = build_bytes(&sym, 1);
    let two = build_bytes(&sym, 2);
    let four = build_bytes(&sym, 4);
    assert!(one == two, "threads=1 and threads=2 differ");
    assert!(one == four, "threads=1 and threads=4 differ");

    let index = Index::from_bytes(two).unwrap();
    let report = &index.meta().report;
    let got: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(got, bad_lines, "absolute line numbers across chunks");
    assert_eq!(report.overlapping_funcs, 7);
    assert_eq!(index.header().pe_name(), Some("big.dll"));
    let f = index.lookup(0x1000 + 4321 * 0x100 + 0x12).unwrap();
    assert_eq!(f.function, "big::function_4321(int)");
    assert_eq!(f.file.unwrap().path, format!("/src/file{}.cpp", 4321 % 97));
    assert_eq!(f.inlines.len(), 0);
    let f = index.lookup(0x1000 + 4320 * 0x100 + 0x12).unwrap();
    assert_eq!(
        f.inlines.iter().map(|i| i.function).collect::<Vec<_>>(),
        ["inlined_12<T>", "inlined_11<T>"]
    );
    let f = index.lookup(0x1000 + 5 * 0x100).unwrap();
    assert_eq!(
        f.file.unwrap().raw,
        "/src/dir5/../file5.cpp",
        "the first FILE 5 wins"
    );
}

#[test]
fn a_mapped_index_file_answers_like_the_in_memory_one() {
    let (sym, _) = big_sym();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.idx");
    let report = build_index_to_file(&sym, &path, &BuildOptions::default()).unwrap();
    let mapped = Index::open(&path).unwrap();
    assert!(mapped.is_mapped());
    assert_eq!(mapped.size_bytes() as u64, report.index_bytes);
    mapped.verify().unwrap();
    let (mem, _) = build_index(&sym, &BuildOptions::default()).unwrap();
    assert!(!mem.is_mapped());
    assert!(
        std::fs::read(&path).unwrap() == build_bytes(&sym, 1),
        "file bytes == in-memory bytes"
    );
    let mut rng = Rng(7);
    let top = 0x1000 + 48_000 * 0x100 + 0x1000;
    let addrs: Vec<u64> = (0..20_000u64)
        .map(|i| {
            if i % 2 == 0 {
                rng.below(top)
            } else {
                (i * 0x80).wrapping_sub(1)
            }
        })
        .collect();
    for opts in [
        LookupOptions::default(),
        LookupOptions { strict_lines: true },
    ] {
        let want: Vec<_> = addrs
            .iter()
            .map(|&a| mem.lookup_with(a, &opts).map(|f| from_frame(&f)))
            .collect();
        for (&a, want) in addrs.iter().zip(&want) {
            let got = mapped.lookup_with(a, &opts).map(|f| from_frame(&f));
            assert_eq!(&got, want, "{a:#x}");
        }
        // Pipelined over the mapped file (the reads of frames ahead in flight), and over
        // runs shorter than the pipeline: the same answers, in order.
        for chunk in [addrs.len(), 1, 2, 3, 5] {
            let mut got = Vec::new();
            let mut frame = Frame::empty();
            for part in addrs.chunks(chunk) {
                let base = got.len();
                mapped.lookup_each(part, &opts, &mut frame, |k, f| {
                    assert_eq!(k, got.len() - base, "in order, each once");
                    got.push(f.map(from_frame));
                });
            }
            assert_eq!(got, want, "lookup_each in runs of {chunk}");
        }
        // The owned form the bindings hand over.
        let owned: Vec<_> = addrs
            .iter()
            .map(|&a| mem.lookup_with(a, &opts).as_ref().map(OwnedFrame::from))
            .collect();
        assert_eq!(mapped.lookup_many(&addrs, &opts), owned, "lookup_many");
    }
}

/// `build` and `build_to_file` write their body in one part per thread (disjoint regions of
/// every section, CRCs combined); `build_to_writer` streams it in one. Every path and every
/// thread count must give the same bytes, with a body checksum that verifies.
#[test]
fn every_build_path_and_thread_count_writes_the_same_bytes() {
    let (sym, _) = big_sym();
    let want = build_bytes(&sym, 1);
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 2, 3, 4, 7] {
        let opts = BuildOptions {
            parse: ParseOptions {
                threads,
                ..ParseOptions::default()
            },
        };
        let (mem, report) = build_index(&sym, &opts).unwrap();
        mem.verify().unwrap();
        assert_eq!(report.index_bytes, want.len() as u64);
        assert!(
            mem.as_bytes() == want.as_slice(),
            "build_index(), threads={threads}"
        );

        let path = dir.path().join(format!("big-{threads}.idx"));
        build_index_to_file(&sym, &path, &opts).unwrap();
        assert!(
            std::fs::read(&path).unwrap() == want,
            "build_index_to_file(), threads={threads}"
        );
        Index::open(&path).unwrap().verify().unwrap();
    }
    // Small inputs too (one part, below the parallel threshold), and a file with nothing
    // but a MODULE line (every section empty).
    for text in [
        &b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\nFUNC 10 4 0 f\n10 4 7 0\nFILE 0 a.c\n"[..],
        &b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n"[..],
    ] {
        let want = build_bytes(text, 1);
        let (mem, _) = build_index(text, &BuildOptions::default()).unwrap();
        assert!(mem.as_bytes() == want.as_slice());
        mem.verify().unwrap();
        let path = dir.path().join("small.idx");
        build_index_to_file(text, &path, &BuildOptions::default()).unwrap();
        assert!(std::fs::read(&path).unwrap() == want);
    }
}
