//! tecken-core's `TeckenSymbolProvider::fill_symbol` against breakpad-symbols 0.27's
//! `SymbolFile::fill_symbol`, on the same `.sym` files and random addresses: every call
//! each makes on the frame (function, base, parameter size; source file, line and its
//! address; each inline frame) must be the same, in the same order.
//!
//! The files are random but well-formed (non-overlapping FUNCs, nested INLINE ranges):
//! FILE and INLINE_ORIGIN ids that are never defined, line 0, PUBLICs between and inside
//! FUNCs, STACK WIN FrameData and FPO records overriding parameter sizes; and libxul-shaped
//! files from the benches' generator.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use breakpad_symbols::{FrameSymbolizer, SimpleModule, SymbolFile};
use debugid::DebugId;
use minidump_unwind::SymbolProvider;
use tecken_benches::gen::{generate, GenOptions};
use tecken_benches::rng::Rng;
use tecken_benches::unwind::{cfi_case, win_case, MODULE_BASE};
use tecken_core::{Symbolicator, TeckenSymbolProvider};

const BASE: u64 = 0x7f00_0000_0000;

struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// Runs a future that never waits (the provider's do not: loading is synchronous).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let waker = Waker::from(Arc::new(NoWake));
    match f.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the provider's future waited"),
    }
}

/// Every call made on the frame, in order.
#[derive(Debug, Default, PartialEq, Eq)]
struct Recorder {
    instruction: u64,
    calls: Vec<String>,
}

impl FrameSymbolizer for Recorder {
    fn get_instruction(&self) -> u64 {
        self.instruction
    }
    fn set_function(&mut self, name: &str, base: u64, parameter_size: u32) {
        self.calls.push(format!(
            "function {name:?} {base:#x} params {parameter_size}"
        ));
    }
    fn set_source_file(&mut self, file: &str, line: u32, base: u64) {
        self.calls
            .push(format!("source {file:?}:{line} at {base:#x}"));
    }
    fn add_inline_frame(&mut self, name: &str, file: Option<&str>, line: Option<u32>) {
        self.calls
            .push(format!("inline {name:?} {file:?}:{line:?}"));
    }
}

/// A random, well-formed `.sym` with the edge cases the module docs list, and the
/// address range it covers.
fn random_sym(rng: &mut Rng, id: &str) -> (String, u64) {
    let mut s = format!("MODULE windows x86 {id} test.pdb\n");
    let files = rng.range(1, 12);
    for f in 0..files {
        // Some ids are never defined.
        if !rng.chance(150) {
            let _ = writeln!(s, "FILE {f} c:\\src\\dir{}\\..\\file{f}.cpp", rng.below(3));
        }
    }
    let origins = rng.range(1, 10);
    for o in 0..origins {
        if !rng.chance(150) {
            let _ = writeln!(s, "INLINE_ORIGIN {o} inlined_{o}(int)");
        }
    }
    let mut addr = rng.range(0, 0x40);
    let mut win = String::new();
    for n in 0..rng.range(1, 25) {
        addr += rng.below(0x30);
        if rng.chance(300) {
            let _ = writeln!(s, "PUBLIC {addr:x} {:x} public_{n}", rng.below(3) * 4);
            addr += rng.below(0x40);
        }
        let size = rng.range(1, 0x80);
        let m = if rng.chance(100) { "m " } else { "" };
        let _ = writeln!(
            s,
            "FUNC {m}{addr:x} {size:x} {:x} func_{n}",
            rng.below(5) * 4
        );
        // INLINE records: nested ranges, depth by depth.
        let mut outer = vec![(addr, size)];
        for depth in 0..rng.below(4) {
            let mut inner = Vec::new();
            for &(a, sz) in &outer {
                if sz < 2 || rng.chance(300) {
                    continue;
                }
                let start = a + rng.below(sz / 2);
                let len = rng.range(1, a + sz - start);
                let _ = writeln!(
                    s,
                    "INLINE {depth} {} {} {} {start:x} {len:x}",
                    rng.below(40),
                    rng.below(files + 1),
                    rng.below(origins + 1)
                );
                inner.push((start, len));
            }
            outer = inner;
        }
        // Line records: contiguous with gaps, lines 0 at times.
        let mut at = addr;
        while at < addr + size {
            let len = rng.range(1, 0x10).min(addr + size - at);
            if !rng.chance(150) {
                let line = if rng.chance(100) {
                    0
                } else {
                    rng.range(1, 500)
                };
                let _ = writeln!(s, "{at:x} {len:x} {line} {}", rng.below(files + 1));
            }
            at += len;
        }
        if rng.chance(300) {
            let kind = if rng.chance(500) { 4 } else { 0 };
            let params = rng.below(8) * 4;
            let tail = if kind == 4 {
                "1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="
            } else {
                "0 1"
            };
            let _ = writeln!(
                win,
                "STACK WIN {kind} {:x} {:x} 0 0 {params:x} 0 0 0 {tail}",
                addr + rng.below(size),
                rng.range(1, 0x20)
            );
        }
        addr += size;
    }
    if rng.chance(500) {
        let _ = writeln!(s, "PUBLIC {addr:x} 8 public_last");
    }
    s.push_str(&win);
    (s, addr + 0x40)
}

fn module(debug_file: &str, id: &str) -> SimpleModule {
    let mut m = SimpleModule::new(debug_file, DebugId::from_breakpad(id).unwrap());
    m.base_address = Some(BASE);
    m.size = Some(0x1000_0000);
    m.code_file = Some(format!("C:\\Program Files\\App\\{debug_file}"));
    m
}

/// Writes `text` where the symbolicator looks for `debug_file`/`id`.
fn store(dir: &Path, debug_file: &str, id: &str, text: &str) {
    let name = match debug_file.strip_suffix(".pdb") {
        Some(stem) => format!("{stem}.sym"),
        None => format!("{debug_file}.sym"),
    };
    let d = dir.join(debug_file).join(id);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), text).unwrap();
}

/// Compares both at `addresses` (module-relative); returns how many had a function.
fn compare(
    provider: &TeckenSymbolProvider,
    sym: &SymbolFile,
    m: &SimpleModule,
    text: &str,
    addresses: impl IntoIterator<Item = u64>,
) -> usize {
    let mut named = 0;
    for a in addresses {
        let mut theirs = Recorder {
            instruction: BASE.wrapping_add(a),
            ..Recorder::default()
        };
        sym.fill_symbol(m, &mut theirs);
        let mut ours = Recorder {
            instruction: BASE.wrapping_add(a),
            ..Recorder::default()
        };
        now(provider.fill_symbol(m, &mut ours)).unwrap();
        assert_eq!(
            ours.calls, theirs.calls,
            "tecken (left) and breakpad-symbols (right) differ at {a:#x} in\n{text}"
        );
        named += usize::from(!ours.calls.is_empty());
    }
    named
}

#[test]
fn fill_symbol_matches_breakpad_symbols_on_random_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0xf111);
    let mut texts = Vec::new();
    for n in 0..300u32 {
        let id = format!("{n:08X}0000111122223333444455556");
        let (text, end) = random_sym(&mut rng, &id);
        store(dir.path(), "test.pdb", &id, &text);
        texts.push((id, text, end));
    }
    let symbolicator = Arc::new(Symbolicator::local(dir.path(), None).unwrap());
    let provider = TeckenSymbolProvider::new(symbolicator);
    let (mut cases, mut named) = (0, 0);
    for (id, text, end) in &texts {
        let sym = SymbolFile::from_bytes(text.as_bytes()).unwrap();
        let m = module("test.pdb", id);
        // Every address, and a few below the module.
        named += compare(&provider, &sym, &m, text, 0..end + 8);
        cases += usize::try_from(end + 8).unwrap();
        compare(&provider, &sym, &m, text, [u64::MAX, u64::MAX - 1]);
    }
    eprintln!("{cases} addresses, {named} with a function");
    assert!(named > cases / 2);
}

#[test]
fn fill_symbol_matches_breakpad_symbols_on_libxul_shaped_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for seed in 0..4 {
        let mut bytes = Vec::new();
        generate(
            &GenOptions {
                funcs: 2_000,
                seed,
                files: None,
                origins: None,
            },
            &mut bytes,
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let id = text.split_whitespace().nth(3).unwrap().to_owned();
        store(dir.path(), "libxul.so", &id, &text);
        files.push((id, text));
    }
    let symbolicator = Arc::new(Symbolicator::local(dir.path(), None).unwrap());
    let provider = TeckenSymbolProvider::new(symbolicator);
    let mut rng = Rng::new(0x11b);
    for (id, text) in &files {
        let sym = SymbolFile::from_bytes(text.as_bytes()).unwrap();
        let m = module("libxul.so", id);
        let end = sym
            .functions
            .ranges_values()
            .last()
            .map_or(0x10000, |(r, _)| r.end + 0x100);
        let addresses: Vec<u64> = (0..50_000).map(|_| rng.below(end)).collect();
        let named = compare(&provider, &sym, &m, "(generated libxul.so)", addresses);
        assert!(named > 40_000, "{named}");
    }
}

#[test]
fn no_symbols_is_an_error_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let id = "000102030405060708090A0B0C0D0E0F0";
    store(
        dir.path(),
        "there.pdb",
        id,
        &format!("MODULE windows x86 {id} there.pdb\nFUNC 10 10 0 f\n"),
    );
    let provider =
        TeckenSymbolProvider::new(Arc::new(Symbolicator::local(dir.path(), None).unwrap()));
    let mut frame = Recorder {
        instruction: BASE + 0x10,
        ..Recorder::default()
    };
    assert!(now(provider.fill_symbol(&module("missing.pdb", id), &mut frame)).is_err());
    // Symbols, but no function at the address: `Ok` and nothing set.
    frame.instruction = BASE + 0x100;
    now(provider.fill_symbol(&module("there.pdb", id), &mut frame)).unwrap();
    assert!(frame.calls.is_empty());
    frame.instruction = BASE + 0x11;
    now(provider.fill_symbol(&module("there.pdb", id), &mut frame)).unwrap();
    assert_eq!(frame.calls, ["function \"f\" 0x7f0000000010 params 0"]);
    let stats: HashMap<_, _> = provider.stats();
    assert!(!stats["missing.pdb"].loaded_symbols);
    assert!(stats["there.pdb"].loaded_symbols);
    assert!(!stats["there.pdb"].corrupt_symbols);
}

/// `walk_frame` through the provider (module lookup, STACK WIN before STACK CFI, the
/// shared `UnwindCache`) against breakpad-symbols' `SymbolFile::walk_frame`, on the unwind
/// differential test's random records: the same registers set and cleared, the same result.
#[test]
fn walk_frame_matches_breakpad_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x3a1c);
    let mut cases = Vec::new();
    for n in 0..4_000u32 {
        let case = if n % 2 == 0 {
            cfi_case(&mut rng)
        } else {
            win_case(&mut rng)
        };
        let id = format!("{n:08X}AAAABBBBCCCCDDDDEEEEFFFF0");
        let mut text = case
            .sym()
            .replacen("000102030405060708090A0B0C0D0E0F0", &id, 1);
        // A quarter of the CFI cases also have a STACK WIN record at the address: it is
        // tried first, and CFI only when it cannot unwind.
        if n % 4 == 2 {
            let win = win_case(&mut rng).sym();
            text.extend(win.lines().skip(1).map(|l| format!("{l}\n")));
        }
        store(dir.path(), "test", &id, &text);
        cases.push((case, id, text));
    }
    let provider =
        TeckenSymbolProvider::new(Arc::new(Symbolicator::local(dir.path(), None).unwrap()));
    let mut unwound = 0;
    for (case, id, text) in &cases {
        let sym = SymbolFile::from_bytes(text.as_bytes()).unwrap();
        let mut m = module("test", id);
        m.base_address = Some(MODULE_BASE);
        let mut theirs = case.fresh_walker();
        theirs.out.result = sym.walk_frame(&m, &mut theirs);
        let mut ours = case.fresh_walker();
        ours.out.result = now(provider.walk_frame(&m, &mut ours));
        assert_eq!(
            ours.out, theirs.out,
            "tecken (left) and breakpad-symbols (right) differ on\n{text}\nwalker: {:?}",
            case.walker
        );
        unwound += usize::from(ours.out.result.is_some());
    }
    eprintln!("{} walks, {unwound} unwound", cases.len());
    assert!(unwound > cases.len() / 5 && unwound < cases.len() * 9 / 10);
}
