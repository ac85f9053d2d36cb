//! A [`FrameWalker`] over a map of callee registers and a little-endian stack, recording
//! everything the evaluators do to the caller, for the unit tests.

use super::FrameWalker;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub(crate) struct TestWalker {
    pub instruction: u64,
    pub has_grand_callee: bool,
    pub grand_callee_parameter_size: u32,
    /// 4 or 8: the size of what `get_register_at_address` reads.
    pub word: usize,
    pub stack_base: u64,
    pub stack: Vec<u8>,
    pub callee: BTreeMap<&'static str, u64>,
    /// The register names the caller has; setting another one fails.
    pub known: &'static [&'static str],
    pub caller: BTreeMap<String, u64>,
    pub cleared: Vec<String>,
    pub cfa: Option<u64>,
    pub ra: Option<u64>,
    pub start_addresses: Vec<Option<u64>>,
}

pub(crate) const X86: &[&str] = &[
    "eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx",
];
pub(crate) const AMD64: &[&str] = &[
    "rip", "rsp", "rbp", "rbx", "r12", "r13", "r14", "r15", "rax", "rcx", "rdx", "rsi", "rdi",
];
pub(crate) const ARM: &[&str] = &[
    "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "sp", "lr", "pc",
];
pub(crate) const ARM64: &[&str] = &[
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp", "pc",
];

impl TestWalker {
    pub(crate) fn new(word: usize, known: &'static [&'static str]) -> TestWalker {
        TestWalker {
            instruction: 0x1000,
            has_grand_callee: true,
            grand_callee_parameter_size: 0,
            word,
            stack_base: 0x8000,
            stack: vec![0; 0x400],
            callee: BTreeMap::new(),
            known,
            caller: BTreeMap::new(),
            cleared: Vec::new(),
            cfa: None,
            ra: None,
            start_addresses: Vec::new(),
        }
    }

    pub(crate) fn reg(mut self, name: &'static str, v: u64) -> TestWalker {
        self.callee.insert(name, v);
        self
    }

    /// Stores a word at the absolute address `at`.
    pub(crate) fn mem(mut self, at: u64, v: u64) -> TestWalker {
        let off = (at - self.stack_base) as usize;
        let bytes = v.to_le_bytes();
        self.stack[off..off + self.word].copy_from_slice(&bytes[..self.word]);
        self
    }

    pub(crate) fn caller(&self, name: &str) -> Option<u64> {
        self.caller.get(name).copied()
    }

    /// Forgets what a previous walk did to the caller.
    pub(crate) fn reset(&mut self) {
        self.caller.clear();
        self.cleared.clear();
        self.cfa = None;
        self.ra = None;
    }
}

impl FrameWalker for TestWalker {
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
        let off = usize::try_from(address.checked_sub(self.stack_base)?).ok()?;
        let bytes = self.stack.get(off..off.checked_add(self.word)?)?;
        let mut buf = [0u8; 8];
        buf[..self.word].copy_from_slice(bytes);
        Some(u64::from_le_bytes(buf))
    }
    fn get_callee_register(&self, name: &str) -> Option<u64> {
        self.callee.get(name).copied()
    }
    fn set_caller_register(&mut self, name: &str, val: u64) -> Option<()> {
        if !self.known.contains(&name) {
            return None;
        }
        let val = if self.word == 4 {
            val & 0xffff_ffff
        } else {
            val
        };
        self.caller.insert(name.to_string(), val);
        Some(())
    }
    fn clear_caller_register(&mut self, name: &str) {
        self.cleared.push(name.to_string());
        self.caller.remove(name);
    }
    fn set_cfa(&mut self, val: u64) -> Option<()> {
        self.cfa = Some(val);
        Some(())
    }
    fn set_ra(&mut self, val: u64) -> Option<()> {
        self.ra = Some(val);
        Some(())
    }
    fn set_cfi_rules_start_address(&mut self, addr: Option<u64>) {
        self.start_addresses.push(addr);
    }
}
