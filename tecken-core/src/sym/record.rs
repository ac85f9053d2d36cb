//! Record-level parsers, shared by the [`records`] iterator and the index builder.
//!
//! Each parser takes one line without its keyword and returns `None` (or a reason) when the
//! line is malformed. They never panic and never allocate, except where a record must own
//! its ranges ([`InlineRecord`]).

use super::header::{parse_module, SymHeader};
use super::Lines;

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
    pub name: &'a [u8],
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
    hex_u64(param).ok_or("FUNC: bad parameter size")?;
    Ok(FuncFields {
        multiple,
        address,
        size,
        name: trim_end(trim_start(rest)),
    })
}

/// The fields of a `PUBLIC [m] <address> <param_size> <name>` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PublicFields<'a> {
    pub multiple: bool,
    pub address: u64,
    pub name: &'a [u8],
}

/// Parses a PUBLIC line after `PUBLIC `.
#[inline]
pub(crate) fn parse_public(rest: &[u8]) -> Result<PublicFields<'_>, &'static str> {
    let (multiple, rest) = strip_multiple(rest);
    let (addr, rest) = split_fields(rest);
    let (param, rest) = split_fields(rest);
    let address = hex_u64(addr).ok_or("PUBLIC: bad address")?;
    hex_u64(param).ok_or("PUBLIC: bad parameter size")?;
    Ok(PublicFields {
        multiple,
        address,
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
        /// Symbol name.
        name: &'a [u8],
    },
    /// `STACK CFI INIT ...` (kept raw; a later version will parse it).
    StackCfiInit(&'a [u8]),
    /// `STACK CFI ...`.
    StackCfi(&'a [u8]),
    /// `STACK WIN ...`.
    StackWin(&'a [u8]),
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
                name: p.name,
            },
            Err(r) => malformed(r, line),
        };
    }
    if let Some(rest) = line.strip_prefix(b"STACK ") {
        if let Some(r) = rest.strip_prefix(b"CFI INIT ") {
            return Record::StackCfiInit(r);
        }
        if let Some(r) = rest.strip_prefix(b"CFI ") {
            return Record::StackCfi(r);
        }
        if let Some(r) = rest.strip_prefix(b"WIN ") {
            return Record::StackWin(r);
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
        assert!(matches!(recs[8].1, Record::StackCfiInit(_)));
        assert!(matches!(recs[9].1, Record::StackCfi(_)));
        assert!(matches!(recs[10].1, Record::StackWin(_)));
        assert!(matches!(recs[11].1, Record::Malformed { .. }));
        assert_eq!(recs[12].0, 14, "blank line skipped but counted");
        assert!(matches!(recs[12].1, Record::Malformed { .. }));
    }
}
