//! Crash processing with `tecken_core::TeckenSymbolProvider` next to breakpad-symbols'
//! provider (what `minidump-stackwalk` links), side by side in one run, with the ratios:
//!
//! ```text
//! bench-stackwalk [--fixtures DIR] [--large SYM] [--rounds N] [--seconds S] [--funcs N]
//! ```
//!
//! 1. **Per call, warm** (in this process, both providers' modules loaded): `walk_frame`
//!    on STACK CFI (a libxul-shaped module of `--funcs` functions, default 50,000, from the
//!    benches' generator), on STACK WIN (an x86 module of FrameData and FPO records), and
//!    `fill_symbol`, each over 4,096 random addresses cycled; the mean time of a call (this
//!    thread's CPU time, so that other work on the machine shows less), best of `--rounds`.
//! 2. **A fresh process per dump**: each `DIR/*.dmp` (default `fixtures/minidumps`, with
//!    its `symbols/`) processed by a new process of this binary, as `minidump-stackwalk`
//!    runs one process per crash: breakpad-symbols (reads and parses the `.sym` files) and
//!    tecken with a warm index cache (opens the indexes a previous process built). The
//!    time inside it (from `main` to the JSON written), its CPU time (all threads), the
//!    wall time of the whole process (spawn to exit) and its peak RSS (`VmHWM`); best of
//!    `--rounds`.
//! 3. **At libxul scale** (with `--large SYM`, e.g. the 418 MB `gen-sym` file): the same
//!    for a synthetic x86_64 dump whose stack returns through 12 functions of that module,
//!    unwound by its STACK CFI; also tecken without a cache (building the index in memory).
//!
//! Every walk is checked: the same frames from both providers.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::Command;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use breakpad_symbols::SimpleModule;
use debugid::DebugId;
use minidump::format as md;
use minidump::Minidump;
use minidump_processor::process_minidump;
use minidump_synth::{
    amd64_context, DumpString, Memory, Module, SynthMinidump, SystemInfo, Thread,
};
use minidump_unwind::{
    simple_symbol_supplier, FrameSymbolizer, FrameWalker, SymbolProvider, Symbolizer,
};
use tecken_benches::gen::{generate, GenOptions};
use tecken_benches::rng::Rng;
use tecken_core::{MinidumpSource, StackwalkOptions, StoreSpec, Symbolicator};
use tecken_core::{SymbolicatorConfig, TeckenSymbolProvider};
use test_assembler::{Endian, Section};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Runs a future that never waits on anything but memory (both providers answer loaded
/// modules without I/O) to completion on this thread.
fn block<F: Future>(f: F) -> F::Output {
    fn clone(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: every function of the vtable ignores the (null) data pointer and does nothing
    // but make another such waker.
    let waker = unsafe { Waker::from_raw(clone(std::ptr::null())) };
    let mut f = pin!(f);
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A frame walker over fixed arrays (it never allocates, so the numbers are the
/// providers'): the callee's registers by name, a stack whose words point into itself.
#[derive(Clone)]
struct Walker {
    instruction: u64,
    word: usize,
    names: [&'static str; 8],
    callee: [u64; 8],
    caller: [Option<u64>; 8],
    cfa: Option<u64>,
    ra: Option<u64>,
    stack: Vec<u8>,
}

const STACK_BASE: u64 = 0x10_0000;

impl Walker {
    fn new(word: usize, names: [&'static str; 8]) -> Walker {
        let mut stack = vec![0u8; 4096];
        for (i, chunk) in stack.chunks_mut(word).enumerate() {
            let v = STACK_BASE + ((i as u64 * 40 + 64) % 4000) / word as u64 * word as u64;
            chunk.copy_from_slice(&v.to_le_bytes()[..word]);
        }
        let mut callee = [0u64; 8];
        for (i, c) in callee.iter_mut().enumerate() {
            *c = STACK_BASE + 256 + 64 * i as u64;
        }
        Walker {
            instruction: 0,
            word,
            names,
            callee,
            caller: [None; 8],
            cfa: None,
            ra: None,
            stack,
        }
    }
    fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }
    fn reset(&mut self, instruction: u64) {
        self.instruction = instruction;
        self.caller = [None; 8];
        self.cfa = None;
        self.ra = None;
    }
}

impl FrameWalker for Walker {
    fn get_instruction(&self) -> u64 {
        self.instruction
    }
    fn has_grand_callee(&self) -> bool {
        true
    }
    fn get_grand_callee_parameter_size(&self) -> u32 {
        4
    }
    fn get_register_at_address(&self, address: u64) -> Option<u64> {
        let at = usize::try_from(address.checked_sub(STACK_BASE)?).ok()?;
        let bytes = self.stack.get(at..at.checked_add(self.word)?)?;
        let mut buf = [0u8; 8];
        buf[..self.word].copy_from_slice(bytes);
        Some(u64::from_le_bytes(buf))
    }
    fn get_callee_register(&self, name: &str) -> Option<u64> {
        self.slot(name).map(|i| self.callee[i])
    }
    fn set_caller_register(&mut self, name: &str, val: u64) -> Option<()> {
        let i = self.slot(name)?;
        self.caller[i] = Some(val);
        Some(())
    }
    fn clear_caller_register(&mut self, name: &str) {
        if let Some(i) = self.slot(name) {
            self.caller[i] = None;
        }
    }
    fn set_cfa(&mut self, val: u64) -> Option<()> {
        self.cfa = Some(val);
        Some(())
    }
    fn set_ra(&mut self, val: u64) -> Option<()> {
        self.ra = Some(val);
        Some(())
    }
}

/// A frame symbolizer that keeps what it is told in fixed fields.
#[derive(Default, Clone, PartialEq, Debug)]
struct Recorder {
    instruction: u64,
    function: (usize, u64, u32),
    source: (usize, u32, u64),
    inlines: usize,
}

impl FrameSymbolizer for Recorder {
    fn get_instruction(&self) -> u64 {
        self.instruction
    }
    fn set_function(&mut self, name: &str, base: u64, parameter_size: u32) {
        self.function = (name.len(), base, parameter_size);
    }
    fn set_source_file(&mut self, file: &str, line: u32, base: u64) {
        self.source = (file.len(), line, base);
    }
    fn add_inline_frame(&mut self, _name: &str, _file: Option<&str>, _line: Option<u32>) {
        self.inlines += 1;
    }
}

/// This thread's CPU time in ns (other work on the machine shows less than in wall time).
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// This process's CPU time (user + system, all threads) in ns.
fn process_cpu_ns() -> u64 {
    // SAFETY: an all-zero rusage is valid; getrusage writes into it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The mean CPU time of `f` (this thread's) over about `secs`, best of `rounds`, in ns.
fn per_call(secs: f64, rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut n = 1u64;
    loop {
        let t = thread_cpu_ns();
        for _ in 0..n {
            f();
        }
        if (thread_cpu_ns() - t) / 1e9 > secs / rounds as f64 / 4.0 {
            break;
        }
        n *= 2;
    }
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = thread_cpu_ns();
        for _ in 0..n {
            f();
        }
        best = best.min((thread_cpu_ns() - t) / n as f64);
    }
    best
}

/// The first field after `MODULE os arch`: the debug id.
fn module_id(sym: &[u8]) -> String {
    let line = sym.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(3)
        .unwrap_or_default()
        .to_owned()
}

/// Writes `sym` as `dir/{debug_file}/{id}/{sym_file}`.
fn put_sym(dir: &Path, debug_file: &str, sym_file: &str, sym: &[u8]) -> Res<PathBuf> {
    let d = dir.join(debug_file).join(module_id(sym));
    std::fs::create_dir_all(&d)?;
    let path = d.join(sym_file);
    std::fs::write(&path, sym)?;
    Ok(path)
}

/// An x86 module of `funcs` functions, each with a STACK WIN record: FrameData programs as
/// MSVC writes them (ebp frame, `.raSearch`, aligned with saved registers) and FPO.
fn win_sym(funcs: u64) -> Vec<u8> {
    const PROGRAMS: [&str; 3] = [
        "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
        "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =",
        "$T1 .raSearch = $T0 $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = \
         $esp $T1 4 + = $ebx $T0 28 - ^ = $esi $T0 24 - ^ = $edi $T0 20 - ^ =",
    ];
    let mut s = String::from("MODULE windows x86 000102030405060708090A0B0C0D0E0F1 win.pdb\n");
    s += "FILE 0 c:\\src\\win.cpp\n";
    for i in 0..funcs {
        let a = 0x1000 + i * 0x40;
        s += &format!("FUNC {a:x} 40 8 f{i}\n{a:x} 40 {} 0\n", i + 1);
    }
    for i in 0..funcs {
        let a = 0x1000 + i * 0x40;
        if i % 4 == 3 {
            s += &format!("STACK WIN 0 {a:x} 40 3 1 8 8 10 0 0 1\n");
        } else {
            let p = PROGRAMS[i as usize % 4];
            s += &format!("STACK WIN 4 {a:x} 40 3 1 8 8 10 0 1 {p}\n");
        }
    }
    s.into_bytes()
}

fn simple_module(debug_file: &str, id: &str, base: u64) -> Res<SimpleModule> {
    Ok(SimpleModule {
        base_address: Some(base),
        size: Some(0x1000_0000),
        code_file: Some(debug_file.to_owned()),
        debug_file: Some(debug_file.to_owned()),
        debug_id: Some(DebugId::from_breakpad(id)?),
        ..SimpleModule::default()
    })
}

/// Part 1: `walk_frame` and `fill_symbol` per call through both providers, warm.
fn per_call_part(funcs: u64, secs: f64, rounds: usize) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let syms = dir.path().join("symbols");
    let mut xul = Vec::new();
    generate(
        &GenOptions {
            funcs,
            seed: 7,
            files: None,
            origins: None,
        },
        &mut xul,
    )?;
    put_sym(&syms, "libxul.so", "libxul.so.sym", &xul)?;
    let win_funcs = funcs.min(50_000);
    let win = win_sym(win_funcs);
    put_sym(&syms, "win.pdb", "win.sym", &win)?;

    // Addresses: the FUNCs of the generated file (each has STACK CFI), random offsets.
    let text = std::str::from_utf8(&xul)?;
    let ranges: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("FUNC "))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let a = u64::from_str_radix(f.next()?, 16).ok()?;
            let s = u64::from_str_radix(f.next()?, 16).ok()?;
            Some((a, s))
        })
        .filter(|&(_, s)| s > 0)
        .collect();
    const BASE: u64 = 0x7f00_0000_0000;
    let mut rng = Rng::new(11);
    let xul_addrs: Vec<u64> = (0..4096)
        .map(|_| {
            let (a, s) = ranges[rng.below(ranges.len() as u64) as usize];
            BASE + a + rng.below(s)
        })
        .collect();
    let win_addrs: Vec<u64> = (0..4096)
        .map(|_| BASE + 0x1000 + rng.below(win_funcs) * 0x40 + rng.range(4, 0x3c))
        .collect();
    let xul_module = simple_module("libxul.so", &module_id(&xul), BASE)?;
    let win_module = simple_module("win.pdb", &module_id(&win), BASE)?;

    let bp = Symbolizer::new(simple_symbol_supplier(vec![syms.clone()]));
    let store = StoreSpec::Dir(syms.clone()).symbol_store()?;
    let symbolicator = Symbolicator::new(vec![store], SymbolicatorConfig::default());
    let ours = TeckenSymbolProvider::new(Arc::new(symbolicator));
    let amd64 = ["rsp", "rbp", "rip", "rbx", "r12", "r13", "r14", "r15"];
    let x86 = ["esp", "ebp", "eip", "ebx", "esi", "edi", "eax", "ecx"];

    // The same answers first (this also loads both modules into both providers).
    let walk = |p: &dyn SymbolProvider, m: &SimpleModule, w: &mut Walker, pc: u64| {
        w.reset(pc);
        block(p.walk_frame(m, w))
    };
    let word = |names: [&'static str; 8]| if names[0] == "esp" { 4 } else { 8 };
    let check_walks = |m: &SimpleModule, names: [&'static str; 8], addrs: &[u64]| -> Res<()> {
        let (mut a, mut b) = (
            Walker::new(word(names), names),
            Walker::new(word(names), names),
        );
        for &pc in addrs {
            let (ra, rb) = (walk(&ours, m, &mut a, pc), walk(&bp, m, &mut b, pc));
            if ra.is_none() || (ra, a.caller, a.cfa, a.ra) != (rb, b.caller, b.cfa, b.ra) {
                return Err(
                    format!("walk_frame at {pc:#x}: tecken and breakpad-symbols differ").into(),
                );
            }
        }
        Ok(())
    };
    check_walks(&xul_module, amd64, &xul_addrs)?;
    check_walks(&win_module, x86, &win_addrs)?;
    for &pc in &xul_addrs {
        let (mut a, mut b) = (Recorder::default(), Recorder::default());
        a.instruction = pc;
        b.instruction = pc;
        let ra = block(ours.fill_symbol(&xul_module, &mut a));
        let rb = block(bp.fill_symbol(&xul_module, &mut b));
        if ra.is_err() || rb.is_err() || a != b {
            return Err(
                format!("fill_symbol at {pc:#x}: tecken and breakpad-symbols differ").into(),
            );
        }
    }

    let time_walks =
        |p: &dyn SymbolProvider, m: &SimpleModule, names: [&'static str; 8], addrs: &[u64]| {
            let mut w = Walker::new(word(names), names);
            let mut i = 0;
            per_call(secs, rounds, || {
                i = (i + 1) % addrs.len();
                std::hint::black_box(walk(p, m, &mut w, addrs[i]));
            })
        };
    let time_fill = |p: &dyn SymbolProvider| {
        let mut r = Recorder::default();
        let mut i = 0;
        per_call(secs, rounds, || {
            i = (i + 1) % xul_addrs.len();
            r.instruction = xul_addrs[i];
            std::hint::black_box(block(p.fill_symbol(&xul_module, &mut r))).ok();
        })
    };
    println!(
        "== per call, warm ({funcs} libxul-shaped FUNCs with STACK CFI; {win_funcs} x86 FUNCs \
         with STACK WIN; 4,096 random addresses; best of {rounds})"
    );
    println!(
        "{:<28} {:>12} {:>18} {:>8} {:>10}",
        "ns per call", "tecken", "breakpad-symbols", "ratio", "target"
    );
    let rows = [
        (
            "walk_frame, STACK CFI",
            time_walks(&ours, &xul_module, amd64, &xul_addrs),
            time_walks(&bp, &xul_module, amd64, &xul_addrs),
            ">= 8x",
        ),
        (
            "walk_frame, STACK WIN",
            time_walks(&ours, &win_module, x86, &win_addrs),
            time_walks(&bp, &win_module, x86, &win_addrs),
            ">= 10x",
        ),
        ("fill_symbol", time_fill(&ours), time_fill(&bp), "<= 500 ns"),
    ];
    for (name, t, b, target) in rows {
        println!(
            "{name:<28} {t:>12.1} {b:>18.1} {:>7.1}x {target:>10}",
            b / t
        );
    }
    Ok(())
}

/// One child process's run: its wall time, the time it measured inside, its peak RSS.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    inside: Duration,
    cpu: Duration,
    hwm_kb: u64,
}

/// Runs `bench-stackwalk child MODE DUMP SYMBOLS OUT [CACHE]` and reads what it printed.
fn child(mode: &str, dump: &Path, syms: &Path, out: &Path, cache: Option<&Path>) -> Res<Run> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["child", mode]).arg(dump).arg(syms).arg(out);
    if let Some(c) = cache {
        cmd.arg(c);
    }
    let t = Instant::now();
    let o = cmd.output()?;
    let wall = t.elapsed();
    if !o.status.success() {
        return Err(format!(
            "child {mode} {}: {}",
            dump.display(),
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    let text = String::from_utf8(o.stdout)?;
    let field = |k: &str| -> Res<u64> {
        let v = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .ok_or_else(|| format!("child printed no {k}: {text}"))?;
        Ok(v.parse()?)
    };
    Ok(Run {
        wall,
        inside: Duration::from_nanos(field("inside_ns=")?),
        cpu: Duration::from_nanos(field("cpu_ns=")?),
        hwm_kb: field("hwm_kb=")?,
    })
}

/// The frames of a stackwalk JSON: `(thread, function, instruction, trust)`.
fn frames(json: &Path) -> Res<Vec<(usize, String, String, String)>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(json)?)?;
    let mut out = Vec::new();
    for (t, thread) in v["threads"].as_array().into_iter().flatten().enumerate() {
        for f in thread["frames"].as_array().into_iter().flatten() {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
            out.push((t, s("function"), s("offset"), s("trust")));
        }
    }
    Ok(out)
}

/// Best of `rounds` child runs per mode; the first run of each mode's JSON is compared.
fn fresh_process_rows(
    title: &str,
    dump: &Path,
    syms: &Path,
    rounds: usize,
    with_nocache: bool,
    targets: (&str, &str),
) -> Res<()> {
    let tmp = tempfile::tempdir()?;
    let cache = tmp.path().join("cache");
    let (bp_out, ours_out) = (tmp.path().join("bp.json"), tmp.path().join("ours.json"));
    // Fill the index cache (a previous crash of the same build).
    child("tecken", dump, syms, &ours_out, Some(&cache))?;
    let best = |mode: &str, out: &Path, cache: Option<&Path>| -> Res<Run> {
        let mut best: Option<Run> = None;
        for _ in 0..rounds {
            let r = child(mode, dump, syms, out, cache)?;
            best = Some(match best {
                Some(b) => Run {
                    wall: b.wall.min(r.wall),
                    inside: b.inside.min(r.inside),
                    cpu: b.cpu.min(r.cpu),
                    hwm_kb: b.hwm_kb.min(r.hwm_kb),
                },
                None => r,
            });
        }
        best.ok_or_else(|| "no rounds".into())
    };
    let bp = best("breakpad", &bp_out, None)?;
    let warm = best("tecken", &ours_out, Some(&cache))?;
    let (fb, fo) = (frames(&bp_out)?, frames(&ours_out)?);
    if fb != fo || fb.is_empty() {
        return Err(format!("{title}: the walks differ (or are empty)").into());
    }
    let mut rows = vec![
        ("breakpad-symbols, cold (parse the .sym)", bp),
        ("tecken, warm index cache", warm),
    ];
    if with_nocache {
        let nocache_out = tmp.path().join("nocache.json");
        let nocache = best("tecken", &nocache_out, None)?;
        if frames(&nocache_out)? != fb {
            return Err(format!("{title}: the walk without a cache differs").into());
        }
        rows.push(("tecken, no cache (index built in memory)", nocache));
    }
    println!("-- {title}: {} frames", fb.len());
    for (name, r) in &rows {
        println!(
            "{name:<42} {:>10.2} ms {:>10.2} ms {:>10.2} ms {:>8.1} MB {:>7.1}x {:>7.1}x {:>7.1}x",
            r.inside.as_secs_f64() * 1e3,
            r.cpu.as_secs_f64() * 1e3,
            r.wall.as_secs_f64() * 1e3,
            r.hwm_kb as f64 / 1024.0,
            bp.inside.as_secs_f64() / r.inside.as_secs_f64(),
            bp.cpu.as_secs_f64() / r.cpu.as_secs_f64(),
            bp.wall.as_secs_f64() / r.wall.as_secs_f64(),
        );
    }
    println!(
        "   targets: tecken warm {} faster (inside the process), {}",
        targets.0, targets.1
    );
    Ok(())
}

fn header(what: &str) {
    println!("{what}");
    println!(
        "{:<42} {:>13} {:>13} {:>13} {:>11} {:>8} {:>8} {:>8}",
        "", "inside", "CPU", "process", "peak RSS", "inside", "CPU", "process"
    );
}

/// A PDB70 CodeView record carrying the Breakpad id `id` (GUID fields, then the age).
fn cv_record(id: &str, name: &str) -> Res<Section> {
    let hex = |r: std::ops::Range<usize>| -> Res<u64> {
        Ok(u64::from_str_radix(id.get(r).ok_or("short id")?, 16)?)
    };
    let mut s = Section::with_endian(Endian::Little)
        .D32(md::CvSignature::Pdb70 as u32)
        .D32(hex(0..8)? as u32)
        .D16(hex(8..12)? as u16)
        .D16(hex(12..16)? as u16);
    for i in 0..8 {
        s = s.D8(hex(16 + 2 * i..18 + 2 * i)? as u8);
    }
    Ok(s.D32(hex(32..id.len())? as u32)
        .append_bytes(format!("{name}\0").as_bytes()))
}

/// A Linux x86_64 dump of one thread in the module `libxul.so` (loaded at `BASE`) of the
/// generated `.sym`: the stack returns through 12 of its functions (every 997th), each
/// frame unwound by the function's `STACK CFI INIT` rule (`.cfa: $rsp N +`), the return
/// address at CFA - 8.
fn large_dump(sym: &[u8]) -> Res<Vec<u8>> {
    const BASE: u64 = 0x7f00_0000_0000;
    const STACK: u64 = 0x7ff0_0000;
    let id = module_id(sym);
    let mut inits = Vec::new();
    for line in sym.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"STACK CFI INIT ") {
            inits.push(rest);
        }
    }
    let funcs: Vec<(u64, u64)> = inits
        .iter()
        .step_by(997)
        .take(12)
        .map(|rest| -> Res<(u64, u64)> {
            let text = std::str::from_utf8(rest)?;
            let f: Vec<&str> = text.split_whitespace().collect();
            // `ADDR SIZE .cfa: $rsp N + ...`
            Ok((u64::from_str_radix(f[0], 16)?, f[4].parse()?))
        })
        .collect::<Res<_>>()?;
    let mut stack = vec![0u8; 0x2000];
    let mut sp = 0u64;
    for w in funcs.windows(2) {
        let (_, n) = w[0];
        let at = (sp + n - 8) as usize;
        stack[at..at + 8].copy_from_slice(&(BASE + w[1].0 + 2).to_le_bytes());
        sp += n;
    }
    let name = DumpString::new("libxul.so", Endian::Little);
    let cv = cv_record(&id, "libxul.so")?;
    let module = Module::new(Endian::Little, BASE, 0x1000_0000, &name, 0, 0, None).cv_record(&cv);
    let context = amd64_context(Endian::Little, BASE + funcs[0].0 + 1, STACK);
    let stack = Memory::with_section(
        Section::with_endian(Endian::Little).append_bytes(&stack),
        STACK,
    );
    let thread = Thread::new(Endian::Little, 1, &stack, &context);
    let system_info = SystemInfo::new(Endian::Little)
        .set_processor_architecture(md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_AMD64 as u16)
        .set_platform_id(md::PlatformId::Linux as u32);
    Ok(SynthMinidump::with_endian(Endian::Little)
        .add_thread(thread)
        .add(context)
        .add_memory(stack)
        .add_system_info(system_info)
        .add_module(module)
        .add(name)
        .add(cv)
        .finish()
        .ok_or("the synthetic dump")?)
}

/// The child: processes DUMP once with one provider, writes the JSON to OUT, prints the
/// time from `main` to the JSON written and the peak RSS.
fn child_main(started: Instant, args: &[String]) -> Res<()> {
    let [mode, dump, syms, out, rest @ ..] = args else {
        return Err("child MODE DUMP SYMBOLS OUT [CACHE]".into());
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    match mode.as_str() {
        // What minidump-stackwalk does with local symbols.
        "breakpad" => {
            let bytes = std::fs::read(dump)?;
            let dump = Minidump::read(&bytes[..])?;
            let provider = Symbolizer::new(simple_symbol_supplier(vec![PathBuf::from(syms)]));
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            let state = rt.block_on(process_minidump(&dump, &provider))?;
            state.print_json(&mut file, false)?;
        }
        "tecken" => {
            let config = SymbolicatorConfig {
                cache_dir: rest.first().map(PathBuf::from),
                ..SymbolicatorConfig::default()
            };
            let store = StoreSpec::Dir(PathBuf::from(syms)).symbol_store()?;
            let symbolicator = Arc::new(Symbolicator::new(vec![store], config));
            let walk = tecken_core::stackwalk(
                MinidumpSource::Path(Path::new(dump)),
                symbolicator,
                &StackwalkOptions::default(),
            )?;
            walk.write_json(&mut file, false)?;
        }
        m => return Err(format!("unknown mode {m}").into()),
    }
    std::io::Write::flush(&mut file)?;
    let inside = started.elapsed();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("0");
    println!(
        "inside_ns={} cpu_ns={} hwm_kb={hwm}",
        inside.as_nanos(),
        process_cpu_ns()
    );
    Ok(())
}

fn main() -> Res<()> {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child_main(started, &args[1..]);
    }
    let mut fixtures = PathBuf::from("fixtures/minidumps");
    let mut large: Option<PathBuf> = None;
    let (mut rounds, mut secs, mut funcs) = (5usize, 1.0f64, 50_000u64);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--fixtures" => fixtures = PathBuf::from(value()?),
            "--large" => large = Some(PathBuf::from(value()?)),
            "--rounds" => rounds = value()?.parse()?,
            "--seconds" => secs = value()?.parse()?,
            "--funcs" => funcs = value()?.parse()?,
            "-h" | "--help" => {
                println!(
                    "bench-stackwalk [--fixtures DIR] [--large SYM] [--rounds N] [--seconds S] [--funcs N]"
                );
                return Ok(());
            }
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    println!(
        "bench-stackwalk: load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    per_call_part(funcs, secs, rounds)?;

    println!();
    header(&format!(
        "== a fresh process per dump ({}, best of {rounds}): time inside the process, \
         its CPU time, the whole process's wall time, peak RSS; breakpad-symbols' over each",
        fixtures.display()
    ));
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(&fixtures)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    dumps
        .retain(|p| p.extension().is_some_and(|e| e == "dmp") && p.with_extension("json").exists());
    dumps.sort();
    for d in &dumps {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        fresh_process_rows(
            &name,
            d,
            &fixtures.join("symbols"),
            rounds,
            false,
            (">= 10x", "no RSS target"),
        )?;
    }

    if let Some(large) = large {
        let tmp = tempfile::tempdir()?;
        let syms = tmp.path().join("symbols");
        let sym = std::fs::read(&large)?;
        let dir = syms.join("libxul.so").join(module_id(&sym));
        std::fs::create_dir_all(&dir)?;
        // A link, not a copy, where the file system allows.
        let target = dir.join("libxul.so.sym");
        if std::fs::hard_link(&large, &target).is_err() {
            std::fs::copy(&large, &target)?;
        }
        let dump = tmp.path().join("libxul.dmp");
        std::fs::write(&dump, large_dump(&sym)?)?;
        let mb = sym.len() as f64 / 1e6;
        drop(sym);
        println!();
        header(&format!(
            "== libxul scale ({}, {mb:.0} MB with STACK CFI; best of {rounds})",
            large.display()
        ));
        fresh_process_rows(
            "libxul.dmp",
            &dump,
            &syms,
            rounds.min(3),
            true,
            (">= 100x", "tecken warm <= 100 MB peak RSS"),
        )?;
    }
    Ok(())
}
