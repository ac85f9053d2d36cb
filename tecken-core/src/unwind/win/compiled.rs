//! A STACK WIN program compiled once: variables numbered, numbers parsed, `=NEXT` split,
//! and what fails whatever the values (an unknown token, stack underflow or overflow)
//! found ahead of time. Running the compiled form is exactly running the text: a program
//! reads and never writes until it has run to the end.

use super::super::postfix::{apply, BinOp, Stack, Tokens, MAX_REGISTERS, MAX_STACK_DEPTH};
use super::super::{FrameWalker, StackWin};
use super::{frame_size, OUTPUTS};

/// The variables every program has a number for; the first nine are set before it runs.
const FIXED: [&str; 12] = [
    "$esp",
    "$ebp",
    "$ebx",
    ".cbParams",
    ".cbCalleeParams",
    ".cbSavedRegs",
    ".cbLocals",
    ".raSearch",
    ".raSearchStart",
    "$eip",
    "$esi",
    "$edi",
];

/// The most variables a compiled program has: the fixed ones and [`MAX_REGISTERS`] more
/// (a program naming more runs uncompiled).
const MAX_VARS: usize = FIXED.len() + MAX_REGISTERS;

#[derive(Debug, Clone, Copy)]
enum Op {
    Bin(BinOp),
    Assign,
    Deref,
    Undef,
    Var(u8),
    Int(u32),
}

/// A value on the stack, packed in a `u64` so that the stack is moved with whole-word
/// loads and stores: a number in the low 32 bits, or [`VAR`] with a variable's number, or
/// [`UNDEF`].
type Val = u64;
const VAR: u64 = 1 << 32;
const UNDEF: u64 = 2 << 32;
/// A variable without a value, in the variables' table (values are 32 bits).
const UNSET: u64 = u64::MAX;

/// A compiled program.
#[derive(Debug)]
pub(crate) struct Program {
    ops: Vec<Op>,
    /// False when the program fails whatever the values.
    valid: bool,
    /// Whether the program aligns the stack (`@` anywhere in it).
    aligns: bool,
    /// False when the program names too many variables to be compiled: it runs as text.
    compiled: bool,
}

impl Program {
    pub(crate) fn compile<'t>(text: &'t str) -> Program {
        let mut p = Program {
            ops: Vec::new(),
            valid: true,
            aligns: text.contains('@'),
            compiled: true,
        };
        let mut names: Vec<&'t str> = FIXED.to_vec();
        let mut depth = 0usize;
        let mut token_op = |token: &'t str, p: &mut Program| -> Option<(Op, usize, usize)> {
            if let Some(b) = BinOp::from_token(token) {
                return Some((Op::Bin(b), 2, 1));
            }
            Some(match token {
                "=" => (Op::Assign, 2, 0),
                "^" => (Op::Deref, 1, 1),
                ".undef" => (Op::Undef, 0, 1),
                _ if token.starts_with(['$', '.']) => {
                    let id = match names.iter().position(|n| *n == token) {
                        Some(id) => id,
                        None if names.len() < MAX_VARS => {
                            names.push(token);
                            names.len() - 1
                        }
                        None => {
                            p.compiled = false;
                            return None;
                        }
                    };
                    (Op::Var(id as u8), 0, 1)
                }
                _ => (Op::Int(token.parse::<i32>().ok()? as u32), 0, 1),
            })
        };
        let mut add = |token: &'t str, p: &mut Program| -> bool {
            let Some((op, pops, pushes)) = token_op(token, p) else {
                return false;
            };
            if depth < pops || depth - pops + pushes > MAX_STACK_DEPTH {
                return false;
            }
            depth = depth - pops + pushes;
            p.ops.push(op);
            true
        };
        for (_, token) in Tokens::new(text) {
            let ok = match token.strip_prefix('=') {
                Some(rest) if !rest.is_empty() => add("=", &mut p) && add(rest, &mut p),
                _ => add(token, &mut p),
            };
            if !ok {
                p.valid = false;
                break;
            }
        }
        p
    }

    /// Whether [`Program::run`] can run it (otherwise the text must be run).
    pub(crate) fn is_compiled(&self) -> bool {
        self.compiled
    }

    /// Runs the program for `info` as `run_program` runs its text.
    pub(crate) fn run(&self, info: &StackWin<'_>, walker: &mut dyn FrameWalker) -> Option<()> {
        let callee_esp = walker.get_callee_register("esp")? as u32;
        let callee_ebp = walker.get_callee_register("ebp")? as u32;
        let grand_callee_parameter_size = walker.get_grand_callee_parameter_size();
        let mut vars = [UNSET; MAX_VARS];
        vars[0] = u64::from(callee_esp);
        vars[1] = u64::from(callee_ebp);
        vars[2] = walker
            .get_callee_register("ebx")
            .map_or(UNSET, |v| u64::from(v as u32));
        let search_start = if self.aligns {
            callee_ebp.checked_add(4)?
        } else {
            callee_esp.checked_add(frame_size(info, grand_callee_parameter_size))?
        };
        vars[3] = u64::from(info.parameter_size);
        vars[4] = u64::from(grand_callee_parameter_size);
        vars[5] = u64::from(info.saved_register_size);
        vars[6] = u64::from(info.local_size);
        vars[7] = u64::from(search_start);
        vars[8] = u64::from(search_start);
        if !self.valid {
            return None;
        }

        // A value as a number: a variable's value (`None` when it has none), `None` for
        // `.undef`.
        #[inline(always)]
        fn int(v: Val, vars: &[u64; MAX_VARS]) -> Option<u32> {
            if v < VAR {
                Some(v as u32)
            } else if v < UNDEF {
                let value = *vars.get((v - VAR) as usize)?;
                (value != UNSET).then_some(value as u32)
            } else {
                None
            }
        }
        let mut stack = Stack::new(UNDEF);
        for op in &self.ops {
            match *op {
                Op::Bin(b) => {
                    let rhs = int(stack.pop()?, &vars)?;
                    let lhs = int(stack.pop()?, &vars)?;
                    stack.push(u64::from(apply(b, lhs, rhs)?))?;
                }
                Op::Assign => {
                    let rhs = stack.pop()?;
                    let lhs = stack.pop()?;
                    if !(VAR..UNDEF).contains(&lhs) {
                        return None;
                    }
                    let value = if rhs == UNDEF {
                        UNSET
                    } else {
                        u64::from(int(rhs, &vars)?)
                    };
                    *vars.get_mut((lhs - VAR) as usize)? = value;
                }
                Op::Deref => {
                    let at = int(stack.pop()?, &vars)?;
                    let word = walker.get_register_at_address(u64::from(at))?;
                    stack.push(u64::from(word as u32))?;
                }
                Op::Undef => stack.push(UNDEF)?,
                Op::Var(id) => stack.push(VAR | u64::from(id))?,
                Op::Int(n) => stack.push(u64::from(n))?,
            }
        }
        // OUTPUTS' variables are FIXED's 9, 0, 1, 2, 10, 11.
        for ((_, reg), id) in OUTPUTS.iter().zip([9, 0, 1, 2, 10, 11]) {
            match vars.get(id) {
                Some(&v) if v != UNSET => walker.set_caller_register(reg, v)?,
                _ => {}
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_numbered_as_fixed() {
        for ((var, _), id) in OUTPUTS.iter().zip([9, 0, 1, 2, 10, 11]) {
            assert_eq!(FIXED[id], *var);
        }
        assert!(MAX_VARS <= usize::from(u8::MAX));
    }
}
