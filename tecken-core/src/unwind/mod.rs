//! Stack unwinding from Breakpad's `STACK CFI` and `STACK WIN` records: the records as the
//! index hands them over, and the interface to the caller's registers and memory.
//!
//! The records come from [`crate::Index`] (format 3 stores them); the evaluation follows
//! Breakpad's and rust-minidump's `breakpad-symbols` semantics. The caller (a stack walker
//! such as rust-minidump's `minidump-unwind`) implements [`FrameWalker`]: the trait has the
//! same methods as `breakpad_symbols::FrameWalker`, so an adapter is one line a method.
//!
//! [`walk_cfi`] evaluates `STACK CFI` rules and [`walk_win`] `STACK WIN` records (their
//! languages are described in their modules); neither allocates, and hostile rule strings
//! end in "cannot unwind" (`None`) within fixed limits, never a panic. [`UnwindCache`]
//! compiles the rule strings once for walkers that unwind many frames.

mod cache;
mod cfi;
mod postfix;
#[cfg(test)]
mod test_walker;
mod win;

pub use cache::UnwindCache;
pub use cfi::{walk_cfi, walk_cfi_in_module};
pub use win::walk_win;

/// The caller's view of the frame being unwound: the callee's registers and the stack
/// memory, and where the caller's registers are written.
///
/// Register names are Breakpad's without the `$` the `.sym` file may write (`rsp`, `eip`,
/// `rbp`, `x29`, `sp`, `pc`, ...), as breakpad-symbols passes them; the walker maps them to
/// its own and refuses (or reads as unknown) names it does not have.
pub trait FrameWalker {
    /// The instruction address being unwound from (module-relative addresses are the
    /// index's business; this is the absolute one).
    fn get_instruction(&self) -> u64;
    /// Whether the callee has a callee of its own.
    fn has_grand_callee(&self) -> bool;
    /// How many bytes the grand-callee's parameters take on the stack (0 if unknown); STACK
    /// WIN unwinding needs it.
    fn get_grand_callee_parameter_size(&self) -> u32;
    /// The register-sized value stored at `address`, or `None` if it cannot be read.
    fn get_register_at_address(&self, address: u64) -> Option<u64>;
    /// The value of a register in the callee's frame, or `None` if unknown.
    fn get_callee_register(&self, name: &str) -> Option<u64>;
    /// Sets a register of the caller's frame; `None` if the walker has no such register.
    fn set_caller_register(&mut self, name: &str, val: u64) -> Option<()>;
    /// Marks a register of the caller's frame as unknown.
    fn clear_caller_register(&mut self, name: &str);
    /// Sets the caller's registers that follow from the canonical frame address (the stack
    /// pointer); `None` if the value is refused.
    fn set_cfa(&mut self, val: u64) -> Option<()>;
    /// Sets the caller's registers that follow from the return address (the instruction
    /// pointer); `None` if the value is refused.
    fn set_ra(&mut self, val: u64) -> Option<()>;
    /// Where the CFI rule range covering the instruction begins (the `STACK CFI INIT`
    /// record's address), or `None` when no CFI applies.
    fn set_cfi_rules_start_address(&mut self, _addr: Option<u64>) {}
}

/// The `STACK CFI` rules that apply at one address: the `STACK CFI INIT` record covering
/// it and, in address order, every `STACK CFI` delta of that range at or below the address.
/// Rules are applied in order, a later rule for a register replacing an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfiRules<'a> {
    /// The INIT record's start address (module-relative).
    pub init_address: u64,
    /// The INIT record's size in bytes.
    pub init_size: u64,
    /// The INIT record's rules (`.cfa: $rsp 8 + .ra: .cfa -8 + ^`).
    pub init_rules: &'a str,
    /// `(address, rules)` of each delta at or below the address, ascending.
    pub deltas: Vec<(u64, &'a str)>,
}

/// The kind of a `STACK WIN` record (its first field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WinKind {
    /// 0: FPO data (the frame described by sizes, no program).
    Fpo,
    /// 4: FrameData (a postfix program string, or sizes when the program is absent).
    FrameData,
}

/// One `STACK WIN` record: `STACK WIN type rva code_size prologue_size epilogue_size
/// parameter_size saved_register_size local_size max_stack_size has_program_string
/// program_string_OR_allocates_base_pointer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackWin<'a> {
    /// The record's type.
    pub kind: WinKind,
    /// Start address (module-relative).
    pub address: u64,
    /// Size of the code it covers.
    pub size: u32,
    /// Prologue size.
    pub prologue_size: u32,
    /// Epilogue size.
    pub epilogue_size: u32,
    /// Bytes of parameters the function takes on the stack.
    pub parameter_size: u32,
    /// Bytes of saved registers.
    pub saved_register_size: u32,
    /// Bytes of locals.
    pub local_size: u32,
    /// Maximum stack size.
    pub max_stack_size: u32,
    /// The program string, when `has_program_string` is 1.
    pub program_string: Option<&'a str>,
    /// `allocates_base_pointer`, when there is no program string.
    pub allocates_base_pointer: bool,
}
