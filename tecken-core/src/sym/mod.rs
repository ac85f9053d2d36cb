//! The Breakpad text symbol format (`.sym`).
//!
//! A `.sym` file is a sequence of newline-terminated records:
//!
//! ```text
//! MODULE <os> <arch> <debug_id> <debug_file>
//! INFO CODE_ID <code_id> [<code_file>]
//! INFO GENERATOR <text>
//! INFO <key> <value>
//! FILE <id> <path>
//! INLINE_ORIGIN <id> <name>
//! FUNC [m] <address> <size> <param_size> <name>
//! <address> <size> <line> <file_id>                      (a line record of the FUNC above)
//! INLINE <depth> <call_line> <call_file_id> <origin_id> (<address> <size>)+
//! PUBLIC [m] <address> <param_size> <name>
//! STACK CFI INIT <address> <size> <rules> / STACK CFI <address> <rules> / STACK WIN ...
//! ```
//!
//! Addresses and sizes are hexadecimal, line numbers and ids decimal. This module has:
//!
//! - [`parse_header`]: the cheap header-only parse (MODULE and INFO lines) that uploads need;
//! - [`records`]: an iterator over every record of a file, for tools and tests;
//! - the record-level parsers shared with the index builder, which has its own fast driver
//!   (see [`crate::index`]).
//!
//! The parser is lenient: a malformed line is skipped and counted ([`ParseReport`]), never
//! fatal, unless [`ParseOptions::strict`] asks for the first bad line to fail the parse.
//! It accepts CRLF line ends, blank lines, non-UTF-8 bytes (names are converted lossily
//! when they are stored), 64-bit addresses, unknown architectures, and records in any
//! order (FILE and INLINE_ORIGIN may come after the records that use them).

pub(crate) mod file;
mod header;
mod record;

pub use file::{read_file, DEFAULT_MAX_SYM_BYTES};
pub(crate) use header::parse_module as header_parse_module;
pub use header::{parse_header, CodeId, SymHeader};
pub(crate) use record::{
    parse_file_or_origin, parse_func, parse_inline, parse_line_record, parse_public,
    parse_stack_cfi_init_raw, parse_stack_cfi_raw, parse_stack_win, rules_utf8, LineFields,
    WinParsed,
};
pub use record::{records, InlineRecord, Record, Records};

use serde::{Deserialize, Serialize};

/// How to treat malformed lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Fail on the first malformed line (with its line number) instead of skipping it.
    pub strict: bool,
    /// How many malformed lines to keep (line number and reason) in the report.
    pub max_reported_errors: usize,
    /// Use this many threads to parse (0 = the machine's available parallelism).
    pub threads: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            strict: false,
            max_reported_errors: 10,
            threads: 0,
        }
    }
}

/// One malformed line: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based line number in the `.sym` file.
    pub line: u64,
    /// What was wrong with it.
    pub reason: String,
}

/// Record counts and the malformed lines seen while parsing a `.sym` file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// Lines read (including blank ones).
    pub lines: u64,
    /// `FILE` records.
    pub files: u64,
    /// `INLINE_ORIGIN` records.
    pub inline_origins: u64,
    /// `FUNC` records (including `FUNC m`, size-0 and overlapping ones).
    pub funcs: u64,
    /// Line records.
    pub line_records: u64,
    /// `INLINE` records.
    pub inlines: u64,
    /// `PUBLIC` records.
    pub publics: u64,
    /// `STACK CFI INIT` records.
    pub stack_cfi_init: u64,
    /// `STACK CFI` records.
    pub stack_cfi: u64,
    /// `STACK WIN` records.
    pub stack_win: u64,
    /// `INFO` records.
    pub infos: u64,
    /// Malformed lines skipped.
    pub skipped: u64,
    /// The first few malformed lines (see [`ParseOptions::max_reported_errors`]).
    pub errors: Vec<LineError>,
    /// FUNCs dropped because they overlap an earlier FUNC (Breakpad: the first one wins).
    pub overlapping_funcs: u64,
    /// FUNCs of size 0, ignored for lookups.
    pub empty_funcs: u64,
}

impl ParseReport {
    pub(crate) fn merge(&mut self, other: ParseReport, max_errors: usize) {
        self.lines += other.lines;
        self.files += other.files;
        self.inline_origins += other.inline_origins;
        self.funcs += other.funcs;
        self.line_records += other.line_records;
        self.inlines += other.inlines;
        self.publics += other.publics;
        self.stack_cfi_init += other.stack_cfi_init;
        self.stack_cfi += other.stack_cfi;
        self.stack_win += other.stack_win;
        self.infos += other.infos;
        self.skipped += other.skipped;
        self.overlapping_funcs += other.overlapping_funcs;
        self.empty_funcs += other.empty_funcs;
        for e in other.errors {
            if self.errors.len() < max_errors {
                self.errors.push(e);
            }
        }
    }

    pub(crate) fn record_error(&mut self, line: u64, reason: &str, max_errors: usize) {
        self.skipped += 1;
        if self.errors.len() < max_errors {
            self.errors.push(LineError {
                line,
                reason: reason.to_owned(),
            });
        }
    }
}

/// Splits `bytes` into lines, yielding `(offset, line)` without the line end (LF or CRLF).
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Lines { bytes, pos: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let start = self.pos;
        let (mut line, advance) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        self.pos += advance;
        Some((start, line))
    }
}
