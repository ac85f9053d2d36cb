//! # tecken-core
//!
//! A Breakpad symbol store and symbolication engine: the library behind Mozilla-style
//! symbol servers (Tecken) and symbolication services (Eliot).
//!
//! Every public item is named from the crate root, by one path (`tecken_core::SymbolStore`);
//! the modules are private. The items, by layer (each layer uses only those above it):
//!
//! 1. **The `.sym` format**: [`sym_records`] reads every record of the whole Breakpad text
//!    format, leniently by default ([`ParseOptions`]); [`parse_sym_header`] reads the
//!    MODULE and INFO lines; [`read_sym_file`] reads a plain or gzipped file.
//! 2. **The index**: [`build_index`], [`build_index_to_file`] and [`build_index_to_writer`]
//!    make a compact, memory-mappable [`Index`] that answers lookups ([`Frame`],
//!    [`InlineFrame`], [`SourceFile`]; [`LookupOptions`]) without parsing anything at open
//!    time.
//! 3. **Storage**: [`Storage`] is the one backend trait, an object store addressed by full
//!    keys ([`LocalStore`], the embedded default; [`PlainTreeStore`]; `S3Store`, feature
//!    `s3`; `HttpStore`, feature `http`; [`ChainStore`]); [`ObjectKey`] and [`Area`] are the
//!    one key type. [`SymbolStore`] holds every Tecken rule over a backend (downloads,
//!    syminfo, code ids, gzip and its metadata); [`StoreSpec`] reads `DIR`, `s3://...` and
//!    `https://...` the same way in Rust, the CLI, the server and both bindings.
//!    [`upload_archive`] stores Tecken's upload archives (`fetch_archive_url` downloads one
//!    from an allow-listed URL, feature `http`), [`UploadSessions`] the files of Tecken's
//!    upload API v2 (a resumable session per file); [`MissingSymbols`] records misses
//!    as Tecken's CSV. [`binary_id`] reads from an ELF, Mach-O or PE file the ids `dump_syms`
//!    writes for it ([`BinaryId`]), and so the key of its `.sym`.
//! 4. **The symbolicator**: [`Symbolicator`] loads modules on demand from [`SymbolStore`]s,
//!    building indexes into a cache directory shared by processes and keeping open ones in a
//!    byte-bounded LRU; it is a [`ModuleProvider`]. With the feature `minidump-unwind`,
//!    `TeckenSymbolProvider` puts it under rust-minidump's stack walker (a
//!    `minidump_unwind::SymbolProvider`: symbols per frame, STACK WIN / STACK CFI unwinding).
//! 5. **Eliot's API**: [`symbolicate_v5`] and [`symbolicate_v4`] answer request bodies byte
//!    for byte as Eliot does, over any [`ModuleProvider`]; [`symbolicate`] and
//!    [`symbolicate_jobs`] take typed stacks. [`python_json`] writes JSON as Python's
//!    `json.dumps` does, [`rfc3339_micros`] dates as Django does.
//! 6. **Stack unwinding** for crash processors: [`walk_cfi`], [`walk_cfi_in_module`] and
//!    [`walk_win`] evaluate `STACK CFI` / `STACK WIN` records ([`CfiRules`], [`StackWin`])
//!    against a stack walker's registers and memory ([`FrameWalker`]) with breakpad-symbols'
//!    semantics; [`UnwindCache`] compiles each rule string once.
//!
//! The HTTP server (`tecken-server`), the CLI and the Python and Node bindings are thin
//! callers of these. Contributors: `cargo doc --document-private-items` shows the module
//! docs (the index format byte by byte, the store layout, the v5 layers).
//!
//! ## The lookup contract
//!
//! For a module-relative address:
//!
//! - the function is the FUNC whose `[address, address + size)` covers it; FUNCs of size 0
//!   are ignored; of overlapping FUNCs the first in the file wins;
//! - with no covering FUNC, the nearest PUBLIC at or below the address answers if it lies
//!   above the start of the nearest FUNC below the address (Breakpad's rule); the last
//!   PUBLIC runs to the end of the address space;
//! - the file and line are the covering line record's, or inside an inlined call, the call
//!   site of the outermost inlined call; between two line records the previous one answers
//!   (as Eliot does; [`LookupOptions::strict_lines`] gives Breakpad's "no line");
//! - inline frames come innermost first, each at its position inside that inlined function;
//! - line 0 and empty files are omitted; addresses at or above 4 GiB work.
//!
//! ## Example
//!
//! ```
//! use tecken_core::{build_index, BuildOptions};
//!
//! let sym = b"MODULE Linux x86_64 D48F191186D67E69DF025AD71FB91E1F0 testproj\n\
//! FILE 0 /src/main.rs\n\
//! FUNC 5380 44 0 testproj::main\n\
//! 5380 9 1 0\n5389 36 2 0\n";
//! let (index, _report) = build_index(sym, &BuildOptions::default()).unwrap();
//! let frame = index.lookup(0x538a).unwrap();
//! assert_eq!(frame.function, "testproj::main");
//! assert_eq!(frame.function_offset, 0xa);
//! assert_eq!(frame.line, Some(2));
//! assert_eq!(frame.file.unwrap().path, "/src/main.rs");
//! ```

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod api;
mod binary_id;
#[cfg(feature = "minidump-unwind")]
mod crash;
mod date;
mod error;
mod fsutil;
mod index;
mod keys;
mod lookup;
mod missing;
mod mmap;
mod path;
mod pyjson;
#[cfg(feature = "minidump-unwind")]
mod stackwalk;
mod store;
mod sym;
mod symbolicator;
mod unwind;
mod upload;
mod v5;

// The public API: every item by one path, from the crate root. The modules are private; the
// groups follow the layers (see the crate docs).

// Errors.
pub use error::{Error, ErrorKind, Result};

// The `.sym` format.
pub use sym::{
    parse_header as parse_sym_header, read_file as read_sym_file, records as sym_records, CodeId,
    InlineRecord, LineError, ParseOptions, ParseReport, Record, Records, SymHeader,
    DEFAULT_MAX_SYM_BYTES,
};

// The index and lookups.
pub use index::{
    build as build_index, build_to_file as build_index_to_file,
    build_to_writer as build_index_to_writer, BuildOptions, BuildReport, Index, IndexMeta,
};
pub use lookup::{
    Frame, FrameDetails, InlineFrame, LookupOptions, OwnedFrame, OwnedInlineFrame, SourceFile,
    SymbolKind,
};
pub use path::clean_path;

// Storage: keys, backends, and Tecken's rules over them.
pub use keys::{Area, ObjectKey};
pub use store::{
    is_plain_tree, open_store, symbol_stores, BodyMode, BodyStream, ChainStore, CodeIdEntry,
    Download, DownloadRequest, DownloadSummary, EncodedFile, Found, LocalStore, ObjectData,
    ObjectMeta, ObjectReader, PlainTreeStore, PutObject, RebuildReport, Storage, StoreOptions,
    StoreSpec, StoredObject, SymInfo, SymbolStore, TempCleanup,
};
#[cfg(feature = "http")]
pub use store::{HttpConfig, HttpLayout, HttpStore};
#[cfg(feature = "s3")]
pub use store::{S3Config, S3Store};

// Missing-symbol records.
pub use missing::{CsvOptions, MissingSymbol, MissingSymbols};

// Binaries: the ids `dump_syms` writes for an ELF, Mach-O or PE file, and their store key.
pub use binary_id::{binary_id, BinaryId};

// Stack unwinding: the records, the interface to the stack walker, and the evaluators.
pub use unwind::{
    walk_cfi, walk_cfi_in_module, walk_win, CfiRules, FrameWalker, StackWin, UnwindCache, WinKind,
};
// rust-minidump's stack walker over a symbolicator (feature `minidump-unwind`).
#[cfg(feature = "minidump-unwind")]
pub use crash::TeckenSymbolProvider;
// Processing a whole minidump as `minidump-stackwalk` does (feature `minidump-unwind`).
#[cfg(feature = "minidump-unwind")]
pub use stackwalk::{stackwalk, MinidumpSource, Stackwalk, StackwalkOptions};

// Uploads.
#[cfg(feature = "http")]
pub use upload::{fetch_archive_url, FetchedArchive, UrlUploadOptions};
pub use upload::{
    remove_stale_spool_files, upload_archive, upload_archive_bytes, upload_archive_path,
    ArchiveSource, FileReport, IgnoredFile, ModuleMismatch, ProgressFn, SymFileReport,
    UploadLimits, UploadOptions, UploadProgress, UploadResult,
};
// Tecken's upload API v2: resumable sessions, one per file.
pub use upload::{
    ChunkOutcome, ChunkWriter, CompletedUpload, ContentRange, FileAction, FileSpec, PlannedUpload,
    SessionLimits, UploadSessions,
};

// The symbolicator.
pub use symbolicator::{
    CachedOnly, FetchStats, Module, ModuleProvider, ModuleStatus, Symbolicator, SymbolicatorConfig,
};

// Eliot's API.
pub use v5::{
    parse_v4, parse_v5, symbolicate, symbolicate_jobs, symbolicate_v4, symbolicate_v5, write_v4,
    write_v5, ApiResponse, FrameRef, Job, JobResult, ModuleLookup, ModuleRef, SymbolicatedFrame,
    SymbolicatedInline, SymbolicationResult, V5Options, V5Request,
};

// Tecken's request rules: tokens with labels, the `Debug` header of downloads.
pub use api::{auth_token_matches, tecken_debug_requested};

// Shared by the server and the bindings: the bytes Python's `json.dumps` writes, the date
// format of Tecken's answers, and an atomic file write.
pub use date::rfc3339_micros;
pub use fsutil::write_file_atomic;
pub use pyjson::dumps as python_json;

/// The crate version, as written into index metadata and reported by the bindings.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
