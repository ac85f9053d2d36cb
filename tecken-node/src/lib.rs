//! # tecken-node
//!
//! The Node.js binding of `tecken-core` (npm package `tecken-core`), built with napi-rs.
//!
//! The binding is thin: each function converts its arguments (copying them into owned
//! Rust values on the JS thread), makes one core call, and converts the result. Calls that
//! touch disk, network or parse anything run on libuv's thread pool as an `AsyncTask` and
//! return a Promise; `...Sync` variants block the JS thread. Every failure is an `Error`
//! with a stable `code` (`TECKEN_<KIND>`), see [`error`]; panics are caught, see [`work`].
//!
//! - [`store`]: `SymbolStore` (local directory, S3, HTTP, or a chain).
//! - [`symbolicator`]: `Symbolicator` with `symbolicateV5` / `symbolicateV4`.
//! - [`upload`]: `SymbolStore.uploadArchive` with progress events.
//! - [`sessions`]: `UploadSessions`, Tecken's upload API v2 (a resumable session per file).
//! - [`index`]: `parseSymHeader`, `buildIndex`, `Index.open` and `lookup`.
//! - [`binary`]: `binaryId`, the ids of an ELF, Mach-O or PE binary.
//! - [`stackwalk`]: `stackwalk`, a minidump processed as `minidump-stackwalk` does.

// No `deny(missing_docs)`: the napi macros generate undocumented public items. The doc
// comments here become the JSDoc of index.d.ts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod binary;
pub mod convert;
pub mod error;
pub mod index;
pub mod sessions;
pub mod stackwalk;
pub mod store;
pub mod symbolicator;
pub mod upload;
pub mod work;

/// Every Rust allocation of the addon (the core's included) goes through mimalloc.
///
/// Why: a v5 response is a fresh multi-megabyte `Vec` handed to JavaScript as a Buffer and
/// freed later by V8's garbage collector. With the system allocator each such response was
/// a fresh `mmap` (first-touch page faults on every page, then `munmap`): 1,200 faults per
/// call of a 18,000-frame request, which made the Node call 2-4x slower than the same core
/// call in Rust (where the buffer is freed at once and reused). mimalloc keeps freed
/// segments for reuse, including memory freed from another thread (the JS thread frees
/// what a pool thread allocated). `benches/node/bench.mjs` measures the result.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use napi::bindgen_prelude::AsyncTask;
use napi::Env;
use napi_derive::napi;

/// The version of tecken-core this binding was built from.
#[napi]
pub fn version() -> String {
    tecken_core::VERSION.to_owned()
}

/// Whether the `Auth-Token` header value `presented` authenticates as the token `expected`:
/// the token, or the token, `-` and a label (Tecken's token labels). Constant time.
#[napi]
pub fn auth_token_matches(expected: String, presented: String) -> bool {
    tecken_core::auth_token_matches(&expected, &presented)
}

/// Whether a `Debug` header value asks Tecken's download API for `Debug-Time`: `1`, `true`
/// or `yes`, in any case (Eliot's symbolication API takes any non-empty value instead).
#[napi]
pub fn tecken_debug_requested(value: String) -> bool {
    tecken_core::tecken_debug_requested(&value)
}

fn panic_job() -> tecken_core::Result<work::Job<bool>> {
    #[allow(clippy::panic, reason = "the point of the function")]
    Ok(Box::new(|| panic!("deliberate panic for the test suite")))
}

/// Test hook: a task that panics inside Rust, to check that the panic becomes a rejected
/// Promise (`TECKEN_INTERNAL`) and not a crashed process. Not part of the API.
#[napi(js_name = "__panicForTests", skip_typescript)]
pub fn panic_for_tests() -> AsyncTask<work::Work<bool, bool>> {
    work::spawn(panic_job(), work::same)
}

/// Blocking variant of the test hook: the panic becomes a thrown `TECKEN_INTERNAL` error.
#[napi(js_name = "__panicForTestsSync", skip_typescript)]
pub fn panic_for_tests_sync(env: Env) -> napi::Result<bool> {
    work::block(env, panic_job(), work::same)
}
