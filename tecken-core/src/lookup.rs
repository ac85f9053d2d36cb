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

impl SymbolKind {
    /// `"func"` or `"public"`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Func => "func",
            SymbolKind::Public => "public",
        }
    }
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

/// What a crash processor needs for a frame besides its [`Frame`], from
/// [`crate::Index::frame_details`]. Addresses are module-relative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FrameDetails {
    /// The FUNC's or PUBLIC's parameter size (bytes of parameters on the stack).
    /// `breakpad-symbols` prefers the covering STACK WIN record's
    /// ([`crate::Index::preferred_stack_win`]) when there is one.
    pub parameter_size: u32,
    /// Start of the line record that gives the frame's line (as clamped to its FUNC and
    /// cut by earlier overlapping records when the index was built), or `None`.
    pub line_address: Option<u64>,
    /// Start of the depth-0 inline range covering the address, or `None` outside inlined
    /// code. `breakpad-symbols` reports this one, when present, as the source location's
    /// address, else the line's.
    pub inline_address: Option<u64>,
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

/// An [`InlineFrame`] that owns its strings, with the file split into its cleaned and raw
/// forms (the shape the Python and Node bindings return).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedInlineFrame {
    /// Name of the inlined function (empty when its INLINE_ORIGIN was never defined).
    pub function: String,
    /// Its source file, cleaned as Eliot shows it ([`SourceFile::path`]).
    pub file: Option<String>,
    /// That file as written in the FILE record ([`SourceFile::raw`]).
    pub raw_file: Option<String>,
    /// The line inside the inlined function (`None` for line 0).
    pub line: Option<u32>,
}

impl From<&InlineFrame<'_>> for OwnedInlineFrame {
    fn from(i: &InlineFrame<'_>) -> Self {
        OwnedInlineFrame {
            function: i.function.to_owned(),
            file: i.file.map(|s| s.path.to_owned()),
            raw_file: i.file.map(|s| s.raw.to_owned()),
            line: i.line,
        }
    }
}

/// A [`Frame`] that owns its strings: it outlives the index that answered (a binding's
/// frame object), and its file is split into `file` and `raw_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedFrame {
    /// The function (FUNC) or symbol (PUBLIC) name.
    pub function: String,
    /// The address of the FUNC or PUBLIC record.
    pub function_address: u64,
    /// The looked-up address minus [`OwnedFrame::function_address`].
    pub function_offset: u64,
    /// FUNC or PUBLIC.
    pub kind: SymbolKind,
    /// The record's `m` flag (see [`Frame::multiple`]).
    pub multiple: bool,
    /// The outer function's source file, cleaned as Eliot shows it ([`SourceFile::path`]).
    pub file: Option<String>,
    /// That file as written in the FILE record ([`SourceFile::raw`]).
    pub raw_file: Option<String>,
    /// The outer function's line (`None` when unknown or 0).
    pub line: Option<u32>,
    /// Inlined calls covering the address, innermost first.
    pub inlines: Vec<OwnedInlineFrame>,
}

impl From<&Frame<'_>> for OwnedFrame {
    fn from(f: &Frame<'_>) -> Self {
        OwnedFrame {
            function: f.function.to_owned(),
            function_address: f.function_address,
            function_offset: f.function_offset,
            kind: f.kind,
            multiple: f.multiple,
            file: f.file.map(|s| s.path.to_owned()),
            raw_file: f.file.map(|s| s.raw.to_owned()),
            line: f.line,
            inlines: f.inlines.iter().map(OwnedInlineFrame::from).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_frame_splits_files_and_keeps_every_field() {
        let file = SourceFile {
            path: "hg:hg.mozilla.org/mozilla-central:dom/base/Element.cpp:abc",
            raw: "/builds/worker/checkouts/gecko/dom/base/Element.cpp",
        };
        let inner = SourceFile {
            path: "xpcom/string/nsTSubstring.h",
            raw: "/builds/worker/workspace/obj-build/dist/include/nsTSubstring.h",
        };
        let frame = Frame {
            function: "Element::SetAttr",
            function_address: 0x1000,
            function_offset: 0x2a,
            kind: SymbolKind::Public,
            multiple: true,
            file: Some(file),
            line: Some(12),
            inlines: vec![
                InlineFrame {
                    function: "nsTSubstring::Length",
                    file: Some(inner),
                    line: Some(7),
                },
                InlineFrame {
                    function: "",
                    file: None,
                    line: None,
                },
            ],
        };
        let owned = OwnedFrame::from(&frame);
        assert_eq!(
            owned,
            OwnedFrame {
                function: "Element::SetAttr".into(),
                function_address: 0x1000,
                function_offset: 0x2a,
                kind: SymbolKind::Public,
                multiple: true,
                file: Some(file.path.into()),
                raw_file: Some(file.raw.into()),
                line: Some(12),
                inlines: vec![
                    OwnedInlineFrame {
                        function: "nsTSubstring::Length".into(),
                        file: Some(inner.path.into()),
                        raw_file: Some(inner.raw.into()),
                        line: Some(7),
                    },
                    OwnedInlineFrame {
                        function: String::new(),
                        file: None,
                        raw_file: None,
                        line: None,
                    },
                ],
            }
        );
        // The serde form is the bindings' frame: `kind` as its string, files split.
        let json = serde_json::to_value(&owned).unwrap();
        assert_eq!(json["kind"], SymbolKind::Public.as_str());
        assert_eq!(json["raw_file"], file.raw);
        assert_eq!(json["inlines"][0]["raw_file"], inner.raw);
        assert_eq!(json["inlines"][1]["file"], serde_json::Value::Null);
    }

    #[test]
    fn symbol_kind_as_str_is_its_serde_name() {
        for kind in [SymbolKind::Func, SymbolKind::Public] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
