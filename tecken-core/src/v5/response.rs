//! The response: v5 and v4 JSON written straight into one buffer, and the typed results.
//!
//! A v5 frame is built as Eliot builds it (`SymbolicateBase.symbolicate`), keys in this
//! order: `frame`, `module`, `module_offset`, then for a symbol hit `function`,
//! `function_offset`, `file` (when the line record names one), `line` (only when non-zero
//! *and* there is a file), `inlines` (innermost first; each `function`, `file`, `line` under
//! the same rules). An offset of `-1` is written `"-0x1"` and never looked up. A job's
//! result is `{"stacks": [...], "found_modules": {...}}`.
//!
//! v4 turns each frame into `"<function> (in <module>)"`, or `"<module_offset> (in
//! <module>)"` without a symbol, and `knownModules` lists the `found_modules` value of
//! every memory map entry, repeats included.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::engine::{JobView, Plan};
use crate::lookup::{Frame, LookupOptions};
use crate::pyjson::{push_hex, push_str_ascii, push_str_body, push_u64};
use crate::symbolicator::provider::{FetchStats, ModuleStatus};
use crate::Error;

/// The symbolicated jobs, as the v5 `results`.
#[derive(Debug, Clone, Serialize)]
pub struct SymbolicationResult {
    /// One result per job, in request order.
    pub results: Vec<JobResult>,
    /// Every module looked up, once each, in lookup order (not part of the v5 JSON).
    #[serde(skip)]
    pub lookups: Vec<ModuleLookup>,
}

/// One job's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobResult {
    /// The stacks, frame for frame.
    pub stacks: Vec<Vec<SymbolicatedFrame>>,
    /// `{debug_file}/{debug_id}` of each distinct memory map entry, in order: `Some(true)`
    /// found, `Some(false)` looked for and not found, `None` never looked for (no frame
    /// used it, or its debug file or id is empty). Serialized as a JSON object.
    #[serde(serialize_with = "serialize_found")]
    pub found_modules: Vec<(String, Option<bool>)>,
}

/// One symbolicated frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolicatedFrame {
    /// The frame's position in its stack.
    pub frame: usize,
    /// The module name: the PE name of a found Windows module, else the debug file, else
    /// `<unknown>`.
    pub module: String,
    /// The module offset as sent (`None`: `-1`, serialized as `"-0x1"`).
    #[serde(serialize_with = "serialize_hex")]
    pub module_offset: Option<u64>,
    /// The function or PUBLIC symbol, when one covers the offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The offset from the start of the function.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_hex"
    )]
    pub function_offset: Option<u64>,
    /// The source file (cleaned as Eliot shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The source line (only with a file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Inlined calls at the address, innermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inlines: Vec<SymbolicatedInline>,
}

/// One inlined call of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolicatedInline {
    /// The inlined function's name.
    pub function: String,
    /// Where in it the address is: file...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// ...and line (only with a file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// What became of one module lookup.
#[derive(Debug, Clone)]
pub struct ModuleLookup {
    /// The debug file as requested.
    pub debug_file: String,
    /// The debug id as requested.
    pub debug_id: String,
    /// Whether the module was found.
    pub found: bool,
    /// The transient error, when the lookup failed rather than found nothing.
    pub error: Option<std::sync::Arc<Error>>,
    /// What the lookup cost.
    pub stats: FetchStats,
}

fn serialize_hex<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = Vec::with_capacity(18);
    push_hex(&mut buf, *v);
    s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
}

fn serialize_found<S: Serializer>(v: &[(String, Option<bool>)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(v.len()))?;
    for (k, found) in v {
        map.serialize_entry(k, found)?;
    }
    map.end()
}

/// Whether a lookup hit has a file worth showing.
#[inline]
fn file_of<'a>(file: Option<crate::lookup::SourceFile<'a>>) -> Option<&'a str> {
    file.map(|f| f.path).filter(|p| !p.is_empty())
}

/// Writes `"results": [...]` (without braces) for `jobs`.
pub(crate) fn write_results(out: &mut Vec<u8>, plan: &Plan<'_>, jobs: &[JobView<'_>]) {
    let opts = LookupOptions::default();
    let mut hit = Frame::empty();
    let mut seen = Vec::new();
    out.extend_from_slice(b"\"results\": [");
    for (j, job) in jobs.iter().enumerate() {
        if j > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(b"{\"stacks\": [");
        for (s, stack) in job.stacks.iter().enumerate() {
            if s > 0 {
                out.extend_from_slice(b", ");
            }
            out.push(b'[');
            for (f, fr) in stack.iter().enumerate() {
                if f > 0 {
                    out.extend_from_slice(b", ");
                }
                let (module, index) = plan.frame_module(j, fr);
                out.extend_from_slice(b"{\"frame\": ");
                push_u64(out, f as u64);
                out.extend_from_slice(b", \"module\": ");
                push_str_ascii(out, module);
                out.extend_from_slice(b", \"module_offset\": \"");
                push_hex(out, fr.module_offset);
                out.push(b'"');
                if let (Some(index), Some(offset)) = (index, fr.module_offset) {
                    if index.lookup_into(offset, &opts, &mut hit) {
                        write_symbol(out, &hit);
                    }
                }
                out.push(b'}');
            }
            out.push(b']');
        }
        out.extend_from_slice(b"], \"found_modules\": {");
        for (k, slot) in plan
            .found_modules(j, &mut seen)
            .into_iter()
            .filter_map(|s| plan.slots.get(s))
            .enumerate()
        {
            if k > 0 {
                out.extend_from_slice(b", ");
            }
            out.push(b'"');
            push_str_body(out, slot.debug_file, true);
            out.push(b'/');
            push_str_body(out, slot.debug_id, true);
            out.extend_from_slice(b"\": ");
            push_found(out, slot.found());
        }
        out.extend_from_slice(b"}}");
    }
    out.push(b']');
}

fn write_symbol(out: &mut Vec<u8>, hit: &Frame<'_>) {
    out.extend_from_slice(b", \"function\": ");
    push_str_ascii(out, hit.function);
    out.extend_from_slice(b", \"function_offset\": \"");
    push_hex(out, Some(hit.function_offset));
    out.push(b'"');
    write_file_line(out, file_of(hit.file), hit.line);
    if !hit.inlines.is_empty() {
        out.extend_from_slice(b", \"inlines\": [");
        for (k, inline) in hit.inlines.iter().enumerate() {
            if k > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(b"{\"function\": ");
            push_str_ascii(out, inline.function);
            write_file_line(out, file_of(inline.file), inline.line);
            out.push(b'}');
        }
        out.push(b']');
    }
}

#[inline]
fn write_file_line(out: &mut Vec<u8>, file: Option<&str>, line: Option<u32>) {
    if let Some(file) = file {
        out.extend_from_slice(b", \"file\": ");
        push_str_ascii(out, file);
        if let Some(line) = line.filter(|&l| l != 0) {
            out.extend_from_slice(b", \"line\": ");
            push_u64(out, u64::from(line));
        }
    }
}

fn push_found(out: &mut Vec<u8>, found: Option<bool>) {
    out.extend_from_slice(match found {
        Some(true) => b"true",
        Some(false) => b"false",
        None => b"null",
    });
}

/// Writes the whole v4 response for one job.
pub(crate) fn write_v4(out: &mut Vec<u8>, plan: &Plan<'_>, job: &JobView<'_>) {
    let opts = LookupOptions::default();
    let mut hit = Frame::empty();
    out.extend_from_slice(b"{\"symbolicatedStacks\": [");
    for (s, stack) in job.stacks.iter().enumerate() {
        if s > 0 {
            out.extend_from_slice(b", ");
        }
        out.push(b'[');
        for (f, fr) in stack.iter().enumerate() {
            if f > 0 {
                out.extend_from_slice(b", ");
            }
            let (module, index) = plan.frame_module(0, fr);
            out.push(b'"');
            let found = match (index, fr.module_offset) {
                (Some(index), Some(offset)) => index.lookup_into(offset, &opts, &mut hit),
                _ => false,
            };
            if found {
                push_str_body(out, hit.function, true);
            } else {
                push_hex(out, fr.module_offset);
            }
            out.extend_from_slice(b" (in ");
            push_str_body(out, module, true);
            out.extend_from_slice(b")\"");
        }
        out.push(b']');
    }
    out.extend_from_slice(b"], \"knownModules\": [");
    for (k, slot) in plan.job_slots(0).enumerate() {
        if k > 0 {
            out.extend_from_slice(b", ");
        }
        push_found(out, slot.found());
    }
    out.extend_from_slice(b"]}");
}

/// Builds the typed results for `jobs`.
pub(crate) fn typed_results(plan: &Plan<'_>, jobs: &[JobView<'_>]) -> SymbolicationResult {
    let opts = LookupOptions::default();
    let mut hit = Frame::empty();
    let mut seen = Vec::new();
    let owned_file = |f: Option<crate::lookup::SourceFile<'_>>| file_of(f).map(str::to_owned);
    let mut results = Vec::with_capacity(jobs.len());
    for (j, job) in jobs.iter().enumerate() {
        let mut stacks = Vec::with_capacity(job.stacks.len());
        for stack in job.stacks {
            let mut frames = Vec::with_capacity(stack.len());
            for (f, fr) in stack.iter().enumerate() {
                let (module, index) = plan.frame_module(j, fr);
                let mut frame = SymbolicatedFrame {
                    frame: f,
                    module: module.to_owned(),
                    module_offset: fr.module_offset,
                    function: None,
                    function_offset: None,
                    file: None,
                    line: None,
                    inlines: Vec::new(),
                };
                if let (Some(index), Some(offset)) = (index, fr.module_offset) {
                    if index.lookup_into(offset, &opts, &mut hit) {
                        frame.function = Some(hit.function.to_owned());
                        frame.function_offset = Some(hit.function_offset);
                        frame.file = owned_file(hit.file);
                        frame.line = hit.line.filter(|&l| l != 0 && frame.file.is_some());
                        frame.inlines = hit
                            .inlines
                            .iter()
                            .map(|i| {
                                let file = owned_file(i.file);
                                let line = i.line.filter(|&l| l != 0 && file.is_some());
                                SymbolicatedInline {
                                    function: i.function.to_owned(),
                                    file,
                                    line,
                                }
                            })
                            .collect();
                    }
                }
                frames.push(frame);
            }
            stacks.push(frames);
        }
        let found_modules = plan
            .found_modules(j, &mut seen)
            .into_iter()
            .filter_map(|s| plan.slots.get(s))
            .map(|s| (format!("{}/{}", s.debug_file, s.debug_id), s.found()))
            .collect();
        results.push(JobResult {
            stacks,
            found_modules,
        });
    }
    let lookups = plan
        .lookups()
        .filter_map(|s| {
            let l = s.lookup.as_ref()?;
            Some(ModuleLookup {
                debug_file: s.debug_file.to_owned(),
                debug_id: s.debug_id.to_owned(),
                found: l.module().is_some(),
                error: match &l.status {
                    ModuleStatus::Failed(e) => Some(e.clone()),
                    _ => None,
                },
                stats: l.stats,
            })
        })
        .collect();
    SymbolicationResult { results, lookups }
}
