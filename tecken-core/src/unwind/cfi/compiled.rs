//! A CFI rule string compiled once: its rules with their expressions as operations, the
//! shape of each expression (stack underflow, overflow, leftovers, `.undef`) checked ahead
//! of time. Evaluating the compiled form is exactly evaluating the text (the evaluation of
//! an expression reads and never writes, so an expression that fails whatever the values
//! fails the same at compile time as at run time); the cache's tests and the differential
//! test compare the two.

use super::super::postfix::{apply, BinOp, Stack, Tokens, MAX_STACK_DEPTH};
use super::super::FrameWalker;

/// One operation of a compiled expression.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Bin(BinOp),
    Deref,
    Cfa,
    Const(u64),
    /// A callee register, named by the byte range of the line's text.
    Reg(u32, u32),
}

/// Where a compiled rule's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Cfa,
    Ra,
    /// A register: its name's byte range in the line's text, and its name's id in the cache
    /// (equal ids, equal names).
    Reg {
        start: u32,
        end: u32,
        id: u32,
    },
}

/// The expressions compilers write most, evaluated without a stack.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// `REG`.
    Reg(u32, u32),
    /// `REG N op`.
    RegConst(u32, u32, BinOp, u64),
    /// `.cfa N op ^`.
    CfaDeref(BinOp, u64),
    /// Anything else: run the operations.
    General,
}

/// One compiled `REG: EXPR`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub dest: Dest,
    /// The range of the line's operations.
    pub ops: (u32, u32),
    /// False when the expression fails whatever the values.
    pub valid: bool,
    pub shape: Shape,
}

/// One compiled rule string; `rules` is `None` when the string is malformed.
#[derive(Debug)]
pub(crate) struct Line {
    pub text: Box<str>,
    pub rules: Option<Vec<Rule>>,
    pub ops: Vec<Op>,
}

impl Line {
    /// Compiles `text`; `reg_id` names register names by number.
    pub(crate) fn compile(text: &str, mut reg_id: impl FnMut(&str) -> u32) -> Line {
        let mut line = Line {
            text: text.into(),
            rules: None,
            ops: Vec::new(),
        };
        let mut rules = Vec::new();
        // The same reading as `RuleSet::parse`: `REG:` tokens start rules, every rule needs
        // an expression, the first token must be a `REG:`.
        let mut dest: Option<Dest> = None;
        let mut expr: Option<(usize, usize)> = None;
        for (at, token) in Tokens::new(text) {
            if let Some(name) = token.strip_suffix(':') {
                if let Some(d) = dest {
                    let Some(span) = expr else { return line };
                    rules.push(line.compile_expr(d, span));
                    expr = None;
                }
                dest = Some(match name {
                    ".cfa" => Dest::Cfa,
                    ".ra" => Dest::Ra,
                    _ => {
                        let name = name.strip_prefix('$').unwrap_or(name);
                        let start = at + (token.len() - 1 - name.len());
                        Dest::Reg {
                            start: start as u32,
                            end: (start + name.len()) as u32,
                            id: reg_id(name),
                        }
                    }
                });
            } else {
                if dest.is_none() {
                    return line;
                }
                let end = at + token.len();
                expr = Some(expr.map_or((at, end), |(start, _)| (start, end)));
            }
        }
        let (Some(d), Some(span)) = (dest, expr) else {
            return line;
        };
        rules.push(line.compile_expr(d, span));
        line.rules = Some(rules);
        line
    }

    fn compile_expr(&mut self, dest: Dest, (start, end): (usize, usize)) -> Rule {
        let first = self.ops.len() as u32;
        let mut depth = 0usize;
        let mut valid = true;
        let text = self.text.get(start..end).unwrap_or("");
        for (at, token) in Tokens::new(text) {
            let at = start + at;
            let (op, pops) = if let Some(b) = BinOp::from_token(token) {
                (Op::Bin(b), 2)
            } else {
                match token {
                    "^" => (Op::Deref, 1),
                    ".cfa" => (Op::Cfa, 0),
                    ".undef" => {
                        valid = false;
                        break;
                    }
                    _ => match token.find('$') {
                        Some(i) => (Op::Reg((at + i + 1) as u32, (at + token.len()) as u32), 0),
                        None => match token.parse::<i64>() {
                            Ok(n) => (Op::Const(n as u64), 0),
                            Err(_) => (Op::Reg(at as u32, (at + token.len()) as u32), 0),
                        },
                    },
                }
            };
            if depth < pops {
                valid = false;
                break;
            }
            depth = depth - pops + 1;
            if depth > MAX_STACK_DEPTH {
                valid = false;
                break;
            }
            self.ops.push(op);
        }
        let ops = self.ops.get(first as usize..).unwrap_or_default();
        let shape = match *ops {
            [Op::Reg(s, e)] => Shape::Reg(s, e),
            [Op::Reg(s, e), Op::Const(n), Op::Bin(op)] => Shape::RegConst(s, e, op, n),
            [Op::Cfa, Op::Const(n), Op::Bin(op), Op::Deref] => Shape::CfaDeref(op, n),
            _ => Shape::General,
        };
        Rule {
            dest,
            ops: (first, self.ops.len() as u32),
            valid: valid && depth == 1,
            shape,
        }
    }

    /// The name a `Dest::Reg` or an `Op::Reg` points at.
    #[inline]
    pub(crate) fn name(&self, start: u32, end: u32) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// Evaluates one of this line's rules.
    pub(crate) fn eval(
        &self,
        rule: &Rule,
        walker: &dyn FrameWalker,
        cfa: Option<u64>,
    ) -> Option<u64> {
        if !rule.valid {
            return None;
        }
        match rule.shape {
            Shape::Reg(s, e) => return walker.get_callee_register(self.name(s, e)),
            Shape::RegConst(s, e, op, n) => {
                return apply(op, walker.get_callee_register(self.name(s, e))?, n)
            }
            Shape::CfaDeref(op, n) => return walker.get_register_at_address(apply(op, cfa?, n)?),
            Shape::General => {}
        }
        let ops = self.ops.get(rule.ops.0 as usize..rule.ops.1 as usize)?;
        let mut stack = Stack::new(0u64);
        for op in ops {
            let value = match *op {
                Op::Bin(b) => {
                    let rhs = stack.pop()?;
                    let lhs = stack.pop()?;
                    apply(b, lhs, rhs)?
                }
                Op::Deref => walker.get_register_at_address(stack.pop()?)?,
                Op::Cfa => cfa?,
                Op::Const(n) => n,
                Op::Reg(s, e) => walker.get_callee_register(self.name(s, e))?,
            };
            stack.push(value)?;
        }
        stack.pop()
    }
}
