//! Eliot's `/symbolicate/v5` and `/symbolicate/v4` APIs, byte for byte.
//!
//! [`symbolicate_v5`] and [`symbolicate_v4`] take a request body and answer the status and
//! the exact bytes Eliot would send. The pieces are public for HTTP layers and bindings:
//! [`parse_v5`] / [`parse_v4`] (validation only), [`write_v5`] / [`write_v4`] (responses
//! from validated requests), and [`symbolicate`] / [`symbolicate_jobs`] (typed, no JSON).
//!
//! ```
//! use tecken_core::{FetchStats, ModuleProvider, ModuleStatus};
//! use tecken_core::{symbolicate_v5, V5Options};
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
//! **Validation**, in Eliot's order; every failure is an [`Error::bad_request`](crate::Error::bad_request) whose status
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
//! else `<unknown>` (index `-1` or an empty debug file).
//!
//! A frame is built as Eliot builds it (`SymbolicateBase.symbolicate`), keys in this order:
//! `frame`, `module`, `module_offset`, then for a symbol hit `function`, `function_offset`,
//! `file` (when the line record names one), `line` (only when non-zero *and* there is a
//! file), `inlines` (innermost first; each `function`, `file`, `line` under the same rules).
//! An offset of `-1` is written `"-0x1"` and never looked up. A job's result is
//! `{"stacks": [...], "found_modules": {...}}`. v4 turns each frame into `"<function> (in
//! <module>)"`, or `"<module_offset> (in <module>)"` without a symbol, and `knownModules`
//! lists the `found_modules` value of every memory map entry, repeats included.
//!
//! **Debug.** With [`V5Options::debug`], v5 responses end with Eliot's `debug` block, its
//! keys in the order Eliot's `DebugStats` inserts them; timings are ours, so the values
//! differ.
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
//! # Layers
//!
//! The modules import only from the ones listed before them (a unit test holds them to it):
//!
//! 1. `options` ([`V5Options`], [`MAX_DEPTH`]) and `types` (the request, result and response
//!    values, without rules);
//! 2. `validate` (Eliot's patterns, limits and error titles, and [`Job::validate`]);
//! 3. `reader` (the JSON grammar, no values built), `schema` (the v5 schema read from a body
//!    in one bounded pass), `parse` ([`parse_v5`] / [`parse_v4`]: Eliot's checks in Eliot's
//!    order);
//! 4. `engine` (the plan: distinct modules, one lookup each, a frame's module);
//! 5. `debug` (the debug block) and `response` (the writers, and the typed results);
//! 6. this module: the entry points, and the one path by which each public item is named.
//!
//! The Python-style JSON writer they share is the crate's [`pyjson`](crate::pyjson).
//!
//! [`Module::pe_name`]: crate::symbolicator::provider::Module::pe_name

mod debug;
mod engine;
mod options;
mod parse;
mod reader;
mod response;
mod schema;
mod types;
mod validate;

use std::time::Instant;

pub use options::V5Options;
pub use parse::{parse_v4, parse_v5};
pub use types::{
    ApiResponse, FrameRef, Job, JobResult, ModuleLookup, ModuleRef, SymbolicatedFrame,
    SymbolicatedInline, SymbolicationResult, V5Request,
};

use crate::error::Result;
use crate::symbolicator::provider::ModuleProvider;
use engine::{answer, JobView};

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
    answer(provider, &jobs, |plan| {
        response::write_v5_body(plan, &jobs, debug, start)
    })
}

/// The 200 response body for a validated v4 job.
pub fn write_v4(provider: &dyn ModuleProvider, job: &Job<'_>) -> Vec<u8> {
    let jobs = [JobView::of(job)];
    answer(provider, &jobs, |plan| {
        response::write_v4_body(plan, &jobs[0])
    })
}

/// Symbolicates one job given as typed values (no JSON), after validating it as Eliot
/// would ([`Job::validate`]).
pub fn symbolicate(
    provider: &dyn ModuleProvider,
    modules: &[ModuleRef<'_>],
    stacks: &[Vec<FrameRef>],
) -> Result<SymbolicationResult> {
    validate::validate_parts(modules, stacks, 0)?;
    let jobs = [JobView { modules, stacks }];
    Ok(answer(provider, &jobs, |plan| {
        response::typed_results(plan, &jobs)
    }))
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
    Ok(answer(provider, &views, |plan| {
        response::typed_results(plan, &views)
    }))
}

#[cfg(test)]
mod tests {
    /// Each layer's modules, lowest first, with their sources.
    const LAYERS: &[&[(&str, &str)]] = &[
        &[
            ("options", include_str!("options.rs")),
            ("types", include_str!("types.rs")),
        ],
        &[("validate", include_str!("validate.rs"))],
        &[
            ("reader", include_str!("reader.rs")),
            ("schema", include_str!("schema.rs")),
            ("parse", include_str!("parse.rs")),
        ],
        &[("engine", include_str!("engine.rs"))],
        &[
            ("debug", include_str!("debug.rs")),
            ("response", include_str!("response.rs")),
        ],
    ];

    /// The code of `src`, without its tests and comments.
    fn code(src: &str) -> impl Iterator<Item = &str> {
        let code = src.split("#[cfg(test)]").next().unwrap_or(src);
        code.lines()
            .map(str::trim_start)
            .filter(|l| !l.starts_with("//"))
    }

    /// The sibling modules `src`'s code names (`super::NAME`).
    fn siblings(src: &str) -> Vec<&str> {
        code(src)
            .flat_map(|l| l.split("super::").skip(1))
            .map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .filter(|name| !name.is_empty())
            .collect()
    }

    #[test]
    fn layers_import_only_downwards() {
        // Within a layer, a module may use the ones listed before it.
        let mut below: Vec<&str> = Vec::new();
        for layer in LAYERS {
            for &(name, src) in *layer {
                assert!(
                    !code(src).any(|l| l.contains("crate::v5")),
                    "{name} must name its siblings through `super::`"
                );
                for dep in siblings(src) {
                    assert!(
                        below.contains(&dep),
                        "{name} imports {dep:?}, which is not below it"
                    );
                }
                below.push(name);
            }
        }
        let all: usize = LAYERS.iter().map(|l| l.len()).sum();
        let declared = include_str!("mod.rs")
            .lines()
            .filter(|l| l.starts_with("mod ") && l.ends_with(';'))
            .count();
        assert_eq!(all, declared, "every submodule is placed in a layer");
    }
}
