//! tecken-core's STACK CFI / STACK WIN evaluators next to breakpad-symbols' walker: one
//! frame walker both can drive, random register and memory states, and random-but-valid
//! and hostile records. The differential test (`tests/unwind_diff.rs`) and the
//! micro-benchmark (`bench-unwind`) share them.
//!
//! breakpad-symbols only walks through a parsed [`SymbolFile`], so every case is also
//! written as a tiny `.sym` ([`Case::sym`]) and walked with `SymbolFile::walk_frame`.

use crate::rng::Rng;
use breakpad_symbols::{SimpleModule, SymbolFile};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use tecken_core::{CfiRules, StackWin, WinKind};

/// Where the module is loaded.
pub const MODULE_BASE: u64 = 0x4000_0000;
/// The module-relative address of the records.
pub const RECORD_ADDRESS: u64 = 0x1000;

/// An architecture as the walker sees it.
#[derive(Debug, Clone, Copy)]
pub struct Arch {
    /// The `.sym` MODULE line's name.
    pub name: &'static str,
    /// Bytes in a register and a stack word.
    pub word: usize,
    /// `$` where Breakpad writes it (everywhere but ARM).
    pub prefix: &'static str,
    /// The stack pointer, frame pointer, instruction pointer and link register (or a second
    /// callee-saved one).
    pub sp: &'static str,
    /// The frame pointer.
    pub fp: &'static str,
    /// The instruction pointer.
    pub ip: &'static str,
    /// Every register the walker knows.
    pub regs: &'static [&'static str],
    /// The registers rust-minidump forwards from the callee (callee-saved).
    pub forwarded: &'static [&'static str],
    /// Where the stack is.
    pub stack_base: u64,
}

/// x86, x86_64, ARM and ARM64.
pub const ARCHES: [Arch; 4] = [
    Arch {
        name: "x86",
        word: 4,
        prefix: "$",
        sp: "esp",
        fp: "ebp",
        ip: "eip",
        regs: &[
            "eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx",
        ],
        forwarded: &["ebp", "ebx", "esi", "edi"],
        stack_base: 0x0010_0000,
    },
    Arch {
        name: "x86_64",
        word: 8,
        prefix: "$",
        sp: "rsp",
        fp: "rbp",
        ip: "rip",
        regs: &[
            "rip", "rsp", "rbp", "rbx", "r12", "r13", "r14", "r15", "rax", "rcx", "rdx", "rsi",
            "rdi",
        ],
        forwarded: &["rbp", "rbx", "r12", "r13", "r14", "r15"],
        stack_base: 0x7ffe_0000_0000,
    },
    Arch {
        name: "arm",
        word: 4,
        prefix: "",
        sp: "sp",
        fp: "r7",
        ip: "pc",
        regs: &[
            "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "sp", "lr", "pc",
        ],
        forwarded: &["r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"],
        stack_base: 0x0010_0000,
    },
    Arch {
        name: "arm64",
        word: 8,
        prefix: "",
        sp: "sp",
        fp: "x29",
        ip: "pc",
        regs: &[
            "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30",
            "sp", "pc", "lr", "fp",
        ],
        forwarded: &["x19", "x20", "x21", "x22", "x29"],
        stack_base: 0x7ffe_0000_0000,
    },
];

/// Everything a walk did, to compare.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// What the walk returned.
    pub result: Option<()>,
    /// The caller's registers at the end (starting with the forwarded ones).
    pub caller: BTreeMap<String, u64>,
    /// The known registers cleared, sorted (the order of breakpad-symbols' is a HashMap's).
    pub cleared: Vec<String>,
    /// `set_cfa`'s value.
    pub cfa: Option<u64>,
    /// `set_ra`'s value.
    pub ra: Option<u64>,
    /// `set_cfi_rules_start_address`'s calls.
    pub starts: Vec<Option<u64>>,
}

/// A frame walker over a register map and a stack, modelled on rust-minidump's: values
/// that do not fit the architecture's registers are refused, clearing a name it does not
/// know does nothing, the caller starts with the callee's callee-saved registers.
#[derive(Debug, Clone)]
pub struct Walker {
    /// The absolute instruction address.
    pub instruction: u64,
    /// Whether there is a grand-callee.
    pub has_grand_callee: bool,
    /// The grand-callee's parameter size.
    pub grand_callee_parameter_size: u32,
    /// The architecture.
    pub arch: Arch,
    /// The stack's bytes, from `arch.stack_base`.
    pub stack: Vec<u8>,
    /// The callee's registers.
    pub callee: BTreeMap<&'static str, u64>,
    /// What the walk did.
    pub out: Outcome,
}

impl Walker {
    fn fits(&self, v: u64) -> Option<u64> {
        (self.arch.word == 8 || v <= u64::from(u32::MAX)).then_some(v)
    }
    fn known(&self, name: &str) -> bool {
        self.arch.regs.contains(&name)
    }
    fn read(&self, address: u64) -> Option<u64> {
        let off = usize::try_from(address.checked_sub(self.arch.stack_base)?).ok()?;
        let bytes = self.stack.get(off..off.checked_add(self.arch.word)?)?;
        let mut buf = [0u8; 8];
        buf[..bytes.len()].copy_from_slice(bytes);
        Some(u64::from_le_bytes(buf))
    }
    fn set(&mut self, name: &str, val: u64) -> Option<()> {
        if !self.known(name) {
            return None;
        }
        let val = self.fits(val)?;
        self.out.caller.insert(name.to_string(), val);
        Some(())
    }
    fn clear(&mut self, name: &str) {
        if self.known(name) {
            self.out.caller.remove(name);
            self.out.cleared.push(name.to_string());
            self.out.cleared.sort();
        }
    }
    fn set_sp(&mut self, val: u64) -> Option<()> {
        let val = self.fits(val)?;
        self.out.cfa = Some(val);
        self.out.caller.insert(self.arch.sp.to_string(), val);
        Some(())
    }
    fn set_ip(&mut self, val: u64) -> Option<()> {
        let val = self.fits(val)?;
        self.out.ra = Some(val);
        self.out.caller.insert(self.arch.ip.to_string(), val);
        Some(())
    }
}

macro_rules! frame_walker {
    ($trait:path) => {
        impl $trait for Walker {
            fn get_instruction(&self) -> u64 {
                self.instruction
            }
            fn has_grand_callee(&self) -> bool {
                self.has_grand_callee
            }
            fn get_grand_callee_parameter_size(&self) -> u32 {
                self.grand_callee_parameter_size
            }
            fn get_register_at_address(&self, address: u64) -> Option<u64> {
                self.read(address)
            }
            fn get_callee_register(&self, name: &str) -> Option<u64> {
                self.callee.get(name).copied()
            }
            fn set_caller_register(&mut self, name: &str, val: u64) -> Option<()> {
                self.set(name, val)
            }
            fn clear_caller_register(&mut self, name: &str) {
                self.clear(name)
            }
            fn set_cfa(&mut self, val: u64) -> Option<()> {
                self.set_sp(val)
            }
            fn set_ra(&mut self, val: u64) -> Option<()> {
                self.set_ip(val)
            }
            fn set_cfi_rules_start_address(&mut self, addr: Option<u64>) {
                self.out.starts.push(addr)
            }
        }
    };
}
frame_walker!(tecken_core::FrameWalker);
frame_walker!(breakpad_symbols::FrameWalker);

/// The record(s) of one case.
#[derive(Debug, Clone)]
pub enum Records {
    /// `STACK CFI INIT` rules and the deltas, all applying at the instruction.
    Cfi {
        /// The INIT record's rules.
        init: String,
        /// The deltas' rules.
        deltas: Vec<String>,
    },
    /// One `STACK WIN` record.
    Win {
        /// FrameData or FPO.
        kind: WinKind,
        /// parameter, saved registers, locals sizes.
        sizes: [u32; 3],
        /// The program (FrameData) or `allocates_base_pointer` (FPO).
        program: Result<String, bool>,
    },
}

/// One walk to make: a walker's starting state and the records.
#[derive(Debug, Clone)]
pub struct Case {
    /// The walker before the walk.
    pub walker: Walker,
    /// The records.
    pub records: Records,
}

impl Case {
    /// The case as a `.sym` file breakpad-symbols reads.
    pub fn sym(&self) -> String {
        let mut s = format!(
            "MODULE Linux {} 000102030405060708090A0B0C0D0E0F0 test\n",
            self.walker.arch.name
        );
        match &self.records {
            Records::Cfi { init, deltas } => {
                let _ = writeln!(s, "STACK CFI INIT {RECORD_ADDRESS:x} 100 {init}");
                for (i, d) in deltas.iter().enumerate() {
                    let _ = writeln!(s, "STACK CFI {:x} {d}", RECORD_ADDRESS + 1 + i as u64);
                }
            }
            Records::Win {
                kind,
                sizes,
                program,
            } => {
                let (ty, rest) = match (kind, program) {
                    (WinKind::FrameData, Ok(p)) => (4, format!("1 {p}")),
                    (_, Err(abp)) => (0, format!("0 {}", u8::from(*abp))),
                    (_, Ok(p)) => (0, format!("1 {p}")),
                };
                let [params, saved, locals] = sizes;
                let _ = writeln!(
                    s,
                    "STACK WIN {ty} {RECORD_ADDRESS:x} 100 3 1 {params:x} {saved:x} {locals:x} 0 {rest}"
                );
            }
        }
        s
    }

    /// The relative address walked: past every delta.
    pub fn address(&self) -> u64 {
        match &self.records {
            Records::Cfi { deltas, .. } => RECORD_ADDRESS + deltas.len() as u64,
            Records::Win { .. } => RECORD_ADDRESS + 4,
        }
    }

    /// A walker ready to walk this case.
    pub fn fresh_walker(&self) -> Walker {
        let mut w = self.walker.clone();
        w.instruction = MODULE_BASE + self.address();
        w
    }

    /// The module breakpad-symbols walks in.
    pub fn module() -> SimpleModule {
        SimpleModule {
            base_address: Some(MODULE_BASE),
            size: Some(0x10_0000),
            ..SimpleModule::default()
        }
    }

    /// The CFI rules as tecken-core takes them, from what breakpad-symbols parsed (its
    /// parser drops leading blanks), or `None` when it parsed something else than was
    /// written (a line it rejected).
    pub fn cfi_rules<'a>(&self, sym: &'a SymbolFile) -> Option<CfiRules<'a>> {
        let Records::Cfi { deltas, .. } = &self.records else {
            return None;
        };
        let info = sym.cfi_stack_info.get(self.address())?;
        if info.add_rules.len() != deltas.len() {
            return None;
        }
        Some(CfiRules {
            init_address: info.init.address,
            init_size: u64::from(info.size),
            init_rules: &info.init.rules,
            deltas: info
                .add_rules
                .iter()
                .map(|r| (r.address, r.rules.as_str()))
                .collect(),
        })
    }

    /// The STACK WIN record as tecken-core takes it, `None` when breakpad-symbols did not
    /// keep it.
    pub fn win_record<'a>(&'a self, sym: &SymbolFile) -> Option<StackWin<'a>> {
        let Records::Win {
            kind,
            sizes,
            program,
        } = &self.records
        else {
            return None;
        };
        let kept = match kind {
            WinKind::FrameData => sym.win_stack_framedata_info.get(self.address()).is_some(),
            WinKind::Fpo => sym.win_stack_fpo_info.get(self.address()).is_some(),
        };
        if !kept {
            return None;
        }
        let [parameter_size, saved_register_size, local_size] = *sizes;
        Some(StackWin {
            kind: *kind,
            address: RECORD_ADDRESS,
            size: 0x100,
            prologue_size: 3,
            epilogue_size: 1,
            parameter_size,
            saved_register_size,
            local_size,
            max_stack_size: 0,
            // The parser drops the blanks before the program.
            program_string: program
                .as_ref()
                .ok()
                .map(|p| p.trim_start_matches([' ', '\t'])),
            allocates_base_pointer: program.as_ref().err().copied().unwrap_or(false),
        })
    }
}

/// A random walker state for `arch`: a 1 KiB stack of pointers into itself, code-like
/// addresses and noise; the stack and frame pointers inside it; other registers random;
/// each register missing now and then; the caller starting with the forwarded ones.
pub fn random_walker(rng: &mut Rng, arch: Arch) -> Walker {
    let word = arch.word as u64;
    let mut stack = vec![0u8; 1024];
    for chunk in stack.chunks_mut(arch.word) {
        let v = match rng.below(10) {
            0..=4 => arch.stack_base + rng.below(1024 / word) * word,
            5..=7 => MODULE_BASE + rng.below(0x2000),
            _ => rng.next_u64(),
        };
        chunk.copy_from_slice(&v.to_le_bytes()[..arch.word]);
    }
    let mut callee = BTreeMap::new();
    for &r in arch.regs {
        if rng.chance(120) {
            continue;
        }
        let v = if r == arch.sp || r == arch.fp || rng.chance(300) {
            arch.stack_base + rng.below(900 / word) * word
        } else if r == arch.ip {
            MODULE_BASE + RECORD_ADDRESS + 4
        } else if arch.word == 4 {
            rng.next_u64() & 0xffff_ffff
        } else {
            rng.next_u64()
        };
        callee.insert(r, v);
    }
    // Now and then a stack pointer near the top of the 32-bit space (overflow paths).
    if arch.word == 4 && rng.chance(20) {
        callee.insert(arch.sp, 0xffff_fff0 + rng.below(16));
    }
    let mut out = Outcome::default();
    for &r in arch.forwarded {
        if let Some(&v) = callee.get(r) {
            out.caller.insert(r.to_string(), v);
        }
    }
    Walker {
        instruction: 0,
        has_grand_callee: rng.chance(700),
        grand_callee_parameter_size: (rng.below(8) * 4) as u32,
        arch,
        stack,
        callee,
        out,
    }
}

/// Tokens that break things, for hostile records.
const JUNK: &[&str] = &[
    ":",
    "::",
    "=",
    "$",
    ".",
    ".cfa",
    ".ra",
    ".undef",
    "^",
    "+",
    "@",
    "0",
    "-0",
    "+7",
    "0x10",
    "1e3",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "4294967296",
    "-2147483648",
    "abc:",
    "$eip:",
    ".cfa:",
    ".ra:",
    "$T0",
    "$T0:",
    "=$T0",
    "==",
    "a$",
    "\u{e9}",
    "kitties",
    ".raSearch",
    ".cbParams",
];

fn reg_token(rng: &mut Rng, arch: Arch) -> String {
    let r = *rng.pick(arch.regs);
    match rng.below(20) {
        0 => r.to_string(),
        1 => format!("${r}"),
        2 => "kitties".to_string(),
        3 => format!("a${r}"),
        _ => format!("{}{r}", arch.prefix),
    }
}

fn constant(rng: &mut Rng, word: u64) -> String {
    match rng.below(20) {
        0 => "0".into(),
        1 => (rng.next_u64() as i64).to_string(),
        2 => rng.below(1 << 20).to_string(),
        _ => ((rng.below(17) as i64 - 8) * word as i64).to_string(),
    }
}

/// A random CFI expression: mostly the shapes compilers write, sometimes trees of every
/// operator, sometimes junk.
pub fn cfi_expr(rng: &mut Rng, arch: Arch, cfa: bool) -> String {
    let word = arch.word as u64;
    let c = |rng: &mut Rng| constant(rng, word);
    match rng.below(20) {
        0..=6 => format!("{} {} +", reg_token(rng, arch), c(rng)),
        7..=11 if cfa => format!(".cfa {} + ^", c(rng)),
        7..=11 => format!("{} {} + ^", reg_token(rng, arch), c(rng)),
        12 => reg_token(rng, arch),
        13 => c(rng),
        14..=17 => tree(rng, arch, cfa, 3),
        18 => ".undef".into(),
        _ => {
            let mut e = tree(rng, arch, cfa, 2);
            for _ in 0..rng.range(1, 3) {
                e.push(' ');
                let junk = *rng.pick::<&str>(JUNK);
                e.push_str(junk);
            }
            e
        }
    }
}

fn tree(rng: &mut Rng, arch: Arch, cfa: bool, depth: u32) -> String {
    if depth == 0 || rng.chance(300) {
        return match rng.below(4) {
            0 if cfa => ".cfa".into(),
            0 | 1 => reg_token(rng, arch),
            _ => constant(rng, arch.word as u64),
        };
    }
    match rng.below(8) {
        0 => format!("{} ^", tree(rng, arch, cfa, depth - 1)),
        1 => format!(
            "{} {} @",
            tree(rng, arch, cfa, depth - 1),
            rng.pick(&["0", "1", "3", "4", "8", "16", "-16"])
        ),
        _ => format!(
            "{} {} {}",
            tree(rng, arch, cfa, depth - 1),
            tree(rng, arch, cfa, depth - 1),
            rng.pick(&["+", "-", "*", "/", "%", "@"])
        ),
    }
}

fn cfi_line(rng: &mut Rng, arch: Arch, init: bool) -> String {
    let mut rules: Vec<String> = Vec::new();
    if init || rng.chance(600) {
        rules.push(format!(".cfa: {}", cfi_expr(rng, arch, false)));
    }
    if init || rng.chance(400) {
        rules.push(format!(".ra: {}", cfi_expr(rng, arch, true)));
    }
    for _ in 0..rng.below(if init { 3 } else { 4 }) {
        let r = *rng.pick(arch.regs);
        let name = match rng.below(12) {
            0 => ".kitties".into(),
            1 => ".undef".into(),
            2 => r.to_string(),
            _ => format!("{}{r}", arch.prefix),
        };
        rules.push(format!("{name}: {}", cfi_expr(rng, arch, true)));
    }
    if rules.is_empty() {
        rules.push(format!(".cfa: {}", cfi_expr(rng, arch, false)));
    }
    if rng.chance(100) {
        let i = rng.below(rules.len() as u64) as usize;
        let j = rng.below(rules.len() as u64) as usize;
        rules.swap(i, j);
    }
    let mut line = rules.join(if rng.chance(50) { " \t " } else { " " });
    // Hostile: a token dropped, junk added, an expression emptied.
    if rng.chance(60) {
        let mut toks: Vec<&str> = line.split(' ').collect();
        let i = rng.below(toks.len() as u64) as usize;
        match rng.below(3) {
            0 => {
                toks.remove(i);
            }
            1 => toks.insert(i, *rng.pick(JUNK)),
            _ => toks.truncate(i.max(1)),
        }
        line = toks.join(" ");
    }
    line
}

/// A random CFI case on a random architecture.
pub fn cfi_case(rng: &mut Rng) -> Case {
    let arch = *rng.pick(&ARCHES);
    let walker = random_walker(rng, arch);
    let init = cfi_line(rng, arch, true);
    let deltas = (0..rng.below(4))
        .map(|_| cfi_line(rng, arch, false))
        .collect();
    Case {
        walker,
        records: Records::Cfi { init, deltas },
    }
}

/// Program strings MSVC writes (the FrameData programs of Windows system libraries and
/// Firefox's own x86 builds), with `{n}` standing for a constant.
const WIN_PROGRAMS: &[&str] = &[
    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
    "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =",
    "$T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + =",
    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $ebx $T0 {n} - ^ =",
    "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = \
     $P $T0 8 + .cbParams + = $ebx $L {n} - ^ = $esi $L {n} - ^ = $edi $L {n} - ^ =",
    "$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + = $ebx $T0 {n} - ^ = $esi $T0 {n} - ^ =",
    "$T1 .raSearch = $T0 $T1 4 - 8 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = $esp $T1 4 + = \
     $ebx $T0 {n} - ^ = $esi $T0 {n} - ^ = $edi $T0 {n} - ^ =",
    "$T1 .raSearch = $T0 $T1 4 - 64 @ = $ebp $T1 4 - ^ = $eip $T1 ^ = $esp $T1 4 + =",
    "$T2 $esp = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + = $20 $T0 {n} - ^ =",
    "$T0 $ebp = $eip $T0 4 + ^ =$ebp $T0 ^ =$esp $T0 8 + =",
];

const WIN_VARS: &[&str] = &[
    "$T0",
    "$T1",
    "$T2",
    "$eip",
    "$esp",
    "$ebp",
    "$ebx",
    "$esi",
    "$edi",
    "$L",
    "$P",
    ".raSearch",
    ".raSearchStart",
    ".cbParams",
    ".cbSavedRegs",
    ".cbLocals",
    ".cbCalleeParams",
    "$undefined",
];

fn win_expr(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.chance(350) {
        return match rng.below(3) {
            0 => (rng.below(9) * 4).to_string(),
            _ => rng.pick(WIN_VARS).to_string(),
        };
    }
    match rng.below(6) {
        0 | 1 => format!("{} ^", win_expr(rng, depth - 1)),
        _ => format!(
            "{} {} {}",
            win_expr(rng, depth - 1),
            win_expr(rng, depth - 1),
            rng.pick(&["+", "-", "+", "-", "*", "/", "%", "@"])
        ),
    }
}

fn win_program(rng: &mut Rng) -> String {
    let mut p = if rng.chance(600) {
        rng.pick(WIN_PROGRAMS)
            .split("{n}")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_string()
                } else {
                    format!("{}{part}", rng.range(1, 8) * 4)
                }
            })
            .collect::<String>()
    } else {
        let mut p = String::new();
        for _ in 0..rng.range(1, 6) {
            let var = rng.pick(WIN_VARS);
            let value = if rng.chance(50) {
                ".undef".to_string()
            } else {
                win_expr(rng, 3)
            };
            let _ = write!(p, "{var} {value} = ");
        }
        p
    };
    if rng.chance(150) {
        let mut toks: Vec<String> = p.split_whitespace().map(str::to_string).collect();
        let i = rng.below(toks.len() as u64 + 1) as usize;
        match rng.below(4) {
            0 if i < toks.len() => {
                toks.remove(i);
            }
            1 if i + 1 < toks.len() && toks[i] == "=" => {
                let next = toks.remove(i + 1);
                toks[i] = format!("={next}");
            }
            _ => toks.insert(i.min(toks.len()), rng.pick(JUNK).to_string()),
        }
        p = toks.join(" ");
    }
    p
}

/// A random STACK WIN case (x86): FrameData programs, real and random, and FPO records.
pub fn win_case(rng: &mut Rng) -> Case {
    let walker = random_walker(rng, ARCHES[0]);
    let sizes = [
        (rng.below(6) * 4) as u32,
        (rng.below(6) * 4) as u32,
        (rng.below(16) * 4) as u32,
    ];
    let (kind, program) = if rng.chance(700) {
        (WinKind::FrameData, Ok(win_program(rng)))
    } else {
        (WinKind::Fpo, Err(rng.chance(500)))
    };
    Case {
        walker,
        records: Records::Win {
            kind,
            sizes,
            program,
        },
    }
}
