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
    let dir = tempfile::tempdir().unwrap();
    let syms = dir.path().join("symbols");
    symbols(&syms, libs);
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

    for (k, theirs) in theirs_json.as_object().unwrap() {
        assert_eq!(
            &ours_json[k], theirs,
            "{name}: `{k}` differs, tecken (left), breakpad-symbols (right)"
        );
    }
    assert_eq!(ours_json, theirs_json);
    eprintln!("{name}: {:?}", frames(&ours_json));
    assert_eq!(ours_text, String::from_utf8(text).unwrap(), "{name}: text");
    ours_json
}

/// The frames of the one thread: `(function, trust)`.
fn frames(json: &serde_json::Value) -> Vec<(String, String)> {
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

#[test]
fn x86_64_cfi_matches_breakpad_symbols() {
    let libs = [
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
    let json = compare("x86_64", d, &libs);
    let f = frames(&json);
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

#[test]
fn arm64_cfi_matches_breakpad_symbols() {
    let libs = [
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
    let json = compare("arm64", d, &libs);
    let f = frames(&json);
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

#[test]
fn x86_stack_win_matches_breakpad_symbols() {
    let libs = [
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
    let json = compare("x86", d, &libs);
    let f = frames(&json);
    assert_eq!(f[0], ("crash_here(int)".into(), "context".into()));
    assert_eq!(f[1], ("fpo_caller".into(), "cfi".into()));
    assert_eq!(f[2], ("cfi_caller".into(), "cfi".into()));
    assert_eq!(f.len(), 4);
}
