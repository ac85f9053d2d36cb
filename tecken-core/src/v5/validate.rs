//! Eliot's rules on a job: the debug file and id patterns, at least one stack, module
//! indexes in range, and the limits; each failure is the [`Error::bad_request`] Eliot answers
//! (see the [v5 docs](super) for the titles and their order).
//!
//! The JSON path checks what it can while reading ([`schema`](super::schema)) and replays
//! the rest in Eliot's order ([`parse`](super::parse)); callers that build [`Job`]s
//! themselves get the same checks from [`Job::validate`]. Both end in the functions here,
//! so the titles are written once.

use super::options::V5Options;
use super::types::{FrameRef, Job, ModuleRef};
use crate::error::{Error, Result};

/// The bytes of Eliot's debug file name pattern.
static VALID_FILE_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric();
        c += 1;
    }
    let extra = b"_.+{}@<> ~-";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `s` is a valid debug file name: Eliot's `^([A-Za-z0-9_.+{}@<> ~-]*)$`.
///
/// Like Python's `$`, the pattern also accepts one trailing `\n`.
pub fn is_valid_debug_file(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.bytes()
        .fold(true, |ok, b| ok & VALID_FILE_BYTE[b as usize])
}

/// Whether `s` is a valid debug id: Eliot's `^([A-Fa-f0-9]*)$` (empty is valid; like
/// Python's `$`, one trailing `\n` is accepted).
pub fn is_valid_debug_id(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    // Without branches, so it vectorizes: ids are 33-40 characters.
    s.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_digit() | ((b | 0x20).wrapping_sub(b'a') < 6))
    })
}

impl Job<'_> {
    /// Checks the job as Eliot does (debug file names and ids, at least one stack, module
    /// indexes in range); `job_index` is used in the error title.
    pub fn validate(&self, job_index: usize) -> Result<()> {
        validate_parts(&self.memory_map, &self.stacks, job_index)
    }
}

/// The body size limit, checked before reading.
pub(crate) fn check_body_size(body: &[u8], opts: &V5Options) -> Result<()> {
    if body.len() > opts.max_body_bytes {
        return Err(Error::bad_request(
            413,
            format!(
                "please limit the size of a request to <= {} bytes",
                opts.max_body_bytes
            ),
        ));
    }
    Ok(())
}

/// The job count limit (Eliot's `MAX_JOBS`).
pub(crate) fn check_job_count(count: usize, opts: &V5Options) -> Result<()> {
    if count > opts.max_jobs {
        return Err(Error::bad_request(
            400,
            format!(
                "please limit number of jobs in a single request to <= {}",
                opts.max_jobs
            ),
        ));
    }
    Ok(())
}

/// [`Job::validate`] on borrowed parts.
pub(crate) fn validate_parts(
    modules: &[ModuleRef<'_>],
    stacks: &[Vec<FrameRef>],
    job_index: usize,
) -> Result<()> {
    for (i, m) in modules.iter().enumerate() {
        if let Some(kind) = module_error(&m.debug_file, &m.debug_id) {
            return Err(invalid_module(job_index, i, kind));
        }
    }
    if stacks.is_empty() {
        return Err(no_stacks(job_index));
    }
    match first_index_out_of_range(stacks, modules.len()) {
        Some((s, f)) => Err(invalid_stacks(job_index, &not_in_modules(s, f))),
        None => Ok(()),
    }
}

/// The first `(stack, frame)` whose module index is not below `n`.
pub(crate) fn first_index_out_of_range(
    stacks: &[Vec<FrameRef>],
    n: usize,
) -> Option<(usize, usize)> {
    for (s, stack) in stacks.iter().enumerate() {
        for (f, frame) in stack.iter().enumerate() {
            if frame.module_index.is_some_and(|m| m as usize >= n) {
                return Some((s, f));
            }
        }
    }
    None
}

/// What is wrong with a memory map entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModuleErrorKind {
    /// Not a list of two items.
    NotPair,
    /// The debug file name is not a string or fails the pattern.
    InvalidFile,
    /// The debug id is not a string or fails the pattern.
    InvalidId,
}

/// What is wrong with the strings of a memory map entry, if anything.
fn module_error(debug_file: &str, debug_id: &str) -> Option<ModuleErrorKind> {
    if !is_valid_debug_file(debug_file) {
        Some(ModuleErrorKind::InvalidFile)
    } else if !is_valid_debug_id(debug_id) {
        Some(ModuleErrorKind::InvalidId)
    } else {
        None
    }
}

/// Memory map entry `k` of job `i` is wrong.
pub(crate) fn invalid_module(i: usize, k: usize, kind: ModuleErrorKind) -> Error {
    let what = match kind {
        ModuleErrorKind::NotPair => "does not have a debug_filename and debug_id",
        ModuleErrorKind::InvalidFile => "has an invalid debug_filename",
        ModuleErrorKind::InvalidId => "has an invalid debug_id",
    };
    invalid_modules(i, &format!("module index {k} {what}"))
}

/// Job `i` has a `stacks` list, but an empty one.
pub(crate) fn no_stacks(i: usize) -> Error {
    invalid_stacks(i, "no stacks specified")
}

pub(crate) fn not_in_modules(s: usize, f: usize) -> String {
    format!("stack {s} frame {f} has a module_index that isn't in modules")
}

pub(crate) fn job_invalid(i: usize) -> Error {
    Error::bad_request(400, format!("job {i} is invalid"))
}

pub(crate) fn invalid_modules(i: usize, msg: &str) -> Error {
    Error::bad_request(400, format!("job {i} has invalid modules: {msg}"))
}

pub(crate) fn invalid_stacks(i: usize, msg: &str) -> Error {
    Error::bad_request(400, format!("job {i} has invalid stacks: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_file_and_id_rules() {
        assert!(is_valid_debug_file(""));
        assert!(is_valid_debug_file("c++filt"));
        assert!(is_valid_debug_file("{3B4E}@<x> ~-_.so"));
        assert!(is_valid_debug_file("xul.so\n"));
        assert!(!is_valid_debug_file("xul.so\n\n"));
        assert!(!is_valid_debug_file("xul/../x.so"));
        assert!(!is_valid_debug_file("x\\y"));
        assert!(!is_valid_debug_file("caf\u{e9}"));
        assert!(is_valid_debug_id(""));
        assert!(is_valid_debug_id("d48fABC0"));
        assert!(!is_valid_debug_id("XYZ"));
        assert!(!is_valid_debug_id("d48f-00"));
    }

    #[test]
    fn typed_validation_matches() {
        let job = Job {
            memory_map: vec![ModuleRef::new("a", "A")],
            stacks: vec![vec![FrameRef::new(1, 0)]],
        };
        assert_eq!(
            job.validate(2).unwrap_err().message(),
            "job 2 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules"
        );
        let job = Job {
            memory_map: vec![ModuleRef::new("a", "Z")],
            stacks: vec![],
        };
        assert_eq!(
            job.validate(0).unwrap_err().message(),
            "job 0 has invalid modules: module index 0 has an invalid debug_id"
        );
    }
}
