//! What a lookup returns: a [`Frame`] with its inline chain.
//!
//! The semantics (which function, which line, which inline frames) are the lookup contract of
//! the project; see the crate docs and [`crate::index`] for how they are resolved.

use serde::Serialize;

/// Whether a frame's symbol came from a FUNC or a PUBLIC record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A FUNC record: has a size, may have lines and inlines.
    Func,
    /// A PUBLIC record: a name only.
    Public,
}

/// A source file as stored in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceFile<'a> {
    /// The path cleaned as Eliot shows it (see [`crate::path::clean_path`]).
    pub path: &'a str,
    /// The path exactly as written in the FILE record.
    pub raw: &'a str,
}

/// One inlined call, innermost first in [`Frame::inlines`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineFrame<'a> {
    /// Name of the inlined function (empty when its INLINE_ORIGIN was never defined).
    pub function: &'a str,
    /// Where inside that function the address is: its file...
    pub file: Option<SourceFile<'a>>,
    /// ...and line (`None` for line 0).
    pub line: Option<u32>,
}

/// The answer for one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame<'a> {
    /// The function (FUNC) or symbol (PUBLIC) name.
    pub function: &'a str,
    /// The address of the FUNC or PUBLIC record.
    pub function_address: u64,
    /// The looked-up address minus [`Frame::function_address`].
    pub function_offset: u64,
    /// FUNC or PUBLIC.
    pub kind: SymbolKind,
    /// The record's `m` flag: the linker folded several symbols into this address, so the
    /// name may not be the one the source called.
    pub multiple: bool,
    /// The outer function's source file: the call site of the outermost inlined call when
    /// the address is inside one, else the covering line record's file.
    pub file: Option<SourceFile<'a>>,
    /// The outer function's line (`None` when unknown or 0).
    pub line: Option<u32>,
    /// Inlined calls covering the address, innermost first.
    pub inlines: Vec<InlineFrame<'a>>,
}

impl Frame<'_> {
    /// An empty frame, for [`crate::Index::lookup_into`] to fill.
    pub fn empty() -> Self {
        Frame {
            function: "",
            function_address: 0,
            function_offset: 0,
            kind: SymbolKind::Func,
            multiple: false,
            file: None,
            line: None,
            inlines: Vec::new(),
        }
    }
}

/// Options for a lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupOptions {
    /// Between two line records of a FUNC (or after the last one), answer no line, as
    /// Breakpad's resolver does, instead of the previous line, as Eliot does.
    pub strict_lines: bool,
}
