//! The request: typed jobs, Eliot's validation rules, and parsing a v5/v4 JSON body.
//!
//! [`parse_v5`] and [`parse_v4`] turn a body into typed [`Job`]s or the exact error Eliot
//! answers (see the [module docs](super) for the order of the checks). HTTP layers that want
//! to do their own I/O call them and then [`super::write_v5`] / [`super::write_v4`]; callers
//! that do not speak JSON build [`Job`]s themselves and call [`super::symbolicate_jobs`].

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};

use super::parse::{self, RawJob, RawJobs, RawPayload, StackErrorKind};
use super::reader::ParseError;
use super::V5Options;
use crate::error::{Error, Result};

/// One `memoryMap` entry: `[debug_file, debug_id]`.
///
/// The strings borrow from the request body when they had no JSON escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModuleRef<'a> {
    /// The debug file name (`xul.pdb`, `libxul.so`); may be empty.
    pub debug_file: Cow<'a, str>,
    /// The debug id, hex, in the case the client sent; may be empty.
    pub debug_id: Cow<'a, str>,
}

impl<'a> ModuleRef<'a> {
    /// A module reference.
    pub fn new(debug_file: impl Into<Cow<'a, str>>, debug_id: impl Into<Cow<'a, str>>) -> Self {
        ModuleRef {
            debug_file: debug_file.into(),
            debug_id: debug_id.into(),
        }
    }

    /// An owned copy that no longer borrows from the request body.
    pub fn into_owned(self) -> ModuleRef<'static> {
        ModuleRef {
            debug_file: Cow::Owned(self.debug_file.into_owned()),
            debug_id: Cow::Owned(self.debug_id.into_owned()),
        }
    }

    /// The `found_modules` key: `{debug_file}/{debug_id}`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.debug_file, self.debug_id)
    }
}

impl Serialize for ModuleRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(2))?;
        seq.serialize_element(&*self.debug_file)?;
        seq.serialize_element(&*self.debug_id)?;
        seq.end()
    }
}

/// One frame of a stack: `[module_index, module_offset]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRef {
    /// Index into the job's memory map; `None` is Eliot's `-1` (the address is in no
    /// module).
    pub module_index: Option<u32>,
    /// Offset into the module; `None` is Eliot's `-1` (unknown).
    pub module_offset: Option<u64>,
}

impl FrameRef {
    /// A frame at `module_offset` in module `module_index`.
    pub fn new(module_index: u32, module_offset: u64) -> Self {
        FrameRef {
            module_index: Some(module_index),
            module_offset: Some(module_offset),
        }
    }
}

impl Serialize for FrameRef {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(2))?;
        match self.module_index {
            Some(i) => seq.serialize_element(&i64::from(i))?,
            None => seq.serialize_element(&-1i64)?,
        }
        match self.module_offset {
            Some(o) => seq.serialize_element(&o)?,
            None => seq.serialize_element(&-1i64)?,
        }
        seq.end()
    }
}

/// One symbolication job: a memory map and the stacks whose frames index into it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Job<'a> {
    /// The modules, `[debug_file, debug_id]` each.
    pub memory_map: Vec<ModuleRef<'a>>,
    /// The stacks, outermost list first; each frame indexes into `memory_map`.
    pub stacks: Vec<Vec<FrameRef>>,
}

impl Serialize for Job<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Job", 2)?;
        st.serialize_field("memoryMap", &self.memory_map)?;
        st.serialize_field("stacks", &self.stacks)?;
        st.end()
    }
}

impl Job<'_> {
    /// Checks the job as Eliot does (debug file names and ids, at least one stack, module
    /// indexes in range); `job_index` is used in the error title.
    pub fn validate(&self, job_index: usize) -> Result<()> {
        validate_parts(&self.memory_map, &self.stacks, job_index)
    }

    /// The number of frames over all stacks.
    pub fn frame_count(&self) -> usize {
        self.stacks.iter().map(Vec::len).sum()
    }

    /// An owned copy that no longer borrows from the request body.
    pub fn into_owned(self) -> Job<'static> {
        Job {
            memory_map: self
                .memory_map
                .into_iter()
                .map(ModuleRef::into_owned)
                .collect(),
            stacks: self.stacks,
        }
    }
}

/// A parsed and validated v5 request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V5Request<'a> {
    /// The jobs, at most [`V5Options::max_jobs`].
    pub jobs: Vec<Job<'a>>,
}

impl Serialize for V5Request<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("V5Request", 1)?;
        st.serialize_field("jobs", &self.jobs)?;
        st.end()
    }
}

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

/// Parses and validates a `/symbolicate/v5` body: a job object, or `{"jobs": [...]}`.
///
/// Errors are [`Error::bad_request`] with Eliot's status and title (see the module docs).
pub fn parse_v5<'a>(body: &'a [u8], opts: &V5Options) -> Result<V5Request<'a>> {
    check_body_size(body, opts)?;
    let payload = parse::parse_payload(body, opts, false).map_err(ParseError::into_error)?;
    let raw_jobs = match payload {
        // Eliot: `"jobs" in []` is false, so the list itself becomes job 0, which is not
        // an object.
        RawPayload::NotObject { is_list: true } => return Err(job_invalid(0)),
        // Eliot answers 500 here (`"jobs" in 5` raises); a clear 400 instead.
        RawPayload::NotObject { is_list: false } => {
            return Err(Error::bad_request(400, "Payload is not a JSON object"))
        }
        RawPayload::Object { jobs: None, job } => vec![job],
        RawPayload::Object {
            jobs: Some(RawJobs::List { jobs, count }),
            ..
        } => {
            check_job_count(count, opts)?;
            jobs
        }
        // Eliot iterates whatever `jobs` is: an object's keys or a string's characters,
        // none of which is a job object.
        RawPayload::Object {
            jobs: Some(RawJobs::Keys { count }),
            ..
        } => {
            check_job_count(count, opts)?;
            if count > 0 {
                return Err(job_invalid(0));
            }
            Vec::new()
        }
        // Eliot answers 500 (`len(5)` raises); a clear 400 instead.
        RawPayload::Object {
            jobs: Some(RawJobs::Other),
            ..
        } => return Err(Error::bad_request(400, "jobs must be a list")),
    };
    let mut jobs = Vec::with_capacity(raw_jobs.len());
    for (i, raw) in raw_jobs.into_iter().enumerate() {
        jobs.push(into_job(raw, i)?);
    }
    Ok(V5Request { jobs })
}

/// Parses and validates a `/symbolicate/v4` body: one job object (a `jobs` key is not
/// supported, as in Eliot).
pub fn parse_v4<'a>(body: &'a [u8], opts: &V5Options) -> Result<Job<'a>> {
    check_body_size(body, opts)?;
    match parse::parse_payload(body, opts, true).map_err(ParseError::into_error)? {
        RawPayload::NotObject { .. } => Err(job_invalid(0)),
        RawPayload::Object { job, .. } => into_job(job, 0),
    }
}

fn check_body_size(body: &[u8], opts: &V5Options) -> Result<()> {
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

fn check_job_count(count: usize, opts: &V5Options) -> Result<()> {
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

/// Replays Eliot's checks on a parsed job, in Eliot's order.
fn into_job(raw: RawJob<'_>, i: usize) -> Result<Job<'_>> {
    let (stacks, modules) = match raw {
        RawJob::NotObject => return Err(job_invalid(i)),
        RawJob::Object { stacks, memory_map } => (stacks, memory_map),
    };
    let Some(stacks) = stacks else {
        return Err(Error::bad_request(
            400,
            format!("job {i} is invalid: no stacks specified"),
        ));
    };
    let Some(modules) = modules else {
        return Err(Error::bad_request(
            400,
            format!("job {i} is invalid: no memoryMap specified"),
        ));
    };
    let Some(modules) = modules else {
        return Err(invalid_modules(i, "modules must be a list"));
    };
    if let Some((k, kind)) = modules.error {
        let what = match kind {
            parse::ModuleErrorKind::NotPair => "does not have a debug_filename and debug_id",
            parse::ModuleErrorKind::InvalidFile => "has an invalid debug_filename",
            parse::ModuleErrorKind::InvalidId => "has an invalid debug_id",
        };
        return Err(invalid_modules(i, &format!("module index {k} {what}")));
    }
    let Some(stacks) = stacks else {
        return Err(invalid_stacks(i, "stacks must be a list of lists"));
    };
    if stacks.stacks.is_empty() && stacks.error.is_none() {
        return Err(invalid_stacks(i, "no stacks specified"));
    }
    let n = modules.modules.len();
    // Frames are kept only up to the first structural error, so a range error among them
    // comes first in Eliot's order.
    if let Some((s, f)) = first_index_out_of_range(&stacks.stacks, n) {
        return Err(invalid_stacks(i, &not_in_modules(s, f)));
    }
    if let Some(e) = stacks.error {
        let (s, f) = (e.stack, e.frame);
        let msg = match e.kind {
            StackErrorKind::StackNotList => format!("stack {s} is not a list"),
            StackErrorKind::NotPair => format!("stack {s} frame {f} is not a list of two items"),
            StackErrorKind::InvalidIndex => {
                format!("stack {s} frame {f} has an invalid module_index")
            }
            StackErrorKind::IndexNotInModules => not_in_modules(s, f),
            StackErrorKind::InvalidOffset { index } => {
                if index.is_some_and(|m| m as usize >= n) {
                    not_in_modules(s, f)
                } else {
                    format!("stack {s} frame {f} has an invalid module_offset")
                }
            }
        };
        return Err(invalid_stacks(i, &msg));
    }
    Ok(Job {
        memory_map: modules.modules,
        stacks: stacks.stacks,
    })
}

/// [`Job::validate`] on borrowed parts.
pub(crate) fn validate_parts(
    modules: &[ModuleRef<'_>],
    stacks: &[Vec<FrameRef>],
    job_index: usize,
) -> Result<()> {
    for (i, m) in modules.iter().enumerate() {
        if let Some(what) = module_error(&m.debug_file, &m.debug_id) {
            return Err(invalid_modules(
                job_index,
                &format!("module index {i} {what}"),
            ));
        }
    }
    if stacks.is_empty() {
        return Err(invalid_stacks(job_index, "no stacks specified"));
    }
    match first_index_out_of_range(stacks, modules.len()) {
        Some((s, f)) => Err(invalid_stacks(job_index, &not_in_modules(s, f))),
        None => Ok(()),
    }
}

/// The first `(stack, frame)` whose module index is not below `n`.
fn first_index_out_of_range(stacks: &[Vec<FrameRef>], n: usize) -> Option<(usize, usize)> {
    for (s, stack) in stacks.iter().enumerate() {
        for (f, frame) in stack.iter().enumerate() {
            if frame.module_index.is_some_and(|m| m as usize >= n) {
                return Some((s, f));
            }
        }
    }
    None
}

/// What is wrong with a memory map entry, in Eliot's words, if anything.
pub(crate) fn module_error(debug_file: &str, debug_id: &str) -> Option<&'static str> {
    if !is_valid_debug_file(debug_file) {
        Some("has an invalid debug_filename")
    } else if !is_valid_debug_id(debug_id) {
        Some("has an invalid debug_id")
    } else {
        None
    }
}

fn not_in_modules(s: usize, f: usize) -> String {
    format!("stack {s} frame {f} has a module_index that isn't in modules")
}

fn job_invalid(i: usize) -> Error {
    Error::bad_request(400, format!("job {i} is invalid"))
}

fn invalid_modules(i: usize, msg: &str) -> Error {
    Error::bad_request(400, format!("job {i} has invalid modules: {msg}"))
}

fn invalid_stacks(i: usize, msg: &str) -> Error {
    Error::bad_request(400, format!("job {i} has invalid stacks: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(body: &str) -> (u16, String) {
        let e = parse_v5(body.as_bytes(), &V5Options::default()).unwrap_err();
        (e.http_status(), e.message().to_owned())
    }

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
    fn parses_jobs_and_single_job() {
        let r = parse_v5(
            br#"{"stacks": [[[0, 21376], [-1, 5], [0, -1]]], "memoryMap": [["a", "AB"]]}"#,
            &V5Options::default(),
        )
        .unwrap();
        assert_eq!(r.jobs.len(), 1);
        assert_eq!(
            r.jobs[0].stacks[0],
            vec![
                FrameRef::new(0, 21376),
                FrameRef {
                    module_index: None,
                    module_offset: Some(5)
                },
                FrameRef {
                    module_index: Some(0),
                    module_offset: None
                }
            ]
        );
        assert!(matches!(
            r.jobs[0].memory_map[0].debug_file,
            Cow::Borrowed("a")
        ));
        let r = parse_v5(
            br#"{"jobs": [{"memoryMap": [["a\u0062", "AB"]], "stacks": [[]]}], "stacks": 5}"#,
            &V5Options::default(),
        )
        .unwrap();
        assert_eq!(r.jobs[0].memory_map[0].debug_file, "ab");
        assert_eq!(r.jobs[0].stacks, vec![Vec::<FrameRef>::new()]);
    }

    #[test]
    fn eliot_error_order() {
        // memoryMap is checked before stacks, whatever their order in the body.
        assert_eq!(
            title(r#"{"stacks": "x", "memoryMap": [["a/b", "A"]]}"#).1,
            "job 0 has invalid modules: module index 0 has an invalid debug_filename"
        );
        // A range error on an earlier frame wins over a later structural error.
        assert_eq!(
            title(r#"{"stacks": [[[3, 1], [0]]], "memoryMap": [["a", "A"]]}"#).1,
            "job 0 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules"
        );
        // Within one frame, the range check comes before the offset check.
        assert_eq!(
            title(r#"{"memoryMap": [], "stacks": [[[0, "x"]]]}"#).1,
            "job 0 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules"
        );
        // An entry of the wrong arity wins over a bad file name in it.
        assert_eq!(
            title(r#"{"memoryMap": [["a/b", "A", 1]], "stacks": [[]]}"#).1,
            "job 0 has invalid modules: module index 0 does not have a debug_filename and debug_id"
        );
        // Job 0's errors come before job 1's.
        assert_eq!(
            title(r#"{"jobs": [{"stacks": [[]]}, 1]}"#).1,
            "job 0 is invalid: no memoryMap specified"
        );
        // Too many jobs comes before any job's errors.
        let body = format!(r#"{{"jobs": [{}]}}"#, ["1"; 11].join(", "));
        assert_eq!(
            title(&body),
            (
                400,
                "please limit number of jobs in a single request to <= 10".into()
            )
        );
    }

    #[test]
    fn deliberate_differences_from_eliot() {
        // Eliot answers 500 for these.
        assert_eq!(title("5"), (400, "Payload is not a JSON object".into()));
        assert_eq!(
            title("\"jobs\""),
            (400, "Payload is not a JSON object".into())
        );
        assert_eq!(title(r#"{"jobs": 5}"#), (400, "jobs must be a list".into()));
        assert_eq!(
            title(r#"{"jobs": null}"#),
            (400, "jobs must be a list".into())
        );
        // Eliot takes `true` for 1.
        assert_eq!(
            title(r#"{"stacks": [[[true, 1]]], "memoryMap": [["a", "A"], ["b", "B"]]}"#).1,
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_index"
        );
        assert_eq!(
            title(r#"{"stacks": [[[0, false]]], "memoryMap": [["a", "A"]]}"#).1,
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_offset"
        );
    }

    #[test]
    fn jobs_object_and_string_are_iterated_like_python() {
        let ok = parse_v5(br#"{"jobs": {}}"#, &V5Options::default()).unwrap();
        assert!(ok.jobs.is_empty());
        assert!(parse_v5(br#"{"jobs": ""}"#, &V5Options::default())
            .unwrap()
            .jobs
            .is_empty());
        assert_eq!(title(r#"{"jobs": {"a": 1}}"#).1, "job 0 is invalid");
        assert_eq!(title(r#"{"jobs": "ab"}"#).1, "job 0 is invalid");
        assert_eq!(
            title(
                r#"{"jobs": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}"#
            )
            .1,
            "please limit number of jobs in a single request to <= 10"
        );
        // Duplicate keys count once, as in a Python dict.
        let dup = format!(r#"{{"jobs": {{{}}}}}"#, [r#""a": 1"#; 20].join(", "));
        assert_eq!(title(&dup).1, "job 0 is invalid");
    }

    #[test]
    fn huge_numbers_are_errors_not_panics() {
        let t = title(r#"{"stacks": [[[0, 18446744073709551616]]], "memoryMap": [["a", "A"]]}"#).1;
        assert_eq!(
            t,
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_offset"
        );
        let r = parse_v5(
            br#"{"stacks": [[[0, 18446744073709551615]]], "memoryMap": [["a", "A"]]}"#,
            &V5Options::default(),
        )
        .unwrap();
        assert_eq!(r.jobs[0].stacks[0][0].module_offset, Some(u64::MAX));
        // Python ints are unbounded: a huge index is an int that isn't in modules.
        let t =
            title(r#"{"stacks": [[[99999999999999999999999999, 1]]], "memoryMap": [["a", "A"]]}"#)
                .1;
        assert_eq!(
            t,
            "job 0 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules"
        );
        let t = title(r#"{"stacks": [[[1e0, 1]]], "memoryMap": [["a", "A"]]}"#).1;
        assert_eq!(
            t,
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_index"
        );
        let t = title(r#"{"stacks": [[[0, NaN]]], "memoryMap": [["a", "A"]]}"#).1;
        assert_eq!(
            t,
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_offset"
        );
        // `-0` is the integer 0 in Python.
        let r = parse_v5(
            br#"{"stacks": [[[-0, -0]]], "memoryMap": [["a", "A"]]}"#,
            &V5Options::default(),
        )
        .unwrap();
        assert_eq!(r.jobs[0].stacks[0][0], FrameRef::new(0, 0));
    }

    #[test]
    fn limits() {
        let opts = V5Options {
            max_frames: 3,
            max_modules: 2,
            max_body_bytes: 200,
            ..V5Options::default()
        };
        let e = parse_v5(
            br#"{"stacks": [[[0, 1], [0, 1]], [[0, 1], [0, 1]]], "memoryMap": [["a", "A"]]}"#,
            &opts,
        )
        .unwrap_err();
        assert_eq!(
            (e.http_status(), e.message()),
            (
                413,
                "please limit number of frames in a single request to <= 3"
            )
        );
        let e = parse_v5(
            br#"{"stacks": [[]], "memoryMap": [["a", "A"], ["a", "A"], ["a", "A"]]}"#,
            &opts,
        )
        .unwrap_err();
        assert_eq!(
            (e.http_status(), e.message()),
            (
                413,
                "please limit number of modules in a single request to <= 2"
            )
        );
        let e = parse_v5(br#"{"stacks": [[], [], [], []], "memoryMap": []}"#, &opts).unwrap_err();
        assert_eq!(
            (e.http_status(), e.message()),
            (
                413,
                "please limit number of stacks in a single request to <= 3"
            )
        );
        let e = parse_v5(&[b' '; 201], &opts).unwrap_err();
        assert_eq!(
            (e.http_status(), e.message()),
            (413, "please limit the size of a request to <= 200 bytes")
        );
        let deep = "[".repeat(100_000);
        let e = parse_v5(deep.as_bytes(), &V5Options::default()).unwrap_err();
        assert_eq!(
            (e.http_status(), e.message()),
            (400, "Payload is nested too deeply")
        );
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

    #[test]
    fn serializes_as_request_json() {
        let r = V5Request {
            jobs: vec![Job {
                memory_map: vec![ModuleRef::new("a", "A")],
                stacks: vec![vec![
                    FrameRef::new(0, 5),
                    FrameRef {
                        module_index: None,
                        module_offset: None,
                    },
                ]],
            }],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"jobs":[{"memoryMap":[["a","A"]],"stacks":[[[0,5],[-1,-1]]]}]}"#
        );
    }
}
