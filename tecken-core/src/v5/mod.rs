//! Eliot's `/symbolicate/v5` and `/symbolicate/v4` APIs, byte for byte.
//!
//! [`symbolicate_v5`] and [`symbolicate_v4`] take a request body and answer the status and
//! the exact bytes Eliot would send. The pieces are public for HTTP layers and bindings:
//! [`parse_v5`] / [`parse_v4`] (validation only), [`write_v5`] / [`write_v4`] (responses
//! from validated requests), and [`symbolicate`] / [`symbolicate_jobs`] (typed, no JSON).
//!
//! ```
//! use tecken_core::symbolicator::provider::{FetchStats, ModuleProvider, ModuleStatus};
//! use tecken_core::v5::{symbolicate_v5, V5Options};
//!
//! struct Nothing;
//! impl ModuleProvider for Nothing {
//!     fn module(&self, _: &str, _: &str) -> (ModuleStatus, FetchStats) {
//!         (ModuleStatus::NotFound, FetchStats::default())
//!     }
//! }
//!
//! let body = br#"{"stacks": [[[0, 4096]]], "memoryMap": [["xul.pdb", "ABC"]]}"#;
//! let resp = symbolicate_v5(&Nothing, body, &V5Options::default());
//! assert_eq!(resp.status, 200);
//! assert_eq!(
//!     resp.body,
//!     br#"{"results": [{"stacks": [[{"frame": 0, "module": "xul.pdb", "module_offset": "0x1000"}]], "found_modules": {"xul.pdb/ABC": false}}]}"#
//! );
//! ```
//!
//! # Where the rules come from
//!
//! Read from `mozilla-services/eliot` (`eliot/symbolicate_resource.py`, the snapshot named in
//! `fixtures/tecken/README.md`), Falcon 4.0.2 (the version Eliot pins: `falcon/media/json.py`,
//! `falcon/http_error.py`) and CPython's `json` module, and checked against the 50 observed
//! request/response pairs in `fixtures/tecken/api-samples/eliot-symbolicate-observed.json`.
//!
//! **Bytes.** Eliot writes successful responses itself with `resp.text =
//! json.dumps(response)`, so they are the standard library's defaults, *not* Falcon's media
//! handler: separators `", "` and `": "`, `ensure_ascii=True` (`\u00e9`, surrogate pairs,
//! lower-case hex), floats as `repr(float)`. Errors are Falcon `HTTPBadRequest(title=...)`
//! serialized by Falcon's default JSON handler, `json.dumps(obj, ensure_ascii=False)`:
//! `{"title": "..."}` with the same separators.
//!
//! **Validation**, in Eliot's order; every failure is an [`Error::bad_request`] whose status
//! and title are the response:
//!
//! 1. The body must be JSON (Python's grammar, which also accepts `NaN`, `Infinity` and a
//!    UTF-8 BOM): else 400 `Payload is not valid JSON`.
//! 2. v5: a body with a `jobs` key is a list of jobs, any other object is one job; more than
//!    [`V5Options::max_jobs`] (Eliot: 10) is 400 `please limit number of jobs in a single
//!    request to <= 10`. v4: the body is the job (`jobs` is ignored).
//! 3. Per job, in order: `job N is invalid` (not an object), `job N is invalid: no stacks
//!    specified`, `job N is invalid: no memoryMap specified`; then the memory map
//!    (`job N has invalid modules: ...`: `modules must be a list`, `module index K does not
//!    have a debug_filename and debug_id`, `... has an invalid debug_filename` (pattern
//!    `^[A-Za-z0-9_.+{}@<> ~-]*$`), `... has an invalid debug_id` (`^[A-Fa-f0-9]*$`)); then
//!    the stacks (`job N has invalid stacks: ...`: `stacks must be a list of lists`, `no
//!    stacks specified`, `stack S is not a list`, `stack S frame F is not a list of two
//!    items`, `... has an invalid module_index`, `... has a module_index that isn't in
//!    modules` (`-1 <= index < len(memoryMap)`), `... has an invalid module_offset` (an
//!    integer `>= -1`)).
//!
//! Like Python's `$`, both patterns also accept one trailing newline.
//!
//! **Results.** Every module referenced by a frame with a non-empty debug file and id is
//! looked up once per request (sorted by debug file and id, as Eliot does), whichever jobs
//! use it. As in Eliot, "a module" is the exact pair of strings: `ABC` and `abc` are two
//! lookups (the provider's cache makes the second one cheap) and two `found_modules` keys. `found_modules` lists each distinct memory map entry of the job once:
//! `true`/`false` when that module was looked up (by any job), `null` when it was not. A
//! frame's `module` is the found module's PE name ([`Module::pe_name`]), else the debug file,
//! else `<unknown>` (index `-1` or an empty debug file). Frames are described in
//! [`response`].
//!
//! **Debug.** With [`V5Options::debug`], v5 responses end with Eliot's `debug` block (see
//! [`debug`](self) for its keys and their order); timings are ours, so the values differ.
//!
//! # Deliberate differences from Eliot
//!
//! - A body that is a JSON number, string, boolean or null is 400 `Payload is not a JSON
//!   object`, and a `jobs` that is not a list (nor an object or string, which Python
//!   iterates and Eliot rejects as `job 0 is invalid`) is 400 `jobs must be a list`; Eliot
//!   crashes with a 500. A list body stays `job 0 is invalid`, as in Eliot.
//! - `true`/`false` are not integers: as a module index they are `has an invalid
//!   module_index`, as an offset `has an invalid module_offset` (Python's `bool` is an `int`,
//!   so Eliot reads `true` as 1).
//! - An offset beyond 64 bits is `has an invalid module_offset` (Eliot would fail later).
//!   A huge module index is, as in Eliot, `has a module_index that isn't in modules`.
//! - Limits (Eliot has none but the job count): see [`V5Options`]. Bodies in UTF-16/32,
//!   which Python detects and decodes, are not JSON here.
//!
//! [`Module::pe_name`]: crate::symbolicator::provider::Module::pe_name

mod debug;
mod engine;
mod parse;
mod reader;
pub mod request;
pub mod response;

use std::time::Instant;

pub use reader::MAX_DEPTH;
pub use request::{
    is_valid_debug_file, is_valid_debug_id, parse_v4, parse_v5, FrameRef, Job, ModuleRef, V5Request,
};
pub use response::{
    JobResult, ModuleLookup, SymbolicatedFrame, SymbolicatedInline, SymbolicationResult,
};

use crate::error::{Error, ErrorKind, Result};
use crate::pyjson;
use crate::symbolicator::provider::ModuleProvider;
use engine::{JobView, Plan};

/// Limits and switches of a v5/v4 request.
///
/// The defaults bound the memory of one request to a few tens of MB: a frame is kept as 24
/// bytes and answered with ~100-300 bytes of JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V5Options {
    /// Most jobs in one v5 request (Eliot's `MAX_JOBS`): 10. Over it: 400.
    pub max_jobs: usize,
    /// Largest body accepted, checked before parsing: 10 MiB (about 600,000 frames of
    /// `[12, 123456789], `). Over it: 413.
    pub max_body_bytes: usize,
    /// Most frames over all jobs: 250,000. The number of stacks is bounded by the same
    /// number (an empty stack costs about as much as a frame). Over it: 413.
    pub max_frames: usize,
    /// Most memory map entries over all jobs: 10,000 (a Firefox process maps a few
    /// hundred modules; 10 jobs of them fit). Over it: 413.
    pub max_modules: usize,
    /// Add Eliot's `debug` block to v5 responses. Eliot turns it on when the request has a
    /// `Debug` header with any non-empty value (even `false`).
    pub debug: bool,
}

impl Default for V5Options {
    fn default() -> Self {
        V5Options {
            max_jobs: 10,
            max_body_bytes: 10 << 20,
            max_frames: 250_000,
            max_modules: 10_000,
            debug: false,
        }
    }
}

impl V5Options {
    /// These options with [`V5Options::debug`] set to `debug`.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }
}

/// A complete answer: HTTP status and the exact body bytes (`application/json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// 200, or the error's status (400, 413).
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The response for `err`: its status and `{"title": ...}` as Falcon writes it. Errors
    /// other than request errors are a 500 with Falcon's generic title.
    pub fn from_error(err: &Error) -> ApiResponse {
        if err.kind() == ErrorKind::BadRequest {
            ApiResponse {
                status: err.http_status(),
                body: pyjson::error_body(err.message()),
            }
        } else {
            ApiResponse {
                status: 500,
                body: pyjson::error_body("500 Internal Server Error"),
            }
        }
    }
}

/// Answers a `POST /symbolicate/v5` body.
pub fn symbolicate_v5(provider: &dyn ModuleProvider, body: &[u8], opts: &V5Options) -> ApiResponse {
    let start = Instant::now();
    match parse_v5(body, opts) {
        Ok(req) => ApiResponse {
            status: 200,
            body: respond_v5(provider, &req, opts.debug, start),
        },
        Err(e) => ApiResponse::from_error(&e),
    }
}

/// Answers a `POST /symbolicate/v4` body (one job; no debug block).
pub fn symbolicate_v4(provider: &dyn ModuleProvider, body: &[u8], opts: &V5Options) -> ApiResponse {
    match parse_v4(body, opts) {
        Ok(job) => ApiResponse {
            status: 200,
            body: write_v4(provider, &job),
        },
        Err(e) => ApiResponse::from_error(&e),
    }
}

/// The 200 response body for a validated v5 request, with the `debug` block if `debug`
/// (whose `time` then covers the lookups and the writing; [`symbolicate_v5`] also counts
/// the parsing).
pub fn write_v5(provider: &dyn ModuleProvider, req: &V5Request<'_>, debug: bool) -> Vec<u8> {
    respond_v5(provider, req, debug, Instant::now())
}

fn respond_v5(
    provider: &dyn ModuleProvider,
    req: &V5Request<'_>,
    debug: bool,
    start: Instant,
) -> Vec<u8> {
    let jobs: Vec<JobView<'_>> = req.jobs.iter().map(JobView::of).collect();
    let mut plan = Plan::new(&jobs);
    plan.fetch(provider);
    let out = write_body(&plan, req, &jobs, debug, start);
    if !plan.any_damaged() {
        return out;
    }
    // An index file was truncated or changed on disk while we read it: the answer may
    // lack frames. The provider has dropped it; ask again, once.
    let mut plan = Plan::new(&jobs);
    plan.fetch(provider);
    write_body(&plan, req, &jobs, debug, start)
}

fn write_body(
    plan: &Plan<'_>,
    req: &V5Request<'_>,
    jobs: &[JobView<'_>],
    debug: bool,
    start: Instant,
) -> Vec<u8> {
    // Room for typical frames and found_modules entries, so the buffer is not regrown (a
    // copy and fresh pages): a frame with a C++ symbol, file and line takes 200-300 bytes
    // (266 on average in the bindings' benchmark request), an unsymbolicated one ~60. Unused
    // capacity is never touched, so it costs address space, not memory.
    let frames: usize = req.jobs.iter().map(Job::frame_count).sum();
    let modules: usize = req.jobs.iter().map(|j| j.memory_map.len()).sum();
    let mut out = Vec::with_capacity(64 + frames.saturating_mul(320) + modules.saturating_mul(64));
    out.push(b'{');
    response::write_results(&mut out, plan, jobs);
    if debug {
        let block = debug::debug_block(plan, jobs.len(), start.elapsed());
        out.extend_from_slice(b", \"debug\": ");
        block.write(&mut out);
    }
    out.push(b'}');
    out
}

/// The 200 response body for a validated v4 job.
pub fn write_v4(provider: &dyn ModuleProvider, job: &Job<'_>) -> Vec<u8> {
    let jobs = [JobView::of(job)];
    let write = |plan: &Plan<'_>| {
        let mut out = Vec::with_capacity(
            64 + job.frame_count().saturating_mul(80) + job.memory_map.len() * 8,
        );
        response::write_v4(&mut out, plan, &jobs[0]);
        out
    };
    let mut plan = Plan::new(&jobs);
    plan.fetch(provider);
    let out = write(&plan);
    if !plan.any_damaged() {
        return out;
    }
    // A damaged index (see `respond_v5`): once more.
    let mut plan = Plan::new(&jobs);
    plan.fetch(provider);
    write(&plan)
}

/// Symbolicates one job given as typed values (no JSON), after validating it as Eliot
/// would ([`Job::validate`]).
pub fn symbolicate(
    provider: &dyn ModuleProvider,
    modules: &[ModuleRef<'_>],
    stacks: &[Vec<FrameRef>],
) -> Result<SymbolicationResult> {
    request::validate_parts(modules, stacks, 0)?;
    let job = JobView { modules, stacks };
    Ok(run_typed(provider, &[job]))
}

/// Symbolicates several jobs given as typed values, after validating each.
pub fn symbolicate_jobs(
    provider: &dyn ModuleProvider,
    jobs: &[Job<'_>],
) -> Result<SymbolicationResult> {
    for (i, job) in jobs.iter().enumerate() {
        job.validate(i)?;
    }
    let views: Vec<JobView<'_>> = jobs.iter().map(JobView::of).collect();
    Ok(run_typed(provider, &views))
}

fn run_typed(provider: &dyn ModuleProvider, jobs: &[JobView<'_>]) -> SymbolicationResult {
    let mut plan = Plan::new(jobs);
    plan.fetch(provider);
    let results = response::typed_results(&plan, jobs);
    if !plan.any_damaged() {
        return results;
    }
    // A damaged index (see `respond_v5`): once more.
    let mut plan = Plan::new(jobs);
    plan.fetch(provider);
    response::typed_results(&plan, jobs)
}
