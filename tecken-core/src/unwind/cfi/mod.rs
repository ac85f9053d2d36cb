//! The `STACK CFI` evaluator.
//!
//! A rule string is `REG: EXPR REG: EXPR ...`; `REG` is `.cfa` (the canonical frame
//! address, the caller's stack pointer), `.ra` (the return address, the caller's
//! instruction pointer) or a register, written `$rbx` or `rbx` (the `$` is dropped, as
//! breakpad-symbols does: Breakpad writes it everywhere but on ARM). The INIT record's
//! rules come first, then each delta's in address order, a later rule for a register
//! replacing an earlier one. `.cfa` and `.ra` must both have rules, or the frame cannot be
//! unwound.
//!
//! `EXPR` is postfix: numbers (signed decimal, 64 bits), callee registers (`$rsp`, or `sp`
//! without the `$`), `.cfa` (not in the CFA's own rule), `.undef` (the value is unknown),
//! the binary operators `+ - * / % @` (`@` aligns down to a power of two) and `^` (reads a
//! register-sized word at an address). Values are `u64` whatever the architecture (the
//! walker truncates what it stores); an expression must leave exactly one value.
//!
//! The CFA is computed first, then `.ra`; if either fails, nothing is set and the frame
//! cannot be unwound. Every other register with a rule is then set, or cleared in the
//! caller when its rule fails (it must not be forwarded from the callee). Registers
//! without a rule are left alone: which callee registers a caller inherits is the walker's
//! decision per architecture (rust-minidump forwards the callee-saved ones).

use super::postfix::{apply, BinOp, Stack, Tokens, MAX_REGISTERS, MAX_RULE_LEN};
use super::{CfiRules, FrameWalker};

mod compiled;
pub(crate) use compiled::{Dest as CompiledDest, Line, Rule as CompiledRule};

/// Unwinds one frame with the `STACK CFI` rules that apply at its instruction: sets the
/// caller's CFA (`set_cfa`), return address (`set_ra`) and the registers the rules give
/// (`set_caller_register`, or `clear_caller_register` for those whose rule fails).
///
/// `None` when the frame cannot be unwound with these rules: a malformed rule string, a
/// missing `.cfa` or `.ra` rule, either of those failing to evaluate (an unknown register,
/// unreadable memory, division by zero, `.undef`, a malformed expression), or a limit
/// exceeded (a rule string over 64 KiB, an expression deeper than 32 values, rules for more
/// than 64 registers). This is the behaviour of breakpad-symbols' CFI walker; the address
/// reported by `set_cfi_rules_start_address` is left to the caller, who knows the module's
/// base (see [`walk_cfi_in_module`]).
pub fn walk_cfi(rules: &CfiRules<'_>, walker: &mut dyn FrameWalker) -> Option<()> {
    let mut set = RuleSet::default();
    set.parse(rules.init_rules)?;
    for &(_, delta) in &rules.deltas {
        set.parse(delta)?;
    }
    let cfa = eval(set.cfa?, &*walker, None)?;
    let ra = eval(set.ra?, &*walker, Some(cfa))?;
    walker.set_cfa(cfa)?;
    walker.set_ra(ra)?;
    for rule in &set.others[..set.len] {
        match eval(rule.expr, &*walker, Some(cfa)) {
            // A register the walker does not know is dropped, as breakpad-symbols does.
            Some(value) => {
                let _ = walker.set_caller_register(rule.reg, value);
            }
            None => walker.clear_caller_register(rule.reg),
        }
    }
    Some(())
}

/// [`walk_cfi`] as breakpad-symbols' `SymbolFile::walk_frame` runs it for a module loaded at
/// `module_base`: reports where the rules' range begins (`module_base + init_address`)
/// with `set_cfi_rules_start_address` before the walk, and resets it to `None` after,
/// whether the walk succeeds or not.
pub fn walk_cfi_in_module(
    rules: &CfiRules<'_>,
    module_base: u64,
    walker: &mut dyn FrameWalker,
) -> Option<()> {
    walker.set_cfi_rules_start_address(Some(module_base.wrapping_add(rules.init_address)));
    let result = walk_cfi(rules, walker);
    walker.set_cfi_rules_start_address(None);
    result
}

/// One register's rule: its name (without `$`) and its expression.
#[derive(Debug, Clone, Copy)]
struct Rule<'a> {
    reg: &'a str,
    expr: &'a str,
}

/// The rules in force after applying records in order.
#[derive(Debug)]
struct RuleSet<'a> {
    cfa: Option<&'a str>,
    ra: Option<&'a str>,
    others: [Rule<'a>; MAX_REGISTERS],
    len: usize,
}

impl Default for RuleSet<'_> {
    fn default() -> Self {
        RuleSet {
            cfa: None,
            ra: None,
            others: [Rule { reg: "", expr: "" }; MAX_REGISTERS],
            len: 0,
        }
    }
}

/// Where a rule's value goes.
#[derive(Debug, Clone, Copy)]
enum Dest<'a> {
    Cfa,
    Ra,
    Reg(&'a str),
}

impl<'a> RuleSet<'a> {
    /// Applies one record's rule string. `None` when it is malformed: empty, not starting
    /// with `REG:`, a `REG:` with no expression, or over the limits. The expressions are
    /// not looked at yet: a malformed one only fails if it is evaluated.
    fn parse(&mut self, line: &'a str) -> Option<()> {
        if line.len() > MAX_RULE_LEN {
            return None;
        }
        let mut dest: Option<Dest<'a>> = None;
        let mut expr: Option<(usize, usize)> = None;
        for (at, token) in Tokens::new(line) {
            if let Some(name) = token.strip_suffix(':') {
                if let Some(d) = dest {
                    let (start, end) = expr?;
                    self.set(d, line.get(start..end)?)?;
                    expr = None;
                }
                dest = Some(match name {
                    ".cfa" => Dest::Cfa,
                    ".ra" => Dest::Ra,
                    // Anything else is a register, `.kitties` and `.undef` included (the
                    // walker ignores names it does not know).
                    _ => Dest::Reg(name.strip_prefix('$').unwrap_or(name)),
                });
            } else {
                dest?;
                let end = at + token.len();
                expr = Some(expr.map_or((at, end), |(start, _)| (start, end)));
            }
        }
        let (start, end) = expr?;
        self.set(dest?, line.get(start..end)?)
    }

    fn set(&mut self, dest: Dest<'a>, expr: &'a str) -> Option<()> {
        match dest {
            Dest::Cfa => self.cfa = Some(expr),
            Dest::Ra => self.ra = Some(expr),
            Dest::Reg(reg) => {
                if let Some(rule) = self.others[..self.len].iter_mut().find(|r| r.reg == reg) {
                    rule.expr = expr;
                } else {
                    *self.others.get_mut(self.len)? = Rule { reg, expr };
                    self.len += 1;
                }
            }
        }
        Some(())
    }
}

/// Evaluates one CFI expression over the callee's registers and memory; `cfa` is what
/// `.cfa` reads (`None` while computing the CFA itself).
fn eval(expr: &str, walker: &dyn FrameWalker, cfa: Option<u64>) -> Option<u64> {
    let mut stack = Stack::new(0u64);
    for (_, token) in Tokens::new(expr) {
        if let Some(op) = BinOp::from_token(token) {
            let rhs = stack.pop()?;
            let lhs = stack.pop()?;
            stack.push(apply(op, lhs, rhs)?)?;
            continue;
        }
        let value = match token {
            "^" => walker.get_register_at_address(stack.pop()?)?,
            ".cfa" => cfa?,
            ".undef" => return None,
            // breakpad-symbols reads everything after the first `$` of a token as a
            // register name, wherever the `$` is.
            _ => match token.split_once('$') {
                Some((_, reg)) => walker.get_callee_register(reg)?,
                // A number (Rust's i64 syntax: an optional sign and decimal digits) is
                // stored as its two's complement; anything else is a register without `$`.
                None => match token.parse::<i64>() {
                    Ok(n) => n as u64,
                    Err(_) => walker.get_callee_register(token)?,
                },
            },
        };
        stack.push(value)?;
    }
    match stack.len() {
        1 => stack.pop(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
