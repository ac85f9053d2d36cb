//! `tecken stackwalk` against minidump-processor with breakpad-symbols' provider
//! (`Symbolizer` over a `SimpleSymbolSupplier` of the same symbols directory), on synthetic
//! minidumps: x86_64 and ARM64 threads unwound by STACK CFI, x86 by STACK WIN (FrameData and
//! FPO) and CFI, modules with and without symbols. The JSON (every frame's registers, trust,
//! function, file, line and inlines; the modules' symbol status) and the text must be equal.
#![cfg(feature = "stackwalk")]

use std::path::Path;
use std::process::Command;

use minidump::format as md;
use minidump::Minidump;
use minidump_processor::process_minidump;
use minidump_synth::{
    amd64_context, arm64_context, x86_context, DumpString, Memory, Module, SynthMinidump,
    SystemInfo, Thread,
};
use minidump_unwind::{simple_symbol_supplier, Symbolizer};
use test_assembler::{Endian, Section};

const STACK: u64 = 0x7ff0_0000;

/// One module of a dump: its file names, where it is loaded, its PDB70 id and `.sym`.
struct Lib {
    code_file: &'static str,
    pdb: &'static str,
    base: u64,
    guid_data1: u32,
    sym: Option<&'static str>,
}

impl Lib {
    fn debug_id(&self) -> String {
        format!("{:08X}F00DBEEF01020304050607081", self.guid_data1)
    }
}

/// A PDB70 CodeView record naming `pdb` (a Windows path, as compilers write it).
fn cv_record(lib: &Lib) -> Section {
    Section::with_endian(Endian::Little)
        .D32(md::CvSignature::Pdb70 as u32)
        .D32(lib.guid_data1)
        .D16(0xf00d)
        .D16(0xbeef)
        .append_bytes(b"\x01\x02\x03\x04\x05\x06\x07\x08")
        .D32(1)
        .append_bytes(format!("c:\\build\\out\\{}\0", lib.pdb).as_bytes())
}

/// A dump of one thread with `context` and `stack` at [`STACK`], on a Windows `arch`.
fn dump(
    arch: md::ProcessorArchitecture,
    context: Section,
    stack: Section,
    libs: &[Lib],
) -> Vec<u8> {
    let stack = Memory::with_section(stack, STACK);
    let system_info = SystemInfo::new(Endian::Little)
        .set_processor_architecture(arch as u16)
        .set_platform_id(md::PlatformId::VER_PLATFORM_WIN32_NT as u32);
    let thread = Thread::new(Endian::Little, 0x42, &stack, &context);
    let mut d = SynthMinidump::with_endian(Endian::Little)
        .add_thread(thread)
        .add(context)
        .add_memory(stack)
        .add_system_info(system_info);
    for lib in libs {
        let name = DumpString::new(
            &format!("C:\\Program Files\\App\\{}", lib.code_file),
            Endian::Little,
        );
        let cv = cv_record(lib);
        let module =
            Module::new(Endian::Little, lib.base, 0x10000, &name, 0, 0, None).cv_record(&cv);
        d = d.add_module(module).add(name).add(cv);
    }
    d.finish().unwrap()
}

/// Writes the libraries' `.sym` files as `{pdb}/{id}/{stem}.sym`, as both providers read.
fn symbols(dir: &Path, libs: &[Lib]) {
    for lib in libs {
        let Some(sym) = lib.sym else { continue };
        let id = lib.debug_id();
        let d = dir.join(lib.pdb).join(&id);
        std::fs::create_dir_all(&d).unwrap();
        let stem = lib.pdb.strip_suffix(".pdb").unwrap();
        let text = format!("MODULE windows x86_64 {id} {}\n{sym}", lib.pdb);
        std::fs::write(d.join(format!("{stem}.sym")), text).unwrap();
    }
}

/// Words of `size` bytes at [`STACK`]: `(offset, value)`, the rest zero.
fn stack(size: usize, word: u8, words: &[(u64, u64)]) -> Section {
    let mut bytes = vec![0u8; size];
    for &(off, v) in words {
        let off = off as usize;
        let w = usize::from(word);
        bytes[off..off + w].copy_from_slice(&v.to_le_bytes()[..w]);
    }
    Section::with_endian(Endian::Little).append_bytes(&bytes)
}

/// Runs both and compares their JSON and text.
fn compare(name: &str, dump_bytes: Vec<u8>, libs: &[Lib]) -> serde_json::Value {
    compare_with(name, dump_bytes, libs, |_| {})
}

/// [`compare`], with `edit` changing the symbols directory first.
fn compare_with(
    name: &str,
    dump_bytes: Vec<u8>,
    libs: &[Lib],
    edit: impl FnOnce(&Path),
) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let syms = dir.path().join("symbols");
    symbols(&syms, libs);
    edit(&syms);
    let dump_path = dir.path().join(format!("{name}.dmp"));
    std::fs::write(&dump_path, &dump_bytes).unwrap();

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tecken"))
            .arg("stackwalk")
            .arg(&dump_path)
            .arg("--symbols")
            .arg(&syms)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ours_json: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    let ours_text = run(&[]);

    let dump = Minidump::read(&dump_bytes[..]).unwrap();
    let provider = Symbolizer::new(simple_symbol_supplier(vec![syms.clone()]));
    let state = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(process_minidump(&dump, &provider))
        .unwrap();
    let mut json = Vec::new();
    state.print_json(&mut json, false).unwrap();
    let theirs_json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let mut text = Vec::new();
    state.print(&mut text).unwrap();

    // The frames first: a different walk also changes which modules were asked for.
    assert_eq!(
        ours_json["threads"], theirs_json["threads"],
        "{name}: threads differ, tecken (left), breakpad-symbols (right)"
    );
    for (k, theirs) in theirs_json.as_object().unwrap() {
        assert_eq!(
            &ours_json[k], theirs,
            "{name}: `{k}` differs, tecken (left), breakpad-symbols (right)"
        );
    }
    assert_eq!(ours_json, theirs_json);
    assert_eq!(ours_text, String::from_utf8(text).unwrap(), "{name}: text");
    ours_json
}

/// The frames of the one thread: `(function, trust)`.
fn frames_of(json: &serde_json::Value) -> Vec<(String, String)> {
    json["threads"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap_or("?").to_owned(),
                f["trust"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const APP_X64: &str = "\
FILE 0 c:\\src\\app\\main.cpp
FILE 1 c:\\src\\app\\util.h
INLINE_ORIGIN 0 util::helper(int)
FUNC 1000 100 0 crash_here()
INLINE 0 12 0 0 1018 10
1000 18 10 0
1018 10 40 1
1028 d8 13 0
FUNC 2000 100 0 caller(int)
2000 100 30 0
PUBLIC 3000 0 public_thunk
STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 1004 .cfa: $rsp 16 +
STACK CFI 1010 .cfa: $rsp 24 +
STACK CFI INIT 2000 100 .cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^
STACK CFI INIT 3000 20 .cfa: $rsp 8 + .ra: .cfa -8 + ^
";

const LIB_X64: &str = "\
FILE 0 c:\\src\\lib\\lib.cpp
FUNC 100 80 0 lib_entry
100 80 7 0
STACK CFI INIT 100 80 .cfa: $rsp 32 + .ra: .cfa -8 + ^
";

/// The x86_64 dump: STACK CFI with deltas, an inlined call, a PUBLIC, a module without
/// symbols.
fn case_x86_64() -> (Vec<u8>, Vec<Lib>) {
    let libs = vec![
        Lib {
            code_file: "app.exe",
            pdb: "app.pdb",
            base: 0x40_0000,
            guid_data1: 0xa1,
            sym: Some(APP_X64),
        },
        Lib {
            code_file: "lib.dll",
            pdb: "lib.pdb",
            base: 0x50_0000,
            guid_data1: 0xb2,
            sym: Some(LIB_X64),
        },
        Lib {
            code_file: "nosyms.dll",
            pdb: "nosyms.pdb",
            base: 0x60_0000,
            guid_data1: 0xc3,
            sym: None,
        },
    ];
    // crash_here+0x20 (CFA = rsp + 24) -> caller+0x50 (CFA + 16, saves rbp) -> PUBLIC thunk
    // -> lib_entry (CFA + 32) -> nosyms.dll (no symbols: frame pointer or scan).
    let s = stack(
        0x200,
        8,
        &[
            (16, 0x40_2050),
            (24, STACK + 0x100),
            (32, 0x40_3004),
            (40, 0x50_0110),
            (72, 0x60_0100),
            (0x100, STACK + 0x180),
            (0x108, 0x40_2080),
        ],
    );
    let d = dump(
        md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_AMD64,
        amd64_context(Endian::Little, 0x40_1020, STACK),
        s,
        &libs,
    );
    (d, libs)
}

#[test]
fn x86_64_cfi_matches_breakpad_symbols() {
    let (d, libs) = case_x86_64();
    let json = compare("x86_64", d, &libs);
    let f = frames_of(&json);
    assert_eq!(f[0], ("crash_here()".into(), "context".into()));
    assert_eq!(f[1], ("caller(int)".into(), "cfi".into()));
    assert_eq!(f[2], ("public_thunk".into(), "cfi".into()));
    assert_eq!(f[3], ("lib_entry".into(), "cfi".into()));
    // From the module without symbols, the frame pointer caller CFI restored.
    assert_eq!(f[5], ("caller(int)".into(), "frame_pointer".into()));
    assert_eq!(
        json["threads"][0]["frames"][0]["inlines"][0]["function"],
        "util::helper(int)"
    );
}

const APP_ARM64: &str = "\
FILE 0 /src/app/main.c
FUNC 1000 100 0 crash_here
1000 100 5 0
FUNC 2000 100 0 caller
2000 100 9 0
STACK CFI INIT 1000 100 .cfa: sp 0 + .ra: x30
STACK CFI 1008 .cfa: sp 32 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^
STACK CFI INIT 2000 100 .cfa: x29 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^
";

/// The ARM64 dump: STACK CFI from sp, then from x29, into a module without symbols.
fn case_arm64() -> (Vec<u8>, Vec<Lib>) {
    let libs = vec![
        Lib {
            code_file: "app.exe",
            pdb: "app.pdb",
            base: 0x40_0000,
            guid_data1: 0xd4,
            sym: Some(APP_ARM64),
        },
        Lib {
            code_file: "nosyms.dll",
            pdb: "nosyms.pdb",
            base: 0x60_0000,
            guid_data1: 0xe5,
            sym: None,
        },
    ];
    // crash_here+0x10 (CFA = sp + 32; x29 and lr saved below it) -> caller+0x40 (CFA from
    // x29) -> nosyms.dll.
    let s = stack(
        0x200,
        8,
        &[
            (16, STACK + 0x80),
            (24, 0x40_2040),
            (0x80, STACK + 0x100),
            (0x88, 0x60_0200),
        ],
    );
    let d = dump(
        md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_ARM64,
        arm64_context(Endian::Little, 0x40_1010, STACK),
        s,
        &libs,
    );
    (d, libs)
}

#[test]
fn arm64_cfi_matches_breakpad_symbols() {
    let (d, libs) = case_arm64();
    let json = compare("arm64", d, &libs);
    let f = frames_of(&json);
    assert_eq!(f[0], ("crash_here".into(), "context".into()));
    assert_eq!(f[1], ("caller".into(), "cfi".into()));
    assert_eq!(f.len(), 3);
}

const APP_X86: &str = "\
FILE 0 c:\\src\\app\\main.cpp
FUNC 1000 100 4 crash_here(int)
1000 100 5 0
FUNC 2000 100 0 fpo_caller
2000 100 9 0
FUNC 3000 100 0 cfi_caller
3000 100 11 0
STACK WIN 4 1000 100 4 0 8 0 0 0 1 $T0 $esp = $eip $T0 ^ = $esp $T0 4 + =
STACK WIN 0 2000 100 4 0 c 4 8 0 0 0
STACK CFI INIT 3000 100 .cfa: $esp 8 + .ra: .cfa -4 + ^
";

/// The x86 dump: STACK WIN FrameData, FPO, then STACK CFI.
fn case_x86() -> (Vec<u8>, Vec<Lib>) {
    let libs = vec![
        Lib {
            code_file: "app.exe",
            pdb: "app.pdb",
            base: 0x40_0000,
            guid_data1: 0xf6,
            sym: Some(APP_X86),
        },
        Lib {
            code_file: "nosyms.dll",
            pdb: "nosyms.pdb",
            base: 0x60_0000,
            guid_data1: 0x17,
            sym: None,
        },
    ];
    // crash_here (FrameData: return address at esp) -> fpo_caller (FPO: locals 8, saved
    // registers 4) -> cfi_caller (CFI) -> nosyms.dll.
    let s = stack(
        0x200,
        4,
        &[
            (0, 0x40_2010),
            // FPO frame size: locals 8 + saved registers 4 + crash_here's parameters 8
            // (its STACK WIN record's, not its FUNC's 4).
            (4 + 20, 0x40_3020),
            (4 + 20 + 4 + 4, 0x60_0300),
        ],
    );
    let d = dump(
        md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_INTEL,
        x86_context(Endian::Little, 0x40_1010, STACK as u32),
        s,
        &libs,
    );
    (d, libs)
}

#[test]
fn x86_stack_win_matches_breakpad_symbols() {
    let (d, libs) = case_x86();
    let json = compare("x86", d, &libs);
    let f = frames_of(&json);
    assert_eq!(f[0], ("crash_here(int)".into(), "context".into()));
    assert_eq!(f[1], ("fpo_caller".into(), "cfi".into()));
    assert_eq!(f[2], ("cfi_caller".into(), "cfi".into()));
    assert_eq!(f.len(), 4);
}

#[test]
fn cache_is_used_and_errors_have_their_exit_codes() {
    let libs = [Lib {
        code_file: "app.exe",
        pdb: "app.pdb",
        base: 0x40_0000,
        guid_data1: 0x29,
        sym: Some(APP_X64),
    }];
    let dir = tempfile::tempdir().unwrap();
    let syms = dir.path().join("symbols");
    let cache = dir.path().join("cache");
    symbols(&syms, &libs);
    let dump_path = dir.path().join("a.dmp");
    let d = dump(
        md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_AMD64,
        amd64_context(Endian::Little, 0x40_1020, STACK),
        stack(0x100, 8, &[(16, 0x40_2050)]),
        &libs,
    );
    std::fs::write(&dump_path, d).unwrap();
    let run = |dump: &Path, symbols: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tecken"))
            .arg("stackwalk")
            .arg(dump)
            .arg("--symbols")
            .arg(symbols)
            .arg("--cache")
            .arg(&cache)
            .args(["--json", "--pretty"])
            .output()
            .unwrap()
    };
    let first = run(&dump_path, &syms);
    assert!(first.status.success());
    assert!(std::fs::read_dir(&cache).unwrap().next().is_some());
    // The second run answers from the cache alone: the symbols are gone.
    std::fs::remove_dir_all(syms.join("app.pdb")).unwrap();
    let second = run(&dump_path, &syms);
    assert!(second.status.success());
    assert_eq!(first.stdout, second.stdout);
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(json["threads"][0]["frames"][1]["function"], "caller(int)");

    // Not a minidump: the work failed (1). No --symbols: usage (2).
    let not_dump = dir.path().join("not.dmp");
    std::fs::write(&not_dump, b"MDMP but not really").unwrap();
    assert_eq!(run(&not_dump, &syms).status.code(), Some(1));
    let o = Command::new(env!("CARGO_BIN_EXE_tecken"))
        .args(["stackwalk", "x.dmp"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// SplitMix64: the random walks below are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Arch {
    X86_64,
    Arm64,
    X86,
}

/// A random chain of frames through two modules' functions, each unwound by its own
/// record (STACK CFI with a delta at times; on x86 STACK WIN FrameData or FPO, whose frame
/// size depends on the grand-callee's parameter size), then a return into a module without
/// symbols. Returns the dump and the libraries.
fn random_walk(rng: &mut Rng, arch: Arch, n: u32) -> (Vec<u8>, Vec<Lib>, usize) {
    const FUNCS: u64 = 8;
    let w: u64 = if arch == Arch::X86 { 4 } else { 8 };
    // Per module and function: the frame size before and after offset 0x20, and for x86
    // whether it is FPO, and its STACK WIN parameter size.
    struct F {
        sizes: [u64; 2],
        fpo: bool,
        params: u64,
        locals: u64,
        saved: u64,
    }
    let mut funcs: Vec<Vec<F>> = Vec::new();
    let mut syms = Vec::new();
    for _ in 0..2 {
        let mut text = String::from("FILE 0 c:\\src\\f.cpp\n");
        let mut fs = Vec::new();
        for i in 0..FUNCS {
            let a = 0x1000 + i * 0x100;
            let f = F {
                sizes: [w * (1 + rng.below(6)), w * (1 + rng.below(10))],
                fpo: arch == Arch::X86 && rng.below(2) == 0,
                params: 4 * rng.below(4),
                locals: 4 * rng.below(8),
                saved: 4 * rng.below(3),
            };
            text += &format!(
                "FUNC {a:x} 100 {:x} f{i}\n{a:x} 100 {} 0\n",
                f.params + 4,
                i + 1
            );
            match arch {
                Arch::X86_64 => {
                    text += &format!(
                        "STACK CFI INIT {a:x} 100 .cfa: $rsp {} + .ra: .cfa -8 + ^\n",
                        f.sizes[0]
                    );
                    text += &format!("STACK CFI {:x} .cfa: $rsp {} +\n", a + 0x20, f.sizes[1]);
                }
                Arch::Arm64 => {
                    text += &format!(
                        "STACK CFI INIT {a:x} 100 .cfa: sp {} + .ra: .cfa -8 + ^\n",
                        f.sizes[0]
                    );
                    text += &format!("STACK CFI {:x} .cfa: sp {} +\n", a + 0x20, f.sizes[1]);
                }
                Arch::X86 if f.fpo => {
                    text += &format!(
                        "STACK WIN 0 {a:x} 100 0 0 {:x} {:x} {:x} 0 0 0\n",
                        f.params, f.saved, f.locals
                    );
                }
                Arch::X86 => {
                    // Both halves the same size: a FrameData record covers the function.
                    text += &format!(
                        "STACK WIN 4 {a:x} 100 0 0 {:x} 0 0 0 1 $T0 $esp {} + = $eip $T0 ^ = $esp $T0 4 + =\n",
                        f.params,
                        f.sizes[0] - 4
                    );
                }
            }
            fs.push(f);
        }
        funcs.push(fs);
        syms.push(text);
    }
    let libs = vec![
        Lib {
            code_file: "a.dll",
            pdb: "a.pdb",
            base: 0x40_0000,
            guid_data1: 0x1000 + n,
            sym: Some(Box::leak(syms[0].clone().into_boxed_str())),
        },
        Lib {
            code_file: "b.dll",
            pdb: "b.pdb",
            base: 0x50_0000,
            guid_data1: 0x2000 + n,
            sym: Some(Box::leak(syms[1].clone().into_boxed_str())),
        },
        Lib {
            code_file: "c.dll",
            pdb: "c.pdb",
            base: 0x60_0000,
            guid_data1: 0x3000 + n,
            sym: None,
        },
    ];
    let frames = 1 + rng.below(10) as usize;
    let mut words = Vec::new();
    let mut sp = 0u64;
    let mut grand_callee_params = 0;
    let pick = |rng: &mut Rng, j: usize| {
        let (m, i) = (rng.below(2) as usize, rng.below(FUNCS));
        // Distinct offsets: no return address equals the instruction it returns from.
        // Callers are looked up at the return address - 1: never at a delta's address.
        let off = 0x04 + j as u64 + 0x20 * rng.below(2);
        (m, i, libs[m].base + 0x1000 + i * 0x100 + off, off)
    };
    let (mut m, mut i, pc0, mut off) = pick(rng, 0);
    for j in 0..frames {
        let f = &funcs[m][i as usize];
        let size = if f.fpo {
            f.locals + f.saved + grand_callee_params + 4
        } else if arch == Arch::X86 {
            f.sizes[0]
        } else {
            f.sizes[usize::from(off >= 0x20)]
        };
        grand_callee_params = f.params;
        let ra_at = sp + size - w;
        let next = if j + 1 == frames {
            (0, 0, 0x60_0100, 0)
        } else {
            pick(rng, j + 1)
        };
        words.push((ra_at, next.2));
        sp += size;
        (m, i, off) = (next.0, next.1, next.3);
    }
    let stack_bytes = stack(0x400, w as u8, &words);
    let d = match arch {
        Arch::X86_64 => dump(
            md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_AMD64,
            amd64_context(Endian::Little, pc0, STACK),
            stack_bytes,
            &libs,
        ),
        Arch::Arm64 => dump(
            md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_ARM64,
            arm64_context(Endian::Little, pc0, STACK),
            stack_bytes,
            &libs,
        ),
        Arch::X86 => dump(
            md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_INTEL,
            x86_context(Endian::Little, pc0 as u32, STACK as u32),
            stack_bytes,
            &libs,
        ),
    };
    (d, libs, frames)
}

#[test]
fn random_walks_match_breakpad_symbols() {
    let mut rng = Rng(0x57ac);
    for arch in [Arch::X86_64, Arch::Arm64, Arch::X86] {
        let mut walked = 0;
        for n in 0..25 {
            let (d, libs, frames) = random_walk(&mut rng, arch, n);
            let json = compare(&format!("{arch:?} walk {n}"), d, &libs);
            let f = frames_of(&json);
            // Every designed frame was unwound by its record.
            let by_records = f.iter().skip(1).take_while(|(_, t)| t == "cfi").count();
            walked += usize::from(by_records >= frames);
        }
        assert_eq!(
            walked, 25,
            "{arch:?}: {walked} of 25 walks went as designed"
        );
    }
}

#[test]
fn unusable_symbols_are_corrupt_as_in_breakpad_symbols() {
    let libs = [Lib {
        code_file: "app.exe",
        pdb: "app.pdb",
        base: 0x40_0000,
        guid_data1: 0x77,
        sym: Some(APP_X64),
    }];
    let d = || {
        dump(
            md::ProcessorArchitecture::PROCESSOR_ARCHITECTURE_AMD64,
            amd64_context(Endian::Little, 0x40_1020, STACK),
            stack(0x100, 8, &[(16, 0x40_2050)]),
            &libs,
        )
    };
    let sym_path = |syms: &Path| {
        syms.join("app.pdb")
            .join(libs[0].debug_id())
            .join("app.sym")
    };
    let json = compare_with("not a .sym", d(), &libs, |syms| {
        std::fs::write(sym_path(syms), "\0\u{1}not a sym file\n").unwrap();
    });
    assert_eq!(json["modules"][0]["corrupt_symbols"], true);
    assert_eq!(json["modules"][0]["loaded_symbols"], true);

    // An empty file: breakpad-symbols counts it corrupt, tecken missing (the symbolicator
    // tells an empty file from none only by its size).
    let dir = tempfile::tempdir().unwrap();
    let syms = dir.path().join("symbols");
    symbols(&syms, &libs);
    std::fs::write(sym_path(&syms), "").unwrap();
    let dump_path = dir.path().join("a.dmp");
    std::fs::write(&dump_path, d()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tecken"))
        .arg("stackwalk")
        .arg(&dump_path)
        .arg("--symbols")
        .arg(&syms)
        .arg("--json")
        .output()
        .unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ours["modules"][0]["missing_symbols"], true);
}

/// minidump-processor's JSON over breakpad-symbols' provider (`Symbolizer` over a
/// `SimpleSymbolSupplier` of `syms`): what `minidump-stackwalk` prints.
fn breakpad_symbols_json(dump_bytes: &[u8], syms: &Path, pretty: bool) -> String {
    let dump = Minidump::read(dump_bytes).unwrap();
    let provider = Symbolizer::new(simple_symbol_supplier(vec![syms.to_path_buf()]));
    let state = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(process_minidump(&dump, &provider))
        .unwrap();
    let mut json = Vec::new();
    state.print_json(&mut json, pretty).unwrap();
    json.push(b'\n');
    String::from_utf8(json).unwrap()
}

/// The repository's `fixtures/minidumps/`.
fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/minidumps")
}

/// The bundled dumps: `(name, dump, libraries)`.
fn bundled() -> Vec<(&'static str, Vec<u8>, Vec<Lib>)> {
    let (a, al) = case_x86_64();
    let (b, bl) = case_arm64();
    let (c, cl) = case_x86();
    vec![("x86_64", a, al), ("arm64", b, bl), ("x86", c, cl)]
}

/// The hostile dumps made from the x86_64 one: cut in half (the stream directory, at the
/// end, is lost), and with the thread's stack memory claiming ~4 GiB (in the thread list
/// and in the memory list), so that no stack can be read.
fn hostile(x86_64: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let truncated = x86_64[..x86_64.len() / 2].to_vec();
    let word = |at: usize| u32::from_le_bytes(x86_64[at..at + 4].try_into().unwrap()) as usize;
    let (count, dir) = (word(8), word(12));
    let stream = |ty: u32| {
        (0..count)
            .map(|i| dir + 12 * i)
            .find(|&e| word(e) == ty as usize)
            .map(|e| word(e + 8))
            .unwrap()
    };
    let mut lying = x86_64.to_vec();
    let huge = 0xffff_fff0u32.to_le_bytes();
    // MINIDUMP_THREAD: id, suspend count, priority class, priority, TEB (8), then the stack
    // descriptor: start (8), size, RVA. MINIDUMP_MEMORY_LIST: count, then descriptors.
    let thread_stack_size = stream(md::MINIDUMP_STREAM_TYPE::ThreadListStream as u32) + 4 + 24 + 8;
    let memory_size = stream(md::MINIDUMP_STREAM_TYPE::MemoryListStream as u32) + 4 + 8;
    lying[thread_stack_size..thread_stack_size + 4].copy_from_slice(&huge);
    lying[memory_size..memory_size + 4].copy_from_slice(&huge);
    vec![("x86_64-truncated", truncated), ("x86_64-lying", lying)]
}

/// `fixtures/minidumps/` holds the synthetic dumps above, their `.sym` files and the JSON
/// minidump-processor prints for them over breakpad-symbols, for the bindings' tests:
/// regenerated here and compared byte for byte (`TECKEN_BLESS_MINIDUMPS=1` writes them
/// after a deliberate change), then `tecken stackwalk --json` on the committed files must
/// print that JSON.
#[test]
fn bundled_minidumps_are_current_and_tecken_matches_their_json() {
    let bless = std::env::var_os("TECKEN_BLESS_MINIDUMPS").is_some();
    let dir = fixtures_dir();
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("symbols");
    let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    let cases = bundled();
    for (name, d, libs) in &cases {
        symbols(&fresh, libs);
        let json = breakpad_symbols_json(d, &fresh, true);
        files.push((dir.join(format!("{name}.dmp")), d.clone()));
        files.push((dir.join(format!("{name}.json")), json.into_bytes()));
        for lib in libs.iter().filter(|l| l.sym.is_some()) {
            let rel = Path::new(lib.pdb)
                .join(lib.debug_id())
                .join(format!("{}.sym", lib.pdb.strip_suffix(".pdb").unwrap()));
            let text = std::fs::read(fresh.join(&rel)).unwrap();
            files.push((dir.join("symbols").join(rel), text));
        }
    }
    for (name, d) in hostile(&cases[0].1) {
        files.push((dir.join(format!("{name}.dmp")), d));
    }
    for (path, bytes) in &files {
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let committed = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (TECKEN_BLESS_MINIDUMPS=1 writes it)",
                path.display()
            )
        });
        assert!(
            committed == *bytes,
            "{} is not what this test makes (TECKEN_BLESS_MINIDUMPS=1 rewrites it)",
            path.display()
        );
    }

    for (name, _, _) in &cases {
        let out = Command::new(env!("CARGO_BIN_EXE_tecken"))
            .arg("stackwalk")
            .arg(dir.join(format!("{name}.dmp")))
            .arg("--symbols")
            .arg(dir.join("symbols"))
            .args(["--json", "--pretty"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}");
        let expected = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected, "{name}");
    }
}

/// How `tecken_core::stackwalk` answers a dump: its JSON, or its error's kind and message.
fn walk_in_process(
    bytes: &[u8],
    symbolicator: &std::sync::Arc<tecken_core::Symbolicator>,
) -> Result<String, (tecken_core::ErrorKind, String)> {
    tecken_core::stackwalk(
        tecken_core::MinidumpSource::Bytes(bytes),
        symbolicator.clone(),
        &tecken_core::StackwalkOptions::default(),
    )
    .and_then(|w| w.to_json(false))
    .map_err(|e| (e.kind(), e.to_string()))
}

/// Every prefix of each bundled dump, and each dump with any one 32-bit word replaced by a
/// lie (huge, or past the end): an answer or an `invalid_input` error, never a panic (the
/// core would answer `internal`).
#[test]
fn truncated_and_lying_dumps_are_errors_or_short_walks_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let syms = dir.path().join("symbols");
    let mut all = Vec::new();
    for (name, d, libs) in bundled() {
        symbols(&syms, &libs);
        all.push((name, d));
    }
    let symbolicator = std::sync::Arc::new(tecken_core::Symbolicator::local(&syms, None).unwrap());
    let (mut errors, mut answers) = (0, 0);
    let mut check = |what: String, bytes: &[u8]| match walk_in_process(bytes, &symbolicator) {
        Ok(json) => {
            serde_json::from_str::<serde_json::Value>(&json).unwrap();
            answers += 1;
        }
        Err((kind, message)) => {
            assert_eq!(
                kind,
                tecken_core::ErrorKind::InvalidInput,
                "{what}: {message}"
            );
            assert!(message.contains("minidump"), "{what}: {message}");
            errors += 1;
        }
    };
    for (name, d) in &all {
        for len in (0..d.len()).step_by(5) {
            check(format!("{name} cut at {len}"), &d[..len]);
        }
        for at in (0..d.len() - 3).step_by(4) {
            for lie in [0xffff_fff0u32, 0x7fff_ffff, d.len() as u32 - 2] {
                let mut bad = d.clone();
                bad[at..at + 4].copy_from_slice(&lie.to_le_bytes());
                check(format!("{name} with {lie:#x} at {at}"), &bad);
            }
        }
    }
    assert!(
        errors > 0 && answers > 0,
        "{errors} errors, {answers} answers"
    );

    // The committed hostile dumps, through the CLI: a message and exit code 1, or JSON with
    // the one frame the context gives (no stack memory to unwind with).
    let fixtures = fixtures_dir();
    for (name, expect_error) in [("x86_64-truncated", true), ("x86_64-lying", false)] {
        let out = Command::new(env!("CARGO_BIN_EXE_tecken"))
            .arg("stackwalk")
            .arg(fixtures.join(format!("{name}.dmp")))
            .arg("--symbols")
            .arg(fixtures.join("symbols"))
            .arg("--json")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{name}: {:?} {stderr}", out.status.code());
        if expect_error {
            assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
            assert!(stderr.contains("minidump"), "{name}: {stderr}");
        } else {
            assert!(out.status.success(), "{name}: {stderr}");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                frames_of(&json),
                [("crash_here()".into(), "context".into())]
            );
        }
    }
}
