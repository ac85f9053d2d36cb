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
//!
//! [`write_v5_body`] and [`write_v4_body`] size the buffer and write a whole body;
//! [`typed_results`] builds the same answer as values.

use std::time::Instant;

use super::debug::debug_block;
use super::engine::{JobView, Plan};
use super::types::{
    JobResult, ModuleLookup, SymbolicatedFrame, SymbolicatedInline, SymbolicationResult,
};
use crate::index::lookup_pipelined;
use crate::lookup::{Frame, LookupOptions, SourceFile};
use crate::pyjson::{push_hex, push_str_ascii, push_str_body, push_u64};
use crate::symbolicator::provider::ModuleStatus;

/// Whether a lookup hit has a file worth showing.
#[inline]
fn file_of<'a>(file: Option<SourceFile<'a>>) -> Option<&'a str> {
    file.map(|f| f.path).filter(|p| !p.is_empty())
}

/// The whole v5 body for `jobs`, with the `debug` block if `debug` (its `time` counts from
/// `start`).
pub(crate) fn write_v5_body(
    plan: &Plan<'_>,
    jobs: &[JobView<'_>],
    debug: bool,
    start: Instant,
) -> Vec<u8> {
    // Room for typical frames and found_modules entries, so the buffer is not regrown (a
    // copy and fresh pages): a frame with a C++ symbol, file and line takes 200-300 bytes
    // (266 on average in the bindings' benchmark request), an unsymbolicated one ~60. Unused
    // capacity is never touched, so it costs address space, not memory.
    let frames: usize = jobs.iter().map(JobView::frame_count).sum();
    let modules: usize = jobs.iter().map(|j| j.modules.len()).sum();
    let mut out = Vec::with_capacity(64 + frames.saturating_mul(320) + modules.saturating_mul(64));
    out.push(b'{');
    write_results(&mut out, plan, jobs);
    if debug {
        let block = debug_block(plan, jobs.len(), start.elapsed());
        out.extend_from_slice(b", \"debug\": ");
        block.write(&mut out);
    }
    out.push(b'}');
    out
}

/// The whole v4 body for one job.
pub(crate) fn write_v4_body(plan: &Plan<'_>, job: &JobView<'_>) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(64 + job.frame_count().saturating_mul(80) + job.modules.len() * 8);
    write_v4(&mut out, plan, job);
    out
}

/// Writes `"results": [...]` (without braces) for `jobs`.
fn write_results(out: &mut Vec<u8>, plan: &Plan<'_>, jobs: &[JobView<'_>]) {
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
            // Pipelined: the index reads of the frames ahead overlap this one's.
            let item = |f: usize| plan.frame_lookup(j, stack.get(f)?);
            lookup_pipelined(stack.len(), item, &opts, &mut hit, |f, found, hit| {
                let Some(fr) = stack.get(f) else { return };
                if f > 0 {
                    out.extend_from_slice(b", ");
                }
                let (module, _) = plan.frame_module(j, fr);
                out.extend_from_slice(b"{\"frame\": ");
                push_u64(out, f as u64);
                out.extend_from_slice(b", \"module\": ");
                push_str_ascii(out, module);
                out.extend_from_slice(b", \"module_offset\": \"");
                push_hex(out, fr.module_offset);
                out.push(b'"');
                if found {
                    write_symbol(out, hit);
                }
                out.push(b'}');
            });
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
fn write_v4(out: &mut Vec<u8>, plan: &Plan<'_>, job: &JobView<'_>) {
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
    let owned_file = |f: Option<SourceFile<'_>>| file_of(f).map(str::to_owned);
    let mut results = Vec::with_capacity(jobs.len());
    for (j, job) in jobs.iter().enumerate() {
        let mut stacks = Vec::with_capacity(job.stacks.len());
        for stack in job.stacks {
            let mut frames = Vec::with_capacity(stack.len());
            let item = |f: usize| plan.frame_lookup(j, stack.get(f)?);
            lookup_pipelined(stack.len(), item, &opts, &mut hit, |f, found, hit| {
                let Some(fr) = stack.get(f) else { return };
                let (module, _) = plan.frame_module(j, fr);
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
                if found {
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
                frames.push(frame);
            });
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
