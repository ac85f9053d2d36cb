//! ns per frame walk of tecken-core's STACK CFI / STACK WIN evaluators (warm
//! `UnwindCache` and uncached) next to
//! breakpad-symbols 0.27's, on the same records and the same walker state, side by side
//! with the ratios: `cargo run --release -p tecken-benches --bin bench-unwind [SECONDS]`.
//!
//! breakpad-symbols is measured twice: its evaluator alone (`walker::walk_with_stack_cfi`
//! and friends, given the record breakpad-symbols parsed) and `SymbolFile::walk_frame`
//! (what minidump-stackwalk calls: the record lookup, then the evaluator). tecken-core's
//! column is the evaluator alone (its record lookup is the index's). The walker is a
//! fixed-array one that never allocates, so the numbers are the evaluators' own. Times are
//! the thread's CPU time (best of five rounds), so that other work on the machine shows
//! less.

use breakpad_symbols::{walker as bp_walker, SimpleModule, SymbolFile};
use std::hint::black_box;
use std::time::Duration;
use tecken_core::{walk_cfi, walk_win, CfiRules, StackWin, UnwindCache, WinKind};

const BASE: u64 = 0x4000_0000;
const ADDR: u64 = 0x1000;
const STACK_BASE: u64 = 0x10_0000;

/// Registers by name in fixed arrays; a 1 KiB stack whose words point into itself.
#[derive(Clone)]
struct Walker {
    word: usize,
    callee: [(&'static str, u64); 8],
    caller: [Option<u64>; 8],
    cfa: u64,
    ra: u64,
    stack: Vec<u8>,
}

impl Walker {
    fn new(word: usize, names: [&'static str; 8], sp: u64, fp: u64) -> Walker {
        let mut stack = vec![0u8; 1024];
        for (i, chunk) in stack.chunks_mut(word).enumerate() {
            let v = STACK_BASE + ((i as u64 * 40 + 64) % 1000) / word as u64 * word as u64;
            chunk.copy_from_slice(&v.to_le_bytes()[..word]);
        }
        let mut callee = [("", 0u64); 8];
        for (i, n) in names.iter().enumerate() {
            callee[i] = (n, 0x1111 * i as u64);
        }
        callee[0].1 = STACK_BASE + sp;
        callee[1].1 = STACK_BASE + fp;
        callee[2].1 = BASE + ADDR + 4;
        Walker {
            word,
            callee,
            caller: [None; 8],
            cfa: 0,
            ra: 0,
            stack,
        }
    }
    fn slot(&self, name: &str) -> Option<usize> {
        self.callee.iter().position(|(n, _)| *n == name)
    }
}

macro_rules! frame_walker {
    ($trait:path) => {
        impl $trait for Walker {
            fn get_instruction(&self) -> u64 {
                BASE + ADDR + 4
            }
            fn has_grand_callee(&self) -> bool {
                true
            }
            fn get_grand_callee_parameter_size(&self) -> u32 {
                4
            }
            fn get_register_at_address(&self, address: u64) -> Option<u64> {
                let at = usize::try_from(address.checked_sub(STACK_BASE)?).ok()?;
                let bytes = self.stack.get(at..at + self.word)?;
                let mut buf = [0u8; 8];
                buf[..self.word].copy_from_slice(bytes);
                Some(u64::from_le_bytes(buf))
            }
            fn get_callee_register(&self, name: &str) -> Option<u64> {
                self.slot(name).map(|i| self.callee[i].1)
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
                self.cfa = val;
                Some(())
            }
            fn set_ra(&mut self, val: u64) -> Option<()> {
                self.ra = val;
                Some(())
            }
        }
    };
}
frame_walker!(tecken_core::FrameWalker);
frame_walker!(breakpad_symbols::FrameWalker);

/// This thread's CPU time: on a machine shared with builds, wall time counts the time the
/// thread waits for a core.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one `timespec` into the struct we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The best of five rounds of `f` run for `secs / 5` of CPU time each, in ns per call.
fn time(secs: f64, mut f: impl FnMut()) -> f64 {
    let round = Duration::from_secs_f64(secs / 5.0);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = cpu_time();
        let mut n = 0u64;
        while cpu_time() - start < round {
            for _ in 0..1024 {
                f();
            }
            n += 1024;
        }
        best = best.min((cpu_time() - start).as_nanos() as f64 / n as f64);
    }
    best
}

struct Row {
    name: &'static str,
    cached: f64,
    ours: f64,
    eval: f64,
    walk_frame: f64,
}

fn cfi_row(
    secs: f64,
    name: &'static str,
    arch: &str,
    init: &str,
    deltas: &[&str],
    walker: Walker,
) -> Row {
    let mut sym = format!("MODULE Linux {arch} 000102030405060708090A0B0C0D0E0F0 bench\n");
    sym += &format!("STACK CFI INIT {ADDR:x} 100 {init}\n");
    for (i, d) in deltas.iter().enumerate() {
        sym += &format!("STACK CFI {:x} {d}\n", ADDR + 1 + i as u64);
    }
    let file = SymbolFile::from_bytes(sym.as_bytes()).expect("the .sym parses");
    let module = SimpleModule {
        base_address: Some(BASE),
        size: Some(0x10000),
        ..Default::default()
    };
    let info = file.cfi_stack_info.get(ADDR + 4).expect("the CFI record");
    let rules = CfiRules {
        init_address: ADDR,
        init_size: 0x100,
        init_rules: init,
        deltas: deltas
            .iter()
            .enumerate()
            .map(|(i, d)| (ADDR + 1 + i as u64, *d))
            .collect(),
    };
    let n = deltas.len().min(4);

    // Both unwind, to the same registers.
    let (mut a, mut b) = (walker.clone(), walker.clone());
    assert!(
        walk_cfi(&rules, &mut a).is_some(),
        "{name}: tecken-core unwinds"
    );
    assert!(
        file.walk_frame(&module, &mut b).is_some(),
        "{name}: breakpad-symbols unwinds"
    );
    assert_eq!((a.cfa, a.ra, a.caller), (b.cfa, b.ra, b.caller), "{name}");

    let mut w = walker;
    let mut cache = UnwindCache::new();
    let cached = time(secs, || {
        black_box(cache.walk_cfi(black_box(&rules), &mut w));
    });
    let ours = time(secs, || {
        black_box(walk_cfi(black_box(&rules), &mut w));
    });
    let eval = time(secs, || {
        black_box(bp_walker::walk_with_stack_cfi(
            &info.init,
            &info.add_rules[..n],
            &mut w,
        ));
    });
    let walk_frame = time(secs, || {
        black_box(file.walk_frame(&module, &mut w));
    });
    Row {
        cached,
        name,
        ours,
        eval,
        walk_frame,
    }
}

fn win_row(secs: f64, name: &'static str, program: Option<&str>, walker: Walker) -> Row {
    let (ty, rest) = match program {
        Some(p) => (4, format!("1 {p}")),
        None => (0, "0 1".to_string()),
    };
    let sym = format!(
        "MODULE windows x86 000102030405060708090A0B0C0D0E0F0 bench.pdb\n\
         STACK WIN {ty} {ADDR:x} 100 3 1 8 8 10 0 {rest}\n"
    );
    let file = SymbolFile::from_bytes(sym.as_bytes()).expect("the .sym parses");
    let module = SimpleModule {
        base_address: Some(BASE),
        size: Some(0x10000),
        ..Default::default()
    };
    let record = StackWin {
        kind: if program.is_some() {
            WinKind::FrameData
        } else {
            WinKind::Fpo
        },
        address: ADDR,
        size: 0x100,
        prologue_size: 3,
        epilogue_size: 1,
        parameter_size: 8,
        saved_register_size: 8,
        local_size: 0x10,
        max_stack_size: 0,
        program_string: program,
        allocates_base_pointer: true,
    };

    let (mut a, mut b) = (walker.clone(), walker.clone());
    assert!(
        walk_win(&record, &mut a).is_some(),
        "{name}: tecken-core unwinds"
    );
    assert!(
        file.walk_frame(&module, &mut b).is_some(),
        "{name}: breakpad-symbols unwinds"
    );
    assert_eq!(a.caller, b.caller, "{name}");

    let mut w = walker;
    let mut cache = UnwindCache::new();
    let cached = time(secs, || {
        black_box(cache.walk_win(black_box(&record), &mut w));
    });
    let ours = time(secs, || {
        black_box(walk_win(black_box(&record), &mut w));
    });
    let eval = match program {
        Some(_) => {
            let info = file
                .win_stack_framedata_info
                .get(ADDR + 4)
                .expect("the record");
            time(secs, || {
                black_box(bp_walker::walk_with_stack_win_framedata(info, &mut w));
            })
        }
        None => {
            let info = file.win_stack_fpo_info.get(ADDR + 4).expect("the record");
            time(secs, || {
                black_box(bp_walker::walk_with_stack_win_fpo(info, &mut w));
            })
        }
    };
    let walk_frame = time(secs, || {
        black_box(file.walk_frame(&module, &mut w));
    });
    Row {
        cached,
        name,
        ours,
        eval,
        walk_frame,
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let amd64 = ["rsp", "rbp", "rip", "rbx", "r12", "r13", "r14", "r15"];
    let arm64 = ["sp", "x29", "pc", "x30", "x19", "x20", "x21", "x22"];
    let x86 = ["esp", "ebp", "eip", "ebx", "esi", "edi", "eax", "ecx"];
    let arm = ["sp", "r7", "pc", "lr", "r4", "r5", "r6", "r8"];
    let rows = [
        cfi_row(
            secs,
            "CFI x86_64, INIT only",
            "x86_64",
            ".cfa: $rsp 8 + .ra: .cfa -8 + ^",
            &[],
            Walker::new(8, amd64, 256, 512),
        ),
        cfi_row(
            secs,
            "CFI x86_64, INIT + 3 deltas",
            "x86_64",
            ".cfa: $rsp 8 + .ra: .cfa -8 + ^",
            &[
                ".cfa: $rsp 16 + $rbp: .cfa -16 + ^",
                ".cfa: $rbp 16 +",
                "$rbx: .cfa -24 + ^ $r12: .cfa -32 + ^ $r13: .cfa -40 + ^",
            ],
            Walker::new(8, amd64, 256, 512),
        ),
        cfi_row(
            secs,
            "CFI arm64, INIT + 3 deltas",
            "arm64",
            ".cfa: sp 0 + .ra: x30",
            &[
                ".cfa: sp 32 + .ra: .cfa -24 + ^ x29: .cfa -32 + ^",
                ".cfa: x29 32 +",
                "x19: .cfa -16 + ^ x20: .cfa -8 + ^",
            ],
            Walker::new(8, arm64, 256, 512),
        ),
        cfi_row(
            secs,
            "CFI x86, INIT + 2 deltas",
            "x86",
            ".cfa: $esp 4 + .ra: .cfa -4 + ^",
            &[".cfa: $esp 8 + $ebp: .cfa -8 + ^", ".cfa: $ebp 8 +"],
            Walker::new(4, x86, 256, 512),
        ),
        cfi_row(
            secs,
            "CFI arm, INIT + 1 delta",
            "arm",
            ".cfa: sp 0 + .ra: lr",
            &[".cfa: sp 8 + .ra: .cfa -4 + ^ r7: .cfa -8 + ^"],
            Walker::new(4, arm, 256, 512),
        ),
        win_row(
            secs,
            "WIN FrameData, ebp frame",
            Some("$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="),
            Walker::new(4, x86, 256, 512),
        ),
        win_row(
            secs,
            "WIN FrameData, .raSearch",
            Some("$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + ="),
            Walker::new(4, x86, 256, 512),
        ),
        win_row(
            secs,
            "WIN FrameData, aligned + 3 saved",
            Some(
                "$T1 .raSearch = $T0 $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = \
                 $esp $T1 4 + = $ebx $T0 28 - ^ = $esi $T0 24 - ^ = $edi $T0 20 - ^ =",
            ),
            Walker::new(4, x86, 256, 512),
        ),
        win_row(secs, "WIN FPO", None, Walker::new(4, x86, 256, 512)),
    ];
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>10} {:>8} {:>8}",
        "ns per walk", "cached", "direct", "bp eval", "bp frame", "eval/c", "frame/c"
    );
    for r in rows {
        println!(
            "{:<34} {:>8.1} {:>8.1} {:>8.1} {:>10.1} {:>7.1}x {:>7.1}x",
            r.name,
            r.cached,
            r.ours,
            r.eval,
            r.walk_frame,
            r.eval / r.cached,
            r.walk_frame / r.cached
        );
    }
    println!(
        "cached: UnwindCache::walk_cfi/walk_win, warm; direct: walk_cfi/walk_win; bp eval: \
         breakpad-symbols' walker functions; bp frame: SymbolFile::walk_frame; the ratios \
         are breakpad-symbols' time over the cached walk's."
    );
}
