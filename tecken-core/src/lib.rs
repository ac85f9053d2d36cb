//! # tecken-core
//!
//! A Breakpad symbol store and symbolication engine: the library behind Mozilla-style
//! symbol servers (Tecken) and symbolication services (Eliot).
//!
//! - [`sym`] parses the whole Breakpad `.sym` text format, leniently by default.
//! - [`index`] builds a compact, memory-mappable index from a `.sym` file and answers
//!   lookups from it without parsing anything at open time.
//! - [`Symbolicator`] answers whole stacks from a symbols directory in Tecken's layout,
//!   building indexes on first use into a cache directory and keeping open ones in a
//!   byte-bounded LRU.
//! - [`v5`] speaks Eliot's `/symbolicate/v5` and `/symbolicate/v4` JSON, byte for byte.
//! - [`pyjson`] writes JSON as Python's `json.dumps` does (the bytes of Eliot's and
//!   Django's answers); [`date`] writes RFC 3339 dates as Tecken's CSV and Django do.
//! - [`store`] reads and writes Tecken's bucket layout over local disk, S3 and HTTP, with
//!   Tecken's download rules; [`upload`] stores Tecken's upload archives; [`keys`] holds
//!   the key rules both use; [`missing`] records missing symbols as Tecken's CSV.
//!
//! ## Layers
//!
//! Each layer uses only those above it: [`keys`], [`sym`], [`index`] (format, builder,
//! reader) and [`lookup`]; then [`store`] and [`upload`]; then [`symbolicator`] (modules on
//! demand from stores, with the index cache and the in-memory LRU); then [`v5`] (Eliot's
//! API over any [`symbolicator::ModuleProvider`]). The symbolicator reads `.sym` files
//! through [`store::SymbolStore`]s, so every [`store::Storage`] backend is a source. The HTTP server
//! (`tecken-server`), the CLI and the Python and Node bindings are thin callers of these.
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
//! use tecken_core::index::{build, BuildOptions};
//!
//! let sym = b"MODULE Linux x86_64 D48F191186D67E69DF025AD71FB91E1F0 testproj\n\
//! FILE 0 /src/main.rs\n\
//! FUNC 5380 44 0 testproj::main\n\
//! 5380 9 1 0\n5389 36 2 0\n";
//! let (index, _report) = build(sym, &BuildOptions::default()).unwrap();
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

pub mod date;
pub mod error;
pub mod fsutil;
pub mod index;
pub mod keys;
pub mod lookup;
pub mod missing;
mod mmap;
pub mod path;
pub mod pyjson;
pub mod store;
pub mod sym;
pub mod symbolicator;
pub mod upload;
pub mod v5;

pub use error::{Error, ErrorKind, Result};
pub use index::Index;
pub use lookup::{Frame, InlineFrame, LookupOptions, SourceFile, SymbolKind};
pub use symbolicator::{Symbolicator, SymbolicatorConfig};

/// The crate version, as written into index metadata and reported by the bindings.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
