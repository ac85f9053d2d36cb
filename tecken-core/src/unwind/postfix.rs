//! What the CFI and STACK WIN evaluators share: the tokenizer, the fixed-capacity stack
//! that bounds their memory, the limits, and the arithmetic of the operators both
//! languages define.
//!
//! Nothing here allocates: a walk's working memory is a few fixed arrays on the stack, so a
//! hostile rule string costs time linear in its length and never more memory.

/// The longest rule string (a CFI INIT or delta record's rules, a STACK WIN program) that is
/// evaluated; a longer one cannot be unwound with. Real ones are under 300 bytes.
pub(crate) const MAX_RULE_LEN: usize = 64 * 1024;

/// The deepest an expression's value stack may grow; deeper cannot be unwound with. Real
/// expressions reach 4.
pub(crate) const MAX_STACK_DEPTH: usize = 32;

/// The most distinct registers one CFI walk may have rules for (besides `.cfa` and `.ra`),
/// and the most distinct variables a STACK WIN program may define (besides the nine it
/// starts with). Real records have under 30.
pub(crate) const MAX_REGISTERS: usize = 64;

/// The whitespace-separated tokens of `s` and their byte offsets, splitting exactly where
/// `str::split_ascii_whitespace` does (space, tab, line feed, form feed, carriage return),
/// which is how breakpad-symbols reads rules.
#[derive(Debug, Clone)]
pub(crate) struct Tokens<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(s: &'a str) -> Tokens<'a> {
        Tokens { s, pos: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    /// `(offset of the token in the string, the token)`.
    type Item = (usize, &'a str);

    #[inline]
    fn next(&mut self) -> Option<(usize, &'a str)> {
        let bytes = self.s.as_bytes();
        let mut start = self.pos;
        while start < bytes.len() && bytes[start].is_ascii_whitespace() {
            start += 1;
        }
        if start >= bytes.len() {
            self.pos = start;
            return None;
        }
        let mut end = start + 1;
        while end < bytes.len() && !bytes[end].is_ascii_whitespace() {
            end += 1;
        }
        self.pos = end;
        // ASCII whitespace never occurs inside a multi-byte UTF-8 sequence, so both ends are
        // character boundaries and `get` always succeeds.
        self.s.get(start..end).map(|t| (start, t))
    }
}

/// A value stack of at most [`MAX_STACK_DEPTH`] values.
#[derive(Debug)]
pub(crate) struct Stack<T> {
    items: [T; MAX_STACK_DEPTH],
    len: usize,
}

impl<T: Copy> Stack<T> {
    pub(crate) fn new(fill: T) -> Stack<T> {
        Stack {
            items: [fill; MAX_STACK_DEPTH],
            len: 0,
        }
    }

    /// Pushes `v`; `None` when the stack is full.
    #[inline]
    pub(crate) fn push(&mut self, v: T) -> Option<()> {
        let slot = self.items.get_mut(self.len)?;
        *slot = v;
        self.len += 1;
        Some(())
    }

    /// Pops the top value; `None` when the stack is empty.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.len = self.len.checked_sub(1)?;
        self.items.get(self.len).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// A binary operator both languages define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Align,
}

impl BinOp {
    #[inline(always)]
    pub(crate) fn from_token(t: &str) -> Option<BinOp> {
        match t.as_bytes() {
            b"+" => Some(BinOp::Add),
            b"-" => Some(BinOp::Sub),
            b"*" => Some(BinOp::Mul),
            b"/" => Some(BinOp::Div),
            b"%" => Some(BinOp::Rem),
            b"@" => Some(BinOp::Align),
            _ => None,
        }
    }
}

/// The integer widths the evaluators compute in: CFI in `u64` whatever the architecture,
/// STACK WIN in `u32` (x86 only), as breakpad-symbols does.
pub(crate) trait Word: Copy + Eq {
    const ONE: Self;
    fn wrapping_add(self, o: Self) -> Self;
    fn wrapping_sub(self, o: Self) -> Self;
    fn wrapping_mul(self, o: Self) -> Self;
    fn checked_div(self, o: Self) -> Option<Self>;
    fn checked_rem(self, o: Self) -> Option<Self>;
    fn is_power_of_two(self) -> bool;
    fn and_not(self, mask: Self) -> Self;
}

macro_rules! word {
    ($t:ty) => {
        impl Word for $t {
            const ONE: Self = 1;
            #[inline]
            fn wrapping_add(self, o: Self) -> Self {
                <$t>::wrapping_add(self, o)
            }
            #[inline]
            fn wrapping_sub(self, o: Self) -> Self {
                <$t>::wrapping_sub(self, o)
            }
            #[inline]
            fn wrapping_mul(self, o: Self) -> Self {
                <$t>::wrapping_mul(self, o)
            }
            #[inline]
            fn checked_div(self, o: Self) -> Option<Self> {
                <$t>::checked_div(self, o)
            }
            #[inline]
            fn checked_rem(self, o: Self) -> Option<Self> {
                <$t>::checked_rem(self, o)
            }
            #[inline]
            fn is_power_of_two(self) -> bool {
                <$t>::is_power_of_two(self)
            }
            #[inline]
            fn and_not(self, mask: Self) -> Self {
                self & !mask
            }
        }
    };
}
word!(u32);
word!(u64);

/// `lhs op rhs`. Arithmetic wraps (Breakpad's C++ computes in unsigned machine words, which
/// wrap too); division and remainder are unsigned, so `-4 2 /` is not -2, as in both
/// Breakpad and breakpad-symbols. Division or remainder by zero, and alignment to zero or
/// to anything but a power of two, fail: `None`.
#[inline(always)]
pub(crate) fn apply<W: Word>(op: BinOp, lhs: W, rhs: W) -> Option<W> {
    match op {
        BinOp::Add => Some(lhs.wrapping_add(rhs)),
        BinOp::Sub => Some(lhs.wrapping_sub(rhs)),
        BinOp::Mul => Some(lhs.wrapping_mul(rhs)),
        BinOp::Div => lhs.checked_div(rhs),
        BinOp::Rem => lhs.checked_rem(rhs),
        BinOp::Align => {
            // `is_power_of_two` is false for zero.
            if rhs.is_power_of_two() {
                Some(lhs.and_not(rhs.wrapping_sub(W::ONE)))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_like_split_ascii_whitespace() {
        for s in [
            "",
            "   ",
            ".cfa: $rsp 8 +",
            "  a\tb\nc\x0cd\re  ",
            "a\x0bb", // vertical tab is not ASCII whitespace for Rust
            "é ü\u{a0}x",
        ] {
            let ours: Vec<&str> = Tokens::new(s).map(|(_, t)| t).collect();
            let std: Vec<&str> = s.split_ascii_whitespace().collect();
            assert_eq!(ours, std, "{s:?}");
            for (at, t) in Tokens::new(s) {
                assert_eq!(&s[at..at + t.len()], t);
            }
        }
    }

    #[test]
    fn stack_is_bounded() {
        let mut s = Stack::new(0u64);
        for i in 0..MAX_STACK_DEPTH {
            assert_eq!(s.push(i as u64), Some(()));
        }
        assert_eq!(s.push(99), None);
        assert_eq!(s.len(), MAX_STACK_DEPTH);
        assert_eq!(s.pop(), Some(MAX_STACK_DEPTH as u64 - 1));
        let mut e = Stack::new(0u32);
        assert_eq!(e.pop(), None);
    }

    #[test]
    fn operators() {
        assert_eq!(apply(BinOp::Add, u64::MAX, 2), Some(1));
        assert_eq!(apply(BinOp::Sub, 0u32, 1), Some(u32::MAX));
        assert_eq!(apply(BinOp::Mul, 1u64 << 63, 2), Some(0));
        assert_eq!(apply(BinOp::Div, 7u64, 2), Some(3));
        assert_eq!(apply(BinOp::Div, 7u64, 0), None);
        assert_eq!(apply(BinOp::Rem, 7u32, 0), None);
        assert_eq!(apply(BinOp::Rem, 7u32, 4), Some(3));
        assert_eq!(apply(BinOp::Align, 161u64, 8), Some(160));
        assert_eq!(apply(BinOp::Align, 161u64, 0), None);
        assert_eq!(apply(BinOp::Align, 161u64, 12), None);
        assert_eq!(apply(BinOp::Align, u32::MAX, 1 << 31), Some(1 << 31));
    }
}
