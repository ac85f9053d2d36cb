//! Record-level parsers, shared by the [`records`] iterator and the index builder.
//!
//! Each parser takes one line without its keyword and returns `None` (or a reason) when the
//! line is malformed. They never panic and never allocate, except where a record must own
//! its ranges ([`InlineRecord`]).

use super::header::{parse_module, SymHeader};
use super::Lines;
use crate::unwind::{StackWin, WinKind};

/// Parses hex digits; `None` on an empty field, a non-hex byte or overflow past 64 bits.
#[inline]
pub(crate) fn hex_u64(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 16 {
        // More than 16 digits can only fit with leading zeros; handle that rare case slowly.
        return hex_u64_long(field);
    }
    let mut v: u64 = 0;
    for &b in field {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

#[cold]
fn hex_u64_long(field: &[u8]) -> Option<u64> {
    if field.is_empty() {
        return None;
    }
    let first_nonzero = field.iter().position(|&b| b != b'0').unwrap_or(field.len());
    let (zeros, rest) = field.split_at(first_nonzero);
    if zeros.is_empty() || rest.len() > 16 {
        return None;
    }
    if rest.is_empty() {
        return Some(0);
    }
    hex_u64(rest)
}

/// Parses a decimal `u32`; `None` on an empty field, a sign, a non-digit or overflow.
#[inline]
pub(crate) fn dec_u32(field: &[u8]) -> Option<u32> {
    if field.is_empty() || field.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in field {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    u32::try_from(v).ok()
}

/// Splits off the next space-separated field. Breakpad writes single spaces; tabs and
/// repeated spaces are tolerated.
#[inline]
pub(crate) fn split_fields(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    match memchr::memchr2(b' ', b'\t', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        // The empty rest must still point into `s` (at its end), not be a static `&[]`: the
        // index builder turns name and path slices into offsets by pointer difference, and a
        // dangling empty slice (`FILE 0`, `FUNC 1000 10 0` without a name) made it slice the
        // input out of bounds.
        None => (s, &s[s.len()..]),
    }
}

#[inline]
fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

#[inline]
fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Strips a leading `m ` (the "multiple symbols at this address" flag).
#[inline]
fn strip_multiple(rest: &[u8]) -> (bool, &[u8]) {
    let rest = trim_start(rest);
    match rest {
        [b'm', b' ' | b'\t', tail @ ..] => (true, tail),
        _ => (false, rest),
    }
}

/// The fields of a `FUNC [m] <address> <size> <param_size> <name>` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FuncFields<'a> {
    pub multiple: bool,
    pub address: u64,
    pub size: u64,
    pub param_size: u32,
    pub name: &'a [u8],
}

/// A parameter size (hex). Values past `u32` (Breakpad's type for it) are accepted, as they
/// always were, and saturate.
#[inline]
fn param_size(field: &[u8]) -> Option<u32> {
    hex_u64(field).map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Parses a FUNC line after `FUNC `.
#[inline]
pub(crate) fn parse_func(rest: &[u8]) -> Result<FuncFields<'_>, &'static str> {
    let (multiple, rest) = strip_multiple(rest);
    let (addr, rest) = split_fields(rest);
    let (size, rest) = split_fields(rest);
    let (param, rest) = split_fields(rest);
    let address = hex_u64(addr).ok_or("FUNC: bad address")?;
    let size = hex_u64(size).ok_or("FUNC: bad size")?;
    let param_size = param_size(param).ok_or("FUNC: bad parameter size")?;
    Ok(FuncFields {
        multiple,
        address,
        size,
        param_size,
        name: trim_end(trim_start(rest)),
    })
}

/// The fields of a `PUBLIC [m] <address> <param_size> <name>` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PublicFields<'a> {
    pub multiple: bool,
    pub address: u64,
    pub param_size: u32,
    pub name: &'a [u8],
}

/// Parses a PUBLIC line after `PUBLIC `.
#[inline]
pub(crate) fn parse_public(rest: &[u8]) -> Result<PublicFields<'_>, &'static str> {
    let (multiple, rest) = strip_multiple(rest);
    let (addr, rest) = split_fields(rest);
    let (param, rest) = split_fields(rest);
    let address = hex_u64(addr).ok_or("PUBLIC: bad address")?;
    let param_size = param_size(param).ok_or("PUBLIC: bad parameter size")?;
    Ok(PublicFields {
        multiple,
        address,
        param_size,
        name: trim_end(trim_start(rest)),
    })
}

/// The fields of a line record `<address> <size> <line> <file_id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineFields {
    pub address: u64,
    pub size: u64,
    pub line: u32,
    pub file: u32,
}

/// Parses a line record. A negative line number is malformed (symbolic reads it as 0,
/// breakpad-symbols rejects the whole file; we skip just this record).
#[inline]
pub(crate) fn parse_line_record(line: &[u8]) -> Result<LineFields, &'static str> {
    let (addr, rest) = split_fields(line);
    let (size, rest) = split_fields(rest);
    let (lineno, rest) = split_fields(rest);
    let (file, rest) = split_fields(rest);
    if !trim_end(rest).is_empty() {
        return Err("line record: trailing fields");
    }
    let address = hex_u64(addr).ok_or("line record: bad address")?;
    let size = hex_u64(size).ok_or("line record: bad size")?;
    let line = dec_u32(lineno).ok_or("line record: bad line number")?;
    let file = dec_u32(file).ok_or("line record: bad file id")?;
    Ok(LineFields {
        address,
        size,
        line,
        file,
    })
}

/// Parses `FILE <id> <path>` or `INLINE_ORIGIN <id> <name>` after the keyword.
#[inline]
pub(crate) fn parse_file_or_origin(rest: &[u8]) -> Result<(u32, &[u8]), &'static str> {
    let (id, rest) = split_fields(rest);
    let id = dec_u32(id).ok_or("bad id")?;
    Ok((id, trim_end(trim_start(rest))))
}

/// The rules of a STACK record: the rest of the line after the fields, as written (trailing
/// blanks kept, as `breakpad-symbols` keeps them). Empty or non-UTF-8 rules are malformed:
/// they cannot be evaluated; empty ones are refused here, the UTF-8 check is
/// [`rules_utf8`], made by the callers.
#[inline]
fn stack_rules_raw<'a>(rest: &'a [u8], empty: &'static str) -> Result<&'a [u8], &'static str> {
    let rules = trim_start(rest);
    if rules.is_empty() {
        return Err(empty);
    }
    Ok(rules)
}

/// STACK CFI rules as text: the check [`parse_stack_cfi_raw`]'s callers make.
#[inline]
pub(crate) fn rules_utf8(rules: &[u8]) -> Result<&str, &'static str> {
    std::str::from_utf8(rules).map_err(|_| "STACK: rules are not UTF-8")
}

/// The fields of a `STACK CFI INIT <address> <size> <rules>` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CfiInitFields<'a> {
    pub address: u64,
    pub size: u32,
    pub rules: &'a str,
}

/// Parses a STACK CFI INIT line after `STACK CFI INIT `. The size is a `u32`, as in
/// Breakpad's and `breakpad-symbols`' parsers.
#[inline]
pub(crate) fn parse_stack_cfi_init(rest: &[u8]) -> Result<CfiInitFields<'_>, &'static str> {
    let (address, size, rules) = parse_stack_cfi_init_raw(rest)?;
    Ok(CfiInitFields {
        address,
        size,
        rules: rules_utf8(rules)?,
    })
}

/// [`parse_stack_cfi_init`] without the UTF-8 check of the rules, which the caller makes
/// with [`rules_utf8`]: `(address, size, rules)`. The index builder checks each distinct
/// rule string once (a CFI-heavy file repeats ~1,600 strings over a million records).
#[inline]
pub(crate) fn parse_stack_cfi_init_raw(rest: &[u8]) -> Result<(u64, u32, &[u8]), &'static str> {
    let (addr, rest) = split_fields(rest);
    let (size, rest) = split_fields(rest);
    let address = hex_u64(addr).ok_or("STACK CFI INIT: bad address")?;
    let size = hex_u64(size)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or("STACK CFI INIT: bad size")?;
    let rules = stack_rules_raw(rest, "STACK CFI INIT: no rules")?;
    Ok((address, size, rules))
}

/// Parses a STACK CFI (delta) line after `STACK CFI `: `(address, rules)`.
#[inline]
pub(crate) fn parse_stack_cfi(rest: &[u8]) -> Result<(u64, &str), &'static str> {
    let (address, rules) = parse_stack_cfi_raw(rest)?;
    Ok((address, rules_utf8(rules)?))
}

/// [`parse_stack_cfi`] without the UTF-8 check of the rules (see
/// [`parse_stack_cfi_init_raw`]).
#[inline]
pub(crate) fn parse_stack_cfi_raw(rest: &[u8]) -> Result<(u64, &[u8]), &'static str> {
    let (addr, rest) = split_fields(rest);
    let address = hex_u64(addr).ok_or("STACK CFI: bad address")?;
    Ok((address, stack_rules_raw(rest, "STACK CFI: no rules")?))
}

/// A parsed STACK WIN line: a record of a kind the unwinder uses, or one of another kind
/// (1: trap, 2: TSS, 3: standard frame), which Breakpad's tools do not unwind with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WinParsed<'a> {
    /// FrameData (4) or FPO (0).
    Known(StackWin<'a>),
    /// Another type, well-formed but unused.
    Other,
}

/// Parses a STACK WIN line after `STACK WIN `: `type rva code_size prologue_size
/// epilogue_size parameter_size saved_register_size local_size max_stack_size
/// has_program_string program_string_OR_allocates_base_pointer`, numbers in hex.
///
/// `has_program_string` must agree with the type (1 for FrameData, 0 otherwise): a record
/// where it does not is malformed (`breakpad-symbols` discards it as corrupt, as its
/// fields cannot be trusted).
pub(crate) fn parse_stack_win(rest: &[u8]) -> Result<WinParsed<'_>, &'static str> {
    let (ty, mut rest) = split_fields(rest);
    let ty = match ty {
        [d] if d.is_ascii_hexdigit() => hex_u64(ty).unwrap_or(u64::MAX),
        _ => return Err("STACK WIN: bad type"),
    };
    let (addr, r) = split_fields(rest);
    rest = r;
    let address = hex_u64(addr).ok_or("STACK WIN: bad address")?;
    let mut nums = [0u32; 7];
    for n in &mut nums {
        let (f, r) = split_fields(rest);
        rest = r;
        *n = hex_u64(f)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or("STACK WIN: bad size field")?;
    }
    let (has_program, r) = split_fields(rest);
    let has_program = match has_program {
        b"0" => false,
        b"1" => true,
        _ => return Err("STACK WIN: bad has_program_string"),
    };
    let last = trim_start(r);
    if last.is_empty() {
        return Err("STACK WIN: no program string or base pointer flag");
    }
    if has_program != (ty == 4) {
        return Err("STACK WIN: has_program_string disagrees with the type");
    }
    let kind = match ty {
        0 => WinKind::Fpo,
        4 => WinKind::FrameData,
        _ => return Ok(WinParsed::Other),
    };
    let (program_string, allocates_base_pointer) = if has_program {
        let p = std::str::from_utf8(last).map_err(|_| "STACK WIN: program string is not UTF-8")?;
        (Some(p), false)
    } else {
        (None, last == b"1")
    };
    let [size, prologue_size, epilogue_size, parameter_size, saved_register_size, local_size, max_stack_size] =
        nums;
    Ok(WinParsed::Known(StackWin {
        kind,
        address,
        size,
        prologue_size,
        epilogue_size,
        parameter_size,
        saved_register_size,
        local_size,
        max_stack_size,
        program_string,
        allocates_base_pointer,
    }))
}

/// An `INLINE <depth> <call_line> <call_file> <origin> (<address> <size>)+` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineRecord {
    /// Nesting depth, 0 for a call inlined directly into the FUNC.
    pub depth: u32,
    /// Line of the call site (in the caller).
    pub call_line: u32,
    /// FILE id of the call site.
    pub call_file: u32,
    /// INLINE_ORIGIN id of the inlined function.
    pub origin: u32,
    /// Address ranges `(address, size)` of the inlined code.
    pub ranges: Vec<(u64, u64)>,
}

/// Parses an INLINE record after `INLINE `, calling `range` for each address range.
#[inline]
pub(crate) fn parse_inline(
    rest: &[u8],
    mut range: impl FnMut(u64, u64),
) -> Result<(u32, u32, u32, u32), &'static str> {
    let (depth, rest) = split_fields(rest);
    let (call_line, rest) = split_fields(rest);
    let (call_file, rest) = split_fields(rest);
    let (origin, mut rest) = split_fields(rest);
    let depth = dec_u32(depth).ok_or("INLINE: bad depth")?;
    let call_line = dec_u32(call_line).ok_or("INLINE: bad call line")?;
    let call_file = dec_u32(call_file).ok_or("INLINE: bad call file id")?;
    let origin = dec_u32(origin).ok_or("INLINE: bad origin id")?;
    // Validate all ranges before reporting any, so a malformed record adds nothing.
    let mut n = 0;
    let mut probe = rest;
    loop {
        let (a, r) = split_fields(probe);
        if a.is_empty() {
            break;
        }
        let (s, r) = split_fields(r);
        hex_u64(a).ok_or("INLINE: bad range address")?;
        hex_u64(s).ok_or("INLINE: bad range size")?;
        probe = r;
        n += 1;
    }
    if n == 0 {
        return Err("INLINE: no address ranges");
    }
    loop {
        let (a, r) = split_fields(rest);
        if a.is_empty() {
            break;
        }
        let (s, r) = split_fields(r);
        if let (Some(a), Some(s)) = (hex_u64(a), hex_u64(s)) {
            range(a, s);
        }
        rest = r;
    }
    Ok((depth, call_line, call_file, origin))
}

/// One record of a `.sym` file, as yielded by [`records`]. Names and paths are raw bytes
/// (`.sym` files are not always UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record<'a> {
    /// `MODULE <os> <arch> <id> <name>`.
    Module(SymHeader),
    /// `INFO <key> <value>` (raw, after `INFO `).
    Info(&'a [u8]),
    /// `FILE <id> <path>`.
    File {
        /// The FILE id.
        id: u32,
        /// The path as written.
        path: &'a [u8],
    },
    /// `INLINE_ORIGIN <id> <name>`.
    InlineOrigin {
        /// The INLINE_ORIGIN id.
        id: u32,
        /// The function name.
        name: &'a [u8],
    },
    /// `FUNC [m] <address> <size> <param_size> <name>`.
    Func {
        /// The `m` flag: several symbols share this address.
        multiple: bool,
        /// Start address, module-relative.
        address: u64,
        /// Size in bytes.
        size: u64,
        /// Bytes of parameters the function takes on the stack.
        parameter_size: u32,
        /// Function name.
        name: &'a [u8],
    },
    /// A line record of the FUNC above it.
    Line {
        /// Start address.
        address: u64,
        /// Size in bytes.
        size: u64,
        /// Source line.
        line: u32,
        /// FILE id.
        file: u32,
    },
    /// `INLINE ...`.
    Inline(InlineRecord),
    /// `PUBLIC [m] <address> <param_size> <name>`.
    Public {
        /// The `m` flag.
        multiple: bool,
        /// Address, module-relative.
        address: u64,
        /// Bytes of parameters the function takes on the stack.
        parameter_size: u32,
        /// Symbol name.
        name: &'a [u8],
    },
    /// `STACK CFI INIT <address> <size> <rules>`.
    StackCfiInit {
        /// Start address, module-relative.
        address: u64,
        /// Size of the range the rules cover.
        size: u32,
        /// The initial rules (`.cfa: $rsp 8 + .ra: .cfa -8 + ^`).
        rules: &'a str,
    },
    /// `STACK CFI <address> <rules>`: a change to the rules of the INIT record above it.
    StackCfi {
        /// Address from which the change applies.
        address: u64,
        /// The changed rules.
        rules: &'a str,
    },
    /// `STACK WIN ...` of type 4 (FrameData) or 0 (FPO).
    StackWin(StackWin<'a>),
    /// `STACK WIN ...` of another type (1, 2 or 3), well-formed but not used to unwind.
    StackWinOther(&'a [u8]),
    /// A malformed line, skipped.
    Malformed {
        /// Why it was rejected.
        reason: &'static str,
        /// The line as written.
        text: &'a [u8],
    },
}

/// Iterates over the records of a `.sym` file, yielding `(line_number, record)` with
/// 1-based line numbers. Blank lines are skipped; malformed ones come out as
/// [`Record::Malformed`], so the caller chooses between lenient and strict handling.
pub fn records(bytes: &[u8]) -> Records<'_> {
    Records {
        lines: Lines::new(bytes),
        line_no: 0,
    }
}

/// The iterator returned by [`records`].
#[derive(Debug)]
pub struct Records<'a> {
    lines: Lines<'a>,
    line_no: u64,
}

impl std::fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines").field("pos", &self.pos).finish()
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = (u64, Record<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (_, line) = self.lines.next()?;
            self.line_no += 1;
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return Some((self.line_no, classify(line)));
        }
    }
}

fn malformed<'a>(reason: &'static str, text: &'a [u8]) -> Record<'a> {
    Record::Malformed { reason, text }
}

/// Parses one non-blank line into a record.
pub(crate) fn classify(line: &[u8]) -> Record<'_> {
    let first = line.first().copied().unwrap_or(b' ');
    if first.is_ascii_hexdigit() && !line.starts_with(b"FUNC ") && !line.starts_with(b"FILE ") {
        return match parse_line_record(line) {
            Ok(f) => Record::Line {
                address: f.address,
                size: f.size,
                line: f.line,
                file: f.file,
            },
            Err(r) => malformed(r, line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"FUNC ") {
        return match parse_func(rest) {
            Ok(f) => Record::Func {
                multiple: f.multiple,
                address: f.address,
                size: f.size,
                parameter_size: f.param_size,
                name: f.name,
            },
            Err(r) => malformed(r, line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"FILE ") {
        return match parse_file_or_origin(rest) {
            Ok((id, path)) => Record::File { id, path },
            Err(_) => malformed("FILE: bad id", line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"INLINE_ORIGIN ") {
        return match parse_file_or_origin(rest) {
            Ok((id, name)) => Record::InlineOrigin { id, name },
            Err(_) => malformed("INLINE_ORIGIN: bad id", line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"INLINE ") {
        let mut ranges = Vec::new();
        return match parse_inline(rest, |a, s| ranges.push((a, s))) {
            Ok((depth, call_line, call_file, origin)) => Record::Inline(InlineRecord {
                depth,
                call_line,
                call_file,
                origin,
                ranges,
            }),
            Err(r) => malformed(r, line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"PUBLIC ") {
        return match parse_public(rest) {
            Ok(p) => Record::Public {
                multiple: p.multiple,
                address: p.address,
                parameter_size: p.param_size,
                name: p.name,
            },
            Err(r) => malformed(r, line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"STACK ") {
        if let Some(r) = rest.strip_prefix(b"CFI INIT ") {
            return match parse_stack_cfi_init(r) {
                Ok(f) => Record::StackCfiInit {
                    address: f.address,
                    size: f.size,
                    rules: f.rules,
                },
                Err(reason) => malformed(reason, line),
            };
        }
        if let Some(r) = rest.strip_prefix(b"CFI ") {
            return match parse_stack_cfi(r) {
                Ok((address, rules)) => Record::StackCfi { address, rules },
                Err(reason) => malformed(reason, line),
            };
        }
        if let Some(r) = rest.strip_prefix(b"WIN ") {
            return match parse_stack_win(r) {
                Ok(WinParsed::Known(w)) => Record::StackWin(w),
                Ok(WinParsed::Other) => Record::StackWinOther(r),
                Err(reason) => malformed(reason, line),
            };
        }
        return malformed("STACK: unknown kind", line);
    }
    if let Some(rest) = line.strip_prefix(b"INFO ") {
        return Record::Info(rest);
    }
    if let Some(rest) = line.strip_prefix(b"MODULE ") {
        return match parse_module(rest) {
            Some(h) => Record::Module(h),
            None => malformed("MODULE: malformed", line),
        };
    }
    malformed("unknown record", line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_dec() {
        assert_eq!(hex_u64(b"7a40"), Some(0x7a40));
        assert_eq!(hex_u64(b"FFFFFFFFFFFFFFFF"), Some(u64::MAX));
        assert_eq!(hex_u64(b"00000000000000000001"), Some(1));
        assert_eq!(hex_u64(b"10000000000000000"), None);
        assert_eq!(hex_u64(b""), None);
        assert_eq!(hex_u64(b"-1"), None);
        assert_eq!(dec_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(dec_u32(b"4294967296"), None);
        assert_eq!(dec_u32(b"-3"), None);
    }

    #[test]
    fn func_with_m_and_spaces_in_name() {
        let f = parse_func(b"m 7a40 85 0 std::vector<int, alloc> ::push_back(int)").unwrap();
        assert!(f.multiple);
        assert_eq!((f.address, f.size), (0x7a40, 0x85));
        assert_eq!(f.name, b"std::vector<int, alloc> ::push_back(int)");
        // A function literally named "m" is not the flag.
        let f = parse_func(b"10 2 0 m").unwrap();
        assert!(!f.multiple);
        assert_eq!(f.name, b"m");
    }

    #[test]
    fn classify_every_kind() {
        let text = b"MODULE Linux x86_64 AB x\nINFO CODE_ID 1\nFILE 0 a.c\nINLINE_ORIGIN 1 f\n\
FUNC 10 20 0 g\n10 4 7 0\nINLINE 0 3 0 1 10 4 18 2\nPUBLIC m 40 0 p\nSTACK CFI INIT 10 20 .cfa: $rsp 8 +\n\
STACK CFI 11 .cfa: $rsp 16 +\nSTACK WIN 4 10 20 0 0 0 0 0 0 1 x\n10 4 -1 0\n\ngarbage\n";
        let recs: Vec<_> = records(text).collect();
        assert!(matches!(recs[0].1, Record::Module(_)));
        assert!(matches!(recs[1].1, Record::Info(_)));
        assert_eq!(
            recs[2].1,
            Record::File {
                id: 0,
                path: b"a.c"
            }
        );
        assert_eq!(recs[3].1, Record::InlineOrigin { id: 1, name: b"f" });
        assert!(matches!(
            recs[4].1,
            Record::Func {
                address: 0x10,
                size: 0x20,
                ..
            }
        ));
        assert_eq!(
            recs[5].1,
            Record::Line {
                address: 0x10,
                size: 4,
                line: 7,
                file: 0
            }
        );
        assert_eq!(
            recs[6].1,
            Record::Inline(InlineRecord {
                depth: 0,
                call_line: 3,
                call_file: 0,
                origin: 1,
                ranges: vec![(0x10, 4), (0x18, 2)]
            })
        );
        assert!(matches!(
            recs[7].1,
            Record::Public {
                multiple: true,
                address: 0x40,
                ..
            }
        ));
        assert_eq!(
            recs[8].1,
            Record::StackCfiInit {
                address: 0x10,
                size: 0x20,
                rules: ".cfa: $rsp 8 +"
            }
        );
        assert_eq!(
            recs[9].1,
            Record::StackCfi {
                address: 0x11,
                rules: ".cfa: $rsp 16 +"
            }
        );
        assert!(matches!(
            &recs[10].1,
            Record::StackWin(StackWin {
                kind: WinKind::FrameData,
                address: 0x10,
                size: 0x20,
                program_string: Some("x"),
                ..
            })
        ));
        assert!(matches!(recs[11].1, Record::Malformed { .. }));
        assert_eq!(recs[12].0, 14, "blank line skipped but counted");
        assert!(matches!(recs[12].1, Record::Malformed { .. }));
    }

    #[test]
    fn stack_cfi_records_parse_and_reject_what_cannot_unwind() {
        let f = parse_stack_cfi_init(b"1440  22\t.cfa: $rsp 8 + .ra: .cfa -8 + ^ ").unwrap();
        assert_eq!((f.address, f.size), (0x1440, 0x22));
        assert_eq!(
            f.rules, ".cfa: $rsp 8 + .ra: .cfa -8 + ^ ",
            "trailing blanks kept"
        );
        assert_eq!(
            parse_stack_cfi(b"1441 .cfa: $rsp 16 +"),
            Ok((0x1441, ".cfa: $rsp 16 +"))
        );
        for bad in [
            &b"1440 22"[..],
            b"1440 22 ",
            b"zz 22 .cfa: x",
            b"1440 100000000 .cfa: x",
            b"1440 -1 .cfa: x",
            b"1440 22 .cfa: \xff",
        ] {
            assert!(parse_stack_cfi_init(bad).is_err(), "{bad:?}");
        }
        for bad in [&b"1441"[..], b"1441 ", b"g .cfa: x", b""] {
            assert!(parse_stack_cfi(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stack_win_records_parse_by_type() {
        let w = parse_stack_win(b"4 2170 14 a1 b2 c3 d4 e5 f6 1 $eip 4 + ^ = $esp $ebp 8 + =");
        let Ok(WinParsed::Known(w)) = w else {
            panic!("{w:?}")
        };
        assert_eq!(
            w,
            StackWin {
                kind: WinKind::FrameData,
                address: 0x2170,
                size: 0x14,
                prologue_size: 0xa1,
                epilogue_size: 0xb2,
                parameter_size: 0xc3,
                saved_register_size: 0xd4,
                local_size: 0xe5,
                max_stack_size: 0xf6,
                program_string: Some("$eip 4 + ^ = $esp $ebp 8 + ="),
                allocates_base_pointer: false,
            }
        );
        let Ok(WinParsed::Known(w)) = parse_stack_win(b"0 1000 30 1 2 3 4 5 6 0 1") else {
            panic!()
        };
        assert_eq!(
            (w.kind, w.program_string, w.allocates_base_pointer),
            (WinKind::Fpo, None, true)
        );
        let Ok(WinParsed::Known(w)) = parse_stack_win(b"0 1000 30 1 2 3 4 5 6 0 0") else {
            panic!()
        };
        assert!(!w.allocates_base_pointer);
        assert_eq!(
            parse_stack_win(b"3 1000 30 1 2 3 4 5 6 0 0"),
            Ok(WinParsed::Other)
        );
        for bad in [
            // has_program_string disagrees with the type (breakpad-symbols' corrupt entries).
            &b"0 1d93e 4 4 0 0 10 0 0 1 1"[..],
            b"4 5d93e 4 4 0 0 10 0 0 0 1",
            b"3 5d93e 4 4 0 0 10 0 0 1 x",
            // Missing, extra-wide or non-hex fields.
            b"4 1000 30 1 2 3 4 5 6 1",
            b"4 1000 30 1 2 3 4 5 6 1 ",
            b"4 1000 30 1 2 3 4 5",
            b"44 1000 30 1 2 3 4 5 6 1 x",
            b"4 1000 100000000 1 2 3 4 5 6 1 x",
            b"4 1000 30 1 2 3 4 5 6 2 x",
            b"4 1000 30 1 2 3 4 5 g 1 x",
            b"",
        ] {
            assert!(
                parse_stack_win(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
