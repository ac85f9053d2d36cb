//! Arbitrary rule strings and program strings through the STACK CFI and STACK WIN
//! evaluators, over an arbitrary register and stack state: they never panic, and a walk
//! that fails has not set the CFA or return address half-way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tecken_core::{walk_cfi, walk_cfi_in_module, walk_win, CfiRules, FrameWalker, StackWin, WinKind};

/// Registers from the data's first bytes, the rest of the data as the stack (and, split on
/// `\n`, the rule strings).
struct Walker<'a> {
    regs: [u64; 4],
    stack: &'a [u8],
    word: usize,
    sets: usize,
    cfa: Option<u64>,
    ra: Option<u64>,
}

const NAMES: [&str; 4] = ["esp", "ebp", "rsp", "sp"];

impl FrameWalker for Walker<'_> {
    fn get_instruction(&self) -> u64 {
        self.regs[0]
    }
    fn has_grand_callee(&self) -> bool {
        self.regs[1] & 1 == 1
    }
    fn get_grand_callee_parameter_size(&self) -> u32 {
        self.regs[2] as u32
    }
    fn get_register_at_address(&self, address: u64) -> Option<u64> {
        let at = usize::try_from(address).ok()?;
        let bytes = self.stack.get(at..at.checked_add(self.word)?)?;
        let mut buf = [0u8; 8];
        buf[..self.word].copy_from_slice(bytes);
        Some(u64::from_le_bytes(buf))
    }
    fn get_callee_register(&self, name: &str) -> Option<u64> {
        match name {
            "eip" | "rip" | "pc" => Some(self.regs[0]),
            "ebx" | "x29" => Some(self.regs[3]),
            _ => NAMES.iter().position(|n| *n == name).map(|i| self.regs[i % 4]),
        }
    }
    fn set_caller_register(&mut self, name: &str, _val: u64) -> Option<()> {
        self.sets += 1;
        (!name.is_empty()).then_some(())
    }
    fn clear_caller_register(&mut self, _name: &str) {}
    fn set_cfa(&mut self, val: u64) -> Option<()> {
        self.cfa = Some(val);
        Some(())
    }
    fn set_ra(&mut self, val: u64) -> Option<()> {
        self.ra = Some(val);
        Some(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_at_checked(32) else {
        return;
    };
    let mut regs = [0u64; 4];
    for (r, chunk) in regs.iter_mut().zip(head.chunks(8)) {
        *r = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    }
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let init = lines.next().unwrap_or("");
    let deltas: Vec<(u64, &str)> = lines.clone().take(8).map(|l| (0, l)).collect();
    let walker = |word| Walker { regs, stack: rest, word, sets: 0, cfa: None, ra: None };

    let rules = CfiRules { init_address: regs[1], init_size: 1, init_rules: init, deltas };
    for word in [4, 8] {
        let mut w = walker(word);
        if walk_cfi(&rules, &mut w).is_none() {
            assert_eq!((w.cfa, w.ra), (None, None));
        }
        let _ = walk_cfi_in_module(&rules, regs[2], &mut walker(word));
    }

    let sizes = regs[3].to_le_bytes();
    for (kind, program) in [
        (WinKind::FrameData, Some(&*text)),
        (WinKind::Fpo, None),
        (WinKind::FrameData, None),
    ] {
        let info = StackWin {
            kind,
            address: 0,
            size: 1,
            prologue_size: 0,
            epilogue_size: 0,
            parameter_size: u32::from(sizes[0]) << 24,
            saved_register_size: u32::from(sizes[1]) << 24,
            local_size: u32::from(sizes[2]) << 24 | u32::from(sizes[3]),
            max_stack_size: 0,
            program_string: program,
            allocates_base_pointer: sizes[4] & 1 == 1,
        };
        let _ = walk_win(&info, &mut walker(4));
    }
});
