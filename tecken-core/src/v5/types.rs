//! The values a request is made of and answered with: typed jobs, typed results, the HTTP
//! answer. No rules live here ([`validate`](super::validate) checks jobs, the writers in
//! [`response`](super::response) fill results), so every layer above can use them.

use std::borrow::Cow;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::pyjson::{error_body, push_hex};
use crate::symbolicator::provider::FetchStats;

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
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
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
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
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
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Job", 2)?;
        st.serialize_field("memoryMap", &self.memory_map)?;
        st.serialize_field("stacks", &self.stacks)?;
        st.end()
    }
}

impl Job<'_> {
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
    /// The jobs, at most [`V5Options::max_jobs`](super::V5Options::max_jobs).
    pub jobs: Vec<Job<'a>>,
}

impl Serialize for V5Request<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("V5Request", 1)?;
        st.serialize_field("jobs", &self.jobs)?;
        st.end()
    }
}

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
    pub error: Option<Arc<Error>>,
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
                body: error_body(err.message()),
            }
        } else {
            ApiResponse {
                status: 500,
                body: error_body("500 Internal Server Error"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn error_responses_are_falcon_shaped() {
        let r = ApiResponse::from_error(&Error::bad_request(413, "too big"));
        assert_eq!(
            (r.status, &r.body[..]),
            (413, &br#"{"title": "too big"}"#[..])
        );
        let r = ApiResponse::from_error(&Error::io("disk", std::io::Error::other("gone")));
        assert_eq!(
            (r.status, &r.body[..]),
            (500, &br#"{"title": "500 Internal Server Error"}"#[..])
        );
    }
}
