//! The JSON grammar as CPython's `json` module reads it, without building values.
//!
//! [`Reader`] validates and skips values, reads strings (borrowed from the body when they have
//! no escapes) and classifies scalars; the v5 schema on top of it is in `schema.rs`. The
//! grammar is RFC 8259 plus what Python also accepts: the literals `NaN`, `Infinity` and
//! `-Infinity`. Whitespace is space, tab, LF and CR only; raw control characters in strings
//! are refused (Python's `strict=True`). Nesting is bounded by [`MAX_DEPTH`].

use std::borrow::Cow;

use super::options::MAX_DEPTH;
use crate::error::Error;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not JSON (or not UTF-8).
    Syntax,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More frames, stacks or modules than the limits allow: `(what, limit)`.
    Limit(&'static str, usize),
}

impl ParseError {
    /// The error answered to the client.
    pub(crate) fn into_error(self) -> Error {
        match self {
            ParseError::Syntax => Error::bad_request(400, "Payload is not valid JSON"),
            ParseError::TooDeep => Error::bad_request(400, "Payload is nested too deeply"),
            ParseError::Limit(what, n) => Error::bad_request(
                413,
                format!("please limit number of {what} in a single request to <= {n}"),
            ),
        }
    }
}

/// A reader result.
pub(crate) type PResult<T> = Result<T, ParseError>;

/// A scalar as far as a frame cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// An integer literal: sign, magnitude, and whether the magnitude overflowed `u64`.
    Int { neg: bool, mag: u64, overflow: bool },
    /// `true`/`false`.
    Bool,
    /// Anything else (floats, strings, null, containers).
    Other,
}

/// The position of the first `"`, `\\` or control character in `s`.
///
/// Eight bytes at a time (SWAR): strings here are short (debug ids, file names), too short
/// for a SIMD search to pay for its setup, and a byte loop costs ~8 instructions a byte.
#[inline]
fn find_special(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte of `x` below `n` (exact for the lowest such byte, which is
    // all that is used: borrows only propagate upwards, past a real match).
    let below = |x: u64, n: u8| x.wrapping_sub(LO * u64::from(n)) & !x & HI;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let hits = below(x ^ (LO * u64::from(b'"')), 1)
            | below(x ^ (LO * u64::from(b'\\')), 1)
            | below(x, 0x20);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = s.get(i..).unwrap_or_default();
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|n| i + n)
}

#[inline]
fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(p) {
        p += 1;
    }
    p
}

/// An integer of 1 to 18 digits (no overflow possible) at `p`, not followed by a fraction or
/// exponent, and its end; `None` for anything else.
#[inline]
fn fast_int(b: &[u8], p: usize) -> Option<(Scalar, usize)> {
    let rest = b.get(p..)?;
    let neg = rest.first() == Some(&b'-');
    let digits = rest.get(usize::from(neg)..)?;
    let mut mag = 0u64;
    let mut n = 0;
    while n < digits.len() {
        let d = digits[n].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // 19 digits might overflow: the general path checks.
        if n == 18 {
            return None;
        }
        mag = mag * 10 + u64::from(d);
        n += 1;
    }
    // A leading zero is a syntax error, a fraction or exponent makes a float: both for the
    // general path.
    if n == 0 || (n > 1 && digits.first() == Some(&b'0')) {
        return None;
    }
    if let Some(b'.' | b'e' | b'E') = digits.get(n) {
        return None;
    }
    let overflow = false;
    Some((Scalar::Int { neg, mag, overflow }, p + usize::from(neg) + n))
}

/// A cursor over a body that is valid UTF-8.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Reader {
            s: text,
            b: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    /// Whether everything has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.b.len()
    }

    /// The next byte, if any.
    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Skips Python's JSON whitespace: space, tab, LF, CR.
    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `c`, which must be next.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> PResult<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ParseError::Syntax)
        }
    }

    /// Consumes the opening bracket `open` of a container, one level deeper.
    #[inline]
    pub(crate) fn enter(&mut self, open: u8) -> PResult<()> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        Ok(())
    }

    /// After an element of a container: `true` for `,` (another follows), `false` for the
    /// closing bracket.
    #[inline]
    pub(crate) fn next_or_close(&mut self, close: u8) -> PResult<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            _ => Err(ParseError::Syntax),
        }
    }

    /// After the opening bracket: `true` when the container has a first element.
    #[inline]
    pub(crate) fn first_or_close(&mut self, close: u8) -> bool {
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            false
        } else {
            true
        }
    }

    fn literal(&mut self, word: &[u8]) -> PResult<()> {
        if self
            .b
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(ParseError::Syntax)
        }
    }

    /// Validates and skips any value.
    pub(crate) fn skip_value(&mut self) -> PResult<()> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{') => {
                self.enter(b'{')?;
                let mut more = self.first_or_close(b'}');
                while more {
                    self.skip_string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip_value()?;
                    more = self.next_or_close(b'}')?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.enter(b'[')?;
                let mut more = self.first_or_close(b']');
                while more {
                    self.skip_value()?;
                    more = self.next_or_close(b']')?;
                }
                Ok(())
            }
            _ => self.scalar().map(|_| ()),
        }
    }

    /// Reads a number or literal (anything but a string or container).
    fn scalar(&mut self) -> PResult<Scalar> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true").map(|_| Scalar::Bool),
            Some(b'f') => self.literal(b"false").map(|_| Scalar::Bool),
            Some(b'n') => self.literal(b"null").map(|_| Scalar::Other),
            Some(b'N') => self.literal(b"NaN").map(|_| Scalar::Other),
            Some(b'I') => self.literal(b"Infinity").map(|_| Scalar::Other),
            _ => Err(ParseError::Syntax),
        }
    }

    /// The hot path of a frame: `[int, int]` with plain integers of at most 18 digits.
    /// Returns `None` having consumed nothing for anything else (which the general path
    /// then reads, or rejects).
    #[inline]
    pub(crate) fn int_pair(&mut self) -> Option<[Scalar; 2]> {
        let b = self.b;
        if b.get(self.pos) != Some(&b'[') {
            return None;
        }
        let (x, p) = fast_int(b, skip_ws(b, self.pos + 1))?;
        let p = skip_ws(b, p);
        if b.get(p) != Some(&b',') {
            return None;
        }
        let (y, p) = fast_int(b, skip_ws(b, p + 1))?;
        let p = skip_ws(b, p);
        if b.get(p) != Some(&b']') {
            return None;
        }
        self.pos = p + 1;
        Some([x, y])
    }

    /// Reads any value, classifying scalars and skipping the rest.
    #[inline]
    pub(crate) fn classify(&mut self) -> PResult<Scalar> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"' | b'[' | b'{') => self.skip_value().map(|_| Scalar::Other),
            _ => self.scalar(),
        }
    }

    /// Python's number grammar: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, plus `-Infinity`.
    fn number(&mut self) -> PResult<Scalar> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.pos += 1;
            if self.peek() == Some(b'I') {
                return self.literal(b"Infinity").map(|_| Scalar::Other);
            }
        }
        let mut mag: u64 = 0;
        let mut overflow = false;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    match mag
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(u64::from(d - b'0')))
                    {
                        Some(m) => mag = m,
                        None => overflow = true,
                    }
                    self.pos += 1;
                }
            }
            _ => return Err(ParseError::Syntax),
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
            float = true;
        }
        Ok(if float {
            Scalar::Other
        } else {
            Scalar::Int { neg, mag, overflow }
        })
    }

    fn digits(&mut self) -> PResult<()> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(ParseError::Syntax);
        }
        Ok(())
    }

    /// Validates and skips a string.
    fn skip_string(&mut self) -> PResult<()> {
        self.string_span().map(|_| ())
    }

    /// Validates a string and returns its raw contents and whether it has escapes.
    fn string_span(&mut self) -> PResult<(usize, usize, bool)> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = self.b.get(start..).unwrap_or_default();
        let mut i = 0;
        let mut escaped = false;
        loop {
            // Find the closing quote, an escape, or a raw control character (refused, as
            // with Python's `strict=True`).
            let Some(n) = find_special(rest.get(i..).unwrap_or_default()) else {
                return Err(ParseError::Syntax);
            };
            i += n;
            match rest.get(i) {
                Some(b'"') => {
                    self.pos = start + i + 1;
                    return Ok((start, start + i, escaped));
                }
                Some(b'\\') => escaped = true,
                _ => return Err(ParseError::Syntax),
            }
            match rest.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = rest.get(i + 2..i + 6).ok_or(ParseError::Syntax)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(ParseError::Syntax);
                    }
                    i += 6;
                }
                _ => return Err(ParseError::Syntax),
            }
        }
    }

    /// Reads a string, borrowing from the body when it has no escapes. A lone surrogate
    /// escape (which Python keeps as such) becomes U+FFFD; it can never be part of a valid
    /// key, debug file or debug id, and counts as one character like in Python.
    pub(crate) fn string(&mut self) -> PResult<Cow<'a, str>> {
        let (start, end, escaped) = self.string_span()?;
        let raw = self.s.get(start..end).ok_or(ParseError::Syntax)?;
        if !escaped {
            return Ok(Cow::Borrowed(raw));
        }
        Ok(Cow::Owned(unescape(raw)))
    }

    /// Reads a string, or skips a non-string value and returns `None`.
    pub(crate) fn maybe_string(&mut self) -> PResult<Option<Cow<'a, str>>> {
        if self.peek() == Some(b'"') {
            self.string().map(Some)
        } else {
            self.skip_value().map(|_| None)
        }
    }
}

/// Decodes the escapes of a validated JSON string body.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hi = hex4(&mut chars);
                if (0xd800..0xdc00).contains(&hi) {
                    // A high surrogate: combine with a following `\uDC00`-`\uDFFF` escape.
                    let rest = chars.as_str();
                    if let Some(lo) = rest.strip_prefix("\\u").and_then(|r| r.get(..4)) {
                        if let Ok(lo) = u32::from_str_radix(lo, 16) {
                            if (0xdc00..0xe000).contains(&lo) {
                                let cp = 0x1_0000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                chars = rest.get(6..).unwrap_or("").chars();
                                continue;
                            }
                        }
                    }
                }
                out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other), // `"`, `\`, `/`
            None => {}
        }
    }
    out
}

fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_special_finds_the_first() {
        let naive = |s: &[u8]| s.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec(), b"abcdefgh".to_vec()];
        for len in 0..20 {
            for at in 0..len {
                for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
                    for filler in [b'a', 0x7f, 0x80, 0xff, 0x20, 0x21, b'"' + 1, b'\\' - 1] {
                        let mut v = vec![filler; len];
                        v[at] = special;
                        if at + 1 < len {
                            v[at + 1] = b'"';
                        }
                        cases.push(v);
                    }
                }
            }
        }
        for c in cases {
            assert_eq!(find_special(&c), naive(&c), "{c:?}");
        }
    }

    #[test]
    fn unescapes_like_python() {
        assert_eq!(
            unescape(r#"a\"b\\c\/d\n\u00e9\ud83d\ude00"#),
            "a\"b\\c/d\n\u{e9}\u{1F600}"
        );
        assert_eq!(unescape(r"\ud800x\udc00"), "\u{fffd}x\u{fffd}");
        assert_eq!(unescape(r"\u006aobs"), "jobs");
    }
}
