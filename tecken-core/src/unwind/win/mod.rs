//! The `STACK WIN` evaluator (x86 Windows): FrameData program strings and FPO records.
//!
//! **FrameData** (type 4) records carry a postfix program over 32-bit values and named
//! variables: `$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =`. Tokens are numbers
//! (signed decimal, 32 bits), variables (any token starting with `$` or `.`), `.undef`, the
//! operators `+ - * / % @` and `^` (as in CFI, but in `u32`), and `=`, which assigns the
//! value on top of the stack to the variable below it (`.undef` deletes the variable). Some
//! MSVC toolchains write `=$ebp` for `= $ebp`; a token starting with `=` is read as `=`
//! followed by the rest.
//!
//! The program starts with `$esp` and `$ebp` (required) and `$ebx` (when known) from the
//! callee, `.cbParams`, `.cbCalleeParams` (the grand-callee's parameter size, which the
//! walker provides), `.cbSavedRegs`, `.cbLocals` from the record, and `.raSearch` =
//! `.raSearchStart` = where the return address is: `$esp` + locals + saved registers +
//! the grand-callee's parameters, or `$ebp + 4` when the program aligns the stack (`@`
//! anywhere in it), since `$esp` then says nothing about the frame. Afterwards `$eip`,
//! `$esp`, `$ebp`, `$ebx`, `$esi` and `$edi`, those that are defined, are the caller's;
//! values left on the stack are ignored.
//!
//! **FPO** (type 0) records have no program: the return address is at `$esp + frame size`
//! (one word further when it equals the callee's `$eip` in the context frame: a return
//! address left over by a frame-pointer-omitted system call), the caller's `$esp` is just
//! above it, and `$ebp` is either saved in the frame (`allocates_base_pointer`) or the
//! callee's, `$ebx` then being forwarded too.
//!
//! This is breakpad-symbols' evaluation, without Breakpad's stack-scanning heuristics (as
//! breakpad-symbols). Registers the record does not give are not cleared in the caller:
//! breakpad-symbols means to clear them but passes `$`-prefixed names that rust-minidump's
//! walkers do not know, so in practice a caller keeps whatever the walker forwarded from
//! the callee (its callee-saved registers). Breakpad's C++ marks them unknown instead; we
//! follow what minidump-stackwalk actually produces, which is also right for a function
//! that does not save a callee-saved register: it never changes it.

use super::postfix::{apply, BinOp, Stack, Tokens, MAX_REGISTERS, MAX_RULE_LEN};
use super::{FrameWalker, StackWin, WinKind};

mod compiled;
pub(crate) use compiled::Program;

/// Unwinds one x86 frame with a `STACK WIN` record: runs a FrameData record's program, or
/// applies an FPO record's sizes, and sets the caller's registers (`eip`, `esp`, `ebp`,
/// and `ebx`, `esi`, `edi` when known) with `set_caller_register`.
///
/// `None` when the frame cannot be unwound with this record: the callee's `esp` or `ebp`
/// unknown, a malformed or failing program (an undefined variable, unreadable memory,
/// division by zero, an assignment to a number), a record whose kind and program
/// disagree (FrameData without a program, FPO with one: breakpad-symbols drops those when
/// parsing), the walker refusing a register, or a limit exceeded (a program over 64 KiB,
/// an expression deeper than 32 values, more than 76 variables defined). Registers may already
/// have been set when it fails, as with breakpad-symbols; the caller then tries CFI.
pub fn walk_win(info: &StackWin<'_>, walker: &mut dyn FrameWalker) -> Option<()> {
    match (info.kind, info.program_string) {
        (WinKind::FrameData, Some(program)) => run_program(info, program, walker),
        (WinKind::Fpo, None) => walk_fpo(info, walker),
        _ => None,
    }
}

/// The bytes between the callee's `esp` and the return address: locals, saved registers,
/// and the grand-callee's parameters its caller (the callee) pops. Wraps as
/// breakpad-symbols' release builds and Breakpad's C++ (32-bit arithmetic) do.
fn frame_size(info: &StackWin<'_>, grand_callee_parameter_size: u32) -> u32 {
    info.local_size
        .wrapping_add(info.saved_register_size)
        .wrapping_add(grand_callee_parameter_size)
}

pub(crate) fn walk_fpo(info: &StackWin<'_>, walker: &mut dyn FrameWalker) -> Option<()> {
    let grand_callee_parameter_size = walker.get_grand_callee_parameter_size();
    let frame_size = u64::from(frame_size(info, grand_callee_parameter_size));
    let callee_esp = walker.get_callee_register("esp")?;
    let mut eip_address = callee_esp.wrapping_add(frame_size);
    let mut caller_eip = walker.get_register_at_address(eip_address)?;
    // In the context frame (no grand-callee), a return address equal to the instruction
    // pointer is one a frame-pointer-omitted system call left behind: skip it.
    if !walker.has_grand_callee() && caller_eip == walker.get_callee_register("eip")? {
        eip_address = eip_address.wrapping_add(4);
        caller_eip = walker.get_register_at_address(eip_address)?;
    }
    let caller_esp = eip_address.wrapping_add(4);
    let caller_ebp = if info.allocates_base_pointer {
        let at = callee_esp
            .wrapping_add(u64::from(grand_callee_parameter_size))
            .wrapping_add(u64::from(info.saved_register_size))
            .wrapping_sub(8);
        walker.get_register_at_address(at)?
    } else {
        // Breakpad forwards ebx when ebp is not used as a general register: the ntdll
        // forwarding functions of this kind leave it alone, and later programs read it.
        if let Some(ebx) = walker.get_callee_register("ebx") {
            walker.set_caller_register("ebx", ebx)?;
        }
        walker.get_callee_register("ebp")?
    };
    walker.set_caller_register("eip", caller_eip)?;
    walker.set_caller_register("esp", caller_esp)?;
    walker.set_caller_register("ebp", caller_ebp)
}

/// The registers a program's variables give the caller: `(variable, register)`.
const OUTPUTS: [(&str, &str); 6] = [
    ("$eip", "eip"),
    ("$esp", "esp"),
    ("$ebp", "ebp"),
    ("$ebx", "ebx"),
    ("$esi", "esi"),
    ("$edi", "edi"),
];

/// The variables a program may have defined at once: the twelve it starts with or
/// outputs (`$esp`, `$ebp`, `$ebx`, the six constants, `$eip`, `$esi`, `$edi`) and
/// [`MAX_REGISTERS`] more.
const MAX_VARS: usize = 12 + MAX_REGISTERS;

pub(crate) fn run_program(
    info: &StackWin<'_>,
    program: &str,
    walker: &mut dyn FrameWalker,
) -> Option<()> {
    if program.len() > MAX_RULE_LEN {
        return None;
    }
    // Registers are 32 bits; the walker's u64 is truncated as breakpad-symbols does.
    let callee_esp = walker.get_callee_register("esp")? as u32;
    let callee_ebp = walker.get_callee_register("ebp")? as u32;
    let grand_callee_parameter_size = walker.get_grand_callee_parameter_size();
    let mut vars = Vars::default();
    vars.assign("$esp", Some(callee_esp))?;
    vars.assign("$ebp", Some(callee_ebp))?;
    if let Some(ebx) = walker.get_callee_register("ebx") {
        vars.assign("$ebx", Some(ebx as u32))?;
    }
    let search_start = if program.contains('@') {
        // The frame was aligned, so `$esp` tells nothing about it; the standard prologue
        // pushed the caller's ebp right below the return address and points ebp at it.
        callee_ebp.checked_add(4)?
    } else {
        callee_esp.checked_add(frame_size(info, grand_callee_parameter_size))?
    };
    vars.assign(".cbParams", Some(info.parameter_size))?;
    vars.assign(".cbCalleeParams", Some(grand_callee_parameter_size))?;
    vars.assign(".cbSavedRegs", Some(info.saved_register_size))?;
    vars.assign(".cbLocals", Some(info.local_size))?;
    vars.assign(".raSearch", Some(search_start))?;
    vars.assign(".raSearchStart", Some(search_start))?;

    let mut machine = Machine {
        vars,
        stack: Stack::new(Val::Undef),
        walker: &*walker,
    };
    for (_, token) in Tokens::new(program) {
        match token.strip_prefix('=') {
            Some(rest) if !rest.is_empty() => {
                machine.step("=")?;
                machine.step(rest)?;
            }
            _ => machine.step(token)?,
        }
    }
    let vars = machine.vars;
    for (var, reg) in OUTPUTS {
        if let Some(v) = vars.get(var) {
            walker.set_caller_register(reg, u64::from(v))?;
        }
    }
    Some(())
}

/// A value on a program's stack.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    /// A variable: its value is read when an operator uses it, so it can be pushed before
    /// it is assigned.
    Var(&'a str),
    Int(u32),
    Undef,
}

/// The program's variables, at most [`MAX_VARS`].
#[derive(Debug)]
struct Vars<'a> {
    names: [&'a str; MAX_VARS],
    /// `None` once deleted by `.undef`.
    values: [Option<u32>; MAX_VARS],
    len: usize,
}

impl Default for Vars<'_> {
    fn default() -> Self {
        Vars {
            names: [""; MAX_VARS],
            values: [None; MAX_VARS],
            len: 0,
        }
    }
}

impl<'a> Vars<'a> {
    #[inline]
    fn find(&self, name: &str) -> Option<usize> {
        self.names[..self.len].iter().position(|&n| n == name)
    }

    #[inline]
    fn get(&self, name: &str) -> Option<u32> {
        self.values[self.find(name)?]
    }

    /// Sets (`Some`) or deletes (`None`) a variable; `None` when there is no room left.
    fn assign(&mut self, name: &'a str, value: Option<u32>) -> Option<()> {
        match self.find(name) {
            Some(i) => self.values[i] = value,
            // Deleting a variable that never existed changes nothing.
            None if value.is_none() => {}
            None => {
                *self.names.get_mut(self.len)? = name;
                *self.values.get_mut(self.len)? = value;
                self.len += 1;
            }
        }
        Some(())
    }
}

struct Machine<'a, 'w> {
    vars: Vars<'a>,
    stack: Stack<Val<'a>>,
    walker: &'w dyn FrameWalker,
}

impl<'a> Machine<'a, '_> {
    /// A value as a number: a variable's current value (`None` if it has none), `None`
    /// for `.undef`.
    #[inline]
    fn int(&self, v: Val<'a>) -> Option<u32> {
        match v {
            Val::Int(n) => Some(n),
            Val::Var(name) => self.vars.get(name),
            Val::Undef => None,
        }
    }

    #[inline]
    fn pop_int(&mut self) -> Option<u32> {
        let v = self.stack.pop()?;
        self.int(v)
    }

    fn step(&mut self, token: &'a str) -> Option<()> {
        if let Some(op) = BinOp::from_token(token) {
            let rhs = self.pop_int()?;
            let lhs = self.pop_int()?;
            return self.stack.push(Val::Int(apply(op, lhs, rhs)?));
        }
        match token {
            "=" => {
                let rhs = self.stack.pop()?;
                let Val::Var(name) = self.stack.pop()? else {
                    return None;
                };
                let value = match rhs {
                    Val::Undef => None,
                    v => Some(self.int(v)?),
                };
                self.vars.assign(name, value)
            }
            "^" => {
                let at = self.pop_int()?;
                let word = self.walker.get_register_at_address(u64::from(at))?;
                self.stack.push(Val::Int(word as u32))
            }
            ".undef" => self.stack.push(Val::Undef),
            _ if token.starts_with(['$', '.']) => self.stack.push(Val::Var(token)),
            // Rust's i32 syntax (an optional sign, decimal digits), as two's complement.
            _ => self.stack.push(Val::Int(token.parse::<i32>().ok()? as u32)),
        }
    }
}

#[cfg(test)]
mod tests;
